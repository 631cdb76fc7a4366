/* PCI configuration space for the host models: functions with 4 KiB of config space each,
 * per-byte write masks (read-only and RW1C bits behave as on hardware), reached through an
 * ECAM window (PCIe 6.0 7.2.2) registered as an MMIO region. Absent functions read all ones. */
#ifndef TESTS_MODEL_PCI_MODEL_H
#define TESTS_MODEL_PCI_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define MODEL_PCI_MAX_FNS 16

struct model_pci_fn {
  uint8_t bus, dev, fn;
  uint8_t cfg[4096];
  uint8_t wmask[4096];     /* bits software may write */
  uint8_t w1c[4096];       /* bits software clears by writing 1 */
};

struct model_pci {
  uint64_t ecam_base;
  uint8_t end_bus;          /* buses 0..end_bus are decoded */
  unsigned n;
  struct model_pci_fn *fns[MODEL_PCI_MAX_FNS];
};

/* A zeroed function with identity, class, header type (0 endpoint, 1 bridge). */
void model_pci_fn_init(struct model_pci_fn *f, uint8_t bus, uint8_t dev, uint8_t fn,
                       uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header_type);
/* A 64-bit memory BAR at BAR index bar (and bar+1) of size bytes at base. */
void model_pci_fn_bar64(struct model_pci_fn *f, unsigned bar, uint64_t base, uint64_t size);
/* Appends a standard capability (id, body bytes after the 2-byte header) to the list;
 * returns its offset. */
uint8_t model_pci_fn_cap(struct model_pci_fn *f, uint8_t id, const uint8_t *body, unsigned body_len);
/* Appends an extended capability (id, version, body after the 4-byte header). */
uint16_t model_pci_fn_ext_cap(struct model_pci_fn *f, uint16_t id, uint8_t version,
                              const uint8_t *body, unsigned body_len);

uint32_t model_pci_rd(const struct model_pci_fn *f, uint16_t off, unsigned width);
void model_pci_wr_raw(struct model_pci_fn *f, uint16_t off, unsigned width, uint32_t v);
void model_pci_set_wmask(struct model_pci_fn *f, uint16_t off, unsigned width, uint32_t mask);

int model_pci_add(struct model_pci *pci, struct model_pci_fn *f);
/* Registers the ECAM window (buses 0..end_bus) with arch/host. */
int model_pci_register(struct model_pci *pci);

#endif
