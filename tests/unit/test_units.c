/* test_units.c — the context's unit rules (docs/context.md): Adobe type ids
 * as aliases, cart, purchased, filter, backfill, their errors and limits, and
 * the sku listing (er_bundle_skus).  Over a tiny catalog packed here, where
 * every expected answer can be worked out by hand, and over the sample. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_engine.h"
#include "er_features.h"
#include "er_pack.h"
#include "harness.h"

/* Items (index: sku, categories, price, stock, popularity view):
 *  0 G-1    Gear/Bags          10.00        view 100
 *  1 G-2    Gearbox            20.00        view 90
 *  2 G-3    Gear               30.00  oos   view 80  (out of stock: in no list)
 *  3 M-1    Men/Tops/Jackets   40.00        view 70
 *  4 M-1-S  (child of M-1, invisible)
 *  5 M-2    Men/Tops           no price     view 60
 *  6 W-1    Women              50.00        view 50  (repeat purchases: 0.5)
 *  7 W-2    Women/Tops         55.55        view 40
 * Neighbours: viewed→viewed G-1: G-2 .8, G-3 .7; M-1: W-1 .6, G-2 .2
 *             viewed→bought M-1: W-2 .5
 *             bought→bought G-1: M-1 .5, W-1 .4; W-2: M-1 .3, G-2 .9 */
static const char *CATALOG =
    "{\"items\":["
    "{\"sku\":\"G-1\",\"categories\":[\"Gear/Bags\"],\"price\":10,\"popularity\":{\"view\":100}},"
    "{\"sku\":\"G-2\",\"categories\":[\"Gearbox\"],\"price\":20,\"popularity\":{\"view\":90}},"
    "{\"sku\":\"G-3\",\"categories\":[\"Gear\"],\"price\":30,\"in_stock\":false,\"popularity\":{\"view\":80}},"
    "{\"sku\":\"M-1\",\"categories\":[\"Men/Tops/Jackets\"],\"price\":40,\"popularity\":{\"view\":70}},"
    "{\"sku\":\"M-1-S\",\"parent\":\"M-1\",\"visible\":false,\"categories\":[\"Men/Tops/Jackets\"],\"price\":40},"
    "{\"sku\":\"M-2\",\"categories\":[\"Men/Tops\"],\"popularity\":{\"view\":60}},"
    "{\"sku\":\"W-1\",\"categories\":[\"Women\"],\"price\":50,\"popularity\":{\"view\":50,\"repeat\":0.5}},"
    "{\"sku\":\"W-2\",\"categories\":[\"Women/Tops\"],\"price\":55.55,\"popularity\":{\"view\":40,\"purchase\":5}}],"
    "\"neighbours\":{"
    "\"viewed_viewed\":{\"G-1\":[[\"G-2\",0.8],[\"G-3\",0.7]],\"M-1\":[[\"W-1\",0.6],[\"G-2\",0.2]]},"
    "\"viewed_bought\":{\"M-1\":[[\"W-2\",0.5]]},"
    "\"bought_bought\":{\"G-1\":[[\"M-1\",0.5],[\"W-1\",0.4]],\"W-2\":[[\"M-1\",0.3],[\"G-2\",0.9]]},"
    "\"content\":{}}}";
static const char *MODEL = "{\"version\":\"tiny-1\",\"kind\":\"linear\",\"bits\":10,\"weights\":[]}";

static er_engine *tiny, *sample;
static char out_s[65536];

/* Recommend; the output as a string in out_s ("" on error). */
static er_status rec(er_engine *e, const char *ctx) { return harness_recommend(e, ctx, out_s, sizeof out_s); }

/* The skus of out_s's items, comma-separated, '+' after a back-filled one. */
static const char *skus_of(void) { return harness_skus(out_s); }

/* Both contexts recommend, with the same bytes out. */
static void same_output(er_engine *e, const char *a, const char *b) {
  static char first[sizeof out_s];
  CHECK_EQ_INT(rec(e, a), ER_OK);
  strcpy(first, out_s);
  CHECK_EQ_INT(rec(e, b), ER_OK);
  CHECK_EQ_STR(out_s, first);
}

/* recommend ctx on the tiny catalog and compare the item list */
#define ITEMS(ctx, want)                         \
  do {                                           \
    CHECK_EQ_INT(rec(tiny, ctx), ER_OK);         \
    CHECK_EQ_STR(skus_of(), want);               \
  } while (0)

/* ---- aliases ---------------------------------------------------------------- */
static void test_aliases(void) {
  static const char *pairs[][2] = {{"just-for-you", "recommended-for-you"},
                                   {"viewed-viewed", "viewed-this-viewed-that"},
                                   {"viewed-bought", "viewed-this-bought-that"},
                                   {"bought-bought", "bought-this-bought-that"}};
  static const char *pages[] = {"G-1", "M-1", "W-2"};
  for (unsigned k = 0; k < 4; k++)
    for (unsigned p = 0; p < 3; p++)
      for (int b = 0; b < 2; b++) {
        er_engine *e = b ? sample : tiny;
        const char *page = b ? (p == 0 ? "ER-BAG-01" : p == 1 ? "ER-MJ-01" : "ER-FIT-01") : pages[p];
        char canon[256], alias[256];
        snprintf(canon, sizeof canon, "{\"unit\":\"%s\",\"page\":{\"type\":\"product\",\"sku\":\"%s\"},\"k\":20}", pairs[k][1], page);
        snprintf(alias, sizeof alias, "{\"unit\":\"%s\",\"page\":{\"type\":\"product\",\"sku\":\"%s\"},\"k\":20}", pairs[k][0], page);
        same_output(e, canon, alias); /* byte-identical: the canonical name answers */
        char unit[80];
        snprintf(unit, sizeof unit, "{\"unit\":\"%s\",", pairs[k][1]);
        CHECK(!strncmp(out_s, unit, strlen(unit)));
      }
  /* the CLI's --unit override takes aliases too */
  CHECK_EQ_INT(er_engine_override(tiny, "viewed-viewed", 0), ER_OK);
  ITEMS("{\"page\":{\"type\":\"product\",\"sku\":\"M-1\"}}", "W-1,G-2");
  CHECK_EQ_INT(er_engine_override(tiny, NULL, 0), ER_OK);
  /* an unknown unit still names itself */
  CHECK_EQ_INT(rec(tiny, "{\"unit\":\"bought-viewed\"}"), ER_E_RANGE);
  CHECK(strstr(er_engine_error(tiny)->msg, "unknown unit 'bought-viewed'") != NULL);
}

/* ---- cart ------------------------------------------------------------------- */
static void test_cart(void) {
  ITEMS("{\"unit\":\"most-viewed\"}", "G-1,G-2,M-1,M-2,W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"cart\":[\"G-1\",\"W-1\"]}", "G-2,M-1,M-2,W-2"); /* never returned */
  ITEMS("{\"unit\":\"most-viewed\",\"cart\":[\"M-1-S\"]}", "G-1,G-2,M-2,W-1,W-2");  /* a child stands for its parent */
  ITEMS("{\"unit\":\"most-viewed\",\"cart\":[\"NOPE\",\"\\u0047-2\"]}", "G-1,M-1,M-2,W-1,W-2"); /* unknown skus, escapes */
  /* anchors of the neighbour units without a page sku (a cart page's "bought together") */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"cart\"},\"cart\":[\"G-1\"]}", "G-2");
  ITEMS("{\"unit\":\"viewed-bought\",\"cart\":[\"M-1-S\"]}", "W-2");
  /* several anchors: weights add up (M-1: .5 from G-1 and .3 from W-2) */
  CHECK_EQ_INT(rec(tiny, "{\"unit\":\"bought-bought\",\"cart\":[\"G-1\",\"W-2\"]}"), ER_OK);
  CHECK_EQ_STR(skus_of(), "G-2,M-1,W-1");
  /* weights as the bundle holds them (docs/bundle.md, 8-bit codes): .9 → 59146, .5 + .3 → 33075 + 19804, .4 → 26035 */
  CHECK(strstr(out_s, "{\"sku\":\"G-2\",\"score\":0.9025},{\"sku\":\"M-1\",\"score\":0.8069},{\"sku\":\"W-1\",\"score\":0.3973}") != NULL);
  /* one cart anchor is exactly the page-anchored answer */
  same_output(tiny, "{\"unit\":\"bought-bought\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"}}", "{\"unit\":\"bought-bought\",\"cart\":[\"G-1\"]}");
  /* the page sku wins over the cart; cart items are still never returned */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"M-1\"},\"cart\":[\"G-1\"]}", "W-1,G-2");
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"M-1\"},\"cart\":[\"W-1\"]}", "G-2");
  /* without a cart in the catalog, the most recent item anchors (as before) */
  ITEMS("{\"unit\":\"viewed-viewed\",\"cart\":[\"NOPE\"],\"recent\":[\"M-1\"]}", "W-1,G-2");
  /* and never in recently-viewed either */
  ITEMS("{\"unit\":\"recently-viewed\",\"recent\":[\"G-1\",\"M-1\",\"W-1\"],\"cart\":[\"M-1\"]}", "G-1,W-1");
  /* recommended-for-you: the cart's items anchor the co-occurrence features (the sample's model uses them) */
  char want[4096];
  CHECK_EQ_INT(rec(sample, "{\"k\":5}"), ER_OK);
  strcpy(want, out_s);
  CHECK_EQ_INT(rec(sample, "{\"k\":5,\"cart\":[\"ER-FIT-01\",\"ER-BAG-01\"]}"), ER_OK);
  CHECK(strcmp(out_s, want) != 0);
  CHECK(!strncmp(skus_of(), "ER-FIT-07,", 10)); /* ER-FIT-01's strongest neighbour everywhere */
  CHECK(strstr(out_s, "\"ER-FIT-01\"") == NULL && strstr(out_s, "\"ER-BAG-01\"") == NULL);
  /* a rule-pinned item in the cart is not returned either (the sample pins ER-FIT-01) */
  CHECK_EQ_INT(rec(sample, "{\"k\":50,\"cart\":[\"ER-FIT-01\"]}"), ER_OK);
  CHECK(strstr(out_s, "\"ER-FIT-01\"") == NULL);
}

/* ---- purchased -------------------------------------------------------------------- */
static void test_purchased(void) {
  ITEMS("{\"unit\":\"most-viewed\",\"purchased\":[\"G-1\",\"M-1-S\"]}", "G-2,M-2,W-1,W-2");
  ITEMS("{\"unit\":\"recently-viewed\",\"recent\":[\"G-1\",\"M-1\"],\"purchased\":[\"G-1\"]}", "G-1,M-1"); /* kept there */
  /* anchors of bought-bought (only): W-2 → G-2 .9, M-1 .3 */
  ITEMS("{\"unit\":\"bought-bought\",\"purchased\":[\"W-2\"]}", "G-2,M-1");
  ITEMS("{\"unit\":\"viewed-viewed\",\"purchased\":[\"G-1\"]}", "");
  /* after the cart's */
  ITEMS("{\"unit\":\"bought-bought\",\"cart\":[\"G-1\"],\"purchased\":[\"W-2\"]}", "G-2,M-1,W-1");
  /* explicit candidates: purchased and cart skus are dropped, known or not */
  ITEMS("{\"candidates\":[\"G-1\",\"X-1\",\"X-2\",\"W-1\"],\"purchased\":[\"X-1\"],\"cart\":[\"W-1\"]}", "G-1,X-2");
}

/* ---- re-visits and repeat purchases (docs/features.md, docs/context.md) ---------------- */
static uint8_t prof_buf[ER_PROFILE_MAX_BYTES];
static uint32_t prof_len;
static void prof_event(er_profile *p, er_event_type type, const char *sku, uint32_t ts) {
  er_profile_delta d;
  memset(&d, 0, sizeof d);
  d.type = type;
  d.ts = ts;
  d.sku_key = er_key(sku, strlen(sku));
  er_profile_apply(p, &d);
  prof_len = er_profile_encode(p, prof_buf, sizeof prof_buf);
}
static er_status rec_prof(const char *ctx) {
  const char *o;
  uint32_t n;
  er_status st = er_recommend(tiny, ctx, (uint32_t)strlen(ctx), prof_buf, prof_len, &o, &n);
  snprintf(out_s, sizeof out_s, "%.*s", st ? 0 : (int)n, st ? "" : o);
  return st;
}
/* The dense vector of catalog sku `sku` among the candidates of ctx. */
static int dense_of(const char *ctx, const char *sku, float *x) {
  const er_shopper *s;
  const er_candidate *c;
  uint32_t n;
  if (er_engine_candidates(tiny, ctx, (uint32_t)strlen(ctx), prof_buf, prof_len, &s, &c, &n)) return 0;
  for (uint32_t k = 0; k < n; k++)
    if (c[k].sku_key == er_key(sku, strlen(sku))) { er_features_dense(s, &c[k], x); return 1; }
  return 0;
}
static void test_repeat(void) {
  const uint32_t T0 = 1700000000u;
  er_profile p;
  er_profile_init(&p);
  prof_event(&p, ER_EV_VIEW, "M-2", T0 - 600);
  prof_event(&p, ER_EV_VIEW, "M-2", T0 - 300);
  prof_event(&p, ER_EV_WISHLIST, "W-2", T0 - 200);
  prof_event(&p, ER_EV_PURCHASE, "G-1", T0);
  prof_event(&p, ER_EV_PURCHASE, "W-1", T0);
  char ctx[128];
  /* an hour later: nothing just bought comes back */
  snprintf(ctx, sizeof ctx, "{\"now\":%u,\"k\":20}", T0 + 3600);
  CHECK_EQ_INT(rec_prof(ctx), ER_OK);
  CHECK(strstr(out_s, "\"W-1\"") == NULL && strstr(out_s, "\"G-1\"") == NULL);
  CHECK(strstr(out_s, "\"M-2\"") != NULL); /* a re-visit candidate */
  /* two days later: W-1 (bought again by half its buyers) may come back, G-1 (never re-bought) not */
  snprintf(ctx, sizeof ctx, "{\"now\":%u,\"k\":20}", T0 + 2 * 86400);
  CHECK_EQ_INT(rec_prof(ctx), ER_OK);
  CHECK(strstr(out_s, "\"W-1\"") != NULL);
  CHECK(strstr(out_s, "\"G-1\"") == NULL);
  /* without a time nothing purchased comes back (it could be "just") */
  CHECK_EQ_INT(rec_prof("{\"k\":20}"), ER_OK);
  CHECK(strstr(out_s, "\"W-1\"") == NULL);
  /* the context's purchased list always excludes */
  snprintf(ctx, sizeof ctx, "{\"now\":%u,\"k\":20,\"purchased\":[\"W-1\"]}", T0 + 2 * 86400);
  CHECK_EQ_INT(rec_prof(ctx), ER_OK);
  CHECK(strstr(out_s, "\"W-1\"") == NULL);
  /* recently-viewed never shows a purchase-only item, whatever its repeat rate */
  snprintf(ctx, sizeof ctx, "{\"unit\":\"recently-viewed\",\"now\":%u}", T0 + 2 * 86400);
  CHECK_EQ_INT(rec_prof(ctx), ER_OK);
  CHECK_EQ_STR(skus_of(), "W-2,M-2");
  /* the re-visit features */
  float x[ER_DENSE_COUNT];
  snprintf(ctx, sizeof ctx, "{\"now\":%u,\"k\":20}", T0 + 2 * 86400);
  CHECK(dense_of(ctx, "W-1", x));
  CHECK(x[ER_D_PURCHASED] == 1.0f && x[ER_D_REPEAT] == 32768.0f && x[ER_D_SEEN_COUNT] == 1.0f);
  CHECK(x[ER_D_SEEN_AGE] == (float)(2 * 86400) && x[ER_D_WISHED] == 0.0f && x[ER_D_VIEWED] == 0.0f);
  CHECK(dense_of(ctx, "M-2", x));
  CHECK(x[ER_D_SEEN_COUNT] == 2.0f && x[ER_D_SEEN_AGE] == (float)(2 * 86400 + 300) && x[ER_D_PURCHASED] == 0.0f);
  CHECK(x[ER_D_VIEWED] == 1.0f && x[ER_D_REPEAT] == 0.0f);
  CHECK(dense_of(ctx, "W-2", x));
  CHECK(x[ER_D_WISHED] == 1.0f && x[ER_D_VIEWED] == 1.0f && x[ER_D_SEEN_COUNT] == 1.0f);
  CHECK(dense_of(ctx, "G-2", x)); /* never seen: count 0, age missing */
  CHECK(x[ER_D_SEEN_COUNT] == 0.0f && x[ER_D_SEEN_AGE] != x[ER_D_SEEN_AGE] && x[ER_D_WISHED] == 0.0f);
  CHECK(dense_of("{\"k\":20}", "M-2", x)); /* no time: age missing */
  CHECK(x[ER_D_SEEN_AGE] != x[ER_D_SEEN_AGE] && x[ER_D_SEEN_COUNT] == 2.0f);
  prof_len = 0;
}

/* ---- filter --------------------------------------------------------------------- */
static void test_filter(void) {
  /* price window, inclusive; an item without a price fails it */
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_min\":20,\"price_max\":40}}", "G-2,M-1");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_min\":20.000001}}", "M-1,W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_max\":55.55}}", "G-1,G-2,M-1,W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_max\":55.549999}}", "G-1,G-2,M-1,W-1");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_min\":0}}", "G-1,G-2,M-1,W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_min\":5e1,\"price_max\":1e999}}", "W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"price_min\":30,\"price_max\":20}}", "");
  /* a category subtree: the path or under it, by whole path segments */
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Gear\"]}}", "G-1");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Gear/\"]}}", "G-1");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Men/Tops\"]}}", "M-1,M-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Men/Tops/Jackets\",\"Women\"]}}", "M-1,W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Men/Top\"]}}", "");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[]}}", "G-1,G-2,M-1,M-2,W-1,W-2"); /* empty: no filter */
  /* excluding a subtree */
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"exclude_categories\":[\"Gear\",\"Women/Tops\"]}}", "G-2,M-1,M-2,W-1");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Men\",\"Women\"],\"exclude_categories\":[\"Men/Tops/Jackets\"]}}", "M-2,W-1,W-2");
  /* everything together, with nulls as absent fields */
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":{\"categories\":[\"Men\",\"Women\"],\"price_min\":45,\"price_max\":null,\"in_stock_only\":null}}", "W-1,W-2");
  ITEMS("{\"unit\":\"most-viewed\",\"filter\":null}", "G-1,G-2,M-1,M-2,W-1,W-2");
  /* stock: dropped by default, kept with in_stock_only false (invisible items never) */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"}}", "G-2");
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"},\"filter\":{\"in_stock_only\":true}}", "G-2");
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"},\"filter\":{\"in_stock_only\":false}}", "G-2,G-3");
  ITEMS("{\"candidates\":[\"M-1-S\",\"G-3\"],\"filter\":{\"in_stock_only\":false}}", "M-1,G-3");
  /* neighbour units and explicit candidates too; unknown candidates have no category and no price */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"M-1\"},\"filter\":{\"exclude_categories\":[\"Women\"]}}", "G-2");
  ITEMS("{\"candidates\":[\"X-1\",\"G-1\",\"W-2\"],\"filter\":{\"price_min\":1}}", "G-1,W-2");
  ITEMS("{\"candidates\":[\"X-1\",\"G-1\",\"W-2\"],\"filter\":{\"categories\":[\"Women\"]}}", "W-2");
  ITEMS("{\"candidates\":[\"X-1\",\"G-1\",\"W-2\"],\"filter\":{\"exclude_categories\":[\"Women\"]}}", "X-1,G-1");
  /* recommended-for-you: a narrow filter still fills from the catalog (every item checked) */
  ITEMS("{\"filter\":{\"categories\":[\"Men\"]},\"k\":5}", "M-1,M-2");
  /* filters on the sample: every item returned is under the path and in the window */
  CHECK_EQ_INT(rec(sample, "{\"k\":200,\"filter\":{\"categories\":[\"Gear/Bags\"],\"price_max\":50}}"), ER_OK);
  CHECK_EQ_STR(skus_of(), "ER-BAG-01,ER-BAG-02,ER-BAG-04,ER-BAG-06"); /* ER-BAG-05: out of stock */
}

/* ---- backfill ----------------------------------------------------------------------- */
static void test_backfill(void) {
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"},\"k\":4,\"backfill\":\"most-viewed\"}", "G-2,M-1+,M-2+,W-1+");
  CHECK(strstr(out_s, "],\"backfilled\":3}") != NULL);
  /* never an item twice, never the page item, the cart or a filtered item */
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"},\"k\":10,\"backfill\":\"most-viewed\",\"cart\":[\"M-2\"]}", "G-2,M-1+,W-1+,W-2+");
  ITEMS("{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"M-1\"},\"k\":10,\"backfill\":\"most-viewed\",\"filter\":{\"categories\":[\"Women\"]}}", "W-1,W-2+");
  ITEMS("{\"unit\":\"bought-bought\",\"k\":3,\"backfill\":\"most-purchased\"}", "W-2+");
  /* the back-filled item keeps its list's weight (W-2: the only purchase, 1.0) */
  CHECK(strstr(out_s, "{\"sku\":\"W-2\",\"score\":1.0000,\"backup\":true}],\"backfilled\":1}") != NULL);
  /* enough primary items: nothing back-filled, the same bytes as without backfill; "none" is the default */
  same_output(tiny, "{\"unit\":\"most-viewed\",\"k\":3}", "{\"unit\":\"most-viewed\",\"k\":3,\"backfill\":\"trending\"}");
  same_output(tiny, "{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"}}",
              "{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"G-1\"},\"backfill\":\"none\"}");
  CHECK(strstr(out_s, "backup") == NULL && strstr(out_s, "backfilled") == NULL);
  /* every list */
  static const char *lists[] = {"most-viewed", "most-purchased", "most-added-to-cart", "trending"};
  for (int l = 0; l < 4; l++) {
    char ctx[256];
    snprintf(ctx, sizeof ctx, "{\"unit\":\"bought-this-bought-that\",\"page\":{\"type\":\"product\",\"sku\":\"ER-FIT-07\"},\"k\":30,\"backfill\":\"%s\"}", lists[l]);
    CHECK_EQ_INT(rec(sample, ctx), ER_OK);
    const char *s = skus_of();
    CHECK(!strncmp(s, "ER-FIT-01,", 10)); /* the one primary item, then back-fill */
    /* no sku twice, the page item never */
    char seen[4096];
    strcpy(seen, s);
    int dup = 0, n = 0;
    for (char *a = strtok(seen, ","); a; a = strtok(NULL, ",")) {
      n++;
      char needle[160];
      size_t al = strlen(a);
      if (a[al - 1] == '+') a[--al] = 0;
      snprintf(needle, sizeof needle, "\"sku\":\"%s\"", a);
      const char *f = strstr(out_s, needle);
      if (f && strstr(f + 1, needle)) dup++;
      if (!strcmp(a, "ER-FIT-07")) dup++;
    }
    CHECK_EQ_INT(dup, 0);
    CHECK(n > 1);
  }
}

/* ---- errors and limits ----------------------------------------------------------- */
static void expect(const char *ctx, er_status st, const char *msg) {
  CHECK_EQ_INT(rec(tiny, ctx), st);
  const char *m = er_engine_error(tiny)->msg;
  if (!strstr(m, msg)) printf("  [%s] message: %s (want %s)\n", ctx, m, msg);
  CHECK(strstr(m, msg) != NULL);
}
static void test_errors(void) {
  expect("{\"cart\":\"G-1\"}", ER_E_TYPE, "field 'cart' must be an array of sku strings, got string (byte 8)");
  expect("{\"cart\":[\"G-1\",7]}", ER_E_TYPE, "field 'cart' must be a string, got number (byte 15)");
  expect("{\"cart\":[\"\"]}", ER_E_RANGE, "field 'cart' must be 1..128 bytes (byte 9)");
  expect("{\"purchased\":{}}", ER_E_TYPE, "field 'purchased' must be an array of sku strings, got object (byte 13)");
  expect("{\"filter\":[]}", ER_E_TYPE, "field 'filter' must be an object, got array (byte 10)");
  expect("{\"filter\":{\"categories\":\"Gear\"}}", ER_E_TYPE, "field 'filter.categories' must be an array of category path strings, got string (byte 24)");
  expect("{\"filter\":{\"exclude_categories\":[true]}}", ER_E_TYPE, "field 'filter.exclude_categories' must be an array of category path strings, got boolean (byte 33)");
  expect("{\"filter\":{\"categories\":[\"\"]}}", ER_E_RANGE, "field 'filter.categories' entries must be category paths of 1..768 bytes (byte 25)");
  expect("{\"filter\":{\"price_min\":\"5\"}}", ER_E_TYPE, "field 'filter.price_min' must be a number, got string (byte 23)");
  expect("{\"filter\":{\"price_max\":-0.01}}", ER_E_RANGE, "field 'filter.price_max' must be a number >= 0 (byte 23)");
  expect("{\"filter\":{\"in_stock_only\":\"no\"}}", ER_E_TYPE, "field 'filter.in_stock_only' must be a boolean, got string (byte 27)");
  expect("{\"filter\":{\"price_min\":1,\"price_min\":2}}", ER_E_JSON, "duplicate key in 'filter' at byte 25");
  expect("{\"filter\":{\"in_stock_only\":true,\"in_stock_\\u006fnly\":false}}", ER_E_JSON, "duplicate key in 'filter'");
  expect("{\"cart\":[],\"c\\u0061rt\":[]}", ER_E_JSON, "duplicate key");
  expect("{\"backfill\":\"popular\"}", ER_E_RANGE, "field 'backfill' must be none, most-viewed, most-purchased, most-added-to-cart or trending (byte 12)");
  expect("{\"backfill\":[]}", ER_E_TYPE, "field 'backfill' must be a string, got array (byte 12)");
  expect("{\"backfill\":\"viewed-viewed\"}", ER_E_RANGE, "field 'backfill'");
  /* a filter path of 768 bytes is read (é: 2 bytes), 769 are not */
  static char lp[2048];
  for (int over = 0; over < 2; over++) {
    int at = snprintf(lp, sizeof lp, "{\"filter\":{\"categories\":[\"");
    for (int k = 0; k < 384; k++) at += snprintf(lp + at, sizeof lp - (size_t)at, "\xc3\xa9");
    snprintf(lp + at, sizeof lp - (size_t)at, "%s\"]}}", over ? "x" : "");
    CHECK_EQ_INT(rec(tiny, lp), over ? ER_E_RANGE : ER_OK);
  }
  /* limits: 256 cart and purchased entries, 64 filter paths */
  static char big[16384];
  for (int which = 0; which < 3; which++) {
    const char *field = which == 0 ? "cart" : which == 1 ? "purchased" : "filter";
    int lim = which == 2 ? 64 : 256;
    for (int over = 0; over < 2; over++) {
      size_t at = (size_t)snprintf(big, sizeof big, which == 2 ? "{\"filter\":{\"categories\":[" : "{\"%s\":[", field);
      for (int k = 0; k < lim + over; k++) at += (size_t)snprintf(big + at, sizeof big - at, "%s\"A/%d\"", k ? "," : "", k);
      snprintf(big + at, sizeof big - at, which == 2 ? "]}}" : "]}");
      CHECK_EQ_INT(rec(tiny, big), over ? ER_E_LIMIT : ER_OK);
      if (over) {
        char want[128];
        snprintf(want, sizeof want, "has %d entries, more than the limit of %d", lim + 1, lim);
        CHECK(strstr(er_engine_error(tiny)->msg, want) != NULL);
      }
    }
  }
}

/* ---- work: the new lookups count, the budget still bounds the request ------------ */
static void test_work(void) {
  CHECK_EQ_INT(rec(sample, "{\"k\":10}"), ER_OK);
  uint64_t plain = er_engine_units(sample);
  CHECK_EQ_INT(rec(sample, "{\"k\":10,\"filter\":{\"categories\":[\"Gear\",\"Men\"],\"exclude_categories\":[\"Gear/Bags\"]}}"), ER_OK);
  CHECK(er_engine_units(sample) > plain);
  er_engine_set_budget(sample, 50);
  CHECK_EQ_INT(rec(sample, "{\"k\":10,\"filter\":{\"categories\":[\"Gear/Watches\"]}}"), ER_OK);
  CHECK(strstr(out_s, "\"fallback\":\"work-budget\"") != NULL);
  er_engine_set_budget(sample, 0);
}

/* ---- er_bundle_skus ------------------------------------------------------------------ */
static void test_skus(void) {
  const char *out;
  uint32_t n;
  CHECK_EQ_INT(er_bundle_skus(tiny, 0, 100, &out, &n), ER_OK);
  CHECK(n == strlen("[\"G-1\",\"G-2\",\"G-3\",\"M-1\",\"M-1-S\",\"M-2\",\"W-1\",\"W-2\"]") &&
        !memcmp(out, "[\"G-1\",\"G-2\",\"G-3\",\"M-1\",\"M-1-S\",\"M-2\",\"W-1\",\"W-2\"]", n));
  CHECK_EQ_INT(er_bundle_skus(tiny, 3, 2, &out, &n), ER_OK);
  CHECK(n == 15 && !memcmp(out, "[\"M-1\",\"M-1-S\"]", n));
  CHECK_EQ_INT(er_bundle_skus(tiny, 7, 0xFFFFFFFFu, &out, &n), ER_OK);
  CHECK(n == 7 && !memcmp(out, "[\"W-2\"]", n));
  CHECK_EQ_INT(er_bundle_skus(tiny, 8, 5, &out, &n), ER_OK);
  CHECK(n == 2 && !memcmp(out, "[]", 2));
  CHECK_EQ_INT(er_bundle_skus(tiny, 0xFFFFFFFFu, 0xFFFFFFFFu, &out, &n), ER_OK);
  CHECK(n == 2 && !memcmp(out, "[]", 2));
  CHECK_EQ_INT(er_bundle_skus(tiny, 2, 0, &out, &n), ER_OK);
  CHECK(n == 2 && !memcmp(out, "[]", 2));
  /* pages stop before ER_SKUS_PAGE_BYTES: 3000 skus of 128 bytes (some escaped) */
  enum { N = 3000 };
  static char names[N][129];
  static er_pack_item items[N];
  er_pack_input in;
  memset(&in, 0, sizeof in);
  for (int i = 0; i < N; i++) {
    memset(names[i], 'x', 128);
    names[i][128] = 0;
    char head[16];
    snprintf(head, sizeof head, "%05d\"\\\x01", i);
    memcpy(names[i], head, strlen(head)); /* 128 bytes: a quote, a backslash and a control escaped */
    items[i] = (er_pack_item){.sku = names[i], .in_stock = 1, .visible = 1, .price_cents = 100};
  }
  float w[1024] = {0};
  in.version = "skus-1";
  in.items = items;
  in.n_items = N;
  in.no_auto_content = 1;
  in.model = (er_pack_model){.kind = ER_MODEL_LINEAR, .bits = 10, .weights = w};
  uint8_t *bytes;
  uint32_t len;
  er_error err;
  CHECK_EQ_INT(er_pack_build(&in, &bytes, &len, &err), ER_OK);
  er_engine *e = er_engine_new(bytes, len, &err);
  CHECK(e != NULL);
  if (!e) { free(bytes); return; }
  uint32_t off = 0, pages = 0, ok = 1;
  for (;;) {
    CHECK_EQ_INT(er_bundle_skus(e, off, N, &out, &n), ER_OK);
    if (n > ER_SKUS_PAGE_BYTES) ok = 0;
    if (n == 2) break;
    /* count the entries: each starts with "NNNNN\" */
    uint32_t got = 0;
    for (uint32_t i = 0; i + 1 < n; i++) if ((out[i] == '[' || out[i] == ',') && out[i + 1] == '"') got++;
    char first[8];
    snprintf(first, sizeof first, "[\"%05u", off);
    if (memcmp(out, first, 7)) ok = 0;
    off += got;
    pages++;
  }
  CHECK(ok);
  CHECK_EQ_INT(off, N);
  CHECK(pages >= 5); /* 3000 × ~140 bytes */
  er_engine_free(e);
  free(bytes);
}

int main(void) {
  uint8_t *tb, *sb;
  uint32_t tl, sl;
  er_error err;
  if (er_pack_from_json(MODEL, (uint32_t)strlen(MODEL), CATALOG, (uint32_t)strlen(CATALOG), NULL, 0, "test_units", &tb, &tl, &err)) {
    printf("test_units: cannot pack the tiny catalog: %s\n", err.msg);
    return 1;
  }
  if (!(sb = harness_read_file("build/sample.erb", &sl))) return 1;
  tiny = er_engine_new(tb, tl, &err);
  sample = er_engine_new(sb, sl, &err);
  if (!tiny || !sample) { printf("test_units: engine: %s\n", err.msg); return 1; }
  RUN(test_aliases);
  RUN(test_cart);
  RUN(test_purchased);
  RUN(test_repeat);
  RUN(test_filter);
  RUN(test_backfill);
  RUN(test_errors);
  RUN(test_work);
  RUN(test_skus);
  er_engine_free(tiny);
  er_engine_free(sample);
  free(tb);
  free(sb);
  return DONE();
}
