/* SMMUv3 per-SubstreamID (aux) domains (IHI 0070 3.4.2, 5.2, 5.4). A stream with aux domains
 * gets a CD table of its own, 2^bits CDs: linear where 64 CDs cover the width (or IDR0.CD2L
 * is 0: then the driver addresses 6 bits), else 2-level with 64-CD leaves made on first use.
 * The STE points at it with S1CDMax = bits; untagged DMA keeps its primary domain through CD 0
 * (STE.S1DSS = substream 0) or bypasses (S1DSS = bypass) for a pass-through primary. An aux
 * domain's CD is a copy of the one the domain made for itself (same ASID and tables), so the
 * TLBI by ASID its map/unmap issue reaches every substream using it. Detach: CD V=0,
 * CFGI_CD for (StreamID, SubstreamID), TLBI by ASID, CMD_SYNC. */
#include <string.h>

#include "boot/mem.h"
#include "iommu/smmuv3/smmu_internal.h"

#define SMMU_AUX_MAX_STREAMS 16
#define SMMU_AUX_MAX_LEAVES 32    /* 2-level: leaf CD tables per stream */
#define SMMU_CD_LEAF_LOG2 6u      /* 64 CDs (4 KiB) per leaf: S1Fmt = 2-level, 4 KiB leaves */

struct cd_leaf {
  unsigned index;
  struct smmu_mem mem;
  uint64_t *p, phys;
};

struct aux_stream {
  const struct smmu_unit *unit;
  uint32_t sid;
  unsigned bits;
  bool two_level;
  struct smmu_mem mem;            /* linear CD table or level-1 table */
  uint64_t *table, table_phys;
  struct cd_leaf leaves[SMMU_AUX_MAX_LEAVES];
  unsigned n_leaves;
};

static struct aux_stream streams[SMMU_AUX_MAX_STREAMS];
static unsigned n_streams;

static struct smmu_unit *smmu(const struct iommu_unit *u) { return u->priv; }

static struct aux_stream *find(const struct smmu_unit *s, uint32_t sid)
{
  for (unsigned i = 0; i < n_streams; i++)
    if (streams[i].unit == s && streams[i].sid == sid)
      return &streams[i];
  return NULL;
}

/* The RID's stream and STE and its CD table; NULL with *err set when it has none. */
static struct aux_stream *stream_of(struct iommu_unit *u, uint16_t rid, uint32_t *sid, uint64_t **ste,
                                    int *err)
{
  *err = smmu_stream(u, rid, sid, ste);
  struct aux_stream *a = *err ? NULL : find(smmu(u), *sid);
  if (a == NULL && *err == 0)
    *err = IOMMU_ENOENT;
  return a;
}

static void free_mem(struct smmu_mem *m)
{
  if (m->alloc)
    page_free(m->alloc, m->pages);
  m->alloc = NULL;
}

static void release(struct aux_stream *a)
{
  for (unsigned i = 0; i < a->n_leaves; i++)
    free_mem(&a->leaves[i].mem);
  free_mem(&a->mem);
  *a = streams[--n_streams];
}

void smmu_pasid_free_all(struct smmu_unit *s)
{
  for (unsigned i = 0; i < n_streams;)
    if (streams[i].unit == s)
      release(&streams[i]);
    else
      i++;
}

const char *smmu_pasid_gap(const struct iommu_unit *u, unsigned *bits)
{
  const struct smmu_unit *s = smmu(u);
  *bits = 0;
  unsigned ssid = (unsigned)SMMU_IDR1_SSIDSIZE(s->idr[1]);
  if (ssid == 0)
    return "IDR1.SSIDSIZE=0 (no substreams)";
  if (!SMMU_IDR0_S1P(s->idr[0]))
    return "IDR0.S1P=0 (substreams select stage-1 contexts)";
  if (u->active && s->stage != 1)
    return "stage-2 domains in use (--smmu-stage=2 or IDR0.S1P=0): substreams select stage-1 CDs";
  *bits = ssid > 20 ? 20 : ssid;
  if (!SMMU_IDR0_CD2L(s->idr[0]) && *bits > SMMU_CD_LEAF_LOG2)
    *bits = SMMU_CD_LEAF_LOG2; /* a linear CD table of at most 64 CDs (driver's choice) */
  return NULL;
}

const char *smmu_pasid_domain_gap(const struct iommu_domain *dom)
{
  const struct smmu_domain *d = (const struct smmu_domain *)dom;
  if (d->stage != 1 || d->cdtab == NULL)
    return "a stage-2 domain: substreams select stage-1 contexts (CDs)";
  return NULL;
}

static int cmd_sync(struct smmu_unit *s, const uint64_t (*c)[2], unsigned n)
{
  return smmu_cmdq_submit(s, c, n);
}

/* Switches a valid stage-1 STE between the primary domain's own CD table and the stream's,
 * without a window where the stream faults: only S1ContextPtr, S1Fmt, S1CDMax (qword 0) and
 * S1DSS (qword 1) differ, and S1DSS is ignored while S1CDMax is 0, so qword 1 goes first when
 * substreams come on and last when they go off (each qword a single-copy-atomic store);
 * then CFGI_STE. Any other difference: the break-before-make of smmu_ste_write. */
static int ste_switch(struct smmu_unit *s, uint32_t sid, uint64_t *ste, const uint64_t val[SMMU_STE_DWORDS])
{
  bool on = (val[0] >> SMMU_STE0_S1CDMAX_SHIFT) & 0x1fu;
  if (!(ste[0] & SMMU_STE0_V) || memcmp(ste + 2, val + 2, (SMMU_STE_DWORDS - 2) * sizeof(uint64_t)) ||
      ((ste[1] ^ val[1]) & ~(3ull << SMMU_STE1_S1DSS_SHIFT)) ||
      ((ste[0] ^ val[0]) & ~(SMMU_STE0_S1CTXPTR_MASK | 0x1full << SMMU_STE0_S1CDMAX_SHIFT |
                             3ull << SMMU_STE0_S1FMT_SHIFT)))
    return smmu_ste_write(s, sid, ste, val);
  unsigned first = on ? 1 : 0;
  ste[first] = val[first];
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  ste[1 - first] = val[1 - first];
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  uint64_t c[2];
  smmu_cmd_cfgi_ste(c, sid, true);
  return cmd_sync(s, (const uint64_t(*)[2])&c, 1);
}

/* The STE for the primary domain with this stream's CD table. */
static void ste_with_table(const struct smmu_unit *s, const struct aux_stream *a,
                           const struct iommu_domain *primary, uint64_t ste[SMMU_STE_DWORDS])
{
  struct smmu_ste_s1_cfg c = {
    .cd_phys = a->table_phys, .s1fmt = a->two_level ? 1 : 0, .s1cdmax = a->bits,
    .s1dss = primary->type == IOMMU_DOMAIN_PASSTHROUGH ? SMMU_STE_S1DSS_BYPASS : SMMU_STE_S1DSS_SSID0,
    .coherent = s->coherent, .stalld = SMMU_IDR0_STALL_MODEL(s->idr[0]) == 0,
  };
  smmu_ste_s1(ste, &c);
}

static uint64_t *cd_ptr(struct smmu_unit *s, struct aux_stream *a, uint32_t ssid, bool create)
{
  if (!a->two_level)
    return a->table + (size_t)ssid * SMMU_CD_DWORDS;
  unsigned index = ssid >> SMMU_CD_LEAF_LOG2;
  struct cd_leaf *leaf = NULL;
  for (unsigned i = 0; leaf == NULL && i < a->n_leaves; i++)
    if (a->leaves[i].index == index)
      leaf = &a->leaves[i];
  if (leaf == NULL) {
    if (!create || a->n_leaves == SMMU_AUX_MAX_LEAVES)
      return NULL;
    leaf = &a->leaves[a->n_leaves];
    leaf->p = smmu_alloc_aligned(SMMU_CD_BYTES << SMMU_CD_LEAF_LOG2, &leaf->phys, &leaf->mem);
    if (leaf->p == NULL)
      return NULL;
    leaf->index = index;
    a->n_leaves++;
    smmu_sync_mem(s->coherent, leaf->p, SMMU_CD_BYTES << SMMU_CD_LEAF_LOG2);
    a->table[index] = smmu_l1cd_encode(leaf->phys);
    smmu_sync_mem(s->coherent, &a->table[index], 8);
  }
  return leaf->p + (size_t)(ssid & ((1u << SMMU_CD_LEAF_LOG2) - 1)) * SMMU_CD_DWORDS;
}

int smmu_pasid_enable(struct iommu_domain *primary, uint16_t rid, unsigned bits)
{
  struct smmu_unit *s = smmu(primary->unit);
  uint32_t sid;
  uint64_t *ste;
  int err = smmu_stream(primary->unit, rid, &sid, &ste);
  if (err)
    return err;
  if (find(s, sid))
    return IOMMU_EEXIST;
  if (n_streams == SMMU_AUX_MAX_STREAMS || bits == 0 || bits > 20)
    return bits ? IOMMU_ENOMEM : IOMMU_EINVAL;
  struct aux_stream *a = &streams[n_streams];
  memset(a, 0, sizeof(*a));
  a->unit = s;
  a->sid = sid;
  a->bits = bits;
  a->two_level = bits > SMMU_CD_LEAF_LOG2;
  size_t bytes = a->two_level ? (size_t)8 << (bits - SMMU_CD_LEAF_LOG2) : (size_t)SMMU_CD_BYTES << bits;
  a->table = smmu_alloc_aligned(bytes < 64 ? 64 : bytes, &a->table_phys, &a->mem);
  if (a->table == NULL)
    return IOMMU_ENOMEM;
  n_streams++;
  smmu_sync_mem(s->coherent, a->table, bytes);
  if (primary->type == IOMMU_DOMAIN_PAGING) {
    const struct smmu_domain *d = (const struct smmu_domain *)primary;
    uint64_t *cd0 = cd_ptr(s, a, 0, true);
    if (d->cdtab == NULL || cd0 == NULL) {
      release(a);
      return d->cdtab ? IOMMU_ENOMEM : IOMMU_EINVAL;
    }
    memcpy(cd0, d->cdtab, SMMU_CD_BYTES); /* substream 0: the primary domain's context */
    smmu_sync_mem(s->coherent, cd0, SMMU_CD_BYTES);
  }
  uint64_t val[SMMU_STE_DWORDS];
  ste_with_table(s, a, primary, val);
  err = ste_switch(s, sid, ste, val);
  if (err)
    release(a);
  return err;
}

int smmu_pasid_disable(struct iommu_domain *primary, uint16_t rid)
{
  struct smmu_unit *s = smmu(primary->unit);
  uint32_t sid;
  uint64_t *ste;
  int err;
  struct aux_stream *a = stream_of(primary->unit, rid, &sid, &ste, &err);
  if (a == NULL)
    return err;
  uint64_t val[SMMU_STE_DWORDS];
  smmu_domain_ste(s, (const struct smmu_domain *)primary, val);
  err = ste_switch(s, sid, ste, val);
  uint64_t c[2];
  smmu_cmd_cfgi_cd_all(c, sid); /* nothing of the old table may stay cached */
  int e2 = cmd_sync(s, (const uint64_t(*)[2])c, 1);
  release(a);
  return err ? err : e2;
}

int smmu_attach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  struct smmu_unit *s = smmu(dom->unit);
  const struct smmu_domain *d = (const struct smmu_domain *)dom;
  uint32_t sid;
  uint64_t *ste;
  int err;
  struct aux_stream *a = stream_of(dom->unit, rid, &sid, &ste, &err);
  if (a == NULL)
    return err;
  if (pasid == 0 || (pasid >> a->bits) != 0)
    return IOMMU_ERANGE;
  uint64_t *cd = cd_ptr(s, a, pasid, true);
  if (cd == NULL)
    return IOMMU_ENOMEM;
  if (cd[0] & SMMU_CD0_V)
    return IOMMU_EEXIST;
  memcpy(cd + 1, d->cdtab + 1, SMMU_CD_BYTES - 8);
  smmu_sync_mem(s->coherent, cd, SMMU_CD_BYTES);
  cd[0] = d->cdtab[0]; /* V last */
  smmu_sync_mem(s->coherent, cd, 8);
  uint64_t c[2];
  smmu_cmd_cfgi_cd(c, sid, pasid, false); /* also any cached level-1 descriptor */
  return cmd_sync(s, (const uint64_t(*)[2])c, 1);
}

int smmu_pasid_cd_clear(struct iommu_domain *dom, uint16_t rid, uint32_t ssid, uint32_t *sid)
{
  struct smmu_unit *s = smmu(dom->unit);
  uint64_t *ste;
  int err;
  struct aux_stream *a = stream_of(dom->unit, rid, sid, &ste, &err);
  uint64_t *cd = a ? cd_ptr(s, a, ssid, false) : NULL;
  if (cd == NULL || !(cd[0] & SMMU_CD0_V))
    return a ? IOMMU_ENOENT : err;
  cd[0] = 0; /* V first */
  smmu_sync_mem(s->coherent, cd, 8);
  memset(cd + 1, 0, SMMU_CD_BYTES - 8);
  smmu_sync_mem(s->coherent, cd, SMMU_CD_BYTES);
  return IOMMU_OK;
}

/* The TLB entries of the domain's ASID: the detached substream's among them. */
int smmu_pasid_tlbi(struct iommu_domain *dom)
{
  uint64_t c[2];
  smmu_cmd_tlbi_nh_asid(c, ((const struct smmu_domain *)dom)->asid, 0);
  return cmd_sync(smmu(dom->unit), (const uint64_t(*)[2])&c, 1);
}

int smmu_detach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid)
{
  uint32_t sid;
  int err = smmu_pasid_cd_clear(dom, rid, pasid, &sid);
  if (err)
    return err;
  uint64_t c[2];
  smmu_cmd_cfgi_cd(c, sid, pasid, true);
  err = cmd_sync(smmu(dom->unit), (const uint64_t(*)[2])&c, 1);
  return err ? err : smmu_pasid_tlbi(dom);
}
