/* IOMMU groups (group.h): formation from the PCI topology, whole-group attach, listeners. */
#include "iommu/core/group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct platform *group_plat;   /* the platform the table was built for */
static struct iommu_group groups[IOMMU_MAX_GROUPS];
static unsigned n_groups;
static bool group_attach_running;     /* iommu_attach called by a whole-group attach */

const char *iommu_group_event_name(enum iommu_group_event ev)
{
  switch (ev) {
  case IOMMU_GROUP_DEVICE_ADD: return "device-add";
  case IOMMU_GROUP_DEVICE_REMOVE: return "device-remove";
  case IOMMU_GROUP_DRIVER_BIND: return "driver-bind";
  case IOMMU_GROUP_DRIVER_UNBIND: return "driver-unbind";
  }
  return "?";
}

/* ---------------------------------------------------------------- formation */

struct forming {
  const struct pci_topology *topo;
  int set[PCI_MAX_DEVS];              /* union-find parent; -1: no unit translates it */
  struct iommu_unit *unit[PCI_MAX_DEVS];
  unsigned reasons[PCI_MAX_DEVS];     /* valid at each set's root */
  char why[PCI_MAX_DEVS][192];
};

static int find_set(struct forming *f, int i)
{
  while (f->set[i] != i)
    i = f->set[i] = f->set[f->set[i]];
  return i;
}

static void append_why(char *why, size_t len, const char *text)
{
  if (strstr(why, text))
    return;
  size_t n = strlen(why);
  snprintf(why + n, len - n, "%s%s", n ? "; " : "", text);
}

/* Puts a and b in one set, remembering why. */
static void join(struct forming *f, int a, int b, enum iommu_group_reason reason, const char *text)
{
  if (f->set[a] < 0 || f->set[b] < 0)
    return; /* a function no unit translates groups with nothing */
  int ra = find_set(f, a), rb = find_set(f, b);
  if (ra != rb) {
    if (rb < ra) {
      int t = ra;
      ra = rb;
      rb = t;
    }
    f->set[rb] = ra;
    f->reasons[ra] |= f->reasons[rb];
    char merged[192];
    snprintf(merged, sizeof(merged), "%s", f->why[rb]);
    if (merged[0])
      append_why(f->why[ra], sizeof(f->why[ra]), merged);
  }
  f->reasons[ra] |= reason;
  append_why(f->why[ra], sizeof(f->why[ra]), text);
}

static void bdf(const struct pci_dev *d, char *buf, size_t len)
{
  snprintf(buf, len, "%02x:%02x.%u", d->bus, d->dev, d->fn);
}

/* A bridge or port keeps the functions below it apart from each other and from the rest:
 * PCI Express with the ACS controls it needs (conventional PCI and PCI-to-PCIe bridges
 * cannot). */
static bool isolates(const struct pci_dev *b)
{
  if (!b->caps.pcie || b->caps.pcie_port_type == PCI_PORT_PCI_TO_PCIE)
    return false;
  return pci_acs_missing(b) == 0;
}

static bool path_isolates(const struct pci_topology *topo, int b)
{
  for (; b >= 0; b = topo->devs[b].parent)
    if (!isolates(&topo->devs[b]))
      return false;
  return true;
}

static const char *not_isolating_text(const struct pci_dev *b, char *buf, size_t len)
{
  char name[16], bits[24];
  bdf(b, name, sizeof(name));
  if (!b->caps.pcie)
    snprintf(buf, len, "ACS: %s is a conventional PCI bridge", name);
  else if (b->caps.pcie_port_type == PCI_PORT_PCI_TO_PCIE)
    snprintf(buf, len, "ACS: %s is a PCI-to-PCIe bridge", name);
  else
    snprintf(buf, len, "ACS: %s (%s) lacks %s%s", name, pci_port_type_name(b->caps.pcie_port_type),
             pci_acs_bits_text(pci_acs_missing(b), bits, sizeof(bits)),
             b->caps.acs ? "" : " (no ACS capability)");
  return buf;
}

static void join_function(struct forming *f, int i)
{
  const struct pci_topology *topo = f->topo;
  const struct pci_dev *d = &topo->devs[i];
  char name[16], other[16], text[160];
  bdf(d, name, sizeof(name));
  /* DMA aliases: the bridge (or function) whose ID the DMA carries is in the same group. */
  int top = i;
  for (unsigned a = 0; a < d->n_aliases; a++) {
    const struct pci_dma_alias *al = &d->aliases[a];
    int j = al->via;
    if (j < 0)
      for (unsigned k = 0; k < topo->n && j < 0; k++)
        if (topo->devs[k].segment == d->segment && pci_rid(&topo->devs[k]) == al->rid)
          j = (int)k;
    if (al->via >= 0) {
      bdf(&topo->devs[al->via], other, sizeof(other));
      snprintf(text, sizeof(text), "alias: %s DMA carries 0x%04x (%s %s)", name, al->rid,
               pci_alias_kind_name(al->kind), other);
      top = al->via;
    } else {
      snprintf(text, sizeof(text), "alias: %s DMA carries 0x%04x (%s)", name, al->rid,
               pci_alias_kind_name(al->kind));
    }
    if (j >= 0)
      join(f, i, j, IOMMU_GROUP_ALIAS, text);
    else if (f->set[i] >= 0) {
      int r = find_set(f, i);
      f->reasons[r] |= IOMMU_GROUP_ALIAS;
      append_why(f->why[r], sizeof(f->why[r]), text);
    }
  }
  /* ACS: up to the last bridge whose path to the root does not isolate. */
  for (int b = topo->devs[top].parent; b >= 0; b = topo->devs[b].parent) {
    if (path_isolates(topo, b))
      break;
    char reason[128] = "";
    for (int x = b; x >= 0; x = topo->devs[x].parent)
      if (!isolates(&topo->devs[x])) {
        not_isolating_text(&topo->devs[x], reason, sizeof(reason));
        break;
      }
    join(f, i, b, IOMMU_GROUP_ACS, reason);
  }
  /* Multifunction devices without ACS: every such function of the slot. */
  if (d->multifunction && !pci_is_bridge(d) && pci_acs_missing(d)) {
    char bits[24];
    snprintf(text, sizeof(text), "multifunction: %02x:%02x.* without ACS %s", d->bus, d->dev,
             pci_acs_bits_text(pci_acs_missing(d), bits, sizeof(bits)));
    for (unsigned k = 0; k < topo->n; k++) {
      const struct pci_dev *o = &topo->devs[k];
      if ((int)k != i && o->segment == d->segment && o->bus == d->bus && o->dev == d->dev &&
          !pci_is_bridge(o) && pci_acs_missing(o))
        join(f, i, (int)k, IOMMU_GROUP_MULTIFUNCTION, text);
    }
  }
}

static uint32_t sort_key(const struct pci_topology *topo, int i)
{
  return (uint32_t)topo->devs[i].segment << 16 | pci_rid(&topo->devs[i]);
}

static void add_rid(struct iommu_group *g, uint16_t rid)
{
  for (unsigned i = 0; i < g->n_rids; i++)
    if (g->rids[i] == rid)
      return;
  if (g->n_rids < IOMMU_GROUP_MAX_RIDS)
    g->rids[g->n_rids++] = rid;
}

static int form(struct platform *plat, struct iommu_group *out, unsigned max, unsigned *n_out)
{
  const struct pci_topology *topo = &plat->pci;
  *n_out = 0;
  struct forming *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return IOMMU_ENOMEM;
  f->topo = topo;
  char how[128];
  for (unsigned i = 0; i < topo->n; i++) {
    const struct pci_dev *d = &topo->devs[i];
    f->unit[i] = platform_unit_for_rid(plat, d->segment, pci_rid(d), how, sizeof(how));
    f->set[i] = f->unit[i] ? (int)i : -1;
  }
  for (unsigned i = 0; i < topo->n; i++)
    if (f->set[i] >= 0)
      join_function(f, (int)i);

  /* Sets -> groups, numbered by their lowest (segment, RID): the topology is walked in
   * enumeration order, so sort the roots by key. */
  int roots[PCI_MAX_DEVS];
  unsigned n_roots = 0;
  int err = IOMMU_OK;
  for (unsigned i = 0; i < topo->n; i++)
    if (f->set[i] >= 0 && find_set(f, (int)i) == (int)i)
      roots[n_roots++] = (int)i;
  for (unsigned a = 1; a < n_roots; a++) /* insertion sort: a handful of groups */
    for (unsigned b = a; b > 0; b--) {
      int lo_b = -1, lo_p = -1;
      for (unsigned k = 0; k < topo->n; k++) {
        if (f->set[k] < 0)
          continue;
        int r = find_set(f, (int)k);
        if (r == roots[b] && (lo_b < 0 || sort_key(topo, (int)k) < sort_key(topo, lo_b)))
          lo_b = (int)k;
        if (r == roots[b - 1] && (lo_p < 0 || sort_key(topo, (int)k) < sort_key(topo, lo_p)))
          lo_p = (int)k;
      }
      if (sort_key(topo, lo_b) >= sort_key(topo, lo_p))
        break;
      int t = roots[b];
      roots[b] = roots[b - 1];
      roots[b - 1] = t;
    }
  for (unsigned r = 0; r < n_roots; r++) {
    if (*n_out == max) {
      err = IOMMU_ENOMEM;
      break;
    }
    struct iommu_group *g = &out[*n_out];
    memset(g, 0, sizeof(*g));
    g->id = (*n_out)++;
    g->unit = f->unit[roots[r]];
    g->segment = topo->devs[roots[r]].segment;
    g->reasons = f->reasons[roots[r]];
    snprintf(g->why, sizeof(g->why), "%s", f->why[roots[r]]);
    for (unsigned k = 0; k < topo->n; k++) {
      if (f->set[k] < 0 || find_set(f, (int)k) != roots[r])
        continue;
      if (g->n_members == IOMMU_GROUP_MAX_MEMBERS) {
        err = IOMMU_ENOMEM;
        continue;
      }
      unsigned at = g->n_members++; /* keep members ordered by RID */
      while (at > 0 && sort_key(topo, g->members[at - 1]) > sort_key(topo, (int)k)) {
        g->members[at] = g->members[at - 1];
        at--;
      }
      g->members[at] = (int)k;
    }
    for (unsigned m = 0; m < g->n_members; m++) {
      const struct pci_dev *d = &topo->devs[g->members[m]];
      g->present[m] = true;
      add_rid(g, pci_rid(d));
      for (unsigned a = 0; a < d->n_aliases; a++)
        if (platform_unit_for_rid(plat, d->segment, d->aliases[a].rid, how, sizeof(how)) == g->unit)
          add_rid(g, d->aliases[a].rid);
    }
  }
  free(f);
  return err;
}

int iommu_groups_form(struct platform *plat, struct iommu_group *out, unsigned max, unsigned *n)
{
  return form(plat, out, max, n);
}

int iommu_groups_build(struct platform *plat)
{
  if (group_plat == plat)
    return IOMMU_OK;
  iommu_groups_forget();
  int err = form(plat, groups, IOMMU_MAX_GROUPS, &n_groups);
  group_plat = plat;
  return err;
}

void iommu_groups_forget(void)
{
  memset(groups, 0, sizeof(groups));
  n_groups = 0;
  group_plat = NULL;
}

unsigned iommu_group_count(void) { return n_groups; }

struct iommu_group *iommu_group_get(unsigned id) { return id < n_groups ? &groups[id] : NULL; }

struct iommu_group *iommu_group_of_rid(uint16_t segment, uint16_t rid)
{
  for (unsigned g = 0; g < n_groups; g++)
    for (unsigned i = 0; groups[g].segment == segment && i < groups[g].n_rids; i++)
      if (groups[g].rids[i] == rid)
        return &groups[g];
  return NULL;
}

const struct pci_dev *iommu_group_member(const struct iommu_group *g, unsigned i)
{
  return group_plat && i < g->n_members ? &group_plat->pci.devs[g->members[i]] : NULL;
}

/* ---------------------------------------------------------------- attach */

/* The requester IDs of present members (and their aliases). */
static bool rid_in_use(const struct iommu_group *g, uint16_t rid)
{
  for (unsigned m = 0; m < g->n_members; m++) {
    const struct pci_dev *d = &group_plat->pci.devs[g->members[m]];
    if (!g->present[m])
      continue;
    if (pci_rid(d) == rid)
      return true;
    for (unsigned a = 0; a < d->n_aliases; a++)
      if (d->aliases[a].rid == rid)
        return true;
  }
  return false;
}

int iommu_group_attach(struct iommu_group *g, struct iommu_domain *dom)
{
  if (g == NULL || dom == NULL || group_plat == NULL)
    return IOMMU_EINVAL;
  if (dom->unit != g->unit)
    return IOMMU_EINVAL;
  struct iommu_domain *before[IOMMU_GROUP_MAX_RIDS];
  struct iommu_device *devs[IOMMU_GROUP_MAX_RIDS];
  int err = IOMMU_OK;
  unsigned done = 0;
  for (unsigned i = 0; i < g->n_rids; i++) {
    devs[i] = iommu_device_get(group_plat, g->segment, g->rids[i], &err);
    if (devs[i] == NULL)
      return err;
    before[i] = devs[i]->domain;
  }
  group_attach_running = true;
  for (; done < g->n_rids; done++) {
    if (!rid_in_use(g, g->rids[done]) || devs[done]->domain == dom)
      continue;
    err = iommu_attach(dom, devs[done]);
    if (err)
      break;
  }
  if (err) /* all or nothing */
    for (unsigned i = 0; i < done; i++) {
      if (devs[i]->domain == before[i])
        continue;
      if (before[i])
        iommu_attach(before[i], devs[i]);
      else
        iommu_detach(devs[i]);
    }
  group_attach_running = false;
  if (err == IOMMU_OK)
    g->domain = dom;
  return err;
}

int iommu_group_detach(struct iommu_group *g)
{
  if (g == NULL || group_plat == NULL)
    return IOMMU_EINVAL;
  if (g->domain == NULL)
    return IOMMU_ENOENT;
  int first_err = IOMMU_OK;
  for (unsigned i = 0; i < g->n_rids; i++) {
    int err;
    struct iommu_device *dev = iommu_device_get(group_plat, g->segment, g->rids[i], &err);
    if (dev && dev->domain)
      err = iommu_detach(dev);
    if (err && first_err == IOMMU_OK)
      first_err = err;
  }
  g->domain = NULL;
  return first_err;
}

int iommu_group_check_single_attach(const struct iommu_device *dev)
{
  if (group_attach_running)
    return IOMMU_OK;
  const struct iommu_group *g = iommu_group_of_rid(dev->segment, dev->rid);
  return g && g->n_rids > 1 ? IOMMU_EGROUP : IOMMU_OK;
}

void iommu_groups_forget_unit(const struct iommu_unit *unit)
{
  for (unsigned g = 0; g < n_groups; g++)
    if (groups[g].unit == unit)
      groups[g].domain = NULL;
}

/* ---------------------------------------------------------------- events */

int iommu_group_listen(struct iommu_group *g, iommu_group_listener_fn fn, void *ctx)
{
  for (unsigned i = 0; i < IOMMU_GROUP_MAX_LISTENERS; i++)
    if (g->listeners[i].fn == NULL) {
      g->listeners[i].fn = fn;
      g->listeners[i].ctx = ctx;
      return IOMMU_OK;
    }
  return IOMMU_ENOMEM;
}

void iommu_group_unlisten(struct iommu_group *g, iommu_group_listener_fn fn, void *ctx)
{
  for (unsigned i = 0; i < IOMMU_GROUP_MAX_LISTENERS; i++)
    if (g->listeners[i].fn == fn && g->listeners[i].ctx == ctx)
      g->listeners[i].fn = NULL;
}

static void notify(struct iommu_group *g, enum iommu_group_event ev, const struct pci_dev *d,
                   const char *driver)
{
  for (unsigned i = 0; i < IOMMU_GROUP_MAX_LISTENERS; i++)
    if (g->listeners[i].fn)
      g->listeners[i].fn(g->listeners[i].ctx, g, ev, d, driver);
}

/* The group and member slot of a function; NULL when it belongs to none. */
static struct iommu_group *group_of_function(const struct pci_dev *d, unsigned *slot)
{
  if (group_plat == NULL)
    return NULL;
  for (unsigned g = 0; g < n_groups; g++)
    for (unsigned m = 0; m < groups[g].n_members; m++)
      if (&group_plat->pci.devs[groups[g].members[m]] == d) {
        *slot = m;
        return &groups[g];
      }
  return NULL;
}

/* The function a hot-plug call names and its group; NULL with *err set when there is none. */
static struct iommu_group *hotplug_group(struct platform *plat, int pci_index,
                                         const struct pci_dev **d, unsigned *m, int *err)
{
  *err = IOMMU_EINVAL;
  if (plat != group_plat || pci_index < 0 || (unsigned)pci_index >= plat->pci.n)
    return NULL;
  *d = &plat->pci.devs[pci_index];
  struct iommu_group *g = group_of_function(*d, m);
  *err = g ? IOMMU_OK : IOMMU_ENOENT;
  return g;
}

int iommu_group_remove_device(struct platform *plat, int pci_index)
{
  unsigned m;
  int err;
  const struct pci_dev *d;
  struct iommu_group *g = hotplug_group(plat, pci_index, &d, &m, &err);
  if (g == NULL || !g->present[m])
    return g ? IOMMU_ENOENT : err;
  g->present[m] = false;
  /* Its own ID (and aliases no other member uses) stop being translated for the group. */
  uint16_t ids[1 + PCI_MAX_DMA_ALIASES];
  unsigned n = 0;
  ids[n++] = pci_rid(d);
  for (unsigned a = 0; a < d->n_aliases; a++)
    ids[n++] = d->aliases[a].rid;
  for (unsigned i = 0; i < n && err == IOMMU_OK; i++) {
    if (rid_in_use(g, ids[i]))
      continue;
    struct iommu_device *dev = iommu_device_get(plat, g->segment, ids[i], &err);
    if (dev && dev->domain)
      err = iommu_detach(dev);
    else if (dev)
      err = IOMMU_OK;
  }
  notify(g, IOMMU_GROUP_DEVICE_REMOVE, d, NULL);
  return err;
}

int iommu_group_add_device(struct platform *plat, int pci_index)
{
  unsigned m;
  int err;
  const struct pci_dev *d;
  struct iommu_group *g = hotplug_group(plat, pci_index, &d, &m, &err);
  if (g == NULL)
    return err;
  if (g->present[m])
    return IOMMU_EEXIST;
  g->present[m] = true;
  if (g->domain) /* a device joining an attached group joins its domain */
    err = iommu_group_attach(g, g->domain);
  notify(g, IOMMU_GROUP_DEVICE_ADD, d, NULL);
  return err;
}

void iommu_group_driver_event(const struct pci_dev *dev, bool bind, const char *driver)
{
  unsigned m;
  struct iommu_group *g = group_of_function(dev, &m);
  if (g)
    notify(g, bind ? IOMMU_GROUP_DRIVER_BIND : IOMMU_GROUP_DRIVER_UNBIND, dev, driver);
}

void iommu_group_describe(const struct iommu_group *g, char *buf, size_t len)
{
  size_t n = 0;
  int w = snprintf(buf, len, "group %u [%s]:", g->id, g->unit ? g->unit->source : "no unit");
  for (unsigned m = 0; w >= 0 && (n += (size_t)w) < len && m < g->n_members; m++) {
    const struct pci_dev *d = iommu_group_member(g, m);
    w = snprintf(buf + n, len - n, " %04x:%02x:%02x.%u", d->segment, d->bus, d->dev, d->fn);
  }
  if (n < len)
    w = snprintf(buf + n, len - n, " RIDs");
  for (unsigned r = 0; w >= 0 && (n += (size_t)w) < len && r < g->n_rids; r++)
    w = snprintf(buf + n, len - n, " 0x%04x", g->rids[r]);
  if (n < len)
    snprintf(buf + n, len - n, " -- %s", g->why[0] ? g->why : "alone (isolated)");
}
