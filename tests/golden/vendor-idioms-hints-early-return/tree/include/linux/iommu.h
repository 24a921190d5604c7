/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reduced v6.1-shaped IOMMU API header: only what the deferred-attach
 * golden cases and the behavioural harness need.
 */
#ifndef __LINUX_IOMMU_H
#define __LINUX_IOMMU_H

#include <linux/types.h>
#include <linux/mutex.h>

struct device;
struct iommu_domain;

struct iommu_ops {
	int (*attach_dev)(struct iommu_domain *domain, struct device *dev);
	void (*detach_dev)(struct iommu_domain *domain, struct device *dev);
	bool (*is_attach_deferred)(struct device *dev);
};

struct iommu_domain {
	unsigned int type;
	const struct iommu_ops *ops;
};

struct iommu_fwspec {
	const struct iommu_ops *ops;
};

/**
 * struct dev_iommu - Collection of per-device IOMMU data
 *
 * @fwspec:	 IOMMU fwspec data
 * @iommu_dev:	 IOMMU device this device is linked to
 * @priv:	 IOMMU Driver private data
 *
 * TODO: migrate other per device data pointers under iommu_dev_data, e.g.
 *	struct iommu_group	*iommu_group;
 */
struct dev_iommu {
	struct mutex lock;
	struct iommu_fwspec		*fwspec;
	struct iommu_device		*iommu_dev;
	void				*priv;
};

int iommu_probe_device(struct device *dev);
int iommu_group_add_device(struct iommu_group *group, struct device *dev);
int bus_iommu_probe(struct iommu_group *group);
int iommu_attach_device(struct iommu_domain *domain, struct device *dev);
void iommu_detach_device(struct iommu_domain *domain, struct device *dev);
int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain);

#endif /* __LINUX_IOMMU_H */
