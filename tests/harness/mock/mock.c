// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runtime of the mock kernel headers: mutexes that check their pairing,
 * a lockdep_assert_held() that checks, trace point counters, dev_dbg().
 * What it records is read by scenarios.c through harness_mock.h.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/lockdep.h>

#include "harness_mock.h"

int mock_rule_violations;
int mock_lockdep_fired;
char mock_first_violation[512];
int mock_trace_attach;
int mock_trace_detach;
bool mock_kdump_kernel = true;

void mock_reset_violations(void)
{
	mock_rule_violations = 0;
	mock_lockdep_fired = 0;
	mock_first_violation[0] = '\0';
}

void mock_violation(const char *fmt, ...)
{
	va_list ap;

	if (!mock_rule_violations++) {
		va_start(ap, fmt);
		vsnprintf(mock_first_violation, sizeof(mock_first_violation),
			  fmt, ap);
		va_end(ap);
	}
	if (getenv("HARNESS_VERBOSE")) {
		fputs("harness: violation: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

void mock_mutex_init(struct mutex *lock)
{
	lock->held = false;
	lock->owner = NULL;
}

void mock_mutex_lock(struct mutex *lock, const char *func)
{
	if (lock->held)
		mock_violation("mutex_lock() in %s() on a mutex already held "
			       "(taken in %s()): a deadlock in the kernel",
			       func, lock->owner);
	lock->held = true;
	lock->owner = func;
}

void mock_mutex_unlock(struct mutex *lock, const char *func)
{
	if (!lock->held)
		mock_violation("mutex_unlock() in %s() on a mutex not held",
			       func);
	lock->held = false;
	lock->owner = NULL;
}

void mock_lockdep_assert_held(const struct mutex *lock, const char *expr,
			      const char *func, const char *file, int line)
{
	if (lock->held)
		return;
	mock_lockdep_fired++;
	mock_violation("lockdep_assert_held(%s) fired in %s() at %s:%d: "
		       "the mutex is not held", expr, func, file, line);
}

void mock_dev_dbg(const struct device *dev, const char *fmt, ...)
{
	va_list ap;

	if (!getenv("HARNESS_VERBOSE"))
		return;
	fprintf(stderr, "%s: ", dev_name(dev));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
