/* UEFI pages: boot services identity-map memory, so physical == virtual. */
#include <string.h>

#include "boot/mem.h"
#include "boot/uefi.h"

static uint64_t outstanding;

uint64_t page_alloc_outstanding(void) { return outstanding; }

void *page_alloc(size_t n, uint64_t max_phys, uint64_t *phys)
{
  EFI_PHYSICAL_ADDRESS addr = max_phys;
  EFI_ALLOCATE_TYPE type = max_phys == UINT64_MAX ? AllocateAnyPages : AllocateMaxAddress;
  EFI_STATUS st = uefi_call_wrapper(uefi_st->BootServices->AllocatePages, 4, type, EfiLoaderData,
                                    n, &addr);
  if (EFI_ERROR(st))
    return NULL;
  void *p = (void *)(uintptr_t)addr;
  memset(p, 0, n * PAGE_SIZE);
  outstanding += n;
  if (phys)
    *phys = addr;
  return p;
}

void page_free(void *p, size_t n)
{
  if (p) {
    uefi_call_wrapper(uefi_st->BootServices->FreePages, 2, (EFI_PHYSICAL_ADDRESS)(uintptr_t)p, n);
    outstanding -= n;
  }
}

uint64_t virt_to_phys(const void *p) { return (uint64_t)(uintptr_t)p; }
void *phys_to_virt(uint64_t phys) { return (void *)(uintptr_t)phys; }
