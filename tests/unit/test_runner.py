"""tests/run.py itself: what it counts, and what it lets pass in CI."""

import contextlib
import fnmatch
import io
import sys
import unittest

import _support

sys.path.insert(0, str(_support.REPO / 'tests'))
import run  # noqa: E402  (tests/run.py)


def _cases() -> tuple[type[unittest.TestCase], type[unittest.TestCase]]:
	"""Test cases for the runner to count, made here so that the loader
	does not collect them as tests of their own."""

	class WithSubTests(unittest.TestCase):

		def runTest(self) -> None:
			for number in (1, 2, 3):
				with self.subTest(number=number):
					self.assertNotEqual(number, 2)

	class AllPass(unittest.TestCase):

		def runTest(self) -> None:
			for number in (1, 2):
				with self.subTest(number=number):
					self.assertTrue(number)
	return WithSubTests, AllPass


def _run(case: unittest.TestCase) -> tuple[run.Tally, str]:
	tally = run.Tally()
	out = io.StringIO()
	with contextlib.redirect_stdout(out):
		case.run(run._LineResult(tally))
	return tally, out.getvalue()


class CountTest(unittest.TestCase):

	def test_a_failing_subtest_is_a_failure(self) -> None:
		tally, out = _run(_cases()[0]())
		self.assertEqual((tally.passed, tally.failed, tally.skipped), (0, 1, 0), out)
		self.assertRegex(out, r'^FAIL unit/[^\n]*\(number=2\)\n')
		self.assertEqual(tally.line(), '0 passed, 1 failed')

	def test_passing_subtests_are_one_pass(self) -> None:
		tally, out = _run(_cases()[1]())
		self.assertEqual((tally.passed, tally.failed), (1, 0), out)


class PolicyTest(unittest.TestCase):

	def _report(self, ci: bool, name: str) -> run.Tally:
		tally = run.Tally(ci=ci, policy=run.Policy({}, ['harness/allowed-*']))
		with contextlib.redirect_stdout(io.StringIO()):
			run.report(tally, name, 'SKIP', 'cannot run')
		return tally

	def test_skip_outside_the_allow_list_fails_in_ci(self) -> None:
		tally = self._report(True, 'real/6.1/build')
		self.assertEqual((tally.failed, tally.skipped), (1, 0))

	def test_allowed_skip_stays_a_skip_in_ci(self) -> None:
		tally = self._report(True, 'harness/allowed-case')
		self.assertEqual((tally.failed, tally.skipped), (0, 1))

	def test_skip_outside_ci_is_a_skip(self) -> None:
		tally = self._report(False, 'real/6.1/build')
		self.assertEqual((tally.failed, tally.skipped), (0, 1))

	def test_fewer_tests_than_the_minimum_fail(self) -> None:
		tally = run.Tally(policy=run.Policy({'golden': 25, 'unit': 10}, []))
		tally.found = {'golden': 24, 'unit': 10}
		with self.assertRaisesRegex(run.Failure, r'^golden: 24 found, at least 25'):
			run.minimum_counts(tally)
		tally.found = {'golden': 25}
		with self.assertRaisesRegex(run.Failure, r'unit: nothing counts'):
			run.minimum_counts(tally)
		tally.found = {'golden': 25, 'unit': 11}
		run.minimum_counts(tally)

	def test_committed_policy(self) -> None:
		policy = run.Policy.load()
		self.assertEqual(set(policy.minimum), {'golden', 'unit'})
		self.assertGreaterEqual(policy.minimum['golden'], 25)
		# What must run on every machine may not be allowed to skip:
		# the golden cases, unit tests, type check and Debian trees.
		for pattern in policy.allowed_skips:
			for name in ('golden/one-arg-helper', 'golden/x/report', 'unit/x.Y.z',
				     'mypy', 'real/6.1/build', 'real/6.12/probe',
				     'policy/minimum-counts'):
				self.assertFalse(fnmatch.fnmatchcase(name, pattern),
						 f'{pattern} allows {name} to be skipped')


if __name__ == '__main__':
	unittest.main()
