#include "tests/scenarios/dma_env.h"

#include <stdio.h>
#include <string.h>

#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/core/group.h"

unsigned dma_env_initiator_addr_bits;

bool dma_env_ok(struct dma_env *env, int err, const char *what)
{
  if (err == 0)
    return true;
  bool ini_err = err <= -200;
  const char *name = ini_err ? initiator_strerror(err) : iommu_strerror(err);
  const char *said = ini_err && env->ini.last_status[0] ? env->ini.last_status : "";
  if (err == INITIATOR_ENOTSUP)
    skip(env->id, env->ctx->tag, "%s: initiator %s cannot: %s", what, env->ini.name, said);
  else
    report(env->id, env->ctx->tag, false, "%s failed: %s%s%s", what, name, said[0] ? ": " : "", said);
  return false;
}

/* Reports the skip for the first needed feature the unit lacks. */
static bool skip_for_gap(struct dma_env *env, const enum iommu_feature *needs, unsigned n_needs)
{
  for (unsigned i = 0; i < n_needs; i++) {
    const char *gap = iommu_feature_gap(env->unit, needs[i]);
    if (gap) {
      skip(env->id, env->ctx->tag, "%s", gap);
      return true;
    }
  }
  return false;
}

bool dma_env_skip_unprobed(const char *id, const struct scenario_ctx *ctx)
{
  const struct iommu_unit *u = ctx->unit;
  if (u->probed && u->probe_err == 0)
    return false;
  /* Nothing read from such a unit means anything: name the failure, not a field. */
  skip(id, ctx->tag, "unit probe failed: %s (%s at 0x%llx, see discover.caps)",
       u->probed ? iommu_strerror(u->probe_err) : "not probed", u->source,
       (unsigned long long)u->base);
  return true;
}

bool dma_env_open(struct dma_env *env, struct scenario_ctx *ctx, const char *id,
                  const enum iommu_feature *needs, unsigned n_needs)
{
  memset(env, 0, sizeof(*env));
  env->id = id;
  env->ctx = ctx;
  env->unit = ctx->unit;
  struct platform *plat = ctx->plat;
  if (env->unit == NULL) {
    skip(id, ctx->tag, "ACPI describes no IOMMU");
    return false;
  }
  if (dma_env_skip_unprobed(id, ctx))
    return false;
  const struct pci_dev *d = platform_initiator(plat);
  if (d == NULL) {
    skip(id, ctx->tag, "no DMA initiator found (no edu 1234:11e8, model engine 1b36:0bad or NVMe class 010802 in PCI)");
    return false;
  }
  char how[128];
  struct iommu_unit *owner = platform_unit_for_rid(plat, d->segment, pci_rid(d), how, sizeof(how));
  if (owner != env->unit) {
    skip(id, ctx->tag, "initiator RID 0x%04x is not translated by %s", pci_rid(d), env->unit->source);
    return false;
  }
  const char *gap = iommu_feature_gap(env->unit, IOMMU_FEAT_DMA);
  if (gap) {
    skip(id, ctx->tag, "%s", gap);
    return false;
  }
  if (skip_for_gap(env, needs, n_needs))
    return false;
  int err = iommu_activate(plat, env->unit);
  if (err) {
    report(id, ctx->tag, false, "enabling %s failed: %s", env->unit->source, iommu_strerror(err));
    return false;
  }
  /* Some answers are only known once the unit runs (AMD: does the event log get written?). */
  if (skip_for_gap(env, needs, n_needs))
    return false;
  if (plat->initiator_claim) { /* the platform firmware keeps it: nothing was touched */
    skip(id, ctx->tag, "initiator unavailable: %s", plat->initiator_claim_why);
    return false;
  }
  err = initiator_open(plat, 0, dma_env_initiator_addr_bits, &env->ini);
  if (err) {
    report(id, ctx->tag, false, "opening the initiator failed: %s", initiator_strerror(err));
    return false;
  }
  env->ini_open = true;
  /* The device as the IOMMU sees its DMA: the alias a bridge substitutes, if any. */
  uint16_t dma_rid = pci_dma_rid(d);
  env->dev = iommu_device_get(plat, env->ini.segment, dma_rid, &err);
  if (env->dev == NULL) {
    report(id, ctx->tag, false, "the core has no device for RID 0x%04x: %s", dma_rid,
           iommu_strerror(err));
    return false;
  }
  dma_env_drain(env);
  env->n_faults = 0;
  return true;
}

int dma_env_attach_group(struct platform *plat, struct iommu_domain *dom,
                         struct iommu_device *dev)
{
  int err = iommu_groups_build(plat);
  struct iommu_group *g = iommu_group_of_rid(dev->segment, dev->rid);
  if (err == IOMMU_OK && g == NULL)
    err = iommu_attach(dom, dev);
  else if (err == IOMMU_OK)
    err = iommu_group_attach(g, dom);
  return err;
}

int dma_env_detach_group(struct iommu_device *dev)
{
  struct iommu_group *g = iommu_group_of_rid(dev->segment, dev->rid);
  if (g && g->domain)
    return iommu_group_detach(g);
  return dev->domain ? iommu_detach(dev) : IOMMU_ENOENT;
}

bool dma_env_attach(struct dma_env *env, struct iommu_domain *dom)
{
  return dma_env_ok(env, dma_env_attach_group(env->ctx->plat, dom, env->dev), "attach");
}

bool dma_env_paging(struct dma_env *env)
{
  if (!dma_env_ok(env, iommu_domain_alloc(env->unit, IOMMU_DOMAIN_PAGING, &env->dom), "domain_alloc"))
    return false;
  if (!dma_env_attach(env, env->dom))
    return false;
  return dma_env_own(env);
}

bool dma_env_own(struct dma_env *env)
{
  if (env->ini.own_pages == 0)
    return true;
  uint64_t iova = env->ini.own_phys;
  if (env->dom->type == IOMMU_DOMAIN_PAGING) {
    iova = DMA_ENV_OWN_IOVA;
    if (!dma_env_ok(env, iommu_map(env->dom, iova, env->ini.own_phys, env->ini.own_pages * 4096ull,
                                   IOMMU_PROT_READ | IOMMU_PROT_WRITE),
                    "map the initiator's queues"))
      return false;
  }
  return dma_env_ok(env, env->ini.set_own_iova(&env->ini, iova), "starting the initiator");
}

void dma_env_source(struct dma_env *env, uint8_t *p, size_t len, uint32_t seed)
{
  if (env->ini.fixed_buffer)
    memcpy(p, env->ini.fixed_buffer, len < env->ini.max_len ? len : env->ini.max_len);
  else
    dma_fill_pattern(p, len, seed);
}

void dma_env_close(struct dma_env *env)
{
  if (env->ini_open) /* the device stops before its domain goes away (NVMe: reset) */
    env->ini.release(&env->ini);
  if (env->dev)
    dma_env_detach_group(env->dev);
  if (env->dom)
    iommu_domain_free(env->dom);
  if (env->unit && env->unit->active)
    dma_env_drain(env); /* leave no fault behind for the next scenario */
  for (unsigned i = 0; i < env->n_bufs; i++)
    page_free(env->bufs[i].p, env->bufs[i].pages);
  env->n_bufs = 0;
}

struct dma_buf *dma_env_buf(struct dma_env *env, unsigned pages)
{
  if (env->n_bufs == sizeof(env->bufs) / sizeof(env->bufs[0]))
    return NULL;
  unsigned bits = env->ini.addr_bits;
  uint64_t limit = bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
  struct dma_buf *b = &env->bufs[env->n_bufs];
  b->p = page_alloc(pages, limit, &b->phys);
  if (b->p == NULL) {
    report(env->id, env->ctx->tag, false, "no %u free page(s) below 0x%llx", pages,
           (unsigned long long)limit);
    return NULL;
  }
  b->pages = pages;
  env->n_bufs++;
  return b;
}

void dma_fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
  }
}

void dma_env_drain(struct dma_env *env)
{
  if (!env->unit->active)
    return;
  unsigned n = 0;
  bool ovf = false;
  int err = iommu_drain_faults(env->unit, env->faults + env->n_faults,
                               DMA_ENV_MAX_FAULTS - env->n_faults, &n, &ovf);
  if (err) {
    env->drain_err = err;
    return;
  }
  env->n_faults += n;
  env->overflow = env->overflow || ovf;
}

const struct iommu_fault *dma_env_find_fault(const struct dma_env *env, uint64_t iova, bool write,
                                             const enum iommu_fault_kind *kinds, unsigned n_kinds)
{
  for (unsigned i = 0; i < env->n_faults; i++) {
    const struct iommu_fault *f = &env->faults[i];
    if (f->source_id != env->dev->rid)
      continue;
    /* A record without an address (SMMUv3 C_BAD_*) is matched by source and kind alone. */
    if (!f->no_addr && ((f->addr >> 12) != (iova >> 12) || f->is_write != write))
      continue;
    bool kind_ok = n_kinds == 0;
    for (unsigned k = 0; k < n_kinds; k++)
      kind_ok = kind_ok || f->kind == kinds[k] ||
                (f->alt_kind != IOMMU_FAULT_OTHER && f->alt_kind == kinds[k]);
    if (kind_ok)
      return f;
  }
  return NULL;
}

void dma_fault_text(const struct iommu_fault *f, char *buf, size_t len)
{
  int n = f->no_addr
              ? snprintf(buf, len, "source 0x%04x (record has no address) reason 0x%x (%s)",
                         f->source_id, f->reason, f->reason_name)
              : snprintf(buf, len, "source 0x%04x addr 0x%llx %s reason 0x%x (%s)", f->source_id,
                         (unsigned long long)f->addr, f->is_write ? "write" : "read", f->reason,
                         f->reason_name);
  if (f->pasid_present && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, " PASID 0x%x", f->pasid);
}
