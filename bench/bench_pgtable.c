// bench-sources: @core
/* Page-table engine through the core API (iommu_map / iommu_unmap + sync) on the host:
 * mapping and unmapping 1 GiB as 4 KiB pages, against memset over the same number of
 * page-table bytes (262144 entries of 8 bytes) measured in the same run: the ratio is the
 * fraction of memset bandwidth (goal >= 0.5: the walk must not re-descend from the root for
 * every page). Mapping 1 GiB with 2 MiB leaves must touch ~512 entries, not 262144.
 * A dirty harvest benchmark: read-and-clear over the mapped entries against a plain read of
 * the same page-table bytes (goal <= 1.5x), and a sparse 1 TiB span with 1000 mapped pages. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/mem.h"
#include "iommu/core/core.h"
#include "iommu/core/dirty.h"

/* A unit whose driver does nothing but own a VT-d second-stage table: the engine and the
 * core are what is measured. */
static int stub_domain_alloc(struct iommu_unit *u, enum iommu_domain_type type, struct iommu_domain **out)
{
  struct iommu_domain *d = calloc(1, sizeof(*d));
  struct pt_cfg cfg = { .fmt = &pt_fmt_vtd_ss, .levels = 4, .ias = 48,
                        .page_sizes = (uint64_t)(uintptr_t)u->priv, .flags = PT_F_DIRTY_TRACK };
  d->unit = u;
  d->type = type;
  d->iova_bits = 48;
  if (pt_init(&d->pt, &cfg))
    abort();
  d->page_sizes = d->pt.page_sizes;
  *out = d;
  return 0;
}
static void stub_domain_free(struct iommu_domain *d)
{
  pt_free(&d->pt);
  free(d);
}
static int stub_flush(struct iommu_domain *d, uint64_t iova, uint64_t size)
{
  (void)d, (void)iova, (void)size;
  return 0;
}
static const char *stub_gap(const struct iommu_unit *u, enum iommu_feature f)
{
  (void)u, (void)f;
  return NULL;
}
static const struct iommu_ops stub_ops = {
  .name = "bench", .domain_alloc = stub_domain_alloc, .domain_free = stub_domain_free,
  .flush = stub_flush, .feature_gap = stub_gap,
};

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define GIB (1ull << 30)

/* What the hardware does on a DMA write to every mapped page: D (bit 9) in each leaf. */
static void mark_all_dirty(const struct pt *pt, uint64_t *table, unsigned level)
{
  for (unsigned i = 0; i < 512; i++) {
    struct pt_entry d;
    pt->cfg.fmt->decode(pt, table[i], level, &d);
    if (d.kind == PT_ENTRY_TABLE)
      mark_all_dirty(pt, phys_to_virt(d.addr), level - 1);
    else if (d.kind == PT_ENTRY_LEAF)
      table[i] |= 1ull << 9;
  }
}

static void count_range(void *ctx, uint64_t iova, uint64_t size)
{
  (void)iova;
  *(uint64_t *)ctx += size / 4096;
}
#define ROUNDS 8

static struct iommu_domain *new_domain(struct iommu_unit *u, uint64_t sizes)
{
  struct iommu_domain *d;
  u->priv = (void *)(uintptr_t)sizes;
  if (iommu_domain_alloc(u, IOMMU_DOMAIN_PAGING, &d))
    abort();
  return d;
}

int main(void)
{
  struct iommu_unit unit = { .ops = &stub_ops, .active = true };
  const uint64_t pages = GIB / 4096, table_bytes = pages * 8;
  uint8_t *scratch = malloc(table_bytes);

  /* memset and a plain read over the same page-table bytes: the baselines. */
  double t_memset = 1e9, t_read = 1e9;
  volatile uint64_t sink = 0;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now();
    memset(scratch, r + 1, table_bytes);
    double t1 = now();
    uint64_t acc = 0;
    for (uint64_t i = 0; i < pages; i++)
      acc += ((volatile uint64_t *)(void *)scratch)[i];
    double t2 = now();
    sink += acc;
    if (t1 - t0 < t_memset)
      t_memset = t1 - t0;
    if (t2 - t1 < t_read)
      t_read = t2 - t1;
  }

  double t_map = 1e9, t_unmap = 1e9, t_harvest = 1e9, t_core = 1e9;
  uint8_t *bitmap = malloc(pages / 8);
  uint64_t written = 0;
  for (int r = 0; r < ROUNDS; r++) {
    struct iommu_domain *d = new_domain(&unit, IOMMU_PAGE_4K);
    double t0 = now();
    if (iommu_map(d, GIB, 2 * GIB, GIB, IOMMU_PROT_READ | IOMMU_PROT_WRITE))
      abort();
    double t1 = now();
    written = d->pt.stats.entries_written;
    mark_all_dirty(&d->pt, d->pt.root, 4);
    uint64_t n_dirty = 0;
    double t2 = now();
    if (pt_read_and_clear_dirty(&d->pt, GIB, GIB, true, count_range, &n_dirty) != 0)
      abort();
    double t3 = now();
    if (n_dirty != pages)
      abort();
    /* The core's harvest of the same window: range checks, the hole check, the bitmap. */
    mark_all_dirty(&d->pt, d->pt.root, 4);
    d->dirty_enforced = d->dirty_on = true;
    memset(bitmap, 0, pages / 8);
    double t6 = now();
    if (iommu_read_and_clear_dirty(d, GIB, GIB, 4096, bitmap, 0) || bitmap[pages / 8 - 1] != 0xff)
      abort();
    double t7 = now();
    if (t7 - t6 < t_core)
      t_core = t7 - t6;
    struct iommu_gather g;
    iommu_gather_init(&g);
    double t4 = now();
    if (iommu_unmap(d, GIB, GIB, &g, NULL) || iommu_sync(d, &g))
      abort();
    double t5 = now();
    if (t1 - t0 < t_map)
      t_map = t1 - t0;
    if (t3 - t2 < t_harvest)
      t_harvest = t3 - t2;
    if (t5 - t4 < t_unmap)
      t_unmap = t5 - t4;
    iommu_domain_free(d);
  }
  printf("pgtable map 1GiB 4K: %.1f ns/page, %llu entries written; memset of the same %llu "
         "table bytes: ratio %.2f of memset bandwidth (goal >= 0.5)\n",
         t_map * 1e9 / (double)pages, (unsigned long long)written,
         (unsigned long long)table_bytes, t_memset / t_map);
  printf("pgtable unmap 1GiB 4K: %.1f ns/page; ratio %.2f of memset bandwidth (goal >= 0.5)\n",
         t_unmap * 1e9 / (double)pages, t_memset / t_unmap);

  double t_map2m = 1e9, t_unmap2m = 1e9;
  for (int r = 0; r < ROUNDS; r++) {
    struct iommu_domain *d = new_domain(&unit, IOMMU_PAGE_4K | IOMMU_PAGE_2M);
    double t0 = now();
    if (iommu_map(d, GIB, 2 * GIB, GIB, IOMMU_PROT_READ | IOMMU_PROT_WRITE))
      abort();
    double t1 = now();
    written = d->pt.stats.entries_written;
    if (iommu_unmap_sync(d, GIB, GIB))
      abort();
    double t2 = now();
    if (t1 - t0 < t_map2m)
      t_map2m = t1 - t0;
    if (t2 - t1 < t_unmap2m)
      t_unmap2m = t2 - t1;
    iommu_domain_free(d);
  }
  printf("pgtable map 1GiB 2M: %llu entries written (goal ~512, not 262144), %.2f us; "
         "ratio %.4f of the 4K map's time\n", (unsigned long long)written, t_map2m * 1e6,
         t_map2m / t_map);
  printf("pgtable unmap 1GiB 2M: %.2f us; ratio %.4f of the 4K unmap's time\n", t_unmap2m * 1e6,
         t_unmap2m / t_unmap);
  printf("dirty harvest 1GiB 4K (262144 mapped entries): %.2f ns/entry; ratio %.2f of a plain "
         "read of the same table bytes (goal <= 1.5)\n", t_harvest * 1e9 / (double)pages,
         t_harvest / t_read);

  printf("dirty harvest core 1GiB 4K into a 32 KiB bitmap (iommu_read_and_clear_dirty, every "
         "page dirty): %.2f ns/entry; ratio %.2f of a plain read, %.2f of the engine's harvest\n",
         t_core * 1e9 / (double)pages, t_core / t_read, t_core / t_harvest);
  free(bitmap);

  /* Sparse: 1000 pages spread over a 1 TiB span; cost follows the mapped entries. */
  double t_sparse = 1e9, t_dense = 1e9;
  uint64_t sink_pages = 0;
  for (int r = 0; r < ROUNDS; r++) {
    struct iommu_domain *d = new_domain(&unit, IOMMU_PAGE_4K);
    for (unsigned i = 0; i < 1000; i++)
      if (iommu_map(d, (1ull << 40) + (uint64_t)i * (1ull << 30), 0x10000000ull + 4096ull * i, 4096,
                    IOMMU_PROT_READ | IOMMU_PROT_WRITE))
        abort();
    double t0 = now();
    if (pt_read_and_clear_dirty(&d->pt, 1ull << 40, 1ull << 40, true, count_range, &sink_pages))
      abort();
    double t1 = now();
    iommu_domain_free(d);
    d = new_domain(&unit, IOMMU_PAGE_4K);
    if (iommu_map(d, 1ull << 40, 0x10000000ull, 1000 * 4096ull, IOMMU_PROT_READ | IOMMU_PROT_WRITE))
      abort();
    double t2 = now();
    if (pt_read_and_clear_dirty(&d->pt, 1ull << 40, 1000 * 4096ull, true, count_range, &sink_pages))
      abort();
    double t3 = now();
    iommu_domain_free(d);
    if (t1 - t0 < t_sparse)
      t_sparse = t1 - t0;
    if (t3 - t2 < t_dense)
      t_dense = t3 - t2;
  }
  printf("dirty harvest sparse 1TiB span, 1000 pages (one per GiB): %.2f us; ratio %.2f of "
         "1000 contiguous pages (%.2f us)\n", t_sparse * 1e6, t_sparse / t_dense, t_dense * 1e6);
  free(scratch);
  return sink == 42 ? 1 : 0;
}
