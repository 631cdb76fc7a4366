/* Host tests that break the driver on purpose and check the model notices: a scenario run
 * on a model platform with the driver's flush() removed must fail with a stale translation
 * served from the model's TLB, and pass with it. */
#ifndef TESTS_UNIT_MODEL_RUN_H
#define TESTS_UNIT_MODEL_RUN_H

#include "arch/host/host_boot.h"

/* The model's TLB hit count, read from the system before it is destroyed. */
typedef unsigned long (*model_tlb_hits_fn)(struct host_system *sys);

/* Runs glob (one check) on the model spec twice: without flush() the check must fail with
 * evidence in its text and hits > 0; with flush() it must pass. */
void model_expect_stale(const char *spec, const char *glob, const char *evidence,
                        model_tlb_hits_fn hits);

/* The same with another piece of the driver removed: breaker edits a copy of the unit's ops
 * (e.g. a detach_pasid without one of its invalidations). */
struct iommu_ops;
typedef void (*model_ops_breaker_fn)(struct iommu_ops *ops);
void model_expect_stale_broken(const char *spec, const char *glob, const char *evidence,
                               model_tlb_hits_fn hits, model_ops_breaker_fn breaker);

#endif
