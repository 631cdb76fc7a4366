/* cmocka tests for ioasid/: one test per behaviour of the allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ioasid/ioasid.h"

static char token_a, token_b, token_c;

static struct ioasid_system *make_system(uint32_t capacity, bool reserve_pasid0)
{
  struct ioasid_config cfg = { .capacity = capacity, .reserve_pasid0 = reserve_pasid0 };
  int err = 1;
  struct ioasid_system *sys = ioasid_system_create(&cfg, &err);
  assert_non_null(sys);
  assert_int_equal(err, IOASID_OK);
  return sys;
}

static void assert_invariants(const struct ioasid_system *sys)
{
  char detail[128];
  int rc = ioasid_check_invariants(sys, detail, sizeof(detail));
  if (rc != 0)
    fail_msg("invariant: %s", detail);
}

static void destroy(struct ioasid_system *sys)
{
  assert_invariants(sys);
  assert_int_equal(ioasid_system_destroy(sys), IOASID_OK);
}

static struct ioasid_set *make_set(struct ioasid_system *sys, const void *token, uint32_t quota)
{
  int err = 1;
  struct ioasid_set *set = ioasid_set_alloc(
      sys, token, token ? IOASID_SET_TYPE_MM : IOASID_SET_TYPE_NULL, quota, &err);
  assert_non_null(set);
  assert_int_equal(err, IOASID_OK);
  return set;
}

static ioasid_t alloc_ok(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t min,
                         ioasid_t max)
{
  int err = 1;
  ioasid_t id = ioasid_alloc(sys, set, min, max, NULL, &err);
  assert_int_equal(err, IOASID_OK);
  assert_int_not_equal(id, IOASID_INVALID);
  return id;
}

static int alloc_err(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t min,
                     ioasid_t max)
{
  int err = 0;
  ioasid_t id = ioasid_alloc(sys, set, min, max, NULL, &err);
  assert_int_equal(id, IOASID_INVALID);
  assert_true(err < 0);
  return err;
}

/* ---- event recording ---- */

#define LOG_MAX 256
struct event_log {
  unsigned n;
  struct {
    int who;
    enum ioasid_event_type type;
    ioasid_t id;
    uint32_t spid;
    enum ioasid_state state;
    struct ioasid_set *set;
  } e[LOG_MAX];
};

struct recorder {
  struct ioasid_notifier nb;
  struct event_log *log;
  int who;
};

static void record_event(const struct ioasid_event *ev, void *arg)
{
  struct recorder *r = arg;
  struct event_log *log = r->log;
  assert_true(log->n < LOG_MAX);
  log->e[log->n].who = r->who;
  log->e[log->n].type = ev->type;
  log->e[log->n].id = ev->id;
  log->e[log->n].spid = ev->spid;
  log->e[log->n].state = ev->state;
  log->e[log->n].set = ev->set;
  log->n++;
}

static void recorder_init(struct recorder *r, struct event_log *log, int who, int priority)
{
  memset(r, 0, sizeof(*r));
  r->nb.fn = record_event;
  r->nb.arg = r;
  r->nb.priority = priority;
  r->log = log;
  r->who = who;
}

/* ---- capacity ---- */

static void test_capacity_for_bits(void **state)
{
  (void)state;
  assert_int_equal(ioasid_capacity_for_bits(0), 0);
  assert_int_equal(ioasid_capacity_for_bits(1), 2);
  assert_int_equal(ioasid_capacity_for_bits(5), 32);
  assert_int_equal(ioasid_capacity_for_bits(20), 1u << 20);
  assert_int_equal(ioasid_capacity_for_bits(32), 1u << 20);
}

static void test_capacity_is_minimum_of_limits(void **state)
{
  (void)state;
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY };
  ioasid_config_limit_bits(&cfg, 20);   /* e.g. SMMU SSIDSIZE */
  ioasid_config_limit_bits(&cfg, 16);   /* AMD PASmax */
  ioasid_config_limit_bits(&cfg, 18);   /* device PASID capability */
  assert_int_equal(cfg.capacity, 1u << 16);
  ioasid_config_limit_bits(&cfg, 0);    /* a unit without PASID */
  assert_int_equal(cfg.capacity, 0);
}

static void test_create_rejects_bad_config(void **state)
{
  (void)state;
  int err = 0;
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY + 1 };
  assert_null(ioasid_system_create(&cfg, &err));
  assert_int_equal(err, IOASID_EINVAL);
  assert_null(ioasid_system_create(NULL, &err));
  assert_int_equal(err, IOASID_EINVAL);
}

static void test_capacity_zero_refuses_allocation(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(0, true);
  assert_int_equal(ioasid_capacity(sys), 0);
  assert_int_equal(ioasid_capacity_usable(sys), 0);
  int err = 0;
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 1, &err));
  assert_int_equal(err, IOASID_ENOSPC);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  assert_int_equal(alloc_err(sys, set, 0, IOASID_INVALID - 1), IOASID_ENOSPC);
  destroy(sys);
}

static void test_pasid0_reserved_for_untagged_dma(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(2, true);  /* VT-d ECAP.PSS=0: 1-bit PASIDs */
  assert_int_equal(ioasid_capacity(sys), 2);
  assert_int_equal(ioasid_capacity_usable(sys), 1);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  assert_int_equal(alloc_err(sys, set, 0, 0), IOASID_ENOSPC);
  assert_int_equal(alloc_ok(sys, set, 0, 1), 1);
  assert_int_equal(alloc_err(sys, set, 0, 1), IOASID_ENOSPC);
  assert_int_equal(ioasid_state_of(sys, 0), IOASID_STATE_FREE);
  destroy(sys);
}

static void test_pasid0_allocatable_without_reservation(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(4, false);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  assert_int_equal(ioasid_capacity_usable(sys), 4);
  assert_int_equal(alloc_ok(sys, set, 0, 3), 0);
  destroy(sys);
}

static void test_reserve_and_cancel_capacity(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(16, true);  /* 15 usable */
  assert_int_equal(ioasid_capacity_reserve(sys, 10), IOASID_OK);
  assert_int_equal(ioasid_capacity_unreserved(sys), 5);
  assert_int_equal(ioasid_capacity_reserve(sys, 6), IOASID_ENOSPC);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  for (int i = 0; i < 5; i++)
    alloc_ok(sys, set, 0, 15);
  /* Six IDs are still free in the space, but they are promised to the reservation. */
  assert_int_equal(alloc_err(sys, set, 0, 15), IOASID_ENOSPC);
  assert_int_equal(ioasid_capacity_cancel(sys, 11), IOASID_EINVAL);
  assert_int_equal(ioasid_capacity_cancel(sys, 4), IOASID_OK);
  alloc_ok(sys, set, 0, 15);
  assert_int_equal(ioasid_capacity_unreserved(sys), 3);
  destroy(sys);
}

/* ---- sets ---- */

static void test_set_token_rules(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  int err = 0;
  assert_null(ioasid_set_alloc(sys, &token_a, IOASID_SET_TYPE_NULL, 0, &err));
  assert_int_equal(err, IOASID_EINVAL);
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_MM, 0, &err));
  assert_int_equal(err, IOASID_EINVAL);
  assert_null(ioasid_set_alloc(sys, &token_a, (enum ioasid_set_type)7, 0, &err));
  assert_int_equal(err, IOASID_EINVAL);
  struct ioasid_set *a = make_set(sys, &token_a, 0);
  assert_null(ioasid_set_alloc(sys, &token_a, IOASID_SET_TYPE_MM, 0, &err));
  assert_int_equal(err, IOASID_EEXIST);
  assert_ptr_equal(ioasid_find_set(sys, &token_a), a);
  assert_null(ioasid_find_set(sys, &token_b));
  assert_ptr_equal(ioasid_set_token(a), &token_a);
  assert_int_equal(ioasid_set_type(a), IOASID_SET_TYPE_MM);
  /* NULL-type sets have no token and need no uniqueness. */
  make_set(sys, NULL, 0);
  make_set(sys, NULL, 0);
  destroy(sys);
}

static void test_set_quotas_cannot_exceed_capacity(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(32, true);  /* 31 usable */
  int err = 0;
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 32, &err));
  assert_int_equal(err, IOASID_ENOSPC);
  struct ioasid_set *a = make_set(sys, NULL, 20);
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 12, &err));
  assert_int_equal(err, IOASID_ENOSPC);
  make_set(sys, NULL, 11);
  assert_int_equal(ioasid_capacity_unreserved(sys), 0);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  assert_int_equal(ioasid_capacity_unreserved(sys), 20);
  destroy(sys);
}

static void test_set_quota_enforced_and_room_returned(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(1024, true);
  struct ioasid_set *set = make_set(sys, NULL, 3);
  ioasid_t ids[3];
  for (int i = 0; i < 3; i++)
    ids[i] = alloc_ok(sys, set, 0, 1023);
  assert_int_equal(alloc_err(sys, set, 0, 1023), IOASID_EQUOTA);
  assert_int_equal(ioasid_set_count(set), 3);
  assert_int_equal(ioasid_free(sys, set, ids[1]), 1);
  assert_int_equal(alloc_ok(sys, set, 0, 1023), ids[1]);
  destroy(sys);
}

static void test_unlimited_set_draws_on_unreserved_capacity(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(8, true);  /* 7 usable */
  struct ioasid_set *quota_set = make_set(sys, NULL, 4);
  struct ioasid_set *shared = make_set(sys, NULL, 0);
  for (int i = 0; i < 3; i++)
    alloc_ok(sys, shared, 0, 7);
  assert_int_equal(alloc_err(sys, shared, 0, 7), IOASID_ENOSPC);
  /* The quota set still gets everything it was promised. */
  for (int i = 0; i < 4; i++)
    alloc_ok(sys, quota_set, 0, 7);
  assert_int_equal(ioasid_count(sys), 7);
  /* Capacity held by the unlimited set cannot be promised to a new quota. */
  int err = 0;
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 1, &err));
  assert_int_equal(err, IOASID_ENOSPC);
  destroy(sys);
}

static int collect_ids(ioasid_t id, void *private_data, void *arg)
{
  (void)private_data;
  ioasid_t *out = arg;
  out[++out[0]] = id;
  return out[0] == 3 ? 42 : 0;
}

static void test_set_iteration_in_allocation_order(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(256, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct ioasid_set *b = make_set(sys, NULL, 0);
  ioasid_t a1 = alloc_ok(sys, a, 100, 200);
  alloc_ok(sys, b, 0, 255);
  ioasid_t a2 = alloc_ok(sys, a, 10, 20);
  ioasid_t a3 = alloc_ok(sys, a, 50, 60);
  ioasid_t a4 = alloc_ok(sys, a, 0, 255);
  ioasid_t seen[8] = { 0 };
  assert_int_equal(ioasid_set_free(sys, b), IOASID_OK);
  assert_int_equal(ioasid_free(sys, a, a2), 1);
  /* Stops after three with the callback's value. */
  assert_int_equal(ioasid_set_for_each(sys, a, collect_ids, seen), 42);
  assert_int_equal(seen[0], 3);
  assert_int_equal(seen[1], a1);
  assert_int_equal(seen[2], a3);
  assert_int_equal(seen[3], a4);
  destroy(sys);
}

static int try_modify_from_iteration(ioasid_t id, void *private_data, void *arg)
{
  (void)private_data;
  struct ioasid_system *sys = arg;
  struct ioasid_set *owner = ioasid_owner(sys, id);
  assert_int_equal(ioasid_free(sys, owner, id), IOASID_EREENTRANT);
  assert_int_equal(ioasid_get(sys, NULL, id), IOASID_EREENTRANT);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_IDLE);  /* reads are fine */
  return 0;
}

static void test_iteration_callback_cannot_modify(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  alloc_ok(sys, a, 0, 63);
  alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_set_for_each(sys, a, try_modify_from_iteration, sys), 0);
  assert_int_equal(ioasid_set_count(a), 2);
  destroy(sys);
}

static void test_set_free_frees_all_ids(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(128, true);
  struct ioasid_set *a = make_set(sys, &token_a, 10);
  struct ioasid_set *b = make_set(sys, NULL, 0);
  ioasid_t ids[10];
  for (int i = 0; i < 10; i++) {
    ids[i] = alloc_ok(sys, a, 0, 127);
    assert_int_equal(ioasid_spid_attach(sys, a, ids[i], 1000 + (uint32_t)i), IOASID_OK);
  }
  ioasid_t other = alloc_ok(sys, b, 0, 127);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  for (int i = 0; i < 10; i++)
    assert_int_equal(ioasid_state_of(sys, ids[i]), IOASID_STATE_FREE);
  assert_int_equal(ioasid_state_of(sys, other), IOASID_STATE_IDLE);
  assert_int_equal(ioasid_count(sys), 1);
  assert_null(ioasid_find_set(sys, &token_a));
  /* A set with the same token starts clean: no stale SPIDs. */
  struct ioasid_set *a2 = make_set(sys, &token_a, 10);
  ioasid_t found;
  assert_int_equal(ioasid_spid_lookup(sys, a2, 1000, &found), IOASID_ENOENT);
  assert_int_equal(ioasid_set_free(sys, a2), IOASID_OK);
  assert_int_equal(ioasid_set_free(sys, b), IOASID_OK);
  assert_int_equal(ioasid_count(sys), 0);
  destroy(sys);
}

static void test_set_free_defers_referenced_ids_and_quota(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(16, true);
  struct ioasid_set *a = make_set(sys, NULL, 5);
  ioasid_t held = alloc_ok(sys, a, 0, 15);
  alloc_ok(sys, a, 0, 15);
  assert_int_equal(ioasid_get(sys, NULL, held), IOASID_OK);
  assert_int_equal(ioasid_capacity_unreserved(sys), 10);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  assert_int_equal(ioasid_state_of(sys, held), IOASID_STATE_FREE_PENDING);
  assert_int_equal(ioasid_count(sys), 1);
  assert_int_equal(ioasid_capacity_unreserved(sys), 10);  /* quota still held */
  assert_invariants(sys);
  assert_int_equal(ioasid_put(sys, NULL, held), 1);
  assert_int_equal(ioasid_state_of(sys, held), IOASID_STATE_FREE);
  assert_int_equal(ioasid_capacity_unreserved(sys), 15);
  destroy(sys);
}

static void test_freed_set_handle_rejected_while_pending(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(16, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 15);
  assert_int_equal(ioasid_get(sys, NULL, id), IOASID_OK);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  /* The struct lingers for the pending ID, but the owner's handle is dead. */
  assert_int_equal(alloc_err(sys, a, 0, 15), IOASID_EINVAL);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_EINVAL);
  assert_int_equal(ioasid_put(sys, NULL, id), 1);
  destroy(sys);
}

/* ---- IDs ---- */

static void test_alloc_honours_range(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(1024, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  assert_int_equal(alloc_ok(sys, set, 100, 102), 100);
  assert_int_equal(alloc_ok(sys, set, 100, 102), 101);
  assert_int_equal(alloc_ok(sys, set, 100, 102), 102);
  assert_int_equal(alloc_err(sys, set, 100, 102), IOASID_ENOSPC);
  assert_int_equal(alloc_err(sys, set, 5, 4), IOASID_EINVAL);
  assert_int_equal(alloc_err(sys, set, 1024, 5000), IOASID_ENOSPC);
  /* max beyond the capacity is clamped, not an error. */
  assert_int_equal(alloc_ok(sys, set, 1023, 100000), 1023);
  assert_int_equal(ioasid_free(sys, set, 101), 1);
  assert_int_equal(alloc_ok(sys, set, 100, 102), 101);
  destroy(sys);
}

static void test_exhaustion_no_wrap_no_duplicate(void **state)
{
  (void)state;
  enum { CAP = 300 };
  struct ioasid_system *sys = make_system(CAP, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  bool seen[CAP] = { false };
  for (int i = 1; i < CAP; i++) {
    ioasid_t id = alloc_ok(sys, set, 0, CAP - 1);
    assert_true(id >= 1 && id < CAP);
    assert_false(seen[id]);
    seen[id] = true;
  }
  assert_int_equal(alloc_err(sys, set, 0, CAP - 1), IOASID_ENOSPC);
  assert_int_equal(alloc_err(sys, set, 0, IOASID_INVALID - 1), IOASID_ENOSPC);
  destroy(sys);
}

static void test_state_transitions(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_IDLE);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_ACTIVE);
  assert_int_equal(ioasid_put(sys, set, id), 0);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_IDLE);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_free(sys, set, id), 0);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE_PENDING);
  assert_int_equal(ioasid_put(sys, NULL, id), 1);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE);
  destroy(sys);
}

static void test_free_deferred_until_last_put(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  for (int i = 0; i < 3; i++)
    assert_int_equal(ioasid_get(sys, NULL, id), IOASID_OK);
  assert_int_equal(ioasid_free(sys, set, id), 0);
  /* The ID is not reusable while pending. */
  assert_int_not_equal(alloc_ok(sys, set, 0, 63), id);
  assert_int_equal(ioasid_put(sys, NULL, id), 0);
  assert_int_equal(ioasid_put(sys, NULL, id), 0);
  assert_int_equal(ioasid_refs_of(sys, id), 1);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE_PENDING);
  assert_int_equal(ioasid_put(sys, NULL, id), 1);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE);
  assert_int_equal(alloc_ok(sys, set, 0, 63), id);
  destroy(sys);
}

static void test_get_on_freed_or_pending_fails(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_get(sys, NULL, 40), IOASID_ENOENT);
  assert_int_equal(ioasid_get(sys, NULL, 64), IOASID_ENOENT);
  assert_int_equal(ioasid_get(sys, NULL, IOASID_INVALID), IOASID_ENOENT);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_free(sys, set, id), 0);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_EBUSY);
  assert_int_equal(ioasid_get(sys, NULL, id), IOASID_EBUSY);
  assert_int_equal(ioasid_put(sys, set, id), 1);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_ENOENT);
  destroy(sys);
}

static void test_put_must_balance(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_put(sys, set, id), IOASID_EINVAL);
  assert_int_equal(ioasid_get(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_get(sys, NULL, id), IOASID_OK);
  assert_int_equal(ioasid_refs_of(sys, id), 2);
  assert_int_equal(ioasid_put(sys, NULL, id), 0);
  assert_int_equal(ioasid_put(sys, set, id), 0);
  assert_int_equal(ioasid_put(sys, set, id), IOASID_EINVAL);
  assert_int_equal(ioasid_refs_of(sys, id), 0);
  destroy(sys);
}

static void test_double_free_is_busy(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  ioasid_t held = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_free(sys, set, id), 1);
  assert_int_equal(ioasid_free(sys, set, id), IOASID_ENOENT);
  assert_int_equal(ioasid_get(sys, NULL, held), IOASID_OK);
  assert_int_equal(ioasid_free(sys, set, held), 0);
  assert_int_equal(ioasid_free(sys, set, held), IOASID_EBUSY);
  assert_int_equal(ioasid_put(sys, NULL, held), 1);
  destroy(sys);
}

static void test_get_if_owned_checks_token(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, &token_a, 0);
  make_set(sys, &token_b, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_get_if_owned(sys, &token_b, id), IOASID_EPERM);
  assert_int_equal(ioasid_get_if_owned(sys, NULL, id), IOASID_EINVAL);
  assert_int_equal(ioasid_get_if_owned(sys, &token_a, id + 1), IOASID_ENOENT);
  assert_int_equal(ioasid_get_if_owned(sys, &token_a, id), IOASID_OK);
  assert_int_equal(ioasid_refs_of(sys, id), 1);
  assert_int_equal(ioasid_put(sys, a, id), 0);
  destroy(sys);
}

static void test_ownership_enforced(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, &token_a, 0);
  struct ioasid_set *b = make_set(sys, &token_b, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_get(sys, b, id), IOASID_EPERM);
  assert_int_equal(ioasid_free(sys, b, id), IOASID_EPERM);
  assert_int_equal(ioasid_bind(sys, b, id), IOASID_EPERM);
  assert_int_equal(ioasid_spid_attach(sys, b, id, 7), IOASID_EPERM);
  assert_int_equal(ioasid_attach_data(sys, b, id, &token_c), IOASID_EPERM);
  assert_int_equal(ioasid_find(sys, b, id, NULL), IOASID_EPERM);
  assert_int_equal(ioasid_get(sys, a, id), IOASID_OK);
  assert_int_equal(ioasid_put(sys, b, id), IOASID_EPERM);
  assert_int_equal(ioasid_put(sys, a, id), 0);
  /* Owner-only calls refuse a missing set. */
  assert_int_equal(ioasid_free(sys, NULL, id), IOASID_EINVAL);
  assert_int_equal(ioasid_bind(sys, NULL, id), IOASID_EINVAL);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_IDLE);
  assert_ptr_equal(ioasid_owner(sys, id), a);
  destroy(sys);
}

static void test_foreign_system_set_rejected(void **state)
{
  (void)state;
  struct ioasid_system *s1 = make_system(64, true);
  struct ioasid_system *s2 = make_system(64, true);
  struct ioasid_set *a = make_set(s1, NULL, 0);
  assert_int_equal(alloc_err(s2, a, 0, 63), IOASID_EINVAL);
  assert_int_equal(ioasid_set_free(s2, a), IOASID_EINVAL);
  destroy(s1);
  destroy(s2);
}

static void test_bind_and_unbind(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_unbind(sys, set, id), IOASID_EINVAL);
  assert_int_equal(ioasid_bind(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_ACTIVE);
  assert_int_equal(ioasid_binds_of(sys, id), 1);
  assert_int_equal(ioasid_refs_of(sys, id), 1);
  /* A bind reference is not a plain reference: put cannot drop it. */
  assert_int_equal(ioasid_put(sys, set, id), IOASID_EINVAL);
  assert_int_equal(ioasid_unbind(sys, NULL, id), 0);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_IDLE);
  assert_int_equal(ioasid_refs_of(sys, id), 0);
  destroy(sys);
}

static void test_bound_id_free_deferred_until_unbind(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, set, 0, 63);
  assert_int_equal(ioasid_bind(sys, set, id), IOASID_OK);
  assert_int_equal(ioasid_free(sys, set, id), 0);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE_PENDING);
  assert_int_equal(ioasid_bind(sys, set, id), IOASID_EBUSY);
  assert_int_equal(ioasid_unbind(sys, set, id), 1);
  assert_int_equal(ioasid_state_of(sys, id), IOASID_STATE_FREE);
  destroy(sys);
}

static void test_private_data(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *set = make_set(sys, NULL, 0);
  int err = 0;
  ioasid_t id = ioasid_alloc(sys, set, 0, 63, &token_a, &err);
  void *data = NULL;
  assert_int_equal(ioasid_find(sys, set, id, &data), IOASID_OK);
  assert_ptr_equal(data, &token_a);
  assert_int_equal(ioasid_attach_data(sys, set, id, &token_b), IOASID_OK);
  assert_int_equal(ioasid_find(sys, NULL, id, &data), IOASID_OK);
  assert_ptr_equal(data, &token_b);
  assert_int_equal(ioasid_find(sys, NULL, id + 1, &data), IOASID_ENOENT);
  destroy(sys);
}

/* ---- notifications ---- */

static void test_notify_all_events_in_priority_order(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, &token_a, 0);
  struct ioasid_set *b = make_set(sys, &token_b, 0);
  struct event_log log = { 0 };
  struct recorder set_low, set_high, global_mid, other_set;
  recorder_init(&set_low, &log, 1, -5);
  recorder_init(&set_high, &log, 2, 10);
  recorder_init(&global_mid, &log, 3, 0);
  recorder_init(&other_set, &log, 4, 100);
  assert_int_equal(ioasid_notifier_register(sys, a, &set_low.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &global_mid.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, a, &set_high.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, b, &other_set.nb), IOASID_OK);

  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_bind(sys, a, id), IOASID_OK);
  assert_int_equal(ioasid_unbind(sys, a, id), 0);
  assert_int_equal(ioasid_free(sys, a, id), 1);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);

  static const enum ioasid_event_type types[] = {
    IOASID_NOTIFY_ALLOC, IOASID_NOTIFY_BIND, IOASID_NOTIFY_UNBIND, IOASID_NOTIFY_FREE,
    IOASID_NOTIFY_SET_FREE,
  };
  assert_int_equal(log.n, 5 * 3);
  for (unsigned e = 0; e < 5; e++) {
    static const int order[] = { 2, 3, 1 };
    for (unsigned k = 0; k < 3; k++) {
      assert_int_equal(log.e[e * 3 + k].who, order[k]);
      assert_int_equal(log.e[e * 3 + k].type, types[e]);
      assert_int_equal(log.e[e * 3 + k].id, e == 4 ? IOASID_INVALID : id);
    }
  }
  assert_int_equal(log.e[3].state, IOASID_STATE_ACTIVE);
  assert_int_equal(log.e[9].state, IOASID_STATE_FREE);
  /* Set subscribers end with their set. */
  assert_false(ioasid_notifier_registered(&set_low.nb));
  assert_true(ioasid_notifier_registered(&global_mid.nb));
  assert_true(ioasid_notifier_registered(&other_set.nb));
  destroy(sys);
}

static void test_notify_ties_set_first_then_registration_order(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct event_log log = { 0 };
  struct recorder g1, s1, g2, s2;
  recorder_init(&g1, &log, 1, 0);
  recorder_init(&s1, &log, 2, 0);
  recorder_init(&g2, &log, 3, 0);
  recorder_init(&s2, &log, 4, 0);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &g1.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, a, &s1.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &g2.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, a, &s2.nb), IOASID_OK);
  alloc_ok(sys, a, 0, 63);
  assert_int_equal(log.n, 4);
  assert_int_equal(log.e[0].who, 2);
  assert_int_equal(log.e[1].who, 4);
  assert_int_equal(log.e[2].who, 1);
  assert_int_equal(log.e[3].who, 3);
  destroy(sys);
}

static void test_notify_global_sees_every_set(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct ioasid_set *b = make_set(sys, NULL, 0);
  struct event_log log = { 0 };
  struct recorder g, sa;
  recorder_init(&g, &log, 1, 0);
  recorder_init(&sa, &log, 2, 0);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &g.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, a, &sa.nb), IOASID_OK);
  ioasid_t ib = alloc_ok(sys, b, 0, 63);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.e[0].who, 1);
  assert_ptr_equal(log.e[0].set, b);
  assert_int_equal(log.e[0].id, ib);
  destroy(sys);
}

static void test_notify_token_subscriber_attached_when_set_appears(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct event_log log = { 0 };
  struct recorder early;
  recorder_init(&early, &log, 1, 0);
  assert_int_equal(ioasid_notifier_register_token(sys, &token_a, &early.nb), IOASID_OK);
  struct ioasid_set *other = make_set(sys, &token_b, 0);
  alloc_ok(sys, other, 0, 63);
  assert_int_equal(log.n, 0);
  struct ioasid_set *a = make_set(sys, &token_a, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.e[0].type, IOASID_NOTIFY_ALLOC);
  assert_int_equal(log.e[0].id, id);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  assert_int_equal(log.n, 3);  /* FREE, SET_FREE */
  assert_int_equal(log.e[2].type, IOASID_NOTIFY_SET_FREE);
  /* Still subscribed to the token: the next set with it gets the subscriber again. */
  assert_true(ioasid_notifier_registered(&early.nb));
  assert_invariants(sys);
  struct ioasid_set *a2 = make_set(sys, &token_a, 0);
  alloc_ok(sys, a2, 0, 63);
  assert_int_equal(log.n, 4);
  assert_int_equal(ioasid_notifier_unregister(sys, &early.nb), IOASID_OK);
  alloc_ok(sys, a2, 0, 63);
  assert_int_equal(log.n, 4);
  destroy(sys);
}

static void test_notifier_register_unregister(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct event_log log = { 0 };
  struct recorder r;
  recorder_init(&r, &log, 1, 0);
  assert_int_equal(ioasid_notifier_unregister(sys, &r.nb), IOASID_ENOENT);
  assert_int_equal(ioasid_notifier_register(sys, a, &r.nb), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &r.nb), IOASID_EBUSY);
  assert_int_equal(ioasid_notifier_unregister(sys, &r.nb), IOASID_OK);
  alloc_ok(sys, a, 0, 63);
  assert_int_equal(log.n, 0);
  struct ioasid_notifier no_fn = { 0 };
  assert_int_equal(ioasid_notifier_register(sys, NULL, &no_fn), IOASID_EINVAL);
  assert_int_equal(ioasid_notifier_register_token(sys, NULL, &r.nb), IOASID_EINVAL);
  destroy(sys);
}

struct reentry {
  struct ioasid_notifier nb;
  struct ioasid_system *sys;
  struct ioasid_set *set;
  unsigned calls;
};

static void reenter(const struct ioasid_event *ev, void *arg)
{
  struct reentry *r = arg;
  struct ioasid_system *sys = r->sys;
  r->calls++;
  int err = 0;
  assert_int_equal(ioasid_alloc(sys, r->set, 0, 63, NULL, &err), IOASID_INVALID);
  assert_int_equal(err, IOASID_EREENTRANT);
  assert_null(ioasid_set_alloc(sys, NULL, IOASID_SET_TYPE_NULL, 0, &err));
  assert_int_equal(err, IOASID_EREENTRANT);
  assert_int_equal(ioasid_set_free(sys, r->set), IOASID_EREENTRANT);
  assert_int_equal(ioasid_capacity_reserve(sys, 1), IOASID_EREENTRANT);
  assert_int_equal(ioasid_notifier_unregister(sys, &r->nb), IOASID_EREENTRANT);
  assert_int_equal(ioasid_system_destroy(sys), IOASID_EREENTRANT);
  if (ev->type == IOASID_NOTIFY_ALLOC) {
    assert_int_equal(ioasid_free(sys, r->set, ev->id), IOASID_EREENTRANT);
    assert_int_equal(ioasid_get(sys, NULL, ev->id), IOASID_EREENTRANT);
    assert_int_equal(ioasid_bind(sys, r->set, ev->id), IOASID_EREENTRANT);
    assert_int_equal(ioasid_spid_attach(sys, r->set, ev->id, 1), IOASID_EREENTRANT);
    /* Reads see a consistent allocator. */
    assert_int_equal(ioasid_state_of(sys, ev->id), IOASID_STATE_IDLE);
    assert_int_equal(ioasid_check_invariants(sys, NULL, 0), 0);
  }
}

static void test_notifier_reentry_detected(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct reentry r = { .sys = sys };
  r.set = make_set(sys, NULL, 0);
  r.nb.fn = reenter;
  r.nb.arg = &r;
  assert_int_equal(ioasid_notifier_register(sys, r.set, &r.nb), IOASID_OK);
  ioasid_t id = alloc_ok(sys, r.set, 0, 63);
  assert_int_equal(ioasid_free(sys, r.set, id), 1);
  assert_int_equal(r.calls, 2);
  assert_int_equal(ioasid_count(sys), 0);
  destroy(sys);
}

static void test_unbind_after_set_free_reaches_global_only(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct event_log log = { 0 };
  struct recorder g;
  recorder_init(&g, &log, 1, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_bind(sys, a, id), IOASID_OK);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  assert_int_equal(ioasid_notifier_register(sys, NULL, &g.nb), IOASID_OK);
  assert_int_equal(ioasid_unbind(sys, NULL, id), 1);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.e[0].type, IOASID_NOTIFY_UNBIND);
  assert_null(log.e[0].set);
  assert_int_equal(log.e[0].state, IOASID_STATE_FREE);
  destroy(sys);
}

/* ---- SPIDs ---- */

static void test_spid_lookup_both_directions(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  uint32_t spid = 0;
  ioasid_t found = 0;
  assert_int_equal(ioasid_spid_of(sys, a, id, &spid), IOASID_ENOENT);
  assert_int_equal(ioasid_spid_attach(sys, a, id, 0x1234), IOASID_OK);
  assert_int_equal(ioasid_spid_lookup(sys, a, 0x1234, &found), IOASID_OK);
  assert_int_equal(found, id);
  assert_int_equal(ioasid_spid_of(sys, a, id, &spid), IOASID_OK);
  assert_int_equal(spid, 0x1234);
  assert_int_equal(ioasid_spid_lookup(sys, a, 0x1235, &found), IOASID_ENOENT);
  assert_int_equal(ioasid_spid_attach(sys, a, id, IOASID_INVALID), IOASID_EINVAL);
  destroy(sys);
}

static void test_spid_unique_within_set(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct ioasid_set *b = make_set(sys, NULL, 0);
  ioasid_t a1 = alloc_ok(sys, a, 0, 63);
  ioasid_t a2 = alloc_ok(sys, a, 0, 63);
  ioasid_t b1 = alloc_ok(sys, b, 0, 63);
  assert_int_equal(ioasid_spid_attach(sys, a, a1, 5), IOASID_OK);
  assert_int_equal(ioasid_spid_attach(sys, a, a2, 5), IOASID_EEXIST);
  assert_int_equal(ioasid_spid_attach(sys, a, a1, 6), IOASID_EEXIST);
  /* Another set has its own SPID namespace. */
  assert_int_equal(ioasid_spid_attach(sys, b, b1, 5), IOASID_OK);
  ioasid_t found;
  assert_int_equal(ioasid_spid_lookup(sys, a, 5, &found), IOASID_OK);
  assert_int_equal(found, a1);
  assert_int_equal(ioasid_spid_lookup(sys, b, 5, &found), IOASID_OK);
  assert_int_equal(found, b1);
  destroy(sys);
}

static void test_spid_detach_and_reattach(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  ioasid_t a1 = alloc_ok(sys, a, 0, 63);
  ioasid_t a2 = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_spid_detach(sys, a, a1), IOASID_ENOENT);
  assert_int_equal(ioasid_spid_attach(sys, a, a1, 9), IOASID_OK);
  assert_int_equal(ioasid_spid_detach(sys, a, a1), IOASID_OK);
  ioasid_t found;
  assert_int_equal(ioasid_spid_lookup(sys, a, 9, &found), IOASID_ENOENT);
  assert_int_equal(ioasid_spid_attach(sys, a, a2, 9), IOASID_OK);
  assert_int_equal(ioasid_spid_lookup(sys, a, 9, &found), IOASID_OK);
  assert_int_equal(found, a2);
  destroy(sys);
}

static void test_spid_released_on_free(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(64, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  struct event_log log = { 0 };
  struct recorder r;
  recorder_init(&r, &log, 1, 0);
  assert_int_equal(ioasid_notifier_register(sys, a, &r.nb), IOASID_OK);
  ioasid_t id = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_spid_attach(sys, a, id, 77), IOASID_OK);
  assert_int_equal(ioasid_get(sys, NULL, id), IOASID_OK);
  assert_int_equal(ioasid_free(sys, a, id), 0);  /* pending, but the SPID goes now */
  assert_int_equal(log.e[1].type, IOASID_NOTIFY_FREE);
  assert_int_equal(log.e[1].spid, 77);
  ioasid_t found;
  assert_int_equal(ioasid_spid_lookup(sys, a, 77, &found), IOASID_ENOENT);
  assert_int_equal(ioasid_spid_attach(sys, a, id, 78), IOASID_EBUSY);
  ioasid_t other = alloc_ok(sys, a, 0, 63);
  assert_int_equal(ioasid_spid_attach(sys, a, other, 77), IOASID_OK);
  assert_int_equal(ioasid_put(sys, NULL, id), 1);
  destroy(sys);
}

static void test_spid_table_grows_and_shrinks(void **state)
{
  (void)state;
  enum { N = 5000 };
  struct ioasid_system *sys = make_system(8192, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  ioasid_t *ids = calloc(N, sizeof(*ids));
  assert_non_null(ids);
  for (uint32_t i = 0; i < N; i++) {
    ids[i] = alloc_ok(sys, a, 0, 8191);
    assert_int_equal(ioasid_spid_attach(sys, a, ids[i], i * 7919u), IOASID_OK);
  }
  assert_invariants(sys);
  for (uint32_t i = 0; i < N; i += 2)
    assert_int_equal(ioasid_spid_detach(sys, a, ids[i]), IOASID_OK);
  for (uint32_t i = 0; i < N; i++) {
    ioasid_t found;
    int rc = ioasid_spid_lookup(sys, a, i * 7919u, &found);
    if (i % 2) {
      assert_int_equal(rc, IOASID_OK);
      assert_int_equal(found, ids[i]);
    } else {
      assert_int_equal(rc, IOASID_ENOENT);
    }
  }
  for (uint32_t i = 1; i < N; i += 2)
    assert_int_equal(ioasid_spid_detach(sys, a, ids[i]), IOASID_OK);
  assert_invariants(sys);
  free(ids);
  destroy(sys);
}

/* ---- whole-space and diagnostics ---- */

static void test_full_2pow20_space(void **state)
{
  (void)state;
  struct ioasid_system *sys = make_system(IOASID_MAX_CAPACITY, true);
  struct ioasid_set *a = make_set(sys, NULL, 0);
  for (uint32_t i = 1; i < IOASID_MAX_CAPACITY; i++) {
    int err;
    ioasid_t id = ioasid_alloc(sys, a, 0, IOASID_MAX_CAPACITY - 1, NULL, &err);
    if (id != i)
      fail_msg("expected %u got %u (err %d)", i, id, err);
  }
  assert_int_equal(alloc_err(sys, a, 0, IOASID_MAX_CAPACITY - 1), IOASID_ENOSPC);
  assert_invariants(sys);
  assert_int_equal(ioasid_free(sys, a, 777777), 1);
  assert_int_equal(alloc_ok(sys, a, 0, IOASID_MAX_CAPACITY - 1), 777777);
  assert_int_equal(ioasid_set_free(sys, a), IOASID_OK);
  assert_int_equal(ioasid_count(sys), 0);
  destroy(sys);
}

static void test_invariant_checker_reports_detail(void **state)
{
  (void)state;
  char detail[64] = "x";
  assert_int_equal(ioasid_check_invariants(NULL, detail, sizeof(detail)), IOASID_ECORRUPT);
  assert_string_equal(detail, "no system");
  struct ioasid_system *sys = make_system(64, true);
  assert_int_equal(ioasid_check_invariants(sys, detail, sizeof(detail)), 0);
  assert_string_equal(detail, "");
  destroy(sys);
}

static void test_strerror_names_every_code(void **state)
{
  (void)state;
  for (int e = IOASID_ECORRUPT; e <= IOASID_OK; e++)
    assert_null(strstr(ioasid_strerror(e), "unknown"));
  assert_non_null(strstr(ioasid_strerror(IOASID_EREENTRANT), "IOASID_EREENTRANT"));
  assert_non_null(strstr(ioasid_strerror(-99), "unknown"));
  assert_string_equal(ioasid_event_name(IOASID_NOTIFY_SET_FREE), "SET_FREE");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_capacity_for_bits),
    cmocka_unit_test(test_capacity_is_minimum_of_limits),
    cmocka_unit_test(test_create_rejects_bad_config),
    cmocka_unit_test(test_capacity_zero_refuses_allocation),
    cmocka_unit_test(test_pasid0_reserved_for_untagged_dma),
    cmocka_unit_test(test_pasid0_allocatable_without_reservation),
    cmocka_unit_test(test_reserve_and_cancel_capacity),
    cmocka_unit_test(test_set_token_rules),
    cmocka_unit_test(test_set_quotas_cannot_exceed_capacity),
    cmocka_unit_test(test_set_quota_enforced_and_room_returned),
    cmocka_unit_test(test_unlimited_set_draws_on_unreserved_capacity),
    cmocka_unit_test(test_set_iteration_in_allocation_order),
    cmocka_unit_test(test_iteration_callback_cannot_modify),
    cmocka_unit_test(test_set_free_frees_all_ids),
    cmocka_unit_test(test_set_free_defers_referenced_ids_and_quota),
    cmocka_unit_test(test_freed_set_handle_rejected_while_pending),
    cmocka_unit_test(test_alloc_honours_range),
    cmocka_unit_test(test_exhaustion_no_wrap_no_duplicate),
    cmocka_unit_test(test_state_transitions),
    cmocka_unit_test(test_free_deferred_until_last_put),
    cmocka_unit_test(test_get_on_freed_or_pending_fails),
    cmocka_unit_test(test_put_must_balance),
    cmocka_unit_test(test_double_free_is_busy),
    cmocka_unit_test(test_get_if_owned_checks_token),
    cmocka_unit_test(test_ownership_enforced),
    cmocka_unit_test(test_foreign_system_set_rejected),
    cmocka_unit_test(test_bind_and_unbind),
    cmocka_unit_test(test_bound_id_free_deferred_until_unbind),
    cmocka_unit_test(test_private_data),
    cmocka_unit_test(test_notify_all_events_in_priority_order),
    cmocka_unit_test(test_notify_ties_set_first_then_registration_order),
    cmocka_unit_test(test_notify_global_sees_every_set),
    cmocka_unit_test(test_notify_token_subscriber_attached_when_set_appears),
    cmocka_unit_test(test_notifier_register_unregister),
    cmocka_unit_test(test_notifier_reentry_detected),
    cmocka_unit_test(test_unbind_after_set_free_reaches_global_only),
    cmocka_unit_test(test_spid_lookup_both_directions),
    cmocka_unit_test(test_spid_unique_within_set),
    cmocka_unit_test(test_spid_detach_and_reattach),
    cmocka_unit_test(test_spid_released_on_free),
    cmocka_unit_test(test_spid_table_grows_and_shrinks),
    cmocka_unit_test(test_full_2pow20_space),
    cmocka_unit_test(test_invariant_checker_reports_detail),
    cmocka_unit_test(test_strerror_names_every_code),
  };
  return cmocka_run_group_tests_name("ioasid", tests, NULL, NULL);
}
