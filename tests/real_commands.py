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
REAL = REPO / 'tests' / 'real'
sys.path.insert(0, str(REPO / 'scripts'))
from dattach import tree, verify  # noqa: E402

import expected  # noqa: E402  (tests/, next to this file)

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


def _expected(series: str, name: str) -> None:
	"""`report` or `probe --json` of Debian's tree equal to what
	tests/real/<series>/ holds, exactly."""
	problems = expected.compare(REAL / series, _tree(series), name)
	if problems:
		raise AssertionError(problems)


def probe_61() -> None:
	_expected('6.1', expected.PROBE)
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
	_expected('6.12', expected.PROBE)
	done = _cli('probe', str(_tree('6.12')))
	_check(done)
	if not re.search(r'^shape: +already converted$', done.stdout, re.MULTILINE):
		raise AssertionError(done.stdout)


def report_61() -> None:
	_expected('6.1', expected.REPORT)
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
	_expected('6.12', expected.REPORT)
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


# Set in the tree's own .config and not by defconfig: the build used it.
OWN_CONFIG_MARK = 'CONFIG_LOCALVERSION="-dattach-own-config"'


def build_own_config_61() -> None:
	"""BUILD=1's other branch: a tree with its own .config, configured in
	place (include/config/ exists), so the scratch copy needs `make
	mrproper` before Kbuild accepts O=.  verify.build() is what
	`backport --build` calls; it runs here with a work folder this test
	can look into afterwards."""
	source = _tree('6.1')
	cache = REPO / '.cache'
	with tempfile.TemporaryDirectory(prefix='dattach-own-config.', dir=cache) as tmp:
		kdir = Path(tmp) / 'linux'
		done = subprocess.run(['cp', '-al', str(source), str(kdir)],
				      capture_output=True, text=True, check=False)
		if done.returncode != 0:
			raise AssertionError(f'cp -al: {done.stderr}')
		# The tree's .config: x86_64 defconfig made here, plus a mark.
		seed = Path(tmp) / 'seed'
		done = subprocess.run(['make', '-s', f'O={seed}', 'defconfig'], cwd=kdir,
				      capture_output=True, text=True, check=False)
		if done.returncode != 0:
			raise AssertionError(f'make defconfig: {done.stdout}{done.stderr}')
		config = (seed / '.config').read_text()
		config = re.sub(r'^CONFIG_LOCALVERSION=.*$', OWN_CONFIG_MARK, config,
				flags=re.MULTILINE)
		if OWN_CONFIG_MARK not in config:
			raise AssertionError('defconfig has no CONFIG_LOCALVERSION line to mark')
		# New files only: cp -al's files are the Debian tree's inodes.
		(kdir / '.config').write_text(config)
		(kdir / 'include' / 'config').mkdir()
		(kdir / 'include' / 'config' / 'auto.conf').write_text(config)
		kernel = tree.open_tree(str(kdir))
		before = {p: (p.stat().st_size, p.stat().st_mtime_ns)
			  for p in (kdir / 'drivers/iommu/iommu.c', kdir / 'include/linux/iommu.h',
				    kdir / '.config')}
		diff = _cli('diff', str(kdir))
		_check(diff)
		changed = sorted({line[6:] for line in diff.stdout.splitlines()
				  if line.startswith('+++ b/')})
		work = Path(tmp) / 'work'
		try:
			built = verify.build(kernel, diff.stdout, changed, work, 2)
		except Exception as err:
			raise AssertionError(f'{type(err).__name__}: {err}') from err
		if built != ['drivers/iommu/iommu.o']:
			raise AssertionError(f'built {built}')
		out = work / 'build'
		if OWN_CONFIG_MARK not in (out / '.config').read_text():
			raise AssertionError("the build's .config is not the tree's: no "
					     f'{OWN_CONFIG_MARK}')
		if not (out / 'drivers/iommu/iommu.o').is_file():
			raise AssertionError('no drivers/iommu/iommu.o in the build folder')
		# The converted text was compiled, not the tree's own.
		src = work / 'src' / 'drivers/iommu/iommu.c'
		if 'dev->iommu->attach_deferred = 1;' not in src.read_text():
			raise AssertionError(f'{src} is not converted')
		after = {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in before}
		if after != before or not (kdir / 'include/config/auto.conf').is_file():
			raise AssertionError('the build changed the tree it was given')
		# mrproper ran in the copy only (it unlinks, it never writes).
		if (work / 'src' / '.config').exists():
			raise AssertionError('the scratch copy still has a .config: no mrproper')


def tests() -> Iterator[tuple[str, Callable[[], None]]]:
	yield 'real/6.1/probe', probe_61
	yield 'real/6.1/report', report_61
	yield 'real/6.1/backport-mail-build', backport_61
	yield 'real/6.1/backport-android', backport_61_android
	yield 'real/6.1/backport-quilt', backport_61_quilt
	yield 'real/6.1/build-own-config', build_own_config_61
	yield 'real/6.12/probe', probe_612
	yield 'real/6.12/report-empty', report_612
	yield 'real/6.12/backport-no-mail', backport_612
