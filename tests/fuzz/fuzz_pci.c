/* libFuzzer target: PCI enumeration and capability walks over config space made of the
 * input bytes (two buses of functions, wrapping). Must end (no loop), never read outside
 * the config space of a function, and keep its counts within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/pci.h"

struct fuzz_cfg {
  const uint8_t *data;
  size_t size;
};

static uint32_t fuzz_read(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
  const struct fuzz_cfg *c = ctx;
  if (seg != 0 || bus > 3 || c->size < 4 || off > 0xffc)
    return 0xffffffffu;
  /* Each function sees a 4 KiB window into the input, wrapped. */
  size_t base = ((size_t)bus << 8 | (size_t)dev << 3 | fn) * 97u;
  uint32_t v = 0;
  for (unsigned i = 0; i < 4; i++)
    v |= (uint32_t)c->data[(base + off + i) % c->size] << (8 * i);
  if (off == 0 && (dev & 3) == 3)
    return 0xffffffffu; /* leave some slots empty */
  return v;
}

static void fuzz_write(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
  (void)ctx; (void)seg; (void)bus; (void)dev; (void)fn; (void)off; (void)v;
  abort(); /* enumeration must never write */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static struct pci_topology topo;
  struct fuzz_cfg c = { data, size };
  struct pci_cfg_ops ops = { fuzz_read, fuzz_write, &c };
  struct mcfg_info mcfg = { 1, { { 0xb0000000, 0, 0, 3 } } };
  int err = pci_enumerate(&topo, &mcfg, &ops);
  if (err > 0 || topo.n > PCI_MAX_DEVS)
    abort();
  for (unsigned i = 0; i < topo.n; i++)
    if (topo.devs[i].parent >= (int)topo.n)
      abort();
  return 0;
}
