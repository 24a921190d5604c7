/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Mock <linux/mutex.h>: single-threaded, so a mutex is a held flag and the
 * function that took it.  Locking a held mutex (a deadlock in the kernel)
 * and unlocking a free one are recorded as violations; see harness_mock.h.
 */
#ifndef __LINUX_MUTEX_H
#define __LINUX_MUTEX_H

#include <linux/types.h>
#include <linux/lockdep.h>

struct mutex {
	bool held;
	const char *owner;	/* function that took it, for messages */
};

/* A static mutex, free at start (iommu_probe_device_lock since v6.1). */
#define DEFINE_MUTEX(name)	struct mutex name = { .held = false, .owner = NULL }

void mock_mutex_init(struct mutex *lock);
void mock_mutex_lock(struct mutex *lock, const char *func);
void mock_mutex_unlock(struct mutex *lock, const char *func);

#define mutex_init(l)		mock_mutex_init(l)
#define mutex_lock(l)		mock_mutex_lock((l), __func__)
#define mutex_unlock(l)		mock_mutex_unlock((l), __func__)
#define mutex_is_locked(l)	((l)->held)

#endif /* __LINUX_MUTEX_H */
