/* Functional SMMUv3 model, from the Arm SMMU architecture specification (IHI 0070 G.b) and
 * the VMSAv8-64 translation table formats of the Arm ARM. Section numbers below refer to
 * IHI 0070. Not derived from iommu/smmuv3: every structure, command and register is decoded
 * here again from the spec's field descriptions, so a driver that writes a field in the wrong
 * place is answered the way an SMMU would answer it (C_BAD_STE, C_BAD_CD, a translation
 * fault, CERROR_ILL, or no effect).
 *
 * What is modelled:
 *  - Page 0 and Page 1 registers (6.2, 6.3): ID registers built from parameters, CR0/CR0ACK,
 *    CR1/CR2, GBPA with the Update procedure (6.3.14.1: a write without Update is IGNORED),
 *    IRQ_CTRL/IRQ_CTRLACK, GERROR/GERRORN, the *_IRQ_CFG MSI registers (when IDR0.MSI),
 *    STRTAB_BASE(_CFG), CMDQ/EVENTQ BASE/PROD/CONS; registers Guarded by SMMUEN, CMDQEN,
 *    EVENTQEN or an IRQEN ignore writes while Guarded (the SMMUv3.2 rule, permitted in 3.1);
 *  - the Stream table, linear and 2-level (SPLIT 6/8/10, L1STD.Span), C_BAD_STREAMID under
 *    CR2.RECINVSID, F_STE_FETCH; STE validity as in 5.2.2 (C_BAD_STE), Config abort/bypass/
 *    stage 1/stage 2/nested; substreams: S1CDMax, S1DSS, S1Fmt linear and 2-level CD tables
 *    (with IDR0.CD2L), C_BAD_SUBSTREAMID, F_STREAM_DISABLED; CD validity as in 5.4.2;
 *  - VMSAv8-64 walks for 4K, 16K and 64K granules: stage 1 (TTB0/TTB1, TxSZ, TBI, EPDx,
 *    AP[2:1], APTable, nG, IPS Address Size faults), stage 2 (S2T0SZ/S2SL0/S2TG consistency
 *    with concatenated start tables, S2AP, S2PS), nested stage 1 + 2 (CD and descriptor fetches
 *    translated by stage 2, CLASS CD/TT/IN); AF faults unless AFFD; HTTU (3.13): Access flag
 *    with CD.HA/STE.S2HA, dirty state through DBM with CD.HD/STE.S2HD;
 *  - fault configuration A/R (5.5): R=0 suppresses the record, A=0 completes with RAZ/WI
 *    (only with IDR0.TERM_MODEL=0), stage 2 always aborts;
 *  - caches: STE (by StreamID), L1STD (by level-1 index), CD and L1CD (by StreamID and index),
 *    all holding what was fetched in any state (5.2.1: a fetched STE might be cached in any
 *    state), emptied only by CMD_CFGI_* of the right scope (a leaf CFGI_STE leaves the L1STD);
 *    a TLB of leaf translations tagged stage 1 (VMID, ASID or global), stage 2 (VMID, IPA) or
 *    nested (VMID, ASID, VA), emptied only by the TLBI whose scope covers them (4.4), range
 *    forms with TG/TTL/NUM/SCALE when IDR3.RIL;
 *  - the Command queue processed when PROD is written, CMDQEN set or CMDQ_ERR acknowledged
 *    (4.1.2): CFGI_*, TLBI_NH_*, TLBI_S2_IPA, TLBI_S12_VMALL, TLBI_NSNH_ALL, CMD_SYNC
 *    (SIG_NONE/SIG_IRQ with the MSI write/SIG_SEV), PREFETCH_* (accepted, nothing fetched);
 *    CERROR_ILL for reserved opcodes, commands of absent features, Reserved fields set
 *    (4.1.5: the detecting implementation choice) and ILLEGAL parameters, CERROR_ABT for an
 *    unreadable entry, CONS left on the failing command (7.1);
 *  - the Event queue (7.2 - 7.4): records in the 7.3 formats (SSV/SubstreamID, StreamID, RnW,
 *    PnU, InD, S2, CLASS, TTRnW, InputAddr, IPA, FetchAddr), written only while EVENTQEN and
 *    writable, overflow toggling EVENTQ_PROD.OVFLG when a record is discarded on a full queue
 *    and no overflow is pending, EVENTQ_ABT_ERR when a record cannot be written; the Event
 *    queue MSI on the empty -> non-empty transition, GERROR MSIs.
 * What is not: Secure/Realm state, ATS/PRI, stalls (IDR0.STALL_MODEL = 0b01, terminate only),
 * EL2 StreamWorlds (IDR0.HYP = 0), broadcast TLB maintenance (BTM = 0), VMSAv8-32 and
 * VMSAv9-128 tables, 52-bit addresses, memory attributes and the STE/GBPA overrides (they
 * change no data), event merging (permitted, never done), table-descriptor AF (HAFT),
 * intermediate (walk) caches: only leaf translations are cached. */
#include "tests/model/smmu_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"

#define BIT(n) (1ull << (n))
#define GENMASK(hi, lo) ((((hi) >= 63) ? ~0ull : (BIT((hi) + 1) - 1)) & ~(BIT(lo) - 1))

static uint64_t fld(uint64_t v, unsigned hi, unsigned lo) { return (v & GENMASK(hi, lo)) >> lo; }
/* v with bits [log2 - 1:0] cleared (any log2 up to 64 and beyond). */
static uint64_t align_down(uint64_t v, unsigned log2) { return log2 >= 64 ? 0 : v & ~(BIT(log2) - 1); }

/* ---------------------------------------------------------------- encodings */

/* Register offsets (6.2.1, 6.2.2). */
enum {
  R_IDR0 = 0x00, R_IDR5 = 0x14, R_IIDR = 0x18, R_AIDR = 0x1c, R_CR0 = 0x20, R_CR0ACK = 0x24,
  R_CR1 = 0x28, R_CR2 = 0x2c, R_STATUSR = 0x40, R_GBPA = 0x44, R_AGBPA = 0x48,
  R_IRQ_CTRL = 0x50, R_IRQ_CTRLACK = 0x54, R_GERROR = 0x60, R_GERRORN = 0x64,
  R_GERROR_IRQ_CFG0 = 0x68, R_GERROR_IRQ_CFG1 = 0x70, R_GERROR_IRQ_CFG2 = 0x74,
  R_STRTAB_BASE = 0x80, R_STRTAB_BASE_CFG = 0x88, R_CMDQ_BASE = 0x90, R_CMDQ_PROD = 0x98,
  R_CMDQ_CONS = 0x9c, R_EVENTQ_BASE = 0xa0, R_EVENTQ_IRQ_CFG0 = 0xb0, R_EVENTQ_IRQ_CFG1 = 0xb8,
  R_EVENTQ_IRQ_CFG2 = 0xbc, R_EVENTQ_PROD = 0x100a8, R_EVENTQ_CONS = 0x100ac,
};

#define CR0_SMMUEN 0x1u
#define CR0_EVENTQEN 0x4u
#define CR0_CMDQEN 0x8u
#define CR2_RECINVSID 0x2u
#define GBPA_UPDATE (1u << 31)
#define GBPA_ABORT (1u << 20)
#define GBPA_FIELDS 0x001f3f1fu      /* ABORT, INSTCFG, PRIVCFG, SHCFG, ALLOCCFG, MTCFG, MemAttr */
#define IRQ_GERROR 0x1u
#define IRQ_EVENTQ 0x4u
#define GE_CMDQ 0x1u
#define GE_EVENTQ_ABT 0x4u
#define GE_MSI_CMDQ_ABT 0x10u
#define GE_MSI_EVENTQ_ABT 0x20u
#define GE_MSI_GERROR_ABT 0x80u
#define Q_OVFLG (1u << 31)
#define Q_IDX_MASK 0xfffffu           /* PROD.WR / CONS.RD: up to 19 index bits + wrap */
#define BASE_HI 0x40ffffffu           /* high half of *_BASE: RA/WA (bit 62), ADDR[55:32] */

/* CMDQ_CONS.ERR (7.1). */
enum { CERROR_NONE = 0, CERROR_ILL = 1, CERROR_ABT = 2 };

/* Command opcodes (4.1.1). */
enum {
  OP_PREFETCH_CONFIG = 0x01, OP_PREFETCH_ADDR = 0x02, OP_CFGI_STE = 0x03, OP_CFGI_STE_RANGE = 0x04,
  OP_CFGI_CD = 0x05, OP_CFGI_CD_ALL = 0x06, OP_TLBI_NH_ALL = 0x10, OP_TLBI_NH_ASID = 0x11,
  OP_TLBI_NH_VA = 0x12, OP_TLBI_NH_VAA = 0x13, OP_TLBI_S12_VMALL = 0x28, OP_TLBI_S2_IPA = 0x2a,
  OP_TLBI_NSNH_ALL = 0x30, OP_CMD_SYNC = 0x46,
};

/* Event numbers (7.3). */
enum {
  E_C_BAD_STREAMID = 0x02, E_F_STE_FETCH = 0x03, E_C_BAD_STE = 0x04, E_F_STREAM_DISABLED = 0x06,
  E_C_BAD_SUBSTREAMID = 0x08, E_F_CD_FETCH = 0x09, E_C_BAD_CD = 0x0a, E_F_WALK_EABT = 0x0b,
  E_F_TRANSLATION = 0x10, E_F_ADDR_SIZE = 0x11, E_F_ACCESS = 0x12, E_F_PERMISSION = 0x13,
};
enum { CLS_CD = 0, CLS_TT = 1, CLS_IN = 2 };   /* event CLASS (7.3) */

/* TLB entry kinds: what the tags mean. */
enum { K_S1 = 1, K_S2 = 2, K_S12 = 3 };

#define MAX_CFG 256
#define MAX_TLB 1024
#define STALL_MODEL 1u     /* terminate only */
#define TTENDIAN 2u        /* little-endian tables only */
#define TTF 2u             /* VMSAv8-64 only */

struct ste_ent { bool valid; uint32_t sid; uint64_t w[8]; };
struct l1std_ent { bool valid; uint32_t idx; unsigned split; uint64_t d; };
struct cd_ent { bool valid; uint32_t sid, ssid; uint64_t w[8]; };
struct l1cd_ent { bool valid; uint32_t sid, idx; unsigned span_shift; uint64_t d; };

struct tlb_ent {
  bool valid, global, r_u, w_u, r_p, w_p;
  uint8_t kind, shift, granule, level;
  uint16_t vmid, asid;
  uint64_t in, out;         /* input and output page, aligned to 1 << shift */
};

struct smmu_model {
  struct smmu_model_params p;
  uint32_t idr[6];
  unsigned oas_bits;
  uint32_t cr0, cr1, cr2, gbpa, irq_ctrl, gerror, gerrorn, gerror_mask;
  uint64_t gerror_irq_cfg0, evtq_irq_cfg0;
  uint32_t gerror_irq_cfg1, gerror_irq_cfg2, evtq_irq_cfg1, evtq_irq_cfg2;
  uint64_t strtab_base;
  uint32_t strtab_cfg;
  uint64_t cmdq_base;
  uint32_t cmdq_prod, cmdq_cons, cmdq_err;
  uint64_t evtq_base;
  uint32_t evtq_prod, evtq_cons;

  struct ste_ent ste[MAX_CFG];
  struct l1std_ent l1std[MAX_CFG];
  struct cd_ent cd[MAX_CFG];
  struct l1cd_ent l1cd[MAX_CFG];
  unsigned ste_next, l1std_next, cd_next, l1cd_next;
  struct tlb_ent tlb[MAX_TLB];
  unsigned tlb_next;

  struct smmu_model_stats st;
};

static struct smmu_model *instance;

/* ---------------------------------------------------------------- parameters */

void smmu_model_params_default(struct smmu_model_params *p)
{
  memset(p, 0, sizeof(*p));
  p->base = 0x09050000ull;
  p->s1p = true;
  p->cohacc = true;
  p->asid16 = true;
  p->term_model = true;
  p->st_level = 1;
  p->sidsize = 16;
  p->eventqs = 19;
  p->cmdqs = 19;
  p->ril = true;
  p->oas = 4;
  p->granules = 0x7;
  p->aidr_minor = 1;
  p->tlb_entries = 256;
  p->cfg_entries = 64;
}

uint32_t smmu_model_idr(const struct smmu_model_params *p, unsigned n)
{
  switch (n) {
  case 0: /* 6.3.1 */
    return (uint32_t)p->s2p | (uint32_t)p->s1p << 1 | TTF << 2 | (uint32_t)p->cohacc << 4 |
           (p->httu & 3u) << 6 | (uint32_t)p->asid16 << 12 | (uint32_t)p->msi << 13 |
           (uint32_t)p->sev << 14 | (uint32_t)p->vmid16 << 18 | (uint32_t)p->cd2l << 19 |
           TTENDIAN << 21 | STALL_MODEL << 24 | (uint32_t)p->term_model << 26 | (p->st_level & 3u) << 27;
  case 1: /* 6.3.2 */
    return (p->sidsize & 0x3fu) | (p->ssidsize & 0x1fu) << 6 | (p->eventqs & 0x1fu) << 16 |
           (p->cmdqs & 0x1fu) << 21;
  case 3: /* 6.3.4 */
    return (uint32_t)p->ril << 10;
  case 5: /* 6.3.6 */
    return (p->oas & 7u) | (p->granules & 7u) << 4;
  default:
    return 0;
  }
}

static const unsigned ps_bits_tab[8] = { 32, 36, 40, 42, 44, 48, 52, 56 };

/* A PS/IPS/S2PS code capped to the OAS (5.2 S2PS, 5.4 IPS: larger values behave as the cap). */
static unsigned eff_ps(const struct smmu_model *m, unsigned code)
{
  unsigned b = ps_bits_tab[code & 7];
  return b < m->oas_bits ? b : m->oas_bits;
}

/* IAS: without AArch32 tables IAS == OAS (3.4). */
static unsigned ias_bits(const struct smmu_model *m) { return m->oas_bits; }

/* TG0 / S2TG encoding -> log2 granule, 0 for Reserved. */
static unsigned tg0_granule(unsigned tg) { return tg == 0 ? 12 : tg == 1 ? 16 : tg == 2 ? 14 : 0; }
/* TG1 encoding (5.4 CD.TG1). */
static unsigned tg1_granule(unsigned tg) { return tg == 1 ? 14 : tg == 2 ? 12 : tg == 3 ? 16 : 0; }

static bool granule_supported(const struct smmu_model *m, unsigned g)
{
  return (g == 12 && (m->p.granules & 1)) || (g == 14 && (m->p.granules & 2)) ||
         (g == 16 && (m->p.granules & 4));
}

/* ---------------------------------------------------------------- global errors, MSIs */

static bool ge_active(const struct smmu_model *m, uint32_t bit)
{
  return ((m->gerror ^ m->gerrorn) & bit) != 0;
}

/* A 32-bit MSI write to memory (3.18); false when it aborted. Addresses above the OAS are
 * truncated (3.4.3). */
static bool msi_write(struct smmu_model *m, uint64_t addr, uint32_t data)
{
  addr &= GENMASK(55, 2) & (BIT(m->oas_bits) - 1);
  m->st.msi_writes++;
  return model_mem_write(addr, &data, 4) == 0;
}

/* 7.5: an error is activated by toggling GERROR[x] unless it is already active; the GERROR
 * interrupt follows (not for MSI_GERROR_ABT_ERR, 7.5.1). */
static void gerror_raise(struct smmu_model *m, uint32_t bit)
{
  if (ge_active(m, bit))
    return;
  m->gerror ^= bit;
  if (bit != GE_MSI_GERROR_ABT && (m->irq_ctrl & IRQ_GERROR) && m->p.msi &&
      (m->gerror_irq_cfg0 & GENMASK(55, 2)) && !msi_write(m, m->gerror_irq_cfg0, m->gerror_irq_cfg1))
    gerror_raise(m, GE_MSI_GERROR_ABT);
}

/* ---------------------------------------------------------------- queues */

static uint32_t qmask(unsigned log2) { return (2u << log2) - 1; }
static bool q_empty(uint32_t prod, uint32_t cons, unsigned log2)
{
  return ((prod ^ cons) & qmask(log2)) == 0;
}
static bool q_full(uint32_t prod, uint32_t cons, unsigned log2)
{
  return ((prod ^ cons) & qmask(log2)) == (1u << log2);
}
static uint32_t q_inc(uint32_t v, unsigned log2) { return (v + 1) & qmask(log2); }

/* LOG2SIZE capped at IDR1.CMDQS / EVENTQS (6.3.26, 6.3.29). */
static unsigned cmdq_log2(const struct smmu_model *m)
{
  unsigned l = (unsigned)(m->cmdq_base & 0x1f);
  return l < m->p.cmdqs ? l : m->p.cmdqs;
}
static unsigned evtq_log2(const struct smmu_model *m)
{
  unsigned l = (unsigned)(m->evtq_base & 0x1f);
  return l < m->p.eventqs ? l : m->p.eventqs;
}

/* Effective queue base: ADDR[55:5] aligned to the larger of the queue size or 32 bytes,
 * truncated to the OAS (6.3.26, 3.4.3). */
static uint64_t q_base(const struct smmu_model *m, uint64_t reg, unsigned entry_bytes, unsigned log2)
{
  uint64_t bytes = (uint64_t)entry_bytes << log2, align = bytes < 32 ? 32 : bytes;
  return reg & GENMASK(55, 5) & ~(align - 1) & (BIT(m->oas_bits) - 1);
}

/* 7.2.1 / 7.4: a record is written if the queue is enabled, not full and has no EVENTQ_ABT_ERR
 * pending; a record discarded because the queue is full raises the overflow condition. */
static void record_event(struct smmu_model *m, const uint64_t rec[4])
{
  m->st.last_event = (unsigned)(rec[0] & 0xff);
  if (!(m->cr0 & CR0_EVENTQEN) || ge_active(m, GE_EVENTQ_ABT)) {
    m->st.events_discarded++;
    return;
  }
  unsigned log2 = evtq_log2(m);
  uint32_t prod = m->evtq_prod & qmask(log2), cons = m->evtq_cons & qmask(log2);
  if (q_full(prod, cons, log2)) {
    m->st.events_discarded++;
    m->st.event_overflows++;
    if (((m->evtq_prod ^ m->evtq_cons) & Q_OVFLG) == 0)
      m->evtq_prod ^= Q_OVFLG; /* overflow condition entered */
    return;
  }
  uint64_t slot = q_base(m, m->evtq_base, 32, log2) + 32ull * (prod & ((1u << log2) - 1));
  if (model_mem_write(slot, rec, 32)) {
    /* 7.2.2: a synchronous abort: PROD is not incremented for the entry. */
    m->st.events_discarded++;
    gerror_raise(m, GE_EVENTQ_ABT);
    return;
  }
  bool was_empty = q_empty(prod, cons, log2);
  m->evtq_prod = (m->evtq_prod & Q_OVFLG) | q_inc(prod, log2);
  m->st.events++;
  /* 3.18.2: the Event queue interrupt fires on the empty -> non-empty transition. */
  if (was_empty && (m->irq_ctrl & IRQ_EVENTQ) && m->p.msi && (m->evtq_irq_cfg0 & GENMASK(55, 2)) &&
      !msi_write(m, m->evtq_irq_cfg0, m->evtq_irq_cfg1))
    gerror_raise(m, GE_MSI_EVENTQ_ABT);
}

/* ---------------------------------------------------------------- translation context */

struct stecfg {
  uint64_t w[8];
  unsigned config, s1fmt, s1cdmax, s1dss;
  uint64_t s1ctx;
  uint16_t vmid;            /* S2VMID, or 0 when it is IGNORED */
  unsigned s2g, s2ias, s2start, s2ps;
  uint64_t s2root;
  bool s2affd, s2ha, s2hd, s2r;
};

struct cdcfg {
  uint64_t w[8];
  unsigned t0sz, t1sz, g0, g1, ips;
  bool epd0, epd1, tbi0, tbi1, affd, ha, hd, a, r;
  uint16_t asid;
  uint64_t ttb0, ttb1;
};

/* One transaction on its way through the SMMU. */
struct xl {
  uint32_t sid;
  bool ssv;
  uint32_t ssid;
  bool rnw, pnu;
  uint64_t in;
  struct stecfg ste;
  bool have_cd;
  struct cdcfg cd;
  uint16_t vmid;            /* tag of stage 1 and stage 2 TLB entries */
};

/* An event as the translation found it (7.3 fields not taken from the transaction). */
struct ev {
  unsigned type;
  bool s2;
  unsigned cls;
  bool tt_write;            /* CLASS TT: the descriptor access was a write (TTRnW = 0) */
  uint64_t ipa, fetch;
};

enum { XL_OK = 0, XL_ABORT = 1, XL_RAZWI = 2 };

static void encode_event(const struct xl *x, const struct ev *e, uint64_t rec[4])
{
  memset(rec, 0, 32);
  /* SubstreamID is UNKNOWN without SSV (written as 0); C_BAD_SUBSTREAMID has no SSV
   * qualifier, its SubstreamID is always valid (7.3.9). */
  bool ssv = x->ssv && e->type != E_C_BAD_SUBSTREAMID;
  uint32_t ssid = x->ssv ? x->ssid & 0xfffff : 0;
  rec[0] = e->type | (uint64_t)ssv << 11 | (uint64_t)ssid << 12 | (uint64_t)x->sid << 32;
  switch (e->type) {
  case E_F_TRANSLATION: case E_F_ADDR_SIZE: case E_F_ACCESS: case E_F_PERMISSION: case E_F_WALK_EABT:
    /* InD = 0: PCIe requests are Data; PnU from the PASID prefix (3.9); RnW 1 = read. */
    rec[1] = (uint64_t)x->pnu << 33 | (uint64_t)x->rnw << 35 | (uint64_t)e->s2 << 39 | (uint64_t)e->cls << 40;
    if (e->type == E_F_PERMISSION && e->cls == CLS_TT && !e->tt_write)
      rec[1] |= BIT(44);                  /* TTRnW: the table access was a read */
    rec[2] = x->in;
    if (e->type == E_F_WALK_EABT)
      rec[3] = e->fetch & GENMASK(55, 3);
    else if (e->s2)
      rec[3] = e->ipa & GENMASK(55, 12);
    break;
  case E_F_STE_FETCH: case E_F_CD_FETCH:
    rec[3] = e->fetch & GENMASK(55, 3);
    break;
  default:
    break;
  }
}

/* Reports ev for x. The four Translation-related faults follow the A and R flags of the stage
 * (5.5: CD.A/CD.R for stage 1, STE.S2R for stage 2, which always aborts); every other event is
 * recorded and terminates the transaction with an abort. */
static int fail(struct smmu_model *m, const struct xl *x, const struct ev *e)
{
  bool translation = e->type >= E_F_TRANSLATION && e->type <= E_F_PERMISSION;
  bool record = true, abort_it = true;
  if (translation && e->s2) {
    record = x->ste.s2r;
  } else if (translation && x->have_cd) {
    record = x->cd.r;
    abort_it = x->cd.a;
  }
  if (record) {
    uint64_t rec[4];
    encode_event(x, e, rec);
    record_event(m, rec);
  } else {
    m->st.last_event = e->type;
  }
  return abort_it ? XL_ABORT : XL_RAZWI;
}

static int fail_type(struct smmu_model *m, const struct xl *x, unsigned type)
{
  struct ev e = { .type = type };
  return fail(m, x, &e);
}

/* ---------------------------------------------------------------- configuration caches */

static struct ste_ent *ste_find(struct smmu_model *m, uint32_t sid)
{
  for (unsigned i = 0; i < m->p.cfg_entries; i++)
    if (m->ste[i].valid && m->ste[i].sid == sid)
      return &m->ste[i];
  return NULL;
}

static struct l1std_ent *l1std_find(struct smmu_model *m, uint32_t idx, unsigned split)
{
  for (unsigned i = 0; i < m->p.cfg_entries; i++)
    if (m->l1std[i].valid && m->l1std[i].idx == idx && m->l1std[i].split == split)
      return &m->l1std[i];
  return NULL;
}

static struct cd_ent *cd_find(struct smmu_model *m, uint32_t sid, uint32_t ssid)
{
  for (unsigned i = 0; i < m->p.cfg_entries; i++)
    if (m->cd[i].valid && m->cd[i].sid == sid && m->cd[i].ssid == ssid)
      return &m->cd[i];
  return NULL;
}

static struct l1cd_ent *l1cd_find(struct smmu_model *m, uint32_t sid, uint32_t idx, unsigned span_shift)
{
  for (unsigned i = 0; i < m->p.cfg_entries; i++)
    if (m->l1cd[i].valid && m->l1cd[i].sid == sid && m->l1cd[i].idx == idx &&
        m->l1cd[i].span_shift == span_shift)
      return &m->l1cd[i];
  return NULL;
}

/* CFGI over StreamIDs [first, last] (4.3.1, 4.3.2): STEs and every CD and L1CD cached through
 * them; the L1STDs walked to reach them only when l1 (Leaf == 0, RANGE, ALL). */
static void cfgi_sids(struct smmu_model *m, uint64_t first, uint64_t last, bool l1)
{
  for (unsigned i = 0; i < MAX_CFG; i++) {
    if (m->ste[i].valid && m->ste[i].sid >= first && m->ste[i].sid <= last)
      m->ste[i].valid = false;
    if (m->cd[i].valid && m->cd[i].sid >= first && m->cd[i].sid <= last)
      m->cd[i].valid = false;
    if (m->l1cd[i].valid && m->l1cd[i].sid >= first && m->l1cd[i].sid <= last)
      m->l1cd[i].valid = false;
    if (l1 && m->l1std[i].valid) {
      uint64_t lo = (uint64_t)m->l1std[i].idx << m->l1std[i].split;
      uint64_t hi = lo + (1ull << m->l1std[i].split) - 1;
      if (lo <= last && first <= hi)
        m->l1std[i].valid = false;
    }
  }
}

/* ---------------------------------------------------------------- TLB */

static bool tlb_tag_match(const struct tlb_ent *t, unsigned kind, uint16_t vmid, uint16_t asid)
{
  if (t->kind != kind || t->vmid != vmid)
    return false;
  return kind == K_S2 || t->global || t->asid == asid;
}

static struct tlb_ent *tlb_lookup(struct smmu_model *m, unsigned kind, uint16_t vmid, uint16_t asid,
                                  uint64_t in)
{
  for (unsigned i = 0; i < m->p.tlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (t->valid && tlb_tag_match(t, kind, vmid, asid) && (in >> t->shift) == (t->in >> t->shift))
      return t;
  }
  return NULL;
}

static void tlb_insert(struct smmu_model *m, const struct tlb_ent *e)
{
  struct tlb_ent *slot = &m->tlb[m->tlb_next++ % m->p.tlb_entries];
  *slot = *e;
  slot->valid = true;
}

unsigned smmu_model_tlb_count(const struct smmu_model *m)
{
  unsigned n = 0;
  for (unsigned i = 0; i < m->p.tlb_entries; i++)
    n += m->tlb[i].valid;
  return n;
}

static bool tlb_permits(const struct tlb_ent *t, bool write, bool priv)
{
  return priv ? (write ? t->w_p : t->r_p) : (write ? t->w_u : t->r_u);
}

/* Address scope of a TLBI (4.4.1): without TG the entry holding Address; with TG the range
 * [Address, Address + (NUM + 1) * 2^SCALE granules), only entries of that granule and, with a
 * TTL hint, of that level. */
struct tlbi_addr {
  uint64_t addr;
  unsigned tg, ttl, num, scale;
};

static bool tlbi_addr_hit(const struct tlb_ent *t, const struct tlbi_addr *a)
{
  if (a->tg == 0)
    return (a->addr >> t->shift) == (t->in >> t->shift);
  unsigned g = a->tg == 1 ? 12 : a->tg == 2 ? 14 : 16;
  if (t->granule != g || (a->ttl && t->level != a->ttl))
    return false;
  uint64_t end = UINT64_MAX;
  if (a->scale + g < 58) {
    uint64_t len = ((uint64_t)a->num + 1) << (a->scale + g);
    end = a->addr + len < a->addr ? UINT64_MAX : a->addr + len;
  }
  uint64_t ts = t->in, te = ts + (1ull << t->shift);
  return ts < end && a->addr < te;
}

/* ---------------------------------------------------------------- translation table walks */

/* One stage of translation as a walk sees it. */
struct stagecfg {
  unsigned stage;           /* 1 or 2 */
  unsigned g;               /* granule, log2 */
  unsigned ias;             /* input address bits */
  unsigned start;           /* starting level */
  unsigned ps;              /* output address bits (effective IPS / S2PS) */
  uint64_t root;
  bool ha, hd, affd;
  unsigned cls;             /* stage 2: CLASS of the access it translates */
  bool nested;              /* stage 1 with stage 2 enabled: table addresses are IPAs */
};

struct leaf {
  uint64_t out;             /* output page */
  unsigned shift, level;
  bool r_u, w_u, r_p, w_p, global;
};

static int s2_xlate(struct smmu_model *m, struct xl *x, uint64_t ipa, bool write, unsigned cls,
                    uint64_t *pa, struct leaf *lf_out, struct ev *f);

/* Levels and starting level of a stage-1 walk for an input size (VMSAv8-64). */
static unsigned s1_start_level(unsigned g, unsigned ias)
{
  unsigned s = g - 3, levels = (ias - g + s - 1) / s;
  return 4 - levels;
}

/* Block descriptors allowed at a level without FEAT_LPA/LPA2: 4K 1G and 2M, 16K 32M, 64K 512M. */
static bool block_allowed(unsigned g, unsigned level)
{
  return level == 2 || (level == 1 && g == 12);
}

static int walk_fault(const struct stagecfg *c, unsigned type, uint64_t in, struct ev *f)
{
  f->type = type;
  f->s2 = c->stage == 2;
  f->cls = c->stage == 2 ? c->cls : CLS_IN;
  f->ipa = in;
  return -1;
}

/* Reads (or, for HTTU, writes) the descriptor at table address da, translating da through
 * stage 2 first when the stage-1 tables live in IPA space. */
static int desc_access(struct smmu_model *m, struct xl *x, const struct stagecfg *c, uint64_t da,
                       bool write, uint64_t *d, struct ev *f)
{
  uint64_t pa = da;
  if (c->nested) {
    struct leaf l2;
    if (s2_xlate(m, x, da, write, CLS_TT, &pa, &l2, f))
      return -1;
  }
  int err = write ? model_mem_write64(pa, *d) : model_mem_read64(pa, d);
  if (err) {
    /* F_WALK_EABT (7.3.12): stage 1 -> S2 = 0, CLASS TT; stage 2 -> the class translated. */
    f->type = E_F_WALK_EABT;
    f->s2 = c->stage == 2;
    f->cls = c->stage == 2 ? c->cls : CLS_TT;
    f->fetch = pa;
    return -1;
  }
  return 0;
}

/* A VMSAv8-64 walk of one stage for input address in (range already checked). Access flag
 * and permission checks on the leaf, then the HTTU updates they call for (3.13). */
static int walk(struct smmu_model *m, struct xl *x, const struct stagecfg *c, uint64_t in, bool write,
                bool priv, struct leaf *lf, struct ev *f)
{
  unsigned s = c->g - 3;
  uint64_t table = c->root;
  bool ap_ro = false, ap_noel0 = false;
  m->st.walks++;
  for (unsigned level = c->start; level <= 3; level++) {
    unsigned shift = c->g + (3 - level) * s;
    unsigned bits = level == c->start ? c->ias - shift : s;
    uint64_t da = table + ((in >> shift) & (BIT(bits) - 1)) * 8, d;
    if (desc_access(m, x, c, da, false, &d, f))
      return -1;
    if (!(d & 1))
      return walk_fault(c, E_F_TRANSLATION, in, f);
    bool is_table = (d & 2) && level < 3;
    if (level == 3 && !(d & 2))
      return walk_fault(c, E_F_TRANSLATION, in, f); /* 0b01 at level 3 is reserved: invalid */
    if (!is_table && level < 3 && !block_allowed(c->g, level))
      return walk_fault(c, E_F_TRANSLATION, in, f);
    if (is_table) {
      uint64_t next = d & GENMASK(47, c->g);
      if (next >> c->ps)
        return walk_fault(c, E_F_ADDR_SIZE, in, f);
      if (c->stage == 1) { /* APTable[1] removes write, APTable[0] EL0 access */
        ap_ro = ap_ro || (d & BIT(62));
        ap_noel0 = ap_noel0 || (d & BIT(61));
      }
      table = next;
      continue;
    }
    uint64_t oa = d & GENMASK(47, shift);
    if (oa >> c->ps)
      return walk_fault(c, E_F_ADDR_SIZE, in, f);
    bool af = d & BIT(10), dbm = d & BIT(51);
    uint64_t nd = d;
    if (!af && !c->ha && !c->affd)
      return walk_fault(c, E_F_ACCESS, in, f);
    if (!af && c->ha)
      nd |= BIT(10);
    bool r_u, w_u, r_p, w_p;
    if (c->stage == 1) {
      bool ro = (d & BIT(7)) || ap_ro, el0 = (d & BIT(6)) && !ap_noel0;
      bool may = priv || el0;
      if (!may)
        return walk_fault(c, E_F_PERMISSION, in, f);
      if (write && ro) {
        /* Writable-clean: DBM with AP[2] the only restriction, dirty state managed by HW. */
        if (!(dbm && c->hd && !ap_ro))
          return walk_fault(c, E_F_PERMISSION, in, f);
        nd &= ~BIT(7);
        ro = false;
      }
      r_p = true;
      w_p = !ro;
      r_u = el0;
      w_u = el0 && !ro;
    } else {
      bool r = d & BIT(6), w = d & BIT(7);
      if (!write && !r)
        return walk_fault(c, E_F_PERMISSION, in, f);
      if (write && !w) {
        if (!(dbm && c->hd))
          return walk_fault(c, E_F_PERMISSION, in, f);
        nd |= BIT(7);
        w = true;
      }
      r_u = r_p = r;
      w_u = w_p = w;
    }
    if (nd != d) {
      if (desc_access(m, x, c, da, true, &nd, f))
        return -1;
      m->st.httu_updates++;
    }
    lf->out = oa;
    lf->shift = shift;
    lf->level = level;
    lf->r_u = r_u;
    lf->w_u = w_u;
    lf->r_p = r_p;
    lf->w_p = w_p;
    lf->global = c->stage == 1 && !(d & BIT(11));
    return 0;
  }
  return walk_fault(c, E_F_TRANSLATION, in, f); /* not reached */
}

/* Stage 2 translation of an IPA (3.4 stage 2 checks, then the TLB or a walk). cls says what
 * the IPA is: the transaction's (IN), a CD's (CD) or a stage-1 descriptor's (TT). */
static int s2_xlate(struct smmu_model *m, struct xl *x, uint64_t ipa, bool write, unsigned cls,
                    uint64_t *pa, struct leaf *lf_out, struct ev *f)
{
  const struct stecfg *s = &x->ste;
  f->tt_write = write;
  if (ipa >> s->s2ias) {
    f->type = E_F_TRANSLATION;
    f->s2 = true;
    f->cls = cls;
    f->ipa = ipa;
    return -1;
  }
  struct tlb_ent *t = tlb_lookup(m, K_S2, x->vmid, 0, ipa);
  if (t && tlb_permits(t, write, true)) {
    m->st.tlb_hits++;
    *pa = t->out | (ipa & (BIT(t->shift) - 1));
    *lf_out = (struct leaf){ t->out, t->shift, t->level, t->r_u, t->w_u, t->r_p, t->w_p, false };
    return 0;
  }
  if (t)
    t->valid = false; /* cached entry does not grant the access: walk again */
  m->st.tlb_misses++;
  struct stagecfg c = { 2, s->s2g, s->s2ias, s->s2start, s->s2ps, s->s2root, s->s2ha, s->s2hd,
                        s->s2affd, cls, false };
  struct leaf lf;
  if (walk(m, x, &c, ipa, write, true, &lf, f))
    return -1;
  struct tlb_ent e = { .kind = K_S2, .vmid = x->vmid, .in = ipa & ~(BIT(lf.shift) - 1), .out = lf.out,
                       .shift = (uint8_t)lf.shift, .granule = (uint8_t)s->s2g, .level = (uint8_t)lf.level,
                       .r_u = lf.r_u, .w_u = lf.w_u, .r_p = lf.r_p, .w_p = lf.w_p };
  tlb_insert(m, &e);
  *pa = lf.out | (ipa & (BIT(lf.shift) - 1));
  *lf_out = lf;
  return 0;
}

/* ---------------------------------------------------------------- STE (5.2) */

/* S2T0SZ range (5.2: MAX(16, 64 - IAS) .. 39 without IDR3.STT) and S2SL0 consistency with
 * S2TG/S2T0SZ: the starting level must resolve between 1 bit and 16 concatenated tables. */
static bool s2_walk_config(const struct smmu_model *m, struct stecfg *s, unsigned t0sz, unsigned sl0,
                           unsigned tg)
{
  unsigned ias = 64 - t0sz, min_t0sz = 64 - ias_bits(m) > 16 ? 64 - ias_bits(m) : 16;
  if (t0sz < min_t0sz || t0sz > 39)
    return false;
  unsigned g = tg0_granule(tg);
  if (!g || sl0 == 3)
    return false;
  unsigned start = g == 12 ? 2 - sl0 : 3 - sl0, str = g - 3;
  int bits = (int)ias - (int)(g + (3 - start) * str);
  if (bits < 1 || bits > (int)str + 4)
    return false;
  s->s2g = g;
  s->s2ias = ias;
  s->s2start = start;
  return true;
}

/* SteIllegal() of 5.2.2 for a Non-secure STE on this implementation (no ATS, no Hyp, stall
 * model 0b01, VMSAv8-64 only, little-endian tables). Decodes the fields translation uses. */
static bool ste_illegal(const struct smmu_model *m, const uint64_t w[8], struct stecfg *s)
{
  memset(s, 0, sizeof(*s));
  memcpy(s->w, w, sizeof(s->w));
  if (!(w[0] & 1))
    return true;
  s->config = (unsigned)fld(w[0], 3, 1);
  if (!(s->config & 4))
    return false; /* 0b0xx: abort without an event */
  bool st1 = s->config & 1, st2 = s->config & 2;
  if ((st1 && !m->p.s1p) || (st2 && !m->p.s2p))
    return true;
  s->s1fmt = (unsigned)fld(w[0], 5, 4);
  s->s1ctx = w[0] & GENMASK(55, 6);
  s->s1cdmax = (unsigned)fld(w[0], 63, 59);
  s->s1dss = (unsigned)fld(w[1], 1, 0);
  if (st1) {
    if (w[1] & BIT(27)) /* S1STALLD with STALL_MODEL != 0b00 */
      return true;
    if (m->p.ssidsize && s->s1cdmax > m->p.ssidsize)
      return true;
    if (m->p.ssidsize && s->s1cdmax && !m->p.cd2l && (s->s1fmt == 1 || s->s1fmt == 2))
      return true;
    unsigned range = st2 ? ias_bits(m) : m->oas_bits; /* IPA or PA (3.4.3 case 1/2) */
    if (s->s1ctx >> range)
      return true;
  }
  /* S2VMID is used (and checked) whenever stage 2 is implemented and anything translates. */
  if (m->p.s2p) {
    s->vmid = (uint16_t)fld(w[2], 15, 0);
    if (!m->p.vmid16 && (s->vmid >> 8))
      return true;
  }
  if (st2) {
    bool s2aa64 = w[2] & BIT(51), s2endi = w[2] & BIT(52);
    s->s2affd = w[2] & BIT(53);
    s->s2hd = w[2] & BIT(55);
    s->s2ha = w[2] & BIT(56);
    bool s2s = w[2] & BIT(57);
    s->s2r = w[2] & BIT(58);
    if (s2s) /* stalls with STALL_MODEL == 0b01 */
      return true;
    if (!s2aa64) /* VMSAv8-32 LPAE: IDR0.TTF[0] == 0 */
      return true;
    if ((s->s2ha || s->s2hd) && m->p.httu == 0)
      return true;
    if (s->s2hd && m->p.httu == 1)
      return true;
    unsigned tg = (unsigned)fld(w[2], 47, 46);
    if (!granule_supported(m, tg0_granule(tg)))
      return true;
    s->s2ps = eff_ps(m, (unsigned)fld(w[2], 50, 48));
    uint64_t ttb = w[3] & GENMASK(51, 4);
    if (ttb >> s->s2ps)
      return true; /* S2TTB out of range of the effective S2PS */
    if (!s2_walk_config(m, s, (unsigned)fld(w[2], 37, 32), (unsigned)fld(w[2], 39, 38), tg))
      return true;
    if (s2endi) /* TTENDIAN == 0b10 */
      return true;
    /* The concatenated start table is aligned to its size (low S2TTB bits treated as 0). */
    unsigned bits = s->s2ias - (s->s2g + (3 - s->s2start) * (s->s2g - 3));
    uint64_t size = 8ull << bits;
    s->s2root = ttb & ~((size < 64 ? 64 : size) - 1);
    s->s2ha = s->s2ha && m->p.httu >= 1;
    s->s2hd = s->s2hd && s->s2ha && m->p.httu == 2;
  }
  return false;
}

/* ---------------------------------------------------------------- CD (5.4) */

static bool cd_txsz_invalid(unsigned tsz) { return tsz < 16 || tsz > 39; } /* VAX 0, STT 0 */

/* CdIllegal() of 5.4.2 for an NS-EL1 stream on this implementation. */
static bool cd_illegal(const struct smmu_model *m, const uint64_t w[8], struct cdcfg *c)
{
  memset(c, 0, sizeof(*c));
  memcpy(c->w, w, sizeof(c->w));
  uint64_t d0 = w[0];
  if (!(d0 & BIT(31)))
    return true; /* V */
  c->t0sz = (unsigned)fld(d0, 5, 0);
  c->g0 = tg0_granule((unsigned)fld(d0, 7, 6));
  c->epd0 = d0 & BIT(14);
  bool endi = d0 & BIT(15);
  c->t1sz = (unsigned)fld(d0, 21, 16);
  c->g1 = tg1_granule((unsigned)fld(d0, 23, 22));
  c->epd1 = d0 & BIT(30);
  c->ips = eff_ps(m, (unsigned)fld(d0, 34, 32));
  c->affd = d0 & BIT(35);
  c->tbi0 = d0 & BIT(38);
  c->tbi1 = d0 & BIT(39);
  bool aa64 = d0 & BIT(41);
  c->hd = d0 & BIT(42);
  c->ha = d0 & BIT(43);
  bool stall = d0 & BIT(44);
  c->r = d0 & BIT(45);
  c->a = d0 & BIT(46);
  c->asid = (uint16_t)fld(d0, 63, 48);
  c->ttb0 = w[1] & GENMASK(51, 4);
  c->ttb1 = w[2] & GENMASK(51, 4);
  if (stall) /* STALL_MODEL == 0b01 and CD.S == 1 (STE.S1STALLD is already ILLEGAL) */
    return true;
  if (m->p.term_model && !c->a)
    return true;
  if ((!c->epd0 || !c->epd1) && endi) /* TTENDIAN == 0b10 */
    return true;
  if (!aa64) /* VMSAv8-32 LPAE: IDR0.TTF[0] == 0 */
    return true;
  if ((c->ha || c->hd) && m->p.httu == 0)
    return true;
  if (c->hd && m->p.httu == 1)
    return true;
  if (!m->p.asid16 && (c->asid >> 8))
    return true;
  if ((!c->epd0 && cd_txsz_invalid(c->t0sz)) || (!c->epd1 && cd_txsz_invalid(c->t1sz)))
    return true;
  if (!c->epd0 && (!granule_supported(m, c->g0) || (c->ttb0 >> c->ips)))
    return true;
  if (!c->epd1 && (!granule_supported(m, c->g1) || (c->ttb1 >> c->ips)))
    return true;
  c->ha = c->ha && m->p.httu >= 1;
  c->hd = c->hd && c->ha && m->p.httu == 2;
  return false;
}

/* ---------------------------------------------------------------- structure fetches */

/* Reads n bytes of a configuration structure at a PA, or at an IPA through stage 2 (CD and
 * L1CD fetches of a nested stream, CLASS CD). */
static int cfg_read(struct smmu_model *m, struct xl *x, uint64_t addr, bool ipa, void *buf, size_t n,
                    unsigned fetch_event, struct ev *f)
{
  uint64_t pa = addr;
  if (ipa) {
    struct leaf lf;
    if (s2_xlate(m, x, addr, false, CLS_CD, &pa, &lf, f))
      return -1;
  }
  if (model_mem_read(pa, buf, n)) {
    f->type = fetch_event;
    f->fetch = pa;
    return -1;
  }
  return 0;
}

/* Stream table lookup (3.3.1, 5.1, 6.3.25): the STE words for x->sid, from the STE cache or
 * memory. 0, or the XL_* result of the event it raised. */
static int fetch_ste(struct smmu_model *m, struct xl *x, uint64_t w[8])
{
  struct ste_ent *hit = ste_find(m, x->sid);
  if (hit) {
    m->st.ste_hits++;
    memcpy(w, hit->w, 64);
    return XL_OK;
  }
  unsigned log2 = (unsigned)fld(m->strtab_cfg, 5, 0), eff = log2 < m->p.sidsize ? log2 : m->p.sidsize;
  bool recinv = m->cr2 & CR2_RECINVSID;
  if (eff < 32 && (x->sid >> eff))
    return recinv ? fail_type(m, x, E_C_BAD_STREAMID) : XL_ABORT;
  uint64_t base = m->strtab_base & GENMASK(55, 6) & (BIT(m->oas_bits) - 1);
  bool two = m->p.st_level && fld(m->strtab_cfg, 17, 16) == 1;
  uint64_t ste_addr;
  struct ev f = { 0 };
  if (!two) {
    base = align_down(base, log2 + 6); /* aligned by the literal LOG2SIZE (6.3.24) */
    ste_addr = base + 64ull * x->sid;
  } else {
    unsigned split = (unsigned)fld(m->strtab_cfg, 10, 6);
    if (split != 6 && split != 8 && split != 10)
      split = 6; /* Reserved values behave as 6 */
    int k = (int)log2 - (int)split + 2;
    unsigned n = k > 5 ? (unsigned)k : 5u;
    base = align_down(base, n + 1);
    uint32_t idx = x->sid >> split;
    struct l1std_ent *l1 = l1std_find(m, idx, split);
    uint64_t d;
    if (l1) {
      d = l1->d;
    } else {
      if (model_mem_read64(base + 8ull * idx, &d)) {
        f.type = E_F_STE_FETCH;
        f.fetch = base + 8ull * idx;
        return fail(m, x, &f);
      }
      struct l1std_ent *e = &m->l1std[m->l1std_next++ % m->p.cfg_entries];
      *e = (struct l1std_ent){ true, idx, split, d };
    }
    unsigned span = (unsigned)(d & 0x1f);
    /* 5.1.1 / C_BAD_STREAMID: Span 0, Reserved (12..31) or beyond SPLIT + 1, or the StreamID
     * outside the level-2 array. */
    if (span == 0 || span >= 12 || span > split + 1 || (x->sid & (BIT(split) - 1)) >= BIT(span - 1))
      return recinv ? fail_type(m, x, E_C_BAD_STREAMID) : XL_ABORT;
    uint64_t l2 = d & GENMASK(55, 6) & ~((64ull << (span - 1)) - 1) & (BIT(m->oas_bits) - 1);
    ste_addr = l2 + 64ull * (x->sid & (BIT(split) - 1));
  }
  m->st.ste_fetches++;
  if (model_mem_read(ste_addr, w, 64)) {
    f.type = E_F_STE_FETCH;
    f.fetch = ste_addr;
    return fail(m, x, &f); /* a failed fetch is not cached */
  }
  struct ste_ent *e = &m->ste[m->ste_next++ % m->p.cfg_entries];
  e->valid = true;
  e->sid = x->sid;
  memcpy(e->w, w, 64);
  return XL_OK;
}

/* The CD for CD-table index idx of x's STE (5.2 S1Fmt/S1CDMax, 5.3 L1CD). */
static int fetch_cd(struct smmu_model *m, struct xl *x, uint32_t idx, uint64_t w[8])
{
  struct cd_ent *hit = cd_find(m, x->sid, idx);
  if (hit) {
    m->st.cd_hits++;
    memcpy(w, hit->w, 64);
    return XL_OK;
  }
  const struct stecfg *s = &x->ste;
  bool ipa = s->config & 2;
  unsigned range = ipa ? ias_bits(m) : m->oas_bits;
  bool substreams = m->p.ssidsize && s->s1cdmax;
  uint64_t cd_addr;
  struct ev f = { 0 };
  unsigned fmt = substreams ? s->s1fmt : 0;
  if (fmt == 3)
    fmt = 0; /* Reserved, behaves as 0b00 */
  if (fmt == 0) {
    /* One CD, or a linear table aligned to its size (S1ContextPtr[S1CDMax + 5:6] RES0). */
    uint64_t base = s->s1ctx & ~((64ull << (substreams ? s->s1cdmax : 0)) - 1);
    cd_addr = base + 64ull * idx;
  } else {
    unsigned span_shift = fmt == 1 ? 6 : 10; /* 64 CDs in 4 KiB, 1024 CDs in 64 KiB */
    uint32_t l1idx = s->s1cdmax > span_shift ? idx >> span_shift : 0;
    unsigned l1_entries_log2 = s->s1cdmax > span_shift ? s->s1cdmax - span_shift : 0;
    uint64_t l1bytes = 8ull << l1_entries_log2;
    uint64_t l1base = s->s1ctx & ~((l1bytes < 64 ? 64 : l1bytes) - 1);
    struct l1cd_ent *l1 = l1cd_find(m, x->sid, l1idx, span_shift);
    uint64_t d;
    if (l1) {
      d = l1->d;
    } else {
      if (cfg_read(m, x, l1base + 8ull * l1idx, ipa, &d, 8, E_F_CD_FETCH, &f))
        return fail(m, x, &f);
      struct l1cd_ent *e = &m->l1cd[m->l1cd_next++ % m->p.cfg_entries];
      *e = (struct l1cd_ent){ true, x->sid, l1idx, span_shift, d };
    }
    uint64_t l2 = d & GENMASK(55, 12) & ~(BIT(span_shift + 6) - 1);
    /* 5.3.1, 3.4.3 case 3/4: V == 0 or an out-of-range L2Ptr -> C_BAD_SUBSTREAMID. */
    if (!(d & 1) || (l2 >> range))
      return fail_type(m, x, E_C_BAD_SUBSTREAMID);
    cd_addr = l2 + 64ull * (idx & (BIT(span_shift) - 1));
  }
  m->st.cd_fetches++;
  if (cfg_read(m, x, cd_addr, ipa, w, 64, E_F_CD_FETCH, &f))
    return fail(m, x, &f);
  struct cd_ent *e = &m->cd[m->cd_next++ % m->p.cfg_entries];
  e->valid = true;
  e->sid = x->sid;
  e->ssid = idx;
  memcpy(e->w, w, 64);
  return XL_OK;
}

/* ---------------------------------------------------------------- translation */

/* Stage 1 (and, nested, stage 2 of its output) for a VA: the TLB, else the range checks of 3.4
 * and a walk of TTB0 or TTB1. */
static int s1_translate(struct smmu_model *m, struct xl *x, bool write, bool priv, uint64_t *pa)
{
  const struct cdcfg *cd = &x->cd;
  bool nested = x->ste.config & 2;
  unsigned kind = nested ? K_S12 : K_S1;
  uint64_t va = x->in;
  struct tlb_ent *t = tlb_lookup(m, kind, x->vmid, cd->asid, va);
  if (t && tlb_permits(t, write, priv)) {
    m->st.tlb_hits++;
    *pa = t->out | (va & (BIT(t->shift) - 1));
    return XL_OK;
  }
  if (t)
    t->valid = false;
  m->st.tlb_misses++;
  struct ev f = { .type = E_F_TRANSLATION, .cls = CLS_IN };
  /* TTB0 or TTB1 by VA[55] (3.4.1); a TTBx covering n = 64 - TxSZ bits takes only VAs whose
   * bits [AddrTop:n] all equal VA[55] (the 2 x 48-bit halves of a 49-bit VA space). */
  bool hi = (va >> 55) & 1;
  if (hi ? cd->epd1 : cd->epd0)
    return fail(m, x, &f); /* walks through this TTBx disabled (its TxSZ is IGNORED) */
  bool tbi = hi ? cd->tbi1 : cd->tbi0;
  unsigned tsz = hi ? cd->t1sz : cd->t0sz, n = 64 - tsz, top = tbi ? 55 : 63;
  uint64_t upper = fld(va, top, n), all = GENMASK(top - n, 0);
  if (upper != (hi ? all : 0))
    return fail(m, x, &f);
  unsigned g = hi ? cd->g1 : cd->g0;
  unsigned start = s1_start_level(g, n);
  unsigned bits = n - (g + (3 - start) * (g - 3));
  uint64_t size = 8ull << bits;
  uint64_t root = (hi ? cd->ttb1 : cd->ttb0) & ~((size < 64 ? 64 : size) - 1);
  struct stagecfg c = { 1, g, n, start, cd->ips, root, cd->ha, cd->hd, cd->affd, CLS_IN, nested };
  struct leaf lf;
  if (walk(m, x, &c, va, write, priv, &lf, &f))
    return fail(m, x, &f);
  uint64_t out = lf.out | (va & (BIT(lf.shift) - 1));
  struct tlb_ent e = { .kind = (uint8_t)kind, .vmid = x->vmid, .asid = cd->asid, .global = lf.global,
                       .shift = (uint8_t)lf.shift, .granule = (uint8_t)g, .level = (uint8_t)lf.level,
                       .r_u = lf.r_u, .w_u = lf.w_u, .r_p = lf.r_p, .w_p = lf.w_p };
  if (nested) {
    struct leaf l2;
    struct ev f2 = { 0 };
    if (s2_xlate(m, x, out, write, CLS_IN, &out, &l2, &f2))
      return fail(m, x, &f2);
    if (l2.shift < e.shift)
      e.shift = (uint8_t)l2.shift;
    e.r_u = e.r_u && l2.r_u;
    e.w_u = e.w_u && l2.w_u;
    e.r_p = e.r_p && l2.r_p;
    e.w_p = e.w_p && l2.w_p;
  }
  e.in = va & ~(BIT(e.shift) - 1);
  e.out = out & ~(BIT(e.shift) - 1);
  tlb_insert(m, &e);
  *pa = out;
  return XL_OK;
}

static int xlate(struct smmu_model *m, struct xl *x, bool write, uint64_t *pa)
{
  uint64_t w[8];
  int r = fetch_ste(m, x, w);
  if (r)
    return r;
  struct stecfg *s = &x->ste;
  if (ste_illegal(m, w, s))
    return fail_type(m, x, E_C_BAD_STE);
  if (!(s->config & 4))
    return XL_ABORT; /* Config 0b0xx: abort, no event */
  bool st1 = s->config & 1, st2 = s->config & 2;
  x->vmid = s->vmid;
  bool priv = x->pnu;
  struct ev f = { .type = E_F_ADDR_SIZE, .cls = CLS_IN };
  if (s->config == 4) {
    if (x->ssv) /* a SubstreamID with stage 1 disabled (5.2 S1Fmt) */
      return fail_type(m, x, E_C_BAD_SUBSTREAMID);
    if (x->in >> m->oas_bits) /* 3.4: bypass, input beyond the OAS */
      return fail(m, x, &f);
    *pa = x->in;
    m->st.bypassed++;
    return XL_OK;
  }
  /* Substreams (5.2 S1CDMax, S1DSS; 7.3.7, 7.3.9). */
  bool s1_bypass = !st1;
  uint32_t cd_idx = 0;
  bool substreams = st1 && m->p.ssidsize && s->s1cdmax;
  if (x->ssv) {
    if (!substreams || x->ssid >= BIT(s->s1cdmax))
      return fail_type(m, x, E_C_BAD_SUBSTREAMID);
    if (s->s1dss == 2 && x->ssid == 0)
      return fail_type(m, x, E_F_STREAM_DISABLED);
    cd_idx = x->ssid;
  } else if (substreams) {
    if (s->s1dss == 0 || s->s1dss == 3)
      return fail_type(m, x, E_F_STREAM_DISABLED);
    if (s->s1dss == 1)
      s1_bypass = true;
  }
  uint64_t ipa;
  if (!s1_bypass) {
    if ((r = fetch_cd(m, x, cd_idx, w)))
      return r;
    if (cd_illegal(m, w, &x->cd))
      return fail_type(m, x, E_C_BAD_CD);
    x->have_cd = true;
    if ((r = s1_translate(m, x, write, priv, pa)))
      return r;
    m->st.translated++;
    return XL_OK; /* nested: stage 2 already applied */
  }
  /* Stage 1 bypassed: the input must fit the IAS (3.4), then stage 2 or the output. */
  if (x->in >> ias_bits(m))
    return fail(m, x, &f);
  ipa = x->in;
  if (!st2) {
    *pa = ipa;
    m->st.bypassed++;
    return XL_OK;
  }
  struct leaf lf;
  struct ev f2 = { 0 };
  if (s2_xlate(m, x, ipa, write, CLS_IN, pa, &lf, &f2))
    return fail(m, x, &f2);
  m->st.translated++;
  return XL_OK;
}

enum model_dma_result smmu_model_dma(struct smmu_model *m, const struct model_dma_req *req, void *data)
{
  m->st.requests++;
  uint64_t pa = req->addr;
  if (!(m->cr0 & CR0_SMMUEN)) {
    /* 3.4: SMMU disabled: GBPA.ABORT, or the input address as output if it fits the OAS. */
    if ((m->gbpa & GBPA_ABORT) || ((req->addr + req->len - 1) >> m->oas_bits)) {
      m->st.aborted++;
      return MODEL_DMA_BLOCKED;
    }
    m->st.bypassed++;
  } else {
    struct xl x;
    memset(&x, 0, sizeof(x));
    x.sid = req->sid;
    x.ssv = req->has_pasid;
    x.ssid = req->has_pasid ? req->pasid : 0;
    x.rnw = !req->write;
    x.pnu = req->has_pasid && req->priv; /* 3.9: without a PASID prefix: Data, unprivileged */
    x.in = req->addr;
    int r = xlate(m, &x, req->write, &pa);
    if (r == XL_ABORT) {
      m->st.aborted++;
      return MODEL_DMA_BLOCKED;
    }
    if (r == XL_RAZWI) { /* 5.5 A == 0: reads return zero, writes are dropped */
      m->st.raz_wi++;
      if (!req->write)
        memset(data, 0, req->len);
      return MODEL_DMA_OK;
    }
  }
  int err = req->write ? model_mem_write(pa, data, req->len) : model_mem_read(pa, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

/* ---------------------------------------------------------------- commands (chapter 4) */

/* Fields each command defines (4.2 - 4.7); anything else is Reserved, and this
 * implementation detects Reserved fields set (4.1.5) -> CERROR_ILL. */
static bool cmd_fields_ok(uint64_t c0, uint64_t c1, uint64_t m0, uint64_t m1)
{
  return (c0 & ~m0) == 0 && (c1 & ~m1) == 0;
}

#define M_OP 0xffull
#define M_SID GENMASK(63, 32)
#define M_VMID GENMASK(47, 32)
#define M_ASID GENMASK(63, 48)
#define M_RANGE (GENMASK(16, 12) | GENMASK(25, 20))

/* The range/TTL fields of an address-based TLBI (4.4.1.1): RES0 without IDR3.RIL, and with
 * TG == 0; NUM == SCALE == TTL == 0 with a TG is Reserved; TTL 0b01 with 16K needs DS. */
static bool tlbi_range_fields(const struct smmu_model *m, uint64_t c0, uint64_t c1, struct tlbi_addr *a)
{
  a->num = (unsigned)fld(c0, 16, 12);
  a->scale = (unsigned)fld(c0, 25, 20);
  a->ttl = (unsigned)fld(c1, 9, 8);
  a->tg = (unsigned)fld(c1, 11, 10);
  if (!m->p.ril || a->tg == 0)
    return a->num == 0 && a->scale == 0 && a->ttl == 0 && a->tg == 0;
  if (a->num == 0 && a->scale == 0 && a->ttl == 0)
    return false;
  if (a->tg == 2 && a->ttl == 1)
    return false;
  return true;
}

enum { TI_NH_ALL, TI_NH_ASID, TI_NH_VA, TI_NH_VAA, TI_S2_IPA, TI_S12_VMALL, TI_NSNH_ALL };

static void tlbi(struct smmu_model *m, unsigned what, uint16_t vmid, uint16_t asid, const struct tlbi_addr *a)
{
  m->st.tlbi++;
  for (unsigned i = 0; i < MAX_TLB; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (!t->valid)
      continue;
    bool s1 = t->kind == K_S1 || t->kind == K_S12;
    bool hit = false;
    switch (what) {
    case TI_NH_ALL: hit = s1 && t->vmid == vmid; break;
    case TI_NH_ASID: hit = s1 && t->vmid == vmid && !t->global && t->asid == asid; break;
    case TI_NH_VA:
      hit = s1 && t->vmid == vmid && (t->global || t->asid == asid) && tlbi_addr_hit(t, a);
      break;
    case TI_NH_VAA: hit = s1 && t->vmid == vmid && tlbi_addr_hit(t, a); break;
    /* 4.4.3.1: by IPA only entries of stage 2-only translation; combined ones need NH_*. */
    case TI_S2_IPA: hit = t->kind == K_S2 && t->vmid == vmid && tlbi_addr_hit(t, a); break;
    case TI_S12_VMALL: hit = t->vmid == vmid; break;
    default: hit = true; break;
    }
    if (hit)
      t->valid = false;
  }
}

/* Executes one command; CERROR_NONE or the error that stops the queue. */
static unsigned cmd_exec(struct smmu_model *m, const uint64_t c[2])
{
  unsigned op = (unsigned)(c[0] & 0xff);
  uint32_t sid = (uint32_t)(c[0] >> 32);
  uint16_t vmid = (uint16_t)fld(c[0], 47, 32), asid = (uint16_t)fld(c[0], 63, 48);
  struct tlbi_addr a = { 0 };
  m->st.commands++;
  switch (op) {
  case OP_PREFETCH_CONFIG:
    /* SSec (bit 10) must be 0 on the Non-secure queue (4.1.6). Nothing is prefetched. */
    return cmd_fields_ok(c[0], c[1], M_OP | BIT(11) | GENMASK(31, 12) | M_SID, 0) ? 0 : CERROR_ILL;
  case OP_PREFETCH_ADDR:
    /* Address, Size, Stride and NS in dword 1 are not checked: the prefetch does nothing. */
    return cmd_fields_ok(c[0], c[1], M_OP | BIT(11) | GENMASK(31, 12) | M_SID, ~0ull) ? 0 : CERROR_ILL;
  case OP_CFGI_STE:
    if (!cmd_fields_ok(c[0], c[1], M_OP | M_SID, 1))
      return CERROR_ILL;
    m->st.cfgi++;
    cfgi_sids(m, sid, sid, !(c[1] & 1));
    return 0;
  case OP_CFGI_STE_RANGE: {
    if (!cmd_fields_ok(c[0], c[1], M_OP | M_SID, 0x1f))
      return CERROR_ILL;
    m->st.cfgi++;
    unsigned range = (unsigned)(c[1] & 0x1f);
    if (range == 31) { /* CMD_CFGI_ALL */
      memset(m->ste, 0, sizeof(m->ste));
      memset(m->l1std, 0, sizeof(m->l1std));
      memset(m->cd, 0, sizeof(m->cd));
      memset(m->l1cd, 0, sizeof(m->l1cd));
    } else {
      uint64_t first = sid & ~(BIT(range + 1) - 1);
      cfgi_sids(m, first, first + BIT(range + 1) - 1, true);
    }
    return 0;
  }
  case OP_CFGI_CD: {
    if (!m->p.s1p || !cmd_fields_ok(c[0], c[1], M_OP | GENMASK(31, 12) | M_SID, 1))
      return CERROR_ILL;
    m->st.cfgi++;
    uint32_t ssid = (uint32_t)fld(c[0], 31, 12);
    struct cd_ent *e = cd_find(m, sid, ssid);
    if (e)
      e->valid = false;
    if (!(c[1] & 1)) /* Leaf == 0: the L1CD locating it too */
      for (unsigned i = 0; i < MAX_CFG; i++)
        if (m->l1cd[i].valid && m->l1cd[i].sid == sid && m->l1cd[i].idx == ssid >> m->l1cd[i].span_shift)
          m->l1cd[i].valid = false;
    return 0;
  }
  case OP_CFGI_CD_ALL:
    if (!m->p.s1p || !cmd_fields_ok(c[0], c[1], M_OP | M_SID, 0))
      return CERROR_ILL;
    m->st.cfgi++;
    for (unsigned i = 0; i < MAX_CFG; i++) {
      if (m->cd[i].valid && m->cd[i].sid == sid)
        m->cd[i].valid = false;
      if (m->l1cd[i].valid && m->l1cd[i].sid == sid)
        m->l1cd[i].valid = false;
    }
    return 0;
  case OP_TLBI_NH_ALL:
    if (!m->p.s1p || !cmd_fields_ok(c[0], c[1], M_OP | M_VMID, 0))
      return CERROR_ILL;
    tlbi(m, TI_NH_ALL, vmid, 0, NULL);
    return 0;
  case OP_TLBI_NH_ASID:
    if (!m->p.s1p || !cmd_fields_ok(c[0], c[1], M_OP | M_VMID | M_ASID, 0))
      return CERROR_ILL;
    tlbi(m, TI_NH_ASID, vmid, asid, NULL);
    return 0;
  case OP_TLBI_NH_VA:
  case OP_TLBI_NH_VAA: {
    uint64_t m0 = M_OP | M_RANGE | M_VMID | (op == OP_TLBI_NH_VA ? M_ASID : 0);
    if (!m->p.s1p || !cmd_fields_ok(c[0], c[1], m0, 1 | GENMASK(11, 8) | GENMASK(63, 12)) ||
        !tlbi_range_fields(m, c[0], c[1], &a))
      return CERROR_ILL;
    a.addr = c[1] & GENMASK(63, 12);
    tlbi(m, op == OP_TLBI_NH_VA ? TI_NH_VA : TI_NH_VAA, vmid, asid, &a);
    return 0;
  }
  case OP_TLBI_S2_IPA:
    if (!m->p.s2p ||
        !cmd_fields_ok(c[0], c[1], M_OP | M_RANGE | M_VMID, 1 | GENMASK(11, 8) | GENMASK(55, 12)) ||
        !tlbi_range_fields(m, c[0], c[1], &a))
      return CERROR_ILL;
    a.addr = c[1] & GENMASK(55, 12);
    tlbi(m, TI_S2_IPA, vmid, 0, &a);
    return 0;
  case OP_TLBI_S12_VMALL:
    if (!m->p.s2p || !cmd_fields_ok(c[0], c[1], M_OP | M_VMID, 0))
      return CERROR_ILL;
    tlbi(m, TI_S12_VMALL, vmid, 0, NULL);
    return 0;
  case OP_TLBI_NSNH_ALL:
    if (!cmd_fields_ok(c[0], c[1], M_OP, 0))
      return CERROR_ILL;
    tlbi(m, TI_NSNH_ALL, 0, 0, NULL);
    return 0;
  case OP_CMD_SYNC: {
    if (!cmd_fields_ok(c[0], c[1], M_OP | GENMASK(13, 12) | GENMASK(27, 22) | GENMASK(63, 32),
                       GENMASK(55, 2)))
      return CERROR_ILL;
    unsigned cs = (unsigned)fld(c[0], 13, 12);
    if (cs == 3)
      return CERROR_ILL; /* Reserved ComplSignal */
    m->st.cmd_syncs++;
    /* Everything before completed synchronously: nothing is pending. The SIG_IRQ MSI is
     * written by cmdq_process once CONS has passed the command (4.7.3). */
    return 0;
  }
  default:
    /* Reserved opcodes and commands of features this SMMU lacks (EL2/EL3/Secure TLBIs,
     * ATC_INV, PRI_RESP, RESUME, STALL_TERM, VMS, DPT): CERROR_ILL (7.1). */
    return CERROR_ILL;
  }
}

/* 4.1.2: commands are consumed while the queue is enabled, not empty and no CMDQ_ERR is active. */
static void cmdq_process(struct smmu_model *m)
{
  if (!(m->cr0 & CR0_CMDQEN) || ge_active(m, GE_CMDQ))
    return;
  unsigned log2 = cmdq_log2(m);
  uint64_t base = q_base(m, m->cmdq_base, 16, log2);
  for (unsigned guard = 0; guard <= (2u << log2); guard++) {
    uint32_t prod = m->cmdq_prod & qmask(log2), cons = m->cmdq_cons & qmask(log2);
    if (q_empty(prod, cons, log2))
      return;
    uint64_t c[2];
    unsigned err;
    if (model_mem_read(base + 16ull * (cons & ((1u << log2) - 1)), c, 16))
      err = CERROR_ABT;
    else
      err = cmd_exec(m, c);
    if (err) {
      /* 7.1: CONS stays on the command, ERR is set before the error becomes visible. */
      m->st.cmd_errors++;
      m->cmdq_err = err;
      gerror_raise(m, GE_CMDQ);
      return;
    }
    m->cmdq_cons = (m->cmdq_cons & ~qmask(log2)) | q_inc(cons, log2);
    if ((c[0] & 0xff) == OP_CMD_SYNC && fld(c[0], 13, 12) == 1 && m->p.msi && (c[1] & GENMASK(55, 2)) &&
        !msi_write(m, c[1], (uint32_t)(c[0] >> 32)))
      gerror_raise(m, GE_MSI_CMDQ_ABT);
  }
}

/* ---------------------------------------------------------------- registers (6.3) */

static bool smmuen(const struct smmu_model *m) { return m->cr0 & CR0_SMMUEN; }
static bool queues_off(const struct smmu_model *m) { return !(m->cr0 & (CR0_CMDQEN | CR0_EVENTQEN)); }

static uint32_t cons_read(const struct smmu_model *m)
{
  /* RD with bits above the wrap flag RAZ; ERR UNKNOWN unless CMDQ_ERR is active (kept). */
  return (m->cmdq_cons & qmask(cmdq_log2(m))) | (m->cmdq_err & 0x7f) << 24;
}

static uint32_t rd32(struct smmu_model *m, uint32_t off)
{
  bool msi = m->p.msi;
  if (off < 0x18)
    return m->idr[off / 4];
  switch (off) {
  case R_IIDR: return 0;
  case R_AIDR: return m->p.aidr_minor & 0xf;
  case R_CR0: return m->cr0;
  case R_CR0ACK: return m->cr0;           /* every change takes effect at once */
  case R_CR1: return m->cr1;
  case R_CR2: return m->cr2;
  case R_STATUSR: return 0;
  case R_GBPA: return m->gbpa;            /* Update completes at once: reads 0 */
  case R_IRQ_CTRL: return m->irq_ctrl;
  case R_IRQ_CTRLACK: return m->irq_ctrl;
  case R_GERROR: return m->gerror;
  case R_GERRORN: return m->gerrorn;
  case R_GERROR_IRQ_CFG0: return msi ? (uint32_t)m->gerror_irq_cfg0 : 0;
  case R_GERROR_IRQ_CFG0 + 4: return msi ? (uint32_t)(m->gerror_irq_cfg0 >> 32) : 0;
  case R_GERROR_IRQ_CFG1: return msi ? m->gerror_irq_cfg1 : 0;
  case R_GERROR_IRQ_CFG2: return msi ? m->gerror_irq_cfg2 : 0;
  case R_STRTAB_BASE: return (uint32_t)m->strtab_base;
  case R_STRTAB_BASE + 4: return (uint32_t)(m->strtab_base >> 32);
  case R_STRTAB_BASE_CFG: return m->strtab_cfg;
  case R_CMDQ_BASE: return (uint32_t)m->cmdq_base;
  case R_CMDQ_BASE + 4: return (uint32_t)(m->cmdq_base >> 32);
  case R_CMDQ_PROD: return m->cmdq_prod;
  case R_CMDQ_CONS: return cons_read(m);
  case R_EVENTQ_BASE: return (uint32_t)m->evtq_base;
  case R_EVENTQ_BASE + 4: return (uint32_t)(m->evtq_base >> 32);
  case R_EVENTQ_IRQ_CFG0: return msi ? (uint32_t)m->evtq_irq_cfg0 : 0;
  case R_EVENTQ_IRQ_CFG0 + 4: return msi ? (uint32_t)(m->evtq_irq_cfg0 >> 32) : 0;
  case R_EVENTQ_IRQ_CFG1: return msi ? m->evtq_irq_cfg1 : 0;
  case R_EVENTQ_IRQ_CFG2: return msi ? m->evtq_irq_cfg2 : 0;
  case R_EVENTQ_PROD: return (m->evtq_prod & Q_OVFLG) | (m->evtq_prod & qmask(evtq_log2(m)));
  case R_EVENTQ_CONS: return m->evtq_cons;
  default: return 0; /* RES0; Page 0 0xa8/0xac (optional PROD/CONS aliases) are RAZ/WI */
  }
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & GENMASK(63, 32)) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static void cr0_write(struct smmu_model *m, uint32_t v)
{
  uint32_t old = m->cr0;
  m->cr0 = v & (CR0_SMMUEN | CR0_EVENTQEN | CR0_CMDQEN); /* PRIQEN, ATSCHK, VMW: RES0 here */
  if (!(old & CR0_CMDQEN) && (m->cr0 & CR0_CMDQEN))
    cmdq_process(m);
}

static void wr32(struct smmu_model *m, uint32_t off, uint32_t v)
{
  bool msi = m->p.msi;
  switch (off) {
  case R_CR0: cr0_write(m, v); return;
  case R_CR1: {
    /* TABLE_* Guarded by SMMUEN, QUEUE_* by the queue enables (6.3.11). */
    uint32_t mask = (smmuen(m) ? 0 : 0xfc0u) | (queues_off(m) ? 0x3fu : 0);
    m->cr1 = (m->cr1 & ~mask) | (v & mask);
    return;
  }
  case R_CR2:
    if (!smmuen(m))
      m->cr2 = v & CR2_RECINVSID; /* E2H needs Hyp, PTM needs BTM: RES0 */
    return;
  case R_GBPA:
    /* 6.3.14.1: only a write with Update == 1 changes the register; it completes at once. */
    if (v & GBPA_UPDATE)
      m->gbpa = v & GBPA_FIELDS;
    return;
  case R_IRQ_CTRL: m->irq_ctrl = v & (IRQ_GERROR | IRQ_EVENTQ); return; /* PRIQ_IRQEN: no PRI */
  case R_GERRORN: {
    bool was = ge_active(m, GE_CMDQ);
    m->gerrorn = v & m->gerror_mask;
    if (was && !ge_active(m, GE_CMDQ))
      cmdq_process(m); /* 7.1: acknowledging CMDQ_ERR restarts consumption at CONS */
    return;
  }
  }
  /* The *_IRQ_CFG MSI registers exist with IDR0.MSI and are Guarded by their IRQEN (6.3.21). */
  bool gerr_cfg = msi && !(m->irq_ctrl & IRQ_GERROR), evt_cfg = msi && !(m->irq_ctrl & IRQ_EVENTQ);
  switch (off) {
  case R_GERROR_IRQ_CFG0: if (gerr_cfg) set_lo(&m->gerror_irq_cfg0, v & ~3u); return;
  case R_GERROR_IRQ_CFG0 + 4: if (gerr_cfg) set_hi(&m->gerror_irq_cfg0, v & 0xffffffu); return;
  case R_GERROR_IRQ_CFG1: if (gerr_cfg) m->gerror_irq_cfg1 = v; return;
  case R_GERROR_IRQ_CFG2: if (gerr_cfg) m->gerror_irq_cfg2 = v & 0x3fu; return;
  case R_EVENTQ_IRQ_CFG0: if (evt_cfg) set_lo(&m->evtq_irq_cfg0, v & ~3u); return;
  case R_EVENTQ_IRQ_CFG0 + 4: if (evt_cfg) set_hi(&m->evtq_irq_cfg0, v & 0xffffffu); return;
  case R_EVENTQ_IRQ_CFG1: if (evt_cfg) m->evtq_irq_cfg1 = v; return;
  case R_EVENTQ_IRQ_CFG2: if (evt_cfg) m->evtq_irq_cfg2 = v & 0x3fu; return;
  case R_STRTAB_BASE: if (!smmuen(m)) set_lo(&m->strtab_base, v & ~0x3fu); return;
  case R_STRTAB_BASE + 4: if (!smmuen(m)) set_hi(&m->strtab_base, v & BASE_HI); return;
  case R_STRTAB_BASE_CFG:
    if (!smmuen(m))
      m->strtab_cfg = v & (0x3fu | (m->p.st_level ? 0x307c0u : 0)); /* FMT, SPLIT need ST_LEVEL */
    return;
  case R_CMDQ_BASE: if (!(m->cr0 & CR0_CMDQEN)) set_lo(&m->cmdq_base, v); return;
  case R_CMDQ_BASE + 4: if (!(m->cr0 & CR0_CMDQEN)) set_hi(&m->cmdq_base, v & BASE_HI); return;
  case R_CMDQ_PROD:
    m->cmdq_prod = v & Q_IDX_MASK;
    cmdq_process(m);
    return;
  case R_CMDQ_CONS:
    if (!(m->cr0 & CR0_CMDQEN)) {
      m->cmdq_cons = v & Q_IDX_MASK;
      m->cmdq_err = (v >> 24) & 0x7f; /* permitted to take the written value (6.3.28) */
    }
    return;
  case R_EVENTQ_BASE: if (!(m->cr0 & CR0_EVENTQEN)) set_lo(&m->evtq_base, v); return;
  case R_EVENTQ_BASE + 4: if (!(m->cr0 & CR0_EVENTQEN)) set_hi(&m->evtq_base, v & BASE_HI); return;
  case R_EVENTQ_PROD: if (!(m->cr0 & CR0_EVENTQEN)) m->evtq_prod = v & (Q_OVFLG | Q_IDX_MASK); return;
  case R_EVENTQ_CONS: m->evtq_cons = v & (Q_OVFLG | Q_IDX_MASK); return;
  default: return; /* read-only or reserved */
  }
}

static bool is_reg64(uint64_t off)
{
  return off == R_GERROR_IRQ_CFG0 || off == R_STRTAB_BASE || off == R_CMDQ_BASE || off == R_EVENTQ_BASE ||
         off == R_EVENTQ_IRQ_CFG0;
}

static bool legal_access(struct smmu_model *m, uint64_t off, unsigned width, const char *what)
{
  /* 6.2: aligned 32-bit accesses anywhere, aligned 64-bit accesses to 64-bit registers. */
  if ((width == 4 && !(off & 3) && off + 4 <= SMMU_MODEL_REG_BYTES) || (width == 8 && is_reg64(off)))
    return true;
  m->st.bad_accesses++;
  fprintf(stderr, "smmu_model: illegal %u-byte %s at +0x%llx (RAZ/WI, IHI 0070 6.2)\n", width, what,
          (unsigned long long)off);
  return false;
}

uint64_t smmu_model_read(struct smmu_model *m, uint64_t off, unsigned width)
{
  if (!legal_access(m, off, width, "read"))
    return 0;
  uint64_t v = rd32(m, (uint32_t)off);
  if (width == 8)
    v |= (uint64_t)rd32(m, (uint32_t)off + 4) << 32;
  return v;
}

void smmu_model_write(struct smmu_model *m, uint64_t off, unsigned width, uint64_t val)
{
  if (!legal_access(m, off, width, "write"))
    return;
  wr32(m, (uint32_t)off, (uint32_t)val);
  if (width == 8)
    wr32(m, (uint32_t)off + 4, (uint32_t)(val >> 32));
}

static uint64_t mmio_read(void *ctx, uint64_t off, unsigned width)
{
  return smmu_model_read(ctx, off, width);
}

static void mmio_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  smmu_model_write(ctx, off, width, v);
}

int smmu_model_register(struct smmu_model *m)
{
  struct host_mmio_region r = { m->p.base, SMMU_MODEL_REG_BYTES, mmio_read, mmio_write, m };
  return host_mmio_register(&r);
}

struct smmu_model *smmu_model_create(const struct smmu_model_params *p)
{
  if ((p->base & 0xffff) || !(p->s1p || p->s2p) || p->oas > 5 || !(p->granules & 7) || p->httu > 2 ||
      p->st_level > 1 || p->sidsize > 32 || p->ssidsize > 20 || p->eventqs > 19 || p->cmdqs > 19 ||
      p->aidr_minor < 1 || p->aidr_minor > 2)
    return NULL;
  struct smmu_model *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->p = *p;
  if (m->p.tlb_entries == 0 || m->p.tlb_entries > MAX_TLB)
    m->p.tlb_entries = MAX_TLB;
  if (m->p.cfg_entries == 0 || m->p.cfg_entries > MAX_CFG)
    m->p.cfg_entries = MAX_CFG;
  for (unsigned i = 0; i < 6; i++)
    m->idr[i] = smmu_model_idr(p, i);
  m->oas_bits = ps_bits_tab[p->oas];
  m->gerror_mask = GE_CMDQ | GE_EVENTQ_ABT;
  if (p->msi) /* the MSI_*_ABT_ERR bits exist with IDR0.MSI (6.3.19) */
    m->gerror_mask |= GE_MSI_CMDQ_ABT | GE_MSI_EVENTQ_ABT | GE_MSI_GERROR_ABT;
  /* Reset (6.3): enables, IRQ enables and GERROR(N) 0; UNKNOWN fields 0; GBPA: Update 0,
   * SHCFG "use incoming", ABORT as the implementation chose. */
  m->gbpa = 1u << 12 | (p->gbpa_abort ? GBPA_ABORT : 0);
  instance = m;
  return m;
}

void smmu_model_destroy(struct smmu_model *m)
{
  if (m == instance)
    instance = NULL;
  free(m);
}

struct smmu_model *smmu_model_instance(void) { return instance; }

const struct smmu_model_stats *smmu_model_stats(const struct smmu_model *m) { return &m->st; }
