/* IOMMU core: the ops table every driver implements, named errors, probing. */
#ifndef IOMMU_IOMMU_H
#define IOMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/platform.h"
#include "iommu/iommu_err.h"
#include "iommu/pgtable/pgtable.h"

/* Receives one line of text (no newline) per call. */
typedef void (*iommu_line_fn)(void *ctx, const char *line);

#define IOMMU_PAGE_4K 0x1000ull
#define IOMMU_PAGE_2M 0x200000ull
#define IOMMU_PAGE_1G 0x40000000ull
#define IOMMU_NO_PASID 0xffffffffu

enum iommu_prot { IOMMU_PROT_READ = 1u, IOMMU_PROT_WRITE = 2u };

enum iommu_domain_type {
  IOMMU_DOMAIN_PAGING,      /* translated through the driver's I/O page tables */
  IOMMU_DOMAIN_PASSTHROUGH, /* untranslated: IOVA == physical address */
};

/* Features a scenario may need; a driver answers with NULL (present) or the register field
 * that says it is absent, which becomes the SKIP reason. */
enum iommu_feature {
  IOMMU_FEAT_SUPERPAGE_2M,
  IOMMU_FEAT_SUPERPAGE_1G,
  IOMMU_FEAT_PASSTHROUGH,
  IOMMU_FEAT_FAULT_RECORDS,  /* faults can be read back with source, address and reason */
  IOMMU_FEAT_QUEUE,          /* a command/invalidation queue (not only registers) */
  IOMMU_FEAT_DMA,            /* the driver can translate DMA at all (else: not implemented) */
};

/* A domain: an IO address space on one unit. The driver allocates it (with its IDs) and,
 * for paging domains, builds pt with the format its hardware walks; the core maps and
 * unmaps through the page-table engine and asks the driver only to invalidate. */
struct iommu_domain {
  struct iommu_unit *unit;
  enum iommu_domain_type type;
  unsigned iova_bits;       /* input address width the tables translate */
  uint64_t page_sizes;      /* leaf sizes the tables can hold (IOMMU_PAGE_* bits) */
  struct pt pt;             /* paging domains: the I/O page table */
  unsigned n_devices;       /* devices whose primary domain this is (core bookkeeping) */
  void *priv;
  /* Dirty tracking (iommu/core/dirty.c). dirty_enforced: allocated by domain_alloc_dirty
   * (writable leaves start clean); dirty_switch: the driver can switch hardware Dirty updates
   * off (VT-d SSADE, AMD HAD), else they follow the table encoding (VT-d first stage, SMMU
   * DBM); dirty_on: updates requested, encoded by drivers at attach; dirty_flushes: the
   * invalidations the harvest issued. */
  bool dirty_enforced, dirty_switch, dirty_on;
  unsigned long dirty_flushes;
};

/* What a fault means, independent of the architecture's codes (drivers classify). */
enum iommu_fault_kind {
  IOMMU_FAULT_OTHER,
  IOMMU_FAULT_TRANSLATION,  /* no translation for the address (not present) */
  IOMMU_FAULT_PERM_READ,    /* read to a page without read permission (VT-d also reports a
                             * non-present second-stage entry this way) */
  IOMMU_FAULT_PERM_WRITE,   /* write to a page without write permission (likewise) */
  IOMMU_FAULT_ADDR_SIZE,    /* input address beyond the translated width */
  IOMMU_FAULT_NO_CONTEXT,   /* device not set up: context / device-table / stream entry invalid */
  IOMMU_FAULT_BAD_ENTRY,    /* malformed entry (reserved bits, bad encoding) */
  IOMMU_FAULT_TABLE_ACCESS, /* a table pointer leads to memory that cannot be read */
};
const char *iommu_fault_kind_name(enum iommu_fault_kind k);

/* A fault or event record, decoded from the hardware's own format. */
struct iommu_fault {
  enum iommu_fault_kind kind;
  /* A second kind the same record describes equally well, because the record format does not
   * tell them apart (SMMUv3 C_BAD_STE: STE.V=0 or ILLEGAL; AMD-Vi IO_PAGE_FAULT PE=1: the DTE's
   * IR/IW or a page's permission); IOMMU_FAULT_OTHER when the record is unambiguous. Decided
   * from the record alone, never from the driver's own tables. */
  enum iommu_fault_kind alt_kind;
  uint16_t source_id;       /* requester ID / StreamID (low 16 bits) */
  uint32_t stream_id;
  uint64_t addr;            /* faulting input address as recorded (page granular on VT-d) */
  uint32_t reason;          /* raw reason / event type code */
  char reason_name[64];
  bool is_write;            /* the faulting request was a write */
  bool no_addr;             /* the record format names no input address or direction (SMMUv3
                             * configuration errors: C_BAD_STE, C_BAD_CD, C_BAD_STREAMID) */
  bool pasid_present;
  uint32_t pasid;
  /* The record itself breaks its specification (e.g. a legacy-mode reason code from a unit
   * in scalable mode): what is wrong, or "" when nothing is. Scenarios fail on it. */
  char format_deviation[64];
};

/* Deliberate breakage for the fault scenarios; each must end in a recorded fault. */
enum iommu_inject {
  IOMMU_INJECT_BAD_ROOT_POINTER,   /* root/stream table pointer to memory that is not there */
  IOMMU_INJECT_BAD_CONTEXT,        /* the device's context entry / DTE / STE malformed */
};

struct iommu_ops {
  const char *name;
  /* Reads identification/capability registers (nothing is written) and fills
   * unit->pasid_bits / pasid_reason. */
  int (*probe)(struct iommu_unit *unit);
  /* Decodes every capability register field, one line each. */
  void (*describe_caps)(const struct iommu_unit *unit, iommu_line_fn line, void *ctx);
  /* Consistency of the registers with the spec and with what ACPI said; 0 or a named
   * error with the reason in why. */
  int (*check_caps)(const struct iommu_unit *unit, const struct platform *plat, char *why,
                    size_t why_len);
  const char *(*feature_gap)(const struct iommu_unit *unit, enum iommu_feature f);

  /* Takes the unit over: saves the entry state, installs empty tables (every RID blocked),
   * starts the queue and enables translation. */
  int (*enable)(struct iommu_unit *unit);
  /* Restores the entry state saved by enable and frees what enable installed; reports in
   * why every register that does not read back its entry value. */
  int (*disable)(struct iommu_unit *unit, char *why, size_t why_len);

  int (*domain_alloc)(struct iommu_unit *unit, enum iommu_domain_type type,
                      struct iommu_domain **out);
  void (*domain_free)(struct iommu_domain *dom);
  /* After the core made [iova, iova+size) present in dom->pt: what the hardware needs for
   * not-present -> present (VT-d caching mode or RWBF, AMD NpCache). NULL: nothing. */
  int (*map_sync)(struct iommu_domain *dom, uint64_t iova, uint64_t size);
  /* Targeted IOTLB invalidation of [iova, iova+size); size 0 = the whole domain. Waits for
   * completion. */
  int (*flush)(struct iommu_domain *dom, uint64_t iova, uint64_t size);
  int (*attach)(struct iommu_domain *dom, uint16_t rid);
  /* The RID's entry goes back to blocked (not present), caches invalidated. */
  int (*detach)(struct iommu_unit *unit, uint16_t rid);

  /* Reads and clears up to max records; *overflow reports the hardware overflow flag
   * (cleared too). */
  int (*drain_faults)(struct iommu_unit *unit, struct iommu_fault *out, unsigned max,
                      unsigned *n, bool *overflow);
  /* queue.wait: a wait/sync command whose completion is observed in memory. */
  int (*queue_wait)(struct iommu_unit *unit, char *why, size_t why_len);
  /* queue.error: submits a malformed command, observes the hardware error report, recovers
   * and proves the queue works again. */
  int (*queue_error)(struct iommu_unit *unit, char *why, size_t why_len);
  /* How many faults the hardware can hold before it must report overflow. */
  unsigned (*fault_slots)(const struct iommu_unit *unit);
  /* Breaks something for rid on purpose; revert with inject_revert. */
  int (*inject)(struct iommu_unit *unit, enum iommu_inject what, uint16_t rid);
  int (*inject_revert)(struct iommu_unit *unit, enum iommu_inject what, uint16_t rid);

  /* ---- dirty tracking (iommu/core/dirty.c); the page-table engine reads and clears ---- */
  /* NULL when the unit's paging domains can track dirty state, else the register field that
   * says why not (the SKIP reason). NULL member: no dirty tracking at all. */
  const char *(*dirty_gap)(const struct iommu_unit *unit);
  /* As domain_alloc(PAGING), with tables whose writable leaves start clean (PT_F_DIRTY_TRACK)
   * and contexts that let hardware mark them; sets dom->dirty_switch. */
  int (*domain_alloc_dirty)(struct iommu_unit *unit, struct iommu_domain **out);
  /* Switches hardware Dirty updates of every device attached to dom (dom->dirty_on already
   * holds the new state), with the invalidations the context change needs. Called only for
   * domains with dirty_switch. */
  int (*set_dirty_tracking)(struct iommu_domain *dom, bool on);
};

extern const struct iommu_ops vtd_ops, amd_ops, smmuv3_ops;

/* state.restore support for drivers: a register as read now and as found at enable. */
struct iommu_reg_check {
  const char *name;
  uint64_t now, entry;
};
/* True when the disable steps succeeded (err == 0) and every register is back at its entry
 * value. Otherwise lists each register that is not ("IQA reads 0x..., entry value 0x...") in
 * why, ends it with the sub-condition block (boot/report.h: "disable" and one per register
 * name) and returns false. */
bool iommu_regs_restored(int err, const struct iommu_reg_check *regs, size_t n, char *why, size_t len);
const struct iommu_ops *iommu_ops_for(enum iommu_kind kind);
/* Probes every unit the platform lists; a failed probe is recorded in the unit. */
void iommu_probe_all(struct platform *plat);

/* Enables the unit on first use. Devices in its scope other than the initiators get
 * pass-through where the hardware has it (so firmware DMA, e.g. the disk holding the ESP,
 * keeps working) and are blocked otherwise, with a diagnostic. Idempotent. */
int iommu_activate(struct platform *plat, struct iommu_unit *unit);
/* Disables and restores every activated unit; safe to call at any time, repeatedly. */
void iommu_deactivate_all(struct platform *plat);
bool iommu_is_active(const struct iommu_unit *unit);

#endif
