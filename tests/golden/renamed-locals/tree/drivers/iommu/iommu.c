// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced v6.1-shaped IOMMU core for the deferred-attach golden cases:
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

int iommu_probe_device(struct device *pdev)
{
	struct iommu_group *grp;
	int err;

	grp = pdev->iommu_group;
	if (!grp)
		return -ENODEV;

	mutex_lock(&grp->mutex);

	/*
	 * If device joined an existing group which has been claimed, don't
	 * attach the default domain.
	 */
	if (grp->default_domain && !grp->owner) {
		err = __iommu_attach_device(grp->default_domain, pdev);
		if (err) {
			mutex_unlock(&grp->mutex);
			return err;
		}
	}

	mutex_unlock(&grp->mutex);

	return 0;
}

static bool iommu_is_attach_deferred(struct device *d)
{
	const struct iommu_ops *iops = dev_iommu_ops(d);

	if (iops->is_attach_deferred)
		return iops->is_attach_deferred(d);

	return false;
}

/**
 * iommu_group_add_device - add a device to an iommu group
 * @group: the group into which to add the device
 * @dev: the device
 */
int iommu_group_add_device(struct iommu_group *grp, struct device *d)
{
	int rc = 0;
	struct group_device *device;

	device = kzalloc(sizeof(*device), GFP_KERNEL);
	if (!device)
		return -ENOMEM;

	device->dev = d;
	d->iommu_group = grp;

	mutex_lock(&grp->mutex);
	list_add_tail(&device->list, &grp->devices);
	if (grp->domain  && !iommu_is_attach_deferred(d))
		rc = __iommu_attach_device(grp->domain, d);
	mutex_unlock(&grp->mutex);
	if (rc)
		goto err_put_group;

	return 0;

err_put_group:
	mutex_lock(&grp->mutex);
	list_del(&device->list);
	mutex_unlock(&grp->mutex);
	d->iommu_group = NULL;
	kfree(device);
	return rc;
}

static int iommu_group_do_dma_attach(struct device *d, void *cookie)
{
	struct iommu_domain *dom = cookie;
	int rc = 0;

	if (!iommu_is_attach_deferred(d))
		rc = __iommu_attach_device(dom, d);

	return rc;
}

static int __iommu_group_dma_attach(struct iommu_group *grp)
{
	return __iommu_group_for_each_dev(grp, grp->default_domain,
					  iommu_group_do_dma_attach);
}

int bus_iommu_probe(struct iommu_group *grp)
{
	int rc;

	mutex_lock(&grp->mutex);

	if (!grp->default_domain) {
		mutex_unlock(&grp->mutex);
		return 0;
	}

	rc = __iommu_group_dma_attach(grp);

	mutex_unlock(&grp->mutex);

	return rc;
}

static int __iommu_attach_device(struct iommu_domain *dom,
				 struct device *d)
{
	int err;

	if (unlikely(dom->ops->attach_dev == NULL))
		return -ENODEV;

	err = dom->ops->attach_dev(dom, d);
	if (!err)
		trace_attach_device_to_domain(d);
	return err;
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

int iommu_deferred_attach(struct device *d, struct iommu_domain *dom)
{
	if (iommu_is_attach_deferred(d))
		return __iommu_attach_device(dom, d);

	return 0;
}

static void __iommu_detach_device(struct iommu_domain *dom,
				  struct device *d)
{
	if (iommu_is_attach_deferred(d))
		return;

	dom->ops->detach_dev(dom, d);
	trace_detach_device_from_domain(d);
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
