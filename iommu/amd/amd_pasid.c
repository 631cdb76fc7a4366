/* AMD-Vi per-PASID (aux) domains (48882 2.2.2.1, 2.2.6, 2.4.3). A device with PASIDs gets a
 * GCR3 table of its own (GLX + 1 levels of 512 entries, PASID bits 9l+8:9l at level l) and
 * its DTE gets GV, GLX and the table's root. Each aux domain has x86-64 (v2) tables in the
 * GCR3 entry of its PASID. PASID-tagged requests would be translated again by the DTE's v1
 * host table (nested), so the primary domain beside them is either pass-through (Mode 0) or
 * itself a v2 domain, reached by untagged requests through GCR3 entry 0 (DTE.GIoV, needs
 * EFR.GIoSup) with a pass-through host level. Guest translations are cached per (DTE domain
 * ID, PASID): map/unmap and detach invalidate them with INVALIDATE_IOMMU_PAGES, GN=1. */
#include <string.h>

#include "boot/mem.h"
#include "iommu/amd/amd_internal.h"

#define AMD_AUX_MAX_DEVS 16
#define AMD_AUX_MAX_TABLES 16       /* lower-level GCR3 tables per device */
#define AMD_AUX_MAX_ATT 64

struct gcr3_table {
  unsigned level;
  uint32_t key;                     /* PASID >> (9 * (level + 1)): which entry points here */
  uint64_t *p, phys;
};

struct gcr3 {
  const struct amd_unit *unit;
  uint16_t devid;
  unsigned glx;
  uint64_t *root, root_phys;
  struct gcr3_table tables[AMD_AUX_MAX_TABLES];
  unsigned n_tables;
};

/* Where a v2 domain is reached with a PASID: the DTE's domain ID tags what is cached. */
struct aux_att {
  const struct amd_domain *dom;
  struct amd_unit *unit;
  uint16_t devid, domid;
  uint32_t pasid;
};

static struct gcr3 gcr3s[AMD_AUX_MAX_DEVS];
static unsigned n_gcr3s;
static struct aux_att atts[AMD_AUX_MAX_ATT];
static unsigned n_atts;

static struct amd_unit *amd(const struct iommu_unit *u) { return u->priv; }

static struct gcr3 *find(const struct amd_unit *a, uint16_t devid)
{
  for (unsigned i = 0; i < n_gcr3s; i++)
    if (gcr3s[i].unit == a && gcr3s[i].devid == devid)
      return &gcr3s[i];
  return NULL;
}

/* devid's GCR3 table, NULL when it has none (or devid is beyond the device table). */
static struct gcr3 *gcr3_of(const struct amd_unit *a, uint16_t devid)
{
  return devid < a->n_devids ? find(a, devid) : NULL;
}

static void release(struct gcr3 *g)
{
  for (unsigned i = 0; i < g->n_tables; i++)
    page_free(g->tables[i].p, 1);
  page_free(g->root, 1);
  *g = gcr3s[--n_gcr3s];
}

void amd_pasid_free_all(struct amd_unit *a)
{
  for (unsigned i = 0; i < n_gcr3s;)
    if (gcr3s[i].unit == a)
      release(&gcr3s[i]);
    else
      i++;
  for (unsigned i = 0; i < n_atts;)
    if (atts[i].unit == a)
      atts[i] = atts[--n_atts];
    else
      i++;
}

/* PASID width the unit and the GCR3 levels it allows cover. */
static unsigned unit_bits(const struct amd_unit *a)
{
  unsigned bits = (unsigned)AMD_EFR_PASMAX(a->efr) + 1, glx_bits = 9 * ((unsigned)AMD_EFR_GLXSUP(a->efr) + 1);
  bits = bits < glx_bits ? bits : glx_bits;
  return bits > 20 ? 20 : bits;
}

const char *amd_pasid_gap(const struct iommu_unit *u, unsigned *bits)
{
  const struct amd_unit *a = amd(u);
  *bits = 0;
  if (!AMD_EFR_GTSUP(a->efr))
    return "EFR.GTSup=0 (no guest translation: no PASIDs)";
  if (!AMD_EFR_GIOSUP(a->efr))
    return "EFR.GIoSup=0 (untagged DMA cannot keep a paging primary domain beside PASID-tagged DMA)";
  *bits = unit_bits(a);
  return NULL;
}

const char *amd_pasid_domain_gap(const struct iommu_domain *dom)
{
  const struct amd_domain *d = (const struct amd_domain *)dom;
  if (!d->v2)
    return "a v1 host-table domain: tagged DMA through it would be translated twice (nested); "
           "PASID domains use v2 tables (iommu_aux_domain_alloc)";
  return NULL;
}

/* INVALIDATE_IOMMU_PAGES for guest translations of (domid, pasid) in [iova, iova + size)
 * (size 0: all), then COMPLETION_WAIT. */
static int flush_guest(struct amd_unit *a, uint16_t domid, uint32_t pasid, uint64_t iova, uint64_t size)
{
  uint64_t c[2];
  amd_cmd_inv_iommu_pages(c, domid, iova, size, true);
  c[0] |= pasid & 0xfffffu;
  c[1] |= AMD_CMD_INV_GN;
  return amd_cmd_submit(a, (const uint64_t(*)[2])&c, 1);
}

static struct gcr3 *table_for(struct amd_unit *a, uint16_t devid, bool create)
{
  struct gcr3 *g = find(a, devid);
  if (g || !create || n_gcr3s == AMD_AUX_MAX_DEVS)
    return g;
  /* Guest translation on with the first GCR3 table (Control.GTEn, 3.4.4); the entry value
   * comes back at disable. */
  if (!(a->control & AMD_CTRL_GT_EN))
    amd_write_control(a, a->control | AMD_CTRL_GT_EN);
  g = &gcr3s[n_gcr3s];
  memset(g, 0, sizeof(*g));
  g->root = page_alloc(1, UINT64_MAX, &g->root_phys);
  if (g->root == NULL)
    return NULL;
  n_gcr3s++;
  g->unit = a;
  g->devid = devid;
  unsigned bits = unit_bits(a);
  g->glx = bits <= 9 ? 0 : bits <= 18 ? 1 : 2;
  amd_table_sync(g->root, PAGE_SIZE);
  return g;
}

/* The GCR3 entry of pasid, making the lower-level tables on the way when create. */
static uint64_t *gcr3_slot(struct gcr3 *g, uint32_t pasid, bool create)
{
  if ((uint64_t)pasid >> (9 * (g->glx + 1)))
    return NULL;
  uint64_t *table = g->root;
  for (unsigned l = g->glx; l > 0; l--) {
    unsigned index = (pasid >> (9 * l)) & 0x1ff;
    uint32_t key = pasid >> (9 * l);
    uint64_t *next = NULL;
    for (unsigned i = 0; next == NULL && i < g->n_tables; i++)
      if (g->tables[i].level == l - 1 && g->tables[i].key == key)
        next = g->tables[i].p;
    if (next == NULL) {
      if (!create || g->n_tables == AMD_AUX_MAX_TABLES)
        return NULL;
      struct gcr3_table *t = &g->tables[g->n_tables];
      t->p = page_alloc(1, UINT64_MAX, &t->phys);
      if (t->p == NULL)
        return NULL;
      t->level = l - 1;
      t->key = key;
      g->n_tables++;
      amd_table_sync(t->p, PAGE_SIZE);
      table[index] = amd_gcr3_entry_encode(t->phys);
      amd_table_sync(&table[index], 8);
      next = t->p;
    }
    table = next;
  }
  return &table[pasid & 0x1ff];
}

int amd_pasid_primary_dte(struct amd_unit *a, const struct amd_domain *d, uint16_t devid, uint64_t v[4])
{
  struct gcr3 *g = table_for(a, devid, true);
  uint64_t *e0 = g ? gcr3_slot(g, 0, true) : NULL;
  if (e0 == NULL)
    return IOMMU_ENOMEM;
  *e0 = amd_gcr3_entry_encode(d->dom.pt.root_phys);
  amd_table_sync(e0, 8);
  amd_dte_set_gcr3(v, g->root_phys, g->glx, true);
  return IOMMU_OK;
}

int amd_pasid_dte_changed(struct amd_unit *a, uint16_t devid, int old_domid, bool keep)
{
  struct gcr3 *g = find(a, devid);
  if (g == NULL)
    return IOMMU_OK;
  int err = old_domid >= 0 ? flush_guest(a, (uint16_t)old_domid, 0, 0, 0) : IOMMU_OK;
  if (!keep)
    release(g);
  return err;
}

int amd_pasid_flush(const struct amd_domain *d, uint64_t iova, uint64_t size)
{
  struct amd_unit *a = amd(d->dom.unit);
  int err = flush_guest(a, d->domid, 0, iova, size); /* as a primary domain: PASID 0 (GIoV) */
  for (unsigned i = 0; i < n_atts && !err; i++)
    if (atts[i].dom == d)
      err = flush_guest(a, atts[i].domid, atts[i].pasid, iova, size);
  return err;
}

/* Adds or removes a GCR3 table on a live DTE without blocking the device: the root pointer
 * bits in qword 1 are ignored while GV is 0, so qword 1 goes first when GV comes on and last
 * when it goes off (qword 0 holds GV, GLX and the rest of the pointer), then the DTE cache
 * entry is invalidated. */
static int dte_switch(struct amd_unit *a, uint16_t devid, const uint64_t v[4])
{
  uint64_t *e = a->devtab + (size_t)devid * 4;
  unsigned first = (v[0] & AMD_DTE_GV) ? 1 : 0;
  e[first] = v[first];
  amd_table_sync(e, AMD_DTE_BYTES);
  e[1 - first] = v[1 - first];
  amd_table_sync(e, AMD_DTE_BYTES);
  return amd_flush_devtab(a, devid, -1);
}

static void dte_without_gcr3(uint64_t v[4])
{
  amd_dte_set_gcr3(v, 0, 0, false);
  v[0] &= ~AMD_DTE_GV;
}

int amd_pasid_enable(struct iommu_domain *primary, uint16_t rid, unsigned bits)
{
  struct amd_unit *a = amd(primary->unit);
  const struct amd_domain *d = (const struct amd_domain *)primary;
  if (primary->type == IOMMU_DOMAIN_PAGING && !d->v2)
    return IOMMU_EINVAL; /* the core refuses this first, with the reason */
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = amd_rid_devids(a, rid, ids);
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++) {
    if (ids[i] >= a->n_devids)
      return IOMMU_ERANGE;
    struct gcr3 *g = table_for(a, ids[i], primary->type == IOMMU_DOMAIN_PASSTHROUGH);
    if (g == NULL)
      return primary->type == IOMMU_DOMAIN_PASSTHROUGH ? IOMMU_ENOMEM : IOMMU_ENOENT;
    if (bits > 9 * (g->glx + 1))
      return IOMMU_ERANGE;
    if (primary->type == IOMMU_DOMAIN_PASSTHROUGH) {
      /* Mode 0 stays: untagged DMA untranslated, tagged DMA through the GCR3 table alone. */
      uint64_t v[4];
      memcpy(v, a->devtab + (size_t)ids[i] * 4, sizeof(v));
      amd_dte_set_gcr3(v, g->root_phys, g->glx, false);
      err = dte_switch(a, ids[i], v);
    }
  }
  return err;
}

int amd_pasid_disable(struct iommu_domain *primary, uint16_t rid)
{
  struct amd_unit *a = amd(primary->unit);
  if (primary->type != IOMMU_DOMAIN_PASSTHROUGH)
    return IOMMU_OK; /* a v2 primary keeps its GCR3 table (entry 0) */
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = amd_rid_devids(a, rid, ids);
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++) {
    struct gcr3 *g = gcr3_of(a, ids[i]);
    if (g == NULL)
      continue;
    uint64_t v[4];
    memcpy(v, a->devtab + (size_t)ids[i] * 4, sizeof(v));
    dte_without_gcr3(v);
    err = dte_switch(a, ids[i], v);
    release(g);
  }
  return err;
}

int amd_attach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct amd_unit *a = amd(dom->unit);
  const struct amd_domain *d = (const struct amd_domain *)dom;
  if (!d->v2 || pasid == 0)
    return IOMMU_EINVAL;
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = amd_rid_devids(a, rid, ids);
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n && !err; i++) {
    struct gcr3 *g = gcr3_of(a, ids[i]);
    if (g == NULL)
      return IOMMU_ENOENT;
    if (n_atts == AMD_AUX_MAX_ATT)
      return IOMMU_ENOMEM;
    uint64_t *e = gcr3_slot(g, pasid, true);
    if (e == NULL)
      return (uint64_t)pasid >> (9 * (g->glx + 1)) ? IOMMU_ERANGE : IOMMU_ENOMEM;
    if (*e & AMD_GCR3_GV)
      return IOMMU_EEXIST;
    *e = amd_gcr3_entry_encode(dom->pt.root_phys);
    amd_table_sync(e, 8);
    uint16_t domid = (uint16_t)(a->devtab[(size_t)ids[i] * 4 + 1] & AMD_DTE1_DOMID_MASK);
    atts[n_atts++] = (struct aux_att){ .dom = d, .unit = a, .devid = ids[i], .domid = domid, .pasid = pasid };
    /* Not present -> present; an NpCache unit may hold the not-present result. */
    err = flush_guest(a, domid, pasid, 0, 0);
  }
  return err;
}

int amd_pasid_entry_clear(struct amd_unit *a, uint16_t devid, uint32_t pasid)
{
  struct gcr3 *g = find(a, devid);
  uint64_t *e = g ? gcr3_slot(g, pasid, false) : NULL;
  if (e == NULL || !(*e & AMD_GCR3_GV))
    return IOMMU_ENOENT;
  *e = 0;
  amd_table_sync(e, 8);
  return IOMMU_OK;
}

/* Every guest translation of (the DTE's domain ID, pasid). GCR3 entries themselves are not
 * kept across an IOTLB miss by this driver's reading of 2.2.6, so nothing else holds them. */
int amd_pasid_entry_invalidate(struct amd_unit *a, uint16_t devid, uint32_t pasid)
{
  uint16_t domid = (uint16_t)(a->devtab[(size_t)devid * 4 + 1] & AMD_DTE1_DOMID_MASK);
  return flush_guest(a, domid, pasid, 0, 0);
}

int amd_detach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct amd_unit *a = amd(dom->unit);
  uint16_t ids[AMD_MAX_ALIASES];
  unsigned n = amd_rid_devids(a, rid, ids);
  int err = IOMMU_OK;
  for (unsigned i = 0; i < n; i++) {
    if (ids[i] >= a->n_devids)
      continue;
    int e = amd_pasid_entry_clear(a, ids[i], pasid);
    if (!e)
      e = amd_pasid_entry_invalidate(a, ids[i], pasid);
    err = err ? err : e;
    for (unsigned k = 0; k < n_atts; k++)
      if (atts[k].dom == (const struct amd_domain *)dom && atts[k].devid == ids[i] && atts[k].pasid == pasid) {
        atts[k] = atts[--n_atts];
        break;
      }
  }
  return err;
}
