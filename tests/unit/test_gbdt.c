/* test_gbdt.c — the histogram GBDT trainer: planted functions, NaN routing,
 * exact thresholds, limits, determinism, the pairwise objective, bad input,
 * and the trained model packed into a bundle and scored by the int8 engine.
 * Built with -DER_GBDT_BENCH (and -O2, no sanitizers) it first times
 * training 128 trees of depth 6 on 300k × 16 rows (argv[1]: other row count). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "er_bundle.h"
#include "er_features.h"
#include "er_gbdt.h"
#include "er_pack.h"
#include "er_score.h"
#include "harness.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static float urand(uint64_t *s) { return (float)(rnd(s) >> 40) / (float)(1 << 24); } /* [0, 1) */

static double sigmoid(double m) { return 1.0 / (1.0 + exp(-m)); }

/* Leaf index reached in tree t for row x (float32 tests). */
static int32_t leaf_of(const er_pack_tree *tr, const float *x, uint32_t *depth) {
  int32_t i = 0;
  uint32_t dep = 0;
  while (tr->left[i] != -1) {
    float v = x[tr->feature[i]];
    i = (v != v ? tr->default_left[i] != 0 : v < tr->threshold[i]) ? tr->left[i] : tr->right[i];
    dep++;
  }
  if (depth) *depth = dep;
  return i;
}

/* The trainer's logistic loss formula, over er_gbdt_predict margins. */
static double logistic_loss(const er_gbdt_model *m, const float *X, uint32_t n, uint32_t d, const float *y, const float *w) {
  double s = 0, sw = 0;
  for (uint32_t i = 0; i < n; i++) {
    double wi = w ? (double)w[i] : 1.0, mg = er_gbdt_predict(m, X + (size_t)i * d);
    if (wi == 0) continue;
    double l = mg > 0 ? log1p(exp(-mg)) : -mg + log1p(exp(mg));
    s += wi * (l + (1 - (double)y[i]) * mg);
    sw += wi;
  }
  return sw > 0 ? s / sw : 0;
}

/* Every tree well formed: children valid and after their parent, each node
 * reached once, depth <= max_depth; returns the deepest leaf. */
static int tree_ok(const er_pack_tree *tr, uint32_t d, uint32_t cap, uint32_t *deepest) {
  if (tr->n_nodes < 1 || tr->n_nodes > cap) return 0;
  uint8_t seen[256] = {0};
  uint32_t depth[256] = {0};
  seen[0] = 1;
  *deepest = 0;
  for (uint32_t i = 0; i < tr->n_nodes; i++) {
    if (!seen[i]) return 0;
    if (tr->left[i] == -1) {
      if (tr->right[i] != -1 || !isfinite(tr->leaf[i])) return 0;
      if (depth[i] > *deepest) *deepest = depth[i];
      continue;
    }
    if (tr->feature[i] >= d || tr->threshold[i] != tr->threshold[i] || tr->leaf[i] != 0) return 0;
    int32_t c[2] = {tr->left[i], tr->right[i]};
    for (int k = 0; k < 2; k++) {
      if (c[k] <= (int32_t)i || (uint32_t)c[k] >= tr->n_nodes || seen[c[k]]) return 0;
      seen[c[k]] = 1;
      depth[c[k]] = depth[i] + 1;
    }
  }
  return 1;
}

static er_gbdt_params params(uint32_t trees, uint32_t depth, double lr) {
  er_gbdt_params p;
  er_gbdt_defaults(&p);
  p.n_trees = trees;
  p.max_depth = depth;
  p.learning_rate = lr;
  return p;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_defaults(void) {
  er_gbdt_params p;
  memset(&p, 0xAB, sizeof p);
  er_gbdt_defaults(&p);
  CHECK(p.objective == ER_GBDT_LOGISTIC && p.n_trees == 100 && p.max_depth == 6 && p.max_bins == 64);
  CHECK(p.learning_rate == 0.1 && p.lambda == 1.0 && p.min_child_weight == 1.0 && p.subsample == 1.0);
  CHECK(p.seed == 0 && p.verbose == 0);
  er_gbdt_free(NULL);
  er_gbdt_model z;
  memset(&z, 0, sizeof z);
  er_gbdt_free(&z);
  CHECK(z.trees == NULL);
}

/* y = 1 iff (x0 > 0.5) xor (x3 < 0.2), four noise features. */
static void make_xor(uint64_t *s, float *X, float *y, uint32_t n, uint32_t d) {
  for (uint32_t i = 0; i < n; i++) {
    for (uint32_t f = 0; f < d; f++) X[(size_t)i * d + f] = urand(s);
    y[i] = (float)((X[(size_t)i * d] > 0.5f) ^ (X[(size_t)i * d + 3] < 0.2f));
  }
}

static void test_planted_xor(void) {
  enum { N = 20000, NT = 5000, D = 6 };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  float *Xt = malloc(sizeof(float) * NT * D), *yt = malloc(sizeof(float) * NT);
  uint64_t s = 1;
  make_xor(&s, X, y, N, D);
  make_xor(&s, Xt, yt, NT, D);
  er_gbdt_params p = params(40, 3, 0.3);
  er_gbdt_model m;
  er_error err;
  er_status st = er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  %s\n", err.msg); goto out; }
  CHECK(m.n_trees == 40 && m.n_features == D && m.objective == ER_GBDT_LOGISTIC);
  double mean = 0;
  for (uint32_t i = 0; i < N; i++) mean += y[i];
  mean /= N;
  CHECK(fabs(m.base_margin - log(mean / (1 - mean))) < 1e-12);
  uint32_t right = 0;
  for (uint32_t i = 0; i < NT; i++) right += (er_gbdt_predict(&m, Xt + (size_t)i * D) > 0) == (yt[i] > 0.5f);
  CHECK(right > NT * 0.98);
  /* only features 0 and 3 carry signal: the root split of the first trees
   * (before the residual is mostly noise) uses one of them */
  int first_ok = 1;
  for (uint32_t t = 0; t < 10; t++)
    if (m.trees[t].left[0] != -1 && m.trees[t].feature[0] != 0 && m.trees[t].feature[0] != 3) first_ok = 0;
  CHECK(first_ok);
  /* the loss the trainer reports is the loss of er_gbdt_predict, bit for bit */
  CHECK(m.train_loss == logistic_loss(&m, X, N, D, y, NULL));
  CHECK(m.train_loss < 0.1);
  er_gbdt_free(&m);
  CHECK(m.trees == NULL && m.n_trees == 0);
out:
  free(X); free(y); free(Xt); free(yt);
}

/* The label is "feature 1 is missing" (feature 1 otherwise constant, feature
 * 0 always missing, feature 2 noise): only a NaN-vs-present split works. */
static void test_nan_routing(void) {
  enum { N = 4000, D = 4 };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  uint64_t s = 2;
  for (uint32_t i = 0; i < N; i++) {
    float *x = X + (size_t)i * D;
    int miss = urand(&s) < 0.3f;
    x[0] = NAN;
    x[1] = miss ? NAN : 3.0f;
    x[2] = urand(&s);
    x[3] = urand(&s) < 0.5f ? NAN : urand(&s); /* NaN noise */
    y[i] = (float)miss;
  }
  er_gbdt_params p = params(10, 2, 0.5);
  er_gbdt_model m;
  er_error err;
  er_status st = er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  %s\n", err.msg); goto out; }
  const er_pack_tree *t0 = &m.trees[0];
  CHECK(t0->left[0] != -1 && t0->feature[0] == 1 && t0->threshold[0] == 3.0f && t0->default_left[0] == 1);
  float a[D] = {NAN, NAN, 0.5f, 0.5f}, b[D] = {NAN, 3.0f, 0.5f, 0.5f};
  CHECK(er_gbdt_predict(&m, a) > 1.0 && er_gbdt_predict(&m, b) < -1.0);
  uint32_t right = 0;
  for (uint32_t i = 0; i < N; i++) right += (er_gbdt_predict(&m, X + (size_t)i * D) > 0) == (y[i] > 0.5f);
  CHECK_EQ_INT(right, N);
  /* feature 0 (all NaN) is never split on */
  int no_f0 = 1;
  for (uint32_t t = 0; t < m.n_trees; t++)
    for (uint32_t k = 0; k < m.trees[t].n_nodes; k++)
      if (m.trees[t].left[k] != -1 && m.trees[t].feature[k] == 0) no_f0 = 0;
  CHECK(no_f0);
  er_gbdt_free(&m);
  /* NaN on the other side: the label is "present and large"; NaN rows are 0 */
  for (uint32_t i = 0; i < N; i++) {
    float *x = X + (size_t)i * D;
    x[1] = urand(&s) < 0.3f ? NAN : urand(&s);
    y[i] = (float)(x[1] == x[1] && x[1] >= 0.25f);
  }
  st = er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err);
  CHECK(st == ER_OK);
  if (st) goto out;
  t0 = &m.trees[0];
  CHECK(t0->left[0] != -1 && t0->feature[0] == 1 && t0->default_left[0] == 1);
  right = 0;
  for (uint32_t i = 0; i < N; i++) right += (er_gbdt_predict(&m, X + (size_t)i * D) > 0) == (y[i] > 0.5f);
  CHECK(right > N * 0.99);
  er_gbdt_free(&m);
out:
  free(X); free(y);
}

/* Thresholds are data values and reproduce the bins: values equal to a
 * threshold go right, -0 and +0 alike, heavy ties, more values than bins. */
static void test_thresholds(void) {
  /* x0 in {1, 2, 3}, y = x0 >= 2: one split at exactly 2 */
  {
    enum { N = 300 };
    float X[N], y[N];
    for (int i = 0; i < N; i++) { X[i] = (float)(1 + i % 3); y[i] = (float)(X[i] >= 2); }
    er_gbdt_params p = params(1, 1, 1.0);
    p.lambda = 0;
    er_gbdt_model m;
    er_error err;
    CHECK(er_gbdt_train(X, N, 1, y, NULL, NULL, &p, &m, &err) == ER_OK);
    const er_pack_tree *t = &m.trees[0];
    CHECK(t->n_nodes == 3 && t->left[0] == 1 && t->right[0] == 2 && t->threshold[0] == 2.0f);
    float two = 2.0f, three = 3.0f, one = 1.0f;
    CHECK(er_gbdt_predict(&m, &two) == er_gbdt_predict(&m, &three) && er_gbdt_predict(&m, &one) < m.base_margin);
    er_gbdt_free(&m);
  }
  /* x0 in {-1, -0, +0, 1}, y = x0 >= 0 */
  {
    enum { N = 400 };
    static const float vals[4] = {-1.0f, -0.0f, 0.0f, 1.0f};
    float X[N], y[N];
    for (int i = 0; i < N; i++) { X[i] = vals[i % 4]; y[i] = (float)(i % 4 != 0); }
    er_gbdt_params p = params(1, 2, 1.0);
    er_gbdt_model m;
    er_error err;
    CHECK(er_gbdt_train(X, N, 1, y, NULL, NULL, &p, &m, &err) == ER_OK);
    CHECK(m.trees[0].threshold[0] == 0.0f);
    float mz = -0.0f, pz = 0.0f, m1 = -1.0f;
    CHECK(er_gbdt_predict(&m, &mz) == er_gbdt_predict(&m, &pz) && er_gbdt_predict(&m, &m1) < er_gbdt_predict(&m, &pz));
    er_gbdt_free(&m);
  }
  /* many values, few bins, ties, ±inf, NaN: every threshold is a training
   * value of its feature, and the trainer's own (bin-routed) margins equal
   * er_gbdt_predict's (float-routed) ones — checked through the loss, which
   * the trainer computes from its margins */
  {
    enum { N = 6000, D = 5 };
    float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N), *w = malloc(sizeof(float) * N);
    uint64_t s = 3;
    for (uint32_t i = 0; i < N; i++) {
      float *x = X + (size_t)i * D;
      x[0] = (float)(rnd(&s) % 10);                      /* 10 values, heavy ties  */
      x[1] = urand(&s) * 1000.0f - 500.0f;               /* ~6000 values, 8 bins   */
      x[2] = (float)(rnd(&s) % 3) - 1.0f;                /* -1, 0, 1 with -0 mixed */
      if (x[2] == 0 && (rnd(&s) & 1)) x[2] = -0.0f;
      x[3] = (rnd(&s) % 50 == 0) ? (rnd(&s) & 1 ? INFINITY : -INFINITY) : urand(&s);
      x[4] = (rnd(&s) % 4 == 0) ? NAN : (float)(rnd(&s) % 1000) / 7.0f;
      if (i % 100 == 0) x[1] = 123.25f;                  /* one heavy tie           */
      double z = 0.3 * (x[0] - 4.5) + x[1] / 200.0 + x[2] + (x[3] > 0.5f ? 1 : -1) + (x[4] != x[4] ? 1.5 : 0);
      y[i] = (float)(urand(&s) < sigmoid(z));
      w[i] = (float)(1 + rnd(&s) % 3) * 0.5f;
    }
    w[7] = 0;
    for (int variant = 0; variant < 2; variant++) {
      er_gbdt_params p = params(30, 4, 0.3);
      p.max_bins = 8;
      p.subsample = variant ? 0.6 : 1.0; /* unsampled rows are routed by bins */
      p.seed = 11;
      er_gbdt_model m;
      er_error err;
      er_status st = er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err);
      CHECK(st == ER_OK);
      if (st) { printf("  %s\n", err.msg); continue; }
      int data_values = 1, used[D] = {0};
      for (uint32_t t = 0; t < m.n_trees; t++)
        for (uint32_t k = 0; k < m.trees[t].n_nodes; k++) {
          if (m.trees[t].left[k] == -1) continue;
          uint32_t f = m.trees[t].feature[k];
          float th = m.trees[t].threshold[k];
          int found = 0;
          for (uint32_t i = 0; i < N && !found; i++) found = X[(size_t)i * D + f] == th;
          if (!found) data_values = 0;
          used[f] = 1;
        }
      CHECK(data_values);
      CHECK(used[0] && used[1] && used[2] && used[3] && used[4]);
      /* at most max_bins - 1 distinct thresholds per feature (+ the minimum) */
      for (uint32_t f = 0; f < D; f++) {
        float seen[64];
        uint32_t ns = 0;
        for (uint32_t t = 0; t < m.n_trees; t++)
          for (uint32_t k = 0; k < m.trees[t].n_nodes; k++) {
            if (m.trees[t].left[k] == -1 || m.trees[t].feature[k] != f) continue;
            float th = m.trees[t].threshold[k];
            uint32_t j = 0;
            while (j < ns && seen[j] != th) j++;
            if (j == ns && ns < 64) seen[ns++] = th;
          }
        CHECK(ns <= 8);
      }
      CHECK(m.train_loss == logistic_loss(&m, X, N, D, y, w));
      er_gbdt_free(&m);
    }
    free(X); free(y); free(w);
  }
}

/* Tree count, depth, node layout and min_child_weight. */
static void test_limits(void) {
  enum { N = 3000, D = 8 };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  uint64_t s = 4;
  for (uint32_t i = 0; i < N; i++) {
    for (uint32_t f = 0; f < D; f++) X[(size_t)i * D + f] = urand(&s);
    y[i] = (float)(urand(&s) < 0.5f); /* pure noise: trees grow as deep as allowed */
  }
  for (uint32_t depth = 1; depth <= 6; depth++) {
    er_gbdt_params p = params(depth * 3, depth, 0.5);
    p.min_child_weight = 0.01;
    er_gbdt_model m;
    er_error err;
    if (er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err)) { CHECK(0); continue; }
    CHECK_EQ_INT(m.n_trees, depth * 3);
    uint32_t cap = (1u << (depth + 1)) - 1, deepest_all = 0;
    int ok = 1;
    for (uint32_t t = 0; t < m.n_trees; t++) {
      uint32_t deepest = 0;
      if (!tree_ok(&m.trees[t], D, cap, &deepest)) ok = 0;
      if (deepest > deepest_all) deepest_all = deepest;
      for (uint32_t i = 0; i < N; i += 7) {
        uint32_t dep;
        leaf_of(&m.trees[t], X + (size_t)i * D, &dep);
        if (dep > depth) ok = 0;
      }
    }
    CHECK(ok);
    CHECK_EQ_INT(deepest_all, depth); /* noise is fitted to the full depth */
    er_gbdt_free(&m);
  }
  /* a huge min_child_weight allows no split: root-only trees */
  er_gbdt_params p = params(3, 6, 0.1);
  p.min_child_weight = 1e9;
  er_gbdt_model m;
  er_error err;
  CHECK(er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err) == ER_OK);
  int roots = 1;
  for (uint32_t t = 0; t < m.n_trees; t++) roots &= m.trees[t].n_nodes == 1 && m.trees[t].left[0] == -1;
  CHECK(roots);
  er_gbdt_free(&m);
  /* min_child_weight respected: every leaf holds hessian >= mcw (first tree,
   * hessian p(1-p) at the base margin) */
  p = params(1, 6, 0.1);
  p.min_child_weight = 40;
  CHECK(er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err) == ER_OK);
  {
    double hs[128] = {0}, pr = sigmoid(m.base_margin);
    for (uint32_t i = 0; i < N; i++) hs[leaf_of(&m.trees[0], X + (size_t)i * D, NULL)] += pr * (1 - pr);
    int ok = 1;
    for (uint32_t k = 0; k < m.trees[0].n_nodes; k++)
      if (m.trees[0].left[k] == -1 && hs[k] < 40 - 1e-9) ok = 0;
    CHECK(ok);
    CHECK(m.trees[0].n_nodes > 1);
  }
  er_gbdt_free(&m);
  free(X); free(y);
}

static int same_model(const er_gbdt_model *a, const er_gbdt_model *b) {
  if (a->n_trees != b->n_trees || a->node_cap != b->node_cap) return 0;
  if (memcmp(&a->base_margin, &b->base_margin, sizeof(double)) || memcmp(&a->train_loss, &b->train_loss, sizeof(double))) return 0;
  size_t nn = (size_t)a->n_trees * a->node_cap;
  for (uint32_t t = 0; t < a->n_trees; t++)
    if (a->trees[t].n_nodes != b->trees[t].n_nodes) return 0;
  return !memcmp(a->all_left, b->all_left, nn * 4) && !memcmp(a->all_right, b->all_right, nn * 4) &&
         !memcmp(a->all_feature, b->all_feature, nn * 4) && !memcmp(a->all_threshold, b->all_threshold, nn * 4) &&
         !memcmp(a->all_leaf, b->all_leaf, nn * 4) && !memcmp(a->all_default_left, b->all_default_left, nn);
}

static void test_determinism(void) {
  enum { N = 5000, D = 6 };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  uint32_t *g = malloc(sizeof(uint32_t) * N);
  uint64_t s = 5;
  make_xor(&s, X, y, N, D);
  for (uint32_t i = 0; i < N; i++) {
    if (rnd(&s) % 10 == 0) X[(size_t)i * D + 1] = NAN;
    g[i] = i / 250; /* 20 groups of 250: pairs are sampled (> 64 negatives) */
  }
  for (int obj = 0; obj < 2; obj++) {
    er_gbdt_params p = params(20, 5, 0.2);
    p.objective = obj ? ER_GBDT_PAIRWISE : ER_GBDT_LOGISTIC;
    p.subsample = 0.7;
    p.seed = 42;
    er_gbdt_model a, b, c;
    er_error err;
    CHECK(er_gbdt_train(X, N, D, y, NULL, g, &p, &a, &err) == ER_OK);
    CHECK(er_gbdt_train(X, N, D, y, NULL, g, &p, &b, &err) == ER_OK);
    p.seed = 43;
    CHECK(er_gbdt_train(X, N, D, y, NULL, g, &p, &c, &err) == ER_OK);
    CHECK(same_model(&a, &b));
    CHECK(!same_model(&a, &c)); /* the seed matters with subsampling */
    er_gbdt_free(&a);
    er_gbdt_free(&b);
    er_gbdt_free(&c);
  }
  free(X); free(y); free(g);
}

/* Groups of items; the positive is the item with the best hidden utility
 * x0 - |x2 - 0.5|; x1, x3 are noise.  A group without a positive, one
 * without a negative and a large group (pairs sampled) are included. */
static void make_groups(uint64_t *s, float *X, float *y, uint32_t *g, uint32_t n_groups, uint32_t per, uint32_t D) {
  for (uint32_t k = 0; k < n_groups; k++) {
    uint32_t best = 0;
    double bu = -1e9;
    for (uint32_t j = 0; j < per; j++) {
      uint32_t i = k * per + j;
      float *x = X + (size_t)i * D;
      for (uint32_t f = 0; f < D; f++) x[f] = urand(s);
      double u = x[0] - fabs(x[2] - 0.5);
      if (u > bu) { bu = u; best = j; }
      y[i] = 0;
      g[i] = k;
    }
    y[k * per + best] = 1;
  }
}

static void test_pairwise(void) {
  enum { G = 400, PER = 20, D = 4, N = G * PER, GT = 200, NTE = GT * PER };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  float *Xt = malloc(sizeof(float) * NTE * D), *yt = malloc(sizeof(float) * NTE);
  uint32_t *g = malloc(sizeof(uint32_t) * N), *gt = malloc(sizeof(uint32_t) * NTE);
  uint64_t s = 6;
  make_groups(&s, X, y, g, G, PER, D);
  make_groups(&s, Xt, yt, gt, GT, PER, D);
  for (uint32_t j = 0; j < PER; j++) y[j] = 0;         /* group 0: no positive   */
  for (uint32_t j = 0; j < PER; j++) y[PER + j] = 1;   /* group 1: no negative   */
  for (uint32_t i = 2 * PER; i < 12 * PER; i++) g[i] = 2; /* group 2: 200 rows, 10 positives, 190 negatives */
  er_gbdt_params p = params(60, 4, 0.2);
  p.objective = ER_GBDT_PAIRWISE;
  er_gbdt_model m;
  er_error err;
  er_status st = er_gbdt_train(X, N, D, y, NULL, g, &p, &m, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  %s\n", err.msg); goto out; }
  CHECK(m.base_margin == 0 && m.objective == ER_GBDT_PAIRWISE);
  CHECK(m.train_loss > 0 && m.train_loss < 0.2);
  uint32_t top1 = 0;
  for (uint32_t k = 0; k < GT; k++) {
    uint32_t best = 0;
    double bm = -1e300;
    for (uint32_t j = 0; j < PER; j++) {
      double mg = er_gbdt_predict(&m, Xt + (size_t)(k * PER + j) * D);
      if (mg > bm) { bm = mg; best = j; }
    }
    top1 += yt[k * PER + best] > 0.5f;
  }
  CHECK(top1 > GT * 0.8);
  /* the noise features matter little: the first splits use x0 or x2 */
  int first_ok = 1;
  for (uint32_t t = 0; t < 10; t++)
    if (m.trees[t].left[0] != -1 && m.trees[t].feature[0] != 0 && m.trees[t].feature[0] != 2) first_ok = 0;
  CHECK(first_ok);
  er_gbdt_free(&m);
  /* weights: a zero weight removes the row; group ids are ignored for logistic */
  float *w = malloc(sizeof(float) * N);
  for (uint32_t i = 0; i < N; i++) w[i] = 1;
  p.n_trees = 5;
  CHECK(er_gbdt_train(X, N, D, y, w, g, &p, &m, &err) == ER_OK);
  er_gbdt_free(&m);
  p.objective = ER_GBDT_LOGISTIC;
  uint32_t *bad = malloc(sizeof(uint32_t) * N);
  for (uint32_t i = 0; i < N; i++) bad[i] = N - i; /* decreasing: fine for logistic */
  CHECK(er_gbdt_train(X, N, D, y, w, bad, &p, &m, &err) == ER_OK);
  er_gbdt_free(&m);
  free(bad);
  free(w);
out:
  free(X); free(y); free(Xt); free(yt); free(g); free(gt);
}

static void test_bad_input(void) {
  enum { N = 8, D = 2 };
  float X[N * D], y[N], w[N];
  uint32_t g[N];
  for (int i = 0; i < N * D; i++) X[i] = (float)i;
  for (int i = 0; i < N; i++) { y[i] = (float)(i & 1); w[i] = 1; g[i] = (uint32_t)i / 4; }
  er_gbdt_params p = params(2, 2, 0.1);
  er_gbdt_model m;
  er_error err;
#define EXPECT(call, code, needle)                                                    \
  do {                                                                                \
    memset(&m, 0x5A, sizeof m);                                                       \
    er_error_clear(&err);                                                             \
    er_status st_ = (call);                                                           \
    CHECK_EQ_INT(st_, code);                                                          \
    CHECK(strstr(err.msg, needle) != NULL);                                           \
    if (!strstr(err.msg, needle)) printf("  message: %s\n", err.msg);                \
    CHECK(m.trees == NULL && m.n_trees == 0);                                         \
  } while (0)
  EXPECT(er_gbdt_train(X, 0, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "n == 0");
  EXPECT(er_gbdt_train(X, N, 0, y, w, NULL, &p, &m, &err), ER_E_RANGE, "0 features");
  EXPECT(er_gbdt_train(X, N, 256, y, w, NULL, &p, &m, &err), ER_E_RANGE, "256 features");
  EXPECT(er_gbdt_train(NULL, N, D, y, w, NULL, &p, &m, &err), ER_E_USAGE, "X is NULL");
  EXPECT(er_gbdt_train(X, N, D, NULL, w, NULL, &p, &m, &err), ER_E_USAGE, "y is NULL");
  EXPECT(er_gbdt_train(X, N, D, y, w, NULL, NULL, &m, &err), ER_E_USAGE, "parameters");
  CHECK(er_gbdt_train(X, N, D, y, w, NULL, &p, NULL, &err) == ER_E_USAGE);
  er_gbdt_params q;
  q = p; q.n_trees = 0;     EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "n_trees 0");
  q = p; q.n_trees = 129;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "n_trees 129");
  q = p; q.max_depth = 0;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "max_depth 0");
  q = p; q.max_depth = 7;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "max_depth 7");
  q = p; q.learning_rate = 0;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "learning_rate");
  q = p; q.learning_rate = NAN; EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "learning_rate");
  q = p; q.lambda = -1;         EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "lambda");
  q = p; q.lambda = INFINITY;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "lambda");
  q = p; q.min_child_weight = NAN; EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "min_child_weight");
  q = p; q.max_bins = 1;    EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "max_bins 1");
  q = p; q.max_bins = 256;  EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "max_bins 256");
  q = p; q.subsample = 0;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "subsample");
  q = p; q.subsample = 1.5; EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "subsample");
  q = p; q.objective = (er_gbdt_objective)2; EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_RANGE, "objective 2");
  y[3] = 0.5f;  EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "label of row 3");
  y[3] = NAN;   EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "label of row 3");
  y[3] = 2;     EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "label of row 3");
  y[3] = 1;
  w[5] = NAN;      EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "weight of row 5");
  w[5] = INFINITY; EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "weight of row 5");
  w[5] = -1;       EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &p, &m, &err), ER_E_RANGE, "weight of row 5");
  w[5] = 1;
  float wz[N] = {0};
  EXPECT(er_gbdt_train(X, N, D, y, wz, NULL, &p, &m, &err), ER_E_RANGE, "sum to 0");
  q = p; q.objective = ER_GBDT_PAIRWISE;
  EXPECT(er_gbdt_train(X, N, D, y, w, NULL, &q, &m, &err), ER_E_USAGE, "group ids");
  g[6] = 0;
  EXPECT(er_gbdt_train(X, N, D, y, w, g, &q, &m, &err), ER_E_RANGE, "group id of row 6 is 0 after 1");
  g[6] = 1;
  float yz[N] = {0};
  EXPECT(er_gbdt_train(X, N, D, yz, w, g, &q, &m, &err), ER_E_RANGE, "no group has both");
  /* a positive and a negative only in different groups: still no pair */
  uint32_t gi[N];
  for (int i = 0; i < N; i++) gi[i] = (uint32_t)i;
  EXPECT(er_gbdt_train(X, N, D, y, w, gi, &q, &m, &err), ER_E_RANGE, "no group has both");
  /* the good inputs train */
  CHECK(er_gbdt_train(X, N, D, y, w, g, &q, &m, &err) == ER_OK);
  er_gbdt_free(&m);
  CHECK(er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err) == ER_OK);
  er_gbdt_free(&m);
  /* edge shapes: one row; every value missing; every label 0; d = 255 */
  CHECK(er_gbdt_train(X, 1, D, y, NULL, NULL, &p, &m, &err) == ER_OK && m.trees[0].n_nodes == 1);
  er_gbdt_free(&m);
  float nanx[N * D];
  for (int i = 0; i < N * D; i++) nanx[i] = NAN;
  CHECK(er_gbdt_train(nanx, N, D, y, NULL, NULL, &p, &m, &err) == ER_OK && m.trees[0].n_nodes == 1);
  er_gbdt_free(&m);
  CHECK(er_gbdt_train(X, N, D, yz, NULL, NULL, &p, &m, &err) == ER_OK && isfinite(m.base_margin) && m.base_margin < -13);
  er_gbdt_free(&m);
  float *wide = malloc(sizeof(float) * 40 * 255), yw[40];
  uint64_t s = 7;
  for (int i = 0; i < 40 * 255; i++) wide[i] = urand(&s);
  for (int i = 0; i < 40; i++) yw[i] = (float)(wide[i * 255 + 254] > 0.5f);
  q = p; q.max_bins = 255; q.min_child_weight = 0; q.lambda = 0.1;
  CHECK(er_gbdt_train(wide, 40, 255, yw, NULL, NULL, &q, &m, &err) == ER_OK);
  if (m.trees) CHECK(m.trees[0].left[0] != -1 && m.trees[0].feature[0] == 254);
  er_gbdt_free(&m);
  free(wide);
#undef EXPECT
}

/* ---- end to end: trained model → er_pack_build → int8 engine --------------------- */

static er_pack_item simple_item(const char *sku) {
  er_pack_item it;
  memset(&it, 0, sizeof it);
  it.sku = sku;
  it.in_stock = it.visible = 1;
  return it;
}

static float f32_at(const uint8_t *p) {
  uint32_t u = er_rd32(p);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Walk the bundle's tree t and the model's tree t in lockstep for x: same
 * kind of node, feature, threshold, default direction and branch at every
 * step, and the bundle's int8 leaf is the model leaf quantized with scale s. */
static int lockstep(const er_bundle *b, const er_pack_tree *tr, uint32_t t, const float *x, double s) {
  const uint8_t *trs = b->sec[ER_SEC_TREES].p, *nodes = trs + 4 * (size_t)b->n_trees;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p, *thv = th + 4 * ((size_t)b->n_dense + 1);
  const uint8_t *base = nodes + 8 * (size_t)er_rd32(trs + 4 * t), *nd = base;
  int32_t i = 0;
  for (;;) {
    int bl = (nd[1] & ER_NODE_LEAF) != 0, ml = tr->left[i] == -1;
    if (bl != ml) return 0;
    if (bl) {
      double q = round((double)tr->leaf[i] / s);
      if (q > 127) q = 127;
      if (q < -127) q = -127;
      return (int8_t)nd[2] == (int8_t)q;
    }
    float bt = f32_at(thv + 4 * ((size_t)er_rd32(th + 4 * nd[0]) + er_rd16(nd + 2))), mt = tr->threshold[i];
    if (nd[0] != tr->feature[i] || !(bt == mt) || ((nd[1] & ER_NODE_DEFAULT_LEFT) != 0) != (tr->default_left[i] != 0)) return 0;
    float v = x[nd[0]];
    int bleft = v != v ? (nd[1] & ER_NODE_DEFAULT_LEFT) != 0 : v < bt;
    int mleft = v != v ? tr->default_left[i] != 0 : v < mt;
    if (bleft != mleft) return 0;
    nd = base + 8 * (size_t)er_rd16(nd + (bleft ? 4 : 6));
    i = mleft ? tr->left[i] : tr->right[i];
  }
}

static void test_pack_end_to_end(void) {
  enum { N = 8000, D = ER_DENSE_COUNT };
  float *X = malloc(sizeof(float) * N * D), *y = malloc(sizeof(float) * N);
  uint64_t s = 8;
  for (uint32_t i = 0; i < N; i++) {
    float *x = X + (size_t)i * D;
    for (uint32_t f = 0; f < D; f++) {
      x[f] = roundf(urand(&s) * 100.0f) / 100.0f - 0.5f; /* ties and exact boundaries */
      if (rnd(&s) % 8 == 0) x[f] = NAN;
    }
    if (i % 3 == 0) x[5] = -0.0f;
    double z = 2 * (x[0] == x[0] ? x[0] : 0.3) - 3 * fabs(x[4] == x[4] ? x[4] : 0) + (x[9] > 0.1f ? 1 : -0.5) + (x[15] != x[15] ? 1 : 0);
    y[i] = (float)(urand(&s) < sigmoid(2 * z));
  }
  er_gbdt_params p = params(40, 5, 0.2);
  er_gbdt_model m;
  er_error err;
  er_status st = er_gbdt_train(X, N, D, y, NULL, NULL, &p, &m, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  %s\n", err.msg); free(X); free(y); return; }
  er_pack_item items[3] = {simple_item("A"), simple_item("B"), simple_item("C")};
  er_pack_quant q;
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "gbdt-test-1";
  in.items = items;
  in.n_items = 3;
  in.model.kind = ER_MODEL_TREES;
  in.model.trees = m.trees;
  in.model.n_trees = m.n_trees;
  in.model.base_margin = m.base_margin;
  in.quant_out = &q;
  uint8_t *out = NULL;
  uint32_t len = 0;
  st = er_pack_build(&in, &out, &len, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  pack: %s\n", err.msg); er_gbdt_free(&m); free(X); free(y); return; }
  er_bundle b;
  st = er_bundle_load(&b, out, len, &err);
  CHECK(st == ER_OK);
  if (st) { printf("  load: %s\n", err.msg); goto done; }
  CHECK(b.model_kind == ER_MODEL_TREES && b.n_trees == m.n_trees);
  uint32_t nodes = 0;
  for (uint32_t t = 0; t < m.n_trees; t++) nodes += m.trees[t].n_nodes;
  CHECK_EQ_INT(b.n_nodes, nodes); /* every node reachable */
  /* documented int8 bound: each leaf within s/2, plus the Q16 base rounding
   * (2^-17) and the shift's truncation (< 2^-16) */
  double bound = m.n_trees * q.scale / 2 + 2.0 / 65536, worst = 0;
  er_dtrees dt;
  CHECK(er_dtrees_init(&dt, &b) == ER_OK);
  int32_t *batch = malloc(sizeof(int32_t) * N);
  uint64_t units = 0;
  er_score_trees_batch(&b, &dt, X, N, batch, &units);
  int steps_ok = 1, batch_ok = 1;
  for (uint32_t i = 0; i < N; i++) {
    const float *x = X + (size_t)i * D;
    int32_t q16 = er_score_trees(&b, x, &units);
    double e = fabs((double)q16 / 65536.0 - er_gbdt_predict(&m, x));
    if (e > worst) worst = e;
    if (batch[i] != q16) batch_ok = 0;
    for (uint32_t t = 0; t < m.n_trees; t++)
      if (!lockstep(&b, &m.trees[t], t, x, q.scale)) steps_ok = 0;
  }
  CHECK(worst <= bound);
  if (worst > bound) printf("  int8 error %.6f > bound %.6f\n", worst, bound);
  CHECK(steps_ok);
  CHECK(batch_ok);
  er_dtrees_free(&dt);
  free(batch);
done:
  free(out);
  er_gbdt_free(&m);
  free(X);
  free(y);
}

/* ---- benchmark (-DER_GBDT_BENCH) --------------------------------------------------------- */

#ifdef ER_GBDT_BENCH
/* 300k rows (or argv[1]) × 16 features, 128 trees of depth 6, verbose. */
static void bench(uint32_t n) {
  uint32_t d = 16;
  float *X = malloc(sizeof(float) * (size_t)n * d), *y = malloc(sizeof(float) * n);
  uint64_t s = 9;
  for (uint32_t i = 0; i < n; i++) {
    float *x = X + (size_t)i * d;
    for (uint32_t f = 0; f < d; f++) x[f] = rnd(&s) % 10 == 0 ? NAN : urand(&s) * (float)(f + 1);
    double z = x[0] - 0.5 + (x[3] == x[3] && x[3] < 1.0f ? 1 : -1) + 0.2 * (x[7] == x[7] ? x[7] : 0) - 0.8;
    y[i] = (float)(urand(&s) < sigmoid(z));
  }
  er_gbdt_params p = params(128, 6, 0.1);
  p.verbose = 1;
  er_gbdt_model m;
  er_error err;
  struct timespec a, b;
  timespec_get(&a, TIME_UTC);
  er_status st = er_gbdt_train(X, n, d, y, NULL, NULL, &p, &m, &err);
  timespec_get(&b, TIME_UTC);
  CHECK(st == ER_OK);
  if (st) { fprintf(stderr, "%s\n", err.msg); free(X); free(y); return; }
  printf("gbdt bench: %u rows x %u features, %u trees depth %u: %.2f s, train loss %.4f\n", n, d, p.n_trees, p.max_depth,
         (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9, m.train_loss);
  er_gbdt_free(&m);
  free(X);
  free(y);
}
#endif

int main(int argc, char **argv) {
#ifdef ER_GBDT_BENCH
  bench(argc > 1 ? (uint32_t)atoi(argv[1]) : 300000);
#else
  (void)argc;
  (void)argv;
#endif
  RUN(test_defaults);
  RUN(test_planted_xor);
  RUN(test_nan_routing);
  RUN(test_thresholds);
  RUN(test_limits);
  RUN(test_determinism);
  RUN(test_pairwise);
  RUN(test_bad_input);
  RUN(test_pack_end_to_end);
  return DONE();
}
