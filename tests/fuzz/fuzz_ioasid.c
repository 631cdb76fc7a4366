/* libFuzzer target: drives the IOASID allocator from bytes (capacity and PASID 0 convention
 * from the header, then a stream of operations with their operands) and, after every
 * operation, requires ioasid_check_invariants() to pass plus the per-call postconditions
 * below. Notifier callbacks try to modify the allocator and must be refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid/ioasid.h"

#define N_SLOTS 6
#define N_TOKENS 4
#define N_NOTIFIERS 6
#define MAX_FUZZ_CAPACITY 2048u

#define REQUIRE(cond)                                                                         \
  do {                                                                                        \
    if (!(cond))                                                                              \
      __builtin_trap();                                                                       \
  } while (0)

struct input {
  const uint8_t *data;
  size_t size, pos;
};

static uint8_t next8(struct input *in)
{
  return in->pos < in->size ? in->data[in->pos++] : 0;
}

static uint16_t next16(struct input *in)
{
  uint16_t lo = next8(in);
  return (uint16_t)(lo | next8(in) << 8);
}

static char tokens[N_TOKENS];
static struct ioasid_system *sys;
static struct ioasid_set *slots[N_SLOTS];
static uint32_t capacity;
static bool reserve_pasid0;

struct fuzz_notifier {
  struct ioasid_notifier nb;
  unsigned events;
};
static struct fuzz_notifier notifiers[N_NOTIFIERS];

/* Every callback: counts, checks the event is well formed, and tries to re-enter. */
static void on_event(const struct ioasid_event *ev, void *arg)
{
  struct fuzz_notifier *n = arg;
  n->events++;
  REQUIRE(ev->type >= IOASID_NOTIFY_ALLOC && ev->type <= IOASID_NOTIFY_SET_FREE);
  REQUIRE(ev->type == IOASID_NOTIFY_SET_FREE ? ev->id == IOASID_INVALID : ev->id < capacity);
  int err = 0;
  REQUIRE(ioasid_alloc(sys, ev->set, 0, capacity, NULL, &err) == IOASID_INVALID);
  REQUIRE(err == IOASID_EREENTRANT || (ev->set == NULL && err == IOASID_EINVAL));
  REQUIRE(ioasid_capacity_reserve(sys, 0) == IOASID_EREENTRANT);
  REQUIRE(ioasid_notifier_unregister(sys, &n->nb) == IOASID_EREENTRANT);
  if (ev->type != IOASID_NOTIFY_SET_FREE)
    REQUIRE(ioasid_get(sys, NULL, ev->id) == IOASID_EREENTRANT ||
            ioasid_state_of(sys, ev->id) != IOASID_STATE_IDLE);
  REQUIRE(ioasid_check_invariants(sys, NULL, 0) == 0);
}

static struct ioasid_set *slot_set(struct input *in, bool allow_null)
{
  uint8_t b = next8(in);
  if (allow_null && b % (N_SLOTS + 1) == N_SLOTS)
    return NULL;
  return slots[b % N_SLOTS];
}

static ioasid_t fuzz_id(struct input *in)
{
  uint16_t v = next16(in);
  return v == 0xffff ? IOASID_INVALID : v % (capacity + 4);
}

static int count_ids(ioasid_t id, void *private_data, void *arg)
{
  (void)private_data;
  REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_IDLE ||
          ioasid_state_of(sys, id) == IOASID_STATE_ACTIVE);
  (*(uint32_t *)arg)++;
  return 0;
}

static void run_op(struct input *in)
{
  uint8_t op = next8(in);
  switch (op % 20) {
  case 0: {  /* set_alloc */
    unsigned s = next8(in) % N_SLOTS;
    uint8_t t = next8(in);
    const void *token = t % 5 < N_TOKENS ? &tokens[t % 5] : NULL;
    enum ioasid_set_type type = token ? IOASID_SET_TYPE_MM : IOASID_SET_TYPE_NULL;
    if (t >= 250)
      type = (enum ioasid_set_type)(t - 250);
    uint32_t quota = next16(in) % (capacity + 2);
    if (slots[s])
      return;
    uint32_t unreserved = ioasid_capacity_unreserved(sys);
    int err = 1;
    slots[s] = ioasid_set_alloc(sys, token, type, quota, &err);
    REQUIRE((slots[s] != NULL) == (err == IOASID_OK));
    if (quota > unreserved)
      REQUIRE(slots[s] == NULL);
    if (slots[s])
      REQUIRE(ioasid_find_set(sys, token) == (token ? slots[s] : NULL));
    break;
  }
  case 1: {  /* set_free */
    unsigned s = next8(in) % N_SLOTS;
    if (!slots[s])
      return;
    REQUIRE(ioasid_set_free(sys, slots[s]) == IOASID_OK);
    slots[s] = NULL;  /* the handle is dead now */
    break;
  }
  case 2: {  /* alloc */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t min = fuzz_id(in), max = fuzz_id(in);
    int err = 1;
    uint32_t before = ioasid_count(sys);
    ioasid_t id = ioasid_alloc(sys, set, min, max, &tokens[0], &err);
    REQUIRE((id == IOASID_INVALID) == (err != IOASID_OK));
    if (id != IOASID_INVALID) {
      REQUIRE(id >= min && id <= max && id < capacity);
      REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_IDLE);
      REQUIRE(ioasid_owner(sys, id) == set);
      REQUIRE(ioasid_count(sys) == before + 1);
      /* Lowest free: nothing below it in range was free. */
      for (ioasid_t below = min; below < id && below < 64 + min; below++)
        REQUIRE(ioasid_state_of(sys, below) != IOASID_STATE_FREE ||
                (below == 0 && reserve_pasid0));
    }
    break;
  }
  case 3: {  /* free */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    int rc = ioasid_free(sys, set, id);
    if (rc == 1)
      REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_FREE);
    else if (rc == 0)
      REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_FREE_PENDING);
    break;
  }
  case 4: {  /* get */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    uint32_t refs = ioasid_refs_of(sys, id);
    int rc = ioasid_get(sys, set, id);
    REQUIRE(ioasid_refs_of(sys, id) == refs + (rc == IOASID_OK));
    if (rc == IOASID_OK)
      REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_ACTIVE);
    break;
  }
  case 5: {  /* put */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    uint32_t refs = ioasid_refs_of(sys, id);
    int rc = ioasid_put(sys, set, id);
    if (rc == 1)
      REQUIRE(ioasid_state_of(sys, id) == IOASID_STATE_FREE);
    else
      REQUIRE(ioasid_refs_of(sys, id) == refs - (rc == 0));
    break;
  }
  case 6: {  /* get_if_owned */
    uint8_t t = next8(in);
    ioasid_t id = fuzz_id(in);
    int rc = ioasid_get_if_owned(sys, t % 5 < N_TOKENS ? &tokens[t % 5] : NULL, id);
    if (rc == IOASID_OK)
      REQUIRE(ioasid_set_token(ioasid_owner(sys, id)) == &tokens[t % 5]);
    break;
  }
  case 7: {  /* bind */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    if (ioasid_bind(sys, set, id) == IOASID_OK)
      REQUIRE(ioasid_owner(sys, id) == set && ioasid_binds_of(sys, id) > 0);
    break;
  }
  case 8: {  /* unbind */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    uint32_t binds = ioasid_binds_of(sys, id);
    int rc = ioasid_unbind(sys, set, id);
    if (rc == 0)
      REQUIRE(ioasid_binds_of(sys, id) == binds - 1);
    break;
  }
  case 9: {  /* spid_attach */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    uint32_t spid = next16(in) % 64;
    if (ioasid_spid_attach(sys, set, id, spid) == IOASID_OK) {
      ioasid_t back = IOASID_INVALID;
      REQUIRE(ioasid_spid_lookup(sys, set, spid, &back) == IOASID_OK && back == id);
    }
    break;
  }
  case 10: {  /* spid_detach */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    uint32_t spid = 0;
    bool had = ioasid_spid_of(sys, set, id, &spid) == IOASID_OK;
    if (ioasid_spid_detach(sys, set, id) == IOASID_OK) {
      ioasid_t back;
      REQUIRE(had && ioasid_spid_lookup(sys, set, spid, &back) == IOASID_ENOENT);
    }
    break;
  }
  case 11: {  /* spid_lookup */
    struct ioasid_set *set = slot_set(in, true);
    uint32_t spid = next16(in) % 64;
    ioasid_t id = IOASID_INVALID;
    if (ioasid_spid_lookup(sys, set, spid, &id) == IOASID_OK) {
      uint32_t back = 0;
      REQUIRE(ioasid_spid_of(sys, set, id, &back) == IOASID_OK && back == spid);
      REQUIRE(ioasid_owner(sys, id) == set);
    }
    break;
  }
  case 12: {  /* reserve */
    uint32_t n = next16(in) % (capacity + 2);
    uint32_t before = ioasid_capacity_unreserved(sys);
    int rc = ioasid_capacity_reserve(sys, n);
    REQUIRE(rc == (n > before ? IOASID_ENOSPC : IOASID_OK));
    break;
  }
  case 13: {  /* cancel */
    uint32_t n = next16(in) % (capacity + 2);
    uint32_t before = ioasid_capacity_unreserved(sys);
    if (ioasid_capacity_cancel(sys, n) == IOASID_OK)
      REQUIRE(ioasid_capacity_unreserved(sys) == before + n);
    break;
  }
  case 14: {  /* register a notifier: global, on a set, or on a token */
    struct fuzz_notifier *n = &notifiers[next8(in) % N_NOTIFIERS];
    uint8_t how = next8(in);
    n->nb.priority = (int8_t)next8(in);
    int rc;
    if (how % 3 == 0)
      rc = ioasid_notifier_register(sys, NULL, &n->nb);
    else if (how % 3 == 1)
      rc = ioasid_notifier_register(sys, slot_set(in, false), &n->nb);
    else
      rc = ioasid_notifier_register_token(sys, &tokens[how / 3 % N_TOKENS], &n->nb);
    REQUIRE(rc != IOASID_OK || ioasid_notifier_registered(&n->nb));
    break;
  }
  case 15: {  /* unregister */
    struct fuzz_notifier *n = &notifiers[next8(in) % N_NOTIFIERS];
    bool was = ioasid_notifier_registered(&n->nb);
    int rc = ioasid_notifier_unregister(sys, &n->nb);
    REQUIRE(rc == (was ? IOASID_OK : IOASID_ENOENT));
    REQUIRE(!ioasid_notifier_registered(&n->nb));
    break;
  }
  case 16: {  /* for_each */
    struct ioasid_set *set = slot_set(in, false);
    uint32_t n = 0;
    if (set && ioasid_set_for_each(sys, set, count_ids, &n) == 0)
      REQUIRE(n <= ioasid_set_count(set));
    break;
  }
  case 17: {  /* attach_data / find */
    struct ioasid_set *set = slot_set(in, true);
    ioasid_t id = fuzz_id(in);
    if (ioasid_attach_data(sys, set, id, &tokens[1]) == IOASID_OK) {
      void *data = NULL;
      REQUIRE(ioasid_find(sys, set, id, &data) == IOASID_OK && data == &tokens[1]);
    }
    break;
  }
  case 18: {  /* spid_of */
    struct ioasid_set *set = slot_set(in, true);
    uint32_t spid;
    (void)ioasid_spid_of(sys, set, fuzz_id(in), &spid);
    break;
  }
  default: {  /* drop every reference on an ID (drains FREE_PENDING) */
    ioasid_t id = fuzz_id(in);
    for (unsigned guard = 0; guard < 64 && ioasid_put(sys, NULL, id) == 0; guard++) {
    }
    for (unsigned guard = 0; guard < 64 && ioasid_unbind(sys, NULL, id) == 0; guard++) {
    }
    break;
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct input in = { data, size, 0 };
  struct ioasid_config cfg;
  cfg.capacity = next16(&in) % (MAX_FUZZ_CAPACITY + 1);
  cfg.reserve_pasid0 = next8(&in) & 1;
  capacity = cfg.capacity;
  reserve_pasid0 = cfg.reserve_pasid0;
  int err = 1;
  sys = ioasid_system_create(&cfg, &err);
  REQUIRE(sys && err == IOASID_OK);
  memset(slots, 0, sizeof(slots));
  for (unsigned i = 0; i < N_NOTIFIERS; i++) {
    memset(&notifiers[i], 0, sizeof(notifiers[i]));
    notifiers[i].nb.fn = on_event;
    notifiers[i].nb.arg = &notifiers[i];
  }
  char detail[160];
  while (in.pos < in.size) {
    run_op(&in);
    if (ioasid_check_invariants(sys, detail, sizeof(detail)) != 0) {
      fprintf(stderr, "fuzz_ioasid: invariant violated after byte %zu: %s\n", in.pos, detail);
      __builtin_trap();
    }
    REQUIRE(ioasid_count(sys) <= ioasid_capacity_usable(sys));
  }
  REQUIRE(ioasid_system_destroy(sys) == IOASID_OK);
  for (unsigned i = 0; i < N_NOTIFIERS; i++)
    REQUIRE(!ioasid_notifier_registered(&notifiers[i].nb));
  sys = NULL;
  return 0;
}
