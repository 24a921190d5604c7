# SPDX-License-Identifier: GPL-2.0-only
"""The mutation corpus: vendor idioms applied one at a time to real code.

A source is a kernel tree (Debian's 6.1 and 6.12, reduced to the files the
probe reads) or a golden case's tree/.  In its drivers/iommu/iommu.c (and
dma-iommu.c where the v5.7-v5.10 shape keeps the deferred attach there) the
generator finds every site of the change:

  check    an `if` whose condition asks whether the attach is deferred
           (the helper, the op, or the flag of a converted tree)
  helper   the definition of iommu_is_attach_deferred()
  probe    the default-domain attach statement in iommu_probe_device()
  trace    the `if (!ret) trace_attach_device_to_domain(dev);` tail of
           __iommu_attach_device()

and applies one idiom (a *kind*) at a time, or two in a row (`a+b`).
Each kind is a small function from a located site to new file text, or
None where the idiom does not fit that site.  Everything is deterministic:
the only randomness is random.Random seeded with the mutant's own name.
"""

import dataclasses
import random
import re
from pathlib import Path
from typing import Callable, Iterator, Optional

import sys
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'scripts'))
from dattach.probe import function_spans  # noqa: E402

CORE_FILES = ('drivers/iommu/iommu.c', 'drivers/iommu/dma-iommu.c')
# The device a mutation's own statements name when the function has no
# `struct device *` parameter (never needed by the sites found so far).
_DEV_PARAM = re.compile(r'struct\s+device\s*\*\s*(\w+)\s*[,)]')
_CALL = re.compile(r'\b(\w*is_attach_deferred)\s*\(')
_FLAG_READ = re.compile(r'->\s*attach_deferred\b(?!\s*=[^=])')


# --- C text, just enough of it ------------------------------------------------

def match_close(text: str, start: int) -> int:
	"""Index of the bracket closing the one at text[start], skipping
	comments and string literals."""
	pairs = {'(': ')', '{': '}', '[': ']'}
	stack = [pairs[text[start]]]
	i = start + 1
	while i < len(text):
		c = text[i]
		if text.startswith('/*', i):
			i = text.index('*/', i) + 2
			continue
		if text.startswith('//', i):
			i = text.index('\n', i)
			continue
		if c in '"\'':
			j = i + 1
			while text[j] != c:
				j += 2 if text[j] == '\\' else 1
			i = j + 1
			continue
		if c in pairs:
			stack.append(pairs[c])
		elif c in ')}]':
			if c != stack.pop():
				raise ValueError(f'unbalanced {c!r} at {i}')
			if not stack:
				return i
		i += 1
	raise ValueError(f'no closing bracket for {start}')


def skip_space(text: str, i: int) -> int:
	"""The next index after whitespace and comments."""
	while i < len(text):
		if text[i].isspace():
			i += 1
		elif text.startswith('/*', i):
			i = text.index('*/', i) + 2
		elif text.startswith('//', i):
			i = text.index('\n', i)
		else:
			break
	return i


def line_start(text: str, i: int) -> int:
	return text.rfind('\n', 0, i) + 1


def line_end(text: str, i: int) -> int:
	"""Index just after the newline ending the line holding i."""
	end = text.find('\n', i)
	return len(text) if end < 0 else end + 1


def indent_at(text: str, i: int) -> str:
	start = line_start(text, i)
	m = re.match(r'[ \t]*', text[start:])
	return m.group(0) if m else ''


@dataclasses.dataclass(frozen=True)
class Function:
	name: str
	head: int		# offset of the head's first line
	open: int		# offset of the body's '{'
	close: int		# offset of the body's '}'
	end: int		# offset after the closing line

	def params(self, text: str) -> str:
		return text[self.head:self.open]

	def device(self, text: str) -> Optional[str]:
		m = _DEV_PARAM.search(self.params(text))
		return m.group(1) if m else None


def functions(text: str) -> list[Function]:
	offsets = [0]
	for line in text.splitlines(keepends=True):
		offsets.append(offsets[-1] + len(line))
	result = []
	for name, first, last in function_spans(text):
		head = offsets[first - 1]
		body_open = text.index('{', head)
		close = offsets[last - 1]
		result.append(Function(name, head, body_open, close, line_end(text, close)))
	return result


def function_named(text: str, name: str) -> Optional[Function]:
	for func in functions(text):
		if func.name == name:
			return func
	return None


@dataclasses.dataclass(frozen=True)
class If:
	"""An if statement (without any else; sites have none)."""
	start: int		# the 'i' of 'if'
	cond_open: int		# its '('
	cond_close: int		# its ')'
	body_start: int		# first character of the body
	body_end: int		# just after the body's ';' or '}'
	braced: bool
	has_else: bool

	def cond(self, text: str) -> str:
		return text[self.cond_open + 1:self.cond_close]

	def body(self, text: str) -> str:
		return text[self.body_start:self.body_end]

	def inner(self, text: str) -> str:
		"""The body's statements, without braces."""
		body = self.body(text)
		return body[1:-1] if self.braced else body


def _statement_end(text: str, i: int) -> int:
	"""Just after the ';' ending the simple statement starting at i."""
	while True:
		c = text[i]
		if c in '({[':
			i = match_close(text, i) + 1
		elif c == ';':
			return i + 1
		else:
			i += 1


def parse_if(text: str, start: int) -> If:
	cond_open = text.index('(', start)
	cond_close = match_close(text, cond_open)
	body_start = skip_space(text, cond_close + 1)
	if text[body_start] == '{':
		body_end = match_close(text, body_start) + 1
		braced = True
	else:
		body_end = _statement_end(text, body_start)
		braced = False
	after = skip_space(text, body_end)
	return If(start, cond_open, cond_close, body_start, body_end, braced,
		  text.startswith('else', after) and not text[after + 4:after + 5].isalnum())


def enclosing_if(text: str, at: int, func: Function) -> Optional[If]:
	"""The if statement whose condition holds offset at."""
	for m in reversed(list(re.finditer(r'\bif\s*\(', text[func.open:at]))):
		start = func.open + m.start()
		stmt = parse_if(text, start)
		if stmt.cond_open < at < stmt.cond_close:
			return stmt
	return None


def replace(text: str, start: int, end: int, new: str) -> str:
	return text[:start] + new + text[end:]


def rename_in(text: str, start: int, end: int, old: str, new: str) -> str:
	"""Rename identifier old to new between start and end, leaving member
	names (after -> or .) and string literals alone."""
	part = text[start:end]
	pieces = re.split(r'("(?:\\.|[^"\\])*")', part)
	for n in range(0, len(pieces), 2):
		pieces[n] = re.sub(r'(?<![\w.>])' + re.escape(old) + r'\b', new, pieces[n])
	return text[:start] + ''.join(pieces) + text[end:]


# --- sites ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Site:
	path: str		# relative to the tree
	role: str		# check, helper, probe, trace
	function: str

	@property
	def name(self) -> str:
		return f'{self.path}:{self.function}:{self.role}'


@dataclasses.dataclass(frozen=True)
class Located:
	"""A site found in one version of its file's text."""
	site: Site
	func: Function
	stmt: Optional[If]	# check, trace: the if; probe: None
	term: Optional[tuple[int, int]]	# check: the call (or flag read) span
	attach: Optional[tuple[int, int]] = None	# probe: the statement span

	@property
	def positive(self) -> bool:
		"""Whether the branch runs when the attach is deferred."""
		return self.site.role == 'check' and not self.negated

	negated: bool = False


def _call_span(text: str, m: re.Match[str]) -> tuple[int, int]:
	open_ = text.index('(', m.start())
	return m.start(), match_close(text, open_) + 1


def _flag_span(text: str, m: re.Match[str]) -> tuple[int, int]:
	# dev->iommu->attach_deferred: back to the start of the expression.
	start = m.start()
	while start > 0 and (text[start - 1].isalnum() or text[start - 1] in '_->'):
		start -= 1
	return start, m.end()


def find_sites(path: str, text: str) -> list[Site]:
	sites: list[Site] = []
	for func in functions(text):
		body = text[func.open:func.close]
		if func.name == 'iommu_is_attach_deferred':
			sites.append(Site(path, 'helper', func.name))
			continue
		if func.name == 'iommu_probe_device' and re.search(
				r'\b(__iommu_attach_device|iommu_group_do_dma_first_attach)\s*\(', body):
			sites.append(Site(path, 'probe', func.name))
		if func.name == '__iommu_attach_device' and re.search(
				r'\bif\s*\(\s*!\s*\w+\s*\)\s*trace_attach_device_to_domain', body):
			sites.append(Site(path, 'trace', func.name))
		if locate(text, Site(path, 'check', func.name)) is not None:
			sites.append(Site(path, 'check', func.name))
	return sites


def locate(text: str, site: Site) -> Optional[Located]:
	func = function_named(text, site.function)
	if func is None:
		return None
	if site.role == 'helper':
		return Located(site, func, None, None)
	if site.role == 'probe':
		m = re.search(r'\b(__iommu_attach_device|iommu_group_do_dma_first_attach)\s*\(',
			      text[func.open:func.close])
		if m is None:
			return None
		at = func.open + m.start()
		start = line_start(text, at)
		return Located(site, func, None, None,
			       (start, line_end(text, _statement_end(text, at) - 1)))
	if site.role == 'trace':
		m = re.search(r'\bif\s*\(\s*!\s*\w+\s*\)\s*trace_attach_device_to_domain',
			      text[func.open:func.close])
		if m is None:
			return None
		return Located(site, func, parse_if(text, func.open + m.start()), None)
	# check: the first if of the function whose condition asks.
	for pattern, span in ((_CALL, _call_span), (_FLAG_READ, _flag_span)):
		for m in pattern.finditer(text, func.open, func.close):
			stmt = enclosing_if(text, m.start(), func)
			if stmt is None:
				continue
			term = span(text, m)
			before = text[stmt.cond_open + 1:term[0]].rstrip()
			return Located(site, func, stmt, term, negated=before.endswith('!'))
	return None


# --- kinds --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Edit:
	text: str
	# Statements the idiom added that upstream's change keeps: they must
	# be in the converted file (compared without whitespace).
	survivors: tuple[str, ...] = ()
	# The mutant's meaning depends on configuration: excluded from the
	# conversion rate, a refusal naming the cause is the right answer.
	ambiguous: bool = False


@dataclasses.dataclass(frozen=True)
class Kind:
	name: str
	category: str
	roles: tuple[str, ...]
	apply: Callable[[str, Located, random.Random], Optional[Edit]]


KINDS: list[Kind] = []


def kind(name: str, category: str, *roles: str) -> Callable[
		[Callable[[str, Located, random.Random], Optional[Edit]]],
		Callable[[str, Located, random.Random], Optional[Edit]]]:
	def register(fn: Callable[[str, Located, random.Random], Optional[Edit]]
		     ) -> Callable[[str, Located, random.Random], Optional[Edit]]:
		KINDS.append(Kind(name, category, roles, fn))
		return fn
	return register


def _branch_removed(loc: Located) -> bool:
	"""Upstream deletes this if with its branch: the detach check."""
	return loc.site.role == 'check' and loc.site.function == '__iommu_detach_device'


def _dev(text: str, loc: Located) -> str:
	return loc.func.device(text) or 'dev'


def _in_branch(text: str, loc: Located, stmt_text: str, first: bool) -> Edit:
	"""Add a statement to the if's own branch, bracing it if needed."""
	assert loc.stmt is not None
	s = loc.stmt
	ind = indent_at(text, s.start)
	inner = s.inner(text).strip('\n')
	lines = [l for l in inner.splitlines() if l.strip()]
	if not s.braced:
		lines = [ind + '\t' + inner.strip()]
	new_line = ind + '\t' + stmt_text
	if re.match(r'\s*(return|goto)\b', lines[-1]):
		first = True	# nothing runs after a jump
	lines = [new_line] + lines if first else lines + [new_line]
	body = '{\n' + '\n'.join(lines) + '\n' + ind + '}'
	start = s.body_start
	if not s.braced:
		# `if (cond)\n\t\tstmt;` -> `if (cond) {` ... `}`
		start = s.cond_close + 1
		body = ' ' + body
	survivors = () if _branch_removed(loc) else (stmt_text,)
	return Edit(replace(text, start, s.body_end, body), survivors)


def _before(text: str, loc: Located, stmt_text: str) -> tuple[str, int]:
	at = line_start(text, loc.stmt.start if loc.stmt else
			loc.attach[0] if loc.attach else loc.func.open)
	return replace(text, at, at, indent_at(text, at + 1) + stmt_text + '\n'), at


# Each kind below is one vendor idiom.  Statements they add use names every
# kernel has (dev_dbg, WARN_ON_ONCE, might_sleep), so a mutant of the real
# tree still builds; the harness mocks them (tests/mutations/harness_extra.h).

@kind('hint-term', 'hint', 'check')
def hint_term(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""unlikely(check), or likely(!check) around the negation."""
	if loc.term is None or loc.stmt is None:
		return None
	start, end = loc.term
	term = text[start:end]
	if loc.negated:
		bang = text.rindex('!', loc.stmt.cond_open, start)
		return Edit(replace(text, bang, end, f'likely(!{term})'))
	return Edit(replace(text, start, end, f'unlikely({term})'))


@kind('hint-cond', 'hint', 'check', 'trace')
def hint_cond(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""likely()/unlikely() around the whole condition."""
	if loc.stmt is None:
		return None
	cond = loc.stmt.cond(text)
	word = 'likely' if cond.lstrip().startswith('!') or loc.negated else 'unlikely'
	return Edit(replace(text, loc.stmt.cond_open + 1, loc.stmt.cond_close,
			    f'{word}({cond})'))


@kind('double-bang', 'hint', 'check')
def double_bang(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""!!check, or check == false for the negation."""
	if loc.term is None:
		return None
	start, end = loc.term
	if loc.negated:
		assert loc.stmt is not None
		bang = text.rindex('!', loc.stmt.cond_open, start)
		return Edit(replace(text, bang, end, f'{text[start:end]} == false'))
	return Edit(replace(text, start, start, '!!'))


@kind('dbg-in-branch', 'extra', 'check', 'trace')
def dbg_in_branch(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.stmt is None:
		return None
	msg = f'{loc.site.function}: {rng.choice(["deferred", "skip", "vendor"])} path\\n'
	return _in_branch(text, loc, f'dev_dbg({_dev(text, loc)}, "{msg}");', first=True)


@kind('warn-in-branch', 'extra', 'check', 'trace')
def warn_in_branch(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.stmt is None:
		return None
	return _in_branch(text, loc, f'WARN_ON_ONCE(!{_dev(text, loc)});',
			  first=rng.random() < 0.5)


@kind('vendor-before', 'vendor', 'check', 'probe', 'trace')
def vendor_before(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	stmt = rng.choice(['might_sleep();', f'WARN_ON_ONCE(!{_dev(text, loc)});'])
	new, _ = _before(text, loc, stmt)
	return Edit(new, (stmt,))


@kind('vendor-after', 'vendor', 'check', 'probe', 'trace')
def vendor_after(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	end = loc.stmt.body_end if loc.stmt else loc.attach[1] - 1 if loc.attach else None
	if end is None or (loc.stmt is not None and loc.stmt.has_else):
		return None
	at = line_end(text, end)
	stmt = f'dev_dbg({_dev(text, loc)}, "{loc.site.function}: vendor after\\n");'
	ind = indent_at(text, loc.stmt.start if loc.stmt else end)
	return Edit(replace(text, at, at, ind + stmt + '\n'), (stmt,))


@kind('comment-before', 'comment', 'check', 'probe', 'trace', 'helper')
def comment_before(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.site.role == 'helper':
		m = re.search(r'\bif\s*\(|\breturn\b', text[loc.func.open:loc.func.close])
		if m is None:
			return None
		at = line_start(text, loc.func.open + m.start())
	else:
		at = line_start(text, loc.stmt.start if loc.stmt else
				loc.attach[0] if loc.attach else loc.func.open)
	ind = indent_at(text, at)
	comment = rng.choice([
		f'{ind}/* vendor: keep in sync with the kdump handover */\n',
		f'{ind}/*\n{ind} * Vendor: devices left attached by the previous kernel\n'
		f'{ind} * are attached later, by the DMA API.\n{ind} */\n',
		f'{ind}// vendor note\n'])
	return Edit(replace(text, at, at, comment))


@kind('comment-in-cond', 'comment', 'check')
def comment_in_cond(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.term is None:
		return None
	return Edit(replace(text, loc.term[1], loc.term[1], ' /* kdump */'))


@kind('comment-trailing', 'comment', 'check', 'probe', 'trace')
def comment_trailing(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	end = loc.stmt.body_end if loc.stmt else loc.attach[1] - 1 if loc.attach else None
	if end is None:
		return None
	at = line_end(text, end - 1) - 1
	return Edit(replace(text, at, at, ' /* vendor */'))


@kind('ifdef-check', 'ifdef', 'check')
def ifdef_check(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""The whole check only under a vendor option: which code runs
	depends on the configuration."""
	if loc.stmt is None or loc.stmt.has_else:
		return None
	start = line_start(text, loc.stmt.start)
	end = line_end(text, loc.stmt.body_end - 1)
	new = ('#ifdef CONFIG_VENDOR_DEFERRED_ATTACH\n' + text[start:end] + '#endif\n')
	return Edit(replace(text, start, end, new), ambiguous=True)


@kind('ifdef-else-check', 'ifdef', 'check')
def ifdef_else_check(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""Two spellings of the check, one per configuration."""
	if loc.stmt is None or loc.stmt.has_else or loc.term is None:
		return None
	start = line_start(text, loc.stmt.start)
	end = line_end(text, loc.stmt.body_end - 1)
	old = text[start:end]
	term = text[loc.term[0]:loc.term[1]]
	other = old.replace(term, f'unlikely({term})', 1)
	new = ('#ifdef CONFIG_VENDOR_DEFERRED_ATTACH\n' + other + '#else\n' + old + '#endif\n')
	return Edit(replace(text, start, end, new), ambiguous=True)


@kind('ifdef-stmt', 'ifdef', 'check', 'probe', 'trace')
def ifdef_stmt(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""A vendor statement under #ifdef next to the site: the check itself
	runs in every configuration."""
	stmt = f'dev_dbg({_dev(text, loc)}, "{loc.site.function}: vendor option\\n");'
	new, at = _before(text, loc, stmt)
	line = line_end(new, at)
	new = new[:at] + '#ifdef CONFIG_VENDOR_IOMMU_DEBUG\n' + new[at:line] + '#endif\n' + new[line:]
	return Edit(new)


@kind('ifdef-function', 'ifdef', 'check', 'probe', 'trace', 'helper')
def ifdef_function(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""The whole function under an option the file is only built with."""
	func = loc.func
	new = (text[:func.head] + '#ifdef CONFIG_IOMMU_API\n' + text[func.head:func.end] +
	       '#endif /* CONFIG_IOMMU_API */\n' + text[func.end:])
	return Edit(new)


_RENAMES = {'dev': 'device', 'd': 'device', 'domain': 'dom', 'data': 'cookie',
	    'group': 'grp', 'ret': 'rc', 'ops': 'iops', 'iops': 'dops'}


@kind('rename-params', 'rename', 'check', 'probe', 'trace', 'helper')
def rename_params(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	func = loc.func
	head = func.params(text)
	params = re.findall(r'(\w+)\s*[,)]', head[head.index('('):])
	new = text
	done = False
	body = text[func.head:func.end]
	for old in params:
		target = _RENAMES.get(old)
		if target is None or re.search(r'(?<![\w.>])' + target + r'\b', body):
			continue
		new = rename_in(new, func.head, func.end + len(new) - len(text), old, target)
		done = True
	return Edit(new) if done else None


@kind('rename-locals', 'rename', 'check', 'probe', 'trace', 'helper')
def rename_locals(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	func = loc.func
	body = text[func.open:func.end]
	decls = re.findall(r'^\t(?:const\s+)?(?:struct\s+\w+\s*\*\s*|int\s+|bool\s+)(\w+)\b',
			   body, re.MULTILINE)
	new = text
	done = False
	for old in decls:
		target = _RENAMES.get(old)
		if target is None or re.search(r'(?<![\w.>])' + target + r'\b',
					      text[func.head:func.end]):
			continue
		new = rename_in(new, func.head, func.end + len(new) - len(text), old, target)
		done = True
	return Edit(new) if done else None


@kind('break-cond', 'breaks', 'check')
def break_cond(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""A line break inside the condition (after && or inside the call)."""
	if loc.stmt is None or loc.term is None:
		return None
	cond_text = loc.stmt.cond(text)
	ind = indent_at(text, loc.stmt.start)
	if '\n' in cond_text:
		# Already broken: join it.
		joined = re.sub(r'\s*\n\s*', ' ', cond_text)
		return Edit(replace(text, loc.stmt.cond_open + 1, loc.stmt.cond_close, joined))
	amp = cond_text.find('&&')
	if amp >= 0:
		at = loc.stmt.cond_open + 1 + amp + 2
		end = skip_space(text, at)
		return Edit(replace(text, at, end, '\n' + ind + '    '))
	open_ = text.index('(', loc.term[0])
	return Edit(replace(text, open_ + 1, open_ + 1, '\n' + ind + '\t\t'))


@kind('one-line-if', 'breaks', 'check', 'trace')
def one_line_if(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.stmt is None or loc.stmt.braced:
		return None
	body = loc.stmt.body(text).strip()
	return Edit(replace(text, loc.stmt.cond_close + 1, loc.stmt.body_end, ' ' + body))


@kind('braces', 'breaks', 'check', 'trace', 'helper')
def braces(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""Braces around a one-statement branch (or none around a braced one)."""
	stmt = loc.stmt
	if loc.site.role == 'helper':
		m = re.search(r'\bif\s*\(', text[loc.func.open:loc.func.close])
		if m is None:
			return None
		stmt = parse_if(text, loc.func.open + m.start())
	if stmt is None:
		return None
	ind = indent_at(text, stmt.start)
	if stmt.braced:
		lines = [l for l in stmt.inner(text).splitlines() if l.strip()]
		if len(lines) != 1:
			return None
		return Edit(replace(text, stmt.cond_close + 1, stmt.body_end,
				    '\n' + lines[0].rstrip()))
	body = stmt.body(text).strip()
	return Edit(replace(text, stmt.cond_close + 1, stmt.body_end,
			    f' {{\n{ind}\t{body}\n{ind}}}'))


@kind('split-head', 'breaks', 'check', 'probe', 'trace', 'helper')
def split_head(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""`static int\\nname(...)`: the return type on a line of its own."""
	func = loc.func
	head = text[func.head:func.open]
	m = re.match(r'((?:static\s+)?(?:const\s+)?[\w ]*?\w[\s*]*?)\s*(\b' + re.escape(func.name) + r'\s*\()',
		     head)
	if m is None or '\n' in m.group(1) or not m.group(1).strip():
		return None
	rtype = m.group(1).rstrip()
	new_head = rtype + '\n' + head[m.start(2):]
	return Edit(replace(text, func.head, func.open, new_head))


@kind('break-args', 'breaks', 'probe')
def break_args(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	if loc.attach is None:
		return None
	part = text[loc.attach[0]:loc.attach[1]]
	comma = part.find(', ')
	if comma < 0:
		return None
	at = loc.attach[0] + comma + 1
	ind = indent_at(text, loc.attach[0])
	return Edit(replace(text, at, at + 1, '\n' + ind + '\t\t\t\t\t   '))


# --- forms of the same logic -------------------------------------------------------

def _callback_body(text: str, loc: Located) -> Optional[tuple[str, str, str, str]]:
	"""(device, domain, attach call text, indent) of the bus-probe
	callback `if (!check) ret = __iommu_attach_device(domain, dev);`."""
	if loc.stmt is None or not loc.negated or loc.term is None:
		return None
	if not re.match(r'\s*\w+\s*=\s*__iommu_attach_device\s*\(', loc.stmt.inner(text)):
		return None
	call = re.search(r'__iommu_attach_device\s*\([^;]*\)', loc.stmt.inner(text))
	dom = re.search(r'struct\s+iommu_domain\s*\*\s*(\w+)\s*=\s*\w+;', text[loc.func.open:loc.func.close])
	if call is None or dom is None or loc.stmt.cond(text).strip() != '!' + text[loc.term[0]:loc.term[1]]:
		return None
	return (_dev(text, loc), dom.group(1), call.group(0), indent_at(text, loc.stmt.start))


def _rewrite_body(text: str, loc: Located, body: str) -> str:
	return replace(text, loc.func.open, loc.func.close + 1, '{\n' + body + '}')


@kind('early-return', 'form', 'check', 'trace')
def early_return(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""The same logic with an early return."""
	s = loc.stmt
	if s is None or s.has_else:
		return None
	ind = indent_at(text, s.start)
	if loc.site.role == 'trace':
		# if (!ret) trace(dev); return ret;  ->  if (ret) return ret; trace(dev); return 0;
		m = re.match(r'\s*!\s*(\w+)\s*$', s.cond(text))
		tail = re.match(r'\s*return\s+(\w+)\s*;', text[s.body_end:])
		if m is None or tail is None or tail.group(1) != m.group(1) or s.braced:
			return None
		ret = m.group(1)
		new = (f'if ({ret})\n{ind}\treturn {ret};\n{ind}{s.body(text).strip()}\n'
		       f'{ind}return 0;')
		return Edit(replace(text, s.start, s.body_end + tail.end(), new))
	cb = _callback_body(text, loc)
	if cb is not None:
		dev, dom, call, _ = cb
		term = text[loc.term[0]:loc.term[1]] if loc.term else ''
		body = (f'\tstruct iommu_domain *{dom} = {text[loc.func.open:loc.func.close].split("= ", 1)[1].split(";", 1)[0]};\n\n'
			f'\tif ({term})\n\t\treturn 0;\n\n\treturn {call};\n')
		return Edit(_rewrite_body(text, loc, body))
	if loc.term is None:
		return None
	term = text[loc.term[0]:loc.term[1]]
	inner = s.inner(text).strip()
	if loc.site.function == 'iommu_deferred_attach' or re.match(r'return\s+__iommu_attach_device', inner):
		# if (check) return attach; return 0;  ->  if (!check) return 0; return attach;
		tail = re.match(r'\s*return\s+0\s*;', text[s.body_end:])
		if tail is None or s.cond(text).strip() != term or s.braced:
			return None
		new = f'if (!{term})\n{ind}\treturn 0;\n\n{ind}{inner}'
		return Edit(replace(text, s.start, s.body_end + tail.end(), new))
	if _branch_removed(loc) and inner.rstrip(';').strip() == 'return' and s.cond(text).strip() == term:
		# if (check) return; rest...  ->  if (!check) { rest... }
		rest_start = line_end(text, s.body_end - 1)
		rest = text[rest_start:loc.func.close].strip('\n')
		if not rest or re.search(r'\breturn\b|^#', rest, re.MULTILINE):
			return None
		lines = '\n'.join(('\t' + l) if l.strip() else '' for l in rest.splitlines())
		new = f'if (!{term}) {{\n{lines}\n{ind}}}\n'
		return Edit(replace(text, s.start, loc.func.close, new))
	return None


@kind('goto-out', 'form', 'check')
def goto_out(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""The skip written as `goto out` to a shared return."""
	s = loc.stmt
	if s is None or s.has_else or loc.term is None:
		return None
	cb = _callback_body(text, loc)
	term = text[loc.term[0]:loc.term[1]]
	if cb is not None:
		dev, dom, call, ind = cb
		# if (!check) ret = attach;  ->  if (check) goto out; ret = attach; out:
		assign = s.inner(text).strip()
		ret_match = re.search(r'\breturn\s+(\w+)\s*;', text[s.body_end:loc.func.close])
		if ret_match is None:
			return None
		new = f'if ({term})\n{ind}\tgoto out;\n\n{ind}{assign}\nout:'
		return Edit(replace(text, s.start, s.body_end, new))
	if _branch_removed(loc) and s.inner(text).strip().rstrip(';').strip() == 'return':
		# if (check) return; rest  ->  if (check) goto out; rest out: ;
		end = loc.func.close
		new = text[:s.start] + f'if ({s.cond(text).strip()})\n' + indent_at(text, s.start) + \
			'\tgoto out;' + text[s.body_end:end].rstrip('\n') + '\nout:\n\treturn;\n' + text[end:]
		return Edit(new)
	return None


@kind('assign-local', 'form', 'check')
def assign_local(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	"""The answer kept in a bool local first."""
	s = loc.stmt
	if s is None or loc.term is None or loc.site.function in (
			'iommu_group_do_dma_first_attach',):
		return None
	term = text[loc.term[0]:loc.term[1]]
	name = 'deferred'
	if re.search(r'\b' + name + r'\b', text[loc.func.open:loc.func.close]):
		return None
	ind = indent_at(text, s.start)
	new = replace(text, loc.term[0], loc.term[1], name)
	at = line_start(new, s.start)
	new = replace(new, at, at, f'{ind}{name} = {term};\n')
	decl = line_end(new, loc.func.open)
	new = replace(new, decl, decl, f'\tbool {name};\n' +
		      ('\n' if not re.match(r'\t(struct|int|const|bool|unsigned)\b', new[decl:]) else ''))
	return Edit(new)


# --- the helper --------------------------------------------------------------------

def _helper_parts(text: str, loc: Located) -> Optional[tuple[str, str, str]]:
	"""(ops expression, op call arguments, body indent) of the helper."""
	body = text[loc.func.open:loc.func.close]
	call = re.search(r'(\w+(?:->\w+)*)->is_attach_deferred\s*\(([^()]*)\)', body)
	if call is None:
		return None
	ops = call.group(1)
	decl = re.search(r'const\s+struct\s+iommu_ops\s*\*\s*' + re.escape(ops) + r'\s*=\s*([^;]+);', body)
	if decl is not None:
		ops = decl.group(1).strip()
	return ops, call.group(2), '\t'


def _helper_body(text: str, loc: Located, body: str) -> Edit:
	return Edit(_rewrite_body(text, loc, body))


@kind('helper-ternary', 'helper', 'helper')
def helper_ternary(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	parts = _helper_parts(text, loc)
	if parts is None:
		return None
	ops, args, _ = parts
	return _helper_body(text, loc, f'\tconst struct iommu_ops *ops = {ops};\n\n'
			    f'\treturn ops->is_attach_deferred ? ops->is_attach_deferred({args}) : false;\n')


@kind('helper-no-local', 'helper', 'helper')
def helper_no_local(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	parts = _helper_parts(text, loc)
	if parts is None:
		return None
	ops, args, _ = parts
	return _helper_body(text, loc, f'\tif ({ops}->is_attach_deferred)\n'
			    f'\t\treturn {ops}->is_attach_deferred({args});\n\n\treturn false;\n')


@kind('helper-and', 'helper', 'helper')
def helper_and(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	parts = _helper_parts(text, loc)
	if parts is None:
		return None
	ops, args, _ = parts
	return _helper_body(text, loc, f'\tconst struct iommu_ops *ops = {ops};\n\n'
			    f'\treturn ops->is_attach_deferred && ops->is_attach_deferred({args});\n')


@kind('helper-early-return', 'helper', 'helper')
def helper_early_return(text: str, loc: Located, rng: random.Random) -> Optional[Edit]:
	parts = _helper_parts(text, loc)
	if parts is None:
		return None
	ops, args, _ = parts
	return _helper_body(text, loc, f'\tconst struct iommu_ops *ops = {ops};\n\n'
			    f'\tif (!ops->is_attach_deferred)\n\t\treturn false;\n\n'
			    f'\treturn ops->is_attach_deferred({args});\n')


# --- the corpus ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Mutant:
	source: str		# the source's name (real/6.1, golden/<case>)
	site: Site
	kinds: tuple[str, ...]
	path: str		# the mutated file, relative to the tree
	text: str		# its new text
	survivors: tuple[str, ...]
	ambiguous: bool

	@property
	def kind(self) -> str:
		return '+'.join(self.kinds)

	@property
	def name(self) -> str:
		return f'{self.source}:{self.site.function}:{self.site.role}:{self.kind}'


KIND_BY_NAME = {k.name: k for k in KINDS}


def apply_kinds(text: str, site: Site, names: tuple[str, ...], seed: str
		) -> Optional[tuple[str, tuple[str, ...], bool]]:
	survivors: list[str] = []
	ambiguous = False
	for name in names:
		k = KIND_BY_NAME[name]
		if site.role not in k.roles:
			return None
		loc = locate(text, site)
		if loc is None:
			return None
		try:
			edit = k.apply(text, loc, random.Random(f'{seed}:{name}'))
		except (ValueError, IndexError, AssertionError):
			# The site's text is not in a shape this idiom knows.
			return None
		if edit is None or edit.text == text:
			return None
		text = edit.text
		survivors += edit.survivors
		ambiguous = ambiguous or edit.ambiguous
	# A later idiom may rename what an earlier one added: keep the
	# survivors the final text still has the spelling of... or rename them.
	return text, tuple(survivors), ambiguous


def combinations(rng: random.Random, count: int) -> list[tuple[str, str]]:
	"""count pairs of kinds from different categories, seeded."""
	pairs = [(a.name, b.name) for a in KINDS for b in KINDS
		 if a.category != b.category and a.category != 'ifdef'
		 and b.category != 'ifdef' or (a.name, b.name) == ('rename-params', 'ifdef-check')]
	rng.shuffle(pairs)
	return pairs[:count]


def generate(source: str, files: dict[str, str], seed: int = 10,
	     combos_per_site: int = 3, per_source: Optional[int] = None) -> Iterator[Mutant]:
	"""Every mutant of one source: every kind at every site it fits,
	then combos_per_site seeded pairs of kinds per site.  per_source:
	only that many, a seeded choice spread over the kinds."""
	if per_source is not None:
		everything = list(generate(source, files, seed, combos_per_site))
		rng = random.Random(f'{seed}:{source}:choice')
		rng.shuffle(everything)
		# One of each kind first, in the shuffled order, so the choice
		# spreads over the kinds.
		firsts: dict[str, Mutant] = {}
		for m in everything:
			firsts.setdefault(m.kind, m)
		rest = [m for m in everything if firsts[m.kind] is not m]
		yield from (list(firsts.values()) + rest)[:per_source]
		return
	for path in CORE_FILES:
		text = files.get(path)
		if text is None:
			continue
		for site in find_sites(path, text):
			rng = random.Random(f'{seed}:{source}:{site.name}')
			plans: list[tuple[str, ...]] = [(k.name,) for k in KINDS]
			plans += combinations(rng, combos_per_site * 6)
			made = 0
			for names in plans:
				if len(names) > 1 and made >= combos_per_site:
					break
				result = apply_kinds(text, site, names, f'{seed}:{source}:{site.name}')
				if result is None:
					continue
				new, survivors, ambiguous = result
				survivors = tuple(_renamed(s, new) for s in survivors)
				yield Mutant(source, site, names, path, new, survivors, ambiguous)
				if len(names) > 1:
					made += 1


def _renamed(stmt: str, text: str) -> str:
	"""A survivor as the final text spells it (after a rename kind)."""
	squashed = re.sub(r'\s+', '', text)
	if re.sub(r'\s+', '', stmt) in squashed:
		return stmt
	for old, new in _RENAMES.items():
		candidate = re.sub(r'(?<![\w.>])' + re.escape(old) + r'\b', new, stmt)
		if re.sub(r'\s+', '', candidate) in squashed:
			return candidate
	return stmt
