/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <linux/errno.h>.  It shadows the UAPI header of the same name, which
 * glibc's <errno.h> itself includes, so it must do that header's job: the
 * architecture's errno values (ENODEV, ENOMEM, EINVAL, ...) are the kernel's.
 */
#ifndef _HARNESS_LINUX_ERRNO_H
#define _HARNESS_LINUX_ERRNO_H

#include <asm/errno.h>

#endif /* _HARNESS_LINUX_ERRNO_H */
