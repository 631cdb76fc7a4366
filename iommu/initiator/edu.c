/* QEMU's edu device (PCI 1234:11e8) as a DMA initiator. BAR0 registers: 0x00 ID, 0x04
 * liveness (reads back the complement), 0x80 source, 0x88 destination, 0x90 count,
 * 0x98 command (bit 0 run, bit 1 direction: 1 = device buffer -> RAM). The device buffer
 * is device address 0x40000, 4 KiB. QEMU 7.2 aborts on a 4096-byte (or 0-byte) transfer, so
 * 4095 is the limit; addresses are masked by the device's dma_mask (default 28 bits). */
#include <stdlib.h>

#include "arch/arch.h"
#include "iommu/initiator/initiator_impl.h"
#include "iommu/iommu.h"

#define EDU_REG_ID 0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_CMD_RUN 0x1u
#define EDU_CMD_TO_RAM 0x2u
#define EDU_BUFFER 0x40000u
#define EDU_MAX_LEN 4095u
#define EDU_DEFAULT_ADDR_BITS 28
/* A transfer completes on a 100 ms virtual-clock timer; 2 s covers a slow TCG host. */
#define EDU_DMA_TIMEOUT_US 2000000u

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2u
#define PCI_COMMAND_MASTER 0x4u

struct edu {
  struct platform *plat;
  uint64_t bar;
  uint32_t saved_command;
};

static bool dma_idle(void *ctx)
{
  const struct edu *e = ctx;
  return (mmio_read32(e->bar + EDU_REG_DMA_CMD) & EDU_CMD_RUN) == 0;
}

static int edu_transfer(struct dma_initiator *ini, uint32_t pasid, uint64_t src, uint64_t dst,
                        uint32_t len, uint32_t cmd, uint64_t iova)
{
  struct edu *e = ini->priv;
  if (pasid != IOMMU_NO_PASID)
    return INITIATOR_ENOPASID;
  if (len == 0 || len > ini->max_len)
    return INITIATOR_ERANGE;
  if (ini->addr_bits < 64 && (iova >> ini->addr_bits) != 0)
    return INITIATOR_ERANGE; /* the device would silently mask it: refuse instead */
  if (!dma_idle(e) && !arch_poll(dma_idle, e, EDU_DMA_TIMEOUT_US))
    return INITIATOR_ETIMEDOUT;
  mmio_write64(e->bar + EDU_REG_DMA_SRC, src);
  mmio_write64(e->bar + EDU_REG_DMA_DST, dst);
  mmio_write64(e->bar + EDU_REG_DMA_COUNT, len);
  arch_mb();
  mmio_write64(e->bar + EDU_REG_DMA_CMD, cmd | EDU_CMD_RUN);
  if (!arch_poll(dma_idle, e, EDU_DMA_TIMEOUT_US))
    return INITIATOR_ETIMEDOUT;
  arch_mb();
  return 0;
}

static int edu_dma_read(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  return edu_transfer(ini, pasid, iova, EDU_BUFFER, len, 0, iova);
}

static int edu_dma_write(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  return edu_transfer(ini, pasid, EDU_BUFFER, iova, len, EDU_CMD_TO_RAM, iova);
}

static uint32_t cfg_read(const struct edu *e, const struct pci_dev *d, uint16_t off)
{
  return e->plat->cfg.read32(e->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off);
}

static void cfg_write(const struct edu *e, const struct pci_dev *d, uint16_t off, uint32_t v)
{
  e->plat->cfg.write32(e->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off, v);
}

static void edu_release(struct dma_initiator *ini)
{
  struct edu *e = ini->priv;
  if (e == NULL)
    return;
  /* Command register back to what firmware left (bus mastering off again). */
  uint32_t now = cfg_read(e, ini->dev, PCI_COMMAND);
  cfg_write(e, ini->dev, PCI_COMMAND, (now & 0xffff0000u) | (e->saved_command & 0xffffu));
  free(e);
  ini->priv = NULL;
}

int edu_open(struct platform *plat, const struct pci_dev *d, unsigned addr_bits_hint,
             struct dma_initiator *out)
{
  struct edu *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return INITIATOR_ENODEV;
  e->plat = plat;
  uint32_t bar_lo = cfg_read(e, d, 0x10);
  e->bar = bar_lo & ~0xfull;
  if ((bar_lo & 0x6) == 0x4) /* 64-bit memory BAR */
    e->bar |= (uint64_t)cfg_read(e, d, 0x14) << 32;
  if ((bar_lo & 1) || e->bar == 0) {
    free(e);
    return INITIATOR_ENODEV;
  }
  e->saved_command = cfg_read(e, d, PCI_COMMAND);
  cfg_write(e, d, PCI_COMMAND,
            (e->saved_command & 0xffffu) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  /* Identity: major.minor in the top bytes, 0xed in the low byte; liveness inverts. */
  uint32_t id = mmio_read32(e->bar + EDU_REG_ID);
  mmio_write32(e->bar + EDU_REG_LIVENESS, 0x5a5aa5a5u);
  uint32_t live = mmio_read32(e->bar + EDU_REG_LIVENESS);
  if ((id & 0xff) != 0xed || live != ~0x5a5aa5a5u) {
    cfg_write(e, d, PCI_COMMAND, e->saved_command);
    free(e);
    return INITIATOR_ENODEV;
  }
  *out = (struct dma_initiator){
    .name = "edu", .dev = d, .segment = d->segment, .rid = pci_rid(d),
    .max_len = EDU_MAX_LEN,
    .addr_bits = addr_bits_hint ? addr_bits_hint : EDU_DEFAULT_ADDR_BITS,
    .pasid_capable = false,
    .dma_read = edu_dma_read, .dma_write = edu_dma_write, .release = edu_release, .priv = e,
  };
  return 0;
}
