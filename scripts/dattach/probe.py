"""Find the few files that matter and read the tree's shape.

A plain grep (git grep in a git checkout) over the key identifiers narrows a
75,000-file tree to a handful of files in seconds, so spatch never has to
scan the tree itself.  The shape is read from the texts of iommu.c and
iommu.h alone, by `classify()`, so it can be tested on strings.
"""

import dataclasses
import enum
import os
import re
import subprocess
from pathlib import Path
from typing import Optional

from dattach.errors import ToolError
from dattach.tree import KernelTree

IOMMU_C = 'drivers/iommu/iommu.c'
IOMMU_H = 'include/linux/iommu.h'
DMA_IOMMU_C = 'drivers/iommu/dma-iommu.c'

# Every file holding one of these may need converting.  `attach_deferred`
# also finds `is_attach_deferred` and `iommu_is_attach_deferred`.
KEY_IDENTIFIERS = ('is_attach_deferred', 'attach_deferred', 'struct dev_iommu',
		   'iommu_group_do_dma_first_attach')



class Shape(enum.Enum):
	TWO_ARG_DMA_IOMMU = ('two-argument helper, deferred attach in dma-iommu.c '
			     '(v5.7 to v5.11)')
	TWO_ARG_HELPER = 'two-argument helper (v5.12 to v5.17)'
	ONE_ARG_HELPER = 'one-argument helper (v5.18 to v6.2)'
	ALREADY_CONVERTED = 'already converted'
	HALF_CONVERTED = 'half converted'
	INCONSISTENT = 'inconsistent'
	# An earlier upstream fix the change builds on is missing.
	NEEDS_EARLIER_FIX = 'needs an earlier upstream fix'
	NOT_APPLICABLE = 'not applicable'
	UNKNOWN = 'unknown shape'


CONVERTIBLE = (Shape.TWO_ARG_DMA_IOMMU, Shape.TWO_ARG_HELPER,
	       Shape.ONE_ARG_HELPER, Shape.HALF_CONVERTED)


@dataclasses.dataclass(frozen=True)
class Upstream:
	"""An upstream commit a refused tree must get first."""
	sha: str		# 12 digits, as the kernel cites commits
	title: str

	def __str__(self) -> str:
		return f'{self.sha} ("{self.title}")'


# The upstream commits the refusals name; the ids and titles are Linus'
# tree's.
DEV_IOMMU_COMMIT = Upstream('045a70426067', 'iommu: Rename struct iommu_param to dev_iommu')
FIX_COMMIT = Upstream('bd421264ed30', 'iommu: Fix deferred domain attachment')
CORE_DEFERRED_ATTACH_COMMIT = Upstream(
	'3ab657291638', 'iommu: use the __iommu_attach_device() directly for deferred attach')


@dataclasses.dataclass(frozen=True)
class Classification:
	shape: Shape
	reason: str		# why, in words a maintainer can act on
	# The helper's generation, for convertible trees (a half-converted
	# tree is still of one generation).
	generation: Optional[Shape] = None
	# For a refused tree: the upstream commits to backport before this
	# change can be made, in order.
	backport_first: tuple[Upstream, ...] = ()

	@property
	def convertible(self) -> bool:
		return self.shape in CONVERTIBLE


@dataclasses.dataclass(frozen=True)
class Site:
	"""A call that asks whether the attach is deferred."""
	path: str		# relative to the tree
	line: int		# 1-based
	function: Optional[str]	# enclosing function, when there is one
	callee: str		# iommu_is_attach_deferred, is_attach_deferred, ...
	text: str		# the source line, stripped

	def where(self) -> str:
		func = f' ({self.function})' if self.function else ''
		return f'{self.path}:{self.line}{func}'


@dataclasses.dataclass(frozen=True)
class ProbeResult:
	tree: KernelTree
	candidates: list[str]	# relative paths, sorted
	sites: list[Site]
	classification: Classification


# --- kernel-style C, read by lines -------------------------------------------

# A function head starts in column 0 (kernel style); the name is the last
# identifier before the first parenthesis, and may start the line itself
# when the return type has a line of its own (`static int\nfoo(...)`).
_FUNC_HEAD = re.compile(r'^(?:[A-Za-z_][^;{}()=#]*?\b)?([A-Za-z_]\w*)\s*\(')


def function_spans(text: str) -> list[tuple[str, int, int]]:
	"""(name, first line, last line) of each function definition, 1-based.

	Kernel style puts a definition's opening and closing braces alone in
	column 0, which a line scanner can rely on without parsing C."""
	spans = []
	candidate: Optional[tuple[str, int]] = None
	current: Optional[tuple[str, int]] = None
	for number, line in enumerate(text.splitlines(), 1):
		if current is None:
			head = _FUNC_HEAD.match(line)
			if head and not line.rstrip().endswith(';'):
				candidate = (head.group(1), number)
			elif line.startswith('{'):
				if candidate is not None:
					current = candidate
			elif line.rstrip().endswith(';') and not line[:1].isspace():
				candidate = None
		elif line.startswith('}'):
			spans.append((current[0], current[1], number))
			current = candidate = None
	return spans


def function_at(spans: list[tuple[str, int, int]], line: int) -> Optional[str]:
	for name, first, last in spans:
		if first <= line <= last:
			return name
	return None


def function_text(text: str, name: str) -> Optional[str]:
	"""The lines of function `name`, head to closing brace."""
	lines = text.splitlines()
	for func, first, last in function_spans(text):
		if func == name:
			return '\n'.join(lines[first - 1:last])
	return None


# A call: the name followed by '(' on an indented line.  Definitions and
# prototypes start in column 0, the op member reads `(*is_attach_deferred)(`.
_CALL = re.compile(r'\b(\w*is_attach_deferred)\s*\(')


def find_sites(path: str, text: str) -> list[Site]:
	spans = function_spans(text)
	sites = []
	for number, line in enumerate(text.splitlines(), 1):
		# Kernel-style comment lines (` * ...`) name functions too.
		if not line[:1].isspace() or line.strip().startswith(('*', '/*', '//')):
			continue
		for match in _CALL.finditer(line):
			sites.append(Site(path=path, line=number,
					  function=function_at(spans, number),
					  callee=match.group(1), text=line.strip()))
	return sites


def struct_body(text: str, name: str) -> Optional[str]:
	match = re.search(r'^struct\s+' + re.escape(name) + r'\s*\{(.*?)^\};',
			  text, re.MULTILINE | re.DOTALL)
	return match.group(1) if match else None


# --- the shape ------------------------------------------------------------------

_ONE_ARG_HELPER = re.compile(
	r'^static\s+bool\s+iommu_is_attach_deferred\s*\(\s*struct\s+device\s*\*\s*\w+\s*\)',
	re.MULTILINE)
_TWO_ARG_HELPER = re.compile(
	r'^static\s+bool\s+iommu_is_attach_deferred\s*\(\s*struct\s+iommu_domain\s*\*',
	re.MULTILINE)
_FLAG_MEMBER = re.compile(r'\battach_deferred\s*(:\s*\d+\s*)?;')
_SETS_FLAG = re.compile(r'->\s*attach_deferred\s*=\s*(?!=)')
_CLEARS_FLAG = re.compile(r'->\s*attach_deferred\s*=\s*0\s*;')
_DEFAULT_DOMAIN_ATTACH = re.compile(r'\b__iommu_attach_device\s*\(\s*\w+\s*->\s*default_domain\b')

DEV_IOMMU_PREREQUISITE = (f'struct dev_iommu (v5.7, upstream {DEV_IOMMU_COMMIT.sha} '
			  f'"{DEV_IOMMU_COMMIT.title}" and its series)')
FIX_PREREQUISITE = f'upstream {FIX_COMMIT}'
# v5.4 and older keep the per-device data in dev->iommu_param.
_IOMMU_PARAM = re.compile(r'->\s*iommu_param\b')
# The op asked inline, and a deferred device left unattached: the
# `return 0` right after the op's call (the end of the if condition).
_INLINE_DEFER = re.compile(r'\bis_attach_deferred\s*\([^;{}]*\)\s*\)\s*\{?\s*return\s+0\s*;')
_DEFERRED_ATTACH_CALL = re.compile(r'^\s+.*\biommu_deferred_attach\s*\(', re.MULTILINE)

# Functions of the core that may ask the helper after the change: the
# helper itself and the first-attach helper, where deferral is decided.
# From v6.5 on, iommu_init_device() (first inside __iommu_probe_device())
# asks the op once and sets the flag.
_DECIDERS = ('iommu_is_attach_deferred', 'iommu_group_do_dma_first_attach',
	     'iommu_init_device', '__iommu_probe_device')


def has_flag_member(iommu_h: str) -> bool:
	"""Whether struct dev_iommu has the attach_deferred member."""
	dev_iommu = struct_body(iommu_h, 'dev_iommu')
	return dev_iommu is not None and bool(_FLAG_MEMBER.search(dev_iommu))


def _helper_generation(iommu_c: str, dma_iommu_c: Optional[str]) -> Optional[Shape]:
	if _ONE_ARG_HELPER.search(iommu_c):
		return Shape.ONE_ARG_HELPER
	if _TWO_ARG_HELPER.search(iommu_c):
		if function_text(iommu_c, 'iommu_deferred_attach') is not None:
			return Shape.TWO_ARG_HELPER
		return Shape.TWO_ARG_DMA_IOMMU
	return None


# What a place of the core in the old form does, when it is not asking.
ASKS = 'asks whether the attach is deferred'
ATTACHES_WITHOUT_HELPER = 'attaches the default domain without the first-attach helper'
ATTACH_KEEPS_FLAG = 'attaches without clearing the attach_deferred flag'


@dataclasses.dataclass(frozen=True)
class Place:
	"""A place of the core still in the old form."""
	path: str
	line: int
	function: Optional[str]
	what: str = ASKS

	@property
	def asks(self) -> bool:
		return self.what == ASKS

	def where(self) -> str:
		func = f' ({self.function})' if self.function else ''
		return f'{self.path}:{self.line}{func}'


def describe_places(places: list[Place]) -> str:
	"""'still asks at A, B; C attaches the default domain without ...':
	"still asks" only for the places that really ask."""
	parts = []
	asking = [p.where() for p in places if p.asks]
	if asking:
		parts.append(f'still asks at {", ".join(asking)}')
	parts += [f'{p.where()} {p.what}' for p in places if not p.asks]
	return '; '.join(parts)


def leftovers(iommu_c: str, dma_iommu_c: Optional[str] = None) -> list[Place]:
	"""The places of the core still in the old form."""
	left = []
	for site in find_sites(IOMMU_C, iommu_c):
		if site.function in _DECIDERS:
			continue
		# The helper, or the op itself where the core asks it inline
		# (a tree from before the helper).
		if site.callee in ('iommu_is_attach_deferred', 'is_attach_deferred') or (
				site.function == 'iommu_deferred_attach'):
			left.append(Place(site.path, site.line, site.function))
	probe_fn = function_text(iommu_c, 'iommu_probe_device')
	if probe_fn is not None and _DEFAULT_DOMAIN_ATTACH.search(probe_fn):
		left.append(Place(IOMMU_C, _line_of(iommu_c, 'iommu_probe_device'),
				  'iommu_probe_device', ATTACHES_WITHOUT_HELPER))
	attach = function_text(iommu_c, '__iommu_attach_device')
	if (attach is not None and 'trace_attach_device_to_domain' in attach
			and not _CLEARS_FLAG.search(attach)):
		left.append(Place(IOMMU_C, _line_of(iommu_c, '__iommu_attach_device'),
				  '__iommu_attach_device', ATTACH_KEEPS_FLAG))
	if dma_iommu_c is not None:
		for site in find_sites(DMA_IOMMU_C, dma_iommu_c):
			left.append(Place(site.path, site.line, site.function))
	return left


def _line_of(text: str, function: str) -> int:
	for name, first, _last in function_spans(text):
		if name == function:
			return first
	return 0


def _first_line(path: str, text: str, pattern: re.Pattern[str]) -> Optional[Place]:
	"""The first code line (not a comment) matching pattern, as a Place."""
	spans = function_spans(text)
	for number, line in enumerate(text.splitlines(), 1):
		if line.strip().startswith(('*', '/*', '//')):
			continue
		if pattern.search(line):
			return Place(path, number, function_at(spans, number))
	return None


def _before_dev_iommu(iommu_c: str, param: Optional[Place]) -> Classification:
	"""A core from before struct dev_iommu (v5.7): none in the header, or
	iommu.c still using dev->iommu_param whatever the header says (a
	vendor 5.4 tree with a partly updated header)."""
	two_arg = bool(_TWO_ARG_HELPER.search(iommu_c))
	# The two-argument helper came with bd421264ed30 (v5.7-rc6).
	first = (DEV_IOMMU_COMMIT,) if two_arg else (DEV_IOMMU_COMMIT, FIX_COMMIT)
	needs = (DEV_IOMMU_PREREQUISITE if two_arg
		 else f'{DEV_IOMMU_PREREQUISITE} and {FIX_PREREQUISITE}')
	if param is not None:
		why = (f'{param.where()} uses dev->iommu_param, although {IOMMU_H} '
		       'declares struct dev_iommu (a partly updated header): the core '
		       f'is from before v5.7; needs {needs}')
	elif two_arg:
		why = ('the two-argument iommu_is_attach_deferred() of a 5.6.y-style '
		       f'tree but no struct dev_iommu; needs {needs}')
	else:
		why = ('no struct dev_iommu: the op is asked inline (before v5.7); '
		       f'needs {needs}')
	return Classification(Shape.NOT_APPLICABLE, why, backport_first=first)


def _before_fix(iommu_c: str) -> Optional[Classification]:
	"""struct dev_iommu, no iommu_is_attach_deferred() helper, and
	__iommu_attach_device() asking the op itself and returning 0 for a
	deferred device: the core from before upstream bd421264ed30, where the
	DMA API's deferred attach (which goes through that function) is
	skipped as well, so the device is never attached."""
	attach = function_text(iommu_c, '__iommu_attach_device')
	if attach is None or not _INLINE_DEFER.search(attach):
		return None
	asks = [site for site in find_sites(IOMMU_C, iommu_c)
		if site.function == '__iommu_attach_device']
	where = asks[0].where() if asks else f'{IOMMU_C} (__iommu_attach_device)'
	return Classification(
		Shape.NEEDS_EARLIER_FIX,
		f'struct dev_iommu, but {where} asks the op inline and returns 0 for '
		'a deferred device, and there is no iommu_is_attach_deferred() '
		f'helper: the tree predates {FIX_PREREQUISITE}, without which the '
		f'deferred attach never happens at all; backport {FIX_COMMIT.sha} first',
		backport_first=(FIX_COMMIT,))


_CALLS_DEFERRED_ATTACH = re.compile(r'^\s.*\biommu_deferred_attach\s*\(')


def _mixed_generations(iommu_c: str, dma_iommu_c: Optional[str]) -> Optional[Classification]:
	"""dma-iommu.c calling iommu_deferred_attach() (v5.12 on) while iommu.c
	has none: files of two generations, which no conversion can join."""
	if dma_iommu_c is None or function_text(iommu_c, 'iommu_deferred_attach') is not None:
		return None
	call = _first_line(DMA_IOMMU_C, dma_iommu_c, _CALLS_DEFERRED_ATTACH)
	if call is None:
		return None
	if _TWO_ARG_HELPER.search(iommu_c):
		core = ('its two-argument iommu_is_attach_deferred() leaves the deferred '
			f'attach to {DMA_IOMMU_C}, as v5.7 to v5.11 do')
	else:
		core = 'it has no deferred attach of its own'
	commit = CORE_DEFERRED_ATTACH_COMMIT
	return Classification(
		Shape.INCONSISTENT,
		f'{call.where()} calls iommu_deferred_attach(), which the core '
		f'gained in v5.12 with upstream {commit}, but {IOMMU_C} has no '
		f'iommu_deferred_attach(): {core}; bring the two files to one '
		f'generation: backport {commit.sha} to {IOMMU_C} first (or revert it '
		f'in {DMA_IOMMU_C})',
		backport_first=(commit,))


def classify(iommu_c: Optional[str], iommu_h: Optional[str],
	     dma_iommu_c: Optional[str] = None) -> Classification:
	"""The tree's shape, from the texts of drivers/iommu/iommu.c,
	include/linux/iommu.h and drivers/iommu/dma-iommu.c (None when the
	tree lacks the file)."""
	if iommu_c is None or iommu_h is None:
		missing = IOMMU_C if iommu_c is None else IOMMU_H
		return Classification(Shape.NOT_APPLICABLE,
				      f'no {missing}: not an IOMMU-capable tree')
	dev_iommu = struct_body(iommu_h, 'dev_iommu')
	param = _first_line(IOMMU_C, iommu_c, _IOMMU_PARAM)
	if dev_iommu is None or param is not None:
		return _before_dev_iommu(iommu_c, param)
	mixed = _mixed_generations(iommu_c, dma_iommu_c)
	if mixed is not None:
		return mixed
	has_member = has_flag_member(iommu_h)
	first_attach = function_text(iommu_c, 'iommu_group_do_dma_first_attach')

	# v6.5 onward: the flag is set once, where the device is initialised.
	for setter in ('iommu_init_device', '__iommu_probe_device'):
		body = function_text(iommu_c, setter)
		if has_member and body is not None and _SETS_FLAG.search(body):
			return Classification(Shape.ALREADY_CONVERTED,
					      'already converted (v6.5+ shape)')

	if first_attach is not None and not _SETS_FLAG.search(first_attach):
		line = _line_of(iommu_c, 'iommu_group_do_dma_first_attach')
		return Classification(
			Shape.INCONSISTENT,
			f'{IOMMU_C}:{line}: iommu_group_do_dma_first_attach() does not '
			'set dev->iommu->attach_deferred, so nothing would ever set the '
			'flag the rest of the change reads; finish or revert it by hand')

	left = leftovers(iommu_c, dma_iommu_c)
	generation = _helper_generation(iommu_c, dma_iommu_c)
	if not left and has_member and (first_attach is not None or generation is None):
		return Classification(Shape.ALREADY_CONVERTED,
				      'already converted (v6.3/v6.4 shape)')
	if generation is None:
		earlier = _before_fix(iommu_c)
		if earlier is not None:
			return earlier
		where = f'; {describe_places(left)}' if left else ''
		return Classification(
			Shape.INCONSISTENT if left or has_member else Shape.UNKNOWN,
			f'struct dev_iommu but no static bool iommu_is_attach_deferred() '
			f'in {IOMMU_C} to decide deferral from{where}')
	done = []
	if has_member:
		done.append('the attach_deferred member')
	if first_attach is not None:
		done.append('iommu_group_do_dma_first_attach()')
	if done:
		return Classification(
			Shape.HALF_CONVERTED,
			f'half converted, {generation.value}, already has '
			f'{" and ".join(done)}',
			generation)
	return Classification(generation, generation.value, generation)


# --- the files ---------------------------------------------------------------------

def _is_git_toplevel(tree: KernelTree) -> bool:
	try:
		out = subprocess.run(['git', '-C', str(tree.path), 'rev-parse',
				      '--show-toplevel'],
				     capture_output=True, text=True, check=False)
	except FileNotFoundError:
		return False
	return out.returncode == 0 and out.stdout.strip() == str(tree.path)


def _grep_groups(root: Path, count: int) -> list[list[str]]:
	"""The tree's second-level entries (drivers/iommu, arch/x86, ...) and
	top-level files, dealt out to count groups, one grep process each: a
	single grep is bound by one CPU, and drivers/ alone is half the tree."""
	entries = []
	for top in sorted(root.iterdir()):
		if top.is_dir() and not top.is_symlink() and not top.name.startswith('.'):
			entries += [f'{top.name}/{sub.name}' for sub in sorted(top.iterdir())
				    if not sub.is_symlink()]
		elif top.is_file() and not top.is_symlink():
			entries.append(top.name)
	return [group for group in (entries[i::count] for i in range(count)) if group]


def _run_greps(cmds: list[list[str]], cwd: Path) -> str:
	try:
		procs = [subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
					  stderr=subprocess.PIPE, text=True)
			 for cmd in cmds]
	except FileNotFoundError as err:
		raise ToolError(f'{cmds[0][0]} is not installed') from err
	output = []
	for cmd, proc in zip(cmds, procs):
		stdout, stderr = proc.communicate()
		# Both greps exit 1 for "no match", which is an answer, not a failure.
		if proc.returncode not in (0, 1):
			raise ToolError(f'{" ".join(cmd[:2])} failed in {cwd}: '
					f'{stderr.strip().splitlines()[-1:]}')
		output.append(stdout)
	return ''.join(output)


def find_candidates(tree: KernelTree, jobs: Optional[int] = None) -> list[str]:
	"""Relative paths of the .c/.h files holding a key identifier."""
	patterns = []
	for ident in KEY_IDENTIFIERS:
		patterns += ['-e', ident]
	if _is_git_toplevel(tree):
		# --untracked: a work in progress counts as much as a commit.
		# git grep runs threads of its own.
		cmds = [['git', '-C', str(tree.path), 'grep', '-l', '--untracked',
			 '-F', *patterns, '--', '*.c', '*.h']]
	else:
		groups = _grep_groups(tree.path, jobs or os.cpu_count() or 1)
		cmds = [['grep', '-rlF', '--include=*.c', '--include=*.h', *patterns,
			 '--', *group] for group in groups]
	paths = (line[2:] if line.startswith('./') else line
		 for line in _run_greps(cmds, tree.path).splitlines())
	return sorted({path for path in paths if path.endswith(('.c', '.h'))})


# The files classify() reads: every tree the toolkit converts has them at
# these paths, so the conversion can start on them before the tree-wide
# grep is done.
CORE_FILES = (IOMMU_H, IOMMU_C, DMA_IOMMU_C)


def classify_tree(tree: KernelTree) -> Classification:
	return classify(tree.read(IOMMU_C), tree.read(IOMMU_H), tree.read(DMA_IOMMU_C))


def probe_with(tree: KernelTree, candidates: list[str],
	       classification: Classification) -> ProbeResult:
	"""The probe's result from its two halves, found apart."""
	sites = []
	for rel in candidates:
		text = tree.read(rel)
		if text is not None:
			sites += find_sites(rel, text)
	return ProbeResult(tree=tree, candidates=candidates, sites=sites,
			   classification=classification)


def probe(tree: KernelTree) -> ProbeResult:
	return probe_with(tree, find_candidates(tree), classify_tree(tree))
