/* Console fan-out shared by firmware and host. */
#include "boot/console.h"

#define CONSOLE_MAX_SINKS 2

static struct console_sink sinks[CONSOLE_MAX_SINKS];
static unsigned n_sinks;

void console_set_sinks(const struct console_sink *s, unsigned n)
{
  n_sinks = n > CONSOLE_MAX_SINKS ? CONSOLE_MAX_SINKS : n;
  for (unsigned i = 0; i < n_sinks; i++)
    sinks[i] = s[i];
}

void console_write(const char *s, size_t len)
{
  for (unsigned i = 0; i < n_sinks; i++)
    sinks[i].write(sinks[i].ctx, s, len);
}
