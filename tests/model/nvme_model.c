/* Model NVMe controller (see nvme_model.h). Commands run when their submission queue's tail
 * doorbell is written, in order, to completion. Every memory access goes upstream through the
 * model bus in requests that do not cross 4 KiB. A queue entry that cannot be fetched, or a
 * completion that cannot be posted, sets CSTS.CFS: the specification leaves errors that
 * cannot be reported in a completion to Controller Fatal Status. Data or PRP-list accesses
 * that fail end the command with Data Transfer Error (SCT 0h SC 04h). The medium is never
 * written: the model implements no command that writes it. */
#include "tests/model/nvme_model.h"

#include <stdlib.h>
#include <string.h>

#include "arch/host/arch_host.h"

#define PCI_COMMAND_MEMORY 0x2u
#define PCI_COMMAND_MASTER 0x4u
#define NM_PAGE 4096u
#define NM_LBA 512u
#define NM_QUEUES 2u             /* admin and one I/O queue pair */
#define NM_MQES 63u

/* Status as written to CQE DW3 31:17, SCT << 8 | SC. */
#define ST_OK 0x000u
#define ST_INVALID_OPCODE 0x001u
#define ST_INVALID_FIELD 0x002u
#define ST_DATA_TRANSFER 0x004u
#define ST_INVALID_NS 0x00bu
#define ST_LBA_RANGE 0x080u
#define ST_INVALID_QID 0x101u
#define ST_INVALID_QSIZE 0x102u
#define ST_COMPARE_FAILURE 0x285u

struct nm_sq {
  bool live;
  uint64_t base;
  uint16_t size, head, tail, cqid;
};

struct nm_cq {
  bool live;
  uint64_t base;
  uint16_t size, tail;
  unsigned phase;
};

struct nvme_model {
  struct nvme_model_params p;
  struct model_bus up;
  struct model_pci_fn pci;
  uint32_t cc, csts, aqa;
  uint64_t asq, acq;
  struct nm_sq sq[NM_QUEUES];
  struct nm_cq cq[NM_QUEUES];
  uint8_t *media;
};

static uint16_t command(const struct nvme_model *m) { return (uint16_t)model_pci_rd(&m->pci, 0x04, 2); }

static bool decoding(const struct nvme_model *m)
{
  uint64_t bar = (model_pci_rd(&m->pci, 0x10, 4) & ~0xfull) | (uint64_t)model_pci_rd(&m->pci, 0x14, 4) << 32;
  return (command(m) & PCI_COMMAND_MEMORY) && bar == m->p.bar;
}

uint16_t nvme_model_rid(const struct nvme_model *m)
{
  return (uint16_t)(m->p.bus << 8 | m->p.dev << 3 | m->p.fn);
}

/* One memory access of any length, split at 4 KiB; nothing is issued without Bus Master. */
static bool mem(struct nvme_model *m, uint64_t addr, void *data, uint32_t len, bool write)
{
  if (!(command(m) & PCI_COMMAND_MASTER))
    return false;
  uint8_t *p = data;
  while (len) {
    uint32_t chunk = NM_PAGE - (uint32_t)(addr & (NM_PAGE - 1));
    if (chunk > len)
      chunk = len;
    struct model_dma_req req = { .sid = nvme_model_rid(m), .addr = addr, .len = chunk, .write = write };
    if (m->up.dma(m->up.ctx, &req, p) != MODEL_DMA_OK)
      return false;
    addr += chunk;
    p += chunk;
    len -= chunk;
  }
  return true;
}

static void put32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* The data pointer of a command as (address, length) pieces (base spec 4.1.1): PRP1 with its
 * offset, then PRP2 as the second page or as a list of page addresses read from memory. */
struct piece {
  uint64_t addr;
  uint32_t len;
};
#define NM_MAX_PIECES 33u

static unsigned prp_pieces(struct nvme_model *m, uint64_t prp1, uint64_t prp2, uint32_t len,
                           struct piece *out, unsigned *status)
{
  *status = ST_OK;
  if (prp1 & 3) {
    *status = ST_INVALID_FIELD;
    return 0;
  }
  uint32_t first = NM_PAGE - (uint32_t)(prp1 & (NM_PAGE - 1));
  if (first > len)
    first = len;
  unsigned n = 0;
  out[n++] = (struct piece){ prp1, first };
  uint32_t left = len - first;
  if (left == 0)
    return n;
  if (left <= NM_PAGE) {
    out[n++] = (struct piece){ prp2 & ~(uint64_t)(NM_PAGE - 1), left };
    return n;
  }
  /* A list: entries from prp2 to the end of its page (no chaining in this model). */
  unsigned entries = (left + NM_PAGE - 1) / NM_PAGE;
  if (prp2 & 7 || entries + 1 > NM_MAX_PIECES ||
      entries > (NM_PAGE - (prp2 & (NM_PAGE - 1))) / 8) {
    *status = ST_INVALID_FIELD;
    return 0;
  }
  uint64_t list[NM_MAX_PIECES];
  if (!mem(m, prp2, list, entries * 8, false)) {
    *status = ST_DATA_TRANSFER;
    return 0;
  }
  for (unsigned i = 0; i < entries; i++) {
    uint32_t piece = left < NM_PAGE ? left : NM_PAGE;
    out[n++] = (struct piece){ list[i] & ~(uint64_t)(NM_PAGE - 1), piece };
    left -= piece;
  }
  return n;
}

static unsigned identify(struct nvme_model *m, const uint32_t *dw)
{
  uint8_t page[NM_PAGE];
  memset(page, 0, sizeof(page));
  uint32_t cns = dw[10] & 0xff, nsid = dw[1];
  if (cns == 0x01) {
    page[0] = 0x36, page[1] = 0x1b;         /* VID */
    memcpy(page + 4, "BAREIOMMU-MODEL     ", 20);
    page[77] = 5;                           /* MDTS: 2^5 minimum pages */
    page[512] = 0x66, page[513] = 0x44;     /* SQES, CQES */
    put32(page + 516, 1);                   /* NN */
    page[520] = m->p.compare ? 0x01 : 0x00; /* ONCS */
  } else if (cns == 0x00) {
    if (nsid != 1)
      return ST_INVALID_NS;
    uint32_t lbas = m->p.media_bytes / NM_LBA;
    put32(page + 0, lbas);                  /* NSZE, NCAP, NUSE */
    put32(page + 8, lbas);
    put32(page + 16, lbas);
    page[25] = 0;                           /* NLBAF: one format */
    page[26] = 0;                           /* FLBAS: format 0 */
    page[128 + 2] = 9;                      /* LBAF0: LBADS 9, MS 0 */
  } else {
    return ST_INVALID_FIELD;
  }
  struct piece pc[NM_MAX_PIECES];
  unsigned st, n = prp_pieces(m, (uint64_t)dw[7] << 32 | dw[6], (uint64_t)dw[9] << 32 | dw[8], NM_PAGE, pc, &st);
  uint32_t off = 0;
  for (unsigned i = 0; i < n && st == ST_OK; i++) {
    if (!mem(m, pc[i].addr, page + off, pc[i].len, true))
      st = ST_DATA_TRANSFER;
    off += pc[i].len;
  }
  return st;
}

static unsigned create_queue(struct nvme_model *m, const uint32_t *dw, bool sq)
{
  unsigned qid = dw[10] & 0xffff, size = (dw[10] >> 16) + 1;
  if (qid == 0 || qid >= NM_QUEUES || (sq ? m->sq[qid].live : m->cq[qid].live))
    return ST_INVALID_QID;
  if (size < 2 || size > NM_MQES + 1)
    return ST_INVALID_QSIZE;
  if (!(dw[11] & 1))
    return ST_INVALID_FIELD;              /* CAP.CQR: contiguous queues only */
  uint64_t base = ((uint64_t)dw[7] << 32 | dw[6]) & ~(uint64_t)(NM_PAGE - 1);
  if (sq) {
    unsigned cqid = dw[11] >> 16;
    if (cqid >= NM_QUEUES || !m->cq[cqid].live)
      return 0x100;                       /* Completion Queue Invalid */
    m->sq[qid] = (struct nm_sq){ .live = true, .base = base, .size = (uint16_t)size, .cqid = (uint16_t)cqid };
  } else {
    m->cq[qid] = (struct nm_cq){ .live = true, .base = base, .size = (uint16_t)size, .phase = 1 };
  }
  return ST_OK;
}

static unsigned read_or_compare(struct nvme_model *m, const uint32_t *dw, bool compare)
{
  if (dw[1] != 1)
    return ST_INVALID_NS;
  uint64_t slba = (uint64_t)dw[11] << 32 | dw[10];
  uint32_t nlb = (dw[12] & 0xffff) + 1, len = nlb * NM_LBA;
  if (slba + nlb > m->p.media_bytes / NM_LBA)
    return ST_LBA_RANGE;
  if (len > (NM_PAGE << 5))
    return ST_INVALID_FIELD;              /* beyond MDTS */
  struct piece pc[NM_MAX_PIECES];
  unsigned st, n = prp_pieces(m, (uint64_t)dw[7] << 32 | dw[6], (uint64_t)dw[9] << 32 | dw[8], len, pc, &st);
  const uint8_t *media = m->media + slba * NM_LBA;
  bool differs = false;
  uint8_t buf[NM_PAGE];
  for (unsigned i = 0; i < n && st == ST_OK; i++) {
    if (compare) {
      if (!mem(m, pc[i].addr, buf, pc[i].len, false))
        st = ST_DATA_TRANSFER;
      else
        differs = differs || memcmp(buf, media, pc[i].len) != 0;
    } else {
      memcpy(buf, media, pc[i].len);
      if (!mem(m, pc[i].addr, buf, pc[i].len, true))
        st = ST_DATA_TRANSFER;
    }
    media += pc[i].len;
  }
  return st == ST_OK && differs ? ST_COMPARE_FAILURE : st;
}

static unsigned execute(struct nvme_model *m, unsigned qid, const uint32_t *dw)
{
  uint8_t opcode = (uint8_t)dw[0];
  if (qid == 0) {
    switch (opcode) {
    case 0x06: return identify(m, dw);
    case 0x09: return (dw[10] & 0xff) == 0x07 ? ST_OK : ST_INVALID_FIELD; /* Number of Queues */
    case 0x05: return create_queue(m, dw, false);
    case 0x01: return create_queue(m, dw, true);
    default: return ST_INVALID_OPCODE;
    }
  }
  switch (opcode) {
  case 0x02: return read_or_compare(m, dw, false);
  case 0x05: return m->p.compare ? read_or_compare(m, dw, true) : ST_INVALID_OPCODE;
  default: return ST_INVALID_OPCODE; /* Write and every other media command: not in this model */
  }
}

static void run_queue(struct nvme_model *m, unsigned qid)
{
  struct nm_sq *sq = &m->sq[qid];
  while (sq->head != sq->tail && !(m->csts & 0x2)) {
    uint32_t dw[16];
    if (!mem(m, sq->base + (uint64_t)sq->head * 64, dw, sizeof(dw), false)) {
      m->csts |= 0x2;                      /* CFS: the command could not be fetched */
      return;
    }
    sq->head = (uint16_t)((sq->head + 1) % sq->size);
    unsigned st = execute(m, qid, dw);
    struct nm_cq *cq = &m->cq[sq->cqid];
    uint32_t cqe[4] = { 0, 0, sq->head | qid << 16,
                        (dw[0] >> 16) | cq->phase << 16 | (uint32_t)st << 17 };
    if (!mem(m, cq->base + (uint64_t)cq->tail * 16, cqe, sizeof(cqe), true)) {
      m->csts |= 0x2;                      /* CFS: the completion could not be posted */
      return;
    }
    cq->tail = (uint16_t)((cq->tail + 1) % cq->size);
    if (cq->tail == 0)
      cq->phase ^= 1;
  }
}

static void reset(struct nvme_model *m)
{
  memset(m->sq, 0, sizeof(m->sq));
  memset(m->cq, 0, sizeof(m->cq));
  m->csts = 0;
}

static void write_cc(struct nvme_model *m, uint32_t v)
{
  bool was = m->cc & 1, en = v & 1;
  m->cc = v;
  if (was && !en) {
    reset(m);
  } else if (!was && en) {
    unsigned mps = (v >> 7) & 0xf, iosqes = (v >> 16) & 0xf, iocqes = (v >> 20) & 0xf;
    unsigned sqs = (m->aqa & 0xfff) + 1, cqs = ((m->aqa >> 16) & 0xfff) + 1;
    if (mps != 0 || (v >> 4 & 7) != 0 || iosqes != 6 || iocqes != 4 || sqs < 2 || cqs < 2 ||
        (m->asq | m->acq) & (NM_PAGE - 1)) {
      m->csts = 0x2;                       /* an invalid configuration: fatal */
      return;
    }
    m->sq[0] = (struct nm_sq){ .live = true, .base = m->asq, .size = (uint16_t)sqs };
    m->cq[0] = (struct nm_cq){ .live = true, .base = m->acq, .size = (uint16_t)cqs, .phase = 1 };
    m->csts = 0x1;                         /* RDY at once */
  }
}

static uint32_t rd32(struct nvme_model *m, unsigned off)
{
  /* CAP: MQES, CQR, TO = 1 (500 ms), DSTRD 0, CSS NVM, MPSMIN = MPSMAX = 0 (4 KiB). */
  uint64_t cap = NM_MQES | 1ull << 16 | 1ull << 24 | 1ull << 37;
  switch (off) {
  case 0x00: return (uint32_t)cap;
  case 0x04: return (uint32_t)(cap >> 32);
  case 0x08: return 0x00020000;            /* VS 2.0 */
  case 0x14: return m->cc;
  case 0x1c: return m->csts;
  case 0x24: return m->aqa;
  case 0x28: return (uint32_t)m->asq;
  case 0x2c: return (uint32_t)(m->asq >> 32);
  case 0x30: return (uint32_t)m->acq;
  case 0x34: return (uint32_t)(m->acq >> 32);
  default: return 0;
  }
}

static void wr32(struct nvme_model *m, unsigned off, uint32_t v)
{
  bool enabled = m->cc & 1;
  switch (off) {
  case 0x14: write_cc(m, v); return;
  case 0x24: if (!enabled) m->aqa = v & 0x0fff0fff; return;
  case 0x28: if (!enabled) m->asq = (m->asq & ~0xffffffffull) | v; return;
  case 0x2c: if (!enabled) m->asq = (m->asq & 0xffffffffull) | (uint64_t)v << 32; return;
  case 0x30: if (!enabled) m->acq = (m->acq & ~0xffffffffull) | v; return;
  case 0x34: if (!enabled) m->acq = (m->acq & 0xffffffffull) | (uint64_t)v << 32; return;
  default: break;
  }
  if (off >= 0x1000 && off < 0x1000 + 8 * NM_QUEUES && (m->csts & 1)) {
    unsigned qid = (off - 0x1000) / 8;
    if ((off & 4) == 0 && m->sq[qid].live && v < m->sq[qid].size) {
      m->sq[qid].tail = (uint16_t)v;
      run_queue(m, qid);
    }
    /* CQ head doorbells: entries are consumed; this model never fills a queue. */
  }
}

static uint64_t bar_read(void *ctx, uint64_t off, unsigned width)
{
  struct nvme_model *m = ctx;
  if (!decoding(m) || (width != 4 && width != 8) || (off & (width - 1)))
    return width >= 8 ? ~0ull : (1ull << (8 * width)) - 1;
  uint64_t v = rd32(m, (unsigned)off);
  if (width == 8)
    v |= (uint64_t)rd32(m, (unsigned)off + 4) << 32;
  return v;
}

static void bar_write(void *ctx, uint64_t off, unsigned width, uint64_t v)
{
  struct nvme_model *m = ctx;
  if (!decoding(m) || (width != 4 && width != 8) || (off & (width - 1)))
    return;
  wr32(m, (unsigned)off, (uint32_t)v);
  if (width == 8)
    wr32(m, (unsigned)off + 4, (uint32_t)(v >> 32));
}

struct nvme_model *nvme_model_create(const struct nvme_model_params *p, struct model_bus upstream)
{
  struct nvme_model *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  m->p = *p;
  m->up = upstream;
  m->media = malloc(p->media_bytes);
  if (m->media == NULL) {
    free(m);
    return NULL;
  }
  uint32_t x = 0x9e3779b9u; /* a fixed, varied medium */
  for (uint32_t i = 0; i < p->media_bytes; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    m->media[i] = (uint8_t)x;
  }
  struct model_pci_fn *f = &m->pci;
  model_pci_fn_init(f, p->bus, p->dev, p->fn, 0x1b36, 0x0bae, 0x010802, 0);
  model_pci_fn_bar64(f, 0, p->bar, NVME_MODEL_BAR_SIZE);
  uint8_t pcie[58] = { 0x02, 0x00 };      /* PCI Express capability v2, endpoint */
  model_pci_fn_cap(f, 0x10, pcie, sizeof(pcie));
  return m;
}

void nvme_model_destroy(struct nvme_model *m)
{
  if (m == NULL)
    return;
  free(m->media);
  free(m);
}

struct model_pci_fn *nvme_model_pci(struct nvme_model *m) { return &m->pci; }

int nvme_model_register(struct nvme_model *m)
{
  struct host_mmio_region r = { m->p.bar, NVME_MODEL_BAR_SIZE, bar_read, bar_write, m };
  return host_mmio_register(&r);
}
