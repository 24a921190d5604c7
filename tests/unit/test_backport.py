"""`backport`: the mails of golden trees (format, git am), what stops a mail,
and the many-trees summary."""

import email
import json
import os
import re
import tempfile
import unittest
from pathlib import Path

import _commands
from _commands import SIGNOFF, run

UPSTREAM = 'dd8a25c557e109f868430bd2e3e8f394cb40eaa7'
CHAIN = ['Signed-off-by: Jason Gunthorpe <jgg@nvidia.com>',
	 'Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>',
	 'Link: https://lore.kernel.org/r/20230110025408.667767-5-baolu.lu@linux.intel.com',
	 'Signed-off-by: Joerg Roedel <jroedel@suse.de>',
	 f'Signed-off-by: {SIGNOFF}']
SUBJECT = 'iommu: Remove deferred attach check from __iommu_detach_device()'


class MailTest(unittest.TestCase):
	"""One mail per golden case, made once."""

	CASES = {'one-arg-helper': '6.1', 'two-arg-helper-v5.10': '5.10',
		 # Driver glue beside the core, and a partial backport finished:
		 # both say so in the mail.
		 'vendor-driver-glue': '6.1', 'half-converted-vendor-bool-member': '6.1'}
	tmp: tempfile.TemporaryDirectory[str]
	mails: dict[str, Path] = {}

	@classmethod
	def setUpClass(cls) -> None:
		checkpatch = _commands.debian_checkpatch()
		cls.tmp = tempfile.TemporaryDirectory(prefix='dattach-mail.')
		for case in cls.CASES:
			out = Path(cls.tmp.name) / case
			done = run('backport', str(_commands.golden_tree(case)), '--out', str(out),
				   '--signoff', SIGNOFF, '--checkpatch', str(checkpatch))
			if done.returncode != 0:
				raise AssertionError(f'backport {case}: {done.returncode} {done.stderr}')
			paths = sorted(out.iterdir())
			if len(paths) != 1:
				raise AssertionError(f'backport {case}: wrote {paths}')
			cls.mails[case] = paths[0]

	@classmethod
	def tearDownClass(cls) -> None:
		cls.tmp.cleanup()

	def test_headers_and_subject(self) -> None:
		for case, series in self.CASES.items():
			text = self.mails[case].read_text()
			self.assertTrue(text.startswith('From 0000000000000000000000000000000000000000 '),
					case)
			msg = email.message_from_string(text)
			self.assertEqual(msg['From'], 'Jason Gunthorpe <jgg@nvidia.com>')
			self.assertIsNotNone(msg['Date'])
			subject = re.sub(r'\n\s+', ' ', str(msg['Subject']))
			self.assertEqual(subject, f'[PATCH {series}.y] {SUBJECT}')

	def _body(self, case: str) -> str:
		text = self.mails[case].read_text()
		return text.split('\n\n', 1)[1]

	def test_stable_header_and_signoff_chain(self) -> None:
		for case in self.CASES:
			body = self._body(case)
			self.assertTrue(body.startswith(f'[ Upstream commit {UPSTREAM} ]\n\n'), case)
			message = body.split('\n---\n', 1)[0]
			trailers = message.rstrip('\n').split('\n\n')[-1].splitlines()
			self.assertEqual(trailers, CHAIN, case)
			self.assertTrue(all(len(line) <= 75 for line in message.splitlines()
					    if not line.startswith('Link:')), case)

	def test_diffstat_then_diff(self) -> None:
		for case in self.CASES:
			body = self._body(case)
			self.assertRegex(body, r'\n---\n( \S+ +\| +\d+ [+-]+\n)+ \d+ files? changed, ')
			self.assertIn('\ndiff --git a/drivers/iommu/iommu.c b/drivers/iommu/iommu.c\n',
				      body)

	def _note(self, case: str) -> str:
		note = re.search(r'\n\[ Test Backporter: adapted to this tree: (.*?) \]\n',
				 self._body(case), re.DOTALL)
		self.assertIsNotNone(note, f'{case}: no adaptation note')
		assert note is not None
		return ' '.join(note.group(1).split())

	def test_adapted_note_only_where_not_upstream_shape(self) -> None:
		self.assertNotIn('adapted to this tree', self._body('one-arg-helper'))
		text = self._note('two-arg-helper-v5.10')
		self.assertIn('two-argument', text)
		self.assertIn('without lockdep_assert_held()', text)
		self.assertIn('dma-iommu.c', text)
		self.assertNotIn('driver glue', text)
		self.assertNotIn('partial backport', text)

	def test_adapted_note_names_the_driver_glue(self) -> None:
		# The glue file and nothing else: the core is upstream's shape.
		self.assertEqual(self._note('vendor-driver-glue'),
				 'driver glue that asked the op reads the flag instead: '
				 'drivers/gpu/vendor/vendor_iommu_glue.c.')

	def test_adapted_note_says_the_partial_backport_was_finished(self) -> None:
		self.assertEqual(self._note('half-converted-vendor-bool-member'),
				 'finished a partial backport: half converted, one-argument '
				 'helper (v5.18 to v6.2), already has the attach_deferred member.')

	def test_git_am_gives_the_expected_result(self) -> None:
		for case in self.CASES:
			with tempfile.TemporaryDirectory() as tmp:
				work = _commands.git_repo(_commands.copy_tree(case, Path(tmp) / 'tree'))
				_commands.git(work, 'am', '-q', str(self.mails[case]))
				want = _commands.expected_files(case, Path(tmp) / 'want')
				log = _commands.git(work, 'log', '-1', '--format=%an <%ae>%n%s')
				self.assertEqual(log, f'Jason Gunthorpe <jgg@nvidia.com>\n{SUBJECT}\n')
				diff = (_commands.GOLDEN / case / 'expected.diff').read_text()
				touched = re.findall(r'^\+\+\+ b/(\S+)$', diff, re.MULTILINE)
				self.assertTrue(touched, case)
				for rel in touched:
					self.assertEqual((work / rel).read_bytes(),
							 (want / rel).read_bytes(), f'{case}: {rel}')


class StopTest(unittest.TestCase):
	"""What writes no mail, and says why in one line."""

	def test_no_identity_asks_for_signoff(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			kdir = _commands.copy_tree('one-arg-helper', Path(tmp) / 'tree')
			out = Path(tmp) / 'out'
			done = run('backport', str(kdir), '--out', str(out),
				   env={'GIT_CONFIG_GLOBAL': os.devnull, 'GIT_CONFIG_NOSYSTEM': '1',
					'HOME': tmp, 'GIT_CEILING_DIRECTORIES': tmp})
			self.assertEqual(done.returncode, 2)
			self.assertRegex(done.stderr, r'^deferred_attach: error: [^\n]*--signoff[^\n]*\n$')
			self.assertFalse(out.exists())

	def test_identity_from_git_config(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			config = Path(tmp) / 'gitconfig'
			config.write_text('[user]\n\tname = Config Person\n\temail = cp@example.org\n')
			out = Path(tmp) / 'out'
			# A copy outside this repository: the identity is read in
			# the tree, where a clone's own user.name would win.
			kdir = _commands.copy_tree('one-arg-helper', Path(tmp) / 'tree')
			done = run('backport', str(kdir),
				   '--out', str(out), '--checkpatch', str(_commands.debian_checkpatch()),
				   env={'GIT_CONFIG_GLOBAL': str(config), 'GIT_CONFIG_NOSYSTEM': '1',
					'GIT_CEILING_DIRECTORIES': tmp})
			self.assertEqual(done.returncode, 0, done.stderr)
			text = next(out.iterdir()).read_text()
			self.assertIn('\nSigned-off-by: Config Person <cp@example.org>\n---\n', text)

	def test_failed_checkpatch_writes_nothing(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			fake = Path(tmp) / 'scripts' / 'checkpatch.pl'
			fake.parent.mkdir()
			fake.write_text('print "ERROR: something\\ntotal: 1 errors, 0 warnings, '
					'0 checks, 10 lines checked\\n"; exit 1;\n')
			out = Path(tmp) / 'out'
			done = run('backport', str(_commands.golden_tree('one-arg-helper')),
				   '--out', str(out), '--signoff', SIGNOFF, '--checkpatch', str(fake))
			self.assertEqual(done.returncode, 4, done.stderr)
			self.assertIn('checkpatch --strict', done.stderr)
			self.assertFalse(out.exists())

	def test_tree_without_checkpatch_says_so(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', str(_commands.golden_tree('one-arg-helper')),
				   '--out', str(out), '--signoff', SIGNOFF)
			self.assertEqual(done.returncode, 4)
			self.assertRegex(done.stderr, r'no scripts/checkpatch\.pl[^\n]*--checkpatch')
			self.assertFalse(out.exists())

	def test_converted_tree_writes_no_mail(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', str(_commands.golden_tree('already-converted-v6.3')),
				   '--out', str(out), '--signoff', SIGNOFF)
			self.assertEqual(done.returncode, 0, done.stderr)
			self.assertIn('already converted', done.stderr)
			self.assertEqual(done.stdout, '')
			self.assertFalse(out.exists())

	def test_refused_tree(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', str(_commands.golden_tree('no-dev-iommu-v5.4')),
				   '--out', str(out), '--signoff', SIGNOFF)
			self.assertEqual(done.returncode, 1)
			self.assertRegex(done.stderr, r'^deferred_attach: error: linux [\d.]+: '
					 r'not applicable: [^\n]*\n$')
			self.assertFalse(out.exists())


class ManyTreesTest(unittest.TestCase):

	def test_summary_lists_every_tree_and_the_failure(self) -> None:
		trees = [str(_commands.golden_tree('one-arg-helper')),
			 str(_commands.golden_tree('two-arg-helper-v5.10')), '/nonexistent/linux']
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			done = run('backport', *trees, '--out', str(out), '--jobs', '2',
				   '--signoff', SIGNOFF,
				   '--checkpatch', str(_commands.debian_checkpatch()))
			self.assertNotEqual(done.returncode, 0)
			summary = json.loads((out / 'summary.json').read_text())
			self.assertEqual([t['tree'] for t in summary['trees']], trees)
			self.assertEqual([t['outcome'] for t in summary['trees']],
					 ['mail written', 'mail written', 'failed'])
			self.assertEqual(summary['failed'], 1)
			self.assertEqual(summary['trees'][1]['files_changed'],
					 ['drivers/iommu/dma-iommu.c', 'drivers/iommu/iommu.c',
					  'include/linux/iommu.h'])
			text = (out / 'summary.txt').read_text()
			self.assertEqual(done.stdout, text)
			lines = text.splitlines()
			self.assertEqual(lines[0].split(), ['tree', 'version', 'shape', 'outcome',
							    'files', 'changed'])
			for path, line in zip(trees, lines[1:4]):
				self.assertTrue(line.startswith(path), line)
			self.assertIn('failed: /nonexistent/linux: no such directory', lines[3])
			self.assertEqual(lines[-1], '3 trees, 1 failed')
			folders = sorted(p.name for p in out.iterdir() if p.is_dir())
			self.assertEqual(folders, ['linux-5.10.0', 'linux-6.1.0'])
			for folder in folders:
				self.assertEqual(len(list((out / folder).glob('0001-*.patch'))), 1)


if __name__ == '__main__':
	unittest.main()
