/* VT-d in-memory formats, field by field (VT-d 5.10 chapter 9 and 6.5.2), and the
 * second-stage page-table walker on host memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/mem.h"
#include "iommu/vtd/vtd_internal.h"

static void legacy_context_fields(void **state)
{
  (void)state;
  uint64_t c[2];
  vtd_legacy_context_encode(c, 0x123456789000ull, 2, 0xbeef, false);
  assert_int_equal(c[0] & 1, 1);                          /* P */
  assert_int_equal((c[0] >> 1) & 1, 0);                   /* FPD */
  assert_int_equal((c[0] >> 2) & 3, 0);                   /* TT: second stage only */
  assert_int_equal(c[0] & ~0xfffull, 0x123456789000ull);  /* SSPTPTR 63:12 */
  assert_int_equal(c[1] & 7, 2);                          /* AW 66:64: 48-bit */
  assert_int_equal((c[1] >> 3) & 0x1f, 0);                /* 71:67 ignored/reserved clear */
  assert_int_equal((c[1] >> 8) & 0xffff, 0xbeef);         /* DID 87:72 */
  assert_int_equal(c[1] >> 24, 0);                        /* 127:88 reserved */
  vtd_legacy_context_encode(c, 0x5000, 1, 7, true);
  assert_int_equal((c[0] >> 2) & 3, 2);                   /* TT 10b: pass-through */
  assert_int_equal(c[0] & ~0xfffull, 0);                  /* no table pointer */
  assert_int_equal(c[1] & 7, 1);
}

static void scalable_context_fields(void **state)
{
  (void)state;
  uint64_t c[4] = { ~0ull, ~0ull, ~0ull, ~0ull };
  vtd_sm_context_encode(c, 0xabcde000ull, 2);
  assert_int_equal(c[0] & 1, 1);                          /* P */
  assert_int_equal((c[0] >> 1) & 0xf, 0);                 /* FPD, DTE, PASIDE, PRE off */
  assert_int_equal((c[0] >> 5) & 0xf, 0);                 /* 8:5 clear (HPTE/EPTR/reserved) */
  assert_int_equal((c[0] >> 9) & 7, 2);                   /* PDTS: 2^(2+7) entries */
  assert_int_equal(c[0] & ~0xfffull, 0xabcde000ull);      /* PASIDDIRPTR */
  assert_int_equal(c[1], 0);                              /* RID_PASID 0, RID_PRIV 0 */
  assert_int_equal(c[2] | c[3], 0);
}

static void pasid_entries(void **state)
{
  (void)state;
  assert_int_equal(vtd_pasid_dir_encode(0x77000), 0x77001);
  uint64_t pe[8];
  memset(pe, 0xff, sizeof(pe));
  vtd_pasid_entry_encode(pe, VTD_PGTT_SECOND_STAGE, 0xfeed000ull, 1, 0x42);
  assert_int_equal(pe[0] & 1, 1);                         /* P */
  assert_int_equal((pe[0] >> 1) & 1, 0);                  /* FPD */
  assert_int_equal((pe[0] >> 2) & 7, 1);                  /* AW 4:2 */
  assert_int_equal((pe[0] >> 5) & 1, 0);                  /* bit 5 reserved */
  assert_int_equal((pe[0] >> 6) & 7, 2);                  /* PGTT 8:6: second stage */
  assert_int_equal((pe[0] >> 9) & 7, 0);                  /* SSADE, 11:10 */
  assert_int_equal(pe[0] & ~0xfffull, 0xfeed000ull);      /* SSPTPTR */
  assert_int_equal(pe[1] & 0xffff, 0x42);                 /* DID 79:64 */
  assert_int_equal(pe[1] >> 16, 0);                       /* PWSNP, PGSNP, CD, EMTE, PAT clear */
  for (int i = 2; i < 8; i++)
    assert_int_equal(pe[i], 0);
  vtd_pasid_entry_encode(pe, VTD_PGTT_PASSTHROUGH, 0xfeed000ull, 2, 9);
  assert_int_equal((pe[0] >> 6) & 7, 4);                  /* PGTT 100b */
  assert_int_equal(pe[0] & ~0xfffull, 0);                 /* no table for pass-through */
}

static void invalidation_descriptors(void **state)
{
  (void)state;
  uint64_t d[4];
  vtd_inv_cc(d, VTD_INV_CC_DEVICE, 0x12, 0x0100);
  assert_int_equal(d[0] & 0xf, 1);                        /* type 1 */
  assert_int_equal((d[0] >> 4) & 3, 3);                   /* G: device */
  assert_int_equal((d[0] >> 16) & 0xffff, 0x12);          /* DID 31:16 */
  assert_int_equal((d[0] >> 32) & 0xffff, 0x0100);        /* SID 47:32 */
  assert_int_equal((d[0] >> 48) & 3, 0);                  /* FM */
  assert_int_equal(d[1] | d[2] | d[3], 0);
  vtd_inv_iotlb(d, VTD_INV_IOTLB_PAGE, 7, 0x40200000ull, 9);
  assert_int_equal(d[0] & 0xf, 2);                        /* type 2 */
  assert_int_equal((d[0] >> 4) & 3, 3);                   /* G: page */
  assert_int_equal((d[0] >> 6) & 3, 3);                   /* DW, DR */
  assert_int_equal((d[0] >> 16) & 0xffff, 7);
  assert_int_equal(d[1] & 0x3f, 9);                       /* AM 69:64 */
  assert_int_equal((d[1] >> 6) & 1, 0);                   /* IH */
  assert_int_equal(d[1] & ~0xfffull, 0x40200000ull);      /* ADDR 127:76 */
  vtd_inv_iotlb(d, VTD_INV_IOTLB_DOMAIN, 7, 0x40200000ull, 9);
  assert_int_equal(d[1], 0);                              /* no address for DSI */
  vtd_inv_pasid_cache(d, VTD_INV_PC_GLOBAL, 3, 0x12345);
  assert_int_equal(d[0] & 0xf, 7);
  assert_int_equal((d[0] >> 9) & 7, 0);                   /* type high bits 11:9 */
  assert_int_equal((d[0] >> 4) & 3, 3);
  assert_int_equal((d[0] >> 32) & 0xfffff, 0x12345);      /* PASID 51:32 */
  vtd_inv_wait(d, 0xcafe, 0x1234567cull);
  assert_int_equal(d[0] & 0xf, 5);
  assert_int_equal((d[0] >> 4) & 1, 0);                   /* IF off */
  assert_int_equal((d[0] >> 5) & 1, 1);                   /* SW */
  assert_int_equal((d[0] >> 6) & 1, 1);                   /* FN */
  assert_int_equal(d[0] >> 32, 0xcafe);                   /* status data */
  assert_int_equal(d[1], 0x1234567cull);                  /* status address, dword aligned */
}

static void aw_and_fault_reasons(void **state)
{
  (void)state;
  assert_int_equal(vtd_aw_code(39), 1);
  assert_int_equal(vtd_aw_code(48), 2);
  assert_int_equal(vtd_aw_code(57), 3);
  assert_int_equal(vtd_aw_code(40), 0);
  assert_int_equal(vtd_fault_reason_kind(0x2), IOMMU_FAULT_NO_CONTEXT);
  assert_int_equal(vtd_fault_reason_kind(0x5), IOMMU_FAULT_PERM_WRITE);
  assert_int_equal(vtd_fault_reason_kind(0x6), IOMMU_FAULT_PERM_READ);
  assert_int_equal(vtd_fault_reason_kind(0xa), IOMMU_FAULT_BAD_ENTRY);
  assert_int_equal(vtd_fault_reason_kind(0x79), IOMMU_FAULT_TRANSLATION);
  assert_int_equal(vtd_fault_reason_kind(0x85), IOMMU_FAULT_PERM_WRITE);
  assert_int_equal(vtd_fault_reason_kind(0x41), IOMMU_FAULT_NO_CONTEXT);
  assert_int_equal(vtd_fault_reason_kind(0xff), IOMMU_FAULT_OTHER);
  assert_string_equal(vtd_fault_reason_name(0xff), "reason not decoded");
}

static void first_stage_formats(void **state)
{
  (void)state;
  uint64_t pe[8];
  vtd_pasid_entry_encode_fl(pe, 0xabc000ull, false, 0x33);
  assert_int_equal(pe[0] & 1, 1);
  assert_int_equal((pe[0] >> 6) & 7, 1);                  /* PGTT 001b */
  assert_int_equal(pe[0] & ~0x1ffull, 0);                 /* no second-stage pointer */
  assert_int_equal((pe[0] >> 2) & 7, 0);                  /* AW: reserved without SSTS, ignored */
  assert_int_equal(pe[1], 0x33);                          /* DID */
  assert_int_equal(pe[2] & 1, 0);                         /* SRE off */
  assert_int_equal((pe[2] >> 2) & 3, 0);                  /* FSPM 4-level */
  assert_int_equal(pe[2] & ~0xfffull, 0xabc000ull);       /* FSPTPTR 191:140 */
  vtd_pasid_entry_encode_fl(pe, 0xabc000ull, true, 0x33);
  assert_int_equal((pe[2] >> 2) & 3, 1);                  /* FSPM 5-level */
  assert_int_equal((pe[0] >> 2) & 7, 0);                  /* AW: FSPM alone gives 57 bits */
  uint64_t d[4];
  vtd_inv_piotlb(d, VTD_INV_PIOTLB_PAGE, 5, 0x12345, 0x200000, 9);
  assert_int_equal(d[0] & 0xf, 6);                        /* type 6 */
  assert_int_equal((d[0] >> 4) & 3, 3);                   /* G: page within PASID */
  assert_int_equal((d[0] >> 16) & 0xffff, 5);
  assert_int_equal((d[0] >> 32) & 0xfffff, 0x12345);
  assert_int_equal(d[1], 0x200000ull | 9);
  vtd_inv_piotlb(d, VTD_INV_PIOTLB_PASID, 5, 0, 0x200000, 9);
  assert_int_equal((d[0] >> 4) & 3, 2);
  assert_int_equal(d[1], 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(legacy_context_fields),
    cmocka_unit_test(scalable_context_fields),
    cmocka_unit_test(pasid_entries),
    cmocka_unit_test(invalidation_descriptors),
    cmocka_unit_test(aw_and_fault_reasons),
    cmocka_unit_test(first_stage_formats),
  };
  return cmocka_run_group_tests_name("vtd_tables", tests, NULL, NULL);
}
