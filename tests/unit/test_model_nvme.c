/* The NVMe initiator (iommu/initiator/nvme.c) against the model NVMe controller
 * (tests/model/nvme_model.c) on a model platform, IOMMU off: the controller starts with its
 * queues where it is told, Read lands the fixed buffer, Compare tells equal from different,
 * a failed data transfer is reported as such, a queue it cannot reach stops it with a named
 * error, and it refuses what it cannot do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#undef skip

#include "arch/arch.h"
#include "arch/host/host_boot.h"
#include "boot/mem.h"
#include "iommu/initiator/initiator.h"
#include "iommu/iommu.h"

#define XFER 3584u
/* Far above the model's memory arena: a request there decodes to nothing. */
#define NOWHERE 0x7f0000000000ull

struct nvme_fixture {
  struct host_system sys;
  struct dma_initiator ini;
};

static void open_nvme(struct nvme_fixture *f, const char *spec)
{
  char err[200];
  assert_int_equal(host_system_create(spec, &f->sys, err, sizeof(err)), 0);
  f->sys.plat->initiator_choice.pick = INITIATOR_PICK_NVME;
  assert_int_equal(host_system_discover(&f->sys), 0);
  assert_int_equal(f->sys.plat->n_initiators, 1);
  assert_string_equal(initiator_kind_name(platform_initiator(f->sys.plat)), "nvme");
  assert_int_equal(initiator_open(f->sys.plat, 0, 0, &f->ini), 0);
  assert_string_equal(f->ini.name, "nvme");
  assert_true(f->ini.own_pages > 0);
}

static void close_nvme(struct nvme_fixture *f)
{
  f->ini.release(&f->ini);
  host_system_destroy(&f->sys);
}

static void read_and_compare(void **state)
{
  (void)state;
  struct nvme_fixture f;
  open_nvme(&f, "vtd-legacy,engines=1,nvme=1");
  uint64_t phys;
  uint8_t *page = page_alloc(2, UINT64_MAX, &phys);
  assert_non_null(page);
  /* Nothing moves before the queues have an address. */
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, phys, XFER), INITIATOR_ENOTREADY);
  assert_int_equal(f.ini.set_own_iova(&f.ini, f.ini.own_phys), 0);
  assert_non_null(f.ini.fixed_buffer);
  assert_true(f.ini.max_len >= XFER);
  /* Read: the fixed buffer lands, from an offset and across a page. */
  memset(page, 0xee, 2 * 4096);
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, phys + 0xa24, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_DONE);
  assert_memory_equal(page + 0xa24, f.ini.fixed_buffer, XFER);
  assert_int_equal(page[0xa23], 0xee);
  assert_int_equal(page[0xa24 + XFER], 0xee);
  /* Compare: equal, then one byte different. */
  assert_int_equal(f.ini.dma_read(&f.ini, IOMMU_NO_PASID, phys + 0xa24, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_DONE);
  page[0xa24 + 100] ^= 1;
  assert_int_equal(f.ini.dma_read(&f.ini, IOMMU_NO_PASID, phys + 0xa24, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_MISMATCH);
  assert_non_null(strstr(f.ini.last_status, "Compare Failure"));
  assert_int_equal(f.ini.n_mismatch, 1);
  /* The whole buffer: a PRP list. */
  uint64_t big_phys;
  uint8_t *big = page_alloc(5, UINT64_MAX, &big_phys);
  assert_non_null(big);
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, big_phys + 0x200, f.ini.max_len), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_DONE);
  assert_memory_equal(big + 0x200, f.ini.fixed_buffer, f.ini.max_len);
  /* Refused before anything is queued. */
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, phys, 1000), INITIATOR_ERANGE);
  assert_non_null(strstr(f.ini.last_status, "512-byte LBA"));
  assert_int_equal(f.ini.dma_write(&f.ini, 1, phys, XFER), INITIATOR_ENOPASID);
  page_free(big, 5);
  page_free(page, 2);
  close_nvme(&f);
}

static void failed_transfer_is_reported(void **state)
{
  (void)state;
  struct nvme_fixture f;
  open_nvme(&f, "vtd-legacy,engines=1,nvme=1");
  assert_int_equal(f.ini.set_own_iova(&f.ini, f.ini.own_phys), 0);
  /* Data to nowhere: the command completes, and says its transfer failed. */
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, NOWHERE, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_FAILED);
  assert_non_null(strstr(f.ini.last_status, "Data Transfer Error"));
  assert_int_equal(f.ini.dma_read(&f.ini, IOMMU_NO_PASID, NOWHERE, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_FAILED);
  assert_int_equal(f.ini.n_failed, 2);
  close_nvme(&f);
}

static void unreachable_queues_stop_the_controller(void **state)
{
  (void)state;
  struct nvme_fixture f;
  open_nvme(&f, "vtd-legacy,engines=1,nvme=1");
  /* Admin queues where nothing answers: the first command cannot be fetched (CSTS.CFS). */
  assert_int_equal(f.ini.set_own_iova(&f.ini, NOWHERE), INITIATOR_EFATAL);
  assert_non_null(strstr(f.ini.last_status, "CSTS.CFS=1"));
  /* A reset and a reachable address bring it back. */
  assert_int_equal(f.ini.set_own_iova(&f.ini, f.ini.own_phys), 0);
  uint64_t phys;
  uint8_t *page = page_alloc(1, UINT64_MAX, &phys);
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, phys, XFER), 0);
  assert_int_equal(f.ini.last_outcome, INITIATOR_OUTCOME_DONE);
  page_free(page, 1);
  close_nvme(&f);
}

static void no_compare_is_named(void **state)
{
  (void)state;
  struct nvme_fixture f;
  open_nvme(&f, "vtd-legacy,engines=1,nvme=2");
  assert_int_equal(f.ini.set_own_iova(&f.ini, f.ini.own_phys), 0);
  uint64_t phys;
  uint8_t *page = page_alloc(1, UINT64_MAX, &phys);
  assert_int_equal(f.ini.dma_read(&f.ini, IOMMU_NO_PASID, phys, XFER), INITIATOR_ENOTSUP);
  assert_non_null(strstr(f.ini.last_status, "ONCS bit 0"));
  assert_int_equal(f.ini.dma_write(&f.ini, IOMMU_NO_PASID, phys, XFER), 0);
  page_free(page, 1);
  close_nvme(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(read_and_compare),
    cmocka_unit_test(failed_transfer_is_reported),
    cmocka_unit_test(unreachable_queues_stop_the_controller),
    cmocka_unit_test(no_compare_is_named),
  };
  return cmocka_run_group_tests_name("model_nvme", tests, NULL, NULL);
}
