/* A whole model platform for the host build: ACPI tables (RSDP, XSDT, MCFG and the IOMMU's
 * DMAR, IVRS or IORT from its kind, model_kind.h) written
 * into simulated memory, PCI config space behind an ECAM window (host bridge, optional root
 * port, one or two model DMA engines), and the IOMMU model registered at the address the DMAR
 * names. The firmware's own discovery code finds all of it the way it finds QEMU's.
 *
 * A configuration is named by a spec string: a preset, optionally followed by overrides,
 * e.g. "vtd-scalable" or "vtd-legacy,nfr=4,compress=0,cm=1". model_platform_presets()
 * lists the presets; model_platform_keys() the override keys. */
#ifndef TESTS_MODEL_PLATFORM_MODEL_H
#define TESTS_MODEL_PLATFORM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/model/model_kind.h"
#include "tests/model/vtd_model.h"

struct model_platform_cfg {
  char spec[160];
  const struct model_kind *kind;  /* NULL: no IOMMU */
  _Alignas(8) unsigned char params[MODEL_PARAMS_MAX]; /* the kind's parameter struct */
  unsigned n_engines;            /* 1..4 (two source IDs for fault.overflow) */
  bool root_port;                /* engine 0 behind a PCIe root port (bus 1) */
  bool root_port_acs;            /* the root port has ACS (SV TB RR CR UF); default on */
  bool pci_bridge;               /* engine 0 behind a PCIe-to-PCI bridge below the root port:
                                  * its requests carry the bridge's secondary bus, devfn 0 */
  bool multifunction;            /* engines 1 and 2 are functions 0 and 1 of device 00:05 */
  bool multifunction_acs;        /* ... with ACS (RR CR) on both functions */
  unsigned n_units;              /* 2: a second, narrower unit translates the last engine */
  unsigned pasid_width;          /* engines' PASID capability width; 0 = none */
  uint32_t engine_buf;           /* engine buffer and max transfer, bytes */
  unsigned nvme;                 /* 1: engine 0's place holds a model NVMe controller;
                                  * 2: the same without Compare (ONCS bit 0 = 0) */
  uint64_t ecam_base;
  uint8_t end_bus;
};

/* The IOMMU-group topology the group presets share: engine 0 behind a root port with ACS and
 * a PCIe-to-PCI bridge (its DMA carries 02:00.0), engines 1 and 2 one multifunction device
 * without ACS, engine 3 alone on the root bus. */
void model_platform_groups_topology(struct model_platform_cfg *c);

/* Fills cfg from a spec; 0, or -1 with the reason in err. */
int model_platform_parse(const char *spec, struct model_platform_cfg *cfg, char *err, size_t err_len);
const char *model_platform_presets(void);
const char *model_platform_keys(void);
/* Prints every preset with one line of description. */
void model_platform_list(void);

struct model_platform;
/* Builds the platform and registers its MMIO regions (the caller has cleared them). */
struct model_platform *model_platform_create(const struct model_platform_cfg *cfg);
void model_platform_destroy(struct model_platform *mp);
uint64_t model_platform_rsdp(const struct model_platform *mp);
struct vtd_model *model_platform_vtd(struct model_platform *mp);
struct dma_engine *model_platform_engine(struct model_platform *mp, unsigned i);
/* One line describing the configuration (for the run's header diagnostic). */
void model_platform_describe(const struct model_platform *mp, char *buf, size_t len);

#endif
