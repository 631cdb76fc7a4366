/* dirty.aux (SCENARIOS.md): DMA writes tagged with an aux domain's PASID are harvested from
 * that domain only. The aux domain tracks dirty state; the primary domain maps the same IOVA
 * and takes an untagged write there, which must not show in the aux domain's harvest; the
 * harvest reports exactly the pages the tagged writes hit, and a second harvest nothing. */
#include <string.h>

#include "iommu/core/aux.h"
#include "iommu/core/dirty.h"
#include "tests/scenarios/aux_env.h"

#define AUX_PAGES 4u

void dirty_aux(struct scenario_ctx *ctx);

void dirty_aux(struct scenario_ctx *ctx)
{
  struct aux_env s;
  if (!aux_open(&s, ctx, "dirty.aux", true))
    goto out;
  const char *gap = iommu_aux_dirty_gap(s.e.unit);
  if (gap) {
    skip("dirty.aux", ctx->tag, "%s", gap);
    goto out;
  }
  struct iommu_domain *a = NULL;
  if (!dma_env_ok(&s.e, iommu_domain_alloc_flags(s.e.unit, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY, &a),
                  "dirty-tracking domain_alloc"))
    goto out;
  s.doms[s.n_doms++] = a;
  struct dma_buf *t[AUX_PAGES];
  for (unsigned i = 0; i < AUX_PAGES; i++)
    if ((t[i] = target(&s, a, DATA_IOVA + i * PAGE)) == NULL)
      goto out;
  struct dma_buf *p = target(&s, s.e.dom, DATA_IOVA + PAGE); /* the primary's page at that IOVA */
  if (p == NULL || !dma_env_ok(&s.e, iommu_set_dirty_tracking(a, true), "dirty tracking on") ||
      !aux_ok(&s, iommu_aux_attach(a, s.e.dev), "aux attach"))
    goto out;
  uint32_t pasid = 0;
  iommu_aux_get_pasid(a, s.e.dev, &pasid);
  /* A clean start: nothing the loads or the mapping left counts. */
  uint64_t bm = 0;
  if (!dma_env_ok(&s.e, iommu_read_and_clear_dirty(a, DATA_IOVA, AUX_PAGES * PAGE, PAGE, &bm, 0),
                  "first harvest"))
    goto out;
  bool l1 = false, l3 = false, lp = false;
  if (!write_tagged(&s, &s.e.ini, a, pasid, 0x31, DATA_IOVA + PAGE, t[1], &l1) ||
      !write_tagged(&s, &s.e.ini, a, pasid, 0x33, DATA_IOVA + 3 * PAGE, t[3], &l3) ||
      !write_tagged(&s, &s.e.ini, s.e.dom, IOMMU_NO_PASID, 0x35, DATA_IOVA + PAGE, p, &lp))
    goto out;
  bm = 0;
  int herr = iommu_read_and_clear_dirty(a, DATA_IOVA, AUX_PAGES * PAGE, PAGE, &bm, 0);
  uint64_t again = 0;
  int aerr = herr ? herr : iommu_read_and_clear_dirty(a, DATA_IOVA, AUX_PAGES * PAGE, PAGE, &again, 0);
  dma_env_drain(&s.e);
  struct subconds sc = { "", "" };
  subcond(&sc, "tagged-landed", l1 && l3);
  subcond(&sc, "untagged-landed", lp);
  subcond(&sc, "harvest", herr == 0 && aerr == 0);
  subcond(&sc, "exact", herr == 0 && bm == 0xa);
  subcond(&sc, "cleared", aerr == 0 && again == 0);
  subcond(&sc, "no-faults", s.e.n_faults == 0);
  aux_report(&s, &sc,
             "aux domain (PASID 0x%x) tracking dirty state over IOVA 0x%llx + %u pages: tagged writes to "
             "pages 1 and 3 %s, an untagged write through the primary domain to page 1's IOVA %s; "
             "harvest %s: bitmap 0x%llx (want 0xa: pages 1 and 3 only); second harvest 0x%llx; %u fault(s)",
             pasid, (unsigned long long)DATA_IOVA, AUX_PAGES, l1 && l3 ? "landed" : "MISSING",
             lp ? "landed" : "MISSING", iommu_strerror(herr ? herr : aerr), (unsigned long long)bm,
             (unsigned long long)again, s.e.n_faults);
out:
  aux_close(&s);
}
