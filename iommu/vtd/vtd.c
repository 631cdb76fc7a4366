/* Intel VT-d driver: legacy and scalable mode DMA remapping with second-stage tables.
 * Enable: save entry state, root table, invalidation queue, root pointer, global
 * invalidation, translation on (one GCMD bit at a time, each polled with a timeout).
 * Disable puts every register back and frees every table it installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/vtd/vtd_internal.h"

/* Options a lab may set (--vtd-mode=legacy|scalable). */
enum vtd_mode_choice { VTD_MODE_AUTO, VTD_MODE_LEGACY, VTD_MODE_SCALABLE };
int vtd_mode_choice = VTD_MODE_AUTO;
/* --vtd-invalidation=registers: use CCMD/IOTLB registers even where ECAP.QI=1, so the
 * fallback path is exercised on hardware that has a queue (legacy mode only). */
bool vtd_force_register_invalidation;
/* --vtd-stage=first|second: which table format paging domains use in scalable mode. */
enum vtd_stage_choice { VTD_STAGE_AUTO, VTD_STAGE_FIRST, VTD_STAGE_SECOND };
int vtd_stage_choice = VTD_STAGE_AUTO;

static struct vtd_unit *vtd(const struct iommu_unit *u) { return u->priv; }
static struct vtd_domain *vdom(struct iommu_domain *d) { return (struct vtd_domain *)d; }

static unsigned max_agaw_bits(const struct vtd_unit *v)
{
  uint64_t sagaw = VTD_CAP_SAGAW(v->cap);
  for (int n = 3; n >= 1; n--)
    if (sagaw & (1u << n))
      return 30u + 9u * (unsigned)n;
  return 0;
}

static bool scalable_possible(const struct vtd_unit *v)
{
  return VTD_ECAP_SMTS(v->ecap) && VTD_ECAP_QI(v->ecap) && !vtd_force_register_invalidation &&
         (VTD_ECAP_SLTS(v->ecap) || VTD_ECAP_FLTS(v->ecap));
}

/* First-stage tables where asked for (or where they are the only stage) and possible. */
static bool wants_first_stage(const struct vtd_unit *v)
{
  if (!scalable_possible(v) || vtd_mode_choice == VTD_MODE_LEGACY || !VTD_ECAP_FLTS(v->ecap))
    return false;
  return vtd_stage_choice == VTD_STAGE_FIRST ||
         (vtd_stage_choice == VTD_STAGE_AUTO && !VTD_ECAP_SLTS(v->ecap));
}

static const char *vtd_feature_gap(const struct iommu_unit *u, enum iommu_feature f)
{
  const struct vtd_unit *v = vtd(u);
  bool fs = wants_first_stage(v);
  switch (f) {
  case IOMMU_FEAT_DMA:
    if (vtd_stage_choice == VTD_STAGE_FIRST && !fs)
      return VTD_ECAP_FLTS(v->ecap) ? "first-stage tables need scalable mode (ECAP.SMTS=1, QI)"
                                    : "ECAP.FLTS=0 (first-stage tables requested)";
    if (max_agaw_bits(v) == 0 && !fs)
      return "CAP.SAGAW=0 (no second-stage translation)";
    if ((!VTD_ECAP_QI(v->ecap) || vtd_force_register_invalidation) && ((v->ver >> 4) & 0xf) >= 6)
      return "register-based invalidation is rejected on VT-d 6+ (VER.MAX>=6) and ECAP.QI "
             "is 0 or not used";
    return NULL;
  case IOMMU_FEAT_SUPERPAGE_2M:
    if (fs)
      return NULL; /* first-stage 2M pages are architectural */
    return (VTD_CAP_SLLPS(v->cap) & 1) ? NULL : "CAP.SLLPS bit0=0 (no 2M pages)";
  case IOMMU_FEAT_SUPERPAGE_1G:
    if (fs)
      return VTD_CAP_FL1GP(v->cap) ? NULL : "CAP.FL1GP=0 (no first-stage 1G pages)";
    return (VTD_CAP_SLLPS(v->cap) & 2) ? NULL : "CAP.SLLPS bit1=0 (no 1G pages)";
  case IOMMU_FEAT_PASSTHROUGH:
    return VTD_ECAP_PT(v->ecap) ? NULL : "ECAP.PT=0";
  case IOMMU_FEAT_QUEUE:
    if (vtd_force_register_invalidation)
      return "register-based invalidation forced (--vtd-invalidation=registers)";
    return VTD_ECAP_QI(v->ecap) ? NULL : "ECAP.QI=0";
  case IOMMU_FEAT_FAULT_RECORDS:
    return NULL;
  }
  return "unknown feature";
}

static void clear_faults(struct vtd_unit *v)
{
  unsigned fro = (unsigned)VTD_CAP_FRO(v->cap) * 16, nfr = (unsigned)VTD_CAP_NFR(v->cap) + 1;
  for (unsigned i = 0; i < nfr; i++)
    if (mmio_read32(v->base + fro + 16 * i + 12) & (1u << 31))
      mmio_write32(v->base + fro + 16 * i + 12, 1u << 31);
  mmio_write32(v->base + VTD_REG_FSTS, VTD_FSTS_W1C);
}

static void free_tables(struct vtd_unit *v)
{
  for (unsigned i = 0; i < 512; i++)
    if (v->ctx[i]) {
      page_free(v->ctx[i], 1);
      v->ctx[i] = NULL;
    }
  for (unsigned i = 0; i < v->n_pasid_devs; i++) {
    page_free(v->pasid_devs[i].dir, 1);
    page_free(v->pasid_devs[i].table0, 1);
  }
  v->n_pasid_devs = 0;
  vtd_pasid_free_all(v);
  page_free(v->root, 1);
  page_free(v->iq, VTD_IQ_PAGES);
  page_free((void *)v->wait_status, 1);
  page_free(v->bad_root, 1);
  v->root = NULL;
  v->iq = NULL;
  v->wait_status = NULL;
  v->bad_root = NULL;
}

static int vtd_enable(struct iommu_unit *u)
{
  struct vtd_unit *v = vtd(u);
  v->entry.gsts = mmio_read32(v->base + VTD_REG_GSTS);
  v->entry.rtaddr = mmio_read64(v->base + VTD_REG_RTADDR);
  v->entry.iqa = mmio_read64(v->base + VTD_REG_IQA);
  v->entry.iqt = mmio_read64(v->base + VTD_REG_IQT);
  v->entry.fectl = mmio_read32(v->base + VTD_REG_FECTL);
  /* Firmware still using the unit (pre-boot DMA protection): do not take it away. */
  if (v->entry.gsts & (VTD_GSTS_TES | VTD_GSTS_QIES))
    return IOMMU_EBUSY;
  if ((REG_BIT(v->cap, 5) || REG_BIT(v->cap, 6)) && (mmio_read32(v->base + VTD_REG_PMEN) & (1u << 31)))
    return IOMMU_EBUSY; /* protected memory regions enabled */

  v->qi = VTD_ECAP_QI(v->ecap) && !vtd_force_register_invalidation;
  v->first_stage = wants_first_stage(v);
  v->scalable = v->first_stage || (vtd_mode_choice != VTD_MODE_LEGACY && scalable_possible(v) &&
                                   VTD_ECAP_SLTS(v->ecap));
  v->agaw_bits = max_agaw_bits(v);
  v->levels = (v->agaw_bits - 12) / 9;
  v->aw_code = vtd_aw_code(v->agaw_bits);
  v->next_did = 1; /* DID 0 is reserved under caching mode; never used here */

  uint64_t phys;
  v->root = page_alloc(1, UINT64_MAX, &v->root_phys);
  v->wait_status = page_alloc(1, UINT64_MAX, &v->wait_phys);
  if (!v->root || !v->wait_status) {
    free_tables(v);
    return IOMMU_ENOMEM;
  }
  vtd_table_sync(v, v->root, PAGE_SIZE);
  v->wait_seq = 0;
  int err = IOMMU_OK;
  if (v->qi) {
    v->iq = page_alloc(VTD_IQ_PAGES, UINT64_MAX, &phys);
    if (!v->iq) {
      free_tables(v);
      return IOMMU_ENOMEM;
    }
    v->iq_phys = phys;
    v->desc_size = v->scalable ? 32 : 16; /* scalable mode needs 256-bit descriptors */
    v->iq_entries = VTD_IQ_PAGES * PAGE_SIZE / v->desc_size;
    v->iq_tail = 0;
    mmio_write64(v->base + VTD_REG_IQT, 0);
    mmio_write64(v->base + VTD_REG_IQA, v->iq_phys | (v->scalable ? VTD_IQA_DW_256 : 0) | 0 /* QS */);
    err = vtd_gcmd(v, VTD_GCMD_QIE, true);
  }
  mmio_write32(v->base + VTD_REG_FECTL, VTD_FECTL_IM); /* faults are polled */
  clear_faults(v);
  if (!err) {
    mmio_write64(v->base + VTD_REG_RTADDR, v->root_phys | (v->scalable ? VTD_RTADDR_TTM_SCALABLE : 0));
    err = vtd_gcmd(v, VTD_GCMD_SRTP, true);
  }
  if (!err && !VTD_CAP_ESRTPS(v->cap))
    err = vtd_flush_global(v);
  if (!err)
    err = vtd_gcmd(v, VTD_GCMD_TE, true);
  if (err) {
    char why[8];
    u->ops->disable(u, why, sizeof(why));
    return err;
  }
  return IOMMU_OK;
}

static int vtd_disable(struct iommu_unit *u, char *why, size_t len)
{
  struct vtd_unit *v = vtd(u);
  int err = IOMMU_OK;
  uint32_t gsts = mmio_read32(v->base + VTD_REG_GSTS);
  if (gsts & VTD_GSTS_TES)
    err = vtd_gcmd(v, VTD_GCMD_TE, false);
  /* The root pointer the hardware latched is ours, on memory about to be freed: drop what
   * was cached from our tables (in our mode, while our invalidation path is still on), then
   * latch the entry value again (SRTP). The next owner invalidates again before it enables
   * translation, as the spec asks after any SRTP. */
  int relatch = vtd_flush_global(v);
  mmio_write64(v->base + VTD_REG_RTADDR, v->entry.rtaddr);
  if (!relatch)
    relatch = vtd_gcmd(v, VTD_GCMD_SRTP, true);
  err = err ? err : relatch;
  if (mmio_read32(v->base + VTD_REG_GSTS) & VTD_GSTS_QIES) {
    vtd_inv_submit(v, NULL, 0); /* quiesce: the last descriptor completed is a wait */
    int e2 = vtd_gcmd(v, VTD_GCMD_QIE, false);
    err = err ? err : e2;
  }
  mmio_write64(v->base + VTD_REG_IQT, v->entry.iqt);
  mmio_write64(v->base + VTD_REG_IQA, v->entry.iqa);
  mmio_write64(v->base + VTD_REG_RTADDR, v->entry.rtaddr);
  clear_faults(v);
  mmio_write32(v->base + VTD_REG_FECTL, v->entry.fectl);
  free_tables(v);

  /* Read everything back. RTPS cannot be cleared by software once a root pointer was set. */
  struct iommu_reg_check regs[] = {
    { "GSTS", mmio_read32(v->base + VTD_REG_GSTS) & ~VTD_GSTS_RTPS, v->entry.gsts & ~VTD_GSTS_RTPS },
    { "root-relatched", relatch != 0, 0 },
    { "RTADDR", mmio_read64(v->base + VTD_REG_RTADDR), v->entry.rtaddr },
    { "IQA", mmio_read64(v->base + VTD_REG_IQA), v->entry.iqa },
    { "IQT", mmio_read64(v->base + VTD_REG_IQT), v->entry.iqt },
    { "FECTL", mmio_read32(v->base + VTD_REG_FECTL) & ~(1u << 30), v->entry.fectl & ~(1u << 30) },
    { "FSTS", mmio_read32(v->base + VTD_REG_FSTS) & (VTD_FSTS_W1C | VTD_FSTS_PPF), 0 },
  };
  bool same = iommu_regs_restored(err, regs, sizeof(regs) / sizeof(regs[0]), why, len);
  if (same)
    snprintf(why, len, "GSTS, RTADDR (latched again by SRTP), IQA, IQT, FECTL back to their entry "
             "values, fault status clear%s", (mmio_read32(v->base + VTD_REG_GSTS) & ~v->entry.gsts) == VTD_GSTS_RTPS
             ? " (GSTS.RTPS stays set once a root pointer was used)" : "");
  if (!same && !err)
    err = IOMMU_EBADREG;
  return err;
}

/* ---- context entries ---- */
static uint64_t *context_entry(struct vtd_unit *v, uint16_t rid, bool create)
{
  unsigned bus = rid >> 8, devfn = rid & 0xff;
  unsigned slot = v->scalable ? bus * 2 + (devfn >= 0x80) : bus;
  if (v->ctx[slot] == NULL) {
    if (!create)
      return NULL;
    v->ctx[slot] = page_alloc(1, UINT64_MAX, &v->ctx_phys[slot]);
    if (!v->ctx[slot])
      return NULL;
    vtd_table_sync(v, v->ctx[slot], PAGE_SIZE);
    /* Root entry: legacy P|CTP in the low qword; scalable LP|LCTP low, UP|UCTP high. */
    uint64_t *re = &v->root[bus * 2];
    if (v->scalable && devfn >= 0x80)
      re[1] = v->ctx_phys[slot] | VTD_ROOT_UP;
    else
      re[0] = v->ctx_phys[slot] | VTD_ROOT_P;
    vtd_table_sync(v, re, 16);
    if (VTD_CAP_CM(v->cap))
      vtd_flush_global(v);
  }
  return v->scalable ? &v->ctx[slot][(devfn & 0x7f) * 4] : &v->ctx[slot][devfn * 2];
}

static struct vtd_pasid_dev *pasid_dev(struct vtd_unit *v, uint16_t rid, bool create)
{
  for (unsigned i = 0; i < v->n_pasid_devs; i++)
    if (v->pasid_devs[i].rid == rid)
      return &v->pasid_devs[i];
  if (!create || v->n_pasid_devs == VTD_MAX_PASID_DEVS)
    return NULL;
  struct vtd_pasid_dev *p = &v->pasid_devs[v->n_pasid_devs];
  p->rid = rid;
  p->dir = page_alloc(1, UINT64_MAX, &p->dir_phys);
  p->table0 = page_alloc(1, UINT64_MAX, &p->table0_phys);
  if (!p->dir || !p->table0) {
    page_free(p->dir, 1);
    page_free(p->table0, 1);
    return NULL;
  }
  p->dir[0] = vtd_pasid_dir_encode(p->table0_phys);
  vtd_table_sync(v, p->table0, PAGE_SIZE);
  vtd_table_sync(v, p->dir, PAGE_SIZE);
  v->n_pasid_devs++;
  return p;
}

static void drop_pasid_dev(struct vtd_unit *v, uint16_t rid)
{
  for (unsigned i = 0; i < v->n_pasid_devs; i++)
    if (v->pasid_devs[i].rid == rid) {
      page_free(v->pasid_devs[i].dir, 1);
      page_free(v->pasid_devs[i].table0, 1);
      v->pasid_devs[i] = v->pasid_devs[--v->n_pasid_devs];
      return;
    }
}

uint64_t *vtd_find_context(struct vtd_unit *v, uint16_t rid) { return context_entry(v, rid, false); }
struct vtd_pasid_dev *vtd_find_pasid_dev(struct vtd_unit *v, uint16_t rid) { return pasid_dev(v, rid, false); }

static int vtd_detach(struct iommu_unit *u, uint16_t rid)
{
  struct vtd_unit *v = vtd(u);
  uint64_t *e = context_entry(v, rid, false);
  if (e == NULL || !(e[0] & VTD_CTX_P))
    return IOMMU_ENOENT;
  uint16_t did = 0;
  if (v->scalable) {
    struct vtd_pasid_dev *p = pasid_dev(v, rid, false);
    if (p)
      did = (uint16_t)p->table0[1];
  } else {
    did = (uint16_t)(e[1] >> VTD_CTX_HI_DID_SHIFT);
  }
  e[0] = 0; /* P first */
  vtd_table_sync(v, e, 8);
  memset(e + 1, 0, (v->scalable ? 3 : 1) * sizeof(uint64_t));
  vtd_table_sync(v, e, v->scalable ? 32 : 16);
  /* Table 28: context cache, then PASID cache, then IOTLB. */
  int err = vtd_flush_context_device(v, did, rid);
  if (!err)
    err = vtd_flush_pasid_cache_domain(v, did);
  if (!err)
    err = vtd_flush_iotlb(v, did, 0, 0);
  if (!err && v->first_stage)
    err = vtd_flush_piotlb(v, did, 0, 0, 0); /* first-stage entries are PASID-tagged */
  if (v->scalable)
    drop_pasid_dev(v, rid);
  return err;
}

/* ---- dirty tracking (VT-d 3.6.2 first stage, 3.7.2 second stage) ---- */
/* Scalable mode only: second-stage Dirty bits need ECAP.SSADS and the PASID entry's SSADE;
 * first-stage D is written on every first-stage walk. Either update is an atomic write by
 * the walker, which must snoop (ECAP.SMPWCS, PASID-entry PWSNP) so the CPU sees it. */
static const char *vtd_dirty_gap(const struct iommu_unit *u)
{
  const struct vtd_unit *v = vtd(u);
  if (!v->first_stage) {
    if (!VTD_ECAP_SSADS(v->ecap))
      return "ECAP.SSADS=0";
    if (!v->scalable)
      return "legacy mode (SSADE is a scalable-mode PASID-entry field)";
  }
  if (!VTD_ECAP_SMPWCS(v->ecap))
    return "ECAP.SMPWCS=0 (Access/Dirty updates need snooped walks)";
  return NULL;
}

/* The PASID entry of a device attached to a tracking domain: snooped walks, and SSADE
 * while tracking is on (second stage). */
void vtd_pasid_entry_dirty(uint64_t pe[8], struct iommu_domain *dom)
{
  if (!dom->dirty_enforced)
    return;
  pe[1] |= VTD_PASID_Q1_PWSNP;
  if (dom->dirty_on && !vdom(dom)->first_stage)
    pe[0] |= VTD_PASID_SSADE;
}

/* SSADE flipped in place in every PASID entry of the domain, then the PASID cache and the
 * IOTLB (translations cached with the old setting) of the domain invalidated (6.5.2.6). */
static int vtd_set_dirty_tracking(struct iommu_domain *dom, bool on)
{
  struct vtd_unit *v = vtd(dom->unit);
  struct vtd_domain *d = vdom(dom);
  for (unsigned i = 0; i < v->n_pasid_devs; i++) {
    uint64_t *pe = v->pasid_devs[i].table0;
    if (!(pe[0] & VTD_PASID_P) || (uint16_t)pe[1] != d->did ||
        ((pe[0] >> VTD_PASID_PGTT_SHIFT) & 7) != VTD_PGTT_SECOND_STAGE)
      continue;
    pe[0] = on ? pe[0] | VTD_PASID_SSADE : pe[0] & ~VTD_PASID_SSADE;
    vtd_table_sync(v, pe, 8);
  }
  vtd_aux_set_ssade(d, on); /* the domain's entries for aux PASIDs too */
  int err = vtd_flush_pasid_cache_domain(v, d->did);
  return err ? err : vtd_flush_iotlb(v, d->did, 0, 0);
}

static int vtd_attach(struct iommu_domain *dom, uint16_t rid)
{
  struct vtd_unit *v = vtd(dom->unit);
  struct vtd_domain *d = vdom(dom);
  bool pt = dom->type == IOMMU_DOMAIN_PASSTHROUGH;
  uint64_t *e = context_entry(v, rid, true);
  if (e == NULL)
    return IOMMU_ENOMEM;
  if (e[0] & VTD_CTX_P) {
    int err = vtd_detach(dom->unit, rid); /* replace: tear down, invalidate, set up */
    if (err)
      return err;
  }
  int err = IOMMU_OK;
  if (!v->scalable) {
    uint64_t ctx[2];
    /* Pass-through needs AW = the largest supported AGAW (9.3). */
    vtd_legacy_context_encode(ctx, pt ? 0 : d->dom.pt.root_phys, v->aw_code, d->did, pt);
    e[1] = ctx[1];
    vtd_table_sync(v, e + 1, 8);
    e[0] = ctx[0];
    vtd_table_sync(v, e, 16);
  } else {
    struct vtd_pasid_dev *p = pasid_dev(v, rid, true);
    if (p == NULL)
      return IOMMU_ENOMEM;
    uint64_t pe[8];
    if (d->first_stage)
      vtd_pasid_entry_encode_fl(pe, d->dom.pt.root_phys, d->dom.pt.levels == 5, d->did);
    else
      vtd_pasid_entry_encode(pe, pt ? VTD_PGTT_PASSTHROUGH : VTD_PGTT_SECOND_STAGE, d->dom.pt.root_phys,
                             v->aw_code, d->did);
    vtd_pasid_entry_dirty(pe, dom);
    memcpy(p->table0 + 1, pe + 1, 7 * sizeof(uint64_t)); /* PASID 0 = RID_PASID; P last */
    vtd_table_sync(v, p->table0, 64);
    p->table0[0] = pe[0];
    vtd_table_sync(v, p->table0, 64);
    uint64_t ctx[4];
    vtd_sm_context_encode(ctx, p->dir_phys, 2 /* 2^(2+7) = 512 directory entries */);
    memcpy(e + 1, ctx + 1, 3 * sizeof(uint64_t));
    vtd_table_sync(v, e, 32);
    e[0] = ctx[0];
    vtd_table_sync(v, e, 32);
  }
  /* Not present -> present needs no invalidation unless caching mode (6.1); the write
   * buffer still has to be flushed where CAP.RWBF says so. */
  if (VTD_CAP_CM(v->cap)) {
    err = vtd_flush_context_device(v, d->did, rid);
    if (!err)
      err = vtd_flush_pasid_cache_domain(v, d->did);
    if (!err)
      err = vtd_flush_iotlb(v, d->did, 0, 0);
  } else {
    err = vtd_write_buffer_flush(v);
  }
  return err;
}

/* ---- domains ---- */
/* pt_flags: PT_F_* added to the table's options (PT_F_DIRTY_TRACK for dirty tracking). */
static int vtd_domain_alloc_pt(struct iommu_unit *u, enum iommu_domain_type type, unsigned pt_flags,
                               struct iommu_domain **out)
{
  struct vtd_unit *v = vtd(u);
  unsigned nd_bits = 4 + 2 * (unsigned)VTD_CAP_ND(v->cap);
  if (nd_bits < 16 && v->next_did >= (1u << nd_bits))
    return IOMMU_ENOMEM;
  struct vtd_domain *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return IOMMU_ENOMEM;
  d->dom.unit = u;
  d->dom.type = type;
  unsigned mgaw = (unsigned)VTD_CAP_MGAW(v->cap) + 1;
  d->first_stage = v->first_stage && type == IOMMU_DOMAIN_PAGING;
  struct pt_cfg cfg = { .flags = (VTD_ECAP_C(v->ecap) ? 0 : PT_F_NONCOHERENT) | pt_flags };
  if (d->first_stage) {
    /* 4-level (5-level with CAP.FL5LP) first stage; IOVAs stay in the canonical lower half. */
    cfg.fmt = &pt_fmt_x86_64;
    cfg.levels = VTD_CAP_FL5LP(v->cap) ? 5 : 4;
    cfg.ias = cfg.levels == 5 ? 56 : 47;
    cfg.page_sizes = IOMMU_PAGE_4K | IOMMU_PAGE_2M | (VTD_CAP_FL1GP(v->cap) ? IOMMU_PAGE_1G : 0);
  } else {
    cfg.fmt = &pt_fmt_vtd_ss;
    cfg.levels = v->levels;
    cfg.ias = v->agaw_bits < mgaw ? v->agaw_bits : mgaw;
    cfg.page_sizes = IOMMU_PAGE_4K | ((VTD_CAP_SLLPS(v->cap) & 1) ? IOMMU_PAGE_2M : 0) |
                     ((VTD_CAP_SLLPS(v->cap) & 2) ? IOMMU_PAGE_1G : 0);
  }
  d->dom.iova_bits = cfg.ias;
  d->dom.page_sizes = cfg.page_sizes;
  d->did = v->next_did++;
  if (type == IOMMU_DOMAIN_PAGING) {
    int err = pt_init(&d->dom.pt, &cfg);
    if (err) {
      pt_free(&d->dom.pt);
      free(d);
      return err;
    }
    d->dom.page_sizes = d->dom.pt.page_sizes;
  }
  *out = &d->dom;
  return IOMMU_OK;
}

static int vtd_domain_alloc(struct iommu_unit *u, enum iommu_domain_type type, struct iommu_domain **out)
{
  return vtd_domain_alloc_pt(u, type, 0, out);
}

static int vtd_domain_alloc_dirty(struct iommu_unit *u, struct iommu_domain **out)
{
  int err = vtd_domain_alloc_pt(u, IOMMU_DOMAIN_PAGING, PT_F_DIRTY_TRACK, out);
  if (!err)
    (*out)->dirty_switch = !vdom(*out)->first_stage; /* SSADE; first-stage D always */
  return err;
}

static void vtd_domain_free(struct iommu_domain *dom)
{
  pt_free(&dom->pt);
  free(vdom(dom));
}

static int vtd_map_sync(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  struct vtd_unit *v = vtd(dom->unit);
  /* Caching mode may cache not-present second-stage entries (never first-stage ones, 6.1):
   * not-present -> present then needs a flush. */
  if (VTD_CAP_CM(v->cap) && !vdom(dom)->first_stage)
    return vtd_flush_iotlb(v, vdom(dom)->did, iova, size);
  return vtd_write_buffer_flush(v);
}

static int vtd_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  struct vtd_domain *d = vdom(dom);
  if (d->first_stage) {
    int err = vtd_flush_piotlb(vtd(dom->unit), d->did, 0 /* RID_PASID */, iova, size);
    if (!err && d->aux_refs) /* first-stage entries are tagged with the PASID too */
      err = vtd_flush_piotlb(vtd(dom->unit), d->did, d->aux_pasid, iova, size);
    return err;
  }
  return vtd_flush_iotlb(vtd(dom->unit), d->did, iova, size);
}

/* ---- faults (7.2, 11.4.7) ---- */
static int vtd_drain_faults(struct iommu_unit *u, struct iommu_fault *out, unsigned max, unsigned *n,
                            bool *overflow)
{
  struct vtd_unit *v = vtd(u);
  unsigned fro = (unsigned)VTD_CAP_FRO(v->cap) * 16, nfr = (unsigned)VTD_CAP_NFR(v->cap) + 1;
  uint32_t fsts = mmio_read32(v->base + VTD_REG_FSTS);
  unsigned first = (fsts & VTD_FSTS_PPF) ? VTD_FSTS_FRI(fsts) % nfr : 0;
  *n = 0;
  for (unsigned k = 0; k < nfr; k++) {
    unsigned i = (first + k) % nfr;
    unsigned off = fro + 16 * i;
    /* The top dword holds F: read it first, the record may be written dword by dword. */
    if (!(mmio_read32(v->base + off + 12) & (1u << 31)))
      continue;
    uint64_t hi = mmio_read64(v->base + off + 8), lo = mmio_read64(v->base + off);
    if (*n < max) {
      struct iommu_fault *f = &out[(*n)++];
      memset(f, 0, sizeof(*f));
      f->reason = (uint32_t)VTD_FRCD_HI_FR(hi);
      f->kind = vtd_fault_reason_kind(f->reason);
      snprintf(f->reason_name, sizeof(f->reason_name), "%s", vtd_fault_reason_name(f->reason));
      /* Scalable mode reports the SM codes of Table 30 (30h and up). */
      if (v->scalable && f->reason < 0x30)
        snprintf(f->format_deviation, sizeof(f->format_deviation),
                 "legacy reason code 0x%x in scalable mode", f->reason);
      f->source_id = (uint16_t)VTD_FRCD_HI_SID(hi);
      f->stream_id = f->source_id;
      f->addr = lo & ~0xfffull;
      /* T1:T2 = 00 write, 10 read, 11 atomic */
      f->is_write = !(hi & VTD_FRCD_HI_T1) && !(hi & VTD_FRCD_HI_T2);
      f->pasid_present = (hi & VTD_FRCD_HI_PP) != 0;
      f->pasid = (uint32_t)VTD_FRCD_HI_PV(hi);
    }
    mmio_write32(v->base + off + 12, 1u << 31);
  }
  *overflow = (fsts & VTD_FSTS_PFO) != 0;
  if (*overflow)
    mmio_write32(v->base + VTD_REG_FSTS, VTD_FSTS_PFO); /* after every F is clear (7.2.1) */
  return IOMMU_OK;
}

static unsigned vtd_fault_slots(const struct iommu_unit *u) { return (unsigned)VTD_CAP_NFR(vtd(u)->cap) + 1; }

static int vtd_queue_wait(struct iommu_unit *u, char *why, size_t len)
{
  return vtd_queue_wait_test(vtd(u), why, len);
}

static int vtd_queue_error(struct iommu_unit *u, char *why, size_t len)
{
  return vtd_queue_error_test(vtd(u), why, len);
}

/* ---- deliberate breakage ---- */
static int vtd_inject(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct vtd_unit *v = vtd(u);
  if (what == IOMMU_INJECT_BAD_CONTEXT) {
    uint64_t *e = context_entry(v, rid, false);
    if (e == NULL || !(e[0] & VTD_CTX_P))
      return IOMMU_ENOENT;
    memcpy(v->saved_ctx, e, (v->scalable ? 4 : 2) * sizeof(uint64_t));
    if (v->scalable)
      e[0] |= VTD_SMCTX_RSVD_BIT;
    else
      e[1] |= VTD_CTX_HI_RSVD_BIT;
    vtd_table_sync(v, e, 32);
    int err = vtd_flush_context_device(v, v->scalable ? 0 : (uint16_t)(e[1] >> 8), rid);
    return err ? err : vtd_flush_global(v);
  }
  /* A root table that exists but is all ones: present entries with reserved bits set. A
   * pointer to absent memory would make silicon read whatever decodes there. */
  if (v->bad_root == NULL) {
    v->bad_root = page_alloc(1, UINT64_MAX, &v->bad_root_phys);
    if (v->bad_root == NULL)
      return IOMMU_ENOMEM;
  }
  memset(v->bad_root, 0xff, PAGE_SIZE);
  vtd_table_sync(v, v->bad_root, PAGE_SIZE);
  mmio_write64(v->base + VTD_REG_RTADDR, v->bad_root_phys | (v->scalable ? VTD_RTADDR_TTM_SCALABLE : 0));
  int err = vtd_gcmd(v, VTD_GCMD_SRTP, true);
  return err ? err : vtd_flush_global(v);
}

static int vtd_inject_revert(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct vtd_unit *v = vtd(u);
  if (what == IOMMU_INJECT_BAD_CONTEXT) {
    uint64_t *e = context_entry(v, rid, false);
    if (e == NULL)
      return IOMMU_ENOENT;
    memcpy(e, v->saved_ctx, (v->scalable ? 4 : 2) * sizeof(uint64_t));
    vtd_table_sync(v, e, 32);
    int err = vtd_flush_context_device(v, 0, rid);
    return err ? err : vtd_flush_global(v);
  }
  mmio_write64(v->base + VTD_REG_RTADDR, v->root_phys | (v->scalable ? VTD_RTADDR_TTM_SCALABLE : 0));
  int err = vtd_gcmd(v, VTD_GCMD_SRTP, true);
  return err ? err : vtd_flush_global(v);
}

const struct iommu_ops vtd_ops = {
  .name = "vtd",
  .probe = vtd_probe,
  .describe_caps = vtd_describe,
  .check_caps = vtd_check,
  .feature_gap = vtd_feature_gap,
  .enable = vtd_enable,
  .disable = vtd_disable,
  .domain_alloc = vtd_domain_alloc,
  .domain_free = vtd_domain_free,
  .map_sync = vtd_map_sync,
  .flush = vtd_flush,
  .attach = vtd_attach,
  .detach = vtd_detach,
  .drain_faults = vtd_drain_faults,
  .queue_wait = vtd_queue_wait,
  .queue_error = vtd_queue_error,
  .fault_slots = vtd_fault_slots,
  .inject = vtd_inject,
  .inject_revert = vtd_inject_revert,
  .pasid_gap = vtd_pasid_gap,
  .pasid_domain_gap = vtd_pasid_domain_gap,
  .pasid_enable = vtd_pasid_enable,
  .pasid_disable = vtd_pasid_disable,
  .attach_pasid = vtd_attach_pasid,
  .detach_pasid = vtd_detach_pasid,
  .dirty_gap = vtd_dirty_gap,
  .domain_alloc_dirty = vtd_domain_alloc_dirty,
  .set_dirty_tracking = vtd_set_dirty_tracking,
};
