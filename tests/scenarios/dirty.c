/* dirty.* — dirty tracking and harvest (SCENARIOS.md). Evidence is always DMA: the
 * initiator writes known pages of a domain that tracks dirty state, every write is seen to
 * land in memory, and the harvest must return exactly those pages (a dirty leaf of any size
 * marking every bit it covers) — never bits the firmware set itself. Expected bitmaps are
 * computed here bit by bit, independently of the core's bitmap code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "iommu/core/dirty.h"
#include "tests/scenarios/dma_env.h"

#define PAGE 4096u
#define XFER 512u                /* bytes per DMA write (edu: < 4096, NVMe: whole LBAs) */
#define XFER_OFF 0x100u          /* where in a page the write lands */
#define STAGE_IOVA 0x10000ull    /* read-only page holding the pattern the writes carry */
#define WIN 0x200000ull          /* the tracked window of the small scenarios */
#define SENTINEL 0xee
#define MAX_BITS 256u            /* bitmap of the small scenarios */

/* Reports id with the evidence text and its sub-condition block (boot/report.h). */
static void dirty_report(const char *id, const char *tag, const struct subconds *sc, const char *fmt, ...)
  REPORT_PRINTF(4, 5);
static void dirty_report(const char *id, const char *tag, const struct subconds *sc, const char *fmt, ...)
{
  char text[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  subconds_append(sc, text, sizeof(text));
  report(id, tag, subconds_all_ok(sc), "%s", text);
}

/* ---- environment: a tracking domain attached to the initiator, tracking on ---- */
struct dirty_env {
  struct dma_env e;
  uint8_t pattern[XFER];
  struct dma_buf *win;           /* pages backing the window, mapped one 4K leaf each */
  unsigned n_pages;
};

static bool dirty_open(struct dirty_env *d, struct scenario_ctx *ctx, const char *id,
                       const enum iommu_feature *needs, unsigned n_needs)
{
  memset(d, 0, sizeof(*d));
  struct dma_env *e = &d->e;
  if (!dma_env_open(e, ctx, id, needs, n_needs))
    return false;
  const char *gap = iommu_dirty_gap(e->unit);
  if (gap) {
    skip(id, ctx->tag, "%s", gap);
    return false;
  }
  if (!dma_env_ok(e, iommu_domain_alloc_flags(e->unit, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY,
                                              &e->dom), "enforce-dirty domain_alloc") ||
      !dma_env_attach(e, e->dom) || !dma_env_own(e))
    return false;
  struct dma_buf *stage = dma_env_buf(e, 1);
  if (!stage)
    return false;
  dma_env_source(e, stage->p, PAGE, 0xd1); /* what the device will hold and write */
  memcpy(d->pattern, stage->p, XFER);
  /* Read-only: the staging page can never become dirty. */
  return dma_env_ok(e, iommu_map(e->dom, STAGE_IOVA, stage->phys, PAGE, IOMMU_PROT_READ),
                    "map staging page") &&
         dma_env_ok(e, e->ini.dma_read(&e->ini, IOMMU_NO_PASID, STAGE_IOVA, XFER),
                    "DMA read of the staging page") &&
         dma_env_ok(e, iommu_set_dirty_tracking(e->dom, true), "set_dirty_tracking(on)");
}

/* n pages at WIN, each its own 4 KiB leaf (one map call per page keeps AMD-Vi from
 * choosing a replicated larger page). */
static bool map_window(struct dirty_env *d, unsigned n)
{
  d->win = dma_env_buf(&d->e, n);
  d->n_pages = n;
  if (!d->win)
    return false;
  for (unsigned i = 0; i < n; i++)
    if (!dma_env_ok(&d->e, iommu_map(d->e.dom, WIN + (uint64_t)i * PAGE, d->win->phys + (uint64_t)i * PAGE,
                                     PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE), "map window page"))
      return false;
  return true;
}

/* A DMA write of the pattern to iova, seen to land at cpu (the page's memory + offset). */
static bool write_at(struct dirty_env *d, uint64_t iova, uint8_t *cpu)
{
  memset(cpu, SENTINEL, XFER);
  if (!dma_env_ok(&d->e, d->e.ini.dma_write(&d->e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    return false;
  if (memcmp(cpu, d->pattern, XFER) != 0) {
    report(d->e.id, d->e.ctx->tag, false, "DMA write to IOVA 0x%llx did not land in memory",
           (unsigned long long)iova);
    return false;
  }
  return true;
}

static bool write_page(struct dirty_env *d, unsigned page)
{
  return write_at(d, WIN + (uint64_t)page * PAGE + XFER_OFF, d->win->p + (size_t)page * PAGE + XFER_OFF);
}

static bool write_pages(struct dirty_env *d, const unsigned *pages, unsigned n)
{
  for (unsigned i = 0; i < n; i++)
    if (!write_page(d, pages[i]))
      return false;
  return true;
}

/* dirty_open, a window of n_pages, and DMA writes to the pages listed. */
static bool dirty_open_written(struct dirty_env *d, struct scenario_ctx *ctx, const char *id,
                               unsigned n_pages, const unsigned *written, unsigned n_written)
{
  return dirty_open(d, ctx, id, NULL, 0) && map_window(d, n_pages) && write_pages(d, written, n_written);
}

/* ---- bitmaps (independent of iommu_bitmap_set: one bit at a time) ---- */
static void bit_set(uint8_t *bm, uint64_t bit) { bm[bit / 8] |= (uint8_t)(1u << (bit % 8)); }
static bool bit_get(const uint8_t *bm, uint64_t bit) { return (bm[bit / 8] >> (bit % 8)) & 1u; }

static void expect_pages(uint8_t *bm, const unsigned *pages, unsigned n)
{
  memset(bm, 0, MAX_BITS / 8);
  for (unsigned i = 0; i < n; i++)
    bit_set(bm, pages[i]);
}

/* "{0,3,9}" (at most 12 entries, then "...+N"). */
static void bits_text(const uint8_t *bm, uint64_t nbits, char *buf, size_t len)
{
  size_t n = (size_t)snprintf(buf, len, "{");
  unsigned shown = 0, more = 0;
  for (uint64_t b = 0; b < nbits; b++) {
    if (!bit_get(bm, b))
      continue;
    if (shown == 12) {
      more++;
      continue;
    }
    if (n < len)
      n += (size_t)snprintf(buf + n, len - n, "%s%llu", shown ? "," : "", (unsigned long long)b);
    shown++;
  }
  if (n < len)
    snprintf(buf + n, len - n, more ? ",...+%u}" : "}", more);
}

/* Harvest of the small window (page size 4K) into a zeroed bitmap. */
static int harvest(struct dirty_env *d, unsigned pages, uint8_t *bm, unsigned flags)
{
  memset(bm, 0, MAX_BITS / 8);
  return iommu_read_and_clear_dirty(d->e.dom, WIN, (uint64_t)pages * PAGE, PAGE, bm, flags);
}

static bool same_bits(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, MAX_BITS / 8) == 0; }

static void dirty_close(struct dirty_env *d) { dma_env_close(&d->e); }

/* ---------------------------------------------------------------- dirty.caps */
/* A device of the platform that a unit without dirty tracking translates, if any. */
static struct iommu_device *incapable_device(struct platform *plat)
{
  char how[128];
  for (unsigned i = 0; i < plat->pci.n; i++) {
    const struct pci_dev *p = &plat->pci.devs[i];
    struct iommu_unit *u = platform_unit_for_rid(plat, p->segment, pci_rid(p), how, sizeof(how));
    int err;
    if (u && iommu_dirty_gap(u))
      return iommu_device_get(plat, p->segment, pci_rid(p), &err);
  }
  return NULL;
}

static void dirty_caps(struct scenario_ctx *ctx)
{
  struct dma_env e;
  struct iommu_domain *plain = NULL, *pt = NULL;
  if (!dma_env_open(&e, ctx, "dirty.caps", NULL, 0))
    goto out;
  const char *gap = iommu_dirty_gap(e.unit), *dev_gap = iommu_device_dirty_gap(e.dev);
  int err = iommu_domain_alloc_flags(e.unit, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY, &e.dom);
  if (gap) {
    struct subconds sc = { "", "" };
    subcond(&sc, "alloc-refused", err == IOMMU_EUNSUPPORTED && e.dom == NULL);
    subcond(&sc, "device-not-capable", dev_gap != NULL);
    dirty_report("dirty.caps", ctx->tag, &sc,
           "unit cannot track dirty state (%s); device 0x%04x %s; enforce-dirty domain_alloc %s (%s)",
           gap, e.dev->rid, dev_gap ? "not capable either" : "CAPABLE (inconsistent)",
           err == IOMMU_EUNSUPPORTED ? "refused" : "NOT refused", iommu_strerror(err));
    goto out;
  }
  if (!dma_env_ok(&e, err, "enforce-dirty domain_alloc") || !dma_env_attach(&e, e.dom))
    goto out;
  /* Only paging domains have Dirty bits; a domain allocated without the flag cannot track. */
  int pt_err = iommu_domain_alloc_flags(e.unit, IOMMU_DOMAIN_PASSTHROUGH, IOMMU_DOMAIN_F_DIRTY, &pt);
  int plain_err = iommu_domain_alloc(e.unit, IOMMU_DOMAIN_PAGING, &plain);
  int toggle_err = plain_err ? plain_err : iommu_set_dirty_tracking(plain, true);
  struct iommu_device *other = incapable_device(ctx->plat);
  int other_err = other ? iommu_attach(e.dom, other) : IOMMU_OK;
  char other_text[120];
  if (other)
    snprintf(other_text, sizeof(other_text), "attach of device 0x%04x (unit without tracking) %s (%s)",
             other->rid, other_err == IOMMU_EUNSUPPORTED ? "refused" : "NOT refused",
             iommu_strerror(other_err));
  else
    snprintf(other_text, sizeof(other_text), "no device of a unit without dirty tracking on this platform");
  struct subconds sc = { "", "" };
  subcond(&sc, "device-capable", dev_gap == NULL);
  subcond(&sc, "passthrough-refused", pt_err == IOMMU_EUNSUPPORTED);
  subcond(&sc, "untracked-domain-refused", toggle_err == IOMMU_EUNSUPPORTED);
  if (other)
    subcond(&sc, "incapable-device-refused", other_err == IOMMU_EUNSUPPORTED);
  dirty_report("dirty.caps", ctx->tag, &sc,
         "unit tracks dirty state; device 0x%04x %s; enforce-dirty paging domain allocated and "
         "attached; enforce-dirty pass-through domain %s (%s); set_dirty_tracking on a domain "
         "allocated without the flag %s (%s); %s",
         e.dev->rid, dev_gap ? "NOT capable" : "capable",
         pt_err == IOMMU_EUNSUPPORTED ? "refused" : "NOT refused", iommu_strerror(pt_err),
         toggle_err == IOMMU_EUNSUPPORTED ? "refused" : "NOT refused", iommu_strerror(toggle_err),
         other_text);
out:
  if (pt)
    iommu_domain_free(pt);
  if (plain)
    iommu_domain_free(plain);
  dma_env_close(&e);
}

/* ---------------------------------------------------------------- dirty.enable */
static void dirty_enable(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  if (!dirty_open(&d, ctx, "dirty.enable", NULL, 0) || !map_window(&d, 4))
    goto out;
  static const unsigned p0[] = { 0 }, p2[] = { 2 };
  if (!write_pages(&d, p0, 1) ||
      !dma_env_ok(&d.e, iommu_set_dirty_tracking(d.e.dom, false), "set_dirty_tracking(off)"))
    goto out;
  int off_err = harvest(&d, 4, bm, 0);
  if (!write_page(&d, 1))
    goto out;
  /* With a hardware switch, the write made while off must have left page 1 clean: read back
   * by unmapping it (dirty state of what was removed), then mapped again. */
  char off_text[160];
  bool off_ok = true;
  if (d.e.dom->dirty_switch) {
    struct iommu_gather g;
    uint64_t removed = 0;
    memset(bm, 0, sizeof(bm));
    iommu_gather_init(&g);
    int err = iommu_unmap_read_dirty(d.e.dom, WIN + PAGE, PAGE, PAGE, bm, &g, &removed);
    int serr = iommu_sync(d.e.dom, &g);
    if (!dma_env_ok(&d.e, err ? err : serr, "unmap with dirty read-back") ||
        !dma_env_ok(&d.e, iommu_map(d.e.dom, WIN + PAGE, d.win->phys + PAGE, PAGE,
                                    IOMMU_PROT_READ | IOMMU_PROT_WRITE), "map page 1 again"))
      goto out;
    off_ok = removed == PAGE && !bit_get(bm, 0);
    snprintf(off_text, sizeof(off_text), "write while off left page 1 %s",
             bit_get(bm, 0) ? "DIRTY" : "clean");
  } else {
    snprintf(off_text, sizeof(off_text),
             "hardware Dirty updates follow the table encoding here (no switch): off only stops harvests");
  }
  if (!dma_env_ok(&d.e, iommu_set_dirty_tracking(d.e.dom, true), "set_dirty_tracking(on)"))
    goto out;
  int stale_err = harvest(&d, 4, bm, 0);
  expect_pages(want, NULL, 0);
  bool stale_ok = stale_err == IOMMU_OK && same_bits(bm, want);
  char stale_text[64], after_text[64];
  bits_text(bm, 4, stale_text, sizeof(stale_text));
  if (!write_pages(&d, p2, 1))
    goto out;
  int after_err = harvest(&d, 4, bm, 0);
  expect_pages(want, p2, 1);
  bool after_ok = after_err == IOMMU_OK && same_bits(bm, want);
  bits_text(bm, 4, after_text, sizeof(after_text));
  struct subconds sc = { "", "" };
  subcond(&sc, "off-bitmap-refused", off_err == IOMMU_EINVAL);
  if (d.e.dom->dirty_switch)
    subcond(&sc, "off-write-clean", off_ok);
  subcond(&sc, "stale-cleared", stale_ok);
  subcond(&sc, "new-write-exact", after_ok);
  dirty_report("dirty.enable", ctx->tag, &sc,
         "page 0 written while on, tracking off: harvest with a bitmap %s (%s); page 1 written: %s; "
         "on again: harvest %s %s (stale state %s); page 2 written: harvest %s %s (want {2})",
         off_err == IOMMU_EINVAL ? "refused" : "NOT refused", iommu_strerror(off_err), off_text,
         iommu_strerror(stale_err), stale_text, stale_ok ? "cleared" : "NOT cleared",
         iommu_strerror(after_err), after_text);
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- harvest / clear / no_clear */
static void dirty_harvest(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 0, 3, 4, 9, 15 };
  if (!dirty_open_written(&d, ctx, "dirty.harvest", 16, written, 5))
    goto out;
  int err = harvest(&d, 16, bm, 0);
  expect_pages(want, written, 5);
  char got[96];
  bits_text(bm, MAX_BITS, got, sizeof(got));
  struct subconds sc = { "", "" };
  subcond(&sc, "exact", err == IOMMU_OK && same_bits(bm, want));
  dirty_report("dirty.harvest", ctx->tag, &sc,
         "DMA wrote pages {0,3,4,9,15} of 16 (4K leaves at IOVA 0x%llx); read_and_clear_dirty: %s, "
         "bitmap %s", (unsigned long long)WIN, iommu_strerror(err), got);
out:
  dirty_close(&d);
}

static void dirty_clear(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 1, 2, 7 };
  if (!dirty_open_written(&d, ctx, "dirty.clear", 8, written, 3))
    goto out;
  int err1 = harvest(&d, 8, bm, 0);
  expect_pages(want, written, 3);
  bool first_ok = err1 == IOMMU_OK && same_bits(bm, want);
  char first[64], second[64];
  bits_text(bm, MAX_BITS, first, sizeof(first));
  int err2 = harvest(&d, 8, bm, 0);
  expect_pages(want, NULL, 0);
  bool second_ok = err2 == IOMMU_OK && same_bits(bm, want);
  bits_text(bm, MAX_BITS, second, sizeof(second));
  struct subconds sc = { "", "" };
  subcond(&sc, "first-exact", first_ok);
  subcond(&sc, "second-empty", second_ok);
  dirty_report("dirty.clear", ctx->tag, &sc,
         "pages {1,2,7} written: first harvest %s %s; second harvest without new writes %s %s (want {})",
         iommu_strerror(err1), first, iommu_strerror(err2), second);
out:
  dirty_close(&d);
}

static void dirty_no_clear(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 2, 5 };
  if (!dirty_open_written(&d, ctx, "dirty.no_clear", 8, written, 2))
    goto out;
  unsigned long f0 = d.e.dom->dirty_flushes;
  int e1 = harvest(&d, 8, bm, IOMMU_DIRTY_NO_CLEAR);
  expect_pages(want, written, 2);
  bool ok1 = e1 == IOMMU_OK && same_bits(bm, want);
  int e2 = harvest(&d, 8, bm, IOMMU_DIRTY_NO_CLEAR);
  bool ok2 = e2 == IOMMU_OK && same_bits(bm, want);
  unsigned long no_clear_flushes = d.e.dom->dirty_flushes - f0;
  int e3 = harvest(&d, 8, bm, 0);
  bool ok3 = e3 == IOMMU_OK && same_bits(bm, want);
  int e4 = harvest(&d, 8, bm, 0);
  expect_pages(want, NULL, 0);
  bool ok4 = e4 == IOMMU_OK && same_bits(bm, want);
  struct subconds sc = { "", "" };
  subcond(&sc, "no-clear-exact", ok1);
  subcond(&sc, "no-clear-kept", ok2);
  subcond(&sc, "no-clear-no-flush", no_clear_flushes == 0);
  subcond(&sc, "clear-exact", ok3);
  subcond(&sc, "then-empty", ok4);
  dirty_report("dirty.no_clear", ctx->tag, &sc,
         "pages {2,5} written: NO_CLEAR harvest %s, again %s (%lu flushes); clearing harvest %s; "
         "next harvest %s",
         ok1 ? "{2,5}" : "WRONG", ok2 ? "{2,5}" : "WRONG (cleared)", no_clear_flushes,
         ok3 ? "{2,5}" : "WRONG", ok4 ? "{}" : "NOT empty");
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.superpage */
/* Leaf sizes above the smallest page the domain offers: 2M everywhere it is supported, and
 * on AMD-Vi also a replicated (next-level 7) 64K page. */
static void dirty_superpage(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  static uint8_t bm[(2u << 20) / PAGE / 8 + 8];
  if (!dirty_open(&d, ctx, "dirty.superpage", NULL, 0))
    goto out;
  uint64_t min = d.e.dom->page_sizes & -d.e.dom->page_sizes;
  static const uint64_t sizes[] = { IOMMU_PAGE_2M, 0x10000 };
  struct dma_buf *t = dma_env_buf(&d.e, 1);
  if (!t)
    goto out;
  char text[400] = "";
  size_t len = 0;
  struct subconds sc = { "", "" };
  unsigned tested = 0;
  for (unsigned i = 0; i < 2; i++) {
    uint64_t sp = sizes[i];
    if (!(d.e.dom->page_sizes & sp) || sp <= min)
      continue;
    /* The leaf covers the aligned block around the target page; only the target is written.
     * Clean neighbours of the smallest size follow it in the window. */
    uint64_t block = t->phys & ~(sp - 1), base = 0x400000ull;
    uint64_t target = base + (t->phys - block) + XFER_OFF;
    if (!dma_env_ok(&d.e, iommu_map(d.e.dom, base, block, sp, IOMMU_PROT_READ | IOMMU_PROT_WRITE),
                    "map superpage") ||
        !dma_env_ok(&d.e, iommu_map(d.e.dom, base + sp, t->phys, min, IOMMU_PROT_READ | IOMMU_PROT_WRITE),
                    "map neighbour page") ||
        !write_at(&d, target, t->p + XFER_OFF))
      goto out;
    uint64_t win = sp + min, nbits = win / min;
    memset(bm, 0, sizeof(bm));
    int err = iommu_read_and_clear_dirty(d.e.dom, base, win, min, bm, 0);
    bool covered = err == IOMMU_OK;
    for (uint64_t b = 0; b < nbits - 1; b++)
      covered = covered && bit_get(bm, b);
    char name[48];
    snprintf(name, sizeof(name), "%lluK-covered", (unsigned long long)(sp >> 10));
    subcond(&sc, name, covered);
    snprintf(name, sizeof(name), "%lluK-neighbour-clean", (unsigned long long)(sp >> 10));
    subcond(&sc, name, err == IOMMU_OK && !bit_get(bm, nbits - 1));
    tested++;
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "%s%lluK leaf at IOVA 0x%llx, one %u-byte write at +0x%llx: harvest at "
                            "%lluK pages %s, bits 0..%llu %s, neighbour %s",
                            len ? "; " : "", (unsigned long long)(sp >> 10), (unsigned long long)base,
                            XFER, (unsigned long long)(target - base), (unsigned long long)(min >> 10),
                            iommu_strerror(err), (unsigned long long)(sp / min - 1),
                            covered ? "all set" : "NOT all set", bit_get(bm, nbits - 1) ? "DIRTY" : "clean");
    if (!dma_env_ok(&d.e, iommu_unmap_sync(d.e.dom, base, win), "unmap superpage"))
      goto out;
  }
  if (tested == 0) {
    const char *gap = iommu_feature_gap(d.e.unit, IOMMU_FEAT_SUPERPAGE_2M);
    skip("dirty.superpage", ctx->tag, "%s", gap ? gap : "no leaf size above the smallest page");
    goto out;
  }
  dirty_report("dirty.superpage", ctx->tag, &sc, "%s", text);
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.flush_batched */
static void dirty_flush_batched(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 1, 3, 5, 7 }, again[] = { 3 };
  if (!dirty_open_written(&d, ctx, "dirty.flush_batched", 8, written, 4))
    goto out;
  unsigned long f0 = d.e.dom->dirty_flushes;
  int e1 = harvest(&d, 8, bm, 0);
  unsigned long flushes1 = d.e.dom->dirty_flushes - f0;
  expect_pages(want, written, 4);
  bool ok1 = e1 == IOMMU_OK && same_bits(bm, want);
  /* Page 3's translation is cached, from before the harvest, with its Dirty state set: only
   * the harvest's flush makes the next write walk again and mark the leaf. */
  if (!write_pages(&d, again, 1))
    goto out;
  f0 = d.e.dom->dirty_flushes;
  int e2 = harvest(&d, 8, bm, 0);
  unsigned long flushes2 = d.e.dom->dirty_flushes - f0;
  expect_pages(want, again, 1);
  bool ok2 = e2 == IOMMU_OK && same_bits(bm, want);
  char got2[64];
  bits_text(bm, MAX_BITS, got2, sizeof(got2));
  struct subconds sc = { "", "" };
  subcond(&sc, "first-exact", ok1);
  subcond(&sc, "one-flush", flushes1 == 1);
  subcond(&sc, "post-harvest-write-reported", ok2);
  subcond(&sc, "one-flush-again", flushes2 == 1);
  dirty_report("dirty.flush_batched", ctx->tag, &sc,
         "4 dirty 4K leaves {1,3,5,7}: harvest %s with %lu flush(es); page 3 written after it: "
         "next harvest %s %s with %lu flush(es)%s",
         ok1 ? "exact" : "WRONG", flushes1, iommu_strerror(e2), got2, flushes2,
         ok2 ? "" : " (post-harvest write NOT reported)");
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.unmap_read */
static void dirty_unmap_read(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 0, 2 };
  if (!dirty_open_written(&d, ctx, "dirty.unmap_read", 4, written, 2))
    goto out;
  struct iommu_gather g;
  uint64_t removed = 0, removed2 = 0;
  memset(bm, 0, sizeof(bm));
  iommu_gather_init(&g);
  int err = iommu_unmap_read_dirty(d.e.dom, WIN, 4 * PAGE, PAGE, bm, &g, &removed);
  int serr = iommu_sync(d.e.dom, &g);
  expect_pages(want, written, 2);
  bool ok1 = err == IOMMU_OK && serr == IOMMU_OK && removed == 4 * PAGE && same_bits(bm, want);
  char got1[64];
  bits_text(bm, MAX_BITS, got1, sizeof(got1));
  /* Mapped again, clean, not written: unmap reports nothing. */
  for (unsigned i = 0; i < 4; i++)
    if (!dma_env_ok(&d.e, iommu_map(d.e.dom, WIN + (uint64_t)i * PAGE, d.win->phys + (uint64_t)i * PAGE,
                                    PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE), "map again"))
      goto out;
  memset(bm, 0, sizeof(bm));
  iommu_gather_init(&g);
  int err2 = iommu_unmap_read_dirty(d.e.dom, WIN, 4 * PAGE, PAGE, bm, &g, &removed2);
  int serr2 = iommu_sync(d.e.dom, &g);
  expect_pages(want, NULL, 0);
  bool ok2 = err2 == IOMMU_OK && serr2 == IOMMU_OK && removed2 == 4 * PAGE && same_bits(bm, want);
  struct subconds sc = { "", "" };
  subcond(&sc, "dirty-reported", ok1);
  subcond(&sc, "clean-unmap-empty", ok2);
  dirty_report("dirty.unmap_read", ctx->tag, &sc,
         "pages {0,2} of 4 written; unmap with read-back: %s, %llu bytes removed, dirty %s; mapped "
         "again and unmapped without writes: %s, dirty %s",
         iommu_strerror(err ? err : serr), (unsigned long long)removed, got1,
         iommu_strerror(err2 ? err2 : serr2), ok2 ? "{}" : "NOT empty");
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.write_after_read */
static void dirty_write_after_read(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  if (!dirty_open(&d, ctx, "dirty.write_after_read", NULL, 0) || !map_window(&d, 2))
    goto out;
  static const unsigned p0[] = { 0 };
  uint8_t *page0 = d.win->p;
  struct subconds sc = { "", "" };
  char text[320];
  size_t len = 0;
  for (unsigned round = 0; round < 2; round++) {
    /* Page 0 read (Access set, Dirty clear, translation cached), then written at once (a
     * write that hits the cached translation); page 1 only read. Round 2 repeats after a
     * harvest made page 0 clean again. */
    dma_env_source(&d.e, page0, PAGE, 0x40 + round);
    dma_env_source(&d.e, d.win->p + PAGE, PAGE, 0x50 + round);
    if (!dma_env_ok(&d.e, d.e.ini.dma_read(&d.e.ini, IOMMU_NO_PASID, WIN, XFER), "DMA read page 0"))
      goto out;
    memcpy(d.pattern, page0, XFER); /* what the device now holds and writes back */
    if (!write_at(&d, WIN + 2048, page0 + 2048) ||
        !dma_env_ok(&d.e, d.e.ini.dma_read(&d.e.ini, IOMMU_NO_PASID, WIN + PAGE, XFER), "DMA read page 1"))
      goto out;
    int err = harvest(&d, 2, bm, 0);
    expect_pages(want, p0, 1);
    subcond(&sc, round ? "read-harvest-read-write-dirty" : "read-then-write-dirty",
            err == IOMMU_OK && same_bits(bm, want));
    char got[32];
    bits_text(bm, 2, got, sizeof(got));
    len += (size_t)snprintf(text + len, sizeof(text) - len,
                            "%sround %u: page 0 read then written (write landed), page 1 read: harvest "
                            "%s %s (want {0})", round ? "; " : "", round + 1, iommu_strerror(err), got);
  }
  dirty_report("dirty.write_after_read", ctx->tag, &sc, "%s", text);
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.range_errors */
struct bad_request {
  const char *name, *what;
  uint64_t iova, length, page_size;
  int want;
};

static void dirty_range_errors(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  uint8_t bm[MAX_BITS / 8], want[MAX_BITS / 8];
  static const unsigned written[] = { 1, 6 };
  /* Pages 0..7 mapped, 8 not (a hole), 9 mapped. */
  if (!dirty_open(&d, ctx, "dirty.range_errors", NULL, 0) || !map_window(&d, 10) ||
      !dma_env_ok(&d.e, iommu_unmap_sync(d.e.dom, WIN + 8 * PAGE, PAGE), "unmap page 8") ||
      !write_pages(&d, written, 2))
    goto out;
  unsigned bits = d.e.dom->iova_bits;
  const struct bad_request reqs[] = {
    { "unaligned-iova", "IOVA not page aligned", WIN + 0x800, 4 * PAGE, PAGE, IOMMU_EINVAL },
    { "unaligned-length", "length not page aligned", WIN, 4 * PAGE + 0x800, PAGE, IOMMU_EINVAL },
    { "page-size-not-pow2", "page size not a power of two", WIN, 6 * 0x3000, 0x3000, IOMMU_EINVAL },
    { "page-size-too-small", "page size below the smallest page", WIN, 4 * PAGE, 0x800, IOMMU_EINVAL },
    { "iova-off-page-size", "IOVA aligned to 4K but not to the 8K page size", WIN + PAGE, 4 * PAGE,
      2 * PAGE, IOMMU_EINVAL },
    { "empty", "empty range", WIN, 0, PAGE, IOMMU_EINVAL },
    { "wraps", "range wrapping past 2^64", 0xfffffffffffff000ull, 2 * PAGE, PAGE, IOMMU_ERANGE },
    { "beyond-width", "range beyond the translated width", bits < 64 ? (1ull << bits) - PAGE : 0,
      2 * PAGE, PAGE, IOMMU_ERANGE },
    { "hole", "range with an unmapped hole (page 8)", WIN, 10 * PAGE, PAGE, IOMMU_ENOENT },
  };
  char text[700];
  size_t len = 0;
  struct subconds sc = { "", "" };
  for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
    if (reqs[i].iova == 0 && reqs[i].length == 2 * PAGE)
      continue; /* a 64-bit domain: nothing is beyond the width */
    memset(bm, 0xa5, sizeof(bm));
    int err = iommu_read_and_clear_dirty(d.e.dom, reqs[i].iova, reqs[i].length, reqs[i].page_size, bm, 0);
    bool untouched = true;
    for (unsigned b = 0; b < sizeof(bm); b++)
      untouched = untouched && bm[b] == 0xa5;
    subcond(&sc, reqs[i].name, err == reqs[i].want && untouched);
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s: %s%s", len ? "; " : "", reqs[i].what,
                            iommu_strerror(err), untouched ? "" : " (bitmap WRITTEN)");
  }
  /* Nothing above changed any dirty state: pages 1 and 6 still dirty. */
  int still_err = harvest(&d, 8, bm, IOMMU_DIRTY_NO_CLEAR);
  expect_pages(want, written, 2);
  bool still = still_err == IOMMU_OK && same_bits(bm, want);
  /* Tracking off: a bitmap is refused; no bitmap means clear only. */
  int off_err = iommu_set_dirty_tracking(d.e.dom, false);
  int off_bm = harvest(&d, 8, bm, 0);
  int off_null = iommu_read_and_clear_dirty(d.e.dom, WIN, 8 * PAGE, PAGE, NULL, 0);
  /* What the clear-only call left: page 1, read back by unmapping it (no write since). */
  struct iommu_gather g;
  uint64_t removed = 0;
  iommu_gather_init(&g);
  memset(bm, 0, sizeof(bm));
  int unmap_err = iommu_unmap_read_dirty(d.e.dom, WIN + PAGE, PAGE, PAGE, bm, &g, &removed);
  int sync_err = iommu_sync(d.e.dom, &g);
  bool cleared = unmap_err == IOMMU_OK && sync_err == IOMMU_OK && removed == PAGE && !bit_get(bm, 0);
  subcond(&sc, "state-unchanged", still);
  subcond(&sc, "off-bitmap-refused", off_err == IOMMU_OK && off_bm == IOMMU_EINVAL);
  subcond(&sc, "off-clear-only", off_null == IOMMU_OK && cleared);
  dirty_report("dirty.range_errors", ctx->tag, &sc,
         "%s; afterwards pages {1,6} %s; tracking off: harvest with a bitmap %s, without one (clear "
         "only) %s, page 1 then %s", text, still ? "still dirty (nothing changed)" : "CHANGED",
         iommu_strerror(off_bm), iommu_strerror(off_null), cleared ? "clean" : "NOT clean");
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.bitmap_edges */
/* Ranges users of this API test (8K..256M), each mapped with the smallest pages and, where
 * the domain has a larger leaf that fits, with superpages. DMA writes land on pages at
 * byte, word and u64 boundaries of the bitmap, the first and the last page. Each range is
 * harvested (NO_CLEAR) at every page size that divides it, into bitmaps at a u64-aligned
 * start, one page in, and at a byte offset that is not u64-aligned; the bits must be
 * exactly those of the dirty leaves and nothing outside the bitmap may change. */
#define EDGE_GUARD 16u
#define EDGE_SMALL_BASE 0x4000000ull  /* where ranges below 64M go */
#define EDGE_MAX_BITS (256u << 8)   /* 256M at 4K */
static uint8_t edge_bm[EDGE_MAX_BITS / 8 + 2 * EDGE_GUARD + 8];
static uint8_t edge_want[EDGE_MAX_BITS / 8 + 8];

struct edge_case {
  uint64_t base, range, leaf;    /* window and the leaf size it is mapped with */
  uint64_t written[16];          /* IOVAs written */
  unsigned n_written;
};

/* Expected bits of window [w, w + len) at page size ps: every leaf holding a written IOVA. */
static void edge_expect(const struct edge_case *c, uint64_t w, uint64_t len, uint64_t ps)
{
  memset(edge_want, 0, (size_t)((len / ps + 7) / 8));
  for (unsigned i = 0; i < c->n_written; i++) {
    uint64_t leaf = c->written[i] & ~(c->leaf - 1);
    for (uint64_t a = leaf; a < leaf + c->leaf; a += ps)
      if (a >= w && a < w + len)
        bit_set(edge_want, (a - w) / ps);
  }
}

/* One harvest into a bitmap starting `skew` bytes past a u64-aligned address. */
static bool edge_harvest(struct dirty_env *d, const struct edge_case *c, uint64_t w, uint64_t len,
                         uint64_t ps, unsigned skew, unsigned flags, const char **why)
{
  uint64_t nbits = len / ps, nbytes = (nbits + 7) / 8;
  uint8_t *bm = edge_bm + EDGE_GUARD + skew;
  memset(edge_bm, 0x5a, sizeof(edge_bm));
  memset(bm, 0, (size_t)nbytes);
  int err = iommu_read_and_clear_dirty(d->e.dom, w, len, ps, bm, flags);
  if (err) {
    *why = iommu_strerror(err);
    return false;
  }
  edge_expect(c, w, len, ps);
  if (memcmp(bm, edge_want, (size_t)nbytes) != 0) {
    *why = "bits differ from the dirty leaves";
    return false;
  }
  for (uint8_t *p = edge_bm; p < bm; p++)
    if (*p != 0x5a) {
      *why = "byte before the bitmap written";
      return false;
    }
  for (uint8_t *p = bm + nbytes; p < edge_bm + sizeof(edge_bm); p++)
    if (*p != 0x5a) {
      *why = "byte after the bitmap written";
      return false;
    }
  return true;
}

/* Where the smallest-page mappings of a case point: runs of `span` bytes, all aliasing the
 * same buffer memory from `phys` on. With 4K pages the run starts on an odd page while IOVAs
 * start even, so no larger leaf (AMD-Vi's replicated pages) can fit; larger granules start
 * on the first granule boundary inside the buffer. */
static void edge_alias(struct dma_buf *buf, unsigned buf_pages, uint64_t min, uint64_t *phys,
                       uint64_t *span)
{
  if (min == PAGE) {
    *phys = buf->phys + ((buf->phys / PAGE) % 2 == 0 ? PAGE : 0);
    *span = (uint64_t)(buf_pages - 1) * PAGE;
  } else {
    *phys = (buf->phys + min - 1) & ~(min - 1);
    *span = min;
  }
}

/* Maps [base, base + range) with leaves of c->leaf: small leaves alias the buffer (above),
 * large ones the aligned block around the buffer's first page. Writes reach only buffer
 * memory (edge_target). */
static bool edge_map(struct dirty_env *d, const struct edge_case *c, struct dma_buf *buf,
                     unsigned buf_pages, uint64_t min)
{
  uint64_t phys, span;
  if (c->leaf != min) {
    phys = buf->phys & ~(c->leaf - 1);
    span = c->leaf;
  } else {
    edge_alias(buf, buf_pages, min, &phys, &span);
  }
  for (uint64_t off = 0; off < c->range; off += span) {
    uint64_t n = c->range - off < span ? c->range - off : span;
    if (!dma_env_ok(&d->e, iommu_map(d->e.dom, c->base + off, phys, n, IOMMU_PROT_READ | IOMMU_PROT_WRITE),
                    "map range"))
      return false;
  }
  return true;
}

/* The IOVA to write for "page k" of a case, and the CPU address it reaches: the page itself
 * with small leaves, the buffer's first page inside the k-th page's leaf with large ones. */
static uint64_t edge_target(const struct edge_case *c, struct dma_buf *buf, unsigned buf_pages,
                            uint64_t min, uint64_t k, uint8_t **cpu)
{
  uint64_t phys, span;
  if (c->leaf != min) {
    uint64_t block = buf->phys & ~(c->leaf - 1);
    *cpu = buf->p + XFER_OFF;
    return c->base + (k * min & ~(c->leaf - 1)) + (buf->phys - block) + XFER_OFF;
  }
  edge_alias(buf, buf_pages, min, &phys, &span);
  uint64_t off = k * min;
  *cpu = buf->p + (phys - buf->phys) + off % span + XFER_OFF;
  return c->base + off + XFER_OFF;
}

static void dirty_bitmap_edges(struct scenario_ctx *ctx)
{
  struct dirty_env d;
  if (!dirty_open(&d, ctx, "dirty.bitmap_edges", NULL, 0))
    goto out;
  uint64_t min = d.e.dom->page_sizes & -d.e.dom->page_sizes;
  const unsigned buf_pages = (unsigned)(min > PAGE ? 2 * (min / PAGE) : 17); /* 64K of 4K runs */
  struct dma_buf *buf = dma_env_buf(&d.e, buf_pages);
  if (!buf)
    goto out;
  static const uint64_t ranges[] = { 8 << 10, 16 << 10, 128 << 10, 256 << 10, 640 << 10, 128 << 20, 256 << 20 };
  unsigned bits = d.e.ini.addr_bits < d.e.dom->iova_bits ? d.e.ini.addr_bits : d.e.dom->iova_bits;
  char text[900], tested[120] = "";
  size_t len = 0, tlen = 0;
  bool variant_ok[4] = { true, true, true, true }, variant_run[4] = { false, false, false, false };
  static const char *const variant_name[4] = { "aligned-exact", "one-page-in-exact", "byte-offset-exact",
                                               "clearing-exact" };
  unsigned harvests = 0;
  for (unsigned r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
    uint64_t range = ranges[r];
    if (range % min) {
      len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%lluK: not a multiple of the %lluK page",
                              len ? "; " : "", (unsigned long long)(range >> 10), (unsigned long long)(min >> 10));
      continue;
    }
    /* Aligned to the range, above the initiator's own pages (DMA_ENV_OWN_IOVA, 16M). */
    uint64_t base = range > EDGE_SMALL_BASE ? range : EDGE_SMALL_BASE;
    if (bits < 64 && base + range - 1 >= (1ull << bits)) {
      len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%lluM: beyond the %u address bits the "
                              "initiator and domain reach", len ? "; " : "", (unsigned long long)(range >> 20), bits);
      continue;
    }
    /* Leaf sizes: the smallest page, and the largest larger one that divides the range
     * (2M; on AMD-Vi also replicated 8K..1M pages). */
    uint64_t leaves[2] = { min, 0 };
    for (uint64_t s = d.e.dom->page_sizes & ~min; s; s &= s - 1) {
      uint64_t size = s & -s;
      if (size <= IOMMU_PAGE_2M && range % size == 0)
        leaves[1] = size;
    }
    /* Superpages first: a table the small pages leave behind would stay in their slots. */
    for (unsigned l = leaves[1] ? 2 : 1; l-- > 0;) {
      struct edge_case c = { .base = base, .range = range, .leaf = leaves[l] };
      uint64_t npages = range / min;
      const uint64_t picks[] = { 0, 1, 7, 8, 63, 64, 65, 127, 128, npages / 2, npages - 2, npages - 1 };
      uint8_t *cpus[16];
      for (unsigned i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
        uint8_t *cpu;
        uint64_t iova = edge_target(&c, buf, buf_pages, min, picks[i] % npages, &cpu);
        bool dup = false;
        for (unsigned j = 0; j < c.n_written; j++)
          dup = dup || c.written[j] == iova;
        if (!dup) {
          cpus[c.n_written] = cpu;
          c.written[c.n_written++] = iova;
        }
      }
      if (!edge_map(&d, &c, buf, buf_pages, min))
        goto out;
      for (unsigned i = 0; i < c.n_written; i++)
        if (!write_at(&d, c.written[i], cpus[i]))
          goto out;
      const char *why = NULL;
      bool case_ok = true;
      /* Page sizes: the smallest, 64K and 2M where they divide the range. */
      const uint64_t pss[] = { min, 0x10000, IOMMU_PAGE_2M };
      for (unsigned p = 0; p < 3 && case_ok; p++) {
        uint64_t ps = pss[p];
        if ((p > 0 && ps <= min) || range % ps)
          continue;
        const unsigned skews[] = { 0, 0, 3 };
        for (unsigned v = 0; v < 3 && case_ok; v++) {
          uint64_t w = v == 1 ? base + ps : base, wl = v == 1 ? range - ps : range;
          if (wl == 0)
            continue;
          case_ok = edge_harvest(&d, &c, w, wl, ps, skews[v], IOMMU_DIRTY_NO_CLEAR, &why);
          harvests++;
          variant_run[v] = true;
          variant_ok[v] = variant_ok[v] && case_ok;
          if (!case_ok)
            len += (size_t)snprintf(text + len, sizeof(text) - len,
                                    "%s%lluK range, %lluK leaves, %lluK bits, bitmap %s: %s", len ? "; " : "",
                                    (unsigned long long)(range >> 10), (unsigned long long)(c.leaf >> 10),
                                    (unsigned long long)(ps >> 10),
                                    v == 0 ? "aligned" : v == 1 ? "one page in" : "at byte offset 3", why);
        }
      }
      /* Clearing harvest, then nothing left. */
      if (case_ok) {
        case_ok = edge_harvest(&d, &c, base, range, min, 1, 0, &why);
        struct edge_case none = c;
        none.n_written = 0;
        if (case_ok)
          case_ok = edge_harvest(&d, &none, base, range, min, 5, 0, &why);
        harvests += 2;
        variant_run[3] = true;
        variant_ok[3] = variant_ok[3] && case_ok;
        if (!case_ok)
          len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%lluK range, %lluK leaves, clearing: %s",
                                  len ? "; " : "", (unsigned long long)(range >> 10),
                                  (unsigned long long)(c.leaf >> 10), why);
      }
      if (l == 0 && tlen < sizeof(tested))
        tlen += (size_t)snprintf(tested + tlen, sizeof(tested) - tlen, "%s%llu%s", tlen ? "," : "",
                                 (unsigned long long)(range >= (1u << 20) ? range >> 20 : range >> 10),
                                 range >= (1u << 20) ? "M" : "K");
      if (!dma_env_ok(&d.e, iommu_unmap_sync(d.e.dom, base, range), "unmap range"))
        goto out;
    }
  }
  struct subconds sc = { "", "" };
  for (unsigned v = 0; v < 4; v++)
    if (variant_run[v])
      subcond(&sc, variant_name[v], variant_ok[v]);
  subcond(&sc, "ranges-tested", harvests > 0);
  dirty_report("dirty.bitmap_edges", ctx->tag, &sc,
               "ranges %s with %lluK and superpage leaves, %u harvests, bitmaps aligned, one page in "
               "and at byte offset 3 (guard bytes around each)%s%s", tested,
               (unsigned long long)(min >> 10), harvests, len ? ": " : "", len ? text : "");
out:
  dirty_close(&d);
}

/* ---------------------------------------------------------------- dirty.aux */
/* tests/scenarios/dirty_aux.c: it needs the aux scenarios' environment. */
void dirty_aux(struct scenario_ctx *ctx);

const struct scenario dirty_scenarios[] = {
  { "dirty.caps", SCENARIO_PER_IOMMU, dirty_caps },
  { "dirty.enable", SCENARIO_PER_IOMMU, dirty_enable },
  { "dirty.harvest", SCENARIO_PER_IOMMU, dirty_harvest },
  { "dirty.clear", SCENARIO_PER_IOMMU, dirty_clear },
  { "dirty.no_clear", SCENARIO_PER_IOMMU, dirty_no_clear },
  { "dirty.bitmap_edges", SCENARIO_PER_IOMMU, dirty_bitmap_edges },
  { "dirty.superpage", SCENARIO_PER_IOMMU, dirty_superpage },
  { "dirty.flush_batched", SCENARIO_PER_IOMMU, dirty_flush_batched },
  { "dirty.unmap_read", SCENARIO_PER_IOMMU, dirty_unmap_read },
  { "dirty.write_after_read", SCENARIO_PER_IOMMU, dirty_write_after_read },
  { "dirty.range_errors", SCENARIO_PER_IOMMU, dirty_range_errors },
  { "dirty.aux", SCENARIO_PER_IOMMU, dirty_aux },
};
const unsigned dirty_scenario_count = sizeof(dirty_scenarios) / sizeof(dirty_scenarios[0]);
