/* PCI configuration space model (PCIe 6.0 7.5, 7.6) behind an ECAM window. */
#include "tests/model/pci_model.h"

#include <stdio.h>
#include <string.h>

#include "arch/host/arch_host.h"

#define PCI_STATUS_CAP_LIST 0x10u

uint32_t model_pci_rd(const struct model_pci_fn *f, uint16_t off, unsigned width)
{
  uint32_t v = 0;
  for (unsigned i = 0; i < width && off + i < 4096u; i++)
    v |= (uint32_t)f->cfg[off + i] << (8 * i);
  return v;
}

void model_pci_wr_raw(struct model_pci_fn *f, uint16_t off, unsigned width, uint32_t v)
{
  for (unsigned i = 0; i < width && off + i < 4096u; i++)
    f->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

void model_pci_set_wmask(struct model_pci_fn *f, uint16_t off, unsigned width, uint32_t mask)
{
  for (unsigned i = 0; i < width && off + i < 4096u; i++)
    f->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

void model_pci_fn_init(struct model_pci_fn *f, uint8_t bus, uint8_t dev, uint8_t fn,
                       uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type)
{
  memset(f, 0, sizeof(*f));
  f->bus = bus;
  f->dev = dev;
  f->fn = fn;
  model_pci_wr_raw(f, 0x00, 2, vendor);
  model_pci_wr_raw(f, 0x02, 2, device);
  model_pci_wr_raw(f, 0x08, 4, class_code << 8 | 0x01); /* revision 1 */
  model_pci_wr_raw(f, 0x0e, 1, header_type);
  /* Command: Memory Space, Bus Master, Interrupt Disable are writable (7.5.1.1.3). */
  model_pci_set_wmask(f, 0x04, 2, 0x0406);
  if (header_type == 1) /* primary, secondary, subordinate bus numbers (7.5.1.3.2-4) */
    model_pci_set_wmask(f, 0x18, 3, 0xffffff);
}

void model_pci_fn_bar64(struct model_pci_fn *f, unsigned bar, uint64_t base, uint64_t size)
{
  uint16_t off = (uint16_t)(0x10 + 4 * bar);
  model_pci_wr_raw(f, off, 4, (uint32_t)(base & ~0xfull) | 0x4); /* memory, 64-bit */
  model_pci_wr_raw(f, (uint16_t)(off + 4), 4, (uint32_t)(base >> 32));
  /* Size is discovered by writing all ones: address bits below the size are read-only 0. */
  uint64_t mask = ~(size - 1);
  model_pci_set_wmask(f, off, 4, (uint32_t)mask & ~0xfu);
  model_pci_set_wmask(f, (uint16_t)(off + 4), 4, (uint32_t)(mask >> 32));
}

uint8_t model_pci_fn_cap(struct model_pci_fn *f, uint8_t id, const uint8_t *body, unsigned body_len)
{
  /* Place after the last capability (first at 0x40), dword aligned. */
  uint8_t off = 0x40, last = 0;
  if (f->cfg[0x06] & PCI_STATUS_CAP_LIST) {
    uint8_t p = f->cfg[0x34];
    while (p) {
      last = p;
      p = f->cfg[p + 1];
    }
    off = (uint8_t)((last + 2 + 16 + 3) & ~3); /* generous: 16 bytes per earlier capability */
  }
  f->cfg[off] = id;
  f->cfg[off + 1] = 0;
  memcpy(&f->cfg[off + 2], body, body_len);
  if (last)
    f->cfg[last + 1] = off;
  else
    f->cfg[0x34] = off;
  f->cfg[0x06] |= PCI_STATUS_CAP_LIST;
  return off;
}

uint16_t model_pci_fn_ext_cap(struct model_pci_fn *f, uint16_t id, uint8_t version,
                              const uint8_t *body, unsigned body_len)
{
  uint16_t off = 0x100, last = 0;
  uint32_t hdr = model_pci_rd(f, off, 4);
  while (hdr != 0) {
    last = off;
    uint16_t next = (uint16_t)(hdr >> 20);
    if (next == 0) {
      off = (uint16_t)((last + 4 + 32 + 3) & ~3u);
      break;
    }
    off = next;
    hdr = model_pci_rd(f, off, 4);
  }
  model_pci_wr_raw(f, off, 4, id | (uint32_t)(version & 0xf) << 16);
  memcpy(&f->cfg[off + 4], body, body_len);
  if (last)
    model_pci_wr_raw(f, last, 4, (model_pci_rd(f, last, 4) & 0x000fffffu) | (uint32_t)off << 20);
  return off;
}

int model_pci_add(struct model_pci *pci, struct model_pci_fn *f)
{
  if (pci->n == MODEL_PCI_MAX_FNS)
    return -1;
  pci->fns[pci->n++] = f;
  return 0;
}

static struct model_pci_fn *find(struct model_pci *pci, uint64_t off)
{
  uint8_t bus = (uint8_t)(off >> 20), dev = (off >> 15) & 0x1f, fn = (off >> 12) & 7;
  for (unsigned i = 0; i < pci->n; i++)
    if (pci->fns[i]->bus == bus && pci->fns[i]->dev == dev && pci->fns[i]->fn == fn)
      return pci->fns[i];
  return NULL;
}

static uint64_t ecam_read(void *ctx, uint64_t off, unsigned width)
{
  struct model_pci_fn *f = find(ctx, off);
  uint16_t reg = off & 0xfff;
  if (f == NULL || width > 4 || (reg & (width - 1)))
    return width >= 8 ? ~0ull : (1ull << (8 * width)) - 1; /* master abort: all ones */
  return model_pci_rd(f, reg, width);
}

static void ecam_write(void *ctx, uint64_t off, unsigned width, uint64_t val)
{
  struct model_pci_fn *f = find(ctx, off);
  uint16_t reg = off & 0xfff;
  if (f == NULL || width > 4 || (reg & (width - 1)))
    return; /* dropped like a write to nothing */
  for (unsigned i = 0; i < width; i++) {
    uint8_t b = (uint8_t)(val >> (8 * i)), old = f->cfg[reg + i];
    uint8_t keep = (uint8_t)(old & ~f->wmask[reg + i]);
    old = (uint8_t)(keep | (b & f->wmask[reg + i]));
    old = (uint8_t)(old & ~(b & f->w1c[reg + i]));
    f->cfg[reg + i] = old;
  }
}

int model_pci_register(struct model_pci *pci)
{
  struct host_mmio_region r = {
    .base = pci->ecam_base, .size = ((uint64_t)pci->end_bus + 1) << 20,
    .read = ecam_read, .write = ecam_write, .ctx = pci,
  };
  return host_mmio_register(&r);
}
