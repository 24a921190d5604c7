"""Every place still in the old form, as `make coccicheck MODE=report`
prints it: `file:line:col-col: message`, paths relative to the tree.

The semantic patches run with `-D report` on copies of the probe's
candidate files, all three at once (report mode changes nothing, so series
order does not matter), instead of over the whole tree as coccicheck does.
"""

import concurrent.futures
import dataclasses
import re
import tempfile
from pathlib import Path

from dattach.errors import ToolError
from dattach.plan import COCCI_DIR, SERIES
from dattach.probe import ProbeResult
from dattach.spatch import copy_files, header_options, run_spatch

# What coccicheck passes in report mode, less what reads the whole tree.
REPORT_OPTIONS = ['-D', 'report', '--no-show-diff', '--very-quiet',
		  '--no-includes', '--include-headers', '--max-width', '100',
		  '--no-scanner']

_LINE = re.compile(r'^(?:\./)?(?P<path>[^\s:]+):(?P<line>\d+):(?P<columns>\d+-\d+): '
		   r'(?P<message>.*)$')


@dataclasses.dataclass(frozen=True, order=True)
class ReportLine:
	path: str
	line: int
	columns: str		# "5-29", as spatch prints it
	message: str
	cocci: str		# the semantic patch that reported it

	def text(self) -> str:
		return f'{self.path}:{self.line}:{self.columns}: {self.message}'

	def to_json(self) -> dict[str, object]:
		return {'path': self.path, 'line': self.line, 'columns': self.columns,
			'message': self.message, 'cocci': self.cocci}


def _run(spatch: str, cocci: Path, workdir: Path, jobs: int) -> list[ReportLine]:
	cmd = [spatch, '--sp-file', str(cocci), *REPORT_OPTIONS,
	       *[opt for opt in header_options(cocci) if opt not in REPORT_OPTIONS],
	       '--dir', '.']
	if jobs > 1:
		cmd += ['--jobs', str(jobs), '--chunksize', '1']
	done = run_spatch(cmd, workdir, f'{cocci.name} -D report')
	if done.returncode != 0:
		lines = done.stderr.strip().splitlines()
		raise ToolError(f'spatch {cocci.name} -D report failed: '
				f'{lines[-1] if lines else done.returncode}')
	found = []
	for line in done.stdout.splitlines():
		match = _LINE.match(line)
		if match:
			found.append(ReportLine(match['path'], int(match['line']),
						match['columns'], match['message'],
						cocci.name))
	return found


def report(found: ProbeResult, spatch: str = 'spatch', jobs: int = 1,
	   cocci_dir: Path = COCCI_DIR) -> list[ReportLine]:
	"""The report lines of every semantic patch over the candidates, sorted
	by file and line, each line once."""
	if not found.candidates:
		return []
	with tempfile.TemporaryDirectory(prefix='deferred-attach-report.') as tmp:
		work = Path(tmp)
		copy_files(found.tree.path, found.candidates, work)
		patches = [cocci_dir / name for name in SERIES]
		per_patch = max(1, jobs // len(patches))
		with concurrent.futures.ThreadPoolExecutor(min(jobs, len(patches))) as pool:
			runs = list(pool.map(lambda c: _run(spatch, c, work, per_patch),
					     patches))
	lines: dict[str, ReportLine] = {}
	for run in runs:
		for line in run:
			lines.setdefault(line.text(), line)
	return sorted(lines.values(), key=lambda l: (l.path, l.line, l.columns, l.message))
