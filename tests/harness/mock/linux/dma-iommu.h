/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/dma-iommu.h>. */
#ifndef __DMA_IOMMU_H
#define __DMA_IOMMU_H

#include <linux/types.h>
#include <linux/dma-mapping.h>

#endif /* __DMA_IOMMU_H */
