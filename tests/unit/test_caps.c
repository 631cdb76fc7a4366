/* Capability probes and checks of the three drivers over fake register windows holding the
 * values QEMU 7.2 reports (HARDWARE-NOTES.md) and deliberately broken ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/host/arch_host.h"
#include "iommu/iommu.h"

static uint8_t regs[0x4000];

static uint64_t reg_read(void *ctx, uint64_t off, unsigned width)
{
  (void)ctx;
  uint64_t v = 0;
  memcpy(&v, regs + off, width);
  return v;
}

static void reg_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  (void)ctx; (void)off; (void)width; (void)v;
  fail_msg("a probe must not write registers");
}

static struct platform *plat;

static int setup(void **state)
{
  (void)state;
  memset(regs, 0, sizeof(regs));
  host_mmio_unregister_all();
  struct host_mmio_region r = { 0xfed90000, sizeof(regs), reg_read, reg_write, NULL };
  assert_int_equal(host_mmio_register(&r), 0);
  plat = calloc(1, sizeof(*plat));
  plat->n_iommus = 1;
  plat->iommus[0].base = 0xfed90000;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  free(plat->iommus[0].priv);
  free(plat);
  return 0;
}

static void set64(unsigned off, uint64_t v) { memcpy(regs + off, &v, 8); }
static void set32(unsigned off, uint32_t v) { memcpy(regs + off, &v, 4); }

static int probe_and_check(enum iommu_kind kind, char *why, size_t n)
{
  struct iommu_unit *u = &plat->iommus[0];
  u->kind = kind;
  u->ops = iommu_ops_for(kind);
  int err = u->ops->probe(u);
  if (err)
    return err;
  return u->ops->check_caps(u, plat, why, n);
}

static void vtd_qemu_scalable(void **state)
{
  (void)state;
  char why[200];
  set32(0x00, 0x10);
  set64(0x08, 0x00d2008c222f0606ull);
  set64(0x10, 0x490080f00f4aull);
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(plat->iommus[0].pasid_bits, 1); /* ECAP.PASID=1, PSS=0 */
  assert_non_null(strstr(why, "MGAW 48"));
}

static void vtd_qemu_legacy_has_no_pasid(void **state)
{
  (void)state;
  char why[200];
  set32(0x00, 0x10);
  set64(0x08, 0x00d2008c22260206ull);
  set64(0x10, 0xf00f4aull);
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(plat->iommus[0].pasid_bits, 0);
  assert_string_equal(plat->iommus[0].pasid_reason, "ECAP.PASID=0");
}

static void vtd_bad_registers(void **state)
{
  (void)state;
  char why[200];
  memset(regs, 0xff, 0x20);
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_ENODEV);
  free(plat->iommus[0].priv);
  set32(0x00, 0x10);
  set64(0x08, 0x00d2008c22260006ull); /* SAGAW = 0 */
  set64(0x10, 0xf00f4aull);
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_EBADREG);
  assert_non_null(strstr(why, "SAGAW"));
  free(plat->iommus[0].priv);
  set32(0x00, 0x60); /* VT-d 6.0 without second-stage tables may report SAGAW=0 */
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_OK);
  free(plat->iommus[0].priv);
  set64(0x10, 0xf00f4aull | 1ull << 46); /* ... but not when it claims SLTS */
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_EBADREG);
  set64(0x10, 0xf00f4aull);
  set32(0x00, 0x10);
  free(plat->iommus[0].priv);
  set64(0x08, 0x00d200ff22260206ull); /* FRO = 0x3ff0: fault registers beyond the 4 KiB window */
  assert_int_equal(probe_and_check(IOMMU_KIND_VTD, why, sizeof(why)), IOMMU_EBADREG);
  assert_non_null(strstr(why, "window"));
}

static void smmu_qemu(void **state)
{
  (void)state;
  char why[200];
  set32(0x00, 0x0d40101a);
  set32(0x04, 0x02730010);
  set32(0x0c, 0x1404);
  set32(0x14, 0x74);
  set32(0x1c, 0x1);
  assert_int_equal(probe_and_check(IOMMU_KIND_SMMUV3, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(plat->iommus[0].pasid_bits, 0);
  assert_string_equal(plat->iommus[0].pasid_reason, "IDR1.SSIDSIZE=0");
  free(plat->iommus[0].priv);
  set32(0x04, 0x02730010 | (16u << 6)); /* SSIDSIZE 16 */
  assert_int_equal(probe_and_check(IOMMU_KIND_SMMUV3, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(plat->iommus[0].pasid_bits, 16);
  free(plat->iommus[0].priv);
  set32(0x00, 0x0d40101a & ~0x3u); /* no stage at all */
  assert_int_equal(probe_and_check(IOMMU_KIND_SMMUV3, why, sizeof(why)), IOMMU_EBADREG);
}

/* AMD: the IOMMU's PCI function 00:02.0 carries the base in its capability at 0x40. */
static uint32_t amd_cfg_read(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
  (void)ctx; (void)seg;
  if (bus != 0 || dev != 2 || fn != 0)
    return 0xffffffffu;
  switch (off) {
  case 0x40: return 0x000b000f;     /* ID 0x0f, CapType 3, CapRev 1 */
  case 0x44: return 0xfed90001;     /* base low | enable */
  case 0x48: return 0;
  default: return 0;
  }
}

static void amd_qemu(void **state)
{
  (void)state;
  char why[200];
  plat->cfg.read32 = amd_cfg_read;
  plat->ivrs.n_ivhd = 1;
  plat->ivrs.ivhd[0] = (struct ivrs_ivhd){ .type = 0x10, .iommu_devid = 0x0010, .cap_offset = 0x40,
                                           .base = 0xfed90000 };
  set64(0x30, 0x29d3);
  assert_int_equal(probe_and_check(IOMMU_KIND_AMD, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(plat->iommus[0].pasid_bits, 1); /* GTSup=1, PASmax=0 */
  free(plat->iommus[0].priv);
  /* An IVHD 0x11 whose EFR image disagrees with the register. */
  plat->ivrs.ivhd[0].type = 0x11;
  plat->ivrs.ivhd[0].efr_image = 0x29d1;
  assert_int_equal(probe_and_check(IOMMU_KIND_AMD, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "firmware erratum: IVHD 0x11 EFR image 0x29d1 differs"));
  free(plat->iommus[0].priv);
  plat->ivrs.ivhd[0].type = 0x10;
  plat->ivrs.ivhd[0].base = 0xfeb80000; /* ACPI and the PCI capability disagree */
  plat->iommus[0].base = 0xfeb80000;
  struct host_mmio_region r = { 0xfeb80000, sizeof(regs), reg_read, reg_write, NULL };
  host_mmio_register(&r);
  assert_int_equal(probe_and_check(IOMMU_KIND_AMD, why, sizeof(why)), IOMMU_EBADREG);
  assert_non_null(strstr(why, "differs from IVHD base"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(vtd_qemu_scalable, setup, teardown),
    cmocka_unit_test_setup_teardown(vtd_qemu_legacy_has_no_pasid, setup, teardown),
    cmocka_unit_test_setup_teardown(vtd_bad_registers, setup, teardown),
    cmocka_unit_test_setup_teardown(smmu_qemu, setup, teardown),
    cmocka_unit_test_setup_teardown(amd_qemu, setup, teardown),
  };
  return cmocka_run_group_tests_name("caps", tests, NULL, NULL);
}
