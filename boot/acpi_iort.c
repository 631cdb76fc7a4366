/* IORT (Arm DEN0049E): nodes, ID mappings, SMMUv3 and root-complex nodes. */
#include "boot/acpi.h"

#include <string.h>

#define IORT_HDR_LEN 48u
#define IORT_NODE_HDR_LEN 16u
#define IORT_MAPPING_LEN 20u
#define IORT_SMMUV3_MIN_LEN 60u
#define IORT_RC_MIN_LEN 32u
#define IORT_MAP_SINGLE 0x1u

static int find_node_at(const struct iort_info *iort, uint32_t offset)
{
  for (unsigned i = 0; i < iort->n_nodes; i++)
    if (iort->nodes[i].offset == offset)
      return (int)i;
  return -1;
}

int iort_parse(const uint8_t *t, size_t len, struct iort_info *out)
{
  memset(out, 0, sizeof(*out));
  int err = acpi_table_check(t, len, "IORT", IORT_HDR_LEN);
  if (err)
    return err;
  uint32_t tlen = acpi_rd32(t + 4);
  out->revision = t[8];
  uint32_t n_nodes = acpi_rd32(t + 36);
  uint32_t off = acpi_rd32(t + 40);
  if (n_nodes > IORT_MAX_NODES)
    return ACPI_ETOOMANY;
  if (n_nodes > 0 && off < IORT_HDR_LEN)
    return ACPI_EOVERLAP; /* node array on top of the table header */

  for (uint32_t i = 0; i < n_nodes; i++) {
    if (off > tlen || tlen - off < IORT_NODE_HDR_LEN)
      return ACPI_ETRUNCATED;
    const uint8_t *n = t + off;
    struct iort_node *node = &out->nodes[out->n_nodes];
    memset(node, 0, sizeof(*node));
    node->type = n[0];
    node->length = acpi_rd16(n + 1);
    node->revision = n[3];
    node->identifier = acpi_rd32(n + 4);
    node->offset = off;
    uint32_t n_map = acpi_rd32(n + 8);
    uint32_t map_off = acpi_rd32(n + 12);
    if (node->length < IORT_NODE_HDR_LEN)
      return ACPI_EBADLEN;
    if (node->length > tlen - off)
      return ACPI_ETRUNCATED;
    if (n_map > IORT_MAX_MAPPINGS)
      return ACPI_ETOOMANY;
    if (n_map > 0) {
      if (map_off < IORT_NODE_HDR_LEN || map_off > node->length ||
          (node->length - map_off) / IORT_MAPPING_LEN < n_map)
        return ACPI_ETRUNCATED;
    }
    node->n_mappings = n_map;
    for (uint32_t m = 0; m < n_map; m++) {
      const uint8_t *e = n + map_off + m * IORT_MAPPING_LEN;
      struct iort_mapping *map = &node->map[m];
      map->input_base = acpi_rd32(e);
      map->num_ids = acpi_rd32(e + 4);
      map->output_base = acpi_rd32(e + 8);
      map->output_ref = acpi_rd32(e + 12);
      map->flags = acpi_rd32(e + 16);
      map->output_node = -1;
      if (!(map->flags & IORT_MAP_SINGLE) && map->input_base + (uint64_t)map->num_ids > 0xffffffffu)
        return ACPI_EBADVALUE;
      for (uint32_t k = 0; k < m; k++) {
        const struct iort_mapping *o = &node->map[k];
        if ((o->flags | map->flags) & IORT_MAP_SINGLE)
          continue;
        uint64_t o_end = (uint64_t)o->input_base + o->num_ids;
        uint64_t m_end = (uint64_t)map->input_base + map->num_ids;
        if (map->input_base > o_end || o->input_base > m_end)
          continue;
        if (map->input_base == o_end || o->input_base == m_end) {
          out->num_ids_off_by_one++; /* only the boundary ID is shared */
          continue;
        }
        return ACPI_EOVERLAP;
      }
    }
    switch (node->type) {
    case IORT_NODE_SMMUV3:
      if (node->length < IORT_SMMUV3_MIN_LEN)
        return ACPI_EBADLEN;
      node->u.smmuv3.base = acpi_rd64(n + 16);
      node->u.smmuv3.flags = acpi_rd32(n + 24);
      node->u.smmuv3.model = acpi_rd32(n + 40);
      node->u.smmuv3.gsiv_event = acpi_rd32(n + 44);
      node->u.smmuv3.gsiv_pri = acpi_rd32(n + 48);
      node->u.smmuv3.gsiv_gerr = acpi_rd32(n + 52);
      node->u.smmuv3.gsiv_sync = acpi_rd32(n + 56);
      if (node->u.smmuv3.base == 0 || (node->u.smmuv3.base & 0xffff) != 0)
        return ACPI_EBADVALUE; /* SMMUv3 register pages are 64 KiB aligned */
      break;
    case IORT_NODE_ROOT_COMPLEX:
      if (node->length < IORT_RC_MIN_LEN)
        return ACPI_EBADLEN;
      node->u.rc.ats_attr = acpi_rd32(n + 24);
      node->u.rc.segment = acpi_rd32(n + 28);
      if (node->revision >= 1 && node->length >= 33)
        node->u.rc.mem_addr_limit = n[32];
      break;
    default:
      break;
    }
    out->n_nodes++;
    off += node->length;
  }

  /* Every mapping must point at a node of this table. */
  for (unsigned i = 0; i < out->n_nodes; i++) {
    struct iort_node *node = &out->nodes[i];
    for (unsigned m = 0; m < node->n_mappings; m++) {
      int target = find_node_at(out, node->map[m].output_ref);
      if (target < 0 || (unsigned)target == i)
        return ACPI_EBADREF;
      node->map[m].output_node = target;
    }
  }
  out->present = true;
  return ACPI_OK;
}

int iort_rid_to_smmu(const struct iort_info *iort, uint32_t segment, uint32_t rid,
                     uint32_t *stream_id)
{
  /* Pass 0 matches the IDs a mapping owns without doubt; pass 1 its inclusive last ID, which
   * a num_ids off-by-one table also gives to the next range (that one wins, as intended). */
  for (unsigned pass = 0; pass < 2; pass++)
  for (unsigned i = 0; i < iort->n_nodes; i++) {
    const struct iort_node *rc = &iort->nodes[i];
    if (rc->type != IORT_NODE_ROOT_COMPLEX || rc->u.rc.segment != segment)
      continue;
    for (unsigned m = 0; m < rc->n_mappings; m++) {
      const struct iort_mapping *map = &rc->map[m];
      if (map->flags & IORT_MAP_SINGLE)
        continue;
      if (rid < map->input_base || rid - map->input_base > map->num_ids)
        continue;
      if (pass == 0 && rid - map->input_base == map->num_ids && map->num_ids != 0)
        continue;
      const struct iort_node *target = &iort->nodes[map->output_node];
      if (target->type != IORT_NODE_SMMUV3)
        return ACPI_ENOTFOUND; /* mapped straight to an ITS: untranslated */
      *stream_id = map->output_base + (rid - map->input_base);
      return map->output_node;
    }
  }
  return ACPI_ENOTFOUND;
}
