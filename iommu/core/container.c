/* Containers (container.h): IO address spaces shared by groups, over one domain per unit. */
#include "iommu/core/container.h"

#include <stdio.h>
#include <string.h>

int iommu_container_init(struct iommu_container *c, unsigned iova_bits, uint64_t page_size)
{
  memset(c, 0, sizeof(*c));
  if (iova_bits < 12 || iova_bits > 64 || page_size < IOMMU_PAGE_4K ||
      (page_size & (page_size - 1)))
    return IOMMU_EINVAL;
  c->iova_bits = iova_bits;
  c->page_size = page_size;
  return IOMMU_OK;
}

static int domain_index(const struct iommu_container *c, const struct iommu_domain *dom)
{
  for (unsigned i = 0; i < c->n_domains; i++)
    if (c->domains[i].dom == dom)
      return (int)i;
  return -1;
}

struct iommu_domain *iommu_container_domain_of(const struct iommu_container *c,
                                               const struct iommu_group *g)
{
  for (unsigned i = 0; i < c->n_groups; i++)
    if (c->groups[i] == g)
      return g->domain;
  return NULL;
}

/* Whether a new domain of the group's unit can hold the container; why says what not. */
static int check_compat(const struct iommu_container *c, const struct iommu_domain *dom,
                        char *why, size_t why_len)
{
  uint64_t smallest = dom->page_sizes & -dom->page_sizes;
  if (dom->iova_bits < c->iova_bits) {
    snprintf(why, why_len, "%s translates %u-bit IOVAs; the container's address space is %u bits",
             dom->unit->source, dom->iova_bits, c->iova_bits);
    return IOMMU_ERANGE;
  }
  if (smallest == 0 || smallest > c->page_size) {
    snprintf(why, why_len, "%s maps %llu KiB pages at least; the container maps %llu KiB pages",
             dom->unit->source, (unsigned long long)(smallest >> 10),
             (unsigned long long)(c->page_size >> 10));
    return IOMMU_EUNSUPPORTED;
  }
  return IOMMU_OK;
}

int iommu_container_attach(struct iommu_container *c, struct iommu_group *g, unsigned *replayed,
                           char *why, size_t why_len)
{
  *replayed = 0;
  snprintf(why, why_len, "%s", "");
  if (g == NULL || g->unit == NULL)
    return IOMMU_EINVAL;
  if (g->domain) {
    snprintf(why, why_len, "group %u is attached to another domain", g->id);
    return IOMMU_EBUSY;
  }
  if (c->n_groups == IOMMU_CONTAINER_MAX_GROUPS)
    return IOMMU_ENOMEM;
  /* A domain of the same unit is shared: its tables are what that unit walks. */
  for (unsigned i = 0; i < c->n_domains; i++) {
    if (c->domains[i].dom->unit != g->unit)
      continue;
    int err = iommu_group_attach(g, c->domains[i].dom);
    if (err)
      return err;
    c->domains[i].n_groups++;
    c->groups[c->n_groups++] = g;
    snprintf(why, why_len, "joined domain %u of %s", i, g->unit->source);
    return IOMMU_OK;
  }
  if (c->n_domains == IOMMU_CONTAINER_MAX_DOMAINS)
    return IOMMU_ENOMEM;
  struct iommu_domain *dom;
  int err = iommu_domain_alloc(g->unit, IOMMU_DOMAIN_PAGING, &dom);
  if (err) {
    snprintf(why, why_len, "no paging domain on %s", g->unit->source);
    return err;
  }
  err = check_compat(c, dom, why, why_len);
  for (unsigned m = 0; err == IOMMU_OK && m < c->n_maps; m++) {
    const struct iommu_container_map *mp = &c->maps[m];
    err = iommu_map(dom, mp->iova, mp->phys, mp->size, mp->prot);
    if (err)
      snprintf(why, why_len, "replaying IOVA 0x%llx into %s failed",
               (unsigned long long)mp->iova, g->unit->source);
  }
  if (err == IOMMU_OK)
    err = iommu_group_attach(g, dom);
  if (err) {
    iommu_domain_free(dom);
    return err;
  }
  *replayed = c->n_maps;
  c->domains[c->n_domains].dom = dom;
  c->domains[c->n_domains].n_groups = 1;
  c->n_domains++;
  c->groups[c->n_groups++] = g;
  snprintf(why, why_len, "new domain %u on %s, %u mapping(s) replayed", c->n_domains - 1,
           g->unit->source, c->n_maps);
  return IOMMU_OK;
}

int iommu_container_detach(struct iommu_container *c, struct iommu_group *g)
{
  int at = -1;
  for (unsigned i = 0; i < c->n_groups; i++)
    if (c->groups[i] == g)
      at = (int)i;
  if (at < 0)
    return IOMMU_ENOENT;
  int d = domain_index(c, g->domain);
  int err = iommu_group_detach(g);
  c->groups[at] = c->groups[--c->n_groups];
  if (d >= 0 && --c->domains[d].n_groups == 0) {
    /* Nothing translates through it any more: its tables go. */
    int ferr = iommu_domain_free(c->domains[d].dom);
    c->domains[d] = c->domains[--c->n_domains];
    if (err == IOMMU_OK)
      err = ferr;
  }
  return err;
}

static bool map_fits(const struct iommu_container *c, uint64_t iova, uint64_t size)
{
  uint64_t last = iova + size - 1;
  return size && last >= iova && (c->iova_bits >= 64 || (last >> c->iova_bits) == 0) &&
         ((iova | size) & (c->page_size - 1)) == 0;
}

int iommu_container_map(struct iommu_container *c, uint64_t iova, uint64_t phys, uint64_t size,
                        unsigned prot)
{
  if (!map_fits(c, iova, size))
    return IOMMU_ERANGE;
  if (c->n_maps == IOMMU_CONTAINER_MAX_MAPS)
    return IOMMU_ENOMEM;
  for (unsigned m = 0; m < c->n_maps; m++)
    if (iova <= c->maps[m].iova + c->maps[m].size - 1 && c->maps[m].iova <= iova + size - 1)
      return IOMMU_EEXIST;
  unsigned done = 0;
  int err = IOMMU_OK;
  for (; done < c->n_domains && err == IOMMU_OK; done++)
    err = iommu_map(c->domains[done].dom, iova, phys, size, prot);
  if (err) { /* all or nothing: the domains that took it give it back */
    for (unsigned i = 0; i + 1 < done; i++)
      iommu_unmap_sync(c->domains[i].dom, iova, size);
    return err;
  }
  c->maps[c->n_maps++] = (struct iommu_container_map){ iova, phys, size, prot };
  return IOMMU_OK;
}

int iommu_container_unmap(struct iommu_container *c, uint64_t iova, uint64_t size)
{
  if (!map_fits(c, iova, size))
    return IOMMU_ERANGE;
  /* Only whole mappings: a cut one would leave the domains disagreeing with the list. */
  uint64_t covered = 0;
  for (unsigned m = 0; m < c->n_maps; m++) {
    const struct iommu_container_map *mp = &c->maps[m];
    bool overlaps = iova <= mp->iova + mp->size - 1 && mp->iova <= iova + size - 1;
    bool inside = mp->iova >= iova && mp->iova + mp->size - 1 <= iova + size - 1;
    if (overlaps && !inside)
      return IOMMU_ERANGE;
    if (inside)
      covered += mp->size;
  }
  if (covered == 0)
    return IOMMU_ENOENT;
  int first_err = IOMMU_OK;
  for (unsigned i = 0; i < c->n_domains; i++) {
    int err = iommu_unmap_sync(c->domains[i].dom, iova, size);
    if (err && first_err == IOMMU_OK)
      first_err = err;
  }
  for (unsigned m = 0; m < c->n_maps;) {
    if (c->maps[m].iova >= iova && c->maps[m].iova + c->maps[m].size - 1 <= iova + size - 1)
      c->maps[m] = c->maps[--c->n_maps];
    else
      m++;
  }
  return first_err;
}

void iommu_container_release(struct iommu_container *c)
{
  while (c->n_groups)
    iommu_container_detach(c, c->groups[c->n_groups - 1]);
  for (unsigned i = 0; i < c->n_domains; i++)
    iommu_domain_free(c->domains[i].dom);
  c->n_domains = 0;
  c->n_maps = 0;
}
