/* Dirty tracking (dirty.h): capability, enforce-dirty domains, switching, harvest into an
 * IOVA bitmap with one invalidation, unmap with dirty read-back. */
#include "iommu/core/dirty.h"

#include <string.h>

int iommu_domain_alloc_flags(struct iommu_unit *unit, enum iommu_domain_type type, unsigned flags,
                             struct iommu_domain **out)
{
  *out = NULL;
  if (flags & ~IOMMU_DOMAIN_F_DIRTY)
    return IOMMU_EINVAL;
  if (!(flags & IOMMU_DOMAIN_F_DIRTY))
    return iommu_domain_alloc(unit, type, out);
  if (unit == NULL || unit->ops == NULL || !unit->active)
    return IOMMU_ENODEV;
  if (type != IOMMU_DOMAIN_PAGING || iommu_dirty_gap(unit))
    return IOMMU_EUNSUPPORTED; /* only translated domains have Dirty bits */
  int err = unit->ops->domain_alloc_dirty(unit, out);
  if (err) {
    *out = NULL;
    return err;
  }
  (*out)->dirty_enforced = true;
  (*out)->dirty_on = false;
  return IOMMU_OK;
}

const char *iommu_aux_dirty_gap(const struct iommu_unit *unit)
{
  const char *gap = iommu_dirty_gap(unit);
  if (gap)
    return gap;
  /* AMD-Vi aux domains are guest (v2) tables; this driver tracks dirty state in host (v1)
   * tables only (DTE.HAD), so there is nothing to harvest per PASID yet. */
  if (unit->ops->domain_alloc_pasid)
    return "aux domains here use guest (v2) tables; dirty tracking is implemented for host (v1) tables only";
  return NULL;
}

const char *iommu_dirty_gap(const struct iommu_unit *unit)
{
  if (unit == NULL)
    return "ACPI describes no IOMMU";
  if (unit->ops == NULL)
    return "no driver for this IOMMU kind";
  if (unit->ops->dirty_gap == NULL || unit->ops->domain_alloc_dirty == NULL)
    return "driver has no dirty tracking";
  return unit->ops->dirty_gap(unit);
}

const char *iommu_device_dirty_gap(const struct iommu_device *dev)
{
  return dev == NULL ? "no device" : iommu_dirty_gap(dev->unit);
}

int iommu_dirty_attach_check(const struct iommu_domain *dom, const struct iommu_device *dev)
{
  if (dom->dirty_enforced && iommu_device_dirty_gap(dev))
    return IOMMU_EUNSUPPORTED;
  return IOMMU_OK;
}

/* ---- harvest ---- */
void iommu_bitmap_set(uint8_t *bitmap, uint64_t first, uint64_t last)
{
  /* Bit n of little-endian 64-bit words is bit n % 8 of byte n / 8: bytes are enough. */
  uint64_t b0 = first / 8, b1 = last / 8;
  uint8_t head = (uint8_t)(0xffu << (first % 8)), tail = (uint8_t)(0xffu >> (7 - last % 8));
  if (b0 == b1) {
    bitmap[b0] |= head & tail;
    return;
  }
  bitmap[b0] |= head;
  if (b1 > b0 + 1)
    memset(bitmap + b0 + 1, 0xff, (size_t)(b1 - b0 - 1));
  bitmap[b1] |= tail;
}

struct harvest {
  uint64_t base, last, page_size;
  uint8_t *bitmap;           /* NULL: nothing reported */
  struct iommu_gather *g;    /* what was cleaned, invalidated once; NULL: the caller's
                              * unmap gathers the whole range itself */
};

/* A dirty leaf: every bit it covers inside the window, and its range into the gather. */
static void harvest_leaf(void *ctx, uint64_t iova, uint64_t size)
{
  struct harvest *h = ctx;
  uint64_t first = iova > h->base ? iova : h->base;
  uint64_t leaf_last = iova + size - 1;
  uint64_t last = leaf_last < h->last ? leaf_last : h->last;
  if (h->g)
    iommu_gather_add(h->g, iova, size);
  if (h->bitmap && first <= last)
    iommu_bitmap_set(h->bitmap, (first - h->base) / h->page_size, (last - h->base) / h->page_size);
}

static bool tracking_domain(const struct iommu_domain *dom)
{
  return dom && dom->type == IOMMU_DOMAIN_PAGING && dom->pt.root && dom->dirty_enforced;
}

/* Clears every Dirty bit of the domain (nothing reported) and invalidates the whole domain. */
static int clear_all(struct iommu_domain *dom)
{
  unsigned bits = dom->iova_bits;
  uint64_t size = bits >= 64 ? UINT64_MAX : 1ull << bits;
  struct harvest h = { .base = 0, .last = size - 1, .page_size = 1 }; /* the flush covers all */
  int err = pt_read_and_clear_dirty(&dom->pt, 0, size, true, harvest_leaf, &h);
  return err ? err : iommu_flush(dom, 0, 0);
}

int iommu_set_dirty_tracking(struct iommu_domain *dom, bool on)
{
  if (!tracking_domain(dom))
    return dom && dom->type == IOMMU_DOMAIN_PAGING ? IOMMU_EUNSUPPORTED : IOMMU_EINVAL;
  bool was = dom->dirty_on;
  dom->dirty_on = on;
  if (dom->dirty_switch && was != on) {
    int err = dom->unit->ops->set_dirty_tracking(dom, on);
    if (err) {
      dom->dirty_on = was;
      return err;
    }
  }
  return on ? clear_all(dom) : IOMMU_OK;
}

/* The checks every harvest-like request makes before it changes anything. */
static int check_window(const struct iommu_domain *dom, uint64_t iova, uint64_t length,
                        uint64_t page_size)
{
  uint64_t min = dom->page_sizes & -dom->page_sizes;
  if (length == 0 || page_size == 0 || (page_size & (page_size - 1)) || page_size < min ||
      ((iova | length) & (page_size - 1)))
    return IOMMU_EINVAL;
  uint64_t last = iova + length - 1;
  if (last < iova || (dom->iova_bits < 64 && (last >> dom->iova_bits)))
    return IOMMU_ERANGE;
  return IOMMU_OK;
}

int iommu_read_and_clear_dirty(struct iommu_domain *dom, uint64_t iova, uint64_t length,
                               uint64_t page_size, void *bitmap, unsigned flags)
{
  if (!tracking_domain(dom))
    return dom && dom->type == IOMMU_DOMAIN_PAGING ? IOMMU_EUNSUPPORTED : IOMMU_EINVAL;
  if (flags & ~IOMMU_DIRTY_NO_CLEAR)
    return IOMMU_EINVAL;
  if (!dom->dirty_on && bitmap)
    return IOMMU_EINVAL; /* nothing trustworthy to report while tracking is off */
  int err = check_window(dom, iova, length, page_size);
  if (!err)
    err = pt_check_mapped(&dom->pt, iova, length);
  if (err)
    return err;
  bool clear = !(flags & IOMMU_DIRTY_NO_CLEAR);
  struct iommu_gather g;
  iommu_gather_init(&g);
  struct harvest h = { .base = iova, .last = iova + length - 1, .page_size = page_size,
                       .bitmap = bitmap, .g = &g };
  err = pt_read_and_clear_dirty(&dom->pt, iova, length, clear, harvest_leaf, &h);
  if (err || !clear || !g.pending)
    return err;
  /* Cached translations of cleaned leaves still say "dirty": without this one flush a
   * later write would hit them and leave the leaf clean. */
  dom->dirty_flushes++;
  return iommu_sync(dom, &g);
}

int iommu_unmap_read_dirty(struct iommu_domain *dom, uint64_t iova, uint64_t size,
                           uint64_t page_size, void *bitmap, struct iommu_gather *g,
                           uint64_t *unmapped)
{
  if (bitmap == NULL)
    return iommu_unmap(dom, iova, size, g, unmapped);
  if (dom == NULL || dom->type != IOMMU_DOMAIN_PAGING)
    return IOMMU_EINVAL;
  int err = check_window(dom, iova, size, page_size);
  if (err)
    return err;
  struct harvest h = { .base = iova, .last = iova + size - 1, .page_size = page_size,
                       .bitmap = bitmap };
  return iommu_unmap_report(dom, iova, size, g, unmapped, harvest_leaf, &h);
}
