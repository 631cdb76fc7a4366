/* NVMe encodings (see nvme_cmd.h for the spec sections). */
#include "iommu/initiator/nvme_cmd.h"

#include <stdio.h>
#include <string.h>

static const char *status_name(unsigned sct, unsigned sc)
{
  if (sct == NVME_SCT_GENERIC) {
    switch (sc) {
    case 0x00: return "Successful Completion";
    case 0x01: return "Invalid Command Opcode";
    case 0x02: return "Invalid Field in Command";
    case 0x04: return "Data Transfer Error";
    case 0x06: return "Internal Error";
    case 0x0b: return "Invalid Namespace or Format";
    case 0x0f: return "Invalid SGL Segment Descriptor";
    case 0x13: return "PRP Offset Invalid";
    case 0x80: return "LBA Out of Range";
    }
  } else if (sct == 0x1) {
    switch (sc) {
    case 0x01: return "Invalid Queue Identifier";
    case 0x02: return "Invalid Queue Size";
    case 0x08: return "Invalid Queue Deletion";
    case 0x0d: return "Feature Not Changeable";
    }
  } else if (sct == NVME_SCT_MEDIA) {
    switch (sc) {
    case 0x80: return "Write Fault";
    case 0x81: return "Unrecovered Read Error";
    case 0x85: return "Compare Failure";
    case 0x86: return "Access Denied";
    }
  }
  return "unnamed status";
}

void nvme_status_text(unsigned sct, unsigned sc, char *buf, size_t len)
{
  snprintf(buf, len, "SCT %xh SC %02xh (%s)", sct & 7, sc & 0xff, status_name(sct, sc));
}

uint32_t nvme_cc_enable(unsigned mps_shift)
{
  /* EN bit 0, CSS 6:4 = 000b (NVM), MPS 10:7, AMS 13:11 = 0, SHN 15:14 = 0,
   * IOSQES 19:16 = 6 (64 bytes), IOCQES 23:20 = 4 (16 bytes). */
  return NVME_CC_EN | (mps_shift & 0xf) << 7 | 6u << 16 | 4u << 20;
}

uint32_t nvme_aqa(unsigned sq_entries, unsigned cq_entries)
{
  return ((cq_entries - 1) & 0xfff) << 16 | ((sq_entries - 1) & 0xfff);
}

int nvme_prp_build(uint64_t iova, uint32_t len, uint32_t page, uint64_t list_iova, uint64_t *list,
                   unsigned list_cap, uint64_t *prp1, uint64_t *prp2)
{
  if (iova & 3 || list_iova & 7)
    return NVME_CMD_EALIGN;
  if (len == 0 || page < 4096 || (page & (page - 1)))
    return NVME_CMD_ELEN;
  uint64_t first_page = iova & ~(uint64_t)(page - 1);
  uint64_t end = iova + len; /* one past the last byte */
  uint64_t pages = (end - first_page + page - 1) / page;
  *prp1 = iova;
  if (pages == 1) {
    *prp2 = 0;
    return 0;
  }
  if (pages == 2) {
    *prp2 = first_page + page;
    return 0;
  }
  uint64_t entries = pages - 1;
  /* One list page holds page / 8 entries; its last would have to chain to the next. */
  if (entries > list_cap || entries > page / 8)
    return NVME_CMD_ELEN;
  for (uint64_t i = 0; i < entries; i++)
    list[i] = first_page + (i + 1) * page;
  *prp2 = list_iova;
  return (int)entries;
}

static void sqe_init(struct nvme_sqe *s, uint8_t opcode, uint16_t cid, uint32_t nsid, uint64_t prp1,
                     uint64_t prp2)
{
  memset(s, 0, sizeof(*s));
  s->dw[0] = opcode | (uint32_t)cid << 16; /* FUSE 9:8 = 0, PSDT 15:14 = 0 (PRPs) */
  s->dw[1] = nsid;
  s->dw[6] = (uint32_t)prp1;
  s->dw[7] = (uint32_t)(prp1 >> 32);
  s->dw[8] = (uint32_t)prp2;
  s->dw[9] = (uint32_t)(prp2 >> 32);
}

void nvme_sqe_identify(struct nvme_sqe *s, uint16_t cid, uint8_t cns, uint32_t nsid, uint64_t prp1)
{
  sqe_init(s, NVME_ADMIN_IDENTIFY, cid, nsid, prp1, 0);
  s->dw[10] = cns;
}

void nvme_sqe_set_num_queues(struct nvme_sqe *s, uint16_t cid, unsigned n_sq, unsigned n_cq)
{
  sqe_init(s, NVME_ADMIN_SET_FEATURES, cid, 0, 0, 0);
  s->dw[10] = NVME_FEAT_NUM_QUEUES;                              /* SV = 0: not saved */
  s->dw[11] = ((n_cq - 1) & 0xffff) << 16 | ((n_sq - 1) & 0xffff); /* NCQR, NSQR 0-based */
}

void nvme_sqe_create_cq(struct nvme_sqe *s, uint16_t cid, uint16_t qid, unsigned entries, uint64_t iova)
{
  sqe_init(s, NVME_ADMIN_CREATE_CQ, cid, 0, iova, 0);
  s->dw[10] = ((entries - 1) & 0xffff) << 16 | qid; /* QSIZE 0-based, QID */
  s->dw[11] = 0x1;                                  /* PC = 1, IEN = 0, IV = 0 */
}

void nvme_sqe_create_sq(struct nvme_sqe *s, uint16_t cid, uint16_t qid, unsigned entries, uint64_t iova,
                        uint16_t cqid)
{
  sqe_init(s, NVME_ADMIN_CREATE_SQ, cid, 0, iova, 0);
  s->dw[10] = ((entries - 1) & 0xffff) << 16 | qid;
  s->dw[11] = (uint32_t)cqid << 16 | 0x1; /* CQID, QPRIO 0 (urgent; ignored under RR), PC = 1 */
}

bool nvme_io_opcode_allowed(uint8_t opcode)
{
  return opcode == NVME_IO_READ || opcode == NVME_IO_COMPARE;
}

bool nvme_admin_opcode_allowed(uint8_t opcode)
{
  return opcode == NVME_ADMIN_IDENTIFY || opcode == NVME_ADMIN_SET_FEATURES ||
         opcode == NVME_ADMIN_CREATE_SQ || opcode == NVME_ADMIN_CREATE_CQ;
}

int nvme_sqe_rw(struct nvme_sqe *s, uint8_t opcode, uint16_t cid, uint32_t nsid, uint64_t slba,
                uint32_t nlb, uint64_t prp1, uint64_t prp2)
{
  if (!nvme_io_opcode_allowed(opcode))
    return NVME_CMD_EOPCODE;
  if (nlb == 0 || nlb > 65536)
    return NVME_CMD_ELEN;
  sqe_init(s, opcode, cid, nsid, prp1, prp2);
  s->dw[10] = (uint32_t)slba;
  s->dw[11] = (uint32_t)(slba >> 32);
  s->dw[12] = (nlb - 1) & 0xffff; /* NLB 0-based; LR, FUA, PRINFO all 0 */
  return 0;
}

void nvme_id_ns_format(const uint8_t *id_ns, uint32_t *lba_bytes, uint16_t *meta_bytes)
{
  uint8_t flbas = id_ns[NVME_ID_NS_FLBAS];
  /* FLBAS bits 3:0 index the format; bits 6:5 are its upper bits when NLBAF > 16. */
  unsigned index = (flbas & 0xfu) | (id_ns[NVME_ID_NS_NLBAF] >= 16 ? ((flbas >> 5) & 3u) << 4 : 0);
  const uint8_t *f = id_ns + NVME_ID_NS_LBAF0 + 4 * index;
  uint32_t lbaf = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
  unsigned lbads = (lbaf >> 16) & 0xff;
  *meta_bytes = (uint16_t)lbaf;
  *lba_bytes = lbads >= 9 && lbads < 32 ? 1u << lbads : 0;
}
