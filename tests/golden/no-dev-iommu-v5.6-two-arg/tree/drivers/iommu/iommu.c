// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced 5.6.y-shaped IOMMU core: upstream bd421264ed30's two-argument
 * helper arrived by a stable backport, but per-device data is still
 * struct iommu_param.
 */

#include <linux/device.h>
#include <linux/iommu.h>
#include <trace/events/iommu.h>

static bool iommu_is_attach_deferred(struct iommu_domain *domain,
				     struct device *dev)
{
	if (domain->ops->is_attach_deferred)
		return domain->ops->is_attach_deferred(domain, dev);

	return false;
}

static void __iommu_detach_device(struct iommu_domain *domain,
				  struct device *dev)
{
	if (iommu_is_attach_deferred(domain, dev))
		return;

	if (unlikely(domain->ops->detach_dev == NULL))
		return;

	domain->ops->detach_dev(domain, dev);
	trace_detach_device_from_domain(dev);
}
