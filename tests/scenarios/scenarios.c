/* Runs the scenario families over the platform's IOMMU units. */
#include "tests/scenarios/scenario.h"

#include <stdio.h>

#include "boot/report.h"
#include "iommu/iommu.h"

struct family {
  const struct scenario *table;
  const unsigned *count;
};

static const struct family families[] = {
  { discover_scenarios, &discover_scenario_count },
  { ioasid_scenarios, &ioasid_scenario_count },
  { dma_scenarios, &dma_scenario_count },
  { aux_scenarios, &aux_scenario_count },
  { dirty_scenarios, &dirty_scenario_count },
  { group_scenarios, &group_scenario_count },
  { machinery_scenarios, &machinery_scenario_count }, /* state.restore last */
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

bool glob_match(const char *p, const char *t)
{
  /* '*' any run, '?' one character; iterative with one backtrack point. */
  const char *star = NULL, *resume = NULL;
  while (*t) {
    if (*p == '*') {
      star = p++;
      resume = t;
    } else if (*p == '?' || *p == *t) {
      p++;
      t++;
    } else if (star) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (*p == '*')
    p++;
  return *p == '\0';
}

static bool selected(const char *id, const char *const *globs, unsigned n)
{
  if (n == 0)
    return true;
  for (unsigned i = 0; i < n; i++)
    if (glob_match(globs[i], id))
      return true;
  return false;
}

static void run_one(const struct scenario *s, struct scenario_ctx *ctx)
{
  unsigned before = report_counts().passed + report_counts().failed + report_counts().skipped;
  s->run(ctx);
  struct report_counts c = report_counts();
  if (c.passed + c.failed + c.skipped == before)
    report(s->id, ctx->tag, false, "scenario reported nothing (bug in the scenario)");
}

void scenarios_run(struct platform *plat, const char *const *globs, unsigned n_globs)
{
  for (unsigned f = 0; f < N_FAMILIES; f++) {
    for (unsigned i = 0; i < *families[f].count; i++) {
      const struct scenario *s = &families[f].table[i];
      if (!selected(s->id, globs, n_globs))
        continue;
      if (s->scope == SCENARIO_ONCE) {
        struct scenario_ctx ctx = { .plat = plat, .unit = NULL, .tag = "core" };
        run_one(s, &ctx);
        continue;
      }
      if (plat->n_iommus == 0 && plat->n_bad_tables == 0) {
        struct scenario_ctx ctx = { .plat = plat, .unit = NULL, .tag = "none" };
        run_one(s, &ctx);
        continue;
      }
      for (unsigned u = 0; u < plat->n_iommus; u++) {
        struct scenario_ctx ctx = { .plat = plat, .unit = &plat->iommus[u],
                                    .tag = iommu_kind_name(plat->iommus[u].kind) };
        run_one(s, &ctx);
      }
      /* A present but malformed table is not "no IOMMU": discover.acpi fails naming it. */
      for (unsigned b = 0; b < plat->n_bad_tables; b++) {
        const struct platform_bad_table *bt = &plat->bad_tables[b];
        struct scenario_ctx ctx = { .plat = plat, .unit = NULL, .tag = iommu_kind_name(bt->kind),
                                    .bad_table = bt };
        if (s->scope == SCENARIO_PER_IOMMU_ACPI)
          run_one(s, &ctx);
        else
          skip(s->id, ctx.tag, "ACPI %s at 0x%llx is malformed (%s, see discover.acpi)", bt->sig,
               (unsigned long long)bt->phys, acpi_strerror(bt->err));
      }
    }
  }
}

void scenarios_list(void)
{
  for (unsigned f = 0; f < N_FAMILIES; f++)
    for (unsigned i = 0; i < *families[f].count; i++)
      printf("%-24s %s\n", families[f].table[i].id,
             families[f].table[i].scope == SCENARIO_ONCE ? "once" : "per IOMMU");
}
