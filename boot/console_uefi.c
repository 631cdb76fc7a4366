/* UEFI console sinks: ConOut and, when ConOut is not already on a UART, Serial I/O. */
#include <stdbool.h>
#include <string.h>

#include "boot/console.h"
#include "boot/uefi.h"

static void conout_write(void *ctx, const char *s, size_t len)
{
  (void)ctx;
  CHAR16 buf[129];
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\n')
      buf[n++] = L'\r';
    buf[n++] = (CHAR16)(unsigned char)s[i];
    if (n >= 127 || i + 1 == len) {
      buf[n] = 0;
      uefi_call_wrapper(uefi_st->ConOut->OutputString, 2, uefi_st->ConOut, buf);
      n = 0;
    }
  }
}

static EFI_SERIAL_IO_PROTOCOL *serial;

static void serial_write(void *ctx, const char *s, size_t len)
{
  (void)ctx;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '\n') {
      UINTN n = i - start;
      if (n)
        uefi_call_wrapper(serial->Write, 3, serial, &n, (void *)(s + start));
      if (i < len) {
        UINTN two = 2;
        uefi_call_wrapper(serial->Write, 3, serial, &two, "\r\n");
      }
      start = i + 1;
    }
  }
}

/* ConOut is a UEFI variable holding a multi-instance device path; a UART messaging node
 * (type 3, subtype 14) in it means the firmware already mirrors ConOut to a serial port. */
static bool conout_reaches_uart(void)
{
  static EFI_GUID global = EFI_GLOBAL_VARIABLE;
  uint8_t buf[1024];
  UINTN size = sizeof(buf);
  EFI_STATUS st = uefi_call_wrapper(uefi_st->RuntimeServices->GetVariable, 5, L"ConOut",
                                    &global, NULL, &size, buf);
  if (EFI_ERROR(st))
    return false;
  for (UINTN off = 0; off + 4 <= size;) {
    uint8_t type = buf[off], sub = buf[off + 1];
    uint16_t len = (uint16_t)(buf[off + 2] | buf[off + 3] << 8);
    if (type == 3 && sub == 14)
      return true;
    if (len < 4)
      break;
    off += len;
  }
  return false;
}

void uefi_console_init(void)
{
  static EFI_GUID serial_guid = SERIAL_IO_PROTOCOL;
  struct console_sink s[2] = { { conout_write, NULL } };
  unsigned n = 1;
  if (!conout_reaches_uart() &&
      !EFI_ERROR(uefi_call_wrapper(uefi_st->BootServices->LocateProtocol, 3, &serial_guid, NULL,
                                   (void **)&serial)))
    s[n++] = (struct console_sink){ serial_write, NULL };
  console_set_sinks(s, n);
}
