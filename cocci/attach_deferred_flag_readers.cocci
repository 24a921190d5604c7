// SPDX-License-Identifier: GPL-2.0-only
///
/// After upstream commit dd8a25c557e1 ("iommu: Remove deferred attach check
/// from __iommu_detach_device()") the answer to "is the default-domain
/// attach of this device still pending?" is dev->iommu->attach_deferred:
/// decided once at the first attach, cleared by the real attach.  The
/// driver's is_attach_deferred op keeps answering "deferred" long after the
/// DMA API attached the device, so code that asks the op, or a copy of the
/// core's helper, before attaching on the DMA path or before detaching
/// (v5.7-v5.11 dma-iommu.c, vendor DMA glue, driver backports) attaches
/// again or skips a detach.  This makes such tests read the flag, with the
/// NULL check on dev->iommu that iommu_deferred_attach() has, and drops the
/// ops local or helper copy the test leaves unused.
///
/// Left alone: the op's implementations in drivers (they are the source of
/// the first decision), a driver asking its own private state, the helper
/// and the functions that set the flag.  Needs the attach_deferred member
/// (dev_iommu_attach_deferred.cocci).
///
// Confidence: Moderate
// Copyright: (C) 2026 The deferred-attach toolkit authors
// Options: --no-includes --include-headers --max-width 100
// Keywords: is_attach_deferred
//

virtual patch
virtual context
virtual org
virtual report

// The key: every rule and script below depends on this one, so that
// Coccinelle's own token filter keeps only the files that ask the driver's
// op (a handful of a whole tree) before it parses anything: whatever reads
// the flag instead of asking has to ask the op first.  The op is the key
// because no rule here adds it (a name a rule adds is no key), and the
// first rule that rewrites code names nothing else, which Coccinelle 1.1.1
// needs to keep its filter once many rules depend on the key.  No script
// drops a match here (rules exclude by position instead): a dropped match
// would also drop the key for every later rule.  Scripts serve report and
// org modes only: a Python interpreter would double a patch run's time.
@asks_op@
expression ops;
@@

ops->is_attach_deferred

// Functions that decide deferral and store it in the flag ask the op on
// purpose (the first-attach helper, v6.5+ iommu_init_device()).
@sets_flag depends on asks_op@
identifier decider;
expression D, E;
position decides;
@@

decider@decides(...)
{
  <+...
  D->attach_deferred = E
  ...+>
}

// The core's own iommu.c (it defines iommu_probe_device()) is converted by
// iommu_dma_first_attach.cocci, whose helper is the source of the decision.
@core_file depends on asks_op@
@@

iommu_probe_device(...)
{
  ...
}

// A copy of the core's helper: a static bool function that returns the
// op's answer and nothing else.  The op's implementations in drivers read
// private state instead, and functions that weigh other things are not
// copies.
@helper_copy depends on asks_op && !core_file@
identifier helper;
expression ops;
expression list args;
typedef bool;
symbol false;
@@

static bool helper(...)
{
  ...
(
  if (ops->is_attach_deferred)
  	return ops->is_attach_deferred(args);
  return false;
|
  return ops->is_attach_deferred && ops->is_attach_deferred(args);
|
  return ops->is_attach_deferred(args);
)
}

// A test in an if that asks the op, with or without a NULL check of the op
// first.  Each kind is found, reported and rewritten before the next kind
// is looked for, so a rewritten test is never found again as another kind.
@asks_op_guarded depends on asks_op && !core_file@
identifier fn, dev;
expression ops, domain;
position p, call, in_fn != sets_flag.decides;
statement S;
@@

fn@in_fn(...)
{
  <+...
  if (<+...
(
  ops->is_attach_deferred@p && ops->is_attach_deferred@call(domain, dev)
|
  ops->is_attach_deferred@p && ops->is_attach_deferred@call(dev)
|
  ops->is_attach_deferred@p != NULL && ops->is_attach_deferred@call(domain, dev)
|
  ops->is_attach_deferred@p != NULL && ops->is_attach_deferred@call(dev)
)
  ...+>) S
  ...+>
}

@guarded_op_test_reads_flag depends on asks_op && patch@
position asks_op_guarded.p;
expression ops, domain;
identifier dev;
@@

(
- ops->is_attach_deferred@p && ops->is_attach_deferred(domain, dev)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred@p && ops->is_attach_deferred(dev)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred@p != NULL && ops->is_attach_deferred(domain, dev)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred@p != NULL && ops->is_attach_deferred(dev)
+ dev->iommu && dev->iommu->attach_deferred
)

@depends on asks_op && context@
position asks_op_guarded.p;
expression ops, E;
@@

* ops->is_attach_deferred@p && E

@script:python depends on asks_op && org@
p << asks_op_guarded.p;
fn << asks_op_guarded.fn;
@@

coccilib.org.print_todo(p[0], "%s() asks is_attach_deferred: read dev->iommu->attach_deferred" % fn)

@script:python depends on asks_op && report@
p << asks_op_guarded.p;
fn << asks_op_guarded.fn;
@@

coccilib.report.print_report(p[0], "%s() asks is_attach_deferred: read dev->iommu->attach_deferred (upstream dd8a25c557e1)" % fn)

// The op asked without a NULL check of it (the call of a guarded test is
// not found again).
@asks_op_bare depends on asks_op && !core_file@
identifier fn, dev;
expression ops, domain;
position p != asks_op_guarded.call, in_fn != sets_flag.decides;
statement S;
@@

fn@in_fn(...)
{
  <+...
  if (<+...
(
  ops->is_attach_deferred@p(domain, dev)
|
  ops->is_attach_deferred@p(dev)
)
  ...+>) S
  ...+>
}

@bare_op_test_reads_flag depends on asks_op && patch@
position asks_op_bare.p;
expression ops, domain;
identifier dev;
@@

(
- !ops->is_attach_deferred@p(domain, dev)
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- !ops->is_attach_deferred@p(dev)
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- ops->is_attach_deferred@p(domain, dev)
+ dev->iommu && dev->iommu->attach_deferred
|
- ops->is_attach_deferred@p(dev)
+ dev->iommu && dev->iommu->attach_deferred
)

@depends on asks_op && context@
position asks_op_bare.p;
expression ops;
expression list args;
@@

* ops->is_attach_deferred@p(args)

@script:python depends on asks_op && org@
p << asks_op_bare.p;
fn << asks_op_bare.fn;
@@

coccilib.org.print_todo(p[0], "%s() asks is_attach_deferred: read dev->iommu->attach_deferred" % fn)

@script:python depends on asks_op && report@
p << asks_op_bare.p;
fn << asks_op_bare.fn;
@@

coccilib.report.print_report(p[0], "%s() asks is_attach_deferred: read dev->iommu->attach_deferred (upstream dd8a25c557e1)" % fn)

// A test in an if that calls a copy of the helper.
@asks_helper_copy depends on asks_op && !core_file@
identifier fn, dev;
identifier helper_copy.helper;
expression domain;
position p, in_fn != sets_flag.decides;
statement S;
@@

fn@in_fn(...)
{
  <+...
  if (<+...
(
  helper@p(domain, dev)
|
  helper@p(dev)
)
  ...+>) S
  ...+>
}

@helper_test_reads_flag depends on asks_op && patch@
position asks_helper_copy.p;
identifier helper_copy.helper;
expression domain;
identifier dev;
@@

(
- !helper@p(domain, dev)
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- !helper@p(dev)
+ !(dev->iommu && dev->iommu->attach_deferred)
|
- helper@p(domain, dev)
+ dev->iommu && dev->iommu->attach_deferred
|
- helper@p(dev)
+ dev->iommu && dev->iommu->attach_deferred
)

@depends on asks_op && context@
position asks_helper_copy.p;
identifier helper_copy.helper;
expression list args;
@@

* helper@p(args)

@script:python depends on asks_op && org@
p << asks_helper_copy.p;
fn << asks_helper_copy.fn;
helper << helper_copy.helper;
@@

coccilib.org.print_todo(p[0], "%s() asks %s(), a copy of iommu_is_attach_deferred(): read dev->iommu->attach_deferred" % (fn, helper))

@script:python depends on asks_op && report@
p << asks_helper_copy.p;
fn << asks_helper_copy.fn;
helper << helper_copy.helper;
@@

coccilib.report.print_report(p[0], "%s() asks %s(), a copy of iommu_is_attach_deferred(): read dev->iommu->attach_deferred (upstream dd8a25c557e1)" % (fn, helper))

// ---------------------------------------------------------------------------
// patch: what the rewritten tests leave unused
// ---------------------------------------------------------------------------

// The ops local that only served the test.
@unused_ops_local depends on asks_op && (guarded_op_test_reads_flag || bare_op_test_reads_flag)@
identifier fn, ops;
expression E;
@@

fn(...)
{
  ...
- const struct iommu_ops *ops = E;
  ... when != ops
}

// The helper copy nothing calls any more.
@helper_copy_still_called depends on asks_op && helper_test_reads_flag@
identifier helper_copy.helper;
@@

helper(...)

@unused_helper_copy depends on asks_op && helper_test_reads_flag && !helper_copy_still_called@
identifier helper_copy.helper;
@@

- static bool helper(...)
- {
-   ...
- }

// A static ops getter that only the removed code called.
@ops_getter depends on asks_op && (unused_ops_local || unused_helper_copy) && !core_file@
identifier getter;
@@

static const struct iommu_ops *getter(...)
{
  ...
}

@ops_getter_still_called depends on asks_op && ops_getter@
identifier ops_getter.getter;
@@

getter(...)

@unused_ops_getter depends on asks_op && patch && ops_getter && !ops_getter_still_called@
identifier ops_getter.getter;
@@

- static const struct iommu_ops *getter(...)
- {
-   ...
- }
