/* queue.* / fault.* / state.* — the IOMMU's own machinery (SCENARIOS.md). */
#include <stdio.h>
#include <string.h>

#include "boot/mem.h"
#include "boot/report.h"
#include "tests/scenarios/dma_env.h"

/* queue.wait / queue.error: the driver's own test of its command/invalidation queue. */
static void run_queue_test(struct scenario_ctx *ctx, const char *id,
                           int (*test)(struct iommu_unit *, char *, size_t))
{
  struct dma_env e;
  static const enum iommu_feature needs[] = { IOMMU_FEAT_QUEUE };
  if (dma_env_open(&e, ctx, id, needs, 1)) {
    char why[400] = "";
    int err = test(e.unit, why, sizeof(why));
    report(id, ctx->tag, err == 0, "%s%s%s", err ? iommu_strerror(err) : "", err ? ": " : "", why);
  }
  dma_env_close(&e);
}

static void queue_wait(struct scenario_ctx *ctx)
{
  run_queue_test(ctx, "queue.wait", iommu_queue_wait);
}

static void queue_error(struct scenario_ctx *ctx)
{
  run_queue_test(ctx, "queue.error", iommu_queue_error);
}

/* The transfers here carry no PASID: no record may claim one (VT-d PP, AMD-Vi GN, SMMUv3
 * SSV), and none may break the format the decoder checks (iommu_fault.format_deviation). Keeps the
 * first offender of each kind as text. */
static void judge_records(const struct dma_env *e, char *pasid_bad, char *format_bad, size_t len)
{
  for (unsigned i = 0; i < e->n_faults; i++) {
    const struct iommu_fault *f = &e->faults[i];
    if (f->pasid_present && !pasid_bad[0])
      snprintf(pasid_bad, len, "source 0x%04x record claims PASID 0x%x on an untagged request",
               f->source_id, f->pasid);
    if (f->format_deviation[0] && !format_bad[0])
      snprintf(format_bad, len, "source 0x%04x: %s", f->source_id, f->format_deviation);
  }
}

/* More faults than recording slots, from alternating sources (hardware may collapse faults
 * from one source while a record for it is pending), then drain, and translation must go
 * on: a mapped write lands and a new fault is recorded again. */
static void fault_overflow(struct scenario_ctx *ctx)
{
  struct dma_env e;
  static const enum iommu_feature needs[] = { IOMMU_FEAT_FAULT_RECORDS };
  struct dma_initiator second = { 0 };
  bool second_open = false;
  struct iommu_device *second_dev = NULL;
  if (!dma_env_open(&e, ctx, "fault.overflow", needs, 1))
    goto out;
  unsigned slots = iommu_fault_slots(e.unit);
  if (ctx->plat->n_initiators < 2) {
    skip("fault.overflow", ctx->tag, "needs 2 initiators with distinct source IDs (found %u): "
         "faults from one source may be collapsed", ctx->plat->n_initiators);
    goto out;
  }
  if (slots > 64) {
    skip("fault.overflow", ctx->tag, "%u fault slots: more faults than this run issues", slots);
    goto out;
  }
  if (!dma_env_ok(&e, initiator_open(ctx->plat, 1, dma_env_initiator_addr_bits, &second), "open 2nd initiator"))
    goto out;
  second_open = true;
  int derr;
  second_dev = iommu_device_get(ctx->plat, second.segment, pci_dma_rid(second.dev), &derr);
  if (second_dev == NULL || second_dev->unit != e.unit) {
    second_dev = NULL;
    skip("fault.overflow", ctx->tag, "2nd initiator (RID 0x%04x) is behind another unit", second.rid);
    goto out;
  }
  if (!dma_env_paging(&e) ||
      (second_dev->domain != e.dom &&
       !dma_env_ok(&e, dma_env_attach_group(ctx->plat, e.dom, second_dev), "attach 2nd initiator")))
    goto out;
  struct dma_buf *t = dma_env_buf(&e, 1);
  if (!t)
    goto out;
  unsigned issued = 0;
  for (unsigned i = 0; i < slots + 1; i++) {
    struct dma_initiator *who = i % 2 ? &second : &e.ini;
    if (!dma_env_ok(&e, who->dma_write(who, IOMMU_NO_PASID, 0x800000ull + 0x1000ull * i, 64), "faulting DMA"))
      goto out;
    issued++;
  }
  dma_env_drain(&e);
  unsigned records = e.n_faults;
  bool overflow = e.overflow;
  char pasid_bad[120] = "", format_bad[120] = "";
  judge_records(&e, pasid_bad, format_bad, sizeof(pasid_bad));
  /* Drained and cleared: the flag must be gone, a mapped transfer must work (read a pattern
   * into the device, write it back one half-page further) and a new fault be recorded. */
  e.n_faults = 0;
  e.overflow = false;
  dma_fill_pattern(t->p, 2048, 0x0f);
  memset(t->p + 2048, 0xee, 2048);
  uint64_t iova = 0x200000;
  bool mapped_ok = iommu_map(e.dom, iova, t->phys, 4096, IOMMU_PROT_READ | IOMMU_PROT_WRITE) == 0 &&
                   e.ini.dma_read(&e.ini, IOMMU_NO_PASID, iova, 64) == 0 &&
                   e.ini.dma_write(&e.ini, IOMMU_NO_PASID, iova + 2048, 64) == 0 &&
                   memcmp(t->p, t->p + 2048, 64) == 0;
  bool again = e.ini.dma_write(&e.ini, IOMMU_NO_PASID, 0x900000, 64) == 0;
  dma_env_drain(&e);
  const struct iommu_fault *f = dma_env_find_fault(&e, 0x900000, true, NULL, 0);
  judge_records(&e, pasid_bad, format_bad, sizeof(pasid_bad));
  /* Each sub-condition by name, so an expectation can excuse exactly one of them. */
  struct subconds sc = { "", "" };
  subcond(&sc, "overflow-flag", overflow);
  subcond(&sc, "records-within-slots", records >= 1 && records <= slots);
  subcond(&sc, "flag-cleared", !e.overflow);
  subcond(&sc, "new-fault", again && f);
  subcond(&sc, "mapped-dma", mapped_ok);
  subcond(&sc, "records-untagged", !pasid_bad[0]);
  subcond(&sc, "record-format", !format_bad[0]);
  char text[480];
  snprintf(text, sizeof(text), "%u faults from 2 sources into %u slot(s): %u record(s) drained, "
           "overflow %s; after clearing: overflow %s, new fault %s, mapped DMA %s", issued, slots,
           records, overflow ? "seen" : "NOT seen", e.overflow ? "STILL set" : "clear",
           f ? "recorded" : "NOT recorded", mapped_ok ? "completed" : "FAILED");
  for (unsigned i = 0; i < 2; i++) {
    const char *bad = i ? format_bad : pasid_bad;
    size_t used = strlen(text);
    if (bad[0] && used < sizeof(text))
      snprintf(text + used, sizeof(text) - used, "; %s", bad);
  }
  report_subconds("fault.overflow", ctx->tag, &sc, text, sizeof(text));
  if (!dma_env_ok(&e, dma_env_detach_group(second_dev), "detach 2nd initiator"))
    goto out;
  second_dev = NULL;
out:
  if (second_dev)
    dma_env_detach_group(second_dev);
  if (second_open)
    second.release(&second);
  dma_env_close(&e);
}

/* Runs last for its unit: hand the unit back and check every register is at its entry
 * value and the installed tables are gone. */
static void state_restore(struct scenario_ctx *ctx)
{
  struct iommu_unit *u = ctx->unit;
  if (u == NULL) {
    skip("state.restore", ctx->tag, "ACPI describes no IOMMU");
    return;
  }
  if (dma_env_skip_unprobed("state.restore", ctx))
    return;
  if (!u->active) {
    const char *gap = iommu_feature_gap(u, IOMMU_FEAT_DMA);
    if (gap)
      skip("state.restore", ctx->tag, "%s", gap);
    else
      skip("state.restore", ctx->tag, "the unit was never enabled in this run (no scenario used it)");
    return;
  }
  char why[400] = "";
  int err = iommu_restore_unit(ctx->plat, u, why, sizeof(why));
  report("state.restore", ctx->tag, err == 0, "%s%s%s", err ? iommu_strerror(err) : "",
         err ? ": " : "", why);
}

const struct scenario machinery_scenarios[] = {
  { "queue.wait", SCENARIO_PER_IOMMU, queue_wait },
  { "queue.error", SCENARIO_PER_IOMMU, queue_error },
  { "fault.overflow", SCENARIO_PER_IOMMU, fault_overflow },
  { "state.restore", SCENARIO_PER_IOMMU, state_restore },
};
const unsigned machinery_scenario_count = sizeof(machinery_scenarios) / sizeof(machinery_scenarios[0]);
