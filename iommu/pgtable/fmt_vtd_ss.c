/* VT-d second-stage paging entries (VT-d 3.4 section 9.8): R bit 0, W bit 1, PS bit 7 (2 MiB
 * at level 2, 1 GiB at level 3), A bit 8 and D bit 9 (written by hardware where ECAP.SSADS
 * and the PASID entry's SSADE allow), address bits 51:12. Non-leaf entries grant R and W:
 * permissions are the AND along the walk. */
#include "iommu/pgtable/fmt_ps.h"

#define SS_R (1ull << 0)
#define SS_W (1ull << 1)
#define SS_PS (1ull << 7)
#define SS_D (1ull << 9)
#define SS_ADDR 0x000ffffffffff000ull

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
  if (!(e & (SS_R | SS_W))) {
    *out = (struct pt_entry){ .kind = PT_ENTRY_NONE }; /* R = W = 0 is not present */
    return;
  }
  unsigned prot = ((e & SS_R) ? PT_READ : 0) | ((e & SS_W) ? PT_WRITE : 0);
  pt_ps_decode(pt, e, level, (e & SS_PS) != 0, SS_ADDR, prot, out);
}

const struct pt_format pt_fmt_vtd_ss = {
  .name = "vtd-second-stage",
  .leaf_sizes = pt_ps_leaf_sizes,
  .encode_table = ss_table,
  .encode_leaf = ss_leaf,
  .decode = ss_decode,
  .addr_field = SS_ADDR,
  .dirty_mask = SS_D,
  .dirty_match = SS_D,
  .clean_clear = SS_D,
};
