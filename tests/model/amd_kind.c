/* The AMD-Vi model as a model kind: presets, parameter keys, the IOMMU's own PCI function and
 * the IVRS (48882 rev 3.x 5.2: IVRS header with IVinfo, IVHD blocks of type 10h and 11h/40h
 * with device entries covering the host bridge, the root port, the IOMMU function and the
 * engines). */
#include <stdio.h>
#include <string.h>

#include "tests/model/amd_model.h"
#include "tests/model/platform_model.h"

_Static_assert(sizeof(struct amd_model_params) <= MODEL_PARAMS_MAX, "AMD-Vi parameters too large");

static struct amd_model_params *P(void *params) { return params; }

static void preset_hd(void *params, struct model_platform_cfg *c)
{
  (void)c;
  P(params)->hasup = true;
  P(params)->hdsup = true;
}

static void preset_noia(void *params, struct model_platform_cfg *c)
{
  (void)c;
  P(params)->iasup = false;
}

static void preset_4level(void *params, struct model_platform_cfg *c)
{
  P(params)->hats = 0;
  c->root_port = true;
}

static void preset_npcache(void *params, struct model_platform_cfg *c)
{
  (void)c;
  P(params)->npcache = true;
  P(params)->prefsup = true;
}

static void preset_ivhd10(void *params, struct model_platform_cfg *c)
{
  (void)c;
  P(params)->ivhd_type = 0x10;
  P(params)->ivhd_legacy = false;
}

/* Guest translation: GTSup, 16-bit PASIDs (PASmax 15), 1- or 2-level GCR3 tables (GLXSup 1),
 * 4- or 5-level guest tables (GATS 1), GIoV (GIoSup) and U/S checking (USSup). */
static void preset_gt(void *params, struct model_platform_cfg *c)
{
  (void)c;
  struct amd_model_params *p = P(params);
  p->gtsup = true;
  p->pasmax = 15;
  p->glxsup = 1;
  p->gats = 1;
  p->giosup = true;
  p->ussup = true;
}

static void preset_groups(void *params, struct model_platform_cfg *c)
{
  (void)params;
  model_platform_groups_topology(c);
}

static const struct model_preset presets[] = {
  { "amd-v1", NULL, "AMD-Vi, v1 tables up to 6 levels (HATS=2), IASup, IVHD 10h + 40h, function "
                    "00:04.0 (the counterpart of QEMU 7.2's amd-iommu, with a working event log)" },
  { "amd-hd", preset_hd, "amd-v1 with EFR.HASup and HDSup: A/D updates where DTE.HAD asks" },
  { "amd-noia", preset_noia, "amd-v1 without INVALIDATE_IOMMU_ALL (EFR.IASup=0)" },
  { "amd-4level", preset_4level, "amd-v1 with 4-level tables only (HATS=0), engine 0 behind a root port" },
  { "amd-npcache", preset_npcache, "amd-v1 caching not-present translations (NpCache=1), PreFSup" },
  { "amd-ivhd10", preset_ivhd10, "amd-v1 described by one IVHD type 10h (no EFR image)" },
  { "amd-gt", preset_gt, "amd-v1 with guest (v2/GCR3) translation: GTSup, PASmax 15, GLXSup 1, GATS 1, "
                         "GIoSup, USSup" },
  { "amd-groups", preset_groups, "amd-v1; engine 0 behind a root port with ACS and a PCIe-to-PCI "
                                 "bridge (alias), engines 1-2 one multifunction device without "
                                 "ACS, engine 3 alone" },
};

static void params_default(void *params) { amd_model_params_default(params); }

static int set_key(void *params, const char *key, unsigned long long v)
{
  struct amd_model_params *p = params;
#define B(name, field) if (!strcmp(key, name)) { field = v != 0; return 0; }
#define U(name, field) if (!strcmp(key, name)) { field = (unsigned)v; return 0; }
  U("hats", p->hats) B("iasup", p->iasup) B("prefsup", p->prefsup) B("hasup", p->hasup)
  B("hdsup", p->hdsup) B("npcache", p->npcache) U("ivhd", p->ivhd_type) B("ivhdlegacy", p->ivhd_legacy)
  U("pabits", p->pa_bits) U("iotlb", p->iotlb_entries) U("dtecache", p->dte_cache_entries)
  B("gt", p->gtsup) U("pasmax", p->pasmax) U("glx", p->glxsup) U("gats", p->gats) B("giosup", p->giosup)
  B("ussup", p->ussup)
#undef B
#undef U
  if (!strcmp(key, "devid")) { p->devid = (uint16_t)v; return 0; }
  if (!strcmp(key, "efrimgxor")) { p->efr_image_xor = v; return 0; }
  if (!strcmp(key, "base")) { p->base = v; return 0; }
  return -1;
}

static void *create(const void *params)
{
  const struct amd_model_params *p = params;
  if (p->ivhd_type != 0x10 && p->ivhd_type != 0x11 && p->ivhd_type != 0x40)
    return NULL;
  struct amd_model *m = amd_model_create(p);
  if (m && amd_model_register(m)) {
    amd_model_destroy(m);
    return NULL;
  }
  return m;
}

static void destroy(void *model) { amd_model_destroy(model); }

static int add_pci(void *model, const void *params, struct model_pci *pci)
{
  (void)params;
  return amd_model_add_pci(model, pci);
}

static enum model_dma_result dma(void *model, const struct model_dma_req *req, void *data)
{
  return amd_model_dma(model, req, data);
}

/* IVHD device entries (5.2.2.2): 4-byte select (type 02h) and range start/end (03h/04h) with
 * a DTE setting byte of 0 (no interrupt pass-through, SysMgt 00b). */
static uint32_t dev_entry(uint8_t *e, uint8_t type, uint16_t devid)
{
  e[0] = type;
  model_acpi_put16(e + 1, devid);
  e[3] = 0;
  return 4;
}

static uint32_t dev_entries(const struct amd_model_params *p, const struct model_acpi_ctx *ctx, uint8_t *e)
{
  uint32_t n = 0;
  n += dev_entry(e + n, 0x02, 0x0000);          /* host bridge 00:00.0 */
  if (ctx->root_port)
    n += dev_entry(e + n, 0x02, 0x0008);        /* root port 00:01.0 */
  if (ctx->pci_bridge)
    n += dev_entry(e + n, 0x02, 0x0100);        /* PCIe-to-PCI bridge 01:00.0 */
  n += dev_entry(e + n, 0x02, p->devid);        /* the IOMMU's own function */
  uint16_t ranged[MODEL_MAX_ENGINES];
  unsigned n_ranged = 0;
  for (unsigned i = 0; i < ctx->n_engines; i++) {
    uint16_t rid = ctx->engine_rids[i];
    if ((rid >> 8) == 0) {
      n += dev_entry(e + n, 0x02, rid);
      continue;
    }
    /* Behind a PCIe bridge: the whole secondary bus as a range (no aliasing on PCIe). */
    bool seen = false;
    for (unsigned k = 0; k < n_ranged; k++)
      seen = seen || ranged[k] == (rid >> 8);
    if (seen)
      continue;
    ranged[n_ranged++] = (uint16_t)(rid >> 8);
    n += dev_entry(e + n, 0x03, (uint16_t)(rid & 0xff00));
    n += dev_entry(e + n, 0x04, (uint16_t)(rid | 0x00ff));
  }
  return n;
}

/* One IVHD block at b: type 10h (24-byte header) or 11h/40h (40-byte header with the EFR
 * image); returns its length. */
static uint32_t ivhd(const struct amd_model_params *p, const struct model_acpi_ctx *ctx, uint8_t type,
                     uint8_t *b)
{
  uint32_t hlen = type == 0x10 ? 24 : 40;
  b[0] = type;
  /* Flags (5.2.2.1): Coherent (bit 5), PreFSup (bit 6); no IotlbSup, PPRSup, HT tunnel. */
  b[1] = (uint8_t)(0x20 | (p->prefsup ? 0x40 : 0));
  model_acpi_put16(b + 4, p->devid);
  model_acpi_put16(b + 6, AMD_MODEL_CAP_OFF);
  model_acpi_put64(b + 8, p->base);
  model_acpi_put16(b + 16, 0);                  /* PCI segment group */
  model_acpi_put16(b + 18, 0);                  /* IOMMU info: MSI number 0, UnitID 0 */
  model_acpi_put32(b + 20, 0);                  /* feature reporting / attributes: none */
  if (type != 0x10) {
    model_acpi_put64(b + 24, amd_model_efr(p) ^ p->efr_image_xor);
    model_acpi_put64(b + 32, 0);                /* EFR2 image */
  }
  uint32_t len = hlen + dev_entries(p, ctx, b + hlen);
  model_acpi_put16(b + 2, (uint16_t)len);
  return len;
}

static uint32_t acpi_table(const void *params, const struct model_acpi_ctx *ctx, uint8_t *t, uint32_t room)
{
  const struct amd_model_params *p = params;
  /* header + two blocks of at most 40 + 4 * (3 + 2 * engines) bytes */
  if (room < 48 + 2 * (40 + 4 * (3 + 2 * MODEL_MAX_ENGINES)))
    return 0;
  model_acpi_header(t, "IVRS", 2);
  /* IVinfo (5.2.1): EFRSup (bit 0) when a block carries the EFR image, GVASize [7:5] (010b,
   * 48 bits, with guest translation; 0 without), PASize [14:8], VASize [21:15]. */
  uint32_t ivinfo = (p->ivhd_type != 0x10 ? 1u : 0u) | (p->gtsup ? 2u << 5 : 0) | (p->pa_bits & 0x7f) << 8 |
                    64u << 15;
  model_acpi_put32(t + 36, ivinfo);
  uint32_t n = 48;
  if (p->ivhd_legacy && p->ivhd_type != 0x10)
    n += ivhd(p, ctx, 0x10, t + n);
  n += ivhd(p, ctx, (uint8_t)p->ivhd_type, t + n);
  model_acpi_finish(t, n);
  return n;
}

static void describe(const void *params, char *buf, size_t len)
{
  const struct amd_model_params *p = params;
  char gt[64] = "";
  if (p->gtsup)
    snprintf(gt, sizeof(gt), " GTSup PASmax %u GLXSup %u GATS %u%s%s", p->pasmax, p->glxsup, p->gats,
             p->giosup ? " GIoSup" : "", p->ussup ? " USSup" : "");
  snprintf(buf, len, "AMD-Vi EFR 0x%llx (HATS %u%s%s%s%s%s%s) at 0x%llx, function %02x:%02x.%x, IVHD %s0x%x",
           (unsigned long long)amd_model_efr(p), p->hats, p->iasup ? " IASup" : "",
           p->prefsup ? " PreFSup" : "", p->hasup ? " HASup" : "", p->hdsup ? " HDSup" : "",
           p->npcache ? " NpCache" : "", gt, (unsigned long long)p->base, p->devid >> 8,
           (p->devid >> 3) & 0x1f, p->devid & 7,
           p->ivhd_legacy && p->ivhd_type != 0x10 ? "0x10 + " : "", p->ivhd_type);
}

const struct model_kind amd_model_kind = {
  .name = "amd",
  .table_sig = "IVRS",
  .presets = presets,
  .n_presets = sizeof(presets) / sizeof(presets[0]),
  .params_size = sizeof(struct amd_model_params),
  .params_default = params_default,
  .set_key = set_key,
  .keys = "hats iasup prefsup hasup hdsup npcache ivhd ivhdlegacy pabits iotlb dtecache devid "
          "efrimgxor base gt pasmax glx gats giosup ussup",
  .create = create,
  .destroy = destroy,
  .add_pci = add_pci,
  .acpi_table = acpi_table,
  .dma = dma,
  .describe = describe,
};
