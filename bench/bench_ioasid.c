// bench-sources: ioasid/ioasid.c
/* IOASID allocator throughput at 2^10, 2^16 and 2^20 live IDs (capacity 2^20 throughout):
 *  - alloc+free: free a random live ID and allocate again (lands in that hole); one op = pair
 *  - get/put: take and drop a reference on a random live ID; one op = pair
 *  - spid lookup: (set, SPID) -> ID for a random attached SPID
 * One line per measurement, then the slowdown from 2^10 to 2^20 live IDs: linear structures
 * would be ~1024x slower; these should stay within small factors (cache misses only). */
#define _POSIX_C_SOURCE 199309L
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ioasid/ioasid.h"

#define MIN_SECONDS 0.3
#define BATCH 65536u
#define SPID_MULT 2654435761u   /* spreads SPIDs over the 32-bit space */

static uint64_t rng = 0x5EEDull;

static inline uint32_t rnd_below(uint32_t n)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(((rng >> 32) * (uint64_t)n) >> 32);
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
  fprintf(stderr, "bench_ioasid: %s: %s\n", what, ioasid_strerror(err));
  exit(1);
}

struct bench {
  struct ioasid_system *sys;
  struct ioasid_set *set;
  ioasid_t *live;        /* the live IDs, for picking one at random */
  uint32_t n;
};

static void bench_setup(struct bench *b, uint32_t n)
{
  struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY, .reserve_pasid0 = false };
  int err = 0;
  b->sys = ioasid_system_create(&cfg, &err);
  if (!b->sys)
    die("create", err);
  b->set = ioasid_set_alloc(b->sys, NULL, IOASID_SET_TYPE_NULL, 0, &err);
  if (!b->set)
    die("set_alloc", err);
  b->live = malloc((size_t)n * sizeof(*b->live));
  if (!b->live)
    die("malloc", IOASID_ENOMEM);
  b->n = n;
  for (uint32_t i = 0; i < n; i++) {
    b->live[i] = ioasid_alloc(b->sys, b->set, 0, IOASID_MAX_CAPACITY - 1, NULL, &err);
    if (b->live[i] == IOASID_INVALID)
      die("fill", err);
    err = ioasid_spid_attach(b->sys, b->set, b->live[i], b->live[i] * SPID_MULT);
    if (err)
      die("spid_attach", err);
  }
}

static void bench_teardown(struct bench *b)
{
  char detail[128];
  int err = ioasid_check_invariants(b->sys, detail, sizeof(detail));
  if (err) {
    fprintf(stderr, "bench_ioasid: invariants after run: %s\n", detail);
    exit(1);
  }
  ioasid_system_destroy(b->sys);
  free(b->live);
}

static double run_alloc_free(struct bench *b)
{
  uint64_t ops = 0;
  double start = now(), elapsed;
  do {
    for (uint32_t i = 0; i < BATCH; i++) {
      uint32_t k = rnd_below(b->n);
      if (ioasid_free(b->sys, b->set, b->live[k]) != 1)
        die("free", IOASID_ECORRUPT);
      int err;
      b->live[k] = ioasid_alloc(b->sys, b->set, 0, IOASID_MAX_CAPACITY - 1, NULL, &err);
      if (b->live[k] == IOASID_INVALID)
        die("alloc", err);
    }
    ops += BATCH;
    elapsed = now() - start;
  } while (elapsed < MIN_SECONDS);
  return (double)ops / elapsed;
}

static double run_get_put(struct bench *b)
{
  uint64_t ops = 0;
  double start = now(), elapsed;
  do {
    for (uint32_t i = 0; i < BATCH; i++) {
      ioasid_t id = b->live[rnd_below(b->n)];
      if (ioasid_get(b->sys, NULL, id) != IOASID_OK || ioasid_put(b->sys, NULL, id) != 0)
        die("get/put", IOASID_ECORRUPT);
    }
    ops += BATCH;
    elapsed = now() - start;
  } while (elapsed < MIN_SECONDS);
  return (double)ops / elapsed;
}

static double run_spid_lookup(struct bench *b)
{
  uint64_t ops = 0;
  uint32_t sink = 0;
  double start = now(), elapsed;
  do {
    for (uint32_t i = 0; i < BATCH; i++) {
      /* IDs are dense from 0 after the fill, so a random ID below n names an attached SPID. */
      ioasid_t want = rnd_below(b->n), got;
      if (ioasid_spid_lookup(b->sys, b->set, want * SPID_MULT, &got) != IOASID_OK)
        die("spid_lookup", IOASID_ENOENT);
      sink += got;
    }
    ops += BATCH;
    elapsed = now() - start;
  } while (elapsed < MIN_SECONDS);
  if (sink == 1)  /* keeps the lookups from being optimised away */
    putchar(' ');
  return (double)ops / elapsed;
}

int main(void)
{
  static const unsigned shifts[] = { 10, 16, 20 };
  static const char *const names[] = { "alloc+free", "get/put", "spid lookup" };
  double rate[3][3];
  for (unsigned s = 0; s < 3; s++) {
    uint32_t n = 1u << shifts[s];
    struct bench b;
    bench_setup(&b, n);
    /* get/put and lookup first: alloc+free keeps the population at n but moves SPIDs out. */
    rate[1][s] = run_get_put(&b);
    rate[2][s] = run_spid_lookup(&b);
    rate[0][s] = run_alloc_free(&b);
    if (ioasid_count(b.sys) != n)
      die("live count drifted", IOASID_ECORRUPT);
    for (unsigned k = 0; k < 3; k++)
      printf("ioasid %s live=%" PRIu32 ": %.0f ops/s\n", names[k], n, rate[k][s]);
    fflush(stdout);
    bench_teardown(&b);
  }
  for (unsigned k = 0; k < 3; k++)
    printf("ioasid %s slowdown 2^10 -> 2^20 live IDs: %.2fx (a linear scan would be ~1024x)\n",
           names[k], rate[k][0] / rate[k][2]);
  return 0;
}
