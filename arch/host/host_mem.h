/* Host build: simulated physical memory. One arena reserved with mmap has its own physical
 * address space (by default 256 MiB at 0x1_0000_0000), so a physical address is never a
 * host pointer, address widths and limits are real, and a table pointer the driver got wrong
 * lands nowhere instead of in host memory. boot/mem.h (page_alloc & co.) allocates from it;
 * the device models reach it only through model_mem_read/write by physical address. */
#ifndef ARCH_HOST_MEM_H
#define ARCH_HOST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_MEM_DEFAULT_BASE 0x100000000ull
#define HOST_MEM_DEFAULT_BYTES (256ull << 20)

/* Places the arena (base and size 4 KiB multiples). Only before the first allocation;
 * returns -1 once the arena exists or for a bad layout. */
int host_mem_configure(uint64_t base, uint64_t bytes);
uint64_t host_mem_base(void);
uint64_t host_mem_size(void);
/* Pages currently allocated (leak checks: tables a driver installed must be gone). */
unsigned host_mem_pages_in_use(void);

/* Bus-side access by physical address, as a DMA master or table walker sees memory.
 * 0, or -1 when any byte of [phys, phys+len) is outside the arena (nothing is transferred:
 * the model reports that as the access error its hardware would). */
int model_mem_read(uint64_t phys, void *buf, size_t len);
int model_mem_write(uint64_t phys, const void *buf, size_t len);
int model_mem_read64(uint64_t phys, uint64_t *val);
int model_mem_write64(uint64_t phys, uint64_t val);
/* A CPU pointer to [phys, phys+len) inside the arena, or NULL (ACPI table mapping). */
void *host_mem_map(uint64_t phys, size_t len);

#endif
