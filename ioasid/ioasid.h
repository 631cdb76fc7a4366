/* IOASID (PASID / SubstreamID) allocator: capacity, sets with quotas, ID states and
 * references, notifications, set-private IDs. Pure C, no hardware access, no globals: every
 * call works on an explicit struct ioasid_system the caller creates and destroys.
 * Not thread-safe: the caller serialises (the firmware is single-threaded).
 * Data structures and the cost of each operation: ioasid/README.md. */
#ifndef IOASID_IOASID_H
#define IOASID_IOASID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint32_t ioasid_t;
#define IOASID_INVALID ((ioasid_t)-1)

/* PCIe PASIDs are 20 bits; SMMU SSIDs and AMD PASmax can advertise no more in practice. */
#define IOASID_MAX_BITS 20u
#define IOASID_MAX_CAPACITY (1u << IOASID_MAX_BITS)

enum ioasid_error {
  IOASID_OK = 0,
  IOASID_EINVAL = -1,      /* bad argument (NULL, min > max, wrong system, bad type/token) */
  IOASID_ENOMEM = -2,
  IOASID_ENOSPC = -3,      /* no free ID in the range, or system capacity exhausted */
  IOASID_EQUOTA = -4,      /* the set already holds its quota */
  IOASID_ENOENT = -5,      /* ID not allocated / SPID not attached / no such set */
  IOASID_EEXIST = -6,      /* token already has a set, SPID already used, ID already has one */
  IOASID_EBUSY = -7,       /* ID is FREE_PENDING, notifier already registered, counter full */
  IOASID_EPERM = -8,       /* the set does not own the ID */
  IOASID_EREENTRANT = -9,  /* a notifier or iteration callback tried to modify the allocator */
  IOASID_ECORRUPT = -10,   /* ioasid_check_invariants() found an inconsistency */
};
const char *ioasid_strerror(int err);

/* ---- system and capacity -------------------------------------------------------------- */

struct ioasid_config {
  /* Number of PASID values, IDs 0 .. capacity-1. 0 is valid (no PASID support anywhere:
   * every allocation fails). At most IOASID_MAX_CAPACITY. */
  uint32_t capacity;
  /* The IOMMU tags untagged DMA with PASID 0 (VT-d RID_PASID, SMMUv3 SSID 0 with
   * S1DSS=substream0, AMD GCR3 entry 0): PASID 0 is never handed out. */
  bool reserve_pasid0;
};

/* 2^bits, clamped to IOASID_MAX_CAPACITY; 0 bits (no PASID support) gives 0. */
uint32_t ioasid_capacity_for_bits(unsigned bits);
/* Folds one more hardware limit (an IOMMU's PASID width or a device's PASID capability
 * width) into cfg->capacity: capacity = min(capacity, 2^bits). Start from
 * IOASID_MAX_CAPACITY. */
void ioasid_config_limit_bits(struct ioasid_config *cfg, unsigned bits);

struct ioasid_system;
struct ioasid_set;

/* NULL on failure, with the reason in *err (err may be NULL). */
struct ioasid_system *ioasid_system_create(const struct ioasid_config *cfg, int *err);
/* Frees everything, without notifications. IOASID_EREENTRANT from a callback. */
int ioasid_system_destroy(struct ioasid_system *sys);

/* Number of PASID values as configured (the hardware limit). */
uint32_t ioasid_capacity(const struct ioasid_system *sys);
/* IDs that can ever be handed out: capacity minus a reserved PASID 0. */
uint32_t ioasid_capacity_usable(const struct ioasid_system *sys);
/* Usable capacity not yet promised: usable - set quotas - explicit reservations - IDs
 * held by unlimited (quota 0) sets. What the next set quota or reservation may take. */
uint32_t ioasid_capacity_unreserved(const struct ioasid_system *sys);
/* IDs currently allocated (including FREE_PENDING ones). */
uint32_t ioasid_count(const struct ioasid_system *sys);
/* Reserves n IDs of capacity for a caller outside any set / gives them back. */
int ioasid_capacity_reserve(struct ioasid_system *sys, uint32_t n);
int ioasid_capacity_cancel(struct ioasid_system *sys, uint32_t n);

/* ---- sets ----------------------------------------------------------------------------- */

enum ioasid_set_type {
  IOASID_SET_TYPE_NULL = 0,  /* no token (token must be NULL) */
  IOASID_SET_TYPE_MM = 1,    /* token identifies an address space; one live set per token */
};

/* quota 0: no per-set limit, the set draws on the unreserved system capacity.
 * quota > 0: reserved out of the system capacity (IOASID_ENOSPC when it does not fit).
 * IOASID_EEXIST when a live set already has the token. */
struct ioasid_set *ioasid_set_alloc(struct ioasid_system *sys, const void *token,
                                    enum ioasid_set_type type, uint32_t quota, int *err);
/* Frees every live ID of the set (each with a FREE notification; IDs with references
 * become FREE_PENDING), detaches every SPID, then sends SET_FREE. The handle must not be
 * used afterwards; the quota returns to the system when the last pending ID is released.
 * Notifiers registered on the set are unregistered; ones registered by token wait for
 * the next set with that token. */
int ioasid_set_free(struct ioasid_system *sys, struct ioasid_set *set);
/* The live set with this token, or NULL. */
struct ioasid_set *ioasid_find_set(const struct ioasid_system *sys, const void *token);

const void *ioasid_set_token(const struct ioasid_set *set);
enum ioasid_set_type ioasid_set_type(const struct ioasid_set *set);
uint32_t ioasid_set_quota(const struct ioasid_set *set);
/* IDs charged to the set: live ones plus FREE_PENDING ones. */
uint32_t ioasid_set_count(const struct ioasid_set *set);

/* Calls fn for every live (IDLE or ACTIVE) ID of the set, in allocation order. fn returns
 * nonzero to stop; that value is returned. fn may not modify the allocator. */
typedef int (*ioasid_iter_fn)(ioasid_t id, void *private_data, void *arg);
int ioasid_set_for_each(struct ioasid_system *sys, struct ioasid_set *set, ioasid_iter_fn fn,
                        void *arg);

/* ---- IDs ------------------------------------------------------------------------------ */

enum ioasid_state {
  IOASID_STATE_FREE = 0,         /* not allocated (or out of range, or reserved PASID 0) */
  IOASID_STATE_IDLE = 1,         /* allocated, no references */
  IOASID_STATE_ACTIVE = 2,       /* allocated, referenced (get or bind) */
  IOASID_STATE_FREE_PENDING = 3, /* freed by its owner, released at the last put */
};

/* Lowest free ID in [min, max] (clamped to the usable range). IOASID_INVALID on failure with
 * the reason in *err (err may be NULL): ENOSPC, EQUOTA, EINVAL, ENOMEM, EREENTRANT. */
ioasid_t ioasid_alloc(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t min,
                      ioasid_t max, void *private_data, int *err);
/* Owner frees the ID: released now without references, else FREE_PENDING until the last
 * put. Its SPID is detached either way. Returns 1 when released now, 0 when deferred. */
int ioasid_free(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);

/* Takes a reference. set non-NULL: only on an ID the set owns (EPERM otherwise); set NULL:
 * a system user (an IOMMU driver) with no ownership check. EBUSY on FREE_PENDING. */
int ioasid_get(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);
/* Takes a reference only when the ID's set has this token (the caller proves ownership by
 * its address-space token, like Linux's current->mm). */
int ioasid_get_if_owned(struct ioasid_system *sys, const void *token, ioasid_t id);
/* Drops a reference (set as for ioasid_get). Returns 1 when this released a FREE_PENDING
 * ID, 0 otherwise; EINVAL when no plain reference is held (bind references are dropped by
 * unbind). */
int ioasid_put(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);

/* Bind: the owner puts the ID in use by a device (takes a reference, sends BIND).
 * Unbind: drops one bind (sends UNBIND, drops its reference; may release a FREE_PENDING ID
 * and then returns 1). Unbind accepts set NULL for system teardown. */
int ioasid_bind(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);
int ioasid_unbind(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);

/* Private data of an allocated ID (FREE_PENDING included); set as for ioasid_get. */
int ioasid_find(const struct ioasid_system *sys, const struct ioasid_set *set, ioasid_t id,
                void **private_data);
int ioasid_attach_data(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                       void *private_data);

enum ioasid_state ioasid_state_of(const struct ioasid_system *sys, ioasid_t id);
/* References held (gets + binds); 0 for a free ID. */
uint32_t ioasid_refs_of(const struct ioasid_system *sys, ioasid_t id);
uint32_t ioasid_binds_of(const struct ioasid_system *sys, ioasid_t id);
/* Owning set of an allocated ID, else NULL. */
struct ioasid_set *ioasid_owner(const struct ioasid_system *sys, ioasid_t id);

/* ---- set-private IDs (a guest's name for a host PASID) -------------------------------- */

/* Attach: EEXIST when the SPID is already used in the set or the ID already has one. */
int ioasid_spid_attach(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                       uint32_t spid);
int ioasid_spid_detach(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id);
/* (set, SPID) -> system ID; ENOENT when unattached. */
int ioasid_spid_lookup(const struct ioasid_system *sys, const struct ioasid_set *set,
                       uint32_t spid, ioasid_t *id);
/* system ID -> SPID; ENOENT when the ID has none. set as for ioasid_get. */
int ioasid_spid_of(const struct ioasid_system *sys, const struct ioasid_set *set, ioasid_t id,
                   uint32_t *spid);

/* ---- notifications -------------------------------------------------------------------- */

enum ioasid_event_type {
  IOASID_NOTIFY_ALLOC = 1,
  IOASID_NOTIFY_FREE,      /* at the owner's free (the ID may still be FREE_PENDING) */
  IOASID_NOTIFY_BIND,
  IOASID_NOTIFY_UNBIND,
  IOASID_NOTIFY_SET_FREE,  /* after the set's IDs were freed; id is IOASID_INVALID */
};
const char *ioasid_event_name(enum ioasid_event_type type);

struct ioasid_event {
  enum ioasid_event_type type;
  ioasid_t id;
  struct ioasid_set *set;
  const void *token;           /* the set's token */
  void *private_data;
  uint32_t spid;               /* IOASID_INVALID when none */
  enum ioasid_state state;     /* the ID's state after the operation */
};

/* Callbacks may read the allocator (queries see a consistent state) but every modifying
 * call returns IOASID_EREENTRANT. */
typedef void (*ioasid_notify_fn)(const struct ioasid_event *event, void *arg);

/* Caller-owned subscription (no allocation). Zero-initialise, set fn/arg/priority, then
 * register (priority is read once, at registration). Higher priority runs first; per-set and
 * global subscribers are merged by priority, per-set first on a tie, then in registration
 * order. */
struct ioasid_notifier {
  ioasid_notify_fn fn;
  void *arg;
  int priority;
  /* Owned by the allocator while registered. */
  int priority_;                /* priority as registered: later edits of priority are ignored */
  struct ioasid_notifier *next_;
  struct ioasid_set *set_;      /* set it is attached to, if any */
  const void *token_;           /* token it was registered for, if any */
  uint8_t where_;
};

/* set NULL: global (every event of every set). */
int ioasid_notifier_register(struct ioasid_system *sys, struct ioasid_set *set,
                             struct ioasid_notifier *nb);
/* Subscribes to the set with this token, now or when it is allocated (and again for each
 * later set with the token). */
int ioasid_notifier_register_token(struct ioasid_system *sys, const void *token,
                                   struct ioasid_notifier *nb);
int ioasid_notifier_unregister(struct ioasid_system *sys, struct ioasid_notifier *nb);
bool ioasid_notifier_registered(const struct ioasid_notifier *nb);

/* ---- self-check ----------------------------------------------------------------------- */

/* Walks every structure (O(capacity + sets + notifiers)) and returns 0 or IOASID_ECORRUPT.
 * Read-only; callable at any time, including from a callback. When detail is non-NULL it
 * receives a short description of the first violation. */
int ioasid_check_invariants(const struct ioasid_system *sys, char *detail, size_t detail_len);

#endif
