/* IOMMU core: the ops table every driver implements, named errors, probing. */
#ifndef IOMMU_IOMMU_H
#define IOMMU_IOMMU_H

#include <stddef.h>
#include <stdint.h>
#include "boot/platform.h"

enum iommu_err {
  IOMMU_OK = 0,
  IOMMU_ETIMEDOUT = -100,   /* hardware did not complete within its timeout */
  IOMMU_ENODEV = -101,      /* register window reads as nothing (all ones / zero ID) */
  IOMMU_EBADREG = -102,     /* a register holds a value the spec forbids */
  IOMMU_EUNSUPPORTED = -103,
  IOMMU_ENOMEM = -104,
};
const char *iommu_strerror(int err);

/* Receives one line of text (no newline) per call. */
typedef void (*iommu_line_fn)(void *ctx, const char *line);

struct iommu_ops {
  const char *name;
  /* Reads identification/capability registers (nothing is written) and fills
   * unit->pasid_bits / pasid_reason. */
  int (*probe)(struct iommu_unit *unit);
  /* Decodes every capability register field, one line each. */
  void (*describe_caps)(const struct iommu_unit *unit, iommu_line_fn line, void *ctx);
  /* Consistency of the registers with the spec and with what ACPI said; 0 or a named
   * error with the reason in why. */
  int (*check_caps)(const struct iommu_unit *unit, const struct platform *plat, char *why,
                    size_t why_len);
};

extern const struct iommu_ops vtd_ops, amd_ops, smmuv3_ops;
const struct iommu_ops *iommu_ops_for(enum iommu_kind kind);
/* Probes every unit the platform lists; a failed probe is recorded in the unit. */
void iommu_probe_all(struct platform *plat);

#endif
