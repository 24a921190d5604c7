/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the mutants' own statements need beyond tests/harness/mock/: the
 * kernel names the idioms use (the real tree has them all), and the config
 * option the whole-function #ifdef of a mutant tests, which every build of
 * drivers/iommu/iommu.c has.  Given to the harness builds with -include.
 */
#ifndef MUTATIONS_HARNESS_EXTRA_H
#define MUTATIONS_HARNESS_EXTRA_H

#define CONFIG_IOMMU_API 1
/*
 * The vendor option of the #ifdef kinds: the configuration in which the
 * mutant's check is compiled in, so its behaviour can be compared with
 * upstream's (without it, a deferred attach behind the option never runs,
 * converted or not).
 */
#define CONFIG_VENDOR_DEFERRED_ATTACH 1
#define might_sleep()		do { } while (0)
#define WARN_ON_ONCE(x)		((void)(x))

#endif /* MUTATIONS_HARNESS_EXTRA_H */
