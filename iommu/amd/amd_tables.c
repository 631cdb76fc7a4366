/* AMD-Vi in-memory formats: device table entries (2.2.2.1), v1 host page table entries
 * (2.2.3), GCR3 table and v2 entries (2.2.6), commands (2.4), event log entries (2.5).
 * Pure functions: the host tests check every field position. */
#include <stdio.h>
#include <string.h>

#include "iommu/amd/amd_internal.h"

unsigned amd_levels_bits(unsigned levels)
{
  unsigned bits = 12 + 9 * levels;
  return bits > 64 ? 64 : bits;
}

/* IVHD setting byte -> interrupt pass-through bits and SysMgt (applied as Linux does; they
 * take effect only with IV = 1, SysMgt always). */
static void dte_apply_setting(uint64_t dte[4], uint8_t s)
{
  dte[1] |= (uint64_t)((s >> AMD_IVHD_SET_SYSMGT_SHIFT) & 3u) << AMD_DTE1_SYSMGT_SHIFT;
  if (s & AMD_IVHD_SET_INIT_PASS)
    dte[2] |= AMD_DTE2_INIT_PASS;
  if (s & AMD_IVHD_SET_EINT_PASS)
    dte[2] |= AMD_DTE2_EINT_PASS;
  if (s & AMD_IVHD_SET_NMI_PASS)
    dte[2] |= AMD_DTE2_NMI_PASS;
  if (s & AMD_IVHD_SET_LINT0_PASS)
    dte[2] |= AMD_DTE2_LINT0_PASS;
  if (s & AMD_IVHD_SET_LINT1_PASS)
    dte[2] |= AMD_DTE2_LINT1_PASS;
}

/* V = 1, TV = 1, Mode 0, IR = IW = 0: translation information valid and no access allowed.
 * (V = 0 lets the device's DMA through untranslated; TV = 0 with V = 1 is no safe block
 * either: units differ, some end the walk with a fault, so neither is used to block.) */
void amd_dte_blocked(uint64_t dte[4], uint8_t ivhd_setting)
{
  dte[0] = AMD_DTE_V | AMD_DTE_TV;
  dte[1] = dte[2] = dte[3] = 0;
  dte_apply_setting(dte, ivhd_setting);
}

/* Mode 0 with IR = IW = 1: untranslated, every access allowed. */
void amd_dte_passthrough(uint64_t dte[4], uint16_t domid, uint8_t ivhd_setting)
{
  dte[0] = AMD_DTE_V | AMD_DTE_TV | AMD_DTE_IR | AMD_DTE_IW;
  dte[1] = domid;
  dte[2] = dte[3] = 0;
  dte_apply_setting(dte, ivhd_setting);
}

void amd_dte_translate(uint64_t dte[4], uint64_t root_phys, unsigned levels, uint16_t domid,
                       uint8_t ivhd_setting)
{
  dte[0] = AMD_DTE_V | AMD_DTE_TV | AMD_DTE_IR | AMD_DTE_IW |
           ((uint64_t)(levels & 7u) << AMD_DTE_MODE_SHIFT) | (root_phys & AMD_DTE_ROOT_MASK);
  dte[1] = domid;
  dte[2] = dte[3] = 0;
  dte_apply_setting(dte, ivhd_setting);
}

/* Guest (v2) translation: GCR3 table root split over [60:58] (bits 14:12), qword 1 [31:16]
 * (bits 30:15) and [63:43] (bits 51:31); GV, GLX (levels of the GCR3 table - 1), GIoV
 * (untagged requests use PASID 0 of the GCR3 table). */
void amd_dte_set_gcr3(uint64_t dte[4], uint64_t gcr3_table_phys, unsigned glx, bool giov)
{
  uint64_t p = gcr3_table_phys & AMD_BASE_ADDR_MASK;
  dte[0] &= ~((7ull << AMD_DTE_GCR3_LO_SHIFT) | (3ull << AMD_DTE_GLX_SHIFT) | AMD_DTE_GIOV);
  dte[1] &= ~((0xffffull << AMD_DTE1_GCR3_MID_SHIFT) | (0x1fffffull << AMD_DTE1_GCR3_HI_SHIFT));
  dte[0] |= AMD_DTE_GV | ((uint64_t)(glx & 3u) << AMD_DTE_GLX_SHIFT) | (giov ? AMD_DTE_GIOV : 0) |
            (((p >> 12) & 7ull) << AMD_DTE_GCR3_LO_SHIFT);
  dte[1] |= (((p >> 15) & 0xffffull) << AMD_DTE1_GCR3_MID_SHIFT) |
            (((p >> 31) & 0x1fffffull) << AMD_DTE1_GCR3_HI_SHIFT);
}

uint64_t amd_dte_gcr3(const uint64_t dte[4])
{
  return (((dte[0] >> AMD_DTE_GCR3_LO_SHIFT) & 7ull) << 12) |
         (((dte[1] >> AMD_DTE1_GCR3_MID_SHIFT) & 0xffffull) << 15) |
         (((dte[1] >> AMD_DTE1_GCR3_HI_SHIFT) & 0x1fffffull) << 31);
}

bool amd_dte_is_blocked(const uint64_t dte[4])
{
  return (dte[0] & (AMD_DTE_V | AMD_DTE_TV | AMD_DTE_MODE_MASK | AMD_DTE_IR | AMD_DTE_IW | AMD_DTE_GV)) ==
         (AMD_DTE_V | AMD_DTE_TV);
}

/* GCR3 table entry: guest CR3 (v2 root) with GV. */
uint64_t amd_gcr3_entry_encode(uint64_t v2_root_phys)
{
  return (v2_root_phys & AMD_BASE_ADDR_MASK) | AMD_GCR3_GV;
}


/* ---- commands ---- */
void amd_cmd_completion_wait(uint64_t cmd[2], uint64_t store_phys, uint64_t data)
{
  cmd[0] = (AMD_CMD_COMPLETION_WAIT << AMD_CMD_OPCODE_SHIFT) | (store_phys & AMD_CMD_CW_ADDR_MASK) |
           AMD_CMD_CW_S;
  cmd[1] = data;
}

void amd_cmd_inv_devtab_entry(uint64_t cmd[2], uint16_t devid)
{
  cmd[0] = (AMD_CMD_INV_DEVTAB_ENTRY << AMD_CMD_OPCODE_SHIFT) | devid;
  cmd[1] = 0;
}

void amd_cmd_inv_iommu_pages(uint64_t cmd[2], uint16_t domid, uint64_t iova, uint64_t size, bool pde)
{
  uint64_t addr, s = 0;
  uint64_t start = iova & ~0xfffull, last = iova + size - 1;
  if (size == 0 || last < iova) {
    addr = AMD_CMD_INV_ALL_ADDR;
    s = AMD_CMD_INV_S;
  } else if ((start >> 12) == (last >> 12)) {
    addr = start; /* one page */
  } else {
    /* The aligned block holding both ends: its size is 2^(msb+1), msb the highest bit in
     * which they differ; encoded by setting every bit below msb. */
    unsigned msb = 63u - (unsigned)__builtin_clzll(start ^ last);
    if (msb >= 63) {
      addr = AMD_CMD_INV_ALL_ADDR;
    } else {
      addr = (start | ((1ull << msb) - 1)) & ~0xfffull;
      addr &= ~(1ull << msb);
    }
    s = AMD_CMD_INV_S;
  }
  cmd[0] = (AMD_CMD_INV_IOMMU_PAGES << AMD_CMD_OPCODE_SHIFT) | ((uint64_t)domid << 32);
  cmd[1] = addr | s | (pde ? AMD_CMD_INV_PDE : 0);
}

void amd_cmd_inv_iommu_all(uint64_t cmd[2])
{
  cmd[0] = AMD_CMD_INV_IOMMU_ALL << AMD_CMD_OPCODE_SHIFT;
  cmd[1] = 0;
}

unsigned amd_ring_free(unsigned head, unsigned tail, unsigned n)
{
  return (head + n - tail - 1) % n;
}

/* ---- events ---- */
void amd_event_decode(const uint64_t raw[2], struct amd_event *ev)
{
  memset(ev, 0, sizeof(*ev));
  ev->type = (unsigned)(raw[0] >> 60);
  ev->devid = (uint16_t)raw[0];
  ev->flags = (uint32_t)(raw[0] >> 48) & 0xfffu;
  uint16_t lo = (uint16_t)(raw[0] >> 32);
  ev->domid = lo;
  ev->pasid = ((uint32_t)(raw[0] >> 16) & 0xfu) << 16 | lo;
  ev->addr = raw[1];
}

const char *amd_event_name(unsigned type)
{
  switch (type) {
  case AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY: return "ILLEGAL_DEV_TABLE_ENTRY";
  case AMD_EVT_IO_PAGE_FAULT: return "IO_PAGE_FAULT";
  case AMD_EVT_DEV_TAB_HW_ERROR: return "DEV_TAB_HARDWARE_ERROR";
  case AMD_EVT_PAGE_TAB_HW_ERROR: return "PAGE_TAB_HARDWARE_ERROR";
  case AMD_EVT_ILLEGAL_COMMAND: return "ILLEGAL_COMMAND_ERROR";
  case AMD_EVT_COMMAND_HW_ERROR: return "COMMAND_HARDWARE_ERROR";
  case AMD_EVT_IOTLB_INV_TIMEOUT: return "IOTLB_INV_TIMEOUT";
  case AMD_EVT_INVALID_DEVICE_REQUEST: return "INVALID_DEVICE_REQUEST";
  case AMD_EVT_INVALID_PPR_REQUEST: return "INVALID_PPR_REQUEST";
  case AMD_EVT_EVENT_COUNTER_ZERO: return "EVENT_COUNTER_ZERO";
  case AMD_EVT_GUEST_EVENT_FAULT: return "GUEST_EVENT_FAULT";
  case AMD_EVT_RMP_HW_ERROR: return "RMP_HW_ERROR";
  case AMD_EVT_RMP_PAGE_FAULT: return "RMP_PAGE_FAULT";
  default: return "event type not decoded";
  }
}

static bool carries_request(unsigned type)
{
  return type == AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY || type == AMD_EVT_IO_PAGE_FAULT ||
         type == AMD_EVT_DEV_TAB_HW_ERROR || type == AMD_EVT_PAGE_TAB_HW_ERROR ||
         type == AMD_EVT_INVALID_DEVICE_REQUEST || type == AMD_EVT_RMP_PAGE_FAULT;
}

void amd_event_to_fault(const struct amd_event *ev, struct iommu_fault *f)
{
  memset(f, 0, sizeof(*f));
  f->reason = ev->type;
  f->addr = ev->addr;
  const char *detail = "";
  switch (ev->type) {
  case AMD_EVT_ILLEGAL_DEV_TABLE_ENTRY:
    f->kind = IOMMU_FAULT_BAD_ENTRY;
    break;
  case AMD_EVT_IO_PAGE_FAULT:
    if (ev->flags & AMD_EVF_RZ) {
      f->kind = IOMMU_FAULT_BAD_ENTRY;
      detail = ": reserved bit or bad level";
    } else if (!(ev->flags & AMD_EVF_PR)) {
      f->kind = IOMMU_FAULT_TRANSLATION;
      detail = ": not present";
    } else if (ev->flags & AMD_EVF_PE) {
      /* The DTE's IR/IW (a device not set up: Mode 0, IR = IW = 0 refuses everything) and a
       * page's permission give the same record (2.5.3); it does not say which. */
      f->kind = (ev->flags & AMD_EVF_RW) ? IOMMU_FAULT_PERM_WRITE : IOMMU_FAULT_PERM_READ;
      f->alt_kind = IOMMU_FAULT_NO_CONTEXT;
      detail = ": permission (DTE IR/IW or page)";
    } else {
      /* Present, no permission violation, no reserved bit: an invalid level, page size or
       * skipped-level address in the walk. */
      f->kind = IOMMU_FAULT_BAD_ENTRY;
      detail = ": invalid level or page size";
    }
    break;
  case AMD_EVT_DEV_TAB_HW_ERROR:
  case AMD_EVT_PAGE_TAB_HW_ERROR:
    f->kind = IOMMU_FAULT_TABLE_ACCESS;
    break;
  default:
    f->kind = IOMMU_FAULT_OTHER;
    break;
  }
  snprintf(f->reason_name, sizeof(f->reason_name), "%s%s", amd_event_name(ev->type), detail);
  if (carries_request(ev->type)) {
    f->source_id = ev->devid;
    f->stream_id = ev->devid;
    f->is_write = (ev->flags & AMD_EVF_RW) != 0;
    f->pasid_present = (ev->flags & AMD_EVF_GN) != 0;
    f->pasid = f->pasid_present ? ev->pasid : 0;
  }
}

int amd_gcr3_set(uint64_t *gcr3_table, uint32_t pasid, uint64_t v2_root_phys)
{
  if (pasid >= 512)
    return IOMMU_ERANGE;
  gcr3_table[pasid] = v2_root_phys ? amd_gcr3_entry_encode(v2_root_phys) : 0;
  amd_table_sync(&gcr3_table[pasid], sizeof(uint64_t));
  return IOMMU_OK;
}
