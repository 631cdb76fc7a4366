/* What every DMA scenario needs: the unit translating the initiator, the initiator itself,
 * buffers with known physical addresses, and fault checks. Skips name their reason. */
#ifndef SCENARIO_DMA_ENV_H
#define SCENARIO_DMA_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/initiator/initiator.h"
#include "iommu/core/core.h"
#include "tests/scenarios/scenario.h"

#define DMA_ENV_MAX_FAULTS 32

struct dma_buf {
  uint8_t *p;
  uint64_t phys;
  unsigned pages;
};

struct dma_env {
  const char *id;
  struct scenario_ctx *ctx;
  struct iommu_unit *unit;
  struct dma_initiator ini;
  bool ini_open;
  struct iommu_device *dev;      /* the requester ID the initiator's DMA carries */
  struct iommu_domain *dom;
  struct dma_buf bufs[8];
  unsigned n_bufs;
  struct iommu_fault faults[DMA_ENV_MAX_FAULTS];
  unsigned n_faults;
  bool overflow;
  int drain_err;                 /* the last failed drain (a failed drain proves nothing) */
};

/* Options the firmware was given for the initiator (--initiator-addr-bits=N). */
extern unsigned dma_env_initiator_addr_bits;

/* A unit whose probe failed (or never ran): reports the skip for id naming the probe's
 * error and returns true. */
bool dma_env_skip_unprobed(const char *id, const struct scenario_ctx *ctx);
/* Checks the unit translates the initiator, activates it, opens the initiator and clears
 * stale faults. On false it has already reported the skip or failure for env->id. */
bool dma_env_open(struct dma_env *env, struct scenario_ctx *ctx, const char *id,
                  const enum iommu_feature *needs, unsigned n_needs);
/* A paging domain attached to the initiator (with the initiator's own pages mapped). */
bool dma_env_paging(struct dma_env *env);
/* Where an initiator's own pages (NVMe queues, PRP lists) go in a paging domain: clear of
 * every IOVA the scenarios use (0x10000..0x900000 and 0x40000000..0x7fffffff). */
#define DMA_ENV_OWN_IOVA 0x1000000ull
/* Maps the initiator's own pages in env->dom (identity under pass-through) and starts it. */
bool dma_env_own(struct dma_env *env);
/* Fills memory the device will read: the pattern for a seed, or the device's fixed buffer when
 * it cannot load one (then a read of it proves itself by comparing equal). */
void dma_env_source(struct dma_env *env, uint8_t *p, size_t len, uint32_t seed);
void dma_env_close(struct dma_env *env);

/* Zeroed pages below the initiator's address limit; NULL -> reported failure. */
struct dma_buf *dma_env_buf(struct dma_env *env, unsigned pages);
void dma_fill_pattern(uint8_t *p, size_t len, uint32_t seed);

/* Attaches dom to every requester ID of dev's IOMMU group (dev alone when no group holds it):
 * a group is attached as a whole. Detach likewise. */
int dma_env_attach_group(struct platform *plat, struct iommu_domain *dom,
                         struct iommu_device *dev);
int dma_env_detach_group(struct iommu_device *dev);
/* Attaches dom as the primary domain of the initiator's group (failure reported). */
bool dma_env_attach(struct dma_env *env, struct iommu_domain *dom);
/* Fails the check (report) when err is non-zero; returns true when it was zero. */
bool dma_env_ok(struct dma_env *env, int err, const char *what);
/* Reads and clears every pending fault into env->faults. */
void dma_env_drain(struct dma_env *env);
/* Finds a drained fault from the initiator at the page of iova whose kind is one of kinds
 * (n_kinds 0 = any kind); NULL if none. */
const struct iommu_fault *dma_env_find_fault(const struct dma_env *env, uint64_t iova, bool write,
                                             const enum iommu_fault_kind *kinds, unsigned n_kinds);
/* "source 0x0010 addr 0x...000 write reason 0x5 (...)" for evidence text. */
void dma_fault_text(const struct iommu_fault *f, char *buf, size_t len);

#endif
