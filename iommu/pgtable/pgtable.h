/* One I/O page-table engine for every format the drivers use. A format (fmt_*.c) is a small
 * table of entry encoders and decoders; the engine does the walking: map_range with the
 * largest leaves each step allows, unmap_range that reports what it removed and whether it
 * was dirty, iova_to_phys, read_and_clear_dirty, free. It knows no IOMMU and touches no
 * register; drivers pick a format and point their context / DTE / STE / CD at pt.root_phys.
 *
 * Levels are numbered from the leaf up: level 1 holds granule-sized pages (4K/16K/64K),
 * level 2 the next larger leaves (2M/32M/512M), and so on; the root is level `levels`. */
#ifndef IOMMU_PGTABLE_H
#define IOMMU_PGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_MAX_LEVELS 6

enum pt_prot { PT_READ = 1u, PT_WRITE = 2u };   /* same values as IOMMU_PROT_* */

enum pt_entry_kind { PT_ENTRY_NONE, PT_ENTRY_TABLE, PT_ENTRY_LEAF };

struct pt;

/* What a format says one entry is. */
struct pt_entry {
  enum pt_entry_kind kind;
  uint64_t addr;            /* next table, or the leaf's output base (aligned to size) */
  uint64_t size;            /* leaf: bytes the page covers (may exceed one slot: replicas) */
  unsigned prot;            /* PT_READ | PT_WRITE this entry grants (tables: for the AND) */
  unsigned next_level;      /* table: the level of the table it points to */
};

/* Every format keeps two properties the engine relies on: an all-zero entry is not present,
 * and a leaf's output address is a linear field (encode_leaf(phys + k * size) ==
 * encode_leaf(phys) + k * size), so runs of leaves are encoded once. */
struct pt_format {
  const char *name;
  /* Leaf sizes an entry at `level` can describe (a bitmask of sizes; a size larger than the
   * level's slot is a replicated page, AMD v1 next-level 7). */
  uint64_t (*leaf_sizes)(const struct pt *pt, unsigned level);
  uint64_t (*encode_table)(const struct pt *pt, uint64_t next_phys, unsigned level);
  uint64_t (*encode_leaf)(const struct pt *pt, uint64_t phys, uint64_t size, unsigned prot,
                          unsigned level);
  void (*decode)(const struct pt *pt, uint64_t e, unsigned level, struct pt_entry *out);
  /* The leaf's output-address field (linear: see above). */
  uint64_t addr_field;
  /* Hardware dirty state as data, so a harvest tests entries without a call: a leaf is
   * dirty when (e & dirty_mask) == dirty_match (dirty_mask 0: no dirty state); cleaning
   * makes it (e & ~clean_clear) | clean_set. */
  uint64_t dirty_mask, dirty_match, clean_clear, clean_set;
  /* Leaves with (e & replica_mask) == replica_mask are replicated pages larger than their
   * slot (AMD v1 next level 7); 0 when the format has none. */
  uint64_t replica_mask;
  /* A write-only request becomes read/write (formats where present means readable). */
  bool write_implies_read;
};

/* Formats (iommu/pgtable/fmt_*.c). */
extern const struct pt_format pt_fmt_vtd_ss;    /* VT-d second stage (9.8) */
extern const struct pt_format pt_fmt_x86_64;    /* x86-64 paging: VT-d first stage, AMD v2 */
extern const struct pt_format pt_fmt_amd_v1;    /* AMD-Vi v1 host tables (2.2.3) */
extern const struct pt_format pt_fmt_arm_s1;    /* VMSAv8-64 stage 1 (SMMUv3 CD tables) */
extern const struct pt_format pt_fmt_arm_s2;    /* VMSAv8-64 stage 2 (SMMUv3 STE S2TTB) */

/* Format options (pt_cfg.flags). */
#define PT_F_DIRTY_TRACK  (1u << 0)  /* writable leaves start clean so hardware marks writes */
#define PT_F_NONCOHERENT  (1u << 1)  /* the walker does not snoop: clean caches after writes */
#define PT_F_ARM_NC       (1u << 2)  /* Arm: non-cacheable, outer-shareable memory attributes */
#define PT_F_ARM_NG       (1u << 3)  /* Arm stage 1: nG (entries tagged with the ASID) */

struct pt_cfg {
  const struct pt_format *fmt;
  unsigned granule_shift;   /* 12 (default when 0), 14, 16 */
  unsigned levels;          /* table depth; 0 = as many as ias needs */
  unsigned ias;             /* input addresses must be below 1 << ias (64: all) */
  unsigned oas;             /* output addresses below 1 << oas (0: 52) */
  uint64_t page_sizes;      /* leaf sizes allowed; 0 = every size the format offers */
  unsigned flags;           /* PT_F_* */
};

/* A table's memory: the granule the walker reads, followed by the engine's own occupancy
 * bitmap (a bit per non-zero entry) that hardware never sees, so walks skip empty slots
 * and cost follows the mapped entries, not the span. */
struct pt_alloc {
  void *mem;
  size_t pages;
};

/* Counters the benchmark and tests read. */
struct pt_stats {
  uint64_t entries_written; /* leaf and table entries stored */
  uint64_t tables;          /* tables allocated */
};

struct pt {
  struct pt_cfg cfg;
  unsigned levels, stride;  /* stride: index bits per level (granule_shift - 3) */
  uint64_t page_sizes;      /* cfg.page_sizes restricted to what the format and ias allow */
  uint64_t *root, root_phys;
  struct pt_alloc *allocs;  /* every table, freed together */
  unsigned n_allocs, cap_allocs;
  struct pt_stats stats;
};

/* Reports one range: dirty leaves (harvest: consecutive dirty pages come as one range;
 * unmap: one leaf at a time). */
typedef void (*pt_range_fn)(void *ctx, uint64_t iova, uint64_t size);

/* Named errors are the IOMMU_E* values (iommu/iommu.h); 0 is success. */
int pt_init(struct pt *pt, const struct pt_cfg *cfg);
void pt_free(struct pt *pt);
/* Maps [iova, iova + size) to [phys, ...) with the largest leaves alignment allows. iova,
 * phys and size must be multiples of the smallest page size. Nothing already mapped may be
 * in the range (IOMMU_EEXIST); on any error nothing of the range stays mapped. */
int pt_map_range(struct pt *pt, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot);
/* Removes every leaf in [iova, iova + size); holes are skipped. A leaf that straddles either
 * end is IOMMU_ERANGE and nothing changes; a range with nothing mapped is IOMMU_ENOENT.
 * *unmapped gets the bytes removed; dirty_fn (may be NULL) hears each dirty leaf removed. */
int pt_unmap_range(struct pt *pt, uint64_t iova, uint64_t size, uint64_t *unmapped,
                   pt_range_fn dirty_fn, void *ctx);
/* Walks as the hardware does (following skipped levels, ANDing permissions). */
int pt_iova_to_phys(const struct pt *pt, uint64_t iova, uint64_t *phys, unsigned *prot,
                    uint64_t *leaf_size);
/* Calls fn for every dirty leaf in [iova, iova + size) and, when clear, makes it clean
 * (every replica of a replicated page). Cost follows the mapped entries, not the span. */
int pt_read_and_clear_dirty(struct pt *pt, uint64_t iova, uint64_t size, bool clear,
                            pt_range_fn fn, void *ctx);
/* IOMMU_OK when every byte of [iova, iova + size) is mapped, IOMMU_ENOENT at a hole. */
int pt_check_mapped(const struct pt *pt, uint64_t iova, uint64_t size);
/* Bytes one slot of `level` covers. */
uint64_t pt_level_size(const struct pt *pt, unsigned level);

#endif
