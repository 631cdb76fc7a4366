/* IOMMU groups: the smallest sets of PCI functions the IOMMU cannot tell apart, which must
 * therefore always share a domain. Formed from the topology as operating systems do it:
 *  - DMA aliases: a function whose DMA carries another requester ID (PCIe-to-PCI bridge,
 *    conventional bridge, quirk) shares with the bridge or function that ID belongs to;
 *  - ACS: below a bridge or port that does not isolate (no ACS SV RR CR UF, or conventional
 *    PCI), functions share with that bridge, up to the last non-isolating one on the path;
 *  - multifunction: functions of one device without ACS (RR CR) share.
 * IDs are dense (0..n-1) and stable: groups are numbered in order of their lowest
 * (segment, requester ID). A group is attached as a whole: every member's requester ID and
 * every alias ID its DMA can carry. */
#ifndef IOMMU_CORE_GROUP_H
#define IOMMU_CORE_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/core/core.h"

#define IOMMU_MAX_GROUPS 64
#define IOMMU_GROUP_MAX_MEMBERS 16
#define IOMMU_GROUP_MAX_RIDS 24
#define IOMMU_GROUP_MAX_LISTENERS 4

/* Why members share a group (bits of iommu_group.reasons). */
enum iommu_group_reason {
  IOMMU_GROUP_ALIAS = 1u,
  IOMMU_GROUP_ACS = 2u,
  IOMMU_GROUP_MULTIFUNCTION = 4u,
};

enum iommu_group_event {
  IOMMU_GROUP_DEVICE_ADD,
  IOMMU_GROUP_DEVICE_REMOVE,
  IOMMU_GROUP_DRIVER_BIND,
  IOMMU_GROUP_DRIVER_UNBIND,
};
const char *iommu_group_event_name(enum iommu_group_event ev);

struct iommu_group;
/* dev: the function the event is about; driver: its driver's name (bind/unbind) or NULL. */
typedef void (*iommu_group_listener_fn)(void *ctx, struct iommu_group *g,
                                        enum iommu_group_event ev, const struct pci_dev *dev,
                                        const char *driver);

struct iommu_group {
  unsigned id;
  struct iommu_unit *unit;      /* the unit translating its requester IDs */
  uint16_t segment;
  unsigned n_members;
  int members[IOMMU_GROUP_MAX_MEMBERS];  /* indices into plat->pci.devs, lowest RID first */
  bool present[IOMMU_GROUP_MAX_MEMBERS]; /* false while the function is removed */
  unsigned n_rids;
  uint16_t rids[IOMMU_GROUP_MAX_RIDS];   /* every requester ID its members' DMA can carry */
  unsigned reasons;             /* enum iommu_group_reason bits */
  char why[192];                /* which alias, which port lacks which ACS bits, which device */
  struct iommu_domain *domain;  /* attached as a whole; NULL while blocked */
  struct {
    iommu_group_listener_fn fn;
    void *ctx;
  } listeners[IOMMU_GROUP_MAX_LISTENERS];
};

/* Forms the groups of every PCI function some unit translates (once per platform; again
 * after iommu_groups_forget). IOMMU_ENOMEM when the platform has more groups or members than
 * the table holds. */
int iommu_groups_build(struct platform *plat);
/* Forms the groups into out without installing them (to compare formations). */
int iommu_groups_form(struct platform *plat, struct iommu_group *out, unsigned max, unsigned *n);
/* Forgets every group (the run ends, or another platform follows). */
void iommu_groups_forget(void);
unsigned iommu_group_count(void);
struct iommu_group *iommu_group_get(unsigned id);
/* The group whose DMA can carry (segment, rid): a member's own ID or an alias; NULL if none. */
struct iommu_group *iommu_group_of_rid(uint16_t segment, uint16_t rid);
const struct pci_dev *iommu_group_member(const struct iommu_group *g, unsigned i);

/* Attaches every requester ID of the group to dom (all or nothing: on failure each ID goes
 * back to what it had). IOMMU_EINVAL when dom belongs to another unit. */
int iommu_group_attach(struct iommu_group *g, struct iommu_domain *dom);
/* Every requester ID of the group back to blocked; IOMMU_ENOENT when nothing was attached. */
int iommu_group_detach(struct iommu_group *g);
/* The core's check before it attaches one device on its own: IOMMU_EGROUP when the device
 * belongs to a group with other requester IDs (attach the group instead). */
int iommu_group_check_single_attach(const struct iommu_device *dev);
/* Every group of the unit is blocked again (the unit was handed back). */
void iommu_groups_forget_unit(const struct iommu_unit *unit);

int iommu_group_listen(struct iommu_group *g, iommu_group_listener_fn fn, void *ctx);
void iommu_group_unlisten(struct iommu_group *g, iommu_group_listener_fn fn, void *ctx);
/* Hot removal / re-add of a function (index into plat->pci.devs): the function leaves its
 * group (its own requester ID blocked) or rejoins it (attached to the group's domain);
 * listeners hear DEVICE_REMOVE / DEVICE_ADD. */
int iommu_group_remove_device(struct platform *plat, int pci_index);
int iommu_group_add_device(struct platform *plat, int pci_index);
/* A driver (the firmware's initiator drivers) bound to or released the function. */
void iommu_group_driver_event(const struct pci_dev *dev, bool bind, const char *driver);

/* One line per group for the group map: "group 2 [vtd DMAR DRHD 0]: 00:05.0 00:05.1 RIDs
 * 0x0028 0x0029 -- multifunction: 00:05 ..." */
void iommu_group_describe(const struct iommu_group *g, char *buf, size_t len);

#endif
