/* UEFI entry: console, options, ACPI, discovery, scenarios, results, exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/cmdline.h"
#include "boot/platform.h"
#include "boot/report.h"
#include "boot/suite.h"
#include "boot/uefi.h"
#include "iommu/iommu.h"
#include "tests/scenarios/scenario.h"

extern const struct iort_info *smmuv3_iort;

#define HEAP_BYTES (64u << 20)
#define CFG_NAME "bareiommu.cfg"
#define RESULTS_NAME "bareiommu-results.xml"

EFI_HANDLE uefi_image;
EFI_SYSTEM_TABLE *uefi_st;

static void stall(unsigned us) { uefi_call_wrapper(uefi_st->BootServices->Stall, 1, us); }

/* Idles until the firmware's next timer tick: WaitForEvent on a 1 ms relative timer lets the
 * DXE core halt the CPU (hlt / wfi) instead of our loop spinning. */
static void idle_until_tick(void)
{
  static EFI_EVENT timer;
  static bool unavailable;
  EFI_BOOT_SERVICES *bs = uefi_st->BootServices;
  UINTN index;
  if (unavailable)
    return;
  if (timer == NULL &&
      EFI_ERROR(uefi_call_wrapper(bs->CreateEvent, 5, EVT_TIMER, 0, NULL, NULL, &timer))) {
    unavailable = true;
    return;
  }
  if (EFI_ERROR(uefi_call_wrapper(bs->SetTimer, 3, timer, TimerRelative, 10000 /* 100 ns units */)) ||
      EFI_ERROR(uefi_call_wrapper(bs->WaitForEvent, 3, 1, &timer, &index)))
    unavailable = true;
}

static const uint8_t *identity_map(uint64_t phys, size_t len, void *ctx)
{
  (void)len;
  (void)ctx;
  return phys ? (const uint8_t *)(uintptr_t)phys : NULL;
}

static void esp_path(char *out, size_t n, const char *name)
{
  const char *dir = uefi_image_dir();
  snprintf(out, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '\\' ? "" : "\\", name);
}

/* LoadOptions from the shell or a boot option when they are UCS-2 text; otherwise the
 * config file beside the image. */
static char options_source[320] = "none";

static void load_options(struct options *o, EFI_LOADED_IMAGE *li)
{
  char text[1024];
  size_t n = 0;
  if (li && li->LoadOptions && li->LoadOptionsSize >= 2) {
    const CHAR16 *w = li->LoadOptions;
    size_t wn = li->LoadOptionsSize / 2;
    bool textual = true;
    for (size_t i = 0; i < wn && w[i] && n + 1 < sizeof(text); i++) {
      if (w[i] >= 128 || (w[i] < 32 && w[i] != '\t' && w[i] != '\n' && w[i] != '\r')) {
        textual = false;
        break;
      }
      text[n++] = (char)w[i];
    }
    if (!textual)
      n = 0;
  }
  text[n] = '\0';
  bool from_shell = false;
  for (size_t i = 0; i < n; i++)
    if (text[i] != ' ')
      from_shell = true;
  if (from_shell) {
    snprintf(options_source, sizeof(options_source), "LoadOptions");
  } else {
    char path[300];
    UINTN len = sizeof(text) - 1;
    esp_path(path, sizeof(path), CFG_NAME);
    if (!EFI_ERROR(uefi_esp_read(path, text, &len))) {
      text[len] = '\0';
      snprintf(options_source, sizeof(options_source), "%s", path);
    } else {
      text[0] = '\0';
    }
  }
  options_parse(o, text); /* o->error is reported once the console is TAP */
}

static void ucs2_to_ascii(const CHAR16 *in, char *out, size_t n)
{
  size_t i = 0;
  for (; in && in[i] && i + 1 < n; i++)
    out[i] = in[i] < 128 ? (char)in[i] : '?';
  out[i] = '\0';
}

static EFI_STATUS finish(const struct options *o, unsigned failed)
{
  EFI_STATUS verdict = failed ? EFI_ABORTED : EFI_SUCCESS;
  if (o->exit_mode == EXIT_RETURN)
    return verdict;
  if (o->exit_mode == EXIT_QEMU)
    arch_exit_qemu(failed != 0);
  uefi_call_wrapper(uefi_st->RuntimeServices->ResetSystem, 4, EfiResetShutdown, verdict, 0, NULL);
  return verdict;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
  static EFI_GUID lip_guid = LOADED_IMAGE_PROTOCOL;
  static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;
  uefi_image = image;
  uefi_st = st;
  /* The firmware watchdog (5 minutes) would reset a long run; our own timeouts bound it. */
  uefi_call_wrapper(st->BootServices->SetWatchdogTimer, 4, 0, 0, 0, NULL);
  if (EFI_ERROR(uefi_heap_init(HEAP_BYTES)))
    return EFI_OUT_OF_RESOURCES;
  uefi_console_init();
  setvbuf(stdout, NULL, _IONBF, 0);
  arch_init(stall);
  arch_poll_set_idle(idle_until_tick);

  struct options opt;
  options_init(&opt);
  EFI_LOADED_IMAGE *li = NULL;
  uefi_call_wrapper(st->BootServices->HandleProtocol, 3, image, &lip_guid, (void **)&li);
  load_options(&opt, li);
  suite_apply_options(&opt);
  char vendor[64];
  ucs2_to_ascii(st->FirmwareVendor, vendor, sizeof(vendor));
  if (opt.help) {
    fputs(options_help, stdout);
    return finish(&opt, 0);
  }
  if (opt.list) {
    scenarios_list();
    return finish(&opt, 0);
  }

  struct platform *plat = calloc(1, sizeof(*plat));
  if (plat == NULL)
    return finish(&opt, 1);
  plat->cfg = pci_ecam_ops_template;
  plat->cfg.ctx = &plat->mcfg;
  plat->initiator_choice = opt.initiator;

  uint64_t rsdp = 0;
  for (UINTN i = 0; i < st->NumberOfTableEntries; i++)
    if (!memcmp(&st->ConfigurationTable[i].VendorGuid, &acpi20_guid, sizeof(EFI_GUID)))
      rsdp = (uint64_t)(uintptr_t)st->ConfigurationTable[i].VendorTable;

  report_begin();
  diag("bareiommu on %s, UEFI %u.%u firmware '%s' rev 0x%x; options from %s", arch_name(),
       st->Hdr.Revision >> 16, (st->Hdr.Revision & 0xffff) / 10, vendor, st->FirmwareRevision,
       options_source);
  if (opt.error[0])
    diag("options: %s (ignored)", opt.error);
  int err = rsdp ? acpi_dir_from_rsdp(&plat->acpi, rsdp, identity_map, NULL) : ACPI_ENOTFOUND;
  if (err) {
    diag("ACPI: no usable RSDP/XSDT (%s): nothing can be discovered", acpi_strerror(err));
  } else {
    diag("ACPI: RSDP rev %u at 0x%llx, XSDT at 0x%llx, %u tables", plat->acpi.rsdp_revision,
         (unsigned long long)rsdp, (unsigned long long)plat->acpi.xsdt_phys, plat->acpi.n_tables);
    if (opt.dump_acpi)
      suite_dump_acpi(&plat->acpi);
    platform_discover(plat);
    smmuv3_iort = plat->iort.present ? &plat->iort : NULL;
    iommu_probe_all(plat);
    uefi_initiator_claim(plat);
  }
  if (plat->n_iommus == 0 && plat->n_bad_tables == 0)
    diag("no IOMMU described by ACPI: discovery scenarios will skip");

  suite_run(plat, &opt);
  uefi_initiator_unclaim(); /* every IOMMU is back at its entry state */
  unsigned failed = report_end();

  size_t xml_len;
  const char *xml = report_junit_xml(&xml_len);
  char path[300];
  esp_path(path, sizeof(path), RESULTS_NAME);
  EFI_STATUS wst = uefi_esp_write(path, xml, xml_len);
  printf("# JUnit XML %s %s\n", EFI_ERROR(wst) ? "not written to" : "written to", path);
  return finish(&opt, failed);
}
