/* DMA initiators behind one interface: pick the implementation by PCI ID. */
#include "iommu/initiator/initiator_impl.h"

const char *initiator_strerror(int err)
{
  switch (err) {
  case INITIATOR_ETIMEDOUT: return "INITIATOR_ETIMEDOUT";
  case INITIATOR_ENODEV: return "INITIATOR_ENODEV";
  case INITIATOR_ERANGE: return "INITIATOR_ERANGE";
  case INITIATOR_ENOPASID: return "INITIATOR_ENOPASID";
  default: return "INITIATOR_E?";
  }
}

bool initiator_is_known(uint16_t vendor, uint16_t device)
{
  return (vendor == EDU_PCI_VENDOR && device == EDU_PCI_DEVICE) ||
         (vendor == MODEL_ENGINE_PCI_VENDOR && device == MODEL_ENGINE_PCI_DEVICE);
}

int initiator_open(struct platform *plat, unsigned index, unsigned addr_bits_hint,
                   struct dma_initiator *out)
{
  if (index >= plat->n_initiators)
    return INITIATOR_ENODEV;
  const struct pci_dev *d = &plat->pci.devs[plat->initiators[index]];
  if (d->vendor == EDU_PCI_VENDOR && d->device == EDU_PCI_DEVICE)
    return edu_open(plat, d, addr_bits_hint, out);
  if (d->vendor == MODEL_ENGINE_PCI_VENDOR && d->device == MODEL_ENGINE_PCI_DEVICE)
    return model_engine_open(plat, d, addr_bits_hint, out);
  return INITIATOR_ENODEV;
}
