/* AMD-Vi driver on the host: every encoder field by field (DTE, v1/v2 entries, GCR3,
 * commands), event decoding, the v1 page tables against a software walk, and the command
 * buffer / event log / enable-disable logic against a small fake of the hardware side that
 * behaves as 48882 says (illegal commands stop the buffer and are logged, the log overflows
 * when the tail would meet the head) or, in "qemu72" mode, as QEMU 7.2 does (nothing is ever
 * logged, illegal commands are skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/host/arch_host.h"
#include "arch/host/host_mem.h"
#include "boot/mem.h"
#include "iommu/amd/amd_internal.h"

static uint64_t field(uint64_t v, unsigned msb, unsigned lsb) { return REG_FIELD(v, msb, lsb); }

/* ---------------------------------------------------------------- device table entries */
static void dte_blocked_and_settings(void **state)
{
  (void)state;
  uint64_t d[4];
  amd_dte_blocked(d, 0);
  assert_int_equal(d[0], AMD_DTE_V | AMD_DTE_TV);   /* V=1 TV=1 Mode 0 IR=IW=0 */
  assert_int_equal(d[1], 0);
  assert_int_equal(d[2], 0);                        /* IV=0: interrupts unmapped */
  assert_int_equal(d[3], 0);
  assert_true(amd_dte_is_blocked(d));
  /* IVHD setting byte: INITPass 0, EIntPass 1, NMIPass 2, SysMgt 5:4, Lint0 6, Lint1 7. */
  amd_dte_blocked(d, 0xf7);
  assert_int_equal(field(d[1], 41, 40), 3);         /* SysMgt */
  assert_int_equal(field(d[2], 56, 56), 1);         /* INITPass */
  assert_int_equal(field(d[2], 57, 57), 1);         /* EIntPass */
  assert_int_equal(field(d[2], 58, 58), 1);         /* NMIPass */
  assert_int_equal(field(d[2], 59, 59), 0);         /* reserved */
  assert_int_equal(field(d[2], 62, 62), 1);         /* Lint0Pass */
  assert_int_equal(field(d[2], 63, 63), 1);         /* Lint1Pass */
  assert_int_equal(field(d[2], 0, 0), 0);           /* IV still 0 */
  amd_dte_blocked(d, 0x10);
  assert_int_equal(field(d[1], 41, 40), 1);
  assert_int_equal(d[2], 0);
}

static void dte_passthrough_and_translate(void **state)
{
  (void)state;
  uint64_t d[4];
  amd_dte_passthrough(d, 0xbeef, 0);
  assert_int_equal(field(d[0], 0, 0), 1);           /* V */
  assert_int_equal(field(d[0], 1, 1), 1);           /* TV */
  assert_int_equal(field(d[0], 11, 9), 0);          /* Mode 0: untranslated */
  assert_int_equal(field(d[0], 51, 12), 0);
  assert_int_equal(field(d[0], 61, 61), 1);         /* IR */
  assert_int_equal(field(d[0], 62, 62), 1);         /* IW */
  assert_int_equal(field(d[1], 15, 0), 0xbeef);     /* DomainID */
  assert_false(amd_dte_is_blocked(d));

  for (unsigned levels = 1; levels <= 6; levels++) {
    amd_dte_translate(d, 0x000fedcba9876fffull, levels, 0x1234, 0);
    assert_int_equal(field(d[0], 0, 0), 1);
    assert_int_equal(field(d[0], 1, 1), 1);
    assert_int_equal(field(d[0], 6, 2), 0);         /* reserved */
    assert_int_equal(field(d[0], 8, 7), 0);         /* HAD: no A/D updates */
    assert_int_equal(field(d[0], 11, 9), levels);   /* paging mode */
    assert_int_equal(field(d[0], 51, 12), 0xfedcba9876ull); /* root, low bits dropped */
    assert_int_equal(field(d[0], 60, 52), 0);       /* PPR, GPRP, GIoV, GV, GLX, GCR3 */
    assert_int_equal(field(d[0], 62, 61), 3);       /* IR IW */
    assert_int_equal(field(d[0], 63, 63), 0);
    assert_int_equal(d[1], 0x1234);                 /* DomainID only: no SE/SA/IOTLB */
    assert_int_equal(d[2], 0);
    assert_int_equal(d[3], 0);
    assert_int_equal(d[0] & AMD_DTE_RSVD_BITS, 0);
  }
}

static void dte_gcr3_split(void **state)
{
  (void)state;
  uint64_t d[4];
  amd_dte_translate(d, 0x5000, 4, 7, 0);
  uint64_t g = 0x000abcdef1234000ull; /* 52-bit address with every fragment non-zero */
  amd_dte_set_gcr3(d, g, 1, true);
  assert_int_equal(field(d[0], 60, 58), (g >> 12) & 7);        /* GCR3 [14:12] */
  assert_int_equal(field(d[1], 31, 16), (g >> 15) & 0xffff);   /* GCR3 [30:15] */
  assert_int_equal(field(d[1], 63, 43), (g >> 31) & 0x1fffff); /* GCR3 [51:31] */
  assert_int_equal(field(d[0], 55, 55), 1);                    /* GV */
  assert_int_equal(field(d[0], 57, 56), 1);                    /* GLX */
  assert_int_equal(field(d[0], 54, 54), 1);                    /* GIoV */
  assert_int_equal(field(d[1], 15, 0), 7);                     /* DomainID untouched */
  assert_int_equal(field(d[0], 11, 9), 4);                     /* host mode untouched */
  assert_int_equal(amd_dte_gcr3(d), g);
  amd_dte_set_gcr3(d, 0x1000, 0, false);                       /* replaces, no leftovers */
  assert_int_equal(amd_dte_gcr3(d), 0x1000);
  assert_int_equal(field(d[0], 54, 54), 0);
  assert_int_equal(field(d[0], 57, 56), 0);
  assert_int_equal(amd_gcr3_entry_encode(0x123456789fffull), 0x123456789000ull | 1);
}

/* ---------------------------------------------------------------- commands */
static void cmd_completion_wait(void **state)
{
  (void)state;
  uint64_t c[2];
  amd_cmd_completion_wait(c, 0x000fedcba987654full, 0x1122334455667788ull);
  assert_int_equal(field(c[0], 63, 60), 1);         /* opcode */
  assert_int_equal(field(c[0], 0, 0), 1);           /* S */
  assert_int_equal(field(c[0], 1, 1), 0);           /* I */
  assert_int_equal(field(c[0], 2, 2), 0);           /* F */
  assert_int_equal(field(c[0], 51, 3), 0x000fedcba9876548ull >> 3); /* store address [51:3] */
  assert_int_equal(field(c[0], 59, 52), 0);         /* reserved */
  assert_int_equal(c[1], 0x1122334455667788ull);    /* store data */
}

static void cmd_inv_devtab_and_all(void **state)
{
  (void)state;
  uint64_t c[2];
  amd_cmd_inv_devtab_entry(c, 0xa5c3);
  assert_int_equal(field(c[0], 63, 60), 2);
  assert_int_equal(field(c[0], 15, 0), 0xa5c3);
  assert_int_equal(field(c[0], 59, 16), 0);
  assert_int_equal(c[1], 0);
  amd_cmd_inv_iommu_all(c);
  assert_int_equal(c[0], 8ull << 60);
  assert_int_equal(c[1], 0);
}

/* The range an INVALIDATE_IOMMU_PAGES names (48882 2.4.3): S = 0 one page; S = 1 a block of
 * 2^(n+1) bytes, n the lowest clear address bit at or above 12. */
static void inv_range(const uint64_t c[2], uint64_t *base, uint64_t *size)
{
  uint64_t addr = c[1] & ~0xfffull;
  if (!(c[1] & AMD_CMD_INV_S)) {
    *base = addr;
    *size = 4096;
    return;
  }
  unsigned n = 12;
  while (n < 64 && ((addr >> n) & 1))
    n++;
  *size = n >= 63 ? 0 : 1ull << (n + 1); /* 0: the whole 64-bit space */
  *base = *size ? addr & ~(*size - 1) : 0;
}

static void cmd_inv_pages(void **state)
{
  (void)state;
  uint64_t c[2], base, size;
  amd_cmd_inv_iommu_pages(c, 0x4321, 0x200000, 4096, true);
  assert_int_equal(field(c[0], 63, 60), 3);
  assert_int_equal(field(c[0], 47, 32), 0x4321);    /* DomainID */
  assert_int_equal(field(c[0], 19, 0), 0);          /* PASID */
  assert_int_equal(field(c[0], 31, 20), 0);         /* reserved (QEMU checks) */
  assert_int_equal(field(c[0], 59, 48), 0);
  assert_int_equal(field(c[1], 0, 0), 0);           /* S = 0: one page */
  assert_int_equal(field(c[1], 1, 1), 1);           /* PDE */
  assert_int_equal(field(c[1], 2, 2), 0);           /* GN */
  assert_int_equal(field(c[1], 11, 3), 0);
  assert_int_equal(c[1] & ~0xfffull, 0x200000);

  amd_cmd_inv_iommu_pages(c, 1, 0x400000, IOMMU_PAGE_2M, false);
  assert_int_equal(c[1], 0x4ff000ull | AMD_CMD_INV_S); /* bits 12-19 set, 20 clear */
  amd_cmd_inv_iommu_pages(c, 1, 0, 0, true);        /* the whole domain */
  assert_int_equal(c[1], 0x7ffffffffffff000ull | AMD_CMD_INV_S | AMD_CMD_INV_PDE);
  amd_cmd_inv_iommu_pages(c, 1, 0x1ff800, 0x1000, false); /* crosses 0x200000 */
  inv_range(c, &base, &size);
  assert_int_equal(base, 0);
  assert_int_equal(size, 0x400000);

  /* Any range: the named block covers it and is the smallest aligned power of two that can. */
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    unsigned bits = 12 + (unsigned)(x % 52);
    uint64_t iova = (x >> 8) & ((1ull << bits) - 1);
    uint64_t len = 1 + ((x >> 3) % (1ull << (x % 34)));
    amd_cmd_inv_iommu_pages(c, 9, iova, len, true);
    inv_range(c, &base, &size);
    uint64_t first = iova & ~0xfffull, last = iova + len - 1;
    if (size == 0)
      continue; /* everything: covers by definition */
    assert_true(base <= first && last <= base + size - 1);
    if (size > 4096) /* the half-size block holding the start does not hold the end */
      assert_true((first & ~(size / 2 - 1)) + size / 2 - 1 < last);
  }
}

static void ring_arithmetic(void **state)
{
  (void)state;
  assert_int_equal(amd_ring_free(0, 0, 256), 255);
  assert_int_equal(amd_ring_free(0, 255, 256), 0);
  assert_int_equal(amd_ring_free(10, 5, 256), 4);
  assert_int_equal(amd_ring_free(5, 10, 256), 250);
  assert_int_equal(amd_levels_bits(3), 39);
  assert_int_equal(amd_levels_bits(4), 48);
  assert_int_equal(amd_levels_bits(5), 57);
  assert_int_equal(amd_levels_bits(6), 64);
}

/* ---------------------------------------------------------------- events */
static void raw_event(uint64_t raw[2], unsigned type, uint16_t devid, uint32_t pasid_or_domid,
                      uint32_t flags, uint64_t addr)
{
  raw[0] = devid | (uint64_t)((pasid_or_domid >> 16) & 0xf) << 16 |
           (uint64_t)(pasid_or_domid & 0xffff) << 32 | (uint64_t)(flags & 0xfff) << 48 |
           (uint64_t)type << 60;
  raw[1] = addr;
}

static void event_decoding(void **state)
{
  (void)state;
  uint64_t raw[2];
  struct amd_event ev;
  struct iommu_fault f;

  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, 0x0018, 0x0005, AMD_EVF_RW, 0x1deb5000);
  amd_event_decode(raw, &ev);
  assert_int_equal(ev.type, 2);
  assert_int_equal(ev.devid, 0x18);
  assert_int_equal(ev.domid, 5);
  assert_int_equal(ev.flags, AMD_EVF_RW);
  assert_int_equal(ev.addr, 0x1deb5000);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_TRANSLATION);   /* PR = 0: not present */
  assert_int_equal(f.source_id, 0x18);
  assert_true(f.is_write);
  assert_false(f.pasid_present);
  assert_int_equal(f.addr, 0x1deb5000);
  assert_int_equal(f.reason, 2);
  assert_string_equal(f.reason_name, "IO_PAGE_FAULT: not present");

  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, 0x0018, 5, AMD_EVF_PR | AMD_EVF_RW | AMD_EVF_PE, 0x200000);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_PERM_WRITE);
  /* PE=1 is also what a DTE with IR = IW = 0 (a blocked device) gives: the record does not
   * say which, so both kinds come from it. */
  assert_int_equal(f.alt_kind, IOMMU_FAULT_NO_CONTEXT);
  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, 0x0018, 5, AMD_EVF_PR | AMD_EVF_PE, 0x200000);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_PERM_READ);
  assert_false(f.is_write);
  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, 0x0018, 5, AMD_EVF_RZ | AMD_EVF_PR, 0x200000);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_BAD_ENTRY);
  /* GN = 1: the 20-bit PASID is split over dword 0 [19:16] and dword 1 [15:0]. */
  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, 0x0210, 0xabcde, AMD_EVF_GN, 0x5000);
  amd_event_decode(raw, &ev);
  assert_int_equal(ev.pasid, 0xabcde);
  amd_event_to_fault(&ev, &f);
  assert_true(f.pasid_present);
  assert_int_equal(f.pasid, 0xabcde);
  assert_int_equal(f.source_id, 0x0210);

  raw_event(raw, AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY, 0x0018, 0, AMD_EVF_RW, 0x200000);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_BAD_ENTRY);
  assert_true(f.is_write);
  assert_string_equal(f.reason_name, "ILLEGAL_DEV_TABLE_ENTRY");
  raw_event(raw, AMD_EVT_DEV_TAB_HW_ERROR, 0x0018, 0, 0, 0x7000300);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_TABLE_ACCESS);
  raw_event(raw, AMD_EVT_PAGE_TAB_HW_ERROR, 0x0018, 3, 0, 0x8000000);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_TABLE_ACCESS);
  /* Command errors carry no requester: source 0, the command's address. */
  raw_event(raw, AMD_EVT_ILLEGAL_COMMAND, 0x0018, 0, AMD_EVF_RW, 0x1debcbd0);
  amd_event_decode(raw, &ev);
  amd_event_to_fault(&ev, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_OTHER);
  assert_int_equal(f.source_id, 0);
  assert_false(f.is_write);
  assert_int_equal(f.addr, 0x1debcbd0);
  assert_string_equal(f.reason_name, "ILLEGAL_COMMAND_ERROR");
  assert_string_equal(amd_event_name(AMD_EVT_COMMAND_HW_ERROR), "COMMAND_HARDWARE_ERROR");
  assert_string_equal(amd_event_name(AMD_EVT_IOTLB_INV_TIMEOUT), "IOTLB_INV_TIMEOUT");
  assert_string_equal(amd_event_name(0xf), "event type not decoded");
}

/* DTE -> GCR3 table -> v2 root -> leaf, as the IOMMU walks a request with PASID. */
static void v2_tables_through_gcr3(void **state)
{
  (void)state;
  unsigned baseline = host_mem_pages_in_use();
  for (unsigned levels = 4; levels <= 5; levels++) {
    /* v2 tables are x86-64 paging (the page-table engine's format), lower canonical half. */
    struct pt t;
    struct pt_cfg cfg = { .fmt = &pt_fmt_x86_64, .levels = levels, .ias = 12 + 9 * levels - 1 };
    assert_int_equal(pt_init(&t, &cfg), IOMMU_OK);
    uint64_t gcr3_phys;
    uint64_t *gcr3 = page_alloc(1, UINT64_MAX, &gcr3_phys);
    assert_int_equal(amd_gcr3_set(gcr3, 5, t.root_phys), IOMMU_OK);
    assert_int_equal(amd_gcr3_set(gcr3, 512, t.root_phys), IOMMU_ERANGE); /* GLX 0: 9 bits */
    uint64_t dte[4];
    amd_dte_translate(dte, 0, 0, 3, 0);
    amd_dte_set_gcr3(dte, gcr3_phys, 0, false);
    uint64_t top = 1ull << (12 + 9 * levels - 1);
    assert_int_equal(pt_map_range(&t, top - 4096, 0x7000, 4096, IOMMU_PROT_READ), IOMMU_OK);
    assert_int_equal(pt_map_range(&t, 0x200000, 0x40000000, IOMMU_PAGE_2M,
                                  IOMMU_PROT_READ | IOMMU_PROT_WRITE), IOMMU_OK);
    assert_int_equal(pt_map_range(&t, 0x40000000, 0x80000000, IOMMU_PAGE_1G, IOMMU_PROT_READ), IOMMU_OK);
    assert_int_equal(pt_map_range(&t, top, 0x7000, 4096, IOMMU_PROT_READ), IOMMU_ERANGE);
    assert_int_equal(pt_map_range(&t, 0x201000, 0x7000, 4096, IOMMU_PROT_READ), IOMMU_EEXIST);
    assert_int_equal(pt_map_range(&t, 0x1000, 0x7800, 4096, IOMMU_PROT_READ), IOMMU_EINVAL);
    /* walk from the DTE, as the IOMMU does */
    const uint64_t *g = phys_to_virt(amd_dte_gcr3(dte));
    assert_ptr_equal(g, gcr3);
    assert_int_equal(g[5] & 1, 1);                  /* GV */
    assert_int_equal(g[5] & AMD_BASE_ADDR_MASK, t.root_phys);
    unsigned prot;
    uint64_t out;
    assert_int_equal(pt_iova_to_phys(&t, top - 4096 + 0x10, &out, &prot, NULL), IOMMU_OK);
    assert_int_equal(out, 0x7010);
    assert_int_equal(prot, IOMMU_PROT_READ);
    assert_int_equal(pt_iova_to_phys(&t, 0x2abcde, &out, &prot, NULL), IOMMU_OK);
    assert_int_equal(out, 0x400abcde);
    assert_int_equal(prot, IOMMU_PROT_READ | IOMMU_PROT_WRITE);
    assert_int_equal(pt_iova_to_phys(&t, 0x7fffffff, &out, &prot, NULL), IOMMU_OK);
    assert_int_equal(out, 0xbfffffff);
    assert_int_equal(pt_iova_to_phys(&t, 0x1000, &out, &prot, NULL), IOMMU_ENOENT);
    /* the 2 MiB leaf: PS at level 2, P R/W U/S A D */
    const uint64_t *l = t.root;
    for (unsigned k = levels; k > 2; k--)
      l = phys_to_virt(l[(0x200000ull >> (12 + 9 * (k - 1))) & 0x1ff] & AMD_BASE_ADDR_MASK);
    assert_int_equal(l[1], 0x40000000ull | AMD_V2_P | AMD_V2_RW | AMD_V2_US | AMD_V2_A | AMD_V2_D |
                           AMD_V2_PS);
    pt_free(&t);
    page_free(gcr3, 1);
  }
  assert_int_equal(host_mem_pages_in_use(), baseline);
}

/* ---------------------------------------------------------------- fake hardware */
#define FAKE_BASE 0xfed80000ull

static struct fake {
  uint8_t regs[0x4000];
  bool qemu72;          /* QEMU 7.2: no event is ever logged, illegal commands are skipped */
  bool halted;
  unsigned n_cmds[16];
  uint64_t last_cmd[16][2];
} fk;

static uint64_t rget(unsigned off)
{
  uint64_t v;
  memcpy(&v, fk.regs + off, 8);
  return v;
}

static void rset(unsigned off, uint64_t v) { memcpy(fk.regs + off, &v, 8); }

static unsigned ring_entries(unsigned base_off)
{
  unsigned len = (unsigned)field(rget(base_off), 59, 56);
  return len >= 8 && len <= 15 ? 1u << len : 0;
}

static void log_event(const uint64_t raw[2])
{
  uint64_t sts = rget(AMD_MMIO_STATUS);
  if (fk.qemu72 || !(sts & AMD_STS_EVT_LOG_RUN) || (sts & AMD_STS_EVT_OVERFLOW))
    return;
  unsigned n = ring_entries(AMD_MMIO_EVTLOG_BASE);
  unsigned head = (unsigned)(rget(AMD_MMIO_EVT_HEAD) & AMD_RING_PTR_MASK) / 16;
  unsigned tail = (unsigned)(rget(AMD_MMIO_EVT_TAIL) & AMD_RING_PTR_MASK) / 16;
  if ((tail + 1) % n == head) {
    rset(AMD_MMIO_STATUS, sts | AMD_STS_EVT_OVERFLOW);
    return;
  }
  uint64_t base = rget(AMD_MMIO_EVTLOG_BASE) & AMD_BASE_ADDR_MASK;
  assert_int_equal(model_mem_write(base + tail * 16ull, raw, 16), 0);
  rset(AMD_MMIO_EVT_TAIL, ((tail + 1) % n) * 16ull);
  rset(AMD_MMIO_STATUS, rget(AMD_MMIO_STATUS) | AMD_STS_EVT_LOG_INT);
}

static void update_run(void)
{
  uint64_t c = rget(AMD_MMIO_CONTROL), s = rget(AMD_MMIO_STATUS);
  bool on = c & AMD_CTRL_IOMMU_EN;
  s &= ~(AMD_STS_CMDBUF_RUN | AMD_STS_EVT_LOG_RUN);
  if (on && (c & AMD_CTRL_CMDBUF_EN) && !fk.halted)
    s |= AMD_STS_CMDBUF_RUN;
  if (on && (c & AMD_CTRL_EVT_LOG_EN))
    s |= AMD_STS_EVT_LOG_RUN;
  rset(AMD_MMIO_STATUS, s);
}

static void run_commands(void)
{
  if (!(rget(AMD_MMIO_STATUS) & AMD_STS_CMDBUF_RUN))
    return;
  unsigned n = ring_entries(AMD_MMIO_CMDBUF_BASE);
  uint64_t base = rget(AMD_MMIO_CMDBUF_BASE) & AMD_BASE_ADDR_MASK;
  for (;;) {
    unsigned head = (unsigned)(rget(AMD_MMIO_CMD_HEAD) & AMD_RING_PTR_MASK) / 16;
    unsigned tail = (unsigned)(rget(AMD_MMIO_CMD_TAIL) & AMD_RING_PTR_MASK) / 16;
    if (head == tail)
      return;
    uint64_t c[2];
    assert_int_equal(model_mem_read(base + head * 16ull, c, 16), 0);
    unsigned op = (unsigned)(c[0] >> 60);
    fk.n_cmds[op]++;
    memcpy(fk.last_cmd[op], c, 16);
    if (op == 1 && (c[0] & AMD_CMD_CW_S))
      assert_int_equal(model_mem_write64(c[0] & AMD_CMD_CW_ADDR_MASK, c[1]), 0);
    if (op == 0 || op > 8) {
      uint64_t ev[2] = { (uint64_t)AMD_EVT_ILLEGAL_COMMAND << 60, base + head * 16ull };
      log_event(ev);
      if (!fk.qemu72) { /* silicon: stop with the head at the bad command */
        fk.halted = true;
        update_run();
        return;
      }
    }
    rset(AMD_MMIO_CMD_HEAD, ((head + 1) % n) * 16ull);
  }
}

static uint64_t fake_read(void *ctx, uint64_t off, unsigned width)
{
  (void)ctx;
  uint64_t v = 0;
  memcpy(&v, fk.regs + off, width);
  return v;
}

static void fake_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  (void)ctx;
  assert_int_equal(width, 8);
  uint64_t old = rget((unsigned)off);
  bool en = rget(AMD_MMIO_CONTROL) & AMD_CTRL_IOMMU_EN;
  switch (off) {
  case AMD_MMIO_EFR:
    fail_msg("EFR is read-only");
    break;
  case AMD_MMIO_STATUS:
    rset(AMD_MMIO_STATUS, old & ~(v & AMD_STS_W1C));
    break;
  case AMD_MMIO_DEVTAB_BASE:
    if (en)
      fail_msg("DevTabBase written while IommuEn = 1");
    rset(off, v);
    break;
  case AMD_MMIO_CMD_HEAD:
  case AMD_MMIO_CMD_TAIL:
  case AMD_MMIO_CMDBUF_BASE:
    if (off != AMD_MMIO_CMD_TAIL && (rget(AMD_MMIO_STATUS) & AMD_STS_CMDBUF_RUN))
      fail_msg("command buffer base/head written while it runs");
    rset(off, v);
    run_commands();
    break;
  case AMD_MMIO_EVT_TAIL:
  case AMD_MMIO_EVTLOG_BASE:
    if (rget(AMD_MMIO_STATUS) & AMD_STS_EVT_LOG_RUN)
      fail_msg("event log base/tail written while logging");
    rset(off, v);
    break;
  case AMD_MMIO_CONTROL:
    if ((v & AMD_CTRL_CMDBUF_EN) && !(old & AMD_CTRL_CMDBUF_EN))
      fk.halted = false; /* re-enabling restarts a stopped buffer */
    rset(off, v);
    update_run();
    run_commands();
    break;
  default:
    rset((unsigned)off, v);
  }
}

static struct iommu_unit unit;
static unsigned mem_baseline;

static struct amd_unit *fake_setup(uint64_t efr, bool qemu72)
{
  memset(&fk, 0, sizeof(fk));
  fk.qemu72 = qemu72;
  rset(AMD_MMIO_EFR, efr);
  host_mmio_unregister_all();
  struct host_mmio_region r = { FAKE_BASE, sizeof(fk.regs), fake_read, fake_write, NULL };
  assert_int_equal(host_mmio_register(&r), 0);
  memset(&unit, 0, sizeof(unit));
  unit.kind = IOMMU_KIND_AMD;
  unit.base = FAKE_BASE;
  unit.ops = &amd_ops;
  mem_baseline = host_mem_pages_in_use();
  assert_int_equal(amd_ops.probe(&unit), IOMMU_OK);
  return unit.priv;
}

static void fake_teardown(void)
{
  free(unit.priv);
  unit.priv = NULL;
  host_mmio_unregister_all();
  assert_int_equal(host_mem_pages_in_use(), mem_baseline);
}

static uint64_t *devtab_entry(uint16_t devid)
{
  return (uint64_t *)phys_to_virt((rget(AMD_MMIO_DEVTAB_BASE) & AMD_BASE_ADDR_MASK) + devid * 32ull);
}

static void enable_disable_restores(void **state)
{
  (void)state;
  fake_setup(0x29d3, false);
  /* Entry state a previous owner might leave (IOMMU off). */
  rset(AMD_MMIO_DEVTAB_BASE, 0x7770001ull);
  rset(AMD_MMIO_CMDBUF_BASE, 0x0800000006660000ull);
  rset(AMD_MMIO_EVTLOG_BASE, 0x0800000005550000ull);
  rset(AMD_MMIO_CONTROL, AMD_CTRL_PASS_PW | (5ull << AMD_CTRL_INV_TIMEOUT_SHIFT));
  rset(AMD_MMIO_EXCL_BASE, 0x3000003ull);
  rset(AMD_MMIO_EXCL_LIMIT, 0x3ffffffull);
  rset(AMD_MMIO_CMD_HEAD, 0x40);
  rset(AMD_MMIO_CMD_TAIL, 0x40);
  rset(AMD_MMIO_EVT_HEAD, 0x80);
  rset(AMD_MMIO_EVT_TAIL, 0x80);
  struct amd_unit *a = unit.priv;
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  uint64_t c = rget(AMD_MMIO_CONTROL);
  assert_true(c & AMD_CTRL_IOMMU_EN);
  assert_true(c & AMD_CTRL_CMDBUF_EN);
  assert_true(c & AMD_CTRL_EVT_LOG_EN);
  assert_true(c & AMD_CTRL_COHERENT);
  assert_true(c & AMD_CTRL_PASS_PW);                 /* bits it does not own are kept */
  assert_int_equal(rget(AMD_MMIO_EXCL_BASE) & 1, 0); /* no exclusion range */
  /* No IVHD known: the table covers every device ID, every entry blocked. */
  assert_int_equal(a->n_devids, 65536);
  assert_int_equal(rget(AMD_MMIO_DEVTAB_BASE) & AMD_DEVTAB_SIZE_MASK, 511);
  assert_int_equal(field(rget(AMD_MMIO_CMDBUF_BASE), 59, 56), 8);
  assert_int_equal(field(rget(AMD_MMIO_EVTLOG_BASE), 59, 56), 8);
  for (unsigned id = 0; id < 65536; id += 0x1111)
    assert_true(amd_dte_is_blocked(devtab_entry((uint16_t)id)));
  assert_int_equal(fk.n_cmds[8], 1);                 /* INVALIDATE_IOMMU_ALL (IASup) */
  /* The self-test found a working log, and left it empty. */
  assert_true(a->evt_tested);
  assert_null(amd_ops.feature_gap(&unit, IOMMU_FEAT_FAULT_RECORDS));
  unsigned n;
  bool ovf;
  struct iommu_fault f[4];
  assert_int_equal(amd_ops.drain_faults(&unit, f, 4, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 0);
  assert_int_equal(amd_ops.enable(&unit) == IOMMU_EBUSY, 1); /* IommuEn already set */

  char why[300];
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "back to their entry values"));
  assert_int_equal(rget(AMD_MMIO_DEVTAB_BASE), 0x7770001ull);
  assert_int_equal(rget(AMD_MMIO_CMDBUF_BASE), 0x0800000006660000ull);
  assert_int_equal(rget(AMD_MMIO_CONTROL), AMD_CTRL_PASS_PW | (5ull << AMD_CTRL_INV_TIMEOUT_SHIFT));
  assert_int_equal(rget(AMD_MMIO_EXCL_BASE), 0x3000003ull);
  assert_int_equal(rget(AMD_MMIO_CMD_HEAD), 0x40);
  assert_int_equal(rget(AMD_MMIO_EVT_TAIL), 0x80);
  fake_teardown();
}

static void queue_wait_and_wrap(void **state)
{
  (void)state;
  struct amd_unit *a = fake_setup(0x29d3, false);
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  char why[300];
  for (unsigned i = 0; i < 600; i++) { /* wraps the 256-entry ring more than twice */
    assert_int_equal(amd_ops.queue_wait(&unit, why, sizeof(why)), IOMMU_OK);
    assert_int_equal(*a->sem, a->seq);
  }
  assert_non_null(strstr(why, "head caught up with tail"));
  assert_true(fk.n_cmds[1] >= 600);
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void queue_error_silicon(void **state)
{
  (void)state;
  fake_setup(0x29d3, false);
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  char why[300];
  int err = amd_ops.queue_error(&unit, why, sizeof(why));
  assert_int_equal(err, IOMMU_OK);
  assert_non_null(strstr(why, "ILLEGAL_COMMAND_ERROR at 0x"));
  assert_non_null(strstr(why, "(= the command's"));
  assert_non_null(strstr(why, "buffer stopped with head at it"));
  assert_non_null(strstr(why, "queue resumed, next COMPLETION_WAIT completed"));
  assert_int_equal(amd_ops.queue_wait(&unit, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void qemu72_has_no_event_log(void **state)
{
  (void)state;
  fake_setup(0x29d3, true);
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  const char *gap = amd_ops.feature_gap(&unit, IOMMU_FEAT_FAULT_RECORDS);
  assert_non_null(gap);
  assert_non_null(strstr(gap, "event log not written"));
  assert_null(amd_ops.feature_gap(&unit, IOMMU_FEAT_QUEUE));
  assert_null(amd_ops.feature_gap(&unit, IOMMU_FEAT_DMA));
  char why[300];
  assert_int_equal(amd_ops.queue_error(&unit, why, sizeof(why)), IOMMU_EBADREG);
  assert_non_null(strstr(why, "no ILLEGAL_COMMAND_ERROR event"));
  assert_non_null(strstr(why, "skipped without a report"));
  assert_int_equal(amd_ops.queue_wait(&unit, why, sizeof(why)), IOMMU_OK);
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void log_fault(uint16_t devid, uint32_t flags, uint64_t addr)
{
  uint64_t raw[2];
  raw_event(raw, AMD_EVT_IO_PAGE_FAULT, devid, 1, flags, addr);
  log_event(raw);
}

static void event_log_window_overflow_restart(void **state)
{
  (void)state;
  fake_setup(0x29d3, false);
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  assert_int_equal(amd_ops.fault_slots(&unit), AMD_EVT_WINDOW);
  struct iommu_fault f[64];
  unsigned n;
  bool ovf;
  /* More faults than slots: the window fills, overflow is flagged, the rest are lost. */
  for (unsigned i = 0; i < AMD_EVT_WINDOW + 8; i++)
    log_fault(0x18, AMD_EVF_RW, 0x800000ull + 0x1000ull * i);
  assert_true(rget(AMD_MMIO_STATUS) & AMD_STS_EVT_OVERFLOW);
  assert_int_equal(amd_ops.drain_faults(&unit, f, 64, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, AMD_EVT_WINDOW);
  assert_true(ovf);
  for (unsigned i = 0; i < n; i++) {
    assert_int_equal(f[i].source_id, 0x18);
    assert_int_equal(f[i].addr, 0x800000ull + 0x1000ull * i);
    assert_true(f[i].is_write);
  }
  /* Drained and restarted: overflow clear, logging runs, a new fault is recorded. */
  assert_false(rget(AMD_MMIO_STATUS) & AMD_STS_EVT_OVERFLOW);
  assert_true(rget(AMD_MMIO_STATUS) & AMD_STS_EVT_LOG_RUN);
  log_fault(0x20, 0, 0x900000);
  assert_int_equal(amd_ops.drain_faults(&unit, f, 64, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 1);
  assert_false(ovf);
  assert_int_equal(f[0].source_id, 0x20);
  assert_false(f[0].is_write);
  /* Around the 256-entry ring many times, in batches below the window: nothing lost. */
  for (unsigned round = 0; round < 100; round++) {
    for (unsigned i = 0; i < 7; i++)
      log_fault(0x18, AMD_EVF_PR | AMD_EVF_RW, 0x1000ull * (round * 7 + i));
    assert_int_equal(amd_ops.drain_faults(&unit, f, 64, &n, &ovf), IOMMU_OK);
    assert_int_equal(n, 7);
    assert_false(ovf);
    for (unsigned i = 0; i < 7; i++) {
      assert_int_equal(f[i].addr, 0x1000ull * (round * 7 + i));
      /* classified from the record (PR=1, no PE/RZ), not from the blocked DTE */
      assert_int_equal(f[i].kind, IOMMU_FAULT_BAD_ENTRY);
      assert_int_equal(f[i].alt_kind, IOMMU_FAULT_OTHER);
    }
  }
  /* A caller with room for fewer records: the rest are consumed, not left to overflow. */
  for (unsigned i = 0; i < 5; i++)
    log_fault(0x18, 0, 0x1000ull * i);
  assert_int_equal(amd_ops.drain_faults(&unit, f, 2, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 2);
  assert_int_equal(amd_ops.drain_faults(&unit, f, 64, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 0);
  char why[300];
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void attach_detach_flush_inject(void **state)
{
  (void)state;
  struct amd_unit *a = fake_setup(0x29d3, false);
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  struct iommu_domain *dom, *pt;
  assert_int_equal(amd_ops.domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  assert_int_equal(amd_ops.domain_alloc(&unit, IOMMU_DOMAIN_PASSTHROUGH, &pt), IOMMU_OK);
  struct amd_domain *d = (struct amd_domain *)dom;
  assert_int_equal(d->domid, 1);                     /* lowest free ID, 0 is never used */
  assert_int_equal(((struct amd_domain *)pt)->domid, 2);
  assert_int_equal(dom->pt.levels, 6);               /* EFR.HATS = 2 */
  assert_int_equal(dom->iova_bits, 63);
  assert_int_equal(dom->page_sizes, 0x7ffff000ull);

  unsigned inv_dte = fk.n_cmds[2];
  assert_int_equal(amd_ops.attach(dom, 0x18), IOMMU_OK);
  uint64_t *e = devtab_entry(0x18);
  assert_int_equal(field(e[0], 11, 9), 6);
  assert_int_equal(e[0] & AMD_DTE_ROOT_MASK, dom->pt.root_phys);
  assert_int_equal(e[1] & 0xffff, 1);
  assert_int_equal(fk.n_cmds[2], inv_dte + 1);
  assert_int_equal(fk.last_cmd[2][0] & 0xffff, 0x18);
  assert_int_equal(amd_ops.attach(pt, 0x10), IOMMU_OK);
  assert_int_equal(devtab_entry(0x10)[0], AMD_DTE_V | AMD_DTE_TV | AMD_DTE_IR | AMD_DTE_IW);

  /* map_sync flushes the range; flush names the domain and the range */
  assert_int_equal(pt_map_range(&dom->pt, 0x400000, 0x1000000, IOMMU_PAGE_2M, IOMMU_PROT_READ), IOMMU_OK);
  assert_int_equal(amd_ops.map_sync(dom, 0x400000, IOMMU_PAGE_2M), IOMMU_OK);
  assert_int_equal(fk.last_cmd[3][1], 0x4ff000ull | AMD_CMD_INV_S | AMD_CMD_INV_PDE);
  assert_int_equal(field(fk.last_cmd[3][0], 47, 32), 1);
  assert_null(pt->pt.root);                          /* pass-through has no tables */
  uint64_t removed;
  assert_int_equal(pt_unmap_range(&dom->pt, 0x400000, IOMMU_PAGE_2M, &removed, NULL, NULL), IOMMU_OK);
  assert_int_equal(amd_ops.flush(dom, 0x400000, 4096), IOMMU_OK);
  assert_int_equal(fk.last_cmd[3][1], 0x400000ull | AMD_CMD_INV_PDE);

  /* malformed entry: Mode 7 (reserved); reverted exactly */
  uint64_t before[4];
  memcpy(before, e, sizeof(before));
  assert_int_equal(amd_ops.inject(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x18), IOMMU_OK);
  assert_int_equal(field(e[0], 11, 9), 7);
  assert_int_equal(amd_ops.inject_revert(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x18), IOMMU_OK);
  assert_memory_equal(e, before, sizeof(before));
  /* broken table pointer: a malformed table (changed with IommuEn = 0), then back */
  uint64_t good = rget(AMD_MMIO_DEVTAB_BASE);
  assert_int_equal(amd_ops.inject(&unit, IOMMU_INJECT_BAD_ROOT_POINTER, 0x18), IOMMU_OK);
  assert_int_not_equal(rget(AMD_MMIO_DEVTAB_BASE), good);
  assert_int_equal(devtab_entry(0x18)[0], ~0ull);
  assert_int_equal(devtab_entry(0x18)[2], 0);        /* IV = 0: interrupts still forwarded */
  assert_true(rget(AMD_MMIO_STATUS) & AMD_STS_CMDBUF_RUN);
  assert_int_equal(amd_ops.inject_revert(&unit, IOMMU_INJECT_BAD_ROOT_POINTER, 0x18), IOMMU_OK);
  assert_int_equal(rget(AMD_MMIO_DEVTAB_BASE), good);

  /* detach: blocked again, DTE and the old domain's pages invalidated */
  unsigned inv_pages = fk.n_cmds[3];
  assert_int_equal(amd_ops.detach(&unit, 0x18), IOMMU_OK);
  assert_true(amd_dte_is_blocked(e));
  assert_int_equal(fk.n_cmds[3], inv_pages + 1);
  assert_int_equal(field(fk.last_cmd[3][0], 47, 32), 1);
  assert_int_equal(fk.last_cmd[3][1], AMD_CMD_INV_ALL_ADDR | AMD_CMD_INV_S | AMD_CMD_INV_PDE);
  assert_int_equal(amd_ops.detach(&unit, 0x18), IOMMU_ENOENT);
  /* A fault from the blocked device is classified from its record, never from the DTE the
   * driver wrote: PR=0 says not present; PE=1 (what IR = IW = 0 gives) a permission denial
   * that may equally be the device's entry. */
  log_fault(0x18, AMD_EVF_RW, 0x200000);
  log_fault(0x18, AMD_EVF_RW | AMD_EVF_PR | AMD_EVF_PE, 0x200000);
  struct iommu_fault f[4];
  unsigned n;
  bool ovf;
  assert_int_equal(amd_ops.drain_faults(&unit, f, 4, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 2);
  assert_int_equal(f[0].kind, IOMMU_FAULT_TRANSLATION);
  assert_int_equal(f[0].alt_kind, IOMMU_FAULT_OTHER);
  assert_true(f[0].is_write);
  assert_int_equal(f[1].kind, IOMMU_FAULT_PERM_WRITE);
  assert_int_equal(f[1].alt_kind, IOMMU_FAULT_NO_CONTEXT);
  assert_int_equal(amd_ops.detach(&unit, 0x10), IOMMU_OK);
  amd_ops.domain_free(dom);
  amd_ops.domain_free(pt);
  assert_int_equal(a->domids[0], 1);                 /* IDs 1 and 2 returned */
  char why[300];
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void ivhd_sizes_table_and_aliases(void **state)
{
  (void)state;
  /* No IASup: invalidation by entry. An IVHD with a range to 01:ff, an alias range behind a
   * PCIe-to-PCI bridge and a setting byte. */
  struct amd_unit *a = fake_setup(0x29d3 & ~(1ull << 6), false);
  static struct ivrs_ivhd h;
  memset(&h, 0, sizeof(h));
  h.n_dev = 3;
  h.dev[0] = (struct ivrs_devrange){ .kind = IVRS_DEV_RANGE, .first = 0, .last = 0x1ff, .setting = 0 };
  h.dev[1] = (struct ivrs_devrange){ .kind = IVRS_DEV_ALIAS_RANGE, .first = 0x300, .last = 0x3ff,
                                     .alias = 0x208, .setting = 0xc0 };
  h.dev[2] = (struct ivrs_devrange){ .kind = IVRS_DEV_SPECIAL, .first = 0xa0, .last = 0xa0, .setting = 0xd7 };
  a->ivhd = &h;
  assert_int_equal(amd_ops.enable(&unit), IOMMU_OK);
  assert_int_equal(a->n_devids, 0x400);              /* highest ID 0x3ff, to the end of its bus */
  assert_int_equal(rget(AMD_MMIO_DEVTAB_BASE) & AMD_DEVTAB_SIZE_MASK, 0x400 * 32 / 4096 - 1);
  assert_int_equal(fk.n_cmds[2], 0x400);             /* every entry invalidated, no IASup */
  assert_int_equal(fk.n_cmds[8], 0);
  assert_int_equal(field(devtab_entry(0x300)[2], 63, 62), 3); /* Lint0/1Pass from the IVHD */
  assert_int_equal(field(devtab_entry(0x0a0)[1], 41, 40), 1); /* SysMgt of the IOAPIC entry */
  struct iommu_domain *dom;
  assert_int_equal(amd_ops.domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  assert_int_equal(amd_ops.attach(dom, 0x310), IOMMU_OK); /* its DMA arrives as 0x208 too */
  assert_int_equal(field(devtab_entry(0x310)[0], 11, 9), 6);
  assert_int_equal(field(devtab_entry(0x208)[0], 11, 9), 6);
  assert_int_equal(field(devtab_entry(0x310)[2], 63, 62), 3);
  assert_int_equal(amd_ops.detach(&unit, 0x310), IOMMU_OK);
  assert_true(amd_dte_is_blocked(devtab_entry(0x208)));
  assert_int_equal(amd_ops.attach(dom, 0x400), IOMMU_ERANGE); /* beyond the table */
  amd_ops.domain_free(dom);
  char why[300];
  assert_int_equal(amd_ops.disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_teardown();
}

static void reserved_hats_is_a_gap(void **state)
{
  (void)state;
  fake_setup(0x29d3 | (3ull << 10), false);
  const char *gap = amd_ops.feature_gap(&unit, IOMMU_FEAT_DMA);
  assert_non_null(gap);
  assert_non_null(strstr(gap, "EFR.HATS=3"));
  assert_int_equal(amd_ops.enable(&unit), IOMMU_EUNSUPPORTED);
  fake_teardown();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(dte_blocked_and_settings),
    cmocka_unit_test(dte_passthrough_and_translate),
    cmocka_unit_test(dte_gcr3_split),
    cmocka_unit_test(cmd_completion_wait),
    cmocka_unit_test(cmd_inv_devtab_and_all),
    cmocka_unit_test(cmd_inv_pages),
    cmocka_unit_test(ring_arithmetic),
    cmocka_unit_test(event_decoding),
    cmocka_unit_test(v2_tables_through_gcr3),
    cmocka_unit_test(enable_disable_restores),
    cmocka_unit_test(queue_wait_and_wrap),
    cmocka_unit_test(queue_error_silicon),
    cmocka_unit_test(qemu72_has_no_event_log),
    cmocka_unit_test(event_log_window_overflow_restart),
    cmocka_unit_test(attach_detach_flush_inject),
    cmocka_unit_test(ivhd_sizes_table_and_aliases),
    cmocka_unit_test(reserved_hats_is_a_gap),
  };
  return cmocka_run_group_tests_name("amd_tables", tests, NULL, NULL);
}
