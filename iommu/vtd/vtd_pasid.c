/* VT-d per-PASID (aux) domains, scalable mode only (VT-d 5.10 9.4-9.6, 6.5.3.3). A device
 * with aux domains gets a PASID directory sized for its PASID width (the RID_PASID table of
 * vtd.c stays its entry 0) and PASIDE in its context entry; each aux domain is one PASID-table
 * entry, second-stage (PGTT=2) or first-stage (PGTT=1) as the domain was made. Detach clears
 * the entry and invalidates the PASID cache for (DID, PASID), then the IOTLB: PASID-based
 * for first-stage entries, domain-selective for second-stage ones (a PASID-based IOTLB
 * invalidation does not reach second-stage mappings). */
#include <string.h>

#include "boot/mem.h"
#include "iommu/vtd/vtd_internal.h"

#define VTD_AUX_MAX_DEVS 16
#define VTD_AUX_MAX_TABLES 32     /* PASID tables (64 PASIDs each) beyond table 0, per device */

struct aux_table {
  unsigned index;                 /* directory index: PASID >> 6 */
  uint64_t *p, phys;
};

struct aux_dev {
  const struct vtd_unit *unit;
  uint16_t rid;
  uint64_t *dir, dir_phys;
  unsigned dir_pages, pdts;
  uint64_t saved_ctx0;            /* context qword 0 before PASIDs were enabled */
  struct aux_table tables[VTD_AUX_MAX_TABLES];
  unsigned n_tables;
};

static struct aux_dev aux_devs[VTD_AUX_MAX_DEVS];
static unsigned n_aux_devs;

static struct vtd_unit *vtd(const struct iommu_unit *u) { return u->priv; }

static struct aux_dev *find(const struct vtd_unit *v, uint16_t rid)
{
  for (unsigned i = 0; i < n_aux_devs; i++)
    if (aux_devs[i].unit == v && aux_devs[i].rid == rid)
      return &aux_devs[i];
  return NULL;
}

static void release(struct aux_dev *a)
{
  for (unsigned i = 0; i < a->n_tables; i++)
    page_free(a->tables[i].p, 1);
  page_free(a->dir, a->dir_pages);
  *a = aux_devs[--n_aux_devs];
}

void vtd_pasid_free_all(struct vtd_unit *v)
{
  for (unsigned i = 0; i < n_aux_devs;)
    if (aux_devs[i].unit == v)
      release(&aux_devs[i]);
    else
      i++;
}

const char *vtd_pasid_gap(const struct iommu_unit *u, unsigned *bits)
{
  const struct vtd_unit *v = vtd(u);
  *bits = 0;
  if (!VTD_ECAP_SMTS(v->ecap))
    return "ECAP.SMTS=0 (PASIDs need scalable mode)";
  if (!VTD_ECAP_PASID(v->ecap))
    return "ECAP.PASID=0";
  if (u->active && !v->scalable)
    return "legacy mode in use (--vtd-mode=legacy or ECAP.SLTS/QI): PASIDs need scalable mode";
  *bits = (unsigned)VTD_ECAP_PSS(v->ecap) + 1;
  if (*bits > 20)
    *bits = 20;
  return NULL;
}

const char *vtd_pasid_domain_gap(const struct iommu_domain *dom)
{
  (void)dom;
  return NULL; /* first- and second-stage domains both go in PASID-table entries */
}

/* Context-cache (device), PASID-cache (domain), IOTLB (domain): a changed context entry
 * (Table 28). */
static int flush_context_change(struct vtd_unit *v, uint16_t did, uint16_t rid)
{
  int err = vtd_flush_context_device(v, did, rid);
  if (!err)
    err = vtd_flush_pasid_cache_domain(v, did);
  if (!err)
    err = vtd_flush_iotlb(v, did, 0, 0);
  return err;
}

int vtd_pasid_enable(struct iommu_domain *primary, uint16_t rid, unsigned bits)
{
  struct vtd_unit *v = vtd(primary->unit);
  uint64_t *ce = vtd_find_context(v, rid);
  struct vtd_pasid_dev *p = vtd_find_pasid_dev(v, rid);
  if (!v->scalable || ce == NULL || !(ce[0] & VTD_CTX_P) || p == NULL)
    return IOMMU_ENOENT; /* the primary domain's RID_PASID entry must be there */
  if (find(v, rid))
    return IOMMU_EEXIST;
  if (n_aux_devs == VTD_AUX_MAX_DEVS || bits == 0 || bits > 20)
    return bits ? IOMMU_ENOMEM : IOMMU_EINVAL;
  /* 2^(PDTS+7) directory entries of 64 PASIDs each cover 2^bits PASIDs. */
  unsigned pdts = bits > 13 ? bits - 13 : 0;
  unsigned pages = (8u << (pdts + 7)) > PAGE_SIZE ? (8u << (pdts + 7)) / PAGE_SIZE : 1;
  struct aux_dev *a = &aux_devs[n_aux_devs];
  memset(a, 0, sizeof(*a));
  a->dir = page_alloc(pages, UINT64_MAX, &a->dir_phys);
  if (a->dir == NULL)
    return IOMMU_ENOMEM;
  n_aux_devs++;
  a->unit = v;
  a->rid = rid;
  a->dir_pages = pages;
  a->pdts = pdts;
  a->dir[0] = vtd_pasid_dir_encode(p->table0_phys);
  vtd_table_sync(v, a->dir, (size_t)pages * PAGE_SIZE);
  /* P, PASIDE, PDTS and the directory pointer all live in qword 0: one store. */
  a->saved_ctx0 = ce[0];
  ce[0] = VTD_CTX_P | VTD_SMCTX_PASIDE | (uint64_t)pdts << VTD_SMCTX_PDTS_SHIFT |
          (a->dir_phys & VTD_SL_ADDR_MASK) | (a->saved_ctx0 & ~(VTD_SL_ADDR_MASK | 0xfffull));
  vtd_table_sync(v, ce, 32);
  return flush_context_change(v, (uint16_t)p->table0[1], rid);
}

int vtd_pasid_disable(struct iommu_domain *primary, uint16_t rid)
{
  struct vtd_unit *v = vtd(primary->unit);
  struct aux_dev *a = find(v, rid);
  uint64_t *ce = vtd_find_context(v, rid);
  struct vtd_pasid_dev *p = vtd_find_pasid_dev(v, rid);
  if (a == NULL || ce == NULL || p == NULL)
    return IOMMU_ENOENT;
  ce[0] = a->saved_ctx0;
  vtd_table_sync(v, ce, 32);
  int err = flush_context_change(v, (uint16_t)p->table0[1], rid);
  release(a);
  return err;
}

static uint64_t *pasid_entry(struct vtd_unit *v, struct aux_dev *a, struct vtd_pasid_dev *p,
                             uint32_t pasid, bool create)
{
  unsigned index = pasid >> 6;
  uint64_t *table = index == 0 ? p->table0 : NULL;
  for (unsigned i = 0; table == NULL && i < a->n_tables; i++)
    if (a->tables[i].index == index)
      table = a->tables[i].p;
  if (table == NULL) {
    if (!create || a->n_tables == VTD_AUX_MAX_TABLES)
      return NULL;
    struct aux_table *t = &a->tables[a->n_tables];
    t->p = page_alloc(1, UINT64_MAX, &t->phys);
    if (t->p == NULL)
      return NULL;
    t->index = index;
    a->n_tables++;
    vtd_table_sync(v, t->p, PAGE_SIZE);
    a->dir[index] = vtd_pasid_dir_encode(t->phys);
    vtd_table_sync(v, &a->dir[index], 8);
    table = t->p;
  }
  return table + (pasid & 0x3f) * 8;
}

int vtd_attach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct vtd_unit *v = vtd(dom->unit);
  struct vtd_domain *d = (struct vtd_domain *)dom;
  struct aux_dev *a = find(v, rid);
  struct vtd_pasid_dev *p = vtd_find_pasid_dev(v, rid);
  if (a == NULL || p == NULL)
    return IOMMU_ENOENT;
  if (pasid == 0 || pasid >= (64u << (a->pdts + 7)))
    return IOMMU_ERANGE;
  if (d->aux_refs && d->aux_pasid != pasid)
    return IOMMU_EINVAL; /* one PASID per domain: the first-stage flush names it */
  uint64_t *e = pasid_entry(v, a, p, pasid, true);
  if (e == NULL)
    return IOMMU_ENOMEM;
  if (e[0] & VTD_PASID_P)
    return IOMMU_EEXIST;
  uint64_t pe[8];
  if (d->first_stage)
    vtd_pasid_entry_encode_fl(pe, dom->pt.root_phys, dom->pt.levels == 5, d->did);
  else
    vtd_pasid_entry_encode(pe, VTD_PGTT_SECOND_STAGE, dom->pt.root_phys, v->aw_code, d->did);
  vtd_pasid_entry_dirty(pe, dom); /* snooped walks, SSADE while the domain tracks */
  memcpy(e + 1, pe + 1, 7 * sizeof(uint64_t));
  vtd_table_sync(v, e, 64);
  e[0] = pe[0]; /* P last */
  vtd_table_sync(v, e, 64);
  d->aux_pasid = pasid;
  d->aux_refs++;
  /* Not present -> present: nothing cached unless caching mode caches not-present entries. */
  if (!VTD_CAP_CM(v->cap))
    return vtd_write_buffer_flush(v);
  uint64_t desc[4];
  vtd_inv_pasid_cache(desc, VTD_INV_PC_GLOBAL, 0, 0);
  int err = vtd_inv_submit(v, (const uint64_t(*)[4])&desc, 1);
  if (!err)
    err = vtd_pasid_iotlb_invalidate(d, pasid);
  return err;
}

int vtd_pasid_entry_clear(struct vtd_domain *d, uint16_t rid, uint32_t pasid)
{
  struct vtd_unit *v = vtd(d->dom.unit);
  struct aux_dev *a = find(v, rid);
  struct vtd_pasid_dev *p = vtd_find_pasid_dev(v, rid);
  uint64_t *e = a && p ? pasid_entry(v, a, p, pasid, false) : NULL;
  if (e == NULL || !(e[0] & VTD_PASID_P))
    return IOMMU_ENOENT;
  e[0] = 0; /* P first */
  vtd_table_sync(v, e, 8);
  memset(e + 1, 0, 7 * sizeof(uint64_t));
  vtd_table_sync(v, e, 64);
  if (d->aux_refs)
    d->aux_refs--;
  return IOMMU_OK;
}

/* 6.5.3.3, a present PASID entry made not present: the PASID cache for (DID, PASID)... */
int vtd_pasid_cache_invalidate(const struct vtd_domain *d, uint32_t pasid)
{
  uint64_t desc[4];
  vtd_inv_pasid_cache(desc, VTD_INV_PC_PASID, d->did, pasid);
  return vtd_inv_submit(vtd(d->dom.unit), (const uint64_t(*)[4])&desc, 1);
}

/* ...then the IOTLB entries the entry's PGTT produced. */
int vtd_pasid_iotlb_invalidate(const struct vtd_domain *d, uint32_t pasid)
{
  struct vtd_unit *v = vtd(d->dom.unit);
  return d->first_stage ? vtd_flush_piotlb(v, d->did, pasid, 0, 0) : vtd_flush_iotlb(v, d->did, 0, 0);
}

int vtd_detach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct vtd_domain *d = (struct vtd_domain *)dom;
  int err = vtd_pasid_entry_clear(d, rid, pasid);
  if (!err)
    err = vtd_pasid_cache_invalidate(d, pasid);
  if (!err)
    err = vtd_pasid_iotlb_invalidate(d, pasid);
  return err;
}

void vtd_aux_set_ssade(struct vtd_domain *d, bool on)
{
  struct vtd_unit *v = vtd(d->dom.unit);
  if (d->aux_refs == 0 || d->first_stage)
    return;
  for (unsigned i = 0; i < n_aux_devs; i++) {
    struct aux_dev *a = &aux_devs[i];
    struct vtd_pasid_dev *p = a->unit == v ? vtd_find_pasid_dev(v, a->rid) : NULL;
    uint64_t *e = p ? pasid_entry(v, a, p, d->aux_pasid, false) : NULL;
    if (e == NULL || !(e[0] & VTD_PASID_P) || (uint16_t)e[1] != d->did)
      continue;
    e[0] = on ? e[0] | VTD_PASID_SSADE : e[0] & ~VTD_PASID_SSADE;
    vtd_table_sync(v, e, 8);
  }
}
