/* er_score.c — int8 linear and tree scoring. */
#include "er_score.h"

#include <stdlib.h>
#include <string.h>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

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

/* The integer dot product of n wire pairs (u32 bucket, i32 value of which
 * the low 16 bits count, little-endian at p) with the int8 weights. */
static inline int32_t wire_dot(const int8_t *w, uint32_t mask, const uint8_t *p, uint32_t n) {
  int32_t acc = 0; /* |w| <= 127, |v| <= 32767, n <= 32: fits */
  uint32_t k = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* four pairs at a time: buckets and values deinterleaved in vector lanes,
   * the four weights gathered, one vector multiply-add (same integers) */
  typedef int32_t v4s __attribute__((vector_size(16)));
  v4s va = {0, 0, 0, 0};
  for (; k + 4 <= n; k += 4, p += 32) {
    v4s lo, hi;
    memcpy(&lo, p, 16);
    memcpy(&hi, p + 16, 16);
    v4s bk = __builtin_shufflevector(lo, hi, 0, 2, 4, 6) & (int32_t)mask;
    v4s vals = __builtin_shufflevector(lo, hi, 1, 3, 5, 7);
    vals = (v4s)((vals << 16) >> 16); /* the low 16 bits, signed */
    v4s ws = {w[bk[0]], w[bk[1]], w[bk[2]], w[bk[3]]};
    va += ws * vals;
  }
  acc = va[0] + va[1] + va[2] + va[3];
#endif
  for (; k < n; k++, p += 8) acc += (int32_t)w[er_rd32(p) & mask] * (int32_t)(int16_t)er_rd16(p + 4);
  return acc;
}

int32_t er_score_linear_wire(const er_bundle *b, const uint8_t *p, uint32_t n, uint64_t *units) {
  *units += n;
  return er_score_margin(b, wire_dot((const int8_t *)b->sec[ER_SEC_LINEAR].p, (uint32_t)(((uint64_t)1 << b->bits) - 1), p, n));
}

uint32_t er_score_linear_records(const er_bundle *b, const uint8_t *f, uint32_t len, uint32_t *at, uint32_t n, int32_t *out,
                                 uint64_t *units) {
  const int8_t *w = (const int8_t *)b->sec[ER_SEC_LINEAR].p;
  uint32_t mask = (uint32_t)(((uint64_t)1 << b->bits) - 1), a = *at, c = 0;
  uint64_t pairs = 0;
  for (; c < n; c++) {
    if (a > len || len - a < 4) break;
    uint32_t m = er_rd32(f + a);
    if (m > ER_MAX_SPARSE || (uint64_t)m * 8 + 4 * ER_DENSE_COUNT > len - a - 4) break;
    out[c] = er_score_margin(b, wire_dot(w, mask, f + a + 4, m));
    pairs += m;
    a += 4 + 8 * m + 4 * ER_DENSE_COUNT;
  }
  *units += pairs;
  *at = a;
  return c;
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
  if (s->b->model_kind == ER_MODEL_LINEAR) { /* er_score_linear over er_features_sparse, without the arrays */
    uint32_t n;
    int32_t acc = er_features_linear_dot(s, c, &n);
    *units += 4 + (uint64_t)n;
    return er_score_margin(s->b, acc);
  }
  float x[ER_DENSE_COUNT];
  er_features_dense(s, c, x);
  *units += ER_DENSE_COUNT;
  return er_score_trees(s->b, x, units);
}

/* ---- lockstep fallback -------------------------------------------------- */

static er_status lockstep_init(er_dtrees *t, const er_bundle *b) {
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p;
  const uint8_t *thv = th + ((size_t)b->n_dense + 1) * 4;
  t->nodes = malloc(sizeof(er_dnode) * (b->n_nodes ? b->n_nodes : 1));
  t->root = malloc(sizeof(uint32_t) * b->n_trees);
  if (!t->nodes || !t->root) return ER_E_NOMEM;
  for (uint32_t k = 0; k < b->n_trees; k++) {
    uint32_t root = er_rd32(tr + 4 * (size_t)k);
    uint32_t end = k + 1 < b->n_trees ? er_rd32(tr + 4 * (size_t)(k + 1)) : b->n_nodes;
    t->root[k] = root;
    for (uint32_t n = root; n < end; n++) {
      const uint8_t *nd = nodes + 8 * (size_t)n;
      er_dnode *o = &t->nodes[n];
      memset(o, 0, sizeof *o);
      if (nd[1] & ER_NODE_LEAF) {
        o->thr = __builtin_inff();
        o->left = o->right = (uint16_t)(n - root);
        o->leaf = (int8_t)nd[2];
        continue;
      }
      uint32_t bits = er_rd32(thv + 4 * ((size_t)er_rd32(th + 4 * (size_t)nd[0]) + er_rd16(nd + 2)));
      memcpy(&o->thr, &bits, 4);
      o->feat = nd[0];
      o->dl = (nd[1] & ER_NODE_DEFAULT_LEFT) ? 1 : 0;
      o->left = er_rd16(nd + 4);
      o->right = er_rd16(nd + 6);
    }
  }
  return ER_OK;
}

/* ---- binned path -------------------------------------------------------- */

typedef int8_t v16 __attribute__((vector_size(16)));
typedef int16_t v8s __attribute__((vector_size(16)));
#define CHUNK 128 /* candidates binned and scored together (8 vectors): B[slot][CHUNK] */

/* Depth of every complete tree (reachable nodes only); 0 when the binned
 * path does not apply (too deep, a node with two parents, a feature with
 * more than 255 thresholds).  pos: scratch, one per bundle node. */
static int binned_plan(const er_bundle *b, uint32_t *pos, uint8_t *tdepth, uint64_t *n_vec, uint64_t *n_soff) {
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p;
  if (b->n_dense != ER_DENSE_COUNT) return 0;
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++)
    if (er_rd32(th + 4 * (size_t)(f + 1)) - er_rd32(th + 4 * (size_t)f) > 255) return 0;
  *n_vec = *n_soff = 0;
  for (uint32_t k = 0; k < b->n_trees; k++) {
    uint32_t root = er_rd32(tr + 4 * (size_t)k);
    uint32_t end = k + 1 < b->n_trees ? er_rd32(tr + 4 * (size_t)(k + 1)) : b->n_nodes;
    for (uint32_t n = root; n < end; n++) pos[n] = UINT32_MAX;
    pos[root] = 0;
    uint32_t maxd = 0;
    for (uint32_t n = root; n < end; n++) { /* children come after parents (validated) */
      if (pos[n] == UINT32_MAX) continue;   /* unreachable */
      uint32_t lvl = 31 - (uint32_t)__builtin_clz(pos[n] + 1);
      if (lvl > maxd) maxd = lvl;
      if (lvl > ER_DTREES_MAX_DEPTH) return 0;
      const uint8_t *nd = nodes + 8 * (size_t)n;
      if (nd[1] & ER_NODE_LEAF) continue;
      if (lvl == ER_DTREES_MAX_DEPTH) return 0;
      uint32_t l = root + er_rd16(nd + 4), r = root + er_rd16(nd + 6);
      if (l == r || pos[l] != UINT32_MAX || pos[r] != UINT32_MAX) return 0;
      pos[l] = 2 * pos[n] + 1;
      pos[r] = 2 * pos[n] + 2;
    }
    tdepth[k] = (uint8_t)maxd;
    if (maxd) { *n_vec += (2u << maxd) - 1; *n_soff += (1u << maxd) - 1; }
  }
  return 1;
}

/* Fill complete-tree positions [p] and below (to depth d) for a leaf at p:
 * splits that always go left, and the leaf's value at the bottom. */
static void pad_leaf(v16 *K, v16 *LD, uint16_t *so, uint32_t p, uint32_t d, int8_t leaf) {
  uint32_t lo = p, hi = p, bottom = (1u << (d - 1)) - 1; /* first bottom split */
  for (;;) {
    uint32_t lvl = 31 - (uint32_t)__builtin_clz(lo + 1);
    if (lvl == d) { /* leaves: position q is child (q - 1) & 1 of split (q - 1) / 2 */
      for (uint32_t q = lo; q <= hi; q++) {
        uint32_t j = (q - 1) / 2 - bottom;
        LD[2 * j + ((q - 1) & 1)] = (v16){0} + leaf; /* L, R (made L ^ R later) */
      }
      return;
    }
    for (uint32_t q = lo; q <= hi; q++) { K[q] = (v16){0} + 127; so[q] = 0; }
    lo = 2 * lo + 1;
    hi = 2 * hi + 2;
  }
}

static er_status binned_init(er_dtrees *t, const er_bundle *b) {
#if defined(__wasm__) && !defined(__wasm_simd128__)
  /* a wasm build without -msimd128: the byte vectors become scalar code, 4x
   * slower than the lockstep walk, which is used instead (same bits) */
  (void)t;
  (void)b;
  return ER_OK;
#endif
  uint32_t *pos = malloc(sizeof(uint32_t) * (b->n_nodes ? b->n_nodes : 1));
  uint8_t *tdepth = malloc(b->n_trees);
  uint64_t n_vec, n_soff;
  if (!pos || !tdepth) { free(pos); free(tdepth); return ER_E_NOMEM; }
  if (!binned_plan(b, pos, tdepth, &n_vec, &n_soff) || n_vec > ER_DTREES_MAX_BYTES / 16) { free(pos); free(tdepth); return ER_OK; }
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  const uint8_t *th = b->sec[ER_SEC_THRESHOLDS].p;
  const uint8_t *thv = th + ((size_t)b->n_dense + 1) * 4;
  /* which (feature, default direction) pairs are split on */
  memset(t->slot, 0xff, sizeof t->slot);
  for (uint32_t n = 0; n < b->n_nodes; n++) {
    const uint8_t *nd = nodes + 8 * (size_t)n;
    if (!(nd[1] & ER_NODE_LEAF)) t->slot[nd[0]][(nd[1] & ER_NODE_DEFAULT_LEFT) ? 1 : 0] = 0;
  }
  uint32_t n_thr = 0;
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++) {
    for (int dl = 0; dl < 2; dl++) if (t->slot[f][dl] == 0) t->slot[f][dl] = (int16_t)t->n_slots++;
    if (t->slot[f][0] < 0 && t->slot[f][1] < 0) continue;
    uint32_t cnt = er_rd32(th + 4 * (size_t)(f + 1)) - er_rd32(th + 4 * (size_t)f), nb = cnt / 16 + 1;
    t->feat[t->n_feat++] = (uint8_t)f;
    t->fn[f] = (uint8_t)cnt;
    t->fblocks[f] = (uint8_t)nb;
    t->thr_off[f] = n_thr;
    n_thr += 16 * nb + (nb > 1 ? 16 : 0);
  }
  size_t sz_vec = 16 * (size_t)n_vec, sz_voff = 4 * (size_t)b->n_trees, sz_so = 2 * (size_t)n_soff + 2, sz_thr = 4 * (size_t)n_thr;
  t->mem = malloc(sz_vec + 16 + 2 * sz_voff + sz_so + sz_thr + b->n_trees + 8);
  if (!t->mem) { free(pos); free(tdepth); return ER_E_NOMEM; }
  uint8_t *m = t->mem;
  t->vec = (uint8_t *)(((uintptr_t)m + 15) & ~(uintptr_t)15);
  t->thr = (float *)(void *)(t->vec + sz_vec);
  t->voff = (uint32_t *)(void *)((uint8_t *)t->thr + sz_thr);
  t->noff = t->voff + b->n_trees;
  t->soff = (uint16_t *)(void *)(t->noff + b->n_trees);
  t->tdepth = (uint8_t *)(t->soff) + sz_so;
  memcpy(t->tdepth, tdepth, b->n_trees);
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++) {
    if (t->slot[f][0] < 0 && t->slot[f][1] < 0) continue;
    float *sp = t->thr + t->thr_off[f], *dst = sp + (t->fblocks[f] > 1 ? 16 : 0);
    for (uint32_t k = 0; k < 16u * t->fblocks[f]; k++) {
      if (k < t->fn[f]) {
        uint32_t bits = er_rd32(thv + 4 * ((size_t)er_rd32(th + 4 * (size_t)f) + k));
        memcpy(&dst[k], &bits, 4);
      } else dst[k] = __builtin_nanf("");
    }
    /* splitter i: the last threshold of block i (NaN when past the end) */
    if (t->fblocks[f] > 1) for (uint32_t i = 0; i < 16; i++) sp[i] = 16 * i + 15 < t->fn[f] ? dst[16 * i + 15] : __builtin_nanf("");
  }
  uint32_t vo = 0, no = 0;
  for (uint32_t k = 0; k < b->n_trees; k++) {
    uint32_t root = er_rd32(tr + 4 * (size_t)k);
    uint32_t end = k + 1 < b->n_trees ? er_rd32(tr + 4 * (size_t)(k + 1)) : b->n_nodes;
    uint32_t d = tdepth[k];
    t->voff[k] = vo;
    t->noff[k] = no;
    if (!d) { t->leaf_sum += (int8_t)nodes[8 * (size_t)root + 2]; continue; }
    v16 *K = (v16 *)(void *)(t->vec + 16 * (size_t)vo), *LD = K + ((1u << d) - 1);
    uint16_t *so = t->soff + no;
    for (uint32_t n = root; n < end; n++) {
      if (pos[n] == UINT32_MAX) continue;
      const uint8_t *nd = nodes + 8 * (size_t)n;
      if (nd[1] & ER_NODE_LEAF) {
        uint32_t p = pos[n];
        if (31 - (uint32_t)__builtin_clz(p + 1) == d) { /* a bottom leaf */
          uint32_t j = (p - 1) / 2 - ((1u << (d - 1)) - 1);
          LD[2 * j + ((p - 1) & 1)] = (v16){0} + (int8_t)nd[2];
        } else pad_leaf(K, LD, so, p, d, (int8_t)nd[2]);
        continue;
      }
      K[pos[n]] = (v16){0} + (int8_t)(er_rd16(nd + 2) - 128);
      so[pos[n]] = (uint16_t)(CHUNK * t->slot[nd[0]][(nd[1] & ER_NODE_DEFAULT_LEFT) ? 1 : 0]);
    }
    /* the bottom pairs so far hold L and R: make them L and L ^ R */
    for (uint32_t j = 0; j < (1u << (d - 1)); j++) LD[2 * j + 1] ^= LD[2 * j];
    vo += (2u << d) - 1;
    no += (1u << d) - 1;
  }
  free(pos);
  free(tdepth);
  t->binned = 1;
  return ER_OK;
}

er_status er_dtrees_init(er_dtrees *t, const er_bundle *b) {
  memset(t, 0, sizeof *t);
  if (b->model_kind != ER_MODEL_TREES) return ER_OK;
  const uint8_t *tr = b->sec[ER_SEC_TREES].p;
  const uint8_t *nodes = tr + (size_t)b->n_trees * 4;
  t->n_trees = b->n_trees;
  t->depth = malloc(b->n_trees);
  uint8_t *d = malloc(b->n_nodes ? b->n_nodes : 1);
  if (!t->depth || !d) { free(d); er_dtrees_free(t); return ER_E_NOMEM; }
  /* work units: Σ (depth + 1), the depth over the tree's node range */
  for (uint32_t k = 0; k < b->n_trees; k++) {
    uint32_t root = er_rd32(tr + 4 * (size_t)k);
    uint32_t end = k + 1 < b->n_trees ? er_rd32(tr + 4 * (size_t)(k + 1)) : b->n_nodes;
    uint8_t maxd = 0;
    for (uint32_t n = root; n < end; n++) d[n] = 0;
    for (uint32_t n = root; n < end; n++) { /* children come after parents (validated) */
      const uint8_t *nd = nodes + 8 * (size_t)n;
      if (nd[1] & ER_NODE_LEAF) { if (d[n] > maxd) maxd = d[n]; continue; }
      uint8_t cd = d[n] < 255 ? (uint8_t)(d[n] + 1) : 255;
      uint32_t l = root + er_rd16(nd + 4), r = root + er_rd16(nd + 6);
      if (d[l] < cd) d[l] = cd;
      if (d[r] < cd) d[r] = cd;
    }
    t->depth[k] = maxd;
    t->steps += maxd + 1u;
  }
  er_status st = binned_init(t, b);
  if (!st && !t->binned) st = lockstep_init(t, b);
  free(d);
  if (st) er_dtrees_free(t);
  return st;
}

void er_dtrees_free(er_dtrees *t) {
  free(t->nodes);
  free(t->root);
  free(t->depth);
  free(t->mem);
  memset(t, 0, sizeof *t);
}

typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

/* How many of the 16 values at p (16-byte aligned, sorted, NaN-padded) are <= x. */
static inline uint32_t count16(const float *p, float x) {
  const v4f *q = (const v4f *)(const void *)p;
  v4f xs = (v4f){0} + x;
  v4i c0 = q[0] <= xs, c1 = q[1] <= xs, c2 = q[2] <= xs, c3 = q[3] <= xs;
#if defined(__wasm_simd128__)
  /* the 16 masks packed to bytes, one bit each: a popcount */
  v128_t m = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4((v128_t)c0, (v128_t)c1), wasm_i16x8_narrow_i32x4((v128_t)c2, (v128_t)c3));
  return (uint32_t)__builtin_popcount(wasm_i8x16_bitmask(m));
#else
  v4i s = c0 + c1 + c2 + c3;
  s += __builtin_shufflevector(s, s, 2, 3, 0, 1);
  s += __builtin_shufflevector(s, s, 1, 0, 3, 2);
  return (uint32_t)-s[0];
#endif
}

/* Bin m (<= CHUNK) dense vectors into B[slot][candidate] (biased by -128
 * so the compare is signed); candidates past m get bin 0.  A bin is counted
 * 16 thresholds at a time: which block (against the blocks' last
 * thresholds), then within the block. */
static void bin_chunk(const er_dtrees *t, const float *x, uint32_t m, int8_t *B) {
  memset(B, -128, (size_t)t->n_slots * CHUNK);
  for (uint32_t i = 0; i < t->n_feat; i++) {
    uint32_t f = t->feat[i], nf = t->fn[f], two = t->fblocks[f] > 1;
    const float *sp = t->thr + t->thr_off[f], *thr = sp + (two ? 16 : 0);
    int sR = t->slot[f][0], sL = t->slot[f][1];
    for (uint32_t c = 0; c < m; c++) {
      float v = x[(size_t)c * ER_DENSE_COUNT + f];
      uint32_t blk = two ? count16(sp, v) : 0;
      uint32_t binL = 16 * blk + count16(thr + 16 * blk, v), binR = binL;
      if (v != v) { binL = 0; binR = nf; }
      if (sR >= 0) B[CHUNK * sR + c] = (int8_t)(binR - 128);
      if (sL >= 0) B[CHUNK * sL + c] = (int8_t)(binL - 128);
    }
  }
}

/* Values (int8 leaves, 16 lanes) of one complete tree of depth d >= 1 for
 * G groups of 16 candidates (bins of group g at Bg + 16 g), level by level
 * from the bottom; a node's threshold and slot are loaded once for the G groups. */
static inline __attribute__((always_inline)) void tree_g(const v16 *K, const uint16_t *so, uint32_t d, const uint8_t *Bg, v16 *tmp, v16 *out,
                                                         const uint32_t G) {
  const v16 *LD = K + ((1u << d) - 1);
  uint32_t first, cnt;
  if (d == 1) {
    const v16 *bp = (const v16 *)(const void *)(Bg + so[0]);
    for (uint32_t g = 0; g < G; g++) out[g] = LD[0] ^ (LD[1] & (bp[g] > K[0]));
    return;
  }
  /* the two bottom levels at once: a split over two bottom splits */
  first = (1u << (d - 2)) - 1;
  cnt = 1u << (d - 2);
  for (uint32_t j = 0; j < cnt; j++) {
    uint32_t n = first + j;
    const v16 *bp = (const v16 *)(const void *)(Bg + so[n]);
    const v16 *bl = (const v16 *)(const void *)(Bg + so[2 * n + 1]), *br = (const v16 *)(const void *)(Bg + so[2 * n + 2]);
    v16 k = K[n], kl = K[2 * n + 1], kr = K[2 * n + 2];
    v16 l0 = LD[4 * j], d0 = LD[4 * j + 1], l1 = LD[4 * j + 2], d1 = LD[4 * j + 3];
    for (uint32_t g = 0; g < G; g++) {
      v16 a = l0 ^ (d0 & (bl[g] > kl)), bb = l1 ^ (d1 & (br[g] > kr));
      tmp[G * j + g] = a ^ ((a ^ bb) & (bp[g] > k));
    }
  }
  /* tmp holds the values of level d - 2; up two levels at a time, then one */
  for (uint32_t lvl = d - 2; lvl >= 2; lvl -= 2) {
    cnt = 1u << (lvl - 2);
    first = cnt - 1;
    for (uint32_t j = 0; j < cnt; j++) {
      uint32_t n = first + j;
      const v16 *bp = (const v16 *)(const void *)(Bg + so[n]);
      const v16 *bl = (const v16 *)(const void *)(Bg + so[2 * n + 1]), *br = (const v16 *)(const void *)(Bg + so[2 * n + 2]);
      v16 k = K[n], kl = K[2 * n + 1], kr = K[2 * n + 2];
      for (uint32_t g = 0; g < G; g++) {
        v16 t0 = tmp[G * 4 * j + g], t1 = tmp[G * (4 * j + 1) + g], t2 = tmp[G * (4 * j + 2) + g], t3 = tmp[G * (4 * j + 3) + g];
        v16 a = t0 ^ ((t0 ^ t1) & (bl[g] > kl)), bb = t2 ^ ((t2 ^ t3) & (br[g] > kr));
        tmp[G * j + g] = a ^ ((a ^ bb) & (bp[g] > k));
      }
    }
  }
  if (d % 2) { /* one level left: the root over tmp[0], tmp[1] */
    const v16 *bp = (const v16 *)(const void *)(Bg + so[0]);
    for (uint32_t g = 0; g < G; g++) {
      v16 a = tmp[g], bb = tmp[G + g];
      out[g] = a ^ ((a ^ bb) & (bp[g] > K[0]));
    }
  } else
    for (uint32_t g = 0; g < G; g++) out[g] = tmp[g];
}
#define TREE_G(G)                                                                                                \
  static void tree_g##G(const v16 *K, const uint16_t *so, uint32_t d, const uint8_t *Bg, v16 *tmp, v16 *out) { \
    tree_g(K, so, d, Bg, tmp, out, G);                                                                           \
  }
TREE_G(8)
TREE_G(4)
TREE_G(2)
TREE_G(1)

static void binned_batch(const er_bundle *b, const er_dtrees *t, const float *x, uint32_t n, int32_t *out) {
  v16 B[2 * ER_DENSE_COUNT * CHUNK / 16];
  v16 tmp[(CHUNK / 16) << 5]; /* depth <= 6: 8 groups; deeper: 2 groups at a time */
  v8s acc[CHUNK / 16][2];
  int32_t sum[CHUNK];
  for (uint32_t c0 = 0; c0 < n; c0 += CHUNK) {
    uint32_t m = n - c0 < CHUNK ? n - c0 : CHUNK, G = (m + 15) / 16;
    bin_chunk(t, x + (size_t)c0 * ER_DENSE_COUNT, m, (int8_t *)B);
    memset(acc, 0, sizeof acc);
    for (uint32_t c = 0; c < m; c++) sum[c] = t->leaf_sum;
    uint32_t since = 0;
    for (uint32_t k = 0; k < t->n_trees; k++) {
      uint32_t d = t->tdepth[k];
      if (!d) continue;
      const v16 *K = (const v16 *)(const void *)(t->vec + 16 * (size_t)t->voff[k]);
      const uint16_t *so = t->soff + t->noff[k];
      v16 v[CHUNK / 16];
      for (uint32_t g = 0; g < G;) {
        const uint8_t *Bg = (const uint8_t *)(B + g);
        if (d > 6 && G - g >= 2) { tree_g2(K, so, d, Bg, tmp, v + g); g += 2; }
        else if (G - g >= 8) { tree_g8(K, so, d, Bg, tmp, v + g); g += 8; }
        else if (G - g >= 4) { tree_g4(K, so, d, Bg, tmp, v + g); g += 4; }
        else if (G - g >= 2) { tree_g2(K, so, d, Bg, tmp, v + g); g += 2; }
        else { tree_g1(K, so, d, Bg, tmp, v + g); g += 1; }
      }
      for (uint32_t g = 0; g < G; g++) {
        acc[g][0] += __builtin_convertvector(__builtin_shufflevector(v[g], v[g], 0, 1, 2, 3, 4, 5, 6, 7), v8s);
        acc[g][1] += __builtin_convertvector(__builtin_shufflevector(v[g], v[g], 8, 9, 10, 11, 12, 13, 14, 15), v8s);
      }
      if (++since == 256) { /* 256 int8 leaves: -32768..32512, int16 holds it */
        for (uint32_t c = 0; c < m; c++) sum[c] += acc[c / 16][(c % 16) / 8][c % 8];
        memset(acc, 0, sizeof acc);
        since = 0;
      }
    }
    for (uint32_t c = 0; c < m; c++) out[c0 + c] = er_score_margin(b, sum[c] + acc[c / 16][(c % 16) / 8][c % 8]);
  }
}

#define LANES 8
void er_score_trees_batch(const er_bundle *b, const er_dtrees *t, const float *x, uint32_t n, int32_t *out, uint64_t *units) {
  *units += (uint64_t)n * t->steps;
  if (t->binned) { binned_batch(b, t, x, n, out); return; }
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
}

uint64_t er_score_units_per_candidate(const er_bundle *b, const er_dtrees *t) {
  if (b->model_kind == ER_MODEL_LINEAR || !t || (!t->nodes && !t->binned)) return 0;
  return ER_DENSE_COUNT + (uint64_t)t->steps;
}

void er_score_many(const er_shopper *s, const er_dtrees *t, const er_candidate *c, uint32_t n, int32_t *out, uint64_t *units) {
  if (s->b->model_kind == ER_MODEL_LINEAR || !t || (!t->nodes && !t->binned)) {
    for (uint32_t k = 0; k < n; k++) out[k] = er_score_candidate(s, &c[k], units);
    return;
  }
  float x[CHUNK * ER_DENSE_COUNT];
  for (uint32_t c0 = 0; c0 < n; c0 += CHUNK) {
    uint32_t m = n - c0 < CHUNK ? n - c0 : CHUNK;
    for (uint32_t j = 0; j < m; j++) er_features_dense(s, &c[c0 + j], x + (size_t)j * ER_DENSE_COUNT);
    *units += (uint64_t)m * ER_DENSE_COUNT;
    er_score_trees_batch(s->b, t, x, m, out + c0, units);
  }
}
