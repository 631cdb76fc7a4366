/* Functional AMD-Vi model, from the AMD I/O Virtualization Technology (IOMMU) Specification
 * 48882 rev 3.x. Section numbers below refer to it. Not derived from iommu/amd: every format
 * is decoded here again from the spec's figures and tables, so a driver that puts a field in
 * the wrong place is answered the way silicon would answer it (an event, a stopped command
 * buffer, or no effect).
 *
 * What is modelled:
 *  - MMIO registers (3.4): device table base with size, command buffer and event log bases
 *    with their lengths (a base write resets that ring's head and tail), Control with the
 *    enables honoured (CmdBufRun = IommuEn & CmdBufEn, EventLogRun = IommuEn & EventLogEn,
 *    each set on the enable's rising edge), exclusion base/limit, EFR (read-only, from the
 *    parameters), head/tail pointers reading back what was written, Status with RW1C and
 *    read-only run bits; 32- and 64-bit accesses;
 *  - the device table walk (2.2.2): bounds from DevTabBase.Size, V=0 passes untranslated,
 *    V=1 TV=0 terminates the walk, reserved bits and reserved Mode/HAD encodings give
 *    ILLEGAL_DEV_TABLE_ENTRY, IR/IW, Mode 0 untranslated with the DTE's IR/IW, SE/SA event
 *    suppression, EX with the exclusion range (2.2.2.3);
 *  - v1 host page tables (2.2.3): 1..6 levels from DTE.Mode (limited by EFR.HATS), PDEs that
 *    skip levels (the skipped address bits must be zero), next level 0 leaves at any level,
 *    next level 7 leaves whose size is encoded in the address, IR/IW ANDed along the walk,
 *    reserved bits, the upper address bits of modes below 6;
 *  - Access/Dirty updates (2.2.2.1 HAD, 2.2.3 A/D bits) when EFR.HASup/HDSup and DTE.HAD
 *    enable them: A in every PDE/PTE a successful walk used, D in the leaf on a write;
 *  - a device-table-entry cache (by DeviceID) emptied only by INVALIDATE_DEVTAB_ENTRY and
 *    INVALIDATE_IOMMU_ALL, and an IOTLB (by DomainID and page) emptied only by
 *    INVALIDATE_IOMMU_PAGES covering the page (S, address encoding of 2.4.3) and
 *    INVALIDATE_IOMMU_ALL; with NpCache not-present translations are cached too;
 *  - the command buffer (2.4) processed when the tail moves or the buffer starts:
 *    COMPLETION_WAIT (store, interrupt status), INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOMMU_PAGES,
 *    INVALIDATE_INTERRUPT_TABLE, PREFETCH_IOMMU_PAGES (with PreFSup), INVALIDATE_IOMMU_ALL (with
 *    IASup); a reserved opcode, reserved bits or an unsupported command log
 *    ILLEGAL_COMMAND_ERROR with the command's address and stop the buffer with the head at it
 *    (CmdBufRun cleared); a command fetch or store that reaches no memory logs
 *    COMMAND_HARDWARE_ERROR and stops it too;
 *  - the event log (2.5) in the spec's entry formats: IO_PAGE_FAULT, ILLEGAL_DEV_TABLE_ENTRY,
 *    DEV_TAB_HARDWARE_ERROR, PAGE_TAB_HARDWARE_ERROR, ILLEGAL_COMMAND_ERROR,
 *    COMMAND_HARDWARE_ERROR; a full log sets EventOverflow, clears EventLogRun and drops
 *    events until software clears the status and restarts logging; a PASID-prefixed request
 *    is refused without an event (no PASID support);
 *  - the IOMMU's own PCI function with the capability block (3.2.1) and the IVRS (5.2)
 *    (tests/model/amd_kind.c).
 * What is not: interrupt remapping, guest (v2/GCR3) translation, PPR, device IOTLBs/ATS,
 *    the interrupt and HyperTransport reserved address ranges, MSI delivery (status bits are
 *    tracked, nothing is delivered), performance counters, SMI filters, dual logs, segmented
 *    device tables, paging-structure caches (only leaf translations are cached).
 * Choices where the text available to this model was not conclusive are marked "model
 * choice" below. */
#include "tests/model/amd_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"
#include "tests/model/pci_model.h"

#define BIT(n) (1ull << (n))
#define GENMASK(hi, lo) ((((hi) >= 63) ? ~0ull : (BIT((hi) + 1) - 1)) & ~(BIT(lo) - 1))
#define ADDR_MASK GENMASK(51, 12)

/* MMIO offsets (3.4) */
enum {
  R_DEVTAB = 0x00, R_CMDBUF = 0x08, R_EVTLOG = 0x10, R_CONTROL = 0x18, R_EXCL_BASE = 0x20,
  R_EXCL_LIMIT = 0x28, R_EFR = 0x30, R_EFR2 = 0x1a0, R_CMD_HEAD = 0x2000, R_CMD_TAIL = 0x2008,
  R_EVT_HEAD = 0x2010, R_EVT_TAIL = 0x2018, R_STATUS = 0x2020,
};

/* Control (3.4.4) */
#define C_IOMMU_EN BIT(0)
#define C_EVT_LOG_EN BIT(2)
#define C_EVT_INT_EN BIT(3)
#define C_COMWAIT_INT_EN BIT(4)
#define C_CMDBUF_EN BIT(12)
/* Fields defined by rev 3.x, stored as written (the ones for features the model lacks are
 * inert): bits 54:0 except 49, 53:52 and 44. */
#define C_WRITABLE (GENMASK(54, 0) & ~(BIT(49) | GENMASK(53, 52) | BIT(44)))

/* Status (3.4.13) */
#define S_EVT_OVERFLOW BIT(0)
#define S_EVT_LOG_INT BIT(1)
#define S_COMWAIT_INT BIT(2)
#define S_EVT_RUN BIT(3)
#define S_CMD_RUN BIT(4)
#define S_RW1C (BIT(0) | BIT(1) | BIT(2) | BIT(5) | BIT(6) | BIT(9) | BIT(10))

#define PTR_MASK GENMASK(18, 4)          /* head/tail pointer registers: byte offset [18:4] */
#define RING_LEN(reg) (((reg) >> 56) & 0xf)

/* Device table entry (2.2.2.1), qword 0 */
#define D_V BIT(0)
#define D_TV BIT(1)
#define D_HAD_SHIFT 7
#define D_MODE_SHIFT 9
#define D_IR BIT(61)
#define D_IW BIT(62)
/* qword 1 */
#define D1_SE BIT(33)
#define D1_SA BIT(34)
#define D1_EX BIT(39)

/* v1 page table entries (2.2.3) */
#define P_PR BIT(0)
#define P_A BIT(5)
#define P_D BIT(6)
#define P_IR BIT(61)
#define P_IW BIT(62)

/* Event codes (2.5) and flag bits as positions in the entry's first qword */
enum {
  EV_ILLEGAL_DTE = 1, EV_IO_PAGE_FAULT = 2, EV_DEV_TAB_HW = 3, EV_PAGE_TAB_HW = 4,
  EV_ILLEGAL_CMD = 5, EV_CMD_HW = 6,
};
#define F_I BIT(51)
#define F_PR BIT(52)
#define F_RW BIT(53)
#define F_PE BIT(54)
#define F_RZ BIT(55)
#define HW_MASTER_ABORT 1ull     /* hardware error Type [58:57] */

/* Commands (2.4) */
enum {
  CMD_COMPLETION_WAIT = 1, CMD_INV_DTE = 2, CMD_INV_PAGES = 3, CMD_INV_IOTLB = 4,
  CMD_INV_INTR = 5, CMD_PREFETCH = 6, CMD_COMPLETE_PPR = 7, CMD_INV_ALL = 8,
};

#define MAX_DTE_CACHE 256
#define MAX_IOTLB 1024
#define MAX_MODELS 4

struct dte_ent {
  bool valid;
  bool pf_logged;               /* SE: an IO_PAGE_FAULT was logged since it was cached */
  uint16_t devid;
  uint64_t q0, q1;
};

struct tlb_ent {
  bool valid, negative, ir, iw, dirty_ok;
  uint16_t domid;
  uint8_t shift;
  uint64_t iova, out;
};

struct amd_model {
  struct amd_model_params p;
  uint64_t efr;
  uint64_t devtab, cmdbuf, evtlog, control, excl_base, excl_limit;
  uint64_t cmd_head, cmd_tail, evt_head, evt_tail, status;
  bool in_cmd;                  /* guards against re-entering the command processor */

  struct dte_ent dte[MAX_DTE_CACHE];
  unsigned dte_next;
  struct tlb_ent tlb[MAX_IOTLB];
  unsigned tlb_next;

  struct model_pci_fn fn;       /* the IOMMU's own PCI function */
  struct amd_model_stats st;
};

static struct amd_model *live[MAX_MODELS];

/* ---------------------------------------------------------------- parameters */

void amd_model_params_default(struct amd_model_params *p)
{
  memset(p, 0, sizeof(*p));
  p->base = 0xfed80000ull;     /* where QEMU 7.2 puts its amd-iommu */
  p->hats = 2;                 /* 6-level host tables */
  p->iasup = true;
  p->devid = 0x0020;           /* 00:04.0: free next to the engines (and the root port) */
  p->pa_bits = 48;
  p->ivhd_type = 0x40;
  p->ivhd_legacy = true;
  p->iotlb_entries = 256;
  p->dte_cache_entries = 64;
}

uint64_t amd_model_efr(const struct amd_model_params *p)
{
  /* 3.4.12 field positions; GTSup, PPRSup, GASup, HESup, PCSup... are 0: not modelled. */
  return (uint64_t)p->prefsup | (uint64_t)p->iasup << 6 | (uint64_t)(p->hats & 3) << 10 |
         (uint64_t)p->hasup << 49 | (uint64_t)p->hdsup << 52;
}

static unsigned max_mode(const struct amd_model *m)
{
  unsigned hats = m->p.hats & 3;
  return hats == 3 ? 0 : 4 + hats; /* HATS 11b is reserved: no host translation */
}

/* ---------------------------------------------------------------- rings */

static uint64_t ring_bytes(uint64_t base_reg)
{
  /* 2^Len entries of 16 bytes; Len below 8 is reserved: treated as 8 (model choice, the
   * register still reads back what was written). */
  unsigned len = (unsigned)RING_LEN(base_reg);
  return 16ull << (len < 8 ? 8 : len);
}

/* ---------------------------------------------------------------- event log (2.5) */

static void log_event(struct amd_model *m, uint64_t q0, uint64_t q1)
{
  m->st.last_event_code = (unsigned)(q0 >> 60);
  m->st.last_event_flags = (uint32_t)(q0 >> 48) & 0xfff;
  if (!(m->status & S_EVT_RUN) || (m->status & S_EVT_OVERFLOW)) {
    /* Logging stopped (disabled, or overflowed and not yet restarted: 3.4.13 EventOverflow
     * "no new event log entries are written while this bit is set"). */
    if (m->status & S_EVT_OVERFLOW)
      m->st.events_lost_overflow++;
    else
      m->st.events_not_running++;
    return;
  }
  uint64_t len = ring_bytes(m->evtlog);
  if (m->evt_tail >= len || m->evt_head >= len) {
    m->st.events_not_running++; /* pointers outside the log: undefined, nothing written */
    return;
  }
  /* Full when one more entry would make the tail reach the head (2.5). */
  if ((m->evt_tail + 16) % len == m->evt_head) {
    m->status |= S_EVT_OVERFLOW;
    m->status &= ~S_EVT_RUN;
    m->st.events_lost_overflow++;
    return;
  }
  uint64_t e[2] = { q0, q1 };
  if (model_mem_write((m->evtlog & ADDR_MASK) + m->evt_tail, e, sizeof(e))) {
    m->st.events_not_running++; /* the log itself reaches no memory: the entry is lost */
    return;
  }
  m->evt_tail = (m->evt_tail + 16) % len;
  m->status |= S_EVT_LOG_INT; /* EventLogInt; the MSI itself is not modelled */
  m->st.events_logged++;
}

static uint64_t req_flags(const struct model_dma_req *req)
{
  return req->write ? F_RW : 0; /* I=0 (memory request), TR=0 (not a translation request) */
}

/* IO_PAGE_FAULT (2.5.3) with DTE.SA/SE suppression: SA suppresses every page fault event of the
 * device, SE every one after the first since its entry was cached. */
static void io_page_fault(struct amd_model *m, const struct model_dma_req *req, struct dte_ent *d,
                          uint16_t domid, uint64_t flags)
{
  if (d && ((d->q1 & D1_SA) || ((d->q1 & D1_SE) && d->pf_logged))) {
    m->st.events_suppressed++;
    return;
  }
  log_event(m, (uint64_t)EV_IO_PAGE_FAULT << 60 | flags | req_flags(req) | (uint64_t)domid << 32 | req->sid,
            req->addr);
  if (d)
    d->pf_logged = true;
}

static void illegal_dte(struct amd_model *m, const struct model_dma_req *req, bool rz)
{
  /* 2.5.2: RZ=1 reserved bit set, RZ=0 invalid level (Mode) encoding; Address[63:2]. */
  log_event(m, (uint64_t)EV_ILLEGAL_DTE << 60 | (rz ? F_RZ : 0) | req_flags(req) | req->sid,
            req->addr & ~3ull);
}

/* ---------------------------------------------------------------- caches */

static struct dte_ent *dte_find(struct amd_model *m, uint16_t devid)
{
  for (unsigned i = 0; i < m->p.dte_cache_entries; i++)
    if (m->dte[i].valid && m->dte[i].devid == devid)
      return &m->dte[i];
  return NULL;
}

static struct dte_ent *dte_insert(struct amd_model *m, uint16_t devid, uint64_t q0, uint64_t q1)
{
  struct dte_ent *e = dte_find(m, devid);
  if (e == NULL)
    e = &m->dte[m->dte_next++ % m->p.dte_cache_entries];
  *e = (struct dte_ent){ .valid = true, .devid = devid, .q0 = q0, .q1 = q1 };
  return e;
}

static struct tlb_ent *tlb_find(struct amd_model *m, uint16_t domid, uint64_t addr)
{
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (t->valid && t->domid == domid && (addr >> t->shift) == (t->iova >> t->shift))
      return t;
  }
  return NULL;
}

static void tlb_insert(struct amd_model *m, const struct tlb_ent *e)
{
  struct tlb_ent *slot = tlb_find(m, e->domid, e->iova);
  if (slot == NULL)
    slot = &m->tlb[m->tlb_next++ % m->p.iotlb_entries];
  *slot = *e;
  slot->valid = true;
}

unsigned amd_model_iotlb_count(const struct amd_model *m)
{
  unsigned n = 0;
  for (unsigned i = 0; i < m->p.iotlb_entries; i++)
    n += m->tlb[i].valid;
  return n;
}

unsigned amd_model_dte_cache_count(const struct amd_model *m)
{
  unsigned n = 0;
  for (unsigned i = 0; i < m->p.dte_cache_entries; i++)
    n += m->dte[i].valid;
  return n;
}

/* INVALIDATE_IOMMU_PAGES (2.4.3): S=0 names one 4 KiB page; S=1 a naturally aligned range
 * whose size is given by the lowest clear address bit at or above 12 (bit n clear: 2^(n+1)
 * bytes), so 7FFF_FFFF_FFFF_F000h names every page. Every cached translation of the domain
 * that overlaps the range is removed. */
static void inv_pages(struct amd_model *m, uint16_t domid, uint64_t addr, bool s)
{
  uint64_t base = addr & ~0xfffull, last;
  if (!s) {
    last = base + 0xfff;
  } else {
    unsigned n = 12;
    while (n < 64 && ((addr >> n) & 1))
      n++;
    if (n >= 63) { /* 2^64 bytes (or no clear bit, undefined): the whole address space */
      base = 0;
      last = ~0ull;
    } else {
      uint64_t size = BIT(n + 1);
      base = addr & ~(size - 1);
      last = base + size - 1;
    }
  }
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (!t->valid || t->domid != domid)
      continue;
    uint64_t tb = t->iova & ~(BIT(t->shift) - 1), tl = tb + (BIT(t->shift) - 1);
    if (tb <= last && base <= tl)
      t->valid = false;
  }
}

static void inv_all(struct amd_model *m)
{
  memset(m->dte, 0, sizeof(m->dte));
  memset(m->tlb, 0, sizeof(m->tlb));
}

/* ---------------------------------------------------------------- v1 walk (2.2.3) */

enum walk_result { W_OK, W_NOT_PRESENT, W_PERM, W_RSVD, W_LEVEL, W_HWERR };

struct walk {
  uint64_t out_page;
  unsigned shift;
  bool ir, iw, dirty_ok;
  uint64_t err_addr;            /* W_HWERR: the entry that could not be read or written */
  unsigned n_upd;
  uint64_t upd_addr[8], upd_bits[8];
};

/* Bytes a default (next level 0) page at level covers: 12 + 9 * (level - 1) address bits. */
static unsigned level_shift(unsigned level) { return 12 + 9 * (level - 1); }

static void want_update(struct walk *w, uint64_t ea, uint64_t bitv)
{
  for (unsigned i = 0; i < w->n_upd; i++)
    if (w->upd_addr[i] == ea) {
      w->upd_bits[i] |= bitv;
      return;
    }
  w->upd_addr[w->n_upd] = ea;
  w->upd_bits[w->n_upd++] = bitv;
}

/* Walks from the DTE's root at level mode. ha/hd: the DTE asks for Access / Dirty updates. */
static enum walk_result v1_walk(struct amd_model *m, uint64_t root, unsigned mode, uint64_t addr,
                                bool write, bool ha, bool hd, struct walk *w)
{
  memset(w, 0, sizeof(*w));
  m->st.walks++;
  uint64_t table = root & ADDR_MASK;
  unsigned level = mode;
  bool ir = true, iw = true;
  for (;;) {
    uint64_t ea = table + ((addr >> level_shift(level)) & 0x1ff) * 8, e;
    if (model_mem_read64(ea, &e)) {
      w->err_addr = ea;
      return W_HWERR;
    }
    if (!(e & P_PR))
      return W_NOT_PRESENT;
    unsigned nl = (unsigned)(e >> 9) & 7;
    bool leaf = nl == 0 || nl == 7;
    /* PTE bits 58:52 and PDE bits 60:52 are reserved (59 U and 60 FC exist only in PTEs). */
    if (e & (leaf ? GENMASK(58, 52) : GENMASK(60, 52)))
      return W_RSVD;
    ir = ir && (e & P_IR);
    iw = iw && (e & P_IW);
    if (ha && !(e & P_A))
      want_update(w, ea, P_A);
    if (!leaf) {
      if (nl >= level)
        return W_LEVEL; /* a PDE must point to a lower level */
      /* Skipped levels: the address bits they would have indexed must be zero. */
      uint64_t skipped = GENMASK(level_shift(level) - 1, level_shift(nl + 1));
      if (level - 1 > nl && (addr & skipped))
        return W_LEVEL;
      table = e & ADDR_MASK;
      level = nl;
      continue;
    }
    unsigned shift = level_shift(level);
    if (nl == 7) {
      /* Page size in the address: the lowest clear bit n >= 12 gives 2^(n+1) bytes, strictly
       * between this level's default page and the next level's. */
      unsigned n = 12;
      while (n < 52 && ((e >> n) & 1))
        n++;
      unsigned upper = level_shift(level + 1);
      if (n >= 52 || n + 1 <= shift || (upper < 64 && n + 1 >= upper) || n + 1 >= 64)
        return W_LEVEL;
      shift = n + 1;
    }
    if (write ? !iw : !ir)
      return W_PERM;
    if (hd && write && !(e & P_D))
      want_update(w, ea, P_D);
    w->out_page = e & ADDR_MASK & ~(BIT(shift) - 1);
    w->shift = shift;
    w->ir = ir;
    w->iw = iw;
    w->dirty_ok = !hd || write || (e & P_D);
    return W_OK;
  }
}

/* Sets the A/D bits a successful walk needs (the model is the only agent running while it
 * translates, so read-modify-write is atomic). -1 with the entry when one cannot be written. */
static int apply_updates(struct amd_model *m, const struct walk *w, uint64_t *err_addr)
{
  for (unsigned i = 0; i < w->n_upd; i++) {
    uint64_t e;
    if (model_mem_read64(w->upd_addr[i], &e) || model_mem_write64(w->upd_addr[i], e | w->upd_bits[i])) {
      *err_addr = w->upd_addr[i];
      return -1;
    }
    m->st.ad_updates++;
  }
  return 0;
}

/* ---------------------------------------------------------------- translation */

/* Reserved bits of DTE bits 127:0 when V=1 (2.2.2.1): qword 0 bits 6:2 and 63; PPR, GRPR,
 * GIoV, GV, GLX and the GCR3 root pointer (bits 60:52) need PPRSup/GIoSup/GTSup, which this
 * unit lacks; qword 1 bit 42 and the GCR3 pointer fields (31:16, 63:43). */
#define DTE0_RSVD (GENMASK(6, 2) | BIT(63) | GENMASK(60, 52))
#define DTE1_RSVD (BIT(42) | GENMASK(31, 16) | GENMASK(63, 43))

/* Validates a V=1 entry: 0, or the ILLEGAL_DEV_TABLE_ENTRY RZ value + 1. HAD (bits 8:7): 01b
 * Access updates (needs EFR.HASup), 11b Access and Dirty (needs HASup and HDSup), 10b reserved;
 * an update the unit cannot do is a reserved setting (model choice: the spec text available
 * did not say whether it is ignored instead). */
static int dte_check(const struct amd_model *m, uint64_t q0, uint64_t q1)
{
  if ((q0 & DTE0_RSVD) || (q1 & DTE1_RSVD))
    return 2;
  unsigned had = (unsigned)(q0 >> D_HAD_SHIFT) & 3;
  if (had == 2 || (had && !m->p.hasup) || (had == 3 && !m->p.hdsup))
    return 2;
  unsigned mode = (unsigned)(q0 >> D_MODE_SHIFT) & 7;
  if ((q0 & D_TV) && mode > max_mode(m))
    return 1; /* Mode 7 is reserved; modes deeper than EFR.HATS allows are not supported */
  return 0;
}

static bool excluded(const struct amd_model *m, uint64_t addr, uint64_t q1, bool dte_valid)
{
  /* 3.4.5/3.4.6: ExEn, and Allow (every device) or the DTE's EX bit; the limit register's
   * low 12 bits are taken as ones. */
  if (!(m->excl_base & BIT(0)))
    return false;
  uint64_t lo = m->excl_base & ADDR_MASK, hi = (m->excl_limit & ADDR_MASK) | 0xfff;
  if (addr < lo || addr > hi)
    return false;
  return (m->excl_base & BIT(1)) || (dte_valid && (q1 & D1_EX));
}

/* The DTE of devid, from the cache or the device table; NULL when the request was refused
 * (the event is logged). */
static struct dte_ent *dte_get(struct amd_model *m, const struct model_dma_req *req, struct dte_ent *tmp,
                               bool *illegal)
{
  *illegal = false;
  struct dte_ent *d = dte_find(m, req->sid);
  if (d) {
    m->st.dte_hits++;
    return d;
  }
  /* 3.4.1: the table holds (Size + 1) 4 KiB pages; a DeviceID beyond it has no entry. */
  uint64_t bytes = ((m->devtab & 0x1ff) + 1) * 4096ull;
  if ((uint64_t)req->sid * 32 + 32 > bytes) {
    io_page_fault(m, req, NULL, 0, 0); /* model choice: IO_PAGE_FAULT, PR=0 */
    return NULL;
  }
  uint64_t ea = (m->devtab & ADDR_MASK) + (uint64_t)req->sid * 32, q[2];
  m->st.dte_reads++;
  if (model_mem_read(ea, q, sizeof(q))) {
    log_event(m, (uint64_t)EV_DEV_TAB_HW << 60 | HW_MASTER_ABORT << 57 | req_flags(req) | req->sid, ea);
    return NULL;
  }
  if ((q[0] & D_V) && dte_check(m, q[0], q[1])) {
    /* Not cached: an illegal entry is read again on the next request. */
    *tmp = (struct dte_ent){ .valid = false, .devid = req->sid, .q0 = q[0], .q1 = q[1] };
    *illegal = true;
    return tmp;
  }
  return dte_insert(m, req->sid, q[0], q[1]);
}

static bool translate(struct amd_model *m, const struct model_dma_req *req, uint64_t *out)
{
  if (req->has_pasid) {
    /* No guest translation (EFR.GTSup=0, no PASID support): the root complex does not take
     * End-End TLP prefixes and refuses the request as malformed (PCIe 6.0 2.2.10.4) before it
     * reaches the IOMMU, so no event is logged (model choice). */
    m->st.pasid_refused++;
    return false;
  }
  struct dte_ent tmp, *d;
  bool illegal;
  if ((d = dte_get(m, req, &tmp, &illegal)) == NULL)
    return false;
  uint64_t q0 = d->q0, q1 = d->q1;
  if (!(q0 & D_V)) {
    /* V=0: no translation information; the request goes through untranslated. */
    m->st.untranslated++;
    *out = req->addr;
    return true;
  }
  if (illegal) {
    illegal_dte(m, req, dte_check(m, q0, q1) == 2);
    return false;
  }
  if (excluded(m, req->addr, q1, true)) {
    m->st.excluded++;
    *out = req->addr;
    return true;
  }
  uint16_t domid = (uint16_t)q1;
  if (!(q0 & D_TV)) {
    /* V=1 TV=0: the root pointer is not valid; the walk is terminated (model choice: the
     * request is refused with IO_PAGE_FAULT PR=0, as VirtualBox and current QEMU do). */
    io_page_fault(m, req, d, domid, 0);
    return false;
  }
  bool ir = q0 & D_IR, iw = q0 & D_IW;
  if (req->write ? !iw : !ir) {
    io_page_fault(m, req, d, domid, F_PR | F_PE);
    return false;
  }
  unsigned mode = (unsigned)(q0 >> D_MODE_SHIFT) & 7;
  if (mode == 0) {
    /* Mode 0: untranslated, access controlled by the DTE's IR/IW alone. */
    m->st.untranslated++;
    *out = req->addr;
    return true;
  }
  /* Address bits above the ones the root level translates must be zero (modes 1..5). */
  if (mode < 6 && (req->addr >> level_shift(mode + 1))) {
    io_page_fault(m, req, d, domid, 0);
    return false;
  }
  unsigned had = (unsigned)(q0 >> D_HAD_SHIFT) & 3;
  bool ha = had & 1, hd = had == 3;
  struct tlb_ent *t = tlb_find(m, domid, req->addr);
  if (t && t->negative) {
    m->st.negative_hits++;
    io_page_fault(m, req, d, domid, 0);
    return false;
  }
  if (t) {
    if (req->write ? (t->iw && t->dirty_ok) : t->ir) {
      m->st.iotlb_hits++;
      *out = t->out | (req->addr & (BIT(t->shift) - 1));
      return true;
    }
    t->valid = false; /* denied or needs D set: walk again (hardware may re-walk any time) */
  }
  m->st.iotlb_misses++;
  struct walk w;
  enum walk_result r = v1_walk(m, q0, mode, req->addr, req->write, ha, hd, &w);
  uint64_t err = 0;
  if (r == W_OK && w.n_upd && apply_updates(m, &w, &err)) {
    r = W_HWERR;
    w.err_addr = err;
  }
  switch (r) {
  case W_OK:
    break;
  case W_NOT_PRESENT:
    if (m->p.npcache) {
      struct tlb_ent n = { .domid = domid, .negative = true, .iova = req->addr & ~0xfffull, .shift = 12 };
      tlb_insert(m, &n);
    }
    io_page_fault(m, req, d, domid, 0);
    return false;
  case W_PERM:
    io_page_fault(m, req, d, domid, F_PR | F_PE);
    return false;
  case W_RSVD:
    io_page_fault(m, req, d, domid, F_PR | F_RZ);
    return false;
  case W_LEVEL:
    io_page_fault(m, req, d, domid, F_PR); /* invalid level / page size: PR=1, RZ=0, PE=0 */
    return false;
  case W_HWERR:
    log_event(m, (uint64_t)EV_PAGE_TAB_HW << 60 | HW_MASTER_ABORT << 57 | req_flags(req) |
                 (uint64_t)domid << 32 | req->sid, w.err_addr);
    return false;
  }
  struct tlb_ent e = {
    .domid = domid, .iova = req->addr & ~(BIT(w.shift) - 1), .shift = (uint8_t)w.shift,
    .out = w.out_page, .ir = w.ir, .iw = w.iw, .dirty_ok = w.dirty_ok,
  };
  tlb_insert(m, &e);
  *out = w.out_page | (req->addr & (BIT(w.shift) - 1));
  m->st.translated++;
  return true;
}

enum model_dma_result amd_model_dma(struct amd_model *m, const struct model_dma_req *req, void *data)
{
  m->st.requests++;
  uint64_t out = req->addr;
  if (!(m->control & C_IOMMU_EN)) {
    m->st.disabled++; /* IommuEn=0: requests pass untranslated (3.4.4) */
  } else if (!translate(m, req, &out)) {
    return MODEL_DMA_BLOCKED; /* target abort */
  }
  int err = req->write ? model_mem_write(out, data, req->len) : model_mem_read(out, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

/* ---------------------------------------------------------------- command buffer (2.4) */

/* Executes one command; false when it is illegal (the caller stops the buffer). */
static bool cmd_execute(struct amd_model *m, const uint64_t c[2], uint64_t addr, bool *hw_error)
{
  unsigned op = (unsigned)(c[0] >> 60);
  *hw_error = false;
  m->st.cmds++;
  switch (op) {
  case CMD_COMPLETION_WAIT: /* 2.4.1: store address [51:3], S/I/F in bits 2:0 */
    if (c[0] & GENMASK(59, 52))
      return false;
    m->st.cmd_completion_wait++;
    if (c[0] & BIT(0)) {
      uint64_t at = c[0] & GENMASK(51, 3);
      if (model_mem_write64(at, c[1])) {
        log_event(m, (uint64_t)EV_CMD_HW << 60 | HW_MASTER_ABORT << 57, at);
        *hw_error = true;
        return true;
      }
    }
    if (c[0] & BIT(1))
      m->status |= S_COMWAIT_INT; /* ComWaitInt; the MSI is not modelled */
    return true;
  case CMD_INV_DTE: /* 2.4.2 */
    if ((c[0] & GENMASK(59, 16)) || c[1])
      return false;
    m->st.cmd_inv_dte++;
    {
      struct dte_ent *d = dte_find(m, (uint16_t)c[0]);
      if (d)
        d->valid = false;
    }
    return true;
  case CMD_INV_PAGES: /* 2.4.3: PASID 19:0, DomainID 47:32; S, PDE, GN, Address 63:12 */
    if ((c[0] & (GENMASK(31, 20) | GENMASK(59, 48))) || (c[1] & GENMASK(11, 3)))
      return false;
    m->st.cmd_inv_pages++;
    /* GN=1 names guest translations, of which this unit has none. PDE concerns cached page
     * directory entries; only leaf translations are cached here. */
    if (!(c[1] & BIT(2)))
      inv_pages(m, (uint16_t)(c[0] >> 32), c[1] & ~0xfffull, c[1] & BIT(0));
    return true;
  case CMD_INV_INTR: /* 2.4.5: no interrupt remapping modelled; the format is still checked */
    if ((c[0] & GENMASK(59, 16)) || c[1])
      return false;
    m->st.cmd_other++;
    return true;
  case CMD_PREFETCH: /* 2.4.6: a hint; doing nothing is a valid prefetch */
    if (!m->p.prefsup || (c[0] & (GENMASK(23, 16) | GENMASK(59, 52))) ||
        (c[1] & (BIT(1) | BIT(3) | GENMASK(11, 5))))
      return false;
    m->st.cmd_other++;
    return true;
  case CMD_INV_ALL: /* 2.4.8, only with EFR.IASup */
    if (!m->p.iasup || (c[0] & GENMASK(59, 0)) || c[1])
      return false;
    m->st.cmd_inv_all++;
    inv_all(m);
    return true;
  case CMD_INV_IOTLB:     /* needs IotlbSup (capability header): 0 here */
  case CMD_COMPLETE_PPR:  /* needs PPRSup: 0 here */
  default:                /* reserved opcodes */
    (void)addr;
    return false;
  }
}

static void cmd_stop(struct amd_model *m)
{
  m->status &= ~S_CMD_RUN;
}

/* Fetches and executes commands from the head while the buffer runs and is not empty. On an
 * illegal command the head stays at it (2.4: ILLEGAL_COMMAND_ERROR with its address). */
static void cmd_process(struct amd_model *m)
{
  if (m->in_cmd || !(m->status & S_CMD_RUN))
    return;
  uint64_t len = ring_bytes(m->cmdbuf);
  if (m->cmd_head >= len || m->cmd_tail >= len) {
    m->st.bad_pointer_writes++; /* pointer beyond the buffer: undefined, nothing fetched */
    return;
  }
  m->in_cmd = true;
  while ((m->status & S_CMD_RUN) && m->cmd_head != m->cmd_tail) {
    uint64_t addr = (m->cmdbuf & ADDR_MASK) + m->cmd_head, c[2];
    if (model_mem_read(addr, c, sizeof(c))) {
      log_event(m, (uint64_t)EV_CMD_HW << 60 | HW_MASTER_ABORT << 57, addr);
      m->st.cmd_hw_errors++;
      cmd_stop(m);
      break;
    }
    bool hw_error;
    if (!cmd_execute(m, c, addr, &hw_error)) {
      log_event(m, (uint64_t)EV_ILLEGAL_CMD << 60, addr);
      m->st.illegal_cmds++;
      cmd_stop(m);
      break;
    }
    if (hw_error) {
      m->st.cmd_hw_errors++;
      cmd_stop(m);
      break;
    }
    m->cmd_head = (m->cmd_head + 16) % len;
  }
  m->in_cmd = false;
}

/* ---------------------------------------------------------------- registers */

static void control_write(struct amd_model *m, uint64_t v)
{
  uint64_t old = m->control;
  m->control = v & C_WRITABLE;
  bool en = v & C_IOMMU_EN, was_en = old & C_IOMMU_EN;
  /* EventLogRun follows IommuEn & EventLogEn, set on their rising edge: a log stopped by an
   * overflow runs again only after EventLogEn is written 0 then 1 (3.4.13). */
  bool evt = en && (v & C_EVT_LOG_EN), evt_was = was_en && (old & C_EVT_LOG_EN);
  if (!evt)
    m->status &= ~S_EVT_RUN;
  else if (!evt_was)
    m->status |= S_EVT_RUN;
  /* CmdBufRun likewise: a buffer stopped by an error restarts on CmdBufEn 0 -> 1. */
  bool cmd = en && (v & C_CMDBUF_EN), cmd_was = was_en && (old & C_CMDBUF_EN);
  if (!cmd) {
    m->status &= ~S_CMD_RUN;
  } else if (!cmd_was) {
    m->status |= S_CMD_RUN;
    cmd_process(m);
  }
}

static uint64_t reg_read(struct amd_model *m, unsigned off)
{
  switch (off) {
  case R_DEVTAB: return m->devtab;
  case R_CMDBUF: return m->cmdbuf;
  case R_EVTLOG: return m->evtlog;
  case R_CONTROL: return m->control;
  case R_EXCL_BASE: return m->excl_base;
  case R_EXCL_LIMIT: return m->excl_limit;
  case R_EFR: return m->efr;
  case R_EFR2: return 0;
  case R_CMD_HEAD: return m->cmd_head;
  case R_CMD_TAIL: return m->cmd_tail;
  case R_EVT_HEAD: return m->evt_head;
  case R_EVT_TAIL: return m->evt_tail;
  case R_STATUS: return m->status;
  default: return 0; /* reserved or not modelled */
  }
}

static void reg_write(struct amd_model *m, unsigned off, uint64_t v)
{
  switch (off) {
  case R_DEVTAB: /* [51:12] base, [8:0] size */
    m->devtab = v & (ADDR_MASK | 0x1ff);
    return;
  case R_CMDBUF: /* [51:12] base, [59:56] ComLen; the head and tail are reset (2.4) */
    m->cmdbuf = v & (ADDR_MASK | GENMASK(59, 56));
    m->cmd_head = m->cmd_tail = 0;
    return;
  case R_EVTLOG: /* [51:12] base, [59:56] EventLen; the head and tail are reset (2.5) */
    m->evtlog = v & (ADDR_MASK | GENMASK(59, 56));
    m->evt_head = m->evt_tail = 0;
    return;
  case R_CONTROL:
    control_write(m, v);
    return;
  case R_EXCL_BASE: /* [0] ExEn, [1] Allow, [51:12] base */
    m->excl_base = v & (ADDR_MASK | 3);
    return;
  case R_EXCL_LIMIT:
    m->excl_limit = v & ADDR_MASK;
    return;
  case R_CMD_HEAD:
    /* Software moves the head only while the buffer is stopped; a write while it runs is
     * undefined and ignored here (counted). */
    if (m->status & S_CMD_RUN) {
      m->st.bad_pointer_writes++;
      return;
    }
    m->cmd_head = v & PTR_MASK;
    return;
  case R_CMD_TAIL:
    m->cmd_tail = v & PTR_MASK;
    cmd_process(m);
    return;
  case R_EVT_HEAD:
    m->evt_head = v & PTR_MASK;
    return;
  case R_EVT_TAIL:
    if (m->status & S_EVT_RUN) { /* as the command head: only while logging is stopped */
      m->st.bad_pointer_writes++;
      return;
    }
    m->evt_tail = v & PTR_MASK;
    return;
  case R_STATUS:
    m->status &= ~(v & S_RW1C);
    return;
  default:
    return; /* EFR and reserved: read-only */
  }
}

static bool bad_access(struct amd_model *m, uint64_t off, unsigned width, const char *what)
{
  if ((width == 4 || width == 8) && !(off & (width - 1)) && off + width <= AMD_MODEL_REG_BYTES)
    return false;
  m->st.bad_accesses++;
  fprintf(stderr, "amd_model: %u-byte %s at +0x%llx: registers take aligned 32/64-bit accesses\n",
          width, what, (unsigned long long)off);
  return true;
}

uint64_t amd_model_read(struct amd_model *m, uint64_t off, unsigned width)
{
  if (bad_access(m, off, width, "read"))
    return ~0ull;
  uint64_t v = reg_read(m, (unsigned)off & ~7u);
  return width == 8 ? v : (uint32_t)(v >> (8 * (off & 4)));
}

void amd_model_write(struct amd_model *m, uint64_t off, unsigned width, uint64_t val)
{
  if (bad_access(m, off, width, "write"))
    return;
  unsigned q = (unsigned)off & ~7u;
  if (width == 4) {
    /* A dword write changes its half of the register; for Status the other half is written
     * as zeros, which leaves its RW1C bits alone. */
    uint64_t cur = q == R_STATUS ? 0 : reg_read(m, q);
    unsigned sh = 8 * ((unsigned)off & 4);
    val = (cur & ~(0xffffffffull << sh)) | ((val & 0xffffffffull) << sh);
  }
  reg_write(m, q, val);
}

static uint64_t mmio_read(void *ctx, uint64_t off, unsigned width) { return amd_model_read(ctx, off, width); }
static void mmio_write(void *ctx, uint64_t off, unsigned width, uint64_t v) { amd_model_write(ctx, off, width, v); }

int amd_model_register(struct amd_model *m)
{
  struct host_mmio_region r = { m->p.base, AMD_MODEL_REG_BYTES, mmio_read, mmio_write, m };
  return host_mmio_register(&r);
}

/* ---------------------------------------------------------------- PCI function (3.2) */

int amd_model_add_pci(struct amd_model *m, struct model_pci *pci)
{
  struct model_pci_fn *f = &m->fn;
  uint8_t bus = (uint8_t)(m->p.devid >> 8), dev = (m->p.devid >> 3) & 0x1f, fn = m->p.devid & 7;
  for (unsigned i = 0; i < pci->n; i++)
    if (pci->fns[i]->bus == bus && pci->fns[i]->dev == dev && pci->fns[i]->fn == fn)
      return -1; /* the function's place is taken */
  /* Class 08h (system peripheral) / 06h (IOMMU); a model identity like the engines'. */
  model_pci_fn_init(f, bus, dev, fn, 0x1b36, 0x0bae, 0x080600, 0);
  /* 3.2.1 IOMMU capability block: header (CapType 011b, CapRev 00001b, NpCache, EFRSup,
   * CapExt), base address low (Enable, [31:14]) and high, range (RngValid=0: the IVRS lists
   * the devices), miscellaneous information 0 (PASize [14:8], VASize [21:15]) and 1. */
  uint8_t body[22] = { 0 };
  body[0] = (uint8_t)(3 | 1 << 3);
  body[1] = (uint8_t)((m->p.npcache ? BIT(2) : 0) | BIT(3) | BIT(4));
  uint32_t lo = (uint32_t)(m->p.base & 0xffffc000u) | 1, hi = (uint32_t)(m->p.base >> 32);
  uint32_t misc0 = (m->p.pa_bits & 0x7f) << 8 | 64u << 15;
  for (unsigned i = 0; i < 4; i++) {
    body[2 + i] = (uint8_t)(lo >> (8 * i));
    body[6 + i] = (uint8_t)(hi >> (8 * i));
    body[14 + i] = (uint8_t)(misc0 >> (8 * i));
  }
  /* Every field is read-only to software: firmware set the base and Enable (3.2.1.2). */
  if (model_pci_fn_cap(f, 0x0f, body, sizeof(body)) != AMD_MODEL_CAP_OFF)
    return -1;
  return model_pci_add(pci, f);
}

/* ---------------------------------------------------------------- life cycle */

struct amd_model *amd_model_create(const struct amd_model_params *p)
{
  if (p->base == 0 || (p->base & 0x3fff) || p->hats > 3 || p->pa_bits < 32 || p->pa_bits > 52)
    return NULL;
  struct amd_model *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->p = *p;
  if (m->p.iotlb_entries == 0 || m->p.iotlb_entries > MAX_IOTLB)
    m->p.iotlb_entries = MAX_IOTLB;
  if (m->p.dte_cache_entries == 0 || m->p.dte_cache_entries > MAX_DTE_CACHE)
    m->p.dte_cache_entries = MAX_DTE_CACHE;
  m->efr = amd_model_efr(p);
  /* Reset (3.4): every register 0, the IOMMU disabled, nothing running. */
  for (unsigned i = 0; i < MAX_MODELS; i++)
    if (live[i] == NULL) {
      live[i] = m;
      break;
    }
  return m;
}

void amd_model_destroy(struct amd_model *m)
{
  if (m == NULL)
    return;
  for (unsigned i = 0; i < MAX_MODELS; i++)
    if (live[i] == m)
      live[i] = NULL;
  free(m);
}

struct amd_model *amd_model_at(uint64_t base)
{
  for (unsigned i = 0; i < MAX_MODELS; i++)
    if (live[i] && live[i]->p.base == base)
      return live[i];
  return NULL;
}

const struct amd_model_stats *amd_model_stats(const struct amd_model *m) { return &m->st; }
