/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reduced vendor v5.4-shaped IOMMU API header, partly updated: a vendor
 * driver's backport brought struct dev_iommu in, but the core (iommu.c)
 * and struct device still use struct iommu_param.
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
	bool (*is_attach_deferred)(struct iommu_domain *domain, struct device *dev);
};

struct iommu_domain {
	unsigned int type;
	const struct iommu_ops *ops;
};

struct iommu_fwspec {
	const struct iommu_ops *ops;
};

typedef int (*iommu_dev_fault_handler_t)(void *fault, void *data);

struct iommu_fault_param {
	iommu_dev_fault_handler_t handler;
	void *data;
};

/**
 * struct iommu_param - collection of per-device IOMMU data
 *
 * @fault_param: IOMMU detected device fault reporting data
 */
struct iommu_param {
	struct mutex lock;
	struct iommu_fault_param *fault_param;
};

/**
 * struct dev_iommu - Collection of per-device IOMMU data
 *
 * @fault_param: IOMMU detected device fault reporting data
 * @fwspec:	 IOMMU fwspec data
 * @priv:	 IOMMU Driver private data
 */
struct dev_iommu {
	struct mutex lock;
	struct iommu_fault_param	*fault_param;
	struct iommu_fwspec		*fwspec;
	void				*priv;
};

int iommu_probe_device(struct device *dev);
int iommu_group_add_device(struct iommu_group *group, struct device *dev);
int bus_iommu_probe(struct iommu_group *group);
int iommu_attach_device(struct iommu_domain *domain, struct device *dev);
void iommu_detach_device(struct iommu_domain *domain, struct device *dev);
int iommu_register_device_fault_handler(struct device *dev,
					iommu_dev_fault_handler_t handler,
					void *data);

#endif /* __LINUX_IOMMU_H */
