/* Command line: from LoadOptions (UEFI shell / boot option) or bareiommu.cfg beside the
 * image. Tokens: scenario ID globs (dma.*, discover.caps), --only=GLOB[,GLOB],
 * --list, -v/--verbose, --dump-acpi, --exit=qemu|shutdown|return, --initiator-addr-bits=N,
 * --vtd-mode=legacy|scalable, --vtd-invalidation=registers, --vtd-stage=first|second,
 * --amd-levels=N, --smmu-strtab=linear|2level, --smmu-stage=1|2,
 * --initiator=auto|edu|nvme[:SEG:BB:DD.F], --initiator-allow-boot-device, --help. */
#ifndef BOOT_CMDLINE_H
#define BOOT_CMDLINE_H

#include <stdbool.h>

#include "boot/platform.h"

#define CMDLINE_MAX_GLOBS 16
#define CMDLINE_GLOB_LEN 64

enum exit_mode {
  EXIT_SHUTDOWN,  /* ResetSystem(EfiResetShutdown) with the verdict as status (default) */
  EXIT_QEMU,      /* isa-debug-exit / semihosting, then shutdown */
  EXIT_RETURN,    /* return to the boot manager / shell with the verdict as status */
};

struct options {
  bool list, verbose, dump_acpi, help;
  enum exit_mode exit_mode;
  unsigned n_globs;
  char globs[CMDLINE_MAX_GLOBS][CMDLINE_GLOB_LEN];
  unsigned initiator_addr_bits; /* --initiator-addr-bits=N: what the DMA device can emit */
  struct initiator_choice initiator; /* --initiator=..., --initiator-allow-boot-device */
  int vtd_mode;           /* --vtd-mode=legacy|scalable (0 = automatic) */
  bool vtd_register_invalidation; /* --vtd-invalidation=registers */
  int vtd_stage;          /* --vtd-stage=first|second (0 = automatic) */
  unsigned amd_levels;    /* --amd-levels=N: AMD-Vi paging mode 1..6 (0 = deepest EFR.HATS allows) */
  int smmu_strtab;        /* --smmu-strtab=linear|2level (0 = automatic) */
  int smmu_stage;         /* --smmu-stage=1|2 (0 = automatic) */
  char error[96];         /* non-empty when a token was not understood */
};

void options_init(struct options *o);
/* Adds the tokens of text (whitespace/newline separated, '#' to end of line is a comment).
 * A first token ending in ".efi" (the image name the shell passes) is ignored. Returns 0 or
 * -1 with o->error set. */
int options_parse(struct options *o, const char *text);
extern const char options_help[];

#endif
