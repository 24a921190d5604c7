// SPDX-License-Identifier: GPL-2.0-only
///
/// struct dev_iommu needs a per-device attach_deferred flag: upstream commit
/// dd8a25c557e1 ("iommu: Remove deferred attach check from
/// __iommu_detach_device()") decides deferral once, at the first attach of
/// the default domain, and remembers it there.  This adds the member (and its
/// kerneldoc text, carried as a trailing comment that the toolkit's layout
/// step moves into the struct's kerneldoc block) where it is missing.
///
// Confidence: High
// Copyright: (C) 2026 The deferred-attach toolkit authors
// Options: --no-includes --include-headers
// Keywords: dev_iommu
//

virtual patch
virtual context
virtual org
virtual report

// A hand backport may have spelled the member differently (bool, no
// bit-field); any member of that name counts, so it is never added twice.
@dev_iommu_has_flag@
type T;
symbol attach_deferred;
@@

struct dev_iommu {
  ...
(
  T attach_deferred:1;
|
  T attach_deferred;
)
  ...
};

@dev_iommu_lacks_flag depends on !dev_iommu_has_flag && (org || report)@
type T;
identifier last_member;
position p;
@@

struct dev_iommu {
  ...
  T last_member@p;
};

@dev_iommu_lacks_flag_context depends on !dev_iommu_has_flag && context@
type T;
identifier last_member;
@@

struct dev_iommu {
  ...
* T last_member;
};

@add_attach_deferred_flag depends on patch && !dev_iommu_has_flag@
@@

struct dev_iommu {
  ...
+ u32 attach_deferred:1; /* the dma domain attachment is deferred */
};

@script:python depends on org@
p << dev_iommu_lacks_flag.p;
@@

coccilib.org.print_todo(p[0], "struct dev_iommu has no attach_deferred flag")

@script:python depends on report@
p << dev_iommu_lacks_flag.p;
@@

coccilib.report.print_report(p[0], "struct dev_iommu has no attach_deferred flag: add u32 attach_deferred:1 (upstream dd8a25c557e1)")
