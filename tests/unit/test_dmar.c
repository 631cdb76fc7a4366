/* DMAR parser: QEMU's real tables and hand-broken variants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"
#include "tests/unit/fixture.h"

static struct dmar_info info;

static void qemu_legacy_table(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_true(info.present);
  assert_int_equal(info.host_address_width, 39);
  assert_int_equal(info.flags & 1, 1); /* INTR_REMAP */
  assert_int_equal(info.n_drhd, 1);
  assert_int_equal(info.drhd[0].base, 0xfed90000);
  assert_int_equal(info.drhd[0].segment, 0);
  assert_int_equal(info.drhd[0].flags & DMAR_DRHD_INCLUDE_PCI_ALL, 0);
  assert_int_equal(info.drhd[0].n_scopes, 7);
  assert_int_equal(info.drhd[0].scopes[0].type, DMAR_SCOPE_IOAPIC);
  assert_int_equal(info.drhd[0].scopes[0].start_bus, 255);
  assert_int_equal(info.drhd[0].scopes[3].type, DMAR_SCOPE_PCI_ENDPOINT);
  assert_int_equal(info.drhd[0].scopes[3].path[0].dev, 2); /* edu at 00:02.0 */
  assert_int_equal(info.drhd[0].scopes[6].path[0].dev, 31);
  assert_int_equal(info.drhd[0].scopes[6].path[0].fn, 3);
  fixture_free(&f);
}

static void qemu_scalable_table_has_bridge_scope(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-scalable", "DMAR.bin");
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.drhd[0].scopes[3].type, DMAR_SCOPE_PCI_SUBHIERARCHY);
  fixture_free(&f);
}

static void bad_checksum(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  f.data[9] ^= 1;
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_ECHECKSUM);
  fixture_free(&f);
}

static void wrong_signature(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  memcpy(f.data, "DMAX", 4);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_ESIGNATURE);
  fixture_free(&f);
}

static void buffer_shorter_than_length(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  assert_int_equal(dmar_parse(f.data, f.len - 1, &info), ACPI_ETRUNCATED);
  assert_int_equal(dmar_parse(f.data, 20, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void drhd_length_past_end(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  fixture_put16(f.data + 48 + 2, (uint16_t)(f.len - 48 + 8));
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void zero_length_structure(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  fixture_put16(f.data + 48 + 2, 0);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EBADLEN);
  fixture_free(&f);
}

static void absurd_host_address_width(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  f.data[36] = 63; /* 64 bits: the widest there is */
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.host_address_width, 64);
  f.data[36] = 0xff; /* 256 bits */
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
}

static void zero_length_scope(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  f.data[48 + 16 + 1] = 0; /* first device scope's length */
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EBADLEN);
  fixture_free(&f);
}

static void scope_past_structure(void **state)
{
  (void)state;
  struct fixture f = fixture_load("vtd-legacy", "DMAR.bin");
  /* Last scope claims 2 more bytes than its DRHD holds. */
  uint16_t drhd_len = acpi_rd16(f.data + 48 + 2);
  uint32_t off = 48 + 16;
  while (off + f.data[off + 1] < 48u + drhd_len)
    off += f.data[off + 1];
  f.data[off + 1] = (uint8_t)(f.data[off + 1] + 2);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void overlapping_drhd(void **state)
{
  (void)state;
  /* Two DRHDs with the same register base. */
  uint8_t body[12 + 16 * 2] = { 38, 0 };
  for (int i = 0; i < 2; i++) {
    uint8_t *d = body + 12 + 16 * i;
    fixture_put16(d, 0);
    fixture_put16(d + 2, 16);
    fixture_put64(d + 8, 0xfed90000);
  }
  struct fixture f = fixture_table("DMAR", 1, body, sizeof(body));
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EOVERLAP);
  fixture_put64(f.data + 48 + 16 + 8, 0xfed91000);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.n_drhd, 2);
  fixture_free(&f);
}

static void drhd_base_not_aligned_to_its_size(void **state)
{
  (void)state;
  uint8_t body[12 + 16] = { 38, 0 };
  fixture_put16(body + 12 + 2, 16);
  body[12 + 5] = 2; /* 4 pages */
  fixture_put64(body + 12 + 8, 0xfed91000);
  struct fixture f = fixture_table("DMAR", 1, body, sizeof(body));
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_put64(f.data + 48 + 8, 0xfed94000);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.drhd[0].size, 2);
  fixture_free(&f);
}

static void rmrr_limit_below_base(void **state)
{
  (void)state;
  uint8_t body[12 + 24] = { 38, 0 };
  uint8_t *r = body + 12;
  fixture_put16(r, 1);
  fixture_put16(r + 2, 24);
  fixture_put64(r + 8, 0x100000);
  fixture_put64(r + 16, 0xfffff);
  struct fixture f = fixture_table("DMAR", 1, body, sizeof(body));
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_put64(f.data + 48 + 16, 0x1fffff);
  fixture_fix_checksum(f.data);
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.n_rmrr, 1);
  assert_int_equal(info.rmrr[0].limit, 0x1fffff);
  fixture_free(&f);
}

static void atsr_and_unknown_structures(void **state)
{
  (void)state;
  /* ATSR (ALL_PORTS, segment 0, no scopes) then an RHSA (type 3, 20 bytes): skipped. */
  uint8_t body[12 + 8 + 20] = { 47, 0 };
  fixture_put16(body + 12, 2);
  fixture_put16(body + 14, 8);
  body[16] = 1;
  fixture_put16(body + 20, 3);
  fixture_put16(body + 22, 20);
  struct fixture f = fixture_table("DMAR", 1, body, sizeof(body));
  assert_int_equal(dmar_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.host_address_width, 48);
  assert_int_equal(info.n_atsr, 1);
  assert_int_equal(info.atsr[0].flags, 1);
  assert_int_equal(info.n_other, 1);
  fixture_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(qemu_legacy_table),
    cmocka_unit_test(qemu_scalable_table_has_bridge_scope),
    cmocka_unit_test(bad_checksum),
    cmocka_unit_test(wrong_signature),
    cmocka_unit_test(buffer_shorter_than_length),
    cmocka_unit_test(drhd_length_past_end),
    cmocka_unit_test(zero_length_structure),
    cmocka_unit_test(absurd_host_address_width),
    cmocka_unit_test(zero_length_scope),
    cmocka_unit_test(scope_past_structure),
    cmocka_unit_test(overlapping_drhd),
    cmocka_unit_test(drhd_base_not_aligned_to_its_size),
    cmocka_unit_test(rmrr_limit_below_base),
    cmocka_unit_test(atsr_and_unknown_structures),
  };
  return cmocka_run_group_tests_name("dmar", tests, NULL, NULL);
}
