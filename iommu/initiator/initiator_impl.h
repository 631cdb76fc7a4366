/* What initiator.c needs from each initiator implementation: its PCI identity and an open
 * function. Not for scenarios (they use initiator.h). */
#ifndef IOMMU_INITIATOR_IMPL_H
#define IOMMU_INITIATOR_IMPL_H

#include "iommu/initiator/initiator.h"

/* QEMU's edu device. */
#define EDU_PCI_VENDOR 0x1234
#define EDU_PCI_DEVICE 0x11e8
/* The host model's DMA engine (iommu/initiator/model_engine_regs.h). */
#define MODEL_ENGINE_PCI_VENDOR 0x1b36
#define MODEL_ENGINE_PCI_DEVICE 0x0bad

/* NVM Express I/O controllers: mass storage, non-volatile memory, NVMe interface. */
#define NVME_PCI_CLASS 0x010802u

int nvme_open(struct platform *plat, const struct pci_dev *d, struct dma_initiator *out);
int edu_open(struct platform *plat, const struct pci_dev *d, unsigned addr_bits_hint,
             struct dma_initiator *out);
int model_engine_open(struct platform *plat, const struct pci_dev *d, unsigned addr_bits_hint,
                      struct dma_initiator *out);

/* The model engine's status after the last transfer (MODEL_ENGINE_ST_*), the address of
 * the request that failed and the bytes moved; INITIATOR_ENODEV for another initiator. */
int model_engine_last(const struct dma_initiator *ini, uint32_t *status, uint64_t *err_iova,
                      uint32_t *done_bytes);


#endif
