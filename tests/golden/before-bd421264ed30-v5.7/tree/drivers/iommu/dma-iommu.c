// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v5.7-rc-shaped DMA API glue: the deferred attach is asked for
 * here, on the first DMA mapping of a device in a kdump kernel, through
 * iommu_attach_device(), whose __iommu_attach_device() skips it again.
 */

#include <linux/crash_dump.h>
#include <linux/device.h>
#include <linux/dma-iommu.h>
#include <linux/iommu.h>

static int iommu_dma_deferred_attach(struct device *dev,
		struct iommu_domain *domain)
{
	const struct iommu_ops *ops = domain->ops;

	if (!is_kdump_kernel())
		return 0;

	if (unlikely(ops->is_attach_deferred &&
			ops->is_attach_deferred(domain, dev)))
		return iommu_attach_device(domain, dev);

	return 0;
}

dma_addr_t iommu_dma_map_page(struct device *dev, phys_addr_t phys,
			      size_t size)
{
	struct iommu_domain *domain = iommu_get_dma_domain(dev);

	if (unlikely(iommu_dma_deferred_attach(dev, domain)))
		return DMA_MAPPING_ERROR;

	return (dma_addr_t)phys;
}
