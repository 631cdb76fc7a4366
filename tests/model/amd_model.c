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
 *    events until software clears the status and restarts logging;
 *  - guest (v2) translation with EFR.GTSup (2.2.2.1 GV/GLX/GIoV/GCR3 root pointer, 2.2.6 GCR3
 *    table and guest tables, Control.GTEn): a PASID-tagged request (PASID up to EFR.PASmax)
 *    looks up its guest CR3 in the 1..3-level GCR3 table (GLX up to EFR.GLXSup), walks the
 *    4- or 5-level AMD64 long-mode guest table (DTE GuestPagingMode up to EFR.GATS; P, R/W,
 *    U/S against the request's PMR with EFR.USSup, PS 2 MiB / 1 GiB pages, reserved bits,
 *    canonical addresses), sets the guest A bits and the leaf's D bit, and takes every GPA it
 *    touches through the DTE's v1 host table (nested; GPA = SPA with Mode 0). Guest-level
 *    faults are IO_PAGE_FAULT with GN=1 and the PASID, faults of the nested host walk GN=0 with
 *    the DomainID and the GPA. Untagged requests on a GV=1 entry use PASID 0's guest tables
 *    with GIoV (EFR.GIoSup), the host table otherwise. The IOTLB keeps guest translations by
 *    (DomainID, PASID); INVALIDATE_IOMMU_PAGES with GN=1 removes those of one PASID. Without
 *    GTSup a PASID-prefixed request is refused without an event;
 *  - the IOMMU's own PCI function with the capability block (3.2.1) and the IVRS (5.2)
 *    (tests/model/amd_kind.c).
 * What is not: interrupt remapping, PPR, device IOTLBs/ATS, execute requests (NX),
 *    the interrupt and HyperTransport reserved address ranges, MSI delivery (status bits are
 *    tracked, nothing is delivered), performance counters, SMI filters, dual logs, segmented
 *    device tables, paging-structure caches (only leaf translations are cached; GCR3 entries
 *    are read again on every IOTLB miss), GCR3TRPMode (the GCR3 table root is an SPA).
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
#define C_GT_EN BIT(16)           /* guest translation enable (with EFR.GTSup) */
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
#define D_GIOV BIT(54)            /* untagged requests through PASID 0's guest tables */
#define D_GV BIT(55)              /* guest translation valid */
#define D_GLX_SHIFT 56            /* [57:56] GCR3 table levels - 1 */
#define D_IR BIT(61)
#define D_IW BIT(62)
/* qword 1 */
#define D1_SE BIT(33)
#define D1_SA BIT(34)
#define D1_EX BIT(39)
/* qword 2 (DTE bits 183:182): GuestPagingMode, 00b 4-level and 01b 5-level guest tables */
#define D2_GPM_SHIFT 54

/* GCR3 table entries (2.2.6): bit 0 valid, [51:12] the next GCR3 level (SPA) or, at level 0,
 * the guest CR3 (a GPA) */
#define G_V BIT(0)

/* Guest (v2) page table entries: AMD64 long mode (2.2.6; AMD64 APM vol. 2, 5.3-5.4) */
#define GP_P BIT(0)
#define GP_RW BIT(1)
#define GP_US BIT(2)
#define GP_A BIT(5)
#define GP_D BIT(6)
#define GP_PS BIT(7)

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
#define F_GN BIT(48)
#define F_US BIT(50)
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
  uint64_t q0, q1, q2;
};

struct tlb_ent {
  bool valid, negative, ir, iw, dirty_ok;
  bool guest;                   /* a GVA translation of (domid, pasid); else a host one */
  bool nested;                  /* guest: its GPA went through the v1 table (gpa is valid) */
  bool user;                    /* guest: U/S=1 at every level */
  uint16_t domid;
  uint32_t pasid;
  uint8_t shift;
  uint64_t iova, out, gpa;
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
  /* 3.4.12 field positions; PPRSup, GASup, HESup, PCSup... are 0: not modelled. The guest
   * translation fields (GTSup [4], GATS [13:12], GLXSup [15:14], PASmax [36:32], USSup [37],
   * GIoSup [48]) are advertised only by a unit with GTSup. */
  uint64_t efr = (uint64_t)p->prefsup | (uint64_t)p->iasup << 6 | (uint64_t)(p->hats & 3) << 10 |
                 (uint64_t)p->hasup << 49 | (uint64_t)p->hdsup << 52;
  if (p->gtsup)
    efr |= BIT(4) | (uint64_t)(p->gats & 3) << 12 | (uint64_t)(p->glxsup & 3) << 14 |
           (uint64_t)(p->pasmax & 0x1f) << 32 | (uint64_t)p->ussup << 37 | (uint64_t)p->giosup << 48;
  return efr;
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

/* The access an event reports: requester, address, direction, and whether it is a guest-level
 * one (GN=1: the address is a GVA and the entry carries the PASID instead of the DomainID). A
 * request is always a memory request here: I=0, TR=0. */
struct acc {
  uint16_t sid;
  uint64_t addr;
  bool write;
  bool gn;
  bool user;                    /* GN=1: a user-level request (PMR=0, or untagged through GIoV) */
  uint32_t pasid;
};

static uint64_t acc_rw(const struct acc *a) { return a->write ? F_RW : 0; }

/* PASID[19:16] in [19:16] and PASID[15:0] in [47:32] (2.5.2, 2.5.3). */
static uint64_t pasid_fields(uint32_t pasid)
{
  return (uint64_t)((pasid >> 16) & 0xf) << 16 | (uint64_t)(pasid & 0xffff) << 32;
}

/* IO_PAGE_FAULT (2.5.3) with DTE.SA/SE suppression: SA suppresses every page fault event of the
 * device, SE every one after the first since its entry was cached. GN=0: DomainID in [47:32];
 * GN=1: the PASID, and US set for a user-level request. */
static void io_page_fault(struct amd_model *m, const struct acc *a, struct dte_ent *d, uint16_t domid,
                          uint64_t flags)
{
  if (d && ((d->q1 & D1_SA) || ((d->q1 & D1_SE) && d->pf_logged))) {
    m->st.events_suppressed++;
    return;
  }
  uint64_t id = a->gn ? F_GN | (a->user ? F_US : 0) | pasid_fields(a->pasid) : (uint64_t)domid << 32;
  log_event(m, (uint64_t)EV_IO_PAGE_FAULT << 60 | flags | acc_rw(a) | id | a->sid, a->addr);
  if (d)
    d->pf_logged = true;
}

static void illegal_dte(struct amd_model *m, const struct acc *a, bool rz)
{
  /* 2.5.2: RZ=1 reserved bit set, RZ=0 invalid level (Mode, GLX, guest paging mode) encoding;
   * GN and the PASID for a PASID-tagged request; Address[63:2]. */
  uint64_t id = a->gn ? F_GN | pasid_fields(a->pasid) : 0;
  log_event(m, (uint64_t)EV_ILLEGAL_DTE << 60 | (rz ? F_RZ : 0) | acc_rw(a) | id | a->sid, a->addr & ~3ull);
}

/* PAGE_TAB_HARDWARE_ERROR (2.5.5): the table entry at ea (an SPA) could not be accessed; D/P
 * [47:32] holds the DomainID, or PASID[15:0] with GN=1 (the format has no PASID[19:16]). */
static void page_tab_hw(struct amd_model *m, const struct acc *a, uint16_t domid, uint64_t ea)
{
  uint64_t id = a->gn ? F_GN | (uint64_t)(a->pasid & 0xffff) << 32 : (uint64_t)domid << 32;
  log_event(m, (uint64_t)EV_PAGE_TAB_HW << 60 | HW_MASTER_ABORT << 57 | acc_rw(a) | id | a->sid, ea);
}

/* ---------------------------------------------------------------- caches */

static struct dte_ent *dte_find(struct amd_model *m, uint16_t devid)
{
  for (unsigned i = 0; i < m->p.dte_cache_entries; i++)
    if (m->dte[i].valid && m->dte[i].devid == devid)
      return &m->dte[i];
  return NULL;
}

static struct dte_ent *dte_insert(struct amd_model *m, uint16_t devid, const uint64_t q[3])
{
  struct dte_ent *e = dte_find(m, devid);
  if (e == NULL)
    e = &m->dte[m->dte_next++ % m->p.dte_cache_entries];
  *e = (struct dte_ent){ .valid = true, .devid = devid, .q0 = q[0], .q1 = q[1], .q2 = q[2] };
  return e;
}

/* A host translation of addr in domid (guest = false), or a guest one of (domid, pasid). */
static struct tlb_ent *tlb_find(struct amd_model *m, bool guest, uint16_t domid, uint32_t pasid,
                                uint64_t addr)
{
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (t->valid && t->guest == guest && t->domid == domid && (!guest || t->pasid == pasid) &&
        (addr >> t->shift) == (t->iova >> t->shift))
      return t;
  }
  return NULL;
}

static void tlb_insert(struct amd_model *m, const struct tlb_ent *e)
{
  struct tlb_ent *slot = tlb_find(m, e->guest, e->domid, e->pasid, e->iova);
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
 * bytes), so 7FFF_FFFF_FFFF_F000h names every page. GN=0: every host translation of the domain
 * that overlaps the range (a GPA range) is removed, and every nested guest translation of the
 * domain whose GPA it overlaps (model choice: a GVA -> SPA entry made from the GPA -> SPA
 * translation goes with it). GN=1: every guest translation of (domain, PASID) whose GVA range
 * overlaps it. */
static void inv_pages(struct amd_model *m, uint16_t domid, uint32_t pasid, uint64_t addr, bool s, bool gn)
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
    uint64_t at;
    if (gn) {
      if (!t->guest || t->pasid != pasid)
        continue;
      at = t->iova;
    } else if (t->guest) {
      if (!t->nested)
        continue; /* GPA = SPA (Mode 0): no host translation behind it */
      at = t->gpa;
    } else {
      at = t->iova;
    }
    uint64_t tb = at & ~(BIT(t->shift) - 1), tl = tb + (BIT(t->shift) - 1);
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

/* Reserved bits of DTE bits 127:0 when V=1 (2.2.2.1): qword 0 bits 6:2 and 63; PPR and GRPR
 * (bits 53:52) need PPRSup, which this unit lacks; GV, GLX and the GCR3 table root pointer
 * (bits 60:55, qword 1 bits 31:16 and 63:43) need EFR.GTSup, GIoV (bit 54) GTSup and GIoSup;
 * qword 1 bit 42. */
static void dte_reserved(const struct amd_model *m, uint64_t *r0, uint64_t *r1)
{
  *r0 = GENMASK(6, 2) | BIT(63) | GENMASK(53, 52);
  *r1 = BIT(42);
  if (!m->p.gtsup) {
    *r0 |= GENMASK(60, 55);
    *r1 |= GENMASK(31, 16) | GENMASK(63, 43);
  }
  if (!m->p.gtsup || !m->p.giosup)
    *r0 |= D_GIOV;
}

/* Validates a V=1 entry: 0, or the ILLEGAL_DEV_TABLE_ENTRY RZ value + 1. HAD (bits 8:7): 01b
 * Access updates (needs EFR.HASup), 11b Access and Dirty (needs HASup and HDSup), 10b reserved;
 * an update the unit cannot do is a reserved setting (model choice: the spec text available
 * did not say whether it is ignored instead). With GV=1: GLX beyond EFR.GLXSup (11b is always
 * reserved) and a GuestPagingMode (qword 2 [55:54]) beyond EFR.GATS (1x reserved) are invalid
 * level encodings, RZ=0 (model choice, as for Mode). With GV=0 the guest fields are ignored. */
static int dte_check(const struct amd_model *m, uint64_t q0, uint64_t q1, uint64_t q2)
{
  uint64_t r0, r1;
  dte_reserved(m, &r0, &r1);
  if ((q0 & r0) || (q1 & r1))
    return 2;
  unsigned had = (unsigned)(q0 >> D_HAD_SHIFT) & 3;
  if (had == 2 || (had && !m->p.hasup) || (had == 3 && !m->p.hdsup))
    return 2;
  unsigned mode = (unsigned)(q0 >> D_MODE_SHIFT) & 7;
  if ((q0 & D_TV) && mode > max_mode(m))
    return 1; /* Mode 7 is reserved; modes deeper than EFR.HATS allows are not supported */
  if (m->p.gtsup && (q0 & D_GV)) {
    unsigned glx = (unsigned)(q0 >> D_GLX_SHIFT) & 3, gpm = (unsigned)(q2 >> D2_GPM_SHIFT) & 3;
    if (glx > m->p.glxsup || gpm > m->p.gats)
      return 1;
  }
  return 0;
}

/* GCR3 Table Root Pointer (2.2.2.1): [14:12] in qword 0 [60:58], [30:15] in qword 1 [31:16],
 * [51:31] in qword 1 [63:43]. An SPA (no GCR3TRPMode). */
static uint64_t gcr3_root(uint64_t q0, uint64_t q1)
{
  return ((q0 >> 58) & 7) << 12 | ((q1 >> 16) & 0xffff) << 15 | ((q1 >> 43) & 0x1fffff) << 31;
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

/* The DTE of a->sid, from the cache or the device table; NULL when the request was refused
 * (the event is logged). */
static struct dte_ent *dte_get(struct amd_model *m, const struct acc *a, struct dte_ent *tmp, bool *illegal)
{
  *illegal = false;
  struct dte_ent *d = dte_find(m, a->sid);
  if (d) {
    m->st.dte_hits++;
    return d;
  }
  /* 3.4.1: the table holds (Size + 1) 4 KiB pages; a DeviceID beyond it has no entry. */
  uint64_t bytes = ((m->devtab & 0x1ff) + 1) * 4096ull;
  if ((uint64_t)a->sid * 32 + 32 > bytes) {
    io_page_fault(m, a, NULL, 0, 0); /* model choice: IO_PAGE_FAULT, PR=0 */
    return NULL;
  }
  uint64_t ea = (m->devtab & ADDR_MASK) + (uint64_t)a->sid * 32, q[4];
  m->st.dte_reads++;
  if (model_mem_read(ea, q, sizeof(q))) {
    log_event(m, (uint64_t)EV_DEV_TAB_HW << 60 | HW_MASTER_ABORT << 57 | acc_rw(a) | a->sid, ea);
    return NULL;
  }
  if ((q[0] & D_V) && dte_check(m, q[0], q[1], q[2])) {
    /* Not cached: an illegal entry is read again on the next request. */
    *tmp = (struct dte_ent){ .valid = false, .devid = a->sid, .q0 = q[0], .q1 = q[1], .q2 = q[2] };
    *illegal = true;
    return tmp;
  }
  return dte_insert(m, a->sid, q);
}

/* A successful host-level translation: the output address and what its leaf allows (a guest
 * translation's IOTLB entry combines them with the guest leaf). */
struct host_res {
  uint64_t out;
  unsigned shift;
  bool ir, iw, dirty_ok;
};

/* a->addr through the DTE's v1 host table (Mode 1..6, 2.2.3), by way of the IOTLB; faults
 * are logged with the DomainID (GN=0). For an untagged request, and (nested) for every GPA a
 * guest translation touches. false when refused. */
static bool host_translate(struct amd_model *m, const struct acc *a, struct dte_ent *d, struct host_res *r)
{
  uint64_t q0 = d->q0;
  uint16_t domid = (uint16_t)d->q1;
  unsigned mode = (unsigned)(q0 >> D_MODE_SHIFT) & 7;
  /* Address bits above the ones the root level translates must be zero (modes 1..5). */
  if (mode < 6 && (a->addr >> level_shift(mode + 1))) {
    io_page_fault(m, a, d, domid, 0);
    return false;
  }
  unsigned had = (unsigned)(q0 >> D_HAD_SHIFT) & 3;
  bool ha = had & 1, hd = had == 3;
  struct tlb_ent *t = tlb_find(m, false, domid, 0, a->addr);
  if (t && t->negative) {
    m->st.negative_hits++;
    io_page_fault(m, a, d, domid, 0);
    return false;
  }
  if (t) {
    if (a->write ? (t->iw && t->dirty_ok) : t->ir) {
      m->st.iotlb_hits++;
      *r = (struct host_res){ t->out | (a->addr & (BIT(t->shift) - 1)), t->shift, t->ir, t->iw, t->dirty_ok };
      return true;
    }
    t->valid = false; /* denied or needs D set: walk again (hardware may re-walk any time) */
  }
  m->st.iotlb_misses++;
  struct walk w;
  enum walk_result res = v1_walk(m, q0, mode, a->addr, a->write, ha, hd, &w);
  uint64_t err = 0;
  if (res == W_OK && w.n_upd && apply_updates(m, &w, &err)) {
    res = W_HWERR;
    w.err_addr = err;
  }
  switch (res) {
  case W_OK:
    break;
  case W_NOT_PRESENT:
    if (m->p.npcache) {
      struct tlb_ent n = { .domid = domid, .negative = true, .iova = a->addr & ~0xfffull, .shift = 12 };
      tlb_insert(m, &n);
    }
    io_page_fault(m, a, d, domid, 0);
    return false;
  case W_PERM:
    io_page_fault(m, a, d, domid, F_PR | F_PE);
    return false;
  case W_RSVD:
    io_page_fault(m, a, d, domid, F_PR | F_RZ);
    return false;
  case W_LEVEL:
    io_page_fault(m, a, d, domid, F_PR); /* invalid level / page size: PR=1, RZ=0, PE=0 */
    return false;
  case W_HWERR:
    page_tab_hw(m, a, domid, w.err_addr);
    return false;
  }
  struct tlb_ent e = {
    .domid = domid, .iova = a->addr & ~(BIT(w.shift) - 1), .shift = (uint8_t)w.shift,
    .out = w.out_page, .ir = w.ir, .iw = w.iw, .dirty_ok = w.dirty_ok,
  };
  tlb_insert(m, &e);
  *r = (struct host_res){ w.out_page | (a->addr & (BIT(w.shift) - 1)), w.shift, w.ir, w.iw, w.dirty_ok };
  return true;
}

/* A GPA of a guest translation as the IOMMU reaches it (2.2.6): through the DTE's v1 table
 * when its Mode is 1..6 (nested; a fault there is a host-level one, GN=0, reporting the GPA
 * and the direction of this access), as is with Mode 0 (GPA = SPA; r then allows
 * everything, the DTE's IR/IW having been checked for the request). */
static bool gpa_to_spa(struct amd_model *m, const struct acc *ga, struct dte_ent *d, uint64_t gpa, bool write,
                       struct host_res *r)
{
  if (((d->q0 >> D_MODE_SHIFT) & 7) == 0) {
    *r = (struct host_res){ gpa, 63, true, true, true };
    return true;
  }
  struct acc ha = { .sid = ga->sid, .addr = gpa, .write = write };
  return host_translate(m, &ha, d, r);
}

/* Guest (v2) translation of a->addr for PASID a->pasid (2.2.6): the GCR3 table (GLX + 1
 * levels, 9 PASID bits each, SPA pointers; bit 0 valid, bits 63:52 reserved, bits 11:1
 * ignored: model choice), the guest CR3 it holds (a GPA), and the AMD64 long-mode walk
 * (4 levels, or 5 with GuestPagingMode 01b) whose every table read is a GPA access, then the
 * final GPA through the host table. A bits are set in every guest entry used and D in the
 * leaf on a write, once the whole translation succeeded; those are writes to guest memory and
 * need the host translation to allow writing (model choice, as a CPU's nested walk does). */
static bool guest_translate(struct amd_model *m, const struct acc *a, struct dte_ent *d, uint64_t *out)
{
  uint64_t q0 = d->q0, q1 = d->q1, q2 = d->q2;
  uint16_t domid = (uint16_t)q1;
  bool nested = ((q0 >> D_MODE_SHIFT) & 7) != 0;
  bool user = a->user && m->p.ussup; /* without USSup, U/S is not checked */
  struct tlb_ent *t = tlb_find(m, true, domid, a->pasid, a->addr);
  if (t && t->negative) {
    m->st.negative_hits++;
    io_page_fault(m, a, d, domid, 0);
    return false;
  }
  if (t) {
    if ((a->write ? (t->iw && t->dirty_ok) : t->ir) && (!user || t->user)) {
      m->st.iotlb_hits++;
      m->st.guest_translated++;
      *out = t->out | (a->addr & (BIT(t->shift) - 1));
      return true;
    }
    t->valid = false; /* denied or needs D set: walk again */
  }
  m->st.iotlb_misses++;
  m->st.guest_walks++;
  const struct tlb_ent neg = {
    .guest = true, .negative = true, .domid = domid, .pasid = a->pasid, .iova = a->addr & ~0xfffull,
    .shift = 12,
  };

  /* GCR3 table: level l is indexed by PASID bits 9l+8:9l. A PASID with bits above the
   * table's reach has no entry (model choice: IO_PAGE_FAULT GN=1 PR=0). */
  unsigned glx = (unsigned)(q0 >> D_GLX_SHIFT) & 3;
  if (a->pasid >> (9 * (glx + 1))) {
    io_page_fault(m, a, d, domid, 0);
    return false;
  }
  uint64_t table = gcr3_root(q0, q1), cr3 = 0;
  for (int l = (int)glx; l >= 0; l--) {
    uint64_t ea = table + ((a->pasid >> (9 * l)) & 0x1ff) * 8, e;
    if (model_mem_read64(ea, &e)) {
      page_tab_hw(m, a, domid, ea);
      return false;
    }
    if (!(e & G_V)) {
      if (m->p.npcache)
        tlb_insert(m, &neg);
      io_page_fault(m, a, d, domid, 0);
      return false;
    }
    if (e & GENMASK(63, 52)) {
      io_page_fault(m, a, d, domid, F_PR | F_RZ);
      return false;
    }
    if (l == 0)
      cr3 = e & ADDR_MASK;
    else
      table = e & ADDR_MASK;
  }

  /* The guest table: a canonical GVA (bits 63:47, or 63:56 with 5 levels, all equal; model
   * choice: a non-canonical one faults as not present). */
  unsigned levels = ((q2 >> D2_GPM_SHIFT) & 3) == 1 ? 5 : 4, top_bit = level_shift(levels + 1) - 1;
  uint64_t top = a->addr >> top_bit;
  if (top != 0 && top != (~0ull >> top_bit)) {
    io_page_fault(m, a, d, domid, 0);
    return false;
  }
  uint64_t upd_gpa[5], upd_bits[5];
  unsigned n_upd = 0, level = levels, shift = 12;
  uint64_t tgpa = cr3, egpa = 0, e = 0;
  bool rw = true, us = true;
  for (;; level--) {
    egpa = tgpa + ((a->addr >> level_shift(level)) & 0x1ff) * 8;
    struct host_res h;
    if (!gpa_to_spa(m, a, d, egpa, false, &h))
      return false;
    if (model_mem_read64(h.out, &e)) {
      page_tab_hw(m, a, domid, h.out);
      return false;
    }
    if (!(e & GP_P)) {
      if (m->p.npcache)
        tlb_insert(m, &neg);
      io_page_fault(m, a, d, domid, 0);
      return false;
    }
    /* PS ends the walk at a PDPE (1 GiB) or PDE (2 MiB). Must-be-zero bits: PML5E/PML4E bits
     * 8:7, and a large page's bits between the PAT bit (12) and its address. NX and the
     * available bits are not checked (no execute requests). */
    bool leaf = level == 1 || (level <= 3 && (e & GP_PS));
    uint64_t mbz = 0;
    if (level >= 4)
      mbz = GENMASK(8, 7);
    else if (leaf && level == 3)
      mbz = GENMASK(29, 13);
    else if (leaf && level == 2)
      mbz = GENMASK(20, 13);
    if (e & mbz) {
      io_page_fault(m, a, d, domid, F_PR | F_RZ);
      return false;
    }
    rw = rw && (e & GP_RW);
    us = us && (e & GP_US);
    if (!(e & GP_A)) {
      upd_gpa[n_upd] = egpa;
      upd_bits[n_upd++] = GP_A;
    }
    if (leaf) {
      shift = level_shift(level);
      break;
    }
    tgpa = e & ADDR_MASK;
  }
  /* R/W=0 anywhere denies writes (as with CR0.WP=1, whatever the privilege); U/S=0 anywhere
   * denies user-level requests. */
  if ((user && !us) || (a->write && !rw)) {
    io_page_fault(m, a, d, domid, F_PR | F_PE);
    return false;
  }
  if (a->write && !(e & GP_D)) {
    if (n_upd && upd_gpa[n_upd - 1] == egpa) {
      upd_bits[n_upd - 1] |= GP_D;
    } else {
      upd_gpa[n_upd] = egpa;
      upd_bits[n_upd++] = GP_D;
    }
  }
  uint64_t gpa = (e & ADDR_MASK & ~(BIT(shift) - 1)) | (a->addr & (BIT(shift) - 1));
  struct host_res h;
  if (!gpa_to_spa(m, a, d, gpa, a->write, &h))
    return false;
  for (unsigned i = 0; i < n_upd; i++) {
    struct host_res u;
    uint64_t v;
    if (!gpa_to_spa(m, a, d, upd_gpa[i], true, &u))
      return false;
    if (model_mem_read64(u.out, &v) || model_mem_write64(u.out, v | upd_bits[i])) {
      page_tab_hw(m, a, domid, u.out);
      return false;
    }
    m->st.guest_ad_updates++;
  }
  /* One IOTLB entry for the smaller of the guest and the host page. */
  unsigned cs = shift < h.shift ? shift : h.shift;
  struct tlb_ent te = {
    .guest = true, .nested = nested, .user = us, .domid = domid, .pasid = a->pasid, .shift = (uint8_t)cs,
    .iova = a->addr & ~(BIT(cs) - 1), .out = h.out & ~(BIT(cs) - 1), .gpa = gpa & ~(BIT(cs) - 1),
    .ir = h.ir, .iw = rw && h.iw, .dirty_ok = (a->write || (e & GP_D)) && h.dirty_ok,
  };
  tlb_insert(m, &te);
  *out = h.out;
  m->st.guest_translated++;
  return true;
}

static bool translate(struct amd_model *m, const struct model_dma_req *req, uint64_t *out)
{
  bool tagged = req->has_pasid;
  if (tagged && !m->p.gtsup) {
    /* No guest translation (EFR.GTSup=0, no PASID support): the root complex does not take
     * End-End TLP prefixes and refuses the request as malformed (PCIe 6.0 2.2.10.4) before it
     * reaches the IOMMU, so no event is logged (model choice). */
    m->st.pasid_refused++;
    return false;
  }
  struct acc a = { .sid = req->sid, .addr = req->addr, .write = req->write, .gn = tagged,
                   .user = tagged && !req->priv, .pasid = tagged ? req->pasid : 0 };
  if (tagged && ((uint64_t)req->pasid >> (m->p.pasmax + 1))) {
    /* A PASID beyond EFR.PASmax (3.4.12): refused with IO_PAGE_FAULT GN=1 PR=0 before the
     * device table is consulted (model choice). */
    m->st.pasid_refused++;
    io_page_fault(m, &a, NULL, 0, 0);
    return false;
  }
  struct dte_ent tmp, *d;
  bool illegal;
  if ((d = dte_get(m, &a, &tmp, &illegal)) == NULL)
    return false;
  uint64_t q0 = d->q0, q1 = d->q1;
  if (!(q0 & D_V)) {
    /* V=0: no translation information; the request goes through untranslated (a PASID
     * prefix too: the IOMMU does not translate this device). */
    m->st.untranslated++;
    *out = req->addr;
    return true;
  }
  if (illegal) {
    illegal_dte(m, &a, dte_check(m, q0, q1, d->q2) == 2);
    return false;
  }
  /* The exclusion range names system addresses; a GVA is never excluded (model choice). */
  if (!tagged && excluded(m, req->addr, q1, true)) {
    m->st.excluded++;
    *out = req->addr;
    return true;
  }
  uint16_t domid = (uint16_t)q1;
  if (!(q0 & D_TV)) {
    /* V=1 TV=0: the root pointer is not valid; the walk is terminated (model choice: the
     * request is refused with IO_PAGE_FAULT PR=0, as VirtualBox and current QEMU do). */
    io_page_fault(m, &a, d, domid, 0);
    return false;
  }
  /* The DTE's IR/IW bound every request of the device, guest translations included. */
  bool ir = q0 & D_IR, iw = q0 & D_IW;
  if (req->write ? !iw : !ir) {
    io_page_fault(m, &a, d, domid, F_PR | F_PE);
    return false;
  }
  /* Guest translation needs GTSup, Control.GTEn and DTE.GV. */
  bool gv = m->p.gtsup && (m->control & C_GT_EN) && (q0 & D_GV);
  if (tagged) {
    if (!gv) {
      /* A PASID-tagged request with no guest tables to use: refused with IO_PAGE_FAULT GN=1
       * PR=0 (model choice; the PASID is not dropped to translate the GVA as a GPA). */
      io_page_fault(m, &a, d, domid, 0);
      return false;
    }
    return guest_translate(m, &a, d, out);
  }
  if (gv && (q0 & D_GIOV)) {
    /* GIoV: an untagged request uses PASID 0's guest tables, as a user-level request (it
     * carries no PMR); its guest-level faults report GN=1 with PASID 0 (model choice). */
    a.gn = true;
    a.user = true;
    a.pasid = 0;
    return guest_translate(m, &a, d, out);
  }
  /* Untagged without GIoV: the address is a GPA, translated by the host table alone (with
   * GV=1 too: model choice, the reading of GIoV=0 in 2.2.2.1 this model takes). */
  unsigned mode = (unsigned)(q0 >> D_MODE_SHIFT) & 7;
  if (mode == 0) {
    /* Mode 0: untranslated, access controlled by the DTE's IR/IW alone. */
    m->st.untranslated++;
    *out = req->addr;
    return true;
  }
  struct host_res h;
  if (!host_translate(m, &a, d, &h))
    return false;
  *out = h.out;
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
    /* GN=1 names the guest translations of PASID [19:0] (a GVA range), GN=0 the domain's GPA
     * range (inv_pages). PDE concerns cached page directory entries; only leaf translations
     * are cached here. */
    if (c[1] & BIT(2))
      m->st.cmd_inv_pages_guest++;
    inv_pages(m, (uint16_t)(c[0] >> 32), (uint32_t)c[0] & 0xfffff, c[1] & ~0xfffull, c[1] & BIT(0),
              c[1] & BIT(2));
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
  /* GVASize [7:5] 010b (48 bits) with guest translation (the larger 5-level reach is
   * advertised by EFR.GATS). */
  uint32_t misc0 = (m->p.gtsup ? 2u << 5 : 0) | (m->p.pa_bits & 0x7f) << 8 | 64u << 15;
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
  /* PASIDs are 20 bits at most (PASmax <= 19); GLXSup 11b and GATS 1xb are reserved. */
  if (p->gtsup && (p->pasmax > 19 || p->glxsup > 2 || p->gats > 1))
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
