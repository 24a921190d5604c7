#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench: how fast is the toolkit on a whole tree, against what?

On Debian's linux-source-6.1, in one invocation: the median time of the
toolkit's `diff`, of a plain `grep -rl` for the probe's key identifiers
(the floor: any tool must read the tree once), and of the kernel's own
`make coccicheck MODE=patch COCCI=<each of cocci/>` over the whole tree (in
a scratch hardlinked copy, so nothing is written into the cached tree).
Each command runs under a fresh wrapper process, so the peak memory
(RUSAGE_CHILDREN ru_maxrss) is that command's alone.  Checks that the
toolkit and coccicheck make the same change, then prints the ratios next
to their targets.  `make bench` runs this; it asserts nothing.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dattach import plan, probe, tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRATCH = tree.CACHE_DIR / 'scratch' / 'bench-linux-6.1'

# Targets, printed next to the results.
TOOLKIT_OVER_GREP = 1.5
COCCICHECK_OVER_TOOLKIT = 10.0
PEAK_MB = 300
# Five coccicheck runs longer than this take three instead.
COCCICHECK_BUDGET_SECONDS = 15 * 60
# A whole-tree coccicheck run of one semantic patch is stopped after this
# long; its time then counts as this bound, so the ratio is a lower bound.
# (Coccinelle 1.1.1 infers no file filter from iommu_dma_first_attach.cocci,
# parses all 75,000 files and was seen to crash after 20 minutes.)
COCCICHECK_TIMEOUT_SECONDS = 300
# Where the change lives: coccicheck limited to these directories gives the
# patch the toolkit's diff is compared with.
CHANGE_DIRS = ('drivers/iommu', 'include/linux')

# Runs the command given as JSON on stdin with its stdout to a file, and
# prints its exit status, wall time and peak RSS (its whole process tree).
_WRAPPER = '''
import json, resource, subprocess, sys, time
job = json.load(sys.stdin)
with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
	start = time.monotonic()
	done = subprocess.run(job["cmd"], cwd=job["cwd"], env=job["env"], stdout=out,
			      stderr=err)
	seconds = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"status": done.returncode, "seconds": seconds, "peak_kb": peak}))
'''


class Measure:
	def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
		self.name, self.cmd, self.cwd, self.env = name, cmd, cwd, env
		self.seconds: list[float] = []
		self.peaks: list[int] = []
		self.stdout = ''
		self.failure: Optional[str] = None	# why the last run failed

	def run(self) -> float:
		with tempfile.NamedTemporaryFile(prefix='bench-out.') as out, \
		     tempfile.NamedTemporaryFile(prefix='bench-err.') as err:
			job = {'cmd': self.cmd, 'cwd': str(self.cwd), 'env': self.env,
			       'stdout': out.name, 'stderr': err.name}
			done = subprocess.run([sys.executable, '-c', _WRAPPER],
					      input=json.dumps(job), capture_output=True,
					      text=True, check=True)
			result = json.loads(done.stdout)
			self.stdout = Path(out.name).read_text(errors='replace')
			errors = Path(err.name).read_text(errors='replace')
		if result['status'] not in (0, 1):	# grep: 1 = no match
			tail = '\n'.join(errors.strip().splitlines()[-10:])
			self.failure = (f'{self.name} failed with status {result["status"]} '
					f'after {result["seconds"]:.0f} s:\n{tail}')
		self.seconds.append(result['seconds'])
		self.peaks.append(result['peak_kb'])
		return float(result['seconds'])

	@property
	def median(self) -> float:
		return statistics.median(self.seconds)

	@property
	def peak_mb(self) -> float:
		return max(self.peaks) / 1024


def say(message: str) -> None:
	print(f'bench: {message}', file=sys.stderr, flush=True)


def squash(line: str) -> str:
	return re.sub(r'\s+', '', line)


def changed_lines(diff: str) -> tuple[Counter[str], Counter[str]]:
	"""The removed and added lines of a diff (or of several concatenated),
	whitespace squashed, blank ones left out: the layout step moves only
	whitespace and blank lines, and adds what spatch cannot (kerneldoc)."""
	removed: Counter[str] = Counter()
	added: Counter[str] = Counter()
	for line in diff.splitlines():
		if line.startswith(('+++', '---')):
			continue
		if line[:1] in '+-' and line[1:].strip():
			(added if line[0] == '+' else removed)[squash(line[1:])] += 1
	return removed, added


def _code(lines: Counter[str]) -> Counter[str]:
	"""Squashed lines without comments: the layout step turns the comment
	spatch leaves after the new struct member into its kerneldoc line."""
	code: Counter[str] = Counter()
	for line, count in lines.items():
		line = re.sub(r'/\*.*?\*/', '', line)
		if line and not line.startswith(('*', '/*')):
			code[line] += count
	return code


def compare(toolkit: str, coccicheck: str) -> tuple[bool, str]:
	ours_removed, ours_added = changed_lines(toolkit)
	their_removed, their_added = changed_lines(coccicheck)
	problems = []
	if ours_removed != their_removed:
		problems.append(f'removed lines differ: toolkit only '
				f'{sorted((ours_removed - their_removed).elements())}, '
				f'coccicheck only {sorted((their_removed - ours_removed).elements())}')
	ours_code, their_code = _code(ours_added), _code(their_added)
	if ours_code != their_code:
		problems.append(f'added code differs: toolkit only '
				f'{sorted((ours_code - their_code).elements())}, coccicheck only '
				f'{sorted((their_code - ours_code).elements())}')
	what = (f'the {sum(ours_removed.values())} removed lines and the '
		f'{sum(ours_code.values())} added lines of code, whitespace and blank '
		'lines ignored, comments left out of the added lines (the layout step '
		"turns spatch's trailing member comment into the kerneldoc line); "
		'coccicheck runs each semantic patch alone on the untouched tree')
	if problems:
		return False, what + '\n' + '\n'.join(problems)
	return True, what


def fresh_scratch(kernel: tree.KernelTree) -> Path:
	if SCRATCH.exists():
		shutil.rmtree(SCRATCH)
	SCRATCH.parent.mkdir(parents=True, exist_ok=True)
	subprocess.run(['cp', '-al', str(kernel.path), str(SCRATCH)], check=True)
	return SCRATCH


def main(argv: Optional[list[str]] = None) -> int:
	parser = argparse.ArgumentParser(prog='bench', description=__doc__.split('\n\n')[0])
	parser.add_argument('--runs', type=int, default=5, help='runs per command (default 5)')
	parser.add_argument('--coccicheck-runs', type=int,
			    help='coccicheck runs (default: --runs, or 3 when five would '
				 'take longer than 15 minutes)')
	parser.add_argument('--coccicheck-timeout', type=int,
			    default=COCCICHECK_TIMEOUT_SECONDS,
			    help='stop a whole-tree coccicheck run after this many seconds '
				 f'and count it as that long (default {COCCICHECK_TIMEOUT_SECONDS})')
	args = parser.parse_args(argv)

	kernel = tree.default_tree()
	cpus = os.cpu_count() or 1
	# The scratch copy lives in .cache/, inside this repository's work
	# tree: the ceiling keeps spatch's and git's file scan out of it.
	env = dict(os.environ, LC_ALL='C',
		   GIT_CEILING_DIRECTORIES=str(tree.CACHE_DIR / 'scratch'))
	patterns = [arg for ident in probe.KEY_IDENTIFIERS for arg in ('-e', ident)]
	toolkit = Measure('toolkit diff', [sys.executable, str(REPO / 'scripts' /
					  'deferred_attach.py'), 'diff', str(kernel.path)],
			  REPO, env)
	grep = Measure('grep -rl', ['grep', '-rlF', *patterns, '.'], kernel.path, env)
	# One measured command per semantic patch, so each has its own time,
	# peak memory and, should spatch fail, its own failure.
	cocci = [Measure(f'coccicheck {name}', ['timeout', str(args.coccicheck_timeout),
						 'make', '-s', 'coccicheck',
						 f'COCCI={plan.COCCI_DIR / name}',
						 'MODE=patch', f'J={cpus}'], SCRATCH, env)
		 for name in plan.SERIES]
	scoped = [Measure(f'coccicheck {name} M={where}',
			  ['make', '-s', 'coccicheck', f'COCCI={plan.COCCI_DIR / name}',
			   'MODE=patch', f'M={where}', f'J={cpus}'], SCRATCH, env)
		  for name in plan.SERIES for where in CHANGE_DIRS]

	say(f'linux {kernel.version} at {kernel.path}, {cpus} CPUs')
	# One untimed warm-up read, so that every command finds the tree in
	# the page cache, not just the ones that happen to run second.
	grep.run()
	grep.seconds.clear()
	grep.peaks.clear()
	for number in range(args.runs):
		say(f'run {number + 1}/{args.runs}: toolkit diff, grep -rl')
		toolkit.run()
		grep.run()
	for failed in (toolkit, grep):
		if failed.failure:
			sys.exit(f'bench: {failed.failure}')

	def row(m: Measure, count: int) -> str:
		return (f'{m.name + ":":<14} {m.median:8.2f} s  median of {count}, '
			f'peak {m.peak_mb:6.1f} MB')

	def verdict(ok: bool) -> str:
		return 'met' if ok else 'MISSED'
	over_grep = toolkit.median / grep.median
	print(f'bench: linux {kernel.version}, {cpus} CPUs, whole tree')
	print(row(toolkit, args.runs))
	print(row(grep, args.runs))
	print(f'toolkit/grep:       {over_grep:6.2f}x  target <= {TOOLKIT_OVER_GREP}x  '
	      f'{verdict(over_grep <= TOOLKIT_OVER_GREP)}', flush=True)
	if args.coccicheck_runs == 0:
		print('coccicheck:         skipped (--coccicheck-runs 0)')
		print(f'peak memory:        toolkit {toolkit.peak_mb:.1f} MB  target < '
		      f'{PEAK_MB} MB  {verdict(toolkit.peak_mb < PEAK_MB)}')
		return 0

	fresh_scratch(kernel)
	say('coccicheck run 1 (whole tree, each semantic patch in turn; minutes)')
	first = sum(m.run() for m in cocci)
	runs = args.coccicheck_runs or args.runs
	why = ''
	if args.coccicheck_runs is None and first * runs > COCCICHECK_BUDGET_SECONDS:
		# Three runs when five would not fit; one when even three would
		# take over three times the budget.
		runs = 3 if first * 3 <= 3 * COCCICHECK_BUDGET_SECONDS else 1
		why = (f' ({"median of 3" if runs == 3 else "one run"}, not {args.runs}: '
		       f'one run took {first:.0f} s, {args.runs} would exceed '
		       f'{COCCICHECK_BUDGET_SECONDS // 60} minutes)')
	# A run stopped by the timeout (124) or killed by a crash counts as
	# the time it took: coccicheck took at least that long.
	stopped = [m for m in cocci if m.failure]
	failures = [m.failure for m in stopped if not _cut_short(m)]
	for number in range(1, runs):
		if stopped:
			break
		say(f'coccicheck run {number + 1}/{runs}')
		for m in cocci:
			m.run()
	if stopped:
		why = f' (one run: {len(stopped)} stopped early, see above)'
	say('coccicheck limited to ' + ' and '.join(CHANGE_DIRS) + ', for the same-change check')
	for m in scoped:
		m.run()
	shutil.rmtree(SCRATCH, ignore_errors=True)
	for m in cocci:
		note = ''
		if m.failure:
			note = (f'  stopped: {_cut_short(m)}, counted as {m.seconds[-1]:.0f} s'
				if _cut_short(m) else f'  FAILED: {m.failure}')
		print(row(m, len(m.seconds)) + note)
	failures += [m.failure for m in scoped if m.failure]
	if failures:
		print(f'coccicheck:         FAILED, no ratio{why}')
		for failure in failures:
			print(f'  {failure}')
		return 1
	total = sum(m.median for m in cocci)
	same, what = compare(toolkit.stdout, ''.join(m.stdout for m in scoped))
	under_cocci = total / toolkit.median
	bound = '>= ' if stopped else ''
	cocci_peak = max(m.peak_mb for m in cocci)
	print(f'coccicheck (all):   {bound}{total:.2f} s  sum of the medians{why}')
	print(f'coccicheck/toolkit: {bound}{under_cocci:.1f}x  target >= {COCCICHECK_OVER_TOOLKIT:.0f}x  '
	      f'{verdict(under_cocci >= COCCICHECK_OVER_TOOLKIT)}')
	print(f'peak memory:        toolkit {toolkit.peak_mb:.1f} MB  target < {PEAK_MB} MB  '
	      f'{verdict(toolkit.peak_mb < PEAK_MB)}; coccicheck {cocci_peak:.1f} MB, '
	      f'grep {grep.peak_mb:.1f} MB')
	print(f'same change:        {"yes" if same else "NO"}: toolkit diff against coccicheck '
	      f'M={" M=".join(CHANGE_DIRS)}: {what}')
	return 0 if same else 1


def _cut_short(m: Measure) -> str:
	"""Why a whole-tree coccicheck run stopped early, when it was the
	timeout or a crash rather than a wrong result ('' otherwise)."""
	if m.failure is None:
		return ''
	if 'status 124' in m.failure:
		return 'timeout'
	if 'Segmentation fault' in m.failure or 'status 139' in m.failure or 'Error 139' in m.failure:
		return 'spatch crashed'
	return ''

if __name__ == '__main__':
	sys.exit(main())
