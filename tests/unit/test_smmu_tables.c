/* SMMUv3 formats field by field (IHI 0070 chapters 4, 5, 7; Arm ARM D8 descriptors), the
 * translation table walker for every granule and both stages, and the driver against a
 * small register model: enable/disable restoring every register, 2-level stream tables,
 * command queue wrap, command errors, MSI completion of CMD_SYNC, event decoding and
 * overflow. Covers what QEMU 7.2 cannot run: substreams (S1CDMax, S1Fmt, L1CD), stage 2,
 * HTTU bits, MSI sync, 16K/64K granules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/host/arch_host.h"
#include "boot/mem.h"
#include "iommu/smmuv3/smmu_internal.h"

static uint64_t bits(uint64_t v, unsigned msb, unsigned lsb) { return regfield_get(v, (uint8_t)msb, (uint8_t)lsb); }

/* ---- stream table entries (5.2) ---- */
static void ste_abort_bypass(void **state)
{
  (void)state;
  uint64_t ste[8];
  memset(ste, 0xff, sizeof(ste));
  smmu_ste_abort(ste);
  assert_int_equal(ste[0], 1);                            /* V=1, Config 0b000: abort, no event */
  for (int i = 1; i < 8; i++)
    assert_int_equal(ste[i], 0);
  memset(ste, 0xff, sizeof(ste));
  smmu_ste_bypass(ste);
  assert_int_equal(bits(ste[0], 0, 0), 1);                /* V */
  assert_int_equal(bits(ste[0], 3, 1), 4);                /* Config 0b100: both stages bypass */
  assert_int_equal(ste[0] >> 4, 0);
  assert_int_equal(bits(ste[1], 45, 44), 1);              /* SHCFG [109:108]: use incoming */
  assert_int_equal(ste[1] & ~(3ull << 44), 0);            /* MemAttr/ALLOCCFG/PRIVCFG/INSTCFG incoming */
  for (int i = 2; i < 8; i++)
    assert_int_equal(ste[i], 0);
}

static void ste_stage1(void **state)
{
  (void)state;
  uint64_t ste[8];
  struct smmu_ste_s1_cfg c = { .cd_phys = 0x0000123456789000ull, .coherent = true };
  smmu_ste_s1(ste, &c);
  assert_int_equal(bits(ste[0], 0, 0), 1);
  assert_int_equal(bits(ste[0], 3, 1), 5);                /* Config 0b101: stage 1 translate */
  assert_int_equal(bits(ste[0], 5, 4), 0);                /* S1Fmt IGNORED without substreams */
  assert_int_equal(ste[0] & 0x00ffffffffffffc0ull, 0x0000123456789000ull); /* S1ContextPtr [55:6] */
  assert_int_equal(bits(ste[0], 58, 56), 0);
  assert_int_equal(bits(ste[0], 63, 59), 0);              /* S1CDMax 0: one CD (QEMU 7.2 insists) */
  assert_int_equal(bits(ste[1], 1, 0), 0);                /* S1DSS IGNORED */
  assert_int_equal(bits(ste[1], 3, 2), 1);                /* S1CIR WB RA */
  assert_int_equal(bits(ste[1], 5, 4), 1);                /* S1COR WB RA */
  assert_int_equal(bits(ste[1], 7, 6), 3);                /* S1CSH inner shareable */
  assert_int_equal(bits(ste[1], 27, 27), 0);              /* S1STALLD */
  assert_int_equal(bits(ste[1], 29, 28), 0);              /* EATS: no ATS */
  assert_int_equal(bits(ste[1], 31, 30), 0);              /* STRW NS-EL1 */
  for (int i = 2; i < 8; i++)
    assert_int_equal(ste[i], 0);
  /* Substreams (SSIDSIZE > 0): a CD table, untagged DMA through CD 0, stalls disabled. */
  struct smmu_ste_s1_cfg t = { .cd_phys = 0x40000ull, .s1fmt = 1, .s1cdmax = 20,
                               .s1dss = SMMU_STE_S1DSS_SSID0, .coherent = false, .stalld = true };
  smmu_ste_s1(ste, &t);
  assert_int_equal(bits(ste[0], 5, 4), 1);                /* S1Fmt: 2-level, 4K leaves */
  assert_int_equal(bits(ste[0], 63, 59), 20);             /* S1CDMax: 2^20 CDs */
  assert_int_equal(bits(ste[1], 1, 0), 2);                /* S1DSS: substream 0 */
  assert_int_equal(bits(ste[1], 7, 2), 2u << 4);          /* NC, NC, outer shareable */
  assert_int_equal(bits(ste[1], 27, 27), 1);              /* S1STALLD */
  assert_int_equal(smmu_l1cd_encode(0x0000fedcba987000ull), 0x0000fedcba987001ull); /* L2Ptr, V */
  assert_int_equal(smmu_l1cd_encode(0x12345fffull) & 0xffe, 0); /* [11:1] RES0 */
}

static void ste_stage2(void **state)
{
  (void)state;
  uint64_t ste[8];
  struct smmu_ste_s2_cfg c = { .vmid = 0xbeef, .t0sz = 20, .sl0 = 2, .tg = SMMU_TG_4K, .ps = 4,
                               .ttb = 0x00000abcdef12000ull, .coherent = true, .ha = true, .hd = true };
  smmu_ste_s2(ste, &c);
  assert_int_equal(bits(ste[0], 3, 1), 6);                /* Config 0b110: stage 2 only */
  assert_int_equal(ste[0] >> 4, 0);                       /* no CD pointer */
  assert_int_equal(bits(ste[1], 45, 44), 1);              /* SHCFG incoming */
  assert_int_equal(bits(ste[2], 15, 0), 0xbeef);          /* S2VMID [143:128] */
  assert_int_equal(bits(ste[2], 31, 16), 0);
  assert_int_equal(bits(ste[2], 37, 32), 20);             /* S2T0SZ: 44-bit IPA */
  assert_int_equal(bits(ste[2], 39, 38), 2);              /* S2SL0: level 0 with 4K */
  assert_int_equal(bits(ste[2], 41, 40), 1);              /* S2IR0 */
  assert_int_equal(bits(ste[2], 43, 42), 1);              /* S2OR0 */
  assert_int_equal(bits(ste[2], 45, 44), 3);              /* S2SH0 */
  assert_int_equal(bits(ste[2], 47, 46), 0);              /* S2TG 4K */
  assert_int_equal(bits(ste[2], 50, 48), 4);              /* S2PS 44 bits */
  assert_int_equal(bits(ste[2], 51, 51), 1);              /* S2AA64 */
  assert_int_equal(bits(ste[2], 54, 52), 0);              /* S2ENDI, S2AFFD, S2PTW */
  assert_int_equal(bits(ste[2], 55, 55), 1);              /* S2HD */
  assert_int_equal(bits(ste[2], 56, 56), 1);              /* S2HA */
  assert_int_equal(bits(ste[2], 57, 57), 0);              /* S2S: no stall */
  assert_int_equal(bits(ste[2], 58, 58), 1);              /* S2R: record faults */
  assert_int_equal(ste[3], 0x00000abcdef12000ull);        /* S2TTB [247:196] */
  c.tg = SMMU_TG_64K;
  c.ha = c.hd = false;
  smmu_ste_s2(ste, &c);
  assert_int_equal(bits(ste[2], 47, 46), 1);              /* S2TG 64K */
  assert_int_equal(bits(ste[2], 56, 55), 0);
  c.tg = SMMU_TG_16K;
  smmu_ste_s2(ste, &c);
  assert_int_equal(bits(ste[2], 47, 46), 2);              /* S2TG 16K */
  /* S2SL0 per granule (Table in 5.2): 4K 0/1/2 = level 2/1/0; 16K/64K 0/1/2 = level 3/2/1. */
  assert_int_equal(smmu_s2sl0_encode(12, 0), 2);
  assert_int_equal(smmu_s2sl0_encode(12, 1), 1);
  assert_int_equal(smmu_s2sl0_encode(12, 2), 0);
  assert_int_equal(smmu_s2sl0_encode(12, 3), -1);
  assert_int_equal(smmu_s2sl0_encode(16, 1), 2);
  assert_int_equal(smmu_s2sl0_encode(16, 3), 0);
  assert_int_equal(smmu_s2sl0_encode(14, 0), -1);
  /* L1STD (5.1): Span [4:0], L2Ptr [55:6] */
  assert_int_equal(smmu_l1std_encode(0x0000000048004000ull, 9), 0x0000000048004009ull);
  assert_int_equal(smmu_l1std_encode(0x40000ull, 0x3f) & 0x3f, 0x1f);
}

/* ---- context descriptor (5.4) ---- */
static void context_descriptor(void **state)
{
  (void)state;
  uint64_t cd[8];
  memset(cd, 0xff, sizeof(cd));
  struct smmu_cd_cfg c = { .ttb0 = 0x00000000581ff000ull, .t0sz = 16, .granule = 12, .ips = 4,
                           .asid = 0xa5c3, .coherent = true };
  smmu_cd_encode(cd, &c);
  assert_int_equal(bits(cd[0], 5, 0), 16);                /* T0SZ: 48-bit VA */
  assert_int_equal(bits(cd[0], 7, 6), 0);                 /* TG0 4K */
  assert_int_equal(bits(cd[0], 9, 8), 1);                 /* IR0 WB */
  assert_int_equal(bits(cd[0], 11, 10), 1);               /* OR0 WB */
  assert_int_equal(bits(cd[0], 13, 12), 3);               /* SH0 inner shareable */
  assert_int_equal(bits(cd[0], 14, 14), 0);               /* EPD0: TTB0 walks */
  assert_int_equal(bits(cd[0], 15, 15), 0);               /* ENDI little endian */
  assert_int_equal(bits(cd[0], 29, 16), 0);               /* T1SZ, TG1, IR1, OR1, SH1 unused */
  assert_int_equal(bits(cd[0], 30, 30), 1);               /* EPD1: no TTB1 */
  assert_int_equal(bits(cd[0], 31, 31), 1);               /* V */
  assert_int_equal(bits(cd[0], 34, 32), 4);               /* IPS 44 bits */
  assert_int_equal(bits(cd[0], 40, 35), 0);               /* AFFD, WXN, UWXN, TBI0/1, PAN */
  assert_int_equal(bits(cd[0], 41, 41), 1);               /* AA64 */
  assert_int_equal(bits(cd[0], 43, 42), 0);               /* HD, HA: no HTTU (QEMU: C_BAD_CD) */
  assert_int_equal(bits(cd[0], 44, 44), 0);               /* S: terminate, never stall */
  assert_int_equal(bits(cd[0], 45, 45), 1);               /* R: record faults (QEMU needs it) */
  assert_int_equal(bits(cd[0], 46, 46), 1);               /* A: abort terminated transactions */
  assert_int_equal(bits(cd[0], 47, 47), 1);               /* ASET: not shared with the PE */
  assert_int_equal(bits(cd[0], 63, 48), 0xa5c3);          /* ASID */
  assert_int_equal(cd[1], 0x00000000581ff000ull);         /* TTB0 [119:68], NSCFG0/HAD0 0 */
  assert_int_equal(cd[2], 0);                             /* TTB1 */
  assert_int_equal(cd[3], SMMU_MAIR_VALUE);               /* MAIR0/1 */
  assert_int_equal(cd[3] & 0xff, 0xff);                   /* index 0 Normal WB */
  assert_int_equal((cd[3] >> 16) & 0xff, 0x44);           /* index 2 Normal NC */
  for (int i = 4; i < 8; i++)
    assert_int_equal(cd[i], 0);
  /* HTTU where IDR0.HTTU allows it; other granules; non-coherent walks. */
  c.ha = c.hd = true;
  c.granule = 16;
  c.coherent = false;
  c.t0sz = 22;
  smmu_cd_encode(cd, &c);
  assert_int_equal(bits(cd[0], 43, 42), 3);               /* HA, HD */
  assert_int_equal(bits(cd[0], 7, 6), 1);                 /* TG0 64K */
  assert_int_equal(bits(cd[0], 13, 8), 2u << 4);          /* NC, NC, outer shareable */
  assert_int_equal(bits(cd[0], 5, 0), 22);
  c.granule = 14;
  smmu_cd_encode(cd, &c);
  assert_int_equal(bits(cd[0], 7, 6), 2);                 /* TG0 16K */
  /* IPS / OAS encodings */
  assert_int_equal(smmu_ps_encode(32), 0);
  assert_int_equal(smmu_ps_encode(44), 4);
  assert_int_equal(smmu_ps_encode(48), 5);
  assert_int_equal(smmu_ps_encode(52), 6);
  assert_int_equal(smmu_ps_encode(47), -1);
  assert_int_equal(smmu_oas_bits(4), 44);
  assert_int_equal(smmu_oas_bits(6), 52);
  assert_int_equal(smmu_oas_bits(7), 0);
}

/* ---- VMSAv8-64 descriptors ---- */
static void descriptors(void **state)
{
  (void)state;
  assert_int_equal(smmu_tg_encode(12), 0);
  assert_int_equal(smmu_tg_encode(14), 2);
  assert_int_equal(smmu_tg_encode(16), 1);
  assert_int_equal(smmu_pt_levels(12, 48), 4);
  assert_int_equal(smmu_pt_levels(12, 39), 3);
  assert_int_equal(smmu_pt_levels(14, 48), 4);
  assert_int_equal(smmu_pt_levels(14, 47), 3);
  assert_int_equal(smmu_pt_levels(16, 48), 3);
  assert_int_equal(smmu_pt_levels(16, 42), 2);
}

/* ---- commands (chapter 4) ---- */
static void commands(void **state)
{
  (void)state;
  uint64_t c[2];
  smmu_cmd_cfgi_ste(c, 0x12345, true);
  assert_int_equal(c[0], 0x03ull | 0x12345ull << 32);
  assert_int_equal(c[1], 1);                              /* Leaf */
  smmu_cmd_cfgi_ste(c, 7, false);
  assert_int_equal(c[1], 0);
  smmu_cmd_cfgi_all(c);
  assert_int_equal(c[0], 0x04);                           /* CFGI_STE_RANGE, SID 0 */
  assert_int_equal(c[1], 31);                             /* Range 31: every StreamID */
  smmu_cmd_cfgi_cd(c, 0x100, 0xabcde, true);
  assert_int_equal(bits(c[0], 7, 0), 0x05);
  assert_int_equal(bits(c[0], 11, 8), 0);
  assert_int_equal(bits(c[0], 31, 12), 0xabcde);          /* SubstreamID */
  assert_int_equal(c[0] >> 32, 0x100);
  assert_int_equal(c[1], 1);
  smmu_cmd_cfgi_cd_all(c, 0x42);
  assert_int_equal(c[0], 0x06ull | 0x42ull << 32);
  smmu_cmd_tlbi_nh_asid(c, 0xcafe, 0x12);
  assert_int_equal(bits(c[0], 7, 0), 0x11);
  assert_int_equal(bits(c[0], 47, 32), 0x12);             /* VMID */
  assert_int_equal(bits(c[0], 63, 48), 0xcafe);           /* ASID */
  assert_int_equal(c[1], 0);
  smmu_cmd_tlbi_nh_va(c, 7, 0, 0xfffffffff000ull, true, 1, 3, 9, 2);
  assert_int_equal(bits(c[0], 7, 0), 0x12);
  assert_int_equal(bits(c[0], 16, 12), 3);                /* NUM */
  assert_int_equal(bits(c[0], 24, 20), 9);                /* SCALE */
  assert_int_equal(bits(c[0], 63, 48), 7);
  assert_int_equal(bits(c[1], 0, 0), 1);                  /* Leaf */
  assert_int_equal(bits(c[1], 9, 8), 2);                  /* TTL */
  assert_int_equal(bits(c[1], 11, 10), 1);                /* TG 4K */
  assert_int_equal(c[1] & ~0xfffull, 0xfffffffff000ull);  /* Address [63:12] */
  smmu_cmd_tlbi_s2_ipa(c, 0x33, 0xfff0123456789000ull, false, 3, 0, 1, 0);
  assert_int_equal(bits(c[0], 7, 0), 0x2a);
  assert_int_equal(bits(c[0], 47, 32), 0x33);
  assert_int_equal(bits(c[0], 63, 48), 0);
  assert_int_equal(c[1] & ~0xfffull, 0x00f0123456789000ull); /* IPA [55:12] */
  assert_int_equal(bits(c[1], 11, 10), 3);                /* TG 64K */
  smmu_cmd_tlbi_s12_vmall(c, 0x44);
  assert_int_equal(c[0], 0x28ull | 0x44ull << 32);
  smmu_cmd_tlbi_nsnh_all(c);
  assert_int_equal(c[0], 0x30);
  assert_int_equal(c[1], 0);
  smmu_cmd_sync(c, SMMU_CMD_SYNC_CS_IRQ, 0xdeadbeef, 0x0000123456789abcull, 3, 0xf);
  assert_int_equal(bits(c[0], 7, 0), 0x46);
  assert_int_equal(bits(c[0], 13, 12), 1);                /* CS SIG_IRQ */
  assert_int_equal(bits(c[0], 23, 22), 3);                /* MSH */
  assert_int_equal(bits(c[0], 27, 24), 0xf);              /* MSIAttr */
  assert_int_equal(c[0] >> 32, 0xdeadbeef);               /* MSIData */
  assert_int_equal(c[1], 0x0000123456789abcull & ~3ull);  /* MSIAddress [55:2] */
  smmu_cmd_sync(c, SMMU_CMD_SYNC_CS_NONE, 0, 0, 0, 0);
  assert_int_equal(c[0], 0x46);
  smmu_cmd_reserved(c);
  assert_int_equal(c[0] & 0xff, 0);                       /* opcode 0x00 is reserved (4.1.1) */
}

static void range_invalidation(void **state)
{
  (void)state;
  struct smmu_tlbi_range r[8];
  assert_int_equal(smmu_tlbi_ranges(0x200000, 1, 12, r, 8), 1);
  assert_int_equal(r[0].num, 0);
  assert_int_equal(r[0].scale, 0);
  assert_int_equal(smmu_tlbi_ranges(0x400000, 512, 12, r, 8), 1); /* 2M = 1 * 2^9 pages */
  assert_int_equal(r[0].num, 0);
  assert_int_equal(r[0].scale, 9);
  assert_int_equal(smmu_tlbi_ranges(0x10000, 7, 12, r, 8), 1);    /* 7 = (6+1) * 2^0 */
  assert_int_equal(r[0].num, 6);
  /* 132 pages: 33 * 2^2 -> 1 * 2^2 then 1 * 2^7; addresses advance by what was covered */
  assert_int_equal(smmu_tlbi_ranges(0x100000, 132, 12, r, 8), 2);
  assert_int_equal(r[0].addr, 0x100000);
  assert_int_equal(r[0].scale, 2);
  assert_int_equal(r[0].num, 0);
  assert_int_equal(r[1].addr, 0x100000 + 4 * 4096);
  assert_int_equal(r[1].scale, 7);
  assert_int_equal(r[1].num, 0);
  assert_int_equal(smmu_tlbi_ranges(0, 63, 16, r, 8), 2);         /* 31 + 32 */
  assert_int_equal((r[0].num + 1ull) << r[0].scale, 31);
  assert_int_equal((r[1].num + 1ull) << r[1].scale, 32);
  assert_int_equal(r[1].addr, 31ull << 16);
  assert_int_equal(smmu_tlbi_ranges(0, 0x5555, 12, r, 2), 0);     /* does not fit: caller falls back */
}

/* ---- event records (7.3) ---- */
static void event_decoding(void **state)
{
  (void)state;
  uint64_t rec[4] = { 0x10 | 1ull << 11 | 0x1234ull << 12 | 0x0100ull << 32,
                      1ull << 33 | 0ull << 35 | 2ull << 40, 0x583d3abcull, 0 };
  struct smmu_event e;
  struct iommu_fault f;
  smmu_event_decode(rec, &e);
  assert_int_equal(e.type, SMMU_EVT_F_TRANSLATION);
  assert_true(e.ssv);
  assert_int_equal(e.ssid, 0x1234);
  assert_int_equal(e.sid, 0x100);
  assert_true(e.has_addr);
  assert_true(e.pnu);
  assert_false(e.rnw);                                    /* RnW 0: write */
  assert_int_equal(e.cls, 2);                             /* CLASS IN */
  assert_int_equal(e.addr, 0x583d3abcull);
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_TRANSLATION);
  assert_int_equal(f.source_id, 0x100);
  assert_int_equal(f.stream_id, 0x100);
  assert_int_equal(f.addr, 0x583d3abcull);
  assert_true(f.is_write);
  assert_true(f.pasid_present);
  assert_int_equal(f.pasid, 0x1234);
  assert_int_equal(f.reason, 0x10);
  assert_non_null(strstr(f.reason_name, "F_TRANSLATION"));
  assert_non_null(strstr(f.reason_name, "class IN"));
  /* F_PERMISSION: direction decides the kind; a stage-2 fault carries the IPA. */
  uint64_t perm[4] = { 0x13 | 0x42ull << 32, 1ull << 35 | 1ull << 39, 0x1000, 0x0000abcdef123456ull };
  smmu_event_decode(perm, &e);
  assert_true(e.rnw);
  assert_true(e.s2);
  assert_int_equal(e.fetch_addr, 0x0000abcdef123000ull);
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_PERM_READ);
  assert_false(f.is_write);
  assert_false(f.pasid_present);
  perm[1] = 0;
  smmu_event_decode(perm, &e);
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_PERM_WRITE);
  /* C_BAD_STE: no address in the record, and nothing in it says whether the STE was V=0 or
   * ILLEGAL: both kinds, from the record alone. Unambiguous records have no second kind. */
  assert_int_equal(f.alt_kind, IOMMU_FAULT_OTHER);
  uint64_t bad[4] = { 0x04 | 0x0100ull << 32, 0xffffffffull, 0x1234, 0 };
  smmu_event_decode(bad, &e);
  assert_false(e.has_addr);
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_NO_CONTEXT);
  assert_int_equal(f.alt_kind, IOMMU_FAULT_BAD_ENTRY);
  assert_int_equal(f.addr, 0);
  assert_false(f.is_write);
  assert_non_null(strstr(f.reason_name, "STE.V=0 or ILLEGAL"));
  bad[0] = 0x0a | 0x0100ull << 32;
  smmu_event_decode(bad, &e);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_BAD_ENTRY);          /* C_BAD_CD */
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.alt_kind, IOMMU_FAULT_OTHER);
  bad[0] = 0x02 | 0xffffull << 32;
  smmu_event_decode(bad, &e);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_NO_CONTEXT);         /* C_BAD_STREAMID */
  assert_int_equal(e.sid, 0xffff);
  uint64_t fetch[4] = { 0x03 | 0x7ull << 32, 0, 0, 0x00000000fffff047ull };
  smmu_event_decode(fetch, &e);
  assert_true(e.has_fetch);
  assert_int_equal(e.fetch_addr, 0xfffff040ull);          /* FetchAddr [55:3] */
  smmu_event_to_fault(&e, &f);
  assert_int_equal(f.kind, IOMMU_FAULT_TABLE_ACCESS);
  assert_non_null(strstr(f.reason_name, "0xfffff040"));
  fetch[0] = 0x0b | 0x7ull << 32;                         /* F_WALK_EABT: address and fetch */
  smmu_event_decode(fetch, &e);
  assert_true(e.has_addr && e.has_fetch);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_TABLE_ACCESS);
  fetch[0] = 0x11;
  smmu_event_decode(fetch, &e);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_ADDR_SIZE);
  fetch[0] = 0x12;
  smmu_event_decode(fetch, &e);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_OTHER);            /* F_ACCESS */
  fetch[0] = 0x06;
  smmu_event_decode(fetch, &e);
  assert_int_equal(smmu_event_kind(&e), IOMMU_FAULT_NO_CONTEXT);      /* F_STREAM_DISABLED */
  fetch[0] = 0xee;
  smmu_event_decode(fetch, &e);
  assert_string_equal(smmu_event_name(e.type), "event type not decoded");
  assert_string_equal(smmu_cerror_name(1), "CERROR_ILL");
  assert_string_equal(smmu_cerror_name(2), "CERROR_ABT");
}

/* ---- the driver against a register model ---- */
#define FAKE_BASE 0x09050000ull

static struct {
  uint32_t r[0x20000 / 4];
  unsigned cfgi_all, tlbi_all, syncs, msi_syncs, cfgi_ste, cfgi_ste_nonleaf, tlbi_va, tlbi_asid,
      tlbi_s2, tlbi_vmall, illegal;
  uint64_t last_sync[2];
} fake;

static bool cr2_write_ignored;

static uint32_t *reg(unsigned off) { return &fake.r[off / 4]; }
static uint64_t reg64(unsigned off) { return *reg(off) | (uint64_t)*reg(off + 4) << 32; }

static void consume(void)
{
  if (!(*reg(SMMU_CR0) & SMMU_CR0_CMDQEN))
    return;
  uint64_t base = reg64(SMMU_CMDQ_BASE);
  unsigned log2 = base & 0x1f;
  uint32_t mask = (2u << log2) - 1;
  uint64_t *q = phys_to_virt(base & SMMU_Q_BASE_ADDR_MASK);
  for (;;) {
    uint32_t prod = *reg(SMMU_CMDQ_PROD), cons = *reg(SMMU_CMDQ_CONS);
    if (((prod ^ cons) & mask) == 0 || ((*reg(SMMU_GERROR) ^ *reg(SMMU_GERRORN)) & 1))
      return;
    uint64_t *c = q + 2 * (cons & ((1u << log2) - 1));
    unsigned op = c[0] & 0xff;
    switch (op) {
    case SMMU_CMD_CFGI_STE: fake.cfgi_ste++; if (!(c[1] & 1)) fake.cfgi_ste_nonleaf++; break;
    case SMMU_CMD_CFGI_STE_RANGE: if ((c[1] & 31) == 31) fake.cfgi_all++; break;
    case SMMU_CMD_CFGI_CD: case SMMU_CMD_PREFETCH_CONFIG: break;
    case SMMU_CMD_TLBI_NSNH_ALL: fake.tlbi_all++; break;
    case SMMU_CMD_TLBI_NH_VA: fake.tlbi_va++; break;
    case SMMU_CMD_TLBI_NH_ASID: fake.tlbi_asid++; break;
    case SMMU_CMD_TLBI_S2_IPA: fake.tlbi_s2++; break;
    case SMMU_CMD_TLBI_S12_VMALL: fake.tlbi_vmall++; break;
    case SMMU_CMD_SYNC:
      fake.syncs++;
      memcpy(fake.last_sync, c, 16);
      if (((c[0] >> 12) & 3) == SMMU_CMD_SYNC_CS_IRQ && c[1]) {
        fake.msi_syncs++;
        *(uint32_t *)phys_to_virt(c[1] & ~3ull) = (uint32_t)(c[0] >> 32);
      }
      break;
    default: /* 7.1: stop on the command, CONS.ERR, GERROR.CMDQ_ERR */
      fake.illegal++;
      *reg(SMMU_CMDQ_CONS) = (cons & mask) | SMMU_CERROR_ILL << 24;
      *reg(SMMU_GERROR) ^= 1;
      return;
    }
    *reg(SMMU_CMDQ_CONS) = ((cons + 1) & mask) | (cons & 0x7f000000u);
  }
}

static uint64_t fake_read(void *ctx, uint64_t off, unsigned width)
{
  (void)ctx;
  return width == 8 ? reg64((unsigned)off) : *reg((unsigned)off);
}

static void fake_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  (void)ctx;
  unsigned o = (unsigned)off;
  if (width == 8) {
    *reg(o) = (uint32_t)v;
    *reg(o + 4) = (uint32_t)(v >> 32);
    return;
  }
  switch (o) {
  case SMMU_CR0: *reg(o) = (uint32_t)v; *reg(SMMU_CR0ACK) = (uint32_t)v & 0x1df; consume(); break;
  case SMMU_IRQ_CTRL: *reg(o) = (uint32_t)v; *reg(SMMU_IRQ_CTRLACK) = (uint32_t)v; break;
  case SMMU_GBPA: *reg(o) = (uint32_t)v & ~SMMU_GBPA_UPDATE; break;
  case SMMU_GERRORN: *reg(o) = (uint32_t)v; consume(); break;
  case SMMU_CMDQ_PROD: *reg(o) = (uint32_t)v; consume(); break;
  case SMMU_CR2: if (!cr2_write_ignored) *reg(o) = (uint32_t)v; break;
  default: *reg(o) = (uint32_t)v; break;
  }
}

static struct iommu_unit unit;

static void fake_reset(uint32_t idr0, uint32_t idr1, uint32_t idr3, uint32_t idr5)
{
  memset(&fake, 0, sizeof(fake));
  *reg(SMMU_IDR0) = idr0;
  *reg(SMMU_IDR1) = idr1;
  *reg(SMMU_IDR3) = idr3;
  *reg(SMMU_IDR5) = idr5;
  *reg(SMMU_AIDR) = 1;
  /* Entry state left by "firmware": must all come back. */
  *reg(SMMU_CR1) = 0x5;
  *reg(SMMU_CR2) = SMMU_CR2_PTM;
  *reg(SMMU_GBPA) = SMMU_GBPA_ABORT;
  *reg(SMMU_STRTAB_BASE) = 0x1230;
  *reg(SMMU_STRTAB_BASE_CFG) = 0x10008;
  *reg(SMMU_CMDQ_BASE) = 0x13;
  *reg(SMMU_EVENTQ_BASE) = 0x13;
  *reg(SMMU_EVENTQ_CONS) = 0x5;
  *reg(SMMU_EVENTQ_PROD) = 0x5;
  host_mmio_unregister_all();
  struct host_mmio_region r = { FAKE_BASE, 0x20000, fake_read, fake_write, NULL };
  assert_int_equal(host_mmio_register(&r), 0);
  memset(&unit, 0, sizeof(unit));
  unit.kind = IOMMU_KIND_SMMUV3;
  unit.base = FAKE_BASE;
  unit.ops = &smmuv3_ops;
  assert_int_equal(unit.ops->probe(&unit), IOMMU_OK);
}

static void fake_done(void)
{
  cr2_write_ignored = false;
  free(unit.priv);
  unit.priv = NULL;
  smmuv3_strtab_choice = SMMU_STRTAB_AUTO;
  smmuv3_stage_choice = SMMU_STAGE_AUTO;
}

/* QEMU 7.2's ID registers with a 10-bit StreamID space. */
#define QEMU_IDR0 0x0d40101au
#define QEMU_IDR1 ((0x02730010u & ~0x3fu) | 10u)
#define QEMU_IDR3 0x1404u
#define QEMU_IDR5 0x74u

static void driver_enable_disable(void **state)
{
  (void)state;
  fake_reset(QEMU_IDR0, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  smmuv3_strtab_choice = SMMU_STRTAB_LINEAR;
  const struct iommu_ops *ops = unit.ops;
  struct smmu_unit *s = unit.priv;
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_int_equal(*reg(SMMU_CR0), SMMU_CR0_SMMUEN | SMMU_CR0_EVENTQEN | SMMU_CR0_CMDQEN);
  assert_int_equal(*reg(SMMU_STRTAB_BASE_CFG), 10);        /* linear, 2^10 STEs */
  assert_int_equal(reg64(SMMU_STRTAB_BASE) & SMMU_STRTAB_BASE_ADDR_MASK, s->strtab_phys);
  assert_int_equal(s->strtab_phys & ((64u << 10) - 1), 0); /* aligned to the table size */
  assert_int_equal(reg64(SMMU_CMDQ_BASE) & 0x1f, SMMU_CMDQ_LOG2);
  assert_int_equal(reg64(SMMU_EVENTQ_BASE) & 0x1f, SMMU_EVTQ_LOG2);
  assert_int_equal(*reg(SMMU_CR1), 0xd75);                 /* WB/WB/ISH for queues and tables */
  assert_int_equal(*reg(SMMU_CR2), SMMU_CR2_RECINVSID);    /* no BTM: no PTM */
  assert_int_equal(*reg(SMMU_IRQ_CTRL), 0);
  assert_true(fake.cfgi_all >= 1 && fake.tlbi_all >= 1);
  assert_int_equal(ops->fault_slots(&unit), 1u << SMMU_EVTQ_LOG2);
  /* Attach: stage-1 STE pointing at the domain's CD; bypass for pass-through; detach V=0. */
  struct iommu_domain *dom, *pt;
  assert_int_equal(ops->domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  assert_int_equal(dom->iova_bits, 48);
  assert_int_equal(ops->domain_alloc(&unit, IOMMU_DOMAIN_PASSTHROUGH, &pt), IOMMU_OK);
  assert_int_equal(ops->attach(dom, 0x100), IOMMU_OK);
  uint64_t *ste = &s->strtab[0x100 * 8];
  assert_int_equal(bits(ste[0], 3, 0), 0xb);               /* V, Config stage 1 */
  const struct smmu_domain *d = (const struct smmu_domain *)dom;
  assert_int_equal(ste[0] & SMMU_STE0_S1CTXPTR_MASK, d->cdtab_phys);
  assert_int_equal(bits(d->cdtab[0], 63, 48), d->asid);
  assert_int_equal(d->cdtab[1], dom->pt.root_phys);
  assert_int_equal(ops->attach(pt, 0x8), IOMMU_OK);
  assert_int_equal(bits(s->strtab[8 * 8], 3, 0), 0x9);     /* V, bypass */
  assert_int_equal(ops->attach(pt, 0x100), IOMMU_OK);      /* replace: break before make */
  assert_int_equal(bits(ste[0], 3, 0), 0x9);
  assert_int_equal(ops->attach(dom, 0x100), IOMMU_OK);
  assert_int_equal(pt_map_range(&dom->pt, 0x200000, 0x48000000ull, 4096, IOMMU_PROT_READ), IOMMU_OK);
  assert_null(ops->map_sync);                              /* invalid -> valid needs nothing */
  unsigned va = fake.tlbi_va;
  uint64_t removed;
  assert_int_equal(pt_unmap_range(&dom->pt, 0x200000, 4096, &removed, NULL, NULL), IOMMU_OK);
  assert_int_equal(ops->flush(dom, 0x200000, 4096), IOMMU_OK);
  assert_int_equal(fake.tlbi_va, va + 1);
  assert_int_equal(fake.last_sync[0] & 0xff, SMMU_CMD_SYNC);
  assert_int_equal(ops->flush(dom, 0x400000, IOMMU_PAGE_2M), IOMMU_OK); /* RIL: one range */
  assert_int_equal(fake.tlbi_va, va + 2);
  assert_int_equal(ops->detach(&unit, 0x100), IOMMU_OK);
  assert_int_equal(ste[0], 0);
  assert_int_equal(ops->detach(&unit, 0x100), IOMMU_ENOENT);
  assert_int_equal(ops->attach(dom, 0x400), IOMMU_ERANGE);  /* beyond 2^10 StreamIDs */
  /* Injections and their reverts. */
  assert_int_equal(ops->attach(dom, 0x100), IOMMU_OK);
  uint64_t cd0 = d->cdtab[0];
  assert_int_equal(ops->inject(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x100), IOMMU_OK);
  assert_int_equal(d->cdtab[0], cd0 & ~SMMU_CD0_AA64);    /* TTF has no AArch32: AA64=0 ILLEGAL */
  assert_int_equal(ops->inject_revert(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x100), IOMMU_OK);
  assert_int_equal(d->cdtab[0], cd0);
  assert_int_equal(ops->inject(&unit, IOMMU_INJECT_BAD_ROOT_POINTER, 0x100), IOMMU_OK);
  assert_int_equal(reg64(SMMU_STRTAB_BASE) & SMMU_STRTAB_BASE_ADDR_MASK, s->bad_strtab_phys);
  assert_int_equal(*reg(SMMU_STRTAB_BASE_CFG), 9);         /* just big enough for SID 0x100 */
  assert_int_equal(s->bad_strtab[0x100 * 8], ~0ull);
  assert_int_equal(*reg(SMMU_CR0) & SMMU_CR0_SMMUEN, SMMU_CR0_SMMUEN);
  assert_int_equal(ops->inject_revert(&unit, IOMMU_INJECT_BAD_ROOT_POINTER, 0x100), IOMMU_OK);
  assert_int_equal(reg64(SMMU_STRTAB_BASE) & SMMU_STRTAB_BASE_ADDR_MASK, s->strtab_phys);
  assert_int_equal(ops->detach(&unit, 0x100), IOMMU_OK);
  assert_int_equal(ops->detach(&unit, 0x8), IOMMU_OK);
  ops->domain_free(dom);
  ops->domain_free(pt);
  char why[512];
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "back to their entry values"));
  assert_int_equal(*reg(SMMU_CR0), 0);
  assert_int_equal(*reg(SMMU_CR1), 0x5);
  assert_int_equal(*reg(SMMU_CR2), SMMU_CR2_PTM);
  assert_int_equal(*reg(SMMU_GBPA), SMMU_GBPA_ABORT);
  assert_int_equal(reg64(SMMU_STRTAB_BASE), 0x1230);
  assert_int_equal(*reg(SMMU_STRTAB_BASE_CFG), 0x10008);
  assert_int_equal(reg64(SMMU_CMDQ_BASE), 0x13);
  assert_int_equal(*reg(SMMU_EVENTQ_PROD), 5);
  assert_null(s->strtab);
  assert_null(s->cmdq);
  /* A register that does not read back its entry value is named. */
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_int_equal(ops->enable(&unit), IOMMU_EBUSY);       /* already ours: entry state kept */
  cr2_write_ignored = true;
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_EBADREG);
  assert_non_null(strstr(why, "CR2 reads 0x2, entry value 0x4"));
  fake_done();
  /* Firmware left translation on: not taken over. */
  fake_reset(QEMU_IDR0, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  fake_write(NULL, SMMU_CR0, 4, SMMU_CR0_SMMUEN);
  assert_int_equal(unit.ops->enable(&unit), IOMMU_EBUSY);
  assert_null(((struct smmu_unit *)unit.priv)->strtab);
  fake_done();
}

static void driver_two_level_and_queues(void **state)
{
  (void)state;
  fake_reset(QEMU_IDR0, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  smmuv3_strtab_choice = SMMU_STRTAB_2LEVEL;
  const struct iommu_ops *ops = unit.ops;
  struct smmu_unit *s = unit.priv;
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_true(s->two_level);
  assert_int_equal(*reg(SMMU_STRTAB_BASE_CFG), SMMU_STRTAB_CFG_FMT_2LVL | 8u << 6 | 10u);
  assert_int_equal(s->n_l1, 4);
  assert_int_equal(s->strtab[1], 0);                       /* Span 0: StreamIDs 0x100.. invalid */
  struct iommu_domain *dom;
  assert_int_equal(ops->domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  unsigned nonleaf = fake.cfgi_ste_nonleaf;
  assert_int_equal(ops->attach(dom, 0x1ff), IOMMU_OK);
  assert_int_equal(fake.cfgi_ste_nonleaf, nonleaf + 1);    /* new L1STD invalidated (5.1.1) */
  assert_int_equal(s->strtab[1] & 0x1f, 9);                /* Span = SPLIT + 1 */
  assert_int_equal(s->strtab[1] & SMMU_L1STD_L2PTR_MASK, s->l2_phys[1]);
  assert_int_equal(s->l2_phys[1] & 0x3fff, 0);             /* 16 KiB aligned */
  assert_int_equal(bits(s->l2[1][0xff * 8], 3, 0), 0xb);
  assert_int_equal(s->strtab[2], 0);                       /* no level-2 table for 0x2ff */
  /* Queue wait (full queue, wrap) and command error recovery. */
  char why[400];
  unsigned wraps = s->cmdq_wraps;
  assert_int_equal(ops->queue_wait(&unit, why, sizeof(why)), IOMMU_OK);
  assert_true(s->cmdq_wraps > wraps);
  assert_non_null(strstr(why, "CMDQ_CONS passing it"));
  assert_int_equal(ops->queue_error(&unit, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "CERROR_ILL"));
  assert_int_equal(fake.illegal, 1);
  assert_int_equal(smmu_gerror_active(s), 0);
  /* A command error in an ordinary submission is recovered and named. */
  uint64_t bad[2];
  smmu_cmd_reserved(bad);
  assert_int_equal(smmu_cmd1(s, bad), IOMMU_EBADREG);
  assert_int_equal(s->last_cerror, SMMU_CERROR_ILL);
  assert_int_equal(smmu_cmdq_sync(s), IOMMU_OK);
  /* Events: a translation fault and a C_BAD_STE from a detached stream; overflow flag. */
  assert_int_equal(ops->detach(&unit, 0x1ff), IOMMU_OK);
  uint64_t *q = s->evtq;
  uint64_t r1[4] = { 0x10 | 0x1ffull << 32, 0, 0x200000, 0 };
  uint64_t r2[4] = { 0x04 | 0x1ffull << 32, 0, 0, 0 };
  memcpy(q, r1, 32);
  memcpy(q + 4, r2, 32);
  *reg(SMMU_EVENTQ_PROD) = 2 | SMMU_Q_OVFLG;
  struct iommu_fault f[4];
  unsigned n;
  bool ovf;
  assert_int_equal(ops->drain_faults(&unit, f, 4, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 2);
  assert_true(ovf);
  assert_int_equal(f[0].kind, IOMMU_FAULT_TRANSLATION);
  assert_true(f[0].is_write);
  assert_int_equal(f[0].addr, 0x200000);
  assert_int_equal(f[1].kind, IOMMU_FAULT_NO_CONTEXT);
  assert_int_equal(f[1].source_id, 0x1ff);
  assert_int_equal(*reg(SMMU_EVENTQ_CONS), 2 | SMMU_Q_OVFLG); /* consumed, overflow acknowledged */
  assert_int_equal(ops->drain_faults(&unit, f, 4, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 0);
  assert_false(ovf);
  /* A full queue wraps: 8 records from index 2 on, only 3 kept by the caller. */
  for (unsigned i = 0; i < 8; i++)
    memcpy(q + 4 * ((2 + i) & 7), r1, 32);
  *reg(SMMU_EVENTQ_PROD) = ((2 + 8) & 15) | SMMU_Q_OVFLG;
  assert_int_equal(ops->drain_faults(&unit, f, 3, &n, &ovf), IOMMU_OK);
  assert_int_equal(n, 3);
  assert_false(ovf);                                       /* still acknowledged */
  assert_int_equal(*reg(SMMU_EVENTQ_CONS) & 15, 10);
  /* An aborted event write (EVENTQ_ABT_ERR) is acknowledged by the drain (and named once per
   * enable in a diagnostic, which this test has already "seen"). */
  s->evtq_abt_reported = true;
  *reg(SMMU_GERROR) ^= SMMU_GERROR_EVENTQ_ABT_ERR;
  assert_int_equal(ops->drain_faults(&unit, f, 4, &n, &ovf), IOMMU_OK);
  assert_int_equal(smmu_gerror_active(s), 0);
  assert_int_equal(s->evtq_abt_seen, 1);
  ops->domain_free(dom);
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "2-level"));
  fake_done();
}

static void driver_msi_noncoherent_stage2(void **state)
{
  (void)state;
  /* MSI + COHACC: CMD_SYNC completes by an MSI write to memory. */
  fake_reset(QEMU_IDR0 | 1u << 13, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  const struct iommu_ops *ops = unit.ops;
  struct smmu_unit *s = unit.priv;
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_true(s->msi_sync);
  unsigned msi = fake.msi_syncs;
  char why[400];
  assert_int_equal(ops->queue_wait(&unit, why, sizeof(why)), IOMMU_OK);
  assert_non_null(strstr(why, "MSI write"));
  assert_true(fake.msi_syncs > msi);
  assert_int_equal(bits(fake.last_sync[0], 13, 12), SMMU_CMD_SYNC_CS_IRQ);
  assert_int_equal(fake.last_sync[1], s->sync_phys);
  assert_int_equal(*s->sync_word, s->sync_seq);
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_done();
  /* Not coherent (COHACC=0): NC attributes in CR1 and the CD; no MSI polling. */
  fake_reset((QEMU_IDR0 & ~(1u << 4)) | 1u << 13, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  s = unit.priv;
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_false(s->msi_sync);
  assert_int_equal(*reg(SMMU_CR1), 2u << 4 | 2u << 10);    /* NC, outer shareable */
  struct iommu_domain *dom;
  assert_int_equal(ops->domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  assert_int_equal(bits(((struct smmu_domain *)dom)->cdtab[0], 13, 8), 2u << 4);
  ops->domain_free(dom);
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_done();
  /* Stage 2 only (S1P=0, S2P=1, 16-bit VMIDs, no RIL): S2 STE, S2 tables, TLBI_S2_IPA. */
  fake_reset((QEMU_IDR0 & ~2u) | 1u | 1u << 18, QEMU_IDR1, 0, QEMU_IDR5);
  smmuv3_strtab_choice = SMMU_STRTAB_LINEAR;
  s = unit.priv;
  assert_null(ops->feature_gap(&unit, IOMMU_FEAT_DMA));
  assert_int_equal(ops->enable(&unit), IOMMU_OK);
  assert_int_equal(s->stage, 2);
  assert_int_equal(s->vmid_bits, 16);
  assert_int_equal(ops->domain_alloc(&unit, IOMMU_DOMAIN_PAGING, &dom), IOMMU_OK);
  assert_int_equal(dom->iova_bits, 44);
  assert_int_equal(ops->attach(dom, 0x10), IOMMU_OK);
  const uint64_t *ste = &s->strtab[0x10 * 8];
  const struct smmu_domain *d = (const struct smmu_domain *)dom;
  assert_int_equal(bits(ste[0], 3, 1), 6);
  assert_int_equal(bits(ste[2], 15, 0), d->vmid);
  assert_int_equal(bits(ste[2], 37, 32), 20);
  assert_int_equal(bits(ste[2], 39, 38), 2);               /* level 0 start */
  assert_int_equal(bits(ste[2], 50, 48), 4);
  assert_int_equal(ste[3], dom->pt.root_phys);
  assert_int_equal(pt_map_range(&dom->pt, 0x1000, 0x48000000ull, 4096, IOMMU_PROT_READ), IOMMU_OK);
  assert_int_equal(ops->flush(dom, 0x1000, 2 * 4096), IOMMU_OK);
  assert_int_equal(fake.tlbi_s2, 2);                       /* no RIL: one per granule */
  assert_int_equal(ops->flush(dom, 0, 0), IOMMU_OK);
  assert_int_equal(fake.tlbi_vmall, 1);
  assert_int_equal(ops->inject(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x10), IOMMU_OK);
  assert_int_equal(bits(ste[0], 3, 1), 7);                 /* nested without S1P: ILLEGAL */
  assert_int_equal(ops->inject_revert(&unit, IOMMU_INJECT_BAD_CONTEXT, 0x10), IOMMU_OK);
  assert_int_equal(bits(ste[0], 3, 1), 6);
  ops->detach(&unit, 0x10);
  ops->domain_free(dom);
  assert_int_equal(ops->disable(&unit, why, sizeof(why)), IOMMU_OK);
  fake_done();
  /* Feature gaps name the ID register field. */
  fake_reset(QEMU_IDR0 & ~(3u << 27), QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  smmuv3_stage_choice = SMMU_STAGE_2;
  assert_non_null(strstr(unit.ops->feature_gap(&unit, IOMMU_FEAT_DMA), "IDR0.S2P=0"));
  smmuv3_stage_choice = SMMU_STAGE_AUTO;
  smmuv3_strtab_choice = SMMU_STRTAB_2LEVEL;
  assert_non_null(strstr(unit.ops->feature_gap(&unit, IOMMU_FEAT_DMA), "IDR0.ST_LEVEL=0"));
  assert_int_equal(unit.ops->enable(&unit), IOMMU_EUNSUPPORTED);
  fake_done();
  fake_reset(QEMU_IDR0, QEMU_IDR1, QEMU_IDR3, 0x44 /* 64K only */);
  assert_non_null(strstr(unit.ops->feature_gap(&unit, IOMMU_FEAT_SUPERPAGE_2M), "IDR5.GRAN4K=0"));
  assert_null(unit.ops->feature_gap(&unit, IOMMU_FEAT_PASSTHROUGH));
  fake_done();
  fake_reset(QEMU_IDR0 & ~(3u << 2) /* TTF=0 */, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  assert_non_null(strstr(unit.ops->feature_gap(&unit, IOMMU_FEAT_DMA), "IDR0.TTF=0"));
  fake_done();
  /* Size fields beyond their architectural range are named by check_caps. */
  char buf[200];
  fake_reset(QEMU_IDR0, (QEMU_IDR1 & ~0x3fu) | 40u, QEMU_IDR3, QEMU_IDR5);
  assert_int_equal(unit.ops->check_caps(&unit, NULL, buf, sizeof(buf)), IOMMU_EBADREG);
  assert_non_null(strstr(buf, "SIDSIZE=40"));
  fake_done();
  fake_reset(QEMU_IDR0, QEMU_IDR1, QEMU_IDR3, QEMU_IDR5);
  assert_int_equal(unit.ops->check_caps(&unit, NULL, buf, sizeof(buf)), IOMMU_OK);
  fake_done();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ste_abort_bypass),
    cmocka_unit_test(ste_stage1),
    cmocka_unit_test(ste_stage2),
    cmocka_unit_test(context_descriptor),
    cmocka_unit_test(descriptors),
    cmocka_unit_test(commands),
    cmocka_unit_test(range_invalidation),
    cmocka_unit_test(event_decoding),
    cmocka_unit_test(driver_enable_disable),
    cmocka_unit_test(driver_two_level_and_queues),
    cmocka_unit_test(driver_msi_noncoherent_stage2),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
