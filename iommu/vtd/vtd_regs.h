/* Intel VT-d register offsets, fields and in-memory structure formats.
 * Section numbers: VT-d Architecture Specification rev 5.10 (positions unchanged since 3.x;
 * 5.x renames SL/FL to SS/FS). */
#ifndef IOMMU_VTD_REGS_H
#define IOMMU_VTD_REGS_H

/* ---- Registers (11.4) ---- */
#define VTD_REG_VER 0x000
#define VTD_REG_CAP 0x008
#define VTD_REG_ECAP 0x010
#define VTD_REG_GCMD 0x018
#define VTD_REG_GSTS 0x01c
#define VTD_REG_RTADDR 0x020
#define VTD_REG_CCMD 0x028
#define VTD_REG_FSTS 0x034
#define VTD_REG_FECTL 0x038
#define VTD_REG_PMEN 0x064
#define VTD_REG_IQH 0x080
#define VTD_REG_IQT 0x088
#define VTD_REG_IQA 0x090
#define VTD_REG_ICS 0x09c
#define VTD_REG_IQERCD 0x0b0

/* CAP (11.4.2) */
#define VTD_CAP_ND(c) REG_FIELD(c, 2, 0)
#define VTD_CAP_RWBF(c) REG_BIT(c, 4)
#define VTD_CAP_CM(c) REG_BIT(c, 7)
#define VTD_CAP_SAGAW(c) REG_FIELD(c, 12, 8)
#define VTD_CAP_MGAW(c) REG_FIELD(c, 21, 16)
#define VTD_CAP_FRO(c) REG_FIELD(c, 33, 24)   /* in 16-byte units */
#define VTD_CAP_SLLPS(c) REG_FIELD(c, 37, 34) /* bit 0: 2M, bit 1: 1G */
#define VTD_CAP_PSI(c) REG_BIT(c, 39)
#define VTD_CAP_NFR(c) REG_FIELD(c, 47, 40)   /* number of fault recording registers - 1 */
#define VTD_CAP_MAMV(c) REG_FIELD(c, 53, 48)
#define VTD_CAP_FL1GP(c) REG_BIT(c, 56)
#define VTD_CAP_FL5LP(c) REG_BIT(c, 60)
#define VTD_CAP_ESRTPS(c) REG_BIT(c, 63)

/* ECAP (11.4.3) */
#define VTD_ECAP_C(e) REG_BIT(e, 0)           /* table walks snoop the CPU caches */
#define VTD_ECAP_QI(e) REG_BIT(e, 1)
#define VTD_ECAP_PT(e) REG_BIT(e, 6)
#define VTD_ECAP_IRO(e) REG_FIELD(e, 17, 8)   /* IOTLB registers offset, 16-byte units */
#define VTD_ECAP_PSS(e) REG_FIELD(e, 39, 35)  /* PASID size supported - 1 */
#define VTD_ECAP_PASID(e) REG_BIT(e, 40)
#define VTD_ECAP_SMTS(e) REG_BIT(e, 43)
#define VTD_ECAP_SSADS(e) REG_BIT(e, 45)  /* second-stage Access/Dirty (SLADS before 3.x) */
#define VTD_ECAP_SLTS(e) REG_BIT(e, 46)   /* SSTS in VT-d 5.x */
#define VTD_ECAP_FLTS(e) REG_BIT(e, 47)   /* FSTS in VT-d 5.x */
#define VTD_ECAP_SMPWCS(e) REG_BIT(e, 48) /* scalable-mode walks can snoop (PASID-entry PWSNP) */

/* GCMD / GSTS (11.4.4): same bit positions; SRTP, WBF, SIRTP are one-shot commands. */
#define VTD_GCMD_TE (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_WBF (1u << 27)
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GSTS_TES (1u << 31)
#define VTD_GSTS_RTPS (1u << 30)
#define VTD_GSTS_WBFS (1u << 27)
#define VTD_GSTS_QIES (1u << 26)
/* Status bits that are persistent controls (keep them when writing GCMD). */
#define VTD_GCMD_PERSISTENT_MASK 0x96ffffffu

/* RTADDR (11.4.5) */
#define VTD_RTADDR_TTM_SCALABLE (1ull << 10)

/* CCMD (11.4.6.1) */
#define VTD_CCMD_ICC (1ull << 63)
#define VTD_CCMD_CIRG_GLOBAL (1ull << 61)
#define VTD_CCMD_CAIG(v) REG_FIELD(v, 60, 59)

/* IOTLB registers at ECAP.IRO (11.4.6.3-4) */
#define VTD_IOTLB_IVT (1ull << 63)
#define VTD_IOTLB_IIRG_GLOBAL (1ull << 60)
#define VTD_IOTLB_IIRG_DOMAIN (2ull << 60)
#define VTD_IOTLB_IIRG_PAGE (3ull << 60)
#define VTD_IOTLB_IAIG(v) REG_FIELD(v, 58, 57)
#define VTD_IOTLB_DID(d) ((uint64_t)(d) << 32)

/* FSTS (11.4.7.1): PFO, IQE, ICE, ITE are RW1C; PPF and FRI read-only */
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)
#define VTD_FSTS_ICE (1u << 5)
#define VTD_FSTS_ITE (1u << 6)
#define VTD_FSTS_FRI(v) (((v) >> 8) & 0xffu)
#define VTD_FSTS_W1C (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)
#define VTD_FECTL_IM (1u << 31)

/* FRCD (11.4.7.6): 128 bits; fields of the high qword (bits 127:64) */
#define VTD_FRCD_HI_F (1ull << 63)
#define VTD_FRCD_HI_T1 (1ull << 62)        /* with T2: 00 write, 10 read, 11 atomic */
#define VTD_FRCD_HI_PV(h) REG_FIELD(h, 59, 40)
#define VTD_FRCD_HI_FR(h) REG_FIELD(h, 39, 32)
#define VTD_FRCD_HI_PP (1ull << 31)
#define VTD_FRCD_HI_T2 (1ull << 28)
#define VTD_FRCD_HI_SID(h) REG_FIELD(h, 15, 0)

/* IQA (11.4.9.3) */
#define VTD_IQA_DW_256 (1ull << 11)

/* ---- In-memory structures (chapter 9) ---- */
#define VTD_ROOT_P 1ull                 /* legacy P / scalable LP (low qword) */
#define VTD_ROOT_UP 1ull                /* scalable UP (high qword bit 0) */
#define VTD_CTX_P 1ull
#define VTD_CTX_FPD (1ull << 1)
#define VTD_CTX_TT_SHIFT 2              /* legacy: 00 SS only, 01 + device-TLB, 10 pass-through */
#define VTD_CTX_TT_PASSTHROUGH 2ull
#define VTD_CTX_HI_DID_SHIFT 8          /* legacy high qword: AW 2:0, DID 23:8 */
#define VTD_CTX_HI_RSVD_BIT (1ull << 63)
#define VTD_SMCTX_PDTS_SHIFT 9          /* scalable: directory has 2^(PDTS+7) entries */
#define VTD_SMCTX_RSVD_BIT (1ull << 7)
#define VTD_PASIDDIR_P 1ull
#define VTD_PASID_P 1ull
#define VTD_PASID_AW_SHIFT 2
#define VTD_PASID_PGTT_SHIFT 6
#define VTD_PASID_SSADE (1ull << 9)     /* qword 0: second-stage Access/Dirty enable (9.6) */
#define VTD_PASID_Q1_PWSNP (1ull << 23) /* qword 1: page-walk snoop (needs ECAP.SMPWCS) */
#define VTD_PGTT_FIRST_STAGE 1ull
#define VTD_PGTT_SECOND_STAGE 2ull
#define VTD_PGTT_PASSTHROUGH 4ull
#define VTD_SL_R (1ull << 0)
#define VTD_SL_W (1ull << 1)
#define VTD_SL_PS (1ull << 7)
#define VTD_SL_ADDR_MASK 0x000ffffffffff000ull
/* First-stage entries (9.7): x86-style; 63:52 ignored in 5.10 */
#define VTD_FL_P (1ull << 0)
#define VTD_FL_RW (1ull << 1)
#define VTD_FL_US (1ull << 2)
#define VTD_FL_A (1ull << 5)
#define VTD_FL_D (1ull << 6)
#define VTD_FL_PS (1ull << 7)
/* PASID entry qword 2 (9.6): SRE 128, FSPM 131:130, FSPTPTR 191:140 */
#define VTD_PASID_Q2_FLPM_SHIFT 2
#define VTD_INV_PIOTLB 0x6ull
#define VTD_INV_PIOTLB_PASID 2   /* all mappings of (DID, PASID) */
#define VTD_INV_PIOTLB_PAGE 3    /* page-selective within (DID, PASID) */

/* ---- Invalidation descriptors (6.5.2) ---- */
#define VTD_INV_CC 0x1ull
#define VTD_INV_IOTLB 0x2ull
#define VTD_INV_WAIT 0x5ull
#define VTD_INV_PASID_CACHE 0x7ull
#define VTD_INV_G(g) ((uint64_t)(g) << 4)
#define VTD_INV_DID(d) ((uint64_t)(d) << 16)
#define VTD_INV_CC_SID(s) ((uint64_t)(s) << 32)
#define VTD_INV_CC_GLOBAL 1
#define VTD_INV_CC_DEVICE 3
#define VTD_INV_IOTLB_GLOBAL 1
#define VTD_INV_IOTLB_DOMAIN 2
#define VTD_INV_IOTLB_PAGE 3
#define VTD_INV_IOTLB_DR (1ull << 7)
#define VTD_INV_IOTLB_DW (1ull << 6)
#define VTD_INV_PC_DOMAIN 0
#define VTD_INV_PC_GLOBAL 3
#define VTD_INV_WAIT_SW (1ull << 5)
#define VTD_INV_WAIT_FN (1ull << 6)
#define VTD_INV_WAIT_DATA(d) ((uint64_t)(d) << 32)

#endif
