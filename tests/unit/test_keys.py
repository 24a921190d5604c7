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

from dattach.plan import COCCI_DIR, KEY_FORMS, SERIES, keywords, make_plan  # noqa: E402

MODES = ('patch', 'report', 'context', 'org')


class KeysTest(unittest.TestCase):
	def test_every_patch_names_its_keywords(self) -> None:
		for name in SERIES:
			with self.subTest(cocci=name):
				self.assertTrue(keywords(COCCI_DIR / name),
						f'{name} has no // Keywords: line')
				self.assertIn(name, KEY_FORMS, f'the plan has no key form for {name}')

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
		# The op read through a pointer; iommu.h only declares it, and
		# amd_iommu_is_attach_deferred_count is no key at all.
		self.assertEqual(files['attach_deferred_flag_readers.cocci'],
				 ['drivers/iommu/iommu.c'])
		self.assertEqual(plan.files, ['drivers/iommu/iommu.c', 'include/linux/iommu.h'])
		self.assertEqual([s.cocci.name for s in plan.steps_for('drivers/iommu/iommu.c')],
				 ['iommu_dma_first_attach.cocci', 'attach_deferred_flag_readers.cocci'])


class KeyFormTest(unittest.TestCase):
	"""The plan skips a file that names a patch's keyword only in another
	form than its key rule needs: on every golden tree and on Debian's
	6.1, spatch changes nothing in any file so skipped."""

	def _skipped(self, root: Path) -> list[tuple[str, Path]]:
		"""(patch, file) where the file names the patch's keyword as a
		word but the plan gives the patch no such file."""
		found = []
		for path in sorted(root.rglob('*.[ch]')):
			text = path.read_text(encoding='utf-8', errors='replace')
			plan = make_plan(['f'], lambda _: text)
			for step in plan.steps:
				words = keywords(step.cocci)
				if not step.files and any(re.search(rf'\b{w}\b', text) for w in words):
					found.append((step.cocci.name, path))
		return found

	def _assert_unchanged(self, root: Path) -> int:
		count = 0
		for name, path in self._skipped(root):
			with self.subTest(cocci=name, file=str(path.relative_to(root))):
				done = subprocess.run(
					['spatch', '--sp-file', str(COCCI_DIR / name), '-D', 'patch',
					 '--very-quiet', '--no-includes', '--include-headers', str(path)],
					capture_output=True, text=True, check=False)
				self.assertEqual(done.returncode, 0, done.stderr[-400:])
				self.assertEqual(done.stdout, '', 'the plan skipped a file spatch changes')
				count += 1
		return count

	def test_golden_trees(self) -> None:
		golden = Path(__file__).resolve().parents[1] / 'golden'
		checked = sum(self._assert_unchanged(case / 'tree')
			      for case in sorted(golden.glob('*')) if (case / 'tree').is_dir())
		self.assertGreater(checked, 0, 'no golden file names a keyword in another form')

	def test_debian_61_iommu(self) -> None:
		from dattach import tree
		kernel = tree.ensure_debian_source('6.1')
		checked = 0
		for sub in ('drivers/iommu', 'include/linux/iommu.h'):
			root = kernel.path / sub
			if root.is_file():
				with tempfile.TemporaryDirectory() as tmp:
					copy = Path(tmp) / root.name
					copy.write_bytes(root.read_bytes())
					checked += self._assert_unchanged(Path(tmp))
			else:
				checked += self._assert_unchanged(root)
		# amd/iommu.c and intel/iommu.c set the op; iommu.h declares it.
		self.assertGreaterEqual(checked, 3)


if __name__ == '__main__':
	unittest.main()
