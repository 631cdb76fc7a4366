/* Arm SMMUv3 register offsets and fields, in-memory structure formats (STE, CD, L1
 * descriptors, VMSAv8-64 translation table descriptors), commands and event records.
 * Section numbers: Arm IHI 0070 (SMMUv3 architecture); descriptor formats: Arm ARM D8
 * (VMSAv8-64). */
#ifndef IOMMU_SMMU_REGS_H
#define IOMMU_SMMU_REGS_H

/* ---- Registers, page 0 (6.3) ---- */
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
#define SMMU_CR1 0x28
#define SMMU_CR2 0x2c
#define SMMU_STATUSR 0x40
#define SMMU_GBPA 0x44
#define SMMU_IRQ_CTRL 0x50
#define SMMU_IRQ_CTRLACK 0x54
#define SMMU_GERROR 0x60
#define SMMU_GERRORN 0x64
#define SMMU_GERROR_IRQ_CFG0 0x68
#define SMMU_STRTAB_BASE 0x80
#define SMMU_STRTAB_BASE_CFG 0x88
#define SMMU_CMDQ_BASE 0x90
#define SMMU_CMDQ_PROD 0x98
#define SMMU_CMDQ_CONS 0x9c
#define SMMU_EVENTQ_BASE 0xa0
/* Page 1 (the second 64 KiB page of the register file) */
#define SMMU_EVENTQ_PROD 0x100a8
#define SMMU_EVENTQ_CONS 0x100ac

/* IDR0 (6.3.1) */
#define SMMU_IDR0_S2P(r) REG_BIT(r, 0)
#define SMMU_IDR0_S1P(r) REG_BIT(r, 1)
#define SMMU_IDR0_TTF(r) REG_FIELD(r, 3, 2)     /* bit 0 AArch32 LPAE, bit 1 AArch64 */
#define SMMU_IDR0_COHACC(r) REG_BIT(r, 4)
#define SMMU_IDR0_BTM(r) REG_BIT(r, 5)
#define SMMU_IDR0_HTTU(r) REG_FIELD(r, 7, 6)
#define SMMU_IDR0_HYP(r) REG_BIT(r, 9)
#define SMMU_IDR0_ATS(r) REG_BIT(r, 10)
#define SMMU_IDR0_ASID16(r) REG_BIT(r, 12)
#define SMMU_IDR0_MSI(r) REG_BIT(r, 13)
#define SMMU_IDR0_SEV(r) REG_BIT(r, 14)
#define SMMU_IDR0_PRI(r) REG_BIT(r, 16)
#define SMMU_IDR0_VMID16(r) REG_BIT(r, 18)
#define SMMU_IDR0_CD2L(r) REG_BIT(r, 19)
#define SMMU_IDR0_TTENDIAN(r) REG_FIELD(r, 22, 21)
#define SMMU_IDR0_STALL_MODEL(r) REG_FIELD(r, 25, 24)
#define SMMU_IDR0_TERM_MODEL(r) REG_BIT(r, 26)
#define SMMU_IDR0_ST_LEVEL(r) REG_FIELD(r, 28, 27)
/* IDR1 (6.3.2) */
#define SMMU_IDR1_SIDSIZE(r) REG_FIELD(r, 5, 0)
#define SMMU_IDR1_SSIDSIZE(r) REG_FIELD(r, 10, 6)
#define SMMU_IDR1_EVENTQS(r) REG_FIELD(r, 20, 16)
#define SMMU_IDR1_CMDQS(r) REG_FIELD(r, 25, 21)
#define SMMU_IDR1_QUEUES_PRESET(r) REG_BIT(r, 29)
#define SMMU_IDR1_TABLES_PRESET(r) REG_BIT(r, 30)
/* IDR3 (6.3.4) */
#define SMMU_IDR3_STT(r) REG_BIT(r, 9)
#define SMMU_IDR3_RIL(r) REG_BIT(r, 10)
/* IDR5 (6.3.6) */
#define SMMU_IDR5_OAS(r) REG_FIELD(r, 2, 0)
#define SMMU_IDR5_GRAN4K(r) REG_BIT(r, 4)
#define SMMU_IDR5_GRAN16K(r) REG_BIT(r, 5)
#define SMMU_IDR5_GRAN64K(r) REG_BIT(r, 6)
#define SMMU_IDR5_GRANULES(r) REG_FIELD(r, 6, 4)
#define SMMU_IDR5_VAX(r) REG_FIELD(r, 11, 10)
#define SMMU_AIDR_MAJOR(r) REG_FIELD(r, 7, 4)
#define SMMU_AIDR_MINOR(r) REG_FIELD(r, 3, 0)

/* CR0 / CR0ACK (6.3.9, 6.3.10) */
#define SMMU_CR0_SMMUEN (1u << 0)
#define SMMU_CR0_PRIQEN (1u << 1)
#define SMMU_CR0_EVENTQEN (1u << 2)
#define SMMU_CR0_CMDQEN (1u << 3)
#define SMMU_CR0_ATSCHK (1u << 4)
/* CR1 (6.3.11): cacheability 0 NC, 1 WB, 2 WT; shareability 0 NSH, 2 OSH, 3 ISH */
#define SMMU_CR1_QUEUE_IC_SHIFT 0
#define SMMU_CR1_QUEUE_OC_SHIFT 2
#define SMMU_CR1_QUEUE_SH_SHIFT 4
#define SMMU_CR1_TABLE_IC_SHIFT 6
#define SMMU_CR1_TABLE_OC_SHIFT 8
#define SMMU_CR1_TABLE_SH_SHIFT 10
#define SMMU_CACHE_NC 0u
#define SMMU_CACHE_WB 1u
#define SMMU_SH_NSH 0u
#define SMMU_SH_OSH 2u
#define SMMU_SH_ISH 3u
/* CR2 (6.3.12) */
#define SMMU_CR2_E2H (1u << 0)
#define SMMU_CR2_RECINVSID (1u << 1)
#define SMMU_CR2_PTM (1u << 2)
/* GBPA (6.3.14) */
#define SMMU_GBPA_UPDATE (1u << 31)
#define SMMU_GBPA_ABORT (1u << 20)
/* IRQ_CTRL (6.3.17) */
#define SMMU_IRQ_CTRL_GERROR (1u << 0)
#define SMMU_IRQ_CTRL_PRIQ (1u << 1)
#define SMMU_IRQ_CTRL_EVENTQ (1u << 2)
/* GERROR / GERRORN (6.3.19): an error is active while the two bits differ */
#define SMMU_GERROR_CMDQ_ERR (1u << 0)
#define SMMU_GERROR_EVENTQ_ABT_ERR (1u << 2)
#define SMMU_GERROR_PRIQ_ABT_ERR (1u << 3)
#define SMMU_GERROR_MSI_CMDQ_ABT_ERR (1u << 4)
#define SMMU_GERROR_MSI_EVENTQ_ABT_ERR (1u << 5)
#define SMMU_GERROR_MSI_PRIQ_ABT_ERR (1u << 6)
#define SMMU_GERROR_MSI_GERROR_ABT_ERR (1u << 7)
#define SMMU_GERROR_SFM_ERR (1u << 8)
#define SMMU_GERROR_CMDQP_ERR (1u << 9)
#define SMMU_GERROR_MASK 0x7fdu
/* STRTAB_BASE (6.3.24), STRTAB_BASE_CFG (6.3.25) */
#define SMMU_STRTAB_BASE_RA (1ull << 62)
#define SMMU_STRTAB_BASE_ADDR_MASK 0x00ffffffffffffc0ull /* [55:6] */
#define SMMU_STRTAB_CFG_LOG2SIZE(v) ((uint32_t)(v) & 0x3fu)
#define SMMU_STRTAB_CFG_SPLIT(v) (((uint32_t)(v) & 0x1fu) << 6)
#define SMMU_STRTAB_CFG_FMT_LINEAR (0u << 16)
#define SMMU_STRTAB_CFG_FMT_2LVL (1u << 16)
/* CMDQ_BASE / EVENTQ_BASE (6.3.26, 6.3.29): RA / WA hint, ADDR [55:5], LOG2SIZE [4:0] */
#define SMMU_Q_BASE_ALLOC_HINT (1ull << 62)
#define SMMU_Q_BASE_ADDR_MASK 0x00ffffffffffffe0ull
/* CMDQ_CONS (6.3.28): ERR [30:24]; EVENTQ_PROD.OVFLG / EVENTQ_CONS.OVACKFLG bit 31 */
#define SMMU_CMDQ_CONS_ERR(v) (((v) >> 24) & 0x7fu)
#define SMMU_Q_OVFLG (1u << 31)
#define SMMU_CERROR_NONE 0u
#define SMMU_CERROR_ILL 1u
#define SMMU_CERROR_ABT 2u
#define SMMU_CERROR_ATC_INV_SYNC 3u

/* ---- Stream table (5.1, 5.2) ---- */
#define SMMU_STE_DWORDS 8
#define SMMU_STE_BYTES 64u
#define SMMU_L1STD_SPAN_MASK 0x1full
#define SMMU_L1STD_L2PTR_MASK 0x00ffffffffffffc0ull /* [55:6] */
/* STE dword 0 */
#define SMMU_STE0_V (1ull << 0)
#define SMMU_STE0_CONFIG_SHIFT 1
#define SMMU_STE_CONFIG_ABORT 0u
#define SMMU_STE_CONFIG_BYPASS 4u
#define SMMU_STE_CONFIG_S1 5u
#define SMMU_STE_CONFIG_S2 6u
#define SMMU_STE_CONFIG_NESTED 7u
#define SMMU_STE0_S1FMT_SHIFT 4
#define SMMU_STE0_S1CTXPTR_MASK 0x00ffffffffffffc0ull /* [55:6] */
#define SMMU_STE0_S1CDMAX_SHIFT 59
/* STE dword 1 */
#define SMMU_STE1_S1DSS_SHIFT 0
#define SMMU_STE1_S1CIR_SHIFT 2
#define SMMU_STE1_S1COR_SHIFT 4
#define SMMU_STE1_S1CSH_SHIFT 6
#define SMMU_STE1_S1STALLD (1ull << 27)
#define SMMU_STE1_EATS_SHIFT 28
#define SMMU_STE1_STRW_SHIFT 30
#define SMMU_STE1_SHCFG_SHIFT 44
#define SMMU_STE_SHCFG_INCOMING 1ull
#define SMMU_STE_S1DSS_TERMINATE 0u
#define SMMU_STE_S1DSS_BYPASS 1u
#define SMMU_STE_S1DSS_SSID0 2u
/* STE dword 2 */
#define SMMU_STE2_S2VMID_MASK 0xffffull
#define SMMU_STE2_S2T0SZ_SHIFT 32
#define SMMU_STE2_S2SL0_SHIFT 38
#define SMMU_STE2_S2IR0_SHIFT 40
#define SMMU_STE2_S2OR0_SHIFT 42
#define SMMU_STE2_S2SH0_SHIFT 44
#define SMMU_STE2_S2TG_SHIFT 46
#define SMMU_STE2_S2PS_SHIFT 48
#define SMMU_STE2_S2AA64 (1ull << 51)
#define SMMU_STE2_S2ENDI (1ull << 52)
#define SMMU_STE2_S2AFFD (1ull << 53)
#define SMMU_STE2_S2PTW (1ull << 54)
#define SMMU_STE2_S2HD (1ull << 55)
#define SMMU_STE2_S2HA (1ull << 56)
#define SMMU_STE2_S2S (1ull << 57)
#define SMMU_STE2_S2R (1ull << 58)
/* STE dword 3 */
#define SMMU_STE3_S2TTB_MASK 0x000ffffffffffff0ull /* [51:4] */

/* ---- Context descriptors (5.3, 5.4) ---- */
#define SMMU_CD_DWORDS 8
#define SMMU_CD_BYTES 64u
#define SMMU_L1CD_V 1ull
#define SMMU_L1CD_L2PTR_MASK 0x00fffffffffff000ull /* [55:12] */
/* CD dword 0 */
#define SMMU_CD0_T0SZ_SHIFT 0
#define SMMU_CD0_TG0_SHIFT 6
#define SMMU_CD0_IR0_SHIFT 8
#define SMMU_CD0_OR0_SHIFT 10
#define SMMU_CD0_SH0_SHIFT 12
#define SMMU_CD0_EPD0 (1ull << 14)
#define SMMU_CD0_ENDI (1ull << 15)
#define SMMU_CD0_T1SZ_SHIFT 16
#define SMMU_CD0_EPD1 (1ull << 30)
#define SMMU_CD0_V (1ull << 31)
#define SMMU_CD0_IPS_SHIFT 32
#define SMMU_CD0_AFFD (1ull << 35)
#define SMMU_CD0_TBI0 (1ull << 38)
#define SMMU_CD0_AA64 (1ull << 41)
#define SMMU_CD0_HD (1ull << 42)
#define SMMU_CD0_HA (1ull << 43)
#define SMMU_CD0_S (1ull << 44)
#define SMMU_CD0_R (1ull << 45)
#define SMMU_CD0_A (1ull << 46)
#define SMMU_CD0_ASET (1ull << 47)
#define SMMU_CD0_ASID_SHIFT 48
/* CD dword 1: TTB0 [51:4] (bits 119:68 of the CD) */
#define SMMU_CD1_TTB0_MASK 0x000ffffffffffff0ull
/* TG0 encodings (5.4): 0 4K, 1 64K, 2 16K; S2TG (5.2): 0 4K, 1 64K, 2 16K */
#define SMMU_TG_4K 0u
#define SMMU_TG_64K 1u
#define SMMU_TG_16K 2u

/* ---- VMSAv8-64 translation table descriptors (Arm ARM D8.3) ---- */
#define SMMU_PTE_VALID (1ull << 0)
#define SMMU_PTE_TYPE_TABLE (1ull << 1)    /* also "page" at the last level */
#define SMMU_PTE_ATTRINDX_SHIFT 2          /* stage 1: MAIR index [4:2] */
#define SMMU_PTE_S2_MEMATTR_SHIFT 2        /* stage 2: MemAttr [5:2] */
#define SMMU_PTE_AP_UNPRIV (1ull << 6)     /* stage 1 AP[1]: EL0 access */
#define SMMU_PTE_AP_RDONLY (1ull << 7)     /* stage 1 AP[2]: read-only */
#define SMMU_PTE_S2AP_READ (1ull << 6)     /* stage 2 S2AP[0] */
#define SMMU_PTE_S2AP_WRITE (1ull << 7)    /* stage 2 S2AP[1] */
#define SMMU_PTE_SH_SHIFT 8
#define SMMU_PTE_AF (1ull << 10)
#define SMMU_PTE_NG (1ull << 11)
#define SMMU_PTE_DBM (1ull << 51)
#define SMMU_PTE_PXN (1ull << 53)
#define SMMU_PTE_UXN (1ull << 54)
#define SMMU_PTE_OA_MASK 0x0000fffffffff000ull /* 48-bit output addresses */
/* MAIR used by every CD: index 0 Normal WB RA/WA, 1 Device-nGnRE, 2 Normal NC. */
#define SMMU_MAIR_VALUE 0x4404ffull
#define SMMU_MAIR_IDX_WB 0u
#define SMMU_MAIR_IDX_NC 2u
#define SMMU_S2_MEMATTR_WB 0xfull          /* Normal, inner and outer write-back */
#define SMMU_S2_MEMATTR_NC 0x5ull          /* Normal, inner and outer non-cacheable */

/* ---- Commands (4.1 - 4.7): 16 bytes ---- */
#define SMMU_CMD_PREFETCH_CONFIG 0x01u
#define SMMU_CMD_CFGI_STE 0x03u
#define SMMU_CMD_CFGI_STE_RANGE 0x04u      /* CFGI_ALL: Range 31 */
#define SMMU_CMD_CFGI_CD 0x05u
#define SMMU_CMD_CFGI_CD_ALL 0x06u
#define SMMU_CMD_TLBI_NH_ALL 0x10u
#define SMMU_CMD_TLBI_NH_ASID 0x11u
#define SMMU_CMD_TLBI_NH_VA 0x12u
#define SMMU_CMD_TLBI_NH_VAA 0x13u
#define SMMU_CMD_TLBI_EL2_ALL 0x20u
#define SMMU_CMD_TLBI_S12_VMALL 0x28u
#define SMMU_CMD_TLBI_S2_IPA 0x2au
#define SMMU_CMD_TLBI_NSNH_ALL 0x30u
#define SMMU_CMD_SYNC 0x46u
#define SMMU_CMD_RESERVED 0x00u            /* 4.1.1: reserved opcode -> CERROR_ILL */
#define SMMU_CMD_SYNC_CS_NONE 0u
#define SMMU_CMD_SYNC_CS_IRQ 1u
#define SMMU_CMD_SYNC_CS_SEV 2u
#define SMMU_CMD_TLBI_NUM_MAX 31u
#define SMMU_CMD_TLBI_SCALE_MAX 31u

/* ---- Event records (7.3): 32 bytes ---- */
#define SMMU_EVT_F_UUT 0x01u
#define SMMU_EVT_C_BAD_STREAMID 0x02u
#define SMMU_EVT_F_STE_FETCH 0x03u
#define SMMU_EVT_C_BAD_STE 0x04u
#define SMMU_EVT_F_BAD_ATS_TREQ 0x05u
#define SMMU_EVT_F_STREAM_DISABLED 0x06u
#define SMMU_EVT_F_TRANSL_FORBIDDEN 0x07u
#define SMMU_EVT_C_BAD_SUBSTREAMID 0x08u
#define SMMU_EVT_F_CD_FETCH 0x09u
#define SMMU_EVT_C_BAD_CD 0x0au
#define SMMU_EVT_F_WALK_EABT 0x0bu
#define SMMU_EVT_F_TRANSLATION 0x10u
#define SMMU_EVT_F_ADDR_SIZE 0x11u
#define SMMU_EVT_F_ACCESS 0x12u
#define SMMU_EVT_F_PERMISSION 0x13u
#define SMMU_EVT_F_TLB_CONFLICT 0x20u
#define SMMU_EVT_F_CFG_CONFLICT 0x21u
#define SMMU_EVT_E_PAGE_REQUEST 0x24u
#define SMMU_EVT_F_VMS_FETCH 0x25u

#endif
