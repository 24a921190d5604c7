import unittest

import _support
from dattach import probe
from dattach.probe import Shape, classify

V63_CORE = '''static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
{
	if (iommu_is_attach_deferred(dev)) {
		dev->iommu->attach_deferred = 1;
		return 0;
	}
	return 0;
}

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	if (dev->iommu && dev->iommu->attach_deferred)
		return __iommu_attach_device(domain, dev);
	return 0;
}
'''

V65_CORE = '''static int iommu_init_device(struct device *dev, const struct iommu_ops *ops)
{
	if (ops->is_attach_deferred)
		dev->iommu->attach_deferred = ops->is_attach_deferred(dev);
	return 0;
}
'''

FLAG_HEADER = _support.HEADER.replace('};', '\tu32\t\t\t\tattach_deferred:1;\n};')

TWO_ARG_CORE = '''static bool iommu_is_attach_deferred(struct iommu_domain *domain,
				     struct device *dev)
{
	return false;
}
'''


class ClassifyTest(unittest.TestCase):

	def test_one_argument_helper(self) -> None:
		result = classify(_support.ONE_ARG_CORE, _support.HEADER)
		self.assertIs(result.shape, Shape.ONE_ARG_HELPER)
		self.assertTrue(result.convertible)

	def test_v6_3_is_already_converted(self) -> None:
		self.assertIs(classify(V63_CORE, FLAG_HEADER).shape, Shape.ALREADY_CONVERTED)

	def test_v6_5_is_already_converted(self) -> None:
		self.assertIs(classify(V65_CORE, FLAG_HEADER).shape, Shape.ALREADY_CONVERTED)

	def test_no_dev_iommu_is_not_applicable(self) -> None:
		result = classify(_support.ONE_ARG_CORE, 'struct iommu_param {\n};\n')
		self.assertIs(result.shape, Shape.NOT_APPLICABLE)
		self.assertIn('bd421264ed30', result.reason)

	def test_missing_core_is_not_applicable(self) -> None:
		self.assertIs(classify(None, _support.HEADER).shape, Shape.NOT_APPLICABLE)

	def test_member_without_helper_is_half_converted(self) -> None:
		result = classify(_support.ONE_ARG_CORE, FLAG_HEADER)
		self.assertIs(result.shape, Shape.HALF_CONVERTED)
		self.assertIs(result.generation, Shape.ONE_ARG_HELPER)
		self.assertTrue(result.convertible)
		self.assertIn('already has the attach_deferred member', result.reason)

	def test_first_attach_helper_that_never_sets_the_flag_is_refused(self) -> None:
		core = V63_CORE.replace('\t\tdev->iommu->attach_deferred = 1;\n', '')
		result = classify(core + _support.ONE_ARG_CORE, FLAG_HEADER)
		self.assertIs(result.shape, Shape.INCONSISTENT)
		self.assertFalse(result.convertible)
		self.assertIn('iommu.c:1: iommu_group_do_dma_first_attach() does not set', result.reason)

	def test_two_argument_helper_with_dma_iommu_deferred_attach(self) -> None:
		result = classify(TWO_ARG_CORE, _support.HEADER)
		self.assertIs(result.shape, Shape.TWO_ARG_DMA_IOMMU)
		self.assertTrue(result.convertible)

	def test_two_argument_helper_with_iommu_deferred_attach(self) -> None:
		core = TWO_ARG_CORE + '''
int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	const struct iommu_ops *ops = domain->ops;

	if (ops->is_attach_deferred && ops->is_attach_deferred(domain, dev))
		return __iommu_attach_device(domain, dev);
	return 0;
}
'''
		result = classify(core, _support.HEADER)
		self.assertIs(result.shape, Shape.TWO_ARG_HELPER)
		left = [place.where() for place in probe.leftovers(core)]
		self.assertEqual(left, ['drivers/iommu/iommu.c:11 (iommu_deferred_attach)'])

	def test_two_argument_helper_without_dev_iommu_names_prerequisites(self) -> None:
		result = classify(TWO_ARG_CORE, 'struct iommu_param {\n};\n')
		self.assertIs(result.shape, Shape.NOT_APPLICABLE)
		self.assertIn('5.6.y', result.reason)
		self.assertIn('045a70426067', result.reason)


class SitesTest(unittest.TestCase):

	def test_calls_with_their_functions(self) -> None:
		sites = probe.find_sites('x.c', _support.ONE_ARG_CORE)
		self.assertEqual([(s.line, s.function, s.callee) for s in sites], [
			(6, 'iommu_is_attach_deferred', 'is_attach_deferred'),
			(13, 'iommu_deferred_attach', 'iommu_is_attach_deferred'),
			(22, '__iommu_detach_device', 'iommu_is_attach_deferred'),
		])
		self.assertEqual(sites[2].where(), 'x.c:22 (__iommu_detach_device)')

	def test_definitions_and_op_members_are_not_sites(self) -> None:
		text = ('bool amd_iommu_is_attach_deferred(struct device *dev);\n'
			'struct ops {\n\tbool (*is_attach_deferred)(struct device *dev);\n};\n')
		self.assertEqual(probe.find_sites('x.h', text), [])

	def test_function_spans_follow_kernel_style(self) -> None:
		spans = probe.function_spans(_support.ONE_ARG_CORE)
		self.assertEqual([name for name, _, _ in spans], [
			'iommu_is_attach_deferred', 'iommu_deferred_attach',
			'__iommu_detach_device'])


	def test_function_spans_with_the_return_type_on_its_own_line(self) -> None:
		# Vendor style: `static void\n__iommu_detach_device(...)`; a call
		# in column 0 (EXPORT_SYMBOL) is no head.
		text = ('static bool\niommu_is_attach_deferred(struct device *dev)\n{\n'
			'\treturn false;\n}\nEXPORT_SYMBOL_GPL(x);\n\nstatic void\n'
			'__iommu_detach_device(struct iommu_domain *domain,\n\t\t      '
			'struct device *dev)\n{\n}\n')
		self.assertEqual(probe.function_spans(text), [
			('iommu_is_attach_deferred', 2, 5), ('__iommu_detach_device', 9, 12)])


class ProbeTreeTest(unittest.TestCase):

	def test_candidates_are_the_files_with_key_identifiers(self) -> None:
		with _support.kernel_tree({'drivers/other.c': 'int x;\n',
					   'drivers/amd.c': '\tif (amd_is_attach_deferred(d))\n'}) as tmp:
			result = probe.probe(probe.KernelTree(
				path=__import__('pathlib').Path(tmp), version='6.1.7'))
			self.assertEqual(result.candidates, [
				'drivers/amd.c', 'drivers/iommu/iommu.c',
				'include/linux/iommu.h'])
			self.assertIs(result.classification.shape, Shape.ONE_ARG_HELPER)


if __name__ == '__main__':
	unittest.main()
