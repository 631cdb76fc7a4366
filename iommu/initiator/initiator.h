/* DMA initiators behind one interface: QEMU's edu device on the firmware, the model DMA
 * engine on the host; room for real engines. Transfers move data between memory (at an IOVA,
 * through the IOMMU) and the initiator's own buffer. */
#ifndef IOMMU_INITIATOR_H
#define IOMMU_INITIATOR_H

#include <stdbool.h>
#include <stdint.h>
#include "boot/platform.h"

enum initiator_err {
  INITIATOR_ETIMEDOUT = -200,   /* the device never reported completion */
  INITIATOR_ENODEV = -201,      /* BAR unassigned / identity register wrong */
  INITIATOR_ERANGE = -202,      /* length or address beyond what the device can issue */
  INITIATOR_ENOPASID = -203,    /* PASID-tagged DMA asked of a device that cannot */
};
const char *initiator_strerror(int err);

struct dma_initiator {
  const char *name;
  const struct pci_dev *dev;
  uint16_t segment, rid;
  uint32_t max_len;          /* longest single transfer */
  unsigned addr_bits;        /* addresses the device can emit */
  bool pasid_capable;
  /* memory at iova -> device buffer */
  int (*dma_read)(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len);
  /* device buffer -> memory at iova */
  int (*dma_write)(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len);
  void (*release)(struct dma_initiator *ini);  /* restores the device's config state */
  void (*driver_release)(struct dma_initiator *ini); /* the implementation's release */
  void *priv;
};

/* True for a vendor:device some initiator implementation drives (edu, the model engine):
 * discovery lists initiators by asking this. */
bool initiator_is_known(uint16_t vendor, uint16_t device);

/* Opens the n-th initiator the platform found (edu on the firmware). addr_bits_hint is what
 * the lab configured for the device (0 = its default). */
int initiator_open(struct platform *plat, unsigned index, unsigned addr_bits_hint,
                   struct dma_initiator *out);

#endif
