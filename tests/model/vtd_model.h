/* Functional model of one Intel VT-d remapping unit (VT-d Architecture Specification rev
 * 5.10), written from the specification, independent of iommu/vtd: registers with their
 * reset values and RO/RW1C semantics, legacy and scalable-mode structure walks, first- and
 * second-stage tables, context/PASID caches and an IOTLB that really cache (a missing
 * invalidation leaves a stale translation), the invalidation queue processed when the tail
 * moves, register-based invalidation, primary fault logging in the FRCD format, and
 * Access/Dirty updates where enabled. Every capability is a parameter. */
#ifndef TESTS_MODEL_VTD_MODEL_H
#define TESTS_MODEL_VTD_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/model/model_bus.h"

#define VTD_MODEL_MAX_FRCD 32
#define VTD_MODEL_REG_BYTES 0x1000u

struct vtd_model_params {
  uint64_t base;            /* register window (4 KiB) */
  unsigned haw;             /* host address width of the platform (DMAR HAW) */
  uint32_t ver;             /* VER_REG: major 7:4, minor 3:0 */
  /* CAP_REG (11.4.2) */
  unsigned nd;              /* domain-ID width code: 4 + 2 * nd bits */
  bool rwbf, cm, zlr, psi, fl1gp, fl5lp, esrtps;
  unsigned sagaw;           /* bit 1 39-bit, bit 2 48-bit, bit 3 57-bit */
  unsigned mgaw;            /* width (39, 48, 57) */
  unsigned fro;             /* fault recording registers offset (bytes, 16-byte aligned) */
  unsigned nfr;             /* number of fault recording registers (1..VTD_MODEL_MAX_FRCD) */
  unsigned sslps;           /* bit 0 2M, bit 1 1G second-stage leaves */
  unsigned mamv;
  /* ECAP_REG (11.4.3) */
  bool c, qi, dt, ir, pt, sc, nest, srs, pasid, smts, ssts, fsts, ssads, smpwcs, rps, rprivs;
  unsigned iro;             /* IOTLB registers offset (bytes, 16-byte aligned) */
  unsigned pss;             /* PASID width - 1 */
  /* implementation choices the spec leaves open */
  bool fault_compression;   /* collapse faults from a SID with a pending record (7.2.1) */
  unsigned iotlb_entries;   /* IOTLB capacity (round-robin replacement) */
};

/* A unit close to QEMU 7.2's default intel-iommu (legacy, 39-bit, one FRCD). */
void vtd_model_params_default(struct vtd_model_params *p);
uint64_t vtd_model_cap(const struct vtd_model_params *p);
uint64_t vtd_model_ecap(const struct vtd_model_params *p);

struct vtd_model;
struct vtd_model *vtd_model_create(const struct vtd_model_params *p);
void vtd_model_destroy(struct vtd_model *m);
/* Registers the register window with arch/host. */
int vtd_model_register(struct vtd_model *m);

/* Register access (what the MMIO region dispatches): width 4 or 8 (8 is two dword accesses,
 * low first, 11.2). */
uint64_t vtd_model_read(struct vtd_model *m, uint64_t off, unsigned width);
void vtd_model_write(struct vtd_model *m, uint64_t off, unsigned width, uint64_t val);

/* A DMA request from a device in this unit's scope. */
enum model_dma_result vtd_model_dma(struct vtd_model *m, const struct model_dma_req *req, void *data);

struct vtd_model_stats {
  unsigned long requests, translated, passthrough_off, iotlb_hits, iotlb_misses, ctx_hits,
    pasid_hits, walks, faults_recorded, faults_suppressed_fpd, faults_collapsed, faults_overflow,
    ad_updates, inv_context, inv_pasid, inv_iotlb, inv_piotlb, inv_wait, inv_other,
    inv_register, qi_errors, bad_accesses;
  unsigned last_fault_reason;
};
const struct vtd_model_stats *vtd_model_stats(const struct vtd_model *m);
/* Entries currently valid in the IOTLB (for tests). */
unsigned vtd_model_iotlb_count(const struct vtd_model *m);

#endif
