"""Name the vendor idiom that kept a place from being converted.

The guard refuses a run that leaves a place of the change in the old form.
The refusal is only useful if it says why: these functions read the
user's original text around the place and name the construct the semantic
patches do not convert on their own, because its meaning depends on the
configuration or on code elsewhere in the function (a preprocessor
conditional, a jump to a label, the answer kept in a local first, an else
branch).  They read lines, never parse C: a cause is named only when it is
plain in the text.
"""

import re
from typing import Optional

from dattach.probe import function_spans

# What each function's old-form place is, for the message.
_WHAT = {
	'__iommu_detach_device': 'the detach check',
	'iommu_deferred_attach': 'the deferred-attach check',
	'iommu_group_add_device': 'the group-add check',
	'iommu_probe_device': 'the default-domain attach',
	'__iommu_attach_device': 'the attach trace point',
}

_COND_OPEN = re.compile(r'^\s*#\s*(if|ifdef|ifndef)\b\s*(.*)$')
_COND_ELSE = re.compile(r'^\s*#\s*(else|elif)\b')
_COND_END = re.compile(r'^\s*#\s*endif\b')
_ASKS = re.compile(r'\b\w*is_attach_deferred\s*\(')


def what(function: Optional[str]) -> str:
	if function is None:
		return 'the check'
	return _WHAT.get(function, f'the check in {function}()')


def _conditional_around(lines: list[str], index: int) -> Optional[tuple[int, str, bool]]:
	"""The innermost #if/#ifdef/#ifndef open at lines[index]: (its line
	index, its text, whether it has an #else or #elif)."""
	stack: list[tuple[int, str, bool]] = []
	for number, line in enumerate(lines):
		if number == index:
			break
		if _COND_OPEN.match(line):
			stack.append((number, line.strip(), False))
		elif _COND_ELSE.match(line) and stack:
			first, text, _ = stack[-1]
			stack[-1] = (first, text, True)
		elif _COND_END.match(line) and stack:
			stack.pop()
	if not stack:
		return None
	first, text, has_else = stack[-1]
	if not has_else:
		# An #else after the place still pairs the place with another
		# spelling of it.
		depth = 0
		for line in lines[index:]:
			if _COND_OPEN.match(line):
				depth += 1
			elif _COND_END.match(line):
				if depth == 0:
					break
				depth -= 1
			elif _COND_ELSE.match(line) and depth == 0:
				has_else = True
				break
	return first, text, has_else


def _function_lines(text: str, function: Optional[str]) -> Optional[tuple[int, int]]:
	for name, first, last in function_spans(text):
		if name == function:
			return first - 1, last - 1
	return None


def cause(text: str, line: int, function: Optional[str]) -> Optional[str]:
	"""Why the place at 1-based `line` of `text` was left alone, in terms
	of the idiom, or None when no known idiom is there."""
	lines = text.splitlines()
	if not 0 < line <= len(lines):
		return None
	index = line - 1
	span = _function_lines(text, function)
	if span is not None and function in ('iommu_probe_device', '__iommu_attach_device'):
		# These places are named by the function's first line: look at
		# the statement itself.
		needle = ('__iommu_attach_device' if function == 'iommu_probe_device'
			  else 'trace_attach_device_to_domain')
		for number in range(span[0] + 1, span[1]):
			if needle in lines[number]:
				index = number
				break
	name = what(function)
	around = _conditional_around(lines, index)
	if around is not None:
		first, directive, has_else = around
		inside = span is not None and span[0] < first
		where = name if inside else f'{function}(), with {name},' if function else name
		tail = ' ... #else' if has_else else ''
		return (f'{where} sits inside {directive}{tail} (line {first + 1}): which code '
			'runs depends on the configuration; convert by hand')
	if span is None:
		return None
	body = lines[span[0]:span[1] + 1]
	statement = lines[index]
	# The answer kept in a local, tested later.
	stored = re.search(r'\b(\w+)\s*=\s*(?:!+\s*)?\w*is_attach_deferred\s*\(', statement)
	if stored:
		return (f'{name} keeps the answer in the local {stored.group(1)!r} and tests it '
			'later; convert by hand')
	# A jump out of the check.
	here = '\n'.join(lines[index:index + 3])
	jump = re.search(r'\)\s*(?:\{\s*)?goto\s+(\w+)\s*;', here)
	if jump and _ASKS.search(lines[index] + lines[index - 1]):
		return (f'{name} jumps to the label {jump.group(1)!r}, which other code may '
			'share; convert by hand')
	# A conditional expression.
	if _ASKS.search(statement) and '?' in statement:
		return f'{name} is part of a conditional expression (?:); convert by hand'
	# An else branch that would run for other reasons after the change.
	for number in range(index + 1, min(index + 8, len(lines))):
		if re.match(r'\s*(\}\s*)?else\b', lines[number]):
			return (f'{name} has an else branch, which runs for other reasons once the '
				'check goes; convert by hand')
		if re.match(r'\s*\}?\s*$', lines[number]) and number > index + 1:
			break
	del body
	return None
