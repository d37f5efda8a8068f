/* er_score.c — int8 linear and tree scoring. */
#include "er_score.h"

#include <stdlib.h>
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

er_status er_dtrees_init(er_dtrees *t, const er_bundle *b) {
  memset(t, 0, sizeof *t);
  if (b->model_kind != ER_MODEL_TREES) return ER_OK;
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p;
  const uint8_t *thv = th + ((size_t)b->n_dense + 1) * 4;
  t->nodes = malloc(sizeof(er_dnode) * (b->n_nodes ? b->n_nodes : 1));
  t->root = malloc(sizeof(uint32_t) * b->n_trees);
  t->depth = malloc(b->n_trees);
  uint8_t *d = malloc(b->n_nodes ? b->n_nodes : 1);
  if (!t->nodes || !t->root || !t->depth || !d) { free(d); er_dtrees_free(t); return ER_E_NOMEM; }
  t->n_trees = b->n_trees;
  for (uint32_t k = 0; k < b->n_trees; k++) {
    uint32_t root = er_rd32(tr + 4 * (size_t)k);
    uint32_t end = k + 1 < b->n_trees ? er_rd32(tr + 4 * (size_t)(k + 1)) : b->n_nodes;
    t->root[k] = root;
    uint8_t maxd = 0;
    for (uint32_t n = root; n < end; n++) d[n] = 0;
    for (uint32_t n = root; n < end; n++) { /* children come after parents (validated) */
      const uint8_t *nd = nodes + 8 * (size_t)n;
      er_dnode *o = &t->nodes[n];
      memset(o, 0, sizeof *o);
      if (nd[1] & ER_NODE_LEAF) {
        o->thr = __builtin_inff();
        o->left = o->right = (uint16_t)(n - root);
        o->leaf = (int8_t)nd[2];
        if (d[n] > maxd) maxd = d[n];
        continue;
      }
      uint32_t bits = er_rd32(thv + 4 * ((size_t)er_rd32(th + 4 * (size_t)nd[0]) + er_rd16(nd + 2)));
      memcpy(&o->thr, &bits, 4);
      o->feat = nd[0];
      o->dl = (nd[1] & ER_NODE_DEFAULT_LEFT) ? 1 : 0;
      o->left = er_rd16(nd + 4);
      o->right = er_rd16(nd + 6);
      uint8_t cd = d[n] < 255 ? (uint8_t)(d[n] + 1) : 255;
      if (d[root + o->left] < cd) d[root + o->left] = cd;
      if (d[root + o->right] < cd) d[root + o->right] = cd;
    }
    t->depth[k] = maxd;
    t->steps += maxd + 1u;
  }
  free(d);
  return ER_OK;
}

void er_dtrees_free(er_dtrees *t) {
  free(t->nodes);
  free(t->root);
  free(t->depth);
  memset(t, 0, sizeof *t);
}

#define LANES 8
void er_score_trees_batch(const er_bundle *b, const er_dtrees *t, const float *x, uint32_t n, int32_t *out, uint64_t *units) {
  for (uint32_t c0 = 0; c0 < n; c0 += LANES) {
    uint32_t m = n - c0 < LANES ? n - c0 : LANES;
    int32_t acc[LANES] = {0};
    const float *xs = x + (size_t)c0 * ER_DENSE_COUNT;
    for (uint32_t k = 0; k < t->n_trees; k++) {
      const er_dnode *base = t->nodes + t->root[k];
      uint32_t idx[LANES] = {0};
      for (uint32_t step = 0; step < t->depth[k]; step++) {
        for (uint32_t j = 0; j < m; j++) {
          const er_dnode *nd = base + idx[j];
          float v = xs[j * ER_DENSE_COUNT + nd->feat];
          int go_left = (v < nd->thr) | ((v != v) & nd->dl);
          idx[j] = go_left ? nd->left : nd->right;
        }
      }
      for (uint32_t j = 0; j < m; j++) acc[j] += base[idx[j]].leaf;
    }
    for (uint32_t j = 0; j < m; j++) out[c0 + j] = er_score_margin(b, acc[j]);
  }
  *units += (uint64_t)n * t->steps;
}

void er_score_many(const er_shopper *s, const er_dtrees *t, const er_candidate *c, uint32_t n, int32_t *out, uint64_t *units) {
  if (s->b->model_kind == ER_MODEL_LINEAR || !t || !t->nodes) {
    for (uint32_t k = 0; k < n; k++) out[k] = er_score_candidate(s, &c[k], units);
    return;
  }
  float x[LANES * 4 * ER_DENSE_COUNT];
  for (uint32_t c0 = 0; c0 < n; c0 += LANES * 4) {
    uint32_t m = n - c0 < LANES * 4 ? n - c0 : LANES * 4;
    for (uint32_t j = 0; j < m; j++) er_features_dense(s, &c[c0 + j], x + (size_t)j * ER_DENSE_COUNT);
    *units += (uint64_t)m * ER_DENSE_COUNT;
    er_score_trees_batch(s->b, t, x, m, out + c0, units);
  }
}
