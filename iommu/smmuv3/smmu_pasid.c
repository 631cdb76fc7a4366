/* SMMUv3 per-SubstreamID (aux) domains: filled in below. */
#include "iommu/smmuv3/smmu_internal.h"
