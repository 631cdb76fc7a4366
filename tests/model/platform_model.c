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
  void *model2;                  /* the second unit (cfg.n_units == 2) */
  _Alignas(8) unsigned char params2[MODEL_PARAMS_MAX];
  uint16_t unit2_rid;            /* the requester ID the second unit translates */
  uint16_t bridge_alias;         /* what the PCIe-to-PCI bridge puts in forwarded requests */
  struct model_pci pci;
  struct model_pci_fn host_bridge, root_port, pci_bridge;
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
  return append_words(buf, sizeof(buf), &n, "engines rootport pasidw buf nvme rpacs pcibridge mf mfacs units");
}

void model_platform_groups_topology(struct model_platform_cfg *c)
{
  c->root_port = true;
  c->root_port_acs = true;
  c->pci_bridge = true;
  c->multifunction = true;
  c->n_engines = 4;
}

/* Platform keys first, then the kind's. */
static int set_key(struct model_platform_cfg *c, const char *key, unsigned long long v)
{
  if (!strcmp(key, "engines")) { c->n_engines = (unsigned)v; return 0; }
  if (!strcmp(key, "rootport")) { c->root_port = v != 0; return 0; }
  if (!strcmp(key, "pasidw")) { c->pasid_width = (unsigned)v; return 0; }
  if (!strcmp(key, "buf")) { c->engine_buf = (uint32_t)v; return 0; }
  if (!strcmp(key, "nvme")) { c->nvme = (unsigned)v; return 0; }
  if (!strcmp(key, "rpacs")) { c->root_port_acs = v != 0; return 0; }
  if (!strcmp(key, "pcibridge")) { c->pci_bridge = v != 0; return 0; }
  if (!strcmp(key, "mf")) { c->multifunction = v != 0; return 0; }
  if (!strcmp(key, "mfacs")) { c->multifunction_acs = v != 0; return 0; }
  if (!strcmp(key, "units")) { c->n_units = (unsigned)v; return 0; }
  return c->kind ? c->kind->set_key(c->params, key, v) : -1;
}

int model_platform_parse(const char *spec, struct model_platform_cfg *cfg, char *err, size_t err_len)
{
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->spec, sizeof(cfg->spec), "%s", spec);
  cfg->n_engines = 2;
  cfg->n_units = 1;
  cfg->root_port_acs = true; /* like QEMU's pcie-root-port (its group holds only itself) */
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
      cfg->engine_buf < 4096 || cfg->nvme > 2 || cfg->n_units < 1 || cfg->n_units > 2) {
    snprintf(err, err_len, "engines must be 1..%d, pasidw 0..20, buf >= 4096, nvme 0..2, units 1..2",
             MODEL_MAX_ENGINES);
    return -1;
  }
  if ((cfg->pci_bridge && !cfg->root_port) || (cfg->multifunction && cfg->n_engines < 3) ||
      (cfg->n_units == 2 && (cfg->kind == NULL || cfg->kind->second_unit == NULL ||
                             cfg->n_engines < 2))) {
    snprintf(err, err_len, "pcibridge needs rootport=1, mf needs engines >= 3, units=2 needs "
             "engines >= 2 and a kind with a second unit (VT-d)");
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
                                  .pci_bridge = mp->cfg.pci_bridge, .n_units = mp->cfg.n_units,
                                  .unit2_rid = mp->unit2_rid, .table_phys = phys + 0x200 };
    if (mp->model2)
      ctx.unit2_base = mp->cfg.kind->base(mp->params2);
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
  if (mp->model2 && req->sid == mp->unit2_rid)
    return mp->cfg.kind->dma(mp->model2, req, data);
  if (mp->model)
    return mp->cfg.kind->dma(mp->model, req, data);
  int err = req->write ? model_mem_write(req->addr, data, req->len) : model_mem_read(req->addr, data, req->len);
  return err ? MODEL_DMA_MEMERR : MODEL_DMA_OK;
}

/* A PCIe-to-PCI bridge takes ownership of requests from its secondary side: they go on with
 * the secondary bus number and devfn 0 (PCIe-to-PCI/PCI-X Bridge spec 1.0, 2.3). */
static enum model_dma_result bridge_dma(void *ctx, const struct model_dma_req *req, void *data)
{
  struct model_platform *mp = ctx;
  struct model_dma_req fwd = *req;
  fwd.sid = mp->bridge_alias;
  return fabric_dma(mp, &fwd, data);
}

/* ACS extended capability (7.7.11): capability register, control register 0. */
static void add_acs(struct model_pci_fn *f, uint16_t bits)
{
  uint8_t body[4] = { (uint8_t)bits, (uint8_t)(bits >> 8), 0, 0 };
  uint16_t off = model_pci_fn_ext_cap(f, 0x000d, 1, body, sizeof(body));
  /* ACS Control (PCIe 6.0 7.7.8.3): resets to 0; each implemented control is RW. */
  model_pci_set_wmask(f, (uint16_t)(off + 6), 2, bits);
}

/* Where engine i sits: behind the root port (and the bridge), in the multifunction device
 * 00:05 (engines 1 and 2), or alone on the root bus. */
static void engine_place(const struct model_platform_cfg *cfg, unsigned i, struct dma_engine_params *ep)
{
  ep->fn = 0;
  if (cfg->root_port && i == 0) {
    ep->bus = cfg->pci_bridge ? 2 : 1;
    ep->dev = cfg->pci_bridge ? 1 : 0;
  } else if (cfg->multifunction && (i == 1 || i == 2)) {
    ep->bus = 0;
    ep->dev = 5;
    ep->fn = (uint8_t)(i - 1);
  } else {
    ep->bus = 0;
    ep->dev = (uint8_t)(i < 2 ? 2 + i : 6 + i); /* 00:04.0 is the AMD-Vi function */
  }
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
  if (cfg->n_units == 2) {
    memcpy(mp->params2, cfg->params, sizeof(mp->params2));
    cfg->kind->second_unit(mp->params2);
    mp->model2 = cfg->kind->create(mp->params2);
    if (mp->model2 == NULL)
      goto fail;
  }
  mp->pci.ecam_base = cfg->ecam_base;
  mp->pci.end_bus = cfg->end_bus;
  model_pci_fn_init(&mp->host_bridge, 0, 0, 0, 0x1b36, 0x0008, 0x060000, 0);
  model_pci_add(&mp->pci, &mp->host_bridge);
  if (cfg->root_port) {
    model_pci_fn_init(&mp->root_port, 0, 1, 0, 0x1b36, 0x000c, 0x060400, 1);
    /* primary 0, secondary 1, subordinate 1 (2 with the bridge below) */
    model_pci_wr_raw(&mp->root_port, 0x18, 3, cfg->pci_bridge ? 0x020100 : 0x010100);
    uint8_t pcie[58] = { 0x42, 0x00 };                   /* version 2, root port (type 4) */
    model_pci_fn_cap(&mp->root_port, 0x10, pcie, sizeof(pcie));
    if (cfg->root_port_acs)
      add_acs(&mp->root_port, 0x1f);
    model_pci_add(&mp->pci, &mp->root_port);
  }
  if (cfg->pci_bridge) {
    model_pci_fn_init(&mp->pci_bridge, 1, 0, 0, 0x1b36, 0x000e, 0x060400, 1);
    model_pci_wr_raw(&mp->pci_bridge, 0x18, 3, 0x020201); /* primary 1, secondary 2, subordinate 2 */
    uint8_t pcie[58] = { 0x72, 0x00 };                    /* version 2, PCIe-to-PCI bridge (type 7) */
    model_pci_fn_cap(&mp->pci_bridge, 0x10, pcie, sizeof(pcie));
    model_pci_add(&mp->pci, &mp->pci_bridge);
    mp->bridge_alias = 2 << 8;
  }
  struct model_bus up = { fabric_dma, mp }, behind_bridge = { bridge_dma, mp };
  for (unsigned i = 0; i < cfg->n_engines; i++) {
    struct dma_engine_params ep = {
      .bar = ENGINE_BAR_BASE + 0x1000ull * i, .buf_size = cfg->engine_buf,
      .max_len = cfg->engine_buf, .pasid_width = cfg->pasid_width, .pasid_priv = true,
    };
    engine_place(cfg, i, &ep);
    struct model_bus port = cfg->pci_bridge && i == 0 ? behind_bridge : up;
    if (i == 0 && cfg->nvme) {
      struct nvme_model_params np = { .bus = ep.bus, .dev = ep.dev, .fn = ep.fn, .bar = NVME_BAR_BASE,
                                       .media_bytes = NVME_MEDIA_BYTES, .compare = cfg->nvme == 1 };
      mp->nvme = nvme_model_create(&np, port);
      if (mp->nvme == NULL || nvme_model_register(mp->nvme) ||
          model_pci_add(&mp->pci, nvme_model_pci(mp->nvme)))
        goto fail;
      continue;
    }
    mp->engines[i] = dma_engine_create(&ep, port);
    if (mp->engines[i] == NULL || dma_engine_register(mp->engines[i]) ||
        model_pci_add(&mp->pci, dma_engine_pci(mp->engines[i])))
      goto fail;
    struct model_pci_fn *f = dma_engine_pci(mp->engines[i]);
    if (cfg->multifunction && (i == 1 || i == 2)) {
      f->cfg[0x0e] |= 0x80; /* Multi-Function Device (7.5.1.1.9) */
      if (cfg->multifunction_acs)
        add_acs(f, 0x000c); /* RR CR */
    }
  }
  if (cfg->n_units == 2)
    mp->unit2_rid = dma_engine_rid(mp->engines[cfg->n_engines - 1]);
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
  if (mp->model2)
    mp->cfg.kind->destroy(mp->model2);
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
  snprintf(buf, len, "model '%s': %s%s; %u engine(s) 1b36:0bad (PASID width %u)%s%s%s%s%s%s; arena "
           "%llu MiB at 0x%llx", c->spec, unit,
           c->n_units == 2 ? " + a 39-bit second unit for the last engine" : "", c->n_engines,
           c->pasid_width, c->root_port ? ", engine 0 behind a root port" : "",
           c->root_port && c->root_port_acs ? " with ACS" : "",
           c->pci_bridge ? " and a PCIe-to-PCI bridge (alias 02:00.0)" : "",
           c->multifunction ? ", engines 1-2 multifunction 00:05" : "",
           c->multifunction && c->multifunction_acs ? " with ACS" : "",
           c->nvme ? (c->nvme == 1 ? ", engine 0 is an NVMe controller 1b36:0bae"
                                   : ", engine 0 is an NVMe controller 1b36:0bae without Compare") : "",
           (unsigned long long)(host_mem_size() >> 20), (unsigned long long)host_mem_base());
}
