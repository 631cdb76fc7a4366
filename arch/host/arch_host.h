/* Host arch: MMIO is dispatched to whichever model registered the address range (tests/model
 * registers device models; unit tests register fakes). An access no region claims aborts the
 * test with the address: on the host it is always a bug. */
#ifndef ARCH_HOST_H
#define ARCH_HOST_H

#include <stdint.h>

struct host_mmio_region {
  uint64_t base, size;
  /* width is 1, 2, 4 or 8 bytes; off is relative to base. */
  uint64_t (*read)(void *ctx, uint64_t off, unsigned width);
  void (*write)(void *ctx, uint64_t off, unsigned width, uint64_t val);
  void *ctx;
};

int host_mmio_register(const struct host_mmio_region *region);
void host_mmio_unregister_all(void);

#endif
