/* An IOMMU model kind (VT-d, AMD-Vi, SMMUv3) as the model platform sees it: its presets and
 * parameter keys, how it is created (registering its MMIO), the ACPI table that describes
 * it, any PCI function it has of its own, and the path DMA takes through it. The platform
 * (platform_model.c) knows no architecture; each kind lives in its own <kind>_kind.c. */
#ifndef TESTS_MODEL_KIND_H
#define TESTS_MODEL_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/model/model_bus.h"

#define MODEL_MAX_ENGINES 4
#define MODEL_PARAMS_MAX 512   /* room for any kind's parameter struct */

struct model_platform_cfg;
struct model_pci;

struct model_preset {
  const char *name;
  /* Adjusts the kind's parameters (params) and platform fields (cfg); NULL = defaults. */
  void (*apply)(void *params, struct model_platform_cfg *cfg);
  const char *what;
};

/* What the platform tells a kind when it writes its ACPI table. */
struct model_acpi_ctx {
  uint16_t engine_rids[MODEL_MAX_ENGINES];
  unsigned n_engines;
  bool root_port;        /* engine 0 sits behind a root port at 00:01.0 (secondary bus 1) */
  bool pci_bridge;       /* ... and behind a PCIe-to-PCI bridge 01:00.0 (secondary bus 2) */
  unsigned n_units;      /* 2: a second unit translates the last engine alone */
  uint64_t unit2_base;
  uint16_t unit2_rid;
  uint64_t table_phys;   /* where the table is written */
};

struct model_kind {
  const char *name;                  /* "vtd", "amd", "smmuv3" */
  const char *table_sig;             /* the ACPI table it provides: "DMAR", "IVRS", "IORT" */
  const struct model_preset *presets;
  unsigned n_presets;
  size_t params_size;                /* <= MODEL_PARAMS_MAX */
  void (*params_default)(void *params);
  /* 0 when key was the kind's, -1 when unknown. */
  int (*set_key)(void *params, const char *key, unsigned long long v);
  const char *keys;                  /* space-separated, for error messages */
  void *(*create)(const void *params);              /* registers its MMIO; NULL on failure */
  void (*destroy)(void *model);
  /* Optional: PCI functions of the unit itself (AMD-Vi's IOMMU function). 0 or -1. */
  int (*add_pci)(void *model, const void *params, struct model_pci *pci);
  /* Writes the complete table (header and checksum included) at t; returns its length. */
  uint32_t (*acpi_table)(const void *params, const struct model_acpi_ctx *ctx, uint8_t *t,
                         uint32_t room);
  enum model_dma_result (*dma)(void *model, const struct model_dma_req *req, void *data);
  void (*describe)(const void *params, char *buf, size_t len);
  /* Optional: turns a copy of the parameters into a second, narrower unit of the kind at
   * another base (for containers spanning units); NULL when the kind has only one. */
  void (*second_unit)(void *params);
  uint64_t (*base)(const void *params);
};

/* Helpers the kinds share for their ACPI tables (ACPI 6.5 5.2.6). */
void model_acpi_put16(uint8_t *p, uint16_t v);
void model_acpi_put32(uint8_t *p, uint32_t v);
void model_acpi_put64(uint8_t *p, uint64_t v);
/* Standard header with signature and revision; model_acpi_finish sets length and checksum. */
void model_acpi_header(uint8_t *t, const char *sig, uint8_t rev);
void model_acpi_finish(uint8_t *t, uint32_t len);

extern const struct model_kind vtd_model_kind;
extern const struct model_kind amd_model_kind;
extern const struct model_kind smmuv3_model_kind;

#endif
