/* IOMMU core: driver selection, probing, error names. */
#include "iommu/iommu.h"

#include <string.h>

const char *iommu_strerror(int err)
{
  switch (err) {
  case IOMMU_OK: return "ok";
  case IOMMU_ETIMEDOUT: return "IOMMU_ETIMEDOUT";
  case IOMMU_ENODEV: return "IOMMU_ENODEV";
  case IOMMU_EBADREG: return "IOMMU_EBADREG";
  case IOMMU_EUNSUPPORTED: return "IOMMU_EUNSUPPORTED";
  case IOMMU_ENOMEM: return "IOMMU_ENOMEM";
  default: return "IOMMU_E?";
  }
}

const char *iommu_kind_name(enum iommu_kind kind)
{
  switch (kind) {
  case IOMMU_KIND_VTD: return "vtd";
  case IOMMU_KIND_AMD: return "amd";
  case IOMMU_KIND_SMMUV3: return "smmuv3";
  }
  return "?";
}

const struct iommu_ops *iommu_ops_for(enum iommu_kind kind)
{
  switch (kind) {
  case IOMMU_KIND_VTD: return &vtd_ops;
  case IOMMU_KIND_AMD: return &amd_ops;
  case IOMMU_KIND_SMMUV3: return &smmuv3_ops;
  }
  return NULL;
}

void iommu_probe_all(struct platform *plat)
{
  for (unsigned i = 0; i < plat->n_iommus; i++) {
    struct iommu_unit *u = &plat->iommus[i];
    u->ops = iommu_ops_for(u->kind);
    u->probe_err = u->ops->probe(u);
    u->probed = true;
  }
}
