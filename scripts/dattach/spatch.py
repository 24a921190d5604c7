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
# and --no-scanner, because spatch otherwise lists the files of --dir with
# `git grep` whenever the work directory happens to sit inside a git work
# tree, and then finds none of our untracked copies.
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
	 targets: list[str]) -> subprocess.CompletedProcess[str]:
	cmd = [request.spatch, '--sp-file', str(step.cocci), *SPATCH_OPTIONS,
	       *header_options(step.cocci)]
	if targets == ['.']:
		cmd += ['--dir', '.']
		if request.jobs > 1:
			# chunksize 1: the files differ hugely in size.
			cmd += ['--jobs', str(request.jobs), '--chunksize', '1']
	else:
		cmd += targets
	return run_spatch(cmd, request.workdir, f'{step.cocci.name} on {" ".join(targets)}')


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


def _check(step: Step, targets: list[str],
	   done: subprocess.CompletedProcess[str]) -> None:
	if done.returncode == 0:
		return
	lines = [line for line in done.stderr.splitlines() if line.strip()]
	where = _mentioned_file(done.stderr) or ' '.join(targets)
	if targets == ['.']:
		where = _mentioned_file(done.stderr) or f'{len(step.files)} files'
	why = lines[-1].strip() if lines else f'exit status {done.returncode}'
	raise ToolError(f'spatch {step.cocci.name} failed on {where}: {why}')


# A semantic patch that adapted the change to the tree says how on a line
# of its own (see the script rules in cocci/); the mail and the summary
# carry it to the user.
NOTE_PREFIX = 'deferred-attach-note: '


@dataclasses.dataclass(frozen=True)
class SeriesResult:
	messages: list[str]	# spatch's stderr lines
	notes: list[str]	# what the semantic patches adapted, in order


def run_series(request: SpatchRequest) -> SeriesResult:
	"""Apply each step in series order, in place, in the work directory."""
	all_files = set(request.plan.files)
	messages: list[str] = []
	notes: list[str] = []
	for step in request.plan.steps:
		if not step.files:
			continue
		if not step.cocci.is_file():
			raise ToolError(f'{step.cocci}: no such semantic patch')
		if set(step.files) == all_files and len(step.files) > 1:
			# One process over the whole (small) work directory,
			# using spatch's own parallelism.
			groups = [['.']]
		else:
			groups = [[rel] for rel in step.files]
		workers = max(1, min(request.jobs, len(groups)))
		with concurrent.futures.ThreadPoolExecutor(workers) as pool:
			runs = list(pool.map(lambda g: (g, _run(request, step, g)),
					     groups))
		for targets, done in runs:
			_check(step, targets, done)
			messages += done.stderr.splitlines()
			for line in done.stdout.splitlines():
				if line.startswith(NOTE_PREFIX):
					note = line[len(NOTE_PREFIX):].strip()
					if note not in notes:
						notes.append(note)
	return SeriesResult(messages=messages, notes=notes)


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
