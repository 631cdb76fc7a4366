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

/* The occupancy bitmap that follows each table (struct pt_alloc). */
static uint64_t *occupancy(const struct pt *pt, const uint64_t *table)
{
  return (uint64_t *)(void *)((uint8_t *)(uintptr_t)table + ((size_t)1 << pt->cfg.granule_shift));
}

/* Marks slots [idx, idx + n) used or free in the occupancy bitmap, a word at a time. */
static void mark(const struct pt *pt, const uint64_t *table, unsigned idx, unsigned n, bool used)
{
  uint64_t *occ = occupancy(pt, table);
  while (n) {
    unsigned bit = idx % 64, take = 64 - bit < n ? 64 - bit : n;
    uint64_t m = (take == 64 ? ~0ull : ((1ull << take) - 1)) << bit;
    if (used)
      occ[idx / 64] |= m;
    else
      occ[idx / 64] &= ~m;
    idx += take;
    n -= take;
  }
}

/* Stores entries [idx, idx + n): e, e + step, e + 2 * step, ... (0: clears them). */
static void store(const struct pt *pt, uint64_t *table, unsigned idx, unsigned n, uint64_t e,
                  uint64_t step)
{
  if (e == 0) {
    memset(&table[idx], 0, n * sizeof(uint64_t));
  } else {
    for (unsigned i = 0; i < n; i++, e += step)
      table[idx + i] = e;
  }
  mark(pt, table, idx, n, e != 0);
}

/* The first non-zero slot in [from, end), or end. */
static unsigned next_used(const struct pt *pt, const uint64_t *table, unsigned from, unsigned end)
{
  const uint64_t *occ = occupancy(pt, table);
  while (from < end) {
    uint64_t w = occ[from / 64] >> (from % 64);
    if (w) {
      unsigned at = from + (unsigned)__builtin_ctzll(w);
      return at < end ? at : end;
    }
    from = (from / 64 + 1) * 64;
  }
  return end;
}

/* A zeroed table of one granule, aligned to the granule, with its bitmap behind it. */
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
  /* room to align up to the granule, then the bitmap (entries / 8 bytes, one page at most) */
  size_t pages = (want == 1 ? 1 : 2 * want - 1) + 1;
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
      store(pt, table, idx, n, e, size);
      span_add(&written, idx, idx + n - 1);
      pt->stats.entries_written += n;
      *done += (uint64_t)n * size;
      step_last = iova + (uint64_t)n * size - 1;
    } else if (size) {
      store(pt, table, idx, count, f->encode_leaf(pt, phys, size, prot, level), 0);
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
        store(pt, table, idx, 1, f->encode_table(pt, next_phys, level), 0);
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
  /* A leaf whose count slots start at slots[first]; returns true when it changed them. */
  bool (*leaf)(struct visit *v, const struct pt *pt, uint64_t *table, unsigned first,
               unsigned count, uint64_t base, uint64_t size);
  /* Optional: count same-shape slot-sized leaves at once (no per-leaf work needed). */
  bool (*run)(struct visit *v, const struct pt *pt, uint64_t *table, unsigned first,
              unsigned count, uint64_t base, uint64_t span);
  void (*hole)(struct visit *v, uint64_t iova, uint64_t last);
  uint64_t bytes;
  bool found_hole;
  pt_range_fn fn;
  void *ctx;
  bool clear;
};

/* Decodes e, reusing the previous leaf of this level when only the address differs (runs of
 * same-size leaves decode once). */
struct decode_cache {
  uint64_t flags;
  struct pt_entry d;
  bool valid;
};

static void decode_at(const struct pt *pt, uint64_t e, unsigned level, struct decode_cache *c,
                      struct pt_entry *d)
{
  const struct pt_format *f = pt->cfg.fmt;
  uint64_t flags = e & ~f->addr_field;
  if (c->valid && flags == c->flags) {
    *d = c->d;
    d->addr = e & f->addr_field & ~(d->size - 1);
    return;
  }
  f->decode(pt, e, level, d);
  c->valid = d->kind == PT_ENTRY_LEAF && d->size == pt_level_size(pt, level);
  c->flags = flags;
  c->d = *d;
}

/* The IOVA slot idx of this table starts at, given one IOVA inside the table's coverage. */
static uint64_t slot_iova(const struct pt *pt, uint64_t inside, unsigned level, unsigned idx)
{
  unsigned shift = level_shift(pt, level);
  unsigned cover = shift + pt->stride;
  uint64_t base = cover >= 64 ? 0 : inside & ~((1ull << cover) - 1);
  return base + ((uint64_t)idx << shift);
}

static void visit_level(const struct pt *pt, uint64_t *table, unsigned level, uint64_t iova,
                        uint64_t last, struct visit *v)
{
  uint64_t span = pt_level_size(pt, level);
  unsigned end = index_at(pt, last, level) + 1;
  struct dirty_span written = { 0, 0, false };
  struct decode_cache cache = { .valid = false };
  unsigned idx = index_at(pt, iova, level);
  for (;;) {
    unsigned used = next_used(pt, table, idx, end);
    uint64_t at = used < end ? slot_iova(pt, iova, level, used) : 0;
    if (v->hole && (used == end || at > iova))
      v->hole(v, iova, used == end ? last : at - 1);
    if (used == end)
      break;
    if (at > iova)
      iova = at;
    uint64_t chunk_last = (iova | (span - 1)) < last ? (iova | (span - 1)) : last;
    uint64_t step_last = chunk_last;
    struct pt_entry d;
    decode_at(pt, table[used], level, &cache, &d);
    if (d.kind == PT_ENTRY_TABLE) {
      if (d.next_level >= 1 && d.next_level < level)
        visit_level(pt, phys_to_virt(d.addr), d.next_level, iova, chunk_last, v);
    } else if (d.kind == PT_ENTRY_LEAF) {
      /* Replicated pages (larger than a slot) start at their first replica. */
      uint64_t base = iova & ~(d.size - 1);
      unsigned count = d.size > span ? (unsigned)(d.size / span) : 1;
      unsigned first = count > 1 ? index_at(pt, base, level) : used;
      if (count == 1 && v->run) {
        /* the same leaf shape in the following slots, inside the range: one call for all */
        unsigned last_idx = index_at(pt, last, level);
        while (first + count <= last_idx &&
               (table[first + count] & ~pt->cfg.fmt->addr_field) == cache.flags && cache.valid)
          count++;
      }
      if (count > 1 && d.size == span) {
        if (v->run(v, pt, table, first, count, base, span))
          span_add(&written, first, first + count - 1);
        step_last = base + (uint64_t)count * span - 1;
      } else if (v->leaf(v, pt, table, first, count, base, d.size))
        span_add(&written, first, first + count - 1);
      if (base + d.size - 1 > step_last)
        step_last = base + d.size - 1;
      if (step_last > last)
        step_last = last;
    } else if (v->hole) {
      v->hole(v, iova, chunk_last); /* a malformed entry translates nothing */
    }
    if (step_last >= last)
      break;
    iova = step_last + 1;
    idx = index_at(pt, iova, level);
    if (idx == 0)
      break; /* wrapped past this table's coverage */
  }
  span_sync(pt, table, &written);
}

static bool leaf_is_dirty(const struct pt *pt, const uint64_t *slots, unsigned count)
{
  const struct pt_format *f = pt->cfg.fmt;
  for (unsigned i = 0; f->dirty_mask && i < count; i++) /* hardware marks the replica it walked */
    if ((slots[i] & f->dirty_mask) == f->dirty_match)
      return true;
  return false;
}

static bool unmap_leaf(struct visit *v, const struct pt *pt, uint64_t *table, unsigned first,
                       unsigned count, uint64_t base, uint64_t size)
{
  if (v->fn && leaf_is_dirty(pt, &table[first], count))
    v->fn(v->ctx, base, size);
  store(pt, table, first, count, 0, 0);
  v->bytes += size;
  return true;
}

static bool unmap_run(struct visit *v, const struct pt *pt, uint64_t *table, unsigned first,
                      unsigned count, uint64_t base, uint64_t span)
{
  (void)base;
  store(pt, table, first, count, 0, 0);
  v->bytes += (uint64_t)count * span;
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
  /* Without dirty read-back, runs of pages are cleared without a look at each. */
  struct visit v = { .leaf = unmap_leaf, .run = dirty_fn ? NULL : unmap_run, .fn = dirty_fn,
                     .ctx = ctx };
  visit_level(pt, pt->root, pt->levels, iova, last, &v);
  *unmapped = v.bytes;
  return v.bytes ? IOMMU_OK : IOMMU_ENOENT;
}

/* Harvest: a dedicated walk, since it runs over every mapped entry of a tracked range. At
 * level 1 every used slot is a leaf, so entries are tested as data, without a decode. */
struct harvest {
  pt_range_fn fn;
  void *ctx;
  bool clear;
};

static void report_dirty(const struct pt *pt, uint64_t *table, unsigned level, unsigned idx,
                         uint64_t inside, struct harvest *h, struct dirty_span *written)
{
  const struct pt_format *f = pt->cfg.fmt;
  struct pt_entry d;
  f->decode(pt, table[idx], level, &d);
  if (d.kind != PT_ENTRY_LEAF)
    return;
  uint64_t span = pt_level_size(pt, level);
  uint64_t at = slot_iova(pt, inside, level, idx);
  uint64_t base = at & ~(d.size - 1);
  unsigned count = d.size > span ? (unsigned)(d.size / span) : 1;
  unsigned first = count > 1 ? index_at(pt, base, level) : idx;
  h->fn(h->ctx, base, d.size);
  if (!h->clear)
    return;
  for (unsigned i = 0; i < count; i++)
    table[first + i] = (table[first + i] & ~f->clean_clear) | f->clean_set;
  span_add(written, first, first + count - 1);
}

static void harvest_level(const struct pt *pt, uint64_t *table, unsigned level, uint64_t iova,
                          uint64_t last, struct harvest *h)
{
  const struct pt_format *f = pt->cfg.fmt;
  uint64_t span = pt_level_size(pt, level);
  unsigned idx = index_at(pt, iova, level), end = index_at(pt, last, level) + 1;
  struct dirty_span written = { 0, 0, false };
  const uint64_t *occ = occupancy(pt, table);
  if (level == 1 && f->replica_mask) {
    /* A replicated page cut by either end of the window: hardware may have marked any of
     * its replicas, so every replica is looked at (the caller clips the report). */
    unsigned ends[2] = { idx, end - 1 };
    for (unsigned k = 0; k < 2; k++) {
      uint64_t e = table[ends[k]];
      if (e == 0 || (e & f->replica_mask) != f->replica_mask)
        continue;
      struct pt_entry d;
      f->decode(pt, e, level, &d);
      if (d.kind != PT_ENTRY_LEAF || d.size <= span)
        continue;
      uint64_t base = slot_iova(pt, iova, level, ends[k]) & ~(d.size - 1);
      unsigned first = index_at(pt, base, level), count = (unsigned)(d.size / span);
      if (k == 0 && first < idx)
        idx = first;
      if (k == 1 && first + count > end)
        end = first + count;
    }
  }
  if (level == 1) {
    /* Runs of consecutive dirty pages are reported as one range. */
    unsigned run = 0, run_len = 0;
    for (unsigned w = idx / 64; w * 64 < end; w++) {
      uint64_t bitsw = occ[w];
      if (w == idx / 64)
        bitsw &= ~0ull << (idx % 64);
      while (bitsw) {
        unsigned i = w * 64 + (unsigned)__builtin_ctzll(bitsw);
        bitsw &= bitsw - 1;
        if (i >= end)
          break;
        uint64_t e = table[i];
        if ((e & f->dirty_mask) != f->dirty_match)
          continue;
        if (f->replica_mask && (e & f->replica_mask) == f->replica_mask) {
          /* a replicated page is reported (and cleaned whole) from the replica found dirty */
          report_dirty(pt, table, level, i, iova, h, &written);
          continue;
        }
        if (run_len && run + run_len == i) {
          run_len++;
        } else {
          if (run_len)
            h->fn(h->ctx, slot_iova(pt, iova, level, run), (uint64_t)run_len * span);
          run = i;
          run_len = 1;
        }
        if (h->clear) {
          table[i] = (e & ~f->clean_clear) | f->clean_set;
          span_add(&written, i, i);
        }
      }
    }
    if (run_len)
      h->fn(h->ctx, slot_iova(pt, iova, level, run), (uint64_t)run_len * span);
    span_sync(pt, table, &written);
    return;
  }
  struct decode_cache cache = { .valid = false };
  for (unsigned i = next_used(pt, table, idx, end); i < end; i = next_used(pt, table, i + 1, end)) {
    struct pt_entry d;
    decode_at(pt, table[i], level, &cache, &d);
    uint64_t at = slot_iova(pt, iova, level, i);
    uint64_t lo = at > iova ? at : iova, hi = (at | (span - 1)) < last ? (at | (span - 1)) : last;
    if (d.kind == PT_ENTRY_TABLE && d.next_level >= 1 && d.next_level < level)
      harvest_level(pt, phys_to_virt(d.addr), d.next_level, lo, hi, h);
    else if (d.kind == PT_ENTRY_LEAF && (table[i] & f->dirty_mask) == f->dirty_match)
      report_dirty(pt, table, level, i, iova, h, &written);
  }
  span_sync(pt, table, &written);
}

int pt_read_and_clear_dirty(struct pt *pt, uint64_t iova, uint64_t size, bool clear,
                            pt_range_fn fn, void *ctx)
{
  if (pt->root == NULL || size == 0)
    return IOMMU_EINVAL;
  if (pt->cfg.fmt->dirty_mask == 0)
    return IOMMU_EUNSUPPORTED;
  uint64_t last = iova + size - 1;
  if (last < iova || !fits(pt, last))
    return IOMMU_ERANGE;
  struct harvest h = { .fn = fn, .ctx = ctx, .clear = clear };
  harvest_level(pt, pt->root, pt->levels, iova, last, &h);
  return IOMMU_OK;
}

/* pt_check_mapped looks for holes only: leaves are passed over. */
static bool skip_leaf(struct visit *v, const struct pt *pt, uint64_t *table, unsigned first,
                      unsigned count, uint64_t base, uint64_t size)
{
  (void)v, (void)pt, (void)table, (void)first, (void)count, (void)base, (void)size;
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
  struct visit v = { .leaf = skip_leaf, .hole = note_hole };
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
