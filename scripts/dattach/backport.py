"""Backport mails for one tree or many: convert, make the mails, check
them, and only then write them out.

One tree's job is independent of every other's and ends in a
BackportResult, which is also its line in the many-trees summary (text and
JSON), so a list of trees can as well be split over a CI job matrix and the
JSON results merged.
"""

import concurrent.futures
import dataclasses
import enum
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable, Optional

from dattach import bootproof, convert, forms, probe, tree, verify
from dattach.errors import DattachError, ExitStatus, RefusedError
from dattach.gitscratch import Identity


class Outcome(enum.Enum):
	WRITTEN = 'mail written'
	ALREADY_CONVERTED = 'already converted'
	REFUSED = 'refused'
	FAILED = 'failed'


@dataclasses.dataclass(frozen=True)
class BackportRequest:
	kdir: str
	out: Path		# the folder this tree's mails go to
	signoff: Identity
	checkpatch: Optional[Path] = None	# default: the tree's own
	build: bool = False
	boot: bool = False	# the boot proof under QEMU (bootproof.py)
	jobs: int = 1
	spatch: str = 'spatch'
	form: forms.Form = forms.Form.MAIL
	bug: Optional[str] = None	# android: the Bug: line


@dataclasses.dataclass(frozen=True)
class BackportResult:
	kdir: str
	version: str		# '' when KDIR is not a kernel tree
	shape: str		# '' likewise
	outcome: Outcome
	changed: list[str]	# files the mails change
	mails: list[str]	# paths written
	message: str		# the summary line, or why it failed
	status: ExitStatus
	checks: list[str] = dataclasses.field(default_factory=list)
	form: forms.Form = forms.Form.MAIL
	series: Optional[str] = None	# quilt: the line to add to the series

	def to_json(self) -> dict[str, object]:
		return {'tree': self.kdir, 'version': self.version,
			'shape': self.shape, 'format': self.form.value,
			'outcome': self.outcome.value,
			'files_changed': self.changed, 'mails': self.mails,
			'series': self.series,
			'message': self.message, 'status': int(self.status),
			'checks': self.checks}


def default_out(version: str) -> Path:
	return Path('out') / f'linux-{version}'


def _write(mails: list[Path], out: Path) -> list[str]:
	out.mkdir(parents=True, exist_ok=True)
	written = []
	for path in mails:
		target = out / path.name
		shutil.copyfile(path, target)
		written.append(str(target))
	return written


def backport(request: BackportRequest,
	     progress: Callable[[str], None] = lambda _: None) -> BackportResult:
	"""One tree.  Raises DattachError when the tree is refused or a check
	fails; then nothing has been written."""
	forms.check_bug(request.bug, request.form)
	kernel = tree.open_tree(request.kdir)
	result = convert.convert(convert.ConvertRequest(tree=kernel, jobs=request.jobs,
							spatch=request.spatch),
				 progress=progress)
	shape = result.classification.shape.value
	if result.outcome is convert.Outcome.ALREADY_CONVERTED:
		return BackportResult(request.kdir, kernel.version, shape,
				      Outcome.ALREADY_CONVERTED, [], [],
				      result.summary(), ExitStatus.OK, form=request.form)
	if not result.diff:
		raise RefusedError(f'linux {kernel.version}: the conversion changed '
				   'nothing, so there is no mail to write')
	checks = []
	with tempfile.TemporaryDirectory(prefix='deferred-attach-backport.') as tmp:
		work = Path(tmp)
		progress(f'making the patch ({request.form.value})')
		made = forms.make_patches(result, request.signoff, work / 'mail',
					  request.form, request.bug)
		progress('checking the patch: git am')
		verify.git_am(kernel, result.changed, made.paths, work / 'am',
			      made.converted)
		checks.append('git am')
		if request.form is forms.Form.QUILT:
			progress('checking the patch: quilt push')
			pushed = verify.quilt_push(kernel, result.changed, made.paths,
						   work / 'quilt', made.converted)
			checks.append(f'quilt push: {pushed}')
		progress('checking the patch: checkpatch --strict')
		script = verify.find_checkpatch(kernel, request.checkpatch)
		total = verify.checkpatch(script, made.paths, made.checkpatch_ignore)
		checks.append(f'checkpatch --strict: {total}')
		if request.build:
			progress('checking the patch: building the touched objects')
			built = verify.build(kernel, result.diff, result.changed,
					     work / 'kbuild', request.jobs)
			checks.append(f'build: {" ".join(built) or "no .c file touched"}')
		if request.boot:
			progress('checking the mail: the boot proof under QEMU')
			booted = bootproof.prove(kernel, result.diff, request.jobs)
			checks.append(f'boot: {len(booted)} checks passed')
		written = _write(made.paths, request.out)
	return BackportResult(request.kdir, kernel.version, shape, Outcome.WRITTEN,
			      result.changed, written, result.summary(), ExitStatus.OK,
			      checks, request.form, made.series)


def _failed(kdir: str, err: DattachError, form: forms.Form, version: str = '',
	    shape: str = '') -> BackportResult:
	outcome = (Outcome.REFUSED if err.status is ExitStatus.REFUSED
		   else Outcome.FAILED)
	return BackportResult(kdir, version, shape, outcome, [], [], str(err),
			      err.status, form=form)


def _shape(kernel: tree.KernelTree) -> str:
	"""The shape of a tree whose job failed, for its summary line: read
	from the core's files alone, no search."""
	return probe.classify(kernel.read(probe.IOMMU_C), kernel.read(probe.IOMMU_H),
			      kernel.read(probe.DMA_IOMMU_C)).shape.value


def folder_names(kdirs: list[str]) -> dict[str, str]:
	"""A folder name per tree: linux-<version>, and where versions clash,
	linux-<version>-<where>, <where> the part of the path the clashing
	trees do not share.  A path that is no kernel tree gets none (it fails
	before anything is written)."""
	versions: dict[str, str] = {}
	for kdir in kdirs:
		try:
			versions[kdir] = tree.open_tree(kdir).version
		except DattachError:
			continue
	names: dict[str, str] = {}
	taken: set[str] = set()
	for kdir, version in versions.items():
		name = f'linux-{version}'
		same = [os.path.abspath(k) for k, v in versions.items() if v == version]
		if len(set(same)) > 1:
			common = os.path.commonpath(same)
			where = os.path.relpath(os.path.abspath(kdir), common)
			name += '-' + re.sub(r'[^A-Za-z0-9._-]+', '-', where).strip('-')
		base, number = name, 2
		while name in taken:
			name = f'{base}-{number}'
			number += 1
		taken.add(name)
		names[kdir] = name
	return names


def backport_many(kdirs: list[str], out: Path,
		  make_request: Callable[[str, Path], BackportRequest], jobs: int,
		  progress: Callable[[str], None] = lambda _: None) -> list[BackportResult]:
	"""Every tree, `jobs` at a time; one tree's failure stops no other.
	Results in the order given."""
	names = folder_names(kdirs)
	finished: list[str] = []
	lock = threading.Lock()

	def counted(kdir: str) -> BackportResult:
		result = one(kdir)
		with lock:
			finished.append(kdir)
			progress(f'{len(finished)}/{len(kdirs)} trees done')
		return result

	def one(kdir: str) -> BackportResult:
		# A path that is no kernel tree gets no folder; its request
		# only says which form its summary line is for.
		request = make_request(kdir, out / names.get(kdir, ''))
		if kdir not in names:
			try:
				tree.open_tree(kdir)
			except DattachError as err:
				return _failed(kdir, err, request.form)
		try:
			return backport(request)
		except DattachError as err:
			kernel = tree.open_tree(kdir)
			return _failed(kdir, err, request.form, kernel.version,
				       _shape(kernel))

	with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
		return list(pool.map(counted, kdirs))


# --- the summary -----------------------------------------------------------------

COLUMNS = ('tree', 'version', 'shape', 'outcome', 'files changed')
OUTCOME_WIDTH = 100


def _row(result: BackportResult) -> tuple[str, ...]:
	outcome = result.outcome.value
	if result.outcome in (Outcome.REFUSED, Outcome.FAILED):
		why = result.message.splitlines()[0] if result.message else ''
		if len(why) > OUTCOME_WIDTH:
			why = why[:OUTCOME_WIDTH - 3] + '...'	# all of it in the JSON
		outcome += f': {why}'
	return (result.kdir, result.version or '-', result.shape or '-', outcome,
		str(len(result.changed)))


def summary_text(results: list[BackportResult]) -> str:
	rows = [COLUMNS] + [_row(r) for r in results]
	widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
	lines = ['  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
		 for row in rows]
	failed = sum(r.status is not ExitStatus.OK for r in results)
	lines.append(f'{len(results)} trees, {failed} failed')
	return '\n'.join(lines) + '\n'


def summary_json(results: list[BackportResult]) -> str:
	return json.dumps({'trees': [r.to_json() for r in results],
			   'failed': sum(r.status is not ExitStatus.OK for r in results)},
			  indent=2) + '\n'


def write_summary(results: list[BackportResult], out: Path) -> None:
	out.mkdir(parents=True, exist_ok=True)
	(out / 'summary.txt').write_text(summary_text(results))
	(out / 'summary.json').write_text(summary_json(results))
