/* Arm SMMUv3 register offsets and ID fields (Arm IHI 0070 SMMUv3 architecture, 6.3). */
#ifndef IOMMU_SMMU_REGS_H
#define IOMMU_SMMU_REGS_H

#define SMMU_IDR0 0x00
#define SMMU_IDR1 0x04
#define SMMU_IDR2 0x08
#define SMMU_IDR3 0x0c
#define SMMU_IDR4 0x10
#define SMMU_IDR5 0x14
#define SMMU_IIDR 0x18
#define SMMU_AIDR 0x1c
#define SMMU_CR0 0x20
#define SMMU_CR0ACK 0x24

#define SMMU_IDR0_S2P(r) REG_BIT(r, 0)
#define SMMU_IDR0_S1P(r) REG_BIT(r, 1)
#define SMMU_IDR0_TTF(r) REG_FIELD(r, 3, 2)
#define SMMU_IDR0_ST_LEVEL(r) REG_FIELD(r, 28, 27)
#define SMMU_IDR1_SIDSIZE(r) REG_FIELD(r, 5, 0)
#define SMMU_IDR1_SSIDSIZE(r) REG_FIELD(r, 10, 6)
#define SMMU_IDR5_OAS(r) REG_FIELD(r, 2, 0)
#define SMMU_IDR5_GRANULES(r) REG_FIELD(r, 6, 4)
#define SMMU_AIDR_MAJOR(r) REG_FIELD(r, 7, 4)
#define SMMU_AIDR_MINOR(r) REG_FIELD(r, 3, 0)

#endif
