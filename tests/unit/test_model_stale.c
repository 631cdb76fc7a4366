/* The model catches a missing invalidation. A whole model platform boots through the
 * firmware's flow (arch/host/host_boot.c) with the real VT-d driver; one flush is removed by
 * wrapping the driver's ops so flush() does nothing. dma.unmap.stale must then FAIL, because
 * the model's IOTLB still holds the translation the first DMA cached, and with the flush
 * restored the same scenario passes. Done for second-stage (legacy and scalable, IOTLB
 * descriptors) and first-stage (PASID-based IOTLB descriptors) tables, and for dma.remap
 * (the stale translation reaches the old page). Caching mode: a mapping added without the
 * flush CM requires stays invisible. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "arch/host/host_boot.h"
#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/initiator/initiator_impl.h"
#include "iommu/initiator/model_engine_regs.h"
#include "iommu/iommu.h"
#include "iommu/vtd/vtd_internal.h"
#include "tests/model/dma_engine.h"
#include "tests/model/platform_model.h"
#include "tests/model/vtd_model.h"
#include "tests/scenarios/scenario.h"
#include "tests/unit/model_run.h"

extern int vtd_stage_choice;

static unsigned long vtd_hits(struct host_system *sys)
{
  return vtd_model_stats(model_platform_vtd(sys->mp))->iotlb_hits;
}

static void expect_stale(const char *spec, int stage, const char *glob, const char *evidence)
{
  vtd_stage_choice = stage;
  model_expect_stale(spec, glob, evidence, vtd_hits);
  vtd_stage_choice = 0;
}

static void legacy_missing_flush_leaves_stale_translation(void **state)
{
  (void)state;
  expect_stale("vtd-legacy", 0, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
}

static void scalable_missing_flush_leaves_stale_translation(void **state)
{
  (void)state;
  expect_stale("vtd-scalable", 0, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
}

static void first_stage_missing_flush_leaves_stale_translation(void **state)
{
  (void)state;
  expect_stale("vtd-first-stage", 1 /* --vtd-stage=first */, "dma.unmap.stale",
               "NOT blocked (stale IOTLB)");
}

static void register_invalidation_missing_flush(void **state)
{
  (void)state;
  expect_stale("vtd-legacy-regs", 0, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
}

static void remap_without_flush_writes_the_old_page(void **state)
{
  (void)state;
  expect_stale("vtd-legacy", 0, "dma.remap", "A WRITTEN (stale)");
}

/* Caching mode (CAP.CM=1, VT-d 5.10 6.1): the model caches the not-present entry a faulting
 * DMA walked, so a mapping added without the invalidation caching mode requires stays
 * invisible; the driver's map() issues it. With CM=0 nothing not-present is cached. */
static void not_present_entry_cached_under_caching_mode(bool cm)
{
  struct host_system sys;
  char err[200];
  assert_int_equal(host_system_create(cm ? "vtd-legacy-cm" : "vtd-legacy", &sys, err, sizeof(err)), 0);
  FILE *saved = stdout;
  char *out = NULL;
  size_t out_len = 0;
  stdout = open_memstream(&out, &out_len);
  assert_int_equal(host_system_discover(&sys), 0);
  struct iommu_unit *u = &sys.plat->iommus[0];
  assert_int_equal(iommu_activate(sys.plat, u), 0);
  struct iommu_domain *dom;
  struct dma_initiator ini;
  assert_int_equal(u->ops->domain_alloc(u, IOMMU_DOMAIN_PAGING, &dom), 0);
  assert_int_equal(initiator_open(sys.plat, 0, 0, &ini), 0);
  assert_int_equal(u->ops->attach(dom, ini.rid), 0);
  uint64_t phys;
  uint8_t *page = page_alloc(1, UINT64_MAX, &phys);
  memset(dma_engine_buffer(model_platform_engine(sys.mp, 0)), 0x5a, 64);
  const uint64_t iova = 0x300000;
  uint32_t st, done;
  uint64_t at;
  assert_int_equal(ini.dma_write(&ini, IOMMU_NO_PASID, iova, 64), 0);
  assert_int_equal(model_engine_last(&ini, &st, &at, &done), 0);
  assert_int_equal(st, MODEL_ENGINE_ST_BLOCKED);
  /* Map below the core (iommu_map would add the caching-mode flush). */
  assert_int_equal(pt_map_range(&dom->pt, iova, phys, IOMMU_PAGE_4K,
                                IOMMU_PROT_READ | IOMMU_PROT_WRITE), 0);
  assert_int_equal(ini.dma_write(&ini, IOMMU_NO_PASID, iova, 64), 0);
  assert_int_equal(model_engine_last(&ini, &st, &at, &done), 0);
  assert_int_equal(st, cm ? MODEL_ENGINE_ST_BLOCKED : MODEL_ENGINE_ST_DONE);
  assert_int_equal(u->ops->flush(dom, iova, IOMMU_PAGE_4K), 0);
  assert_int_equal(ini.dma_write(&ini, IOMMU_NO_PASID, iova, 64), 0);
  assert_int_equal(model_engine_last(&ini, &st, &at, &done), 0);
  assert_int_equal(st, MODEL_ENGINE_ST_DONE);
  assert_int_equal(page[0], 0x5a);
  u->ops->detach(u, ini.rid);
  u->ops->domain_free(dom);
  ini.release(&ini);
  page_free(page, 1);
  iommu_deactivate_all(sys.plat);
  fclose(stdout);
  stdout = saved;
  free(out);
  host_system_destroy(&sys);
}

static void caching_mode_needs_the_flush_after_map(void **state)
{
  (void)state;
  not_present_entry_cached_under_caching_mode(true);
  not_present_entry_cached_under_caching_mode(false);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(legacy_missing_flush_leaves_stale_translation),
    cmocka_unit_test(scalable_missing_flush_leaves_stale_translation),
    cmocka_unit_test(first_stage_missing_flush_leaves_stale_translation),
    cmocka_unit_test(register_invalidation_missing_flush),
    cmocka_unit_test(remap_without_flush_writes_the_old_page),
    cmocka_unit_test(caching_mode_needs_the_flush_after_map),
  };
  return cmocka_run_group_tests_name("model_stale", tests, NULL, NULL);
}
