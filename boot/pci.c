/* PCI enumeration and capability decoding (PCI Express Base 6.0). */
#include "boot/pci.h"

#include <stdio.h>
#include <string.h>

#include "arch/arch.h"

#define PCI_MAX_BRIDGE_DEPTH 32
#define PCI_CAP_LIST_MAX 48      /* (256 - 64) / 4 */
#define PCI_EXT_CAP_LIST_MAX 960 /* (4096 - 256) / 4 */

const char *pci_strerror(int err)
{
  switch (err) {
  case PCI_OK: return "ok";
  case PCI_ECAPLOOP: return "PCI_ECAPLOOP";
  case PCI_ECAPPTR: return "PCI_ECAPPTR";
  case PCI_ETOOMANY: return "PCI_ETOOMANY";
  case PCI_EDEPTH: return "PCI_EDEPTH";
  default: return "PCI_E?";
  }
}

const char *pci_port_type_name(uint8_t type)
{
  static const char *const names[] = {
    "endpoint", "legacy endpoint", "?", "?", "root port", "upstream port", "downstream port",
    "PCIe-to-PCI bridge", "PCI-to-PCIe bridge", "RC integrated endpoint", "RC event collector",
  };
  return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static uint32_t cfg32(const struct pci_cfg_ops *ops, const struct pci_dev *d, uint16_t off)
{
  return ops->read32(ops->ctx, d->segment, d->bus, d->dev, d->fn, off);
}

static int walk_std_caps(const struct pci_cfg_ops *ops, struct pci_dev *d)
{
  struct pci_caps *c = &d->caps;
  uint16_t status = (uint16_t)(cfg32(ops, d, 0x04) >> 16);
  if (!(status & 0x10))
    return PCI_OK; /* no capability list */
  uint8_t ptr = (uint8_t)(cfg32(ops, d, 0x34) & 0xfc);
  for (unsigned i = 0; ptr != 0; i++) {
    if (i == PCI_CAP_LIST_MAX)
      return PCI_ECAPLOOP;
    if (ptr < 0x40)
      return PCI_ECAPPTR;
    uint32_t hdr = cfg32(ops, d, ptr);
    uint8_t id = (uint8_t)hdr;
    uint16_t ctl = (uint16_t)(hdr >> 16);
    switch (id) {
    case PCI_CAP_ID_MSI:
      c->msi = ptr;
      c->msi_64bit = ctl & 0x80;
      c->msi_max_vectors = (uint8_t)(1u << ((ctl >> 1) & 7));
      break;
    case PCI_CAP_ID_MSIX:
      c->msix = ptr;
      c->msix_table_size = (uint16_t)((ctl & 0x7ff) + 1);
      break;
    case PCI_CAP_ID_PCIE:
      c->pcie = ptr;
      c->pcie_version = ctl & 0xf;
      c->pcie_port_type = (ctl >> 4) & 0xf;
      break;
    default:
      break;
    }
    ptr = (uint8_t)((hdr >> 8) & 0xfc);
  }
  return PCI_OK;
}

static int walk_ext_caps(const struct pci_cfg_ops *ops, struct pci_dev *d)
{
  struct pci_caps *c = &d->caps;
  uint16_t off = 0x100;
  for (unsigned i = 0; off != 0; i++) {
    if (i == PCI_EXT_CAP_LIST_MAX)
      return PCI_ECAPLOOP;
    if (off < 0x100 || off > 0xffc)
      return PCI_ECAPPTR;
    uint32_t hdr = cfg32(ops, d, off);
    if (hdr == 0 || hdr == 0xffffffffu)
      return PCI_OK; /* empty extended space */
    uint16_t id = (uint16_t)hdr;
    switch (id) {
    case PCI_EXT_CAP_ID_ACS:
      c->acs = off;
      c->acs_cap = (uint16_t)cfg32(ops, d, off + 4);
      c->acs_ctl = (uint16_t)(cfg32(ops, d, off + 4) >> 16);
      break;
    case PCI_EXT_CAP_ID_ATS: {
      uint16_t cap = (uint16_t)cfg32(ops, d, off + 4);
      c->ats = off;
      c->ats_queue_depth = cap & 0x1f;
      c->ats_page_aligned = cap & 0x20;
      break;
    }
    case PCI_EXT_CAP_ID_PRI:
      c->pri = off;
      c->pri_capacity = cfg32(ops, d, off + 8);
      break;
    case PCI_EXT_CAP_ID_PASID: {
      uint16_t cap = (uint16_t)cfg32(ops, d, off + 4);
      c->pasid = off;
      c->pasid_exec = cap & 0x2;
      c->pasid_priv = cap & 0x4;
      c->pasid_width = (cap >> 8) & 0x1f;
      break;
    }
    default:
      break;
    }
    off = (uint16_t)((hdr >> 20) & 0xffc);
  }
  return PCI_OK;
}

int pci_parse_caps(const struct pci_cfg_ops *ops, struct pci_dev *d)
{
  memset(&d->caps, 0, sizeof(d->caps));
  int err = walk_std_caps(ops, d);
  /* Extended space exists only for PCI Express functions (7.6). */
  if (err == PCI_OK && d->caps.pcie)
    err = walk_ext_caps(ops, d);
  d->caps.err = err;
  return err;
}

struct enum_state {
  struct pci_topology *topo;
  const struct pci_cfg_ops *ops;
  const struct mcfg_segment *seg;
  uint8_t visited[256 / 8];
};

static int scan_bus(struct enum_state *st, uint8_t bus, int parent, unsigned depth);

static int add_function(struct enum_state *st, uint8_t bus, uint8_t dev, uint8_t fn, int parent,
                        unsigned depth, uint32_t id, bool slot_multifunction)
{
  struct pci_topology *topo = st->topo;
  if (topo->n == PCI_MAX_DEVS) {
    topo->truncated = true;
    return PCI_ETOOMANY;
  }
  int index = (int)topo->n++;
  struct pci_dev *d = &topo->devs[index];
  memset(d, 0, sizeof(*d));
  d->segment = st->seg->segment;
  d->bus = bus;
  d->dev = dev;
  d->fn = fn;
  d->vendor = (uint16_t)id;
  d->device = (uint16_t)(id >> 16);
  d->parent = parent;
  d->class_rev = cfg32(st->ops, d, 0x08);
  uint8_t htype = (uint8_t)(cfg32(st->ops, d, 0x0c) >> 16);
  d->header_type = htype & 0x7f;
  /* Function 0's Multi-Function bit speaks for the whole device (7.5.1.1.9). */
  d->multifunction = (htype & 0x80) || slot_multifunction;
  pci_parse_caps(st->ops, d); /* a bad list is recorded in caps.err, enumeration goes on */
  if (pci_is_bridge(d)) {
    uint32_t buses = cfg32(st->ops, d, 0x18);
    d->secondary = (uint8_t)(buses >> 8);
    d->subordinate = (uint8_t)(buses >> 16);
    /* Follow only forward, in-window, unvisited secondary buses: no loops. */
    if (d->secondary > bus && d->secondary <= st->seg->end_bus &&
        d->subordinate >= d->secondary)
      return scan_bus(st, d->secondary, index, depth + 1);
  }
  return PCI_OK;
}

static int scan_bus(struct enum_state *st, uint8_t bus, int parent, unsigned depth)
{
  if (depth > PCI_MAX_BRIDGE_DEPTH)
    return PCI_EDEPTH;
  if (st->visited[bus / 8] & (1u << (bus % 8)))
    return PCI_OK;
  st->visited[bus / 8] |= (uint8_t)(1u << (bus % 8));
  for (uint8_t dev = 0; dev < 32; dev++) {
    uint32_t id = st->ops->read32(st->ops->ctx, st->seg->segment, bus, dev, 0, 0);
    if ((uint16_t)id == 0xffff || (uint16_t)id == 0)
      continue;
    uint8_t htype = (uint8_t)(st->ops->read32(st->ops->ctx, st->seg->segment, bus, dev, 0, 0x0c) >> 16);
    unsigned n_fn = (htype & 0x80) ? 8 : 1;
    for (uint8_t fn = 0; fn < n_fn; fn++) {
      uint32_t fid = fn == 0 ? id : st->ops->read32(st->ops->ctx, st->seg->segment, bus, dev, fn, 0);
      if ((uint16_t)fid == 0xffff || (uint16_t)fid == 0)
        continue;
      int err = add_function(st, bus, dev, fn, parent, depth, fid, n_fn > 1);
      if (err)
        return err;
    }
  }
  return PCI_OK;
}

int pci_enumerate(struct pci_topology *topo, const struct mcfg_info *mcfg,
                  const struct pci_cfg_ops *ops)
{
  memset(topo, 0, sizeof(*topo));
  for (unsigned s = 0; s < mcfg->n; s++) {
    struct enum_state st = { .topo = topo, .ops = ops, .seg = &mcfg->seg[s] };
    /* Depth-first from the segment's first bus, then any other root bus (host bridges the
     * first one does not lead to, e.g. extra root complexes) found by a sweep. */
    for (unsigned bus = st.seg->start_bus; bus <= st.seg->end_bus; bus++) {
      if (st.visited[bus / 8] & (1u << (bus % 8)))
        continue;
      unsigned before = topo->n;
      int err = scan_bus(&st, (uint8_t)bus, -1, 0);
      if (topo->n != before || bus == st.seg->start_bus)
        topo->n_root_buses++;
      if (err)
        return err;
    }
  }
  pci_resolve_dma_aliases(topo);
  return PCI_OK;
}

int pci_find(const struct pci_topology *topo, uint16_t vendor, uint16_t device)
{
  for (unsigned i = 0; i < topo->n; i++)
    if (topo->devs[i].vendor == vendor && topo->devs[i].device == device)
      return (int)i;
  return -1;
}

int pci_walk_scope(const struct pci_cfg_ops *ops, uint16_t seg, const struct dmar_scope *scope,
                   uint16_t *rid_out)
{
  uint8_t bus = scope->start_bus;
  for (unsigned i = 0; i < scope->path_len; i++) {
    uint8_t dev = scope->path[i].dev, fn = scope->path[i].fn;
    if (i + 1 == scope->path_len) {
      *rid_out = (uint16_t)(bus << 8 | dev << 3 | fn);
      return PCI_OK;
    }
    uint32_t id = ops->read32(ops->ctx, seg, bus, dev, fn, 0);
    uint8_t htype = (uint8_t)(ops->read32(ops->ctx, seg, bus, dev, fn, 0x0c) >> 16) & 0x7f;
    if ((uint16_t)id == 0xffff || htype != 1)
      return PCI_ECAPPTR; /* a hop that is not a bridge: the path names nothing */
    uint8_t next = (uint8_t)(ops->read32(ops->ctx, seg, bus, dev, fn, 0x18) >> 8);
    if (next <= bus)
      return PCI_ECAPLOOP;
    bus = next;
  }
  return PCI_ECAPPTR;
}

/* ECAM (PCI Express Base 6.0 7.2.2): 4 KiB per function, bus relative to start_bus. */
static uint64_t ecam_addr(const struct mcfg_info *mcfg, uint16_t seg, uint8_t bus, uint8_t dev,
                          uint8_t fn, uint16_t off)
{
  for (unsigned i = 0; i < mcfg->n; i++) {
    const struct mcfg_segment *s = &mcfg->seg[i];
    if (s->segment == seg && bus >= s->start_bus && bus <= s->end_bus && dev < 32 && fn < 8 &&
        off < 4096)
      return s->base + ((uint64_t)(bus - s->start_bus) << 20 | (uint64_t)dev << 15 |
                        (uint64_t)fn << 12 | (off & 0xffc));
  }
  return 0;
}

static uint32_t ecam_read32(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
                            uint16_t off)
{
  uint64_t a = ecam_addr(ctx, seg, bus, dev, fn, off);
  return a ? mmio_read32(a) : 0xffffffffu; /* outside every ECAM window: absent */
}

static void ecam_write32(void *ctx, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
                         uint16_t off, uint32_t val)
{
  uint64_t a = ecam_addr(ctx, seg, bus, dev, fn, off);
  if (a)
    mmio_write32(a, val);
}

const struct pci_cfg_ops pci_ecam_ops_template = { ecam_read32, ecam_write32, NULL };

/* ---------------------------------------------------------------- DMA aliases and ACS */

const char *pci_alias_kind_name(enum pci_alias_kind kind)
{
  switch (kind) {
  case PCI_ALIAS_BRIDGE_SECONDARY: return "PCIe-to-PCI bridge (secondary bus, devfn 0)";
  case PCI_ALIAS_BRIDGE_ITSELF: return "bridge forwards with its own ID";
  case PCI_ALIAS_QUIRK: return "DMA alias quirk";
  }
  return "?";
}

/* Functions known to issue DMA with another function's requester ID. Each entry names where
 * the behaviour is documented (the Linux quirk that handles it, drivers/pci/quirks.c). */
enum quirk_alias { QUIRK_FUNC0, QUIRK_FUNC1, QUIRK_FIXED };
static const struct dma_alias_quirk {
  uint16_t vendor, device;
  uint8_t how;               /* enum quirk_alias */
  uint8_t devfn;             /* QUIRK_FIXED: the devfn used */
  const char *source;
} dma_alias_quirks[] = {
  { 0x1180, 0xe832, QUIRK_FUNC0, 0, "Ricoh R5C832: Linux quirk_dma_func0_alias" },
  { 0x1180, 0xe476, QUIRK_FUNC0, 0, "Ricoh R5CE476: Linux quirk_dma_func0_alias" },
  { 0x1b4b, 0x9120, QUIRK_FUNC1, 0, "Marvell 88SE9120: Linux quirk_dma_func1_alias" },
  { 0x1b4b, 0x9123, QUIRK_FUNC1, 0, "Marvell 88SE9123: Linux quirk_dma_func1_alias" },
  { 0x1b4b, 0x9128, QUIRK_FUNC1, 0, "Marvell 88SE9128: Linux quirk_dma_func1_alias" },
  { 0x1b4b, 0x9130, QUIRK_FUNC1, 0, "Marvell 88SE9130: Linux quirk_dma_func1_alias" },
  { 0x1b4b, 0x9172, QUIRK_FUNC1, 0, "Marvell 88SE9172: Linux quirk_dma_func1_alias" },
  { 0x1b4b, 0x9230, QUIRK_FUNC1, 0, "Marvell 88SE9230: Linux quirk_dma_func1_alias" },
  { 0x9005, 0x0285, QUIRK_FIXED, 0x20, "Adaptec 3405: Linux quirk_fixed_dma_alias (devfn 04.0)" },
};

bool pci_dma_alias_quirk(uint16_t vendor, uint16_t device, uint8_t devfn, uint8_t *alias_devfn,
                         const char **source)
{
  for (size_t i = 0; i < sizeof(dma_alias_quirks) / sizeof(dma_alias_quirks[0]); i++) {
    const struct dma_alias_quirk *q = &dma_alias_quirks[i];
    if (q->vendor != vendor || q->device != device)
      continue;
    *alias_devfn = q->how == QUIRK_FUNC0   ? (uint8_t)(devfn & ~7u)
                   : q->how == QUIRK_FUNC1 ? (uint8_t)((devfn & ~7u) | 1u)
                                           : q->devfn;
    *source = q->source;
    return *alias_devfn != devfn;
  }
  return false;
}

static void add_alias(struct pci_dev *d, uint16_t rid, enum pci_alias_kind kind, int via)
{
  if (rid == pci_rid(d) || d->n_aliases == PCI_MAX_DMA_ALIASES)
    return;
  for (unsigned i = 0; i < d->n_aliases; i++)
    if (d->aliases[i].rid == rid)
      return;
  d->aliases[d->n_aliases++] = (struct pci_dma_alias){ rid, (uint8_t)kind, (int16_t)via };
}

void pci_resolve_dma_aliases(struct pci_topology *topo)
{
  for (unsigned i = 0; i < topo->n; i++) {
    struct pci_dev *d = &topo->devs[i];
    d->n_aliases = 0;
    uint8_t devfn;
    const char *source;
    if (pci_dma_alias_quirk(d->vendor, d->device, (uint8_t)(pci_rid(d) & 0xff), &devfn, &source))
      add_alias(d, (uint16_t)(d->bus << 8 | devfn), PCI_ALIAS_QUIRK, -1);
    /* Parents always precede their children in the topology: the walk ends. */
    for (int p = d->parent; p >= 0 && p < (int)i; p = topo->devs[p].parent) {
      const struct pci_dev *b = &topo->devs[p];
      if (!b->caps.pcie) {
        add_alias(d, pci_rid(b), PCI_ALIAS_BRIDGE_ITSELF, p);
        continue;
      }
      if (b->caps.pcie_port_type == PCI_PORT_PCIE_TO_PCI)
        add_alias(d, (uint16_t)(b->secondary << 8), PCI_ALIAS_BRIDGE_SECONDARY, p);
      else if (b->caps.pcie_port_type == PCI_PORT_PCI_TO_PCIE)
        add_alias(d, pci_rid(b), PCI_ALIAS_BRIDGE_ITSELF, p);
      /* root, upstream and downstream ports forward the ID unchanged */
    }
  }
}

uint16_t pci_dma_rid(const struct pci_dev *d)
{
  for (int i = d->n_aliases - 1; i >= 0; i--)
    if (d->aliases[i].kind != PCI_ALIAS_QUIRK)
      return d->aliases[i].rid;
  return d->n_aliases ? d->aliases[0].rid : pci_rid(d);
}

uint16_t pci_acs_missing(const struct pci_dev *d)
{
  uint16_t need = 0;
  if (pci_is_downstream_port(d))
    need = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;
  else if (d->multifunction && !pci_is_bridge(d))
    need = PCI_ACS_RR | PCI_ACS_CR;
  return (uint16_t)(need & ~(d->caps.acs ? d->caps.acs_cap : 0));
}

const char *pci_acs_bits_text(uint16_t bits, char *buf, unsigned len)
{
  static const char *const names[] = { "SV", "TB", "RR", "CR", "UF" };
  unsigned n = 0;
  buf[0] = '\0';
  for (unsigned b = 0; b < 5; b++)
    if (bits & (1u << b)) {
      int w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", names[b]);
      if (w < 0 || (unsigned)w >= len - n)
        break;
      n += (unsigned)w;
    }
  return buf;
}
