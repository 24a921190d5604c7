// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v5.12-shaped DMA API glue, taken into a tree whose IOMMU core
 * (iommu.c) is still v5.10's: the deferred attach is left to the core's
 * iommu_deferred_attach(), which that core does not have.
 */

#include <linux/crash_dump.h>
#include <linux/device.h>
#include <linux/dma-iommu.h>
#include <linux/iommu.h>

static DEFINE_STATIC_KEY_FALSE(iommu_deferred_attach_enabled);

dma_addr_t iommu_dma_map_page(struct device *dev, phys_addr_t phys,
			      size_t size)
{
	struct iommu_domain *domain = iommu_get_dma_domain(dev);

	if (static_branch_unlikely(&iommu_deferred_attach_enabled) &&
	    iommu_deferred_attach(dev, domain))
		return DMA_MAPPING_ERROR;

	return (dma_addr_t)phys;
}

void iommu_dma_init(void)
{
	if (is_kdump_kernel())
		static_branch_enable(&iommu_deferred_attach_enabled);
}
