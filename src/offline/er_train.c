/* er_train.c — event log → tables → ranker → int8 bundle (see er_train.h and
 * docs/training.md). */
#define _POSIX_C_SOURCE 200809L
#include "er_train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgerec.h"
#include "er_engine.h"
#include "er_event.h"
#include "er_features.h"
#include "er_gbdt.h"
#include "er_native.h"

#define NONE 0xFFFFFFFFu
#define MAX_NBR ER_PACK_MAX_NEIGHBOURS
#define WINDOW 10u              /* positions either side that co-occur       */
#define BACKWARD_WEIGHT 0.25    /* b before a counts this much for a → b      */
#define POP_HALF_LIFE_DAYS 14.0 /* popularity decay                           */
#define TRENDING_DAYS 7.0       /* the recent window of "trending"            */
#define TRENDING_PRIOR 2.0      /* pseudo-count against small-number noise   */
#define VALID_FRACTION 0.1      /* last pair sessions held out for AUC        */
#define AGREEMENT_REQUESTS 200u /* validation requests scored in full          */
#define MAX_VALID_REQUESTS 50000u /* default max_valid: validation requests kept (~3 KB each) */
#define MIN_REQUESTS 50u        /* fewer training requests: a prior ranker    */
/* Against gaming (docs/anti-gaming.md): in the popularity, trending and
 * neighbour tables a shopper (the event's user, else its session) counts at
 * most once per item per UTC day in each table, a pair (a, b) at most once
 * per shopper per day, and an event the edge marked `trust: "new"` (an id
 * minutes old) counts NEW_ID_WEIGHT of an established shopper's.  Events
 * with a `flag` teach nothing. */
#define NEW_ID_WEIGHT 0.25
#define DAY_MS 86400000ull


void er_train_defaults(er_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->model = ER_TRAIN_TREES; /* better on the README's table, see docs/training.md */
  o->bits = 18;
  o->seed = 1;
  o->negatives = 10;
  o->epochs = 3;
  o->trees = 32;
  o->depth = 5;
  o->table_fraction = 0.75;
  o->max_valid = MAX_VALID_REQUESTS;
}

static int is_item_event(uint8_t t) {
  return t == ER_EV_VIEW || t == ER_EV_CLICK || t == ER_EV_CART || t == ER_EV_PURCHASE || t == ER_EV_WISHLIST ||
         t == ER_EV_UNIT_CLICK || t == ER_EV_UNIT_CART_CLICK;
}
/* A list the shopper was shown and could act on: a listing impression, or a
 * recommendation unit at least half visible (recs-unit-view).  A unit's
 * render (recs-unit-impression-render) is not: it may never have been on
 * screen, so its items are no evidence of being ignored. */
static int is_shown_list(uint8_t t) { return t == ER_EV_IMPRESSION || t == ER_EV_UNIT_VIEW; }
static int is_bought(uint8_t t) { return t == ER_EV_CART || t == ER_EV_PURCHASE; }

/* ======================================================================== */
/* the item universe: catalog items, then log items the catalog lacks        */
/* ======================================================================== */

typedef struct {
  const er_log *L;
  const er_train_opts *o;
  uint32_t n_train;               /* training sessions: [0, n_train)           */
  er_pack_catalog *cat;
  const er_pack_item *citems;
  uint32_t n_citems;
  er_pack_nbrs cnbr[ER_NBR_KINDS];
  uint32_t n_items;
  er_pack_item *items;            /* universe (popularity filled per window)   */
  uint32_t *log2idx;              /* log item id → universe index or NONE       */
  uint32_t *fold;                 /* universe index → parent for invisible children */
  char *skubuf;                   /* NUL-terminated skus of log-only items      */
  const char **catptr;            /* one category per log-only item             */
  char *catbuf;
  /* the item-event sequence of training sessions (flagged events left out),
   * folded universe indices */
  uint32_t *seq_item;             /* [n_seq]                                   */
  uint8_t *seq_bought;
  uint32_t *seq_ev;               /* [n_seq] the event (index into L->ev)       */
  uint32_t *seq_sd;               /* [n_seq] its shopper-day (dense id)          */
  uint32_t *seq_first;            /* [n_train + 1]                              */
  uint32_t n_seq, n_sd;
  uint64_t flagged, trust_new;    /* events of the training sessions            */
  uint32_t *prev;                 /* [n_ses] er_log_user_prev: the shopper's earlier session */
} trainer;

static void trainer_free(trainer *T) {
  er_pack_catalog_free(T->cat);
  free(T->items);
  free(T->log2idx);
  free(T->fold);
  free(T->skubuf);
  free(T->catptr);
  free(T->catbuf);
  free(T->seq_item);
  free(T->seq_bought);
  free(T->seq_ev);
  free(T->seq_sd);
  free(T->seq_first);
  free(T->prev);
}

/* Dense ids of the (shopper, UTC day) pairs of the sequence positions: the
 * shopper is the event's user when it has one, else its session.  Exact
 * keys (no hash collisions), memory in the number of shopper-days. */
static er_status shopper_days(trainer *T, er_error *err) {
  const er_log *L = T->L;
  uint64_t *keys = NULL;
  uint32_t *slot = NULL, mask = 0, cap = 0;
  er_status st = ER_OK;
  T->n_sd = 0;
  T->seq_sd = malloc(((size_t)T->n_seq + 1) * sizeof *T->seq_sd);
  if (!T->seq_sd) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
  for (uint32_t q = 0; q < T->n_seq; q++) {
    const er_log_event *e = &L->ev[T->seq_ev[q]];
    /* user ids and session indices are below 2^30: bit 31 tells them apart */
    uint64_t who = e->user ? e->user - 1 : (uint64_t)e->session | 0x80000000u;
    uint64_t key = who << 32 | (e->ts_ms / DAY_MS);
    if ((uint64_t)T->n_sd * 2 >= (uint64_t)mask + (mask ? 1 : 0)) { /* grow: load at most 1/2 */
      uint32_t slots = mask ? (mask + 1) * 2 : 1024;
      uint32_t *ns = calloc(slots, sizeof *ns);
      if (!ns) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
      for (uint32_t id = 0; id < T->n_sd; id++) {
        uint32_t h = (uint32_t)er_key((const char *)&keys[id], sizeof keys[id]) & (slots - 1);
        while (ns[h]) h = (h + 1) & (slots - 1);
        ns[h] = id + 1;
      }
      free(slot);
      slot = ns;
      mask = slots - 1;
    }
    uint32_t h = (uint32_t)er_key((const char *)&key, sizeof key) & mask;
    while (slot[h] && keys[slot[h] - 1] != key) h = (h + 1) & mask;
    if (!slot[h]) {
      if (T->n_sd == cap) {
        uint32_t c = cap ? cap * 2 : 1024;
        uint64_t *nk = realloc(keys, (size_t)c * sizeof *nk);
        if (!nk) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
        keys = nk;
        cap = c;
      }
      keys[T->n_sd] = key;
      slot[h] = ++T->n_sd;
    }
    T->seq_sd[q] = slot[h] - 1;
  }
out:
  free(keys);
  free(slot);
  return st;
}

static er_status build_universe(trainer *T, const char *catalog_json, uint32_t catalog_len, er_error *err) {
  const er_log *L = T->L;
  er_status st;
  if (catalog_json) {
    if ((st = er_pack_catalog_parse(catalog_json, catalog_len, &T->cat, &T->citems, &T->n_citems, T->cnbr, err)))
      return st;
  }
  /* which log items occur in training sessions, and their last price/category */
  uint32_t ni = L->items.n;
  uint8_t *seen = calloc(ni ? ni : 1, 1);
  uint32_t *price = calloc(ni ? ni : 1, sizeof *price), *lcat = calloc(ni ? ni : 1, sizeof *lcat);
  T->log2idx = malloc((ni ? ni : 1) * sizeof *T->log2idx);
  if (!seen || !price || !lcat || !T->log2idx) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
  uint32_t end_ev = T->n_train ? L->ses[T->n_train - 1].first + L->ses[T->n_train - 1].n : 0;
  for (uint32_t x = 0; x < end_ev; x++) {
    const er_log_event *e = &L->ev[x];
    T->flagged += e->flagged;
    T->trust_new += e->trust_new;
    if (!is_item_event(e->type) || e->flagged) continue; /* a bot's sku does not enter the universe */
    seen[e->item] = 1;
    if (e->price_cents) price[e->item] = e->price_cents;
    if (e->cat) lcat[e->item] = e->cat;
  }
  for (uint32_t i = 0; i < ni; i++) T->log2idx[i] = NONE;
  uint32_t n = T->n_citems, extra = 0;
  size_t skubytes = 0, catbytes = 0;
  for (uint32_t c = 0; c < T->n_citems; c++) {
    uint32_t id = er_intern_find(&L->items, T->citems[c].sku, (uint32_t)strlen(T->citems[c].sku));
    if (id != NONE) T->log2idx[id] = c;
  }
  for (uint32_t i = 0; i < ni; i++)
    if (seen[i] && T->log2idx[i] == NONE) {
      extra++;
      skubytes += L->items.len[i] + 1;
      if (lcat[i]) catbytes += L->cats.len[lcat[i] - 1] + 1;
    }
  if ((uint64_t)n + extra > ER_PACK_MAX_ITEMS) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "train: more than 2^24 items"); goto out; }
  T->n_items = n + extra;
  T->items = calloc(T->n_items ? T->n_items : 1, sizeof *T->items);
  T->fold = malloc((T->n_items ? T->n_items : 1) * sizeof *T->fold);
  T->skubuf = malloc(skubytes + 1);
  T->catbuf = malloc(catbytes + 1);
  T->catptr = calloc(extra ? extra : 1, sizeof *T->catptr);
  if (!T->items || !T->fold || !T->skubuf || !T->catbuf || !T->catptr) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
  for (uint32_t c = 0; c < T->n_citems; c++) {
    T->items[c] = T->citems[c];
    T->items[c].view = T->items[c].cart = T->items[c].purchase = 0; /* recomputed from the events */
    T->items[c].trending = 0;
  }
  char *sp = T->skubuf, *cp = T->catbuf;
  for (uint32_t i = 0; i < ni; i++) {
    if (!seen[i] || T->log2idx[i] != NONE) continue;
    uint32_t u = n++;
    T->log2idx[i] = u;
    er_pack_item *it = &T->items[u];
    memcpy(sp, L->items.pool + L->items.off[i], L->items.len[i]);
    sp[L->items.len[i]] = 0;
    it->sku = sp;
    sp += L->items.len[i] + 1;
    if (lcat[i]) {
      uint32_t cl = L->cats.len[lcat[i] - 1];
      memcpy(cp, L->cats.pool + L->cats.off[lcat[i] - 1], cl);
      cp[cl] = 0;
      T->catptr[u - T->n_citems] = cp;
      cp += cl + 1;
      it->categories = &T->catptr[u - T->n_citems];
      it->n_categories = 1;
    }
    it->price_cents = price[i];
    it->in_stock = it->visible = 1;
  }
  /* folding: an invisible child counts for its parent (as the engine folds it) */
  uint32_t *cidx = NULL;
  for (uint32_t u = 0; u < T->n_items; u++) T->fold[u] = u;
  if (T->n_citems) {
    for (uint32_t c = 0; c < T->n_citems; c++) {
      const er_pack_item *it = &T->citems[c];
      if (it->visible || !it->parent_sku || !it->parent_sku[0]) continue;
      uint32_t id = er_intern_find(&L->items, it->parent_sku, (uint32_t)strlen(it->parent_sku));
      /* the parent is a catalog item: find its index by sku */
      (void)id;
      if (!cidx) { /* lazily: a sku → catalog index map through the log interner is not enough; linear scan map */
        cidx = malloc(sizeof *cidx * T->n_citems);
        if (!cidx) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
      }
    }
    if (cidx) {
      er_intern tmp;
      memset(&tmp, 0, sizeof tmp);
      for (uint32_t c = 0; c < T->n_citems; c++) er_intern_add(&tmp, T->citems[c].sku, (uint32_t)strlen(T->citems[c].sku));
      for (uint32_t c = 0; c < T->n_citems; c++) {
        const er_pack_item *it = &T->citems[c];
        if (it->visible || !it->parent_sku || !it->parent_sku[0]) continue;
        uint32_t p = er_intern_find(&tmp, it->parent_sku, (uint32_t)strlen(it->parent_sku));
        if (p != NONE) T->fold[c] = p;
      }
      free(tmp.pool); free(tmp.off); free(tmp.len); free(tmp.key); free(tmp.slot);
      free(cidx);
    }
  }
  /* the item-event sequences of the training sessions */
  T->seq_first = malloc(((size_t)T->n_train + 1) * sizeof *T->seq_first);
  T->seq_item = malloc(((size_t)end_ev + 1) * sizeof *T->seq_item);
  T->seq_bought = malloc((size_t)end_ev + 1);
  T->seq_ev = malloc(((size_t)end_ev + 1) * sizeof *T->seq_ev);
  if (!T->seq_first || !T->seq_item || !T->seq_bought || !T->seq_ev) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
  T->n_seq = 0;
  for (uint32_t s = 0; s < T->n_train; s++) {
    T->seq_first[s] = T->n_seq;
    const er_log_session *S = &L->ses[s];
    for (uint32_t x = S->first; x < S->first + S->n; x++) {
      const er_log_event *e = &L->ev[x];
      if (!is_item_event(e->type) || e->flagged || T->log2idx[e->item] == NONE) continue;
      T->seq_item[T->n_seq] = T->fold[T->log2idx[e->item]];
      T->seq_bought[T->n_seq] = (uint8_t)is_bought(e->type);
      T->seq_ev[T->n_seq] = x;
      T->n_seq++;
    }
  }
  T->seq_first[T->n_train] = T->n_seq;
  st = shopper_days(T, err);
out:
  free(seen);
  free(price);
  free(lcat);
  return st;
}

/* ======================================================================== */
/* tables of a window of sessions [0, ses_end)                               */
/* ======================================================================== */

typedef struct { uint32_t to; float w; } nb;
static int cmp_nb(const void *a, const void *b) {
  const nb *x = a, *y = b;
  if (x->w != y->w) return x->w > y->w ? -1 : 1;
  return x->to < y->to ? -1 : x->to > y->to;
}

typedef struct {
  er_pack_edge *edges[ER_NBR_KINDS];
  uint32_t n_edges[ER_NBR_KINDS];
} tables;

static void tables_free(tables *t) {
  for (int r = 0; r < ER_NBR_KINDS; r++) free(t->edges[r]);
  memset(t, 0, sizeof *t);
}

/* Popularity (decayed counts per type), trending, and the behavioural
 * neighbour relations of sessions [0, ses_end).  Every table counts a
 * shopper-day once per item (its best event), an event of a new id
 * NEW_ID_WEIGHT, and a pair (a, b) once per shopper-day of a (its best
 * occurrence); flagged events are not in the sequences at all. */
/* Repeat-purchase rate of each item over sessions [0, ses_end): of the users
 * who bought it, the share who bought it on two or more UTC days, R / (P + 1)
 * (so one buyer's repeat counts a half).  Purchases without a user cannot
 * repeat.  Into it->repeat of the universe. */
typedef struct { uint32_t item, user, day; } buy;
static int cmp_buy(const void *a, const void *b) {
  const buy *x = a, *y = b;
  if (x->item != y->item) return x->item < y->item ? -1 : 1;
  if (x->user != y->user) return x->user < y->user ? -1 : 1;
  return x->day < y->day ? -1 : x->day > y->day;
}
static er_status repeat_rates(trainer *T, uint32_t ses_end, er_error *err) {
  const er_log *L = T->L;
  uint32_t q_end = T->seq_first[ses_end], n = 0;
  for (uint32_t u = 0; u < T->n_items; u++) T->items[u].repeat = 0;
  for (uint32_t q = 0; q < q_end; q++) {
    const er_log_event *e = &L->ev[T->seq_ev[q]];
    n += e->type == ER_EV_PURCHASE && e->user;
  }
  if (!n) return ER_OK;
  buy *v = malloc((size_t)n * sizeof *v);
  if (!v) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
  n = 0;
  for (uint32_t q = 0; q < q_end; q++) {
    const er_log_event *e = &L->ev[T->seq_ev[q]];
    if (e->type == ER_EV_PURCHASE && e->user) v[n++] = (buy){T->seq_item[q], e->user, (uint32_t)(e->ts_ms / 86400000u)};
  }
  qsort(v, n, sizeof *v, cmp_buy);
  /* distinct days per (item, user) */
  for (uint32_t k = 0; k < n;) {
    uint32_t item = v[k].item, buyers = 0, again = 0;
    while (k < n && v[k].item == item) {
      uint32_t user = v[k].user, distinct = 0;
      for (uint32_t prev_day = 0xFFFFFFFFu; k < n && v[k].item == item && v[k].user == user; k++) {
        if (v[k].day != prev_day) distinct++;
        prev_day = v[k].day;
      }
      buyers++;
      again += distinct >= 2;
    }
    T->items[item].repeat = (double)again / (buyers + 1.0);
  }
  free(v);
  return ER_OK;
}

static er_status build_tables(trainer *T, uint32_t ses_end, tables *tb, er_error *err) {
  const er_log *L = T->L;
  uint32_t N = T->n_items;
  memset(tb, 0, sizeof *tb);
  double *pv = calloc(N ? N : 1, sizeof *pv), *pc = calloc(N ? N : 1, sizeof *pc), *pp = calloc(N ? N : 1, sizeof *pp);
  double *recent = calloc(N ? N : 1, sizeof *recent), *total = calloc(N ? N : 1, sizeof *total);
  er_status st = ER_OK;
  uint32_t *occ_first = NULL, *occ = NULL, *ses_of = NULL, *by_sd = NULL, *sd_first = NULL, *gtouched = NULL;
  float *acc = NULL, *gmax = NULL;
  uint32_t *touched = NULL;
  nb *tmp = NULL;
  uint32_t cap_e[ER_NBR_KINDS] = {0};
  if (!pv || !pc || !pp || !recent || !total) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
  if ((st = repeat_rates(T, ses_end, err))) goto out;
  if (!ses_end) goto out;
  uint64_t t_end = L->ses[ses_end - 1].end_ms, t_start = L->ses[0].start_ms;
  for (uint32_t s = 0; s < ses_end; s++) {
    const er_log_session *S = &L->ses[s];
    if (S->start_ms < t_start) t_start = S->start_ms;
  }
  double span_days = (double)(t_end - t_start) / 86400000.0;
  if (span_days < TRENDING_DAYS) span_days = TRENDING_DAYS;
  uint32_t q_end = T->seq_first[ses_end];
  occ_first = calloc((size_t)N + 1, sizeof *occ_first);
  occ = malloc(((size_t)q_end + 1) * sizeof *occ);
  acc = calloc((size_t)N * 3, sizeof *acc);
  gmax = calloc((size_t)N * 3, sizeof *gmax);
  touched = malloc((size_t)N * sizeof *touched);
  gtouched = malloc((size_t)N * sizeof *gtouched);
  tmp = malloc((size_t)N * sizeof *tmp);
  ses_of = malloc(((size_t)q_end + 1) * sizeof *ses_of);
  by_sd = malloc(((size_t)q_end + 1) * sizeof *by_sd);
  sd_first = calloc((size_t)T->n_sd + 1, sizeof *sd_first);
  if (!occ_first || !occ || !acc || !gmax || !touched || !gtouched || !tmp || !ses_of || !by_sd || !sd_first) {
    st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
    goto out;
  }
  for (uint32_t s = 0; s < ses_end; s++)
    for (uint32_t q = T->seq_first[s]; q < T->seq_first[s + 1]; q++) ses_of[q] = s;
  /* positions in (shopper-day, position) order, then each item's occurrences in that order (two
   * stable counting sorts), so one shopper-day's occurrences of an item are adjacent */
  for (uint32_t q = 0; q < q_end; q++) sd_first[T->seq_sd[q] + 1]++;
  for (uint32_t d = 0; d < T->n_sd; d++) sd_first[d + 1] += sd_first[d];
  for (uint32_t q = 0; q < q_end; q++) by_sd[sd_first[T->seq_sd[q]]++] = q;
  for (uint32_t q = 0; q < q_end; q++) occ_first[T->seq_item[q] + 1]++;
  for (uint32_t u = 0; u < N; u++) occ_first[u + 1] += occ_first[u];
  {
    uint32_t *fill = malloc(((size_t)N + 1) * sizeof *fill);
    if (!fill) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
    memcpy(fill, occ_first, ((size_t)N + 1) * sizeof *fill);
    for (uint32_t k = 0; k < q_end; k++) occ[fill[T->seq_item[by_sd[k]]]++] = by_sd[k];
    free(fill);
  }
  for (uint32_t a = 0; a < N; a++) {
    if (occ_first[a] == occ_first[a + 1]) continue;
    uint32_t nt = 0;
    double nocc[2] = {0, 0};
    for (uint32_t k = occ_first[a], kend; k < occ_first[a + 1]; k = kend) {
      /* one shopper on one day: every table takes the best of its events once */
      uint32_t sd = T->seq_sd[occ[k]], ng = 0;
      double v = 0, c = 0, p = 0, tot = 0, rec = 0, n_anchor[2] = {0, 0};
      for (kend = k; kend < occ_first[a + 1] && T->seq_sd[occ[kend]] == sd; kend++) {
        uint32_t g = occ[kend], s = ses_of[g];
        const er_log_event *e = &L->ev[T->seq_ev[g]];
        double tw = e->trust_new ? NEW_ID_WEIGHT : 1.0;
        double age_days = e->ts_ms >= t_end ? 0 : (double)(t_end - e->ts_ms) / 86400000.0;
        double w = tw * pow(0.5, age_days / POP_HALF_LIFE_DAYS);
        if (w > v) v = w; /* every interaction implies a view */
        if (is_bought(e->type) && w > c) c = w;
        if (e->type == ER_EV_PURCHASE && w > p) p = w;
        if (tw > tot) tot = tw;
        if (age_days < TRENDING_DAYS && tw > rec) rec = tw;
        int ab = T->seq_bought[g];
        if (tw > n_anchor[ab]) n_anchor[ab] = tw;
        uint32_t lo = T->seq_first[s], hi = T->seq_first[s + 1];
        uint32_t from = g > lo + WINDOW ? g - WINDOW : lo, to = g + WINDOW + 1 < hi ? g + WINDOW + 1 : hi;
        for (uint32_t q = from; q < to; q++) {
          uint32_t b = T->seq_item[q];
          if (q == g || b == a) continue;
          int bb = T->seq_bought[q];
          int rel = !ab && !bb ? ER_NBR_VV : !ab && bb ? ER_NBR_VB : ab && bb ? ER_NBR_BB : -1;
          if (rel < 0) continue;
          float pw = L->ev[T->seq_ev[q]].trust_new ? (float)NEW_ID_WEIGHT : (float)tw; /* the less trusted of the two */
          if ((float)tw < pw) pw = (float)tw;
          float gw = pw * (q > g ? 1.0f : (float)BACKWARD_WEIGHT) / (float)(q > g ? q - g : g - q);
          float *slot = &gmax[(size_t)b * 3 + (size_t)rel];
          if (gmax[(size_t)b * 3] == 0 && gmax[(size_t)b * 3 + 1] == 0 && gmax[(size_t)b * 3 + 2] == 0) gtouched[ng++] = b;
          if (gw > *slot) *slot = gw;
        }
      }
      pv[a] += v;
      pc[a] += c;
      pp[a] += p;
      total[a] += tot;
      recent[a] += rec;
      nocc[0] += n_anchor[0];
      nocc[1] += n_anchor[1];
      for (uint32_t x = 0; x < ng; x++) { /* the shopper-day's best pair weights join the anchor's sums */
        float *gm = &gmax[(size_t)gtouched[x] * 3], *ac = &acc[(size_t)gtouched[x] * 3];
        if (ac[0] == 0 && ac[1] == 0 && ac[2] == 0) touched[nt++] = gtouched[x];
        for (int rel = 0; rel < 3; rel++) ac[rel] += gm[rel];
        memset(gm, 0, 3 * sizeof *gm);
      }
    }
    for (int rel = 0; rel < 3; rel++) {
      uint32_t m = 0;
      double denom = (rel == ER_NBR_BB ? nocc[1] : nocc[0]) + 1.0;
      for (uint32_t k = 0; k < nt; k++) {
        float v = acc[(size_t)touched[k] * 3 + (size_t)rel];
        if (v > 0) {
          double w = v / denom;
          tmp[m++] = (nb){touched[k], (float)(w > 1 ? 1 : w)};
        }
      }
      qsort(tmp, m, sizeof *tmp, cmp_nb);
      if (m > MAX_NBR) m = MAX_NBR;
      if (tb->n_edges[rel] + m > cap_e[rel]) {
        uint32_t c = cap_e[rel] ? cap_e[rel] * 2 : 65536;
        while (c < tb->n_edges[rel] + m) c *= 2;
        er_pack_edge *ne = realloc(tb->edges[rel], (size_t)c * sizeof *ne);
        if (!ne) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto out; }
        tb->edges[rel] = ne;
        cap_e[rel] = c;
      }
      for (uint32_t k = 0; k < m; k++) tb->edges[rel][tb->n_edges[rel]++] = (er_pack_edge){a, tmp[k].to, tmp[k].w};
    }
    for (uint32_t k = 0; k < nt; k++) memset(&acc[(size_t)touched[k] * 3], 0, 3 * sizeof *acc);
  }
  for (uint32_t u = 0; u < N; u++) {
    er_pack_item *it = &T->items[u];
    it->view = (uint64_t)llround(pv[u] * 100);
    it->cart = (uint64_t)llround(pc[u] * 100);
    it->purchase = (uint64_t)llround(pp[u] * 100);
    double expected = total[u] * TRENDING_DAYS / span_days;
    it->trending = recent[u] > 0 ? recent[u] / (expected + TRENDING_PRIOR) : 0;
  }
out:
  free(pv); free(pc); free(pp); free(recent); free(total);
  free(occ_first); free(occ); free(acc); free(gmax); free(touched); free(gtouched); free(tmp);
  free(ses_of); free(by_sd); free(sd_first);
  if (st) tables_free(tb);
  return st;
}

/* Pack the universe with the current popularity, the tables and a model. */
static er_status pack_bundle(trainer *T, const tables *tb, const er_pack_model *m, const char *version,
                             const char *source, uint8_t **out, uint32_t *out_len, er_pack_quant *q, er_error *err) {
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = version;
  in.source = source;
  in.items = T->items;
  in.n_items = T->n_items;
  for (int r = 0; r < 3; r++) in.nbr[r] = (er_pack_nbrs){tb->edges[r], tb->n_edges[r]};
  /* catalog-given relations win over learned ones where the catalog has them (content) */
  in.nbr[ER_NBR_CONTENT] = T->cnbr[ER_NBR_CONTENT];
  in.model = *m;
  in.quant_out = q;
  return er_pack_build(&in, out, out_len, err);
}

/* ======================================================================== */
/* training requests                                                         */
/* ======================================================================== */

typedef struct {
  /* rows of the fit set */
  uint8_t *label;
  float *dense;         /* [rows × 16] when the model needs it */
  uint32_t *sp_first;   /* [rows + 1] when the model needs sparse */
  uint32_t *sp_bucket;
  int16_t *sp_val;
  uint64_t rows, cap_rows, n_sp, cap_sp;
  uint32_t *grp_first;  /* [groups + 1] */
  uint64_t groups, cap_groups;
  /* validation requests in the engine's feature layout (er_features_for) */
  uint8_t *vbuf;
  uint64_t vlen, vcap;
  uint64_t *voff;       /* request offsets */
  uint8_t *vfull;       /* 1: every candidate (agreement), 0: sampled */
  uint32_t *vpos;       /* index of the positive among the request's candidates */
  uint64_t vn, vcap_n;
  int need_dense, need_sparse;
  uint32_t bits;
  /* counters */
  uint64_t prefixes, retrieved, skipped_unknown, impressions;
} pairset;

static void pairset_free(pairset *P) {
  free(P->label); free(P->dense); free(P->sp_first); free(P->sp_bucket); free(P->sp_val); free(P->grp_first);
  free(P->vbuf); free(P->voff); free(P->vfull); free(P->vpos);
}

#define GROW(ptr, cap, need, init)                                                      \
  do {                                                                                  \
    if ((need) > (cap)) {                                                               \
      uint64_t c_ = (cap) ? (cap) : (init);                                             \
      while (c_ < (need)) c_ *= 2;                                                      \
      void *p_ = realloc((ptr), (size_t)c_ * sizeof *(ptr));                            \
      if (!p_) return 0;                                                                \
      (ptr) = p_;                                                                       \
      (cap) = c_;                                                                       \
    }                                                                                   \
  } while (0)

static int add_row(pairset *P, const er_shopper *s, const er_candidate *c, int label) {
  uint64_t r = P->rows;
  if (r + 2 > P->cap_rows) { /* label, dense and sp_first grow together */
    uint64_t c2 = P->cap_rows ? P->cap_rows * 2 : 65536;
    uint8_t *l = realloc(P->label, (size_t)c2);
    if (!l) return 0;
    P->label = l;
    if (P->need_dense) {
      float *d = realloc(P->dense, (size_t)c2 * ER_DENSE_COUNT * sizeof *d);
      if (!d) return 0;
      P->dense = d;
    }
    if (P->need_sparse) {
      uint32_t *f = realloc(P->sp_first, (size_t)c2 * sizeof *f);
      if (!f) return 0;
      P->sp_first = f;
    }
    P->cap_rows = c2;
  }
  P->label[r] = (uint8_t)label;
  if (P->need_dense) er_features_dense(s, c, P->dense + r * ER_DENSE_COUNT);
  if (P->need_sparse) {
    uint64_t h[ER_MAX_SPARSE];
    int16_t v[ER_MAX_SPARSE];
    uint32_t n = er_features_sparse(s, c, h, v);
    if (P->n_sp + n > P->cap_sp) {
      uint64_t c2 = P->cap_sp ? P->cap_sp * 2 : 1 << 20;
      uint32_t *b = realloc(P->sp_bucket, (size_t)c2 * sizeof *b);
      if (!b) return 0;
      P->sp_bucket = b;
      int16_t *v2 = realloc(P->sp_val, (size_t)c2 * sizeof *v2);
      if (!v2) return 0;
      P->sp_val = v2;
      P->cap_sp = c2;
    }
    uint32_t mask = (1u << P->bits) - 1;
    P->sp_first[r] = (uint32_t)P->n_sp;
    for (uint32_t k = 0; k < n; k++) {
      P->sp_bucket[P->n_sp] = (uint32_t)(h[k] & mask);
      P->sp_val[P->n_sp++] = v[k];
    }
    P->sp_first[r + 1] = (uint32_t)P->n_sp;
  }
  P->rows++;
  return 1;
}

/* One request in er_features_for's binary layout appended to vbuf. */
static int add_vreq(pairset *P, const er_shopper *s, const er_candidate *c, const uint32_t *pick, uint32_t n,
                    uint32_t pos, int full) {
  uint64_t need = P->vlen + 12 + (uint64_t)n * ER_FEATURE_RECORD_MAX;
  GROW(P->vbuf, P->vcap, need, 1 << 20);
  if (P->vn + 2 > P->vcap_n) {
    uint64_t c2 = P->vcap_n ? P->vcap_n * 2 : 1024;
    uint64_t *vo = realloc(P->voff, (size_t)c2 * sizeof *vo);
    if (!vo) return 0;
    P->voff = vo;
    uint8_t *vf = realloc(P->vfull, (size_t)c2);
    if (!vf) return 0;
    P->vfull = vf;
    uint32_t *vp = realloc(P->vpos, (size_t)c2 * sizeof *vp);
    if (!vp) return 0;
    P->vpos = vp;
    P->vcap_n = c2;
  }
  uint8_t *o = P->vbuf;
  uint64_t at = P->vlen;
  P->voff[P->vn] = at;
  P->vfull[P->vn] = (uint8_t)full;
  P->vpos[P->vn] = pos;
  uint32_t mask = P->bits ? (1u << P->bits) - 1 : (1u << 24) - 1;
  er_wr32(o + at, n);
  er_wr32(o + at + 4, ER_DENSE_COUNT);
  er_wr32(o + at + 8, P->bits);
  at += 12;
  for (uint32_t x = 0; x < n; x++) at += er_features_record(s, &c[pick ? pick[x] : x], mask, o + at);
  P->vlen = at;
  P->vn++;
  P->voff[P->vn] = at;
  return 1;
}

#define IMPRESSION_WINDOW_MS (30u * 60u * 1000u) /* clicks this long after an impression count for it */

/* Append a JSON string (escaped) to out[at..cap); returns the new length or 0. */
static uint32_t put_jstr(char *out, uint32_t at, uint32_t cap, const char *s, uint32_t n) {
  if (at + 6 * n + 3 > cap) return 0;
  out[at++] = '"';
  for (uint32_t k = 0; k < n; k++) {
    unsigned char ch = (unsigned char)s[k];
    if (ch == '"' || ch == '\\') { out[at++] = '\\'; out[at++] = (char)ch; }
    else if (ch < 0x20) at += (uint32_t)snprintf(out + at, cap - at, "\\u%04x", ch);
    else out[at++] = (char)ch;
  }
  out[at++] = '"';
  return at;
}

/* An impression the edge logged, or a recommendation unit the shopper saw
 * (event x, is_shown_list): the items shown are ranked as explicit
 * candidates; those the shopper then clicked (also recs-item-click /
 * recs-item-add-to-cart-click), viewed, wishlisted, carted or bought (within
 * IMPRESSION_WINDOW_MS and before the next shown list), or rated 4–5, are
 * positives; the rest, and any rated 1–2, are negatives.  A request with at
 * least one of each is added to the fit set.  Flagged events are neither
 * requests nor labels. */
static er_status impression_group(trainer *T, er_engine *E, const er_profile *p, uint32_t x, uint32_t end,
                                  pairset *P, er_error *err) {
  const er_log *L = T->L;
  const er_log_event *e = &L->ev[x];
  int8_t label[ER_EVENT_MAX_ITEMS];
  uint32_t n = e->n_imp;
  memset(label, 0, sizeof label);
  for (uint32_t y = x + 1; y < end; y++) {
    const er_log_event *f = &L->ev[y];
    if (is_shown_list(f->type) || f->ts_ms > e->ts_ms + IMPRESSION_WINDOW_MS) break;
    if ((!is_item_event(f->type) && f->type != ER_EV_FEEDBACK) || f->flagged) continue;
    for (uint32_t k = 0; k < n; k++) {
      if (L->imp[e->item + k] != f->item) continue;
      if (f->type == ER_EV_FEEDBACK) label[k] = f->rating >= 4 ? 1 : f->rating <= 2 ? -1 : label[k];
      else if (label[k] == 0) label[k] = 1;
    }
  }
  int any_pos = 0, any_neg = 0;
  for (uint32_t k = 0; k < n; k++) { any_pos |= label[k] == 1; any_neg |= label[k] != 1; }
  if (!any_pos || !any_neg) return ER_OK;
  char ctx[ER_EVENT_MAX_ITEMS * (6 * ER_MAX_SKU_BYTES + 3) + 1024];
  uint32_t at = er_log_context_json(L, e, 0, ctx, sizeof ctx);
  if (!at) return ER_OK;
  at--; /* reopen the object */
  at += (uint32_t)snprintf(ctx + at, sizeof ctx - at, ",\"candidates\":[");
  for (uint32_t k = 0; k < n && at; k++) {
    uint32_t sl;
    const char *sku = er_log_sku(L, L->imp[e->item + k], &sl);
    if (k) ctx[at++] = ',';
    at = put_jstr(ctx, at, sizeof ctx - 2, sku, sl);
  }
  if (!at) return ER_OK;
  ctx[at++] = ']';
  ctx[at++] = '}';
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  uint32_t pl = er_profile_encode(p, prof, sizeof prof);
  const er_shopper *sh;
  const er_candidate *cand;
  uint32_t nc;
  er_status st = er_engine_candidates(E, ctx, at, prof, pl, &sh, &cand, &nc);
  if (st) return er_fail(err, st, ER_NO_OFFSET, "train: the engine rejected an impression at line %u: %s", e->line, er_engine_error(E)->msg);
  /* the engine de-duplicates, folds children and drops purchased items: match candidates back by item */
  int lab[ER_EVENT_MAX_ITEMS];
  uint32_t npos = 0, nneg = 0;
  for (uint32_t c = 0; c < nc && c < ER_EVENT_MAX_ITEMS; c++) {
    lab[c] = -1;
    for (uint32_t k = 0; k < n; k++) {
      uint32_t li = L->imp[e->item + k], u = T->log2idx[li];
      int same = cand[c].item != ER_NONE ? (u != NONE && T->fold[u] == cand[c].item) : L->items.key[li] == cand[c].sku_key;
      if (same) { lab[c] = label[k] == 1; break; }
    }
    npos += lab[c] == 1;
    nneg += lab[c] == 0;
  }
  if (!npos || !nneg) return ER_OK;
  if (P->groups + 2 > P->cap_groups) {
    uint64_t c2 = P->cap_groups ? P->cap_groups * 2 : 4096;
    uint32_t *g = realloc(P->grp_first, (size_t)c2 * sizeof *g);
    if (!g) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
    P->grp_first = g;
    P->cap_groups = c2;
  }
  P->grp_first[P->groups] = (uint32_t)P->rows;
  for (uint32_t c = 0; c < nc && c < ER_EVENT_MAX_ITEMS; c++)
    if (lab[c] >= 0 && !add_row(P, sh, &cand[c], lab[c])) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
  P->groups++;
  P->grp_first[P->groups] = (uint32_t)P->rows;
  P->impressions++;
  return ER_OK;
}

/* Walk the pair sessions [s_from, s_to) with the engine over the table
 * bundle: each item event with a following item event is a request whose
 * positive is the next item; negatives are sampled from the engine's own
 * candidates.  Every event updates the shopper's profile (as at the edge);
 * flagged events are neither requests nor positives.  Sessions from s_valid
 * on go to the validation set.  When `sink` is set, each request's rows are
 * also written to it (libsvm). */
static er_status gen_pairs(trainer *T, er_engine *E, uint32_t s_from, uint32_t s_valid, uint32_t s_to, pairset *P,
                           FILE *sink, int sink_part, er_error *err) {
  const er_log *L = T->L;
  const er_train_opts *o = T->o;
  uint64_t rng = o->seed * 0x2545F4914F6CDD1Dull + 17;
  /* how many requests there are, to subsample to max_groups */
  uint64_t total = 0;
  for (uint32_t s = s_from; s < s_valid; s++) {
    uint32_t n = T->seq_first[s + 1] - T->seq_first[s];
    if (n > 1) total += n - 1;
  }
  double keep = total > o->max_groups ? (double)o->max_groups / (double)total : 1.0;
  /* validation requests kept in memory: all up to max_valid, else a uniform sample drawn from a
   * stream of its own (training's draws are untouched); `features` writes every one */
  uint64_t vtotal = 0, vrng = o->seed * 0x9E3779B97F4A7C15ull + 29;
  for (uint32_t s = s_valid; s < s_to; s++) {
    uint32_t n = T->seq_first[s + 1] - T->seq_first[s];
    if (n > 1) vtotal += n - 1;
  }
  double vkeep = !sink && o->max_valid && vtotal > o->max_valid ? (double)o->max_valid / (double)vtotal : 1.0;
  if (vkeep < 1.0 && o->verbose)
    fprintf(stderr, "train: validation: sampling about %u of %llu requests (memory bound)\n", o->max_valid, (unsigned long long)vtotal);
  uint32_t *pick = malloc(sizeof *pick * ER_MAX_CANDIDATES);
  if (!pick) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
  char ctx[1024];
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  double t0 = er_now_seconds();
  uint64_t next_report = 20000, qid = 0;
  er_status st = ER_OK;
  for (uint32_t s = s_from; s < s_to && !st; s++) {
    const er_log_session *S = &L->ses[s];
    int valid = s >= s_valid;
    er_profile p;
    er_profile_init(&p);
    /* the shopper's earlier sessions, as the edge's profile would hold them */
    if (T->prev) er_log_apply_history(L, T->prev, s, &E->b, &p);
    /* item events of the session in order, by event index */
    for (uint32_t x = S->first; x < S->first + S->n; x++) {
      const er_log_event *e = &L->ev[x];
      er_profile_delta d;
      er_log_delta(L, e, &d);
      er_engine_enrich_delta(&E->b, &d);
      er_profile_apply(&p, &d);
      if (e->flagged) continue; /* in the profile, nothing else */
      if (is_shown_list(e->type) && !valid && !sink) {
        if ((st = impression_group(T, E, &p, x, S->first + S->n, P, err))) break;
        continue;
      }
      if (!is_item_event(e->type)) continue;
      /* the next item event */
      uint32_t y = x + 1;
      while (y < S->first + S->n && (!is_item_event(L->ev[y].type) || L->ev[y].flagged)) y++;
      if (y >= S->first + S->n) break;
      uint32_t tu = T->log2idx[L->ev[y].item];
      if (tu == NONE) { P->skipped_unknown++; continue; }
      tu = T->fold[tu];
      P->prefixes++;
      int agreement = valid && P->vn < AGREEMENT_REQUESTS;
      if (!valid && keep < 1.0 && er_unit_random(&rng) >= keep) continue;
      if (valid && vkeep < 1.0 && er_unit_random(&vrng) >= vkeep) continue;
      uint32_t cl = er_log_context_json(L, e, 0, ctx, sizeof ctx);
      uint32_t pl = er_profile_encode(&p, prof, sizeof prof);
      const er_shopper *sh;
      const er_candidate *cand;
      uint32_t n;
      if (!cl || !pl) continue;
      if ((st = er_engine_candidates(E, ctx, cl, prof, pl, &sh, &cand, &n))) {
        er_fail(err, st, ER_NO_OFFSET, "train: the engine rejected a request at line %u: %s", e->line, er_engine_error(E)->msg);
        break;
      }
      uint32_t pos = NONE;
      for (uint32_t k = 0; k < n; k++)
        if (cand[k].item == tu) { pos = k; break; }
      if (pos == NONE) continue; /* not retrievable: nothing to rank */
      P->retrieved++;
      /* sample negatives (partial Fisher-Yates over the other candidates) */
      uint32_t m = 0;
      for (uint32_t k = 0; k < n; k++)
        if (k != pos) pick[m++] = k;
      uint32_t nneg = m < o->negatives ? m : o->negatives;
      for (uint32_t k = 0; k < nneg; k++) {
        uint32_t j = k + (uint32_t)(er_splitmix64(&rng) % (m - k));
        uint32_t t = pick[k]; pick[k] = pick[j]; pick[j] = t;
      }
      if (sink) {
        if (sink_part == 2 || sink_part == valid) {
          float dv[ER_DENSE_COUNT];
          for (uint32_t k = 0; k <= nneg; k++) {
            const er_candidate *cc = &cand[k == 0 ? pos : pick[k - 1]];
            er_features_dense(sh, cc, dv);
            fprintf(sink, "%d qid:%llu", k == 0, (unsigned long long)qid);
            for (uint32_t f = 0; f < ER_DENSE_COUNT; f++)
              if (!isnan(dv[f])) fprintf(sink, " %u:%.9g", f, (double)dv[f]);
            if (P->need_sparse) {
              uint64_t h[ER_MAX_SPARSE];
              int16_t v[ER_MAX_SPARSE];
              uint32_t ns = er_features_sparse(sh, cc, h, v);
              for (uint32_t f = 0; f < ns; f++)
                fprintf(sink, " %llu:%.6g", (unsigned long long)(ER_DENSE_COUNT + (h[f] & ((1ull << P->bits) - 1))), v[f] / 256.0);
            }
            fputc('\n', sink);
          }
          qid++;
        }
        continue;
      }
      int ok;
      if (valid) {
        if (agreement) {
          ok = add_vreq(P, sh, cand, NULL, n, pos, 1);
        } else {
          uint32_t sel[64];
          sel[0] = pos;
          for (uint32_t k = 0; k < nneg && k < 63; k++) sel[k + 1] = pick[k];
          ok = add_vreq(P, sh, cand, sel, 1 + (nneg < 63 ? nneg : 63), 0, 0);
        }
      } else {
        uint64_t cg = P->cap_groups;
        GROW(P->grp_first, cg, P->groups + 2, 4096);
        P->cap_groups = cg;
        P->grp_first[P->groups] = (uint32_t)P->rows;
        ok = add_row(P, sh, &cand[pos], 1);
        for (uint32_t k = 0; k < nneg && ok; k++) ok = add_row(P, sh, &cand[pick[k]], 0);
        P->groups++;
        P->grp_first[P->groups] = (uint32_t)P->rows;
      }
      if (!ok) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory collecting training pairs"); break; }
      if (o->verbose && P->groups + P->vn >= next_report) {
        fprintf(stderr, "train: %llu requests (%llu validation), %.1f s\n", (unsigned long long)(P->groups + P->vn),
                (unsigned long long)P->vn, er_now_seconds() - t0);
        next_report += 20000;
      }
    }
  }
  free(pick);
  return st;
}
#undef GROW

/* ======================================================================== */
/* linear ranker: pairwise logistic loss, FTRL-proximal                      */
/* ======================================================================== */

#define FTRL_ALPHA 0.05
#define FTRL_BETA 1.0
#define FTRL_L1 0.0
#define FTRL_L2 1e-3

static double ftrl_w(const double *z, const double *nn, uint32_t i) {
  double zi = z[i];
  if (fabs(zi) <= FTRL_L1) return 0;
  double sg = zi < 0 ? -1 : 1;
  return -(zi - sg * FTRL_L1) / ((FTRL_BETA + sqrt(nn[i])) / FTRL_ALPHA + FTRL_L2);
}

static er_status fit_linear(const pairset *P, const er_train_opts *o, float *w_out, er_error *err) {
  uint32_t nb = 1u << o->bits;
  double *z = calloc(nb, sizeof *z), *nn = calloc(nb, sizeof *nn);
  uint32_t *order = malloc(sizeof *order * (P->groups ? P->groups : 1));
  if (!z || !nn || !order) { free(z); free(nn); free(order); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); }
  uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 3;
  for (uint64_t g = 0; g < P->groups; g++) order[g] = (uint32_t)g;
  double t0 = er_now_seconds();
  for (uint32_t ep = 0; ep < o->epochs; ep++) {
    for (uint64_t g = P->groups; g > 1; g--) { /* shuffle */
      uint64_t j = er_splitmix64(&rng) % g;
      uint32_t t = order[g - 1]; order[g - 1] = order[j]; order[j] = t;
    }
    double loss = 0;
    uint64_t npairs = 0;
    for (uint64_t gi = 0; gi < P->groups; gi++) {
      uint32_t g = order[gi], r0 = P->grp_first[g], r1 = P->grp_first[g + 1];
      for (uint32_t rp = r0; rp < r1; rp++) {
        if (!P->label[rp]) continue;
        for (uint32_t rn = r0; rn < r1; rn++) {
          if (P->label[rn]) continue;
          /* x = x_pos − x_neg, coordinates merged */
          uint32_t idx[2 * ER_MAX_SPARSE];
          double val[2 * ER_MAX_SPARSE];
          uint32_t m = 0;
          for (int side = 0; side < 2; side++) {
            uint32_t r = side ? rn : rp;
            for (uint32_t k = P->sp_first[r]; k < P->sp_first[r + 1]; k++) {
              double v = (side ? -1.0 : 1.0) * P->sp_val[k] / 256.0;
              uint32_t b = P->sp_bucket[k], j = 0;
              while (j < m && idx[j] != b) j++;
              if (j == m) { idx[m] = b; val[m++] = v; } else val[j] += v;
            }
          }
          double s = 0, wv[2 * ER_MAX_SPARSE];
          for (uint32_t j = 0; j < m; j++) { wv[j] = ftrl_w(z, nn, idx[j]); s += wv[j] * val[j]; }
          double pr = 1.0 / (1.0 + exp(-s));
          loss += s > 30 ? exp(-s) : -log(pr > 1e-300 ? pr : 1e-300);
          npairs++;
          double g0 = pr - 1.0;
          for (uint32_t j = 0; j < m; j++) {
            if (val[j] == 0) continue;
            double gi2 = g0 * val[j];
            double sigma = (sqrt(nn[idx[j]] + gi2 * gi2) - sqrt(nn[idx[j]])) / FTRL_ALPHA;
            z[idx[j]] += gi2 - sigma * wv[j];
            nn[idx[j]] += gi2 * gi2;
          }
        }
      }
    }
    if (o->verbose)
      fprintf(stderr, "train: linear epoch %u/%u, pairwise log-loss %.4f over %llu pairs (%.1f s)\n", ep + 1, o->epochs,
              npairs ? loss / (double)npairs : 0.0, (unsigned long long)npairs, er_now_seconds() - t0);
  }
  for (uint32_t i = 0; i < nb; i++) w_out[i] = (float)ftrl_w(z, nn, i);
  free(z); free(nn); free(order);
  return ER_OK;
}

/* ======================================================================== */
/* validation: float and int8 scores of the validation requests              */
/* ======================================================================== */

typedef struct {
  const float *w;            /* linear float weights (bits)      */
  uint32_t bits;
  const er_gbdt_model *gb;   /* trees                            */
} float_model;

/* Float scores of request v's candidates (parsed from the binary layout). */
static uint32_t float_scores(const pairset *P, uint64_t v, const float_model *fm, double *out) {
  const uint8_t *b = P->vbuf + P->voff[v];
  uint32_t n = er_rd32(b), at = 12;
  for (uint32_t c = 0; c < n; c++) {
    uint32_t m = er_rd32(b + at);
    at += 4;
    double s = 0;
    for (uint32_t k = 0; k < m; k++) {
      if (fm->w) s += fm->w[er_rd32(b + at)] * (double)(int32_t)er_rd32(b + at + 4) / 256.0;
      at += 8;
    }
    float d[ER_DENSE_COUNT];
    memcpy(d, b + at, sizeof d); /* little-endian host (native trainer) */
    at += 4 * ER_DENSE_COUNT;
    if (fm->gb) s = er_gbdt_predict(fm->gb, d);
    out[c] = s;
  }
  return n;
}

/* Pairwise AUC of request v: the positive against every other candidate. */
static void auc_add(const double *s, uint32_t n, uint32_t pos, double *num, double *den) {
  for (uint32_t c = 0; c < n; c++) {
    if (c == pos) continue;
    *num += s[pos] > s[c] ? 1.0 : s[pos] == s[c] ? 0.5 : 0.0;
    *den += 1;
  }
}

/* Top-10 overlap of two score vectors (ties by candidate order). */
static double top10_overlap(const double *a, const double *b, uint32_t n) {
  uint32_t k = n < 10 ? n : 10;
  if (!k) return 1;
  uint32_t ta[10], tb[10];
  for (int side = 0; side < 2; side++) {
    const double *s = side ? b : a;
    uint32_t *t = side ? tb : ta;
    for (uint32_t r = 0; r < k; r++) {
      uint32_t best = NONE;
      for (uint32_t c = 0; c < n; c++) {
        int used = 0;
        for (uint32_t q = 0; q < r; q++) used |= t[q] == c;
        if (used) continue;
        if (best == NONE || s[c] > s[best]) best = c;
      }
      t[r] = best;
    }
  }
  uint32_t same = 0;
  for (uint32_t r = 0; r < k; r++)
    for (uint32_t q = 0; q < k; q++) same += ta[r] == tb[q];
  return (double)same / k;
}

/* AUC (float and int8 through the packed bundle) and top-10 agreement. */
static er_status validate(const pairset *P, const float_model *fm, const uint8_t *bundle, uint32_t blen,
                          er_train_report *rep, er_error *err) {
  er_engine *E = er_engine_new(bundle, blen, err);
  if (!E) return err->code ? err->code : ER_E_BUNDLE_CORRUPT;
  double *fs = malloc(sizeof *fs * ER_MAX_CANDIDATES), *qs = malloc(sizeof *qs * ER_MAX_CANDIDATES);
  if (!fs || !qs) { free(fs); free(qs); er_engine_free(E); return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); }
  double fn = 0, fd = 0, qn = 0, qd = 0, agree = 0;
  uint32_t nagree = 0;
  er_status st = ER_OK;
  for (uint64_t v = 0; v < P->vn; v++) {
    uint32_t n = float_scores(P, v, fm, fs);
    const int32_t *q;
    uint32_t qnn;
    if ((st = er_score_features(E, P->vbuf + P->voff[v], (uint32_t)(P->voff[v + 1] - P->voff[v]), &q, &qnn))) {
      er_fail(err, st, ER_NO_OFFSET, "train: scoring a validation request failed: %s", er_engine_error(E)->msg);
      break;
    }
    for (uint32_t c = 0; c < n; c++) qs[c] = q[c];
    auc_add(fs, n, P->vpos[v], &fn, &fd);
    auc_add(qs, n, P->vpos[v], &qn, &qd);
    if (P->vfull[v]) { agree += top10_overlap(fs, qs, n); nagree++; }
  }
  rep->auc_float = fd ? fn / fd : 0;
  rep->auc_int8 = qd ? qn / qd : 0;
  rep->top10_agreement = nagree ? agree / nagree : 0;
  rep->agreement_requests = nagree;
  rep->valid_groups = P->vn;
  free(fs); free(qs);
  er_engine_free(E);
  return st;
}

/* Simulated int8 AUC of linear weights clipped at `clip` (calibration); each
 * validation request's own AUC goes to per[v] (-1 when it has no pair). */
static double int8_auc_linear(const pairset *P, const float *w, uint32_t bits, double clip, double *per) {
  double s = clip / 127.0, num = 0, den = 0;
  double *sc = malloc(sizeof *sc * ER_MAX_CANDIDATES);
  if (!sc || s <= 0) { free(sc); return 0; }
  (void)bits;
  for (uint64_t v = 0; v < P->vn; v++) {
    const uint8_t *b = P->vbuf + P->voff[v];
    uint32_t n = er_rd32(b), at = 12;
    for (uint32_t c = 0; c < n; c++) {
      uint32_t m = er_rd32(b + at);
      at += 4;
      int64_t acc = 0;
      for (uint32_t k = 0; k < m; k++) {
        double x = w[er_rd32(b + at)];
        if (x > clip) x = clip;
        if (x < -clip) x = -clip;
        double qq = x / s;
        int64_t qi = (int64_t)(qq < 0 ? -floor(-qq + 0.5) : floor(qq + 0.5));
        acc += qi * (int32_t)er_rd32(b + at + 4);
        at += 8;
      }
      at += 4 * ER_DENSE_COUNT;
      sc[c] = (double)acc;
    }
    double n1 = 0, d1 = 0;
    auc_add(sc, n, P->vpos[v], &n1, &d1);
    per[v] = d1 ? n1 / d1 : -1;
    num += n1;
    den += d1;
  }
  free(sc);
  return den ? num / den : 0;
}

/* Whether per-request AUCs a[] beat b[] beyond noise: their mean paired
 * difference is positive and over twice its standard error (requests
 * without a pair left out).  On a few hundred requests a difference of a few
 * thousandths is noise, and clipping on noise flattens the weights that
 * carry the signal. */
static int calibrated_better(const double *a, const double *b, uint64_t n) {
  double s = 0, s2 = 0;
  uint64_t m = 0;
  for (uint64_t v = 0; v < n; v++) {
    if (a[v] < 0 || b[v] < 0) continue;
    double d = a[v] - b[v];
    s += d;
    s2 += d * d;
    m++;
  }
  if (m < 2) return 0;
  double mean = s / (double)m, var = (s2 - s * mean) / (double)(m - 1);
  return mean > 0 && mean > 2 * sqrt(var > 0 ? var : 0) / sqrt((double)m);
}

/* ======================================================================== */
/* the whole run                                                             */
/* ======================================================================== */

static void default_version(const er_log *L, uint32_t n_train, er_train_model m, char *out, size_t cap) {
  uint64_t ms = n_train ? L->ses[n_train - 1].end_ms : 0;
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, mo = (unsigned)(tm.tm_mon + 1) % 100u, d = (unsigned)tm.tm_mday % 100u;
  snprintf(out, cap, "%s-%04u%02u%02u", m == ER_TRAIN_TREES ? "trees" : "linear", y, mo, d);
}

/* Prepare the trainer and the table bundle; shared by train and features. */
static er_status prepare(trainer *T, const er_log *L, const char *catalog_json, uint32_t catalog_len,
                         const er_train_opts *o, tables *tb_early, uint8_t **early, uint32_t *early_len,
                         uint32_t *n_tab, er_error *err) {
  memset(T, 0, sizeof *T);
  T->L = L;
  T->o = o;
  uint32_t n_train = 0;
  while (n_train < L->n_ses && (!o->until_ms || L->ses[n_train].end_ms < o->until_ms)) n_train++;
  T->n_train = n_train;
  if (n_train < 4)
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "train: %u training sessions%s; at least 4 are needed", n_train,
                   o->until_ms ? " before --until" : "");
  er_status st = build_universe(T, catalog_json, catalog_len, err);
  if (st) return st;
  if (!(T->prev = malloc(((size_t)L->n_ses + 1) * sizeof *T->prev))) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory");
  if ((st = er_log_user_prev(L, T->prev, err))) return st;
  *n_tab = (uint32_t)(n_train * o->table_fraction);
  if (*n_tab < 1) *n_tab = 1;
  if (*n_tab >= n_train) *n_tab = n_train - 1;
  if ((st = build_tables(T, *n_tab, tb_early, err))) return st;
  static const float zero[1u << 10];
  er_pack_model m = {.kind = ER_MODEL_LINEAR, .bits = 10, .weights = zero};
  return pack_bundle(T, tb_early, &m, "tables", "train: table window", early, early_len, NULL, err);
}

er_status er_train_run(const er_log *L, const char *catalog_json, uint32_t catalog_len, const er_train_opts *o,
                       uint8_t **out, uint32_t *out_len, er_train_report *rep, er_error *err) {
  double t0 = er_now_seconds();
  memset(rep, 0, sizeof *rep);
  *out = NULL;
  *out_len = 0;
  if (o->model == ER_TRAIN_LINEAR && (o->bits < 10 || o->bits > 24))
    return er_fail(err, ER_E_RANGE, ER_NO_OFFSET, "train: --bits must be 10..24, got %u", o->bits);
  trainer T;
  tables tb_early, tb_all;
  memset(&tb_all, 0, sizeof tb_all);
  memset(&tb_early, 0, sizeof tb_early);
  pairset P;
  memset(&P, 0, sizeof P);
  uint8_t *early = NULL;
  uint32_t early_len = 0, n_tab = 0;
  er_engine *E = NULL;
  float *w = NULL;
  er_gbdt_model gb;
  memset(&gb, 0, sizeof gb);
  er_status st = prepare(&T, L, catalog_json, catalog_len, o, &tb_early, &early, &early_len, &n_tab, err);
  if (st) goto done;
  rep->train_sessions = T.n_train;
  rep->table_sessions = n_tab;
  rep->pair_sessions = T.n_train - n_tab;
  rep->items = T.n_items;
  rep->flagged_events = T.flagged;
  rep->new_id_events = T.trust_new;
  rep->seconds_tables = er_now_seconds() - t0;
  if (o->verbose)
    fprintf(stderr, "train: %u training sessions, %u items; tables from the first %u sessions, pairs from the last %u (%.1f s)\n",
            T.n_train, T.n_items, n_tab, T.n_train - n_tab, rep->seconds_tables);
  if (o->verbose && (T.flagged || T.trust_new))
    fprintf(stderr, "train: %llu flagged events left out of the tables and the requests; %llu events of new ids count %g each "
                    "in the tables\n", (unsigned long long)T.flagged, (unsigned long long)T.trust_new, NEW_ID_WEIGHT);
  /* pairs */
  double t1 = er_now_seconds();
  if (!(E = er_engine_new(early, early_len, err))) { st = err->code ? err->code : ER_E_BUNDLE_CORRUPT; goto done; }
  P.need_sparse = o->model == ER_TRAIN_LINEAR;
  P.need_dense = o->model == ER_TRAIN_TREES;
  P.bits = o->model == ER_TRAIN_LINEAR ? o->bits : 0;
  uint32_t s_valid = T.n_train - (uint32_t)((T.n_train - n_tab) * VALID_FRACTION);
  if (s_valid <= n_tab) s_valid = n_tab + 1;
  if ((st = gen_pairs(&T, E, n_tab, s_valid, T.n_train, &P, NULL, 0, err))) goto done;
  rep->groups = P.groups;
  rep->rows = P.rows;
  rep->impression_groups = P.impressions;
  rep->seconds_pairs = er_now_seconds() - t1;
  if (o->verbose)
    fprintf(stderr, "train: %llu requests with their next item among the engine's candidates (%.1f%% of %llu), %llu rows, %llu validation requests (%.1f s)\n",
            (unsigned long long)P.groups, P.prefixes ? 100.0 * (double)P.retrieved / (double)P.prefixes : 0.0,
            (unsigned long long)P.prefixes, (unsigned long long)P.rows, (unsigned long long)P.vn, rep->seconds_pairs);
  if (o->verbose && P.impressions)
    fprintf(stderr, "train: %llu of the requests are logged impressions (shown and clicked: positive; shown and ignored: negative)\n",
            (unsigned long long)P.impressions);
  int prior = P.groups < MIN_REQUESTS;
  if (prior)
    fprintf(stderr, "train: warning: only %llu training requests (fewer than %u): too little data to learn a ranker; "
                    "the bundle gets the learned tables and a fixed prior ranker (co-occurrence, then popularity)\n",
            (unsigned long long)P.groups, MIN_REQUESTS);
  rep->prior = prior;
  /* fit */
  double t2 = er_now_seconds();
  er_pack_model m;
  memset(&m, 0, sizeof m);
  float_model fm = {0};
  if (prior) {
    /* a monotone prior over the sparse band features: co-occurrence with the last and recent items, content
       similarity, then popularity and trend (coefficients per band step) */
    static const struct { uint32_t ns; double c; } PRIOR[] = {
        {ER_NS_COOC, 0.6}, {ER_NS_COOC_RECENT, 0.4}, {ER_NS_CONTENT, 0.25},
        {ER_NS_POP_VIEW, 0.1}, {ER_NS_POP_PURCHASE, 0.05}, {ER_NS_TRENDING, 0.05}};
    uint32_t bits = o->model == ER_TRAIN_LINEAR ? o->bits : 14;
    w = calloc((size_t)1 << bits, sizeof *w);
    if (!w) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto done; }
    for (uint32_t k = 0; k < sizeof PRIOR / sizeof PRIOR[0]; k++)
      for (uint32_t band = 1; band <= 20; band++)
        w[er_feature_hash(PRIOR[k].ns, band, 0) & ((1u << bits) - 1)] += (float)(PRIOR[k].c * band);
    for (uint32_t b = 0; b < 5; b++) /* the shopper's own recent items: newest first */
      w[er_feature_hash(ER_NS_RECENCY, b, 0) & ((1u << bits) - 1)] += (float)(1.5 - 0.3 * b);
    m.kind = ER_MODEL_LINEAR;
    m.bits = bits;
    m.weights = w;
    fm.w = w;
    fm.bits = bits;
    P.bits = bits; /* validation requests were hashed at the pair set's bits: only comparable when equal */
    if (o->model != ER_TRAIN_LINEAR) P.vn = 0;
  } else if (o->model == ER_TRAIN_LINEAR) {
    w = calloc((size_t)1 << o->bits, sizeof *w);
    if (!w) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto done; }
    if ((st = fit_linear(&P, o, w, err))) goto done;
    fm.w = w;
    fm.bits = o->bits;
    /* calibration: the clip of the int8 range that ranks the validation requests best, a harder clip
       kept only when it ranks them better beyond noise (paired over the requests, see calibrated_better) */
    double mx = 0;
    for (uint32_t i = 0; i < (1u << o->bits); i++) if (fabs(w[i]) > mx) mx = fabs(w[i]);
    double best_clip = 1;
    double *per_best = malloc(sizeof *per_best * (P.vn ? P.vn : 1)), *per = malloc(sizeof *per * (P.vn ? P.vn : 1));
    if (!per_best || !per) { free(per_best); free(per); st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto done; }
    for (double f = 1.0; f >= 0.0625 && mx > 0; f /= 2) {
      double a = int8_auc_linear(&P, w, o->bits, mx * f, f == 1.0 ? per_best : per);
      int better = f < 1.0 && calibrated_better(per, per_best, P.vn);
      if (o->verbose)
        fprintf(stderr, "train: int8 calibration: clip at %.4g of max|w| → validation AUC %.4f%s\n", f, a,
                better ? " (better beyond noise: kept)" : "");
      if (better) { double *t = per_best; per_best = per; per = t; best_clip = f; }
    }
    free(per_best);
    free(per);
    rep->quant_clip = best_clip;
    float *wq = malloc(sizeof *wq << o->bits);
    if (!wq) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto done; }
    for (uint32_t i = 0; i < (1u << o->bits); i++) {
      double c = mx * best_clip;
      wq[i] = (float)(w[i] > c ? c : w[i] < -c ? -c : w[i]);
    }
    m.kind = ER_MODEL_LINEAR;
    m.bits = o->bits;
    m.weights = wq;
    m.bias = 0;
    /* keep wq alive through packing: stash in w's place after */
    free(w);
    w = wq;
    /* the float reference stays the unclipped model? No: the clipped float model is what int8 approximates;
       report agreement against the trained (clipped) float weights. */
    fm.w = w;
  } else {
    er_gbdt_params gp;
    er_gbdt_defaults(&gp);
    gp.objective = ER_GBDT_PAIRWISE;
    gp.n_trees = o->trees;
    gp.max_depth = o->depth;
    gp.seed = o->seed;
    gp.verbose = o->verbose;
    uint32_t *grp = malloc(sizeof *grp * (P.rows ? P.rows : 1));
    float *y = malloc(sizeof *y * (P.rows ? P.rows : 1));
    if (!grp || !y) { free(grp); free(y); st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "train: out of memory"); goto done; }
    for (uint64_t g = 0; g < P.groups; g++)
      for (uint32_t r = P.grp_first[g]; r < P.grp_first[g + 1]; r++) grp[r] = (uint32_t)g;
    for (uint64_t r = 0; r < P.rows; r++) y[r] = P.label[r];
    st = er_gbdt_train(P.dense, (uint32_t)P.rows, ER_DENSE_COUNT, y, NULL, grp, &gp, &gb, err);
    free(grp);
    free(y);
    if (st) goto done;
    m.kind = ER_MODEL_TREES;
    m.trees = gb.trees;
    m.n_trees = gb.n_trees;
    m.base_margin = gb.base_margin;
    fm.gb = &gb;
  }
  rep->seconds_fit = er_now_seconds() - t2;
  /* the final tables: every training session */
  if ((st = build_tables(&T, T.n_train, &tb_all, err))) goto done;
  char version[24];
  if (o->version) snprintf(version, sizeof version, "%s", o->version);
  else default_version(L, T.n_train, o->model, version, sizeof version);
  char source[160];
  snprintf(source, sizeof source, "edgerec train: %u sessions, %llu requests, seed %llu", T.n_train,
           (unsigned long long)P.groups, (unsigned long long)o->seed);
  er_pack_quant q;
  if ((st = pack_bundle(&T, &tb_all, &m, version, source, out, out_len, &q, err))) goto done;
  rep->bundle_bytes = *out_len;
  if ((st = validate(&P, &fm, *out, *out_len, rep, err))) goto done;
  if (o->verbose)
    fprintf(stderr, "train: validation: pairwise AUC float %.4f, int8 %.4f; int8 vs float top-10 agreement %.3f over %u requests\n",
            rep->auc_float, rep->auc_int8, rep->top10_agreement, rep->agreement_requests);
done:
  if (st && *out) { free(*out); *out = NULL; *out_len = 0; }
  er_engine_free(E);
  free(early);
  free(w);
  er_gbdt_free(&gb);
  tables_free(&tb_early);
  tables_free(&tb_all);
  pairset_free(&P);
  trainer_free(&T);
  rep->seconds_total = er_now_seconds() - t0;
  rep->peak_rss_kib = er_peak_rss_kib();
  return st;
}

/* ======================================================================== */
/* command line                                                              */
/* ======================================================================== */

typedef struct {
  const char *events, *catalog, *out, *format, *part;
  int sparse;
  double test_days;
  int has_test_days;
} cli_extra;

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  char *end;
  errno = 0;
  if (!s || !*s || *s == '-') return 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int train_usage(const char *cmd, const char *msg) {
  if (msg) fprintf(stderr, "edgerec %s: %s\n", cmd, msg);
  if (!strcmp(cmd, "features"))
    fputs("usage: edgerec features --events FILE|- [--catalog FILE] [--until TS | --test-days N] [--seed N]\n"
          "                        [--format libsvm] [--part train|valid|all] [--sparse --bits B]\n",
          stderr);
  else
    fputs("usage: edgerec train --events FILE|- [--catalog FILE] [--until TS | --test-days N] [--model linear|trees]\n"
          "                     [--bits B] [--trees N --depth D] [--seed N] [--version V] [--quiet] --out BUNDLE.erb\n",
          stderr);
  return 2;
}

/* Shared option parsing; returns 0 ok, else the exit code. */
static int parse_opts(int argc, char **argv, er_train_opts *o, cli_extra *x) {
  const char *cmd = argv[0];
  memset(x, 0, sizeof *x);
  er_train_defaults(o);
  o->verbose = 1;
  int model_set = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t u;
#define NEED() do { if (!v) { char m_[96]; snprintf(m_, sizeof m_, "option %s needs a value", a); return train_usage(cmd, m_); } i++; } while (0)
    if (!strcmp(a, "--events")) { NEED(); x->events = v; }
    else if (!strcmp(a, "--catalog")) { NEED(); x->catalog = v; }
    else if (!strcmp(a, "--out")) { NEED(); x->out = v; }
    else if (!strcmp(a, "--format")) { NEED(); x->format = v; }
    else if (!strcmp(a, "--part")) { NEED(); x->part = v; }
    else if (!strcmp(a, "--sparse")) x->sparse = 1;
    else if (!strcmp(a, "--quiet")) o->verbose = 0;
    else if (!strcmp(a, "--version")) {
      NEED();
      size_t n = strlen(v);
      int okv = n >= 1 && n <= 23;
      for (size_t k = 0; k < n && okv; k++) okv = v[k] > 32 && v[k] < 127 && v[k] != '"' && v[k] != '\\';
      if (!okv) return train_usage(cmd, "--version must be 1..23 printable ASCII characters without spaces, '\"' or '\\'");
      o->version = v;
    } else if (!strcmp(a, "--model")) {
      NEED();
      if (!strcmp(v, "linear")) o->model = ER_TRAIN_LINEAR;
      else if (!strcmp(v, "trees")) o->model = ER_TRAIN_TREES;
      else return train_usage(cmd, "--model must be linear or trees");
      model_set = 1;
    } else if (!strcmp(a, "--bits")) {
      NEED();
      if (!parse_u64(v, 10, 24, &u)) return train_usage(cmd, "--bits must be an integer in 10..24");
      o->bits = (uint32_t)u;
    } else if (!strcmp(a, "--trees")) {
      NEED();
      if (!parse_u64(v, 1, 128, &u)) return train_usage(cmd, "--trees must be an integer in 1..128");
      o->trees = (uint32_t)u;
    } else if (!strcmp(a, "--depth")) {
      NEED();
      if (!parse_u64(v, 1, 6, &u)) return train_usage(cmd, "--depth must be an integer in 1..6");
      o->depth = (uint32_t)u;
    } else if (!strcmp(a, "--seed")) {
      NEED();
      if (!parse_u64(v, 0, UINT64_MAX, &u)) return train_usage(cmd, "--seed must be a non-negative integer");
      o->seed = u;
    } else if (!strcmp(a, "--until")) {
      NEED();
      if (!parse_u64(v, 1, 4294967295ull, &u)) return train_usage(cmd, "--until must be unix seconds (1..4294967295)");
      o->until_ms = u * 1000;
    } else if (!strcmp(a, "--test-days")) {
      NEED();
      char *end;
      double d = strtod(v, &end);
      if (*end || !(d > 0) || d > 100000) return train_usage(cmd, "--test-days must be a positive number of days");
      x->test_days = d;
      x->has_test_days = 1;
    } else {
      char m[160];
      snprintf(m, sizeof m, "unknown option '%s'", a);
      return train_usage(cmd, m);
    }
#undef NEED
  }
  (void)model_set;
  if (!x->events) return train_usage(cmd, "--events is required");
  if (x->has_test_days && o->until_ms) return train_usage(cmd, "give --until or --test-days, not both");
  return 0;
}


/* Read the events (and catalog) of a command; 0 ok, else the exit code. */
static int load_inputs(const char *cmd, const cli_extra *x, er_train_opts *o, er_log *L, char **cat, uint32_t *cat_len) {
  er_error err;
  er_error_clear(&err);
  er_log_init(L);
  *cat = NULL;
  *cat_len = 0;
  FILE *f = strcmp(x->events, "-") ? fopen(x->events, "rb") : stdin;
  if (!f) { fprintf(stderr, "edgerec %s: cannot open %s: %s\n", cmd, x->events, strerror(errno)); return 3; }
  er_status st = er_log_read(L, f, cmd, o->verbose, &err);
  if (f != stdin) fclose(f);
  if (!st) st = er_log_finish(L, &err);
  if (st) { fprintf(stderr, "edgerec %s: %s\n", cmd, err.msg); return 3; }
  if (o->verbose || L->bad) er_log_report(L, stderr, cmd);
  if (!L->n_ev) { fprintf(stderr, "edgerec %s: %s has no valid event\n", cmd, x->events); return 3; }
  if (x->has_test_days) {
    uint64_t span = (uint64_t)(x->test_days * 86400000.0);
    o->until_ms = L->max_ms > span ? L->max_ms - span : 1;
    if (o->verbose) fprintf(stderr, "%s: --test-days %g: training on sessions that end before %llu (unix s)\n", cmd, x->test_days, (unsigned long long)(o->until_ms / 1000));
  }
  *cat = NULL;
  *cat_len = 0;
  if (x->catalog) {
    const char *msg = "";
    *cat = (char *)er_read_input("catalog", x->catalog, ER_MAX_CATALOG_JSON_BYTES, cat_len, &msg, NULL);
    if (!*cat) { fprintf(stderr, "edgerec %s: %s\n", cmd, msg); return 3; }
  }
  return 0;
}

int er_train_main(int argc, char **argv) {
  er_train_opts o;
  cli_extra x;
  int rc = parse_opts(argc, argv, &o, &x);
  if (rc) return rc;
  if (!x.out) return train_usage(argv[0], "--out is required");
  if (x.format || x.part || x.sparse) return train_usage(argv[0], "--format, --part and --sparse belong to 'edgerec features'");
  o.max_groups = o.model == ER_TRAIN_TREES ? 40000 : 100000;
  double t0 = er_now_seconds();
  er_log L;
  char *cat;
  uint32_t cat_len;
  if ((rc = load_inputs(argv[0], &x, &o, &L, &cat, &cat_len))) { er_log_free(&L); return rc; }
  double t_read = er_now_seconds() - t0;
  uint8_t *bundle;
  uint32_t blen;
  er_train_report rep;
  er_error err;
  er_error_clear(&err);
  er_status st = er_train_run(&L, cat, cat_len, &o, &bundle, &blen, &rep, &err);
  free(cat);
  if (st) { fprintf(stderr, "edgerec train: %s\n", err.msg); er_log_free(&L); return 3; }
  rep.seconds_read = t_read;
  FILE *f = fopen(x.out, "wb");
  int bad = !f;
  if (f) {
    bad |= fwrite(bundle, 1, blen, f) != blen;
    bad |= fclose(f) != 0;
  }
  free(bundle);
  if (bad) { fprintf(stderr, "edgerec train: cannot write %s: %s\n", x.out, strerror(errno)); er_log_free(&L); return 3; }
  double total = er_now_seconds() - t0;
  printf("{\"bundle\":\"%s\",\"bytes\":%u,\"model\":\"%s\",\"train_sessions\":%u,\"items\":%u,\"requests\":%llu,\"rows\":%llu,"
         "\"impression_requests\":%llu,\"validation_requests\":%llu,\"prior\":%s,\"auc_float\":%.4f,\"auc_int8\":%.4f,\"top10_agreement\":%.4f,"
         "\"quant_clip\":%.4g,\"flagged_events\":%llu,\"new_id_events\":%llu,\"seconds\":{\"read\":%.2f,\"tables\":%.2f,\"pairs\":%.2f,\"fit\":%.2f,\"total\":%.2f},"
         "\"events_per_second\":%.0f,\"peak_rss_mib\":%.1f}\n",
         x.out, rep.bundle_bytes, o.model == ER_TRAIN_TREES ? "trees" : "linear", rep.train_sessions, rep.items,
         (unsigned long long)rep.groups, (unsigned long long)rep.rows, (unsigned long long)rep.impression_groups,
         (unsigned long long)rep.valid_groups, rep.prior ? "true" : "false", rep.auc_float, rep.auc_int8, rep.top10_agreement, rep.quant_clip,
         (unsigned long long)rep.flagged_events, (unsigned long long)rep.new_id_events, t_read, rep.seconds_tables,
         rep.seconds_pairs, rep.seconds_fit, total, total > 0 ? (double)L.n_ev / total : 0.0,
         (double)rep.peak_rss_kib / 1024.0);
  if (o.verbose) fprintf(stderr, "train: wrote %s (%u bytes) in %.1f s, peak RSS %.1f MiB\n", x.out, rep.bundle_bytes, total, (double)rep.peak_rss_kib / 1024.0);
  er_log_free(&L);
  return 0;
}

int er_features_main(int argc, char **argv) {
  er_train_opts o;
  cli_extra x;
  int rc = parse_opts(argc, argv, &o, &x);
  if (rc) return rc;
  if (x.out) return train_usage(argv[0], "features writes to standard output (no --out)");
  if (x.format && strcmp(x.format, "libsvm")) return train_usage(argv[0], "--format must be libsvm");
  int part = 2;
  if (x.part) {
    if (!strcmp(x.part, "train")) part = 0;
    else if (!strcmp(x.part, "valid")) part = 1;
    else if (!strcmp(x.part, "all")) part = 2;
    else return train_usage(argv[0], "--part must be train, valid or all");
  }
  o.model = x.sparse ? ER_TRAIN_LINEAR : ER_TRAIN_TREES;
  o.max_groups = o.model == ER_TRAIN_TREES ? 40000 : 100000;
  er_log L;
  char *cat;
  uint32_t cat_len;
  if ((rc = load_inputs(argv[0], &x, &o, &L, &cat, &cat_len))) { er_log_free(&L); return rc; }
  trainer T;
  tables tb;
  uint8_t *early = NULL;
  uint32_t early_len = 0, n_tab = 0;
  er_error err;
  er_error_clear(&err);
  er_engine *E = NULL;
  pairset P;
  memset(&P, 0, sizeof P);
  memset(&tb, 0, sizeof tb);
  er_status st = prepare(&T, &L, cat, cat_len, &o, &tb, &early, &early_len, &n_tab, &err);
  if (!st && !(E = er_engine_new(early, early_len, &err))) st = err.code ? err.code : ER_E_BUNDLE_CORRUPT;
  if (!st) {
    P.need_sparse = x.sparse;
    P.bits = o.bits;
    uint32_t s_valid = T.n_train - (uint32_t)((T.n_train - n_tab) * VALID_FRACTION);
    if (s_valid <= n_tab) s_valid = n_tab + 1;
    st = gen_pairs(&T, E, n_tab, s_valid, T.n_train, &P, stdout, part, &err);
  }
  if (!st && fflush(stdout)) st = er_fail(&err, ER_E_IO, ER_NO_OFFSET, "features: write to standard output failed");
  if (st) fprintf(stderr, "edgerec features: %s\n", err.msg);
  else if (o.verbose)
    fprintf(stderr, "features: %llu requests with their next item among the candidates (of %llu)\n",
            (unsigned long long)P.retrieved, (unsigned long long)P.prefixes);
  er_engine_free(E);
  free(early);
  free(cat);
  tables_free(&tb);
  pairset_free(&P);
  trainer_free(&T);
  er_log_free(&L);
  return st ? 3 : 0;
}
