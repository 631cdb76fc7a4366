/* AMD-Vi per-PASID (aux) domains: filled in below. */
#include "iommu/amd/amd_internal.h"
