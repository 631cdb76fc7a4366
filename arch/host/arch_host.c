/* Host implementation of arch/arch.h for unit tests and the model build. */
#include "arch/host/arch_host.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arch/arch.h"

#define HOST_MAX_REGIONS 16

static struct host_mmio_region regions[HOST_MAX_REGIONS];
static unsigned n_regions;

int host_mmio_register(const struct host_mmio_region *r)
{
  if (n_regions == HOST_MAX_REGIONS)
    return -1;
  regions[n_regions++] = *r;
  return 0;
}

void host_mmio_unregister_all(void) { n_regions = 0; }

static struct host_mmio_region *claim(uint64_t addr, unsigned width)
{
  for (unsigned i = 0; i < n_regions; i++)
    if (addr >= regions[i].base && addr - regions[i].base + width <= regions[i].size)
      return &regions[i];
  fprintf(stderr, "arch_host: MMIO access to unclaimed address 0x%llx (width %u)\n",
          (unsigned long long)addr, width);
  abort();
}

static uint64_t rd(uint64_t a, unsigned w)
{
  struct host_mmio_region *r = claim(a, w);
  return r->read(r->ctx, a - r->base, w);
}

static void wr(uint64_t a, unsigned w, uint64_t v)
{
  struct host_mmio_region *r = claim(a, w);
  r->write(r->ctx, a - r->base, w, v);
}

uint8_t mmio_read8(uint64_t a) { return (uint8_t)rd(a, 1); }
uint16_t mmio_read16(uint64_t a) { return (uint16_t)rd(a, 2); }
uint32_t mmio_read32(uint64_t a) { return (uint32_t)rd(a, 4); }
uint64_t mmio_read64(uint64_t a) { return rd(a, 8); }
void mmio_write8(uint64_t a, uint8_t v) { wr(a, 1, v); }
void mmio_write16(uint64_t a, uint16_t v) { wr(a, 2, v); }
void mmio_write32(uint64_t a, uint32_t v) { wr(a, 4, v); }
void mmio_write64(uint64_t a, uint64_t v) { wr(a, 8, v); }

void arch_mb(void) { atomic_thread_fence(memory_order_seq_cst); }
void arch_cache_flush(const void *p, size_t len)
{
  (void)p;
  (void)len;
  atomic_thread_fence(memory_order_seq_cst); /* the models read host memory coherently */
}

static uint64_t start_us;

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void arch_init(void (*stall_us)(unsigned us))
{
  (void)stall_us;
  start_us = now_us();
}

uint64_t arch_time_us(void) { return now_us() - start_us; }
void arch_exit_qemu(int failed) { (void)failed; }
const char *arch_name(void) { return "host"; }
