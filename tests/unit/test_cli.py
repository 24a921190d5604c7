"""The command line's error paths: one line on stderr, a distinct status."""

import os
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import _support

CLI = _support.REPO / 'scripts' / 'deferred_attach.py'


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
	return subprocess.run([sys.executable, str(CLI), *args], capture_output=True,
			      text=True, env={**os.environ, **(env or {})}, check=False)


class ErrorPathTest(unittest.TestCase):

	def test_help(self) -> None:
		done = run('--help')
		self.assertEqual(done.returncode, 0)
		self.assertIn('diff', done.stdout)

	def test_missing_kdir(self) -> None:
		done = run('diff', '/nonexistent/linux')
		self.assertEqual(done.returncode, 2)
		self.assertEqual(done.stdout, '')
		self.assertEqual(done.stderr, 'deferred_attach: error: '
				 '/nonexistent/linux: no such directory\n')

	def test_not_a_kernel_tree(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			done = run('diff', tmp)
		self.assertEqual(done.returncode, 2)
		self.assertRegex(done.stderr, r'^deferred_attach: error: .*: not a kernel '
				 r'source tree [^\n]*\n$')

	def test_not_applicable(self) -> None:
		with _support.kernel_tree({'include/linux/iommu.h': 'struct x {\n};\n'}) as tmp:
			done = run('diff', tmp)
		self.assertEqual(done.returncode, 1)
		self.assertEqual(done.stdout, '')
		self.assertRegex(done.stderr, r'^deferred_attach: error: linux 6\.1\.7: '
				 r'not applicable: no struct dev_iommu[^\n]*\n$')

	def test_spatch_failure_names_the_file(self) -> None:
		with tempfile.TemporaryDirectory() as bindir, _support.kernel_tree() as tmp:
			fake = Path(bindir) / 'spatch'
			fake.write_text('#!/bin/sh\necho \'File "drivers/iommu/iommu.c", '
					'line 3, column 1: boom\' >&2\nexit 1\n')
			fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
			done = run('diff', tmp, env={'SPATCH': str(fake)})
		self.assertEqual(done.returncode, 3)
		self.assertEqual(done.stdout, '')
		self.assertRegex(done.stderr, r'^deferred_attach: error: spatch \S+\.cocci '
				 r'failed on drivers/iommu/iommu\.c:3: [^\n]*\n$')

	def test_missing_spatch(self) -> None:
		with _support.kernel_tree() as tmp:
			done = run('diff', tmp, env={'SPATCH': '/nonexistent/spatch'})
		self.assertEqual(done.returncode, 3)
		self.assertIn('is not installed', done.stderr)

	def test_unparsable_site_refuses_the_whole_run(self) -> None:
		broken = _support.ONE_ARG_CORE.replace(
			'\t\treturn;\n', '\t\treturn;\n\tx = )( 1;\n')
		with _support.kernel_tree({'drivers/iommu/iommu.c': broken}) as tmp:
			done = run('diff', tmp)
		self.assertEqual(done.returncode, 1)
		self.assertEqual(done.stdout, '')
		self.assertEqual(done.stderr, 'deferred_attach: error: could not convert '
				 'drivers/iommu/iommu.c:22 (__iommu_detach_device): '
				 'spatch could not parse it\n')

	def test_unparsable_dev_iommu_refuses_the_whole_run(self) -> None:
		# A struct spatch cannot parse gets no member; the converted core
		# would read a flag that does not exist.
		header = _support.HEADER.replace('struct dev_iommu {', 'struct dev_iommu {\n\tint )( x;')
		with _support.kernel_tree({'include/linux/iommu.h': header}) as tmp:
			done = run('diff', tmp)
		self.assertEqual(done.returncode, 1)
		self.assertEqual(done.stdout, '')
		self.assertEqual(done.stderr, 'deferred_attach: error: could not add attach_deferred '
				 'to struct dev_iommu in include/linux/iommu.h: the semantic '
				 'patches left it unchanged\n')

	def test_bad_jobs_is_a_usage_error(self) -> None:
		self.assertEqual(run('diff', '-j', '0', '.').returncode, 2)


if __name__ == '__main__':
	unittest.main()
