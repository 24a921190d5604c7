// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v6.1-shaped IOMMU core for the deferred-attach golden cases:
 * every function that decides about deferred attach, in upstream's order,
 * with the surrounding code cut down to what the behaviour needs.
 *
 * Vendor idioms (tests/mutations/ kinds, written into this reduced v6.1
 * core): the answer kept in a bool local in the detach and the group add,
 * the bus-probe callback jumping over the attach to a label, and !! in the
 * deferred attach.
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
	void *owner;
};

struct group_device {
	struct list_head list;
	struct device *dev;
};

static int __iommu_attach_device(struct iommu_domain *domain,
				 struct device *dev);

static const struct iommu_ops *dev_iommu_ops(struct device *dev)
{
	return dev->iommu->fwspec->ops;
}

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

	mutex_lock(&group->mutex);

	/*
	 * If device joined an existing group which has been claimed, don't
	 * attach the default domain.
	 */
	if (group->default_domain && !group->owner) {
		ret = __iommu_attach_device(group->default_domain, dev);
		if (ret) {
			mutex_unlock(&group->mutex);
			return ret;
		}
	}

	mutex_unlock(&group->mutex);

	return 0;
}

static bool iommu_is_attach_deferred(struct device *dev)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);

	if (ops->is_attach_deferred)
		return ops->is_attach_deferred(dev);

	return false;
}

/**
 * iommu_group_add_device - add a device to an iommu group
 * @group: the group into which to add the device
 * @dev: the device
 */
int iommu_group_add_device(struct iommu_group *group, struct device *dev)
{
	bool deferred;
	int ret = 0;
	struct group_device *device;

	device = kzalloc(sizeof(*device), GFP_KERNEL);
	if (!device)
		return -ENOMEM;

	device->dev = dev;
	dev->iommu_group = group;

	mutex_lock(&group->mutex);
	list_add_tail(&device->list, &group->devices);
	deferred = iommu_is_attach_deferred(dev);
	if (group->domain  && !deferred)
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
	int ret = 0;

	if (iommu_is_attach_deferred(dev))
		goto out;

	ret = __iommu_attach_device(domain, dev);
out:

	return ret;
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

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	if (!!iommu_is_attach_deferred(dev))
		return __iommu_attach_device(domain, dev);

	return 0;
}

static void __iommu_detach_device(struct iommu_domain *domain,
				  struct device *dev)
{
	bool deferred;

	deferred = iommu_is_attach_deferred(dev);
	if (deferred)
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
