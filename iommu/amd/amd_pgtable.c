/* AMD-Vi v1 host page tables (2.2.3): 1 to 6 levels of 512 8-byte entries, the root at the
 * DTE's paging mode. A leaf of a level's own size (4 KiB, 2 MiB, 1 GiB) has next level 0; a
 * page of any other power-of-two size has next level 7 with the size encoded in its
 * address bits, replicated over every slot of the level below it covers. */
#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/amd/amd_internal.h"

#define MAX_PAGE_SHIFT 30u   /* map() takes pages up to 1 GiB */

static unsigned level_shift(unsigned level) { return 12 + 9 * (level - 1); }
static unsigned index_at(uint64_t iova, unsigned level) { return (iova >> level_shift(level)) & 0x1ff; }
static unsigned next_level(uint64_t e) { return (unsigned)((e & AMD_PTE_NL_MASK) >> AMD_PTE_NL_SHIFT); }
static bool is_table(uint64_t e)
{
  unsigned nl = next_level(e);
  return (e & AMD_PTE_PR) && nl != 0 && nl != AMD_PTE_NL_LARGE;
}

uint64_t amd_pt_page_sizes(unsigned levels)
{
  /* Pages up to 1 GiB whose leaf level exists: 256 slots of the root level at most. */
  unsigned top = level_shift(levels) + 8;
  if (top > MAX_PAGE_SHIFT)
    top = MAX_PAGE_SHIFT;
  return ((2ull << top) - 1) & ~0xfffull;
}

/* The level whose slots a page of this size occupies, and how many slots. */
static int leaf_level(uint64_t size, unsigned levels, unsigned *count)
{
  if (size < IOMMU_PAGE_4K || (size & (size - 1)))
    return -1;
  unsigned shift = (unsigned)__builtin_ctzll(size);
  if (shift > MAX_PAGE_SHIFT)
    return -1;
  unsigned level = 1 + (shift - 12) / 9;
  if (level > levels)
    return -1;
  *count = 1u << (shift - level_shift(level));
  return (int)level;
}

/* Entry at `target` level covering iova, creating the tables above it. */
static uint64_t *walk(struct amd_domain *d, uint64_t iova, unsigned target, bool create, int *err)
{
  uint64_t *table = d->root;
  for (unsigned level = d->levels; level > target; level--) {
    uint64_t *e = &table[index_at(iova, level)];
    if (*e & AMD_PTE_PR) {
      if (!is_table(*e) || next_level(*e) != level - 1) {
        *err = create ? IOMMU_EEXIST : IOMMU_ENOENT; /* a larger page covers this range */
        return NULL;
      }
      table = phys_to_virt(*e & AMD_PTE_ADDR_MASK);
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
    amd_table_sync(next, PAGE_SIZE);
    *e = amd_pde_encode(phys, level - 1);
    amd_table_sync(e, sizeof(*e));
    table = next;
  }
  return &table[index_at(iova, target)];
}

int amd_pt_map(struct amd_domain *d, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot)
{
  unsigned count = 0;
  int level = leaf_level(size, d->levels, &count);
  if (level < 0 || ((iova | phys) & (size - 1)))
    return IOMMU_ERANGE;
  unsigned bits = amd_levels_bits(d->levels);
  if (bits < 64 && ((iova + size - 1) >> bits) != 0)
    return IOMMU_ERANGE;
  if ((prot & (IOMMU_PROT_READ | IOMMU_PROT_WRITE)) == 0)
    return IOMMU_ERANGE; /* IR = IW = 0 would be a present entry that allows nothing */
  int err = IOMMU_OK;
  uint64_t *e = walk(d, iova, (unsigned)level, true, &err);
  if (e == NULL)
    return err;
  for (unsigned i = 0; i < count; i++)
    if (e[i] & AMD_PTE_PR)
      return IOMMU_EEXIST;
  uint64_t pte = count == 1 ? amd_pte_encode(phys, prot) : amd_pte_large_encode(phys, size, prot);
  for (unsigned i = 0; i < count; i++)
    e[i] = pte;
  amd_table_sync(e, count * sizeof(*e));
  return IOMMU_OK;
}

int amd_pt_unmap(struct amd_domain *d, uint64_t iova, uint64_t size)
{
  unsigned count = 0;
  int level = leaf_level(size, d->levels, &count);
  if (level < 0 || (iova & (size - 1)))
    return IOMMU_ERANGE;
  int err = IOMMU_OK;
  uint64_t *e = walk(d, iova, (unsigned)level, false, &err);
  if (e == NULL)
    return err;
  for (unsigned i = 0; i < count; i++)
    if (amd_pte_leaf_size(e[i], (unsigned)level) != size)
      return IOMMU_ENOENT; /* not a leaf of exactly this page */
  for (unsigned i = 0; i < count; i++)
    e[i] = 0;
  amd_table_sync(e, count * sizeof(*e));
  return IOMMU_OK;
}

static void free_table(uint64_t *table, unsigned level)
{
  if (level > 1)
    for (unsigned i = 0; i < 512; i++)
      if (is_table(table[i]))
        free_table(phys_to_virt(table[i] & AMD_PTE_ADDR_MASK), next_level(table[i]));
  page_free(table, 1);
}

void amd_pt_free(struct amd_domain *d)
{
  if (d->root) {
    free_table(d->root, d->levels);
    d->root = NULL;
  }
}

/* As the hardware walks: the DTE mode gives the root level, each PDE the level of the next
 * table (levels may be skipped), permissions are ANDed, a leaf ends the walk. */
uint64_t amd_pt_lookup(const struct amd_domain *d, uint64_t iova, unsigned *prot)
{
  unsigned bits = amd_levels_bits(d->levels);
  *prot = 0;
  if (d->root == NULL || (bits < 64 && (iova >> bits) != 0))
    return 0;
  const uint64_t *table = d->root;
  unsigned level = d->levels;
  uint64_t ir = AMD_PTE_IR, iw = AMD_PTE_IW;
  for (;;) {
    uint64_t e = table[index_at(iova, level)];
    if (!(e & AMD_PTE_PR))
      return 0;
    ir &= e;
    iw &= e;
    if (!is_table(e)) {
      uint64_t size = amd_pte_leaf_size(e, level);
      if (size == 0)
        return 0;
      *prot = (ir ? IOMMU_PROT_READ : 0) | (iw ? IOMMU_PROT_WRITE : 0);
      return (e & AMD_PTE_ADDR_MASK & ~(size - 1)) | (iova & (size - 1));
    }
    unsigned nl = next_level(e);
    if (nl >= level)
      return 0; /* a walk must go down */
    table = phys_to_virt(e & AMD_PTE_ADDR_MASK);
    level = nl;
  }
}

/* ---- v2 (guest) tables: x86-64 long-mode format, 4 or 5 levels (EFR.GATS), reached from
 * the GCR3 table the DTE names (2.2.6). Built and walked here; a domain uses them only where
 * EFR.GTSup is real (QEMU 7.2 advertises GT without implementing it). ---- */
static bool v2_leaf(uint64_t e, unsigned level) { return level == 1 || (e & AMD_V2_PS); }

int amd_v2_map(struct amd_v2_table *t, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot)
{
  unsigned level = size == IOMMU_PAGE_4K ? 1 : size == IOMMU_PAGE_2M ? 2 : size == IOMMU_PAGE_1G ? 3 : 0;
  if (level == 0 || ((iova | phys) & (size - 1)))
    return IOMMU_ERANGE;
  /* Lower half of the canonical space only; write-only cannot be expressed (P means read). */
  if ((iova + size - 1) >> (12 + 9 * t->levels - 1))
    return IOMMU_ERANGE;
  if (!(prot & IOMMU_PROT_READ))
    return IOMMU_EUNSUPPORTED;
  uint64_t *table = t->root;
  for (unsigned l = t->levels; l > level; l--) {
    uint64_t *e = &table[index_at(iova, l)];
    if (*e & AMD_V2_P) {
      if (*e & AMD_V2_PS)
        return IOMMU_EEXIST;
      table = phys_to_virt(*e & AMD_BASE_ADDR_MASK);
      continue;
    }
    uint64_t p;
    uint64_t *next = page_alloc(1, UINT64_MAX, &p);
    if (next == NULL)
      return IOMMU_ENOMEM;
    amd_table_sync(next, PAGE_SIZE);
    /* Directories allow everything; the leaf decides. */
    *e = (p & AMD_BASE_ADDR_MASK) | AMD_V2_P | AMD_V2_RW | AMD_V2_US | AMD_V2_A;
    amd_table_sync(e, sizeof(*e));
    table = next;
  }
  uint64_t *e = &table[index_at(iova, level)];
  if (*e & AMD_V2_P)
    return IOMMU_EEXIST;
  *e = amd_v2_pte_encode(phys, prot, level > 1);
  amd_table_sync(e, sizeof(*e));
  return IOMMU_OK;
}

uint64_t amd_v2_lookup(const struct amd_v2_table *t, uint64_t iova, unsigned *prot)
{
  *prot = 0;
  if (t->root == NULL || (iova >> (12 + 9 * t->levels - 1)))
    return 0;
  const uint64_t *table = t->root;
  bool w = true;
  for (unsigned l = t->levels; l >= 1; l--) {
    uint64_t e = table[index_at(iova, l)];
    if (!(e & AMD_V2_P))
      return 0;
    w = w && (e & AMD_V2_RW);
    if (v2_leaf(e, l)) {
      if (l > 3)
        return 0; /* PS above 1 GiB is reserved */
      uint64_t size = 1ull << level_shift(l);
      *prot = IOMMU_PROT_READ | (w ? IOMMU_PROT_WRITE : 0);
      return (e & AMD_BASE_ADDR_MASK & ~(size - 1)) | (iova & (size - 1));
    }
    table = phys_to_virt(e & AMD_BASE_ADDR_MASK);
  }
  return 0;
}

static void v2_free_table(uint64_t *table, unsigned level)
{
  if (level > 1)
    for (unsigned i = 0; i < 512; i++)
      if ((table[i] & AMD_V2_P) && !(table[i] & AMD_V2_PS))
        v2_free_table(phys_to_virt(table[i] & AMD_BASE_ADDR_MASK), level - 1);
  page_free(table, 1);
}

void amd_v2_free(struct amd_v2_table *t)
{
  if (t->root) {
    v2_free_table(t->root, t->levels);
    t->root = NULL;
  }
}

/* One-level GCR3 table (GLX = 0): entry p holds the v2 root of PASID p (p < 512). */
int amd_gcr3_set(uint64_t *gcr3_table, uint32_t pasid, uint64_t v2_root_phys)
{
  if (pasid >= 512)
    return IOMMU_ERANGE;
  gcr3_table[pasid] = v2_root_phys ? amd_gcr3_entry_encode(v2_root_phys) : 0;
  amd_table_sync(&gcr3_table[pasid], sizeof(uint64_t));
  return IOMMU_OK;
}
