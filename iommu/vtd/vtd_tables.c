/* VT-d in-memory formats: context entries (9.3, 9.4), PASID directory and table entries
 * (9.5, 9.6), invalidation descriptors (6.5.2), fault reasons
 * (7.1.3 Table 30). Pure functions: the host tests check every field position. */
#include <string.h>

#include "arch/arch.h"
#include "iommu/vtd/vtd_internal.h"

unsigned vtd_aw_code(unsigned bits)
{
  switch (bits) {
  case 39: return 1;
  case 48: return 2;
  case 57: return 3;
  default: return 0;
  }
}

void vtd_legacy_context_encode(uint64_t ctx[2], uint64_t slptptr, unsigned aw_code, uint16_t did,
                               bool passthrough)
{
  ctx[0] = VTD_CTX_P | (passthrough ? 0 : (slptptr & VTD_SL_ADDR_MASK)) |
           ((passthrough ? VTD_CTX_TT_PASSTHROUGH : 0ull) << VTD_CTX_TT_SHIFT);
  ctx[1] = (aw_code & 7u) | (uint64_t)did << VTD_CTX_HI_DID_SHIFT;
}

void vtd_sm_context_encode(uint64_t ctx[4], uint64_t pasid_dir_phys, unsigned pdts)
{
  /* DTE, PASIDE, PRE off: only requests without PASID, translated through RID_PASID (0,
   * since RID_PASID is honoured only with ECAP.RPS). */
  ctx[0] = VTD_CTX_P | (uint64_t)(pdts & 7u) << VTD_SMCTX_PDTS_SHIFT | (pasid_dir_phys & VTD_SL_ADDR_MASK);
  ctx[1] = 0;
  ctx[2] = 0;
  ctx[3] = 0;
}

uint64_t vtd_pasid_dir_encode(uint64_t pasid_table_phys)
{
  return VTD_PASIDDIR_P | (pasid_table_phys & VTD_SL_ADDR_MASK);
}

void vtd_pasid_entry_encode(uint64_t pe[8], unsigned pgtt, uint64_t slptptr, unsigned aw_code,
                            uint16_t did)
{
  memset(pe, 0, 8 * sizeof(uint64_t));
  pe[0] = VTD_PASID_P | (uint64_t)(aw_code & 7u) << VTD_PASID_AW_SHIFT |
          (uint64_t)(pgtt & 7u) << VTD_PASID_PGTT_SHIFT |
          (pgtt == VTD_PGTT_PASSTHROUGH ? 0 : (slptptr & VTD_SL_ADDR_MASK));
  pe[1] = did;
}

void vtd_pasid_entry_encode_fl(uint64_t pe[8], uint64_t flptptr, bool five_level, uint16_t did)
{
  memset(pe, 0, 8 * sizeof(uint64_t));
  /* AW stays 0: it is the second-stage AGAW (9.6), ignored for PGTT=001b and Reserved(0) on a
   * unit without second stage (SSTS=0); the first-stage input width follows FSPM (3.6). */
  pe[0] = VTD_PASID_P | VTD_PGTT_FIRST_STAGE << VTD_PASID_PGTT_SHIFT;
  pe[1] = did;
  /* SRE 0: user requests only; FSPM 00 4-level, 01 5-level; WPE, EAFE off. */
  pe[2] = (five_level ? 1ull : 0ull) << VTD_PASID_Q2_FLPM_SHIFT | (flptptr & VTD_SL_ADDR_MASK);
}

void vtd_inv_piotlb(uint64_t d[4], unsigned gran, uint16_t did, uint32_t pasid, uint64_t addr,
                    unsigned am)
{
  d[0] = VTD_INV_PIOTLB | VTD_INV_G(gran) | VTD_INV_DID(did) | (uint64_t)(pasid & 0xfffffu) << 32;
  d[1] = gran == VTD_INV_PIOTLB_PAGE ? ((addr & ~0xfffull) | (am & 0x3fu)) : 0;
  d[2] = d[3] = 0;
}

void vtd_inv_cc(uint64_t d[4], unsigned gran, uint16_t did, uint16_t sid)
{
  d[0] = VTD_INV_CC | VTD_INV_G(gran) | VTD_INV_DID(did) | VTD_INV_CC_SID(sid);
  d[1] = d[2] = d[3] = 0;
}

void vtd_inv_iotlb(uint64_t d[4], unsigned gran, uint16_t did, uint64_t addr, unsigned am)
{
  /* DR/DW request draining; ignored (always done) from VT-d version 2 on. */
  d[0] = VTD_INV_IOTLB | VTD_INV_G(gran) | VTD_INV_DID(did) | VTD_INV_IOTLB_DR | VTD_INV_IOTLB_DW;
  d[1] = gran == VTD_INV_IOTLB_PAGE ? ((addr & ~0xfffull) | (am & 0x3fu)) : 0;
  d[2] = d[3] = 0;
}

void vtd_inv_pasid_cache(uint64_t d[4], unsigned gran, uint16_t did, uint32_t pasid)
{
  d[0] = VTD_INV_PASID_CACHE | VTD_INV_G(gran) | VTD_INV_DID(did) | (uint64_t)(pasid & 0xfffffu) << 32;
  d[1] = d[2] = d[3] = 0;
}

void vtd_inv_wait(uint64_t d[4], uint32_t data, uint64_t status_phys)
{
  /* SW only: status write to memory. (SW together with IF aborts QEMU 7.2.) */
  d[0] = VTD_INV_WAIT | VTD_INV_WAIT_SW | VTD_INV_WAIT_FN | VTD_INV_WAIT_DATA(data);
  d[1] = status_phys & ~3ull;
  d[2] = d[3] = 0;
}

struct reason { uint8_t code; enum iommu_fault_kind kind; const char *name; };

static const struct reason reasons[] = {
  { 0x01, IOMMU_FAULT_NO_CONTEXT, "root entry not present" },
  { 0x02, IOMMU_FAULT_NO_CONTEXT, "context entry not present" },
  { 0x03, IOMMU_FAULT_BAD_ENTRY, "invalid context entry programming" },
  { 0x04, IOMMU_FAULT_ADDR_SIZE, "address beyond the guest address width" },
  { 0x05, IOMMU_FAULT_PERM_WRITE, "write without write permission" },
  { 0x06, IOMMU_FAULT_PERM_READ, "read without read permission" },
  { 0x07, IOMMU_FAULT_TABLE_ACCESS, "second-stage entry access error" },
  { 0x08, IOMMU_FAULT_TABLE_ACCESS, "root table access error" },
  { 0x09, IOMMU_FAULT_TABLE_ACCESS, "context table access error" },
  { 0x0a, IOMMU_FAULT_BAD_ENTRY, "reserved bit set in root entry" },
  { 0x0b, IOMMU_FAULT_BAD_ENTRY, "reserved bit set in context entry" },
  { 0x0c, IOMMU_FAULT_BAD_ENTRY, "reserved bit set in second-stage entry" },
  { 0x0d, IOMMU_FAULT_BAD_ENTRY, "context entry TT blocks the request" },
  { 0x0e, IOMMU_FAULT_OTHER, "output address in the interrupt range" },
  { 0x30, IOMMU_FAULT_BAD_ENTRY, "RTADDR programming invalid" },
  { 0x31, IOMMU_FAULT_OTHER, "request with PASID in legacy mode" },
  { 0x38, IOMMU_FAULT_TABLE_ACCESS, "SM: root entry access error" },
  { 0x39, IOMMU_FAULT_NO_CONTEXT, "SM: root entry LP/UP not present" },
  { 0x3a, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in root entry" },
  { 0x40, IOMMU_FAULT_TABLE_ACCESS, "SM: context entry access error" },
  { 0x41, IOMMU_FAULT_NO_CONTEXT, "SM: context entry not present" },
  { 0x42, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in context entry" },
  { 0x43, IOMMU_FAULT_BAD_ENTRY, "SM: invalid context entry" },
  { 0x44, IOMMU_FAULT_BAD_ENTRY, "SM: DTE clear for a translation request" },
  { 0x45, IOMMU_FAULT_BAD_ENTRY, "SM: PASIDE clear for a request with PASID" },
  { 0x46, IOMMU_FAULT_BAD_ENTRY, "SM: PASID beyond the directory size" },
  { 0x47, IOMMU_FAULT_BAD_ENTRY, "SM: PRE clear for a page request" },
  { 0x48, IOMMU_FAULT_BAD_ENTRY, "SM: request PASID equals RID_PASID" },
  { 0x50, IOMMU_FAULT_TABLE_ACCESS, "SM: PASID directory entry access error" },
  { 0x51, IOMMU_FAULT_NO_CONTEXT, "SM: PASID directory entry not present" },
  { 0x52, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in PASID directory entry" },
  { 0x58, IOMMU_FAULT_TABLE_ACCESS, "SM: PASID table entry access error" },
  { 0x59, IOMMU_FAULT_NO_CONTEXT, "SM: PASID table entry not present" },
  { 0x5a, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in PASID table entry" },
  { 0x5b, IOMMU_FAULT_BAD_ENTRY, "SM: invalid PASID table entry" },
  { 0x70, IOMMU_FAULT_TABLE_ACCESS, "SM: first-stage entry access error" },
  { 0x71, IOMMU_FAULT_TRANSLATION, "SM: first-stage entry not present" },
  { 0x72, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in first-stage entry" },
  { 0x78, IOMMU_FAULT_TABLE_ACCESS, "SM: second-stage entry access error" },
  { 0x79, IOMMU_FAULT_TRANSLATION, "SM: second-stage entry not present (R=W=0)" },
  { 0x7a, IOMMU_FAULT_BAD_ENTRY, "SM: reserved bit set in second-stage entry" },
  { 0x7b, IOMMU_FAULT_TABLE_ACCESS, "SM: SSPTPTR access error" },
  { 0x80, IOMMU_FAULT_ADDR_SIZE, "SM: non-canonical address" },
  { 0x81, IOMMU_FAULT_OTHER, "SM: user access to a supervisor page" },
  { 0x83, IOMMU_FAULT_ADDR_SIZE, "SM: address beyond the host address width" },
  { 0x84, IOMMU_FAULT_ADDR_SIZE, "SM: address beyond the guest address width" },
  { 0x85, IOMMU_FAULT_PERM_WRITE, "SM: write without write permission" },
  { 0x86, IOMMU_FAULT_PERM_READ, "SM: read without read permission" },
  { 0x89, IOMMU_FAULT_BAD_ENTRY, "SM: PASID beyond ECAP.PSS" },
};

static const struct reason *find_reason(unsigned code)
{
  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
    if (reasons[i].code == code)
      return &reasons[i];
  return NULL;
}

const char *vtd_fault_reason_name(unsigned reason)
{
  const struct reason *r = find_reason(reason);
  return r ? r->name : "reason not decoded";
}

enum iommu_fault_kind vtd_fault_reason_kind(unsigned reason)
{
  const struct reason *r = find_reason(reason);
  return r ? r->kind : IOMMU_FAULT_OTHER;
}

void vtd_table_sync(const struct vtd_unit *v, const void *p, size_t len)
{
  if (!VTD_ECAP_C(v->ecap))
    arch_cache_flush(p, len);
  else
    arch_mb();
}
