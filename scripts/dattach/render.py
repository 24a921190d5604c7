"""What `probe` and `report` print: text for people, JSON for machines."""

import json

from dattach.probe import DMA_IOMMU_C, IOMMU_C, Place, ProbeResult, leftovers
from dattach.report import ReportLine


def old_places(found: ProbeResult) -> list[Place]:
	"""The places of the core still in the old form (none without iommu.c)."""
	iommu_c = found.tree.read(IOMMU_C)
	if iommu_c is None:
		return []
	return sorted(leftovers(iommu_c, found.tree.read(DMA_IOMMU_C)),
		      key=lambda p: (p.path, p.line))


def probe_json(found: ProbeResult) -> str:
	shape = found.classification
	data = {
		'tree': str(found.tree.path),
		'version': found.tree.version,
		'shape': shape.shape.name.lower(),
		'shape_text': shape.shape.value,
		'reason': shape.reason,
		'generation': shape.generation.name.lower() if shape.generation else None,
		'convertible': shape.convertible,
		'backport_first': [{'commit': c.sha, 'title': c.title}
				   for c in shape.backport_first],
		'candidates': found.candidates,
		'sites': [{'path': s.path, 'line': s.line, 'function': s.function,
			   'callee': s.callee, 'text': s.text} for s in found.sites],
		'old_form': [{'path': p.path, 'line': p.line, 'function': p.function,
			      'what': p.what} for p in old_places(found)],
	}
	return json.dumps(data, indent=2) + '\n'


def probe_text(found: ProbeResult) -> str:
	shape = found.classification
	lines = [f'tree:       {found.tree.path}',
		 f'version:    {found.tree.version}',
		 f'shape:      {shape.shape.value}',
		 f'reason:     {shape.reason}',
		 f'generation: {shape.generation.value if shape.generation else "-"}',
		 'backport first: ' + (', '.join(str(c) for c in shape.backport_first)
				       or '-'),
		 f'candidates: {len(found.candidates)} files']
	lines += [f'  {rel}' for rel in found.candidates]
	lines.append(f'sites:      {len(found.sites)} calls that ask whether the '
		     'attach is deferred')
	lines += [f'  {s.where()}: {s.text}' for s in found.sites]
	places = old_places(found)
	lines.append(f'old form:   {len(places)} places of the core to convert')
	lines += [f'  {p.where()}: {p.what}' for p in places]
	return '\n'.join(lines) + '\n'


def report_json(found: ProbeResult, lines: list[ReportLine]) -> str:
	return json.dumps({'tree': str(found.tree.path), 'version': found.tree.version,
			   'shape': found.classification.shape.name.lower(),
			   'reason': found.classification.reason,
			   'sites': [line.to_json() for line in lines]}, indent=2) + '\n'
