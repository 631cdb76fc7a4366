/* What both entry points (UEFI efi_main, host main) do around the scenarios. */
#ifndef BOOT_SUITE_H
#define BOOT_SUITE_H

#include "boot/cmdline.h"
#include "boot/platform.h"

/* Options into driver and initiator settings (the drivers' lab knobs). */
void suite_apply_options(const struct options *opt);
/* --dump-acpi: every table in hex, between markers tests/unit/fixtures/capture.sh lifts. */
void suite_dump_acpi(const struct acpi_dir *dir);
/* Runs the selected scenarios, then hands every unit back to its entry state. */
void suite_run(struct platform *plat, const struct options *opt);

#endif
