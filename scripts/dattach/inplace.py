"""Convert a tree in place, all or nothing.

The new files are made on scratch copies (the diff applied with `git
apply`), written next to their originals as temp files, and only then
renamed over them, after a hard link to each original is kept as a backup.
Any error or interruption before the last rename puts every original back
(the same inode, so the same bytes, mode and mtime) and removes every temp
file and backup.  Ctrl-C during the renames is held until the files are
all new or all old.
"""

import contextlib
import dataclasses
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import BinaryIO, Callable, Iterator, Optional

from dattach import convert
from dattach.errors import RefusedError, ToolError
from dattach.gitscratch import isolated_env
from dattach.tree import KernelTree

# For tests only: interrupt the renames after this many files, with
# KeyboardInterrupt (a number) or a full disk ("<number>:ENOSPC"); or, with
# "write:<number>[:ENOSPC]", the writing of that new file, after half of
# its bytes (a disk that fills up while the new files are written).
FAIL_AFTER_ENV = 'DATTACH_APPLY_FAIL_AFTER'
# For tests only: "write:<n>" or "rename:<n>" stops after the n-th new file
# is written (or renamed), says so on stderr and waits up to PAUSE_SECONDS
# for a signal, so that a test can send a real SIGINT at that moment.
PAUSE_ENV = 'DATTACH_APPLY_PAUSE'
PAUSE_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class ApplyResult:
	result: convert.ConvertResult
	written: list[str]	# tree-relative paths replaced


def dirty_files(kernel: KernelTree, files: list[str]) -> list[str]:
	"""Those of `files` with uncommitted changes when the tree is in a git
	work tree (untracked counts as uncommitted; ignored does not)."""
	def git(*args: str) -> subprocess.CompletedProcess[str]:
		return subprocess.run(['git', '-C', str(kernel.path), *args],
				      capture_output=True, text=True, check=False)
	try:
		inside = git('rev-parse', '--is-inside-work-tree')
	except FileNotFoundError:
		return []
	if inside.returncode != 0 or inside.stdout.strip() != 'true':
		return []
	prefix = git('rev-parse', '--show-prefix').stdout.strip()
	status = git('status', '--porcelain=v1', '-z', '--untracked-files=all',
		     '--', *files)
	if status.returncode != 0:
		raise ToolError(f'git status failed in {kernel.path}: '
				f'{status.stderr.strip()}')
	dirty = set()
	entries = iter(status.stdout.split('\0'))
	for entry in entries:
		if len(entry) < 4:
			continue
		if entry[0] in 'RC':
			next(entries, None)	# a rename's old name follows
		path = entry[3:]
		if path.startswith(prefix):
			dirty.add(path[len(prefix):])
	return [rel for rel in files if rel in dirty]


def converted_contents(kernel: KernelTree, result: convert.ConvertResult) -> dict[str, bytes]:
	"""The touched files after the diff, made on scratch copies."""
	with tempfile.TemporaryDirectory(prefix='deferred-attach-apply.') as tmp:
		work = Path(tmp) / 'tree'
		for rel in result.changed:
			target = work / rel
			target.parent.mkdir(parents=True, exist_ok=True)
			target.write_bytes((kernel.path / rel).read_bytes())
		done = subprocess.run(['git', 'apply', '--whitespace=nowarn', '-'],
				      cwd=work, input=result.diff.encode('utf-8', 'surrogateescape'),
				      capture_output=True, check=False,
				      env=isolated_env({'GIT_CEILING_DIRECTORIES': tmp}))
		if done.returncode != 0:
			why = done.stderr.decode(errors='replace').strip()
			raise ToolError(f'git apply of the conversion failed: {why}')
		return {rel: (work / rel).read_bytes() for rel in result.changed}


def _read_only(path: Path) -> bool:
	# By the mode bits, not os.access(): root may write anything, but a
	# file somebody made read-only is not ours to replace.
	return not path.stat().st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)


def _fault_from_env() -> Callable[[int], None]:
	spec = os.environ.get(FAIL_AFTER_ENV, '')
	if not spec or spec.startswith('write:'):
		return lambda _: None
	count, _, kind = spec.partition(':')

	def fault(done: int) -> None:
		if done >= int(count):
			if kind.upper() == 'ENOSPC':
				raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
			raise KeyboardInterrupt
	return fault


def _plain_write(_number: int, f: BinaryIO, data: bytes) -> None:
	f.write(data)


def _write_from_env() -> Callable[[int, BinaryIO, bytes], None]:
	"""How the n-th new file is written: whole, or (FAIL_AFTER_ENV
	"write:<n>[:ENOSPC]") half of it and then the fault."""
	where, _, spec = os.environ.get(FAIL_AFTER_ENV, '').partition(':')
	if where != 'write':
		return _plain_write
	count, _, kind = spec.partition(':')

	def write(number: int, f: BinaryIO, data: bytes) -> None:
		if number < int(count):
			f.write(data)
			return
		f.write(data[:len(data) // 2])
		f.flush()
		if kind.upper() == 'ENOSPC':
			raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
		raise KeyboardInterrupt
	return write


def _pause_from_env(deliver: Callable[[], None]) -> Callable[[str, int], None]:
	"""PAUSE_ENV's stop: at ("write" or "rename", n), wait for a signal,
	delivering a held SIGINT as soon as it arrives."""
	phase, _, count = os.environ.get(PAUSE_ENV, '').partition(':')
	if not phase:
		return lambda _phase, _number: None

	def pause(at: str, number: int) -> None:
		if at != phase or str(number) != count:
			return
		print(f'deferred_attach: test hook: paused after {at} {number}',
		      file=sys.stderr, flush=True)
		deadline = time.monotonic() + PAUSE_SECONDS
		while time.monotonic() < deadline:
			deliver()
			time.sleep(0.02)
	return pause


@contextlib.contextmanager
def _held_interrupts() -> Iterator[Callable[[], None]]:
	"""SIGINT only sets a flag inside; the yielded function raises the
	held KeyboardInterrupt at a point the caller chooses."""
	if threading.current_thread() is not threading.main_thread():
		yield lambda: None
		return
	pending: list[int] = []

	def hold(signum: int, _frame: Optional[FrameType]) -> None:
		pending.append(signum)

	def deliver() -> None:
		if pending:
			pending.clear()
			raise KeyboardInterrupt
	previous = signal.signal(signal.SIGINT, hold)
	try:
		yield deliver
	finally:
		signal.signal(signal.SIGINT, previous)
		if pending:
			raise KeyboardInterrupt


def replace_all(root: Path, contents: dict[str, bytes],
		after_rename: Optional[Callable[[int], None]] = None,
		write: Optional[Callable[[int, BinaryIO, bytes], None]] = None) -> list[str]:
	"""Replace every <root>/<rel> with its new bytes, or none of them.
	`after_rename(n)` runs after the n-th rename and `write(n, file, data)`
	writes the n-th new file (tests inject faults through both)."""
	hook = after_rename or _fault_from_env()
	write = write or _write_from_env()
	staged: list[tuple[Path, Path, Path]] = []	# target, temp, backup
	renamed: list[tuple[Path, Path, Path]] = []
	temps: list[Path] = []
	backups: list[Path] = []
	with _held_interrupts() as deliver:
		pause = _pause_from_env(deliver)
		try:
			for rel, data in contents.items():
				target = root / rel
				mode = stat.S_IMODE(target.stat().st_mode)
				fd, name = tempfile.mkstemp(prefix=f'.{target.name}.',
							    suffix='.dattach-new',
							    dir=target.parent)
				temp = Path(name)
				temps.append(temp)
				with os.fdopen(fd, 'wb') as f:
					write(len(temps), f, data)
					f.flush()
					os.fsync(f.fileno())
				os.chmod(temp, mode)
				backup = temp.with_suffix('.dattach-orig')
				try:
					os.link(target, backup)
				except OSError:
					# No hard links here: a copy does too.
					shutil.copy2(target, backup)
				backups.append(backup)
				staged.append((target, temp, backup))
				pause('write', len(staged))
				deliver()
			for entry in staged:
				os.replace(entry[1], entry[0])
				renamed.append(entry)
				hook(len(renamed))
				pause('rename', len(renamed))
				deliver()
		except BaseException:
			for target, _temp, backup in reversed(renamed):
				os.replace(backup, target)
			for path in temps + backups:
				with contextlib.suppress(FileNotFoundError):
					path.unlink()
			raise
		for backup in backups:
			with contextlib.suppress(FileNotFoundError):
				backup.unlink()
	return [str(target.relative_to(root)) for target, _, _ in staged]


def apply(request: convert.ConvertRequest, force: bool = False,
	  progress: Callable[[str], None] = lambda _: None) -> ApplyResult:
	kernel = request.tree
	result = convert.convert(request, progress=progress)
	if result.outcome is convert.Outcome.ALREADY_CONVERTED or not result.diff:
		return ApplyResult(result, [])
	dirty = dirty_files(kernel, result.changed)
	if dirty and not force:
		raise RefusedError(f'uncommitted changes in {", ".join(dirty)}: commit or '
				   'stash them, or pass --force; nothing was changed')
	read_only = [rel for rel in result.changed if _read_only(kernel.path / rel)]
	if read_only:
		raise RefusedError(f'read-only: {", ".join(read_only)}; nothing was changed')
	contents = converted_contents(kernel, result)
	progress(f'replacing {len(contents)} files')
	try:
		written = replace_all(kernel.path, contents)
	except OSError as err:
		raise ToolError(f'could not write the converted files ({err}); every '
				'file is as it was') from err
	return ApplyResult(result, written)
