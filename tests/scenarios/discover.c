/* discover.* — platform discovery (SCENARIOS.md). Evidence: what ACPI, PCI config space and
 * the IOMMU's own registers said, checked against each other. */
#include <stdio.h>

#include "boot/report.h"
#include "iommu/core/core.h"
#include "iommu/initiator/initiator.h"
#include "iommu/iommu.h"
#include "tests/scenarios/scenario.h"

#define NO_IOMMU_REASON "ACPI describes no IOMMU (no DMAR DRHD, IVRS IVHD or IORT SMMUv3 node)"

static void print_line(void *ctx, const char *line)
{
  (void)ctx;
  diag("  %s", line);
}

static void discover_acpi(struct scenario_ctx *ctx)
{
  struct iommu_unit *u = ctx->unit;
  const struct platform_bad_table *bt = ctx->bad_table;
  if (bt) {
    report("discover.acpi", ctx->tag, false, "%s at 0x%llx (%u bytes) is present but malformed: %s",
           bt->sig, (unsigned long long)bt->phys, bt->len, acpi_strerror(bt->err));
    return;
  }
  if (u == NULL) {
    skip("discover.acpi", ctx->tag, NO_IOMMU_REASON);
    return;
  }
  bool ok = u->base != 0;
  report("discover.acpi", ctx->tag, ok, "%s: base 0x%llx segment %u", u->source,
         (unsigned long long)u->base, u->segment);
}

static void discover_scope(struct scenario_ctx *ctx)
{
  const struct pci_dev *d = platform_initiator(ctx->plat);
  if (ctx->unit == NULL) {
    skip("discover.scope", ctx->tag, NO_IOMMU_REASON);
    return;
  }
  if (d == NULL) {
    skip("discover.scope", ctx->tag, "no DMA initiator found (no edu 1234:11e8, model engine 1b36:0bad or NVMe class 010802 in PCI)");
    return;
  }
  char how[128] = "";
  uint16_t rid = pci_rid(d);
  struct iommu_unit *u = platform_unit_for_rid(ctx->plat, d->segment, rid, how, sizeof(how));
  if (u == NULL) {
    report("discover.scope", ctx->tag, false,
           "initiator %04x:%02x:%02x.%x (RID 0x%04x) is in no IOMMU's device scope", d->segment,
           d->bus, d->dev, d->fn, rid);
    return;
  }
  if (u != ctx->unit) {
    /* Another unit translates the initiator: this unit's scope is still checked above. */
    skip("discover.scope", ctx->tag, "initiator RID 0x%04x belongs to %s, not this unit", rid,
         u->source);
    return;
  }
  report("discover.scope", ctx->tag, true, "initiator %04x:%02x:%02x.%x RID 0x%04x -> %s via %s",
         d->segment, d->bus, d->dev, d->fn, rid, u->source, how);
}

static void discover_caps(struct scenario_ctx *ctx)
{
  struct iommu_unit *u = ctx->unit;
  if (u == NULL) {
    skip("discover.caps", ctx->tag, NO_IOMMU_REASON);
    return;
  }
  if (u->probe_err) {
    report("discover.caps", ctx->tag, false, "%s at 0x%llx: probe failed: %s", u->source,
           (unsigned long long)u->base, iommu_strerror(u->probe_err));
    return;
  }
  diag("%s @0x%llx capability registers:", u->source, (unsigned long long)u->base);
  iommu_describe_caps(u, print_line, NULL);
  if (u->pasid_bits)
    diag("  => PASID width %u bits", u->pasid_bits);
  else
    diag("  => no PASID support (%s)", u->pasid_reason);
  char why[200];
  int err = iommu_check_caps(u, ctx->plat, why, sizeof(why));
  report("discover.caps", ctx->tag, err == 0, "%s%s%s", err ? iommu_strerror(err) : "",
         err ? ": " : "", why);
}

static void print_dev_caps(const struct pci_dev *d)
{
  const struct pci_caps *c = &d->caps;
  diag("  %04x:%02x:%02x.%x %04x:%04x class %06x", d->segment, d->bus, d->dev, d->fn, d->vendor,
       d->device, d->class_rev >> 8);
  if (c->pcie)
    diag("    PCIe cap@0x%02x v%u, %s", c->pcie, c->pcie_version, pci_port_type_name(c->pcie_port_type));
  if (c->msi)
    diag("    MSI cap@0x%02x, %u vectors, %s", c->msi, c->msi_max_vectors, c->msi_64bit ? "64-bit" : "32-bit");
  if (c->msix)
    diag("    MSI-X cap@0x%02x, table size %u", c->msix, c->msix_table_size);
  if (c->pasid)
    diag("    PASID ext@0x%03x, width %u, exec %u, priv %u", c->pasid, c->pasid_width, c->pasid_exec, c->pasid_priv);
  if (c->ats)
    diag("    ATS ext@0x%03x, invalidate queue depth %u", c->ats, c->ats_queue_depth ? c->ats_queue_depth : 32);
  if (c->pri)
    diag("    PRI ext@0x%03x, outstanding capacity %u", c->pri, c->pri_capacity);
  if (c->acs)
    diag("    ACS ext@0x%03x, cap 0x%04x (SV %u TB %u RR %u CR %u UF %u EC %u DT %u)", c->acs,
         c->acs_cap, c->acs_cap & 1, c->acs_cap >> 1 & 1, c->acs_cap >> 2 & 1, c->acs_cap >> 3 & 1,
         c->acs_cap >> 4 & 1, c->acs_cap >> 5 & 1, c->acs_cap >> 6 & 1);
  if (!c->pasid && !c->ats && !c->pri && !c->acs)
    diag("    no PASID/ATS/PRI/ACS capability");
  if (c->err)
    diag("    capability list malformed: %s", pci_strerror(c->err));
}

static void discover_pci(struct scenario_ctx *ctx)
{
  const struct platform *p = ctx->plat;
  if (p->mcfg.n == 0) {
    report("discover.pci", ctx->tag, false, "no MCFG table: PCI config space cannot be reached");
    return;
  }
  for (unsigned i = 0; i < p->pci.n; i++)
    diag_verbose("  %04x:%02x:%02x.%x %04x:%04x %s", p->pci.devs[i].segment, p->pci.devs[i].bus,
                 p->pci.devs[i].dev, p->pci.devs[i].fn, p->pci.devs[i].vendor,
                 p->pci.devs[i].device, pci_is_bridge(&p->pci.devs[i]) ? "bridge" : "");
  const struct pci_dev *d = platform_initiator(p);
  if (d == NULL) {
    skip("discover.pci", ctx->tag, "no DMA initiator found (no edu 1234:11e8, model engine 1b36:0bad or NVMe class 010802 among %u functions)",
         p->pci.n);
    return;
  }
  /* The chain of bridges from the root bus down to the initiator. */
  char path[96] = "";
  size_t len = 0;
  unsigned hops = 0;
  for (int b = d->parent; b >= 0 && hops < 8; b = p->pci.devs[b].parent, hops++)
    len += (size_t)snprintf(path + len, len < sizeof(path) ? sizeof(path) - len : 0,
                            " <- %02x:%02x.%x", p->pci.devs[b].bus, p->pci.devs[b].dev,
                            p->pci.devs[b].fn);
  print_dev_caps(d);
  bool ok = d->caps.err == 0 && !p->pci.truncated;
  report("discover.pci", ctx->tag, ok, "%u functions on %u root bus(es); initiator %s %04x:%04x at "
         "%02x:%02x.%x%s%s%s", p->pci.n, p->pci.n_root_buses, initiator_kind_name(d), d->vendor, d->device, d->bus, d->dev, d->fn, hops ? " behind" : " on the root bus",
         path, d->caps.err ? " (malformed capability list)" : "");
}

const struct scenario discover_scenarios[] = {
  { "discover.acpi", SCENARIO_PER_IOMMU_ACPI, discover_acpi },
  { "discover.scope", SCENARIO_PER_IOMMU, discover_scope },
  { "discover.caps", SCENARIO_PER_IOMMU, discover_caps },
  { "discover.pci", SCENARIO_ONCE, discover_pci },
};
const unsigned discover_scenario_count = sizeof(discover_scenarios) / sizeof(discover_scenarios[0]);
