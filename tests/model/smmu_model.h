/* Functional model of one Arm SMMUv3 (Arm IHI 0070 G.b, the SMMU architecture; translation
 * table formats from the Arm ARM VMSAv8-64), written from the specification, independent of
 * iommu/smmuv3: the register file with its reset values, Guarded and Update semantics, the
 * Stream table (linear and 2-level), STE and CD validity (5.2.2, 5.4.2), CD tables with
 * substreams (linear and 2-level), stage-1, stage-2 and nested VMSAv8-64 walks (4K, 16K, 64K
 * granules), configuration caches and a TLB that really cache and are emptied only by the
 * commands chapter 4 says empty them, the Command queue processed when PROD moves (CERROR_*),
 * the Event queue in the record formats of 7.3 with overflow (7.4), GERROR/GERRORN, MSIs,
 * and HTTU (Access flag and dirty state, 3.13). Every capability is a parameter. */
#ifndef TESTS_MODEL_SMMU_MODEL_H
#define TESTS_MODEL_SMMU_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/model/model_bus.h"

#define SMMU_MODEL_REG_BYTES 0x20000u   /* register Pages 0 and 1 (6.1) */

struct smmu_model_params {
  uint64_t base;            /* register file, 64 KiB aligned (IORT SMMUv3 node) */
  /* SMMU_IDR0 (6.3.1) */
  bool s1p, s2p;            /* stage 1 / stage 2 translation */
  bool cohacc;              /* coherent access to structures, queues, tables and MSIs */
  unsigned httu;            /* 0 none, 1 Access flag, 2 Access flag and dirty state */
  bool asid16, vmid16;
  bool msi;                 /* MSIs (CMD_SYNC, GERROR and Event queue interrupts) */
  bool sev;                 /* WFE wake-up events (CMD_SYNC CS=SIG_SEV) */
  bool cd2l;                /* 2-level CD tables */
  bool term_model;          /* 1: transactions are always terminated with abort (CD.A == 1) */
  unsigned st_level;        /* 0 linear Stream table only, 1 linear and 2-level */
  /* SMMU_IDR1 (6.3.2) */
  unsigned sidsize, ssidsize, eventqs, cmdqs;
  /* SMMU_IDR3 (6.3.4) */
  bool ril;                 /* range invalidation and the TTL hint */
  /* SMMU_IDR5 (6.3.6) */
  unsigned oas;             /* OAS code 0..5: 32, 36, 40, 42, 44, 48 bits */
  unsigned granules;        /* bit 0 4K, bit 1 16K, bit 2 64K */
  unsigned aidr_minor;      /* SMMU_AIDR.ArchMinorRev: SMMUv3.x (1 or 2) */
  /* reset values */
  bool gbpa_abort;          /* SMMU_GBPA.ABORT (an implementation may reset it to 1) */
  /* platform description */
  bool its;                 /* IORT: an ITS group node receiving the SMMU's and devices' MSIs */
  /* implementation choices the spec leaves open */
  unsigned tlb_entries;     /* TLB capacity (round-robin replacement) */
  unsigned cfg_entries;     /* configuration cache capacity per structure type */
};

/* A stage-1 SMMU close to QEMU 7.2's virt,iommu=smmuv3 (IDR0 0x0d40101a, 44-bit OAS). */
void smmu_model_params_default(struct smmu_model_params *p);
uint32_t smmu_model_idr(const struct smmu_model_params *p, unsigned n);

struct smmu_model;
struct smmu_model *smmu_model_create(const struct smmu_model_params *p);
void smmu_model_destroy(struct smmu_model *m);
/* Registers the register file with arch/host. */
int smmu_model_register(struct smmu_model *m);
/* The most recently created model that is still alive (for host tests that build a whole
 * platform and want its statistics). */
struct smmu_model *smmu_model_instance(void);

/* Register access as the MMIO region dispatches it: aligned 32-bit accesses to any register,
 * aligned 64-bit accesses to 64-bit registers (6.2). Anything else is an illegal access:
 * RAZ/WI, counted. */
uint64_t smmu_model_read(struct smmu_model *m, uint64_t off, unsigned width);
void smmu_model_write(struct smmu_model *m, uint64_t off, unsigned width, uint64_t val);

/* A memory request from a device; the StreamID is the requester ID (the IORT maps RIDs to
 * StreamIDs 1:1), a PASID TLP prefix is the SubstreamID. */
enum model_dma_result smmu_model_dma(struct smmu_model *m, const struct model_dma_req *req, void *data);

struct smmu_model_stats {
  unsigned long requests, translated, bypassed, aborted, raz_wi, tlb_hits, tlb_misses, walks,
    ste_fetches, ste_hits, cd_fetches, cd_hits, events, events_discarded, event_overflows,
    httu_updates, commands, cmd_syncs, msi_writes, cfgi, tlbi, cmd_errors, bad_accesses;
  unsigned last_event;      /* type of the last event recorded (or discarded) */
};
const struct smmu_model_stats *smmu_model_stats(const struct smmu_model *m);
/* Valid entries in the TLB (for tests). */
unsigned smmu_model_tlb_count(const struct smmu_model *m);

#endif
