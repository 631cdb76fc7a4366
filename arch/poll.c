/* Bounded polling shared by every arch. */
#include "arch/arch.h"

bool arch_poll(bool (*cond)(void *ctx), void *ctx, uint64_t timeout_us)
{
  uint64_t deadline = arch_time_us() + timeout_us;
  for (;;) {
    if (cond(ctx))
      return true;
    if (arch_time_us() > deadline)
      return cond(ctx);
  }
}
