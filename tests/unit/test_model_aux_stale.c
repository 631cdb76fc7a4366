/* The models catch a missing aux-detach invalidation. A whole model platform boots through
 * the firmware's flow with the real driver; the driver's detach_pasid is replaced by one that
 * tears the PASID's entry down but leaves out one invalidation. aux.detach must then FAIL,
 * because the model still translates the PASID from what it cached before the detach, and
 * with the driver's own detach_pasid the same scenario passes:
 *  - VT-d: no PASID-cache invalidation (the IOTLB one is still sent): the cached PASID-table
 *    entry keeps translating (second- and first-stage domains);
 *  - SMMUv3: no CFGI_CD (the TLBI by ASID is still sent): the cached CD keeps translating;
 *  - AMD-Vi: no INVALIDATE_IOMMU_PAGES with GN for the PASID: the cached guest translation. */
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
#include "iommu/amd/amd_internal.h"
#include "iommu/smmuv3/smmu_internal.h"
#include "iommu/vtd/vtd_internal.h"
#include "tests/model/amd_model.h"
#include "tests/model/platform_model.h"
#include "tests/model/smmu_model.h"
#include "tests/model/vtd_model.h"
#include "tests/unit/model_run.h"

#define STALE "NOT blocked (stale translation)"

extern int vtd_stage_choice;

/* ---- VT-d ---- */
static unsigned long vtd_pasid_hits(struct host_system *sys)
{
  return vtd_model_stats(model_platform_vtd(sys->mp))->pasid_hits;
}

static int vtd_detach_without_pasid_cache(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct vtd_domain *d = (struct vtd_domain *)dom;
  int err = vtd_pasid_entry_clear(d, rid, pasid);
  return err ? err : vtd_pasid_iotlb_invalidate(d, pasid);
}

static void vtd_break(struct iommu_ops *ops) { ops->detach_pasid = vtd_detach_without_pasid_cache; }

static void vtd_second_stage_needs_pasid_cache_invalidation(void **state)
{
  (void)state;
  model_expect_stale_broken("vtd-scalable", "aux.detach", STALE, vtd_pasid_hits, vtd_break);
}

static void vtd_first_stage_needs_pasid_cache_invalidation(void **state)
{
  (void)state;
  vtd_stage_choice = 1; /* --vtd-stage=first */
  model_expect_stale_broken("vtd-scalable", "aux.detach", STALE, vtd_pasid_hits, vtd_break);
  vtd_stage_choice = 0;
}

/* ---- SMMUv3 ---- */
static unsigned long smmu_cd_hits(struct host_system *sys)
{
  (void)sys;
  return smmu_model_stats(smmu_model_instance())->cd_hits;
}

static int smmu_detach_without_cfgi_cd(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  uint32_t sid;
  int err = smmu_pasid_cd_clear(dom, rid, pasid, &sid);
  return err ? err : smmu_pasid_tlbi(dom);
}

static void smmu_break(struct iommu_ops *ops) { ops->detach_pasid = smmu_detach_without_cfgi_cd; }

static void smmu_needs_cfgi_cd(void **state)
{
  (void)state;
  model_expect_stale_broken("smmuv3-substreams", "aux.detach", STALE, smmu_cd_hits, smmu_break);
}

static void smmu_linear_cd_table_needs_cfgi_cd(void **state)
{
  (void)state;
  model_expect_stale_broken("smmuv3-substreams,cd2l=0", "aux.detach", STALE, smmu_cd_hits, smmu_break);
}

/* ---- AMD-Vi ---- */
static unsigned long amd_iotlb_hits(struct host_system *sys)
{
  (void)sys;
  struct amd_model *am = amd_model_at(0xfed80000ull);
  assert_non_null(am);
  return amd_model_stats(am)->iotlb_hits;
}

static int amd_detach_without_invalidation(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct amd_unit *a = dom->unit->priv;
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = amd_rid_devids(a, rid, ids);
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++)
    err = amd_pasid_entry_clear(a, ids[i], pasid);
  return err;
}

static void amd_break(struct iommu_ops *ops) { ops->detach_pasid = amd_detach_without_invalidation; }

static void amd_needs_guest_page_invalidation(void **state)
{
  (void)state;
  model_expect_stale_broken("amd-gt", "aux.detach", STALE, amd_iotlb_hits, amd_break);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(vtd_second_stage_needs_pasid_cache_invalidation),
    cmocka_unit_test(vtd_first_stage_needs_pasid_cache_invalidation),
    cmocka_unit_test(smmu_needs_cfgi_cd),
    cmocka_unit_test(smmu_linear_cd_table_needs_cfgi_cd),
    cmocka_unit_test(amd_needs_guest_page_invalidation),
  };
  return cmocka_run_group_tests_name("model_aux_stale", tests, NULL, NULL);
}
