/* Arm SMMUv3 driver: stream table (linear or 2-level), STEs (abort, bypass, stage 1 with a
 * CD table, stage 2), context descriptors, VMSAv8-64 tables, command and event queues.
 * Enable: save the entry state, tables and queues, CMDQEN, invalidate everything,
 * EVENTQEN, SMMUEN (each CR0 write acknowledged through CR0ACK with a timeout). Disable
 * puts every register back, frees every table, and reports what does not read back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/acpi.h"
#include "boot/mem.h"
#include "iommu/smmuv3/smmu_internal.h"

int smmuv3_strtab_choice = SMMU_STRTAB_AUTO;
int smmuv3_stage_choice = SMMU_STAGE_AUTO;
const struct iort_info *smmuv3_iort;

static struct smmu_unit *smmu(const struct iommu_unit *u) { return u->priv; }
static struct smmu_domain *sdom(struct iommu_domain *d) { return (struct smmu_domain *)d; }

/* ---- choices from the ID registers ---- */
static unsigned pick_stage(const struct smmu_unit *s)
{
  bool s1 = SMMU_IDR0_S1P(s->idr[0]), s2 = SMMU_IDR0_S2P(s->idr[0]);
  switch (smmuv3_stage_choice) {
  case SMMU_STAGE_1: return s1 ? 1 : 0;
  case SMMU_STAGE_2: return s2 ? 2 : 0;
  default: return s1 ? 1 : s2 ? 2 : 0;
  }
}

static unsigned pick_granule(const struct smmu_unit *s)
{
  if (SMMU_IDR5_GRAN4K(s->idr[5]))
    return 12;
  if (SMMU_IDR5_GRAN16K(s->idr[5]))
    return 14;
  return SMMU_IDR5_GRAN64K(s->idr[5]) ? 16 : 0;
}

static unsigned oas_bits(const struct smmu_unit *s)
{
  unsigned bits = smmu_oas_bits((unsigned)SMMU_IDR5_OAS(s->idr[5]));
  return bits > 48 ? 48 : bits; /* 52-bit output needs LPA descriptors: not built here */
}

/* Stage-2 input width: the output width, reduced until the starting level is encodable in
 * S2SL0 without concatenated tables. */
static unsigned s2_ias(unsigned granule, unsigned oas)
{
  unsigned ias = oas;
  while (ias > granule + 1 && smmu_s2sl0_encode(granule, 4 - smmu_pt_levels(granule, ias)) < 0)
    ias--;
  return ias;
}

static const char *smmu_feature_gap(const struct iommu_unit *u, enum iommu_feature f)
{
  const struct smmu_unit *s = smmu(u);
  static char buf[96];
  switch (f) {
  case IOMMU_FEAT_DMA:
    if (pick_stage(s) == 0) {
      if (smmuv3_stage_choice == SMMU_STAGE_2)
        return "IDR0.S2P=0 (stage 2 asked for by --smmu-stage=2)";
      if (smmuv3_stage_choice == SMMU_STAGE_1)
        return "IDR0.S1P=0 (stage 1 asked for by --smmu-stage=1)";
      return "IDR0.S1P=0 and IDR0.S2P=0";
    }
    if (!(SMMU_IDR0_TTF(s->idr[0]) & 2)) {
      snprintf(buf, sizeof(buf), "IDR0.TTF=%u (no AArch64 translation tables)",
               (unsigned)SMMU_IDR0_TTF(s->idr[0]));
      return buf;
    }
    if (pick_granule(s) == 0)
      return "IDR5.GRAN4K=GRAN16K=GRAN64K=0";
    if (!SMMU_IDR5_GRAN4K(s->idr[5]))
      return "IDR5.GRAN4K=0 (the DMA scenarios map 4 KiB pages)";
    if (SMMU_IDR0_STALL_MODEL(s->idr[0]) == 2)
      return "IDR0.STALL_MODEL=2 (stalls forced; the driver terminates faults)";
    if (SMMU_IDR1_TABLES_PRESET(s->idr[1]) || SMMU_IDR1_QUEUES_PRESET(s->idr[1]))
      return "IDR1.TABLES_PRESET/QUEUES_PRESET=1 (fixed tables or queues)";
    if (smmuv3_strtab_choice == SMMU_STRTAB_2LEVEL && SMMU_IDR0_ST_LEVEL(s->idr[0]) == 0)
      return "IDR0.ST_LEVEL=0 (2-level stream table asked for by --smmu-strtab=2level)";
    if (oas_bits(s) == 0)
      return "IDR5.OAS=7 (reserved)";
    return NULL;
  case IOMMU_FEAT_SUPERPAGE_2M:
  case IOMMU_FEAT_SUPERPAGE_1G:
    if (pick_granule(s) == 12)
      return NULL;
    snprintf(buf, sizeof(buf), "IDR5.GRAN4K=0 (%uK granule: no %s leaves)", (1u << pick_granule(s)) >> 10,
             f == IOMMU_FEAT_SUPERPAGE_2M ? "2M" : "1G");
    return buf;
  case IOMMU_FEAT_PASSTHROUGH: /* STE.Config = bypass is architectural */
  case IOMMU_FEAT_FAULT_RECORDS: /* the event queue */
  case IOMMU_FEAT_QUEUE:
    return NULL;
  }
  return "unknown feature";
}

/* ---- StreamIDs ---- */
static int rid_to_sid(const struct iommu_unit *u, uint16_t rid, uint32_t *sid)
{
  if (smmuv3_iort == NULL) {
    *sid = rid; /* no IORT handed to the driver: StreamID = RID (true on QEMU virt) */
    return IOMMU_OK;
  }
  int node = iort_rid_to_smmu(smmuv3_iort, u->segment, rid, sid);
  return node == (int)u->acpi_index ? IOMMU_OK : IOMMU_ENOENT;
}

/* StreamID bits this unit must cover: from the IORT mappings to it, else IDR1.SIDSIZE. */
static unsigned sid_bits_needed(const struct iommu_unit *u, const struct smmu_unit *s)
{
  unsigned sidsize = (unsigned)SMMU_IDR1_SIDSIZE(s->idr[1]);
  if (smmuv3_iort == NULL)
    return sidsize;
  uint64_t max = 0;
  for (unsigned i = 0; i < smmuv3_iort->n_nodes; i++) {
    const struct iort_node *n = &smmuv3_iort->nodes[i];
    for (unsigned m = 0; m < n->n_mappings; m++)
      if (n->map[m].output_node == (int)u->acpi_index) {
        uint64_t last = (uint64_t)n->map[m].output_base + n->map[m].num_ids;
        max = last > max ? last : max;
      }
  }
  unsigned bits = 1;
  while (bits < 32 && (max >> bits) != 0)
    bits++;
  return bits < sidsize ? bits : sidsize;
}

static bool pick_two_level(const struct smmu_unit *s, unsigned sid_bits)
{
  bool can = SMMU_IDR0_ST_LEVEL(s->idr[0]) == 1;
  if (smmuv3_strtab_choice == SMMU_STRTAB_2LEVEL)
    return can;
  if (smmuv3_strtab_choice == SMMU_STRTAB_LINEAR)
    return false;
  return can && sid_bits > SMMU_STRTAB_SPLIT; /* a linear table while it fits one level-2 table */
}

/* What enable will choose from the ID registers, one line per concern (discover.caps). */
void smmu_describe_driver(const struct iommu_unit *u, iommu_line_fn line, void *ctx)
{
  const struct smmu_unit *s = smmu(u);
  const uint32_t *idr = s->idr;
  char buf[200];
  const char *gap = smmu_feature_gap(u, IOMMU_FEAT_DMA);
  if (gap) {
    snprintf(buf, sizeof(buf), "=> driver: no DMA remapping (%s)", gap);
    line(ctx, buf);
    return;
  }
  unsigned stage = pick_stage(s), granule = pick_granule(s), oas = oas_bits(s);
  bool s1 = stage == 1;
  unsigned tag16 = s1 ? (unsigned)SMMU_IDR0_ASID16(idr[0]) : (unsigned)SMMU_IDR0_VMID16(idr[0]);
  snprintf(buf, sizeof(buf),
           "=> driver: stage %u tables (IDR0.S1P=%u S2P=%u), %uK granule (IDR5.GRAN4K|16K|64K=0x%x), "
           "%u-bit input, %u-bit output (IDR5.OAS=%u), %u-bit %s (IDR0.%s=%u)",
           stage, (unsigned)SMMU_IDR0_S1P(idr[0]), (unsigned)SMMU_IDR0_S2P(idr[0]), (1u << granule) >> 10,
           (unsigned)SMMU_IDR5_GRANULES(idr[5]) & 7u, s1 ? SMMU_IAS_BITS : s2_ias(granule, oas), oas,
           (unsigned)SMMU_IDR5_OAS(idr[5]), tag16 ? 16u : 8u, s1 ? "ASIDs" : "VMIDs",
           s1 ? "ASID16" : "VMID16", tag16);
  line(ctx, buf);
  unsigned need = sid_bits_needed(u, s), ssid = (unsigned)SMMU_IDR1_SSIDSIZE(idr[1]);
  snprintf(buf, sizeof(buf),
           "=> stream table: %s%s (IDR0.ST_LEVEL=%u) for %u StreamID bits (IDR1.SIDSIZE=%u%s); "
           "substreams: %s (IDR1.SSIDSIZE=%u, IDR0.CD2L=%u)",
           pick_two_level(s, need) ? "2-level, SPLIT 8" : "linear", smmuv3_strtab_choice ? " as asked" : "",
           (unsigned)SMMU_IDR0_ST_LEVEL(idr[0]), need, (unsigned)SMMU_IDR1_SIDSIZE(idr[1]),
           smmuv3_iort ? ", IORT mappings" : "",
           !s1 || ssid == 0 ? "none" : "CD table, untagged DMA via substream 0", ssid,
           (unsigned)SMMU_IDR0_CD2L(idr[0]));
  line(ctx, buf);
  unsigned cq = (unsigned)SMMU_IDR1_CMDQS(idr[1]), eq = (unsigned)SMMU_IDR1_EVENTQS(idr[1]);
  bool msi = SMMU_IDR0_MSI(idr[0]) && SMMU_IDR0_COHACC(idr[0]);
  snprintf(buf, sizeof(buf),
           "=> queues: command 2^%u (IDR1.CMDQS=%u), event 2^%u (IDR1.EVENTQS=%u); CMD_SYNC seen by %s "
           "(IDR0.MSI=%u COHACC=%u, SEV=%u unused); TLBI %s (IDR3.RIL=%u)",
           cq < SMMU_CMDQ_LOG2 ? cq : SMMU_CMDQ_LOG2, cq, eq < SMMU_EVTQ_LOG2 ? eq : SMMU_EVTQ_LOG2, eq,
           msi ? "MSI write to memory" : "CMDQ_CONS", (unsigned)SMMU_IDR0_MSI(idr[0]),
           (unsigned)SMMU_IDR0_COHACC(idr[0]), (unsigned)SMMU_IDR0_SEV(idr[0]),
           SMMU_IDR3_RIL(idr[3]) ? "range forms" : "one per granule", (unsigned)SMMU_IDR3_RIL(idr[3]));
  line(ctx, buf);
  snprintf(buf, sizeof(buf),
           "=> memory: %s (IDR0.COHACC=%u); HTTU (IDR0.HTTU=%u): dirty tracking; not used: "
           "stalls (IDR0.STALL_MODEL=%u), ATS/PRI; CR2.PTM=%u (IDR0.BTM=%u)",
           SMMU_IDR0_COHACC(idr[0]) ? "coherent walks, WB inner-shareable" : "non-coherent: NC, cache clean",
           (unsigned)SMMU_IDR0_COHACC(idr[0]), (unsigned)SMMU_IDR0_HTTU(idr[0]),
           (unsigned)SMMU_IDR0_STALL_MODEL(idr[0]), (unsigned)SMMU_IDR0_BTM(idr[0]),
           (unsigned)SMMU_IDR0_BTM(idr[0]));
  line(ctx, buf);
}

/* ---- memory ---- */
/* bytes of zeroed memory aligned to align (a power of two); mem records what to free. */
static void *alloc_aligned(size_t bytes, size_t align, uint64_t *phys, struct smmu_mem *mem)
{
  if (align < PAGE_SIZE)
    align = PAGE_SIZE;
  size_t want = (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
  size_t pages = want + align / PAGE_SIZE - 1;
  uint64_t p;
  uint8_t *v = page_alloc(pages, UINT64_MAX, &p);
  if (v == NULL)
    return NULL;
  uint64_t a = (p + align - 1) & ~(uint64_t)(align - 1);
  mem->alloc = v;
  mem->pages = pages;
  *phys = a;
  return v + (a - p);
}

static void free_mem(struct smmu_mem *m)
{
  if (m->alloc)
    page_free(m->alloc, m->pages);
  m->alloc = NULL;
}

static void free_tables(struct smmu_unit *s)
{
  for (unsigned i = 0; s->l2_mem && i < s->n_l1; i++)
    free_mem(&s->l2_mem[i]);
  free(s->l2_mem);
  s->l2_mem = NULL;
  free(s->l2);
  free(s->l2_phys);
  s->l2 = NULL;
  s->l2_phys = NULL;
  free_mem(&s->strtab_mem);
  free_mem(&s->cmdq_mem);
  free_mem(&s->evtq_mem);
  free_mem(&s->sync_mem);
  free_mem(&s->bad_mem);
  free_mem(&s->bad_l2_mem);
  s->strtab = s->cmdq = s->evtq = s->bad_strtab = s->bad_l2 = NULL;
  s->sync_word = NULL;
  s->injected_cd = NULL;
}

/* ---- stream table ---- */
static uint64_t *ste_ptr(struct smmu_unit *s, uint32_t sid, bool create, int *err)
{
  *err = IOMMU_OK;
  if (s->strtab == NULL) {
    *err = IOMMU_ENODEV;
    return NULL;
  }
  if (s->sid_log2 < 32 && (sid >> s->sid_log2) != 0) {
    *err = IOMMU_ERANGE;
    return NULL;
  }
  if (!s->two_level)
    return &s->strtab[(size_t)sid * SMMU_STE_DWORDS];
  unsigned l1 = sid >> s->split;
  if (s->l2[l1] == NULL) {
    if (!create) {
      *err = IOMMU_ENOENT;
      return NULL;
    }
    size_t bytes = (size_t)SMMU_STE_BYTES << s->split;
    uint64_t phys;
    uint64_t *t = alloc_aligned(bytes, bytes, &phys, &s->l2_mem[l1]);
    if (t == NULL) {
      *err = IOMMU_ENOMEM;
      return NULL;
    }
    smmu_sync_mem(s->coherent, t, bytes); /* every STE V=0 */
    s->l2[l1] = t;
    s->l2_phys[l1] = phys;
    s->strtab[l1] = smmu_l1std_encode(phys, s->split + 1);
    smmu_sync_mem(s->coherent, &s->strtab[l1], 8);
    /* 5.1.1: a new L1STD needs the non-leaf CFGI_STE of a StreamID it covers. */
    uint64_t c[2];
    smmu_cmd_cfgi_ste(c, sid, false);
    *err = smmu_cmd1(s, c);
    if (*err)
      return NULL;
  }
  return &s->l2[l1][(size_t)(sid & ((1u << s->split) - 1)) * SMMU_STE_DWORDS];
}

static int cfgi_ste(struct smmu_unit *s, uint32_t sid)
{
  uint64_t c[2];
  smmu_cmd_cfgi_ste(c, sid, true);
  return smmu_cmd1(s, c);
}

/* 3.21.3: an STE changes V=1 -> V=0 (invalidate) -> new words -> V=1 (invalidate), so the
 * SMMU never reads a mix of two configurations. */
static int ste_install(struct smmu_unit *s, uint32_t sid, uint64_t *ste, const uint64_t val[SMMU_STE_DWORDS])
{
  int err = IOMMU_OK;
  if (ste[0] & SMMU_STE0_V) {
    ste[0] = 0;
    smmu_sync_mem(s->coherent, ste, 8);
    err = cfgi_ste(s, sid);
    if (err)
      return err;
  }
  memcpy(ste + 1, val + 1, (SMMU_STE_DWORDS - 1) * sizeof(uint64_t));
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  ste[0] = val[0];
  smmu_sync_mem(s->coherent, ste, 8);
  return cfgi_ste(s, sid);
}

/* ---- enable / disable ---- */
static void save_entry(struct smmu_unit *s)
{
  uint64_t b = s->base;
  s->entry.cr0 = mmio_read32(b + SMMU_CR0);
  s->entry.cr1 = mmio_read32(b + SMMU_CR1);
  s->entry.cr2 = mmio_read32(b + SMMU_CR2);
  s->entry.gbpa = mmio_read32(b + SMMU_GBPA);
  s->entry.irq_ctrl = mmio_read32(b + SMMU_IRQ_CTRL);
  s->entry.strtab_base = mmio_read64(b + SMMU_STRTAB_BASE);
  s->entry.strtab_cfg = mmio_read32(b + SMMU_STRTAB_BASE_CFG);
  s->entry.cmdq_base = mmio_read64(b + SMMU_CMDQ_BASE);
  s->entry.cmdq_prod = mmio_read32(b + SMMU_CMDQ_PROD);
  s->entry.cmdq_cons = mmio_read32(b + SMMU_CMDQ_CONS);
  s->entry.evtq_base = mmio_read64(b + SMMU_EVENTQ_BASE);
  s->entry.evtq_prod = mmio_read32(b + SMMU_EVENTQ_PROD);
  s->entry.evtq_cons = mmio_read32(b + SMMU_EVENTQ_CONS);
  s->entry.gerror_active = smmu_gerror_active(s);
}

static int alloc_strtab(struct smmu_unit *s, unsigned need)
{
  if (s->two_level) {
    s->split = SMMU_STRTAB_SPLIT;
    s->sid_log2 = need < s->split ? s->split : need;
    if (s->sid_log2 > s->split + SMMU_L1_MAX_LOG2)
      s->sid_log2 = s->split + SMMU_L1_MAX_LOG2;
    s->n_l1 = 1u << (s->sid_log2 - s->split);
    size_t bytes = (size_t)s->n_l1 * 8;
    s->strtab = alloc_aligned(bytes, bytes < 64 ? 64 : bytes, &s->strtab_phys, &s->strtab_mem);
    s->l2 = calloc(s->n_l1, sizeof(*s->l2));
    s->l2_phys = calloc(s->n_l1, sizeof(*s->l2_phys));
    s->l2_mem = calloc(s->n_l1, sizeof(*s->l2_mem));
    if (!s->strtab || !s->l2 || !s->l2_phys || !s->l2_mem)
      return IOMMU_ENOMEM;
    smmu_sync_mem(s->coherent, s->strtab, bytes); /* every L1STD Span=0: no StreamID valid */
    s->strtab_cfg = SMMU_STRTAB_CFG_FMT_2LVL | SMMU_STRTAB_CFG_SPLIT(s->split) |
                    SMMU_STRTAB_CFG_LOG2SIZE(s->sid_log2);
  } else {
    s->sid_log2 = need < SMMU_LINEAR_MAX_LOG2 ? need : SMMU_LINEAR_MAX_LOG2;
    s->n_l1 = 0;
    size_t bytes = (size_t)SMMU_STE_BYTES << s->sid_log2;
    s->strtab = alloc_aligned(bytes, bytes, &s->strtab_phys, &s->strtab_mem);
    if (!s->strtab)
      return IOMMU_ENOMEM;
    smmu_sync_mem(s->coherent, s->strtab, bytes); /* every STE V=0 */
    s->strtab_cfg = SMMU_STRTAB_CFG_FMT_LINEAR | SMMU_STRTAB_CFG_LOG2SIZE(s->sid_log2);
  }
  return IOMMU_OK;
}

static void program_strtab(struct smmu_unit *s, uint64_t phys, uint32_t cfg)
{
  mmio_write64(s->base + SMMU_STRTAB_BASE, (phys & SMMU_STRTAB_BASE_ADDR_MASK) | SMMU_STRTAB_BASE_RA);
  mmio_write32(s->base + SMMU_STRTAB_BASE_CFG, cfg);
}

static int smmu_disable(struct iommu_unit *u, char *why, size_t len);

static int smmu_enable(struct iommu_unit *u)
{
  struct smmu_unit *s = smmu(u);
  if (s->enabled)
    return IOMMU_EBUSY; /* already ours: the saved entry state must not be overwritten */
  save_entry(s);
  if (s->entry.cr0 & SMMU_CR0_SMMUEN)
    return IOMMU_EBUSY; /* firmware translates with its own tables: do not take them away */
  if (smmu_feature_gap(u, IOMMU_FEAT_DMA))
    return IOMMU_EUNSUPPORTED;

  const uint32_t *idr = s->idr;
  s->coherent = SMMU_IDR0_COHACC(idr[0]);
  s->msi_sync = SMMU_IDR0_MSI(idr[0]) && s->coherent;
  s->stage = pick_stage(s);
  s->granule = pick_granule(s);
  s->oas = oas_bits(s);
  s->asid_bits = SMMU_IDR0_ASID16(idr[0]) ? 16 : 8;
  s->vmid_bits = SMMU_IDR0_VMID16(idr[0]) ? 16 : 8;
  unsigned ssid = (unsigned)SMMU_IDR1_SSIDSIZE(idr[1]);
  s->cd_log2 = s->stage == 1 ? (ssid < SMMU_CD_LINEAR_MAX_LOG2 ? ssid : SMMU_CD_LINEAR_MAX_LOG2) : 0;
  s->next_asid = 1;
  s->next_vmid = 1;
  s->cmdq_wraps = s->cmds_issued = s->cmd_errors = s->events_read = s->evtq_abt_seen = 0;
  s->evtq_abt_reported = false;
  unsigned need = sid_bits_needed(u, s);
  s->two_level = pick_two_level(s, need);
  unsigned cmdqs = (unsigned)SMMU_IDR1_CMDQS(idr[1]), eventqs = (unsigned)SMMU_IDR1_EVENTQS(idr[1]);
  s->cmdq_log2 = cmdqs < SMMU_CMDQ_LOG2 ? cmdqs : SMMU_CMDQ_LOG2;
  s->evtq_log2 = eventqs < SMMU_EVTQ_LOG2 ? eventqs : SMMU_EVTQ_LOG2;

  int err = alloc_strtab(s, need);
  size_t cmdq_bytes = (size_t)16 << s->cmdq_log2, evtq_bytes = (size_t)32 << s->evtq_log2;
  if (!err) {
    s->cmdq = alloc_aligned(cmdq_bytes, cmdq_bytes, &s->cmdq_phys, &s->cmdq_mem);
    s->evtq = alloc_aligned(evtq_bytes, evtq_bytes, &s->evtq_phys, &s->evtq_mem);
    s->sync_word = alloc_aligned(4, 64, &s->sync_phys, &s->sync_mem);
    if (!s->cmdq || !s->evtq || !s->sync_word)
      err = IOMMU_ENOMEM;
  }
  if (err) {
    free_tables(s);
    return err;
  }
  smmu_sync_mem(s->coherent, s->cmdq, cmdq_bytes);
  smmu_sync_mem(s->coherent, s->evtq, evtq_bytes);
  s->cmdq_prod = 0;
  s->sync_seq = 0;

  /* Queues of a previous owner off first (SMMUEN is 0 here). No interrupts: the driver polls. */
  uint64_t b = s->base;
  if (s->entry.cr0 & (SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_PRIQEN))
    err = smmu_write_cr0(s, 0);
  if (!err)
    err = smmu_write_irq_ctrl(s, 0);
  smmu_gerror_ack(s, SMMU_GERROR_MASK); /* stale errors would stop the new queues */
  uint32_t attr = s->coherent ? SMMU_CACHE_WB : SMMU_CACHE_NC, sh = s->coherent ? SMMU_SH_ISH : SMMU_SH_OSH;
  mmio_write32(b + SMMU_CR1, attr << SMMU_CR1_QUEUE_IC_SHIFT | attr << SMMU_CR1_QUEUE_OC_SHIFT |
                               sh << SMMU_CR1_QUEUE_SH_SHIFT | attr << SMMU_CR1_TABLE_IC_SHIFT |
                               attr << SMMU_CR1_TABLE_OC_SHIFT | sh << SMMU_CR1_TABLE_SH_SHIFT);
  /* Record invalid StreamIDs; private TLB maintenance (ASIDs are not shared with the PE). */
  mmio_write32(b + SMMU_CR2, SMMU_CR2_RECINVSID | (SMMU_IDR0_BTM(idr[0]) ? SMMU_CR2_PTM : 0));
  program_strtab(s, s->strtab_phys, s->strtab_cfg);
  mmio_write64(b + SMMU_CMDQ_BASE,
               (s->cmdq_phys & SMMU_Q_BASE_ADDR_MASK) | SMMU_Q_BASE_ALLOC_HINT | s->cmdq_log2);
  mmio_write32(b + SMMU_CMDQ_PROD, 0);
  mmio_write32(b + SMMU_CMDQ_CONS, 0);
  mmio_write64(b + SMMU_EVENTQ_BASE,
               (s->evtq_phys & SMMU_Q_BASE_ADDR_MASK) | SMMU_Q_BASE_ALLOC_HINT | s->evtq_log2);
  mmio_write32(b + SMMU_EVENTQ_PROD, 0);
  mmio_write32(b + SMMU_EVENTQ_CONS, 0);
  if (!err)
    err = smmu_write_cr0(s, SMMU_CR0_CMDQEN);
  if (!err) {
    uint64_t c[3][2];
    unsigned n = 0;
    smmu_cmd_cfgi_all(c[n++]);
    smmu_cmd_tlbi_nsnh_all(c[n++]);
    if (SMMU_IDR0_HYP(idr[0])) {
      c[n][0] = SMMU_CMD_TLBI_EL2_ALL;
      c[n++][1] = 0;
    }
    err = smmu_cmdq_submit(s, (const uint64_t(*)[2])c, n);
  }
  if (!err)
    err = smmu_write_cr0(s, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
  if (!err)
    err = smmu_write_cr0(s, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN);
  s->enabled = true;
  if (err) {
    char why[8];
    smmu_disable(u, why, sizeof(why));
    return err;
  }
  return IOMMU_OK;
}

static int smmu_disable(struct iommu_unit *u, char *why, size_t len)
{
  struct smmu_unit *s = smmu(u);
  uint64_t b = s->base;
  int err = IOMMU_OK;
  uint32_t cr0 = mmio_read32(b + SMMU_CR0);
  if (cr0 & SMMU_CR0_CMDQEN)
    smmu_cmdq_sync(s); /* quiesce: everything queued has completed */
  if (cr0 & SMMU_CR0_SMMUEN)
    err = smmu_write_cr0(s, cr0 & ~SMMU_CR0_SMMUEN);
  int e2 = smmu_write_cr0(s, 0);
  err = err ? err : e2;
  e2 = smmu_write_irq_ctrl(s, s->entry.irq_ctrl);
  err = err ? err : e2;
  mmio_write32(b + SMMU_CR1, s->entry.cr1);
  mmio_write32(b + SMMU_CR2, s->entry.cr2);
  mmio_write64(b + SMMU_STRTAB_BASE, s->entry.strtab_base);
  mmio_write32(b + SMMU_STRTAB_BASE_CFG, s->entry.strtab_cfg);
  mmio_write64(b + SMMU_CMDQ_BASE, s->entry.cmdq_base);
  mmio_write32(b + SMMU_CMDQ_PROD, s->entry.cmdq_prod);
  mmio_write32(b + SMMU_CMDQ_CONS, s->entry.cmdq_cons);
  mmio_write64(b + SMMU_EVENTQ_BASE, s->entry.evtq_base);
  mmio_write32(b + SMMU_EVENTQ_PROD, s->entry.evtq_prod);
  mmio_write32(b + SMMU_EVENTQ_CONS, s->entry.evtq_cons);
  if (mmio_read32(b + SMMU_GBPA) != s->entry.gbpa) {
    e2 = smmu_write_gbpa(s, s->entry.gbpa);
    err = err ? err : e2;
  }
  /* Errors this driver caused are acknowledged; the ones found at entry stay as they were. */
  smmu_gerror_ack(s, SMMU_GERROR_MASK & ~s->entry.gerror_active);
  if (s->entry.cr0) {
    e2 = smmu_write_cr0(s, s->entry.cr0);
    err = err ? err : e2;
  }
  unsigned events = s->events_read, cmds = s->cmds_issued, wraps = s->cmdq_wraps, abt = s->evtq_abt_seen;
  bool two_level = s->two_level;
  unsigned sid_log2 = s->sid_log2;
  free_tables(s);
  s->enabled = false;

  struct iommu_reg_check regs[] = {
    { "CR0", mmio_read32(b + SMMU_CR0), s->entry.cr0 },
    { "CR0ACK", mmio_read32(b + SMMU_CR0ACK) & 0x1dfu, s->entry.cr0 & 0x1dfu },
    { "CR1", mmio_read32(b + SMMU_CR1), s->entry.cr1 },
    { "CR2", mmio_read32(b + SMMU_CR2), s->entry.cr2 },
    { "GBPA", mmio_read32(b + SMMU_GBPA), s->entry.gbpa },
    { "IRQ_CTRL", mmio_read32(b + SMMU_IRQ_CTRL), s->entry.irq_ctrl },
    { "STRTAB_BASE", mmio_read64(b + SMMU_STRTAB_BASE), s->entry.strtab_base },
    { "STRTAB_BASE_CFG", mmio_read32(b + SMMU_STRTAB_BASE_CFG), s->entry.strtab_cfg },
    { "CMDQ_BASE", mmio_read64(b + SMMU_CMDQ_BASE), s->entry.cmdq_base },
    { "CMDQ_PROD", mmio_read32(b + SMMU_CMDQ_PROD), s->entry.cmdq_prod },
    { "CMDQ_CONS", mmio_read32(b + SMMU_CMDQ_CONS), s->entry.cmdq_cons },
    { "EVENTQ_BASE", mmio_read64(b + SMMU_EVENTQ_BASE), s->entry.evtq_base },
    { "EVENTQ_PROD", mmio_read32(b + SMMU_EVENTQ_PROD), s->entry.evtq_prod },
    { "EVENTQ_CONS", mmio_read32(b + SMMU_EVENTQ_CONS), s->entry.evtq_cons },
    { "GERROR^GERRORN", smmu_gerror_active(s), s->entry.gerror_active },
  };
  bool same = iommu_regs_restored(err, regs, sizeof(regs) / sizeof(regs[0]), why, len);
  if (same)
    snprintf(why, len, "CR0-2, GBPA, IRQ_CTRL, STRTAB_BASE(_CFG), CMDQ/EVENTQ BASE/PROD/CONS back to "
             "their entry values, no GERROR active; %s stream table (2^%u StreamIDs), %u commands "
             "(%u wraps), %u events, all tables freed%s", two_level ? "2-level" : "linear", sid_log2,
             cmds, wraps, events, abt ? "; event records were lost (EVENTQ_ABT_ERR)" : "");
  if (!same && !err)
    err = IOMMU_EBADREG;
  return err;
}

/* ---- domains ---- */
/* pt_flags: PT_F_* added to the table's options; PT_F_DIRTY_TRACK also gives the context
 * descriptor HA/HD (stage 1) or the STE S2HA/S2HD (stage 2, at attach). */
static int smmu_domain_alloc_pt(struct iommu_unit *u, enum iommu_domain_type type, unsigned pt_flags,
                                struct iommu_domain **out)
{
  struct smmu_unit *s = smmu(u);
  if (!s->enabled)
    return IOMMU_ENODEV;
  struct smmu_domain *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return IOMMU_ENOMEM;
  d->dom.unit = u;
  d->dom.type = type;
  d->dom.iova_bits = s->oas;
  d->dom.page_sizes = IOMMU_PAGE_4K;
  if (type == IOMMU_DOMAIN_PAGING) {
    d->stage = s->stage;
    unsigned ias = s->stage == 1 ? SMMU_IAS_BITS : s2_ias(s->granule, s->oas);
    if (s->stage == 1) {
      if (s->asid_bits < 16 && s->next_asid >= (1u << s->asid_bits)) {
        free(d);
        return IOMMU_ENOMEM;
      }
      d->asid = s->next_asid++;
    } else {
      if (s->vmid_bits < 16 && s->next_vmid >= (1u << s->vmid_bits)) {
        free(d);
        return IOMMU_ENOMEM;
      }
      d->vmid = s->next_vmid++;
    }
    struct pt_cfg cfg = {
      .fmt = s->stage == 1 ? &pt_fmt_arm_s1 : &pt_fmt_arm_s2, .granule_shift = s->granule,
      .ias = ias, .oas = s->oas, .flags = (s->coherent ? 0 : PT_F_NONCOHERENT | PT_F_ARM_NC) | pt_flags,
    };
    int err = pt_init(&d->dom.pt, &cfg);
    if (!err && d->dom.pt.levels > 4)
      err = IOMMU_EUNSUPPORTED; /* VMSAv8-64 walks start at level 0 at the earliest */
    if (!err && s->stage == 1) {
      /* CD table: 2^S1CDMax CDs (one without substreams), aligned to its size; CD 0 is
       * this domain's context (STE.S1DSS = substream 0 for untagged DMA). */
      d->cdtab = page_alloc(1, UINT64_MAX, &d->cdtab_phys);
      if (d->cdtab == NULL) {
        err = IOMMU_ENOMEM;
      } else {
        struct smmu_cd_cfg cd = {
          .ttb0 = d->dom.pt.root_phys, .t0sz = 64 - ias, .granule = s->granule,
          .ips = (unsigned)smmu_ps_encode(s->oas), .asid = d->asid, .coherent = s->coherent,
          .ha = (pt_flags & PT_F_DIRTY_TRACK) != 0, .hd = (pt_flags & PT_F_DIRTY_TRACK) != 0,
        };
        smmu_cd_encode(d->cdtab, &cd);
        smmu_sync_mem(s->coherent, d->cdtab, PAGE_SIZE);
      }
    }
    if (err) {
      pt_free(&d->dom.pt);
      free(d);
      return err;
    }
    d->dom.iova_bits = ias;
    d->dom.page_sizes = d->dom.pt.page_sizes;
  }
  *out = &d->dom;
  return IOMMU_OK;
}

static int smmu_domain_alloc(struct iommu_unit *u, enum iommu_domain_type type, struct iommu_domain **out)
{
  return smmu_domain_alloc_pt(u, type, 0, out);
}

/* ---- dirty tracking (3.13 HTTU) ---- */
/* Dirty state through DBM: IDR0.HTTU=2 (Access flag and dirty state), and table walks that
 * snoop (IDR0.COHACC) so the CPU reads the descriptors hardware updated. */
static const char *smmu_dirty_gap(const struct iommu_unit *u)
{
  const struct smmu_unit *s = smmu(u);
  switch (SMMU_IDR0_HTTU(s->idr[0])) {
  case 0: return "IDR0.HTTU=0";
  case 1: return "IDR0.HTTU=1 (Access flag only)";
  case 2: break;
  default: return "IDR0.HTTU=3 (reserved)";
  }
  return s->coherent ? NULL : "IDR0.COHACC=0 (hardware-updated descriptors need coherent walks)";
}

/* Writable leaves carry DBM and start writable-clean; CD.HD/STE.S2HD stay on for the
 * domain's life (without them a DBM leaf is read-only), so there is no switch. */
static int smmu_domain_alloc_dirty(struct iommu_unit *u, struct iommu_domain **out)
{
  return smmu_domain_alloc_pt(u, IOMMU_DOMAIN_PAGING, PT_F_DIRTY_TRACK, out);
}

static int flush_domain(struct smmu_unit *s, struct smmu_domain *d)
{
  uint64_t c[2];
  if (d->stage == 1)
    smmu_cmd_tlbi_nh_asid(c, d->asid, 0);
  else
    smmu_cmd_tlbi_s12_vmall(c, d->vmid);
  return smmu_cmd1(s, c);
}

static void smmu_domain_free(struct iommu_domain *dom)
{
  struct smmu_domain *d = sdom(dom);
  struct smmu_unit *s = smmu(dom->unit);
  if (dom->type == IOMMU_DOMAIN_PAGING) {
    if (s->enabled)
      flush_domain(s, d); /* no cached translation may outlive the tables */
    pt_free(&dom->pt);
    if (d->cdtab)
      page_free(d->cdtab, 1);
  }
  free(d);
}

/* TLBI by address: range forms when IDR3.RIL (TG = granule, NUM/SCALE), else one command per
 * granule; the whole ASID/VMID when that would take too many commands. */
static int smmu_flush(struct iommu_domain *dom, uint64_t iova, uint64_t size)
{
  struct smmu_unit *s = smmu(dom->unit);
  struct smmu_domain *d = sdom(dom);
  if (dom->type != IOMMU_DOMAIN_PAGING)
    return IOMMU_OK;
  uint64_t gran = 1ull << s->granule;
  if (size == 0)
    return flush_domain(s, d);
  uint64_t start = iova & ~(gran - 1), end = (iova + size + gran - 1) & ~(gran - 1);
  uint64_t pages = (end - start) >> s->granule;
  uint64_t c[16][2];
  unsigned n = 0;
  if (SMMU_IDR3_RIL(s->idr[3])) {
    struct smmu_tlbi_range r[16];
    unsigned nr = smmu_tlbi_ranges(start, pages, s->granule, r, 16);
    if (nr == 0)
      return flush_domain(s, d);
    unsigned tg = s->granule == 12 ? 1 : s->granule == 14 ? 2 : 3;
    for (unsigned i = 0; i < nr; i++) {
      /* NUM = SCALE = 0 with TTL = 0 is reserved: a single granule uses the non-range form. */
      bool single = r[i].num == 0 && r[i].scale == 0;
      if (d->stage == 1)
        smmu_cmd_tlbi_nh_va(c[n++], d->asid, 0, r[i].addr, true, single ? 0 : tg, r[i].num, r[i].scale, 0);
      else
        smmu_cmd_tlbi_s2_ipa(c[n++], d->vmid, r[i].addr, true, single ? 0 : tg, r[i].num, r[i].scale, 0);
    }
  } else {
    if (pages > 16)
      return flush_domain(s, d);
    for (uint64_t a = start; a < end; a += gran) {
      if (d->stage == 1)
        smmu_cmd_tlbi_nh_va(c[n++], d->asid, 0, a, true, 0, 0, 0, 0);
      else
        smmu_cmd_tlbi_s2_ipa(c[n++], d->vmid, a, true, 0, 0, 0, 0);
    }
  }
  /* Stage 2 alone caches no combined entries, so TLBI_S2_IPA suffices (4.4.3). */
  return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, n);
}

static void ste_for_domain(const struct smmu_unit *s, const struct smmu_domain *d,
                           uint64_t ste[SMMU_STE_DWORDS])
{
  if (d->dom.type == IOMMU_DOMAIN_PASSTHROUGH) {
    smmu_ste_bypass(ste);
  } else if (d->stage == 1) {
    struct smmu_ste_s1_cfg c = {
      .cd_phys = d->cdtab_phys, .s1fmt = 0, .s1cdmax = s->cd_log2, .s1dss = SMMU_STE_S1DSS_SSID0,
      .coherent = s->coherent, .stalld = SMMU_IDR0_STALL_MODEL(s->idr[0]) == 0,
    };
    smmu_ste_s1(ste, &c);
  } else {
    struct smmu_ste_s2_cfg c = {
      .vmid = d->vmid, .t0sz = 64 - d->dom.pt.cfg.ias,
      .sl0 = (unsigned)smmu_s2sl0_encode(d->dom.pt.cfg.granule_shift, 4 - d->dom.pt.levels),
      .tg = smmu_tg_encode(d->dom.pt.cfg.granule_shift), .ps = (unsigned)smmu_ps_encode(d->dom.pt.cfg.oas),
      .ttb = d->dom.pt.root_phys,
      .coherent = s->coherent, .ha = d->dom.dirty_enforced, .hd = d->dom.dirty_enforced,
    };
    smmu_ste_s2(ste, &c);
  }
}

static int smmu_attach(struct iommu_domain *dom, uint16_t rid)
{
  struct smmu_unit *s = smmu(dom->unit);
  uint32_t sid;
  int err = rid_to_sid(dom->unit, rid, &sid);
  if (err)
    return err;
  uint64_t *ste = ste_ptr(s, sid, true, &err);
  if (ste == NULL)
    return err;
  uint64_t val[SMMU_STE_DWORDS];
  ste_for_domain(s, sdom(dom), val);
  return ste_install(s, sid, ste, val);
}

static int smmu_detach(struct iommu_unit *u, uint16_t rid)
{
  struct smmu_unit *s = smmu(u);
  uint32_t sid;
  int err = rid_to_sid(u, rid, &sid);
  if (err)
    return err;
  uint64_t *ste = ste_ptr(s, sid, false, &err);
  if (ste == NULL || !(ste[0] & SMMU_STE0_V))
    return IOMMU_ENOENT;
  /* V=0 rather than Config=abort: an invalid STE records C_BAD_STE, an abort STE nothing. */
  ste[0] = 0;
  smmu_sync_mem(s->coherent, ste, 8);
  memset(ste + 1, 0, (SMMU_STE_DWORDS - 1) * sizeof(uint64_t));
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  return cfgi_ste(s, sid);
}

/* ---- events ---- */
static int smmu_drain_faults(struct iommu_unit *u, struct iommu_fault *out, unsigned max, unsigned *n,
                             bool *overflow)
{
  return smmu_evtq_drain(smmu(u), out, max, n, overflow);
}

static unsigned smmu_fault_slots(const struct iommu_unit *u)
{
  const struct smmu_unit *s = smmu(u);
  if (s->enabled)
    return 1u << s->evtq_log2;
  unsigned q = (unsigned)SMMU_IDR1_EVENTQS(s->idr[1]);
  return 1u << (q < SMMU_EVTQ_LOG2 ? q : SMMU_EVTQ_LOG2);
}

static int smmu_queue_wait(struct iommu_unit *u, char *why, size_t len)
{
  return smmu_queue_wait_test(smmu(u), why, len);
}

static int smmu_queue_error(struct iommu_unit *u, char *why, size_t len)
{
  return smmu_queue_error_test(smmu(u), why, len);
}

/* ---- deliberate breakage ---- */
/* Switching stream tables needs SMMUEN = 0 (STRTAB_BASE is guarded by it), then every
 * cached configuration and translation invalidated. */
static int switch_strtab(struct smmu_unit *s, uint64_t phys, uint32_t cfg)
{
  uint32_t cr0 = SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN;
  int err = smmu_write_cr0(s, cr0);
  if (err)
    return err;
  program_strtab(s, phys, cfg);
  uint64_t c[2][2];
  smmu_cmd_cfgi_all(c[0]);
  smmu_cmd_tlbi_nsnh_all(c[1]);
  err = smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 2);
  int e2 = smmu_write_cr0(s, cr0 | SMMU_CR0_SMMUEN);
  return err ? err : e2;
}

/* A stream table of memory this driver owns, filled with ones: in a linear table every STE
 * is V=1 with Config=0b111 and reserved fields set (ILLEGAL -> C_BAD_STE); a 2-level table
 * gets well-formed L1 descriptors that all lead to such an all-ones level-2 table (an
 * all-ones L1STD would have a reserved Span and point beyond memory). */
static int inject_bad_strtab(struct smmu_unit *s, uint32_t sid)
{
  unsigned log2 = 1;
  while (log2 < s->sid_log2 && (sid >> log2) != 0)
    log2++;
  uint32_t cfg;
  free_mem(&s->bad_mem); /* sized for this StreamID: a fresh one per injection */
  free_mem(&s->bad_l2_mem);
  s->bad_strtab = s->bad_l2 = NULL;
  if (!s->two_level) {
    size_t bytes = (size_t)SMMU_STE_BYTES << log2;
    s->bad_strtab = alloc_aligned(bytes, bytes, &s->bad_strtab_phys, &s->bad_mem);
    if (s->bad_strtab == NULL)
      return IOMMU_ENOMEM;
    memset(s->bad_strtab, 0xff, bytes);
    smmu_sync_mem(s->coherent, s->bad_strtab, bytes);
    cfg = SMMU_STRTAB_CFG_FMT_LINEAR | SMMU_STRTAB_CFG_LOG2SIZE(log2);
  } else {
    if (log2 < s->split)
      log2 = s->split;
    size_t l2_bytes = (size_t)SMMU_STE_BYTES << s->split;
    size_t n_l1 = (size_t)1 << (log2 - s->split), l1_bytes = n_l1 * 8;
    s->bad_l2 = alloc_aligned(l2_bytes, l2_bytes, &s->bad_l2_phys, &s->bad_l2_mem);
    s->bad_strtab = alloc_aligned(l1_bytes, l1_bytes < 64 ? 64 : l1_bytes, &s->bad_strtab_phys, &s->bad_mem);
    if (s->bad_l2 == NULL || s->bad_strtab == NULL)
      return IOMMU_ENOMEM;
    memset(s->bad_l2, 0xff, l2_bytes);
    smmu_sync_mem(s->coherent, s->bad_l2, l2_bytes);
    for (size_t i = 0; i < n_l1; i++)
      s->bad_strtab[i] = smmu_l1std_encode(s->bad_l2_phys, s->split + 1);
    smmu_sync_mem(s->coherent, s->bad_strtab, l1_bytes);
    cfg = SMMU_STRTAB_CFG_FMT_2LVL | SMMU_STRTAB_CFG_SPLIT(s->split) | SMMU_STRTAB_CFG_LOG2SIZE(log2);
  }
  return switch_strtab(s, s->bad_strtab_phys, cfg);
}

/* A malformed CD for a stage-1 stream (ILLEGAL -> C_BAD_CD): AArch32 format where IDR0.TTF
 * has none, else HA without HTTU, else T0SZ out of range. Other streams get a malformed STE. */
static int inject_bad_context(struct smmu_unit *s, uint32_t sid)
{
  int err;
  uint64_t *ste = ste_ptr(s, sid, false, &err);
  if (ste == NULL || !(ste[0] & SMMU_STE0_V))
    return IOMMU_ENOENT;
  unsigned config = (unsigned)((ste[0] >> SMMU_STE0_CONFIG_SHIFT) & 7);
  uint64_t c[3][2];
  if (config == SMMU_STE_CONFIG_S1) {
    uint64_t *cd = phys_to_virt(ste[0] & SMMU_STE0_S1CTXPTR_MASK);
    memcpy(s->saved_cd, cd, SMMU_CD_BYTES);
    s->injected_cd = cd;
    if (!(SMMU_IDR0_TTF(s->idr[0]) & 1))
      cd[0] &= ~SMMU_CD0_AA64;
    else if (SMMU_IDR0_HTTU(s->idr[0]) == 0)
      cd[0] |= SMMU_CD0_HA;
    else
      cd[0] |= 0x3full << SMMU_CD0_T0SZ_SHIFT;
    smmu_sync_mem(s->coherent, cd, SMMU_CD_BYTES);
    uint16_t asid = (uint16_t)(s->saved_cd[0] >> SMMU_CD0_ASID_SHIFT);
    smmu_cmd_cfgi_cd(c[0], sid, 0, true);
    smmu_cmd_cfgi_ste(c[1], sid, true);
    smmu_cmd_tlbi_nh_asid(c[2], asid, 0);
    return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 3);
  }
  /* Bypass or stage 2: Config 0b111 where a stage is missing, else S2T0SZ out of range. */
  memcpy(s->saved_cd, ste, SMMU_STE_BYTES);
  s->injected_cd = NULL;
  if (!SMMU_IDR0_S1P(s->idr[0]) || !SMMU_IDR0_S2P(s->idr[0]))
    ste[0] |= (uint64_t)SMMU_STE_CONFIG_NESTED << SMMU_STE0_CONFIG_SHIFT;
  else
    ste[2] &= ~(0x3full << SMMU_STE2_S2T0SZ_SHIFT);
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  smmu_cmd_cfgi_ste(c[0], sid, true);
  smmu_cmd_tlbi_nsnh_all(c[1]);
  return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 2);
}

static int smmu_inject(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct smmu_unit *s = smmu(u);
  uint32_t sid;
  int err = rid_to_sid(u, rid, &sid);
  if (err)
    return err;
  if (what == IOMMU_INJECT_BAD_CONTEXT)
    return inject_bad_context(s, sid);
  return inject_bad_strtab(s, sid);
}

static int smmu_inject_revert(struct iommu_unit *u, enum iommu_inject what, uint16_t rid)
{
  struct smmu_unit *s = smmu(u);
  uint32_t sid;
  int err = rid_to_sid(u, rid, &sid);
  if (err)
    return err;
  if (what == IOMMU_INJECT_BAD_ROOT_POINTER)
    return switch_strtab(s, s->strtab_phys, s->strtab_cfg);
  uint64_t c[3][2];
  if (s->injected_cd) {
    memcpy(s->injected_cd, s->saved_cd, SMMU_CD_BYTES);
    smmu_sync_mem(s->coherent, s->injected_cd, SMMU_CD_BYTES);
    s->injected_cd = NULL;
    smmu_cmd_cfgi_cd(c[0], sid, 0, true);
    smmu_cmd_cfgi_ste(c[1], sid, true);
    smmu_cmd_tlbi_nh_asid(c[2], (uint16_t)(s->saved_cd[0] >> SMMU_CD0_ASID_SHIFT), 0);
    return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 3);
  }
  uint64_t *ste = ste_ptr(s, sid, false, &err);
  if (ste == NULL)
    return err;
  memcpy(ste, s->saved_cd, SMMU_STE_BYTES);
  smmu_sync_mem(s->coherent, ste, SMMU_STE_BYTES);
  smmu_cmd_cfgi_ste(c[0], sid, true);
  smmu_cmd_tlbi_nsnh_all(c[1]);
  return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 2);
}

const struct iommu_ops smmuv3_ops = {
  .name = "smmuv3",
  .probe = smmu_probe,
  .describe_caps = smmu_describe,
  .check_caps = smmu_check,
  .feature_gap = smmu_feature_gap,
  .enable = smmu_enable,
  .disable = smmu_disable,
  .domain_alloc = smmu_domain_alloc,
  .domain_free = smmu_domain_free,
  .flush = smmu_flush,
  .attach = smmu_attach,
  .detach = smmu_detach,
  .drain_faults = smmu_drain_faults,
  .queue_wait = smmu_queue_wait,
  .queue_error = smmu_queue_error,
  .fault_slots = smmu_fault_slots,
  .inject = smmu_inject,
  .inject_revert = smmu_inject_revert,
  .dirty_gap = smmu_dirty_gap,
  .domain_alloc_dirty = smmu_domain_alloc_dirty,
};
