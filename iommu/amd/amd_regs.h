/* AMD-Vi register offsets and feature fields (AMD I/O Virtualization Technology (IOMMU)
 * Specification 48882 rev 3.08, 3.4). */
#ifndef IOMMU_AMD_REGS_H
#define IOMMU_AMD_REGS_H

#define AMD_MMIO_DEVTAB_BASE 0x0000
#define AMD_MMIO_CONTROL 0x0018
#define AMD_MMIO_EFR 0x0030          /* IOMMU Extended Feature Register */
#define AMD_MMIO_STATUS 0x2020

#define AMD_EFR_GTSUP(e) REG_BIT(e, 4)
#define AMD_EFR_HATS(e) REG_FIELD(e, 11, 10)
#define AMD_EFR_PASMAX(e) REG_FIELD(e, 36, 32)

/* IOMMU capability block in the IOMMU's own PCI function (3.2.1), at IVHD CapabilityOffset. */
#define AMD_PCI_CAP_ID 0x0f          /* "Secure Device" capability ID */
#define AMD_PCI_CAP_TYPE_IOMMU 3     /* CapType [18:16] */
#define AMD_PCI_CAP_BASE_LO 0x04     /* [31:14] base address, [0] enable */
#define AMD_PCI_CAP_BASE_HI 0x08

#endif
