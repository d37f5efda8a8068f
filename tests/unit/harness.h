/* harness.h — a tiny unit-test harness (one header, no registration).
 *
 *   static void test_x(void) { CHECK(a == b); CHECK_EQ_INT(n, 3); }
 *   int main(void) { RUN(test_x); return DONE(); }
 *
 * Every CHECK* counts as one check.  A failing check prints one line
 * "file:line: [test] what failed" to stdout and the run continues; DONE()
 * prints exactly one final line "N passed, N failed" and returns the exit
 * code (0 when nothing failed, 1 otherwise). */
#ifndef ER_TEST_HARNESS_H
#define ER_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned harness_pass, harness_fail;
static const char *harness_test = "-";

/* One check: cond must hold. */
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (cond) harness_pass++;                                                         \
    else {                                                                            \
      harness_fail++;                                                                 \
      printf("%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, harness_test, #cond); \
    }                                                                                 \
  } while (0)

/* One check: two integers (any width, signed or not) are equal. */
#define CHECK_EQ_INT(a, b)                                                            \
  do {                                                                                \
    long long harness_a = (long long)(a), harness_b = (long long)(b);                 \
    if (harness_a == harness_b) harness_pass++;                                       \
    else {                                                                            \
      harness_fail++;                                                                 \
      printf("%s:%d: [%s] CHECK_EQ_INT failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, \
             harness_test, #a, #b, harness_a, harness_b);                             \
    }                                                                                 \
  } while (0)

/* One check: two NUL-terminated strings are equal. */
#define CHECK_EQ_STR(a, b)                                                            \
  do {                                                                                \
    const char *harness_sa = (a), *harness_sb = (b);                                  \
    if (harness_sa && harness_sb && !strcmp(harness_sa, harness_sb)) harness_pass++;  \
    else {                                                                            \
      harness_fail++;                                                                 \
      printf("%s:%d: [%s] CHECK_EQ_STR failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__, __LINE__, \
             harness_test, #a, #b, harness_sa ? harness_sa : "(null)", harness_sb ? harness_sb : "(null)"); \
    }                                                                                 \
  } while (0)

/* Run one test function (void f(void)); failures are tagged with its name. */
#define RUN(fn)            \
  do {                     \
    harness_test = #fn;    \
    fn();                  \
    harness_test = "-";    \
  } while (0)

/* The whole file at path, malloc'd with a NUL after its *len bytes, or NULL
 * (saying so: the tests run from the repository root after ./build.sh). */
static inline uint8_t *harness_read_file(const char *path, uint32_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *b = NULL;
  long n = -1;
  if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) && (b = malloc((size_t)n + 1)) &&
      fread(b, 1, (size_t)n, f) == (size_t)n) {
    fclose(f);
    b[n] = 0;
    *len = (uint32_t)n;
    return b;
  }
  free(b);
  if (f) fclose(f);
  printf("cannot read %s (run the tests from the repository root after ./build.sh)\n", path);
  return NULL;
}

#ifdef EDGEREC_H /* helpers for tests that include edgerec.h first */
/* er_recommend on ctx, its answer as a string in out[cap] ("" on error or
 * when it does not fit); returns the status. */
static inline er_status harness_recommend(er_engine *e, const char *ctx, char *out, size_t cap) {
  const char *o;
  uint32_t n;
  er_status st = er_recommend(e, ctx, (uint32_t)strlen(ctx), NULL, 0, &o, &n);
  if (st || n >= cap) { out[0] = 0; return st ? st : ER_E_NOMEM; }
  memcpy(out, o, n);
  out[n] = 0;
  return st;
}

/* The skus of a recommend answer's items, comma-separated, '+' after a
 * back-filled one (a static buffer, valid until the next call). */
static inline const char *harness_skus(const char *out) {
  static char list[4096];
  size_t at = 0;
  list[0] = 0;
  for (const char *p = strstr(out, "{\"sku\":\""); p; p = strstr(p + 1, "{\"sku\":\"")) {
    const char *s = p + 8, *q = strchr(s, '"'), *end = strchr(p, '}');
    if (!q || !end || at + (size_t)(q - s) + 3 > sizeof list) break;
    if (at) list[at++] = ',';
    memcpy(list + at, s, (size_t)(q - s));
    at += (size_t)(q - s);
    const char *b = strstr(p, "\"backup\":true");
    if (b && b < end) list[at++] = '+';
    list[at] = 0;
  }
  return list;
}
#endif

/* Print the final "N passed, N failed" line; evaluates to the exit code. */
#define DONE() (printf("%u passed, %u failed\n", harness_pass, harness_fail), harness_fail ? 1 : 0)

#endif
