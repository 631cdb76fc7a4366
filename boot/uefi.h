/* The UEFI handles the firmware-side boot/ files share. */
#ifndef BOOT_UEFI_H
#define BOOT_UEFI_H

#include <efi.h>

extern EFI_HANDLE uefi_image;
extern EFI_SYSTEM_TABLE *uefi_st;

/* Installs ConOut and (when ConOut does not already reach it) Serial I/O as console sinks. */
void uefi_console_init(void);
/* Pool for newlib's malloc (_sbrk). */
EFI_STATUS uefi_heap_init(UINTN bytes);
/* Reads/writes a file on the volume the image was loaded from; path is ASCII with '\'. */
EFI_STATUS uefi_esp_read(const char *path, char *buf, UINTN *len);
EFI_STATUS uefi_esp_write(const char *path, const void *buf, UINTN len);
/* Directory of the loaded image on its volume ("\EFI\BOOT"), ASCII. */
const char *uefi_image_dir(void);

struct platform;
/* Takes an NVMe initiator from the firmware's driver (DisconnectController) before any IOMMU
 * is enabled, or records in plat why not; hands it back (ConnectController) at the end. */
void uefi_initiator_claim(struct platform *plat);
void uefi_initiator_unclaim(void);

#endif
