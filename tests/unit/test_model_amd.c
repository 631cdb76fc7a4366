/* The AMD-Vi model programmed by hand from the spec (48882 rev 3.x), without driver code:
 * register semantics (reset values, RO EFR, RW1C Status, run bits, base writes resetting the
 * ring pointers, dword halves), the device table and v1 walks (skipped levels, next level 7,
 * permissions, reserved bits, V/TV/Mode 0, bounds), the event log entry formats and overflow,
 * the command buffer (COMPLETION_WAIT, illegal commands stopping it, hardware errors), caches
 * that need the right invalidation, Access/Dirty updates, the exclusion range. Then the whole
 * platform with the real driver: a missing INVALIDATE_IOMMU_PAGES leaves a stale translation,
 * and the IVRS / PCI function the firmware discovers. Table entries and commands are built
 * with this file's own encoders so that a model bug cannot hide behind a shared one.
 * Guest (v2/GCR3) translation: PASID-tagged DMA from the model engine through GCR3 and guest
 * tables built with the driver's encoders (as firmware programs them), host Mode 0 and nested
 * through a v1 table; faults with GN=1 and the PASID (this file's encoders), guest A/D, a stale
 * guest translation until INVALIDATE_IOMMU_PAGES with GN and the PASID, PASmax and the DTE's
 * guest fields. */
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
#include "iommu/amd/amd_internal.h"
#include "iommu/initiator/model_engine_regs.h"
#include "iommu/iommu.h"
#include "tests/model/amd_model.h"
#include "tests/model/dma_engine.h"
#include "tests/model/platform_model.h"
#include "tests/unit/model_run.h"
#include "tests/scenarios/scenario.h"

#define SID 0x0010
#define DOM 5
#define BIT(n) (1ull << (n))

/* register offsets (3.4) */
enum {
  DEVTAB = 0x00, CMDBUF = 0x08, EVTLOG = 0x10, CONTROL = 0x18, EXCL_BASE = 0x20, EXCL_LIMIT = 0x28,
  EFR = 0x30, CMD_HEAD = 0x2000, CMD_TAIL = 0x2008, EVT_HEAD = 0x2010, EVT_TAIL = 0x2018, STATUS = 0x2020,
};
#define EN_ALL (BIT(0) | BIT(2) | BIT(12)) /* IommuEn, EventLogEn, CmdBufEn */
#define ST_EVT_OVF BIT(0)
#define ST_EVT_INT BIT(1)
#define ST_COMWAIT BIT(2)
#define ST_EVT_RUN BIT(3)
#define ST_CMD_RUN BIT(4)

static struct amd_model *m;
static void *pages[64];
static size_t page_counts[64];
static unsigned n_pages;
static uint64_t *devtab, *cmdq, *evtq;
static uint64_t devtab_phys, cmd_phys, evt_phys;
static unsigned cmd_tail, evt_seen;

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

static uint64_t alloc_page(uint64_t **virt) { return alloc_pages(1, virt); }

static uint64_t r64(unsigned off) { return amd_model_read(m, off, 8); }
static uint32_t r32(unsigned off) { return (uint32_t)amd_model_read(m, off, 4); }
static void w64(unsigned off, uint64_t v) { amd_model_write(m, off, 8, v); }
static void w32(unsigned off, uint32_t v) { amd_model_write(m, off, 4, v); }

static struct amd_model_params params(void)
{
  struct amd_model_params p;
  amd_model_params_default(&p);
  return p;
}

/* A unit with a one-page device table (128 entries), command buffer and event log
 * (256 entries each), everything enabled. */
static void start(const struct amd_model_params *p)
{
  m = amd_model_create(p);
  assert_non_null(m);
  n_pages = 0;
  cmd_tail = evt_seen = 0;
  devtab_phys = alloc_page(&devtab);
  cmd_phys = alloc_page(&cmdq);
  evt_phys = alloc_page(&evtq);
  w64(DEVTAB, devtab_phys);                 /* Size 0: one page */
  w64(CMDBUF, cmd_phys | 8ull << 56);       /* ComLen 8: 256 entries */
  w64(EVTLOG, evt_phys | 8ull << 56);
  w64(CONTROL, EN_ALL);
  assert_int_equal(r64(STATUS) & (ST_EVT_RUN | ST_CMD_RUN), ST_EVT_RUN | ST_CMD_RUN);
}

static struct dma_engine *eng;     /* guest translation tests: the model DMA engine */
static struct pt v2;               /* a guest table built by the page-table engine */

static int teardown(void **state)
{
  (void)state;
  if (eng) {
    dma_engine_destroy(eng);
    eng = NULL;
  }
  pt_free(&v2);
  for (unsigned i = 0; i < n_pages; i++)
    page_free(pages[i], page_counts[i]);
  n_pages = 0;
  amd_model_destroy(m);
  m = NULL;
  host_mmio_unregister_all();
  return 0;
}

static enum model_dma_result dma(uint16_t sid, uint64_t addr, bool write, void *buf, uint32_t len)
{
  struct model_dma_req req = { .sid = sid, .addr = addr, .len = len, .write = write };
  return amd_model_dma(m, &req, buf);
}

/* ---- this file's encoders (2.2.2.1, 2.2.3, 2.4) ---- */
static void set_dte(uint16_t sid, uint64_t q0, uint64_t q1)
{
  devtab[sid * 4] = q0;
  devtab[sid * 4 + 1] = q1;
  devtab[sid * 4 + 2] = devtab[sid * 4 + 3] = 0;
}

static uint64_t dte_q0(uint64_t root, unsigned mode, bool ir, bool iw, unsigned had)
{
  return BIT(0) | BIT(1) | (uint64_t)had << 7 | (uint64_t)mode << 9 | root | (ir ? BIT(61) : 0) |
         (iw ? BIT(62) : 0);
}

static uint64_t pte(uint64_t addr, unsigned nl, bool ir, bool iw)
{
  return BIT(0) | (uint64_t)nl << 9 | addr | (ir ? BIT(61) : 0) | (iw ? BIT(62) : 0);
}

static void cmd(uint64_t q0, uint64_t q1)
{
  cmdq[cmd_tail / 8] = q0;
  cmdq[cmd_tail / 8 + 1] = q1;
  cmd_tail = (cmd_tail + 16) % 4096;
  w64(CMD_TAIL, cmd_tail);
}

static void inv_dte(uint16_t id) { cmd(2ull << 60 | id, 0); }
static void inv_pages(uint16_t dom, uint64_t addr, bool s)
{
  cmd(3ull << 60 | (uint64_t)dom << 32, addr | (s ? 1 : 0));
}
static void inv_all(void) { cmd(8ull << 60, 0); }

/* The next event log entry (asserting one was written). */
static void next_event(uint64_t e[2])
{
  assert_int_not_equal(r64(EVT_TAIL), evt_seen * 16);
  e[0] = evtq[evt_seen * 2];
  e[1] = evtq[evt_seen * 2 + 1];
  evt_seen++;
}

static void no_event(void) { assert_int_equal(r64(EVT_TAIL), evt_seen * 16); }

static unsigned ev_code(const uint64_t e[2]) { return (unsigned)(e[0] >> 60); }
static bool ev_flag(const uint64_t e[2], unsigned bit) { return (e[0] >> bit) & 1; }

/* Three levels for SID in DOM mapping iova -> phys read/write; returns the leaf entry. */
static uint64_t *map3(uint64_t iova, uint64_t phys, uint64_t **l3_out, uint64_t **l2_out)
{
  uint64_t *l3, *l2, *l1;
  uint64_t l3p = alloc_page(&l3), l2p = alloc_page(&l2), l1p = alloc_page(&l1);
  l3[(iova >> 30) & 0x1ff] = pte(l2p, 2, true, true);
  l2[(iova >> 21) & 0x1ff] = pte(l1p, 1, true, true);
  l1[(iova >> 12) & 0x1ff] = pte(phys, 0, true, true);
  set_dte(SID, dte_q0(l3p, 3, true, true, 0), DOM);
  if (l3_out)
    *l3_out = l3;
  if (l2_out)
    *l2_out = l2;
  return &l1[(iova >> 12) & 0x1ff];
}

/* ---------------------------------------------------------------- registers */

static void register_reset_values_and_access_types(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  m = amd_model_create(&p);
  assert_non_null(m);
  n_pages = 0;
  /* Reset: every register 0 except EFR, built from the parameters (3.4.12). */
  static const unsigned regs[] = { DEVTAB, CMDBUF, EVTLOG, CONTROL, EXCL_BASE, EXCL_LIMIT, CMD_HEAD,
                                   CMD_TAIL, EVT_HEAD, EVT_TAIL, STATUS };
  for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
    assert_int_equal(r64(regs[i]), 0);
  assert_int_equal(r64(EFR), 0x840);                         /* HATS=2 [11:10], IASup [6] */
  w64(EFR, 0);                                               /* read-only */
  assert_int_equal(r64(EFR), 0x840);
  assert_int_equal(r32(EFR + 4), 0);
  /* Writable fields only. */
  w64(DEVTAB, ~0ull);
  assert_int_equal(r64(DEVTAB), 0x000ffffffffff1ffull);
  w64(EXCL_LIMIT, ~0ull);
  assert_int_equal(r64(EXCL_LIMIT), 0x000ffffffffff000ull);
  /* Head/tail pointers read back [18:4]; a base write resets that ring's pointers (2.4). */
  w64(CMD_HEAD, 0x7ffff);
  w64(CMD_TAIL, 0x120);
  assert_int_equal(r64(CMD_HEAD), 0x7fff0);
  assert_int_equal(r64(CMD_TAIL), 0x120);
  w64(CMDBUF, ~0ull);
  assert_int_equal(r64(CMDBUF), 0x0f0ffffffffff000ull);
  assert_int_equal(r64(CMD_HEAD), 0);
  assert_int_equal(r64(CMD_TAIL), 0);
  w64(EVT_HEAD, 0x40);
  w64(EVT_TAIL, 0x30);
  assert_int_equal(r64(EVT_TAIL), 0x30);
  w32(EVTLOG + 4, 0x08000000u);                              /* the high dword alone */
  assert_int_equal(r64(EVTLOG), 8ull << 56);
  assert_int_equal(r64(EVT_HEAD), 0);
  /* Run bits follow IommuEn & xxxEn and are read-only. */
  w64(CONTROL, BIT(12) | BIT(2));
  assert_int_equal(r64(STATUS), 0);                          /* not without IommuEn */
  w64(CONTROL, EN_ALL);
  assert_int_equal(r64(STATUS), ST_EVT_RUN | ST_CMD_RUN);
  w64(STATUS, ~0ull);                                        /* RW1C bits clear, run bits stay */
  assert_int_equal(r64(STATUS), ST_EVT_RUN | ST_CMD_RUN);
  w64(CONTROL, BIT(0));
  assert_int_equal(r64(STATUS), 0);
  w32(CONTROL, 0);
  assert_int_equal(r64(CONTROL), 0);
  /* A byte access is refused (3.4: 32- or 64-bit accesses). */
  unsigned long bad = amd_model_stats(m)->bad_accesses;
  assert_int_equal(amd_model_read(m, DEVTAB, 1), ~0ull);
  assert_int_equal(amd_model_stats(m)->bad_accesses, bad + 1);
}

/* ---------------------------------------------------------------- walks */

static void v1_walk_levels_sizes_permissions(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  start(&p);
  uint64_t *a, *l4, *l2, *l1;
  uint64_t a_phys = alloc_page(&a), l4p = alloc_page(&l4), l2p = alloc_page(&l2), l1p = alloc_page(&l1);
  /* Mode 4 with a PDE that skips level 3: level 4 index 1 -> level 2 table directly. */
  const uint64_t iova = (1ull << 39) | (3ull << 21) | (5ull << 12);
  l4[1] = pte(l2p, 2, true, true);
  l2[3] = pte(l1p, 1, true, true);
  l1[5] = pte(a_phys, 0, true, true);
  set_dte(SID, dte_q0(l4p, 4, true, true, 0), DOM);
  uint8_t buf[8] = "skipped";
  assert_int_equal(dma(SID, iova + 0x10, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 0x10, "skipped", 8);
  uint64_t e[2];
  no_event();
  /* The skipped level's address bits must be zero: PR=1, not a permission or reserved fault. */
  assert_int_equal(dma(SID, iova | 1ull << 30, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_true(ev_flag(e, 52) && !ev_flag(e, 54) && !ev_flag(e, 55));
  /* Mode 4 translates 48 bits: higher bits fault as not present. */
  assert_int_equal(dma(SID, iova | 1ull << 50, false, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_false(ev_flag(e, 52));
  /* IO_PAGE_FAULT entry (2.5.3): DeviceID, DomainID, RW, address. */
  assert_int_equal(dma(SID, iova + 0x1000, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(e[0] & 0xffff, SID);
  assert_int_equal((e[0] >> 32) & 0xffff, DOM);
  assert_true(ev_flag(e, 53) && !ev_flag(e, 52));            /* write, not present */
  assert_int_equal(e[1], iova + 0x1000);
  assert_true(r64(STATUS) & ST_EVT_INT);

  /* Next level 7 at level 2: a 4 MiB page (lowest clear address bit 21), replicated. */
  uint64_t *big;
  uint64_t big_phys = alloc_pages(2048, &big);
  uint64_t aligned = (big_phys + (4ull << 20) - 1) & ~((4ull << 20) - 1);
  l2[8] = l2[9] = pte(aligned | 0x1ff000, 7, true, true);
  const uint64_t big_iova = (1ull << 39) | (8ull << 21);
  assert_int_equal(dma(SID, big_iova + 0x2ff008, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)big + (aligned - big_phys) + 0x2ff008, "skipped", 8);
  /* A size equal to the level's own (2 MiB, clear bit 20) is not a valid next level 7 page. */
  l2[10] = pte(aligned | 0xff000, 7, true, true);
  assert_int_equal(dma(SID, (1ull << 39) | (10ull << 21), true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && !ev_flag(e, 55));
  /* A PDE pointing to its own level is an invalid level encoding. */
  l2[11] = pte(l1p, 2, true, true);
  assert_int_equal(dma(SID, (1ull << 39) | (11ull << 21), false, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && !ev_flag(e, 55));

  /* Permissions are ANDed along the walk: a read-only PDE blocks a write to an RW leaf. */
  l1[6] = pte(a_phys, 0, true, false);
  assert_int_equal(dma(SID, iova + 0x1000, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && ev_flag(e, 54));             /* PR, PE */
  assert_int_equal(dma(SID, iova + 0x1000, false, buf, 8), MODEL_DMA_OK);
  l4[2] = pte(l2p, 2, true, false);
  assert_int_equal(dma(SID, (2ull << 39) | (3ull << 21) | (5ull << 12), true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 54));
  /* Reserved bit 52 of a PTE: PR=1 RZ=1. */
  l1[7] = pte(a_phys, 0, true, true) | BIT(52);
  assert_int_equal(dma(SID, iova + 0x2000, false, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && ev_flag(e, 55));
  /* A table pointer into no memory: PAGE_TAB_HARDWARE_ERROR with the entry's address. */
  l4[3] = pte(0x1000, 2, true, true);
  assert_int_equal(dma(SID, 3ull << 39, false, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 4);
  assert_int_equal(e[1], 0x1000);
  assert_int_equal((e[0] >> 32) & 0xffff, DOM);
}

static void device_table_entry_states(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  start(&p);
  uint64_t *a, a_phys = alloc_page(&a), e[2];
  uint8_t buf[8] = "devtab";
  /* V=0: untranslated, nothing checked. */
  set_dte(SID, 0, 0);
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "devtab", 6);
  /* The entry is cached: a new one counts only after INVALIDATE_DEVTAB_ENTRY (2.4.2). */
  set_dte(SID, BIT(0) | BIT(1), DOM);                        /* V=1 TV=1 Mode 0 IR=IW=0 */
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_OK);
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_true(ev_flag(e, 52) && ev_flag(e, 54));             /* denied by the DTE's IW */
  /* Mode 0 with IR only: reads go untranslated, writes are refused. */
  set_dte(SID, BIT(0) | BIT(1) | BIT(61), DOM);
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys, false, buf, 8), MODEL_DMA_OK);
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  /* V=1 TV=0: no valid root; the request is refused. */
  set_dte(SID, BIT(0) | BIT(61) | BIT(62), DOM);
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys, false, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_false(ev_flag(e, 52));
  /* Reserved bit 2: ILLEGAL_DEV_TABLE_ENTRY, RZ=1 (2.5.2). */
  set_dte(SID, dte_q0(0, 0, true, true, 0) | BIT(2), DOM);
  inv_dte(SID);
  assert_int_equal(dma(SID, 0x5004, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_int_equal(e[0] & 0xffff, SID);
  assert_true(ev_flag(e, 55) && ev_flag(e, 53));
  assert_int_equal(e[1], 0x5004);
  /* Mode 7: invalid level encoding, RZ=0. Mode 6 is fine with HATS=2, not with HATS=0. */
  set_dte(SID, dte_q0(a_phys, 7, true, true, 0), DOM);
  inv_dte(SID);
  assert_int_equal(dma(SID, 0, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_false(ev_flag(e, 55));
  /* A DeviceID beyond DevTabBase.Size: no entry, IO_PAGE_FAULT PR=0. */
  assert_int_equal(dma(0x0100, a_phys, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_int_equal(e[0] & 0xffff, 0x0100);
  /* DTE.SA suppresses page fault events; the access is still refused. */
  set_dte(SID, BIT(0) | BIT(1), DOM | BIT(34));
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_BLOCKED);
  no_event();
  /* SE: only the first one after the entry was fetched. */
  set_dte(SID, BIT(0) | BIT(1), DOM | BIT(33));
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(dma(SID, a_phys + 0x1000, true, buf, 8), MODEL_DMA_BLOCKED);
  no_event();
  /* IommuEn=0: everything untranslated. */
  w64(CONTROL, BIT(2) | BIT(12));
  assert_int_equal(dma(SID, a_phys, true, buf, 8), MODEL_DMA_OK);
}

static void exclusion_range(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  start(&p);
  uint64_t *a, a_phys = alloc_page(&a), e[2];
  uint8_t buf[4] = "exc";
  set_dte(SID, BIT(0) | BIT(1), DOM);                        /* blocked */
  w64(EXCL_BASE, a_phys | 1);                                /* ExEn, Allow=0 */
  w64(EXCL_LIMIT, a_phys);
  assert_int_equal(dma(SID, a_phys + 0x10, true, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  set_dte(SID, BIT(0) | BIT(1), DOM | BIT(39));              /* EX */
  inv_dte(SID);
  assert_int_equal(dma(SID, a_phys + 0x10, true, buf, 4), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 0x10, "exc", 4);
  assert_int_equal(dma(SID, a_phys + 0x1000, true, buf, 4), MODEL_DMA_BLOCKED); /* past the limit */
  next_event(e);
  set_dte(SID, BIT(0) | BIT(1), DOM);
  inv_dte(SID);
  w64(EXCL_BASE, a_phys | 3);                                /* Allow: every device */
  assert_int_equal(dma(SID, a_phys + 0x20, true, buf, 4), MODEL_DMA_OK);
}

/* ---------------------------------------------------------------- event log */

static void event_log_overflow_stops_logging_until_restarted(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  start(&p);
  uint8_t buf[4] = { 0 };
  set_dte(SID, BIT(0) | BIT(1), DOM);                        /* every access faults */
  /* Head 4 entries ahead of the tail: 3 entries fit (full when tail + 1 == head, 2.5). */
  w64(EVT_HEAD, 4 * 16);
  for (unsigned i = 0; i < 3; i++)
    assert_int_equal(dma(SID, 0x10000 + 0x1000 * i, true, buf, 4), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(EVT_TAIL), 3 * 16);
  assert_int_equal(r64(STATUS) & (ST_EVT_OVF | ST_EVT_RUN), ST_EVT_RUN);
  assert_int_equal(dma(SID, 0x20000, true, buf, 4), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(STATUS) & (ST_EVT_OVF | ST_EVT_RUN), ST_EVT_OVF);
  assert_int_equal(r64(EVT_TAIL), 3 * 16);
  assert_int_equal(evtq[6], 0);                              /* nothing written over the head */
  /* Making room alone does not resume logging. */
  w64(EVT_HEAD, 0);
  assert_int_equal(dma(SID, 0x21000, true, buf, 4), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(EVT_TAIL), 3 * 16);
  assert_true(amd_model_stats(m)->events_lost_overflow >= 2);
  /* The restart procedure: EventLogEn off, EventOverflow W1C, EventLogEn on. */
  w64(CONTROL, EN_ALL & ~BIT(2));
  w64(STATUS, ST_EVT_OVF | ST_EVT_INT);
  w64(CONTROL, EN_ALL);
  assert_int_equal(r64(STATUS) & (ST_EVT_OVF | ST_EVT_RUN), ST_EVT_RUN);
  assert_int_equal(dma(SID, 0x22000, true, buf, 4), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(EVT_TAIL), 4 * 16);
  assert_int_equal(evtq[7], 0x22000);
  /* Disabled logging drops events. */
  w64(CONTROL, EN_ALL & ~BIT(2));
  assert_int_equal(dma(SID, 0x23000, true, buf, 4), MODEL_DMA_BLOCKED);
  assert_int_equal(r64(EVT_TAIL), 4 * 16);
}

/* ---------------------------------------------------------------- command buffer */

static void command_buffer_completion_wait_and_illegal_commands(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  p.iasup = false;
  start(&p);
  uint64_t *sem, sem_phys = alloc_page(&sem), e[2];
  /* COMPLETION_WAIT (2.4.1): S stores 64 bits, I sets ComWaitInt. */
  cmd(1ull << 60 | sem_phys | 3, 0x1122334455667788ull);
  assert_int_equal(*sem, 0x1122334455667788ull);
  assert_int_equal(r64(CMD_HEAD), 16);
  assert_true(r64(STATUS) & ST_COMWAIT);
  w32(STATUS, (uint32_t)ST_COMWAIT);
  assert_false(r64(STATUS) & ST_COMWAIT);
  /* Opcode 0 is reserved: ILLEGAL_COMMAND_ERROR with the command's address, the buffer stops
   * with the head at it, CmdBufRun clear; the COMPLETION_WAIT behind it does not run. */
  cmd(0, 0);
  cmd(1ull << 60 | sem_phys | 1, 2);
  assert_int_equal(r64(CMD_HEAD), 16);
  assert_false(r64(STATUS) & ST_CMD_RUN);
  next_event(e);
  assert_int_equal(ev_code(e), 5);
  assert_int_equal(e[1], cmd_phys + 16);
  assert_int_equal(*sem, 0x1122334455667788ull);
  cmd(1ull << 60 | sem_phys | 1, 3);                         /* tail moves, nothing is fetched */
  assert_int_equal(r64(CMD_HEAD), 16);
  /* Restart: CmdBufEn off, head past the bad command, on. */
  w64(CONTROL, EN_ALL & ~BIT(12));
  w64(CMD_HEAD, 32);
  w64(CONTROL, EN_ALL);
  assert_int_equal(r64(CMD_HEAD), r64(CMD_TAIL));
  assert_int_equal(*sem, 3);
  /* Reserved bits (INVALIDATE_DEVTAB_ENTRY qword 1) and an unsupported command (no IASup). */
  cmd(2ull << 60 | SID, 1);
  next_event(e);
  assert_int_equal(ev_code(e), 5);
  w64(CONTROL, EN_ALL & ~BIT(12));
  w64(CMD_HEAD, cmd_tail);
  w64(CONTROL, EN_ALL);
  inv_all();
  next_event(e);
  assert_int_equal(ev_code(e), 5);
  assert_int_equal(amd_model_stats(m)->illegal_cmds, 3);
  /* A command buffer in no memory: COMMAND_HARDWARE_ERROR, stopped. */
  w64(CONTROL, EN_ALL & ~BIT(12));
  w64(CMDBUF, 0x1000 | 8ull << 56);
  w64(CONTROL, EN_ALL);
  w64(CMD_TAIL, 16);
  next_event(e);
  assert_int_equal(ev_code(e), 6);
  assert_int_equal(e[1], 0x1000);
  assert_false(r64(STATUS) & ST_CMD_RUN);
}

/* ---------------------------------------------------------------- caches */

static void iotlb_keeps_a_translation_until_invalidate_iommu_pages(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  start(&p);
  uint64_t *a, *b, a_phys = alloc_page(&a), b_phys = alloc_page(&b);
  const uint64_t iova = 0x200000;
  uint64_t *leaf = map3(iova, a_phys, NULL, NULL);
  uint8_t buf[8] = "first";
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "first", 5);
  *leaf = pte(b_phys, 0, true, true);                        /* remapped without invalidation */
  memcpy(buf, "stale", 6);
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "stale", 5);
  /* Not by the DTE invalidation, another domain, or another page. */
  inv_dte(SID);
  inv_pages(DOM + 1, iova, false);
  inv_pages(DOM, iova + 0x1000, false);
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "\0", 1);
  /* S=1, 2 MiB at 0x200000 (lowest clear bit 20): this one. */
  inv_pages(DOM, iova | 0xff000, true);
  memcpy(buf, "second", 7);
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(b, "second", 6);
  assert_true(amd_model_stats(m)->iotlb_hits >= 2);
  /* INVALIDATE_IOMMU_ALL (IASup) empties everything; the whole-domain encoding as well. */
  *leaf = pte(a_phys, 0, true, true);
  inv_all();
  memcpy(buf, "third", 6);
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK);
  assert_memory_equal(a, "third", 5);
  *leaf = 0;
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_OK); /* still cached */
  inv_pages(DOM, 0x7ffffffffffff000ull, true);
  assert_int_equal(dma(SID, iova, true, buf, 8), MODEL_DMA_BLOCKED);
  assert_int_equal(amd_model_iotlb_count(m), 0);
}

static void not_present_translations_cached_with_npcache(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  p.npcache = true;
  start(&p);
  uint64_t *a, a_phys = alloc_page(&a), *l2;
  uint64_t *leaf = map3(0x200000, a_phys, NULL, &l2);
  *leaf = 0;
  uint8_t buf[4] = "np";
  assert_int_equal(dma(SID, 0x200000, true, buf, 4), MODEL_DMA_BLOCKED);
  *leaf = pte(a_phys, 0, true, true);
  assert_int_equal(dma(SID, 0x200000, true, buf, 4), MODEL_DMA_BLOCKED); /* negative entry */
  assert_int_equal(amd_model_stats(m)->negative_hits, 1);
  inv_pages(DOM, 0x200000, false);
  assert_int_equal(dma(SID, 0x200000, true, buf, 4), MODEL_DMA_OK);
}

/* ---------------------------------------------------------------- Access / Dirty */

static void access_dirty_updates_with_had(void **state)
{
  (void)state;
  struct amd_model_params p = params();
  p.hasup = p.hdsup = true;
  start(&p);
  uint64_t *a, a_phys = alloc_page(&a), *l3, *l2, e[2];
  const uint64_t iova = 0x40201000;
  uint64_t *leaf = map3(iova, a_phys, &l3, &l2);
  uint64_t *pde3 = &l3[1], *pde2 = &l2[1];
  uint64_t root = devtab[SID * 4] & 0x000ffffffffff000ull;
  uint8_t buf[4] = "ad";
  /* HAD=01b: Access updates only. */
  set_dte(SID, dte_q0(root, 3, true, true, 1), DOM);
  assert_int_equal(dma(SID, iova, false, buf, 4), MODEL_DMA_OK);
  assert_true((*pde3 & BIT(5)) && (*pde2 & BIT(5)) && (*leaf & BIT(5)));
  assert_int_equal(dma(SID, iova, true, buf, 4), MODEL_DMA_OK);
  assert_false(*leaf & BIT(6));
  /* HAD=11b: a read sets A, not D; the write after it walks again and sets D in the leaf. */
  *pde3 &= ~BIT(5);
  *pde2 &= ~BIT(5);
  *leaf &= ~BIT(5);
  set_dte(SID, dte_q0(root, 3, true, true, 3), DOM);
  inv_dte(SID);
  inv_pages(DOM, 0x7ffffffffffff000ull, true);
  assert_int_equal(dma(SID, iova, false, buf, 4), MODEL_DMA_OK);
  assert_true((*pde3 & BIT(5)) && (*leaf & BIT(5)));
  assert_false(*leaf & BIT(6));
  unsigned long misses = amd_model_stats(m)->iotlb_misses;
  assert_int_equal(dma(SID, iova, true, buf, 4), MODEL_DMA_OK);
  assert_int_equal(amd_model_stats(m)->iotlb_misses, misses + 1);
  assert_true(*leaf & BIT(6));
  assert_false((*pde3 & BIT(6)) || (*pde2 & BIT(6)));        /* D only in the leaf */
  misses = amd_model_stats(m)->iotlb_misses;
  assert_int_equal(dma(SID, iova, true, buf, 4), MODEL_DMA_OK); /* dirty translation cached */
  assert_int_equal(amd_model_stats(m)->iotlb_misses, misses);
  /* No update on a refused access. */
  *leaf = pte(a_phys, 0, true, false);
  inv_pages(DOM, iova, false);
  assert_int_equal(dma(SID, iova, true, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_false(*leaf & (BIT(5) | BIT(6)));
  teardown(NULL);

  /* Without HASup a DTE asking for updates is illegal; without HDSup HAD=11b is. */
  p = params();
  p.hasup = true;
  start(&p);
  a_phys = alloc_page(&a);
  leaf = map3(iova, a_phys, &l3, NULL);
  root = devtab[SID * 4] & 0x000ffffffffff000ull;
  set_dte(SID, dte_q0(root, 3, true, true, 3), DOM);
  assert_int_equal(dma(SID, iova, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_true(ev_flag(e, 55));
  assert_false(l3[1] & BIT(5));
  teardown(NULL);
  p = params();
  start(&p);
  a_phys = alloc_page(&a);
  leaf = map3(iova, a_phys, &l3, NULL);
  root = devtab[SID * 4] & 0x000ffffffffff000ull;
  set_dte(SID, dte_q0(root, 3, true, true, 1), DOM);
  assert_int_equal(dma(SID, iova, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
}

/* ---------------------------------------------------------------- whole platform */

static unsigned long amd_hits(struct host_system *sys)
{
  (void)sys;
  struct amd_model *am = amd_model_at(0xfed80000ull);
  assert_non_null(am);
  return amd_model_stats(am)->iotlb_hits;
}

static void expect_stale(const char *spec, const char *glob, const char *evidence)
{
  model_expect_stale(spec, glob, evidence, amd_hits);
}

static void missing_invalidate_iommu_pages_leaves_stale_translation(void **state)
{
  (void)state;
  /* unmap() leaves the invalidation to flush(); map() issues its own (for NpCache units), so
   * dma.remap cannot be made stale by dropping flush() alone. */
  expect_stale("amd-v1", "dma.unmap.stale", "NOT blocked (stale IOTLB)");
  expect_stale("amd-noia", "dma.unmap.stale", "NOT blocked (stale IOTLB)");
}

static void ivrs_and_iommu_function_as_discovered(void **state)
{
  (void)state;
  struct host_system sys;
  char err[200];
  assert_int_equal(host_system_create("amd-v1,rootport=1", &sys, err, sizeof(err)), 0);
  FILE *saved = stdout;
  char *out = NULL;
  size_t out_len = 0;
  stdout = open_memstream(&out, &out_len);
  assert_int_equal(host_system_discover(&sys), 0);
  fclose(stdout);
  stdout = saved;
  free(out);
  const struct platform *pl = sys.plat;
  /* IVHD 10h and 40h describe the same unit; only the 40h one becomes a unit. */
  assert_int_equal(pl->ivrs.n_ivhd, 2);
  assert_int_equal(pl->ivrs.ivhd[0].type, 0x10);
  assert_int_equal(pl->ivrs.ivhd[1].type, 0x40);
  assert_int_equal(pl->n_iommus, 1);
  const struct ivrs_ivhd *h = &pl->ivrs.ivhd[1];
  assert_int_equal(h->base, 0xfed80000ull);
  assert_int_equal(h->efr_image, 0x840);
  assert_int_equal(h->iommu_devid, 0x0020);
  assert_int_equal(h->cap_offset, 0x40);
  /* Device entries: the engine behind the root port through a range 0100h-01FFh. */
  bool range = false;
  for (unsigned i = 0; i < h->n_dev; i++)
    range = range || (h->dev[i].first == 0x0100 && h->dev[i].last == 0x01ff);
  assert_true(range);
  /* The IOMMU's PCI function: class 08h/06h, capability 0Fh type 3 with the base, enabled. */
  const struct pci_cfg_ops *cfg = &pl->cfg;
  assert_int_equal(cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x08) >> 8, 0x080600);
  uint32_t hdr = cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x40);
  assert_int_equal(hdr & 0xff, 0x0f);
  assert_int_equal((hdr >> 16) & 7, 3);
  assert_true(hdr & BIT(27));                                /* EFRSup */
  assert_int_equal(cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x44), 0xfed80001u);
  assert_int_equal(cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x48), 0);
  cfg->write32(cfg->ctx, 0, 0, 4, 0, 0x44, 0);               /* read-only */
  assert_int_equal(cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x44), 0xfed80001u);
  host_system_destroy(&sys);
}

/* ---------------------------------------------------------------- guest (v2) translation */

#define PASID 0x21u
#define CTRL_GT_EN BIT(16)                  /* Control.GTEn (3.4.4) */
#define GPA_DATA 0x80000000ull              /* guest-physical addresses no memory decodes */
#define GPA_TABLES 0xc0000000ull
#define ENG_BAR 0xfe000000ull
#define TAG(p) (ME_PASID_TAGGED | (p))
/* AMD64 long-mode entries (this file's encoder): P, R/W, U/S, A, D, PS */
#define G_P BIT(0)
#define G_RW BIT(1)
#define G_US BIT(2)
#define G_A BIT(5)
#define G_D BIT(6)
#define G_PS BIT(7)
#define G_RWX (G_P | G_RW | G_US)

/* EFR.GTSup with 16-bit PASIDs, 2-level GCR3 tables, 5-level guest tables, GIoSup, USSup. */
static struct amd_model_params params_gt(void)
{
  struct amd_model_params p = params();
  p.gtsup = true;
  p.pasmax = 15;
  p.glxsup = 1;
  p.gats = 1;
  p.giosup = true;
  p.ussup = true;
  return p;
}

static void start_gt(const struct amd_model_params *p)
{
  start(p);
  w64(CONTROL, EN_ALL | CTRL_GT_EN);
}

static enum model_dma_result bus_dma(void *ctx, const struct model_dma_req *req, void *data)
{
  return amd_model_dma(ctx, req, data);
}

/* The model DMA engine at 00:02.0 (requester ID SID) behind the unit, Memory Space, Bus
 * Master, PASID Enable and Privileged Mode Enable set. */
static void engine_start(void)
{
  struct dma_engine_params ep = { .bus = 0, .dev = 2, .fn = 0, .bar = ENG_BAR, .buf_size = 8192,
                                  .max_len = 8192, .pasid_width = 20, .pasid_priv = true };
  struct model_bus up = { bus_dma, m };
  eng = dma_engine_create(&ep, up);
  assert_non_null(eng);
  assert_int_equal(dma_engine_rid(eng), SID);
  assert_int_equal(dma_engine_register(eng), 0);
  struct model_pci_fn *fn = dma_engine_pci(eng);
  model_pci_wr_raw(fn, 0x04, 2, 0x6);
  uint16_t cap = 0x100;
  while (cap && (model_pci_rd(fn, cap, 4) & 0xffff) != 0x1b)
    cap = (uint16_t)(model_pci_rd(fn, cap, 4) >> 20);
  assert_true(cap != 0);
  model_pci_wr_raw(fn, (uint16_t)(cap + 6), 2, 0x5);
}

/* One engine transfer between its buffer and iova; tag 0 = untagged. The engine's status. */
static uint32_t eng_run(uint32_t tag, uint64_t iova, uint32_t len, bool to_mem)
{
  mmio_write32(ENG_BAR + ME_REG_IOVA, (uint32_t)iova);
  mmio_write32(ENG_BAR + ME_REG_IOVA + 4, (uint32_t)(iova >> 32));
  mmio_write32(ENG_BAR + ME_REG_BUF_OFF, 0);
  mmio_write32(ENG_BAR + ME_REG_LEN, len);
  mmio_write32(ENG_BAR + ME_REG_PASID, tag);
  mmio_write32(ENG_BAR + ME_REG_CMD, ME_CMD_GO | (to_mem ? ME_CMD_TO_MEM : 0));
  return mmio_read32(ENG_BAR + ME_REG_STATUS);
}

static uint32_t eng_write(uint32_t tag, uint64_t iova, const char *str)
{
  memcpy(dma_engine_buffer(eng), str, strlen(str) + 1);
  return eng_run(tag, iova, (uint32_t)strlen(str) + 1, true);
}

static enum model_dma_result pdma(uint32_t pasid, bool priv, uint64_t addr, bool write, void *buf,
                                  uint32_t len)
{
  struct model_dma_req req = { .sid = SID, .has_pasid = true, .pasid = pasid, .priv = priv, .addr = addr,
                               .len = len, .write = write };
  return amd_model_dma(m, &req, buf);
}

/* A user-level PASID-tagged write of str (with its NUL). */
static enum model_dma_result pstr(uint32_t pasid, uint64_t addr, const char *str)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%s", str);
  return pdma(pasid, false, addr, true, buf, (uint32_t)strlen(buf) + 1);
}

/* DTE guest fields (2.2.2.1): GV (55), GLX [57:56], GIoV (54), GCR3 table root pointer [14:12]
 * -> qword 0 [60:58], [30:15] -> qword 1 [31:16], [51:31] -> qword 1 [63:43]. */
static void dte_gcr3(uint16_t sid, uint64_t gcr3, unsigned glx, bool giov)
{
  devtab[sid * 4] |= BIT(55) | (uint64_t)glx << 56 | (giov ? BIT(54) : 0) | ((gcr3 >> 12) & 7) << 58;
  devtab[sid * 4 + 1] |= ((gcr3 >> 15) & 0xffff) << 16 | ((gcr3 >> 31) & 0x1fffff) << 43;
}

/* INVALIDATE_IOMMU_PAGES (2.4.3) with GN=1: PASID [19:0]. */
static void inv_pages_gn(uint16_t dom, uint32_t pasid, uint64_t addr, bool s)
{
  cmd(3ull << 60 | (uint64_t)dom << 32 | pasid, addr | (s ? 1 : 0) | BIT(2));
}

/* A 3-level host (v1) table at h_root mapping 4 KiB GPAs, for the nested tests. */
static uint64_t *h_root, h_root_phys;
static unsigned n_gtables;

static void hmap(uint64_t gpa, uint64_t spa, bool iw)
{
  uint64_t *t = h_root;
  for (unsigned l = 3; l > 1; l--) {
    uint64_t *e = &t[(gpa >> (12 + 9 * (l - 1))) & 0x1ff];
    if (!(*e & BIT(0))) {
      uint64_t *n;
      *e = pte(alloc_page(&n), l - 1, true, true);
    }
    t = phys_to_virt(*e & 0x000ffffffffff000ull);
  }
  t[(gpa >> 12) & 0x1ff] = pte(spa, 0, true, iw);
}

/* A 4-level guest table mapping the 4 KiB page at gva with the leaf entry leaf; directory
 * entries P, R/W, U/S (A clear). nested: the tables are named by GPAs in GPA_TABLES, which the
 * host table maps (writable or not); else by their SPAs. The entries used (PML4E .. PTE) go
 * to ent; returns the guest CR3. */
static uint64_t gtables(uint64_t gva, uint64_t leaf, bool nested, bool writable, uint64_t *ent[4])
{
  uint64_t *t[4], ref[4];
  for (unsigned i = 0; i < 4; i++) {
    uint64_t spa = alloc_page(&t[i]);
    ref[i] = nested ? GPA_TABLES + 0x1000ull * n_gtables++ : spa;
    if (nested)
      hmap(ref[i], spa, writable);
  }
  for (unsigned i = 0; i < 3; i++) {
    ent[i] = &t[i][(gva >> (39 - 9 * i)) & 0x1ff];
    *ent[i] = ref[i + 1] | G_RWX;
  }
  ent[3] = &t[3][(gva >> 12) & 0x1ff];
  *ent[3] = leaf;
  return ref[0];
}

static void guest_translation_of_engine_dma_mode0_and_nested(void **state)
{
  (void)state;
  struct amd_model_params p = params_gt();
  start_gt(&p);
  engine_start();
  uint64_t *a, *b, *gcr3, e[2], dte[4];
  uint64_t a_phys = alloc_page(&a), b_phys = alloc_page(&b), gcr3_phys = alloc_page(&gcr3);
  /* The guest table, the GCR3 table and the DTE as firmware programs them (the driver's
   * encoders, the engine's x86-64 format); Mode 0: the guest table's addresses are SPAs. */
  struct pt_cfg v2cfg = { .fmt = &pt_fmt_x86_64, .levels = 4, .ias = 47 };
  assert_int_equal(pt_init(&v2, &v2cfg), IOMMU_OK);
  assert_int_equal(pt_map_range(&v2, 0x400000, a_phys, 4096, IOMMU_PROT_READ | IOMMU_PROT_WRITE), IOMMU_OK);
  assert_int_equal(amd_gcr3_set(gcr3, PASID, v2.root_phys), IOMMU_OK);
  amd_dte_passthrough(dte, DOM, 0);
  amd_dte_set_gcr3(dte, gcr3_phys, 0, false);
  memcpy(&devtab[SID * 4], dte, sizeof(dte));
  assert_int_equal(eng_write(TAG(PASID), 0x400010, "pasid 0x21"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal((uint8_t *)a + 0x10, "pasid 0x21", 11);
  assert_int_equal(amd_model_stats(m)->guest_walks, 1);
  memset(dma_engine_buffer(eng), 0, 16);
  assert_int_equal(eng_run(TAG(PASID) | ME_PASID_PRIV, 0x400010, 11, false), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(dma_engine_buffer(eng), "pasid 0x21", 11);
  assert_int_equal(amd_model_stats(m)->guest_translated, 2);
  assert_int_equal(amd_model_stats(m)->guest_walks, 1);      /* the second one from the IOTLB */
  no_event();
  /* A PASID without a GCR3 entry: IO_PAGE_FAULT GN=1 with that PASID, PR=0, the GVA. */
  assert_int_equal(eng_write(TAG(PASID + 1), 0x400010, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_true(ev_flag(e, 48) && !ev_flag(e, 52));
  assert_int_equal((e[0] >> 32) & 0xffff, PASID + 1);
  assert_int_equal(e[1], 0x400010);
  /* Untagged on this entry (GV=1, GIoV=0, Mode 0): the address is used as is. */
  assert_int_equal(eng_write(0, a_phys + 0x100, "untagged"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal((uint8_t *)a + 0x100, "untagged", 9);

  /* Nested: a v1 host table maps the arena GPA = SPA (one 1 GiB leaf, so the guest table's
   * pointers keep working) and GPA_DATA, which no memory decodes, to b. */
  uint64_t *h3, *h2, *h1;
  uint64_t h3p = alloc_page(&h3), h2p = alloc_page(&h2), h1p = alloc_page(&h1);
  h3[host_mem_base() >> 30] = pte(host_mem_base() & ~((1ull << 30) - 1), 0, true, true);
  h3[GPA_DATA >> 30] = pte(h2p, 2, true, true);
  h2[0] = pte(h1p, 1, true, true);
  h1[0] = pte(b_phys, 0, true, true);
  assert_int_equal(pt_map_range(&v2, 0x600000, GPA_DATA, 4096, IOMMU_PROT_READ | IOMMU_PROT_WRITE), IOMMU_OK);
  assert_int_equal(pt_map_range(&v2, 0x800000, GPA_DATA + 0x200000, 4096, IOMMU_PROT_READ | IOMMU_PROT_WRITE),
                   IOMMU_OK);
  amd_dte_translate(dte, h3p, 3, DOM, 0);
  amd_dte_set_gcr3(dte, gcr3_phys, 0, false);
  memcpy(&devtab[SID * 4], dte, sizeof(dte));
  inv_dte(SID);
  assert_int_equal(eng_write(TAG(PASID), 0x600020, "nested"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal((uint8_t *)b + 0x20, "nested", 7);
  no_event();
  /* A GPA the host table does not map: a host-level fault, GN=0 with the DomainID and the
   * GPA. */
  assert_int_equal(eng_write(TAG(PASID), 0x800000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_false(ev_flag(e, 48) || ev_flag(e, 52));
  assert_true(ev_flag(e, 53));
  assert_int_equal((e[0] >> 32) & 0xffff, DOM);
  assert_int_equal(e[1], GPA_DATA + 0x200000);
  /* Untagged without GIoV: a GPA, through the host table alone. */
  assert_int_equal(eng_write(0, GPA_DATA + 0x40, "gpa"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal((uint8_t *)b + 0x40, "gpa", 4);
  /* GIoV: untagged requests use PASID 0's guest table. */
  assert_int_equal(amd_gcr3_set(gcr3, 0, v2.root_phys), IOMMU_OK);
  amd_dte_set_gcr3(dte, gcr3_phys, 0, true);
  memcpy(&devtab[SID * 4], dte, sizeof(dte));
  inv_dte(SID);
  assert_int_equal(eng_write(0, 0x600060, "giov"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal((uint8_t *)b + 0x60, "giov", 5);
  assert_int_equal(amd_model_stats(m)->guest_translated, 4);
  no_event();
}

static void guest_faults_report_gn_and_pasid(void **state)
{
  (void)state;
  struct amd_model_params p = params_gt();
  p.pasmax = 19;                                             /* 20-bit PASIDs */
  start_gt(&p);
  const uint32_t pasid = 0x20145;                            /* GCR3 level 1 index 100h, level 0 145h */
  uint64_t *a, *g1, *g0, *ent[4], e[2];
  uint64_t a_phys = alloc_page(&a), g1p = alloc_page(&g1), g0p = alloc_page(&g0);
  uint64_t cr3 = gtables(0x400000, a_phys | G_RWX | G_A | G_D, false, true, ent);
  g1[(pasid >> 9) & 0x1ff] = g0p | 1;
  g0[pasid & 0x1ff] = cr3 | 1;
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);     /* Mode 0 */
  dte_gcr3(SID, g1p, 1, false);                              /* 2-level GCR3 table */
  uint8_t buf[8] = "guest";
  assert_int_equal(pdma(pasid, false, 0x400008, true, buf, 6), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 8, "guest", 6);
  /* Not present (the PTE of the next page): IO_PAGE_FAULT (2.5.3) with GN, PASID[19:16] in
   * [19:16], PASID[15:0] in [47:32], US for a user-level request, RW, the GVA. */
  assert_int_equal(pdma(pasid, false, 0x401000, true, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 2);
  assert_int_equal(e[0] & 0xffff, SID);
  assert_int_equal((e[0] >> 16) & 0xf, 2);
  assert_int_equal((e[0] >> 32) & 0xffff, 0x0145);
  assert_true(ev_flag(e, 48) && ev_flag(e, 50) && ev_flag(e, 53));
  assert_false(ev_flag(e, 52) || ev_flag(e, 54) || ev_flag(e, 55));
  assert_int_equal(e[1], 0x401000);
  assert_int_equal(pdma(pasid, true, 0x401000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_false(ev_flag(e, 50) || ev_flag(e, 53));            /* supervisor, read */
  /* No valid GCR3 entry for the PASID next to it, and no entry at all for a PASID beyond the
   * 2-level table's 18 bits (PASmax allows 20): GN=1, PR=0. */
  assert_int_equal(pdma(pasid + 1, false, 0x400000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && !ev_flag(e, 52));
  assert_int_equal((e[0] >> 32) & 0xffff, 0x0146);
  assert_int_equal(pdma(0x40000, false, 0x400000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && !ev_flag(e, 52));
  assert_int_equal((e[0] >> 16) & 0xf, 4);
  /* U/S=0 in the leaf: a user-level request is a permission fault, a privileged one passes. */
  *ent[3] &= ~G_US;
  inv_pages_gn(DOM, pasid, 0x400000, false);
  assert_int_equal(pdma(pasid, false, 0x400000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && ev_flag(e, 50) && ev_flag(e, 52) && ev_flag(e, 54));
  assert_int_equal(pdma(pasid, true, 0x400000, false, buf, 4), MODEL_DMA_OK);
  /* R/W=0 in a directory entry: no write, privileged or not. */
  *ent[3] |= G_US;
  *ent[1] &= ~G_RW;
  inv_pages_gn(DOM, pasid, 0x400000, false);
  assert_int_equal(pdma(pasid, true, 0x400000, true, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && ev_flag(e, 54) && ev_flag(e, 53));
  assert_int_equal(pdma(pasid, false, 0x400000, false, buf, 4), MODEL_DMA_OK);
  /* PS in a PML4E is a must-be-zero bit: PR=1, RZ=1. */
  *ent[1] |= G_RW;
  *ent[0] |= G_PS;
  inv_pages_gn(DOM, pasid, 0x7ffffffffffff000ull, true);
  assert_int_equal(pdma(pasid, false, 0x400000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && ev_flag(e, 52) && ev_flag(e, 55));
  *ent[0] &= ~G_PS;
  /* A 2 MiB page (PS in the PDE); bit 13 of it is must-be-zero. */
  uint64_t *big;
  uint64_t big_phys = alloc_pages(1024, &big), big_spa = (big_phys + (2ull << 20) - 1) & ~((2ull << 20) - 1);
  uint64_t *pde = ent[2];
  uint64_t pt = *pde;
  *pde = big_spa | G_RWX | G_PS | G_A | G_D;
  inv_pages_gn(DOM, pasid, 0x400000, false);
  assert_int_equal(pstr(pasid, 0x412345, "guest"), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)big + (big_spa - big_phys) + 0x12345, "guest", 6);
  *pde |= BIT(13);
  inv_pages_gn(DOM, pasid, 0x4ff000, true);                  /* S=1: the 2 MiB at 0x400000 */
  assert_int_equal(pdma(pasid, false, 0x412345, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 52) && ev_flag(e, 55));
  *pde = pt;
  /* A non-canonical GVA (bit 47 set, 63:48 clear): not present. */
  assert_int_equal(pdma(pasid, false, 1ull << 47, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && !ev_flag(e, 52));
  /* GuestPagingMode 01b (GATS 1): 5 levels; PML5 entries 0 and 1 both lead to the PML4, so a
   * GVA with bit 48 set, non-canonical for 4 levels, now translates. */
  uint64_t *pml5, pml5p = alloc_page(&pml5);
  pml5[0] = pml5[1] = cr3 | G_RWX | G_A;
  g0[pasid & 0x1ff] = pml5p | 1;
  devtab[SID * 4 + 2] |= 1ull << 54;
  inv_dte(SID);
  inv_pages_gn(DOM, pasid, 0x7ffffffffffff000ull, true);
  assert_int_equal(pstr(pasid, (1ull << 48) | 0x400010, "guest"), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 0x10, "guest", 6);
  no_event();
}

static void guest_access_dirty_bits_nested(void **state)
{
  (void)state;
  struct amd_model_params p = params_gt();
  start_gt(&p);
  h_root_phys = alloc_page(&h_root);
  n_gtables = 0;
  uint64_t *d, *d2, *gcr3, *ent[4], e[2];
  uint64_t d_phys = alloc_page(&d), d2_phys = alloc_page(&d2), gcr3p = alloc_page(&gcr3);
  hmap(GPA_DATA, d_phys, true);
  /* The guest tables live at GPAs the host table maps: every guest table read is nested. */
  uint64_t cr3 = gtables(0x7000, GPA_DATA | G_RWX, true, true, ent);
  gcr3[PASID] = cr3 | 1;
  set_dte(SID, dte_q0(h_root_phys, 3, true, true, 0), DOM);
  dte_gcr3(SID, gcr3p, 0, false);
  d[2] = 0x1122334455667788ull;
  uint64_t v = 0;
  assert_int_equal(pdma(PASID, false, 0x7010, false, &v, 8), MODEL_DMA_OK);
  assert_int_equal(v, 0x1122334455667788ull);
  /* A read sets A in every guest entry it used, D nowhere. */
  for (unsigned i = 0; i < 4; i++)
    assert_true((*ent[i] & G_A) && !(*ent[i] & G_D));
  assert_int_equal(amd_model_stats(m)->guest_ad_updates, 4);
  /* A write walks again (the cached translation is not dirty) and sets D in the leaf only. */
  unsigned long misses = amd_model_stats(m)->iotlb_misses;
  assert_int_equal(pdma(PASID, false, 0x7018, true, &v, 8), MODEL_DMA_OK);
  assert_int_equal(d[3], 0x1122334455667788ull);
  assert_true(*ent[3] & G_D);
  for (unsigned i = 0; i < 3; i++)
    assert_false(*ent[i] & G_D);
  assert_int_equal(amd_model_stats(m)->guest_ad_updates, 5);
  misses = amd_model_stats(m)->iotlb_misses - misses;
  assert_true(misses >= 1);
  misses = amd_model_stats(m)->iotlb_misses;
  assert_int_equal(pdma(PASID, false, 0x7020, true, &v, 8), MODEL_DMA_OK); /* dirty: cached */
  assert_int_equal(amd_model_stats(m)->iotlb_misses, misses);
  /* No update on a refused access: a read-only leaf written. */
  uint64_t *ro[4];
  uint64_t cr3b = gtables(0x9000, GPA_DATA | G_P | G_US, true, true, ro);
  gcr3[PASID + 1] = cr3b | 1;
  assert_int_equal(pdma(PASID + 1, false, 0x9000, true, &v, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_true(ev_flag(e, 48) && ev_flag(e, 54));
  for (unsigned i = 0; i < 4; i++)
    assert_false(*ro[i] & G_A);
  /* Guest tables the host table maps read-only: the walk reads them, but setting A is a write
   * to guest memory: a host-level fault (GN=0, RW=1) at the GPA of the first entry. */
  uint64_t *rt[4];
  uint64_t cr3c = gtables(0xb000, GPA_DATA | G_RWX, true, false, rt);
  gcr3[PASID + 2] = cr3c | 1;
  assert_int_equal(pdma(PASID + 2, false, 0xb000, false, &v, 8), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_false(ev_flag(e, 48));
  assert_true(ev_flag(e, 52) && ev_flag(e, 53) && ev_flag(e, 54));
  assert_int_equal((e[0] >> 32) & 0xffff, DOM);
  assert_int_equal(e[1], cr3c);
  assert_false(*rt[0] & G_A);
  /* INVALIDATE_IOMMU_PAGES with GN=0 for a GPA takes the nested guest translations made from
   * it along (model choice): remap GPA_DATA in the host table, flush that GPA only. */
  hmap(GPA_DATA, d2_phys, true);
  assert_int_equal(pdma(PASID, false, 0x7010, false, &v, 8), MODEL_DMA_OK);
  assert_int_equal(v, 0x1122334455667788ull);                /* stale: d */
  inv_pages(DOM, GPA_DATA, false);
  assert_int_equal(pdma(PASID, false, 0x7010, false, &v, 8), MODEL_DMA_OK);
  assert_int_equal(v, 0);                                    /* d2 */
}

static void stale_guest_translation_until_invalidate_pages_gn(void **state)
{
  (void)state;
  struct amd_model_params p = params_gt();
  start_gt(&p);
  uint64_t *a, *b, *gcr3, *ent[4];
  uint64_t a_phys = alloc_page(&a), b_phys = alloc_page(&b), gcr3p = alloc_page(&gcr3);
  uint64_t cr3 = gtables(0x400000, a_phys | G_RWX | G_A | G_D, false, true, ent);
  gcr3[PASID] = gcr3[PASID + 1] = cr3 | 1;                   /* two PASIDs, one table */
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);
  dte_gcr3(SID, gcr3p, 0, false);
  assert_int_equal(pstr(PASID, 0x400000, "first"), MODEL_DMA_OK);
  assert_int_equal(pstr(PASID + 1, 0x400100, "other"), MODEL_DMA_OK);
  assert_memory_equal(a, "first", 6);
  *ent[3] = b_phys | G_RWX | G_A | G_D;                      /* remapped without invalidation */
  assert_int_equal(pstr(PASID, 0x400000, "stale"), MODEL_DMA_OK);
  assert_memory_equal(a, "stale", 6);
  /* Not by INVALIDATE_DEVTAB_ENTRY, the domain's GN=0 invalidation (no nesting: no GPA behind
   * it), GN=1 for another domain, another PASID or another page. */
  inv_dte(SID);
  inv_pages(DOM, 0x7ffffffffffff000ull, true);
  inv_pages_gn(DOM + 1, PASID, 0x400000, false);
  inv_pages_gn(DOM, PASID + 2, 0x400000, false);
  inv_pages_gn(DOM, PASID, 0x401000, false);
  assert_int_equal(pstr(PASID, 0x400000, "stale2"), MODEL_DMA_OK);
  assert_memory_equal(a, "stale2", 7);
  assert_int_equal(b[0], 0);
  /* GN=1 with this domain, PASID and page: gone. */
  inv_pages_gn(DOM, PASID, 0x400000, false);
  assert_int_equal(pstr(PASID, 0x400000, "second"), MODEL_DMA_OK);
  assert_memory_equal(b, "second", 7);
  /* The other PASID's translation was not touched... */
  assert_int_equal(pstr(PASID + 1, 0x400100, "other2"), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)a + 0x100, "other2", 7);
  /* ... until INVALIDATE_IOMMU_ALL. */
  inv_all();
  assert_int_equal(pstr(PASID + 1, 0x400100, "other3"), MODEL_DMA_OK);
  assert_memory_equal((uint8_t *)b + 0x100, "other3", 7);
  assert_int_equal(amd_model_stats(m)->cmd_inv_pages_guest, 4);
  assert_int_equal(amd_model_stats(m)->illegal_cmds, 0);
}

static void pasid_beyond_pasmax_and_guest_dte_fields(void **state)
{
  (void)state;
  uint64_t e[2];
  uint8_t buf[4] = "gv";
  /* No GTSup (amd-v1): EFR advertises no guest translation, a PASID prefix is refused before
   * the IOMMU (no event), GV=1 is a reserved bit (RZ=1). */
  struct amd_model_params p = params();
  start(&p);
  assert_int_equal(r64(EFR), 0x840);
  engine_start();
  assert_int_equal(eng_write(TAG(1), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  no_event();
  assert_int_equal(amd_model_stats(m)->pasid_refused, 1);
  set_dte(SID, BIT(0) | BIT(1) | BIT(55), DOM);
  assert_int_equal(dma(SID, 0x1000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_true(ev_flag(e, 55));
  teardown(NULL);

  /* GTSup, PASmax 15, GLXSup 1, GATS 0, no GIoSup. */
  p = params_gt();
  p.gats = 0;
  p.giosup = false;
  start(&p);
  uint64_t efr = r64(EFR);
  assert_int_equal((efr >> 4) & 1, 1);                       /* GTSup */
  assert_int_equal((efr >> 12) & 3, 0);                      /* GATS */
  assert_int_equal((efr >> 14) & 3, 1);                      /* GLXSup */
  assert_int_equal((efr >> 32) & 0x1f, 15);                  /* PASmax */
  assert_int_equal((efr >> 37) & 1, 1);                      /* USSup */
  assert_int_equal((efr >> 48) & 1, 0);                      /* GIoSup */
  engine_start();
  uint64_t *gcr3, gcr3p = alloc_page(&gcr3);
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);
  dte_gcr3(SID, gcr3p, 1, false);
  /* Control.GTEn=0: no guest translation, the PASID-tagged request is refused (GN=1, PR=0). */
  assert_int_equal(eng_write(TAG(1), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_true(ev_code(e) == 2 && ev_flag(e, 48) && !ev_flag(e, 52));
  w64(CONTROL, EN_ALL | CTRL_GT_EN);
  /* PASID 10000h > 2^(PASmax+1) - 1: refused, IO_PAGE_FAULT GN=1 PR=0 with that PASID. */
  assert_int_equal(eng_write(TAG(0x10000), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_true(ev_code(e) == 2 && ev_flag(e, 48) && !ev_flag(e, 52));
  assert_int_equal((e[0] >> 16) & 0xf, 1);
  assert_int_equal((e[0] >> 32) & 0xffff, 0);
  assert_int_equal(amd_model_stats(m)->pasid_refused, 1);
  /* PASID FFFFh is within PASmax: it reaches the (empty) GCR3 table. */
  assert_int_equal(eng_write(TAG(0xffff), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_int_equal((e[0] >> 32) & 0xffff, 0xffff);
  assert_int_equal(amd_model_stats(m)->pasid_refused, 1);
  assert_int_equal(amd_model_stats(m)->guest_walks, 1);
  /* GLX 2 beyond GLXSup 1, GuestPagingMode 01b beyond GATS 0 and 10b: invalid level encodings
   * (ILLEGAL_DEV_TABLE_ENTRY RZ=0, GN=1 and the PASID of the request); GIoV without GIoSup: a
   * reserved bit (RZ=1). */
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);
  dte_gcr3(SID, gcr3p, 2, false);
  inv_dte(SID);
  assert_int_equal(eng_write(TAG(7), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_true(ev_flag(e, 48) && !ev_flag(e, 55));
  assert_int_equal((e[0] >> 32) & 0xffff, 7);
  static const uint64_t q2[] = { 1ull << 54, 2ull << 54 };
  for (unsigned i = 0; i < 2; i++) {
    set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);
    dte_gcr3(SID, gcr3p, 0, false);
    devtab[SID * 4 + 2] = q2[i];
    assert_int_equal(dma(SID, 0x1000, false, buf, 4), MODEL_DMA_BLOCKED);
    next_event(e);
    assert_int_equal(ev_code(e), 1);
    assert_false(ev_flag(e, 55) || ev_flag(e, 48));
  }
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62), DOM);
  dte_gcr3(SID, gcr3p, 0, true);
  assert_int_equal(dma(SID, 0x1000, false, buf, 4), MODEL_DMA_BLOCKED);
  next_event(e);
  assert_int_equal(ev_code(e), 1);
  assert_true(ev_flag(e, 55));
  /* The guest fields of a GV=0 entry are not looked at; a PASID-tagged request on it is
   * refused (GN=1, PR=0), an untagged one translated as before. */
  set_dte(SID, BIT(0) | BIT(1) | BIT(61) | BIT(62) | 3ull << 56, DOM);
  assert_int_equal(eng_write(TAG(7), 0x1000, "x"), MODEL_ENGINE_ST_BLOCKED);
  next_event(e);
  assert_true(ev_code(e) == 2 && ev_flag(e, 48) && !ev_flag(e, 52));
  uint64_t *a, a_phys = alloc_page(&a);
  assert_int_equal(eng_write(0, a_phys, "gv0"), MODEL_ENGINE_ST_DONE);
  assert_memory_equal(a, "gv0", 4);
}

static void gt_unit_as_discovered(void **state)
{
  (void)state;
  struct host_system sys;
  char err[200];
  assert_int_equal(host_system_create("amd-gt", &sys, err, sizeof(err)), 0);
  FILE *saved = stdout;
  char *out = NULL;
  size_t out_len = 0;
  stdout = open_memstream(&out, &out_len);
  assert_int_equal(host_system_discover(&sys), 0);
  fclose(stdout);
  stdout = saved;
  free(out);
  const struct platform *pl = sys.plat;
  assert_int_equal(pl->n_iommus, 1);
  /* The EFR image and the register advertise GTSup, PASmax 15, GLXSup 1, GATS 1, USSup,
   * GIoSup; the driver takes 16-bit PASIDs from it. */
  const uint64_t efr = 0x0001002f00005850ull;
  assert_int_equal(pl->ivrs.ivhd[1].efr_image, efr);
  assert_int_equal(mmio_read64(0xfed80000ull + EFR), efr);
  assert_int_equal(pl->iommus[0].pasid_bits, 16);
  /* Misc Information 0 (3.2.1): GVASize [7:5] 010b. */
  const struct pci_cfg_ops *cfg = &pl->cfg;
  assert_int_equal((cfg->read32(cfg->ctx, 0, 0, 4, 0, 0x50) >> 5) & 7, 2);
  host_system_destroy(&sys);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(register_reset_values_and_access_types, teardown),
    cmocka_unit_test_teardown(v1_walk_levels_sizes_permissions, teardown),
    cmocka_unit_test_teardown(device_table_entry_states, teardown),
    cmocka_unit_test_teardown(exclusion_range, teardown),
    cmocka_unit_test_teardown(event_log_overflow_stops_logging_until_restarted, teardown),
    cmocka_unit_test_teardown(command_buffer_completion_wait_and_illegal_commands, teardown),
    cmocka_unit_test_teardown(iotlb_keeps_a_translation_until_invalidate_iommu_pages, teardown),
    cmocka_unit_test_teardown(not_present_translations_cached_with_npcache, teardown),
    cmocka_unit_test_teardown(access_dirty_updates_with_had, teardown),
    cmocka_unit_test(missing_invalidate_iommu_pages_leaves_stale_translation),
    cmocka_unit_test(ivrs_and_iommu_function_as_discovered),
    cmocka_unit_test_teardown(guest_translation_of_engine_dma_mode0_and_nested, teardown),
    cmocka_unit_test_teardown(guest_faults_report_gn_and_pasid, teardown),
    cmocka_unit_test_teardown(guest_access_dirty_bits_nested, teardown),
    cmocka_unit_test_teardown(stale_guest_translation_until_invalidate_pages_gn, teardown),
    cmocka_unit_test_teardown(pasid_beyond_pasmax_and_guest_dte_fields, teardown),
    cmocka_unit_test(gt_unit_as_discovered),
  };
  return cmocka_run_group_tests_name("model_amd", tests, NULL, NULL);
}
