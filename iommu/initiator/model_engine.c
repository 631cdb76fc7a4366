/* The host model's DMA engine (PCI 1b36:0bad, iommu/initiator/model_engine_regs.h) as a DMA
 * initiator: any length up to MAX_LEN, 64-bit addresses, PASID-tagged or untagged.
 * Like edu, a transfer moves data between memory at an IOVA and the engine's own buffer
 * (offset 0), so the scenarios run unchanged. A transfer the IOMMU blocked still completes
 * from the initiator's point of view (dma_read/dma_write return 0): the verdict on blocked
 * DMA is taken from memory and from the IOMMU's fault records, as with edu. The engine's own
 * status (blocked at which address) stays readable through model_engine_last(). */
#include <stdlib.h>

#include "arch/arch.h"
#include "iommu/initiator/initiator_impl.h"
#include "iommu/initiator/model_engine_regs.h"
#include "iommu/iommu.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2u
#define PCI_COMMAND_MASTER 0x4u
#define PASID_CTL_ENABLE 0x1u      /* PCIe 6.0 7.8.8.3: PASID Control, at cap + 6 */
#define ME_TIMEOUT_US 1000000u

struct me {
  struct platform *plat;
  uint64_t bar;
  uint32_t saved_command;
  uint16_t pasid_cap;             /* extended capability offset, 0 = none */
  uint32_t saved_pasid_dword;     /* cap + 4: capability (15:0) and control (31:16) */
  unsigned pasid_width;
  uint32_t last_status, last_done;
  uint64_t last_err_iova;
};

static uint32_t cfg_read(const struct me *e, const struct pci_dev *d, uint16_t off)
{
  return e->plat->cfg.read32(e->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off);
}

static void cfg_write(const struct me *e, const struct pci_dev *d, uint16_t off, uint32_t v)
{
  e->plat->cfg.write32(e->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off, v);
}

static bool idle(void *ctx)
{
  const struct me *e = ctx;
  return (mmio_read32(e->bar + ME_REG_CMD) & ME_CMD_BUSY) == 0;
}

static int transfer(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len, bool to_mem)
{
  struct me *e = ini->priv;
  if (len == 0 || len > ini->max_len)
    return INITIATOR_ERANGE;
  if (ini->addr_bits < 64 && (iova >> ini->addr_bits) != 0)
    return INITIATOR_ERANGE;
  if (pasid != IOMMU_NO_PASID && (!ini->pasid_capable || pasid >= (1u << e->pasid_width)))
    return INITIATOR_ENOPASID;
  if (!idle(e) && !arch_poll(idle, e, ME_TIMEOUT_US))
    return INITIATOR_ETIMEDOUT;
  mmio_write64(e->bar + ME_REG_IOVA, iova);
  mmio_write32(e->bar + ME_REG_BUF_OFF, 0);
  mmio_write32(e->bar + ME_REG_LEN, len);
  mmio_write32(e->bar + ME_REG_PASID, pasid == IOMMU_NO_PASID ? 0 : (ME_PASID_TAGGED | pasid));
  arch_mb();
  mmio_write32(e->bar + ME_REG_CMD, ME_CMD_GO | (to_mem ? ME_CMD_TO_MEM : 0));
  if (!arch_poll(idle, e, ME_TIMEOUT_US))
    return INITIATOR_ETIMEDOUT;
  arch_mb();
  e->last_status = mmio_read32(e->bar + ME_REG_STATUS);
  e->last_done = mmio_read32(e->bar + ME_REG_DONE_BYTES);
  e->last_err_iova = mmio_read64(e->bar + ME_REG_ERR_IOVA);
  switch (e->last_status) {
  case MODEL_ENGINE_ST_DONE:
  case MODEL_ENGINE_ST_BLOCKED:
    return 0;
  case MODEL_ENGINE_ST_NOPASID:
    return INITIATOR_ENOPASID;
  case MODEL_ENGINE_ST_NOBME:
    return INITIATOR_ENODEV;
  default: /* BADREQ, MEMERR (an address that decodes to no memory) */
    return INITIATOR_ERANGE;
  }
}

static int me_dma_read(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  return transfer(ini, pasid, iova, len, false);
}

static int me_dma_write(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  return transfer(ini, pasid, iova, len, true);
}

static void me_release(struct dma_initiator *ini)
{
  struct me *e = ini->priv;
  if (e == NULL)
    return;
  if (e->pasid_cap)
    cfg_write(e, ini->dev, (uint16_t)(e->pasid_cap + 4), e->saved_pasid_dword);
  uint32_t now = cfg_read(e, ini->dev, PCI_COMMAND);
  cfg_write(e, ini->dev, PCI_COMMAND, (now & 0xffff0000u) | (e->saved_command & 0xffffu));
  free(e);
  ini->priv = NULL;
}

int model_engine_last(const struct dma_initiator *ini, uint32_t *status, uint64_t *err_iova,
                      uint32_t *done_bytes)
{
  const struct me *e = ini->priv;
  if (e == NULL || (ini->release != me_release && ini->driver_release != me_release))
    return INITIATOR_ENODEV;
  *status = e->last_status;
  *err_iova = e->last_err_iova;
  *done_bytes = e->last_done;
  return 0;
}

int model_engine_open(struct platform *plat, const struct pci_dev *d, unsigned addr_bits_hint,
                      struct dma_initiator *out)
{
  struct me *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return INITIATOR_ENODEV;
  e->plat = plat;
  uint32_t bar_lo = cfg_read(e, d, 0x10);
  e->bar = bar_lo & ~0xfull;
  if ((bar_lo & 0x6) == 0x4)
    e->bar |= (uint64_t)cfg_read(e, d, 0x14) << 32;
  if ((bar_lo & 1) || e->bar == 0) {
    free(e);
    return INITIATOR_ENODEV;
  }
  e->saved_command = cfg_read(e, d, PCI_COMMAND);
  cfg_write(e, d, PCI_COMMAND, (e->saved_command & 0xffffu) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  mmio_write32(e->bar + ME_REG_SCRATCH, 0x5a5aa5a5u);
  if (mmio_read32(e->bar + ME_REG_ID) != MODEL_ENGINE_ID ||
      mmio_read32(e->bar + ME_REG_SCRATCH) != 0x5a5aa5a5u) {
    cfg_write(e, d, PCI_COMMAND, e->saved_command);
    free(e);
    return INITIATOR_ENODEV;
  }
  /* PASID-tagged requests need PASID Enable in the function's capability. */
  if (d->caps.pasid && d->caps.pasid_width) {
    e->pasid_cap = d->caps.pasid;
    e->pasid_width = d->caps.pasid_width;
    e->saved_pasid_dword = cfg_read(e, d, (uint16_t)(e->pasid_cap + 4));
    cfg_write(e, d, (uint16_t)(e->pasid_cap + 4),
              (e->saved_pasid_dword & 0xffffu) | (PASID_CTL_ENABLE << 16));
  }
  *out = (struct dma_initiator){
    .name = "model-engine", .dev = d, .segment = d->segment, .rid = pci_rid(d),
    .max_len = mmio_read32(e->bar + ME_REG_MAX_LEN),
    .addr_bits = addr_bits_hint ? addr_bits_hint : 64,
    .pasid_capable = e->pasid_cap != 0,
    .dma_read = me_dma_read, .dma_write = me_dma_write, .release = me_release, .priv = e,
  };
  return 0;
}
