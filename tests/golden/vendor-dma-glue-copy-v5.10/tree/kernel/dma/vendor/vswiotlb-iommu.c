// SPDX-License-Identifier: GPL-2.0
/*
 * A vendor bounce-buffer DMA path that carries its own copy of the DMA
 * API's deferred attach, indented its own way.
 */

#include <linux/crash_dump.h>
#include <linux/device.h>
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

dma_addr_t vswiotlb_iommu_map(struct device *dev, phys_addr_t phys)
{
	struct iommu_domain *domain = iommu_get_dma_domain(dev);

	if (unlikely(iommu_dma_deferred_attach(dev, domain)))
		return DMA_MAPPING_ERROR;

	return (dma_addr_t)phys;
}
