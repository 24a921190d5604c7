"""One unified diff, a/<rel> b/<rel>, for everything that changed."""

import os
import subprocess
from pathlib import Path

from dattach.errors import ToolError


def unified_diff(workdir: Path) -> str:
	"""The diff between <workdir>/a and <workdir>/b, git-style.

	Run from the parent of a and b with --no-prefix, git names the files
	a/<rel> and b/<rel>, exactly what `git apply` and `patch -p1` expect.
	The user's git configuration must not change the output, so it is
	ignored and the options that matter are spelled out."""
	env = dict(os.environ, GIT_CONFIG_NOSYSTEM='1', GIT_CONFIG_GLOBAL=os.devnull,
		   LC_ALL='C')
	cmd = ['git', '-c', 'core.quotepath=off', 'diff', '--no-index',
	       '--no-prefix', '--no-color', '--no-ext-diff', '--no-renames',
	       '--diff-algorithm=myers', '--unified=3', 'a', 'b']
	try:
		done = subprocess.run(cmd, cwd=workdir, capture_output=True,
				      env=env, check=False)
	except FileNotFoundError as err:
		raise ToolError('git is not installed (apt-get install git)') from err
	# git diff --no-index: 0 = same, 1 = differences, anything else = failure.
	if done.returncode not in (0, 1):
		why = done.stderr.decode(errors='replace').strip().splitlines()
		raise ToolError(f'git diff failed: {why[-1] if why else done.returncode}')
	return done.stdout.decode('utf-8', errors='surrogateescape')
