/* Taking the DMA initiator over from the platform firmware's driver and handing it back.
 * An NVMe controller has a UEFI driver bound to it (its queues live in firmware memory and
 * the firmware may still issue commands): DisconnectController stops that driver before any
 * IOMMU is enabled, and ConnectController restarts it after every unit is restored, so the
 * board boots as before. The controller the image was loaded from is passed over for another
 * NVMe controller, or refused, unless the lab asks (--initiator-allow-boot-device). edu has
 * no firmware driver: nothing to do. */
#include <stdio.h>

#include "boot/platform.h"
#include "boot/report.h"
#include "boot/uefi.h"
#include "iommu/initiator/initiator.h"

static EFI_HANDLE claimed;

/* The handle whose PCI I/O protocol sits at the device's location; NULL if none does. */
static EFI_HANDLE pci_handle_of(const struct pci_dev *d)
{
  static EFI_GUID pciio_guid = EFI_PCI_IO_PROTOCOL_GUID;
  EFI_BOOT_SERVICES *bs = uefi_st->BootServices;
  UINTN n = 0;
  EFI_HANDLE *handles = NULL, found = NULL;
  if (EFI_ERROR(uefi_call_wrapper(bs->LocateHandleBuffer, 5, ByProtocol, &pciio_guid, NULL, &n,
                                  &handles)))
    return NULL;
  for (UINTN i = 0; i < n && !found; i++) {
    EFI_PCI_IO_PROTOCOL *io;
    UINTN seg, bus, dev, fn;
    if (EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, handles[i], &pciio_guid, (void **)&io)) ||
        EFI_ERROR(uefi_call_wrapper(io->GetLocation, 5, io, &seg, &bus, &dev, &fn)))
      continue;
    if (seg == d->segment && bus == d->bus && dev == d->dev && fn == d->fn)
      found = handles[i];
  }
  uefi_call_wrapper(bs->FreePool, 1, handles);
  return found;
}

/* The PCI function the loaded image's device path runs through (its disk controller). */
static EFI_HANDLE boot_pci_handle(void)
{
  static EFI_GUID lip_guid = LOADED_IMAGE_PROTOCOL;
  static EFI_GUID dp_guid = DEVICE_PATH_PROTOCOL;
  static EFI_GUID pciio_guid = EFI_PCI_IO_PROTOCOL_GUID;
  EFI_BOOT_SERVICES *bs = uefi_st->BootServices;
  EFI_LOADED_IMAGE *li;
  EFI_DEVICE_PATH *dp;
  EFI_HANDLE h = NULL;
  if (EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, uefi_image, &lip_guid, (void **)&li)) ||
      EFI_ERROR(uefi_call_wrapper(bs->HandleProtocol, 3, li->DeviceHandle, &dp_guid, (void **)&dp)) ||
      EFI_ERROR(uefi_call_wrapper(bs->LocateDevicePath, 3, &pciio_guid, &dp, &h)))
    return NULL;
  return h;
}

/* When discovery's pick holds the boot volume and the lab named no controller, the next NVMe
 * controller that does not. */
static void avoid_boot_controller(struct platform *plat, EFI_HANDLE boot)
{
  const struct pci_dev *d = platform_initiator(plat);
  if (boot == NULL || plat->initiator_choice.at_bdf || pci_handle_of(d) != boot)
    return;
  for (unsigned i = 0; i < plat->pci.n; i++) {
    const struct pci_dev *o = &plat->pci.devs[i];
    if (o == d || !initiator_is_nvme(o->class_rev) || pci_handle_of(o) == boot)
      continue;
    diag("initiator: nvme %04x:%02x:%02x.%x holds the boot volume; using nvme %04x:%02x:%02x.%x",
         d->segment, d->bus, d->dev, d->fn, o->segment, o->bus, o->dev, o->fn);
    plat->initiators[0] = plat->initiator = (int)i;
    return;
  }
}

void uefi_initiator_claim(struct platform *plat)
{
  const struct pci_dev *d = platform_initiator(plat);
  if (d == NULL || !initiator_is_nvme(d->class_rev))
    return;
  EFI_HANDLE boot = boot_pci_handle();
  avoid_boot_controller(plat, boot);
  d = platform_initiator(plat);
  EFI_HANDLE h = pci_handle_of(d);
  char where[32];
  snprintf(where, sizeof(where), "%04x:%02x:%02x.%x", d->segment, d->bus, d->dev, d->fn);
  if (h == NULL) {
    diag("initiator nvme %s: no UEFI PCI I/O handle, so no firmware driver to disconnect", where);
    return;
  }
  if (h == boot && !plat->initiator_choice.allow_boot_device) {
    plat->initiator_claim = INITIATOR_EBUSY;
    snprintf(plat->initiator_claim_why, sizeof(plat->initiator_claim_why),
             "nvme %s holds the volume this image was loaded from (--initiator-allow-boot-device "
             "to take it anyway)", where);
  } else {
    EFI_STATUS st = uefi_call_wrapper(uefi_st->BootServices->DisconnectController, 3, h, NULL, NULL);
    if (EFI_ERROR(st)) {
      plat->initiator_claim = INITIATOR_EBUSY;
      snprintf(plat->initiator_claim_why, sizeof(plat->initiator_claim_why),
               "DisconnectController on nvme %s returned EFI status 0x%llx: its firmware driver "
               "keeps it", where, (unsigned long long)st);
    } else {
      claimed = h;
      diag("initiator nvme %s: firmware driver disconnected; reconnected at the end", where);
      return;
    }
  }
  diag("initiator refused: %s", plat->initiator_claim_why);
}

void uefi_initiator_unclaim(void)
{
  if (claimed == NULL)
    return;
  EFI_STATUS st = uefi_call_wrapper(uefi_st->BootServices->ConnectController, 4, claimed, NULL, NULL, 1);
  diag("initiator handed back: ConnectController %s (EFI status 0x%llx)",
       EFI_ERROR(st) ? "FAILED" : "ok", (unsigned long long)st);
  claimed = NULL;
}
