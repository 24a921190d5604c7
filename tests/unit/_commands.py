"""Shared by the command tests: running the CLI, golden trees, and a
checkpatch.pl to check golden mails with (golden trees have none)."""

import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path
from typing import Optional

import _support
from dattach import tree

CLI = _support.REPO / 'scripts' / 'deferred_attach.py'
GOLDEN = _support.REPO / 'tests' / 'golden'
SIGNOFF = 'Test Backporter <backporter@example.org>'
REPO_CACHE = _support.REPO / '.cache'

# CI has no git identity: whatever commits in a test says who it is.
GIT_IDENTITY = {'GIT_AUTHOR_NAME': 'Test', 'GIT_AUTHOR_EMAIL': 'test@example.org',
		'GIT_COMMITTER_NAME': 'Test', 'GIT_COMMITTER_EMAIL': 'test@example.org'}


def run(*args: str, env: Optional[dict[str, str]] = None,
	cwd: Optional[Path] = None) -> subprocess.CompletedProcess[str]:
	base = dict(os.environ, LC_ALL='C',
		    GIT_CEILING_DIRECTORIES=str(_support.REPO / '.cache'))
	return subprocess.run([sys.executable, str(CLI), *args], capture_output=True,
			      text=True, errors='surrogateescape', cwd=cwd,
			      env={**base, **(env or {})}, check=False)


def golden_tree(case: str) -> Path:
	path = GOLDEN / case / 'tree'
	if not path.is_dir():
		raise unittest.SkipTest(f'no golden case {case}')
	return path


def copy_tree(case: str, dest: Path) -> Path:
	shutil.copytree(golden_tree(case), dest, symlinks=True)
	return dest


def git(where: Path, *args: str) -> str:
	done = subprocess.run(['git', *args], cwd=where, capture_output=True, text=True,
			      env=dict(os.environ, **GIT_IDENTITY,
				       GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1',
				       GIT_CEILING_DIRECTORIES=str(where.parent)),
			      check=False)
	if done.returncode != 0:
		raise AssertionError(f'git {" ".join(args)}: {done.stderr}')
	return done.stdout


def git_repo(where: Path) -> Path:
	"""Make `where` a git repository with everything in it committed."""
	git(where, 'init', '-q')
	git(where, 'add', '-A')
	git(where, 'commit', '-q', '-m', 'base')
	return where


_checkpatch: Optional[Path] = None


def debian_checkpatch() -> Path:
	"""Debian 6.1's scripts/checkpatch.pl (unpacked when missing), or skip."""
	global _checkpatch
	if _checkpatch is None:
		cached = tree.CACHE_DIR / 'linux-source-6.1' / 'scripts' / 'checkpatch.pl'
		if not cached.is_file():
			if os.environ.get('DATTACH_NO_REAL'):
				raise unittest.SkipTest('DATTACH_NO_REAL is set and Debian 6.1 '
							'is not unpacked: no checkpatch.pl')
			try:
				cached = tree.ensure_debian_source('6.1').path / 'scripts' / 'checkpatch.pl'
			except Exception as err:
				raise unittest.SkipTest(f'no Debian 6.1 checkpatch.pl: {err}')
		_checkpatch = cached
	return _checkpatch


def expected_files(case: str, dest: Path) -> Path:
	"""The golden tree with its expected.diff applied, in dest."""
	copy_tree(case, dest)
	diff = (GOLDEN / case / 'expected.diff').read_text()
	done = subprocess.run(['git', 'apply', '-'], input=diff, cwd=dest, text=True,
			      capture_output=True, check=False,
			      env=dict(os.environ, GIT_CEILING_DIRECTORIES=str(dest.parent)))
	if done.returncode != 0:
		raise AssertionError(f'git apply expected.diff: {done.stderr}')
	return dest


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
	"""Every file (hidden ones too): bytes, mode, inode."""
	result = {}
	for path in sorted(root.rglob('*')):
		if path.is_file() and '.git' not in path.relative_to(root).parts:
			st = path.stat()
			result[str(path.relative_to(root))] = (path.read_bytes(), st.st_mode,
							       st.st_ino)
	return result
