/* test_badinput.c — hostile input through the public API (edgerec.h): every
 * case must be a clean error naming what and where (or a documented graceful
 * result), never a crash, a sanitizer report or a hang, and a failed call
 * must leave the engine exactly as usable as before.  Run from the
 * repository root after ./build.sh (reads build/sample.erb). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgerec.h"
#include "er_json.h"
#include "er_profile.h"
#include "harness.h"

/* ---- fixtures -------------------------------------------------------------- */

static er_engine *E;
static uint8_t *BUNDLE;
static uint32_t BUNDLE_LEN;

/* A real context: every field set. */
static const char CTX[] =
    "{\"recent\":[\"ER-BAG-01\",\"ER-MJ-01\"],\"now\":1767225600,\"page\":{\"type\":\"product\",\"sku\":\"ER-BAG-02\","
    "\"category\":\"Gear/Bags\"},\"device\":\"mobile\",\"country\":\"DE\",\"hour\":14,\"weekday\":3,"
    "\"unit\":\"recommended-for-you\",\"k\":5,\"exclude\":[\"ER-BAG-03\"]}";

/* A Venia-shaped products response (PWA Studio category page). */
#define VITEM(typ, uid, sku, name, price)                                                                          \
  "{\"__typename\":\"" typ "\",\"uid\":\"" uid "\",\"sku\":\"" sku "\",\"name\":\"" name "\",\"url_key\":\"x-" uid "\"," \
  "\"small_image\":{\"url\":\"https://venia.example/media/catalog/product/" uid ".jpg\",\"__typename\":\"ProductImage\"}," \
  "\"stock_status\":\"IN_STOCK\",\"rating_summary\":80,\"price_range\":{\"maximum_price\":{\"final_price\":{\"currency\":" \
  "\"USD\",\"value\":" price "},\"__typename\":\"ProductPrice\"},\"minimum_price\":{\"final_price\":{\"currency\":\"USD\","  \
  "\"value\":" price "},\"regular_price\":{\"currency\":\"USD\",\"value\":" price "},\"__typename\":\"ProductPrice\"},"   \
  "\"__typename\":\"PriceRange\"}}"
static const char RESP[] =
    "{\"data\":{\"products\":{\"__typename\":\"Products\",\"aggregations\":[{\"attribute_code\":\"price\",\"label\":"
    "\"Price\",\"count\":2,\"options\":[{\"label\":\"0-100\",\"value\":\"0_100\",\"count\":5}]}],\"items\":["
    VITEM("SimpleProduct", "MQ==", "ER-BAG-01", "Trailhead Daypack", "42") ","
    VITEM("SimpleProduct", "Mg==", "ER-BAG-02", "Metro Commuter Tote", "38.0") ","
    VITEM("ConfigurableProduct", "MjI=", "ER-MJ-01", "Ridge Shell Jacket", "79.5") ","
    VITEM("SimpleProduct", "OTk=", "ER-NOT-IN-CATALOG", "Mystery \\u00e9 Box", "9.99") ","
    VITEM("SimpleProduct", "Mw==", "ER-BAG-03", "Summit Rolltop 30L", "64")
    "],\"page_info\":{\"total_pages\":1,\"current_page\":1},\"total_count\":5}}}";

/* A real event. */
static const char EVENT[] = "{\"type\":\"cart\",\"item\":\"ER-MJ-02\",\"ts\":1767226200,\"price\":96.5,\"category\":\"Men/Jackets\"}";

/* Outputs of the good calls before any failure: later good calls must match. */
static char *BASE_REC, *BASE_RR;
static uint32_t BASE_REC_LEN, BASE_RR_LEN;
static uint8_t BASE_PROF[ER_PROFILE_MAX_BYTES];
static uint32_t BASE_PROF_LEN;

/* The last call's output. */
static const char *OUT;
static uint32_t OUT_LEN;

static er_status rec(const char *ctx, uint32_t len) { return er_recommend(E, ctx, len, NULL, 0, &OUT, &OUT_LEN); }
static er_status rec_s(const char *ctx) { return rec(ctx, (uint32_t)strlen(ctx)); }
static er_status rr(const char *resp, uint32_t len, const char *ctx, uint32_t clen) {
  return er_rerank(E, resp, len, ctx, clen, NULL, 0, &OUT, &OUT_LEN);
}
static er_status rr_s(const char *resp, const char *ctx) {
  return rr(resp, (uint32_t)strlen(resp), ctx, ctx ? (uint32_t)strlen(ctx) : 0);
}
static er_status upd(const char *ev, uint32_t len) {
  return er_profile_update(E, NULL, 0, ev, len, (const uint8_t **)&OUT, &OUT_LEN);
}
static er_status upd_s(const char *ev) { return upd(ev, (uint32_t)strlen(ev)); }
static const char *MSG(void) { return er_engine_error(E)->msg; }

static double now_s(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The status is `want`, the error record agrees, and the message holds
 * every given substring (NULL-terminated list).  Prints why not. */
static int expect(const char *what, er_status got, er_status want, ...) {
  const er_error *e = er_engine_error(E);
  int ok = got == want && (want == ER_OK || (e->code == want && e->msg[0]));
  va_list ap;
  va_start(ap, want);
  for (const char *s; ok && (s = va_arg(ap, const char *));)
    if (!strstr(e->msg, s)) {
      printf("  %s: message lacks \"%s\"\n", what, s);
      ok = 0;
    }
  va_end(ap);
  if (!ok) printf("  %s: got %d (%s) want %d: %s\n", what, got, er_strerror(got), want, e->msg);
  return ok;
}
#define EXPECT(what, got, want, ...) CHECK(expect((what), (got), (want), __VA_ARGS__, (const char *)NULL))

/* A declined re-rank: non-OK with the given status and reason token. */
static int expect_rr(const char *what, er_status got, er_status want, const char *reason) {
  int ok = got == want && !strcmp(er_engine_reason(E), reason) && er_engine_error(E)->msg[0];
  if (!ok) printf("  %s: got %d reason '%s' want %d '%s': %s\n", what, got, er_engine_reason(E), want, reason, MSG());
  return ok;
}

/* "(byte N)" / "at byte N" present and the record's offset is N. */
static int names_byte(uint32_t n) {
  char b[32];
  snprintf(b, sizeof b, "byte %u", n);
  int ok = strstr(MSG(), b) && er_engine_error(E)->offset == n;
  if (!ok) printf("  expected byte %u: offset %u, %s\n", n, er_engine_error(E)->offset, MSG());
  return ok;
}

/* The engine still gives the bytes it gave before any failure. */
static int still_good(void) {
  int ok = 1;
  if (rec_s(CTX) != ER_OK || OUT_LEN != BASE_REC_LEN || memcmp(OUT, BASE_REC, OUT_LEN)) {
    printf("  recommend after failures differs: %s\n", MSG());
    ok = 0;
  }
  if (rr_s(RESP, CTX) != ER_OK || OUT_LEN != BASE_RR_LEN || memcmp(OUT, BASE_RR, OUT_LEN)) {
    printf("  rerank after failures differs: %s\n", MSG());
    ok = 0;
  }
  if (upd(EVENT, sizeof EVENT - 1) != ER_OK || OUT_LEN != BASE_PROF_LEN || memcmp(OUT, BASE_PROF, OUT_LEN)) {
    printf("  profile update after failures differs: %s\n", MSG());
    ok = 0;
  }
  if (er_engine_error(E)->code != ER_OK) ok = 0;
  return ok;
}

/* Output JSON is valid (recommend / rerank success). */
static int valid_json(const char *s, uint32_t n) {
  er_error e;
  return er_json_validate(s, n, ER_MAX_JSON_DEPTH, "output", &e, NULL) == ER_OK;
}

/* True when s[0..n) contains the NUL-terminated needle. */
static int contains(const char *s, uint32_t n, const char *needle) {
  size_t m = strlen(needle);
  for (uint32_t k = 0; k + m <= n; k++)
    if (!memcmp(s + k, needle, m)) return 1;
  return 0;
}

/* A malloc'd string: prefix + n × rep + suffix (n may be large). */
static char *build(const char *prefix, const char *rep, uint32_t n, const char *suffix, uint32_t *len) {
  size_t pl = strlen(prefix), rl = strlen(rep), sl = strlen(suffix), total = pl + rl * (size_t)n + sl;
  char *s = malloc(total + 1);
  if (!s) { printf("out of memory\n"); exit(2); }
  memcpy(s, prefix, pl);
  for (uint32_t k = 0; k < n; k++) memcpy(s + pl + rl * k, rep, rl);
  memcpy(s + pl + rl * (size_t)n, suffix, sl + 1);
  *len = (uint32_t)total;
  return s;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_empty(void) {
  /* a zero-length context is the anonymous shopper `{}` (documented default) */
  CHECK(rec_s("{}") == ER_OK);
  char *anon = malloc(OUT_LEN);
  uint32_t anon_len = OUT_LEN;
  memcpy(anon, OUT, OUT_LEN);
  CHECK(rec("", 0) == ER_OK && OUT_LEN == anon_len && !memcmp(OUT, anon, anon_len));
  CHECK(rec(NULL, 0) == ER_OK && OUT_LEN == anon_len && !memcmp(OUT, anon, anon_len));
  free(anon);
  EXPECT("whitespace context", rec_s(" \n\t "), ER_E_JSON, "context", "empty input");
  EXPECT("NULL context with a length", rec(NULL, 5), ER_E_USAGE, "NULL");
  CHECK(expect_rr("empty response", rr("", 0, CTX, sizeof CTX - 1), ER_E_SHAPE, "shape"));
  CHECK(expect_rr("NULL response", rr(NULL, 0, CTX, sizeof CTX - 1), ER_E_SHAPE, "shape"));
  CHECK(expect_rr("NULL response with a length", rr(NULL, 10, CTX, sizeof CTX - 1), ER_E_SHAPE, "shape"));
  CHECK(expect_rr("NULL context with a length", rr(RESP, sizeof RESP - 1, NULL, 7), ER_E_USAGE, "context"));
  CHECK(rr(RESP, sizeof RESP - 1, "", 0) == ER_OK); /* empty context: anonymous */
  EXPECT("empty event", upd("", 0), ER_E_JSON, "event", "empty input");
  EXPECT("NULL event with a length", upd(NULL, 4), ER_E_USAGE, "event");
  EXPECT("NULL profile with a length", er_recommend(E, "{}", 2, NULL, 9, &OUT, &OUT_LEN), ER_E_USAGE, "profile");
  /* an empty profile is a new shopper */
  CHECK(er_profile_show(E, NULL, 0, &OUT, &OUT_LEN) == ER_OK && valid_json(OUT, OUT_LEN));
  er_error err;
  CHECK(er_engine_new(NULL, 0, &err) == NULL && err.code == ER_E_BUNDLE_TRUNCATED);
  CHECK(er_engine_new((const uint8_t *)"", 0, &err) == NULL && err.code == ER_E_BUNDLE_TRUNCATED);
  CHECK(still_good());
}

static void test_truncated(void) {
  uint32_t n = sizeof CTX - 1, bad = 0;
  char *buf = malloc(sizeof RESP);
  for (uint32_t i = 1; i < n; i++) { /* exact-size copy: ASan sees any overread */
    memcpy(buf, CTX, i);
    er_status st = rec(buf, i);
    if (st != ER_E_JSON || er_engine_error(E)->offset > i || !strstr(MSG(), "byte") || !strstr(MSG(), "context")) {
      if (!bad++) printf("  context truncated at %u: %d %s\n", i, st, MSG());
    }
  }
  CHECK_EQ_INT(bad, 0);
  /* the real response at every byte offset: declined as malformed JSON */
  n = sizeof RESP - 1;
  bad = 0;
  for (uint32_t i = 1; i < n; i++) {
    char *r = malloc(i);
    memcpy(r, RESP, i);
    er_status st = rr(r, i, CTX, sizeof CTX - 1);
    if (st != ER_E_JSON || strcmp(er_engine_reason(E), "json") || er_engine_error(E)->offset > i || !strstr(MSG(), "byte")) {
      if (!bad++) printf("  response truncated at %u: %d %s %s\n", i, st, er_engine_reason(E), MSG());
    }
    free(r);
  }
  CHECK_EQ_INT(bad, 0);
  /* the event at every offset */
  n = sizeof EVENT - 1;
  bad = 0;
  for (uint32_t i = 1; i < n; i++) {
    memcpy(buf, EVENT, i);
    if (upd(buf, i) != ER_E_JSON || !strstr(MSG(), "byte")) {
      if (!bad++) printf("  event truncated at %u: %s\n", i, MSG());
    }
  }
  CHECK_EQ_INT(bad, 0);
  /* a real profile at every length: ER_E_PROFILE naming a byte */
  bad = 0;
  for (uint32_t i = 1; i < BASE_PROF_LEN; i++) {
    uint8_t *p = malloc(i);
    memcpy(p, BASE_PROF, i);
    er_status st = er_recommend(E, CTX, sizeof CTX - 1, p, i, &OUT, &OUT_LEN);
    if (st != ER_E_PROFILE || !strstr(MSG(), "byte")) {
      if (!bad++) printf("  profile truncated at %u: %d %s\n", i, st, MSG());
    }
    free(p);
  }
  CHECK_EQ_INT(bad, 0);
  free(buf);
  CHECK(still_good());
}

static void test_garbled(void) {
  uint32_t bad = 0, oks = 0;
  char *buf = malloc(4096);
  for (int it = 0; it < 3000; it++) {
    uint32_t n = 1 + rnd() % 300;
    for (uint32_t k = 0; k < n; k++) buf[k] = (char)rnd();
    if (it % 3 == 1) buf[0] = '{';
    er_status st = rec(buf, n);
    if (st == ER_OK) oks++;
    else if (er_engine_error(E)->code != st || !MSG()[0]) bad++;
    st = rr(buf, n, CTX, sizeof CTX - 1);
    if (st == ER_OK || !MSG()[0] || !er_engine_reason(E)[0]) bad++;
    st = upd(buf, n);
    if (st == ER_OK || !MSG()[0]) bad++;
    st = er_profile_show(E, (const uint8_t *)buf, n, &OUT, &OUT_LEN);
    if (st != ER_E_PROFILE) bad++;
    er_error err;
    er_engine *e2 = er_engine_new((const uint8_t *)buf, n, &err);
    if (e2 || !err.msg[0]) bad++;
    er_engine_free(e2);
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(oks, 0);
  /* every byte of the real context and response replaced by hostile bytes */
  static const char subs[] = {0, '"', '\\', '{', '}', '[', ']', ',', ':', 'x', '9', '-', (char)0x80, (char)0xFF, ' '};
  bad = 0;
  for (uint32_t i = 0; i < sizeof CTX - 1; i++)
    for (size_t s = 0; s < sizeof subs; s++) {
      memcpy(buf, CTX, sizeof CTX - 1);
      buf[i] = subs[s];
      er_status st = rec(buf, sizeof CTX - 1);
      if (st == ER_OK ? !valid_json(OUT, OUT_LEN) : (er_engine_error(E)->code != st || !MSG()[0])) {
        if (!bad++) printf("  context byte %u -> %02x: %d %s\n", i, (uint8_t)subs[s], st, MSG());
      }
    }
  CHECK_EQ_INT(bad, 0);
  char *rbuf = malloc(sizeof RESP);
  bad = 0;
  for (uint32_t i = 0; i < sizeof RESP - 1; i += 3)
    for (size_t s = 0; s < sizeof subs; s++) {
      memcpy(rbuf, RESP, sizeof RESP - 1);
      rbuf[i] = subs[s];
      er_status st = rr(rbuf, sizeof RESP - 1, CTX, sizeof CTX - 1);
      if (st == ER_OK ? (OUT_LEN != sizeof RESP - 1) : (!er_engine_reason(E)[0] || !MSG()[0])) {
        if (!bad++) printf("  response byte %u -> %02x: %d %s\n", i, (uint8_t)subs[s], st, MSG());
      }
    }
  CHECK_EQ_INT(bad, 0);
  free(rbuf);
  free(buf);
  CHECK(still_good());
}

static void test_deep_nesting(void) {
  uint32_t n;
  char *s = build("", "[", 10000, "", &n);
  EXPECT("10,000 [ as context", rec(s, n), ER_E_LIMIT, "nesting deeper than 64", "byte 64");
  CHECK(expect_rr("10,000 [ as response", rr(s, n, CTX, sizeof CTX - 1), ER_E_LIMIT, "limit"));
  EXPECT("10,000 [ as event", upd(s, n), ER_E_LIMIT, "nesting deeper than 64");
  free(s);
  s = build("{\"x\":", "[", 10000, "", &n);
  EXPECT("10,000 [ in an unknown field", rec(s, n), ER_E_LIMIT, "nesting deeper than 64", "byte 68");
  free(s);
  s = build("{\"a\":", "{\"a\":", 10000, "", &n);
  EXPECT("10,000 nested objects", rec(s, n), ER_E_LIMIT, "nesting deeper than 64");
  free(s);
  char *r = build("{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\",\"x\":", "[", 10000, "", &n);
  CHECK(expect_rr("10,000 [ in an item", rr(r, n, CTX, sizeof CTX - 1), ER_E_LIMIT, "limit"));
  CHECK(strstr(MSG(), "nesting deeper than 64") != NULL);
  free(r);
  /* the boundary: depth 64 is fine, 65 is over */
  char *a = build("{\"x\":", "[", 63, "", &n), *b = build(a, "]", 63, "}", &n);
  CHECK(rec(b, n) == ER_OK);
  free(a);
  free(b);
  a = build("{\"x\":", "[", 64, "", &n);
  b = build(a, "]", 64, "}", &n);
  EXPECT("depth 65", rec(b, n), ER_E_LIMIT, "nesting deeper than 64", "byte 68");
  free(a);
  free(b);
  CHECK(still_good());
}

/* A context with `field` set to raw JSON `value`: expect `code`, the field
 * named in quotes and the value's byte offset. */
static void field_case(const char *field, const char *json, const char *value, er_status code) {
  char what[160];
  snprintf(what, sizeof what, "%s = %.60s", field, value);
  const char *at = strstr(json, value);
  uint32_t off = at ? (uint32_t)(at - json) : 0;
  char quoted[40];
  snprintf(quoted, sizeof quoted, "'%s'", field);
  er_status st = rec_s(json);
  CHECK(expect(what, st, code, quoted, (const char *)NULL) && names_byte(off));
}

static void test_huge_numbers(void) {
  static const char *const big[] = {"1e400", "-1e400", "123456789012345678901234567890", "-123456789012345678901234567890",
                                    "1E+99999999999", "18446744073709551616", "9223372036854775808", "4294967296"};
  static const char *const fields[] = {"k", "hour", "now", "weekday"};
  char json[256];
  for (size_t f = 0; f < 4; f++)
    for (size_t b = 0; b < sizeof big / sizeof big[0]; b++) {
      snprintf(json, sizeof json, "{\"device\":\"app\",\"%s\":%s}", fields[f], big[b]);
      field_case(fields[f], json, big[b], ER_E_RANGE);
    }
  field_case("k", "{\"k\":1e-400}", "1e-400", ER_E_RANGE);
  field_case("k", "{\"k\":10.5}", "10.5", ER_E_RANGE);
  field_case("k", "{\"k\":0}", "0}", ER_E_RANGE);
  field_case("k", "{\"k\":201}", "201", ER_E_RANGE);
  CHECK(rec_s("{\"k\":2e1}") == ER_OK && valid_json(OUT, OUT_LEN));   /* 20: integral */
  CHECK(rec_s("{\"hour\":-0,\"now\":0}") == ER_OK);                     /* -0 is 0 */
  uint32_t n;
  char *s = build("{\"k\":", "9", 20000, "}", &n); /* a 20,000-digit number */
  double t0 = now_s();
  EXPECT("20,000 digits", rec(s, n), ER_E_RANGE, "'k'", "(byte 5)");
  free(s);
  s = build("{\"now\":0.", "0", 20000, "1e20001}", &n); /* exactly 10 */
  CHECK(rec(s, n) == ER_OK);
  free(s);
  s = build("{\"now\":0.", "0", 20000, "1e20011}", &n); /* 1e10 */
  EXPECT("tiny mantissa, huge exponent", rec(s, n), ER_E_RANGE, "'now'", "(byte 7)");
  free(s);
  CHECK(now_s() - t0 < 2.0);
  /* huge numbers where the engine only reads them loosely: ignored */
  CHECK(rec_s("{\"x\":1e400,\"y\":-123456789012345678901234567890}") == ER_OK);
  CHECK(rr_s("{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\",\"price_range\":{\"minimum_price\":{\"final_price\":"
             "{\"value\":1e400}}}},{\"sku\":\"ER-BAG-02\",\"price_range\":{\"minimum_price\":{\"final_price\":{\"value\":-1e400}}}}]}}}",
             CTX) == ER_OK);
  CHECK(still_good());
}

static void test_bad_utf8(void) {
  static const char *const bad[] = {"\xC0\xAF",         "\xC1\xBF",         "\xE0\x80\xAF", "\xF0\x80\x80\xAF", /* overlong */
                                    "\xED\xA0\x80",     "\xED\xBF\xBF",     /* UTF-8 surrogates */
                                    "\x80",             "\xBF",             "\x80\x80", /* lone continuation bytes */
                                    "\xFF",             "\xFE",             "\xF5\x80\x80\x80", "\xF4\x90\x80\x80",
                                    "\xE2\x82",         "\xF0\x9F\x98",     "\xC3"}; /* truncated sequences */
  char json[256], what[64];
  for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
    snprintf(what, sizeof what, "bad UTF-8 #%zu in a value", b);
    int n = snprintf(json, sizeof json, "{\"country\":\"A%s\"}", bad[b]);
    EXPECT(what, rec(json, (uint32_t)n), ER_E_JSON, "invalid UTF-8");
    CHECK(names_byte(13));
    snprintf(what, sizeof what, "bad UTF-8 #%zu in a key", b);
    n = snprintf(json, sizeof json, "{\"k\":3,\"ab%sc\":1}", bad[b]);
    EXPECT(what, rec(json, (uint32_t)n), ER_E_JSON, "invalid UTF-8");
    CHECK(names_byte(10));
    n = snprintf(json, sizeof json, "{\"candidates\":[\"ER-BAG-01\",\"%s\"]}", bad[b]);
    EXPECT(what, rec(json, (uint32_t)n), ER_E_JSON, "invalid UTF-8");
    CHECK(names_byte(28));
    snprintf(what, sizeof what, "bad UTF-8 #%zu in a response", b);
    n = snprintf(json, sizeof json, "{\"data\":{\"products\":{\"items\":[{\"sku\":\"%s\"},{\"sku\":\"ER-BAG-01\"}]}}}", bad[b]);
    CHECK(expect_rr(what, rr(json, (uint32_t)n, CTX, sizeof CTX - 1), ER_E_JSON, "json"));
    CHECK(names_byte(38));
    n = snprintf(json, sizeof json, "{\"type\":\"view\",\"item\":\"%s\"}", bad[b]);
    EXPECT(what, upd(json, (uint32_t)n), ER_E_JSON, "invalid UTF-8", "byte 23");
  }
  /* valid multi-byte UTF-8 at the edges is fine */
  CHECK(rec_s("{\"country\":\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"}") == ER_OK);
  CHECK(rec_s("{\"candidates\":[\"ER-BAG-01\",\"\xE2\x82\xAC\xF0\x9F\x98\x80\"],\"k\":2}") == ER_OK && valid_json(OUT, OUT_LEN));
  CHECK(still_good());
}

static void test_wrong_types(void) {
  static const struct { const char *field, *json, *value; er_status code; } cases[] = {
      {"profile", "{\"profile\":5}", "5", ER_E_TYPE},
      {"profile", "{\"profile\":[]}", "[]", ER_E_TYPE},
      {"profile", "{\"profile\":\"!!not base64!!\"}", "\"!!not", ER_E_PROFILE},
      {"recent", "{\"recent\":\"ER-BAG-01\"}", "\"ER-BAG-01\"", ER_E_TYPE},
      {"recent", "{\"recent\":[\"ER-BAG-01\",7]}", "7]", ER_E_TYPE},
      {"recent", "{\"recent\":[[\"ER-BAG-01\"]]}", "[\"ER", ER_E_TYPE},
      {"recent", "{\"recent\":{}}", "{}", ER_E_TYPE},
      {"now", "{\"now\":\"1767225600\"}", "\"1767", ER_E_TYPE},
      {"now", "{\"now\":true}", "true", ER_E_TYPE},
      {"now", "{\"now\":-1}", "-1", ER_E_RANGE},
      {"now", "{\"now\":1.5}", "1.5", ER_E_RANGE},
      {"page", "{\"page\":[]}", "[]", ER_E_TYPE},
      {"page", "{\"page\":\"home\"}", "\"home\"", ER_E_TYPE},
      {"page.type", "{\"page\":{\"type\":3}}", "3", ER_E_TYPE},
      {"page.type", "{\"page\":{\"type\":\"checkout\"}}", "\"checkout\"", ER_E_RANGE},
      {"page.type", "{\"page\":{\"type\":null}}", "null", ER_E_TYPE},
      {"page.sku", "{\"page\":{\"sku\":42}}", "42", ER_E_TYPE},
      {"page.sku", "{\"page\":{\"sku\":\"\"}}", "\"\"", ER_E_RANGE},
      {"page.category", "{\"page\":{\"category\":[\"Gear\"]}}", "[\"Gear", ER_E_TYPE},
      {"device", "{\"device\":1}", "1", ER_E_TYPE},
      {"device", "{\"device\":{}}", "{}", ER_E_TYPE},
      {"country", "{\"country\":true}", "true", ER_E_TYPE},
      {"hour", "{\"hour\":\"14\"}", "\"14\"", ER_E_TYPE},
      {"hour", "{\"hour\":24}", "24", ER_E_RANGE},
      {"hour", "{\"hour\":-1}", "-1", ER_E_RANGE},
      {"hour", "{\"hour\":[1]}", "[1]", ER_E_TYPE},
      {"weekday", "{\"weekday\":\"3\"}", "\"3\"", ER_E_TYPE},
      {"weekday", "{\"weekday\":7}", "7", ER_E_RANGE},
      {"unit", "{\"unit\":1}", "1", ER_E_TYPE},
      {"unit", "{\"unit\":[\"trending\"]}", "[\"tr", ER_E_TYPE},
      {"unit", "{\"unit\":\"a-very-long-unit-name-that-is-longer-than-forty-seven-bytes\"}", "\"a-very", ER_E_RANGE},
      {"k", "{\"k\":\"10\"}", "\"10\"", ER_E_TYPE},
      {"k", "{\"k\":false}", "false", ER_E_TYPE},
      {"k", "{\"k\":{\"n\":1}}", "{\"n", ER_E_TYPE},
      {"candidates", "{\"candidates\":{}}", "{}", ER_E_TYPE},
      {"candidates", "{\"candidates\":\"ER-BAG-01\"}", "\"ER-BAG", ER_E_TYPE},
      {"candidates", "{\"candidates\":[\"ER-BAG-01\",null]}", "null", ER_E_TYPE},
      {"candidates", "{\"candidates\":[\"ER-BAG-01\",\"\"]}", "\"\"]", ER_E_RANGE},
      {"exclude", "{\"exclude\":1}", "1", ER_E_TYPE},
      {"exclude", "{\"exclude\":[true]}", "true", ER_E_TYPE},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) field_case(cases[k].field, cases[k].json, cases[k].value, cases[k].code);
  /* a sku longer than ER_MAX_SKU_BYTES */
  uint32_t n;
  char *s = build("{\"page\":{\"sku\":\"", "x", ER_MAX_SKU_BYTES + 1, "\"}}", &n);
  field_case("page.sku", s, "\"xxx", ER_E_RANGE);
  free(s);
  /* the whole context must be an object */
  static const char *const tops[] = {"[]", "\"ctx\"", "3", "true", "null", "-0.5e3 "};
  for (size_t k = 0; k < sizeof tops / sizeof tops[0]; k++)
    EXPECT(tops[k], rec_s(tops[k]), ER_E_TYPE, "context: must be a JSON object");
  EXPECT("unknown unit", rec_s("{\"unit\":\"best-sellers\"}"), ER_E_RANGE, "unknown unit 'best-sellers'");
  /* null is "absent" for every field */
  CHECK(rec_s("{\"profile\":null,\"recent\":null,\"now\":null,\"page\":null,\"device\":null,\"country\":null,\"hour\":null,"
              "\"weekday\":null,\"unit\":null,\"k\":null,\"candidates\":null,\"exclude\":null}") == ER_OK);
  /* events name their fields too */
  EXPECT("event ts", upd_s("{\"type\":\"view\",\"item\":\"a\",\"ts\":\"x\"}"), ER_E_TYPE, "'ts'", "(byte");
  EXPECT("event type", upd_s("{\"type\":\"buy\",\"item\":\"a\"}"), ER_E_RANGE, "'type'", "(byte");
  EXPECT("event item", upd_s("{\"type\":\"view\",\"item\":1}"), ER_E_TYPE, "'item'", "(byte 22)");
  EXPECT("event price", upd_s("{\"type\":\"view\",\"item\":\"a\",\"price\":1e400}"), ER_E_RANGE, "'price'", "(byte 34)");
  EXPECT("event rating", upd_s("{\"type\":\"feedback\",\"item\":\"a\",\"rating\":6}"), ER_E_RANGE, "'rating'", "(byte 39)");
  EXPECT("event items", upd_s("{\"type\":\"impression\",\"items\":\"a\"}"), ER_E_TYPE, "'items'", "(byte");
  EXPECT("event no item", upd_s("{\"type\":\"view\"}"), ER_E_SHAPE, "'item'");
  EXPECT("event not an object", upd_s("[]"), ER_E_TYPE, "object");
  CHECK(still_good());
}

static void test_duplicates(void) {
  EXPECT("duplicate k", rec_s("{\"k\":1,\"k\":2}"), ER_E_JSON, "duplicate key \"k\"", "byte 7");
  EXPECT("duplicate in page", rec_s("{\"page\":{\"type\":\"home\",\"type\":\"cart\"}}"), ER_E_JSON, "duplicate key in 'page'", "byte 23");
  EXPECT("duplicate unknown key", rec_s("{\"x\":1,\"y\":2,\"x\":3}"), ER_E_JSON, "duplicate key \"x\"");
  /* past the first 64 keys, and in escaped spelling, a known field still
   * cannot appear twice (first-wins here, last-wins in JavaScript) */
  char buf[2048];
  int o = snprintf(buf, sizeof buf, "{");
  for (int k = 0; k < 70; k++) o += snprintf(buf + o, sizeof buf - (size_t)o, "\"f%d\":%d,", k, k);
  snprintf(buf + o, sizeof buf - (size_t)o, "\"k\":1,\"k\":200}");
  EXPECT("duplicate after 70 keys", rec_s(buf), ER_E_JSON, "duplicate key \"k\"");
  EXPECT("escaped duplicate", rec_s("{\"k\":1,\"\\u006b\":2}"), ER_E_JSON, "duplicate key");
  EXPECT("escaped duplicate in page", rec_s("{\"page\":{\"sku\":\"ER-BAG-01\",\"s\\u006bu\":\"ER-BAG-02\"}}"), ER_E_JSON,
         "duplicate key in 'page'");
  /* the response is the origin's: duplicate keys there are not ours to judge */
  CHECK(rr_s("{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\",\"sku\":\"x\"},{\"sku\":\"ER-BAG-02\"}]}},\"data\":1}", CTX) == ER_OK);
  EXPECT("event duplicate", upd("{\"type\":\"view\",\"item\":\"a\",\"type\":\"cart\"}", 40), ER_E_JSON, "duplicate key");
  CHECK(still_good());
}

static void test_limits(void) {
  uint32_t n;
  /* a million candidates: over the context byte limit, refused up front */
  char *s = build("{\"candidates\":[", "\"ER-BAG-01\",", 1000000, "\"x\"]}", &n);
  double t0 = now_s();
  EXPECT("1M candidates", rec(s, n), ER_E_LIMIT, "limit of 65536");
  CHECK(now_s() - t0 < 0.5);
  free(s);
  s = build("{\"candidates\":[", "1,", 1000000, "1]}", &n);
  t0 = now_s();
  EXPECT("1M numeric candidates", rec(s, n), ER_E_LIMIT, "limit of 65536");
  CHECK(now_s() - t0 < 0.5);
  free(s);
  /* inside the byte and token limits, over the candidates limit */
  s = build("{\"candidates\":[", "\"a\",", ER_MAX_CANDIDATES, "\"b\"]}", &n);
  EXPECT("4097 candidates", rec(s, n), ER_E_LIMIT, "'candidates' has 4097 entries", "limit of 4096", "byte 14");
  free(s);
  s = build("{\"exclude\":[", "\"a\",", ER_MAX_CANDIDATES, "\"b\"]}", &n);
  EXPECT("4097 excludes", rec(s, n), ER_E_LIMIT, "'exclude' has 4097 entries", "limit of 4096");
  free(s);
  s = build("{\"candidates\":[", "\"a\",", ER_MAX_CANDIDATES - 1, "\"b\"],\"k\":200}", &n);
  CHECK(rec(s, n) == ER_OK && valid_json(OUT, OUT_LEN)); /* exactly at the limit */
  free(s);
  s = build("{\"x\":[", "0,", 9000, "0]}", &n);
  EXPECT("9002 tokens", rec(s, n), ER_E_LIMIT, "JSON tokens", "limit of 8192");
  free(s);
  s = build("{}", " ", ER_MAX_CONTEXT_BYTES, "", &n);
  EXPECT("65,538-byte context", rec(s, n), ER_E_LIMIT, "65538 bytes", "limit of 65536");
  free(s);
  /* a million items: over the response token limit */
  s = build("{\"data\":{\"products\":{\"items\":[", "{},", 999999, "{}]}}}", &n);
  t0 = now_s();
  CHECK(expect_rr("1M items", rr(s, n, CTX, sizeof CTX - 1), ER_E_LIMIT, "limit"));
  CHECK(strstr(MSG(), "limit of 262144") != NULL);
  CHECK(now_s() - t0 < 1.0);
  free(s);
  s = build("{\"data\":{\"products\":{\"items\":[", "{\"sku\":\"ER-BAG-01\"},", ER_MAX_RERANK_ITEMS, "{}]}}}", &n);
  CHECK(expect_rr("1001 items", rr(s, n, CTX, sizeof CTX - 1), ER_E_LIMIT, "limit"));
  CHECK(strstr(MSG(), "1001 items") && strstr(MSG(), "limit of 1000") && names_byte(29));
  free(s);
  s = build("{\"data\":{\"products\":{\"items\":[", "{\"sku\":\"ER-BAG-01\"},", ER_MAX_RERANK_ITEMS - 1, "{}]}}}", &n);
  CHECK(rr(s, n, CTX, sizeof CTX - 1) == ER_OK && OUT_LEN == n); /* exactly at the limit */
  free(s);
  /* a 5 MB response */
  s = build("{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"},{\"sku\":\"ER-BAG-02\"}]}},\"pad\":\"", "x", 5u << 20, "\"}", &n);
  t0 = now_s();
  CHECK(expect_rr("5 MB response", rr(s, n, CTX, sizeof CTX - 1), ER_E_LIMIT, "limit"));
  CHECK(strstr(MSG(), "limit of 4194304") != NULL);
  CHECK(now_s() - t0 < 0.5);
  free(s);
  s = build("{\"type\":\"view\",\"item\":\"a\",\"pad\":\"", "x", ER_MAX_EVENT_BYTES, "\"}", &n);
  EXPECT("17 KB event", upd(s, n), ER_E_LIMIT, "limit of 16384");
  free(s);
  s = build("{\"type\":\"impression\",\"items\":[", "\"a\",", 64, "\"b\"]}", &n);
  EXPECT("65 impression items", upd(s, n), ER_E_LIMIT, "'items'", "limit of 64");
  free(s);
  CHECK(still_good());
}

static void test_nul_bytes(void) {
  static const char v[] = "{\"country\":\"D\0E\"}";
  EXPECT("NUL in a value", rec(v, sizeof v - 1), ER_E_JSON, "control character");
  CHECK(names_byte(13));
  static const char k[] = "{\"cou\0ntry\":\"DE\"}";
  EXPECT("NUL in a key", rec(k, sizeof k - 1), ER_E_JSON, "control character");
  CHECK(names_byte(5));
  static const char t[] = "{}\0";
  EXPECT("NUL after the value", rec(t, sizeof t - 1), ER_E_JSON, "trailing data", "byte 2");
  static const char l[] = "\0{}";
  EXPECT("NUL before the value", rec(l, sizeof l - 1), ER_E_JSON, "byte 0");
  static const char r[] = "{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\0\"},{\"sku\":\"ER-BAG-02\"}]}}}";
  CHECK(expect_rr("NUL in a response string", rr(r, sizeof r - 1, CTX, sizeof CTX - 1), ER_E_JSON, "json"));
  CHECK(names_byte(47));
  static const char e[] = "{\"type\":\"view\",\"item\":\"a\0b\"}";
  EXPECT("NUL in an event", upd(e, sizeof e - 1), ER_E_JSON, "control character", "byte 24");
  /* an escaped NUL is a valid character: kept as given, output stays JSON */
  CHECK(rec_s("{\"candidates\":[\"x\\u0000y\",\"ER-BAG-01\"],\"k\":2}") == ER_OK && valid_json(OUT, OUT_LEN));
  CHECK(contains(OUT, OUT_LEN, "\"x\\u0000y\""));
  CHECK(rec_s("{\"page\":{\"type\":\"product\",\"sku\":\"\\u0000\"},\"country\":\"\\u0000\"}") == ER_OK);
  CHECK(still_good());
}

static void test_bom_and_trailing(void) {
  EXPECT("BOM context", rec_s("\xEF\xBB\xBF{}"), ER_E_JSON, "byte order mark", "byte 0");
  char *r = malloc(sizeof RESP + 3);
  memcpy(r, "\xEF\xBB\xBF", 3);
  memcpy(r + 3, RESP, sizeof RESP - 1);
  CHECK(expect_rr("BOM response", rr(r, sizeof RESP + 2, CTX, sizeof CTX - 1), ER_E_JSON, "json"));
  CHECK(strstr(MSG(), "byte order mark") != NULL);
  free(r);
  EXPECT("BOM event", upd("\xEF\xBB\xBF{\"type\":\"view\",\"item\":\"a\"}", 30), ER_E_JSON, "byte order mark");
  CHECK(rec_s("{\"country\":\"\xEF\xBB\xBF\"}") == ER_OK); /* U+FEFF inside a string is a character */
  static const struct { const char *json; uint32_t at; } tr[] = {
      {"{} x", 3}, {"{}{}", 2}, {"{},", 2}, {"{}]", 2}, {"{}}", 2}, {"{} 1", 3}, {"{}\"\"", 2}, {"{}\x80", 2}};
  char what[64];
  for (size_t k = 0; k < sizeof tr / sizeof tr[0]; k++) {
    snprintf(what, sizeof what, "trailing garbage #%zu", k);
    EXPECT(what, rec_s(tr[k].json), ER_E_JSON, "trailing data");
    CHECK(names_byte(tr[k].at));
  }
  CHECK(rec_s("{} \n\t\r ") == ER_OK); /* trailing whitespace is fine */
  char *g = malloc(sizeof RESP + 4);
  memcpy(g, RESP, sizeof RESP - 1);
  memcpy(g + sizeof RESP - 1, " {}x", 4);
  CHECK(expect_rr("trailing garbage response", rr(g, sizeof RESP + 3, CTX, sizeof CTX - 1), ER_E_JSON, "json"));
  CHECK(names_byte(sizeof RESP));
  free(g);
  CHECK(still_good());
}

static void test_surrogates(void) {
  static const char *const lone[] = {"\\ud800", "\\udc00", "\\udfff", "\\ud800\\u0041", "\\ud800\\ud800", "\\ud800x",
                                     "\\uDBFF\\uE000", "\\ud800\\", "\\ud83d\\ude0"};
  char json[256], what[80];
  for (size_t k = 0; k < sizeof lone / sizeof lone[0]; k++) {
    snprintf(what, sizeof what, "lone surrogate %s in a value", lone[k]);
    snprintf(json, sizeof json, "{\"country\":\"%s\"}", lone[k]);
    er_status st = rec_s(json);
    CHECK(expect(what, st, ER_E_JSON, "context", (const char *)NULL) && er_engine_error(E)->offset >= 12 &&
          (strstr(MSG(), "surrogate") || strstr(MSG(), "escape")));
    snprintf(what, sizeof what, "lone surrogate %s in a key", lone[k]);
    snprintf(json, sizeof json, "{\"%s\":1}", lone[k]);
    EXPECT(what, rec_s(json), ER_E_JSON, "byte");
    snprintf(what, sizeof what, "lone surrogate %s in a response", lone[k]);
    snprintf(json, sizeof json, "{\"data\":{\"products\":{\"items\":[{\"sku\":\"%s\"},{\"sku\":\"ER-BAG-01\"}]}}}", lone[k]);
    CHECK(expect_rr(what, rr_s(json, CTX), ER_E_JSON, "json"));
    snprintf(json, sizeof json, "{\"type\":\"view\",\"item\":\"%s\"}", lone[k]);
    EXPECT(what, upd_s(json), ER_E_JSON, "byte 2");
  }
  EXPECT("\\ud800 names its byte", rec_s("{\"country\":\"\\ud800\"}"), ER_E_JSON, "unpaired surrogate escape", "byte 12");
  /* a proper pair is fine, in every input */
  CHECK(rec_s("{\"country\":\"\\ud83d\\ude00\",\"recent\":[\"\\uD83D\\uDE00\"]}") == ER_OK);
  CHECK(rr_s("{\"data\":{\"products\":{\"items\":[{\"sku\":\"\\ud83d\\ude00\"},{\"sku\":\"ER-BAG-01\"}]}}}", CTX) == ER_OK);
  CHECK(upd_s("{\"type\":\"view\",\"item\":\"\\ud83d\\ude00\"}") == ER_OK);
  CHECK(still_good());
}

static void test_rerank_shapes(void) {
  static const char two[] = "{\"sku\":\"ER-BAG-01\"},{\"sku\":\"ER-BAG-02\"}";
  char r[512];
  snprintf(r, sizeof r, "{\"data\":{\"products\":{\"items\":[1,\"ER-BAG-01\",null,[]]}}}");
  CHECK(expect_rr("items not objects", rr_s(r, CTX), ER_E_SHAPE, "shape"));
  CHECK(strstr(MSG(), "not an object") && names_byte(30));
  snprintf(r, sizeof r, "{\"data\":{\"products\":{\"items\":[%s,\"x\"]}}}", two);
  CHECK(expect_rr("one item not an object", rr_s(r, CTX), ER_E_SHAPE, "shape"));
  snprintf(r, sizeof r, "{\"errors\":[{\"message\":\"boom\"}],\"data\":{\"products\":{\"items\":[%s]}}}", two);
  CHECK(expect_rr("errors", rr_s(r, CTX), ER_E_SHAPE, "errors"));
  CHECK(strstr(MSG(), "errors") && names_byte(10));
  snprintf(r, sizeof r, "{\"data\":{\"products\":{\"items\":[%s]}},\"errors\":{\"message\":\"boom\"}}", two);
  CHECK(expect_rr("errors object", rr_s(r, CTX), ER_E_SHAPE, "errors"));
  snprintf(r, sizeof r, "{\"errors\":[],\"data\":{\"products\":{\"items\":[%s]}}}", two);
  CHECK(rr_s(r, CTX) == ER_OK); /* an empty errors array is no error */
  snprintf(r, sizeof r, "{\"errors\":null,\"data\":{\"products\":{\"items\":[%s]}}}", two);
  CHECK(rr_s(r, CTX) == ER_OK);
  static const char *const none[] = {
      "{}", "{\"data\":null}", "{\"data\":{}}", "{\"data\":{\"products\":null}}", "{\"data\":{\"products\":{}}}",
      "{\"data\":{\"products\":{\"items\":null}}}", "{\"data\":{\"products\":{\"items\":{}}}}",
      "{\"data\":{\"products\":{\"items\":[]}}}", "{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"}]}}}",
      "{\"data\":[{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"},{\"sku\":\"ER-BAG-02\"}]}}]}",
      "{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"},{\"sku\":\"ER-BAG-02\"}]}}"};
  for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) CHECK(expect_rr(none[k], rr_s(none[k], CTX), ER_E_SHAPE, "no-items"));
  static const char *const shape[] = {"[]", "[{\"data\":{}}]", "\"x\"", "3", "null", "true"};
  for (size_t k = 0; k < sizeof shape / sizeof shape[0]; k++)
    CHECK(expect_rr(shape[k], rr_s(shape[k], CTX), ER_E_SHAPE, "shape"));
  CHECK(expect_rr("unknown skus", rr_s("{\"data\":{\"products\":{\"items\":[{\"sku\":\"A\"},{\"uid\":\"B\"},{}]}}}", CTX), ER_E_SHAPE,
                  "no-known-items"));
  CHECK(expect_rr("malformed", rr_s("{\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"},]}}}", CTX), ER_E_JSON, "json"));
  CHECK(names_byte(50));
  snprintf(r, sizeof r, "{\"data\":{\"products\":{\"items\":[%s]}}}", two);
  CHECK(expect_rr("bad context", rr_s(r, "{\"k\":\"x\"}"), ER_E_TYPE, "context"));
  CHECK(strstr(MSG(), "'k'") && names_byte(5));
  CHECK(expect_rr("bad profile", er_rerank(E, r, (uint32_t)strlen(r), "{}", 2, (const uint8_t *)"EPxx", 4, &OUT, &OUT_LEN),
                  ER_E_PROFILE, "context"));
  er_engine_set_budget(E, 1);
  CHECK(expect_rr("budget", rr_s(r, CTX), ER_E_BUDGET, "budget"));
  CHECK(strstr(MSG(), "budget") != NULL);
  er_engine_set_budget(E, 0);
  /* items without a sku but with a known uid, and odd sku types */
  CHECK(rr_s("{\"data\":{\"products\":{\"items\":[{\"uid\":\"ER-BAG-01\"},{\"sku\":5,\"uid\":\"ER-BAG-02\"},{\"sku\":null},"
             "{\"sku\":\"\"},{\"sku\":[\"ER-BAG-03\"]}]}}}", CTX) == ER_OK);
  CHECK(still_good());
}

static void test_engine_usable(void) {
  /* interleave every kind of failure with good calls: identical bytes */
  uint32_t n;
  char *big = build("", "[", 10000, "", &n);
  int bad = 0;
  for (int round = 0; round < 3; round++) {
    rec_s("{\"k\":1e400}");
    bad += !still_good();
    rr(big, n, CTX, sizeof CTX - 1);
    bad += !still_good();
    rec(big, n);
    bad += !still_good();
    rr_s("{\"errors\":[1]}", CTX);
    bad += !still_good();
    upd("{\"type\":", 8);
    bad += !still_good();
    er_recommend(E, CTX, sizeof CTX - 1, (const uint8_t *)"garbage", 7, &OUT, &OUT_LEN);
    bad += !still_good();
    er_engine_set_budget(E, 1);
    rr_s(RESP, CTX);
    er_engine_set_budget(E, 0);
    bad += !still_good();
  }
  free(big);
  CHECK_EQ_INT(bad, 0);
  /* a second engine over the same bundle gives the same bytes */
  er_error err;
  er_engine *e2 = er_engine_new(BUNDLE, BUNDLE_LEN, &err);
  CHECK(e2 != NULL);
  if (e2) {
    const char *o;
    uint32_t ol;
    CHECK(er_recommend(e2, CTX, sizeof CTX - 1, NULL, 0, &o, &ol) == ER_OK && ol == BASE_REC_LEN && !memcmp(o, BASE_REC, ol));
    er_engine_free(e2);
  }
}

static void test_bad_bundles(void) {
  er_error err;
  uint8_t *b = malloc(BUNDLE_LEN);
  int bad = 0;
  for (uint32_t len = 0; len < BUNDLE_LEN; len += 1 + len / 4) { /* truncations */
    memcpy(b, BUNDLE, len);
    er_engine *e = er_engine_new(b, len, &err);
    if (e || !err.msg[0]) bad++;
    er_engine_free(e);
  }
  for (uint32_t k = 0; k < BUNDLE_LEN; k += 97) { /* single byte flips: caught by the checksum at least */
    memcpy(b, BUNDLE, BUNDLE_LEN);
    b[k] ^= 0x5A;
    er_engine *e = er_engine_new(b, BUNDLE_LEN, &err);
    if (e || !err.msg[0]) bad++;
    er_engine_free(e);
  }
  CHECK_EQ_INT(bad, 0);
  memcpy(b, BUNDLE, 8);
  b[0] = 'X';
  CHECK(er_engine_new(b, BUNDLE_LEN, &err) == NULL && err.code == ER_E_BUNDLE_MAGIC);
  free(b);
}

/* ---- main ------------------------------------------------------------------ */

int main(void) {
  BUNDLE = harness_read_file("build/sample.erb", &BUNDLE_LEN);
  if (!BUNDLE) {
    CHECK(BUNDLE != NULL);
    return DONE();
  }
  er_error err;
  E = er_engine_new(BUNDLE, BUNDLE_LEN, &err);
  CHECK(E != NULL);
  if (!E) {
    printf("test_badinput: build/sample.erb: %s\n", err.msg);
    return DONE();
  }
  /* the good calls' bytes, before any failure */
  CHECK(rec_s(CTX) == ER_OK && valid_json(OUT, OUT_LEN));
  BASE_REC = malloc(OUT_LEN);
  memcpy(BASE_REC, OUT, OUT_LEN);
  BASE_REC_LEN = OUT_LEN;
  CHECK(rr_s(RESP, CTX) == ER_OK && OUT_LEN == sizeof RESP - 1);
  BASE_RR = malloc(OUT_LEN);
  memcpy(BASE_RR, OUT, OUT_LEN);
  BASE_RR_LEN = OUT_LEN;
  CHECK(upd(EVENT, sizeof EVENT - 1) == ER_OK && OUT_LEN <= sizeof BASE_PROF);
  memcpy(BASE_PROF, OUT, OUT_LEN);
  BASE_PROF_LEN = OUT_LEN;
  RUN(test_empty);
  RUN(test_truncated);
  RUN(test_garbled);
  RUN(test_deep_nesting);
  RUN(test_huge_numbers);
  RUN(test_bad_utf8);
  RUN(test_wrong_types);
  RUN(test_duplicates);
  RUN(test_limits);
  RUN(test_nul_bytes);
  RUN(test_bom_and_trailing);
  RUN(test_surrogates);
  RUN(test_rerank_shapes);
  RUN(test_engine_usable);
  RUN(test_bad_bundles);
  er_engine_free(E);
  free(BUNDLE);
  free(BASE_REC);
  free(BASE_RR);
  return DONE();
}
