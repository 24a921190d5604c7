# SPDX-License-Identifier: GPL-2.0-only
"""idioms.cause(): a refusal names the vendor idiom, in the user's lines."""

import unittest

import _support  # noqa: F401  (puts scripts/ on sys.path)
from dattach import idioms

DETACH_IFDEF = '''static void __iommu_detach_device(struct iommu_domain *domain,
				  struct device *dev)
{
#ifdef CONFIG_VENDOR_X
	if (unlikely(iommu_is_attach_deferred(dev)))
		return;
#else
	if (iommu_is_attach_deferred(dev))
		return;
#endif

	domain->ops->detach_dev(domain, dev);
}
'''

CALLBACK_LOCAL = '''static int do_attach(struct device *dev, void *data)
{
	bool deferred = iommu_is_attach_deferred(dev);

	return deferred ? 0 : attach(dev, data);
}
'''


class CauseTest(unittest.TestCase):

	def test_ifdef_else_around_the_detach_check(self) -> None:
		self.assertEqual(
			idioms.cause(DETACH_IFDEF, 5, '__iommu_detach_device'),
			'the detach check sits inside #ifdef CONFIG_VENDOR_X ... #else (line 4): '
			'which code runs depends on the configuration; convert by hand')

	def test_answer_kept_in_a_local(self) -> None:
		self.assertEqual(
			idioms.cause(CALLBACK_LOCAL, 3, 'do_attach'),
			"the check in do_attach() keeps the answer in the local 'deferred' and "
			'tests it later; convert by hand')

	def test_plain_check_has_no_idiom(self) -> None:
		text = DETACH_IFDEF.replace('#ifdef CONFIG_VENDOR_X\n', '').replace(
			'#else\n', '').replace('#endif\n', '')
		self.assertIsNone(idioms.cause(text, 4, '__iommu_detach_device'))


if __name__ == '__main__':
	unittest.main()
