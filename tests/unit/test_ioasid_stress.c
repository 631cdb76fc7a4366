/* ioasid.stress: millions of seeded random operations on the allocator, each checked against
 * a deliberately simple reference model (flat arrays, linear scans): return codes, returned
 * IDs, every notification (who got it, in which order), and periodically the whole state and
 * ioasid_check_invariants(). Deterministic: IOASID_STRESS_SEED / IOASID_STRESS_OPS override
 * the defaults for longer or different runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/ioasid.h"

#define DEFAULT_SEED 0x10A51Dull
#define DEFAULT_OPS 5000000ull
#define OPS_PER_ROUND 60000u
#define MODEL_MAX_CAP 4096u
#define MAX_SETS 16
#define N_TOKENS 4
#define WATCHED_TOKEN 0   /* a token subscriber waits on this token for the whole round */
#define MAX_EVENTS 4200

/* ---- PRNG (splitmix64: tiny, deterministic everywhere) ---- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint32_t rnd(uint32_t n)
{
  return n ? (uint32_t)(rnd64() % n) : 0;
}

/* ---- reference model ---- */

enum { SLOT_EMPTY, SLOT_LIVE, SLOT_DEAD };
enum { WHO_GLOBAL = -1, WHO_TOKEN = -2 };

struct event_rec {
  int who;
  enum ioasid_event_type type;
  ioasid_t id;
};

struct recorder {
  struct ioasid_notifier nb;
  int who;
};

struct model_id {
  int slot;            /* owning set slot, -1 = free */
  int state;
  uint32_t refs;
  uint32_t binds;
  uint32_t spid;       /* IOASID_INVALID = none */
  uint64_t seq;        /* allocation order, for the set's iteration order */
  uintptr_t data;
};

struct model_set {
  int status;
  int token;           /* index into tokens[], -1 = none */
  uint32_t quota;
  uint32_t nr_ids;
  struct ioasid_set *real;
  struct recorder rec;
};

static struct {
  uint32_t cap, first, usable, explicit_reserved, count;
  uint64_t seq;
  struct model_id ids[MODEL_MAX_CAP];
  struct model_set sets[MAX_SETS];
} m;

static char tokens[N_TOKENS];
static struct ioasid_system *sys;
static struct recorder global_rec, token_rec;
static struct event_rec got[MAX_EVENTS], want[MAX_EVENTS];
static unsigned n_got, n_want;
static uint64_t op_index;
static const char *op_name;

/* Outcome tally per operation, printed at the end so a run shows it exercised success paths
 * and not only error returns. */
#define MAX_OP_KINDS 32
#define N_ERRORS 11   /* IOASID_OK .. IOASID_ECORRUPT */
static struct {
  const char *name;
  uint64_t ok, by_error[N_ERRORS];
} tally[MAX_OP_KINDS];

static void count_outcome(int rc)
{
  unsigned k = 0;
  while (k < MAX_OP_KINDS - 1 && tally[k].name && tally[k].name != op_name)
    k++;
  tally[k].name = op_name;
  if (rc >= 0)
    tally[k].ok++;
  else if (-rc < N_ERRORS)
    tally[k].by_error[-rc]++;
}

static void on_event(const struct ioasid_event *ev, void *arg)
{
  const struct recorder *r = arg;
  if (n_got < MAX_EVENTS)
    got[n_got] = (struct event_rec){ r->who, ev->type, ev->id };
  n_got++;
}

static void recorder_init(struct recorder *r, int who, int priority)
{
  memset(r, 0, sizeof(*r));
  r->nb.fn = on_event;
  r->nb.arg = r;
  r->nb.priority = priority;
  r->who = who;
}

#define CHECK(cond, ...)                                                                      \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "ioasid.stress: op %" PRIu64 " (%s): ", op_index, op_name);             \
      fprintf(stderr, __VA_ARGS__);                                                           \
      fprintf(stderr, "\n");                                                                  \
      fail_msg("ioasid.stress mismatch at op %" PRIu64, op_index);                            \
    }                                                                                         \
  } while (0)

static uint32_t model_unreserved(void)
{
  uint32_t promised = m.explicit_reserved;
  for (int s = 0; s < MAX_SETS; s++) {
    if (m.sets[s].status == SLOT_EMPTY)
      continue;
    promised += m.sets[s].quota ? m.sets[s].quota : m.sets[s].nr_ids;
  }
  return m.usable - promised;
}

static bool model_allocated(ioasid_t id)
{
  return id < m.cap && m.ids[id].slot >= 0;
}

/* The expected deliveries of one event: token subscriber (priority 2) when the set has the
 * watched token, the set's own subscriber (1), the global one (0). */
static void expect_event(int slot, enum ioasid_event_type type, ioasid_t id)
{
  if (slot >= 0 && m.sets[slot].status == SLOT_LIVE) {
    if (m.sets[slot].token == WATCHED_TOKEN)
      want[n_want++] = (struct event_rec){ WHO_TOKEN, type, id };
    want[n_want++] = (struct event_rec){ slot, type, id };
  }
  want[n_want++] = (struct event_rec){ WHO_GLOBAL, type, id };
}

static void model_release(ioasid_t id)
{
  struct model_set *set = &m.sets[m.ids[id].slot];
  memset(&m.ids[id], 0, sizeof(m.ids[id]));
  m.ids[id].slot = -1;
  m.ids[id].spid = IOASID_INVALID;
  set->nr_ids--;
  m.count--;
  if (set->status == SLOT_DEAD && set->nr_ids == 0) {
    set->status = SLOT_EMPTY;
    set->real = NULL;
  }
}

/* The owner's free of a live ID; returns 1 when released at once. */
static int model_free_owned(ioasid_t id)
{
  int slot = m.ids[id].slot;
  m.ids[id].spid = IOASID_INVALID;
  int released = m.ids[id].refs == 0;
  if (released)
    model_release(id);
  else
    m.ids[id].state = IOASID_STATE_FREE_PENDING;
  expect_event(slot, IOASID_NOTIFY_FREE, id);
  return released;
}

/* The live IDs of a set in allocation order (its iteration order). Returns the count. */
static ioasid_t order_buf[MODEL_MAX_CAP];

static int by_seq(const void *a, const void *b)
{
  uint64_t sa = m.ids[*(const ioasid_t *)a].seq, sb = m.ids[*(const ioasid_t *)b].seq;
  return sa < sb ? -1 : sa > sb;
}

static uint32_t model_live_in_order(int slot)
{
  uint32_t n = 0;
  for (ioasid_t id = 0; id < m.cap; id++)
    if (m.ids[id].slot == slot && m.ids[id].state != IOASID_STATE_FREE_PENDING)
      order_buf[n++] = id;
  qsort(order_buf, n, sizeof(order_buf[0]), by_seq);
  return n;
}

/* ---- choosing operands ---- */

static ioasid_t pick_id(void)
{
  uint32_t r = rnd(100);
  if (r < 80 && m.count > 0) {
    ioasid_t start = rnd(m.cap);
    for (uint32_t k = 0; k < m.cap; k++) {
      ioasid_t id = (start + k) % m.cap;
      if (model_allocated(id))
        return id;
    }
  }
  if (r < 97)
    return rnd(m.cap + 3);
  return IOASID_INVALID;
}

/* An allocated ID holding more references than binds (want_binds false) or a bind (true):
 * what put / unbind can act on, so references drain and dead sets get destroyed. */
static ioasid_t pick_referenced_id(bool want_binds)
{
  if (rnd(10) < 3 || m.count == 0)
    return pick_id();
  ioasid_t start = rnd(m.cap);
  for (uint32_t k = 0; k < m.cap; k++) {
    ioasid_t id = (start + k) % m.cap;
    const struct model_id *mi = &m.ids[id];
    if (mi->slot >= 0 && (want_binds ? mi->binds > 0 : mi->refs > mi->binds))
      return id;
  }
  return pick_id();
}

static int random_slot_with(int status)
{
  int start = (int)rnd(MAX_SETS);
  for (int k = 0; k < MAX_SETS; k++) {
    int s = (start + k) % MAX_SETS;
    if (m.sets[s].status == status)
      return s;
  }
  return -1;
}

/* A set operand: usually the ID's owner, sometimes another live set, a stale (dead but not
 * yet destroyed) handle, or NULL. Returns the slot, -1 for NULL. */
static int pick_set(ioasid_t id, bool allow_null)
{
  uint32_t r = rnd(100);
  if (r < 60 && model_allocated(id)) {
    if (m.sets[m.ids[id].slot].status == SLOT_LIVE)
      return m.ids[id].slot;
    if (allow_null)
      return -1;   /* a dead set's pending ID: only system users can still put/unbind it */
  }
  if (r < 85) {
    int s = random_slot_with(SLOT_LIVE);
    if (s >= 0)
      return s;
  }
  if (r < 92) {
    int s = random_slot_with(SLOT_DEAD);
    if (s >= 0)
      return s;
  }
  if (allow_null)
    return -1;
  int s = random_slot_with(SLOT_LIVE);
  return s >= 0 ? s : random_slot_with(SLOT_DEAD);
}

static struct ioasid_set *real_set(int slot)
{
  return slot >= 0 ? m.sets[slot].real : NULL;
}

static bool slot_live(int slot)
{
  return slot >= 0 && m.sets[slot].status == SLOT_LIVE;
}

/* Common precedence of the ID calls: EINVAL for a stale set, ENOENT, then EPERM. */
static int model_lookup(int slot, ioasid_t id)
{
  if (slot >= 0 && !slot_live(slot))
    return IOASID_EINVAL;
  if (!model_allocated(id))
    return IOASID_ENOENT;
  if (slot >= 0 && m.ids[id].slot != slot)
    return IOASID_EPERM;
  return IOASID_OK;
}

/* ---- operations: each computes the expectation, calls the allocator, compares ---- */

static void op_set_alloc(void)
{
  op_name = "set_alloc";
  int slot = random_slot_with(SLOT_EMPTY);
  if (slot < 0)
    return;
  int token = rnd(5) == 0 ? -1 : (int)rnd(N_TOKENS);
  enum ioasid_set_type type = token >= 0 ? IOASID_SET_TYPE_MM : IOASID_SET_TYPE_NULL;
  if (rnd(40) == 0)
    type = (enum ioasid_set_type)rnd(3);
  uint32_t quota;
  switch (rnd(6)) {
  case 0: case 1: quota = 0; break;
  case 2: quota = rnd(8) + 1; break;
  case 3: case 4: quota = rnd(m.usable / 3 + 2); break;
  default: quota = rnd(m.usable + 2); break;
  }
  const void *tok = token >= 0 ? &tokens[token] : NULL;

  int want_rc = IOASID_OK;
  if (type == IOASID_SET_TYPE_NULL ? tok != NULL : (type != IOASID_SET_TYPE_MM || tok == NULL))
    want_rc = IOASID_EINVAL;
  else if (tok) {
    for (int s = 0; s < MAX_SETS; s++)
      if (m.sets[s].status == SLOT_LIVE && m.sets[s].token == token)
        want_rc = IOASID_EEXIST;
  }
  if (want_rc == IOASID_OK && quota > model_unreserved())
    want_rc = IOASID_ENOSPC;

  int err = 1;
  struct ioasid_set *real = ioasid_set_alloc(sys, tok, type, quota, &err);
  CHECK(err == want_rc, "rc %d want %d (quota %u unreserved %u)", err, want_rc, quota,
        model_unreserved());
  count_outcome(err);
  CHECK((real != NULL) == (want_rc == IOASID_OK), "handle/rc disagree");
  if (!real)
    return;
  struct model_set *set = &m.sets[slot];
  set->status = SLOT_LIVE;
  set->token = token;
  set->quota = quota;
  set->nr_ids = 0;
  set->real = real;
  recorder_init(&set->rec, slot, 1);
  CHECK(ioasid_notifier_register(sys, real, &set->rec.nb) == IOASID_OK, "register");
  CHECK(ioasid_set_quota(real) == quota, "quota readback");
}

static void op_set_free(void)
{
  op_name = "set_free";
  int slot = rnd(8) == 0 ? random_slot_with(SLOT_DEAD) : random_slot_with(SLOT_LIVE);
  if (slot < 0)
    return;
  struct model_set *set = &m.sets[slot];
  int want_rc = set->status == SLOT_LIVE ? IOASID_OK : IOASID_EINVAL;
  struct ioasid_set *real = set->real;
  if (want_rc == IOASID_OK) {
    /* FREE for each live ID in allocation order, then SET_FREE. */
    uint32_t n = model_live_in_order(slot);
    for (uint32_t k = 0; k < n; k++)
      model_free_owned(order_buf[k]);
    expect_event(slot, IOASID_NOTIFY_SET_FREE, IOASID_INVALID);
    set->status = set->nr_ids ? SLOT_DEAD : SLOT_EMPTY;
    if (set->status == SLOT_EMPTY)
      set->real = NULL;
  }
  int rc = ioasid_set_free(sys, real);
  CHECK(rc == want_rc, "rc %d want %d", rc, want_rc);
  count_outcome(rc);
  if (rc == IOASID_OK)
    CHECK(!ioasid_notifier_registered(&set->rec.nb), "set subscriber survived its set");
}

static void op_alloc(void)
{
  op_name = "alloc";
  int slot = pick_set(IOASID_INVALID, false);
  if (slot < 0)
    return;
  ioasid_t min, max;
  switch (rnd(4)) {
  case 0: min = 0; max = IOASID_INVALID - 1; break;
  case 1: min = rnd(m.cap + 2); max = min + rnd(8); break;
  case 2: min = rnd(m.cap + 2); max = rnd(m.cap + 2); break;  /* may be inverted */
  default: min = rnd(m.cap / 2 + 1); max = m.cap - 1 + rnd(3); break;
  }
  uintptr_t data = (uintptr_t)rnd64() | 1;
  struct model_set *set = &m.sets[slot];

  int want_rc = IOASID_OK;
  ioasid_t want_id = IOASID_INVALID;
  if (set->status != SLOT_LIVE || min > max)
    want_rc = IOASID_EINVAL;
  else if (set->quota && set->nr_ids >= set->quota)
    want_rc = IOASID_EQUOTA;
  else if (!set->quota && model_unreserved() == 0)
    want_rc = IOASID_ENOSPC;
  else {
    for (uint64_t id = min < m.first ? m.first : min; id <= max && id < m.cap; id++) {
      if (!model_allocated((ioasid_t)id)) {
        want_id = (ioasid_t)id;
        break;
      }
    }
    if (want_id == IOASID_INVALID)
      want_rc = IOASID_ENOSPC;
  }
  if (want_rc == IOASID_OK) {
    struct model_id *mi = &m.ids[want_id];
    mi->slot = slot;
    mi->state = IOASID_STATE_IDLE;
    mi->refs = mi->binds = 0;
    mi->spid = IOASID_INVALID;
    mi->seq = ++m.seq;
    mi->data = data;
    set->nr_ids++;
    m.count++;
    expect_event(slot, IOASID_NOTIFY_ALLOC, want_id);
  }
  int err = 1;
  ioasid_t id = ioasid_alloc(sys, set->real, min, max, (void *)data, &err);
  CHECK(err == want_rc && id == want_id, "got id %u rc %d, want id %u rc %d ([%u,%u])", id, err,
        want_id, want_rc, min, max);
  count_outcome(err);
}

static void op_free(void)
{
  op_name = "free";
  ioasid_t id = pick_id();
  int slot = pick_set(id, rnd(20) == 0);
  int want_rc = slot < 0 ? IOASID_EINVAL : model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].state == IOASID_STATE_FREE_PENDING)
    want_rc = IOASID_EBUSY;
  if (want_rc == IOASID_OK)
    want_rc = model_free_owned(id);
  int rc = ioasid_free(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static int model_take_ref(ioasid_t id)
{
  if (m.ids[id].state == IOASID_STATE_FREE_PENDING)
    return IOASID_EBUSY;
  m.ids[id].refs++;
  m.ids[id].state = IOASID_STATE_ACTIVE;
  return IOASID_OK;
}

/* Drops one reference; 1 when it released a pending ID. */
static int model_drop_ref(ioasid_t id)
{
  struct model_id *mi = &m.ids[id];
  if (--mi->refs)
    return 0;
  if (mi->state == IOASID_STATE_FREE_PENDING) {
    model_release(id);
    return 1;
  }
  mi->state = IOASID_STATE_IDLE;
  return 0;
}

static void op_get(void)
{
  op_name = "get";
  ioasid_t id = pick_id();
  int slot = pick_set(id, rnd(2) == 0);
  int want_rc = model_lookup(slot, id);
  if (want_rc == IOASID_OK)
    want_rc = model_take_ref(id);
  int rc = ioasid_get(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_get_if_owned(void)
{
  op_name = "get_if_owned";
  ioasid_t id = pick_id();
  int token = rnd(10) == 0 ? -1 : (int)rnd(N_TOKENS);
  if (model_allocated(id) && rnd(2) && m.sets[m.ids[id].slot].token >= 0)
    token = m.sets[m.ids[id].slot].token;
  int want_rc;
  if (token < 0)
    want_rc = IOASID_EINVAL;
  else if (!model_allocated(id))
    want_rc = IOASID_ENOENT;
  else if (m.sets[m.ids[id].slot].token != token)
    want_rc = IOASID_EPERM;
  else
    want_rc = model_take_ref(id);
  int rc = ioasid_get_if_owned(sys, token >= 0 ? &tokens[token] : NULL, id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_put(void)
{
  op_name = "put";
  ioasid_t id = pick_referenced_id(false);
  int slot = pick_set(id, rnd(2) == 0);
  int want_rc = model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].refs <= m.ids[id].binds)
    want_rc = IOASID_EINVAL;
  if (want_rc == IOASID_OK)
    want_rc = model_drop_ref(id);
  int rc = ioasid_put(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_bind(void)
{
  op_name = "bind";
  ioasid_t id = pick_id();
  int slot = pick_set(id, rnd(20) == 0);
  int want_rc = slot < 0 ? IOASID_EINVAL : model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].binds == UINT16_MAX)
    want_rc = IOASID_EBUSY;
  if (want_rc == IOASID_OK)
    want_rc = model_take_ref(id);
  if (want_rc == IOASID_OK) {
    m.ids[id].binds++;
    expect_event(slot, IOASID_NOTIFY_BIND, id);
  }
  int rc = ioasid_bind(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_unbind(void)
{
  op_name = "unbind";
  ioasid_t id = pick_referenced_id(true);
  int slot = pick_set(id, rnd(3) == 0);
  int want_rc = model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].binds == 0)
    want_rc = IOASID_EINVAL;
  if (want_rc == IOASID_OK) {
    int owner = m.ids[id].slot;
    m.ids[id].binds--;
    want_rc = model_drop_ref(id);
    /* After release the owner slot may be empty: then nobody but the global hears it. */
    expect_event(m.sets[owner].status == SLOT_LIVE ? owner : -1, IOASID_NOTIFY_UNBIND, id);
  }
  int rc = ioasid_unbind(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static bool model_spid_used(int slot, uint32_t spid)
{
  for (ioasid_t id = 0; id < m.cap; id++)
    if (m.ids[id].slot == slot && m.ids[id].spid == spid)
      return true;
  return false;
}

static uint32_t pick_spid(void)
{
  /* Small space so collisions happen; now and then the invalid value. */
  return rnd(200) == 0 ? IOASID_INVALID : rnd(m.cap / 2 + 8) * 2654435761u;
}

static void op_spid_attach(void)
{
  op_name = "spid_attach";
  ioasid_t id = pick_id();
  int slot = pick_set(id, rnd(20) == 0);
  uint32_t spid = pick_spid();
  int want_rc = slot < 0 || spid == IOASID_INVALID ? IOASID_EINVAL : model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].state == IOASID_STATE_FREE_PENDING)
    want_rc = IOASID_EBUSY;
  if (want_rc == IOASID_OK && (m.ids[id].spid != IOASID_INVALID || model_spid_used(slot, spid)))
    want_rc = IOASID_EEXIST;
  if (want_rc == IOASID_OK)
    m.ids[id].spid = spid;
  int rc = ioasid_spid_attach(sys, real_set(slot), id, spid);
  CHECK(rc == want_rc, "id %u spid %u rc %d want %d", id, spid, rc, want_rc);
  count_outcome(rc);
}

static void op_spid_detach(void)
{
  op_name = "spid_detach";
  ioasid_t id = pick_id();
  int slot = pick_set(id, rnd(20) == 0);
  int want_rc = slot < 0 ? IOASID_EINVAL : model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].spid == IOASID_INVALID)
    want_rc = IOASID_ENOENT;
  if (want_rc == IOASID_OK)
    m.ids[id].spid = IOASID_INVALID;
  int rc = ioasid_spid_detach(sys, real_set(slot), id);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_spid_lookup(void)
{
  op_name = "spid_lookup";
  int slot = pick_set(IOASID_INVALID, false);
  if (slot < 0)
    return;
  uint32_t spid = pick_spid();
  /* Half the time look up an SPID that is really attached somewhere. */
  ioasid_t some = pick_id();
  if (rnd(2) && model_allocated(some) && m.ids[some].spid != IOASID_INVALID) {
    spid = m.ids[some].spid;
    if (m.sets[m.ids[some].slot].status == SLOT_LIVE && rnd(4))
      slot = m.ids[some].slot;
  }
  int want_rc = slot_live(slot) ? IOASID_ENOENT : IOASID_EINVAL;
  ioasid_t want_id = IOASID_INVALID;
  if (want_rc == IOASID_ENOENT && spid != IOASID_INVALID) {
    for (ioasid_t id = 0; id < m.cap; id++) {
      if (m.ids[id].slot == slot && m.ids[id].spid == spid) {
        want_id = id;
        want_rc = IOASID_OK;
      }
    }
  }
  ioasid_t id = 12345;
  int rc = ioasid_spid_lookup(sys, real_set(slot), spid, &id);
  CHECK(rc == want_rc, "spid %u rc %d want %d", spid, rc, want_rc);
  count_outcome(rc);
  if (rc != IOASID_EINVAL)
    CHECK(id == want_id, "spid %u -> %u want %u", spid, id, want_id);
}

static void op_spid_of(void)
{
  op_name = "spid_of";
  ioasid_t id = pick_id();
  int slot = pick_set(id, true);
  int want_rc = model_lookup(slot, id);
  if (want_rc == IOASID_OK && m.ids[id].spid == IOASID_INVALID)
    want_rc = IOASID_ENOENT;
  uint32_t spid = 0;
  int rc = ioasid_spid_of(sys, real_set(slot), id, &spid);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
  if (rc == IOASID_OK)
    CHECK(spid == m.ids[id].spid, "id %u spid %u want %u", id, spid, m.ids[id].spid);
}

static void op_find(void)
{
  op_name = "find";
  ioasid_t id = pick_id();
  int slot = pick_set(id, true);
  int want_rc = model_lookup(slot, id);
  void *data = NULL;
  int rc = ioasid_find(sys, real_set(slot), id, &data);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
  if (rc == IOASID_OK)
    CHECK((uintptr_t)data == m.ids[id].data, "private data of %u", id);
}

static void op_attach_data(void)
{
  op_name = "attach_data";
  ioasid_t id = pick_id();
  int slot = pick_set(id, true);
  uintptr_t data = (uintptr_t)rnd64() | 1;
  int want_rc = model_lookup(slot, id);
  if (want_rc == IOASID_OK)
    m.ids[id].data = data;
  int rc = ioasid_attach_data(sys, real_set(slot), id, (void *)data);
  CHECK(rc == want_rc, "id %u rc %d want %d", id, rc, want_rc);
  count_outcome(rc);
}

static void op_capacity(void)
{
  op_name = "reserve/cancel";
  uint32_t n = rnd(8) ? rnd(6) : rnd(m.usable / 2 + 2);
  int rc, want_rc;
  if (rnd(2)) {
    want_rc = n > model_unreserved() ? IOASID_ENOSPC : IOASID_OK;
    if (want_rc == IOASID_OK)
      m.explicit_reserved += n;
    rc = ioasid_capacity_reserve(sys, n);
  } else {
    /* Cancel as much as is reserved most of the time, so reservations do not pile up. */
    if (rnd(4))
      n = rnd(m.explicit_reserved + 1);
    want_rc = n > m.explicit_reserved ? IOASID_EINVAL : IOASID_OK;
    if (want_rc == IOASID_OK)
      m.explicit_reserved -= n;
    rc = ioasid_capacity_cancel(sys, n);
  }
  CHECK(rc == want_rc, "n %u rc %d want %d", n, rc, want_rc);
  count_outcome(rc);
}

struct iter_ctx {
  ioasid_t ids[MODEL_MAX_CAP];
  uint32_t n;
};

static int iter_collect(ioasid_t id, void *data, void *arg)
{
  (void)data;
  struct iter_ctx *ctx = arg;
  if (ctx->n < MODEL_MAX_CAP)
    ctx->ids[ctx->n] = id;
  ctx->n++;
  return 0;
}

static void op_for_each(void)
{
  op_name = "for_each";
  int slot = random_slot_with(SLOT_LIVE);
  if (slot < 0)
    return;
  static struct iter_ctx ctx;
  ctx.n = 0;
  CHECK(ioasid_set_for_each(sys, m.sets[slot].real, iter_collect, &ctx) == 0, "for_each rc");
  uint32_t n = model_live_in_order(slot);
  CHECK(n == ctx.n, "iteration length %u want %u", ctx.n, n);
  for (uint32_t k = 0; k < n; k++)
    CHECK(ctx.ids[k] == order_buf[k], "iteration item %u: got %u want %u", k, ctx.ids[k],
          order_buf[k]);
  count_outcome(0);
}

/* ---- whole-state comparison ---- */

static void compare_state(void)
{
  op_name = "state compare";
  char detail[160];
  int rc = ioasid_check_invariants(sys, detail, sizeof(detail));
  CHECK(rc == 0, "invariants: %s", detail);
  CHECK(ioasid_count(sys) == m.count, "count %u want %u", ioasid_count(sys), m.count);
  CHECK(ioasid_capacity_unreserved(sys) == model_unreserved(), "unreserved %u want %u",
        ioasid_capacity_unreserved(sys), model_unreserved());
  for (ioasid_t id = 0; id < m.cap; id++) {
    const struct model_id *mi = &m.ids[id];
    int state = mi->slot < 0 ? IOASID_STATE_FREE : mi->state;
    CHECK((int)ioasid_state_of(sys, id) == state, "state of %u: %d want %d", id,
          ioasid_state_of(sys, id), state);
    CHECK(ioasid_refs_of(sys, id) == mi->refs, "refs of %u", id);
    CHECK(ioasid_binds_of(sys, id) == mi->binds, "binds of %u", id);
    CHECK(ioasid_owner(sys, id) == (mi->slot < 0 ? NULL : m.sets[mi->slot].real), "owner of %u",
          id);
  }
  for (int s = 0; s < MAX_SETS; s++) {
    if (m.sets[s].status != SLOT_EMPTY)
      CHECK(ioasid_set_count(m.sets[s].real) == m.sets[s].nr_ids, "set %d count", s);
  }
}

static void compare_events(void)
{
  CHECK(n_got == n_want, "%u events delivered, want %u", n_got, n_want);
  for (unsigned i = 0; i < n_want; i++) {
    CHECK(got[i].who == want[i].who && got[i].type == want[i].type && got[i].id == want[i].id,
          "event %u: got who %d %s id %u, want who %d %s id %u", i, got[i].who,
          ioasid_event_name(got[i].type), got[i].id, want[i].who, ioasid_event_name(want[i].type),
          want[i].id);
  }
}

/* ---- driver ---- */

/* Rounds alternate growing and shrinking phases so the live population sweeps between
 * empty and exhausted; set_free is rare so sets live long enough to fill. */
#define PHASE_OPS 4000u
static void (*const grow_ops[])(void) = {
  op_alloc, op_alloc, op_alloc, op_alloc, op_alloc, op_alloc, op_free, op_get, op_get,
  op_get_if_owned, op_put, op_put, op_bind, op_unbind, op_spid_attach, op_spid_attach,
  op_spid_attach, op_spid_detach, op_spid_lookup, op_spid_lookup, op_spid_of, op_find,
  op_attach_data, op_capacity, op_set_alloc,
};
static void (*const shrink_ops[])(void) = {
  op_alloc, op_free, op_free, op_free, op_free, op_get, op_get_if_owned, op_put, op_put,
  op_put, op_bind, op_unbind, op_unbind, op_spid_attach, op_spid_detach, op_spid_lookup,
  op_spid_of, op_find, op_capacity, op_set_alloc,
};
#define N_GROW (sizeof(grow_ops) / sizeof(grow_ops[0]))
#define N_SHRINK (sizeof(shrink_ops) / sizeof(shrink_ops[0]))

static void random_op(uint32_t i)
{
  if (rnd(500) == 0)
    op_set_free();
  else if (rnd(1000) == 0)
    op_for_each();
  else if ((i / PHASE_OPS) % 2 == 0)
    grow_ops[rnd(N_GROW)]();
  else
    shrink_ops[rnd(N_SHRINK)]();
}

static uint32_t round_capacity(void)
{
  static const uint32_t caps[] = { 0, 2, 3, 17, 64, 65, 130, 256, 700, 1024, 2048, 4096, 4096 };
  return caps[rnd(sizeof(caps) / sizeof(caps[0]))];
}

static void run_round(uint32_t n_ops, uint64_t *done)
{
  memset(&m, 0, sizeof(m));
  m.cap = round_capacity();
  bool reserve0 = rnd(4) != 0;
  m.first = reserve0 && m.cap ? 1 : 0;
  m.usable = m.cap - m.first;
  for (ioasid_t id = 0; id < MODEL_MAX_CAP; id++) {
    m.ids[id].slot = -1;
    m.ids[id].spid = IOASID_INVALID;
  }
  struct ioasid_config cfg = { .capacity = m.cap, .reserve_pasid0 = reserve0 };
  int err = 1;
  sys = ioasid_system_create(&cfg, &err);
  assert_non_null(sys);
  recorder_init(&global_rec, WHO_GLOBAL, 0);
  recorder_init(&token_rec, WHO_TOKEN, 2);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &global_rec.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register_token(sys, &tokens[WATCHED_TOKEN], &token_rec.nb),
                   IOASID_OK);
  /* Full comparisons cost O(capacity): space them so they stay a fraction of the work. */
  uint32_t compare_every = m.cap > 512 ? m.cap / 4 : 128;
  for (uint32_t i = 0; i < n_ops; i++, (*done)++) {
    op_index = *done;
    n_got = n_want = 0;
    random_op(i);
    compare_events();
    if (i % compare_every == 0)
      compare_state();
  }
  op_index = *done;
  compare_state();
  assert_int_equal(ioasid_system_destroy(sys), IOASID_OK);
  assert_false(ioasid_notifier_registered(&global_rec.nb));
  sys = NULL;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
  const char *v = getenv(name);
  return v && *v ? strtoull(v, NULL, 0) : fallback;
}

static void test_ioasid_stress(void **state)
{
  (void)state;
  uint64_t seed = env_u64("IOASID_STRESS_SEED", DEFAULT_SEED);
  uint64_t total = env_u64("IOASID_STRESS_OPS", DEFAULT_OPS);
  rng_state = seed;
  printf("ioasid.stress: %" PRIu64 " random operations, seed 0x%" PRIx64 "\n", total, seed);
  uint64_t done = 0;
  unsigned rounds = 0;
  while (done < total) {
    uint64_t left = total - done;
    run_round(left < OPS_PER_ROUND ? (uint32_t)left : OPS_PER_ROUND, &done);
    rounds++;
  }
  printf("ioasid.stress: %" PRIu64 " operations in %u rounds matched the reference model\n",
         done, rounds);
  static const char *const short_name[N_ERRORS] = {
    "", "EINVAL", "ENOMEM", "ENOSPC", "EQUOTA", "ENOENT", "EEXIST", "EBUSY", "EPERM",
    "EREENTRANT", "ECORRUPT",
  };
  for (unsigned k = 0; k < MAX_OP_KINDS && tally[k].name; k++) {
    printf("ioasid.stress:   %-14s %8" PRIu64 " ok", tally[k].name, tally[k].ok);
    for (unsigned e = 1; e < N_ERRORS; e++)
      if (tally[k].by_error[e])
        printf(", %s %" PRIu64, short_name[e], tally[k].by_error[e]);
    printf("\n");
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ioasid_stress),
  };
  return cmocka_run_group_tests_name("ioasid.stress", tests, NULL, NULL);
}
