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
	yield 'real/6.12/probe', probe_612
	yield 'real/6.12/report-empty', report_612
	yield 'real/6.12/backport-no-mail', backport_612
