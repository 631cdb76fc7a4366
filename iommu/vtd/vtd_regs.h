/* Intel VT-d register offsets and capability fields (VT-d Architecture Spec 4.1, 11.4). */
#ifndef IOMMU_VTD_REGS_H
#define IOMMU_VTD_REGS_H

#define VTD_REG_VER 0x00    /* 11.4.1 Version */
#define VTD_REG_CAP 0x08    /* 11.4.2 Capability */
#define VTD_REG_ECAP 0x10   /* 11.4.3 Extended Capability */
#define VTD_REG_GCMD 0x18
#define VTD_REG_GSTS 0x1c

/* CAP (11.4.2) */
#define VTD_CAP_ND(c) REG_FIELD(c, 2, 0)
#define VTD_CAP_SAGAW(c) REG_FIELD(c, 12, 8)
#define VTD_CAP_MGAW(c) REG_FIELD(c, 21, 16)
#define VTD_CAP_FRO(c) REG_FIELD(c, 33, 24)   /* in 16-byte units */
#define VTD_CAP_SLLPS(c) REG_FIELD(c, 37, 34)
#define VTD_CAP_NFR(c) REG_FIELD(c, 47, 40)   /* number of fault recording registers - 1 */

/* ECAP (11.4.3) */
#define VTD_ECAP_IRO(e) REG_FIELD(e, 17, 8)   /* IOTLB registers offset, 16-byte units */
#define VTD_ECAP_PSS(e) REG_FIELD(e, 39, 35)  /* PASID size supported - 1 */
#define VTD_ECAP_PASID(e) REG_BIT(e, 40)
#define VTD_ECAP_SMTS(e) REG_BIT(e, 43)
#define VTD_ECAP_SLTS(e) REG_BIT(e, 46)   /* SSTS in VT-d 5.x */

#endif
