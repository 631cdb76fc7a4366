/* AMD-Vi driver state and the pieces its files share. */
#ifndef IOMMU_AMD_INTERNAL_H
#define IOMMU_AMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iommu/amd/amd_regs.h"
#include "iommu/iommu.h"
#include "iommu/regfield.h"

#define AMD_TIMEOUT_US 1000000u      /* any command, register or status wait */
#define AMD_EVT_SELFTEST_US 20000u   /* how long an event the driver provoked may take */
#define AMD_CMD_ENTRIES 256u         /* ComLen = 8: one 4 KiB page (the minimum) */
#define AMD_EVT_ENTRIES 256u         /* EventLen = 8: one 4 KiB page (the minimum) */
/* The event log is used through a window: the head pointer is kept AMD_EVT_WINDOW + 1
 * entries ahead of the driver's read position, so the hardware overflows after
 * AMD_EVT_WINDOW events (the log itself cannot be smaller than 256 entries). */
#define AMD_EVT_WINDOW 32u
#define AMD_ENTRY_BYTES 16u          /* command and event entries */
#define AMD_DTE_BYTES 32u
#define AMD_MAX_LEVELS 6u
#define AMD_MAX_ALIASES 2u

/* Options a lab may set (0 = the most levels EFR.HATS allows). */
extern unsigned amd_levels_choice;

struct ivrs_ivhd;

struct amd_unit {
  uint64_t base;
  uint64_t efr;
  /* Known once check_caps ran (discover.caps); NULL otherwise: the device table then covers
   * every device ID and no IVHD setting byte is applied. */
  const struct platform *plat;
  const struct ivrs_ivhd *ivhd;

  /* chosen at enable */
  unsigned levels;               /* v1 paging mode of every paging domain */
  uint64_t *devtab, devtab_phys;
  unsigned devtab_pages;
  uint32_t n_devids;             /* entries in the device table */
  uint8_t *cmdbuf;
  uint64_t cmd_phys;
  unsigned cmd_tail;             /* entry index the next command goes to */
  uint8_t *evtlog;
  uint64_t evt_phys;
  unsigned evt_read;             /* entry index of the next event to read */
  volatile uint64_t *sem;        /* COMPLETION_WAIT store target */
  uint64_t sem_phys, seq;
  uint64_t control;              /* value the driver keeps in the control register */
  uint64_t domids[65536 / 64];   /* allocated domain IDs (bit set = in use); 0 never used */

  /* event log self-test at enable: empty when the log works */
  bool evt_tested;
  char evt_gap[160];

  /* registers as found at enable, restored at disable */
  struct {
    uint64_t devtab, cmdbuf, evtlog, control, excl_base, excl_limit;
    uint64_t cmd_head, cmd_tail, evt_head, evt_tail, status;
  } entry;

  /* injection */
  uint64_t saved_dte[4];
  uint64_t *bad_devtab, bad_devtab_phys;
};

struct amd_domain {
  struct iommu_domain dom;
  uint16_t domid;
  bool v2;                       /* amd_pasid.c: x86-64 (v2) tables reached through GCR3 tables */
};

/* A decoded event log entry (the driver's view before it becomes an iommu_fault). */
struct amd_event {
  unsigned type;
  uint16_t devid;
  uint16_t domid;                /* IO_PAGE_FAULT / PAGE_TAB_HW_ERROR with GN = 0 */
  uint32_t pasid;                /* with GN = 1 */
  uint32_t flags;                /* [27:16] of the second dword */
  uint64_t addr;
};

/* amd_tables.c: encoders and decoders of the in-memory formats (pure; host-tested) */
void amd_dte_blocked(uint64_t dte[4], uint8_t ivhd_setting);
void amd_dte_passthrough(uint64_t dte[4], uint16_t domid, uint8_t ivhd_setting);
void amd_dte_translate(uint64_t dte[4], uint64_t root_phys, unsigned levels, uint16_t domid,
                       uint8_t ivhd_setting);
void amd_dte_set_gcr3(uint64_t dte[4], uint64_t gcr3_table_phys, unsigned glx, bool giov);
uint64_t amd_dte_gcr3(const uint64_t dte[4]);
bool amd_dte_is_blocked(const uint64_t dte[4]);
uint64_t amd_gcr3_entry_encode(uint64_t v2_root_phys);
void amd_cmd_completion_wait(uint64_t cmd[2], uint64_t store_phys, uint64_t data);
void amd_cmd_inv_devtab_entry(uint64_t cmd[2], uint16_t devid);
/* Range [iova, iova + size) (size 0 = the whole domain), widened to the aligned power of two
 * the S encoding can name. */
void amd_cmd_inv_iommu_pages(uint64_t cmd[2], uint16_t domid, uint64_t iova, uint64_t size, bool pde);
void amd_cmd_inv_iommu_all(uint64_t cmd[2]);
void amd_event_decode(const uint64_t raw[2], struct amd_event *ev);
const char *amd_event_name(unsigned type);
/* The fault the event means, as the core describes faults. */
void amd_event_to_fault(const struct amd_event *ev, struct iommu_fault *f);
/* Free entries of a ring of n entries for a producer at tail and a consumer at head. */
unsigned amd_ring_free(unsigned head, unsigned tail, unsigned n);
unsigned amd_levels_bits(unsigned levels);

/* amd_cmd.c: command buffer and event log */
void amd_table_sync(const void *p, size_t len);
int amd_wait_status(const struct amd_unit *a, uint64_t mask, uint64_t want);
int amd_write_control(struct amd_unit *a, uint64_t control);
int amd_cmd_submit(struct amd_unit *a, const uint64_t (*cmds)[2], unsigned n);
int amd_cmd_restart(struct amd_unit *a);
int amd_flush_devtab(struct amd_unit *a, uint16_t devid, int old_domid);
int amd_flush_pages(struct amd_unit *a, uint16_t domid, uint64_t iova, uint64_t size);
int amd_flush_all(struct amd_unit *a);
/* Reads up to max events and hands their slots back; once the log is empty, restarts
 * logging after an overflow (reported in *overflow). */
unsigned amd_evt_read(struct amd_unit *a, struct amd_event *out, unsigned max, bool *overflow);
int amd_evt_restart(struct amd_unit *a);
void amd_evt_selftest(struct amd_unit *a);
int amd_queue_wait_test(struct amd_unit *a, char *why, size_t len);
int amd_queue_error_test(struct amd_unit *a, char *why, size_t len);

/* amd_pgtable.c: v1 host page tables */
/* One-level GCR3 table (GLX = 0): entry p holds the v2 (x86-64 format) root of PASID p. */
int amd_gcr3_set(uint64_t *gcr3_table, uint32_t pasid, uint64_t v2_root_phys);

/* amd.c, for amd_pasid.c */
unsigned amd_rid_devids(const struct amd_unit *a, uint16_t rid, uint16_t ids[AMD_MAX_ALIASES]);
int amd_domain_alloc_v2(struct iommu_unit *u, struct iommu_domain **out);

/* amd_pasid.c: per-PASID (aux) domains with GCR3 tables and v2 tables (ops pasid_* /
 * *_pasid), and the v2 primary domains they need beside them. */
const char *amd_pasid_gap(const struct iommu_unit *u, unsigned *bits);
const char *amd_pasid_domain_gap(const struct iommu_domain *dom);
int amd_pasid_enable(struct iommu_domain *primary, uint16_t rid, unsigned bits);
int amd_pasid_disable(struct iommu_domain *primary, uint16_t rid);
int amd_attach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid);
int amd_detach_pasid(struct iommu_domain *dom, uint16_t rid, uint32_t pasid);
/* A v2 primary domain's DTE for devid: pass-through host level, GV, GIoV, the device's GCR3
 * table with entry 0 = the domain's tables. */
int amd_pasid_primary_dte(struct amd_unit *a, const struct amd_domain *d, uint16_t devid, uint64_t v[4]);
/* After devid's DTE was rewritten: drops its GCR3 table unless keep, and invalidates the
 * guest translations cached under old_domid's PASID 0 when it had one. */
int amd_pasid_dte_changed(struct amd_unit *a, uint16_t devid, int old_domid, bool keep);
/* INVALIDATE_IOMMU_PAGES with GN for every (domain ID, PASID) a v2 domain is reached by. */
int amd_pasid_flush(const struct amd_domain *d, uint64_t iova, uint64_t size);
/* The two steps of detach_pasid (the stale-translation test leaves the second out). */
int amd_pasid_entry_clear(struct amd_unit *a, uint16_t devid, uint32_t pasid);
int amd_pasid_entry_invalidate(struct amd_unit *a, uint16_t devid, uint32_t pasid);
void amd_pasid_free_all(struct amd_unit *a);

/* amd_caps.c */
int amd_probe(struct iommu_unit *u);
void amd_describe(const struct iommu_unit *u, iommu_line_fn line, void *ctx);
int amd_check(const struct iommu_unit *u, const struct platform *plat, char *why, size_t n);

#endif
