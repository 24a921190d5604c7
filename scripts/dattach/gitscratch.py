"""Scratch git repositories holding a few files of a kernel tree.

The mails are made by git itself (format-patch does the headers, the
diffstat and the From line) and checked by git itself (`git am`), in
throwaway repositories that hold just the files a conversion touches, as
they are in the tree.  The user's git configuration must not change what
is made there, so it is ignored; the user's identity is read separately,
by `user_identity()`, in the user's own environment.
"""

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from dattach.errors import BadInputError, ToolError

# Who commits in a scratch repository: never shown in a mail, but git
# insists on someone, and CI machines have no identity of their own.
SCRATCH_NAME = 'deferred_attach'
SCRATCH_EMAIL = 'deferred-attach@localhost'

_IDENTITY = re.compile(r'^\s*([^<>]*[^<>\s])\s*<([^<>\s@]+@[^<>\s]+)>\s*$')


@dataclasses.dataclass(frozen=True)
class Identity:
	name: str
	email: str

	def __str__(self) -> str:
		return f'{self.name} <{self.email}>'


def parse_identity(text: str) -> Identity:
	"""'Name <mail@host>' -> Identity, or BadInputError saying what is wrong."""
	match = _IDENTITY.match(text)
	if not match:
		raise BadInputError(f'{text!r} is not of the form "Name <mail@host>"')
	return Identity(match.group(1), match.group(2))


def user_identity(cwd: Optional[Path] = None) -> Optional[Identity]:
	"""user.name and user.email from the user's git configuration (the
	repository's own when cwd is inside one), or None if either is unset."""
	values = []
	for key in ('user.name', 'user.email'):
		try:
			done = subprocess.run(['git', 'config', '--get', key],
					      cwd=cwd, capture_output=True, text=True,
					      check=False)
		except FileNotFoundError as err:
			raise ToolError('git is not installed (apt-get install git)') from err
		value = done.stdout.strip()
		if done.returncode != 0 or not value:
			return None
		values.append(value)
	return Identity(values[0], values[1])


def isolated_env(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
	"""The environment for git in a scratch repository: no user or system
	configuration, a fixed committer, C locale, and no walking up into a
	repository that happens to contain the scratch directory."""
	env = {key: value for key, value in os.environ.items()
	       if not key.startswith('GIT_')}
	env.update(GIT_CONFIG_NOSYSTEM='1', GIT_CONFIG_GLOBAL=os.devnull,
		   LC_ALL='C', GIT_AUTHOR_NAME=SCRATCH_NAME,
		   GIT_AUTHOR_EMAIL=SCRATCH_EMAIL, GIT_COMMITTER_NAME=SCRATCH_NAME,
		   GIT_COMMITTER_EMAIL=SCRATCH_EMAIL)
	env.update(extra or {})
	return env


class ScratchRepo:
	"""A git repository in `path` (created empty) for one job."""

	def __init__(self, path: Path) -> None:
		self.path = path
		path.mkdir(parents=True, exist_ok=True)
		# The ceiling stops git from finding a repository above the
		# scratch directory should `init` ever be skipped.
		self._env = isolated_env({'GIT_CEILING_DIRECTORIES': str(path.parent)})
		self.git('init', '-q')

	def git(self, *args: str, stdin: Optional[str] = None,
		env: Optional[dict[str, str]] = None) -> str:
		"""Run git here; ToolError with git's last line when it fails."""
		cmd = ['git', *args]
		try:
			done = subprocess.run(cmd, cwd=self.path, input=stdin,
					      capture_output=True, text=True,
					      errors='surrogateescape',
					      env={**self._env, **(env or {})},
					      check=False)
		except FileNotFoundError as err:
			raise ToolError('git is not installed (apt-get install git)') from err
		if done.returncode != 0:
			lines = (done.stderr or done.stdout).strip().splitlines()
			why = lines[-1] if lines else f'exit status {done.returncode}'
			raise ToolError(f'git {args[0]} failed: {why}')
		return done.stdout

	def seed(self, tree_path: Path, files: list[str], message: str) -> None:
		"""Commit `files` byte for byte as they are in the tree."""
		for rel in files:
			target = self.path / rel
			target.parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(tree_path / rel, target)
		self.git('add', '--', *files)
		self.git('commit', '-q', '--no-verify', '-m', message)

	def read(self, rel: str) -> bytes:
		return (self.path / rel).read_bytes()
