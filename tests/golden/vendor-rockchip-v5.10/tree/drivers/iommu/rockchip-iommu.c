// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reduced Rockchip-style IOMMU driver: the deferred-attach answer comes
 * from the driver's own per-master data.  It stays as it is.
 */

#include <linux/device.h>
#include <linux/iommu.h>

struct rk_iommudata {
	bool defer_attach;
};

static bool rk_iommu_is_attach_deferred(struct iommu_domain *domain,
					struct device *dev)
{
	struct rk_iommudata *data = dev->iommu->priv;

	return data->defer_attach;
}

static int rk_iommu_attach_device(struct iommu_domain *domain,
				  struct device *dev)
{
	struct rk_iommudata *data = dev->iommu->priv;

	data->defer_attach = false;
	return 0;
}

const struct iommu_ops rk_iommu_ops = {
	.attach_dev = rk_iommu_attach_device,
	.is_attach_deferred = rk_iommu_is_attach_deferred,
};
