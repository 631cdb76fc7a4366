/* What aux.* and dirty.aux share: a unit and an initiator with the AUX feature enabled and
 * a primary paging domain, aux domains to attach per PASID, and PASID-tagged DMA. */
#ifndef SCENARIO_AUX_ENV_H
#define SCENARIO_AUX_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/report.h"
#include "tests/scenarios/dma_env.h"

#define PAGE 4096u
#define XFER 4000u               /* bytes per transfer (edu: at most 4095) */
#define STAGE_IOVA 0x10000ull    /* a read-only page holding the pattern to load */
#define DATA_IOVA 0x200000ull
#define SENTINEL 0xee
#define AUX_MAX_DOMS 4

struct aux_env {
  struct dma_env e;
  const char *id;
  unsigned bits;                      /* usable PASID width of the initiator */
  bool enabled;
  struct dma_buf *stage;              /* staging page for load() */
  struct iommu_domain *doms[AUX_MAX_DOMS];
  unsigned n_doms;
  struct dma_initiator ini2;          /* the second initiator (aux.shared) */
  bool ini2_open, enabled2;
  struct iommu_device *dev2;
};

/* Reports the check: the evidence text, then the block of its named sub-conditions. */
void aux_report(const struct aux_env *s, const struct subconds *sc, const char *fmt, ...)
  REPORT_PRINTF(3, 4);
/* Fails the check with the core's reason when err is not zero. */
bool aux_ok(struct aux_env *s, int err, const char *what);
/* Opens the unit and the initiator, skips naming what lacks aux support, enables the feature
 * and gives the initiator a primary paging domain (s->e.dom). need_device = false: only the
 * unit must support aux domains. */
bool aux_open(struct aux_env *s, struct scenario_ctx *ctx, const char *id, bool need_device);
/* Detaches every aux domain in s->doms, disables the feature, frees what was allocated. */
void aux_close(struct aux_env *s);
/* A page mapped writable at iova in dom, filled with the sentinel. */
struct dma_buf *target(struct aux_env *s, struct iommu_domain *dom, uint64_t iova);
/* Writes ini's buffer (loaded with seed through dom) to iova tagged with pasid; *landed says
 * whether the bytes reached want (NULL: not checked). */
bool write_tagged(struct aux_env *s, struct dma_initiator *ini, struct iommu_domain *load_dom,
                  uint32_t pasid, uint32_t seed, uint64_t iova, const struct dma_buf *want,
                  bool *landed);

#endif
