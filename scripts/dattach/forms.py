"""The forms a backport is written in, beyond the stable mail.

- mail: `[PATCH 6.1.y]` with `[ Upstream commit ... ]` (mail.py).
- android: a commit in Android Common Kernel form, as its README asks of a
  cherry-pick: `UPSTREAM:` or `BACKPORT:` on the subject, then `Bug:`,
  a Gerrit `Change-Id:`, `(cherry picked from commit ...)`, the note of
  what was adapted and the submitter's Signed-off-by, in that order.
- quilt: a patch with DEP-3 headers for a Debian `debian/patches/` series.

All three are made by git in the same scratch repository (mail.make_mails)
and checked the same way before anything is written (backport.py).
"""

import dataclasses
import datetime
import enum
import hashlib
import os
import re
from pathlib import Path
from typing import Optional

from dattach import mail
from dattach.convert import ConvertResult
from dattach.errors import BadInputError
from dattach.gitscratch import Identity
from dattach.mail import UpstreamCommit

# Upstream's own +/- lines of each commit, as its diff has them (on
# Debian's 6.1 tree, the toolkit's diff has exactly these).
UPSTREAM_DIR = Path(__file__).resolve().parent / 'upstream'

# checkpatch raises GIT_COMMIT_ID and UNKNOWN_COMMIT_ID on every
# `[ Upstream commit <sha> ]` and `(cherry picked from commit <sha>)` line
# when the tree is not a git clone holding that commit, and
# GERRIT_CHANGE_ID on the Change-Id an Android commit must carry.
IGNORE_COMMIT_IDS = 'GIT_COMMIT_ID,UNKNOWN_COMMIT_ID'
IGNORE_ANDROID = IGNORE_COMMIT_IDS + ',GERRIT_CHANGE_ID'

_BUG = re.compile(r'^[1-9]\d*$')


class Form(enum.Enum):
	MAIL = 'mail'
	ANDROID = 'android'
	QUILT = 'quilt'


@dataclasses.dataclass(frozen=True)
class Patches:
	paths: list[Path]		# in series order (a mail's cover letter first)
	converted: dict[str, bytes]	# the touched files after the patches
	checkpatch_ignore: str		# the checkpatch types this form trips by design
	upstream: bool			# the change is upstream's, byte for byte
	series: Optional[str] = None	# quilt: the line for debian/patches/series


def check_bug(bug: Optional[str], form: Form) -> None:
	"""BadInputError for a Bug: the form has no place for, or no number."""
	if bug is None:
		return
	if form is not Form.ANDROID:
		raise BadInputError(f'--bug is for --format android, not {form.value}')
	if not _BUG.match(bug):
		raise BadInputError(f'--bug {bug!r}: not a bug number')


def plus_minus_lines(diff: str) -> list[str]:
	"""The +/- lines of a unified diff, its file headers left out."""
	lines = []
	in_hunk = False
	for line in diff.splitlines():
		if line.startswith('@@'):
			in_hunk = True
		elif line.startswith('diff '):
			in_hunk = False
		elif in_hunk and line[:1] in ('+', '-'):
			lines.append(line)
	return lines


def upstream_lines(commit: UpstreamCommit) -> Optional[list[str]]:
	path = UPSTREAM_DIR / f'{commit.sha[:12]}.pm-lines'
	if not path.is_file():
		return None
	return path.read_text(encoding='utf-8').splitlines()


def is_upstream(commit: UpstreamCommit, result: ConvertResult) -> bool:
	"""Whether the change is upstream's, byte for byte: every +/- line of
	the diff is upstream's, in order, and nothing had to be adapted."""
	want = upstream_lines(commit)
	return (want is not None and not mail.adaptations(result)
		and plus_minus_lines(result.diff) == want)


def change_id(commit: UpstreamCommit, result: ConvertResult) -> str:
	"""A Gerrit Change-Id, I + 40 hex digits, from the tree and the change:
	the same on every run over the same tree (an upload updates the same
	review), another on a tree whose version or touched files differ (the
	diff's index lines name the blobs of the files as they were)."""
	digest = hashlib.sha1()
	for part in ('deferred_attach Change-Id', commit.sha, result.tree.version,
		     result.diff):
		digest.update(part.encode('utf-8', errors='surrogateescape') + b'\0')
	return 'I' + digest.hexdigest()


def _backport_note(commit: UpstreamCommit, result: ConvertResult,
		   signoff: Identity, upstream: bool) -> str:
	"""The bracketed note under the cherry-pick line: what was adapted,
	or, where nothing was but the lines still differ from upstream's,
	that."""
	if upstream:
		return ''
	note = mail.adaptation_note(result, signoff)
	if note:
		return note
	return mail.wrap(f"[ {signoff.name}: the same change made on this tree's "
			 "code; its +/- lines differ from upstream's. ]")


def android_message(commit: UpstreamCommit, result: ConvertResult,
		    signoff: Identity, bug: Optional[str]) -> str:
	upstream = is_upstream(commit, result)
	tag = 'UPSTREAM' if upstream else 'BACKPORT'
	paragraphs = [f'{tag}: {commit.subject}']
	paragraphs += [mail.wrap(text) for text in commit.description]
	paragraphs.append('\n'.join(commit.trailers))
	footer = []
	if bug:
		footer.append(f'Bug: {bug}')
	footer.append(f'Change-Id: {change_id(commit, result)}')
	footer.append(f'(cherry picked from commit {commit.sha})')
	note = _backport_note(commit, result, signoff, upstream)
	if note:
		footer.append(note)
	own = f'Signed-off-by: {signoff}'
	if own not in commit.trailers:
		footer.append(own)
	paragraphs.append('\n'.join(footer))
	return '\n\n'.join(paragraphs) + '\n'


def quilt_message(commit: UpstreamCommit, result: ConvertResult,
		  signoff: Identity) -> str:
	"""The commit message behind the quilt patch: its body becomes the
	DEP-3 long description."""
	paragraphs = [commit.subject]
	paragraphs += [mail.wrap(text) for text in commit.description]
	note = _backport_note(commit, result, signoff, is_upstream(commit, result))
	if note:
		paragraphs.append(note)
	paragraphs.append(mail.sign_off_chain(commit, signoff))
	return '\n\n'.join(paragraphs) + '\n'


def today() -> str:
	"""Last-Update's date: SOURCE_DATE_EPOCH's when set (reproducible
	builds), else today's, in UTC."""
	epoch = os.environ.get('SOURCE_DATE_EPOCH')
	when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
		if epoch and epoch.isdigit() else datetime.datetime.now(datetime.timezone.utc))
	return when.strftime('%Y-%m-%d')


def dep3_header(commit: UpstreamCommit, upstream: bool) -> str:
	origin = 'upstream' if upstream else 'backport'
	return (f'From: {commit.author}\n'
		f'Subject: {commit.subject}\n'
		f'Origin: {origin}, {commit.url}\n'
		'Forwarded: not-needed\n'
		f'Applied-Upstream: {commit.release}\n'
		f'Last-Update: {today()}\n')


def quilt_name(commit: UpstreamCommit) -> str:
	"""The patch's file name, from its subject, as Debian names them:
	iommu-remove-deferred-attach-check-from-__iommu_detach_device.patch."""
	return re.sub(r'[^a-z0-9_]+', '-', commit.subject.lower()).strip('-') + '.patch'


def _to_dep3(path: Path, commit: UpstreamCommit, upstream: bool) -> Path:
	"""format-patch's mail -> the same patch under a DEP-3 header, named
	for its subject."""
	text = path.read_text(encoding='utf-8', errors='surrogateescape')
	# The mail's own header (From line, From:, Date:, Subject:) ends at
	# the first blank line; its body is the description, the diffstat
	# and the diff.
	_header, body = text.split('\n\n', 1)
	# format-patch's signature ("-- ", then git's version) is mail, not patch.
	body = re.sub(r'\n-- \n\d[\w.]*\n+\Z', '\n', body)
	target = path.with_name(quilt_name(commit))
	target.write_text(dep3_header(commit, upstream) + '\n' + body,
			  encoding='utf-8', errors='surrogateescape')
	path.unlink()
	return target


def make_patches(result: ConvertResult, signoff: Identity, workdir: Path,
		 form: Form, bug: Optional[str] = None) -> Patches:
	"""Write the patches of `form` into <workdir>/mails; nothing is written
	anywhere else."""
	check_bug(bug, form)
	if len(mail.SERIES) != 1:
		raise AssertionError('android and quilt forms carry one upstream commit')
	commit = mail.SERIES[0]
	upstream = is_upstream(commit, result)
	if form is Form.MAIL:
		made = mail.make_mails(result, signoff, workdir)
		return Patches(made.paths, made.converted, IGNORE_COMMIT_IDS, upstream)
	if form is Form.ANDROID:
		made = mail.make_mails(
			result, signoff, workdir, prefix='PATCH',
			message_of=lambda c: android_message(c, result, signoff, bug))
		return Patches(made.paths, made.converted, IGNORE_ANDROID, upstream)
	made = mail.make_mails(result, signoff, workdir, prefix='PATCH',
			       message_of=lambda c: quilt_message(c, result, signoff))
	paths = [_to_dep3(path, commit, upstream) for path in made.paths]
	return Patches(paths, made.converted, IGNORE_COMMIT_IDS, upstream,
		       series=paths[0].name)
