"""Refusals that name the upstream commits to backport first, in the
refusal and in `probe` (text and JSON), and places named for what they do."""

import json
import unittest

import _support
import _commands
from _commands import run
from dattach import probe
from dattach.probe import Shape, classify

# A v5.7-rc core: struct dev_iommu, the op asked in __iommu_attach_device().
BEFORE_FIX_CORE = '''static int __iommu_attach_device(struct iommu_domain *domain,
				 struct device *dev)
{
	int ret;
	if (domain->ops->is_attach_deferred &&
	    domain->ops->is_attach_deferred(domain, dev)) {
		return 0;
	}

	ret = domain->ops->attach_dev(domain, dev);
	if (!ret)
		trace_attach_device_to_domain(dev);
	return ret;
}
'''

TWO_ARG_CORE = '''static bool iommu_is_attach_deferred(struct iommu_domain *domain,
				     struct device *dev)
{
	return domain->ops->is_attach_deferred(domain, dev);
}
'''

V512_DMA_IOMMU = '''static int iommu_dma_deferred_attach(struct device *dev,
				     struct iommu_domain *domain)
{
	/* iommu_deferred_attach() is the core's since v5.12 */
	if (static_branch_unlikely(&iommu_deferred_attach_enabled))
		return iommu_deferred_attach(dev, domain);
	return 0;
}
'''

FIX = ('bd421264ed30', 'iommu: Fix deferred domain attachment')
DEV_IOMMU = ('045a70426067', 'iommu: Rename struct iommu_param to dev_iommu')
CORE_ATTACH = ('3ab657291638',
	       'iommu: use the __iommu_attach_device() directly for deferred attach')


def commits(result: probe.Classification) -> list[tuple[str, str]]:
	return [(c.sha, c.title) for c in result.backport_first]


class ClassifyTest(unittest.TestCase):

	def test_before_bd421264ed30(self) -> None:
		result = classify(BEFORE_FIX_CORE, _support.HEADER)
		self.assertIs(result.shape, Shape.NEEDS_EARLIER_FIX)
		self.assertFalse(result.convertible)
		self.assertEqual(commits(result), [FIX])
		self.assertIn('drivers/iommu/iommu.c:6 (__iommu_attach_device) asks the op '
			      'inline and returns 0', result.reason)
		self.assertTrue(result.reason.endswith('backport bd421264ed30 first'))

	def test_attach_asking_without_returning_0_is_not_before_the_fix(self) -> None:
		# Asking but going on to attach is some other (vendor) shape.
		core = BEFORE_FIX_CORE.replace('return 0;', 'dev_warn(dev, "deferred\\n");')
		result = classify(core, _support.HEADER)
		self.assertIsNot(result.shape, Shape.NEEDS_EARLIER_FIX)
		self.assertEqual(result.backport_first, ())

	def test_iommu_param_with_dev_iommu_in_the_header(self) -> None:
		core = BEFORE_FIX_CORE + '''
int iommu_register_device_fault_handler(struct device *dev)
{
	/* dev->iommu_param in a comment does not count */
	struct iommu_param *param = dev->iommu_param;

	return param ? 0 : -EINVAL;
}
'''
		result = classify(core, _support.HEADER)
		self.assertIs(result.shape, Shape.NOT_APPLICABLE)
		self.assertEqual(commits(result), [DEV_IOMMU, FIX])
		self.assertTrue(result.reason.startswith(
			'drivers/iommu/iommu.c:19 (iommu_register_device_fault_handler) uses '
			'dev->iommu_param, although include/linux/iommu.h declares struct '
			'dev_iommu'), result.reason)

	def test_no_dev_iommu_names_both_commits_or_one(self) -> None:
		header = 'struct iommu_param {\n};\n'
		self.assertEqual(commits(classify(BEFORE_FIX_CORE, header)), [DEV_IOMMU, FIX])
		# The two-argument helper came with bd421264ed30.
		self.assertEqual(commits(classify(TWO_ARG_CORE, header)), [DEV_IOMMU])

	def test_dma_iommu_of_a_later_generation_than_iommu_c(self) -> None:
		result = classify(TWO_ARG_CORE, _support.HEADER, V512_DMA_IOMMU)
		self.assertIs(result.shape, Shape.INCONSISTENT)
		self.assertEqual(commits(result), [CORE_ATTACH])
		self.assertIn('drivers/iommu/dma-iommu.c:6 (iommu_dma_deferred_attach) calls '
			      'iommu_deferred_attach()', result.reason)
		self.assertIn('drivers/iommu/iommu.c has no iommu_deferred_attach(): its '
			      'two-argument iommu_is_attach_deferred() leaves the deferred '
			      'attach to drivers/iommu/dma-iommu.c', result.reason)

	def test_dma_iommu_and_core_of_the_same_generation(self) -> None:
		core = TWO_ARG_CORE + '''
int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	if (iommu_is_attach_deferred(domain, dev))
		return __iommu_attach_device(domain, dev);
	return 0;
}
'''
		result = classify(core, _support.HEADER, V512_DMA_IOMMU)
		self.assertIs(result.shape, Shape.TWO_ARG_HELPER)
		self.assertEqual(result.backport_first, ())

	def test_convertible_trees_have_nothing_to_backport_first(self) -> None:
		self.assertEqual(classify(_support.ONE_ARG_CORE, _support.HEADER).backport_first, ())


class PlacesTest(unittest.TestCase):

	def test_still_asks_only_for_places_that_ask(self) -> None:
		places = [probe.Place('a.c', 1, 'iommu_probe_device', probe.ATTACHES_WITHOUT_HELPER),
			  probe.Place('a.c', 2, 'f'), probe.Place('a.c', 3, 'g')]
		self.assertEqual(probe.describe_places(places),
				 'still asks at a.c:2 (f), a.c:3 (g); a.c:1 (iommu_probe_device) '
				 'attaches the default domain without the first-attach helper')
		self.assertEqual(probe.describe_places(places[:1]),
				 'a.c:1 (iommu_probe_device) attaches the default domain without '
				 'the first-attach helper')

	def test_leftovers_say_what_each_place_does(self) -> None:
		core = '''int iommu_probe_device(struct device *dev)
{
	return __iommu_attach_device(group->default_domain, dev);
}
''' + BEFORE_FIX_CORE
		places = sorted((p.line, p.function, p.what) for p in probe.leftovers(core))
		self.assertEqual(places, [
			(1, 'iommu_probe_device', probe.ATTACHES_WITHOUT_HELPER),
			(5, '__iommu_attach_device', probe.ATTACH_KEEPS_FLAG),
			(10, '__iommu_attach_device', probe.ASKS)])

	def test_comment_lines_are_not_calls(self) -> None:
		text = 'int f(void)\n{\n\t/*\n\t * iommu_is_attach_deferred() is gone\n\t */\n' \
		       '\treturn 0;\n}\n'
		self.assertEqual(probe.find_sites('a.c', text), [])


class ProbeOutputTest(unittest.TestCase):
	"""probe on the refused golden trees: exit 0, the commits in text and JSON."""

	CASES = {
		'before-bd421264ed30-v5.7': ('needs_earlier_fix', [FIX]),
		'vendor-v5.4-iommu-param-partial-header': ('not_applicable', [DEV_IOMMU, FIX]),
		'mixed-dma-iommu-v5.12-core-v5.10': ('inconsistent', [CORE_ATTACH]),
		'no-dev-iommu-v5.4': ('not_applicable', [DEV_IOMMU, FIX]),
		'no-dev-iommu-v5.6-two-arg': ('not_applicable', [DEV_IOMMU]),
		'one-arg-helper': ('one_arg_helper', []),
	}

	def test_json(self) -> None:
		for case, (shape, first) in self.CASES.items():
			done = run('probe', '--json', str(_commands.golden_tree(case)))
			self.assertEqual(done.returncode, 0, done.stderr)
			data = json.loads(done.stdout)
			self.assertEqual(data['shape'], shape, case)
			self.assertEqual([(c['commit'], c['title']) for c in data['backport_first']],
					 first, case)
			for place in data['old_form']:
				self.assertIn(place['what'], (probe.ASKS, probe.ATTACHES_WITHOUT_HELPER,
							      probe.ATTACH_KEEPS_FLAG))

	def test_text(self) -> None:
		for case, (_shape, first) in self.CASES.items():
			done = run('probe', str(_commands.golden_tree(case)))
			self.assertEqual(done.returncode, 0, done.stderr)
			want = ', '.join(f'{sha} ("{title}")' for sha, title in first) or '-'
			self.assertIn(f'\nbackport first: {want}\n', done.stdout, case)

	def test_refusal_and_probe_agree(self) -> None:
		for case, (_shape, first) in self.CASES.items():
			if not first:
				continue
			refusal = run('diff', str(_commands.golden_tree(case)))
			self.assertEqual(refusal.returncode, 1, case)
			reason = json.loads(run('probe', '--json',
						str(_commands.golden_tree(case))).stdout)['reason']
			self.assertTrue(refusal.stderr.rstrip('\n').endswith(reason), case)
			for sha, _title in first:
				self.assertIn(sha, refusal.stderr, case)


if __name__ == '__main__':
	unittest.main()
