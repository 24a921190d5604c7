"""Checks a mail passes before it is written: `git am`, the kernel's
checkpatch and, when asked, a build of the touched objects.

Every check works on scratch copies; the user's tree is only read.  A
failed check raises CheckFailedError naming the check and the reason.
"""

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, Optional

from dattach.errors import CheckFailedError, ToolError
from dattach.gitscratch import ScratchRepo
from dattach.tree import KernelTree

# checkpatch raises these on every stable `[ Upstream commit <sha> ]` line
# when the tree is not a git clone holding that commit: nothing to fix.
CHECKPATCH_IGNORE = 'GIT_COMMIT_ID,UNKNOWN_COMMIT_ID'

_TOTAL = re.compile(r'^total: (\d+) errors?, (\d+) warnings?, (?:(\d+) checks?, )?',
		    re.MULTILINE)


def _tail(text: str, lines: int = 12) -> str:
	return '\n'.join(text.strip().splitlines()[-lines:])


def git_am(tree: KernelTree, files: list[str], mails: list[Path],
	   workdir: Path, expected: dict[str, bytes]) -> None:
	"""The mails apply with `git am` to the touched files as they are in
	the tree, and the result is the conversion, byte for byte."""
	repo = ScratchRepo(workdir)
	repo.seed(tree.path, files, f'linux {tree.version}: the files as they are')
	patches = [str(m) for m in mails if not m.name.startswith('0000-')]
	try:
		repo.git('am', '--quiet', '--keep-cr', *patches)
	except ToolError as err:
		raise CheckFailedError(f'git am: the mail does not apply to linux '
				       f'{tree.version}: {err}') from err
	for rel, want in expected.items():
		if repo.read(rel) != want:
			raise CheckFailedError(f'git am: {rel} after the mail differs '
					       'from the conversion')


def quilt_push(tree: KernelTree, files: list[str], patches: list[Path],
	       workdir: Path, expected: dict[str, bytes]) -> str:
	"""The patches, as a quilt series, go on with `quilt push` (no fuzz)
	onto a copy of the touched files as they are in the tree, and the
	result is the conversion, byte for byte.  Returns quilt's last line."""
	src = workdir / 'src'
	for rel in files:
		target = src / rel
		target.parent.mkdir(parents=True, exist_ok=True)
		shutil.copyfile(tree.path / rel, target)
	series = src / 'patches'
	series.mkdir(parents=True)
	for patch in patches:
		shutil.copyfile(patch, series / patch.name)
	(series / 'series').write_text(''.join(f'{p.name}\n' for p in patches))
	# --quiltrc -: the user's ~/.quiltrc must not change what is checked.
	env = {key: value for key, value in os.environ.items()
	       if not key.startswith('QUILT_')}
	env.update(QUILT_PATCHES='patches', QUILT_PC='.pc', LC_ALL='C')
	try:
		done = subprocess.run(['quilt', '--quiltrc', '-', 'push', '-a', '--fuzz=0'],
				      cwd=src, capture_output=True, text=True,
				      errors='replace', env=env, check=False)
	except FileNotFoundError as err:
		raise ToolError('quilt is not installed (apt-get install quilt)') from err
	if done.returncode != 0:
		raise CheckFailedError(f'quilt push: the patch does not apply to linux '
				       f'{tree.version}: {_tail(done.stdout + done.stderr, 3)}')
	for rel, want in expected.items():
		if (src / rel).read_bytes() != want:
			raise CheckFailedError(f'quilt push: {rel} after the patch differs '
					       'from the conversion')
	return _tail(done.stdout, 1)


def find_checkpatch(tree: KernelTree, override: Optional[Path]) -> Path:
	script = override or tree.path / 'scripts' / 'checkpatch.pl'
	if not script.is_file():
		if override:
			raise CheckFailedError(f'{override}: no such checkpatch.pl')
		raise CheckFailedError(f'{tree.path} has no scripts/checkpatch.pl to '
				       'check the mail with; pass --checkpatch PATH '
				       "(another kernel tree's scripts/checkpatch.pl)")
	return script.resolve()


def checkpatch(script: Path, mails: list[Path],
	       ignore: str = CHECKPATCH_IGNORE) -> str:
	"""The kernel's checkpatch --strict on each patch mail: 0 errors,
	0 warnings, 0 checks, or CheckFailedError with its report.  Returns
	the total line(s).  `ignore`: the message types the form trips by
	design (an Android commit's Change-Id, say), nothing else."""
	# checkpatch wants --root to be a whole kernel tree: the one the
	# script belongs to (for a golden tree, the tree --checkpatch names).
	root = script.parent.parent
	totals = []
	for mail in mails:
		if mail.name.startswith('0000-'):
			continue	# the cover letter is not a patch
		cmd = ['perl', str(script), '--strict', '--ignore', ignore,
		       f'--root={root}', str(mail)]
		try:
			done = subprocess.run(cmd, capture_output=True, text=True,
					      errors='replace', check=False,
					      env=dict(os.environ, LC_ALL='C'))
		except FileNotFoundError as err:
			raise ToolError('perl is not installed (apt-get install perl)') from err
		total = _TOTAL.search(done.stdout)
		if not total:
			raise CheckFailedError(f'checkpatch printed no "total:" line for '
					       f'{mail.name}: {_tail(done.stdout + done.stderr)}')
		counts = tuple(int(n or 0) for n in total.groups())
		if counts != (0, 0, 0):
			raise CheckFailedError(f'checkpatch --strict on {mail.name}: '
					       f'{done.stdout.strip()}')
		totals.append(total.group(0).rstrip(', '))
	return '; '.join(totals)


def _make(args: list[str], cwd: Path, what: str) -> None:
	try:
		done = subprocess.run(['make', *args], cwd=cwd, capture_output=True,
				      text=True, errors='replace', check=False,
				      env=dict(os.environ, LC_ALL='C'))
	except FileNotFoundError as err:
		raise ToolError('make is not installed (apt-get install make)') from err
	if done.returncode != 0:
		raise CheckFailedError(f'build: {what} failed:\n'
				       f'{_tail(done.stdout + done.stderr)}')


def _copy(cmd: list[str], tree: KernelTree, dest: Path) -> Optional[str]:
	"""None when `cmd tree dest` worked, else why not."""
	done = subprocess.run([*cmd, str(tree.path), str(dest)], capture_output=True,
			      text=True, check=False)
	if done.returncode == 0:
		return None
	shutil.rmtree(dest, ignore_errors=True)
	return _tail(done.stderr, 1)


@contextlib.contextmanager
def _scratch_copy(tree: KernelTree, workdir: Path) -> Iterator[Path]:
	"""A hardlinked copy of the tree (cp -al: seconds, no space) in the
	work directory or, when that is on another file system (a tmpfs /tmp),
	in a temporary directory next to the tree; a full copy as the last
	resort.  Whatever is made next to the tree is removed afterwards."""
	if _copy(['cp', '-al'], tree, workdir / 'src') is None:
		yield workdir / 'src'
		return
	near = None
	with contextlib.suppress(OSError):
		near = Path(tempfile.mkdtemp(prefix='.deferred-attach-build.',
					     dir=tree.path.parent))
	try:
		if near is not None and _copy(['cp', '-al'], tree, near / 'src') is None:
			yield near / 'src'
			return
		why = _copy(['cp', '-a'], tree, workdir / 'src')
		if why is not None:
			raise ToolError(f'cannot copy {tree.path} for the build: {why}')
		yield workdir / 'src'
	finally:
		if near is not None:
			shutil.rmtree(near, ignore_errors=True)


def build(tree: KernelTree, diff: str, changed: list[str], workdir: Path,
	  jobs: int) -> list[str]:
	"""Compile the objects of the touched .c files with the tree's Kbuild,
	the diff applied in a scratch hardlinked copy, in a scratch O= folder:
	with the tree's .config if it has one, else defconfig.  Returns the
	objects built."""
	objects = [rel[:-2] + '.o' for rel in changed if rel.endswith('.c')]
	if not objects:
		return []
	workdir.mkdir(parents=True, exist_ok=True)
	with _scratch_copy(tree, workdir) as src:
		_build_in(tree, src, workdir / 'build', diff, changed, objects, jobs)
	return objects


def _build_in(tree: KernelTree, src: Path, out: Path, diff: str, changed: list[str],
	      objects: list[str], jobs: int) -> None:
	for rel in changed:
		# Give each file we patch an inode of its own first: the
		# copy's files are the user's files under another name.
		path = src / rel
		data = path.read_bytes()
		path.unlink()
		path.write_bytes(data)
	done = subprocess.run(['git', 'apply', '-'], cwd=src, input=diff, text=True,
			      capture_output=True, check=False,
			      env=dict(os.environ, GIT_CEILING_DIRECTORIES=str(src.parent)))
	if done.returncode != 0:
		raise CheckFailedError(f'build: git apply failed: {_tail(done.stderr)}')
	out.mkdir(parents=True)
	config = tree.path / '.config'
	make = [f'O={out}', f'-j{jobs}']
	if config.is_file() or (src / 'include' / 'config').exists():
		# A tree configured in place refuses O=; clean the copy (mrproper
		# only unlinks, so the user's files stay as they are).
		_make(['mrproper'], src, 'make mrproper (in the scratch copy)')
	if config.is_file():
		shutil.copyfile(config, out / '.config')
		_make([*make, 'olddefconfig'], src, "make olddefconfig (the tree's .config)")
	else:
		_make([*make, 'defconfig'], src, 'make defconfig')
	_make([*make, *objects], src, f'make {" ".join(objects)}')
