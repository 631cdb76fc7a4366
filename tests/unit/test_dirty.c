/* Dirty tracking in the core (iommu/core/dirty.c) over stub units: the bitmap layout at
 * every bit and byte boundary, enforce-dirty allocation and attach refused on a unit that
 * cannot track, and the harvest rules (tracking off, NO_CLEAR without a flush, one flush
 * covering every cleaned leaf, leaves clipped to the window, errors that change nothing).
 * Dirty bits are set here as hardware would, in VT-d second-stage leaves (D = bit 9), with a
 * walk written from the specification (VT-d 9.8), independent of the format code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "boot/mem.h"
#include "iommu/core/dirty.h"

/* ---- stub units: `priv` non-NULL = the unit cannot track (the gap text) ---- */
static unsigned flushes, toggles;
static uint64_t flush_iova, flush_size;

static int stub_alloc_pt(struct iommu_unit *u, enum iommu_domain_type type, unsigned flags,
                         struct iommu_domain **out)
{
  struct iommu_domain *d = calloc(1, sizeof(*d));
  struct pt_cfg cfg = { .fmt = &pt_fmt_vtd_ss, .levels = 4, .ias = 48, .flags = flags };
  assert_non_null(d);
  d->unit = u;
  d->type = type;
  d->iova_bits = 48;
  if (type == IOMMU_DOMAIN_PAGING) {
    assert_int_equal(pt_init(&d->pt, &cfg), IOMMU_OK);
    d->page_sizes = d->pt.page_sizes;
  }
  *out = d;
  return IOMMU_OK;
}
static int stub_alloc(struct iommu_unit *u, enum iommu_domain_type type, struct iommu_domain **out)
{
  return stub_alloc_pt(u, type, 0, out);
}
static int stub_alloc_dirty(struct iommu_unit *u, struct iommu_domain **out)
{
  int err = stub_alloc_pt(u, IOMMU_DOMAIN_PAGING, PT_F_DIRTY_TRACK, out);
  (*out)->dirty_switch = true;
  return err;
}
static void stub_free(struct iommu_domain *d)
{
  pt_free(&d->pt);
  free(d);
}
static int stub_flush(struct iommu_domain *d, uint64_t iova, uint64_t size)
{
  (void)d;
  flushes++;
  flush_iova = iova;
  flush_size = size;
  return IOMMU_OK;
}
static int stub_attach(struct iommu_domain *d, uint16_t rid)
{
  (void)d, (void)rid;
  return IOMMU_OK;
}
static int stub_detach(struct iommu_unit *u, uint16_t rid)
{
  (void)u, (void)rid;
  return IOMMU_OK;
}
static const char *stub_feature_gap(const struct iommu_unit *u, enum iommu_feature f)
{
  (void)u, (void)f;
  return NULL;
}
static const char *stub_dirty_gap(const struct iommu_unit *u) { return u->priv; }
static int stub_toggle(struct iommu_domain *d, bool on)
{
  (void)d, (void)on;
  toggles++;
  return IOMMU_OK;
}
static const struct iommu_ops stub_ops = {
  .name = "stub", .feature_gap = stub_feature_gap, .domain_alloc = stub_alloc,
  .domain_free = stub_free, .flush = stub_flush, .attach = stub_attach, .detach = stub_detach,
  .dirty_gap = stub_dirty_gap, .domain_alloc_dirty = stub_alloc_dirty,
  .set_dirty_tracking = stub_toggle,
};

/* What hardware does on a write through iova: D (bit 9) in the leaf (PS bit 7 above level 1). */
static void hw_write(const struct pt *pt, uint64_t iova)
{
  uint64_t *t = pt->root;
  for (unsigned level = pt->levels;; level--) {
    uint64_t *e = &t[(iova >> (12 + 9 * (level - 1))) & 511];
    assert_true(*e & 3);
    if (level == 1 || (*e & (1ull << 7))) {
      *e |= 1ull << 9;
      return;
    }
    t = phys_to_virt(*e & 0x000ffffffffff000ull);
  }
}

/* ---- tests ---- */
static void bitmap_set_every_boundary(void **state)
{
  (void)state;
  uint8_t got[48], want[48];
  for (uint64_t first = 0; first < 140; first++)
    for (uint64_t last = first; last < 200; last += 1 + (last > first + 70) * 7) {
      memset(got, 0x5a, sizeof(got));
      memset(got + 4, 0, 30);
      memcpy(want, got, sizeof(want));
      for (uint64_t b = first; b <= last; b++)
        want[4 + b / 8] |= (uint8_t)(1u << (b % 8));
      iommu_bitmap_set(got + 4, first, last);
      assert_memory_equal(got, want, sizeof(got));
    }
}

static void enforce_dirty_refused_where_the_unit_cannot_track(void **state)
{
  (void)state;
  struct iommu_unit yes = { .ops = &stub_ops, .active = true };
  struct iommu_unit no = { .ops = &stub_ops, .active = true, .priv = (void *)"X.DIRTY=0" };
  struct iommu_domain *d = NULL, *pt = NULL;
  assert_int_equal(iommu_domain_alloc_flags(&no, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY, &d),
                   IOMMU_EUNSUPPORTED);
  assert_null(d);
  assert_string_equal(iommu_dirty_gap(&no), "X.DIRTY=0");
  assert_int_equal(iommu_domain_alloc_flags(&yes, IOMMU_DOMAIN_PASSTHROUGH, IOMMU_DOMAIN_F_DIRTY, &pt),
                   IOMMU_EUNSUPPORTED);
  assert_int_equal(iommu_domain_alloc_flags(&yes, IOMMU_DOMAIN_PAGING, 1u << 7, &d), IOMMU_EINVAL);
  assert_int_equal(iommu_domain_alloc_flags(&yes, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY, &d), IOMMU_OK);
  assert_true(d->dirty_enforced);
  struct iommu_device dev_no = { .unit = &no, .rid = 0x10 }, dev_yes = { .unit = &yes, .rid = 0x18 };
  assert_string_equal(iommu_device_dirty_gap(&dev_no), "X.DIRTY=0");
  assert_int_equal(iommu_attach(d, &dev_no), IOMMU_EUNSUPPORTED); /* named before "other unit" */
  assert_null(dev_no.domain);
  assert_int_equal(iommu_attach(d, &dev_yes), IOMMU_OK);
  assert_int_equal(iommu_detach(&dev_yes), IOMMU_OK);
  /* A domain allocated without the flag cannot track at all. */
  struct iommu_domain *plain;
  assert_int_equal(iommu_domain_alloc(&yes, IOMMU_DOMAIN_PAGING, &plain), IOMMU_OK);
  assert_int_equal(iommu_set_dirty_tracking(plain, true), IOMMU_EUNSUPPORTED);
  assert_int_equal(iommu_read_and_clear_dirty(plain, 0, 4096, 4096, NULL, 0), IOMMU_EUNSUPPORTED);
  iommu_domain_free(plain);
  iommu_domain_free(d);
}

#define WIN 0x40000000ull

static void harvest_rules(void **state)
{
  (void)state;
  struct iommu_unit u = { .ops = &stub_ops, .active = true };
  struct iommu_domain *d;
  uint8_t buf[80], want[80];
  assert_int_equal(iommu_domain_alloc_flags(&u, IOMMU_DOMAIN_PAGING, IOMMU_DOMAIN_F_DIRTY, &d), IOMMU_OK);
  /* 16 pages of 4K, then one 2M leaf, at WIN. */
  for (unsigned i = 0; i < 16; i++)
    assert_int_equal(iommu_map(d, WIN + i * 4096ull, 0x10000000ull + i * 8192ull, 4096, IOMMU_PROT_READ | IOMMU_PROT_WRITE), 0);
  assert_int_equal(iommu_map(d, WIN + 0x200000, 0x20000000, 0x200000, IOMMU_PROT_READ | IOMMU_PROT_WRITE), 0);

  /* Off: a bitmap is refused, none means clear only (one flush for what it cleaned). */
  hw_write(&d->pt, WIN + 3 * 4096);
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, buf, 0), IOMMU_EINVAL);
  flushes = 0;
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, NULL, 0), IOMMU_OK);
  assert_int_equal(flushes, 1);

  /* On: the switch is used, stale state cleared, the whole domain flushed. */
  hw_write(&d->pt, WIN + 5 * 4096);
  toggles = flushes = 0;
  assert_int_equal(iommu_set_dirty_tracking(d, true), IOMMU_OK);
  assert_int_equal(toggles, 1);
  assert_int_equal(flushes, 1);
  assert_int_equal(flush_size, 0);
  memset(buf, 0, sizeof(buf));
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, buf, IOMMU_DIRTY_NO_CLEAR), IOMMU_OK);
  assert_int_equal(buf[0] | buf[1], 0);

  /* NO_CLEAR: bits reported at an odd byte address, no flush, state kept. */
  hw_write(&d->pt, WIN + 1 * 4096);
  hw_write(&d->pt, WIN + 9 * 4096);
  hw_write(&d->pt, WIN + 0x200000 + 0x5000);
  flushes = 0;
  memset(buf, 0x5a, sizeof(buf));
  memset(buf + 3, 0, 2);
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, buf + 3, IOMMU_DIRTY_NO_CLEAR), IOMMU_OK);
  assert_int_equal(buf[3], 0x02);
  assert_int_equal(buf[4], 0x02);
  assert_int_equal(buf[2], 0x5a);
  assert_int_equal(buf[5], 0x5a);
  assert_int_equal(flushes, 0);

  /* A hole (16 pages to 2M are unmapped) fails before anything changes. */
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 0x400000, 4096, buf, 0), IOMMU_ENOENT);
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN + 0x800, 4096, 4096, buf, 0), IOMMU_EINVAL);
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 4096, 0x3000, buf, 0), IOMMU_EINVAL);
  assert_int_equal(iommu_read_and_clear_dirty(d, ~0ull - 4095, 8192, 4096, buf, 0), IOMMU_ERANGE);
  assert_int_equal(iommu_read_and_clear_dirty(d, 1ull << 48, 4096, 4096, buf, 0), IOMMU_ERANGE);
  assert_int_equal(flushes, 0);

  /* A window inside the dirty 2M leaf gets only its own bits (64K bits: 2 of them). */
  memset(buf, 0, sizeof(buf));
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN + 0x210000, 0x20000, 0x10000, buf, IOMMU_DIRTY_NO_CLEAR), IOMMU_OK);
  assert_int_equal(buf[0], 0x03);
  assert_int_equal(buf[1], 0);

  /* Clearing harvest of both ranges: one flush each, covering every cleaned leaf. */
  memset(buf, 0, sizeof(buf));
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, buf, 0), IOMMU_OK);
  assert_int_equal(flushes, 1);
  assert_int_equal(flush_iova, WIN + 4096);
  assert_int_equal(flush_size, 9 * 4096);
  memset(want, 0, sizeof(want));
  want[0] = 0x02, want[1] = 0x02;
  assert_memory_equal(buf, want, 4);
  memset(buf, 0, sizeof(buf));
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN + 0x200000, 0x200000, 0x8000, buf, 0), IOMMU_OK);
  assert_int_equal(flushes, 2);
  memset(want, 0xff, 8); /* 2M / 32K = 64 bits */
  assert_memory_equal(buf, want, 8);
  memset(buf, 0, sizeof(buf));
  flushes = 0;
  assert_int_equal(iommu_read_and_clear_dirty(d, WIN, 16 * 4096, 4096, buf, 0), IOMMU_OK);
  assert_int_equal(buf[0] | buf[1], 0);
  assert_int_equal(flushes, 0); /* nothing cleaned, nothing to invalidate */

  /* Unmap reports what it removed dirty. */
  hw_write(&d->pt, WIN + 2 * 4096);
  struct iommu_gather g;
  uint64_t removed;
  iommu_gather_init(&g);
  memset(buf, 0, sizeof(buf));
  assert_int_equal(iommu_unmap_read_dirty(d, WIN, 4 * 4096, 4096, buf, &g, &removed), IOMMU_OK);
  assert_int_equal(removed, 4 * 4096);
  assert_int_equal(buf[0], 0x04);
  assert_int_equal(iommu_sync(d, &g), IOMMU_OK);
  iommu_domain_free(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(bitmap_set_every_boundary),
    cmocka_unit_test(enforce_dirty_refused_where_the_unit_cannot_track),
    cmocka_unit_test(harvest_rules),
  };
  return cmocka_run_group_tests_name("dirty", tests, NULL, NULL);
}
