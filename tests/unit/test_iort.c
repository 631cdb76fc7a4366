/* IORT parser and RID -> StreamID mapping: QEMU's real table and broken variants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"
#include "tests/unit/fixture.h"

static struct iort_info info;
#define RC_NODE_OFF 0xa0u   /* in QEMU's table: ITS group @0x30, SMMUv3 @0x48, RC @0xa0 */

static void qemu_table(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.n_nodes, 3);
  assert_int_equal(info.nodes[1].type, IORT_NODE_SMMUV3);
  assert_int_equal(info.nodes[1].u.smmuv3.base, 0x09050000);
  assert_int_equal(info.nodes[1].u.smmuv3.gsiv_event, 106);
  assert_int_equal(info.nodes[1].u.smmuv3.gsiv_pri, 107);
  assert_int_equal(info.nodes[1].u.smmuv3.gsiv_gerr, 109);
  assert_int_equal(info.nodes[1].u.smmuv3.gsiv_sync, 108);
  assert_int_equal(info.nodes[2].type, IORT_NODE_ROOT_COMPLEX);
  assert_int_equal(info.nodes[2].n_mappings, 2);
  /* QEMU 7.2 writes NumIDs as a count: the two RC ranges share ID 0x200. */
  assert_int_equal(info.num_ids_off_by_one, 1);
  fixture_free(&f);
}

static void rid_to_stream(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_OK);
  uint32_t sid = 0;
  assert_int_equal(iort_rid_to_smmu(&info, 0, 0x0100, &sid), 1);
  assert_int_equal(sid, 0x100);
  assert_int_equal(iort_rid_to_smmu(&info, 0, 0x01ff, &sid), 1);
  /* The shared boundary ID belongs to the range that starts there (ITS: untranslated). */
  assert_int_equal(iort_rid_to_smmu(&info, 0, 0x0200, &sid), ACPI_ENOTFOUND);
  assert_int_equal(iort_rid_to_smmu(&info, 0, 0x0300, &sid), ACPI_ENOTFOUND);
  assert_int_equal(iort_rid_to_smmu(&info, 1, 0x0100, &sid), ACPI_ENOTFOUND); /* no segment 1 */
  fixture_free(&f);
}

static void genuine_mapping_overlap(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  /* Second RC mapping starts at 0x100: overlaps 0x100..0x200 of the first. */
  uint32_t map1 = RC_NODE_OFF + acpi_rd32(f.data + RC_NODE_OFF + 12) + 20;
  fixture_put32(f.data + map1, 0x100);
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_EOVERLAP);
  fixture_free(&f);
}

static void output_reference_to_nowhere(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  uint32_t map0 = RC_NODE_OFF + acpi_rd32(f.data + RC_NODE_OFF + 12);
  fixture_put32(f.data + map0 + 12, 0x44); /* inside a node, not at one */
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_EBADREF);
  fixture_free(&f);
}

static void node_past_end(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  fixture_put16(f.data + RC_NODE_OFF + 1, (uint16_t)(f.len - RC_NODE_OFF + 4));
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void zero_length_node(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  fixture_put16(f.data + 0x30 + 1, 0);
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_EBADLEN);
  fixture_free(&f);
}

static void mapping_array_past_node(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  fixture_put32(f.data + RC_NODE_OFF + 8, 3); /* three mappings in room for two */
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void node_array_over_header(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  fixture_put32(f.data + 40, 16);
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_EOVERLAP);
  fixture_free(&f);
}

static void too_many_nodes_claimed(void **state)
{
  (void)state;
  struct fixture f = fixture_load("smmuv3", "IORT.bin");
  fixture_put32(f.data + 36, 4); /* a fourth node would start at the table's end */
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_put32(f.data + 36, 1000);
  fixture_fix_checksum(f.data);
  assert_int_equal(iort_parse(f.data, f.len, &info), ACPI_ETOOMANY);
  fixture_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(qemu_table),
    cmocka_unit_test(rid_to_stream),
    cmocka_unit_test(genuine_mapping_overlap),
    cmocka_unit_test(output_reference_to_nowhere),
    cmocka_unit_test(node_past_end),
    cmocka_unit_test(zero_length_node),
    cmocka_unit_test(mapping_array_past_node),
    cmocka_unit_test(node_array_over_header),
    cmocka_unit_test(too_many_nodes_claimed),
  };
  return cmocka_run_group_tests_name("iort", tests, NULL, NULL);
}
