/* The AMD-Vi model programmed by hand from the spec (48882 rev 3.x), without driver code:
 * register semantics (reset values, RO EFR, RW1C Status, run bits, base writes resetting the
 * ring pointers, dword halves), the device table and v1 walks (skipped levels, next level 7,
 * permissions, reserved bits, V/TV/Mode 0, bounds), the event log entry formats and overflow,
 * the command buffer (COMPLETION_WAIT, illegal commands stopping it, hardware errors), caches
 * that need the right invalidation, Access/Dirty updates, the exclusion range. Then the whole
 * platform with the real driver: a missing INVALIDATE_IOMMU_PAGES leaves a stale translation,
 * and the IVRS / PCI function the firmware discovers. Table entries and commands are built
 * with this file's own encoders so that a model bug cannot hide behind a shared one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "arch/host/arch_host.h"
#include "arch/host/host_boot.h"
#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/iommu.h"
#include "tests/model/amd_model.h"
#include "tests/model/platform_model.h"
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

static int teardown(void **state)
{
  (void)state;
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

static int no_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  (void)dom;
  (void)iova;
  (void)size;
  return IOMMU_OK; /* the deliberately missing INVALIDATE_IOMMU_PAGES */
}

struct run {
  struct report_counts c;
  char *out;
  size_t out_len;
  unsigned long iotlb_hits;
};

static struct run run_scenario(const char *spec, const char *glob, bool drop_flush)
{
  struct run r = { { 0, 0, 0 }, NULL, 0, 0 };
  struct host_system sys;
  char err[200];
  assert_int_equal(host_system_create(spec, &sys, err, sizeof(err)), 0);
  FILE *saved = stdout;
  stdout = open_memstream(&r.out, &r.out_len);
  report_begin();
  assert_int_equal(host_system_discover(&sys), 0);
  assert_int_equal(sys.plat->n_iommus, 1);
  struct iommu_unit *u = &sys.plat->iommus[0];
  static struct iommu_ops broken;
  if (drop_flush) {
    broken = *u->ops;
    broken.flush = no_flush;
    u->ops = &broken;
  }
  const char *globs[1] = { glob };
  scenarios_run(sys.plat, globs, 1);
  iommu_deactivate_all(sys.plat);
  r.c = report_counts();
  fclose(stdout);
  stdout = saved;
  struct amd_model *am = amd_model_at(0xfed80000ull);
  assert_non_null(am);
  r.iotlb_hits = amd_model_stats(am)->iotlb_hits;
  host_system_destroy(&sys);
  return r;
}

static void expect_stale(const char *spec, const char *glob, const char *evidence)
{
  struct run bad = run_scenario(spec, glob, true);
  if (bad.c.failed != 1)
    fprintf(stderr, "%s", bad.out);
  assert_int_equal(bad.c.failed, 1);
  assert_int_equal(bad.c.passed, 0);
  assert_non_null(strstr(bad.out, evidence));
  assert_true(bad.iotlb_hits > 0);
  free(bad.out);
  struct run good = run_scenario(spec, glob, false);
  if (good.c.passed != 1)
    fprintf(stderr, "%s", good.out);
  assert_int_equal(good.c.failed, 0);
  assert_int_equal(good.c.passed, 1);
  free(good.out);
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
  };
  return cmocka_run_group_tests_name("model_amd", tests, NULL, NULL);
}
