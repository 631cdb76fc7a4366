/* What discovery found: ACPI tables, PCI devices, IOMMU units, the DMA initiator.
 * Filled by platform_discover() from the firmware's ACPI root (or the host model's). */
#ifndef BOOT_PLATFORM_H
#define BOOT_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include "boot/acpi.h"
#include "boot/pci.h"

#define PLATFORM_MAX_IOMMUS 16
#define PLATFORM_MAX_INITIATORS 4

enum iommu_kind { IOMMU_KIND_VTD, IOMMU_KIND_AMD, IOMMU_KIND_SMMUV3 };
const char *iommu_kind_name(enum iommu_kind kind);

struct iommu_ops;

/* Which device the DMA scenarios drive (--initiator=auto|edu|nvme[:SEG:BB:DD.F]). */
enum initiator_pick { INITIATOR_PICK_AUTO, INITIATOR_PICK_EDU, INITIATOR_PICK_NVME };
struct initiator_choice {
  enum initiator_pick pick;  /* AUTO: edu (or the model engine) where present, else NVMe */
  bool at_bdf;               /* only the function at segment:bus:dev.fn */
  uint16_t segment;
  uint8_t bus, dev, fn;
  bool allow_boot_device;    /* --initiator-allow-boot-device: may take the boot disk's controller */
};

struct iommu_unit {
  enum iommu_kind kind;
  unsigned acpi_index;      /* DRHD / IVHD / IORT SMMUv3 node index in the parsed table */
  uint64_t base;            /* register base (physical) */
  uint16_t segment;         /* PCI segment it translates for */
  char source[48];          /* e.g. "DMAR DRHD 0", "IVRS IVHD type 0x40 #1" */

  /* Filled by the driver's probe (iommu/). */
  bool probed;
  int probe_err;            /* negative IOMMU_E*; 0 when probe succeeded */
  uint8_t pasid_bits;       /* PASID/SSID width the unit supports; 0 = no PASID support */
  char pasid_reason[48];    /* the register fields that decided pasid_bits, e.g.
                             * "ECAP.PASID=0" or "ECAP.PASID=1 PSS=0" */
  const struct iommu_ops *ops;
  void *priv;               /* driver state */
  bool active;              /* enabled by iommu_activate, to be restored on exit */
  bool disabled_by_restore; /* state.restore already handed the unit back */
  uint64_t pages_at_enable; /* page_alloc_outstanding() just before enable (state.restore) */
};

/* An IOMMU table (DMAR, IVRS, IORT) present in ACPI but rejected as malformed. */
struct platform_bad_table {
  char sig[5];
  enum iommu_kind kind;     /* the kind of unit such a table describes */
  uint64_t phys;
  uint32_t len;
  int err;                  /* negative ACPI_E* from its parser */
};
#define PLATFORM_MAX_BAD_TABLES 3

struct platform {
  struct acpi_dir acpi;
  struct mcfg_info mcfg;
  struct dmar_info dmar;
  struct ivrs_info ivrs;
  struct iort_info iort;
  struct pci_topology pci;
  struct pci_cfg_ops cfg;   /* config space accessor (ECAM over mcfg on the firmware) */
  struct iommu_unit iommus[PLATFORM_MAX_IOMMUS];
  unsigned n_iommus;
  int initiator;            /* index into pci.devs of the first DMA initiator, -1 if none */
  unsigned n_initiators;    /* every DMA-capable test device found (edu functions) */
  int initiators[PLATFORM_MAX_INITIATORS];
  struct platform_bad_table bad_tables[PLATFORM_MAX_BAD_TABLES];
  unsigned n_bad_tables;
  struct initiator_choice initiator_choice; /* set before platform_discover */
  /* 0, or INITIATOR_EBUSY when the platform firmware would not hand the initiator over
   * (the reason in initiator_claim_why); nothing is written to a device refused this way. */
  int initiator_claim;
  char initiator_claim_why[160];
};

/* Parses the ACPI tables the directory names, enumerates PCI and lists IOMMU units.
 * Errors in one table are reported as diagnostics and leave that table absent; a rejected
 * IOMMU table is also listed in bad_tables (discover.acpi fails naming it). */
int platform_discover(struct platform *plat);
const struct pci_dev *platform_initiator(const struct platform *plat);
/* The unit that translates requests from (segment, rid), or NULL; *how describes the
 * table entry that matched (for discover.scope). */
struct iommu_unit *platform_unit_for_rid(struct platform *plat, uint16_t segment, uint16_t rid,
                                         char *how, size_t how_len);

#endif
