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
/* Scale an accumulator into a Q16 margin: base + (acc * mul) >> shift,
 * saturated to int32. */
int32_t er_score_margin(const er_bundle *b, int64_t acc);

#endif
