/* Bounded polling shared by every arch. */
#include "arch/arch.h"

static void (*poll_idle)(void);

void arch_poll_set_idle(void (*idle)(void)) { poll_idle = idle; }

/* A condition still false after this long is waiting on something slow: from then on the
 * CPU idles between checks instead of spinning. */
#define POLL_SPIN_US 1000u

bool arch_poll(bool (*cond)(void *ctx), void *ctx, uint64_t timeout_us)
{
  uint64_t start = arch_time_us(), deadline = start + timeout_us;
  for (;;) {
    if (cond(ctx))
      return true;
    uint64_t now = arch_time_us();
    if (now > deadline)
      return cond(ctx);
    if (poll_idle && now - start >= POLL_SPIN_US)
      poll_idle();
  }
}
