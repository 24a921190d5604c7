# SPDX-License-Identifier: GPL-2.0-only
"""Each semantic patch over a whole Debian tree, the way the kernel's
`make coccicheck COCCI=<file>` runs it without M=: spatch --dir <tree>.

Asserts what the README promises of whole-tree runs:
  - the number of files spatch's own token filter keeps ("N files match"),
    per semantic patch and per mode, equals tests/real/wholetree.json:
    only files that name the change's own identifiers, however many files
    mention bool, struct device or iommu_ops;
  - MODE=report of the three files lists exactly the places of
    tests/real/wholetree-<series>.report (the 6 of iommu.c and the 1 of
    iommu.h on 6.1; nothing on 6.12);
  - MODE=patch over the whole tree prints the same diff as over
    drivers/iommu and include/linux alone (coccicheck's M=).
"""

import concurrent.futures
import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / 'tests' / 'real'
COCCI = REPO / 'cocci'
SERIES = ('dev_iommu_attach_deferred.cocci', 'iommu_dma_first_attach.cocci',
	  'attach_deferred_flag_readers.cocci')
MODES = ('patch', 'report', 'context', 'org')
# Where the change lives: coccicheck's M= for the same-diff check.
CHANGE_DIRS = ('drivers/iommu', 'include/linux')
# A whole-tree run that takes longer than this has lost its file filter.
TIMEOUT_SECONDS = 600

sys.path.insert(0, str(REPO / 'scripts'))
from dattach import tree  # noqa: E402


def _env() -> dict[str, str]:
	# The trees live in .cache/, inside this repository's work tree: the
	# ceiling keeps spatch from listing files with this repository's git.
	return dict(os.environ, LC_ALL='C', GIT_CEILING_DIRECTORIES=str(tree.CACHE_DIR))


def options(cocci: Path) -> list[str]:
	"""The file's '// Options:' line, which scripts/coccicheck passes on."""
	for line in cocci.read_text().splitlines():
		if line.startswith('// Options:'):
			return line[len('// Options:'):].split()
	return []


def spatch_cmd(cocci: str, mode: str, where: str) -> list[str]:
	"""What scripts/coccicheck runs (FLAGS, the file's Options, --dir)."""
	path = COCCI / cocci
	return ['spatch', '-D', mode, '--very-quiet', '--cocci-file', str(path),
		*options(path), '--dir', where]


@functools.lru_cache(maxsize=None)
def _run(series: str, cocci: str, mode: str, where: str) -> tuple[int, str, str]:
	kernel = tree.ensure_debian_source(series)
	done = subprocess.run(spatch_cmd(cocci, mode, where), cwd=kernel.path,
			      capture_output=True, text=True, errors='replace',
			      env=_env(), timeout=TIMEOUT_SECONDS, check=False)
	return done.returncode, done.stdout, done.stderr


def _prefetch(jobs: list[tuple[str, str, str, str]]) -> None:
	"""Run the whole-tree spatch runs two at a time (each is one process
	reading the whole tree; the tests then read the cached results)."""
	with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
		list(pool.map(lambda job: _run(*job), jobs))


def files_matched(stderr: str) -> int:
	match = re.search(r'^(\d+) files match$', stderr, re.MULTILINE)
	if not match:
		raise AssertionError(f'no "N files match" line from spatch:\n{stderr[-800:]}')
	return int(match.group(1))


def expected_counts() -> dict[str, dict[str, int]]:
	data: dict[str, dict[str, int]] = json.loads(
		(REAL / 'wholetree.json').read_text(encoding='utf-8'))
	return data


def _report_lines(stdout: str) -> list[str]:
	return sorted(line[2:] if line.startswith('./') else line
		      for line in stdout.splitlines() if re.match(r'^(\./)?\S+:\d+:', line))


def check_count(series: str, cocci: str, mode: str) -> None:
	status, _, stderr = _run(series, cocci, mode, '.')
	if status != 0:
		raise AssertionError(f'spatch -D {mode} exit status {status}:\n{stderr[-800:]}')
	want = expected_counts()[series][cocci]
	got = files_matched(stderr)
	if got != want:
		raise AssertionError(f'{cocci} -D {mode} over linux-source-{series}: '
				     f'spatch kept {got} files, expected {want}')


def check_report(series: str) -> None:
	lines = []
	for cocci in SERIES:
		status, stdout, stderr = _run(series, cocci, 'report', '.')
		if status != 0:
			raise AssertionError(f'{cocci} -D report exit status {status}:\n'
					     f'{stderr[-800:]}')
		lines += _report_lines(stdout)
	want = (REAL / f'wholetree-{series}.report').read_text(encoding='utf-8').splitlines()
	if sorted(lines) != sorted(want):
		raise AssertionError('whole-tree report differs:\n  expected:\n    ' +
				     '\n    '.join(want) + '\n  got:\n    ' + '\n    '.join(lines))


def check_patch_equals_scoped(series: str, cocci: str) -> None:
	status, whole, stderr = _run(series, cocci, 'patch', '.')
	if status != 0:
		raise AssertionError(f'whole-tree -D patch exit status {status}:\n{stderr[-800:]}')
	for where in CHANGE_DIRS:
		status, _, stderr = _run(series, cocci, 'patch', where)
		if status != 0:
			raise AssertionError(f'-D patch --dir {where} exit status {status}:\n'
					     f'{stderr[-800:]}')
	# spatch names the files relative to --dir: a/iommu.h for
	# --dir include/linux, a/include/linux/iommu.h for the whole tree.
	def per_file(diff: str, prefix: str) -> str:
		return '\n'.join(re.sub(r' ([ab])/', rf' \1/{prefix}', line)
				  if line.startswith(('diff -u -p ', '--- ', '+++ ')) else line
				  for line in diff.splitlines()) + ('\n' if diff else '')
	scoped = ''.join(per_file(_run(series, cocci, 'patch', where)[1], where + '/')
			 for where in CHANGE_DIRS)
	if sorted(whole.split('diff -u -p ')) != sorted(scoped.split('diff -u -p ')):
		raise AssertionError('whole-tree diff differs from the M= diff:\n'
				     f'--- whole tree\n{whole}\n--- M=\n{scoped}')
	if series == '6.1' and cocci != 'attach_deferred_flag_readers.cocci' and not whole:
		raise AssertionError(f'{cocci} changed nothing in linux-source-6.1')


def tests() -> Iterator[tuple[str, Callable[[], None]]]:
	jobs = [('6.1', cocci, mode, '.') for cocci in SERIES for mode in MODES]
	jobs += [('6.1', cocci, 'patch', where) for cocci in SERIES for where in CHANGE_DIRS]
	jobs += [('6.12', cocci, 'report', '.') for cocci in SERIES]
	prefetched = False

	def first(func: Callable[[], None]) -> Callable[[], None]:
		def wrapped() -> None:
			nonlocal prefetched
			if not prefetched:
				prefetched = True
				_prefetch(jobs)
			func()
		return wrapped

	for cocci in SERIES:
		for mode in MODES:
			yield (f'real/6.1/wholetree/{cocci}/{mode}-files',
			       first(functools.partial(check_count, '6.1', cocci, mode)))
		yield (f'real/6.1/wholetree/{cocci}/patch-equals-M',
		       first(functools.partial(check_patch_equals_scoped, '6.1', cocci)))
	yield ('real/6.1/wholetree/report', first(functools.partial(check_report, '6.1')))
	for cocci in SERIES:
		yield (f'real/6.12/wholetree/{cocci}/report-files',
		       first(functools.partial(check_count, '6.12', cocci, 'report')))
	yield ('real/6.12/wholetree/report', first(functools.partial(check_report, '6.12')))
