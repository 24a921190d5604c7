# SPDX-License-Identifier: GPL-2.0-only
#
# Carry upstream dd8a25c557e1 ("iommu: Remove deferred attach check from
# __iommu_detach_device()") to kernel trees that lack it.  `make help` lists
# the targets.  The work is done by scripts/; this file only names it.

# Variables a user may override: `make diff KDIR=~/src/linux JOBS=4`.
PYTHON ?= /usr/bin/python3
# Kernel source tree; empty means Debian's linux-source-6.1 in .cache/.
KDIR ?=
# spatch processes at once; empty means one per CPU.
JOBS ?=

CLI := $(PYTHON) scripts/deferred_attach.py

.PHONY: help diff check deps clean

help: ## Show this list of targets
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/  \1\t\2/p' $(MAKEFILE_LIST) | expand -t 12

# @: stdout of `make diff` is the diff alone, fit for `> file`.
diff: ## Print the conversion of KDIR (default: Debian 6.1) as a unified diff
	@$(CLI) diff $(if $(JOBS),--jobs $(JOBS)) $(KDIR)

check: deps ## Install what is missing, then run every test (tests/run.py)
	$(PYTHON) tests/run.py

deps: ## Install the Debian packages the toolkit and its tests need (root)
	@scripts/install-deps.sh

clean: ## Remove build droppings (keeps the .cache/ kernel trees)
	rm -rf out .mypy_cache
	find scripts tests -name __pycache__ -type d -prune -exec rm -rf {} +
