import tempfile
import unittest
from pathlib import Path

import _support
from dattach.emit_diff import unified_diff


class UnifiedDiffTest(unittest.TestCase):

	def test_paths_are_tree_relative_with_a_b_prefixes(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			work = Path(tmp)
			_support.make_tree(work / 'a', {'drivers/x.c': 'one\ntwo\n'})
			_support.make_tree(work / 'b', {'drivers/x.c': 'one\nthree\n'})
			diff = unified_diff(work)
		self.assertTrue(diff.startswith('diff --git a/drivers/x.c b/drivers/x.c\n'))
		self.assertIn('--- a/drivers/x.c\n+++ b/drivers/x.c\n', diff)
		self.assertTrue(diff.endswith('@@ -1,2 +1,2 @@\n one\n-two\n+three\n'))

	def test_no_change_is_empty(self) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			work = Path(tmp)
			_support.make_tree(work / 'a', {'x.c': 'same\n'})
			_support.make_tree(work / 'b', {'x.c': 'same\n'})
			self.assertEqual(unified_diff(work), '')


if __name__ == '__main__':
	unittest.main()
