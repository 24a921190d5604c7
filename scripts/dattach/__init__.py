"""Carry upstream commit dd8a25c557e1 ("iommu: Remove deferred attach check
from __iommu_detach_device()") to kernel trees that lack it.

One module per stage: tree (find and validate a kernel tree), probe (which
files matter, which shape the tree has), plan (which semantic patches run on
which files), spatch (run them on copies), layout (make spatch's output
byte-exact kernel style), guard (refuse half-converted results), emit_diff
(one unified diff), convert (the pipeline that strings them together).
"""
