/* Test fixtures: ACPI tables captured from QEMU (tests/unit/fixtures/<config>/<SIG>.bin, see
 * capture.sh) and helpers to break them in controlled ways. */
#ifndef TESTS_UNIT_FIXTURE_H
#define TESTS_UNIT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

struct fixture {
  uint8_t *data;
  size_t len;
};

/* Loads FIXTURE_DIR/<config>/<file>; fails the test when missing. Caller frees data. */
struct fixture fixture_load(const char *config, const char *file);
void fixture_free(struct fixture *f);
/* Recomputes the ACPI checksum byte (offset 9) over the table's Length. */
void fixture_fix_checksum(uint8_t *table);
void fixture_put16(uint8_t *p, uint16_t v);
void fixture_put32(uint8_t *p, uint32_t v);
void fixture_put64(uint8_t *p, uint64_t v);
/* Builds a table with a valid header: sig, total length, revision; body copied after it. */
struct fixture fixture_table(const char *sig, uint8_t revision, const void *body, size_t body_len);

#endif
