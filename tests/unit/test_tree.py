import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import _support
from dattach import tree
from dattach.errors import BadInputError, ExitStatus, ToolError


class OpenTreeTest(unittest.TestCase):

	def test_reads_version(self) -> None:
		with _support.kernel_tree() as tmp:
			kt = tree.open_tree(tmp)
			self.assertEqual(kt.version, '6.1.7')
			self.assertEqual(kt.path, Path(tmp).resolve())

	def test_missing_directory(self) -> None:
		with self.assertRaises(BadInputError) as cm:
			tree.open_tree('/nonexistent/linux')
		self.assertEqual(str(cm.exception), '/nonexistent/linux: no such directory')
		self.assertEqual(cm.exception.status, ExitStatus.USAGE)

	def test_directory_without_makefile_is_not_a_tree(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			(Path(tmp) / 'include/linux').mkdir(parents=True)
			with self.assertRaisesRegex(BadInputError, 'not a kernel source tree'):
				tree.open_tree(tmp)

	def test_makefile_without_include_linux_is_not_a_tree(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			(Path(tmp) / 'Makefile').write_text(_support.MAKEFILE)
			with self.assertRaisesRegex(BadInputError, 'not a kernel source tree'):
				tree.open_tree(tmp)

	def test_read_missing_file_is_none(self) -> None:
		with _support.kernel_tree() as tmp:
			self.assertIsNone(tree.open_tree(tmp).read('no/such.c'))


class DebianSourceTest(unittest.TestCase):

	def test_cached_tree_is_used_without_installing(self) -> None:
		with tempfile.TemporaryDirectory() as cache:
			_support.make_tree(Path(cache) / 'linux-source-9.9', {
				'Makefile': _support.MAKEFILE, 'include/linux/x.h': ''})
			installer = mock.Mock()
			kt = tree.ensure_debian_source('9.9', Path(cache), installer)
			installer.assert_not_called()
			self.assertEqual(kt.version, '6.1.7')

	def test_missing_tarball_after_install_is_an_error(self) -> None:
		with tempfile.TemporaryDirectory() as cache:
			with self.assertRaisesRegex(ToolError, 'missing after installing'):
				tree.ensure_debian_source('0.0-none', Path(cache), lambda _: None)
			self.assertEqual(list(Path(cache).iterdir()), [])

	def test_unpack_is_atomic(self) -> None:
		# A tarball without the expected top directory: nothing is left.
		with tempfile.TemporaryDirectory() as tmp:
			ball = Path(tmp) / 'x.tar.xz'
			_support.make_tree(Path(tmp) / 'src', {'other/Makefile': ''})
			subprocess.run(['tar', '-cJf', str(ball), '-C', str(Path(tmp) / 'src'),
					'other'], check=True)
			cache = Path(tmp) / 'cache'
			with self.assertRaisesRegex(ToolError, 'no top directory'), \
			     mock.patch.object(tree, '_say'):
				tree._unpack(ball, 'linux-source-x', cache / 'linux-source-x')
			self.assertEqual(list(cache.iterdir()), [])


if __name__ == '__main__':
	unittest.main()
