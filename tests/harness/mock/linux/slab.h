/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/slab.h>: kzalloc/kfree on the C heap (ASan watches it). */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

#include <stdlib.h>

#include <linux/types.h>
#include <asm/page.h>

#define GFP_KERNEL	((gfp_t)0)
#define GFP_ATOMIC	((gfp_t)1)

static inline void *kzalloc(size_t size, gfp_t flags)
{
	(void)flags;
	return calloc(1, size);
}

static inline void *kmalloc(size_t size, gfp_t flags)
{
	(void)flags;
	return malloc(size);
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#endif /* _LINUX_SLAB_H */
