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
#include "tests/unit/fixture.h"
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

/* Runs the scenarios matching globs with the console captured; with discover, the platform's
 * ACPI tables are parsed first (and must be found wanting). */
static struct report_counts run_globs(struct platform *p, const char *const *globs, unsigned n,
                                      bool discover)
{
  FILE *saved = stdout;
  stdout = open_memstream(&captured, &captured_len);
  report_begin();
  if (discover)
    assert_int_not_equal(platform_discover(p), 0);
  scenarios_run(p, globs, n);
  struct report_counts c = report_counts();
  fclose(stdout);
  stdout = saved;
  return c;
}

static struct report_counts run_ioasid(struct platform *p)
{
  static const char *const globs[] = { "ioasid.*" };
  return run_globs(p, globs, 1, false);
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
  struct report_counts c = run_globs(p, globs, 4, false);
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

/* A present but malformed IOMMU table (the corruptions the QEMU matrix injects with
 * -acpitable): discover.acpi fails naming the parser's error, the run does not claim "no
 * IOMMU", and the scenarios that need a unit skip naming the table. */
static void malformed_iommu_table_fails_discover_acpi(void **state)
{
  (void)state;
  static const struct {
    const char *config, *sig, *tag, *err;
    unsigned at, len_field; /* the first structure's offset, its length field's offset in it */
    bool overrun;           /* length 8 bytes past the table's end; else zero */
  } cases[] = {
    { "vtd-legacy", "DMAR", "vtd", "ACPI_ETRUNCATED", 48, 2, true },
    { "amd", "IVRS", "amd", "ACPI_ETRUNCATED", 48, 2, true },
    { "smmuv3", "IORT", "smmuv3", "ACPI_EBADLEN", 0x30, 1, false },
  };
  for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char file[16];
    snprintf(file, sizeof(file), "%s.bin", cases[i].sig);
    struct fixture f = fixture_load(cases[i].config, file);
    fixture_put16(f.data + cases[i].at + cases[i].len_field,
                  cases[i].overrun ? (uint16_t)(f.len - cases[i].at + 8) : 0);
    fixture_fix_checksum(f.data);
    struct platform *p = calloc(1, sizeof(*p));
    p->acpi.n_tables = 1;
    p->acpi.tables[0] = (struct acpi_table_ref){ .data = f.data, .len = (uint32_t)f.len, .phys = 0x7f000000 };
    memcpy(p->acpi.tables[0].sig, cases[i].sig, 5);
    static const char *const globs[] = { "discover.acpi", "discover.caps", "dma.map.read",
                                         "state.restore", "ioasid.capacity" };
    struct report_counts c = run_globs(p, globs, 5, true);
    char want[160];
    snprintf(want, sizeof(want), "not ok 1 - discover.acpi [%s] %s at 0x7f000000 (%zu bytes) is "
             "present but malformed: %s", cases[i].tag, cases[i].sig, f.len, cases[i].err);
    if (strstr(captured, want) == NULL || c.failed != 1 || c.skipped != 4)
      fprintf(stderr, "%s\n--- wanted: %s\n", captured, want);
    assert_non_null(strstr(captured, want));
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.skipped, 4);
    assert_null(strstr(captured, "describes no IOMMU"));
    snprintf(want, sizeof(want), "dma.map.read [%s] # SKIP ACPI %s at 0x7f000000 is malformed (%s",
             cases[i].tag, cases[i].sig, cases[i].err);
    assert_non_null(strstr(captured, want));
    free(captured);
    free(p);
    fixture_free(&f);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ioasid_family_on_wide_hardware),
    cmocka_unit_test(ioasid_capacity_zero_when_one_unit_lacks_pasid),
    cmocka_unit_test(ioasid_capacity_skips_without_iommu),
    cmocka_unit_test(unit_scenarios_skip_naming_the_failed_probe),
    cmocka_unit_test(malformed_iommu_table_fails_discover_acpi),
  };
  return cmocka_run_group_tests_name("scenarios_host", tests, NULL, NULL);
}
