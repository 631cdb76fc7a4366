#include "tests/unit/fixture.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/acpi.h"

struct fixture fixture_load(const char *config, const char *file)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s/%s", FIXTURE_DIR, config, file);
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("fixture %s missing", path);
  struct fixture fx = { 0 };
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  assert_true(n > 0);
  /* Exactly the table's size, so ASan flags any read past the end. */
  fx.data = malloc((size_t)n);
  fx.len = (size_t)n;
  assert_int_equal(fread(fx.data, 1, fx.len, f), fx.len);
  fclose(f);
  return fx;
}

void fixture_free(struct fixture *f)
{
  free(f->data);
  f->data = NULL;
}

void fixture_fix_checksum(uint8_t *t)
{
  uint32_t len = acpi_rd32(t + 4);
  t[9] = 0;
  t[9] = (uint8_t)(0x100 - acpi_checksum(t, len));
}

void fixture_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void fixture_put32(uint8_t *p, uint32_t v) { fixture_put16(p, (uint16_t)v); fixture_put16(p + 2, (uint16_t)(v >> 16)); }
void fixture_put64(uint8_t *p, uint64_t v) { fixture_put32(p, (uint32_t)v); fixture_put32(p + 4, (uint32_t)(v >> 32)); }

struct fixture fixture_table(const char *sig, uint8_t revision, const void *body, size_t body_len)
{
  struct fixture fx = { malloc(ACPI_HDR_LEN + body_len), ACPI_HDR_LEN + body_len };
  memset(fx.data, 0, ACPI_HDR_LEN);
  memcpy(fx.data, sig, 4);
  fixture_put32(fx.data + 4, (uint32_t)fx.len);
  fx.data[8] = revision;
  memcpy(fx.data + 10, "BAREIO", 6);
  memcpy(fx.data + ACPI_HDR_LEN, body, body_len);
  fixture_fix_checksum(fx.data);
  return fx;
}
