/* ioasid.* — IOASID allocation (SCENARIOS.md). ioasid.capacity derives the system PASID
 * capacity from what the IOMMUs' registers and the initiator's PASID capability said; the
 * other scenarios run the allocator logic on a private pool whose capacity they set, so they
 * run on every platform. Each reports once (SCENARIO_ONCE); details of a failure go to diag().
 * ioasid.stress is host-only (tests/unit/test_ioasid_stress.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "ioasid/ioasid.h"
#include "tests/scenarios/scenario.h"

#define POOL_BITS 10u
#define POOL_CAPACITY (1u << POOL_BITS)
#define POOL_USABLE (POOL_CAPACITY - 1)   /* PASID 0 reserved, as on every IOMMU here */
/* ioasid.capacity exhausts the real capacity only up to this size; above it the top of the
 * space is exhausted instead (the firmware has no reason to hold a million records). */
#define CAPACITY_FULL_CHECK_LIMIT 4096u

/* ---- checking helpers: every failed expectation becomes a diag line ---- */

struct check {
  const char *id;
  bool ok;
};

static bool check_that(struct check *ck, bool cond, const char *what, int line)
{
  if (!cond) {
    ck->ok = false;
    diag("%s: line %d: expected %s", ck->id, line, what);
  }
  return cond;
}

static bool check_eq(struct check *ck, long got, long want, const char *what, int line)
{
  if (got != want) {
    ck->ok = false;
    diag("%s: line %d: %s = %ld, expected %ld", ck->id, line, what, got, want);
  }
  return got == want;
}

static bool check_rc(struct check *ck, int got, int want, const char *what, int line)
{
  if (got != want) {
    ck->ok = false;
    diag("%s: line %d: %s returned %d (%s), expected %d (%s)", ck->id, line, what, got,
         ioasid_strerror(got), want, ioasid_strerror(want));
  }
  return got == want;
}

#define EXPECT(ck, cond) check_that((ck), (cond), #cond, __LINE__)
#define EXPECT_EQ(ck, got, want) check_eq((ck), (long)(got), (long)(want), #got, __LINE__)
#define EXPECT_RC(ck, got, want) check_rc((ck), (got), (want), #got, __LINE__)

static struct ioasid_system *pool_create(struct check *ck, uint32_t capacity)
{
  struct ioasid_config cfg = { .capacity = capacity, .reserve_pasid0 = true };
  int err = IOASID_OK;
  struct ioasid_system *sys = ioasid_system_create(&cfg, &err);
  if (!sys) {
    ck->ok = false;
    diag("%s: ioasid_system_create(%u): %s", ck->id, capacity, ioasid_strerror(err));
  }
  return sys;
}

static void pool_destroy(struct check *ck, struct ioasid_system *sys)
{
  char detail[128];
  if (ioasid_check_invariants(sys, detail, sizeof(detail)) != 0) {
    ck->ok = false;
    diag("%s: allocator invariant violated: %s", ck->id, detail);
  }
  EXPECT_RC(ck, ioasid_system_destroy(sys), IOASID_OK);
}

static struct ioasid_set *set_create(struct check *ck, struct ioasid_system *sys,
                                     const void *token, uint32_t quota)
{
  int err = IOASID_OK;
  struct ioasid_set *set = ioasid_set_alloc(
      sys, token, token ? IOASID_SET_TYPE_MM : IOASID_SET_TYPE_NULL, quota, &err);
  if (!set) {
    ck->ok = false;
    diag("%s: ioasid_set_alloc(quota %u): %s", ck->id, quota, ioasid_strerror(err));
  }
  return set;
}

/* Allocation with its error code, for checks on both. */
static ioasid_t alloc_id(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t min,
                         ioasid_t max, int *err)
{
  return ioasid_alloc(sys, set, min, max, NULL, err);
}

/* Short code name for evidence text ("EPERM"); ioasid_strerror() has the long form. */
static const char *err_name(int err)
{
  static const char *const names[] = { "OK", "EINVAL", "ENOMEM", "ENOSPC", "EQUOTA", "ENOENT",
                                       "EEXIST", "EBUSY", "EPERM", "EREENTRANT", "ECORRUPT" };
  return err <= 0 && -err < (int)(sizeof(names) / sizeof(names[0])) ? names[-err] : "E?";
}

/* Appends to a fixed evidence buffer, never overflowing it. */
static void appendf(char *buf, size_t size, const char *fmt, ...) REPORT_PRINTF(3, 4);
static void appendf(char *buf, size_t size, const char *fmt, ...)
{
  size_t len = strlen(buf);
  if (len + 1 >= size)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, size - len, fmt, ap);
  va_end(ap);
}

/* ---- ioasid.capacity ---- */

/* Configures an allocator with a capacity derived from the hardware and checks it reports
 * exactly that, refuses a quota above it, keeps PASID 0 back, and hands out every usable ID
 * (or the top of the space when it is large) and nothing at or beyond the capacity.
 * Appends what it saw to the evidence when describe is set. */
static void capacity_exercise(struct check *ck, uint32_t capacity, bool describe,
                              char *evidence, size_t evidence_len)
{
  struct ioasid_config cfg = { .capacity = capacity, .reserve_pasid0 = true };
  int err = IOASID_OK;
  struct ioasid_system *sys = ioasid_system_create(&cfg, &err);
  if (!sys) {
    ck->ok = false;
    diag("%s: allocator refused capacity %u: %s", ck->id, capacity, ioasid_strerror(err));
    return;
  }
  uint32_t usable = ioasid_capacity_usable(sys);
  EXPECT_EQ(ck, ioasid_capacity(sys), capacity);
  EXPECT_EQ(ck, usable, capacity ? capacity - 1 : 0);
  /* A quota above the capacity is refused; one equal to it is accepted. */
  EXPECT(ck, ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, usable + 1, &err) == NULL);
  EXPECT_RC(ck, err, IOASID_ENOSPC);
  struct ioasid_set *set = set_create(ck, sys, NULL, usable);
  if (set && capacity == 0) {
    EXPECT_EQ(ck, alloc_id(sys, set, 0, IOASID_MAX_CAPACITY, &err), IOASID_INVALID);
    EXPECT_RC(ck, err, IOASID_ENOSPC);
    if (describe)
      appendf(evidence, evidence_len, "; allocator at capacity 0 refuses allocation (%s)",
              err_name(err));
  } else if (set) {
    /* PASID 0 stays with untagged DMA. */
    EXPECT_EQ(ck, alloc_id(sys, set, 0, 0, &err), IOASID_INVALID);
    EXPECT_RC(ck, err, IOASID_ENOSPC);
    uint32_t first = usable <= CAPACITY_FULL_CHECK_LIMIT ? 1 : capacity - CAPACITY_FULL_CHECK_LIMIT;
    uint32_t got = 0;
    for (;;) {
      ioasid_t id = alloc_id(sys, set, first, IOASID_MAX_CAPACITY + 100u, &err);
      if (id == IOASID_INVALID)
        break;
      if (!EXPECT(ck, id >= first && id < capacity))
        break;
      got++;
    }
    EXPECT_EQ(ck, got, capacity - first);
    EXPECT(ck, err == IOASID_ENOSPC || err == IOASID_EQUOTA);
    if (describe)
      appendf(evidence, evidence_len, "; allocator: %u usable (PASID 0 kept for untagged DMA), "
              "IDs %u..%u allocated then %s, quota %u refused", usable, first, capacity - 1,
              err_name(err), usable + 1);
  }
  pool_destroy(ck, sys);
}

/* System capacity: the minimum over the IOMMUs of 2^PASID width (a unit without PASID
 * support, or one that failed to probe, makes it 0). The initiator's PASID capability
 * width limits what that device can use of it (no capability: it can use none), reported
 * and checked as a second value. */
static void ioasid_capacity_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.capacity", true };
  const struct platform *plat = ctx->plat;
  if (plat->n_iommus == 0 && plat->n_bad_tables) {
    const struct platform_bad_table *bt = &plat->bad_tables[0];
    skip(ck.id, ctx->tag, "no usable IOMMU: ACPI %s is malformed (%s, see discover.acpi)", bt->sig,
         acpi_strerror(bt->err));
    return;
  }
  if (plat->n_iommus == 0) {
    skip(ck.id, ctx->tag, "no IOMMU described by ACPI");
    return;
  }
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY, .reserve_pasid0 = true };
  char sources[256] = "";
  for (unsigned i = 0; i < plat->n_iommus && i < PLATFORM_MAX_IOMMUS; i++) {
    const struct iommu_unit *u = &plat->iommus[i];
    const char *kind = iommu_kind_name(u->kind);
    const char *sep = i ? ", " : "";
    bool usable_unit = u->probed && u->probe_err == 0;
    if (!usable_unit)
      appendf(sources, sizeof(sources), "%s%s %s (counted as no PASID)", sep, kind,
              u->probed ? "probe failed" : "not probed");
    else if (u->pasid_bits == 0)
      appendf(sources, sizeof(sources), "%s%s no PASID (%s)", sep, kind,
              u->pasid_reason[0] ? u->pasid_reason : "no reason given");
    else if (u->pasid_reason[0])
      appendf(sources, sizeof(sources), "%s%s PASID width %u (%s)", sep, kind, u->pasid_bits,
              u->pasid_reason);
    else
      appendf(sources, sizeof(sources), "%s%s PASID width %u", sep, kind, u->pasid_bits);
    ioasid_config_limit_bits(&cfg, usable_unit ? u->pasid_bits : 0);
  }
  uint32_t system_capacity = cfg.capacity;
  uint32_t device_capacity = system_capacity;
  char device[96];
  const struct pci_dev *dev = platform_initiator(plat);
  if (!dev) {
    snprintf(device, sizeof(device), "no DMA initiator");
  } else {
    ioasid_config_limit_bits(&cfg, dev->caps.pasid_width);
    device_capacity = cfg.capacity;
    if (dev->caps.pasid_width == 0)
      snprintf(device, sizeof(device), "initiator %04x:%04x has no PASID capability: uses %u",
               dev->vendor, dev->device, device_capacity);
    else
      snprintf(device, sizeof(device), "initiator %04x:%04x PASID width %u: uses %u",
               dev->vendor, dev->device, dev->caps.pasid_width, device_capacity);
  }
  char evidence[512];
  snprintf(evidence, sizeof(evidence), "capacity %u: %s; %s", system_capacity, sources, device);
  capacity_exercise(&ck, system_capacity, true, evidence, sizeof(evidence));
  if (device_capacity != system_capacity)
    capacity_exercise(&ck, device_capacity, false, evidence, sizeof(evidence));
  report(ck.id, ctx->tag, ck.ok, "%s", evidence);
}

/* ---- ioasid.range ---- */

static void ioasid_range_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.range", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *set = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  ioasid_t window_fail = 0, top_fail = 0, reused = IOASID_INVALID;
  uint32_t unique = 0;
  if (set) {
    int err = IOASID_OK;
    /* [min, max] is honoured, lowest first, and exhaustion says so. */
    for (ioasid_t want = 100; want <= 103; want++)
      EXPECT_EQ(&ck, alloc_id(sys, set, 100, 103, &err), want);
    window_fail = alloc_id(sys, set, 100, 103, &err);
    EXPECT_EQ(&ck, window_fail, IOASID_INVALID);
    EXPECT_RC(&ck, err, IOASID_ENOSPC);
    EXPECT_EQ(&ck, alloc_id(sys, set, 5, 4, &err), IOASID_INVALID);
    EXPECT_RC(&ck, err, IOASID_EINVAL);
    /* No wrap past the top of the space. */
    for (ioasid_t want = POOL_CAPACITY - 2; want < POOL_CAPACITY; want++)
      EXPECT_EQ(&ck, alloc_id(sys, set, POOL_CAPACITY - 2, 0xfffffu, &err), want);
    top_fail = alloc_id(sys, set, POOL_CAPACITY - 2, 0xfffffu, &err);
    EXPECT_EQ(&ck, top_fail, IOASID_INVALID);
    EXPECT_RC(&ck, err, IOASID_ENOSPC);
    /* Exhaust the pool: every usable ID once, none twice, none outside [1, capacity). */
    static bool seen[POOL_CAPACITY];
    memset(seen, 0, sizeof(seen));
    seen[100] = seen[101] = seen[102] = seen[103] = true;
    seen[POOL_CAPACITY - 2] = seen[POOL_CAPACITY - 1] = true;
    unique = 6;
    for (;;) {
      ioasid_t id = alloc_id(sys, set, 0, POOL_CAPACITY - 1, &err);
      if (id == IOASID_INVALID)
        break;
      if (!EXPECT(&ck, id >= 1 && id < POOL_CAPACITY && !seen[id]))
        break;
      seen[id] = true;
      unique++;
    }
    EXPECT_RC(&ck, err, IOASID_ENOSPC);
    EXPECT_EQ(&ck, unique, POOL_USABLE);
    EXPECT(&ck, !seen[0]);
    /* A freed ID is the one that comes back. */
    EXPECT_EQ(&ck, ioasid_free(sys, set, 517), 1);
    reused = alloc_id(sys, set, 0, POOL_CAPACITY - 1, &err);
    EXPECT_EQ(&ck, reused, 517);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "pool %u: [100,103] gave 100..103 then %s; top gave %u..%u then %s; %u/%u usable IDs "
         "unique in [1,%u] then INVALID; freed 517 came back as %u",
         POOL_CAPACITY, window_fail == IOASID_INVALID ? "INVALID" : "an ID", POOL_CAPACITY - 2,
         POOL_CAPACITY - 1, top_fail == IOASID_INVALID ? "INVALID" : "an ID", unique,
         POOL_USABLE, POOL_CAPACITY - 1, reused);
}

/* ---- ioasid.set.quota ---- */

static void ioasid_set_quota_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.set.quota", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  uint32_t total = 0;
  int over_quota = IOASID_OK, over_sum = IOASID_OK, over_system = IOASID_OK;
  if (sys) {
    struct ioasid_set *small = set_create(&ck, sys, NULL, 8);
    struct ioasid_set *big = set_create(&ck, sys, NULL, POOL_USABLE - 8);
    struct ioasid_set *shared = set_create(&ck, sys, NULL, 0);
    if (small && big && shared) {
      int err = IOASID_OK;
      ioasid_t ids[8];
      for (unsigned i = 0; i < 8; i++)
        ids[i] = alloc_id(sys, small, 0, POOL_CAPACITY - 1, &err);
      EXPECT_EQ(&ck, alloc_id(sys, small, 0, POOL_CAPACITY - 1, &over_quota), IOASID_INVALID);
      EXPECT_RC(&ck, over_quota, IOASID_EQUOTA);
      /* Freeing gives the room back. */
      EXPECT_EQ(&ck, ioasid_free(sys, small, ids[3]), 1);
      EXPECT(&ck, alloc_id(sys, small, 0, POOL_CAPACITY - 1, &err) != IOASID_INVALID);
      /* Quotas already promise the whole capacity: no more quota, no shared IDs. */
      EXPECT(&ck, ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 1, &over_sum) == NULL);
      EXPECT_RC(&ck, over_sum, IOASID_ENOSPC);
      EXPECT_EQ(&ck, alloc_id(sys, shared, 0, POOL_CAPACITY - 1, &err), IOASID_INVALID);
      EXPECT_RC(&ck, err, IOASID_ENOSPC);
      /* Freeing the big set returns its quota to the shared pool, which then fills up to
       * the system capacity and no further. */
      EXPECT_RC(&ck, ioasid_set_free(sys, big), IOASID_OK);
      while (alloc_id(sys, shared, 0, POOL_CAPACITY - 1, &over_system) != IOASID_INVALID) {
      }
      EXPECT_RC(&ck, over_system, IOASID_ENOSPC);
      total = ioasid_count(sys);
      EXPECT_EQ(&ck, total, POOL_USABLE);
      EXPECT_EQ(&ck, ioasid_set_count(shared), POOL_USABLE - 8);
      EXPECT_RC(&ck, ioasid_capacity_reserve(sys, 1), IOASID_ENOSPC);
    }
    pool_destroy(&ck, sys);
  }
  report(ck.id, ctx->tag, ck.ok,
         "quota 8: 9th alloc %s, a free gave the room back; quotas 8+%u of %u: quota 1 more %s; "
         "after freeing the %u-set the shared set filled to %u/%u then %s",
         err_name(over_quota), POOL_USABLE - 8, POOL_USABLE, err_name(over_sum),
         POOL_USABLE - 8, total, POOL_USABLE, err_name(over_system));
}

/* ---- ioasid.state ---- */

static const char *state_name(enum ioasid_state s)
{
  switch (s) {
  case IOASID_STATE_FREE: return "FREE";
  case IOASID_STATE_IDLE: return "IDLE";
  case IOASID_STATE_ACTIVE: return "ACTIVE";
  case IOASID_STATE_FREE_PENDING: return "FREE_PENDING";
  }
  return "?";
}

static void ioasid_state_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.state", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *set = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  enum ioasid_state seen[5] = { IOASID_STATE_FREE, IOASID_STATE_FREE, IOASID_STATE_FREE,
                                IOASID_STATE_FREE, IOASID_STATE_FREE };
  ioasid_t id = IOASID_INVALID;
  if (set) {
    int err = IOASID_OK;
    id = alloc_id(sys, set, 0, POOL_CAPACITY - 1, &err);
    EXPECT(&ck, id != IOASID_INVALID);
    seen[0] = ioasid_state_of(sys, id);
    EXPECT_RC(&ck, ioasid_get(sys, NULL, id), IOASID_OK);
    EXPECT_RC(&ck, ioasid_bind(sys, set, id), IOASID_OK);
    seen[1] = ioasid_state_of(sys, id);
    /* Free with two references outstanding: deferred, and the ID is not reusable. */
    EXPECT_EQ(&ck, ioasid_free(sys, set, id), 0);
    seen[2] = ioasid_state_of(sys, id);
    EXPECT_EQ(&ck, alloc_id(sys, set, id, id, &err), IOASID_INVALID);
    EXPECT_RC(&ck, err, IOASID_ENOSPC);
    EXPECT_EQ(&ck, ioasid_put(sys, NULL, id), 0);
    seen[3] = ioasid_state_of(sys, id);
    /* The last reference (the bind) releases it. */
    EXPECT_EQ(&ck, ioasid_unbind(sys, NULL, id), 1);
    seen[4] = ioasid_state_of(sys, id);
    EXPECT_EQ(&ck, alloc_id(sys, set, id, id, &err), id);
    EXPECT_EQ(&ck, seen[0], IOASID_STATE_IDLE);
    EXPECT_EQ(&ck, seen[1], IOASID_STATE_ACTIVE);
    EXPECT_EQ(&ck, seen[2], IOASID_STATE_FREE_PENDING);
    EXPECT_EQ(&ck, seen[3], IOASID_STATE_FREE_PENDING);
    EXPECT_EQ(&ck, seen[4], IOASID_STATE_FREE);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "ID %u: %s -> get+bind %s -> free with 2 refs %s -> put %s -> unbind %s, then reusable",
         id, state_name(seen[0]), state_name(seen[1]), state_name(seen[2]), state_name(seen[3]),
         state_name(seen[4]));
}

/* ---- ioasid.refcount ---- */

static void ioasid_refcount_scenario(struct scenario_ctx *ctx)
{
  static const char owner_token = 'A', other_token = 'B';
  struct check ck = { "ioasid.refcount", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *a = sys ? set_create(&ck, sys, &owner_token, 0) : NULL;
  struct ioasid_set *b = sys ? set_create(&ck, sys, &other_token, 0) : NULL;
  uint32_t peak = 0;
  int freed_rc = IOASID_OK, pending_rc = IOASID_OK, foreign_rc = IOASID_OK;
  if (a && b) {
    int err = IOASID_OK;
    ioasid_t id = alloc_id(sys, a, 0, POOL_CAPACITY - 1, &err);
    for (unsigned i = 0; i < 3; i++)
      EXPECT_RC(&ck, ioasid_get(sys, a, id), IOASID_OK);
    EXPECT_RC(&ck, ioasid_get_if_owned(sys, &owner_token, id), IOASID_OK);
    peak = ioasid_refs_of(sys, id);
    EXPECT_EQ(&ck, peak, 4);
    for (unsigned i = 0; i < 4; i++)
      EXPECT_EQ(&ck, ioasid_put(sys, a, id), 0);
    EXPECT_EQ(&ck, ioasid_refs_of(sys, id), 0);
    EXPECT_EQ(&ck, ioasid_state_of(sys, id), IOASID_STATE_IDLE);
    EXPECT_RC(&ck, ioasid_put(sys, a, id), IOASID_EINVAL);   /* unbalanced */
    /* Foreign: another set, or the wrong token. */
    foreign_rc = ioasid_get(sys, b, id);
    EXPECT_RC(&ck, foreign_rc, IOASID_EPERM);
    EXPECT_RC(&ck, ioasid_get_if_owned(sys, &other_token, id), IOASID_EPERM);
    EXPECT_EQ(&ck, ioasid_refs_of(sys, id), 0);
    /* Pending (freed with a reference) and freed IDs. */
    EXPECT_RC(&ck, ioasid_get(sys, a, id), IOASID_OK);
    EXPECT_EQ(&ck, ioasid_free(sys, a, id), 0);
    pending_rc = ioasid_get(sys, NULL, id);
    EXPECT_RC(&ck, pending_rc, IOASID_EBUSY);
    EXPECT_EQ(&ck, ioasid_put(sys, NULL, id), 1);
    freed_rc = ioasid_get(sys, NULL, id);
    EXPECT_RC(&ck, freed_rc, IOASID_ENOENT);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "4 gets / 4 puts balanced (peak %u, back to 0, extra put refused); get on foreign ID %s, "
         "on FREE_PENDING %s, on freed %s",
         peak, err_name(foreign_rc), err_name(pending_rc), err_name(freed_rc));
}

/* ---- ioasid.notify ---- */

#define NOTIFY_MAX 64

struct notify_log {
  unsigned n;
  int who[NOTIFY_MAX];
  enum ioasid_event_type type[NOTIFY_MAX];
  unsigned reentry_refused, reentry_allowed;
};

struct subscriber {
  struct ioasid_notifier nb;
  struct notify_log *log;
  struct ioasid_system *sys;
  int who;
};

static void on_notify(const struct ioasid_event *ev, void *arg)
{
  struct subscriber *s = arg;
  struct notify_log *log = s->log;
  if (log->n < NOTIFY_MAX) {
    log->who[log->n] = s->who;
    log->type[log->n] = ev->type;
  }
  log->n++;
  /* A callback may not modify the allocator. */
  if (ioasid_capacity_reserve(s->sys, 1) == IOASID_EREENTRANT)
    log->reentry_refused++;
  else
    log->reentry_allowed++;
}

static void subscriber_init(struct subscriber *s, struct notify_log *log,
                            struct ioasid_system *sys, int who, int priority)
{
  memset(s, 0, sizeof(*s));
  s->nb.fn = on_notify;
  s->nb.arg = s;
  s->nb.priority = priority;
  s->log = log;
  s->sys = sys;
  s->who = who;
}

static void ioasid_notify_scenario(struct scenario_ctx *ctx)
{
  static const char token = 'T';
  /* Expected delivery order: by priority across set, token and global subscribers. */
  static const int order[] = { 10, 5, 0, -5 };
  static const enum ioasid_event_type events[] = {
    IOASID_NOTIFY_ALLOC, IOASID_NOTIFY_BIND, IOASID_NOTIFY_UNBIND, IOASID_NOTIFY_FREE,
    IOASID_NOTIFY_SET_FREE,
  };
  struct check ck = { "ioasid.notify", true };
  struct notify_log log;
  memset(&log, 0, sizeof(log));
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct subscriber set_high, set_low, early_token, global, other;
  unsigned other_events = 0;
  if (sys) {
    subscriber_init(&set_high, &log, sys, 10, 10);
    subscriber_init(&early_token, &log, sys, 5, 5);
    subscriber_init(&global, &log, sys, 0, 0);
    subscriber_init(&set_low, &log, sys, -5, -5);
    subscriber_init(&other, &log, sys, 99, 100);
    /* Registered for the token before its set exists: attached when the set appears. */
    EXPECT_RC(&ck, ioasid_notifier_register_token(sys, &token, &early_token.nb), IOASID_OK);
    EXPECT_RC(&ck, ioasid_notifier_register(sys, NULL, &global.nb), IOASID_OK);
    struct ioasid_set *set = set_create(&ck, sys, &token, 0);
    struct ioasid_set *bystander = set_create(&ck, sys, NULL, 0);
    if (set && bystander) {
      EXPECT_RC(&ck, ioasid_notifier_register(sys, set, &set_low.nb), IOASID_OK);
      EXPECT_RC(&ck, ioasid_notifier_register(sys, set, &set_high.nb), IOASID_OK);
      EXPECT_RC(&ck, ioasid_notifier_register(sys, bystander, &other.nb), IOASID_OK);
      int err = IOASID_OK;
      ioasid_t id = alloc_id(sys, set, 0, POOL_CAPACITY - 1, &err);
      EXPECT_RC(&ck, ioasid_bind(sys, set, id), IOASID_OK);
      EXPECT_RC(&ck, ioasid_unbind(sys, set, id), 0);
      EXPECT_EQ(&ck, ioasid_free(sys, set, id), 1);
      EXPECT_RC(&ck, ioasid_set_free(sys, set), IOASID_OK);
      EXPECT_EQ(&ck, log.n, 5 * 4);
      for (unsigned e = 0; e < 5; e++) {
        for (unsigned k = 0; k < 4 && e * 4 + k < log.n && e * 4 + k < NOTIFY_MAX; k++) {
          unsigned i = e * 4 + k;
          if (!EXPECT(&ck, log.who[i] == order[k] && log.type[i] == events[e]))
            diag("ioasid.notify: delivery %u: subscriber %d got %s, expected subscriber %d "
                 "to get %s", i, log.who[i], ioasid_event_name(log.type[i]), order[k],
                 ioasid_event_name(events[e]));
        }
      }
      for (unsigned i = 0; i < log.n && i < NOTIFY_MAX; i++)
        other_events += log.who[i] == 99;
      EXPECT_EQ(&ck, other_events, 0);
      EXPECT_EQ(&ck, log.reentry_allowed, 0);
      EXPECT_EQ(&ck, log.reentry_refused, log.n);
      /* The token subscriber outlives the set; the set's own do not. */
      EXPECT(&ck, ioasid_notifier_registered(&early_token.nb));
      EXPECT(&ck, !ioasid_notifier_registered(&set_high.nb));
    }
    pool_destroy(&ck, sys);
  }
  report(ck.id, ctx->tag, ck.ok,
         "ALLOC/BIND/UNBIND/FREE/SET_FREE: %u deliveries to 4 subscribers (set 10, early token "
         "5, global 0, set -5) once each in priority order; other set's subscriber got %u; "
         "%u/%u re-entries refused (EREENTRANT)",
         log.n, other_events, log.reentry_refused, log.n);
}

/* ---- ioasid.spid ---- */

static void ioasid_spid_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.spid", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *a = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  struct ioasid_set *b = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  ioasid_t x = IOASID_INVALID, found = IOASID_INVALID;
  uint32_t back = 0;
  int dup_rc = IOASID_OK, after_free_rc = IOASID_OK;
  if (a && b) {
    int err = IOASID_OK;
    x = alloc_id(sys, a, 0, POOL_CAPACITY - 1, &err);
    ioasid_t y = alloc_id(sys, a, 0, POOL_CAPACITY - 1, &err);
    ioasid_t z = alloc_id(sys, b, 0, POOL_CAPACITY - 1, &err);
    EXPECT_RC(&ck, ioasid_spid_attach(sys, a, x, 42), IOASID_OK);
    EXPECT_RC(&ck, ioasid_spid_lookup(sys, a, 42, &found), IOASID_OK);
    EXPECT_EQ(&ck, found, x);
    EXPECT_RC(&ck, ioasid_spid_of(sys, a, x, &back), IOASID_OK);
    EXPECT_EQ(&ck, back, 42);
    /* Unique within the set, independent across sets. */
    dup_rc = ioasid_spid_attach(sys, a, y, 42);
    EXPECT_RC(&ck, dup_rc, IOASID_EEXIST);
    EXPECT_RC(&ck, ioasid_spid_attach(sys, a, x, 43), IOASID_EEXIST);
    EXPECT_RC(&ck, ioasid_spid_attach(sys, b, z, 42), IOASID_OK);
    ioasid_t in_b = IOASID_INVALID;
    EXPECT_RC(&ck, ioasid_spid_lookup(sys, b, 42, &in_b), IOASID_OK);
    EXPECT_EQ(&ck, in_b, z);
    /* Detach, then the SPID can name another ID of the set. */
    EXPECT_RC(&ck, ioasid_spid_detach(sys, a, x), IOASID_OK);
    ioasid_t gone;
    EXPECT_RC(&ck, ioasid_spid_lookup(sys, a, 42, &gone), IOASID_ENOENT);
    EXPECT_RC(&ck, ioasid_spid_of(sys, a, x, &back), IOASID_ENOENT);
    EXPECT_RC(&ck, ioasid_spid_attach(sys, a, y, 42), IOASID_OK);
    EXPECT_RC(&ck, ioasid_spid_lookup(sys, a, 42, &found), IOASID_OK);
    EXPECT_EQ(&ck, found, y);
    /* Freeing the ID takes its SPID with it. */
    EXPECT_EQ(&ck, ioasid_free(sys, a, y), 1);
    after_free_rc = ioasid_spid_lookup(sys, a, 42, &gone);
    EXPECT_RC(&ck, after_free_rc, IOASID_ENOENT);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "SPID 42 <-> ID %u both ways; second use in the set %s, same SPID in another set "
         "allowed; after detach it maps to ID %u; after that ID's free, lookup %s",
         x, err_name(dup_rc), found, err_name(after_free_rc));
}

/* ---- ioasid.ownership ---- */

static void ioasid_ownership_scenario(struct scenario_ctx *ctx)
{
  struct check ck = { "ioasid.ownership", true };
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *owner = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  struct ioasid_set *intruder = sys ? set_create(&ck, sys, NULL, 0) : NULL;
  int get_rc = IOASID_OK, free_rc = IOASID_OK, bind_rc = IOASID_OK;
  if (owner && intruder) {
    int err = IOASID_OK;
    ioasid_t id = alloc_id(sys, owner, 0, POOL_CAPACITY - 1, &err);
    get_rc = ioasid_get(sys, intruder, id);
    free_rc = ioasid_free(sys, intruder, id);
    bind_rc = ioasid_bind(sys, intruder, id);
    EXPECT_RC(&ck, get_rc, IOASID_EPERM);
    EXPECT_RC(&ck, free_rc, IOASID_EPERM);
    EXPECT_RC(&ck, bind_rc, IOASID_EPERM);
    EXPECT_RC(&ck, ioasid_spid_attach(sys, intruder, id, 7), IOASID_EPERM);
    EXPECT_RC(&ck, ioasid_unbind(sys, intruder, id), IOASID_EPERM);
    /* Nothing changed: still the owner's, idle, unreferenced. */
    EXPECT(&ck, ioasid_owner(sys, id) == owner);
    EXPECT_EQ(&ck, ioasid_state_of(sys, id), IOASID_STATE_IDLE);
    EXPECT_EQ(&ck, ioasid_refs_of(sys, id), 0);
    /* The owner can do all three. */
    EXPECT_RC(&ck, ioasid_bind(sys, owner, id), IOASID_OK);
    EXPECT_RC(&ck, ioasid_get(sys, owner, id), IOASID_OK);
    EXPECT_EQ(&ck, ioasid_put(sys, owner, id), 0);
    EXPECT_EQ(&ck, ioasid_unbind(sys, owner, id), 0);
    EXPECT_EQ(&ck, ioasid_free(sys, owner, id), 1);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "another set's get %s, free %s, bind %s (and SPID attach, unbind refused); ID "
         "unchanged; owner's bind/get/put/unbind/free succeed",
         err_name(get_rc), err_name(free_rc), err_name(bind_rc));
}

/* ---- ioasid.set.free ---- */

static void ioasid_set_free_scenario(struct scenario_ctx *ctx)
{
  static const char token = 'S';
  struct check ck = { "ioasid.set.free", true };
  struct notify_log log;
  memset(&log, 0, sizeof(log));
  struct ioasid_system *sys = pool_create(&ck, POOL_CAPACITY);
  struct ioasid_set *set = sys ? set_create(&ck, sys, &token, 16) : NULL;
  unsigned frees = 0, set_frees = 0, freed_now = 0;
  struct subscriber sub;   /* outlives the pool: registered on it until the set is freed */
  if (set) {
    subscriber_init(&sub, &log, sys, 1, 0);
    EXPECT_RC(&ck, ioasid_notifier_register(sys, set, &sub.nb), IOASID_OK);
    int err = IOASID_OK;
    ioasid_t ids[5];
    for (unsigned i = 0; i < 5; i++) {
      ids[i] = alloc_id(sys, set, 0, POOL_CAPACITY - 1, &err);
      EXPECT_RC(&ck, ioasid_spid_attach(sys, set, ids[i], 100 + i), IOASID_OK);
    }
    EXPECT_RC(&ck, ioasid_get(sys, NULL, ids[2]), IOASID_OK);   /* a device still holds it */
    log.n = 0;
    EXPECT_RC(&ck, ioasid_set_free(sys, set), IOASID_OK);
    for (unsigned i = 0; i < log.n && i < NOTIFY_MAX; i++) {
      frees += log.type[i] == IOASID_NOTIFY_FREE;
      set_frees += log.type[i] == IOASID_NOTIFY_SET_FREE;
    }
    EXPECT_EQ(&ck, frees, 5);
    EXPECT_EQ(&ck, set_frees, 1);
    for (unsigned i = 0; i < 5; i++) {
      enum ioasid_state want = i == 2 ? IOASID_STATE_FREE_PENDING : IOASID_STATE_FREE;
      freed_now += ioasid_state_of(sys, ids[i]) == IOASID_STATE_FREE;
      EXPECT_EQ(&ck, ioasid_state_of(sys, ids[i]), want);
    }
    EXPECT(&ck, ioasid_find_set(sys, &token) == NULL);
    /* A new set for the same token starts without stale SPIDs. */
    struct ioasid_set *again = set_create(&ck, sys, &token, 0);
    if (again) {
      for (unsigned i = 0; i < 5; i++) {
        ioasid_t stale;
        EXPECT_RC(&ck, ioasid_spid_lookup(sys, again, 100 + i, &stale), IOASID_ENOENT);
      }
      EXPECT_RC(&ck, ioasid_set_free(sys, again), IOASID_OK);
    }
    /* The last put releases the held ID, and with it the freed set's quota. */
    EXPECT_EQ(&ck, ioasid_capacity_unreserved(sys), POOL_USABLE - 16);
    EXPECT_EQ(&ck, ioasid_put(sys, NULL, ids[2]), 1);
    EXPECT_EQ(&ck, ioasid_count(sys), 0);
    EXPECT_EQ(&ck, ioasid_capacity_unreserved(sys), POOL_USABLE);
  }
  if (sys)
    pool_destroy(&ck, sys);
  report(ck.id, ctx->tag, ck.ok,
         "5 IDs with SPIDs: %u FREE + %u SET_FREE events, %u freed at once, the referenced one "
         "FREE_PENDING until its put; same token's new set has no stale SPID; quota returned",
         frees, set_frees, freed_now);
}

const struct scenario ioasid_scenarios[] = {
  { "ioasid.capacity", SCENARIO_ONCE, ioasid_capacity_scenario },
  { "ioasid.range", SCENARIO_ONCE, ioasid_range_scenario },
  { "ioasid.set.quota", SCENARIO_ONCE, ioasid_set_quota_scenario },
  { "ioasid.state", SCENARIO_ONCE, ioasid_state_scenario },
  { "ioasid.refcount", SCENARIO_ONCE, ioasid_refcount_scenario },
  { "ioasid.notify", SCENARIO_ONCE, ioasid_notify_scenario },
  { "ioasid.spid", SCENARIO_ONCE, ioasid_spid_scenario },
  { "ioasid.ownership", SCENARIO_ONCE, ioasid_ownership_scenario },
  { "ioasid.set.free", SCENARIO_ONCE, ioasid_set_free_scenario },
};
const unsigned ioasid_scenario_count = sizeof(ioasid_scenarios) / sizeof(ioasid_scenarios[0]);
