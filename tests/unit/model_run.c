#include "tests/unit/model_run.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip /* cmocka's; the reporter's skip(id, tag, reason) is declared below */

#include "boot/report.h"
#include "iommu/iommu.h"
#include "tests/scenarios/scenario.h"

static int no_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  (void)dom;
  (void)iova;
  (void)size;
  return IOMMU_OK; /* the deliberately missing invalidation */
}

static void drop_flush(struct iommu_ops *ops) { ops->flush = no_flush; }

struct run {
  struct report_counts c;
  char *out;
  size_t out_len;
  unsigned long hits;
};

static struct run run_scenario(const char *spec, const char *glob, model_ops_patch_fn patch,
                               model_tlb_hits_fn hits)
{
  struct run r = { { 0, 0, 0 }, NULL, 0, 0 };
  struct host_system sys;
  char err[200];
  assert_int_equal(host_system_create(spec, &sys, err, sizeof(err)), 0);
  FILE *saved = stdout;
  stdout = open_memstream(&r.out, &r.out_len);
  report_begin();
  assert_int_equal(host_system_discover(&sys), 0);
  assert_int_equal(sys.plat->n_iommus, 1);
  struct iommu_unit *u = &sys.plat->iommus[0];
  static struct iommu_ops broken;
  if (patch) {
    broken = *u->ops;
    patch(&broken);
    u->ops = &broken;
  }
  const char *globs[1] = { glob };
  scenarios_run(sys.plat, globs, 1);
  iommu_deactivate_all(sys.plat);
  r.c = report_counts();
  fclose(stdout);
  stdout = saved;
  r.hits = hits ? hits(&sys) : 0;
  host_system_destroy(&sys);
  return r;
}

void model_expect_stale(const char *spec, const char *glob, const char *evidence,
                        model_tlb_hits_fn hits)
{
  struct run bad = run_scenario(spec, glob, drop_flush, hits);
  if (bad.c.failed != 1)
    fprintf(stderr, "%s", bad.out);
  assert_int_equal(bad.c.failed, 1);
  assert_int_equal(bad.c.passed, 0);
  assert_non_null(strstr(bad.out, evidence));
  assert_true(bad.hits > 0); /* the stale translation came from the model's TLB */
  free(bad.out);
  struct run good = run_scenario(spec, glob, NULL, hits);
  if (good.c.passed != 1)
    fprintf(stderr, "%s", good.out);
  assert_int_equal(good.c.failed, 0);
  assert_int_equal(good.c.passed, 1);
  free(good.out);
}

char *model_run_patched(const char *spec, const char *glob, model_ops_patch_fn patch,
                        struct report_counts *counts)
{
  struct run r = run_scenario(spec, glob, patch, NULL);
  *counts = r.c;
  return r.out;
}
