/* x86_64: MMIO by volatile access (UEFI maps MMIO uncached), mfence, clflush, TSC. */
#include "arch/arch.h"

#include "arch/mmio_direct.h"

void arch_mb(void) { __asm__ volatile("mfence" ::: "memory"); }

void arch_cache_flush(const void *p, size_t len)
{
  const size_t line = 64; /* CPUID.1:EBX[15:8]*8 is 64 on every x86_64 part shipped */
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)(line - 1);
  for (; a < (uintptr_t)p + len; a += line)
    __asm__ volatile("clflush (%0)" ::"r"(a) : "memory");
  arch_mb();
}

static inline uint64_t rdtsc(void)
{
  uint32_t lo, hi;
  __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t)hi << 32 | lo;
}

static uint64_t tsc_start, tsc_per_us = 1000;

void arch_init(void (*stall_us)(unsigned us))
{
  /* Calibrate against the firmware's Stall (10 ms). Under TCG the TSC is virtual but
   * monotonic, which is all the timeouts need. */
  uint64_t t0 = rdtsc();
  if (stall_us)
    stall_us(10000);
  uint64_t per_us = (rdtsc() - t0) / 10000;
  tsc_per_us = per_us ? per_us : 1000;
  tsc_start = rdtsc();
}

uint64_t arch_time_us(void) { return (rdtsc() - tsc_start) / tsc_per_us; }

static inline void outb(uint16_t port, uint8_t v)
{
  __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

/* QEMU isa-debug-exit at iobase 0xf4: QEMU exits with (v << 1) | 1. */
void arch_exit_qemu(int failed) { outb(0xf4, failed ? 1 : 0); }

const char *arch_name(void) { return "x86_64"; }
