/* Model platform: ACPI tables, PCI topology and the IOMMU model (platform_model.h).
 * Table layouts: ACPI 6.5 5.2.5 (RSDP), 5.2.8 (XSDT); PCI Firmware 3.3 4.1.2 (MCFG);
 * the IOMMU's own table comes from its kind (model_kind.h). */
#include "tests/model/platform_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "tests/model/dma_engine.h"
#include "tests/model/nvme_model.h"
#include "tests/model/pci_model.h"

#define ENGINE_BAR_BASE 0xfe000000ull
#define NVME_BAR_BASE 0xfe100000ull
#define NVME_MEDIA_BYTES (1u << 20)

struct model_platform {
  struct model_platform_cfg cfg;
  void *model;                   /* the IOMMU model of cfg.kind */
  struct model_pci pci;
  struct model_pci_fn host_bridge, root_port;
  struct dma_engine *engines[MODEL_MAX_ENGINES];
  struct nvme_model *nvme;       /* in engine 0's place when cfg.nvme */
  uint8_t *acpi;
  uint64_t acpi_phys;
  uint64_t rsdp;
};

/* ---------------------------------------------------------------- configurations */

/* Every model kind the platform can host. */
static const struct model_kind *const kinds[] = { &vtd_model_kind, &amd_model_kind, &smmuv3_model_kind };
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

void model_platform_list(void)
{
  for (size_t k = 0; k < N_KINDS; k++)
    for (unsigned i = 0; i < kinds[k]->n_presets; i++)
      printf("%-22s %s\n", kinds[k]->presets[i].name, kinds[k]->presets[i].what);
  printf("overrides: <preset>,key=value,... keys: %s\n", model_platform_keys());
}

static char *append_words(char *buf, size_t len, size_t *n, const char *words)
{
  int w = snprintf(buf + *n, len - *n, "%s%s", *n ? " " : "", words);
  if (w > 0 && (size_t)w < len - *n)
    *n += (size_t)w;
  return buf;
}

const char *model_platform_presets(void)
{
  static char buf[512];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < N_KINDS; k++)
    for (unsigned i = 0; i < kinds[k]->n_presets; i++)
      append_words(buf, sizeof(buf), &n, kinds[k]->presets[i].name);
  return buf;
}

const char *model_platform_keys(void)
{
  static char buf[768];
  size_t n = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < N_KINDS; k++)
    append_words(buf, sizeof(buf), &n, kinds[k]->keys);
  return append_words(buf, sizeof(buf), &n, "engines rootport pasidw buf nvme");
}

/* Platform keys first, then the kind's. */
static int set_key(struct model_platform_cfg *c, const char *key, unsigned long long v)
{
  if (!strcmp(key, "engines")) { c->n_engines = (unsigned)v; return 0; }
  if (!strcmp(key, "rootport")) { c->root_port = v != 0; return 0; }
  if (!strcmp(key, "pasidw")) { c->pasid_width = (unsigned)v; return 0; }
  if (!strcmp(key, "buf")) { c->engine_buf = (uint32_t)v; return 0; }
  if (!strcmp(key, "nvme")) { c->nvme = (unsigned)v; return 0; }
  return c->kind ? c->kind->set_key(c->params, key, v) : -1;
}

int model_platform_parse(const char *spec, struct model_platform_cfg *cfg, char *err, size_t err_len)
{
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->spec, sizeof(cfg->spec), "%s", spec);
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
  for (size_t k = 0; k < N_KINDS && !found; k++)
    for (unsigned i = 0; i < kinds[k]->n_presets && !found; i++)
      if (!strcmp(tok, kinds[k]->presets[i].name)) {
        cfg->kind = kinds[k];
        cfg->kind->params_default(cfg->params);
        if (kinds[k]->presets[i].apply)
          kinds[k]->presets[i].apply(cfg->params, cfg);
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
      cfg->engine_buf < 4096 || cfg->nvme > 2) {
    snprintf(err, err_len, "engines must be 1..%d, pasidw 0..20, buf >= 4096, nvme 0..2", MODEL_MAX_ENGINES);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- ACPI tables */

void model_acpi_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
void model_acpi_put32(uint8_t *p, uint32_t v) { model_acpi_put16(p, (uint16_t)v); model_acpi_put16(p + 2, (uint16_t)(v >> 16)); }
void model_acpi_put64(uint8_t *p, uint64_t v) { model_acpi_put32(p, (uint32_t)v); model_acpi_put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t sum(const uint8_t *p, size_t n)
{
  uint8_t s = 0;
  for (size_t i = 0; i < n; i++)
    s = (uint8_t)(s + p[i]);
  return s;
}

void model_acpi_header(uint8_t *t, const char *sig, uint8_t rev)
{
  memcpy(t, sig, 4);
  t[8] = rev;
  memcpy(t + 10, "BIOMMU", 6);
  memcpy(t + 16, "MODELPLT", 8);
  model_acpi_put32(t + 24, 1);
  memcpy(t + 28, "BIOM", 4);
  model_acpi_put32(t + 32, 1);
}

void model_acpi_finish(uint8_t *t, uint32_t len)
{
  model_acpi_put32(t + 4, len);
  t[9] = 0;
  t[9] = (uint8_t)(0x100 - sum(t, len));
}

static void build_acpi(struct model_platform *mp)
{
  uint8_t *base = mp->acpi;
  uint64_t phys = mp->acpi_phys;
  /* Layout in one page: RSDP @0, XSDT @0x40, MCFG @0x100, the IOMMU's table @0x200. */
  uint8_t *rsdp = base, *xsdt = base + 0x40, *mcfg = base + 0x100, *iommu = base + 0x200;

  model_acpi_header(mcfg, "MCFG", 1);
  model_acpi_put64(mcfg + 44, mp->cfg.ecam_base);
  model_acpi_put16(mcfg + 52, 0);
  mcfg[54] = 0;
  mcfg[55] = mp->cfg.end_bus;
  model_acpi_finish(mcfg, 60);

  uint32_t n_tables = 1;
  if (mp->cfg.kind) {
    struct model_acpi_ctx ctx = { .n_engines = mp->cfg.n_engines, .root_port = mp->cfg.root_port,
                                  .table_phys = phys + 0x200 };
    for (unsigned i = 0; i < mp->cfg.n_engines; i++)
      ctx.engine_rids[i] = i == 0 && mp->nvme ? nvme_model_rid(mp->nvme) : dma_engine_rid(mp->engines[i]);
    if (mp->cfg.kind->acpi_table(mp->cfg.params, &ctx, iommu, PAGE_SIZE - 0x200))
      n_tables = 2;
  }

  model_acpi_header(xsdt, "XSDT", 1);
  model_acpi_put64(xsdt + 36, phys + 0x100);
  if (n_tables == 2)
    model_acpi_put64(xsdt + 44, phys + 0x200);
  model_acpi_finish(xsdt, 36 + 8 * n_tables);

  memcpy(rsdp, "RSD PTR ", 8);
  memcpy(rsdp + 9, "BIOMMU", 6);
  rsdp[15] = 2;
  model_acpi_put32(rsdp + 20, 36);
  model_acpi_put64(rsdp + 24, phys + 0x40);
  rsdp[8] = (uint8_t)(0x100 - sum(rsdp, 20));
  rsdp[32] = (uint8_t)(0x100 - sum(rsdp, 36));
  mp->rsdp = phys;
}

/* ---------------------------------------------------------------- fabric */

/* The root complex: requests from any function go to the IOMMU (every RID is in its scope);
 * without one, straight to memory. */
static enum model_dma_result fabric_dma(void *ctx, const struct model_dma_req *req, void *data)
{
  struct model_platform *mp = ctx;
  if (mp->model)
    return mp->cfg.kind->dma(mp->model, req, data);
  int err = req->write ? model_mem_write(req->addr, data, req->len) : model_mem_read(req->addr, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

struct model_platform *model_platform_create(const struct model_platform_cfg *cfg)
{
  struct model_platform *mp = calloc(1, sizeof(*mp));
  if (mp == NULL)
    return NULL;
  mp->cfg = *cfg;
  if (cfg->kind) {
    mp->model = cfg->kind->create(cfg->params);
    if (mp->model == NULL)
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
    if (i == 0 && cfg->nvme) {
      struct nvme_model_params np = { .bus = ep.bus, .dev = ep.dev, .fn = ep.fn, .bar = NVME_BAR_BASE,
                                       .media_bytes = NVME_MEDIA_BYTES, .compare = cfg->nvme == 1 };
      mp->nvme = nvme_model_create(&np, up);
      if (mp->nvme == NULL || nvme_model_register(mp->nvme) ||
          model_pci_add(&mp->pci, nvme_model_pci(mp->nvme)))
        goto fail;
      continue;
    }
    mp->engines[i] = dma_engine_create(&ep, up);
    if (mp->engines[i] == NULL || dma_engine_register(mp->engines[i]) ||
        model_pci_add(&mp->pci, dma_engine_pci(mp->engines[i])))
      goto fail;
  }
  if (cfg->kind && cfg->kind->add_pci && cfg->kind->add_pci(mp->model, cfg->params, &mp->pci))
    goto fail;
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
  nvme_model_destroy(mp->nvme);
  if (mp->model)
    mp->cfg.kind->destroy(mp->model);
  page_free(mp->acpi, 1);
  free(mp);
}

uint64_t model_platform_rsdp(const struct model_platform *mp) { return mp->rsdp; }
struct vtd_model *model_platform_vtd(struct model_platform *mp)
{
  return mp->cfg.kind == &vtd_model_kind ? mp->model : NULL;
}
struct dma_engine *model_platform_engine(struct model_platform *mp, unsigned i)
{
  return i < MODEL_MAX_ENGINES ? mp->engines[i] : NULL;
}

void model_platform_describe(const struct model_platform *mp, char *buf, size_t len)
{
  const struct model_platform_cfg *c = &mp->cfg;
  char unit[256] = "no IOMMU";
  if (c->kind)
    c->kind->describe(c->params, unit, sizeof(unit));
  snprintf(buf, len, "model '%s': %s; %u engine(s) 1b36:0bad (PASID width %u)%s%s; arena %llu MiB "
           "at 0x%llx", c->spec, unit, c->n_engines, c->pasid_width,
           c->root_port ? ", engine 0 behind a root port" : "",
           c->nvme ? (c->nvme == 1 ? ", engine 0 is an NVMe controller 1b36:0bae"
                                   : ", engine 0 is an NVMe controller 1b36:0bae without Compare") : "",
           (unsigned long long)(host_mem_size() >> 20), (unsigned long long)host_mem_base());
}
