/* er_eval.c — offline evaluation: the split, the peers, edgerec through
 * er_recommend, metrics and the `edgerec eval` command (see er_eval.h for the
 * protocol). */
#define _POSIX_C_SOURCE 200809L
#include "er_eval.h"
#include "er_native.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "er_bundle.h"
#include "er_engine.h"
#include "er_json.h"

#define NONE 0xFFFFFFFFu

static const char *const MODEL_NAMES[ER_EVAL_N_MODELS] = {"edgerec", "pop", "spop", "ar", "sr", "vsknn"};

const char *er_eval_model_name(er_eval_model m) {
  return (unsigned)m < ER_EVAL_N_MODELS ? MODEL_NAMES[m] : NULL;
}

er_status er_eval_parse_models(const char *list, uint32_t *mask, er_error *err) {
  *mask = 0;
  if (!list || !*list) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "--baseline: empty list (use pop, spop, ar, sr, vsknn, all or none)");
  int none = 0, n = 0;
  const char *p = list;
  for (;;) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    int found = 0;
    if (len == 3 && !memcmp(p, "all", 3)) { *mask |= ER_EVAL_PEERS; found = 1; }
    else if (len == 4 && !memcmp(p, "none", 4)) { none = 1; found = 1; }
    else
      for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++)
        if (strlen(MODEL_NAMES[m]) == len && !memcmp(p, MODEL_NAMES[m], len)) { *mask |= ER_EVAL_BIT(m); found = 1; }
    if (!found)
      return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "--baseline: unknown model '%.*s' (known: pop, spop, ar, sr, vsknn, all, none)",
                     (int)(len > 40 ? 40 : len), p);
    n++;
    if (!q) break;
    p = q + 1;
  }
  if (none && n > 1) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "--baseline: 'none' cannot be combined with other models");
  return ER_OK;
}

/* ---- metrics ------------------------------------------------------------------- */

void er_eval_metrics_init(er_eval_metrics *m) { memset(m, 0, sizeof *m); }

void er_eval_metrics_add(er_eval_metrics *m, uint32_t rank) {
  m->n++;
  if (rank >= 1 && rank <= ER_EVAL_MAX_RANK) m->at_rank[rank]++;
}

static uint32_t clamp_k(uint32_t k) { return k > ER_EVAL_MAX_RANK ? ER_EVAL_MAX_RANK : k; }

double er_eval_hr(const er_eval_metrics *m, uint32_t k) {
  if (!m->n) return 0;
  uint64_t h = 0;
  for (uint32_t r = 1; r <= clamp_k(k); r++) h += m->at_rank[r];
  return (double)h / (double)m->n;
}

double er_eval_mrr(const er_eval_metrics *m, uint32_t k) {
  if (!m->n) return 0;
  double s = 0;
  for (uint32_t r = 1; r <= clamp_k(k); r++) s += (double)m->at_rank[r] / (double)r;
  return s / (double)m->n;
}

double er_eval_ndcg(const er_eval_metrics *m, uint32_t k) {
  if (!m->n) return 0;
  double s = 0;
  for (uint32_t r = 1; r <= clamp_k(k); r++) s += (double)m->at_rank[r] / log2((double)r + 1.0);
  return s / (double)m->n;
}

/* ---- the split --------------------------------------------------------------------- */

/* An event of the item sequences: view, click, cart, purchase, and the newer
 * item events (wishlist; a click on a recommendation unit's item or its
 * add-to-cart button, which is a click) -- never a flagged one.  Shown lists
 * (impressions, unit renders and views) and feedback are not. */
static int is_item_event(const er_log_event *e) {
  uint8_t t = e->type;
  return !e->flagged && (t == ER_EV_VIEW || t == ER_EV_CLICK || t == ER_EV_CART || t == ER_EV_PURCHASE ||
                         t == ER_EV_WISHLIST || t == ER_EV_UNIT_CLICK || t == ER_EV_UNIT_CART_CLICK);
}

void er_eval_split_free(er_eval_split *s) {
  free(s->train_session);
  free(s->train_first);
  free(s->train_item);
  free(s->pop);
  free(s->test_session);
  free(s->test_first);
  free(s->test_event);
  memset(s, 0, sizeof *s);
}

static void fmt_time(uint64_t ms, char *out, size_t cap) {
  if (ms % 1000) snprintf(out, cap, "%llu.%03u", (unsigned long long)(ms / 1000), (unsigned)(ms % 1000));
  else snprintf(out, cap, "%llu", (unsigned long long)(ms / 1000));
}

er_status er_eval_split_build(const er_log *L, uint64_t from_ms, er_eval_split *s, er_error *err) {
  memset(s, 0, sizeof *s);
  s->from_ms = from_ms;
  s->n_items = L->items.n;
  char from[32];
  fmt_time(from_ms, from, sizeof from);
  if (!L->n_ev) return er_fail(err, ER_E_SHAPE, ER_NO_OFFSET, "eval: the log has no events");
  if (!L->n_ses) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: the log is not grouped into sessions (call er_log_finish)");
  /* pass 1: count */
  uint32_t n_train = 0, n_test_cand = 0;
  uint64_t train_events = 0, test_events = 0;
  for (uint32_t x = 0; x < L->n_ses; x++) {
    const er_log_session *S = &L->ses[x];
    uint32_t c = 0;
    for (uint32_t k = 0; k < S->n; k++) c += is_item_event(&L->ev[S->first + k]);
    if (!c) continue;
    if (S->end_ms >= from_ms) { n_test_cand++; test_events += c; }
    else { n_train++; train_events += c; }
  }
  if (!n_train && !n_test_cand) return er_fail(err, ER_E_SHAPE, ER_NO_OFFSET, "eval: the log has no item events (view, click, cart, purchase, wishlist, recs-item-click, "
                                                          "recs-item-add-to-cart-click; flagged events do not count)");
  if (!n_train)
    return er_fail(err, ER_E_SHAPE, ER_NO_OFFSET, "eval: no training session: all %u sessions end at or after the split (from %s)", n_test_cand, from);
  s->train_session = malloc((size_t)n_train * sizeof *s->train_session);
  s->train_first = malloc(((size_t)n_train + 1) * sizeof *s->train_first);
  s->train_item = malloc((size_t)train_events * sizeof *s->train_item);
  s->pop = calloc(s->n_items ? s->n_items : 1, sizeof *s->pop);
  s->test_session = malloc(((size_t)n_test_cand + 1) * sizeof *s->test_session);
  s->test_first = malloc(((size_t)n_test_cand + 2) * sizeof *s->test_first);
  s->test_event = malloc(((size_t)test_events + 1) * sizeof *s->test_event);
  if (!s->train_session || !s->train_first || !s->train_item || !s->pop || !s->test_session || !s->test_first || !s->test_event) {
    er_eval_split_free(s);
    return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory splitting %u sessions", L->n_ses);
  }
  /* pass 2: training sequences and POP */
  uint32_t at = 0;
  for (uint32_t x = 0; x < L->n_ses; x++) {
    const er_log_session *S = &L->ses[x];
    if (S->end_ms >= from_ms) continue;
    uint32_t start = at;
    for (uint32_t k = 0; k < S->n; k++) {
      const er_log_event *e = &L->ev[S->first + k];
      if (!is_item_event(e)) continue;
      s->train_item[at++] = e->item;
      s->pop[e->item]++;
    }
    if (at == start) continue;
    s->train_session[s->n_train] = x;
    s->train_first[s->n_train++] = start;
  }
  s->train_first[s->n_train] = at;
  /* pass 3: test sequences, filtered */
  uint32_t tat = 0;
  s->test_first[0] = 0;
  for (uint32_t x = 0; x < L->n_ses; x++) {
    const er_log_session *S = &L->ses[x];
    if (S->end_ms < from_ms) continue;
    uint32_t start = tat, any = 0;
    for (uint32_t k = 0; k < S->n; k++) {
      const er_log_event *e = &L->ev[S->first + k];
      if (!is_item_event(e)) continue;
      any = 1;
      if (!s->pop[e->item]) { s->test_events_dropped++; continue; }
      s->test_event[tat++] = S->first + k;
    }
    if (!any) continue;
    s->test_sessions_total++;
    if (tat - start < 2) { s->test_sessions_dropped++; tat = start; continue; }
    s->test_session[s->n_test] = x;
    s->predictions += tat - start - 1;
    s->test_first[++s->n_test] = tat;
  }
  if (!s->n_test) {
    uint32_t total = s->test_sessions_total;
    uint64_t dropped = s->test_events_dropped;
    er_eval_split_free(s);
    return er_fail(err, ER_E_SHAPE, ER_NO_OFFSET,
                   "eval: no test session left (split at %s): %u test sessions, none with 2+ events of items seen in "
                   "training (%llu events of unseen items dropped)",
                   from, total, (unsigned long long)dropped);
  }
  return ER_OK;
}

/* ---- shared peer machinery ------------------------------------------------------------ */

typedef struct {
  const er_log *L;
  const er_eval_split *s;
  const er_eval_opts *o;
  er_eval_model model;
  er_eval_model_result *r;
  uint32_t *pop_rank;   /* [n_items] 0-based rank in POP order (pop desc, id asc); NONE outside the catalogue */
  /* distinct items per training session (with counts) and item -> training sessions (ascending) */
  uint32_t *d_first, *d_item, *d_cnt;
  uint32_t *inv_first, *inv_ses;
  /* scratch */
  uint64_t *score;      /* [n_items], zero between predictions */
  uint32_t *touched;    /* [n_items] */
} peer;

static void peer_free(peer *p) {
  free(p->pop_rank);
  free(p->d_first);
  free(p->d_item);
  free(p->d_cnt);
  free(p->inv_first);
  free(p->inv_ses);
  free(p->score);
  free(p->touched);
}

typedef struct { uint32_t pop, item; } pop_key;
static int by_pop(const void *a, const void *b) {
  const pop_key *x = a, *y = b;
  if (x->pop != y->pop) return x->pop > y->pop ? -1 : 1;
  return x->item < y->item ? -1 : x->item > y->item;
}

static er_status peer_init(peer *p, int need_index, er_error *err) {
  const er_eval_split *s = p->s;
  uint32_t ni = s->n_items ? s->n_items : 1;
  p->pop_rank = malloc((size_t)ni * sizeof *p->pop_rank);
  p->score = calloc(ni, sizeof *p->score);
  p->touched = malloc(((size_t)ni + 1) * sizeof *p->touched); /* + 1: add_score writes one past */
  pop_key *order = malloc((size_t)ni * sizeof *order);
  if (!p->pop_rank || !p->score || !p->touched || !order) { free(order); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory (%u items)", ni); }
  uint32_t nc = 0;
  for (uint32_t i = 0; i < s->n_items; i++) {
    p->pop_rank[i] = NONE;
    if (s->pop[i]) order[nc++] = (pop_key){s->pop[i], i};
  }
  qsort(order, nc, sizeof *order, by_pop);
  for (uint32_t r = 0; r < nc; r++) p->pop_rank[order[r].item] = r;
  free(order);
  if (!need_index) return ER_OK;
  /* distinct items per training session, in first-occurrence order */
  uint32_t nt = s->n_train, nev = s->train_first[nt];
  p->d_first = malloc(((size_t)nt + 1) * sizeof *p->d_first);
  p->d_item = malloc(((size_t)nev + 1) * sizeof *p->d_item);
  p->d_cnt = malloc(((size_t)nev + 1) * sizeof *p->d_cnt);
  p->inv_first = calloc((size_t)ni + 1, sizeof *p->inv_first);
  uint32_t *slot = malloc((size_t)ni * sizeof *slot);
  if (!p->d_first || !p->d_item || !p->d_cnt || !p->inv_first || !slot) { free(slot); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory indexing %u training events", nev); }
  for (uint32_t i = 0; i < s->n_items; i++) slot[i] = NONE;
  uint32_t nd = 0;
  for (uint32_t t = 0; t < nt; t++) {
    p->d_first[t] = nd;
    for (uint32_t k = s->train_first[t]; k < s->train_first[t + 1]; k++) {
      uint32_t it = s->train_item[k];
      if (slot[it] != NONE && slot[it] >= p->d_first[t]) { p->d_cnt[slot[it]]++; continue; }
      slot[it] = nd;
      p->d_item[nd] = it;
      p->d_cnt[nd++] = 1;
      p->inv_first[it + 1]++;
    }
  }
  p->d_first[nt] = nd;
  free(slot);
  for (uint32_t i = 0; i < s->n_items; i++) p->inv_first[i + 1] += p->inv_first[i];
  p->inv_ses = malloc(((size_t)nd + 1) * sizeof *p->inv_ses);
  uint32_t *fill = malloc((size_t)ni * sizeof *fill);
  if (!p->inv_ses || !fill) { free(fill); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory indexing %u training events", nev); }
  memcpy(fill, p->inv_first, (size_t)s->n_items * sizeof *fill);
  for (uint32_t t = 0; t < nt; t++)
    for (uint32_t k = p->d_first[t]; k < p->d_first[t + 1]; k++) p->inv_ses[fill[p->d_item[k]]++] = t;
  free(fill);
  return ER_OK;
}

static uint32_t cap_rank(uint64_t r) { return r > ER_EVAL_MAX_RANK ? 0 : (uint32_t)r; }

/* Rank of item t when the items touched[0..nt) have the (non-zero) scores
 * in p->score and every other catalogue item follows in POP order.  Ties:
 * the smaller item id first. */
static uint32_t rank_sparse(const peer *p, uint32_t nt, uint32_t t) {
  const uint64_t *score = p->score;
  const uint32_t *touched = p->touched;
  uint64_t st = score[t];
  if (st) {
    uint64_t better = 0;
    for (uint32_t k = 0; k < nt; k++) {
      uint32_t j = touched[k];
      uint64_t sj = score[j];
      better += (sj > st) | ((sj == st) & (j < t));
    }
    return cap_rank(better + 1);
  }
  if (nt >= ER_EVAL_MAX_RANK) return 0;
  uint32_t pt = p->pop_rank[t], below = 0;
  for (uint32_t k = 0; k < nt; k++) below += p->pop_rank[touched[k]] < pt;
  return cap_rank((uint64_t)nt + 1 + pt - below);
}

static void clear_scores(peer *p, uint32_t nt) {
  for (uint32_t k = 0; k < nt; k++) p->score[p->touched[k]] = 0;
}

static void record(peer *p, uint32_t test, uint32_t pos, uint32_t item, uint32_t rank) {
  er_eval_metrics_add(&p->r->m, rank);
  if (p->o->trace) p->o->trace(p->o->trace_user, p->model, test, pos, item, rank);
}

static inline uint32_t test_item(const peer *p, uint32_t k) { return p->L->ev[p->s->test_event[k]].item; }

/* ---- POP, S-POP ------------------------------------------------------------------------ */

static er_status run_pop(peer *p, er_error *err) {
  (void)err;
  const er_eval_split *s = p->s;
  for (uint32_t t = 0; t < s->n_test; t++)
    for (uint32_t k = s->test_first[t]; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t truth = test_item(p, k + 1);
      record(p, t, k - s->test_first[t], truth, cap_rank((uint64_t)p->pop_rank[truth] + 1));
    }
  return ER_OK;
}

/* Score of a session item: count in the session, then the most recent
 * occurrence (position + 1), as one key. */
static er_status run_spop(peer *p, er_error *err) {
  (void)err;
  const er_eval_split *s = p->s;
  for (uint32_t t = 0; t < s->n_test; t++) {
    uint32_t nt = 0, f = s->test_first[t];
    for (uint32_t k = f; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t it = test_item(p, k), i = k - f;
      if (!p->score[it]) p->touched[nt++] = it;
      uint64_t cnt = (p->score[it] >> 32) + 1;
      p->score[it] = cnt << 32 | (uint64_t)(i + 1);
      uint32_t truth = test_item(p, k + 1);
      record(p, t, i, truth, rank_sparse(p, nt, truth));
    }
    clear_scores(p, nt);
  }
  return ER_OK;
}

/* ---- AR, SR: rules rows from the last item ---------------------------------------------- */

/* Predictions grouped by their last item (stable: session, then position). */
typedef struct {
  uint32_t *first;  /* [n_items + 1] */
  uint32_t *test, *pos;
} by_last;

static er_status group_by_last(const peer *p, by_last *g, er_error *err) {
  const er_eval_split *s = p->s;
  uint32_t ni = s->n_items;
  g->first = calloc((size_t)ni + 1, sizeof *g->first);
  g->test = malloc((size_t)(s->predictions + 1) * sizeof *g->test);
  g->pos = malloc((size_t)(s->predictions + 1) * sizeof *g->pos);
  uint32_t *fill = malloc(((size_t)ni + 1) * sizeof *fill);
  if (!g->first || !g->test || !g->pos || !fill) { free(fill); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory grouping %llu predictions", (unsigned long long)s->predictions); }
  for (uint32_t t = 0; t < s->n_test; t++)
    for (uint32_t k = s->test_first[t]; k + 1 < s->test_first[t + 1]; k++) g->first[test_item(p, k) + 1]++;
  for (uint32_t i = 0; i < ni; i++) g->first[i + 1] += g->first[i];
  memcpy(fill, g->first, (size_t)ni * sizeof *fill);
  for (uint32_t t = 0; t < s->n_test; t++)
    for (uint32_t k = s->test_first[t]; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t at = fill[test_item(p, k)]++;
      g->test[at] = t;
      g->pos[at] = k - s->test_first[t];
    }
  free(fill);
  return ER_OK;
}

static void by_last_free(by_last *g) {
  free(g->first);
  free(g->test);
  free(g->pos);
}

/* w > 0.  Branchless: j is always written at touched[nt], which only
 * advances when j was not scored yet (touched has n_items + 1 slots). */
static inline void add_score(peer *p, uint32_t *nt, uint32_t j, uint64_t w) {
  uint64_t old = p->score[j];
  p->touched[*nt] = j;
  *nt += old == 0;
  p->score[j] = old + w;
}

/* AR: every ordered pair of distinct positions (p, q) of a session adds 1 to
 * item[p] -> item[q].  From a's side, per session with c_a occurrences of a:
 * j != a gains c_a * c_j, a itself c_a * (c_a - 1). */
static uint32_t ar_row(peer *p, uint32_t a) {
  uint32_t nt = 0;
  for (uint32_t k = p->inv_first[a]; k < p->inv_first[a + 1]; k++) {
    uint32_t t = p->inv_ses[k], lo = p->d_first[t], hi = p->d_first[t + 1];
    uint64_t ca = 0;
    for (uint32_t d = lo; d < hi; d++)
      if (p->d_item[d] == a) { ca = p->d_cnt[d]; break; }
    for (uint32_t d = lo; d < hi; d++) {
      uint32_t j = p->d_item[d];
      uint64_t w = j == a ? ca * (ca - 1) : ca * p->d_cnt[d];
      if (w) add_score(p, &nt, j, w);
    }
  }
  return nt;
}

/* SR: position q after p with q - p <= steps adds 2520 / (q - p) to
 * item[p] -> item[q]. */
static uint32_t sr_row(peer *p, uint32_t a) {
  const er_eval_split *s = p->s;
  uint32_t nt = 0;
  for (uint32_t k = p->inv_first[a]; k < p->inv_first[a + 1]; k++) {
    uint32_t t = p->inv_ses[k], lo = s->train_first[t], hi = s->train_first[t + 1];
    for (uint32_t x = lo; x < hi; x++) {
      if (s->train_item[x] != a) continue;
      for (uint32_t q = x + 1; q < hi && q - x <= ER_EVAL_SR_STEPS; q++) add_score(p, &nt, s->train_item[q], ER_EVAL_SR_UNIT / (q - x));
    }
  }
  return nt;
}

static er_status run_rules(peer *p, uint32_t (*row)(peer *, uint32_t), er_error *err) {
  by_last g;
  memset(&g, 0, sizeof g);
  er_status st = group_by_last(p, &g, err);
  if (st) { by_last_free(&g); return st; }
  const er_eval_split *s = p->s;
  for (uint32_t a = 0; a < s->n_items; a++) {
    if (g.first[a] == g.first[a + 1]) continue;
    uint32_t nt = row(p, a);
    for (uint32_t x = g.first[a]; x < g.first[a + 1]; x++) {
      uint32_t t = g.test[x], pos = g.pos[x];
      uint32_t truth = test_item(p, s->test_first[t] + pos + 1);
      record(p, t, pos, truth, rank_sparse(p, nt, truth));
    }
    clear_scores(p, nt);
  }
  by_last_free(&g);
  return ER_OK;
}

/* ---- V-SKNN ------------------------------------------------------------------------------------ */

typedef struct { uint64_t sim; uint32_t ses; } nbr;

/* a before b: more similar, then more recent */
static inline int nbr_better(const nbr *a, const nbr *b) { return a->sim != b->sim ? a->sim > b->sim : a->ses > b->ses; }

static int nbr_cmp(const void *a, const void *b) { return nbr_better(a, b) ? -1 : nbr_better(b, a) ? 1 : 0; }

/* Restore the heap below x in v[0..k) (the worst neighbour at the root). */
static void sift_down(nbr *v, uint32_t k, uint32_t x) {
  for (;;) {
    uint32_t l = 2 * x + 1, r = l + 1, w = x;
    if (l < k && nbr_better(&v[w], &v[l])) w = l;
    if (r < k && nbr_better(&v[w], &v[r])) w = r;
    if (w == x) return;
    nbr tmp = v[x]; v[x] = v[w]; v[w] = tmp;
    x = w;
  }
}

/* Keep the best k of n (in place, unordered): a min-heap of the best k. */
static uint32_t top_k(nbr *v, uint32_t n, uint32_t k) {
  if (n <= k) return n;
  for (uint32_t i = k / 2; i-- > 0;) sift_down(v, k, i);
  for (uint32_t i = k; i < n; i++) {
    if (!nbr_better(&v[i], &v[0])) continue;
    v[0] = v[i];
    sift_down(v, k, 0);
  }
  return k;
}

/* Rank of item t under real scores sc[] (0 for every item not in
 * touched[0..nt)): the items with a positive score by score (ties: smaller
 * id first), then the items with score 0 — the unscored ones — in POP order,
 * then the items with a negative score by score.  n_cat: catalogue size. */
static uint32_t rank_real(const peer *p, const double *sc, uint32_t nt, uint32_t t, uint32_t n_cat) {
  const uint32_t *touched = p->touched;
  double st = sc[t];
  uint64_t better = 0;
  if (st > 0) {
    for (uint32_t k = 0; k < nt; k++) {
      uint32_t j = touched[k];
      better += (sc[j] > st) | ((sc[j] == st) & (j < t));
    }
    return cap_rank(better + 1);
  }
  uint64_t pos = 0, neg = 0, below = 0;
  uint32_t pt = p->pop_rank[t];
  for (uint32_t k = 0; k < nt; k++) {
    uint32_t j = touched[k];
    double sj = sc[j];
    pos += sj > 0;
    neg += sj < 0;
    below += (sj != 0) & (p->pop_rank[j] < pt);
    better += (sj < 0) & ((sj > st) | ((sj == st) & (j < t)));
  }
  if (st == 0) return cap_rank(pos + 1 + pt - below);
  return cap_rank((uint64_t)n_cat - neg + better + 1);
}

/* session-rec's VMContextKNN (see er_eval.h for the definition).
 * Similarities are kept unnormalized as exact integers: sim = sum over the
 * shared items of the position + 1 of their last occurrence in e_0..e_i,
 * i.e. session-rec's 'div' weights times (i + 1) and its dot product times
 * the number of distinct session items: one positive factor for every
 * session of a prediction, which changes neither the neighbours nor the
 * ranking.  Item scores are doubles summed in a fixed order (neighbours best
 * first, each neighbour's items in first-occurrence order), so they are
 * deterministic.
 * Incremental: event x at position i changes only x's weight, by
 * i + 1 - old; so the similarity of every session holding x grows by that
 * much, its most recent shared event becomes position i, and no other
 * session changes.  The sample's threshold (its least recent session) only
 * rises within a test session, so a session at or above it has seen every
 * update of every item it shares: sim[] and last[] are exact there. */
static er_status run_vsknn(peer *p, er_error *err) {
  const er_eval_split *s = p->s;
  const uint32_t SAMPLE = ER_EVAL_KNN_SAMPLE, K = ER_EVAL_KNN_K;
  uint32_t ni = s->n_items ? s->n_items : 1;
  uint32_t *sample = malloc(SAMPLE * sizeof *sample), *merged = malloc(SAMPLE * sizeof *merged);
  uint64_t *sim = calloc(s->n_train, sizeof *sim);
  uint32_t *last = malloc((size_t)s->n_train * sizeof *last); /* position + 1 of the last shared event */
  uint32_t *sim_set = malloc((size_t)s->n_train * sizeof *sim_set); /* sessions with sim > 0, to reset */
  uint32_t *wpos = calloc(ni, sizeof *wpos);
  double *acc = calloc(ni, sizeof *acc);   /* item scores, 0 between predictions */
  double *mult = malloc((size_t)ni * sizeof *mult);
  uint32_t max_len = 0, n_cat = 0;
  for (uint32_t t = 0; t < s->n_test; t++)
    if (s->test_first[t + 1] - s->test_first[t] > max_len) max_len = s->test_first[t + 1] - s->test_first[t];
  uint32_t *cur = malloc(((size_t)max_len + 1) * sizeof *cur);
  nbr *nb = malloc(SAMPLE * sizeof *nb);
  er_status st = ER_OK;
  if (!sample || !merged || !sim || !last || !sim_set || !wpos || !acc || !mult || !cur || !nb) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: vsknn: out of memory"); goto out; }
  /* idf weighting: item j's score is multiplied by 1 + w * ln(n_train / pop[j]) (pop: events, as session-rec's
   * groupby(item).size()); negative when pop[j] > e^(1/w) * n_train */
  for (uint32_t j = 0; j < s->n_items; j++) {
    n_cat += s->pop[j] != 0;
    mult[j] = s->pop[j] ? 1.0 + ER_EVAL_KNN_IDF * log((double)s->n_train / (double)s->pop[j]) : 0;
  }
  for (uint32_t t = 0; t < s->n_test; t++) {
    uint32_t f = s->test_first[t], ns = 0, nc = 0, nset = 0;
    for (uint32_t k = f; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t x = test_item(p, k), i = k - f, old = wpos[x];
      if (!old) {
        cur[nc++] = x;
        /* sample := the SAMPLE most recent of sample ∪ sessions(x) (both descending) */
        uint32_t a = 0, b = p->inv_first[x + 1], blo = p->inv_first[x], m = 0;
        while (m < SAMPLE && (a < ns || b > blo)) {
          uint32_t v;
          if (a < ns && (b == blo || sample[a] >= p->inv_ses[b - 1])) {
            v = sample[a++];
            if (b > blo && p->inv_ses[b - 1] == v) b--;
          } else v = p->inv_ses[--b];
          merged[m++] = v;
        }
        uint32_t *tmp = sample; sample = merged; merged = tmp;
        ns = m;
      }
      wpos[x] = i + 1;
      uint32_t thr = ns == SAMPLE ? sample[ns - 1] : 0, delta = i + 1 - old;
      for (uint32_t q = p->inv_first[x + 1]; q > p->inv_first[x] && p->inv_ses[q - 1] >= thr; q--) {
        uint32_t ses = p->inv_ses[q - 1];
        if (!sim[ses]) sim_set[nset++] = ses;
        sim[ses] += delta;
        last[ses] = i + 1;
      }
      /* the neighbours: the K most similar of the sample, best first */
      for (uint32_t q = 0; q < ns; q++) nb[q] = (nbr){sim[sample[q]], sample[q]};
      uint32_t kk = top_k(nb, ns, K), nt = 0;
      qsort(nb, kk, sizeof *nb, nbr_cmp);
      for (uint32_t q = 0; q < kk; q++) {
        uint32_t lo = p->d_first[nb[q].ses], hi = p->d_first[nb[q].ses + 1];
        /* decay 1/step, step = i + 2 - (position + 1 of the most recent shared event): 1 for e_i */
        double term = (double)nb[q].sim / (double)(i + 2 - last[nb[q].ses]);
        /* branchless: j is always written at touched[nt], which only advances when j was not scored yet */
        for (uint32_t d = lo; d < hi; d++) {
          uint32_t j = p->d_item[d];
          double prev = acc[j];
          p->touched[nt] = j;
          nt += prev == 0;
          acc[j] = prev + term;
        }
      }
      for (uint32_t q = 0; q < nt; q++) acc[p->touched[q]] *= mult[p->touched[q]];
      uint32_t truth = test_item(p, k + 1);
      record(p, t, i, truth, rank_real(p, acc, nt, truth, n_cat));
      for (uint32_t q = 0; q < nt; q++) acc[p->touched[q]] = 0;
    }
    for (uint32_t c = 0; c < nc; c++) wpos[cur[c]] = 0;
    for (uint32_t q = 0; q < nset; q++) sim[sim_set[q]] = 0;
  }
out:
  free(sample);
  free(merged);
  free(sim);
  free(last);
  free(sim_set);
  free(wpos);
  free(acc);
  free(mult);
  free(cur);
  free(nb);
  return st;
}

/* ---- edgerec ------------------------------------------------------------------------------------ */


#define EDGEREC_TOKENS 4096u

static er_status run_edgerec(peer *p, er_engine *engine, er_error *err) {
  const er_log *L = p->L;
  const er_eval_split *s = p->s;
  const er_bundle *b = &engine->b;
  uint32_t k = p->o->k < ER_EVAL_DEFAULT_K ? ER_EVAL_DEFAULT_K : p->o->k;
  jsmntok_t *tok = malloc(EDGEREC_TOKENS * sizeof *tok);
  if (!tok) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: edgerec: out of memory");
  char ctx[2048], sku[ER_MAX_SKU_BYTES * 4 + 8];
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  uint64_t done = 0, next_report = 100000;
  double t0 = er_now_seconds();
  for (uint32_t t = 0; t < s->n_test; t++) {
    er_profile pr;
    er_profile_init(&pr);
    uint32_t f = s->test_first[t];
    for (uint32_t x = f; x + 1 < s->test_first[t + 1]; x++) {
      const er_log_event *e = &L->ev[s->test_event[x]];
      er_profile_delta d;
      er_log_delta(L, e, &d);
      er_engine_enrich_delta(b, &d);
      er_profile_apply(&pr, &d);
      uint32_t plen = er_profile_encode(&pr, prof, sizeof prof);
      uint32_t clen = er_log_context_json(L, e, k, ctx, sizeof ctx);
      /* the true item, and its parent when it is a child in the bundle */
      uint32_t truth = test_item(p, x + 1), tl, pl = 0;
      const char *ts = er_log_sku(L, truth, &tl), *ps = NULL;
      uint32_t bi = er_bundle_find_sku(b, L->items.key[truth]);
      if (bi != ER_NONE && er_item_parent(b, bi) != ER_NONE) ps = er_item_sku(b, er_item_parent(b, bi), &pl);
      uint32_t rank = 0;
      const char *out;
      uint32_t out_len;
      er_json j;
      er_error je;
      er_error_clear(&je);
      const char *why = NULL;
      if (!plen) why = "the profile does not encode";
      else if (!clen) why = "the context does not fit";
      else if (er_recommend(engine, ctx, clen, prof, plen, &out, &out_len)) why = er_engine_error(engine)->msg;
      else if (er_json_parse(&j, out, out_len, tok, EDGEREC_TOKENS, "recommendation", &je)) why = je.msg;
      if (why) {
        if (!p->r->errors && p->o->progress) fprintf(stderr, "eval: edgerec: first error, at input line %u: %s\n", e->line, why);
        p->r->errors++;
      } else {
        if (er_json_get(&j, 0, "fallback") >= 0) p->r->fallbacks++;
        int32_t items = er_json_get(&j, 0, "items");
        if (items >= 0 && er_json_is(&j, (uint32_t)items, JSMN_ARRAY)) {
          uint32_t n = (uint32_t)j.tok[items].size, at = (uint32_t)items + 1;
          for (uint32_t r = 0; r < n; r++) {
            int32_t sk = er_json_get(&j, at, "sku");
            int32_t sl = sk >= 0 ? er_json_str(&j, (uint32_t)sk, sku, sizeof sku) : -1;
            if (sl >= 0 && (((uint32_t)sl == tl && !memcmp(sku, ts, tl)) || (ps && (uint32_t)sl == pl && !memcmp(sku, ps, pl)))) {
              rank = r + 1;
              break;
            }
            at = er_json_skip(&j, at);
          }
        } else p->r->errors++;
      }
      record(p, t, x - f, truth, cap_rank(rank));
      if (p->o->progress && ++done >= next_report) {
        fprintf(stderr, "eval: edgerec: %llu / %llu predictions (%.1f s)\n", (unsigned long long)done,
                (unsigned long long)s->predictions, er_now_seconds() - t0);
        next_report += 100000;
      }
    }
  }
  free(tok);
  return ER_OK;
}

/* ---- running ------------------------------------------------------------------------------------ */

void er_eval_opts_default(er_eval_opts *o) {
  memset(o, 0, sizeof *o);
  o->test_days = ER_EVAL_DEFAULT_TEST_DAYS;
  o->k = ER_EVAL_DEFAULT_K;
  o->models = ER_EVAL_PEERS;
}

er_status er_eval_model_run(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o,
                            er_engine *engine, er_eval_model_result *r, er_error *err) {
  memset(r, 0, sizeof *r);
  er_eval_metrics_init(&r->m);
  if ((unsigned)m >= ER_EVAL_N_MODELS) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: unknown model %d", (int)m);
  if (m == ER_EVAL_EDGEREC && !engine) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: edgerec needs an engine (a bundle)");
  if (!o->k || o->k > ER_MAX_K) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: k must be 1..%u, got %u", ER_MAX_K, o->k);
  double t0 = er_now_seconds();
  peer p;
  memset(&p, 0, sizeof p);
  p.L = L;
  p.s = s;
  p.o = o;
  p.model = m;
  p.r = r;
  er_status st = ER_OK;
  if (m == ER_EVAL_EDGEREC) st = run_edgerec(&p, engine, err);
  else if (!(st = peer_init(&p, m == ER_EVAL_AR || m == ER_EVAL_SR || m == ER_EVAL_VSKNN, err))) {
    switch (m) {
    case ER_EVAL_POP: st = run_pop(&p, err); break;
    case ER_EVAL_SPOP: st = run_spop(&p, err); break;
    case ER_EVAL_AR: st = run_rules(&p, ar_row, err); break;
    case ER_EVAL_SR: st = run_rules(&p, sr_row, err); break;
    default: st = run_vsknn(&p, err); break;
    }
  }
  peer_free(&p);
  r->seconds = er_now_seconds() - t0;
  if (st) return st;
  r->ran = 1;
  if (o->progress)
    fprintf(stderr, "eval: %-7s %llu predictions, HR@20 %.4f, MRR@20 %.4f, %.3f s%s\n", MODEL_NAMES[m],
            (unsigned long long)r->m.n, er_eval_hr(&r->m, 20), er_eval_mrr(&r->m, 20), r->seconds,
            m == ER_EVAL_EDGEREC && (r->errors || r->fallbacks) ? " (see errors / fallbacks)" : "");
  return ER_OK;
}

er_status er_eval_run(const er_log *L, const er_eval_opts *o, er_engine *engine_or_NULL, er_eval_result *r, er_error *err) {
  memset(r, 0, sizeof *r);
  if (!o->k || o->k > ER_MAX_K) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: k must be 1..%u, got %u", ER_MAX_K, o->k);
  if (!o->has_from && (!o->test_days || o->test_days > 36500))
    return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: test days must be 1..36500, got %u", o->test_days);
  if (!o->models || (o->models >> ER_EVAL_N_MODELS))
    return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: no model to evaluate (models mask 0x%x)", o->models);
  if ((o->models & ER_EVAL_BIT(ER_EVAL_EDGEREC)) && !engine_or_NULL)
    return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: edgerec needs an engine (a bundle)");
  if (!L->n_ev) return er_fail(err, ER_E_SHAPE, ER_NO_OFFSET, "eval: the log has no events");
  uint64_t from = o->from_ms;
  if (!o->has_from) {
    uint64_t span = (uint64_t)o->test_days * 86400000ull;
    from = L->max_ms > span ? L->max_ms - span : 0;
  }
  er_eval_split s;
  double t0 = er_now_seconds();
  er_status st = er_eval_split_build(L, from, &s, err);
  if (st) return st;
  r->from_ms = from;
  r->train_sessions = s.n_train;
  r->test_sessions = s.n_test;
  r->test_sessions_dropped = s.test_sessions_dropped;
  r->test_events_dropped = s.test_events_dropped;
  r->predictions = s.predictions;
  r->k = o->k;
  if (o->progress) {
    char f[32];
    fmt_time(from, f, sizeof f);
    fprintf(stderr, "eval: split at %s: %u training sessions, %u test sessions (%u dropped with < 2 events, %llu test events of unseen items dropped), %llu predictions (%.3f s)\n",
            f, s.n_train, s.n_test, s.test_sessions_dropped, (unsigned long long)s.test_events_dropped,
            (unsigned long long)s.predictions, er_now_seconds() - t0);
  }
  if ((o->models & ER_EVAL_BIT(ER_EVAL_EDGEREC)))
    snprintf(r->model_version, sizeof r->model_version, "%s", engine_or_NULL->b.version);
  for (int m = 0; m < ER_EVAL_N_MODELS && !st; m++)
    if (o->models & ER_EVAL_BIT(m)) st = er_eval_model_run(L, &s, (er_eval_model)m, o, engine_or_NULL, &r->model[m], err);
  er_eval_split_free(&s);
  return st;
}

/* ---- JSON --------------------------------------------------------------------------------------- */

typedef struct { char *p; uint32_t n, cap; int over; } wbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void wr(wbuf *w, const char *fmt, ...) {
  if (w->over) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(w->p + w->n, w->cap - w->n, fmt, ap);
  va_end(ap);
  if (n < 0 || (uint32_t)n >= w->cap - w->n) { w->over = 1; return; }
  w->n += (uint32_t)n;
}

uint32_t er_eval_json(const er_eval_result *r, char *out, uint32_t cap) {
  if (!cap) return 0;
  wbuf w = {out, 0, cap, 0};
  char from[32];
  fmt_time(r->from_ms, from, sizeof from);
  wr(&w, "{\"protocol\":\"%s\",\"split\":{\"from\":%s,\"train_sessions\":%u,\"test_sessions\":%u,\"test_sessions_dropped\":%u,"
         "\"test_events_dropped\":%llu,\"predictions\":%llu},\"k\":%u,\"models\":{",
     ER_EVAL_PROTOCOL, from, r->train_sessions, r->test_sessions, r->test_sessions_dropped,
     (unsigned long long)r->test_events_dropped, (unsigned long long)r->predictions, r->k);
  int first = 1;
  for (int m = 0; m < ER_EVAL_N_MODELS; m++) {
    const er_eval_model_result *x = &r->model[m];
    if (!x->ran) continue;
    wr(&w, "%s\"%s\":{", first ? "" : ",", MODEL_NAMES[m]);
    first = 0;
    if (m == ER_EVAL_EDGEREC) {
      wr(&w, "\"model\":\"");
      for (const char *c = r->model_version; *c; c++) { /* the packer allows printable ASCII without '"' or '\\' */
        unsigned char ch = (unsigned char)*c;
        wr(&w, "%c", ch == '"' || ch == '\\' || ch < 0x20 || ch > 0x7e ? '?' : (char)ch);
      }
      wr(&w, "\",");
    }
    wr(&w, "\"hr@10\":%.4f,\"hr@20\":%.4f,\"mrr@20\":%.4f,\"ndcg@10\":%.4f", er_eval_hr(&x->m, 10), er_eval_hr(&x->m, 20),
       er_eval_mrr(&x->m, 20), er_eval_ndcg(&x->m, 10));
    if (r->k != 10 && r->k != 20)
      wr(&w, ",\"hr@%u\":%.4f,\"mrr@%u\":%.4f,\"ndcg@%u\":%.4f", r->k, er_eval_hr(&x->m, r->k), r->k, er_eval_mrr(&x->m, r->k),
         r->k, er_eval_ndcg(&x->m, r->k));
    wr(&w, ",\"predictions\":%llu", (unsigned long long)x->m.n);
    if (m == ER_EVAL_EDGEREC) wr(&w, ",\"errors\":%llu,\"fallbacks\":%llu", (unsigned long long)x->errors, (unsigned long long)x->fallbacks);
    wr(&w, ",\"seconds\":%.3f}", x->seconds);
  }
  wr(&w, "}}");
  return w.over ? 0 : w.n;
}

/* ---- the command --------------------------------------------------------------------------------- */

static const char *EVAL_USAGE =
    "usage: edgerec eval --events F|- [--bundle B.erb] [--from UNIX_SECONDS | --test-days N] [--k N]\n"
    "                    [--baseline pop,spop,ar,sr,vsknn | all | none]\n"
    "  next-item evaluation of edgerec (with --bundle) and the baselines on an event log (NDJSON);\n"
    "  split: --from, else --test-days (default 30) before the last event; k: list length (default 20, 1..200);\n"
    "  baselines: default all; --baseline none with --bundle evaluates edgerec only.\n"
    "  one JSON object on stdout; exit codes: 0 ok, 2 usage, 3 bad input, 4 bad bundle\n";

static int eval_usage(const char *fmt, const char *arg) {
  if (fmt) {
    fputs("edgerec: eval: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
  }
  fputs(EVAL_USAGE, stderr);
  return 2;
}

/* Unsigned decimal integer in [lo, hi]; -1 when malformed or out of range. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || !*s) return -1;
  uint64_t v = 0;
  for (const char *c = s; *c; c++) {
    if (*c < '0' || *c > '9') return -1;
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(*c - '0');
  }
  if (v < lo || v > hi) return -1;
  *out = v;
  return 0;
}


int er_eval_main(int argc, char **argv) {
  const char *bundle = NULL, *events = NULL, *from = NULL, *days = NULL, *kopt = NULL, *baseline = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (!strcmp(a, "--bundle")) slot = &bundle;
    else if (!strcmp(a, "--events")) slot = &events;
    else if (!strcmp(a, "--from")) slot = &from;
    else if (!strcmp(a, "--test-days")) slot = &days;
    else if (!strcmp(a, "--k")) slot = &kopt;
    else if (!strcmp(a, "--baseline")) slot = &baseline;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) return eval_usage(NULL, NULL);
    else if (a[0] == '-' && a[1]) return eval_usage("unknown option %s", a);
    else return eval_usage("unexpected argument '%s' (options take the form --name VALUE)", a);
    if (i + 1 >= argc) return eval_usage("%s needs a value", a);
    if (*slot) return eval_usage("%s given twice", a);
    *slot = argv[++i];
  }
  if (!events) return eval_usage("%s", "--events F is required (an event NDJSON file, or - for stdin)");
  er_eval_opts o;
  er_eval_opts_default(&o);
  o.progress = 1;
  uint64_t v;
  if (from && days) return eval_usage("%s", "give either --from or --test-days, not both");
  if (from) {
    if (parse_u64(from, 0, 4294967295ull, &v)) return eval_usage("--from must be unix seconds, an integer 0..4294967295, got '%s'", from);
    o.has_from = 1;
    o.from_ms = v * 1000;
  }
  if (days) {
    if (parse_u64(days, 1, 36500, &v)) return eval_usage("--test-days must be an integer 1..36500, got '%s'", days);
    o.test_days = (uint32_t)v;
  }
  if (kopt) {
    if (parse_u64(kopt, 1, ER_MAX_K, &v)) return eval_usage("--k must be an integer 1..200, got '%s'", kopt);
    o.k = (uint32_t)v;
  }
  er_error err;
  er_error_clear(&err);
  uint32_t peers = ER_EVAL_PEERS;
  if (baseline && er_eval_parse_models(baseline, &peers, &err)) return eval_usage("%s", err.msg);
  o.models = peers | (bundle ? ER_EVAL_BIT(ER_EVAL_EDGEREC) : 0);
  if (!o.models) return eval_usage("%s", "nothing to evaluate: --baseline none needs --bundle");

  /* the bundle first: a bad one fails before a long read */
  uint8_t *bytes = NULL;
  er_engine *engine = NULL;
  if (bundle) {
    const char *msg = "";
    uint32_t n;
    int over = 0;
    bytes = er_read_input("--bundle", bundle, ER_MAX_BUNDLE_BYTES, &n, &msg, &over);
    if (!bytes) { fprintf(stderr, "edgerec: eval: %s\n", msg); return over ? 3 : 4; }
    engine = er_engine_new(bytes, n, &err);
    if (!engine) { fprintf(stderr, "edgerec: eval: --bundle %s: %s\n", bundle, err.msg); free(bytes); return 4; }
  }
  int rc = 0;
  er_log L;
  er_log_init(&L);
  int is_stdin = !strcmp(events, "-");
  const char *name = is_stdin ? "stdin" : events;
  FILE *f = is_stdin ? stdin : fopen(events, "rb");
  if (!f) {
    fprintf(stderr, "edgerec: eval: cannot read --events %s: %s\n", events, strerror(errno));
    rc = 3;
    goto out;
  }
  double t0 = er_now_seconds();
  er_status st = er_log_read(&L, f, name, 1, &err);
  if (!is_stdin) fclose(f);
  if (st) { fprintf(stderr, "edgerec: eval: %s\n", err.msg); rc = 3; goto out; }
  er_log_report(&L, stderr, "eval");
  if (!L.n_ev) { fprintf(stderr, "edgerec: eval: %s has no valid event\n", name); rc = 3; goto out; }
  if ((st = er_log_finish(&L, &err))) { fprintf(stderr, "edgerec: eval: %s\n", err.msg); rc = 3; goto out; }
  fprintf(stderr, "eval: read %s in %.2f s\n", name, er_now_seconds() - t0);
  er_eval_result *r = malloc(sizeof *r);
  if (!r) { fprintf(stderr, "edgerec: eval: out of memory\n"); rc = 3; goto out; }
  if ((st = er_eval_run(&L, &o, engine, r, &err))) {
    fprintf(stderr, "edgerec: %s\n", err.msg);
    rc = st == ER_E_USAGE ? 2 : 3;
  } else {
    char json[8192];
    uint32_t n = er_eval_json(r, json, sizeof json);
    if (!n || fwrite(json, 1, n, stdout) != n || fputc('\n', stdout) == EOF || fflush(stdout)) {
      fprintf(stderr, "edgerec: eval: cannot write the result to stdout\n");
      rc = 3;
    }
  }
  free(r);
out:
  er_log_free(&L);
  er_engine_free(engine);
  free(bytes);
  return rc;
}
