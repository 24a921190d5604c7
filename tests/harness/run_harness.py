#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Behavioural harness: run the IOMMU core of each golden case, in C.

For every golden case with an expected.diff, the case's
drivers/iommu/iommu.c is compiled against the mock kernel headers in
tests/harness/mock/ together with tests/harness/scenarios.c (a mock IOMMU
driver and the scenarios of upstream dd8a25c557e1), under ASan and UBSan,
twice:

  converted     tree/ with expected.diff applied (in a temporary copy):
                must pass every scenario with upstream v6.3's outcomes;
  unconverted   tree/ itself: must show exactly the outcomes its code
                implies, the old wrong ones where the input has the old
                code (UNCONVERTED below says what, case by case).

A case whose expected.diff is empty is already converted: only the
converted build runs, on tree/ itself.  A case can opt out with a file
tests/golden/<case>/harness-skip holding the reason; it is reported as
SKIP with that reason, as are cases the harness cannot run (no
expected.diff yet, no drivers/iommu/iommu.c, an input the toolkit
refuses).

    /usr/bin/python3 tests/harness/run_harness.py [CASE...]

prints one line per scenario (`PASS harness/<case>/<build>/<scenario>`,
`FAIL ...` with the reasons indented below, `SKIP ...` with the reason),
then `N passed, N failed` (`, N skipped` when something was skipped).
tests/run.py counts each scenario as a test through run_all().
"""

import argparse
import concurrent.futures
import dataclasses
import enum
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

HARNESS = Path(__file__).resolve().parent
MOCK = HARNESS / 'mock'
SCENARIOS_C = HARNESS / 'scenarios.c'
MOCK_C = MOCK / 'mock.c'

# The lines scenarios.c prints, in order; `sanitizers` is the runner's own:
# the process exited as its lines imply, with no ASan/UBSan/LSan report.
SCENARIOS = (
	'0-selfcheck-lockdep-mock',
	'1a-defer-via-probe-device',
	'1b-defer-via-bus-probe',
	'1c-defer-via-group-add-device',
	'2-deferred-attach-once',
	'3-detach-after-deferred-attach',
	'3b-detach-after-explicit-attach',
	'4-no-defer-attaches-at-probe',
	'sanitizers',
)

CC = 'gcc'
# -Wno-unused-parameter: the kernel's own W=1 (-Wextra) turns it off too,
# and reduced fixtures keep parameters the real functions use.
CFLAGS = ('-std=gnu11', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
	  '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
	  '-fno-omit-frame-pointer', '-g', '-O1')
# Only for builds of tree/ as it is (unconverted, or an empty expected.diff):
# a reduced input may keep a static helper its cut-down callers no longer
# use (already-converted-v6.5's __iommu_group_for_each_dev()).  That is the
# fixture's business, not the conversion's; a helper the conversion leaves
# unused is still an error in the converted build.
AS_GIVEN_CFLAGS = ('-Wno-unused-function',)

SANITIZER_ENV = {
	'ASAN_OPTIONS': 'detect_leaks=1',
	'UBSAN_OPTIONS': 'print_stacktrace=1:halt_on_error=1',
}
SANITIZER_REPORT = re.compile(r'ERROR: (Address|Leak)Sanitizer|runtime error:')

Expectation = Union[int, str]	# a count, or 'any' for "not checked"


# --- what an unconverted input must do ---------------------------------------------
#
# scenarios.c's defaults are the converted outcomes; `scenarios --list`
# names every key.  For an unconverted build the runner passes what the
# input's own code implies.  A fully unconverted input (v5.10 to v6.2
# shapes, vendor variants) has no attach_deferred member, so no flag key
# is checked, and shows the old wrong outcomes:

OLD_FULL: Mapping[str, Expectation] = {
	# iommu_probe_device() calls __iommu_attach_device() without asking
	# the op: a deferring driver is attached at probe anyway.
	'1a.attach': 1,
	# The deferred attach asks the op, which keeps saying "deferred"
	# (a kdump kernel): every call attaches again.
	'2.attach2': 2,
	# __iommu_detach_device() returns early while the op says "deferred":
	# the detach never reaches the driver.  The bug upstream fixed.
	'3.detach': 0,
	'3b.detach': 0,
}


@dataclasses.dataclass(frozen=True)
class Old:
	"""The unconverted build runs, with these outcomes."""
	expect: Mapping[str, Expectation]
	why: str


@dataclasses.dataclass(frozen=True)
class NotBuildable:
	"""The unconverted build cannot run; reported as SKIP."""
	reason: str


OLD_DEFAULT = Old(OLD_FULL, 'a fully unconverted input: the old outcomes '
		  '(a half-converted input needs its own entry in UNCONVERTED '
		  'of tests/harness/run_harness.py)')

# Half-converted inputs: all places converted but the one the name says
# (place-*), or what a partial backport left (the others).
UNCONVERTED: Mapping[str, Union[Old, NotBuildable]] = {
	'place-probe-device': Old({'1a.attach': 1, '1a.flag': 0},
		'iommu_probe_device() still calls __iommu_attach_device() '
		'directly: a deferring driver is attached at probe and the flag '
		'is never set (other paths and the detach are converted)'),
	'place-group-add-device': Old({'1c.flag': 0},
		'iommu_group_add_device() still asks the op inline: it does not '
		'attach (right) but does not set the flag either'),
	'place-bus-probe-callback': Old(
		{'1b.flag': 0, '2.attach1': 0, '2.attach2': 0, '3.attach': 0},
		'bus_iommu_probe() still uses iommu_group_do_dma_attach(), which '
		'skips the attach without setting the flag, while '
		'iommu_deferred_attach() already reads the flag: a device probed '
		'that way is never attached (2, 3), though its detach is not '
		'blocked (3.detach 1)'),
	'place-deferred-attach-reads-flag': Old({'2.attach2': 2},
		'iommu_deferred_attach() still asks the op, which keeps saying '
		'"deferred": the second call attaches again (the flag is set at '
		'probe and cleared by the first attach, as converted)'),
	'place-detach-not-blocked': Old({'3.detach': 0, '3b.detach': 0},
		'__iommu_detach_device() still returns early while the op says '
		'"deferred": both detaches are skipped (the flag works)'),
	'place-attach-clears-flag': Old(
		{'2.flag1': 1, '2.attach2': 2, '2.flag2': 1, '3b.flag': 1},
		'__iommu_attach_device() does not clear the flag: it stays set '
		'after the deferred attach, so a second deferred attach attaches '
		'again, and after an explicit attach the flag is still set'),
	# A partial vendor backport, not one missing place: the member
	# (a bool) and iommu_deferred_attach() reading it are in, the rest is
	# the old code.
	'half-converted-vendor-bool-member': Old(
		{'1a.attach': 1, '1a.flag': 0, '1b.flag': 0, '1c.flag': 0,
		 '2.attach1': 0, '2.attach2': 0, '3.attach': 0,
		 '3.detach': 0, '3b.detach': 0},
		'the member exists and iommu_deferred_attach() reads it, but '
		'nothing sets it: iommu_probe_device() still attaches a deferring '
		'driver at once (1a), bus_iommu_probe() and '
		'iommu_group_add_device() still ask the op and skip the attach '
		'without setting the flag (1b, 1c), so the deferred attach never '
		'attaches (2, 3); __iommu_detach_device() still returns early '
		'while the op says "deferred" (3.detach, 3b.detach 0)'),
	'place-dev-iommu-member': NotBuildable(
		'its iommu.c uses dev->iommu->attach_deferred but its '
		'include/linux/iommu.h has no such member: the input cannot '
		'compile (nor would the kernel)'),
}


# --- results --------------------------------------------------------------------------

class Status(enum.Enum):
	PASS = 'PASS'
	FAIL = 'FAIL'
	SKIP = 'SKIP'


@dataclasses.dataclass(frozen=True)
class Result:
	name: str
	status: Status
	detail: str = ''


@dataclasses.dataclass
class Build:
	"""One compile-and-run of scenarios.c against one tree."""
	case: str
	variant: str			# 'converted' or 'unconverted'
	tree: Path
	expect: Mapping[str, Expectation]
	note: str = ''			# said with every failure
	as_given: bool = False		# tree/ itself, not the toolkit's output
	problem: str = ''		# set: nothing runs, every scenario fails

	@property
	def label(self) -> str:
		return f'{self.case}/{self.variant}'

	def name(self, scenario: str) -> str:
		return f'harness/{self.label}/{scenario}'

	def all_failed(self, why: str) -> list[Result]:
		first, rest = SCENARIOS[0], SCENARIOS[1:]
		return ([Result(self.name(first), Status.FAIL, why)] +
			[Result(self.name(s), Status.FAIL, f'not run: see {self.name(first)}')
			 for s in rest])


# --- reading a tree ---------------------------------------------------------------------

MEMBER_RE = re.compile(r'\battach_deferred\s*(?::\s*1\s*)?;')
TWO_ARG_OP_RE = re.compile(
	r'\(\s*\*\s*is_attach_deferred\s*\)\s*\(\s*struct\s+iommu_domain\b')
DEFERRED_ATTACH_PROTO_RE = re.compile(r'\biommu_deferred_attach\s*\(')
PGSIZE_BITMAP_RE = re.compile(r'\bpgsize_bitmap\s*;')
# v6.5+: the flag is set when the device is initialised, before it joins
# its group; the reduced trees keep iommu_init_device() static.
INIT_DEVICE_RE = re.compile(r'^static\s+int\s+iommu_init_device\s*\(\s*struct\s+device\s*\*\s*\w+\s*\)',
			    re.M)
DETACH_TRACE_RE = re.compile(r'\btrace_detach_device_from_domain\s*\(')
COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def _source(path: Path) -> str:
	"""A C file without its comments (kerneldoc names members too)."""
	return COMMENT_RE.sub(' ', path.read_text(encoding='utf-8', errors='replace'))


def has_member(tree: Path) -> bool:
	header = tree / 'include' / 'linux' / 'iommu.h'
	return header.is_file() and bool(MEMBER_RE.search(_source(header)))


def defines(tree: Path) -> list[str]:
	"""The -D options scenarios.c needs for this tree's shape."""
	header = tree / 'include' / 'linux' / 'iommu.h'
	text = _source(header) if header.is_file() else ''
	iommu_c = tree / 'drivers' / 'iommu' / 'iommu.c'
	core = _source(iommu_c) if iommu_c.is_file() else ''
	result = [f'-DHARNESS_IOMMU_C={_c_string(iommu_c)}']
	if MEMBER_RE.search(text):
		result.append('-DHARNESS_HAS_ATTACH_DEFERRED')
	if TWO_ARG_OP_RE.search(text):
		result.append('-DHARNESS_OP_TAKES_DOMAIN')
	# Asahi: __iommu_attach_device() checks the domain's page sizes.
	if PGSIZE_BITMAP_RE.search(text):
		result.append('-DHARNESS_DOMAIN_HAS_PGSIZE_BITMAP')
	if INIT_DEVICE_RE.search(core):
		result.append('-DHARNESS_INIT_DEVICE')
	# A core whose detach has no trace point (the v6.5+ shape): driver
	# detaches are not matched with detach trace events.
	if not DETACH_TRACE_RE.search(core):
		result.append('-DHARNESS_NO_DETACH_TRACE')
	dma = tree / 'drivers' / 'iommu' / 'dma-iommu.c'
	# v5.7-v5.10: no iommu_deferred_attach(); the DMA API attaches.
	if dma.is_file() and not DEFERRED_ATTACH_PROTO_RE.search(text):
		result.append(f'-DHARNESS_DMA_IOMMU_C={_c_string(dma)}')
	return result


def _c_string(path: Path) -> str:
	text = str(path.resolve())
	if '"' in text or '\\' in text or '\n' in text:
		raise ValueError(f'{text}: a path the harness cannot quote for #include')
	return f'"{text}"'


# --- planning ------------------------------------------------------------------------------

def git_env(scratch: Path) -> dict[str, str]:
	return dict(os.environ, GIT_CEILING_DIRECTORIES=str(scratch.parent), LC_ALL='C')


def plan_case(case: Path, scratch: Path) -> tuple[list[Build], list[Result]]:
	"""The builds of one golden case, or why it has none (SKIP results).

	scratch is a fresh directory this case may use for its converted copy.
	"""
	name = case.name
	tree = case / 'tree'
	skip_file = case / 'harness-skip'
	if skip_file.is_file():
		reason = skip_file.read_text(encoding='utf-8', errors='replace').strip()
		return [], [Result(f'harness/{name}', Status.SKIP,
				   f'{skip_file.name}: {reason or "(no reason given in the file)"}')]
	if not (tree / 'drivers' / 'iommu' / 'iommu.c').is_file():
		return [], [Result(f'harness/{name}', Status.SKIP,
				   'tree/ has no drivers/iommu/iommu.c: nothing to build')]
	diff = case / 'expected.diff'
	if not diff.is_file():
		return [], [Result(f'harness/{name}', Status.SKIP,
				   'no expected.diff yet: no converted result to run')]
	stderr = case / 'expected.stderr'
	if stderr.is_file() and 'error:' in stderr.read_text(encoding='utf-8', errors='replace'):
		return [], [Result(f'harness/{name}', Status.SKIP,
				   'the toolkit refuses this input (expected.stderr has an '
				   'error): there is no converted result to run')]

	builds = []
	results: list[Result] = []
	patch = diff.read_text(encoding='utf-8', errors='surrogateescape')
	if not patch:
		converted = Build(name, 'converted', tree, {},
				  'expected.diff is empty, so the converted result is tree/ itself',
				  as_given=True)
	else:
		copy = scratch / 'converted'
		shutil.copytree(tree, copy, symlinks=True)
		converted = Build(name, 'converted', copy, {})
		applied = subprocess.run(['git', 'apply', str(diff.resolve())], cwd=copy,
					 capture_output=True, text=True, env=git_env(scratch),
					 check=False)
		if applied.returncode != 0:
			converted.problem = (f'git apply expected.diff failed (exit '
					     f'{applied.returncode}):\n{applied.stderr.strip()}')
	if not converted.problem and not has_member(converted.tree):
		converted.problem = ('the converted include/linux/iommu.h has no '
				     'attach_deferred member in struct dev_iommu')
		if not patch:
			converted.problem += (
				'; expected.diff is empty, so tree/ should be converted '
				'already: is expected.diff a placeholder, or is this input '
				'one the toolkit should complete or refuse?')
	builds.append(converted)

	if patch:
		old = UNCONVERTED.get(name, OLD_DEFAULT)
		if isinstance(old, NotBuildable):
			results.append(Result(f'harness/{name}/unconverted', Status.SKIP,
					      f'unconverted build not run: {old.reason}'))
		else:
			builds.append(Build(name, 'unconverted', tree, old.expect,
					    f'unconverted input: {old.why}', as_given=True))
	return builds, results


# --- building and running ------------------------------------------------------------------

def _tail(text: str, lines: int = 40) -> str:
	kept = text.rstrip('\n').splitlines()
	cut = len(kept) - lines
	return '\n'.join((['...'] if cut > 0 else []) + kept[max(cut, 0):])


def _report(stderr: str) -> str:
	"""A sanitizer report from its start, without the shadow-byte map."""
	lines = stderr.splitlines()
	for i, line in enumerate(lines):
		if SANITIZER_REPORT.search(line):
			kept = []
			for line in lines[i:i + 40]:
				if line.startswith('Shadow bytes around'):
					break
				kept.append(line)
			summary = [l for l in lines[i + len(kept):] if l.startswith('SUMMARY:')]
			return '\n'.join(kept + summary)
	return _tail(stderr)


def compile_cmd(build: Build, exe: Path, mock: Path = MOCK_C) -> list[str]:
	"""mock: mock.c, or the object mock_object() made of it."""
	return [CC, *CFLAGS, *(AS_GIVEN_CFLAGS if build.as_given else ()),
		'-I', str(MOCK), '-I', str(build.tree / 'include'),
		*defines(build.tree), str(SCENARIOS_C), str(mock), '-o', str(exe)]


def mock_object(root: Path) -> tuple[Optional[Path], str]:
	"""mock.c compiled once for every build (it needs no tree), or why not."""
	obj = root / 'mock.o'
	cmd = [CC, *CFLAGS, '-I', str(MOCK), '-c', str(MOCK_C), '-o', str(obj)]
	try:
		cc = subprocess.run(cmd, capture_output=True, text=True, check=False,
				    timeout=300)
	except (OSError, subprocess.TimeoutExpired) as err:
		return None, f'cannot compile mock.c: {err}'
	if cc.returncode != 0:
		return None, (f'mock.c failed to build (exit {cc.returncode}):\n'
			      f'{" ".join(cmd)}\n{_tail(cc.stderr)}')
	return obj, ''


def run_cmd(build: Build, exe: Path) -> list[str]:
	cmd = [str(exe), '--label', build.label]
	for key, value in sorted(build.expect.items()):
		cmd += ['--expect', f'{key}={value}']
	return cmd


def run_build(build: Build, workdir: Path, mock: Path = MOCK_C) -> list[Result]:
	if build.problem:
		return build.all_failed(build.problem)
	workdir.mkdir(parents=True, exist_ok=True)
	exe = workdir / 'scenarios'
	try:
		cmd = compile_cmd(build, exe, mock)
		cc = subprocess.run(cmd, capture_output=True, text=True, check=False,
				    timeout=300)
	except (OSError, ValueError, subprocess.TimeoutExpired) as err:
		return build.all_failed(f'cannot compile: {err}')
	if cc.returncode != 0:
		return build.all_failed(f'build failed (exit {cc.returncode}):\n'
					f'{" ".join(cmd)}\n{_tail(cc.stderr)}')
	try:
		run = subprocess.run(run_cmd(build, exe), capture_output=True, text=True,
				     check=False, timeout=120,
				     env=dict(os.environ, **SANITIZER_ENV))
	except subprocess.TimeoutExpired:
		return build.all_failed('the scenarios did not finish in 120 s')
	return parse_run(build, run.returncode, run.stdout, run.stderr)


def parse_run(build: Build, status: int, stdout: str, stderr: str) -> list[Result]:
	seen: dict[str, Result] = {}
	extra: list[Result] = []
	prefix = f'{build.label}/'
	for line in stdout.splitlines():
		word, _, rest = line.partition(' ')
		if word not in ('PASS', 'FAIL') or not rest.startswith(prefix):
			continue
		scenario, _, why = rest[len(prefix):].partition(': ')
		detail = why.replace('; ', '\n')
		if word == 'FAIL' and build.note:
			detail += f'\n({build.note})'
		result = Result(build.name(scenario), Status(word), detail)
		if scenario in SCENARIOS:
			seen[scenario] = result
		else:
			extra.append(Result(result.name, Status.FAIL,
					    'scenarios.c ran a scenario run_harness.SCENARIOS '
					    'does not list: update the list'))
	failed = any(r.status is Status.FAIL for r in seen.values())
	problems = []
	if SANITIZER_REPORT.search(stderr):
		problems.append('sanitizer report')
	if status != (1 if failed else 0):
		problems.append(f'exit status {status}')
	results = []
	first_missing = ''
	for scenario in SCENARIOS:
		if scenario in seen:
			results.append(seen[scenario])
		elif scenario == 'sanitizers':
			results.append(Result(build.name(scenario),
					      Status.FAIL if problems else Status.PASS,
					      f'{", ".join(problems)}:\n{_report(stderr)}' if problems else ''))
		elif first_missing:
			results.append(Result(build.name(scenario), Status.FAIL,
					      f'no result line: see {first_missing}'))
		else:
			first_missing = build.name(scenario)
			why = f'no result line: the process ended with exit status {status}'
			if problems:
				why += f' (see {build.name("sanitizers")})'
			else:
				why += f':\n{_tail(stderr)}'
			results.append(Result(first_missing, Status.FAIL, why))
	return results + extra


# --- the API for tests/run.py ------------------------------------------------------------

def golden_cases(repo: Path, only: Optional[Iterable[str]] = None) -> list[Path]:
	wanted = set(only) if only else None
	return sorted(p for p in (repo / 'tests' / 'golden').glob('*')
		      if (p / 'tree').is_dir() and (wanted is None or p.name in wanted))


def run_cases(repo: Path, only: Optional[Iterable[str]] = None,
	      jobs: Optional[int] = None, keep: Optional[Path] = None) -> list[Result]:
	"""Every result, SKIPs included, in case order.

	keep: build in this directory and leave it there (for debugging).
	"""
	with tempfile.TemporaryDirectory(prefix='dattach-harness.') as tmp:
		root = keep if keep is not None else Path(tmp)
		root.mkdir(parents=True, exist_ok=True)
		per_case: list[tuple[list[Build], list[Result]]] = []
		for case in golden_cases(repo, only):
			scratch = root / case.name
			if scratch.exists():
				shutil.rmtree(scratch)
			scratch.mkdir()
			per_case.append(plan_case(case, scratch))
		mock, why = mock_object(root)
		for builds, _ in per_case:
			for build in builds:
				if mock is None and not build.problem:
					build.problem = why
		with concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
			futures = [[pool.submit(run_build, b, root / b.case / f'build-{b.variant}',
						mock or MOCK_C)
				    for b in builds] for builds, _ in per_case]
			results: list[Result] = []
			for (_, skips), case_futures in zip(per_case, futures):
				for future in case_futures:
					results.extend(future.result())
				results.extend(skips)
	return results


def run_all(repo: Path) -> list[tuple[str, bool, str]]:
	"""(name, passed, detail) of every scenario run; SKIPs are in skips()."""
	return [(r.name, r.status is Status.PASS, r.detail)
		for r in run_cases(repo) if r.status is not Status.SKIP]


def skips(repo: Path) -> list[tuple[str, str]]:
	"""(name, reason) of what the harness does not run, without building."""
	result = []
	with tempfile.TemporaryDirectory(prefix='dattach-harness.') as tmp:
		for case in golden_cases(repo):
			scratch = Path(tmp) / case.name
			scratch.mkdir()
			result += [(r.name, r.detail) for r in plan_case(case, scratch)[1]]
	return result


# --- command line ---------------------------------------------------------------------------

def print_results(results: Sequence[Result]) -> int:
	counts = {status: 0 for status in Status}
	for result in results:
		print(f'{result.status.value} {result.name}')
		for line in result.detail.rstrip('\n').splitlines():
			print(f'    {line}')
		counts[result.status] += 1
	summary = f'{counts[Status.PASS]} passed, {counts[Status.FAIL]} failed'
	if counts[Status.SKIP]:
		summary += f', {counts[Status.SKIP]} skipped'
	print(summary)
	return 1 if counts[Status.FAIL] else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	parser.add_argument('cases', nargs='*', help='golden case names (default: all)')
	parser.add_argument('--repo', type=Path, default=HARNESS.parents[1],
			    help='repository root (default: this file\'s)')
	parser.add_argument('-j', '--jobs', type=int, help='builds at once (default: CPUs)')
	parser.add_argument('--keep', type=Path, metavar='DIR',
			    help='build in DIR and keep it (converted copies, binaries)')
	args = parser.parse_args(argv)
	unknown = set(args.cases) - {p.name for p in golden_cases(args.repo)}
	if unknown:
		parser.error(f'no such golden case: {", ".join(sorted(unknown))}')
	return print_results(run_cases(args.repo, args.cases, args.jobs, args.keep))


if __name__ == '__main__':
	sys.exit(main())
