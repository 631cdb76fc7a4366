/* TAP lines, summary counts, JUnit XML, scenario selection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip /* cmocka's skip(); this file tests the reporter's skip(id, tag, reason) */

#include "boot/report.h"
#include "tests/scenarios/scenario.h"

static char *captured;
static size_t captured_len;
static FILE *saved_stdout;

static void capture_begin(void)
{
  fflush(stdout);
  saved_stdout = stdout;
  stdout = open_memstream(&captured, &captured_len);
}

static void capture_end(void)
{
  fclose(stdout);
  stdout = saved_stdout;
}

static void tap_lines_and_counts(void **state)
{
  (void)state;
  capture_begin();
  report_begin();
  report("discover.acpi", "vtd", true, "DRHD 0 base 0x%x", 0xfed90000);
  diag("detail for the next check");
  report("dma.map.read", "vtd", false, "read 0x%02x, want 0x%02x # not a directive", 1, 2);
  skip("dirty.caps", "vtd", "ECAP.SLADS=0");
  unsigned failed = report_end();
  capture_end();
  assert_int_equal(failed, 1);
  assert_non_null(strstr(captured, "TAP version 13\n"));
  assert_non_null(strstr(captured, "\nok 1 - discover.acpi [vtd] DRHD 0 base 0xfed90000\n"));
  assert_non_null(strstr(captured, "\n# detail for the next check\n"));
  /* '#' inside evidence would start a TAP directive: it is neutralised. */
  assert_non_null(strstr(captured, "\nnot ok 2 - dma.map.read [vtd] read 0x01, want 0x02   not a directive\n"));
  assert_non_null(strstr(captured, "\nok 3 - dirty.caps [vtd] # SKIP ECAP.SLADS=0\n"));
  assert_non_null(strstr(captured, "\n1..3\n"));
  assert_non_null(strstr(captured, "# 1 passed, 1 failed, 1 skipped\n"));
  assert_non_null(strstr(captured, "# JUNIT-BEGIN\n"));
  struct report_counts c = report_counts();
  assert_int_equal(c.passed, 1);
  assert_int_equal(c.failed, 1);
  assert_int_equal(c.skipped, 1);
  free(captured);
}

static void junit_is_escaped(void **state)
{
  (void)state;
  capture_begin();
  report_begin();
  report("discover.caps", "amd", false, "EFR <0x29d3> & \"quoted\"");
  skip("aux.attach", "amd", "EFR.GTSup=0");
  capture_end();
  free(captured);
  size_t len;
  const char *xml = report_junit_xml(&len);
  assert_int_equal(strlen(xml), len);
  assert_non_null(strstr(xml, "tests=\"2\" failures=\"1\" skipped=\"1\""));
  assert_non_null(strstr(xml, "classname=\"discover\" name=\"discover.caps [amd]\""));
  assert_non_null(strstr(xml, "<failure message=\"EFR &lt;0x29d3&gt; &amp; &quot;quoted&quot;\"/>"));
  assert_non_null(strstr(xml, "<skipped message=\"EFR.GTSup=0\"/>"));
  assert_null(strstr(xml, "<0x29d3>"));
}

static void glob_selection(void **state)
{
  (void)state;
  assert_true(glob_match("dma.*", "dma.map.read"));
  assert_true(glob_match("*", "anything"));
  assert_true(glob_match("dma.map.*", "dma.map.cross_page"));
  assert_true(glob_match("*.stale", "dma.unmap.stale"));
  assert_true(glob_match("discover.ca?s", "discover.caps"));
  assert_false(glob_match("dma.*", "discover.acpi"));
  assert_false(glob_match("dma.map", "dma.map.read"));
  assert_true(glob_match("a*b*c", "aXXbYYc"));
  assert_false(glob_match("a*b*c", "aXXbYY"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(tap_lines_and_counts),
    cmocka_unit_test(junit_is_escaped),
    cmocka_unit_test(glob_selection),
  };
  return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
