/* AArch64: MMIO by volatile access to Device memory, dsb, dc civac, CNTVCT. */
#include "arch/arch.h"

#include "arch/mmio_direct.h"

void arch_mb(void) { __asm__ volatile("dsb sy" ::: "memory"); }

void arch_cache_flush(const void *p, size_t len)
{
  uint64_t ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
  size_t line = (size_t)4 << ((ctr >> 16) & 0xf); /* CTR_EL0.DminLine, words */
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)(line - 1);
  for (; a < (uintptr_t)p + len; a += line)
    __asm__ volatile("dc civac, %0" ::"r"(a) : "memory");
  __asm__ volatile("dsb sy" ::: "memory");
}

static uint64_t cnt_start, cnt_freq = 1;

static inline uint64_t cntvct(void)
{
  uint64_t v;
  __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
}

void arch_init(void (*stall_us)(unsigned us))
{
  (void)stall_us; /* CNTFRQ_EL0 is architectural */
  __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(cnt_freq));
  if (cnt_freq == 0)
    cnt_freq = 1000000;
  cnt_start = cntvct();
}

uint64_t arch_time_us(void) { return (cntvct() - cnt_start) * 1000000 / cnt_freq; }

/* Semihosting SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit (0x20026) and a code.
 * Only called when the run was configured for QEMU: without a debugger this traps. */
void arch_exit_qemu(int failed)
{
  static volatile uint64_t block[2];
  block[0] = 0x20026;
  block[1] = failed ? 1 : 0;
  register uint64_t x0 __asm__("x0") = 0x18;
  register uint64_t x1 __asm__("x1") = (uint64_t)(uintptr_t)block;
  __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
}

const char *arch_name(void) { return "aarch64"; }
