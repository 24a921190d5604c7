# SPDX-License-Identifier: GPL-2.0-only
#
# Carry upstream dd8a25c557e1 ("iommu: Remove deferred attach check from
# __iommu_detach_device()") to kernel trees that lack it.  `make help` lists
# the targets.  The work is done by scripts/; this file only names it.

# Variables a user may override: `make diff KDIR=~/src/linux JOBS=4`.
PYTHON ?= /usr/bin/python3
# Kernel source tree; empty means Debian's linux-source-6.1 in .cache/.
KDIR ?=
# spatch processes at once; empty means one per CPU (backport with KDIRS:
# trees at once, from make's own -j when JOBS is empty).
JOBS ?=
# backport: several trees at once ("tree tree ..."), the output folder
# (default out/linux-<version>, or out/ with KDIRS), your Signed-off-by
# ("Name <mail>", default: git config), another checkpatch.pl, and BUILD=1
# to compile the touched objects too.  FORMAT=android (BUG=N for its Bug:
# line) or FORMAT=quilt instead of the stable mail.
KDIRS ?=
OUT ?=
SIGNOFF ?=
CHECKPATCH ?=
BUILD ?=
FORMAT ?=
BUG ?=
# apply: FORCE=1 converts files with uncommitted changes too.
FORCE ?=
# backport: BOOT=1 also runs the boot proof (boot-test) on the tree.
BOOT ?=
# boot-test: one control alone, its checks as test lines: MUTANT=flag-never-set
# or MUTANT=flag-never-cleared, or UNCONVERTED=1.  IOMMU=amd for QEMU's amd-iommu.
MUTANT ?=
UNCONVERTED ?=
IOMMU ?=

CLI := $(PYTHON) scripts/deferred_attach.py
# make's own -jN (GNU make 4.2+ puts it in MAKEFLAGS), expanded in recipes.
MAKE_JOBS = $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS)))
JOBS_OPT = $(if $(JOBS),--jobs $(JOBS))
# Paths are quoted, so a KDIR, OUT or CHECKPATCH with spaces is one
# argument; KDIRS is a list of trees separated by spaces.
KDIR_ARG = $(if $(KDIR),"$(KDIR)")
# Each command first installs what it needs (scripts/install-deps.sh says
# so on stderr, or as non-root names the one command to run): Debian's
# 6.1 source too when no KDIR is given.
DEPS = @scripts/install-deps.sh --quiet run $(if $(KDIR)$(KDIRS),,source)

.PHONY: help diff probe report backport apply bench boot-test check mutations deps clean

help: ## Show this list of targets
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/  \1\t\2/p' $(MAKEFILE_LIST) | expand -t 12

# @: stdout of `make diff` is the diff alone, fit for `> file`.
diff: ## Print the conversion of KDIR (default: Debian 6.1) as a unified diff
	$(DEPS)
	@$(CLI) diff $(JOBS_OPT) $(KDIR_ARG)

probe: ## Name KDIR's shape, version and deferred-attach sites (JSON=1 for JSON)
	$(DEPS)
	@$(CLI) probe $(if $(JSON),--json) $(KDIR_ARG)

report: ## List KDIR's places to convert as file:line: message (coccicheck's form)
	$(DEPS)
	@$(CLI) report $(if $(JSON),--json) $(JOBS_OPT) $(KDIR_ARG)

backport: ## Write checked patches for KDIR (or KDIRS) into OUT (FORMAT=mail|android|quilt)
	$(DEPS) $(if $(BUILD)$(BOOT),build) $(if $(BOOT),boot)
	@$(CLI) backport $(if $(OUT),--out "$(OUT)") \
		$(if $(FORMAT),--format $(FORMAT)) $(if $(BUG),--bug $(BUG)) \
		$(if $(SIGNOFF),--signoff "$(SIGNOFF)") \
		$(if $(CHECKPATCH),--checkpatch "$(CHECKPATCH)") $(if $(BUILD),--build) \
		$(if $(BOOT),--boot) \
		$(if $(or $(JOBS),$(MAKE_JOBS)),--jobs $(or $(JOBS),$(MAKE_JOBS))) \
		$(or $(KDIRS),$(KDIR_ARG))

apply: ## Convert KDIR in place, all or nothing (FORCE=1: despite git changes)
	$(DEPS)
	@$(CLI) apply $(if $(FORCE),--force) $(JOBS_OPT) $(KDIR_ARG)

bench: ## Time diff and each semantic patch over Debian 6.1 against grep (minutes)
	@scripts/install-deps.sh --quiet run source build
	@$(PYTHON) scripts/bench.py

boot-test: ## Boot converted KDIR under QEMU+IOMMU, kdump too; controls (MUTANT=, UNCONVERTED=1)
	$(DEPS) build boot
	@PYTHONPATH=scripts $(PYTHON) -m dattach.bootproof $(if $(MUTANT),--mutant $(MUTANT)) \
		$(if $(UNCONVERTED),--unconverted) $(if $(IOMMU),--iommu $(IOMMU)) \
		$(JOBS_OPT) $(KDIR_ARG)

check: deps ## Install what is missing, then run every test (tests/run.py)
	$(PYTHON) tests/run.py

mutations: ## Run every idiom mutant through diff; table per kind (minutes)
	@scripts/install-deps.sh --quiet run source build
	$(PYTHON) tests/mutations/run_mutations.py

deps: ## Install the Debian packages the toolkit and its tests need (root)
	@scripts/install-deps.sh

clean: ## Remove build droppings (keeps the .cache/ kernel trees)
	rm -rf out .mypy_cache
	find scripts tests -name __pycache__ -type d -prune -exec rm -rf {} +
