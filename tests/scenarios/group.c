/* group.* and container.*: IOMMU groups formed from the PCI topology (aliases, ACS,
 * multifunction), whole-group attach, group events, and containers (IO address spaces
 * shared by groups, on one or several units). Every check moves real DMA: a pattern is read
 * by the device from one IOVA and written back to another, and lands or not. These run once
 * per platform (tag "core"): a group or a container may span units. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "iommu/core/container.h"
#include "tests/scenarios/dma_env.h"

#define PAGE 4096u
#define XFER 256u
#define SENTINEL 0x5a
#define IOVA_SRC 0x300000ull
#define IOVA_DST 0x301000ull
#define IOVA_UNMAPPED 0x800000ull
#define IOVA_LATER_SRC 0x302000ull
#define IOVA_LATER_DST 0x303000ull

/* One initiator of the platform, the unit translating it and its group. */
struct gdev {
  unsigned index;               /* initiator index (initiator_open) */
  const struct pci_dev *d;
  struct iommu_unit *unit;
  struct iommu_group *g;
  struct dma_initiator own;     /* opened here (index > 0) */
  struct dma_initiator *ini;    /* the open handle: env.ini for index 0 */
};

struct genv {
  struct scenario_ctx uctx;     /* the scenario's context with initiator 0's unit */
  struct dma_env e;             /* initiator 0, buffers, skip logic */
  bool e_open;
  unsigned n;
  struct gdev dev[PLATFORM_MAX_INITIATORS];
  struct dma_buf *src, *dst;
  const char *skipped_kind;     /* an initiator left out (NVMe), for the skip reason */
  char text[512];
  size_t len;
};

static void say(struct genv *ge, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct genv *ge, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (ge->len < sizeof(ge->text)) {
    int w = vsnprintf(ge->text + ge->len, sizeof(ge->text) - ge->len, fmt, ap);
    if (w > 0)
      ge->len += (size_t)w;
  }
  va_end(ap);
}

static const char *bdf(const struct pci_dev *d, char *buf, size_t len)
{
  snprintf(buf, len, "%02x:%02x.%u", d->bus, d->dev, d->fn);
  return buf;
}

/* Activates every unit that translates an initiator and opens every initiator. On false the
 * check was reported (skip or failure). */
static bool genv_open(struct genv *ge, struct scenario_ctx *ctx, const char *id)
{
  memset(ge, 0, sizeof(*ge));
  struct platform *plat = ctx->plat;
  if (plat->n_iommus == 0 && plat->n_bad_tables) { /* present but malformed is not absent */
    const struct platform_bad_table *bt = &plat->bad_tables[0];
    skip(id, ctx->tag, "no usable IOMMU: ACPI %s is malformed (%s, see discover.acpi)", bt->sig,
         acpi_strerror(bt->err));
    return false;
  }
  if (plat->n_iommus == 0) {
    skip(id, ctx->tag, "ACPI describes no IOMMU");
    return false;
  }
  const struct pci_dev *first = platform_initiator(plat);
  char how[128];
  ge->uctx = *ctx;
  ge->uctx.unit = first ? platform_unit_for_rid(plat, first->segment, pci_rid(first), how, sizeof(how))
                        : &plat->iommus[0];
  if (ge->uctx.unit == NULL)
    ge->uctx.unit = &plat->iommus[0]; /* dma_env_open names why it cannot run */
  ge->e_open = true;
  if (!dma_env_open(&ge->e, &ge->uctx, id, NULL, 0))
    return false;
  int err = iommu_groups_build(plat);
  if (err) {
    report(id, ctx->tag, false, "forming IOMMU groups failed: %s", iommu_strerror(err));
    return false;
  }
  for (unsigned i = 0; i < plat->n_initiators; i++) {
    const struct pci_dev *d = &plat->pci.devs[plat->initiators[i]];
    struct iommu_unit *u = platform_unit_for_rid(plat, d->segment, pci_rid(d), how, sizeof(how));
    if (u == NULL || iommu_feature_gap(u, IOMMU_FEAT_DMA) || iommu_activate(plat, u))
      continue; /* an initiator nothing here can translate takes no part */
    struct gdev *g = &ge->dev[ge->n];
    g->index = i;
    g->d = d;
    g->unit = u;
    g->g = iommu_group_of_rid(d->segment, pci_rid(d));
    if (g->g == NULL)
      continue;
    if (i == 0) {
      g->ini = &ge->e.ini;
    } else {
      if (initiator_open(plat, i, dma_env_initiator_addr_bits, &g->own))
        continue;
      g->ini = &g->own;
    }
    if (g->ini->own_pages || g->ini->fixed_buffer) {
      /* Its commands fetch queues by DMA: a blocked probe would take the controller down. */
      if (g->ini == &g->own)
        g->own.release(&g->own);
      ge->skipped_kind = initiator_kind_name(d);
      continue;
    }
    ge->n++;
  }
  if (ge->n == 0 && ge->skipped_kind) {
    skip(id, ctx->tag, "initiator %s fetches its own queues by DMA (blocking it would stop the "
         "controller): these checks need an initiator that moves data only (edu, model engine)",
         ge->skipped_kind);
    return false;
  }
  ge->src = dma_env_buf(&ge->e, 1);
  ge->dst = ge->src ? dma_env_buf(&ge->e, 1) : NULL;
  return ge->dst != NULL;
}

static void genv_close(struct genv *ge)
{
  for (unsigned i = 0; i < ge->n; i++) {
    if (ge->dev[i].g && ge->dev[i].g->domain && ge->dev[i].g->unit->active)
      iommu_group_detach(ge->dev[i].g);
    if (ge->dev[i].ini == &ge->dev[i].own && ge->dev[i].own.release)
      ge->dev[i].own.release(&ge->dev[i].own);
  }
  if (ge->e_open)
    dma_env_close(&ge->e);
}

/* The device reads a fresh pattern at src_iova and writes it to dst_iova: true when the
 * destination page holds it. */
static bool probe_at(struct genv *ge, struct gdev *g, uint64_t src_iova, uint64_t dst_iova,
                     uint32_t seed)
{
  dma_fill_pattern(ge->src->p, XFER, seed);
  memset(ge->dst->p, SENTINEL, PAGE);
  int err = g->ini->dma_read(g->ini, IOMMU_NO_PASID, src_iova, XFER);
  if (err == 0)
    err = g->ini->dma_write(g->ini, IOMMU_NO_PASID, dst_iova, XFER);
  return err == 0 && memcmp(ge->dst->p, ge->src->p, XFER) == 0;
}

static bool probe(struct genv *ge, struct gdev *g, uint32_t seed)
{
  return probe_at(ge, g, IOVA_SRC, IOVA_DST, seed);
}

/* After a probe that must be blocked: the destination page is as it was. */
static bool untouched(const struct genv *ge)
{
  for (unsigned i = 0; i < PAGE; i++)
    if (ge->dst->p[i] != SENTINEL)
      return false;
  return true;
}

static int map_pair(struct genv *ge, struct iommu_domain *dom)
{
  int err = iommu_map(dom, IOVA_SRC, ge->src->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
  return err ? err : iommu_map(dom, IOVA_DST, ge->dst->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
}

/* A paging domain on the group's unit with the probe pages mapped; NULL -> reported. */
static struct iommu_domain *paging_domain(struct genv *ge, struct iommu_unit *u)
{
  struct iommu_domain *dom = NULL;
  if (!dma_env_ok(&ge->e, iommu_domain_alloc(u, IOMMU_DOMAIN_PAGING, &dom), "domain_alloc"))
    return NULL;
  if (!dma_env_ok(&ge->e, map_pair(ge, dom), "map")) {
    iommu_domain_free(dom);
    return NULL;
  }
  return dom;
}

/* The first initiator for which want() holds, or NULL. */
static struct gdev *find_dev(struct genv *ge, bool (*want)(const struct gdev *))
{
  for (unsigned i = 0; i < ge->n; i++)
    if (want(&ge->dev[i]))
      return &ge->dev[i];
  return NULL;
}

/* genv_open, then the first initiator for which want() holds; NULL -> reported (the skip
 * names why_none). */
static struct gdev *open_for(struct genv *ge, struct scenario_ctx *ctx, const char *id,
                             bool (*want)(const struct gdev *), const char *why_none)
{
  if (!genv_open(ge, ctx, id))
    return NULL;
  struct gdev *t = find_dev(ge, want);
  if (t == NULL)
    skip(id, ctx->tag, "%s", why_none);
  return t;
}

/* ---------------------------------------------------------------- group.form */

static bool same_group(const struct iommu_group *a, const struct iommu_group *b)
{
  return a->id == b->id && a->unit == b->unit && a->n_members == b->n_members &&
         a->n_rids == b->n_rids && a->reasons == b->reasons &&
         !memcmp(a->members, b->members, sizeof(a->members[0]) * a->n_members) &&
         !memcmp(a->rids, b->rids, sizeof(a->rids[0]) * a->n_rids);
}

static void group_form(struct scenario_ctx *ctx)
{
  static struct iommu_group fresh[IOMMU_MAX_GROUPS];
  struct genv ge;
  if (!genv_open(&ge, ctx, "group.form"))
    goto out;
  unsigned n = iommu_group_count(), n_fresh = 0, shared = 0;
  unsigned by_reason[3] = { 0, 0, 0 };
  char line[400];
  diag("group.form: IOMMU group map (group ID -> functions, requester IDs, why they share)");
  bool dense = true;
  uint32_t last_key = 0;
  for (unsigned i = 0; i < n; i++) {
    const struct iommu_group *g = iommu_group_get(i);
    iommu_group_describe(g, line, sizeof(line));
    diag("  %s", line);
    const struct pci_dev *lo = iommu_group_member(g, 0);
    uint32_t key = (uint32_t)lo->segment << 16 | pci_rid(lo);
    dense = dense && g->id == i && (i == 0 || key > last_key);
    last_key = key;
    if (g->n_members > 1 || g->n_rids > 1)
      shared++;
    for (unsigned r = 0; r < 3; r++)
      by_reason[r] += (g->reasons >> r) & 1u;
  }
  /* Stable: forming again from the same topology gives the same IDs and contents. */
  int ferr = iommu_groups_form(ctx->plat, fresh, IOMMU_MAX_GROUPS, &n_fresh);
  bool stable = ferr == IOMMU_OK && n_fresh == n;
  for (unsigned i = 0; stable && i < n; i++)
    stable = same_group(iommu_group_get(i), &fresh[i]);
  say(&ge, "%u group(s), IDs 0..%u %s; formed again: %s; %u shared (alias %u, ACS %u, "
      "multifunction %u); DMA:", n, n ? n - 1 : 0,
      dense ? "dense, numbered by lowest RID" : "NOT dense/ordered",
      stable ? "identical" : "DIFFERENT", shared, by_reason[0], by_reason[1], by_reason[2]);
  /* Real DMA from the group of every initiator, through a domain attached to the group. */
  bool dma_ok = ge.n > 0;
  for (unsigned i = 0; i < ge.n; i++) {
    struct gdev *g = &ge.dev[i];
    char name[16];
    struct iommu_domain *dom = paging_domain(&ge, g->unit);
    if (dom == NULL)
      goto out;
    int err = iommu_group_attach(g->g, dom);
    bool landed = err == IOMMU_OK && probe(&ge, g, 0x100 + i);
    if (err == IOMMU_OK)
      iommu_group_detach(g->g);
    iommu_domain_free(dom);
    dma_ok = dma_ok && landed;
    say(&ge, " %s (group %u, %u RID(s)) %s;", bdf(g->d, name, sizeof(name)), g->g->id,
        g->g->n_rids, err ? iommu_strerror(err) : landed ? "landed" : "did NOT land");
  }
  report("group.form", ctx->tag, dense && stable && dma_ok, "%s", ge.text);
out:
  genv_close(&ge);
}

/* ---------------------------------------------------------------- group.attach */

static bool multi_rid(const struct gdev *g) { return g->g->n_rids > 1; }

static void group_attach(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_domain *dom = NULL;
  struct gdev *t = open_for(&ge, ctx, "group.attach", multi_rid, "every initiator's group has "
                            "one requester ID (no shared group, no alias): nothing can be "
                            "attached partially");
  if (t == NULL)
    goto out;
  dom = paging_domain(&ge, t->unit);
  if (dom == NULL)
    goto out;
  struct iommu_group *g = t->g;
  char name[16];
  int err;
  struct iommu_device *one = iommu_device_get(ctx->plat, t->d->segment, pci_rid(t->d), &err);
  if (one == NULL) {
    dma_env_ok(&ge.e, err, "device_get");
    goto out;
  }
  /* A single device of the group: refused, nothing attached, its DMA still blocked. */
  int partial = iommu_attach(dom, one);
  bool none_attached = true;
  for (unsigned r = 0; r < g->n_rids; r++) {
    struct iommu_device *dev = iommu_device_get(ctx->plat, g->segment, g->rids[r], &err);
    none_attached = none_attached && dev && dev->domain != dom;
  }
  bool blocked_partial = !probe(&ge, t, 0x200) && untouched(&ge);
  say(&ge, "group %u (%u function(s), %u RID(s)): attaching %s alone: %s, %s, DMA %s; ", g->id,
      g->n_members, g->n_rids, bdf(t->d, name, sizeof(name)), iommu_strerror(partial),
      none_attached ? "no RID attached" : "SOME RID ATTACHED",
      blocked_partial ? "blocked" : "NOT blocked");
  bool ok = partial == IOMMU_EGROUP && none_attached && blocked_partial;
  /* The whole group: every requester ID, DMA from every initiator in it. */
  err = iommu_group_attach(g, dom);
  unsigned with_dom = 0;
  for (unsigned r = 0; r < g->n_rids; r++) {
    int e2;
    struct iommu_device *dev = iommu_device_get(ctx->plat, g->segment, g->rids[r], &e2);
    with_dom += dev && dev->domain == dom;
  }
  say(&ge, "group attach: %s, %u/%u RIDs on the domain; DMA", iommu_strerror(err), with_dom,
      g->n_rids);
  ok = ok && err == IOMMU_OK && with_dom == g->n_rids;
  unsigned members = 0;
  for (unsigned i = 0; i < ge.n; i++) {
    if (ge.dev[i].g != g)
      continue;
    bool landed = probe(&ge, &ge.dev[i], 0x210 + i);
    say(&ge, " %s %s", bdf(ge.dev[i].d, name, sizeof(name)), landed ? "landed" : "did NOT land");
    ok = ok && landed;
    members++;
  }
  /* Detach: every RID blocked again. */
  err = iommu_group_detach(g);
  unsigned still = 0;
  for (unsigned r = 0; r < g->n_rids; r++) {
    int e2;
    struct iommu_device *dev = iommu_device_get(ctx->plat, g->segment, g->rids[r], &e2);
    still += dev && dev->domain != NULL;
  }
  bool blocked_after = true;
  for (unsigned i = 0; i < ge.n; i++)
    if (ge.dev[i].g == g)
      blocked_after = blocked_after && !probe(&ge, &ge.dev[i], 0x220 + i) && untouched(&ge);
  say(&ge, "; group detach: %s, %u RID(s) still attached, DMA from %u initiator(s) %s",
      iommu_strerror(err), still, members, blocked_after ? "blocked" : "NOT blocked");
  ok = ok && err == IOMMU_OK && still == 0 && blocked_after;
  report("group.attach", ctx->tag, ok, "%s", ge.text);
out:
  genv_close(&ge);
  if (dom)
    iommu_domain_free(dom);
}

/* ---------------------------------------------------------------- group.alias */

static bool carries_alias(const struct gdev *g) { return pci_dma_rid(g->d) != pci_rid(g->d); }

static void group_alias(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_domain *dom = NULL;
  struct gdev *t = open_for(&ge, ctx, "group.alias", carries_alias, "no initiator's DMA carries "
                            "an alias requester ID (none behind a PCIe-to-PCI or conventional "
                            "PCI bridge, no DMA-alias quirk)");
  if (t == NULL)
    goto out;
  const struct pci_dev *d = t->d;
  const struct pci_dma_alias *al = &d->aliases[d->n_aliases - 1];
  uint16_t alias = pci_dma_rid(d);
  char name[16], via[16] = "quirk";
  if (al->via >= 0)
    bdf(&ctx->plat->pci.devs[al->via], via, sizeof(via));
  dom = paging_domain(&ge, t->unit);
  if (dom == NULL)
    goto out;
  say(&ge, "%s (RID 0x%04x) DMA carries 0x%04x (%s %s), group %u; ", bdf(d, name, sizeof(name)),
      pci_rid(d), alias, pci_alias_kind_name(al->kind), via, t->g->id);
  int err = iommu_group_attach(t->g, dom);
  bool landed = err == IOMMU_OK && probe(&ge, t, 0x300);
  say(&ge, "group attached: DMA %s", landed ? "landed" : "did NOT land");
  bool ok = landed;
  /* The fault record names the alias: the ID the IOMMU saw. */
  const char *gap = iommu_feature_gap(t->unit, IOMMU_FEAT_FAULT_RECORDS);
  if (gap == NULL) {
    struct iommu_fault faults[16];
    unsigned nf = 0;
    bool ovf;
    iommu_drain_faults(t->unit, faults, 16, &nf, &ovf);
    memset(ge.dst->p, SENTINEL, PAGE);
    err = t->ini->dma_write(t->ini, IOMMU_NO_PASID, IOVA_UNMAPPED, XFER);
    iommu_drain_faults(t->unit, faults, 16, &nf, &ovf);
    bool named = false;
    for (unsigned i = 0; i < nf; i++)
      named = named || faults[i].source_id == alias;
    say(&ge, "; write to unmapped IOVA 0x%llx: %u fault(s), %s", (unsigned long long)IOVA_UNMAPPED,
        nf, named ? "source is the alias" : "NONE from the alias");
    ok = ok && err == 0 && named;
  } else {
    say(&ge, "; fault source not checked (%s)", gap);
  }
  err = iommu_group_detach(t->g);
  bool blocked = !probe(&ge, t, 0x301) && untouched(&ge);
  say(&ge, "; after group detach (%s): DMA %s", iommu_strerror(err), blocked ? "blocked" : "NOT blocked");
  ok = ok && err == IOMMU_OK && blocked;
  report("group.alias", ctx->tag, ok, "%s", ge.text);
out:
  genv_close(&ge);
  if (dom)
    iommu_domain_free(dom);
}

/* ---------------------------------------------------------------- group.notify */

struct heard {
  unsigned n;
  struct {
    enum iommu_group_event ev;
    unsigned group;
    const struct pci_dev *d;
    bool named;
  } ev[16];
};

static void listener(void *ctx, struct iommu_group *g, enum iommu_group_event ev,
                     const struct pci_dev *d, const char *driver)
{
  struct heard *h = ctx;
  if (h->n < 16) {
    h->ev[h->n].ev = ev;
    h->ev[h->n].group = g->id;
    h->ev[h->n].d = d;
    h->ev[h->n].named = driver && driver[0];
    h->n++;
  }
}

static bool any_dev(const struct gdev *g) { (void)g; return true; }

static void group_notify(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_domain *dom = NULL;
  struct heard own = { 0 }, other = { 0 };
  struct iommu_group *other_g = NULL;
  struct gdev *t = open_for(&ge, ctx, "group.notify", any_dev, "no initiator in an IOMMU group");
  if (t == NULL)
    goto out;
  for (unsigned i = 0; i < iommu_group_count() && other_g == NULL; i++)
    if (iommu_group_get(i) != t->g)
      other_g = iommu_group_get(i);
  dom = paging_domain(&ge, t->unit);
  if (dom == NULL || !dma_env_ok(&ge.e, iommu_group_listen(t->g, listener, &own), "listen") ||
      (other_g && !dma_env_ok(&ge.e, iommu_group_listen(other_g, listener, &other), "listen")))
    goto out;
  int index = (int)(t->d - ctx->plat->pci.devs);
  char name[16];
  int err = iommu_group_attach(t->g, dom);
  bool first = err == IOMMU_OK && probe(&ge, t, 0x400);
  /* Hot removal: the function leaves the group, its DMA is blocked. */
  int rerr = iommu_group_remove_device(ctx->plat, index);
  bool blocked = !probe(&ge, t, 0x401) && untouched(&ge);
  /* Re-added: it joins the group's domain again without being attached by anyone. */
  int aerr = iommu_group_add_device(ctx->plat, index);
  bool again = probe(&ge, t, 0x402);
  /* The driver lets go and binds again. */
  unsigned ini_index = t->index;
  t->ini->release(t->ini);
  memset(t->ini, 0, sizeof(*t->ini)); /* nothing to release if the open fails */
  int oerr = initiator_open(ctx->plat, ini_index, dma_env_initiator_addr_bits, t->ini);
  if (oerr && ini_index == 0)
    ge.e.ini_open = false;
  bool rebound = oerr == 0 && probe(&ge, t, 0x403);
  static const enum iommu_group_event want[] = { IOMMU_GROUP_DEVICE_REMOVE, IOMMU_GROUP_DEVICE_ADD,
                                                 IOMMU_GROUP_DRIVER_UNBIND, IOMMU_GROUP_DRIVER_BIND };
  bool events = own.n == 4;
  for (unsigned i = 0; events && i < 4; i++)
    events = own.ev[i].ev == want[i] && own.ev[i].group == t->g->id && own.ev[i].d == t->d &&
             own.ev[i].named == (i >= 2);
  say(&ge, "group %u listener heard", t->g->id);
  for (unsigned i = 0; i < own.n; i++)
    say(&ge, " %s(%s)", iommu_group_event_name(own.ev[i].ev), bdf(own.ev[i].d, name, sizeof(name)));
  say(&ge, " (want device-remove, device-add, driver-unbind, driver-bind of %s, once each, "
      "drivers named): %s; ", bdf(t->d, name, sizeof(name)), events ? "yes" : "NO");
  if (other_g)
    say(&ge, "group %u listener heard %u event(s); ", other_g->id, other.n);
  say(&ge, "DMA: attached %s, after remove (%s) %s, after add (%s) %s, after unbind+bind %s",
      first ? "landed" : "did NOT land", iommu_strerror(rerr), blocked ? "blocked" : "NOT blocked",
      iommu_strerror(aerr), again ? "landed" : "did NOT land", rebound ? "landed" : "did NOT land");
  bool ok = first && rerr == IOMMU_OK && blocked && aerr == IOMMU_OK && again && rebound &&
            events && other.n == 0;
  report("group.notify", ctx->tag, ok, "%s", ge.text);
out:
  if (t)
    iommu_group_unlisten(t->g, listener, &own);
  if (other_g)
    iommu_group_unlisten(other_g, listener, &other);
  genv_close(&ge);
  if (dom)
    iommu_domain_free(dom);
}

/* ---------------------------------------------------------------- containers */

/* Two initiators in different groups (on one unit when possible); false -> skipped. */
static bool two_groups(struct genv *ge, struct scenario_ctx *ctx, const char *id, bool other_unit,
                       struct gdev **a, struct gdev **b)
{
  *a = *b = NULL;
  for (unsigned i = 0; i < ge->n && *b == NULL; i++)
    for (unsigned j = i + 1; j < ge->n && *b == NULL; j++)
      if (ge->dev[i].g != ge->dev[j].g && (ge->dev[i].unit != ge->dev[j].unit) == other_unit) {
        *a = &ge->dev[i];
        *b = &ge->dev[j];
      }
  if (*b == NULL && !other_unit) /* two groups on different units still share a container */
    return two_groups(ge, ctx, id, true, a, b);
  if (*b == NULL && strcmp(id, "container.replay") == 0)
    skip(id, ctx->tag, "one IOMMU unit translates every initiator group (a second domain needs "
         "initiator groups on 2 units)");
  else if (*b == NULL)
    skip(id, ctx->tag, "needs initiators in 2 IOMMU groups (found %u initiator(s) in %s)", ge->n,
         ge->n == 1 ? "1 group" : "1 group between them");
  return *b != NULL;
}

static unsigned unit_iova_bits(struct iommu_unit *u);

/* An address space every involved initiator can reach and every involved unit translate:
 * the smallest of their widths, at most 32 bits. */
static unsigned container_bits(const struct gdev *a, const struct gdev *b)
{
  unsigned bits = 32;
  for (unsigned i = 0; i < 2; i++) {
    const struct gdev *g = i ? b : a;
    if (g == NULL)
      continue;
    unsigned unit_bits = unit_iova_bits(g->unit);
    if (g->ini->addr_bits < bits)
      bits = g->ini->addr_bits;
    if (unit_bits && unit_bits < bits)
      bits = unit_bits;
  }
  return bits;
}

static int container_map_pair(struct genv *ge, struct iommu_container *c)
{
  int err = iommu_container_map(c, IOVA_SRC, ge->src->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
  return err ? err : iommu_container_map(c, IOVA_DST, ge->dst->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
}

/* container.multi and container.detach share the setup: two groups in one container. */
static bool shared_container(struct genv *ge, struct scenario_ctx *ctx, const char *id,
                             struct iommu_container *c, struct gdev **a, struct gdev **b)
{
  if (!genv_open(ge, ctx, id) || !two_groups(ge, ctx, id, false, a, b))
    return false;
  char why_a[160], why_b[160], na[16], nb[16];
  unsigned replayed;
  if (!dma_env_ok(&ge->e, iommu_container_init(c, container_bits(*a, *b), PAGE), "container init") ||
      !dma_env_ok(&ge->e, iommu_container_attach(c, (*a)->g, &replayed, why_a, sizeof(why_a)), "attach group A") ||
      !dma_env_ok(&ge->e, iommu_container_attach(c, (*b)->g, &replayed, why_b, sizeof(why_b)), "attach group B") ||
      !dma_env_ok(&ge->e, container_map_pair(ge, c), "container map"))
    return false;
  say(ge, "%u-bit container: group %u (%s) %s; group %u (%s) %s; %u domain(s); ", c->iova_bits,
      (*a)->g->id, bdf((*a)->d, na, sizeof(na)), why_a, (*b)->g->id, bdf((*b)->d, nb, sizeof(nb)),
      why_b, c->n_domains);
  return true;
}

static void container_multi(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_container c;
  struct gdev *a, *b;
  memset(&c, 0, sizeof(c));
  if (!shared_container(&ge, ctx, "container.multi", &c, &a, &b))
    goto out;
  /* One map (made once, after both joined) seen by DMA from both groups. */
  bool la = probe(&ge, a, 0x500), lb = probe(&ge, b, 0x501);
  say(&ge, "one map of IOVA 0x%llx/0x%llx: DMA from group %u %s, from group %u %s",
      (unsigned long long)IOVA_SRC, (unsigned long long)IOVA_DST, a->g->id,
      la ? "landed" : "did NOT land", b->g->id, lb ? "landed" : "did NOT land");
  report("container.multi", ctx->tag, la && lb, "%s", ge.text);
out:
  iommu_container_release(&c);
  genv_close(&ge);
}

static void container_detach(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_container c;
  struct gdev *a, *b;
  memset(&c, 0, sizeof(c));
  if (!shared_container(&ge, ctx, "container.detach", &c, &a, &b))
    goto out;
  bool before = probe(&ge, a, 0x600) && probe(&ge, b, 0x601);
  int err = iommu_container_detach(&c, a->g);
  bool a_blocked = !probe(&ge, a, 0x602) && untouched(&ge);
  bool b_works = probe(&ge, b, 0x603);
  say(&ge, "both landed before: %s; detach group %u: %s, its DMA %s; group %u DMA %s",
      before ? "yes" : "NO", a->g->id, iommu_strerror(err), a_blocked ? "blocked" : "NOT blocked",
      b->g->id, b_works ? "still lands" : "BROKEN");
  report("container.detach", ctx->tag, before && err == IOMMU_OK && a_blocked && b_works, "%s", ge.text);
out:
  iommu_container_release(&c);
  genv_close(&ge);
}

/* The IOVA width a paging domain on the unit translates (0 when none can be made). */
static unsigned unit_iova_bits(struct iommu_unit *u)
{
  struct iommu_domain *dom;
  if (iommu_domain_alloc(u, IOMMU_DOMAIN_PAGING, &dom))
    return 0;
  unsigned bits = dom->iova_bits;
  iommu_domain_free(dom);
  return bits;
}

static bool any_group(const struct gdev *g) { return g->g != NULL; }

static void container_compat(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_container wide, fits;
  memset(&wide, 0, sizeof(wide));
  memset(&fits, 0, sizeof(fits));
  if (!genv_open(&ge, ctx, "container.compat"))
    goto out;
  /* The refused group: one whose unit translates fewer IOVA bits than another's container;
   * on a platform of equal units, a container one bit wider than the unit translates. */
  struct gdev *keep = NULL, *refused = NULL;
  for (unsigned i = 0; i < ge.n && refused == NULL; i++)
    for (unsigned j = 0; j < ge.n && refused == NULL; j++)
      if (ge.dev[i].unit != ge.dev[j].unit &&
          unit_iova_bits(ge.dev[j].unit) < unit_iova_bits(ge.dev[i].unit)) {
        keep = &ge.dev[i];
        refused = &ge.dev[j];
      }
  if (refused == NULL)
    refused = find_dev(&ge, any_group);
  if (refused == NULL) {
    skip("container.compat", ctx->tag, "no initiator in an IOMMU group");
    goto out;
  }
  char why[200], name[16];
  unsigned replayed;
  bool ok = true;
  unsigned wide_bits = keep ? unit_iova_bits(keep->unit) : unit_iova_bits(refused->unit) + 1;
  if (!dma_env_ok(&ge.e, iommu_container_init(&wide, wide_bits, PAGE), "container init"))
    goto out;
  if (keep) {
    if (!dma_env_ok(&ge.e, iommu_container_attach(&wide, keep->g, &replayed, why, sizeof(why)), "attach") ||
        !dma_env_ok(&ge.e, container_map_pair(&ge, &wide), "container map"))
      goto out;
    say(&ge, "%u-bit container with group %u (%s); ", wide_bits, keep->g->id, keep->unit->source);
  } else {
    say(&ge, "%u-bit container (one bit beyond %s); ", wide_bits, refused->unit->source);
  }
  int err = iommu_container_attach(&wide, refused->g, &replayed, why, sizeof(why));
  bool attached_nothing = refused->g->domain == NULL;
  bool blocked = !probe(&ge, refused, 0x700) && untouched(&ge);
  say(&ge, "group %u (%s): %s (%s), group left %s, its DMA %s", refused->g->id,
      bdf(refused->d, name, sizeof(name)), iommu_strerror(err), why,
      attached_nothing ? "unattached" : "ATTACHED", blocked ? "blocked" : "NOT blocked");
  ok = err == IOMMU_ERANGE && why[0] && attached_nothing && blocked;
  if (keep) {
    bool kept = probe(&ge, keep, 0x701);
    say(&ge, "; group %u DMA %s", keep->g->id, kept ? "still lands" : "BROKEN");
    ok = ok && kept;
  }
  /* The same group in a container its unit can honour: attached, DMA lands. */
  err = iommu_container_init(&fits, container_bits(refused, NULL), PAGE);
  if (err == IOMMU_OK)
    err = iommu_container_attach(&fits, refused->g, &replayed, why, sizeof(why));
  if (err == IOMMU_OK)
    err = container_map_pair(&ge, &fits);
  bool lands = err == IOMMU_OK && probe(&ge, refused, 0x702);
  say(&ge, "; in a %u-bit container: %s, DMA %s", fits.iova_bits, iommu_strerror(err),
      lands ? "landed" : "did NOT land");
  report("container.compat", ctx->tag, ok && lands, "%s", ge.text);
out:
  iommu_container_release(&fits);
  iommu_container_release(&wide);
  genv_close(&ge);
}

static void container_replay(struct scenario_ctx *ctx)
{
  struct genv ge;
  struct iommu_container c;
  struct gdev *a, *b;
  memset(&c, 0, sizeof(c));
  if (!genv_open(&ge, ctx, "container.replay") || !two_groups(&ge, ctx, "container.replay", true, &a, &b))
    goto out;
  char why_a[160], why_b[160];
  unsigned replayed_a, replayed_b;
  /* Mapped before the second group exists: it must be replayed into its new domain. */
  if (!dma_env_ok(&ge.e, iommu_container_init(&c, container_bits(a, b), PAGE), "container init") ||
      !dma_env_ok(&ge.e, iommu_container_attach(&c, a->g, &replayed_a, why_a, sizeof(why_a)), "attach group A") ||
      !dma_env_ok(&ge.e, container_map_pair(&ge, &c), "container map") ||
      !dma_env_ok(&ge.e, iommu_container_attach(&c, b->g, &replayed_b, why_b, sizeof(why_b)), "attach group B"))
    goto out;
  bool la = probe(&ge, a, 0x800), lb = probe(&ge, b, 0x801);
  say(&ge, "group %u (%s): %s; 2 mappings; group %u (%s): %s; %u domains; existing map: DMA from "
      "A %s, B %s", a->g->id, a->unit->source, why_a, b->g->id, b->unit->source, why_b,
      c.n_domains, la ? "landed" : "did NOT land", lb ? "landed" : "did NOT land");
  bool ok = replayed_b == 2 && c.n_domains == 2 && la && lb;
  /* A later map reaches both domains; a later unmap removes it from both. */
  int err = iommu_container_map(&c, IOVA_LATER_SRC, ge.src->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
  if (err == IOMMU_OK)
    err = iommu_container_map(&c, IOVA_LATER_DST, ge.dst->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
  bool ma = err == 0 && probe_at(&ge, a, IOVA_LATER_SRC, IOVA_LATER_DST, 0x802);
  bool mb = err == 0 && probe_at(&ge, b, IOVA_LATER_SRC, IOVA_LATER_DST, 0x803);
  int uerr = iommu_container_unmap(&c, IOVA_LATER_DST, PAGE);
  bool ua = !probe_at(&ge, a, IOVA_LATER_SRC, IOVA_LATER_DST, 0x804) && untouched(&ge);
  bool ub = !probe_at(&ge, b, IOVA_LATER_SRC, IOVA_LATER_DST, 0x805) && untouched(&ge);
  say(&ge, "; later map (%s): A %s, B %s; later unmap (%s): A %s, B %s", iommu_strerror(err),
      ma ? "landed" : "did NOT land", mb ? "landed" : "did NOT land", iommu_strerror(uerr),
      ua ? "blocked" : "NOT blocked", ub ? "blocked" : "NOT blocked");
  ok = ok && ma && mb && uerr == IOMMU_OK && ua && ub;
  report("container.replay", ctx->tag, ok, "%s", ge.text);
out:
  iommu_container_release(&c);
  genv_close(&ge);
}

const struct scenario group_scenarios[] = {
  { "group.form", SCENARIO_ONCE, group_form },
  { "group.attach", SCENARIO_ONCE, group_attach },
  { "group.notify", SCENARIO_ONCE, group_notify },
  { "group.alias", SCENARIO_ONCE, group_alias },
  { "container.multi", SCENARIO_ONCE, container_multi },
  { "container.compat", SCENARIO_ONCE, container_compat },
  { "container.detach", SCENARIO_ONCE, container_detach },
  { "container.replay", SCENARIO_ONCE, container_replay },
};
const unsigned group_scenario_count = sizeof(group_scenarios) / sizeof(group_scenarios[0]);
