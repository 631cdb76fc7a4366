/* Functional VT-d model, from the VT-d Architecture Specification rev 5.10. Section numbers
 * below refer to it. Not derived from iommu/vtd: every encoding is decoded here again from
 * the spec's tables, so a driver that writes a field in the wrong place is answered the way
 * hardware would answer it (a fault, an invalidation queue error, or no effect).
 *
 * What is modelled:
 *  - registers (11.4) with reset values, RO/RW/RW1C fields, one-shot GCMD commands, SRTP
 *    latching RTADDR, GSTS, dword and qword access (a qword is two dwords, low first, 11.2);
 *  - legacy (TTM=00) and scalable (TTM=01) root/context walks, PASID directory/table,
 *    second-stage (3/4/5 levels, 2M/1G leaves per CAP.SSLPS) and first-stage (4/5 levels)
 *    walks with reserved-bit checks and the fault reasons of Table 30;
 *  - a context cache (by source ID), a PASID cache (by source ID and PASID, invalidated by
 *    DID/PASID) and an IOTLB (by DID, PASID, page), filled by successful walks and emptied
 *    only by the invalidations 6.5 says empty them; with CAP.CM=1 not-present entries are
 *    cached too (6.1);
 *  - the invalidation queue (6.5.2): descriptors fetched from IQH when IQT is written (or
 *    IQE is cleared), Table 26 validity, IQE with IQH held at the bad descriptor and IQERCD;
 *    context-cache, IOTLB, PASID-cache, PASID-IOTLB, wait (status write, IWC);
 *  - register-based invalidation (CCMD, IOTLB registers at ECAP.IRO, 6.5.1);
 *  - primary fault logging (7.2.1): FRCD format (11.4.7.6), FRI, PPF, PFO, optional
 *    compression, fault-processing-disable, FECTL.IP;
 *  - Access/Dirty flag updates: first stage always (3.6.2), second stage with PASID-entry
 *    SSADE (ECAP.SSADS, 3.7.2); both need snooped walks (ECAP.SMPWCS and PWSNP) or fault.
 * What is not: interrupt remapping, device-TLBs/ATS, page requests, nested translation,
 * memory types, paging-structure caches (only leaf translations are cached), PMRs. */
#include "tests/model/vtd_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"

#define BIT(n) (1ull << (n))
#define GENMASK(hi, lo) ((((hi) >= 63) ? ~0ull : (BIT((hi) + 1) - 1)) & ~(BIT(lo) - 1))

/* Register offsets (11.4 table). */
enum {
  R_VER = 0x00, R_CAP = 0x08, R_ECAP = 0x10, R_GCMD = 0x18, R_GSTS = 0x1c, R_RTADDR = 0x20,
  R_CCMD = 0x28, R_FSTS = 0x34, R_FECTL = 0x38, R_FEDATA = 0x3c, R_FEADDR = 0x40,
  R_FEUADDR = 0x44, R_PMEN = 0x64, R_IQH = 0x80, R_IQT = 0x88, R_IQA = 0x90, R_ICS = 0x9c,
  R_IECTL = 0xa0, R_IEDATA = 0xa4, R_IEADDR = 0xa8, R_IEUADDR = 0xac, R_IQERCD = 0xb0,
};

/* GCMD/GSTS bits (11.4.4). */
#define G_TE BIT(31)
#define G_SRTP BIT(30)
#define G_WBF BIT(27)
#define G_QIE BIT(26)
/* FSTS (11.4.7.1) */
#define FS_PFO 0x1u
#define FS_PPF 0x2u
#define FS_IQE 0x10u
#define FS_ICE 0x20u
#define FS_ITE 0x40u
#define FECTL_IM BIT(31)
#define FECTL_IP BIT(30)

#define NO_PASID 0xffffffffu
#define CTX_CACHE 64
#define PASID_CACHE 64
#define MAX_IOTLB 1024

enum tlb_kind { K_SS = 1, K_FS = 2 };

struct ctx_ent {
  bool valid, present, sm, fpd;
  uint16_t sid;
  /* legacy */
  uint8_t tt, aw;
  uint16_t did;
  uint64_t ssptptr;
  /* scalable */
  uint64_t pasid_dir;
  uint8_t pdts;
  bool paside, rid_priv;
  uint32_t rid_pasid;
};

struct pc_ent {
  bool valid, fpd, sre, wpe, ssade, pwsnp;
  uint16_t sid, did;
  uint32_t pasid;
  uint8_t pgtt, aw, fspm;
  uint64_t ssptptr, fsptptr;
};

struct tlb_ent {
  bool valid, negative, r, w, us, dirty_ok;
  uint16_t did;
  uint32_t pasid;
  uint8_t kind, shift;
  uint64_t iova, out;
};

struct vtd_model {
  struct vtd_model_params p;
  uint64_t cap, ecap;
  uint64_t haw_mask;          /* bits HAW-1:0 */

  uint32_t gsts;
  uint64_t rtaddr;            /* register as written */
  uint64_t rta;               /* latched by SRTP (6.6) */
  unsigned ttm;
  uint64_t ccmd, iva, iotlb;
  uint32_t fsts;              /* PFO, IQE, ICE, ITE; PPF computed from the F bits */
  unsigned fri;
  uint32_t fectl, fedata, feaddr, feuaddr;
  uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
  uint64_t iqh, iqt, iqa, iqercd;
  uint64_t frcd[VTD_MODEL_MAX_FRCD][2];
  unsigned fault_index;

  struct ctx_ent ctx[CTX_CACHE];
  unsigned ctx_next;
  struct pc_ent pc[PASID_CACHE];
  unsigned pc_next;
  struct tlb_ent tlb[MAX_IOTLB];
  unsigned tlb_next;

  struct vtd_model_stats st;
};

/* ---------------------------------------------------------------- parameters */

void vtd_model_params_default(struct vtd_model_params *p)
{
  memset(p, 0, sizeof(*p));
  p->base = 0xfed90000ull;
  p->haw = 39;
  p->ver = 0x10;
  p->nd = 6;
  p->psi = true;
  p->sagaw = 0x2;
  p->mgaw = 39;
  p->fro = 0x600;
  p->nfr = 1;
  p->sslps = 0x3;
  p->mamv = 18;
  p->qi = true;
  p->pt = true;
  p->iro = 0x500;
  p->fault_compression = true;
  p->iotlb_entries = 256;
}

uint64_t vtd_model_cap(const struct vtd_model_params *p)
{
  /* 11.4.2 field positions. */
  return (uint64_t)(p->nd & 7) | (uint64_t)p->rwbf << 4 | (uint64_t)p->cm << 7 |
         (uint64_t)(p->sagaw & 0x1f) << 8 | (uint64_t)((p->mgaw - 1) & 0x3f) << 16 |
         (uint64_t)p->zlr << 22 | (uint64_t)((p->fro / 16) & 0x3ff) << 24 |
         (uint64_t)(p->sslps & 0xf) << 34 | (uint64_t)p->psi << 39 |
         (uint64_t)((p->nfr - 1) & 0xff) << 40 | (uint64_t)(p->mamv & 0x3f) << 48 |
         (uint64_t)p->fl1gp << 56 | (uint64_t)p->fl5lp << 60 | (uint64_t)p->esrtps << 63;
}

uint64_t vtd_model_ecap(const struct vtd_model_params *p)
{
  /* 11.4.3 field positions. */
  return (uint64_t)p->c | (uint64_t)p->qi << 1 | (uint64_t)p->dt << 2 | (uint64_t)p->ir << 3 |
         (uint64_t)p->pt << 6 | (uint64_t)p->sc << 7 | (uint64_t)((p->iro / 16) & 0x3ff) << 8 |
         (uint64_t)p->nest << 26 | (uint64_t)p->srs << 31 | (uint64_t)(p->pss & 0x1f) << 35 |
         (uint64_t)p->pasid << 40 | (uint64_t)p->smts << 43 | (uint64_t)p->ssads << 45 |
         (uint64_t)p->ssts << 46 | (uint64_t)p->fsts << 47 | (uint64_t)p->smpwcs << 48 |
         (uint64_t)p->rps << 49 | (uint64_t)p->rprivs << 53;
}

/* ---------------------------------------------------------------- faults (7.2) */

static bool sm_mode(const struct vtd_model *m) { return m->ttm == 1; }

static bool any_frcd_pending(const struct vtd_model *m)
{
  for (unsigned i = 0; i < m->p.nfr; i++)
    if (m->frcd[i][1] & BIT(63))
      return true;
  return false;
}

static uint32_t fsts_value(const struct vtd_model *m)
{
  return m->fsts | (any_frcd_pending(m) ? FS_PPF : 0) | (uint32_t)(m->fri & 0xff) << 8;
}

/* 7.3: a new interrupt condition sets IP only when no status was pending; IM holds it. */
static void fault_event(struct vtd_model *m, bool status_was_clear)
{
  if (!status_was_clear)
    return;
  m->fectl |= (uint32_t)FECTL_IP;
  if (!(m->fectl & FECTL_IM))
    m->fectl &= ~(uint32_t)FECTL_IP; /* message sent (not delivered anywhere on the host) */
}

static void fault_status_serviced(struct vtd_model *m)
{
  if ((fsts_value(m) & (FS_PFO | FS_PPF | FS_IQE | FS_ICE | FS_ITE)) == 0)
    m->fectl &= ~(uint32_t)FECTL_IP;
}

/* Table 30 "Qualified" column: these are reported even when FPD is set. */
static bool qualified(unsigned reason)
{
  switch (reason) {
  case 0x01: case 0x08: case 0x09: case 0x0a:
  case 0x30: case 0x31: case 0x32: case 0x33: case 0x34:
  case 0x38: case 0x39: case 0x3a: case 0x40: case 0x50: case 0x58:
    return false;
  default:
    return true;
  }
}

static void record_fault(struct vtd_model *m, const struct model_dma_req *req, unsigned reason, bool fpd)
{
  m->st.last_fault_reason = reason;
  if (fpd && qualified(reason)) {
    m->st.faults_suppressed_fpd++;
    return;
  }
  if (m->fsts & FS_PFO) {
    m->st.faults_overflow++;
    return;
  }
  if (m->p.fault_compression)
    for (unsigned i = 0; i < m->p.nfr; i++)
      if ((m->frcd[i][1] & BIT(63)) && (uint16_t)m->frcd[i][1] == req->sid) {
        m->st.faults_collapsed++;
        return;
      }
  bool was_clear = (fsts_value(m) & (FS_PFO | FS_PPF | FS_IQE | FS_ICE | FS_ITE)) == 0;
  unsigned i = m->fault_index;
  if (m->frcd[i][1] & BIT(63)) {
    m->fsts |= FS_PFO;
    m->st.faults_overflow++;
    fault_event(m, was_clear);
    return;
  }
  /* FI: page address, bits above the largest AGAW reserved (11.4.7.6). */
  unsigned n = m->p.sagaw & 8 ? 57 : m->p.sagaw & 4 ? 48 : m->p.sagaw & 2 ? 39 : 57;
  uint64_t lo = req->addr & GENMASK(n - 1, 12);
  uint64_t hi = req->sid;
  if (!req->write)
    hi |= BIT(62); /* T1=1 T2=0: read */
  if (req->has_pasid && m->p.pasid)
    hi |= BIT(31) | (uint64_t)(req->pasid & 0xfffff) << 40 | (req->priv ? BIT(29) : 0);
  hi |= (uint64_t)(reason & 0xff) << 32;
  bool ppf = any_frcd_pending(m);
  m->frcd[i][0] = lo;
  m->frcd[i][1] = hi | BIT(63);
  if (!ppf)
    m->fri = i;
  m->fault_index = (i + 1) % m->p.nfr;
  m->st.faults_recorded++;
  fault_event(m, was_clear);
}

/* ---------------------------------------------------------------- caches (6.2) */

static struct ctx_ent *ctx_find(struct vtd_model *m, uint16_t sid)
{
  for (unsigned i = 0; i < CTX_CACHE; i++)
    if (m->ctx[i].valid && m->ctx[i].sid == sid && m->ctx[i].sm == sm_mode(m))
      return &m->ctx[i];
  return NULL;
}

static void ctx_insert(struct vtd_model *m, const struct ctx_ent *e)
{
  struct ctx_ent *old = ctx_find(m, e->sid);
  struct ctx_ent *slot = old ? old : &m->ctx[m->ctx_next++ % CTX_CACHE];
  *slot = *e;
  slot->valid = true;
}

static struct pc_ent *pc_find(struct vtd_model *m, uint16_t sid, uint32_t pasid)
{
  for (unsigned i = 0; i < PASID_CACHE; i++)
    if (m->pc[i].valid && m->pc[i].sid == sid && m->pc[i].pasid == pasid)
      return &m->pc[i];
  return NULL;
}

static void pc_insert(struct vtd_model *m, const struct pc_ent *e)
{
  struct pc_ent *old = pc_find(m, e->sid, e->pasid);
  struct pc_ent *slot = old ? old : &m->pc[m->pc_next++ % PASID_CACHE];
  *slot = *e;
  slot->valid = true;
}

static struct tlb_ent *tlb_find(struct vtd_model *m, uint16_t did, uint32_t pasid, uint8_t kind,
                                uint64_t addr)
{
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (t->valid && t->did == did && t->pasid == pasid && t->kind == kind &&
        (addr >> t->shift) == (t->iova >> t->shift))
      return t;
  }
  return NULL;
}

static void tlb_insert(struct vtd_model *m, const struct tlb_ent *e)
{
  struct tlb_ent *old = tlb_find(m, e->did, e->pasid, e->kind, e->iova);
  struct tlb_ent *slot = old ? old : &m->tlb[m->tlb_next++ % m->p.iotlb_entries];
  *slot = *e;
  slot->valid = true;
}

unsigned vtd_model_iotlb_count(const struct vtd_model *m)
{
  unsigned n = 0;
  for (unsigned i = 0; i < m->p.iotlb_entries; i++)
    n += m->tlb[i].valid;
  return n;
}

static bool overlaps(const struct tlb_ent *t, uint64_t addr, unsigned am)
{
  uint64_t size = 0x1000ull << am, base = addr & ~(size - 1);
  uint64_t tsize = 1ull << t->shift, tbase = t->iova & ~(tsize - 1);
  return tbase < base + size && base < tbase + tsize;
}

/* Context-cache invalidation (6.5.2.1 / CCMD): gran 1 global, 2 domain, 3 device. In
 * scalable mode the context cache is not tagged by DID: domain-selective is global and the
 * DID of a device-selective request is ignored. */
static void inv_context(struct vtd_model *m, unsigned gran, uint16_t did, uint16_t sid, unsigned fm)
{
  static const uint16_t fm_mask[4] = { 0xffff, 0xfffe, 0xfffc, 0xfff8 }; /* Table 21 */
  m->st.inv_context++;
  for (unsigned i = 0; i < CTX_CACHE; i++) {
    struct ctx_ent *e = &m->ctx[i];
    if (!e->valid)
      continue;
    bool hit = gran == 1 || (gran == 2 && (sm_mode(m) || e->did == did)) ||
               (gran == 3 && (e->sid & fm_mask[fm & 3]) == (sid & fm_mask[fm & 3]) &&
                (sm_mode(m) || e->did == did));
    if (hit)
      e->valid = false;
  }
}

/* PASID-cache invalidation (6.5.2.2): 0 domain, 1 PASID within domain, 3 global. */
static void inv_pasid(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid)
{
  m->st.inv_pasid++;
  for (unsigned i = 0; i < PASID_CACHE; i++) {
    struct pc_ent *e = &m->pc[i];
    if (e->valid && (gran == 3 || (e->did == did && (gran == 0 || e->pasid == pasid))))
      e->valid = false;
  }
}

/* IOTLB invalidation (6.5.2.3 Table 23 / IOTLB_REG): 1 global, 2 domain, 3 page within
 * domain. In scalable mode a page-selective request removes second-stage entries in the
 * range and every first-stage entry of the domain. */
static void inv_iotlb(struct vtd_model *m, unsigned gran, uint16_t did, uint64_t addr, unsigned am)
{
  m->st.inv_iotlb++;
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (!t->valid)
      continue;
    bool hit = gran == 1 || (gran == 2 && t->did == did) ||
               (gran == 3 && t->did == did && (t->kind == K_FS || overlaps(t, addr, am)));
    if (hit)
      t->valid = false;
  }
}

/* PASID-based IOTLB invalidation (6.5.2.4 Table 24): 2 PASID-selective, 3 page within PASID.
 * At either granularity it reaches first-stage (and nested) entries only: second-stage
 * entries cached for the PASID stay until an IOTLB invalidation (Table 23). */
static void inv_piotlb(struct vtd_model *m, unsigned gran, uint16_t did, uint32_t pasid,
                       uint64_t addr, unsigned am)
{
  m->st.inv_piotlb++;
  for (unsigned i = 0; i < m->p.iotlb_entries; i++) {
    struct tlb_ent *t = &m->tlb[i];
    if (!t->valid || t->did != did || t->pasid != pasid || t->kind != K_FS)
      continue;
    if (gran == 2 || (gran == 3 && overlaps(t, addr, am)))
      t->valid = false;
  }
}

static void inv_all(struct vtd_model *m)
{
  memset(m->ctx, 0, sizeof(m->ctx));
  memset(m->pc, 0, sizeof(m->pc));
  memset(m->tlb, 0, sizeof(m->tlb));
}

/* ---------------------------------------------------------------- walks */

struct walk {
  uint64_t out_page;          /* base of the leaf's page */
  unsigned shift;
  bool r, w, us, dirty_ok;
  bool not_present;           /* the walk ended on an entry with R=W=0 */
  unsigned n_upd;
  uint64_t upd_addr[6], upd_bits[6];
};

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

/* Sets the A/D flags the walk needs, atomically per entry (the model is the only agent
 * running while it translates). -1 when an entry cannot be written. */
static int apply_updates(struct vtd_model *m, const struct walk *w)
{
  for (unsigned i = 0; i < w->n_upd; i++) {
    uint64_t e;
    if (model_mem_read64(w->upd_addr[i], &e) || model_mem_write64(w->upd_addr[i], e | w->upd_bits[i]))
      return -1;
    m->st.ad_updates++;
  }
  return 0;
}

static uint64_t haw_rsvd(const struct vtd_model *m) { return GENMASK(51, m->p.haw); }

/* Reserved bits of a second-stage entry (9.8 Tables 41-47); I/O read/write bits are not
 * enabled here, so bit 62 is reserved. */
static uint64_t ss_reserved(const struct vtd_model *m, unsigned level, bool leaf)
{
  uint64_t r = (m->p.haw < 52 ? haw_rsvd(m) : 0) | BIT(62);
  if (!leaf) {
    r |= BIT(11);
    if (level >= 4)
      r |= BIT(7);
    return r;
  }
  if (!m->p.sc)
    r |= BIT(11);
  if (level == 3)
    r |= GENMASK(29, 12) | ((m->p.sslps & 2) ? 0 : BIT(7));
  else if (level == 2)
    r |= GENMASK(20, 12) | ((m->p.sslps & 1) ? 0 : BIT(7));
  return r;
}

/* Second-stage walk (3.7). Legacy mode reports 07h/0Ch/05h/06h (and 03h when the table
 * SSPTPTR points to cannot be read, LCT.4.3); scalable mode 7Bh/78h/79h/7Ah/85h/86h. */
static unsigned ss_walk(struct vtd_model *m, uint64_t root, unsigned levels, uint64_t addr,
                        bool write, bool sm, bool ssade, struct walk *w)
{
  uint64_t table = root & m->haw_mask & ~0xfffull;
  bool r = true, wr = true;
  memset(w, 0, sizeof(*w));
  m->st.walks++;
  for (unsigned level = levels; level >= 1; level--) {
    uint64_t ea = table + ((addr >> (12 + 9 * (level - 1))) & 0x1ff) * 8, e;
    if (model_mem_read64(ea, &e))
      return level == levels ? (sm ? 0x7b : 0x03) : (sm ? 0x78 : 0x07);
    if (!(e & 3)) { /* R=W=0: not present */
      w->not_present = true;
      return sm ? 0x79 : (write ? 0x05 : 0x06);
    }
    bool leaf = level == 1 || (level <= 3 && (e & BIT(7)));
    if (e & ss_reserved(m, level, leaf))
      return sm ? 0x7a : 0x0c;
    r = r && (e & 1);
    wr = wr && (e & 2);
    if (ssade && !(e & BIT(8)))
      want_update(w, ea, BIT(8));
    if (!leaf) {
      table = e & m->haw_mask & ~0xfffull;
      continue;
    }
    unsigned shift = 12 + 9 * (level - 1);
    if (!r && !wr)
      return sm ? 0x79 : (write ? 0x05 : 0x06);
    if (write && !wr)
      return sm ? 0x85 : 0x05;
    if (!write && !r)
      return sm ? 0x86 : 0x06;
    if (ssade && write && !(e & BIT(9)))
      want_update(w, ea, BIT(9));
    w->out_page = e & m->haw_mask & ~(BIT(shift) - 1);
    w->shift = shift;
    w->r = r;
    w->w = wr;
    w->us = true;
    w->dirty_ok = !ssade || write || (e & BIT(9));
    return 0;
  }
  return sm ? 0x79 : 0x06; /* not reached */
}

/* First-stage walk (3.6, 9.7): x86 4/5-level paging, canonical input, U/S and R/W. A is set
 * in every entry used, D in the leaf on a write (3.6.2). */
static unsigned fs_walk(struct vtd_model *m, uint64_t root, unsigned levels, uint64_t addr,
                        bool write, bool priv, bool wpe, struct walk *w)
{
  unsigned n = levels == 5 ? 57 : 48;
  if ((uint64_t)((int64_t)(addr << (64 - n)) >> (64 - n)) != addr)
    return 0x80;
  uint64_t table = root & m->haw_mask & ~0xfffull;
  bool rw = true, us = true;
  memset(w, 0, sizeof(*w));
  m->st.walks++;
  for (unsigned level = levels; level >= 1; level--) {
    uint64_t ea = table + ((addr >> (12 + 9 * (level - 1))) & 0x1ff) * 8, e;
    if (model_mem_read64(ea, &e))
      return level == levels ? 0x73 : 0x70;
    if (!(e & 1))
      return 0x71;
    bool leaf = level == 1 || (level <= 3 && (e & BIT(7)));
    uint64_t rsv = m->p.haw < 52 ? haw_rsvd(m) : 0;
    if (level >= 4)
      rsv |= BIT(7);
    else if (leaf && level == 3)
      rsv |= GENMASK(29, 13) | (m->p.fl1gp ? 0 : BIT(7));
    else if (leaf && level == 2)
      rsv |= GENMASK(20, 13);
    if (e & rsv)
      return 0x72;
    rw = rw && (e & 2);
    us = us && (e & 4);
    if (!(e & BIT(5)))
      want_update(w, ea, BIT(5));
    if (!leaf) {
      table = e & m->haw_mask & ~0xfffull;
      continue;
    }
    unsigned shift = 12 + 9 * (level - 1);
    if (!priv && !us)
      return 0x81;
    if (write && !rw && (!priv || wpe))
      return 0x85;
    if (write && !(e & BIT(6)))
      want_update(w, ea, BIT(6));
    w->out_page = e & m->haw_mask & ~(BIT(shift) - 1);
    w->shift = shift;
    w->r = true;
    w->w = rw || (priv && !wpe);
    w->us = us;
    w->dirty_ok = write || (e & BIT(6));
    return 0;
  }
  return 0x71;
}

/* ---------------------------------------------------------------- translation */

struct xlate {
  uint64_t out;
  bool fpd;
};

static unsigned agaw_levels(unsigned aw) { return aw >= 1 && aw <= 3 ? aw + 2 : 0; }

static unsigned did_bits(const struct vtd_model *m) { return 4 + 2 * (m->p.nd > 6 ? 6 : m->p.nd); }

/* Legacy root + context entry (9.1, 9.3). */
static unsigned legacy_context(struct vtd_model *m, uint16_t sid, struct ctx_ent *out)
{
  struct ctx_ent *c = ctx_find(m, sid);
  if (c) {
    m->st.ctx_hits++;
    *out = *c;
    return out->present ? 0 : 0x02;
  }
  uint64_t re[2], ce[2];
  if (model_mem_read(m->rta + (uint64_t)(sid >> 8) * 16, re, 16))
    return 0x08;
  if (!(re[0] & 1))
    return 0x01;
  if ((re[0] & GENMASK(11, 1)) || re[1] || (re[0] & ~m->haw_mask))
    return 0x0a;
  if (model_mem_read((re[0] & ~0xfffull) + (uint64_t)(sid & 0xff) * 16, ce, 16))
    return 0x09;
  memset(out, 0, sizeof(*out));
  out->sid = sid;
  out->fpd = ce[0] & 2;
  if (!(ce[0] & 1)) {
    if (m->p.cm) { /* 6.1: caching mode may cache not-present entries (tagged DID 0) */
      out->present = false;
      ctx_insert(m, out);
    }
    return 0x02;
  }
  uint64_t rsv_lo = GENMASK(11, 4) | (ce[0] & ~m->haw_mask & ~0xfffull);
  uint64_t rsv_hi = BIT(7) | GENMASK(63, 24) | (did_bits(m) < 16 ? GENMASK(23, 8 + did_bits(m)) : 0);
  if ((ce[0] & rsv_lo) || (ce[1] & rsv_hi))
    return 0x0b;
  out->tt = (ce[0] >> 2) & 3;
  out->aw = ce[1] & 7;
  out->did = (uint16_t)(ce[1] >> 8);
  out->ssptptr = ce[0] & ~0xfffull;
  /* LCT.4.1/4.2: TT 11b reserved, 01b needs DT, 10b needs PT; AW must be in SAGAW, and for
   * pass-through the largest supported AGAW (9.3). */
  unsigned largest = m->p.sagaw & 8 ? 3 : m->p.sagaw & 4 ? 2 : m->p.sagaw & 2 ? 1 : 0;
  if (out->tt == 3 || (out->tt == 1 && !m->p.dt) || (out->tt == 2 && !m->p.pt))
    return 0x03;
  if (out->tt != 2 && !(agaw_levels(out->aw) && (m->p.sagaw & (1u << out->aw))))
    return 0x03;
  if (out->tt == 2 && out->aw != largest)
    return 0x03;
  out->present = true;
  ctx_insert(m, out);
  return 0;
}

/* Scalable-mode root + context entry (9.2, 9.4). */
static unsigned sm_context(struct vtd_model *m, uint16_t sid, struct ctx_ent *out)
{
  struct ctx_ent *c = ctx_find(m, sid);
  if (c) {
    m->st.ctx_hits++;
    *out = *c;
    return out->present ? 0 : 0x41;
  }
  uint64_t re[2], ce[4];
  unsigned devfn = sid & 0xff;
  if (model_mem_read(m->rta + (uint64_t)(sid >> 8) * 16, re, 16))
    return 0x38;
  uint64_t half = devfn >= 0x80 ? re[1] : re[0];
  if (!(half & 1))
    return 0x39;
  /* SRT.3: reserved bits in a half whose present bit is set. */
  for (unsigned h = 0; h < 2; h++)
    if ((re[h] & 1) && ((re[h] & GENMASK(11, 1)) || (re[h] & ~m->haw_mask)))
      return 0x3a;
  if (model_mem_read((half & ~0xfffull) + (uint64_t)(devfn & 0x7f) * 32, ce, 32))
    return 0x40;
  memset(out, 0, sizeof(*out));
  out->sid = sid;
  out->sm = true;
  out->fpd = ce[0] & 2;
  if (!(ce[0] & 1)) {
    if (m->p.cm) {
      out->present = false;
      ctx_insert(m, out);
    }
    return 0x41;
  }
  /* Bits 8:7 reserved; DTE, PRE, HPTE, EPTR reserved (no device-TLB, page requests, HPT,
   * PASID in translated requests modelled); PASIDE reserved without ECAP.PASID;
   * RID_PASID / RID_PRIV reserved without RPS / RPRIVS; bits 255:85 reserved. */
  uint64_t rsv0 = GENMASK(8, 7) | BIT(6) | BIT(5) | BIT(4) | (m->p.dt ? 0 : BIT(2)) |
                  (m->p.pasid ? 0 : BIT(3)) |
                  (ce[0] & ~m->haw_mask & ~0xfffull);
  uint64_t rsv1 = GENMASK(63, 21) | (m->p.rps ? 0 : GENMASK(19, 0)) | (m->p.rprivs ? 0 : BIT(20));
  if ((ce[0] & rsv0) || (ce[1] & rsv1) || ce[2] || ce[3])
    return 0x42;
  out->pasid_dir = ce[0] & ~0xfffull;
  out->pdts = (ce[0] >> 9) & 7;
  out->paside = ce[0] & BIT(3);
  out->rid_pasid = (uint32_t)(ce[1] & 0xfffff);
  out->rid_priv = ce[1] & BIT(20);
  uint64_t max_pasid = (64ull << (out->pdts + 7)) - 1;
  if (out->rid_pasid > max_pasid)
    return 0x43; /* SCT.4.2 */
  out->present = true;
  ctx_insert(m, out);
  return 0;
}

/* Scalable-mode PASID directory + table entry (9.5, 9.6). */
static unsigned pasid_entry(struct vtd_model *m, const struct ctx_ent *c, uint16_t sid,
                            uint32_t pasid, struct pc_ent *out, bool *fpd)
{
  struct pc_ent *hit = pc_find(m, sid, pasid);
  if (hit) {
    m->st.pasid_hits++;
    *out = *hit;
    *fpd = *fpd || out->fpd;
    return 0;
  }
  uint64_t de, pe[8];
  if (model_mem_read64(c->pasid_dir + (uint64_t)(pasid >> 6) * 8, &de))
    return 0x50;
  *fpd = *fpd || (de & 2);
  if (!(de & 1))
    return 0x51;
  if ((de & GENMASK(11, 2)) || (de & ~m->haw_mask))
    return 0x52;
  if (model_mem_read((de & ~0xfffull) + (uint64_t)(pasid & 0x3f) * 64, pe, 64))
    return 0x58;
  *fpd = *fpd || (pe[0] & 2);
  if (!(pe[0] & 1))
    return 0x59;
  unsigned did_w = did_bits(m);
  uint64_t rsv[8] = { 0 };
  rsv[0] = BIT(5) | GENMASK(11, 10) | ((m->p.ssts && m->p.ssads) ? 0 : BIT(9)) |
           (m->p.ssts ? (pe[0] & ~m->haw_mask & ~0xfffull) : (GENMASK(63, 12) | GENMASK(4, 2)));
  rsv[1] = (did_w < 16 ? GENMASK(15, did_w) : 0) | GENMASK(22, 16) | (m->p.smpwcs ? 0 : BIT(23)) |
           (m->p.sc ? 0 : BIT(24)) | GENMASK(63, 25); /* CD, EMTE, PAT: no memory types */
  rsv[2] = (m->p.srs ? 0 : BIT(0)) | BIT(1) | GENMASK(11, 7) |
           (m->p.fsts ? (pe[2] & ~m->haw_mask & ~0xfffull) : (GENMASK(63, 12) | GENMASK(4, 2)));
  rsv[3] = rsv[4] = rsv[5] = rsv[6] = rsv[7] = ~0ull; /* 511:192: HPT not modelled */
  for (unsigned i = 0; i < 8; i++)
    if (pe[i] & rsv[i])
      return 0x5a;
  memset(out, 0, sizeof(*out));
  out->sid = sid;
  out->pasid = pasid;
  out->pgtt = (pe[0] >> 6) & 7;
  out->aw = (pe[0] >> 2) & 7;
  out->ssptptr = pe[0] & ~0xfffull;
  out->ssade = pe[0] & BIT(9);
  out->did = (uint16_t)pe[1];
  out->pwsnp = pe[1] & BIT(23);
  out->sre = pe[2] & 1;
  out->fspm = (pe[2] >> 2) & 3;
  out->wpe = pe[2] & BIT(4);
  out->fsptptr = pe[2] & ~0xfffull;
  out->fpd = *fpd;
  /* SPT.4: PGTT, AW, FSPM must name something the unit supports. */
  bool pgtt_ok = (out->pgtt == 1 && m->p.fsts) || (out->pgtt == 2 && m->p.ssts) ||
                 (out->pgtt == 3 && m->p.nest) || (out->pgtt == 4 && m->p.pt);
  if (!pgtt_ok || out->pgtt == 3)
    return 0x5b;
  if (out->pgtt == 2 && !(agaw_levels(out->aw) && (m->p.sagaw & (1u << out->aw))))
    return 0x5b;
  if (out->pgtt == 1 && (out->fspm > 1 || (out->fspm == 1 && !m->p.fl5lp)))
    return 0x5b;
  pc_insert(m, out);
  return 0;
}

static void cache_translation(struct vtd_model *m, uint16_t did, uint32_t pasid, uint8_t kind,
                              uint64_t addr, const struct walk *w)
{
  struct tlb_ent t = {
    .did = did, .pasid = pasid, .kind = kind, .iova = addr & ~(BIT(w->shift) - 1),
    .shift = (uint8_t)w->shift, .out = w->out_page, .r = w->r, .w = w->w, .us = w->us,
    .dirty_ok = w->dirty_ok,
  };
  tlb_insert(m, &t);
}

/* IOTLB lookup then walk. A cached translation is used as long as it grants the access;
 * when it does not (or a write needs the D flag set), it is dropped and the tables are
 * walked again (the spec lets hardware re-walk at any time). */
static unsigned translate_leaf(struct vtd_model *m, const struct model_dma_req *req, uint16_t did,
                               uint32_t pasid, uint8_t kind, uint64_t root, unsigned levels, bool sm,
                               bool ssade, bool pwsnp, bool priv, bool wpe, uint64_t *out)
{
  struct tlb_ent *t = tlb_find(m, did, pasid, kind, req->addr);
  if (t && t->negative) {
    m->st.iotlb_hits++;
    return sm ? 0x79 : (req->write ? 0x05 : 0x06);
  }
  if (t) {
    bool ok = (req->write ? (t->w && t->dirty_ok) : t->r) && (priv || t->us);
    if (ok) {
      m->st.iotlb_hits++;
      *out = t->out | (req->addr & (BIT(t->shift) - 1));
      return 0;
    }
    t->valid = false;
  }
  m->st.iotlb_misses++;
  struct walk w;
  unsigned fr = kind == K_FS ? fs_walk(m, root, levels, req->addr, req->write, priv, wpe, &w)
                             : ss_walk(m, root, levels, req->addr, req->write, sm, ssade, &w);
  if (fr) {
    if (m->p.cm && kind == K_SS && w.not_present) {
      /* not-present second-stage entry: cached under caching mode (6.1) */
      struct tlb_ent n = { .did = did, .pasid = pasid, .kind = kind, .negative = true,
                           .iova = req->addr & ~0xfffull, .shift = 12 };
      tlb_insert(m, &n);
    }
    return fr;
  }
  if (w.n_upd) {
    if (!m->p.smpwcs || !pwsnp)
      return kind == K_FS ? 0x90 : 0x7c; /* SFS.9 / SSS.5: A/D update needs snooped walks */
    if (apply_updates(m, &w))
      return kind == K_FS ? 0x91 : 0x7d;
  }
  cache_translation(m, did, pasid, kind, req->addr, &w);
  *out = w.out_page | (req->addr & (BIT(w.shift) - 1));
  return 0;
}

static unsigned translate_legacy(struct vtd_model *m, const struct model_dma_req *req, struct xlate *x)
{
  if (req->has_pasid)
    return 0x31; /* RTA.2 */
  struct ctx_ent c = { .valid = false };
  unsigned fr = legacy_context(m, req->sid, &c);
  x->fpd = c.fpd;
  if (fr)
    return fr;
  if (c.tt == 2) { /* pass-through: the address must be within HAW (LGN.1.3) */
    if (req->addr & ~m->haw_mask)
      return 0x04;
    x->out = req->addr;
    return 0;
  }
  unsigned aw_bits = 30 + 9 * c.aw;
  unsigned width = aw_bits < m->p.mgaw ? aw_bits : m->p.mgaw;
  if (req->addr >> width)
    return 0x04; /* LGN.1.1 */
  return translate_leaf(m, req, c.did, NO_PASID, K_SS, c.ssptptr, agaw_levels(c.aw), false, false,
                        true, false, false, &x->out);
}

static unsigned translate_sm(struct vtd_model *m, const struct model_dma_req *req, struct xlate *x)
{
  struct ctx_ent c = { .valid = false };
  unsigned fr = sm_context(m, req->sid, &c);
  x->fpd = c.fpd;
  if (fr)
    return fr;
  uint32_t pasid = req->has_pasid ? req->pasid : c.rid_pasid;
  bool priv = req->has_pasid ? req->priv : c.rid_priv;
  if (req->has_pasid) {
    if (!c.paside)
      return 0x45; /* SCT.6 */
    if (m->p.pasid && pasid >= (2ull << m->p.pss))
      return 0x89; /* SGN.10 */
    if (pasid > (64ull << (c.pdts + 7)) - 1)
      return 0x46; /* SCT.7 */
    if (pasid == c.rid_pasid)
      return 0x48; /* SCT.9 */
  }
  struct pc_ent pe = { .valid = false };
  bool fpd = c.fpd;
  fr = pasid_entry(m, &c, req->sid, pasid, &pe, &fpd);
  x->fpd = fpd;
  if (fr)
    return fr;
  if (priv && !pe.sre)
    return 0x5d; /* SPT.6 */
  switch (pe.pgtt) {
  case 4:
    if (req->addr & ~m->haw_mask)
      return 0x83; /* SGN.4.2 */
    x->out = req->addr;
    return 0;
  case 2: {
    unsigned aw_bits = 30 + 9 * pe.aw;
    unsigned width = aw_bits < m->p.mgaw ? aw_bits : m->p.mgaw;
    if (req->addr >> width)
      return 0x84; /* SGN.5 */
    return translate_leaf(m, req, pe.did, pasid, K_SS, pe.ssptptr, agaw_levels(pe.aw), true,
                          pe.ssade, pe.pwsnp, priv, false, &x->out);
  }
  default: /* 1: first stage */
    return translate_leaf(m, req, pe.did, pasid, K_FS, pe.fsptptr, pe.fspm ? 5 : 4, true, false,
                          pe.pwsnp, priv, pe.wpe, &x->out);
  }
}

enum model_dma_result vtd_model_dma(struct vtd_model *m, const struct model_dma_req *req, void *data)
{
  m->st.requests++;
  uint64_t out = req->addr;
  if (m->gsts & G_TE) {
    struct xlate x = { 0, false };
    unsigned fr;
    switch (m->ttm) {
    case 0: fr = translate_legacy(m, req, &x); break;
    case 1: fr = m->p.smts ? translate_sm(m, req, &x) : 0x30; break;
    default: fr = 0x30; break; /* RTA.1: reserved mode / abort-DMA mode not supported */
    }
    /* LGN.4 / SGN.8: an output address in the interrupt range is blocked. */
    if (!fr && (x.out >> 20) == 0xfee)
      fr = m->ttm == 1 ? 0x87 : 0x0e;
    if (fr) {
      record_fault(m, req, fr, x.fpd);
      return MODEL_DMA_BLOCKED;
    }
    m->st.translated++;
    out = x.out;
  } else {
    m->st.passthrough_off++;
  }
  int err = req->write ? model_mem_write(out, data, req->len) : model_mem_read(out, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

/* ---------------------------------------------------------------- invalidation queue */

static void iq_error(struct vtd_model *m, unsigned code)
{
  bool was_clear = (fsts_value(m) & (FS_PFO | FS_PPF | FS_IQE | FS_ICE | FS_ITE)) == 0;
  m->fsts |= FS_IQE;
  m->iqercd = (m->iqercd & ~0xfull) | (code & 0xf);
  m->st.qi_errors++;
  fault_event(m, was_clear);
}

/* Executes one descriptor; 0 or the IQEI code of the error (11.4.9.9). */
static unsigned iq_execute(struct vtd_model *m, const uint64_t d[4], bool wide)
{
  unsigned type = (unsigned)(d[0] & 0xf) | (unsigned)((d[0] >> 9) & 7) << 4;
  unsigned g = (d[0] >> 4) & 3;
  uint16_t did = (uint16_t)(d[0] >> 16);
  /* Table 26: legacy 1..5, scalable (256-bit only) 1..0xA; device-TLB types need ECAP.DT. */
  bool valid = m->ttm == 1 ? (type >= 1 && type <= 0xa) : (type >= 1 && type <= 5);
  if ((type == 3 || type == 8) && !m->p.dt)
    valid = false;
  if (type == 9 || type == 0xa)
    valid = false; /* HPT / other caches not modelled: treated as unsupported types */
  if (!valid)
    return 3;
  bool w128 = type <= 5; /* 128-bit descriptors, padded with zeros when DW=1 */
  if (wide && w128 && (d[2] || d[3]))
    return 4;
  switch (type) {
  case 1: /* context-cache (6.5.2.1) */
    if (g == 0 || (d[0] & (GENMASK(63, 50) | GENMASK(15, 12) | GENMASK(8, 6))) || d[1])
      return 4;
    inv_context(m, g, did, (uint16_t)(d[0] >> 32), (unsigned)(d[0] >> 48) & 3);
    return 0;
  case 2: /* IOTLB (6.5.2.3) */
    if (g == 0 || (g == 3 && !m->p.psi) || (d[0] & (GENMASK(63, 32) | GENMASK(15, 12) | BIT(8))) ||
        (d[1] & GENMASK(11, 7)))
      return 4;
    inv_iotlb(m, g, did, d[1] & ~0xfffull, (unsigned)(d[1] & 0x3f));
    return 0;
  case 4: /* interrupt entry cache: no interrupt remapping modelled */
    m->st.inv_other++;
    return 0;
  case 5: { /* wait (6.5.2.9) */
    if ((d[0] & (BIT(7) | BIT(8) | GENMASK(31, 12))) || (d[1] & 3))
      return 4;
    m->st.inv_wait++;
    if (d[0] & BIT(5)) {
      uint32_t data = (uint32_t)(d[0] >> 32);
      model_mem_write(d[1] & m->haw_mask & ~3ull, &data, 4); /* undefined if not memory */
    }
    if (d[0] & BIT(4)) {
      bool was = m->ics & 1;
      m->ics |= 1;
      if (!was) {
        m->iectl |= (uint32_t)FECTL_IP;
        if (!(m->iectl & FECTL_IM))
          m->iectl &= ~(uint32_t)FECTL_IP;
      }
    }
    return 0;
  }
  case 6: /* PASID-based IOTLB (6.5.2.4) */
    if (g < 2 || (d[0] & (GENMASK(63, 52) | GENMASK(15, 12) | GENMASK(8, 6))) || (d[1] & GENMASK(11, 7)) ||
        d[2] || d[3])
      return 4;
    inv_piotlb(m, g, did, (uint32_t)(d[0] >> 32) & 0xfffff, d[1] & ~0xfffull, (unsigned)(d[1] & 0x3f));
    return 0;
  case 7: /* PASID cache (6.5.2.2) */
    if (g == 2 || (d[0] & (GENMASK(63, 52) | GENMASK(15, 12) | GENMASK(8, 6))) || d[1] || d[2] || d[3])
      return 4;
    inv_pasid(m, g, did, (uint32_t)(d[0] >> 32) & 0xfffff);
    return 0;
  default:
    return 3;
  }
}

/* Fetches descriptors from IQH while the queue is enabled, not empty and no IQE/ITE is
 * pending (6.5.2). On an error IQH stays at the offending descriptor. */
static void iq_process(struct vtd_model *m)
{
  if (!m->p.qi || !(m->gsts & G_QIE) || (m->fsts & (FS_IQE | FS_ITE)))
    return;
  bool wide = m->iqa & BIT(11);
  uint64_t qbytes = 4096ull << (m->iqa & 7), dsize = wide ? 32 : 16;
  while (m->iqh != m->iqt) {
    if (m->iqt >= qbytes) {
      iq_error(m, 1);
      return;
    }
    if (wide && (m->iqt & 0x10)) {
      iq_error(m, 6);
      return;
    }
    if ((wide && !m->p.smts) || (!wide && m->ttm == 1)) {
      iq_error(m, 5);
      return;
    }
    uint64_t d[4] = { 0, 0, 0, 0 };
    if (model_mem_read((m->iqa & ~0xfffull & m->haw_mask) + m->iqh, d, dsize)) {
      iq_error(m, 2);
      return;
    }
    unsigned err = iq_execute(m, d, wide);
    if (err) {
      iq_error(m, err);
      return;
    }
    m->iqh = (m->iqh + dsize) % qbytes;
  }
}

/* ---------------------------------------------------------------- register invalidation */

static bool register_inv_allowed(const struct vtd_model *m)
{
  /* 6.5.1: only with QI disabled, not in scalable mode, and not from major version 6 on. */
  return !(m->gsts & G_QIE) && m->ttm != 1 && ((m->p.ver >> 4) & 0xf) < 6;
}

static void ccmd_go(struct vtd_model *m)
{
  uint64_t v = m->ccmd;
  unsigned g = (v >> 61) & 3;
  m->st.inv_register++;
  v &= ~(BIT(63) | GENMASK(60, 59));
  if (register_inv_allowed(m) && g != 0) {
    inv_context(m, g, (uint16_t)v, (uint16_t)(v >> 16), (unsigned)(v >> 32) & 3);
    v |= (uint64_t)g << 59; /* CAIG: performed at the requested granularity */
  }
  m->ccmd = v;
}

static void iotlb_go(struct vtd_model *m)
{
  uint64_t v = m->iotlb;
  unsigned g = (v >> 60) & 3;
  m->st.inv_register++;
  v &= ~(BIT(63) | GENMASK(58, 57));
  if (register_inv_allowed(m) && g != 0) {
    if (g == 3 && !m->p.psi)
      g = 2; /* no page-selective support: domain-selective, reported in IAIG */
    inv_iotlb(m, g, (uint16_t)(v >> 32), m->iva & ~0xfffull, (unsigned)(m->iva & 0x3f));
    v |= (uint64_t)g << 57;
  }
  m->iotlb = v;
}

/* ---------------------------------------------------------------- registers */

static void gcmd_write(struct vtd_model *m, uint32_t v)
{
  bool te = v & G_TE, qie = v & G_QIE;
  if (te != !!(m->gsts & G_TE)) {
    if (te)
      m->gsts |= (uint32_t)G_TE;
    else {
      m->gsts &= ~(uint32_t)G_TE;
      m->fault_index = 0; /* 7.2.1: reset when translation (and IR) is off */
    }
  }
  if (v & G_SRTP) { /* 6.6 / 11.4.4.1: latch RTADDR, RTPS reports completion */
    m->rta = m->rtaddr & ~0xfffull & m->haw_mask;
    m->ttm = (unsigned)(m->rtaddr >> 10) & 3;
    m->gsts |= (uint32_t)G_SRTP;
    if (m->p.esrtps)
      inv_all(m);
  }
  if (v & G_WBF)
    m->gsts &= ~(uint32_t)G_WBF; /* completes at once: WBFS reads 0 */
  if (m->p.qi && qie != !!(m->gsts & G_QIE)) {
    if (qie) {
      m->gsts |= (uint32_t)G_QIE;
      iq_process(m);
    } else {
      m->gsts &= ~(uint32_t)G_QIE;
      m->iqh = 0; /* 11.4.9.1: IQH resets when queued invalidation is disabled */
    }
  }
}

static uint32_t lo32(uint64_t v) { return (uint32_t)v; }
static uint32_t hi32(uint64_t v) { return (uint32_t)(v >> 32); }
static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & GENMASK(63, 32)) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static uint32_t rd32(struct vtd_model *m, unsigned off)
{
  unsigned fro = m->p.fro, iro = m->p.iro;
  if (off >= fro && off < fro + 16 * m->p.nfr) {
    unsigned i = (off - fro) / 16, k = (off - fro) % 16;
    uint64_t q = m->frcd[i][k / 8];
    return k % 8 ? hi32(q) : lo32(q);
  }
  if (off == iro) return lo32(m->iva);
  if (off == iro + 4) return hi32(m->iva);
  if (off == iro + 8) return lo32(m->iotlb);
  if (off == iro + 12) return hi32(m->iotlb);
  bool qi = m->p.qi;
  switch (off) {
  case R_VER: return m->p.ver;
  case R_CAP: return lo32(m->cap);
  case R_CAP + 4: return hi32(m->cap);
  case R_ECAP: return lo32(m->ecap);
  case R_ECAP + 4: return hi32(m->ecap);
  case R_GSTS: return m->gsts;
  case R_RTADDR: return lo32(m->rtaddr);
  case R_RTADDR + 4: return hi32(m->rtaddr);
  case R_CCMD: return lo32(m->ccmd);
  case R_CCMD + 4: return hi32(m->ccmd);
  case R_FSTS: return fsts_value(m);
  case R_FECTL: return m->fectl;
  case R_FEDATA: return m->fedata;
  case R_FEADDR: return m->feaddr;
  case R_FEUADDR: return m->feuaddr;
  case R_IQH: return qi ? lo32(m->iqh) : 0;
  case R_IQT: return qi ? lo32(m->iqt) : 0;
  case R_IQA: return qi ? lo32(m->iqa) : 0;
  case R_IQA + 4: return qi ? hi32(m->iqa) : 0;
  case R_ICS: return qi ? m->ics : 0;
  case R_IECTL: return qi ? m->iectl : 0;
  case R_IEDATA: return qi ? m->iedata : 0;
  case R_IEADDR: return qi ? m->ieaddr : 0;
  case R_IEUADDR: return qi ? m->ieuaddr : 0;
  case R_IQERCD: return qi ? lo32(m->iqercd) : 0;
  case R_IQERCD + 4: return qi ? hi32(m->iqercd) : 0;
  default: return 0; /* GCMD (write-only), reserved, PMEN without PLMR/PHMR */
  }
}

static void wr32(struct vtd_model *m, unsigned off, uint32_t v)
{
  unsigned fro = m->p.fro, iro = m->p.iro;
  if (off >= fro && off < fro + 16 * m->p.nfr) {
    unsigned i = (off - fro) / 16, k = (off - fro) % 16;
    if (k == 12 && (v & (1u << 31))) { /* F is RW1CS; everything else is ROS */
      m->frcd[i][1] &= ~BIT(63);
      fault_status_serviced(m);
    }
    return;
  }
  if (off == iro) { set_lo(&m->iva, v & (uint32_t)(GENMASK(31, 12) | BIT(6) | GENMASK(5, 0))); return; }
  if (off == iro + 4) { set_hi(&m->iva, v); return; }
  if (off == iro + 8) { set_lo(&m->iotlb, 0); return; } /* low dword reserved */
  if (off == iro + 12) {
    set_hi(&m->iotlb, v & ~(uint32_t)(GENMASK(58, 57) >> 32));
    if (v & (1u << 31))
      iotlb_go(m);
    return;
  }
  bool qi = m->p.qi;
  switch (off) {
  case R_GCMD: gcmd_write(m, v); return;
  case R_RTADDR: set_lo(&m->rtaddr, v & ~0x3ffu); return;
  case R_RTADDR + 4: set_hi(&m->rtaddr, v); return;
  case R_CCMD: set_lo(&m->ccmd, v); return;
  case R_CCMD + 4:
    set_hi(&m->ccmd, v & ~(uint32_t)(GENMASK(60, 59) >> 32));
    if (v & (1u << 31))
      ccmd_go(m);
    return;
  case R_FSTS: {
    uint32_t clr = v & (FS_PFO | FS_IQE | FS_ICE | FS_ITE);
    bool iqe_cleared = (clr & FS_IQE) && (m->fsts & FS_IQE);
    m->fsts &= ~clr;
    fault_status_serviced(m);
    if (iqe_cleared)
      iq_process(m); /* 6.5.2.11: fetching resumes once IQE is cleared */
    return;
  }
  case R_FECTL:
    m->fectl = (m->fectl & (uint32_t)FECTL_IP) | (v & (uint32_t)FECTL_IM);
    if (!(v & FECTL_IM))
      m->fectl &= ~(uint32_t)FECTL_IP; /* a held message goes out when unmasked */
    return;
  case R_FEDATA: m->fedata = v & 0xffff; return;
  case R_FEADDR: m->feaddr = v & ~3u; return;
  case R_FEUADDR: m->feuaddr = v; return;
  default: break;
  }
  if (!qi)
    return;
  switch (off) {
  case R_IQT:
    m->iqt = v & 0x7fff0u;
    iq_process(m);
    return;
  case R_IQA: set_lo(&m->iqa, v & (uint32_t)(GENMASK(31, 12) | BIT(11) | 7)); return;
  case R_IQA + 4: set_hi(&m->iqa, v); return;
  case R_ICS:
    if (v & 1) {
      m->ics = 0;
      m->iectl &= ~(uint32_t)FECTL_IP;
    }
    return;
  case R_IECTL:
    m->iectl = (m->iectl & (uint32_t)FECTL_IP) | (v & (uint32_t)FECTL_IM);
    if (!(v & FECTL_IM))
      m->iectl &= ~(uint32_t)FECTL_IP;
    return;
  case R_IEDATA: m->iedata = v & 0xffff; return;
  case R_IEADDR: m->ieaddr = v & ~3u; return;
  case R_IEUADDR: m->ieuaddr = v; return;
  default: return; /* read-only or reserved */
  }
}

uint64_t vtd_model_read(struct vtd_model *m, uint64_t off, unsigned width)
{
  if ((width != 4 && width != 8) || (off & (width - 1)) || off + width > VTD_MODEL_REG_BYTES) {
    m->st.bad_accesses++;
    fprintf(stderr, "vtd_model: %u-byte read at +0x%llx: registers take aligned 32/64-bit accesses (11.2)\n",
            width, (unsigned long long)off);
    return ~0ull;
  }
  uint64_t v = rd32(m, (unsigned)off);
  if (width == 8)
    v |= (uint64_t)rd32(m, (unsigned)off + 4) << 32;
  return v;
}

void vtd_model_write(struct vtd_model *m, uint64_t off, unsigned width, uint64_t val)
{
  if ((width != 4 && width != 8) || (off & (width - 1)) || off + width > VTD_MODEL_REG_BYTES) {
    m->st.bad_accesses++;
    fprintf(stderr, "vtd_model: %u-byte write at +0x%llx ignored: registers take aligned 32/64-bit "
            "accesses (11.2)\n", width, (unsigned long long)off);
    return;
  }
  wr32(m, (unsigned)off, (uint32_t)val);
  if (width == 8)
    wr32(m, (unsigned)off + 4, (uint32_t)(val >> 32));
}

static uint64_t mmio_read(void *ctx, uint64_t off, unsigned width) { return vtd_model_read(ctx, off, width); }
static void mmio_write(void *ctx, uint64_t off, unsigned width, uint64_t v) { vtd_model_write(ctx, off, width, v); }

int vtd_model_register(struct vtd_model *m)
{
  struct host_mmio_region r = { m->p.base, VTD_MODEL_REG_BYTES, mmio_read, mmio_write, m };
  return host_mmio_register(&r);
}

struct vtd_model *vtd_model_create(const struct vtd_model_params *p)
{
  if (p->nfr == 0 || p->nfr > VTD_MODEL_MAX_FRCD || p->fro % 16 || p->iro % 16 ||
      p->fro + 16 * p->nfr > VTD_MODEL_REG_BYTES || p->iro + 16 > VTD_MODEL_REG_BYTES ||
      p->haw < 32 || p->haw > 52)
    return NULL;
  struct vtd_model *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->p = *p;
  if (m->p.iotlb_entries == 0 || m->p.iotlb_entries > MAX_IOTLB)
    m->p.iotlb_entries = MAX_IOTLB;
  m->cap = vtd_model_cap(p);
  m->ecap = vtd_model_ecap(p);
  m->haw_mask = BIT(p->haw) - 1;
  /* Reset values (11.4): everything 0 except the interrupt masks. */
  m->fectl = (uint32_t)FECTL_IM;
  m->iectl = (uint32_t)FECTL_IM;
  return m;
}

void vtd_model_destroy(struct vtd_model *m) { free(m); }

const struct vtd_model_stats *vtd_model_stats(const struct vtd_model *m) { return &m->st; }
