/* Command line / bareiommu.cfg parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "boot/cmdline.h"

static void shell_line_drops_image_name(void **state)
{
  (void)state;
  struct options o;
  options_init(&o);
  assert_int_equal(options_parse(&o, "fs0:\\EFI\\BOOT\\BOOTX64.EFI -v dma.* --list"), 0);
  assert_true(o.verbose);
  assert_true(o.list);
  assert_int_equal(o.n_globs, 1);
  assert_string_equal(o.globs[0], "dma.*");
  assert_int_equal(o.exit_mode, EXIT_SHUTDOWN);
}

static void config_file_with_comments(void **state)
{
  (void)state;
  struct options o;
  options_init(&o);
  assert_int_equal(options_parse(&o, "# lab run\n--exit=qemu\n--only=discover.*,ioasid.range # two\n\n--dump-acpi\n"
                                     "--initiator-addr-bits=48 --vtd-mode=legacy --vtd-invalidation=registers\n"), 0);
  assert_int_equal(o.initiator_addr_bits, 48);
  assert_int_equal(o.vtd_mode, 1);
  assert_true(o.vtd_register_invalidation);
  assert_int_equal(o.exit_mode, EXIT_QEMU);
  assert_int_equal(o.n_globs, 2);
  assert_string_equal(o.globs[1], "ioasid.range");
  assert_true(o.dump_acpi);
}

static void errors_are_named(void **state)
{
  (void)state;
  struct options o;
  options_init(&o);
  assert_int_equal(options_parse(&o, "--frobnicate"), -1);
  assert_non_null(strstr(o.error, "--frobnicate"));
  options_init(&o);
  assert_int_equal(options_parse(&o, "--smmu-strtab=linear --smmu-stage=2"), 0);
  assert_int_equal(o.smmu_strtab, 1);
  assert_int_equal(o.smmu_stage, 2);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--smmu-strtab=3level"), -1);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--amd-levels=7"), -1);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--amd-levels=4"), 0);
  assert_int_equal(o.amd_levels, 4);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--initiator-addr-bits=99"), -1);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--initiator-addr-bits=4x"), -1);
  options_init(&o);
  assert_int_equal(options_parse(&o, "--frobnicate"), -1);
  assert_non_null(strstr(o.error, "--frobnicate"));
  options_init(&o);
  char many[CMDLINE_MAX_GLOBS * 4 + 8] = "";
  for (int i = 0; i <= CMDLINE_MAX_GLOBS; i++)
    strcat(many, "a.b ");
  assert_int_equal(options_parse(&o, many), -1);
  options_init(&o);
  char longtok[300];
  memset(longtok, 'x', sizeof(longtok) - 1);
  longtok[sizeof(longtok) - 1] = '\0';
  assert_int_equal(options_parse(&o, longtok), -1);
}

static void initiator_choice(void **state)
{
  (void)state;
  struct options o;
  options_init(&o);
  assert_int_equal(o.initiator.pick, INITIATOR_PICK_AUTO);
  assert_int_equal(options_parse(&o, "--initiator=edu"), 0);
  assert_int_equal(o.initiator.pick, INITIATOR_PICK_EDU);
  assert_int_equal(options_parse(&o, "--initiator-allow-boot-device --initiator=nvme:0001:3a:1f.7"), 0);
  assert_int_equal(o.initiator.pick, INITIATOR_PICK_NVME);
  assert_true(o.initiator.at_bdf);
  assert_true(o.initiator.allow_boot_device);
  assert_int_equal(o.initiator.segment, 1);
  assert_int_equal(o.initiator.bus, 0x3a);
  assert_int_equal(o.initiator.dev, 0x1f);
  assert_int_equal(o.initiator.fn, 7);
  assert_int_equal(options_parse(&o, "--initiator=nvme"), 0);
  assert_false(o.initiator.at_bdf);
  assert_int_equal(options_parse(&o, "--initiator=auto"), 0);
  assert_int_equal(o.initiator.pick, INITIATOR_PICK_AUTO);
  /* Out-of-range device/function, trailing text, another kind with a location. */
  assert_int_equal(options_parse(&o, "--initiator=nvme:0000:00:20.0"), -1);
  assert_int_equal(options_parse(&o, "--initiator=nvme:0000:00:02.8"), -1);
  assert_int_equal(options_parse(&o, "--initiator=nvme:0000:00:02.0x"), -1);
  assert_int_equal(options_parse(&o, "--initiator=edu:0000:00:02.0"), -1);
  assert_non_null(strstr(o.error, "--initiator"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(shell_line_drops_image_name),
    cmocka_unit_test(config_file_with_comments),
    cmocka_unit_test(errors_are_named),
    cmocka_unit_test(initiator_choice),
  };
  return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
