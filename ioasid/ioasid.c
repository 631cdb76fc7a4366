/* IOASID allocator. Structures (see ioasid/README.md):
 *  - free IDs: hierarchical bitmap, one bit per ID at level 0, one summary bit per 64-bit
 *    word at each level above ("this word has a free bit"); find-next-free is O(levels).
 *  - ID records: two-level table, chunks of 1024 inline records allocated on first use and
 *    released when their last ID goes.
 *  - per set: doubly linked list of live IDs threaded through the records, an open
 *    addressing hash SPID -> ID, and a priority-sorted notifier list.
 * Behaviour follows the IOASID set / quota / state model Linux proposed for guest SVA. */
#include "ioasid/ioasid.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_SHIFT 10u
#define CHUNK_IDS (1u << CHUNK_SHIFT)
#define HB_MAX_LEVELS 4u   /* 2^20 bits -> 16384 -> 256 -> 4 words */
#define HB_NONE UINT32_MAX

enum nb_where { NB_NONE = 0, NB_GLOBAL, NB_SET, NB_TOKEN_ATTACHED, NB_TOKEN_PENDING };

struct hbitmap {
  unsigned levels;
  uint32_t nbits[HB_MAX_LEVELS];
  uint64_t *words[HB_MAX_LEVELS];
};

/* 32 bytes: 2^20 of them is 32 MiB. */
struct ioasid_record {
  void *private_data;
  uint32_t set_slot;   /* index into sys->sets plus one; 0 = free */
  uint32_t refs;       /* gets + binds */
  uint32_t spid;       /* IOASID_INVALID when none */
  ioasid_t prev, next; /* the set's list of live IDs */
  uint16_t binds;
  uint8_t state;
  uint8_t unused;
};

struct spid_entry {
  uint32_t spid;
  ioasid_t id;         /* IOASID_INVALID marks an empty slot */
};

struct spid_table {
  struct spid_entry *slots;
  uint32_t size;       /* power of two, or 0 */
  uint32_t count;
};

struct ioasid_set {
  struct ioasid_system *sys;
  const void *token;
  enum ioasid_set_type type;
  uint32_t quota;
  uint32_t nr_ids;     /* live + FREE_PENDING: what the quota is charged with */
  uint32_t nr_live;
  ioasid_t head, tail;
  uint32_t slot;
  bool dead;           /* freed by its owner; kept until its pending IDs are released */
  struct spid_table spids;
  struct ioasid_notifier *notifiers;
};

struct ioasid_system {
  uint32_t capacity;
  uint32_t usable;
  ioasid_t first_id;
  uint32_t count;
  uint32_t reserved_quota;     /* sum of quotas of every set struct (dead ones included) */
  uint32_t reserved_explicit;  /* ioasid_capacity_reserve() */
  uint32_t shared_used;        /* IDs charged to quota-0 sets */
  unsigned busy;               /* inside a notifier or iteration callback */
  struct hbitmap free_ids;
  uint32_t nchunks;
  struct ioasid_record **chunks;
  uint16_t *chunk_live;
  struct ioasid_record *spare_chunk; /* last emptied chunk (all zero): no malloc churn at edges */
  struct ioasid_set **sets;
  uint32_t nsets_slots;        /* used length of sets[] */
  uint32_t sets_cap;
  uint32_t nsets;              /* non-NULL entries */
  struct ioasid_notifier *global;
  struct ioasid_notifier *pending;
};

const char *ioasid_strerror(int err)
{
  switch (err) {
  case IOASID_OK: return "success";
  case IOASID_EINVAL: return "IOASID_EINVAL: invalid argument";
  case IOASID_ENOMEM: return "IOASID_ENOMEM: out of memory";
  case IOASID_ENOSPC: return "IOASID_ENOSPC: no free ID / capacity exhausted";
  case IOASID_EQUOTA: return "IOASID_EQUOTA: set quota reached";
  case IOASID_ENOENT: return "IOASID_ENOENT: not allocated / not attached";
  case IOASID_EEXIST: return "IOASID_EEXIST: already exists";
  case IOASID_EBUSY: return "IOASID_EBUSY: busy (free pending, registered, or counter full)";
  case IOASID_EPERM: return "IOASID_EPERM: set does not own the ID";
  case IOASID_EREENTRANT: return "IOASID_EREENTRANT: allocator modified from a callback";
  case IOASID_ECORRUPT: return "IOASID_ECORRUPT: invariant violated";
  default: return "unknown IOASID error";
  }
}

const char *ioasid_event_name(enum ioasid_event_type type)
{
  switch (type) {
  case IOASID_NOTIFY_ALLOC: return "ALLOC";
  case IOASID_NOTIFY_FREE: return "FREE";
  case IOASID_NOTIFY_BIND: return "BIND";
  case IOASID_NOTIFY_UNBIND: return "UNBIND";
  case IOASID_NOTIFY_SET_FREE: return "SET_FREE";
  }
  return "?";
}

static void set_err(int *err, int value)
{
  if (err)
    *err = value;
}

/* ---- hierarchical bitmap of free IDs ---------------------------------------------------- */

static int hb_init(struct hbitmap *hb, uint32_t nbits)
{
  memset(hb, 0, sizeof(*hb));
  if (nbits == 0)
    return IOASID_OK;
  uint32_t n = nbits;
  for (;;) {
    hb->nbits[hb->levels] = n;
    uint32_t words = (n + 63) / 64;
    hb->words[hb->levels] = calloc(words, sizeof(uint64_t));
    if (!hb->words[hb->levels])
      return IOASID_ENOMEM;
    hb->levels++;
    if (words == 1)
      break;
    n = words;
  }
  return IOASID_OK;
}

static void hb_destroy(struct hbitmap *hb)
{
  for (unsigned l = 0; l < hb->levels; l++)
    free(hb->words[l]);
  memset(hb, 0, sizeof(*hb));
}

static void hb_set(struct hbitmap *hb, uint32_t bit)
{
  for (unsigned l = 0; l < hb->levels; l++) {
    uint64_t *word = &hb->words[l][bit / 64];
    bool was_empty = *word == 0;
    *word |= 1ull << (bit % 64);
    if (!was_empty)
      return;
    bit /= 64;
  }
}

static void hb_clear(struct hbitmap *hb, uint32_t bit)
{
  for (unsigned l = 0; l < hb->levels; l++) {
    uint64_t *word = &hb->words[l][bit / 64];
    *word &= ~(1ull << (bit % 64));
    if (*word != 0)
      return;
    bit /= 64;
  }
}

static bool hb_test(const struct hbitmap *hb, uint32_t bit)
{
  return hb->levels && (hb->words[0][bit / 64] >> (bit % 64) & 1);
}

/* First set bit >= pos, or HB_NONE: climbs until a word has a set bit at or after the
 * position, then descends along first set bits. */
static uint32_t hb_find_next(const struct hbitmap *hb, uint32_t pos)
{
  unsigned level = 0;
  while (level < hb->levels && pos < hb->nbits[level]) {
    uint32_t w = pos / 64;
    uint64_t word = hb->words[level][w] & (~0ull << (pos % 64));
    if (word) {
      uint32_t idx = w * 64 + (uint32_t)__builtin_ctzll(word);
      while (level > 0) {
        level--;
        idx = idx * 64 + (uint32_t)__builtin_ctzll(hb->words[level][idx]);
      }
      return idx;
    }
    pos = w + 1;
    level++;
  }
  return HB_NONE;
}

/* ---- records ------------------------------------------------------------------------- */

static struct ioasid_record *rec_slot(const struct ioasid_system *sys, ioasid_t id)
{
  if (id >= sys->capacity)
    return NULL;
  struct ioasid_record *chunk = sys->chunks[id >> CHUNK_SHIFT];
  return chunk ? &chunk[id & (CHUNK_IDS - 1)] : NULL;
}

/* Allocated record (live or FREE_PENDING), or NULL. */
static struct ioasid_record *rec_find(const struct ioasid_system *sys, ioasid_t id)
{
  struct ioasid_record *rec = rec_slot(sys, id);
  return rec && rec->state != IOASID_STATE_FREE ? rec : NULL;
}

static struct ioasid_set *rec_set(const struct ioasid_system *sys, const struct ioasid_record *rec)
{
  return sys->sets[rec->set_slot - 1];
}

static bool set_valid(const struct ioasid_system *sys, const struct ioasid_set *set)
{
  return set && set->sys == sys && !set->dead;
}

/* ---- SPID hash: open addressing, linear probing, backward-shift deletion --------------- */

static uint32_t spid_home(const struct spid_table *t, uint32_t spid)
{
  uint32_t h = spid * 0x9E3779B1u;  /* Fibonacci hashing; fold the well-mixed high half */
  return (h ^ h >> 16) & (t->size - 1);
}

static uint32_t spid_probe(const struct spid_table *t, uint32_t spid)
{
  uint32_t i = spid_home(t, spid);
  while (t->slots[i].id != IOASID_INVALID && t->slots[i].spid != spid)
    i = (i + 1) & (t->size - 1);
  return i;
}

static ioasid_t spid_get(const struct spid_table *t, uint32_t spid)
{
  if (t->size == 0)
    return IOASID_INVALID;
  return t->slots[spid_probe(t, spid)].id;
}

static int spid_resize(struct spid_table *t, uint32_t size)
{
  struct spid_entry *slots = malloc((size_t)size * sizeof(*slots));
  if (!slots)
    return IOASID_ENOMEM;
  for (uint32_t i = 0; i < size; i++)
    slots[i].id = IOASID_INVALID;
  struct spid_table grown = { slots, size, 0 };
  for (uint32_t i = 0; i < t->size; i++) {
    if (t->slots[i].id != IOASID_INVALID) {
      grown.slots[spid_probe(&grown, t->slots[i].spid)] = t->slots[i];
      grown.count++;
    }
  }
  free(t->slots);
  *t = grown;
  return IOASID_OK;
}

/* Caller checked the SPID is absent. */
static int spid_insert(struct spid_table *t, uint32_t spid, ioasid_t id)
{
  if ((uint64_t)(t->count + 1) * 4 > (uint64_t)t->size * 3) {
    int err = spid_resize(t, t->size ? t->size * 2 : 16);
    if (err)
      return err;
  }
  uint32_t i = spid_probe(t, spid);
  t->slots[i].spid = spid;
  t->slots[i].id = id;
  t->count++;
  return IOASID_OK;
}

static void spid_remove(struct spid_table *t, uint32_t spid)
{
  if (t->size == 0)
    return;
  uint32_t mask = t->size - 1;
  uint32_t hole = spid_probe(t, spid);
  if (t->slots[hole].id == IOASID_INVALID)
    return;
  /* Pull later entries of the probe run back into the hole when their home position is
   * not cyclically within (hole, j]: keeps every entry reachable without tombstones. */
  for (uint32_t j = (hole + 1) & mask; t->slots[j].id != IOASID_INVALID; j = (j + 1) & mask) {
    uint32_t home = spid_home(t, t->slots[j].spid);
    bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      t->slots[hole] = t->slots[j];
      hole = j;
    }
  }
  t->slots[hole].id = IOASID_INVALID;
  t->count--;
  /* Shrink lazily (at 1/8 load) so the table tracks the live SPIDs without thrashing. */
  if (t->count == 0) {
    free(t->slots);
    t->slots = NULL;
    t->size = 0;
  } else if (t->size > 64 && t->count * 8 < t->size) {
    (void)spid_resize(t, t->size / 2);  /* on ENOMEM the larger table stays valid */
  }
}

/* ---- notifications ------------------------------------------------------------------- */

static void nb_insert_sorted(struct ioasid_notifier **list, struct ioasid_notifier *nb)
{
  while (*list && (*list)->priority_ >= nb->priority_)
    list = &(*list)->next_;
  nb->next_ = *list;
  *list = nb;
}

static bool nb_remove(struct ioasid_notifier **list, struct ioasid_notifier *nb)
{
  for (; *list; list = &(*list)->next_) {
    if (*list == nb) {
      *list = nb->next_;
      nb->next_ = NULL;
      return true;
    }
  }
  return false;
}

/* Delivers to the set's subscribers (set may be NULL) and the global ones, merged by
 * priority. busy is raised so callbacks cannot change the lists under the walk. */
static void dispatch(struct ioasid_system *sys, struct ioasid_set *set,
                     const struct ioasid_event *event)
{
  struct ioasid_notifier *a = set ? set->notifiers : NULL;
  struct ioasid_notifier *b = sys->global;
  sys->busy++;
  while (a || b) {
    if (a && (!b || a->priority_ >= b->priority_)) {
      a->fn(event, a->arg);
      a = a->next_;
    } else {
      b->fn(event, b->arg);
      b = b->next_;
    }
  }
  sys->busy--;
}

static void notify_id(struct ioasid_system *sys, enum ioasid_event_type type, ioasid_t id,
                      struct ioasid_set *set, void *private_data, uint32_t spid,
                      enum ioasid_state state)
{
  if (!set->notifiers && !sys->global)
    return;
  struct ioasid_event event = {
    .type = type, .id = id, .set = set->dead ? NULL : set, .token = set->token,
    .private_data = private_data, .spid = spid, .state = state,
  };
  dispatch(sys, set->dead ? NULL : set, &event);
}

/* ---- system ------------------------------------------------------------------------- */

uint32_t ioasid_capacity_for_bits(unsigned bits)
{
  if (bits == 0)
    return 0;
  if (bits >= IOASID_MAX_BITS)
    return IOASID_MAX_CAPACITY;
  return 1u << bits;
}

void ioasid_config_limit_bits(struct ioasid_config *cfg, unsigned bits)
{
  uint32_t limit = ioasid_capacity_for_bits(bits);
  if (limit < cfg->capacity)
    cfg->capacity = limit;
}

struct ioasid_system *ioasid_system_create(const struct ioasid_config *cfg, int *err)
{
  if (!cfg || cfg->capacity > IOASID_MAX_CAPACITY) {
    set_err(err, IOASID_EINVAL);
    return NULL;
  }
  struct ioasid_system *sys = calloc(1, sizeof(*sys));
  if (!sys) {
    set_err(err, IOASID_ENOMEM);
    return NULL;
  }
  sys->capacity = cfg->capacity;
  sys->first_id = cfg->reserve_pasid0 && cfg->capacity > 0 ? 1 : 0;
  sys->usable = cfg->capacity - sys->first_id;
  sys->nchunks = (cfg->capacity + CHUNK_IDS - 1) / CHUNK_IDS;
  int rc = hb_init(&sys->free_ids, cfg->capacity);
  if (rc == IOASID_OK && sys->nchunks) {
    sys->chunks = calloc(sys->nchunks, sizeof(*sys->chunks));
    sys->chunk_live = calloc(sys->nchunks, sizeof(*sys->chunk_live));
    if (!sys->chunks || !sys->chunk_live)
      rc = IOASID_ENOMEM;
  }
  if (rc != IOASID_OK) {
    hb_destroy(&sys->free_ids);
    free(sys->chunks);
    free(sys->chunk_live);
    free(sys);
    set_err(err, rc);
    return NULL;
  }
  for (ioasid_t id = sys->first_id; id < sys->capacity; id++)
    hb_set(&sys->free_ids, id);
  set_err(err, IOASID_OK);
  return sys;
}

static void nb_list_reset(struct ioasid_notifier *nb)
{
  while (nb) {
    struct ioasid_notifier *next = nb->next_;
    nb->next_ = NULL;
    nb->set_ = NULL;
    nb->token_ = NULL;
    nb->where_ = NB_NONE;
    nb = next;
  }
}

static void set_destroy(struct ioasid_system *sys, struct ioasid_set *set)
{
  sys->reserved_quota -= set->quota;
  sys->sets[set->slot] = NULL;
  sys->nsets--;
  nb_list_reset(set->notifiers);
  free(set->spids.slots);
  free(set);
}

int ioasid_system_destroy(struct ioasid_system *sys)
{
  if (!sys)
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  for (uint32_t i = 0; i < sys->nsets_slots; i++) {
    if (sys->sets[i])
      set_destroy(sys, sys->sets[i]);
  }
  nb_list_reset(sys->global);
  nb_list_reset(sys->pending);
  for (uint32_t c = 0; c < sys->nchunks; c++)
    free(sys->chunks[c]);
  free(sys->spare_chunk);
  free(sys->chunks);
  free(sys->chunk_live);
  free(sys->sets);
  hb_destroy(&sys->free_ids);
  free(sys);
  return IOASID_OK;
}

uint32_t ioasid_capacity(const struct ioasid_system *sys) { return sys ? sys->capacity : 0; }
uint32_t ioasid_capacity_usable(const struct ioasid_system *sys) { return sys ? sys->usable : 0; }
uint32_t ioasid_count(const struct ioasid_system *sys) { return sys ? sys->count : 0; }

uint32_t ioasid_capacity_unreserved(const struct ioasid_system *sys)
{
  if (!sys)
    return 0;
  return sys->usable - sys->reserved_quota - sys->reserved_explicit - sys->shared_used;
}

int ioasid_capacity_reserve(struct ioasid_system *sys, uint32_t n)
{
  if (!sys)
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  if (n > ioasid_capacity_unreserved(sys))
    return IOASID_ENOSPC;
  sys->reserved_explicit += n;
  return IOASID_OK;
}

int ioasid_capacity_cancel(struct ioasid_system *sys, uint32_t n)
{
  if (!sys)
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  if (n > sys->reserved_explicit)
    return IOASID_EINVAL;
  sys->reserved_explicit -= n;
  return IOASID_OK;
}

/* ---- sets --------------------------------------------------------------------------- */

struct ioasid_set *ioasid_find_set(const struct ioasid_system *sys, const void *token)
{
  if (!sys || !token)
    return NULL;
  for (uint32_t i = 0; i < sys->nsets_slots; i++) {
    struct ioasid_set *set = sys->sets[i];
    if (set && !set->dead && set->token == token)
      return set;
  }
  return NULL;
}

static int set_slot_alloc(struct ioasid_system *sys, uint32_t *slot)
{
  for (uint32_t i = 0; i < sys->nsets_slots; i++) {
    if (!sys->sets[i]) {
      *slot = i;
      return IOASID_OK;
    }
  }
  if (sys->nsets_slots == sys->sets_cap) {
    if (sys->sets_cap >= UINT32_MAX / 2)
      return IOASID_ENOMEM;
    uint32_t cap = sys->sets_cap ? sys->sets_cap * 2 : 8;
    struct ioasid_set **sets = realloc(sys->sets, (size_t)cap * sizeof(*sets));
    if (!sets)
      return IOASID_ENOMEM;
    sys->sets = sets;
    sys->sets_cap = cap;
  }
  *slot = sys->nsets_slots++;
  sys->sets[*slot] = NULL;
  return IOASID_OK;
}

struct ioasid_set *ioasid_set_alloc(struct ioasid_system *sys, const void *token,
                                    enum ioasid_set_type type, uint32_t quota, int *err)
{
  int rc = IOASID_OK;
  uint32_t slot = 0;
  struct ioasid_set *set = NULL;
  if (!sys)
    rc = IOASID_EINVAL;
  else if (sys->busy)
    rc = IOASID_EREENTRANT;
  else if (type == IOASID_SET_TYPE_NULL ? token != NULL
                                        : (type != IOASID_SET_TYPE_MM || token == NULL))
    rc = IOASID_EINVAL;
  else if (token && ioasid_find_set(sys, token))
    rc = IOASID_EEXIST;
  else if (quota > ioasid_capacity_unreserved(sys))
    rc = IOASID_ENOSPC;
  else if ((rc = set_slot_alloc(sys, &slot)) == IOASID_OK && !(set = calloc(1, sizeof(*set))))
    rc = IOASID_ENOMEM;
  if (rc != IOASID_OK) {
    set_err(err, rc);
    return NULL;
  }
  set->sys = sys;
  set->token = token;
  set->type = type;
  set->quota = quota;
  set->head = set->tail = IOASID_INVALID;
  set->slot = slot;
  sys->sets[slot] = set;
  sys->nsets++;
  sys->reserved_quota += quota;
  /* Subscribers that asked for this token before the set existed join it now. */
  if (token) {
    struct ioasid_notifier **link = &sys->pending;
    while (*link) {
      struct ioasid_notifier *nb = *link;
      if (nb->token_ == token) {
        *link = nb->next_;
        nb->where_ = NB_TOKEN_ATTACHED;
        nb->set_ = set;
        nb_insert_sorted(&set->notifiers, nb);
      } else {
        link = &nb->next_;
      }
    }
  }
  set_err(err, IOASID_OK);
  return set;
}

const void *ioasid_set_token(const struct ioasid_set *set) { return set ? set->token : NULL; }
enum ioasid_set_type ioasid_set_type(const struct ioasid_set *set)
{
  return set ? set->type : IOASID_SET_TYPE_NULL;
}
uint32_t ioasid_set_quota(const struct ioasid_set *set) { return set ? set->quota : 0; }
uint32_t ioasid_set_count(const struct ioasid_set *set) { return set ? set->nr_ids : 0; }

static void list_unlink(struct ioasid_system *sys, struct ioasid_set *set,
                        struct ioasid_record *rec)
{
  if (rec->prev != IOASID_INVALID)
    rec_slot(sys, rec->prev)->next = rec->next;
  else
    set->head = rec->next;
  if (rec->next != IOASID_INVALID)
    rec_slot(sys, rec->next)->prev = rec->prev;
  else
    set->tail = rec->prev;
  rec->prev = rec->next = IOASID_INVALID;
  set->nr_live--;
}

/* Final release: the ID goes back to the free bitmap and its set's quota. May destroy a
 * dead set whose last pending ID this was. */
static void release_id(struct ioasid_system *sys, ioasid_t id, struct ioasid_record *rec)
{
  struct ioasid_set *set = rec_set(sys, rec);
  memset(rec, 0, sizeof(*rec));
  hb_set(&sys->free_ids, id);
  uint32_t c = id >> CHUNK_SHIFT;
  if (--sys->chunk_live[c] == 0) {
    /* Every record of an empty chunk was cleared on release, so it is reusable as is. */
    if (sys->spare_chunk)
      free(sys->chunks[c]);
    else
      sys->spare_chunk = sys->chunks[c];
    sys->chunks[c] = NULL;
  }
  set->nr_ids--;
  if (set->quota == 0)
    sys->shared_used--;
  sys->count--;
  if (set->dead && set->nr_ids == 0)
    set_destroy(sys, set);
}

/* Owner's free of a live ID: leaves the set's list and SPID table now, is released now or
 * at the last put, and notifies FREE. Returns 1 when released. */
static int free_owned(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                      struct ioasid_record *rec)
{
  void *private_data = rec->private_data;
  uint32_t spid = rec->spid;
  list_unlink(sys, set, rec);
  if (spid != IOASID_INVALID) {
    spid_remove(&set->spids, spid);
    rec->spid = IOASID_INVALID;
  }
  int released = rec->refs == 0;
  if (released)
    release_id(sys, id, rec);
  else
    rec->state = IOASID_STATE_FREE_PENDING;
  notify_id(sys, IOASID_NOTIFY_FREE, id, set, private_data, spid,
            released ? IOASID_STATE_FREE : IOASID_STATE_FREE_PENDING);
  return released;
}

int ioasid_set_free(struct ioasid_system *sys, struct ioasid_set *set)
{
  if (!sys || !set_valid(sys, set))
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  while (set->head != IOASID_INVALID) {
    ioasid_t id = set->head;
    free_owned(sys, set, id, rec_slot(sys, id));
  }
  if (set->notifiers || sys->global) {
    struct ioasid_event event = {
      .type = IOASID_NOTIFY_SET_FREE, .id = IOASID_INVALID, .set = set, .token = set->token,
      .private_data = NULL, .spid = IOASID_INVALID, .state = IOASID_STATE_FREE,
    };
    dispatch(sys, set, &event);
  }
  set->dead = true;
  /* Set subscribers end with the set; token subscribers wait for the token's next set. */
  struct ioasid_notifier *nb = set->notifiers;
  set->notifiers = NULL;
  while (nb) {
    struct ioasid_notifier *next = nb->next_;
    nb->set_ = NULL;
    if (nb->where_ == NB_TOKEN_ATTACHED) {
      nb->where_ = NB_TOKEN_PENDING;
      nb->next_ = sys->pending;
      sys->pending = nb;
    } else {
      nb->where_ = NB_NONE;
      nb->next_ = NULL;
    }
    nb = next;
  }
  free(set->spids.slots);
  memset(&set->spids, 0, sizeof(set->spids));
  if (set->nr_ids == 0)
    set_destroy(sys, set);
  return IOASID_OK;
}

int ioasid_set_for_each(struct ioasid_system *sys, struct ioasid_set *set, ioasid_iter_fn fn,
                        void *arg)
{
  if (!sys || !fn || !set_valid(sys, set))
    return IOASID_EINVAL;
  int rc = 0;
  sys->busy++;
  for (ioasid_t id = set->head; id != IOASID_INVALID && rc == 0;) {
    struct ioasid_record *rec = rec_slot(sys, id);
    ioasid_t next = rec->next;
    rc = fn(id, rec->private_data, arg);
    id = next;
  }
  sys->busy--;
  return rc;
}

/* ---- IDs --------------------------------------------------------------------------- */

ioasid_t ioasid_alloc(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t min,
                      ioasid_t max, void *private_data, int *err)
{
  int rc = IOASID_OK;
  if (!sys || !set_valid(sys, set) || min > max)
    rc = IOASID_EINVAL;
  else if (sys->busy)
    rc = IOASID_EREENTRANT;
  else if (set->quota ? set->nr_ids >= set->quota : ioasid_capacity_unreserved(sys) == 0)
    rc = set->quota ? IOASID_EQUOTA : IOASID_ENOSPC;
  if (rc != IOASID_OK) {
    set_err(err, rc);
    return IOASID_INVALID;
  }
  if (min < sys->first_id)
    min = sys->first_id;
  uint32_t id = min < sys->capacity ? hb_find_next(&sys->free_ids, min) : HB_NONE;
  if (id == HB_NONE || id > max) {
    set_err(err, IOASID_ENOSPC);
    return IOASID_INVALID;
  }
  uint32_t c = id >> CHUNK_SHIFT;
  if (!sys->chunks[c]) {
    if (sys->spare_chunk) {
      sys->chunks[c] = sys->spare_chunk;
      sys->spare_chunk = NULL;
    } else {
      sys->chunks[c] = calloc(CHUNK_IDS, sizeof(struct ioasid_record));
    }
    if (!sys->chunks[c]) {
      set_err(err, IOASID_ENOMEM);
      return IOASID_INVALID;
    }
  }
  sys->chunk_live[c]++;
  hb_clear(&sys->free_ids, id);
  struct ioasid_record *rec = &sys->chunks[c][id & (CHUNK_IDS - 1)];
  rec->private_data = private_data;
  rec->set_slot = set->slot + 1;
  rec->refs = 0;
  rec->binds = 0;
  rec->spid = IOASID_INVALID;
  rec->state = IOASID_STATE_IDLE;
  rec->next = IOASID_INVALID;
  rec->prev = set->tail;
  if (set->tail != IOASID_INVALID)
    rec_slot(sys, set->tail)->next = id;
  else
    set->head = id;
  set->tail = id;
  set->nr_live++;
  set->nr_ids++;
  if (set->quota == 0)
    sys->shared_used++;
  sys->count++;
  notify_id(sys, IOASID_NOTIFY_ALLOC, id, set, private_data, IOASID_INVALID, IOASID_STATE_IDLE);
  set_err(err, IOASID_OK);
  return id;
}

/* Common front of the ID calls: the record and, when set is given, its ownership. */
static int lookup_owned(const struct ioasid_system *sys, const struct ioasid_set *set,
                        ioasid_t id, struct ioasid_record **out)
{
  if (!sys || (set && !set_valid(sys, set)))
    return IOASID_EINVAL;
  struct ioasid_record *rec = rec_find(sys, id);
  if (!rec)
    return IOASID_ENOENT;
  if (set && rec_set(sys, rec) != set)
    return IOASID_EPERM;
  *out = rec;
  return IOASID_OK;
}

/* The record a modifying call acts on: owned by set (any owner when set is NULL), and not
 * from inside a notifier or iteration callback. Lookup errors come first. */
static int lookup_for_change(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                             struct ioasid_record **out)
{
  int rc = lookup_owned(sys, set, id, out);
  if (rc)
    return rc;
  return sys->busy ? IOASID_EREENTRANT : IOASID_OK;
}

int ioasid_free(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  if (!set)
    return IOASID_EINVAL;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->state == IOASID_STATE_FREE_PENDING)
    return IOASID_EBUSY;
  return free_owned(sys, set, id, rec);
}

static int take_ref(struct ioasid_system *sys, struct ioasid_record *rec)
{
  if (sys->busy)
    return IOASID_EREENTRANT;
  if (rec->state == IOASID_STATE_FREE_PENDING || rec->refs == UINT32_MAX)
    return IOASID_EBUSY;
  rec->refs++;
  rec->state = IOASID_STATE_ACTIVE;
  return IOASID_OK;
}

int ioasid_get(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  int rc = lookup_owned(sys, set, id, &rec);
  return rc ? rc : take_ref(sys, rec);
}

int ioasid_get_if_owned(struct ioasid_system *sys, const void *token, ioasid_t id)
{
  struct ioasid_record *rec;
  if (!token)
    return IOASID_EINVAL;
  int rc = lookup_owned(sys, NULL, id, &rec);
  if (rc)
    return rc;
  if (rec_set(sys, rec)->token != token)
    return IOASID_EPERM;
  return take_ref(sys, rec);
}

/* Drops one reference; releases a FREE_PENDING ID at zero. Returns 1 when released. */
static int drop_ref(struct ioasid_system *sys, ioasid_t id, struct ioasid_record *rec)
{
  rec->refs--;
  if (rec->refs > 0)
    return 0;
  if (rec->state == IOASID_STATE_FREE_PENDING) {
    release_id(sys, id, rec);
    return 1;
  }
  rec->state = IOASID_STATE_IDLE;
  return 0;
}

int ioasid_put(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->refs <= rec->binds)
    return IOASID_EINVAL;
  return drop_ref(sys, id, rec);
}

int ioasid_bind(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  if (!set)
    return IOASID_EINVAL;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->binds == UINT16_MAX)
    return IOASID_EBUSY;
  rc = take_ref(sys, rec);
  if (rc)
    return rc;
  rec->binds++;
  notify_id(sys, IOASID_NOTIFY_BIND, id, set, rec->private_data, rec->spid, IOASID_STATE_ACTIVE);
  return IOASID_OK;
}

int ioasid_unbind(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->binds == 0)
    return IOASID_EINVAL;
  struct ioasid_set *owner = rec_set(sys, rec);
  bool owner_dead = owner->dead;
  void *private_data = rec->private_data;
  uint32_t spid = rec->spid;
  rec->binds--;
  int released = drop_ref(sys, id, rec);
  enum ioasid_state state = released ? IOASID_STATE_FREE : (enum ioasid_state)rec->state;
  /* A dead owner may be gone now; its subscribers were detached anyway. */
  if (owner_dead) {
    if (sys->global) {
      struct ioasid_event event = {
        .type = IOASID_NOTIFY_UNBIND, .id = id, .set = NULL, .token = NULL,
        .private_data = private_data, .spid = spid, .state = state,
      };
      dispatch(sys, NULL, &event);
    }
  } else {
    notify_id(sys, IOASID_NOTIFY_UNBIND, id, owner, private_data, spid, state);
  }
  return released;
}

int ioasid_find(const struct ioasid_system *sys, const struct ioasid_set *set, ioasid_t id,
                void **private_data)
{
  struct ioasid_record *rec;
  int rc = lookup_owned(sys, set, id, &rec);
  if (rc)
    return rc;
  if (private_data)
    *private_data = rec->private_data;
  return IOASID_OK;
}

int ioasid_attach_data(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                       void *private_data)
{
  struct ioasid_record *rec;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  rec->private_data = private_data;
  return IOASID_OK;
}

enum ioasid_state ioasid_state_of(const struct ioasid_system *sys, ioasid_t id)
{
  struct ioasid_record *rec = sys ? rec_find(sys, id) : NULL;
  return rec ? (enum ioasid_state)rec->state : IOASID_STATE_FREE;
}

uint32_t ioasid_refs_of(const struct ioasid_system *sys, ioasid_t id)
{
  struct ioasid_record *rec = sys ? rec_find(sys, id) : NULL;
  return rec ? rec->refs : 0;
}

uint32_t ioasid_binds_of(const struct ioasid_system *sys, ioasid_t id)
{
  struct ioasid_record *rec = sys ? rec_find(sys, id) : NULL;
  return rec ? rec->binds : 0;
}

struct ioasid_set *ioasid_owner(const struct ioasid_system *sys, ioasid_t id)
{
  struct ioasid_record *rec = sys ? rec_find(sys, id) : NULL;
  return rec ? rec_set(sys, rec) : NULL;
}

/* ---- SPIDs ------------------------------------------------------------------------- */

int ioasid_spid_attach(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id,
                       uint32_t spid)
{
  struct ioasid_record *rec;
  if (!set || spid == IOASID_INVALID)
    return IOASID_EINVAL;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->state == IOASID_STATE_FREE_PENDING)
    return IOASID_EBUSY;
  if (rec->spid != IOASID_INVALID || spid_get(&set->spids, spid) != IOASID_INVALID)
    return IOASID_EEXIST;
  rc = spid_insert(&set->spids, spid, id);
  if (rc)
    return rc;
  rec->spid = spid;
  return IOASID_OK;
}

int ioasid_spid_detach(struct ioasid_system *sys, struct ioasid_set *set, ioasid_t id)
{
  struct ioasid_record *rec;
  if (!set)
    return IOASID_EINVAL;
  int rc = lookup_for_change(sys, set, id, &rec);
  if (rc)
    return rc;
  if (rec->spid == IOASID_INVALID)
    return IOASID_ENOENT;
  spid_remove(&set->spids, rec->spid);
  rec->spid = IOASID_INVALID;
  return IOASID_OK;
}

int ioasid_spid_lookup(const struct ioasid_system *sys, const struct ioasid_set *set,
                       uint32_t spid, ioasid_t *id)
{
  if (!sys || !set_valid(sys, set) || !id)
    return IOASID_EINVAL;
  *id = spid_get(&set->spids, spid);
  return *id == IOASID_INVALID ? IOASID_ENOENT : IOASID_OK;
}

int ioasid_spid_of(const struct ioasid_system *sys, const struct ioasid_set *set, ioasid_t id,
                   uint32_t *spid)
{
  struct ioasid_record *rec;
  if (!spid)
    return IOASID_EINVAL;
  int rc = lookup_owned(sys, set, id, &rec);
  if (rc)
    return rc;
  *spid = rec->spid;
  return rec->spid == IOASID_INVALID ? IOASID_ENOENT : IOASID_OK;
}

/* ---- notifier registration ----------------------------------------------------------- */

int ioasid_notifier_register(struct ioasid_system *sys, struct ioasid_set *set,
                             struct ioasid_notifier *nb)
{
  if (!sys || !nb || !nb->fn || (set && !set_valid(sys, set)))
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  if (nb->where_ != NB_NONE)
    return IOASID_EBUSY;
  nb->priority_ = nb->priority;
  nb->token_ = NULL;
  nb->set_ = set;
  nb->where_ = set ? NB_SET : NB_GLOBAL;
  nb_insert_sorted(set ? &set->notifiers : &sys->global, nb);
  return IOASID_OK;
}

int ioasid_notifier_register_token(struct ioasid_system *sys, const void *token,
                                   struct ioasid_notifier *nb)
{
  if (!sys || !nb || !nb->fn || !token)
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  if (nb->where_ != NB_NONE)
    return IOASID_EBUSY;
  nb->priority_ = nb->priority;
  nb->token_ = token;
  struct ioasid_set *set = ioasid_find_set(sys, token);
  if (set) {
    nb->set_ = set;
    nb->where_ = NB_TOKEN_ATTACHED;
    nb_insert_sorted(&set->notifiers, nb);
  } else {
    nb->set_ = NULL;
    nb->where_ = NB_TOKEN_PENDING;
    nb->next_ = sys->pending;
    sys->pending = nb;
  }
  return IOASID_OK;
}

int ioasid_notifier_unregister(struct ioasid_system *sys, struct ioasid_notifier *nb)
{
  if (!sys || !nb)
    return IOASID_EINVAL;
  if (sys->busy)
    return IOASID_EREENTRANT;
  struct ioasid_notifier **list;
  switch (nb->where_) {
  case NB_GLOBAL: list = &sys->global; break;
  case NB_TOKEN_PENDING: list = &sys->pending; break;
  case NB_SET:
  case NB_TOKEN_ATTACHED:
    if (!nb->set_ || nb->set_->sys != sys)
      return IOASID_ENOENT;
    list = &nb->set_->notifiers;
    break;
  default: return IOASID_ENOENT;
  }
  if (!nb_remove(list, nb))
    return IOASID_ENOENT;
  nb->set_ = NULL;
  nb->token_ = NULL;
  nb->where_ = NB_NONE;
  return IOASID_OK;
}

bool ioasid_notifier_registered(const struct ioasid_notifier *nb)
{
  return nb && nb->where_ != NB_NONE;
}

/* ---- invariants ---------------------------------------------------------------------- */

struct check {
  char *detail;
  size_t len;
};

/* Writes "what" and, when value != IOASID_INVALID, " value" (no printf in the allocator). */
static int fail(struct check *ck, const char *what, uint32_t value)
{
  if (ck->detail && ck->len) {
    size_t n = strlen(what);
    if (n >= ck->len)
      n = ck->len - 1;
    memcpy(ck->detail, what, n);
    if (value != IOASID_INVALID && n + 12 < ck->len) {
      char digits[11];
      unsigned k = 0;
      do {
        digits[k++] = (char)('0' + value % 10);
        value /= 10;
      } while (value);
      ck->detail[n++] = ' ';
      while (k)
        ck->detail[n++] = digits[--k];
    }
    ck->detail[n] = '\0';
  }
  return IOASID_ECORRUPT;
}

struct set_tally {
  uint32_t ids, live, spids;
};

static int check_bitmap(const struct ioasid_system *sys, struct check *ck)
{
  const struct hbitmap *hb = &sys->free_ids;
  if (sys->capacity == 0)
    return hb->levels == 0 ? IOASID_OK : fail(ck, "bitmap present at capacity 0", 0);
  for (unsigned l = 0; l < hb->levels; l++) {
    uint32_t words = (hb->nbits[l] + 63) / 64;
    if (l + 1 < hb->levels ? hb->nbits[l + 1] != words : words != 1)
      return fail(ck, "bitmap level size wrong at level", l);
    if (hb->nbits[l] % 64 && hb->words[l][words - 1] >> (hb->nbits[l] % 64))
      return fail(ck, "bitmap bit set beyond the end at level", l);
    if (l == 0)
      continue;
    for (uint32_t i = 0; i < hb->nbits[l]; i++) {
      bool summary = hb->words[l][i / 64] >> (i % 64) & 1;
      if (summary != (hb->words[l - 1][i] != 0))
        return fail(ck, "bitmap summary bit disagrees with its word, level/word", l * 100000 + i);
    }
  }
  return IOASID_OK;
}

static int check_records(const struct ioasid_system *sys, struct set_tally *tally,
                         struct check *ck)
{
  uint32_t total = 0;
  for (uint32_t c = 0; c < sys->nchunks; c++) {
    const struct ioasid_record *chunk = sys->chunks[c];
    uint32_t live = 0;
    uint32_t ids = sys->capacity - c * CHUNK_IDS < CHUNK_IDS ? sys->capacity - c * CHUNK_IDS
                                                              : CHUNK_IDS;
    for (uint32_t i = 0; i < ids; i++) {
      ioasid_t id = c * CHUNK_IDS + i;
      bool is_free = !chunk || chunk[i].state == IOASID_STATE_FREE;
      bool should_be_in_bitmap = is_free && id >= sys->first_id;
      if (hb_test(&sys->free_ids, id) != should_be_in_bitmap)
        return fail(ck, "free bitmap disagrees with record of ID", id);
      if (is_free) {
        if (chunk && (chunk[i].set_slot || chunk[i].refs || chunk[i].binds))
          return fail(ck, "free record not cleared, ID", id);
        continue;
      }
      const struct ioasid_record *rec = &chunk[i];
      live++;
      if (id < sys->first_id)
        return fail(ck, "reserved PASID 0 allocated", IOASID_INVALID);
      if (rec->state > IOASID_STATE_FREE_PENDING)
        return fail(ck, "bad state, ID", id);
      if (rec->set_slot == 0 || rec->set_slot > sys->nsets_slots || !sys->sets[rec->set_slot - 1])
        return fail(ck, "record names no set, ID", id);
      if (rec->binds > rec->refs)
        return fail(ck, "more binds than references, ID", id);
      if ((rec->state == IOASID_STATE_IDLE) != (rec->refs == 0))
        return fail(ck, "IDLE/ACTIVE disagrees with references, ID", id);
      struct set_tally *t = &tally[rec->set_slot - 1];
      t->ids++;
      if (rec->state == IOASID_STATE_FREE_PENDING) {
        if (rec->spid != IOASID_INVALID)
          return fail(ck, "FREE_PENDING ID keeps an SPID, ID", id);
        if (rec->prev != IOASID_INVALID || rec->next != IOASID_INVALID)
          return fail(ck, "FREE_PENDING ID still linked, ID", id);
      } else {
        t->live++;
      }
      if (rec->spid != IOASID_INVALID)
        t->spids++;
    }
    if (live != sys->chunk_live[c])
      return fail(ck, "chunk live count wrong, chunk", c);
    if (!chunk != (live == 0))
      return fail(ck, "chunk allocated without live IDs (or the reverse), chunk", c);
    total += live;
  }
  if (total != sys->count)
    return fail(ck, "ID count wrong, counted", total);
  static const struct ioasid_record zero;
  for (uint32_t i = 0; sys->spare_chunk && i < CHUNK_IDS; i++) {
    if (memcmp(&sys->spare_chunk[i], &zero, sizeof(zero)) != 0)
      return fail(ck, "spare chunk not cleared at record", i);
  }
  return IOASID_OK;
}

static int check_notifier_list(const struct ioasid_notifier *nb, const struct ioasid_set *set,
                               bool global, struct check *ck)
{
  uint32_t steps = 0;
  for (; nb; nb = nb->next_) {
    if (++steps > 1000000)
      return fail(ck, "notifier list loops", IOASID_INVALID);
    if (global ? nb->where_ != NB_GLOBAL
               : (nb->where_ != NB_SET && nb->where_ != NB_TOKEN_ATTACHED) || nb->set_ != set)
      return fail(ck, "notifier on the wrong list", IOASID_INVALID);
    if (nb->next_ && nb->next_->priority_ > nb->priority_)
      return fail(ck, "notifier list not in priority order", IOASID_INVALID);
  }
  return IOASID_OK;
}

static int check_set(const struct ioasid_system *sys, const struct ioasid_set *set,
                     const struct set_tally *t, struct check *ck)
{
  uint32_t slot = set->slot;
  if (set->sys != sys)
    return fail(ck, "set belongs to another system, slot", slot);
  if (t->ids != set->nr_ids || t->live != set->nr_live)
    return fail(ck, "set ID counts wrong, slot", slot);
  if (set->quota && set->nr_ids > set->quota)
    return fail(ck, "set over its quota, slot", slot);
  if (set->dead && (set->nr_live || set->nr_ids == 0 || set->notifiers || set->spids.count))
    return fail(ck, "dead set holds live state, slot", slot);
  /* Walk the live list: links, ownership, length. */
  uint32_t n = 0;
  ioasid_t prev = IOASID_INVALID;
  for (ioasid_t id = set->head; id != IOASID_INVALID;) {
    const struct ioasid_record *rec = rec_find(sys, id);
    if (!rec || rec->set_slot != slot + 1 || rec->state == IOASID_STATE_FREE_PENDING)
      return fail(ck, "set list holds a foreign or freed ID", id);
    if (rec->prev != prev)
      return fail(ck, "set list back link wrong at ID", id);
    if (++n > set->nr_live)
      return fail(ck, "set list longer than its count, slot", slot);
    prev = id;
    id = rec->next;
  }
  if (n != set->nr_live || set->tail != prev)
    return fail(ck, "set list length or tail wrong, slot", slot);
  /* SPID table: every entry is reachable from its home slot and matches its record. */
  const struct spid_table *sp = &set->spids;
  if (sp->count != t->spids)
    return fail(ck, "SPID table count wrong, slot", slot);
  if (sp->size ? (sp->size & (sp->size - 1)) || (uint64_t)sp->count * 4 > (uint64_t)sp->size * 3
               : sp->count != 0 || sp->slots != NULL)
    return fail(ck, "SPID table size or load wrong, slot", slot);
  uint32_t entries = 0;
  for (uint32_t i = 0; i < sp->size; i++) {
    const struct spid_entry *e = &sp->slots[i];
    if (e->id == IOASID_INVALID)
      continue;
    entries++;
    const struct ioasid_record *rec = rec_find(sys, e->id);
    if (!rec || rec->set_slot != slot + 1 || rec->spid != e->spid)
      return fail(ck, "SPID entry disagrees with its record, SPID", e->spid);
    for (uint32_t j = spid_home(sp, e->spid); j != i; j = (j + 1) & (sp->size - 1)) {
      if (sp->slots[j].id == IOASID_INVALID)
        return fail(ck, "SPID entry unreachable (hole in probe run), SPID", e->spid);
    }
  }
  if (entries != sp->count)
    return fail(ck, "SPID table entries disagree with its count, slot", slot);
  return check_notifier_list(set->notifiers, set, false, ck);
}

int ioasid_check_invariants(const struct ioasid_system *sys, char *detail, size_t detail_len)
{
  struct check ck = { detail, detail_len };
  if (detail && detail_len)
    detail[0] = '\0';
  if (!sys)
    return fail(&ck, "no system", IOASID_INVALID);
  if (sys->capacity > IOASID_MAX_CAPACITY || sys->first_id > 1 ||
      sys->usable != sys->capacity - sys->first_id)
    return fail(&ck, "capacity fields inconsistent", IOASID_INVALID);
  int rc = check_bitmap(sys, &ck);
  if (rc)
    return rc;
  struct set_tally *tally = calloc(sys->nsets_slots ? sys->nsets_slots : 1, sizeof(*tally));
  if (!tally)
    return IOASID_ENOMEM;
  rc = check_records(sys, tally, &ck);
  uint64_t quotas = 0, shared = 0, charged = 0;
  uint32_t nsets = 0;
  for (uint32_t i = 0; rc == 0 && i < sys->nsets_slots; i++) {
    const struct ioasid_set *set = sys->sets[i];
    if (!set)
      continue;
    nsets++;
    if (set->slot != i) {
      rc = fail(&ck, "set slot index wrong, slot", i);
      break;
    }
    rc = check_set(sys, set, &tally[i], &ck);
    quotas += set->quota;
    charged += set->nr_ids;
    if (set->quota == 0)
      shared += set->nr_ids;
    if (rc == 0 && set->token && !set->dead && ioasid_find_set(sys, set->token) != set)
      rc = fail(&ck, "two live sets share a token, slot", i);
  }
  free(tally);
  if (rc)
    return rc;
  if (nsets != sys->nsets)
    return fail(&ck, "set count wrong, counted", nsets);
  if (quotas != sys->reserved_quota)
    return fail(&ck, "reserved quota disagrees with the sets' quotas", IOASID_INVALID);
  if (shared != sys->shared_used)
    return fail(&ck, "shared use disagrees with unlimited sets' IDs", IOASID_INVALID);
  if (charged != sys->count)
    return fail(&ck, "sets' ID counts disagree with the system count", IOASID_INVALID);
  if ((uint64_t)sys->reserved_quota + sys->reserved_explicit + sys->shared_used > sys->usable)
    return fail(&ck, "capacity over-committed", IOASID_INVALID);
  rc = check_notifier_list(sys->global, NULL, true, &ck);
  if (rc)
    return rc;
  uint32_t steps = 0;
  for (const struct ioasid_notifier *nb = sys->pending; nb; nb = nb->next_) {
    if (++steps > 1000000)
      return fail(&ck, "pending notifier list loops", IOASID_INVALID);
    if (nb->where_ != NB_TOKEN_PENDING || !nb->token_ || nb->set_)
      return fail(&ck, "pending notifier in the wrong state", IOASID_INVALID);
    if (ioasid_find_set(sys, nb->token_))
      return fail(&ck, "pending notifier's token has a live set", IOASID_INVALID);
  }
  return IOASID_OK;
}
