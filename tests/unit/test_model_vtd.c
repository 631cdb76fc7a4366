/* The VT-d model and the model DMA engine on their own, programmed by hand from the spec
 * (no driver code): register semantics, structure walks, caching that needs the right
 * invalidation, fault records, the invalidation queue, PASID-tagged DMA and Access/Dirty
 * updates. Section numbers: VT-d 5.10. Table entries are built here with the test's own
 * encoders so that a model bug cannot hide behind a shared one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/arch.h"
#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "iommu/initiator/model_engine_regs.h"
#include "tests/model/dma_engine.h"
#include "tests/model/vtd_model.h"

#define SID 0x0010
#define DID 7

static struct vtd_model *m;
static void *pages[64];
static unsigned n_pages;

static uint64_t alloc_page(uint64_t **virt)
{
  uint64_t phys;
  void *p = page_alloc(1, UINT64_MAX, &phys);
  assert_non_null(p);
  pages[n_pages++] = p;
  if (virt)
    *virt = p;
  return phys;
}

static uint32_t r32(unsigned off) { return (uint32_t)vtd_model_read(m, off, 4); }
static uint64_t r64(unsigned off) { return vtd_model_read(m, off, 8); }
static void w32(unsigned off, uint32_t v) { vtd_model_write(m, off, 4, v); }
static void w64(unsigned off, uint64_t v) { vtd_model_write(m, off, 8, v); }

/* GCMD with the persistent status bits kept (11.4.4.1). */
static void gcmd(uint32_t bit) { w32(0x18, (r32(0x1c) & 0x96ffffffu) | bit); }

static struct vtd_model_params legacy_params(void)
{
  struct vtd_model_params p;
  vtd_model_params_default(&p);
  p.nfr = 2;
  p.fault_compression = false;
  return p;
}

static struct vtd_model_params scalable_params(void)
{
  struct vtd_model_params p = legacy_params();
  p.ver = 0x30;
  p.haw = 48;
  p.sagaw = 0x6;
  p.mgaw = 48;
  p.smts = p.ssts = p.fsts = p.pasid = p.ssads = p.smpwcs = true;
  p.pss = 19;
  return p;
}

static void start(const struct vtd_model_params *p)
{
  m = vtd_model_create(p);
  assert_non_null(m);
  n_pages = 0;
}

static int teardown(void **state)
{
  (void)state;
  for (unsigned i = 0; i < n_pages; i++)
    page_free(pages[i], 1);
  n_pages = 0;
  vtd_model_destroy(m);
  m = NULL;
  host_mmio_unregister_all();
  return 0;
}

static enum model_dma_result dma(uint16_t sid, bool tagged, uint32_t pasid, uint64_t addr, bool write,
                                 void *buf, uint32_t len)
{
  struct model_dma_req req = { .sid = sid, .has_pasid = tagged, .pasid = pasid, .addr = addr,
                               .len = len, .write = write };
  return vtd_model_dma(m, &req, buf);
}

/* ---- the test's own encoders (9.1, 9.3, 9.8) ---- */
static uint64_t ss(uint64_t phys, bool r, bool w) { return phys | (r ? 1 : 0) | (w ? 2 : 0); }

/* 3-level legacy tables for SID with DID, mapping iova -> phys (RW). Returns the leaf
 * table so tests can rewrite the PTE. */
static uint64_t *legacy_setup(uint64_t iova, uint64_t phys, uint64_t *root_phys)
{
  uint64_t *root, *ctx, *l3, *l2, *l1;
  *root_phys = alloc_page(&root);
  uint64_t ctx_phys = alloc_page(&ctx), l3p = alloc_page(&l3), l2p = alloc_page(&l2), l1p = alloc_page(&l1);
  root[(SID >> 8) * 2] = ctx_phys | 1;
  ctx[(SID & 0xff) * 2] = l3p | 1;                 /* P, TT=00 */
  ctx[(SID & 0xff) * 2 + 1] = 1 | (uint64_t)DID << 8; /* AW=1: 39-bit */
  l3[(iova >> 30) & 0x1ff] = ss(l2p, true, true);
  l2[(iova >> 21) & 0x1ff] = ss(l1p, true, true);
  l1[(iova >> 12) & 0x1ff] = ss(phys, true, true);
  return &l1[(iova >> 12) & 0x1ff];
}

static void enable_legacy(uint64_t root_phys)
{
  w64(0x20, root_phys);
  gcmd(1u << 30);
  assert_true(r32(0x1c) & (1u << 30)); /* RTPS */
  gcmd(1u << 31);
  assert_true(r32(0x1c) & (1u << 31)); /* TES */
}

/* ---------------------------------------------------------------- registers */

static void register_reset_values_and_access_types(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  start(&p);
  assert_int_equal(r32(0x00), 0x10);
  assert_int_equal(r64(0x08), vtd_model_cap(&p));
  assert_int_equal(r64(0x10), vtd_model_ecap(&p));
  assert_int_equal((r64(0x08) >> 24) & 0x3ff, 0x600 / 16);   /* FRO */
  assert_int_equal((r64(0x08) >> 40) & 0xff, 1);             /* NFR - 1 */
  assert_int_equal((r64(0x10) >> 8) & 0x3ff, 0x500 / 16);    /* IRO */
  assert_int_equal(r32(0x38), 0x80000000u);                  /* FECTL.IM set at reset */
  assert_int_equal(r32(0xa0), 0x80000000u);                  /* IECTL.IM set at reset */
  assert_int_equal(r32(0x1c), 0);
  w64(0x08, 0);                                              /* CAP is read-only */
  assert_int_equal(r64(0x08), vtd_model_cap(&p));
  w32(0x18, 0x80000000u);                                    /* GCMD reads 0 */
  assert_int_equal(r32(0x18), 0);
  gcmd(0);
  w64(0x90, 0x123456000ull | (1u << 11) | 3);                /* IQA reads back as written */
  assert_int_equal(r64(0x90), 0x123456000ull | (1u << 11) | 3);
  unsigned long bad = vtd_model_stats(m)->bad_accesses;
  vtd_model_write(m, 0x90, 1, 0xff);                         /* 11.2: byte access not allowed */
  assert_int_equal(vtd_model_stats(m)->bad_accesses, bad + 1);
  assert_int_equal(r64(0x90), 0x123456000ull | (1u << 11) | 3);
}

static void root_pointer_takes_effect_only_at_srtp(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  start(&p);
  uint64_t *data, root_phys, data_phys = alloc_page(&data);
  legacy_setup(0x200000, data_phys, &root_phys);
  enable_legacy(root_phys);
  uint8_t buf[16] = "translated";
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 16), MODEL_DMA_OK);
  assert_memory_equal(data, "translated", 10);
  /* A new RTADDR without SRTP is not used: the old root still translates. */
  uint64_t *empty;
  uint64_t empty_phys = alloc_page(&empty);
  w64(0x20, empty_phys);
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 16), MODEL_DMA_BLOCKED); /* unmapped page */
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x05);
  gcmd(1u << 30);
  /* The cached context entry and translation survive SRTP until invalidated (ESRTPS=0, 6.6). */
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 16), MODEL_DMA_OK);
  w64(0x28, 1ull << 63 | 1ull << 61);                        /* CCMD global */
  assert_int_equal(r64(0x28) >> 63, 0);
  assert_int_equal((r64(0x28) >> 59) & 3, 1);                /* CAIG: global performed */
  w64(0x500 + 8, 1ull << 63 | 1ull << 60);                   /* IOTLB global */
  assert_int_equal((r64(0x508) >> 57) & 3, 1);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 16), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x01); /* root entry not present */
}

/* ---------------------------------------------------------------- caching */

static void iotlb_keeps_a_translation_until_the_right_invalidation(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  start(&p);
  uint64_t *a, *b, root_phys, a_phys = alloc_page(&a), b_phys = alloc_page(&b);
  uint64_t *pte = legacy_setup(0x200000, a_phys, &root_phys);
  enable_legacy(root_phys);
  uint8_t buf[8] = "first";
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "first", 5);
  *pte = ss(b_phys, true, true);                             /* remap without invalidation */
  memcpy(buf, "second", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "second", 6);                       /* stale: still page A */
  /* Page-selective invalidation for another domain does not help. */
  w64(0x500, 0x200000);
  w64(0x508, 1ull << 63 | 3ull << 60 | (uint64_t)(DID + 1) << 32);
  assert_int_equal((r64(0x508) >> 57) & 3, 3);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "\0", 1);
  /* The right one does. */
  w64(0x508, 1ull << 63 | 3ull << 60 | (uint64_t)DID << 32);
  memcpy(buf, "third", 6);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "third", 5);
  assert_true(vtd_model_stats(m)->iotlb_hits >= 2);
}

static void context_cache_needs_device_invalidation_with_the_domain(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  start(&p);
  uint64_t *a, root_phys, a_phys = alloc_page(&a);
  legacy_setup(0x200000, a_phys, &root_phys);
  enable_legacy(root_phys);
  uint8_t buf[8] = { 1 };
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  /* Clear the context entry (P=0) in memory. */
  uint64_t root[2];
  model_mem_read(root_phys + (SID >> 8) * 16, root, 16);
  uint64_t ce_addr = (root[0] & ~0xfffull) + (SID & 0xff) * 16;
  model_mem_write64(ce_addr, 0);
  /* Another page (IOTLB miss) still goes through the cached context entry. */
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x05); /* walked: not a context fault */
  /* Device-selective with the wrong DID leaves it (6.5.2.1); with the right DID it goes. */
  w64(0x28, 1ull << 63 | 3ull << 61 | (uint64_t)SID << 16 | (DID + 1));
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x05);
  w64(0x28, 1ull << 63 | 3ull << 61 | (uint64_t)SID << 16 | DID);
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x02);
}

/* ---------------------------------------------------------------- faults */

static void fault_records_overflow_and_w1c(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params(); /* 2 FRCDs, no compression */
  start(&p);
  uint64_t *a, root_phys, a_phys = alloc_page(&a);
  legacy_setup(0x200000, a_phys, &root_phys);
  enable_legacy(root_phys);
  uint8_t buf[8] = { 0 };
  assert_int_equal(dma(SID, false, 0, 0x345000, true, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t lo = r64(0x600), hi = r64(0x608);
  assert_int_equal(lo, 0x345000);                            /* FI: page address */
  assert_int_equal(hi & 0xffff, SID);
  assert_int_equal((hi >> 32) & 0xff, 0x05);                 /* FR */
  assert_int_equal(hi >> 63, 1);                             /* F */
  assert_int_equal((hi >> 62) & 1, 0);                       /* T1=0: write */
  assert_int_equal((hi >> 31) & 1, 0);                       /* PP=0: no PASID */
  assert_int_equal(r32(0x34), 0x2);                          /* PPF, FRI 0 */
  assert_int_equal(r32(0x38), 0xc0000000u);                  /* IM and IP */
  assert_int_equal(dma(SID, false, 0, 0x346000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal((r64(0x618) >> 62) & 1, 1);               /* T1=1: read */
  assert_int_equal((r64(0x618) >> 32) & 0xff, 0x06);
  assert_int_equal(dma(SID, false, 0, 0x347000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(r32(0x34) & 3, 3);                        /* PFO + PPF */
  /* F is RW1C (dword write to the top dword); PFO W1C in FSTS; IP clears when serviced. */
  w32(0x60c, 1u << 31);
  w32(0x61c, 1u << 31);
  assert_int_equal(r32(0x34) & 3, 1);
  w32(0x34, 1);
  assert_int_equal(r32(0x34), 0);
  assert_int_equal(r32(0x38), 0x80000000u);
  /* Recording resumes at the internal index (wrapped to 0). */
  assert_int_equal(dma(SID, false, 0, 0x348000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(0x600), 0x348000);
}

static void fault_compression_collapses_one_source(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  p.fault_compression = true;
  start(&p);
  uint64_t *a, root_phys, a_phys = alloc_page(&a);
  legacy_setup(0x200000, a_phys, &root_phys);
  enable_legacy(root_phys);
  uint8_t buf[8] = { 0 };
  dma(SID, false, 0, 0x345000, true, buf, 8);
  dma(SID, false, 0, 0x346000, true, buf, 8);
  assert_int_equal(vtd_model_stats(m)->faults_collapsed, 1);
  assert_int_equal(r32(0x34) & 1, 0);                        /* no overflow */
  assert_int_equal(r64(0x618) >> 63, 0);                     /* second FRCD unused */
}

/* ---------------------------------------------------------------- invalidation queue */

static void queue_processes_on_tail_write_and_holds_head_on_error(void **state)
{
  (void)state;
  struct vtd_model_params p = legacy_params();
  start(&p);
  uint64_t *q, *status, q_phys = alloc_page(&q), st_phys = alloc_page(&status);
  w64(0x88, 0);
  w64(0x90, q_phys);                                         /* 128-bit descriptors, 1 page */
  gcmd(1u << 26);
  assert_true(r32(0x1c) & (1u << 26));                       /* QIES */
  q[0] = 0x5 | 1u << 5 | 0xabcdull << 32;                    /* wait, SW, data 0xabcd */
  q[1] = st_phys;
  w64(0x88, 16);
  assert_int_equal(*(uint32_t *)status, 0xabcd);
  assert_int_equal(r64(0x80), 16);
  q[2] = 0xf;                                                /* reserved type */
  q[3] = 0;
  q[4] = 0x5 | 1u << 5 | 0x1111ull << 32;
  q[5] = st_phys;
  w64(0x88, 48);
  assert_true(r32(0x34) & 0x10);                             /* IQE */
  assert_int_equal(r64(0x80), 16);                           /* head at the bad descriptor */
  assert_int_equal(r64(0xb0) & 0xf, 3);                      /* IQEI: invalid type */
  assert_int_equal(*(uint32_t *)status, 0xabcd);
  w64(0x88, 48);                                             /* tail writes do not fetch */
  assert_int_equal(r64(0x80), 16);
  q[2] = 0x5 | 1u << 4;                                      /* wait with IF */
  w32(0x34, 0x10);                                           /* clearing IQE resumes */
  assert_int_equal(r64(0x80), 48);
  assert_int_equal(*(uint32_t *)status, 0x1111);
  assert_int_equal(r32(0x9c), 1);                            /* ICS.IWC */
  w32(0x9c, 1);
  assert_int_equal(r32(0x9c), 0);
  w32(0x18, r32(0x1c) & 0x96ffffffu & ~(1u << 26));         /* QIE off: IQH back to 0 */
  assert_int_equal(r64(0x80), 0);
}

static void scalable_mode_rejects_128bit_descriptors(void **state)
{
  (void)state;
  struct vtd_model_params p = scalable_params();
  start(&p);
  uint64_t *q, *root, q_phys = alloc_page(&q), root_phys = alloc_page(&root);
  w64(0x20, root_phys | 1u << 10);                           /* TTM=01 */
  gcmd(1u << 30);
  w64(0x90, q_phys);                                         /* DW=0 */
  gcmd(1u << 26);
  q[0] = 0x5;
  w64(0x88, 16);
  assert_int_equal(r64(0xb0) & 0xf, 5);                      /* invalid descriptor width */
  assert_int_equal(r64(0x80), 0);
}

/* ---------------------------------------------------------------- scalable mode */

struct sm {
  uint64_t *pasid_table;
  uint64_t root_phys;
};

/* Scalable root, context (PASIDE, PDTS=0), one PASID directory entry (PASIDs 0..63). */
static struct sm sm_setup(void)
{
  struct sm s;
  uint64_t *root, *ctx, *dir;
  s.root_phys = alloc_page(&root);
  uint64_t ctx_phys = alloc_page(&ctx), dir_phys = alloc_page(&dir);
  uint64_t pt_phys = alloc_page(&s.pasid_table);
  root[(SID >> 8) * 2] = ctx_phys | 1;                     /* LP: devfn < 0x80 */
  ctx[(SID & 0x7f) * 4] = dir_phys | 1 | 1u << 3;          /* P, PASIDE, PDTS=0 */
  dir[0] = pt_phys | 1;
  return s;
}

static void enable_sm(const struct sm *s)
{
  w64(0x20, s->root_phys | 1u << 10);
  gcmd(1u << 30);
  gcmd(1u << 31);
}

/* 4-level first-stage tables mapping iova -> phys with no A/D preset; returns the leaf. */
static uint64_t fs_tables(uint64_t iova, uint64_t phys, bool writable, uint64_t **levels_out)
{
  uint64_t *t[4], p[4];
  for (unsigned i = 0; i < 4; i++)
    p[i] = alloc_page(&t[i]);
  for (unsigned i = 0; i < 3; i++)
    t[i][(iova >> (39 - 9 * i)) & 0x1ff] = p[i + 1] | 1 | 2 | 4;  /* P, R/W, U/S */
  t[3][(iova >> 12) & 0x1ff] = phys | 1 | 4 | (writable ? 2 : 0);
  for (unsigned i = 0; i < 4; i++)
    levels_out[i] = &t[i][(iova >> (39 - 9 * i)) & 0x1ff];
  return p[0];
}

static void pasid_tagged_first_stage_sets_accessed_and_dirty(void **state)
{
  (void)state;
  struct vtd_model_params p = scalable_params();
  start(&p);
  struct sm s = sm_setup();
  uint64_t *data, data_phys = alloc_page(&data), *lv[4];
  uint64_t fs_root = fs_tables(0x400000, data_phys, true, lv);
  uint64_t *pe = &s.pasid_table[5 * 8];
  pe[1] = DID | 1ull << 23;                                  /* DID, PWSNP */
  pe[2] = fs_root;                                           /* FSPM 00: 4-level */
  pe[0] = 1 | 1u << 6;                                       /* P, PGTT=001 */
  enable_sm(&s);
  uint8_t buf[8] = "pasid5", rd[8];
  assert_int_equal(dma(SID, true, 5, 0x400000, false, rd, 8), MODEL_DMA_OK);
  for (unsigned i = 0; i < 4; i++)
    assert_true(*lv[i] & 0x20);                              /* A everywhere */
  assert_int_equal(*lv[3] & 0x40, 0);                        /* no D on a read */
  assert_int_equal(dma(SID, true, 5, 0x400000, true, buf, 8), MODEL_DMA_OK);
  assert_true(*lv[3] & 0x40);                                /* D on the write (re-walk) */
  assert_memory_equal(data, "pasid5", 6);
  /* Unmapped address with PASID: 71h with PP=1, PV=5 (11.4.7.6). */
  assert_int_equal(dma(SID, true, 5, 0x800000, true, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t hi = r64(0x608);
  assert_int_equal((hi >> 32) & 0xff, 0x71);
  assert_int_equal((hi >> 31) & 1, 1);
  assert_int_equal((hi >> 40) & 0xfffff, 5);
  /* Untagged: RID_PASID 0, whose entry is not present: 59h, PP=0. */
  assert_int_equal(dma(SID, false, 0, 0x400000, true, buf, 8), MODEL_DMA_BLOCKED);
  hi = r64(0x618);
  assert_int_equal((hi >> 32) & 0xff, 0x59);
  assert_int_equal((hi >> 31) & 1, 0);
  /* PASID beyond PSS (20 bits) and tagged PASID 0 (= RID_PASID). */
  assert_int_equal(dma(SID, true, 1u << 20, 0x400000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x89);
  assert_int_equal(dma(SID, true, 0, 0x400000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x48);
}

static void first_stage_ad_update_needs_snooped_walks(void **state)
{
  (void)state;
  struct vtd_model_params p = scalable_params();
  start(&p);
  struct sm s = sm_setup();
  uint64_t *data, data_phys = alloc_page(&data), *lv[4];
  uint64_t fs_root = fs_tables(0x400000, data_phys, true, lv);
  uint64_t *pe = &s.pasid_table[5 * 8];
  pe[1] = DID;                                               /* PWSNP=0 */
  pe[2] = fs_root;
  pe[0] = 1 | 1u << 6;
  enable_sm(&s);
  uint8_t buf[8] = { 0 };
  assert_int_equal(dma(SID, true, 5, 0x400000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(vtd_model_stats(m)->last_fault_reason, 0x90); /* SFS.9 */
  assert_int_equal(*lv[0] & 0x20, 0);
}

static void second_stage_ad_with_ssade_and_piotlb_scope(void **state)
{
  (void)state;
  struct vtd_model_params p = scalable_params();
  start(&p);
  struct sm s = sm_setup();
  uint64_t *data, *other, data_phys = alloc_page(&data), other_phys = alloc_page(&other);
  uint64_t *l4, *l3, *l2, *l1;
  uint64_t l4p = alloc_page(&l4), l3p = alloc_page(&l3), l2p = alloc_page(&l2), l1p = alloc_page(&l1);
  uint64_t iova = 0x200000;
  l4[0] = ss(l3p, true, true);
  l3[0] = ss(l2p, true, true);
  l2[1] = ss(l1p, true, true);
  l1[0] = ss(data_phys, true, true);
  uint64_t *pe = &s.pasid_table[0];                          /* RID_PASID 0 */
  pe[1] = DID | 1ull << 23;
  pe[0] = 1 | 2u << 2 | 2u << 6 | 1u << 9 | l4p;             /* P, AW=48, PGTT=010, SSADE */
  enable_sm(&s);
  uint8_t buf[8] = "ss-ad";
  assert_int_equal(dma(SID, false, 0, iova, true, buf, 8), MODEL_DMA_OK);
  assert_true(l4[0] & 0x100);
  assert_true(l1[0] & 0x100);                                /* A */
  assert_true(l1[0] & 0x200);                                /* D */
  /* A PASID-based invalidation, page-selective or PASID-selective, does not reach
   * second-stage entries (Table 24); an IOTLB page invalidation does (Table 23). */
  l1[0] = ss(other_phys, true, true);
  uint64_t *q, *st, q_phys = alloc_page(&q), st_phys = alloc_page(&st);
  w64(0x90, q_phys | 1u << 11);
  gcmd(1u << 26);
  q[0] = 0x6 | 3u << 4 | (uint64_t)DID << 16;                /* P_IOTLB page, PASID 0 */
  q[1] = iova;
  q[4] = 0x5 | 1u << 5 | 1ull << 32;
  q[5] = st_phys;
  w64(0x88, 64);
  assert_int_equal(*(uint32_t *)st, 1);
  assert_int_equal(dma(SID, false, 0, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(data, "ss-ad", 5);                     /* stale, as the spec says */
  assert_memory_equal(other, "\0", 1);
  q[8] = 0x6 | 2u << 4 | (uint64_t)DID << 16;                /* P_IOTLB PASID-selective, PASID 0 */
  q[12] = 0x5 | 1u << 5 | 2ull << 32;
  q[13] = st_phys;
  w64(0x88, 128);
  assert_int_equal(*(uint32_t *)st, 2);
  memcpy(buf, "still", 6);
  assert_int_equal(dma(SID, false, 0, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(data, "still", 5);                     /* still stale */
  assert_memory_equal(other, "\0", 1);
  q[16] = 0x2 | 3u << 4 | (uint64_t)DID << 16;               /* IOTLB page-selective */
  q[17] = iova;
  q[20] = 0x5 | 1u << 5 | 3ull << 32;
  q[21] = st_phys;
  w64(0x88, 192);
  assert_int_equal(*(uint32_t *)st, 3);
  memcpy(buf, "fresh", 6);
  assert_int_equal(dma(SID, false, 0, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(other, "fresh", 5);
}

/* ---------------------------------------------------------------- DMA engine */

static struct model_dma_req seen[16];
static unsigned n_seen;
static uint64_t block_at = ~0ull;

static enum model_dma_result recorder(void *ctx, const struct model_dma_req *req, void *data)
{
  (void)ctx;
  (void)data;
  if (n_seen < 16)
    seen[n_seen++] = *req;
  return req->addr == block_at ? MODEL_DMA_BLOCKED : MODEL_DMA_OK;
}

static void engine_splits_at_4k_tags_pasid_and_stops_at_a_block(void **state)
{
  (void)state;
  host_mmio_unregister_all();
  struct dma_engine_params ep = { .bus = 0, .dev = 2, .fn = 0, .bar = 0xfe000000ull,
                                  .buf_size = 65536, .max_len = 65536, .pasid_width = 20,
                                  .pasid_priv = true };
  struct model_bus up = { recorder, NULL };
  struct dma_engine *e = dma_engine_create(&ep, up);
  assert_non_null(e);
  assert_int_equal(dma_engine_register(e), 0);
  struct model_pci_fn *f = dma_engine_pci(e);
  const uint64_t bar = 0xfe000000ull;
  assert_int_equal(mmio_read32(bar + ME_REG_ID), 0xffffffffu);  /* no decode without MSE */
  model_pci_wr_raw(f, 0x04, 2, 0x2);                          /* memory space only */
  assert_int_equal(mmio_read32(bar + ME_REG_ID), MODEL_ENGINE_ID);
  mmio_write64(bar + ME_REG_IOVA, 0x10f00);
  mmio_write32(bar + ME_REG_LEN, 0x2200);
  mmio_write32(bar + ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_NOBME);
  model_pci_wr_raw(f, 0x04, 2, 0x6);
  n_seen = 0;
  mmio_write32(bar + ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_DONE);
  assert_int_equal(n_seen, 4);                                /* 0x100 + 0x1000 + 0x1000 + 0x100 */
  assert_int_equal(seen[0].addr, 0x10f00);
  assert_int_equal(seen[0].len, 0x100);
  assert_int_equal(seen[1].addr, 0x11000);
  assert_int_equal(seen[3].len, 0x100);
  assert_int_equal(seen[0].sid, 0x0010);
  assert_false(seen[0].has_pasid);
  /* Tagged without PASID Enable: refused by the function itself. */
  mmio_write32(bar + ME_REG_PASID, ME_PASID_TAGGED | 42);
  mmio_write32(bar + ME_REG_CMD, ME_CMD_GO);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_NOPASID);
  uint16_t cap = 0x100;
  assert_int_equal(model_pci_rd(f, cap, 2), 0x001b);
  assert_int_equal((model_pci_rd(f, cap + 4, 2) >> 8) & 0x1f, 20);
  model_pci_wr_raw(f, cap + 6, 2, 1);
  n_seen = 0;
  block_at = 0x12000;
  mmio_write32(bar + ME_REG_CMD, ME_CMD_GO);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_BLOCKED);
  assert_int_equal(mmio_read64(bar + ME_REG_ERR_IOVA), 0x12000);
  assert_int_equal(mmio_read32(bar + ME_REG_DONE_BYTES), 0x1100);
  assert_int_equal(n_seen, 3);
  assert_true(seen[0].has_pasid);
  assert_int_equal(seen[0].pasid, 42);
  assert_false(seen[0].write);
  block_at = ~0ull;
  dma_engine_destroy(e);
}

/* ---------------------------------------------------------------- simulated memory */

static void arena_has_its_own_physical_addresses(void **state)
{
  (void)state;
  uint64_t base = host_mem_base(), phys;
  unsigned before = host_mem_pages_in_use();
  assert_null(page_alloc(1, base - 1, &phys));                 /* nothing below the arena */
  uint8_t *p = page_alloc(2, UINT64_MAX, &phys);
  assert_non_null(p);
  assert_true(phys >= base && phys + 2 * PAGE_SIZE <= base + host_mem_size());
  assert_true((uint64_t)(uintptr_t)p != phys);                 /* never a host pointer */
  assert_ptr_equal(phys_to_virt(phys), p);
  assert_int_equal(virt_to_phys(p + 5), phys + 5);
  assert_int_equal(host_mem_pages_in_use(), before + 2);
  uint64_t v = 0x1122334455667788ull, r = 0;
  assert_int_equal(model_mem_write64(phys + 8, v), 0);
  assert_int_equal(model_mem_read64(phys + 8, &r), 0);
  assert_int_equal(r, v);
  assert_int_equal(model_mem_read64(base - 8, &r), -1);        /* outside: clean failure */
  assert_int_equal(model_mem_read(base + host_mem_size() - 4, &r, 8), -1);
  assert_null(phys_to_virt(base + host_mem_size()));
  /* A limit inside the arena is honoured for the whole run of pages. */
  uint64_t limit = phys + 3 * PAGE_SIZE - 1, q;
  void *a = page_alloc(1, limit, &q);
  if (a) {
    assert_true(q + PAGE_SIZE - 1 <= limit);
    page_free(a, 1);
  }
  page_free(p, 2);
  assert_int_equal(host_mem_pages_in_use(), before);
  assert_int_equal(p[0], 0xa5);                                /* poisoned after free */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(register_reset_values_and_access_types, teardown),
    cmocka_unit_test_teardown(root_pointer_takes_effect_only_at_srtp, teardown),
    cmocka_unit_test_teardown(iotlb_keeps_a_translation_until_the_right_invalidation, teardown),
    cmocka_unit_test_teardown(context_cache_needs_device_invalidation_with_the_domain, teardown),
    cmocka_unit_test_teardown(fault_records_overflow_and_w1c, teardown),
    cmocka_unit_test_teardown(fault_compression_collapses_one_source, teardown),
    cmocka_unit_test_teardown(queue_processes_on_tail_write_and_holds_head_on_error, teardown),
    cmocka_unit_test_teardown(scalable_mode_rejects_128bit_descriptors, teardown),
    cmocka_unit_test_teardown(pasid_tagged_first_stage_sets_accessed_and_dirty, teardown),
    cmocka_unit_test_teardown(first_stage_ad_update_needs_snooped_walks, teardown),
    cmocka_unit_test_teardown(second_stage_ad_with_ssade_and_piotlb_scope, teardown),
    cmocka_unit_test_teardown(engine_splits_at_4k_tags_pasid_and_stops_at_a_block, teardown),
    cmocka_unit_test(arena_has_its_own_physical_addresses),
  };
  return cmocka_run_group_tests_name("model_vtd", tests, NULL, NULL);
}
