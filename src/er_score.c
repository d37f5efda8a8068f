/* er_score.c — int8 linear and tree scoring. */
#include "er_score.h"

#include <string.h>

int32_t er_score_margin(const er_bundle *b, int64_t acc) {
  /* |acc| < 2^31 and mul < 2^31: the product fits in int64 */
  int64_t prod = acc * (int64_t)b->scale_mul;
  int64_t scaled = prod >= 0 ? (prod >> b->scale_shift) : -((-prod) >> b->scale_shift);
  int64_t m = (int64_t)b->base_q16 + scaled;
  if (m > INT32_MAX) return INT32_MAX;
  if (m < INT32_MIN) return INT32_MIN;
  return (int32_t)m;
}

int32_t er_score_linear(const er_bundle *b, const uint64_t *hash, const int16_t *val_q8, uint32_t n, uint64_t *units) {
  const int8_t *w = (const int8_t *)b->sec[ER_SEC_LINEAR].p;
  uint64_t mask = ((uint64_t)1 << b->bits) - 1;
  int32_t acc = 0; /* |w| <= 127, |v| <= 32767, n <= 32: fits */
  for (uint32_t k = 0; k < n; k++) acc += (int32_t)w[hash[k] & mask] * (int32_t)val_q8[k];
  *units += n;
  return er_score_margin(b, acc);
}

int32_t er_score_trees(const er_bundle *b, const float *x, uint64_t *units) {
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p;
  const uint8_t *thv = th + ((size_t)b->n_dense + 1) * 4;
  int32_t acc = 0;
  uint64_t visited = 0;
  for (uint32_t t = 0; t < b->n_trees; t++) {
    const uint8_t *base = nodes + 8 * (size_t)er_rd32(tr + 4 * (size_t)t);
    const uint8_t *nd = base;
    /* children are strictly after their parent (validated): this ends */
    while (!(nd[1] & ER_NODE_LEAF)) {
      visited++;
      float v = x[nd[0]];
      int left;
      if (v != v) left = nd[1] & ER_NODE_DEFAULT_LEFT;
      else {
        uint32_t bits = er_rd32(thv + 4 * ((size_t)er_rd32(th + 4 * (size_t)nd[0]) + er_rd16(nd + 2)));
        float t2;
        memcpy(&t2, &bits, 4);
        left = v < t2;
      }
      nd = base + 8 * (size_t)er_rd16(nd + (left ? 4 : 6));
    }
    visited++;
    acc += (int8_t)nd[2];
  }
  *units += visited;
  return er_score_margin(b, acc);
}

int32_t er_score_candidate(const er_shopper *s, const er_candidate *c, uint64_t *units) {
  if (s->b->model_kind == ER_MODEL_LINEAR) {
    uint64_t h[ER_MAX_SPARSE];
    int16_t v[ER_MAX_SPARSE];
    uint32_t n = er_features_sparse(s, c, h, v);
    *units += 4;
    return er_score_linear(s->b, h, v, n, units);
  }
  float x[ER_DENSE_COUNT];
  er_features_dense(s, c, x);
  *units += ER_DENSE_COUNT;
  return er_score_trees(s->b, x, units);
}
