# SPDX-License-Identifier: GPL-2.0-only
"""Expected `report` and `probe --json` output, stored next to a tree's
other expectations and compared exactly.

  <where>/expected.report      `report KDIR` stdout, byte for byte (empty:
                               nothing to report, or refused)
  <where>/expected.probe.json  `probe --json KDIR` with the one machine-
                               specific value, the tree's absolute path,
                               replaced by "KDIR"

<where> is tests/golden/<case>/ for a golden case (KDIR its tree/) and
tests/real/<series>/ for Debian's linux-source-<series>.  A Debian tree of
another version than the one recorded fails with both versions named: its
line numbers are not the recorded ones, and the files have to be made
again (`tests/run.py --write-expected` after removing them) and read
against the spec before they are committed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / 'scripts' / 'deferred_attach.py'
sys.path.insert(0, str(REPO / 'scripts'))
from dattach import tree  # noqa: E402

REPORT = 'expected.report'
PROBE = 'expected.probe.json'
KDIR = 'KDIR'
ENV = dict(os.environ, GIT_CEILING_DIRECTORIES=str(REPO / '.cache'), LC_ALL='C')
DEBIAN_SERIES = ('6.1', '6.12')


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
	return subprocess.run([sys.executable, str(CLI), *args], capture_output=True,
			      text=True, errors='surrogateescape', env=ENV, check=False)


def normalise_probe(text: str, kdir: Path) -> str:
	data = json.loads(text)
	if data.get('tree') in (str(kdir), str(kdir.resolve())):
		data['tree'] = KDIR
	return json.dumps(data, indent=2) + '\n'


class Unexpected(Exception):
	"""The command did not give an output to compare: status or stderr."""


def actual(kdir: Path, name: str) -> str:
	"""What the tool prints now for `name` (REPORT or PROBE) on kdir."""
	if name == REPORT:
		done = _cli('report', str(kdir))
		# Refused (status 1): nothing on stdout, one error line.
		if done.returncode == 1 and not done.stdout and \
				done.stderr.startswith('deferred_attach: error: ') and \
				done.stderr.count('\n') == 1:
			return ''
		if done.returncode != 0:
			raise Unexpected(f'report: exit status {done.returncode}: {done.stderr.strip()}')
		return done.stdout
	done = _cli('probe', '--json', str(kdir))
	# probe's answer is the shape, whatever it is: always status 0.
	if done.returncode != 0:
		raise Unexpected(f'probe --json: exit status {done.returncode}: '
				 f'{done.stderr.strip()}')
	return normalise_probe(done.stdout, kdir)


def _recorded_version(where: Path) -> str:
	try:
		return str(json.loads((where / PROBE).read_text())['version'])
	except (OSError, ValueError, KeyError):
		return ''


def compare(where: Path, kdir: Path, name: str) -> str:
	"""'' when the tool's output equals <where>/<name>, else why not."""
	import difflib
	path = where / name
	rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
	if not path.is_file():
		return (f'{rel} is missing: `tests/run.py --write-expected` writes it from '
			"the tool's output; read it against the spec before committing it")
	recorded = _recorded_version(where)
	version = tree.open_tree(str(kdir)).version
	if recorded and recorded != version:
		return (f'{rel} was recorded on linux {recorded}, the tree is linux '
			f'{version}: its lines are not comparable; record them again '
			'(remove the files, `tests/run.py --write-expected`) and read them')
	try:
		got = actual(kdir, name)
	except Unexpected as err:
		return str(err)
	want = path.read_text(encoding='utf-8', errors='surrogateescape')
	if got == want:
		return ''
	return ''.join(difflib.unified_diff(want.splitlines(keepends=True),
					    got.splitlines(keepends=True),
					    f'expected {name}', f'actual {name}'))


def write_missing(cases: list[Path], real: Path) -> int:
	"""Write the expectations that do not exist yet; never overwrite one."""
	places = [(case, case / 'tree') for case in cases]
	for series in DEBIAN_SERIES:
		places.append((real / series, tree.ensure_debian_source(series).path))
	status = 0
	for where, kdir in places:
		for name in (REPORT, PROBE):
			path = where / name
			if path.exists():
				continue
			try:
				text = actual(kdir, name)
			except Unexpected as err:
				print(f'{path}: {err}', file=sys.stderr)
				status = 1
				continue
			where.mkdir(parents=True, exist_ok=True)
			path.write_text(text, encoding='utf-8', errors='surrogateescape')
			print(f'wrote {path}: read it against the spec before committing it')
	return status
