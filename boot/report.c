/* TAP 13 to the console, a summary table, JUnit XML. Shared by firmware and host. */
#include "boot/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool report_verbose;

enum result { RES_PASS, RES_FAIL, RES_SKIP };

struct check {
  char id[40];
  char tag[12];
  enum result result;
  char *detail;  /* evidence text or skip reason */
  char *diags;   /* diagnostics printed since the previous check */
};

static struct check *checks;
static unsigned n_checks, cap_checks;
static char *pending_diags;
static size_t pending_len;
static char *junit;

static char *xstrdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

void report_begin(void)
{
  for (unsigned i = 0; i < n_checks; i++) {
    free(checks[i].detail);
    free(checks[i].diags);
  }
  n_checks = 0;
  free(pending_diags);
  pending_diags = NULL;
  pending_len = 0;
  printf("TAP version 13\n");
}

static void keep_diag(const char *line)
{
  size_t n = strlen(line);
  char *p = realloc(pending_diags, pending_len + n + 2);
  if (!p)
    return;
  pending_diags = p;
  memcpy(pending_diags + pending_len, line, n);
  pending_len += n;
  pending_diags[pending_len++] = '\n';
  pending_diags[pending_len] = '\0';
}

static void vdiag(bool print, const char *fmt, va_list ap)
{
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  if (print)
    printf("# %s\n", buf);
  keep_diag(buf);
}

void diag(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vdiag(true, fmt, ap);
  va_end(ap);
}

void diag_verbose(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vdiag(report_verbose, fmt, ap);
  va_end(ap);
}

static void record(const char *id, const char *tag, enum result res, const char *fmt, va_list ap)
{
  char detail[2048]; /* long enough for every sub-condition block */
  vsnprintf(detail, sizeof(detail), fmt, ap);
  /* TAP: '#' in a description starts a directive; keep evidence text unambiguous. */
  for (char *c = detail; *c; c++)
    if (*c == '#' || *c == '\n')
      *c = ' ';
  if (n_checks == cap_checks) {
    unsigned ncap = cap_checks ? cap_checks * 2 : 64;
    struct check *p = realloc(checks, ncap * sizeof(*p));
    if (!p) {
      printf("not ok - report: out of memory\n");
      return;
    }
    checks = p;
    cap_checks = ncap;
  }
  struct check *c = &checks[n_checks++];
  snprintf(c->id, sizeof(c->id), "%s", id);
  snprintf(c->tag, sizeof(c->tag), "%s", tag);
  c->result = res;
  c->detail = xstrdup(detail);
  c->diags = pending_diags;
  pending_diags = NULL;
  pending_len = 0;
  if (res == RES_SKIP)
    printf("ok %u - %s [%s] # SKIP %s\n", n_checks, id, tag, detail);
  else
    printf("%s %u - %s [%s] %s\n", res == RES_PASS ? "ok" : "not ok", n_checks, id, tag, detail);
}

void report(const char *id, const char *tag, bool ok, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  record(id, tag, ok ? RES_PASS : RES_FAIL, fmt, ap);
  va_end(ap);
}

void skip(const char *id, const char *tag, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  record(id, tag, RES_SKIP, fmt, ap);
  va_end(ap);
}

struct report_counts report_counts(void)
{
  struct report_counts c = { 0, 0, 0 };
  for (unsigned i = 0; i < n_checks; i++) {
    if (checks[i].result == RES_PASS)
      c.passed++;
    else if (checks[i].result == RES_FAIL)
      c.failed++;
    else
      c.skipped++;
  }
  return c;
}

/* Growable text buffer for the JUnit document. */
struct sbuf { char *p; size_t len, cap; };

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t ncap = (b->cap + n + 1) * 2;
    char *p = realloc(b->p, ncap);
    if (!p)
      return;
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void sb_str(struct sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_xml(struct sbuf *b, const char *s)
{
  for (; s && *s; s++) {
    switch (*s) {
    case '<': sb_str(b, "&lt;"); break;
    case '>': sb_str(b, "&gt;"); break;
    case '&': sb_str(b, "&amp;"); break;
    case '"': sb_str(b, "&quot;"); break;
    default:
      if ((unsigned char)*s < 0x20 && *s != '\n')
        sb_str(b, " ");
      else
        sb_put(b, s, 1);
    }
  }
}

const char *report_junit_xml(size_t *len)
{
  struct report_counts c = report_counts();
  struct sbuf b = { 0 };
  char tmp[160];
  sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  snprintf(tmp, sizeof(tmp),
           "<testsuites><testsuite name=\"bareiommu\" tests=\"%u\" failures=\"%u\" skipped=\"%u\">\n",
           n_checks, c.failed, c.skipped);
  sb_str(&b, tmp);
  for (unsigned i = 0; i < n_checks; i++) {
    const struct check *k = &checks[i];
    const char *dot = strchr(k->id, '.');
    sb_str(&b, "<testcase classname=\"");
    sb_put(&b, k->id, dot ? (size_t)(dot - k->id) : strlen(k->id));
    sb_str(&b, "\" name=\"");
    sb_xml(&b, k->id);
    sb_str(&b, " [");
    sb_xml(&b, k->tag);
    sb_str(&b, "]\">");
    if (k->result == RES_FAIL) {
      sb_str(&b, "<failure message=\"");
      sb_xml(&b, k->detail);
      sb_str(&b, "\"/>");
    } else if (k->result == RES_SKIP) {
      sb_str(&b, "<skipped message=\"");
      sb_xml(&b, k->detail);
      sb_str(&b, "\"/>");
    }
    sb_str(&b, "<system-out>");
    sb_xml(&b, k->detail);
    if (k->diags) {
      sb_str(&b, "\n");
      sb_xml(&b, k->diags);
    }
    sb_str(&b, "</system-out></testcase>\n");
  }
  sb_str(&b, "</testsuite></testsuites>\n");
  free(junit);
  junit = b.p;
  if (len)
    *len = b.len;
  return junit;
}

unsigned report_end(void)
{
  struct report_counts c = report_counts();
  printf("1..%u\n", n_checks);
  printf("# ---- summary ------------------------------------------------------------\n");
  printf("# %-24s %-7s %-5s %s\n", "scenario", "iommu", "result", "evidence / reason");
  for (unsigned i = 0; i < n_checks; i++) {
    const struct check *k = &checks[i];
    static const char *const names[] = { "PASS", "FAIL", "SKIP" };
    printf("# %-24s %-7s %-5s  %.70s\n", k->id, k->tag, names[k->result], k->detail);
  }
  printf("# %u passed, %u failed, %u skipped\n", c.passed, c.failed, c.skipped);
  size_t len;
  const char *xml = report_junit_xml(&len);
  /* Echoed as TAP comments so the console stays valid TAP; the runner lifts it. */
  printf("# JUNIT-BEGIN\n");
  for (const char *line = xml; *line;) {
    const char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line) : strlen(line);
    printf("# %.*s\n", (int)n, line);
    line += n + (nl ? 1 : 0);
  }
  printf("# JUNIT-END\n");
  return c.failed;
}

static void append_name(char *list, size_t len, const char *name)
{
  size_t n = strlen(list);
  if (n < len)
    snprintf(list + n, len - n, "%s%s", n ? " " : "", name);
}

bool subcond(struct subconds *s, const char *name, bool ok)
{
  if (ok)
    append_name(s->ok, sizeof(s->ok), name);
  else
    append_name(s->failed, sizeof(s->failed), name);
  return ok;
}

bool subconds_all_ok(const struct subconds *s) { return s->failed[0] == '\0'; }

void subconds_append(const struct subconds *s, char *buf, size_t len)
{
  size_t n = strlen(buf);
  if (n >= len)
    return;
  snprintf(buf + n, len - n, " {%s%s%s%s%s}", s->ok[0] ? "ok: " : "", s->ok,
           s->ok[0] && s->failed[0] ? "; " : "", s->failed[0] ? "failed: " : "", s->failed);
}

bool subconds_take(struct subconds *s, char *buf)
{
  memset(s, 0, sizeof(*s));
  size_t n = strlen(buf);
  char *open = strrchr(buf, '{');
  if (n == 0 || buf[n - 1] != '}' || open == NULL || strchr(open, '}') != buf + n - 1)
    return false;
  buf[n - 1] = '\0';
  char *ok = strstr(open, "ok: "), *failed = strstr(open, "failed: ");
  if (failed) {
    snprintf(s->failed, sizeof(s->failed), "%s", failed + 8);
    *failed = '\0';
  }
  if (ok) {
    snprintf(s->ok, sizeof(s->ok), "%s", ok + 4);
    size_t k = strlen(s->ok);
    while (k && (s->ok[k - 1] == ' ' || s->ok[k - 1] == ';'))
      s->ok[--k] = '\0';
  }
  *open = '\0';
  n = strlen(buf);
  while (n && buf[n - 1] == ' ')
    buf[--n] = '\0';
  return true;
}

void report_subconds(const char *id, const char *tag, const struct subconds *s, char *text,
                     size_t len)
{
  subconds_append(s, text, len);
  report(id, tag, subconds_all_ok(s), "%s", text);
}
