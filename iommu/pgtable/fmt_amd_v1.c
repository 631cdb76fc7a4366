/* AMD-Vi v1 host page-table entries (AMD IOMMU 2.2.3): PR bit 0, A bit 5, D bit 6 (written
 * by hardware where EFR.HDSup and DTE.HAD allow), next level bits 11:9, address bits 51:12,
 * IR bit 61, IW bit 62. A directory entry names the level of the table it points to (levels
 * may be skipped by other software; this engine builds them one by one). A leaf of its
 * level's own size has next level 0; a page of any other power-of-two size has next level
 * 7, its size encoded in the address bits (the lowest clear bit n at or above 12 gives
 * 2^(n+1) bytes), and is replicated over every slot of the level it covers. */
#include "iommu/pgtable/pgtable.h"

#define V1_PR (1ull << 0)
#define V1_D (1ull << 6)
#define V1_NL_SHIFT 9
#define V1_NL_MASK (7ull << V1_NL_SHIFT)
#define V1_NL_LARGE 7u
#define V1_ADDR 0x000ffffffffff000ull
#define V1_IR (1ull << 61)
#define V1_IW (1ull << 62)
#define V1_MAX_PAGE_SHIFT 30u  /* pages up to 1 GiB */
#define V1_MAX_REPLICAS_SHIFT 8u /* a replicated page covers at most half of its table */

static uint64_t v1_leaf_sizes(const struct pt *pt, unsigned level)
{
  unsigned lo = 12 + 9 * (level - 1), hi = lo + V1_MAX_REPLICAS_SHIFT;
  (void)pt;
  if (hi > V1_MAX_PAGE_SHIFT)
    hi = V1_MAX_PAGE_SHIFT;
  if (lo > hi)
    return 0;
  return ((2ull << hi) - 1) & ~((1ull << lo) - 1);
}

static uint64_t prot_bits(unsigned prot)
{
  return ((prot & PT_READ) ? V1_IR : 0) | ((prot & PT_WRITE) ? V1_IW : 0);
}

static uint64_t v1_table(const struct pt *pt, uint64_t next_phys, unsigned level)
{
  (void)pt;
  return V1_PR | V1_IR | V1_IW | (uint64_t)((level - 1) & 7u) << V1_NL_SHIFT | (next_phys & V1_ADDR);
}

static uint64_t v1_leaf(const struct pt *pt, uint64_t phys, uint64_t size, unsigned prot,
                        unsigned level)
{
  if (size == pt_level_size(pt, level))
    return V1_PR | (phys & V1_ADDR) | prot_bits(prot);
  uint64_t addr = ((phys | (size - 1)) & ~(size >> 1)) & V1_ADDR;
  return V1_PR | (uint64_t)V1_NL_LARGE << V1_NL_SHIFT | addr | prot_bits(prot);
}

static void v1_decode(const struct pt *pt, uint64_t e, unsigned level, struct pt_entry *out)
{
  *out = (struct pt_entry){ .kind = PT_ENTRY_NONE };
  if (!(e & V1_PR))
    return;
  out->prot = ((e & V1_IR) ? PT_READ : 0) | ((e & V1_IW) ? PT_WRITE : 0);
  unsigned nl = (unsigned)((e & V1_NL_MASK) >> V1_NL_SHIFT);
  if (nl == 0) {
    out->kind = PT_ENTRY_LEAF;
    out->size = pt_level_size(pt, level);
  } else if (nl == V1_NL_LARGE) {
    unsigned b = 12;
    while (b < 52 && ((e >> b) & 1))
      b++;
    if (b >= 52)
      return;
    out->kind = PT_ENTRY_LEAF;
    out->size = 1ull << (b + 1);
  } else {
    if (nl >= level)
      return; /* a walk must go down */
    out->kind = PT_ENTRY_TABLE;
    out->addr = e & V1_ADDR;
    out->next_level = nl;
    return;
  }
  out->addr = e & V1_ADDR & ~(out->size - 1);
}

const struct pt_format pt_fmt_amd_v1 = {
  .name = "amd-v1",
  .leaf_sizes = v1_leaf_sizes,
  .encode_table = v1_table,
  .encode_leaf = v1_leaf,
  .decode = v1_decode,
  .addr_field = V1_ADDR,
  .dirty_mask = V1_D,
  .dirty_match = V1_D,
  .clean_clear = V1_D,
  .replica_mask = V1_NL_MASK,
};
