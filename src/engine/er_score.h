/* er_score.h — int8 scorers: linear over hashed sparse features and an
 * additive tree ensemble over the dense vector.  Integer margins (Q16),
 * int32 accumulation, deterministic on every runtime. */
#ifndef ER_SCORE_H
#define ER_SCORE_H

#include "er_features.h"

/* Margin (Q16) of a linear model for given sparse features.  Adds
 * one work unit per feature to *units. */
int32_t er_score_linear(const er_bundle *b, const uint64_t *hash, const int16_t *val_q8, uint32_t n, uint64_t *units);
/* The same for features in er_features' wire form: n pairs (u32 bucket,
 * i32 value Q8 of which the low 16 bits count) little-endian at p. */
int32_t er_score_linear_wire(const er_bundle *b, const uint8_t *p, uint32_t n, uint64_t *units);
/* Score linear records of er_features_for's layout (u32 m, m wire pairs,
 * ER_DENSE_COUNT floats) from byte *at of f[0..len) into out[0..n), in one
 * loop; stops at the first record that does not fit (or whose m passes
 * ER_MAX_SPARSE) and returns how many were scored, with *at at that record.
 * Adds one work unit per pair. */
uint32_t er_score_linear_records(const er_bundle *b, const uint8_t *f, uint32_t len, uint32_t *at, uint32_t n, int32_t *out,
                                 uint64_t *units);
/* Margin (Q16) of the tree ensemble for a dense vector (NaN = missing).
 * Adds one work unit per node visited. */
int32_t er_score_trees(const er_bundle *b, const float *x, uint64_t *units);
/* Score one candidate with the bundle's model (features + scorer). */
int32_t er_score_candidate(const er_shopper *s, const er_candidate *c, uint64_t *units);
/* Tree ensembles decoded once per engine for batch scoring.
 *
 * The fast path ("binned"): every split feature's float32 value is turned
 * once per candidate into a bin, the number of that feature's thresholds
 * <= x (at most 255 thresholds a feature), so x < thresholds[f][k] holds
 * exactly when bin <= k; a missing value takes bin 0 (default left: left at
 * every split) or bin n_f (default right).  Each tree is padded to a complete
 * binary tree of its depth (a leaf above the bottom becomes splits that always
 * go left), and 16 candidates are scored at once, one per byte lane, bottom
 * up: a node's value is its left or right child's, chosen by the lane's
 * comparison, the bottom nodes choose between two int8 leaves.  Only
 * integer compares, selects and adds: the same bits on every runtime, with
 * or without SIMD, and the same decisions as er_score_trees.
 *
 * The fallback ("lockstep", for trees deeper than ER_DTREES_MAX_DEPTH, a
 * feature with more than 255 thresholds, node vectors past ER_DTREES_MAX_BYTES
 * (16 bytes a complete-tree node, 2^(depth+1) - 1 a tree), or a wasm build
 * without simd128): each node holds its float32
 * threshold inline, leaves point to themselves so every tree is walked a
 * fixed number of steps (its depth), several candidates in lockstep. */
#define ER_DTREES_MAX_DEPTH 8
#define ER_DTREES_MAX_BYTES (16u << 20) /* node vectors past this: the lockstep walk */
typedef struct {
  float thr;          /* threshold (+inf for a leaf)            */
  uint8_t feat, dl;   /* dense feature index, default-left flag */
  uint16_t pad;
  uint16_t left, right; /* node indices relative to the tree (self for a leaf) */
  int32_t leaf;       /* int8 leaf value (leaves only)          */
} er_dnode;

typedef struct {
  /* lockstep fallback (NULL when the binned path applies) */
  er_dnode *nodes;    /* all trees, in bundle order             */
  uint32_t *root;     /* first node of each tree                */
  uint8_t *depth;     /* steps from the root to the deepest leaf */
  uint32_t n_trees;
  uint32_t steps;     /* Σ (depth + 1): work units per candidate */
  /* binned path (binned != 0) */
  int binned;
  void *mem;          /* one allocation for everything below    */
  uint8_t *vec;       /* 16-byte aligned node vectors, tree after tree */
  uint32_t *voff;     /* per tree: first vector (in 16-byte units) */
  uint16_t *soff;     /* per complete-tree node: its slot's byte offset */
  uint32_t *noff;     /* per tree: first entry in soff          */
  uint8_t *tdepth;    /* per tree: depth of the complete tree (0: a leaf) */
  float *thr;         /* per used feature: splitters and thresholds (16-byte aligned) */
  uint32_t n_slots;   /* (feature, default direction) pairs split on */
  uint8_t n_feat;     /* features split on                      */
  uint8_t feat[ER_DENSE_COUNT];     /* their dense indices      */
  uint8_t fblocks[ER_DENSE_COUNT];  /* blocks of 16 thresholds (NaN-padded); more than one: 16 splitters first */
  uint8_t fn[ER_DENSE_COUNT];       /* threshold count (the default-right bin) */
  int16_t slot[ER_DENSE_COUNT][2];  /* slot of (feature, default left?), -1: unused */
  uint32_t thr_off[ER_DENSE_COUNT]; /* start of each feature's padded thresholds in thr */
  int32_t leaf_sum;   /* Σ leaves of single-leaf trees          */
} er_dtrees;

/* Decode the bundle's trees (malloc); ER_E_NOMEM on failure.  A linear
 * bundle gives an empty er_dtrees. */
er_status er_dtrees_init(er_dtrees *t, const er_bundle *b);
void er_dtrees_free(er_dtrees *t);
/* Margins (Q16) of n dense vectors x[n][ER_DENSE_COUNT]; adds n × steps units. */
void er_score_trees_batch(const er_bundle *b, const er_dtrees *t, const float *x, uint32_t n, int32_t *out, uint64_t *units);
/* Score n candidates with the bundle's model: features, then the scorer
 * (trees in batches).  out[k] is candidate k's margin (Q16). */
void er_score_many(const er_shopper *s, const er_dtrees *t, const er_candidate *c, uint32_t n, int32_t *out, uint64_t *units);

/* Work units er_score_many adds per candidate when that is the same for
 * every candidate (trees: dense features + Σ (depth + 1)); 0 otherwise. */
uint64_t er_score_units_per_candidate(const er_bundle *b, const er_dtrees *t);

/* Scale an accumulator into a Q16 margin: base + (acc * mul) >> shift,
 * saturated to int32. */
int32_t er_score_margin(const er_bundle *b, int64_t acc);

#endif
