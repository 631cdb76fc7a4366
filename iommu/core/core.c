/* The IOMMU core API (core.h): request checks, the page-table engine for map/unmap, gather
 * and sync, device bookkeeping; the drivers are reached only from here. */
#include "iommu/core/core.h"
#include "iommu/core/dirty.h"

#include <stdio.h>
#include <string.h>

#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/core/aux.h"
#include "iommu/core/group.h"

/* Devices seen by the core: the initiators and the bystanders of every active unit. */
#define CORE_MAX_DEVICES 512
static struct iommu_device devices[CORE_MAX_DEVICES];
static unsigned n_devices;

struct iommu_device *iommu_device_get(struct platform *plat, uint16_t segment, uint16_t rid,
                                      int *err)
{
  char how[128];
  struct iommu_unit *unit = platform_unit_for_rid(plat, segment, rid, how, sizeof(how));
  *err = IOMMU_OK;
  if (unit == NULL) {
    *err = IOMMU_ENODEV;
    return NULL;
  }
  for (unsigned i = 0; i < n_devices; i++)
    if (devices[i].unit == unit && devices[i].segment == segment && devices[i].rid == rid)
      return &devices[i];
  if (n_devices == CORE_MAX_DEVICES) {
    *err = IOMMU_ENOMEM;
    return NULL;
  }
  devices[n_devices] = (struct iommu_device){ .unit = unit, .segment = segment, .rid = rid };
  return &devices[n_devices++];
}

void iommu_core_forget_unit(const struct iommu_unit *unit)
{
  iommu_groups_forget_unit(unit);
  for (unsigned i = 0; i < n_devices; i++)
    if (devices[i].unit == unit && devices[i].domain) {
      devices[i].domain->n_devices--;
      devices[i].domain = NULL;
    }
  iommu_aux_forget_unit(unit);
}

int iommu_domain_alloc(struct iommu_unit *unit, enum iommu_domain_type type,
                       struct iommu_domain **out)
{
  *out = NULL;
  if (unit == NULL || unit->ops == NULL || !unit->active)
    return IOMMU_ENODEV;
  if (type == IOMMU_DOMAIN_PASSTHROUGH && unit->ops->feature_gap(unit, IOMMU_FEAT_PASSTHROUGH))
    return IOMMU_EUNSUPPORTED;
  int err = unit->ops->domain_alloc(unit, type, out);
  if (err)
    *out = NULL;
  return err;
}

int iommu_domain_free(struct iommu_domain *dom)
{
  if (dom == NULL)
    return IOMMU_OK;
  if (dom->n_devices || iommu_aux_domain_busy(dom))
    return IOMMU_EBUSY;
  dom->unit->ops->domain_free(dom);
  return IOMMU_OK;
}

void iommu_gather_init(struct iommu_gather *g) { memset(g, 0, sizeof(*g)); }

void iommu_gather_add(struct iommu_gather *g, uint64_t iova, uint64_t size)
{
  uint64_t last = iova + size - 1;
  if (!g->pending || iova < g->start)
    g->start = iova;
  if (!g->pending || last > g->last)
    g->last = last;
  g->pending = true;
  g->ranges++;
}

/* Checks shared by map and unmap: a paging domain, a non-empty range aligned to the
 * smallest page, inside the translated width. */
static int check_range(const struct iommu_domain *dom, uint64_t iova, uint64_t size,
                       uint64_t phys)
{
  if (dom == NULL || dom->type != IOMMU_DOMAIN_PAGING || dom->pt.root == NULL)
    return IOMMU_EINVAL;
  uint64_t min = dom->page_sizes & -dom->page_sizes;
  if (size == 0 || min == 0 || ((iova | size | phys) & (min - 1)))
    return IOMMU_EINVAL;
  uint64_t last = iova + size - 1;
  if (last < iova || (dom->iova_bits < 64 && (last >> dom->iova_bits)))
    return IOMMU_ERANGE;
  return IOMMU_OK;
}

int iommu_map(struct iommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t size,
              unsigned prot)
{
  int err = check_range(dom, iova, size, phys);
  if (err)
    return err;
  if ((prot & (IOMMU_PROT_READ | IOMMU_PROT_WRITE)) == 0 ||
      (prot & ~(unsigned)(IOMMU_PROT_READ | IOMMU_PROT_WRITE)))
    return IOMMU_EINVAL;
  if (phys + size - 1 < phys)
    return IOMMU_ERANGE;
  err = pt_map_range(&dom->pt, iova, phys, size, prot);
  if (err)
    return err;
  if (dom->unit->ops->map_sync)
    err = dom->unit->ops->map_sync(dom, iova, size);
  return err;
}

int iommu_unmap(struct iommu_domain *dom, uint64_t iova, uint64_t size, struct iommu_gather *g,
                uint64_t *unmapped)
{
  return iommu_unmap_report(dom, iova, size, g, unmapped, NULL, NULL);
}

int iommu_unmap_report(struct iommu_domain *dom, uint64_t iova, uint64_t size,
                       struct iommu_gather *g, uint64_t *unmapped, pt_range_fn dirty_fn, void *ctx)
{
  uint64_t removed = 0;
  if (unmapped)
    *unmapped = 0;
  int err = check_range(dom, iova, size, 0);
  if (err)
    return err;
  err = pt_unmap_range(&dom->pt, iova, size, &removed, dirty_fn, ctx);
  if (removed)
    iommu_gather_add(g, iova, size);
  if (unmapped)
    *unmapped = removed;
  return err;
}

int iommu_sync(struct iommu_domain *dom, struct iommu_gather *g)
{
  if (!g->pending)
    return IOMMU_OK;
  int err = dom->unit->ops->flush(dom, g->start, g->last - g->start + 1);
  iommu_gather_init(g);
  return err;
}

int iommu_unmap_sync(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  struct iommu_gather g;
  iommu_gather_init(&g);
  int err = iommu_unmap(dom, iova, size, &g, NULL);
  int serr = iommu_sync(dom, &g);
  return err ? err : serr;
}

int iommu_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  if (dom == NULL || (size && iova + size - 1 < iova))
    return IOMMU_EINVAL;
  return dom->unit->ops->flush(dom, iova, size);
}

int iommu_iova_to_phys(struct iommu_domain *dom, uint64_t iova, uint64_t *phys, unsigned *prot)
{
  if (dom == NULL || dom->type != IOMMU_DOMAIN_PAGING)
    return IOMMU_EINVAL;
  return pt_iova_to_phys(&dom->pt, iova, phys, prot, NULL);
}

int iommu_attach(struct iommu_domain *dom, struct iommu_device *dev)
{
  if (dom == NULL || dev == NULL)
    return IOMMU_EINVAL;
  int derr = iommu_dirty_attach_check(dom, dev);
  if (derr)
    return derr;
  if (dom->unit != dev->unit)
    return IOMMU_EINVAL; /* a domain's tables belong to one unit */
  if (dev->domain == dom)
    return IOMMU_EEXIST;
  if (iommu_aux_count(dev))
    return IOMMU_EBUSY; /* aux domains lock the primary domain (aux.h) */
  int err = iommu_group_check_single_attach(dev); /* a group is attached as a whole */
  if (err)
    return err;
  err = dom->unit->ops->attach(dom, dev->rid);
  if (err)
    return err;
  if (dev->domain)
    dev->domain->n_devices--;
  dev->domain = dom;
  dom->n_devices++;
  return IOMMU_OK;
}

int iommu_detach(struct iommu_device *dev)
{
  if (dev == NULL)
    return IOMMU_EINVAL;
  if (dev->domain == NULL)
    return IOMMU_ENOENT;
  if (iommu_aux_count(dev))
    return IOMMU_EBUSY; /* aux domains lock the primary domain (aux.h) */
  int err = dev->unit->ops->detach(dev->unit, dev->rid);
  /* The entry is torn down even when an invalidation failed: the device is not ours. */
  dev->domain->n_devices--;
  dev->domain = NULL;
  return err;
}

const char *iommu_feature_gap(const struct iommu_unit *unit, enum iommu_feature f)
{
  if (unit == NULL)
    return "ACPI describes no IOMMU";
  if (unit->ops == NULL)
    return "no driver for this IOMMU kind";
  return unit->ops->feature_gap(unit, f);
}

int iommu_drain_faults(struct iommu_unit *unit, struct iommu_fault *out, unsigned max,
                       unsigned *n, bool *overflow)
{
  *n = 0;
  *overflow = false;
  if (!unit->active)
    return IOMMU_ENODEV;
  return unit->ops->drain_faults(unit, out, max, n, overflow);
}

unsigned iommu_fault_slots(const struct iommu_unit *unit) { return unit->ops->fault_slots(unit); }

void iommu_describe_caps(const struct iommu_unit *unit, iommu_line_fn line, void *ctx)
{
  unit->ops->describe_caps(unit, line, ctx);
}

int iommu_check_caps(const struct iommu_unit *unit, const struct platform *plat, char *why,
                     size_t why_len)
{
  return unit->ops->check_caps(unit, plat, why, why_len);
}

int iommu_queue_wait(struct iommu_unit *unit, char *why, size_t why_len)
{
  return unit->ops->queue_wait(unit, why, why_len);
}

int iommu_queue_error(struct iommu_unit *unit, char *why, size_t why_len)
{
  return unit->ops->queue_error(unit, why, why_len);
}

bool iommu_can_inject(const struct iommu_unit *unit)
{
  return unit->ops->inject != NULL && unit->ops->inject_revert != NULL;
}

int iommu_inject(struct iommu_device *dev, enum iommu_inject what)
{
  if (!iommu_can_inject(dev->unit))
    return IOMMU_EUNSUPPORTED;
  if (dev->domain == NULL)
    return IOMMU_ENOENT; /* breaks a working setup only */
  return dev->unit->ops->inject(dev->unit, what, dev->rid);
}

int iommu_inject_revert(struct iommu_device *dev, enum iommu_inject what)
{
  if (!iommu_can_inject(dev->unit))
    return IOMMU_EUNSUPPORTED;
  return dev->unit->ops->inject_revert(dev->unit, what, dev->rid);
}

/* Other units enabled after this one also hold pages: the count then proves nothing. */
static bool only_active_unit(const struct platform *plat, const struct iommu_unit *unit)
{
  for (unsigned i = 0; plat && i < plat->n_iommus; i++)
    if (&plat->iommus[i] != unit && plat->iommus[i].active)
      return false;
  return true;
}

int iommu_restore_unit(struct platform *plat, struct iommu_unit *unit, char *why, size_t why_len)
{
  if (!unit->active)
    return IOMMU_ENODEV;
  int err = unit->ops->disable(unit, why, why_len);
  unit->active = false;
  unit->disabled_by_restore = true;
  iommu_core_forget_unit(unit);
  /* "Tables gone" is observed in the page allocator: every page the unit's enable and its
   * domains took is back (bystander domains hold no pages). */
  if (only_active_unit(plat, unit)) {
    uint64_t now = page_alloc_outstanding();
    struct subconds sc;
    bool had = subconds_take(&sc, why);
    bool freed = subcond(&sc, "tables-freed", now <= unit->pages_at_enable);
    size_t n = strlen(why);
    if (!freed)
      snprintf(why + n, why_len - n, "%s%llu page(s) still allocated since enable", n ? "; " : "",
               (unsigned long long)(now - unit->pages_at_enable));
    else if (n < why_len)
      snprintf(why + n, why_len - n, "%severy page allocated since enable is freed", n ? "; " : "");
    if (had || !freed)
      subconds_append(&sc, why, why_len);
    if (!freed && !err)
      err = IOMMU_EBADREG;
  }
  return err;
}
