/* AMD-Vi register offsets, fields and in-memory formats (AMD I/O Virtualization Technology
 * (IOMMU) Specification 48882 rev 3.08: 3.4 MMIO registers, 2.2.2 device table entry,
 * 2.2.3 I/O page tables, 2.4 commands, 2.5 event log). */
#ifndef IOMMU_AMD_REGS_H
#define IOMMU_AMD_REGS_H

/* ---- MMIO registers (3.4) ---- */
#define AMD_MMIO_DEVTAB_BASE 0x0000  /* [51:12] base, [8:0] size in 4 KiB pages - 1 */
#define AMD_MMIO_CMDBUF_BASE 0x0008  /* [51:12] base, [59:56] ComLen (2^n entries) */
#define AMD_MMIO_EVTLOG_BASE 0x0010  /* [51:12] base, [59:56] EventLen (2^n entries) */
#define AMD_MMIO_CONTROL 0x0018
#define AMD_MMIO_EXCL_BASE 0x0020    /* [0] ExEn, [1] Allow, [51:12] base */
#define AMD_MMIO_EXCL_LIMIT 0x0028
#define AMD_MMIO_EFR 0x0030          /* IOMMU Extended Feature Register */
#define AMD_MMIO_EFR2 0x01a0         /* Extended Feature 2 Register */
#define AMD_MMIO_CMD_HEAD 0x2000     /* [18:4] byte offset */
#define AMD_MMIO_CMD_TAIL 0x2008
#define AMD_MMIO_EVT_HEAD 0x2010
#define AMD_MMIO_EVT_TAIL 0x2018
#define AMD_MMIO_STATUS 0x2020

#define AMD_BASE_ADDR_MASK 0x000ffffffffff000ull
#define AMD_DEVTAB_SIZE_MASK 0x1ffull
#define AMD_LEN_SHIFT 56             /* ComLen / EventLen */
#define AMD_RING_PTR_MASK 0x7fff0ull /* head/tail [18:4] */

/* Control register (3.4.4) */
#define AMD_CTRL_IOMMU_EN (1ull << 0)
#define AMD_CTRL_HT_TUN_EN (1ull << 1)
#define AMD_CTRL_EVT_LOG_EN (1ull << 2)
#define AMD_CTRL_EVT_INT_EN (1ull << 3)
#define AMD_CTRL_COMWAIT_INT_EN (1ull << 4)
#define AMD_CTRL_INV_TIMEOUT_SHIFT 5 /* [7:5] */
#define AMD_CTRL_PASS_PW (1ull << 8)
#define AMD_CTRL_RES_PASS_PW (1ull << 9)
#define AMD_CTRL_COHERENT (1ull << 10)
#define AMD_CTRL_ISOC (1ull << 11)
#define AMD_CTRL_CMDBUF_EN (1ull << 12)
#define AMD_CTRL_PPR_LOG_EN (1ull << 13)
#define AMD_CTRL_PPR_INT_EN (1ull << 14)
#define AMD_CTRL_PPR_EN (1ull << 15)
#define AMD_CTRL_GT_EN (1ull << 16)
#define AMD_CTRL_GA_EN (1ull << 17)
/* Everything the driver turns on, and everything that must be off while it owns the unit. */
#define AMD_CTRL_DRIVER_BITS (AMD_CTRL_IOMMU_EN | AMD_CTRL_EVT_LOG_EN | AMD_CTRL_EVT_INT_EN | \
                              AMD_CTRL_COMWAIT_INT_EN | AMD_CTRL_CMDBUF_EN | AMD_CTRL_PPR_LOG_EN | \
                              AMD_CTRL_PPR_INT_EN | AMD_CTRL_PPR_EN | AMD_CTRL_GT_EN | AMD_CTRL_COHERENT)

/* Status register (3.4.13): [2:0], [6:5], [10:9] RW1C; run bits read-only. */
#define AMD_STS_EVT_OVERFLOW (1ull << 0)
#define AMD_STS_EVT_LOG_INT (1ull << 1)
#define AMD_STS_COMWAIT_INT (1ull << 2)
#define AMD_STS_EVT_LOG_RUN (1ull << 3)
#define AMD_STS_CMDBUF_RUN (1ull << 4)
#define AMD_STS_PPR_OVERFLOW (1ull << 5)
#define AMD_STS_PPR_INT (1ull << 6)
#define AMD_STS_PPR_LOG_RUN (1ull << 7)
#define AMD_STS_W1C (AMD_STS_EVT_OVERFLOW | AMD_STS_EVT_LOG_INT | AMD_STS_COMWAIT_INT | \
                     AMD_STS_PPR_OVERFLOW | AMD_STS_PPR_INT)

/* EFR (3.4.12) fields the driver acts on */
#define AMD_EFR_PREFSUP(e) REG_BIT(e, 0)
#define AMD_EFR_GTSUP(e) REG_BIT(e, 4)
#define AMD_EFR_IASUP(e) REG_BIT(e, 6)   /* INVALIDATE_IOMMU_ALL */
#define AMD_EFR_HESUP(e) REG_BIT(e, 8)
#define AMD_EFR_HATS(e) REG_FIELD(e, 11, 10)
#define AMD_EFR_GATS(e) REG_FIELD(e, 13, 12)
#define AMD_EFR_GLXSUP(e) REG_FIELD(e, 15, 14)
#define AMD_EFR_PASMAX(e) REG_FIELD(e, 36, 32)
#define AMD_EFR_HASUP(e) REG_BIT(e, 49)
#define AMD_EFR_HDSUP(e) REG_BIT(e, 52)

/* IOMMU capability block in the IOMMU's own PCI function (3.2.1), at IVHD CapabilityOffset. */
#define AMD_PCI_CAP_ID 0x0f          /* "Secure Device" capability ID */
#define AMD_PCI_CAP_TYPE_IOMMU 3     /* CapType [18:16] */
#define AMD_PCI_CAP_BASE_LO 0x04     /* [31:14] base address, [0] enable */
#define AMD_PCI_CAP_BASE_HI 0x08

/* ---- Device table entry (2.2.2.1): 256 bits, four qwords ---- */
#define AMD_DTE_V (1ull << 0)
#define AMD_DTE_TV (1ull << 1)
#define AMD_DTE_HAD_SHIFT 7          /* [8:7] 01b Access, 11b Access + Dirty updates */
#define AMD_DTE_HAD_MASK (3ull << 7)
#define AMD_DTE_HAD_DIRTY (3ull << 7)
#define AMD_DTE_MODE_SHIFT 9         /* [11:9] paging mode: 0 = no translation, 1..6 levels */
#define AMD_DTE_MODE_MASK (7ull << 9)
#define AMD_DTE_ROOT_MASK AMD_BASE_ADDR_MASK
#define AMD_DTE_PPR (1ull << 52)
#define AMD_DTE_GPRP (1ull << 53)
#define AMD_DTE_GIOV (1ull << 54)
#define AMD_DTE_GV (1ull << 55)
#define AMD_DTE_GLX_SHIFT 56         /* [57:56] */
#define AMD_DTE_GCR3_LO_SHIFT 58     /* [60:58] = GCR3 root [14:12] */
#define AMD_DTE_IR (1ull << 61)
#define AMD_DTE_IW (1ull << 62)
#define AMD_DTE_RSVD_BITS 0x800000000000007cull /* [6:2] and 63 */
/* qword 1 */
#define AMD_DTE1_DOMID_MASK 0xffffull
#define AMD_DTE1_GCR3_MID_SHIFT 16   /* [31:16] = GCR3 root [30:15] */
#define AMD_DTE1_IOTLB (1ull << 32)
#define AMD_DTE1_SE (1ull << 33)     /* suppress I/O page fault events */
#define AMD_DTE1_SA (1ull << 34)     /* suppress all I/O page fault events */
#define AMD_DTE1_SYSMGT_SHIFT 40     /* [41:40] */
#define AMD_DTE1_GCR3_HI_SHIFT 43    /* [63:43] = GCR3 root [51:31] */
/* qword 2: interrupt remapping; IV = 0 forwards interrupts unmapped */
#define AMD_DTE2_IV (1ull << 0)
#define AMD_DTE2_INIT_PASS (1ull << 56)
#define AMD_DTE2_EINT_PASS (1ull << 57)
#define AMD_DTE2_NMI_PASS (1ull << 58)
#define AMD_DTE2_LINT0_PASS (1ull << 62)
#define AMD_DTE2_LINT1_PASS (1ull << 63)
/* IVHD device entry DTE setting byte (5.2.2.2, Table 90) */
#define AMD_IVHD_SET_INIT_PASS 0x01u
#define AMD_IVHD_SET_EINT_PASS 0x02u
#define AMD_IVHD_SET_NMI_PASS 0x04u
#define AMD_IVHD_SET_SYSMGT_SHIFT 4  /* [5:4] */
#define AMD_IVHD_SET_LINT0_PASS 0x40u
#define AMD_IVHD_SET_LINT1_PASS 0x80u

/* ---- v1 host page table entries (2.2.3) ---- */
#define AMD_PTE_PR (1ull << 0)
#define AMD_PTE_A (1ull << 5)
#define AMD_PTE_D (1ull << 6)
#define AMD_PTE_NL_SHIFT 9           /* [11:9] next level; 0 = leaf of the level's size, 7 = size in the address */
#define AMD_PTE_NL_MASK (7ull << 9)
#define AMD_PTE_ADDR_MASK AMD_BASE_ADDR_MASK
#define AMD_PTE_U (1ull << 59)
#define AMD_PTE_FC (1ull << 60)      /* force coherent */
#define AMD_PTE_IR (1ull << 61)
#define AMD_PTE_IW (1ull << 62)
#define AMD_PTE_NL_LARGE 7u

/* ---- v2 (guest) tables: GCR3 table entries and x86-64 long-mode PTEs (2.2.6) ---- */
#define AMD_GCR3_GV (1ull << 0)
#define AMD_V2_P (1ull << 0)
#define AMD_V2_RW (1ull << 1)
#define AMD_V2_US (1ull << 2)
#define AMD_V2_A (1ull << 5)
#define AMD_V2_D (1ull << 6)
#define AMD_V2_PS (1ull << 7)
#define AMD_V2_NX (1ull << 63)

/* ---- Commands (2.4): 128 bits, opcode in [63:60] of the first qword ---- */
#define AMD_CMD_OPCODE_SHIFT 60
#define AMD_CMD_COMPLETION_WAIT 0x1ull
#define AMD_CMD_INV_DEVTAB_ENTRY 0x2ull
#define AMD_CMD_INV_IOMMU_PAGES 0x3ull
#define AMD_CMD_INV_IOTLB_PAGES 0x4ull
#define AMD_CMD_INV_INTR_TABLE 0x5ull
#define AMD_CMD_PREFETCH_PAGES 0x6ull
#define AMD_CMD_COMPLETE_PPR 0x7ull
#define AMD_CMD_INV_IOMMU_ALL 0x8ull
#define AMD_CMD_CW_S (1ull << 0)     /* store data to the address */
#define AMD_CMD_CW_I (1ull << 1)     /* completion interrupt */
#define AMD_CMD_CW_F (1ull << 2)     /* flush queue */
#define AMD_CMD_CW_ADDR_MASK 0x000ffffffffffff8ull
#define AMD_CMD_INV_S (1ull << 0)    /* size: the lowest clear address bit >= 12 gives the range */
#define AMD_CMD_INV_PDE (1ull << 1)  /* also page directory entries */
#define AMD_CMD_INV_GN (1ull << 2)   /* guest (PASID) translation */
#define AMD_CMD_INV_ALL_ADDR 0x7ffffffffffff000ull /* with S: every page of the domain */

/* ---- Event log entries (2.5): 128 bits ---- */
#define AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY 0x1u
#define AMD_EVT_IO_PAGE_FAULT 0x2u
#define AMD_EVT_DEV_TAB_HW_ERROR 0x3u
#define AMD_EVT_PAGE_TAB_HW_ERROR 0x4u
#define AMD_EVT_ILLEGAL_COMMAND 0x5u
#define AMD_EVT_COMMAND_HW_ERROR 0x6u
#define AMD_EVT_IOTLB_INV_TIMEOUT 0x7u
#define AMD_EVT_INVALID_DEVICE_REQUEST 0x8u
#define AMD_EVT_INVALID_PPR_REQUEST 0x9u
#define AMD_EVT_EVENT_COUNTER_ZERO 0xau
#define AMD_EVT_GUEST_EVENT_FAULT 0xbu
#define AMD_EVT_RMP_HW_ERROR 0xcu
#define AMD_EVT_RMP_PAGE_FAULT 0xdu
/* Flags [27:16] of the second dword, as bit numbers of the flags field */
#define AMD_EVF_GN (1u << 0)
#define AMD_EVF_NX (1u << 1)
#define AMD_EVF_US (1u << 2)
#define AMD_EVF_I (1u << 3)          /* interrupt request */
#define AMD_EVF_PR (1u << 4)         /* the page was present */
#define AMD_EVF_RW (1u << 5)         /* write */
#define AMD_EVF_PE (1u << 6)         /* permission violation */
#define AMD_EVF_RZ (1u << 7)         /* reserved bit / bad encoding */
#define AMD_EVF_TR (1u << 8)         /* translation request */

#endif
