/* IOMMU core: driver selection, probing, error names. */
#include "iommu/iommu.h"

#include <stdio.h>
#include <string.h>

#include "boot/mem.h"
#include "boot/report.h"
#include "iommu/core/core.h"
#include "iommu/core/group.h"

const char *iommu_strerror(int err)
{
  switch (err) {
  case IOMMU_OK: return "ok";
  case IOMMU_ETIMEDOUT: return "IOMMU_ETIMEDOUT";
  case IOMMU_ENODEV: return "IOMMU_ENODEV";
  case IOMMU_EBADREG: return "IOMMU_EBADREG";
  case IOMMU_EUNSUPPORTED: return "IOMMU_EUNSUPPORTED";
  case IOMMU_ENOMEM: return "IOMMU_ENOMEM";
  case IOMMU_EBUSY: return "IOMMU_EBUSY";
  case IOMMU_EEXIST: return "IOMMU_EEXIST";
  case IOMMU_ERANGE: return "IOMMU_ERANGE";
  case IOMMU_ENOENT: return "IOMMU_ENOENT";
  case IOMMU_EINVAL: return "IOMMU_EINVAL";
  case IOMMU_EGROUP: return "IOMMU_EGROUP";
  default: return "IOMMU_E?";
  }
}

const char *iommu_fault_kind_name(enum iommu_fault_kind k)
{
  switch (k) {
  case IOMMU_FAULT_TRANSLATION: return "translation";
  case IOMMU_FAULT_PERM_READ: return "read-permission";
  case IOMMU_FAULT_PERM_WRITE: return "write-permission";
  case IOMMU_FAULT_ADDR_SIZE: return "address-size";
  case IOMMU_FAULT_NO_CONTEXT: return "no-context";
  case IOMMU_FAULT_BAD_ENTRY: return "bad-entry";
  case IOMMU_FAULT_TABLE_ACCESS: return "table-access";
  case IOMMU_FAULT_OTHER: break;
  }
  return "other";
}

const char *iommu_kind_name(enum iommu_kind kind)
{
  switch (kind) {
  case IOMMU_KIND_VTD: return "vtd";
  case IOMMU_KIND_AMD: return "amd";
  case IOMMU_KIND_SMMUV3: return "smmuv3";
  }
  return "?";
}

bool iommu_regs_restored(int err, const struct iommu_reg_check *regs, size_t n_regs, char *why,
                         size_t len)
{
  struct subconds sc = { "", "" };
  size_t n = 0;
  subcond(&sc, "disable", err == 0);
  why[0] = '\0';
  for (size_t i = 0; i < n_regs; i++) {
    if (subcond(&sc, regs[i].name, regs[i].now == regs[i].entry) || n >= len)
      continue;
    n += (size_t)snprintf(why + n, len - n, "%s%s reads 0x%llx, entry value 0x%llx", n ? "; " : "",
                          regs[i].name, (unsigned long long)regs[i].now,
                          (unsigned long long)regs[i].entry);
  }
  if (subconds_all_ok(&sc))
    return true;
  subconds_append(&sc, why, len);
  return false;
}

const struct iommu_ops *iommu_ops_for(enum iommu_kind kind)
{
  switch (kind) {
  case IOMMU_KIND_VTD: return &vtd_ops;
  case IOMMU_KIND_AMD: return &amd_ops;
  case IOMMU_KIND_SMMUV3: return &smmuv3_ops;
  }
  return NULL;
}

void iommu_probe_all(struct platform *plat)
{
  for (unsigned i = 0; i < plat->n_iommus; i++) {
    struct iommu_unit *u = &plat->iommus[i];
    u->ops = iommu_ops_for(u->kind);
    u->probe_err = u->ops->probe(u);
    u->probed = true;
  }
}

/* Per-unit state of the core: the pass-through domain given to bystander devices. */
static struct iommu_domain *bystander_domain[PLATFORM_MAX_IOMMUS];

static bool group_has_initiator(const struct platform *plat, const struct iommu_group *g)
{
  for (unsigned m = 0; m < g->n_members; m++)
    for (unsigned i = 0; i < plat->n_initiators; i++)
      if (plat->initiators[i] == g->members[m])
        return true;
  return false;
}

bool iommu_is_active(const struct iommu_unit *unit) { return unit->active; }

int iommu_activate(struct platform *plat, struct iommu_unit *unit)
{
  if (unit->active)
    return IOMMU_OK;
  if (!unit->probed || unit->probe_err)
    return unit->probe_err ? unit->probe_err : IOMMU_ENODEV;
  unit->pages_at_enable = page_alloc_outstanding();
  int err = unit->ops->enable(unit);
  if (err)
    return err;
  unit->active = true;
  unit->disabled_by_restore = false;

  /* Keep the firmware's own DMA (disk, USB, NIC) working while we own translation: every
   * group without an initiator, as a whole (aliases included). */
  unsigned idx = (unsigned)(unit - plat->iommus);
  const char *gap = unit->ops->feature_gap(unit, IOMMU_FEAT_PASSTHROUGH);
  unsigned bystanders = 0, attached = 0;
  if (iommu_groups_build(plat))
    diag("%s: the platform has more IOMMU groups or members than the table holds", unit->source);
  for (unsigned i = 0; i < iommu_group_count(); i++) {
    struct iommu_group *g = iommu_group_get(i);
    if (g->unit != unit || group_has_initiator(plat, g))
      continue;
    bystanders += g->n_members;
    if (gap)
      continue;
    if (bystander_domain[idx] == NULL &&
        iommu_domain_alloc(unit, IOMMU_DOMAIN_PASSTHROUGH, &bystander_domain[idx]))
      break;
    if (iommu_group_attach(g, bystander_domain[idx]) == IOMMU_OK)
      attached += g->n_members;
  }
  if (bystanders && gap)
    diag("%s: %u other device(s) in scope are blocked while translation is on (%s)",
         unit->source, bystanders, gap);
  else if (bystanders != attached)
    diag("%s: only %u of %u other device(s) in scope got pass-through", unit->source, attached,
         bystanders);
  return IOMMU_OK;
}

void iommu_deactivate_all(struct platform *plat)
{
  for (unsigned i = 0; i < plat->n_iommus; i++) {
    struct iommu_unit *u = &plat->iommus[i];
    if (u->active) {
      char why[256] = "";
      int err = u->ops->disable(u, why, sizeof(why));
      if (err)
        diag("%s: restoring the entry state failed: %s %s", u->source, iommu_strerror(err), why);
      u->active = false;
    }
    iommu_core_forget_unit(u);
    /* Also after state.restore disabled the unit itself: the domain is ours to free. */
    if (bystander_domain[i]) {
      iommu_domain_free(bystander_domain[i]);
      bystander_domain[i] = NULL;
    }
  }
  iommu_groups_forget();
}
