/* DMAR (Intel VT-d 4.1, chapter 8): DRHD, RMRR, ATSR and their device scopes. */
#include "boot/acpi.h"

#include <string.h>

#define DMAR_HDR_LEN 48u
#define DMAR_TYPE_DRHD 0
#define DMAR_TYPE_RMRR 1
#define DMAR_TYPE_ATSR 2

/* Device scopes (8.3.1) fill the rest of a remapping structure: [off, end). */
static int parse_scopes(const uint8_t *t, uint32_t off, uint32_t end, struct dmar_scope *scopes,
                        unsigned *n_scopes)
{
  *n_scopes = 0;
  while (off < end) {
    if (end - off < 6)
      return ACPI_ETRUNCATED;
    uint8_t len = t[off + 1];
    if (len < 6 || (len - 6) % 2 != 0)
      return ACPI_EBADLEN;
    if (len > end - off)
      return ACPI_ETRUNCATED;
    if (*n_scopes == DMAR_MAX_SCOPES)
      return ACPI_ETOOMANY;
    struct dmar_scope *s = &scopes[(*n_scopes)++];
    memset(s, 0, sizeof(*s));
    s->type = t[off];
    s->flags = t[off + 2];
    s->enum_id = t[off + 4];
    s->start_bus = t[off + 5];
    unsigned path_len = (len - 6u) / 2u;
    if (path_len > DMAR_MAX_PATH)
      return ACPI_ETOOMANY;
    if ((s->type == DMAR_SCOPE_PCI_ENDPOINT || s->type == DMAR_SCOPE_PCI_SUBHIERARCHY) &&
        path_len == 0)
      return ACPI_EBADLEN;
    s->path_len = (uint8_t)path_len;
    for (unsigned i = 0; i < path_len; i++) {
      s->path[i].dev = t[off + 6 + 2 * i];
      s->path[i].fn = t[off + 7 + 2 * i];
      if (s->path[i].dev > 31 || s->path[i].fn > 7)
        return ACPI_EBADVALUE;
    }
    off += len;
  }
  return ACPI_OK;
}

int dmar_parse(const uint8_t *t, size_t len, struct dmar_info *out)
{
  memset(out, 0, sizeof(*out));
  int err = acpi_table_check(t, len, "DMAR", DMAR_HDR_LEN);
  if (err)
    return err;
  uint32_t tlen = acpi_rd32(t + 4);
  /* Host Address Width is N-1 for N address bits: physical addresses have at most 64. */
  if (t[36] > 63)
    return ACPI_EBADVALUE;
  out->host_address_width = (uint8_t)(t[36] + 1);
  out->flags = t[37];

  for (uint32_t off = DMAR_HDR_LEN; off < tlen;) {
    if (tlen - off < 4)
      return ACPI_ETRUNCATED;
    uint16_t type = acpi_rd16(t + off);
    uint16_t slen = acpi_rd16(t + off + 2);
    if (slen < 4)
      return ACPI_EBADLEN; /* zero length would never advance */
    if (slen > tlen - off)
      return ACPI_ETRUNCATED;
    uint32_t end = off + slen;

    switch (type) {
    case DMAR_TYPE_DRHD: {
      if (slen < 16)
        return ACPI_EBADLEN;
      if (out->n_drhd == DMAR_MAX_DRHD)
        return ACPI_ETOOMANY;
      struct dmar_drhd *d = &out->drhd[out->n_drhd];
      d->flags = t[off + 4];
      d->size = t[off + 5] & 0x0f;
      d->segment = acpi_rd16(t + off + 6);
      d->base = acpi_rd64(t + off + 8);
      /* The register set is 2^Size pages and naturally aligned to its size. */
      if (d->base == 0 || (d->base & ((4096ull << d->size) - 1)) != 0)
        return ACPI_EBADVALUE;
      for (unsigned i = 0; i < out->n_drhd; i++) {
        if (out->drhd[i].base == d->base)
          return ACPI_EOVERLAP;
        if ((d->flags & DMAR_DRHD_INCLUDE_PCI_ALL) &&
            (out->drhd[i].flags & DMAR_DRHD_INCLUDE_PCI_ALL) &&
            out->drhd[i].segment == d->segment)
          return ACPI_EOVERLAP; /* two catch-all units for one segment */
      }
      err = parse_scopes(t, off + 16, end, d->scopes, &d->n_scopes);
      if (err)
        return err;
      out->n_drhd++;
      break;
    }
    case DMAR_TYPE_RMRR: {
      if (slen < 24)
        return ACPI_EBADLEN;
      if (out->n_rmrr == DMAR_MAX_RMRR)
        return ACPI_ETOOMANY;
      struct dmar_rmrr *r = &out->rmrr[out->n_rmrr];
      r->segment = acpi_rd16(t + off + 6);
      r->base = acpi_rd64(t + off + 8);
      r->limit = acpi_rd64(t + off + 16);
      /* 8.4: base 4 KiB aligned, limit + 1 4 KiB aligned, limit above base. */
      if ((r->base & 0xfff) != 0 || ((r->limit + 1) & 0xfff) != 0 || r->limit <= r->base)
        return ACPI_EBADVALUE;
      err = parse_scopes(t, off + 24, end, r->scopes, &r->n_scopes);
      if (err)
        return err;
      out->n_rmrr++;
      break;
    }
    case DMAR_TYPE_ATSR: {
      if (slen < 8)
        return ACPI_EBADLEN;
      if (out->n_atsr == DMAR_MAX_ATSR)
        return ACPI_ETOOMANY;
      struct dmar_atsr *a = &out->atsr[out->n_atsr];
      a->flags = t[off + 4];
      a->segment = acpi_rd16(t + off + 6);
      err = parse_scopes(t, off + 8, end, a->scopes, &a->n_scopes);
      if (err)
        return err;
      out->n_atsr++;
      break;
    }
    default:
      out->n_other++; /* RHSA, ANDD, SATC, SIDP: lengths checked, contents not needed */
      break;
    }
    off = end;
  }
  out->present = true;
  return ACPI_OK;
}
