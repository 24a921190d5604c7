/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/kernel.h>: container_of() and friends. */
#ifndef _LINUX_KERNEL_H
#define _LINUX_KERNEL_H

#include <linux/types.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif /* _LINUX_KERNEL_H */
