#include "boot/cmdline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char options_help[] =
  "usage: bareiommu [ID-GLOB ...] [--only=GLOB[,GLOB]] [--list] [-v] [--dump-acpi]\n"
  "                 [--exit=shutdown|qemu|return] [--initiator-addr-bits=N] [--vtd-mode=M]\n"
  "  ID-GLOB       run only matching scenarios, e.g. 'dma.*' 'discover.caps'\n"
  "  --list        print every scenario ID and exit\n"
  "  -v            verbose diagnostics\n"
  "  --dump-acpi   print every ACPI table in hex (for bug reports and test fixtures)\n"
  "  --exit=MODE   shutdown (default, ResetSystem), qemu (debug-exit/semihosting), return\n"
  "  --initiator-addr-bits=N  address bits the DMA device can emit (edu: its dma_mask; 28)\n"
  "  --initiator=K auto (edu where present, else NVMe), edu, nvme or nvme:SEG:BB:DD.F\n"
  "  --initiator-allow-boot-device  may take over the NVMe controller the image was loaded from\n"
  "  --vtd-mode=M  legacy or scalable (default: scalable when ECAP.SMTS and SLTS allow)\n"
  "  --vtd-invalidation=registers  use CCMD/IOTLB registers instead of the queue (legacy)\n"
  "  --vtd-stage=S first or second-stage tables for paging domains (scalable mode)\n"
  "  --amd-levels=N AMD-Vi page-table levels 1..6 (default: the deepest EFR.HATS allows)\n"
  "  --smmu-strtab=F linear or 2level SMMUv3 stream table (default: by IDR0.ST_LEVEL)\n"
  "  --smmu-stage=N 1 or 2: SMMUv3 translation stage for paging domains (default: 1)\n";

void options_init(struct options *o)
{
  memset(o, 0, sizeof(*o));
  o->exit_mode = EXIT_SHUTDOWN;
}

static int add_glob(struct options *o, const char *g, size_t n)
{
  if (n == 0)
    return 0;
  if (o->n_globs == CMDLINE_MAX_GLOBS || n >= CMDLINE_GLOB_LEN) {
    snprintf(o->error, sizeof(o->error), "too many or too long scenario globs");
    return -1;
  }
  memcpy(o->globs[o->n_globs], g, n);
  o->globs[o->n_globs++][n] = '\0';
  return 0;
}

static int add_glob_list(struct options *o, const char *list)
{
  while (*list) {
    const char *comma = strchr(list, ',');
    size_t n = comma ? (size_t)(comma - list) : strlen(list);
    if (add_glob(o, list, n))
      return -1;
    list += n + (comma ? 1 : 0);
  }
  return 0;
}

/* auto | edu | nvme | nvme:SEG:BB:DD.F (hex, as lspci -D prints it) */
static int parse_initiator(struct options *o, const char *v)
{
  struct initiator_choice *c = &o->initiator;
  if (!strcmp(v, "auto") || !strcmp(v, "edu") || !strcmp(v, "nvme")) {
    c->pick = v[0] == 'a' ? INITIATOR_PICK_AUTO : v[0] == 'e' ? INITIATOR_PICK_EDU : INITIATOR_PICK_NVME;
    c->at_bdf = false;
    return 0;
  }
  unsigned seg, bus, dev, fn;
  int used = 0;
  if (strncmp(v, "nvme:", 5) || sscanf(v + 5, "%4x:%2x:%2x.%1x%n", &seg, &bus, &dev, &fn, &used) != 4 ||
      v[5 + used] != '\0' || dev > 0x1f || fn > 7) {
    snprintf(o->error, sizeof(o->error), "--initiator wants auto, edu, nvme or nvme:SEG:BB:DD.F");
    return -1;
  }
  *c = (struct initiator_choice){ .pick = INITIATOR_PICK_NVME, .at_bdf = true, .segment = (uint16_t)seg,
                                  .bus = (uint8_t)bus, .dev = (uint8_t)dev, .fn = (uint8_t)fn,
                                  .allow_boot_device = c->allow_boot_device };
  return 0;
}

static int take_token(struct options *o, const char *tok, bool first)
{
  size_t n = strlen(tok);
  if (first && n > 4 && strcasecmp(tok + n - 4, ".efi") == 0)
    return 0;
  if (!strcmp(tok, "--list"))
    o->list = true;
  else if (!strcmp(tok, "-v") || !strcmp(tok, "--verbose"))
    o->verbose = true;
  else if (!strcmp(tok, "--dump-acpi"))
    o->dump_acpi = true;
  else if (!strcmp(tok, "--help") || !strcmp(tok, "-h"))
    o->help = true;
  else if (!strcmp(tok, "--exit=qemu"))
    o->exit_mode = EXIT_QEMU;
  else if (!strcmp(tok, "--exit=shutdown"))
    o->exit_mode = EXIT_SHUTDOWN;
  else if (!strcmp(tok, "--exit=return"))
    o->exit_mode = EXIT_RETURN;
  else if (!strncmp(tok, "--initiator-addr-bits=", 22)) {
    char *end;
    unsigned long bits = strtoul(tok + 22, &end, 10);
    if (*end || bits < 12 || bits > 64) {
      snprintf(o->error, sizeof(o->error), "--initiator-addr-bits wants 12..64");
      return -1;
    }
    o->initiator_addr_bits = (unsigned)bits;
  } else if (!strncmp(tok, "--initiator=", 12)) {
    return parse_initiator(o, tok + 12);
  } else if (!strcmp(tok, "--initiator-allow-boot-device")) {
    o->initiator.allow_boot_device = true;
  } else if (!strcmp(tok, "--vtd-mode=legacy"))
    o->vtd_mode = 1;
  else if (!strcmp(tok, "--vtd-mode=scalable"))
    o->vtd_mode = 2;
  else if (!strcmp(tok, "--vtd-invalidation=registers"))
    o->vtd_register_invalidation = true;
  else if (!strcmp(tok, "--vtd-stage=first"))
    o->vtd_stage = 1;
  else if (!strcmp(tok, "--vtd-stage=second"))
    o->vtd_stage = 2;
  else if (!strcmp(tok, "--smmu-strtab=linear"))
    o->smmu_strtab = 1;
  else if (!strcmp(tok, "--smmu-strtab=2level"))
    o->smmu_strtab = 2;
  else if (!strcmp(tok, "--smmu-stage=1"))
    o->smmu_stage = 1;
  else if (!strcmp(tok, "--smmu-stage=2"))
    o->smmu_stage = 2;
  else if (!strncmp(tok, "--amd-levels=", 13)) {
    char *end;
    unsigned long levels = strtoul(tok + 13, &end, 10);
    if (*end || levels < 1 || levels > 6) {
      snprintf(o->error, sizeof(o->error), "--amd-levels wants 1..6");
      return -1;
    }
    o->amd_levels = (unsigned)levels;
  }
  else if (!strncmp(tok, "--only=", 7))
    return add_glob_list(o, tok + 7);
  else if (tok[0] == '-') {
    snprintf(o->error, sizeof(o->error), "unknown option '%.60s'", tok);
    return -1;
  } else
    return add_glob_list(o, tok);
  return 0;
}

int options_parse(struct options *o, const char *text)
{
  char tok[128];
  bool first = true;
  while (*text) {
    while (*text && isspace((unsigned char)*text))
      text++;
    if (*text == '#') {
      while (*text && *text != '\n')
        text++;
      continue;
    }
    size_t n = 0;
    while (text[n] && !isspace((unsigned char)text[n]))
      n++;
    if (n == 0)
      break;
    if (n >= sizeof(tok)) {
      snprintf(o->error, sizeof(o->error), "token longer than %zu characters", sizeof(tok) - 1);
      return -1;
    }
    memcpy(tok, text, n);
    tok[n] = '\0';
    text += n;
    if (take_token(o, tok, first))
      return -1;
    first = false;
  }
  return 0;
}
