/* ACPI directory (RSDP -> XSDT) and helpers shared by the table parsers. */
#include "boot/acpi.h"

#include <string.h>

const char *acpi_strerror(int err)
{
  switch (err) {
  case ACPI_OK: return "ok";
  case ACPI_ETRUNCATED: return "ACPI_ETRUNCATED";
  case ACPI_ECHECKSUM: return "ACPI_ECHECKSUM";
  case ACPI_ESIGNATURE: return "ACPI_ESIGNATURE";
  case ACPI_EBADLEN: return "ACPI_EBADLEN";
  case ACPI_ETOOMANY: return "ACPI_ETOOMANY";
  case ACPI_EOVERLAP: return "ACPI_EOVERLAP";
  case ACPI_EBADREF: return "ACPI_EBADREF";
  case ACPI_EBADVALUE: return "ACPI_EBADVALUE";
  case ACPI_ENOTFOUND: return "ACPI_ENOTFOUND";
  default: return "ACPI_E?";
  }
}

uint16_t acpi_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
uint32_t acpi_rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
uint64_t acpi_rd64(const uint8_t *p) { return acpi_rd32(p) | (uint64_t)acpi_rd32(p + 4) << 32; }

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
  uint8_t sum = 0;
  for (size_t i = 0; i < len; i++)
    sum = (uint8_t)(sum + p[i]);
  return sum;
}

int acpi_table_check(const uint8_t *t, size_t avail, const char *sig, uint32_t min_len)
{
  if (t == NULL || avail < ACPI_HDR_LEN)
    return ACPI_ETRUNCATED;
  if (sig != NULL && memcmp(t, sig, 4) != 0)
    return ACPI_ESIGNATURE;
  uint32_t len = acpi_rd32(t + 4);
  if (len < ACPI_HDR_LEN || len < min_len)
    return ACPI_EBADLEN;
  if (len > avail)
    return ACPI_ETRUNCATED;
  if (acpi_checksum(t, len) != 0)
    return ACPI_ECHECKSUM;
  return ACPI_OK;
}

/* RSDP (ACPI 6.5 5.2.5.3): 20 bytes for revision 0, Length field for 2+. */
int acpi_dir_from_rsdp(struct acpi_dir *dir, uint64_t rsdp_phys, acpi_map_fn map, void *ctx)
{
  memset(dir, 0, sizeof(*dir));
  const uint8_t *rsdp = map(rsdp_phys, 36, ctx);
  if (rsdp == NULL)
    return ACPI_ETRUNCATED;
  if (memcmp(rsdp, "RSD PTR ", 8) != 0)
    return ACPI_ESIGNATURE;
  if (acpi_checksum(rsdp, 20) != 0)
    return ACPI_ECHECKSUM;
  dir->rsdp_phys = rsdp_phys;
  dir->rsdp_revision = rsdp[15];
  if (dir->rsdp_revision < 2)
    return ACPI_EBADVALUE; /* no XSDT: ACPI 1.0 platforms predate every table we need */
  uint32_t rsdp_len = acpi_rd32(rsdp + 20);
  if (rsdp_len < 36)
    return ACPI_EBADLEN;
  rsdp = map(rsdp_phys, rsdp_len, ctx);
  if (rsdp == NULL)
    return ACPI_ETRUNCATED;
  if (acpi_checksum(rsdp, rsdp_len) != 0)
    return ACPI_ECHECKSUM;
  dir->xsdt_phys = acpi_rd64(rsdp + 24);

  const uint8_t *xsdt = map(dir->xsdt_phys, ACPI_HDR_LEN, ctx);
  if (xsdt == NULL)
    return ACPI_ETRUNCATED;
  uint32_t xsdt_len = acpi_rd32(xsdt + 4);
  if (xsdt_len < ACPI_HDR_LEN)
    return ACPI_EBADLEN;
  xsdt = map(dir->xsdt_phys, xsdt_len, ctx);
  int err = acpi_table_check(xsdt, xsdt == NULL ? 0 : xsdt_len, "XSDT", ACPI_HDR_LEN);
  if (err)
    return err;
  if ((xsdt_len - ACPI_HDR_LEN) % 8 != 0)
    return ACPI_EBADLEN;

  unsigned n = (xsdt_len - ACPI_HDR_LEN) / 8;
  for (unsigned i = 0; i < n; i++) {
    uint64_t phys = acpi_rd64(xsdt + ACPI_HDR_LEN + 8 * i);
    const uint8_t *hdr = map(phys, ACPI_HDR_LEN, ctx);
    if (hdr == NULL)
      continue; /* a bad pointer costs that table only */
    uint32_t len = acpi_rd32(hdr + 4);
    const uint8_t *t = len >= ACPI_HDR_LEN ? map(phys, len, ctx) : NULL;
    if (t == NULL || acpi_table_check(t, len, NULL, ACPI_HDR_LEN) != ACPI_OK)
      continue;
    if (dir->n_tables == ACPI_MAX_TABLES)
      return ACPI_ETOOMANY;
    struct acpi_table_ref *ref = &dir->tables[dir->n_tables++];
    memcpy(ref->sig, t, 4);
    ref->sig[4] = '\0';
    ref->data = t;
    ref->len = len;
    ref->phys = phys;
  }
  return ACPI_OK;
}

const struct acpi_table_ref *acpi_dir_find(const struct acpi_dir *dir, const char *sig,
                                           unsigned instance)
{
  for (unsigned i = 0; i < dir->n_tables; i++)
    if (memcmp(dir->tables[i].sig, sig, 4) == 0 && instance-- == 0)
      return &dir->tables[i];
  return NULL;
}

/* MCFG (PCI Firmware 3.3 4.1.2): header, 8 reserved bytes, then 16-byte allocations. */
int mcfg_parse(const uint8_t *t, size_t len, struct mcfg_info *out)
{
  memset(out, 0, sizeof(*out));
  int err = acpi_table_check(t, len, "MCFG", 44);
  if (err)
    return err;
  uint32_t tlen = acpi_rd32(t + 4);
  if ((tlen - 44) % 16 != 0)
    return ACPI_EBADLEN;
  for (uint32_t off = 44; off + 16 <= tlen; off += 16) {
    if (out->n == MCFG_MAX_SEGMENTS)
      return ACPI_ETOOMANY;
    struct mcfg_segment s = {
      .base = acpi_rd64(t + off), .segment = acpi_rd16(t + off + 8),
      .start_bus = t[off + 10], .end_bus = t[off + 11],
    };
    if (s.end_bus < s.start_bus || s.base == 0 || (s.base & 0xfffff) != 0)
      return ACPI_EBADVALUE;
    for (unsigned i = 0; i < out->n; i++)
      if (out->seg[i].segment == s.segment && s.start_bus <= out->seg[i].end_bus &&
          out->seg[i].start_bus <= s.end_bus)
        return ACPI_EOVERLAP;
    out->seg[out->n++] = s;
  }
  return ACPI_OK;
}
