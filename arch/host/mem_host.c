/* Host pages for unit tests: aligned heap memory whose "physical" address is its pointer.
 * (The functional models of issue 7 replace this with an arena that has its own physical
 * address space.) */
#include <stdlib.h>
#include <string.h>

#include "boot/mem.h"

void *page_alloc(size_t n, uint64_t max_phys, uint64_t *phys)
{
  void *p = aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);
  if (p == NULL)
    return NULL;
  if ((uint64_t)(uintptr_t)p + n * PAGE_SIZE - 1 > max_phys) {
    free(p);
    return NULL;
  }
  memset(p, 0, n * PAGE_SIZE);
  if (phys)
    *phys = (uint64_t)(uintptr_t)p;
  return p;
}

void page_free(void *p, size_t n)
{
  (void)n;
  free(p);
}

uint64_t virt_to_phys(const void *p) { return (uint64_t)(uintptr_t)p; }
void *phys_to_virt(uint64_t phys) { return (void *)(uintptr_t)phys; }
