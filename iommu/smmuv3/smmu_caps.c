/* SMMUv3 probe and ID register decode. Reads IDR0-5, IIDR, AIDR; writes nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "iommu/smmuv3/smmu_internal.h"

static void m_ttf(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "reserved", "AArch32", "AArch64", "AArch32+AArch64" };
  snprintf(b, n, "%s", s[v & 3]);
}
static void m_httu(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "none", "Access flag", "Access+Dirty", "reserved" };
  snprintf(b, n, "%s", s[v & 3]);
}
static void m_stall(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "stall+terminate", "terminate only", "stall forced", "reserved" };
  snprintf(b, n, "%s", s[v & 3]);
}
static void m_stlevel(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "linear only", "linear + 2-level", "reserved", "reserved" };
  snprintf(b, n, "%s", s[v & 3]);
}
static void m_endian(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "mixed", "reserved", "little", "big" };
  snprintf(b, n, "%s", s[v & 3]);
}
static void m_bits(uint64_t v, char *b, size_t n) { snprintf(b, n, "%u bits", (unsigned)v); }
static void m_log2(uint64_t v, char *b, size_t n) { snprintf(b, n, "2^%u entries", (unsigned)v); }
static void m_oas(uint64_t v, char *b, size_t n)
{
  static const unsigned bits[] = { 32, 36, 40, 42, 44, 48, 52, 0 };
  if (bits[v & 7])
    snprintf(b, n, "%u-bit output addresses", bits[v & 7]);
  else
    snprintf(b, n, "reserved");
}

/* IHI 0070 6.3.1 */
static const struct regfield idr0_fields[] = {
  { "S2P", 0, 0, NULL },        { "S1P", 1, 1, NULL },         { "TTF", 3, 2, m_ttf },
  { "COHACC", 4, 4, NULL },     { "BTM", 5, 5, NULL },         { "HTTU", 7, 6, m_httu },
  { "DORMHINT", 8, 8, NULL },   { "HYP", 9, 9, NULL },         { "ATS", 10, 10, NULL },
  { "NS1ATS", 11, 11, NULL },   { "ASID16", 12, 12, NULL },    { "MSI", 13, 13, NULL },
  { "SEV", 14, 14, NULL },      { "ATOS", 15, 15, NULL },      { "PRI", 16, 16, NULL },
  { "VMW", 17, 17, NULL },      { "VMID16", 18, 18, NULL },    { "CD2L", 19, 19, NULL },
  { "VATOS", 20, 20, NULL },    { "TTENDIAN", 22, 21, m_endian }, { "ATSRECERR", 23, 23, NULL },
  { "STALL_MODEL", 25, 24, m_stall }, { "TERM_MODEL", 26, 26, NULL },
  { "ST_LEVEL", 28, 27, m_stlevel },  { "RME_IMPL", 30, 30, NULL },
};
/* 6.3.2 */
static const struct regfield idr1_fields[] = {
  { "SIDSIZE", 5, 0, m_bits },     { "SSIDSIZE", 10, 6, m_bits },  { "PRIQS", 15, 11, m_log2 },
  { "EVENTQS", 20, 16, m_log2 },   { "CMDQS", 25, 21, m_log2 },    { "ATTR_PERMS_OVR", 26, 26, NULL },
  { "ATTR_TYPES_OVR", 27, 27, NULL }, { "REL", 28, 28, NULL },     { "QUEUES_PRESET", 29, 29, NULL },
  { "TABLES_PRESET", 30, 30, NULL },  { "ECMDQ", 31, 31, NULL },
};
/* 6.3.3 */
static const struct regfield idr2_fields[] = { { "BA_VATOS", 9, 0, NULL } };
/* 6.3.4 */
static const struct regfield idr3_fields[] = {
  { "HAD", 2, 2, NULL },   { "PBHA", 3, 3, NULL },  { "XNX", 4, 4, NULL },
  { "PPS", 5, 5, NULL },   { "MPAM", 7, 7, NULL },  { "FWB", 8, 8, NULL },
  { "STT", 9, 9, NULL },   { "RIL", 10, 10, NULL }, { "BBML", 12, 11, NULL },
  { "E0PD", 13, 13, NULL },{ "PTWNNC", 14, 14, NULL }, { "DPT", 15, 15, NULL },
};
/* 6.3.5: IDR4 is IMPLEMENTATION DEFINED */
static const struct regfield idr4_fields[] = { { "IMPDEF", 31, 0, NULL } };
/* 6.3.6 */
static const struct regfield idr5_fields[] = {
  { "OAS", 2, 0, m_oas },      { "GRAN4K", 4, 4, NULL },   { "GRAN16K", 5, 5, NULL },
  { "GRAN64K", 6, 6, NULL },   { "VAX", 11, 10, NULL },    { "STALL_MAX", 31, 16, NULL },
};

int smmu_probe(struct iommu_unit *u)
{
  struct smmu_unit *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return IOMMU_ENOMEM;
  u->priv = s;
  s->base = u->base;
  for (unsigned i = 0; i < 6; i++)
    s->idr[i] = mmio_read32(u->base + SMMU_IDR0 + 4 * i);
  s->iidr = mmio_read32(u->base + SMMU_IIDR);
  s->aidr = mmio_read32(u->base + SMMU_AIDR);
  if (s->idr[0] == 0xffffffffu)
    return IOMMU_ENODEV;
  if (!SMMU_IDR0_S1P(s->idr[0]))
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "IDR0.S1P=0");
  else if (SMMU_IDR1_SSIDSIZE(s->idr[1]) == 0)
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "IDR1.SSIDSIZE=0");
  else {
    u->pasid_bits = (uint8_t)SMMU_IDR1_SSIDSIZE(s->idr[1]);
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "IDR1.SSIDSIZE=%u",
             (unsigned)SMMU_IDR1_SSIDSIZE(s->idr[1]));
  }
  return IOMMU_OK;
}

void smmu_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx)
{
  const struct smmu_unit *s = u->priv;
  char buf[96];
  snprintf(buf, sizeof(buf), "AIDR = 0x%08x  SMMUv3.%u%s", s->aidr, (unsigned)SMMU_AIDR_MINOR(s->aidr),
           SMMU_AIDR_MAJOR(s->aidr) ? " (unknown major)" : "");
  line(ctx, buf);
  snprintf(buf, sizeof(buf), "IIDR = 0x%08x  implementer 0x%03x product 0x%03x", s->iidr,
           s->iidr & 0xfff, s->iidr >> 20);
  line(ctx, buf);
#define DESCRIBE(name, idx, f) regfield_describe(name, s->idr[idx], f, sizeof(f) / sizeof(f[0]), line, ctx)
  DESCRIBE("IDR0", 0, idr0_fields);
  DESCRIBE("IDR1", 1, idr1_fields);
  DESCRIBE("IDR2", 2, idr2_fields);
  DESCRIBE("IDR3", 3, idr3_fields);
  DESCRIBE("IDR4", 4, idr4_fields);
  DESCRIBE("IDR5", 5, idr5_fields);
#undef DESCRIBE
  smmu_describe_driver(u, line, ctx);
}

int smmu_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n)
{
  (void)plat;
  const struct smmu_unit *s = u->priv;
  if (SMMU_AIDR_MAJOR(s->aidr) != 0) {
    snprintf(why, n, "AIDR.ArchMajorRev=%u: not an SMMUv3", (unsigned)SMMU_AIDR_MAJOR(s->aidr));
    return IOMMU_EBADREG;
  }
  if (!SMMU_IDR0_S1P(s->idr[0]) && !SMMU_IDR0_S2P(s->idr[0])) {
    snprintf(why, n, "IDR0.S1P=0 and IDR0.S2P=0: no translation stage");
    return IOMMU_EBADREG;
  }
  if (SMMU_IDR0_TTF(s->idr[0]) == 0 || SMMU_IDR0_ST_LEVEL(s->idr[0]) > 1 ||
      SMMU_IDR5_OAS(s->idr[5]) == 7 || SMMU_IDR5_GRANULES(s->idr[5]) == 0) {
    snprintf(why, n, "reserved value: IDR0.TTF=%u IDR0.ST_LEVEL=%u IDR5.OAS=%u granules=0x%x",
             (unsigned)SMMU_IDR0_TTF(s->idr[0]), (unsigned)SMMU_IDR0_ST_LEVEL(s->idr[0]),
             (unsigned)SMMU_IDR5_OAS(s->idr[5]), (unsigned)SMMU_IDR5_GRANULES(s->idr[5]));
    return IOMMU_EBADREG;
  }
  /* 6.3.2: StreamIDs up to 32 bits, SubstreamIDs up to 20, queues up to 2^19 entries. */
  if (SMMU_IDR1_SIDSIZE(s->idr[1]) > 32 || SMMU_IDR1_SSIDSIZE(s->idr[1]) > 20 ||
      SMMU_IDR1_CMDQS(s->idr[1]) > 19 || SMMU_IDR1_EVENTQS(s->idr[1]) > 19) {
    snprintf(why, n, "IDR1 0x%08x out of range: SIDSIZE=%u (max 32) SSIDSIZE=%u (max 20) CMDQS=%u "
             "EVENTQS=%u (max 19)", s->idr[1], (unsigned)SMMU_IDR1_SIDSIZE(s->idr[1]),
             (unsigned)SMMU_IDR1_SSIDSIZE(s->idr[1]), (unsigned)SMMU_IDR1_CMDQS(s->idr[1]),
             (unsigned)SMMU_IDR1_EVENTQS(s->idr[1]));
    return IOMMU_EBADREG;
  }
  snprintf(why, n, "SMMUv3.%u IDR0 0x%08x IDR1 0x%08x IDR3 0x%08x IDR5 0x%08x, SIDSIZE %u SSIDSIZE %u",
           (unsigned)SMMU_AIDR_MINOR(s->aidr), s->idr[0], s->idr[1], s->idr[3], s->idr[5],
           (unsigned)SMMU_IDR1_SIDSIZE(s->idr[1]), (unsigned)SMMU_IDR1_SSIDSIZE(s->idr[1]));
  return IOMMU_OK;
}
