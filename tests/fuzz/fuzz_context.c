/* fuzz_context.c — libFuzzer target: er_context_parse on arbitrary bytes.
 * The context is untrusted (it comes from the shopper's request), so every
 * input must give ER_OK or a clean error: never a crash, a sanitizer report
 * or a hang.  On ER_OK the parsed record must respect the documented limits,
 * and er_recommend over the sample bundle (when it is found: run.sh sets
 * EDGEREC_FUZZ_BUNDLE) runs every unit rule on it — cart, purchased, filter,
 * backfill, aliases: its output is valid JSON with at most k items, no sku
 * twice, back-filled items after the primary ones and counted. */
#include <stdint.h>
#include <string.h>

#include "er_context.h"
#include "fuzz_common.h"

/* Enough for the token array (ER_MAX_CONTEXT_TOKENS) and three sku arrays
 * of ER_MAX_EXPLICIT entries plus the candidates' raw spans. */
static uint8_t arena_mem[2u << 20];
static jsmntok_t toks[ER_MAX_CONTEXT_TOKENS];

static er_engine *E;
static jsmntok_t out_toks[8192];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  fuzz_set_self((*argv)[0]);
  E = fuzz_engine("EDGEREC_FUZZ_BUNDLE", "sample.erb", 0);
  return 0;
}

static int str_eq(const er_json *j, uint32_t a, uint32_t b) {
  int n = j->tok[a].end - j->tok[a].start;
  return n == j->tok[b].end - j->tok[b].start && !memcmp(j->js + j->tok[a].start, j->js + j->tok[b].start, (size_t)n);
}

/* er_recommend on a context that parsed: a clean answer or a clean error. */
static void check_recommend(const uint8_t *data, size_t size, uint32_t k) {
  const char *out;
  uint32_t n;
  er_status st = er_recommend(E, (const char *)data, (uint32_t)size, NULL, 0, &out, &n);
  if (st) { /* only the unit name is checked after parsing */
    CHECK(st == ER_E_RANGE && strstr(er_engine_error(E)->msg, "unknown unit") != NULL);
    return;
  }
  er_json j;
  er_error err;
  CHECK(er_json_parse(&j, out, n, out_toks, sizeof out_toks / sizeof out_toks[0], "output", &err) == ER_OK);
  int32_t items = er_json_get(&j, 0, "items");
  CHECK(items > 0 && j.tok[items].type == JSMN_ARRAY);
  CHECK((uint32_t)j.tok[items].size <= (k ? k : 10));
  uint32_t skus[ER_MAX_K], n_backup = 0;
  uint32_t i = (uint32_t)items + 1;
  for (int x = 0; x < j.tok[items].size; x++) {
    int32_t sku = er_json_get(&j, i, "sku");
    CHECK(sku > 0 && j.tok[sku].type == JSMN_STRING);
    skus[x] = (uint32_t)sku;
    for (int y = 0; y < x; y++) CHECK(!str_eq(&j, skus[y], (uint32_t)sku));
    int backup = er_json_get(&j, i, "backup") >= 0;
    CHECK(backup || n_backup == 0); /* back-filled items come last */
    n_backup += (uint32_t)backup;
    i = er_json_skip(&j, i);
  }
  int32_t bf = er_json_get(&j, 0, "backfilled");
  int64_t v = 0;
  CHECK(bf < 0 ? n_backup == 0 : er_json_int(&j, (uint32_t)bf, 1, ER_MAX_K, &v) == ER_OK && (uint64_t)v == n_backup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0xFFFFFFFFu) return 0;
  /* the validator and jsmn must agree: what validates tokenizes into exactly
   * the token count the validator reported */
  uint32_t ntok = 0;
  er_error jerr;
  if (er_json_validate((const char *)data, (uint32_t)size, ER_MAX_JSON_DEPTH, "input", &jerr, &ntok) == ER_OK &&
      ntok <= ER_MAX_CONTEXT_TOKENS) {
    er_json j;
    CHECK(ntok > 0);
    CHECK(er_json_tokenize(&j, (const char *)data, (uint32_t)size, toks, ntok, &jerr) == ER_OK);
    CHECK(j.ntok == ntok);
    CHECK(er_json_skip(&j, 0) == ntok);
  }
  er_arena a;
  er_arena_init(&a, arena_mem, sizeof arena_mem);
  er_context c;
  er_error err;
  er_error_clear(&err);
  er_status st = er_context_parse(&c, (const char *)data, (uint32_t)size, NULL, 0, &a, &err);
  if (st != ER_OK) {
    CHECK(err.code == st);
    CHECK(err.msg[0] != 0);
    CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
    CHECK(err.offset == ER_NO_OFFSET || err.offset <= size || err.offset == ER_MAX_CONTEXT_BYTES);
    return 0;
  }
  CHECK(c.k <= ER_MAX_K);
  CHECK(c.hour >= -1 && c.hour <= 23);
  CHECK(c.weekday >= -1 && c.weekday <= 6);
  CHECK(c.unit_len < sizeof c.unit && c.unit[c.unit_len] == 0);
  CHECK(c.n_candidates <= ER_MAX_EXPLICIT && c.n_exclude <= ER_MAX_EXPLICIT);
  CHECK(c.profile.n_items <= ER_PROFILE_MAX_ITEMS && c.profile.n_cats <= ER_PROFILE_MAX_CATS);
  for (uint32_t k = 0; k < c.n_candidates; k++) { /* raw spans lie inside the input */
    CHECK(c.cand_raw[k] >= (const char *)data);
    CHECK(c.cand_raw[k] + c.cand_raw_len[k] <= (const char *)data + size);
  }
  CHECK(c.n_cart <= ER_MAX_CART && c.n_purchased <= ER_MAX_PURCHASED);
  CHECK(c.filter.n_cats <= ER_MAX_FILTER_CATS && c.filter.n_not_cats <= ER_MAX_FILTER_CATS);
  for (uint32_t k = 0; k < c.filter.n_cats + c.filter.n_not_cats; k++) {
    const er_cat_path *p = k < c.filter.n_cats ? &c.filter.cats[k] : &c.filter.not_cats[k - c.filter.n_cats];
    CHECK(p->len >= 1 && p->len <= ER_MAX_FILTER_PATH_BYTES && p->path[p->len - 1] != '/');
    CHECK(p->key == er_cat_key(p->path, p->len));
  }
  CHECK(c.filter.price_min >= -1 && c.filter.price_max >= -1);
  CHECK(c.filter.in_stock_only == 0 || c.filter.in_stock_only == 1);
  CHECK(c.backfill <= ER_LIST_KINDS);
  if (E) check_recommend(data, size, c.k);
  return 0;
}
