/* AMD-Vi probe and capability decode. Reads EFR only; writes nothing. */
#include <stdio.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "iommu/amd/amd_internal.h"

static void m_hats(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "4-level", "5-level", "6-level", "reserved" };
  snprintf(b, n, "host tables up to %s", s[v & 3]);
}
static void m_gats(uint64_t v, char *b, size_t n)
{
  static const char *const s[] = { "4-level", "5-level", "reserved", "reserved" };
  snprintf(b, n, "guest tables up to %s", s[v & 3]);
}
static void m_pasmax(uint64_t v, char *b, size_t n) { snprintf(b, n, "%u-bit PASIDs (when GTSup=1)", (unsigned)v + 1); }
static void m_glx(uint64_t v, char *b, size_t n) { snprintf(b, n, "GCR3 levels up to %u", (unsigned)v + 1); }

/* 48882 rev 3.08, 3.4.12 MMIO Offset 0030h IOMMU Extended Feature Register. Bits 56-60
 * (VmGuardIO, VmTableSize) are left undecoded: their encoding could not be confirmed. */
static const struct regfield efr_fields[] = {
  { "PreFSup", 0, 0, NULL },          { "PPRSup", 1, 1, NULL },
  { "XTSup", 2, 2, NULL },            { "NXSup", 3, 3, NULL },
  { "GTSup", 4, 4, NULL },            { "GAPPISup", 5, 5, NULL },
  { "IASup", 6, 6, NULL },
  { "GASup", 7, 7, NULL },            { "HESup", 8, 8, NULL },
  { "PCSup", 9, 9, NULL },            { "HATS", 11, 10, m_hats },
  { "GATS", 13, 12, m_gats },         { "GLXSup", 15, 14, m_glx },
  { "SmiFSup", 17, 16, NULL },        { "SmiFRC", 20, 18, NULL },
  { "GAMSup", 23, 21, NULL },         { "DualPprLogSup", 25, 24, NULL },
  { "DualEventLogSup", 29, 28, NULL },{ "SATSSup", 31, 31, NULL },
  { "PASmax", 36, 32, m_pasmax },
  { "USSup", 37, 37, NULL },          { "DevTblSegSup", 39, 38, NULL },
  { "PprOvrflwEarly", 40, 40, NULL }, { "PPRAutoRspSup", 41, 41, NULL },
  { "MARCSup", 43, 42, NULL },        { "BlkStopMrkSup", 44, 44, NULL },
  { "PerfOptSup", 45, 45, NULL },     { "MsiCapMmioSup", 46, 46, NULL },
  { "GIOSup", 48, 48, NULL },         { "HASup", 49, 49, NULL },
  { "EPHSup", 50, 50, NULL },         { "AttrFWSup", 51, 51, NULL },
  { "HDSup", 52, 52, NULL },          { "InvIotlbTypeSup", 54, 54, NULL },
  { "VIOMMUSup", 55, 55, NULL },      { "GAUpdateDisSup", 61, 61, NULL },
  { "ForcePhyDestSup", 62, 62, NULL },{ "SNPSup", 63, 63, NULL },
};

int amd_probe(struct iommu_unit *u)
{
  struct amd_unit *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return IOMMU_ENOMEM;
  u->priv = a;
  a->base = u->base;
  a->efr = mmio_read64(u->base + AMD_MMIO_EFR);
  if (a->efr == ~0ull)
    return IOMMU_ENODEV;
  if (!AMD_EFR_GTSUP(a->efr))
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "EFR.GTSup=0");
  else {
    u->pasid_bits = (uint8_t)(AMD_EFR_PASMAX(a->efr) + 1);
    snprintf(u->pasid_reason, sizeof(u->pasid_reason), "EFR.GTSup=1 PASmax=%u",
             (unsigned)AMD_EFR_PASMAX(a->efr));
  }
  return IOMMU_OK;
}

void amd_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx)
{
  const struct amd_unit *a = u->priv;
  regfield_describe("EFR", a->efr, efr_fields, sizeof(efr_fields) / sizeof(efr_fields[0]), line, ctx);
}

int amd_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n)
{
  struct amd_unit *a = u->priv;
  const struct ivrs_ivhd *h = &plat->ivrs.ivhd[u->acpi_index];
  /* The driver sizes the device table and applies IVHD settings from here on. */
  a->plat = plat;
  a->ivhd = h;
  if (AMD_EFR_HATS(a->efr) == 3) {
    snprintf(why, n, "EFR.HATS=3 is reserved");
    return IOMMU_EBADREG;
  }
  /* Shipping boards do publish an EFR image that differs from the register (Linux warns
   * and uses the register); name it as a firmware erratum without failing discovery. */
  char erratum[96] = "";
  if (h->type != 0x10 && h->efr_image != a->efr)
    snprintf(erratum, sizeof(erratum), "; firmware erratum: IVHD 0x%x EFR image 0x%llx differs",
             h->type, (unsigned long long)h->efr_image);
  /* The IOMMU's own PCI function carries its base address in the capability block. */
  uint8_t bus = (uint8_t)(h->iommu_devid >> 8), dev = (h->iommu_devid >> 3) & 0x1f,
          fn = h->iommu_devid & 7;
  const struct pci_cfg_ops *cfg = &plat->cfg;
  uint32_t hdr = cfg->read32(cfg->ctx, h->segment, bus, dev, fn, h->cap_offset & 0xfc);
  if ((hdr & 0xff) != AMD_PCI_CAP_ID || ((hdr >> 16) & 7) != AMD_PCI_CAP_TYPE_IOMMU) {
    snprintf(why, n, "no IOMMU capability (ID 0x0f, type 3) at %02x:%02x.%x offset 0x%x (read 0x%08x)",
             bus, dev, fn, h->cap_offset, hdr);
    return IOMMU_EBADREG;
  }
  uint64_t lo = cfg->read32(cfg->ctx, h->segment, bus, dev, fn, (h->cap_offset & 0xfc) + AMD_PCI_CAP_BASE_LO);
  uint64_t hi = cfg->read32(cfg->ctx, h->segment, bus, dev, fn, (h->cap_offset & 0xfc) + AMD_PCI_CAP_BASE_HI);
  uint64_t pci_base = (hi << 32) | (lo & 0xffffc000u);
  if (pci_base != u->base) {
    snprintf(why, n, "PCI capability base 0x%llx differs from IVHD base 0x%llx",
             (unsigned long long)pci_base, (unsigned long long)u->base);
    return IOMMU_EBADREG;
  }
  snprintf(why, n, "EFR 0x%llx, HATS %u, IOMMU function %02x:%02x.%x cap@0x%x base matches IVHD%s",
           (unsigned long long)a->efr, (unsigned)AMD_EFR_HATS(a->efr), bus, dev, fn, h->cap_offset,
           erratum);
  return IOMMU_OK;
}
