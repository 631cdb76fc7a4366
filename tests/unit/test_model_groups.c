/* IOMMU groups and containers on model platforms booted through the firmware's discovery:
 * which functions share a group and why, whole-group attach, the single-device refusal, and
 * containers that join, replay into and refuse domains of two units. DMA itself is covered by
 * the group.* / container.* scenarios in the model matrix; here the core's bookkeeping and the
 * domains' tables are checked directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "arch/host/host_boot.h"
#include "boot/mem.h"
#include "iommu/core/container.h"
#include "iommu/iommu.h"

struct booted {
  struct host_system sys;
  FILE *saved;
  char *out;
  size_t out_len;
};

static void boot(struct booted *b, const char *spec)
{
  char err[200];
  assert_int_equal(host_system_create(spec, &b->sys, err, sizeof(err)), 0);
  b->saved = stdout;
  stdout = open_memstream(&b->out, &b->out_len); /* diagnostics stay out of the test log */
  assert_int_equal(host_system_discover(&b->sys), 0);
  for (unsigned i = 0; i < b->sys.plat->n_iommus; i++)
    assert_int_equal(iommu_activate(b->sys.plat, &b->sys.plat->iommus[i]), 0);
  assert_int_equal(iommu_groups_build(b->sys.plat), 0);
}

static void shutdown(struct booted *b)
{
  iommu_deactivate_all(b->sys.plat);
  fclose(stdout);
  stdout = b->saved;
  free(b->out);
  host_system_destroy(&b->sys);
}

static bool has_rid(const struct iommu_group *g, uint16_t rid)
{
  for (unsigned i = 0; i < g->n_rids; i++)
    if (g->rids[i] == rid)
      return true;
  return false;
}

static void alias_and_multifunction_groups(void **state)
{
  (void)state;
  struct booted b;
  boot(&b, "vtd-groups");
  /* 00:00.0, 00:01.0, 00:05.{0,1}, 00:09.0, 01:00.0 + 02:01.0: dense IDs by lowest RID. */
  assert_int_equal(iommu_group_count(), 5);
  for (unsigned i = 0; i < iommu_group_count(); i++)
    assert_int_equal(iommu_group_get(i)->id, i);
  const struct iommu_group *alias = iommu_group_of_rid(0, 0x0208);
  assert_non_null(alias);
  assert_ptr_equal(iommu_group_of_rid(0, 0x0200), alias);    /* the alias RID */
  assert_ptr_equal(iommu_group_of_rid(0, 0x0100), alias);    /* the bridge itself */
  assert_int_equal(alias->n_members, 2);
  assert_int_equal(alias->reasons, IOMMU_GROUP_ALIAS);
  assert_int_equal(alias->id, 4);
  assert_null(strstr(alias->why, "ACS"));                    /* the root port isolates */
  const struct iommu_group *mf = iommu_group_of_rid(0, 0x0028);
  assert_ptr_equal(iommu_group_of_rid(0, 0x0029), mf);
  assert_int_equal(mf->reasons, IOMMU_GROUP_MULTIFUNCTION);
  assert_int_equal(iommu_group_of_rid(0, 0x0048)->n_rids, 1);
  shutdown(&b);
}

static void acs_groups(void **state)
{
  (void)state;
  struct booted b;
  boot(&b, "vtd-groups,rpacs=0,mfacs=1");
  const struct iommu_group *g = iommu_group_of_rid(0, 0x0208);
  /* Without ACS on the root port it joins the bridge and the device behind it. */
  assert_ptr_equal(iommu_group_of_rid(0, 0x0008), g);
  assert_int_equal(g->n_members, 3);
  assert_true(has_rid(g, 0x0200) && has_rid(g, 0x0100) && has_rid(g, 0x0008));
  assert_int_equal(g->reasons, IOMMU_GROUP_ALIAS | IOMMU_GROUP_ACS);
  assert_non_null(strstr(g->why, "00:01.0 (root port) lacks SV RR CR UF"));
  /* With ACS RR CR each function of 00:05 is its own group. */
  assert_ptr_not_equal(iommu_group_of_rid(0, 0x0028), iommu_group_of_rid(0, 0x0029));
  shutdown(&b);
}

static void whole_group_attach(void **state)
{
  (void)state;
  struct booted b;
  boot(&b, "vtd-groups");
  struct iommu_group *g = iommu_group_of_rid(0, 0x0208);
  struct iommu_domain *dom;
  assert_int_equal(iommu_domain_alloc(g->unit, IOMMU_DOMAIN_PAGING, &dom), 0);
  int err;
  struct iommu_device *one = iommu_device_get(b.sys.plat, 0, 0x0208, &err);
  assert_non_null(one);
  assert_int_equal(iommu_attach(dom, one), IOMMU_EGROUP);
  assert_null(one->domain);
  assert_int_equal(iommu_group_attach(g, dom), 0);
  for (unsigned i = 0; i < g->n_rids; i++)
    assert_ptr_equal(iommu_device_get(b.sys.plat, 0, g->rids[i], &err)->domain, dom);
  assert_int_equal(dom->n_devices, g->n_rids);
  assert_int_equal(iommu_domain_free(dom), IOMMU_EBUSY);
  assert_int_equal(iommu_group_detach(g), 0);
  assert_int_equal(dom->n_devices, 0);
  assert_int_equal(iommu_group_detach(g), IOMMU_ENOENT);
  assert_int_equal(iommu_domain_free(dom), 0);
  shutdown(&b);
}

static bool maps(struct iommu_domain *dom, uint64_t iova)
{
  uint64_t phys;
  unsigned prot;
  return iommu_iova_to_phys(dom, iova, &phys, &prot) == 0;
}

static void container_on_two_units(void **state)
{
  (void)state;
  struct booted b;
  boot(&b, "vtd-groups-2units");
  struct iommu_group *a = iommu_group_of_rid(0, 0x0208), *mf = iommu_group_of_rid(0, 0x0028);
  struct iommu_group *narrow = iommu_group_of_rid(0, 0x0048);
  assert_ptr_not_equal(a->unit, narrow->unit);
  struct iommu_container wide, c;
  char why[200];
  unsigned replayed;
  /* A 48-bit address space cannot be honoured by the 39-bit unit: refused, nothing attached. */
  assert_int_equal(iommu_container_init(&wide, 48, IOMMU_PAGE_4K), 0);
  assert_int_equal(iommu_container_attach(&wide, a, &replayed, why, sizeof(why)), 0);
  assert_int_equal(iommu_container_attach(&wide, narrow, &replayed, why, sizeof(why)), IOMMU_ERANGE);
  assert_non_null(strstr(why, "39-bit"));
  assert_null(narrow->domain);
  iommu_container_release(&wide);
  assert_null(a->domain);
  /* 32 bits: the first group makes a domain, the second of its unit joins it, the third
   * (other unit) gets a second domain with the existing mappings replayed. */
  assert_int_equal(iommu_container_init(&c, 32, IOMMU_PAGE_4K), 0);
  assert_int_equal(iommu_container_attach(&c, a, &replayed, why, sizeof(why)), 0);
  assert_int_equal(iommu_container_map(&c, 0x100000, 0x100000000ull, 0x2000, IOMMU_PROT_READ), 0);
  assert_int_equal(iommu_container_attach(&c, mf, &replayed, why, sizeof(why)), 0);
  assert_int_equal(replayed, 0);
  assert_ptr_equal(mf->domain, a->domain);
  assert_int_equal(iommu_container_attach(&c, narrow, &replayed, why, sizeof(why)), 0);
  assert_int_equal(replayed, 1);
  assert_int_equal(c.n_domains, 2);
  assert_true(maps(narrow->domain, 0x101000));
  /* Later map and unmap reach both domains; a cut mapping is refused. */
  assert_int_equal(iommu_container_map(&c, 0x200000, 0x100002000ull, 0x1000, IOMMU_PROT_WRITE), 0);
  assert_true(maps(a->domain, 0x200000) && maps(narrow->domain, 0x200000));
  assert_int_equal(iommu_container_map(&c, 0x200000, 0x100002000ull, 0x1000, IOMMU_PROT_WRITE), IOMMU_EEXIST);
  assert_int_equal(iommu_container_unmap(&c, 0x100000, 0x1000), IOMMU_ERANGE);
  assert_int_equal(iommu_container_unmap(&c, 0x100000, 0x2000), 0);
  assert_false(maps(a->domain, 0x100000) || maps(narrow->domain, 0x101000));
  assert_true(maps(narrow->domain, 0x200000));
  assert_int_equal(iommu_container_map(&c, 1ull << 32, 0x100000000ull, 0x1000, IOMMU_PROT_READ), IOMMU_ERANGE);
  /* Detaching the last group of a domain frees it; the others keep theirs. */
  assert_int_equal(iommu_container_detach(&c, narrow), 0);
  assert_int_equal(c.n_domains, 1);
  assert_null(narrow->domain);
  assert_int_equal(iommu_container_detach(&c, a), 0);
  assert_non_null(mf->domain);
  assert_int_equal(iommu_container_detach(&c, a), IOMMU_ENOENT);
  iommu_container_release(&c);
  assert_null(mf->domain);
  shutdown(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(alias_and_multifunction_groups),
    cmocka_unit_test(acs_groups),
    cmocka_unit_test(whole_group_attach),
    cmocka_unit_test(container_on_two_units),
  };
  return cmocka_run_group_tests_name("model_groups", tests, NULL, NULL);
}
