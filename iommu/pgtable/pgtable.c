/* The page-table engine: every walk over I/O page tables, for every format. Ranges are
 * walked top-down once (a table is entered once per range, never re-descended from the
 * root per page), and each table's changed entries are made visible to the walker with one
 * cache maintenance call. */
#include "iommu/pgtable/pgtable.h"

#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/iommu_err.h"

static unsigned level_shift(const struct pt *pt, unsigned level)
{
  return pt->cfg.granule_shift + (level - 1) * pt->stride;
}

uint64_t pt_level_size(const struct pt *pt, unsigned level)
{
  unsigned shift = level_shift(pt, level);
  return shift >= 64 ? 0 : 1ull << shift;
}

static unsigned index_at(const struct pt *pt, uint64_t iova, unsigned level)
{
  unsigned shift = level_shift(pt, level);
  return shift >= 64 ? 0 : (unsigned)((iova >> shift) & ((1ull << pt->stride) - 1));
}

/* Table memory written by the CPU becomes visible to the walker. */
static void sync(const struct pt *pt, const void *p, size_t len)
{
  if (pt->cfg.flags & PT_F_NONCOHERENT)
    arch_cache_flush(p, len);
  else
    arch_mb();
}

static bool fits(const struct pt *pt, uint64_t last)
{
  return pt->cfg.ias >= 64 || (last >> pt->cfg.ias) == 0;
}

/* A zeroed table of one granule, aligned to the granule. */
static uint64_t *table_alloc(struct pt *pt, uint64_t *phys)
{
  if (pt->n_allocs == pt->cap_allocs) {
    unsigned cap = pt->cap_allocs ? pt->cap_allocs * 2 : 16;
    struct pt_alloc *a = realloc(pt->allocs, cap * sizeof(*a));
    if (a == NULL)
      return NULL;
    pt->allocs = a;
    pt->cap_allocs = cap;
  }
  size_t bytes = (size_t)1 << pt->cfg.granule_shift;
  size_t want = bytes / PAGE_SIZE;
  size_t pages = want == 1 ? 1 : 2 * want - 1; /* room to align up to the granule */
  uint64_t p;
  uint8_t *mem = page_alloc(pages, UINT64_MAX, &p);
  if (mem == NULL)
    return NULL;
  uint64_t aligned = (p + bytes - 1) & ~(uint64_t)(bytes - 1);
  pt->allocs[pt->n_allocs++] = (struct pt_alloc){ mem, pages };
  uint64_t *t = (uint64_t *)(void *)(mem + (aligned - p));
  sync(pt, t, bytes);
  pt->stats.tables++;
  *phys = aligned;
  return t;
}

int pt_init(struct pt *pt, const struct pt_cfg *cfg)
{
  memset(pt, 0, sizeof(*pt));
  pt->cfg = *cfg;
  if (pt->cfg.granule_shift == 0)
    pt->cfg.granule_shift = 12;
  if (pt->cfg.oas == 0)
    pt->cfg.oas = 52;
  unsigned g = pt->cfg.granule_shift;
  if (cfg->fmt == NULL || (g != 12 && g != 14 && g != 16))
    return IOMMU_EUNSUPPORTED;
  if (cfg->ias <= g || cfg->ias > 64 || pt->cfg.oas > 64)
    return IOMMU_EINVAL;
  pt->stride = g - 3;
  pt->levels = cfg->levels ? cfg->levels : (cfg->ias - g + pt->stride - 1) / pt->stride;
  if (pt->levels < 1 || pt->levels > PT_MAX_LEVELS)
    return IOMMU_EUNSUPPORTED;
  for (unsigned level = 1; level <= pt->levels; level++) {
    uint64_t sizes = cfg->fmt->leaf_sizes(pt, level);
    for (uint64_t s = sizes; s; s &= s - 1) {
      uint64_t size = s & -s;
      if (fits(pt, size - 1))
        pt->page_sizes |= size;
    }
  }
  if (cfg->page_sizes)
    pt->page_sizes &= cfg->page_sizes;
  if (!(pt->page_sizes & (1ull << g)))
    return IOMMU_EUNSUPPORTED; /* the granule itself must be mappable */
  pt->root = table_alloc(pt, &pt->root_phys);
  return pt->root ? IOMMU_OK : IOMMU_ENOMEM;
}

void pt_free(struct pt *pt)
{
  for (unsigned i = 0; i < pt->n_allocs; i++)
    page_free(pt->allocs[i].mem, pt->allocs[i].pages);
  free(pt->allocs);
  pt->allocs = NULL;
  pt->n_allocs = pt->cap_allocs = 0;
  pt->root = NULL;
  pt->root_phys = 0;
}

/* The largest leaf at `level` that iova and phys are aligned to and that ends by last. */
static uint64_t pick_leaf(const struct pt *pt, unsigned level, uint64_t iova, uint64_t phys,
                          uint64_t last)
{
  uint64_t sizes = pt->cfg.fmt->leaf_sizes(pt, level) & pt->page_sizes;
  while (sizes) {
    uint64_t s = 1ull << (63 - __builtin_clzll(sizes));
    if (((iova | phys) & (s - 1)) == 0 && s - 1 <= last - iova)
      return s;
    sizes &= ~s;
  }
  return 0;
}

/* Entries [lo, hi] of a table were written: one cache maintenance call for them. */
struct dirty_span {
  unsigned lo, hi;
  bool any;
};

static void span_add(struct dirty_span *s, unsigned lo, unsigned hi)
{
  if (!s->any || lo < s->lo)
    s->lo = lo;
  if (!s->any || hi > s->hi)
    s->hi = hi;
  s->any = true;
}

static void span_sync(const struct pt *pt, const uint64_t *table, const struct dirty_span *s)
{
  if (s->any)
    sync(pt, &table[s->lo], (size_t)(s->hi - s->lo + 1) * sizeof(uint64_t));
}

static int map_level(struct pt *pt, uint64_t *table, unsigned level, uint64_t iova, uint64_t last,
                     uint64_t phys, unsigned prot, uint64_t *done)
{
  const struct pt_format *f = pt->cfg.fmt;
  uint64_t span = pt_level_size(pt, level);
  struct dirty_span written = { 0, 0, false };
  int err = IOMMU_OK;
  for (;;) {
    unsigned idx = index_at(pt, iova, level);
    uint64_t chunk_last = (iova | (span - 1)) < last ? (iova | (span - 1)) : last;
    uint64_t size = pick_leaf(pt, level, iova, phys, last);
    uint64_t step_last;
    unsigned count = size > span ? (unsigned)(size / span) : 1;
    for (unsigned i = 0; size && i < count; i++) {
      struct pt_entry d;
      f->decode(pt, table[idx + i], level, &d);
      if (d.kind == PT_ENTRY_LEAF) {
        err = IOMMU_EEXIST;
        goto out;
      }
      /* A table left by earlier mappings stays: replacing a present table entry by a leaf
       * would need a paging-structure cache flush first. Smaller leaves go below it. */
      if (d.kind == PT_ENTRY_TABLE)
        size = 0;
    }
    if (size && count == 1) {
      /* A run of same-size leaves into empty slots: encoded once, the output address
       * advanced in place (every format's address field is linear in the entry). */
      uint64_t e = f->encode_leaf(pt, phys, size, prot, level);
      unsigned n = 1, slots = 1u << pt->stride;
      uint64_t room = (last - iova - (size - 1)) / size + 1; /* whole leaves up to last */
      while (idx + n < slots && n < room && table[idx + n] == 0)
        n++;
      for (unsigned i = 0; i < n; i++)
        table[idx + i] = e + (uint64_t)i * size;
      span_add(&written, idx, idx + n - 1);
      pt->stats.entries_written += n;
      *done += (uint64_t)n * size;
      step_last = iova + (uint64_t)n * size - 1;
    } else if (size) {
      uint64_t e = f->encode_leaf(pt, phys, size, prot, level);
      for (unsigned i = 0; i < count; i++)
        table[idx + i] = e;
      span_add(&written, idx, idx + count - 1);
      pt->stats.entries_written += count;
      *done += size;
      step_last = iova + size - 1;
    } else {
      if (level == 1) {
        err = IOMMU_EINVAL; /* not aligned to the smallest page */
        goto out;
      }
      struct pt_entry d;
      f->decode(pt, table[idx], level, &d);
      uint64_t *next;
      if (d.kind == PT_ENTRY_NONE) {
        uint64_t next_phys;
        next = table_alloc(pt, &next_phys);
        if (next == NULL) {
          err = IOMMU_ENOMEM;
          goto out;
        }
        table[idx] = f->encode_table(pt, next_phys, level);
        span_add(&written, idx, idx);
        pt->stats.entries_written++;
      } else if (d.kind == PT_ENTRY_LEAF || d.next_level != level - 1) {
        err = IOMMU_EEXIST; /* a larger leaf (or a table we did not build) covers this */
        goto out;
      } else {
        next = phys_to_virt(d.addr);
      }
      err = map_level(pt, next, level - 1, iova, chunk_last, phys, prot, done);
      if (err)
        goto out;
      step_last = chunk_last;
    }
    if (step_last >= last)
      break;
    phys += step_last - iova + 1;
    iova = step_last + 1;
  }
out:
  span_sync(pt, table, &written);
  return err;
}

int pt_map_range(struct pt *pt, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot)
{
  uint64_t min = pt->page_sizes & -pt->page_sizes;
  if (pt->root == NULL || size == 0 || ((iova | phys | size) & (min - 1)))
    return IOMMU_EINVAL;
  if (!(prot & (PT_READ | PT_WRITE)))
    return IOMMU_EINVAL; /* no permission at all would be a not-present entry */
  if (pt->cfg.fmt->write_implies_read && (prot & PT_WRITE))
    prot |= PT_READ;
  uint64_t last = iova + size - 1, phys_last = phys + size - 1;
  if (last < iova || phys_last < phys || !fits(pt, last) ||
      (pt->cfg.oas < 64 && (phys_last >> pt->cfg.oas)))
    return IOMMU_ERANGE;
  uint64_t done = 0;
  int err = map_level(pt, pt->root, pt->levels, iova, last, phys, prot, &done);
  if (err && done) {
    uint64_t removed;
    pt_unmap_range(pt, iova, done, &removed, NULL, NULL);
  }
  return err;
}

/* ---- range visits: unmap, dirty harvest, hole check ---- */
struct visit {
  /* A leaf whose count slots start at slots[0]; returns true when it changed them. */
  bool (*leaf)(struct visit *v, const struct pt *pt, uint64_t *slots, unsigned count,
               uint64_t base, uint64_t size);
  void (*hole)(struct visit *v, uint64_t iova, uint64_t last);
  uint64_t bytes;
  bool found_hole;
  pt_range_fn fn;
  void *ctx;
  bool clear;
};

static void visit_level(const struct pt *pt, uint64_t *table, unsigned level, uint64_t iova,
                        uint64_t last, struct visit *v)
{
  const struct pt_format *f = pt->cfg.fmt;
  uint64_t span = pt_level_size(pt, level);
  struct dirty_span written = { 0, 0, false };
  for (;;) {
    unsigned idx = index_at(pt, iova, level);
    uint64_t chunk_last = (iova | (span - 1)) < last ? (iova | (span - 1)) : last;
    uint64_t step_last = chunk_last;
    struct pt_entry d = { .kind = PT_ENTRY_NONE };
    if (table[idx] != 0) /* zero is not present in every format: no decode needed */
      f->decode(pt, table[idx], level, &d);
    if (d.kind == PT_ENTRY_NONE) {
      if (v->hole)
        v->hole(v, iova, chunk_last);
    } else if (d.kind == PT_ENTRY_TABLE) {
      if (d.next_level >= 1 && d.next_level < level)
        visit_level(pt, phys_to_virt(d.addr), d.next_level, iova, chunk_last, v);
    } else {
      /* Replicated pages (larger than a slot) start at their first replica. */
      uint64_t base = iova & ~(d.size - 1);
      unsigned count = d.size > span ? (unsigned)(d.size / span) : 1;
      unsigned first = count > 1 ? index_at(pt, base, level) : idx;
      if (v->leaf(v, pt, &table[first], count, base, d.size))
        span_add(&written, first, first + count - 1);
      step_last = base + d.size - 1 > chunk_last ? base + d.size - 1 : chunk_last;
    }
    if (step_last >= last)
      break;
    iova = step_last + 1;
  }
  span_sync(pt, table, &written);
}

static bool leaf_is_dirty(const struct pt *pt, const uint64_t *slots, unsigned count)
{
  const struct pt_format *f = pt->cfg.fmt;
  if (f->leaf_dirty == NULL)
    return false;
  for (unsigned i = 0; i < count; i++) /* hardware marks the replica it walked */
    if (f->leaf_dirty(pt, slots[i]))
      return true;
  return false;
}

static bool unmap_leaf(struct visit *v, const struct pt *pt, uint64_t *slots, unsigned count,
                       uint64_t base, uint64_t size)
{
  if (v->fn && leaf_is_dirty(pt, slots, count))
    v->fn(v->ctx, base, size);
  memset(slots, 0, count * sizeof(uint64_t));
  v->bytes += size;
  return true;
}

/* A leaf that straddles first or last would be cut: refused before anything changes. */
static int check_ends(const struct pt *pt, uint64_t first, uint64_t last)
{
  uint64_t ends[2] = { first, last };
  for (unsigned i = 0; i < 2; i++) {
    uint64_t phys, size;
    unsigned prot;
    if (pt_iova_to_phys(pt, ends[i], &phys, &prot, &size) != IOMMU_OK)
      continue;
    uint64_t base = ends[i] & ~(size - 1);
    if (base < first || base + size - 1 > last)
      return IOMMU_ERANGE;
  }
  return IOMMU_OK;
}

int pt_unmap_range(struct pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped,
                   pt_range_fn dirty_fn, void *ctx)
{
  uint64_t min = pt->page_sizes & -pt->page_sizes;
  *unmapped = 0;
  if (pt->root == NULL || size == 0 || ((iova | size) & (min - 1)))
    return IOMMU_EINVAL;
  uint64_t last = iova + size - 1;
  if (last < iova || !fits(pt, last))
    return IOMMU_ERANGE;
  int err = check_ends(pt, iova, last);
  if (err)
    return err;
  struct visit v = { .leaf = unmap_leaf, .fn = dirty_fn, .ctx = ctx };
  visit_level(pt, pt->root, pt->levels, iova, last, &v);
  *unmapped = v.bytes;
  return v.bytes ? IOMMU_OK : IOMMU_ENOENT;
}

static bool harvest_leaf(struct visit *v, const struct pt *pt, uint64_t *slots, unsigned count,
                         uint64_t base, uint64_t size)
{
  if (!leaf_is_dirty(pt, slots, count))
    return false;
  v->fn(v->ctx, base, size);
  if (!v->clear)
    return false;
  for (unsigned i = 0; i < count; i++)
    slots[i] = pt->cfg.fmt->leaf_clean(pt, slots[i]);
  return true;
}

int pt_read_and_clear_dirty(struct pt *pt, uint64_t iova, uint64_t size, bool clear,
                            pt_range_fn fn, void *ctx)
{
  if (pt->root == NULL || size == 0)
    return IOMMU_EINVAL;
  if (pt->cfg.fmt->leaf_dirty == NULL)
    return IOMMU_EUNSUPPORTED;
  uint64_t last = iova + size - 1;
  if (last < iova || !fits(pt, last))
    return IOMMU_ERANGE;
  struct visit v = { .leaf = harvest_leaf, .fn = fn, .ctx = ctx, .clear = clear };
  visit_level(pt, pt->root, pt->levels, iova, last, &v);
  return IOMMU_OK;
}

static bool count_leaf(struct visit *v, const struct pt *pt, uint64_t *slots, unsigned count,
                       uint64_t base, uint64_t size)
{
  (void)pt, (void)slots, (void)count, (void)base;
  v->bytes += size;
  return false;
}

static void note_hole(struct visit *v, uint64_t iova, uint64_t last)
{
  (void)iova, (void)last;
  v->found_hole = true;
}

int pt_check_mapped(const struct pt *pt, uint64_t iova, uint64_t size)
{
  if (pt->root == NULL || size == 0)
    return IOMMU_EINVAL;
  uint64_t last = iova + size - 1;
  if (last < iova || !fits(pt, last))
    return IOMMU_ERANGE;
  struct visit v = { .leaf = count_leaf, .hole = note_hole };
  visit_level(pt, pt->root, pt->levels, iova, last, &v);
  return v.found_hole ? IOMMU_ENOENT : IOMMU_OK;
}

int pt_iova_to_phys(const struct pt *pt, uint64_t iova, uint64_t *phys, unsigned *prot,
                    uint64_t *leaf_size)
{
  if (pt->root == NULL || !fits(pt, iova))
    return IOMMU_ERANGE;
  const uint64_t *table = pt->root;
  unsigned level = pt->levels, allowed = PT_READ | PT_WRITE;
  for (;;) {
    struct pt_entry d;
    pt->cfg.fmt->decode(pt, table[index_at(pt, iova, level)], level, &d);
    if (d.kind == PT_ENTRY_NONE)
      return IOMMU_ENOENT;
    allowed &= d.prot; /* permissions are the AND along the walk */
    if (d.kind == PT_ENTRY_LEAF) {
      *phys = d.addr | (iova & (d.size - 1));
      if (prot)
        *prot = allowed;
      if (leaf_size)
        *leaf_size = d.size;
      return IOMMU_OK;
    }
    if (d.next_level < 1 || d.next_level >= level)
      return IOMMU_ENOENT; /* a walk must go down */
    table = phys_to_virt(d.addr);
    level = d.next_level;
  }
}
