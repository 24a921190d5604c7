/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/compiler.h> for the deferred-attach harness. */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#endif /* _LINUX_COMPILER_H */
