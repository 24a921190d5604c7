"""`report` and `probe` on golden trees."""

import json
import re
import unittest

import _commands
from _commands import run

REPORT_LINE = re.compile(r'^(?P<path>[\w./-]+):(?P<line>\d+):\d+-\d+: (?P<message>.+)$')


class ReportTest(unittest.TestCase):

	def test_one_arg_helper_lists_file_line_messages(self) -> None:
		kdir = _commands.golden_tree('one-arg-helper')
		done = run('report', str(kdir))
		self.assertEqual(done.returncode, 0, done.stderr)
		lines = done.stdout.splitlines()
		self.assertTrue(lines)
		for line in lines:
			match = REPORT_LINE.match(line)
			self.assertIsNotNone(match, line)
			assert match is not None
			self.assertTrue((kdir / match['path']).is_file(), line)
		paths = {REPORT_LINE.match(l)['path'] for l in lines}  # type: ignore[index]
		self.assertEqual(paths, {'drivers/iommu/iommu.c', 'include/linux/iommu.h'})
		# The check the change is named for, at its line.
		source = (kdir / 'drivers/iommu/iommu.c').read_text().splitlines()
		detach = [l for l in lines if '__iommu_detach_device()' in l]
		self.assertEqual(len(detach), 1)
		number = int(REPORT_LINE.match(detach[0])['line'])  # type: ignore[index]
		self.assertIn('iommu_is_attach_deferred(', source[number - 1])
		self.assertRegex(done.stderr, rf'^linux [\d.]+: [^\n]*: {len(lines)} places to convert\n$')

	def test_json(self) -> None:
		done = run('report', '--json', str(_commands.golden_tree('one-arg-helper')))
		self.assertEqual(done.returncode, 0, done.stderr)
		data = json.loads(done.stdout)
		self.assertEqual(data['shape'], 'one_arg_helper')
		self.assertTrue(all({'path', 'line', 'columns', 'message', 'cocci'} <= set(site)
				    for site in data['sites']))
		text = run('report', str(_commands.golden_tree('one-arg-helper'))).stdout
		self.assertEqual([f'{s["path"]}:{s["line"]}:{s["columns"]}: {s["message"]}'
				  for s in data['sites']], text.splitlines())

	def test_converted_tree_reports_nothing(self) -> None:
		done = run('report', str(_commands.golden_tree('already-converted-v6.3')))
		self.assertEqual(done.returncode, 0, done.stderr)
		self.assertEqual(done.stdout, '')
		self.assertRegex(done.stderr, r'already converted[^\n]*: nothing to report\n$')


class ProbeTest(unittest.TestCase):

	def test_text_names_shape_version_and_sites(self) -> None:
		kdir = _commands.golden_tree('one-arg-helper')
		done = run('probe', str(kdir))
		self.assertEqual(done.returncode, 0, done.stderr)
		self.assertIn(f'tree:       {kdir}\n', done.stdout)
		self.assertIn('version:    6.1.0\n', done.stdout)
		self.assertRegex(done.stdout, r'\nshape:      one-argument helper[^\n]*\n')
		self.assertRegex(done.stdout, r'\n  drivers/iommu/iommu\.c:\d+ '
				 r'\(__iommu_detach_device\): if \(iommu_is_attach_deferred\(dev\)\)\n')
		self.assertRegex(done.stdout, r'\nold form: +\d+ places')

	def test_json(self) -> None:
		done = run('probe', '--json', str(_commands.golden_tree('two-arg-helper-v5.10')))
		self.assertEqual(done.returncode, 0, done.stderr)
		data = json.loads(done.stdout)
		self.assertEqual(data['version'], '5.10.0')
		self.assertEqual(data['shape'], 'two_arg_dma_iommu')
		self.assertTrue(data['convertible'])
		self.assertIn('drivers/iommu/dma-iommu.c', data['candidates'])
		self.assertIn('__iommu_detach_device', [s['function'] for s in data['sites']])
		self.assertTrue(data['old_form'])

	def test_refused_shape_is_still_an_answer(self) -> None:
		for case in ('no-dev-iommu-v5.4', 'already-converted-v6.3'):
			done = run('probe', '--json', str(_commands.golden_tree(case)))
			self.assertEqual(done.returncode, 0, f'{case}: {done.stderr}')
			data = json.loads(done.stdout)
			self.assertFalse(data['convertible'], case)
			self.assertEqual(data['old_form'] == [], case.startswith('already'), case)

	def test_not_a_tree(self) -> None:
		done = run('probe', '/nonexistent/linux')
		self.assertEqual(done.returncode, 2)


if __name__ == '__main__':
	unittest.main()
