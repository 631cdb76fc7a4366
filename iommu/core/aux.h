/* Auxiliary (per-PASID) domains, the same on VT-d, SMMUv3 and AMD-Vi: an ordinary paging
 * domain attached to a device for one PASID (SMMUv3: SubstreamID) beside the device's primary
 * domain, which keeps translating its untagged DMA. The core owns the policy: who may be an
 * aux domain, the primary domain locked while aux domains are attached, one system-wide PASID
 * space (a domain has the same PASID on every device), PASID 0 never handed out, the PASID
 * widths of unit and device, and PASIDs allocated from an IOASID set (quota, notifications).
 * Drivers only program their tables (iommu_ops.pasid_* / attach_pasid / detach_pasid). */
#ifndef IOMMU_CORE_AUX_H
#define IOMMU_CORE_AUX_H

#include <stdbool.h>
#include <stdint.h>

#include "ioasid/ioasid.h"
#include "iommu/core/core.h"

enum iommu_dev_feature {
  IOMMU_DEV_FEAT_AUX,  /* aux (per-PASID) domains */
};

/* NULL when the unit and the device both support the feature, else what lacks it: the unit's
 * register field, the device's PCI capability, or the port on its path without the ACS
 * controls PASID-tagged requests need (P2P Request Redirect, Upstream Forwarding). */
const char *iommu_dev_feature_gap(struct platform *plat, const struct iommu_device *dev,
                                  enum iommu_dev_feature f);
/* The unit's side alone (NULL when it can do aux domains; *bits its driver's PASID width). */
const char *iommu_aux_unit_gap(const struct iommu_unit *unit, unsigned *bits);
bool iommu_dev_has_feature(struct platform *plat, const struct iommu_device *dev,
                           enum iommu_dev_feature f);
/* Enables PASID in the device's capability and the ACS controls on its path (each saved);
 * IOMMU_EUNSUPPORTED (reason in iommu_aux_why) when the feature is absent. */
int iommu_dev_enable_feature(struct platform *plat, struct iommu_device *dev,
                             enum iommu_dev_feature f);
/* Restores what enable changed; IOMMU_EBUSY while aux domains are attached, IOMMU_ENOENT
 * when it was not enabled. */
int iommu_dev_disable_feature(struct iommu_device *dev, enum iommu_dev_feature f);
bool iommu_dev_feature_enabled(const struct iommu_device *dev, enum iommu_dev_feature f);

/* PASID width usable for aux domains on an enabled device: the smallest of the unit's, the
 * driver's tables' and the device's PASID capability; 0 when not enabled. */
unsigned iommu_aux_pasid_bits(const struct iommu_device *dev);

/* A paging domain that can be an aux domain and the primary domain of a device with aux
 * domains (AMD-Vi: v2 tables); elsewhere an ordinary paging domain. */
int iommu_aux_domain_alloc(struct iommu_unit *unit, struct iommu_domain **out);

/* NULL when dom could be an aux domain as far as its driver is concerned (a paging domain the
 * driver can attach per PASID), else why not. */
const char *iommu_aux_domain_gap(const struct iommu_domain *dom);

/* Attaches dom to dev for the domain's PASID, allocating one from the IOASID set when the
 * domain has none yet (lowest free, 1 .. 2^width - 1), and binding it to the device. Refused
 * with a named error and a reason (iommu_aux_why) when: the feature is not enabled on dev,
 * dom is not a paging domain of dev's unit, the driver cannot attach it per PASID, dev has no
 * primary domain, dom is already aux-attached to dev, or its PASID exceeds dev's width. */
int iommu_aux_attach(struct iommu_domain *dom, struct iommu_device *dev);
/* The same with the PASID chosen by the caller (a domain that has a PASID keeps it). */
int iommu_aux_attach_pasid(struct iommu_domain *dom, struct iommu_device *dev, uint32_t pasid);
/* IOMMU_ENOENT when dom is not aux-attached to dev. */
int iommu_aux_get_pasid(const struct iommu_domain *dom, const struct iommu_device *dev,
                        uint32_t *pasid);
/* Tears the entry down (the driver invalidates what it cached), unbinds the PASID from the
 * device and frees it to its set after the domain's last aux detach. */
int iommu_aux_detach(struct iommu_domain *dom, struct iommu_device *dev);
/* The unit side alone, for a device that cannot issue PASID-tagged DMA (no PCI PASID
 * capability, so the feature cannot be enabled): programs the device's per-PASID structures
 * (the driver's pasid_enable, then dom attached at pasid) so that the unit's acceptance of the
 * programming (no configuration error, untagged DMA undisturbed) can be checked where no
 * tagged DMA is possible; probe_detach tears it down (detach_pasid, pasid_disable). One probe
 * at a time; it locks the primary domain like an aux domain. Nothing is allocated from the
 * IOASID set and the device's PCI configuration is not touched. The rules of
 * iommu_aux_attach_pasid apply except the device ones (feature enabled, device width). */
int iommu_aux_unit_probe_attach(struct iommu_domain *dom, struct iommu_device *dev, uint32_t pasid);
int iommu_aux_unit_probe_detach(void);

/* Aux domains attached to dev. */
unsigned iommu_aux_count(const struct iommu_device *dev);

/* The IOASID system and set aux PASIDs come from. By default the core's own (capacity 2^20,
 * PASID 0 reserved, a set without quota); a caller may substitute its own (both NULL: back to
 * the default). IOMMU_EBUSY while any aux domain holds a PASID. */
int iommu_aux_use_ioasid(struct ioasid_system *sys, struct ioasid_set *set);

/* Why the last aux call was refused (empty after a success). */
const char *iommu_aux_why(void);

/* Hooks for core.c. */
bool iommu_aux_domain_busy(const struct iommu_domain *dom);
void iommu_aux_forget_unit(const struct iommu_unit *unit);

#endif
