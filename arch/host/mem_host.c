/* Host pages: a simulated physical memory arena (arch/host/host_mem.h). Allocation is
 * first-fit from the bottom, so a run hands out the same physical addresses every time and
 * two runs of one configuration print the same evidence. Freed pages are poisoned: a table
 * or buffer used after its free reads as garbage (set reserved bits, present bits) rather
 * than as the old, still-plausible contents. Misuse (a pointer that is not an allocation,
 * a double free, a size that differs from the allocation's) is a bug on the host and
 * aborts with the address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/host/host_mem.h"
#include "boot/mem.h"

#define POISON 0xa5

static uint64_t arena_base = HOST_MEM_DEFAULT_BASE;
static uint64_t arena_bytes = HOST_MEM_DEFAULT_BYTES;
static uint8_t *arena;          /* host mapping of physical [arena_base, +arena_bytes) */
static uint64_t *used;          /* one bit per page */
static uint32_t *run_len;       /* at the first page of an allocation: its page count */
static size_t n_pages;
static unsigned in_use;

static _Noreturn void die(const char *what, uint64_t a, size_t n)
{
  fprintf(stderr, "arch_host memory: %s (0x%llx, %zu page(s))\n", what, (unsigned long long)a, n);
  abort();
}

int host_mem_configure(uint64_t base, uint64_t bytes)
{
  if (arena != NULL || (base & (PAGE_SIZE - 1)) || (bytes & (PAGE_SIZE - 1)) || bytes == 0 ||
      base == 0 || base + bytes < base)
    return -1;
  arena_base = base;
  arena_bytes = bytes;
  return 0;
}

static void arena_init(void)
{
  if (arena != NULL)
    return;
  /* Reserved, not committed: untouched pages cost nothing. */
  void *p = mmap(NULL, arena_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED)
    die("cannot reserve the arena", arena_base, (size_t)(arena_bytes / PAGE_SIZE));
  arena = p;
  n_pages = arena_bytes / PAGE_SIZE;
  used = calloc((n_pages + 63) / 64, sizeof(*used));
  run_len = calloc(n_pages, sizeof(*run_len));
  if (!used || !run_len)
    die("no host memory for the page map", arena_base, n_pages);
}

uint64_t host_mem_base(void) { return arena_base; }
uint64_t host_mem_size(void) { return arena_bytes; }
unsigned host_mem_pages_in_use(void) { return in_use; }
uint64_t page_alloc_outstanding(void) { return in_use; }

static bool page_used(size_t i) { return (used[i / 64] >> (i % 64)) & 1; }
static void mark(size_t i, bool on)
{
  if (on)
    used[i / 64] |= 1ull << (i % 64);
  else
    used[i / 64] &= ~(1ull << (i % 64));
}

void *page_alloc(size_t n, uint64_t max_phys, uint64_t *phys)
{
  arena_init();
  if (n == 0 || n > n_pages || max_phys < arena_base)
    return NULL;
  /* Highest page index whose run still ends at or below max_phys. */
  uint64_t limit_pages = (max_phys - arena_base + 1) / PAGE_SIZE;
  if (max_phys - arena_base >= arena_bytes)
    limit_pages = n_pages;
  for (size_t start = 0; start + n <= limit_pages;) {
    if (used[start / 64] == ~0ull && start % 64 == 0) {
      start += 64;
      continue;
    }
    size_t k = 0;
    while (k < n && !page_used(start + k))
      k++;
    if (k == n) {
      for (size_t i = 0; i < n; i++)
        mark(start + i, true);
      run_len[start] = (uint32_t)n;
      in_use += (unsigned)n;
      uint8_t *p = arena + start * PAGE_SIZE;
      memset(p, 0, n * PAGE_SIZE);
      if (phys)
        *phys = arena_base + start * PAGE_SIZE;
      return p;
    }
    start += k + 1;
  }
  return NULL;
}

void page_free(void *p, size_t n)
{
  if (p == NULL)
    return;
  arena_init();
  uint8_t *b = p;
  if (b < arena || b >= arena + arena_bytes || (size_t)(b - arena) % PAGE_SIZE)
    die("page_free of a pointer that page_alloc did not return", (uint64_t)(uintptr_t)p, n);
  size_t start = (size_t)(b - arena) / PAGE_SIZE;
  if (!page_used(start) || run_len[start] == 0)
    die("page_free of pages that are not allocated (double free?)", arena_base + start * PAGE_SIZE, n);
  if (run_len[start] != n)
    die("page_free with a size other than the allocation's", arena_base + start * PAGE_SIZE, n);
  memset(b, POISON, n * PAGE_SIZE);
  for (size_t i = 0; i < n; i++)
    mark(start + i, false);
  run_len[start] = 0;
  in_use -= (unsigned)n;
}

uint64_t virt_to_phys(const void *p)
{
  arena_init();
  const uint8_t *b = p;
  if (b < arena || b >= arena + arena_bytes)
    die("virt_to_phys of a pointer outside simulated memory", (uint64_t)(uintptr_t)p, 0);
  return arena_base + (uint64_t)(b - arena);
}

void *phys_to_virt(uint64_t phys)
{
  arena_init();
  if (phys < arena_base || phys - arena_base >= arena_bytes)
    return NULL;
  return arena + (phys - arena_base);
}

void *host_mem_map(uint64_t phys, size_t len)
{
  arena_init();
  if (phys < arena_base || phys - arena_base >= arena_bytes || len > arena_bytes - (phys - arena_base))
    return NULL;
  return arena + (phys - arena_base);
}

int model_mem_read(uint64_t phys, void *buf, size_t len)
{
  const void *p = host_mem_map(phys, len);
  if (p == NULL)
    return -1;
  memcpy(buf, p, len);
  return 0;
}

int model_mem_write(uint64_t phys, const void *buf, size_t len)
{
  void *p = host_mem_map(phys, len);
  if (p == NULL)
    return -1;
  memcpy(p, buf, len);
  return 0;
}

int model_mem_read64(uint64_t phys, uint64_t *val) { return model_mem_read(phys, val, 8); }
int model_mem_write64(uint64_t phys, uint64_t val) { return model_mem_write(phys, &val, 8); }
