/* Register field tables: name, bit range and an optional meaning, so capability registers
 * are decoded field by field from one place per driver. */
#ifndef IOMMU_REGFIELD_H
#define IOMMU_REGFIELD_H

#include <stddef.h>
#include <stdint.h>
#include "iommu/iommu.h"

struct regfield {
  const char *name;
  uint8_t msb, lsb;
  /* Writes a short meaning of value v into buf; NULL when the raw value says it all. */
  void (*meaning)(uint64_t v, char *buf, size_t len);
};

static inline uint64_t regfield_get(uint64_t reg, uint8_t msb, uint8_t lsb)
{
  uint64_t mask = msb - lsb == 63 ? ~0ull : ((1ull << (msb - lsb + 1)) - 1);
  return (reg >> lsb) & mask;
}
#define REG_FIELD(reg, msb, lsb) regfield_get((reg), (msb), (lsb))
#define REG_BIT(reg, bit) regfield_get((reg), (bit), (bit))

/* One line for the register ("CAP = 0x...") then one per field
 * ("  CAP.SAGAW [12:8] = 0x2  39-bit 3-level"). */
void regfield_describe(const char *reg_name, uint64_t value, const struct regfield *fields,
                       size_t n_fields, iommu_line_fn line, void *ctx);

#endif
