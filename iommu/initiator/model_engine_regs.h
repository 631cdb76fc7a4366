/* "bareiommu model DMA engine" (PCI 1b36:0bad): the register map of the host model's DMA
 * initiator, i.e. its datasheet. tests/model/dma_engine.c implements the device,
 * iommu/initiator/model_engine.c drives it. The function has a PCI Express capability and a
 * PASID extended capability (PCIe 6.0 7.8.8): a transfer is tagged with a PASID only when
 * PASID Enable is set in that capability, as on real hardware.
 *
 * BAR0 (64-bit memory, 4 KiB), 32-bit registers unless noted:
 *   0x00 ID          RO  MODEL_ENGINE_ID
 *   0x04 SCRATCH     RW  liveness check
 *   0x08 BUF_SIZE    RO  bytes in the engine's own data buffer
 *   0x0c MAX_LEN     RO  longest single transfer
 *   0x10 IOVA        RW  64-bit bus address of the memory side
 *   0x18 BUF_OFF     RW  offset in the engine buffer
 *   0x1c LEN         RW  bytes to move (1..MAX_LEN)
 *   0x20 PASID       RW  bit 31 tagged, bit 30 privileged (PR), 19:0 PASID value
 *   0x24 CMD         W: bit 0 GO, bit 1 TO_MEM (buffer -> memory; else memory -> buffer)
 *                    R: bit 0 BUSY
 *   0x28 STATUS      RO  result of the last transfer (MODEL_ENGINE_ST_*)
 *   0x2c DONE_BYTES  RO  bytes moved before the transfer ended
 *   0x30 ERR_IOVA    RO  64-bit address of the request that failed
 *   0x38 COUNT       RO  transfers started since reset
 * Requests never cross a 4 KiB boundary (PCIe 6.0 2.2.7); the engine stops at the first
 * request that is not completed successfully. */
#ifndef IOMMU_MODEL_ENGINE_REGS_H
#define IOMMU_MODEL_ENGINE_REGS_H

#define MODEL_ENGINE_ID 0x31454d42u /* "BME1" */
#define MODEL_ENGINE_BAR_SIZE 0x1000u

#define ME_REG_ID 0x00
#define ME_REG_SCRATCH 0x04
#define ME_REG_BUF_SIZE 0x08
#define ME_REG_MAX_LEN 0x0c
#define ME_REG_IOVA 0x10
#define ME_REG_BUF_OFF 0x18
#define ME_REG_LEN 0x1c
#define ME_REG_PASID 0x20
#define ME_REG_CMD 0x24
#define ME_REG_STATUS 0x28
#define ME_REG_DONE_BYTES 0x2c
#define ME_REG_ERR_IOVA 0x30
#define ME_REG_COUNT 0x38

#define ME_PASID_TAGGED (1u << 31)
#define ME_PASID_PRIV (1u << 30)
#define ME_PASID_VALUE_MASK 0xfffffu
#define ME_CMD_GO (1u << 0)
#define ME_CMD_TO_MEM (1u << 1)
#define ME_CMD_BUSY (1u << 0)

enum model_engine_status {
  MODEL_ENGINE_ST_IDLE = 0,     /* nothing run since reset */
  MODEL_ENGINE_ST_DONE = 1,     /* every request completed */
  MODEL_ENGINE_ST_BLOCKED = 2,  /* a request was answered Unsupported Request / Completer Abort
                                 * (the IOMMU blocked it) */
  MODEL_ENGINE_ST_MEMERR = 3,   /* the address decoded to no memory (master abort) */
  MODEL_ENGINE_ST_BADREQ = 4,   /* length/offset outside the buffer or MAX_LEN */
  MODEL_ENGINE_ST_NOBME = 5,    /* Bus Master Enable clear: nothing issued */
  MODEL_ENGINE_ST_NOPASID = 6,  /* tagged request with PASID Enable clear or PASID too wide */
};

#endif
