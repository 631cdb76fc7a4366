/* AMD-Vi driver: device table, v1 host page tables, command buffer, event log.
 * Enable: save the entry state, device table with every device blocked (V=1 TV=1 Mode 0
 * IR=IW=0), command buffer, event log, control bits one step at a time with the run bits
 * polled, INVALIDATE_IOMMU_ALL, then a self-test of the event log. Disable puts every
 * register back and frees every table it installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/amd/amd_internal.h"

unsigned amd_levels_choice = 0;

static struct amd_unit *amd(const struct iommu_unit *u) { return u->priv; }
static struct amd_domain *adom(struct iommu_domain *d) { return (struct amd_domain *)d; }

static unsigned max_levels(const struct amd_unit *a)
{
  unsigned hats = (unsigned)AMD_EFR_HATS(a->efr);
  return hats == 3 ? 0 : 4 + hats;
}

/* The paging mode of every paging domain: the lab's choice where EFR.HATS allows it, else
 * the most levels (so every level of the tables is used). */
static unsigned chosen_levels(const struct amd_unit *a)
{
  unsigned top = max_levels(a);
  return amd_levels_choice >= 1 && amd_levels_choice <= top ? amd_levels_choice : top;
}

static const char *amd_feature_gap(const struct iommu_unit *u, enum iommu_feature f)
{
  const struct amd_unit *a = amd(u);
  switch (f) {
  case IOMMU_FEAT_DMA:
    return max_levels(a) ? NULL : "EFR.HATS=3 (reserved: no v1 host translation)";
  case IOMMU_FEAT_SUPERPAGE_2M:
    /* a leaf at level 2 (next level 0); the paging mode must have that level */
    return chosen_levels(a) >= 2 ? NULL : "paging mode 1 chosen (--amd-levels): no level-2 leaf";
  case IOMMU_FEAT_SUPERPAGE_1G:
    return chosen_levels(a) >= 3 ? NULL : "paging mode below 3 chosen (--amd-levels): no level-3 leaf";
  case IOMMU_FEAT_PASSTHROUGH:
  case IOMMU_FEAT_QUEUE:
    /* Mode 0 with IR/IW is pass-through; the command buffer always exists. */
    return max_levels(a) ? NULL : "EFR.HATS=3 (reserved: no v1 host translation)";
  case IOMMU_FEAT_FAULT_RECORDS:
    /* Decided by the self-test at enable: an illegal command must produce an event. */
    return a->evt_tested && a->evt_gap[0] ? a->evt_gap : NULL;
  }
  return "unknown feature";
}

/* ---- IVRS knowledge (when discover.caps handed the platform over) ---- */
static bool in_range(const struct ivrs_devrange *r, uint32_t id)
{
  return r->kind != IVRS_DEV_SPECIAL && r->kind != IVRS_DEV_ACPI_HID && id >= r->first && id <= r->last;
}

static uint8_t ivhd_setting(const struct amd_unit *a, uint32_t devid)
{
  if (a->ivhd == NULL)
    return 0;
  /* A special (IOAPIC/HPET) entry names one device exactly; it wins over a range. */
  for (unsigned i = 0; i < a->ivhd->n_dev; i++)
    if (a->ivhd->dev[i].kind == IVRS_DEV_SPECIAL && a->ivhd->dev[i].first == devid)
      return a->ivhd->dev[i].setting;
  for (unsigned i = 0; i < a->ivhd->n_dev; i++)
    if (in_range(&a->ivhd->dev[i], devid))
      return a->ivhd->dev[i].setting;
  return 0;
}

/* Device table entries a requester ID's DMA is looked up in: its own and, behind a
 * PCIe-to-PCI bridge the IVHD names (alias entries), the alias. */
static unsigned dte_ids(const struct amd_unit *a, uint16_t rid, uint16_t ids[AMD_MAX_ALIASES])
{
  unsigned n = 0;
  ids[n++] = rid;
  if (a->ivhd)
    for (unsigned i = 0; i < a->ivhd->n_dev && n < AMD_MAX_ALIASES; i++) {
      const struct ivrs_devrange *r = &a->ivhd->dev[i];
      if (r->kind == IVRS_DEV_ALIAS_RANGE && in_range(r, rid) && r->alias != rid)
        ids[n++] = r->alias;
    }
  return n;
}

/* The highest device ID the IVHD names, rounded up to the end of its bus; every ID when
 * the IVHD is not known. */
static uint32_t devtab_entries(const struct amd_unit *a)
{
  if (a->ivhd == NULL || a->ivhd->n_dev == 0)
    return 65536;
  uint32_t top = 0;
  for (unsigned i = 0; i < a->ivhd->n_dev; i++) {
    const struct ivrs_devrange *r = &a->ivhd->dev[i];
    if (r->last > top)
      top = r->last;
    if (r->kind == IVRS_DEV_ALIAS_RANGE && r->alias > top)
      top = r->alias;
  }
  return (top | 0xffu) + 1;
}

/* ---- enable / disable ---- */
static void free_tables(struct amd_unit *a)
{
  page_free(a->devtab, a->devtab_pages);
  page_free(a->cmdbuf, 1);
  page_free(a->evtlog, 1);
  page_free((void *)a->sem, 1);
  page_free(a->bad_devtab, a->devtab_pages);
  a->devtab = NULL;
  a->cmdbuf = NULL;
  a->evtlog = NULL;
  a->sem = NULL;
  a->bad_devtab = NULL;
}

static void write_dte(struct amd_unit *a, uint32_t devid, const uint64_t v[4])
{
  uint64_t *e = a->devtab + (size_t)devid * 4;
  /* Qword 0 holds V/TV/Mode/root/IR/IW: block first, fill the rest, then the final qword 0,
   * so a walk in between sees either the old entry, a blocked one or the new one. */
  e[0] = AMD_DTE_V | AMD_DTE_TV;
  amd_table_sync(e, 8);
  e[1] = v[1];
  e[2] = v[2];
  e[3] = v[3];
  amd_table_sync(e, AMD_DTE_BYTES);
  e[0] = v[0];
  amd_table_sync(e, 8);
}

static int amd_disable(struct iommu_unit *u, char *why, size_t len);

static int amd_enable(struct iommu_unit *u)
{
  struct amd_unit *a = amd(u);
  uint64_t b = a->base;
  /* Firmware still translating (pre-boot DMA protection): do not take the unit away. */
  if (mmio_read64(b + AMD_MMIO_CONTROL) & AMD_CTRL_IOMMU_EN)
    return IOMMU_EBUSY;
  if (max_levels(a) == 0)
    return IOMMU_EUNSUPPORTED;
  a->entry.devtab = mmio_read64(b + AMD_MMIO_DEVTAB_BASE);
  a->entry.cmdbuf = mmio_read64(b + AMD_MMIO_CMDBUF_BASE);
  a->entry.evtlog = mmio_read64(b + AMD_MMIO_EVTLOG_BASE);
  a->entry.control = mmio_read64(b + AMD_MMIO_CONTROL);
  a->entry.excl_base = mmio_read64(b + AMD_MMIO_EXCL_BASE);
  a->entry.excl_limit = mmio_read64(b + AMD_MMIO_EXCL_LIMIT);
  a->entry.cmd_head = mmio_read64(b + AMD_MMIO_CMD_HEAD);
  a->entry.cmd_tail = mmio_read64(b + AMD_MMIO_CMD_TAIL);
  a->entry.evt_head = mmio_read64(b + AMD_MMIO_EVT_HEAD);
  a->entry.evt_tail = mmio_read64(b + AMD_MMIO_EVT_TAIL);
  a->entry.status = mmio_read64(b + AMD_MMIO_STATUS);
  a->levels = chosen_levels(a);

  a->n_devids = devtab_entries(a);
  a->devtab_pages = (unsigned)(((uint64_t)a->n_devids * AMD_DTE_BYTES + PAGE_SIZE - 1) / PAGE_SIZE);
  a->devtab = page_alloc(a->devtab_pages, UINT64_MAX, &a->devtab_phys);
  a->cmdbuf = page_alloc(1, UINT64_MAX, &a->cmd_phys);
  a->evtlog = page_alloc(1, UINT64_MAX, &a->evt_phys);
  a->sem = page_alloc(1, UINT64_MAX, &a->sem_phys);
  if (!a->devtab || !a->cmdbuf || !a->evtlog || !a->sem) {
    free_tables(a);
    return IOMMU_ENOMEM;
  }
  for (uint32_t id = 0; id < a->n_devids; id++)
    amd_dte_blocked(a->devtab + (size_t)id * 4, ivhd_setting(a, id));
  amd_table_sync(a->devtab, (size_t)a->devtab_pages * PAGE_SIZE);
  /* Domain IDs outlive an enable/disable cycle with the domains holding them. */
  a->domids[0] |= 1; /* domain ID 0 marks blocked entries */
  a->cmd_tail = 0;
  a->evt_read = 0;
  a->seq = 0;
  *a->sem = 0;
  a->evt_tested = false;
  a->evt_gap[0] = '\0';

  /* Everything off, then the tables, then the queues, then translation (3.3.1). */
  amd_write_control(a, a->entry.control & ~AMD_CTRL_DRIVER_BITS);
  int err = amd_wait_status(a, AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN, 0);
  mmio_write64(b + AMD_MMIO_DEVTAB_BASE, a->devtab_phys | (a->devtab_pages - 1));
  mmio_write64(b + AMD_MMIO_CMDBUF_BASE, a->cmd_phys | (8ull << AMD_LEN_SHIFT));
  mmio_write64(b + AMD_MMIO_EVTLOG_BASE, a->evt_phys | (8ull << AMD_LEN_SHIFT));
  mmio_write64(b + AMD_MMIO_CMD_HEAD, 0);
  mmio_write64(b + AMD_MMIO_CMD_TAIL, 0);
  mmio_write64(b + AMD_MMIO_EVT_HEAD, (uint64_t)(AMD_EVT_WINDOW + 1) * AMD_ENTRY_BYTES);
  mmio_write64(b + AMD_MMIO_EVT_TAIL, 0);
  mmio_write64(b + AMD_MMIO_EXCL_BASE, 0); /* no exclusion range: every DMA is checked */
  mmio_write64(b + AMD_MMIO_STATUS, AMD_STS_W1C);
  amd_write_control(a, a->control | AMD_CTRL_COHERENT | AMD_CTRL_CMDBUF_EN | AMD_CTRL_EVT_LOG_EN);
  amd_write_control(a, a->control | AMD_CTRL_IOMMU_EN);
  if (!err)
    err = amd_wait_status(a, AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN,
                          AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN);
  if (!err)
    err = amd_flush_all(a);
  if (!err)
    amd_evt_selftest(a);
  if (err) {
    char why[8];
    amd_disable(u, why, sizeof(why));
    return err;
  }
  return IOMMU_OK;
}

static int amd_disable(struct iommu_unit *u, char *why, size_t len)
{
  struct amd_unit *a = amd(u);
  uint64_t b = a->base;
  int err = IOMMU_OK;
  /* Queues off and drained of run state, then translation off with the entry value. */
  amd_write_control(a, a->control & ~(AMD_CTRL_CMDBUF_EN | AMD_CTRL_EVT_LOG_EN));
  err = amd_wait_status(a, AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN, 0);
  amd_write_control(a, a->entry.control);
  mmio_write64(b + AMD_MMIO_DEVTAB_BASE, a->entry.devtab);
  mmio_write64(b + AMD_MMIO_CMDBUF_BASE, a->entry.cmdbuf);
  mmio_write64(b + AMD_MMIO_EVTLOG_BASE, a->entry.evtlog);
  mmio_write64(b + AMD_MMIO_CMD_HEAD, a->entry.cmd_head);
  mmio_write64(b + AMD_MMIO_CMD_TAIL, a->entry.cmd_tail);
  mmio_write64(b + AMD_MMIO_EVT_HEAD, a->entry.evt_head);
  mmio_write64(b + AMD_MMIO_EVT_TAIL, a->entry.evt_tail);
  mmio_write64(b + AMD_MMIO_EXCL_BASE, a->entry.excl_base);
  mmio_write64(b + AMD_MMIO_EXCL_LIMIT, a->entry.excl_limit);
  mmio_write64(b + AMD_MMIO_STATUS, AMD_STS_W1C & ~a->entry.status);
  free_tables(a);

  struct iommu_reg_check regs[] = {
    { "Control", mmio_read64(b + AMD_MMIO_CONTROL), a->entry.control },
    { "DevTabBase", mmio_read64(b + AMD_MMIO_DEVTAB_BASE), a->entry.devtab },
    { "CmdBufBase", mmio_read64(b + AMD_MMIO_CMDBUF_BASE), a->entry.cmdbuf },
    { "EvtLogBase", mmio_read64(b + AMD_MMIO_EVTLOG_BASE), a->entry.evtlog },
    { "ExclBase", mmio_read64(b + AMD_MMIO_EXCL_BASE), a->entry.excl_base },
    { "ExclLimit", mmio_read64(b + AMD_MMIO_EXCL_LIMIT), a->entry.excl_limit },
    { "CmdHead", mmio_read64(b + AMD_MMIO_CMD_HEAD), a->entry.cmd_head },
    { "CmdTail", mmio_read64(b + AMD_MMIO_CMD_TAIL), a->entry.cmd_tail },
    { "EvtHead", mmio_read64(b + AMD_MMIO_EVT_HEAD), a->entry.evt_head },
    { "EvtTail", mmio_read64(b + AMD_MMIO_EVT_TAIL), a->entry.evt_tail },
    { "Status", mmio_read64(b + AMD_MMIO_STATUS) & 0xffff, a->entry.status & 0xffff },
  };
  bool same = iommu_regs_restored(err, regs, sizeof(regs) / sizeof(regs[0]), why, len);
  if (same)
    snprintf(why, len, "Control, DevTabBase, CmdBufBase, EvtLogBase, exclusion range, command and "
             "event head/tail, Status back to their entry values; tables freed");
  if (!same && !err)
    err = IOMMU_EBADREG;
  return err;
}

/* ---- device table entries ---- */
static uint64_t *dte(struct amd_unit *a, uint32_t devid) { return a->devtab + (size_t)devid * 4; }

/* Domain the entry's translations are cached under, or -1 for a blocked entry. */
static int dte_domid(const uint64_t *e)
{
  return amd_dte_is_blocked(e) ? -1 : (int)(e[1] & AMD_DTE1_DOMID_MASK);
}

static int amd_detach(struct iommu_unit *u, uint16_t rid)
{
  struct amd_unit *a = amd(u);
  if (a->devtab == NULL)
    return IOMMU_ENODEV;
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = dte_ids(a, rid, ids);
  if (ids[0] >= a->n_devids || amd_dte_is_blocked(dte(a, ids[0])))
    return IOMMU_ENOENT;
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++) {
    if (ids[i] >= a->n_devids)
      continue;
    int old = dte_domid(dte(a, ids[i]));
    uint64_t v[4];
    amd_dte_blocked(v, ivhd_setting(a, ids[i]));
    write_dte(a, ids[i], v);
    /* The DTE cache, then every translation cached under the old domain. */
    err = amd_flush_devtab(a, ids[i], old);
  }
  return err;
}

static int amd_attach(struct iommu_domain *dom, uint16_t rid)
{
  struct amd_unit *a = amd(dom->unit);
  struct amd_domain *d = adom(dom);
  if (a->devtab == NULL)
    return IOMMU_ENODEV;
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = dte_ids(a, rid, ids);
  for (unsigned i = 0; i < n; i++)
    if (ids[i] >= a->n_devids)
      return IOMMU_ERANGE;
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++) {
    int old = dte_domid(dte(a, ids[i]));
    uint64_t v[4];
    if (dom->type == IOMMU_DOMAIN_PASSTHROUGH)
      amd_dte_passthrough(v, d->domid, ivhd_setting(a, ids[i]));
    else
      amd_dte_translate(v, d->dom.pt.root_phys, d->dom.pt.levels, d->domid, ivhd_setting(a, ids[i]));
    if (dom->dirty_on)
      v[0] |= AMD_DTE_HAD_DIRTY;
    write_dte(a, ids[i], v);
    /* A walk may have cached the old entry (and the old domain's translations under this
     * device): invalidate both. */
    err = amd_flush_devtab(a, ids[i], old);
  }
  return err;
}

/* ---- domains ---- */
static int alloc_domid(struct amd_unit *a)
{
  for (unsigned w = 0; w < sizeof(a->domids) / sizeof(a->domids[0]); w++)
    if (~a->domids[w]) {
      unsigned bit = (unsigned)__builtin_ctzll(~a->domids[w]);
      a->domids[w] |= 1ull << bit;
      return (int)(w * 64 + bit);
    }
  return -1;
}

/* pt_flags: PT_F_* added to the table's options (PT_F_DIRTY_TRACK for dirty tracking). */
static int amd_domain_alloc_pt(struct iommu_unit *u, enum iommu_domain_type type, unsigned pt_flags,
                               struct iommu_domain **out)
{
  struct amd_unit *a = amd(u);
  if (a->levels == 0)
    return IOMMU_ENODEV;
  struct amd_domain *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return IOMMU_ENOMEM;
  /* Lowest free ID first (QEMU 7.2 also rejects DTEs whose domain ID has bit 8 set). */
  int id = alloc_domid(a);
  if (id < 0) {
    free(d);
    return IOMMU_ENOMEM;
  }
  d->domid = (uint16_t)id;
  d->dom.unit = u;
  d->dom.type = type;
  /* Six levels cover 64 bits; 63 are reported so that 1 << iova_bits stays defined. */
  unsigned bits = amd_levels_bits(a->levels);
  d->dom.iova_bits = bits > 63 ? 63 : bits;
  if (type == IOMMU_DOMAIN_PAGING) {
    struct pt_cfg cfg = { .fmt = &pt_fmt_amd_v1, .levels = a->levels, .ias = bits > 64 ? 64 : bits,
                          .flags = pt_flags };
    int err = pt_init(&d->dom.pt, &cfg);
    if (err) {
      pt_free(&d->dom.pt);
      a->domids[id / 64] &= ~(1ull << (id % 64));
      free(d);
      return err;
    }
    d->dom.page_sizes = d->dom.pt.page_sizes;
  }
  *out = &d->dom;
  return IOMMU_OK;
}

static int amd_domain_alloc(struct iommu_unit *u, enum iommu_domain_type type, struct iommu_domain **out)
{
  return amd_domain_alloc_pt(u, type, 0, out);
}

/* ---- dirty tracking (2.2.2.1 DTE HAD, 2.2.3 v1 PTE D bit 6) ---- */
/* HAD = 11b asks for Access and Dirty updates: both EFR.HASup and EFR.HDSup. */
static const char *amd_dirty_gap(const struct iommu_unit *u)
{
  const struct amd_unit *a = amd(u);
  if (!AMD_EFR_HDSUP(a->efr))
    return "EFR.HDSup=0";
  if (!AMD_EFR_HASUP(a->efr))
    return "EFR.HASup=0";
  return NULL;
}

static int amd_domain_alloc_dirty(struct iommu_unit *u, struct iommu_domain **out)
{
  int err = amd_domain_alloc_pt(u, IOMMU_DOMAIN_PAGING, PT_F_DIRTY_TRACK, out);
  if (!err)
    (*out)->dirty_switch = true; /* DTE.HAD */
  return err;
}

/* HAD rewritten in every DTE translating through the domain's table, each DTE invalidated
 * with the domain's cached translations. */
static int amd_set_dirty_tracking(struct iommu_domain *dom, bool on)
{
  struct amd_unit *a = amd(dom->unit);
  struct amd_domain *d = adom(dom);
  int err = IOMMU_OK;
  for (uint32_t id = 0; id < a->n_devids && !err; id++) {
    uint64_t *e = dte(a, id);
    if (amd_dte_is_blocked(e) || dte_domid(e) != d->domid || !(e[0] & AMD_DTE_MODE_MASK))
      continue;
    uint64_t v[4] = { e[0], e[1], e[2], e[3] };
    v[0] = (v[0] & ~AMD_DTE_HAD_MASK) | (on ? AMD_DTE_HAD_DIRTY : 0);
    write_dte(a, id, v);
    err = amd_flush_devtab(a, (uint16_t)id, d->domid);
  }
  return err;
}

static void amd_domain_free(struct iommu_domain *dom)
{
  struct amd_domain *d = adom(dom);
  struct amd_unit *a = amd(dom->unit);
  /* The ID may be handed out again: nothing may stay cached under it. */
  if (a->cmdbuf)
    amd_flush_pages(a, d->domid, 0, 0);
  a->domids[d->domid / 64] &= ~(1ull << (d->domid % 64));
  pt_free(&dom->pt);
  free(d);
}

/* An IOMMU with the NpCache capability may cache not-present entries; the flush is cheap,
 * so it is always done. */
static int amd_map_sync(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  return amd_flush_pages(amd(dom->unit), adom(dom)->domid, iova, size);
}

static int amd_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  return amd_flush_pages(amd(dom->unit), adom(dom)->domid, iova, size);
}

/* ---- events ---- */
#define AMD_EVT_MAX_WINDOWS 64
static int amd_drain_faults(struct iommu_unit *u, struct iommu_fault *out, unsigned max, unsigned *n,
                            bool *overflow)
{
  struct amd_unit *a = amd(u);
  struct amd_event evs[AMD_EVT_WINDOW];
  *n = 0;
  *overflow = false;
  /* Bounded: a device that keeps faulting while we read must not keep us here forever;
   * what is left is read by the next drain. */
  for (unsigned windows = 0; windows < AMD_EVT_MAX_WINDOWS; windows++) {
    bool ovf = false;
    unsigned k = amd_evt_read(a, evs, AMD_EVT_WINDOW, &ovf);
    *overflow = *overflow || ovf;
    for (unsigned i = 0; i < k && *n < max; i++) {
      amd_event_to_fault(&evs[i], &out[(*n)++]);
    }
    if (k < AMD_EVT_WINDOW)
      break;
  }
  return IOMMU_OK;
}

static unsigned amd_fault_slots(const struct iommu_unit *u)
{
  (void)u;
  return AMD_EVT_WINDOW;
}

static int amd_queue_wait(struct iommu_unit *u, char *why, size_t len)
{
  return amd_queue_wait_test(amd(u), why, len);
}

static int amd_queue_error(struct iommu_unit *u, char *why, size_t len)
{
  return amd_queue_error_test(amd(u), why, len);
}

/* ---- deliberate breakage ---- */
/* Points DevTabBase elsewhere: the base may only change with the IOMMU disabled. */
static int set_devtab(struct amd_unit *a, uint64_t phys)
{
  uint64_t on = a->control;
  amd_write_control(a, on & ~AMD_CTRL_IOMMU_EN);
  int err = amd_wait_status(a, AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN, 0);
  mmio_write64(a->base + AMD_MMIO_DEVTAB_BASE, phys | (a->devtab_pages - 1));
  amd_write_control(a, on);
  int e2 = amd_wait_status(a, AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN,
                           AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN);
  err = err ? err : e2;
  return err ? err : amd_flush_all(a);
}

static int amd_inject(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct amd_unit *a = amd(u);
  if (a->devtab == NULL)
    return IOMMU_ENODEV;
  if (what == IOMMU_INJECT_BAD_CONTEXT) {
    if (rid >= a->n_devids || amd_dte_is_blocked(dte(a, rid)))
      return IOMMU_ENOENT;
    uint64_t *e = dte(a, rid);
    memcpy(a->saved_dte, e, sizeof(a->saved_dte));
    /* Paging mode 7 is reserved: ILLEGAL_DEV_TABLE_ENTRY. */
    e[0] |= AMD_DTE_MODE_MASK;
    amd_table_sync(e, AMD_DTE_BYTES);
    return amd_flush_devtab(a, rid, (int)(a->saved_dte[1] & AMD_DTE1_DOMID_MASK));
  }
  /* A device table that exists but is malformed: qword 0 all ones in every entry (V=1 TV=1,
   * reserved bits, Mode 7); the interrupt qwords stay zero (IV=0) so interrupts keep being
   * forwarded. A base pointing at absent memory would make silicon read whatever decodes
   * there. */
  if (a->bad_devtab == NULL) {
    a->bad_devtab = page_alloc(a->devtab_pages, UINT64_MAX, &a->bad_devtab_phys);
    if (a->bad_devtab == NULL)
      return IOMMU_ENOMEM;
  }
  memset(a->bad_devtab, 0, (size_t)a->devtab_pages * PAGE_SIZE);
  for (uint32_t id = 0; id < a->n_devids; id++)
    a->bad_devtab[(size_t)id * 4] = ~0ull;
  amd_table_sync(a->bad_devtab, (size_t)a->devtab_pages * PAGE_SIZE);
  return set_devtab(a, a->bad_devtab_phys);
}

static int amd_inject_revert(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct amd_unit *a = amd(u);
  if (a->devtab == NULL)
    return IOMMU_ENODEV;
  if (what == IOMMU_INJECT_BAD_CONTEXT) {
    if (rid >= a->n_devids)
      return IOMMU_ENOENT;
    write_dte(a, rid, a->saved_dte);
    return amd_flush_devtab(a, rid, (int)(a->saved_dte[1] & AMD_DTE1_DOMID_MASK));
  }
  return set_devtab(a, a->devtab_phys);
}

const struct iommu_ops amd_ops = {
  .name = "amd",
  .probe = amd_probe,
  .describe_caps = amd_describe,
  .check_caps = amd_check,
  .feature_gap = amd_feature_gap,
  .enable = amd_enable,
  .disable = amd_disable,
  .domain_alloc = amd_domain_alloc,
  .domain_free = amd_domain_free,
  .map_sync = amd_map_sync,
  .flush = amd_flush,
  .attach = amd_attach,
  .detach = amd_detach,
  .drain_faults = amd_drain_faults,
  .queue_wait = amd_queue_wait,
  .queue_error = amd_queue_error,
  .fault_slots = amd_fault_slots,
  .inject = amd_inject,
  .inject_revert = amd_inject_revert,
  .dirty_gap = amd_dirty_gap,
  .domain_alloc_dirty = amd_domain_alloc_dirty,
  .set_dirty_tracking = amd_set_dirty_tracking,
};
