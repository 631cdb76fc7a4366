/* ACPI: RSDP/XSDT directory and parsers for MCFG, DMAR, IVRS and IORT.
 * Every parser takes the table as bytes and its length, checks every length and offset
 * against that buffer, and returns 0 or a negative ACPI_E* code; it never reads outside
 * the buffer. Table layouts: ACPI 6.5 (RSDP 5.2.5, XSDT 5.2.8, MCFG: PCI Firmware 3.3 4.1.2),
 * Intel VT-d 4.1 chapter 8 (DMAR), AMD IOMMU 3.08 section 5 (IVRS),
 * Arm DEN0049E (IORT). */
#ifndef BOOT_ACPI_H
#define BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum acpi_err {
  ACPI_OK = 0,
  ACPI_ETRUNCATED = -1,   /* a length points past the end of the table */
  ACPI_ECHECKSUM = -2,    /* checksum byte does not make the sum zero */
  ACPI_ESIGNATURE = -3,   /* wrong signature */
  ACPI_EBADLEN = -4,      /* a (sub)structure length is too small / zero / misaligned */
  ACPI_ETOOMANY = -5,     /* more entries than the parser keeps */
  ACPI_EOVERLAP = -6,     /* entries overlap (IORT nodes, ID ranges, MCFG bus ranges) */
  ACPI_EBADREF = -7,      /* a reference/offset names no valid node */
  ACPI_EBADVALUE = -8,    /* a field holds a value the spec forbids */
  ACPI_ENOTFOUND = -9,
};
const char *acpi_strerror(int err);

#define ACPI_HDR_LEN 36u

struct acpi_table_ref {
  char sig[5];
  const uint8_t *data;     /* the whole table, header included */
  uint32_t len;
  uint64_t phys;
};

#define ACPI_MAX_TABLES 64
struct acpi_dir {
  uint8_t rsdp_revision;
  uint64_t rsdp_phys, xsdt_phys;
  unsigned n_tables;
  struct acpi_table_ref tables[ACPI_MAX_TABLES];
};

/* Little-endian reads from unaligned table bytes. */
uint16_t acpi_rd16(const uint8_t *p);
uint32_t acpi_rd32(const uint8_t *p);
uint64_t acpi_rd64(const uint8_t *p);
uint8_t acpi_checksum(const uint8_t *p, size_t len);

/* Checks a table's header against the bytes available: signature (when sig != NULL),
 * header length <= avail, length >= minimum, checksum. */
int acpi_table_check(const uint8_t *t, size_t avail, const char *sig, uint32_t min_len);

/* Resolver the directory walk uses to turn a physical address into readable bytes
 * (identity on UEFI; an arena on the host). Returns NULL when the address is not readable. */
typedef const uint8_t *(*acpi_map_fn)(uint64_t phys, size_t len, void *ctx);
int acpi_dir_from_rsdp(struct acpi_dir *dir, uint64_t rsdp_phys, acpi_map_fn map, void *ctx);
const struct acpi_table_ref *acpi_dir_find(const struct acpi_dir *dir, const char *sig,
                                           unsigned instance);

/* ---- MCFG ---- */
#define MCFG_MAX_SEGMENTS 8
struct mcfg_segment {
  uint64_t base;
  uint16_t segment;
  uint8_t start_bus, end_bus;
};
struct mcfg_info {
  unsigned n;
  struct mcfg_segment seg[MCFG_MAX_SEGMENTS];
};
int mcfg_parse(const uint8_t *t, size_t len, struct mcfg_info *out);

/* ---- DMAR ---- */
#define DMAR_MAX_DRHD 16
#define DMAR_MAX_RMRR 16
#define DMAR_MAX_ATSR 8
#define DMAR_MAX_SCOPES 32   /* per structure */
#define DMAR_MAX_PATH 8

enum dmar_scope_type {
  DMAR_SCOPE_PCI_ENDPOINT = 1,
  DMAR_SCOPE_PCI_SUBHIERARCHY = 2,
  DMAR_SCOPE_IOAPIC = 3,
  DMAR_SCOPE_HPET = 4,
  DMAR_SCOPE_ACPI_NAMESPACE = 5,
};
struct dmar_scope {
  uint8_t type;
  uint8_t flags;
  uint8_t enum_id;
  uint8_t start_bus;
  uint8_t path_len;
  struct { uint8_t dev, fn; } path[DMAR_MAX_PATH];
};
struct dmar_drhd {
  uint8_t flags;           /* bit 0 INCLUDE_PCI_ALL */
  uint8_t size;            /* register set size: 2^size pages (VT-d 3.0+; 0 = 1 page) */
  uint16_t segment;
  uint64_t base;
  unsigned n_scopes;
  struct dmar_scope scopes[DMAR_MAX_SCOPES];
};
#define DMAR_DRHD_INCLUDE_PCI_ALL 0x01u
struct dmar_rmrr {
  uint16_t segment;
  uint64_t base, limit;
  unsigned n_scopes;
  struct dmar_scope scopes[DMAR_MAX_SCOPES];
};
struct dmar_atsr {
  uint8_t flags;           /* bit 0 ALL_PORTS */
  uint16_t segment;
  unsigned n_scopes;
  struct dmar_scope scopes[DMAR_MAX_SCOPES];
};
struct dmar_info {
  bool present;
  uint8_t host_address_width; /* HAW field + 1 */
  uint8_t flags;              /* bit0 INTR_REMAP, bit1 X2APIC_OPT_OUT, bit2 DMA_CTRL_PLATFORM_OPT_IN */
  unsigned n_drhd, n_rmrr, n_atsr, n_other;
  struct dmar_drhd drhd[DMAR_MAX_DRHD];
  struct dmar_rmrr rmrr[DMAR_MAX_RMRR];
  struct dmar_atsr atsr[DMAR_MAX_ATSR];
};
int dmar_parse(const uint8_t *t, size_t len, struct dmar_info *out);

/* ---- IVRS ---- */
#define IVRS_MAX_IVHD 16
#define IVRS_MAX_IVMD 16
#define IVRS_MAX_DEVRANGES 64

enum ivrs_dev_kind {
  IVRS_DEV_ALL,            /* type 1: every device ID */
  IVRS_DEV_RANGE,          /* types 2/3+4 (select, start..end) and 0x46/0x47 extended */
  IVRS_DEV_ALIAS_RANGE,    /* types 0x42/0x43+4: requests appear with the alias ID */
  IVRS_DEV_SPECIAL,        /* type 0x48: IOAPIC/HPET */
  IVRS_DEV_ACPI_HID,       /* type 0xF0 */
};
struct ivrs_devrange {
  uint8_t kind;            /* enum ivrs_dev_kind */
  uint8_t entry_type;      /* the IVHD device entry type that produced it */
  uint8_t setting;         /* DTE setting byte */
  uint16_t first, last;    /* device IDs (BDF) */
  uint16_t alias;          /* for alias ranges */
  uint8_t special_handle, special_variety; /* type 0x48 */
};
struct ivrs_ivhd {
  uint8_t type;            /* 0x10, 0x11, 0x40 */
  uint8_t flags;
  uint16_t iommu_devid;    /* the IOMMU's own BDF */
  uint16_t cap_offset;
  uint64_t base;
  uint16_t segment;
  uint16_t iommu_info;
  uint32_t attributes;     /* offset 20: "IOMMU Feature Reporting" in type 0x10,
                            * "IOMMU Attributes" in 0x11/0x40 */
  uint64_t efr_image;      /* type 0x11/0x40 only */
  uint64_t efr2_image;     /* type 0x11/0x40 only (reserved in older specs) */
  unsigned n_dev;
  struct ivrs_devrange dev[IVRS_MAX_DEVRANGES];
};
struct ivrs_ivmd {
  uint8_t type, flags;
  uint16_t devid, aux;
  uint64_t start, length;
};
struct ivrs_info {
  bool present;
  uint32_t iv_info;
  unsigned n_ivhd, n_ivmd, n_ivhd_skipped;
  struct ivrs_ivhd ivhd[IVRS_MAX_IVHD];
  struct ivrs_ivmd ivmd[IVRS_MAX_IVMD];
};
int ivrs_parse(const uint8_t *t, size_t len, struct ivrs_info *out);
/* The IVHD blocks describe one IOMMU several times (0x10 and 0x11/0x40 for the same unit);
 * this returns the index of the block to use per unit: the highest type this code
 * understands, as the spec recommends. */
bool ivrs_ivhd_is_preferred(const struct ivrs_info *ivrs, unsigned index);

/* ---- IORT ---- */
#define IORT_MAX_NODES 32
#define IORT_MAX_MAPPINGS 16   /* per node */
enum iort_node_type {
  IORT_NODE_ITS_GROUP = 0,
  IORT_NODE_NAMED_COMPONENT = 1,
  IORT_NODE_ROOT_COMPLEX = 2,
  IORT_NODE_SMMUV1V2 = 3,
  IORT_NODE_SMMUV3 = 4,
  IORT_NODE_PMCG = 5,
  IORT_NODE_RMR = 6,
};
struct iort_mapping {
  uint32_t input_base, num_ids;   /* num_ids as in the table: count - 1 */
  uint32_t output_base;
  uint32_t output_ref;            /* byte offset of the output node in the table */
  int output_node;                /* index of that node in iort_info.nodes */
  uint32_t flags;                 /* bit 0 single mapping */
};
struct iort_node {
  uint8_t type, revision;
  uint32_t offset, length, identifier;
  unsigned n_mappings;
  struct iort_mapping map[IORT_MAX_MAPPINGS];
  union {
    struct { uint64_t base; uint32_t flags; uint32_t model;
             uint32_t gsiv_event, gsiv_pri, gsiv_gerr, gsiv_sync; } smmuv3;
    struct { uint32_t segment; uint32_t ats_attr; uint8_t mem_addr_limit; } rc;
  } u;
};
struct iort_info {
  bool present;
  uint8_t revision;
  /* Mapping pairs whose ranges share exactly their boundary ID: firmware wrote the ID count
   * where DEN0049 wants count - 1 (seen in QEMU 7.2). Tolerated and named, not rejected. */
  unsigned num_ids_off_by_one;
  unsigned n_nodes;
  struct iort_node nodes[IORT_MAX_NODES];
};
int iort_parse(const uint8_t *t, size_t len, struct iort_info *out);
/* Maps a requester ID of a root complex (by segment) through the IORT to the SMMUv3 node
 * that translates it; returns the node index (and StreamID) or ACPI_ENOTFOUND. */
int iort_rid_to_smmu(const struct iort_info *iort, uint32_t segment, uint32_t rid,
                     uint32_t *stream_id);

#endif
