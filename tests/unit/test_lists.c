/* test_lists.c — live popularity lists (er_engine_set_lists; docs/units.md
 * "Live lists"): the list units, the default candidate fill and back-fill
 * read them; stock, exclusion and pin rules still apply; bad input is
 * refused with a message naming the list, entry and byte, and the lists in
 * force stay; limits; scores; work units.  Over a tiny catalog packed here,
 * where every answer can be worked out by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_engine.h"
#include "er_pack.h"
#include "harness.h"

/* Items (sku, category, price, stock, popularity view):
 *  0 A-1  Cat/A 10  view 100, purchase 5, trending 1
 *  1 A-2  Cat/A 20  view 90
 *  2 A-3  Cat/A 30  out of stock, view 80 (in no bundle list)
 *  3 B-1  Cat/B 40  view 70        4 B-1-S: B-1's invisible child
 *  5 B-2  Cat/B 50  view 60
 *  6 C-1  Cat/C 60  no popularity (in no bundle list)
 *  7 C-2  Cat/C 70  view 50        8 C-3  Cat/C 80  view 40
 *  9 D-1  view 30: excluded from most-viewed (rule)
 * 10 D-2  view 20: pinned to position 0 of most-viewed (rule)
 * 11 D-3  view 10: buried by 0.5 everywhere (rule)
 * Neighbours viewed→viewed: A-1: A-2 .8 */
static const char *CATALOG =
    "{\"items\":["
    "{\"sku\":\"A-1\",\"categories\":[\"Cat/A\"],\"price\":10,\"popularity\":{\"view\":100,\"purchase\":5,\"trending\":1}},"
    "{\"sku\":\"A-2\",\"categories\":[\"Cat/A\"],\"price\":20,\"popularity\":{\"view\":90}},"
    "{\"sku\":\"A-3\",\"categories\":[\"Cat/A\"],\"price\":30,\"in_stock\":false,\"popularity\":{\"view\":80}},"
    "{\"sku\":\"B-1\",\"categories\":[\"Cat/B\"],\"price\":40,\"popularity\":{\"view\":70}},"
    "{\"sku\":\"B-1-S\",\"parent\":\"B-1\",\"visible\":false,\"categories\":[\"Cat/B\"],\"price\":40},"
    "{\"sku\":\"B-2\",\"categories\":[\"Cat/B\"],\"price\":50,\"popularity\":{\"view\":60}},"
    "{\"sku\":\"C-1\",\"categories\":[\"Cat/C\"],\"price\":60},"
    "{\"sku\":\"C-2\",\"categories\":[\"Cat/C\"],\"price\":70,\"popularity\":{\"view\":50}},"
    "{\"sku\":\"C-3\",\"categories\":[\"Cat/C\"],\"price\":80,\"popularity\":{\"view\":40}},"
    "{\"sku\":\"D-1\",\"popularity\":{\"view\":30}},"
    "{\"sku\":\"D-2\",\"popularity\":{\"view\":20}},"
    "{\"sku\":\"D-3\",\"popularity\":{\"view\":10}}],"
    "\"neighbours\":{\"viewed_viewed\":{\"A-1\":[[\"A-2\",0.8]]},\"content\":{}}}";
static const char *MODEL =
    "{\"version\":\"lists-1\",\"kind\":\"linear\",\"bits\":10,\"weights\":[],\"rules\":["
    "{\"sku\":\"D-1\",\"action\":\"exclude\",\"unit\":\"most-viewed\"},"
    "{\"sku\":\"D-2\",\"action\":\"pin\",\"position\":0,\"unit\":\"most-viewed\"},"
    "{\"sku\":\"D-3\",\"action\":\"bury\",\"amount\":0.5}]}";

/* The live list used throughout: C-1 first (no bundle popularity), an
 * out-of-stock item, a child, an unknown sku, a repeat, the rule items. */
static const char *LIVE =
    "{\"most-viewed\":[[\"C-1\",500],[\"A-3\",400],[\"B-1-S\",300],[\"NOPE\",250],[\"C-1\",200],"
    "[\"D-1\",150],[\"D-2\",1],[\"D-3\",100],[\"B-2\",50],[\"A-1\",0]]}";
#define BUNDLE_MV "D-2,A-1,A-2,B-1,B-2,C-2,C-3,D-3"
#define LIVE_MV "D-2,C-1,B-1,B-2,A-1,D-3"

static er_engine *tiny;
static char out_s[65536];

/* Recommend; the output as a string in out_s ("" on error). */
static er_status rec(const char *ctx) { return harness_recommend(tiny, ctx, out_s, sizeof out_s); }

/* The skus of out_s's items, comma-separated, '+' after a back-filled one. */
static const char *skus_of(void) { return harness_skus(out_s); }

#define ITEMS(ctx, want)                 \
  do {                                   \
    CHECK_EQ_INT(rec(ctx), ER_OK);       \
    CHECK_EQ_STR(skus_of(), want);       \
  } while (0)

static er_status set(const char *js) { return er_engine_set_lists(tiny, js, js ? (uint32_t)strlen(js) : 0); }

/* er_engine_lists_info as a string. */
static const char *lists_info(void) {
  static char s[512];
  const char *out;
  uint32_t n;
  s[0] = 0;
  if (er_engine_lists_info(tiny, &out, &n) == ER_OK && n < sizeof s) { memcpy(s, out, n); s[n] = 0; }
  return s;
}

/* ---- the list units follow the live list and return to the bundle's ----------- */
static void test_order(void) {
  char bundle_out[4096];
  CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
  CHECK_EQ_STR(skus_of(), BUNDLE_MV);
  strcpy(bundle_out, out_s);
  CHECK_EQ_STR(lists_info(), "null");
  CHECK_EQ_INT(set(LIVE), ER_OK);
  CHECK_EQ_STR(lists_info(), "{\"most-viewed\":8}"); /* NOPE and the second C-1 skipped */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20}", LIVE_MV);
  /* scores are the live scores scaled to the list's highest (C-1, 500) */
  CHECK(strstr(out_s, "{\"sku\":\"C-1\",\"score\":1.0000},{\"sku\":\"B-1\",\"score\":0.6000},{\"sku\":\"B-2\",\"score\":0.1000},"
                      "{\"sku\":\"A-1\",\"score\":0.0000},{\"sku\":\"D-3\",\"score\":-0.3000}") != NULL);
  /* the pin still takes its slot when k cuts the list */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":3}", "D-2,C-1,B-1");
  /* a kind absent keeps the bundle's list: trending, most-purchased */
  ITEMS("{\"unit\":\"trending\"}", "A-1");
  ITEMS("{\"unit\":\"most-purchased\"}", "A-1");
  /* clearing (len 0, null, {}) returns to the bundle's bytes */
  for (int way = 0; way < 3; way++) {
    CHECK_EQ_INT(set(LIVE), ER_OK);
    CHECK_EQ_INT(set(way == 0 ? NULL : way == 1 ? "null" : " {} "), ER_OK);
    CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
    CHECK_EQ_STR(out_s, bundle_out);
    CHECK_EQ_STR(lists_info(), "null");
  }
  /* setting another kind only leaves most-viewed the bundle's, byte for byte */
  CHECK_EQ_INT(set("{\"trending\":[[\"C-3\",2],[\"C-2\",3]],\"most-viewed\":null,\"unknown-kind\":[1,2]}"), ER_OK);
  CHECK_EQ_STR(lists_info(), "{\"trending\":2}");
  CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
  CHECK_EQ_STR(out_s, bundle_out);
  ITEMS("{\"unit\":\"trending\"}", "C-2,C-3");
  /* every kind at once */
  CHECK_EQ_INT(set("{\"most-viewed\":[[\"C-3\",1]],\"most-purchased\":[[\"C-2\",1]],\"most-added-to-cart\":[[\"B-2\",1]],"
                   "\"trending\":[[\"A-2\",1]]}"), ER_OK);
  CHECK_EQ_STR(lists_info(), "{\"most-viewed\":1,\"most-purchased\":1,\"most-added-to-cart\":1,\"trending\":1}");
  ITEMS("{\"unit\":\"most-viewed\"}", "C-3"); /* D-2's pin needs D-2 among the candidates */
  ITEMS("{\"unit\":\"most-purchased\"}", "C-2");
  ITEMS("{\"unit\":\"most-added-to-cart\"}", "B-2");
  ITEMS("{\"unit\":\"trending\"}", "A-2");
  /* an empty list is in force: the unit has nothing (omit the kind to keep the bundle's) */
  CHECK_EQ_INT(set("{\"trending\":[]}"), ER_OK);
  CHECK_EQ_STR(lists_info(), "{\"trending\":0}");
  ITEMS("{\"unit\":\"trending\"}", "");
  /* an object without list kinds is no live list */
  CHECK_EQ_INT(set("{\"most_viewed\":[[\"A-1\",1]]}"), ER_OK);
  CHECK_EQ_STR(lists_info(), "null");
  /* the bundle summary carries the same */
  CHECK_EQ_INT(set(LIVE), ER_OK);
  const char *out;
  uint32_t n;
  CHECK_EQ_INT(er_bundle_info(tiny, &out, &n), ER_OK);
  CHECK(n < sizeof out_s);
  memcpy(out_s, out, n);
  out_s[n] = 0;
  CHECK(strstr(out_s, ",\"live_lists\":{\"most-viewed\":8}") != NULL);
  CHECK_EQ_INT(set(NULL), ER_OK);
  CHECK_EQ_INT(er_bundle_info(tiny, &out, &n), ER_OK);
  CHECK(n < sizeof out_s);
  memcpy(out_s, out, n);
  out_s[n] = 0;
  CHECK(strstr(out_s, ",\"live_lists\":null") != NULL);
}

/* ---- stock, exclusion and pin rules apply to live items ------------------------ */
static void test_rules(void) {
  CHECK_EQ_INT(set(LIVE), ER_OK);
  /* stock: A-3 only when out-of-stock items are allowed */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20,\"filter\":{\"in_stock_only\":false}}", "D-2,C-1,A-3,B-1,B-2,A-1,D-3");
  /* exclude, the cart (a child stands for its parent), purchases, the page item */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20,\"exclude\":[\"C-1\"],\"cart\":[\"B-1-S\"],\"purchased\":[\"B-2\"]}", "D-2,A-1,D-3");
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20,\"page\":{\"type\":\"product\",\"sku\":\"C-1\"}}", "D-2,B-1,B-2,A-1,D-3");
  /* the filter's categories and prices */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20,\"filter\":{\"categories\":[\"Cat/B\"]}}", "B-1,B-2");
  ITEMS("{\"unit\":\"most-viewed\",\"k\":20,\"filter\":{\"price_max\":45}}", "B-1,A-1"); /* no price fails a price filter */
  /* the exclude rule is most-viewed's: another unit reading the same list (back-fill) keeps D-1 */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"A-1\"},\"k\":4,\"backfill\":\"most-viewed\"}",
        "A-2,C-1+,B-1+,D-1+");
  /* the pin holds at k = 1 although D-2's live score is tiny */
  ITEMS("{\"unit\":\"most-viewed\",\"k\":1}", "D-2");
}

/* ---- the default candidate fill and back-fill read the live lists --------------- */
static void test_fill(void) {
  const er_shopper *s;
  const er_candidate *cand;
  uint32_t n;
  const char *ctx = "{\"k\":1}";
  int has_c1 = 0;
  CHECK_EQ_INT(set(NULL), ER_OK);
  CHECK_EQ_INT(er_engine_candidates(tiny, ctx, (uint32_t)strlen(ctx), NULL, 0, &s, &cand, &n), ER_OK);
  for (uint32_t k = 0; k < n; k++) has_c1 |= cand[k].item == 6;
  CHECK(!has_c1); /* C-1 has no bundle popularity */
  CHECK_EQ_INT(set(LIVE), ER_OK);
  CHECK_EQ_INT(er_engine_candidates(tiny, ctx, (uint32_t)strlen(ctx), NULL, 0, &s, &cand, &n), ER_OK);
  for (uint32_t k = 0; k < n; k++) has_c1 |= cand[k].item == 6;
  CHECK(has_c1);
  /* back-fill from a live trending list, under the unit's rules */
  CHECK_EQ_INT(set("{\"trending\":[[\"C-3\",1],[\"A-2\",9],[\"C-2\",5],[\"A-1\",7]]}"), ER_OK);
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"A-1\"},\"k\":4,\"backfill\":\"trending\"}",
        "A-2,C-2+,C-3+");
  CHECK_EQ_INT(set(NULL), ER_OK);
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"A-1\"},\"k\":4,\"backfill\":\"trending\"}", "A-2");
}

/* ---- bad input: refused with what and where; the lists in force stay ---------- */
static void test_errors(void) {
  static const struct { const char *js; er_status st; const char *msg; uint32_t offset; } cases[] = {
      {"{\"trending\":[[\"A-1\",-1]]}", ER_E_RANGE, "lists: 'trending'[0] score must be a finite number >= 0, got -1 (byte 20)", 20},
      {"{\"trending\":[[\"A-1\",1],[\"A-2\",1e309]]}", ER_E_RANGE, "lists: 'trending'[1] score must be a finite number >= 0, got 1e309", 30},
      {"{\"trending\":[[\"A-1\",-0.5e-3]]}", ER_E_RANGE, "got -0.5e-3", 20},
      {"{\"trending\":[[\"A-1\",\"2\"]]}", ER_E_TYPE, "lists: 'trending'[0] score must be a number, got string (byte 20)", 20},
      {"{\"trending\":[[\"A-1\",null]]}", ER_E_TYPE, "score must be a number, got null", 20},
      {"{\"trending\":[[\"A-1\"]]}", ER_E_SHAPE, "lists: 'trending'[0] must be a [sku, score] pair, got an array of another length (byte 13)", 13},
      {"{\"trending\":[[\"A-1\",1,2]]}", ER_E_SHAPE, "'trending'[0] must be a [sku, score] pair", 13},
      {"{\"trending\":[{\"sku\":\"A-1\"}]}", ER_E_TYPE, "'trending'[0] must be a [sku, score] pair, got object", 13},
      {"{\"trending\":[[1,2]]}", ER_E_TYPE, "lists: 'trending'[0] sku must be a string, got number (byte 14)", 14},
      {"{\"trending\":[[\"\",2]]}", ER_E_RANGE, "lists: 'trending'[0] sku must be 1..128 bytes (byte 14)", 14},
      {"{\"most-added-to-cart\":{}}", ER_E_TYPE, "lists: 'most-added-to-cart' must be an array of [sku, score] pairs", 22},
      {"{\"most-purchased\":7}", ER_E_TYPE, "got number", 18},
      {"[[\"A-1\",1]]", ER_E_TYPE, "lists: must be a JSON object of lists", 0},
      {"\"x\"", ER_E_TYPE, "got string (byte 0)", 0},
      {"{\"trending\":[],\"trending\":[]}", ER_E_JSON, "lists: duplicate key 'trending' at byte 15", 15},
      {"{\"trending\":[],\"tr\\u0065nding\":[]}", ER_E_JSON, "lists: duplicate key 'trending'", 15},
      {"{\"trending\":[[\"A-1\",1]]", ER_E_JSON, "lists: unexpected end of input", 23},
      {"{\"trending\":[[\"A-1\",01]]}", ER_E_JSON, "lists:", ER_NO_OFFSET},
      {"{\"trending\":[[\"A-1\",NaN]]}", ER_E_JSON, "lists:", ER_NO_OFFSET},
      {"", ER_OK, "", 0}, /* len 0: clears (checked below) */
  };
  char before[4096];
  CHECK_EQ_INT(set(LIVE), ER_OK);
  CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
  strcpy(before, out_s);
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    if (!cases[c].st) continue;
    CHECK_EQ_INT(set(cases[c].js), cases[c].st);
    const er_error *err = er_engine_error(tiny);
    if (!strstr(err->msg, cases[c].msg)) printf("case %zu: message '%s', expected '%s'\n", c, err->msg, cases[c].msg);
    CHECK(strstr(err->msg, cases[c].msg) != NULL);
    if (cases[c].offset != ER_NO_OFFSET) CHECK_EQ_INT(err->offset, cases[c].offset);
    /* the previous lists are still in force */
    CHECK_EQ_STR(lists_info(), "{\"most-viewed\":8}");
    CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
    CHECK_EQ_STR(out_s, before);
  }
  /* a failure in a later list leaves the earlier valid one unapplied too (all or nothing) */
  CHECK_EQ_INT(set("{\"most-viewed\":[[\"A-2\",1]],\"trending\":[[\"A-1\",-2]]}"), ER_E_RANGE);
  CHECK_EQ_INT(rec("{\"unit\":\"most-viewed\",\"k\":20}"), ER_OK);
  CHECK_EQ_STR(out_s, before);
  /* NULL with a length is a usage error */
  CHECK_EQ_INT(er_engine_set_lists(tiny, NULL, 5), ER_E_USAGE);
  CHECK_EQ_STR(lists_info(), "{\"most-viewed\":8}");
}

/* ---- limits: 500 entries a list, 1 MiB, tokens ------------------------------------ */
static void test_limits(void) {
  static const char *skus[] = {"A-1", "A-2", "A-3", "B-1", "B-1-S", "B-2", "C-1", "C-2", "C-3", "D-1", "D-2", "D-3"};
  size_t cap = ER_MAX_LISTS_BYTES + 64;
  char *js = malloc(cap);
  if (!js) { CHECK(0); return; }
  CHECK_EQ_INT(set(LIVE), ER_OK);
  for (uint32_t n = ER_MAX_LIST_ENTRIES; n <= ER_MAX_LIST_ENTRIES + 1; n++) {
    size_t at = (size_t)snprintf(js, cap, "{\"most-viewed\":[");
    for (uint32_t k = 0; k < n; k++)
      at += (size_t)snprintf(js + at, cap - at, "%s[\"%s%s\",%u]", k ? "," : "", k < 12 ? skus[k] : "X-", k < 12 ? "" : "1", 1000 - k);
    at += (size_t)snprintf(js + at, cap - at, "]}");
    er_status st = er_engine_set_lists(tiny, js, (uint32_t)at);
    if (n == ER_MAX_LIST_ENTRIES) {
      CHECK_EQ_INT(st, ER_OK);
      CHECK_EQ_STR(lists_info(), "{\"most-viewed\":12}"); /* 488 repeats of X-1, not in the catalog */
      ITEMS("{\"unit\":\"most-viewed\",\"k\":20}", "D-2,A-1,A-2,B-1,B-2,C-1,C-2,C-3,D-3");
    } else {
      CHECK_EQ_INT(st, ER_E_LIMIT);
      CHECK_EQ_STR(er_engine_error(tiny)->msg, "lists: 'most-viewed' has 501 entries, more than the limit of 500 (byte 15)");
      CHECK_EQ_STR(lists_info(), "{\"most-viewed\":12}");
    }
  }
  /* exactly 1 MiB (padded with spaces) is read; one byte more is refused */
  CHECK_EQ_INT(set(LIVE), ER_OK);
  const char *small = "{\"trending\":[[\"C-1\",1]]}";
  size_t sl = strlen(small);
  memset(js, ' ', ER_MAX_LISTS_BYTES + 1);
  memcpy(js, small, sl - 1);
  js[ER_MAX_LISTS_BYTES - 1] = '}';
  CHECK_EQ_INT(er_engine_set_lists(tiny, js, ER_MAX_LISTS_BYTES), ER_OK);
  CHECK_EQ_STR(lists_info(), "{\"trending\":1}");
  js[ER_MAX_LISTS_BYTES] = '}';
  js[ER_MAX_LISTS_BYTES - 1] = ' ';
  CHECK_EQ_INT(er_engine_set_lists(tiny, js, ER_MAX_LISTS_BYTES + 1), ER_E_LIMIT);
  CHECK_EQ_STR(er_engine_error(tiny)->msg, "lists: 1048577 bytes, more than the limit of 1048576");
  CHECK_EQ_STR(lists_info(), "{\"trending\":1}");
  /* too many tokens (an unknown key's big array) */
  size_t at = (size_t)snprintf(js, cap, "{\"other\":[");
  for (int k = 0; k < 20000; k++) at += (size_t)snprintf(js + at, cap - at, "%s0", k ? "," : "");
  at += (size_t)snprintf(js + at, cap - at, "]}");
  CHECK_EQ_INT(er_engine_set_lists(tiny, js, (uint32_t)at), ER_E_LIMIT);
  CHECK(strstr(er_engine_error(tiny)->msg, "lists: 20003 JSON tokens, more than the limit of 16384") != NULL);
  CHECK_EQ_STR(lists_info(), "{\"trending\":1}");
  free(js);
  CHECK_EQ_INT(set(NULL), ER_OK);
}

/* ---- scores: any finite number >= 0, scaled to the list's highest ---------------- */
static void test_scores(void) {
  CHECK_EQ_INT(set("{\"trending\":[[\"A-1\",1e300],[\"A-2\",5e299],[\"B-2\",-0],[\"C-2\",-0.0e5],[\"C-3\",5e-400]]}"), ER_OK);
  ITEMS("{\"unit\":\"trending\"}", "A-1,A-2,B-2,C-2,C-3");
  CHECK(strstr(out_s, "{\"sku\":\"A-1\",\"score\":1.0000},{\"sku\":\"A-2\",\"score\":0.5000},{\"sku\":\"B-2\",\"score\":0.0000}") != NULL);
  /* many digits: 1.5e29 over 123456789012345678901234567890 */
  CHECK_EQ_INT(set("{\"trending\":[[\"A-1\",123456789012345678901234567890],[\"A-2\",1.5e29],[\"B-2\",0.0000000000000000000000000000000012]]}"), ER_OK);
  ITEMS("{\"unit\":\"trending\"}", "A-2,A-1,B-2");
  CHECK(strstr(out_s, "{\"sku\":\"A-1\",\"score\":0.8230}") != NULL);
  /* unsorted input is sorted; equal scores keep their order; all zero is fine */
  CHECK_EQ_INT(set("{\"trending\":[[\"C-3\",0],[\"A-2\",0],[\"C-2\",0]]}"), ER_OK);
  ITEMS("{\"unit\":\"trending\"}", "C-3,A-2,C-2");
  CHECK_EQ_INT(set("{\"trending\":[[\"C-3\",1],[\"A-2\",3],[\"C-2\",2],[\"B-2\",3]]}"), ER_OK);
  ITEMS("{\"unit\":\"trending\"}", "A-2,B-2,C-2,C-3");
  /* escaped skus resolve like plain ones; a repeat keeps the first (its score) */
  CHECK_EQ_INT(set("{\"trending\":[[\"\\u0043-3\",1],[\"A-2\",4],[\"C-3\",9]]}"), ER_OK);
  ITEMS("{\"unit\":\"trending\"}", "A-2,C-3");
  CHECK(strstr(out_s, "{\"sku\":\"C-3\",\"score\":0.2500}") != NULL);
  CHECK_EQ_INT(set(NULL), ER_OK);
}

/* ---- work units: entries read, as for the bundle's lists -------------------------- */
static void test_work(void) {
  const char *ctx = "{\"unit\":\"most-viewed\"}";
  CHECK_EQ_INT(set(NULL), ER_OK);
  CHECK_EQ_INT(rec(ctx), ER_OK);
  uint64_t bundle_units = er_engine_units(tiny); /* the bundle's most-viewed holds 9 items */
  CHECK_EQ_INT(set("{\"most-viewed\":[[\"A-1\",2],[\"A-2\",1]]}"), ER_OK);
  CHECK(er_engine_units(tiny) > 0);
  uint64_t set_small = er_engine_units(tiny);
  CHECK_EQ_INT(rec(ctx), ER_OK);
  CHECK_EQ_INT(er_engine_units(tiny), bundle_units - 7);
  CHECK_EQ_INT(set(LIVE), ER_OK);
  CHECK(er_engine_units(tiny) > set_small); /* more entries read, more work */
  CHECK_EQ_INT(set(NULL), ER_OK);
}

int main(void) {
  uint8_t *tb;
  uint32_t tl;
  er_error err;
  if (er_pack_from_json(MODEL, (uint32_t)strlen(MODEL), CATALOG, (uint32_t)strlen(CATALOG), NULL, 0, "test_lists", &tb, &tl, &err)) {
    printf("test_lists: cannot pack the tiny catalog: %s\n", err.msg);
    return 1;
  }
  tiny = er_engine_new(tb, tl, &err);
  if (!tiny) { printf("test_lists: engine: %s\n", err.msg); return 1; }
  RUN(test_order);
  RUN(test_rules);
  RUN(test_fill);
  RUN(test_errors);
  RUN(test_limits);
  RUN(test_scores);
  RUN(test_work);
  /* replaced and destroyed lists are freed (LeakSanitizer checks at exit) */
  CHECK_EQ_INT(set(LIVE), ER_OK);
  CHECK_EQ_INT(set(LIVE), ER_OK);
  er_engine_free(tiny);
  free(tb);
  return DONE();
}
