// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vendor IOMMU driver: it implements the is_attach_deferred op from its
 * own per-device state, and asks that state itself in its fault handler.
 * None of this is the core's decision; it stays as it is.
 */

#include <linux/device.h>
#include <linux/iommu.h>

struct vsmmu_master {
	bool defer_attach;
	unsigned long faults;
};

static bool vsmmu_is_attach_deferred(struct device *dev)
{
	struct vsmmu_master *master = dev->iommu->priv;

	return master->defer_attach;
}

static int vsmmu_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	struct vsmmu_master *master = dev->iommu->priv;

	master->defer_attach = false;
	return 0;
}

static void vsmmu_detach_dev(struct iommu_domain *domain, struct device *dev)
{
}

int vsmmu_handle_fault(struct device *dev)
{
	struct vsmmu_master *master = dev->iommu->priv;

	/* In a kdump kernel the master is not set up yet: ignore its faults */
	if (vsmmu_is_attach_deferred(dev)) {
		master->faults++;
		return 0;
	}

	return -EFAULT;
}

const struct iommu_ops vsmmu_ops = {
	.attach_dev		= vsmmu_attach_dev,
	.detach_dev		= vsmmu_detach_dev,
	.is_attach_deferred	= vsmmu_is_attach_deferred,
};
