/* Result reporting: TAP 13 on the console, a summary table, JUnit XML (echoed + ESP).
 * One call per check. Scenario IDs come from SCENARIOS.md; the tag names the IOMMU kind
 * the check ran against ("vtd", "amd", "smmuv3") or "core" for IOMMU-independent logic. */
#ifndef BOOT_REPORT_H
#define BOOT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#define REPORT_PRINTF(a, b) __attribute__((format(printf, a, b)))

void report_begin(void);
/* ok/not ok with a one-line evidence text. */
void report(const char *id, const char *tag, bool ok, const char *fmt, ...) REPORT_PRINTF(4, 5);
/* SKIP with the exact reason, e.g. "ECAP.SLADS=0". */
void skip(const char *id, const char *tag, const char *reason_fmt, ...) REPORT_PRINTF(3, 4);
/* "# ..." diagnostic line (always printed; belongs to the current check's evidence). */
void diag(const char *fmt, ...) REPORT_PRINTF(1, 2);
/* Diagnostic printed only with --verbose. */
void diag_verbose(const char *fmt, ...) REPORT_PRINTF(1, 2);
/* Prints the plan line, the summary table and the JUnit XML; returns the number failed. */
unsigned report_end(void);

struct report_counts { unsigned passed, failed, skipped; };
struct report_counts report_counts(void);
/* JUnit document of everything reported so far, for writing to the ESP (NUL-terminated,
 * owned by the reporter). */
const char *report_junit_xml(size_t *len);

extern bool report_verbose;

/* The sub-conditions one check evaluates, each under a stable short name, printed at the end
 * of its evidence as " {ok: a b; failed: c}" (either part left out when empty). The
 * expectation judge (tests/judge_expect.sh) accepts a documented deviation (xfail) only when
 * the failed part names exactly the sub-conditions the expectation names. */
struct subconds {
  char ok[512];
  char failed[512];
};
/* Records name as passed or failed; returns ok. */
bool subcond(struct subconds *s, const char *name, bool ok);
bool subconds_all_ok(const struct subconds *s);
/* Removes a trailing " {ok: ...; failed: ...}" block from buf into s (false: none there),
 * so a caller can add its own sub-conditions to a block a lower layer wrote. */
bool subconds_take(struct subconds *s, char *buf);
/* Appends the sub-condition block to text and reports the check (ok when every
 * sub-condition held). */
void report_subconds(const char *id, const char *tag, const struct subconds *s, char *text,
                     size_t len);
/* Appends the " {ok: ...; failed: ...}" block to the NUL-terminated text in buf. */
void subconds_append(const struct subconds *s, char *buf, size_t len);

#endif
