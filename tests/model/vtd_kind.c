/* The VT-d model as a model kind: presets, parameter keys, the DMAR table (VT-d 5.10
 * chapter 8: DRHD with INCLUDE_PCI_ALL and device scopes for the engines). */
#include <stdio.h>
#include <string.h>

#include "tests/model/platform_model.h"
#include "tests/model/vtd_model.h"

_Static_assert(sizeof(struct vtd_model_params) <= MODEL_PARAMS_MAX, "VT-d parameters too large");

static void preset_scalable(void *params, struct model_platform_cfg *c)
{
  struct vtd_model_params *p = params;
  p->ver = 0x30;
  p->haw = 48;
  p->sagaw = 0x6;
  p->mgaw = 48;
  p->nfr = 8;
  p->fault_compression = false;
  p->pasid = true;
  p->pss = 19;
  p->smts = p->ssts = p->fsts = true;
  p->fl1gp = true;
  p->ssads = p->smpwcs = true;
  c->root_port = true;
}

static void preset_first_stage_only(void *params, struct model_platform_cfg *c)
{
  struct vtd_model_params *p = params;
  preset_scalable(params, c);
  p->ver = 0x60;
  p->ssts = false;
  p->ssads = false;
  p->sagaw = 0;
  p->fl5lp = false;
}

static void preset_legacy_regs(void *params, struct model_platform_cfg *c)
{
  (void)c;
  ((struct vtd_model_params *)params)->qi = false;
}

static void preset_legacy_cm(void *params, struct model_platform_cfg *c)
{
  (void)c;
  ((struct vtd_model_params *)params)->cm = true;
}

static void preset_scalable_nopt(void *params, struct model_platform_cfg *c)
{
  preset_scalable(params, c);
  ((struct vtd_model_params *)params)->pt = false;
}

static void preset_no_superpage(void *params, struct model_platform_cfg *c)
{
  (void)c;
  ((struct vtd_model_params *)params)->sslps = 0;
}

static void preset_groups(void *params, struct model_platform_cfg *c)
{
  (void)params;
  model_platform_groups_topology(c);
}

/* As vtd-scalable with the groups topology and a second, 39-bit unit for engine 3. */
static void preset_groups_two_units(void *params, struct model_platform_cfg *c)
{
  preset_scalable(params, c);
  preset_groups(params, c);
  c->n_units = 2;
}

static const struct model_preset presets[] = {
  { "vtd-groups", preset_groups, "vtd-legacy; engine 0 behind a root port with ACS and a "
                                 "PCIe-to-PCI bridge (alias), engines 1-2 one multifunction "
                                 "device without ACS, engine 3 alone" },
  { "vtd-groups-2units", preset_groups_two_units, "vtd-scalable with the vtd-groups topology and "
                                                  "a second 39-bit DRHD for engine 3" },
  { "vtd-legacy", NULL, "VT-d 1.0 legacy mode, 39-bit, QI, PT, 2M/1G, one FRCD with fault "
                        "compression (close to QEMU 7.2's default intel-iommu)" },
  { "vtd-scalable", preset_scalable, "VT-d 3.0 scalable mode, PASID (PSS=19), SS+FS, SSADS, "
                                     "48-bit, 8 FRCDs, engine 0 behind a root port" },
  { "vtd-first-stage", preset_scalable, "as vtd-scalable; run with --vtd-stage=first" },
  { "vtd-first-stage-only", preset_first_stage_only, "VT-d 6.0, first stage only (SSTS=0, SAGAW=0)" },
  { "vtd-legacy-regs", preset_legacy_regs, "vtd-legacy without a queue (ECAP.QI=0): register-based invalidation" },
  { "vtd-legacy-cm", preset_legacy_cm, "vtd-legacy with caching mode (CAP.CM=1): not-present entries cached" },
  { "vtd-scalable-nopt", preset_scalable_nopt, "vtd-scalable without pass-through (ECAP.PT=0)" },
  { "vtd-no-superpage", preset_no_superpage, "vtd-legacy without large pages (CAP.SSLPS=0)" },
};

static void params_default(void *params) { vtd_model_params_default(params); }

static int set_key(void *params, const char *key, unsigned long long v)
{
  struct vtd_model_params *p = params;
#define B(name, field) if (!strcmp(key, name)) { field = v != 0; return 0; }
#define U(name, field) if (!strcmp(key, name)) { field = (unsigned)v; return 0; }
  U("haw", p->haw) U("ver", p->ver) U("nd", p->nd) B("rwbf", p->rwbf) B("cm", p->cm)
  B("zlr", p->zlr) B("psi", p->psi) B("fl1gp", p->fl1gp) B("fl5lp", p->fl5lp)
  B("esrtps", p->esrtps) U("sagaw", p->sagaw) U("mgaw", p->mgaw) U("fro", p->fro)
  U("nfr", p->nfr) U("sslps", p->sslps) U("mamv", p->mamv) B("c", p->c) B("qi", p->qi)
  B("dt", p->dt) B("pt", p->pt) B("sc", p->sc) B("srs", p->srs) B("pasid", p->pasid)
  B("smts", p->smts) B("ssts", p->ssts) B("fsts", p->fsts) B("ssads", p->ssads)
  B("smpwcs", p->smpwcs) B("rps", p->rps) U("iro", p->iro) U("pss", p->pss)
  B("compress", p->fault_compression) U("iotlb", p->iotlb_entries)
#undef B
#undef U
  return -1;
}

static void *create(const void *params)
{
  struct vtd_model *m = vtd_model_create(params);
  if (m && vtd_model_register(m)) {
    vtd_model_destroy(m);
    return NULL;
  }
  return m;
}

static void destroy(void *model) { vtd_model_destroy(model); }

static enum model_dma_result dma(void *model, const struct model_dma_req *req, void *data)
{
  return vtd_model_dma(model, req, data);
}

static uint32_t dmar_scope(uint8_t *s, uint8_t type, uint8_t start_bus, uint8_t dev, uint8_t fn)
{
  s[0] = type;          /* 1 PCI endpoint, 2 PCI sub-hierarchy (8.3.1) */
  s[1] = 8;
  s[4] = 0;             /* enumeration ID */
  s[5] = start_bus;
  s[6] = dev;
  s[7] = fn;
  return 8;
}

/* A DRHD (8.3) at d: flags, register base, then scopes; returns its length. */
static uint32_t drhd_header(uint8_t *d, uint8_t flags, uint64_t base)
{
  model_acpi_put16(d, 0);          /* DRHD */
  d[4] = flags;
  d[5] = 0;                        /* register set: 1 page */
  model_acpi_put16(d + 6, 0);
  model_acpi_put64(d + 8, base);
  return 16;
}

static uint32_t acpi_table(const void *params, const struct model_acpi_ctx *ctx, uint8_t *t,
                           uint32_t room)
{
  const struct vtd_model_params *p = params;
  if (room < 48 + 2 * 16 + 8 * (MODEL_MAX_ENGINES + 2))
    return 0;
  model_acpi_header(t, "DMAR", 1);
  t[36] = (uint8_t)(p->haw - 1);
  t[37] = 0;                       /* no interrupt remapping */
  uint8_t *d = t + 48;
  uint32_t total = 48;
  unsigned engines = ctx->n_engines;
  if (ctx->n_units == 2) {
    /* The second unit first: INCLUDE_PCI_ALL must be the segment's last DRHD (8.3). */
    uint32_t n = drhd_header(d, 0, ctx->unit2_base);
    n += dmar_scope(d + n, 1, 0, (uint8_t)((ctx->unit2_rid >> 3) & 0x1f), (uint8_t)(ctx->unit2_rid & 7));
    model_acpi_put16(d + 2, (uint16_t)n);
    d += n;
    total += n;
    engines--;                     /* the last engine is the second unit's */
  }
  /* INCLUDE_PCI_ALL: the host bridge and root port too. */
  uint32_t n = drhd_header(d, 0x01, p->base);
  /* Explicit scopes for the engines (QEMU lists root-bus endpoints the same way). */
  if (ctx->root_port)
    n += dmar_scope(d + n, 2, 0, 1, 0);
  for (unsigned i = ctx->root_port ? 1 : 0; i < engines; i++)
    n += dmar_scope(d + n, 1, 0, (uint8_t)((ctx->engine_rids[i] >> 3) & 0x1f),
                    (uint8_t)(ctx->engine_rids[i] & 7));
  model_acpi_put16(d + 2, (uint16_t)n);
  total += n;
  model_acpi_finish(t, total);
  return total;
}

/* A 39-bit (3-level) unit one 64 KiB window above the first. */
static void second_unit(void *params)
{
  struct vtd_model_params *p = params;
  p->base += 0x10000;
  p->sagaw = 0x2;
  p->mgaw = 39;
}

static uint64_t base(const void *params) { return ((const struct vtd_model_params *)params)->base; }

static void describe(const void *params, char *buf, size_t len)
{
  const struct vtd_model_params *p = params;
  snprintf(buf, len, "VT-d VER 0x%x CAP 0x%llx ECAP 0x%llx HAW %u at 0x%llx", p->ver,
           (unsigned long long)vtd_model_cap(p), (unsigned long long)vtd_model_ecap(p), p->haw,
           (unsigned long long)p->base);
}

const struct model_kind vtd_model_kind = {
  .name = "vtd",
  .table_sig = "DMAR",
  .presets = presets,
  .n_presets = sizeof(presets) / sizeof(presets[0]),
  .params_size = sizeof(struct vtd_model_params),
  .params_default = params_default,
  .set_key = set_key,
  .keys = "haw ver nd rwbf cm zlr psi fl1gp fl5lp esrtps sagaw mgaw fro nfr sslps mamv c qi dt "
          "pt sc srs pasid smts ssts fsts ssads smpwcs rps iro pss compress iotlb",
  .create = create,
  .destroy = destroy,
  .add_pci = NULL,
  .acpi_table = acpi_table,
  .dma = dma,
  .describe = describe,
  .second_unit = second_unit,
  .base = base,
};
