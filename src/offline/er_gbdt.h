/* er_gbdt.h — a histogram gradient-boosted trees trainer (native only;
 * allocates with malloc, single-threaded, no global state).
 *
 * Features are binned once up front: per feature at most max_bins value bins
 * whose lower boundaries are float32 values taken from the data (the first
 * is the feature's minimum), plus a reserved bin for NaN.  A split between
 * value bins k and k+1 becomes the float32 test `x < lower boundary of bin
 * k+1`, so the trees the trainer emits route every training row exactly as
 * the bins did (a value equal to a boundary goes right).  Trees grow depth
 * by depth; histograms are built over the rows of a node, the larger child's
 * by subtraction from its parent.  Per split the missing-value direction is
 * chosen by gain (NaN left is tried first and kept on ties); a split on
 * "missing vs present" uses the feature's minimum as its threshold.
 *
 * Deterministic: the same inputs, parameters and seed give bit-identical
 * trees (fixed summation order, ties broken by feature then bin index, a
 * seeded splitmix64 for row / group / pair sampling). */
#ifndef ER_GBDT_H
#define ER_GBDT_H

#include "er_base.h"
#include "er_pack.h"

#define ER_GBDT_MAX_TREES 128u
#define ER_GBDT_MAX_DEPTH 6u
#define ER_GBDT_MAX_FEATURES 255u
#define ER_GBDT_MIN_GAIN 1e-6      /* a split must gain more than this (XGBoost's kRtEps) */
#define ER_GBDT_PAIRS_PER_POS 64u  /* pairwise: negatives per positive per tree (sampled when more) */

typedef enum { ER_GBDT_LOGISTIC = 0, ER_GBDT_PAIRWISE = 1 } er_gbdt_objective;

typedef struct {
  er_gbdt_objective objective; /* logistic: pointwise binary log-loss on y in {0,1};
                                  pairwise: RankNet logistic loss over (positive, negative)
                                  pairs within the same group */
  uint32_t n_trees;        /* 1..128, default 100                                   */
  uint32_t max_depth;      /* 1..6, default 6 (a root-only tree has depth 0)        */
  double learning_rate;    /* (0, 1], default 0.1                                   */
  double lambda;           /* L2 on leaf values, >= 0, default 1.0                  */
  double min_child_weight; /* min hessian sum per child, >= 0, default 1.0          */
  uint32_t max_bins;       /* 2..255 quantile bins per feature, default 64          */
  double subsample;        /* row (or group, for pairwise) fraction per tree, (0,1],
                              default 1: Bernoulli draws per tree                   */
  uint64_t seed;           /* default 0                                              */
  int verbose;             /* progress lines on stderr every 10 trees and at the
                              last: "gbdt: tree t/T loss L (S s)"                    */
} er_gbdt_params;

/* Fill *p with the defaults above. */
void er_gbdt_defaults(er_gbdt_params *p);

/* The trained ensemble in er_pack_tree's layout (er_pack_build takes
 * `trees`, `n_trees` and `base_margin` as they are).  Per tree: node 0 is
 * the root, children follow in creation (breadth-first) order; a leaf has
 * left == right == -1 and its value in `leaf` (already × learning_rate);
 * splits have leaf 0, leaves have feature 0, threshold 0, default_left 0. */
typedef struct {
  er_pack_tree *trees;     /* n_trees entries                                        */
  uint32_t n_trees;
  double base_margin;      /* logistic: logit of the weighted mean label (clamped to
                              [1e-6, 1 - 1e-6]); pairwise: 0                         */
  uint32_t n_features;     /* d at training time                                     */
  er_gbdt_objective objective;
  double train_loss;       /* final training loss: logistic, weighted mean log-loss
                              over every row; pairwise, weighted mean RankNet loss
                              over a fixed (seed-independent) draw of pairs          */
  /* owned storage behind the tree arrays: tree t's nodes start at
   * t × node_cap (node_cap = 2^(max_depth+1) − 1); unused slots are zero */
  uint32_t node_cap;
  int32_t *all_left, *all_right;
  uint32_t *all_feature;
  float *all_threshold, *all_leaf;
  uint8_t *all_default_left;
} er_gbdt_model;

/* Train.  X: n rows × d float32 features row-major (NaN = missing, ±inf
 * allowed).  y: labels, exactly 0 or 1.  w: per-row weights (0..1e6)
 * or NULL for all 1; logistic weighs each row's loss, pairwise weighs a pair
 * by w[pos] × w[neg].  group: pairwise only (ignored for logistic), per-row
 * group id, the rows of a group contiguous with non-decreasing ids; every
 * (y = 1, y = 0) pair of a group counts, at most ER_GBDT_PAIRS_PER_POS
 * negatives per positive (sampled per tree when a group has more).
 * Errors: ER_E_USAGE (NULL pointers, missing group for pairwise), ER_E_RANGE
 * (n == 0, d outside 1..255, a parameter out of range, a label not 0/1, a
 * NaN/inf/negative weight, weights summing to 0, decreasing group ids, no
 * group with both a positive and a negative), ER_E_LIMIT (n × d too large),
 * ER_E_NOMEM; the message names the row / parameter.  On error *m is
 * zeroed (nothing to free); on success release it with er_gbdt_free. */
er_status er_gbdt_train(const float *X, uint32_t n, uint32_t d, const float *y, const float *w, const uint32_t *group,
                        const er_gbdt_params *p, er_gbdt_model *m, er_error *err);

/* Release a model's storage (a zeroed model or NULL is fine). */
void er_gbdt_free(er_gbdt_model *m);

/* Raw margin of one row x[0..n_features): base_margin + Σ leaf (as double),
 * walking each tree with the float32 tests above. */
double er_gbdt_predict(const er_gbdt_model *m, const float *x);

#endif
