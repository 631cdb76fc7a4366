/* arch_poll: spins for the first millisecond, then idles between checks through the
 * registered service, and keeps every deadline (host clock). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "arch/arch.h"

static unsigned idle_calls;
static uint64_t first_idle_at;

static void counting_idle(void)
{
  if (idle_calls++ == 0)
    first_idle_at = arch_time_us();
  struct timespec ts = { 0, 200000 }; /* 200 us: a timer tick, shortened */
  nanosleep(&ts, NULL);
}

static bool after_three_idles(void *ctx)
{
  (void)ctx;
  return idle_calls >= 3;
}

static bool never(void *ctx)
{
  (void)ctx;
  return false;
}

static void idles_only_after_a_millisecond(void **state)
{
  (void)state;
  arch_init(NULL);
  idle_calls = 0;
  arch_poll_set_idle(counting_idle);
  uint64_t start = arch_time_us();
  assert_true(arch_poll(after_three_idles, NULL, 2000000));
  assert_int_equal(idle_calls, 3);
  assert_true(first_idle_at - start >= 1000);
  arch_poll_set_idle(NULL);
}

static void deadline_kept_while_idling(void **state)
{
  (void)state;
  arch_init(NULL);
  idle_calls = 0;
  arch_poll_set_idle(counting_idle);
  uint64_t start = arch_time_us();
  assert_false(arch_poll(never, NULL, 20000));
  uint64_t took = arch_time_us() - start;
  assert_true(took >= 20000);
  assert_true(took < 2000000);
  assert_true(idle_calls > 0);
  arch_poll_set_idle(NULL);
}

static void spins_without_idle_service(void **state)
{
  (void)state;
  arch_init(NULL);
  idle_calls = 0;
  assert_false(arch_poll(never, NULL, 5000));
  assert_int_equal(idle_calls, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(idles_only_after_a_millisecond),
    cmocka_unit_test(deadline_kept_while_idling),
    cmocka_unit_test(spins_without_idle_service),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
