/* Containers: one IO address space shared by several groups. The container owns the
 * mappings; each group attached to it translates through a domain of its own unit. A group
 * joins a domain the container already has on its unit (a domain's tables belong to one
 * unit); on another unit it gets a second domain into which every existing mapping is
 * replayed. Later map/unmap reach every domain. A group whose unit cannot honour the
 * container (the container's IOVA width, its page size) is refused with the reason. */
#ifndef IOMMU_CORE_CONTAINER_H
#define IOMMU_CORE_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "iommu/core/group.h"

#define IOMMU_CONTAINER_MAX_MAPS 64
#define IOMMU_CONTAINER_MAX_DOMAINS 4
#define IOMMU_CONTAINER_MAX_GROUPS 8

struct iommu_container_map {
  uint64_t iova, phys, size;
  unsigned prot;
};

struct iommu_container {
  unsigned iova_bits;           /* the address space every domain must translate */
  uint64_t page_size;           /* the granule mappings are made of */
  unsigned n_maps;
  struct iommu_container_map maps[IOMMU_CONTAINER_MAX_MAPS];
  unsigned n_domains;
  struct {
    struct iommu_domain *dom;
    unsigned n_groups;
  } domains[IOMMU_CONTAINER_MAX_DOMAINS];
  unsigned n_groups;
  struct iommu_group *groups[IOMMU_CONTAINER_MAX_GROUPS];
};

/* An empty address space of iova_bits bits in page_size granules (a power of two). */
int iommu_container_init(struct iommu_container *c, unsigned iova_bits, uint64_t page_size);
/* Attaches the group (see above). *replayed: mappings copied into a new domain (0 when the
 * group joined an existing one). On refusal why says what the unit cannot honour:
 * IOMMU_ERANGE (IOVA width), IOMMU_EUNSUPPORTED (page size), IOMMU_EBUSY (the group is
 * attached elsewhere). */
int iommu_container_attach(struct iommu_container *c, struct iommu_group *g, unsigned *replayed,
                           char *why, size_t why_len);
/* The group back to blocked; the other groups keep translating. A domain no group uses any
 * more is freed. */
int iommu_container_detach(struct iommu_container *c, struct iommu_group *g);
/* Maps in every domain (all or nothing). */
int iommu_container_map(struct iommu_container *c, uint64_t iova, uint64_t phys, uint64_t size,
                        unsigned prot);
/* Removes whole mappings made by iommu_container_map from every domain, invalidated. */
int iommu_container_unmap(struct iommu_container *c, uint64_t iova, uint64_t size);
/* The domain the group translates through, NULL when it is not attached here. */
struct iommu_domain *iommu_container_domain_of(const struct iommu_container *c,
                                               const struct iommu_group *g);
/* Detaches every group and frees every domain. */
void iommu_container_release(struct iommu_container *c);

#endif
