/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/dma-mapping.h>. */
#ifndef _LINUX_DMA_MAPPING_H
#define _LINUX_DMA_MAPPING_H

#include <linux/types.h>

#define DMA_MAPPING_ERROR	(~(dma_addr_t)0)

#endif /* _LINUX_DMA_MAPPING_H */
