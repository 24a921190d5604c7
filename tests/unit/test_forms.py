"""`backport --format android|quilt`: the Android Common Kernel commit and
the DEP-3 quilt patch of golden trees, checked here by git am and quilt
push of our own, and what stops them."""

import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
from pathlib import Path

import _commands
import _support
from _commands import SIGNOFF, run
from dattach import forms, mail

UPSTREAM = 'dd8a25c557e109f868430bd2e3e8f394cb40eaa7'
SUBJECT = 'iommu: Remove deferred attach check from __iommu_detach_device()'
CHAIN = ['Signed-off-by: Jason Gunthorpe <jgg@nvidia.com>',
	 'Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>',
	 'Link: https://lore.kernel.org/r/20230110025408.667767-5-baolu.lu@linux.intel.com',
	 'Signed-off-by: Joerg Roedel <jroedel@suse.de>']
CHANGE_ID = re.compile(r'^Change-Id: (I[0-9a-f]{40})$', re.MULTILINE)
CASES = ('one-arg-helper', 'two-arg-helper-v5.10')
TOUCHED = {'one-arg-helper': ('drivers/iommu/iommu.c', 'include/linux/iommu.h'),
	   'two-arg-helper-v5.10': ('drivers/iommu/dma-iommu.c', 'drivers/iommu/iommu.c',
				    'include/linux/iommu.h')}


def backport(kdir: Path, out: Path, *args: str,
	     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
	return run('backport', str(kdir), '--out', str(out), '--signoff', SIGNOFF,
		   '--checkpatch', str(_commands.debian_checkpatch()), *args, env=env)


def only_file(out: Path) -> Path:
	paths = sorted(out.iterdir())
	if len(paths) != 1:
		raise AssertionError(f'wrote {paths}')
	return paths[0]


class AndroidTest(unittest.TestCase):
	"""One Android commit per golden case, made once (with --bug)."""

	tmp: tempfile.TemporaryDirectory[str]
	patches: dict[str, Path] = {}
	stderr: dict[str, str] = {}

	@classmethod
	def setUpClass(cls) -> None:
		cls.tmp = tempfile.TemporaryDirectory(prefix='dattach-android.')
		for case in CASES:
			out = Path(cls.tmp.name) / case
			done = backport(_commands.golden_tree(case), out, '--format', 'android',
					'--bug', '123456')
			if done.returncode != 0:
				raise AssertionError(f'{case}: {done.returncode} {done.stderr}')
			cls.patches[case] = only_file(out)
			cls.stderr[case] = done.stderr

	@classmethod
	def tearDownClass(cls) -> None:
		cls.tmp.cleanup()

	def message(self, case: str) -> str:
		text = self.patches[case].read_text()
		return text.split('\n\n', 1)[1].split('\n---\n', 1)[0]

	def test_subject_is_tagged_backport_where_lines_differ_from_upstream(self) -> None:
		for case in CASES:
			text = self.patches[case].read_text()
			subject = re.search(r'^Subject: (.*(?:\n .*)*)$', text, re.MULTILINE)
			assert subject is not None
			self.assertEqual(' '.join(subject.group(1).split('\n ')),
					 f'[PATCH] BACKPORT: {SUBJECT}', case)
			self.assertTrue(self.patches[case].name.startswith('0001-BACKPORT-iommu-'))

	def test_footer_in_the_order_the_ack_readme_gives(self) -> None:
		for case in CASES:
			paragraphs = self.message(case).split('\n\n')
			self.assertEqual(paragraphs[-2].splitlines(), CHAIN, case)
			footer = paragraphs[-1].splitlines()
			self.assertEqual(footer[0], 'Bug: 123456')
			self.assertRegex(footer[1], CHANGE_ID)
			self.assertEqual(footer[2], f'(cherry picked from commit {UPSTREAM})')
			self.assertTrue(footer[3].startswith('[ Test Backporter: '), footer)
			self.assertTrue(footer[-2].endswith(' ]'), footer)
			self.assertEqual(footer[-1], f'Signed-off-by: {SIGNOFF}')

	def test_note_says_what_was_adapted(self) -> None:
		note = ' '.join(self.message('two-arg-helper-v5.10').split('\n\n')[-1]
				.splitlines()[3:-1])
		self.assertIn('adapted to this tree: kept this tree\'s two-argument', note)
		self.assertIn('dma-iommu.c', note)
		plain = ' '.join(self.message('one-arg-helper').split('\n\n')[-1]
				 .splitlines()[3:-1])
		self.assertEqual(plain, "[ Test Backporter: the same change made on this "
				 "tree's code; its +/- lines differ from upstream's. ]")

	def test_checks_ran_and_only_gerrit_and_commit_ids_are_ignored(self) -> None:
		for case in CASES:
			self.assertIn('deferred_attach: checked: git am\n', self.stderr[case])
			self.assertIn('deferred_attach: checked: checkpatch --strict: total: 0 errors, '
				      '0 warnings, 0 checks', self.stderr[case])
		checkpatch = _commands.debian_checkpatch()
		patch = self.patches['one-arg-helper']
		for ignore, total in (('GIT_COMMIT_ID,UNKNOWN_COMMIT_ID,GERRIT_CHANGE_ID',
				       'total: 0 errors, 0 warnings, 0 checks'),
				      # Without GERRIT_CHANGE_ID, the Change-Id is the
				      # one thing checkpatch has to say.
				      ('GIT_COMMIT_ID,UNKNOWN_COMMIT_ID',
				       'total: 1 errors, 0 warnings, 0 checks')):
			done = subprocess.run(['perl', str(checkpatch), '--strict', '--ignore', ignore,
					       f'--root={checkpatch.parent.parent}', str(patch)],
					      capture_output=True, text=True, check=False)
			self.assertIn(total, done.stdout, ignore)
		self.assertIn("Gerrit Change-Id", done.stdout)

	def test_git_am_gives_the_expected_result(self) -> None:
		for case in CASES:
			with tempfile.TemporaryDirectory() as tmp:
				work = _commands.git_repo(_commands.copy_tree(case, Path(tmp) / 'tree'))
				_commands.git(work, 'am', '-q', str(self.patches[case]))
				want = _commands.expected_files(case, Path(tmp) / 'want')
				log = _commands.git(work, 'log', '-1', '--format=%an%n%s%n%b')
				self.assertTrue(log.startswith(f'Jason Gunthorpe\nBACKPORT: {SUBJECT}\n'))
				self.assertRegex(log, CHANGE_ID)
				for rel in TOUCHED[case]:
					self.assertEqual((work / rel).read_bytes(),
							 (want / rel).read_bytes(), f'{case}: {rel}')

	def test_change_id_is_the_same_on_a_rerun_and_differs_between_trees(self) -> None:
		ids = {case: CHANGE_ID.findall(self.patches[case].read_text()) for case in CASES}
		self.assertEqual(len(set(i for found in ids.values() for i in found)), 2, ids)
		with tempfile.TemporaryDirectory() as tmp:
			# Same tree, again, without --bug: the same review.
			again = backport(_commands.golden_tree('one-arg-helper'), Path(tmp) / 'again',
					 '--format', 'android')
			self.assertEqual(again.returncode, 0, again.stderr)
			self.assertEqual(CHANGE_ID.findall(only_file(Path(tmp) / 'again').read_text()),
					 ids['one-arg-helper'])
			# The same tree with one more line in iommu.c: another tree.
			kdir = _commands.copy_tree('one-arg-helper', Path(tmp) / 'tree')
			core = kdir / 'drivers/iommu/iommu.c'
			core.write_text(core.read_text() + '\n/* vendor */\n')
			other = backport(kdir, Path(tmp) / 'other', '--format', 'android')
			self.assertEqual(other.returncode, 0, other.stderr)
			found = CHANGE_ID.findall(only_file(Path(tmp) / 'other').read_text())
			self.assertEqual(len(found), 1)
			self.assertNotEqual(found, ids['one-arg-helper'])


class QuiltTest(unittest.TestCase):
	"""One DEP-3 patch per golden case, made once, on a fixed date."""

	tmp: tempfile.TemporaryDirectory[str]
	patches: dict[str, Path] = {}
	stderr: dict[str, str] = {}

	@classmethod
	def setUpClass(cls) -> None:
		cls.tmp = tempfile.TemporaryDirectory(prefix='dattach-quilt.')
		for case in CASES:
			out = Path(cls.tmp.name) / case
			# 2023-02-21 12:00 UTC: Last-Update is SOURCE_DATE_EPOCH's day.
			done = backport(_commands.golden_tree(case), out, '--format', 'quilt',
					env={'SOURCE_DATE_EPOCH': '1676980800'})
			if done.returncode != 0:
				raise AssertionError(f'{case}: {done.returncode} {done.stderr}')
			cls.patches[case] = only_file(out)
			cls.stderr[case] = done.stderr

	@classmethod
	def tearDownClass(cls) -> None:
		cls.tmp.cleanup()

	def test_dep3_header(self) -> None:
		name = 'iommu-remove-deferred-attach-check-from-__iommu_detach_device.patch'
		for case in CASES:
			self.assertEqual(self.patches[case].name, name)
			header = self.patches[case].read_text().split('\n\n', 1)[0]
			# Reduced trees: lines not upstream's, so a backport.
			self.assertEqual(header.splitlines(), [
				'From: Jason Gunthorpe <jgg@nvidia.com>',
				f'Subject: {SUBJECT}',
				f'Origin: backport, https://git.kernel.org/linus/{UPSTREAM}',
				'Forwarded: not-needed',
				'Applied-Upstream: v6.3',
				'Last-Update: 2023-02-21'])
			self.assertTrue(self.stderr[case].endswith(
				f'deferred_attach: add to debian/patches/series: {name}\n'),
				self.stderr[case])
			self.assertIn('deferred_attach: checked: quilt push: ', self.stderr[case])

	def test_body_has_note_chain_diffstat_and_diff(self) -> None:
		text = self.patches['two-arg-helper-v5.10'].read_text()
		message, rest = text.split('\n\n', 1)[1].split('\n---\n', 1)
		paragraphs = message.split('\n\n')
		self.assertEqual(paragraphs[-1].splitlines(), CHAIN + [f'Signed-off-by: {SIGNOFF}'])
		self.assertTrue(paragraphs[-2].startswith('[ Test Backporter: adapted to this '
							  'tree: '), paragraphs[-2])
		self.assertRegex(rest, r'^( \S+ +\| +\d+ [+-]+\n)+ 3 files changed, ')
		self.assertIn('\ndiff --git a/drivers/iommu/iommu.c b/drivers/iommu/iommu.c\n', rest)
		self.assertFalse(text.endswith('-- \n'), 'a mail signature in a patch')
		self.assertNotRegex(text, r'\n-- \n\d')

	def test_quilt_push_onto_a_copy_gives_the_expected_result(self) -> None:
		for case in CASES:
			with tempfile.TemporaryDirectory() as tmp:
				work = _commands.copy_tree(case, Path(tmp) / 'tree')
				patches = work / 'debian' / 'patches'
				patches.mkdir(parents=True)
				shutil.copy(self.patches[case], patches)
				(patches / 'series').write_text(self.patches[case].name + '\n')
				done = subprocess.run(['quilt', '--quiltrc', '-', 'push', '-a',
						       '--fuzz=0'], cwd=work, capture_output=True,
						      text=True, check=False,
						      env=dict(os.environ, QUILT_PATCHES='debian/patches'))
				self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
				self.assertNotIn('fuzz', done.stdout)
				want = _commands.expected_files(case, Path(tmp) / 'want')
				for rel in TOUCHED[case]:
					self.assertEqual((work / rel).read_bytes(),
							 (want / rel).read_bytes(), f'{case}: {rel}')

	def test_failed_quilt_push_writes_nothing(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			bindir = Path(tmp) / 'bin'
			bindir.mkdir()
			fake = bindir / 'quilt'
			fake.write_text('#!/bin/sh\necho "Hunk #1 FAILED at 1."\nexit 1\n')
			fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
			out = Path(tmp) / 'out'
			done = backport(_commands.golden_tree('one-arg-helper'), out,
					'--format', 'quilt',
					env={'PATH': f'{bindir}:{os.environ["PATH"]}'})
			self.assertEqual(done.returncode, 4, done.stderr)
			self.assertRegex(done.stderr, r'^deferred_attach: error: quilt push: the patch '
					 r'does not apply to linux 6\.1\.0: [^\n]*FAILED[^\n]*\n$')
			self.assertEqual(done.stdout, '')
			self.assertFalse(out.exists())


class FormOptionTest(unittest.TestCase):

	def test_bad_bug_and_bug_without_android(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			kdir = str(_commands.golden_tree('one-arg-helper'))
			for args, why in ((['--format', 'android', '--bug', 'b/12'],
					   "--bug 'b/12': not a bug number"),
					  (['--format', 'quilt', '--bug', '12'],
					   '--bug is for --format android, not quilt'),
					  (['--bug', '12'], '--bug is for --format android, not mail')):
				done = run('backport', kdir, '--out', str(out), '--signoff', SIGNOFF,
					   *args)
				self.assertEqual(done.returncode, 2, args)
				self.assertEqual(done.stderr, f'deferred_attach: error: {why}\n')
				self.assertFalse(out.exists())

	def test_refused_tree_writes_nothing_in_any_form(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			for form in ('android', 'quilt'):
				out = Path(tmp) / form
				done = run('backport', str(_commands.golden_tree('before-bd421264ed30-v5.7')),
					   '--out', str(out), '--signoff', SIGNOFF, '--format', form)
				self.assertEqual(done.returncode, 1, done.stderr)
				self.assertRegex(done.stderr, r'^deferred_attach: error: linux 5\.7\.0: '
						 r'[^\n]*backport bd421264ed30 first\n$')
				self.assertEqual(done.stdout, '')
				self.assertFalse(out.exists())

	def test_unknown_format_is_a_usage_error(self) -> None:
		done = run('backport', '--format', 'rpm', '/nonexistent')
		self.assertEqual(done.returncode, 2)
		self.assertIn("invalid choice: 'rpm'", done.stderr)

	def test_many_trees_record_the_form(self) -> None:
		trees = [str(_commands.golden_tree(case)) for case in CASES]
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', *trees, '/nonexistent/linux', '--out', str(out),
				   '--jobs', '2', '--signoff', SIGNOFF, '--format', 'quilt',
				   '--checkpatch', str(_commands.debian_checkpatch()))
			self.assertEqual(done.returncode, 2, done.stderr)
			summary = json.loads((out / 'summary.json').read_text())
			self.assertEqual([t['format'] for t in summary['trees']], ['quilt'] * 3)
			self.assertEqual([t['outcome'] for t in summary['trees']],
					 ['mail written', 'mail written', 'failed'])
			name = 'iommu-remove-deferred-attach-check-from-__iommu_detach_device.patch'
			self.assertEqual([t['series'] for t in summary['trees']], [name, name, None])
			for folder in ('linux-5.10.0', 'linux-6.1.0'):
				self.assertEqual([p.name for p in (out / folder).iterdir()], [name])

	def test_default_form_is_the_mail(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', str(_commands.golden_tree('one-arg-helper')),
				   str(_commands.golden_tree('two-arg-helper-v5.10')), '--out', str(out),
				   '--signoff', SIGNOFF, '--checkpatch', str(_commands.debian_checkpatch()))
			self.assertEqual(done.returncode, 0, done.stderr)
			summary = json.loads((out / 'summary.json').read_text())
			self.assertEqual([t['format'] for t in summary['trees']], ['mail', 'mail'])


class UpstreamLinesTest(unittest.TestCase):

	def test_the_tools_copy_is_the_real_tree_tests_expectation(self) -> None:
		tool = forms.UPSTREAM_DIR / 'dd8a25c557e1.pm-lines'
		test = _support.REPO / 'tests' / 'real' / 'upstream-dd8a25c557e1.pm-lines'
		self.assertEqual(tool.read_bytes(), test.read_bytes())
		self.assertEqual(forms.upstream_lines(mail.DD8A25C557E1),
				 test.read_text().splitlines())

	def test_plus_minus_lines_leave_out_file_headers(self) -> None:
		diff = ('diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n'
			'@@ -1,2 +1,2 @@\n a\n-b\n+c\n--- d\n')
		self.assertEqual(forms.plus_minus_lines(diff), ['-b', '+c', '--- d'])

	def test_quilt_name(self) -> None:
		self.assertEqual(forms.quilt_name(mail.DD8A25C557E1),
				 'iommu-remove-deferred-attach-check-from-__iommu_detach_device.patch')


if __name__ == '__main__':
	unittest.main()
