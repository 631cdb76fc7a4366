/* The harvest's one flush is what makes a later write visible. On each model kind, with the
 * driver's flush() removed (model_run.c), dirty.flush_batched must FAIL: the write after the
 * harvest hits the translation the model cached while the leaf was dirty, so hardware never
 * marks the cleaned leaf again and the next harvest misses it. With flush() it passes. Done
 * for VT-d second stage (SSADE) and first stage, AMD-Vi (DTE HAD) and SMMUv3 stage 1 (CD.HD)
 * and stage 2 (STE.S2HD). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#undef skip

#include "tests/model/amd_model.h"
#include "tests/model/platform_model.h"
#include "tests/model/smmu_model.h"
#include "tests/model/vtd_model.h"
#include "tests/unit/model_run.h"

extern int vtd_stage_choice, smmuv3_stage_choice;

#define GLOB "dirty.flush_batched"
#define EVIDENCE "post-harvest write NOT reported"

static unsigned long vtd_hits(struct host_system *sys)
{
  return vtd_model_stats(model_platform_vtd(sys->mp))->iotlb_hits;
}

static unsigned long amd_hits(struct host_system *sys)
{
  (void)sys;
  return amd_model_stats(amd_model_at(0xfed80000ull))->iotlb_hits;
}

static unsigned long smmu_hits(struct host_system *sys)
{
  (void)sys;
  return smmu_model_stats(smmu_model_instance())->tlb_hits;
}

static void vtd_second_stage_harvest_needs_its_flush(void **state)
{
  (void)state;
  model_expect_stale("vtd-scalable", GLOB, EVIDENCE, vtd_hits);
}

static void vtd_first_stage_harvest_needs_its_flush(void **state)
{
  (void)state;
  vtd_stage_choice = 1; /* --vtd-stage=first */
  model_expect_stale("vtd-first-stage", GLOB, EVIDENCE, vtd_hits);
  vtd_stage_choice = 0;
}

static void amd_harvest_needs_its_flush(void **state)
{
  (void)state;
  model_expect_stale("amd-hd", GLOB, EVIDENCE, amd_hits);
}

static void smmu_stage1_harvest_needs_its_flush(void **state)
{
  (void)state;
  model_expect_stale("smmuv3-httu", GLOB, EVIDENCE, smmu_hits);
}

static void smmu_stage2_harvest_needs_its_flush(void **state)
{
  (void)state;
  smmuv3_stage_choice = 2; /* --smmu-stage=2 */
  model_expect_stale("smmuv3-httu,s2p=1", GLOB, EVIDENCE, smmu_hits);
  smmuv3_stage_choice = 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(vtd_second_stage_harvest_needs_its_flush),
    cmocka_unit_test(vtd_first_stage_harvest_needs_its_flush),
    cmocka_unit_test(amd_harvest_needs_its_flush),
    cmocka_unit_test(smmu_stage1_harvest_needs_its_flush),
    cmocka_unit_test(smmu_stage2_harvest_needs_its_flush),
  };
  return cmocka_run_group_tests_name("model_dirty", tests, NULL, NULL);
}
