/* fuzz_lists.c — libFuzzer target: er_engine_set_lists over build/sample.erb
 * (the live lists come from the cron's KV document, written from shoppers'
 * events: untrusted).  Every input gives ER_OK or a clean error.  On error
 * the lists in force before the call are still in force (same summary, same
 * answers); on success every live entry is a catalog item, each list is
 * sorted by score and within its limit, and every unit that reads a list
 * (the four list units, recommended-for-you's fill, back-fill) answers with
 * valid JSON, at most k items, no sku twice. */
#include <stdint.h>
#include <string.h>

#include "er_engine.h"
#include "fuzz_common.h"

static er_engine *E;
static jsmntok_t out_toks[4096];
static char before_info[256], before_mv[16384];

/* A valid list the engine holds before each input: the first catalog skus. */
static const char *BASE = "{\"most-viewed\":[[\"ER-BAG-01\",3],[\"ER-FIT-01\",2],[\"ER-MJ-01-S\",1]]}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  fuzz_set_self((*argv)[0]);
  E = fuzz_engine("EDGEREC_FUZZ_BUNDLE", "sample.erb", 1);
  return 0;
}

/* Copy the engine's output (a string) into buf. */
static void take(const char *out, uint32_t n, char *buf, size_t cap) {
  CHECK(n < cap);
  memcpy(buf, out, n);
  buf[n] = 0;
}

static void summary(char *buf, size_t cap) {
  const char *out;
  uint32_t n;
  CHECK(er_engine_lists_info(E, &out, &n) == ER_OK);
  take(out, n, buf, cap);
}

/* Recommend ctx: valid JSON, at most k items, no sku twice; the output in buf. */
static void recommend(const char *ctx, uint32_t k, char *buf, size_t cap) {
  const char *out;
  uint32_t n;
  CHECK(er_recommend(E, ctx, (uint32_t)strlen(ctx), NULL, 0, &out, &n) == ER_OK);
  er_json j;
  er_error err;
  CHECK(er_json_parse(&j, out, n, out_toks, sizeof out_toks / sizeof out_toks[0], "output", &err) == ER_OK);
  int32_t items = er_json_get(&j, 0, "items");
  CHECK(items > 0 && j.tok[items].type == JSMN_ARRAY && (uint32_t)j.tok[items].size <= k);
  uint32_t skus[64], i = (uint32_t)items + 1;
  for (int x = 0; x < j.tok[items].size; x++) {
    int32_t sku = er_json_get(&j, i, "sku");
    CHECK(sku > 0 && j.tok[sku].type == JSMN_STRING);
    for (int y = 0; y < x; y++) {
      int a = j.tok[skus[y]].end - j.tok[skus[y]].start, b = j.tok[sku].end - j.tok[sku].start;
      CHECK(a != b || memcmp(out + j.tok[skus[y]].start, out + j.tok[sku].start, (size_t)a));
    }
    skus[x] = (uint32_t)sku;
    i = er_json_skip(&j, i);
  }
  if (buf) take(out, n, buf, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > ER_MAX_LISTS_BYTES + 1) return 0;
  CHECK(er_engine_set_lists(E, BASE, (uint32_t)strlen(BASE)) == ER_OK);
  summary(before_info, sizeof before_info);
  recommend("{\"unit\":\"most-viewed\",\"k\":50}", 50, before_mv, sizeof before_mv);
  er_status st = er_engine_set_lists(E, (const char *)data, (uint32_t)size);
  if (st) {
    const er_error *err = er_engine_error(E);
    CHECK(err->code == st && err->msg[0] && !strncmp(err->msg, "lists: ", 7));
    CHECK(err->offset == ER_NO_OFFSET || err->offset <= size);
    char now[sizeof before_mv];
    summary(now, sizeof now);
    CHECK(!strcmp(now, before_info)); /* the previous lists stay in force */
    recommend("{\"unit\":\"most-viewed\",\"k\":50}", 50, now, sizeof now);
    CHECK(!strcmp(now, before_mv));
    return 0;
  }
  const er_live_lists *l = E->lists;
  for (uint32_t kind = 1; l && kind <= ER_LIST_KINDS; kind++) {
    if (!l->given[kind]) { CHECK(l->n[kind] == 0); continue; }
    CHECK(l->n[kind] + l->skipped[kind] <= ER_MAX_LIST_ENTRIES);
    for (uint32_t k = 0; k < l->n[kind]; k++) {
      CHECK(l->e[kind][k].item < E->b.n_items);
      if (k) CHECK(l->e[kind][k].score <= l->e[kind][k - 1].score);
      for (uint32_t m = 0; m < k; m++) CHECK(l->e[kind][m].item != l->e[kind][k].item);
    }
    if (l->n[kind]) CHECK(l->e[kind][0].score == 65535 || l->e[kind][0].score == 0);
  }
  char info[256];
  summary(info, sizeof info);
  CHECK(!strcmp(info, "null") == !er_lists_any(l));
  static const char *ctx[] = {
      "{\"unit\":\"most-viewed\",\"k\":50}", "{\"unit\":\"most-purchased\",\"k\":50}",
      "{\"unit\":\"most-added-to-cart\",\"k\":50}", "{\"unit\":\"trending\",\"k\":50,\"filter\":{\"in_stock_only\":false}}",
      "{\"k\":20}", "{\"k\":20,\"cart\":[\"ER-BAG-01\"],\"exclude\":[\"ER-FIT-01\"]}",
      "{\"unit\":\"viewed-viewed\",\"page\":{\"type\":\"product\",\"sku\":\"ER-BAG-01\"},\"k\":50,\"backfill\":\"trending\"}",
      "{\"unit\":\"more-like-this\",\"k\":50,\"backfill\":\"most-viewed\",\"filter\":{\"categories\":[\"Gear\"]}}"};
  for (size_t c = 0; c < sizeof ctx / sizeof ctx[0]; c++) recommend(ctx[c], c == 4 || c == 5 ? 20 : 50, NULL, 0);
  /* the bundle summary carries the same live_lists */
  const char *out;
  uint32_t n;
  CHECK(er_bundle_info(E, &out, &n) == ER_OK);
  static char bi[65536];
  take(out, n, bi, sizeof bi);
  char want[300];
  snprintf(want, sizeof want, "\"live_lists\":%s", info);
  CHECK(strstr(bi, want) != NULL);
  return 0;
}
