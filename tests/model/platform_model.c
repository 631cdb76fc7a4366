/* Model platform: ACPI tables, PCI topology and the IOMMU model (platform_model.h).
 * Table layouts: ACPI 6.5 5.2.5 (RSDP), 5.2.8 (XSDT); PCI Firmware 3.3 4.1.2 (MCFG);
 * VT-d 5.10 chapter 8 (DMAR, DRHD, device scopes). */
#include "tests/model/platform_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "tests/model/dma_engine.h"
#include "tests/model/pci_model.h"

#define ENGINE_BAR_BASE 0xfe000000ull

struct model_platform {
  struct model_platform_cfg cfg;
  struct vtd_model *vtd;
  struct model_pci pci;
  struct model_pci_fn host_bridge, root_port;
  struct dma_engine *engines[MODEL_MAX_ENGINES];
  uint8_t *acpi;
  uint64_t acpi_phys;
  uint64_t rsdp;
};

/* ---------------------------------------------------------------- configurations */

static void preset_scalable(struct model_platform_cfg *c)
{
  struct vtd_model_params *p = &c->vtd;
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

static void preset_first_stage_only(struct model_platform_cfg *c)
{
  preset_scalable(c);
  c->vtd.ver = 0x60;
  c->vtd.ssts = false;
  c->vtd.ssads = false;
  c->vtd.sagaw = 0;
  c->vtd.fl5lp = false;
}

static void preset_legacy_regs(struct model_platform_cfg *c) { c->vtd.qi = false; }
static void preset_legacy_cm(struct model_platform_cfg *c) { c->vtd.cm = true; }
static void preset_scalable_nopt(struct model_platform_cfg *c)
{
  preset_scalable(c);
  c->vtd.pt = false;
}
static void preset_no_superpage(struct model_platform_cfg *c) { c->vtd.sslps = 0; }

static const struct {
  const char *name;
  void (*apply)(struct model_platform_cfg *c);
  const char *what;
} presets[] = {
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

void model_platform_list(void)
{
  for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
    printf("%-22s %s\n", presets[i].name, presets[i].what);
  printf("overrides: <preset>,key=value,... keys: %s\n", model_platform_keys());
}

const char *model_platform_presets(void)
{
  return "vtd-legacy vtd-scalable vtd-first-stage vtd-first-stage-only vtd-legacy-regs "
         "vtd-legacy-cm vtd-scalable-nopt vtd-no-superpage";
}

const char *model_platform_keys(void)
{
  return "haw ver nd rwbf cm zlr psi fl1gp fl5lp esrtps sagaw mgaw fro nfr sslps mamv c qi dt pt "
         "sc srs pasid smts ssts fsts ssads smpwcs rps iro pss compress iotlb engines rootport "
         "pasidw buf";
}

static int set_key(struct model_platform_cfg *c, const char *key, unsigned long long v)
{
  struct vtd_model_params *p = &c->vtd;
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
  U("engines", c->n_engines) B("rootport", c->root_port) U("pasidw", c->pasid_width)
  U("buf", c->engine_buf)
#undef B
#undef U
  return -1;
}

int model_platform_parse(const char *spec, struct model_platform_cfg *cfg, char *err, size_t err_len)
{
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->spec, sizeof(cfg->spec), "%s", spec);
  cfg->has_vtd = true;
  vtd_model_params_default(&cfg->vtd);
  cfg->n_engines = 2;
  cfg->pasid_width = 20;
  cfg->engine_buf = 1u << 20;
  cfg->ecam_base = 0xe0000000ull;
  cfg->end_bus = 15;

  char buf[160];
  snprintf(buf, sizeof(buf), "%s", spec);
  char *save = NULL, *tok = strtok_r(buf, ",", &save);
  if (tok == NULL) {
    snprintf(err, err_len, "empty model spec (presets: %s)", model_platform_presets());
    return -1;
  }
  bool found = false;
  for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]) && !found; i++)
    if (!strcmp(tok, presets[i].name)) {
      if (presets[i].apply)
        presets[i].apply(cfg);
      found = true;
    }
  if (!found) {
    snprintf(err, err_len, "unknown model '%s' (presets: %s)", tok, model_platform_presets());
    return -1;
  }
  while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
    char *eq = strchr(tok, '=');
    char *end = NULL;
    unsigned long long v = eq ? strtoull(eq + 1, &end, 0) : 0;
    if (eq == NULL || *end != '\0') {
      snprintf(err, err_len, "model override '%s' is not key=number", tok);
      return -1;
    }
    *eq = '\0';
    if (set_key(cfg, tok, v)) {
      snprintf(err, err_len, "unknown model key '%s' (keys: %s)", tok, model_platform_keys());
      return -1;
    }
  }
  if (cfg->n_engines < 1 || cfg->n_engines > MODEL_MAX_ENGINES || cfg->pasid_width > 20 ||
      cfg->engine_buf < 4096) {
    snprintf(err, err_len, "engines must be 1..%d, pasidw 0..20, buf >= 4096", MODEL_MAX_ENGINES);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- ACPI tables */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t sum(const uint8_t *p, size_t n)
{
  uint8_t s = 0;
  for (size_t i = 0; i < n; i++)
    s = (uint8_t)(s + p[i]);
  return s;
}

/* Standard description header (ACPI 6.5 5.2.6); the checksum is set by finish(). */
static void header(uint8_t *t, const char *sig, uint8_t rev)
{
  memcpy(t, sig, 4);
  t[8] = rev;
  memcpy(t + 10, "BIOMMU", 6);
  memcpy(t + 16, "MODELPLT", 8);
  put32(t + 24, 1);
  memcpy(t + 28, "BIOM", 4);
  put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
  put32(t + 4, len);
  t[9] = 0;
  t[9] = (uint8_t)(0x100 - sum(t, len));
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

static void build_acpi(struct model_platform *mp)
{
  uint8_t *base = mp->acpi;
  uint64_t phys = mp->acpi_phys;
  /* Layout in one page: RSDP @0, XSDT @0x40, MCFG @0x100, DMAR @0x200. */
  uint8_t *rsdp = base, *xsdt = base + 0x40, *mcfg = base + 0x100, *dmar = base + 0x200;

  header(mcfg, "MCFG", 1);
  put64(mcfg + 44, mp->cfg.ecam_base);
  put16(mcfg + 52, 0);
  mcfg[54] = 0;
  mcfg[55] = mp->cfg.end_bus;
  finish(mcfg, 60);

  uint32_t n_tables = 1, dlen = 0;
  if (mp->cfg.has_vtd) {
    header(dmar, "DMAR", 1);
    dmar[36] = (uint8_t)(mp->cfg.vtd.haw - 1);
    dmar[37] = 0;                    /* no interrupt remapping */
    uint8_t *d = dmar + 48;
    put16(d, 0);                     /* DRHD */
    d[4] = 0x01;                     /* INCLUDE_PCI_ALL: the host bridge and root port too */
    d[5] = 0;                        /* register set: 1 page */
    put16(d + 6, 0);
    put64(d + 8, mp->cfg.vtd.base);
    uint32_t n = 16;
    /* Explicit scopes for the engines (QEMU lists root-bus endpoints the same way). */
    if (mp->cfg.root_port)
      n += dmar_scope(d + n, 2, 0, 1, 0);
    for (unsigned i = mp->cfg.root_port ? 1 : 0; i < mp->cfg.n_engines; i++) {
      uint16_t rid = dma_engine_rid(mp->engines[i]);
      n += dmar_scope(d + n, 1, 0, (uint8_t)((rid >> 3) & 0x1f), (uint8_t)(rid & 7));
    }
    put16(d + 2, (uint16_t)n);
    dlen = 48 + n;
    finish(dmar, dlen);
    n_tables = 2;
  }

  header(xsdt, "XSDT", 1);
  put64(xsdt + 36, phys + 0x100);
  if (n_tables == 2)
    put64(xsdt + 44, phys + 0x200);
  finish(xsdt, 36 + 8 * n_tables);

  memcpy(rsdp, "RSD PTR ", 8);
  memcpy(rsdp + 9, "BIOMMU", 6);
  rsdp[15] = 2;
  put32(rsdp + 20, 36);
  put64(rsdp + 24, phys + 0x40);
  rsdp[8] = (uint8_t)(0x100 - sum(rsdp, 20));
  rsdp[32] = (uint8_t)(0x100 - sum(rsdp, 36));
  mp->rsdp = phys;
}

/* ---------------------------------------------------------------- fabric */

/* The root complex: requests from any function go to the IOMMU (every RID is in the DRHD's
 * scope); without one, straight to memory. */
static enum model_dma_result fabric_dma(void *ctx, const struct model_dma_req *req, void *data)
{
  struct model_platform *mp = ctx;
  if (mp->vtd)
    return vtd_model_dma(mp->vtd, req, data);
  int err = req->write ? model_mem_write(req->addr, data, req->len) : model_mem_read(req->addr, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

struct model_platform *model_platform_create(const struct model_platform_cfg *cfg)
{
  struct model_platform *mp = calloc(1, sizeof(*mp));
  if (mp == NULL)
    return NULL;
  mp->cfg = *cfg;
  if (cfg->has_vtd) {
    mp->vtd = vtd_model_create(&cfg->vtd);
    if (mp->vtd == NULL || vtd_model_register(mp->vtd))
      goto fail;
  }
  mp->pci.ecam_base = cfg->ecam_base;
  mp->pci.end_bus = cfg->end_bus;
  model_pci_fn_init(&mp->host_bridge, 0, 0, 0, 0x1b36, 0x0008, 0x060000, 0);
  model_pci_add(&mp->pci, &mp->host_bridge);
  if (cfg->root_port) {
    model_pci_fn_init(&mp->root_port, 0, 1, 0, 0x1b36, 0x000c, 0x060400, 1);
    model_pci_wr_raw(&mp->root_port, 0x18, 3, 0x010100); /* primary 0, secondary 1, subordinate 1 */
    uint8_t pcie[58] = { 0x42, 0x00 };                   /* version 2, root port (type 4) */
    model_pci_fn_cap(&mp->root_port, 0x10, pcie, sizeof(pcie));
    model_pci_add(&mp->pci, &mp->root_port);
  }
  struct model_bus up = { fabric_dma, mp };
  for (unsigned i = 0; i < cfg->n_engines; i++) {
    bool behind = cfg->root_port && i == 0;
    struct dma_engine_params ep = {
      .bus = behind ? 1 : 0, .dev = behind ? 0 : (uint8_t)(2 + i), .fn = 0,
      .bar = ENGINE_BAR_BASE + 0x1000ull * i, .buf_size = cfg->engine_buf,
      .max_len = cfg->engine_buf, .pasid_width = cfg->pasid_width, .pasid_priv = true,
    };
    mp->engines[i] = dma_engine_create(&ep, up);
    if (mp->engines[i] == NULL || dma_engine_register(mp->engines[i]) ||
        model_pci_add(&mp->pci, dma_engine_pci(mp->engines[i])))
      goto fail;
  }
  if (model_pci_register(&mp->pci))
    goto fail;
  mp->acpi = page_alloc(1, 0xffffffffffffull, &mp->acpi_phys);
  if (mp->acpi == NULL)
    goto fail;
  build_acpi(mp);
  return mp;
fail:
  model_platform_destroy(mp);
  return NULL;
}

void model_platform_destroy(struct model_platform *mp)
{
  if (mp == NULL)
    return;
  for (unsigned i = 0; i < MODEL_MAX_ENGINES; i++)
    dma_engine_destroy(mp->engines[i]);
  vtd_model_destroy(mp->vtd);
  page_free(mp->acpi, 1);
  free(mp);
}

uint64_t model_platform_rsdp(const struct model_platform *mp) { return mp->rsdp; }
struct vtd_model *model_platform_vtd(struct model_platform *mp) { return mp->vtd; }
struct dma_engine *model_platform_engine(struct model_platform *mp, unsigned i)
{
  return i < MODEL_MAX_ENGINES ? mp->engines[i] : NULL;
}

void model_platform_describe(const struct model_platform *mp, char *buf, size_t len)
{
  const struct model_platform_cfg *c = &mp->cfg;
  snprintf(buf, len, "model '%s': VT-d VER 0x%x CAP 0x%llx ECAP 0x%llx HAW %u at 0x%llx; %u engine(s) "
           "1b36:0bad (PASID width %u)%s; arena %llu MiB at 0x%llx", c->spec, c->vtd.ver,
           (unsigned long long)vtd_model_cap(&c->vtd), (unsigned long long)vtd_model_ecap(&c->vtd),
           c->vtd.haw, (unsigned long long)c->vtd.base, c->n_engines, c->pasid_width,
           c->root_port ? ", engine 0 behind a root port" : "",
           (unsigned long long)(host_mem_size() >> 20), (unsigned long long)host_mem_base());
}
