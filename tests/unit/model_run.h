/* Host tests that break the driver on purpose and check the model notices: a scenario run
 * on a model platform with the driver's flush() removed must fail with a stale translation
 * served from the model's TLB, and pass with it. */
#ifndef TESTS_UNIT_MODEL_RUN_H
#define TESTS_UNIT_MODEL_RUN_H

#include "arch/host/host_boot.h"
#include "boot/report.h"
#include "iommu/iommu.h"

/* The model's TLB hit count, read from the system before it is destroyed. */
typedef unsigned long (*model_tlb_hits_fn)(struct host_system *sys);

/* Runs glob (one check) on the model spec twice: without flush() the check must fail with
 * evidence in its text and hits > 0; with flush() it must pass. */
void model_expect_stale(const char *spec, const char *glob, const char *evidence,
                        model_tlb_hits_fn hits);

/* Changes the driver's ops for one run (the unit's ops are a patched copy). */
typedef void (*model_ops_patch_fn)(struct iommu_ops *ops);
/* Runs glob on the model spec with the unit's ops patched (NULL: as they are); returns the
 * console output (the caller frees it) and the counts. */
char *model_run_patched(const char *spec, const char *glob, model_ops_patch_fn patch,
                        struct report_counts *counts);

#endif
