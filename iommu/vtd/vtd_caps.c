/* VT-d probe and capability decode. Reads VER/CAP/ECAP only; writes nothing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "iommu/iommu.h"
#include "iommu/regfield.h"
#include "iommu/vtd/vtd_internal.h"

static void m_nd(uint64_t v, char *b, size_t n)
{
  if (v > 6)
    snprintf(b, n, "reserved");
  else
    snprintf(b, n, "%lu domain IDs", 1ul << (4 + 2 * v));
}
static void m_sagaw(uint64_t v, char *b, size_t n)
{
  snprintf(b, n, "%s%s%s%s", v & 2 ? "39-bit/3-level " : "", v & 4 ? "48-bit/4-level " : "",
           v & 8 ? "57-bit/5-level " : "", v & ~0xeull ? "reserved-bits-set" : "");
}
static void m_width(uint64_t v, char *b, size_t n) { snprintf(b, n, "%u bits", (unsigned)v + 1); }
static void m_x16(uint64_t v, char *b, size_t n) { snprintf(b, n, "offset 0x%llx", (unsigned long long)v * 16); }
static void m_sllps(uint64_t v, char *b, size_t n)
{
  snprintf(b, n, "4K%s%s%s", v & 1 ? " 2M" : "", v & 2 ? " 1G" : "",
           v & 0xc ? " reserved-bits-set" : "");
}
static void m_nfr(uint64_t v, char *b, size_t n) { snprintf(b, n, "%u fault recording regs", (unsigned)v + 1); }
static void m_mamv(uint64_t v, char *b, size_t n) { snprintf(b, n, "2^%u pages per PSI", (unsigned)v); }
static void m_mhmv(uint64_t v, char *b, size_t n) { snprintf(b, n, "handle mask %u", (unsigned)v); }
static void m_pss(uint64_t v, char *b, size_t n) { snprintf(b, n, "%u-bit PASIDs (when PASID=1)", (unsigned)v + 1); }

/* VT-d 11.4.2. Names as in VT-d 4.x (SLLPS, FL1GP...); VT-d 5.x renames the second/first
 * level fields (SSLPS, FS1GP, SSADS, SSTS, FSTS) at the same bit positions. AFL (bit 3) is
 * reserved in 5.x and kept for older parts. */
static const struct regfield cap_fields[] = {
  { "ND", 2, 0, m_nd },        { "AFL", 3, 3, NULL },       { "RWBF", 4, 4, NULL },
  { "PLMR", 5, 5, NULL },      { "PHMR", 6, 6, NULL },      { "CM", 7, 7, NULL },
  { "SAGAW", 12, 8, m_sagaw }, { "MGAW", 21, 16, m_width }, { "ZLR", 22, 22, NULL },
  { "FRO", 33, 24, m_x16 },    { "SLLPS", 37, 34, m_sllps },{ "PSI", 39, 39, NULL },
  { "NFR", 47, 40, m_nfr },    { "MAMV", 53, 48, m_mamv },  { "DWD", 54, 54, NULL },
  { "DRD", 55, 55, NULL },     { "FL1GP", 56, 56, NULL },   { "PI", 59, 59, NULL },
  { "FL5LP", 60, 60, NULL },   { "ECMDS", 61, 61, NULL },   { "ESIRTPS", 62, 62, NULL },
  { "ESRTPS", 63, 63, NULL },
};

/* VT-d 11.4.3 (positions checked against the 5.10 text; bits 50-62 are reserved on older
 * parts and read as 0). */
static const struct regfield ecap_fields[] = {
  { "C", 0, 0, NULL },        { "QI", 1, 1, NULL },       { "DT", 2, 2, NULL },
  { "IR", 3, 3, NULL },       { "EIM", 4, 4, NULL },      { "PT", 6, 6, NULL },
  { "SC", 7, 7, NULL },       { "IRO", 17, 8, m_x16 },    { "MHMV", 23, 20, m_mhmv },
  { "MTS", 25, 25, NULL },    { "NEST", 26, 26, NULL },   { "PRS", 29, 29, NULL },
  { "ERS", 30, 30, NULL },    { "SRS", 31, 31, NULL },    { "NWFS", 33, 33, NULL },
  { "EAFS", 34, 34, NULL },   { "PSS", 39, 35, m_pss },   { "PASID", 40, 40, NULL },
  { "DIT", 41, 41, NULL },    { "PDS", 42, 42, NULL },    { "SMTS", 43, 43, NULL },
  { "VCS", 44, 44, NULL },    { "SLADS", 45, 45, NULL },  { "SLTS", 46, 46, NULL },
  { "FLTS", 47, 47, NULL },   { "SMPWCS", 48, 48, NULL }, { "RPS", 49, 49, NULL },
  { "TDXCS", 50, 50, NULL },  { "PMS", 51, 51, NULL },    { "ADMS", 52, 52, NULL },
  { "RPRIVS", 53, 53, NULL }, { "HPTS", 55, 55, NULL },   { "PTRS", 56, 56, NULL },
  { "SSIRWS", 57, 57, NULL }, { "SMS", 58, 58, NULL },    { "HPT1GPS", 59, 59, NULL },
  { "RDTS", 60, 60, NULL },   { "EIMER", 61, 61, NULL },  { "IRREQ", 62, 62, NULL },
};

int vtd_probe(struct iommu_unit *u)
{
  struct vtd_unit *v = calloc(1, sizeof(*v));
  if (v == NULL)
    return IOMMU_ENOMEM;
  u->priv = v;
  v->base = u->base;
  v->ver = mmio_read32(u->base + VTD_REG_VER);
  v->cap = mmio_read64(u->base + VTD_REG_CAP);
  v->ecap = mmio_read64(u->base + VTD_REG_ECAP);
  if (v->ver == 0xffffffffu || v->cap == ~0ull || v->ecap == ~0ull)
    return IOMMU_ENODEV;
  /* PASIDs need scalable mode (VT-d 3.0+); PSS counts bits minus one. */
  if (!VTD_ECAP_PASID(v->ecap)) {
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "ECAP.PASID=0");
  } else if (!VTD_ECAP_SMTS(v->ecap)) {
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "ECAP.SMTS=0");
  } else {
    u->pasid_bits = (uint8_t)(VTD_ECAP_PSS(v->ecap) + 1);
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "ECAP.PASID=1 SMTS=1 PSS=%u",
             (unsigned)VTD_ECAP_PSS(v->ecap));
  }
  return IOMMU_OK;
}

void vtd_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx)
{
  const struct vtd_unit *v = u->priv;
  char buf[80];
  snprintf(buf, sizeof(buf), "VER = 0x%08x  version %u.%u", v->ver, (v->ver >> 4) & 0xf,
           v->ver & 0xf);
  line(ctx, buf);
  regfield_describe("CAP", v->cap, cap_fields, sizeof(cap_fields) / sizeof(cap_fields[0]), line, ctx);
  regfield_describe("ECAP", v->ecap, ecap_fields, sizeof(ecap_fields) / sizeof(ecap_fields[0]),
                    line, ctx);
}

int vtd_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n)
{
  const struct vtd_unit *v = u->priv;
  const struct dmar_drhd *d = &plat->dmar.drhd[u->acpi_index];
  uint64_t window = 4096ull << d->size;
  uint64_t fro_end = VTD_CAP_FRO(v->cap) * 16 + (VTD_CAP_NFR(v->cap) + 1) * 16;
  uint64_t iro_end = VTD_ECAP_IRO(v->ecap) * 16 + 16;
  if (((v->ver >> 4) & 0xf) == 0) {
    snprintf(why, n, "VER.MAX=0 (0x%08x): not a VT-d unit", v->ver);
    return IOMMU_EBADREG;
  }
  /* SAGAW=0 is legal only when second-stage translation is absent (VT-d 5.x: major
   * version 6+ with ECAP.SLTS/SSTS=0); bit 0 is reserved. */
  bool sagaw_may_be_zero = ((v->ver >> 4) & 0xf) >= 6 && !VTD_ECAP_SLTS(v->ecap);
  if ((VTD_CAP_SAGAW(v->cap) == 0 && !sagaw_may_be_zero) || (VTD_CAP_SAGAW(v->cap) & 1)) {
    snprintf(why, n, "CAP.SAGAW=0x%llx: no supported (or a reserved) guest address width",
             (unsigned long long)VTD_CAP_SAGAW(v->cap));
    return IOMMU_EBADREG;
  }
  if (VTD_CAP_ND(v->cap) == 7) {
    snprintf(why, n, "CAP.ND=7 is reserved");
    return IOMMU_EBADREG;
  }
  if (fro_end > window || iro_end > window) {
    snprintf(why, n, "fault regs end 0x%llx / IOTLB regs end 0x%llx beyond the DRHD window 0x%llx",
             (unsigned long long)fro_end, (unsigned long long)iro_end, (unsigned long long)window);
    return IOMMU_EBADREG;
  }
  snprintf(why, n, "VT-d %u.%u, CAP 0x%llx ECAP 0x%llx, MGAW %u, %u FRCD at 0x%llx, IOTLB at 0x%llx",
           (v->ver >> 4) & 0xf, v->ver & 0xf, (unsigned long long)v->cap,
           (unsigned long long)v->ecap, (unsigned)VTD_CAP_MGAW(v->cap) + 1,
           (unsigned)VTD_CAP_NFR(v->cap) + 1, (unsigned long long)VTD_CAP_FRO(v->cap) * 16,
           (unsigned long long)VTD_ECAP_IRO(v->ecap) * 16);
  return IOMMU_OK;
}
