/* Console: ConOut, plus the firmware's serial port when ConOut does not already go there.
 * stdout/stderr (newlib _write) land here. */
#ifndef BOOT_CONSOLE_H
#define BOOT_CONSOLE_H

#include <stddef.h>

struct console_sink {
  void (*write)(void *ctx, const char *s, size_t len);
  void *ctx;
};

/* Host builds install a sink; the firmware installs ConOut / Serial I/O in efi_main. */
void console_set_sinks(const struct console_sink *sinks, unsigned n);
void console_write(const char *s, size_t len);

#endif
