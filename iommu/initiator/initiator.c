/* DMA initiators behind one interface: pick the implementation by PCI ID. */
#include "iommu/initiator/initiator_impl.h"

#include "iommu/core/group.h"

const char *initiator_strerror(int err)
{
  switch (err) {
  case INITIATOR_ETIMEDOUT: return "INITIATOR_ETIMEDOUT";
  case INITIATOR_ENODEV: return "INITIATOR_ENODEV";
  case INITIATOR_ERANGE: return "INITIATOR_ERANGE";
  case INITIATOR_ENOPASID: return "INITIATOR_ENOPASID";
  case INITIATOR_EFATAL: return "INITIATOR_EFATAL";
  case INITIATOR_EBUSY: return "INITIATOR_EBUSY";
  case INITIATOR_ECMD: return "INITIATOR_ECMD";
  case INITIATOR_ENOTREADY: return "INITIATOR_ENOTREADY";
  case INITIATOR_ENOTSUP: return "INITIATOR_ENOTSUP";
  default: return "INITIATOR_E?";
  }
}

bool initiator_is_known(uint16_t vendor, uint16_t device)
{
  return (vendor == EDU_PCI_VENDOR && device == EDU_PCI_DEVICE) ||
         (vendor == MODEL_ENGINE_PCI_VENDOR && device == MODEL_ENGINE_PCI_DEVICE);
}

bool initiator_is_nvme(uint32_t class_rev)
{
  return (class_rev >> 8) == NVME_PCI_CLASS;
}

const char *initiator_kind_name(const struct pci_dev *d)
{
  if (d->vendor == EDU_PCI_VENDOR && d->device == EDU_PCI_DEVICE)
    return "edu";
  if (d->vendor == MODEL_ENGINE_PCI_VENDOR && d->device == MODEL_ENGINE_PCI_DEVICE)
    return "model-engine";
  return initiator_is_nvme(d->class_rev) ? "nvme" : "?";
}

/* The driver lets go of the device: IOMMU group listeners hear the unbind. */
static void release_and_unbind(struct dma_initiator *ini)
{
  ini->driver_release(ini);
  iommu_group_driver_event(ini->dev, false, ini->name);
}

int initiator_open(struct platform *plat, unsigned index, unsigned addr_bits_hint,
                   struct dma_initiator *out)
{
  if (index >= plat->n_initiators)
    return INITIATOR_ENODEV;
  const struct pci_dev *d = &plat->pci.devs[plat->initiators[index]];
  int err = INITIATOR_ENODEV;
  if (d->vendor == EDU_PCI_VENDOR && d->device == EDU_PCI_DEVICE)
    err = edu_open(plat, d, addr_bits_hint, out);
  else if (d->vendor == MODEL_ENGINE_PCI_VENDOR && d->device == MODEL_ENGINE_PCI_DEVICE)
    err = model_engine_open(plat, d, addr_bits_hint, out);
  else if (initiator_is_nvme(d->class_rev))
    err = nvme_open(plat, d, out);
  if (err)
    return err;
  out->driver_release = out->release;
  out->release = release_and_unbind;
  iommu_group_driver_event(d, true, out->name);
  return 0;
}
