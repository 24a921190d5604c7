/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <asm/page.h>: 4 KiB pages, as on x86.  The kernel's <linux/slab.h>
 * and <linux/device.h> bring it in (through gfp.h, mmzone.h, ...), and
 * cores that check the domain's page sizes against PAGE_SIZE (Asahi's
 * iommu_check_page_size()) use it without including it.  The system has no
 * <asm/page.h> for user space, so this one shadows nothing.
 */
#ifndef _HARNESS_ASM_PAGE_H
#define _HARNESS_ASM_PAGE_H

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#endif /* _HARNESS_ASM_PAGE_H */
