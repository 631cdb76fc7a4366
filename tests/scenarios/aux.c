/* aux.* — auxiliary (per-PASID) domains (SCENARIOS.md), through iommu/core/aux.h. Evidence
 * is PASID-tagged DMA observed in memory: a tagged write lands in the page its aux domain
 * maps, and where a tagged write must be blocked the same transfer was first seen to land
 * (positive control), memory is left unchanged and the fault record names the PASID (where
 * the unit records faults). Refusals are checked by their named error and reason. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "iommu/core/aux.h"
#include "tests/scenarios/aux_env.h"

#define OTHER_IOVA 0x240000ull


/* Reports the check: the evidence text, then the block of its named sub-conditions (ok when
 * every one held), so an expectation file can name exactly the one that deviates. */
void aux_report(const struct aux_env *s, const struct subconds *sc, const char *fmt, ...)
{
  char text[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  report_subconds(s->id, s->e.ctx->tag, sc, text, sizeof(text));
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != v)
      return false;
  return true;
}

static struct iommu_domain *aux_domain(struct aux_env *s)
{
  struct iommu_domain *d = NULL;
  if (s->n_doms == AUX_MAX_DOMS)
    return NULL;
  if (!dma_env_ok(&s->e, iommu_aux_domain_alloc(s->e.unit, &d), "aux domain_alloc"))
    return NULL;
  s->doms[s->n_doms++] = d;
  return d;
}

/* Fails the check with the core's reason when err is not zero. */
bool aux_ok(struct aux_env *s, int err, const char *what)
{
  if (err == 0)
    return true;
  report(s->id, s->e.ctx->tag, false, "%s failed: %s (%s)", what, iommu_strerror(err), iommu_aux_why());
  return false;
}

/* Opens the unit and the initiator, skips naming what lacks aux support, enables the feature
 * and gives the initiator a primary paging domain (s->e.dom). need_device = false: only the
 * unit must support aux domains (refusal rules that the core checks before the device). */
bool aux_open(struct aux_env *s, struct scenario_ctx *ctx, const char *id, bool need_device)
{
  memset(s, 0, sizeof(*s));
  s->id = id;
  if (!dma_env_open(&s->e, ctx, id, NULL, 0))
    return false;
  unsigned unit_bits;
  const char *gap = iommu_aux_unit_gap(s->e.unit, &unit_bits);
  if (gap) {
    skip(id, ctx->tag, "%s", gap);
    return false;
  }
  gap = iommu_dev_feature_gap(ctx->plat, s->e.dev, IOMMU_DEV_FEAT_AUX);
  if (gap && need_device) {
    if (!s->e.ini.pasid_capable)
      skip(id, ctx->tag, "%s has no PASID capability", s->e.ini.name);
    else
      skip(id, ctx->tag, "%s", gap);
    return false;
  }
  if (!dma_env_ok(&s->e, iommu_aux_domain_alloc(s->e.unit, &s->e.dom), "primary domain_alloc") ||
      !dma_env_attach(&s->e, s->e.dom))
    return false;
  if (gap == NULL) {
    if (!aux_ok(s, iommu_dev_enable_feature(ctx->plat, s->e.dev, IOMMU_DEV_FEAT_AUX), "enable AUX"))
      return false;
    s->enabled = true;
    s->bits = iommu_aux_pasid_bits(s->e.dev);
  }
  s->stage = dma_env_buf(&s->e, 1);
  return s->stage != NULL;
}

/* Opens the platform's second initiator with AUX enabled (aux.shared). */
static bool aux_open_second(struct aux_env *s)
{
  struct platform *plat = s->e.ctx->plat;
  if (plat->n_initiators < 2) {
    skip(s->id, s->e.ctx->tag, "one DMA initiator on this platform (a second device is needed)");
    return false;
  }
  int err = initiator_open(plat, 1, dma_env_initiator_addr_bits, &s->ini2);
  if (err) {
    report(s->id, s->e.ctx->tag, false, "opening the second initiator failed: %s", initiator_strerror(err));
    return false;
  }
  s->ini2_open = true;
  s->dev2 = iommu_device_get(plat, s->ini2.segment, s->ini2.rid, &err);
  if (s->dev2 == NULL || s->dev2->unit != s->e.unit) {
    skip(s->id, s->e.ctx->tag, "the second initiator (RID 0x%04x) is not translated by %s", s->ini2.rid,
         s->e.unit->source);
    return false;
  }
  const char *gap = iommu_dev_feature_gap(plat, s->dev2, IOMMU_DEV_FEAT_AUX);
  if (gap) {
    skip(s->id, s->e.ctx->tag, "second initiator: %s", gap);
    return false;
  }
  if (!aux_ok(s, iommu_dev_enable_feature(plat, s->dev2, IOMMU_DEV_FEAT_AUX), "enable AUX (second device)"))
    return false;
  s->enabled2 = true;
  return true;
}

void aux_close(struct aux_env *s)
{
  iommu_aux_unit_probe_detach(); /* a unit-side probe left by an early exit */
  struct iommu_device *devs[2] = { s->e.dev, s->dev2 };
  for (unsigned i = 0; i < s->n_doms; i++)
    for (unsigned k = 0; k < 2; k++) {
      uint32_t pasid;
      if (devs[k] && iommu_aux_get_pasid(s->doms[i], devs[k], &pasid) == 0)
        iommu_aux_detach(s->doms[i], devs[k]);
    }
  if (s->enabled)
    iommu_dev_disable_feature(s->e.dev, IOMMU_DEV_FEAT_AUX);
  if (s->enabled2)
    iommu_dev_disable_feature(s->dev2, IOMMU_DEV_FEAT_AUX);
  if (s->dev2 && s->dev2->domain)
    iommu_detach(s->dev2);
  if (s->e.dev && s->e.dev->domain)
    iommu_detach(s->e.dev);
  for (unsigned i = 0; i < s->n_doms; i++)
    if (s->doms[i] != s->e.dom)
      iommu_domain_free(s->doms[i]);
  if (s->ini2_open)
    s->ini2.release(&s->ini2);
  dma_env_close(&s->e);
}

/* Loads a pattern into ini's buffer by a DMA read through dom, tagged with pasid
 * (IOMMU_NO_PASID: untagged), from a read-only staging page. */
static bool load(struct aux_env *s, struct dma_initiator *ini, struct iommu_domain *dom,
                 uint32_t pasid, uint32_t seed, uint8_t *expect)
{
  dma_fill_pattern(s->stage->p, PAGE, seed);
  memcpy(expect, s->stage->p, XFER);
  return dma_env_ok(&s->e, iommu_map(dom, STAGE_IOVA, s->stage->phys, PAGE, IOMMU_PROT_READ),
                    "map staging page") &&
         dma_env_ok(&s->e, ini->dma_read(ini, pasid, STAGE_IOVA, XFER), "DMA read of the staging page") &&
         dma_env_ok(&s->e, iommu_unmap_sync(dom, STAGE_IOVA, PAGE), "unmap staging page");
}

/* A page mapped writable at iova in dom, filled with the sentinel. */
struct dma_buf *target(struct aux_env *s, struct iommu_domain *dom, uint64_t iova)
{
  struct dma_buf *b = dma_env_buf(&s->e, 1);
  if (b == NULL)
    return NULL;
  memset(b->p, SENTINEL, PAGE);
  if (!dma_env_ok(&s->e, iommu_map(dom, iova, b->phys, PAGE, IOMMU_PROT_WRITE), "map target page"))
    return NULL;
  return b;
}

/* Writes ini's buffer (loaded with seed through dom) to iova tagged with pasid; *landed says
 * whether the bytes reached want (NULL: not checked). */
bool write_tagged(struct aux_env *s, struct dma_initiator *ini, struct iommu_domain *load_dom,
                         uint32_t pasid, uint32_t seed, uint64_t iova, const struct dma_buf *want,
                         bool *landed)
{
  uint8_t expect[XFER];
  if (!load(s, ini, load_dom, pasid, seed, expect) ||
      !dma_env_ok(&s->e, ini->dma_write(ini, pasid, iova, XFER), "DMA write"))
    return false;
  if (want)
    *landed = memcmp(want->p, expect, XFER) == 0;
  return true;
}

static const char *pasid_text(uint32_t pasid, char *buf, size_t len)
{
  if (pasid == IOMMU_NO_PASID)
    snprintf(buf, len, "untagged");
  else
    snprintf(buf, len, "PASID 0x%x", pasid);
  return buf;
}

/* Drains faults and describes the one from rid naming pasid, if any. */
static bool pasid_fault(struct aux_env *s, uint16_t rid, uint32_t pasid, char *text, size_t len)
{
  dma_env_drain(&s->e);
  for (unsigned i = 0; i < s->e.n_faults; i++) {
    const struct iommu_fault *f = &s->e.faults[i];
    if (f->source_id == rid && f->pasid_present && f->pasid == pasid) {
      dma_fault_text(f, text, len);
      return true;
    }
  }
  if (s->e.n_faults) {
    char t[160];
    dma_fault_text(&s->e.faults[0], t, sizeof(t));
    snprintf(text, len, "no record naming PASID 0x%x (first of %u: %s)", pasid, s->e.n_faults, t);
  } else {
    snprintf(text, len, "no fault recorded");
  }
  return false;
}

/* Where the unit cannot return fault records, a blocked DMA is judged by memory alone. */
static bool faults_readable(struct aux_env *s, char *why, size_t len)
{
  const char *gap = iommu_feature_gap(s->e.unit, IOMMU_FEAT_FAULT_RECORDS);
  if (gap)
    snprintf(why, len, "judged by memory only: %s", gap);
  return gap == NULL;
}

static void aux_feature(struct scenario_ctx *ctx)
{
  struct aux_env s;
  memset(&s, 0, sizeof(s));
  s.id = "aux.feature";
  if (!dma_env_open(&s.e, ctx, s.id, NULL, 0))
    goto out;
  unsigned unit_bits;
  const char *ugap = iommu_aux_unit_gap(s.e.unit, &unit_bits);
  const char *dgap = iommu_dev_feature_gap(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX);
  bool has = iommu_dev_has_feature(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX);
  const struct pci_dev *pci = s.e.ini.dev;
  char unit_text[120], dev_text[200];
  if (ugap)
    snprintf(unit_text, sizeof(unit_text), "unit: no (%s)", ugap);
  else
    snprintf(unit_text, sizeof(unit_text), "unit: %u-bit PASIDs", unit_bits);
  if (pci->caps.pasid_width)
    snprintf(dev_text, sizeof(dev_text), "device %s: PASID capability %u bits%s%s", s.e.ini.name,
             pci->caps.pasid_width, dgap && !ugap ? "; " : "", dgap && !ugap ? dgap : "");
  else
    snprintf(dev_text, sizeof(dev_text), "device %s: no PASID capability", s.e.ini.name);
  bool want = ugap == NULL && pci->caps.pasid_width != 0 && dgap == NULL;
  if (!has) {
    /* Reported absent: enabling must be refused with the same reason. */
    int err = iommu_dev_enable_feature(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX);
    if (err == 0)
      s.enabled = true;
    bool refused = err == IOMMU_EUNSUPPORTED && dgap && strcmp(iommu_aux_why(), dgap) == 0;
    struct subconds sc = { "", "" };
    subcond(&sc, "reported-as-capabilities", !want);
    subcond(&sc, "enable-refused", refused);
    aux_report(&s, &sc, "%s; %s; has_feature(AUX)=false%s; enable_feature %s (%s)",
           unit_text, dev_text, want ? " although both support PASIDs" : "",
           refused ? "refused" : "NOT refused as it should be", iommu_strerror(err));
    goto out;
  }
  /* Present: enable, attach one aux domain, disable refused while it is attached, then
   * detach, disable, and disable again refused. */
  if (!dma_env_ok(&s.e, iommu_aux_domain_alloc(s.e.unit, &s.e.dom), "primary domain_alloc") ||
      !dma_env_attach(&s.e, s.e.dom))
    goto out;
  int e_on = iommu_dev_enable_feature(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX);
  s.enabled = e_on == 0;
  bool on = iommu_dev_feature_enabled(s.e.dev, IOMMU_DEV_FEAT_AUX);
  int e_twice = iommu_dev_enable_feature(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX);
  struct iommu_domain *a = aux_domain(&s);
  if (a == NULL || !aux_ok(&s, e_on, "enable AUX") || !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  int e_busy = iommu_dev_disable_feature(s.e.dev, IOMMU_DEV_FEAT_AUX);
  int e_det = iommu_aux_detach(a, s.e.dev);
  int e_off = iommu_dev_disable_feature(s.e.dev, IOMMU_DEV_FEAT_AUX);
  s.enabled = e_off != 0;
  bool off = !iommu_dev_feature_enabled(s.e.dev, IOMMU_DEV_FEAT_AUX);
  int e_again = iommu_dev_disable_feature(s.e.dev, IOMMU_DEV_FEAT_AUX);
  struct subconds sc = { "", "" };
  subcond(&sc, "reported-as-capabilities", want);
  subcond(&sc, "enable", on);
  subcond(&sc, "enable-twice-refused", e_twice == IOMMU_EEXIST);
  subcond(&sc, "disable-busy-refused", e_busy == IOMMU_EBUSY);
  subcond(&sc, "disable", e_det == 0 && off);
  subcond(&sc, "disable-twice-refused", e_again == IOMMU_ENOENT);
  aux_report(&s, &sc,
         "%s; %s; has_feature(AUX)=true; enable %s, enabled=%s, enable again %s; disable with an "
         "aux domain attached %s; after aux detach (%s) disable %s, enabled=%s, disable again %s",
         unit_text, dev_text, iommu_strerror(e_on), on ? "yes" : "NO", iommu_strerror(e_twice),
         e_busy == IOMMU_EBUSY ? "refused (IOMMU_EBUSY)" : "NOT refused", iommu_strerror(e_det),
         iommu_strerror(e_off), off ? "no" : "YES", iommu_strerror(e_again));
out:
  aux_close(&s);
}

static void aux_attach(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.attach", true))
    goto out;
  struct iommu_domain *a = aux_domain(&s);
  if (a == NULL || !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  uint32_t pasid = 0;
  int gerr = iommu_aux_get_pasid(a, s.e.dev, &pasid);
  struct dma_buf *t = target(&s, a, DATA_IOVA);
  struct dma_buf *p = target(&s, s.e.dom, DATA_IOVA); /* the primary maps the same IOVA */
  bool landed = false;
  if (!t || !p || !write_tagged(&s, &s.e.ini, a, pasid, 0x21, DATA_IOVA, t, &landed))
    goto out;
  dma_env_drain(&s.e);
  bool in_range = pasid != 0 && (s.bits >= 32 || pasid < (1u << s.bits));
  bool primary_clean = all_bytes(p->p, PAGE, SENTINEL);
  bool tail = all_bytes(t->p + XFER, PAGE - XFER, SENTINEL);
  struct subconds sc = { "", "" };
  subcond(&sc, "pasid", gerr == 0 && in_range);
  subcond(&sc, "tagged-dma", landed);
  subcond(&sc, "rest-of-page", tail);
  subcond(&sc, "primary-untouched", primary_clean);
  subcond(&sc, "no-faults", s.e.n_faults == 0);
  aux_report(&s, &sc,
         "aux_get_pasid %s: PASID 0x%x (%s the %u-bit range, not 0); tagged read of the staging page "
         "and tagged write to IOVA 0x%llx -> phys 0x%llx: %s; rest of page %s; the primary domain's "
         "page at the same IOVA %s; %u fault(s)",
         iommu_strerror(gerr), pasid, in_range ? "inside" : "OUTSIDE", s.bits,
         (unsigned long long)DATA_IOVA, (unsigned long long)t->phys, landed ? "data equals the pattern" :
         "data MISSING", tail ? "untouched" : "CHANGED", primary_clean ? "untouched" : "WRITTEN",
         s.e.n_faults);
out:
  aux_close(&s);
}

static void aux_isolation(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.isolation", true))
    goto out;
  struct iommu_domain *a1 = aux_domain(&s), *a2 = aux_domain(&s);
  if (!a1 || !a2 || !aux_ok(&s, iommu_aux_attach(a1, s.e.dev), "aux attach 1") ||
      !aux_ok(&s, iommu_aux_attach(a2, s.e.dev), "aux attach 2"))
    goto out;
  uint32_t p1 = 0, p2 = 0;
  iommu_aux_get_pasid(a1, s.e.dev, &p1);
  iommu_aux_get_pasid(a2, s.e.dev, &p2);
  struct iommu_domain *doms[3] = { s.e.dom, a1, a2 };
  uint32_t pasids[3] = { IOMMU_NO_PASID, p1, p2 };
  struct dma_buf *pages[3];
  for (unsigned i = 0; i < 3; i++)
    if ((pages[i] = target(&s, doms[i], DATA_IOVA)) == NULL)
      goto out;
  char text[600] = "";
  size_t len = 0;
  struct subconds sc = { "", "" };
  subcond(&sc, "distinct-pasids", p1 != p2);
  for (unsigned i = 0; i < 3; i++) {
    uint8_t expect[XFER];
    if (!load(&s, &s.e.ini, doms[i], pasids[i], 0x30 + i, expect) ||
        !dma_env_ok(&s.e, s.e.ini.dma_write(&s.e.ini, pasids[i], DATA_IOVA, XFER), "DMA write"))
      goto out;
    bool own = memcmp(pages[i]->p, expect, XFER) == 0;
    bool others = true;
    for (unsigned k = 0; k < 3; k++)
      if (k != i && memcmp(pages[k]->p, expect, 16) == 0)
        others = false;
    char name[40];
    snprintf(name, sizeof(name), "%s-own-page", i == 0 ? "untagged" : i == 1 ? "pasid1" : "pasid2");
    subcond(&sc, name, own);
    snprintf(name, sizeof(name), "%s-others-untouched", i == 0 ? "untagged" : i == 1 ? "pasid1" : "pasid2");
    subcond(&sc, name, others);
    char pt[32];
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s write to 0x%llx: own page %s, others %s",
                            i ? "; " : "", pasid_text(pasids[i], pt, sizeof(pt)),
                            (unsigned long long)DATA_IOVA, own ? "written" : "NOT written",
                            others ? "untouched" : "WRITTEN");
  }
  /* An IOVA only the primary maps: untagged lands (the control), PASID p1 is blocked. */
  struct dma_buf *only = target(&s, s.e.dom, OTHER_IOVA);
  bool landed = false;
  if (!only || !write_tagged(&s, &s.e.ini, s.e.dom, IOMMU_NO_PASID, 0x40, OTHER_IOVA, only, &landed))
    goto out;
  memset(only->p, SENTINEL, PAGE);
  dma_env_drain(&s.e);
  s.e.n_faults = 0;
  if (!dma_env_ok(&s.e, s.e.ini.dma_write(&s.e.ini, p1, OTHER_IOVA, XFER), "tagged DMA write"))
    goto out;
  bool unchanged = all_bytes(only->p, PAGE, SENTINEL);
  char ft[320];
  bool rec = pasid_fault(&s, s.e.ini.rid, p1, ft, sizeof(ft));
  char why[120] = "";
  bool need_rec = faults_readable(&s, why, sizeof(why));
  subcond(&sc, "control", landed);
  subcond(&sc, "blocked", unchanged);
  if (need_rec)
    subcond(&sc, "blocked-record", rec);
  aux_report(&s, &sc, "PASIDs 0x%x and 0x%x (%s); %s; IOVA 0x%llx mapped by the primary only: "
         "untagged write %s (control), PASID 0x%x write %s, fault: %s%s%s",
         p1, p2, p1 != p2 ? "distinct" : "THE SAME", text, (unsigned long long)OTHER_IOVA,
         landed ? "landed" : "did NOT land", p1, unchanged ? "blocked, memory unchanged" : "NOT blocked",
         ft, why[0] ? "; " : "", why);
out:
  aux_close(&s);
}

static void aux_detach(struct scenario_ctx *ctx)
{
  struct aux_env s;
  struct ioasid_system *sys = NULL;
  struct ioasid_set *set = NULL;
  if (!aux_open(&s, ctx, "aux.detach", true))
    goto out;
  /* A PASID space of our own, to see the PASID come back to its set. */
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY, .reserve_pasid0 = true };
  int ierr;
  sys = ioasid_system_create(&cfg, &ierr);
  set = sys ? ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 0, &ierr) : NULL;
  if (set == NULL || !aux_ok(&s, iommu_aux_use_ioasid(sys, set), "use an IOASID set"))
    goto out;
  /* A second aux domain stays attached, so the device keeps taking PASID-tagged requests
   * and the blocked write below meets the torn-down entry itself. */
  struct iommu_domain *a = aux_domain(&s), *keep = aux_domain(&s);
  if (a == NULL || keep == NULL || !aux_ok(&s, iommu_aux_attach(keep, s.e.dev), "aux attach (kept)") ||
      !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  uint32_t pasid = 0, kept = 0;
  iommu_aux_get_pasid(a, s.e.dev, &pasid);
  iommu_aux_get_pasid(keep, s.e.dev, &kept);
  struct dma_buf *t = target(&s, a, DATA_IOVA);
  bool landed = false;
  if (!t || !write_tagged(&s, &s.e.ini, a, pasid, 0x50, DATA_IOVA, t, &landed))
    goto out;
  enum ioasid_state before = ioasid_state_of(sys, pasid);
  int derr = iommu_aux_detach(a, s.e.dev);
  enum ioasid_state after = ioasid_state_of(sys, pasid);
  uint32_t count = ioasid_set_count(set);
  uint32_t dummy;
  int gerr = iommu_aux_get_pasid(a, s.e.dev, &dummy);
  memset(t->p, SENTINEL, PAGE);
  dma_env_drain(&s.e);
  s.e.n_faults = 0;
  /* The buffer still holds the pattern; the same tagged write again, now with no entry. */
  if (!dma_env_ok(&s.e, s.e.ini.dma_write(&s.e.ini, pasid, DATA_IOVA, XFER), "tagged DMA write after detach"))
    goto out;
  bool unchanged = all_bytes(t->p, PAGE, SENTINEL);
  char ft[320], why[120] = "";
  bool rec = pasid_fault(&s, s.e.ini.rid, pasid, ft, sizeof(ft));
  bool need_rec = faults_readable(&s, why, sizeof(why));
  struct subconds sc = { "", "" };
  subcond(&sc, "control", landed);
  subcond(&sc, "detach", derr == 0 && gerr == IOMMU_ENOENT);
  subcond(&sc, "blocked", unchanged);
  if (need_rec)
    subcond(&sc, "blocked-record", rec);
  subcond(&sc, "pasid-returned", before == IOASID_STATE_ACTIVE && after == IOASID_STATE_FREE && count == 1);
  aux_report(&s, &sc, "PASID 0x%x (PASID 0x%x stays attached): tagged write before detach %s "
         "(control); aux_detach %s; aux_get_pasid after it %s; same write after detach %s, fault: %s%s%s; "
         "IOASID state %s -> %s, set holds %u ID(s) (the kept one)", pasid, kept, landed ? "landed" : "did NOT land", iommu_strerror(derr),
         iommu_strerror(gerr), unchanged ? "blocked, memory unchanged" : "NOT blocked (stale translation)",
         ft, why[0] ? "; " : "", why, before == IOASID_STATE_ACTIVE ? "ACTIVE" : "not ACTIVE",
         after == IOASID_STATE_FREE ? "FREE (returned)" : "NOT FREE", count);
out:
  aux_close(&s);
  iommu_aux_use_ioasid(NULL, NULL);
  if (sys)
    ioasid_system_destroy(sys);
}

/* Where the device cannot issue PASID-tagged DMA but the unit supports PASIDs, the unit side
 * still runs for real: the per-PASID structures are programmed for the device (unit probe)
 * and the unit must accept them without a configuration error, untagged DMA undisturbed. */
static void aux_primary_kept(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.primary_kept", false))
    goto out;
  struct dma_buf *pages[3];
  for (unsigned i = 0; i < 3; i++)
    if ((pages[i] = target(&s, s.e.dom, DATA_IOVA + i * 0x10000ull)) == NULL)
      goto out;
  struct iommu_domain *a = aux_domain(&s);
  if (a == NULL)
    goto out;
  bool landed[3] = { false, false, false };
  const char *when[3] = { "before aux attach", "with the aux domain attached", "after aux detach" };
  int aerr = 0, derr = 0;
  bool tagged = false;
  uint32_t pasid = 1;
  for (unsigned i = 0; i < 3; i++) {
    if (i == 1) {
      if (s.enabled) {
        if (!aux_ok(&s, aerr = iommu_aux_attach(a, s.e.dev), "aux attach"))
          goto out;
        iommu_aux_get_pasid(a, s.e.dev, &pasid);
        struct dma_buf *t = target(&s, a, OTHER_IOVA);
        if (!t || !write_tagged(&s, &s.e.ini, a, pasid, 0x61, OTHER_IOVA, t, &tagged))
          goto out;
      } else if (!aux_ok(&s, aerr = iommu_aux_unit_probe_attach(a, s.e.dev, pasid),
                         "programming PASID 0x1 for the unit alone")) {
        goto out;
      }
    }
    if (i == 2)
      derr = s.enabled ? iommu_aux_detach(a, s.e.dev) : iommu_aux_unit_probe_detach();
    if (!write_tagged(&s, &s.e.ini, s.e.dom, IOMMU_NO_PASID, 0x70 + i, DATA_IOVA + i * 0x10000ull, pages[i],
                      &landed[i]))
      goto out;
  }
  dma_env_drain(&s.e);
  char meanwhile[300];
  if (s.enabled)
    snprintf(meanwhile, sizeof(meanwhile), "tagged write through the aux domain meanwhile %s",
             tagged ? "landed" : "MISSING");
  else if (!s.e.ini.pasid_capable)
    snprintf(meanwhile, sizeof(meanwhile), "PASID 0x%x programmed for the unit alone and accepted: "
             "%s has no PASID capability, no tagged DMA", pasid, s.e.ini.name);
  else
    snprintf(meanwhile, sizeof(meanwhile), "PASID 0x%x programmed for the unit alone and accepted: "
             "no tagged DMA (%s)", pasid, iommu_dev_feature_gap(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX));
  struct subconds sc = { "", "" };
  subcond(&sc, "before", landed[0]);
  subcond(&sc, "during", landed[1] && aerr == 0);
  if (s.enabled)
    subcond(&sc, "tagged-dma", tagged);
  subcond(&sc, "after", landed[2] && derr == 0);
  subcond(&sc, "no-faults", s.e.n_faults == 0);
  aux_report(&s, &sc, "untagged write through the primary domain %s: %s; %s: %s (%s); %s (%s): "
         "%s; %u fault(s)", when[0], landed[0] ? "landed" : "MISSING", when[1],
         landed[1] ? "landed" : "MISSING", meanwhile, when[2], derr ? iommu_strerror(derr) : "ok",
         landed[2] ? "landed" : "MISSING", s.e.n_faults);
out:
  aux_close(&s);
}

static void aux_pasid_limit(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.pasid_limit", false))
    goto out;
  unsigned unit_bits;
  iommu_aux_unit_gap(s.e.unit, &unit_bits);
  struct iommu_domain *a = aux_domain(&s);
  if (a == NULL)
    goto out;
  /* PASID 0 and a PASID just beyond the unit's width: refused whatever the device. */
  int e0 = iommu_aux_attach_pasid(a, s.e.dev, 0);
  char why0[120];
  snprintf(why0, sizeof(why0), "%s", iommu_aux_why());
  uint32_t beyond_unit = unit_bits >= 32 ? IOASID_INVALID : 1u << unit_bits;
  int eu = iommu_aux_attach_pasid(a, s.e.dev, beyond_unit);
  char whyu[160];
  snprintf(whyu, sizeof(whyu), "%s", iommu_aux_why());
  struct subconds sc = { "", "" };
  subcond(&sc, "pasid0-refused", e0 == IOMMU_EINVAL);
  subcond(&sc, "unit-width-refused", eu == IOMMU_ERANGE);
  char dev_text[400];
  if (!s.enabled) {
    if (!s.e.ini.pasid_capable)
      snprintf(dev_text, sizeof(dev_text), "device side not exercised: %s has no PASID capability",
               s.e.ini.name);
    else
      snprintf(dev_text, sizeof(dev_text), "device side not exercised: %s",
               iommu_dev_feature_gap(ctx->plat, s.e.dev, IOMMU_DEV_FEAT_AUX));
  } else {
    /* The device's width (when narrower) and the highest PASID both fit: it translates. */
    unsigned dev_bits = s.e.ini.dev->caps.pasid_width;
    int ed = IOMMU_ERANGE;
    if (dev_bits < unit_bits)
      ed = iommu_aux_attach_pasid(a, s.e.dev, 1u << dev_bits);
    uint32_t top = (uint32_t)((1ull << s.bits) - 1);
    int et = iommu_aux_attach_pasid(a, s.e.dev, top);
    char whyt[160];
    snprintf(whyt, sizeof(whyt), "%s", iommu_aux_why());
    struct dma_buf *t = et == 0 ? target(&s, a, DATA_IOVA) : NULL;
    bool landed = false;
    if (et == 0 && (!t || !write_tagged(&s, &s.e.ini, a, top, 0x80, DATA_IOVA, t, &landed)))
      goto out;
    subcond(&sc, "device-width-refused", ed == IOMMU_ERANGE);
    subcond(&sc, "highest-pasid", et == 0 && landed);
    snprintf(dev_text, sizeof(dev_text), "device %u bits: PASID 0x%x %s; usable width %u bits: highest "
             "PASID 0x%x %s%s%s, tagged write through it %s", dev_bits,
             dev_bits < unit_bits ? 1u << dev_bits : beyond_unit,
             dev_bits < unit_bits ? (ed == IOMMU_ERANGE ? "refused (IOMMU_ERANGE)" : "NOT refused")
                                  : "(no narrower than the unit: covered above)",
             s.bits, top, et == 0 ? "accepted" : "REFUSED: ", et == 0 ? "" : iommu_strerror(et),
             et == 0 ? "" : whyt, landed ? "landed" : "did NOT land");
  }
  aux_report(&s, &sc, "PASID 0 %s (%s); unit %u bits: PASID 0x%x %s (%s); %s",
         e0 == IOMMU_EINVAL ? "refused (IOMMU_EINVAL)" : "NOT refused", why0, unit_bits, beyond_unit,
         eu == IOMMU_ERANGE ? "refused (IOMMU_ERANGE)" : "NOT refused", whyu, dev_text);
out:
  aux_close(&s);
}

static void aux_primary_locked(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.primary_locked", true))
    goto out;
  struct iommu_domain *a = aux_domain(&s), *other = aux_domain(&s);
  if (!a || !other || !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  struct dma_buf *p = target(&s, s.e.dom, DATA_IOVA), *q = target(&s, other, DATA_IOVA);
  if (!p || !q)
    goto out;
  int e_change = iommu_attach(other, s.e.dev);
  int e_detach = iommu_detach(s.e.dev);
  int e_free = iommu_domain_free(a);
  bool kept = false;
  if (!write_tagged(&s, &s.e.ini, s.e.dom, IOMMU_NO_PASID, 0x90, DATA_IOVA, p, &kept))
    goto out;
  int e_aux = iommu_aux_detach(a, s.e.dev);
  int e_change2 = iommu_attach(other, s.e.dev);
  bool moved = false;
  if (e_change2 == 0 && !write_tagged(&s, &s.e.ini, other, IOMMU_NO_PASID, 0x91, DATA_IOVA, q, &moved))
    goto out;
  int e_detach2 = iommu_detach(s.e.dev);
  dma_env_drain(&s.e);
  struct subconds sc = { "", "" };
  subcond(&sc, "change-refused", e_change == IOMMU_EBUSY);
  subcond(&sc, "detach-refused", e_detach == IOMMU_EBUSY);
  subcond(&sc, "free-refused", e_free == IOMMU_EBUSY);
  subcond(&sc, "primary-kept", kept);
  subcond(&sc, "change-after", e_aux == 0 && e_change2 == 0 && moved);
  subcond(&sc, "detach-after", e_detach2 == 0);
  aux_report(&s, &sc, "with an aux domain attached: changing the primary domain %s, detaching "
         "it %s, freeing the aux domain %s, untagged DMA still through the primary %s; after aux "
         "detach (%s): changing the primary %s, untagged DMA through the new one %s, detaching it %s",
         e_change == IOMMU_EBUSY ? "refused (IOMMU_EBUSY)" : iommu_strerror(e_change),
         e_detach == IOMMU_EBUSY ? "refused (IOMMU_EBUSY)" : iommu_strerror(e_detach),
         e_free == IOMMU_EBUSY ? "refused (IOMMU_EBUSY)" : iommu_strerror(e_free),
         kept ? "landed" : "MISSING", iommu_strerror(e_aux), e_change2 ? iommu_strerror(e_change2) : "allowed",
         moved ? "landed" : "MISSING", e_detach2 ? iommu_strerror(e_detach2) : "allowed");
out:
  aux_close(&s);
}

static void aux_shared(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.shared", true) || !aux_open_second(&s))
    goto out;
  struct iommu_domain *sh = aux_domain(&s), *p2 = aux_domain(&s);
  if (!sh || !p2)
    goto out;
  /* Phase 1: the shared domain aux-attached to both devices (each keeps a primary domain). */
  if (!dma_env_ok(&s.e, iommu_attach(p2, s.dev2), "primary attach (second device)") ||
      !aux_ok(&s, iommu_aux_attach(sh, s.e.dev), "aux attach (first device)") ||
      !aux_ok(&s, iommu_aux_attach(sh, s.dev2), "aux attach (second device)"))
    goto out;
  uint32_t pa = 0, pb = 0;
  iommu_aux_get_pasid(sh, s.e.dev, &pa);
  iommu_aux_get_pasid(sh, s.dev2, &pb);
  struct dma_buf *ta = target(&s, sh, DATA_IOVA), *tb = target(&s, sh, OTHER_IOVA);
  bool la = false, lb = false;
  if (!ta || !tb || !write_tagged(&s, &s.e.ini, sh, pa, 0xa0, DATA_IOVA, ta, &la) ||
      !write_tagged(&s, &s.ini2, sh, pb, 0xa1, OTHER_IOVA, tb, &lb))
    goto out;
  /* Phase 2: the second device leaves the PASID and takes the shared domain as its primary
   * domain, while the first keeps it as an aux domain (the platform has two initiators, so the
   * second plays the third device's part). */
  int e_det = iommu_aux_detach(sh, s.dev2);
  int e_prim = iommu_attach(sh, s.dev2);
  struct dma_buf *tc = target(&s, sh, DATA_IOVA + 0x10000);
  bool lc = false, la2 = false;
  if (!tc || e_prim || !write_tagged(&s, &s.ini2, sh, IOMMU_NO_PASID, 0xa2, DATA_IOVA + 0x10000, tc, &lc) ||
      !write_tagged(&s, &s.e.ini, sh, pa, 0xa3, DATA_IOVA, ta, &la2))
    goto out;
  int e_back = iommu_attach(p2, s.dev2);
  dma_env_drain(&s.e);
  struct subconds sc = { "", "" };
  subcond(&sc, "same-pasid", pa == pb && pa != 0);
  subcond(&sc, "first-device-dma", la);
  subcond(&sc, "second-device-dma", lb);
  subcond(&sc, "also-primary", e_det == 0 && e_prim == 0 && lc && e_back == 0);
  subcond(&sc, "aux-meanwhile", la2);
  subcond(&sc, "no-faults", s.e.n_faults == 0);
  aux_report(&s, &sc, "one domain aux-attached to RID 0x%04x and RID 0x%04x: PASID 0x%x and 0x%x "
         "(%s); tagged writes from each %s / %s; then primary domain of RID 0x%04x (%s) while still "
         "aux on RID 0x%04x: untagged write from the former %s, tagged write from the latter %s; %u fault(s)",
         s.e.ini.rid, s.ini2.rid, pa, pb, pa == pb ? "the same" : "DIFFERENT", la ? "landed" : "MISSING",
         lb ? "landed" : "MISSING", s.ini2.rid, iommu_strerror(e_prim), s.e.ini.rid,
         lc ? "landed" : "MISSING", la2 ? "landed" : "MISSING", s.e.n_faults);
out:
  aux_close(&s);
}

static void aux_domain_type(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "aux.domain_type", false))
    goto out;
  char text[700];
  size_t len = 0;
  struct subconds sc = { "", "" };
  /* Pass-through. */
  struct iommu_domain *pt = NULL;
  const char *ptgap = iommu_feature_gap(s.e.unit, IOMMU_FEAT_PASSTHROUGH);
  if (ptgap == NULL && dma_env_ok(&s.e, iommu_domain_alloc(s.e.unit, IOMMU_DOMAIN_PASSTHROUGH, &pt),
                                  "pass-through domain_alloc")) {
    s.doms[s.n_doms++] = pt;
    int err = iommu_aux_attach(pt, s.e.dev);
    subcond(&sc, "passthrough-refused", err == IOMMU_EINVAL);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "pass-through domain %s (%s)",
                            err == IOMMU_EINVAL ? "refused: IOMMU_EINVAL" : "NOT refused", iommu_aux_why());
  } else if (ptgap) {
    len += (size_t)snprintf(text + len, sizeof(text) - len, "pass-through domain: none on this unit (%s)", ptgap);
  } else {
    goto out;
  }
  /* Blocking: a blocked device has no domain object; attaching none is refused. */
  int eb = iommu_aux_attach(NULL, s.e.dev);
  subcond(&sc, "blocking-refused", eb == IOMMU_EINVAL);
  len += (size_t)snprintf(text + len, sizeof(text) - len, "; blocking (no domain) %s (%s)",
                          eb == IOMMU_EINVAL ? "refused: IOMMU_EINVAL" : "NOT refused", iommu_aux_why());
  /* A paging domain the driver cannot attach per PASID (AMD-Vi: v1 host tables). */
  struct iommu_domain *plain = NULL;
  if (dma_env_ok(&s.e, iommu_domain_alloc(s.e.unit, IOMMU_DOMAIN_PAGING, &plain), "domain_alloc")) {
    s.doms[s.n_doms++] = plain;
    const char *gap = iommu_aux_domain_gap(plain);
    if (gap) {
      int err = iommu_aux_attach(plain, s.e.dev);
      subcond(&sc, "ordinary-paging-refused", err == IOMMU_EINVAL);
      len += (size_t)snprintf(text + len, sizeof(text) - len, "; ordinary paging domain %s (%s)",
                              err == IOMMU_EINVAL ? "refused: IOMMU_EINVAL" : "NOT refused", iommu_aux_why());
    }
  }
  /* Another unit's domain. */
  struct iommu_unit *other = NULL;
  for (unsigned u = 0; u < ctx->plat->n_iommus; u++)
    if (&ctx->plat->iommus[u] != s.e.unit && ctx->plat->iommus[u].ops && !ctx->plat->iommus[u].probe_err)
      other = &ctx->plat->iommus[u];
  struct iommu_domain *od = NULL;
  if (other && iommu_activate(ctx->plat, other) == 0 && iommu_domain_alloc(other, IOMMU_DOMAIN_PAGING, &od) == 0) {
    int err = iommu_aux_attach(od, s.e.dev);
    subcond(&sc, "other-unit-refused", err == IOMMU_EINVAL);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "; %s's domain %s (%s)", other->source,
                            err == IOMMU_EINVAL ? "refused: IOMMU_EINVAL" : "NOT refused", iommu_aux_why());
    iommu_domain_free(od);
  } else {
    len += (size_t)snprintf(text + len, sizeof(text) - len, "; another unit's domain: %s",
                            other ? "could not be made there" : "one IOMMU unit on this platform");
  }
  aux_report(&s, &sc, "%s", text);
out:
  aux_close(&s);
}

struct notify_log {
  enum ioasid_event_type types[16];
  uint32_t ids[16];
  unsigned n;
};

static void note_event(const struct ioasid_event *ev, void *arg)
{
  struct notify_log *l = arg;
  if (l->n < 16) {
    l->types[l->n] = ev->type;
    l->ids[l->n++] = ev->id;
  }
}

static void aux_ioasid(struct scenario_ctx *ctx)
{
  struct aux_env s;
  struct ioasid_system *sys = NULL;
  struct notify_log log = { .n = 0 };
  if (!aux_open(&s, ctx, "aux.ioasid", true))
    goto out;
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY, .reserve_pasid0 = true };
  int ierr;
  sys = ioasid_system_create(&cfg, &ierr);
  struct ioasid_set *set = sys ? ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 2, &ierr) : NULL;
  struct ioasid_notifier nb = { .fn = note_event, .arg = &log, .priority = 0 };
  if (set == NULL || ioasid_notifier_register(sys, set, &nb) != 0 ||
      !aux_ok(&s, iommu_aux_use_ioasid(sys, set), "use an IOASID set"))
    goto out;
  struct iommu_domain *a = aux_domain(&s), *b = aux_domain(&s), *c = aux_domain(&s);
  if (!a || !b || !c || !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  uint32_t pasid = 0;
  iommu_aux_get_pasid(a, s.e.dev, &pasid);
  bool owned = ioasid_owner(sys, pasid) == set;
  uint32_t charged = ioasid_set_count(set);
  unsigned n_attach = log.n;
  bool attach_events = log.n == 2 && log.types[0] == IOASID_NOTIFY_ALLOC && log.types[1] == IOASID_NOTIFY_BIND &&
                       log.ids[0] == pasid && log.ids[1] == pasid;
  /* Quota 2: a second aux domain fits, a third is refused. */
  int e2 = iommu_aux_attach(b, s.e.dev);
  int e3 = iommu_aux_attach(c, s.e.dev);
  char why3[160];
  snprintf(why3, sizeof(why3), "%s", iommu_aux_why());
  if (e2 == 0)
    iommu_aux_detach(b, s.e.dev);
  log.n = 0;
  int ed = iommu_aux_detach(a, s.e.dev);
  bool detach_events = log.n >= 2 && log.types[0] == IOASID_NOTIFY_UNBIND && log.types[1] == IOASID_NOTIFY_FREE &&
                       log.ids[0] == pasid && log.ids[1] == pasid;
  uint32_t left = ioasid_set_count(set);
  struct subconds sc = { "", "" };
  subcond(&sc, "owned", owned);
  subcond(&sc, "quota-charged", charged == 1);
  subcond(&sc, "alloc-bind-notified", attach_events);
  subcond(&sc, "quota-enforced", e2 == 0 && e3 == IOMMU_ENOMEM);
  subcond(&sc, "unbind-free-notified", ed == 0 && detach_events);
  subcond(&sc, "returned", left == 0 && ioasid_state_of(sys, pasid) == IOASID_STATE_FREE);
  aux_report(&s, &sc, "PASID 0x%x %s the set (quota 2), set charged %u; attach sent %s (%u "
         "event(s)); second aux domain %s, third %s (%s); detach %s sent %s; set holds %u ID(s), PASID %s",
         pasid, owned ? "owned by" : "NOT owned by", charged, attach_events ? "ALLOC, BIND" : "NOT ALLOC, BIND",
         n_attach, e2 == 0 ? "attached" : iommu_strerror(e2),
         e3 == IOMMU_ENOMEM ? "refused (IOMMU_ENOMEM)" : "NOT refused", why3, iommu_strerror(ed),
         detach_events ? "UNBIND, FREE" : "NOT UNBIND, FREE", left,
         ioasid_state_of(sys, pasid) == IOASID_STATE_FREE ? "FREE" : "NOT FREE");
out:
  aux_close(&s);
  iommu_aux_use_ioasid(NULL, NULL);
  if (sys)
    ioasid_system_destroy(sys);
}

const struct scenario aux_scenarios[] = {
  { "aux.feature", SCENARIO_PER_IOMMU, aux_feature },
  { "aux.attach", SCENARIO_PER_IOMMU, aux_attach },
  { "aux.isolation", SCENARIO_PER_IOMMU, aux_isolation },
  { "aux.detach", SCENARIO_PER_IOMMU, aux_detach },
  { "aux.primary_kept", SCENARIO_PER_IOMMU, aux_primary_kept },
  { "aux.pasid_limit", SCENARIO_PER_IOMMU, aux_pasid_limit },
  { "aux.primary_locked", SCENARIO_PER_IOMMU, aux_primary_locked },
  { "aux.shared", SCENARIO_PER_IOMMU, aux_shared },
  { "aux.domain_type", SCENARIO_PER_IOMMU, aux_domain_type },
  { "aux.ioasid", SCENARIO_PER_IOMMU, aux_ioasid },
};
const unsigned aux_scenario_count = sizeof(aux_scenarios) / sizeof(aux_scenarios[0]);
