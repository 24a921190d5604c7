/* SPDX-License-Identifier: GPL-2.0-only */
/* Mock <linux/device.h>: the two members the IOMMU core uses, and dev_dbg. */
#ifndef _DEVICE_H_
#define _DEVICE_H_

#include <linux/types.h>
#include <linux/kernel.h>
#include <asm/page.h>

struct dev_iommu;
struct iommu_group;

struct device {
	const char *init_name;		/* for messages only */
	struct dev_iommu *iommu;
	struct iommu_group *iommu_group;
};

static inline const char *dev_name(const struct device *dev)
{
	return dev->init_name ? dev->init_name : "(unnamed)";
}

void mock_dev_dbg(const struct device *dev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define dev_dbg(dev, fmt, ...)	mock_dev_dbg((dev), fmt, ##__VA_ARGS__)
#define dev_info(dev, fmt, ...)	mock_dev_dbg((dev), fmt, ##__VA_ARGS__)
#define dev_warn(dev, fmt, ...)	mock_dev_dbg((dev), fmt, ##__VA_ARGS__)
#define dev_err(dev, fmt, ...)	mock_dev_dbg((dev), fmt, ##__VA_ARGS__)

#endif /* _DEVICE_H_ */
