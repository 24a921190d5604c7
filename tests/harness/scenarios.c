// SPDX-License-Identifier: GPL-2.0-only
/*
 * Behavioural harness for the deferred-attach conversion: a mock IOMMU
 * driver and the scenarios of upstream dd8a25c557e1, run against the IOMMU
 * core of one golden case, converted or not.
 *
 * The case's drivers/iommu/iommu.c (and dma-iommu.c where the tree has the
 * v5.7-v5.10 shape) is compiled into this file with #include, because a
 * group can only be made by code that sees struct iommu_group, which is
 * private to iommu.c (the reduced trees have no iommu_group_alloc()).
 * Apart from filling in a new group and freeing it, the scenarios use only
 * the core's public functions and the driver ops.
 *
 * Build (run_harness.py does all of this):
 *   gcc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
 *       -fsanitize=address,undefined -fno-sanitize-recover=all \
 *       -I tests/harness/mock -I <tree>/include \
 *       -DHARNESS_IOMMU_C='"<tree>/drivers/iommu/iommu.c"' \
 *       [-DHARNESS_DMA_IOMMU_C='"<tree>/drivers/iommu/dma-iommu.c"'] \
 *       [-DHARNESS_HAS_ATTACH_DEFERRED] [-DHARNESS_OP_TAKES_DOMAIN] \
 *       [-DHARNESS_DOMAIN_HAS_PGSIZE_BITMAP] [-DHARNESS_INIT_DEVICE] \
 *       [-DHARNESS_NO_DETACH_TRACE] \
 *       tests/harness/scenarios.c tests/harness/mock/mock.c
 *   HARNESS_HAS_ATTACH_DEFERRED  struct dev_iommu has the attach_deferred
 *                                member (converted or half-converted tree);
 *                                without it the flag is not checked
 *   HARNESS_OP_TAKES_DOMAIN      is_attach_deferred(domain, dev), v5.7-v5.17
 *   HARNESS_DMA_IOMMU_C          the deferred attach is made by the DMA API
 *                                (iommu_dma_map_page()), not by a call of
 *                                iommu_deferred_attach()
 *   HARNESS_DOMAIN_HAS_PGSIZE_BITMAP  struct iommu_domain has pgsize_bitmap
 *                                (Asahi: __iommu_attach_device() checks it
 *                                against PAGE_SIZE); the rigs' domains get
 *                                HARNESS_PGSIZE_BITMAP
 *   HARNESS_INIT_DEVICE          the core has a static iommu_init_device()
 *                                (v6.5+ shape: it sets the flag from the op);
 *                                every probe path calls it first, as the
 *                                kernel's __iommu_probe_device() does
 *   HARNESS_NO_DETACH_TRACE      the core's detach has no
 *                                trace_detach_device_from_domain(): driver
 *                                detaches are not matched with trace events
 *
 * Run: ./scenarios --label <case>/<build> [--expect KEY=VALUE|any ...]
 *      ./scenarios --list        (every KEY, what it counts, its default)
 * The defaults are the converted (upstream v6.3) outcomes; the runner
 * passes --expect for what an unconverted or half-converted input implies.
 * One line per scenario, "PASS <label>/<scenario>" or
 * "FAIL <label>/<scenario>: <reasons>"; exit status 1 if any failed.
 */

#include HARNESS_IOMMU_C
#ifdef HARNESS_DMA_IOMMU_C
#include HARNESS_DMA_IOMMU_C
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness_mock.h"

/* --- expectations ---------------------------------------------------------- */

struct expectation {
	const char *key;
	long want;
	bool any;		/* not checked */
	const char *what;
};

/* Defaults: what the converted core must do. */
static struct expectation expectations[] = {
	{ "1a.attach", 0, false, "driver attach_dev calls, deferring driver, probed by iommu_probe_device()" },
	{ "1a.flag", 1, false, "attach_deferred after that" },
	{ "1b.attach", 0, false, "driver attach_dev calls, deferring driver, probed by bus_iommu_probe()" },
	{ "1b.flag", 1, false, "attach_deferred after that" },
	{ "1c.attach", 0, false, "driver attach_dev calls, deferring driver, iommu_group_add_device() to a group with a domain" },
	{ "1c.flag", 1, false, "attach_deferred after that" },
	{ "2.attach1", 1, false, "driver attach_dev calls after probe + first deferred attach" },
	{ "2.flag1", 0, false, "attach_deferred after that" },
	{ "2.attach2", 1, false, "driver attach_dev calls after a second deferred attach" },
	{ "2.flag2", 0, false, "attach_deferred after that" },
	{ "3.attach", 1, false, "driver attach_dev calls after probe + deferred attach" },
	{ "3.detach", 1, false, "driver detach_dev calls after iommu_detach_device(), the op still saying deferred" },
	{ "3b.attach", 1, false, "driver attach_dev calls made by iommu_attach_device(unmanaged domain) after a deferred probe" },
	{ "3b.flag", 0, false, "attach_deferred after that" },
	{ "3b.detach", 1, false, "driver detach_dev calls made by iommu_detach_device(unmanaged domain), the op still saying deferred" },
	{ "4a.attach", 1, false, "driver attach_dev calls, driver never defers, iommu_probe_device()" },
	{ "4b.attach", 1, false, "driver attach_dev calls, driver never defers, bus_iommu_probe()" },
	{ "4c.attach", 1, false, "driver attach_dev calls, driver never defers, iommu_group_add_device() to a group with a domain" },
	{ "4d.attach", 1, false, "driver attach_dev calls, driver without is_attach_deferred op, bus_iommu_probe()" },
	{ "4.flag", 0, false, "attach_deferred after each of 4a-4d" },
	{ "4.deferred_attach_adds", 0, false, "driver attach_dev calls a deferred attach adds after each of 4a-4d" },
};

static struct expectation *expectation(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(expectations) / sizeof(expectations[0]); i++)
		if (!strcmp(expectations[i].key, key))
			return &expectations[i];
	return NULL;
}

/* --- reporting --------------------------------------------------------------- */

static const char *label = "harness";
static int failed_scenarios;

struct scenario {
	const char *name;
	char why[4096];
	size_t len;
	int attach_before;	/* totals at the start, for the trace check */
	int detach_before;
};

/* Every driver op call of every rig, to compare with the trace points. */
static int total_attach, total_detach;

static void complain(struct scenario *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void complain(struct scenario *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->len >= sizeof(s->why) - 1)
		return;
	if (s->len) {
		n = snprintf(s->why + s->len, sizeof(s->why) - s->len, "; ");
		s->len += n > 0 ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(s->why + s->len, sizeof(s->why) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len += (size_t)n;
	if (s->len > sizeof(s->why) - 1)
		s->len = sizeof(s->why) - 1;
}

static void start(struct scenario *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	mock_reset_violations();
	mock_kdump_kernel = true;
	mock_trace_attach = 0;
	mock_trace_detach = 0;
	total_attach = 0;
	total_detach = 0;
}

static void check(struct scenario *s, const char *key, long got)
{
	const struct expectation *e = expectation(key);

	if (!e) {
		complain(s, "harness bug: no expectation %s", key);
		return;
	}
	if (!e->any && got != e->want)
		complain(s, "%s: want %ld, got %ld (%s)", key, e->want, got,
			 e->what);
}

static void check_ret(struct scenario *s, const char *call, int ret)
{
	if (ret)
		complain(s, "%s returned %d", call, ret);
}

static void finish(struct scenario *s)
{
	if (mock_trace_attach != total_attach)
		complain(s, "trace_attach_device_to_domain() fired %d times for "
			 "%d successful driver attaches", mock_trace_attach,
			 total_attach);
#ifdef HARNESS_NO_DETACH_TRACE
	if (mock_trace_detach)
#else
	if (mock_trace_detach != total_detach)
#endif
		complain(s, "trace_detach_device_from_domain() fired %d times "
			 "for %d driver detaches", mock_trace_detach,
			 total_detach);
	if (mock_rule_violations)
		complain(s, "%d locking rule violation(s), the first: %s",
			 mock_rule_violations, mock_first_violation);
	if (s->len) {
		printf("FAIL %s/%s: %s\n", label, s->name, s->why);
		failed_scenarios++;
	} else {
		printf("PASS %s/%s\n", label, s->name);
	}
	fflush(stdout);
}

/* --- the mock IOMMU driver ------------------------------------------------------ */

struct mock_driver {
	bool defer;		/* what is_attach_deferred answers */
	int attach;		/* attach_dev calls */
	int detach;		/* detach_dev calls */
	int asked;		/* is_attach_deferred calls */
};

/* One device in its own group, with its driver and its domains. */
struct rig {
	struct device dev;
	struct dev_iommu param;
	struct iommu_fwspec fwspec;
	struct iommu_domain domain;	/* the group's default (DMA) domain */
	struct iommu_domain unmanaged;	/* a device driver's own domain */
	struct iommu_group *group;
	struct mock_driver drv;
};

static struct rig *rig_of(struct device *dev)
{
	return container_of(dev, struct rig, dev);
}

static int mock_attach_dev(struct iommu_domain *domain, struct device *dev)
{
	(void)domain;
	rig_of(dev)->drv.attach++;
	total_attach++;
	return 0;
}

static void mock_detach_dev(struct iommu_domain *domain, struct device *dev)
{
	(void)domain;
	rig_of(dev)->drv.detach++;
	total_detach++;
}

#ifdef HARNESS_OP_TAKES_DOMAIN
static bool mock_is_attach_deferred(struct iommu_domain *domain,
				    struct device *dev)
{
	(void)domain;
#else
static bool mock_is_attach_deferred(struct device *dev)
{
#endif
	struct rig *r = rig_of(dev);

	r->drv.asked++;
	return r->drv.defer;
}

static const struct iommu_ops mock_ops = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
	.is_attach_deferred = mock_is_attach_deferred,
};

static const struct iommu_ops mock_ops_without_op = {
	.attach_dev = mock_attach_dev,
	.detach_dev = mock_detach_dev,
};

enum driver_kind { DEFERS, NEVER_DEFERS, NO_DEFER_OP };

#ifdef HARNESS_DOMAIN_HAS_PGSIZE_BITMAP
/*
 * PAGE_SIZE and every smaller power of two.  vendor-asahi-v5.18's
 * iommu_check_page_size() wants a page size below PAGE_SIZE (the mask
 * PAGE_SIZE - 1); a test that wants one at or below PAGE_SIZE passes too.
 * The check lets every attach through, so the scenarios see only the
 * deferred-attach logic.
 */
#define HARNESS_PGSIZE_BITMAP	(PAGE_SIZE | (PAGE_SIZE - 1))
#endif

/* A device in a new group whose default domain is the rig's domain. */
static struct rig *rig_new(const char *name, enum driver_kind kind,
			   bool group_has_domain)
{
	struct rig *r = calloc(1, sizeof(*r));
	const struct iommu_ops *ops;

	if (!r || !(r->group = calloc(1, sizeof(*r->group)))) {
		perror("calloc");
		exit(2);
	}
	ops = kind == NO_DEFER_OP ? &mock_ops_without_op : &mock_ops;
	r->drv.defer = kind == DEFERS;
	r->dev.init_name = name;
	r->dev.iommu = &r->param;
	mutex_init(&r->param.lock);
	r->param.fwspec = &r->fwspec;
	r->fwspec.ops = ops;
	r->domain.ops = ops;
	r->unmanaged.ops = ops;
#ifdef HARNESS_DOMAIN_HAS_PGSIZE_BITMAP
	r->domain.pgsize_bitmap = HARNESS_PGSIZE_BITMAP;
	r->unmanaged.pgsize_bitmap = HARNESS_PGSIZE_BITMAP;
#endif
	mutex_init(&r->group->mutex);
	INIT_LIST_HEAD(&r->group->devices);
	r->group->default_domain = &r->domain;
	if (group_has_domain)
		r->group->domain = &r->domain;
	return r;
}

static void rig_free(struct scenario *s, struct rig *r)
{
	struct group_device *gd, *next;

	if (r->group->mutex.held)
		complain(s, "group mutex of %s left held by %s()",
			 dev_name(&r->dev), r->group->mutex.owner);
	list_for_each_entry_safe(gd, next, &r->group->devices, list) {
		list_del(&gd->list);
		kfree(gd);
	}
	free(r->group);
	free(r);
}

#ifdef HARNESS_HAS_ATTACH_DEFERRED
static void check_flag(struct scenario *s, const char *key, struct rig *r)
{
	check(s, key, r->dev.iommu->attach_deferred);
}
#else
/* This build's struct dev_iommu has no flag: nothing to check. */
static void check_flag(struct scenario *s, const char *key, struct rig *r)
{
	(void)s;
	(void)key;
	(void)r;
}
#endif

/* --- what the kernel does to a device ------------------------------------------ */

enum probe_path { PROBE_DEVICE, BUS_PROBE, GROUP_ADD };

/*
 * The device joins its group and gets its default domain, the way one of
 * the core's paths does it.  GROUP_ADD needs a rig made with
 * group_has_domain; the others a rig without, so that joining the group
 * attaches nothing by itself.  A v6.5+ core (HARNESS_INIT_DEVICE) first
 * initialises the device, which asks the driver whether to defer.
 */
static void probe(struct scenario *s, struct rig *r, enum probe_path path)
{
#ifdef HARNESS_INIT_DEVICE
	check_ret(s, "iommu_init_device()", iommu_init_device(&r->dev));
#endif
	check_ret(s, "iommu_group_add_device()",
		  iommu_group_add_device(r->group, &r->dev));
	if (path == PROBE_DEVICE)
		check_ret(s, "iommu_probe_device()", iommu_probe_device(&r->dev));
	else if (path == BUS_PROBE)
		check_ret(s, "bus_iommu_probe()", bus_iommu_probe(r->group));
}

/* The DMA API's deferred attach of the device's default domain. */
static int deferred_attach(struct rig *r)
{
#ifdef HARNESS_DMA_IOMMU_C
	return iommu_dma_map_page(&r->dev, 0x1000, 0x1000) == DMA_MAPPING_ERROR ?
	       -EIO : 0;
#else
	return iommu_deferred_attach(&r->dev, &r->domain);
#endif
}

#ifdef HARNESS_DMA_IOMMU_C
#define DEFERRED_ATTACH "iommu_dma_map_page()"
#else
#define DEFERRED_ATTACH "iommu_deferred_attach()"
#endif

/* --- the scenarios ------------------------------------------------------------ */

/* The mocks themselves: a lockdep check that never fires proves nothing. */
static void scenario_selfcheck(void)
{
	struct scenario s;
	struct mutex m;
	int fired, violations;

	start(&s, "0-selfcheck-lockdep-mock");
	mutex_init(&m);
	lockdep_assert_held(&m);
	fired = mock_lockdep_fired;
	mutex_lock(&m);
	lockdep_assert_held(&m);
	if (mock_lockdep_fired != fired)
		complain(&s, "lockdep_assert_held() fired on a held mutex");
	mutex_unlock(&m);
	mutex_unlock(&m);
	violations = mock_rule_violations;
	mock_reset_violations();
	if (fired != 1)
		complain(&s, "lockdep_assert_held() on a free mutex fired %d "
			 "times, want 1", fired);
	if (violations != 2)
		complain(&s, "%d violations recorded for an unheld assertion "
			 "and a double unlock, want 2", violations);
	finish(&s);
}

/* 1: the driver says "defer" at the first attach. */
static void scenario_defer(const char *name, const char *key_attach,
			   const char *key_flag, enum probe_path path)
{
	struct scenario s;
	struct rig *r;

	start(&s, name);
	r = rig_new("defer0", DEFERS, path == GROUP_ADD);
	probe(&s, r, path);
	check(&s, key_attach, r->drv.attach);
	check_flag(&s, key_flag, r);
	if (r->drv.detach)
		complain(&s, "probe detached %d times", r->drv.detach);
	rig_free(&s, r);
	finish(&s);
}

/* 2: the deferred attach attaches once and clears the flag. */
static void scenario_deferred_attach(void)
{
	struct scenario s;
	struct rig *r;

	start(&s, "2-deferred-attach-once");
	r = rig_new("defer1", DEFERS, false);
	probe(&s, r, BUS_PROBE);
	check_ret(&s, "first " DEFERRED_ATTACH, deferred_attach(r));
	check(&s, "2.attach1", r->drv.attach);
	check_flag(&s, "2.flag1", r);
	check_ret(&s, "second " DEFERRED_ATTACH, deferred_attach(r));
	check(&s, "2.attach2", r->drv.attach);
	check_flag(&s, "2.flag2", r);
	rig_free(&s, r);
	finish(&s);
}

/* 3: an explicit detach after the deferred attach reaches the driver. */
static void scenario_detach(void)
{
	struct scenario s;
	struct rig *r;

	start(&s, "3-detach-after-deferred-attach");
	r = rig_new("defer2", DEFERS, false);
	probe(&s, r, BUS_PROBE);
	check_ret(&s, DEFERRED_ATTACH, deferred_attach(r));
	check(&s, "3.attach", r->drv.attach);
	iommu_detach_device(&r->domain, &r->dev);
	check(&s, "3.detach", r->drv.detach);
	rig_free(&s, r);
	finish(&s);
}

/*
 * 3b: the case upstream's commit message names: a device driver attaches
 * its own (unmanaged) domain, which is unconditional, then detaches it
 * before freeing it; the detach must reach the IOMMU driver.
 */
static void scenario_explicit_attach_detach(void)
{
	struct scenario s;
	struct rig *r;
	int before;

	start(&s, "3b-detach-after-explicit-attach");
	r = rig_new("defer3", DEFERS, false);
	probe(&s, r, BUS_PROBE);
	before = r->drv.attach;
	check_ret(&s, "iommu_attach_device()",
		  iommu_attach_device(&r->unmanaged, &r->dev));
	check(&s, "3b.attach", r->drv.attach - before);
	check_flag(&s, "3b.flag", r);
	iommu_detach_device(&r->unmanaged, &r->dev);
	check(&s, "3b.detach", r->drv.detach);
	rig_free(&s, r);
	finish(&s);
}

/* 4: a driver that never defers is attached at once; no flag. */
static void scenario_no_defer(void)
{
	static const struct {
		const char *key;
		enum driver_kind kind;
		enum probe_path path;
	} paths[] = {
		{ "4a.attach", NEVER_DEFERS, PROBE_DEVICE },
		{ "4b.attach", NEVER_DEFERS, BUS_PROBE },
		{ "4c.attach", NEVER_DEFERS, GROUP_ADD },
		{ "4d.attach", NO_DEFER_OP, BUS_PROBE },
	};
	struct scenario s;
	struct rig *r;
	size_t i;
	int before;

	start(&s, "4-no-defer-attaches-at-probe");
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = rig_new(paths[i].key, paths[i].kind,
			    paths[i].path == GROUP_ADD);
		probe(&s, r, paths[i].path);
		check(&s, paths[i].key, r->drv.attach);
		check_flag(&s, "4.flag", r);
		before = r->drv.attach;
		check_ret(&s, DEFERRED_ATTACH, deferred_attach(r));
		check(&s, "4.deferred_attach_adds", r->drv.attach - before);
		rig_free(&s, r);
	}
	finish(&s);
}

/* --- main ------------------------------------------------------------------------ */

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--label CASE/BUILD] [--expect KEY=VALUE|any]... | --list\n",
		argv0);
	exit(2);
}

static void set_expectation(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct expectation *e;
	char key[64], *end;

	if (!eq || (size_t)(eq - arg) >= sizeof(key)) {
		fprintf(stderr, "scenarios: --expect %s: want KEY=VALUE\n", arg);
		exit(2);
	}
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	e = expectation(key);
	if (!e) {
		fprintf(stderr, "scenarios: --expect %s: no such key (--list)\n",
			arg);
		exit(2);
	}
	if (!strcmp(eq + 1, "any")) {
		e->any = true;
		return;
	}
	e->any = false;
	e->want = strtol(eq + 1, &end, 10);
	if (!eq[1] || *end) {
		fprintf(stderr, "scenarios: --expect %s: not a number\n", arg);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--label") && a + 1 < argc) {
			label = argv[++a];
		} else if (!strcmp(argv[a], "--expect") && a + 1 < argc) {
			set_expectation(argv[++a]);
		} else if (!strcmp(argv[a], "--list")) {
			for (i = 0; i < sizeof(expectations) / sizeof(expectations[0]); i++)
				printf("%-24s %ld  %s\n", expectations[i].key,
				       expectations[i].want, expectations[i].what);
			return 0;
		} else {
			usage(argv[0]);
		}
	}

	scenario_selfcheck();
	scenario_defer("1a-defer-via-probe-device", "1a.attach", "1a.flag",
		       PROBE_DEVICE);
	scenario_defer("1b-defer-via-bus-probe", "1b.attach", "1b.flag",
		       BUS_PROBE);
	scenario_defer("1c-defer-via-group-add-device", "1c.attach", "1c.flag",
		       GROUP_ADD);
	scenario_deferred_attach();
	scenario_detach();
	scenario_explicit_attach_detach();
	scenario_no_defer();

	return failed_scenarios ? 1 : 0;
}
