#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run every test of the toolkit: `make check` runs this.

One line per test, `PASS name` or `FAIL name` with the reason indented
below it, then exactly one line `N passed, N failed` (`, N skipped` only
when something was skipped, and always with the reason).  Exit status 1 on
any failure.

    tests/run.py [PATTERN...]     only the tests whose name matches one
                                  PATTERN (a glob, or a prefix of the name)
    tests/run.py --list           the names of the tests, run nothing (the
                                  harness/ scenarios are named when run)
    tests/run.py --write-expected write missing expected.report and
                                  expected.probe.json files (see expected.py)

Kinds of test, in order:
  golden/<case>           tests/golden/<case>/tree through `diff`, compared
                          byte for byte with expected.diff (and
                          expected.stderr when present); the tree unchanged
  golden/<case>/feedback  the diff applied to a copy, then `diff` again: no
                          diff, status 0 and the summary "already converted"
                          (a refused case: refused again, the same line)
  golden/<case>/report    `report` equal to expected.report
  golden/<case>/probe     `probe --json` equal to expected.probe.json
  unit/...                tests/unit/test_*.py, one line per test method and
                          one FAIL line per failing subTest
  mypy                    mypy --strict over scripts/
  harness/...             the behavioural C harness (tests/harness/)
  real/...                Debian's linux-source-6.1 and -6.12, see RealTrees
  boot/...                the boot proof under QEMU (scripts/dattach/bootproof.py)
  policy/...              the counts and skips of this very run (POLICY)

To add a test: a function that raises Failure (or Skipped, with the
reason), and one line `run_test(tally, Test('kind/name', func))` in main().
A test that cannot run must say so: in CI (CI=true), every SKIP whose name
is not allowed in tests/ci-policy counts as a FAIL.
"""

import argparse
import dataclasses
import difflib
import fnmatch
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
from pathlib import Path
from types import TracebackType
from typing import Callable, Iterator, Optional

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / 'scripts' / 'deferred_attach.py'
# DATTACH_GOLDEN_DIR: run the golden cases of another folder (for testing
# this runner itself on throwaway cases).
GOLDEN = Path(os.environ.get('DATTACH_GOLDEN_DIR', REPO / 'tests' / 'golden'))
UNIT = REPO / 'tests' / 'unit'
REAL = REPO / 'tests' / 'real'
CACHE = REPO / '.cache'
SCRATCH = CACHE / 'scratch' / 'linux-6.1'
KBUILD = CACHE / 'kbuild' / 'linux-6.1'
PM_LINES = REAL / 'upstream-dd8a25c557e1.pm-lines'

POLICY = REPO / 'tests' / 'ci-policy'

sys.path.insert(0, str(REPO / 'scripts'))
from dattach import plan, tree  # noqa: E402

import expected  # noqa: E402  (tests/, next to this file)
import real_commands  # noqa: E402
import real_wholetree  # noqa: E402

# Scratch trees live in .cache/, inside this repository's work tree but
# ignored by it: git (and spatch, which lists files with git grep when it
# finds a .git) must not mistake them for part of this repository.
ENV = dict(os.environ, GIT_CEILING_DIRECTORIES=str(CACHE), LC_ALL='C')


class Failure(Exception):
	"""A test failed; the message says why (may span lines)."""


class Skipped(Exception):
	"""A test could not run; the message says why."""


@dataclasses.dataclass
class Test:
	name: str
	func: Callable[[], None]


@dataclasses.dataclass
class Policy:
	"""tests/ci-policy: the fewest golden cases and unit tests a run may
	find, and the skips CI allows (each with its reason in the file)."""
	minimum: dict[str, int]
	allowed_skips: list[str]	# fnmatch patterns of test names

	@classmethod
	def load(cls, path: Path = POLICY) -> 'Policy':
		minimum: dict[str, int] = {}
		allowed: list[str] = []
		for number, raw in enumerate(path.read_text().splitlines(), 1):
			words = raw.split('#', 1)[0].split()
			if not words:
				continue
			if words[0] == 'minimum' and len(words) == 3 and words[2].isdigit():
				minimum[words[1]] = int(words[2])
			elif words[0] == 'allow-skip' and len(words) == 2:
				allowed.append(words[1])
			else:
				raise SystemExit(f'{path}:{number}: not "minimum KIND N" '
						 f'or "allow-skip NAME": {raw!r}')
		return cls(minimum, allowed)

	def skip_allowed(self, name: str) -> bool:
		return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.allowed_skips)


@dataclasses.dataclass
class Tally:
	passed: int = 0
	failed: int = 0
	skipped: int = 0
	# Test name patterns from the command line; empty means every test.
	patterns: list[str] = dataclasses.field(default_factory=list)
	# In CI a skip outside the policy's allow-list is a failure.
	ci: bool = False
	policy: Optional[Policy] = None
	list_only: bool = False
	# How many tests of each kind were found (policy/minimum-counts).
	found: dict[str, int] = dataclasses.field(default_factory=dict)

	def line(self) -> str:
		text = f'{self.passed} passed, {self.failed} failed'
		if self.skipped:
			text += f', {self.skipped} skipped'
		return text

	def selected(self, name: str) -> bool:
		return not self.patterns or any(
			name.startswith(p) or fnmatch.fnmatchcase(name, p) for p in self.patterns)

	def wants(self, prefix: str) -> bool:
		"""Could any test whose name starts with `prefix` be selected?"""
		return not self.patterns or any(
			p.startswith(prefix) or prefix.startswith(p) or
			any(c in p for c in '*?[') for p in self.patterns)


def report(tally: Tally, name: str, status: str, detail: str = '') -> None:
	if tally.list_only:
		return
	if status == 'SKIP' and tally.ci and not (tally.policy and
						 tally.policy.skip_allowed(name)):
		# A check that cannot run in CI fails there, unless the policy
		# file says why it may not run.
		detail = (f'skipped in CI (CI=true) and not allowed in '
			  f'{POLICY.relative_to(REPO)}: {detail}')
		status = 'FAIL'
	print(f'{status} {name}', flush=True)
	if detail:
		for line in detail.rstrip('\n').splitlines():
			print(f'    {line}', flush=True)
	if status == 'PASS':
		tally.passed += 1
	elif status == 'FAIL':
		tally.failed += 1
	else:
		tally.skipped += 1


def run_test(tally: Tally, test: Test) -> None:
	if not tally.selected(test.name):
		return
	if tally.list_only:
		print(test.name)
		return
	try:
		test.func()
	except Failure as err:
		report(tally, test.name, 'FAIL', str(err))
	except Skipped as err:
		report(tally, test.name, 'SKIP', str(err))
	except Exception as err:  # a bug in a test is a failure, not a crash
		report(tally, test.name, 'FAIL', f'{type(err).__name__}: {err}')
	else:
		report(tally, test.name, 'PASS')


# --- helpers ------------------------------------------------------------------

@dataclasses.dataclass
class Run:
	status: int
	stdout: str
	stderr: str


def run_cli(*args: str) -> Run:
	done = subprocess.run([sys.executable, str(CLI), *args], capture_output=True,
			      env=ENV, check=False)
	return Run(done.returncode,
		   done.stdout.decode('utf-8', errors='surrogateescape'),
		   done.stderr.decode('utf-8', errors='surrogateescape'))


def show_diff(expected: str, actual: str, what: str) -> str:
	lines = difflib.unified_diff(expected.splitlines(keepends=True),
				     actual.splitlines(keepends=True),
				     f'expected {what}', f'actual {what}')
	return ''.join(line if line.endswith('\n') else line + '\n\\ no newline\n'
		       for line in lines)


def tree_hash(root: Path) -> dict[str, str]:
	"""Every file's sha256, for "byte-identical afterwards"."""
	result = {}
	for path in sorted(root.rglob('*')):
		if path.is_file():
			result[str(path.relative_to(root))] = \
				hashlib.sha256(path.read_bytes()).hexdigest()
	return result


def tree_listing(root: Path) -> dict[str, tuple[int, int]]:
	"""(size, mtime) of every file: cheap enough for a 75,000-file tree."""
	result = {}
	for dirpath, _, files in os.walk(root):
		for name in files:
			st = os.lstat(os.path.join(dirpath, name))
			rel = os.path.relpath(os.path.join(dirpath, name), root)
			result[rel] = (st.st_size, st.st_mtime_ns)
	return result


def changed_entries(before: dict[str, object], after: dict[str, object]) -> list[str]:
	return sorted(k for k in before.keys() | after.keys()
		      if before.get(k) != after.get(k))


def git_apply(patch: str, where: Path, *options: str) -> subprocess.CompletedProcess[str]:
	return subprocess.run(['git', 'apply', *options], input=patch, cwd=where,
			      capture_output=True, text=True, env=ENV, check=False)


def plus_minus_lines(diff: str) -> list[str]:
	"""The +/- lines of a unified diff, file headers left out."""
	lines = []
	in_hunk = False
	for line in diff.splitlines():
		if line.startswith('@@'):
			in_hunk = True
		elif line.startswith('diff ') or line.startswith('--- ') and not in_hunk:
			in_hunk = False
		elif in_hunk and line[:1] in '+-':
			lines.append(line)
	return lines


# A line the conversion adds to the core, upstream's own.
CONVERTED_MARK = '\t\tdev->iommu->attach_deferred = 1;\n'


def converted_files(diff: str, source: Path) -> dict[str, bytes]:
	"""The files the diff touches, converted: the diff applied to copies
	of just those files in a temporary directory outside any repository."""
	with tempfile.TemporaryDirectory(prefix='dattach-converted.') as tmp:
		work = Path(tmp) / 'tree'
		for rel in files_of(diff):
			(work / rel).parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(source / rel, work / rel)
		done = subprocess.run(['git', 'apply', '-'], input=diff, cwd=work,
				      capture_output=True, text=True, check=False,
				      env=dict(ENV, GIT_CEILING_DIRECTORIES=tmp))
		if done.returncode != 0:
			raise Failure(f'git apply on copies of the files: {done.stderr}')
		return {rel: (work / rel).read_bytes() for rel in files_of(diff)}


def squash_added(lines: list[str]) -> list[str]:
	"""The added lines of spatch's raw diff and of the toolkit's, made
	comparable: what the layout step does set aside.  Layout changes only
	whitespace and blank lines, and turns the trailing comment spatch puts
	on the new struct member (`u32 attach_deferred:1;/* text */`, spatch
	cannot edit inside the kerneldoc block) into the kerneldoc line
	` * @attach_deferred: text`: both become `comment:text`.  Sorted, as
	layout may also move a line within its hunk."""
	result = []
	for line in lines:
		text = re.sub(r'\s+', '', line[1:])
		if not text:
			continue
		member = re.fullmatch(r'(.*;)/\*(.*)\*/', text)
		kerneldoc = re.fullmatch(r'\*@\w+:(.*)', text)
		if member:
			result += [member[1], f'comment:{member[2]}']
		elif kerneldoc:
			result.append(f'comment:{kerneldoc[1]}')
		else:
			result.append(text)
	return sorted(result)


def files_of(diff: str) -> set[str]:
	"""Files a diff changes, from its +++ lines, tree-relative."""
	names = set()
	for line in diff.splitlines():
		if line.startswith('+++ '):
			name = line[4:].split('\t')[0]
			names.add(name[2:] if name.startswith('b/') else name)
	return names


# --- golden cases ----------------------------------------------------------------

def golden_cases() -> list[Path]:
	return sorted(p for p in GOLDEN.glob('*') if (p / 'tree').is_dir())


def golden_tests() -> Iterator[Test]:
	for case in golden_cases():
		yield Test(f'golden/{case.name}', functools.partial(golden_case, case))
		yield Test(f'golden/{case.name}/feedback',
			   functools.partial(golden_feedback, case))
		yield Test(f'golden/{case.name}/report',
			   functools.partial(golden_expected, case, expected.REPORT))
		yield Test(f'golden/{case.name}/probe',
			   functools.partial(golden_expected, case, expected.PROBE))


def _golden_run(case: Path) -> Run:
	source = case / 'tree'
	before = tree_hash(source)
	run = run_cli('diff', str(source))
	changed = changed_entries(before, tree_hash(source))  # type: ignore[arg-type]
	if changed:
		raise Failure(f'diff changed its input tree: {", ".join(changed)}')
	return run


def golden_case(case: Path) -> None:
	run = _golden_run(case)
	expected_stderr = case / 'expected.stderr'
	problems = []
	expected_diff = case / 'expected.diff'
	if not expected_diff.is_file():
		raise Failure(f'{expected_diff.relative_to(REPO)} is missing '
			      '(an empty file means "no change")')
	want = expected_diff.read_text(encoding='utf-8', errors='surrogateescape')
	if run.stdout != want:
		problems.append(show_diff(want, run.stdout, 'stdout'))
	if expected_stderr.is_file():
		want_err = expected_stderr.read_text(encoding='utf-8', errors='surrogateescape')
		if run.stderr != want_err:
			problems.append(show_diff(want_err, run.stderr, 'stderr'))
		# A case that expects an error line expects a failing status.
		if ('error:' in want_err) != (run.status != 0):
			problems.append(f'exit status {run.status}')
	elif run.status != 0:
		problems.append(f'exit status {run.status}: {run.stderr.strip()}')
	if problems:
		raise Failure('\n'.join(problems))


# The summary line of `diff` on a tree that needs nothing.
ALREADY_CONVERTED = re.compile(r'linux [\w.+-]+: already converted \((v6\.3/v6\.4|v6\.5\+) shape\)\n')


def golden_feedback(case: Path) -> None:
	first = _golden_run(case)
	with tempfile.TemporaryDirectory(prefix='dattach-feedback.') as tmp:
		copy = Path(tmp) / 'tree'
		shutil.copytree(case / 'tree', copy, symlinks=True)
		if first.stdout:
			applied = git_apply(first.stdout, copy)
			if applied.returncode != 0:
				raise Failure(f'git apply failed: {applied.stderr.strip()}')
		again = run_cli('diff', str(copy))
	if again.stdout:
		raise Failure('diff on its own result is not empty:\n' + again.stdout)
	if first.status != 0:
		# Refused: the copy is the input, refused again the same way.
		if (again.status, again.stderr) != (first.status, first.stderr):
			raise Failure(f'refused first (status {first.status}), then status '
				      f'{again.status}: {again.stderr.strip()}')
		return
	if again.status != 0:
		raise Failure(f'exit status {again.status}: {again.stderr.strip()}')
	# No diff is not enough: a tree left half converted whose rest the
	# semantic patches do not match also prints nothing.  The second run
	# must recognise the whole change.
	if not ALREADY_CONVERTED.fullmatch(again.stderr):
		raise Failure('second run on the converted tree does not say "already '
			      f'converted (...)": {again.stderr!r}')


def golden_expected(case: Path, name: str) -> None:
	problems = expected.compare(case, case / 'tree', name)
	if problems:
		raise Failure(problems)


# --- unit tests --------------------------------------------------------------------

ExcInfo = (tuple[type[BaseException], BaseException, TracebackType] |
	   tuple[None, None, None])


def _format(err: ExcInfo) -> str:
	return ''.join(traceback.format_exception(err[1])) if err[1] else 'unknown error'


class _LineResult(unittest.TestResult):
	"""Turns each unittest outcome into one of our lines, as it happens."""

	def __init__(self, tally: Tally) -> None:
		super().__init__()
		self.tally = tally

	@staticmethod
	def _name(test: unittest.TestCase) -> str:
		return 'unit/' + test.id().replace('test_', '', 1)

	def addSuccess(self, test: unittest.TestCase) -> None:
		report(self.tally, self._name(test), 'PASS')

	def addFailure(self, test: unittest.TestCase, err: ExcInfo) -> None:
		report(self.tally, self._name(test), 'FAIL', _format(err))

	def addError(self, test: unittest.TestCase, err: ExcInfo) -> None:
		report(self.tally, self._name(test), 'FAIL', _format(err))

	def addSkip(self, test: unittest.TestCase, reason: str) -> None:
		report(self.tally, self._name(test), 'SKIP', reason)

	def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase,
		       err: Optional[ExcInfo]) -> None:
		# unittest calls neither addSuccess nor addFailure for a test
		# whose subTest failed: each failing subTest is a FAIL line here
		# (the passing ones are part of their test's PASS).
		if err is not None:
			report(self.tally, self._name(subtest), 'FAIL', _format(err))


def _flatten(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
	for item in suite:
		if isinstance(item, unittest.TestSuite):
			yield from _flatten(item)
		else:
			yield item


def run_unit_tests(tally: Tally) -> None:
	suite = unittest.defaultTestLoader.discover(str(UNIT), pattern='test_*.py',
						    top_level_dir=str(UNIT))
	tests = list(_flatten(suite))
	# A module that fails to import is one _FailedTest: not a unit test
	# found, and reported below as a FAIL.
	tally.found['unit'] = sum(type(t).__module__ != 'unittest.loader' for t in tests)
	chosen = [t for t in tests if tally.selected(_LineResult._name(t))]
	if tally.list_only:
		for test in chosen:
			print(_LineResult._name(test))
		return
	# unittest prints nothing itself with a bare TestResult.
	unittest.TestSuite(chosen).run(_LineResult(tally))


# --- type check ----------------------------------------------------------------------

def mypy_check() -> None:
	mypy = shutil.which('mypy')
	if mypy is None:
		raise Failure('mypy is not installed (make deps)')
	done = subprocess.run([mypy, '--strict', '--cache-dir', str(REPO / '.mypy_cache'),
			       'deferred_attach.py', 'bench.py', 'dattach'],
			      cwd=REPO / 'scripts', capture_output=True, text=True, check=False)
	if done.returncode != 0:
		raise Failure(done.stdout + done.stderr)


# --- real trees --------------------------------------------------------------------------

def _run(cmd: list[str], cwd: Path, log: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
	done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
			      errors='replace', env=ENV, check=False)
	if log is not None:
		log.parent.mkdir(parents=True, exist_ok=True)
		with open(log, 'a') as f:
			f.write(f'$ {" ".join(cmd)}\n{done.stdout}{done.stderr}')
	return done


def _tail(done: subprocess.CompletedProcess[str], lines: int = 15) -> str:
	return '\n'.join((done.stdout + done.stderr).splitlines()[-lines:])


class RealTrees:
	"""Checks on Debian's trees, sharing one `diff` run of the 6.1 tree."""

	def __init__(self) -> None:
		self._tree: Optional[tree.KernelTree] = None
		self._run: Optional[Run] = None
		self._listing: tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]] | None = None
		self._hashes: tuple[dict[str, str], dict[str, str]] | None = None
		self._error: Optional[str] = None

	def tests(self) -> Iterator[Test]:
		yield Test('real/6.1/upstream-lines', self.upstream_lines)
		yield Test('real/6.1/git-apply-check', self.git_apply_check)
		yield Test('real/6.1/checkpatch', self.checkpatch)
		yield Test('real/6.1/coccicheck', self.coccicheck)
		yield Test('real/6.1/build', self.build)
		yield Test('real/6.1/tree-untouched', self.untouched)
		yield Test('real/6.12/already-converted', self.already_converted)
		# The other commands on the same trees (tests/real_commands.py).
		for name, func in real_commands.tests():
			yield Test(name, func)
		# Each semantic patch over the whole trees (tests/real_wholetree.py).
		for name, func in real_wholetree.tests():
			yield Test(name, func)

	def diff(self) -> str:
		"""The toolkit's diff of the 6.1 tree, made once."""
		if self._error:
			raise Failure(self._error)
		if self._run is None:
			try:
				self._tree = tree.ensure_debian_source('6.1')
			except Exception as err:
				self._error = f'no Debian 6.1 tree: {err}'
				raise Failure(self._error) from err
			touched = [self._tree.path / 'drivers/iommu/iommu.c',
				   self._tree.path / 'include/linux/iommu.h']
			listing = tree_listing(self._tree.path)
			hashes = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in touched}
			start = time.monotonic()
			self._run = run_cli('diff', str(self._tree.path))
			self.seconds = time.monotonic() - start
			self._listing = (listing, tree_listing(self._tree.path))
			self._hashes = (hashes, {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
						 for p in touched})
		if self._run.status != 0 or not self._run.stdout:
			self._error = (f'diff of the 6.1 tree: exit status {self._run.status}, '
				       f'{len(self._run.stdout)} bytes: {self._run.stderr.strip()}')
			raise Failure(self._error)
		return self._run.stdout

	@property
	def path(self) -> Path:
		self.diff()
		assert self._tree is not None
		path: Path = self._tree.path
		return path

	def scratch(self) -> Path:
		"""A hardlinked copy of the 6.1 tree, fresh, always at the same
		path so the cached Kbuild output directory stays valid."""
		if SCRATCH.exists():
			shutil.rmtree(SCRATCH)
		SCRATCH.parent.mkdir(parents=True, exist_ok=True)
		done = _run(['cp', '-al', str(self.path), str(SCRATCH)], cwd=CACHE)
		if done.returncode != 0:
			raise Failure(f'cp -al failed: {_tail(done)}')
		return SCRATCH

	# (i)
	def upstream_lines(self) -> None:
		if not PM_LINES.is_file():
			raise Failure(f'{PM_LINES.relative_to(REPO)} is missing')
		want = PM_LINES.read_text(encoding='utf-8').splitlines()
		got = plus_minus_lines(self.diff())
		if got != want:
			raise Failure(show_diff('\n'.join(want) + '\n', '\n'.join(got) + '\n',
						'+/- lines'))
		stderr = self._run.stderr if self._run else ''
		if not re.fullmatch(r'linux 6\.1\.\d+: one-argument helper \(v5\.18 to v6\.2\): '
				    r'2 files converted\n', stderr):
			raise Failure(f'summary line: {stderr!r}')

	# (ii)
	def git_apply_check(self) -> None:
		diff = self.diff()
		done = git_apply(diff, self.scratch(), '--check')
		if done.returncode != 0:
			raise Failure(done.stderr)

	# (iii)
	def checkpatch(self) -> None:
		diff = self.diff()
		done = subprocess.run(['perl', str(self.path / 'scripts/checkpatch.pl'),
				       '--strict', '--no-signoff', '--ignore', 'COMMIT_MESSAGE',
				       f'--root={self.path}', '-'],
				      input=diff, capture_output=True, text=True, env=ENV,
				      check=False)
		total = re.search(r'^total: (\d+) errors, (\d+) warnings, (\d+) checks',
				  done.stdout, re.MULTILINE)
		if not total:
			raise Failure(f'no "total:" line from checkpatch:\n{done.stdout}{done.stderr}')
		if total.groups() != ('0', '0', '0'):
			raise Failure(done.stdout)

	# (vi)
	def coccicheck(self) -> None:
		diff = self.diff()
		where = self.scratch()
		problems = []
		patched: set[str] = set()
		minus: list[str] = []
		plus: list[str] = []
		for name in plan.SERIES:
			cocci = plan.COCCI_DIR / name
			reported = []
			# The core and its header: the two places the conversion
			# touches.  M= keeps each run to one directory, so fast.
			for subdir in ('drivers/iommu', 'include/linux'):
				for mode in ('report', 'patch'):
					done = _run(['make', '-s', 'coccicheck', f'COCCI={cocci}',
						     f'MODE={mode}', f'M={subdir}', 'J=2'], cwd=where)
					if done.returncode != 0:
						problems.append(f'{name} MODE={mode} M={subdir}: '
								f'{_tail(done)}')
						continue
					if mode == 'report':
						reported += re.findall(r'^[\w./-]+:\d+:', done.stdout,
								       re.MULTILINE)
					else:
						patched |= files_of(done.stdout)
						minus += [l for l in plus_minus_lines(done.stdout)
							  if l.startswith('-')]
						plus += [l for l in plus_minus_lines(done.stdout)
							 if l.startswith('+')]
			# Upstream's change touches no driver: on 6.1 only the core
			# and its header have something to report.
			if name == 'attach_deferred_flag_readers.cocci':
				if reported:
					problems.append(f'{name} MODE=report: {reported}')
			elif not reported:
				problems.append(f'{name} MODE=report: no file:line lines')
		if patched != files_of(diff):
			problems.append(f'MODE=patch touches {sorted(patched)}, '
					f'diff touches {sorted(files_of(diff))}')
		ours = [l for l in plus_minus_lines(diff) if l.startswith('-')]
		def squash(lines: list[str]) -> list[str]:
			# Layout only moves whitespace and blank lines.
			return sorted(re.sub(r'\s+', '', l) for l in lines
				      if l.strip('-').strip())
		if squash(minus) != squash(ours):
			problems.append('MODE=patch removes other lines than the diff:\n' +
					show_diff('\n'.join(squash(ours)) + '\n',
						  '\n'.join(squash(minus)) + '\n', 'removed lines'))
		added = squash_added([l for l in plus_minus_lines(diff) if l.startswith('+')])
		if squash_added(plus) != added:
			problems.append('MODE=patch adds other lines than the diff:\n' +
					show_diff('\n'.join(added) + '\n',
						  '\n'.join(squash_added(plus)) + '\n', 'added lines'))
		if problems:
			raise Failure('\n'.join(problems))

	# (iv)
	def build(self) -> None:
		diff = self.diff()
		where = self.scratch()
		out = KBUILD
		logs = out / 'dattach-logs'
		make = ['make', f'O={out}', '-j2']
		marker = out / '.dattach-configured'
		if logs.is_dir():
			shutil.rmtree(logs)
		if not marker.is_file():
			out.mkdir(parents=True, exist_ok=True)
			for step in (make + ['defconfig'],
				     [str(where / 'scripts/config'), '--file', str(out / '.config'),
				      '-e', 'PROVE_LOCKING'],
				     make + ['olddefconfig']):
				done = _run(step, cwd=where, log=logs / 'config.log')
				if done.returncode != 0:
					raise Failure(f'{" ".join(step)}: {_tail(done)}')
			marker.touch()
		config = (out / '.config').read_text()
		if 'CONFIG_PROVE_LOCKING=y' not in config:
			raise Failure('PROVE_LOCKING did not stick in .config')

		def build_iommu_o(log: str) -> set[str]:
			# Delete the object so the compiler runs (and warns) again.
			(out / 'drivers/iommu/iommu.o').unlink(missing_ok=True)
			done = _run(make + ['drivers/iommu/iommu.o'], cwd=where, log=logs / log)
			if done.returncode != 0:
				raise Failure(f'make drivers/iommu/iommu.o ({log}): {_tail(done)}')
			# Line numbers move with the patch; compare the rest.
			return {re.sub(r':\d+:\d+:', ':', line)
				for line in (done.stdout + done.stderr).splitlines()
				if 'warning:' in line}

		before = build_iommu_o('before.log')
		for rel in files_of(diff):
			# cp -al shares inodes with the user's tree: give the files
			# we patch inodes of their own first.
			path = where / rel
			data = path.read_bytes()
			path.unlink()
			path.write_bytes(data)
		applied = git_apply(diff, where)
		if applied.returncode != 0:
			raise Failure(f'git apply: {applied.stderr}')
		# git apply inside another repository's work tree applies
		# relative to that repository and skips what lies outside the
		# current directory without a word (status 0).  Build only what
		# is provably the converted text.
		want = converted_files(diff, self.path)
		for rel, data in sorted(want.items()):
			if (where / rel).read_bytes() != data:
				raise Failure(f'{rel} in the build tree is not the converted file: '
					      'the diff was not applied there')
		if CONVERTED_MARK not in (where / 'drivers/iommu/iommu.c').read_text():
			raise Failure(f'no {CONVERTED_MARK!r} in drivers/iommu/iommu.c of '
				      'the build tree')
		new = build_iommu_o('after.log') - before
		if new:
			raise Failure('new warnings:\n' + '\n'.join(sorted(new)))

	# (v)
	def untouched(self) -> None:
		self.diff()
		assert self._listing is not None and self._hashes is not None
		changed = changed_entries(self._listing[0], self._listing[1])  # type: ignore[arg-type]
		changed += changed_entries(self._hashes[0], self._hashes[1])  # type: ignore[arg-type]
		if changed:
			raise Failure('diff changed the tree: ' + ', '.join(changed[:10]))

	def already_converted(self) -> None:
		try:
			path = tree.ensure_debian_source('6.12').path
		except Exception as err:
			raise Failure(f'no Debian 6.12 tree: {err}') from err
		run = run_cli('diff', str(path))
		if run.status != 0 or run.stdout:
			raise Failure(f'exit status {run.status}, stdout:\n{run.stdout[:2000]}'
				      f'\nstderr: {run.stderr}')
		if not re.fullmatch(r'linux 6\.12\.\d+: already converted \(v6\.5\+ shape\)\n', run.stderr):
			raise Failure(f'summary line: {run.stderr!r}')


def run_harness(tally: Tally) -> None:
	"""The behavioural harness: every scenario of every golden case, built
	converted and unconverted (tests/harness/README.md)."""
	if not tally.wants('harness/') or tally.list_only:
		return
	sys.path.insert(0, str(REPO / 'tests' / 'harness'))
	import run_harness  # noqa: E402  (a sibling directory, not a package)
	for name, reason in run_harness.skips(REPO):
		if tally.selected(name):
			report(tally, name, 'SKIP', reason)
	for name, passed, detail in run_harness.run_all(REPO):
		if tally.selected(name):
			report(tally, name, 'PASS' if passed else 'FAIL',
			       '' if passed else detail)


# --- the run itself ------------------------------------------------------------------------

def _no_real() -> None:
	raise Skipped('DATTACH_NO_REAL is set')


def run_boot_proof(tally: Tally) -> None:
	"""The boot proof under QEMU (scripts/dattach/bootproof.py): one run of
	all its variants, a line per check; it builds and boots kernels, so it
	is one of the real-tree checks."""
	if not tally.wants('boot'):
		return
	if tally.list_only:
		print('boot/...')
		return
	if os.environ.get('DATTACH_NO_REAL'):
		report(tally, 'boot', 'SKIP', 'DATTACH_NO_REAL is set')
		return
	from dattach import bootproof
	for result in bootproof.results():
		if tally.selected(result.name):
			report(tally, result.name, 'PASS' if result.passed else 'FAIL',
			       result.detail)


def minimum_counts(tally: Tally) -> None:
	"""Fewer golden cases or unit tests found than tests/ci-policy says:
	a case folder or a test module lost (renamed, unreadable, failing to
	import) would otherwise just make the run shorter."""
	assert tally.policy is not None
	problems = []
	for kind, least in sorted(tally.policy.minimum.items()):
		if kind not in tally.found:
			problems.append(f'{kind}: nothing counts the tests of this kind')
		elif tally.found[kind] < least:
			problems.append(f'{kind}: {tally.found[kind]} found, at least {least} '
					f'expected ({POLICY.relative_to(REPO)})')
	if problems:
		raise Failure('\n'.join(problems))


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
	parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	parser.add_argument('patterns', nargs='*', metavar='PATTERN',
			    help='run only the tests whose name matches (glob) or starts with it')
	parser.add_argument('--list', action='store_true', help='list the tests, run nothing')
	parser.add_argument('--write-expected', action='store_true',
			    help='write the missing expected.report and expected.probe.json '
			    'files of the golden cases and Debian trees, then stop')
	return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
	args = parse_args(argv)
	if args.write_expected:
		return expected.write_missing(golden_cases(), REAL)
	tally = Tally(patterns=args.patterns, ci=os.environ.get('CI') == 'true',
		      policy=Policy.load(), list_only=args.list)
	tally.found['golden'] = len(golden_cases())
	for test in golden_tests():
		run_test(tally, test)
	run_unit_tests(tally)
	run_test(tally, Test('mypy', mypy_check))
	run_harness(tally)
	for test in RealTrees().tests():
		if os.environ.get('DATTACH_NO_REAL'):
			# For a quick loop while editing; counted, never silent (and
			# a failure in CI: tests/ci-policy allows no real/ skip).
			test = Test(test.name, _no_real)
		run_test(tally, test)
	run_boot_proof(tally)
	if tally.wants('mutations/') and not tally.list_only:
		sys.path.insert(0, str(REPO / 'tests' / 'mutations'))
		import run_mutations  # noqa: E402  (the seeded sample of tests/mutations/)
		for name, passed, detail in run_mutations.check_sample(REPO):
			report(tally, name, 'PASS' if passed else 'FAIL', detail)
	run_test(tally, Test('policy/minimum-counts', functools.partial(minimum_counts, tally)))
	if tally.list_only:
		return 0
	print(tally.line(), flush=True)
	return 1 if tally.failed else 0


if __name__ == '__main__':
	sys.exit(main())
