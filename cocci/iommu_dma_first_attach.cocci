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
//

virtual patch
virtual context
virtual org
virtual report

// ---------------------------------------------------------------------------
// context, org and report: every per-call deferral check the change removes
// ---------------------------------------------------------------------------

@deferred_check depends on !patch@
identifier fn != iommu_is_attach_deferred;
expression list args;
position p;
@@

fn(...)
{
  <+...
  iommu_is_attach_deferred@p(args)
  ...+>
}

// The first-attach helper is the one place that still asks, by design.
@script:python depends on !patch@
fn << deferred_check.fn;
@@

if fn == "iommu_group_do_dma_first_attach":
    cocci.include_match(False)

@deferred_check_context depends on context@
position deferred_check.p;
expression list args;
@@

* iommu_is_attach_deferred@p(args)

@script:python depends on org@
p << deferred_check.p;
fn << deferred_check.fn;
@@

coccilib.org.print_todo(p[0], "%s() asks is_attach_deferred: use the first-attach helper and dev->iommu->attach_deferred" % fn)

@script:python depends on report@
p << deferred_check.p;
fn << deferred_check.fn;
@@

coccilib.report.print_report(p[0], "%s() asks is_attach_deferred: use the first-attach helper and dev->iommu->attach_deferred (upstream dd8a25c557e1)" % fn)

// The other places in the old form: iommu_deferred_attach() asking the op
// itself (v5.12-v5.17), the default-domain attach in iommu_probe_device()
// not going through the first-attach helper, and an attach that does not
// clear the flag where its tracepoint fires.
@deferred_attach_asks_op depends on !patch@
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

@probe_attach_not_first depends on !patch@
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

@attach_keeps_flag depends on !patch exists@
identifier domain, dev;
position p;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != dev->iommu->attach_deferred = 0;
  trace_attach_device_to_domain@p(dev);
  ...
}

@depends on context@
position p = {deferred_attach_asks_op.p, probe_attach_not_first.p, attach_keeps_flag.p};
identifier f;
expression list args;
@@

* f@p(args)

@script:python depends on org@
p << deferred_attach_asks_op.p;
@@

coccilib.org.print_todo(p[0], "iommu_deferred_attach() asks is_attach_deferred: read dev->iommu->attach_deferred")

@script:python depends on report@
p << deferred_attach_asks_op.p;
@@

coccilib.report.print_report(p[0], "iommu_deferred_attach() asks is_attach_deferred: read dev->iommu->attach_deferred (upstream dd8a25c557e1)")

@script:python depends on org@
p << probe_attach_not_first.p;
@@

coccilib.org.print_todo(p[0], "iommu_probe_device() attaches the default domain directly: use iommu_group_do_dma_first_attach()")

@script:python depends on report@
p << probe_attach_not_first.p;
@@

coccilib.report.print_report(p[0], "iommu_probe_device() attaches the default domain directly: use iommu_group_do_dma_first_attach() (upstream dd8a25c557e1)")

@script:python depends on org@
p << attach_keeps_flag.p;
@@

coccilib.org.print_todo(p[0], "__iommu_attach_device() does not clear dev->iommu->attach_deferred on success")

@script:python depends on report@
p << attach_keeps_flag.p;
@@

coccilib.report.print_report(p[0], "__iommu_attach_device() does not clear dev->iommu->attach_deferred on success (upstream dd8a25c557e1)")

// ---------------------------------------------------------------------------
// patch: upstream's change, place by place
// ---------------------------------------------------------------------------

@has_first_attach_helper depends on patch@
identifier dev, data;
@@

static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
{
  ...
}

// iommu_probe_device(): the default domain is the first attach.
@probe_attaches_default_domain depends on patch@
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

// iommu_group_add_device(): a device joining a group with a domain.
@group_add_attaches_domain depends on patch@
expression domain;
identifier dev, ret;
@@

(
- if (domain && !iommu_is_attach_deferred(...))
+ if (domain)
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (domain && !iommu_is_attach_deferred(...))
+ if (domain)
  {
  ...
- 	ret = __iommu_attach_device(domain, dev);
+ 	ret = iommu_group_do_dma_first_attach(dev, domain);
  ...
  }
)

// bus_iommu_probe(): the per-device callback that skipped deferred devices
// is replaced by the first-attach helper and its wrapper renamed to match.
// A callback that carries code of its own (vendor trees) keeps it and calls
// the first-attach helper instead.
@dma_attach_callback depends on patch@
identifier callback, dev, data, domain, ret;
@@

- static int callback(struct device *dev, void *data)
- {
- 	struct iommu_domain *domain = data;
- 	int ret = 0;
-
- 	if (!iommu_is_attach_deferred(...))
- 		ret = __iommu_attach_device(domain, dev);
-
- 	return ret;
- }

@dma_attach_callback_with_extras depends on patch && !dma_attach_callback@
identifier callback, dev, data, domain, ret;
@@

  static int callback(struct device *dev, void *data)
  {
  ...
(
- if (!iommu_is_attach_deferred(...))
- 	ret = __iommu_attach_device(domain, dev);
+ ret = iommu_group_do_dma_first_attach(dev, domain);
|
- if (!iommu_is_attach_deferred(...)) {
- 	ret = __iommu_attach_device(domain, dev);
- }
+ ret = iommu_group_do_dma_first_attach(dev, domain);
)
  ...
  }

@dma_attach_wrapper depends on dma_attach_callback@
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

@dma_attach_wrapper_caller depends on dma_attach_wrapper@
identifier dma_attach_wrapper.wrapper;
expression group;
@@

- wrapper(group)
+ __iommu_group_dma_first_attach(group)

// The helper that asks the driver; it moves above iommu_probe_device() when
// it is defined below it, because the first-attach helper calls it.
@probe_position depends on patch@
position probe;
@@

int iommu_probe_device@probe(...)
{
  ...
}

@deferred_helper depends on patch@
typedef bool;
position helper;
@@

static bool iommu_is_attach_deferred@helper(...)
{
  ...
}

@script:python deferred_helper_below_probe@
probe << probe_position.probe;
helper << deferred_helper.helper;
@@

if int(helper[0].line) < int(probe[0].line):
    cocci.include_match(False)

// Does iommu_probe_device() hold the group mutex where it attaches the
// default domain?  Not before upstream 556f99ac8866 (v5.17, also in 5.15.y):
// there the new helper must not assert it.
@probe_attach_locked depends on patch exists@
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

@deferred_helper_two_args depends on patch@
typedef bool;
identifier domain, dev;
@@

static bool iommu_is_attach_deferred(struct iommu_domain *domain, struct device *dev)
{
  ...
}

@add_first_attach_helper depends on patch && !has_first_attach_helper && (probe_attaches_default_domain || group_add_attaches_domain || dma_attach_callback || dma_attach_callback_with_extras)@
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

// Before v5.18 the helper also takes the domain; keep the tree's signature.
@first_attach_helper_two_args depends on add_first_attach_helper && deferred_helper_two_args@
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

@first_attach_helper_unlocked_caller depends on add_first_attach_helper && probe_attaches_default_domain && !probe_attach_locked@
identifier dev, data;
@@

static int iommu_group_do_dma_first_attach(struct device *dev, void *data)
{
  ...
- lockdep_assert_held(&dev->iommu_group->mutex);
  ...
}

@script:python depends on first_attach_helper_unlocked_caller@
@@

print("deferred-attach-note: iommu_probe_device() attaches the default domain without group->mutex (the tree predates upstream 556f99ac8866 \"iommu: Extend mutex lock scope in iommu_probe_device()\"), so iommu_group_do_dma_first_attach() is added without lockdep_assert_held(); its other callers hold the mutex")

@move_deferred_helper depends on add_first_attach_helper && deferred_helper_below_probe@
typedef bool;
parameter list params;
statement list body;
@@

- static bool iommu_is_attach_deferred(params)
- {
-   body
- }

@readd_deferred_helper depends on move_deferred_helper@
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

// __iommu_attach_device(): a real attach ends the deferral.
@attach_clears_flag depends on patch@
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
@attach_clears_flag_before_trace depends on patch && !attach_clears_flag@
identifier domain, dev;
@@

static int __iommu_attach_device(struct iommu_domain *domain, struct device *dev)
{
  ... when != dev->iommu->attach_deferred = 0;
+ dev->iommu->attach_deferred = 0;
  trace_attach_device_to_domain(dev);
  return 0;
}

// iommu_deferred_attach(): the DMA API reads the flag, not the op.
@deferred_attach_reads_flag depends on patch@
identifier dev, domain;
expression ops;
@@

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
  <+...
(
- iommu_is_attach_deferred(...)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred && ops->is_attach_deferred(...)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred != NULL && ops->is_attach_deferred(...)
+ dev->iommu && dev->iommu->attach_deferred
)
  ...+>
}

// v5.12 to v5.17 fetched the ops into a local just for that question.
@deferred_attach_unused_ops depends on deferred_attach_reads_flag@
identifier dev, domain, ops;
expression E;
@@

int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
- const struct iommu_ops *ops = E;
  ... when != ops
}

// __iommu_detach_device(): detach is no longer blocked.
@detach_not_blocked depends on patch@
identifier domain, dev;
@@

static void __iommu_detach_device(struct iommu_domain *domain, struct device *dev)
{
  ...
(
- if (iommu_is_attach_deferred(...))
- 	return;
|
- if (iommu_is_attach_deferred(...)) {
- 	return;
- }
)
  ...
}
