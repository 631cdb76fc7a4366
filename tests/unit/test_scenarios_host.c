/* The firmware's scenario table run on the host through the same runner, on synthetic
 * platforms: the IOMMU-independent families must pass everywhere, and ioasid.capacity must
 * compute the minimum over units from the widths the drivers would report. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "boot/report.h"
#include "tests/scenarios/scenario.h"

static struct platform *make_platform(const uint8_t *widths, unsigned n, uint8_t device_width)
{
  struct platform *p = calloc(1, sizeof(*p));
  p->n_iommus = n;
  for (unsigned i = 0; i < n; i++) {
    p->iommus[i].kind = i % 2 ? IOMMU_KIND_SMMUV3 : IOMMU_KIND_VTD;
    p->iommus[i].probed = true;
    p->iommus[i].pasid_bits = widths[i];
    snprintf(p->iommus[i].pasid_reason, sizeof(p->iommus[i].pasid_reason), "synthetic width %u", widths[i]);
  }
  p->pci.n = 1;
  p->pci.devs[0] = (struct pci_dev){ .vendor = 0x1234, .device = 0x11e8, .parent = -1 };
  p->pci.devs[0].caps.pasid_width = device_width;
  p->initiator = 0;
  return p;
}

static char *captured;
static size_t captured_len;

static struct report_counts run_ioasid(struct platform *p)
{
  static const char *const globs[] = { "ioasid.*" };
  FILE *saved = stdout;
  stdout = open_memstream(&captured, &captured_len);
  report_begin();
  scenarios_run(p, globs, 1);
  struct report_counts c = report_counts();
  fclose(stdout);
  stdout = saved;
  return c;
}

static void ioasid_family_on_wide_hardware(void **state)
{
  (void)state;
  const uint8_t widths[] = { 20, 16 };
  struct platform *p = make_platform(widths, 2, 20);
  struct report_counts c = run_ioasid(p);
  if (c.failed)
    fprintf(stderr, "%s", captured);
  assert_int_equal(c.failed, 0);
  assert_int_equal(c.skipped, 0);
  assert_int_equal(c.passed, 9);
  /* min over units: 2^16 */
  assert_non_null(strstr(captured, "ok 1 - ioasid.capacity [core] capacity 65536"));
  free(captured);
  free(p);
}

static void ioasid_capacity_zero_when_one_unit_lacks_pasid(void **state)
{
  (void)state;
  const uint8_t widths[] = { 20, 0 };
  struct platform *p = make_platform(widths, 2, 20);
  struct report_counts c = run_ioasid(p);
  assert_int_equal(c.failed, 0);
  assert_non_null(strstr(captured, "ioasid.capacity [core] capacity 0"));
  free(captured);
  free(p);
}

static void ioasid_capacity_skips_without_iommu(void **state)
{
  (void)state;
  struct platform *p = make_platform(NULL, 0, 0);
  struct report_counts c = run_ioasid(p);
  assert_int_equal(c.failed, 0);
  assert_int_equal(c.skipped, 1);
  assert_non_null(strstr(captured, "ioasid.capacity [core] # SKIP no IOMMU described by ACPI"));
  free(captured);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ioasid_family_on_wide_hardware),
    cmocka_unit_test(ioasid_capacity_zero_when_one_unit_lacks_pasid),
    cmocka_unit_test(ioasid_capacity_skips_without_iommu),
  };
  return cmocka_run_group_tests_name("scenarios_host", tests, NULL, NULL);
}
