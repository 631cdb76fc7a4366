/* A model NVMe controller for the host build (PCI 1b36:0bae, class 01h/08h/02h): the NVMe
 * Base Specification 2.0 registers, the admin commands Identify, Set Features (Number of
 * Queues) and Create I/O SQ/CQ, and the NVM commands Read and Compare on a read-only medium
 * holding a fixed pattern. Written from the specification, independently of the driver
 * (iommu/initiator/nvme.c): it shares no decoding code with it. */
#ifndef TESTS_MODEL_NVME_MODEL_H
#define TESTS_MODEL_NVME_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/model/model_bus.h"
#include "tests/model/pci_model.h"

#define NVME_MODEL_BAR_SIZE 0x4000u

struct nvme_model_params {
  uint8_t bus, dev, fn;
  uint64_t bar;
  uint32_t media_bytes;      /* namespace 1: media_bytes / 512 LBAs of 512 bytes */
  bool compare;              /* Identify Controller ONCS bit 0 */
};

struct nvme_model;
struct nvme_model *nvme_model_create(const struct nvme_model_params *p, struct model_bus upstream);
void nvme_model_destroy(struct nvme_model *m);
struct model_pci_fn *nvme_model_pci(struct nvme_model *m);
int nvme_model_register(struct nvme_model *m);
uint16_t nvme_model_rid(const struct nvme_model *m);

#endif
