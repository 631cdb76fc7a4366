/* Host boot flow (host_boot.h). */
#include "arch/host/host_boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"
#include "iommu/initiator/initiator_impl.h"
#include "iommu/iommu.h"
#include "tests/model/platform_model.h"

extern const struct iort_info *smmuv3_iort;

/* The ACPI walker's view of physical memory: the arena, nothing else. */
static const uint8_t *arena_map(uint64_t phys, size_t len, void *ctx)
{
  (void)ctx;
  return host_mem_map(phys, len);
}

int host_system_create(const char *model_spec, struct host_system *sys, char *err, size_t err_len)
{
  memset(sys, 0, sizeof(*sys));
  struct model_platform_cfg cfg;
  if (model_platform_parse(model_spec, &cfg, err, err_len))
    return -1;
  host_mmio_unregister_all();
  sys->mp = model_platform_create(&cfg);
  sys->plat = calloc(1, sizeof(*sys->plat));
  if (sys->mp == NULL || sys->plat == NULL) {
    snprintf(err, err_len, "cannot build model '%s' (parameters out of range?)", model_spec);
    host_system_destroy(sys);
    return -1;
  }
  sys->plat->cfg = pci_ecam_ops_template;
  sys->plat->cfg.ctx = &sys->plat->mcfg;
  sys->rsdp = model_platform_rsdp(sys->mp);
  sys->base_pages = host_mem_pages_in_use();
  return 0;
}

int host_system_discover(struct host_system *sys)
{
  struct platform *plat = sys->plat;
  sys->acpi_err = acpi_dir_from_rsdp(&plat->acpi, sys->rsdp, arena_map, NULL);
  if (sys->acpi_err)
    return sys->acpi_err;
  platform_discover(plat);
  smmuv3_iort = plat->iort.present ? &plat->iort : NULL; /* as efi_main does */
  iommu_probe_all(plat);
  return 0;
}

void host_system_destroy(struct host_system *sys)
{
  if (sys->plat) {
    for (unsigned i = 0; i < sys->plat->n_iommus; i++)
      free(sys->plat->iommus[i].priv);
    free(sys->plat);
  }
  smmuv3_iort = NULL; /* it pointed into the platform just freed */
  model_platform_destroy(sys->mp);
  host_mmio_unregister_all();
  memset(sys, 0, sizeof(*sys));
}
