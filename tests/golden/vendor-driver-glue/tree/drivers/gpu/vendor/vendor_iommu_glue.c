// SPDX-License-Identifier: GPL-2.0
/*
 * A vendor GPU driver's IOMMU glue, shipped with the driver for kernels
 * whose core lacked what it needed: it carries its own copy of the core's
 * deferred-attach helper and asks it before detaching and before the first
 * DMA mapping.
 */

#include <linux/device.h>
#include <linux/iommu.h>

static const struct iommu_ops *vgpu_dev_iommu_ops(struct device *dev)
{
	return dev->iommu->fwspec->ops;
}

static bool vgpu_iommu_is_attach_deferred(struct device *dev)
{
	const struct iommu_ops *ops = vgpu_dev_iommu_ops(dev);

	if (ops->is_attach_deferred)
		return ops->is_attach_deferred(dev);

	return false;
}

void vgpu_iommu_detach(struct iommu_domain *domain, struct device *dev)
{
	if (vgpu_iommu_is_attach_deferred(dev))
		return;

	domain->ops->detach_dev(domain, dev);
}

int vgpu_iommu_map_prepare(struct iommu_domain *domain, struct device *dev)
{
	const struct iommu_ops *ops = vgpu_dev_iommu_ops(dev);
	int ret = 0;

	if (ops->is_attach_deferred != NULL &&
	    ops->is_attach_deferred(dev)) {
		ret = iommu_attach_device(domain, dev);
		dev_dbg(dev, "deferred attach: %d\n", ret);
	}

	return ret;
}
