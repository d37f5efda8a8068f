/* er_gbdt.c — histogram gradient-boosted trees (see er_gbdt.h). */
#include "er_gbdt.h"
#include "er_native.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WEIGHT 1e6     /* per-row weight cap (keeps hessian sums finite)  */
#define MIN_HESS 1e-16     /* hessian floor of one row / pair                  */
#define PROB_CLAMP 1e-6    /* base margin: mean label clamped to [c, 1 − c]    */
#define EVAL_SEED 0x5eed5eed5eed5eedull /* the fixed pair draw of the loss */

void er_gbdt_defaults(er_gbdt_params *p) {
  memset(p, 0, sizeof *p);
  p->objective = ER_GBDT_LOGISTIC;
  p->n_trees = 100;
  p->max_depth = 6;
  p->learning_rate = 0.1;
  p->lambda = 1.0;
  p->min_child_weight = 1.0;
  p->max_bins = 64;
  p->subsample = 1.0;
  p->seed = 0;
  p->verbose = 0;
}

/* ---- small helpers ---------------------------------------------------------- */


/* order-preserving map float → uint32 (no NaN; -0 canonicalised to +0 first) */
static uint32_t f2key(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
static float key2f(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float v;
  memcpy(&v, &u, 4);
  return v;
}

/* LSD radix sort of a[0..n) (tmp: n scratch). */
static void radix_sort(uint32_t *a, uint32_t *tmp, uint32_t n) {
  uint32_t cnt[256];
  for (int shift = 0; shift < 32; shift += 8) {
    memset(cnt, 0, sizeof cnt);
    for (uint32_t i = 0; i < n; i++) cnt[(a[i] >> shift) & 255u]++;
    if (n && cnt[(a[0] >> shift) & 255u] == n) continue; /* one value: already in order */
    uint32_t sum = 0;
    for (int b = 0; b < 256; b++) { uint32_t c = cnt[b]; cnt[b] = sum; sum += c; }
    for (uint32_t i = 0; i < n; i++) tmp[cnt[(a[i] >> shift) & 255u]++] = a[i];
    memcpy(a, tmp, (size_t)n * sizeof *a);
  }
}

/* log(1 + exp(-s)), stable */
static double log1pexp_neg(double s) { return s > 0 ? log1p(exp(-s)) : -s + log1p(exp(s)); }

/* ---- the trainer's state ------------------------------------------------------- */

typedef struct { double g, h; } gh;

typedef struct {
  uint32_t begin, end;   /* row segment in T->rows                         */
  double G, H;           /* gradient / hessian sums                        */
  int32_t left, right;   /* children or -1                                 */
  uint32_t feat, bin;    /* split: left iff 1 <= bin(x) <= bin, NaN → dl   */
  uint8_t dl;
  float leaf;
  gh *hist;              /* NULL: not splittable                            */
} node;

typedef struct {
  const float *X, *y, *w;
  const uint32_t *group;
  uint32_t n, d;
  const er_gbdt_params *p;
  /* bins */
  uint8_t *bins;         /* n × d, 0 = NaN, 1..nb[f] value bins             */
  float *cuts;           /* d × max_bins: lower boundary of bin k+1 at [k]   */
  uint32_t *nb, *hoff, hsize;
  /* per row */
  gh *grad;
  double *margin;
  uint32_t *stamp;       /* tree index + 1 when the row is in that tree's sample */
  uint32_t *rows, *tmp;  /* sampled rows, partitioned by node               */
  uint32_t n_rows;
  /* pairwise */
  uint32_t *gstart, n_groups; /* groups with a pair: rows gstart[2k]..gstart[2k+1] */
  uint32_t *pos, *neg;   /* scratch                                         */
  double *ex;            /* exp(margin - group max), per row                */
  /* histograms */
  gh *pool[2], *scratch;
  /* the tree being grown */
  node nodes[(1u << (ER_GBDT_MAX_DEPTH + 1)) - 1];
  uint32_t n_nodes;
  uint64_t rng;
} trainer;

/* ---- binning --------------------------------------------------------------------- */

static void bin_features(trainer *T, uint32_t *keys, uint32_t *scratch) {
  uint32_t n = T->n, d = T->d, B = T->p->max_bins;
  uint32_t hoff = 0;
  for (uint32_t f = 0; f < d; f++) {
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
      float v = T->X[(size_t)i * d + f];
      if (v != v) continue;
      if (v == 0) v = 0.0f;
      keys[m++] = f2key(v);
    }
    float *cut = T->cuts + (size_t)f * B;
    uint32_t nc = 0;
    if (m) {
      radix_sort(keys, scratch, m);
      uint32_t ndist = 1;
      for (uint32_t i = 1; i < m; i++) ndist += keys[i] != keys[i - 1];
      uint32_t *ck = scratch; /* cut keys */
      if (ndist <= B) {
        for (uint32_t i = 0; i < m; i++)
          if (!i || keys[i] != keys[i - 1]) ck[nc++] = keys[i];
      } else {
        ck[nc++] = keys[0];
        for (uint32_t j = 1; j < B; j++) {
          uint32_t at = (uint32_t)((uint64_t)j * m / B);
          if (keys[at] <= ck[nc - 1]) { /* a run of ties: the next distinct value */
            uint32_t lo = at, hi = m;
            while (lo < hi) {
              uint32_t mid = lo + (hi - lo) / 2;
              if (keys[mid] <= ck[nc - 1]) lo = mid + 1;
              else hi = mid;
            }
            if (lo >= m) break;
            at = lo;
          }
          ck[nc++] = keys[at];
        }
      }
      for (uint32_t k = 0; k < nc; k++) cut[k] = key2f(ck[k]);
    }
    T->nb[f] = nc;
    T->hoff[f] = hoff;
    hoff += nc + 1;
    /* bin = 1 + #{k >= 1: cut[k] <= x}  (every value is >= cut[0]) */
    for (uint32_t i = 0; i < n; i++) {
      float v = T->X[(size_t)i * d + f];
      uint8_t b = 0;
      if (v == v) {
        uint32_t lo = 1, hi = nc;
        while (lo < hi) {
          uint32_t mid = lo + (hi - lo) / 2;
          if (cut[mid] <= v) lo = mid + 1;
          else hi = mid;
        }
        b = (uint8_t)lo;
      }
      T->bins[(size_t)i * d + f] = b;
    }
  }
  T->hsize = hoff;
}

/* ---- histograms ------------------------------------------------------------------- */

static void hist_build(const trainer *T, const node *nd, gh *hist) {
  memset(hist, 0, (size_t)T->hsize * sizeof *hist);
  uint32_t d = T->d;
  const uint32_t *hoff = T->hoff;
  for (uint32_t k = nd->begin; k < nd->end; k++) {
    uint32_t r = T->rows[k];
    const uint8_t *b = T->bins + (size_t)r * d;
    double g = T->grad[r].g, h = T->grad[r].h;
    for (uint32_t f = 0; f < d; f++) {
      gh *e = hist + hoff[f] + b[f];
      e->g += g;
      e->h += h;
    }
  }
}

static void hist_sub(uint32_t size, const gh *parent, const gh *small, gh *out) {
  for (uint32_t i = 0; i < size; i++) {
    out[i].g = parent[i].g - small[i].g;
    out[i].h = parent[i].h - small[i].h;
  }
}

/* ---- split search ------------------------------------------------------------------ */

typedef struct {
  double gain, GL, HL;
  uint32_t feat, bin;
  uint8_t dl;
} split;

static double score(double G, double H, double lambda) { return H + lambda > 0 ? G * G / (H + lambda) : 0; }

/* Best split of a node (gain > ER_GBDT_MIN_GAIN); 0 when none.  Order:
 * features ascending, bins ascending, NaN left before NaN right; a later
 * candidate wins only with a strictly larger gain. */
static int best_split(const trainer *T, const node *nd, split *best) {
  double lambda = T->p->lambda, mcw = T->p->min_child_weight, G = nd->G, H = nd->H;
  double parent = score(G, H, lambda);
  int found = 0;
  memset(best, 0, sizeof *best);
  best->gain = ER_GBDT_MIN_GAIN;
  for (uint32_t f = 0; f < T->d; f++) {
    uint32_t nbf = T->nb[f];
    if (!nbf) continue;
    const gh *hf = nd->hist + T->hoff[f];
    double gN = hf[0].g, hN = hf[0].h, cg = 0, ch = 0;
    for (uint32_t k = 0; k < nbf; k++) { /* left: value bins 1..k */
      if (k) { cg += hf[k].g; ch += hf[k].h; }
      for (int dl = 1; dl >= 0; dl--) {
        if (!dl && !k) continue; /* empty left side */
        double GL = dl ? cg + gN : cg, HL = dl ? ch + hN : ch, GR = G - GL, HR = H - HL;
        if (!(HL >= mcw) || !(HR >= mcw)) continue;
        double gain = 0.5 * (score(GL, HL, lambda) + score(GR, HR, lambda) - parent);
        if (gain > best->gain) {
          best->gain = gain;
          best->GL = GL;
          best->HL = HL;
          best->feat = f;
          best->bin = k;
          best->dl = (uint8_t)dl;
          found = 1;
        }
      }
    }
  }
  return found;
}

/* Stable partition of the node's rows; returns the left count. */
static uint32_t partition(trainer *T, const node *nd, uint32_t f, uint32_t k, uint8_t dl) {
  uint32_t nl = nd->begin, nr = 0, d = T->d;
  const uint8_t *bf = T->bins + f;
  for (uint32_t i = nd->begin; i < nd->end; i++) { /* branch-free: nl <= i */
    uint32_t r = T->rows[i], b = bf[(size_t)r * d];
    uint32_t left = (b - 1u < k) | ((b == 0) & dl);
    T->rows[nl] = r;
    T->tmp[nr] = r;
    nl += left;
    nr += left ^ 1u;
  }
  memcpy(T->rows + nl, T->tmp, (size_t)nr * sizeof *T->rows);
  return nl - nd->begin;
}

static float leaf_value(const trainer *T, double G, double H) {
  double den = H + T->p->lambda;
  double v = den > 0 ? -G / den * T->p->learning_rate : 0;
  if (!(fabs(v) <= 3e38)) v = 0;
  float fv = (float)v;
  return fv == 0 ? 0.0f : fv;
}

/* Can a node with these stats be split at all? */
static int splittable(const trainer *T, uint32_t count, double H) { return count >= 2 && H >= 2 * T->p->min_child_weight; }

/* Grow one tree over T->rows[0..n_rows) (gradients set), depth by depth. */
static void grow_tree(trainer *T) {
  uint32_t D = T->p->max_depth;
  node *N = T->nodes;
  memset(&N[0], 0, sizeof N[0]);
  N[0].begin = 0;
  N[0].end = T->n_rows;
  double G = 0, H = 0;
  for (uint32_t k = 0; k < T->n_rows; k++) { G += T->grad[T->rows[k]].g; H += T->grad[T->rows[k]].h; }
  N[0].G = G;
  N[0].H = H;
  N[0].left = N[0].right = -1;
  T->n_nodes = 1;
  if (splittable(T, T->n_rows, H)) {
    N[0].hist = T->pool[0];
    hist_build(T, &N[0], N[0].hist);
  }
  uint32_t lb = 0, le = 1;
  int cur = 0;
  for (uint32_t L = 0; L <= D; L++) {
    uint32_t slot = 0;
    gh *next = T->pool[cur ^ 1];
    for (uint32_t id = lb; id < le; id++) {
      node *nd = &N[id];
      split s;
      if (L == D || !nd->hist || !best_split(T, nd, &s)) {
        nd->left = nd->right = -1;
        nd->leaf = leaf_value(T, nd->G, nd->H);
        continue;
      }
      uint32_t nl = partition(T, nd, s.feat, s.bin, s.dl);
      uint32_t li = T->n_nodes++, ri = T->n_nodes++;
      node *l = &N[li], *r = &N[ri];
      memset(l, 0, sizeof *l);
      memset(r, 0, sizeof *r);
      l->left = l->right = r->left = r->right = -1;
      l->begin = nd->begin;
      l->end = r->begin = nd->begin + nl;
      r->end = nd->end;
      l->G = s.GL;
      l->H = s.HL;
      r->G = nd->G - s.GL;
      r->H = nd->H - s.HL;
      nd->left = (int32_t)li;
      nd->right = (int32_t)ri;
      nd->feat = s.feat;
      nd->bin = s.bin;
      nd->dl = s.dl;
      nd->leaf = 0;
      if (L + 1 < D) {
        int needl = splittable(T, l->end - l->begin, l->H), needr = splittable(T, r->end - r->begin, r->H);
        node *sm = (l->end - l->begin) <= (r->end - r->begin) ? l : r, *lg = sm == l ? r : l;
        int need_sm = sm == l ? needl : needr, need_lg = sm == l ? needr : needl;
        if (need_sm) sm->hist = next + (size_t)(slot++) * T->hsize;
        if (need_lg) lg->hist = next + (size_t)(slot++) * T->hsize;
        if (need_lg) {
          gh *sh = need_sm ? sm->hist : T->scratch;
          hist_build(T, sm, sh);
          hist_sub(T->hsize, nd->hist, sh, lg->hist);
        } else if (need_sm) {
          hist_build(T, sm, sm->hist);
        }
      }
    }
    if (T->n_nodes == le) break; /* nothing split */
    lb = le;
    le = T->n_nodes;
    cur ^= 1;
  }
}

/* ---- gradients and losses ---------------------------------------------------------------- */

static double wt(const trainer *T, uint32_t i) { return T->w ? (double)T->w[i] : 1.0; }

/* Sample the rows of tree t into T->rows and set their gradients. */
static void logistic_grad(trainer *T, uint32_t t) {
  double sub = T->p->subsample;
  T->n_rows = 0;
  for (uint32_t i = 0; i < T->n; i++) {
    if (sub < 1 && !(er_unit_random(&T->rng) < sub)) continue;
    double w = wt(T, i);
    if (w == 0) continue;
    double pr = 1.0 / (1.0 + exp(-T->margin[i]));
    double h = pr * (1 - pr);
    T->grad[i].g = (pr - (double)T->y[i]) * w;
    T->grad[i].h = (h > MIN_HESS ? h : MIN_HESS) * w;
    T->rows[T->n_rows++] = i;
    T->stamp[i] = t + 1;
  }
}

static double logistic_loss(const trainer *T) {
  double s = 0, sw = 0;
  for (uint32_t i = 0; i < T->n; i++) {
    double w = wt(T, i), m = T->margin[i];
    if (w == 0) continue;
    /* -[y log p + (1-y) log(1-p)] = log(1+e^-m) + (1-y) m */
    s += w * (log1pexp_neg(m) + (1 - (double)T->y[i]) * m);
    sw += w;
  }
  return sw > 0 ? s / sw : 0;
}

/* Pairs of one group for one draw: for each positive, every negative or
 * ER_GBDT_PAIRS_PER_POS sampled without replacement.  With `acc` set, adds
 * RankNet gradients to T->grad; otherwise adds Σ pair weight × loss to
 * *loss.  Σ pair weight goes to *wsum. */
static void group_pairs(trainer *T, uint32_t a, uint32_t b, uint64_t *rng, int acc, double *loss, double *wsum) {
  uint32_t np = 0, nn = 0;
  double mx = -HUGE_VAL;
  for (uint32_t i = a; i < b; i++) {
    if (wt(T, i) == 0) continue;
    if (T->y[i] > 0) T->pos[np++] = i;
    else T->neg[nn++] = i;
    if (T->margin[i] > mx) mx = T->margin[i];
  }
  if (!np || !nn) return;
  if (acc) /* sigmoid(m_n - m_p) = e_n / (e_n + e_p), e = exp(m - max): one exp per row */
    for (uint32_t i = a; i < b; i++) T->ex[i] = exp(T->margin[i] - mx);
  uint32_t take = nn < ER_GBDT_PAIRS_PER_POS ? nn : ER_GBDT_PAIRS_PER_POS;
  for (uint32_t q = 0; q < np; q++) {
    uint32_t pi = T->pos[q];
    if (take < nn)
      for (uint32_t k = 0; k < take; k++) { /* partial Fisher-Yates */
        uint32_t j = k + (uint32_t)(((er_splitmix64(rng) >> 32) * (uint64_t)(nn - k)) >> 32);
        uint32_t x = T->neg[k]; T->neg[k] = T->neg[j]; T->neg[j] = x;
      }
    double wp = wt(T, pi), mp = T->margin[pi], ep = acc ? T->ex[pi] : 0, gp = 0, hp = 0;
    for (uint32_t k = 0; k < take; k++) {
      uint32_t ni = T->neg[k];
      double pw = wp * wt(T, ni);
      *wsum += pw;
      if (!acc) {
        *loss += pw * log1pexp_neg(mp - T->margin[ni]);
        continue;
      }
      double en = T->ex[ni], den = ep + en;
      double pr = den > 1e-300 ? en / den : 1.0 / (1.0 + exp(mp - T->margin[ni])); /* sigmoid(-s) */
      double h = pr * (1 - pr);
      h = (h > MIN_HESS ? h : MIN_HESS) * pw;
      gp -= pr * pw;
      hp += h;
      T->grad[ni].g += pr * pw;
      T->grad[ni].h += h;
    }
    T->grad[pi].g += gp;
    T->grad[pi].h += hp;
  }
}

static void pairwise_grad(trainer *T, uint32_t t) {
  double sub = T->p->subsample, l = 0, ws = 0;
  T->n_rows = 0;
  for (uint32_t k = 0; k < T->n_groups; k++) {
    if (sub < 1 && !(er_unit_random(&T->rng) < sub)) continue;
    uint32_t a = T->gstart[2 * k], b = T->gstart[2 * k + 1];
    for (uint32_t i = a; i < b; i++) T->grad[i].g = T->grad[i].h = 0;
    group_pairs(T, a, b, &T->rng, 1, &l, &ws);
    for (uint32_t i = a; i < b; i++)
      if (wt(T, i) != 0) { T->rows[T->n_rows++] = i; T->stamp[i] = t + 1; }
  }
}

static double pairwise_loss(trainer *T) {
  uint64_t rng = EVAL_SEED;
  double l = 0, ws = 0;
  for (uint32_t k = 0; k < T->n_groups; k++) group_pairs(T, T->gstart[2 * k], T->gstart[2 * k + 1], &rng, 0, &l, &ws);
  return ws > 0 ? l / ws : 0;
}

static double train_loss(trainer *T) { return T->p->objective == ER_GBDT_PAIRWISE ? pairwise_loss(T) : logistic_loss(T); }

/* ---- validation ------------------------------------------------------------------------------ */

static er_status check_params(const er_gbdt_params *p, er_error *err) {
  if (p->objective != ER_GBDT_LOGISTIC && p->objective != ER_GBDT_PAIRWISE)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: objective %d is not logistic (0) or pairwise (1)", (int)p->objective);
  if (p->n_trees < 1 || p->n_trees > ER_GBDT_MAX_TREES)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: n_trees %u outside 1..%u", p->n_trees, ER_GBDT_MAX_TREES);
  if (p->max_depth < 1 || p->max_depth > ER_GBDT_MAX_DEPTH)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: max_depth %u outside 1..%u", p->max_depth, ER_GBDT_MAX_DEPTH);
  if (!(p->learning_rate > 0 && p->learning_rate <= 1))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: learning_rate %g outside (0, 1]", p->learning_rate);
  if (!(p->lambda >= 0 && p->lambda <= 1e12))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: lambda %g must be finite and >= 0", p->lambda);
  if (!(p->min_child_weight >= 0 && p->min_child_weight <= 1e12))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: min_child_weight %g must be finite and >= 0", p->min_child_weight);
  if (p->max_bins < 2 || p->max_bins > 255)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: max_bins %u outside 2..255", p->max_bins);
  if (!(p->subsample > 0 && p->subsample <= 1))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: subsample %g outside (0, 1]", p->subsample);
  return ER_OK;
}

static er_status check_data(const float *y, const float *w, const uint32_t *group, uint32_t n, const er_gbdt_params *p,
                            double *sw_out, double *swy_out, er_error *err) {
  double sw = 0, swy = 0;
  for (uint32_t i = 0; i < n; i++) {
    float yi = y[i];
    if (yi != 0.0f && yi != 1.0f)
      return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: label of row %u is %g (labels must be 0 or 1)", i, (double)yi);
    double wi = 1;
    if (w) {
      wi = w[i];
      if (!(wi >= 0 && wi <= MAX_WEIGHT))
        return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: weight of row %u is %g (weights must be finite, 0..%g)", i, wi, MAX_WEIGHT);
    }
    sw += wi;
    swy += wi * (double)yi;
    if (p->objective == ER_GBDT_PAIRWISE && i && group[i] < group[i - 1])
      return er_fail(err, ER_E_RANGE, ER_NO_OFFSET,
                     "gbdt: group id of row %u is %u after %u (rows of a group must be contiguous, ids non-decreasing)", i,
                     group[i], group[i - 1]);
  }
  if (!(sw > 0)) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: the row weights sum to 0");
  *sw_out = sw;
  *swy_out = swy;
  return ER_OK;
}

/* ---- training ---------------------------------------------------------------------------------- */

void er_gbdt_free(er_gbdt_model *m) {
  if (!m) return;
  free(m->trees);
  free(m->all_left);
  free(m->all_right);
  free(m->all_feature);
  free(m->all_threshold);
  free(m->all_leaf);
  free(m->all_default_left);
  memset(m, 0, sizeof *m);
}

static er_status model_alloc(er_gbdt_model *m, uint32_t n_trees, uint32_t cap) {
  size_t nn = (size_t)n_trees * cap;
  m->trees = calloc(n_trees, sizeof *m->trees);
  m->all_left = calloc(nn, sizeof *m->all_left);
  m->all_right = calloc(nn, sizeof *m->all_right);
  m->all_feature = calloc(nn, sizeof *m->all_feature);
  m->all_threshold = calloc(nn, sizeof *m->all_threshold);
  m->all_leaf = calloc(nn, sizeof *m->all_leaf);
  m->all_default_left = calloc(nn, 1);
  if (!m->trees || !m->all_left || !m->all_right || !m->all_feature || !m->all_threshold || !m->all_leaf ||
      !m->all_default_left)
    return ER_E_NOMEM;
  m->node_cap = cap;
  return ER_OK;
}

/* Copy the grown tree into the model as tree t. */
static void emit_tree(const trainer *T, er_gbdt_model *m, uint32_t t) {
  size_t o = (size_t)t * m->node_cap;
  for (uint32_t i = 0; i < T->n_nodes; i++) {
    const node *nd = &T->nodes[i];
    m->all_left[o + i] = nd->left;
    m->all_right[o + i] = nd->right;
    if (nd->left >= 0) {
      m->all_feature[o + i] = nd->feat;
      m->all_threshold[o + i] = T->cuts[(size_t)nd->feat * T->p->max_bins + nd->bin];
      m->all_default_left[o + i] = nd->dl;
    } else {
      m->all_leaf[o + i] = nd->leaf;
    }
  }
  er_pack_tree *tr = &m->trees[t];
  tr->n_nodes = T->n_nodes;
  tr->left = m->all_left + o;
  tr->right = m->all_right + o;
  tr->feature = m->all_feature + o;
  tr->threshold = m->all_threshold + o;
  tr->default_left = m->all_default_left + o;
  tr->leaf = m->all_leaf + o;
}

/* Add the new tree to every row's margin: sampled rows by their leaf's
 * segment, the others by walking the tree over their bins. */
static void update_margins(trainer *T, uint32_t t) {
  const node *N = T->nodes;
  for (uint32_t i = 0; i < T->n_nodes; i++) {
    if (N[i].left >= 0) continue;
    double v = (double)N[i].leaf;
    for (uint32_t k = N[i].begin; k < N[i].end; k++) T->margin[T->rows[k]] += v;
  }
  if (T->n_rows == T->n) return;
  uint32_t d = T->d;
  for (uint32_t r = 0; r < T->n; r++) {
    if (T->stamp[r] == t + 1) continue;
    const uint8_t *b = T->bins + (size_t)r * d;
    uint32_t i = 0;
    while (N[i].left >= 0) {
      uint8_t x = b[N[i].feat];
      int left = x ? x <= N[i].bin : N[i].dl;
      i = (uint32_t)(left ? N[i].left : N[i].right);
    }
    T->margin[r] += (double)N[i].leaf;
  }
}

static void trainer_free(trainer *T) {
  free(T->bins);
  free(T->cuts);
  free(T->nb);
  free(T->hoff);
  free(T->grad);
  free(T->margin);
  free(T->stamp);
  free(T->rows);
  free(T->tmp);
  free(T->gstart);
  free(T->pos);
  free(T->neg);
  free(T->ex);
  free(T->pool[0]);
  free(T->pool[1]);
  free(T->scratch);
}

er_status er_gbdt_train(const float *X, uint32_t n, uint32_t d, const float *y, const float *w, const uint32_t *group,
                        const er_gbdt_params *p, er_gbdt_model *m, er_error *err) {
  double t0 = er_now_seconds();
  if (!m) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "gbdt: no model to train into");
  memset(m, 0, sizeof *m);
  if (!p) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "gbdt: no parameters (use er_gbdt_defaults)");
  er_status st = check_params(p, err);
  if (st) return st;
  if (!n) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: no rows (n == 0)");
  if (d < 1 || d > ER_GBDT_MAX_FEATURES)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: %u features (expected 1..%u)", d, ER_GBDT_MAX_FEATURES);
  if (!X || !y) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "gbdt: %s is NULL", !X ? "X" : "y");
  if (p->objective == ER_GBDT_PAIRWISE && !group)
    return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "gbdt: the pairwise objective needs group ids");
  if ((size_t)-1 / d / sizeof(double) < n)
    return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "gbdt: %u rows x %u features is too large", n, d);
  double sw = 0, swy = 0;
  if ((st = check_data(y, w, group, n, p, &sw, &swy, err))) return st;

  trainer T;
  memset(&T, 0, sizeof T);
  T.X = X;
  T.y = y;
  T.w = w;
  T.group = p->objective == ER_GBDT_PAIRWISE ? group : NULL;
  T.n = n;
  T.d = d;
  T.p = p;
  T.rng = p->seed;
  T.bins = malloc((size_t)n * d);
  T.cuts = calloc((size_t)d * p->max_bins, sizeof *T.cuts);
  T.nb = calloc(d, sizeof *T.nb);
  T.hoff = calloc(d, sizeof *T.hoff);
  T.grad = calloc(n, sizeof *T.grad);
  T.margin = malloc((size_t)n * sizeof *T.margin);
  T.stamp = calloc(n, sizeof *T.stamp);
  T.rows = malloc((size_t)n * sizeof *T.rows);
  T.tmp = malloc((size_t)n * sizeof *T.tmp);
  if (!T.bins || !T.cuts || !T.nb || !T.hoff || !T.grad || !T.margin || !T.stamp || !T.rows || !T.tmp) goto oom;
  if (T.group) {
    /* groups holding at least one weighted positive and one weighted negative */
    uint32_t ng = 0;
    for (uint32_t i = 0; i < n; i++) ng += !i || group[i] != group[i - 1];
    T.gstart = malloc((size_t)ng * 2 * sizeof *T.gstart);
    T.pos = malloc((size_t)n * sizeof *T.pos);
    T.neg = malloc((size_t)n * sizeof *T.neg);
    T.ex = malloc((size_t)n * sizeof *T.ex);
    if (!T.gstart || !T.pos || !T.neg || !T.ex) goto oom;
    for (uint32_t a = 0; a < n;) {
      uint32_t b = a + 1;
      while (b < n && group[b] == group[a]) b++;
      int hp = 0, hn = 0;
      for (uint32_t i = a; i < b; i++)
        if (wt(&T, i) > 0) { if (y[i] > 0) hp = 1; else hn = 1; }
      if (hp && hn) { T.gstart[2 * T.n_groups] = a; T.gstart[2 * T.n_groups + 1] = b; T.n_groups++; }
      a = b;
    }
    if (!T.n_groups) {
      trainer_free(&T);
      return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "gbdt: pairwise: no group has both a positive and a negative row");
    }
  }
  /* bins (rows and tmp double as sort scratch) */
  bin_features(&T, T.rows, T.tmp);
  /* histograms live for one level: at most 2^(max_depth-1) nodes, each >= 2 rows */
  uint32_t slots = 1u << (p->max_depth - 1);
  if (slots > n / 2) slots = n / 2 ? n / 2 : 1;
  T.pool[0] = malloc((size_t)slots * T.hsize * sizeof(gh));
  T.pool[1] = malloc((size_t)slots * T.hsize * sizeof(gh));
  T.scratch = malloc((size_t)T.hsize * sizeof(gh));
  if (!T.pool[0] || !T.pool[1] || !T.scratch) goto oom;
  if (model_alloc(m, p->n_trees, (1u << (p->max_depth + 1)) - 1)) goto oom;
  m->n_trees = p->n_trees;
  m->n_features = d;
  m->objective = p->objective;
  if (p->objective == ER_GBDT_LOGISTIC) {
    double mean = swy / sw;
    if (mean < PROB_CLAMP) mean = PROB_CLAMP;
    if (mean > 1 - PROB_CLAMP) mean = 1 - PROB_CLAMP;
    m->base_margin = log(mean / (1 - mean));
  }
  for (uint32_t i = 0; i < n; i++) T.margin[i] = m->base_margin;

  for (uint32_t t = 0; t < p->n_trees; t++) {
    if (p->objective == ER_GBDT_PAIRWISE) pairwise_grad(&T, t);
    else logistic_grad(&T, t);
    grow_tree(&T);
    emit_tree(&T, m, t);
    update_margins(&T, t);
    if (p->verbose && ((t + 1) % 10 == 0 || t + 1 == p->n_trees))
      fprintf(stderr, "gbdt: tree %u/%u loss %.4f (%.1f s)\n", t + 1, p->n_trees, train_loss(&T), er_now_seconds() - t0);
  }
  m->train_loss = train_loss(&T);
  trainer_free(&T);
  return ER_OK;
oom:
  trainer_free(&T);
  er_gbdt_free(m);
  return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "gbdt: out of memory (%u rows x %u features)", n, d);
}

double er_gbdt_predict(const er_gbdt_model *m, const float *x) {
  double s = m->base_margin;
  for (uint32_t t = 0; t < m->n_trees; t++) {
    const er_pack_tree *tr = &m->trees[t];
    int32_t i = 0;
    while (tr->left[i] != -1) {
      float v = x[tr->feature[i]];
      int left = v != v ? tr->default_left[i] != 0 : v < tr->threshold[i];
      i = left ? tr->left[i] : tr->right[i];
    }
    s += (double)tr->leaf[i];
  }
  return s;
}
