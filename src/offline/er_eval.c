/* er_eval.c — offline evaluation: the split, the peers, edgerec through
 * er_recommend, metrics and the `edgerec eval` command (see er_eval.h for the
 * protocol). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT: the default thread count */
#include "er_eval.h"
#include "er_native.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "er_bundle.h"
#include "er_engine.h"
#include "er_json.h"

#define NONE 0xFFFFFFFFu

static const char *const MODEL_NAMES[ER_EVAL_N_MODELS] = {"edgerec", "pop", "spop", "ar", "sr", "vsknn", "stan", "vstan"};

const char *er_eval_model_name(er_eval_model m) {
  return (unsigned)m < ER_EVAL_N_MODELS ? MODEL_NAMES[m] : NULL;
}

er_status er_eval_parse_models(const char *list, uint32_t *mask, er_error *err) {
  *mask = 0;
  if (!list || !*list) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "--baseline: empty list (use pop, spop, ar, sr, vsknn, stan, vstan, all or none)");
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
      return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "--baseline: unknown model '%.*s' (known: pop, spop, ar, sr, vsknn, stan, vstan, all, none)",
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

/* The split at from_ms of the sessions ending before until_ms (the others
 * are not read: the validation split of the tuning excludes the test
 * sessions). */
static er_status split_build_range(const er_log *L, uint64_t from_ms, uint64_t until_ms, er_eval_split *s, er_error *err) {
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
    if (!c || S->end_ms >= until_ms) continue;
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
    if (S->end_ms < from_ms || S->end_ms >= until_ms) continue;
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

er_status er_eval_split_build(const er_log *L, uint64_t from_ms, er_eval_split *s, er_error *err) {
  return split_build_range(L, from_ms, UINT64_MAX, s, err);
}

/* ---- shared peer machinery ------------------------------------------------------------ */

typedef struct {
  const er_log *L;
  const er_eval_split *s;
  const er_eval_opts *o;
  er_eval_model model;
  er_eval_model_result *r;
  uint32_t *pop_rank;   /* [n_items] 0-based rank in POP order (pop desc, id asc); NONE outside the catalogue */
  uint32_t *pop_order;  /* [n_cat] the catalogue in POP order */
  uint32_t n_cat;       /* catalogue items (pop > 0) */
  const er_eval_knn_params *knn; /* stan, vstan */
  /* lists and per-session sums (when `lists`): coverage@20, pop_bias@20, the bootstrap */
  int lists;
  uint8_t *covered;     /* [n_items] in some top-20 list */
  double *popnorm;      /* [n_items] pop / max pop */
  double pop_sum;
  uint32_t *ses_n, *ses_hit; /* [n_test] predictions, hits@20 */
  double *ses_rr;       /* [n_test] sum of 1/rank within 20 */
  /* distinct items per training session (with counts) and item -> training sessions (ascending) */
  uint32_t *d_first, *d_item, *d_cnt;
  uint32_t *d_last;     /* [distinct] the item's last 1-based position in its session */
  uint32_t *inv_d;      /* parallel to inv_ses: the index into d_item of that occurrence */
  uint32_t *inv_first, *inv_ses;
  /* scratch */
  uint64_t *score;      /* [n_items], zero between predictions */
  uint32_t *touched;    /* [n_items] */
} peer;

static void peer_free(peer *p) {
  free(p->pop_rank);
  free(p->pop_order);
  free(p->covered);
  free(p->popnorm);
  free(p->ses_n);
  free(p->ses_hit);
  free(p->ses_rr);
  free(p->d_first);
  free(p->d_item);
  free(p->d_cnt);
  free(p->d_last);
  free(p->inv_d);
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
  p->pop_order = malloc((size_t)ni * sizeof *p->pop_order);
  p->score = calloc(ni, sizeof *p->score);
  p->touched = malloc(((size_t)ni + 1) * sizeof *p->touched); /* + 1: add_score writes one past */
  pop_key *order = malloc((size_t)ni * sizeof *order);
  if (!p->pop_rank || !p->pop_order || !p->score || !p->touched || !order) { free(order); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory (%u items)", ni); }
  uint32_t nc = 0;
  for (uint32_t i = 0; i < s->n_items; i++) {
    p->pop_rank[i] = NONE;
    if (s->pop[i]) order[nc++] = (pop_key){s->pop[i], i};
  }
  qsort(order, nc, sizeof *order, by_pop);
  for (uint32_t r = 0; r < nc; r++) {
    p->pop_rank[order[r].item] = r;
    p->pop_order[r] = order[r].item;
  }
  p->n_cat = nc;
  free(order);
  if (!need_index) return ER_OK;
  /* distinct items per training session, in first-occurrence order */
  uint32_t nt = s->n_train, nev = s->train_first[nt];
  p->d_first = malloc(((size_t)nt + 1) * sizeof *p->d_first);
  p->d_item = malloc(((size_t)nev + 1) * sizeof *p->d_item);
  p->d_cnt = malloc(((size_t)nev + 1) * sizeof *p->d_cnt);
  p->d_last = malloc(((size_t)nev + 1) * sizeof *p->d_last);
  p->inv_first = calloc((size_t)ni + 1, sizeof *p->inv_first);
  uint32_t *slot = malloc((size_t)ni * sizeof *slot);
  if (!p->d_first || !p->d_item || !p->d_cnt || !p->d_last || !p->inv_first || !slot) { free(slot); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory indexing %u training events", nev); }
  for (uint32_t i = 0; i < s->n_items; i++) slot[i] = NONE;
  uint32_t nd = 0;
  for (uint32_t t = 0; t < nt; t++) {
    p->d_first[t] = nd;
    for (uint32_t k = s->train_first[t]; k < s->train_first[t + 1]; k++) {
      uint32_t it = s->train_item[k];
      if (slot[it] != NONE && slot[it] >= p->d_first[t]) {
        p->d_cnt[slot[it]]++;
        p->d_last[slot[it]] = k - s->train_first[t] + 1;
        continue;
      }
      slot[it] = nd;
      p->d_item[nd] = it;
      p->d_last[nd] = k - s->train_first[t] + 1;
      p->d_cnt[nd++] = 1;
      p->inv_first[it + 1]++;
    }
  }
  p->d_first[nt] = nd;
  free(slot);
  for (uint32_t i = 0; i < s->n_items; i++) p->inv_first[i + 1] += p->inv_first[i];
  p->inv_ses = malloc(((size_t)nd + 1) * sizeof *p->inv_ses);
  p->inv_d = malloc(((size_t)nd + 1) * sizeof *p->inv_d);
  uint32_t *fill = malloc((size_t)ni * sizeof *fill);
  if (!p->inv_ses || !p->inv_d || !fill) { free(fill); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory indexing %u training events", nev); }
  memcpy(fill, p->inv_first, (size_t)s->n_items * sizeof *fill);
  for (uint32_t t = 0; t < nt; t++)
    for (uint32_t k = p->d_first[t]; k < p->d_first[t + 1]; k++) {
      p->inv_d[fill[p->d_item[k]]] = k;
      p->inv_ses[fill[p->d_item[k]]++] = t;
    }
  free(fill);
  return ER_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
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
  if (p->lists) {
    p->ses_n[test]++;
    if (rank >= 1 && rank <= ER_EVAL_TOP) {
      p->ses_hit[test]++;
      p->ses_rr[test] += 1.0 / (double)rank;
    }
  }
  if (p->o->trace) p->o->trace(p->o->trace_user, p->model, test, pos, item, rank);
}

/* ---- lists: coverage@20, pop_bias@20, the bootstrap ------------------------------------------ */

/* The arrays of the list figures (every model, edgerec included). */
static er_status lists_init(peer *p, er_error *err) {
  const er_eval_split *s = p->s;
  uint32_t ni = s->n_items ? s->n_items : 1, nt = s->n_test ? s->n_test : 1, maxpop = 0;
  p->covered = calloc(ni, 1);
  p->popnorm = calloc(ni, sizeof *p->popnorm);
  p->ses_n = calloc(nt, sizeof *p->ses_n);
  p->ses_hit = calloc(nt, sizeof *p->ses_hit);
  p->ses_rr = calloc(nt, sizeof *p->ses_rr);
  if (!p->covered || !p->popnorm || !p->ses_n || !p->ses_hit || !p->ses_rr)
    return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory (%u items, %u test sessions)", ni, nt);
  for (uint32_t i = 0; i < s->n_items; i++) maxpop = s->pop[i] > maxpop ? s->pop[i] : maxpop;
  for (uint32_t i = 0; i < s->n_items; i++) p->popnorm[i] = maxpop ? (double)s->pop[i] / (double)maxpop : 0;
  p->lists = 1;
  return ER_OK;
}

/* One prediction's top list (at most ER_EVAL_TOP distinct items; NONE
 * entries are items outside the catalogue). */
static void observe_list(peer *p, const uint32_t *items, uint32_t n) {
  if (!p->lists) return;
  double sum = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (items[k] == NONE || !p->s->pop[items[k]]) continue;
    p->covered[items[k]] = 1;
    sum += p->popnorm[items[k]];
  }
  if (n) p->pop_sum += sum / (double)n;
}

/* Insert (score, id) into the best-first list top[0..*n) of at most
 * ER_EVAL_TOP (higher score first, then smaller id). */
static void top_insert(double *tsc, uint32_t *top, uint32_t *n, double sc, uint32_t id) {
  uint32_t at = *n;
  while (at > 0 && (tsc[at - 1] < sc || (tsc[at - 1] == sc && top[at - 1] > id))) at--;
  if (at >= ER_EVAL_TOP) return;
  uint32_t end = *n < ER_EVAL_TOP ? *n : ER_EVAL_TOP - 1;
  memmove(top + at + 1, top + at, (end - at) * sizeof *top);
  memmove(tsc + at + 1, tsc + at, (end - at) * sizeof *tsc);
  top[at] = id;
  tsc[at] = sc;
  if (*n < ER_EVAL_TOP) (*n)++;
}

/* The top list when touched[0..nt) have the scores sc[j] (NULL: the
 * integer scores p->score; 0: unscored): positive scores best first (ties:
 * smaller id), then the unscored catalogue in POP order, then negative
 * scores best first -- the order rank_sparse and rank_real rank in. */
static uint32_t top_list(const peer *p, uint32_t nt, const double *sc, uint32_t *out) {
  double tsc[ER_EVAL_TOP], nsc[ER_EVAL_TOP];
  uint32_t n = 0, nn = 0, neg[ER_EVAL_TOP];
  for (uint32_t k = 0; k < nt; k++) {
    uint32_t j = p->touched[k];
    double v = sc ? sc[j] : (double)p->score[j];
    if (v > 0) {
      if (n < ER_EVAL_TOP || v > tsc[ER_EVAL_TOP - 1] || (v == tsc[ER_EVAL_TOP - 1] && j < out[ER_EVAL_TOP - 1]))
        top_insert(tsc, out, &n, v, j);
    } else if (v < 0) top_insert(nsc, neg, &nn, v, j);
  }
  for (uint32_t r = 0; r < p->n_cat && n < ER_EVAL_TOP; r++) {
    uint32_t j = p->pop_order[r];
    if ((sc ? sc[j] : (double)p->score[j]) == 0) out[n++] = j;
  }
  for (uint32_t k = 0; k < nn && n < ER_EVAL_TOP; k++) out[n++] = neg[k];
  return n;
}

/* Percentile bootstrap of HR@20 and MRR@20 over the test sessions (see
 * er_eval.h): the same seed for every model. */
static er_status bootstrap(const peer *p, er_eval_model_result *r, er_error *err) {
  uint32_t nt = p->s->n_test;
  double *hr = malloc(ER_EVAL_BOOT * sizeof *hr), *mrr = malloc(ER_EVAL_BOOT * sizeof *mrr);
  if (!hr || !mrr) { free(hr); free(mrr); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: out of memory (bootstrap)"); }
  uint64_t seed = ER_EVAL_BOOT_SEED;
  for (uint32_t b = 0; b < ER_EVAL_BOOT; b++) {
    uint64_t n = 0, hit = 0;
    double rr = 0;
    for (uint32_t k = 0; k < nt; k++) {
      uint32_t t = (uint32_t)(((unsigned __int128)er_splitmix64(&seed) * nt) >> 64);
      n += p->ses_n[t];
      hit += p->ses_hit[t];
      rr += p->ses_rr[t];
    }
    hr[b] = n ? (double)hit / (double)n : 0;
    mrr[b] = n ? rr / (double)n : 0;
  }
  qsort(hr, ER_EVAL_BOOT, sizeof *hr, cmp_double);
  qsort(mrr, ER_EVAL_BOOT, sizeof *mrr, cmp_double);
  uint32_t lo = ER_EVAL_BOOT / 40, hi = ER_EVAL_BOOT - 1 - ER_EVAL_BOOT / 40;
  r->hr_ci[0] = hr[lo];
  r->hr_ci[1] = hr[hi];
  r->mrr_ci[0] = mrr[lo];
  r->mrr_ci[1] = mrr[hi];
  free(hr);
  free(mrr);
  return ER_OK;
}

static inline uint32_t test_item(const peer *p, uint32_t k) { return p->L->ev[p->s->test_event[k]].item; }

/* ---- POP, S-POP ------------------------------------------------------------------------ */

static er_status run_pop(peer *p, er_error *err) {
  (void)err;
  const er_eval_split *s = p->s;
  uint32_t ntop = p->n_cat < ER_EVAL_TOP ? p->n_cat : ER_EVAL_TOP;
  for (uint32_t t = 0; t < s->n_test; t++)
    for (uint32_t k = s->test_first[t]; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t truth = test_item(p, k + 1);
      observe_list(p, p->pop_order, ntop);
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
      if (p->lists) {
        uint32_t top[ER_EVAL_TOP];
        observe_list(p, top, top_list(p, nt, NULL, top));
      }
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
    uint32_t nt = row(p, a), top[ER_EVAL_TOP], ntop = p->lists ? top_list(p, nt, NULL, top) : 0;
    for (uint32_t x = g.first[a]; x < g.first[a + 1]; x++) {
      uint32_t t = g.test[x], pos = g.pos[x];
      observe_list(p, top, ntop);
      uint32_t truth = test_item(p, s->test_first[t] + pos + 1);
      record(p, t, pos, truth, rank_sparse(p, nt, truth));
    }
    clear_scores(p, nt);
  }
  by_last_free(&g);
  return ER_OK;
}

/* ---- V-SKNN ------------------------------------------------------------------------------------ */

typedef struct { double sim; uint32_t ses, aux; } nbr; /* aux: STAN's last shared position */

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

/* The sample (training sessions, most recent first) becomes the `cap` most
 * recent of itself and the sessions holding item x (both descending);
 * returns its new size.  *sample and *merged (both of cap slots) swap. */
static uint32_t sample_add(const peer *p, uint32_t x, uint32_t **sample, uint32_t **merged, uint32_t ns, uint32_t cap) {
  const uint32_t *sa = *sample;
  uint32_t *out = *merged;
  uint32_t a = 0, b = p->inv_first[x + 1], blo = p->inv_first[x], m = 0;
  while (m < cap && (a < ns || b > blo)) {
    uint32_t v;
    if (a < ns && (b == blo || sa[a] >= p->inv_ses[b - 1])) {
      v = sa[a++];
      if (b > blo && p->inv_ses[b - 1] == v) b--;
    } else v = p->inv_ses[--b];
    out[m++] = v;
  }
  *merged = *sample;
  *sample = out;
  return m;
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
        ns = sample_add(p, x, &sample, &merged, ns, SAMPLE);
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
      for (uint32_t q = 0; q < ns; q++) nb[q] = (nbr){(double)sim[sample[q]], sample[q], 0};
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
      if (p->lists) {
        uint32_t top[ER_EVAL_TOP];
        observe_list(p, top, top_list(p, nt, acc, top));
      }
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

/* ---- STAN, VSTAN ------------------------------------------------------------------------------- */

er_eval_knn_params er_eval_knn_defaults(int vstan) {
  er_eval_knn_params q = {ER_EVAL_STAN_K, ER_EVAL_STAN_SAMPLE, ER_EVAL_STAN_SPW, ER_EVAL_STAN_SNH, ER_EVAL_STAN_INH, 0, 0};
  if (vstan) {
    q.ipw = ER_EVAL_VSTAN_IPW;
    q.idf = ER_EVAL_VSTAN_IDF;
  }
  return q;
}

/* session-rec's STAN (vstan 0) or VSKNN_STAN (vstan 1) with p->knn (see
 * er_eval.h for the definition).  The sample is kept incrementally as
 * vsknn's; it is every session sharing an item whose index is at least its
 * least recent one, so each prediction adds up the dot products from the
 * items' session lists (the current session's distinct items in first
 * occurrence order, the order er_eval.h states) and touches only the
 * shared items.  exp() of the integer distances comes from tables computed
 * with the definition's expressions (bitwise the same values). */
static er_status run_stan(peer *p, int vstan, er_error *err) {
  const er_eval_split *s = p->s;
  const er_eval_knn_params *q = p->knn;
  const uint32_t SAMPLE = q->sample ? q->sample : 1, K = q->k ? q->k : 1;
  const double snh_ms = q->snh_days * 86400000.0;
  uint32_t ni = s->n_items ? s->n_items : 1, max_len = 1, max_train = 1;
  for (uint32_t t = 0; t < s->n_test; t++)
    if (s->test_first[t + 1] - s->test_first[t] > max_len) max_len = s->test_first[t + 1] - s->test_first[t];
  for (uint32_t z = 0; z < s->n_train; z++)
    if (s->train_first[z + 1] - s->train_first[z] > max_train) max_train = s->train_first[z + 1] - s->train_first[z];
  uint32_t *sample = malloc(SAMPLE * sizeof *sample), *merged = malloc(SAMPLE * sizeof *merged);
  uint32_t *wpos = calloc(ni, sizeof *wpos);          /* last position + 1 in e_0..e_i; 0: absent */
  uint8_t *mark = calloc(ni, 1);                      /* scored in this prediction */
  double *acc = calloc(ni, sizeof *acc), *idf = malloc((size_t)ni * sizeof *idf);
  double *dot = calloc((size_t)s->n_train + 1, sizeof *dot);
  uint32_t *maxp = calloc((size_t)s->n_train + 1, sizeof *maxp); /* last shared position + 1 */
  uint32_t *pst = calloc((size_t)s->n_train + 1, sizeof *pst);   /* p*: last position in z of a shared item */
  uint32_t *pset = malloc(((size_t)s->n_train + 1) * sizeof *pset); /* sessions with maxp set, to reset */
  double *spw = malloc((size_t)max_len * sizeof *spw), *ipw = malloc((size_t)max_len * sizeof *ipw);
  double *inh = malloc((size_t)max_train * sizeof *inh);
  uint32_t *cur = malloc(((size_t)max_len + 1) * sizeof *cur);
  nbr *nb = malloc(SAMPLE * sizeof *nb);
  er_status st = ER_OK;
  if (!sample || !merged || !wpos || !mark || !acc || !idf || !dot || !maxp || !pst || !pset || !spw || !ipw || !inh || !cur || !nb) {
    st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: %s: out of memory", MODEL_NAMES[p->model]);
    goto out;
  }
  for (uint32_t j = 0; j < s->n_items; j++) idf[j] = s->pop[j] ? log((double)s->n_train / (double)s->pop[j]) : 0;
  for (uint32_t d = 0; d < max_len; d++) {
    spw[d] = exp(-(double)d / q->spw);
    ipw[d] = vstan ? exp(-(double)d / q->ipw) : 1;
  }
  for (uint32_t d = 0; d < max_train; d++) inh[d] = exp(-(double)d / q->inh);
  for (uint32_t t = 0; t < s->n_test; t++) {
    uint32_t f = s->test_first[t], ns = 0, nc = 0, npset = 0;
    for (uint32_t k = f; k + 1 < s->test_first[t + 1]; k++) {
      uint32_t x = test_item(p, k), n = k - f + 1;
      if (!wpos[x]) {
        cur[nc++] = x;
        ns = sample_add(p, x, &sample, &merged, ns, SAMPLE);
      }
      wpos[x] = n;
      uint32_t thr = ns == SAMPLE ? sample[ns - 1] : 0;
      /* incremental, as vsknn's similarities: every session holding x now has its last shared position n
       * (for the ipw decay), and x's last position in it may raise its p*; the threshold only rises, so a
       * session at or above it has seen every update */
      for (uint32_t r = p->inv_first[x + 1]; r > p->inv_first[x] && p->inv_ses[r - 1] >= thr; r--) {
        uint32_t z = p->inv_ses[r - 1], dl = p->d_last[p->inv_d[r - 1]];
        if (!maxp[z]) pset[npset++] = z;
        maxp[z] = n;
        pst[z] = dl > pst[z] ? dl : pst[z];
      }
      /* the dot products: every weight changes with n, so they are summed again */
      double cs = 0;
      for (uint32_t c = 0; c < nc; c++) {
        uint32_t j = cur[c];
        double wj = spw[n - wpos[j]];
        cs += wj * wj;
        for (uint32_t r = p->inv_first[j + 1]; r > p->inv_first[j] && p->inv_ses[r - 1] >= thr; r--) dot[p->inv_ses[r - 1]] += wj;
      }
      double norm = sqrt(cs);
      int64_t now = (int64_t)p->L->ev[s->test_event[k]].ts_ms;
      for (uint32_t c = 0; c < ns; c++) {
        uint32_t z = sample[c];
        double len = (double)(p->d_first[z + 1] - p->d_first[z]);
        int64_t end = (int64_t)p->L->ses[s->train_session[z]].end_ms;
        nb[c] = (nbr){dot[z] / (norm * sqrt(len)) * exp(-(double)(now - end) / snh_ms), z, maxp[z]};
      }
      uint32_t kk = top_k(nb, ns, K), nt = 0;
      qsort(nb, kk, sizeof *nb, nbr_cmp);
      for (uint32_t c = 0; c < kk; c++) {
        uint32_t z = nb[c].ses, pstar = pst[z];
        double sim = nb[c].sim, iw = ipw[n - nb[c].aux];
        for (uint32_t d = p->d_first[z]; d < p->d_first[z + 1]; d++) {
          uint32_t j = p->d_item[d], lp = p->d_last[d];
          double term = sim * inh[lp > pstar ? lp - pstar : pstar - lp];
          if (vstan) {
            term = term + term * idf[j] * q->idf;
            term = term * iw;
          }
          if (!mark[j]) { mark[j] = 1; p->touched[nt++] = j; }
          acc[j] += term;
        }
      }
      uint32_t truth = test_item(p, k + 1);
      if (p->lists) {
        uint32_t top[ER_EVAL_TOP];
        observe_list(p, top, top_list(p, nt, acc, top));
      }
      record(p, t, n - 1, truth, rank_real(p, acc, nt, truth, p->n_cat));
      for (uint32_t c = 0; c < nt; c++) { acc[p->touched[c]] = 0; mark[p->touched[c]] = 0; }
      for (uint32_t c = 0; c < ns; c++) dot[sample[c]] = 0;
    }
    for (uint32_t c = 0; c < nc; c++) wpos[cur[c]] = 0;
    for (uint32_t c = 0; c < npset; c++) maxp[pset[c]] = pst[pset[c]] = 0;
  }
out:
  free(sample);
  free(merged);
  free(wpos);
  free(mark);
  free(pset);
  free(acc);
  free(idf);
  free(dot);
  free(maxp);
  free(pst);
  free(spw);
  free(ipw);
  free(inh);
  free(cur);
  free(nb);
  return st;
}

/* ---- edgerec ------------------------------------------------------------------------------------ */


#define EDGEREC_TOKENS 4096u
#ifndef EDGEREC_BATCH
#define EDGEREC_BATCH 65536u   /* predictions per batch: workers fill it, the caller replays it in order */
#endif
#ifndef EDGEREC_MIN_THREADED
#define EDGEREC_MIN_THREADED 1000u /* fewer predictions: one thread (not worth starting more) */
#endif
#define EDGEREC_MAX_THREADS 16u

/* One prediction's outcome, made by a worker and replayed in prediction
 * order by the caller, so the figures never depend on the thread count. */
typedef struct {
  uint32_t rank, ntop;
  uint8_t error, fallback;
  uint32_t top[ER_EVAL_TOP];
} edge_out;

/* A worker: its own engine over the same bundle bytes, test sessions
 * [t_from, t_to), outcomes at out[prediction index - base]. */
typedef struct {
  const peer *p;
  er_engine *engine;
  const uint32_t *prev;
  uint32_t k, t_from, t_to;
  uint64_t base;
  edge_out *out;
  jsmntok_t *tok;
  uint32_t err_line; /* the first error of the range: its input line and reason */
  char err_why[256];
  int has_err;
} edge_job;

/* The predictions of test sessions [t_from, t_to) through er_recommend, exactly
 * as served: context JSON in, response JSON parsed back for the ranked skus. */
static void edgerec_range(edge_job *w) {
  const peer *p = w->p;
  const er_log *L = p->L;
  const er_eval_split *s = p->s;
  er_engine *engine = w->engine;
  const er_bundle *b = &engine->b;
  char ctx[2048], sku[ER_MAX_SKU_BYTES * 4 + 8];
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  for (uint32_t t = w->t_from; t < w->t_to; t++) {
    er_profile pr;
    er_profile_init(&pr);
    uint32_t f = s->test_first[t];
    if (!p->o->session_only && f < s->test_first[t + 1]) er_log_apply_history(L, w->prev, L->ev[s->test_event[f]].session, b, &pr);
    for (uint32_t x = f; x + 1 < s->test_first[t + 1]; x++) {
      edge_out *o = &w->out[(uint64_t)(x - t) - w->base]; /* session t's predictions start at test_first[t] - t */
      memset(o, 0, sizeof *o);
      const er_log_event *e = &L->ev[s->test_event[x]];
      er_profile_delta d;
      er_log_delta(L, e, &d);
      er_engine_enrich_delta(b, &d);
      er_profile_apply(&pr, &d);
      uint32_t plen = er_profile_encode(&pr, prof, sizeof prof);
      uint32_t clen = er_log_context_json(L, e, w->k, ctx, sizeof ctx);
      /* the true item, and its parent when it is a child in the bundle */
      uint32_t truth = test_item(p, x + 1), tl, pl = 0;
      const char *ts = er_log_sku(L, truth, &tl), *ps = NULL;
      uint32_t bi = er_bundle_find_sku(b, L->items.key[truth]);
      if (bi != ER_NONE && er_item_parent(b, bi) != ER_NONE) ps = er_item_sku(b, er_item_parent(b, bi), &pl);
      const char *out;
      uint32_t out_len;
      er_json j;
      er_error je;
      er_error_clear(&je);
      const char *why = NULL;
      if (!plen) why = "the profile does not encode";
      else if (!clen) why = "the context does not fit";
      else if (er_recommend(engine, ctx, clen, prof, plen, &out, &out_len)) why = er_engine_error(engine)->msg;
      else if (er_json_parse(&j, out, out_len, w->tok, EDGEREC_TOKENS, "recommendation", &je)) why = je.msg;
      if (why) {
        if (!w->has_err) {
          w->has_err = 1;
          w->err_line = e->line;
          snprintf(w->err_why, sizeof w->err_why, "%s", why);
        }
        o->error = 1;
        continue;
      }
      o->fallback = er_json_get(&j, 0, "fallback") >= 0;
      int32_t items = er_json_get(&j, 0, "items");
      if (items < 0 || !er_json_is(&j, (uint32_t)items, JSMN_ARRAY)) { o->error = 2; continue; }
      uint32_t n = (uint32_t)j.tok[items].size, at = (uint32_t)items + 1;
      for (uint32_t r = 0; r < n && (!o->rank || (p->lists && r < ER_EVAL_TOP)); r++) {
        int32_t sk = er_json_get(&j, at, "sku");
        int32_t sl = sk >= 0 ? er_json_str(&j, (uint32_t)sk, sku, sizeof sku) : -1;
        if (sl >= 0 && !o->rank && (((uint32_t)sl == tl && !memcmp(sku, ts, tl)) || (ps && (uint32_t)sl == pl && !memcmp(sku, ps, pl))))
          o->rank = r + 1;
        if (r < ER_EVAL_TOP) o->top[o->ntop++] = sl >= 0 ? er_intern_find(&L->items, sku, (uint32_t)sl) : NONE;
        at = er_json_skip(&j, at);
      }
    }
  }
}

static void *edgerec_thread(void *arg) {
  edgerec_range(arg);
  return NULL;
}

/* The thread count for `threads` (0: the CPUs this process may run on, at most 8). */
static uint32_t edgerec_threads(uint32_t threads) {
  if (threads) return threads < EDGEREC_MAX_THREADS ? threads : EDGEREC_MAX_THREADS;
  cpu_set_t set;
  long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 8 ? 8 : (uint32_t)n;
}

static er_status run_edgerec(peer *p, er_engine *engine, er_error *err) {
  const er_log *L = p->L;
  const er_eval_split *s = p->s;
  uint32_t k = p->o->k < ER_EVAL_DEFAULT_K ? ER_EVAL_DEFAULT_K : p->o->k;
  uint32_t nth = edgerec_threads(p->o->threads);
  if (s->predictions < EDGEREC_MIN_THREADED) nth = 1;
  uint64_t done = 0, next_report = 100000;
  double t0 = er_now_seconds();
  er_status st = ER_OK;
  edge_job job[EDGEREC_MAX_THREADS];
  memset(job, 0, sizeof job);
  /* the shopper's earlier sessions (training or test: all before this one), as the edge's profile holds them */
  uint32_t *prev = malloc(((size_t)L->n_ses + 1) * sizeof *prev);
  edge_out *out = malloc(EDGEREC_BATCH * sizeof *out);
  if (!prev || !out) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: edgerec: out of memory"); goto done; }
  if ((st = er_log_user_prev(L, prev, err))) goto done;
  /* one engine per worker over the same bundle bytes (the caller's is the first); a
   * throwaway first request settles the engine's lazily filled process-wide tables */
  for (uint32_t w = 0; w < nth; w++) {
    job[w].engine = w ? er_engine_new(engine->b.data, engine->b.size, err) : engine;
    job[w].tok = malloc(EDGEREC_TOKENS * sizeof *job[w].tok);
    if (!job[w].engine || !job[w].tok) { st = job[w].engine ? er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: edgerec: out of memory") : err->code; goto done; }
    job[w].p = p;
    job[w].prev = prev;
    job[w].k = k;
  }
  if (nth > 1) {
    er_engine *warm = er_engine_new(engine->b.data, engine->b.size, err);
    if (!warm) { st = err->code; goto done; }
    const char *wo;
    uint32_t wn;
    static const char wctx[] = "{\"now\":1700000000,\"k\":20}";
    (void)er_recommend(warm, wctx, sizeof wctx - 1, NULL, 0, &wo, &wn);
    er_engine_free(warm);
  }
  for (uint32_t t0s = 0; t0s < s->n_test;) {
    /* a batch of whole sessions, at most EDGEREC_BATCH predictions (a longer session is a batch alone) */
    uint64_t base = s->test_first[t0s] - t0s;
    uint32_t t1 = t0s + 1;
    while (t1 < s->n_test && (uint64_t)(s->test_first[t1 + 1] - (t1 + 1)) - base <= EDGEREC_BATCH) t1++;
    uint64_t total = (uint64_t)(s->test_first[t1] - t1) - base;
    edge_out *o = out;
    if (total > EDGEREC_BATCH && !(o = malloc(total * sizeof *o))) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "eval: edgerec: out of memory"); goto done; }
    /* split the batch's sessions among the workers by predictions */
    uint32_t t = t0s;
    for (uint32_t w = 0; w < nth; w++) {
      uint64_t want = base + total * (w + 1) / nth;
      job[w].t_from = t;
      while (t < t1 && (w + 1 == nth || (uint64_t)(s->test_first[t + 1] - (t + 1)) <= want)) t++;
      job[w].t_to = t;
      job[w].base = base;
      job[w].out = o;
      job[w].has_err = 0;
    }
    pthread_t th[EDGEREC_MAX_THREADS];
    uint32_t started = 1;
    for (; started < nth; started++)
      if (pthread_create(&th[started], NULL, edgerec_thread, &job[started])) break;
    edgerec_range(&job[0]);
    for (uint32_t w = started; w < nth; w++) edgerec_range(&job[w]); /* a thread could not be had: run it here */
    for (uint32_t w = 1; w < started; w++) pthread_join(th[w], NULL);
    /* replay in prediction order */
    uint32_t ew = 0;
    for (uint32_t u = t0s; u < t1; u++) {
      while (ew + 1 < nth && u >= job[ew].t_to) ew++;
      uint32_t f = s->test_first[u];
      for (uint32_t x = f; x + 1 < s->test_first[u + 1]; x++) {
        const edge_out *r = &o[(uint64_t)(x - u) - base];
        if (r->error == 1) {
          if (!p->r->errors && p->o->progress)
            fprintf(stderr, "eval: edgerec: first error, at input line %u: %s\n", job[ew].err_line, job[ew].err_why);
          p->r->errors++;
        } else {
          p->r->fallbacks += r->fallback;
          if (r->error) p->r->errors++;
          else observe_list(p, r->top, r->ntop);
        }
        record(p, u, x - f, test_item(p, x + 1), cap_rank(r->rank));
        if (p->o->progress && ++done >= next_report) {
          fprintf(stderr, "eval: edgerec: %llu / %llu predictions (%.1f s)\n", (unsigned long long)done,
                  (unsigned long long)s->predictions, er_now_seconds() - t0);
          next_report += 100000;
        }
      }
    }
    if (o != out) free(o);
    t0s = t1;
  }
done:
  for (uint32_t w = 0; w < nth; w++) {
    if (w) er_engine_free(job[w].engine);
    free(job[w].tok);
  }
  free(out);
  free(prev);
  return st;
}

/* ---- running ------------------------------------------------------------------------------------ */

void er_eval_opts_default(er_eval_opts *o) {
  memset(o, 0, sizeof *o);
  o->test_days = ER_EVAL_DEFAULT_TEST_DAYS;
  o->k = ER_EVAL_DEFAULT_K;
  o->models = ER_EVAL_PEERS;
  o->tune = 1;
}

/* One model over a split with the given STAN / VSTAN parameters (NULL for
 * the others); `lists`: also coverage@20, pop_bias@20 and the intervals. */
static er_status model_once(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o, er_engine *engine,
                            const er_eval_knn_params *knn, int lists, er_eval_model_result *r, er_error *err) {
  er_eval_metrics_init(&r->m);
  r->errors = r->fallbacks = 0;
  peer p;
  memset(&p, 0, sizeof p);
  p.L = L;
  p.s = s;
  p.o = o;
  p.model = m;
  p.r = r;
  p.knn = knn;
  er_status st = lists ? lists_init(&p, err) : ER_OK;
  if (st) {
  } else if (m == ER_EVAL_EDGEREC) st = run_edgerec(&p, engine, err);
  else if (!(st = peer_init(&p, m != ER_EVAL_POP && m != ER_EVAL_SPOP, err))) {
    switch (m) {
    case ER_EVAL_POP: st = run_pop(&p, err); break;
    case ER_EVAL_SPOP: st = run_spop(&p, err); break;
    case ER_EVAL_AR: st = run_rules(&p, ar_row, err); break;
    case ER_EVAL_SR: st = run_rules(&p, sr_row, err); break;
    case ER_EVAL_STAN: st = run_stan(&p, 0, err); break;
    case ER_EVAL_VSTAN: st = run_stan(&p, 1, err); break;
    default: st = run_vsknn(&p, err); break;
    }
  }
  if (!st && lists) {
    uint32_t n_cat = 0, cov = 0;
    for (uint32_t i = 0; i < s->n_items; i++) {
      n_cat += s->pop[i] != 0;
      cov += p.covered[i];
    }
    r->coverage = n_cat ? (double)cov / (double)n_cat : 0;
    r->pop_bias = r->m.n ? p.pop_sum / (double)r->m.n : 0;
    st = bootstrap(&p, r, err);
  }
  peer_free(&p);
  return st;
}

/* ---- tuning STAN / VSTAN -------------------------------------------------------------------------- */

#define TUNE_SAMPLE 1000u      /* sample_size while tuning and after          */
#define TUNE_MAX_PREDICTIONS 5000u /* validation: its most recent sessions up to this */
static const double LEN_X[] = {0.125, 0.25, 0.5, 1, 2};   /* λ1, λ3, λ_ipw: times the mean session length */
static const double SNH_DAYS[] = {2.5, 5, 20, 80, 320};   /* λ2 */
static const double IDF_V[] = {1, 2, 5, 10};              /* λ_idf */
static const uint32_t K_V[] = {100, 250, 500};            /* k */
#define NV(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))

/* Keep the most recent test sessions of a split whose predictions add up
 * to at most max (at least one session). */
static void split_keep_last(er_eval_split *v, uint64_t max) {
  if (v->predictions <= max) return;
  uint32_t t0 = v->n_test - 1;
  uint64_t pred = v->test_first[v->n_test] - v->test_first[t0] - 1;
  while (t0 > 0 && pred + (v->test_first[t0] - v->test_first[t0 - 1] - 1) <= max) {
    t0--;
    pred += v->test_first[t0 + 1] - v->test_first[t0] - 1;
  }
  uint32_t base = v->test_first[t0];
  memmove(v->test_event, v->test_event + base, (size_t)(v->test_first[v->n_test] - base) * sizeof *v->test_event);
  for (uint32_t t = t0; t <= v->n_test; t++) {
    if (t < v->n_test) v->test_session[t - t0] = v->test_session[t];
    v->test_first[t - t0] = v->test_first[t] - base;
  }
  v->n_test -= t0;
  v->predictions = pred;
}

typedef struct { er_eval_knn_params q; double mrr, hr; } trial;

/* "k K sample S spw … snh … d inh …[ ipw … idf …]" for progress lines. */
static const char *fmt_params(const er_eval_knn_params *q, int vstan, char *out, size_t cap) {
  int n = snprintf(out, cap, "k %u sample %u spw %.3f snh %.1f d inh %.3f", q->k, q->sample, q->spw, q->snh_days, q->inh);
  if (vstan && n > 0 && (size_t)n < cap) snprintf(out + n, cap - (size_t)n, " ipw %.3f idf %.1f", q->ipw, q->idf);
  return out;
}

static int same_params(const er_eval_knn_params *a, const er_eval_knn_params *b) {
  return a->k == b->k && a->sample == b->sample && a->spw == b->spw && a->snh_days == b->snh_days && a->inh == b->inh &&
         a->ipw == b->ipw && a->idf == b->idf;
}

/* Choose STAN's / VSTAN's parameters on the validation split carved from
 * the training sessions (see er_eval.h): coordinate search over the grid
 * (λ1, λ2, λ3, [λ_ipw, λ_idf,] k, each over its values with the others
 * at their best so far), from the published defaults with sample_size
 * TUNE_SAMPLE.  VSTAN given STAN's choice (`stan`, tuned in the same run)
 * starts from its k and λ1..λ3 and searches λ_ipw, λ_idf and k only.
 * Without a validation split: the defaults, r->tuned 0. */
static er_status tune_knn(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o,
                          const er_eval_knn_params *stan, er_eval_model_result *r, er_eval_knn_params *best, er_error *err) {
  int vstan = m == ER_EVAL_VSTAN, from_stan = vstan && stan;
  const char *name = MODEL_NAMES[m];
  *best = er_eval_knn_defaults(vstan);
  if (from_stan) {
    best->k = stan->k;
    best->spw = stan->spw;
    best->snh_days = stan->snh_days;
    best->inh = stan->inh;
  }
  uint32_t nval = s->n_train / 10;
  er_eval_split v;
  er_error verr;
  if (!nval || split_build_range(L, L->ses[s->train_session[s->n_train - nval]].end_ms, s->from_ms, &v, &verr)) {
    if (o->progress) fprintf(stderr, "eval: %s: no validation split (%s); published defaults\n", name, nval ? verr.msg : "fewer than 10 training sessions");
    return ER_OK;
  }
  split_keep_last(&v, TUNE_MAX_PREDICTIONS);
  best->sample = TUNE_SAMPLE;
  double len = (double)v.train_first[v.n_train] / (double)v.n_train;
  er_eval_opts vo = *o;
  vo.trace = NULL;
  vo.progress = 0;
  if (o->progress)
    fprintf(stderr, "eval: %s: tuning on %u validation sessions (%llu predictions), fitted on %u sessions (mean length %.2f)%s\n",
            name, v.n_test, (unsigned long long)v.predictions, v.n_train, len, from_stan ? ", from stan's k and lambdas" : "");
  trial tried[64], cur = {*best, -1, -1};
  uint32_t ntried = 0;
  er_status st = ER_OK;
  double t0 = er_now_seconds();
  for (int stage = -1; stage < 6 && !st; stage++) {
    if ((!vstan && (stage == 3 || stage == 4)) || (from_stan && stage >= 0 && stage <= 2)) continue;
    uint32_t nv = stage < 0 ? 1 : stage == 1 ? NV(SNH_DAYS) : stage == 4 ? NV(IDF_V) : stage == 5 ? NV(K_V) : NV(LEN_X);
    trial stage_best = cur;
    for (uint32_t x = 0; x < nv && !st; x++) {
      trial c = {cur.q, 0, 0};
      switch (stage) {
      case 0: c.q.spw = LEN_X[x] * len; break;
      case 1: c.q.snh_days = SNH_DAYS[x]; break;
      case 2: c.q.inh = LEN_X[x] * len; break;
      case 3: c.q.ipw = LEN_X[x] * len; break;
      case 4: c.q.idf = IDF_V[x]; break;
      case 5: c.q.k = K_V[x]; break;
      default: break;
      }
      uint32_t f = 0;
      while (f < ntried && !same_params(&tried[f].q, &c.q)) f++;
      if (f < ntried) c = tried[f];
      else {
        er_eval_model_result vr;
        memset(&vr, 0, sizeof vr);
        double t1 = er_now_seconds();
        if ((st = model_once(L, &v, m, &vo, NULL, &c.q, 0, &vr, err))) break;
        c.mrr = er_eval_mrr(&vr.m, 20);
        c.hr = er_eval_hr(&vr.m, 20);
        if (ntried < NV(tried)) tried[ntried++] = c;
        if (o->progress) {
          char f[160];
          fprintf(stderr, "eval: %s: tune %2u: %s: MRR@20 %.4f HR@20 %.4f (%.2f s)\n", name, ntried, fmt_params(&c.q, vstan, f, sizeof f),
                  c.mrr, c.hr, er_now_seconds() - t1);
        }
      }
      if (c.mrr > stage_best.mrr || (c.mrr == stage_best.mrr && c.hr > stage_best.hr)) stage_best = c;
    }
    cur = stage_best;
  }
  if (!st) {
    *best = cur.q;
    r->tuned = 1;
    r->configs = ntried;
    r->valid_mrr = cur.mrr;
    r->valid_hr = cur.hr;
    r->valid_predictions = v.predictions;
    r->tune_seconds = er_now_seconds() - t0;
    if (o->progress) {
      char f[160];
      fprintf(stderr, "eval: %s: chose %s (validation MRR@20 %.4f, HR@20 %.4f; %u configurations, %.1f s)\n", name,
              fmt_params(best, vstan, f, sizeof f), cur.mrr, cur.hr, ntried, r->tune_seconds);
    }
  }
  er_eval_split_free(&v);
  return st;
}

/* er_eval_model_run; stan: STAN's tuned parameters of this run for VSTAN's
 * tuning (NULL: none). */
static er_status model_run(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o, er_engine *engine,
                           const er_eval_knn_params *stan, er_eval_model_result *r, er_error *err) {
  memset(r, 0, sizeof *r);
  er_eval_metrics_init(&r->m);
  if ((unsigned)m >= ER_EVAL_N_MODELS) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: unknown model %d", (int)m);
  if (m == ER_EVAL_EDGEREC && !engine) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: edgerec needs an engine (a bundle)");
  if (!o->k || o->k > ER_MAX_K) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "eval: k must be 1..%u, got %u", ER_MAX_K, o->k);
  double t0 = er_now_seconds();
  er_status st = ER_OK;
  const er_eval_knn_params *knn = NULL;
  if (m == ER_EVAL_STAN || m == ER_EVAL_VSTAN) {
    const er_eval_knn_params *fixed = m == ER_EVAL_STAN ? o->stan : o->vstan;
    r->params = er_eval_knn_defaults(m == ER_EVAL_VSTAN);
    if (fixed) r->params = *fixed;
    else if (o->tune) st = tune_knn(L, s, m, o, stan, r, &r->params, err);
    knn = &r->params;
  }
  if (!st) st = model_once(L, s, m, o, engine, knn, 1, r, err);
  r->seconds = er_now_seconds() - t0;
  if (st) return st;
  r->ran = 1;
  if (o->progress)
    fprintf(stderr, "eval: %-7s %llu predictions, HR@20 %.4f, MRR@20 %.4f, %.3f s%s\n", MODEL_NAMES[m],
            (unsigned long long)r->m.n, er_eval_hr(&r->m, 20), er_eval_mrr(&r->m, 20), r->seconds,
            m == ER_EVAL_EDGEREC && (r->errors || r->fallbacks) ? " (see errors / fallbacks)" : "");
  return ER_OK;
}

er_status er_eval_model_run(const er_log *L, const er_eval_split *s, er_eval_model m, const er_eval_opts *o,
                            er_engine *engine, er_eval_model_result *r, er_error *err) {
  return model_run(L, s, m, o, engine, NULL, r, err);
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
    if (o->models & ER_EVAL_BIT(m)) {
      const er_eval_model_result *sr = &r->model[ER_EVAL_STAN];
      st = model_run(L, &s, (er_eval_model)m, o, engine_or_NULL, sr->ran && sr->tuned ? &sr->params : NULL, &r->model[m], err);
    }
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
    wr(&w, ",\"coverage@20\":%.4f,\"pop_bias@20\":%.4f,\"hr@20_ci\":[%.4f,%.4f],\"mrr@20_ci\":[%.4f,%.4f]", x->coverage,
       x->pop_bias, x->hr_ci[0], x->hr_ci[1], x->mrr_ci[0], x->mrr_ci[1]);
    if (m == ER_EVAL_STAN || m == ER_EVAL_VSTAN) {
      const er_eval_knn_params *q = &x->params;
      wr(&w, ",\"params\":{\"k\":%u,\"sample\":%u,\"lambda_spw\":%.4g,\"lambda_snh_days\":%.4g,\"lambda_inh\":%.4g", q->k,
         q->sample, q->spw, q->snh_days, q->inh);
      if (m == ER_EVAL_VSTAN) wr(&w, ",\"lambda_ipw\":%.4g,\"lambda_idf\":%.4g", q->ipw, q->idf);
      wr(&w, ",\"tuned\":%s,\"configs\":%u", x->tuned ? "true" : "false", x->configs);
      if (x->tuned)
        wr(&w, ",\"validation\":{\"predictions\":%llu,\"hr@20\":%.4f,\"mrr@20\":%.4f,\"seconds\":%.3f}",
           (unsigned long long)x->valid_predictions, x->valid_hr, x->valid_mrr, x->tune_seconds);
      wr(&w, "}");
    }
    wr(&w, ",\"seconds\":%.3f}", x->seconds);
  }
  wr(&w, "}}");
  return w.over ? 0 : w.n;
}

/* The stderr table: every model's figures, `*` after the best of each
 * column (highest; lowest for pop bias and seconds). */
static void print_table(const er_eval_result *r) {
  enum { C_HR10, C_HR20, C_MRR, C_NDCG, C_COV, C_POP, C_SEC, NC };
  double v[ER_EVAL_N_MODELS][NC], best[NC];
  int lower[NC] = {0, 0, 0, 0, 0, 1, 1}, any = 0;
  for (int c = 0; c < NC; c++) best[c] = lower[c] ? INFINITY : -INFINITY;
  for (int m = 0; m < ER_EVAL_N_MODELS; m++) {
    const er_eval_model_result *x = &r->model[m];
    if (!x->ran) continue;
    any++;
    double row[NC] = {er_eval_hr(&x->m, 10), er_eval_hr(&x->m, 20), er_eval_mrr(&x->m, 20), er_eval_ndcg(&x->m, 10),
                      x->coverage, x->pop_bias, x->seconds};
    for (int c = 0; c < NC; c++) {
      v[m][c] = row[c];
      if (lower[c] ? row[c] < best[c] : row[c] > best[c]) best[c] = row[c];
    }
  }
  if (!any) return;
  fprintf(stderr, "eval: %-8s %-8s %-25s %-25s %-8s %-8s %-8s %s\n", "model", "HR@10", "HR@20 [95% CI]", "MRR@20 [95% CI]",
          "NDCG@10", "cov@20", "pop@20", "seconds");
  for (int m = 0; m < ER_EVAL_N_MODELS; m++) {
    const er_eval_model_result *x = &r->model[m];
    if (!x->ran) continue;
    char f[NC][48];
    for (int c = 0; c < NC; c++) {
      const char *star = any > 1 && v[m][c] == best[c] ? "*" : "";
      if (c == C_HR20 || c == C_MRR) {
        const double *ci = c == C_HR20 ? x->hr_ci : x->mrr_ci;
        snprintf(f[c], sizeof f[c], "%.4f%s [%.4f,%.4f]", v[m][c], star, ci[0], ci[1]);
      } else snprintf(f[c], sizeof f[c], c == C_SEC ? "%.2f%s" : "%.4f%s", v[m][c], star);
    }
    fprintf(stderr, "eval: %-8s %-8s %-25s %-25s %-8s %-8s %-8s %s\n", MODEL_NAMES[m], f[C_HR10], f[C_HR20], f[C_MRR],
            f[C_NDCG], f[C_COV], f[C_POP], f[C_SEC]);
  }
}

/* ---- the command --------------------------------------------------------------------------------- */

static const char *EVAL_USAGE =
    "usage: edgerec eval --events F|- [--bundle B.erb] [--from UNIX_SECONDS | --test-days N] [--k N]\n"
    "                    [--baseline pop,spop,ar,sr,vsknn,stan,vstan | all | none] [--tune-peers grid|none]\n"
    "                    [--history shopper|session] [--threads N]\n"
    "  next-item evaluation of edgerec (with --bundle) and the baselines on an event log (NDJSON);\n"
    "  split: --from, else --test-days (default 30) before the last event; k: list length (default 20, 1..200);\n"
    "  baselines: default all; --baseline none with --bundle evaluates edgerec only;\n"
    "  --tune-peers: stan/vstan parameters chosen on a validation split of the training sessions (grid,\n"
    "  the default) or the published defaults (none).  A table of every model on stderr (* = best).\n"
    "  --history: edgerec's profile starts with the shopper's earlier sessions, as served (shopper, the\n"
    "  default), or holds the session's events only (session).\n"
    "  --threads: edgerec's predictions on N threads, each with its own engine (default: the CPUs this\n"
    "  process may use, at most 8; 1..16); the figures do not depend on it.\n"
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
  const char *bundle = NULL, *events = NULL, *from = NULL, *days = NULL, *kopt = NULL, *baseline = NULL, *tune = NULL, *history = NULL, *threads = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (!strcmp(a, "--bundle")) slot = &bundle;
    else if (!strcmp(a, "--events")) slot = &events;
    else if (!strcmp(a, "--from")) slot = &from;
    else if (!strcmp(a, "--test-days")) slot = &days;
    else if (!strcmp(a, "--k")) slot = &kopt;
    else if (!strcmp(a, "--baseline")) slot = &baseline;
    else if (!strcmp(a, "--tune-peers")) slot = &tune;
    else if (!strcmp(a, "--history")) slot = &history;
    else if (!strcmp(a, "--threads")) slot = &threads;
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
  if (tune) {
    if (!strcmp(tune, "none")) o.tune = 0;
    else if (strcmp(tune, "grid")) return eval_usage("--tune-peers must be grid or none, got '%s'", tune);
  }
  if (history) {
    if (!strcmp(history, "session")) o.session_only = 1;
    else if (strcmp(history, "shopper")) return eval_usage("--history must be shopper or session, got '%s'", history);
  }
  if (threads) {
    if (parse_u64(threads, 1, EDGEREC_MAX_THREADS, &v)) return eval_usage("--threads must be an integer 1..16, got '%s'", threads);
    o.threads = (uint32_t)v;
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
    char json[16384];
    print_table(r);
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
