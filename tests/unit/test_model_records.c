/* Fault records that break the specification fail the check that reads them on every
 * platform (issue 11 item 4): fault.overflow on the VT-d model, with the driver's
 * drain_faults made to return what QEMU 7.2 reports in scalable mode (PP=1 PV=0 on untagged
 * requests; legacy reason codes), must fail naming exactly that sub-condition. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "tests/unit/model_run.h"

static int (*real_drain)(struct iommu_unit *, struct iommu_fault *, unsigned, unsigned *, bool *);
static bool claim_pasid, legacy_code;

static int drain_like_qemu(struct iommu_unit *u, struct iommu_fault *out, unsigned max, unsigned *n,
                           bool *overflow)
{
  int err = real_drain(u, out, max, n, overflow);
  for (unsigned i = 0; i < *n; i++) {
    if (claim_pasid) {
      out[i].pasid_present = true; /* the RID_PASID entry it translated through */
      out[i].pasid = 0;
    }
    if (legacy_code)
      snprintf(out[i].format_deviation, sizeof(out[i].format_deviation),
               "legacy reason code 0x%x in scalable mode", out[i].reason);
  }
  return err;
}

static void patch_drain(struct iommu_ops *ops)
{
  real_drain = ops->drain_faults;
  ops->drain_faults = drain_like_qemu;
}

static void expect_overflow(bool pasid, bool legacy, const char *block)
{
  claim_pasid = pasid;
  legacy_code = legacy;
  struct report_counts c;
  char *out = model_run_patched("vtd-scalable", "fault.overflow", patch_drain, &c);
  if (strstr(out, block) == NULL)
    fprintf(stderr, "%s\n--- wanted: %s\n", out, block);
  assert_non_null(strstr(out, block));
  assert_int_equal(c.failed, (pasid || legacy) ? 1 : 0);
  free(out);
}

static void untagged_record_claiming_a_pasid_fails(void **state)
{
  (void)state;
  expect_overflow(true, false, "mapped-dma record-format; failed: records-untagged}");
}

static void legacy_reason_code_in_scalable_mode_fails(void **state)
{
  (void)state;
  expect_overflow(false, true, "mapped-dma records-untagged; failed: record-format}");
}

static void well_formed_records_pass(void **state)
{
  (void)state;
  expect_overflow(false, false, "mapped-dma records-untagged record-format}");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(untagged_record_claiming_a_pasid_fails),
    cmocka_unit_test(legacy_reason_code_in_scalable_mode_fails),
    cmocka_unit_test(well_formed_records_pass),
  };
  return cmocka_run_group_tests_name("model_records", tests, NULL, NULL);
}
