/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <trace/events/iommu.h>: the two trace points count their calls in
 * mock_trace_attach / mock_trace_detach (harness_mock.h).
 */
#ifndef _TRACE_IOMMU_H
#define _TRACE_IOMMU_H

#include "harness_mock.h"
#include <trace/hooks/iommu.h>

struct device;

static inline void trace_attach_device_to_domain(struct device *dev)
{
	(void)dev;
	mock_trace_attach++;
}

static inline void trace_detach_device_from_domain(struct device *dev)
{
	(void)dev;
	mock_trace_detach++;
}

#endif /* _TRACE_IOMMU_H */
