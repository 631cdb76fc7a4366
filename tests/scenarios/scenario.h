/* Scenario registry: one function per scenario ID (SCENARIOS.md), the IOMMU kinds it applies
 * to, and the place it reports. A scenario calls report() or skip() once per IOMMU unit it
 * checks; the runner flags a scenario that reports nothing. Scenarios never touch registers:
 * they go through iommu/, ioasid/ and the initiator interface. */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stdbool.h>
#include "boot/platform.h"

/* Which units a scenario runs against. */
enum scenario_scope {
  SCENARIO_PER_IOMMU,   /* once per IOMMU unit ACPI described (tag = unit kind) */
  SCENARIO_ONCE,        /* once per run, IOMMU-independent (tag "core") */
  SCENARIO_PER_IOMMU_ACPI, /* per unit, and per IOMMU table rejected as malformed (the
                            * check that reads the tables); other per-unit scenarios skip
                            * for such a table, naming it */
};

struct scenario_ctx {
  struct platform *plat;
  struct iommu_unit *unit; /* SCENARIO_PER_IOMMU: the unit under test; else NULL */
  const char *tag;         /* what report()/skip() must pass as tag */
  const struct platform_bad_table *bad_table; /* the malformed table, unit NULL */
};

struct scenario {
  const char *id;
  enum scenario_scope scope;
  void (*run)(struct scenario_ctx *ctx);
};

/* Each family file defines its table and count; scenarios.c concatenates them. */
#define SCENARIO_FAMILY(name) \
  extern const struct scenario name##_scenarios[]; extern const unsigned name##_scenario_count

SCENARIO_FAMILY(discover);
SCENARIO_FAMILY(ioasid);
SCENARIO_FAMILY(dma);
SCENARIO_FAMILY(aux);
SCENARIO_FAMILY(dirty);
SCENARIO_FAMILY(machinery);
SCENARIO_FAMILY(group);

/* Runs every scenario whose ID matches one of the selection globs (all when none). */
void scenarios_run(struct platform *plat, const char *const *globs, unsigned n_globs);
/* Prints every ID, scope and description-free line for --list. */
void scenarios_list(void);
bool glob_match(const char *pattern, const char *text);

#endif
