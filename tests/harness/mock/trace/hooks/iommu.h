/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock vendor hooks (Android-style trace/hooks/iommu.h) used by the
 * vendor-shaped golden fixtures, which call them without including this
 * header; trace/events/iommu.h brings it in.  All are no-ops.  When a new
 * fixture calls a hook not listed here, add its name: the fixture's build
 * fails with "implicit declaration of function 'vendor_hook_...'" until then.
 */
#ifndef _TRACE_HOOK_IOMMU_H
#define _TRACE_HOOK_IOMMU_H

#define vendor_hook_attach_dev(...)		do { } while (0)
#define vendor_hook_deferred_attach(...)	do { } while (0)
#define vendor_hook_detach(...)			do { } while (0)
#define vendor_hook_dma_attach(...)		do { } while (0)
#define vendor_hook_group_add(...)		do { } while (0)
#define vendor_hook_group_added(...)		do { } while (0)
#define vendor_hook_probe_attach(...)		do { } while (0)
#define vendor_hook_probe_attached(...)		do { } while (0)

#endif /* _TRACE_HOOK_IOMMU_H */
