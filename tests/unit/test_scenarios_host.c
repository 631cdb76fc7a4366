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
#include "iommu/iommu.h"
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

/* A unit whose probe failed: every scenario that needs it skips naming the probe's error,
 * never a register field read from a unit that may not exist. */
static void unit_scenarios_skip_naming_the_failed_probe(void **state)
{
  (void)state;
  const uint8_t widths[] = { 0 };
  struct platform *p = make_platform(widths, 1, 0);
  p->iommus[0].probe_err = IOMMU_ENODEV;
  p->iommus[0].ops = &vtd_ops;
  p->iommus[0].base = 0xfed90000;
  snprintf(p->iommus[0].source, sizeof(p->iommus[0].source), "DMAR DRHD 0");
  static const char *const globs[] = { "dma.*", "queue.*", "fault.*", "state.*" };
  FILE *saved = stdout;
  stdout = open_memstream(&captured, &captured_len);
  report_begin();
  scenarios_run(p, globs, 4);
  struct report_counts c = report_counts();
  fclose(stdout);
  stdout = saved;
  if (c.failed || c.passed)
    fprintf(stderr, "%s", captured);
  assert_int_equal(c.failed, 0);
  assert_int_equal(c.passed, 0);
  assert_true(c.skipped >= 15);
  static const char want[] = "# SKIP unit probe failed: IOMMU_ENODEV (DMAR DRHD 0 at 0xfed90000";
  unsigned named = 0;
  for (const char *l = captured; (l = strstr(l, "# SKIP ")) != NULL; l++) {
    if (strncmp(l, want, strlen(want)) != 0)
      fprintf(stderr, "%.120s\n", l);
    assert_int_equal(strncmp(l, want, strlen(want)), 0);
    named++;
  }
  assert_int_equal(named, c.skipped);
  free(captured);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ioasid_family_on_wide_hardware),
    cmocka_unit_test(ioasid_capacity_zero_when_one_unit_lacks_pasid),
    cmocka_unit_test(ioasid_capacity_skips_without_iommu),
    cmocka_unit_test(unit_scenarios_skip_naming_the_failed_probe),
  };
  return cmocka_run_group_tests_name("scenarios_host", tests, NULL, NULL);
}
