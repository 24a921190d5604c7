"""Refuse half-converted results.

spatch skips, without a word, any function it cannot parse; the other
rules still fire, so the result looks converted but still skips detaches
in the function that was missed.  After the run, any call that upstream's
change removes and that is still there makes the whole run fail.
"""

from pathlib import Path

from dattach.errors import RefusedError
from dattach.probe import (FUNCTIONS_WITHOUT_HELPER, IOMMU_C, Site,
			   find_sites, function_spans)
from dattach.spatch import parse_errors


def must_be_gone(sites: list[Site]) -> list[Site]:
	"""The calls upstream's change leaves nowhere in the core."""
	return [site for site in sites
		if site.path == IOMMU_C and site.callee == 'iommu_is_attach_deferred'
		and (site.function in FUNCTIONS_WITHOUT_HELPER or
		     '!iommu_is_attach_deferred' in site.text.replace(' ', ''))]


def _original_line(site: Site, original: list[Site]) -> int:
	# Report the line in the user's tree, not in the converted copy:
	# the nth such call in that function, matched by its text.
	same = [s for s in original
		if s.function == site.function and s.text == site.text]
	return same[0].line if same else site.line


def check(original_dir: Path, converted_dir: Path, spatch: str) -> None:
	"""Raise RefusedError naming the first call left unconverted."""
	converted_path = converted_dir / IOMMU_C
	original_path = original_dir / IOMMU_C
	if not converted_path.is_file() or not original_path.is_file():
		return
	converted = converted_path.read_text(encoding='utf-8', errors='surrogateescape')
	left = must_be_gone(find_sites(IOMMU_C, converted))
	if not left:
		return
	original = original_path.read_text(encoding='utf-8', errors='surrogateescape')
	before = must_be_gone(find_sites(IOMMU_C, original))
	site = left[0]
	line = _original_line(site, before)
	spans = function_spans(original)
	bad_functions = set()
	for error in parse_errors(spatch, original_dir, IOMMU_C):
		for name, first, last in spans:
			if first <= error.line <= last:
				bad_functions.add(name)
	if site.function is not None and site.function in bad_functions:
		cause = 'spatch could not parse it'
	else:
		cause = 'the semantic patches left it unconverted'
	func = f' ({site.function})' if site.function else ''
	raise RefusedError(f'could not convert {IOMMU_C}:{line}{func}: {cause}')
