/* The SMMUv3 model as a model kind: presets, parameter keys and the IORT that describes it
 * (Arm DEN0049E): an optional ITS group, the SMMUv3 node at the model's base and a PCI root
 * complex whose ID mapping sends every requester ID to the same StreamID of the SMMU. */
#include <stdio.h>
#include <string.h>

#include "tests/model/platform_model.h"
#include "tests/model/smmu_model.h"

_Static_assert(sizeof(struct smmu_model_params) <= MODEL_PARAMS_MAX, "SMMUv3 parameters too large");

/* Every preset puts engine 0 behind a root port, as the QEMU configurations place the first
 * edu: requester IDs 0x0100 and 0x0018, the StreamIDs QEMU's events carry. */
static void preset_qemu_like(void *params, struct model_platform_cfg *c)
{
  (void)params;
  c->root_port = true;
}

static void preset_substreams(void *params, struct model_platform_cfg *c)
{
  struct smmu_model_params *p = params;
  preset_qemu_like(params, c);
  p->ssidsize = 20;   /* PCIe PASIDs are 20 bits */
  p->cd2l = true;
  p->msi = true;      /* CMD_SYNC completion by MSI write (IDR0.MSI and COHACC) */
}

static void preset_httu(void *params, struct model_platform_cfg *c)
{
  preset_qemu_like(params, c);
  ((struct smmu_model_params *)params)->httu = 2;
}

static void preset_s2(void *params, struct model_platform_cfg *c)
{
  struct smmu_model_params *p = params;
  preset_qemu_like(params, c);
  p->s2p = true;
  p->vmid16 = true;
}

static void preset_s2only(void *params, struct model_platform_cfg *c)
{
  struct smmu_model_params *p = params;
  preset_s2(params, c);
  p->s1p = false;
  p->asid16 = false;
}

static void preset_small(void *params, struct model_platform_cfg *c)
{
  struct smmu_model_params *p = params;
  preset_qemu_like(params, c);
  p->granules = 0x1;  /* 4K only */
  p->ril = false;     /* one TLBI per granule */
  p->asid16 = false;
  p->oas = 5;         /* 48-bit */
  p->cmdqs = 3;       /* 8 commands */
  p->eventqs = 2;     /* 4 events */
  p->st_level = 0;    /* linear Stream table only */
  p->term_model = false;
  p->tlb_entries = 8;
  p->cfg_entries = 4;
}

static void preset_groups(void *params, struct model_platform_cfg *c)
{
  preset_qemu_like(params, c);
  model_platform_groups_topology(c);
}

static const struct model_preset presets[] = {
  { "smmuv3", preset_qemu_like, "SMMUv3.1 stage 1, 44-bit OAS, 4K/16K/64K, 2-level capable, RIL, "
                                "16-bit SIDs, no substreams (QEMU 7.2 virt,iommu=smmuv3)" },
  { "smmuv3-substreams", preset_substreams, "smmuv3 with 20-bit SubstreamIDs, 2-level CD tables, MSIs" },
  { "smmuv3-httu", preset_httu, "smmuv3 with HTTU Access flag and dirty state (IDR0.HTTU=2)" },
  { "smmuv3-s2", preset_s2, "smmuv3 with stage 2 (S1P+S2P, nested capable), 16-bit VMIDs" },
  { "smmuv3-s2only", preset_s2only, "stage 2 only (IDR0.S1P=0), 8-bit ASIDs" },
  { "smmuv3-small", preset_small, "4K granule only, no RIL, 8-bit ASIDs, linear tables only, "
                                  "8-entry CMDQ, 4-entry EVENTQ, 8-entry TLB, RAZ/WI terminate" },
  { "smmuv3-groups", preset_groups, "smmuv3; engine 0 behind a root port with ACS and a "
                                    "PCIe-to-PCI bridge (alias), engines 1-2 one multifunction "
                                    "device without ACS, engine 3 alone" },
};

static void params_default(void *params) { smmu_model_params_default(params); }

static int set_key(void *params, const char *key, unsigned long long v)
{
  struct smmu_model_params *p = params;
#define B(name, field) if (!strcmp(key, name)) { field = v != 0; return 0; }
#define U(name, field) if (!strcmp(key, name)) { field = (unsigned)v; return 0; }
  B("s1p", p->s1p) B("s2p", p->s2p) B("cohacc", p->cohacc) U("httu", p->httu)
  B("asid16", p->asid16) B("vmid16", p->vmid16) B("msi", p->msi) B("sev", p->sev)
  B("cd2l", p->cd2l) B("termmodel", p->term_model) U("stlevel", p->st_level)
  U("sidsize", p->sidsize) U("ssidsize", p->ssidsize) U("eventqs", p->eventqs)
  U("cmdqs", p->cmdqs) B("ril", p->ril) U("oas", p->oas) U("gran", p->granules)
  U("aidr", p->aidr_minor) B("gbpaabort", p->gbpa_abort) B("its", p->its)
  U("tlb", p->tlb_entries) U("cfgcache", p->cfg_entries)
#undef B
#undef U
  return -1;
}

static void *create(const void *params)
{
  struct smmu_model *m = smmu_model_create(params);
  if (m && smmu_model_register(m)) {
    smmu_model_destroy(m);
    return NULL;
  }
  return m;
}

static void destroy(void *model) { smmu_model_destroy(model); }

static enum model_dma_result dma(void *model, const struct model_dma_req *req, void *data)
{
  return smmu_model_dma(model, req, data);
}

/* One ID mapping (DEN0049E 3.4): NumIDs is the number of IDs minus one. */
static void id_mapping(uint8_t *e, uint32_t in_base, uint32_t count, uint32_t out_base, uint32_t out_ref,
                       bool single)
{
  model_acpi_put32(e, in_base);
  model_acpi_put32(e + 4, count - 1);
  model_acpi_put32(e + 8, out_base);
  model_acpi_put32(e + 12, out_ref);
  model_acpi_put32(e + 16, single ? 1 : 0);
}

static void node_header(uint8_t *n, uint8_t type, uint16_t len, uint8_t rev, uint32_t id,
                        uint32_t n_map, uint32_t map_off)
{
  n[0] = type;
  model_acpi_put16(n + 1, len);
  n[3] = rev;
  model_acpi_put32(n + 4, id);
  model_acpi_put32(n + 8, n_map);
  model_acpi_put32(n + 12, n_map ? map_off : 0);
}

#define IORT_HDR 48u
#define ITS_NODE 24u      /* header + ITS count + one ITS identifier */
#define SMMU_FIXED 68u    /* SMMUv3 node up to the DeviceID mapping index */
#define RC_FIXED 36u      /* root complex node up to its reserved byte */
#define MAPPING 20u

static uint32_t acpi_table(const void *params, const struct model_acpi_ctx *ctx, uint8_t *t, uint32_t room)
{
  const struct smmu_model_params *p = params;
  (void)ctx; /* every requester ID of segment 0 reaches the SMMU: engines need no scope */
  uint32_t its_off = IORT_HDR, smmu_off = p->its ? its_off + ITS_NODE : IORT_HDR;
  uint32_t smmu_maps = p->its ? 2 : 0, smmu_len = SMMU_FIXED + MAPPING * smmu_maps;
  uint32_t rc_off = smmu_off + smmu_len, rc_len = RC_FIXED + MAPPING, total = rc_off + rc_len;
  if (room < total)
    return 0;
  memset(t, 0, total);
  model_acpi_header(t, "IORT", 5);
  model_acpi_put32(t + 36, p->its ? 3 : 2);  /* number of nodes */
  model_acpi_put32(t + 40, IORT_HDR);        /* offset of the node array */
  if (p->its) {
    uint8_t *n = t + its_off;
    node_header(n, 0, ITS_NODE, 1, 0, 0, 0);
    model_acpi_put32(n + 16, 1);             /* one ITS, GIC ITS ID 0 */
    model_acpi_put32(n + 20, 0);
  }
  uint8_t *s = t + smmu_off;
  node_header(s, 4, (uint16_t)smmu_len, 4, 1, smmu_maps, SMMU_FIXED);
  model_acpi_put64(s + 16, p->base);
  /* Flags: COHACC override = IDR0.COHACC; DeviceID mapping index valid with an ITS. */
  model_acpi_put32(s + 24, (p->cohacc ? 1u : 0u) | (p->its ? 1u << 4 : 0u));
  model_acpi_put32(s + 40, 0);               /* model: generic SMMUv3 */
  if (p->its) {
    /* Device StreamIDs -> ITS DeviceIDs 1:1; the SMMU's own MSIs -> DeviceID 0x10000 (a
     * single mapping, named by the DeviceID mapping index). */
    model_acpi_put32(s + 64, 1);
    id_mapping(s + SMMU_FIXED, 0, 1u << 16, 0, its_off, false);
    id_mapping(s + SMMU_FIXED + MAPPING, 0, 1, 1u << 16, its_off, true);
  }
  uint8_t *r = t + rc_off;
  node_header(r, 2, (uint16_t)rc_len, 3, 2, 1, RC_FIXED);
  model_acpi_put32(r + 16, p->cohacc ? 1 : 0); /* memory access properties: CCA */
  model_acpi_put32(r + 24, 0);               /* no ATS */
  model_acpi_put32(r + 28, 0);               /* PCI segment 0 */
  r[32] = 64;                                /* memory address size limit */
  /* Requester IDs 0..0xffff -> StreamIDs 0..0xffff of the SMMU (NumIDs = 0xffff). */
  id_mapping(r + RC_FIXED, 0, 1u << 16, 0, smmu_off, false);
  model_acpi_finish(t, total);
  return total;
}

static void describe(const void *params, char *buf, size_t len)
{
  const struct smmu_model_params *p = params;
  snprintf(buf, len, "SMMUv3.%u IDR0 0x%08x IDR1 0x%08x IDR3 0x%08x IDR5 0x%08x at 0x%llx%s",
           p->aidr_minor, smmu_model_idr(p, 0), smmu_model_idr(p, 1), smmu_model_idr(p, 3),
           smmu_model_idr(p, 5), (unsigned long long)p->base, p->its ? ", ITS" : "");
}

const struct model_kind smmuv3_model_kind = {
  .name = "smmuv3",
  .table_sig = "IORT",
  .presets = presets,
  .n_presets = sizeof(presets) / sizeof(presets[0]),
  .params_size = sizeof(struct smmu_model_params),
  .params_default = params_default,
  .set_key = set_key,
  .keys = "s1p s2p cohacc httu asid16 vmid16 msi sev cd2l termmodel stlevel sidsize ssidsize "
          "eventqs cmdqs ril oas gran aidr gbpaabort its tlb cfgcache",
  .create = create,
  .destroy = destroy,
  .add_pci = NULL,
  .acpi_table = acpi_table,
  .dma = dma,
  .describe = describe,
};
