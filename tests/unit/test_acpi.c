/* RSDP/XSDT directory, MCFG, and a robustness sweep: every fixture table truncated at every
 * length and corrupted byte by byte must give a named error or a clean parse, never a read
 * outside the buffer (ASan) or undefined behaviour (UBSan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"
#include "tests/unit/fixture.h"

/* A fake physical address space: RSDP at 0x1000, XSDT at 0x2000, tables from 0x3000. */
struct fake_mem {
  uint8_t bytes[0x8000];
};

static const uint8_t *fake_map(uint64_t phys, size_t len, void *ctx)
{
  struct fake_mem *m = ctx;
  if (phys < 0x1000 || phys > sizeof(m->bytes) || len > sizeof(m->bytes) - phys)
    return NULL;
  return m->bytes + phys;
}

static void build_dir(struct fake_mem *m, unsigned n_tables)
{
  memset(m, 0, sizeof(*m));
  uint8_t *rsdp = m->bytes + 0x1000;
  memcpy(rsdp, "RSD PTR ", 8);
  rsdp[15] = 2;
  fixture_put32(rsdp + 20, 36);
  fixture_put64(rsdp + 24, 0x2000);
  rsdp[8] = (uint8_t)(0x100 - acpi_checksum(rsdp, 20));
  rsdp[32] = (uint8_t)(0x100 - acpi_checksum(rsdp, 36));
  struct fixture mcfg = fixture_load("vtd-legacy", "MCFG.bin");
  uint8_t *xsdt = m->bytes + 0x2000;
  memcpy(xsdt, "XSDT", 4);
  fixture_put32(xsdt + 4, 36 + 8 * n_tables);
  for (unsigned i = 0; i < n_tables; i++) {
    memcpy(m->bytes + 0x3000 + 0x100 * i, mcfg.data, mcfg.len);
    fixture_put64(xsdt + 36 + 8 * i, 0x3000 + 0x100 * i);
  }
  fixture_fix_checksum(xsdt);
  fixture_free(&mcfg);
}

static void directory_from_rsdp(void **state)
{
  (void)state;
  static struct fake_mem m;
  static struct acpi_dir dir;
  build_dir(&m, 2);
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_OK);
  assert_int_equal(dir.n_tables, 2);
  assert_int_equal(dir.xsdt_phys, 0x2000);
  assert_non_null(acpi_dir_find(&dir, "MCFG", 1));
  assert_null(acpi_dir_find(&dir, "MCFG", 2));
  assert_null(acpi_dir_find(&dir, "DMAR", 0));
}

static void directory_skips_bad_table(void **state)
{
  (void)state;
  static struct fake_mem m;
  static struct acpi_dir dir;
  build_dir(&m, 2);
  m.bytes[0x3100 + 20] ^= 0xff; /* second table's checksum broken */
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_OK);
  assert_int_equal(dir.n_tables, 1);
  fixture_put64(m.bytes + 0x2000 + 36, 0x7ff0); /* pointer whose header runs off memory */
  fixture_fix_checksum(m.bytes + 0x2000);
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_OK);
  assert_int_equal(dir.n_tables, 0);
}

static void directory_errors(void **state)
{
  (void)state;
  static struct fake_mem m;
  static struct acpi_dir dir;
  build_dir(&m, 1);
  m.bytes[0x1000 + 8] ^= 1;
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_ECHECKSUM);
  build_dir(&m, 1);
  m.bytes[0x1000] = 'X';
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_ESIGNATURE);
  build_dir(&m, 1);
  fixture_put32(m.bytes + 0x2000 + 4, 40); /* XSDT entries not a multiple of 8 */
  fixture_fix_checksum(m.bytes + 0x2000);
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_EBADLEN);
  build_dir(&m, 1);
  fixture_put32(m.bytes + 0x2000 + 4, 0x10000); /* XSDT longer than memory */
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x1000, fake_map, &m), ACPI_ETRUNCATED);
  assert_int_equal(acpi_dir_from_rsdp(&dir, 0x7ffc, fake_map, &m), ACPI_ETRUNCATED);
}

static void mcfg_qemu_tables(void **state)
{
  (void)state;
  struct mcfg_info m;
  struct fixture f = fixture_load("vtd-legacy", "MCFG.bin");
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_OK);
  assert_int_equal(m.n, 1);
  assert_int_equal(m.seg[0].base, 0xb0000000);
  assert_int_equal(m.seg[0].end_bus, 0xff);
  fixture_free(&f);
  f = fixture_load("smmuv3", "MCFG.bin");
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_OK);
  assert_int_equal(m.seg[0].base, 0x4010000000ull);
  fixture_free(&f);
}

static void mcfg_broken(void **state)
{
  (void)state;
  struct mcfg_info m;
  uint8_t body[8 + 32] = { 0 };
  fixture_put64(body + 8, 0xb0000000);
  body[8 + 11] = 0x7f;
  fixture_put64(body + 24, 0xc0000000);
  body[24 + 10] = 0x40; /* buses 0x40..0x7f again: overlap */
  body[24 + 11] = 0x7f;
  struct fixture f = fixture_table("MCFG", 1, body, sizeof(body));
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_EOVERLAP);
  f.data[36 + 8 + 16 + 8] = 1; /* second allocation on segment 1: fine */
  fixture_fix_checksum(f.data);
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_OK);
  assert_int_equal(m.n, 2);
  f.data[36 + 8 + 10] = 0x80; /* start bus above end bus */
  fixture_fix_checksum(f.data);
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_EBADVALUE);
  fixture_put32(f.data + 4, 36 + 8 + 20); /* a partial allocation */
  fixture_fix_checksum(f.data);
  assert_int_equal(mcfg_parse(f.data, f.len, &m), ACPI_EBADLEN);
  fixture_free(&f);
}

/* Runs the parser for a signature on a buffer that is exactly len bytes. */
static int parse_any(const char *sig, const uint8_t *src, size_t len)
{
  static struct dmar_info d;
  static struct ivrs_info v;
  static struct iort_info o;
  struct mcfg_info m;
  uint8_t *buf = malloc(len ? len : 1);
  memcpy(buf, src, len);
  int err = -100;
  if (!strcmp(sig, "DMAR"))
    err = dmar_parse(buf, len, &d);
  else if (!strcmp(sig, "IVRS"))
    err = ivrs_parse(buf, len, &v);
  else if (!strcmp(sig, "IORT"))
    err = iort_parse(buf, len, &o);
  else if (!strcmp(sig, "MCFG"))
    err = mcfg_parse(buf, len, &m);
  free(buf);
  return err;
}

static const struct { const char *config, *sig; } sweep_tables[] = {
  { "vtd-legacy", "DMAR" }, { "vtd-scalable", "DMAR" }, { "amd", "IVRS" },
  { "smmuv3", "IORT" },     { "vtd-legacy", "MCFG" },   { "smmuv3", "MCFG" },
};

static void truncation_sweep(void **state)
{
  (void)state;
  for (size_t t = 0; t < sizeof(sweep_tables) / sizeof(sweep_tables[0]); t++) {
    char file[16];
    snprintf(file, sizeof(file), "%s.bin", sweep_tables[t].sig);
    struct fixture f = fixture_load(sweep_tables[t].config, file);
    for (size_t len = 0; len < f.len; len++) {
      /* Buffer cut short: the declared Length no longer fits. */
      assert_int_equal(parse_any(sweep_tables[t].sig, f.data, len), ACPI_ETRUNCATED);
      /* Length field itself shortened (checksum repaired): must not read past it. */
      if (len >= ACPI_HDR_LEN) {
        uint8_t *copy = malloc(f.len);
        memcpy(copy, f.data, f.len);
        fixture_put32(copy + 4, (uint32_t)len);
        fixture_fix_checksum(copy);
        int err = parse_any(sweep_tables[t].sig, copy, len);
        assert_true(err <= 0 && err >= ACPI_ENOTFOUND);
        free(copy);
      }
    }
    fixture_free(&f);
  }
}

static void corruption_sweep(void **state)
{
  (void)state;
  for (size_t t = 0; t < sizeof(sweep_tables) / sizeof(sweep_tables[0]); t++) {
    char file[16];
    snprintf(file, sizeof(file), "%s.bin", sweep_tables[t].sig);
    struct fixture f = fixture_load(sweep_tables[t].config, file);
    uint8_t *copy = malloc(f.len);
    static const uint8_t patterns[] = { 0x00, 0xff, 0x01, 0x80, 0x7f };
    for (size_t off = ACPI_HDR_LEN; off < f.len; off++) {
      for (size_t p = 0; p < sizeof(patterns); p++) {
        memcpy(copy, f.data, f.len);
        copy[off] = patterns[p];
        fixture_fix_checksum(copy);
        int err = parse_any(sweep_tables[t].sig, copy, f.len);
        assert_true(err <= 0 && err >= ACPI_ENOTFOUND);
      }
    }
    free(copy);
    fixture_free(&f);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(directory_from_rsdp),
    cmocka_unit_test(directory_skips_bad_table),
    cmocka_unit_test(directory_errors),
    cmocka_unit_test(mcfg_qemu_tables),
    cmocka_unit_test(mcfg_broken),
    cmocka_unit_test(truncation_sweep),
    cmocka_unit_test(corruption_sweep),
  };
  return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
