/* VT-d second-stage page tables (3.7, 9.8): 3/4/5 levels of 512 8-byte entries; leaves of
 * 4 KiB (level 1), 2 MiB (level 2, PS) and 1 GiB (level 3, PS). */
#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/vtd/vtd_internal.h"

void vtd_table_sync(const struct vtd_unit *v, const void *p, size_t len)
{
  if (!VTD_ECAP_C(v->ecap))
    arch_cache_flush(p, len);
  else
    arch_mb();
}

static unsigned level_shift(unsigned level) { return 12 + 9 * (level - 1); }
static unsigned index_at(uint64_t iova, unsigned level) { return (iova >> level_shift(level)) & 0x1ff; }

static int leaf_level(uint64_t size)
{
  switch (size) {
  case IOMMU_PAGE_4K: return 1;
  case IOMMU_PAGE_2M: return 2;
  case IOMMU_PAGE_1G: return 3;
  default: return -1;
  }
}

/* Entry of the table at `level` covering iova, creating the tables above it. */
static uint64_t *walk(const struct vtd_unit *v, struct vtd_domain *d, uint64_t iova,
                      unsigned target, bool create, int *err)
{
  uint64_t *table = d->pgd;
  for (unsigned level = v->levels; level > target; level--) {
    uint64_t *e = &table[index_at(iova, level)];
    if (*e & (VTD_SL_R | VTD_SL_W)) {
      if (*e & VTD_SL_PS) {
        *err = IOMMU_EEXIST; /* a larger leaf covers this range */
        return NULL;
      }
      table = phys_to_virt(*e & VTD_SL_ADDR_MASK);
      continue;
    }
    if (!create) {
      *err = IOMMU_ENOENT;
      return NULL;
    }
    uint64_t phys;
    uint64_t *next = page_alloc(1, UINT64_MAX, &phys);
    if (next == NULL) {
      *err = IOMMU_ENOMEM;
      return NULL;
    }
    vtd_table_sync(v, next, PAGE_SIZE);
    /* Non-leaf entries carry R and W: permissions are the AND along the walk. */
    *e = vtd_sl_pte_encode(phys, IOMMU_PROT_READ | IOMMU_PROT_WRITE, false);
    vtd_table_sync(v, e, sizeof(*e));
    table = next;
  }
  return &table[index_at(iova, target)];
}

int vtd_pt_map(struct vtd_unit *v, struct vtd_domain *d, uint64_t iova, uint64_t phys, uint64_t size,
               unsigned prot)
{
  int level = leaf_level(size);
  if (level < 0 || (iova | phys) & (size - 1) || (unsigned)level > v->levels)
    return IOMMU_ERANGE;
  if (v->agaw_bits < 64 && (iova + size - 1) >> v->agaw_bits)
    return IOMMU_ERANGE;
  if (prot == 0)
    return IOMMU_ERANGE; /* R=W=0 would be a not-present entry */
  int err = IOMMU_OK;
  uint64_t *e = walk(v, d, iova, (unsigned)level, true, &err);
  if (e == NULL)
    return err;
  if (*e & (VTD_SL_R | VTD_SL_W))
    return IOMMU_EEXIST;
  *e = vtd_sl_pte_encode(phys, prot, level > 1);
  vtd_table_sync(v, e, sizeof(*e));
  return IOMMU_OK;
}

int vtd_pt_unmap(struct vtd_unit *v, struct vtd_domain *d, uint64_t iova, uint64_t size)
{
  int level = leaf_level(size);
  if (level < 0 || (iova & (size - 1)))
    return IOMMU_ERANGE;
  int err = IOMMU_OK;
  uint64_t *e = walk(v, d, iova, (unsigned)level, false, &err);
  if (e == NULL)
    return err;
  if (!(*e & (VTD_SL_R | VTD_SL_W)) || (level > 1 && !(*e & VTD_SL_PS)))
    return IOMMU_ENOENT;
  *e = 0;
  vtd_table_sync(v, e, sizeof(*e));
  return IOMMU_OK;
}

static void free_table(uint64_t *table, unsigned level)
{
  if (level > 1)
    for (unsigned i = 0; i < 512; i++)
      if ((table[i] & (VTD_SL_R | VTD_SL_W)) && !(table[i] & VTD_SL_PS))
        free_table(phys_to_virt(table[i] & VTD_SL_ADDR_MASK), level - 1);
  page_free(table, 1);
}

void vtd_pt_free(struct vtd_domain *d)
{
  if (d->pgd) {
    /* Levels are recorded in the domain's width: 39 -> 3, 48 -> 4, 57 -> 5. */
    free_table(d->pgd, (d->dom.iova_bits - 12) / 9);
    d->pgd = NULL;
  }
}
