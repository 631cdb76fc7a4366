/* PCI: enumeration across bridges, capability lists, requester IDs.
 * Config space is read through pci_cfg_ops so host tests can supply a fake one; the firmware
 * uses ECAM (pci_ecam_ops) over the MCFG segments. PCI Express Base 6.0 7.5, 7.8, 7.9. */
#ifndef BOOT_PCI_H
#define BOOT_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include "boot/acpi.h"

#define PCI_MAX_DEVS 256

struct pci_cfg_ops {
  /* Returns 0xffffffff for an absent function, like hardware. off is dword aligned. */
  uint32_t (*read32)(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);
  void (*write32)(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off,
                  uint32_t val);
  void *ctx;
};
/* ECAM accessor over the MCFG allocations (ctx = const struct mcfg_info *). */
extern const struct pci_cfg_ops pci_ecam_ops_template;

/* Standard and extended capability IDs this code decodes. */
#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_PCIE 0x10
#define PCI_CAP_ID_MSIX 0x11
#define PCI_EXT_CAP_ID_ACS 0x000d
#define PCI_EXT_CAP_ID_ATS 0x000f
#define PCI_EXT_CAP_ID_PRI 0x0013
#define PCI_EXT_CAP_ID_PASID 0x001b

struct pci_caps {
  uint8_t msi, msix, pcie;      /* config offsets, 0 = absent */
  uint16_t acs, ats, pri, pasid;/* extended config offsets, 0 = absent */
  uint8_t pcie_version, pcie_port_type;
  bool msi_64bit;
  uint8_t msi_max_vectors;
  uint16_t msix_table_size;
  uint8_t pasid_width;          /* Max PASID Width; 0 when no PASID capability */
  bool pasid_exec, pasid_priv;
  uint8_t ats_queue_depth;      /* 0 encodes 32 */
  bool ats_page_aligned;
  uint32_t pri_capacity;
  uint16_t acs_cap;             /* ACS Capability register */
  uint16_t acs_ctl;             /* ACS Control register (as the platform firmware left it) */
  int err;                      /* PCI_E* when a capability list was malformed */
};

/* ACS Capability / Control bits (7.7.11.2, 7.7.11.3) that isolate a function or port. */
#define PCI_ACS_SV 0x0001u      /* Source Validation */
#define PCI_ACS_TB 0x0002u      /* Translation Blocking */
#define PCI_ACS_RR 0x0004u      /* P2P Request Redirect */
#define PCI_ACS_CR 0x0008u      /* P2P Completion Redirect */
#define PCI_ACS_UF 0x0010u      /* Upstream Forwarding */

/* Device/Port Type of the PCI Express Capabilities register (7.5.3.2). */
#define PCI_PORT_ROOT 0x4
#define PCI_PORT_UPSTREAM 0x5
#define PCI_PORT_DOWNSTREAM 0x6
#define PCI_PORT_PCIE_TO_PCI 0x7
#define PCI_PORT_PCI_TO_PCIE 0x8

/* Why a function's DMA may carry a requester ID other than its own. */
enum pci_alias_kind {
  PCI_ALIAS_BRIDGE_SECONDARY, /* a PCIe-to-PCI/PCI-X bridge takes ownership: its secondary bus,
                               * devfn 0 (PCIe-to-PCI/PCI-X Bridge spec 1.0, 2.3) */
  PCI_ALIAS_BRIDGE_ITSELF,    /* a conventional PCI-to-PCI or PCI-to-PCIe bridge forwards with
                               * its own ID */
  PCI_ALIAS_QUIRK,            /* the function is known to use another function's ID */
};
const char *pci_alias_kind_name(enum pci_alias_kind kind);

struct pci_dma_alias {
  uint16_t rid;
  uint8_t kind;                 /* enum pci_alias_kind */
  int16_t via;                  /* bridge index in the topology; -1 for a quirk */
};

#define PCI_MAX_DMA_ALIASES 4

struct pci_dev {
  uint16_t segment;
  uint8_t bus, dev, fn;
  uint16_t vendor, device;
  uint32_t class_rev;           /* class code << 8 | revision */
  uint8_t header_type;          /* bits 6:0 */
  bool multifunction;
  int parent;                   /* index of the bridge above, -1 on a root bus */
  uint8_t secondary, subordinate; /* type 1 headers */
  struct pci_caps caps;
  /* Requester IDs its DMA can carry besides its own, nearest first; the last one is what the
   * IOMMU sees (filled by pci_enumerate through pci_resolve_dma_aliases). */
  uint8_t n_aliases;
  struct pci_dma_alias aliases[PCI_MAX_DMA_ALIASES];
};

struct pci_topology {
  unsigned n;
  struct pci_dev devs[PCI_MAX_DEVS];
  unsigned n_root_buses;
  bool truncated;               /* more functions than PCI_MAX_DEVS */
};

enum pci_err {
  PCI_OK = 0,
  PCI_ECAPLOOP = -20,           /* capability list loops or exceeds its space */
  PCI_ECAPPTR = -21,            /* capability pointer outside the capability area */
  PCI_ETOOMANY = -22,
  PCI_EDEPTH = -23,             /* bridges nested beyond any real topology */
};
const char *pci_strerror(int err);

static inline uint16_t pci_rid(const struct pci_dev *d)
{
  return (uint16_t)(d->bus << 8 | d->dev << 3 | d->fn);
}
static inline bool pci_is_bridge(const struct pci_dev *d) { return d->header_type == 1; }

int pci_enumerate(struct pci_topology *topo, const struct mcfg_info *mcfg,
                  const struct pci_cfg_ops *ops);
int pci_parse_caps(const struct pci_cfg_ops *ops, struct pci_dev *d);
int pci_find(const struct pci_topology *topo, uint16_t vendor, uint16_t device);
/* Resolves a DMAR device-scope path (start bus + dev/fn hops through bridges) to the bus
 * of the final hop: follows each bridge's secondary bus number in config space. */
int pci_walk_scope(const struct pci_cfg_ops *ops, uint16_t seg, const struct dmar_scope *scope,
                   uint16_t *rid_out);
const char *pci_port_type_name(uint8_t type);

/* Fills every function's aliases: known DMA-alias quirks, then each bridge on the path up
 * that substitutes its own ID (PCIe-to-PCI: secondary bus devfn 0; conventional bridge or
 * PCI-to-PCIe: the bridge). Root, upstream and downstream ports forward IDs unchanged. */
void pci_resolve_dma_aliases(struct pci_topology *topo);
/* The requester ID the IOMMU sees for the function's DMA. */
uint16_t pci_dma_rid(const struct pci_dev *d);
/* A DMA-alias quirk for vendor:device at devfn, or false; *source names where it is known
 * from. */
bool pci_dma_alias_quirk(uint16_t vendor, uint16_t device, uint8_t devfn, uint8_t *alias_devfn,
                         const char **source);

/* The ACS bits a function or port needs for isolation that its ACS capability lacks (all of
 * them without the capability); 0 when it isolates or when ACS does not apply to it.
 * Root and downstream ports need SV RR CR UF; functions of a multifunction device RR CR
 * (7.7.11: SV and UF are defined for downstream ports only). */
uint16_t pci_acs_missing(const struct pci_dev *d);
/* "SV RR" for bits, into buf. */
const char *pci_acs_bits_text(uint16_t bits, char *buf, unsigned len);
static inline bool pci_is_downstream_port(const struct pci_dev *d)
{
  return d->caps.pcie && (d->caps.pcie_port_type == PCI_PORT_ROOT ||
                          d->caps.pcie_port_type == PCI_PORT_DOWNSTREAM);
}

#endif
