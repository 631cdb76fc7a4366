/* IVRS parser: QEMU's real table, IVHD 0x11/0x40 and device-entry forms, broken variants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"
#include "tests/unit/fixture.h"

static struct ivrs_info info;

static void qemu_table(void **state)
{
  (void)state;
  struct fixture f = fixture_load("amd", "IVRS.bin");
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.n_ivhd, 1);
  const struct ivrs_ivhd *h = &info.ivhd[0];
  assert_int_equal(h->type, 0x10);
  assert_int_equal(h->base, 0xfed80000);
  assert_int_equal(h->iommu_devid, 0x0010); /* the IOMMU function, 00:02.0 */
  assert_int_equal(h->cap_offset, 0x40);
  assert_int_equal(h->n_dev, 8);
  assert_int_equal(h->dev[3].kind, IVRS_DEV_RANGE);
  assert_int_equal(h->dev[3].first, 0x18); /* edu 00:03.0 */
  assert_int_equal(h->dev[7].kind, IVRS_DEV_SPECIAL);
  assert_int_equal(h->dev[7].first, 0xa0);
  assert_true(ivrs_ivhd_is_preferred(&info, 0));
  fixture_free(&f);
}

/* Builds IVRS = header(12 body bytes) + one IVHD of the given type with entries. */
static struct fixture make_ivrs(uint8_t type, const uint8_t *entries, size_t n)
{
  size_t hlen = type == 0x10 ? 24 : 40;
  uint8_t body[12 + 40 + 128] = { 0 };
  uint8_t *h = body + 12;
  h[0] = type;
  fixture_put16(h + 2, (uint16_t)(hlen + n));
  fixture_put16(h + 4, 0x0002);
  fixture_put64(h + 8, 0xfeb80000);
  if (type != 0x10)
    fixture_put64(h + 24, 0x123456789abcull);
  memcpy(h + hlen, entries, n);
  return fixture_table("IVRS", 2, body, 12 + hlen + n);
}

static void device_entry_forms(void **state)
{
  (void)state;
  const uint8_t e[] = {
    0x03, 0x00, 0x01, 0x00, 0x04, 0xff, 0x01, 0x00,             /* range 0x100-0x1ff */
    0x42, 0x00, 0x03, 0x00, 0x00, 0x08, 0x03, 0x00,             /* alias 0x300 -> 0x308 */
    0x43, 0x00, 0x04, 0x00, 0x00, 0x10, 0x04, 0x00,             /* alias range start */
    0x04, 0x0f, 0x04, 0x00,                                     /* ... end 0x40f */
    0x48, 0x00, 0x00, 0xd7, 0x21, 0xa0, 0x00, 0x01,             /* special IOAPIC 0x21 */
    0x01, 0x00, 0x00, 0x00,                                     /* all */
    0x00, 0x00, 0x00, 0x00,                                     /* padding */
  };
  struct fixture f = make_ivrs(0x40, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_OK);
  const struct ivrs_ivhd *h = &info.ivhd[0];
  assert_int_equal(h->efr_image, 0x123456789abcull);
  assert_int_equal(h->n_dev, 5);
  assert_int_equal(h->dev[0].first, 0x100);
  assert_int_equal(h->dev[0].last, 0x1ff);
  assert_int_equal(h->dev[1].kind, IVRS_DEV_ALIAS_RANGE);
  assert_int_equal(h->dev[1].alias, 0x308);
  assert_int_equal(h->dev[2].last, 0x40f);
  assert_int_equal(h->dev[2].alias, 0x410);
  assert_int_equal(h->dev[3].special_handle, 0x21);
  assert_int_equal(h->dev[3].special_variety, 1);
  assert_int_equal(h->dev[4].kind, IVRS_DEV_ALL);
  fixture_free(&f);
}

static void acpi_hid_entry_length(void **state)
{
  (void)state;
  uint8_t e[22 + 4 + 4] = { 0xf0, 0x05, 0x00, 0x00 };
  memcpy(e + 4, "AMDI0020", 8);
  e[21] = 4; /* UID length */
  memcpy(e + 22, "ID00", 4);
  e[26] = 0x02; /* select 0x0008 follows */
  e[27] = 0x08;
  struct fixture f = make_ivrs(0x11, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.ivhd[0].n_dev, 2);
  assert_int_equal(info.ivhd[0].dev[0].kind, IVRS_DEV_ACPI_HID);
  assert_int_equal(info.ivhd[0].dev[1].first, 0x0008);
  /* UID length running past the block. */
  e[21] = 40;
  fixture_free(&f);
  f = make_ivrs(0x11, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void range_without_end(void **state)
{
  (void)state;
  const uint8_t e[] = { 0x03, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x00 };
  struct fixture f = make_ivrs(0x10, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
  const uint8_t e2[] = { 0x04, 0xff, 0x01, 0x00 };
  f = make_ivrs(0x10, e2, sizeof(e2));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
  const uint8_t e3[] = { 0x03, 0x00, 0x02, 0x00, 0x04, 0x00, 0x01, 0x00 }; /* end < start */
  f = make_ivrs(0x10, e3, sizeof(e3));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
}

static void unknown_variable_length_entry(void **state)
{
  (void)state;
  const uint8_t e[] = { 0x85, 0, 0, 0, 0, 0, 0, 0 };
  struct fixture f = make_ivrs(0x10, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
}

static void entry_cut_by_block_length(void **state)
{
  (void)state;
  const uint8_t e[] = { 0x42, 0x00, 0x03, 0x00 }; /* an 8-byte entry with 4 bytes left */
  struct fixture f = make_ivrs(0x10, e, sizeof(e));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_free(&f);
}

static void block_length_past_table(void **state)
{
  (void)state;
  struct fixture f = fixture_load("amd", "IVRS.bin");
  fixture_put16(f.data + 48 + 2, (uint16_t)(f.len));
  fixture_fix_checksum(f.data);
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_ETRUNCATED);
  fixture_put16(f.data + 48 + 2, 0);
  fixture_fix_checksum(f.data);
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADLEN);
  fixture_free(&f);
}

static void preferred_block_per_unit(void **state)
{
  (void)state;
  /* The same IOMMU (devid 2) as type 0x10 and 0x11: only 0x11 is preferred. */
  uint8_t body[12 + 24 + 40] = { 0 };
  uint8_t *a = body + 12, *b = body + 12 + 24;
  a[0] = 0x10;
  fixture_put16(a + 2, 24);
  fixture_put16(a + 4, 2);
  fixture_put64(a + 8, 0xfeb80000);
  b[0] = 0x11;
  fixture_put16(b + 2, 40);
  fixture_put16(b + 4, 2);
  fixture_put64(b + 8, 0xfeb80000);
  struct fixture f = fixture_table("IVRS", 2, body, sizeof(body));
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_OK);
  assert_int_equal(info.n_ivhd, 2);
  assert_false(ivrs_ivhd_is_preferred(&info, 0));
  assert_true(ivrs_ivhd_is_preferred(&info, 1));
  fixture_free(&f);
}

static void misaligned_base(void **state)
{
  (void)state;
  struct fixture f = fixture_load("amd", "IVRS.bin");
  fixture_put64(f.data + 48 + 8, 0xfed81000);
  fixture_fix_checksum(f.data);
  assert_int_equal(ivrs_parse(f.data, f.len, &info), ACPI_EBADVALUE);
  fixture_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(qemu_table),
    cmocka_unit_test(device_entry_forms),
    cmocka_unit_test(acpi_hid_entry_length),
    cmocka_unit_test(range_without_end),
    cmocka_unit_test(unknown_variable_length_entry),
    cmocka_unit_test(entry_cut_by_block_length),
    cmocka_unit_test(block_length_past_table),
    cmocka_unit_test(preferred_block_per_unit),
    cmocka_unit_test(misaligned_base),
  };
  return cmocka_run_group_tests_name("ivrs", tests, NULL, NULL);
}
