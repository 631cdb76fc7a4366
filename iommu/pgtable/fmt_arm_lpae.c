/* VMSAv8-64 translation table descriptors (Arm ARM D8.3) for SMMUv3 stage 1 and stage 2,
 * 4K/16K/64K granules. Engine level 1 is Arm lookup level 3 (pages), level 2 Arm level 2
 * (blocks), level 3 Arm level 1 (blocks with a 4K granule only: 16K/64K level-1 blocks need
 * 52-bit output addresses). Descriptor: valid bit 0, table/page bit 1, AF bit 10, SH 9:8,
 * output address 47:granule, DBM bit 51.
 * Stage 1: AttrIndx 4:2 (MAIR index 0 write-back, 2 non-cacheable: the CD's MAIR must hold
 *   those), AP[1] bit 6 (unprivileged access), AP[2] bit 7 (read-only), nG bit 11 (tagged
 *   with the ASID). No write-only pages: write implies read.
 * Stage 2: MemAttr 5:2, S2AP[0] bit 6 (read), S2AP[1] bit 7 (write).
 * Dirty state (HTTU, IDR0.HTTU=2 with CD.HD / STE.S2HD): a writable leaf of a tracking table
 *   has DBM set and starts writable-clean (stage 1 AP[2]=1, stage 2 S2AP[1]=0); hardware
 *   makes it writable-dirty on the first write; cleaning restores writable-clean. AF is set
 *   by software. */
#include "iommu/pgtable/pgtable.h"

#define ARM_VALID (1ull << 0)
#define ARM_TYPE (1ull << 1)          /* table at levels 0-2, page at level 3 */
#define ARM_ATTR_SHIFT 2
#define ARM_AP_UNPRIV (1ull << 6)
#define ARM_AP_RDONLY (1ull << 7)
#define ARM_S2AP_R (1ull << 6)
#define ARM_S2AP_W (1ull << 7)
#define ARM_SH_SHIFT 8
#define ARM_SH_OUTER 2ull
#define ARM_SH_INNER 3ull
#define ARM_AF (1ull << 10)
#define ARM_NG (1ull << 11)
#define ARM_DBM (1ull << 51)
#define ARM_OA 0x0000fffffffff000ull  /* 48-bit output addresses */
#define ARM_MAIR_IDX_WB 0ull
#define ARM_MAIR_IDX_NC 2ull
#define ARM_S2_MEMATTR_WB 0xfull
#define ARM_S2_MEMATTR_NC 0x5ull

static bool is_s2(const struct pt *pt) { return pt->cfg.fmt == &pt_fmt_arm_s2; }

static uint64_t arm_leaf_sizes(const struct pt *pt, unsigned level)
{
  if (level == 1 || level == 2 || (level == 3 && pt->cfg.granule_shift == 12))
    return pt_level_size(pt, level);
  return 0;
}

static uint64_t arm_table(const struct pt *pt, uint64_t next_phys, unsigned level)
{
  (void)level;
  return (next_phys & ARM_OA & ~((1ull << pt->cfg.granule_shift) - 1)) | ARM_TYPE | ARM_VALID;
}

static uint64_t arm_leaf(const struct pt *pt, uint64_t phys, uint64_t size, unsigned prot,
                         unsigned level)
{
  (void)size;
  bool nc = (pt->cfg.flags & PT_F_ARM_NC) != 0, track = (pt->cfg.flags & PT_F_DIRTY_TRACK) != 0;
  uint64_t e = (phys & ARM_OA) | ARM_VALID | (level == 1 ? ARM_TYPE : 0) |
               (nc ? ARM_SH_OUTER : ARM_SH_INNER) << ARM_SH_SHIFT | ARM_AF;
  if (is_s2(pt)) {
    e |= (nc ? ARM_S2_MEMATTR_NC : ARM_S2_MEMATTR_WB) << ARM_ATTR_SHIFT;
    e |= (prot & PT_READ) ? ARM_S2AP_R : 0;
    if (prot & PT_WRITE)
      e |= track ? ARM_DBM : ARM_S2AP_W;
    return e;
  }
  e |= (nc ? ARM_MAIR_IDX_NC : ARM_MAIR_IDX_WB) << ARM_ATTR_SHIFT | ARM_AP_UNPRIV | ARM_NG;
  if (!(prot & PT_WRITE))
    return e | ARM_AP_RDONLY;
  return track ? e | ARM_DBM | ARM_AP_RDONLY : e;
}

static void arm_decode(const struct pt *pt, uint64_t e, unsigned level, struct pt_entry *out)
{
  *out = (struct pt_entry){ .kind = PT_ENTRY_NONE };
  if (!(e & ARM_VALID))
    return;
  if (level > 1 && (e & ARM_TYPE)) {
    out->kind = PT_ENTRY_TABLE;
    out->prot = PT_READ | PT_WRITE;
    out->addr = e & ARM_OA & ~((1ull << pt->cfg.granule_shift) - 1);
    out->next_level = level - 1;
    return;
  }
  if (level == 1 ? !(e & ARM_TYPE) : arm_leaf_sizes(pt, level) == 0)
    return; /* reserved encodings are invalid */
  out->kind = PT_ENTRY_LEAF;
  out->size = pt_level_size(pt, level);
  out->addr = e & ARM_OA & ~(out->size - 1);
  if (is_s2(pt))
    out->prot = ((e & ARM_S2AP_R) ? PT_READ : 0) | ((e & (ARM_S2AP_W | ARM_DBM)) ? PT_WRITE : 0);
  else
    out->prot = PT_READ | ((!(e & ARM_AP_RDONLY) || (e & ARM_DBM)) ? PT_WRITE : 0);
}

const struct pt_format pt_fmt_arm_s1 = {
  .name = "arm-lpae-s1",
  .leaf_sizes = arm_leaf_sizes,
  .encode_table = arm_table,
  .encode_leaf = arm_leaf,
  .decode = arm_decode,
  /* Only DBM leaves change state under hardware management: writable-dirty is DBM with
   * AP[2] clear; cleaning sets AP[2] again. */
  .addr_field = ARM_OA,
  .dirty_mask = ARM_DBM | ARM_AP_RDONLY,
  .dirty_match = ARM_DBM,
  .clean_set = ARM_AP_RDONLY,
  .write_implies_read = true,
};

const struct pt_format pt_fmt_arm_s2 = {
  .name = "arm-lpae-s2",
  .leaf_sizes = arm_leaf_sizes,
  .encode_table = arm_table,
  .encode_leaf = arm_leaf,
  .decode = arm_decode,
  /* Writable-dirty is DBM with S2AP[1] set; cleaning clears S2AP[1]. */
  .addr_field = ARM_OA,
  .dirty_mask = ARM_DBM | ARM_S2AP_W,
  .dirty_match = ARM_DBM | ARM_S2AP_W,
  .clean_clear = ARM_S2AP_W,
};
