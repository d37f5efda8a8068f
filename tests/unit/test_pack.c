/* test_pack.c — the bundle writer, the packer, the JSON and XGBoost import,
 * and the loader's robustness against every truncation and byte flip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_bundle.h"
#include "er_features.h"
#include "er_json.h"
#include "er_pack.h"
#include "harness.h"

/* ---- helpers ------------------------------------------------------------- */

static char *read_file(const char *name, uint32_t *len) {
  static const char *const dirs[] = {"tests/data/", "../tests/data/", "../../tests/data/", "data/", "../data/"};
  char path[256];
  for (unsigned k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
    snprintf(path, sizeof path, "%s%s", dirs[k], name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) == (size_t)n) {
      b[n] = 0;
      fclose(f);
      *len = (uint32_t)n;
      return b;
    }
    free(b);
    fclose(f);
  }
  fprintf(stderr, "test_pack: cannot find %s (run from the repository root)\n", name);
  exit(2);
}

typedef struct {
  char *catalog, *linear, *trees, *xgb;
  uint32_t catalog_len, linear_len, trees_len, xgb_len;
} sources;
static sources S;

static uint64_t key_of(const char *s) { return er_key(s, strlen(s)); }

/* The weight the engine reads for a source weight w: the nearest of the
 * 256 coded weights (the lower on a tie), by a plain scan. */
static uint32_t qw(double w) {
  uint32_t v = (uint32_t)lround(w * 65535.0), best = 0;
  for (uint32_t q = 1; q < 256; q++) {
    uint32_t d = er_nbr_weights[q] > v ? er_nbr_weights[q] - v : v - er_nbr_weights[q];
    uint32_t d0 = er_nbr_weights[best] > v ? er_nbr_weights[best] - v : v - er_nbr_weights[best];
    if (d < d0) best = q;
  }
  return er_nbr_weights[best];
}
#define NI(b, e, k) er_nbr_item((b), (e), (k))
#define NW(b, e, k) er_nbr_weight((b), (e), (k))

/* Pack from JSON strings (NUL-terminated); returns status, *out malloc'd. */
static er_status pack_json(const char *model, const char *catalog, const char *xgb, uint8_t **out, uint32_t *len, er_error *err) {
  er_error_clear(err);
  return er_pack_from_json(model, (uint32_t)strlen(model), catalog, (uint32_t)strlen(catalog), xgb,
                           xgb ? (uint32_t)strlen(xgb) : 0, "test", out, len, err);
}

/* A copy of s with the first occurrence of `from` replaced by `to`. */
static char *replace(const char *s, const char *from, const char *to) {
  const char *p = strstr(s, from);
  if (!p) { fprintf(stderr, "test_pack: '%s' not found in the source\n", from); exit(2); }
  size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), n = strlen(s);
  char *r = malloc(n - fl + tl + 1);
  memcpy(r, s, a);
  memcpy(r + a, to, tl);
  memcpy(r + a + tl, p + fl, n - a - fl + 1);
  return r;
}

/* Byte offset of the first occurrence of `needle` in s. */
static uint32_t offset_of(const char *s, const char *needle) {
  const char *p = strstr(s, needle);
  return p ? (uint32_t)(p - s) : ER_NO_OFFSET;
}

static int contains(const uint8_t *p, uint32_t n, const char *needle) {
  size_t k = strlen(needle);
  for (uint32_t i = 0; i + k <= n; i++)
    if (!memcmp(p + i, needle, k)) return 1;
  return 0;
}

static uint32_t item_of(const er_bundle *b, const char *sku) { return er_bundle_find_sku(b, key_of(sku)); }

static float f32_at(const uint8_t *p) {
  uint32_t u = er_rd32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* The engine's margin mapping (mirrors er_score_margin). */
static int64_t margin_q16(const er_bundle *b, int64_t acc) {
  int64_t prod = acc * (int64_t)b->scale_mul;
  int64_t scaled = prod >= 0 ? (prod >> b->scale_shift) : -((-prod) >> b->scale_shift);
  return (int64_t)b->base_q16 + scaled;
}

/* Walk the bundle's trees for dense vector x; returns the Q16 margin. */
static int64_t walk_trees(const er_bundle *b, const float *x) {
  const uint8_t *tr = b->sec[ER_SEC_TREES].p, *nodes = tr + 4 * (size_t)b->n_trees;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p, *thv = th + 4 * ((size_t)b->n_dense + 1);
  int64_t acc = 0;
  for (uint32_t t = 0; t < b->n_trees; t++) {
    const uint8_t *base = nodes + 8 * (size_t)er_rd32(tr + 4 * t), *nd = base;
    while (!(nd[1] & ER_NODE_LEAF)) {
      float v = x[nd[0]];
      int left = v != v ? (nd[1] & ER_NODE_DEFAULT_LEFT) != 0 : v < f32_at(thv + 4 * ((size_t)er_rd32(th + 4 * nd[0]) + er_rd16(nd + 2)));
      nd = base + 8 * (size_t)er_rd16(nd + (left ? 4 : 6));
    }
    acc += (int8_t)nd[2];
  }
  return margin_q16(b, acc);
}

/* Float reference of an in-memory tree ensemble. */
static double ref_trees(const er_pack_model *m, const float *x) {
  double s = m->base_margin;
  for (uint32_t t = 0; t < m->n_trees; t++) {
    const er_pack_tree *tr = &m->trees[t];
    int32_t n = 0;
    while (tr->left[n] != -1) {
      float v = x[tr->feature[n]];
      n = (v != v ? tr->default_left[n] : v < tr->threshold[n]) ? tr->left[n] : tr->right[n];
    }
    s += tr->leaf[n];
  }
  return s;
}

static int thresholds_sorted(const er_bundle *b) {
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p, *thv = th + 4 * ((size_t)b->n_dense + 1);
  for (uint32_t f = 0; f < b->n_dense; f++)
    for (uint32_t k = er_rd32(th + 4 * f) + 1; k < er_rd32(th + 4 * (f + 1)); k++)
      if (!(f32_at(thv + 4 * (k - 1)) < f32_at(thv + 4 * k))) return 0;
  return 1;
}

/* ---- samples ----------------------------------------------------------------- */

static void test_sample_linear(void) {
  uint8_t *out = NULL;
  uint32_t len = 0;
  er_error err;
  er_status st = pack_json(S.linear, S.catalog, NULL, &out, &len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  pack: %s\n", err.msg); return; }
  er_bundle b;
  st = er_bundle_load(&b, out, len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  load: %s\n", err.msg); free(out); return; }
  CHECK_EQ_INT(b.n_items, 54);
  CHECK_EQ_STR(b.version, "sample-linear-1");
  CHECK_EQ_INT(b.budget, 2000000);
  CHECK(b.model_kind == ER_MODEL_LINEAR && b.bits == 14 && b.n_dense == ER_DENSE_COUNT);
  CHECK(len % 8 == 0);
  /* sku and url lookups */
  uint32_t bag3 = item_of(&b, "ER-BAG-03"), sl;
  CHECK_EQ_INT(bag3, 2);
  const char *s = er_item_sku(&b, bag3, &sl);
  CHECK(sl == 9 && !memcmp(s, "ER-BAG-03", 9));
  CHECK(er_bundle_find_url(&b, key_of("summit-rolltop-30l")) == bag3);
  s = er_item_url_key(&b, bag3, &sl);
  CHECK(sl == 18 && !memcmp(s, "summit-rolltop-30l", 18));
  CHECK(item_of(&b, "NOPE") == ER_NONE);
  CHECK(er_bundle_find_url(&b, key_of("")) == ER_NONE);
  CHECK(er_item_price(&b, item_of(&b, "ER-BAG-08")) == 11900);
  /* parents, flags */
  uint32_t mj1 = item_of(&b, "ER-MJ-01"), child = item_of(&b, "ER-MJ-01-M");
  CHECK(mj1 != ER_NONE && child != ER_NONE && er_item_parent(&b, child) == mj1 && er_item_parent(&b, mj1) == ER_NONE);
  CHECK(!(er_item_flags(&b, child) & ER_ITEM_VISIBLE) && (er_item_flags(&b, child) & ER_ITEM_IN_STOCK));
  er_item_url_key(&b, child, &sl);
  CHECK(sl == 0);
  CHECK(!(er_item_flags(&b, item_of(&b, "ER-BAG-05")) & ER_ITEM_IN_STOCK));
  CHECK(er_item_flags(&b, bag3) == (ER_ITEM_IN_STOCK | ER_ITEM_VISIBLE));
  /* categories */
  uint32_t nc;
  const uint8_t *cats = er_item_cats(&b, bag3, &nc);
  CHECK(nc == 2 && er_rd32(cats) == er_cat_key("Gear", 4) && er_rd32(cats + 4) == er_cat_key("Gear/Bags", 9));
  s = er_bundle_category_name(&b, er_cat_key("Men/Tops/Jackets", 16), &sl);
  CHECK(s && sl == 16 && !memcmp(s, "Men/Tops/Jackets", 16));
  CHECK_EQ_INT(b.sec[ER_SEC_CATEGORIES].count, 11);
  /* attributes are not stored (format 2): no attribute section */
  CHECK(b.sec[ER_SEC_ITEM_ATTRS].p == NULL);
  CHECK_EQ_INT(er_item(&b, 0)[15], 2); /* the record's category count */
  /* popularity: the most viewed item has 65535 */
  uint16_t maxv = 0;
  for (uint32_t i = 0; i < b.n_items; i++)
    if (er_item_pop(&b, i, 0) > maxv) maxv = er_item_pop(&b, i, 0);
  CHECK_EQ_INT(maxv, 65535);
  CHECK_EQ_INT(er_item_pop(&b, 0, 3), 1860); /* trending 1.86 × 1000 */
  /* lists: visible, in stock, descending, ties by index */
  for (uint32_t kind = 1; kind <= ER_LIST_KINDS; kind++) {
    uint32_t n, expect = 0;
    const uint8_t *l = er_bundle_list(&b, kind, &n);
    int field = kind == ER_LIST_MOST_VIEWED ? 0 : kind == ER_LIST_MOST_PURCHASED ? 2 : kind == ER_LIST_MOST_CARTED ? 1 : 3;
    for (uint32_t i = 0; i < b.n_items; i++)
      if ((er_item_flags(&b, i) & 3) == 3 && er_item_pop(&b, i, field)) expect++;
    CHECK(l != NULL && n == expect && n > 0);
    int ok = 1;
    for (uint32_t k = 0; k < n; k++) {
      uint32_t i = er_rd32(l + 4 * k);
      if ((er_item_flags(&b, i) & 3) != 3) ok = 0;
      if (k) {
        uint32_t p = er_rd32(l + 4 * (k - 1));
        if (er_item_pop(&b, p, field) < er_item_pop(&b, i, field)) ok = 0;
        if (er_item_pop(&b, p, field) == er_item_pop(&b, i, field) && p > i) ok = 0;
      }
    }
    CHECK(ok);
  }
  /* neighbours: weights and order as given */
  uint32_t n;
  const uint8_t *e = er_bundle_neighbours(&b, ER_NBR_VV, item_of(&b, "ER-BAG-01"), &n);
  CHECK_EQ_INT(n, 4);
  if (n == 4) {
    CHECK(NI(&b, e, 0) == bag3 && NW(&b, e, 0) == qw(0.82f));
    CHECK(NI(&b, e, 1) == item_of(&b, "ER-BAG-09") && NW(&b, e, 1) == qw(0.61f));
    CHECK(NI(&b, e, 3) == item_of(&b, "ER-FIT-04"));
  }
  e = er_bundle_neighbours(&b, ER_NBR_CONTENT, item_of(&b, "ER-BAG-01"), &n);
  CHECK(n == 3);
  er_bundle_neighbours(&b, ER_NBR_BB, bag3, &n);
  CHECK(n == 0);
  /* rules */
  const er_section *ru = &b.sec[ER_SEC_RULES];
  CHECK_EQ_INT(ru->count, 2);
  if (ru->count == 2) {
    CHECK(er_rd32(ru->p) == item_of(&b, "ER-FIT-01") && ru->p[8] == ER_RULE_PIN && ru->p[9] == 0);
    CHECK(er_rd32(ru->p + 4) == (uint32_t)key_of("recommended-for-you"));
    CHECK(er_rd32(ru->p + 16) == item_of(&b, "ER-BAG-08") && ru->p[24] == ER_RULE_BURY && er_rd32(ru->p + 20) == 0);
    CHECK((int32_t)er_rd32(ru->p + 28) == 32768);
  }
  /* quantization: s = max|w|/127 = 1.5/127 (carted), each weight within s/2 */
  double sc = 1.5 / 127.0;
  CHECK_EQ_INT(b.base_q16, -65536);
  CHECK(fabs(ldexp((double)b.scale_mul, -b.scale_shift) - 256.0 * sc) < 1e-6 * 256.0 * sc);
  CHECK(b.scale_mul >= (1 << 29));
  const int8_t *w = (const int8_t *)b.sec[ER_SEC_LINEAR].p;
  struct { uint32_t ns; uint64_t a, b; double w; } known[] = {
      {ER_NS_COOC, 3, 0, 0.45},
      {ER_NS_CARTED, 1, 0, -1.5},
      {ER_NS_RECENCY, 0, 0, -0.35},
      {ER_NS_AFFX, er_cat_key("Gear/Bags", 9), er_cat_key("Gear/Bags", 9), 0.5},
      {ER_NS_ITEM, key_of("ER-FIT-01"), 0, 0.2},
      {ER_NS_PAGE, ER_PAGE_CATEGORY, 1, 0.25},
      {ER_NS_DEVICE_CAT, ER_DEV_MOBILE, er_cat_key("Gear", 4), 0.08},
      {ER_NS_LAST_X, key_of("ER-MJ-01"), key_of("ER-MP-01"), 0.4},
  };
  for (unsigned k = 0; k < sizeof known / sizeof known[0]; k++) {
    uint32_t bucket = (uint32_t)(er_feature_hash(known[k].ns, known[k].a, known[k].b) & ((1u << 14) - 1));
    CHECK(fabs(w[bucket] * sc - known[k].w) <= sc / 2 + 1e-9);
  }
  /* meta is JSON with the quantization */
  const er_section *m = &b.sec[ER_SEC_META];
  CHECK(m->len && er_json_validate((const char *)m->p, m->len, 16, "meta", &err, NULL) == ER_OK);
  CHECK(m->len && contains(m->p, m->len, "\"quantization\":{\"scale\":"));
  free(out);
}

static void test_sample_trees(void) {
  uint8_t *out = NULL;
  uint32_t len = 0;
  er_error err;
  er_status st = pack_json(S.trees, S.catalog, NULL, &out, &len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  pack: %s\n", err.msg); return; }
  er_bundle b;
  st = er_bundle_load(&b, out, len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  load: %s\n", err.msg); free(out); return; }
  CHECK(b.model_kind == ER_MODEL_TREES && b.n_trees == 24 && b.n_dense == ER_DENSE_COUNT);
  CHECK_EQ_INT(b.base_q16, 0); /* base_score 0.5 → margin 0 */
  CHECK(thresholds_sorted(&b));
  /* cooc_last splits use only 1024, 8192, 32768 */
  const uint8_t *th = b.sec[ER_SEC_THRESHOLDS].p, *thv = th + 4 * (ER_DENSE_COUNT + 1);
  uint32_t a = er_rd32(th + 4 * ER_D_COOC_LAST), z = er_rd32(th + 4 * (ER_D_COOC_LAST + 1));
  CHECK(z > a && z - a <= 3);
  for (uint32_t k = a; k < z; k++) {
    float v = f32_at(thv + 4 * k);
    CHECK(v == 1024.0f || v == 8192.0f || v == 32768.0f);
  }
  /* contiguous ascending tree ranges */
  const uint8_t *tr = b.sec[ER_SEC_TREES].p;
  CHECK(er_rd32(tr) == 0);
  for (uint32_t t = 1; t < b.n_trees; t++) CHECK(er_rd32(tr + 4 * t) > er_rd32(tr + 4 * (t - 1)));
  /* a cold item: everything missing but popularity */
  float x[ER_DENSE_COUNT];
  for (int k = 0; k < ER_DENSE_COUNT; k++) x[k] = NAN;
  (void)walk_trees(&b, x);
  free(out);
}

static void test_deterministic(void) {
  const char *models[2] = {S.linear, S.trees};
  for (int m = 0; m < 2; m++) {
    uint8_t *a = NULL, *c = NULL;
    uint32_t al = 0, cl = 0;
    er_error err;
    CHECK(pack_json(models[m], S.catalog, NULL, &a, &al, &err) == ER_OK);
    CHECK(pack_json(models[m], S.catalog, NULL, &c, &cl, &err) == ER_OK);
    CHECK(a && c && al == cl && !memcmp(a, c, al));
    free(a);
    free(c);
  }
}

/* ---- writer ---------------------------------------------------------------- */

static void test_writer(void) {
  er_error err;
  er_bw *w = er_bw_new();
  uint8_t one[3] = {1, 2, 3};
  CHECK(w != NULL);
  CHECK(er_bw_add(w, 0, one, 3, 3, &err) == ER_E_USAGE);
  CHECK(er_bw_add(w, ER_SEC_META + 1, one, 3, 3, &err) == ER_E_USAGE);
  CHECK(er_bw_add(w, ER_SEC_STRINGS, one, 3, 3, &err) == ER_OK);
  CHECK(er_bw_add(w, ER_SEC_STRINGS, one, 3, 3, &err) == ER_E_USAGE);
  CHECK(er_bw_add(w, ER_SEC_META, NULL, 5, 1, &err) == ER_E_USAGE);
  uint8_t *out = NULL;
  uint32_t len = 0;
  CHECK(er_bw_finish(w, "has\"quote", 0, &out, &len, &err) == ER_E_RANGE && out == NULL);
  CHECK(er_bw_finish(w, "", 0, &out, &len, &err) == ER_E_RANGE);
  CHECK(er_bw_finish(w, "123456789012345678901234", 0, &out, &len, &err) == ER_E_RANGE);
  CHECK(er_bw_finish(w, "tab\there", 0, &out, &len, &err) == ER_E_RANGE);
  CHECK(er_bw_finish(w, "12345678901234567890123", 7, &out, &len, &err) == ER_OK);
  /* header: magic, version, size, section table, alignment, checksum */
  CHECK(len == 64 + 16 + 8 && !memcmp(out, "EDGERECB", 8));
  CHECK(er_rd16(out + 16) == 2 && er_rd16(out + 18) == 64 && er_rd32(out + 20) == len);
  CHECK(er_rd64(out + 24) == er_features_schema_hash() && er_rd32(out + 32) == 7 && er_rd32(out + 36) == 1);
  CHECK(!memcmp(out + 40, "12345678901234567890123", 24));
  CHECK(er_rd32(out + 64) == ER_SEC_STRINGS && er_rd32(out + 68) == 80 && er_rd32(out + 72) == 3 && er_rd32(out + 76) == 3);
  CHECK(!memcmp(out + 80, one, 3) && out[83] == 0);
  CHECK(er_rd64(out + 8) == er_xxh64(out + 16, len - 16, 0));
  er_bundle b;
  CHECK(er_bundle_load(&b, out, len, &err) == ER_E_BUNDLE_CORRUPT); /* required sections missing */
  free(out);
  er_bw_free(w);
  er_bw_free(NULL);
}

/* ---- in-memory packer ---------------------------------------------------------- */

static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

static er_pack_item simple_item(const char *sku) {
  er_pack_item it;
  memset(&it, 0, sizeof it);
  it.sku = sku;
  it.in_stock = it.visible = 1;
  return it;
}

static void test_linear_quant(void) {
  static float wt[1 << 10];
  uint32_t seed = 7;
  for (int k = 0; k < (1 << 10); k++) wt[k] = (float)((int32_t)(lcg(&seed) >> 8) - (1 << 23)) / (float)(1 << 22); /* ±2 */
  wt[5] = 0;
  er_pack_item items[1] = {simple_item("A")};
  er_pack_quant q;
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "q";
  in.items = items;
  in.n_items = 1;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = wt;
  in.model.bias = 0.3;
  in.quant_out = &q;
  uint8_t *out = NULL;
  uint32_t len;
  er_error err;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK);
  er_bundle b;
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  double mx = 0;
  for (int k = 0; k < (1 << 10); k++) mx = fmax(mx, fabs(wt[k]));
  CHECK(fabs(q.scale - mx / 127) < 1e-15);
  const int8_t *w8 = (const int8_t *)b.sec[ER_SEC_LINEAR].p;
  int ok = 1;
  for (int k = 0; k < (1 << 10); k++)
    if (fabs(w8[k] * q.scale - wt[k]) > q.scale / 2 + 1e-12 || w8[k] < -127) ok = 0;
  CHECK(ok);
  CHECK(w8[5] == 0);
  CHECK(q.max_abs_error <= q.scale / 2 + 1e-12);
  CHECK(b.base_q16 == (int32_t)lround(0.3 * 65536));
  /* margin of acc = Σ q × value_q8 equals s·acc/256 + bias within rounding */
  int64_t acc = 0;
  double real = 0.3;
  for (int k = 0; k < 20; k++) {
    int v = (int)(lcg(&seed) % 512) - 256;
    acc += (int64_t)w8[k] * v;
    real += w8[k] * q.scale * v / 256.0;
  }
  CHECK(fabs((double)margin_q16(&b, acc) / 65536.0 - real) < 2.0 / 65536);
  free(out);
  /* bits out of range */
  in.model.bits = 9;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_E_RANGE);
  in.model.bits = 25;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_E_RANGE);
  /* all-zero weights: s = 1/127 */
  static float zero[1 << 10];
  in.model.bits = 10;
  in.model.weights = zero;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK && fabs(q.scale - 1.0 / 127) < 1e-15);
  free(out);
}

/* A tree given in DFS order with a NaN-default split, a -0 threshold and an
 * unreachable node. */
static void test_trees_inmemory(void) {
  /* tree 0: 0: f4 < 100 (missing left) → 1, 4; 1: f7 < 0.5 → 2 (0.5), 3 (-0.25);
   *         4: leaf 0.125; 5: unreachable */
  static const int32_t l0[] = {1, 2, -1, -1, -1, -1}, r0[] = {4, 3, -1, -1, -1, -1};
  static const uint32_t f0[] = {4, 7, 0, 0, 0, 0};
  static const float t0[] = {100.0f, 0.5f, 0, 0, 0, 0}, v0[] = {0, 0, 0.5f, -0.25f, 0.125f, 9.0f};
  static const uint8_t d0[] = {1, 0, 0, 0, 0, 0};
  /* tree 1: 0: f10 < -0 (missing right) → 2, 1; 1: leaf -0.3; 2: f4 < 100 → 3, 4 */
  static const int32_t l1[] = {2, -1, 3, -1, -1}, r1[] = {1, -1, 4, -1, -1};
  static const uint32_t f1[] = {10, 0, 4, 0, 0};
  static const float t1[] = {-0.0f, 0, 100.0f, 0, 0}, v1[] = {0, -0.3f, 0, 0.01f, 0.2f};
  static const uint8_t d1[] = {0, 0, 1, 0, 0};
  er_pack_tree trees[2] = {{6, l0, r0, f0, t0, d0, v0}, {5, l1, r1, f1, t1, d1, v1}};
  er_pack_item items[1] = {simple_item("A")};
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "t";
  in.items = items;
  in.n_items = 1;
  in.model.kind = ER_MODEL_TREES;
  in.model.trees = trees;
  in.model.n_trees = 2;
  in.model.base_margin = -0.75;
  uint8_t *out = NULL;
  uint32_t len;
  er_error err;
  er_status st = er_pack_build(&in, &out, &len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  %s\n", err.msg); return; }
  er_bundle b;
  CHECK(er_bundle_load(&b, out, len, &err) == ER_OK);
  CHECK(b.n_trees == 2 && b.n_nodes == 10); /* the unreachable node is dropped */
  CHECK(thresholds_sorted(&b));
  const uint8_t *th = b.sec[ER_SEC_THRESHOLDS].p;
  CHECK(er_rd32(th + 4 * 5) - er_rd32(th + 4 * 4) == 1); /* feature 4: one value, 100 */
  CHECK_EQ_INT(b.sec[ER_SEC_THRESHOLDS].count, 3);
  CHECK(b.base_q16 == (int32_t)lround(-0.75 * 65536));
  /* scoring matches the float ensemble within the quantization error */
  double s = 0.5 / 127;
  uint32_t seed = 99;
  int ok = 1;
  for (int k = 0; k < 2000; k++) {
    float x[ER_DENSE_COUNT];
    for (int f = 0; f < ER_DENSE_COUNT; f++) {
      uint32_t r = lcg(&seed) >> 16;
      x[f] = (r % 7 == 0) ? NAN : (float)((int)(r % 400) - 200) / (r % 3 ? 1.0f : 200.0f);
    }
    if (k == 0) x[10] = -0.0f;
    if (k == 1) x[4] = 100.0f;
    double ref = ref_trees(&in.model, x), got = (double)walk_trees(&b, x) / 65536.0;
    if (fabs(ref - got) > 2 * s / 2 + 3.0 / 65536) ok = 0;
  }
  CHECK(ok);
  free(out);
  /* errors: feature past the dense vector, a node reached twice, a cycle,
   * a leaf with one child, a NaN threshold */
  static const uint32_t fbad[] = {ER_DENSE_COUNT, 0, 0};
  static const int32_t lb[] = {1, -1, -1}, rb[] = {2, -1, -1}, ltw[] = {1, -1, -1}, rtw[] = {1, -1, -1}, lcy[] = {1, 0, -1},
                       rcy[] = {2, 2, -1}, lone[] = {1, -1, -1}, rone[] = {2, 1, -1};
  static const float tz[] = {1, 0, 0}, tnan[] = {NAN, 0, 0}, vz[] = {0, 1, 2};
  static const uint8_t dz[] = {0, 0, 0};
  er_pack_tree bad[] = {{3, lb, rb, fbad, tz, dz, vz}, {3, ltw, rtw, f0, tz, dz, vz}, {3, lcy, rcy, f0, tz, dz, vz},
                        {3, lone, rone, f0, tz, dz, vz}, {3, lb, rb, f0, tnan, dz, vz}};
  for (unsigned k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    in.model.trees = &bad[k];
    in.model.n_trees = 1;
    out = NULL;
    CHECK(er_pack_build(&in, &out, &len, &err) == ER_E_RANGE && out == NULL);
  }
  /* depth: a chain of 64 splits is fine, 65 is rejected */
  for (int depth = 64; depth <= 65; depth++) {
    uint32_t n = 2 * (uint32_t)depth + 1;
    int32_t *l = calloc(n, 4), *r = calloc(n, 4);
    uint32_t *f = calloc(n, 4);
    float *t = calloc(n, 4), *v = calloc(n, 4);
    uint8_t *d = calloc(n, 1);
    for (int k = 0; k < depth; k++) {
      l[2 * k] = 2 * k + 1; /* leaf */
      r[2 * k] = 2 * k + 2; /* next split */
      l[2 * k + 1] = r[2 * k + 1] = -1;
      v[2 * k + 1] = (float)k / 100;
      t[2 * k] = (float)k;
    }
    l[n - 1] = r[n - 1] = -1;
    er_pack_tree chain = {n, l, r, f, t, d, v};
    in.model.trees = &chain;
    out = NULL;
    st = er_pack_build(&in, &out, &len, &err);
    CHECK(depth == 64 ? st == ER_OK : st == ER_E_LIMIT);
    if (!st) CHECK(er_bundle_load(&b, out, len, &err) == ER_OK);
    free(out);
    free(l); free(r); free(f); free(t); free(v); free(d);
  }
}

static void test_lists_and_neighbours(void) {
  enum { N = 260 };
  static er_pack_item items[N];
  static char skus[N][16];
  for (int k = 0; k < N; k++) {
    snprintf(skus[k], sizeof skus[k], "S-%03d", k);
    items[k] = simple_item(skus[k]);
    items[k].view = (uint64_t)(k % 5);    /* many ties */
    items[k].purchase = k == 3 ? 10 : 0;
    items[k].trending = k == 7 ? 100.0 : k == 8 ? 0.0015 : 0;
  }
  items[4].in_stock = 0; /* view 4 but out of stock */
  items[9].visible = 0;  /* view 4 but invisible */
  er_pack_edge e[60 + 4];
  for (int k = 0; k < 60; k++) e[k] = (er_pack_edge){0, (uint32_t)(k + 1), (float)(k % 10) / 10.0f};
  e[60] = (er_pack_edge){0, 0, 1.0f};   /* self link: dropped */
  e[61] = (er_pack_edge){2, 5, 0.25f};
  e[62] = (er_pack_edge){2, 5, 0.75f};  /* repeated target: the heavier stays */
  e[63] = (er_pack_edge){2, 1, 0.75f};
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "l";
  in.items = items;
  in.n_items = N;
  in.nbr[ER_NBR_VV] = (er_pack_nbrs){e, 64};
  in.no_auto_content = 1;
  static float w[1 << 10];
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  uint8_t *out = NULL;
  uint32_t len, n;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK);
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  const uint8_t *l = er_bundle_list(&b, ER_LIST_MOST_VIEWED, &n);
  CHECK_EQ_INT(n, 200);
  CHECK(er_rd32(l) == 14 && er_rd32(l + 4) == 19 && er_rd32(l + 8) == 24); /* view 4: 4 and 9 skipped, ties by index */
  l = er_bundle_list(&b, ER_LIST_MOST_PURCHASED, &n);
  CHECK(n == 1 && er_rd32(l) == 3);
  l = er_bundle_list(&b, ER_LIST_TRENDING, &n);
  CHECK(n == 2 && er_rd32(l) == 7 && er_rd32(l + 4) == 8);
  CHECK(er_item_pop(&b, 7, 3) == 65535 && er_item_pop(&b, 8, 3) == 2);
  er_bundle_list(&b, ER_LIST_MOST_CARTED, &n);
  CHECK(n == 0);
  CHECK(er_item_pop(&b, 3, 2) == 65535 && er_item_pop(&b, 4, 0) == 65535 && er_item_pop(&b, 2, 0) == 65535 * 2 / 4);
  const uint8_t *nb = er_bundle_neighbours(&b, ER_NBR_VV, 0, &n);
  CHECK_EQ_INT(n, 50);
  int ok = 1;
  for (uint32_t k = 0; k < n; k++) {
    if (NI(&b, nb, k) == 0) ok = 0;
    if (k && (NW(&b, nb, k) > NW(&b, nb, k - 1) || (NW(&b, nb, k) == NW(&b, nb, k - 1) && NI(&b, nb, k) < NI(&b, nb, k - 1))))
      ok = 0;
  }
  CHECK(ok);
  CHECK(NI(&b, nb, 0) == 10 && NW(&b, nb, 0) == qw(0.9f));
  nb = er_bundle_neighbours(&b, ER_NBR_VV, 2, &n);
  CHECK(n == 2 && NI(&b, nb, 0) == 1 && NI(&b, nb, 1) == 5 && NW(&b, nb, 1) == NW(&b, nb, 0));
  CHECK(b.sec[ER_SEC_NBR_CONTENT].len == 0 && b.sec[ER_SEC_NBR_VB].len == 0);
  free(out);
  /* bad edges */
  e[0].weight = 1.5f;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_E_RANGE);
  e[0].weight = 0.5f;
  e[0].to = N;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_E_RANGE);
}

static void test_auto_content(void) {
  const char *c1[] = {"X"}, *a1[] = {"c=1"}, *a2[] = {"c=2"};
  er_pack_item items[4] = {simple_item("A"), simple_item("B"), simple_item("C"), simple_item("D")};
  for (int k = 0; k < 4; k++) { items[k].categories = c1; items[k].n_categories = 1; items[k].n_attributes = 1; }
  items[0].attributes = items[1].attributes = items[3].attributes = a1;
  items[2].attributes = a2;
  items[3].visible = 0; /* same as A but never a target */
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "c";
  in.items = items;
  in.n_items = 4;
  static float w[1 << 10];
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  uint8_t *out = NULL;
  uint32_t len, n;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK);
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  const uint8_t *nb = er_bundle_neighbours(&b, ER_NBR_CONTENT, 0, &n);
  CHECK(n == 2 && NI(&b, nb, 0) == 1 && NW(&b, nb, 0) == 65535 && NI(&b, nb, 1) == 2 &&
        NW(&b, nb, 1) == qw((float)(1.0 / 3)));
  er_bundle_neighbours(&b, ER_NBR_CONTENT, 3, &n); /* an invisible source still gets neighbours */
  CHECK(n == 3);
  free(out);
  /* the same through JSON: content absent → computed, present → as given */
  const char *cat = "{\"items\":[{\"sku\":\"A\",\"categories\":[\"X\"],\"attributes\":{\"c\":1}},"
                    "{\"sku\":\"B\",\"categories\":[\"X\"],\"attributes\":{\"c\":[1,true]}}]}";
  const char *model = "{\"version\":\"v\",\"kind\":\"linear\",\"bits\":10}";
  CHECK(pack_json(model, cat, NULL, &out, &len, &err) == ER_OK && er_bundle_load(&b, out, len, &err) == ER_OK);
  nb = er_bundle_neighbours(&b, ER_NBR_CONTENT, 0, &n);
  CHECK(n == 1 && NI(&b, nb, 0) == 1 && NW(&b, nb, 0) == qw((float)(2.0 / 3)));
  free(out);
  char *cat2 = replace(cat, "}}]}", "}}],\"neighbours\":{\"content\":{}}}");
  CHECK(pack_json(model, cat2, NULL, &out, &len, &err) == ER_OK && er_bundle_load(&b, out, len, &err) == ER_OK);
  CHECK(b.sec[ER_SEC_NBR_CONTENT].len == 0);
  free(out);
  free(cat2);
}

/* Computed content neighbours against a brute-force Jaccard top 20. */
static void test_content_bruteforce(void) {
  enum { N = 300 };
  static const char *const catn[] = {"C0", "C1", "C2", "C3", "C4"}, *const attn[] = {"a=0", "a=1", "a=2", "b=0", "b=1", "b=2", "c=x"};
  static const char *cats[N][2], *atts[N][3];
  static er_pack_item items[N];
  static char skus[N][16];
  static uint32_t keys[N][5], nk[N];
  uint32_t seed = 5;
  for (int i = 0; i < N; i++) {
    snprintf(skus[i], sizeof skus[i], "I%d", i);
    items[i] = simple_item(skus[i]);
    items[i].visible = (uint8_t)(i % 9 != 0);
    uint32_t nc = lcg(&seed) % 3, na = lcg(&seed) % 4;
    if (nc > 2) nc = 2;
    if (na > 3) na = 3;
    for (uint32_t k = 0; k < nc; k++) cats[i][k] = catn[(lcg(&seed) >> 8) % 5];
    for (uint32_t k = 0; k < na; k++) atts[i][k] = attn[(lcg(&seed) >> 8) % 7];
    items[i].categories = cats[i];
    items[i].n_categories = nc;
    items[i].attributes = atts[i];
    items[i].n_attributes = na;
    nk[i] = 0; /* the distinct keys */
    for (uint32_t k = 0; k < nc + na; k++) {
      uint32_t key = k < nc ? er_cat_key(cats[i][k], strlen(cats[i][k])) : (uint32_t)key_of(atts[i][k - nc]);
      int dup = 0;
      for (uint32_t m = 0; m < nk[i]; m++) dup |= keys[i][m] == key;
      if (!dup) keys[i][nk[i]++] = key;
    }
  }
  static float w[1 << 10];
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "bf";
  in.items = items;
  in.n_items = N;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  uint8_t *out = NULL;
  uint32_t len;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK);
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  int ok = 1;
  for (int i = 0; i < N && ok; i++) {
    uint32_t best_j[20], best_q[20], nb = 0;
    for (int j = 0; j < N; j++) {
      if (j == i || !items[j].visible || !nk[i] || !nk[j]) continue;
      uint32_t inter = 0;
      for (uint32_t a = 0; a < nk[i]; a++)
        for (uint32_t c = 0; c < nk[j]; c++) inter += keys[i][a] == keys[j][c];
      double sim = (double)inter / (double)(nk[i] + nk[j] - inter);
      if (sim < 0.1) continue;
      uint32_t q = qw((float)sim), at;
      if (nb == 20 && q <= best_q[19]) continue; /* j ascends: equal q loses */
      at = nb < 20 ? nb++ : 19;
      while (at > 0 && best_q[at - 1] < q) { best_q[at] = best_q[at - 1]; best_j[at] = best_j[at - 1]; at--; }
      best_q[at] = q;
      best_j[at] = (uint32_t)j;
    }
    uint32_t n;
    const uint8_t *e = er_bundle_neighbours(&b, ER_NBR_CONTENT, (uint32_t)i, &n);
    if (n != nb) ok = 0;
    for (uint32_t k = 0; k < n && ok; k++)
      if (NI(&b, e, k) != best_j[k] || NW(&b, e, k) != best_q[k]) ok = 0;
    if (!ok) fprintf(stderr, "  content neighbours of item %d differ (%u vs %u)\n", i, n, nb);
  }
  CHECK(ok);
  free(out);
}

static void test_build_errors(void) {
  er_pack_item items[3] = {simple_item("A"), simple_item("B"), simple_item("C")};
  static float w[1 << 10];
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "e";
  in.items = items;
  in.n_items = 3;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  uint8_t *out = NULL;
  uint32_t len;
  er_error err;
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_OK);
  free(out);
  out = NULL;
  items[2].sku = "A";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  CHECK(strstr(err.msg, "duplicate sku 'A'") != NULL && out == NULL);
  items[2].sku = "";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  items[2].sku = "C";
  items[0].url_key = items[2].url_key = "same";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  CHECK(strstr(err.msg, "url_key 'same'") != NULL);
  items[2].url_key = "";
  items[1].parent_sku = "Z";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  CHECK(strstr(err.msg, "parent 'Z'") != NULL);
  items[1].parent_sku = "B";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  items[1].parent_sku = "A";
  items[1].trending = -1;
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  items[1].trending = 0;
  in.version = "x\\y";
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  in.version = "e";
  er_pack_rule rules[1] = {{1, ER_RULE_PIN, 200, 0, NULL}};
  in.rules = rules;
  in.n_rules = 1;
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  rules[0] = (er_pack_rule){3, ER_RULE_BOOST, 0, 1.0, NULL};
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  rules[0] = (er_pack_rule){1, 9, 0, 1.0, NULL};
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  rules[0] = (er_pack_rule){1, ER_RULE_BOOST, 0, 1.5, "most-viewed"};
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_OK);
  er_bundle b;
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (out) {
    CHECK_EQ_INT(er_item_parent(&b, 1), 0);
    CHECK_EQ_INT(er_rd32(b.sec[ER_SEC_RULES].p + 4), (uint32_t)key_of("most-viewed"));
    CHECK_EQ_INT((int32_t)er_rd32(b.sec[ER_SEC_RULES].p + 12), 98304);
    CHECK_EQ_INT(er_bundle_find_url(&b, key_of("same")), 0);
  }
  free(out);
  out = NULL;
  in.model.kind = 7;
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_USAGE);
  in.model.kind = ER_MODEL_TREES; /* no trees */
  CHECK_EQ_INT(er_pack_build(&in, &out, &len, &err), ER_E_RANGE);
  CHECK(out == NULL);
}

/* ---- JSON errors ---------------------------------------------------------------- */

/* Expect an error with code and (when given) the offset of `at` in src. */
static void expect_err(const char *model, const char *catalog, const char *xgb, er_status code, const char *src,
                       const char *at, const char *msg_part) {
  uint8_t *out = NULL;
  uint32_t len = 0;
  er_error err;
  er_status st = pack_json(model, catalog, xgb, &out, &len, &err);
  CHECK_EQ_INT(st, code);
  CHECK(out == NULL);
  if (at) CHECK(err.offset == offset_of(src, at));
  if (msg_part) CHECK(strstr(err.msg, msg_part) != NULL);
  if (st != code || (at && err.offset != offset_of(src, at)) || (msg_part && !strstr(err.msg, msg_part)))
    fprintf(stderr, "  expected %d at %s, got %d: %s (offset %u)\n", code, at ? at : "-", st, err.msg, err.offset);
  free(out);
}

static void test_json_errors(void) {
  const char *model = "{\"version\":\"v1\",\"kind\":\"linear\",\"bits\":10}";
  const char *cat = "{\"items\":[{\"sku\":\"A\",\"url_key\":\"a\"},{\"sku\":\"B\",\"url_key\":\"b\"}]}";
  char *c;
  /* duplicate sku: the second occurrence */
  c = replace(cat, "\"sku\":\"B\"", "\"sku\":\"A\"");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"A\",\"url_key\":\"b\"", "duplicate");
  free(c);
  c = replace(cat, "\"url_key\":\"b\"", "\"url_key\":\"a\"");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"a\"}]}", "url_key");
  free(c);
  /* unknown skus in neighbours */
  c = replace(cat, "]}", "],\"neighbours\":{\"viewed_viewed\":{\"A\":[[\"ZZ-9\",0.5]]}}}");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"ZZ-9\"", "ZZ-9");
  free(c);
  c = replace(cat, "]}", "],\"neighbours\":{\"bought_bought\":{\"QQ\":[]}}}");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"QQ\"", "QQ");
  free(c);
  c = replace(cat, "]}", "],\"neighbours\":{\"viewed_viewd\":{}}}");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"viewed_viewd\"", "viewed_viewd");
  free(c);
  c = replace(cat, "]}", "],\"neighbours\":{\"content\":{\"A\":[[\"B\",1.5]]}}}");
  expect_err(model, c, NULL, ER_E_RANGE, c, "1.5", "weight");
  free(c);
  /* parents */
  c = replace(cat, "\"url_key\":\"b\"", "\"parent\":\"C\"");
  expect_err(model, c, NULL, ER_E_RANGE, c, "\"C\"", "parent");
  free(c);
  /* wrong types name the field and the byte offset */
  c = replace(cat, "\"url_key\":\"b\"", "\"price\":\"12\"");
  expect_err(model, c, NULL, ER_E_TYPE, c, "\"12\"", "items[1].price");
  free(c);
  c = replace(cat, "\"url_key\":\"b\"", "\"in_stock\":1");
  expect_err(model, c, NULL, ER_E_TYPE, c, "1}", "items[1].in_stock");
  free(c);
  c = replace(cat, "\"url_key\":\"b\"", "\"categories\":\"Gear\"");
  expect_err(model, c, NULL, ER_E_TYPE, c, "\"Gear\"", "items[1].categories");
  free(c);
  c = replace(cat, "\"url_key\":\"b\"", "\"popularity\":{\"view\":1.5}");
  expect_err(model, c, NULL, ER_E_RANGE, c, "1.5", "popularity.view");
  free(c);
  c = replace(cat, "\"url_key\":\"b\"", "\"attributes\":{\"size\":{\"a\":1}}");
  expect_err(model, c, NULL, ER_E_TYPE, c, "{\"a\"", "attributes.size");
  free(c);
  c = replace(cat, "{\"sku\":\"B\",", "{");
  expect_err(model, c, NULL, ER_E_TYPE, c, "{\"url_key\":\"b\"", "items[1]");
  free(c);
  expect_err(model, "{\"items\":{}}", NULL, ER_E_TYPE, "{\"items\":{}}", "{}", "items");
  expect_err(model, "{\"items\":[1,}", NULL, ER_E_JSON, "{\"items\":[1,}", "}", "catalog");
  /* model: version, ns, bits, args, rules */
  char *m;
  m = replace(model, "\"v1\"", "\"v\\\"1\"");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"v\\", "version");
  free(m);
  m = replace(model, "\"v1\"", "\"123456789012345678901234\"");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"1234", "version");
  free(m);
  m = replace(model, "\"v1\"", "\"v\\u00e91\"");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"v\\u", "version");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":9");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "9}", "bits");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":25");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "25}", "bits");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"cooc\",\"a\":1,\"w\":1},{\"ns\":\"coocc\",\"a\":1,\"w\":1}]");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"coocc\"", "coocc");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"cooc\",\"a\":\"x\",\"w\":1}]");
  expect_err(m, cat, NULL, ER_E_TYPE, m, "\"x\"", "weights[0].a");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"device_cat\",\"a\":\"phone\",\"b\":\"Gear\",\"w\":1}]");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"phone\"", "device");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"bias\",\"a\":3,\"w\":1}]");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "3,", "weights[0].a");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"affx\",\"a\":\"Gear\",\"w\":1}]");
  expect_err(m, cat, NULL, ER_E_TYPE, m, "{\"ns\":\"affx\"", "weights[0].b");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"weights\":[{\"ns\":\"cooc\",\"a\":1,\"w\":\"big\"}]");
  expect_err(m, cat, NULL, ER_E_TYPE, m, "\"big\"", "weights[0].w");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"rules\":[{\"sku\":\"NOPE\",\"action\":\"pin\"}]");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"NOPE\"", "NOPE");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"rules\":[{\"sku\":\"A\",\"action\":\"hide\"}]");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"hide\"", "action");
  free(m);
  m = replace(model, "\"bits\":10", "\"bits\":10,\"rules\":[{\"sku\":\"A\",\"action\":\"boost\"}]");
  expect_err(m, cat, NULL, ER_E_TYPE, m, "{\"sku\":\"A\"", "amount");
  free(m);
  m = replace(model, "\"kind\":\"linear\"", "\"kind\":\"forest\"");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"forest\"", "kind");
  free(m);
  m = replace(model, "\"kind\":\"linear\"", "\"kind\":\"trees\",\"trees\":{\"trees\":[{\"nodes\":[{\"feature\":\"coolness\",\"threshold\":1,\"left\":1,\"right\":2},{\"leaf\":1},{\"leaf\":2}]}]}");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "\"coolness\"", "coolness");
  free(m);
  m = replace(model, "\"kind\":\"linear\"", "\"kind\":\"trees\",\"trees\":{\"trees\":[{\"nodes\":[{\"feature\":\"price\",\"threshold\":1,\"left\":1,\"right\":3},{\"leaf\":1},{\"leaf\":2}]}]}");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "3}", "right");
  free(m);
  m = replace(model, "\"kind\":\"linear\"", "\"kind\":\"trees\",\"trees\":{\"trees\":[{\"nodes\":[{\"feature\":\"price\",\"threshold\":1,\"left\":1,\"right\":1},{\"leaf\":1}]}]}");
  expect_err(m, cat, NULL, ER_E_RANGE, NULL, NULL, "reached twice");
  free(m);
  m = replace(model, "\"kind\":\"linear\"", "\"kind\":\"trees\",\"trees\":{\"base_score\":1.5,\"trees\":[{\"nodes\":[{\"leaf\":1}]}]}");
  expect_err(m, cat, NULL, ER_E_RANGE, m, "1.5", "base_score");
  free(m);
  expect_err("{\"kind\":\"linear\"}", cat, NULL, ER_E_TYPE, "{", "{", "version");
}

/* ---- XGBoost ------------------------------------------------------------------------ */

static void test_xgboost(void) {
  uint8_t *out = NULL, *out2 = NULL;
  uint32_t len = 0, len2 = 0;
  er_error err;
  er_status st = pack_json(S.trees, S.catalog, S.xgb, &out, &len, &err);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "  %s\n", err.msg); return; }
  er_bundle b;
  CHECK(er_bundle_load(&b, out, len, &err) == ER_OK);
  CHECK(b.model_kind == ER_MODEL_TREES && b.n_trees == 2 && b.n_nodes == 10);
  CHECK(!strcmp(b.version, "sample-trees-1") && b.sec[ER_SEC_RULES].count == 2); /* from model.json */
  CHECK(b.base_q16 == (int32_t)lround(log(0.2 / 0.8) * 65536));
  CHECK(thresholds_sorted(&b));
  const uint8_t *th = b.sec[ER_SEC_THRESHOLDS].p, *thv = th + 4 * (ER_DENSE_COUNT + 1);
  CHECK_EQ_INT(b.sec[ER_SEC_THRESHOLDS].count, 4);
  CHECK(er_rd32(th + 4 * 4) == 0 && er_rd32(th + 4 * 5) == 1 && f32_at(thv) == 1024.0f);
  CHECK(f32_at(thv + 4 * er_rd32(th + 4 * 7)) == 0.5f && f32_at(thv + 4 * er_rd32(th + 4 * 9)) == 512.0f);
  /* leaves: s = 0.4/127, q(0.3) = 95, q(0.1) = 32, q(-0.4) = -127; -0.2 is -63.5 steps,
   * a tie that float rounding of s may tip either way */
  const uint8_t *nodes = b.sec[ER_SEC_TREES].p + 8;
  CHECK(((int8_t)nodes[8 * 3 + 2] == -64 || (int8_t)nodes[8 * 3 + 2] == -63) && (int8_t)nodes[8 * 4 + 2] == 32 && (int8_t)nodes[8 * 5 + 2] == 95 &&
        (int8_t)nodes[8 * 6 + 2] == -127);
  CHECK(nodes[0] == 4 && nodes[1] == 0 && nodes[8 + 1] == ER_NODE_DEFAULT_LEFT && nodes[16] == 8);
  /* margins against the float model */
  struct { float cooc, recency, carted, aff; double m; } cases[] = {
      {500, NAN, 0, NAN, -0.2 - 0.05},   /* missing recency → left, missing affinity → left */
      {500, 2, 0, 600, 0.1 + 0.15},
      {1024, 0, 1, 100, -0.4 - 0.05},    /* 1024 is not < 1024 → right; carted → right */
      {2000, 0, NAN, 512, 0.3 + 0.15},   /* missing carted → right (default_left 0)... */
  };
  cases[3].m = -0.4 + 0.15;
  for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    float x[ER_DENSE_COUNT];
    for (int f = 0; f < ER_DENSE_COUNT; f++) x[f] = 0;
    x[ER_D_COOC_LAST] = cases[k].cooc;
    x[ER_D_RECENCY] = cases[k].recency;
    x[ER_D_CARTED] = cases[k].carted;
    x[ER_D_CAT_AFFINITY] = cases[k].aff;
    double got = (double)walk_trees(&b, x) / 65536.0, want = log(0.25) + cases[k].m;
    CHECK(fabs(got - want) <= 0.4 / 127 + 2.0 / 65536);
    if (fabs(got - want) > 0.4 / 127 + 2.0 / 65536) fprintf(stderr, "  case %u: got %f want %f\n", k, got, want);
  }
  /* "[2E-1]" (xgboost >= 2.1) gives the same bundle */
  char *x2 = replace(S.xgb, "\"base_score\":\"2E-1\"", "\"base_score\":\"[2E-1]\"");
  CHECK(pack_json(S.trees, S.catalog, x2, &out2, &len2, &err) == ER_OK && len2 == len && !memcmp(out, out2, len));
  free(x2);
  free(out2);
  /* reg:squarederror: base_score is the margin */
  x2 = replace(S.xgb, "binary:logistic", "reg:squarederror");
  CHECK(pack_json(S.trees, S.catalog, x2, &out2, &len2, &err) == ER_OK && er_bundle_load(&b, out2, len2, &err) == ER_OK &&
        b.base_q16 == (int32_t)lround(0.2 * 65536));
  free(x2);
  free(out2);
  /* rejections */
  x2 = replace(S.xgb, "binary:logistic", "multi:softprob");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "\"multi:softprob\"", "objective");
  free(x2);
  x2 = replace(S.xgb, "\"split_type\":[0,0,0]", "\"split_type\":[1,0,0]");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "1,0,0],\"sum_hessian\"", "categorical");
  free(x2);
  x2 = replace(S.xgb, "\"categories_nodes\":[]", "\"categories_nodes\":[0]");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "[0]", "categorical");
  free(x2);
  x2 = replace(S.xgb, "\"split_indices\":[9,0,0]", "\"split_indices\":[16,0,0]");
  expect_err(S.trees, S.catalog, x2, ER_E_RANGE, x2, "16,0,0]", "split_indices");
  free(x2);
  x2 = replace(S.xgb, "\"feature_names\":[\"pop_view\",\"pop_cart\"", "\"feature_names\":[\"pop_cart\",\"pop_view\"");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "\"pop_cart\",\"pop_view\"", "feature_names[0]");
  free(x2);
  x2 = replace(S.xgb, "\"num_class\":\"0\"", "\"num_class\":\"3\"");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "\"3\",\"num_feature\"", "num_class");
  free(x2);
  x2 = replace(S.xgb, "\"right_children\":[2,-1,-1]", "\"right_children\":[2,-1]");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "[2,-1]", "right_children");
  free(x2);
  x2 = replace(S.xgb, "\"name\":\"gbtree\"", "\"name\":\"dart\"");
  expect_err(S.trees, S.catalog, x2, ER_E_SHAPE, x2, "\"dart\"", "gbtree");
  free(x2);
  x2 = replace(S.xgb, "\"base_score\":\"2E-1\"", "\"base_score\":\"1E0\"");
  expect_err(S.trees, S.catalog, x2, ER_E_RANGE, x2, "\"1E0\"", "base_score");
  free(x2);
  free(out);
}

/* ---- robustness: every truncation and byte flip ---------------------------------- */

static void sweep(const uint8_t *bun, uint32_t len) {
  int trunc_ok = 1, flip_ok = 1;
  for (uint32_t n = 0; n < len; n++) {
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, bun, n);
    er_bundle b;
    er_error err;
    er_status st = er_bundle_load(&b, n ? c : NULL, n, &err);
    if (!(st == ER_E_BUNDLE_TRUNCATED || (n < 8 && st == ER_E_BUNDLE_MAGIC))) {
      if (trunc_ok) fprintf(stderr, "  truncation to %u: status %d (%s)\n", n, st, err.msg);
      trunc_ok = 0;
    }
    free(c);
  }
  CHECK(trunc_ok);
  uint8_t *c = malloc(len);
  static const uint8_t flips[] = {0x01, 0x80, 0xFF};
  uint32_t loaded = 0;
  for (uint32_t i = 0; i < len; i++) {
    for (unsigned f = 0; f < sizeof flips; f++) {
      memcpy(c, bun, len);
      c[i] ^= flips[f];
      er_bundle b;
      er_error err;
      er_status st = er_bundle_load(&b, c, len, &err);
      if (st == ER_OK) {
        if (flip_ok) fprintf(stderr, "  flip of byte %u by %02x loaded\n", i, flips[f]);
        flip_ok = 0;
      }
      if (i >= 16) { /* the same corruption with a valid checksum: any status, no crash */
        er_wr64(c + 8, er_xxh64(c + 16, len - 16, 0));
        if (er_bundle_load(&b, c, len, &err) == ER_OK) loaded++;
      }
    }
  }
  free(c);
  CHECK(flip_ok);
  CHECK(loaded > 0); /* e.g. flips inside string bytes or weights are valid bundles */
}

static void test_sweep(void) {
  const char *models[2] = {S.linear, S.trees};
  for (int m = 0; m < 2; m++) {
    uint8_t *out = NULL;
    uint32_t len = 0;
    er_error err;
    CHECK(pack_json(models[m], S.catalog, NULL, &out, &len, &err) == ER_OK);
    if (out) sweep(out, len);
    free(out);
  }
}

/* ---- format 2 at scale (bench/scale.mjs's short form) ----------------------------------------- */

/* A pack input of items with viewed-viewed links only and a zero linear model. */
static er_pack_input vv_input(const char *version, const er_pack_item *items, uint32_t n, const er_pack_edge *e, uint32_t ne) {
  static float w[1 << 10];
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = version;
  in.items = items;
  in.n_items = n;
  in.nbr[ER_NBR_VV] = (er_pack_nbrs){e, ne};
  in.no_auto_content = 1;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  return in;
}

/* A generated catalog of n items in 100 categories, each item with `per`
 * viewed-viewed links to pseudo-random items (weights descending with the
 * link's rank), packed at the default settings: the bundle loads, stays
 * within max_per_item bytes per item, every sku is found at its item, every
 * item keeps its strongest links (the one cap: the largest whose sections
 * fit the budget), in order, targets read back past 65,535 (3-byte indices),
 * and the engine serves recommendations anchored anywhere in the catalog. */
static void scale_case(uint32_t n, uint32_t per, double max_per_item) {
  char *skus = malloc((size_t)n * 10), cats[100][8];
  const char **catp = malloc(sizeof(char *) * 100);
  er_pack_item *items = malloc(sizeof *items * n);
  er_pack_edge *e = malloc(sizeof *e * (size_t)n * per);
  for (int c = 0; c < 100; c++) { snprintf(cats[c], sizeof cats[c], "C%d", c); catp[c] = cats[c]; }
  for (uint32_t i = 0; i < n; i++) {
    snprintf(skus + 10 * (size_t)i, 10, "S%07u", i);
    items[i] = simple_item(skus + 10 * (size_t)i);
    items[i].categories = &catp[i % 100];
    items[i].n_categories = 1;
    items[i].view = 1 + i % 977;
    items[i].price_cents = 100 + i % 5000;
    for (uint32_t k = 0; k < per; k++) {
      uint32_t to = (uint32_t)(((uint64_t)i * 2654435761u + (uint64_t)(k + 1) * 40503u) % n);
      if (to == i) to = (to + 1) % n;
      e[(size_t)i * per + k] = (er_pack_edge){i, to, (float)(per - k) / (float)(per + 1)};
    }
  }
  er_pack_input in = vv_input("scale", items, n, e, n * per);
  uint8_t *out = NULL;
  uint32_t len = 0;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK);
  CHECK(out && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (out && b.n_items == n) {
    printf("  %u items, %u links each: %u bytes, %.1f per item\n", n, per, len, (double)len / n);
    CHECK((double)len / n <= max_per_item);
    CHECK_EQ_INT(b.nbr_stride, n > 65536 ? 4 : 3);
    /* all but the neighbour lists: 40 (record) + 4 (sku index) + 8 (sku) + 4 (category) + lists and meta */
    uint64_t rest = (uint64_t)len;
    for (int r = 0; r < ER_NBR_KINDS; r++) rest -= b.sec[ER_SEC_NBR_VV + r].len;
    CHECK(rest <= 56ull * n + 8192); /* + the model, the four lists, meta and the header */
    /* the cap: what every item kept (they all have `per` distinct links or one fewer) */
    uint32_t cap = 0, m;
    for (uint32_t i = 0; i < n; i++) {
      er_bundle_neighbours(&b, ER_NBR_VV, i, &m);
      if (m > cap) cap = m;
    }
    uint64_t ib = n > 65536 ? 3 : 2, head = 4 * ((uint64_t)(n + 15) / 16 + 1) + ((n + 3) & ~3u);
    uint64_t limit = (uint64_t)ER_PACK_NBR_BUDGET * n > ER_PACK_NBR_MIN_BYTES ? (uint64_t)ER_PACK_NBR_BUDGET * n : ER_PACK_NBR_MIN_BYTES;
    CHECK(cap >= 1 && head + (uint64_t)cap * n * (ib + 1) <= limit + (uint64_t)n * (ib + 1)); /* fits (a few items have fewer) */
    CHECK(cap == ER_PACK_MAX_NEIGHBOURS || cap == per || head + (uint64_t)(cap + 1) * n * (ib + 1) > limit); /* the next would not */
    int ok = 1, far = 0, found = 1;
    for (uint32_t i = 0; i < n; i++) {
      found &= er_bundle_find_sku(&b, er_key(skus + 10 * (size_t)i, 8)) == i;
      const uint8_t *p = er_bundle_neighbours(&b, ER_NBR_VV, i, &m);
      uint32_t k = 0, got = 0;
      for (uint32_t src = 0; src < per && got < m; src++) { /* the given links in rank order, repeats and self-links dropped */
        const er_pack_edge *x = &e[(size_t)i * per + src];
        int dup = 0;
        for (uint32_t q = 0; q < src; q++) dup |= e[(size_t)i * per + q].to == x->to;
        if (dup) continue;
        uint32_t want_w = qw(x->weight);
        if (k < m && NI(&b, p, k) != x->to && NW(&b, p, k) == want_w) { /* equal weights: by item index */
          ok &= k + 1 < m || src + 1 == per;
        } else ok &= NI(&b, p, k) == x->to && NW(&b, p, k) == want_w;
        far |= NI(&b, p, k) > 65535;
        k++;
        got++;
      }
      if (!ok) { printf("  item %u: neighbours differ\n", i); break; }
    }
    CHECK(ok);
    CHECK(found);
    CHECK(far == (n > 65536));
    er_engine *eng = er_engine_new(out, len, &err);
    CHECK(eng != NULL);
    for (uint32_t r = 0; eng && r < 20; r++) {
      char ctx[128];
      uint32_t at = (uint32_t)(((uint64_t)r * 2654435761u) % n);
      int cl = snprintf(ctx, sizeof ctx, "{\"unit\":\"viewed-this-viewed-that\",\"recent\":[\"%s\"],\"k\":10}", skus + 10 * (size_t)at);
      const char *o;
      uint32_t ol;
      CHECK_EQ_INT(er_recommend(eng, ctx, (uint32_t)cl, NULL, 0, &o, &ol), ER_OK);
      CHECK(ol > 20 && strstr(o, "\"sku\":\"S") != NULL);
    }
    er_engine_free(eng);
  }
  free(out);
  free(skus); free(catp); free(items); free(e);
}

static void test_compact_scale(void) {
  scale_case(20000, 30, 56.5 + (double)ER_PACK_NBR_MIN_BYTES / 20000); /* 2-byte targets; the 1 MiB floor caps the lists */
  scale_case(70000, 8, 80.0);  /* 3-byte targets; 24 bytes per item cap them: within 80 bytes per item */
  scale_case(3000, 60, 250.0); /* a small catalog keeps 50 per item (the floor) */
}

/* The weight codes: strictly increasing from 0 to 65535, exact below 32, steps
 * of at most 5 % above; every source weight maps to its nearest code. */
static void test_weight_codes(void) {
  int ok = er_nbr_weights[0] == 0 && er_nbr_weights[255] == 65535;
  for (int q = 1; q < 256; q++) {
    ok &= er_nbr_weights[q] > er_nbr_weights[q - 1];
    if (q < 32) ok &= er_nbr_weights[q] == q;
    else ok &= er_nbr_weights[q] * 100u <= er_nbr_weights[q - 1] * 105u + 100u;
  }
  CHECK(ok);
  /* the writer's code for a weight is the nearest (qw: a scan), through a packed bundle */
  static char skus[64][4];
  er_pack_item items[64];
  static er_pack_edge e[63];
  for (uint32_t i = 0; i < 64; i++) {
    snprintf(skus[i], sizeof skus[i], "W%u", i);
    items[i] = simple_item(skus[i]);
  }
  uint32_t seed = 11;
  for (uint32_t k = 0; k < 63; k++) e[k] = (er_pack_edge){0, k + 1, (float)(lcg(&seed) % 1000001u) / 1e6f};
  e[5].weight = 0.0f;
  e[6].weight = 1.0f;
  e[7].weight = 1e-5f;
  er_pack_input in = vv_input("w", items, 64, e, 63);
  uint8_t *out = NULL;
  uint32_t len, n;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  const uint8_t *p = er_bundle_neighbours(&b, ER_NBR_VV, 0, &n);
  CHECK_EQ_INT(n, 50);
  int all = 1;
  for (uint32_t k = 0; k < n; k++) all &= NW(&b, p, k) == qw(e[NI(&b, p, k) - 1].weight);
  CHECK(all);
  CHECK(NI(&b, p, 0) == 7 && NW(&b, p, 0) == 65535);
  free(out);
}

/* Computed content neighbours compare at most ER_PACK_CONTENT_SCAN items per
 * shared key, the nearest in catalog order: 3,000 items in one category are
 * all alike (similarity 1, ties by index), so the first item's are items
 * 1..20 as with every item compared, and the last item's are the first 20 of
 * its window, not items 0..19. */
static void test_content_scan_bound(void) {
  enum { N = 3000 };
  static char skus[N][8];
  static er_pack_item items[N];
  static const char *cat[] = {"All"};
  for (uint32_t i = 0; i < N; i++) {
    snprintf(skus[i], sizeof skus[i], "K%u", i);
    items[i] = simple_item(skus[i]);
    items[i].categories = cat;
    items[i].n_categories = 1;
  }
  er_pack_input in = vv_input("k", items, N, NULL, 0);
  in.no_auto_content = 0;
  uint8_t *out = NULL;
  uint32_t len, n;
  er_error err;
  er_bundle b;
  CHECK(er_pack_build(&in, &out, &len, &err) == ER_OK && er_bundle_load(&b, out, len, &err) == ER_OK);
  if (!out) return;
  const uint8_t *p = er_bundle_neighbours(&b, ER_NBR_CONTENT, 0, &n);
  CHECK_EQ_INT(n, ER_PACK_CONTENT_TOP);
  int ok = 1;
  for (uint32_t k = 0; k < n; k++) ok &= NI(&b, p, k) == k + 1 && NW(&b, p, k) == 65535;
  CHECK(ok);
  p = er_bundle_neighbours(&b, ER_NBR_CONTENT, N - 1, &n);
  CHECK_EQ_INT(n, ER_PACK_CONTENT_TOP);
  ok = 1;
  for (uint32_t k = 0; k < n; k++) ok &= NI(&b, p, k) == N - ER_PACK_CONTENT_SCAN + k;
  CHECK(ok);
  free(out);
}

int main(void) {
  S.catalog = read_file("sample-catalog.json", &S.catalog_len);
  S.linear = read_file("sample-linear.json", &S.linear_len);
  S.trees = read_file("sample-trees.json", &S.trees_len);
  S.xgb = read_file("xgb-tiny.json", &S.xgb_len);
  RUN(test_writer);
  RUN(test_sample_linear);
  RUN(test_sample_trees);
  RUN(test_deterministic);
  RUN(test_linear_quant);
  RUN(test_trees_inmemory);
  RUN(test_lists_and_neighbours);
  RUN(test_auto_content);
  RUN(test_content_bruteforce);
  RUN(test_build_errors);
  RUN(test_json_errors);
  RUN(test_xgboost);
  RUN(test_sweep);
  RUN(test_compact_scale);
  RUN(test_weight_codes);
  RUN(test_content_scan_bound);
  free(S.catalog);
  free(S.linear);
  free(S.trees);
  free(S.xgb);
  return DONE();
}
