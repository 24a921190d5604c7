// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v5.15-shaped DMA API glue: in a kdump kernel the first DMA
 * mapping of a device asks the core to do its deferred attach.
 */

#include <linux/crash_dump.h>
#include <linux/device.h>
#include <linux/dma-iommu.h>
#include <linux/iommu.h>
#include <linux/jump_label.h>

static DEFINE_STATIC_KEY_FALSE(iommu_deferred_attach_enabled);

void iommu_dma_init(void)
{
	if (is_kdump_kernel())
		static_branch_enable(&iommu_deferred_attach_enabled);
}

dma_addr_t iommu_dma_map_page(struct device *dev, phys_addr_t phys,
			      size_t size)
{
	struct iommu_domain *domain = iommu_get_dma_domain(dev);

	if (static_branch_unlikely(&iommu_deferred_attach_enabled) &&
	    iommu_deferred_attach(dev, domain))
		return DMA_MAPPING_ERROR;

	return (dma_addr_t)phys;
}
