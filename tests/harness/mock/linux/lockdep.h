/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <linux/lockdep.h>.  lockdep_assert_held() really checks: if the
 * mutex is not held at that point, the harness records a violation naming
 * the expression, the function and the line, and the running scenario
 * fails.  (The kernel's is a WARN under CONFIG_LOCKDEP; a no-op here would
 * make the "group mutex held at first attach" check meaningless.)
 */
#ifndef __LINUX_LOCKDEP_H
#define __LINUX_LOCKDEP_H

struct mutex;

void mock_lockdep_assert_held(const struct mutex *lock, const char *expr,
			      const char *func, const char *file, int line);

#define lockdep_assert_held(l) \
	mock_lockdep_assert_held((l), #l, __func__, __FILE__, __LINE__)

#endif /* __LINUX_LOCKDEP_H */
