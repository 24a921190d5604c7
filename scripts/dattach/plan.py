"""Which semantic patches run on which files, in series order."""

import dataclasses
from pathlib import Path

from dattach.probe import ProbeResult
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


def make_plan(result: ProbeResult, cocci_dir: Path = COCCI_DIR) -> Plan:
	"""Every semantic patch over every candidate file: each patch finds
	its own places, and the candidates are few, so narrowing further
	per patch would buy little and could only miss a file."""
	return Plan(steps=[Step(cocci=cocci_dir / name,
				files=list(result.candidates))
			   for name in SERIES])
