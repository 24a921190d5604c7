"""The diff pipeline: probe -> plan -> spatch -> layout -> guard -> emit.

Everything between probe and emit happens on copies in a temporary
directory: <tmp>/a holds the planned files as they are, <tmp>/b the same
files converted.  The user's tree is only read.
"""

import concurrent.futures
import dataclasses
import enum
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

from dattach import guard, layout
from dattach.emit_diff import unified_diff
from dattach.errors import RefusedError
from dattach.plan import Plan, make_plan
from dattach.probe import (CORE_FILES, IOMMU_C, Classification, ProbeResult, Shape,
			   Site, classify_tree, find_candidates, function_text,
			   probe_with)
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


UNLOCKED_PROBE_NOTE = (
	'iommu_probe_device() attaches the default domain without group->mutex '
	'(the tree predates upstream 556f99ac8866 "iommu: Extend mutex lock scope '
	'in iommu_probe_device()"), so iommu_group_do_dma_first_attach() is added '
	'without lockdep_assert_held(); its other callers hold the mutex')


def adaptation_notes(before: Optional[str], after: Optional[str]) -> list[str]:
	"""What the conversion adapted to this tree, read off the core file
	before and after: upstream's first-attach helper asserts the group
	mutex, the semantic patch leaves the assertion out where probe attaches
	unlocked, and the user must hear of it."""
	if before is None or after is None:
		return []
	if function_text(before, 'iommu_group_do_dma_first_attach') is not None:
		return []
	added = function_text(after, 'iommu_group_do_dma_first_attach')
	if added is not None and 'lockdep_assert_held' not in added:
		return [UNLOCKED_PROBE_NOTE]
	return []


def _spatch_files(request: ConvertRequest, work: Path, files: list[str]) -> Plan:
	"""Copy the files that exist into <work>/a and <work>/b and run the
	semantic patches that apply to them on <work>/b."""
	tree = request.tree
	files = [rel for rel in files if (tree.path / rel).is_file()]
	copy_files(tree.path, files, work / 'a')
	copy_files(tree.path, files, work / 'b')
	plan = make_plan(files, tree.read)
	run_series(SpatchRequest(plan=plan, workdir=work / 'b', jobs=request.jobs,
				 spatch=request.spatch))
	return plan


def convert(request: ConvertRequest,
	    progress: Callable[[str], None] = lambda _: None) -> ConvertResult:
	progress('probing the tree')
	tree = request.tree
	with tempfile.TemporaryDirectory(prefix='deferred-attach.') as tmp, \
	     concurrent.futures.ThreadPoolExecutor(1) as background:
		# The tree-wide grep is the slow half of the probe, and the core
		# files it is sure to name are known already: they go through
		# spatch while the grep still runs.  The grep is bound by memory
		# and the file system more than by CPU, so it gets one process
		# and spatch the other CPUs.
		grep = background.submit(find_candidates, tree, max(1, request.jobs - 1))
		classification = classify_tree(tree)
		if (classification.shape is Shape.ALREADY_CONVERTED or
		    not classification.convertible):
			found = probe_with(tree, grep.result(), classification)
			if classification.shape is Shape.ALREADY_CONVERTED:
				return ConvertResult(tree=tree, classification=classification,
						     outcome=Outcome.ALREADY_CONVERTED,
						     diff='', changed=[], sites=found.sites)
			_refuse_unless_convertible(found)
		work = Path(tmp)
		progress('running the semantic patches on the core files')
		core = _spatch_files(request, work, list(CORE_FILES))
		found = probe_with(tree, grep.result(), classification)
		others = [rel for rel in found.candidates if rel not in CORE_FILES]
		progress(f'running the semantic patches on {len(others)} more files')
		rest = _spatch_files(request, work, others)
		original, converted = work / 'a', work / 'b'
		changed = []
		for rel in sorted(set(core.files) | set(rest.files)):
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
		notes = adaptation_notes(tree.read(IOMMU_C), _read_if(converted / IOMMU_C))
	return ConvertResult(tree=tree, classification=classification,
			     outcome=Outcome.CONVERTED, diff=diff, changed=changed,
			     sites=found.sites, notes=notes)


def _read_if(path: Path) -> Optional[str]:
	return _read(path) if path.is_file() else None


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
