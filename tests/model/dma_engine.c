/* Model DMA engine (see dma_engine.h). A transfer runs to completion when CMD.GO is written:
 * it is split into requests that do not cross a 4 KiB boundary (PCIe 6.0 2.2.7) and stops at
 * the first request that is not completed, recording where. The function decodes its BAR
 * only with Memory Space Enable set and issues requests only with Bus Master Enable set
 * (PCIe 6.0 7.5.1.1.3); a PASID prefix only with PASID Enable set (7.8.8.3). */
#include "tests/model/dma_engine.h"

#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"
#include "iommu/initiator/model_engine_regs.h"

#define PCI_COMMAND_MEMORY 0x2u
#define PCI_COMMAND_MASTER 0x4u

struct dma_engine {
  struct dma_engine_params p;
  struct model_bus up;
  struct model_pci_fn pci;
  uint16_t pasid_cap;
  uint8_t *buf;
  uint32_t scratch, buf_off, len, pasid_reg, status, done, count;
  uint64_t iova, err_iova;
};

static uint16_t command(const struct dma_engine *e) { return (uint16_t)model_pci_rd(&e->pci, 0x04, 2); }

static bool decoding(const struct dma_engine *e)
{
  uint64_t bar = (model_pci_rd(&e->pci, 0x10, 4) & ~0xfull) | (uint64_t)model_pci_rd(&e->pci, 0x14, 4) << 32;
  return (command(e) & PCI_COMMAND_MEMORY) && bar == e->p.bar;
}

static void run(struct dma_engine *e, bool to_mem)
{
  e->count++;
  e->done = 0;
  e->err_iova = 0;
  bool tagged = e->pasid_reg & ME_PASID_TAGGED;
  uint32_t pasid = e->pasid_reg & ME_PASID_VALUE_MASK;
  if (!(command(e) & PCI_COMMAND_MASTER)) {
    e->status = MODEL_ENGINE_ST_NOBME;
    return;
  }
  if (e->len == 0 || e->len > e->p.max_len || e->buf_off > e->p.buf_size ||
      e->len > e->p.buf_size - e->buf_off) {
    e->status = MODEL_ENGINE_ST_BADREQ;
    return;
  }
  if (tagged) {
    uint16_t ctl = e->pasid_cap ? (uint16_t)model_pci_rd(&e->pci, (uint16_t)(e->pasid_cap + 6), 2) : 0;
    bool priv_ok = !(e->pasid_reg & ME_PASID_PRIV) || (ctl & 0x4);
    if (!(ctl & 1) || !priv_ok || (uint64_t)pasid >= (1ull << e->p.pasid_width)) {
      e->status = MODEL_ENGINE_ST_NOPASID;
      return;
    }
  }
  uint64_t addr = e->iova;
  uint32_t left = e->len, off = e->buf_off;
  while (left) {
    uint32_t chunk = 0x1000u - (uint32_t)(addr & 0xfff);
    if (chunk > left)
      chunk = left;
    struct model_dma_req req = {
      .sid = dma_engine_rid(e), .has_pasid = tagged, .pasid = tagged ? pasid : 0,
      .priv = tagged && (e->pasid_reg & ME_PASID_PRIV), .addr = addr, .len = chunk, .write = to_mem,
    };
    enum model_dma_result r = e->up.dma(e->up.ctx, &req, e->buf + off);
    if (r != MODEL_DMA_OK) {
      e->status = r == MODEL_DMA_BLOCKED ? MODEL_ENGINE_ST_BLOCKED : MODEL_ENGINE_ST_MEMERR;
      e->err_iova = addr;
      return;
    }
    e->done += chunk;
    addr += chunk;
    off += chunk;
    left -= chunk;
  }
  e->status = MODEL_ENGINE_ST_DONE;
}

static uint64_t rd32(struct dma_engine *e, unsigned off)
{
  switch (off) {
  case ME_REG_ID: return MODEL_ENGINE_ID;
  case ME_REG_SCRATCH: return e->scratch;
  case ME_REG_BUF_SIZE: return e->p.buf_size;
  case ME_REG_MAX_LEN: return e->p.max_len;
  case ME_REG_IOVA: return (uint32_t)e->iova;
  case ME_REG_IOVA + 4: return (uint32_t)(e->iova >> 32);
  case ME_REG_BUF_OFF: return e->buf_off;
  case ME_REG_LEN: return e->len;
  case ME_REG_PASID: return e->pasid_reg;
  case ME_REG_CMD: return 0; /* never busy: transfers complete within the CMD write */
  case ME_REG_STATUS: return e->status;
  case ME_REG_DONE_BYTES: return e->done;
  case ME_REG_ERR_IOVA: return (uint32_t)e->err_iova;
  case ME_REG_ERR_IOVA + 4: return (uint32_t)(e->err_iova >> 32);
  case ME_REG_COUNT: return e->count;
  default: return 0;
  }
}

static void wr32(struct dma_engine *e, unsigned off, uint32_t v)
{
  switch (off) {
  case ME_REG_SCRATCH: e->scratch = v; break;
  case ME_REG_IOVA: e->iova = (e->iova & ~0xffffffffull) | v; break;
  case ME_REG_IOVA + 4: e->iova = (e->iova & 0xffffffffull) | (uint64_t)v << 32; break;
  case ME_REG_BUF_OFF: e->buf_off = v; break;
  case ME_REG_LEN: e->len = v; break;
  case ME_REG_PASID: e->pasid_reg = v & (ME_PASID_TAGGED | ME_PASID_PRIV | ME_PASID_VALUE_MASK); break;
  case ME_REG_CMD:
    if (v & ME_CMD_GO)
      run(e, v & ME_CMD_TO_MEM);
    break;
  default: break; /* read-only */
  }
}

static uint64_t bar_read(void *ctx, uint64_t off, unsigned width)
{
  struct dma_engine *e = ctx;
  if (!decoding(e) || (width != 4 && width != 8) || (off & (width - 1)))
    return width >= 8 ? ~0ull : (1ull << (8 * width)) - 1;
  uint64_t v = rd32(e, (unsigned)off);
  if (width == 8)
    v |= rd32(e, (unsigned)off + 4) << 32;
  return v;
}

static void bar_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  struct dma_engine *e = ctx;
  if (!decoding(e) || (width != 4 && width != 8) || (off & (width - 1)))
    return;
  if (width == 8) { /* low dword first: CMD is never the low half of a qword write here */
    wr32(e, (unsigned)off, (uint32_t)v);
    wr32(e, (unsigned)off + 4, (uint32_t)(v >> 32));
  } else {
    wr32(e, (unsigned)off, (uint32_t)v);
  }
}

struct dma_engine *dma_engine_create(const struct dma_engine_params *p, struct model_bus upstream)
{
  struct dma_engine *e = calloc(1, sizeof(*e));
  if (e == NULL)
    return NULL;
  e->p = *p;
  e->up = upstream;
  e->buf = calloc(1, p->buf_size);
  if (e->buf == NULL) {
    free(e);
    return NULL;
  }
  struct model_pci_fn *f = &e->pci;
  model_pci_fn_init(f, p->bus, p->dev, p->fn, 0x1b36, 0x0bad, 0xff0000, 0);
  model_pci_fn_bar64(f, 0, p->bar, MODEL_ENGINE_BAR_SIZE);
  /* PCI Express capability (7.5.3): version 2, endpoint. */
  uint8_t pcie[58] = { 0x02, 0x00 };
  model_pci_fn_cap(f, 0x10, pcie, sizeof(pcie));
  if (p->pasid_width) {
    /* PASID extended capability (7.8.8): capability 15:0, control 31:16 at +4. */
    uint8_t body[4] = { (uint8_t)(p->pasid_priv ? 0x04 : 0x00), (uint8_t)(p->pasid_width & 0x1f), 0, 0 };
    e->pasid_cap = model_pci_fn_ext_cap(f, 0x001b, 1, body, sizeof(body));
    /* PASID Enable, and Privileged Mode Enable when supported, are writable. */
    model_pci_set_wmask(f, (uint16_t)(e->pasid_cap + 6), 2, p->pasid_priv ? 0x5 : 0x1);
  }
  return e;
}

void dma_engine_destroy(struct dma_engine *e)
{
  if (e == NULL)
    return;
  free(e->buf);
  free(e);
}

struct model_pci_fn *dma_engine_pci(struct dma_engine *e) { return &e->pci; }
uint8_t *dma_engine_buffer(struct dma_engine *e) { return e->buf; }
uint16_t dma_engine_rid(const struct dma_engine *e)
{
  return (uint16_t)(e->p.bus << 8 | e->p.dev << 3 | e->p.fn);
}

int dma_engine_register(struct dma_engine *e)
{
  struct host_mmio_region r = { e->p.bar, MODEL_ENGINE_BAR_SIZE, bar_read, bar_write, e };
  return host_mmio_register(&r);
}
