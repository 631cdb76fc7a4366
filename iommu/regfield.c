#include "iommu/regfield.h"

#include <stdio.h>

void regfield_describe(const char *reg_name, uint64_t value, const struct regfield *fields,
                       size_t n_fields, iommu_line_fn line, void *ctx)
{
  char buf[160], meaning[80];
  snprintf(buf, sizeof(buf), "%s = 0x%016llx", reg_name, (unsigned long long)value);
  line(ctx, buf);
  for (size_t i = 0; i < n_fields; i++) {
    const struct regfield *f = &fields[i];
    uint64_t v = regfield_get(value, f->msb, f->lsb);
    char range[12];
    if (f->msb == f->lsb)
      snprintf(range, sizeof(range), "[%u]", f->msb);
    else
      snprintf(range, sizeof(range), "[%u:%u]", f->msb, f->lsb);
    meaning[0] = '\0';
    if (f->meaning)
      f->meaning(v, meaning, sizeof(meaning));
    snprintf(buf, sizeof(buf), "  %s.%-14s %-8s = 0x%-6llx %s", reg_name, f->name, range,
             (unsigned long long)v, meaning);
    line(ctx, buf);
  }
}
