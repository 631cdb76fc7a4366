/* An NVMe controller as a DMA initiator, from the NVM Express Base Specification 2.0 (3.5.1
 * controller initialization, 3.1.3 registers) and the NVM Command Set Specification 1.0.
 *
 * Non-destructive by construction: the only I/O commands it can encode are Read and Compare
 * (nvme_cmd.c refuses every other opcode), so the media is never written, formatted or
 * sanitized. dma_write (device -> memory) is a Read of LBAs 0.. into the IOVA; dma_read
 * (memory -> device) is a Compare of the same LBAs against the IOVA. The device buffer is
 * fixed: the LBAs' contents, read once when the controller starts, through the same domain.
 *
 * The controller fetches its queue entries, PRP lists and Identify data by DMA too, so those
 * live in "own" pages the scenario maps (set_own_iova). Opening resets the controller;
 * set_own_iova enables it with its admin queues at that IOVA, identifies it and creates one
 * I/O queue pair; release resets it again. Handing it back to the platform firmware's driver
 * (UEFI ConnectController) is the boot layer's job, after the IOMMUs are restored.
 * No interrupts: PCI INTx is disabled and MSI/MSI-X are left off; completions are polled.
 * Every wait is bounded and named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/mem.h"
#include "iommu/initiator/initiator_impl.h"
#include "iommu/initiator/nvme_cmd.h"
#include "iommu/iommu.h"

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2u
#define PCI_COMMAND_MASTER 0x4u
#define PCI_COMMAND_INTX_DISABLE 0x400u

/* Own pages: one per queue, Identify data, one PRP list, then the fixed device buffer. */
#define OWN_ASQ 0
#define OWN_ACQ 1
#define OWN_IOSQ 2
#define OWN_IOCQ 3
#define OWN_IDENTIFY 4
#define OWN_PRP_LIST 5
#define OWN_DATA 6
#define DATA_PAGES 4u
#define OWN_PAGES (OWN_DATA + DATA_PAGES)
#define NVME_PAGE 4096u               /* CC.MPS = 0 */
#define QUEUE_ENTRIES 16u
#define NVME_NSID 1u
/* One command: QEMU under TCG answers in milliseconds, silicon in microseconds. */
#define NVME_CMD_TIMEOUT_US 2000000u
/* CSTS.RDY transitions take up to CAP.TO x 500 ms; a controller claiming more than this
 * is not waited for longer. */
#define NVME_READY_TIMEOUT_MAX_US 30000000u

struct nvme_queue {
  unsigned qid;
  volatile struct nvme_sqe *sq;
  volatile struct nvme_cqe *cq;
  uint16_t tail, head;
  unsigned phase;
};

struct nvme {
  struct platform *plat;
  const struct pci_dev *d;
  uint64_t bar;
  uint32_t saved_command;
  uint64_t cap;
  unsigned dstrd;
  uint64_t ready_timeout_us;
  uint8_t *own;
  uint64_t own_phys, own_iova;
  bool started;
  struct nvme_queue admin, io;
  uint16_t next_cid;
  uint32_t lba_bytes;
  uint64_t nsze;
  bool compare;
};

static uint32_t cfg_read(const struct nvme *n, uint16_t off)
{
  const struct pci_dev *d = n->d;
  return n->plat->cfg.read32(n->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off);
}

static void cfg_write(const struct nvme *n, uint16_t off, uint32_t v)
{
  const struct pci_dev *d = n->d;
  n->plat->cfg.write32(n->plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off, v);
}

static void status_text(struct dma_initiator *ini, const char *fmt, const char *detail)
{
  snprintf(ini->last_status, sizeof(ini->last_status), fmt, detail);
}

struct ready_wait {
  const struct nvme *n;
  uint32_t want;
};

static bool ready_is(void *ctx)
{
  const struct ready_wait *w = ctx;
  uint32_t csts = mmio_read32(w->n->bar + NVME_REG_CSTS);
  return csts != 0xffffffffu && (csts & NVME_CSTS_RDY) == w->want;
}

/* CC.EN = 0, then CSTS.RDY = 0 within CAP.TO: the controller drops its queues. */
static int nvme_disable(struct dma_initiator *ini, struct nvme *n)
{
  uint32_t cc = mmio_read32(n->bar + NVME_REG_CC);
  if (cc & NVME_CC_EN)
    mmio_write32(n->bar + NVME_REG_CC, cc & ~NVME_CC_EN);
  struct ready_wait w = { n, 0 };
  n->started = false;
  if (!arch_poll(ready_is, &w, n->ready_timeout_us)) {
    status_text(ini, "%s", "reset: CSTS.RDY still 1 after CAP.TO (NVME_READY_TIMEOUT)");
    return INITIATOR_ETIMEDOUT;
  }
  return 0;
}

static void queue_reset(struct nvme *n, struct nvme_queue *q, unsigned qid, unsigned sq_page,
                        unsigned cq_page)
{
  q->qid = qid;
  q->sq = (volatile struct nvme_sqe *)(n->own + sq_page * NVME_PAGE);
  q->cq = (volatile struct nvme_cqe *)(n->own + cq_page * NVME_PAGE);
  memset(n->own + sq_page * NVME_PAGE, 0, NVME_PAGE);
  memset(n->own + cq_page * NVME_PAGE, 0, NVME_PAGE);
  q->tail = q->head = 0;
  q->phase = 1; /* the controller posts phase 1 on its first pass through a zeroed queue */
}

struct cqe_wait {
  const struct nvme *n;
  const struct nvme_queue *q;
};

static bool cqe_posted_or_fatal(void *ctx)
{
  const struct cqe_wait *w = ctx;
  if (((w->q->cq[w->q->head].dw[3] >> 16) & 1) == w->q->phase)
    return true;
  return (mmio_read32(w->n->bar + NVME_REG_CSTS) & NVME_CSTS_CFS) != 0;
}

/* Submits one command and waits for its completion (no other command is outstanding). */
static int submit(struct dma_initiator *ini, struct nvme *n, struct nvme_queue *q,
                  struct nvme_sqe *sqe, struct nvme_cqe *out)
{
  uint16_t cid = (uint16_t)(sqe->dw[0] >> 16);
  uint8_t opcode = (uint8_t)sqe->dw[0];
  /* Last line of defence: nothing that writes media reaches a queue. */
  if (q->qid == 0 ? !nvme_admin_opcode_allowed(opcode) : !nvme_io_opcode_allowed(opcode)) {
    snprintf(ini->last_status, sizeof(ini->last_status), "opcode %02xh refused on queue %u", opcode,
             q->qid);
    return INITIATOR_ECMD;
  }
  for (unsigned i = 0; i < 16; i++)
    q->sq[q->tail].dw[i] = sqe->dw[i];
  arch_mb();
  q->tail = (uint16_t)((q->tail + 1) % QUEUE_ENTRIES);
  mmio_write32(n->bar + nvme_sq_doorbell(q->qid, n->dstrd), q->tail);
  struct cqe_wait w = { n, q };
  if (!arch_poll(cqe_posted_or_fatal, &w, NVME_CMD_TIMEOUT_US)) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "no completion for opcode %02xh on queue %u within %u ms (NVME_CMD_TIMEOUT)",
             sqe->dw[0] & 0xff, q->qid, NVME_CMD_TIMEOUT_US / 1000);
    return INITIATOR_ETIMEDOUT;
  }
  arch_mb();
  if (((q->cq[q->head].dw[3] >> 16) & 1) != q->phase) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "CSTS.CFS=1 (controller fatal) during opcode %02xh on queue %u: it could not fetch "
             "the command or post its completion", sqe->dw[0] & 0xff, q->qid);
    n->started = false;
    return INITIATOR_EFATAL;
  }
  for (unsigned i = 0; i < 4; i++)
    out->dw[i] = q->cq[q->head].dw[i];
  q->head = (uint16_t)((q->head + 1) % QUEUE_ENTRIES);
  if (q->head == 0)
    q->phase ^= 1;
  mmio_write32(n->bar + nvme_cq_doorbell(q->qid, n->dstrd), q->head);
  if (nvme_cqe_cid(out) != cid) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "completion names command %u, %u was submitted", nvme_cqe_cid(out), cid);
    return INITIATOR_ECMD;
  }
  return 0;
}

/* An admin command that must succeed. */
static int admin(struct dma_initiator *ini, struct nvme *n, struct nvme_sqe *sqe, const char *what)
{
  struct nvme_cqe c;
  int err = submit(ini, n, &n->admin, sqe, &c);
  if (err)
    return err;
  if (nvme_cqe_sct(&c) != NVME_SCT_GENERIC || nvme_cqe_sc(&c) != NVME_SC_SUCCESS) {
    char st[64];
    nvme_status_text(nvme_cqe_sct(&c), nvme_cqe_sc(&c), st, sizeof(st));
    snprintf(ini->last_status, sizeof(ini->last_status), "%s: %s", what, st);
    return INITIATOR_ECMD;
  }
  return 0;
}

static uint16_t next_cid(struct nvme *n) { return n->next_cid++; }

static uint64_t own_iova(const struct nvme *n, unsigned page) { return n->own_iova + page * NVME_PAGE; }

/* Read or Compare of len bytes from LBA 0 at iova; the completion classified. */
static int rw(struct dma_initiator *ini, struct nvme *n, uint8_t opcode, uint64_t iova, uint32_t len)
{
  uint64_t prp1, prp2;
  uint64_t *list = (uint64_t *)(n->own + OWN_PRP_LIST * NVME_PAGE);
  int entries = nvme_prp_build(iova, len, NVME_PAGE, own_iova(n, OWN_PRP_LIST), list,
                               NVME_PAGE / 8, &prp1, &prp2);
  if (entries < 0) {
    status_text(ini, "%s", "no PRP encoding for this address/length");
    return INITIATOR_ERANGE;
  }
  struct nvme_sqe s;
  if (nvme_sqe_rw(&s, opcode, next_cid(n), NVME_NSID, 0, len / n->lba_bytes, prp1, prp2))
    return INITIATOR_ERANGE;
  struct nvme_cqe c;
  int err = submit(ini, n, &n->io, &s, &c);
  if (err) {
    ini->last_outcome = INITIATOR_OUTCOME_FAILED;
    return err;
  }
  unsigned sct = nvme_cqe_sct(&c), sc = nvme_cqe_sc(&c);
  char st[64];
  nvme_status_text(sct, sc, st, sizeof(st));
  snprintf(ini->last_status, sizeof(ini->last_status), "%s of %u bytes at 0x%llx: %s",
           opcode == NVME_IO_READ ? "Read" : "Compare", len, (unsigned long long)iova, st);
  if (sct == NVME_SCT_GENERIC && sc == NVME_SC_SUCCESS) {
    ini->last_outcome = INITIATOR_OUTCOME_DONE;
    return 0;
  }
  if (sct == NVME_SCT_GENERIC && sc == NVME_SC_DATA_TRANSFER_ERROR) {
    ini->last_outcome = INITIATOR_OUTCOME_FAILED; /* what a blocked DMA must look like */
    ini->n_failed++;
    return 0;
  }
  if (opcode == NVME_IO_COMPARE && sct == NVME_SCT_MEDIA && sc == NVME_SC_COMPARE_FAILURE) {
    ini->last_outcome = INITIATOR_OUTCOME_MISMATCH;
    ini->n_mismatch++;
    return 0;
  }
  ini->last_outcome = INITIATOR_OUTCOME_FAILED;
  ini->n_failed++;
  return INITIATOR_ECMD; /* a status that says neither "done" nor "DMA failed" */
}

static int check_transfer(struct dma_initiator *ini, uint32_t pasid, uint32_t len)
{
  struct nvme *n = ini->priv;
  ini->last_outcome = INITIATOR_OUTCOME_UNREPORTED;
  ini->last_status[0] = '\0';
  if (pasid != IOMMU_NO_PASID)
    return INITIATOR_ENOPASID;
  if (!n->started) {
    status_text(ini, "%s", "controller not started: its queues are not mapped (set_own_iova)");
    return INITIATOR_ENOTREADY;
  }
  if (len == 0 || len > ini->max_len || len % n->lba_bytes) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "%u bytes is not a multiple of the %u-byte LBA up to %u", len, n->lba_bytes,
             ini->max_len);
    return INITIATOR_ERANGE;
  }
  return 0;
}

static int nvme_dma_write(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  int err = check_transfer(ini, pasid, len);
  return err ? err : rw(ini, ini->priv, NVME_IO_READ, iova, len);
}

static int nvme_dma_read(struct dma_initiator *ini, uint32_t pasid, uint64_t iova, uint32_t len)
{
  int err = check_transfer(ini, pasid, len);
  if (err)
    return err;
  struct nvme *n = ini->priv;
  if (!n->compare) {
    status_text(ini, "%s", "ONCS bit 0 (Compare) = 0 in Identify Controller: it cannot "
                           "read memory without writing media");
    return INITIATOR_ENOTSUP;
  }
  return rw(ini, n, NVME_IO_COMPARE, iova, len);
}

static uint32_t le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Enable with the admin queues at the own IOVA, identify, one I/O queue pair, then read the
 * fixed device buffer. */
static int nvme_start(struct dma_initiator *ini, struct nvme *n)
{
  int err = nvme_disable(ini, n);
  if (err)
    return err;
  queue_reset(n, &n->admin, 0, OWN_ASQ, OWN_ACQ);
  queue_reset(n, &n->io, 1, OWN_IOSQ, OWN_IOCQ);
  arch_mb();
  mmio_write32(n->bar + NVME_REG_AQA, nvme_aqa(QUEUE_ENTRIES, QUEUE_ENTRIES));
  uint64_t asq = own_iova(n, OWN_ASQ), acq = own_iova(n, OWN_ACQ);
  mmio_write32(n->bar + NVME_REG_ASQ, (uint32_t)asq);
  mmio_write32(n->bar + NVME_REG_ASQ + 4, (uint32_t)(asq >> 32));
  mmio_write32(n->bar + NVME_REG_ACQ, (uint32_t)acq);
  mmio_write32(n->bar + NVME_REG_ACQ + 4, (uint32_t)(acq >> 32));
  mmio_write32(n->bar + NVME_REG_CC, nvme_cc_enable(0));
  struct ready_wait w = { n, NVME_CSTS_RDY };
  if (!arch_poll(ready_is, &w, n->ready_timeout_us)) {
    bool cfs = (mmio_read32(n->bar + NVME_REG_CSTS) & NVME_CSTS_CFS) != 0;
    status_text(ini, "%s", cfs ? "enable: CSTS.CFS=1 instead of RDY (admin queues unreachable?)"
                               : "enable: CSTS.RDY still 0 after CAP.TO (NVME_READY_TIMEOUT)");
    return cfs ? INITIATOR_EFATAL : INITIATOR_ETIMEDOUT;
  }
  n->started = true;
  uint8_t *id = n->own + OWN_IDENTIFY * NVME_PAGE;
  struct nvme_sqe s;
  nvme_sqe_identify(&s, next_cid(n), NVME_IDENTIFY_CNS_CTRL, 0, own_iova(n, OWN_IDENTIFY));
  if ((err = admin(ini, n, &s, "Identify Controller")))
    return err;
  n->compare = (id[NVME_ID_CTRL_ONCS] & NVME_ONCS_COMPARE) != 0;
  unsigned mdts = id[NVME_ID_CTRL_MDTS];
  uint32_t nn = le32(id + NVME_ID_CTRL_NN);
  if (nn < NVME_NSID) {
    status_text(ini, "%s", "Identify Controller NN=0: no namespace to read");
    return INITIATOR_ENODEV;
  }
  nvme_sqe_identify(&s, next_cid(n), NVME_IDENTIFY_CNS_NS, NVME_NSID, own_iova(n, OWN_IDENTIFY));
  if ((err = admin(ini, n, &s, "Identify Namespace 1")))
    return err;
  uint16_t meta;
  nvme_id_ns_format(id, &n->lba_bytes, &meta);
  n->nsze = (uint64_t)le32(id + NVME_ID_NS_NSZE) | (uint64_t)le32(id + NVME_ID_NS_NSZE + 4) << 32;
  if (n->lba_bytes == 0 || n->lba_bytes > DATA_PAGES * NVME_PAGE || meta != 0 || n->nsze == 0) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "namespace 1 unusable: %u-byte LBAs with %u metadata bytes, %llu LBAs", n->lba_bytes,
             meta, (unsigned long long)n->nsze);
    return INITIATOR_ENODEV;
  }
  uint64_t max = DATA_PAGES * NVME_PAGE;
  if (mdts && (uint64_t)NVME_PAGE << mdts < max)
    max = (uint64_t)NVME_PAGE << mdts;
  if (n->nsze * n->lba_bytes < max)
    max = n->nsze * n->lba_bytes;
  ini->max_len = (uint32_t)(max - max % n->lba_bytes);
  /* Set Features is volatile (SV = 0); a controller may refuse it once queues existed. */
  struct nvme_cqe c;
  nvme_sqe_set_num_queues(&s, next_cid(n), 1, 1);
  if ((err = submit(ini, n, &n->admin, &s, &c)))
    return err;
  nvme_sqe_create_cq(&s, next_cid(n), 1, QUEUE_ENTRIES, own_iova(n, OWN_IOCQ));
  if ((err = admin(ini, n, &s, "Create I/O Completion Queue")))
    return err;
  nvme_sqe_create_sq(&s, next_cid(n), 1, QUEUE_ENTRIES, own_iova(n, OWN_IOSQ), 1);
  if ((err = admin(ini, n, &s, "Create I/O Submission Queue")))
    return err;
  /* The fixed device buffer: the LBAs every transfer uses, read through the same domain. */
  uint8_t *data = n->own + OWN_DATA * NVME_PAGE;
  memset(data, 0, DATA_PAGES * NVME_PAGE);
  if ((err = rw(ini, n, NVME_IO_READ, own_iova(n, OWN_DATA), ini->max_len)))
    return err;
  if (ini->last_outcome != INITIATOR_OUTCOME_DONE)
    return INITIATOR_ECMD;
  ini->n_failed = ini->n_mismatch = 0;
  bool uniform = true;
  for (uint32_t i = 1; i < ini->max_len && uniform; i++)
    uniform = data[i] == data[0];
  if (uniform) {
    snprintf(ini->last_status, sizeof(ini->last_status),
             "LBAs 0..%u all hold byte 0x%02x: a landed Read could not be told from no Read",
             ini->max_len / n->lba_bytes - 1, data[0]);
    return INITIATOR_ENODEV;
  }
  ini->fixed_buffer = data;
  return 0;
}

static int nvme_set_own_iova(struct dma_initiator *ini, uint64_t iova)
{
  struct nvme *n = ini->priv;
  if (n->started && n->own_iova == iova)
    return 0;
  n->own_iova = iova;
  int err = nvme_start(ini, n);
  if (err)
    nvme_disable(ini, n);
  return err;
}

static void nvme_release(struct dma_initiator *ini)
{
  struct nvme *n = ini->priv;
  if (n == NULL)
    return;
  nvme_disable(ini, n); /* nothing left queued or cached; the platform's driver starts afresh */
  uint32_t now = cfg_read(n, PCI_COMMAND);
  cfg_write(n, PCI_COMMAND, (now & 0xffff0000u) | (n->saved_command & 0xffffu));
  page_free(n->own, OWN_PAGES);
  free(n);
  ini->priv = NULL;
  ini->fixed_buffer = NULL;
}

int nvme_open(struct platform *plat, const struct pci_dev *d, struct dma_initiator *out)
{
  if (plat->initiator_claim)
    return plat->initiator_claim; /* the boot layer said why (initiator_claim_why) */
  struct nvme *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return INITIATOR_ENODEV;
  n->plat = plat;
  n->d = d;
  uint32_t bar_lo = cfg_read(n, 0x10);
  n->bar = bar_lo & ~0xfull;
  if ((bar_lo & 0x6) == 0x4)
    n->bar |= (uint64_t)cfg_read(n, 0x14) << 32;
  if ((bar_lo & 1) || n->bar == 0) {
    free(n);
    return INITIATOR_ENODEV;
  }
  n->own = page_alloc(OWN_PAGES, UINT64_MAX, &n->own_phys);
  if (n->own == NULL) {
    free(n);
    return INITIATOR_ENODEV;
  }
  n->saved_command = cfg_read(n, PCI_COMMAND);
  cfg_write(n, PCI_COMMAND, (n->saved_command & 0xffffu) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                PCI_COMMAND_INTX_DISABLE);
  n->cap = mmio_read64(n->bar + NVME_REG_CAP);
  n->dstrd = NVME_CAP_DSTRD(n->cap);
  uint64_t to = (uint64_t)NVME_CAP_TO(n->cap) * 500000u;
  n->ready_timeout_us = to == 0 ? 500000u : to > NVME_READY_TIMEOUT_MAX_US ? NVME_READY_TIMEOUT_MAX_US : to;
  /* 4 KiB pages (CAP.MPSMIN = 0), the NVM command set, queues of QUEUE_ENTRIES. */
  if (n->cap == ~0ull || NVME_CAP_MPSMIN(n->cap) != 0 || !NVME_CAP_CSS_NVM(n->cap) ||
      NVME_CAP_MQES(n->cap) + 1u < QUEUE_ENTRIES) {
    cfg_write(n, PCI_COMMAND, n->saved_command);
    page_free(n->own, OWN_PAGES);
    free(n);
    return INITIATOR_ENODEV;
  }
  *out = (struct dma_initiator){
    .name = "nvme", .dev = d, .segment = d->segment, .rid = pci_rid(d),
    .max_len = DATA_PAGES * NVME_PAGE, .addr_bits = 64, .pasid_capable = false,
    .dma_read = nvme_dma_read, .dma_write = nvme_dma_write, .release = nvme_release, .priv = n,
    .own_phys = n->own_phys, .own_pages = OWN_PAGES, .set_own_iova = nvme_set_own_iova,
  };
  int err = nvme_disable(out, n); /* taken over: whatever the firmware left enabled stops */
  if (err) {
    nvme_release(out);
    return err;
  }
  return 0;
}
