/* PCI enumeration and capability decoding over a fake config space. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/pci.h"

/* Config space for buses 0..3, 32 devices, 8 functions, 4 KiB each; absent = 0xff. */
#define FAKE_BUSES 4
static uint8_t cfg[FAKE_BUSES][32][8][4096];

static uint32_t fake_read(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
  (void)ctx;
  if (seg != 0 || bus >= FAKE_BUSES)
    return 0xffffffffu;
  uint32_t v;
  memcpy(&v, &cfg[bus][dev][fn][off & 0xffc], 4);
  return v;
}

static void fake_write(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t val)
{
  (void)ctx; (void)seg; (void)bus; (void)dev; (void)fn; (void)off; (void)val;
  fail_msg("enumeration must not write config space");
}

static const struct pci_cfg_ops ops = { fake_read, fake_write, NULL };
static const struct mcfg_info mcfg = { 1, { { 0xb0000000, 0, 0, FAKE_BUSES - 1 } } };

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static uint8_t *function(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor, uint16_t device,
                         uint8_t header_type)
{
  uint8_t *c = cfg[bus][dev][fn];
  memset(c, 0, 4096);
  put16(c, vendor);
  put16(c + 2, device);
  c[0x0e] = header_type;
  return c;
}

static void bridge(uint8_t *c, uint8_t primary, uint8_t secondary, uint8_t subordinate)
{
  c[0x18] = primary;
  c[0x19] = secondary;
  c[0x1a] = subordinate;
}

/* Root bus: host bridge 00:00.0, root port 00:02.0 -> bus 1 (endpoint 01:00.0 with PCIe,
 * MSI, MSI-X and PASID/ATS/PRI/ACS), multifunction 00:1f.{0,3}. */
static int setup(void **state)
{
  (void)state;
  memset(cfg, 0xff, sizeof(cfg));
  function(0, 0, 0, 0x8086, 0x29c0, 0);
  uint8_t *rp = function(0, 2, 0, 0x1b36, 0x000c, 1);
  bridge(rp, 0, 1, 1);
  uint8_t *ep = function(1, 0, 0, 0x1234, 0x11e8, 0);
  put32(ep + 0x08, 0x00ff0010);
  put16(ep + 0x06, 0x0010);          /* status: capability list */
  ep[0x34] = 0x40;
  ep[0x40] = 0x05; ep[0x41] = 0x50;  /* MSI, 64-bit, 4 vectors */
  put16(ep + 0x42, 0x0084);
  ep[0x50] = 0x11; ep[0x51] = 0x60;  /* MSI-X, 32 entries */
  put16(ep + 0x52, 31);
  ep[0x60] = 0x10; ep[0x61] = 0x00;  /* PCIe v2 endpoint */
  put16(ep + 0x62, 0x0002);
  put32(ep + 0x100, 0x0001000d | (0x110u << 20));      /* ACS */
  put16(ep + 0x104, 0x001f);
  put32(ep + 0x110, 0x0001000f | (0x120u << 20));      /* ATS */
  put16(ep + 0x114, 0x0020 | 4);
  put32(ep + 0x120, 0x00010013 | (0x130u << 20));      /* PRI */
  put32(ep + 0x128, 512);
  put32(ep + 0x130, 0x0001001b);                       /* PASID, last */
  put16(ep + 0x134, (uint16_t)(20 << 8 | 0x6));
  function(0, 0x1f, 0, 0x8086, 0x2918, 0x80);
  function(0, 0x1f, 3, 0x8086, 0x2930, 0);
  return 0;
}

static struct pci_topology topo;

static void enumerates_across_bridge(void **state)
{
  (void)state;
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.n, 5);
  int ep = pci_find(&topo, 0x1234, 0x11e8);
  assert_true(ep >= 0);
  const struct pci_dev *d = &topo.devs[ep];
  assert_int_equal(d->bus, 1);
  assert_int_equal(pci_rid(d), 0x0100);
  assert_true(d->parent >= 0);
  assert_int_equal(topo.devs[d->parent].dev, 2);
  assert_int_equal(topo.devs[d->parent].secondary, 1);
  assert_int_equal(pci_find(&topo, 0x8086, 0x2930) >= 0, 1); /* function 3 of a multifunction */
  assert_int_equal(topo.n_root_buses, 1);
}

static void decodes_capabilities(void **state)
{
  (void)state;
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  const struct pci_caps *c = &topo.devs[pci_find(&topo, 0x1234, 0x11e8)].caps;
  assert_int_equal(c->err, PCI_OK);
  assert_int_equal(c->msi, 0x40);
  assert_true(c->msi_64bit);
  assert_int_equal(c->msi_max_vectors, 4);
  assert_int_equal(c->msix_table_size, 32);
  assert_int_equal(c->pcie, 0x60);
  assert_int_equal(c->pcie_version, 2);
  assert_int_equal(c->pcie_port_type, 0);
  assert_int_equal(c->acs, 0x100);
  assert_int_equal(c->acs_cap, 0x1f);
  assert_int_equal(c->ats, 0x110);
  assert_int_equal(c->ats_queue_depth, 4);
  assert_true(c->ats_page_aligned);
  assert_int_equal(c->pri_capacity, 512);
  assert_int_equal(c->pasid, 0x130);
  assert_int_equal(c->pasid_width, 20);
  assert_true(c->pasid_exec);
  assert_true(c->pasid_priv);
}

static void capability_loop_is_named(void **state)
{
  (void)state;
  cfg[1][0][0][0x61] = 0x40; /* PCIe cap points back to MSI */
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.devs[pci_find(&topo, 0x1234, 0x11e8)].caps.err, PCI_ECAPLOOP);
}

static void capability_pointer_into_header(void **state)
{
  (void)state;
  cfg[1][0][0][0x34] = 0x20;
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.devs[pci_find(&topo, 0x1234, 0x11e8)].caps.err, PCI_ECAPPTR);
}

static void extended_loop_is_named(void **state)
{
  (void)state;
  put32(cfg[1][0][0] + 0x130, 0x0001001b | (0x100u << 20)); /* PASID -> ACS again */
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.devs[pci_find(&topo, 0x1234, 0x11e8)].caps.err, PCI_ECAPLOOP);
}

static void bridge_loop_not_followed(void **state)
{
  (void)state;
  /* A bridge on bus 1 claiming bus 0 (backwards) and one claiming its own bus. */
  uint8_t *b = function(1, 3, 0, 0x1b36, 0x000c, 1);
  bridge(b, 1, 0, 3);
  b = function(1, 4, 0, 0x1b36, 0x000c, 1);
  bridge(b, 1, 1, 1);
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.n, 7);
}

static void extra_root_bus_found_by_sweep(void **state)
{
  (void)state;
  function(3, 0, 0, 0x1af4, 0x1041, 0); /* nothing bridges to bus 3: another root bus */
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(topo.n, 6);
  assert_int_equal(topo.n_root_buses, 2);
  assert_int_equal(topo.devs[pci_find(&topo, 0x1af4, 0x1041)].parent, -1);
}

static void dmar_scope_path_through_bridge(void **state)
{
  (void)state;
  struct dmar_scope s = { .type = DMAR_SCOPE_PCI_ENDPOINT, .start_bus = 0, .path_len = 2 };
  s.path[0].dev = 2;
  s.path[1].dev = 0;
  uint16_t rid = 0;
  assert_int_equal(pci_walk_scope(&ops, 0, &s, &rid), PCI_OK);
  assert_int_equal(rid, 0x0100);
  s.path[0].dev = 0; /* the host bridge is not a bridge header: the path names nothing */
  assert_int_not_equal(pci_walk_scope(&ops, 0, &s, &rid), PCI_OK);
}

static void pcie_cap(uint8_t *c, uint8_t port_type)
{
  put16(c + 0x06, 0x0010);
  c[0x34] = 0x40;
  c[0x40] = 0x10;
  c[0x41] = 0x00;
  put16(c + 0x42, (uint16_t)(port_type << 4 | 2));
}

static void acs_cap(uint8_t *c, uint16_t bits)
{
  put32(c + 0x100, 0x0001000d);
  put16(c + 0x104, bits);
}

/* Root port 00:02.0 -> PCIe-to-PCI bridge 01:00.0 -> bus 2 (edu 02:03.0); a conventional
 * PCI-to-PCI bridge 01:01.0 -> bus 3 (edu 03:00.0). */
static void alias_topology(void)
{
  uint8_t *rp = cfg[0][2][0];
  pcie_cap(rp, PCI_PORT_ROOT);
  memset(cfg[1][0][0], 0xff, 4096); /* the endpoint at 01:00.0 makes room */
  uint8_t *b = function(1, 0, 0, 0x1b36, 0x000e, 1);
  pcie_cap(b, PCI_PORT_PCIE_TO_PCI);
  bridge(b, 1, 2, 2);
  function(2, 3, 0, 0x1234, 0x11e8, 0);
  b = function(1, 1, 0, 0x8086, 0x244e, 1);
  bridge(b, 1, 3, 3);
  function(3, 0, 0, 0x1234, 0x11e8, 0);
  bridge(rp, 0, 1, 3);
}

static const struct pci_dev *at(uint8_t bus, uint8_t dev, uint8_t fn)
{
  for (unsigned i = 0; i < topo.n; i++)
    if (topo.devs[i].bus == bus && topo.devs[i].dev == dev && topo.devs[i].fn == fn)
      return &topo.devs[i];
  fail_msg("no function %02x:%02x.%u", bus, dev, fn);
  return NULL;
}

static void bridge_aliases(void **state)
{
  (void)state;
  alias_topology();
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  const struct pci_dev *behind_pcie_bridge = at(2, 3, 0);
  assert_int_equal(behind_pcie_bridge->n_aliases, 1);
  assert_int_equal(behind_pcie_bridge->aliases[0].rid, 0x0200);  /* secondary bus, devfn 0 */
  assert_int_equal(behind_pcie_bridge->aliases[0].kind, PCI_ALIAS_BRIDGE_SECONDARY);
  assert_int_equal(pci_dma_rid(behind_pcie_bridge), 0x0200);
  const struct pci_dev *behind_pci_bridge = at(3, 0, 0);
  assert_int_equal(behind_pci_bridge->n_aliases, 1);
  assert_int_equal(behind_pci_bridge->aliases[0].rid, 0x0108);   /* the bridge 01:01.0 */
  assert_int_equal(behind_pci_bridge->aliases[0].kind, PCI_ALIAS_BRIDGE_ITSELF);
  /* The root port forwards IDs unchanged: the bridges themselves carry no alias. */
  assert_int_equal(at(1, 0, 0)->n_aliases, 0);
  assert_int_equal(pci_dma_rid(at(1, 0, 0)), 0x0100);
}

static void quirk_alias(void **state)
{
  (void)state;
  function(0, 5, 0, 0x1b4b, 0x9123, 0x80); /* Marvell SATA: DMA with function 1's ID */
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  const struct pci_dev *d = at(0, 5, 0);
  assert_int_equal(d->n_aliases, 1);
  assert_int_equal(d->aliases[0].rid, 0x0029);
  assert_int_equal(d->aliases[0].kind, PCI_ALIAS_QUIRK);
  uint8_t devfn;
  const char *source;
  assert_false(pci_dma_alias_quirk(0x1b4b, 0x9123, 0x29, &devfn, &source)); /* itself */
  assert_false(pci_dma_alias_quirk(0x1234, 0x11e8, 0x28, &devfn, &source));
}

static void acs_requirements(void **state)
{
  (void)state;
  uint8_t *rp = cfg[0][2][0];
  pcie_cap(rp, PCI_PORT_ROOT);
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  char buf[32];
  assert_int_equal(pci_acs_missing(at(0, 2, 0)), PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
  assert_string_equal(pci_acs_bits_text(pci_acs_missing(at(0, 2, 0)), buf, sizeof(buf)), "SV RR CR UF");
  acs_cap(rp, PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR);
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(pci_acs_missing(at(0, 2, 0)), PCI_ACS_UF);
  acs_cap(rp, 0x1f);
  put16(rp + 0x106, 0x001d);
  assert_int_equal(pci_enumerate(&topo, &mcfg, &ops), PCI_OK);
  assert_int_equal(pci_acs_missing(at(0, 2, 0)), 0);
  assert_int_equal(at(0, 2, 0)->caps.acs_ctl, 0x1d);
  /* Functions of a multifunction device need RR CR; function 3 inherits function 0's bit. */
  assert_true(at(0, 0x1f, 3)->multifunction);
  assert_int_equal(pci_acs_missing(at(0, 0x1f, 3)), PCI_ACS_RR | PCI_ACS_CR);
  /* A single-function endpoint: ACS does not apply. */
  assert_int_equal(pci_acs_missing(at(0, 0, 0)), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(enumerates_across_bridge, setup),
    cmocka_unit_test_setup(decodes_capabilities, setup),
    cmocka_unit_test_setup(capability_loop_is_named, setup),
    cmocka_unit_test_setup(capability_pointer_into_header, setup),
    cmocka_unit_test_setup(extended_loop_is_named, setup),
    cmocka_unit_test_setup(bridge_loop_not_followed, setup),
    cmocka_unit_test_setup(extra_root_bus_found_by_sweep, setup),
    cmocka_unit_test_setup(dmar_scope_path_through_bridge, setup),
    cmocka_unit_test_setup(bridge_aliases, setup),
    cmocka_unit_test_setup(quirk_alias, setup),
    cmocka_unit_test_setup(acs_requirements, setup),
  };
  return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
