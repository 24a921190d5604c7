// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v5.7-rc-shaped IOMMU core, from before upstream bd421264ed30
 * ("iommu: Fix deferred domain attachment"): struct dev_iommu is there,
 * but the driver's op is asked inside __iommu_attach_device(), which
 * returns 0 for a deferred device, and there is no
 * iommu_is_attach_deferred() helper.  The DMA API's deferred attach goes
 * through iommu_attach_device() and so is skipped as well.
 */

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <trace/events/iommu.h>

struct iommu_group {
	struct mutex mutex;
	struct list_head devices;
	struct iommu_domain *default_domain;
	struct iommu_domain *domain;
};

struct group_device {
	struct list_head list;
	struct device *dev;
};

static int __iommu_attach_device(struct iommu_domain *domain,
				 struct device *dev);

static int __iommu_group_for_each_dev(struct iommu_group *group, void *data,
				      int (*fn)(struct device *, void *))
{
	struct group_device *device;
	int ret = 0;

	list_for_each_entry(device, &group->devices, list) {
		ret = fn(device->dev, data);
		if (ret)
			break;
	}
	return ret;
}

int iommu_probe_device(struct device *dev)
{
	struct iommu_group *group;
	int ret;

	group = dev->iommu_group;
	if (!group)
		return -ENODEV;

	if (group->default_domain) {
		ret = __iommu_attach_device(group->default_domain, dev);
		if (ret)
			return ret;
	}

	return 0;
}

/**
 * iommu_group_add_device - add a device to an iommu group
 * @group: the group into which to add the device
 * @dev: the device
 */
int iommu_group_add_device(struct iommu_group *group, struct device *dev)
{
	int ret = 0;
	struct group_device *device;

	device = kzalloc(sizeof(*device), GFP_KERNEL);
	if (!device)
		return -ENOMEM;

	device->dev = dev;
	dev->iommu_group = group;

	mutex_lock(&group->mutex);
	list_add_tail(&device->list, &group->devices);
	if (group->domain)
		ret = __iommu_attach_device(group->domain, dev);
	mutex_unlock(&group->mutex);
	if (ret)
		goto err_put_group;

	return 0;

err_put_group:
	mutex_lock(&group->mutex);
	list_del(&device->list);
	mutex_unlock(&group->mutex);
	dev->iommu_group = NULL;
	kfree(device);
	return ret;
}

static int iommu_group_do_dma_attach(struct device *dev, void *data)
{
	struct iommu_domain *domain = data;

	return __iommu_attach_device(domain, dev);
}

static int __iommu_group_dma_attach(struct iommu_group *group)
{
	return __iommu_group_for_each_dev(group, group->default_domain,
					  iommu_group_do_dma_attach);
}

int bus_iommu_probe(struct iommu_group *group)
{
	int ret;

	mutex_lock(&group->mutex);

	if (!group->default_domain) {
		mutex_unlock(&group->mutex);
		return 0;
	}

	ret = __iommu_group_dma_attach(group);

	mutex_unlock(&group->mutex);

	return ret;
}

static int __iommu_attach_device(struct iommu_domain *domain,
				 struct device *dev)
{
	int ret;
	if ((domain->ops->is_attach_deferred != NULL) &&
	    domain->ops->is_attach_deferred(domain, dev))
		return 0;

	if (unlikely(domain->ops->attach_dev == NULL))
		return -ENODEV;

	ret = domain->ops->attach_dev(domain, dev);
	if (!ret)
		trace_attach_device_to_domain(dev);
	return ret;
}

int iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
	struct iommu_group *group = dev->iommu_group;
	int ret;

	if (!group)
		return -ENODEV;

	mutex_lock(&group->mutex);
	ret = __iommu_attach_device(domain, dev);
	if (!ret)
		group->domain = domain;
	mutex_unlock(&group->mutex);

	return ret;
}

static void __iommu_detach_device(struct iommu_domain *domain,
				  struct device *dev)
{
	if ((domain->ops->is_attach_deferred != NULL) &&
	    domain->ops->is_attach_deferred(domain, dev))
		return;

	if (unlikely(domain->ops->detach_dev == NULL))
		return;

	domain->ops->detach_dev(domain, dev);
	trace_detach_device_from_domain(dev);
}

void iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
	struct iommu_group *group = dev->iommu_group;

	if (!group)
		return;

	mutex_lock(&group->mutex);
	__iommu_detach_device(domain, dev);
	group->domain = NULL;
	mutex_unlock(&group->mutex);
}

struct iommu_domain *iommu_get_dma_domain(struct device *dev)
{
	return dev->iommu_group->default_domain;
}
