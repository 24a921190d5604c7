#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""bench: how fast is the toolkit on a whole tree, against what?

On Debian's linux-source-6.1, in one invocation, every time against the
median of a plain grep of the tree for this change's identifiers (the
floor: any tool must read the tree once), run in the same invocation and
interleaved with what it is compared with:
  - the toolkit's `diff`: median of 5, target <= 1.3x grep, and where its
    time goes (one more run, in-process, timed by phase);
  - the kernel's own `make coccicheck COCCI=<file> MODE=<mode>` of each
    semantic patch over the whole tree, no M=, in patch, report and
    context mode: target <= 10x grep, and the files spatch's token filter
    kept (target <= 30);
  - that coccicheck over the whole tree makes the same change as the
    toolkit (in a scratch hardlinked copy: nothing is written into the
    cached tree).
Each command runs under a fresh wrapper process, so the peak memory
(RUSAGE_CHILDREN ru_maxrss) is that command's alone.  `make bench` runs
this; it prints ratios and asserts nothing.
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
import time
from collections import Counter
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dattach import plan, probe, tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRATCH = tree.CACHE_DIR / 'scratch' / 'bench-linux-6.1'

# Targets, printed next to the results.
TOOLKIT_OVER_GREP = 1.3
COCCICHECK_OVER_GREP = 10.0
FILES_KEPT = 30
PEAK_MB = 300
# A whole-tree coccicheck run longer than this has lost its file filter:
# it is stopped and reported as such.
COCCICHECK_TIMEOUT_SECONDS = 300
MODES = ('patch', 'report', 'context')
# The baseline: every file that names one of the change's identifiers.
GREP_BASELINE = ['grep', '-rlw', '--include=*.[ch]', '-e', 'iommu_is_attach_deferred',
		 '-e', 'iommu_deferred_attach', '-e', 'dev_iommu', '.']

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
		self.stderr = ''
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
			self.stderr = errors
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


def files_kept(m: Measure) -> Optional[int]:
	"""The "N files match" count of spatch's token filter, from the last
	run's output (scripts/coccicheck sends spatch's stderr to stdout)."""
	found = re.search(r'^(\d+) files match$', m.stdout + m.stderr, re.MULTILINE)
	return int(found.group(1)) if found else None


def phases(kernel: tree.KernelTree) -> list[tuple[str, float]]:
	"""One more toolkit diff, in this process, timed between the
	progress messages of convert(): where the time goes."""
	from dattach import convert
	marks: list[tuple[str, float]] = []
	start = time.monotonic()
	convert.convert(convert.ConvertRequest(tree=kernel, jobs=os.cpu_count() or 1),
			progress=lambda what: marks.append((what, time.monotonic())))
	marks.append(('end', time.monotonic()))
	grep_start = time.monotonic()
	probe.find_candidates(kernel, os.cpu_count() or 1)
	grep_alone = time.monotonic() - grep_start
	spans = [(what, later - when) for (what, when), (_, later) in zip(marks, marks[1:])]
	return ([('total, in process', marks[-1][1] - start)] + spans +
		[('(the tree-wide grep alone, for comparison)', grep_alone)])


def main(argv: Optional[list[str]] = None) -> int:
	parser = argparse.ArgumentParser(prog='bench', description=__doc__.split('\n\n')[0])
	parser.add_argument('--runs', type=int, default=5,
			    help='toolkit diff and grep runs, interleaved (default 5)')
	parser.add_argument('--coccicheck-runs', type=int, default=3,
			    help='whole-tree coccicheck runs of each semantic patch and '
				 'mode, each interleaved with a grep (default 3; 0: none)')
	parser.add_argument('--coccicheck-timeout', type=int,
			    default=COCCICHECK_TIMEOUT_SECONDS,
			    help='stop a whole-tree coccicheck run after this many seconds '
				 f'(default {COCCICHECK_TIMEOUT_SECONDS}); a stopped run has '
				 'no ratio')
	args = parser.parse_args(argv)

	kernel = tree.default_tree()
	cpus = os.cpu_count() or 1
	# The scratch copy lives in .cache/, inside this repository's work
	# tree: the ceiling keeps spatch's and git's file scan out of it.
	env = dict(os.environ, LC_ALL='C',
		   GIT_CEILING_DIRECTORIES=str(tree.CACHE_DIR / 'scratch'))
	toolkit = Measure('toolkit diff', [sys.executable, str(REPO / 'scripts' /
					  'deferred_attach.py'), 'diff', str(kernel.path)],
			  REPO, env)
	grep = Measure('grep -rlw', GREP_BASELINE, kernel.path, env)
	cocci = {(name, mode): Measure(f'coccicheck {name} MODE={mode}',
				       ['timeout', str(args.coccicheck_timeout), 'make', '-s',
					'coccicheck', f'COCCI={plan.COCCI_DIR / name}',
					f'MODE={mode}', f'J={cpus}'], SCRATCH, env)
		 for name in plan.SERIES for mode in MODES}

	say(f'linux {kernel.version} at {kernel.path}, {cpus} CPUs')
	# One untimed warm-up read, so that every command finds the tree in
	# the page cache, not just the ones that happen to run second.
	grep.run()
	grep.seconds.clear()
	grep.peaks.clear()
	for number in range(args.runs):
		say(f'run {number + 1}/{args.runs}: toolkit diff, grep')
		toolkit.run()
		grep.run()
	for measure in (toolkit, grep):
		if measure.failure:
			sys.exit(f'bench: {measure.failure}')
	say('one more toolkit diff, timed by phase')
	timed = phases(kernel)

	def row(m: Measure) -> str:
		return (f'{m.name + ":":<62} {m.median:7.2f} s  median of {len(m.seconds)}, '
			f'peak {m.peak_mb:6.1f} MB')

	def verdict(ok: bool) -> str:
		return 'met' if ok else 'MISSED'
	print(f'bench: linux {kernel.version}, {cpus} CPUs, whole tree; baseline: '
	      f'{" ".join(GREP_BASELINE)}')
	print(row(toolkit))
	print(row(grep))
	over_grep = toolkit.median / grep.median
	print(f'{"toolkit/grep:":<62} {over_grep:7.2f}x  target <= {TOOLKIT_OVER_GREP}x  '
	      f'{verdict(over_grep <= TOOLKIT_OVER_GREP)}')
	print(f'{"peak memory:":<62} toolkit {toolkit.peak_mb:.1f} MB  target < {PEAK_MB} MB  '
	      f'{verdict(toolkit.peak_mb < PEAK_MB)}')
	print('where a toolkit diff spends its time (one run, in process):')
	for what, seconds in timed:
		print(f'  {what + ":":<60} {seconds:7.2f} s')
	sys.stdout.flush()
	if args.coccicheck_runs == 0:
		print('coccicheck:         skipped (--coccicheck-runs 0)')
		return 0

	fresh_scratch(kernel)
	for number in range(args.coccicheck_runs):
		say(f'coccicheck run {number + 1}/{args.coccicheck_runs}: each semantic '
		    f'patch in {", ".join(MODES)} mode over the whole tree, each with a grep')
		for m in cocci.values():
			m.run()
			grep.run()
	whole_tree_patch = ''.join(cocci[(name, 'patch')].stdout for name in plan.SERIES)
	shutil.rmtree(SCRATCH, ignore_errors=True)
	print(row(grep) + '  (again, over all the runs above)')
	failed = False
	for m in cocci.values():
		kept = files_kept(m)
		ratio = m.median / grep.median
		if m.failure:
			failed = True
			why = 'stopped by the timeout' if 'status 124' in m.failure else m.failure
			print(f'{row(m)}  FAILED: {why}')
			continue
		print(f'{row(m)}  {ratio:5.2f}x grep  target <= {COCCICHECK_OVER_GREP:.0f}x  '
		      f'{verdict(ratio <= COCCICHECK_OVER_GREP)};  files kept: {kept}  '
		      f'target <= {FILES_KEPT}  {verdict(kept is not None and kept <= FILES_KEPT)}')
	same, what = compare(toolkit.stdout, whole_tree_patch)
	print(f'same change:        {"yes" if same else "NO"}: toolkit diff against whole-tree '
	      f'coccicheck MODE=patch: {what}')
	return 1 if failed or not same else 0


if __name__ == '__main__':
	sys.exit(main())
