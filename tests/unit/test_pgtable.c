/* The page-table engine (iommu/pgtable): every format field by field, walks of every depth
 * and granule, replicated AMD pages, dirty harvest, and a round-trip property test of random
 * map_range / unmap_range sequences against a reference map. Bit positions are written here
 * from the specifications, independently of the format files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "iommu/iommu.h"
#include "iommu/pgtable/pgtable.h"

static uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
  return (v >> lo) & ((hi - lo == 63) ? ~0ull : ((1ull << (hi - lo + 1)) - 1));
}

#define RW (PT_READ | PT_WRITE)

static void setup(struct pt *pt, const struct pt_format *f, unsigned g, unsigned levels,
                  unsigned ias, unsigned oas, uint64_t sizes, unsigned flags)
{
  struct pt_cfg c = { .fmt = f, .granule_shift = g, .levels = levels, .ias = ias, .oas = oas,
                      .page_sizes = sizes, .flags = flags };
  assert_int_equal(pt_init(pt, &c), IOMMU_OK);
}

/* The raw entry at `level` on the way to iova (tables followed with the format's decoder). */
static uint64_t *slot(const struct pt *pt, uint64_t iova, unsigned level)
{
  uint64_t *t = pt->root;
  for (unsigned l = pt->levels;; l--) {
    unsigned shift = pt->cfg.granule_shift + (l - 1) * pt->stride;
    uint64_t *e = &t[shift >= 64 ? 0 : (iova >> shift) & ((1ull << pt->stride) - 1)];
    if (l == level)
      return e;
    struct pt_entry d;
    pt->cfg.fmt->decode(pt, *e, l, &d);
    assert_int_equal(d.kind, PT_ENTRY_TABLE);
    t = phys_to_virt(d.addr);
  }
}

static uint64_t phys_of(const struct pt *pt, uint64_t iova, unsigned *prot)
{
  uint64_t phys = 0;
  unsigned p = 0;
  if (pt_iova_to_phys(pt, iova, &phys, &p, NULL) != IOMMU_OK)
    return ~0ull;
  if (prot)
    *prot = p;
  return phys;
}

/* ---------------------------------------------------------------- VT-d second stage */
static void vtd_ss_fields_and_walk(void **state)
{
  (void)state;
  struct pt pt;
  setup(&pt, &pt_fmt_vtd_ss, 12, 4, 48, 0, IOMMU_PAGE_4K | IOMMU_PAGE_2M | IOMMU_PAGE_1G, 0);
  uint64_t iova = 0x0000801234567000ull;
  assert_int_equal(pt_map_range(&pt, iova, 0xabc000, 4096, PT_READ), IOMMU_OK);
  for (unsigned level = 4; level > 1; level--) {
    uint64_t e = *slot(&pt, iova, level);
    assert_int_equal(e & 3, 3);                           /* non-leaf: R|W */
    assert_int_equal(bits(e, 7, 7), 0);
  }
  assert_int_equal(*slot(&pt, iova, 1), 0xabc000ull | 1); /* R only, no PS */
  assert_int_equal(pt_map_range(&pt, iova, 0xdef000, 4096, PT_READ), IOMMU_EEXIST);
  uint64_t removed;
  assert_int_equal(pt_unmap_range(&pt, iova, 4096, &removed, NULL, NULL), IOMMU_OK);
  assert_int_equal(removed, 4096);
  assert_int_equal(*slot(&pt, iova, 1), 0);
  assert_int_equal(pt_unmap_range(&pt, iova, 4096, &removed, NULL, NULL), IOMMU_ENOENT);
  /* 2M leaf at level 2 with PS; a 4K map under it is refused. */
  assert_int_equal(pt_map_range(&pt, 0x40000000ull, 0x80000000ull, IOMMU_PAGE_2M, RW), IOMMU_OK);
  uint64_t e = *slot(&pt, 0x40000000ull, 2);
  assert_int_equal(e, 0x80000000ull | 3 | (1ull << 7));
  assert_int_equal(bits(e, 63, 52), 0);
  assert_int_equal(pt_map_range(&pt, 0x40001000ull, 0x1000, 4096, PT_READ), IOMMU_EEXIST);
  assert_int_equal(pt_map_range(&pt, 0x5000, 0x1000, 4096, PT_WRITE), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x5000, 1) & 3, 2);         /* write-only exists at second stage */
  /* Misaligned, beyond the width, no permission. */
  assert_int_equal(pt_map_range(&pt, 0x1800, 0, 4096, PT_READ), IOMMU_EINVAL);
  assert_int_equal(pt_map_range(&pt, 1ull << 48, 0, 4096, PT_READ), IOMMU_ERANGE);
  assert_int_equal(pt_map_range(&pt, 0x7000, 0x7000, 4096, 0), IOMMU_EINVAL);
  /* A range picks the largest leaves: 2M-aligned 4M + 8K = two 2M leaves and two pages. */
  assert_int_equal(pt_map_range(&pt, 0x80000000ull, 0x100000000ull, 0x402000, RW), IOMMU_OK);
  assert_int_equal(bits(*slot(&pt, 0x80000000ull, 2), 7, 7), 1);
  assert_int_equal(bits(*slot(&pt, 0x80200000ull, 2), 7, 7), 1);
  assert_int_equal(*slot(&pt, 0x80401000ull, 1), 0x100401000ull | 3);
  /* Unmapping half a 2M leaf is refused and changes nothing. */
  assert_int_equal(pt_unmap_range(&pt, 0x80000000ull, 0x100000, &removed, NULL, NULL), IOMMU_ERANGE);
  assert_int_equal(phys_of(&pt, 0x80000000ull, NULL), 0x100000000ull);
  pt_free(&pt); /* ASan's leak check proves every table page is freed */
}

/* ---------------------------------------------------------------- x86-64 paging */
static void x86_64_fields_and_walk(void **state)
{
  (void)state;
  struct pt pt;
  setup(&pt, &pt_fmt_x86_64, 12, 4, 47, 0, IOMMU_PAGE_4K | IOMMU_PAGE_2M, 0);
  uint64_t iova = 0x00007f0000201000ull;
  assert_int_equal(pt_map_range(&pt, iova, 0x99000, 4096, RW), IOMMU_OK);
  for (unsigned level = 4; level > 1; level--)
    assert_int_equal(*slot(&pt, iova, level) & 0x7f, 0x27); /* P RW US A on every level */
  assert_int_equal(*slot(&pt, iova, 1), 0x99000ull | 0x67); /* P RW US A D */
  assert_int_equal(pt_map_range(&pt, 0x1000, 0x12345000ull, 4096, PT_READ), IOMMU_OK);
  uint64_t e = *slot(&pt, 0x1000, 1);
  assert_int_equal(bits(e, 0, 0), 1);                     /* P */
  assert_int_equal(bits(e, 1, 1), 0);                     /* R/W: read-only */
  assert_int_equal(bits(e, 2, 2), 1);                     /* U/S */
  assert_int_equal(bits(e, 4, 3), 0);                     /* PWT PCD */
  assert_int_equal(bits(e, 5, 5), 1);                     /* A preset */
  assert_int_equal(bits(e, 6, 6), 0);                     /* D only on writable leaves */
  assert_int_equal(bits(e, 7, 7), 0);
  assert_int_equal(bits(e, 63, 63), 0);                   /* XD */
  /* Write-only cannot be expressed: it becomes read/write. */
  assert_int_equal(pt_map_range(&pt, 0x5000, 0x6000, 4096, PT_WRITE), IOMMU_OK);
  unsigned prot;
  assert_int_equal(phys_of(&pt, 0x5010, &prot), 0x6010);
  assert_int_equal(prot, RW);
  assert_int_equal(pt_map_range(&pt, 0x200000, 0x40000000, IOMMU_PAGE_2M, RW), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x200000, 2), 0x40000000ull | 0xe7);
  /* 1G not allowed by this table's page sizes: a 1G range becomes 512 2M leaves. */
  assert_int_equal(pt_map_range(&pt, 0x40000000, 0x80000000ull, IOMMU_PAGE_1G, PT_READ), IOMMU_OK);
  assert_int_equal(pt.stats.entries_written > 512, 1);
  assert_int_equal(bits(*slot(&pt, 0x7fe00000, 2), 7, 7), 1);
  assert_int_equal(pt_map_range(&pt, 1ull << 47, 0, 4096, PT_READ), IOMMU_ERANGE);
  pt_free(&pt);
  /* A tracking table maps writable leaves clean. */
  setup(&pt, &pt_fmt_x86_64, 12, 5, 56, 0, 0, PT_F_DIRTY_TRACK);
  assert_int_equal(pt.page_sizes, IOMMU_PAGE_4K | IOMMU_PAGE_2M | IOMMU_PAGE_1G);
  assert_int_equal(pt_map_range(&pt, 0x00ff000000000000ull, 0x7000, 4096, RW), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x00ff000000000000ull, 1), 0x7000ull | 0x27);
  pt_free(&pt);
}

/* ---------------------------------------------------------------- AMD-Vi v1 */
static void amd_v1_fields(void **state)
{
  (void)state;
  struct pt pt;
  setup(&pt, &pt_fmt_amd_v1, 12, 4, 48, 0, 0, 0);
  assert_int_equal(pt.page_sizes, 0x7ffff000ull);         /* every power of two 4K .. 1G */
  assert_int_equal(pt_map_range(&pt, 0x1000, 0x12345000ull, 4096, PT_READ), IOMMU_OK);
  uint64_t e = *slot(&pt, 0x1000, 4);                      /* directory */
  assert_int_equal(bits(e, 0, 0), 1);                      /* PR */
  assert_int_equal(bits(e, 11, 9), 3);                     /* next level */
  assert_int_equal(bits(e, 62, 61), 3);                    /* IR IW on directories */
  assert_int_equal(bits(e, 60, 52), 0);
  e = *slot(&pt, 0x1000, 1);
  assert_int_equal(e, 1ull | 0x12345000ull | (1ull << 61));/* PR, IR, next level 0 */
  assert_int_equal(pt_map_range(&pt, 0x2000, 0x12345000ull, 4096, PT_WRITE), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x2000, 1), 1ull | 0x12345000ull | (1ull << 62));
  /* 64 KiB: sixteen level-1 entries with next level 7, bits 12-14 set, 15 clear. */
  assert_int_equal(pt_map_range(&pt, 0x10000, 0x120000, 0x10000, RW), IOMMU_OK);
  for (unsigned i = 0; i < 16; i++) {
    e = *slot(&pt, 0x10000 + 0x1000ull * i, 1);
    assert_int_equal(bits(e, 11, 9), 7);
    assert_int_equal(bits(e, 51, 12), 0x127);
    assert_int_equal(bits(e, 62, 61), 3);
  }
  assert_int_equal(*slot(&pt, 0x20000, 1), 0);
  unsigned prot;
  uint64_t size;
  uint64_t phys;
  assert_int_equal(pt_iova_to_phys(&pt, 0x1abcd, &phys, &prot, &size), IOMMU_OK);
  assert_int_equal(phys, 0x12abcd);
  assert_int_equal(size, 0x10000);
  /* 8 MiB at level 2: bits 12-21 set, 22 clear; 2 MiB is next level 0 at level 2. */
  assert_int_equal(pt_map_range(&pt, 0x40800000ull, 0x40000000ull, 0x800000, PT_READ), IOMMU_OK);
  e = *slot(&pt, 0x40800000ull, 2);
  assert_int_equal(bits(e, 21, 12), 0x3ff);
  assert_int_equal(bits(e, 22, 22), 0);
  assert_int_equal(bits(e, 11, 9), 7);
  assert_int_equal(pt_map_range(&pt, 0x200000, 0x40000000, IOMMU_PAGE_2M, PT_READ), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x200000, 2), 1ull | (1ull << 61) | 0x40000000ull);
  /* inside an existing 2 MiB leaf */
  assert_int_equal(pt_map_range(&pt, 0x201000, 0x1000, 0x1000, PT_READ), IOMMU_EEXIST);
  uint64_t removed;
  assert_int_equal(pt_unmap_range(&pt, 0x201000, 0x1000, &removed, NULL, NULL), IOMMU_ERANGE);
  /* part of a replicated page cannot be unmapped; the whole can */
  assert_int_equal(pt_unmap_range(&pt, 0x10000, 0x8000, &removed, NULL, NULL), IOMMU_ERANGE);
  assert_int_equal(pt_unmap_range(&pt, 0x10000, 0x10000, &removed, NULL, NULL), IOMMU_OK);
  assert_int_equal(removed, 0x10000);
  for (unsigned i = 0; i < 16; i++)
    assert_int_equal(*slot(&pt, 0x10000 + 0x1000ull * i, 1), 0);
  pt_free(&pt);
}

static void amd_v1_every_level_and_size(void **state)
{
  (void)state;
  unsigned baseline = host_mem_pages_in_use();
  for (unsigned levels = 1; levels <= 6; levels++) {
    struct pt pt;
    unsigned bits_ = 12 + 9 * levels;
    setup(&pt, &pt_fmt_amd_v1, 12, levels, bits_ > 64 ? 64 : bits_, 0, 0, 0);
    uint64_t top = bits_ >= 64 ? ~0ull : (1ull << bits_) - 1;
    uint64_t iovas[2] = { 0, top & ~0xfffull };
    for (unsigned i = 0; i < 2; i++) {
      uint64_t phys = 0x100000000ull + 0x1000ull * (i + 1);
      assert_int_equal(pt_map_range(&pt, iovas[i], phys, 4096, PT_READ | (i ? PT_WRITE : 0)), IOMMU_OK);
      unsigned prot;
      assert_int_equal(phys_of(&pt, iovas[i] + 0x123, &prot), phys + 0x123);
      assert_int_equal(prot, PT_READ | (i ? PT_WRITE : 0));
    }
    for (unsigned l = levels; l > 1; l--)
      assert_int_equal(bits(*slot(&pt, iovas[1], l), 11, 9), l - 1);
    if (bits_ < 64)
      assert_int_equal(pt_map_range(&pt, 1ull << bits_, 0x1000, 4096, PT_READ), IOMMU_ERANGE);
    pt_free(&pt);
  }
  struct pt pt;
  setup(&pt, &pt_fmt_amd_v1, 12, 4, 48, 0, 0, 0);
  for (unsigned shift = 12; shift <= 30; shift++) {
    uint64_t size = 1ull << shift, iova = (0xc0000000ull + size * 5) & ~(size - 1);
    uint64_t phys = 0x180000000ull;
    if (shift == 30)
      iova = 0x80000000ull;
    assert_int_equal(pt_map_range(&pt, iova, phys, size, PT_WRITE), IOMMU_OK);
    uint64_t leaf;
    uint64_t out;
    unsigned prot;
    assert_int_equal(pt_iova_to_phys(&pt, iova + size - 1, &out, &prot, &leaf), IOMMU_OK);
    assert_int_equal(out, phys + size - 1);
    assert_int_equal(leaf, size);                          /* one leaf of exactly that size */
    assert_int_equal(phys_of(&pt, iova + size, NULL), ~0ull);
    assert_int_equal(pt_map_range(&pt, iova, phys, size, PT_READ), IOMMU_EEXIST);
    uint64_t removed;
    assert_int_equal(pt_unmap_range(&pt, iova, size, &removed, NULL, NULL), IOMMU_OK);
    assert_int_equal(removed, size);
  }
  pt_free(&pt);
  assert_int_equal(host_mem_pages_in_use(), baseline);
}

/* ---------------------------------------------------------------- Arm VMSAv8-64 */
static void arm_descriptors(void **state)
{
  (void)state;
  struct pt pt;
  setup(&pt, &pt_fmt_arm_s1, 12, 0, 48, 44, 0, 0);
  assert_int_equal(pt.levels, 4);
  assert_int_equal(pt.page_sizes, IOMMU_PAGE_4K | IOMMU_PAGE_2M | IOMMU_PAGE_1G);
  assert_int_equal(pt_map_range(&pt, 0x1000, 0x48123000ull, 4096, PT_READ), IOMMU_OK);
  assert_int_equal(*slot(&pt, 0x1000, 2) & 3, 3);         /* table */
  uint64_t e = *slot(&pt, 0x1000, 1);
  assert_int_equal(bits(e, 1, 0), 3);                     /* page at level 3 */
  assert_int_equal(bits(e, 4, 2), 0);                     /* AttrIndx 0: WB */
  assert_int_equal(bits(e, 5, 5), 0);                     /* NS */
  assert_int_equal(bits(e, 6, 6), 1);                     /* AP[1]: unprivileged too */
  assert_int_equal(bits(e, 7, 7), 1);                     /* AP[2]: read-only */
  assert_int_equal(bits(e, 9, 8), 3);                     /* SH inner */
  assert_int_equal(bits(e, 10, 10), 1);                   /* AF set by software */
  assert_int_equal(bits(e, 11, 11), 1);                   /* nG: ASID-tagged */
  assert_int_equal(bits(e, 47, 12), 0x48123);
  assert_int_equal(bits(e, 63, 48), 0);                   /* DBM, Contiguous, PXN, UXN clear */
  assert_int_equal(pt_map_range(&pt, 0x2000, 0x1000, 4096, PT_WRITE), IOMMU_OK);
  assert_int_equal(bits(*slot(&pt, 0x2000, 1), 7, 6), 1); /* write implies read at stage 1 */
  assert_int_equal(pt_map_range(&pt, 0x2000, 1ull << 44, 4096, PT_READ), IOMMU_ERANGE); /* OAS */
  pt_free(&pt);
  setup(&pt, &pt_fmt_arm_s1, 12, 0, 48, 48, 0, PT_F_ARM_NC | PT_F_NONCOHERENT);
  assert_int_equal(pt_map_range(&pt, 0x40200000ull, 0x40200000ull, IOMMU_PAGE_2M, RW), IOMMU_OK);
  e = *slot(&pt, 0x40200000ull, 2);
  assert_int_equal(bits(e, 1, 0), 1);                     /* block */
  assert_int_equal(bits(e, 7, 7), 0);                     /* writable */
  assert_int_equal(bits(e, 4, 2), 2);                     /* AttrIndx 2: NC */
  assert_int_equal(bits(e, 9, 8), 2);                     /* SH outer */
  pt_free(&pt);
  setup(&pt, &pt_fmt_arm_s2, 12, 0, 44, 44, 0, 0);
  assert_int_equal(pt.levels, 4);
  assert_int_equal(pt_map_range(&pt, 0xfff00000000ull, 0x48123000ull, 4096, PT_WRITE), IOMMU_OK);
  e = *slot(&pt, 0xfff00000000ull, 1);
  assert_int_equal(bits(e, 5, 2), 0xf);                   /* MemAttr Normal WB */
  assert_int_equal(bits(e, 7, 6), 2);                     /* S2AP write-only */
  assert_int_equal(bits(e, 10, 10), 1);
  assert_int_equal(bits(e, 11, 11), 0);                   /* no nG at stage 2 */
  pt_free(&pt);
  setup(&pt, &pt_fmt_arm_s2, 12, 0, 40, 40, 0, PT_F_ARM_NC);
  assert_int_equal(pt_map_range(&pt, 0x1000, 0x48123000ull, 4096, PT_READ), IOMMU_OK);
  e = *slot(&pt, 0x1000, 1);
  assert_int_equal(bits(e, 7, 6), 1);                     /* S2AP read-only */
  assert_int_equal(bits(e, 5, 2), 5);                     /* MemAttr Normal NC */
  pt_free(&pt);
}

static void arm_granules(void **state)
{
  (void)state;
  struct pt pt;
  /* 64K granule, 48-bit input: 3 levels (a 64-entry top table), 512M blocks. */
  setup(&pt, &pt_fmt_arm_s1, 16, 0, 48, 48, 0, 0);
  assert_int_equal(pt.levels, 3);
  assert_int_equal(pt.root_phys & 0xffff, 0);             /* aligned to the 64K granule */
  assert_int_equal(pt.page_sizes, (1ull << 16) | (1ull << 29));
  assert_int_equal(pt_map_range(&pt, 0xffffffff0000ull, 0x48010000ull, 1ull << 16, PT_READ), IOMMU_OK);
  assert_int_equal(pt_map_range(&pt, 1ull << 29, 0x60000000ull, 1ull << 29, PT_WRITE), IOMMU_OK);
  assert_int_equal(phys_of(&pt, 0xffffffff1234ull, NULL), 0x48011234ull);
  assert_int_equal(phys_of(&pt, (1ull << 29) + 0x123456, NULL), 0x60123456ull);
  assert_int_equal(pt.root[63] & 3, 3);                   /* top index of a 64-entry table */
  assert_int_equal(pt_map_range(&pt, 0, 0, 4096, PT_READ), IOMMU_EINVAL); /* below the granule */
  pt_free(&pt);
  /* 16K granule: 32M blocks, 4 levels for 48 bits (2-entry level-0 table). */
  setup(&pt, &pt_fmt_arm_s1, 14, 0, 48, 48, 0, PT_F_NONCOHERENT);
  assert_int_equal(pt.levels, 4);
  assert_int_equal(pt.page_sizes, (1ull << 14) | (1ull << 25));
  assert_int_equal(pt_map_range(&pt, 0x800000000000ull, 0x48004000ull, 1ull << 14, PT_READ), IOMMU_OK);
  assert_int_equal(pt_map_range(&pt, 1ull << 25, 0x62000000ull, 1ull << 25, PT_READ), IOMMU_OK);
  assert_int_equal(phys_of(&pt, 0x800000000010ull, NULL), 0x48004010ull);
  assert_int_equal(phys_of(&pt, (1ull << 25) + 0x10, NULL), 0x62000010ull);
  assert_int_equal(pt.root[1] & 3, 3);
  pt_free(&pt);
  struct pt_cfg bad = { .fmt = &pt_fmt_arm_s1, .granule_shift = 13, .ias = 48 };
  assert_int_equal(pt_init(&pt, &bad), IOMMU_EUNSUPPORTED);
}

/* ---------------------------------------------------------------- dirty state */
/* What the hardware does on a DMA write through the leaf at iova, per format. */
static void hw_write(struct pt *pt, uint64_t iova, unsigned level)
{
  uint64_t *e = slot(pt, iova, level);
  if (pt->cfg.fmt == &pt_fmt_vtd_ss)
    *e |= 1ull << 9;
  else if (pt->cfg.fmt == &pt_fmt_x86_64 || pt->cfg.fmt == &pt_fmt_amd_v1)
    *e |= 1ull << 6;
  else if (pt->cfg.fmt == &pt_fmt_arm_s1)
    *e &= ~(1ull << 7);                                   /* AP[2] cleared: writable-dirty */
  else
    *e |= 1ull << 7;                                      /* S2AP[1] set */
}

struct seen {
  uint64_t iova[16], size[16];
  unsigned n;
};

static void collect(void *ctx, uint64_t iova, uint64_t size)
{
  struct seen *s = ctx;
  if (s->n < 16) {
    s->iova[s->n] = iova;
    s->size[s->n] = size;
  }
  s->n++;
}

static void dirty_every_format(void **state)
{
  (void)state;
  const struct pt_format *fmts[5] = { &pt_fmt_vtd_ss, &pt_fmt_x86_64, &pt_fmt_amd_v1,
                                      &pt_fmt_arm_s1, &pt_fmt_arm_s2 };
  for (unsigned i = 0; i < 5; i++) {
    struct pt pt;
    setup(&pt, fmts[i], 12, 4, 48, 48, IOMMU_PAGE_4K | IOMMU_PAGE_2M, PT_F_DIRTY_TRACK);
    assert_int_equal(pt_map_range(&pt, 0x100000, 0x800000, 0x10000, RW), IOMMU_OK);
    assert_int_equal(pt_map_range(&pt, 0x400000, 0xa00000, IOMMU_PAGE_2M, RW), IOMMU_OK);
    struct seen s = { .n = 0 };
    assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 1ull << 30, true, collect, &s), IOMMU_OK);
    assert_int_equal(s.n, 0);                             /* mapped clean */
    unsigned prot;
    assert_int_equal(phys_of(&pt, 0x103000, &prot), 0x803000);
    assert_int_equal(prot, RW);                           /* clean and still writable */
    hw_write(&pt, 0x103000, 1);
    hw_write(&pt, 0x400000, 2);
    s.n = 0;
    assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 1ull << 30, false, collect, &s), IOMMU_OK);
    assert_int_equal(s.n, 2);                             /* NO_CLEAR: reported, kept */
    s.n = 0;
    assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 1ull << 30, true, collect, &s), IOMMU_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.iova[0], 0x103000);
    assert_int_equal(s.size[0], 4096);
    assert_int_equal(s.iova[1], 0x400000);
    assert_int_equal(s.size[1], IOMMU_PAGE_2M);
    s.n = 0;
    assert_int_equal(pt_read_and_clear_dirty(&pt, 0, 1ull << 30, true, collect, &s), IOMMU_OK);
    assert_int_equal(s.n, 0);                             /* cleared */
    hw_write(&pt, 0x105000, 1);
    s.n = 0;
    uint64_t removed;
    assert_int_equal(pt_unmap_range(&pt, 0x100000, 0x10000, &removed, collect, &s), IOMMU_OK);
    assert_int_equal(s.n, 1);                             /* unmap reports the dirty page */
    assert_int_equal(s.iova[0], 0x105000);
    pt_free(&pt);
  }
  /* AMD replicated pages: the dirty bit of any replica marks the page; all are cleared. */
  struct pt pt;
  setup(&pt, &pt_fmt_amd_v1, 12, 4, 48, 0, 0, PT_F_DIRTY_TRACK);
  assert_int_equal(pt_map_range(&pt, 0x40000, 0x80000, 0x10000, RW), IOMMU_OK);
  hw_write(&pt, 0x47000, 1);                              /* the 8th replica */
  struct seen s = { .n = 0 };
  assert_int_equal(pt_read_and_clear_dirty(&pt, 0x40000, 0x10000, true, collect, &s), IOMMU_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.iova[0], 0x40000);
  assert_int_equal(s.size[0], 0x10000);
  for (unsigned i = 0; i < 16; i++)
    assert_int_equal(bits(*slot(&pt, 0x40000 + 0x1000ull * i, 1), 6, 6), 0);
  /* A window that starts one page into the page (or ends inside it) still sees the dirty
   * bit hardware set in a replica outside the window. */
  hw_write(&pt, 0x40000, 1);
  s.n = 0;
  assert_int_equal(pt_read_and_clear_dirty(&pt, 0x41000, 0x2000, true, collect, &s), IOMMU_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(s.iova[0], 0x40000);
  hw_write(&pt, 0x4f000, 1);
  s.n = 0;
  assert_int_equal(pt_read_and_clear_dirty(&pt, 0x3f000, 0x2000, true, collect, &s), IOMMU_OK);
  assert_int_equal(s.n, 1);
  assert_int_equal(bits(*slot(&pt, 0x4f000, 1), 6, 6), 0);
  pt_free(&pt);
}

/* ---------------------------------------------------------------- property test */
struct ref_map {
  uint64_t iova, phys, size;
  unsigned prot;
};

static uint64_t rnd_state;
static uint64_t rnd(void)
{
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}

static bool overlaps(const struct ref_map *r, unsigned n, uint64_t iova, uint64_t size)
{
  for (unsigned i = 0; i < n; i++)
    if (iova < r[i].iova + r[i].size && r[i].iova < iova + size)
      return true;
  return false;
}

static void check_against(const struct pt *pt, const struct ref_map *r, unsigned n, uint64_t span)
{
  /* Every reference mapping translates at its first, last and a random byte. */
  for (unsigned i = 0; i < n; i++) {
    uint64_t offs[3] = { 0, r[i].size - 1, rnd() % r[i].size };
    for (unsigned k = 0; k < 3; k++) {
      unsigned prot;
      assert_int_equal(phys_of(pt, r[i].iova + offs[k], &prot), r[i].phys + offs[k]);
      unsigned want = r[i].prot;
      if (pt->cfg.fmt->write_implies_read && (want & PT_WRITE))
        want |= PT_READ;
      assert_int_equal(prot, want);
    }
  }
  /* Random probes: mapped exactly where the reference says. */
  for (unsigned k = 0; k < 64; k++) {
    uint64_t a = rnd() % span;
    bool mapped = overlaps(r, n, a, 1);
    assert_int_equal(phys_of(pt, a, NULL) != ~0ull, mapped);
  }
}

static void round_trip_one(const struct pt_format *f, unsigned g, unsigned ias, uint64_t seed)
{
  struct pt pt;
  setup(&pt, f, g, 0, ias, 48, 0, 0);
  uint64_t gran = 1ull << g, span = 1ull << 34;
  if (span > (1ull << ias))
    span = 1ull << ias;
  enum { MAXR = 48 };
  struct ref_map r[MAXR];
  unsigned n = 0;
  rnd_state = seed;
  uint64_t sizes = pt.page_sizes;
  for (unsigned step = 0; step < 600; step++) {
    unsigned op = (unsigned)(rnd() % 4);
    if (op < 2 && n < MAXR) {
      /* map: a multiple of a random leaf size, aligned to a random (maybe smaller) size */
      uint64_t s = sizes, pick = rnd() % (uint64_t)__builtin_popcountll(s);
      while (pick--)
        s &= s - 1;
      uint64_t leaf = s & -s;
      uint64_t align = (rnd() % 2) ? leaf : gran;
      uint64_t size = leaf * (1 + rnd() % 3) + gran * (rnd() % 3);
      if (size > span / 4)
        size = leaf;
      uint64_t iova = (rnd() % (span - size)) & ~(align - 1);
      uint64_t phys = ((rnd() % (1ull << 40)) & ~(align - 1)) + ((iova & (leaf - 1)) & ~(align - 1));
      phys &= ~(gran - 1);
      phys &= (1ull << 47) - 1;
      unsigned prot = 1 + (unsigned)(rnd() % 3);
      int err = pt_map_range(&pt, iova, phys, size, prot);
      if (overlaps(r, n, iova, size)) {
        assert_int_equal(err, IOMMU_EEXIST);               /* refused, nothing left behind */
      } else {
        assert_int_equal(err, IOMMU_OK);
        r[n++] = (struct ref_map){ iova, phys, size, prot };
      }
    } else if (n) {
      /* unmap one mapping exactly, or a window covering it and the hole after it */
      unsigned i = (unsigned)(rnd() % n);
      uint64_t size = r[i].size, removed;
      if (rnd() % 2 && !overlaps(r, n, r[i].iova + size, gran) && r[i].iova + size + gran <= span)
        size += gran;
      assert_int_equal(pt_unmap_range(&pt, r[i].iova, size, &removed, NULL, NULL), IOMMU_OK);
      assert_int_equal(removed, r[i].size);
      r[i] = r[--n];
    }
    if (step % 50 == 0)
      check_against(&pt, r, n, span);
  }
  check_against(&pt, r, n, span);
  pt_free(&pt);
}

static void round_trip_property(void **state)
{
  (void)state;
  unsigned baseline = host_mem_pages_in_use();
  for (uint64_t seed = 1; seed <= 4; seed++) {
    round_trip_one(&pt_fmt_vtd_ss, 12, 48, seed * 7919);
    round_trip_one(&pt_fmt_x86_64, 12, 47, seed * 104729);
    round_trip_one(&pt_fmt_amd_v1, 12, 48, seed * 1299709);
    round_trip_one(&pt_fmt_arm_s1, 12, 48, seed * 15485863);
    round_trip_one(&pt_fmt_arm_s2, 16, 42, seed * 32452843);
    round_trip_one(&pt_fmt_arm_s1, 14, 47, seed * 49979687);
  }
  assert_int_equal(host_mem_pages_in_use(), baseline);
}

/* A whole range walks each table once: 1 GiB of 2M leaves writes 512 leaves plus the path. */
static void range_touches_few_entries(void **state)
{
  (void)state;
  struct pt pt;
  setup(&pt, &pt_fmt_vtd_ss, 12, 4, 48, 0, IOMMU_PAGE_4K | IOMMU_PAGE_2M, 0);
  assert_int_equal(pt_map_range(&pt, 1ull << 30, 1ull << 31, 1ull << 30, RW), IOMMU_OK);
  assert_true(pt.stats.entries_written <= 512 + 3);
  assert_int_equal(pt_check_mapped(&pt, 1ull << 30, 1ull << 30), IOMMU_OK);
  assert_int_equal(pt_check_mapped(&pt, (1ull << 30) - 4096, 8192), IOMMU_ENOENT);
  pt_free(&pt);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(vtd_ss_fields_and_walk),
    cmocka_unit_test(x86_64_fields_and_walk),
    cmocka_unit_test(amd_v1_fields),
    cmocka_unit_test(amd_v1_every_level_and_size),
    cmocka_unit_test(arm_descriptors),
    cmocka_unit_test(arm_granules),
    cmocka_unit_test(dirty_every_format),
    cmocka_unit_test(round_trip_property),
    cmocka_unit_test(range_touches_few_entries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
