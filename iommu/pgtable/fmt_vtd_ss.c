/* VT-d second-stage paging entries (VT-d 3.4 section 9.8): R bit 0, W bit 1, PS bit 7 (2 MiB
 * at level 2, 1 GiB at level 3), A bit 8 and D bit 9 (written by hardware where ECAP.SSADS
 * and the PASID entry's SSADE allow), address bits 51:12. Non-leaf entries grant R and W:
 * permissions are the AND along the walk. */
#include "iommu/pgtable/pgtable.h"

#define SS_R (1ull << 0)
#define SS_W (1ull << 1)
#define SS_PS (1ull << 7)
#define SS_D (1ull << 9)
#define SS_ADDR 0x000ffffffffff000ull

static uint64_t ss_leaf_sizes(const struct pt *pt, unsigned level)
{
  (void)pt;
  return level <= 3 ? 1ull << (12 + 9 * (level - 1)) : 0;
}

static uint64_t ss_table(const struct pt *pt, uint64_t next_phys, unsigned level)
{
  (void)pt, (void)level;
  return (next_phys & SS_ADDR) | SS_R | SS_W;
}

static uint64_t ss_leaf(const struct pt *pt, uint64_t phys, uint64_t size, unsigned prot,
                        unsigned level)
{
  (void)pt, (void)size;
  return (phys & SS_ADDR) | ((prot & PT_READ) ? SS_R : 0) | ((prot & PT_WRITE) ? SS_W : 0) |
         (level > 1 ? SS_PS : 0);
}

static void ss_decode(const struct pt *pt, uint64_t e, unsigned level, struct pt_entry *out)
{
  *out = (struct pt_entry){ .kind = PT_ENTRY_NONE };
  if (!(e & (SS_R | SS_W)))
    return; /* R = W = 0 is not present */
  out->prot = ((e & SS_R) ? PT_READ : 0) | ((e & SS_W) ? PT_WRITE : 0);
  if (level == 1 || (e & SS_PS)) {
    if (level > 3)
      return; /* PS above 1 GiB is reserved */
    out->kind = PT_ENTRY_LEAF;
    out->size = pt_level_size(pt, level);
    out->addr = e & SS_ADDR & ~(out->size - 1);
    return;
  }
  out->kind = PT_ENTRY_TABLE;
  out->addr = e & SS_ADDR;
  out->next_level = level - 1;
}

static bool ss_dirty(const struct pt *pt, uint64_t e)
{
  (void)pt;
  return (e & SS_D) != 0;
}

static uint64_t ss_clean(const struct pt *pt, uint64_t e)
{
  (void)pt;
  return e & ~SS_D;
}

const struct pt_format pt_fmt_vtd_ss = {
  .name = "vtd-second-stage",
  .leaf_sizes = ss_leaf_sizes,
  .encode_table = ss_table,
  .encode_leaf = ss_leaf,
  .decode = ss_decode,
  .leaf_dirty = ss_dirty,
  .leaf_clean = ss_clean,
};
