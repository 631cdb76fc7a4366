/* What the VT-d second-stage and x86-64 formats share: 4K pages at level 1, and a PS bit
 * that makes a level-2 (2 MiB) or level-3 (1 GiB) entry a leaf. Private to the formats. */
#ifndef IOMMU_PGTABLE_FMT_PS_H
#define IOMMU_PGTABLE_FMT_PS_H

#include "iommu/pgtable/pgtable.h"

static inline uint64_t pt_ps_leaf_sizes(const struct pt *pt, unsigned level)
{
  (void)pt;
  return level <= 3 ? 1ull << (12 + 9 * (level - 1)) : 0;
}

/* A present entry with permissions prot: a leaf at level 1 or with PS (PS above 1 GiB is
 * reserved: not present), else a table one level down. */
static inline void pt_ps_decode(const struct pt *pt, uint64_t e, unsigned level, bool ps,
                                uint64_t addr_mask, unsigned prot, struct pt_entry *out)
{
  *out = (struct pt_entry){ .kind = PT_ENTRY_NONE, .prot = prot };
  if (level == 1 || ps) {
    if (level > 3)
      return;
    out->kind = PT_ENTRY_LEAF;
    out->size = pt_level_size(pt, level);
    out->addr = e & addr_mask & ~(out->size - 1);
    return;
  }
  out->kind = PT_ENTRY_TABLE;
  out->addr = e & addr_mask;
  out->next_level = level - 1;
}

#endif
