/* VT-d page tables: second-stage (3.7, 9.8) and first-stage (3.6, 9.7), 3/4/5 levels of 512
 * 8-byte entries; leaves of 4 KiB (level 1), 2 MiB (level 2, PS) and 1 GiB (level 3, PS).
 * The formats differ only in their entry bits. */
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

static bool present(const struct vtd_domain *d, uint64_t e)
{
  return d->first_stage ? (e & VTD_FL_P) != 0 : (e & (VTD_SL_R | VTD_SL_W)) != 0;
}

static bool large(const struct vtd_domain *d, uint64_t e)
{
  return (e & (d->first_stage ? VTD_FL_PS : VTD_SL_PS)) != 0;
}

static uint64_t table_entry(const struct vtd_domain *d, uint64_t phys)
{
  return d->first_stage ? vtd_fl_pte_encode(phys, 0, false, false)
                        : vtd_sl_pte_encode(phys, IOMMU_PROT_READ | IOMMU_PROT_WRITE, false);
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
  (void)v;
  uint64_t *table = d->pgd;
  for (unsigned level = d->levels; level > target; level--) {
    uint64_t *e = &table[index_at(iova, level)];
    if (present(d, *e)) {
      if (large(d, *e)) {
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
    /* Non-leaf entries grant everything: permissions are the AND along the walk. */
    *e = table_entry(d, phys);
    vtd_table_sync(v, e, sizeof(*e));
    table = next;
  }
  return &table[index_at(iova, target)];
}

int vtd_pt_map(struct vtd_unit *v, struct vtd_domain *d, uint64_t iova, uint64_t phys, uint64_t size,
               unsigned prot)
{
  int level = leaf_level(size);
  if (level < 0 || (iova | phys) & (size - 1) || (unsigned)level > d->levels)
    return IOMMU_ERANGE;
  if ((iova + size - 1) >> d->dom.iova_bits)
    return IOMMU_ERANGE;
  if (prot == 0)
    return IOMMU_ERANGE; /* R=W=0 would be a not-present entry */
  /* A present first-stage entry always allows reads: write-only becomes read/write there
   * (as on x86 paging). Second stage keeps R and W separate. */
  int err = IOMMU_OK;
  uint64_t *e = walk(v, d, iova, (unsigned)level, true, &err);
  if (e == NULL)
    return err;
  if (present(d, *e))
    return IOMMU_EEXIST;
  *e = d->first_stage ? vtd_fl_pte_encode(phys, prot, true, level > 1)
                      : vtd_sl_pte_encode(phys, prot, level > 1);
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
  if (!present(d, *e) || (level > 1 && !large(d, *e)))
    return IOMMU_ENOENT;
  *e = 0;
  vtd_table_sync(v, e, sizeof(*e));
  return IOMMU_OK;
}

static void free_table(const struct vtd_domain *d, uint64_t *table, unsigned level)
{
  if (level > 1)
    for (unsigned i = 0; i < 512; i++)
      if (present(d, table[i]) && !large(d, table[i]))
        free_table(d, phys_to_virt(table[i] & VTD_SL_ADDR_MASK), level - 1);
  page_free(table, 1);
}

void vtd_pt_free(struct vtd_domain *d)
{
  if (d->pgd) {
    free_table(d, d->pgd, d->levels);
    d->pgd = NULL;
  }
}
