/* VT-d invalidation: the invalidation queue (6.5.2) with wait-descriptor completion, and
 * register-based invalidation (6.5.1) when ECAP.QI = 0. Every wait is bounded. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/report.h"
#include "iommu/vtd/vtd_internal.h"

struct reg_wait {
  const struct vtd_unit *v;
  unsigned off;
  uint64_t mask, want;
  bool is64;
};

static bool reg_matches(void *p)
{
  const struct reg_wait *w = p;
  uint64_t val = w->is64 ? mmio_read64(w->v->base + w->off) : mmio_read32(w->v->base + w->off);
  return (val & w->mask) == w->want;
}

static int wait_reg32(const struct vtd_unit *v, unsigned off, uint32_t mask, uint32_t want)
{
  struct reg_wait w = { v, off, mask, want, false };
  return arch_poll(reg_matches, &w, VTD_TIMEOUT_US) ? IOMMU_OK : IOMMU_ETIMEDOUT;
}

static int wait_reg64(const struct vtd_unit *v, unsigned off, uint64_t mask, uint64_t want)
{
  struct reg_wait w = { v, off, mask, want, true };
  return arch_poll(reg_matches, &w, VTD_TIMEOUT_US) ? IOMMU_OK : IOMMU_ETIMEDOUT;
}

/* 11.4.4: one control bit per write, the other persistent controls preserved; wait until
 * GSTS reflects it. */
int vtd_gcmd(struct vtd_unit *v, uint32_t bit, bool set)
{
  uint32_t sts = mmio_read32(v->base + VTD_REG_GSTS) & VTD_GCMD_PERSISTENT_MASK;
  uint32_t cmd = set ? (sts | bit) : (sts & ~bit);
  mmio_write32(v->base + VTD_REG_GCMD, cmd);
  if (bit == VTD_GCMD_SRTP)
    return wait_reg32(v, VTD_REG_GSTS, VTD_GSTS_RTPS, VTD_GSTS_RTPS);
  if (bit == VTD_GCMD_WBF)
    return wait_reg32(v, VTD_REG_GSTS, VTD_GSTS_WBFS, 0);
  return wait_reg32(v, VTD_REG_GSTS, bit, set ? bit : 0);
}

int vtd_write_buffer_flush(struct vtd_unit *v)
{
  return VTD_CAP_RWBF(v->cap) ? vtd_gcmd(v, VTD_GCMD_WBF, true) : IOMMU_OK;
}

static bool wait_done(void *p)
{
  const struct vtd_unit *v = p;
  return *v->wait_status == v->wait_seq;
}

static bool queue_error(const struct vtd_unit *v)
{
  return (mmio_read32(v->base + VTD_REG_FSTS) & (VTD_FSTS_IQE | VTD_FSTS_ITE)) != 0;
}

static void put_desc(struct vtd_unit *v, const uint64_t d[4])
{
  /* Always leave one slot free: the queue is full at N - 1 entries. */
  memcpy(v->iq + (size_t)v->iq_tail * v->desc_size, d, v->desc_size);
  v->iq_tail = (v->iq_tail + 1) % v->iq_entries;
}

static uint64_t iqt_value(const struct vtd_unit *v) { return (uint64_t)v->iq_tail * v->desc_size; }

/* Appends a wait descriptor with the next sequence number and moves the tail. */
static void post_wait(struct vtd_unit *v)
{
  uint64_t w[4];
  v->wait_seq++;
  vtd_inv_wait(w, v->wait_seq, v->wait_phys);
  put_desc(v, w);
  arch_mb();
  mmio_write64(v->base + VTD_REG_IQT, iqt_value(v));
}

/* Queues n descriptors plus a wait descriptor and polls the status write. */
int vtd_inv_submit(struct vtd_unit *v, const uint64_t (*descs)[4], unsigned n)
{
  if (n + 1 >= v->iq_entries)
    return IOMMU_EUNSUPPORTED;
  for (unsigned i = 0; i < n; i++)
    put_desc(v, descs[i]);
  post_wait(v);
  if (!arch_poll(wait_done, v, VTD_TIMEOUT_US))
    return queue_error(v) ? IOMMU_EBADREG : IOMMU_ETIMEDOUT;
  return IOMMU_OK;
}

/* ---- register-based invalidation (ECAP.QI = 0; legacy mode, VT-d version < 6) ---- */
static int reg_context_global(struct vtd_unit *v)
{
  mmio_write64(v->base + VTD_REG_CCMD, VTD_CCMD_ICC | VTD_CCMD_CIRG_GLOBAL);
  int err = wait_reg64(v, VTD_REG_CCMD, VTD_CCMD_ICC, 0);
  if (!err && VTD_CCMD_CAIG(mmio_read64(v->base + VTD_REG_CCMD)) == 0)
    err = IOMMU_EBADREG; /* request rejected */
  return err;
}

static int reg_iotlb(struct vtd_unit *v, uint64_t gran, uint16_t did, uint64_t addr, unsigned am)
{
  unsigned iro = (unsigned)VTD_ECAP_IRO(v->ecap) * 16;
  if (gran == VTD_IOTLB_IIRG_PAGE)
    mmio_write64(v->base + iro, (addr & ~0xfffull) | am);
  mmio_write64(v->base + iro + 8, VTD_IOTLB_IVT | gran | VTD_IOTLB_DID(did));
  int err = wait_reg64(v, iro + 8, VTD_IOTLB_IVT, 0);
  if (!err && VTD_IOTLB_IAIG(mmio_read64(v->base + iro + 8)) == 0)
    err = IOMMU_EBADREG;
  return err;
}

int vtd_flush_context_device(struct vtd_unit *v, uint16_t did, uint16_t sid)
{
  if (!v->qi)
    return reg_context_global(v); /* device-selective by register is rarely worth it */
  uint64_t d[2][4];
  vtd_inv_cc(d[0], VTD_INV_CC_DEVICE, did, sid);
  unsigned n = 1;
  /* Caching mode tags cached not-present/faulting entries with DID 0 (6.2.2.1). */
  if (VTD_CAP_CM(v->cap) && did != 0)
    vtd_inv_cc(d[n++], VTD_INV_CC_DEVICE, 0, sid);
  return vtd_inv_submit(v, (const uint64_t(*)[4])d, n);
}

int vtd_flush_pasid_cache_domain(struct vtd_unit *v, uint16_t did)
{
  if (!v->scalable)
    return IOMMU_OK;
  uint64_t d[4];
  vtd_inv_pasid_cache(d, VTD_CAP_CM(v->cap) ? VTD_INV_PC_GLOBAL : VTD_INV_PC_DOMAIN, did, 0);
  return vtd_inv_submit(v, (const uint64_t(*)[4])&d, 1);
}

int vtd_flush_global(struct vtd_unit *v)
{
  if (!v->qi) {
    int err = reg_context_global(v);
    return err ? err : reg_iotlb(v, VTD_IOTLB_IIRG_GLOBAL, 0, 0, 0);
  }
  /* Order: context cache, PASID cache, IOTLB (6.5.2.12). */
  uint64_t d[3][4];
  unsigned n = 0;
  vtd_inv_cc(d[n++], VTD_INV_CC_GLOBAL, 0, 0);
  if (v->scalable)
    vtd_inv_pasid_cache(d[n++], VTD_INV_PC_GLOBAL, 0, 0);
  vtd_inv_iotlb(d[n++], VTD_INV_IOTLB_GLOBAL, 0, 0, 0);
  return vtd_inv_submit(v, (const uint64_t(*)[4])d, n);
}

/* Whether [iova, iova+size) can be invalidated page-selectively, and with which address
 * mask: 2^am pages aligned to their size, am at most CAP.MAMV. size 0 means "all". */
static bool page_selective(const struct vtd_unit *v, uint64_t iova, uint64_t size, unsigned *am)
{
  *am = 0;
  if (size == 0)
    return false;
  while ((IOMMU_PAGE_4K << *am) < size)
    (*am)++;
  return *am <= VTD_CAP_MAMV(v->cap) && (iova & ((IOMMU_PAGE_4K << *am) - 1)) == 0;
}

/* Second-stage mappings are invalidated with IOTLB descriptors in both modes (a PASID-based
 * IOTLB invalidation does not touch PGTT=second-stage entries, 6.5.2.4). size 0 = domain. */
int vtd_flush_iotlb(struct vtd_unit *v, uint16_t did, uint64_t iova, uint64_t size)
{
  unsigned am = 0;
  bool page = VTD_CAP_PSI(v->cap) && page_selective(v, iova, size, &am);
  if (!v->qi)
    return page ? reg_iotlb(v, VTD_IOTLB_IIRG_PAGE, did, iova, am)
                : reg_iotlb(v, VTD_IOTLB_IIRG_DOMAIN, did, 0, 0);
  uint64_t d[4];
  vtd_inv_iotlb(d, page ? VTD_INV_IOTLB_PAGE : VTD_INV_IOTLB_DOMAIN, did, iova, am);
  return vtd_inv_submit(v, (const uint64_t(*)[4])&d, 1);
}

/* First-stage mappings: PASID-based IOTLB invalidation (6.5.2.4); size 0 = the PASID. */
int vtd_flush_piotlb(struct vtd_unit *v, uint16_t did, uint32_t pasid, uint64_t iova, uint64_t size)
{
  unsigned am;
  bool page = page_selective(v, iova, size, &am);
  uint64_t d[4];
  vtd_inv_piotlb(d, page ? VTD_INV_PIOTLB_PAGE : VTD_INV_PIOTLB_PASID, did, pasid, iova, am);
  return vtd_inv_submit(v, (const uint64_t(*)[4])&d, 1);
}

int vtd_queue_wait_test(struct vtd_unit *v, char *why, size_t len)
{
  uint64_t t0 = arch_time_us();
  uint32_t before = *v->wait_status;
  int err = vtd_inv_submit(v, NULL, 0);
  uint64_t dt = arch_time_us() - t0;
  uint64_t iqh = mmio_read64(v->base + VTD_REG_IQH), iqt = mmio_read64(v->base + VTD_REG_IQT);
  if (err) {
    snprintf(why, len, "wait descriptor (SW, data 0x%x) not completed within %u us; status word 0x%x",
             v->wait_seq, VTD_TIMEOUT_US, *v->wait_status);
    return err;
  }
  if (iqh != iqt) {
    snprintf(why, len, "status written but IQH 0x%llx != IQT 0x%llx", (unsigned long long)iqh,
             (unsigned long long)iqt);
    return IOMMU_EBADREG;
  }
  snprintf(why, len, "%u-byte wait descriptor: status word 0x%x -> 0x%x at phys 0x%llx in %llu us; "
           "IQH caught up with IQT (0x%llx)", v->desc_size, before, *v->wait_status,
           (unsigned long long)v->wait_phys, (unsigned long long)dt, (unsigned long long)iqh);
  return IOMMU_OK;
}

static bool iqe_set(void *p)
{
  const struct vtd_unit *v = p;
  return (mmio_read32(v->base + VTD_REG_FSTS) & VTD_FSTS_IQE) != 0;
}

/* Submits a descriptor of a reserved type; hardware must set FSTS.IQE and hold IQH at it
 * (6.5.2.11). Recovery: the slot is rewritten with a wait descriptor, IQE cleared, IQT
 * written again (real hardware resumes on the clear; QEMU 7.2 only on an IQT write), and a
 * further wait must complete. */
int vtd_queue_error_test(struct vtd_unit *v, char *why, size_t len)
{
  uint64_t bad[4] = { 0x0full, 0, 0, 0 }; /* type 0xF: reserved */
  unsigned bad_slot = v->iq_tail;
  put_desc(v, bad);
  post_wait(v);
  if (!arch_poll(iqe_set, v, VTD_TIMEOUT_US)) {
    snprintf(why, len, "descriptor type 0xF at slot %u: no FSTS.IQE within %u us (status 0x%x)",
             bad_slot, VTD_TIMEOUT_US, *v->wait_status);
    return IOMMU_ETIMEDOUT;
  }
  uint64_t iqh = mmio_read64(v->base + VTD_REG_IQH);
  uint64_t iqercd = mmio_read64(v->base + VTD_REG_IQERCD);
  bool head_ok = iqh == (uint64_t)bad_slot * v->desc_size;
  /* Replace the bad descriptor by a wait with the same sequence number. */
  uint64_t w[4];
  vtd_inv_wait(w, v->wait_seq, v->wait_phys);
  memcpy(v->iq + (size_t)bad_slot * v->desc_size, w, v->desc_size);
  arch_mb();
  mmio_write32(v->base + VTD_REG_FSTS, VTD_FSTS_IQE);
  mmio_write64(v->base + VTD_REG_IQT, iqt_value(v));
  bool resumed = arch_poll(wait_done, v, VTD_TIMEOUT_US);
  int err = resumed ? vtd_inv_submit(v, NULL, 0) : IOMMU_ETIMEDOUT;
  bool iqe_clear = !(mmio_read32(v->base + VTD_REG_FSTS) & VTD_FSTS_IQE);
  struct subconds sc = { "", "" };
  subcond(&sc, "error-reported", true); /* FSTS.IQE was seen above */
  subcond(&sc, "stopped-at-bad", head_ok);
  subcond(&sc, "resumed", resumed);
  subcond(&sc, "error-cleared", iqe_clear);
  subcond(&sc, "next-completed", !err);
  snprintf(why, len, "reserved descriptor type: FSTS.IQE set, IQH 0x%llx %s slot %u, IQERCD.IQEI %u; "
           "after rewrite + IQE clear: queue %s, IQE %s, next wait %s",
           (unsigned long long)iqh, head_ok ? "at the bad" : "NOT at the bad", bad_slot,
           (unsigned)(iqercd & 0xf), resumed ? "resumed" : "STUCK", iqe_clear ? "clear" : "STILL SET",
           err ? iommu_strerror(err) : "completed");
  subconds_append(&sc, why, len);
  return subconds_all_ok(&sc) ? IOMMU_OK : IOMMU_EBADREG;
}
