/* The firmware's boot flow minus UEFI, for the host build: a model platform built from a
 * spec (tests/model/platform_model.h), its ACPI tables read through the arena, the same
 * platform_discover() and iommu_probe_all() the image runs. Used by host_main.c and by host
 * tests that need a whole system (tests/unit/test_model_*.c). */
#ifndef ARCH_HOST_BOOT_H
#define ARCH_HOST_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "boot/platform.h"

struct model_platform;

struct host_system {
  struct model_platform *mp;
  struct platform *plat;
  uint64_t rsdp;
  int acpi_err;            /* acpi_dir_from_rsdp's answer */
  unsigned base_pages;     /* arena pages in use once the platform was built */
};

/* Builds the model platform (clearing every MMIO region first). 0, or -1 with err set. */
int host_system_create(const char *model_spec, struct host_system *sys, char *err, size_t err_len);
/* ACPI directory from the model's RSDP; on success platform_discover, the model engines
 * listed as initiators, iommu_probe_all. Returns acpi_err. */
int host_system_discover(struct host_system *sys);
void host_system_destroy(struct host_system *sys);

#endif
