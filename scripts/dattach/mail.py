"""Patch mails in `git format-patch` form, one per upstream commit.

git makes them: a scratch repository holds the touched files as they are in
the tree, the conversion is applied and committed under the upstream
author with a stable-style message, and `git format-patch` writes the mail
(headers, diffstat, diff).  This module only says what goes in the message.
"""

import dataclasses
import textwrap
from pathlib import Path
from typing import Callable, Optional

from dattach.convert import ConvertResult
from dattach.gitscratch import Identity, ScratchRepo
from dattach.probe import DMA_IOMMU_C, IOMMU_C, IOMMU_H, Shape

WIDTH = 72	# commit message lines; checkpatch warns above 75


@dataclasses.dataclass(frozen=True)
class UpstreamCommit:
	sha: str
	subject: str
	author: Identity
	# What the change does and why, in this project's own words (not
	# upstream's message), one paragraph per string.
	description: tuple[str, ...]
	# Upstream's trailers, in order, after the description.
	trailers: tuple[str, ...]
	# The first release that has it (DEP-3's Applied-Upstream).
	release: str

	@property
	def url(self) -> str:
		return f'https://git.kernel.org/linus/{self.sha}'


DD8A25C557E1 = UpstreamCommit(
	sha='dd8a25c557e109f868430bd2e3e8f394cb40eaa7',
	subject='iommu: Remove deferred attach check from __iommu_detach_device()',
	author=Identity('Jason Gunthorpe', 'jgg@nvidia.com'),
	description=(
		"The IOMMU core used to ask the driver's is_attach_deferred op "
		'at every attach and every detach of a device.  The op keeps '
		'answering "deferred" after the DMA API has done the deferred '
		'attach (in a kdump kernel whose IOMMU was left enabled, for '
		'example), so an explicit detach was skipped without a word '
		'while its caller went on to free the domain.',
		'Decide deferral once instead: when the device is first attached '
		'to its default domain, iommu_group_do_dma_first_attach() asks '
		'the op and remembers the answer in dev->iommu->attach_deferred.  '
		'A real attach clears the flag, iommu_deferred_attach() reads it, '
		'and __iommu_detach_device() no longer asks at all.',
	),
	trailers=(
		'Signed-off-by: Jason Gunthorpe <jgg@nvidia.com>',
		'Signed-off-by: Lu Baolu <baolu.lu@linux.intel.com>',
		'Link: https://lore.kernel.org/r/20230110025408.667767-5-baolu.lu@linux.intel.com',
		'Signed-off-by: Joerg Roedel <jroedel@suse.de>',
	),
	release='v6.3',
)

# Every upstream commit the toolkit carries, in series order.
SERIES = (DD8A25C557E1,)

_CORE_FILES = (IOMMU_C, IOMMU_H)


def adaptations(result: ConvertResult) -> list[str]:
	"""What differs from the plain upstream change on this tree, one
	phrase each; empty for a tree of upstream's own (v6.2) shape."""
	shape = result.classification
	parts = []
	if shape.shape is Shape.HALF_CONVERTED:
		parts.append(f'finished a partial backport: {shape.reason}')
	if shape.generation in (Shape.TWO_ARG_DMA_IOMMU, Shape.TWO_ARG_HELPER):
		parts.append("kept this tree's two-argument "
			     'iommu_is_attach_deferred(domain, dev)')
	for note in result.notes:
		parts.append(note.rstrip('.'))
	if DMA_IOMMU_C in result.changed and not any(
			'dma-iommu' in note for note in result.notes):
		parts.append('dma-iommu.c reads dev->iommu->attach_deferred '
			     'instead of asking the op')
	glue = [rel for rel in result.changed
		if rel not in _CORE_FILES and rel != DMA_IOMMU_C]
	if glue:
		parts.append('driver glue that asked the op reads the flag '
			     f'instead: {", ".join(glue)}')
	return parts


def adaptation_note(result: ConvertResult, signoff: Identity) -> str:
	"""'[ Name: adapted to this tree: ... ]', wrapped; '' when nothing
	was adapted."""
	adapted = adaptations(result)
	if not adapted:
		return ''
	return wrap(f'[ {signoff.name}: adapted to this tree: {". ".join(adapted)}. ]')


def wrap(text: str, indent: str = '') -> str:
	return textwrap.fill(text, WIDTH, initial_indent=indent,
			     subsequent_indent=indent, break_long_words=False,
			     break_on_hyphens=False)


def message(commit: UpstreamCommit, result: ConvertResult,
	    signoff: Identity) -> str:
	"""The commit message: subject, stable header, description, what was
	adapted, upstream's trailers and the backporter's sign-off."""
	paragraphs = [commit.subject, f'[ Upstream commit {commit.sha} ]']
	paragraphs += [wrap(text) for text in commit.description]
	note = adaptation_note(result, signoff)
	if note:
		paragraphs.append(note)
	paragraphs.append(sign_off_chain(commit, signoff))
	return '\n\n'.join(paragraphs) + '\n'


def sign_off_chain(commit: UpstreamCommit, signoff: Identity) -> str:
	"""Upstream's trailers, then the backporter's Signed-off-by (once)."""
	trailers = list(commit.trailers)
	own = f'Signed-off-by: {signoff}'
	if own not in trailers:
		trailers.append(own)
	return '\n'.join(trailers)


def subject_prefix(version: str) -> str:
	"""'PATCH 6.1.y' for a 6.1.192 tree."""
	major_minor = '.'.join(version.split('.')[:2])
	return f'PATCH {major_minor}.y'


def _fill_cover_letter(path: Path, result: ConvertResult,
		       commits: list[UpstreamCommit]) -> None:
	text = path.read_text(encoding='utf-8', errors='surrogateescape')
	version = result.tree.version
	text = text.replace('*** SUBJECT HERE ***',
			    f'Backport of {len(commits)} upstream IOMMU commits')
	blurb = wrap(f'These upstream commits are missing from linux {version} '
		      f'({result.classification.reason}); they apply to it as '
		      'they follow.')
	text = text.replace('*** BLURB HERE ***', blurb)
	path.write_text(text, encoding='utf-8', errors='surrogateescape')


@dataclasses.dataclass(frozen=True)
class Mails:
	paths: list[Path]		# cover letter first, when there is one
	converted: dict[str, bytes]	# the touched files after the series


def make_mails(result: ConvertResult, signoff: Identity, workdir: Path,
	       message_of: Optional[Callable[[UpstreamCommit], str]] = None,
	       prefix: Optional[str] = None) -> Mails:
	"""Write the mails into <workdir>/mails.  Nothing is written anywhere
	else.  message_of and prefix give another form its commit message and
	subject prefix (default: the stable mail's)."""
	# Today one upstream commit, carried by the one diff; a series would
	# pair each commit with its own diff here.
	commits = [(commit, result.diff) for commit in SERIES]
	if message_of is None:
		message_of = lambda commit: message(commit, result, signoff)  # noqa: E731
	repo = ScratchRepo(workdir / 'repo')
	repo.seed(result.tree.path, result.changed,
		  f'linux {result.tree.version}: the files as they are in the tree')
	for commit, diff in commits:
		repo.git('apply', '--index', '--whitespace=nowarn', '-', stdin=diff)
		author = {'GIT_AUTHOR_NAME': commit.author.name,
			  'GIT_AUTHOR_EMAIL': commit.author.email}
		repo.git('commit', '-q', '--no-verify', '--cleanup=verbatim', '-F', '-',
			 stdin=message_of(commit), env=author)
	out = workdir / 'mails'
	if prefix is None:
		prefix = subject_prefix(result.tree.version)
	args = ['format-patch', '--zero-commit', '--no-numbered' if len(commits) == 1
		else '--numbered', f'--subject-prefix={prefix}',
		'-o', str(out), f'-{len(commits)}']
	if len(commits) > 1:
		args.append('--cover-letter')
	names = repo.git(*args).splitlines()
	mails = [Path(name) for name in names if name.strip()]
	if len(commits) > 1:
		_fill_cover_letter(mails[0], result, [c for c, _ in commits])
	return Mails(paths=mails,
		     converted={rel: repo.read(rel) for rel in result.changed})
