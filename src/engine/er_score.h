/* er_score.h — int8 scorers: linear over hashed sparse features and an
 * additive tree ensemble over the dense vector.  Integer margins (Q16),
 * int32 accumulation, deterministic on every runtime. */
#ifndef ER_SCORE_H
#define ER_SCORE_H

#include "er_features.h"

/* Margin (Q16) of a linear model for given sparse features.  Adds
 * one work unit per feature to *units. */
int32_t er_score_linear(const er_bundle *b, const uint64_t *hash, const int16_t *val_q8, uint32_t n, uint64_t *units);
/* Margin (Q16) of the tree ensemble for a dense vector (NaN = missing).
 * Adds one work unit per node visited. */
int32_t er_score_trees(const er_bundle *b, const float *x, uint64_t *units);
/* Score one candidate with the bundle's model (features + scorer). */
int32_t er_score_candidate(const er_shopper *s, const er_candidate *c, uint64_t *units);
/* Tree ensembles decoded once per engine for batch scoring: each node holds
 * its float32 threshold inline, leaves point to themselves so every tree can
 * be walked a fixed number of steps (its depth) without branches, several
 * candidates in lockstep.  Same decisions as er_score_trees, bit for bit. */
typedef struct {
  float thr;          /* threshold (+inf for a leaf)            */
  uint8_t feat, dl;   /* dense feature index, default-left flag */
  uint16_t pad;
  uint16_t left, right; /* node indices relative to the tree (self for a leaf) */
  int32_t leaf;       /* int8 leaf value (leaves only)          */
} er_dnode;

typedef struct {
  er_dnode *nodes;    /* all trees, in bundle order             */
  uint32_t *root;     /* first node of each tree                */
  uint8_t *depth;     /* steps from the root to the deepest leaf */
  uint32_t n_trees;
  uint32_t steps;     /* Σ depth: work units per candidate      */
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

/* Scale an accumulator into a Q16 margin: base + (acc * mul) >> shift,
 * saturated to int32. */
int32_t er_score_margin(const er_bundle *b, int64_t acc);

#endif
