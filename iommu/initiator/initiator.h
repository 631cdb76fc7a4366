/* DMA initiators behind one interface: QEMU's edu device and NVMe controllers on the firmware,
 * the model DMA engine on the host. Transfers move data between memory (at an IOVA, through
 * the IOMMU) and the initiator's own buffer. */
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
  INITIATOR_EFATAL = -204,      /* the device stopped with a fatal status (NVMe CSTS.CFS=1) */
  INITIATOR_EBUSY = -205,       /* platform firmware still drives it, or it holds the boot image */
  INITIATOR_ECMD = -206,        /* the device refused a setup or transfer command (status named
                                 * in last_status) */
  INITIATOR_ENOTREADY = -207,   /* own structures not mapped yet (set_own_iova never called) */
  INITIATOR_ENOTSUP = -208,     /* the device cannot do this direction (last_status says why);
                                 * scenarios skip naming it */
};

/* What the device itself reported about a transfer. */
enum initiator_outcome {
  INITIATOR_OUTCOME_UNREPORTED = 0, /* the device reports nothing per transfer (edu) */
  INITIATOR_OUTCOME_DONE,           /* completed successfully */
  INITIATOR_OUTCOME_FAILED,         /* the device says its DMA failed (NVMe Data Transfer Error) */
  INITIATOR_OUTCOME_MISMATCH,       /* a comparing read found other bytes (NVMe Compare Failure) */
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

  /* Fixed device buffer (NVMe: the first max_len bytes of the LBAs it reads, as read when it
   * started). dma_write copies it to memory; dma_read cannot load it and compares memory
   * against it instead: last_outcome MISMATCH when they differ. NULL when dma_read loads the
   * buffer (edu, model engine). */
  const uint8_t *fixed_buffer;
  /* Memory the device reaches by DMA for every command (NVMe: its queues, PRP lists, Identify
   * data): own_pages pages at own_phys. The scenario maps it in the device's domain, read and
   * write, at an IOVA it chooses (the physical address under pass-through) and calls
   * set_own_iova before the first transfer; transfers fail INITIATOR_ENOTREADY until then.
   * 0 pages: nothing to map (edu, model engine). */
  uint64_t own_phys;
  unsigned own_pages;
  int (*set_own_iova)(struct dma_initiator *ini, uint64_t iova);
  /* The device's own account of the last transfer (unreported for edu) and how many
   * transfers since open it reported failed or mismatching. */
  enum initiator_outcome last_outcome;
  char last_status[160];
  unsigned n_failed, n_mismatch;
};

/* True for a vendor:device some initiator implementation drives (edu, the model engine):
 * discovery lists initiators by asking this. */
bool initiator_is_known(uint16_t vendor, uint16_t device);
/* True for an NVMe I/O controller (class code 01h/08h/02h). */
bool initiator_is_nvme(uint32_t class_rev);
/* "edu", "nvme", "model-engine" or "?" for the device discovery picked. */
const char *initiator_kind_name(const struct pci_dev *d);

/* Opens the n-th initiator the platform found (edu on the firmware). addr_bits_hint is what
 * the lab configured for the device (0 = its default). */
int initiator_open(struct platform *plat, unsigned index, unsigned addr_bits_hint,
                   struct dma_initiator *out);

#endif
