/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The harness side of the mock kernel headers: what the mocks record while
 * the IOMMU core runs, for scenarios.c to check.  Implemented in mock.c.
 * Nothing here is kernel API; the kernel-shaped names live in linux/ and
 * trace/.
 */
#ifndef HARNESS_MOCK_H
#define HARNESS_MOCK_H

#include <stdbool.h>

/*
 * Broken rules (a lockdep assertion that fired, a mutex locked twice or
 * unlocked while free) are counted and the first one is kept as text; the
 * scenario that caused them reports them as its failure.  Nothing aborts,
 * so one bad scenario does not hide the others.
 */
extern int mock_rule_violations;
extern int mock_lockdep_fired;
extern char mock_first_violation[512];

/* Forget recorded violations (call at the start of each scenario). */
void mock_reset_violations(void);

/* Counters of the trace points in trace/events/iommu.h. */
extern int mock_trace_attach;
extern int mock_trace_detach;

/* What is_kdump_kernel() answers (linux/crash_dump.h); true by default. */
extern bool mock_kdump_kernel;

/* dev_dbg() prints only when the environment has HARNESS_VERBOSE set. */

void mock_violation(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif /* HARNESS_MOCK_H */
