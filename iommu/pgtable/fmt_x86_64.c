/* x86-64 long-mode paging entries, as VT-d first-stage tables (VT-d 3.4 section 9.7) and
 * AMD-Vi v2 guest tables (AMD IOMMU 2.2.6) use them: P bit 0, R/W bit 1, U/S bit 2, A bit 5,
 * D bit 6, PS bit 7 (2 MiB at level 2, 1 GiB at level 3), address bits 51:12. Every entry
 * is a user entry (requests without PASID privilege are user requests; QEMU also insists
 * on U/S at every level) and A is preset. D is preset on writable leaves, so the walker
 * never has to write the tables, unless the table tracks dirty state: then writable leaves
 * start clean and hardware sets D on the first write. Present means readable. */
#include "iommu/pgtable/fmt_ps.h"

#define X86_P (1ull << 0)
#define X86_RW (1ull << 1)
#define X86_US (1ull << 2)
#define X86_A (1ull << 5)
#define X86_D (1ull << 6)
#define X86_PS (1ull << 7)
#define X86_ADDR 0x000ffffffffff000ull

static uint64_t x86_table(const struct pt *pt, uint64_t next_phys, unsigned level)
{
  (void)pt, (void)level;
  return (next_phys & X86_ADDR) | X86_P | X86_RW | X86_US | X86_A;
}

static uint64_t x86_leaf(const struct pt *pt, uint64_t phys, uint64_t size, unsigned prot,
                         unsigned level)
{
  (void)size;
  uint64_t e = (phys & X86_ADDR) | X86_P | X86_US | X86_A | (level > 1 ? X86_PS : 0);
  if (prot & PT_WRITE)
    e |= X86_RW | ((pt->cfg.flags & PT_F_DIRTY_TRACK) ? 0 : X86_D);
  return e;
}

static void x86_decode(const struct pt *pt, uint64_t e, unsigned level, struct pt_entry *out)
{
  if (!(e & X86_P)) {
    *out = (struct pt_entry){ .kind = PT_ENTRY_NONE };
    return;
  }
  unsigned prot = PT_READ | ((e & X86_RW) ? PT_WRITE : 0);
  pt_ps_decode(pt, e, level, (e & X86_PS) != 0, X86_ADDR, prot, out);
}

const struct pt_format pt_fmt_x86_64 = {
  .name = "x86-64",
  .leaf_sizes = pt_ps_leaf_sizes,
  .encode_table = x86_table,
  .encode_leaf = x86_leaf,
  .decode = x86_decode,
  .addr_field = X86_ADDR,
  .dirty_mask = X86_D,
  .dirty_match = X86_D,
  .clean_clear = X86_D,
  .write_implies_read = true,
};
