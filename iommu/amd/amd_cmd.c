/* AMD-Vi command buffer (2.4, 3.4.2) and event log (2.5, 3.4.3). Every command batch ends in
 * a COMPLETION_WAIT that stores a sequence number; every wait is bounded. The event log is
 * read from the driver's own position and handed back through the head pointer. */
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "boot/report.h"
#include "iommu/amd/amd_internal.h"

void amd_table_sync(const void *p, size_t len)
{
  /* AMD IOMMU table walks snoop the CPU caches (x86); only ordering is needed. */
  (void)p;
  (void)len;
  arch_mb();
}

struct sts_wait {
  const struct amd_unit *a;
  uint64_t mask, want;
};

static bool sts_matches(void *p)
{
  const struct sts_wait *w = p;
  return (mmio_read64(w->a->base + AMD_MMIO_STATUS) & w->mask) == w->want;
}

int amd_wait_status(const struct amd_unit *a, uint64_t mask, uint64_t want)
{
  struct sts_wait w = { a, mask, want };
  return arch_poll(sts_matches, &w, AMD_TIMEOUT_US) ? IOMMU_OK : IOMMU_ETIMEDOUT;
}

int amd_write_control(struct amd_unit *a, uint64_t control)
{
  a->control = control;
  mmio_write64(a->base + AMD_MMIO_CONTROL, control);
  return IOMMU_OK;
}

/* ---- command buffer ---- */
static unsigned ring_index(uint64_t reg, unsigned n)
{
  /* A head register may read as the ring size right after the hardware wrapped. */
  return (unsigned)((reg & AMD_RING_PTR_MASK) / AMD_ENTRY_BYTES) % n;
}

static void put_cmd(struct amd_unit *a, const uint64_t cmd[2])
{
  memcpy(a->cmdbuf + (size_t)a->cmd_tail * AMD_ENTRY_BYTES, cmd, AMD_ENTRY_BYTES);
  a->cmd_tail = (a->cmd_tail + 1) % AMD_CMD_ENTRIES;
}

static void ring_doorbell(struct amd_unit *a)
{
  arch_mb();
  mmio_write64(a->base + AMD_MMIO_CMD_TAIL, (uint64_t)a->cmd_tail * AMD_ENTRY_BYTES);
}

static bool sem_reached(void *p)
{
  const struct amd_unit *a = p;
  return *a->sem == a->seq;
}

struct room_wait {
  const struct amd_unit *a;
  unsigned need;
};

static bool room(void *p)
{
  const struct room_wait *w = p;
  unsigned head = ring_index(mmio_read64(w->a->base + AMD_MMIO_CMD_HEAD), AMD_CMD_ENTRIES);
  return amd_ring_free(head, w->a->cmd_tail, AMD_CMD_ENTRIES) >= w->need;
}

static bool halted(const struct amd_unit *a)
{
  return !(mmio_read64(a->base + AMD_MMIO_STATUS) & AMD_STS_CMDBUF_RUN);
}

/* Queues n commands and a COMPLETION_WAIT, then polls the stored sequence number. */
int amd_cmd_submit(struct amd_unit *a, const uint64_t (*cmds)[2], unsigned n)
{
  if (a->cmdbuf == NULL)
    return IOMMU_ENODEV;
  if (n + 2 > AMD_CMD_ENTRIES)
    return IOMMU_EUNSUPPORTED;
  struct room_wait rw = { a, n + 1 };
  if (!arch_poll(room, &rw, AMD_TIMEOUT_US))
    return halted(a) ? IOMMU_EBADREG : IOMMU_ETIMEDOUT;
  for (unsigned i = 0; i < n; i++)
    put_cmd(a, cmds[i]);
  uint64_t w[2];
  a->seq++;
  amd_cmd_completion_wait(w, a->sem_phys, a->seq);
  put_cmd(a, w);
  ring_doorbell(a);
  if (!arch_poll(sem_reached, a, AMD_TIMEOUT_US)) {
    int err = halted(a) ? IOMMU_EBADREG : IOMMU_ETIMEDOUT;
    amd_cmd_restart(a); /* drop the batch so later commands are not stuck behind it */
    return err;
  }
  return IOMMU_OK;
}

/* Restarts a stopped command buffer: CmdBufEn off, head = resume_at, tail as queued, on. */
static int cmd_restart_at(struct amd_unit *a, unsigned resume_at)
{
  amd_write_control(a, a->control & ~AMD_CTRL_CMDBUF_EN);
  int err = amd_wait_status(a, AMD_STS_CMDBUF_RUN, 0);
  mmio_write64(a->base + AMD_MMIO_CMD_HEAD, (uint64_t)resume_at * AMD_ENTRY_BYTES);
  mmio_write64(a->base + AMD_MMIO_CMD_TAIL, (uint64_t)a->cmd_tail * AMD_ENTRY_BYTES);
  amd_write_control(a, a->control | AMD_CTRL_CMDBUF_EN);
  int e2 = amd_wait_status(a, AMD_STS_CMDBUF_RUN, AMD_STS_CMDBUF_RUN);
  return err ? err : e2;
}

/* After a failure: drop whatever is queued and start again empty. */
int amd_cmd_restart(struct amd_unit *a)
{
  return cmd_restart_at(a, a->cmd_tail);
}

int amd_flush_devtab(struct amd_unit *a, uint16_t devid, int old_domid)
{
  uint64_t c[2][2];
  unsigned n = 0;
  amd_cmd_inv_devtab_entry(c[n++], devid);
  if (old_domid >= 0)
    amd_cmd_inv_iommu_pages(c[n++], (uint16_t)old_domid, 0, 0, true);
  return amd_cmd_submit(a, (const uint64_t(*)[2])c, n);
}

int amd_flush_pages(struct amd_unit *a, uint16_t domid, uint64_t iova, uint64_t size)
{
  uint64_t c[2];
  amd_cmd_inv_iommu_pages(c, domid, iova, size, true);
  return amd_cmd_submit(a, (const uint64_t(*)[2])&c, 1);
}

/* Every cached DTE and translation: INVALIDATE_IOMMU_ALL where EFR.IASup says it exists,
 * otherwise each device table entry and each domain in use. */
int amd_flush_all(struct amd_unit *a)
{
  uint64_t c[64][2];
  if (AMD_EFR_IASUP(a->efr)) {
    amd_cmd_inv_iommu_all(c[0]);
    return amd_cmd_submit(a, (const uint64_t(*)[2])c, 1);
  }
  unsigned n = 0;
  int err = IOMMU_OK;
  for (uint32_t id = 0; id < a->n_devids && !err; id++) {
    amd_cmd_inv_devtab_entry(c[n++], (uint16_t)id);
    if (n == 64 || id + 1 == a->n_devids) {
      err = amd_cmd_submit(a, (const uint64_t(*)[2])c, n);
      n = 0;
    }
  }
  for (uint32_t d = 0; d < 65536 && !err; d++) {
    if (!(a->domids[d / 64] & (1ull << (d % 64))))
      continue;
    amd_cmd_inv_iommu_pages(c[n++], (uint16_t)d, 0, 0, true);
    if (n == 64) {
      err = amd_cmd_submit(a, (const uint64_t(*)[2])c, n);
      n = 0;
    }
  }
  if (!err && n)
    err = amd_cmd_submit(a, (const uint64_t(*)[2])c, n);
  return err;
}

/* ---- event log ---- */
static unsigned evt_tail(const struct amd_unit *a)
{
  return ring_index(mmio_read64(a->base + AMD_MMIO_EVT_TAIL), AMD_EVT_ENTRIES);
}

static bool entry_written(void *p)
{
  const volatile uint64_t *e = p;
  return e[0] != 0 || e[1] != 0;
}

int amd_evt_restart(struct amd_unit *a)
{
  amd_write_control(a, a->control & ~AMD_CTRL_EVT_LOG_EN);
  int err = amd_wait_status(a, AMD_STS_EVT_LOG_RUN, 0);
  mmio_write64(a->base + AMD_MMIO_STATUS, AMD_STS_EVT_OVERFLOW | AMD_STS_EVT_LOG_INT);
  amd_write_control(a, a->control | AMD_CTRL_EVT_LOG_EN);
  int e2 = amd_wait_status(a, AMD_STS_EVT_LOG_RUN, AMD_STS_EVT_LOG_RUN);
  return err ? err : e2;
}

unsigned amd_evt_read(struct amd_unit *a, struct amd_event *out, unsigned max, bool *overflow)
{
  *overflow = false;
  if (a->evtlog == NULL)
    return 0;
  uint64_t sts = mmio_read64(a->base + AMD_MMIO_STATUS);
  unsigned tail = evt_tail(a), n = 0;
  while (a->evt_read != tail && n < max) {
    volatile uint64_t *e = (volatile uint64_t *)(a->evtlog + (size_t)a->evt_read * AMD_ENTRY_BYTES);
    /* The tail moves after the entry is written, but give a slow write a moment. */
    if (!entry_written((void *)e))
      arch_poll(entry_written, (void *)e, 1000);
    uint64_t raw[2] = { e[0], e[1] };
    e[0] = 0;
    e[1] = 0;
    amd_event_decode(raw, &out[n++]);
    a->evt_read = (a->evt_read + 1) % AMD_EVT_ENTRIES;
  }
  arch_mb();
  /* Hand back what was read, keeping the window: the hardware may write AMD_EVT_WINDOW
   * more entries before it must report overflow. */
  mmio_write64(a->base + AMD_MMIO_EVT_HEAD,
               (uint64_t)((a->evt_read + AMD_EVT_WINDOW + 1) % AMD_EVT_ENTRIES) * AMD_ENTRY_BYTES);
  if (a->evt_read != tail)
    return n; /* more to read: overflow is handled once the log is empty */
  if (sts & AMD_STS_EVT_OVERFLOW) {
    *overflow = true;
    amd_evt_restart(a);
  } else if (sts & AMD_STS_EVT_LOG_INT) {
    mmio_write64(a->base + AMD_MMIO_STATUS, AMD_STS_EVT_LOG_INT);
  }
  return n;
}

/* ---- the illegal-command probe shared by the self-test and queue.error ---- */
struct illegal_probe {
  unsigned slot;
  uint64_t cmd_addr;
  bool event, event_match, stopped, run_bit, head_at_bad, resumed, next_ok;
  uint64_t head_reg;
  struct amd_event ev;
  int err;
};

static bool evt_pending(void *p)
{
  const struct amd_unit *a = p;
  return evt_tail(a) != a->evt_read;
}

/* Submits a command with the reserved opcode 0 followed by a COMPLETION_WAIT. Hardware must
 * log ILLEGAL_COMMAND_ERROR with the command's address and stop fetching with the head at
 * it (2.4, 2.5.5). Recovery rewrites the slot with the COMPLETION_WAIT and restarts the
 * buffer from there; one more COMPLETION_WAIT must then complete. */
static void probe_illegal(struct amd_unit *a, struct illegal_probe *r, uint64_t wait_us)
{
  memset(r, 0, sizeof(*r));
  uint64_t bad[2] = { 0x0000000000bad000ull, 0 }; /* opcode 0: reserved */
  r->slot = a->cmd_tail;
  r->cmd_addr = a->cmd_phys + (uint64_t)r->slot * AMD_ENTRY_BYTES;
  put_cmd(a, bad);
  uint64_t w[2];
  a->seq++;
  amd_cmd_completion_wait(w, a->sem_phys, a->seq);
  put_cmd(a, w);
  ring_doorbell(a);
  /* Wait for the event; even when the buffer went past the command, the log gets the
   * whole time. */
  arch_poll(evt_pending, a, wait_us);
  r->head_reg = mmio_read64(a->base + AMD_MMIO_CMD_HEAD);
  r->stopped = *a->sem != a->seq; /* the COMPLETION_WAIT behind it did not run */
  r->run_bit = !halted(a);
  r->head_at_bad = ring_index(r->head_reg, AMD_CMD_ENTRIES) == r->slot;
  struct amd_event evs[8];
  bool ovf;
  unsigned k;
  for (unsigned windows = 0; windows < 64 && (k = amd_evt_read(a, evs, 8, &ovf)) != 0; windows++) {
    for (unsigned i = 0; i < k; i++) {
      /* Events of other kinds (a device faulting meanwhile) are not this probe's. */
      if (evs[i].type != AMD_EVT_ILLEGAL_COMMAND && evs[i].type != AMD_EVT_COMMAND_HW_ERROR)
        continue;
      r->event = true;
      if (!r->event_match && (r->ev.type == 0 || evs[i].type == AMD_EVT_ILLEGAL_COMMAND)) {
        r->ev = evs[i];
        r->event_match = evs[i].type == AMD_EVT_ILLEGAL_COMMAND && evs[i].addr == r->cmd_addr;
      }
    }
  }
  if (*a->sem != a->seq) {
    /* Stopped (or slow): replace the bad command by the wait it precedes, resume there. */
    memcpy(a->cmdbuf + (size_t)r->slot * AMD_ENTRY_BYTES, w, AMD_ENTRY_BYTES);
    r->err = cmd_restart_at(a, r->head_at_bad ? r->slot : ring_index(r->head_reg, AMD_CMD_ENTRIES));
    r->resumed = arch_poll(sem_reached, a, AMD_TIMEOUT_US);
    if (!r->resumed)
      amd_cmd_restart(a);
  } else {
    r->resumed = true;
  }
  int err = amd_cmd_submit(a, NULL, 0);
  r->next_ok = err == IOMMU_OK;
  if (!r->err)
    r->err = err;
}

void amd_evt_selftest(struct amd_unit *a)
{
  struct illegal_probe r;
  probe_illegal(a, &r, AMD_EVT_SELFTEST_US);
  a->evt_tested = true;
  a->evt_gap[0] = '\0';
  if (!r.event)
    snprintf(a->evt_gap, sizeof(a->evt_gap),
             "event log not written (enable self-test: illegal command, no event in %u ms)",
             AMD_EVT_SELFTEST_US / 1000);
}

int amd_queue_error_test(struct amd_unit *a, char *why, size_t len)
{
  struct illegal_probe r;
  probe_illegal(a, &r, AMD_EVT_SELFTEST_US * 5);
  /* Reported and recovered are judged apart: a unit that skips the command silently still
   * has to prove its queue goes on. */
  struct subconds sc = { "", "" };
  subcond(&sc, "error-reported", r.event && r.event_match);
  subcond(&sc, "resumed", r.resumed);
  subcond(&sc, "next-completed", r.next_ok);
  if (!r.event)
    snprintf(why, len, "opcode 0 command at slot %u (phys 0x%llx): no ILLEGAL_COMMAND_ERROR event "
             "within %u us, CmdBufRun %u, head 0x%llx: %s; next COMPLETION_WAIT %s",
             r.slot, (unsigned long long)r.cmd_addr, AMD_EVT_SELFTEST_US * 5, (unsigned)r.run_bit,
             (unsigned long long)r.head_reg,
             r.stopped ? "the buffer stopped without a report" : "the command was skipped without a report",
             r.next_ok ? "completed" : iommu_strerror(r.err));
  else
    snprintf(why, len, "opcode 0 command at slot %u: %s at 0x%llx (%s the command's 0x%llx), buffer %s "
             "with head %s it; after rewriting the slot and restarting: queue %s, next COMPLETION_WAIT %s",
             r.slot, amd_event_name(r.ev.type), (unsigned long long)r.ev.addr,
             r.event_match ? "=" : "!=", (unsigned long long)r.cmd_addr,
             r.stopped ? "stopped" : "went on", r.head_at_bad ? "at" : "not at",
             r.resumed ? "resumed" : "STUCK", r.next_ok ? "completed" : iommu_strerror(r.err));
  subconds_append(&sc, why, len);
  return subconds_all_ok(&sc) ? IOMMU_OK : IOMMU_EBADREG;
}

int amd_queue_wait_test(struct amd_unit *a, char *why, size_t len)
{
  uint64_t before = *a->sem;
  uint64_t t0 = arch_time_us();
  int err = amd_cmd_submit(a, NULL, 0);
  uint64_t dt = arch_time_us() - t0;
  uint64_t head = mmio_read64(a->base + AMD_MMIO_CMD_HEAD);
  uint64_t tail = mmio_read64(a->base + AMD_MMIO_CMD_TAIL);
  if (err) {
    snprintf(why, len, "COMPLETION_WAIT (store 0x%llx to phys 0x%llx) not completed within %u us; "
             "store word 0x%llx, CmdBufRun %u", (unsigned long long)a->seq,
             (unsigned long long)a->sem_phys, AMD_TIMEOUT_US, (unsigned long long)*a->sem,
             (unsigned)!halted(a));
    return err;
  }
  if (ring_index(head, AMD_CMD_ENTRIES) != ring_index(tail, AMD_CMD_ENTRIES)) {
    snprintf(why, len, "store written but head 0x%llx != tail 0x%llx", (unsigned long long)head,
             (unsigned long long)tail);
    return IOMMU_EBADREG;
  }
  snprintf(why, len, "COMPLETION_WAIT with store: word 0x%llx -> 0x%llx at phys 0x%llx in %llu us; "
           "head caught up with tail (0x%llx)%s", (unsigned long long)before,
           (unsigned long long)*a->sem, (unsigned long long)a->sem_phys, (unsigned long long)dt,
           (unsigned long long)tail,
           (head & AMD_RING_PTR_MASK) == AMD_CMD_ENTRIES * AMD_ENTRY_BYTES
             ? "; head reads the ring size, not 0, right after wrapping" : "");
  return IOMMU_OK;
}
