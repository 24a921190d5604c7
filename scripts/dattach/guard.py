"""Refuse half-converted results.

spatch skips, without a word, any function it cannot parse; the other
rules still fire, so the result looks converted but still skips detaches
in the function that was missed.  After the run, any call that upstream's
change removes and that is still there makes the whole run fail.
"""

from pathlib import Path
from typing import Optional

from dattach import idioms
from dattach.errors import RefusedError
from dattach.probe import (DMA_IOMMU_C, IOMMU_C, IOMMU_H, Place, function_spans,
			   has_flag_member, leftovers)
from dattach.spatch import parse_errors


def _read(path: Path) -> Optional[str]:
	if not path.is_file():
		return None
	return path.read_text(encoding='utf-8', errors='surrogateescape')


def _original_place(place: Place, before: list[Place]) -> Place:
	# Name the line in the user's tree, not in the converted copy.
	same = [p for p in before
		if p.path == place.path and p.function == place.function]
	return same[0] if same else place


def check(original_dir: Path, converted_dir: Path, spatch: str) -> None:
	"""Raise RefusedError naming the first place left unconverted."""
	converted = _read(converted_dir / IOMMU_C)
	original = _read(original_dir / IOMMU_C)
	if converted is None or original is None:
		return
	header = _read(converted_dir / IOMMU_H)
	if header is not None and not has_flag_member(header):
		# The struct spatch could not parse or match: the converted core
		# would not build.
		raise RefusedError(f'could not add attach_deferred to struct dev_iommu '
				   f'in {IOMMU_H}: the semantic patches left it unchanged')
	left = leftovers(converted, _read(converted_dir / DMA_IOMMU_C))
	if not left:
		return
	before = leftovers(original, _read(original_dir / DMA_IOMMU_C))
	place = _original_place(left[0], before)
	original_text = _read(original_dir / place.path) or ''
	spans = function_spans(original_text)
	bad_functions = set()
	for error in parse_errors(spatch, original_dir, place.path):
		for name, first, last in spans:
			if first <= error.line <= last:
				bad_functions.add(name)
	idiom = idioms.cause(original_text, place.line, place.function)
	if idiom is not None:
		# The construct the rules leave alone, named in the user's terms.
		raise RefusedError(f'could not convert {place.where()}: {idiom}')
	if place.function is not None and place.function in bad_functions:
		cause = 'spatch could not parse it'
	else:
		cause = 'the semantic patches left it unconverted'
	raise RefusedError(f'could not convert {place.where()}: {cause}')
