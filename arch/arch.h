/* The arch layer: MMIO, barriers, cache maintenance, time, exit. One implementation per
 * ARCH (arch/x86, arch/arm64, arch/host); driver code calls only these. */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint8_t mmio_read8(uint64_t addr);
uint16_t mmio_read16(uint64_t addr);
uint32_t mmio_read32(uint64_t addr);
uint64_t mmio_read64(uint64_t addr);
void mmio_write8(uint64_t addr, uint8_t val);
void mmio_write16(uint64_t addr, uint16_t val);
void mmio_write32(uint64_t addr, uint32_t val);
void mmio_write64(uint64_t addr, uint64_t val);

/* Full barrier: orders memory and MMIO both ways (mfence / dsb sy). */
void arch_mb(void);
/* Makes CPU writes to [p, p+len) visible to a non-coherent table walker. */
void arch_cache_flush(const void *p, size_t len);

/* Monotonic time since arch_init() in microseconds. */
uint64_t arch_time_us(void);
/* Calibrates the counter; stall_us is a firmware delay service used as the reference
 * on x86 (UEFI Stall), NULL where the counter frequency is architectural. */
void arch_init(void (*stall_us)(unsigned us));

/* Ends the run under QEMU with a verdict (isa-debug-exit / semihosting SYS_EXIT).
 * Returns only when the mechanism is not there. */
void arch_exit_qemu(int failed);

const char *arch_name(void);

/* Polls cond(ctx) until true or timeout_us passes; asks once more after the deadline so a
 * slow-but-done device is not misreported. Every hardware wait goes through this. */
bool arch_poll(bool (*cond)(void *ctx), void *ctx, uint64_t timeout_us);
/* Registers the firmware's way to idle the CPU until its next timer tick (NULL: spin).
 * arch_poll uses it once a wait has lasted a millisecond, so a long wait leaves the CPU
 * free and a deadline is still checked after every tick. */
void arch_poll_set_idle(void (*idle)(void));

#endif
