/* Aux (per-PASID) domains (aux.h): the policy, once for all three IOMMUs. */
#include "iommu/core/aux.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AUX_MAX_DEVS 16
#define AUX_MAX_ATTACH 64
#define AUX_MAX_PORTS 8          /* bridges between a device and its root bus */

#define PCI_PASID_CTL 6          /* PCIe 6.0 7.8.8.3: PASID Control (16 bits at cap + 6) */
#define PCI_PASID_CTL_ENABLE 0x1u
#define PCI_ACS_CTL 6            /* 7.7.8.3: ACS Control (16 bits at cap + 6) */
#define PCIE_TYPE_ROOT_PORT 0x4
#define PCIE_TYPE_DOWNSTREAM 0x6

struct aux_dev {
  struct iommu_device *dev;
  struct platform *plat;
  const struct pci_dev *pci;
  unsigned bits;                 /* usable PASID width */
  bool pasid_on;                 /* the driver's entry takes PASID-tagged requests */
  uint32_t saved_pasid_dword;    /* PASID capability + 4 as found */
  unsigned n_ports;
  const struct pci_dev *ports[AUX_MAX_PORTS];
  uint32_t saved_acs_dword[AUX_MAX_PORTS];
};

struct aux_attachment {
  struct iommu_domain *dom;
  struct iommu_device *dev;
  uint32_t pasid;
};

static struct aux_dev devs[AUX_MAX_DEVS];
static unsigned n_devs;
static struct aux_attachment atts[AUX_MAX_ATTACH];
static unsigned n_atts;

/* The one unit-side probe in place (iommu_aux_unit_probe_attach). */
static struct {
  struct iommu_domain *dom;
  struct iommu_device *dev;
  uint32_t pasid;
} probe;

static struct ioasid_system *own_sys, *cur_sys;
static struct ioasid_set *own_set, *cur_set;

static char why[200];

static void set_why(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
}

const char *iommu_aux_why(void) { return why; }

static struct aux_dev *find_dev(const struct iommu_device *dev)
{
  for (unsigned i = 0; i < n_devs; i++)
    if (devs[i].dev == dev)
      return &devs[i];
  return NULL;
}

static const struct pci_dev *pci_of(const struct platform *plat, const struct iommu_device *dev)
{
  for (unsigned i = 0; i < plat->pci.n; i++) {
    const struct pci_dev *d = &plat->pci.devs[i];
    if (d->segment == dev->segment && pci_rid(d) == dev->rid)
      return d;
  }
  return NULL;
}

static uint32_t cfg_read(const struct platform *plat, const struct pci_dev *d, uint16_t off)
{
  return plat->cfg.read32(plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off);
}

static void cfg_write(const struct platform *plat, const struct pci_dev *d, uint16_t off, uint32_t v)
{
  plat->cfg.write32(plat->cfg.ctx, d->segment, d->bus, d->dev, d->fn, off, v);
}

/* The ACS controls a port must have on (those it implements; Linux's reading of what PASID
 * TLPs need so that a tagged request reaches the IOMMU instead of a peer). */
static uint16_t acs_needed(const struct pci_dev *port) { return port->caps.acs_cap & (PCI_ACS_RR | PCI_ACS_UF); }

/* Why the PCI side cannot carry PASID-tagged requests for pci, or NULL. */
static const char *pci_gap(const struct platform *plat, const struct pci_dev *pci, char *buf,
                           size_t len)
{
  if (pci->caps.pasid == 0 || pci->caps.pasid_width == 0) {
    snprintf(buf, len, "device %02x:%02x.%x %04x:%04x has no PASID capability", pci->bus, pci->dev,
             pci->fn, pci->vendor, pci->device);
    return buf;
  }
  unsigned hops = 0;
  for (int p = pci->parent; p >= 0; p = plat->pci.devs[p].parent) {
    const struct pci_dev *port = &plat->pci.devs[p];
    if (++hops > AUX_MAX_PORTS) {
      snprintf(buf, len, "more than %u bridges above the device", AUX_MAX_PORTS);
      return buf;
    }
    unsigned type = port->caps.pcie_port_type;
    if (!port->caps.pcie || (type != PCIE_TYPE_ROOT_PORT && type != PCIE_TYPE_DOWNSTREAM &&
                             type != 0x5 /* upstream switch port */)) {
      snprintf(buf, len, "bridge %02x:%02x.%x above the device is not a PCIe port (no PASID TLP prefixes)",
               port->bus, port->dev, port->fn);
      return buf;
    }
    if (type != 0x5 && port->caps.acs == 0) {
      snprintf(buf, len, "%s %02x:%02x.%x has no ACS capability (P2P Request Redirect / Upstream "
               "Forwarding for PASID TLPs)", type == PCIE_TYPE_ROOT_PORT ? "root port" : "downstream port",
               port->bus, port->dev, port->fn);
      return buf;
    }
  }
  return NULL;
}

/* Why the unit (its driver) cannot do aux domains, or NULL; *bits its PASID width. */
static const char *unit_gap(const struct iommu_unit *unit, unsigned *bits)
{
  *bits = 0;
  if (unit == NULL)
    return "ACPI describes no IOMMU";
  if (unit->ops == NULL)
    return "no driver for this IOMMU kind";
  if (unit->probe_err)
    return "unit probe failed";
  if (unit->ops->pasid_gap == NULL || unit->ops->attach_pasid == NULL)
    return "the driver has no per-PASID attach";
  return unit->ops->pasid_gap(unit, bits);
}

const char *iommu_dev_feature_gap(struct platform *plat, const struct iommu_device *dev,
                                  enum iommu_dev_feature f)
{
  static char buf[200];
  if (f != IOMMU_DEV_FEAT_AUX)
    return "unknown device feature";
  if (dev == NULL)
    return "no device";
  unsigned bits;
  const char *gap = unit_gap(dev->unit, &bits);
  if (gap)
    return gap;
  const struct pci_dev *pci = pci_of(plat, dev);
  if (pci == NULL) {
    snprintf(buf, sizeof(buf), "RID 0x%04x is not a PCI function found by enumeration", dev->rid);
    return buf;
  }
  return pci_gap(plat, pci, buf, sizeof(buf));
}

bool iommu_dev_has_feature(struct platform *plat, const struct iommu_device *dev,
                           enum iommu_dev_feature f)
{
  return iommu_dev_feature_gap(plat, dev, f) == NULL;
}

bool iommu_dev_feature_enabled(const struct iommu_device *dev, enum iommu_dev_feature f)
{
  return f == IOMMU_DEV_FEAT_AUX && find_dev(dev) != NULL;
}

unsigned iommu_aux_pasid_bits(const struct iommu_device *dev)
{
  const struct aux_dev *a = find_dev(dev);
  return a ? a->bits : 0;
}

/* The device's PASID control and the ports' ACS controls back to what enable found. */
static void restore_pci(const struct aux_dev *a)
{
  for (unsigned i = a->n_ports; i-- > 0;)
    cfg_write(a->plat, a->ports[i], (uint16_t)(a->ports[i]->caps.acs + 4), a->saved_acs_dword[i]);
  cfg_write(a->plat, a->pci, (uint16_t)(a->pci->caps.pasid + 4), a->saved_pasid_dword);
}

int iommu_dev_enable_feature(struct platform *plat, struct iommu_device *dev,
                             enum iommu_dev_feature f)
{
  why[0] = '\0';
  const char *gap = iommu_dev_feature_gap(plat, dev, f);
  if (gap) {
    set_why("%s", gap);
    return IOMMU_EUNSUPPORTED;
  }
  if (find_dev(dev)) {
    set_why("already enabled");
    return IOMMU_EEXIST;
  }
  if (n_devs == AUX_MAX_DEVS) {
    set_why("more than %u devices with aux domains enabled", AUX_MAX_DEVS);
    return IOMMU_ENOMEM;
  }
  unsigned unit_bits;
  unit_gap(dev->unit, &unit_bits);
  struct aux_dev *a = &devs[n_devs++];
  memset(a, 0, sizeof(*a));
  a->dev = dev;
  a->plat = plat;
  a->pci = pci_of(plat, dev);
  a->bits = a->pci->caps.pasid_width < unit_bits ? a->pci->caps.pasid_width : unit_bits;
  /* PASID Enable in the function, then the ACS controls on the way up (PCIe 6.0 7.8.8, 6.12). */
  uint16_t cap = a->pci->caps.pasid;
  a->saved_pasid_dword = cfg_read(plat, a->pci, (uint16_t)(cap + 4));
  cfg_write(plat, a->pci, (uint16_t)(cap + 4),
            (a->saved_pasid_dword & 0xffffu) | (uint32_t)PCI_PASID_CTL_ENABLE << 16 |
            (a->saved_pasid_dword & 0xfffe0000u));
  for (int p = a->pci->parent; p >= 0 && a->n_ports < AUX_MAX_PORTS; p = plat->pci.devs[p].parent) {
    const struct pci_dev *port = &plat->pci.devs[p];
    if (port->caps.acs == 0)
      continue; /* an upstream switch port: nothing to redirect */
    uint32_t dw = cfg_read(plat, port, (uint16_t)(port->caps.acs + 4));
    a->ports[a->n_ports] = port;
    a->saved_acs_dword[a->n_ports++] = dw;
    cfg_write(plat, port, (uint16_t)(port->caps.acs + 4), dw | (uint32_t)acs_needed(port) << 16);
    uint32_t now = cfg_read(plat, port, (uint16_t)(port->caps.acs + 4)) >> 16;
    if ((now & acs_needed(port)) != acs_needed(port)) {
      set_why("ACS Control of %02x:%02x.%x reads 0x%04x after RR/UF were set (not writable)",
              port->bus, port->dev, port->fn, (unsigned)now);
      restore_pci(a);
      *a = devs[--n_devs];
      return IOMMU_EBADREG;
    }
  }
  return IOMMU_OK;
}

unsigned iommu_aux_count(const struct iommu_device *dev)
{
  unsigned n = probe.dev == dev && dev != NULL;
  for (unsigned i = 0; i < n_atts; i++)
    n += atts[i].dev == dev;
  return n;
}

int iommu_dev_disable_feature(struct iommu_device *dev, enum iommu_dev_feature f)
{
  why[0] = '\0';
  struct aux_dev *a = f == IOMMU_DEV_FEAT_AUX ? find_dev(dev) : NULL;
  if (a == NULL) {
    set_why("not enabled");
    return IOMMU_ENOENT;
  }
  if (iommu_aux_count(dev)) {
    set_why("%u aux domain(s) still attached", iommu_aux_count(dev));
    return IOMMU_EBUSY;
  }
  restore_pci(a);
  *a = devs[--n_devs];
  return IOMMU_OK;
}

int iommu_aux_domain_alloc(struct iommu_unit *unit, struct iommu_domain **out)
{
  *out = NULL;
  if (unit != NULL && unit->ops != NULL && unit->active && unit->ops->domain_alloc_pasid) {
    int err = unit->ops->domain_alloc_pasid(unit, out);
    if (err)
      *out = NULL;
    return err;
  }
  return iommu_domain_alloc(unit, IOMMU_DOMAIN_PAGING, out);
}

const char *iommu_aux_domain_gap(const struct iommu_domain *dom)
{
  if (dom == NULL)
    return "no domain";
  if (dom->type != IOMMU_DOMAIN_PAGING)
    return "not a paging domain";
  return dom->unit->ops->pasid_domain_gap ? dom->unit->ops->pasid_domain_gap(dom) : NULL;
}

/* ---- the PASID space ---- */

static int pasid_space(struct ioasid_system **sys, struct ioasid_set **set)
{
  if (cur_sys == NULL) {
    if (own_sys == NULL) {
      struct ioasid_config cfg = { .capacity = IOASID_MAX_CAPACITY, .reserve_pasid0 = true };
      int err;
      own_sys = ioasid_system_create(&cfg, &err);
      if (own_sys == NULL)
        return IOMMU_ENOMEM;
      own_set = ioasid_set_alloc(own_sys, NULL, IOASID_SET_TYPE_NULL, 0, &err);
      if (own_set == NULL) {
        ioasid_system_destroy(own_sys);
        own_sys = NULL;
        return IOMMU_ENOMEM;
      }
    }
    cur_sys = own_sys;
    cur_set = own_set;
  }
  *sys = cur_sys;
  *set = cur_set;
  return IOMMU_OK;
}

int iommu_aux_use_ioasid(struct ioasid_system *sys, struct ioasid_set *set)
{
  why[0] = '\0';
  if ((sys == NULL) != (set == NULL))
    return IOMMU_EINVAL;
  if (n_atts) {
    set_why("%u aux attachment(s) hold PASIDs of the current set", n_atts);
    return IOMMU_EBUSY;
  }
  cur_sys = sys;
  cur_set = set;
  return IOMMU_OK;
}

static int ioasid_to_iommu(int err)
{
  switch (err) {
  case IOASID_ENOSPC:
  case IOASID_EQUOTA:
  case IOASID_ENOMEM:
    return IOMMU_ENOMEM;
  case IOASID_EEXIST:
  case IOASID_EBUSY:
    return IOMMU_EBUSY;
  default:
    return IOMMU_EINVAL;
  }
}

/* The domain's PASID (the same on every device), or IOASID_INVALID. */
static uint32_t domain_pasid(const struct iommu_domain *dom)
{
  for (unsigned i = 0; i < n_atts; i++)
    if (atts[i].dom == dom)
      return atts[i].pasid;
  return IOASID_INVALID;
}

static struct aux_attachment *find_att(const struct iommu_domain *dom, const struct iommu_device *dev)
{
  for (unsigned i = 0; i < n_atts; i++)
    if (atts[i].dom == dom && atts[i].dev == dev)
      return &atts[i];
  return NULL;
}

/* The refusal rules, in an order that lets the unit-side ones be observed on a device
 * without PASID support: the domain, the unit, an explicit PASID against the unit's width,
 * then the device (feature enabled, primary domain, PASID width). */
static int check_unit_side(struct iommu_domain *dom, struct iommu_device *dev, uint32_t want)
{
  if (dom == NULL || dev == NULL) {
    set_why(dom == NULL ? "no domain (a blocked device has no domain to attach)" : "no device");
    return IOMMU_EINVAL;
  }
  if (dom->unit != dev->unit) {
    set_why("the domain belongs to %s, the device is translated by %s", dom->unit->source,
            dev->unit->source);
    return IOMMU_EINVAL;
  }
  if (dom->type != IOMMU_DOMAIN_PAGING) {
    set_why("only paging domains can be aux domains (this one is %s)",
            dom->type == IOMMU_DOMAIN_PASSTHROUGH ? "pass-through" : "not paging");
    return IOMMU_EINVAL;
  }
  unsigned unit_bits;
  const char *gap = unit_gap(dev->unit, &unit_bits);
  if (gap) {
    set_why("%s", gap);
    return IOMMU_EUNSUPPORTED;
  }
  gap = dom->unit->ops->pasid_domain_gap ? dom->unit->ops->pasid_domain_gap(dom) : NULL;
  if (gap) {
    set_why("%s", gap);
    return IOMMU_EINVAL;
  }
  if (want == 0) {
    set_why("PASID 0 is the untagged traffic's (RID_PASID / substream 0 / GCR3 entry 0)");
    return IOMMU_EINVAL;
  }
  if (want != IOASID_INVALID && unit_bits < 32 && want >> unit_bits) {
    set_why("PASID 0x%x exceeds the %u-bit PASID width of %s", want, unit_bits, dev->unit->source);
    return IOMMU_ERANGE;
  }
  return IOMMU_OK;
}

/* The primary domain must be there and able to stand beside PASID domains. */
static int check_primary(struct iommu_device *dev)
{
  if (dev->domain == NULL) {
    set_why("RID 0x%04x has no primary domain (attach one first: it keeps translating untagged DMA)",
            dev->rid);
    return IOMMU_ENOENT;
  }
  const char *gap = dev->domain->type == IOMMU_DOMAIN_PAGING && dev->unit->ops->pasid_domain_gap
                        ? dev->unit->ops->pasid_domain_gap(dev->domain) : NULL;
  if (gap) {
    set_why("the primary domain of RID 0x%04x cannot stand beside PASID domains: %s", dev->rid, gap);
    return IOMMU_EINVAL;
  }
  return IOMMU_OK;
}

static int check_attach(struct iommu_domain *dom, struct iommu_device *dev, uint32_t want,
                        struct aux_dev **out)
{
  int err = check_unit_side(dom, dev, want);
  if (err)
    return err;
  struct aux_dev *a = find_dev(dev);
  if (a == NULL) {
    set_why("the AUX feature is not enabled on RID 0x%04x", dev->rid);
    return IOMMU_EINVAL;
  }
  if ((err = check_primary(dev)) != 0)
    return err;
  if (find_att(dom, dev)) {
    set_why("the domain is already aux-attached to RID 0x%04x", dev->rid);
    return IOMMU_EEXIST;
  }
  if (n_atts == AUX_MAX_ATTACH) {
    set_why("more than %u aux attachments", AUX_MAX_ATTACH);
    return IOMMU_ENOMEM;
  }
  *out = a;
  return IOMMU_OK;
}

static int attach(struct iommu_domain *dom, struct iommu_device *dev, uint32_t want)
{
  why[0] = '\0';
  struct aux_dev *a;
  int err = check_attach(dom, dev, want, &a);
  if (err)
    return err;
  struct ioasid_system *sys;
  struct ioasid_set *set;
  if ((err = pasid_space(&sys, &set)) != 0) {
    set_why("no IOASID system");
    return err;
  }
  uint32_t limit = a->bits >= 32 ? UINT32_MAX : (uint32_t)((1ull << a->bits) - 1);
  uint32_t pasid = domain_pasid(dom);
  bool fresh = pasid == IOASID_INVALID;
  if (want != IOASID_INVALID) {
    if (!fresh && want != pasid) {
      set_why("the domain already has PASID 0x%x (one system-wide PASID per domain)", pasid);
      return IOMMU_EINVAL;
    }
    pasid = want;
  }
  if (pasid != IOASID_INVALID && pasid > limit) {
    set_why("PASID 0x%x exceeds the %u-bit PASID width of RID 0x%04x on %s", pasid, a->bits,
            dev->rid, dev->unit->source);
    return IOMMU_ERANGE;
  }
  if (fresh) {
    int ierr;
    ioasid_t id = ioasid_alloc(sys, set, pasid == IOASID_INVALID ? 1 : pasid,
                               pasid == IOASID_INVALID ? limit : pasid, dom, &ierr);
    if (id == IOASID_INVALID) {
      set_why("IOASID allocation failed: %s", ioasid_strerror(ierr));
      return ioasid_to_iommu(ierr);
    }
    pasid = id;
  }
  const struct iommu_ops *ops = dev->unit->ops;
  if (!a->pasid_on) {
    err = ops->pasid_enable ? ops->pasid_enable(dev->domain, dev->rid, a->bits) : IOMMU_OK;
    if (err) {
      set_why("the driver could not enable PASIDs for RID 0x%04x: %s", dev->rid, iommu_strerror(err));
      goto undo_alloc;
    }
    a->pasid_on = true;
  }
  err = ops->attach_pasid(dom, dev->rid, pasid);
  if (err) {
    set_why("the driver refused PASID 0x%x on RID 0x%04x: %s", pasid, dev->rid, iommu_strerror(err));
    goto undo_enable;
  }
  int ierr = ioasid_bind(sys, set, pasid);
  if (ierr) {
    ops->detach_pasid(dom, dev->rid, pasid);
    set_why("IOASID bind failed: %s", ioasid_strerror(ierr));
    err = ioasid_to_iommu(ierr);
    goto undo_enable;
  }
  atts[n_atts++] = (struct aux_attachment){ .dom = dom, .dev = dev, .pasid = pasid };
  return IOMMU_OK;

undo_enable:
  if (iommu_aux_count(dev) == 0 && a->pasid_on) {
    if (ops->pasid_disable)
      ops->pasid_disable(dev->domain, dev->rid);
    a->pasid_on = false;
  }
undo_alloc:
  if (fresh)
    ioasid_free(sys, set, pasid);
  return err;
}

int iommu_aux_attach(struct iommu_domain *dom, struct iommu_device *dev)
{
  return attach(dom, dev, IOASID_INVALID);
}

int iommu_aux_attach_pasid(struct iommu_domain *dom, struct iommu_device *dev, uint32_t pasid)
{
  if (pasid == IOASID_INVALID) {
    set_why("PASID 0x%x is not a PASID", pasid);
    return IOMMU_ERANGE;
  }
  return attach(dom, dev, pasid);
}

const char *iommu_aux_unit_gap(const struct iommu_unit *unit, unsigned *bits)
{
  return unit_gap(unit, bits);
}

int iommu_aux_unit_probe_attach(struct iommu_domain *dom, struct iommu_device *dev, uint32_t pasid)
{
  why[0] = '\0';
  if (pasid == IOASID_INVALID) {
    set_why("PASID 0x%x is not a PASID", pasid);
    return IOMMU_ERANGE;
  }
  int err = check_unit_side(dom, dev, pasid);
  if (!err)
    err = check_primary(dev);
  if (err)
    return err;
  if (find_dev(dev) != NULL || iommu_aux_count(dev) || probe.dev) {
    set_why(probe.dev ? "a unit-side probe is already in place"
                      : "AUX is enabled on the device: it takes the ordinary aux path");
    return IOMMU_EBUSY;
  }
  unsigned bits;
  unit_gap(dev->unit, &bits);
  const struct iommu_ops *ops = dev->unit->ops;
  err = ops->pasid_enable ? ops->pasid_enable(dev->domain, dev->rid, bits) : IOMMU_OK;
  if (err) {
    set_why("pasid_enable on RID 0x%04x failed: %s", dev->rid, iommu_strerror(err));
    return err;
  }
  err = ops->attach_pasid(dom, dev->rid, pasid);
  if (err) {
    set_why("attach_pasid of PASID 0x%x on RID 0x%04x failed: %s", pasid, dev->rid, iommu_strerror(err));
    if (ops->pasid_disable)
      ops->pasid_disable(dev->domain, dev->rid);
    return err;
  }
  probe.dom = dom;
  probe.dev = dev;
  probe.pasid = pasid;
  return IOMMU_OK;
}

int iommu_aux_unit_probe_detach(void)
{
  why[0] = '\0';
  if (probe.dev == NULL)
    return IOMMU_ENOENT;
  struct iommu_device *dev = probe.dev;
  const struct iommu_ops *ops = dev->unit->ops;
  int err = IOMMU_OK;
  if (dev->unit->active) {
    err = ops->detach_pasid(probe.dom, dev->rid, probe.pasid);
    int e2 = ops->pasid_disable ? ops->pasid_disable(dev->domain, dev->rid) : IOMMU_OK;
    if (err)
      set_why("detach_pasid of PASID 0x%x failed: %s", probe.pasid, iommu_strerror(err));
    else if (e2)
      set_why("pasid_disable failed: %s", iommu_strerror(e2));
    err = err ? err : e2;
  }
  probe.dev = NULL;
  probe.dom = NULL;
  return err;
}

int iommu_aux_get_pasid(const struct iommu_domain *dom, const struct iommu_device *dev,
                        uint32_t *pasid)
{
  const struct aux_attachment *t = find_att(dom, dev);
  if (t == NULL)
    return IOMMU_ENOENT;
  *pasid = t->pasid;
  return IOMMU_OK;
}

/* After one attachment of dom went: UNBIND, and FREE when it was the domain's last. */
static void return_pasid(const struct iommu_domain *dom, uint32_t pasid)
{
  struct ioasid_system *sys;
  struct ioasid_set *set;
  if (pasid_space(&sys, &set) == 0) {
    ioasid_unbind(sys, set, pasid);
    if (domain_pasid(dom) == IOASID_INVALID)
      ioasid_free(sys, set, pasid);
  }
}

int iommu_aux_detach(struct iommu_domain *dom, struct iommu_device *dev)
{
  why[0] = '\0';
  struct aux_attachment *t = find_att(dom, dev);
  if (t == NULL) {
    set_why("the domain is not aux-attached to this device");
    return IOMMU_ENOENT;
  }
  uint32_t pasid = t->pasid;
  const struct iommu_ops *ops = dev->unit->ops;
  /* The entry goes even when an invalidation failed: the error is reported, the PASID
   * returned (as for a primary detach). */
  int err = dev->unit->active ? ops->detach_pasid(dom, dev->rid, pasid) : IOMMU_OK;
  *t = atts[--n_atts];
  struct aux_dev *a = find_dev(dev);
  if (a && a->pasid_on && iommu_aux_count(dev) == 0) {
    int e2 = dev->unit->active && ops->pasid_disable ? ops->pasid_disable(dev->domain, dev->rid) : IOMMU_OK;
    a->pasid_on = false;
    err = err ? err : e2;
  }
  return_pasid(dom, pasid);
  if (err)
    set_why("the driver's teardown of PASID 0x%x failed: %s", pasid, iommu_strerror(err));
  return err;
}

bool iommu_aux_domain_busy(const struct iommu_domain *dom)
{
  return domain_pasid(dom) != IOASID_INVALID || (probe.dev && probe.dom == dom);
}

/* The unit was handed back (state.restore, or the end of the run): its tables are gone, so
 * are the attachments and the devices' enabled features. */
void iommu_aux_forget_unit(const struct iommu_unit *unit)
{
  for (unsigned i = 0; i < n_atts;) {
    if (atts[i].dev->unit != unit) {
      i++;
      continue;
    }
    struct iommu_domain *dom = atts[i].dom;
    uint32_t pasid = atts[i].pasid;
    atts[i] = atts[--n_atts];
    return_pasid(dom, pasid);
  }
  /* Handed back: the devices' PCI state too (the run leaves everything as it found it). */
  for (unsigned i = 0; i < n_devs;)
    if (devs[i].dev->unit == unit) {
      restore_pci(&devs[i]);
      devs[i] = devs[--n_devs];
    } else {
      i++;
    }
  if (probe.dev && probe.dev->unit == unit)
    probe.dev = NULL, probe.dom = NULL;
}
