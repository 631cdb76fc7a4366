/* Pages with known physical addresses, for IOMMU tables and DMA buffers.
 * Firmware: UEFI AllocatePages (identity-mapped). Host: the model's simulated memory. */
#ifndef BOOT_MEM_H
#define BOOT_MEM_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096u

/* n zeroed 4 KiB pages, physically contiguous, below max_phys (inclusive limit of the last
 * byte; UINT64_MAX for anywhere). Returns the CPU pointer and the physical address. */
void *page_alloc(size_t n, uint64_t max_phys, uint64_t *phys);
void page_free(void *p, size_t n);
/* Pages handed out by page_alloc and not yet freed: state.restore checks that a unit's
 * tables are gone by this count, not by trusting the driver. */
uint64_t page_alloc_outstanding(void);
uint64_t virt_to_phys(const void *p);
void *phys_to_virt(uint64_t phys);

#endif
