/* NVMe command, completion and PRP encodings (iommu/initiator/nvme_cmd.c), checked against
 * the field layouts of the NVMe Base Specification 2.0 and the NVM Command Set 1.0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "iommu/initiator/nvme_cmd.h"

#define PG 4096u

static void prp_one_page(void **state)
{
  (void)state;
  uint64_t list[8], p1 = 1, p2 = 1;
  /* Whole first page, and a transfer ending exactly on the page boundary. */
  assert_int_equal(nvme_prp_build(0x200000, PG, PG, 0x9000, list, 8, &p1, &p2), 0);
  assert_int_equal(p1, 0x200000);
  assert_int_equal(p2, 0);
  assert_int_equal(nvme_prp_build(0x200a24, PG - 0xa24, PG, 0x9000, list, 8, &p1, &p2), 0);
  assert_int_equal(p1, 0x200a24);
  assert_int_equal(p2, 0);
}

static void prp_two_pages(void **state)
{
  (void)state;
  uint64_t list[8] = { 0 }, p1, p2;
  /* 3584 bytes from offset 0xa24 cross into the next page: PRP2 is that page, no list. */
  assert_int_equal(nvme_prp_build(0x7ffffffffa24ull, 3584, PG, 0x9000, list, 8, &p1, &p2), 0);
  assert_int_equal(p1, 0x7ffffffffa24ull);
  assert_int_equal(p2, 0x800000000000ull);
  assert_int_equal(list[0], 0);
  /* Two whole pages. */
  assert_int_equal(nvme_prp_build(0x10000, 2 * PG, PG, 0x9000, list, 8, &p1, &p2), 0);
  assert_int_equal(p2, 0x11000);
}

static void prp_list(void **state)
{
  (void)state;
  uint64_t list[8] = { 0 }, p1, p2;
  /* 16 KiB from offset 0x200: five pages, PRP2 -> list of the four after the first. */
  int n = nvme_prp_build(0x1000200, 4 * PG, PG, 0x1005000, list, 8, &p1, &p2);
  assert_int_equal(n, 4);
  assert_int_equal(p1, 0x1000200);
  assert_int_equal(p2, 0x1005000);
  for (int i = 0; i < 4; i++)
    assert_int_equal(list[i], 0x1001000 + (uint64_t)i * PG);
  /* Page-aligned 16 KiB: three list entries. */
  assert_int_equal(nvme_prp_build(0x40000, 4 * PG, PG, 0x1005000, list, 8, &p1, &p2), 3);
  assert_int_equal(list[2], 0x43000);
}

static void prp_errors(void **state)
{
  (void)state;
  uint64_t list[2], p1, p2;
  assert_int_equal(nvme_prp_build(0x1002, 512, PG, 0x9000, list, 2, &p1, &p2), NVME_CMD_EALIGN);
  assert_int_equal(nvme_prp_build(0x1000, 512, PG, 0x9004, list, 2, &p1, &p2), NVME_CMD_EALIGN);
  assert_int_equal(nvme_prp_build(0x1000, 0, PG, 0x9000, list, 2, &p1, &p2), NVME_CMD_ELEN);
  /* Four list entries wanted, room for two: no chaining, refused. */
  assert_int_equal(nvme_prp_build(0x1000, 5 * PG, PG, 0x9000, list, 2, &p1, &p2), NVME_CMD_ELEN);
}

static void admin_commands(void **state)
{
  (void)state;
  struct nvme_sqe s;
  nvme_sqe_identify(&s, 7, NVME_IDENTIFY_CNS_CTRL, 0, 0x123456789000ull);
  assert_int_equal(s.dw[0], 0x00070006);     /* CID 7, opcode 06h, PRPs */
  assert_int_equal(s.dw[1], 0);
  assert_int_equal(s.dw[6], 0x56789000);
  assert_int_equal(s.dw[7], 0x1234);
  assert_int_equal(s.dw[8] | s.dw[9], 0);
  assert_int_equal(s.dw[10], 1);             /* CNS */
  nvme_sqe_identify(&s, 8, NVME_IDENTIFY_CNS_NS, 1, 0x4000);
  assert_int_equal(s.dw[1], 1);
  assert_int_equal(s.dw[10], 0);
  nvme_sqe_set_num_queues(&s, 9, 1, 1);
  assert_int_equal(s.dw[0], 0x00090009);
  assert_int_equal(s.dw[10], 0x07);
  assert_int_equal(s.dw[11], 0);             /* NCQR = NSQR = 0: one each */
  nvme_sqe_create_cq(&s, 10, 1, 16, 0x1003000);
  assert_int_equal(s.dw[0], 0x000a0005);
  assert_int_equal(s.dw[6], 0x1003000);
  assert_int_equal(s.dw[10], 0x000f0001);    /* QSIZE 15, QID 1 */
  assert_int_equal(s.dw[11], 0x1);           /* PC, no interrupts */
  nvme_sqe_create_sq(&s, 11, 1, 16, 0x1002000, 1);
  assert_int_equal(s.dw[0], 0x000b0001);
  assert_int_equal(s.dw[10], 0x000f0001);
  assert_int_equal(s.dw[11], 0x00010001);    /* CQID 1, PC */
}

static void io_commands(void **state)
{
  (void)state;
  struct nvme_sqe s;
  assert_int_equal(nvme_sqe_rw(&s, NVME_IO_READ, 3, 1, 0x100000002ull, 7, 0x200a24, 0x201000), 0);
  assert_int_equal(s.dw[0], 0x00030002);
  assert_int_equal(s.dw[1], 1);
  assert_int_equal(s.dw[6], 0x200a24);
  assert_int_equal(s.dw[8], 0x201000);
  assert_int_equal(s.dw[10], 2);
  assert_int_equal(s.dw[11], 1);
  assert_int_equal(s.dw[12], 6);             /* NLB 0-based; LR, FUA, PRINFO clear */
  assert_int_equal(s.dw[13] | s.dw[14] | s.dw[15], 0);
  assert_int_equal(nvme_sqe_rw(&s, NVME_IO_COMPARE, 4, 1, 0, 65536, 0x1000, 0), 0);
  assert_int_equal(s.dw[0] & 0xff, 0x05);
  assert_int_equal(s.dw[12], 0xffff);
  assert_int_equal(nvme_sqe_rw(&s, NVME_IO_READ, 4, 1, 0, 0, 0x1000, 0), NVME_CMD_ELEN);
  assert_int_equal(nvme_sqe_rw(&s, NVME_IO_READ, 4, 1, 0, 65537, 0x1000, 0), NVME_CMD_ELEN);
}

static void media_changing_opcodes_refused(void **state)
{
  (void)state;
  /* Write 01h, Write Uncorrectable 04h, Write Zeroes 08h, Dataset Management 09h (deallocate),
   * Copy 19h, Flush 00h, and the rest: only Read 02h and Compare 05h pass. */
  for (unsigned op = 0; op < 256; op++) {
    struct nvme_sqe s;
    bool allowed = op == NVME_IO_READ || op == NVME_IO_COMPARE;
    assert_int_equal(nvme_io_opcode_allowed((uint8_t)op), allowed);
    assert_int_equal(nvme_sqe_rw(&s, (uint8_t)op, 1, 1, 0, 1, 0x1000, 0), allowed ? 0 : NVME_CMD_EOPCODE);
  }
  /* Admin: Format NVM 80h, Sanitize 84h, Firmware Commit 10h / Download 11h, Namespace
   * Management 0Dh, Delete queues, Abort...: only the four this driver needs pass. */
  for (unsigned op = 0; op < 256; op++)
    assert_int_equal(nvme_admin_opcode_allowed((uint8_t)op),
                     op == 0x01 || op == 0x05 || op == 0x06 || op == 0x09);
}

static void completion_and_registers(void **state)
{
  (void)state;
  struct nvme_cqe c = { { 0, 0, 0x00010003, 0 } };
  /* CID 5, phase 1, SCT 2h SC 85h (Compare Failure), DNR. */
  c.dw[3] = 5u | 1u << 16 | (0x85u | 0x2u << 8) << 17 | 1u << 31;
  assert_int_equal(nvme_cqe_cid(&c), 5);
  assert_int_equal(nvme_cqe_phase(&c), 1);
  assert_int_equal(nvme_cqe_sc(&c), NVME_SC_COMPARE_FAILURE);
  assert_int_equal(nvme_cqe_sct(&c), NVME_SCT_MEDIA);
  assert_int_equal(nvme_cqe_sqhd(&c), 3);
  char t[64];
  nvme_status_text(0, 4, t, sizeof(t));
  assert_string_equal(t, "SCT 0h SC 04h (Data Transfer Error)");
  nvme_status_text(2, 0x85, t, sizeof(t));
  assert_string_equal(t, "SCT 2h SC 85h (Compare Failure)");
  assert_int_equal(nvme_sq_doorbell(0, 0), 0x1000);
  assert_int_equal(nvme_cq_doorbell(0, 0), 0x1004);
  assert_int_equal(nvme_sq_doorbell(1, 0), 0x1008);
  assert_int_equal(nvme_cq_doorbell(1, 2), 0x1000 + 3 * 16);
  assert_int_equal(nvme_cc_enable(0), 0x00460001);
  assert_int_equal(nvme_aqa(16, 16), 0x000f000f);
}

static void namespace_format(void **state)
{
  (void)state;
  uint8_t ns[4096] = { 0 };
  uint32_t lba;
  uint16_t meta;
  ns[NVME_ID_NS_NLBAF] = 1;
  ns[NVME_ID_NS_FLBAS] = 1;
  ns[NVME_ID_NS_LBAF0 + 4 * 0 + 2] = 9;    /* format 0: 512 bytes */
  ns[NVME_ID_NS_LBAF0 + 4 * 1 + 2] = 12;   /* format 1: 4096 bytes, 8 metadata bytes */
  ns[NVME_ID_NS_LBAF0 + 4 * 1 + 0] = 8;
  nvme_id_ns_format(ns, &lba, &meta);
  assert_int_equal(lba, 4096);
  assert_int_equal(meta, 8);
  /* Upper index bits (FLBAS 6:5) count only with more than 16 formats. */
  ns[NVME_ID_NS_FLBAS] = 0x20;
  nvme_id_ns_format(ns, &lba, &meta);
  assert_int_equal(lba, 512);
  ns[NVME_ID_NS_NLBAF] = 17;
  ns[NVME_ID_NS_LBAF0 + 4 * 16 + 2] = 12;
  nvme_id_ns_format(ns, &lba, &meta);
  assert_int_equal(lba, 4096);
  assert_int_equal(meta, 0);
  ns[NVME_ID_NS_LBAF0 + 4 * 16 + 2] = 3; /* below 512 bytes: not a valid format */
  nvme_id_ns_format(ns, &lba, &meta);
  assert_int_equal(lba, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(prp_one_page),
    cmocka_unit_test(prp_two_pages),
    cmocka_unit_test(prp_list),
    cmocka_unit_test(prp_errors),
    cmocka_unit_test(admin_commands),
    cmocka_unit_test(io_commands),
    cmocka_unit_test(media_changing_opcodes_refused),
    cmocka_unit_test(completion_and_registers),
    cmocka_unit_test(namespace_format),
  };
  return cmocka_run_group_tests_name("nvme_cmd", tests, NULL, NULL);
}
