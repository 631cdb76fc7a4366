/* The syscall layer newlib expects (built with --disable-newlib-supplied-syscalls). Its
 * reentrant wrappers call _write etc. on aarch64-elf and the plain names on x86_64-elf, so
 * both are defined (plain names as aliases):
 * console output, a heap carved from one UEFI page allocation, and refusals elsewhere. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/time.h>

#include "arch/arch.h"
#include "boot/console.h"
#include "boot/uefi.h"

#undef errno
extern int errno;

static uint8_t *heap_start, *heap_end, *heap_brk;

EFI_STATUS uefi_heap_init(UINTN bytes)
{
  EFI_PHYSICAL_ADDRESS addr = 0;
  EFI_STATUS st = uefi_call_wrapper(uefi_st->BootServices->AllocatePages, 4, AllocateAnyPages,
                                    EfiLoaderData, EFI_SIZE_TO_PAGES(bytes), &addr);
  if (EFI_ERROR(st))
    return st;
  heap_start = heap_brk = (uint8_t *)(uintptr_t)addr;
  heap_end = heap_start + bytes;
  return EFI_SUCCESS;
}

void *_sbrk(ptrdiff_t incr)
{
  if (heap_brk == NULL || incr > heap_end - heap_brk || incr < heap_start - heap_brk) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uint8_t *old = heap_brk;
  heap_brk += incr;
  return old;
}

int _write(int fd, const char *buf, int len)
{
  if (fd != 1 && fd != 2) {
    errno = EBADF;
    return -1;
  }
  console_write(buf, (size_t)len);
  return len;
}

int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; return 0; }
int _close(int fd) { (void)fd; errno = EBADF; return -1; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _isatty(int fd) { return fd <= 2; }
int _open(const char *path, int flags, int mode)
{
  (void)path; (void)flags; (void)mode;
  errno = ENOSYS;
  return -1;
}
int _fstat(int fd, struct stat *st)
{
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code)
{
  /* Only reached through abort()/exit(): stop the way the run was configured to stop. */
  arch_exit_qemu(code != 0);
  uefi_call_wrapper(uefi_st->RuntimeServices->ResetSystem, 4, EfiResetShutdown,
                    code ? EFI_ABORTED : EFI_SUCCESS, 0, NULL);
  for (;;)
    ;
}
int _gettimeofday(struct timeval *tv, void *tz)
{
  (void)tz;
  uint64_t us = arch_time_us();
  tv->tv_sec = (time_t)(us / 1000000);
  tv->tv_usec = (suseconds_t)(us % 1000000);
  return 0;
}
clock_t _times(struct tms *t) { (void)t; return (clock_t)arch_time_us(); }

#define NEWLIB_ALIAS(name) __typeof__(_##name) name __attribute__((alias("_" #name)))
NEWLIB_ALIAS(sbrk);
NEWLIB_ALIAS(write);
NEWLIB_ALIAS(read);
NEWLIB_ALIAS(close);
NEWLIB_ALIAS(lseek);
NEWLIB_ALIAS(isatty);
NEWLIB_ALIAS(open);
NEWLIB_ALIAS(fstat);
NEWLIB_ALIAS(getpid);
NEWLIB_ALIAS(kill);
