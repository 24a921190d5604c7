"""Run the plan's semantic patches on copies of the planned files.

The copies live in a work directory that mirrors the files' paths relative
to the tree, so spatch's --dir and the diff step see tree-relative paths and
nothing is ever written inside the user's tree.
"""

import concurrent.futures
import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from dattach.errors import ToolError
from dattach.plan import Plan, Step

# What every run needs: patch mode (the cocci files also serve coccicheck's
# report/context/org modes); headers are patched too (struct dev_iommu), but
# never followed from a .c file, which keeps each file independent and fast;
# lines wrapped at 100 columns as the kernel's own scripts/coccicheck does;
# and --no-scanner: the files are named one by one, and spatch must not go
# looking for others with `git grep` when the work directory happens to sit
# inside a git work tree.
SPATCH_OPTIONS = ['-D', 'patch', '--no-includes', '--include-headers',
		  '--very-quiet', '--max-width', '100', '--no-scanner',
		  '--in-place', '--no-show-diff']

# A file spatch chews on for longer than this is not going to finish.
TIMEOUT_SECONDS = 600


@dataclasses.dataclass(frozen=True)
class SpatchRequest:
	plan: Plan
	workdir: Path		# holds the copies, tree-relative paths
	jobs: int = 1
	spatch: str = 'spatch'	# the program; tests put a fake one here


def header_options(cocci: Path) -> list[str]:
	"""The options a cocci file asks for on its '// Options:' line, which the
	kernel's coccicheck passes to spatch too (e.g. --max-width), so both
	print the same code."""
	for line in cocci.read_text().splitlines():
		if line.startswith('// Options:'):
			return [opt for opt in line[len('// Options:'):].split()
				if opt not in SPATCH_OPTIONS]
	return []


def copy_files(tree_path: Path, files: list[str], dest: Path) -> None:
	for rel in files:
		target = dest / rel
		target.parent.mkdir(parents=True, exist_ok=True)
		shutil.copyfile(tree_path / rel, target)


def _run(request: SpatchRequest, step: Step,
	 rel: str) -> subprocess.CompletedProcess[str]:
	cmd = [request.spatch, '--sp-file', str(step.cocci), *SPATCH_OPTIONS,
	       *header_options(step.cocci), rel]
	return run_spatch(cmd, request.workdir, f'{step.cocci.name} on {rel}')


def run_spatch(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
	"""Run a spatch command line; ToolError when spatch is missing or
	hangs (its exit status is the caller's to judge)."""
	try:
		return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
				      errors='replace', check=False,
				      timeout=TIMEOUT_SECONDS)
	except FileNotFoundError as err:
		raise ToolError(f'{cmd[0]} is not installed '
				'(apt-get install coccinelle, or make deps)') from err
	except subprocess.TimeoutExpired as err:
		raise ToolError(f'{what}: spatch took longer than '
				f'{TIMEOUT_SECONDS}s') from err


def _mentioned_file(stderr: str) -> Optional[str]:
	match = re.search(r'File "([^"]+)", line (\d+)', stderr)
	if match:
		return f'{os.path.normpath(match.group(1))}:{match.group(2)}'
	return None


def _check(step: Step, rel: str,
	   done: subprocess.CompletedProcess[str]) -> None:
	if done.returncode == 0:
		return
	lines = [line for line in done.stderr.splitlines() if line.strip()]
	where = _mentioned_file(done.stderr) or rel
	why = lines[-1].strip() if lines else f'exit status {done.returncode}'
	raise ToolError(f'spatch {step.cocci.name} failed on {where}: {why}')


def _run_file_series(request: SpatchRequest, rel: str) -> None:
	"""The steps that touch one file, one after another, in place."""
	for step in request.plan.steps_for(rel):
		_check(step, rel, _run(request, step, rel))


def run_series(request: SpatchRequest) -> None:
	"""Apply each step in series order, in place, in the work directory.

	Series order only matters within a file, so the files go in parallel,
	each through its own steps: a handful of short spatch processes, each
	on the few files that hold its patch's keywords (see plan.py)."""
	for step in request.plan.steps:
		if step.files and not step.cocci.is_file():
			raise ToolError(f'{step.cocci}: no such semantic patch')
	files = request.plan.files
	workers = max(1, min(request.jobs, len(files)))
	with concurrent.futures.ThreadPoolExecutor(workers) as pool:
		# list(): re-raise the first failure here.
		list(pool.map(lambda rel: _run_file_series(request, rel), files))


@dataclasses.dataclass(frozen=True)
class ParseError:
	path: str
	line: int


def parse_errors(spatch: str, workdir: Path, rel: str) -> list[ParseError]:
	"""Where spatch's C parser gives up in <workdir>/<rel>: spatch skips a
	function it cannot parse without a word, so this is how a function
	left unconverted gets its cause named."""
	try:
		done = subprocess.run([spatch, '--parse-c', rel], cwd=workdir,
				      capture_output=True, text=True,
				      errors='replace', check=False,
				      timeout=TIMEOUT_SECONDS)
	except (OSError, subprocess.TimeoutExpired):
		return []
	output = done.stdout + done.stderr
	found = []
	for match in re.finditer(r'^parse error\s*\n\s*= File "[^"]+", line (\d+)',
				 output, re.MULTILINE):
		found.append(ParseError(path=rel, line=int(match.group(1))))
	return found
