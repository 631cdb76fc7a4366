/* dma.* — translation with real DMA (SCENARIOS.md). The initiator moves data between memory
 * (at an IOVA, through the IOMMU) and its own buffer; reads are observed by writing the
 * buffer back through a second mapping, writes by the bytes that land (and those that do
 * not). Faults are checked field by field: source ID, address page, direction, kind. */
#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "tests/scenarios/dma_env.h"

#define PAGE 4096u
#define XFER 3584u               /* bytes per transfer: edu takes at most 4095, NVMe whole
                                  * 512-byte LBAs */
#define STAGE_IOVA 0x10000ull    /* a read-only page holding the pattern to load */
#define CONTROL_IOVA 0x100000ull /* the positive control's page */
#define DATA_IOVA 0x200000ull
#define SENTINEL 0xee

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
  for (size_t i = 0; i < n; i++)
    if (p[i] != v)
      return false;
  return true;
}

/* Maps a staging page with a pattern at STAGE_IOVA (read-only) and loads it into the
 * initiator's buffer. */
static bool load_pattern(struct dma_env *e, uint32_t seed, uint8_t *expect)
{
  struct dma_buf *stage = dma_env_buf(e, 1);
  if (!stage)
    return false;
  dma_env_source(e, stage->p, PAGE, seed);
  memcpy(expect, stage->p, XFER);
  uint64_t iova = e->dom->type == IOMMU_DOMAIN_PASSTHROUGH ? stage->phys : STAGE_IOVA;
  if (e->dom->type == IOMMU_DOMAIN_PAGING &&
      !dma_env_ok(e, iommu_map(e->dom, iova, stage->phys, PAGE, IOMMU_PROT_READ), "map staging page"))
    return false;
  int err = e->ini.dma_read(&e->ini, IOMMU_NO_PASID, iova, XFER);
  if (err == INITIATOR_ENOTSUP && e->ini.fixed_buffer)
    err = 0; /* a fixed buffer needs no loading: the write checks go on without the read */
  if (!dma_env_ok(e, err, "DMA read of the staging page"))
    return false;
  if (e->ini.last_outcome == INITIATOR_OUTCOME_FAILED || e->ini.last_outcome == INITIATOR_OUTCOME_MISMATCH) {
    report(e->id, e->ctx->tag, false, "DMA read of the staging page: %s", e->ini.last_status);
    return false;
  }
  if (e->dom->type == IOMMU_DOMAIN_PAGING) {
    if (!dma_env_ok(e, iommu_unmap_sync(e->dom, iova, PAGE), "unmap staging page"))
      return false;
  }
  return true;
}

static bool no_faults(struct dma_env *e)
{
  dma_env_drain(e);
  if (e->drain_err) {
    report(e->id, e->ctx->tag, false, "reading fault records failed: %s",
           iommu_strerror(e->drain_err));
    return false;
  }
  if (e->ini.n_failed || e->ini.n_mismatch) {
    report(e->id, e->ctx->tag, false, "the initiator reported %u failed and %u mismatching "
           "transfer(s), last: %s", e->ini.n_failed, e->ini.n_mismatch, e->ini.last_status);
    return false;
  }
  if (e->n_faults == 0)
    return true;
  char t[160], text[400];
  dma_fault_text(&e->faults[0], t, sizeof(t));
  snprintf(text, sizeof(text), "unexpected fault: %s (%u recorded)", t, e->n_faults);
  /* Named by its reason, so an expectation file can excuse exactly one emulator fault. */
  struct subconds sc = { "", "" };
  char name[40];
  snprintf(name, sizeof(name), "unexpected-fault-reason-0x%x", e->faults[0].reason);
  subcond(&sc, name, false);
  subconds_append(&sc, text, sizeof(text));
  report(e->id, e->ctx->tag, false, "%s", text);
  return false;
}

static void dma_map_read(struct scenario_ctx *ctx)
{
  struct dma_env e;
  if (!dma_env_open(&e, ctx, "dma.map.read", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *a = dma_env_buf(&e, 1), *b = dma_env_buf(&e, 1);
  if (!a || !b)
    goto out;
  dma_env_source(&e, a->p, PAGE, 0xa);
  memset(b->p, SENTINEL, PAGE);
  const uint64_t iova_a = DATA_IOVA, iova_b = DATA_IOVA + 0x10000;
  if (!dma_env_ok(&e, iommu_map(e.dom, iova_a, a->phys, PAGE, IOMMU_PROT_READ), "map A") ||
      !dma_env_ok(&e, iommu_map(e.dom, iova_b, b->phys, PAGE, IOMMU_PROT_WRITE), "map B") ||
      !dma_env_ok(&e, e.ini.dma_read(&e.ini, IOMMU_NO_PASID, iova_a, XFER), "DMA read") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova_b, XFER), "DMA write-back"))
    goto out;
  if (!no_faults(&e))
    goto out;
  bool ok = memcmp(a->p, b->p, XFER) == 0;
  /* A device whose buffer is fixed compares what it reads: equal above, and A with one byte
   * changed must now differ, or the read above proved nothing. */
  char proof[240] = "";
  if (e.ini.fixed_buffer) {
    a->p[XFER / 2] ^= 0x5a;
    if (!dma_env_ok(&e, e.ini.dma_read(&e.ini, IOMMU_NO_PASID, iova_a, XFER), "DMA read of A changed"))
      goto out;
    bool differs = e.ini.last_outcome == INITIATOR_OUTCOME_MISMATCH;
    ok = ok && differs;
    snprintf(proof, sizeof(proof), "; A with byte %u changed: %s (%s)", XFER / 2,
             differs ? "device saw the difference" : "NOT seen", e.ini.last_status);
  }
  report("dma.map.read", ctx->tag, ok,
         "device read %u bytes at IOVA 0x%llx -> phys 0x%llx; written back via IOVA 0x%llx: %s%s",
         XFER, (unsigned long long)iova_a, (unsigned long long)a->phys,
         (unsigned long long)iova_b, ok ? "data equals A" : "data differs from A", proof);
out:
  dma_env_close(&e);
}

static void dma_map_write(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.map.write", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 3); /* guard | target | guard */
  if (!t || !load_pattern(&e, 0xb, expect))
    goto out;
  memset(t->p, SENTINEL, 3 * PAGE);
  uint64_t iova = DATA_IOVA + PAGE;
  if (!dma_env_ok(&e, iommu_map(e.dom, iova, t->phys + PAGE, PAGE, IOMMU_PROT_WRITE), "map target") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    goto out;
  if (!no_faults(&e))
    goto out;
  bool landed = memcmp(t->p + PAGE, expect, XFER) == 0;
  bool tail = all_bytes(t->p + PAGE + XFER, PAGE - XFER, SENTINEL);
  bool guards = all_bytes(t->p, PAGE, SENTINEL) && all_bytes(t->p + 2 * PAGE, PAGE, SENTINEL);
  report("dma.map.write", ctx->tag, landed && tail && guards,
         "device wrote %u bytes to IOVA 0x%llx -> phys 0x%llx: %s; rest of page %s; guard pages %s",
         XFER, (unsigned long long)iova, (unsigned long long)(t->phys + PAGE),
         landed ? "bytes landed" : "bytes missing", tail ? "untouched" : "CHANGED",
         guards ? "untouched" : "CHANGED");
out:
  dma_env_close(&e);
}

static void dma_map_levels(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.map.levels", NULL, 0) || !dma_env_paging(&e))
    goto out;
  unsigned bits = e.dom->iova_bits;
  if (e.ini.addr_bits < bits) {
    skip("dma.map.levels", ctx->tag, "initiator emits %u address bits, the domain translates %u "
         "(set --initiator-addr-bits / the device's DMA mask)", e.ini.addr_bits, bits);
    goto out;
  }
  /* The top page of the space, the lowest address with the top bit set, and one address
   * with a bit in each 9-bit level index: every level's index is non-zero somewhere. */
  uint64_t last = bits >= 64 ? ~0ull : (1ull << bits) - 1; /* highest translated address */
  uint64_t iovas[3] = { last & ~(uint64_t)(PAGE - 1), 1ull << (bits - 1), 0 };
  for (unsigned b = 12; b + (b / 9) % 9 < bits; b += 9)
    iovas[2] |= 1ull << (b + (b / 9) % 9);
  iovas[2] &= last & ~(uint64_t)(PAGE - 1);
  if (!load_pattern(&e, 0xc, expect))
    goto out;
  char text[200] = "";
  size_t len = 0;
  bool ok = true;
  for (unsigned i = 0; i < 3; i++) {
    struct dma_buf *t = dma_env_buf(&e, 1);
    if (!t)
      goto out;
    memset(t->p, SENTINEL, PAGE);
    if (!dma_env_ok(&e, iommu_map(e.dom, iovas[i], t->phys, PAGE, IOMMU_PROT_WRITE), "map") ||
        !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iovas[i], XFER), "DMA write"))
      goto out;
    bool hit = memcmp(t->p, expect, XFER) == 0;
    ok = ok && hit;
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s0x%llx %s", i ? ", " : "",
                            (unsigned long long)iovas[i], hit ? "ok" : "MISSED");
  }
  if (!no_faults(&e))
    goto out;
  report("dma.map.levels", ctx->tag, ok, "%u-bit domain: writes to IOVA %s", bits, text);
out:
  dma_env_close(&e);
}

static void dma_map_superpage(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  static const enum iommu_feature need2m[] = { IOMMU_FEAT_SUPERPAGE_2M };
  if (!dma_env_open(&e, ctx, "dma.map.superpage", need2m, 1) || !dma_env_paging(&e))
    goto out;
  const char *gap1g = iommu_feature_gap(e.unit, IOMMU_FEAT_SUPERPAGE_1G);
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t || !load_pattern(&e, 0xd, expect))
    goto out;
  /* A leaf covering the aligned block around the target page: only the target is written. */
  static const uint64_t sizes[2] = { IOMMU_PAGE_2M, IOMMU_PAGE_1G };
  static const uint64_t iova_base[2] = { 0x400000ull, 0x40000000ull };
  char text[220] = "";
  size_t len = 0;
  bool ok = true;
  for (unsigned i = 0; i < 2; i++) {
    if (i == 1 && gap1g) {
      len += (size_t)snprintf(text + len, sizeof(text) - len, "; 1G not supported (%s)", gap1g);
      continue;
    }
    if (i == 1 && e.ini.addr_bits <= 31) {
      len += (size_t)snprintf(text + len, sizeof(text) - len,
                              "; 1G not reachable (initiator emits %u address bits)", e.ini.addr_bits);
      continue;
    }
    uint64_t block = t->phys & ~(sizes[i] - 1);
    uint64_t iova = iova_base[i] + (t->phys - block);
    memset(t->p, SENTINEL, PAGE);
    if (!dma_env_ok(&e, iommu_map(e.dom, iova_base[i], block, sizes[i],
                                 IOMMU_PROT_READ | IOMMU_PROT_WRITE), "map superpage") ||
        !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
      goto out;
    bool hit = memcmp(t->p, expect, XFER) == 0;
    ok = ok && hit;
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s leaf IOVA 0x%llx -> 0x%llx: %s",
                            i ? "; " : "", i ? "1G" : "2M", (unsigned long long)iova_base[i],
                            (unsigned long long)block, hit ? "write landed" : "write MISSED");
    if (!dma_env_ok(&e, iommu_unmap_sync(e.dom, iova_base[i], sizes[i]), "unmap superpage"))
      goto out;
  }
  if (!no_faults(&e))
    goto out;
  report("dma.map.superpage", ctx->tag, ok, "%s", text);
out:
  dma_env_close(&e);
}

static void dma_map_cross_page(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.map.cross_page", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 3); /* pages 0 and 2: not adjacent */
  if (!t || !load_pattern(&e, 0xe, expect))
    goto out;
  memset(t->p, SENTINEL, 3 * PAGE);
  const uint32_t first = 1500; /* bytes in the first page */
  uint64_t iova = DATA_IOVA + PAGE - first;
  if (!dma_env_ok(&e, iommu_map(e.dom, DATA_IOVA, t->phys, PAGE, IOMMU_PROT_WRITE), "map page 1") ||
      !dma_env_ok(&e, iommu_map(e.dom, DATA_IOVA + PAGE, t->phys + 2 * PAGE, PAGE, IOMMU_PROT_WRITE), "map page 2") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    goto out;
  if (!no_faults(&e))
    goto out;
  bool head = memcmp(t->p + PAGE - first, expect, first) == 0;
  bool rest = memcmp(t->p + 2 * PAGE, expect + first, XFER - first) == 0;
  bool middle = all_bytes(t->p + PAGE, PAGE, SENTINEL);
  report("dma.map.cross_page", ctx->tag, head && rest && middle,
         "%u-byte write at IOVA 0x%llx: %u bytes in phys 0x%llx %s, %u in phys 0x%llx %s; the page between %s",
         XFER, (unsigned long long)iova, first, (unsigned long long)(t->phys + PAGE - first),
         head ? "ok" : "WRONG", XFER - first, (unsigned long long)(t->phys + 2 * PAGE),
         rest ? "ok" : "WRONG", middle ? "untouched" : "CHANGED");
out:
  dma_env_close(&e);
}

/* Sub-condition names are "<what>-<condition>", e.g. "write-record". */
static bool named(struct subconds *sc, const char *what, const char *cond, bool ok)
{
  char name[48];
  snprintf(name, sizeof(name), "%s-%s", what, cond);
  return subcond(sc, name, ok);
}

/* The record a blocked access must leave: <what>-record (from the initiator, at that page,
 * direction and kind), <what>-untagged (the request carried no PASID, the record must not
 * claim one: PP=0) and <what>-record-format (nothing in the record breaks its spec). Where
 * the unit's records cannot be read back, <what>-record fails naming why: the check names
 * a record, so memory alone does not earn it. */
static void record_fault(struct dma_env *e, struct subconds *sc, const char *what, uint64_t iova,
                         bool write, const enum iommu_fault_kind *kinds, unsigned n_kinds,
                         char *text, size_t n)
{
  dma_env_drain(e);
  if (e->drain_err) {
    named(sc, what, "record", false);
    snprintf(text, n, "reading fault records failed: %s", iommu_strerror(e->drain_err));
    return;
  }
  const char *gap = iommu_feature_gap(e->unit, IOMMU_FEAT_FAULT_RECORDS);
  if (gap) {
    named(sc, what, "record", false);
    snprintf(text, n, "no fault record can be read back (%s)", gap);
    return;
  }
  const struct iommu_fault *f = dma_env_find_fault(e, iova, write, kinds, n_kinds);
  if (!named(sc, what, "record", f != NULL)) {
    if (e->n_faults) {
      char t[160];
      dma_fault_text(&e->faults[0], t, sizeof(t));
      snprintf(text, n, "no matching fault record; got %s", t);
    } else {
      snprintf(text, n, "no fault recorded");
    }
    return;
  }
  char t[200];
  dma_fault_text(f, t, sizeof(t));
  /* VT-d 11.4.7.6: PP says the request had a PASID prefix; SMMUv3 SSV and AMD GN likewise. */
  bool untagged = named(sc, what, "untagged", !f->pasid_present);
  bool format_ok = named(sc, what, "record-format", f->format_deviation[0] == 0);
  snprintf(text, n, "fault %s [%s]%s%s%s%s", t, iommu_fault_kind_name(f->kind),
           untagged ? "" : " (PASID present on a request without PASID)",
           format_ok ? "" : " (", f->format_deviation, format_ok ? "" : ")");
}

/* check_record: the record (above) and the initiator's own account of the transfer. */
static void check_record(struct dma_env *e, struct subconds *sc, const char *what, uint64_t iova,
                         bool write, const enum iommu_fault_kind *kinds, unsigned n_kinds,
                         char *text, size_t n)
{
  /* The initiator's own account, where it gives one (NVMe completion status): a blocked
   * DMA must show as a failed transfer, never as a completed one (<what>-device-error). */
  enum initiator_outcome said = e->ini.last_outcome;
  char status[sizeof(e->ini.last_status)];
  memcpy(status, e->ini.last_status, sizeof(status));
  record_fault(e, sc, what, iova, write, kinds, n_kinds, text, n);
  if (said == INITIATOR_OUTCOME_UNREPORTED)
    return;
  size_t used = strlen(text);
  bool failed = named(sc, what, "device-error", said == INITIATOR_OUTCOME_FAILED);
  e->ini.n_failed = e->ini.n_mismatch = 0; /* judged here: later checks start from zero */
  snprintf(text + used, n - used, "; %s %s: %s", e->ini.name,
           failed ? "reported the transfer failed" : "reported NO transfer error", status);
}


/* Positive control: the same transfer to a mapped page lands first, so "memory unchanged"
 * later cannot come from a transfer that never ran. The pattern is already in the
 * initiator's buffer (load_pattern), so this also proves the read path. */
static bool control_write(struct dma_env *e, struct subconds *sc, const uint8_t *expect,
                          char *text, size_t n)
{
  struct dma_buf *c = dma_env_buf(e, 1);
  if (c == NULL)
    return false;
  memset(c->p, SENTINEL, PAGE);
  if (!dma_env_ok(e, iommu_map(e->dom, CONTROL_IOVA, c->phys, PAGE, IOMMU_PROT_WRITE), "map control page") ||
      !dma_env_ok(e, e->ini.dma_write(&e->ini, IOMMU_NO_PASID, CONTROL_IOVA, XFER), "control DMA write") ||
      !dma_env_ok(e, iommu_unmap_sync(e->dom, CONTROL_IOVA, PAGE), "unmap control page"))
    return false;
  bool landed = subcond(sc, "control-landed", memcmp(c->p, expect, XFER) == 0);
  snprintf(text, n, "control write to mapped IOVA 0x%llx %s", (unsigned long long)CONTROL_IOVA,
           landed ? "landed" : "MISSING");
  return true;
}

/* An IOVA the initiator can emit, a page away from `near` (up if it fits, else down). */
static uint64_t reachable_neighbour(const struct dma_env *e, uint64_t near, uint64_t distance)
{
  uint64_t limit = e->ini.addr_bits >= 64 ? UINT64_MAX : (1ull << e->ini.addr_bits) - 1;
  return near + distance + PAGE - 1 <= limit ? near + distance : near - distance;
}

static void dma_fault_unmapped(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.fault.unmapped", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t || !load_pattern(&e, 0xf, expect))
    goto out;
  struct subconds sc = { "", "" };
  char ctext[120];
  if (!control_write(&e, &sc, expect, ctext, sizeof(ctext)) || !no_faults(&e))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  /* IOVA == the sentinel's physical address (below the initiator's reach, as every buffer
   * is): without translation the write would hit it. */
  uint64_t iova = t->phys;
  static const enum iommu_fault_kind wkinds[] = { IOMMU_FAULT_TRANSLATION, IOMMU_FAULT_PERM_WRITE };
  static const enum iommu_fault_kind rkinds[] = { IOMMU_FAULT_TRANSLATION, IOMMU_FAULT_PERM_READ };
  if (!dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    goto out;
  char wtext[320], rtext[320];
  bool unchanged = subcond(&sc, "write-blocked", all_bytes(t->p, PAGE, SENTINEL));
  check_record(&e, &sc, "write", iova, true, wkinds, 2, wtext, sizeof(wtext));
  e.n_faults = 0;
  uint64_t riova = reachable_neighbour(&e, iova, 0x100000);
  if (!dma_env_ok(&e, e.ini.dma_read(&e.ini, IOMMU_NO_PASID, riova, XFER), "DMA read"))
    goto out;
  check_record(&e, &sc, "read", riova, false, rkinds, 2, rtext, sizeof(rtext));
  char text[900];
  snprintf(text, sizeof(text), "%s; write to unmapped IOVA 0x%llx: memory %s, %s; read of 0x%llx: %s",
           ctext, (unsigned long long)iova, unchanged ? "unchanged" : "CHANGED", wtext,
           (unsigned long long)riova, rtext);
  report_subconds("dma.fault.unmapped", ctx->tag, &sc, text, sizeof(text));
out:
  dma_env_close(&e);
}

static void dma_fault_readonly(struct scenario_ctx *ctx)
{
  /* A write to a read-only mapping must be blocked with a write-permission fault both when
   * it is the first access to the page and when a read has already cached the read-only
   * translation. */
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.fault.readonly", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1), *c = dma_env_buf(&e, 1), *back = dma_env_buf(&e, 1);
  if (!t || !c || !back || !load_pattern(&e, 0x10, expect))
    goto out;
  struct subconds sc = { "", "" };
  char ctext[120];
  if (!control_write(&e, &sc, expect, ctext, sizeof(ctext)) || !no_faults(&e))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  memset(c->p, SENTINEL, PAGE);
  uint64_t iova = DATA_IOVA, cached_iova = DATA_IOVA + 0x20000, back_iova = DATA_IOVA + 0x10000;
  static const enum iommu_fault_kind kinds[] = { IOMMU_FAULT_PERM_WRITE };
  /* 1. The write is the first access to the page. */
  if (!dma_env_ok(&e, iommu_map(e.dom, iova, t->phys, PAGE, IOMMU_PROT_READ), "map read-only") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    goto out;
  bool unchanged = subcond(&sc, "write-blocked", all_bytes(t->p, PAGE, SENTINEL));
  char text[320];
  check_record(&e, &sc, "write", iova, true, kinds, 1, text, sizeof(text));
  e.n_faults = 0;
  /* The mapping itself reads: the sentinel comes back through a writable page. */
  memset(back->p, 0, PAGE);
  if (!dma_env_ok(&e, iommu_map(e.dom, back_iova, back->phys, PAGE, IOMMU_PROT_WRITE), "map") ||
      !dma_env_ok(&e, e.ini.dma_read(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA read"))
    goto out;
  /* A fixed-buffer device cannot carry the sentinel back: its comparison must find the
   * sentinel page different from its buffer, which shows the page was read. */
  bool compared_different = e.ini.last_outcome == INITIATOR_OUTCOME_MISMATCH;
  if (e.ini.fixed_buffer)
    e.ini.n_mismatch = 0; /* the mismatch was the point of that comparison */
  if (!dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, back_iova, XFER), "DMA write-back"))
    goto out;
  bool read_ok = subcond(&sc, "read-back", e.ini.fixed_buffer ? compared_different
                                                               : all_bytes(back->p, XFER, SENTINEL));
  if (!no_faults(&e))
    goto out;
  /* 2. A read caches the read-only translation first; the write then hits it. The device
   * buffer holds the sentinel now, so reload the pattern before writing. */
  if (!dma_env_ok(&e, iommu_map(e.dom, cached_iova, c->phys, PAGE, IOMMU_PROT_READ), "map read-only") ||
      !dma_env_ok(&e, e.ini.dma_read(&e.ini, IOMMU_NO_PASID, cached_iova, XFER), "DMA read (caches)"))
    goto out;
  e.ini.n_mismatch = 0; /* a fixed-buffer device compares its buffer with the sentinel page */
  if (!load_pattern(&e, 0x10, expect) ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, cached_iova, XFER), "DMA write (cached)"))
    goto out;
  bool cached_unchanged = subcond(&sc, "cached-write-blocked", all_bytes(c->p, PAGE, SENTINEL));
  char ctext2[320];
  check_record(&e, &sc, "cached-write", cached_iova, true, kinds, 1, ctext2, sizeof(ctext2));
  char all[900];
  snprintf(all, sizeof(all),
           "%s; write to read-only IOVA 0x%llx: memory %s, %s; reading it back %s; write after "
           "a read cached IOVA 0x%llx: memory %s, %s", ctext, (unsigned long long)iova,
           unchanged ? "unchanged" : "CHANGED", text, read_ok ? "works" : "FAILED",
           (unsigned long long)cached_iova, cached_unchanged ? "unchanged" : "CHANGED", ctext2);
  report_subconds("dma.fault.readonly", ctx->tag, &sc, all, sizeof(all));
out:
  dma_env_close(&e);
}

static void dma_unmap_stale(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.unmap.stale", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t || !load_pattern(&e, 0x11, expect))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  uint64_t iova = DATA_IOVA;
  static const enum iommu_fault_kind kinds[] = { IOMMU_FAULT_TRANSLATION, IOMMU_FAULT_PERM_WRITE };
  if (!dma_env_ok(&e, iommu_map(e.dom, iova, t->phys, PAGE, IOMMU_PROT_READ | IOMMU_PROT_WRITE), "map") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "first DMA write"))
    goto out;
  struct subconds sc = { "", "" };
  /* the positive control, and the translation is now cached */
  bool first = subcond(&sc, "first-landed", memcmp(t->p, expect, XFER) == 0);
  if (!no_faults(&e) ||
      !dma_env_ok(&e, iommu_unmap_sync(e.dom, iova, PAGE), "unmap + targeted invalidation"))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  if (!dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "second DMA write"))
    goto out;
  bool blocked = subcond(&sc, "write-blocked", all_bytes(t->p, PAGE, SENTINEL));
  char text[320], all[600];
  check_record(&e, &sc, "write", iova, true, kinds, 2, text, sizeof(text));
  snprintf(all, sizeof(all), "first write %s; after unmap + invalidation of IOVA 0x%llx the write was %s, %s",
           first ? "landed" : "MISSING", (unsigned long long)iova,
           blocked ? "blocked" : "NOT blocked (stale IOTLB)", text);
  report_subconds("dma.unmap.stale", ctx->tag, &sc, all, sizeof(all));
out:
  dma_env_close(&e);
}

static void dma_remap(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.remap", NULL, 0) || !dma_env_paging(&e))
    goto out;
  struct dma_buf *a = dma_env_buf(&e, 1), *b = dma_env_buf(&e, 1);
  if (!a || !b || !load_pattern(&e, 0x12, expect))
    goto out;
  memset(a->p, SENTINEL, PAGE);
  memset(b->p, SENTINEL, PAGE);
  uint64_t iova = DATA_IOVA;
  unsigned rw = IOMMU_PROT_READ | IOMMU_PROT_WRITE;
  if (!dma_env_ok(&e, iommu_map(e.dom, iova, a->phys, PAGE, rw), "map to A") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write to A"))
    goto out;
  bool to_a = memcmp(a->p, expect, XFER) == 0;
  memset(a->p, SENTINEL, PAGE);
  struct iommu_gather g;
  iommu_gather_init(&g);
  if (!dma_env_ok(&e, iommu_unmap(e.dom, iova, PAGE, &g, NULL), "unmap") ||
      !dma_env_ok(&e, iommu_map(e.dom, iova, b->phys, PAGE, rw), "map to B") ||
      !dma_env_ok(&e, iommu_sync(e.dom, &g), "invalidation") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write to B"))
    goto out;
  if (!no_faults(&e))
    goto out;
  bool to_b = memcmp(b->p, expect, XFER) == 0;
  bool a_clean = all_bytes(a->p, PAGE, SENTINEL);
  report("dma.remap", ctx->tag, to_a && to_b && a_clean,
         "IOVA 0x%llx -> A 0x%llx: %s; remapped to B 0x%llx + invalidation: B %s, A %s",
         (unsigned long long)iova, (unsigned long long)a->phys, to_a ? "landed" : "MISSING",
         (unsigned long long)b->phys, to_b ? "received the write" : "MISSING",
         a_clean ? "untouched" : "WRITTEN (stale)");
out:
  dma_env_close(&e);
}

static void dma_detach(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  if (!dma_env_open(&e, ctx, "dma.detach", NULL, 0))
    goto out;
  if (e.ini.own_pages) {
    skip("dma.detach", ctx->tag, "initiator %s fetches its commands through the same domain: "
         "after detach no transfer can start, so a blocked write is not observable as one",
         e.ini.name);
    goto out;
  }
  if (!dma_env_paging(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t || !load_pattern(&e, 0x13, expect))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  uint64_t iova = DATA_IOVA;
  if (!dma_env_ok(&e, iommu_map(e.dom, iova, t->phys, PAGE, IOMMU_PROT_WRITE), "map") ||
      !dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write"))
    goto out;
  struct subconds sc = { "", "" };
  bool before = subcond(&sc, "attached-landed", memcmp(t->p, expect, XFER) == 0);
  if (!no_faults(&e) || !dma_env_ok(&e, dma_env_detach_group(e.dev), "detach"))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  if (!dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER), "DMA write after detach"))
    goto out;
  bool blocked = subcond(&sc, "detached-blocked", all_bytes(t->p, PAGE, SENTINEL));
  static const enum iommu_fault_kind ctx_kinds[] = { IOMMU_FAULT_NO_CONTEXT };
  char text[320];
  check_record(&e, &sc, "detached", iova, true, ctx_kinds, 1, text, sizeof(text));

  /* The same device behind a malformed entry and behind a broken root pointer must fault
   * with a name, not hang. Attach again so both break a working setup. */
  char inj[2][320] = { "", "" };
  static const enum iommu_inject what[2] = { IOMMU_INJECT_BAD_CONTEXT, IOMMU_INJECT_BAD_ROOT_POINTER };
  static const enum iommu_fault_kind inj_kinds[2][2] = {
    { IOMMU_FAULT_BAD_ENTRY, IOMMU_FAULT_BAD_ENTRY },
    { IOMMU_FAULT_TABLE_ACCESS, IOMMU_FAULT_BAD_ENTRY },
  };
  static const char *const inj_name[2] = { "malformed entry", "broken root pointer" };
  static const char *const inj_tag[2] = { "bad-entry", "bad-root" };
  for (unsigned i = 0; i < 2 && before && blocked && iommu_can_inject(e.unit); i++) {
    if (e.dev->domain != e.dom && !dma_env_attach(&e, e.dom))
      goto out;
    e.n_faults = 0;
    if (!dma_env_ok(&e, iommu_inject(e.dev, what[i]), inj_name[i]))
      goto out;
    memset(t->p, SENTINEL, PAGE);
    int err = e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova, XFER);
    bool b = named(&sc, inj_tag[i], "blocked", all_bytes(t->p, PAGE, SENTINEL));
    check_record(&e, &sc, inj_tag[i], iova, true, inj_kinds[i], 2, inj[i], sizeof(inj[i]));
    int rerr = iommu_inject_revert(e.dev, what[i]);
    if (err || rerr) {
      dma_env_ok(&e, err ? err : rerr, err ? "DMA under injected fault" : "reverting injection");
      goto out;
    }
    if (!b)
      snprintf(inj[i], sizeof(inj[i]), "NOT blocked");
  }
  char all[1400];
  snprintf(all, sizeof(all), "write before detach %s; after detach %s, %s%s%s%s%s",
           before ? "landed" : "MISSING", blocked ? "blocked" : "NOT blocked", text,
           inj[0][0] ? "; malformed entry: " : "", inj[0], inj[1][0] ? "; broken root pointer: " : "",
           inj[1]);
  report_subconds("dma.detach", ctx->tag, &sc, all, sizeof(all));
out:
  dma_env_close(&e);
}

static void dma_bypass(struct scenario_ctx *ctx)
{
  struct dma_env e;
  uint8_t expect[XFER];
  static const enum iommu_feature needs[] = { IOMMU_FEAT_PASSTHROUGH };
  if (!dma_env_open(&e, ctx, "dma.bypass", needs, 1))
    goto out;
  if (!dma_env_ok(&e, iommu_domain_alloc(e.unit, IOMMU_DOMAIN_PASSTHROUGH, &e.dom), "domain_alloc") ||
      !dma_env_attach(&e, e.dom))
    goto out;
  if (!dma_env_own(&e))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t || !load_pattern(&e, 0x14, expect))
    goto out;
  memset(t->p, SENTINEL, PAGE);
  if (!dma_env_ok(&e, e.ini.dma_write(&e.ini, IOMMU_NO_PASID, t->phys, XFER), "DMA write"))
    goto out;
  if (!no_faults(&e))
    goto out;
  struct subconds sc = { "", "" };
  bool landed = subcond(&sc, "passthrough-landed", memcmp(t->p, expect, XFER) == 0);
  /* Translation is on: with an empty paging domain attached instead, the same write is
   * blocked, so the write above went through the pass-through entry, not around the unit. */
  struct iommu_domain *passthrough = e.dom, *empty = NULL;
  if (!dma_env_ok(&e, iommu_domain_alloc(e.unit, IOMMU_DOMAIN_PAGING, &empty), "domain_alloc"))
    goto out;
  bool blocked = false;
  int err = dma_env_attach_group(ctx->plat, empty, e.dev);
  if (err == 0) {
    e.dom = empty;
    if (dma_env_own(&e) && load_pattern(&e, 0x14, expect)) {
      memset(t->p, SENTINEL, PAGE);
      err = e.ini.dma_write(&e.ini, IOMMU_NO_PASID, t->phys, XFER);
      blocked = err == 0 && all_bytes(t->p, PAGE, SENTINEL);
      dma_env_drain(&e); /* the fault this write leaves is expected */
      e.n_faults = 0;
      e.ini.n_failed = e.ini.n_mismatch = 0;
    }
    e.dom = passthrough;
    int back = dma_env_attach_group(ctx->plat, passthrough, e.dev);
    err = err ? err : back;
  }
  iommu_domain_free(empty);
  if (!dma_env_ok(&e, err, "DMA with an empty paging domain"))
    goto out;
  subcond(&sc, "translation-on", blocked);
  char text[400];
  snprintf(text, sizeof(text),
           "pass-through entry: read of phys 0x%llx and write to phys 0x%llx %s; the same write "
           "with an empty paging domain attached %s", (unsigned long long)t->phys,
           (unsigned long long)t->phys, landed ? "reached memory untranslated" : "did NOT reach memory",
           blocked ? "was blocked (translation is on)" : "was NOT blocked (translation off?)");
  report_subconds("dma.bypass", ctx->tag, &sc, text, sizeof(text));
out:
  dma_env_close(&e);
}

const struct scenario dma_scenarios[] = {
  { "dma.map.read", SCENARIO_PER_IOMMU, dma_map_read },
  { "dma.map.write", SCENARIO_PER_IOMMU, dma_map_write },
  { "dma.map.levels", SCENARIO_PER_IOMMU, dma_map_levels },
  { "dma.map.superpage", SCENARIO_PER_IOMMU, dma_map_superpage },
  { "dma.map.cross_page", SCENARIO_PER_IOMMU, dma_map_cross_page },
  { "dma.fault.unmapped", SCENARIO_PER_IOMMU, dma_fault_unmapped },
  { "dma.fault.readonly", SCENARIO_PER_IOMMU, dma_fault_readonly },
  { "dma.unmap.stale", SCENARIO_PER_IOMMU, dma_unmap_stale },
  { "dma.remap", SCENARIO_PER_IOMMU, dma_remap },
  { "dma.detach", SCENARIO_PER_IOMMU, dma_detach },
  { "dma.bypass", SCENARIO_PER_IOMMU, dma_bypass },
};
const unsigned dma_scenario_count = sizeof(dma_scenarios) / sizeof(dma_scenarios[0]);
