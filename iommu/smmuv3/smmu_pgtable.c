/* VMSAv8-64 translation tables for SMMUv3 stage 1 and stage 2 (Arm ARM D8): 4K, 16K and
 * 64K granules, as many levels as the input width needs (the top table may be partial),
 * page leaves at level 3 and block leaves at level 2 (and level 1 with 4K). Tables are
 * granule-sized and aligned to their size. */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/smmuv3/smmu_internal.h"

void smmu_sync_mem(bool coherent, const void *p, size_t len)
{
  if (!coherent)
    arch_cache_flush(p, len);
  else
    arch_mb();
}

static unsigned stride(const struct smmu_pt *pt) { return pt->granule - 3; }

static unsigned level_shift(const struct smmu_pt *pt, unsigned level)
{
  return pt->granule + (3 - level) * stride(pt);
}

static unsigned index_at(const struct smmu_pt *pt, uint64_t iova, unsigned level)
{
  unsigned bits = level == pt->start_level ? pt->ias - level_shift(pt, level) : stride(pt);
  return (unsigned)((iova >> level_shift(pt, level)) & ((1ull << bits) - 1));
}

/* A zeroed table of one granule, aligned to the granule. */
static uint64_t *table_alloc(struct smmu_pt *pt, uint64_t *phys)
{
  if (pt->n_mem == pt->cap_mem) {
    unsigned cap = pt->cap_mem ? pt->cap_mem * 2 : 16;
    struct smmu_pt_mem *m = realloc(pt->mem, cap * sizeof(*m));
    if (m == NULL)
      return NULL;
    pt->mem = m;
    pt->cap_mem = cap;
  }
  size_t bytes = (size_t)1 << pt->granule;
  size_t want = bytes / PAGE_SIZE;
  size_t pages = want == 1 ? 1 : 2 * want - 1; /* room to align up to the granule */
  uint64_t p;
  uint8_t *mem = page_alloc(pages, UINT64_MAX, &p);
  if (mem == NULL)
    return NULL;
  uint64_t aligned = (p + bytes - 1) & ~(uint64_t)(bytes - 1);
  pt->mem[pt->n_mem++] = (struct smmu_pt_mem){ mem, pages };
  uint64_t *t = (uint64_t *)(void *)(mem + (aligned - p));
  smmu_sync_mem(pt->coherent, t, bytes);
  *phys = aligned;
  return t;
}

int smmu_pt_init(struct smmu_pt *pt, unsigned stage, unsigned granule, unsigned ias, unsigned oas,
                 bool coherent)
{
  memset(pt, 0, sizeof(*pt));
  if ((granule != 12 && granule != 14 && granule != 16) || ias <= granule || ias > 48 || oas > 48)
    return IOMMU_EUNSUPPORTED;
  pt->stage = stage;
  pt->granule = granule;
  pt->ias = ias;
  pt->oas = oas;
  pt->coherent = coherent;
  pt->levels = smmu_pt_levels(granule, ias);
  if (pt->levels > 4)
    return IOMMU_EUNSUPPORTED;
  pt->start_level = 4 - pt->levels;
  pt->root = table_alloc(pt, &pt->root_phys);
  return pt->root ? IOMMU_OK : IOMMU_ENOMEM;
}

static bool block_allowed(const struct smmu_pt *pt, unsigned level)
{
  if (level == 3)
    return true;
  if (level == 2)
    return true;
  return level == 1 && pt->granule == 12; /* 16K/64K level-1 blocks need 52-bit OAs */
}

uint64_t smmu_pt_page_sizes(const struct smmu_pt *pt)
{
  uint64_t sizes = 0;
  for (unsigned level = pt->start_level; level <= 3; level++)
    if (level >= 1 && block_allowed(pt, level) && level_shift(pt, level) < pt->ias)
      sizes |= 1ull << level_shift(pt, level);
  return sizes;
}

static int leaf_level(const struct smmu_pt *pt, uint64_t size)
{
  for (unsigned level = pt->start_level; level <= 3; level++)
    if (level >= 1 && block_allowed(pt, level) && size == 1ull << level_shift(pt, level))
      return (int)level;
  return -1;
}

static bool is_table(uint64_t e, unsigned level)
{
  return (e & SMMU_PTE_VALID) && (e & SMMU_PTE_TYPE_TABLE) && level < 3;
}

static uint64_t next_addr(const struct smmu_pt *pt, uint64_t e)
{
  return e & SMMU_PTE_OA_MASK & ~(((uint64_t)1 << pt->granule) - 1);
}

/* The entry at `target` for iova, creating the tables above it when asked. */
static uint64_t *walk(struct smmu_pt *pt, uint64_t iova, unsigned target, bool create, int *err)
{
  uint64_t *table = pt->root;
  for (unsigned level = pt->start_level; level < target; level++) {
    uint64_t *e = &table[index_at(pt, iova, level)];
    if (*e & SMMU_PTE_VALID) {
      if (!is_table(*e, level)) {
        *err = IOMMU_EEXIST; /* a block covers this range */
        return NULL;
      }
      table = phys_to_virt(next_addr(pt, *e));
      continue;
    }
    if (!create) {
      *err = IOMMU_ENOENT;
      return NULL;
    }
    uint64_t phys;
    uint64_t *next = table_alloc(pt, &phys);
    if (next == NULL) {
      *err = IOMMU_ENOMEM;
      return NULL;
    }
    *e = smmu_pte_table(phys);
    smmu_sync_mem(pt->coherent, e, sizeof(*e));
    table = next;
  }
  return &table[index_at(pt, iova, target)];
}

int smmu_pt_map(struct smmu_pt *pt, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot)
{
  int level = leaf_level(pt, size);
  if (level < 0 || ((iova | phys) & (size - 1)) != 0 || prot == 0)
    return IOMMU_ERANGE;
  if ((iova + size - 1) >> pt->ias || (phys + size - 1) >> pt->oas)
    return IOMMU_ERANGE;
  int err = IOMMU_OK;
  uint64_t *e = walk(pt, iova, (unsigned)level, true, &err);
  if (e == NULL)
    return err;
  if (*e & SMMU_PTE_VALID)
    return IOMMU_EEXIST;
  *e = smmu_pte_leaf(pt->stage, phys, prot, level == 3, pt->coherent);
  smmu_sync_mem(pt->coherent, e, sizeof(*e));
  return IOMMU_OK;
}

int smmu_pt_unmap(struct smmu_pt *pt, uint64_t iova, uint64_t size, unsigned *level_out)
{
  int level = leaf_level(pt, size);
  if (level < 0 || (iova & (size - 1)) != 0)
    return IOMMU_ERANGE;
  if ((iova + size - 1) >> pt->ias)
    return IOMMU_ERANGE;
  int err = IOMMU_OK;
  uint64_t *e = walk(pt, iova, (unsigned)level, false, &err);
  if (e == NULL)
    return err;
  if (!(*e & SMMU_PTE_VALID) || is_table(*e, (unsigned)level))
    return IOMMU_ENOENT;
  *e = 0;
  smmu_sync_mem(pt->coherent, e, sizeof(*e));
  if (level_out)
    *level_out = (unsigned)level;
  return IOMMU_OK;
}

int smmu_pt_walk(const struct smmu_pt *pt, uint64_t iova, uint64_t *phys, uint64_t *leaf)
{
  if (pt->root == NULL || (iova >> pt->ias))
    return IOMMU_ERANGE;
  const uint64_t *table = pt->root;
  for (unsigned level = pt->start_level; level <= 3; level++) {
    uint64_t e = table[index_at(pt, iova, level)];
    if (!(e & SMMU_PTE_VALID))
      return IOMMU_ENOENT;
    if (is_table(e, level)) {
      table = phys_to_virt(next_addr(pt, e));
      continue;
    }
    if (level == 3 && !(e & SMMU_PTE_TYPE_TABLE))
      return IOMMU_ENOENT; /* 0b01 at level 3 is reserved: invalid */
    uint64_t span = 1ull << level_shift(pt, level);
    *phys = (e & SMMU_PTE_OA_MASK & ~(span - 1)) | (iova & (span - 1));
    if (leaf)
      *leaf = e;
    return IOMMU_OK;
  }
  return IOMMU_ENOENT;
}

void smmu_pt_free(struct smmu_pt *pt)
{
  for (unsigned i = 0; i < pt->n_mem; i++)
    page_free(pt->mem[i].alloc, pt->mem[i].pages);
  free(pt->mem);
  pt->mem = NULL;
  pt->n_mem = pt->cap_mem = 0;
  pt->root = NULL;
}
