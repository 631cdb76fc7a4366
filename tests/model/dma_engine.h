/* The "bareiommu model DMA engine" (PCI 1b36:0bad): a PCI Express function with a PASID
 * capability that moves any length between memory at a bus address (optionally PASID-tagged)
 * and its own data buffer, through whatever upstream port the platform gives it (the IOMMU
 * model). Register map: iommu/initiator/model_engine_regs.h. No ATS. */
#ifndef TESTS_MODEL_DMA_ENGINE_H
#define TESTS_MODEL_DMA_ENGINE_H

#include <stdint.h>

#include "tests/model/model_bus.h"
#include "tests/model/pci_model.h"

struct dma_engine_params {
  uint8_t bus, dev, fn;
  uint64_t bar;              /* BAR0, assigned by the "platform firmware" */
  uint32_t buf_size;         /* bytes in the engine buffer */
  uint32_t max_len;          /* longest transfer */
  unsigned pasid_width;      /* Max PASID Width in the PASID capability; 0 = no capability */
  bool pasid_priv;           /* Privileged Mode Supported */
};

struct dma_engine;
struct dma_engine *dma_engine_create(const struct dma_engine_params *p, struct model_bus upstream);
void dma_engine_destroy(struct dma_engine *e);
struct model_pci_fn *dma_engine_pci(struct dma_engine *e);
int dma_engine_register(struct dma_engine *e);   /* BAR0 window with arch/host */
uint8_t *dma_engine_buffer(struct dma_engine *e);
uint16_t dma_engine_rid(const struct dma_engine *e);

#endif
