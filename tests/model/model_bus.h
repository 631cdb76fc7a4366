/* What the host models exchange: a memory request as it leaves a PCI function towards the
 * root complex (requester ID, optional PASID TLP prefix, address, length, direction), and the
 * answer the function gets. Requests never cross a 4 KiB boundary (PCIe 6.0 2.2.7). */
#ifndef TESTS_MODEL_BUS_H
#define TESTS_MODEL_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct model_dma_req {
  uint16_t sid;             /* requester ID: bus << 8 | dev << 3 | fn */
  bool has_pasid;           /* PASID TLP prefix present */
  uint32_t pasid;
  bool priv;                /* Privileged Mode Requested (with a PASID prefix only) */
  uint64_t addr;
  uint32_t len;
  bool write;
};

enum model_dma_result {
  MODEL_DMA_OK = 0,
  MODEL_DMA_BLOCKED = 1,    /* the IOMMU blocked it: Unsupported Request / Completer Abort */
  MODEL_DMA_MEMERR = 2,     /* the (translated) address decodes to no memory */
};

/* The upstream port a function issues requests to. data is the payload of a write, or
 * receives the completion data of a read. */
struct model_bus {
  enum model_dma_result (*dma)(void *ctx, const struct model_dma_req *req, void *data);
  void *ctx;
};

#endif
