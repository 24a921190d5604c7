# SPDX-License-Identifier: GPL-2.0-only
"""Real-tree checks of probe, report and backport, for tests/run.py.

Each test is a (name, function) pair; a function raises AssertionError
(or any exception) to fail.  Debian's trees come from tree.ensure_debian_source,
as for the other real-tree checks.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / 'scripts' / 'deferred_attach.py'
sys.path.insert(0, str(REPO / 'scripts'))
from dattach import tree  # noqa: E402

SIGNOFF = 'Test Backporter <backporter@example.org>'
ENV = dict(os.environ, GIT_CEILING_DIRECTORIES=str(REPO / '.cache'), LC_ALL='C')
REPORT_LINE = re.compile(r'^(?P<path>[\w./-]+):(?P<line>\d+):\d+-\d+: .+$')


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
	return subprocess.run([sys.executable, str(CLI), *args], capture_output=True,
			      text=True, errors='replace', env=ENV, check=False)


def _tree(series: str) -> Path:
	return tree.ensure_debian_source(series).path


def _check(done: subprocess.CompletedProcess[str], status: int = 0) -> None:
	if done.returncode != status:
		raise AssertionError(f'exit status {done.returncode}, not {status}: '
				     f'{done.stderr.strip()}')


def probe_61() -> None:
	done = _cli('probe', '--json', str(_tree('6.1')))
	_check(done)
	data = json.loads(done.stdout)
	if data['shape'] != 'one_arg_helper' or not data['version'].startswith('6.1.'):
		raise AssertionError(f'shape {data["shape"]}, version {data["version"]}')
	detach = [s for s in data['sites'] if s['function'] == '__iommu_detach_device']
	if [s['path'] for s in detach] != ['drivers/iommu/iommu.c']:
		raise AssertionError(f'__iommu_detach_device sites: {detach}')
	text = _cli('probe', str(_tree('6.1')))
	_check(text)
	want = f'drivers/iommu/iommu.c:{detach[0]["line"]} (__iommu_detach_device): '
	if want not in text.stdout:
		raise AssertionError(f'{want!r} not in:\n{text.stdout}')


def probe_612() -> None:
	done = _cli('probe', str(_tree('6.12')))
	_check(done)
	if not re.search(r'^shape: +already converted$', done.stdout, re.MULTILINE):
		raise AssertionError(done.stdout)


def report_61() -> None:
	kdir = _tree('6.1')
	done = _cli('report', str(kdir))
	_check(done)
	lines = done.stdout.splitlines()
	paths = set()
	for line in lines:
		match = REPORT_LINE.match(line)
		if not match or not (kdir / match['path']).is_file():
			raise AssertionError(f'not a file:line line of the tree: {line!r}')
		paths.add(match['path'])
	# Upstream's change touches the core and its header only.
	if paths != {'drivers/iommu/iommu.c', 'include/linux/iommu.h'}:
		raise AssertionError(f'report names {sorted(paths)}:\n{done.stdout}')
	if not any('__iommu_detach_device()' in line for line in lines):
		raise AssertionError(f'no __iommu_detach_device() line:\n{done.stdout}')


def report_612() -> None:
	done = _cli('report', str(_tree('6.12')))
	_check(done)
	if done.stdout or 'already converted' not in done.stderr:
		raise AssertionError(f'stdout {done.stdout!r}, stderr {done.stderr!r}')


def backport_61() -> None:
	kdir = _tree('6.1')
	with tempfile.TemporaryDirectory(prefix='dattach-real-mail.') as tmp:
		out = Path(tmp) / 'out'
		done = _cli('backport', '--build', str(kdir), '--out', str(out),
			    '--signoff', SIGNOFF)
		_check(done)
		for check in ('git am', 'checkpatch --strict: total: 0 errors, 0 warnings, '
			      '0 checks', 'build: drivers/iommu/iommu.o'):
			if f'deferred_attach: checked: {check}\n' not in done.stderr:
				raise AssertionError(f'no "checked: {check}" in:\n{done.stderr}')
		mails = sorted(out.iterdir())
		if len(mails) != 1 or done.stdout.split() != [str(mails[0])]:
			raise AssertionError(f'mails {mails}, stdout {done.stdout!r}')
		text = mails[0].read_text()
		if not re.search(r'^Subject: \[PATCH 6\.1\.y\] iommu: Remove deferred attach '
				 r'check from\n __iommu_detach_device\(\)$', text, re.MULTILINE):
			raise AssertionError(f'subject:\n{text[:400]}')
		if 'adapted to this tree' in text:
			raise AssertionError('a 6.1 mail needs no adaptation note')
		# checkpatch again, here, not only inside the tool.
		checkpatch = subprocess.run(
			['perl', str(kdir / 'scripts/checkpatch.pl'), '--strict', '--ignore',
			 'GIT_COMMIT_ID,UNKNOWN_COMMIT_ID', f'--root={kdir}', str(mails[0])],
			capture_output=True, text=True, env=ENV, check=False)
		if not re.search(r'^total: 0 errors, 0 warnings, 0 checks, ', checkpatch.stdout,
				 re.MULTILINE):
			raise AssertionError(checkpatch.stdout)
		# git am on the two files as they are in the tree.
		repo = Path(tmp) / 'am'
		for rel in ('drivers/iommu/iommu.c', 'include/linux/iommu.h'):
			(repo / rel).parent.mkdir(parents=True, exist_ok=True)
			(repo / rel).write_bytes((kdir / rel).read_bytes())
		env = dict(ENV, GIT_AUTHOR_NAME='T', GIT_AUTHOR_EMAIL='t@example.org',
			   GIT_COMMITTER_NAME='T', GIT_COMMITTER_EMAIL='t@example.org',
			   GIT_CONFIG_GLOBAL=os.devnull, GIT_CEILING_DIRECTORIES=tmp)
		for cmd in (['init', '-q'], ['add', '-A'], ['commit', '-qm', 'base'],
			    ['am', '-q', str(mails[0])]):
			git = subprocess.run(['git', *cmd], cwd=repo, env=env, capture_output=True,
					     text=True, check=False)
			if git.returncode != 0:
				raise AssertionError(f'git {cmd[0]}: {git.stderr}')


def _scratch_git(repo: Path, kdir: Path, files: tuple[str, ...]) -> dict[str, str]:
	"""`files` of the tree committed in a new repository at `repo`; the
	environment for git there."""
	for rel in files:
		(repo / rel).parent.mkdir(parents=True, exist_ok=True)
		(repo / rel).write_bytes((kdir / rel).read_bytes())
	env = dict(ENV, GIT_AUTHOR_NAME='T', GIT_AUTHOR_EMAIL='t@example.org',
		   GIT_COMMITTER_NAME='T', GIT_COMMITTER_EMAIL='t@example.org',
		   GIT_CONFIG_GLOBAL=os.devnull, GIT_CEILING_DIRECTORIES=str(repo.parent))
	for cmd in (['init', '-q'], ['add', '-A'], ['commit', '-qm', 'base']):
		git = subprocess.run(['git', *cmd], cwd=repo, env=env, capture_output=True,
				     text=True, check=False)
		if git.returncode != 0:
			raise AssertionError(f'git {cmd[0]}: {git.stderr}')
	return env


CORE = ('drivers/iommu/iommu.c', 'include/linux/iommu.h')
CHANGE_ID = re.compile(r'^Change-Id: I[0-9a-f]{40}$', re.MULTILINE)


def _converted(kdir: Path, where: Path) -> dict[str, bytes]:
	"""The two core files with the toolkit's diff applied, by git apply."""
	diff = _cli('diff', str(kdir))
	_check(diff)
	for rel in CORE:
		(where / rel).parent.mkdir(parents=True, exist_ok=True)
		(where / rel).write_bytes((kdir / rel).read_bytes())
	done = subprocess.run(['git', 'apply', '-'], input=diff.stdout, cwd=where, text=True,
			      capture_output=True, env=dict(ENV, GIT_CEILING_DIRECTORIES=str(where.parent)),
			      check=False)
	if done.returncode != 0:
		raise AssertionError(f'git apply: {done.stderr}')
	return {rel: (where / rel).read_bytes() for rel in CORE}


def backport_61_android() -> None:
	"""Android form on Debian 6.1: UPSTREAM (the lines are upstream's, no
	note), the same Change-Id on a rerun, git am and the tree's
	checkpatch --strict ignoring only the Change-Id and commit-id checks."""
	kdir = _tree('6.1')
	with tempfile.TemporaryDirectory(prefix='dattach-real-android.') as tmp:
		ids = []
		for run in ('first', 'again'):
			out = Path(tmp) / run
			done = _cli('backport', str(kdir), '--out', str(out), '--signoff', SIGNOFF,
				    '--format', 'android', '--bug', '263423010')
			_check(done)
			for check in ('git am', 'checkpatch --strict: total: 0 errors, 0 warnings, '
				      '0 checks'):
				if f'deferred_attach: checked: {check}\n' not in done.stderr:
					raise AssertionError(f'no "checked: {check}" in:\n{done.stderr}')
			patch = Path(done.stdout.strip())
			if patch.parent != out or not patch.name.startswith('0001-UPSTREAM-iommu-'):
				raise AssertionError(f'wrote {done.stdout!r}')
			text = patch.read_text()
			ids += CHANGE_ID.findall(text)
		if len(ids) != 2 or ids[0] != ids[1]:
			raise AssertionError(f'Change-Ids of two runs: {ids}')
		footer = text.split('\n---\n', 1)[0].split('\n\n')[-1].splitlines()
		want = ['Bug: 263423010', ids[0],
			'(cherry picked from commit dd8a25c557e109f868430bd2e3e8f394cb40eaa7)',
			f'Signed-off-by: {SIGNOFF}']
		if footer != want:
			raise AssertionError(f'footer {footer}, not {want}')
		checkpatch = subprocess.run(
			['perl', str(kdir / 'scripts/checkpatch.pl'), '--strict', '--ignore',
			 'GIT_COMMIT_ID,UNKNOWN_COMMIT_ID,GERRIT_CHANGE_ID', f'--root={kdir}',
			 str(patch)], capture_output=True, text=True, env=ENV, check=False)
		if not re.search(r'^total: 0 errors, 0 warnings, 0 checks, ', checkpatch.stdout,
				 re.MULTILINE):
			raise AssertionError(checkpatch.stdout)
		repo = Path(tmp) / 'am'
		env = _scratch_git(repo, kdir, CORE)
		am = subprocess.run(['git', 'am', '-q', str(patch)], cwd=repo, env=env,
				    capture_output=True, text=True, check=False)
		if am.returncode != 0:
			raise AssertionError(f'git am: {am.stderr}')
		subject = subprocess.run(['git', 'log', '-1', '--format=%s'], cwd=repo, env=env,
					 capture_output=True, text=True, check=False).stdout
		if subject != 'UPSTREAM: iommu: Remove deferred attach check from '\
				'__iommu_detach_device()\n':
			raise AssertionError(f'subject after git am: {subject!r}')
		want_files = _converted(kdir, Path(tmp) / 'want')
		for rel in CORE:
			if (repo / rel).read_bytes() != want_files[rel]:
				raise AssertionError(f'{rel} after git am is not the diff\'s result')


def backport_61_quilt() -> None:
	"""Quilt form on Debian 6.1: DEP-3 header with Origin: upstream, the
	series line, and quilt push of our own onto a copy of the files."""
	kdir = _tree('6.1')
	name = 'iommu-remove-deferred-attach-check-from-__iommu_detach_device.patch'
	with tempfile.TemporaryDirectory(prefix='dattach-real-quilt.') as tmp:
		out = Path(tmp) / 'out'
		done = _cli('backport', str(kdir), '--out', str(out), '--signoff', SIGNOFF,
			    '--format', 'quilt')
		_check(done)
		if done.stdout != f'{out / name}\n':
			raise AssertionError(f'wrote {done.stdout!r}')
		if not done.stderr.endswith(f'deferred_attach: add to debian/patches/series: '
					    f'{name}\n'):
			raise AssertionError(done.stderr)
		header = (out / name).read_text().split('\n\n', 1)[0].splitlines()
		if header[:5] != ['From: Jason Gunthorpe <jgg@nvidia.com>',
				  'Subject: iommu: Remove deferred attach check from '
				  '__iommu_detach_device()',
				  'Origin: upstream, https://git.kernel.org/linus/'
				  'dd8a25c557e109f868430bd2e3e8f394cb40eaa7',
				  'Forwarded: not-needed', 'Applied-Upstream: v6.3'] \
				or not re.fullmatch(r'Last-Update: \d{4}-\d\d-\d\d', header[5]):
			raise AssertionError(f'DEP-3 header: {header}')
		work = Path(tmp) / 'copy'
		for rel in CORE:
			(work / rel).parent.mkdir(parents=True, exist_ok=True)
			(work / rel).write_bytes((kdir / rel).read_bytes())
		patches = work / 'debian' / 'patches'
		patches.mkdir(parents=True)
		(patches / name).write_bytes((out / name).read_bytes())
		(patches / 'series').write_text(name + '\n')
		push = subprocess.run(['quilt', '--quiltrc', '-', 'push', '-a', '--fuzz=0'],
				      cwd=work, capture_output=True, text=True, check=False,
				      env=dict(ENV, QUILT_PATCHES='debian/patches'))
		if push.returncode != 0 or 'fuzz' in push.stdout:
			raise AssertionError(f'quilt push: {push.stdout}{push.stderr}')
		want_files = _converted(kdir, Path(tmp) / 'want')
		for rel in CORE:
			if (work / rel).read_bytes() != want_files[rel]:
				raise AssertionError(f'{rel} after quilt push is not the diff\'s result')
		checkpatch = subprocess.run(
			['perl', str(kdir / 'scripts/checkpatch.pl'), '--strict', f'--root={kdir}',
			 str(out / name)], capture_output=True, text=True, env=ENV, check=False)
		if not re.search(r'^total: 0 errors, 0 warnings, 0 checks, ', checkpatch.stdout,
				 re.MULTILINE):
			raise AssertionError(checkpatch.stdout)


def backport_612() -> None:
	with tempfile.TemporaryDirectory(prefix='dattach-real-mail.') as tmp:
		out = Path(tmp) / 'out'
		done = _cli('backport', str(_tree('6.12')), '--out', str(out),
			    '--signoff', SIGNOFF)
		_check(done)
		if out.exists() or done.stdout or 'already converted' not in done.stderr:
			raise AssertionError(f'wrote {out.exists()}, stdout {done.stdout!r}, '
					     f'stderr {done.stderr!r}')


def tests() -> Iterator[tuple[str, Callable[[], None]]]:
	yield 'real/6.1/probe', probe_61
	yield 'real/6.1/report', report_61
	yield 'real/6.1/backport-mail-build', backport_61
	yield 'real/6.1/backport-android', backport_61_android
	yield 'real/6.1/backport-quilt', backport_61_quilt
	yield 'real/6.12/probe', probe_612
	yield 'real/6.12/report-empty', report_612
	yield 'real/6.12/backport-no-mail', backport_612
