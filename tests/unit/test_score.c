/* test_score.c — the engine's batch tree scorer (binned, 16 candidates a
 * vector; lockstep fallback) against the straightforward bundle walk
 * (er_score_trees), bit for bit, on random unbalanced trees and random
 * vectors full of NaNs, values exactly on thresholds, their float32
 * neighbours, ±0 and ±inf. */
#include "harness.h"

#include <math.h>

#include "er_engine.h"
#include "er_pack.h"
#include "er_score.h"

static uint64_t rng = 0x5c0aeb17c0ffee01ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 11); }

enum { MAXT = 600, MAXN = 2048, NPOOL = 300 }; /* MAXN: a full tree of depth 10 */
static int32_t L[MAXT][MAXN], R[MAXT][MAXN];
static uint32_t F[MAXT][MAXN];
static float T[MAXT][MAXN], LEAF[MAXT][MAXN];
static uint8_t DL[MAXT][MAXN];
static er_pack_tree trees[MAXT];
static float pool[ER_DENSE_COUNT][NPOOL]; /* thresholds each feature draws from */
static uint32_t pool_n[ER_DENSE_COUNT];

typedef struct {
  uint32_t n_trees, max_depth, wide_feature; /* wide_feature: draws from all NPOOL values (else ≤ 12) */
  int leaves_max;                            /* every leaf +1.0: int8 127, sums past int16 */
} model_spec;

/* Grow tree t's node `n` at `depth` (nodes numbered as they are made). */
static uint32_t grow(uint32_t t, uint32_t *nn, uint32_t depth, const model_spec *ms) {
  uint32_t n = (*nn)++;
  int leaf = depth >= ms->max_depth || (depth > 0 && rnd() % 5 == 0);
  if (leaf) {
    L[t][n] = R[t][n] = -1;
    LEAF[t][n] = ms->leaves_max ? 1.0f : (float)((int)(rnd() % 2001) - 1000) / 1000.0f;
    return n;
  }
  uint32_t f = rnd() % ER_DENSE_COUNT;
  F[t][n] = f;
  T[t][n] = pool[f][rnd() % pool_n[f]];
  DL[t][n] = rnd() & 1;
  L[t][n] = (int32_t)grow(t, nn, depth + 1, ms);
  R[t][n] = (int32_t)grow(t, nn, depth + 1, ms);
  return n;
}

static float next_up(float v) { /* the float32 neighbour above (finite v) */
  uint32_t u;
  memcpy(&u, &v, 4);
  if (v == 0) u = 1;
  else u = v > 0 ? u + 1 : u - 1;
  memcpy(&v, &u, 4);
  return v;
}

/* A value for feature f: NaN, a threshold, its neighbours, ±0, ±inf, or random. */
static float value_for(uint32_t f) {
  float t = pool[f][rnd() % pool_n[f]];
  switch (rnd() % 9) {
  case 0: return __builtin_nanf("");
  case 1: case 2: return t;
  case 3: return next_up(t);
  case 4: return -next_up(-t);
  case 5: return (rnd() & 1) ? 0.0f : -0.0f;
  case 6: return (rnd() & 1) ? __builtin_inff() : -__builtin_inff();
  default: return (float)((int)(rnd() % 200001) - 100000) / 7.0f;
  }
}

/* A bundle of `model` over `items` (one plain item when NULL); NULL (and a
 * failed check) when the packer refuses it.  *len: its size; free() it. */
static uint8_t *pack(er_pack_model model, const er_pack_item *items, uint32_t n_items, uint32_t *len) {
  static const er_pack_item one = {.sku = "S-1", .price_cents = 100, .in_stock = 1, .visible = 1};
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.items = items ? items : &one;
  in.n_items = items ? n_items : 1;
  in.no_auto_content = 1;
  in.version = "score-test";
  in.model = model;
  uint8_t *bytes = NULL;
  er_error err;
  memset(&err, 0, sizeof err);
  er_status st = er_pack_build(&in, &bytes, len, &err);
  CHECK_EQ_INT(st, ER_OK);
  if (st) { printf("pack: %s\n", err.msg); return NULL; }
  return bytes;
}

/* Build a random model, score random vectors both ways; returns whether the binned path applied. */
static int check_model(const model_spec *ms, uint32_t n_vec) {
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++) {
    pool_n[f] = f == ms->wide_feature ? NPOOL : 1 + rnd() % 12;
    for (uint32_t k = 0; k < pool_n[f]; k++) pool[f][k] = (float)((int)(rnd() % 200001) - 100000) / 7.0f;
    pool[f][0] = 0.0f; /* 0 is a threshold: -0 must go the same way */
    if (f == 3) pool[f][pool_n[f] - 1] = __builtin_inff(); /* so is +inf */
  }
  for (uint32_t t = 0; t < ms->n_trees; t++) {
    uint32_t nn = 0;
    grow(t, &nn, 0, ms);
    trees[t] = (er_pack_tree){nn, L[t], R[t], F[t], T[t], DL[t], LEAF[t]};
  }
  uint32_t len = 0;
  uint8_t *bytes = pack((er_pack_model){.kind = ER_MODEL_TREES, .trees = trees, .n_trees = ms->n_trees, .base_margin = 0.25}, NULL, 0, &len);
  if (!bytes) return -1;
  er_error err;
  er_bundle b;
  CHECK_EQ_INT(er_bundle_load(&b, bytes, len, &err), ER_OK);
  er_dtrees dt;
  CHECK_EQ_INT(er_dtrees_init(&dt, &b), ER_OK);
  float *x = malloc(sizeof(float) * ER_DENSE_COUNT * n_vec);
  int32_t *fast = malloc(sizeof(int32_t) * n_vec);
  for (uint32_t c = 0; c < n_vec * ER_DENSE_COUNT; c++) x[c] = value_for(c % ER_DENSE_COUNT);
  /* batches of every size around the 16-lane vectors and 64-candidate chunks */
  static const uint32_t sizes[] = {1, 15, 16, 17, 63, 64, 65, 200};
  int same = 1, units_ok = 1;
  uint32_t at = 0;
  for (uint32_t s = 0; at < n_vec; s++) {
    uint32_t m = sizes[s % 8] < n_vec - at ? sizes[s % 8] : n_vec - at;
    uint64_t bu = 0;
    er_score_trees_batch(&b, &dt, x + (size_t)at * ER_DENSE_COUNT, m, fast + at, &bu);
    for (uint32_t c = at; c < at + m; c++) {
      uint64_t u = 0;
      int32_t want = er_score_trees(&b, x + (size_t)c * ER_DENSE_COUNT, &u);
      if (want != fast[c] && same) printf("vector %u: batch %d, walk %d (binned %d)\n", c, fast[c], want, dt.binned);
      same &= want == fast[c];
    }
    units_ok &= bu == (uint64_t)m * dt.steps;
    at += m;
  }
  CHECK(same);
  CHECK(units_ok);
  int binned = dt.binned;
  free(x);
  free(fast);
  er_dtrees_free(&dt);
  free(bytes);
  return binned;
}

static void test_binned_equals_walk(void) {
  for (int r = 0; r < 12; r++) {
    model_spec ms = {.n_trees = 1 + rnd() % 160, .max_depth = 1 + rnd() % 8, .wide_feature = ER_DENSE_COUNT};
    CHECK_EQ_INT(check_model(&ms, 700), 1);
  }
}

static void test_deep_trees_fall_back(void) {
  model_spec ms = {.n_trees = 40, .max_depth = 10, .wide_feature = ER_DENSE_COUNT};
  int binned = check_model(&ms, 300);
  CHECK(binned == 0 || binned == 1); /* deeper than 8 somewhere: usually the fallback; equal either way */
}

static void test_many_thresholds_fall_back(void) {
  model_spec ms = {.n_trees = 300, .max_depth = 8, .wide_feature = 5};
  CHECK_EQ_INT(check_model(&ms, 300), 0); /* > 255 thresholds on feature 5: lockstep */
}

static void test_int16_flush(void) {
  /* 600 trees of leaf 127 each: per-candidate sums far past int16 */
  model_spec ms = {.n_trees = 600, .max_depth = 3, .wide_feature = ER_DENSE_COUNT, .leaves_max = 1};
  CHECK_EQ_INT(check_model(&ms, 100), 1);
}

/* er_engine_score scores a tree model's candidates in one batch, the blocks
 * that pass the budget worked out up front: the same margins, units, count
 * and status as checking the budget before each block of ER_SCORE_BLOCK. */
static void test_budget_blocks(void) {
  enum { NI = 300 };
  static char skus[NI][12];
  static er_pack_item items[NI];
  for (int i = 0; i < NI; i++) {
    snprintf(skus[i], sizeof skus[i], "S-%d", i);
    items[i] = (er_pack_item){.sku = skus[i], .price_cents = 100 + rnd() % 9000, .in_stock = 1, .visible = 1,
                              .view = rnd() % 5000, .cart = rnd() % 300, .purchase = rnd() % 80};
  }
  model_spec ms = {.n_trees = 50, .max_depth = 6, .wide_feature = ER_DENSE_COUNT};
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++) {
    pool_n[f] = 1 + rnd() % 12;
    for (uint32_t k = 0; k < pool_n[f]; k++) pool[f][k] = (float)(rnd() % 6000);
  }
  for (uint32_t t = 0; t < ms.n_trees; t++) {
    uint32_t nn = 0;
    grow(t, &nn, 0, &ms);
    trees[t] = (er_pack_tree){nn, L[t], R[t], F[t], T[t], DL[t], LEAF[t]};
  }
  uint32_t len = 0;
  uint8_t *bytes = pack((er_pack_model){.kind = ER_MODEL_TREES, .trees = trees, .n_trees = ms.n_trees}, items, NI, &len);
  if (!bytes) return;
  er_error err;
  er_engine *e = er_engine_new(bytes, len, &err);
  CHECK(e != NULL);
  if (!e) { free(bytes); return; }
  static char ctx[8192];
  int at = snprintf(ctx, sizeof ctx, "{\"k\":200,\"candidates\":[");
  for (int i = 0; i < 200; i++) at += snprintf(ctx + at, sizeof ctx - (size_t)at, "%s\"S-%d\"", i ? "," : "", i * 3 / 2);
  snprintf(ctx + at, sizeof ctx - (size_t)at, "]}");
  const er_shopper *s;
  const er_candidate *c;
  uint32_t n = 0;
  CHECK_EQ_INT(er_engine_candidates(e, ctx, (uint32_t)strlen(ctx), NULL, 0, &s, &c, &n), ER_OK);
  CHECK_EQ_INT(n, 200);
  uint64_t per = er_score_units_per_candidate(&e->b, &e->trees);
  CHECK_EQ_INT(per, ER_DENSE_COUNT + e->trees.steps);
  static int32_t got[200], want[200];
  int same = 1;
  for (uint32_t trial = 0; trial < 40; trial++) {
    uint64_t u0 = rnd() % 5000;
    uint64_t edge = u0 + (uint64_t)ER_SCORE_BLOCK * (rnd() % 8) * per; /* a block start's units exactly */
    uint32_t budget = (uint32_t)(trial % 3 == 0 ? edge : trial % 3 == 1 ? edge - 1 : u0 + rnd() % (200 * per + 2000));
    /* the reference: the budget checked before each block */
    uint64_t ru = u0;
    uint32_t rdone = n;
    er_status rst = ER_OK;
    for (uint32_t k = 0; k < n; k += ER_SCORE_BLOCK) {
      if (ru > budget) { rdone = k; rst = ER_E_BUDGET; break; }
      uint32_t m = n - k < ER_SCORE_BLOCK ? n - k : ER_SCORE_BLOCK;
      er_score_many(s, &e->trees, c + k, m, want + k, &ru);
    }
    e->units = u0;
    e->budget = budget;
    uint32_t done = 0;
    er_status st = er_engine_score(e, s, c, n, got, &done);
    same &= st == rst && done == rdone && e->units == ru && !memcmp(got, want, sizeof(int32_t) * done);
  }
  CHECK(same);
  er_engine_free(e);
  free(bytes);
}

/* The linear scorer on er_features' wire pairs equals er_score_linear on
 * the same features: any count (the 4-wide body and the tail), buckets past
 * the table (masked), values whose high 16 bits are set (ignored). */
static void test_linear_wire(void) {
  enum { BITS = 12 };
  static float w[1 << BITS];
  for (int i = 0; i < (1 << BITS); i++) w[i] = (float)((int)(rnd() % 2001) - 1000) / 700.0f;
  uint32_t len = 0;
  uint8_t *bytes = pack((er_pack_model){.kind = ER_MODEL_LINEAR, .bits = BITS, .weights = w, .bias = -0.5}, NULL, 0, &len);
  if (!bytes) return;
  er_error err;
  er_bundle b;
  CHECK_EQ_INT(er_bundle_load(&b, bytes, len, &err), ER_OK);
  int same = 1, units_ok = 1;
  for (int r = 0; r < 2000; r++) {
    uint32_t n = rnd() % (ER_MAX_SPARSE + 1);
    uint8_t wire[8 * ER_MAX_SPARSE];
    uint64_t h[ER_MAX_SPARSE];
    int16_t v[ER_MAX_SPARSE];
    for (uint32_t k = 0; k < n; k++) {
      uint32_t bucket = rnd() % 3 ? rnd() % (1u << BITS) : rnd(), val = rnd() % 2 ? 256 : rnd() * 2654435761u;
      er_wr32(wire + 8 * k, bucket);
      er_wr32(wire + 8 * k + 4, val);
      h[k] = bucket;
      v[k] = (int16_t)val;
    }
    uint64_t u1 = 0, u2 = 0;
    same &= er_score_linear_wire(&b, wire, n, &u1) == er_score_linear(&b, h, v, n, &u2);
    units_ok &= u1 == n && u2 == n;
  }
  CHECK(same);
  CHECK(units_ok);
  free(bytes);
}

/* The linear score of a candidate (er_score_candidate: er_features_linear_dot,
 * the per-category sums from the shopper's memo) equals er_score_linear over
 * er_features_sparse's hashes, with the same work units, for shoppers with and
 * without device, hour, country, page, profile categories; and
 * er_score_linear_records equals er_score_linear_wire record by record,
 * stopping at the first record that does not fit. */
static void test_linear_dot(void) {
  enum { NI = 240, BITS = 12 };
  static char skus[NI][12];
  static er_pack_item items[NI];
  static const char *cats[5][2] = {{"A", "A/x"}, {"A", "A/y"}, {"B", "B/z"}, {"C", "C/w"}, {"D", "A/x"}};
  static float w[1 << BITS];
  for (int i = 0; i < (1 << BITS); i++) w[i] = (float)((int)(rnd() % 2001) - 1000) / 700.0f;
  for (int i = 0; i < NI; i++) {
    snprintf(skus[i], sizeof skus[i], "L-%d", i);
    items[i] = (er_pack_item){.sku = skus[i], .categories = cats[i % 5], .n_categories = i % 7 ? 2 : (i % 2),
                              .price_cents = i % 11 ? 100 + rnd() % 9000 : 0, .in_stock = 1, .visible = 1,
                              .view = rnd() % 5000, .cart = rnd() % 300, .purchase = rnd() % 80};
  }
  uint32_t len = 0;
  uint8_t *bytes = pack((er_pack_model){.kind = ER_MODEL_LINEAR, .bits = BITS, .weights = w, .bias = 0.25}, items, NI, &len);
  if (!bytes) return;
  er_error err;
  er_engine *e = er_engine_new(bytes, len, &err);
  CHECK(e != NULL);
  if (!e) { free(bytes); return; }
  static const char *shoppers[] = {
      "", "\"device\":\"mobile\",\"hour\":7,\"country\":\"US\",\"page\":{\"type\":\"category\",\"category\":\"A/x\"},",
      "\"device\":\"desktop\",", "\"hour\":23,\"country\":\"DE\",", "\"page\":{\"type\":\"product\",\"sku\":\"L-3\"},\"now\":1763900000,"};
  static char ctx[8192];
  static uint8_t prof[4096];
  int same = 1, units_same = 1;
  uint32_t checked = 0;
  for (uint32_t sh = 0; sh < 5; sh++)
    for (int with_profile = 0; with_profile < 2; with_profile++) {
      uint32_t plen = 0;
      if (with_profile) /* views and a purchase: categories with affinities (AFFX), recency, revisits */
        for (int k = 0; k < 6; k++) {
          char ev[160];
          snprintf(ev, sizeof ev, "{\"type\":\"%s\",\"item\":\"L-%u\",\"ts\":%u,\"price\":12.5,\"qty\":1}", k == 5 ? "purchase" : "view",
                   (unsigned)(rnd() % NI), 1763800000u + (unsigned)k * 60u);
          const uint8_t *out;
          uint32_t on;
          if (er_profile_update(e, prof, plen, ev, (uint32_t)strlen(ev), &out, &on) == ER_OK && on <= sizeof prof) {
            memcpy(prof, out, on);
            plen = on;
          }
        }
      int at = snprintf(ctx, sizeof ctx, "{%s\"k\":50,\"candidates\":[", shoppers[sh]);
      for (int i = 0; i < 150; i++) at += snprintf(ctx + at, sizeof ctx - (size_t)at, "%s\"L-%u\"", i ? "," : "", (unsigned)(rnd() % NI));
      snprintf(ctx + at, sizeof ctx - (size_t)at, ",\"UNKNOWN\"]}");
      const er_shopper *s;
      const er_candidate *c;
      uint32_t n = 0;
      CHECK_EQ_INT(er_engine_candidates(e, ctx, (uint32_t)strlen(ctx), plen ? prof : NULL, plen, &s, &c, &n), ER_OK);
      for (uint32_t k = 0; k < n; k++) {
        uint64_t h[ER_MAX_SPARSE], u1 = 0, u2 = 0;
        int16_t v[ER_MAX_SPARSE];
        uint32_t m = er_features_sparse(s, &c[k], h, v);
        int32_t want = er_score_linear(&e->b, h, v, m, &u1);
        int32_t got = er_score_candidate(s, &c[k], &u2);
        same &= got == want;
        units_same &= u2 == u1 + 4;
        checked++;
      }
    }
  CHECK(same);
  CHECK(units_same);
  CHECK(checked > 1000);
  /* records: m pairs then ER_DENSE_COUNT floats each; the last one truncated */
  static uint8_t rec[64 * (4 + 8 * ER_MAX_SPARSE + 4 * ER_DENSE_COUNT)];
  uint32_t at = 0, n_rec = 0, ms[64];
  static int32_t out[64];
  for (; n_rec < 60; n_rec++) {
    uint32_t m = rnd() % (ER_MAX_SPARSE + 1);
    ms[n_rec] = m;
    er_wr32(rec + at, m);
    for (uint32_t k = 0; k < m; k++) {
      er_wr32(rec + at + 4 + 8 * k, rnd());
      er_wr32(rec + at + 8 + 8 * k, rnd() % 2 ? 256 : rnd());
    }
    at += 4 + 8 * m + 4 * ER_DENSE_COUNT;
  }
  uint32_t full = at, cut = full - 3, pos = 0;
  uint64_t units = 0;
  CHECK_EQ_INT(er_score_linear_records(&e->b, rec, full, &pos, n_rec, out, &units), n_rec);
  CHECK_EQ_INT(pos, full);
  uint64_t pairs = 0;
  int rec_same = 1;
  for (uint32_t r = 0, o = 0; r < n_rec; r++) {
    uint64_t u = 0;
    rec_same &= out[r] == er_score_linear_wire(&e->b, rec + o + 4, ms[r], &u);
    pairs += ms[r];
    o += 4 + 8 * ms[r] + 4 * ER_DENSE_COUNT;
  }
  CHECK(rec_same);
  CHECK_EQ_INT(units, pairs);
  pos = 0;
  CHECK_EQ_INT(er_score_linear_records(&e->b, rec, cut, &pos, n_rec, out, &units), n_rec - 1); /* the last one is cut */
  CHECK_EQ_INT(pos, full - (4 + 8 * ms[n_rec - 1] + 4 * ER_DENSE_COUNT));
  er_wr32(rec, ER_MAX_SPARSE + 1); /* a bad count stops at once */
  pos = 0;
  CHECK_EQ_INT(er_score_linear_records(&e->b, rec, full, &pos, n_rec, out, &units), 0);
  CHECK_EQ_INT(pos, 0);
  er_engine_free(e);
  free(bytes);
}

int main(void) {
  RUN(test_binned_equals_walk);
  RUN(test_deep_trees_fall_back);
  RUN(test_many_thresholds_fall_back);
  RUN(test_int16_flush);
  RUN(test_budget_blocks);
  RUN(test_linear_wire);
  RUN(test_linear_dot);
  return DONE();
}
