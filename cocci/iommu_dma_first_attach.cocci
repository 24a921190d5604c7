// SPDX-License-Identifier: GPL-2.0-only
///
/// The IOMMU core asks the driver's is_attach_deferred op at every attach
/// and detach.  The op keeps answering "deferred" long after the DMA API has
/// done the deferred attach (e.g. in a kdump kernel), so explicit detaches
/// are skipped while the caller frees the domain.  Upstream commit
/// dd8a25c557e1 ("iommu: Remove deferred attach check from
/// __iommu_detach_device()") decides deferral once, when a device is first
/// attached to its default domain (iommu_group_do_dma_first_attach()),
/// remembers it in dev->iommu->attach_deferred, clears it on a real attach,
/// lets iommu_deferred_attach() read it and no longer blocks detach.
///
/// This finds the old per-call checks in drivers/iommu/iommu.c and, in patch
/// mode, makes upstream's change: the helper moves above
/// iommu_probe_device() with the new first-attach helper after it, the
/// default-domain attaches go through the first-attach helper, the flag is
/// cleared where the attach tracepoint fires, and the detach check goes.
/// Needs the attach_deferred member (dev_iommu_attach_deferred.cocci).
///
// Confidence: High
// Copyright: (C) 2026 The deferred-attach toolkit authors
// Options: --no-includes --include-headers --max-width 100
// Keywords: iommu_is_attach_deferred
//

virtual patch
virtual context
virtual org
virtual report

// The key: every rule and script below depends on this one, so that
// Coccinelle's own token filter keeps only the files that call the core's
// helper (one file of a whole tree) before it parses anything.  Every
// generation this applies to has the helper, a half-converted tree too.
// Two facts of Coccinelle 1.1.1 shape this: its filter gives up (and parses
// every file) once more than five rules need tokens the key does not
// imply, so the key must be a token that the rules' own code contains, as
// the generated prototype rules inherit only that; and a script or a rule
// that inherits from a rule does not inherit that rule's dependencies, so
// each names the key itself.
@asks_helper@
@@

iommu_is_attach_deferred(...)

// The first-attach helper is the one place that still asks, by design.
@deferred_check depends on asks_helper && !patch@
identifier fn != {iommu_is_attach_deferred, iommu_group_do_dma_first_attach};
expression list args;
position p;
@@

fn(...)
{
  <+...
  iommu_is_attach_deferred@p(args)
  ...+>
}

@deferred_check_context depends on asks_helper && context@
position deferred_check.p;
expression list args;
@@

* iommu_is_attach_deferred@p(args)

@script:python depends on asks_helper && org@
p << deferred_check.p;
fn << deferred_check.fn;
@@

coccilib.org.print_todo(p[0], "%s() asks is_attach_deferred: use the first-attach helper and dev->iommu->attach_deferred" % fn)

@script:python depends on asks_helper && report@
p << deferred_check.p;
fn << deferred_check.fn;
@@

coccilib.report.print_report(p[0], "%s() asks is_attach_deferred: use the first-attach helper and dev->iommu->attach_deferred (upstream dd8a25c557e1)" % fn)

// The other places in the old form: iommu_deferred_attach() asking the op
// itself (v5.12-v5.17), the default-domain attach in iommu_probe_device()
// not going through the first-attach helper, and an attach that does not
// clear the flag where its tracepoint fires.
@deferred_attach_asks_helper depends on asks_helper && !patch@
identifier dev, domain;
expression ops;
expression list args;
position p;
@@

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
  <+...
  ops->is_attach_deferred@p(args)
  ...+>
}

@probe_attach_not_first depends on asks_helper && !patch@
identifier dev;
expression group;
position p;
@@

int iommu_probe_device(struct device *dev)
{
  <+...
  __iommu_attach_device@p(group->default_domain, dev)
  ...+>
}

@attach_keeps_flag depends on asks_helper && !patch exists@
identifier domain, dev;
position p;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != dev->iommu->attach_deferred = 0;
  trace_attach_device_to_domain@p(dev);
  ...
}

@depends on asks_helper && context@
position p = {deferred_attach_asks_helper.p, probe_attach_not_first.p, attach_keeps_flag.p};
identifier f;
expression list args;
@@

* f@p(args)

@script:python depends on asks_helper && org@
p << deferred_attach_asks_helper.p;
@@

coccilib.org.print_todo(p[0], "iommu_deferred_attach() asks is_attach_deferred: read dev->iommu->attach_deferred")

@script:python depends on asks_helper && report@
p << deferred_attach_asks_helper.p;
@@

coccilib.report.print_report(p[0], "iommu_deferred_attach() asks is_attach_deferred: read dev->iommu->attach_deferred (upstream dd8a25c557e1)")

@script:python depends on asks_helper && org@
p << probe_attach_not_first.p;
@@

coccilib.org.print_todo(p[0], "iommu_probe_device() attaches the default domain directly: use iommu_group_do_dma_first_attach()")

@script:python depends on asks_helper && report@
p << probe_attach_not_first.p;
@@

coccilib.report.print_report(p[0], "iommu_probe_device() attaches the default domain directly: use iommu_group_do_dma_first_attach() (upstream dd8a25c557e1)")

@script:python depends on asks_helper && org@
p << attach_keeps_flag.p;
@@

coccilib.org.print_todo(p[0], "__iommu_attach_device() does not clear dev->iommu->attach_deferred on success")

@script:python depends on asks_helper && report@
p << attach_keeps_flag.p;
@@

coccilib.report.print_report(p[0], "__iommu_attach_device() does not clear dev->iommu->attach_deferred on success (upstream dd8a25c557e1)")

// ---------------------------------------------------------------------------
// patch: upstream's change, place by place
// ---------------------------------------------------------------------------

// __iommu_detach_device(): detach is no longer blocked.  Every generation
// has this early return only there, so the rule names no function; that
// also makes it the first patch rule whose only token is the key, which
// Coccinelle 1.1.1 needs to keep its filter (see the key's comment).
//
// Vendors write the check with a branch hint (the unlikely() isomorphism
// matches likely(), unlikely() and none), !!, comments, and a debug print or
// warning in the skipped branch: the if goes with its whole branch, as long
// as the branch ends in the early return.  A jump to a label is left to
// detach_not_blocked_goto: Coccinelle follows the goto, and would otherwise
// see the "return;" after the label as the branch's own.
@detach_not_blocked depends on asks_helper && patch@
identifier l;
@@

(
  if (unlikely(iommu_is_attach_deferred(...)))
  	goto l;
|
  if (unlikely(iommu_is_attach_deferred(...))) {
  	...
  	goto l;
  }
|
- if (unlikely(iommu_is_attach_deferred(...)))
- 	return;
|
- if (unlikely(iommu_is_attach_deferred(...))) {
- 	...
- 	return;
- }
|
- if (!!iommu_is_attach_deferred(...))
- 	return;
|
- if (!!iommu_is_attach_deferred(...)) {
- 	...
- 	return;
- }
)

// The same check written the other way round: the detach it guarded stays,
// unguarded.  Only in __iommu_detach_device(): elsewhere such a block is an
// attach, which the first-attach helper takes over instead.
@detach_not_blocked_inverted depends on asks_helper && patch@
identifier domain, dev;
statement list body;
@@

static void __iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
  ...
- if (likely(!iommu_is_attach_deferred(...))) {
  body
- }
  ...
}

// Written as a jump to a label that nothing else jumps to: both go.
@detach_not_blocked_goto depends on asks_helper && patch@
identifier domain, dev, l;
@@

static void __iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != goto l;
- if (unlikely(iommu_is_attach_deferred(...)))
- 	goto l;
  ... when != goto l;
- l:
  ...
}

// The answer kept in a local first, which nothing else reads: it goes too.
@detach_not_blocked_local depends on asks_helper && patch@
identifier domain, dev, x;
type T;
@@

static void __iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != x
- T x;
  ... when != x
- x = iommu_is_attach_deferred(...);
(
- if (unlikely(x))
- 	return;
|
- if (unlikely(x)) {
- 	...
- 	return;
- }
)
  ... when != x
}

// __iommu_attach_device(): a real attach ends the deferral.
@attach_clears_flag depends on asks_helper && patch@
identifier domain, dev, ret;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ...
- if (!ret)
- 	trace_attach_device_to_domain(dev);
- return ret;
+ if (ret)
+ 	return ret;
+ dev->iommu->attach_deferred = 0;
+ trace_attach_device_to_domain(dev);
+ return 0;
}

// Vendor trees (e.g. Asahi's page-size check) already end the attach with
// "if (ret) return ret; ... trace; return 0;": the flag is cleared where the
// tracepoint fires, i.e. only when the whole attach succeeded.
@attach_clears_flag_before_trace depends on asks_helper && patch && !attach_clears_flag@
identifier domain, dev;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != dev->iommu->attach_deferred = 0;
+ dev->iommu->attach_deferred = 0;
  trace_attach_device_to_domain(dev);
  return 0;
}

// Vendors also write the success test with a branch hint, braces, "== 0"
// or statements of their own next to the trace point: the flag is cleared
// right before the trace point, on the success path (exists: the trace
// point is on that path only).
@attach_clears_flag_at_trace depends on asks_helper && patch && !attach_clears_flag && !attach_clears_flag_before_trace exists@
identifier domain, dev;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != dev->iommu->attach_deferred = 0;
+ dev->iommu->attach_deferred = 0;
  trace_attach_device_to_domain(dev);
  ...
}

// iommu_deferred_attach(): the DMA API reads the flag, not the op.
//
// Negated (an early return of the same logic), doubly negated or compared
// with false, the flag test keeps its parentheses: "!a && b" is not
// "!(a && b)".
@deferred_attach_reads_flag depends on asks_helper && patch@
identifier dev, domain;
expression ops;
symbol false;
@@

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
  <+...
(
- !iommu_is_attach_deferred(...)
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- !!iommu_is_attach_deferred(...)
+ !!(dev->iommu && dev->iommu->attach_deferred)
|
- iommu_is_attach_deferred(...) == false
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- iommu_is_attach_deferred(...)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred && unlikely(ops->is_attach_deferred(...))
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred != NULL && ops->is_attach_deferred(...)
+ dev->iommu && dev->iommu->attach_deferred
)
  ...+>
}

// v5.12 to v5.17 fetched the ops into a local just for that question.
@deferred_attach_unused_ops depends on asks_helper && deferred_attach_reads_flag@
identifier dev, domain, ops;
expression E;
@@

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
- const struct iommu_ops *ops = E;
  ... when != ops
}

@has_first_attach_helper depends on asks_helper && patch@
identifier dev, data;
@@

static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
{
  ...
}

// iommu_probe_device(): the default domain is the first attach.
@probe_attaches_default_domain depends on asks_helper && patch@
identifier dev;
expression group;
@@

int iommu_probe_device(struct device *dev)
{
  <+...
- __iommu_attach_device(group->default_domain, dev)
+ iommu_group_do_dma_first_attach(dev, group->default_domain)
  ...+>
}

// iommu_group_add_device(): a device joining a group with a domain.  The
// check may carry branch hints (the likely() isomorphism also matches
// unlikely() and none) or be spelled "== false"; the branch may be braced
// and hold vendor statements, which stay.
@group_add_attaches_domain depends on asks_helper && patch@
expression domain;
identifier dev, ret;
symbol false;
@@

(
- if (likely(domain && likely(!iommu_is_attach_deferred(...))))
+ if (domain)
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (likely(domain && likely(!iommu_is_attach_deferred(...))))
+ if (domain)
  {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
  }
|
- if (domain && iommu_is_attach_deferred(...) == false)
+ if (domain)
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (domain && iommu_is_attach_deferred(...) == false)
+ if (domain)
  {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
  }
)

// The answer kept in a local first, which nothing else reads.
@group_add_local depends on asks_helper && patch && !group_add_attaches_domain@
identifier x, dev, ret, f;
expression domain;
type T;
@@

f(...)
{
  ... when != x
- T x;
  ... when != x
- x = iommu_is_attach_deferred(...);
  ... when != x
(
- if (likely(domain && likely(!x)))
+ if (domain)
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (likely(domain && likely(!x)))
+ if (domain)
  {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
  }
)
  ... when != x
}

// bus_iommu_probe(): the per-device callback that skipped deferred devices
// is replaced by the first-attach helper and its wrapper renamed to match.
// A callback that carries code of its own (vendor trees) keeps it and calls
// the first-attach helper instead.
@dma_attach_callback depends on asks_helper && patch@
identifier callback, dev, data, domain, ret;
@@

- static int callback(struct device *dev, void *data)
- {
- 	struct iommu_domain *domain = data;
- 	int ret = 0;
-
- 	if (likely(!iommu_is_attach_deferred(...)))
- 		ret = __iommu_attach_device(domain, dev);
-
- 	return ret;
- }

// The check may carry a branch hint or read "== false"; a braced branch
// with vendor statements keeps them, now unconditional (the first-attach
// helper makes the deferral decision itself); an early return or a jump
// over the attach is the same logic.
@dma_attach_callback_with_extras depends on asks_helper && patch && !dma_attach_callback@
identifier callback, dev, data, domain, ret, l;
symbol false;
@@

  static int callback(struct device *dev, void *data)
  {
  ...
(
- if (likely(!iommu_is_attach_deferred(...)))
- 	ret = __iommu_attach_device(domain, dev);
+ ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (likely(!iommu_is_attach_deferred(...))) {
- 	ret = __iommu_attach_device(domain, dev);
- }
+ ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (iommu_is_attach_deferred(...) == false)
- 	ret = __iommu_attach_device(domain, dev);
+ ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (likely(!iommu_is_attach_deferred(...))) {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
- }
|
- if (unlikely(iommu_is_attach_deferred(...)))
- 	return 0;
  ...
- return __iommu_attach_device(domain, dev);
+ return iommu_group_do_dma_first_attach(dev, domain);
|
- if (unlikely(iommu_is_attach_deferred(...)))
- 	goto l;
  ... when != goto l;
- ret = __iommu_attach_device(domain, dev);
+ ret = iommu_group_do_dma_first_attach(dev, domain);
- l:
)
  ... when != goto l;
  }

// The answer kept in a local first, which nothing else reads.
@dma_attach_callback_local depends on asks_helper && patch && !dma_attach_callback && !dma_attach_callback_with_extras@
identifier callback, dev, data, domain, ret, x;
type T;
@@

  static int callback(struct device *dev, void *data)
  {
  ... when != x
- T x;
  ... when != x
- x = iommu_is_attach_deferred(...);
  ... when != x
(
- if (likely(!x))
- 	ret = __iommu_attach_device(domain, dev);
+ ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (likely(!x)) {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
- }
)
  ... when != x
  }

@dma_attach_wrapper depends on asks_helper && dma_attach_callback@
identifier dma_attach_callback.callback, wrapper, group;
expression domain;
@@

- static int wrapper(struct iommu_group *group)
+ static int __iommu_group_dma_first_attach(struct iommu_group *group)
  {
  	return __iommu_group_for_each_dev(group, domain,
- 					  callback);
+ 					  iommu_group_do_dma_first_attach);
  }

@dma_attach_wrapper_caller depends on asks_helper && dma_attach_wrapper@
identifier dma_attach_wrapper.wrapper;
expression group;
@@

- wrapper(group)
+ __iommu_group_dma_first_attach(group)

// Does iommu_probe_device() hold the group mutex where it attaches the
// default domain?  Not before upstream 556f99ac8866 (v5.17, also in 5.15.y):
// there the new helper must not assert it.
@probe_attach_locked depends on asks_helper && patch exists@
identifier dev;
expression group, ret;
@@

int iommu_probe_device(struct device *dev)
{
  ...
  mutex_lock(&group->mutex);
  ... when != mutex_unlock(&group->mutex);
(
  ret = __iommu_attach_device(group->default_domain, dev);
|
  ret = iommu_group_do_dma_first_attach(dev, group->default_domain);
)
  ...
}

@deferred_helper_two_args depends on asks_helper && patch@
typedef bool;
identifier domain, dev;
@@

static bool iommu_is_attach_deferred(struct iommu_domain *domain, struct device *dev)
{
  ...
}

// The first-attach helper asserts the group mutex, as upstream's does, where
// every caller holds it.
@add_first_attach_helper depends on asks_helper && patch && !has_first_attach_helper && (probe_attaches_default_domain || group_add_attaches_domain || group_add_local || dma_attach_callback || dma_attach_callback_with_extras || dma_attach_callback_local) && (probe_attach_locked || !probe_attaches_default_domain)@
identifier probe_dev;
@@

+ static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
+ {
+ 	struct iommu_domain *domain = data;
+
+ 	lockdep_assert_held(&dev->iommu_group->mutex);
+
+ 	if (iommu_is_attach_deferred(dev)) {
+ 		dev->iommu->attach_deferred = 1;
+ 		return 0;
+ 	}
+
+ 	return __iommu_attach_device(domain, dev);
+ }
+
  int iommu_probe_device(struct device *probe_dev)
  {
  ...
  }

// Where iommu_probe_device() attaches without the mutex, asserting it would
// be a false lockdep report: the helper goes without the assertion.  (One
// rule per variant, rather than a later rule that edits the added code:
// Coccinelle cannot key a rule whose every token was added by another.)
@add_first_attach_helper_unlocked depends on asks_helper && patch && !has_first_attach_helper && probe_attaches_default_domain && !probe_attach_locked@
identifier probe_dev;
@@

+ static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
+ {
+ 	struct iommu_domain *domain = data;
+
+ 	if (iommu_is_attach_deferred(dev)) {
+ 		dev->iommu->attach_deferred = 1;
+ 		return 0;
+ 	}
+
+ 	return __iommu_attach_device(domain, dev);
+ }
+
  int iommu_probe_device(struct device *probe_dev)
  {
  ...
  }

// Before v5.18 the helper also takes the domain; keep the tree's signature
// (in the helper just added, or in a hand backport's copy that missed it).
@first_attach_helper_two_args depends on asks_helper && deferred_helper_two_args@
identifier dev, data, domain;
@@

static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
{
  struct iommu_domain *domain = data;
  ...
- iommu_is_attach_deferred(dev)
+ iommu_is_attach_deferred(domain, dev)
  ...
}

// The helper that asks the driver moves above the first-attach helper,
// which calls it: in every generation that gets the first-attach helper it
// is defined below iommu_probe_device().  (Deciding that from line numbers
// would take a Python script, whose interpreter start would double the
// time of a patch run.)
@move_deferred_helper depends on asks_helper && (add_first_attach_helper || add_first_attach_helper_unlocked)@
typedef bool;
parameter list params;
statement list body;
@@

- static bool iommu_is_attach_deferred(params)
- {
-   body
- }

@readd_deferred_helper depends on asks_helper && move_deferred_helper@
typedef bool;
parameter list move_deferred_helper.params;
statement list move_deferred_helper.body;
@@

+ static bool iommu_is_attach_deferred(params)
+ {
+   body
+ }
+
  static int iommu_group_do_dma_first_attach(...)
  {
  ...
  }
