/* libFuzzer target for one ACPI table parser, chosen at build time with -DFUZZ_DMAR
 * (or FUZZ_IVRS, FUZZ_IORT, FUZZ_MCFG). The input becomes the table body behind a header whose signature,
 * length and checksum are made valid, so the fuzzer spends its time in the body; a second
 * pass parses the raw bytes as they are. Invariants: the parser returns 0 or a named error,
 * and what it returns is consistent with the bytes (counts within their arrays). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"

#if defined(FUZZ_DMAR)
#define FUZZ_SIG "DMAR"
#elif defined(FUZZ_IVRS)
#define FUZZ_SIG "IVRS"
#elif defined(FUZZ_IORT)
#define FUZZ_SIG "IORT"
#elif defined(FUZZ_MCFG)
#define FUZZ_SIG "MCFG"
#endif

static void check_result(int err, const void *out)
{
  if (err > 0 || err < ACPI_ENOTFOUND)
    abort();
#if defined(FUZZ_DMAR)
  const struct dmar_info *d = out;
  if (d->n_drhd > DMAR_MAX_DRHD || d->n_rmrr > DMAR_MAX_RMRR || d->n_atsr > DMAR_MAX_ATSR)
    abort();
  for (unsigned i = 0; i < d->n_drhd; i++)
    if (d->drhd[i].n_scopes > DMAR_MAX_SCOPES)
      abort();
#elif defined(FUZZ_IVRS)
  const struct ivrs_info *v = out;
  if (v->n_ivhd > IVRS_MAX_IVHD || v->n_ivmd > IVRS_MAX_IVMD)
    abort();
  for (unsigned i = 0; i < v->n_ivhd; i++)
    for (unsigned e = 0; e < v->ivhd[i].n_dev; e++)
      if (v->ivhd[i].dev[e].last < v->ivhd[i].dev[e].first)
        abort();
#elif defined(FUZZ_IORT)
  const struct iort_info *o = out;
  if (o->n_nodes > IORT_MAX_NODES)
    abort();
  if (err == ACPI_OK) {
    for (unsigned i = 0; i < o->n_nodes; i++)
      for (unsigned m = 0; m < o->nodes[i].n_mappings; m++)
        if (o->nodes[i].map[m].output_node < 0 || (unsigned)o->nodes[i].map[m].output_node >= o->n_nodes)
          abort();
    uint32_t sid;
    for (uint32_t rid = 0; rid < 0x10000; rid += 0x1111)
      (void)iort_rid_to_smmu(o, 0, rid, &sid);
  }
#elif defined(FUZZ_MCFG)
  const struct mcfg_info *m = out;
  if (m->n > MCFG_MAX_SEGMENTS)
    abort();
#endif
}

static int parse(const uint8_t *t, size_t len)
{
#if defined(FUZZ_DMAR)
  static struct dmar_info out;
  int err = dmar_parse(t, len, &out);
#elif defined(FUZZ_IVRS)
  static struct ivrs_info out;
  int err = ivrs_parse(t, len, &out);
#elif defined(FUZZ_IORT)
  static struct iort_info out;
  int err = iort_parse(t, len, &out);
#elif defined(FUZZ_MCFG)
  static struct mcfg_info out;
  int err = mcfg_parse(t, len, &out);
#else
#error "define one of FUZZ_DMAR FUZZ_IVRS FUZZ_IORT FUZZ_MCFG"
#endif
  check_result(err, &out);
  return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* Raw: whatever the bytes say, in a buffer of exactly their size. */
  uint8_t *raw = malloc(size ? size : 1);
  memcpy(raw, data, size);
  parse(raw, size);
  free(raw);

  /* Repaired header: the input is the whole table; signature, length, checksum fixed. */
  if (size < ACPI_HDR_LEN || size > 0xffff)
    return 0;
  uint8_t *t = malloc(size);
  memcpy(t, data, size);
  memcpy(t, FUZZ_SIG, 4);
  t[4] = (uint8_t)size;
  t[5] = (uint8_t)(size >> 8);
  t[6] = t[7] = 0;
  t[9] = 0;
  t[9] = (uint8_t)(0x100 - acpi_checksum(t, size));
  parse(t, size);
  free(t);
  return 0;
}
