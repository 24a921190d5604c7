"""Every semantic patch is keyed on its '// Keywords:' in every mode.

Coccinelle 1.1.1 infers, from the rules, which tokens a file must hold to be
worth parsing; a rule or script that escapes the key (a script without a
keyed metavariable, more than five differently keyed rules, a dropped
match) makes it parse every file of a whole tree.  spatch says which
tokens it expects when it skips a file that lacks them; that must be
exactly the patch's keyword, in patch, report, context and org mode.  The
plan relies on the same keyword to choose the files of each patch.
"""

import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'scripts'))

from dattach.plan import COCCI_DIR, SERIES, keywords, make_plan  # noqa: E402

MODES = ('patch', 'report', 'context', 'org')


class KeysTest(unittest.TestCase):
	def test_every_patch_names_its_keywords(self) -> None:
		for name in SERIES:
			with self.subTest(cocci=name):
				self.assertTrue(keywords(COCCI_DIR / name),
						f'{name} has no // Keywords: line')

	def test_spatch_expects_exactly_the_keywords_in_every_mode(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			plain = Path(tmp) / 'plain.c'
			plain.write_text('int plain(void)\n{\n\treturn 0;\n}\n')
			for name in SERIES:
				cocci = COCCI_DIR / name
				for mode in MODES:
					with self.subTest(cocci=name, mode=mode):
						done = subprocess.run(
							['spatch', '--sp-file', str(cocci), '-D', mode,
							 '--no-includes', '--include-headers', str(plain)],
							capture_output=True, text=True, check=False,
							cwd=tmp)
						match = re.search(r'Expected tokens (.*)$', done.stderr,
								  re.MULTILINE)
						self.assertIsNotNone(
							match, f'{name} -D {mode} is not keyed '
							f'(spatch would parse every file):\n{done.stderr[-600:]}')
						assert match is not None
						expected = set(match.group(1).split())
						self.assertEqual(expected, set(keywords(cocci)))


class PlanTest(unittest.TestCase):
	def test_each_patch_gets_only_files_holding_its_keywords(self) -> None:
		texts = {
			'include/linux/iommu.h': 'struct dev_iommu {\n\tvoid *priv;\n};\n'
						 'bool (*is_attach_deferred)(struct device *dev);\n',
			'drivers/iommu/iommu.c': 'static bool iommu_is_attach_deferred(struct device *dev)\n'
						 '{ return ops->is_attach_deferred(dev); }\n',
			'drivers/misc/unrelated.c': 'int amd_iommu_is_attach_deferred_count;\n',
		}
		plan = make_plan(sorted(texts), texts.get)
		files = {step.cocci.name: step.files for step in plan.steps}
		self.assertEqual(files['dev_iommu_attach_deferred.cocci'], ['include/linux/iommu.h'])
		self.assertEqual(files['iommu_dma_first_attach.cocci'], ['drivers/iommu/iommu.c'])
		# Whole words: amd_iommu_is_attach_deferred_count is no key.
		self.assertEqual(files['attach_deferred_flag_readers.cocci'],
				 ['drivers/iommu/iommu.c', 'include/linux/iommu.h'])
		self.assertEqual(plan.files, ['drivers/iommu/iommu.c', 'include/linux/iommu.h'])
		self.assertEqual([s.cocci.name for s in plan.steps_for('drivers/iommu/iommu.c')],
				 ['iommu_dma_first_attach.cocci', 'attach_deferred_flag_readers.cocci'])


if __name__ == '__main__':
	unittest.main()
