"""Layout step: make spatch's output byte-exact kernel style.

Coccinelle 1.1.1 re-prints the code it adds through its own pretty printer.
That printer cannot tab-align an added struct member, cannot write into an
existing comment (so a member's kerneldoc line cannot be added by a rule),
drops blank lines and comments from code it moves, and may leave a lone tab
on blank lines.  This module repairs exactly those things and nothing else:
it only ever rewrites lines that spatch added (plus the one kerneldoc line an
added member asks for).  It knows nothing of IOMMU; every rule here is about C
and kernel layout in general.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

TAB_WIDTH = 8

# A member declaration as spatch prints it: "\t<type> <name>;" optionally
# followed by a trailing "/* description */" that the semantic patch uses to
# carry the member's kerneldoc text.
_ADDED_MEMBER = re.compile(
    r"^\t(?P<type>(?:struct |union |enum |unsigned |signed |const )*[\w]+)\s+"
    r"(?P<decl>\**(?P<name>\w+)[^;/]*;)"
    r"\s*(?:/\*\s*(?P<doc>.*?)\s*\*/)?\s*$"
)
# A neighbour member that is already tab-aligned: type, tabs, name.
_ALIGNED_MEMBER = re.compile(r"^\t(?P<type>[^\t]*\S)(?P<gap>\t+)(?P<decl>\S.*;)")
_STRUCT_OPEN = re.compile(r"^(?:typedef\s+)?struct\s+(?P<tag>\w+)\s*\{\s*$")
_KERNELDOC_MEMBER = re.compile(r"^ \* @\w+:")
_KERNELDOC_CONTINUATION = re.compile(r"^ \*[ \t]+\S")


@dataclass
class _Line:
    text: str  # without the line terminator
    added: bool  # spatch added (or rewrote) this line


def tidy(original: str, spatched: str) -> str:
    """Return spatched with spatch's layout quirks repaired.

    original is the file before spatch ran; it tells which lines spatch added
    and what the code it moved looked like.
    """
    if original == spatched:
        return spatched
    old = original.splitlines()
    lines, removed = _mark_added(old, spatched)
    for line in lines:
        if line.added:
            line.text = line.text.rstrip()
    _restore_moved_code(lines, old, _code_keys(old), removed)
    _align_added_members(lines)
    text = "\n".join(line.text for line in lines)
    return text + "\n" if spatched.endswith("\n") else text


def _mark_added(old: list[str], spatched: str) -> tuple[list[_Line], list[int]]:
    """The spatched lines, each marked added or not, and the indices of the
    original lines spatch removed."""
    new = spatched.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    lines = [_Line(text, True) for text in new]
    removed: list[int] = []
    for tag, old_lo, old_hi, new_lo, new_hi in matcher.get_opcodes():
        if tag == "equal":
            for index in range(new_lo, new_hi):
                lines[index].added = False
        if tag in ("delete", "replace"):
            removed.extend(range(old_lo, old_hi))
    return lines, removed


def _code_key(text: str) -> str:
    """A line's code with comments and all whitespace removed."""
    text = re.sub(r"/\*.*?\*/", "", text)
    text = re.sub(r"//.*", "", text)
    return re.sub(r"\s+", "", text)


def _code_keys(texts: list[str]) -> list[str]:
    """_code_key of each line, knowing which lines are inside a comment
    that spans several lines."""
    keys = []
    in_comment = False
    for text in texts:
        code = ""
        rest = text
        while rest:
            if in_comment:
                end = rest.find("*/")
                if end < 0:
                    rest = ""
                else:
                    rest, in_comment = rest[end + 2 :], False
            else:
                begin = rest.find("/*")
                if begin < 0:
                    code, rest = code + rest, ""
                else:
                    code, rest, in_comment = code + rest[:begin], rest[begin + 2 :], True
        keys.append(_code_key(code))
    return keys


def _restore_moved_code(
    lines: list[_Line], old: list[str], old_keys: list[str], removed: list[int]
) -> None:
    """Give code that spatch moved (removed here, re-added there) its original text.

    A block of added lines that equals, line for line in code, a brace-balanced
    block of the original whose first line spatch removed is the same code
    moved; spatch re-printed it without its blank lines and comments, so the
    original text is put back.  (The block's last lines may count as unchanged
    in the line diff, e.g. a lone closing brace, so the walk goes on in the
    original past the removed lines.)
    """
    index = 0
    while index < len(lines):
        if not lines[index].added or not _code_key(lines[index].text):
            index += 1
            continue
        replacement = None
        for old_start in removed:
            replacement = _match_moved_block(lines, index, old, old_keys, old_start)
            if replacement is not None:
                break
        if replacement is None:
            index += 1
            continue
        consumed, original_text = replacement
        lines[index : index + consumed] = [_Line(text, True) for text in original_text]
        index += len(original_text)


def _match_moved_block(
    lines: list[_Line], start: int, old: list[str], old_keys: list[str], old_start: int
) -> tuple[int, list[str]] | None:
    """(added lines consumed, original text) when the added block at start
    is the original block at old_start re-printed.

    The two are compared as streams of code (comments and whitespace
    dropped), so spatch joining a wrapped parameter list onto one line, or
    dropping blank lines and comments, still counts as the same code.  The
    block ends where both streams agree, at a line boundary, with their
    braces balanced.
    """
    new_code = _code_key(lines[start].text)
    old_code = old_keys[old_start]
    if not old_code or not (new_code.startswith(old_code) or old_code.startswith(new_code)):
        return None
    new_index, old_index = start + 1, old_start + 1
    while True:
        if new_code == old_code and "{" in new_code and new_code.count("{") == new_code.count("}"):
            return new_index - start, old[old_start:old_index]
        if not (new_code.startswith(old_code) or old_code.startswith(new_code)):
            return None
        if len(new_code) <= len(old_code):
            if new_index >= len(lines) or not lines[new_index].added:
                return None
            new_code += _code_key(lines[new_index].text)
            new_index += 1
        else:
            if old_index >= len(old):
                return None
            old_code += old_keys[old_index]
            old_index += 1


def _align_added_members(lines: list[_Line]) -> None:
    """Tab-align added struct members like their neighbours; move their doc text
    into the struct's kerneldoc comment when it has one."""
    index = 0
    while index < len(lines):
        line = lines[index]
        member = _ADDED_MEMBER.match(line.text) if line.added else None
        struct_line = _enclosing_struct(lines, index) if member else None
        if member is None or struct_line is None:
            index += 1
            continue
        column = _neighbour_name_column(lines, struct_line, index)
        doc = member.group("doc")
        if column is None:
            text = "\t" + member.group("type") + " " + member.group("decl")
        else:
            text = _pad_to_column("\t" + member.group("type"), column) + member.group("decl")
        kerneldoc_at = _kerneldoc_insert_point(lines, struct_line) if doc else None
        if doc and kerneldoc_at is None:
            text += " /* " + doc + " */"
        line.text = text
        if doc and kerneldoc_at is not None:
            lines.insert(kerneldoc_at, _Line(" * @" + member.group("name") + ": " + doc, True))
            index += 1
        index += 1


def _enclosing_struct(lines: list[_Line], index: int) -> int | None:
    """Index of the 'struct tag {' line whose body holds lines[index], if any."""
    depth = 0
    for back in range(index - 1, -1, -1):
        key = _code_key(lines[back].text)
        depth += key.count("}") - key.count("{")
        if depth < 0:
            return back if _STRUCT_OPEN.match(lines[back].text) else None
    return None


def _display_width(text: str) -> int:
    return len(text.expandtabs(TAB_WIDTH))


def _neighbour_name_column(lines: list[_Line], struct_line: int, index: int) -> int | None:
    """The column where the nearest tab-aligned member above puts its name."""
    for back in range(index - 1, struct_line, -1):
        neighbour = _ALIGNED_MEMBER.match(lines[back].text)
        if neighbour and not lines[back].added:
            return _display_width("\t" + neighbour.group("type") + neighbour.group("gap"))
    return None


def _pad_to_column(prefix: str, column: int) -> str:
    text = prefix + "\t"
    while _display_width(text) < column:
        text += "\t"
    return text


def _kerneldoc_insert_point(lines: list[_Line], struct_line: int) -> int | None:
    """Where a new '@member:' line goes: after the last one in the struct's
    kerneldoc block (and its continuation lines), if the struct has one."""
    if struct_line == 0 or lines[struct_line - 1].text.strip() != "*/":
        return None
    opening = struct_line - 1
    while opening >= 0 and not lines[opening].text.startswith("/**"):
        if lines[opening].text.startswith("/*"):
            return None
        opening -= 1
    if opening < 0:
        return None
    last_member = None
    for position in range(opening, struct_line - 1):
        if _KERNELDOC_MEMBER.match(lines[position].text):
            last_member = position
    if last_member is None:
        return None
    insert_at = last_member + 1
    while (
        insert_at < struct_line - 1
        and _KERNELDOC_CONTINUATION.match(lines[insert_at].text)
        and not _KERNELDOC_MEMBER.match(lines[insert_at].text)
    ):
        insert_at += 1
    return insert_at
