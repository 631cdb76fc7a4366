/* Dirty tracking in the core, the same on VT-d, AMD-Vi and SMMUv3: which units and devices
 * can track, domains that enforce it, switching hardware Dirty updates on and off, and the
 * harvest of Dirty bits into an IOVA bitmap with one batched invalidation. The page-table
 * engine reads and clears the bits; drivers only enable them in their context entries.
 *
 * Bitmap: bit n stands for [iova + n * page_size, iova + (n + 1) * page_size) of the
 * window asked for; bits live in 64-bit little-endian words starting at the bitmap pointer,
 * which may be any byte address (no alignment to a word or a page), and only bits inside
 * the window are ever written (set, never cleared: the caller zeroes the bitmap). A dirty
 * leaf of any size sets every bit it covers. Windows of any size can be harvested one after
 * another; nothing the size of the whole address space is ever allocated. */
#ifndef IOMMU_CORE_DIRTY_H
#define IOMMU_CORE_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/core/core.h"

/* iommu_domain_alloc_flags: a paging domain that tracks dirty state; refused
 * (IOMMU_EUNSUPPORTED) on a unit that cannot, and so is attaching a device that cannot. */
#define IOMMU_DOMAIN_F_DIRTY (1u << 0)

/* iommu_read_and_clear_dirty: report without clearing (and without any invalidation). */
#define IOMMU_DIRTY_NO_CLEAR (1u << 0)

int iommu_domain_alloc_flags(struct iommu_unit *unit, enum iommu_domain_type type, unsigned flags,
                             struct iommu_domain **out);

/* NULL when the unit (device: the unit that translates it) can track dirty state, else the
 * register field or condition that says why not. */
const char *iommu_dirty_gap(const struct iommu_unit *unit);
const char *iommu_device_dirty_gap(const struct iommu_device *dev);
/* NULL when aux (PASID-attached) domains of the unit can track dirty state, else why not. */
const char *iommu_aux_dirty_gap(const struct iommu_unit *unit);
/* IOMMU_EUNSUPPORTED when dom enforces dirty tracking and dev cannot (iommu_attach calls it). */
int iommu_dirty_attach_check(const struct iommu_domain *dom, const struct iommu_device *dev);

/* On: hardware Dirty updates enabled, the Dirty state left over from earlier writes cleared
 * over every mapping, one invalidation of the whole domain. Off: no new Dirty bits where the
 * unit has a switch (dom->dirty_switch); where Dirty updates are part of the table encoding
 * (VT-d first stage, SMMUv3 DBM) the hardware keeps marking and only harvesting stops.
 * IOMMU_EUNSUPPORTED for a domain not allocated with IOMMU_DOMAIN_F_DIRTY. */
int iommu_set_dirty_tracking(struct iommu_domain *dom, bool on);

/* Reports the dirty pages of [iova, iova + length) into bitmap (see above) and, without
 * IOMMU_DIRTY_NO_CLEAR, makes them clean and invalidates what it cleaned with ONE flush at
 * the end. page_size: a power of two, at least the domain's smallest page; iova and length
 * multiples of it. Named errors, with nothing changed: IOMMU_EINVAL (unaligned, empty, page
 * size, tracking off with a bitmap), IOMMU_ERANGE (overflow, beyond the translated width),
 * IOMMU_ENOENT (a hole: some page of the window is not mapped), IOMMU_EUNSUPPORTED (domain
 * does not track). Tracking off with bitmap NULL clears only. */
int iommu_read_and_clear_dirty(struct iommu_domain *dom, uint64_t iova, uint64_t length,
                               uint64_t page_size, void *bitmap, unsigned flags);

/* iommu_unmap that reports the dirty state of what it removed into bitmap (bit n = page n of
 * size page_size from iova, same layout as the harvest); bitmap NULL: like iommu_unmap. */
int iommu_unmap_read_dirty(struct iommu_domain *dom, uint64_t iova, uint64_t size,
                           uint64_t page_size, void *bitmap, struct iommu_gather *g,
                           uint64_t *unmapped);

/* Sets bits [first, last] of a bitmap at any byte address (64-bit little-endian words). */
void iommu_bitmap_set(uint8_t *bitmap, uint64_t first, uint64_t last);

#endif
