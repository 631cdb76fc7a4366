/* Host entry: the firmware's flow (boot/efi_main.c) without UEFI, against a model platform.
 *   bareiommu-host --model=vtd-legacy [--junit=FILE] [firmware options and scenario globs]
 * The firmware options (boot/cmdline.c) are parsed from the remaining arguments joined with
 * spaces, exactly as the image parses LoadOptions / bareiommu.cfg. Output is the same TAP;
 * the exit status is 0 when no check failed, 1 otherwise, 2 for a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/host/host_boot.h"
#include "arch/host/host_mem.h"
#include "boot/cmdline.h"
#include "boot/platform.h"
#include "boot/report.h"
#include "boot/suite.h"
#include "iommu/iommu.h"
#include "tests/model/platform_model.h"
#include "tests/scenarios/scenario.h"

static void usage(void)
{
  fputs("usage: bareiommu-host --model=PRESET[,key=value...] [--junit=FILE] [--list-models]\n"
        "                      [firmware options and scenario globs, as in bareiommu.cfg]\n",
        stdout);
}

int main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IONBF, 0);
  arch_init(NULL);
  const char *model = "vtd-legacy", *junit_path = NULL;
  char text[2048] = "";
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--model=", 8)) {
      model = argv[i] + 8;
    } else if (!strncmp(argv[i], "--junit=", 8)) {
      junit_path = argv[i] + 8;
    } else if (!strcmp(argv[i], "--list-models")) {
      model_platform_list();
      return 0;
    } else {
      int w = snprintf(text + n, sizeof(text) - n, "%s%s", n ? " " : "", argv[i]);
      if (w < 0 || (size_t)w >= sizeof(text) - n) {
        fprintf(stderr, "bareiommu-host: command line too long\n");
        return 2;
      }
      n += (size_t)w;
    }
  }

  struct options opt;
  options_init(&opt);
  options_parse(&opt, text); /* opt.error is reported once the console is TAP */
  suite_apply_options(&opt);
  if (opt.help) {
    usage();
    fputs(options_help, stdout);
    return 0;
  }
  if (opt.list) {
    scenarios_list();
    return 0;
  }

  struct host_system sys;
  char err[256];
  if (host_system_create(model, &sys, err, sizeof(err))) {
    fprintf(stderr, "bareiommu-host: %s\n", err);
    return 2;
  }
  char what[400];
  model_platform_describe(sys.mp, what, sizeof(what));

  report_begin();
  diag("bareiommu on %s, %s; options from the command line", arch_name(), what);
  if (opt.error[0])
    diag("options: %s (ignored)", opt.error);
  struct platform *plat = sys.plat;
  plat->initiator_choice = opt.initiator; /* as efi_main.c */
  if (host_system_discover(&sys)) {
    diag("ACPI: no usable RSDP/XSDT (%s): nothing can be discovered", acpi_strerror(sys.acpi_err));
  } else {
    diag("ACPI: RSDP rev %u at 0x%llx, XSDT at 0x%llx, %u tables", plat->acpi.rsdp_revision,
         (unsigned long long)sys.rsdp, (unsigned long long)plat->acpi.xsdt_phys, plat->acpi.n_tables);
    if (opt.dump_acpi)
      suite_dump_acpi(&plat->acpi);
  }
  if (plat->n_iommus == 0 && plat->n_bad_tables == 0)
    diag("no IOMMU described by ACPI: discovery scenarios will skip");

  suite_run(plat, &opt);
  /* Leak check of what the drivers installed (tables, queues, buffers). */
  unsigned left = host_mem_pages_in_use() - sys.base_pages;
  if (left)
    diag("host: %u page(s) of simulated memory still allocated after every unit was handed back", left);
  unsigned failed = report_end();

  if (junit_path) {
    size_t len;
    const char *xml = report_junit_xml(&len);
    FILE *f = fopen(junit_path, "w");
    if (f == NULL || fwrite(xml, 1, len, f) != len)
      printf("# JUnit XML not written to %s\n", junit_path);
    else
      printf("# JUnit XML written to %s\n", junit_path);
    if (f)
      fclose(f);
  }
  host_system_destroy(&sys);
  return failed ? 1 : 0;
}
