/* The SMMUv3 model programmed by hand from the spec (IHI 0070), without driver code: register
 * semantics (ID registers, CR0/CR0ACK, GBPA Update, Guarded registers, illegal accesses), the
 * Command queue (CMD_SYNC with and without MSI, CERROR_ILL on reserved opcodes, commands of
 * absent features and Reserved fields, restart after the GERRORN acknowledge, wrap), linear
 * and 2-level Stream tables, STE and CD validity, stage-1 walks and the event record format
 * (StreamID, SSV/SubstreamID, RnW, PnU, S2, CLASS, InputAddr, IPA), A/R fault configuration,
 * configuration caches and the TLB emptied only by the right CMD_CFGI_* / CMD_TLBI_* (a missing
 * TLBI leaves a stale translation), substreams with PASID-tagged DMA from the model engine,
 * HTTU (AF and DBM dirty state), stage 2 and nested translation, Event queue overflow, bypass.
 * Then the whole platform with the real driver: a removed flush leaves a stale translation.
 * Structures and commands are built with this file's own encoders, so that a model bug cannot
 * hide behind a shared one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "arch/arch.h"
#include "arch/host/arch_host.h"
#include "arch/host/host_boot.h"
#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/initiator/model_engine_regs.h"
#include "iommu/iommu.h"
#include "tests/model/dma_engine.h"
#include "tests/model/platform_model.h"
#include "tests/model/smmu_model.h"
#include "tests/unit/model_run.h"
#include "tests/scenarios/scenario.h"

extern int smmuv3_stage_choice;
extern const struct iort_info *smmuv3_iort;

#define BIT(n) (1ull << (n))
#define SID 0x0010u
#define ASID 7u

/* Registers (6.2). */
enum {
  IDR0 = 0x00, IDR1 = 0x04, IDR3 = 0x0c, IDR5 = 0x14, AIDR = 0x1c, CR0 = 0x20, CR0ACK = 0x24,
  CR2 = 0x2c, GBPA = 0x44, IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54, GERROR = 0x60, GERRORN = 0x64,
  STRTAB_BASE = 0x80, STRTAB_BASE_CFG = 0x88, CMDQ_BASE = 0x90, CMDQ_PROD = 0x98, CMDQ_CONS = 0x9c,
  EVENTQ_BASE = 0xa0, EVENTQ_IRQ_CFG0 = 0xb0, EVENTQ_IRQ_CFG1 = 0xb8, EVENTQ_PROD = 0x100a8,
  EVENTQ_CONS = 0x100ac,
};
#define EN_ALL 0xdu /* SMMUEN | EVENTQEN | CMDQEN */

static struct smmu_model *m;
static void *pages[128];
static size_t page_counts[128];
static unsigned n_pages;

static uint64_t alloc_pages(size_t n, uint64_t **virt)
{
  uint64_t phys;
  void *p = page_alloc(n, UINT64_MAX, &phys);
  assert_non_null(p);
  pages[n_pages] = p;
  page_counts[n_pages++] = n;
  if (virt)
    *virt = p;
  return phys;
}

/* bytes (a power of two >= 4 KiB) of zeroed memory aligned to their size. */
static uint64_t alloc_aligned(size_t bytes, uint64_t **virt)
{
  uint64_t *v, phys = alloc_pages(2 * (bytes / 4096), &v);
  uint64_t a = (phys + bytes - 1) & ~(uint64_t)(bytes - 1);
  *virt = (uint64_t *)(void *)((uint8_t *)v + (a - phys));
  memset(*virt, 0, bytes);
  return a;
}

static uint32_t r32(uint32_t off) { return (uint32_t)smmu_model_read(m, off, 4); }
static void w32(uint32_t off, uint32_t v) { smmu_model_write(m, off, 4, v); }
static uint64_t r64(uint32_t off) { return smmu_model_read(m, off, 8); }
static void w64(uint32_t off, uint64_t v) { smmu_model_write(m, off, 8, v); }

static struct smmu_model_params params(void)
{
  struct smmu_model_params p;
  smmu_model_params_default(&p);
  return p;
}

static void start(const struct smmu_model_params *p)
{
  m = smmu_model_create(p);
  assert_non_null(m);
  n_pages = 0;
}

static int teardown(void **state)
{
  (void)state;
  for (unsigned i = 0; i < n_pages; i++)
    page_free(pages[i], page_counts[i]);
  n_pages = 0;
  smmu_model_destroy(m);
  m = NULL;
  host_mmio_unregister_all();
  return 0;
}

/* ---- queues ---- */
static uint64_t *cmdq, *evtq;
static unsigned cmd_log2, evt_log2;
static uint32_t cmd_prod, evt_cons;

static uint32_t qinc(uint32_t v, unsigned log2) { return (v + 1) & ((2u << log2) - 1); }

static void queues(unsigned clog2, unsigned elog2)
{
  cmd_log2 = clog2;
  evt_log2 = elog2;
  uint64_t cp = alloc_pages(1, &cmdq), ep = alloc_pages(1, &evtq);
  w64(CMDQ_BASE, cp | clog2);
  w32(CMDQ_PROD, 0);
  w32(CMDQ_CONS, 0);
  w64(EVENTQ_BASE, ep | elog2);
  w32(EVENTQ_PROD, 0);
  w32(EVENTQ_CONS, 0);
  cmd_prod = evt_cons = 0;
}

/* Queues the commands and moves PROD; the CMDQ_CONS.ERR of an error, else 0. */
static unsigned cmds(const uint64_t (*c)[2], unsigned n)
{
  for (unsigned i = 0; i < n; i++) {
    unsigned slot = cmd_prod & ((1u << cmd_log2) - 1);
    cmdq[2 * slot] = c[i][0];
    cmdq[2 * slot + 1] = c[i][1];
    cmd_prod = qinc(cmd_prod, cmd_log2);
  }
  w32(CMDQ_PROD, cmd_prod);
  if ((r32(GERROR) ^ r32(GERRORN)) & 1)
    return (r32(CMDQ_CONS) >> 24) & 0x7f;
  assert_int_equal(r32(CMDQ_CONS) & 0xfffff, cmd_prod); /* everything consumed (ERR is UNKNOWN) */
  return 0;
}

static unsigned cmd(uint64_t c0, uint64_t c1)
{
  uint64_t c[1][2] = { { c0, c1 } };
  return cmds(c, 1);
}

static const uint64_t SYNC = 0x46;
static uint64_t cfgi_ste(uint32_t sid) { return 0x03 | (uint64_t)sid << 32; }
static uint64_t tlbi_nh_va(uint16_t asid, uint16_t vmid)
{
  return 0x12 | (uint64_t)vmid << 32 | (uint64_t)asid << 48;
}

/* Next Event queue record; false when empty. */
static bool event(uint64_t rec[4])
{
  uint32_t prod = r32(EVENTQ_PROD);
  uint32_t mask = (2u << evt_log2) - 1;
  if (((prod ^ evt_cons) & mask) == 0)
    return false;
  memcpy(rec, evtq + 4 * (evt_cons & ((1u << evt_log2) - 1)), 32);
  evt_cons = qinc(evt_cons, evt_log2);
  w32(EVENTQ_CONS, evt_cons | (prod & (1u << 31)));
  return true;
}

static unsigned event_type(void)
{
  uint64_t rec[4];
  return event(rec) ? (unsigned)(rec[0] & 0xff) : 0;
}

/* ---- structures (5.1 - 5.4) and VMSAv8-64 descriptors ---- */
static uint64_t *strtab;
static uint64_t strtab_phys;

static void linear_strtab(unsigned log2) { strtab_phys = alloc_aligned(64u << log2, &strtab); }

static void enable(uint32_t strtab_cfg)
{
  w64(STRTAB_BASE, strtab_phys);
  w32(STRTAB_BASE_CFG, strtab_cfg);
  w32(CR2, 0x2); /* RECINVSID */
  w32(CR0, EN_ALL);
  assert_int_equal(r32(CR0ACK), EN_ALL);
}

static uint64_t *ste_at(uint32_t sid) { return strtab + 8 * sid; }

static void ste_s1(uint64_t *ste, uint64_t ctx, unsigned cdmax, unsigned s1dss, unsigned fmt)
{
  memset(ste, 0, 64);
  ste[0] = 1 | 5u << 1 | (uint64_t)fmt << 4 | ctx | (uint64_t)cdmax << 59;
  ste[1] = s1dss;
}

static void ste_s2(uint64_t *ste, unsigned config, uint16_t vmid, uint64_t ttb)
{
  ste[0] = (ste[0] & ~0xfull) | 1 | config << 1;
  /* S2T0SZ 25 (39-bit IPA), S2SL0 1 (level 1), 4K, S2PS 44 bits, S2AA64, S2R */
  ste[2] = vmid | 25ull << 32 | 1ull << 38 | 4ull << 48 | BIT(51) | BIT(58);
  ste[3] = ttb;
}

#define CD_HD BIT(42)
#define CD_HA BIT(43)
static void cd_make(uint64_t *cd, uint64_t ttb0, uint16_t asid, uint64_t extra)
{
  memset(cd, 0, 64);
  /* T0SZ 16 (48-bit), TG0 4K, EPD1, V, IPS 48, AA64, R, A */
  cd[0] = 16 | BIT(30) | BIT(31) | 5ull << 32 | BIT(41) | BIT(45) | BIT(46) | (uint64_t)asid << 48 | extra;
  cd[1] = ttb0;
}

#define PTE_AF BIT(10)
#define PTE_RO BIT(7)
#define PTE_EL0 BIT(6)
#define PTE_NG BIT(11)
#define PTE_DBM BIT(51)
#define S2_R BIT(6)
#define S2_W BIT(7)

/* The level-3 slot for in, creating 4K tables from the table at root_phys (start level). */
static uint64_t *leaf_slot(uint64_t root_phys, uint64_t in, unsigned start)
{
  uint64_t *t = phys_to_virt(root_phys);
  for (unsigned level = start; level < 3; level++) {
    uint64_t *e = &t[(in >> (12 + 9 * (3 - level))) & 0x1ff];
    if (!(*e & 1)) {
      uint64_t p = alloc_pages(1, NULL);
      memset(phys_to_virt(p), 0, 4096);
      *e = p | 3;
    }
    t = phys_to_virt(*e & 0x0000fffffffff000ull);
  }
  return &t[(in >> 12) & 0x1ff];
}

static uint64_t *s1_map(uint64_t root, uint64_t va, uint64_t pa, uint64_t attrs)
{
  uint64_t *e = leaf_slot(root, va, 0);
  *e = pa | 3 | attrs;
  return e;
}

static uint64_t *s2_map(uint64_t root, uint64_t ipa, uint64_t pa, uint64_t attrs)
{
  uint64_t *e = leaf_slot(root, ipa, 1);
  *e = pa | 3 | PTE_AF | attrs;
  return e;
}

static enum model_dma_result dma(uint32_t sid, bool tagged, uint32_t pasid, uint64_t addr, bool write,
                                 void *buf, uint32_t len)
{
  struct model_dma_req req = { .sid = (uint16_t)sid, .has_pasid = tagged, .pasid = pasid, .addr = addr,
                               .len = len, .write = write };
  return smmu_model_dma(m, &req, buf);
}

/* A stage-1 stream SID with one CD (ASID) whose tables map va -> a page; returns the PTE. */
static uint64_t *s1_stream(uint64_t va, uint64_t pa, uint64_t attrs, uint64_t *root_out, uint64_t **cd_out)
{
  uint64_t *cd, root = alloc_pages(1, NULL);
  memset(phys_to_virt(root), 0, 4096);
  uint64_t cd_phys = alloc_pages(1, &cd);
  cd_make(cd, root, ASID, 0);
  ste_s1(ste_at(SID), cd_phys, 0, 0, 0);
  if (root_out)
    *root_out = root;
  if (cd_out)
    *cd_out = cd;
  return s1_map(root, va, pa, attrs);
}

/* ---------------------------------------------------------------- registers */

static void registers_reset_guards_and_updates(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  assert_int_equal(r32(IDR0), 0x0d40101a); /* the QEMU 7.2 value */
  assert_int_equal(r32(IDR1), 0x02730010);
  assert_int_equal(r32(IDR3), 0x400);
  assert_int_equal(r32(IDR5), 0x74);
  assert_int_equal(r32(AIDR), 1);
  w32(IDR0, 0);                                   /* read-only */
  assert_int_equal(r32(IDR0), smmu_model_idr(&p, 0));
  assert_int_equal(r32(CR0), 0);
  assert_int_equal(r32(GERROR), 0);
  /* GBPA (6.3.14.1): a write without Update is ignored; with Update it completes at once. */
  assert_int_equal(r32(GBPA), 0x1000);
  w32(GBPA, 1u << 20);
  assert_int_equal(r32(GBPA), 0x1000);
  w32(GBPA, 1u << 31 | 1u << 20 | 0x1000);
  assert_int_equal(r32(GBPA), 1u << 20 | 0x1000);
  uint8_t buf[8] = { 0 };
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_BLOCKED); /* GBPA.ABORT */
  w32(GBPA, 1u << 31 | 0x1000);
  uint64_t *page, phys = alloc_pages(1, &page);
  page[0] = 0x1122334455667788ull;
  assert_int_equal(dma(SID, false, 0, phys, false, buf, 8), MODEL_DMA_OK); /* SMMUEN=0: bypass */
  assert_memory_equal(buf, page, 8);
  /* CR0ACK and IRQ_CTRLACK follow at once; reserved bits read 0. */
  w32(IRQ_CTRL, 0xff);
  assert_int_equal(r32(IRQ_CTRL), 0x5);
  assert_int_equal(r32(IRQ_CTRLACK), 0x5);
  w32(IRQ_CTRL, 0);
  w32(CR0, 0x1f);
  assert_int_equal(r32(CR0ACK), 0xd);             /* PRIQEN, ATSCHK: RES0 without PRI/ATS */
  /* Guarded registers ignore writes while Guarded (6.3.24, 6.3.26, 6.3.28). */
  w64(STRTAB_BASE, 0x123440);
  assert_int_equal(r64(STRTAB_BASE), 0);
  w64(CMDQ_BASE, 0x5000 | 3);
  assert_int_equal(r64(CMDQ_BASE), 0);
  w32(CMDQ_CONS, 5);
  assert_int_equal(r32(CMDQ_CONS), 0);
  w32(CR0, 0);
  w64(STRTAB_BASE, 0x4000000000123440ull);        /* RA, ADDR[55:6] */
  assert_int_equal(r64(STRTAB_BASE), 0x4000000000123440ull);
  assert_int_equal(r32(STRTAB_BASE + 4), 0x40000000);
  w32(STRTAB_BASE_CFG, 0x3ffff);
  assert_int_equal(r32(STRTAB_BASE_CFG), 0x307ff);  /* FMT, SPLIT, LOG2SIZE */
  /* 6.2: a 64-bit access to a 32-bit register is illegal: RAZ/WI. Page 0 PROD/CONS aliases: RAZ/WI. */
  unsigned long bad = smmu_model_stats(m)->bad_accesses;
  assert_int_equal(smmu_model_read(m, CR0, 8), 0);
  smmu_model_write(m, GBPA, 2, 0xffff);
  assert_int_equal(smmu_model_stats(m)->bad_accesses, bad + 2);
  w32(0xa8, 7);
  assert_int_equal(r32(0xa8), 0);
}

/* ---------------------------------------------------------------- command queue */

static void command_queue_sync_errors_and_restart(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.msi = true;
  start(&p);
  queues(2, 3); /* 4 commands: every few submissions wrap */
  w32(CR0, 0x8);
  uint64_t *word64, word_phys = alloc_pages(1, &word64);
  uint32_t *word = (uint32_t *)(void *)word64;
  /* CMD_SYNC SIG_IRQ with an MSI address: MSIData written (4.7.3); SIG_NONE writes nothing. */
  assert_int_equal(cmd(SYNC | 1u << 12 | 0xabcdull << 32, word_phys), 0);
  assert_int_equal(*word, 0xabcd);
  assert_int_equal(cmd(SYNC | 0x1234ull << 32, word_phys), 0);
  assert_int_equal(*word, 0xabcd);
  for (unsigned i = 0; i < 9; i++) /* wrap several times */
    assert_int_equal(cmd(SYNC, 0), 0);
  /* A reserved opcode stops consumption on it with CERROR_ILL (7.1). */
  uint32_t bad_pos = cmd_prod;
  assert_int_equal(cmd(0x00, 0), 1);
  assert_int_equal(r32(CMDQ_CONS) & 0xfffff, bad_pos);
  assert_int_equal((r32(GERROR) ^ r32(GERRORN)) & 1, 1);
  /* While active, a new PROD write consumes nothing. */
  uint64_t c2[1][2] = { { SYNC | 1u << 12 | 0x5555ull << 32, word_phys } };
  cmds(c2, 1);
  assert_int_equal(*word, 0xabcd);
  assert_int_equal(r32(CMDQ_CONS) & 0xfffff, bad_pos);
  /* Replace the bad command and acknowledge: consumption restarts at CONS. */
  cmdq[2 * (bad_pos & 3)] = SYNC;
  w32(GERRORN, r32(GERRORN) ^ 1);
  assert_int_equal(r32(CMDQ_CONS) & 0xfffff, cmd_prod);
  assert_int_equal(*word, 0x5555);
  /* Commands of absent features, Reserved fields, a Reserved ComplSignal: CERROR_ILL. */
  static const uint64_t ill[][2] = {
    { 0x2a, 0 },                   /* TLBI_S2_IPA: no stage 2 */
    { 0x28, 0 },                   /* TLBI_S12_VMALL */
    { 0x20, 0 },                   /* TLBI_EL2_ALL: no Hyp */
    { 0x40, 0 },                   /* ATC_INV: no ATS */
    { 0x44, 0 },                   /* RESUME: no stalls */
    { 0x03 | BIT(10), 1 },         /* CFGI_STE with SSec on the Non-secure queue */
    { 0x03, 2 },                   /* CFGI_STE, Reserved bit in dword 1 */
    { SYNC | 3u << 12, 0 },        /* CS = 0b11 */
    { 0x12, 1ull << 10 },          /* TLBI_NH_VA TG set, NUM = SCALE = TTL = 0 */
  };
  for (unsigned i = 0; i < sizeof(ill) / sizeof(ill[0]); i++) {
    uint32_t pos = cmd_prod;
    assert_int_equal(cmd(ill[i][0], ill[i][1]), 1);
    cmdq[2 * (pos & 3)] = SYNC;
    cmdq[2 * (pos & 3) + 1] = 0;
    w32(GERRORN, r32(GERRORN) ^ 1);
    assert_int_equal(r32(CMDQ_CONS) & 0xfffff, cmd_prod);
  }
  /* An unreadable entry: CERROR_ABT (queue base outside memory). */
  w32(CR0, 0);
  w64(CMDQ_BASE, 0x7ff00000ull | 2);
  w32(CMDQ_CONS, 0);
  w32(CR0, 0x8);
  w32(CMDQ_PROD, 1);
  assert_int_equal((r32(CMDQ_CONS) >> 24) & 0x7f, 2);
  /* Without IDR0.MSI the SIG_IRQ MSI is not written. */
  teardown(NULL);
  p.msi = false;
  start(&p);
  queues(2, 3);
  w32(CR0, 0x8);
  word_phys = alloc_pages(1, &word64);
  word = (uint32_t *)(void *)word64;
  *word = 0;
  assert_int_equal(cmd(SYNC | 1u << 12 | 0xabcdull << 32, word_phys), 0);
  assert_int_equal(*word, 0);
}

/* ---------------------------------------------------------------- stage 1 */

static void stage1_translation_and_event_records(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.term_model = false;
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  uint64_t *a, a_phys = alloc_pages(1, &a), root, *cd;
  uint64_t *pte = s1_stream(0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG, &root, &cd);
  enable(8);
  uint8_t buf[16] = "hello smmu";
  assert_int_equal(dma(SID, false, 0, 0x200010, true, buf, 16), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 16, "hello smmu", 10);
  /* Unmapped read: F_TRANSLATION, stage 1, CLASS IN, RnW = 1, InputAddr (7.3.13). */
  assert_int_equal(dma(SID, false, 0, 0x345678, false, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x10);
  assert_int_equal(rec[0] >> 32, SID);
  assert_int_equal((rec[0] >> 11) & 1, 0);          /* SSV */
  assert_int_equal((rec[1] >> 35) & 1, 1);          /* RnW: read */
  assert_int_equal((rec[1] >> 33) & 1, 0);          /* PnU: no PASID prefix -> unprivileged */
  assert_int_equal((rec[1] >> 39) & 1, 0);          /* S2 */
  assert_int_equal((rec[1] >> 40) & 3, 2);          /* CLASS IN */
  assert_int_equal(rec[2], 0x345678);
  assert_false(event(rec));
  /* Beyond the 48-bit TTB0 range: F_TRANSLATION; with bit 55 set, EPD1 -> F_TRANSLATION. */
  assert_int_equal(dma(SID, false, 0, 1ull << 48, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);
  assert_int_equal(dma(SID, false, 0, 0xffff800000000000ull, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);
  /* Read-only page, write: F_PERMISSION with RnW = 0. */
  *pte |= PTE_RO;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x13);
  assert_int_equal((rec[1] >> 35) & 1, 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_OK);
  /* Not EL0-accessible: an unprivileged read faults, a privileged (PASID prefix) one would not. */
  *pte &= ~PTE_EL0;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x13);
  /* AF = 0: F_ACCESS (before permission); CD.AFFD makes AF count as 1. */
  *pte = (*pte | PTE_EL0) & ~PTE_AF & ~PTE_RO;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x12);
  cd[0] |= BIT(35);
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0); /* CFGI_CD, SSID 0 */
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_false(*pte & PTE_AF);                               /* no HTTU: AF untouched */
  /* CD.R = 0 suppresses Translation-related records; CD.A = 0 terminates with RAZ/WI. */
  cd[0] &= ~BIT(45);
  cd[0] &= ~BIT(46);
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  memset(buf, 0x77, sizeof(buf));
  assert_int_equal(dma(SID, false, 0, 0x900000, false, buf, 8), MODEL_DMA_OK);
  assert_int_equal(buf[0], 0);
  assert_false(event(rec));
  assert_int_equal(smmu_model_stats(m)->raz_wi, 1);
  /* An output address beyond the effective IPS (CD.IPS 36 bits): F_ADDR_SIZE. */
  cd[0] = (cd[0] & ~(7ull << 32)) | 1ull << 32 | BIT(45) | BIT(46);
  *pte = (1ull << 40) | 3 | PTE_AF | PTE_EL0 | PTE_NG;
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(cmd(0x11 | (uint64_t)ASID << 48, 0), 0);  /* TLBI_NH_ASID */
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x11);
}

static void missing_tlbi_leaves_a_stale_translation(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  uint64_t *a, *b, a_phys = alloc_pages(1, &a), b_phys = alloc_pages(1, &b);
  uint64_t root, *pte = s1_stream(0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG, &root, NULL);
  enable(8);
  uint8_t buf[8] = "first";
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "first", 5);
  *pte = b_phys | 3 | PTE_AF | PTE_EL0 | PTE_NG;  /* remap without invalidation */
  memcpy(buf, "second", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "second", 6);             /* stale: page A */
  /* Wrong scopes leave it: another ASID, another VMID, another page, stage 2 by IPA. */
  assert_int_equal(cmd(0x11 | (uint64_t)(ASID + 1) << 48, 0), 0);
  assert_int_equal(cmd(tlbi_nh_va(ASID, 1), 0x200000), 0);
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x201000), 0);
  assert_int_equal(cmd(0x30 | 1ull << 32, 0), 1);   /* NSNH_ALL with a Reserved field: ILL */
  cmdq[2 * ((cmd_prod - 1) & 7)] = SYNC;
  w32(GERRORN, r32(GERRORN) ^ 1);
  memcpy(buf, "third", 6);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "third", 5);
  assert_memory_equal(b, "\0", 1);
  /* The right one does. */
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000 | 1), 0);
  memcpy(buf, "fourth", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "fourth", 6);
  assert_true(smmu_model_stats(m)->tlb_hits >= 2);
  /* A global entry (nG = 0) survives TLBI_NH_ASID (4.4.2.2) but not TLBI_NH_VAA. */
  uint64_t *c, c_phys = alloc_pages(1, &c);
  uint64_t *gpte = s1_map(root, 0x300000, a_phys, PTE_AF | PTE_EL0);
  assert_int_equal(dma(SID, false, 0, 0x300000, true, buf, 8), MODEL_DMA_OK);
  *gpte = c_phys | 3 | PTE_AF | PTE_EL0;
  assert_int_equal(cmd(0x11 | (uint64_t)ASID << 48, 0), 0);
  memcpy(buf, "global", 7);
  assert_int_equal(dma(SID, false, 0, 0x300000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "global", 6);
  assert_int_equal(cmd(0x13, 0x300000), 0);        /* TLBI_NH_VAA, VMID 0 */
  assert_int_equal(dma(SID, false, 0, 0x300000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(c, "global", 6);
  /* Range form (IDR3.RIL): 4 pages from 0x1ff000 with TG 4K covers 0x200000; TG 64K does not
   * (only entries of the TG granule need go, 4.4.1.1). TLBI_NH_ASID above emptied 0x200000:
   * cache it again (page B), then remap. */
  memcpy(buf, "cached", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "cached", 6);
  *pte = a_phys | 3 | PTE_AF | PTE_EL0 | PTE_NG;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0) | 3u << 12, 0x1ff000 | 3u << 10), 0); /* TG 64K */
  memcpy(buf, "range", 6);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "range", 5);
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0) | 3u << 12, 0x1ff000 | 1u << 10), 0); /* TG 4K, NUM 3 */
  memcpy(buf, "ranged", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "ranged", 6);
}

/* 16K and 64K granules (CD.TG0): 4 levels from level 0 with 1 bit there (16K, 48-bit), 3
 * levels from level 1 with 6 bits (64K); tables are granule-sized; and a table pointer to
 * nowhere gives F_WALK_EABT (S2 = 0, CLASS TT, FetchAddr of the descriptor, 7.3.12). */
static void granules_16k_64k_and_walk_abort(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  enable(8);
  static const struct { unsigned tg0, g, start; } gr[2] = { { 2, 14, 0 }, { 1, 16, 1 } };
  for (unsigned k = 0; k < 2; k++) {
    unsigned g = gr[k].g, s = g - 3;
    uint64_t *root, root_phys = alloc_aligned(1u << g, &root), *t = root;
    uint64_t *page, page_phys = alloc_aligned(1u << g, &page);
    const uint64_t va = 0x7f1234560000ull & ~((1ull << g) - 1);
    for (unsigned level = gr[k].start; level < 3; level++) {
      uint64_t *next, next_phys = alloc_aligned(1u << g, &next);
      t[(va >> (g + s * (3 - level))) & ((1u << s) - 1)] = next_phys | 3;
      t = next;
    }
    uint64_t *pte = &t[(va >> g) & ((1u << s) - 1)];
    *pte = page_phys | 3 | PTE_AF | PTE_EL0 | PTE_NG;
    uint64_t *cd, cd_phys = alloc_pages(1, &cd);
    cd_make(cd, root_phys, (uint16_t)(ASID + k), (uint64_t)gr[k].tg0 << 6);
    ste_s1(ste_at(SID), cd_phys, 0, 0, 0);
    assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
    uint8_t buf[8] = "granule";
    uint64_t off = (1ull << g) - 8;                /* the last bytes of the granule-sized page */
    assert_int_equal(dma(SID, false, 0, va + off, true, buf, 8), MODEL_DMA_OK);
    assert_memory_equal((uint8_t *)page + off, "granule", 8);
    /* A table descriptor pointing outside memory: the walk's read aborts. */
    uint64_t *top = &root[(va >> (g + s * (3 - gr[k].start))) & ((1u << s) - 1)];
    *top = 0x7f000000ull | 3;
    assert_int_equal(cmd(0x11 | (uint64_t)(ASID + k) << 48, 0), 0);
    assert_int_equal(dma(SID, false, 0, va, false, buf, 8), MODEL_DMA_BLOCKED);
    uint64_t rec[4];
    assert_true(event(rec));
    assert_int_equal(rec[0] & 0xff, 0x0b);
    assert_int_equal((rec[1] >> 39) & 1, 0);
    assert_int_equal((rec[1] >> 40) & 3, 1);      /* CLASS TT */
    assert_int_equal(rec[2], va);
    assert_int_equal(rec[3], 0x7f000000ull + 8 * ((va >> (g + s * (3 - gr[k].start - 1))) & ((1u << s) - 1)));
    /* A block at level 0 (16K) or level 1 (64K) exists only with 52-bit addresses: the
     * descriptor is invalid, F_TRANSLATION. */
    *top = page_phys | 1 | PTE_AF | PTE_EL0;
    assert_int_equal(dma(SID, false, 0, va, false, buf, 8), MODEL_DMA_BLOCKED);
    assert_int_equal(event_type(), 0x10);
  }
}

/* ---------------------------------------------------------------- configuration */

static void configuration_caches_need_the_right_cfgi(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  uint64_t *a, a_phys = alloc_pages(1, &a), *cd, root;
  s1_stream(0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG, &root, &cd);
  enable(8);
  uint8_t buf[8] = { 1 };
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  /* STE made invalid in memory: the cached STE still translates another page's walk. */
  uint64_t saved[8];
  memcpy(saved, ste_at(SID), 64);
  ste_at(SID)[0] = 0;
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);            /* walked: F_TRANSLATION, not C_BAD_STE */
  assert_int_equal(cmd(cfgi_ste(SID + 1), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x04);            /* C_BAD_STE */
  /* A fetched STE is cached in any state (5.2.1): V = 1 again is invisible until CFGI. */
  memcpy(ste_at(SID), saved, 64);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x04);
  assert_int_equal(cmd(0x04 | (uint64_t)SID << 32, 3), 0); /* CFGI_STE_RANGE 16 SIDs */
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  /* The CD is cached too: CFGI_CD of another SubstreamID leaves it, CFGI_CD_ALL does not. */
  cd[0] &= ~BIT(31);
  assert_int_equal(cmd(0x11 | (uint64_t)ASID << 48, 0), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_int_equal(cmd(0x05 | 1ull << 12 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x201000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);
  assert_int_equal(cmd(0x06 | (uint64_t)SID << 32, 0), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x0a);            /* C_BAD_CD */
  /* CMD_CFGI_ALL (RANGE 31) empties everything; a StreamID beyond LOG2SIZE: C_BAD_STREAMID. */
  cd[0] |= BIT(31);
  assert_int_equal(cmd(0x04, 31), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_int_equal(dma(0x100, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x02 | 0x100ull << 32);
  w32(CR0, 0x0);
  w32(CR2, 0);                                     /* RECINVSID = 0: no record */
  w32(CR0, EN_ALL);
  assert_int_equal(dma(0x100, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_false(event(rec));
}

static void two_level_stream_table_and_l1std_caching(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  queues(3, 3);
  uint64_t *l1, *l2, l1_phys = alloc_pages(1, &l1), l2_phys = alloc_aligned(16384, &l2);
  strtab_phys = l1_phys;
  memset(l1, 0, 4096);
  const uint32_t sid = 0x0123;                      /* L1 index 1 with SPLIT 8 */
  uint64_t *a, a_phys = alloc_pages(1, &a), root = alloc_pages(1, NULL), *cd, cd_phys = alloc_pages(1, &cd);
  memset(phys_to_virt(root), 0, 4096);
  cd_make(cd, root, ASID, 0);
  s1_map(root, 0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG);
  ste_s1(l2 + 8 * (sid & 0xff), cd_phys, 0, 0, 0);
  enable(1u << 16 | 8u << 6 | 16);                 /* 2-level, SPLIT 8, 2^16 StreamIDs */
  uint8_t buf[8] = "l2";
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x02);             /* L1STD Span 0: C_BAD_STREAMID */
  l1[1] = l2_phys | 9;                              /* Span 9: 256 STEs */
  assert_int_equal(cmd(cfgi_ste(sid), 1), 0); /* a leaf CFGI keeps the cached L1STD */
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x02);
  assert_int_equal(cmd(cfgi_ste(sid), 0), 0); /* non-leaf (5.1.1) */
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "l2", 2);
  /* Span smaller than the StreamID's index, or beyond SPLIT + 1: C_BAD_STREAMID. */
  l1[1] = l2_phys | 5;                              /* 16 STEs: 0x23 is outside */
  assert_int_equal(cmd(0x04, 31), 0);
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x02);
  l1[1] = l2_phys | 10;
  assert_int_equal(cmd(0x04, 31), 0);
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x02);
  /* An L1STD pointing outside memory: F_STE_FETCH with the STE address. */
  l1[1] = 0x7f000000ull | 9;
  assert_int_equal(cmd(0x04, 31), 0);
  assert_int_equal(dma(sid, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x03);
  assert_int_equal(rec[3], 0x7f000000ull + 64 * 0x23);
}

static void ste_and_cd_validity(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  uint64_t *a, a_phys = alloc_pages(1, &a), *cd, root;
  s1_stream(0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG, &root, &cd);
  enable(8);
  uint8_t buf[8] = { 0 };
  uint64_t good[8];
  memcpy(good, ste_at(SID), 64);
  /* Config 0b111 without stage 2 and S1STALLD with STALL_MODEL 0b01 are ILLEGAL (5.2.2). */
  static const struct { uint64_t w0_set, w1_set; unsigned event; } ste_cases[] = {
    { 7u << 1, 0, 0x04 },
    { 0, BIT(27), 0x04 },
  };
  for (unsigned i = 0; i < 2; i++) {
    memcpy(ste_at(SID), good, 64);
    ste_at(SID)[0] |= ste_cases[i].w0_set;
    ste_at(SID)[1] |= ste_cases[i].w1_set;
    assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
    assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
    assert_int_equal(event_type(), ste_cases[i].event);
  }
  /* S1CDMax is IGNORED when IDR1.SSIDSIZE == 0; a SubstreamID then gives C_BAD_SUBSTREAMID. */
  memcpy(ste_at(SID), good, 64);
  ste_at(SID)[0] |= 1ull << 59;
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_int_equal(dma(SID, true, 1, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x08);
  /* Config 0b000: abort without an event; 0b100: bypass. */
  ste_at(SID)[0] = 1;
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0);
  ste_at(SID)[0] = 1 | 4u << 1;
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, a_phys, true, buf, 8), MODEL_DMA_OK);
  assert_int_equal(dma(SID, false, 0, 1ull << 44, true, buf, 8), MODEL_DMA_BLOCKED); /* > OAS */
  assert_int_equal(event_type(), 0x11);
  memcpy(ste_at(SID), good, 64);
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  /* CDs: AArch32 (AA64 = 0), HA without HTTU, T0SZ 40, TG0 Reserved, TTB0 beyond IPS, ASID >
   * 8 bits without ASID16, CD.S, CD.A = 0 with TERM_MODEL: all ILLEGAL (5.4.2). */
  uint64_t cgood[8];
  memcpy(cgood, cd, 64);
  const uint64_t cd_flips[][2] = {
    { BIT(41), 0 }, { 0, CD_HA }, { 16, 40 }, { 0, 3ull << 6 }, { 0, BIT(44) }, { BIT(46), 0 },
  };
  for (unsigned i = 0; i < sizeof(cd_flips) / sizeof(cd_flips[0]); i++) {
    memcpy(cd, cgood, 64);
    cd[0] = (cd[0] & ~cd_flips[i][0]) | cd_flips[i][1];
    assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
    assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
    assert_int_equal(event_type(), 0x0a);
  }
  memcpy(cd, cgood, 64);
  cd[1] = 1ull << 45;                              /* TTB0 beyond the 44-bit effective IPS */
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x0a);
  teardown(NULL);
  p.asid16 = false;
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  s1_stream(0x200000, alloc_pages(1, NULL), PTE_AF | PTE_EL0 | PTE_NG, NULL, &cd);
  cd[0] |= 0x100ull << 48;
  enable(8);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x0a);
}

/* ---------------------------------------------------------------- substreams */

static enum model_dma_result bus_dma(void *ctx, const struct model_dma_req *req, void *data)
{
  return smmu_model_dma(ctx, req, data);
}

static void substreams_translate_pasid_tagged_engine_dma(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.ssidsize = 20;
  p.cd2l = true;
  start(&p);
  queues(3, 3);
  linear_strtab(9);
  /* CD table of 4 (S1CDMax 2): CD 0 maps 0x200000 -> A, CD 1 (another ASID) -> B, CD 2 V = 0. */
  uint64_t *cdt, cdt_phys = alloc_pages(1, &cdt);
  uint64_t *a, *b, a_phys = alloc_pages(1, &a), b_phys = alloc_pages(1, &b);
  uint64_t r0 = alloc_pages(1, NULL), r1 = alloc_pages(1, NULL);
  memset(phys_to_virt(r0), 0, 4096);
  memset(phys_to_virt(r1), 0, 4096);
  cd_make(cdt, r0, ASID, 0);
  cd_make(cdt + 8, r1, ASID + 1, 0);
  memset(cdt + 16, 0, 128);
  s1_map(r0, 0x200000, a_phys, PTE_AF | PTE_EL0 | PTE_NG);
  s1_map(r1, 0x200000, b_phys, PTE_AF | PTE_EL0 | PTE_NG);
  const uint16_t rid = 0x0100;                      /* engine at 01:00.0 */
  ste_s1(ste_at(rid), cdt_phys, 2, 2, 0);            /* S1DSS 0b10: untagged -> CD 0 */
  enable(9);
  /* The model DMA engine issues the requests, PASID-tagged once PASID Enable is set. */
  struct dma_engine_params ep = { .bus = 1, .dev = 0, .fn = 0, .bar = 0xfe000000ull, .buf_size = 8192,
                                  .max_len = 8192, .pasid_width = 20, .pasid_priv = true };
  struct model_bus up = { bus_dma, m };
  struct dma_engine *e = dma_engine_create(&ep, up);
  assert_non_null(e);
  assert_int_equal(dma_engine_register(e), 0);
  struct model_pci_fn *fn = dma_engine_pci(e);
  model_pci_wr_raw(fn, 0x04, 2, 0x6);               /* Memory Space + Bus Master Enable */
  uint16_t pasid_cap = 0x100;
  while (pasid_cap && (model_pci_rd(fn, pasid_cap, 4) & 0xffff) != 0x1b)
    pasid_cap = (uint16_t)(model_pci_rd(fn, pasid_cap, 4) >> 20);
  assert_true(pasid_cap != 0);
  model_pci_wr_raw(fn, (uint16_t)(pasid_cap + 6), 2, 0x5); /* PASID Enable, Privileged Mode */
  memcpy(dma_engine_buffer(e), "untagged", 9);
  uint64_t bar = ep.bar;
#define ENG(reg, v) mmio_write32(bar + (reg), (v))
  ENG(ME_REG_IOVA, 0x200000);
  ENG(ME_REG_IOVA + 4, 0);
  ENG(ME_REG_BUF_OFF, 0);
  ENG(ME_REG_LEN, 9);
  ENG(ME_REG_PASID, 0);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(a, "untagged", 9);
  memcpy(dma_engine_buffer(e), "pasid 1", 8);
  ENG(ME_REG_PASID, ME_PASID_TAGGED | 1);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(b, "pasid 1", 8);
  assert_memory_equal(a, "untagged", 9);
  /* PASID 0 is reserved for untagged traffic with S1DSS 0b10: F_STREAM_DISABLED (7.3.7). */
  ENG(ME_REG_PASID, ME_PASID_TAGGED | 0);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_BLOCKED);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x06 | BIT(11) | (uint64_t)rid << 32);
  /* PASID 4 >= 2^S1CDMax: C_BAD_SUBSTREAMID with the SubstreamID and no SSV (7.3.9). */
  ENG(ME_REG_PASID, ME_PASID_TAGGED | 4);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x08 | 4ull << 12 | (uint64_t)rid << 32);
  /* PASID 2 reaches an invalid CD: C_BAD_CD with SSV and SubstreamID 2. */
  ENG(ME_REG_PASID, ME_PASID_TAGGED | 2);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x0a | BIT(11) | 2ull << 12 | (uint64_t)rid << 32);
  /* A privileged request (PnU) to an unmapped page through CD 1: F_TRANSLATION, PnU = 1. */
  ENG(ME_REG_IOVA, 0x400000);
  ENG(ME_REG_PASID, ME_PASID_TAGGED | ME_PASID_PRIV | 1);
  ENG(ME_REG_CMD, ME_CMD_GO);
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x10 | BIT(11) | 1ull << 12 | (uint64_t)rid << 32);
  assert_int_equal((rec[1] >> 33) & 1, 1);
  assert_int_equal((rec[1] >> 35) & 1, 1);
  /* Untagged with S1DSS 0b00: F_STREAM_DISABLED; 0b01: stage 1 bypassed. */
  ste_at(rid)[1] = 0;
  assert_int_equal(cmd(cfgi_ste(rid), 1), 0);
  ENG(ME_REG_IOVA, 0x200000);
  ENG(ME_REG_PASID, 0);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(event_type(), 0x06);
  ste_at(rid)[1] = 1;
  assert_int_equal(cmd(cfgi_ste(rid), 1), 0);
  ENG(ME_REG_IOVA, (uint32_t)a_phys);
  ENG(ME_REG_IOVA + 4, (uint32_t)(a_phys >> 32));
  memcpy(dma_engine_buffer(e), "bypass", 7);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(a, "bypass", 7);
  /* A 2-level CD table (S1Fmt 1, IDR0.CD2L): L1CD V = 0 -> C_BAD_SUBSTREAMID; valid -> CD. */
  uint64_t *l1cd, l1cd_phys = alloc_pages(1, &l1cd);
  memset(l1cd, 0, 4096);
  ste_s1(ste_at(rid), l1cd_phys, 8, 2, 1);          /* 256 CDs: 4 L1CDs of 64 */
  assert_int_equal(cmd(cfgi_ste(rid), 1), 0);
  ENG(ME_REG_IOVA, 0x200000);
  ENG(ME_REG_IOVA + 4, 0);
  ENG(ME_REG_PASID, ME_PASID_TAGGED | 65);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_true(event(rec));
  assert_int_equal(rec[0], 0x08 | 65ull << 12 | (uint64_t)rid << 32);
  l1cd[1] = cdt_phys | 1;                           /* CDs 64..127 in the same page */
  assert_int_equal(cmd(0x05 | 65ull << 12 | (uint64_t)rid << 32, 0), 0); /* non-leaf CFGI_CD */
  memcpy(dma_engine_buffer(e), "cd 65", 6);
  ENG(ME_REG_CMD, ME_CMD_GO | ME_CMD_TO_MEM);
  assert_int_equal(mmio_read32(bar + ME_REG_STATUS), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(b, "cd 65", 6);              /* index 65 & 63 = CD 1 */
#undef ENG
  dma_engine_destroy(e);
}

/* ---------------------------------------------------------------- HTTU */

static void httu_sets_access_flag_and_dirty_state(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.httu = 2;
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  uint64_t *a, a_phys = alloc_pages(1, &a), *cd, root;
  uint64_t *pte = s1_stream(0x200000, a_phys, PTE_EL0 | PTE_NG, &root, &cd); /* AF = 0 */
  enable(8);
  uint8_t buf[8] = "x";
  /* Without CD.HA: F_ACCESS. */
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x12);
  /* CD.HA: the walk sets AF (3.13.2). */
  cd[0] |= CD_HA;
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_OK);
  assert_true(*pte & PTE_AF);
  assert_int_equal(smmu_model_stats(m)->httu_updates, 1);
  /* Writable-clean (AP[2] = 1, DBM = 1) with HA only: a write is a Permission fault. */
  *pte = a_phys | 3 | PTE_AF | PTE_EL0 | PTE_NG | PTE_RO | PTE_DBM;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x13);
  /* HA + HD: a read caches the clean entry, the write re-walks and marks it dirty (3.13.3). */
  cd[0] |= CD_HD;
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_OK);
  assert_true(*pte & PTE_RO);
  memcpy(buf, "dirty", 6);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_false(*pte & PTE_RO);
  assert_true(*pte & PTE_DBM);                      /* the SMMU never clears DBM */
  assert_memory_equal(a, "dirty", 5);
  /* Read-only without DBM stays a Permission fault. */
  *pte = a_phys | 3 | PTE_AF | PTE_EL0 | PTE_NG | PTE_RO;
  assert_int_equal(cmd(tlbi_nh_va(ASID, 0), 0x200000), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x13);
  assert_true(*pte & PTE_RO);
  /* IDR0.HTTU = 1 (Access flag only): CD.HD is ILLEGAL. */
  teardown(NULL);
  p.httu = 1;
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  s1_stream(0x200000, alloc_pages(1, NULL), PTE_EL0 | PTE_NG, NULL, &cd);
  cd[0] |= CD_HA | CD_HD;
  enable(8);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x0a);
  cd[0] &= ~CD_HD;
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_OK);
}

/* ---------------------------------------------------------------- stage 2 */

static void stage2_and_nested_translation(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.s2p = true;
  p.vmid16 = true;
  p.httu = 2;
  start(&p);
  queues(3, 3);
  linear_strtab(8);
  const uint16_t vmid = 5;
  uint64_t s2root = alloc_pages(1, NULL);
  memset(phys_to_virt(s2root), 0, 4096);
  uint64_t *a, *b, a_phys = alloc_pages(1, &a), b_phys = alloc_pages(1, &b);
  uint64_t *s2pte = s2_map(s2root, 0x40000000, a_phys, S2_R | S2_W);
  memset(ste_at(SID), 0, 64);
  ste_s2(ste_at(SID), 6, vmid, s2root);
  enable(8);
  uint8_t buf[8] = "ipa";
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "ipa", 3);
  /* Unmapped IPA: F_TRANSLATION, S2 = 1, CLASS IN, IPA in the record (7.3.13). */
  assert_int_equal(dma(SID, false, 0, 0x40201000, false, buf, 8), MODEL_DMA_BLOCKED);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x10);
  assert_int_equal((rec[1] >> 39) & 1, 1);
  assert_int_equal((rec[1] >> 40) & 3, 2);
  assert_int_equal(rec[2], 0x40201000);
  assert_int_equal(rec[3], 0x40201000);
  /* An IPA beyond the 39-bit S2T0SZ range: stage 2 translation fault. */
  assert_int_equal(dma(SID, false, 0, 1ull << 40, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x10);
  /* Stale until CMD_TLBI_S2_IPA with the right VMID (VMID-tagged entries). */
  *s2pte = b_phys | 3 | PTE_AF | S2_R | S2_W;
  assert_int_equal(cmd(0x2a | (uint64_t)(vmid + 1) << 32, 0x40000000 | 1), 0);
  memcpy(buf, "stale", 6);
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "stale", 5);
  assert_int_equal(cmd(0x2a | (uint64_t)vmid << 32, 0x40000000 | 1), 0);
  memcpy(buf, "fresh", 6);
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "fresh", 5);
  /* S2AP read-only: a write is a stage 2 Permission fault; with DBM and S2HD it becomes dirty. */
  *s2pte = b_phys | 3 | PTE_AF | S2_R | PTE_DBM;
  assert_int_equal(cmd(0x28 | (uint64_t)vmid << 32, 0), 0); /* TLBI_S12_VMALL */
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x13);
  assert_int_equal((rec[1] >> 39) & 1, 1);
  ste_at(SID)[2] |= BIT(55) | BIT(56);             /* S2HD, S2HA */
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_OK);
  assert_true(*s2pte & S2_W);
  /* S2T0SZ beyond 39 or inconsistent with S2SL0: C_BAD_STE (5.2.2). */
  uint64_t saved = ste_at(SID)[2];
  ste_at(SID)[2] = (saved & ~(0x3full << 32)) | 45ull << 32;
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x04);
  ste_at(SID)[2] = (saved & ~(3ull << 38)) | 2ull << 38; /* level 0 start for a 39-bit IPA */
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x40000000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(event_type(), 0x04);
  ste_at(SID)[2] = saved;

  /* Nested (Config 0b111): the CD and the stage-1 tables live in IPA space. Identity stage-2
   * mappings for the CD and table pages, VA 0x200000 -> IPA 0x40400000 -> PA of A. */
  uint64_t *cd, cd_phys = alloc_pages(1, &cd), s1root = alloc_pages(1, NULL);
  memset(phys_to_virt(s1root), 0, 4096);
  cd_make(cd, s1root, ASID, 0);
  s1_map(s1root, 0x200000, 0x40400000, PTE_AF | PTE_EL0 | PTE_NG);
  s2_map(s2root, cd_phys, cd_phys, S2_R);
  s2_map(s2root, s1root, s1root, S2_R);
  uint64_t t = s1root;
  for (unsigned level = 0; level < 3; level++) { /* the tables the stage-1 walk will read */
    uint64_t *tv = phys_to_virt(t);
    t = tv[(0x200000ull >> (12 + 9 * (3 - level))) & 0x1ff] & 0x0000fffffffff000ull;
    s2_map(s2root, t, t, S2_R);
  }
  uint64_t l3_table = t;
  s2_map(s2root, 0x40400000, a_phys, S2_R | S2_W);
  ste_at(SID)[0] = 1 | 7u << 1 | cd_phys;
  assert_int_equal(cmd(cfgi_ste(SID), 1), 0);
  assert_int_equal(cmd(0x30, 0), 0);
  memcpy(buf, "nested", 7);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "nested", 6);
  /* The last stage-1 table's IPA unmapped at stage 2: F_TRANSLATION, S2 = 1, CLASS TT. */
  *leaf_slot(s2root, l3_table, 1) = 0;
  assert_int_equal(cmd(0x30, 0), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x10);
  assert_int_equal((rec[1] >> 39) & 1, 1);
  assert_int_equal((rec[1] >> 40) & 3, 1);
  assert_int_equal(rec[2], 0x200000);
  assert_int_equal(rec[3], l3_table);
  s2_map(s2root, l3_table, l3_table, S2_R);
  /* The CD's IPA unmapped: CLASS CD (after the CD is invalidated). */
  *leaf_slot(s2root, cd_phys, 1) = 0;
  assert_int_equal(cmd(0x30, 0), 0);
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_true(event(rec));
  assert_int_equal((rec[1] >> 40) & 3, 0);
  assert_int_equal(rec[3], cd_phys);
  /* Stage-1 HTTU needs stage-2 write permission on the descriptor (TTRnW = 0). */
  s2_map(s2root, cd_phys, cd_phys, S2_R);
  cd[0] |= CD_HA;
  uint64_t *s1pte = leaf_slot(s1root, 0x200000, 0);
  *s1pte &= ~PTE_AF;
  assert_int_equal(cmd(0x30, 0), 0);
  assert_int_equal(cmd(0x05 | (uint64_t)SID << 32, 1), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_BLOCKED);
  assert_true(event(rec));
  assert_int_equal(rec[0] & 0xff, 0x13);
  assert_int_equal((rec[1] >> 40) & 3, 1);
  assert_int_equal((rec[1] >> 44) & 1, 0);          /* a descriptor write faulted */
  s2_map(s2root, l3_table, l3_table, S2_R | S2_W);
  assert_int_equal(cmd(0x30, 0), 0);
  assert_int_equal(dma(SID, false, 0, 0x200000, false, buf, 8), MODEL_DMA_OK);
  assert_true(*s1pte & PTE_AF);
}

/* ---------------------------------------------------------------- Event queue */

static void event_queue_overflow_and_acknowledge(void **state)
{
  (void)state;
  struct smmu_model_params p = params();
  p.msi = true;
  start(&p);
  queues(3, 1); /* 2 events */
  linear_strtab(8);
  s1_stream(0x200000, alloc_pages(1, NULL), PTE_AF | PTE_EL0 | PTE_NG, NULL, NULL);
  uint64_t *msi64, msi_phys = alloc_pages(1, &msi64);
  uint32_t *msi = (uint32_t *)(void *)msi64;
  w64(EVENTQ_IRQ_CFG0, msi_phys);
  w32(EVENTQ_IRQ_CFG1, 0x77);
  w32(IRQ_CTRL, 0x4);
  enable(8);
  uint8_t buf[8] = { 0 };
  for (unsigned i = 0; i < 4; i++)
    assert_int_equal(dma(SID, false, 0, 0x800000 + 0x1000 * i, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(*msi, 0x77);                    /* the empty -> non-empty interrupt */
  /* 2 written, 2 discarded: OVFLG toggled once (7.4). */
  uint32_t prod = r32(EVENTQ_PROD);
  assert_int_equal(prod, 1u << 31 | 2);
  uint64_t rec[4];
  assert_true(event(rec));
  assert_int_equal(rec[2], 0x800000);
  assert_true(event(rec));
  assert_int_equal(rec[2], 0x801000);
  /* event() copied OVFLG into OVACKFLG: acknowledged; new records, next overflow toggles again. */
  assert_int_equal(r32(EVENTQ_CONS), 1u << 31 | 2);
  for (unsigned i = 0; i < 3; i++)
    dma(SID, false, 0, 0x900000 + 0x1000 * i, true, buf, 8);
  assert_int_equal(r32(EVENTQ_PROD), 0u << 31 | 0);
  assert_true(event(rec));
  assert_int_equal(rec[2], 0x900000);
  /* With EVENTQEN = 0 records are discarded without an overflow. */
  assert_true(event(rec));
  w32(CR0, 0x9);
  dma(SID, false, 0, 0xa00000, true, buf, 8);
  assert_int_equal(r32(EVENTQ_PROD) >> 31, 0);
  assert_false(event(rec));
  /* An unwritable queue: EVENTQ_ABT_ERR, records discarded until acknowledged. */
  w32(CR0, 0x0);
  w64(EVENTQ_BASE, 0x7ff00000ull | 1);
  w32(CR0, EN_ALL);
  dma(SID, false, 0, 0xa00000, true, buf, 8);
  assert_int_equal((r32(GERROR) ^ r32(GERRORN)) & 4, 4);
}

/* ---------------------------------------------------------------- with the driver */

static unsigned long smmu_hits(struct host_system *sys)
{
  (void)sys;
  return smmu_model_stats(smmu_model_instance())->tlb_hits;
}

static void expect_stale(const char *spec, int stage, const char *glob, const char *evidence)
{
  smmuv3_stage_choice = stage;
  model_expect_stale(spec, glob, evidence, smmu_hits);
  smmuv3_stage_choice = 0;
}

static void driver_without_tlbi_leaves_stale_translation(void **state)
{
  (void)state;
  expect_stale("smmuv3", 0, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
  expect_stale("smmuv3", 0, "dma.remap", "A WRITTEN (stale)");
  expect_stale("smmuv3-s2", 2 /* --smmu-stage=2 */, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
  expect_stale("smmuv3-small", 0, "dma.unmap.stale", "NOT blocked (stale IOTLB)");
}

/* The IORT the platform writes: SMMUv3 node at the model's base, RID -> StreamID 1:1 with
 * NumIDs = count - 1 (no off-by-one erratum), an ITS group when asked. */
static void iort_describes_the_smmu(void **state)
{
  (void)state;
  static const char *const specs[2] = { "smmuv3", "smmuv3,its=1" };
  for (unsigned i = 0; i < 2; i++) {
    struct host_system sys;
    char err[200];
    assert_int_equal(host_system_create(specs[i], &sys, err, sizeof(err)), 0);
    FILE *saved = stdout;
    char *out = NULL;
    size_t len = 0;
    stdout = open_memstream(&out, &len);
    assert_int_equal(host_system_discover(&sys), 0);
    fclose(stdout);
    stdout = saved;
    free(out);
    const struct iort_info *iort = &sys.plat->iort;
    assert_true(iort->present);
    assert_int_equal(iort->n_nodes, i ? 3 : 2);
    assert_int_equal(iort->num_ids_off_by_one, 0);
    assert_int_equal(sys.plat->n_iommus, 1);
    assert_int_equal(sys.plat->iommus[0].base, 0x09050000);
    uint32_t sid = 0;
    int node = iort_rid_to_smmu(iort, 0, 0x0100, &sid);
    assert_true(node >= 0);
    assert_int_equal(iort->nodes[node].type, IORT_NODE_SMMUV3);
    assert_int_equal(sid, 0x0100);
    assert_int_equal(iort_rid_to_smmu(iort, 0, 0xffff, &sid), node);
    assert_int_equal(sid, 0xffff);
    /* The driver following this IORT (as the image does, boot/efi_main.c) rather than taking
     * StreamID = RID: the StreamIDs and the Stream table size it derives work on the model. */
    smmuv3_iort = iort;
    stdout = open_memstream(&out, &len);
    report_begin();
    const char *globs[2] = { "dma.detach", "fault.overflow" };
    scenarios_run(sys.plat, globs, 2);
    iommu_deactivate_all(sys.plat);
    struct report_counts rc = report_counts();
    fclose(stdout);
    stdout = saved;
    smmuv3_iort = NULL;
    if (rc.passed != 2)
      fprintf(stderr, "%s", out);
    free(out);
    assert_int_equal(rc.passed, 2);
    assert_int_equal(rc.failed, 0);
    host_system_destroy(&sys);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(registers_reset_guards_and_updates, teardown),
    cmocka_unit_test_teardown(command_queue_sync_errors_and_restart, teardown),
    cmocka_unit_test_teardown(stage1_translation_and_event_records, teardown),
    cmocka_unit_test_teardown(missing_tlbi_leaves_a_stale_translation, teardown),
    cmocka_unit_test_teardown(granules_16k_64k_and_walk_abort, teardown),
    cmocka_unit_test_teardown(configuration_caches_need_the_right_cfgi, teardown),
    cmocka_unit_test_teardown(two_level_stream_table_and_l1std_caching, teardown),
    cmocka_unit_test_teardown(ste_and_cd_validity, teardown),
    cmocka_unit_test_teardown(substreams_translate_pasid_tagged_engine_dma, teardown),
    cmocka_unit_test_teardown(httu_sets_access_flag_and_dirty_state, teardown),
    cmocka_unit_test_teardown(stage2_and_nested_translation, teardown),
    cmocka_unit_test_teardown(event_queue_overflow_and_acknowledge, teardown),
    cmocka_unit_test(driver_without_tlbi_leaves_stale_translation),
    cmocka_unit_test(iort_describes_the_smmu),
  };
  return cmocka_run_group_tests_name("model_smmu", tests, NULL, NULL);
}
