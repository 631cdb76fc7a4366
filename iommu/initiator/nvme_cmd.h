/* NVMe command, completion and PRP encoding (NVM Express Base Specification 2.0: 3.1.3
 * controller registers, 4.1 PRP entries and lists, 4.2 submission queue entry, 4.6
 * completion queue entry; 5 admin commands; NVM Command Set Specification 1.0: 3.2.1
 * Compare, 3.2.4 Read). Pure functions over memory, so host unit tests check every encoding.
 * Only the commands this project may issue have encoders: nothing here writes media. */
#ifndef IOMMU_INITIATOR_NVME_CMD_H
#define IOMMU_INITIATOR_NVME_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Controller registers (BAR0), base spec 3.1.3. */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30
#define NVME_REG_DOORBELLS 0x1000

#define NVME_CAP_MQES(cap) ((unsigned)((cap) & 0xffff))         /* 0-based */
#define NVME_CAP_TO(cap) ((unsigned)(((cap) >> 24) & 0xff))     /* 500 ms units */
#define NVME_CAP_DSTRD(cap) ((unsigned)(((cap) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(cap) ((((cap) >> 37) & 1) != 0)
#define NVME_CAP_MPSMIN(cap) ((unsigned)(((cap) >> 48) & 0xf))  /* 2^(12+n) bytes */
#define NVME_CAP_MPSMAX(cap) ((unsigned)(((cap) >> 52) & 0xf))

#define NVME_CC_EN 0x1u
#define NVME_CSTS_RDY 0x1u
#define NVME_CSTS_CFS 0x2u

/* Opcodes. Admin (base spec 5): */
#define NVME_ADMIN_DELETE_SQ 0x00
#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_DELETE_CQ 0x04
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_ADMIN_IDENTIFY 0x06
#define NVME_ADMIN_SET_FEATURES 0x09
/* NVM command set I/O: */
#define NVME_IO_READ 0x02
#define NVME_IO_COMPARE 0x05

#define NVME_IDENTIFY_CNS_NS 0x00
#define NVME_IDENTIFY_CNS_CTRL 0x01
#define NVME_FEAT_NUM_QUEUES 0x07

/* Identify Controller / Namespace fields this driver reads (byte offsets). */
#define NVME_ID_CTRL_MDTS 77
#define NVME_ID_CTRL_NN 516
#define NVME_ID_CTRL_ONCS 520
#define NVME_ONCS_COMPARE 0x1u
#define NVME_ID_NS_NSZE 0
#define NVME_ID_NS_NLBAF 25
#define NVME_ID_NS_FLBAS 26
#define NVME_ID_NS_LBAF0 128

struct nvme_sqe {
  uint32_t dw[16]; /* 64 bytes, little-endian dwords */
};
struct nvme_cqe {
  uint32_t dw[4];  /* 16 bytes */
};

/* Status: DW3 bits 31:17 (base spec 4.6.1). Generic SCT 0, media and data integrity SCT 2. */
#define NVME_SCT_GENERIC 0x0
#define NVME_SCT_MEDIA 0x2
#define NVME_SC_SUCCESS 0x00
#define NVME_SC_DATA_TRANSFER_ERROR 0x04
#define NVME_SC_COMPARE_FAILURE 0x85

static inline uint16_t nvme_cqe_cid(const struct nvme_cqe *c) { return (uint16_t)c->dw[3]; }
static inline unsigned nvme_cqe_phase(const struct nvme_cqe *c) { return (c->dw[3] >> 16) & 1; }
static inline unsigned nvme_cqe_sc(const struct nvme_cqe *c) { return (c->dw[3] >> 17) & 0xff; }
static inline unsigned nvme_cqe_sct(const struct nvme_cqe *c) { return (c->dw[3] >> 25) & 0x7; }
static inline uint16_t nvme_cqe_sqhd(const struct nvme_cqe *c) { return (uint16_t)c->dw[2]; }
/* "SCT 0h SC 04h (Data Transfer Error)" */
void nvme_status_text(unsigned sct, unsigned sc, char *buf, size_t len);

/* Doorbell offsets (base spec 3.1.3.x): SQ y tail at 1000h + (2y) * (4 << DSTRD), CQ y head at
 * 1000h + (2y + 1) * (4 << DSTRD). */
static inline uint32_t nvme_sq_doorbell(unsigned qid, unsigned dstrd)
{
  return NVME_REG_DOORBELLS + (2u * qid) * (4u << dstrd);
}
static inline uint32_t nvme_cq_doorbell(unsigned qid, unsigned dstrd)
{
  return NVME_REG_DOORBELLS + (2u * qid + 1u) * (4u << dstrd);
}

/* CC for enabling: NVM command set, memory page size 2^(12+mps_shift), round robin, 64-byte
 * SQ entries, 16-byte CQ entries (base spec 3.1.3.5). */
uint32_t nvme_cc_enable(unsigned mps_shift);
/* AQA: admin queue sizes (entries, 2..4096), 0-based in the register. */
uint32_t nvme_aqa(unsigned sq_entries, unsigned cq_entries);

enum nvme_cmd_err {
  NVME_CMD_EALIGN = -1,    /* a PRP address that is not dword aligned */
  NVME_CMD_ELEN = -2,      /* zero length, or more pages than one PRP list holds */
  NVME_CMD_EOPCODE = -3,   /* an opcode this project never issues */
};

/* PRP entries for len bytes at iova with memory page size page (base spec 4.1.1): PRP1 =
 * iova (any dword-aligned offset); PRP2 = 0 when the transfer stays in one page, the second
 * page when it ends there, otherwise list_iova, and the page addresses from the second page
 * on are stored in list[0..] (at most list_cap; one list page, no chaining). Returns the
 * number of list entries written (0 when no list) or a negative nvme_cmd_err. */
int nvme_prp_build(uint64_t iova, uint32_t len, uint32_t page, uint64_t list_iova, uint64_t *list,
                   unsigned list_cap, uint64_t *prp1, uint64_t *prp2);

/* Admin commands (CID in CDW0 31:16; PRP data pointers; PSDT 0). */
void nvme_sqe_identify(struct nvme_sqe *s, uint16_t cid, uint8_t cns, uint32_t nsid, uint64_t prp1);
/* Set Features, Number of Queues: n_sq / n_cq I/O queues wanted (1-based here). */
void nvme_sqe_set_num_queues(struct nvme_sqe *s, uint16_t cid, unsigned n_sq, unsigned n_cq);
/* Physically contiguous I/O CQ (interrupts off) / SQ (bound to cqid, priority 0). */
void nvme_sqe_create_cq(struct nvme_sqe *s, uint16_t cid, uint16_t qid, unsigned entries, uint64_t iova);
void nvme_sqe_create_sq(struct nvme_sqe *s, uint16_t cid, uint16_t qid, unsigned entries, uint64_t iova,
                        uint16_t cqid);

/* True only for the opcodes this driver may put on an I/O queue: Read and Compare. Write,
 * Write Zeroes, Write Uncorrectable, Dataset Management and the rest are refused. */
bool nvme_io_opcode_allowed(uint8_t opcode);
/* True only for the admin opcodes this driver issues: Identify, Set Features, Create I/O
 * SQ/CQ. Format NVM, Sanitize, firmware download/commit, namespace management are refused. */
bool nvme_admin_opcode_allowed(uint8_t opcode);
/* Read or Compare of nlb blocks from slba; NVME_CMD_EOPCODE for any other opcode, NVME_CMD_ELEN
 * for nlb 0 or above 65536. */
int nvme_sqe_rw(struct nvme_sqe *s, uint8_t opcode, uint16_t cid, uint32_t nsid, uint64_t slba,
                uint32_t nlb, uint64_t prp1, uint64_t prp2);

/* Identify Namespace: LBA data size of the format in use (bytes) and its metadata size. */
void nvme_id_ns_format(const uint8_t *id_ns, uint32_t *lba_bytes, uint16_t *meta_bytes);

#endif
