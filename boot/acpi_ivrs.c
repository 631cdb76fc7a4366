/* IVRS (AMD I/O Virtualization Technology spec 48882 rev 3.08, section 5.2):
 * IVHD blocks 0x10/0x11/0x40 with their device entries, IVMD blocks 0x20-0x22. */
#include "boot/acpi.h"

#include <string.h>

#define IVRS_HDR_LEN 48u
#define IVHD10_HDR_LEN 24u
#define IVHD11_HDR_LEN 40u
#define IVMD_LEN 32u

enum {
  IVHD_DEV_PAD = 0x00, IVHD_DEV_ALL = 0x01, IVHD_DEV_SELECT = 0x02, IVHD_DEV_RANGE_START = 0x03,
  IVHD_DEV_RANGE_END = 0x04, IVHD_DEV_ALIAS_SELECT = 0x42, IVHD_DEV_ALIAS_RANGE = 0x43,
  IVHD_DEV_EXT_SELECT = 0x46, IVHD_DEV_EXT_RANGE = 0x47, IVHD_DEV_SPECIAL = 0x48,
  IVHD_DEV_ACPI_HID = 0xf0,
};

/* 5.2.2.2: entry length is encoded in the type's top two bits below 0x80; 0xF0 carries
 * its UID length at offset 21. Other types >= 0x80 have no length we can know. */
static int dev_entry_len(const uint8_t *e, uint32_t avail, uint32_t *len)
{
  uint8_t type = e[0];
  if (type < 0x80) {
    *len = 4u << (type >> 6);
  } else if (type == IVHD_DEV_ACPI_HID) {
    if (avail < 22)
      return ACPI_ETRUNCATED;
    *len = 22u + e[21];
  } else {
    return ACPI_EBADVALUE;
  }
  return *len > avail ? ACPI_ETRUNCATED : ACPI_OK;
}

static int add_range(struct ivrs_ivhd *h, const struct ivrs_devrange *r)
{
  if (h->n_dev == IVRS_MAX_DEVRANGES)
    return ACPI_ETOOMANY;
  h->dev[h->n_dev++] = *r;
  return ACPI_OK;
}

static int parse_dev_entries(const uint8_t *t, uint32_t off, uint32_t end, struct ivrs_ivhd *h)
{
  while (off < end) {
    uint32_t elen;
    int err = dev_entry_len(t + off, end - off, &elen);
    if (err)
      return err;
    const uint8_t *e = t + off;
    struct ivrs_devrange r = { .entry_type = e[0], .setting = e[3] };
    switch (e[0]) {
    case IVHD_DEV_PAD:
      break;
    case IVHD_DEV_ALL:
      r.kind = IVRS_DEV_ALL;
      r.first = 0;
      r.last = 0xffff;
      err = add_range(h, &r);
      break;
    case IVHD_DEV_SELECT:
    case IVHD_DEV_EXT_SELECT:
      r.kind = IVRS_DEV_RANGE;
      r.first = r.last = acpi_rd16(e + 1);
      err = add_range(h, &r);
      break;
    case IVHD_DEV_ALIAS_SELECT:
      r.kind = IVRS_DEV_ALIAS_RANGE;
      r.first = r.last = acpi_rd16(e + 1);
      r.alias = acpi_rd16(e + 5);
      err = add_range(h, &r);
      break;
    case IVHD_DEV_RANGE_START:
    case IVHD_DEV_ALIAS_RANGE:
    case IVHD_DEV_EXT_RANGE: {
      /* A start entry must be followed directly by an end-of-range entry. */
      uint32_t next = off + elen;
      if (end - next < 4)
        return ACPI_ETRUNCATED;
      if (t[next] != IVHD_DEV_RANGE_END)
        return ACPI_EBADVALUE;
      r.kind = e[0] == IVHD_DEV_ALIAS_RANGE ? IVRS_DEV_ALIAS_RANGE : IVRS_DEV_RANGE;
      r.first = acpi_rd16(e + 1);
      r.last = acpi_rd16(t + next + 1);
      if (e[0] == IVHD_DEV_ALIAS_RANGE)
        r.alias = acpi_rd16(e + 5);
      if (r.last < r.first)
        return ACPI_EBADVALUE;
      err = add_range(h, &r);
      elen += 4;
      break;
    }
    case IVHD_DEV_RANGE_END:
      return ACPI_EBADVALUE; /* an end without a start */
    case IVHD_DEV_SPECIAL:
      r.kind = IVRS_DEV_SPECIAL;
      r.special_handle = e[4];
      r.first = r.last = acpi_rd16(e + 5);
      r.special_variety = e[7];
      err = add_range(h, &r);
      break;
    case IVHD_DEV_ACPI_HID:
      r.kind = IVRS_DEV_ACPI_HID;
      r.first = r.last = acpi_rd16(e + 1);
      err = add_range(h, &r);
      break;
    default:
      break; /* reserved type of known length: skipped */
    }
    if (err)
      return err;
    off += elen;
  }
  return ACPI_OK;
}

int ivrs_parse(const uint8_t *t, size_t len, struct ivrs_info *out)
{
  memset(out, 0, sizeof(*out));
  int err = acpi_table_check(t, len, "IVRS", IVRS_HDR_LEN);
  if (err)
    return err;
  uint32_t tlen = acpi_rd32(t + 4);
  out->iv_info = acpi_rd32(t + 36);

  for (uint32_t off = IVRS_HDR_LEN; off < tlen;) {
    if (tlen - off < 4)
      return ACPI_ETRUNCATED;
    uint8_t type = t[off];
    uint16_t blen = acpi_rd16(t + off + 2);
    if (blen < 4)
      return ACPI_EBADLEN;
    if (blen > tlen - off)
      return ACPI_ETRUNCATED;
    const uint8_t *b = t + off;

    if (type == 0x10 || type == 0x11 || type == 0x40) {
      uint32_t hlen = type == 0x10 ? IVHD10_HDR_LEN : IVHD11_HDR_LEN;
      if (blen < hlen)
        return ACPI_EBADLEN;
      if (out->n_ivhd == IVRS_MAX_IVHD)
        return ACPI_ETOOMANY;
      struct ivrs_ivhd *h = &out->ivhd[out->n_ivhd];
      memset(h, 0, sizeof(*h));
      h->type = type;
      h->flags = b[1];
      h->iommu_devid = acpi_rd16(b + 4);
      h->cap_offset = acpi_rd16(b + 6);
      h->base = acpi_rd64(b + 8);
      h->segment = acpi_rd16(b + 16);
      h->iommu_info = acpi_rd16(b + 18);
      h->attributes = acpi_rd32(b + 20);
      if (type != 0x10) {
        h->efr_image = acpi_rd64(b + 24);
        h->efr2_image = acpi_rd64(b + 32);
      }
      if (h->base == 0 || (h->base & 0x3fff) != 0) /* 16 KiB aligned register window */
        return ACPI_EBADVALUE;
      err = parse_dev_entries(t, off + hlen, off + blen, h);
      if (err)
        return err;
      out->n_ivhd++;
    } else if (type >= 0x20 && type <= 0x22) {
      if (blen < IVMD_LEN)
        return ACPI_EBADLEN;
      if (out->n_ivmd == IVRS_MAX_IVMD)
        return ACPI_ETOOMANY;
      struct ivrs_ivmd *m = &out->ivmd[out->n_ivmd++];
      m->type = type;
      m->flags = b[1];
      m->devid = acpi_rd16(b + 4);
      m->aux = acpi_rd16(b + 6);
      m->start = acpi_rd64(b + 16);
      m->length = acpi_rd64(b + 24);
    } else {
      out->n_ivhd_skipped++; /* unknown block type: its length is all we need */
    }
    off += blen;
  }
  out->present = true;
  return ACPI_OK;
}

bool ivrs_ivhd_is_preferred(const struct ivrs_info *ivrs, unsigned index)
{
  const struct ivrs_ivhd *h = &ivrs->ivhd[index];
  for (unsigned j = 0; j < ivrs->n_ivhd; j++) {
    const struct ivrs_ivhd *o = &ivrs->ivhd[j];
    if (j == index || o->iommu_devid != h->iommu_devid || o->segment != h->segment)
      continue;
    if (o->type > h->type || (o->type == h->type && j < index))
      return false;
  }
  return true;
}
