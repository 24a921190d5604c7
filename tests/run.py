#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run every test of the toolkit: `make check` runs this.

One line per test, `PASS name` or `FAIL name` with the reason indented
below it, then exactly one line `N passed, N failed` (`, N skipped` only
when something was skipped, and always with the reason).  Exit status 1 on
any failure.

Kinds of test, in order:
  golden/<case>           tests/golden/<case>/tree through `diff`, compared
                          byte for byte with expected.diff (and
                          expected.stderr when present); the tree unchanged
  golden/<case>/feedback  the diff applied to a copy, then `diff` again: empty
  unit/...                tests/unit/test_*.py, one line per test method
  mypy                    mypy --strict over scripts/
  real/...                Debian's linux-source-6.1 and -6.12, see RealTrees
  boot/...                the boot proof under QEMU (scripts/dattach/bootproof.py)
"""

import dataclasses
import difflib
import functools
import hashlib
import io
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

sys.path.insert(0, str(REPO / 'scripts'))
from dattach import plan, tree  # noqa: E402

import real_commands  # noqa: E402  (tests/, next to this file)

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
class Tally:
	passed: int = 0
	failed: int = 0
	skipped: int = 0

	def line(self) -> str:
		text = f'{self.passed} passed, {self.failed} failed'
		if self.skipped:
			text += f', {self.skipped} skipped'
		return text


def report(tally: Tally, name: str, status: str, detail: str = '') -> None:
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


def files_of(diff: str) -> set[str]:
	"""Files a diff changes, from its +++ lines, tree-relative."""
	names = set()
	for line in diff.splitlines():
		if line.startswith('+++ '):
			name = line[4:].split('\t')[0]
			names.add(name[2:] if name.startswith('b/') else name)
	return names


# --- golden cases ----------------------------------------------------------------

def golden_tests() -> Iterator[Test]:
	for case in sorted(p for p in GOLDEN.glob('*') if (p / 'tree').is_dir()):
		yield Test(f'golden/{case.name}', functools.partial(golden_case, case))
		yield Test(f'golden/{case.name}/feedback',
			   functools.partial(golden_feedback, case))


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
	if first.status == 0 and again.status != 0:
		raise Failure(f'exit status {again.status}: {again.stderr.strip()}')


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


def run_unit_tests(tally: Tally) -> None:
	suite = unittest.defaultTestLoader.discover(str(UNIT), pattern='test_*.py',
						    top_level_dir=str(UNIT))
	# unittest prints nothing itself with a bare TestResult.
	suite.run(_LineResult(tally))


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
	sys.path.insert(0, str(REPO / 'tests' / 'harness'))
	import run_harness  # noqa: E402  (a sibling directory, not a package)
	for name, reason in run_harness.skips(REPO):
		report(tally, name, 'SKIP', reason)
	for name, passed, detail in run_harness.run_all(REPO):
		report(tally, name, 'PASS' if passed else 'FAIL',
		       '' if passed else detail)


def main() -> int:
	tally = Tally()
	for test in golden_tests():
		run_test(tally, test)
	run_unit_tests(tally)
	run_test(tally, Test('mypy', mypy_check))
	run_harness(tally)
	if os.environ.get('DATTACH_NO_REAL'):
		# For a quick loop while editing; counted, never silent.
		for test in RealTrees().tests():
			report(tally, test.name, 'SKIP', 'DATTACH_NO_REAL is set')
		report(tally, 'boot', 'SKIP', 'DATTACH_NO_REAL is set')
	else:
		for test in RealTrees().tests():
			run_test(tally, test)
		# The boot proof under QEMU (scripts/dattach/bootproof.py).
		from dattach import bootproof
		for result in bootproof.results():
			report(tally, result.name, 'PASS' if result.passed else 'FAIL', result.detail)
	print(tally.line(), flush=True)
	return 1 if tally.failed else 0


if __name__ == '__main__':
	sys.exit(main())
