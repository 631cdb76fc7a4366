/* The IOMMU core API: what scenarios call, the same on VT-d, AMD-Vi and SMMUv3. Devices
 * (a requester ID on a segment and the unit that translates it), domains, map/unmap of any
 * size the domain's page sizes allow (through the page-table engine), a gather that
 * collects what must be invalidated and one sync that flushes it, attach/detach, faults,
 * and the unit-level machinery the conformance checks exercise. Every check that a request
 * is legal lives here once, with a named error; drivers only say how their hardware does it. */
#ifndef IOMMU_CORE_H
#define IOMMU_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"

/* A device as the IOMMU sees it: the requester ID its DMA carries. */
struct iommu_device {
  struct iommu_unit *unit;  /* the unit that translates it (ACPI scope) */
  uint16_t segment, rid;
  struct iommu_domain *domain; /* primary domain, NULL while blocked */
};

/* The device for (segment, rid), registered on first use; NULL when no unit translates it
 * or the registry is full (*err says which). */
struct iommu_device *iommu_device_get(struct platform *plat, uint16_t segment, uint16_t rid,
                                      int *err);

int iommu_domain_alloc(struct iommu_unit *unit, enum iommu_domain_type type,
                       struct iommu_domain **out);
/* Refused (IOMMU_EBUSY) while devices are attached. */
int iommu_domain_free(struct iommu_domain *dom);

/* Ranges whose translations must be invalidated, collected by unmap and flushed by sync. */
struct iommu_gather {
  uint64_t start, last;
  bool pending;
  unsigned ranges;          /* ranges gathered since the last sync */
};
void iommu_gather_init(struct iommu_gather *g);
/* Adds [iova, iova+size) to what the next iommu_sync invalidates. */
void iommu_gather_add(struct iommu_gather *g, uint64_t iova, uint64_t size);

/* Maps [iova, iova+size) to phys with the largest leaves alignment allows; iova, phys and
 * size aligned to the domain's smallest page; prot IOMMU_PROT_READ and/or WRITE. Whatever
 * the hardware needs for new entries (caching mode, write buffer) is done before return. */
int iommu_map(struct iommu_domain *dom, uint64_t iova, uint64_t phys, uint64_t size,
              unsigned prot);
/* Removes every leaf in the range (a leaf cut by either end: IOMMU_ERANGE, nothing done)
 * and gathers the range; nothing is invalidated until iommu_sync. *unmapped may be NULL. */
int iommu_unmap(struct iommu_domain *dom, uint64_t iova, uint64_t size, struct iommu_gather *g,
                uint64_t *unmapped);
/* iommu_unmap that also tells dirty_fn (may be NULL) each dirty leaf it removed. */
int iommu_unmap_report(struct iommu_domain *dom, uint64_t iova, uint64_t size,
                       struct iommu_gather *g, uint64_t *unmapped, pt_range_fn dirty_fn, void *ctx);
/* One invalidation covering everything gathered (targeted where the hardware can name the
 * range, the whole domain otherwise), waiting for completion. */
int iommu_sync(struct iommu_domain *dom, struct iommu_gather *g);
/* iommu_unmap + iommu_sync of that range. */
int iommu_unmap_sync(struct iommu_domain *dom, uint64_t iova, uint64_t size);
/* Invalidates [iova, iova+size) (size 0: the whole domain) without changing the tables. */
int iommu_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size);
/* The software walk, as the hardware would do it. */
int iommu_iova_to_phys(struct iommu_domain *dom, uint64_t iova, uint64_t *phys, unsigned *prot);

/* The domain becomes the device's primary domain (replacing any other); attaching a domain
 * of another unit is IOMMU_EINVAL, attaching the one already attached IOMMU_EEXIST. */
int iommu_attach(struct iommu_domain *dom, struct iommu_device *dev);
/* The device goes back to blocked; IOMMU_ENOENT when nothing was attached. */
int iommu_detach(struct iommu_device *dev);

/* NULL when the unit has the feature, else the register field that says it lacks it. A
 * unit whose probe failed names the failure. */
const char *iommu_feature_gap(const struct iommu_unit *unit, enum iommu_feature f);
/* Reads and clears up to max fault records; *overflow reports (and clears) overflow. */
int iommu_drain_faults(struct iommu_unit *unit, struct iommu_fault *out, unsigned max,
                       unsigned *n, bool *overflow);
unsigned iommu_fault_slots(const struct iommu_unit *unit);

/* Unit-level checks (discover.caps, queue.*, fault injection, state.restore). */
void iommu_describe_caps(const struct iommu_unit *unit, iommu_line_fn line, void *ctx);
int iommu_check_caps(const struct iommu_unit *unit, const struct platform *plat, char *why,
                     size_t why_len);
int iommu_queue_wait(struct iommu_unit *unit, char *why, size_t why_len);
int iommu_queue_error(struct iommu_unit *unit, char *why, size_t why_len);
bool iommu_can_inject(const struct iommu_unit *unit);
int iommu_inject(struct iommu_device *dev, enum iommu_inject what);
int iommu_inject_revert(struct iommu_device *dev, enum iommu_inject what);
/* Hands the unit back now (state.restore): registers to their entry values, tables freed,
 * every device of the unit forgotten as blocked, and every page allocated since enable
 * freed (sub-condition tables-freed, checked where no other unit is active). */
int iommu_restore_unit(struct platform *plat, struct iommu_unit *unit, char *why, size_t why_len);
/* Every device of the unit is blocked again (the unit was handed back). */
void iommu_core_forget_unit(const struct iommu_unit *unit);

#endif
