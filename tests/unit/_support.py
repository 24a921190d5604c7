"""Shared by the unit tests: import path and tiny kernel trees."""

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'scripts'))

MAKEFILE = 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 7\nEXTRAVERSION =\n'

HEADER = '''struct dev_iommu {
	struct mutex lock;
	void				*priv;
};
'''

ONE_ARG_CORE = '''static bool iommu_is_attach_deferred(struct device *dev)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);

	if (ops->is_attach_deferred)
		return ops->is_attach_deferred(dev);

	return false;
}

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	if (iommu_is_attach_deferred(dev))
		return __iommu_attach_device(domain, dev);

	return 0;
}

static void __iommu_detach_device(struct iommu_domain *domain,
				  struct device *dev)
{
	if (iommu_is_attach_deferred(dev))
		return;

	domain->ops->detach_dev(domain, dev);
}
'''


def make_tree(root: Path, files: dict[str, str]) -> Path:
	"""Write files (relative path -> text) under root; returns root."""
	for rel, text in files.items():
		path = root / rel
		path.parent.mkdir(parents=True, exist_ok=True)
		path.write_text(text)
	return root


def kernel_tree(files: dict[str, str] | None = None) -> tempfile.TemporaryDirectory[str]:
	tmp = tempfile.TemporaryDirectory(prefix='dattach-unit.')
	make_tree(Path(tmp.name), {'Makefile': MAKEFILE,
				   'include/linux/iommu.h': HEADER,
				   'drivers/iommu/iommu.c': ONE_ARG_CORE,
				   **(files or {})})
	return tmp
