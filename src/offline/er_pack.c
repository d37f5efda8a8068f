/* er_pack.c — bundle writer, in-memory packer and the JSON / XGBoost import.
 * Native and WASI CLI only: allocates with malloc, uses double math.  All
 * sorting uses total orders, so the output bytes are deterministic. */
#include "er_pack.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_features.h"
#include "er_json.h"
#include "er_profile.h"

/* ======================================================================== */
/* low-level writer                                                          */
/* ======================================================================== */

struct er_bw {
  uint8_t *data[ER_SEC_META + 1];
  uint32_t len[ER_SEC_META + 1];
  uint32_t count[ER_SEC_META + 1];
  uint8_t present[ER_SEC_META + 1];
  uint32_t n;
};

er_bw *er_bw_new(void) { return (er_bw *)calloc(1, sizeof(er_bw)); }

void er_bw_free(er_bw *w) {
  if (!w) return;
  for (int k = 0; k <= ER_SEC_META; k++) free(w->data[k]);
  free(w);
}

er_status er_bw_add(er_bw *w, uint32_t id, const void *data, uint32_t len, uint32_t count, er_error *err) {
  if (!w) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "bundle writer: no writer");
  if (id < 1 || id > ER_SEC_META) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "bundle writer: unknown section id %u", id);
  if (w->present[id]) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "bundle writer: section %s added twice", er_section_name(id));
  if (len && !data) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "bundle writer: section %s has no data", er_section_name(id));
  if (w->n >= ER_BUNDLE_MAX_SECTIONS)
    return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "bundle writer: more than %u sections", ER_BUNDLE_MAX_SECTIONS);
  uint8_t *copy = NULL;
  if (len) {
    copy = (uint8_t *)malloc(len);
    if (!copy) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "bundle writer: out of memory (%u bytes)", len);
    memcpy(copy, data, len);
  }
  w->data[id] = copy;
  w->len[id] = len;
  w->count[id] = count;
  w->present[id] = 1;
  w->n++;
  return ER_OK;
}

/* NULL when v is an acceptable model version, else what is wrong with it. */
static const char *version_problem(const char *v, size_t n) {
  if (!v || n == 0) return "is missing or empty";
  if (n > ER_VERSION_BYTES - 1) return "is longer than 23 bytes";
  for (size_t k = 0; k < n; k++) {
    uint8_t c = (uint8_t)v[k];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return "must be printable ASCII without quotes or backslashes";
  }
  return NULL;
}

er_status er_bw_finish(er_bw *w, const char *model_version, uint32_t budget, uint8_t **out, uint32_t *out_len,
                       er_error *err) {
  if (!w || !out || !out_len) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "bundle writer: missing argument");
  *out = NULL;
  *out_len = 0;
  size_t vlen = model_version ? strlen(model_version) : 0;
  const char *why = version_problem(model_version, vlen);
  if (why) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "bundle writer: model version %s", why);
  uint64_t off[ER_SEC_META + 1] = {0};
  uint64_t pos = ER_BUNDLE_HEADER + 16ull * w->n;
  for (uint32_t id = 1; id <= ER_SEC_META; id++) {
    if (!w->present[id]) continue;
    pos = (pos + 7u) & ~(uint64_t)7u;
    off[id] = pos;
    pos += w->len[id];
  }
  pos = (pos + 7u) & ~(uint64_t)7u;
  if (pos > ER_MAX_BUNDLE_BYTES)
    return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "bundle writer: bundle of %llu bytes, more than the limit of %u bytes",
                   (unsigned long long)pos, ER_MAX_BUNDLE_BYTES);
  uint32_t total = (uint32_t)pos;
  uint8_t *b = (uint8_t *)calloc(1, total);
  if (!b) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "bundle writer: out of memory (%u bytes)", total);
  memcpy(b, ER_BUNDLE_MAGIC, 8);
  er_wr16(b + 16, ER_BUNDLE_VERSION);
  er_wr16(b + 18, ER_BUNDLE_HEADER);
  er_wr32(b + 20, total);
  er_wr64(b + 24, er_features_schema_hash());
  er_wr32(b + 32, budget);
  er_wr32(b + 36, w->n);
  memcpy(b + 40, model_version, vlen);
  uint32_t k = 0;
  for (uint32_t id = 1; id <= ER_SEC_META; id++) {
    if (!w->present[id]) continue;
    uint8_t *r = b + ER_BUNDLE_HEADER + 16 * k++;
    er_wr32(r, id);
    er_wr32(r + 4, (uint32_t)off[id]);
    er_wr32(r + 8, w->len[id]);
    er_wr32(r + 12, w->count[id]);
    if (w->len[id]) memcpy(b + off[id], w->data[id], w->len[id]);
  }
  er_wr64(b + 8, er_xxh64(b + 16, total - 16u, 0));
  *out = b;
  *out_len = total;
  return ER_OK;
}

/* ======================================================================== */
/* helpers                                                                   */
/* ======================================================================== */

/* Growable byte buffer. */
typedef struct {
  uint8_t *p;
  size_t len, cap;
} gbuf;

/* n zeroed bytes at the end of the buffer, NULL when out of memory. */
static uint8_t *gb_add(gbuf *g, size_t n) {
  if (n > 0xFFFFFFF0u || g->len > 0xFFFFFFF0u - n) return NULL; /* bundles stay < 4 GiB */
  if (g->len + n > g->cap) {
    size_t c = g->cap ? g->cap : 256;
    while (c < g->len + n) c *= 2;
    uint8_t *q = (uint8_t *)realloc(g->p, c);
    if (!q) return NULL;
    g->p = q;
    g->cap = c;
  }
  uint8_t *r = g->p + g->len;
  memset(r, 0, n);
  g->len += n;
  return r;
}

static int gb_u32(gbuf *g, uint32_t v) {
  uint8_t *p = gb_add(g, 4);
  if (!p) return 0;
  er_wr32(p, v);
  return 1;
}

/* Append bytes; returns their offset or -1 when out of memory. */
static int64_t gb_bytes(gbuf *g, const void *s, size_t n) {
  size_t at = g->len;
  if (!n) return (int64_t)at;
  uint8_t *p = gb_add(g, n);
  if (!p && n) return -1;
  if (n) memcpy(p, s, n);
  return (int64_t)at;
}

/* Growable array of fixed-size elements. */
typedef struct {
  void *p;
  uint32_t n, cap;
} vec;

static void *vec_push(vec *v, size_t elem) {
  if (v->n == v->cap) {
    uint32_t c = v->cap ? v->cap * 2 : 64;
    if (c < v->cap || (size_t)c > SIZE_MAX / elem) return NULL;
    void *q = realloc(v->p, (size_t)c * elem);
    if (!q) return NULL;
    v->p = q;
    v->cap = c;
  }
  return (uint8_t *)v->p + (size_t)elem * v->n++;
}

static void *xcalloc(size_t n, size_t elem) { return calloc(n ? n : 1, elem); }

/* qsort that accepts empty (possibly NULL) arrays. */
static void sort_(void *p, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  if (n > 1) qsort(p, n, size, cmp);
}

typedef struct {
  uint64_t key;
  uint32_t idx;
} keyidx;

static int cmp_keyidx(const void *a, const void *b) {
  const keyidx *x = (const keyidx *)a, *y = (const keyidx *)b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* First index in sorted ks[0..n) whose key is >= key. */
static uint32_t lower_bound(const keyidx *ks, uint32_t n, uint64_t key) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (ks[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Item index of a sku in the sorted sku index, or ER_NONE. */
static uint32_t find_sku(const keyidx *ks, uint32_t n, const er_pack_item *items, const char *sku, size_t len) {
  uint64_t key = er_key(sku, len);
  for (uint32_t k = lower_bound(ks, n, key); k < n && ks[k].key == key; k++)
    if (strlen(items[ks[k].idx].sku) == len && !memcmp(items[ks[k].idx].sku, sku, len)) return ks[k].idx;
  return ER_NONE;
}

/* Weight code (er_nbr_weights) nearest a source weight 0..1, the lower code on a tie. */
static uint32_t weight_code(float w) {
  uint32_t v = (uint32_t)lround((double)w * 65535.0), lo = 0, hi = 255;
  while (lo < hi) { /* first code whose weight is >= v */
    uint32_t mid = (lo + hi) / 2;
    if (er_nbr_weights[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo && v - er_nbr_weights[lo - 1] <= er_nbr_weights[lo] - v ? lo - 1 : lo;
}

/* Quantized neighbour weight: the weight the engine reads for it. */
static uint32_t q_weight(float w) { return er_nbr_weights[weight_code(w)]; }

/* Choose shift/mul so that mul / 2^shift == unit_q16 (the Q16 margin of one
 * accumulator step) with mul in [2^29, 2^31). */
static er_status pick_scale(double unit_q16, uint8_t *shift, int32_t *mul, const char *what, er_error *err) {
  if (!(unit_q16 > 0) || !isfinite(unit_q16))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "%s: quantization scale %g is invalid", what, unit_q16);
  for (int s = 0; s <= 62; s++) {
    double m = round(ldexp(unit_q16, s));
    if (m >= 2147483648.0)
      return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "%s: values too large to quantize (scale %g)", what, unit_q16);
    if (m >= 536870912.0) {
      *shift = (uint8_t)s;
      *mul = (int32_t)m;
      return ER_OK;
    }
  }
  *shift = 62; /* values so small that the margin is 0 anyway */
  *mul = (int32_t)round(ldexp(unit_q16, 62));
  return ER_OK;
}

static er_status q16_of(double v, int32_t *out, const char *what, er_error *err) {
  double r = round(v * 65536.0);
  if (!isfinite(v) || r > 2147483647.0 || r < -2147483648.0)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "%s %g is out of range (|x| < 32768)", what, v);
  *out = (int32_t)r;
  return ER_OK;
}

static int8_t q8_of(double v, double s) {
  double q = round(v / s);
  if (q > 127) q = 127;
  if (q < -127) q = -127;
  return (int8_t)q;
}

/* ======================================================================== */
/* neighbours                                                                */
/* ======================================================================== */

typedef struct {
  uint32_t from, to, q;
  float w;
} qedge;

static int cmp_qedge(const void *a, const void *b) {
  const qedge *x = (const qedge *)a, *y = (const qedge *)b;
  if (x->from != y->from) return x->from < y->from ? -1 : 1;
  if (x->q != y->q) return x->q > y->q ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

static const char *const REL_NAMES[ER_NBR_KINDS] = {"viewed_viewed", "viewed_bought", "bought_bought", "content"};

/* One relation's links, checked, without self-links and repeated targets
 * (the heavier kept), by source then weight descending then target, at most
 * ER_PACK_MAX_NEIGHBOURS per source: q[0..*m) (malloc'd) and per-item
 * counts cnt[0..n). */
static er_status prep_nbr(const er_pack_edge *e, uint32_t ne, uint32_t n, int rel, qedge **out, uint32_t *m_out,
                          uint8_t *cnt, er_error *err) {
  er_status st = ER_OK;
  qedge *q = (qedge *)xcalloc(ne, sizeof *q);
  uint32_t *mark = (uint32_t *)xcalloc(n, sizeof *mark);
  *out = NULL;
  *m_out = 0;
  if (!q || !mark) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory"); goto done; }
  uint32_t m = 0;
  for (uint32_t k = 0; k < ne; k++) {
    if (e[k].from >= n || e[k].to >= n) {
      st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: neighbours %s edge %u links item %u to %u, past the %u items",
                   REL_NAMES[rel], k, e[k].from, e[k].to, n);
      goto done;
    }
    float w = e[k].weight;
    if (!(w >= 0.0f && w <= 1.0f)) {
      st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: neighbours %s edge %u has weight %g (expected 0..1)", REL_NAMES[rel], k, (double)w);
      goto done;
    }
    if (e[k].from == e[k].to) continue; /* self-links carry nothing */
    q[m].from = e[k].from;
    q[m].to = e[k].to;
    q[m].w = w;
    q[m].q = weight_code(w);
    m++;
  }
  sort_(q, m, sizeof *q, cmp_qedge);
  uint32_t c = 0;
  for (uint32_t k = 0; k < m; k++) {
    uint32_t f = q[k].from;
    if (mark[q[k].to] == f + 1 || cnt[f] >= ER_PACK_MAX_NEIGHBOURS) continue; /* duplicate link / cap */
    mark[q[k].to] = f + 1;
    cnt[f]++;
    q[c++] = q[k];
  }
  *out = q;
  *m_out = c;
  q = NULL;
done:
  free(q);
  free(mark);
  return st;
}

/* Bytes of a compact neighbour section of n items (er_bundle.h) holding
 * `entries` entries. */
static uint64_t nbr_bytes(uint32_t n, uint64_t entries) {
  return 4 * ((uint64_t)(n + ER_NBR_BLOCK - 1) / ER_NBR_BLOCK + 1) + (((uint64_t)n + 3) & ~3ull) +
         entries * (ER_NBR_INDEX_BYTES(n) + 1);
}

/* The compact section of prepared links q[0..m) with at most `cap` per
 * item: block offsets, u8 counts, then {target, weight code} entries. */
static er_status emit_nbr(const qedge *q, uint32_t m, uint32_t n, uint32_t cap, gbuf *out, uint32_t *count, er_error *err) {
  uint32_t nb = (n + ER_NBR_BLOCK - 1) / ER_NBR_BLOCK, ib = ER_NBR_INDEX_BYTES(n);
  uint8_t *cnt = (uint8_t *)xcalloc(((size_t)n + 3) & ~(size_t)3, 1);
  if (!cnt) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  gbuf ent = {0};
  uint32_t c = 0;
  for (uint32_t k = 0; k < m; k++) {
    if (cnt[q[k].from] >= cap) continue;
    cnt[q[k].from]++;
    uint8_t *r = gb_add(&ent, ib + 1);
    if (!r) { free(cnt); free(ent.p); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory"); }
    for (uint32_t b = 0; b < ib; b++) r[b] = (uint8_t)(q[k].to >> (8 * b));
    r[ib] = (uint8_t)q[k].q;
    c++;
  }
  int ok = 1;
  uint32_t at = 0;
  for (uint32_t blk = 0; blk <= nb; blk++) {
    ok &= gb_u32(out, at) != 0;
    for (uint32_t i = blk * ER_NBR_BLOCK; i < n && i < blk * ER_NBR_BLOCK + ER_NBR_BLOCK; i++) at += cnt[i];
  }
  ok = ok && gb_bytes(out, cnt, ((size_t)n + 3) & ~(size_t)3) >= 0 && gb_bytes(out, ent.p, ent.len) >= 0;
  free(cnt);
  free(ent.p);
  if (!ok) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  *count = c;
  return ER_OK;
}

/* The largest per-item cap (1..ER_PACK_MAX_NEIGHBOURS, the same for every
 * relation) whose neighbour sections fit max(budget × n, ER_PACK_NBR_MIN_BYTES)
 * bytes; cnt[r][i]: links available to item i in relation r (NULL: none). */
static uint32_t choose_cap(uint8_t *const cnt[ER_NBR_KINDS], uint32_t n, uint32_t budget) {
  uint64_t limit = (uint64_t)budget * n;
  if (limit < ER_PACK_NBR_MIN_BYTES) limit = ER_PACK_NBR_MIN_BYTES;
  uint32_t cap = ER_PACK_MAX_NEIGHBOURS;
  for (; cap > 1; cap--) {
    uint64_t total = 0;
    for (int r = 0; r < ER_NBR_KINDS; r++) {
      if (!cnt[r]) continue;
      uint64_t e = 0;
      for (uint32_t i = 0; i < n; i++) e += cnt[r][i] < cap ? cnt[r][i] : cap;
      total += nbr_bytes(n, e);
    }
    if (total <= limit) break;
  }
  return cap;
}

typedef struct {
  uint32_t q, j;
  float w;
} cand;

static int cmp_cand(const void *a, const void *b) {
  const cand *x = (const cand *)a, *y = (const cand *)b;
  if (x->q != y->q) return x->q > y->q ? -1 : 1;
  return x->j < y->j ? -1 : x->j > y->j;
}

/* Content neighbours: Jaccard similarity of the items' sets of category and
 * attribute keys (sorted, unique: set_off/set_keys CSR), top
 * ER_PACK_CONTENT_TOP per item with similarity >= ER_PACK_CONTENT_MIN;
 * targets are visible items. */
static er_status compute_content(const uint32_t *set_off, const uint32_t *set_keys, const er_pack_item *items,
                                 uint32_t n, vec *edges, er_error *err) {
  er_status st = ER_OK;
  uint32_t np = set_off[n];
  keyidx *post = (keyidx *)xcalloc(np, sizeof *post);
  uint32_t *cnt = (uint32_t *)xcalloc(n, sizeof *cnt);
  uint32_t *touched = (uint32_t *)xcalloc(n, sizeof *touched);
  cand *cs = (cand *)xcalloc(ER_PACK_CONTENT_TOP, sizeof *cs);
  if (!post || !cnt || !touched || !cs) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory"); goto done; }
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (items[i].visible)
      for (uint32_t k = set_off[i]; k < set_off[i + 1]; k++) post[m++] = (keyidx){set_keys[k], i};
  sort_(post, m, sizeof *post, cmp_keyidx);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t si = set_off[i + 1] - set_off[i], nt = 0, nc = 0;
    if (!si) continue;
    for (uint32_t k = set_off[i]; k < set_off[i + 1]; k++) {
      /* the key's visible items; of a long list only the ER_PACK_CONTENT_SCAN nearest i in catalog order */
      uint32_t lo = lower_bound(post, m, set_keys[k]), hi = lower_bound(post, m, (uint64_t)set_keys[k] + 1);
      if (hi - lo > ER_PACK_CONTENT_SCAN) {
        uint32_t a = lo, b = hi;
        while (a < b) { /* first posting of an item >= i */
          uint32_t mid = a + (b - a) / 2;
          if (post[mid].idx < i) a = mid + 1;
          else b = mid;
        }
        lo = a > lo + ER_PACK_CONTENT_SCAN / 2 ? a - ER_PACK_CONTENT_SCAN / 2 : lo;
        if (lo > hi - ER_PACK_CONTENT_SCAN) lo = hi - ER_PACK_CONTENT_SCAN;
        hi = lo + ER_PACK_CONTENT_SCAN;
      }
      for (uint32_t p = lo; p < hi; p++) {
        uint32_t j = post[p].idx;
        if (j == i) continue;
        if (cnt[j]++ == 0) touched[nt++] = j;
      }
    }
    for (uint32_t t = 0; t < nt; t++) {
      uint32_t j = touched[t], inter = cnt[j];
      cnt[j] = 0;
      double sim = (double)inter / (double)(si + (set_off[j + 1] - set_off[j]) - inter);
      if (sim < ER_PACK_CONTENT_MIN) continue;
      float w = (float)sim;
      cand c = {q_weight(w), j, w};
      /* keep the best ER_PACK_CONTENT_TOP in cs[0..nc), sorted */
      if (nc == ER_PACK_CONTENT_TOP && cmp_cand(&c, &cs[nc - 1]) >= 0) continue;
      uint32_t at = nc < ER_PACK_CONTENT_TOP ? nc++ : nc - 1;
      while (at > 0 && cmp_cand(&c, &cs[at - 1]) < 0) { cs[at] = cs[at - 1]; at--; }
      cs[at] = c;
    }
    for (uint32_t t = 0; t < nc; t++) {
      er_pack_edge *e = (er_pack_edge *)vec_push(edges, sizeof *e);
      if (!e) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory"); goto done; }
      *e = (er_pack_edge){i, cs[t].j, cs[t].w};
    }
  }
done:
  free(post);
  free(cnt);
  free(touched);
  free(cs);
  return st;
}

/* ======================================================================== */
/* popularity lists                                                          */
/* ======================================================================== */

typedef struct {
  double d;
  uint64_t v;
  uint32_t idx;
} popent;

static int cmp_pop(const void *a, const void *b) {
  const popent *x = (const popent *)a, *y = (const popent *)b;
  if (x->d != y->d) return x->d > y->d ? -1 : 1;
  if (x->v != y->v) return x->v > y->v ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static er_status build_lists(const er_pack_input *in, gbuf *dir, gbuf *li, er_error *err) {
  uint32_t n = in->n_items;
  popent *pe = (popent *)xcalloc(n, sizeof *pe);
  if (!pe) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  er_status st = ER_OK;
  for (uint32_t kind = 1; kind <= ER_LIST_KINDS; kind++) {
    const er_pack_list *l = &in->lists[kind - 1];
    uint32_t first = (uint32_t)(li->len / 4), cnt = 0;
    if (l->given) {
      if (l->n && !l->items) { st = er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: list %u has no items array", kind); break; }
      for (uint32_t k = 0; k < l->n && cnt < ER_PACK_MAX_LIST; k++, cnt++) {
        if (l->items[k] >= n) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: list %u entry %u is item %u, past the %u items", kind, k, l->items[k], n); goto done; }
        if (!gb_u32(li, l->items[k])) goto oom;
      }
    } else {
      uint32_t m = 0;
      for (uint32_t i = 0; i < n; i++) {
        const er_pack_item *it = &in->items[i];
        if (!it->visible || !it->in_stock) continue;
        popent p = {0, 0, i};
        if (kind == ER_LIST_MOST_VIEWED) p.v = it->view;
        else if (kind == ER_LIST_MOST_PURCHASED) p.v = it->purchase;
        else if (kind == ER_LIST_MOST_CARTED) p.v = it->cart;
        else p.d = it->trending;
        if (p.v == 0 && !(p.d > 0)) continue;
        pe[m++] = p;
      }
      sort_(pe, m, sizeof *pe, cmp_pop);
      for (; cnt < m && cnt < ER_PACK_MAX_LIST; cnt++)
        if (!gb_u32(li, pe[cnt].idx)) goto oom;
    }
    if (!gb_u32(dir, kind) || !gb_u32(dir, first) || !gb_u32(dir, cnt) || !gb_u32(dir, 0)) goto oom;
  }
done:
  free(pe);
  return st;
oom:
  free(pe);
  return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
}

/* ======================================================================== */
/* models                                                                    */
/* ======================================================================== */

static er_status build_linear(const er_pack_model *m, gbuf *w8, er_pack_quant *q, er_error *err) {
  if (m->bits < 10 || m->bits > 24)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: linear model bits %u out of range 10..24", m->bits);
  if (!m->weights) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: linear model has no weights array");
  uint32_t nw = 1u << m->bits;
  double mx = 0;
  for (uint32_t k = 0; k < nw; k++) {
    double v = m->weights[k];
    if (!isfinite(v)) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: linear weight of bucket %u is not finite", k);
    if (fabs(v) > mx) mx = fabs(v);
  }
  double s = mx > 0 ? mx / 127.0 : 1.0 / 127.0;
  uint8_t *p = gb_add(w8, nw);
  if (!p) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  double maxerr = 0;
  for (uint32_t k = 0; k < nw; k++) {
    int8_t qv = q8_of(m->weights[k], s);
    p[k] = (uint8_t)qv;
    double e = fabs(qv * s - (double)m->weights[k]);
    if (e > maxerr) maxerr = e;
  }
  q->scale = s;
  q->max_abs_error = maxerr;
  er_status st;
  /* margin = s·acc/256 + bias, acc in weight × Q8 units → Q16 per unit: 256·s */
  if ((st = pick_scale(256.0 * s, &q->shift, &q->mul, "pack: linear model", err))) return st;
  return q16_of(m->bias, &q->base_q16, "pack: linear model bias", err);
}

typedef struct {
  uint32_t f;
  float t;
} fthr;

static int cmp_fthr(const void *a, const void *b) {
  const fthr *x = (const fthr *)a, *y = (const fthr *)b;
  if (x->f != y->f) return x->f < y->f ? -1 : 1;
  return x->t < y->t ? -1 : x->t > y->t;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Trees: BFS renumbering (children after parents) with an explicit queue,
 * threshold tables, int8 leaves.  Writes the TREES and THRESHOLDS sections. */
static er_status build_trees(const er_pack_model *m, gbuf *trs, gbuf *ths, uint32_t *n_nodes_out, uint32_t *n_thr_out,
                             er_pack_quant *q, er_error *err) {
  uint32_t nt = m->n_trees;
  if (!nt || nt > ER_PACK_MAX_TREES || !m->trees)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree model has %u trees (expected 1..%u)", nt, ER_PACK_MAX_TREES);
  uint64_t total = 0;
  uint32_t maxn = 0;
  for (uint32_t t = 0; t < nt; t++) {
    const er_pack_tree *tr = &m->trees[t];
    if (!tr->n_nodes) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u has no nodes", t);
    if (!tr->left || !tr->right || !tr->feature || !tr->threshold || !tr->default_left || !tr->leaf)
      return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: tree %u is missing a node array", t);
    total += tr->n_nodes;
    if (tr->n_nodes > maxn) maxn = tr->n_nodes;
  }
  if (total > (1u << 28)) return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: %llu tree nodes in all, too many", (unsigned long long)total);
  er_status st = ER_OK;
  uint32_t *ord = (uint32_t *)xcalloc((size_t)total, sizeof *ord);     /* output position → input node */
  int32_t *nid = (int32_t *)xcalloc((size_t)total, sizeof *nid);       /* input node → relative output index */
  uint32_t *tstart = (uint32_t *)xcalloc((size_t)nt + 1, sizeof *tstart);
  uint8_t *depth = (uint8_t *)xcalloc(maxn, 1);
  fthr *th = (fthr *)xcalloc((size_t)total, sizeof *th);
  if (!ord || !nid || !tstart || !depth || !th) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory"); goto done; }
  uint32_t nth = 0, out = 0;
  uint64_t inbase = 0;
  double mx = 0;
  for (uint32_t t = 0; t < nt; t++) {
    const er_pack_tree *tr = &m->trees[t];
    int32_t *ni = nid + inbase;
    uint32_t nn = tr->n_nodes;
    for (uint32_t k = 0; k < nn; k++) ni[k] = -1;
    uint32_t head = out, tail = out;
    tstart[t] = out;
    ord[tail++] = 0;
    ni[0] = 0;
    depth[0] = 0;
    while (head < tail) {
      uint32_t o = ord[head++];
      if (tr->left[o] == -1) {
        if (tr->right[o] != -1) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %u has left child -1 but right child %d", t, o, tr->right[o]); goto done; }
        if (!isfinite(tr->leaf[o])) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %u has a non-finite leaf value", t, o); goto done; }
        if (fabs((double)tr->leaf[o]) > mx) mx = fabs((double)tr->leaf[o]);
        continue;
      }
      if (tr->feature[o] >= ER_DENSE_COUNT) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %u splits on feature %u (the engine has %u dense features)", t, o, tr->feature[o], ER_DENSE_COUNT); goto done; }
      float thr = tr->threshold[o];
      if (thr != thr) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %u has a NaN threshold", t, o); goto done; }
      if (thr == 0.0f) thr = 0.0f; /* -0 and +0 split alike */
      th[nth++] = (fthr){tr->feature[o], thr};
      int32_t ch[2] = {tr->left[o], tr->right[o]};
      for (int c = 0; c < 2; c++) {
        if (ch[c] < 0 || (uint32_t)ch[c] >= nn) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %u has child %d outside 0..%u", t, o, ch[c], nn - 1); goto done; }
        if (ni[ch[c]] != -1) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: tree %u node %d is reached twice (not a tree)", t, ch[c]); goto done; }
        if (depth[o] + 1u > ER_PACK_MAX_DEPTH) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: tree %u is deeper than %u", t, ER_PACK_MAX_DEPTH); goto done; }
        if (tail - out >= 65535u) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: tree %u has more than 65535 nodes", t); goto done; }
        ni[ch[c]] = (int32_t)(tail - out);
        depth[ch[c]] = (uint8_t)(depth[o] + 1);
        ord[tail++] = (uint32_t)ch[c];
      }
    }
    out = tail;
    inbase += nn;
  }
  tstart[nt] = out;
  /* threshold tables: per feature, sorted unique float32 */
  sort_(th, nth, sizeof *th, cmp_fthr);
  uint32_t u = 0;
  for (uint32_t k = 0; k < nth; k++)
    if (!u || th[k].f != th[u - 1].f || th[k].t != th[u - 1].t) th[u++] = th[k];
  uint32_t foff[ER_DENSE_COUNT + 1] = {0};
  for (uint32_t k = 0; k < u; k++) foff[th[k].f + 1]++;
  for (uint32_t f = 0; f < ER_DENSE_COUNT; f++) {
    if (foff[f + 1] > 65535u) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: feature %s has more than 65535 distinct thresholds", er_dense_names[f]); goto done; }
    foff[f + 1] += foff[f];
  }
  for (uint32_t f = 0; f <= ER_DENSE_COUNT; f++)
    if (!gb_u32(ths, foff[f])) goto oom;
  for (uint32_t k = 0; k < u; k++)
    if (!gb_u32(ths, f32_bits(th[k].t))) goto oom;
  /* leaves */
  double s = mx > 0 ? mx / 127.0 : 1.0 / 127.0, maxerr = 0;
  for (uint32_t t = 0; t < nt; t++)
    if (!gb_u32(trs, tstart[t])) goto oom;
  inbase = 0;
  for (uint32_t t = 0; t < nt; t++) {
    const er_pack_tree *tr = &m->trees[t];
    const int32_t *ni = nid + inbase;
    for (uint32_t p = tstart[t]; p < tstart[t + 1]; p++) {
      uint32_t o = ord[p];
      uint8_t *nd = gb_add(trs, 8);
      if (!nd) goto oom;
      if (tr->left[o] == -1) {
        int8_t qv = q8_of(tr->leaf[o], s);
        double e = fabs(qv * s - (double)tr->leaf[o]);
        if (e > maxerr) maxerr = e;
        nd[1] = ER_NODE_LEAF;
        nd[2] = (uint8_t)qv;
        continue;
      }
      uint32_t f = tr->feature[o];
      float thr = tr->threshold[o];
      if (thr == 0.0f) thr = 0.0f;
      uint32_t lo = foff[f], hi = foff[f + 1];
      while (lo < hi) { /* exact match exists */
        uint32_t mid = lo + (hi - lo) / 2;
        if (th[mid].t < thr) lo = mid + 1;
        else hi = mid;
      }
      nd[0] = (uint8_t)f;
      nd[1] = tr->default_left[o] ? ER_NODE_DEFAULT_LEFT : 0;
      er_wr16(nd + 2, (uint16_t)(lo - foff[f]));
      er_wr16(nd + 4, (uint16_t)ni[tr->left[o]]);
      er_wr16(nd + 6, (uint16_t)ni[tr->right[o]]);
    }
    inbase += tr->n_nodes;
  }
  q->scale = s;
  q->max_abs_error = maxerr;
  /* margin = base + s·acc → Q16 per leaf unit: 65536·s */
  if ((st = pick_scale(65536.0 * s, &q->shift, &q->mul, "pack: tree model", err))) goto done;
  if ((st = q16_of(m->base_margin, &q->base_q16, "pack: tree model base margin", err))) goto done;
  *n_nodes_out = out;
  *n_thr_out = u;
done:
  free(ord);
  free(nid);
  free(tstart);
  free(depth);
  free(th);
  return st;
oom:
  st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  goto done;
}

/* ======================================================================== */
/* er_pack_build                                                             */
/* ======================================================================== */

typedef struct {
  uint32_t key;
  const char *name;
} catname;

static int cmp_catname(const void *a, const void *b) {
  const catname *x = (const catname *)a, *y = (const catname *)b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* JSON string body of s: printable ASCII kept, '"' and '\\' escaped, other
 * bytes replaced by '?', so the META section is always valid JSON. */
static int gb_json_str(gbuf *g, const char *s) {
  if (gb_bytes(g, "\"", 1) < 0) return 0;
  for (; s && *s; s++) {
    uint8_t c = (uint8_t)*s;
    char t[2] = {'\\', (char)c};
    if (c == '"' || c == '\\') { if (gb_bytes(g, t, 2) < 0) return 0; }
    else if (c < 0x20 || c > 0x7e) { if (gb_bytes(g, "?", 1) < 0) return 0; }
    else if (gb_bytes(g, s, 1) < 0) return 0;
  }
  return gb_bytes(g, "\"", 1) >= 0;
}

static int gb_printf(gbuf *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int gb_printf(gbuf *g, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) return 0;
  return gb_bytes(g, tmp, (size_t)n) >= 0;
}

er_status er_pack_build(const er_pack_input *in, uint8_t **out, uint32_t *out_len, er_error *err) {
  if (!in || !out || !out_len) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: missing argument");
  *out = NULL;
  *out_len = 0;
  uint32_t n = in->n_items;
  if (n > ER_PACK_MAX_ITEMS) return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: %u items, more than %u", n, ER_PACK_MAX_ITEMS);
  if (n && !in->items) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: no items array");
  if (in->n_rules && !in->rules) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: no rules array");
  {
    const char *why = version_problem(in->version, in->version ? strlen(in->version) : 0);
    if (why) return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: model version %s", why);
  }
  er_status st = ER_OK;
  er_bw *w = er_bw_new();
  gbuf strs = {0}, items = {0}, skuix = {0}, urlix = {0}, icats = {0}, iattrs = {0}, cats = {0}, dir = {0}, li = {0},
       rules = {0}, model = {0}, lin = {0}, trs = {0}, ths = {0}, meta = {0};
  keyidx *sk = (keyidx *)xcalloc(n, sizeof *sk), *uk = (keyidx *)xcalloc(n, sizeof *uk);
  vec catv = {0}, content = {0};
  uint32_t *attr_tmp = (uint32_t *)xcalloc(ER_PACK_MAX_ITEM_ATTRS, sizeof *attr_tmp);
  uint32_t *set_off = (uint32_t *)xcalloc((size_t)n + 1, sizeof *set_off);
  vec setv = {0};
  er_pack_quant qz = {0};
  qedge *qe[ER_NBR_KINDS] = {0};
  uint32_t nq[ER_NBR_KINDS] = {0}, nbr_cap_used = 0, nbr_n[ER_NBR_KINDS] = {0};
  gbuf nbrs[ER_NBR_KINDS] = {{0}};
  uint8_t *ncnt[ER_NBR_KINDS] = {0};
  if (!w || !sk || !uk || !attr_tmp || !set_off) goto oom;

  /* ---- sku and url indexes ---- */
  uint32_t nu = 0;
  uint64_t maxv[3] = {0, 0, 0};
  for (uint32_t i = 0; i < n; i++) {
    const er_pack_item *it = &in->items[i];
    size_t sl = it->sku ? strlen(it->sku) : 0;
    if (sl == 0 || sl > ER_MAX_SKU_BYTES) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u sku is %zu bytes (expected 1..%u)", i, sl, ER_MAX_SKU_BYTES); goto done; }
    sk[i] = (keyidx){er_key(it->sku, sl), i};
    size_t ul = it->url_key ? strlen(it->url_key) : 0;
    if (ul > ER_PACK_MAX_URL_KEY) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') url_key is longer than %u bytes", i, it->sku, ER_PACK_MAX_URL_KEY); goto done; }
    if (ul) uk[nu++] = (keyidx){er_key(it->url_key, ul), i};
    if (it->n_categories > ER_PACK_MAX_ITEM_CATS || it->n_attributes > ER_PACK_MAX_ITEM_ATTRS) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: item %u (sku '%s') has more than %u categories or %u attributes", i, it->sku, ER_PACK_MAX_ITEM_CATS, ER_PACK_MAX_ITEM_ATTRS); goto done; }
    if ((it->n_categories && !it->categories) || (it->n_attributes && !it->attributes)) { st = er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: item %u has no categories/attributes array", i); goto done; }
    if (it->view >= ER_PACK_MAX_COUNT || it->cart >= ER_PACK_MAX_COUNT || it->purchase >= ER_PACK_MAX_COUNT) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') has a popularity count of 2^40 or more", i, it->sku); goto done; }
    if (!(it->repeat >= 0 && it->repeat <= 1)) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') has repeat %g (expected 0..1)", i, it->sku, it->repeat); goto done; }
    if (!(it->trending >= 0) || !isfinite(it->trending)) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') has trending %g (expected a finite value >= 0)", i, it->sku, it->trending); goto done; }
    if (it->view > maxv[0]) maxv[0] = it->view;
    if (it->cart > maxv[1]) maxv[1] = it->cart;
    if (it->purchase > maxv[2]) maxv[2] = it->purchase;
  }
  sort_(sk, n, sizeof *sk, cmp_keyidx);
  sort_(uk, nu, sizeof *uk, cmp_keyidx);
  for (uint32_t k = 1; k < n; k++)
    if (sk[k].key == sk[k - 1].key) {
      const char *a = in->items[sk[k - 1].idx].sku, *b = in->items[sk[k].idx].sku;
      if (strcmp(a, b))
        st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: skus '%s' (item %u) and '%s' (item %u) have the same key", a, sk[k - 1].idx, b, sk[k].idx);
      else
        st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: duplicate sku '%s' (items %u and %u)", a, sk[k - 1].idx, sk[k].idx);
      goto done;
    }
  for (uint32_t k = 1; k < nu; k++)
    if (uk[k].key == uk[k - 1].key) {
      st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: duplicate url_key '%s' (items %u and %u)", in->items[uk[k].idx].url_key, uk[k - 1].idx, uk[k].idx);
      goto done;
    }
  for (uint32_t k = 0; k < n; k++)
    if (!gb_u32(&skuix, sk[k].idx)) goto oom;
  for (uint32_t k = 0; k < nu; k++)
    if (!gb_u32(&urlix, (uint32_t)(uk[k].key >> 32)) || !gb_u32(&urlix, uk[k].idx)) goto oom;

  /* ---- items, categories, attributes, string pool ---- */
  for (uint32_t i = 0; i < n; i++) {
    const er_pack_item *it = &in->items[i];
    uint32_t parent = ER_NONE;
    if (it->parent_sku && it->parent_sku[0]) {
      parent = find_sku(sk, n, in->items, it->parent_sku, strlen(it->parent_sku));
      if (parent == ER_NONE) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') has parent '%s', which is not in the catalog", i, it->sku, it->parent_sku); goto done; }
      if (parent == i) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') is its own parent", i, it->sku); goto done; }
    }
    size_t sl = strlen(it->sku), ul = it->url_key ? strlen(it->url_key) : 0;
    int64_t so = gb_bytes(&strs, it->sku, sl), uo = ul ? gb_bytes(&strs, it->url_key, ul) : 0; /* url_key follows */
    if (so < 0 || uo < 0) goto oom;
    /* categories: keys in input order, duplicates dropped */
    uint32_t cfirst = (uint32_t)(icats.len / 4), nc = 0;
    for (uint32_t c = 0; c < it->n_categories; c++) {
      const char *cn = it->categories[c];
      if (!cn || !cn[0]) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: item %u (sku '%s') category %u is empty", i, it->sku, c); goto done; }
      uint32_t key = er_cat_key(cn, strlen(cn)), dup = 0;
      for (uint32_t d = 0; d < nc; d++) dup |= er_rd32(icats.p + 4 * ((size_t)cfirst + d)) == key;
      if (dup) continue;
      if (!gb_u32(&icats, key)) goto oom;
      catname *cv = (catname *)vec_push(&catv, sizeof *cv);
      if (!cv) goto oom;
      *cv = (catname){key, cn};
      nc++;
    }
    /* attributes: sorted unique keys */
    uint32_t na = 0;
    for (uint32_t a = 0; a < it->n_attributes; a++) {
      const char *as = it->attributes[a];
      if (!as) { st = er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: item %u attribute %u is NULL", i, a); goto done; }
      attr_tmp[na++] = (uint32_t)er_key(as, strlen(as));
    }
    sort_(attr_tmp, na, sizeof *attr_tmp, cmp_u32);
    uint32_t afirst = (uint32_t)(iattrs.len / 4), nua = 0;
    for (uint32_t a = 0; a < na; a++)
      if (!a || attr_tmp[a] != attr_tmp[a - 1]) {
        if (!gb_u32(&iattrs, attr_tmp[a])) goto oom;
        nua++;
      }
    /* content set: category keys ∪ attribute keys, sorted unique */
    if (nc + nua) {
      uint32_t s0 = setv.n;
      for (uint32_t c = 0; c < nc + nua; c++) {
        uint32_t *x = (uint32_t *)vec_push(&setv, sizeof *x);
        if (!x) goto oom;
        *x = c < nc ? er_rd32(icats.p + 4 * ((size_t)cfirst + c)) : er_rd32(iattrs.p + 4 * ((size_t)afirst + c - nc));
      }
      uint32_t *sp = (uint32_t *)setv.p + s0, m = nc + nua, uq = 0;
      sort_(sp, m, sizeof *sp, cmp_u32);
      for (uint32_t k = 0; k < m; k++)
        if (!uq || sp[k] != sp[uq - 1]) sp[uq++] = sp[k];
      setv.n = s0 + uq;
    }
    set_off[i + 1] = setv.n;
    /* the record */
    uint8_t *r = gb_add(&items, ER_ITEM_BYTES);
    if (!r) goto oom;
    (void)uo;
    er_wr64(r, er_key(it->sku, sl));
    er_wr32(r + 8, (uint32_t)so);
    r[12] = (uint8_t)sl;
    r[13] = (uint8_t)ul;
    r[14] = (uint8_t)((it->in_stock ? ER_ITEM_IN_STOCK : 0) | (it->visible ? ER_ITEM_VISIBLE : 0));
    r[15] = (uint8_t)nc;
    er_wr32(r + 16, parent);
    er_wr32(r + 20, cfirst);
    er_wr32(r + 24, it->price_cents);
    er_wr16(r + 28, (uint16_t)(maxv[0] ? it->view * 65535u / maxv[0] : 0));
    er_wr16(r + 30, (uint16_t)(maxv[1] ? it->cart * 65535u / maxv[1] : 0));
    er_wr16(r + 32, (uint16_t)(maxv[2] ? it->purchase * 65535u / maxv[2] : 0));
    double tr = round(it->trending * 1000.0);
    er_wr16(r + 34, (uint16_t)(tr > 65535.0 ? 65535u : (uint32_t)tr));
    double rp = round(it->repeat * 65535.0);
    er_wr16(r + 36, (uint16_t)(rp > 65535.0 ? 65535u : rp < 0 ? 0u : (uint32_t)rp));
  }
  if (strs.len > 0xFFFFFFF0u) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "pack: string pool exceeds 4 GiB"); goto done; }

  /* ---- category names ---- */
  {
    catname *cv = (catname *)catv.p;
    sort_(cv, catv.n, sizeof *cv, cmp_catname);
    for (uint32_t k = 0; k < catv.n; k++) {
      if (k && cv[k].key == cv[k - 1].key) {
        if (strcmp(cv[k].name, cv[k - 1].name)) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: categories '%s' and '%s' have the same key", cv[k - 1].name, cv[k].name); goto done; }
        continue;
      }
      size_t nl = strlen(cv[k].name);
      int64_t o = gb_bytes(&strs, cv[k].name, nl);
      if (o < 0 || !gb_u32(&cats, cv[k].key) || !gb_u32(&cats, (uint32_t)o) || !gb_u32(&cats, (uint32_t)nl)) goto oom;
    }
  }

  /* ---- popularity lists ---- */
  if ((st = build_lists(in, &dir, &li, err))) goto done;

  /* ---- rules ---- */
  for (uint32_t k = 0; k < in->n_rules; k++) {
    const er_pack_rule *ru = &in->rules[k];
    if (ru->item >= n) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: rule %u is for item %u, past the %u items", k, ru->item, n); goto done; }
    if (ru->action < ER_RULE_PIN || ru->action > ER_RULE_EXCLUDE) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: rule %u has unknown action %u", k, ru->action); goto done; }
    int32_t amount = 0;
    if (ru->action == ER_RULE_PIN && ru->position >= ER_MAX_K) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: rule %u pins to position %u (expected 0..%u)", k, ru->position, ER_MAX_K - 1); goto done; }
    if (ru->action == ER_RULE_BOOST || ru->action == ER_RULE_BURY) {
      if (!(ru->amount >= 0)) { st = er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "pack: rule %u amount %g is negative", k, ru->amount); goto done; }
      if ((st = q16_of(ru->amount, &amount, "pack: rule amount", err))) goto done;
    }
    uint8_t *r = gb_add(&rules, 16);
    if (!r) goto oom;
    er_wr32(r, ru->item);
    er_wr32(r + 4, ru->unit && ru->unit[0] ? (uint32_t)er_key(ru->unit, strlen(ru->unit)) : 0);
    r[8] = ru->action;
    r[9] = ru->action == ER_RULE_PIN ? ru->position : 0;
    er_wr32(r + 12, (uint32_t)amount);
  }

  /* ---- model ---- */
  uint32_t n_nodes = 0, n_thr = 0;
  if (in->model.kind == ER_MODEL_LINEAR) st = build_linear(&in->model, &lin, &qz, err);
  else if (in->model.kind == ER_MODEL_TREES) st = build_trees(&in->model, &trs, &ths, &n_nodes, &n_thr, &qz, err);
  else st = er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: unknown model kind %u", in->model.kind);
  if (st) goto done;
  {
    uint8_t *h = gb_add(&model, ER_MODEL_BYTES);
    if (!h) goto oom;
    h[0] = in->model.kind;
    h[1] = in->model.kind == ER_MODEL_LINEAR ? (uint8_t)in->model.bits : 0;
    h[2] = ER_DENSE_COUNT;
    h[3] = qz.shift;
    er_wr32(h + 4, (uint32_t)qz.mul);
    er_wr32(h + 8, (uint32_t)qz.base_q16);
    er_wr32(h + 12, in->model.kind == ER_MODEL_TREES ? in->model.n_trees : 0);
    er_wr32(h + 16, n_nodes);
  }

  /* ---- neighbours ---- */
  for (int r = 0; r < ER_NBR_KINDS; r++) { /* every relation's links, then one cap for all (choose_cap) */
    const er_pack_edge *e = in->nbr[r].edges;
    uint32_t ne = in->nbr[r].n_edges;
    if (ne && !e) { st = er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: neighbours %s has no edges array", REL_NAMES[r]); goto done; }
    if (r == ER_NBR_CONTENT && !ne && !in->no_auto_content && n) {
      if ((st = compute_content(set_off, (const uint32_t *)setv.p, in->items, n, &content, err))) goto done;
      e = (const er_pack_edge *)content.p;
      ne = content.n;
    }
    if (!ne) continue;
    if (!(ncnt[r] = (uint8_t *)xcalloc(n, 1))) goto oom;
    if ((st = prep_nbr(e, ne, n, r, &qe[r], &nq[r], ncnt[r], err))) goto done;
  }
  {
    uint32_t cap = in->nbr_cap ? in->nbr_cap : choose_cap(ncnt, n, in->nbr_budget ? in->nbr_budget : ER_PACK_NBR_BUDGET);
    for (int r = 0; r < ER_NBR_KINDS; r++) {
      if (ncnt[r] && (st = emit_nbr(qe[r], nq[r], n, cap, &nbrs[r], &nbr_n[r], err))) goto done;
    }
    nbr_cap_used = cap;
  }

  /* ---- meta ---- */
  if (!gb_printf(&meta, "{\"source\":") || !gb_json_str(&meta, in->source) || !gb_printf(&meta, ",\"version\":") ||
      !gb_json_str(&meta, in->version) ||
      !gb_printf(&meta, ",\"items\":%u,\"neighbour_cap\":%u,\"model\":\"%s\"", n, nbr_cap_used, in->model.kind == ER_MODEL_LINEAR ? "linear" : "trees"))
    goto oom;
  if (in->model.kind == ER_MODEL_LINEAR ? !gb_printf(&meta, ",\"bits\":%u", in->model.bits)
                                        : !gb_printf(&meta, ",\"trees\":%u,\"nodes\":%u", in->model.n_trees, n_nodes))
    goto oom;
  if (!gb_printf(&meta, ",\"quantization\":{\"scale\":%.9g,\"max_abs_error\":%.9g,\"shift\":%u,\"mul\":%d,\"base_q16\":%d}}",
                 qz.scale, qz.max_abs_error, qz.shift, qz.mul, qz.base_q16))
    goto oom;

  /* ---- sections ---- */
#define ADD(id, g, cnt) do { if ((st = er_bw_add(w, (id), (g).p, (uint32_t)(g).len, (cnt), err))) goto done; } while (0)
  ADD(ER_SEC_STRINGS, strs, (uint32_t)strs.len);
  ADD(ER_SEC_ITEMS, items, n);
  ADD(ER_SEC_SKU_INDEX, skuix, n);
  if (nu) ADD(ER_SEC_URL_INDEX, urlix, nu);
  if (icats.len) ADD(ER_SEC_ITEM_CATS, icats, (uint32_t)(icats.len / 4));
  ADD(ER_SEC_LIST_DIR, dir, (uint32_t)(dir.len / 16));
  if (li.len) ADD(ER_SEC_LIST_ITEMS, li, (uint32_t)(li.len / 4));
  for (int r = 0; r < ER_NBR_KINDS; r++)
    if (nbrs[r].len) ADD((uint32_t)(ER_SEC_NBR_VV + r), nbrs[r], nbr_n[r]);
  if (rules.len) ADD(ER_SEC_RULES, rules, in->n_rules);
  ADD(ER_SEC_MODEL, model, 1);
  if (lin.len) ADD(ER_SEC_LINEAR, lin, (uint32_t)lin.len);
  if (trs.len) ADD(ER_SEC_TREES, trs, n_nodes);
  if (ths.len) ADD(ER_SEC_THRESHOLDS, ths, n_thr);
  if (cats.len) ADD(ER_SEC_CATEGORIES, cats, (uint32_t)(cats.len / 12));
  ADD(ER_SEC_META, meta, (uint32_t)meta.len);
#undef ADD
  st = er_bw_finish(w, in->version, in->budget, out, out_len, err);
  if (!st && in->quant_out) *in->quant_out = qz;
  goto done;
oom:
  st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
done:
  er_bw_free(w);
  free(strs.p); free(items.p); free(skuix.p); free(urlix.p); free(icats.p); free(iattrs.p); free(cats.p);
  free(dir.p); free(li.p); free(rules.p); free(model.p); free(lin.p); free(trs.p); free(ths.p);
  free(meta.p); free(setv.p);
  free(sk); free(uk); free(catv.p); free(content.p); free(attr_tmp); free(set_off);
  for (int r = 0; r < ER_NBR_KINDS; r++) { free(qe[r]); free(ncnt[r]); free(nbrs[r].p); }
  return st;
}

/* ======================================================================== */
/* JSON sources                                                              */
/* ======================================================================== */

/* A chain of blocks for everything the JSON import builds; freed at once. */
typedef struct pblk {
  struct pblk *next;
  size_t used, cap;
} pblk;
#define PBLK_HDR ((sizeof(pblk) + 15u) & ~(size_t)15u)

typedef struct {
  pblk *head;
} pool;

/* n zeroed bytes, 8-aligned; NULL when out of memory. */
static void *pool_alloc(pool *p, size_t n) {
  if (n > SIZE_MAX / 2) return NULL;
  n = (n + 7u) & ~(size_t)7u;
  if (!p->head || p->head->cap - p->head->used < n) {
    size_t cap = n > 65536u ? n : 65536u;
    pblk *b = (pblk *)malloc(PBLK_HDR + cap);
    if (!b) return NULL;
    b->next = p->head;
    b->used = 0;
    b->cap = cap;
    p->head = b;
  }
  uint8_t *r = (uint8_t *)p->head + PBLK_HDR + p->head->used;
  p->head->used += n;
  memset(r, 0, n);
  return r;
}

static void pool_free(pool *p) {
  while (p->head) {
    pblk *n = p->head->next;
    free(p->head);
    p->head = n;
  }
}

typedef struct {
  er_json j;
  const char *what;
  er_error *err;
  jsmntok_t *tok;
} jdoc;

static er_status jdoc_open(jdoc *d, const char *js, uint32_t len, const char *what, er_error *err) {
  d->what = what;
  d->err = err;
  d->tok = NULL;
  if (!js) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "%s: no input", what);
  if (len > 0x7FFFFFF0u) return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "%s: %u bytes, more than 2 GiB", what, len);
  uint32_t need = 0;
  er_status st = er_json_validate(js, len, ER_MAX_JSON_DEPTH, what, err, &need);
  if (st) return st;
  d->tok = (jsmntok_t *)malloc(sizeof(jsmntok_t) * (need ? need : 1));
  if (!d->tok) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory for %u JSON tokens", what, need);
  return er_json_parse(&d->j, js, len, d->tok, need, what, err);
}

/* Byte offset of token t (the opening quote of a string). */
static uint32_t tok_off(const jdoc *d, uint32_t t) {
  const jsmntok_t *k = &d->j.tok[t];
  return (uint32_t)(k->type == JSMN_STRING && k->start > 0 ? k->start - 1 : k->start);
}

/* "<input>: <path> <problem> at byte N" */
static er_status vjerr(jdoc *d, er_status code, uint32_t t, const char *problem, const char *fmt, va_list ap) {
  char path[160];
  vsnprintf(path, sizeof path, fmt, ap);
  uint32_t off = tok_off(d, t);
  return er_fail(d->err, code, off, "%s: %s %s at byte %u", d->what, path, problem, off);
}

#if defined(__GNUC__)
#define ER_PF(a, b) __attribute__((format(printf, a, b)))
#else
#define ER_PF(a, b)
#endif

static er_status jerr(jdoc *d, er_status code, uint32_t t, const char *problem, const char *fmt, ...) ER_PF(5, 6);
static er_status jerr(jdoc *d, er_status code, uint32_t t, const char *problem, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  er_status st = vjerr(d, code, t, problem, fmt, ap);
  va_end(ap);
  return st;
}

static er_status vjtype(jdoc *d, uint32_t t, const char *expected, const char *fmt, va_list ap) {
  char problem[96];
  snprintf(problem, sizeof problem, "must be %s, got %s", expected, er_json_type_name(&d->j, t));
  return vjerr(d, ER_E_TYPE, t, problem, fmt, ap);
}

static er_status jtype(jdoc *d, uint32_t t, const char *expected, const char *fmt, ...) ER_PF(4, 5);
static er_status jtype(jdoc *d, uint32_t t, const char *expected, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  er_status st = vjtype(d, t, expected, fmt, ap);
  va_end(ap);
  return st;
}

/* Decode string token t into the pool (NUL-terminated).  allow_null: a null
 * token gives *out = NULL. */
static er_status rd_str(jdoc *d, pool *p, uint32_t t, int allow_null, char **out, uint32_t *len, const char *fmt, ...)
    ER_PF(7, 8);
static er_status rd_str(jdoc *d, pool *p, uint32_t t, int allow_null, char **out, uint32_t *len, const char *fmt, ...) {
  va_list ap;
  er_status st = ER_OK;
  *out = NULL;
  if (len) *len = 0;
  if (allow_null && er_json_is_null(&d->j, t)) return ER_OK;
  va_start(ap, fmt);
  if (!er_json_is(&d->j, t, JSMN_STRING)) {
    st = vjtype(d, t, allow_null ? "a string or null" : "a string", fmt, ap);
  } else {
    uint32_t raw = (uint32_t)(d->j.tok[t].end - d->j.tok[t].start);
    char *s = (char *)pool_alloc(p, (size_t)raw + 1);
    int32_t n = s ? er_json_str(&d->j, t, s, raw) : -1;
    if (!s) st = er_fail(d->err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory", d->what);
    else if (n < 0 || memchr(s, 0, (size_t)n)) st = vjerr(d, ER_E_RANGE, t, "must not contain a NUL character", fmt, ap);
    else {
      s[n] = 0;
      *out = s;
      if (len) *len = (uint32_t)n;
    }
  }
  va_end(ap);
  return st;
}

static er_status rd_num(jdoc *d, uint32_t t, double *out, const char *fmt, ...) ER_PF(4, 5);
static er_status rd_num(jdoc *d, uint32_t t, double *out, const char *fmt, ...) {
  va_list ap;
  er_status st = ER_OK;
  va_start(ap, fmt);
  if (!er_json_is_number(&d->j, t)) st = vjtype(d, t, "a number", fmt, ap);
  else if (er_json_double(&d->j, t, out) || !isfinite(*out)) st = vjerr(d, ER_E_RANGE, t, "is not a representable number", fmt, ap);
  va_end(ap);
  return st;
}

static er_status rd_int(jdoc *d, uint32_t t, int64_t lo, int64_t hi, int64_t *out, const char *fmt, ...) ER_PF(6, 7);
static er_status rd_int(jdoc *d, uint32_t t, int64_t lo, int64_t hi, int64_t *out, const char *fmt, ...) {
  va_list ap;
  er_status st = ER_OK;
  va_start(ap, fmt);
  if (!er_json_is_number(&d->j, t)) st = vjtype(d, t, "an integer", fmt, ap);
  else if (er_json_int(&d->j, t, lo, hi, out)) {
    char problem[96];
    snprintf(problem, sizeof problem, "must be an integer in %lld..%lld", (long long)lo, (long long)hi);
    st = vjerr(d, ER_E_RANGE, t, problem, fmt, ap);
  }
  va_end(ap);
  return st;
}

static er_status rd_bool(jdoc *d, uint32_t t, int *out, const char *fmt, ...) ER_PF(4, 5);
static er_status rd_bool(jdoc *d, uint32_t t, int *out, const char *fmt, ...) {
  va_list ap;
  er_status st = ER_OK;
  va_start(ap, fmt);
  if (er_json_bool(&d->j, t, out)) st = vjtype(d, t, "true or false", fmt, ap);
  va_end(ap);
  return st;
}

/* Member `key` of object obj that is neither absent nor null, else -1. */
static int32_t member(const jdoc *d, uint32_t obj, const char *key) {
  int32_t t = er_json_get(&d->j, obj, key);
  return t >= 0 && !er_json_is_null(&d->j, (uint32_t)t) ? t : -1;
}

typedef struct {
  pool pool;
  jdoc cat, mod, xgb;
  er_error *err;
  er_pack_input in;
  er_pack_item *items;
  uint32_t n_items;
  int32_t *sku_tok, *url_tok, *parent_tok;
  keyidx *sk; /* sorted sku keys */
  vec edges[ER_NBR_KINDS];
} jpack;

/* Copy of string token t for messages (truncated to fit). */
static const char *tok_text(const jdoc *d, uint32_t t, char *buf, uint32_t cap) {
  int32_t n = er_json_str(&d->j, t, buf, cap - 1);
  if (n < 0) {
    uint32_t raw = (uint32_t)(d->j.tok[t].end - d->j.tok[t].start);
    n = (int32_t)(raw < cap - 4 ? raw : cap - 4);
    memcpy(buf, d->j.js + d->j.tok[t].start, (size_t)n);
    memcpy(buf + n, "...", 3);
    n += 3;
  }
  buf[n] = 0;
  return buf;
}

/* Item index of the sku in string token t, or ER_NONE. */
static uint32_t tok_sku(jpack *P, const jdoc *d, uint32_t t) {
  char buf[ER_MAX_SKU_BYTES + 1];
  if (!er_json_is(&d->j, t, JSMN_STRING)) return ER_NONE;
  int32_t n = er_json_str(&d->j, t, buf, ER_MAX_SKU_BYTES);
  if (n <= 0) return ER_NONE;
  return find_sku(P->sk, P->n_items, P->items, buf, (size_t)n);
}

/* ---- catalog.json ---- */

static er_status attr_value_ok(jdoc *d, uint32_t t, uint32_t k, const char *name) {
  const er_json *j = &d->j;
  if (er_json_is(j, t, JSMN_STRING) || er_json_is_number(j, t) || er_json_is_bool(j, t)) return ER_OK;
  return jtype(d, t, "a string, number, boolean or an array of them", "items[%u].attributes.%s", k, name);
}

static er_status parse_item(jpack *P, uint32_t it, uint32_t k) {
  jdoc *d = &P->cat;
  const er_json *j = &d->j;
  pool *pl = &P->pool;
  er_pack_item *o = &P->items[k];
  er_status st;
  int32_t t;
  char *s;
  uint32_t len;
  if (!er_json_is(j, it, JSMN_OBJECT)) return jtype(d, it, "an object", "items[%u]", k);
  if ((t = member(d, it, "sku")) < 0) return jerr(d, ER_E_TYPE, it, "has no sku", "items[%u]", k);
  if ((st = rd_str(d, pl, (uint32_t)t, 0, &s, &len, "items[%u].sku", k))) return st;
  if (len == 0 || len > ER_MAX_SKU_BYTES) return jerr(d, ER_E_RANGE, (uint32_t)t, "must be 1..128 bytes", "items[%u].sku", k);
  o->sku = s;
  P->sku_tok[k] = t;
  P->url_tok[k] = P->parent_tok[k] = -1;
  o->in_stock = o->visible = 1;
  if ((t = member(d, it, "url_key")) >= 0) {
    if ((st = rd_str(d, pl, (uint32_t)t, 0, &s, &len, "items[%u].url_key", k))) return st;
    if (len > ER_PACK_MAX_URL_KEY) return jerr(d, ER_E_RANGE, (uint32_t)t, "is longer than 255 bytes", "items[%u].url_key", k);
    o->url_key = s;
    if (len) P->url_tok[k] = t;
  }
  if ((t = member(d, it, "parent")) >= 0) {
    if ((st = rd_str(d, pl, (uint32_t)t, 0, &s, &len, "items[%u].parent", k))) return st;
    o->parent_sku = s;
    if (len) P->parent_tok[k] = t;
  }
  if ((t = member(d, it, "categories")) >= 0) {
    if (!er_json_is(j, (uint32_t)t, JSMN_ARRAY)) return jtype(d, (uint32_t)t, "an array of strings", "items[%u].categories", k);
    uint32_t nc = (uint32_t)j->tok[t].size;
    if (nc > ER_PACK_MAX_ITEM_CATS) return jerr(d, ER_E_LIMIT, (uint32_t)t, "has more than 64 entries", "items[%u].categories", k);
    const char **cs = (const char **)pool_alloc(pl, sizeof(char *) * (nc ? nc : 1));
    if (!cs) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
    uint32_t el = (uint32_t)t + 1;
    for (uint32_t c = 0; c < nc; c++, el = er_json_skip(j, el)) {
      if ((st = rd_str(d, pl, el, 0, &s, &len, "items[%u].categories[%u]", k, c))) return st;
      if (!len) return jerr(d, ER_E_RANGE, el, "is empty", "items[%u].categories[%u]", k, c);
      cs[c] = s;
    }
    o->categories = cs;
    o->n_categories = nc;
  }
  if ((t = member(d, it, "price")) >= 0) {
    int64_t v;
    if (!er_json_is_number(j, (uint32_t)t)) return jtype(d, (uint32_t)t, "a number", "items[%u].price", k);
    if (er_json_fixed(j, (uint32_t)t, 2, 0, 0xFFFFFFFFll, &v))
      return jerr(d, ER_E_RANGE, (uint32_t)t, "must be 0..42949672.95", "items[%u].price", k);
    o->price_cents = (uint32_t)v;
  }
  int b;
  if ((t = member(d, it, "in_stock")) >= 0) {
    if ((st = rd_bool(d, (uint32_t)t, &b, "items[%u].in_stock", k))) return st;
    o->in_stock = (uint8_t)b;
  }
  if ((t = member(d, it, "visible")) >= 0) {
    if ((st = rd_bool(d, (uint32_t)t, &b, "items[%u].visible", k))) return st;
    o->visible = (uint8_t)b;
  }
  if ((t = member(d, it, "attributes")) >= 0) {
    if (!er_json_is(j, (uint32_t)t, JSMN_OBJECT)) return jtype(d, (uint32_t)t, "an object", "items[%u].attributes", k);
    /* count the values, then build "name=value" strings */
    uint32_t nv = 0, kt = (uint32_t)t + 1;
    for (int a = 0; a < j->tok[t].size; a++, kt = er_json_skip(j, kt + 1)) {
      uint32_t vt = kt + 1;
      if (er_json_is(j, vt, JSMN_ARRAY)) nv += (uint32_t)j->tok[vt].size;
      else if (!er_json_is_null(j, vt)) nv++;
    }
    if (nv > ER_PACK_MAX_ITEM_ATTRS) return jerr(d, ER_E_LIMIT, (uint32_t)t, "has more than 1024 values", "items[%u].attributes", k);
    const char **as = (const char **)pool_alloc(pl, sizeof(char *) * (nv ? nv : 1));
    if (!as) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
    uint32_t m = 0;
    kt = (uint32_t)t + 1;
    for (int a = 0; a < j->tok[t].size; a++, kt = er_json_skip(j, kt + 1)) {
      char *name;
      uint32_t nl;
      if ((st = rd_str(d, pl, kt, 0, &name, &nl, "items[%u].attributes key", k))) return st;
      uint32_t vt = kt + 1, nvals = 1, el = vt;
      if (er_json_is_null(j, vt)) continue;
      if (er_json_is(j, vt, JSMN_ARRAY)) { nvals = (uint32_t)j->tok[vt].size; el = vt + 1; }
      for (uint32_t v = 0; v < nvals; v++, el = er_json_skip(j, el)) {
        if ((st = attr_value_ok(d, el, k, name))) return st;
        uint32_t raw = (uint32_t)(j->tok[el].end - j->tok[el].start);
        char *sv = (char *)pool_alloc(pl, (size_t)nl + 1 + raw + 1);
        if (!sv) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
        memcpy(sv, name, nl);
        sv[nl] = '=';
        int32_t vl;
        if (er_json_is(j, el, JSMN_STRING)) vl = er_json_str(j, el, sv + nl + 1, raw);
        else { memcpy(sv + nl + 1, j->js + j->tok[el].start, raw); vl = (int32_t)raw; }
        if (vl < 0 || memchr(sv + nl + 1, 0, (size_t)vl)) return jerr(d, ER_E_RANGE, el, "must not contain a NUL character", "items[%u].attributes.%s", k, name);
        sv[nl + 1 + (uint32_t)vl] = 0;
        as[m++] = sv;
      }
    }
    o->attributes = as;
    o->n_attributes = m;
  }
  if ((t = member(d, it, "popularity")) >= 0) {
    if (!er_json_is(j, (uint32_t)t, JSMN_OBJECT)) return jtype(d, (uint32_t)t, "an object", "items[%u].popularity", k);
    static const char *const f[3] = {"view", "cart", "purchase"};
    uint64_t *dst[3] = {&o->view, &o->cart, &o->purchase};
    for (int q = 0; q < 3; q++) {
      int32_t v = member(d, (uint32_t)t, f[q]);
      int64_t x;
      if (v < 0) continue;
      if ((st = rd_int(d, (uint32_t)v, 0, (int64_t)ER_PACK_MAX_COUNT - 1, &x, "items[%u].popularity.%s", k, f[q]))) return st;
      *dst[q] = (uint64_t)x;
    }
    int32_t v = member(d, (uint32_t)t, "trending");
    if (v >= 0) {
      if ((st = rd_num(d, (uint32_t)v, &o->trending, "items[%u].popularity.trending", k))) return st;
      if (o->trending < 0) return jerr(d, ER_E_RANGE, (uint32_t)v, "must be >= 0", "items[%u].popularity.trending", k);
    }
    if ((v = member(d, (uint32_t)t, "repeat")) >= 0) {
      if ((st = rd_num(d, (uint32_t)v, &o->repeat, "items[%u].popularity.repeat", k))) return st;
      if (o->repeat < 0 || o->repeat > 1) return jerr(d, ER_E_RANGE, (uint32_t)v, "must be 0..1", "items[%u].popularity.repeat", k);
    }
  }
  return ER_OK;
}

static er_status parse_neighbours(jpack *P, uint32_t tn) {
  jdoc *d = &P->cat;
  const er_json *j = &d->j;
  char buf[160];
  if (!er_json_is(j, tn, JSMN_OBJECT)) return jtype(d, tn, "an object", "neighbours");
  uint32_t kt = tn + 1;
  for (int r = 0; r < j->tok[tn].size; r++, kt = er_json_skip(j, kt + 1)) {
    int rel = -1;
    for (int q = 0; q < ER_NBR_KINDS; q++)
      if (er_json_eq(j, kt, REL_NAMES[q])) rel = q;
    if (rel < 0)
      return jerr(d, ER_E_RANGE, kt, "is not a relation (viewed_viewed, viewed_bought, bought_bought, content)",
                  "neighbours key '%s'", tok_text(d, kt, buf, 64));
    if (rel == ER_NBR_CONTENT) P->in.no_auto_content = 1;
    uint32_t vt = kt + 1;
    if (er_json_is_null(j, vt)) continue;
    if (!er_json_is(j, vt, JSMN_OBJECT)) return jtype(d, vt, "an object of sku: [[sku, weight], ...]", "neighbours.%s", REL_NAMES[rel]);
    uint32_t st_ = vt + 1;
    for (int s = 0; s < j->tok[vt].size; s++, st_ = er_json_skip(j, st_ + 1)) {
      uint32_t from = tok_sku(P, d, st_);
      if (from == ER_NONE) return jerr(d, ER_E_RANGE, st_, "is not in the catalog", "neighbours.%s: sku '%s'", REL_NAMES[rel], tok_text(d, st_, buf, sizeof buf));
      uint32_t lt = st_ + 1;
      const char *fs = P->items[from].sku;
      if (er_json_is_null(j, lt)) continue;
      if (!er_json_is(j, lt, JSMN_ARRAY)) return jtype(d, lt, "an array of [sku, weight] pairs", "neighbours.%s.%s", REL_NAMES[rel], fs);
      uint32_t el = lt + 1;
      for (int e = 0; e < j->tok[lt].size; e++, el = er_json_skip(j, el)) {
        if (!er_json_is(j, el, JSMN_ARRAY) || j->tok[el].size != 2)
          return jtype(d, el, "a [sku, weight] pair", "neighbours.%s.%s[%d]", REL_NAMES[rel], fs, e);
        uint32_t t0 = el + 1, t1 = er_json_skip(j, t0);
        if (!er_json_is(j, t0, JSMN_STRING)) return jtype(d, t0, "a sku string", "neighbours.%s.%s[%d][0]", REL_NAMES[rel], fs, e);
        uint32_t to = tok_sku(P, d, t0);
        if (to == ER_NONE) return jerr(d, ER_E_RANGE, t0, "is not in the catalog", "neighbours.%s.%s[%d]: sku '%s'", REL_NAMES[rel], fs, e, tok_text(d, t0, buf, sizeof buf));
        double w;
        er_status st = rd_num(d, t1, &w, "neighbours.%s.%s[%d][1]", REL_NAMES[rel], fs, e);
        if (st) return st;
        if (w < 0 || w > 1) return jerr(d, ER_E_RANGE, t1, "must be a weight in 0..1", "neighbours.%s.%s[%d][1]", REL_NAMES[rel], fs, e);
        er_pack_edge *pe = (er_pack_edge *)vec_push(&P->edges[rel], sizeof *pe);
        if (!pe) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
        *pe = (er_pack_edge){from, to, (float)w};
      }
    }
  }
  return ER_OK;
}

static er_status parse_catalog(jpack *P) {
  jdoc *d = &P->cat;
  const er_json *j = &d->j;
  er_status st;
  char buf[160];
  if (!er_json_is(j, 0, JSMN_OBJECT)) return jtype(d, 0, "an object", "the top level");
  int32_t ti = member(d, 0, "items");
  if (ti < 0) return jerr(d, ER_E_TYPE, 0, "has no items array", "the top level");
  if (!er_json_is(j, (uint32_t)ti, JSMN_ARRAY)) return jtype(d, (uint32_t)ti, "an array", "items");
  uint32_t n = (uint32_t)j->tok[ti].size;
  if (n > ER_PACK_MAX_ITEMS) return jerr(d, ER_E_LIMIT, (uint32_t)ti, "has more than 2^24 items", "items");
  P->n_items = n;
  P->items = (er_pack_item *)pool_alloc(&P->pool, sizeof(er_pack_item) * (n ? n : 1));
  P->sku_tok = (int32_t *)pool_alloc(&P->pool, sizeof(int32_t) * 3 * (n ? n : 1));
  P->sk = (keyidx *)pool_alloc(&P->pool, sizeof(keyidx) * (n ? n : 1));
  if (!P->items || !P->sku_tok || !P->sk) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
  P->url_tok = P->sku_tok + n;
  P->parent_tok = P->url_tok + n;
  uint32_t el = (uint32_t)ti + 1;
  for (uint32_t k = 0; k < n; k++, el = er_json_skip(j, el))
    if ((st = parse_item(P, el, k))) return st;
  /* duplicates, with the offset of the later occurrence */
  for (uint32_t k = 0; k < n; k++) P->sk[k] = (keyidx){er_key(P->items[k].sku, strlen(P->items[k].sku)), k};
  sort_(P->sk, n, sizeof *P->sk, cmp_keyidx);
  for (uint32_t k = 1; k < n; k++)
    if (P->sk[k].key == P->sk[k - 1].key && !strcmp(P->items[P->sk[k].idx].sku, P->items[P->sk[k - 1].idx].sku))
      return jerr(d, ER_E_RANGE, (uint32_t)P->sku_tok[P->sk[k].idx], "is a duplicate", "items[%u].sku '%s' (also items[%u])",
                  P->sk[k].idx, P->items[P->sk[k].idx].sku, P->sk[k - 1].idx);
  {
    keyidx *u = (keyidx *)pool_alloc(&P->pool, sizeof(keyidx) * (n ? n : 1));
    uint32_t nu = 0;
    if (!u) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory");
    for (uint32_t k = 0; k < n; k++)
      if (P->url_tok[k] >= 0) u[nu++] = (keyidx){er_key(P->items[k].url_key, strlen(P->items[k].url_key)), k};
    sort_(u, nu, sizeof *u, cmp_keyidx);
    for (uint32_t k = 1; k < nu; k++)
      if (u[k].key == u[k - 1].key)
        return jerr(d, ER_E_RANGE, (uint32_t)P->url_tok[u[k].idx], "is a duplicate", "items[%u].url_key '%s'", u[k].idx,
                    P->items[u[k].idx].url_key);
  }
  for (uint32_t k = 0; k < n; k++) {
    if (P->parent_tok[k] < 0) continue;
    const char *ps = P->items[k].parent_sku;
    uint32_t p = find_sku(P->sk, n, P->items, ps, strlen(ps));
    if (p == ER_NONE) return jerr(d, ER_E_RANGE, (uint32_t)P->parent_tok[k], "is not in the catalog", "items[%u].parent '%s'", k, tok_text(d, (uint32_t)P->parent_tok[k], buf, sizeof buf));
    if (p == k) return jerr(d, ER_E_RANGE, (uint32_t)P->parent_tok[k], "is the item itself", "items[%u].parent", k);
  }
  int32_t tn = member(d, 0, "neighbours");
  if (tn >= 0 && (st = parse_neighbours(P, (uint32_t)tn))) return st;
  return ER_OK;
}

/* ---- model.json ---- */

static er_status parse_arg(jpack *P, uint32_t obj, const char *name, char kind, const char *ns, uint32_t k, uint64_t *out) {
  jdoc *d = &P->mod;
  const er_json *j = &d->j;
  int32_t t = member(d, obj, name);
  char *s;
  uint32_t len;
  int64_t v;
  er_status st;
  *out = 0;
  if (kind == '-') {
    if (t < 0 || (er_json_is_number(j, (uint32_t)t) && !er_json_int(j, (uint32_t)t, 0, 0, &v))) return ER_OK;
    return jerr(d, ER_E_RANGE, (uint32_t)t, "must be absent: the namespace takes no such argument", "weights[%u].%s (ns %s)", k, name, ns);
  }
  if (t < 0) return jerr(d, ER_E_TYPE, obj, "is missing", "weights[%u].%s (ns %s)", k, name, ns);
  switch (kind) {
  case 'n':
    if (er_json_is_bool(j, (uint32_t)t)) { *out = j->js[j->tok[t].start] == 't'; return ER_OK; }
    if ((st = rd_int(d, (uint32_t)t, 0, 0xFFFFFFFFll, &v, "weights[%u].%s (ns %s)", k, name, ns))) return st;
    *out = (uint64_t)v;
    return ER_OK;
  default:
    break;
  }
  if ((st = rd_str(d, &P->pool, (uint32_t)t, 0, &s, &len, "weights[%u].%s (ns %s)", k, name, ns))) return st;
  switch (kind) {
  case 'i': *out = er_key(s, len); break;
  case 'c': case 'k': *out = er_cat_key(s, len); break;
  case 'd':
    if (!(*out = er_device_from(s, len))) return jerr(d, ER_E_RANGE, (uint32_t)t, "is not a device (desktop, mobile, tablet, app)", "weights[%u].%s '%s'", k, name, s);
    break;
  case 'p':
    if (!(*out = er_page_from(s, len))) return jerr(d, ER_E_RANGE, (uint32_t)t, "is not a page type (home, category, search, product, cart)", "weights[%u].%s '%s'", k, name, s);
    break;
  default:
    return er_fail(P->err, ER_E_USAGE, ER_NO_OFFSET, "model: namespace %s has unknown argument kind '%c'", ns, kind);
  }
  return ER_OK;
}

static er_status parse_linear(jpack *P) {
  jdoc *d = &P->mod;
  const er_json *j = &d->j;
  er_pack_model *m = &P->in.model;
  er_status st;
  int64_t v;
  int32_t t;
  m->kind = ER_MODEL_LINEAR;
  m->bits = 14;
  if ((t = member(d, 0, "bits")) >= 0) {
    if ((st = rd_int(d, (uint32_t)t, 10, 24, &v, "bits"))) return st;
    m->bits = (uint32_t)v;
  }
  if ((t = member(d, 0, "bias")) >= 0 && (st = rd_num(d, (uint32_t)t, &m->bias, "bias"))) return st;
  if (fabs(m->bias) >= 32767.0) return jerr(d, ER_E_RANGE, (uint32_t)t, "must be within ±32767", "bias");
  uint32_t nb = 1u << m->bits;
  float *w = (float *)pool_alloc(&P->pool, sizeof(float) * nb);
  if (!w) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "model: out of memory");
  m->weights = w;
  if ((t = member(d, 0, "weights")) < 0) return ER_OK;
  if (!er_json_is(j, (uint32_t)t, JSMN_ARRAY)) return jtype(d, (uint32_t)t, "an array", "weights");
  uint32_t el = (uint32_t)t + 1;
  for (int k = 0; k < j->tok[t].size; k++, el = er_json_skip(j, el)) {
    if (!er_json_is(j, el, JSMN_OBJECT)) return jtype(d, el, "an object {ns, a, b, w}", "weights[%d]", k);
    int32_t tn = member(d, el, "ns"), tw = member(d, el, "w");
    if (tn < 0) return jerr(d, ER_E_TYPE, el, "has no ns", "weights[%d]", k);
    if (tw < 0) return jerr(d, ER_E_TYPE, el, "has no w", "weights[%d]", k);
    if (!er_json_is(j, (uint32_t)tn, JSMN_STRING)) return jtype(d, (uint32_t)tn, "a namespace name", "weights[%d].ns", k);
    uint32_t ns = 0;
    for (uint32_t q = 1; q < ER_NS_COUNT; q++)
      if (er_json_eq(j, (uint32_t)tn, er_ns_names[q])) ns = q;
    if (!ns) {
      char buf[64];
      return jerr(d, ER_E_RANGE, (uint32_t)tn, "is not a feature namespace (see docs/features.md)", "weights[%d].ns '%s'", k, tok_text(d, (uint32_t)tn, buf, sizeof buf));
    }
    uint64_t a, b;
    if ((st = parse_arg(P, el, "a", er_ns_args[ns][0], er_ns_names[ns], (uint32_t)k, &a))) return st;
    if ((st = parse_arg(P, el, "b", er_ns_args[ns][1], er_ns_names[ns], (uint32_t)k, &b))) return st;
    double x;
    if ((st = rd_num(d, (uint32_t)tw, &x, "weights[%d].w", k))) return st;
    if (fabs(x) > 1e6) return jerr(d, ER_E_RANGE, (uint32_t)tw, "must be within ±1e6", "weights[%d].w", k);
    uint32_t bucket = (uint32_t)(er_feature_hash(ns, a, b) & (nb - 1));
    w[bucket] = (float)((double)w[bucket] + x);
  }
  return ER_OK;
}

static er_status set_base_score(jdoc *d, uint32_t t, double p, int logistic, double *margin, const char *field) {
  if (!logistic) { *margin = p; return ER_OK; }
  if (!(p > 0 && p < 1)) return jerr(d, ER_E_RANGE, t, "must be a probability strictly between 0 and 1", "%s", field);
  *margin = log(p / (1 - p));
  return ER_OK;
}

/* Per-tree node arrays in the pool. */
static er_status tree_arrays(jpack *P, er_pack_tree *tr, uint32_t n) {
  pool *pl = &P->pool;
  size_t m = n ? n : 1;
  int32_t *l = (int32_t *)pool_alloc(pl, 4 * m), *r = (int32_t *)pool_alloc(pl, 4 * m);
  uint32_t *f = (uint32_t *)pool_alloc(pl, 4 * m);
  float *th = (float *)pool_alloc(pl, 4 * m), *lf = (float *)pool_alloc(pl, 4 * m);
  uint8_t *dl = (uint8_t *)pool_alloc(pl, m);
  if (!l || !r || !f || !th || !lf || !dl) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "model: out of memory");
  tr->n_nodes = n;
  tr->left = l;
  tr->right = r;
  tr->feature = f;
  tr->threshold = th;
  tr->leaf = lf;
  tr->default_left = dl;
  return ER_OK;
}

static er_status rd_threshold(jdoc *d, uint32_t t, float *out, const char *fmt, uint32_t a, uint32_t b) {
  double x;
  er_status st = rd_num(d, t, &x, fmt, a, b);
  if (st) return st;
  if (fabs(x) > FLT_MAX) return jerr(d, ER_E_RANGE, t, "does not fit a float32", fmt, a, b);
  *out = (float)x;
  return ER_OK;
}

static er_status parse_trees(jpack *P) {
  jdoc *d = &P->mod;
  const er_json *j = &d->j;
  er_pack_model *m = &P->in.model;
  er_status st;
  int64_t v;
  m->kind = ER_MODEL_TREES;
  int32_t tt = member(d, 0, "trees");
  if (tt < 0) return jerr(d, ER_E_TYPE, 0, "has kind trees but no trees object", "the top level");
  if (!er_json_is(j, (uint32_t)tt, JSMN_OBJECT)) return jtype(d, (uint32_t)tt, "an object {base_score|base_margin, trees}", "trees");
  int32_t bs = member(d, (uint32_t)tt, "base_score"), bm = member(d, (uint32_t)tt, "base_margin");
  if (bs >= 0 && bm >= 0) return jerr(d, ER_E_RANGE, (uint32_t)bm, "cannot be given together with base_score", "trees.base_margin");
  if (bm >= 0 && (st = rd_num(d, (uint32_t)bm, &m->base_margin, "trees.base_margin"))) return st;
  if (bs >= 0) {
    double p;
    if ((st = rd_num(d, (uint32_t)bs, &p, "trees.base_score"))) return st;
    if ((st = set_base_score(d, (uint32_t)bs, p, 1, &m->base_margin, "trees.base_score"))) return st;
  }
  int32_t ta = member(d, (uint32_t)tt, "trees");
  if (ta < 0 || !er_json_is(j, (uint32_t)ta, JSMN_ARRAY)) return jtype(d, ta < 0 ? (uint32_t)tt : (uint32_t)ta, "an array of trees", "trees.trees");
  uint32_t nt = (uint32_t)j->tok[ta].size;
  if (nt < 1 || nt > ER_PACK_MAX_TREES) return jerr(d, ER_E_RANGE, (uint32_t)ta, "must hold 1..4096 trees", "trees.trees");
  er_pack_tree *trees = (er_pack_tree *)pool_alloc(&P->pool, sizeof(er_pack_tree) * nt);
  if (!trees) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "model: out of memory");
  m->trees = trees;
  m->n_trees = nt;
  uint32_t te = (uint32_t)ta + 1;
  for (uint32_t t = 0; t < nt; t++, te = er_json_skip(j, te)) {
    if (!er_json_is(j, te, JSMN_OBJECT)) return jtype(d, te, "an object {nodes}", "trees.trees[%u]", t);
    int32_t tn = member(d, te, "nodes");
    if (tn < 0 || !er_json_is(j, (uint32_t)tn, JSMN_ARRAY)) return jtype(d, tn < 0 ? te : (uint32_t)tn, "an array of nodes", "trees.trees[%u].nodes", t);
    uint32_t nn = (uint32_t)j->tok[tn].size;
    if (nn < 1) return jerr(d, ER_E_RANGE, (uint32_t)tn, "is empty", "trees.trees[%u].nodes", t);
    er_pack_tree *tr = &trees[t];
    if ((st = tree_arrays(P, tr, nn))) return st;
    int32_t *L = (int32_t *)(void *)tr->left, *R = (int32_t *)(void *)tr->right;
    uint32_t *F = (uint32_t *)(void *)tr->feature;
    float *TH = (float *)(void *)tr->threshold, *LF = (float *)(void *)tr->leaf;
    uint8_t *DL = (uint8_t *)(void *)tr->default_left;
    uint32_t ne = (uint32_t)tn + 1;
    for (uint32_t k = 0; k < nn; k++, ne = er_json_skip(j, ne)) {
      if (!er_json_is(j, ne, JSMN_OBJECT)) return jtype(d, ne, "an object", "trees.trees[%u].nodes[%u]", t, k);
      int32_t x = member(d, ne, "leaf");
      if (x >= 0) {
        double lv;
        if ((st = rd_num(d, (uint32_t)x, &lv, "trees.trees[%u].nodes[%u].leaf", t, k))) return st;
        if (fabs(lv) > 1e6) return jerr(d, ER_E_RANGE, (uint32_t)x, "must be within ±1e6", "trees.trees[%u].nodes[%u].leaf", t, k);
        L[k] = R[k] = -1;
        LF[k] = (float)lv;
        continue;
      }
      int32_t tf = member(d, ne, "feature"), tth = member(d, ne, "threshold"), tl = member(d, ne, "left"), tr_ = member(d, ne, "right");
      if (tf < 0 || tth < 0 || tl < 0 || tr_ < 0) return jerr(d, ER_E_TYPE, ne, "needs leaf, or feature, threshold, left and right", "trees.trees[%u].nodes[%u]", t, k);
      if (er_json_is_number(j, (uint32_t)tf)) {
        if ((st = rd_int(d, (uint32_t)tf, 0, ER_DENSE_COUNT - 1, &v, "trees.trees[%u].nodes[%u].feature", t, k))) return st;
        F[k] = (uint32_t)v;
      } else {
        if (!er_json_is(j, (uint32_t)tf, JSMN_STRING)) return jtype(d, (uint32_t)tf, "a dense feature name", "trees.trees[%u].nodes[%u].feature", t, k);
        F[k] = ER_DENSE_COUNT;
        for (uint32_t q = 0; q < ER_DENSE_COUNT; q++)
          if (er_json_eq(j, (uint32_t)tf, er_dense_names[q])) F[k] = q;
        if (F[k] == ER_DENSE_COUNT) {
          char buf[64];
          return jerr(d, ER_E_RANGE, (uint32_t)tf, "is not a dense feature (see docs/features.md)", "trees.trees[%u].nodes[%u].feature '%s'", t, k, tok_text(d, (uint32_t)tf, buf, sizeof buf));
        }
      }
      if ((st = rd_threshold(d, (uint32_t)tth, &TH[k], "trees.trees[%u].nodes[%u].threshold", t, k))) return st;
      if ((st = rd_int(d, (uint32_t)tl, 0, nn - 1, &v, "trees.trees[%u].nodes[%u].left", t, k))) return st;
      L[k] = (int32_t)v;
      if ((st = rd_int(d, (uint32_t)tr_, 0, nn - 1, &v, "trees.trees[%u].nodes[%u].right", t, k))) return st;
      R[k] = (int32_t)v;
      int32_t td = member(d, ne, "default_left");
      int b = 0;
      if (td >= 0 && (st = rd_bool(d, (uint32_t)td, &b, "trees.trees[%u].nodes[%u].default_left", t, k))) return st;
      DL[k] = (uint8_t)b;
    }
  }
  return ER_OK;
}

static er_status parse_rules(jpack *P, uint32_t ta) {
  jdoc *d = &P->mod;
  const er_json *j = &d->j;
  er_status st;
  char buf[160];
  if (!er_json_is(j, ta, JSMN_ARRAY)) return jtype(d, ta, "an array", "rules");
  uint32_t n = (uint32_t)j->tok[ta].size;
  er_pack_rule *rs = (er_pack_rule *)pool_alloc(&P->pool, sizeof(er_pack_rule) * (n ? n : 1));
  if (!rs) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "model: out of memory");
  static const char *const actions[] = {"", "pin", "boost", "bury", "exclude"};
  uint32_t el = ta + 1;
  for (uint32_t k = 0; k < n; k++, el = er_json_skip(j, el)) {
    er_pack_rule *r = &rs[k];
    if (!er_json_is(j, el, JSMN_OBJECT)) return jtype(d, el, "an object", "rules[%u]", k);
    int32_t ts = member(d, el, "sku"), tact = member(d, el, "action");
    if (ts < 0) return jerr(d, ER_E_TYPE, el, "has no sku", "rules[%u]", k);
    if (tact < 0) return jerr(d, ER_E_TYPE, el, "has no action", "rules[%u]", k);
    if (!er_json_is(j, (uint32_t)ts, JSMN_STRING)) return jtype(d, (uint32_t)ts, "a string", "rules[%u].sku", k);
    if ((r->item = tok_sku(P, d, (uint32_t)ts)) == ER_NONE)
      return jerr(d, ER_E_RANGE, (uint32_t)ts, "is not in the catalog", "rules[%u].sku '%s'", k, tok_text(d, (uint32_t)ts, buf, sizeof buf));
    if (!er_json_is(j, (uint32_t)tact, JSMN_STRING)) return jtype(d, (uint32_t)tact, "a string", "rules[%u].action", k);
    for (uint8_t a = ER_RULE_PIN; a <= ER_RULE_EXCLUDE; a++)
      if (er_json_eq(j, (uint32_t)tact, actions[a])) r->action = a;
    if (!r->action) return jerr(d, ER_E_RANGE, (uint32_t)tact, "must be pin, boost, bury or exclude", "rules[%u].action", k);
    int32_t t;
    int64_t v;
    if ((t = member(d, el, "position")) >= 0) {
      if ((st = rd_int(d, (uint32_t)t, 0, ER_MAX_K - 1, &v, "rules[%u].position", k))) return st;
      r->position = (uint8_t)v;
    }
    if ((t = member(d, el, "amount")) >= 0) {
      if ((st = rd_num(d, (uint32_t)t, &r->amount, "rules[%u].amount", k))) return st;
      if (r->amount < 0 || r->amount >= 32767.0) return jerr(d, ER_E_RANGE, (uint32_t)t, "must be a margin in 0..32767", "rules[%u].amount", k);
    } else if (r->action == ER_RULE_BOOST || r->action == ER_RULE_BURY) {
      return jerr(d, ER_E_TYPE, el, "needs an amount for boost or bury", "rules[%u]", k);
    }
    if ((t = member(d, el, "unit")) >= 0) {
      char *s;
      if ((st = rd_str(d, &P->pool, (uint32_t)t, 0, &s, NULL, "rules[%u].unit", k))) return st;
      r->unit = s;
    }
  }
  P->in.rules = rs;
  P->in.n_rules = n;
  return ER_OK;
}

static er_status parse_model(jpack *P, int have_xgb) {
  jdoc *d = &P->mod;
  const er_json *j = &d->j;
  er_status st;
  int32_t t;
  int64_t v;
  if (!er_json_is(j, 0, JSMN_OBJECT)) return jtype(d, 0, "an object", "the top level");
  if ((t = member(d, 0, "version")) < 0) return jerr(d, ER_E_TYPE, 0, "has no version", "the top level");
  char *s;
  uint32_t len;
  if ((st = rd_str(d, &P->pool, (uint32_t)t, 0, &s, &len, "version"))) return st;
  const char *why = version_problem(s, len);
  if (why) return jerr(d, ER_E_RANGE, (uint32_t)t, why, "version");
  P->in.version = s;
  if ((t = member(d, 0, "budget")) >= 0) {
    if ((st = rd_int(d, (uint32_t)t, 0, 0xFFFFFFFFll, &v, "budget"))) return st;
    P->in.budget = (uint32_t)v;
  }
  if ((t = member(d, 0, "rules")) >= 0 && (st = parse_rules(P, (uint32_t)t))) return st;
  if (have_xgb) return ER_OK; /* the trees come from the XGBoost model */
  if ((t = member(d, 0, "kind")) < 0) return jerr(d, ER_E_TYPE, 0, "has no kind (linear or trees)", "the top level");
  if (er_json_eq(j, (uint32_t)t, "linear")) return parse_linear(P);
  if (er_json_eq(j, (uint32_t)t, "trees")) return parse_trees(P);
  if (!er_json_is(j, (uint32_t)t, JSMN_STRING)) return jtype(d, (uint32_t)t, "\"linear\" or \"trees\"", "kind");
  return jerr(d, ER_E_RANGE, (uint32_t)t, "must be linear or trees", "kind");
}

/* ---- XGBoost save_model JSON ---- */

static int32_t xobj(jpack *P, uint32_t parent, const char *key, const char *path, er_status *st) {
  jdoc *d = &P->xgb;
  int32_t t = member(d, parent, key);
  if (t < 0) { *st = jerr(d, ER_E_SHAPE, parent, "has no object", "%s", path); return -1; }
  if (!er_json_is(&d->j, (uint32_t)t, JSMN_OBJECT)) { *st = jtype(d, (uint32_t)t, "an object", "%s", path); return -1; }
  return t;
}

/* A number given as a JSON number or a string ("5E-1", "[5E-1]"). */
static er_status xnum(jpack *P, uint32_t t, double *out, const char *path) {
  jdoc *d = &P->xgb;
  if (er_json_is_number(&d->j, t)) return rd_num(d, t, out, "%s", path);
  char buf[72];
  if (!er_json_is(&d->j, t, JSMN_STRING)) return jtype(d, t, "a number or a numeric string", "%s", path);
  int32_t n = er_json_str(&d->j, t, buf, sizeof buf - 1);
  if (n < 0) return jerr(d, ER_E_RANGE, t, "is not a number", "%s", path);
  buf[n] = 0;
  char *s = buf, *e;
  if (*s == '[') {
    s++;
    if (n < 2 || buf[n - 1] != ']') return jerr(d, ER_E_RANGE, t, "is not a number", "%s", path);
    buf[n - 1] = 0;
  }
  *out = strtod(s, &e);
  if (e == s || *e || !isfinite(*out)) return jerr(d, ER_E_RANGE, t, "is not a number", "%s", path);
  return ER_OK;
}

static er_status xarray(jpack *P, uint32_t tree_obj, const char *key, uint32_t t, int32_t *out, int required) {
  jdoc *d = &P->xgb;
  int32_t a = member(d, tree_obj, key);
  *out = a;
  if (a < 0) return required ? jerr(d, ER_E_SHAPE, tree_obj, "has no array", "gradient_booster.model.trees[%u].%s", t, key) : ER_OK;
  if (!er_json_is(&d->j, (uint32_t)a, JSMN_ARRAY)) return jtype(d, (uint32_t)a, "an array", "gradient_booster.model.trees[%u].%s", t, key);
  return ER_OK;
}

static er_status parse_xgb(jpack *P) {
  jdoc *d = &P->xgb;
  const er_json *j = &d->j;
  er_pack_model *m = &P->in.model;
  er_status st = ER_OK;
  char buf[96];
  if (!er_json_is(j, 0, JSMN_OBJECT)) return jtype(d, 0, "an object", "the top level");
  int32_t L = xobj(P, 0, "learner", "learner", &st);
  if (L < 0) return st;
  int32_t ob = xobj(P, (uint32_t)L, "objective", "learner.objective", &st);
  if (ob < 0) return st;
  int32_t on = member(d, (uint32_t)ob, "name");
  if (on < 0 || !er_json_is(j, (uint32_t)on, JSMN_STRING)) return jtype(d, on < 0 ? (uint32_t)ob : (uint32_t)on, "a string", "learner.objective.name");
  int logistic;
  if (er_json_eq(j, (uint32_t)on, "binary:logistic") || er_json_eq(j, (uint32_t)on, "reg:logistic") || er_json_eq(j, (uint32_t)on, "binary:logitraw")) logistic = 1;
  else if (er_json_eq(j, (uint32_t)on, "reg:squarederror") || er_json_eq(j, (uint32_t)on, "rank:pairwise")) logistic = 0;
  else
    return jerr(d, ER_E_SHAPE, (uint32_t)on, "is not supported (binary:logistic, reg:logistic, binary:logitraw, reg:squarederror, rank:pairwise)",
                "learner.objective.name '%s'", tok_text(d, (uint32_t)on, buf, sizeof buf));
  int32_t mp = xobj(P, (uint32_t)L, "learner_model_param", "learner.learner_model_param", &st);
  if (mp < 0) return st;
  static const char *const counts[2] = {"num_class", "num_target"};
  for (int c = 0; c < 2; c++) {
    int32_t t = member(d, (uint32_t)mp, counts[c]);
    double x;
    if (t < 0) continue;
    if ((st = xnum(P, (uint32_t)t, &x, c ? "learner.learner_model_param.num_target" : "learner.learner_model_param.num_class"))) return st;
    if (x > 1) return jerr(d, ER_E_SHAPE, (uint32_t)t, "is more than 1 (only single-output models are supported)", "learner.learner_model_param.%s", counts[c]);
  }
  int32_t tb = member(d, (uint32_t)mp, "base_score");
  if (tb >= 0) {
    double p;
    if ((st = xnum(P, (uint32_t)tb, &p, "learner.learner_model_param.base_score"))) return st;
    if ((st = set_base_score(d, (uint32_t)tb, p, logistic, &m->base_margin, "learner.learner_model_param.base_score"))) return st;
  } else if (logistic) {
    m->base_margin = 0; /* base_score 0.5 */
  }
  int32_t fn = member(d, (uint32_t)L, "feature_names");
  uint32_t n_feat = ER_DENSE_COUNT; /* the dense features the model may split on */
  if (fn >= 0) {
    if (!er_json_is(j, (uint32_t)fn, JSMN_ARRAY)) return jtype(d, (uint32_t)fn, "an array", "learner.feature_names");
    uint32_t nf = (uint32_t)j->tok[fn].size;
    /* the engine's dense features in order, or a prefix of them (a model trained on an earlier schema's
       features never splits on the later ones) */
    if (nf > ER_DENSE_COUNT) return jerr(d, ER_E_SHAPE, (uint32_t)fn, "must list the engine's dense features in order (`edgerec version` says how many; docs/features.md)", "learner.feature_names");
    if (nf) n_feat = nf;
    uint32_t el = (uint32_t)fn + 1;
    for (uint32_t k = 0; k < nf; k++, el = er_json_skip(j, el))
      if (!er_json_eq(j, el, er_dense_names[k]))
        return jerr(d, ER_E_SHAPE, el, "does not match the engine's dense feature", "learner.feature_names[%u] (expected '%s')", k, er_dense_names[k]);
  }
  int32_t gb = xobj(P, (uint32_t)L, "gradient_booster", "learner.gradient_booster", &st);
  if (gb < 0) return st;
  int32_t gn = member(d, (uint32_t)gb, "name");
  if (gn >= 0 && !er_json_eq(j, (uint32_t)gn, "gbtree"))
    return jerr(d, ER_E_SHAPE, (uint32_t)gn, "is not supported (only gbtree)", "learner.gradient_booster.name");
  int32_t gm = xobj(P, (uint32_t)gb, "model", "learner.gradient_booster.model", &st);
  if (gm < 0) return st;
  int32_t ta = member(d, (uint32_t)gm, "trees");
  if (ta < 0 || !er_json_is(j, (uint32_t)ta, JSMN_ARRAY)) return jtype(d, ta < 0 ? (uint32_t)gm : (uint32_t)ta, "an array", "learner.gradient_booster.model.trees");
  uint32_t nt = (uint32_t)j->tok[ta].size;
  if (nt < 1 || nt > ER_PACK_MAX_TREES) return jerr(d, ER_E_RANGE, (uint32_t)ta, "must hold 1..4096 trees", "learner.gradient_booster.model.trees");
  er_pack_tree *trees = (er_pack_tree *)pool_alloc(&P->pool, sizeof(er_pack_tree) * nt);
  if (!trees) return er_fail(P->err, ER_E_NOMEM, ER_NO_OFFSET, "xgboost: out of memory");
  m->kind = ER_MODEL_TREES;
  m->trees = trees;
  m->n_trees = nt;
  uint32_t te = (uint32_t)ta + 1;
  for (uint32_t t = 0; t < nt; t++, te = er_json_skip(j, te)) {
    if (!er_json_is(j, te, JSMN_OBJECT)) return jtype(d, te, "an object", "gradient_booster.model.trees[%u]", t);
    int32_t al, ar, ai, ac, ad, at, cn;
    if ((st = xarray(P, te, "left_children", t, &al, 1)) || (st = xarray(P, te, "right_children", t, &ar, 1)) ||
        (st = xarray(P, te, "split_indices", t, &ai, 1)) || (st = xarray(P, te, "split_conditions", t, &ac, 1)) ||
        (st = xarray(P, te, "default_left", t, &ad, 1)) || (st = xarray(P, te, "split_type", t, &at, 0)) ||
        (st = xarray(P, te, "categories_nodes", t, &cn, 0)))
      return st;
    if (cn >= 0 && j->tok[cn].size > 0) return jerr(d, ER_E_SHAPE, (uint32_t)cn, "is not empty: categorical splits are not supported", "gradient_booster.model.trees[%u].categories_nodes", t);
    uint32_t nn = (uint32_t)j->tok[al].size;
    if (nn < 1 || nn > (1u << 24)) return jerr(d, ER_E_RANGE, (uint32_t)al, "must hold 1..2^24 nodes", "gradient_booster.model.trees[%u].left_children", t);
    int32_t arrs[5] = {ar, ai, ac, ad, at};
    static const char *const an[5] = {"right_children", "split_indices", "split_conditions", "default_left", "split_type"};
    for (int q = 0; q < 5; q++)
      if (arrs[q] >= 0 && (uint32_t)j->tok[arrs[q]].size != nn)
        return jerr(d, ER_E_SHAPE, (uint32_t)arrs[q], "has a different length than left_children", "gradient_booster.model.trees[%u].%s", t, an[q]);
    er_pack_tree *tr = &trees[t];
    if ((st = tree_arrays(P, tr, nn))) return st;
    int32_t *LC = (int32_t *)(void *)tr->left, *RC = (int32_t *)(void *)tr->right;
    uint32_t *F = (uint32_t *)(void *)tr->feature;
    float *TH = (float *)(void *)tr->threshold, *LF = (float *)(void *)tr->leaf;
    uint8_t *DL = (uint8_t *)(void *)tr->default_left;
    uint32_t el = (uint32_t)al + 1, er_ = (uint32_t)ar + 1, ei = (uint32_t)ai + 1, ec = (uint32_t)ac + 1, ed = (uint32_t)ad + 1,
             es = at >= 0 ? (uint32_t)at + 1 : 0;
    for (uint32_t k = 0; k < nn; k++) {
      int64_t v;
      if ((st = rd_int(d, el, -1, (int64_t)nn - 1, &v, "gradient_booster.model.trees[%u].left_children[%u]", t, k))) return st;
      LC[k] = (int32_t)v;
      if ((st = rd_int(d, er_, -1, (int64_t)nn - 1, &v, "gradient_booster.model.trees[%u].right_children[%u]", t, k))) return st;
      RC[k] = (int32_t)v;
      if (es) {
        if ((st = rd_int(d, es, 0, 255, &v, "gradient_booster.model.trees[%u].split_type[%u]", t, k))) return st;
        if (v != 0 && LC[k] != -1) return jerr(d, ER_E_SHAPE, es, "is a categorical split (not supported)", "gradient_booster.model.trees[%u].split_type[%u]", t, k);
        es = er_json_skip(j, es);
      }
      double c;
      if ((st = rd_num(d, ec, &c, "gradient_booster.model.trees[%u].split_conditions[%u]", t, k))) return st;
      if (LC[k] == -1) {
        if (fabs(c) > 1e6) return jerr(d, ER_E_RANGE, ec, "is a leaf value beyond ±1e6", "gradient_booster.model.trees[%u].split_conditions[%u]", t, k);
        LF[k] = (float)c;
      } else {
        if (fabs(c) > FLT_MAX) return jerr(d, ER_E_RANGE, ec, "does not fit a float32", "gradient_booster.model.trees[%u].split_conditions[%u]", t, k);
        TH[k] = (float)c;
        if ((st = rd_int(d, ei, 0, 0x7FFFFFFF, &v, "gradient_booster.model.trees[%u].split_indices[%u]", t, k))) return st;
        if (v >= n_feat)
          return jerr(d, ER_E_RANGE, ei, "is not one of the model's dense features (feature_names, else the engine's)", "gradient_booster.model.trees[%u].split_indices[%u]", t, k);
        F[k] = (uint32_t)v;
        int b;
        if (er_json_is_bool(j, ed)) b = j->js[j->tok[ed].start] == 't';
        else {
          if ((st = rd_int(d, ed, 0, 1, &v, "gradient_booster.model.trees[%u].default_left[%u]", t, k))) return st;
          b = (int)v;
        }
        DL[k] = (uint8_t)b;
      }
      el = er_json_skip(j, el);
      er_ = er_json_skip(j, er_);
      ei = er_json_skip(j, ei);
      ec = er_json_skip(j, ec);
      ed = er_json_skip(j, ed);
    }
  }
  return ER_OK;
}

er_status er_pack_from_json(const char *model_json, uint32_t model_len, const char *catalog_json, uint32_t catalog_len,
                            const char *xgb_json, uint32_t xgb_len, const char *source_name, uint8_t **out,
                            uint32_t *out_len, er_error *err) {
  if (!out || !out_len) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "pack: missing output argument");
  *out = NULL;
  *out_len = 0;
  jpack *P = (jpack *)calloc(1, sizeof *P);
  if (!P) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "pack: out of memory");
  P->err = err;
  int have_xgb = xgb_json && xgb_len;
  er_status st;
  if ((st = jdoc_open(&P->cat, catalog_json, catalog_len, "catalog", err))) goto done;
  if ((st = jdoc_open(&P->mod, model_json, model_len, "model", err))) goto done;
  if (have_xgb && (st = jdoc_open(&P->xgb, xgb_json, xgb_len, "xgboost", err))) goto done;
  if ((st = parse_catalog(P))) goto done;
  if ((st = parse_model(P, have_xgb))) goto done;
  if (have_xgb && (st = parse_xgb(P))) goto done;
  P->in.source = source_name;
  P->in.items = P->items;
  P->in.n_items = P->n_items;
  for (int r = 0; r < ER_NBR_KINDS; r++) {
    P->in.nbr[r].edges = (const er_pack_edge *)P->edges[r].p;
    P->in.nbr[r].n_edges = P->edges[r].n;
  }
  st = er_pack_build(&P->in, out, out_len, err);
done:
  free(P->cat.tok);
  free(P->mod.tok);
  free(P->xgb.tok);
  for (int r = 0; r < ER_NBR_KINDS; r++) free(P->edges[r].p);
  pool_free(&P->pool);
  free(P);
  return st;
}

/* ---- catalog.json alone (the trainer's --catalog) ---- */

struct er_pack_catalog { jpack *P; };

er_status er_pack_catalog_parse(const char *js, uint32_t len, er_pack_catalog **out, const er_pack_item **items,
                                uint32_t *n_items, er_pack_nbrs nbr[ER_NBR_KINDS], er_error *err) {
  *out = NULL;
  er_pack_catalog *c = (er_pack_catalog *)calloc(1, sizeof *c);
  jpack *P = (jpack *)calloc(1, sizeof *P);
  if (!c || !P) { free(c); free(P); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "catalog: out of memory"); }
  c->P = P;
  P->err = err;
  er_status st = jdoc_open(&P->cat, js, len, "catalog", err);
  if (!st) st = parse_catalog(P);
  if (st) { er_pack_catalog_free(c); return st; }
  *items = P->items;
  *n_items = P->n_items;
  for (int r = 0; r < ER_NBR_KINDS; r++) {
    nbr[r].edges = (const er_pack_edge *)P->edges[r].p;
    nbr[r].n_edges = P->edges[r].n;
  }
  *out = c;
  return ER_OK;
}

void er_pack_catalog_free(er_pack_catalog *c) {
  if (!c) return;
  jpack *P = c->P;
  if (P) {
    free(P->cat.tok);
    for (int r = 0; r < ER_NBR_KINDS; r++) free(P->edges[r].p);
    pool_free(&P->pool);
    free(P);
  }
  free(c);
}
