/* SMMUv3 driver state and the pieces its files share. */
#ifndef IOMMU_SMMU_INTERNAL_H
#define IOMMU_SMMU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu/iommu.h"
#include "iommu/regfield.h"
#include "iommu/smmuv3/smmu_regs.h"

#define SMMU_TIMEOUT_US 1000000u    /* any CR0ACK / GBPA / queue wait */
#define SMMU_CMDQ_LOG2 5u           /* 32 commands: the producer wraps often, so wrap handling runs */
#define SMMU_EVTQ_LOG2 3u           /* 8 events: fault.overflow can overflow it on purpose */
#define SMMU_STRTAB_SPLIT 8u        /* 2-level: 256 STEs (16 KiB) per level-2 table */
#define SMMU_LINEAR_MAX_LOG2 16u    /* a linear table covers at most 2^16 StreamIDs (4 MiB) */
#define SMMU_L1_MAX_LOG2 17u        /* level-1 table at most 2^17 descriptors (1 MiB) */
#define SMMU_CD_LINEAR_MAX_LOG2 6u  /* substreams: a linear CD table of at most 64 CDs (4 KiB) */
#define SMMU_IAS_BITS 48u           /* stage-1 input (VA) width; no 52-bit VAs (LVA) */

/* Options a lab may set; the command line parser wires them (0 = automatic). */
enum smmu_strtab_choice { SMMU_STRTAB_AUTO, SMMU_STRTAB_LINEAR, SMMU_STRTAB_2LEVEL };
enum smmu_stage_choice { SMMU_STAGE_AUTO, SMMU_STAGE_1, SMMU_STAGE_2 };
extern int smmuv3_strtab_choice;
extern int smmuv3_stage_choice;
/* The IORT the platform parsed, for RID -> StreamID (NULL: StreamID = RID). */
struct iort_info;
extern const struct iort_info *smmuv3_iort;

/* A physically contiguous allocation (queues, stream tables), freed as one. */
struct smmu_mem {
  void *alloc;
  size_t pages;
};

struct smmu_unit {
  uint64_t base;
  uint32_t idr[6], iidr, aidr;

  /* chosen at enable */
  bool enabled;
  bool coherent;             /* IDR0.COHACC */
  bool msi_sync;             /* CMD_SYNC completion by MSI write to memory (IDR0.MSI && COHACC) */
  unsigned granule;          /* log2 granule for every domain */
  unsigned stage;            /* 1 or 2 */
  unsigned oas;              /* output address bits (IDR5.OAS, at most 48) */
  unsigned asid_bits, vmid_bits;
  unsigned sid_log2;         /* STRTAB_BASE_CFG.LOG2SIZE */
  bool two_level;
  unsigned split;
  unsigned cd_log2;          /* S1CDMax: CDs per domain table (0: one CD, no substreams) */
  uint64_t *strtab, strtab_phys; /* linear STEs, or level-1 descriptors */
  size_t strtab_pages;
  uint64_t **l2;             /* 2-level: level-2 tables, indexed by SID >> split */
  uint64_t *l2_phys;
  struct smmu_mem *l2_mem;
  unsigned n_l1;
  uint32_t strtab_cfg;
  uint16_t next_asid, next_vmid;

  /* command queue */
  uint64_t *cmdq, cmdq_phys;
  unsigned cmdq_log2;
  uint32_t cmdq_prod;        /* shadow of CMDQ_PROD (index + wrap bit) */
  unsigned cmdq_wraps;       /* times the producer index wrapped since enable */
  unsigned cmds_issued;
  volatile uint32_t *sync_word;  /* MSI target of CMD_SYNC */
  uint64_t sync_phys;
  uint32_t sync_seq;
  unsigned last_cerror;      /* CMDQ_CONS.ERR of the last command error, opcode in bad_opcode */
  unsigned last_bad_opcode;
  unsigned cmd_errors;

  /* event queue */
  uint64_t *evtq, evtq_phys;
  unsigned evtq_log2;
  unsigned events_read;
  unsigned evtq_abt_seen;    /* drains that found GERROR.EVENTQ_ABT_ERR active */
  bool evtq_abt_reported;

  /* registers as found at enable, restored at disable */
  struct {
    uint32_t cr0, cr1, cr2, strtab_cfg, cmdq_prod, cmdq_cons, evtq_prod, evtq_cons;
    uint32_t gbpa, irq_ctrl, gerror_active;
    uint64_t strtab_base, cmdq_base, evtq_base;
  } entry;

  /* injection */
  uint64_t *bad_strtab, bad_strtab_phys;
  size_t bad_strtab_pages;
  uint64_t *bad_l2, bad_l2_phys;
  size_t bad_l2_pages;
  uint64_t *injected_cd;     /* CD broken by IOMMU_INJECT_BAD_CONTEXT and its saved words */
  uint64_t saved_cd[SMMU_CD_DWORDS]; /* (or the STE, when the stream has no CD) */

  /* what enable and inject allocated, freed together at disable */
  struct smmu_mem strtab_mem, cmdq_mem, evtq_mem, sync_mem, bad_mem, bad_l2_mem;
};

struct smmu_domain {
  struct iommu_domain dom;
  unsigned stage;
  uint16_t asid, vmid;
  uint64_t *cdtab, cdtab_phys; /* stage 1: CD table; CD 0 translates untagged DMA */
};

/* ---- smmu_tables.c: encoders and decoders of the in-memory formats (pure) ---- */
struct smmu_ste_s1_cfg {
  uint64_t cd_phys;          /* CD (table) address */
  unsigned s1fmt;            /* 0 linear CD table, 1 2-level 4K leaves, 2 2-level 64K leaves */
  unsigned s1cdmax;          /* log2 CDs (0: substreams off) */
  unsigned s1dss;            /* untagged traffic when s1cdmax > 0 */
  bool coherent;             /* CD fetch attributes: WB ISH, else NC */
  bool stalld;               /* S1STALLD (set when STALL_MODEL allows stalls we never want) */
};
struct smmu_ste_s2_cfg {
  uint16_t vmid;
  unsigned t0sz, sl0, tg, ps;
  uint64_t ttb;
  bool coherent, ha, hd;
};
void smmu_ste_abort(uint64_t ste[SMMU_STE_DWORDS]);
void smmu_ste_bypass(uint64_t ste[SMMU_STE_DWORDS]);
void smmu_ste_s1(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_ste_s1_cfg *c);
void smmu_ste_s2(uint64_t ste[SMMU_STE_DWORDS], const struct smmu_ste_s2_cfg *c);
uint64_t smmu_l1std_encode(uint64_t l2_phys, unsigned span);
uint64_t smmu_l1cd_encode(uint64_t l2_phys);

struct smmu_cd_cfg {
  uint64_t ttb0;
  unsigned t0sz;             /* 64 - input bits */
  unsigned granule;          /* log2 */
  unsigned ips;              /* IPS code (CD.IPS) */
  uint16_t asid;
  bool coherent;             /* walk attributes WB ISH, else NC OSH */
  bool ha, hd;               /* HTTU: only when IDR0.HTTU allows */
};
void smmu_cd_encode(uint64_t cd[SMMU_CD_DWORDS], const struct smmu_cd_cfg *c);

unsigned smmu_tg_encode(unsigned granule);            /* CD.TG0 / STE.S2TG */
int smmu_ps_encode(unsigned bits);                    /* CD.IPS / STE.S2PS; -1 if none */
unsigned smmu_oas_bits(unsigned code);                /* IDR5.OAS -> bits (0: reserved) */
int smmu_s2sl0_encode(unsigned granule, unsigned start_level); /* -1: not encodable */
/* Levels and starting level for an input width with a granule (VMSAv8-64 walk). */
unsigned smmu_pt_levels(unsigned granule, unsigned ias);
/* A page (last_level) or block descriptor; stage 1 uses AP/AttrIndx/nG, stage 2 S2AP/MemAttr. */

void smmu_cmd_cfgi_ste(uint64_t c[2], uint32_t sid, bool leaf);
void smmu_cmd_cfgi_ste_range(uint64_t c[2], uint32_t sid, unsigned range);
void smmu_cmd_cfgi_all(uint64_t c[2]);
void smmu_cmd_cfgi_cd(uint64_t c[2], uint32_t sid, uint32_t ssid, bool leaf);
void smmu_cmd_cfgi_cd_all(uint64_t c[2], uint32_t sid);
void smmu_cmd_tlbi_nh_asid(uint64_t c[2], uint16_t asid, uint16_t vmid);
void smmu_cmd_tlbi_nh_va(uint64_t c[2], uint16_t asid, uint16_t vmid, uint64_t va, bool leaf,
                         unsigned tg, unsigned num, unsigned scale, unsigned ttl);
void smmu_cmd_tlbi_s2_ipa(uint64_t c[2], uint16_t vmid, uint64_t ipa, bool leaf, unsigned tg,
                          unsigned num, unsigned scale, unsigned ttl);
void smmu_cmd_tlbi_s12_vmall(uint64_t c[2], uint16_t vmid);
void smmu_cmd_tlbi_nsnh_all(uint64_t c[2]);
void smmu_cmd_sync(uint64_t c[2], unsigned cs, uint32_t msi_data, uint64_t msi_addr, unsigned msh,
                   unsigned msi_attr);
void smmu_cmd_reserved(uint64_t c[2]);

/* Range invalidation (IDR3.RIL): splits [iova, iova + pages * granule) into commands of
 * (NUM+1) * 2^SCALE granules each; returns how many it wrote (at most max, 0 when it does
 * not fit). */
struct smmu_tlbi_range {
  uint64_t addr;
  unsigned num, scale;
};
unsigned smmu_tlbi_ranges(uint64_t iova, uint64_t pages, unsigned granule,
                          struct smmu_tlbi_range *out, unsigned max);

struct smmu_event {
  unsigned type;
  uint32_t sid, ssid;
  bool ssv;
  bool has_addr;             /* the record format carries InputAddr and RnW */
  uint64_t addr;
  bool rnw, pnu, ind, s2, stall;
  unsigned cls;              /* CLASS: 0 CD, 1 TT, 2 IN */
  bool has_fetch;            /* F_STE_FETCH / F_CD_FETCH / F_WALK_EABT / F_VMS_FETCH */
  uint64_t fetch_addr;       /* FetchAddr [55:3] (or the IPA for stage 2 faults) */
};
void smmu_event_decode(const uint64_t rec[4], struct smmu_event *e);
const char *smmu_event_name(unsigned type);
/* Classified from the record alone (never from the driver's tables). */
enum iommu_fault_kind smmu_event_kind(const struct smmu_event *e);
void smmu_event_to_fault(const struct smmu_event *e, struct iommu_fault *f);
const char *smmu_cerror_name(unsigned err);

/* ---- smmu_tables.c ---- */
/* Makes CPU writes to table / queue memory visible to the SMMU (cache clean when not
 * coherent, a barrier otherwise). */
void smmu_sync_mem(bool coherent, const void *p, size_t len);

/* ---- smmu_queue.c ---- */
/* Queues n commands plus CMD_SYNC and waits for the sync's completion. */
int smmu_cmdq_submit(struct smmu_unit *s, const uint64_t (*cmds)[2], unsigned n);
int smmu_cmdq_sync(struct smmu_unit *s);
int smmu_cmd1(struct smmu_unit *s, const uint64_t c[2]);
uint32_t smmu_gerror_active(const struct smmu_unit *s);
void smmu_gerror_ack(struct smmu_unit *s, uint32_t bits);
int smmu_evtq_drain(struct smmu_unit *s, struct iommu_fault *out, unsigned max, unsigned *n,
                    bool *overflow);
int smmu_queue_wait_test(struct smmu_unit *s, char *why, size_t len);
int smmu_queue_error_test(struct smmu_unit *s, char *why, size_t len);
/* CR0 write and CR0ACK poll; GBPA update handshake; IRQ_CTRL + IRQ_CTRLACK. */
int smmu_write_cr0(struct smmu_unit *s, uint32_t val);
int smmu_write_gbpa(struct smmu_unit *s, uint32_t val);
int smmu_write_irq_ctrl(struct smmu_unit *s, uint32_t val);

/* ---- smmu.c ---- */
/* The driver's choices from the ID registers, one line each (appended to describe_caps). */
void smmu_describe_driver(const struct iommu_unit *u, iommu_line_fn line, void *ctx);

/* ---- smmu_caps.c ---- */
int smmu_probe(struct iommu_unit *u);
void smmu_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx);
int smmu_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n);

#endif
