/* SMMUv3 in-memory formats: STE (5.2), L1STD (5.1), CD (5.4), L1CD (5.3), VMSAv8-64
 * descriptors (Arm ARM D8.3), commands (chapter 4), event records (7.3). Pure functions:
 * the host tests check every field position, including encodings QEMU 7.2 cannot run
 * (substreams, stage 2, HTTU). */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "iommu/smmuv3/smmu_internal.h"

/* ---- stream table ---- */
void smmu_ste_abort(uint64_t ste[SMMU_STE_DWORDS])
{
  memset(ste, 0, SMMU_STE_BYTES);
  ste[0] = SMMU_STE0_V | (uint64_t)SMMU_STE_CONFIG_ABORT << SMMU_STE0_CONFIG_SHIFT;
}

void smmu_ste_bypass(uint64_t ste[SMMU_STE_DWORDS])
{
  memset(ste, 0, SMMU_STE_BYTES);
  ste[0] = SMMU_STE0_V | (uint64_t)SMMU_STE_CONFIG_BYPASS << SMMU_STE0_CONFIG_SHIFT;
  /* Every other override field 0 = use the incoming attribute; SHCFG 0 would force
   * Non-shareable, so it says "incoming" explicitly. */
  ste[1] = SMMU_STE_SHCFG_INCOMING << SMMU_STE1_SHCFG_SHIFT;
}

void smmu_ste_s1(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_ste_s1_cfg *c)
{
  memset(ste, 0, SMMU_STE_BYTES);
  ste[0] = SMMU_STE0_V | (uint64_t)SMMU_STE_CONFIG_S1 << SMMU_STE0_CONFIG_SHIFT |
           (c->s1cdmax ? (uint64_t)(c->s1fmt & 3u) << SMMU_STE0_S1FMT_SHIFT : 0) |
           (c->cd_phys & SMMU_STE0_S1CTXPTR_MASK) | (uint64_t)(c->s1cdmax & 0x1fu) << SMMU_STE0_S1CDMAX_SHIFT;
  uint64_t cache = c->coherent ? SMMU_CACHE_WB : SMMU_CACHE_NC;
  uint64_t sh = c->coherent ? SMMU_SH_ISH : SMMU_SH_OSH;
  ste[1] = (c->s1cdmax ? (uint64_t)(c->s1dss & 3u) << SMMU_STE1_S1DSS_SHIFT : 0) |
           cache << SMMU_STE1_S1CIR_SHIFT | cache << SMMU_STE1_S1COR_SHIFT | sh << SMMU_STE1_S1CSH_SHIFT |
           (c->stalld ? SMMU_STE1_S1STALLD : 0);
  /* EATS 0 (no ATS), STRW 0 (NS-EL1: ASID-tagged), S2 fields unused (stage 2 bypass). */
}

void smmu_ste_s2(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_ste_s2_cfg *c)
{
  memset(ste, 0, SMMU_STE_BYTES);
  ste[0] = SMMU_STE0_V | (uint64_t)SMMU_STE_CONFIG_S2 << SMMU_STE0_CONFIG_SHIFT;
  ste[1] = SMMU_STE_SHCFG_INCOMING << SMMU_STE1_SHCFG_SHIFT;
  uint64_t cache = c->coherent ? SMMU_CACHE_WB : SMMU_CACHE_NC;
  uint64_t sh = c->coherent ? SMMU_SH_ISH : SMMU_SH_OSH;
  ste[2] = (uint64_t)c->vmid | (uint64_t)(c->t0sz & 0x3fu) << SMMU_STE2_S2T0SZ_SHIFT |
           (uint64_t)(c->sl0 & 3u) << SMMU_STE2_S2SL0_SHIFT | cache << SMMU_STE2_S2IR0_SHIFT |
           cache << SMMU_STE2_S2OR0_SHIFT | sh << SMMU_STE2_S2SH0_SHIFT |
           (uint64_t)(c->tg & 3u) << SMMU_STE2_S2TG_SHIFT | (uint64_t)(c->ps & 7u) << SMMU_STE2_S2PS_SHIFT |
           SMMU_STE2_S2AA64 | SMMU_STE2_S2R | (c->ha ? SMMU_STE2_S2HA : 0) | (c->hd ? SMMU_STE2_S2HD : 0);
  ste[3] = c->ttb & SMMU_STE3_S2TTB_MASK;
}

uint64_t smmu_l1std_encode(uint64_t l2_phys, unsigned span)
{
  return (l2_phys & SMMU_L1STD_L2PTR_MASK) | (span & SMMU_L1STD_SPAN_MASK);
}

uint64_t smmu_l1cd_encode(uint64_t l2_phys) { return (l2_phys & SMMU_L1CD_L2PTR_MASK) | SMMU_L1CD_V; }

/* ---- context descriptor ---- */
void smmu_cd_encode(uint64_t cd[SMMU_CD_DWORDS], const struct smmu_cd_cfg *c)
{
  memset(cd, 0, SMMU_CD_BYTES);
  uint64_t cache = c->coherent ? SMMU_CACHE_WB : SMMU_CACHE_NC;
  uint64_t sh = c->coherent ? SMMU_SH_ISH : SMMU_SH_OSH;
  /* TTB1 is not used: EPD1 = 1, so T1SZ/TG1 are ignored. A = 1 (terminated transactions
   * abort), R = 1 (record faults), S = 0 (never stall), ASET = 1 (not shared with a PE
   * address space: no broadcast invalidation needed). */
  cd[0] = (uint64_t)(c->t0sz & 0x3fu) << SMMU_CD0_T0SZ_SHIFT |
          (uint64_t)smmu_tg_encode(c->granule) << SMMU_CD0_TG0_SHIFT | cache << SMMU_CD0_IR0_SHIFT |
          cache << SMMU_CD0_OR0_SHIFT | sh << SMMU_CD0_SH0_SHIFT | SMMU_CD0_EPD1 | SMMU_CD0_V |
          (uint64_t)(c->ips & 7u) << SMMU_CD0_IPS_SHIFT | SMMU_CD0_AA64 | (c->hd ? SMMU_CD0_HD : 0) |
          (c->ha ? SMMU_CD0_HA : 0) | SMMU_CD0_R | SMMU_CD0_A | SMMU_CD0_ASET |
          (uint64_t)c->asid << SMMU_CD0_ASID_SHIFT;
  cd[1] = c->ttb0 & SMMU_CD1_TTB0_MASK;
  cd[3] = SMMU_MAIR_VALUE;
}

unsigned smmu_tg_encode(unsigned granule)
{
  switch (granule) {
  case 14: return SMMU_TG_16K;
  case 16: return SMMU_TG_64K;
  default: return SMMU_TG_4K;
  }
}

int smmu_ps_encode(unsigned bits)
{
  static const unsigned sizes[] = { 32, 36, 40, 42, 44, 48, 52 };
  for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    if (sizes[i] == bits)
      return (int)i;
  return -1;
}

unsigned smmu_oas_bits(unsigned code)
{
  static const unsigned bits[8] = { 32, 36, 40, 42, 44, 48, 52, 0 };
  return bits[code & 7u];
}

int smmu_s2sl0_encode(unsigned granule, unsigned start_level)
{
  if (granule == 12)
    return start_level <= 2 ? (int)(2 - start_level) : -1; /* 0: level 2 ... 2: level 0 */
  if (start_level >= 1 && start_level <= 3)
    return (int)(3 - start_level);                          /* 16K/64K: 0: level 3 ... 2: level 1 */
  return -1;
}

unsigned smmu_pt_levels(unsigned granule, unsigned ias)
{
  unsigned stride = granule - 3;
  return (ias - granule + stride - 1) / stride;
}

void smmu_sync_mem(bool coherent, const void *p, size_t len)
{
  if (!coherent)
    arch_cache_flush(p, len);
  else
    arch_mb();
}

/* ---- commands ---- */
void smmu_cmd_cfgi_ste(uint64_t c[2], uint32_t sid, bool leaf)
{
  c[0] = SMMU_CMD_CFGI_STE | (uint64_t)sid << 32;
  c[1] = leaf ? 1 : 0;
}

void smmu_cmd_cfgi_ste_range(uint64_t c[2], uint32_t sid, unsigned range)
{
  c[0] = SMMU_CMD_CFGI_STE_RANGE | (uint64_t)sid << 32;
  c[1] = range & 0x1fu;
}

void smmu_cmd_cfgi_all(uint64_t c[2]) { smmu_cmd_cfgi_ste_range(c, 0, 31); }

void smmu_cmd_cfgi_cd(uint64_t c[2], uint32_t sid, uint32_t ssid, bool leaf)
{
  c[0] = SMMU_CMD_CFGI_CD | (uint64_t)(ssid & 0xfffffu) << 12 | (uint64_t)sid << 32;
  c[1] = leaf ? 1 : 0;
}

void smmu_cmd_cfgi_cd_all(uint64_t c[2], uint32_t sid)
{
  c[0] = SMMU_CMD_CFGI_CD_ALL | (uint64_t)sid << 32;
  c[1] = 0;
}

void smmu_cmd_tlbi_nh_asid(uint64_t c[2], uint16_t asid, uint16_t vmid)
{
  c[0] = SMMU_CMD_TLBI_NH_ASID | (uint64_t)vmid << 32 | (uint64_t)asid << 48;
  c[1] = 0;
}

static uint64_t tlbi_word1(uint64_t addr_mask, uint64_t addr, bool leaf, unsigned tg, unsigned ttl)
{
  return (addr & addr_mask) | (leaf ? 1ull : 0) | (uint64_t)(ttl & 3u) << 8 | (uint64_t)(tg & 3u) << 10;
}

void smmu_cmd_tlbi_nh_va(uint64_t c[2], uint16_t asid, uint16_t vmid, uint64_t va, bool leaf,
                         unsigned tg, unsigned num, unsigned scale, unsigned ttl)
{
  c[0] = SMMU_CMD_TLBI_NH_VA | (uint64_t)(num & 0x1fu) << 12 | (uint64_t)(scale & 0x1fu) << 20 |
         (uint64_t)vmid << 32 | (uint64_t)asid << 48;
  c[1] = tlbi_word1(~0xfffull, va, leaf, tg, ttl);
}

void smmu_cmd_tlbi_s2_ipa(uint64_t c[2], uint16_t vmid, uint64_t ipa, bool leaf, unsigned tg,
                          unsigned num, unsigned scale, unsigned ttl)
{
  c[0] = SMMU_CMD_TLBI_S2_IPA | (uint64_t)(num & 0x1fu) << 12 | (uint64_t)(scale & 0x1fu) << 20 |
         (uint64_t)vmid << 32;
  c[1] = tlbi_word1(0x00fffffffffff000ull, ipa, leaf, tg, ttl);
}

void smmu_cmd_tlbi_s12_vmall(uint64_t c[2], uint16_t vmid)
{
  c[0] = SMMU_CMD_TLBI_S12_VMALL | (uint64_t)vmid << 32;
  c[1] = 0;
}

void smmu_cmd_tlbi_nsnh_all(uint64_t c[2])
{
  c[0] = SMMU_CMD_TLBI_NSNH_ALL;
  c[1] = 0;
}

void smmu_cmd_sync(uint64_t c[2], unsigned cs, uint32_t msi_data, uint64_t msi_addr, unsigned msh,
                   unsigned msi_attr)
{
  c[0] = SMMU_CMD_SYNC | (uint64_t)(cs & 3u) << 12 | (uint64_t)(msh & 3u) << 22 |
         (uint64_t)(msi_attr & 0xfu) << 24 | (uint64_t)msi_data << 32;
  c[1] = msi_addr & 0x00fffffffffffffcull; /* MSIAddress [55:2] */
}

void smmu_cmd_reserved(uint64_t c[2])
{
  c[0] = SMMU_CMD_RESERVED;
  c[1] = 0;
}

unsigned smmu_tlbi_ranges(uint64_t iova, uint64_t pages, unsigned granule,
                          struct smmu_tlbi_range *out, unsigned max)
{
  unsigned n = 0;
  while (pages) {
    if (n == max)
      return 0;
    unsigned scale = (unsigned)__builtin_ctzll(pages);
    if (scale > SMMU_CMD_TLBI_SCALE_MAX)
      return 0;
    /* (pages >> scale) is odd; its low 5 bits give a chunk of 1..31 units of 2^scale. */
    uint64_t units = (pages >> scale) & SMMU_CMD_TLBI_NUM_MAX;
    out[n].addr = iova;
    out[n].scale = scale;
    out[n].num = (unsigned)units - 1;
    n++;
    uint64_t covered = units << scale;
    pages -= covered;
    iova += covered << granule;
  }
  return n;
}

/* ---- event records ---- */
void smmu_event_decode(const uint64_t rec[4], struct smmu_event *e)
{
  memset(e, 0, sizeof(*e));
  e->type = (unsigned)(rec[0] & 0xff);
  e->ssv = (rec[0] >> 11) & 1;
  e->ssid = (uint32_t)((rec[0] >> 12) & 0xfffff);
  e->sid = (uint32_t)(rec[0] >> 32);
  switch (e->type) {
  case SMMU_EVT_F_UUT:
  case SMMU_EVT_F_BAD_ATS_TREQ:
  case SMMU_EVT_F_TRANSL_FORBIDDEN:
  case SMMU_EVT_F_WALK_EABT:
  case SMMU_EVT_F_TRANSLATION:
  case SMMU_EVT_F_ADDR_SIZE:
  case SMMU_EVT_F_ACCESS:
  case SMMU_EVT_F_PERMISSION:
  case SMMU_EVT_F_TLB_CONFLICT:
    e->has_addr = true;
    e->stall = (rec[1] >> 31) & 1;
    e->pnu = (rec[1] >> 33) & 1;
    e->ind = (rec[1] >> 34) & 1;
    e->rnw = (rec[1] >> 35) & 1;
    e->s2 = (rec[1] >> 39) & 1;
    e->cls = (unsigned)((rec[1] >> 40) & 3);
    e->addr = rec[2];
    break;
  default:
    break;
  }
  switch (e->type) {
  case SMMU_EVT_F_STE_FETCH:
  case SMMU_EVT_F_CD_FETCH:
  case SMMU_EVT_F_WALK_EABT:
  case SMMU_EVT_F_VMS_FETCH:
    e->has_fetch = true;
    e->fetch_addr = rec[3] & 0x00fffffffffffff8ull; /* FetchAddr [55:3] */
    break;
  case SMMU_EVT_F_TRANSLATION:
  case SMMU_EVT_F_ADDR_SIZE:
  case SMMU_EVT_F_ACCESS:
  case SMMU_EVT_F_PERMISSION:
    e->fetch_addr = e->s2 ? rec[3] & 0x00fffffffffff000ull : 0; /* IPA [55:12], stage 2 only */
    break;
  default:
    break;
  }
}

const char *smmu_event_name(unsigned type)
{
  switch (type) {
  case SMMU_EVT_F_UUT: return "F_UUT";
  case SMMU_EVT_C_BAD_STREAMID: return "C_BAD_STREAMID";
  case SMMU_EVT_F_STE_FETCH: return "F_STE_FETCH";
  case SMMU_EVT_C_BAD_STE: return "C_BAD_STE";
  case SMMU_EVT_F_BAD_ATS_TREQ: return "F_BAD_ATS_TREQ";
  case SMMU_EVT_F_STREAM_DISABLED: return "F_STREAM_DISABLED";
  case SMMU_EVT_F_TRANSL_FORBIDDEN: return "F_TRANSL_FORBIDDEN";
  case SMMU_EVT_C_BAD_SUBSTREAMID: return "C_BAD_SUBSTREAMID";
  case SMMU_EVT_F_CD_FETCH: return "F_CD_FETCH";
  case SMMU_EVT_C_BAD_CD: return "C_BAD_CD";
  case SMMU_EVT_F_WALK_EABT: return "F_WALK_EABT";
  case SMMU_EVT_F_TRANSLATION: return "F_TRANSLATION";
  case SMMU_EVT_F_ADDR_SIZE: return "F_ADDR_SIZE";
  case SMMU_EVT_F_ACCESS: return "F_ACCESS";
  case SMMU_EVT_F_PERMISSION: return "F_PERMISSION";
  case SMMU_EVT_F_TLB_CONFLICT: return "F_TLB_CONFLICT";
  case SMMU_EVT_F_CFG_CONFLICT: return "F_CFG_CONFLICT";
  case SMMU_EVT_E_PAGE_REQUEST: return "E_PAGE_REQUEST";
  case SMMU_EVT_F_VMS_FETCH: return "F_VMS_FETCH";
  default: return "event type not decoded";
  }
}

enum iommu_fault_kind smmu_event_kind(const struct smmu_event *e)
{
  switch (e->type) {
  case SMMU_EVT_F_TRANSLATION: return IOMMU_FAULT_TRANSLATION;
  case SMMU_EVT_F_ADDR_SIZE: return IOMMU_FAULT_ADDR_SIZE;
  case SMMU_EVT_F_PERMISSION: return e->rnw ? IOMMU_FAULT_PERM_READ : IOMMU_FAULT_PERM_WRITE;
  /* 7.3.5: C_BAD_STE is both "V == 0" and "ILLEGAL configuration"; the record does not say
   * which (alt_kind carries the other). */
  case SMMU_EVT_C_BAD_STE: return IOMMU_FAULT_NO_CONTEXT;
  case SMMU_EVT_C_BAD_STREAMID:
  case SMMU_EVT_F_STREAM_DISABLED: return IOMMU_FAULT_NO_CONTEXT;
  case SMMU_EVT_C_BAD_CD:
  case SMMU_EVT_C_BAD_SUBSTREAMID: return IOMMU_FAULT_BAD_ENTRY;
  case SMMU_EVT_F_STE_FETCH:
  case SMMU_EVT_F_CD_FETCH:
  case SMMU_EVT_F_WALK_EABT:
  case SMMU_EVT_F_VMS_FETCH: return IOMMU_FAULT_TABLE_ACCESS;
  default: return IOMMU_FAULT_OTHER;
  }
}

void smmu_event_to_fault(const struct smmu_event *e, struct iommu_fault *f)
{
  static const char *const cls[4] = { "CD", "TT", "IN", "?" };
  memset(f, 0, sizeof(*f));
  f->kind = smmu_event_kind(e);
  f->alt_kind = e->type == SMMU_EVT_C_BAD_STE ? IOMMU_FAULT_BAD_ENTRY : IOMMU_FAULT_OTHER;
  f->reason = e->type;
  f->stream_id = e->sid;
  f->source_id = (uint16_t)e->sid;
  f->pasid_present = e->ssv;
  f->pasid = e->ssid;
  f->no_addr = !e->has_addr;
  if (e->has_addr) {
    f->addr = e->addr;
    f->is_write = !e->rnw;
    snprintf(f->reason_name, sizeof(f->reason_name), "%s, stage %u, class %s", smmu_event_name(e->type),
             e->s2 ? 2u : 1u, cls[e->cls & 3]);
  } else if (e->type == SMMU_EVT_C_BAD_STE) {
    snprintf(f->reason_name, sizeof(f->reason_name), "C_BAD_STE (STE.V=0 or ILLEGAL STE)");
  } else if (e->has_fetch) {
    snprintf(f->reason_name, sizeof(f->reason_name), "%s at 0x%llx", smmu_event_name(e->type),
             (unsigned long long)e->fetch_addr);
  } else {
    snprintf(f->reason_name, sizeof(f->reason_name), "%s", smmu_event_name(e->type));
  }
}

const char *smmu_cerror_name(unsigned err)
{
  switch (err) {
  case SMMU_CERROR_NONE: return "CERROR_NONE";
  case SMMU_CERROR_ILL: return "CERROR_ILL";
  case SMMU_CERROR_ABT: return "CERROR_ABT";
  case SMMU_CERROR_ATC_INV_SYNC: return "CERROR_ATC_INV_SYNC";
  default: return "CERROR_?";
  }
}
