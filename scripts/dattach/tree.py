"""Find, validate and (for Debian's sources) install and unpack kernel trees.

The toolkit never writes inside a user's tree; the only tree it creates is
its own cache of Debian's linux-source packages under <repo>/.cache/.
"""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Optional

from dattach.errors import BadInputError, ToolError

# scripts/dattach/tree.py -> the repository root is three levels up.
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / '.cache'


@dataclasses.dataclass(frozen=True)
class KernelTree:
	path: Path
	version: str		# "6.1.192": VERSION.PATCHLEVEL.SUBLEVEL

	def read(self, rel: str) -> Optional[str]:
		"""The text of <tree>/<rel>, or None when the tree has no such file."""
		try:
			# surrogateescape: kernel sources are mostly but not
			# always UTF-8, and bytes must survive the round trip.
			return (self.path / rel).read_text(encoding='utf-8',
							   errors='surrogateescape')
		except FileNotFoundError:
			return None


_VERSION_RE = {
	key: re.compile(r'^' + key + r'\s*=\s*(\S*)\s*$', re.MULTILINE)
	for key in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL')
}


def open_tree(kdir: str) -> KernelTree:
	"""Validate KDIR as a kernel source tree and read its version."""
	path = Path(kdir)
	if not path.is_dir():
		raise BadInputError(f'{kdir}: no such directory')
	makefile = path / 'Makefile'
	try:
		text = makefile.read_text(encoding='utf-8', errors='replace')
	except OSError:
		text = ''
	fields = {}
	for key, regex in _VERSION_RE.items():
		match = regex.search(text)
		if match:
			fields[key] = match.group(1)
	if ('VERSION' not in fields or 'PATCHLEVEL' not in fields or
	    not (path / 'include' / 'linux').is_dir()):
		raise BadInputError(f'{kdir}: not a kernel source tree '
				    '(no top Makefile with VERSION and PATCHLEVEL, '
				    'or no include/linux)')
	parts = [fields['VERSION'], fields['PATCHLEVEL']]
	if fields.get('SUBLEVEL'):
		parts.append(fields['SUBLEVEL'])
	return KernelTree(path=path.resolve(), version='.'.join(parts))


def _say(message: str) -> None:
	# Installing and unpacking take minutes; say so, on stderr only.
	print(f'deferred_attach: {message}', file=sys.stderr, flush=True)


def _run(cmd: list[str]) -> int:
	# apt-get's own output goes to stderr: stdout carries only the diff.
	return subprocess.run(cmd, stdout=sys.stderr, check=False).returncode


def ensure_debian_source(series: str,
			 cache_dir: Path = CACHE_DIR,
			 installer: Optional[Callable[[str], None]] = None) -> KernelTree:
	"""Debian's linux-source-<series> unpacked in the cache, installed and
	unpacked first when missing."""
	name = f'linux-source-{series}'
	target = cache_dir / name
	if not target.is_dir():
		tarball = Path('/usr/src') / f'{name}.tar.xz'
		if not tarball.is_file():
			(installer or _apt_install)(name)
		if not tarball.is_file():
			raise ToolError(f'{tarball}: missing after installing {name}')
		_unpack(tarball, name, target)
	return open_tree(str(target))


def default_tree() -> KernelTree:
	"""The tree `make diff` converts when no KDIR is given."""
	return ensure_debian_source('6.1')


def _apt_install(package: str) -> None:
	if os.geteuid() != 0:
		raise ToolError(f'{package} is not installed and installing it '
				'needs root: run `sudo make deps` first')
	_say(f'installing {package} with apt-get')
	cmd = ['apt-get', 'install', '-y', '--no-install-recommends', package]
	if _run(cmd) != 0:
		# The usual cause is a stale package index, as on a fresh
		# container: refresh it once and try again.
		if _run(['apt-get', 'update']) != 0 or _run(cmd) != 0:
			raise ToolError(f'apt-get install {package} failed')


def _unpack(tarball: Path, name: str, target: Path) -> None:
	"""Unpack into a temporary directory next to the target, then rename:
	an interrupted unpack leaves a stray temp dir, never a half tree."""
	target.parent.mkdir(parents=True, exist_ok=True)
	# Leftovers of an unpack that was killed: nothing else uses them.
	for stale in target.parent.glob(f'.{name}.*'):
		shutil.rmtree(stale, ignore_errors=True)
	_say(f'unpacking {tarball} into {target} (once; takes a minute)')
	tmp = Path(tempfile.mkdtemp(prefix=f'.{name}.', dir=target.parent))
	try:
		# GNU tar is several times faster than tarfile on a 140 MB
		# .tar.xz; tarfile is the fallback on a machine without it.
		if shutil.which('tar'):
			if _run(['tar', '-xJf', str(tarball), '-C', str(tmp)]) != 0:
				raise ToolError(f'tar could not unpack {tarball}')
		else:
			with tarfile.open(tarball) as archive:
				archive.extractall(tmp)
		unpacked = tmp / name
		if not unpacked.is_dir():
			raise ToolError(f'{tarball}: has no top directory {name}/')
		try:
			os.rename(unpacked, target)
		except OSError:
			# Another run unpacked the same tree meanwhile: use it.
			if not target.is_dir():
				raise
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
