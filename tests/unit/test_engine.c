/* test_engine.c — core modules (hashing, JSON validator, formatter, top-K),
 * scorer parity against float references, recommend and rerank behaviour,
 * rules, exclusions and the work budget. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_buf.h"
#include "er_bundle.h"
#include "er_context.h"
#include "er_features.h"
#include "er_json.h"
#include "er_pack.h"
#include "er_score.h"
#include "er_topk.h"
#include "harness.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }
static double rndf(void) { return (double)(rnd() % 2000001) / 1000000.0 - 1.0; } /* [-1, 1] */

/* ---- hashing: known answers of the Debian xxHash we link ---------------- */
static void test_hash_known_answers(void) {
  CHECK(er_hash64("", 0, 0) == 0x2D06800538D394C2ull);  /* XXH3_64bits("") */
  CHECK(er_xxh64("", 0, 0) == 0xEF46DB3751D8E999ull);   /* XXH64("") */
  CHECK(er_key("ER-BAG-01", 9) == er_hash64("ER-BAG-01", 9, 0));
  CHECK(er_key("a", 1) != er_key("b", 1));
  /* the schema hash is stable for a given schema string */
  CHECK(er_features_schema_hash() == er_xxh64(er_features_schema(), strlen(er_features_schema()), 0));
}

/* ---- JSON validator -------------------------------------------------------- */
static int valid(const char *s) { er_error e; return er_json_validate(s, (uint32_t)strlen(s), 64, "t", &e, NULL) == ER_OK; }
static void test_json_validator(void) {
  const char *good[] = {"{}", "[]", "0", "-0.5e+10", "\"\\u00e9\\ud83d\\ude00\"", "{\"a\":[1,2,{\"b\":null}]}", " true ", "\"caf\xc3\xa9\""};
  const char *bad[] = {"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "01", "1.", "-", ".5", "1e", "tru", "nul",
                       "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "\"a\x01\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\x80\"",
                       "1 2", "{}{}", "[1 2]", "\xef\xbb\xbf{}", "\"abc", "{\"a\":}", "[,1]", "nan", "Infinity"};
  for (unsigned k = 0; k < sizeof good / sizeof good[0]; k++) CHECK(valid(good[k]));
  for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++) CHECK(!valid(bad[k]));
  char deep[200];
  memset(deep, '[', 65);
  memset(deep + 65, ']', 65);
  er_error e;
  CHECK_EQ_INT(er_json_validate(deep, 130, 64, "t", &e, NULL), ER_E_LIMIT);
  CHECK(strstr(e.msg, "nesting deeper than 64") != NULL);
  CHECK_EQ_INT(er_json_validate(deep + 1, 128, 64, "t", &e, NULL), ER_OK);
  CHECK_EQ_INT(er_json_validate("{\"a\":1,}", 8, 64, "context", &e, NULL), ER_E_JSON);
  CHECK(strstr(e.msg, "context: expected a string key at byte 7") != NULL);
  /* fixed-point reader */
  jsmntok_t tok[8];
  er_json j;
  int64_t v;
  { const char *nums = "[12.345, -0.5, 1e3, 12345678901234567890123]"; CHECK_EQ_INT(er_json_parse(&j, nums, (uint32_t)strlen(nums), tok, 8, "t", &e), ER_OK); }
  CHECK_EQ_INT(er_json_fixed(&j, 1, 2, -1000000, 1000000, &v), ER_OK); CHECK_EQ_INT(v, 1234);
  CHECK_EQ_INT(er_json_fixed(&j, 2, 2, -1000000, 1000000, &v), ER_OK); CHECK_EQ_INT(v, -50);
  CHECK_EQ_INT(er_json_int(&j, 3, 0, 5000, &v), ER_OK); CHECK_EQ_INT(v, 1000);
  CHECK_EQ_INT(er_json_int(&j, 1, 0, 5000, &v), ER_E_RANGE); /* not integral */
  CHECK_EQ_INT(er_json_int(&j, 4, 0, 5000, &v), ER_E_RANGE); /* huge */
}

/* ---- formatter ---------------------------------------------------------------- */
static const char *fmt_q16(int32_t q) {
  static char s[32];
  er_buf b;
  er_buf_init(&b, s, sizeof s - 1);
  er_buf_q16(&b, q);
  s[b.len] = 0;
  return s;
}
static void test_formatter(void) {
  CHECK_EQ_STR(fmt_q16(65536), "1.0000");
  CHECK_EQ_STR(fmt_q16(32768), "0.5000");
  CHECK_EQ_STR(fmt_q16(-98304), "-1.5000");
  CHECK_EQ_STR(fmt_q16(-1), "0.0000");
  CHECK_EQ_STR(fmt_q16(3), "0.0000");
  CHECK_EQ_STR(fmt_q16(4), "0.0001");
  CHECK_EQ_STR(fmt_q16(INT32_MIN), "-32768.0000");
  CHECK_EQ_STR(fmt_q16(INT32_MAX), "32768.0000");
  char s[64];
  er_buf b;
  er_buf_init(&b, s, sizeof s);
  er_buf_jstr(&b, "a\"b\\c\n\x01", 7);
  CHECK(b.len == 17 && !memcmp(s, "\"a\\\"b\\\\c\\n\\u0001\"", 17));
  er_buf_init(&b, s, 4);
  er_buf_lit(&b, "12345");
  CHECK(b.overflow && b.len == 0);
  er_buf_init(&b, s, sizeof s);
  er_buf_int(&b, INT64_MIN);
  s[b.len] = 0;
  CHECK_EQ_STR(s, "-9223372036854775808");
}

/* ---- top-K ------------------------------------------------------------------- */
static void test_topk(void) {
  er_scored in[500], heap[500], out[500], ref[500];
  for (int round = 0; round < 50; round++) {
    uint32_t n = 1 + rnd() % 500, k = 1 + rnd() % 60;
    for (uint32_t i = 0; i < n; i++) in[i] = (er_scored){(int32_t)(rnd() % 20) - 10, i}; /* many ties */
    /* reference: stable insertion sort by score desc */
    memcpy(ref, in, n * sizeof *in);
    for (uint32_t i = 1; i < n; i++) {
      er_scored x = ref[i];
      uint32_t j = i;
      while (j > 0 && ref[j - 1].score < x.score) { ref[j] = ref[j - 1]; j--; }
      ref[j] = x;
    }
    uint32_t got = er_topk(in, n, k, heap, out);
    int same = got == (k < n ? k : n);
    for (uint32_t i = 0; i < got && same; i++) same = out[i].pos == ref[i].pos && out[i].score == ref[i].score;
    CHECK(same);
  }
  CHECK_EQ_INT(er_topk(in, 0, 5, heap, out), 0);
}

static void test_base64(void) {
  uint8_t out[16];
  CHECK_EQ_INT(er_base64_decode("aGVsbG8", 7, out, sizeof out), 5);
  CHECK(!memcmp(out, "hello", 5));
  CHECK_EQ_INT(er_base64_decode("aGVsbG8=", 8, out, sizeof out), 5);
  CHECK_EQ_INT(er_base64_decode("-_-_", 4, out, sizeof out), 3);
  CHECK_EQ_INT(er_base64_decode("a", 1, out, sizeof out), -1);
  CHECK_EQ_INT(er_base64_decode("a$bc", 4, out, sizeof out), -1);
  CHECK_EQ_INT(er_base64_decode("aGVsbG8", 7, out, 3), -1);
}

/* ---- a random catalog + models through er_pack_build ------------------------ */
#define N_ITEMS 300
static char skus[N_ITEMS][16];
static const char *cat_names[] = {"A", "A/x", "A/y", "B", "B/z", "C"};
static const char *const *item_cats[N_ITEMS];
static const char *cat_pairs[6][2] = {{"A", "A/x"}, {"A", "A/y"}, {"B", "B/z"}, {"C", "C"}, {"A", "A/x"}, {"B", "B"}};
static er_pack_item items[N_ITEMS];
static er_pack_edge edges[4][N_ITEMS * 4];

static void make_catalog(er_pack_input *in) {
  memset(in, 0, sizeof *in);
  (void)cat_names;
  for (int i = 0; i < N_ITEMS; i++) {
    snprintf(skus[i], sizeof skus[i], "T-%04d", i);
    item_cats[i] = cat_pairs[i % 6];
    items[i] = (er_pack_item){.sku = skus[i], .categories = item_cats[i], .n_categories = i % 6 == 3 ? 1 : 2,
                              .price_cents = 500 + rnd() % 20000, .in_stock = 1, .visible = 1,
                              .view = rnd() % 5000, .cart = rnd() % 400, .purchase = rnd() % 100, .trending = (rnd() % 3000) / 1000.0};
  }
  for (int r = 0; r < 4; r++) {
    for (int e = 0; e < N_ITEMS * 4; e++) {
      uint32_t a = rnd() % N_ITEMS, b = rnd() % N_ITEMS;
      edges[r][e] = (er_pack_edge){a, b == a ? (b + 1) % N_ITEMS : b, (float)((rnd() % 1000) / 1000.0)};
    }
    in->nbr[r] = (er_pack_nbrs){edges[r], N_ITEMS * 4};
  }
  in->items = items;
  in->n_items = N_ITEMS;
  in->no_auto_content = 1;
}

/* Candidate features through the engine's own dump (er_features_for). */
typedef struct { uint32_t n; uint32_t m[256]; uint32_t bucket[256][ER_MAX_SPARSE]; int32_t val[256][ER_MAX_SPARSE]; float dense[256][ER_DENSE_COUNT]; } feats;
static void read_feats(const uint8_t *p, feats *f) {
  f->n = er_rd32(p);
  uint32_t at = 12;
  for (uint32_t c = 0; c < f->n && c < 256; c++) {
    f->m[c] = er_rd32(p + at); at += 4;
    for (uint32_t k = 0; k < f->m[c]; k++) { f->bucket[c][k] = er_rd32(p + at); f->val[c][k] = (int32_t)er_rd32(p + at + 4); at += 8; }
    for (uint32_t k = 0; k < ER_DENSE_COUNT; k++) { uint32_t b = er_rd32(p + at); memcpy(&f->dense[c][k], &b, 4); at += 4; }
  }
}

static char ctx200[16384];
static uint32_t make_ctx200(void) {
  int o = snprintf(ctx200, sizeof ctx200, "{\"recent\":[\"T-0007\",\"T-0100\"],\"device\":\"mobile\",\"hour\":9,\"page\":{\"type\":\"category\",\"category\":\"A/x\"},\"k\":10,\"candidates\":[");
  for (int i = 0; i < 200; i++) o += snprintf(ctx200 + o, sizeof ctx200 - (size_t)o, "%s\"T-%04d\"", i ? "," : "", i + 50);
  o += snprintf(ctx200 + o, sizeof ctx200 - (size_t)o, "]}");
  return (uint32_t)o;
}

/* top-10 overlap of two score arrays */
static int top10_overlap(const double *a, const int32_t *b, uint32_t n) {
  int ia[10], ib[10];
  for (int t = 0; t < 10; t++) {
    int ba = -1, bb = -1;
    for (uint32_t i = 0; i < n; i++) {
      int used_a = 0, used_b = 0;
      for (int s = 0; s < t; s++) { used_a |= ia[s] == (int)i; used_b |= ib[s] == (int)i; }
      if (!used_a && (ba < 0 || a[i] > a[ba])) ba = (int)i;
      if (!used_b && (bb < 0 || b[i] > b[bb])) bb = (int)i;
    }
    ia[t] = ba; ib[t] = bb;
  }
  int common = 0;
  for (int x = 0; x < 10; x++) for (int y = 0; y < 10; y++) common += ia[x] == ib[y];
  return common;
}

static void test_linear_float_parity(void) {
  er_pack_input in;
  make_catalog(&in);
  static float w[1 << 12];
  for (int k = 0; k < (1 << 12); k++) w[k] = (float)(rndf() * 0.8);
  er_pack_quant q;
  in.version = "parity-linear";
  in.model = (er_pack_model){.kind = ER_MODEL_LINEAR, .bits = 12, .weights = w, .bias = -0.25};
  in.quant_out = &q;
  uint8_t *bytes; uint32_t len; er_error err;
  CHECK_EQ_INT(er_pack_build(&in, &bytes, &len, &err), ER_OK);
  er_engine *e = er_engine_new(bytes, len, &err);
  CHECK(e != NULL);
  if (!e) return;
  uint32_t cl = make_ctx200();
  const uint8_t *fo; uint32_t fl;
  CHECK_EQ_INT(er_features_for(e, ctx200, cl, NULL, 0, &fo, &fl), ER_OK);
  static feats f;
  read_feats(fo, &f);
  CHECK_EQ_INT(f.n, 200);
  er_bundle b;
  er_bundle_load(&b, bytes, len, &err);
  double fl_score[200], max_err = 0, bound_worst = 0;
  int32_t q_score[200];
  int within = 1;
  for (uint32_t c = 0; c < f.n; c++) {
    double s = -0.25, vsum = 0;
    uint64_t h[ER_MAX_SPARSE]; int16_t v[ER_MAX_SPARSE];
    for (uint32_t k = 0; k < f.m[c]; k++) { s += w[f.bucket[c][k]] * f.val[c][k] / 256.0; vsum += fabs(f.val[c][k] / 256.0); h[k] = f.bucket[c][k]; v[k] = (int16_t)f.val[c][k]; }
    uint64_t units = 0;
    q_score[c] = er_score_linear(&b, h, v, f.m[c], &units);
    fl_score[c] = s;
    double err_c = fabs(q_score[c] / 65536.0 - s);
    /* documented tolerance: Σ|v| · s/2 (weight rounding) + 2^-16 (fixed-point rounding) */
    double bound = vsum * q.scale / 2 + 2.0 / 65536;
    if (err_c > bound) within = 0;
    if (err_c > max_err) max_err = err_c;
    if (bound > bound_worst) bound_worst = bound;
  }
  CHECK(within);
  int overlap = top10_overlap(fl_score, q_score, f.n);
  printf("linear int8 vs float: max |Δmargin| %.5f (bound %.5f), top-10 agreement %d/10\n", max_err, bound_worst, overlap);
  CHECK(overlap >= 9);
  er_engine_free(e);
  free(bytes);
}

static void test_trees_float_parity(void) {
  er_pack_input in;
  make_catalog(&in);
  enum { NT = 40, NN = 15 }; /* full depth-3 trees */
  static int32_t L[NT][NN], R[NT][NN];
  static uint32_t F[NT][NN];
  static float T[NT][NN], LEAF[NT][NN];
  static uint8_t DL[NT][NN];
  static er_pack_tree trees[NT];
  for (int t = 0; t < NT; t++) {
    for (int n = 0; n < NN; n++) {
      if (n < 7) {
        L[t][n] = 2 * n + 1; R[t][n] = 2 * n + 2;
        F[t][n] = rnd() % ER_DENSE_COUNT;
        /* thresholds in the ranges the dense features take */
        static const float scale[ER_DENSE_COUNT] = {65535, 65535, 65535, 65535, 65535, 65535, 65535, 24, 1, 3000, 300, 200, 1, 24, 1, 1};
        T[t][n] = (float)((rnd() % 1000) / 1000.0 * scale[F[t][n]]);
        DL[t][n] = rnd() & 1;
      } else { L[t][n] = R[t][n] = -1; LEAF[t][n] = (float)(rndf() * 0.3); }
    }
    trees[t] = (er_pack_tree){NN, L[t], R[t], F[t], T[t], DL[t], LEAF[t]};
  }
  er_pack_quant q;
  in.version = "parity-trees";
  in.model = (er_pack_model){.kind = ER_MODEL_TREES, .trees = trees, .n_trees = NT, .base_margin = 0.1};
  in.quant_out = &q;
  uint8_t *bytes; uint32_t len; er_error err;
  CHECK_EQ_INT(er_pack_build(&in, &bytes, &len, &err), ER_OK);
  er_engine *e = er_engine_new(bytes, len, &err);
  CHECK(e != NULL);
  if (!e) return;
  er_bundle b;
  er_bundle_load(&b, bytes, len, &err);
  uint32_t cl = make_ctx200();
  const uint8_t *fo; uint32_t fl;
  CHECK_EQ_INT(er_features_for(e, ctx200, cl, NULL, 0, &fo, &fl), ER_OK);
  static feats f;
  read_feats(fo, &f);
  double fl_score[200], max_err = 0;
  int32_t q_score[200];
  int exact_paths = 1;
  for (uint32_t c = 0; c < f.n; c++) {
    double s = 0.1, sq = 0;
    for (int t = 0; t < NT; t++) {
      int n = 0;
      while (L[t][n] >= 0) {
        float x = f.dense[c][F[t][n]];
        n = (x != x) ? (DL[t][n] ? L[t][n] : R[t][n]) : (x < T[t][n] ? L[t][n] : R[t][n]);
      }
      s += LEAF[t][n];
      /* the quantized leaf this path must reach */
      double ql = round(LEAF[t][n] / q.scale);
      sq += ql * q.scale;
    }
    uint64_t units = 0;
    q_score[c] = er_score_trees(&b, f.dense[c], &units);
    fl_score[c] = s;
    /* same paths ⇒ the engine's margin equals base + Σ quantized leaves up to fixed-point rounding */
    if (fabs(q_score[c] / 65536.0 - (0.1 + sq)) > 2.0 / 65536) exact_paths = 0;
    double d = fabs(q_score[c] / 65536.0 - s);
    if (d > max_err) max_err = d;
    CHECK_EQ_INT(units, NT * 4); /* depth 3: 3 splits + 1 leaf per tree */
  }
  CHECK(exact_paths);
  CHECK(max_err <= NT * q.scale / 2 + 2.0 / 65536);
  /* the engine's batch scorer (decoded trees, lockstep lanes) decides exactly as the bundle walker,
   * also on missing values and on values equal to a threshold */
  er_dtrees dt;
  CHECK_EQ_INT(er_dtrees_init(&dt, &b), ER_OK);
  static float xs[200 + 64][ER_DENSE_COUNT];
  memcpy(xs, f.dense, sizeof(float) * ER_DENSE_COUNT * f.n);
  for (int r = 0; r < 64; r++)
    for (int k = 0; k < ER_DENSE_COUNT; k++) {
      int t = rnd() % NT, nd = rnd() % 7;
      xs[f.n + r][k] = (rnd() % 3 == 0) ? __builtin_nanf("") : (F[t][nd] == (uint32_t)k ? T[t][nd] : f.dense[rnd() % f.n][k]);
    }
  int32_t batch[200 + 64];
  uint64_t bu = 0;
  er_score_trees_batch(&b, &dt, &xs[0][0], f.n + 64, batch, &bu);
  int same = 1;
  for (uint32_t c = 0; c < f.n + 64; c++) { uint64_t u = 0; same &= batch[c] == er_score_trees(&b, xs[c], &u); }
  CHECK(same);
  CHECK_EQ_INT(bu, (uint64_t)(f.n + 64) * NT * 4);
  er_dtrees_free(&dt);
  int overlap = top10_overlap(fl_score, q_score, f.n);
  printf("trees int8 vs float: max |Δmargin| %.5f (bound %.5f), top-10 agreement %d/10\n", max_err, NT * q.scale / 2, overlap);
  CHECK(overlap >= 9);
  er_engine_free(e);
  free(bytes);
}

/* ---- recommend / rerank on the sample bundle -------------------------------- */
static uint8_t *sample;
static uint32_t sample_len;

static int count_items(const char *out, uint32_t n) {
  int c = 0;
  for (uint32_t i = 0; i + 6 < n; i++) c += !memcmp(out + i, "{\"sku\":", 7);
  return c;
}
static int has_sku(const char *out, uint32_t n, const char *sku) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"sku\":\"%s\"", sku);
  size_t pl = strlen(pat);
  for (uint32_t i = 0; i + pl <= n; i++) if (!memcmp(out + i, pat, pl)) return 1;
  return 0;
}
static int sku_pos(const char *out, uint32_t n, const char *sku) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"sku\":\"%s\"", sku);
  size_t pl = strlen(pat);
  int pos = 0;
  for (uint32_t i = 0; i + pl <= n; i++) {
    if (!memcmp(out + i, "{\"sku\":", 7)) pos++;
    if (!memcmp(out + i, pat, pl)) return pos - 1;
  }
  return -1;
}

static void test_recommend(void) {
  er_error err;
  er_engine *e = er_engine_new(sample, sample_len, &err);
  CHECK(e != NULL);
  if (!e) return;
  const char *out; uint32_t n;
  CHECK_EQ_INT(er_recommend(e, "{}", 2, NULL, 0, &out, &n), ER_OK);
  CHECK_EQ_INT(count_items(out, n), 10);
  CHECK(er_engine_units(e) > 0);
  uint64_t u1 = er_engine_units(e);
  CHECK_EQ_INT(er_recommend(e, "{}", 2, NULL, 0, &out, &n), ER_OK);
  CHECK(er_engine_units(e) == u1); /* deterministic work */
  /* out of stock items (ER-BAG-05 in the sample) never appear, in any unit */
  const char *units[] = {"recommended-for-you", "most-viewed", "most-purchased", "most-added-to-cart", "trending",
                         "viewed-this-viewed-that", "viewed-this-bought-that", "bought-this-bought-that", "more-like-this", "recently-viewed"};
  for (unsigned u = 0; u < 10; u++) {
    char ctx[256];
    int cl = snprintf(ctx, sizeof ctx, "{\"unit\":\"%s\",\"k\":200,\"recent\":[\"ER-BAG-05\",\"ER-BAG-01\",\"ER-MJ-01\"],\"page\":{\"type\":\"product\",\"sku\":\"ER-BAG-02\"}}", units[u]);
    CHECK_EQ_INT(er_recommend(e, ctx, (uint32_t)cl, NULL, 0, &out, &n), ER_OK);
    CHECK(!has_sku(out, n, "ER-BAG-05") || u == 9 /* recently-viewed shows what was seen */ ? 1 : 0);
    CHECK(!has_sku(out, n, "ER-BAG-02")); /* the page's own product */
  }
  /* bury: ER-BAG-08 loses 0.5 of margin; explicit candidates expose it */
  const char *c2 = "{\"candidates\":[\"ER-BAG-08\",\"ER-BAG-02\"],\"k\":2}";
  CHECK_EQ_INT(er_recommend(e, c2, (uint32_t)strlen(c2), NULL, 0, &out, &n), ER_OK);
  CHECK_EQ_INT(sku_pos(out, n, "ER-BAG-08"), 1);
  /* the pin rule: ER-FIT-01 first in recommended-for-you, whatever its score */
  CHECK_EQ_INT(er_recommend(e, "{\"k\":5}", 7, NULL, 0, &out, &n), ER_OK);
  CHECK_EQ_INT(sku_pos(out, n, "ER-FIT-01"), 0);
  /* exclude */
  const char *c3 = "{\"k\":50,\"exclude\":[\"ER-FIT-01\"]}";
  CHECK_EQ_INT(er_recommend(e, c3, (uint32_t)strlen(c3), NULL, 0, &out, &n), ER_OK);
  CHECK(!has_sku(out, n, "ER-FIT-01"));
  /* the work budget: a tiny budget gives the fallback order with a reason */
  er_engine_set_budget(e, 50);
  CHECK_EQ_INT(er_recommend(e, "{\"k\":5}", 7, NULL, 0, &out, &n), ER_OK);
  CHECK(strstr(out, "\"fallback\":\"work-budget\"") != NULL);
  CHECK_EQ_STR(er_engine_reason(e), "budget");
  er_engine_set_budget(e, 0);
  CHECK_EQ_INT(er_recommend(e, "{\"k\":5}", 7, NULL, 0, &out, &n), ER_OK);
  CHECK(strstr(out, "fallback") == NULL);
  /* errors name the field */
  CHECK_EQ_INT(er_recommend(e, "{\"hour\":24}", 11, NULL, 0, &out, &n), ER_E_RANGE);
  CHECK(strstr(er_engine_error(e)->msg, "'hour'") != NULL);
  CHECK_EQ_INT(er_recommend(e, "[]", 2, NULL, 0, &out, &n), ER_E_TYPE);
  er_engine_free(e);
}

static void test_rerank(void) {
  er_error err;
  er_engine *e = er_engine_new(sample, sample_len, &err);
  CHECK(e != NULL);
  if (!e) return;
  uint32_t rl;
  char *resp = (char *)harness_read_file("tests/data/parity/responses/venia-category-48.json", &rl);
  CHECK(resp != NULL);
  if (!resp) { er_engine_free(e); return; }
  const char *ctx = "{\"recent\":[\"ER-MJ-01\",\"ER-MH-01\"],\"device\":\"mobile\"}";
  const char *out; uint32_t n;
  CHECK_EQ_INT(er_rerank(e, resp, rl, ctx, (uint32_t)strlen(ctx), NULL, 0, &out, &n), ER_OK);
  CHECK_EQ_INT(n, rl);
  /* a permutation of the bytes: equal histograms, and a different order */
  uint32_t ha[256] = {0}, hb[256] = {0};
  for (uint32_t i = 0; i < rl; i++) { ha[(uint8_t)resp[i]]++; hb[(uint8_t)out[i]]++; }
  CHECK(!memcmp(ha, hb, sizeof ha));
  CHECK(memcmp(resp, out, rl) != 0);
  /* every item of the input appears whole in the output */
  jsmntok_t *tok = malloc(sizeof(jsmntok_t) * 20000);
  er_json j;
  CHECK_EQ_INT(er_json_parse(&j, resp, rl, tok, 20000, "r", &err), ER_OK);
  int32_t items = er_json_get(&j, (uint32_t)er_json_get(&j, (uint32_t)er_json_get(&j, 0, "data"), "products"), "items");
  CHECK(items > 0);
  uint32_t i = (uint32_t)items + 1, whole = 1;
  for (int k = 0; k < j.tok[items].size; k++) {
    uint32_t w = (uint32_t)(j.tok[i].end - j.tok[i].start);
    int found = 0;
    for (uint32_t p = 0; p + w <= n && !found; p++) found = !memcmp(out + p, resp + j.tok[i].start, w);
    whole &= (uint32_t)found;
    i = er_json_skip(&j, i);
  }
  CHECK(whole);
  /* bytes before the first item are untouched */
  uint32_t first = (uint32_t)j.tok[items + 1].start;
  CHECK(!memcmp(resp, out, first));
  /* deterministic and budget-guarded */
  char *copy = malloc(n);
  memcpy(copy, out, n);
  CHECK_EQ_INT(er_rerank(e, resp, rl, ctx, (uint32_t)strlen(ctx), NULL, 0, &out, &n), ER_OK);
  CHECK(!memcmp(copy, out, n));
  er_engine_set_budget(e, 100);
  CHECK_EQ_INT(er_rerank(e, resp, rl, ctx, (uint32_t)strlen(ctx), NULL, 0, &out, &n), ER_E_BUDGET);
  CHECK_EQ_STR(er_engine_reason(e), "budget");
  er_engine_set_budget(e, 0);
  /* reasons */
  const char *errs = "{\"errors\":[{\"message\":\"x\"}],\"data\":{\"products\":{\"items\":[{\"sku\":\"ER-BAG-01\"},{\"sku\":\"ER-BAG-02\"}]}}}";
  CHECK_EQ_INT(er_rerank(e, errs, (uint32_t)strlen(errs), "{}", 2, NULL, 0, &out, &n), ER_E_SHAPE);
  CHECK_EQ_STR(er_engine_reason(e), "errors");
  const char *unknown = "{\"data\":{\"products\":{\"items\":[{\"sku\":\"NOPE-1\"},{\"sku\":\"NOPE-2\"}]}}}";
  CHECK_EQ_INT(er_rerank(e, unknown, (uint32_t)strlen(unknown), "{}", 2, NULL, 0, &out, &n), ER_E_SHAPE);
  CHECK_EQ_STR(er_engine_reason(e), "no-known-items");
  const char *bad = "{\"data\":{\"products\":{\"items\":[1,2]}}}";
  CHECK_EQ_INT(er_rerank(e, bad, (uint32_t)strlen(bad), "{}", 2, NULL, 0, &out, &n), ER_E_SHAPE);
  CHECK_EQ_STR(er_engine_reason(e), "shape");
  /* ties keep their order: unknown items sit at the mean, two known items with equal scores keep order */
  const char *two = "{\"data\":{\"products\":{\"items\":[{\"sku\":\"NOPE-1\"} , {\"sku\":\"NOPE-2\"},\n{\"sku\":\"ER-BAG-01\"}]}}}";
  CHECK_EQ_INT(er_rerank(e, two, (uint32_t)strlen(two), "{}", 2, NULL, 0, &out, &n), ER_OK);
  CHECK(n == strlen(two) && strstr(out, "[{\"sku\":\"NOPE-1\"} , {\"sku\":\"NOPE-2\"},\n{\"sku\":\"ER-BAG-01\"}]") != NULL);
  free(copy);
  free(tok);
  free(resp);
  er_engine_free(e);
}

int main(void) {
  if (!(sample = harness_read_file("build/sample.erb", &sample_len))) return 2;
  RUN(test_hash_known_answers);
  RUN(test_json_validator);
  RUN(test_formatter);
  RUN(test_topk);
  RUN(test_base64);
  RUN(test_linear_float_parity);
  RUN(test_trees_float_parity);
  RUN(test_recommend);
  RUN(test_rerank);
  free(sample);
  return DONE();
}
