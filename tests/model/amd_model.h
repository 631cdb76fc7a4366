/* Functional model of one AMD-Vi IOMMU (AMD I/O Virtualization Technology (IOMMU)
 * Specification 48882 rev 3.x), written from the specification, independent of iommu/amd:
 * MMIO registers with their reset values and RO/RW1C semantics, the device table walk (DTE
 * V/TV/Mode/root/IR/IW/domain/HAD/SE/SA/EX), v1 host page tables of 1..6 levels with skipped
 * levels and next-level-7 pages, a device-table-entry cache and an IOTLB (by domain ID and
 * page) that really cache and are emptied only by the commands the spec says empty them, the
 * command buffer processed when the tail moves, the event log in the spec's entry formats with
 * overflow, Access/Dirty updates under EFR.HASup/HDSup and DTE.HAD, the exclusion range,
 * guest (v2) translation of PASID-tagged requests under EFR.GTSup (DTE GV/GLX/GCR3 root, the
 * GCR3 table, AMD64 long-mode guest tables, nested through the DTE's v1 table), and the
 * IOMMU's own PCI function with its capability block. Every capability is a parameter. */
#ifndef TESTS_MODEL_AMD_MODEL_H
#define TESTS_MODEL_AMD_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/model/model_bus.h"

#define AMD_MODEL_REG_BYTES 0x4000u   /* 16 KiB register window (no performance counters) */
#define AMD_MODEL_CAP_OFF 0x40u       /* the capability block in the IOMMU's PCI function */

struct model_pci;

struct amd_model_params {
  uint64_t base;            /* MMIO base, 16 KiB aligned (IVHD and PCI capability) */
  /* EFR (3.4.12) */
  unsigned hats;            /* HATS: 0 = 4 levels, 1 = 5, 2 = 6, 3 = reserved */
  bool iasup;               /* INVALIDATE_IOMMU_ALL */
  bool prefsup;             /* PREFETCH_IOMMU_PAGES */
  bool hasup, hdsup;        /* hardware Access / Dirty updates in v1 tables (DTE.HAD) */
  /* Guest translation (EFR, 3.4.12); the other fields are advertised only with gtsup. */
  bool gtsup;               /* GTSup: v2 (guest) tables reached through the GCR3 table */
  unsigned pasmax;          /* PASmax: PASIDs 0 .. 2^(pasmax+1)-1 (at most 19) */
  unsigned glxsup;          /* GLXSup: DTE.GLX up to this (0: 1-level GCR3 table .. 2: 3-level) */
  unsigned gats;            /* GATS: 0 = 4-level guest tables, 1 = 4 or 5 levels */
  bool giosup;              /* GIoSup: DTE.GIoV (untagged requests through PASID 0's tables) */
  bool ussup;               /* USSup: U/S of guest tables checked against the request's PMR */
  /* capability header (3.2.1) */
  bool npcache;             /* NpCache: not-present translations may be cached */
  /* the IOMMU's own PCI function (requester ID bus << 8 | dev << 3 | fn) */
  uint16_t devid;
  unsigned pa_bits;         /* physical address size reported (IVinfo, Misc Info 0) */
  /* IVRS */
  unsigned ivhd_type;       /* 0x10, 0x11 or 0x40: the block describing the unit */
  bool ivhd_legacy;         /* also describe it with a type 0x10 block first (as BIOSes do) */
  uint64_t efr_image_xor;   /* IVHD EFR image = EFR ^ this (a firmware erratum when non-zero) */
  /* implementation choices the spec leaves open */
  unsigned iotlb_entries;   /* IOTLB capacity (round-robin replacement) */
  unsigned dte_cache_entries;
};

/* A unit close to QEMU 7.2's amd-iommu where that is what the spec says: 6-level host tables,
 * INVALIDATE_IOMMU_ALL, no guest translation (gtsup = false), PPR or interrupt remapping. */
void amd_model_params_default(struct amd_model_params *p);
uint64_t amd_model_efr(const struct amd_model_params *p);

struct amd_model;
struct amd_model *amd_model_create(const struct amd_model_params *p);
void amd_model_destroy(struct amd_model *m);
/* Registers the register window with arch/host. */
int amd_model_register(struct amd_model *m);
/* Adds the IOMMU's PCI function (class 08h/06h, capability ID 0Fh type 3 at
 * AMD_MODEL_CAP_OFF with the base address, enabled) to the platform's config space. */
int amd_model_add_pci(struct amd_model *m, struct model_pci *pci);
/* The live model whose registers are at base, or NULL (tests reach the platform's unit). */
struct amd_model *amd_model_at(uint64_t base);

/* Register access (what the MMIO region dispatches): 4 or 8 bytes, naturally aligned. */
uint64_t amd_model_read(struct amd_model *m, uint64_t off, unsigned width);
void amd_model_write(struct amd_model *m, uint64_t off, unsigned width, uint64_t val);

/* An upstream memory request from a device behind this unit (never crosses 4 KiB). */
enum model_dma_result amd_model_dma(struct amd_model *m, const struct model_dma_req *req, void *data);

struct amd_model_stats {
  unsigned long requests, translated, untranslated, disabled, excluded, iotlb_hits, iotlb_misses,
    negative_hits, dte_hits, dte_reads, walks, ad_updates, events_logged, events_lost_overflow,
    events_not_running, events_suppressed, cmds, cmd_completion_wait, cmd_inv_dte, cmd_inv_pages,
    cmd_inv_all, cmd_other, illegal_cmds, cmd_hw_errors, bad_accesses, bad_pointer_writes,
    pasid_refused, guest_translated, guest_walks, guest_ad_updates, cmd_inv_pages_guest;
  unsigned last_event_code;
  uint32_t last_event_flags;
};
const struct amd_model_stats *amd_model_stats(const struct amd_model *m);
/* Valid entries in the IOTLB and in the device-table-entry cache (for tests). */
unsigned amd_model_iotlb_count(const struct amd_model *m);
unsigned amd_model_dte_cache_count(const struct amd_model *m);

#endif
