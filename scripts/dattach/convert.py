"""The diff pipeline: probe -> plan -> spatch -> layout -> guard -> emit.

Everything between probe and emit happens on copies in a temporary
directory: <tmp>/a holds the planned files as they are, <tmp>/b the same
files converted.  The user's tree is only read.
"""

import dataclasses
import enum
import sys
import tempfile
from pathlib import Path
from typing import Callable

from dattach import guard, layout
from dattach.emit_diff import unified_diff
from dattach.errors import RefusedError
from dattach.plan import make_plan
from dattach.probe import Classification, ProbeResult, Shape, Site, probe
from dattach.spatch import SpatchRequest, copy_files, run_series
from dattach.tree import KernelTree


class Outcome(enum.Enum):
	CONVERTED = 'converted'
	ALREADY_CONVERTED = 'already converted'


@dataclasses.dataclass(frozen=True)
class ConvertRequest:
	tree: KernelTree
	jobs: int = 1
	spatch: str = 'spatch'


@dataclasses.dataclass(frozen=True)
class ConvertResult:
	tree: KernelTree
	classification: Classification
	outcome: Outcome
	diff: str		# empty when nothing changes
	changed: list[str]	# relative paths of the files the diff touches
	sites: list[Site]	# the deferred-attach calls found by the probe
	notes: list[str] = dataclasses.field(default_factory=list)
	# what the semantic patches adapted to this tree, one sentence each

	def summary(self) -> str:
		head = f'linux {self.tree.version}'
		if self.outcome is Outcome.ALREADY_CONVERTED:
			return f'{head}: {self.classification.reason}'
		count = len(self.changed)
		files = 'file' if count == 1 else 'files'
		return (f'{head}: {self.classification.reason}: '
			f'{count} {files} converted')


def _read(path: Path) -> str:
	# newline='' keeps CRLF and friends as they are: output must be exact.
	with open(path, encoding='utf-8', errors='surrogateescape', newline='') as f:
		return f.read()


def _write(path: Path, text: str) -> None:
	with open(path, 'w', encoding='utf-8', errors='surrogateescape', newline='') as f:
		f.write(text)


def _refuse_unless_convertible(result: ProbeResult) -> None:
	shape = result.classification
	head = f'linux {result.tree.version}'
	if shape.shape is Shape.NOT_APPLICABLE:
		raise RefusedError(f'{head}: not applicable: {shape.reason}')
	if not shape.convertible:
		raise RefusedError(f'{head}: {shape.reason}')


def convert(request: ConvertRequest,
	    progress: Callable[[str], None] = lambda _: None) -> ConvertResult:
	progress('probing the tree')
	found = probe(request.tree)
	if found.classification.shape is Shape.ALREADY_CONVERTED:
		return ConvertResult(tree=request.tree,
				     classification=found.classification,
				     outcome=Outcome.ALREADY_CONVERTED, diff='',
				     changed=[], sites=found.sites)
	_refuse_unless_convertible(found)
	plan = make_plan(found)
	with tempfile.TemporaryDirectory(prefix='deferred-attach.') as tmp:
		work = Path(tmp)
		original, converted = work / 'a', work / 'b'
		copy_files(request.tree.path, plan.files, original)
		copy_files(request.tree.path, plan.files, converted)
		progress(f'running {len(plan.steps)} semantic patches on '
			 f'{len(plan.files)} files')
		series = run_series(SpatchRequest(plan=plan, workdir=converted,
						  jobs=request.jobs,
						  spatch=request.spatch))
		changed = []
		for rel in plan.files:
			before = _read(original / rel)
			after = _read(converted / rel)
			if after == before:
				continue
			# Layout touches only what spatch added; see layout.py.
			tidied = layout.tidy(before, after)
			_write(converted / rel, tidied)
			if tidied != before:
				changed.append(rel)
		progress('checking the result')
		guard.check(original, converted, request.spatch)
		diff = unified_diff(work)
	return ConvertResult(tree=request.tree, classification=found.classification,
			     outcome=Outcome.CONVERTED, diff=diff, changed=changed,
			     sites=found.sites, notes=series.notes)


def tty_progress(message: str) -> None:
	"""Chatter for a person watching: one line, overwritten, and only on a
	terminal, so logs and tests see the single summary line alone."""
	if sys.stderr.isatty():
		sys.stderr.write(f'\r\033[Kdeferred_attach: {message}...')
		sys.stderr.flush()


def tty_progress_done() -> None:
	if sys.stderr.isatty():
		sys.stderr.write('\r\033[K')
		sys.stderr.flush()
