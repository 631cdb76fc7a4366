/* Discovery: ACPI tables -> IOMMU units, MCFG -> PCI topology, the DMA initiator, and the
 * mapping from a requester ID to the unit that translates it. */
#include "boot/platform.h"

#include <stdio.h>
#include <string.h>

#include "boot/report.h"
#include "iommu/initiator/initiator.h"


static void add_unit(struct platform *plat, enum iommu_kind kind, unsigned acpi_index,
                     uint64_t base, uint16_t segment, const char *source)
{
  if (plat->n_iommus == PLATFORM_MAX_IOMMUS) {
    diag("discover: more than %d IOMMU units; %s ignored", PLATFORM_MAX_IOMMUS, source);
    return;
  }
  struct iommu_unit *u = &plat->iommus[plat->n_iommus++];
  memset(u, 0, sizeof(*u));
  u->kind = kind;
  u->acpi_index = acpi_index;
  u->base = base;
  u->segment = segment;
  snprintf(u->source, sizeof(u->source), "%s", source);
}

/* Parses one table when present; a malformed table is named and left out (and, for an
 * IOMMU table, remembered: it is not the same as no table). */
#define PARSE_TABLE(sig, fn, out, unit_kind)                                        \
  do {                                                                               \
    const struct acpi_table_ref *ref_ = acpi_dir_find(&plat->acpi, sig, 0);          \
    if (ref_) {                                                                      \
      int err_ = fn(ref_->data, ref_->len, out);                                     \
      if (err_) {                                                                    \
        diag("discover: %s at 0x%llx (%u bytes) rejected: %s", sig,                  \
             (unsigned long long)ref_->phys, ref_->len, acpi_strerror(err_));        \
        memset(out, 0, sizeof(*out));                                                \
        status = err_;                                                               \
        if ((unit_kind) >= 0)                                                        \
          note_bad_table(plat, ref_, (enum iommu_kind)(unit_kind), err_);            \
      }                                                                              \
    }                                                                                \
  } while (0)

static void note_bad_table(struct platform *plat, const struct acpi_table_ref *ref,
                           enum iommu_kind kind, int err)
{
  if (plat->n_bad_tables == PLATFORM_MAX_BAD_TABLES)
    return;
  struct platform_bad_table *b = &plat->bad_tables[plat->n_bad_tables++];
  snprintf(b->sig, sizeof(b->sig), "%s", ref->sig);
  b->kind = kind;
  b->phys = ref->phys;
  b->len = ref->len;
  b->err = err;
}

static bool picked(const struct initiator_choice *c, const struct pci_dev *d, bool nvme)
{
  if (c->at_bdf && (d->segment != c->segment || d->bus != c->bus || d->dev != c->dev || d->fn != c->fn))
    return false;
  return nvme ? initiator_is_nvme(d->class_rev)
              : initiator_is_known(d->vendor, d->device);
}

/* The initiators of one kind: edu / model engine where the choice allows and one exists
 * (automatic), otherwise one NVMe controller. Only one: the boot layer takes that one over
 * from the firmware; every other controller stays a bystander with pass-through. */
static void pick_initiators(struct platform *plat)
{
  const struct initiator_choice *c = &plat->initiator_choice;
  for (int nvme = 0; nvme < 2 && plat->n_initiators == 0; nvme++) {
    if ((nvme && c->pick == INITIATOR_PICK_EDU) || (!nvme && c->pick == INITIATOR_PICK_NVME))
      continue;
    unsigned limit = nvme ? 1 : PLATFORM_MAX_INITIATORS;
    for (unsigned i = 0; i < plat->pci.n && plat->n_initiators < limit; i++)
      if (picked(c, &plat->pci.devs[i], nvme))
        plat->initiators[plat->n_initiators++] = (int)i;
  }
}

int platform_discover(struct platform *plat)
{
  int status = 0;
  char src[48];
  plat->n_bad_tables = 0;
  PARSE_TABLE("MCFG", mcfg_parse, &plat->mcfg, -1);
  PARSE_TABLE("DMAR", dmar_parse, &plat->dmar, IOMMU_KIND_VTD);
  PARSE_TABLE("IVRS", ivrs_parse, &plat->ivrs, IOMMU_KIND_AMD);
  PARSE_TABLE("IORT", iort_parse, &plat->iort, IOMMU_KIND_SMMUV3);

  if (plat->iort.num_ids_off_by_one)
    diag("discover: IORT erratum: %u ID mapping pair(s) share a boundary ID (NumIDs written as "
         "the count, DEN0049 wants count - 1); the boundary ID goes to the range starting there",
         plat->iort.num_ids_off_by_one);
  for (unsigned i = 0; i < plat->dmar.n_drhd; i++) {
    snprintf(src, sizeof(src), "DMAR DRHD %u", i);
    add_unit(plat, IOMMU_KIND_VTD, i, plat->dmar.drhd[i].base, plat->dmar.drhd[i].segment, src);
  }
  for (unsigned i = 0; i < plat->ivrs.n_ivhd; i++) {
    if (!ivrs_ivhd_is_preferred(&plat->ivrs, i))
      continue; /* the same unit described again by an older block type */
    snprintf(src, sizeof(src), "IVRS IVHD %u (type 0x%02x)", i, plat->ivrs.ivhd[i].type);
    add_unit(plat, IOMMU_KIND_AMD, i, plat->ivrs.ivhd[i].base, plat->ivrs.ivhd[i].segment, src);
  }
  for (unsigned i = 0; i < plat->iort.n_nodes; i++) {
    const struct iort_node *n = &plat->iort.nodes[i];
    if (n->type != IORT_NODE_SMMUV3)
      continue;
    snprintf(src, sizeof(src), "IORT node %u (SMMUv3, offset 0x%x)", i, n->offset);
    /* The SMMU serves whichever root complexes map to it; segment from the first. */
    uint16_t seg = 0;
    for (unsigned r = 0; r < plat->iort.n_nodes; r++)
      for (unsigned m = 0; m < plat->iort.nodes[r].n_mappings; m++)
        if (plat->iort.nodes[r].type == IORT_NODE_ROOT_COMPLEX &&
            plat->iort.nodes[r].map[m].output_node == (int)i)
          seg = (uint16_t)plat->iort.nodes[r].u.rc.segment;
    add_unit(plat, IOMMU_KIND_SMMUV3, i, n->u.smmuv3.base, seg, src);
  }

  plat->initiator = -1;
  if (plat->mcfg.n > 0) {
    int err = pci_enumerate(&plat->pci, &plat->mcfg, &plat->cfg);
    if (err) {
      diag("discover: PCI enumeration stopped: %s", pci_strerror(err));
      status = err;
    }
    pick_initiators(plat);
    plat->initiator = plat->n_initiators ? plat->initiators[0] : -1;
  }
  return status;
}

const struct pci_dev *platform_initiator(const struct platform *plat)
{
  return plat->initiator < 0 ? NULL : &plat->pci.devs[plat->initiator];
}

static struct iommu_unit *unit_by_acpi(struct platform *plat, enum iommu_kind kind, unsigned index)
{
  for (unsigned i = 0; i < plat->n_iommus; i++)
    if (plat->iommus[i].kind == kind && plat->iommus[i].acpi_index == index)
      return &plat->iommus[i];
  return NULL;
}

/* VT-d 4.1 8.3.1: an explicit scope (endpoint or bridge sub-hierarchy) wins; otherwise the
 * segment's INCLUDE_PCI_ALL unit translates the device. */
static struct iommu_unit *vtd_unit_for_rid(struct platform *plat, uint16_t seg, uint16_t rid,
                                           char *how, size_t how_len)
{
  int catch_all = -1;
  for (unsigned i = 0; i < plat->dmar.n_drhd; i++) {
    const struct dmar_drhd *d = &plat->dmar.drhd[i];
    if (d->segment != seg)
      continue;
    if (d->flags & DMAR_DRHD_INCLUDE_PCI_ALL)
      catch_all = (int)i;
    for (unsigned s = 0; s < d->n_scopes; s++) {
      const struct dmar_scope *sc = &d->scopes[s];
      uint16_t target;
      if (sc->type != DMAR_SCOPE_PCI_ENDPOINT && sc->type != DMAR_SCOPE_PCI_SUBHIERARCHY)
        continue;
      if (pci_walk_scope(&plat->cfg, seg, sc, &target) != PCI_OK)
        continue;
      bool hit = target == rid;
      if (!hit && sc->type == DMAR_SCOPE_PCI_SUBHIERARCHY) {
        uint32_t buses = plat->cfg.read32(plat->cfg.ctx, seg, (uint8_t)(target >> 8),
                                          (target >> 3) & 0x1f, target & 7, 0x18);
        uint8_t sec = (uint8_t)(buses >> 8), sub = (uint8_t)(buses >> 16);
        hit = (rid >> 8) >= sec && (rid >> 8) <= sub;
      }
      if (hit) {
        snprintf(how, how_len, "DRHD %u scope %u (%s, start bus %u, %u hop%s)", i, s,
                 sc->type == DMAR_SCOPE_PCI_ENDPOINT ? "endpoint" : "sub-hierarchy",
                 sc->start_bus, sc->path_len, sc->path_len == 1 ? "" : "s");
        return unit_by_acpi(plat, IOMMU_KIND_VTD, i);
      }
    }
  }
  if (catch_all >= 0) {
    snprintf(how, how_len, "DRHD %d INCLUDE_PCI_ALL (no explicit scope names it)", catch_all);
    return unit_by_acpi(plat, IOMMU_KIND_VTD, (unsigned)catch_all);
  }
  return NULL;
}

static struct iommu_unit *amd_unit_for_rid(struct platform *plat, uint16_t seg, uint16_t rid,
                                           char *how, size_t how_len)
{
  for (unsigned i = 0; i < plat->ivrs.n_ivhd; i++) {
    const struct ivrs_ivhd *h = &plat->ivrs.ivhd[i];
    if (h->segment != seg || !ivrs_ivhd_is_preferred(&plat->ivrs, i))
      continue;
    for (unsigned e = 0; e < h->n_dev; e++) {
      const struct ivrs_devrange *r = &h->dev[e];
      if (r->kind == IVRS_DEV_SPECIAL || r->kind == IVRS_DEV_ACPI_HID)
        continue;
      if (rid < r->first || rid > r->last)
        continue;
      if (r->kind == IVRS_DEV_ALIAS_RANGE)
        snprintf(how, how_len, "IVHD %u entry %u (type 0x%02x, 0x%04x-0x%04x, alias 0x%04x)", i, e,
                 r->entry_type, r->first, r->last, r->alias);
      else
        snprintf(how, how_len, "IVHD %u entry %u (type 0x%02x, 0x%04x-0x%04x)", i, e,
                 r->entry_type, r->first, r->last);
      return unit_by_acpi(plat, IOMMU_KIND_AMD, i);
    }
  }
  return NULL;
}

static struct iommu_unit *smmu_unit_for_rid(struct platform *plat, uint16_t seg, uint16_t rid,
                                            char *how, size_t how_len)
{
  uint32_t sid;
  int node = iort_rid_to_smmu(&plat->iort, seg, rid, &sid);
  if (node < 0)
    return NULL;
  snprintf(how, how_len, "IORT root complex (segment %u) ID mapping -> node %d, StreamID 0x%x",
           seg, node, sid);
  return unit_by_acpi(plat, IOMMU_KIND_SMMUV3, (unsigned)node);
}

struct iommu_unit *platform_unit_for_rid(struct platform *plat, uint16_t segment, uint16_t rid,
                                         char *how, size_t how_len)
{
  struct iommu_unit *u = vtd_unit_for_rid(plat, segment, rid, how, how_len);
  if (!u)
    u = amd_unit_for_rid(plat, segment, rid, how, how_len);
  if (!u)
    u = smmu_unit_for_rid(plat, segment, rid, how, how_len);
  return u;
}
