// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v6.12-shaped IOMMU core for the deferred-attach golden cases:
 * every function that decides about deferred attach, in upstream's order,
 * with the surrounding code cut down to what the behaviour needs.
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

static int iommu_init_device(struct device *dev)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);

	if (ops->is_attach_deferred)
		dev->iommu->attach_deferred = ops->is_attach_deferred(dev);
	return 0;
}

static int __iommu_device_set_domain(struct iommu_group *group,
				     struct device *dev,
				     struct iommu_domain *new_domain)
{
	if (dev->iommu->attach_deferred) {
		if (new_domain == group->default_domain)
			return 0;
		dev->iommu->attach_deferred = 0;
	}

	return __iommu_attach_device(new_domain, dev);
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
		ret = iommu_init_device(dev);
		if (!ret)
			ret = __iommu_device_set_domain(group, dev,
							group->default_domain);
		if (ret) {
			mutex_unlock(&group->mutex);
			return ret;
		}
	}

	mutex_unlock(&group->mutex);

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
		ret = __iommu_device_set_domain(group, dev, group->domain);
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

int bus_iommu_probe(struct iommu_group *group)
{
	int ret;

	mutex_lock(&group->mutex);

	if (!group->default_domain) {
		mutex_unlock(&group->mutex);
		return 0;
	}

	ret = __iommu_device_set_domain(group, list_first_entry(&group->devices,
						struct group_device, list)->dev,
					group->default_domain);

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
	if (ret)
		return ret;
	dev->iommu->attach_deferred = 0;
	trace_attach_device_to_domain(dev);
	return 0;
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
	if (dev->iommu && dev->iommu->attach_deferred)
		return __iommu_attach_device(domain, dev);

	return 0;
}

void iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
	struct iommu_group *group = dev->iommu_group;

	if (!group)
		return;

	mutex_lock(&group->mutex);
	domain->ops->detach_dev(domain, dev);
	group->domain = NULL;
	mutex_unlock(&group->mutex);
}
