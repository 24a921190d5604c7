"""Which semantic patches run on which files, in series order."""

import dataclasses
import functools
import re
from pathlib import Path
from typing import Callable, Optional

from dattach.tree import REPO_ROOT

COCCI_DIR = REPO_ROOT / 'cocci'

# Series order matters: a later patch may need what an earlier one added
# (the first-attach helper sets the member the first patch adds).
SERIES = [
	'dev_iommu_attach_deferred.cocci',
	'iommu_dma_first_attach.cocci',
	'attach_deferred_flag_readers.cocci',
]


@dataclasses.dataclass(frozen=True)
class Step:
	cocci: Path
	files: list[str]	# relative to the tree


@dataclasses.dataclass(frozen=True)
class Plan:
	steps: list[Step]

	@property
	def files(self) -> list[str]:
		return sorted({rel for step in self.steps for rel in step.files})

	def steps_for(self, rel: str) -> list[Step]:
		"""The steps that touch one file, in series order."""
		return [step for step in self.steps if rel in step.files]


@functools.lru_cache(maxsize=None)
def keywords(cocci: Path) -> tuple[str, ...]:
	"""The identifiers a semantic patch is keyed on, from its
	'// Keywords:' header line: every rule of the patch depends on a rule
	that needs one of them, so spatch skips a file that has none
	(tests/unit/test_keys.py holds spatch to it; KEY_FORMS below is the
	narrower form the plan looks for)."""
	for line in cocci.read_text().splitlines():
		if line.startswith('// Keywords:'):
			return tuple(word.strip() for word in
				     line[len('// Keywords:'):].split(',') if word.strip())
	return ()


# The form in which each patch's key rule needs its keyword: the op read
# through a pointer (not a driver's `.is_attach_deferred =`), the struct's
# definition (not every `struct dev_iommu *`), a call of the helper; and,
# for the flag readers, not the core file (a file that defines
# iommu_probe_device(): their rules leave it to the core patch).  A file
# that names the keyword only otherwise is one spatch would parse for
# nothing (the big IOMMU drivers: most of a run's time).  Checked against
# spatch on every golden tree and Debian's 6.1 (tests/unit/test_keys.py).
KEY_FORMS: dict[str, tuple[str, Optional[str]]] = {
	'dev_iommu_attach_deferred.cocci': (r'\bstruct\s+dev_iommu\s*\{', None),
	'iommu_dma_first_attach.cocci': (r'\biommu_is_attach_deferred\s*\(', None),
	'attach_deferred_flag_readers.cocci': (r'->\s*is_attach_deferred\b',
					       r'(?m)^int\s+iommu_probe_device\s*\('),
}


def _mentions(text: str, cocci: Path) -> bool:
	needs, unless = KEY_FORMS[cocci.name]
	return (re.search(needs, text) is not None and
		(unless is None or re.search(unless, text) is None))


def make_plan(candidates: list[str], read: Callable[[str], Optional[str]],
	      cocci_dir: Path = COCCI_DIR) -> Plan:
	"""Each semantic patch over the candidate files that hold its keyword
	in the form its key rule needs (KEY_FORMS names one for every patch of
	the series)."""
	texts = {rel: read(rel) or '' for rel in candidates}
	steps = []
	for name in SERIES:
		cocci = cocci_dir / name
		files = [rel for rel in candidates if _mentions(texts[rel], cocci)]
		steps.append(Step(cocci=cocci, files=files))
	return Plan(steps=steps)
