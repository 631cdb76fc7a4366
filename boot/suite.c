#include "boot/suite.h"

#include <stdio.h>

#include "boot/report.h"
#include "iommu/iommu.h"
#include "tests/scenarios/dma_env.h"
#include "tests/scenarios/scenario.h"

/* Lab knobs the drivers expose (see each driver and boot/cmdline.h). */
extern int vtd_mode_choice;
extern bool vtd_force_register_invalidation;
extern int vtd_stage_choice;
extern unsigned amd_levels_choice;
extern int smmuv3_strtab_choice, smmuv3_stage_choice;

void suite_apply_options(const struct options *opt)
{
  report_verbose = opt->verbose;
  dma_env_initiator_addr_bits = opt->initiator_addr_bits;
  vtd_mode_choice = opt->vtd_mode;
  vtd_force_register_invalidation = opt->vtd_register_invalidation;
  vtd_stage_choice = opt->vtd_stage;
  amd_levels_choice = opt->amd_levels;
  smmuv3_strtab_choice = opt->smmu_strtab;
  smmuv3_stage_choice = opt->smmu_stage;
}

void suite_dump_acpi(const struct acpi_dir *dir)
{
  for (unsigned i = 0; i < dir->n_tables; i++) {
    const struct acpi_table_ref *t = &dir->tables[i];
    printf("# ACPI-TABLE %s %u 0x%llx\n", t->sig, t->len, (unsigned long long)t->phys);
    for (uint32_t off = 0; off < t->len; off += 32) {
      printf("# ACPI-HEX ");
      for (uint32_t k = off; k < off + 32 && k < t->len; k++)
        printf("%02x", t->data[k]);
      printf("\n");
    }
  }
  printf("# ACPI-END\n");
}

void suite_run(struct platform *plat, const struct options *opt)
{
  const char *globs[CMDLINE_MAX_GLOBS];
  for (unsigned i = 0; i < opt->n_globs; i++)
    globs[i] = opt->globs[i];
  scenarios_run(plat, globs, opt->n_globs);
  /* Every unit back to its entry state before anything else DMAs (the ESP disk). */
  iommu_deactivate_all(plat);
}
