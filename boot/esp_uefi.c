/* Files on the volume the image was loaded from (the ESP): the config file and results. */
#include <string.h>

#include "boot/uefi.h"

static char image_dir[256] = "\\";

static void to_ucs2(const char *s, CHAR16 *out, size_t cap)
{
  size_t i = 0;
  for (; s[i] && i + 1 < cap; i++)
    out[i] = (CHAR16)(unsigned char)s[i];
  out[i] = 0;
}

static EFI_STATUS open_root(EFI_FILE_HANDLE *root)
{
  static EFI_GUID lip_guid = LOADED_IMAGE_PROTOCOL;
  static EFI_GUID sfs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
  EFI_LOADED_IMAGE *li;
  EFI_FILE_IO_INTERFACE *fs;
  EFI_STATUS st = uefi_call_wrapper(uefi_st->BootServices->HandleProtocol, 3, uefi_image,
                                    &lip_guid, (void **)&li);
  if (EFI_ERROR(st))
    return st;
  st = uefi_call_wrapper(uefi_st->BootServices->HandleProtocol, 3, li->DeviceHandle, &sfs_guid,
                         (void **)&fs);
  if (EFI_ERROR(st))
    return st;
  return uefi_call_wrapper(fs->OpenVolume, 2, fs, root);
}

const char *uefi_image_dir(void)
{
  static EFI_GUID lip_guid = LOADED_IMAGE_PROTOCOL;
  EFI_LOADED_IMAGE *li;
  if (EFI_ERROR(uefi_call_wrapper(uefi_st->BootServices->HandleProtocol, 3, uefi_image,
                                  &lip_guid, (void **)&li)))
    return image_dir;
  /* FilePath is a media file-path node (type 4, subtype 4) holding a UCS-2 path. */
  const uint8_t *node = (const uint8_t *)li->FilePath;
  if (node == NULL || node[0] != 4 || node[1] != 4)
    return image_dir;
  uint16_t len = (uint16_t)(node[2] | node[3] << 8);
  size_t n = 0;
  for (size_t off = 4; off + 1 < len && n + 1 < sizeof(image_dir); off += 2) {
    CHAR16 c = (CHAR16)(node[off] | node[off + 1] << 8);
    if (c == 0)
      break;
    image_dir[n++] = c < 128 ? (char)c : '_';
  }
  image_dir[n] = '\0';
  char *slash = strrchr(image_dir, '\\');
  if (slash)
    slash[slash == image_dir ? 1 : 0] = '\0';
  else
    strcpy(image_dir, "\\");
  return image_dir;
}

/* Opens path on the image's volume; on success *root and *f are open (close both). */
static EFI_STATUS open_file(const char *path, UINT64 mode, EFI_FILE_HANDLE *root, EFI_FILE_HANDLE *f)
{
  CHAR16 wpath[256];
  EFI_STATUS st = open_root(root);
  if (EFI_ERROR(st))
    return st;
  to_ucs2(path, wpath, 256);
  st = uefi_call_wrapper((*root)->Open, 5, *root, f, wpath, mode, 0);
  if (EFI_ERROR(st))
    uefi_call_wrapper((*root)->Close, 1, *root);
  return st;
}

EFI_STATUS uefi_esp_read(const char *path, char *buf, UINTN *len)
{
  EFI_FILE_HANDLE root, f;
  EFI_STATUS st = open_file(path, EFI_FILE_MODE_READ, &root, &f);
  if (EFI_ERROR(st))
    return st;
  st = uefi_call_wrapper(f->Read, 3, f, len, buf);
  uefi_call_wrapper(f->Close, 1, f);
  uefi_call_wrapper(root->Close, 1, root);
  return st;
}

EFI_STATUS uefi_esp_write(const char *path, const void *buf, UINTN len)
{
  EFI_FILE_HANDLE root, f;
  /* Delete first so a shorter result does not leave the old file's tail behind. */
  if (!EFI_ERROR(open_file(path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, &root, &f))) {
    uefi_call_wrapper(f->Delete, 1, f);
    uefi_call_wrapper(root->Close, 1, root);
  }
  EFI_STATUS st = open_file(path, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE,
                            &root, &f);
  if (EFI_ERROR(st))
    return st;
  UINTN n = len;
  st = uefi_call_wrapper(f->Write, 3, f, &n, (void *)buf);
  EFI_STATUS cst = uefi_call_wrapper(f->Close, 1, f);
  uefi_call_wrapper(root->Close, 1, root);
  return EFI_ERROR(st) ? st : cst;
}
