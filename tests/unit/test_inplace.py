"""`apply`: all or nothing, in place."""

import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import _commands
from _commands import run, snapshot
from dattach import inplace

CASE = 'one-arg-helper'
TOUCHED = ('drivers/iommu/iommu.c', 'include/linux/iommu.h')


class ApplyTest(unittest.TestCase):

	def setUp(self) -> None:
		self.tmp = tempfile.TemporaryDirectory(prefix='dattach-apply.')
		self.kdir = _commands.git_repo(_commands.copy_tree(CASE, Path(self.tmp.name) / 'tree'))
		self.before = snapshot(self.kdir)

	def tearDown(self) -> None:
		for path in self.kdir.rglob('*'):
			if path.is_file():
				path.chmod(path.stat().st_mode | stat.S_IWUSR)
		self.tmp.cleanup()

	def assert_untouched(self) -> None:
		self.assertEqual(snapshot(self.kdir), self.before)

	def test_converts_then_second_run_is_a_no_op(self) -> None:
		done = run('apply', str(self.kdir))
		self.assertEqual(done.returncode, 0, done.stderr)
		self.assertEqual(done.stdout.split(), list(TOUCHED))
		self.assertRegex(done.stderr, r'2 files converted in place\n$')
		want = _commands.expected_files(CASE, Path(self.tmp.name) / 'want')
		for rel in TOUCHED:
			self.assertEqual((self.kdir / rel).read_bytes(), (want / rel).read_bytes(), rel)
		converted = snapshot(self.kdir)
		self.assertEqual(converted.keys(), self.before.keys())	# no stray files
		again = run('apply', str(self.kdir))
		self.assertEqual(again.returncode, 0, again.stderr)
		self.assertEqual(again.stdout, '')
		self.assertIn('already converted', again.stderr)
		self.assertEqual(snapshot(self.kdir), converted)

	def test_interrupted_after_the_first_rename(self) -> None:
		done = run('apply', str(self.kdir), env={inplace.FAIL_AFTER_ENV: '1'})
		self.assertEqual(done.returncode, 130, done.stderr)
		self.assertIn('interrupted: every file is as it was', done.stderr)
		self.assert_untouched()

	def test_full_disk_during_the_renames(self) -> None:
		done = run('apply', str(self.kdir), env={inplace.FAIL_AFTER_ENV: '1:ENOSPC'})
		self.assertEqual(done.returncode, 3)
		self.assertRegex(done.stderr, r'^deferred_attach: error: could not write the '
				 r'converted files \([^\n]*No space left on device\); every '
				 r'file is as it was\n$')
		self.assert_untouched()

	def test_full_disk_while_writing_the_new_files(self) -> None:
		# The first new file half written, then the second: the disk
		# fills up with a temp file on disk and no rename done yet.
		for number in (1, 2):
			with self.subTest(file=number):
				done = run('apply', str(self.kdir),
					   env={inplace.FAIL_AFTER_ENV: f'write:{number}:ENOSPC'})
				self.assertEqual(done.returncode, 3, done.stderr)
				self.assertRegex(done.stderr, r'^deferred_attach: error: could not write '
						 r'the converted files \([^\n]*No space left on device\); '
						 r'every file is as it was\n$')
				self.assert_untouched()

	def _sigint_at(self, where: str) -> subprocess.CompletedProcess[str]:
		"""Run `apply` as a process, stop it at `where` (inplace.PAUSE_ENV)
		and send it a real SIGINT there."""
		env = dict(os.environ, LC_ALL='C', **{inplace.PAUSE_ENV: where},
			   GIT_CEILING_DIRECTORIES=str(_commands.REPO_CACHE))
		proc = subprocess.Popen([sys.executable, str(_commands.CLI), 'apply',
					 str(self.kdir)], stdout=subprocess.PIPE,
					stderr=subprocess.PIPE, text=True, env=env)
		assert proc.stderr is not None and proc.stdout is not None
		seen = []
		try:
			for line in proc.stderr:
				seen.append(line)
				if 'test hook: paused' in line:
					# Mid-transaction: the new files (or some of
					# them) are on disk next to the originals.
					self.assertTrue(list(self.kdir.rglob('*.dattach-new')) or
							where.startswith('rename'), seen)
					proc.send_signal(signal.SIGINT)
					break
			else:
				proc.kill()
				self.fail(f'apply never reached {where}: {"".join(seen)}')
			stdout, stderr = proc.communicate(timeout=60)
		finally:
			if proc.poll() is None:
				proc.kill()
				proc.wait()
		return subprocess.CompletedProcess(proc.args, proc.returncode, stdout,
						   ''.join(seen) + stderr)

	def test_real_sigint_while_writing_the_new_files(self) -> None:
		for where in ('write:1', 'write:2'):
			with self.subTest(where=where):
				done = self._sigint_at(where)
				self.assertEqual(done.returncode, 130, done.stderr)
				self.assertIn('interrupted: every file is as it was', done.stderr)
				self.assertEqual(done.stdout, '')
				self.assert_untouched()

	def test_real_sigint_between_the_renames(self) -> None:
		done = self._sigint_at('rename:1')
		self.assertEqual(done.returncode, 130, done.stderr)
		self.assertIn('interrupted: every file is as it was', done.stderr)
		self.assert_untouched()

	def test_read_only_file(self) -> None:
		header = self.kdir / 'include/linux/iommu.h'
		header.chmod(0o444)
		self.before = snapshot(self.kdir)
		done = run('apply', str(self.kdir))
		self.assertEqual(done.returncode, 1)
		self.assertEqual(done.stderr, 'deferred_attach: error: read-only: '
				 'include/linux/iommu.h; nothing was changed\n')
		self.assert_untouched()

	def test_dirty_git_tree_refused_unless_forced(self) -> None:
		header = self.kdir / 'include/linux/iommu.h'
		header.write_text(header.read_text() + '/* local change */\n')
		self.before = snapshot(self.kdir)
		done = run('apply', str(self.kdir))
		self.assertEqual(done.returncode, 1)
		self.assertEqual(done.stderr, 'deferred_attach: error: uncommitted changes in '
				 'include/linux/iommu.h: commit or stash them, or pass '
				 '--force; nothing was changed\n')
		self.assert_untouched()
		forced = run('apply', '--force', str(self.kdir))
		self.assertEqual(forced.returncode, 0, forced.stderr)
		self.assertTrue(header.read_text().endswith('/* local change */\n'))
		self.assertIn('attach_deferred:1;', header.read_text())


class ReplaceAllTest(unittest.TestCase):
	"""The transaction itself, with faults injected after each rename."""

	def test_any_failure_restores_every_original(self) -> None:
		for fail_after in (1, 2, 3):
			with tempfile.TemporaryDirectory() as tmp:
				root = Path(tmp)
				names = ['a.c', 'sub/b.h', 'sub/c.c']
				for name in names:
					(root / name).parent.mkdir(exist_ok=True)
					(root / name).write_text(f'old {name}\n')
				before = snapshot(root)

				def fault(done: int, at: int = fail_after) -> None:
					if done == at:
						raise OSError(errno.EROFS, 'injected')
				with self.assertRaises(OSError):
					inplace.replace_all(root, {n: b'new\n' for n in names}, fault)
				self.assertEqual(snapshot(root), before, f'fail after {fail_after}')

	def test_success_keeps_the_mode_and_leaves_nothing_behind(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			root = Path(tmp)
			(root / 'x.sh').write_text('old\n')
			(root / 'x.sh').chmod(0o750)
			written = inplace.replace_all(root, {'x.sh': b'new\n'}, lambda _: None)
			self.assertEqual(written, ['x.sh'])
			self.assertEqual((root / 'x.sh').read_bytes(), b'new\n')
			self.assertEqual(stat.S_IMODE((root / 'x.sh').stat().st_mode), 0o750)
			self.assertEqual(os.listdir(root), ['x.sh'])


if __name__ == '__main__':
	unittest.main()
