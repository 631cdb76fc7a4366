/* SMMUv3 queues and global errors: the command queue with CMD_SYNC completion (3.5, 4.7.3),
 * producer/consumer wrap handling, command errors (7.1), the event queue (7.2 - 7.4) and
 * GERROR/GERRORN (7.5). Every wait is bounded by arch_poll. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/report.h"
#include "iommu/smmuv3/smmu_internal.h"

/* ---- queue index arithmetic: index in the low log2 bits, wrap flag just above ---- */
static uint32_t q_mask(unsigned log2) { return (2u << log2) - 1; }
static uint32_t q_index(uint32_t v, unsigned log2) { return v & ((1u << log2) - 1); }
static uint32_t q_inc(uint32_t v, unsigned log2) { return (v + 1) & q_mask(log2); }
static bool q_empty(uint32_t prod, uint32_t cons, unsigned log2)
{
  return ((prod ^ cons) & q_mask(log2)) == 0;
}
static bool q_full(uint32_t prod, uint32_t cons, unsigned log2)
{
  return ((prod ^ cons) & q_mask(log2)) == (1u << log2); /* same index, wrap flags differ */
}

/* ---- control registers with acknowledgement ---- */
struct reg_wait {
  const struct smmu_unit *s;
  unsigned off;
  uint32_t mask, want;
};

static bool reg_matches(void *p)
{
  const struct reg_wait *w = p;
  return (mmio_read32(w->s->base + w->off) & w->mask) == w->want;
}

static int wait_reg(const struct smmu_unit *s, unsigned off, uint32_t mask, uint32_t want)
{
  struct reg_wait w = { s, off, mask, want };
  return arch_poll(reg_matches, &w, SMMU_TIMEOUT_US) ? IOMMU_OK : IOMMU_ETIMEDOUT;
}

int smmu_write_cr0(struct smmu_unit *s, uint32_t val)
{
  mmio_write32(s->base + SMMU_CR0, val);
  /* CR0ACK reflects SMMUEN, PRIQEN, EVENTQEN, CMDQEN, ATSCHK and VMW once they took effect. */
  return wait_reg(s, SMMU_CR0ACK, 0x1dfu, val & 0x1dfu);
}

int smmu_write_gbpa(struct smmu_unit *s, uint32_t val)
{
  /* 6.3.14.1: wait for a previous update, write with Update = 1, wait for Update = 0. */
  int err = wait_reg(s, SMMU_GBPA, SMMU_GBPA_UPDATE, 0);
  if (err)
    return err;
  mmio_write32(s->base + SMMU_GBPA, (val & ~SMMU_GBPA_UPDATE) | SMMU_GBPA_UPDATE);
  return wait_reg(s, SMMU_GBPA, SMMU_GBPA_UPDATE, 0);
}

int smmu_write_irq_ctrl(struct smmu_unit *s, uint32_t val)
{
  mmio_write32(s->base + SMMU_IRQ_CTRL, val);
  return wait_reg(s, SMMU_IRQ_CTRLACK, 0x7u, val & 0x7u);
}

uint32_t smmu_gerror_active(const struct smmu_unit *s)
{
  return (mmio_read32(s->base + SMMU_GERROR) ^ mmio_read32(s->base + SMMU_GERRORN)) & SMMU_GERROR_MASK;
}

void smmu_gerror_ack(struct smmu_unit *s, uint32_t bits)
{
  /* Toggle only errors that are active (toggling an inactive one is UNPREDICTABLE). */
  bits &= smmu_gerror_active(s);
  if (bits)
    mmio_write32(s->base + SMMU_GERRORN, mmio_read32(s->base + SMMU_GERRORN) ^ bits);
}

/* ---- command queue ---- */
static uint32_t cmdq_cons(const struct smmu_unit *s) { return mmio_read32(s->base + SMMU_CMDQ_CONS); }

static bool cmdq_error(const struct smmu_unit *s)
{
  return (smmu_gerror_active(s) & SMMU_GERROR_CMDQ_ERR) != 0;
}

/* 7.1: CONS stays on the bad command; replace it by a CMD_SYNC without signal (a no-op that
 * keeps later commands ordered), then acknowledge CMDQ_ERR so consumption restarts there. */
static void cmdq_recover(struct smmu_unit *s)
{
  uint32_t cons = cmdq_cons(s);
  uint64_t *slot = s->cmdq + 2 * q_index(cons, s->cmdq_log2);
  s->last_cerror = SMMU_CMDQ_CONS_ERR(cons);
  s->last_bad_opcode = (unsigned)(slot[0] & 0xff);
  s->cmd_errors++;
  uint64_t nop[2];
  smmu_cmd_sync(nop, SMMU_CMD_SYNC_CS_NONE, 0, 0, 0, 0);
  memcpy(slot, nop, sizeof(nop));
  smmu_sync_mem(s->coherent, slot, sizeof(nop));
  smmu_gerror_ack(s, SMMU_GERROR_CMDQ_ERR);
}

static bool has_space_or_error(void *p)
{
  const struct smmu_unit *s = p;
  return !q_full(s->cmdq_prod, cmdq_cons(s), s->cmdq_log2) || cmdq_error(s);
}

#define SMMU_CMDQ_MAX_RECOVERIES 8

static int put_cmd(struct smmu_unit *s, const uint64_t c[2], bool *had_error)
{
  if (q_full(s->cmdq_prod, cmdq_cons(s), s->cmdq_log2)) {
    /* Publish what is queued so the SMMU can make room, then wait for it. */
    arch_mb();
    mmio_write32(s->base + SMMU_CMDQ_PROD, s->cmdq_prod);
    /* Bounded: an SMMU that raises a command error again after every recovery ends in a
     * named error, not a loop. */
    for (unsigned recoveries = 0;; recoveries++) {
      if (!arch_poll(has_space_or_error, s, SMMU_TIMEOUT_US))
        return IOMMU_ETIMEDOUT;
      if (!cmdq_error(s))
        break;
      if (recoveries == SMMU_CMDQ_MAX_RECOVERIES)
        return IOMMU_EBADREG;
      cmdq_recover(s);
      *had_error = true;
    }
  }
  uint64_t *slot = s->cmdq + 2 * q_index(s->cmdq_prod, s->cmdq_log2);
  slot[0] = c[0];
  slot[1] = c[1];
  smmu_sync_mem(s->coherent, slot, 16);
  s->cmdq_prod = q_inc(s->cmdq_prod, s->cmdq_log2);
  if (q_index(s->cmdq_prod, s->cmdq_log2) == 0)
    s->cmdq_wraps++;
  s->cmds_issued++;
  return IOMMU_OK;
}

static bool sync_done_or_error(void *p)
{
  const struct smmu_unit *s = p;
  if (s->msi_sync ? *s->sync_word == s->sync_seq : q_empty(s->cmdq_prod, cmdq_cons(s), s->cmdq_log2))
    return true;
  return cmdq_error(s);
}

static bool sync_done(const struct smmu_unit *s)
{
  return s->msi_sync ? *s->sync_word == s->sync_seq : q_empty(s->cmdq_prod, cmdq_cons(s), s->cmdq_log2);
}

/* Waits for the last CMD_SYNC; command errors on the way are recovered and reported. */
static int wait_sync(struct smmu_unit *s, bool *had_error)
{
  for (unsigned rounds = 0; rounds <= (1u << s->cmdq_log2); rounds++) {
    if (!arch_poll(sync_done_or_error, s, SMMU_TIMEOUT_US))
      return IOMMU_ETIMEDOUT;
    if (sync_done(s))
      return IOMMU_OK;
    cmdq_recover(s);
    *had_error = true;
  }
  return IOMMU_ETIMEDOUT;
}

int smmu_cmdq_submit(struct smmu_unit *s, const uint64_t (*cmds)[2], unsigned n)
{
  if (s->cmdq == NULL)
    return IOMMU_ENODEV;
  bool had_error = false;
  for (unsigned i = 0; i < n; i++) {
    int err = put_cmd(s, cmds[i], &had_error);
    if (err)
      return err;
  }
  uint64_t sync[2];
  s->sync_seq++;
  if (s->msi_sync) /* SIG_IRQ with an MSI to memory: the SMMU writes sync_seq when done */
    smmu_cmd_sync(sync, SMMU_CMD_SYNC_CS_IRQ, s->sync_seq, s->sync_phys, SMMU_SH_ISH, SMMU_S2_MEMATTR_WB);
  else          /* no signal: completion is CONS passing the CMD_SYNC */
    smmu_cmd_sync(sync, SMMU_CMD_SYNC_CS_NONE, 0, 0, 0, 0);
  int err = put_cmd(s, sync, &had_error);
  if (err)
    return err;
  arch_mb();
  mmio_write32(s->base + SMMU_CMDQ_PROD, s->cmdq_prod);
  err = wait_sync(s, &had_error);
  if (err)
    return err;
  return had_error ? IOMMU_EBADREG : IOMMU_OK;
}

int smmu_cmdq_sync(struct smmu_unit *s) { return smmu_cmdq_submit(s, NULL, 0); }

int smmu_cmd1(struct smmu_unit *s, const uint64_t c[2])
{
  return smmu_cmdq_submit(s, (const uint64_t(*)[2])c, 1);
}

int smmu_queue_wait_test(struct smmu_unit *s, char *why, size_t len)
{
  uint32_t prod0 = s->cmdq_prod, wraps0 = s->cmdq_wraps;
  uint64_t t0 = arch_time_us();
  int err = smmu_cmdq_sync(s);
  uint64_t dt = arch_time_us() - t0;
  uint32_t cons = cmdq_cons(s);
  if (err) {
    snprintf(why, len, "CMD_SYNC at PROD 0x%x not completed: %s (CONS 0x%x, GERROR active 0x%x)", prod0,
             iommu_strerror(err), cons, smmu_gerror_active(s));
    return err;
  }
  char how[96];
  if (s->msi_sync)
    snprintf(how, sizeof(how), "the MSI write of its sequence number to memory");
  else
    snprintf(how, sizeof(how), "CMDQ_CONS passing it (IDR0.MSI=%u COHACC=%u: no MSI write)",
             (unsigned)SMMU_IDR0_MSI(s->idr[0]), (unsigned)SMMU_IDR0_COHACC(s->idr[0]));
  /* Wrap and full-queue handling: more commands in one batch than the queue holds. */
  unsigned batch = (1u << s->cmdq_log2) + 5;
  uint64_t nops[64][2];
  if (batch > 64)
    batch = 64;
  for (unsigned i = 0; i < batch; i++)
    smmu_cmd_sync(nops[i], SMMU_CMD_SYNC_CS_NONE, 0, 0, 0, 0);
  err = smmu_cmdq_submit(s, (const uint64_t(*)[2])nops, batch);
  uint32_t prod = mmio_read32(s->base + SMMU_CMDQ_PROD);
  cons = cmdq_cons(s);
  if (err || !q_empty(prod, cons, s->cmdq_log2) || prod != s->cmdq_prod) {
    snprintf(why, len, "a batch of %u commands through a %u-entry queue: %s, PROD 0x%x CONS 0x%x",
             batch + 1, 1u << s->cmdq_log2, err ? iommu_strerror(err) : "queue not drained", prod, cons);
    return err ? err : IOMMU_EBADREG;
  }
  snprintf(why, len, "CMD_SYNC done in %llu us, seen by %s; %u commands through the %u-entry "
           "queue (filled, refilled, wrapped %u time(s)): PROD 0x%x == CONS 0x%x",
           (unsigned long long)dt, how, batch + 1, 1u << s->cmdq_log2, s->cmdq_wraps - wraps0, prod,
           cons & q_mask(s->cmdq_log2));
  return IOMMU_OK;
}

static bool cmdq_err_set(void *p) { return cmdq_error(p); }

/* queue.error (7.1): a reserved opcode must stop consumption with CMDQ_CONS.ERR = CERROR_ILL,
 * CONS on the bad slot and GERROR.CMDQ_ERR active; after replacing the command and toggling
 * GERRORN the queue must resume and a further CMD_SYNC complete. */
int smmu_queue_error_test(struct smmu_unit *s, char *why, size_t len)
{
  bool had_error = false;
  uint64_t bad[2], sync[2];
  smmu_cmd_reserved(bad);
  unsigned bad_slot = q_index(s->cmdq_prod, s->cmdq_log2);
  uint32_t bad_pos = s->cmdq_prod & q_mask(s->cmdq_log2);
  int err = put_cmd(s, bad, &had_error);
  s->sync_seq++;
  if (s->msi_sync)
    smmu_cmd_sync(sync, SMMU_CMD_SYNC_CS_IRQ, s->sync_seq, s->sync_phys, SMMU_SH_ISH, SMMU_S2_MEMATTR_WB);
  else
    smmu_cmd_sync(sync, SMMU_CMD_SYNC_CS_NONE, 0, 0, 0, 0);
  if (!err)
    err = put_cmd(s, sync, &had_error);
  if (err) {
    snprintf(why, len, "could not queue the test commands: %s", iommu_strerror(err));
    return err;
  }
  arch_mb();
  mmio_write32(s->base + SMMU_CMDQ_PROD, s->cmdq_prod);
  if (!arch_poll(cmdq_err_set, s, SMMU_TIMEOUT_US)) {
    snprintf(why, len, "reserved opcode 0x00 at slot %u: no GERROR.CMDQ_ERR within %u us (CONS 0x%x)",
             bad_slot, SMMU_TIMEOUT_US, cmdq_cons(s));
    wait_sync(s, &had_error);
    return IOMMU_ETIMEDOUT;
  }
  uint32_t cons = cmdq_cons(s);
  unsigned cerror = SMMU_CMDQ_CONS_ERR(cons);
  bool at_bad = (cons & q_mask(s->cmdq_log2)) == bad_pos;
  unsigned errors_before = s->cmd_errors;
  cmdq_recover(s); /* rewrite the slot as CMD_SYNC, toggle GERRORN.CMDQ_ERR */
  bool resumed = wait_sync(s, &had_error) == IOMMU_OK && s->cmd_errors == errors_before + 1;
  bool cleared = !cmdq_error(s);
  err = resumed ? smmu_cmdq_sync(s) : IOMMU_ETIMEDOUT;
  struct subconds sc = { "", "" };
  subcond(&sc, "error-reported", cerror == SMMU_CERROR_ILL); /* GERROR.CMDQ_ERR seen above */
  subcond(&sc, "stopped-at-bad", at_bad);
  subcond(&sc, "resumed", resumed);
  subcond(&sc, "error-cleared", cleared);
  subcond(&sc, "next-completed", !err);
  snprintf(why, len, "reserved opcode 0x00 at slot %u: GERROR.CMDQ_ERR active, CMDQ_CONS.ERR %u (%s), "
           "CONS %s the bad slot; after rewrite as CMD_SYNC + GERRORN toggle: queue %s, CMDQ_ERR %s, "
           "next CMD_SYNC %s", bad_slot, cerror, smmu_cerror_name(cerror), at_bad ? "on" : "NOT on",
           resumed ? "resumed" : "STUCK", cleared ? "inactive" : "STILL ACTIVE",
           err ? iommu_strerror(err) : "completed");
  subconds_append(&sc, why, len);
  return subconds_all_ok(&sc) ? IOMMU_OK : IOMMU_EBADREG;
}

/* ---- event queue ---- */
int smmu_evtq_drain(struct smmu_unit *s, struct iommu_fault *out, unsigned max, unsigned *n,
                    bool *overflow)
{
  *n = 0;
  *overflow = false;
  if (s->evtq == NULL)
    return IOMMU_ENODEV;
  unsigned log2 = s->evtq_log2;
  uint32_t prod = mmio_read32(s->base + SMMU_EVENTQ_PROD);
  uint32_t cons = mmio_read32(s->base + SMMU_EVENTQ_CONS);
  arch_mb(); /* entries are read after PROD */
  uint32_t rd = cons & q_mask(log2);
  for (unsigned guard = 0; !q_empty(prod, rd, log2) && guard < (2u << log2); guard++) {
    uint64_t *slot = s->evtq + 4 * q_index(rd, log2);
    if (!s->coherent)
      arch_cache_flush(slot, 32); /* drop stale lines before reading what the SMMU wrote */
    uint64_t rec[4];
    memcpy(rec, slot, sizeof(rec));
    if (*n < max) {
      struct smmu_event e;
      smmu_event_decode(rec, &e);
      smmu_event_to_fault(&e, &out[(*n)++]);
    }
    s->events_read++;
    rd = q_inc(rd, log2);
    if (q_empty(prod, rd, log2)) /* more may have arrived while reading */
      prod = mmio_read32(s->base + SMMU_EVENTQ_PROD);
  }
  /* 7.4: overflow while PROD.OVFLG differs from CONS.OVACKFLG; acknowledge by copying it. */
  *overflow = (prod & SMMU_Q_OVFLG) != (cons & SMMU_Q_OVFLG);
  mmio_write32(s->base + SMMU_EVENTQ_CONS, rd | (prod & SMMU_Q_OVFLG));
  /* An event write the SMMU could not complete is lost too (GERROR.EVENTQ_ABT_ERR). */
  if (smmu_gerror_active(s) & SMMU_GERROR_EVENTQ_ABT_ERR) {
    s->evtq_abt_seen++;
    smmu_gerror_ack(s, SMMU_GERROR_EVENTQ_ABT_ERR);
    if (!s->evtq_abt_reported) {
      s->evtq_abt_reported = true;
      diag("smmuv3: GERROR.EVENTQ_ABT_ERR active while draining a %u-entry event queue (PROD 0x%x): "
           "event records were lost by an aborted queue write, not reported as EVENTQ_PROD.OVFLG",
           1u << log2, prod);
    }
  }
  return IOMMU_OK;
}
