/* Named errors of every IOMMU layer (core, drivers, page-table engine): negative codes. */
#ifndef IOMMU_IOMMU_ERR_H
#define IOMMU_IOMMU_ERR_H

enum iommu_err {
  IOMMU_OK = 0,
  IOMMU_ETIMEDOUT = -100,   /* hardware did not complete within its timeout */
  IOMMU_ENODEV = -101,      /* register window reads as nothing (all ones / zero ID) */
  IOMMU_EBADREG = -102,     /* a register holds a value the spec forbids */
  IOMMU_EUNSUPPORTED = -103,
  IOMMU_ENOMEM = -104,
  IOMMU_EBUSY = -105,       /* firmware left the unit in use (translation already on) */
  IOMMU_EEXIST = -106,      /* a mapping is already there */
  IOMMU_ERANGE = -107,      /* address / size outside what the tables translate */
  IOMMU_ENOENT = -108,      /* nothing mapped / attached there */
  IOMMU_EINVAL = -109,      /* a request the API forbids: unaligned, empty, wrong domain type */
  IOMMU_EGROUP = -110,      /* one device of a group with other requester IDs: attach the group */
};
const char *iommu_strerror(int err);

#endif
