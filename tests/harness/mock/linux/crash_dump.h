/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <linux/crash_dump.h>: is_kdump_kernel() answers what the scenario
 * set in mock_kdump_kernel (true by default: deferred attach is a kdump
 * kernel's business).
 */
#ifndef LINUX_CRASH_DUMP_H
#define LINUX_CRASH_DUMP_H

#include <linux/types.h>
#include "harness_mock.h"

static inline bool is_kdump_kernel(void)
{
	return mock_kdump_kernel;
}

#endif /* LINUX_CRASH_DUMP_H */
