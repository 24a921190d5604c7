/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <linux/types.h> for the deferred-attach harness.  Like the kernel's,
 * it is the header everything else can count on, so it also brings in
 * NULL, bool, errno values and likely()/unlikely().
 */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/compiler.h>
#include <linux/errno.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

typedef u64 dma_addr_t;
typedef u64 phys_addr_t;

typedef unsigned int gfp_t;

#endif /* _LINUX_TYPES_H */
