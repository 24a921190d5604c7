#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run the mutation corpus through the toolkit's `diff` and judge each result.

    /usr/bin/python3 tests/mutations/run_mutations.py            # make mutations
    /usr/bin/python3 tests/mutations/run_mutations.py --sample   # make check's share
    /usr/bin/python3 tests/mutations/run_mutations.py --list     # the mutants only

Sources: Debian's 6.1 and 6.12 trees (Makefile, drivers/iommu/iommu.c,
dma-iommu.c and include/linux/iommu.h copied to a scratch tree) and every
golden case whose tree `diff` converts or finds converted; cases the
toolkit refuses as they are have nothing to mutate.  Mutants come from
mutations.py.  Each one gets exactly one verdict:

  converted   the diff applies and the change's properties hold: the member
              exists once, the first-attach helper sets the flag, a real
              attach clears it, the deferred attach reads it, detach and no
              other call ask the op, the default-domain attaches go through
              the first-attach helper, the idiom's own statements are still
              there where upstream keeps the statement they sit in, the
              result builds and behaves (the C harness, for golden trees),
              and `diff` on the result prints nothing; for a tree that was
              already converted: no diff at all
  refused     exit status 1 with a message naming the idiom's cause
  unexplained a refusal with the generic message ("the semantic patches
              left it unconverted", "spatch could not parse it") or a
              failing tool
  wrong       anything else: a diff that does not apply, breaks a property
              or is not stable, no diff where one is needed

The exit status is 1 on any wrong verdict and, with --sample or --check,
on a conversion rate of the unambiguous mutants under --target.
"""

import argparse
import atexit
import collections
import concurrent.futures
import dataclasses
import enum
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# DATTACH_CLI: judge another checkout's toolkit (a draft of the rules).
CLI = Path(os.environ.get('DATTACH_CLI', REPO / 'scripts' / 'deferred_attach.py'))
EXTRA_H = HERE / 'harness_extra.h'
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / 'scripts'))
sys.path.insert(0, str(REPO / 'tests' / 'harness'))
import mutations  # noqa: E402
from dattach import probe  # noqa: E402
import run_harness  # noqa: E402

SEED = 10
TARGET = 0.95
REAL_FILES = ('Makefile', 'drivers/iommu/iommu.c', 'drivers/iommu/dma-iommu.c',
	      'include/linux/iommu.h')
GENERIC_REFUSALS = ('the semantic patches left it unconverted',
		    'spatch could not parse it')
# The sample make check runs: this many mutants per kind (combinations
# count as one kind), seeded, golden and real sources mixed.
SAMPLE_PER_KIND = 1
SAMPLE_COMBOS = 3
CACHE = REPO / '.cache'
ENV = dict(os.environ, GIT_CEILING_DIRECTORIES=str(CACHE.parent), LC_ALL='C')


class Verdict(enum.Enum):
	CONVERTED = 'converted'
	REFUSED = 'refused with reason'
	UNEXPLAINED = 'refused without reason'
	WRONG = 'wrong'


@dataclasses.dataclass(frozen=True)
class Source:
	name: str		# real/6.1, golden/<case>
	root: Path		# the tree the mutants are made from
	already: bool		# the unmutated tree needs no change
	harness: bool		# the C harness can build its core


@dataclasses.dataclass(frozen=True)
class Outcome:
	mutant: mutations.Mutant
	verdict: Verdict
	detail: str
	converted_files: dict[str, str] = dataclasses.field(default_factory=dict)


# --- running the toolkit -----------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Run:
	status: int
	stdout: str
	stderr: str


def run_diff(tree: Path) -> Run:
	try:
		done = subprocess.run([sys.executable, str(CLI), 'diff', str(tree)],
				      capture_output=True, env=ENV, check=False, timeout=300)
	except subprocess.TimeoutExpired:
		return Run(3, '', 'diff did not finish in 300 s')
	return Run(done.returncode, done.stdout.decode('utf-8', 'surrogateescape'),
		   done.stderr.decode('utf-8', 'surrogateescape'))


def git_apply(patch: str, where: Path) -> Optional[str]:
	done = subprocess.run(['git', 'apply', '-'], input=patch.encode('utf-8', 'surrogateescape'),
			      cwd=where, capture_output=True, env=ENV, check=False)
	return None if done.returncode == 0 else done.stderr.decode(errors='replace').strip()


def read(path: Path) -> Optional[str]:
	try:
		return path.read_text(encoding='utf-8', errors='surrogateescape')
	except FileNotFoundError:
		return None


# --- sources ------------------------------------------------------------------------

def _reduced_copy(tree: Path, dest: Path) -> Path:
	for rel in REAL_FILES:
		if (tree / rel).is_file():
			(dest / rel).parent.mkdir(parents=True, exist_ok=True)
			shutil.copyfile(tree / rel, dest / rel)
	return dest


def sources(work: Path, only_golden: bool = False) -> tuple[list[Source], list[str]]:
	"""Every source and, for each one left out, why."""
	found: list[Source] = []
	skipped: list[str] = []
	candidates: list[tuple[str, Path, bool]] = []
	if not only_golden:
		from dattach import tree as tree_mod
		for series in ('6.1', '6.12'):
			try:
				kernel = tree_mod.ensure_debian_source(series)
			except Exception as err:  # noqa: BLE001 - said, not hidden
				skipped.append(f'real/{series}: no Debian tree: {err}')
				continue
			candidates.append((f'real/{series}',
					   _reduced_copy(kernel.path, work / 'src' / f'real-{series}'),
					   False))
	for case in sorted((REPO / 'tests' / 'golden').glob('*/tree')):
		# A golden case's expected output (checked by make check) says
		# what `diff` does with it; no need to run it again.
		stderr = read(case.parent / 'expected.stderr') or ''
		expected = read(case.parent / 'expected.diff')
		name = f'golden/{case.parent.name}'
		if 'error:' in stderr or expected is None:
			skipped.append(f'{name}: the toolkit refuses it as it is')
			continue
		found.append(Source(name, case, not expected,
				    not (case.parent / 'harness-skip').is_file()))
	for name, root, harness_ok in candidates:
		base = run_diff(root)
		if base.status != 0:
			skipped.append(f'{name}: the toolkit refuses it as it is')
			continue
		found.append(Source(name, root, not base.stdout, harness_ok))
	return found, skipped


def source_files(source: Source) -> dict[str, str]:
	files = {}
	for rel in mutations.CORE_FILES:
		text = read(source.root / rel)
		if text is not None:
			files[rel] = text
	return files


# --- the change's properties -------------------------------------------------------------

_COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
_SETS_FLAG = re.compile(r'->\s*attach_deferred\s*=\s*(1|true)\s*;')
_CLEARS_FLAG = re.compile(r'->\s*attach_deferred\s*=\s*(0|false)\s*;')
_READS_FLAG = re.compile(r'->\s*attach_deferred\b(?!\s*=[^=])')
_ASKS = re.compile(r'\b\w*is_attach_deferred\s*\(')
# The flag read with its NULL check, negated without parentheses: `!a && b`
# is not `!(a && b)`.
_BAD_NEGATION = re.compile(r'!\s*\w+\s*->\s*iommu\s*&&')


def _code(text: str) -> str:
	return _COMMENT.sub(' ', text)


def _func(text: str, name: str) -> Optional[str]:
	body = probe.function_text(text, name)
	return None if body is None else _code(body)


def properties(mutant_core: str, core: str, header: str,
	       dma: Optional[str]) -> list[str]:
	"""What is wrong with a converted core, in words; empty when nothing."""
	problems = []
	members = re.findall(r'\battach_deferred\s*(?::\s*\d+\s*)?;',
			     _code(probe.struct_body(header, 'dev_iommu') or ''))
	if len(members) != 1:
		problems.append(f'struct dev_iommu has {len(members)} attach_deferred members')
	first = _func(core, 'iommu_group_do_dma_first_attach')
	if first is None or not _SETS_FLAG.search(first):
		problems.append('iommu_group_do_dma_first_attach() is missing or does not set the flag')
	attach = _func(core, '__iommu_attach_device')
	if attach is None or not _CLEARS_FLAG.search(attach):
		problems.append('__iommu_attach_device() does not clear the flag')
	elif attach.find('trace_attach_device_to_domain') >= 0 and \
			_CLEARS_FLAG.search(attach).start() > attach.find('trace_attach_device_to_domain'):  # type: ignore[union-attr]
		problems.append('__iommu_attach_device() clears the flag after the trace point')
	for text, where in ((core, 'iommu.c'), (dma or '', 'dma-iommu.c')):
		for name, _first, _last in probe.function_spans(text):
			body = _func(text, name) or ''
			if 'deferred_attach' in name and name != 'iommu_is_attach_deferred' \
					and 'attach_deferred' not in _code(body).replace('is_attach_deferred', ''):
				problems.append(f'{where}: {name}() does not read the flag')
			if _BAD_NEGATION.search(body):
				problems.append(f'{where}: {name}() negates only the NULL check of the flag read')
	detach = _func(core, '__iommu_detach_device')
	if detach is not None and _ASKS.search(detach):
		problems.append('__iommu_detach_device() still asks')
	for site in probe.find_sites(probe.IOMMU_C, core) + probe.find_sites(probe.DMA_IOMMU_C, dma or ''):
		if site.function not in ('iommu_is_attach_deferred', 'iommu_group_do_dma_first_attach'):
			problems.append(f'{site.path}:{site.line}: {site.function}() still asks')
	probe_fn = _func(core, 'iommu_probe_device')
	if probe_fn is not None and 'iommu_group_do_dma_first_attach' not in probe_fn:
		problems.append('iommu_probe_device() does not attach through the first-attach helper')
	# A function of the mutant that attached after asking must still attach,
	# now through the first-attach helper (or be gone, the bus-probe callback).
	for name, _first, _last in probe.function_spans(mutant_core):
		old = _func(mutant_core, name) or ''
		new = _func(core, name)
		if new is None or name in ('iommu_deferred_attach', '__iommu_attach_device',
					   'iommu_is_attach_deferred'):
			continue
		if _ASKS.search(old) and '__iommu_attach_device' in old and \
				'iommu_group_do_dma_first_attach' not in new:
			problems.append(f'{name}() no longer attaches through the first-attach helper')
	return problems


def _squash(text: str) -> str:
	return re.sub(r'\s+', '', text)


# --- the harness ---------------------------------------------------------------------------

_MOCK: dict[str, Path] = {}


def harness(tree: Path, label: str, work: Path) -> list[str]:
	"""The C harness on a converted tree: the failing scenarios."""
	if 'obj' not in _MOCK:
		# Once per process, in a directory that outlives every mutant.
		where = Path(tempfile.mkdtemp(prefix='dattach-mock.'))
		atexit.register(shutil.rmtree, where, True)
		obj, why = run_harness.mock_object(where)
		if obj is None:
			return [f'harness: {why}']
		_MOCK['obj'] = obj
	build = run_harness.Build(label, 'mutant', tree, {})
	exe = work / 'scenarios'
	cmd = run_harness.compile_cmd(build, exe, _MOCK['obj'])
	cmd[1:1] = ['-include', str(EXTRA_H)]
	cc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
	if cc.returncode != 0:
		return ['harness build failed:\n' + '\n'.join(cc.stderr.splitlines()[-12:])]
	run = subprocess.run(run_harness.run_cmd(build, exe), capture_output=True, text=True,
			     check=False, timeout=120, env=dict(os.environ, **run_harness.SANITIZER_ENV))
	return [f'{r.name}: {r.detail}' for r in
		run_harness.parse_run(build, run.returncode, run.stdout, run.stderr)
		if r.status is run_harness.Status.FAIL]


# --- one mutant ----------------------------------------------------------------------------

def refusal_line(stderr: str) -> str:
	lines = [l for l in stderr.splitlines() if 'error:' in l]
	return lines[-1] if lines else stderr.strip()[-300:]


def check(source: Source, mutant: mutations.Mutant, work: Path) -> Outcome:
	tree = work / 'mutant'
	shutil.copytree(source.root, tree)
	(tree / mutant.path).write_text(mutant.text, encoding='utf-8', errors='surrogateescape')
	first = run_diff(tree)
	if first.status == 1:
		line = refusal_line(first.stderr)
		generic = any(g in line for g in GENERIC_REFUSALS)
		return Outcome(mutant, Verdict.UNEXPLAINED if generic else Verdict.REFUSED, line)
	if first.status != 0:
		return Outcome(mutant, Verdict.UNEXPLAINED, f'exit status {first.status}: '
			       f'{first.stderr.strip()[-400:]}')
	if source.already:
		if first.stdout:
			return Outcome(mutant, Verdict.WRONG, 'a diff for a tree already converted:\n'
				       + first.stdout[:1500])
		return Outcome(mutant, Verdict.CONVERTED, 'already converted: no diff')
	if not first.stdout:
		return Outcome(mutant, Verdict.WRONG, 'no diff for a tree that needs the change: '
			       + first.stderr.strip())
	converted = work / 'converted'
	shutil.copytree(tree, converted)
	failed = git_apply(first.stdout, converted)
	if failed is not None:
		return Outcome(mutant, Verdict.WRONG, f'the diff does not apply: {failed}')
	core = read(converted / probe.IOMMU_C) or ''
	problems = properties(mutant.text if mutant.path == probe.IOMMU_C else
			      read(tree / probe.IOMMU_C) or '', core,
			      read(converted / probe.IOMMU_H) or '',
			      read(converted / probe.DMA_IOMMU_C))
	result_text = read(converted / mutant.path) or ''
	for stmt in mutant.survivors:
		if _squash(stmt) not in _squash(result_text):
			problems.append(f'the idiom\'s own statement is gone: {stmt}')
	if source.harness:
		problems += harness(converted, mutant.name.replace('/', '-').replace(':', '-'), work)
	again = run_diff(converted)
	if again.status != 0 or again.stdout:
		problems.append(f'a second run is not empty (exit status {again.status}):\n'
				+ (again.stdout[:1500] or again.stderr.strip()))
	if problems:
		return Outcome(mutant, Verdict.WRONG, '\n'.join(problems) + '\n--- the diff:\n'
			       + first.stdout[:4000])
	files = {rel: read(converted / rel) or '' for rel in (probe.IOMMU_C, probe.IOMMU_H)}
	return Outcome(mutant, Verdict.CONVERTED, '', files)


# --- the corpus and the sample -------------------------------------------------------------

# Golden trees are small variations of the same shapes: each gives this many
# mutants (a seeded choice, spread over the kinds); the real trees give all.
PER_GOLDEN = 5


def corpus(found: Sequence[Source]) -> list[tuple[Source, mutations.Mutant]]:
	result = []
	for source in found:
		limit = PER_GOLDEN if source.name.startswith('golden/') else None
		for mutant in mutations.generate(source.name, source_files(source), SEED,
						 per_source=limit):
			result.append((source, mutant))
	return result


def kind_row(mutant: mutations.Mutant) -> str:
	return 'combination of two' if len(mutant.kinds) > 1 else mutant.kind


def sample(everything: Sequence[tuple[Source, mutations.Mutant]], seed: int = SEED
	   ) -> list[tuple[Source, mutations.Mutant]]:
	"""Fixed and seeded: per kind, one mutant of a real tree where the kind
	fits one, one of a golden tree otherwise; plus a few combinations."""
	rng = random.Random(f'sample:{seed}')
	by_row: dict[str, list[tuple[Source, mutations.Mutant]]] = collections.defaultdict(list)
	for item in everything:
		by_row[kind_row(item[1])].append(item)
	chosen = []
	for row in sorted(by_row):
		items = by_row[row]
		count = SAMPLE_COMBOS if row == 'combination of two' else SAMPLE_PER_KIND
		real = [i for i in items if i[0].name == 'real/6.1']
		pool = real if real and rng.random() < 0.5 else items
		chosen += rng.sample(pool, min(count, len(pool)))
	return chosen


def run_all(items: Sequence[tuple[Source, mutations.Mutant]], jobs: int,
	    progress: bool = False) -> list[Outcome]:
	def one(item: tuple[Source, mutations.Mutant]) -> Outcome:
		with tempfile.TemporaryDirectory(prefix='dattach-mutant.') as tmp:
			try:
				return check(item[0], item[1], Path(tmp))
			except Exception as err:  # a crash of the checker is a failure
				return Outcome(item[1], Verdict.WRONG,
					       f'checker error: {type(err).__name__}: {err}')
	outcomes = []
	with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
		for n, outcome in enumerate(pool.map(one, items), 1):
			outcomes.append(outcome)
			if progress and sys.stderr.isatty():
				sys.stderr.write(f'\r{n}/{len(items)} mutants')
	if progress and sys.stderr.isatty():
		sys.stderr.write('\r\033[K')
	return outcomes


# --- reporting ------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
	mutants: int = 0
	converted: int = 0
	refused: int = 0
	unexplained: int = 0
	wrong: int = 0
	ambiguous: int = 0
	unambiguous_converted: int = 0

	def add(self, outcome: Outcome) -> None:
		self.mutants += 1
		v = outcome.verdict
		self.converted += v is Verdict.CONVERTED
		self.refused += v is Verdict.REFUSED
		self.unexplained += v is Verdict.UNEXPLAINED
		self.wrong += v is Verdict.WRONG
		if outcome.mutant.ambiguous:
			self.ambiguous += 1
		else:
			self.unambiguous_converted += v is Verdict.CONVERTED

	@property
	def rate(self) -> float:
		unambiguous = self.mutants - self.ambiguous
		return self.unambiguous_converted / unambiguous if unambiguous else 1.0


def table(outcomes: Sequence[Outcome]) -> tuple[str, Row]:
	rows: dict[str, Row] = collections.defaultdict(Row)
	total = Row()
	for outcome in outcomes:
		rows[kind_row(outcome.mutant)].add(outcome)
		total.add(outcome)
	head = ('kind', 'mutants', 'converted', 'refused (reason)', 'refused (no reason)',
		'wrong', 'rate')
	lines = [head]
	for name in sorted(rows, key=lambda n: (n == 'combination of two', n)):
		r = rows[name]
		lines.append((name + (' *' if r.ambiguous == r.mutants else ''), str(r.mutants),
			       str(r.converted), str(r.refused), str(r.unexplained), str(r.wrong),
			       f'{100 * r.rate:.0f}%' if r.ambiguous < r.mutants else '-'))
	lines.append(('total', str(total.mutants), str(total.converted), str(total.refused),
		      str(total.unexplained), str(total.wrong), f'{100 * total.rate:.1f}%'))
	widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
	text = '\n'.join('| ' + ' | '.join(c.ljust(w) for c, w in zip(l, widths)) + ' |'
			 for l in lines[:1] + [tuple('-' * w for w in widths)] + lines[1:])
	note = ('\n* preprocessor conditionals around the check itself: which check runs '
		'depends on the configuration, so they are not counted in the rate '
		f'(unambiguous mutants converted: {total.unambiguous_converted} of '
		f'{total.mutants - total.ambiguous})')
	return text + note, total


def details(outcomes: Iterable[Outcome], verdicts: Sequence[Verdict]) -> str:
	parts = []
	for o in outcomes:
		if o.verdict in verdicts:
			parts.append(f'{o.verdict.value.upper()} {o.mutant.name}\n    ' +
				     o.detail.replace('\n', '\n    '))
	return '\n'.join(parts)


# --- Kbuild ------------------------------------------------------------------------------------

def kbuild(outcomes: Sequence[Outcome], count: int) -> list[str]:
	"""Build drivers/iommu/iommu.o of `count` converted real 6.1 mutants
	(seeded choice) in the scratch tree and Kbuild directory of tests/run.py;
	the failures, or why it could not run."""
	sys.path.insert(0, str(REPO / 'tests'))
	import run as runner  # type: ignore[import]  # noqa: E402  (tests/run.py)
	real = [o for o in outcomes if o.verdict is Verdict.CONVERTED and
		o.mutant.source == 'real/6.1' and o.converted_files]
	chosen = random.Random(f'kbuild:{SEED}').sample(real, min(count, len(real)))
	if not chosen:
		return ['no converted real 6.1 mutant to build']
	if not (runner.KBUILD / '.dattach-configured').is_file() or not runner.SCRATCH.is_dir():
		# Configure, and build the plain conversion first, as make check's
		# real/6.1/build does (which, run before, leaves both in place).
		try:
			runner.RealTrees().build()
		except runner.Failure as err:
			return [f'the real-tree build itself failed: {err}']
	where = runner.SCRATCH
	failures = []
	for outcome in chosen:
		for rel, text in outcome.converted_files.items():
			path = where / rel
			path.unlink()
			path.write_text(text, encoding='utf-8', errors='surrogateescape')
		(runner.KBUILD / 'drivers/iommu/iommu.o').unlink(missing_ok=True)
		done = subprocess.run(['make', f'O={runner.KBUILD}', '-j2', 'drivers/iommu/iommu.o'],
				      cwd=where, capture_output=True, text=True, env=ENV, check=False)
		errors = [l for l in (done.stdout + done.stderr).splitlines()
			  if 'error:' in l or 'warning:' in l]
		if done.returncode != 0 or errors:
			failures.append(f'{outcome.mutant.name}: make drivers/iommu/iommu.o: ' +
					'\n'.join(errors[-8:] or (done.stdout + done.stderr).splitlines()[-8:]))
	return failures


# --- for tests/run.py ---------------------------------------------------------------------------

def check_sample(repo: Path = REPO, kbuild_count: int = 1) -> list[tuple[str, bool, str]]:
	"""make check's share: (name, passed, detail) for the seeded sample,
	one line per mutant, then the rate, then a Kbuild of one converted
	real-tree mutant."""
	results: list[tuple[str, bool, str]] = []
	with tempfile.TemporaryDirectory(prefix='dattach-mutations.') as tmp:
		found, skipped = sources(Path(tmp))
		if not any(s.name == 'real/6.1' for s in found):
			results.append(('mutations/sources', False, '\n'.join(skipped)))
		chosen = sample(corpus(found))
		outcomes = run_all(chosen, os.cpu_count() or 1)
		for o in outcomes:
			ok = o.verdict is not Verdict.WRONG and (
				o.mutant.ambiguous or o.verdict is not Verdict.UNEXPLAINED)
			results.append((f'mutations/{o.mutant.name}', ok,
					'' if ok else f'{o.verdict.value}: {o.detail}'))
		text, total = table(outcomes)
		results.append(('mutations/rate', total.wrong == 0 and total.rate >= TARGET,
				f'conversion rate {100 * total.rate:.1f}% (target '
				f'{100 * TARGET:.0f}%), {total.wrong} wrong\n{text}'))
		if kbuild_count:
			failures = kbuild(outcomes, kbuild_count)
			results.append(('mutations/kbuild', not failures, '\n'.join(failures)))
	return results


def main(argv: Optional[Sequence[str]] = None) -> int:
	parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	parser.add_argument('--sample', action='store_true',
			    help="only make check's fixed seeded sample")
	parser.add_argument('--list', action='store_true', help='list the mutants, run nothing')
	parser.add_argument('--golden-only', action='store_true', help='leave the Debian trees out')
	parser.add_argument('--match', help='only mutants whose name contains this')
	parser.add_argument('--kbuild', type=int, default=8, metavar='N',
			    help='build iommu.o of N converted 6.1 mutants (default 8, 0: none)')
	parser.add_argument('--target', type=float, default=TARGET)
	parser.add_argument('--show', action='append', default=[],
			    choices=[v.name.lower() for v in Verdict],
			    help='print the details of these verdicts (wrong and refused '
			    'without reason always)')
	parser.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 1)
	parser.add_argument('--keep', type=Path, help='write each mutant file here')
	args = parser.parse_args(argv)
	start = time.monotonic()
	with tempfile.TemporaryDirectory(prefix='dattach-mutations.') as tmp:
		found, skipped = sources(Path(tmp), args.golden_only)
		items = corpus(found)
		if args.sample:
			items = sample(items)
		if args.match:
			items = [i for i in items if args.match in i[1].name]
		if args.keep:
			for _, m in items:
				dest = args.keep / (m.name.replace('/', '_') + '.c')
				dest.parent.mkdir(parents=True, exist_ok=True)
				dest.write_text(m.text)
		if args.list:
			for _, m in items:
				print(m.name + (' (ambiguous)' if m.ambiguous else ''))
			return 0
		outcomes = run_all(items, args.jobs, progress=True)
		shown = [Verdict.WRONG, Verdict.UNEXPLAINED] + [Verdict[s.upper()] for s in args.show]
		text = details(outcomes, shown)
		if text:
			print(text)
		for why in skipped:
			print(f'source left out: {why}')
		table_text, total = table(outcomes)
		print(table_text)
		failures = kbuild(outcomes, args.kbuild) if args.kbuild else []
		if args.kbuild:
			built = min(args.kbuild, sum(1 for o in outcomes if o.converted_files
						    and o.mutant.source == 'real/6.1'))
			print(f'Kbuild drivers/iommu/iommu.o of {built} converted real 6.1 mutants: '
			      + ('all built without warnings' if not failures else
				 f'{len(failures)} failed\n' + '\n'.join(failures)))
		print(f'{len(outcomes)} mutants from {len(found)} sources, seed {SEED}, '
		      f'{time.monotonic() - start:.0f} s')
	bad = total.wrong > 0 or bool(failures)
	if args.sample or args.match is None:
		bad = bad or total.rate < args.target
	return 1 if bad else 0


if __name__ == '__main__':
	sys.exit(main())
