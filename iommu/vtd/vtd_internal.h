/* VT-d driver state and the pieces its files share. */
#ifndef IOMMU_VTD_INTERNAL_H
#define IOMMU_VTD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"
#include "iommu/regfield.h"
#include "iommu/vtd/vtd_regs.h"

#define VTD_TIMEOUT_US 1000000u   /* any command, queue or status wait */
#define VTD_IQ_PAGES 1u           /* QS = 0: one 4 KiB page */
#define VTD_MAX_PASID_DEVS 256    /* devices with a scalable-mode PASID directory (2 pages each) */

struct vtd_pasid_dev {
  uint16_t rid;
  uint64_t *dir, dir_phys;       /* PASID directory: 512 entries (PDTS = 2) */
  uint64_t *table0, table0_phys; /* PASID table for PASIDs 0..63 */
};

struct vtd_unit {
  uint64_t base;
  uint32_t ver;
  uint64_t cap, ecap;
  unsigned haw;                  /* host address width from the DMAR table */

  /* chosen at enable */
  bool scalable;
  bool first_stage;              /* paging domains use first-stage tables */
  bool qi;
  unsigned agaw_bits, levels, aw_code;
  uint64_t *root, root_phys;
  uint64_t *ctx[512];            /* legacy: [bus]; scalable: [bus * 2 + (devfn >= 0x80)] */
  uint64_t ctx_phys[512];
  struct vtd_pasid_dev pasid_devs[VTD_MAX_PASID_DEVS];
  unsigned n_pasid_devs;
  uint16_t next_did;

  /* invalidation queue */
  uint8_t *iq;
  uint64_t iq_phys;
  unsigned desc_size, iq_entries, iq_tail;
  volatile uint32_t *wait_status;
  uint64_t wait_phys;
  uint32_t wait_seq;

  /* registers as found at enable, restored at disable */
  struct {
    uint32_t gsts, fectl;
    uint64_t rtaddr, iqa, iqt;
  } entry;

  /* injection */
  uint64_t saved_ctx[4];
  uint64_t *bad_root, bad_root_phys;
};

struct vtd_domain {
  struct iommu_domain dom;
  uint16_t did;
  bool first_stage;              /* x86-format first-stage tables, PGTT=1 (scalable only) */
  uint32_t aux_pasid;            /* vtd_pasid.c: the PASID it is attached with, aux_refs times */
  unsigned aux_refs;
};

/* vtd_tables.c: encoders of the in-memory formats (pure; host-tested field by field) */
void vtd_legacy_context_encode(uint64_t ctx[2], uint64_t slptptr, unsigned aw_code, uint16_t did,
                               bool passthrough);
void vtd_sm_context_encode(uint64_t ctx[4], uint64_t pasid_dir_phys, unsigned pdts);
uint64_t vtd_pasid_dir_encode(uint64_t pasid_table_phys);
void vtd_pasid_entry_encode(uint64_t pe[8], unsigned pgtt, uint64_t slptptr, unsigned aw_code,
                            uint16_t did);
void vtd_pasid_entry_encode_fl(uint64_t pe[8], uint64_t flptptr, bool five_level, uint16_t did);
void vtd_inv_piotlb(uint64_t d[4], unsigned gran, uint16_t did, uint32_t pasid, uint64_t addr,
                    unsigned am);
void vtd_inv_cc(uint64_t d[4], unsigned gran, uint16_t did, uint16_t sid);
void vtd_inv_iotlb(uint64_t d[4], unsigned gran, uint16_t did, uint64_t addr, unsigned am);
void vtd_inv_pasid_cache(uint64_t d[4], unsigned gran, uint16_t did, uint32_t pasid);
void vtd_inv_wait(uint64_t d[4], uint32_t data, uint64_t status_phys);
/* AW field value for an address width (39 -> 1, 48 -> 2, 57 -> 3), 0 if none. */
unsigned vtd_aw_code(unsigned bits);
const char *vtd_fault_reason_name(unsigned reason);
enum iommu_fault_kind vtd_fault_reason_kind(unsigned reason);

/* vtd_inv.c */
int vtd_inv_submit(struct vtd_unit *v, const uint64_t (*descs)[4], unsigned n);
int vtd_flush_context_device(struct vtd_unit *v, uint16_t did, uint16_t sid);
int vtd_flush_global(struct vtd_unit *v);
int vtd_flush_iotlb(struct vtd_unit *v, uint16_t did, uint64_t iova, uint64_t size);
int vtd_flush_piotlb(struct vtd_unit *v, uint16_t did, uint32_t pasid, uint64_t iova, uint64_t size);
int vtd_flush_pasid_cache_domain(struct vtd_unit *v, uint16_t did);
int vtd_write_buffer_flush(struct vtd_unit *v);
int vtd_gcmd(struct vtd_unit *v, uint32_t bit, bool set);
int vtd_queue_error_test(struct vtd_unit *v, char *why, size_t len);
int vtd_queue_wait_test(struct vtd_unit *v, char *why, size_t len);

/* Writes table memory visible to a non-snooping walker (ECAP.C = 0). */
void vtd_table_sync(const struct vtd_unit *v, const void *p, size_t len);

/* vtd.c, for vtd_pasid.c: the RID's context entry / PASID structures, NULL when absent. */
uint64_t *vtd_find_context(struct vtd_unit *v, uint16_t rid);
struct vtd_pasid_dev *vtd_find_pasid_dev(struct vtd_unit *v, uint16_t rid);

/* vtd_pasid.c: per-PASID (aux) domains in scalable mode (ops pasid_* / *_pasid). */
const char *vtd_pasid_gap(const struct iommu_unit *u, unsigned *bits);
const char *vtd_pasid_domain_gap(const struct iommu_domain *dom);
int vtd_pasid_enable(struct iommu_domain *primary, uint16_t rid, unsigned bits);
int vtd_pasid_disable(struct iommu_domain *primary, uint16_t rid);
int vtd_attach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid);
int vtd_detach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid);
/* The steps of detach_pasid (the stale-translation test leaves one out). */
int vtd_pasid_entry_clear(struct vtd_domain *d, uint16_t rid, uint32_t pasid);
int vtd_pasid_cache_invalidate(const struct vtd_domain *d, uint32_t pasid);
int vtd_pasid_iotlb_invalidate(const struct vtd_domain *d, uint32_t pasid);
/* Frees every PASID directory / table it made (unit disable). */
void vtd_pasid_free_all(struct vtd_unit *v);

/* vtd.c / vtd_pasid.c: a PASID entry of a dirty-tracking domain (PWSNP, SSADE while on), and
 * SSADE switched in the domain's aux PASID entries. */
void vtd_pasid_entry_dirty(uint64_t pe[8], struct iommu_domain *dom);
void vtd_aux_set_ssade(struct vtd_domain *d, bool on);

/* vtd_caps.c */
int vtd_probe(struct iommu_unit *u);
void vtd_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx);
int vtd_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n);

#endif
