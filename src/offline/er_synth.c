/* er_synth.c — the seeded synthetic browsing-log generator (see er_synth.h and
 * docs/training.md "A synthetic browsing log").  One user at a time: the only
 * state that grows with the run is per item (catalogue, neighbours, a session
 * mark and a seen bit), so memory is O(items) and output is streamed. */
#include "er_synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers: xoshiro256** seeded by splitmix64 --------------------- */
typedef struct { uint64_t s[4]; int has_spare; double spare; } rng;

static uint64_t splitmix(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
static void rng_seed(rng *r, uint64_t seed) {
  for (int k = 0; k < 4; k++) r->s[k] = splitmix(&seed);
  r->has_spare = 0;
}
static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t rnext(rng *r) {
  uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
  return out;
}
static double unif(rng *r) { return (double)(rnext(r) >> 11) * 0x1.0p-53; } /* [0, 1) */
static uint32_t below(rng *r, uint32_t n) { return (uint32_t)(((rnext(r) >> 32) * (uint64_t)n) >> 32); }
static double gauss(rng *r) {
  if (r->has_spare) { r->has_spare = 0; return r->spare; }
  double u = 1.0 - unif(r), v = unif(r), m = sqrt(-2.0 * log(u));
  r->spare = m * sin(6.283185307179586 * v); r->has_spare = 1;
  return m * cos(6.283185307179586 * v);
}
static double lognormal(rng *r, double median, double sigma) { return median * exp(sigma * gauss(r)); }
/* 1 + a geometric count with mean `mean` (>= 1). */
static uint32_t geometric1(rng *r, double mean) {
  if (mean <= 1.0) return 1;
  double k = floor(log(1.0 - unif(r)) / log(1.0 - 1.0 / mean));
  return k > 1e6 ? 1000001u : 1u + (uint32_t)k;
}

/* ---- presets and checks ---------------------------------------------------- */
int er_synth_preset(er_synth_opts *o, const char *name) {
  memset(o, 0, sizeof *o);
  o->seed = 1; o->format = ER_SYNTH_CSV; o->start = 1511568000; /* 2017-11-25, as Taobao's log */
  o->items = 1000000; o->categories = 1000; o->users = 1000; o->days = 9;
  o->zipf = 0.6; o->cat_zipf = 1.0;
  o->sessions = 9.3; o->len_median = 5; o->len_sigma = 1.0; o->gap_median = 45; o->gap_sigma = 1.2;
  o->revisit = 0.2; o->ret = 0.03; o->neighbour = 0.35; o->recency = 1;
  o->cart = 0.06; o->fav = 0.03; o->buy = 0.30; o->consumable = 0.10; o->intent_pref = 0.8;
  if (!strcmp(name, "browsing")) return 0;
  if (!strcmp(name, "shop")) {
    o->items = 2000; o->categories = 40; o->users = 5000; o->days = 30;
    o->zipf = 0.9; o->sessions = 5; o->len_median = 4; o->revisit = 0.15; o->ret = 0.05; o->neighbour = 0.45;
    o->cart = 0.08; o->buy = 0.35;
    return 0;
  }
  return -1;
}

int er_synth_check(const er_synth_opts *o, char *err, size_t errcap) {
#define BAD(...) do { snprintf(err, errcap, __VA_ARGS__); return -1; } while (0)
  if (o->items < 10 || o->items > (1u << 24)) BAD("--items must be 10..16777216");
  if (o->categories < 1 || o->categories > o->items) BAD("--categories must be 1..items (%u)", o->items);
  if (o->users < 1 || o->users > 100000000) BAD("--users must be 1..100000000");
  if (!(o->days > 0 && o->days <= 3650)) BAD("--days must be in (0, 3650]");
  if (o->start < 0 || (double)o->start + (o->days + 400) * 86400.0 >= 4294967296.0) BAD("--start must be unix seconds >= 0, with start + days well before 2^32 s");
  if (!(o->zipf >= 0 && o->zipf <= 3)) BAD("--zipf must be in [0, 3]");
  if (!(o->cat_zipf >= 0 && o->cat_zipf <= 3)) BAD("--cat-zipf must be in [0, 3]");
  if (!(o->sessions >= 1 && o->sessions <= 1000)) BAD("--sessions must be in [1, 1000]");
  if (!(o->len_median >= 1 && o->len_median <= 100)) BAD("--session-len must be in [1, 100]");
  if (!(o->len_sigma >= 0 && o->len_sigma <= 3)) BAD("--session-sigma must be in [0, 3]");
  if (!(o->gap_median >= 1 && o->gap_median <= 1799)) BAD("--gap must be in [1, 1799] seconds");
  if (!(o->gap_sigma >= 0 && o->gap_sigma <= 3)) BAD("--gap-sigma must be in [0, 3]");
  if (!(o->recency >= 0 && o->recency <= 3)) BAD("--recency must be in [0, 3]");
  const double *p[8] = {&o->revisit, &o->ret, &o->neighbour, &o->cart, &o->fav, &o->buy, &o->consumable, &o->intent_pref};
  static const char *const pn[8] = {"--revisit", "--return", "--neighbour", "--cart", "--fav", "--buy", "--consumable", "--intent"};
  for (int k = 0; k < 8; k++) if (!(*p[k] >= 0 && *p[k] <= 1)) BAD("%s must be a probability in [0, 1]", pn[k]);
  if (o->revisit + o->ret + o->neighbour > 1 + 1e-9) BAD("--revisit + --return + --neighbour must be <= 1");
  if (o->cart + o->fav > 1 + 1e-9) BAD("--cart + --fav must be <= 1");
  if (o->format != ER_SYNTH_CSV && o->format != ER_SYNTH_NDJSON) BAD("--format must be csv or ndjson");
  return 0;
#undef BAD
}

/* ---- the catalogue --------------------------------------------------------- */
#define NB_SIM 8
#define NB_COMP 2
#define NB (NB_SIM + NB_COMP)
#define NONE UINT32_MAX

typedef struct {
  uint32_t n, nc;
  uint32_t *cat;          /* rank → category                                  */
  uint32_t *cs;           /* category → first position in members (nc + 1)     */
  uint32_t *members;      /* ranks by category, most popular first             */
  uint32_t *pos;          /* rank → position in members                        */
  double *cumw;           /* cumulative popularity within a category, by position */
  double *ccum;           /* cumulative category popularity                    */
  uint32_t *nb;           /* rank → NB neighbours (NB_SIM similar, then complements) */
  uint32_t *price;        /* cents                                            */
  uint8_t *consumable;    /* per category                                     */
  uint32_t mul_i, mul_c;  /* id scrambles (coprime to n, nc)                   */
} catalogue;

static uint64_t gcd(uint64_t a, uint64_t b) { while (b) { uint64_t t = a % b; a = b; b = t; } return a; }
static uint32_t coprime_near(uint32_t n, double frac) {
  uint32_t m = (uint32_t)(n * frac) | 1u;
  while (gcd(m, n) != 1) m++;
  return m;
}
/* Public ids: a fixed permutation, so an id says nothing about popularity. */
static uint32_t item_id(const catalogue *c, uint32_t r) { return (uint32_t)(((uint64_t)r * c->mul_i + 7) % c->n) + 1; }
static uint32_t cat_id(const catalogue *c, uint32_t k) { return (uint32_t)(((uint64_t)k * c->mul_c + 3) % c->nc) + 1; }
static uint32_t user_id(uint64_t u) { return (uint32_t)((u + 1) * 2654435761u); }

/* Index of the first cumulative value > x in a[lo, hi) (hi - 1 if none). */
static uint32_t upper(const double *a, uint32_t lo, uint32_t hi, double x) {
  uint32_t end = hi;
  while (lo < hi) { uint32_t m = lo + (hi - lo) / 2; if (a[m] > x) hi = m; else lo = m + 1; }
  return lo < end ? lo : end - 1;
}
static uint32_t pick_cat(const catalogue *c, rng *r) { return upper(c->ccum, 0, c->nc, unif(r) * c->ccum[c->nc - 1]); }
/* An item of category k by popularity (k must be non-empty). */
static uint32_t pick_in(const catalogue *c, rng *r, uint32_t k) {
  uint32_t lo = c->cs[k], hi = c->cs[k + 1];
  return c->members[upper(c->cumw, lo, hi, unif(r) * c->cumw[hi - 1])];
}

static void cat_free(catalogue *c) {
  free(c->cat); free(c->cs); free(c->members); free(c->pos); free(c->cumw); free(c->ccum); free(c->nb);
  free(c->price); free(c->consumable);
}

static int cat_build(catalogue *c, const er_synth_opts *o, rng *r) {
  uint32_t n = o->items, nc = o->categories;
  memset(c, 0, sizeof *c);
  c->n = n; c->nc = nc;
  c->cat = malloc(sizeof *c->cat * n); c->cs = calloc(nc + 1, sizeof *c->cs); c->members = malloc(sizeof *c->members * n);
  c->pos = malloc(sizeof *c->pos * n); c->cumw = malloc(sizeof *c->cumw * n); c->ccum = malloc(sizeof *c->ccum * nc);
  c->nb = malloc(sizeof *c->nb * (size_t)n * NB); c->price = malloc(sizeof *c->price * n);
  c->consumable = calloc(nc, 1);
  double *csize = malloc(sizeof *csize * nc), *cmed = malloc(sizeof *cmed * nc);
  uint32_t *fill = malloc(sizeof *fill * nc);
  if (!c->cat || !c->cs || !c->members || !c->pos || !c->cumw || !c->ccum || !c->nb || !c->price || !c->consumable ||
      !csize || !cmed || !fill) {
    free(csize); free(cmed); free(fill);
    return -1;
  }
  c->mul_i = coprime_near(n, 0.6180339887); c->mul_c = coprime_near(nc, 0.6180339887);
  /* category sizes Zipf: each item's category drawn from Zipf(cat_zipf) weights */
  for (uint32_t k = 0; k < nc; k++) csize[k] = (k ? csize[k - 1] : 0) + pow(k + 1.0, -o->cat_zipf);
  for (uint32_t k = 0; k < nc; k++) {
    cmed[k] = lognormal(r, 25.0, 0.8);
    c->consumable[k] = unif(r) < o->consumable;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = i < nc ? i : upper(csize, 0, nc, unif(r) * csize[nc - 1]); /* no empty category */
    c->cat[i] = k;
    c->cs[k + 1]++;
    double p = cmed[k] * exp(0.35 * gauss(r));
    c->price[i] = p < 0.5 ? 50 : p > 1e6 ? 100000000 : (uint32_t)(p * 100 + 0.5);
  }
  for (uint32_t k = 0; k < nc; k++) c->cs[k + 1] += c->cs[k];
  memcpy(fill, c->cs, sizeof *fill * nc);
  for (uint32_t i = 0; i < n; i++) { uint32_t p = fill[c->cat[i]]++; c->members[p] = i; c->pos[i] = p; }
  /* popularity Zipf over the global rank, so also by rank within a category */
  for (uint32_t k = 0; k < nc; k++) {
    double s = 0;
    for (uint32_t p = c->cs[k]; p < c->cs[k + 1]; p++) { s += pow(c->members[p] + 1.0, -o->zipf); c->cumw[p] = s; }
    c->ccum[k] = (k ? c->ccum[k - 1] : 0) + s;
  }
  /* neighbours: a quarter of the similar items by popularity, the rest near in the category's popularity order;
   * complements by popularity from two complement categories */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t *nb = c->nb + (size_t)i * NB, k = c->cat[i], lo = c->cs[k], hi = c->cs[k + 1], m = 0;
    for (int t = 0; t < 40 && m < NB_SIM && hi - lo > 1; t++) {
      uint32_t j;
      if (t % 4 == 0) j = pick_in(c, r, k);
      else {
        int64_t p = (int64_t)c->pos[i] + (below(r, 2) ? 1 : -1) * (int64_t)(1 + below(r, 16));
        if (p < lo || p >= hi) continue;
        j = c->members[p];
      }
      int dup = j == i;
      for (uint32_t q = 0; q < m && !dup; q++) dup = nb[q] == j;
      if (!dup) nb[m++] = j;
    }
    while (m < NB_SIM) nb[m++] = NONE;
    for (int q = 0; q < NB_COMP; q++) {
      uint32_t k2 = pick_cat(c, r);
      nb[m++] = k2 == k ? NONE : pick_in(c, r, k2);
    }
  }
  free(csize); free(cmed); free(fill);
  return 0;
}

/* ---- output ---------------------------------------------------------------- */
typedef struct {
  FILE *f;
  int err;
  size_t len;
  char buf[1 << 16];
} outbuf;

static void ob_flush(outbuf *b) {
  if (b->len && fwrite(b->buf, 1, b->len, b->f) != b->len) b->err = 1;
  b->len = 0;
}
static void ob_str(outbuf *b, const char *s, size_t n) {
  if (b->len + n > sizeof b->buf) ob_flush(b);
  memcpy(b->buf + b->len, s, n);
  b->len += n;
}
#define OB_LIT(b, s) ob_str(b, s, sizeof(s) - 1)
static void ob_u64(outbuf *b, uint64_t v) {
  char t[24];
  int n = 0;
  do { t[23 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
  ob_str(b, t + 24 - n, (size_t)n);
}
static void ob_cents(outbuf *b, uint32_t cents) {
  ob_u64(b, cents / 100);
  if (cents % 100) {
    char t[3] = {'.', (char)('0' + cents % 100 / 10), (char)('0' + cents % 10)};
    ob_str(b, t, t[2] == '0' ? 2 : 3);
  }
}

/* ---- the generator --------------------------------------------------------- */
enum { T_VIEW, T_CART, T_FAV, T_BUY };
#define SESS_MAX 256   /* distinct items kept per session  */
#define STEPS_MAX 200  /* item steps per session            */
#define HIST 64        /* items of earlier sessions per user */
#define BOUGHT 64
#define PENDING 16

typedef struct { uint32_t item, views, last; } sitem;
typedef struct { uint32_t item; uint32_t day; } bought;

typedef struct {
  const er_synth_opts *o;
  const catalogue *c;
  rng r;
  outbuf *out;
  er_synth_stats *st;
  uint32_t *mark;       /* item → the session it was last seen in (1-based) */
  uint8_t *seen;        /* item → seen at all (bitmap)                      */
  int done;
  /* the user */
  uint64_t u;
  uint32_t uid, npref, pref[3], nsess;
  uint32_t hist[HIST], nhist;
  bought bought[BOUGHT];
  uint32_t nbought, pending[PENDING], npending;
  /* the session */
  sitem s[SESS_MAX];
  uint32_t ns, step, sess_no;
  int64_t t;
} gen;

static void emit(gen *g, int type, uint32_t item) {
  if (g->done) return;
  er_synth_stats *st = g->st;
  outbuf *b = g->out;
  const catalogue *c = g->c;
  if (g->mark[item] == (uint32_t)st->sessions) st->seen_in_session++;
  g->mark[item] = (uint32_t)st->sessions;
  if (!(g->seen[item >> 3] & (1u << (item & 7)))) { g->seen[item >> 3] |= (uint8_t)(1u << (item & 7)); st->distinct_items++; }
  st->events++; st->by_type[type]++;
  if (g->o->format == ER_SYNTH_CSV) {
    static const char *const bt[4] = {"pv", "cart", "fav", "buy"};
    ob_u64(b, g->uid); OB_LIT(b, ",");
    ob_u64(b, item_id(c, item)); OB_LIT(b, ",");
    ob_u64(b, cat_id(c, c->cat[item])); OB_LIT(b, ",");
    ob_str(b, bt[type], strlen(bt[type])); OB_LIT(b, ",");
    ob_u64(b, (uint64_t)g->t); OB_LIT(b, "\n");
  } else {
    static const char *const ct[4] = {"view", "cart", "wishlist", "purchase"};
    OB_LIT(b, "{\"type\":\""); ob_str(b, ct[type], strlen(ct[type]));
    OB_LIT(b, "\",\"item\":\""); ob_u64(b, item_id(c, item));
    OB_LIT(b, "\",\"ts\":"); ob_u64(b, (uint64_t)g->t);
    OB_LIT(b, ",\"session\":\""); ob_u64(b, g->uid); OB_LIT(b, "-"); ob_u64(b, g->sess_no);
    OB_LIT(b, "\",\"user\":\""); ob_u64(b, g->uid);
    OB_LIT(b, "\",\"category\":\""); ob_u64(b, cat_id(c, c->cat[item]));
    OB_LIT(b, "\",\"price\":"); ob_cents(b, c->price[item]);
    OB_LIT(b, ",\"id\":\"syn-"); ob_u64(b, st->events); OB_LIT(b, "\"}\n");
  }
  if (g->o->events && st->events >= g->o->events) g->done = 1;
}

static int is_bought(const gen *g, uint32_t item) {
  for (uint32_t k = 0; k < g->nbought; k++) if (g->bought[k].item == item) return 1;
  return 0;
}

/* Seconds to the next step (lognormal, inside the 30-minute cut). */
static int64_t step_gap(gen *g, double median) {
  double x = lognormal(&g->r, median, g->o->gap_sigma);
  return x < 1 ? 1 : x > 1799 ? 1799 : (int64_t)x;
}

/* A new item by popularity in the intent category: one not seen yet in this
 * session when a few draws find one. */
static uint32_t new_item(gen *g, uint32_t intent) {
  uint32_t item = 0;
  for (int t = 0; t < 8; t++) {
    item = pick_in(g->c, &g->r, intent);
    if (g->mark[item] != (uint32_t)g->st->sessions) break;
  }
  return item;
}

/* A re-visit: an item seen earlier in the session other than the current one,
 * weighted by views / (1 + steps since its last view)^recency; NONE when there is none. */
static uint32_t revisit(gen *g, uint32_t cur) {
  double w[SESS_MAX], tot = 0;
  for (uint32_t k = 0; k < g->ns; k++) {
    w[k] = g->s[k].item == cur ? 0 : g->s[k].views * pow(1.0 + (g->step - g->s[k].last), -g->o->recency);
    tot += w[k];
  }
  if (tot <= 0) return NONE;
  double x = unif(&g->r) * tot;
  for (uint32_t k = 0; k < g->ns; k++) { if (x < w[k]) return g->s[k].item; x -= w[k]; }
  return NONE;
}

static uint32_t neighbour(gen *g, uint32_t cur) {
  const uint32_t *nb = g->c->nb + (size_t)cur * NB;
  if (unif(&g->r) < 0.2) { uint32_t j = nb[NB_SIM + below(&g->r, NB_COMP)]; if (j != NONE) return j; }
  /* the first similar items are likelier: weights 1/(q+1) over the ones that exist */
  double tot = 0;
  for (uint32_t q = 0; q < NB_SIM && nb[q] != NONE; q++) tot += 1.0 / (q + 1);
  for (int t = 0; t < 4; t++) { /* one not seen yet in this session when a few draws find one */
    double x = unif(&g->r) * tot;
    uint32_t j = nb[0];
    for (uint32_t q = 0; q < NB_SIM && nb[q] != NONE; q++) { x -= 1.0 / (q + 1); if (x < 0) { j = nb[q]; break; } }
    if (j == NONE || g->mark[j] != (uint32_t)g->st->sessions) return j;
  }
  return NONE; /* the caller picks a new item */
}

static void note_view(gen *g, uint32_t item) {
  for (uint32_t k = 0; k < g->ns; k++)
    if (g->s[k].item == item) { g->s[k].views++; g->s[k].last = g->step; return; }
  if (g->ns < SESS_MAX) g->s[g->ns++] = (sitem){item, 1, g->step};
}

static void buy(gen *g, uint32_t item, double day) {
  g->t += step_gap(g, 20);
  emit(g, T_BUY, item);
  if (!is_bought(g, item)) {
    uint32_t k = g->nbought < BOUGHT ? g->nbought++ : below(&g->r, BOUGHT);
    g->bought[k] = (bought){item, (uint32_t)day};
  }
}

static void session(gen *g, int64_t t0, uint32_t intent) {
  const er_synth_opts *o = g->o;
  const catalogue *c = g->c;
  g->st->sessions++;
  g->sess_no++;
  g->ns = 0; g->t = t0;
  double day = (double)(t0 - o->start) / 86400.0;
  double l = lognormal(&g->r, o->len_median, o->len_sigma);
  uint32_t steps = l < 1 ? 1 : l > STEPS_MAX ? STEPS_MAX : (uint32_t)(l + 0.5);
  uint32_t cur = NONE, buy_at[PENDING], buy_item[PENDING], nbuy = 0;
  /* a session may open on an item carted earlier, or a consumable bought on an earlier day */
  uint32_t first = NONE;
  int first_buys = 0;
  if (g->npending && unif(&g->r) < 0.5) {
    uint32_t k = below(&g->r, g->npending);
    first = g->pending[k]; g->pending[k] = g->pending[--g->npending]; first_buys = 1;
  } else if (g->nbought && unif(&g->r) < 0.15) {
    bought b = g->bought[below(&g->r, g->nbought)];
    if (c->consumable[c->cat[b.item]] && day >= b.day + 1) { first = b.item; first_buys = unif(&g->r) < 0.5; }
  }
  for (g->step = 0; g->step < steps && !g->done; g->step++) {
    uint32_t item = NONE;
    if (g->step == 0) item = first;
    if (item == NONE) {
      double x = unif(&g->r);
      if (g->step > 0 && x < o->revisit) item = revisit(g, cur);
      else if (x < o->revisit + o->ret) { if (g->nhist) item = g->hist[below(&g->r, g->nhist < HIST ? g->nhist : HIST)]; }
      else if (g->step > 0 && x < o->revisit + o->ret + o->neighbour) item = neighbour(g, cur);
      if (item == NONE) item = new_item(g, intent);
      /* a bought item is rarely looked at again unless it is a consumable */
      if (is_bought(g, item) && !c->consumable[c->cat[item]] && unif(&g->r) < 0.9) item = new_item(g, intent);
      if (g->step) g->t += step_gap(g, o->gap_median);
    }
    cur = item;
    emit(g, T_VIEW, item);
    note_view(g, item);
    if (g->step == 0 && first_buys && first != NONE) { buy(g, item, day); continue; }
    double x = unif(&g->r);
    if (x < o->cart) {
      g->t += step_gap(g, 10);
      emit(g, T_CART, item);
      if (unif(&g->r) < o->buy) {
        if (unif(&g->r) < 0.6 && nbuy < PENDING) { buy_at[nbuy] = g->step + below(&g->r, 4); buy_item[nbuy++] = item; }
        else if (g->npending < PENDING) g->pending[g->npending++] = item;
      }
    } else if (x < o->cart + o->fav) {
      g->t += step_gap(g, 10);
      emit(g, T_FAV, item);
    }
    for (uint32_t k = 0; k < nbuy;) /* purchases due now (or at the session's end) */
      if (buy_at[k] <= g->step || g->step + 1 == steps) { buy(g, buy_item[k], day); buy_item[k] = buy_item[--nbuy]; buy_at[k] = buy_at[nbuy]; }
      else k++;
  }
  /* the session's items join the user's history for later returns */
  for (uint32_t k = 0; k < g->ns; k++) {
    if (g->nhist < HIST) g->hist[g->nhist++] = g->s[k].item;
    else g->hist[below(&g->r, HIST)] = g->s[k].item;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void user(gen *g) {
  const er_synth_opts *o = g->o;
  const catalogue *c = g->c;
  g->uid = user_id(g->u);
  g->st->users++;
  g->npref = 1 + below(&g->r, 3);
  for (uint32_t k = 0; k < g->npref; k++) g->pref[k] = pick_cat(c, &g->r);
  g->nhist = g->nbought = g->npending = 0; g->sess_no = 0;
  uint32_t n = geometric1(&g->r, o->sessions);
  if (n > 512) n = 512;
  int64_t starts[512], span = (int64_t)(o->days * 86400);
  for (uint32_t k = 0; k < n; k++) starts[k] = o->start + (int64_t)(unif(&g->r) * (double)span);
  qsort(starts, n, sizeof *starts, cmp_i64);
  int64_t end = -1;
  for (uint32_t k = 0; k < n && !g->done; k++) {
    int64_t t0 = starts[k];
    if (end >= 0 && t0 < end + 1801) t0 = end + 1801 + (int64_t)lognormal(&g->r, 3600, 1.0);
    uint32_t intent = unif(&g->r) < o->intent_pref ? g->pref[below(&g->r, g->npref)] : pick_cat(c, &g->r);
    session(g, t0, intent);
    end = g->t;
  }
}

static int write_catalog(FILE *f, const catalogue *c) {
  outbuf *b = malloc(sizeof *b);
  if (!b) return -1;
  b->f = f; b->err = 0; b->len = 0;
  OB_LIT(b, "{\"items\":[");
  for (uint32_t i = 0; i < c->n; i++) {
    uint32_t id = item_id(c, i);
    OB_LIT(b, "{\"sku\":\""); ob_u64(b, id);
    OB_LIT(b, "\",\"name\":\"Synthetic item "); ob_u64(b, id);
    OB_LIT(b, "\",\"url_key\":\"syn-"); ob_u64(b, id);
    OB_LIT(b, "\",\"categories\":[\""); ob_u64(b, cat_id(c, c->cat[i]));
    OB_LIT(b, "\"],\"price\":"); ob_cents(b, c->price[i]);
    OB_LIT(b, "}");
    if (i + 1 < c->n) OB_LIT(b, ",\n");
  }
  OB_LIT(b, "]}\n");
  ob_flush(b);
  int err = b->err;
  free(b);
  return err || fflush(f) || ferror(f) ? -1 : 0;
}

int er_synth_run(const er_synth_opts *o, FILE *out, FILE *catalog, int progress, er_synth_stats *st, char *err,
                 size_t errcap) {
  memset(st, 0, sizeof *st);
  if (er_synth_check(o, err, errcap)) return 2;
  gen *g = calloc(1, sizeof *g);
  outbuf *b = malloc(sizeof *b);
  catalogue c;
  int rc = 0;
  memset(&c, 0, sizeof c);
  if (!g || !b) { snprintf(err, errcap, "out of memory"); rc = 3; goto done; }
  rng_seed(&g->r, o->seed);
  if (cat_build(&c, o, &g->r)) { snprintf(err, errcap, "out of memory for %u items", o->items); rc = 3; goto done; }
  if (catalog && write_catalog(catalog, &c)) { snprintf(err, errcap, "writing the catalogue failed"); rc = 3; goto done; }
  g->mark = calloc(o->items, sizeof *g->mark);
  g->seen = calloc(o->items / 8 + 1, 1);
  if (!g->mark || !g->seen) { snprintf(err, errcap, "out of memory for %u items", o->items); rc = 3; goto done; }
  b->f = out; b->err = 0; b->len = 0;
  g->o = o; g->c = &c; g->out = b; g->st = st;
  if (o->format == ER_SYNTH_CSV) OB_LIT(b, "user_id,item_id,category_id,behavior_type,timestamp\n");
  uint64_t next_report = 1000000;
  for (g->u = 0; !g->done && (o->events ? 1 : g->u < o->users); g->u++) {
    user(g);
    if (progress && st->events >= next_report) {
      fprintf(stderr, "synth: %llu events, %llu users...\n", (unsigned long long)st->events, (unsigned long long)st->users);
      next_report += 1000000;
    }
    if (b->err) break;
  }
  ob_flush(b);
  if (b->err || fflush(out) || ferror(out)) { snprintf(err, errcap, "writing the log failed"); rc = 3; }
done:
  if (g) { free(g->mark); free(g->seen); }
  free(g); free(b);
  cat_free(&c);
  return rc;
}

/* ---- the CLI --------------------------------------------------------------- */
static const char USAGE[] =
    "usage: edgerec synth [--preset browsing|shop] [--seed N] [--format csv|ndjson] [--out FILE] [--catalog-out FILE]\n"
    "                     [--items N] [--categories N] [--users N] [--days D] [--events N] [--start UNIX]\n"
    "                     [--zipf S] [--cat-zipf S] [--sessions MEAN] [--session-len MEDIAN] [--session-sigma S]\n"
    "                     [--gap SECONDS] [--gap-sigma S] [--revisit P] [--return P] [--neighbour P]\n"
    "                     [--recency X] [--cart P] [--fav P] [--buy P] [--consumable P] [--intent P]\n"
    "a seeded, labelled-synthetic browsing log (a development aid, not evidence; docs/training.md).\n"
    "defaults (--preset browsing): 1000000 items, 1000 categories, 1000 users, 9 days from 2017-11-25,\n"
    "  zipf 0.6, cat-zipf 1.0, sessions 9.3 (geometric mean), session-len 5 (lognormal median, sigma 1.0),\n"
    "  gap 45 s (lognormal median, sigma 1.2, < 30 min), revisit 0.2 (weight views / (1 + steps since)^recency,\n"
    "  recency 1), return 0.03, neighbour 0.35,\n"
    "  cart 0.06, fav 0.03 (per view), buy 0.30 (per cart), consumable 0.10 (of categories), intent 0.8, seed 1.\n"
    "--preset shop: 2000 items, 40 categories, 5000 users, 30 days, zipf 0.9, sessions 5, session-len 4,\n"
    "  revisit 0.15, return 0.05, neighbour 0.45, cart 0.08, buy 0.35.  Other options override the preset.\n"
    "--events N stops after N events (users are then not limited).  csv (default): a header\n"
    "  user_id,item_id,category_id,behavior_type,timestamp with pv/cart/fav/buy and unix seconds, rows grouped by\n"
    "  user and in time order within a user; import it with\n"
    "  edgerec import csv --user user_id --session-gap 1800 --item item_id --category category_id\n"
    "    --type behavior_type --type-map pv=view,cart=cart,fav=wishlist,buy=purchase --ts timestamp FILE\n"
    "ndjson: the event contract (docs/events.md) directly, sessions USER-K as the import above names them.\n"
    "exit codes: 0 ok, 2 usage, 3 failure (memory, writing)\n";

static int synth_usage(const char *msg) {
  if (msg) fprintf(stderr, "edgerec: synth: %s\n", msg);
  fputs(USAGE, stderr);
  return 2;
}

static int num(const char *v, double lo, double hi, double *out) {
  char *end;
  double x = strtod(v, &end);
  if (!*v || *end || !(x >= lo && x <= hi)) return -1;
  *out = x;
  return 0;
}

int er_synth_main(int argc, char **argv) {
  er_synth_opts o;
  er_synth_preset(&o, "browsing");
  const char *out_path = NULL, *cat_path = NULL, *preset = "browsing";
  char msg[300];
  for (int i = 1; i < argc; i++) /* the preset first: later options override it */
    if (!strcmp(argv[i], "--preset") && i + 1 < argc) {
      preset = argv[i + 1];
      if (er_synth_preset(&o, preset)) { snprintf(msg, sizeof msg, "--preset must be browsing or shop (got '%.60s')", preset); return synth_usage(msg); }
    }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); return 0; }
    if (i + 1 >= argc) { snprintf(msg, sizeof msg, "%.60s needs a value (or unknown argument)", a); return synth_usage(msg); }
    const char *v = argv[++i];
    double x = 0;
    struct { const char *name; double *p; double lo, hi; } dbl[] = {
        {"--days", &o.days, 1e-3, 3650}, {"--zipf", &o.zipf, 0, 3}, {"--cat-zipf", &o.cat_zipf, 0, 3},
        {"--sessions", &o.sessions, 1, 1000}, {"--session-len", &o.len_median, 1, 100}, {"--session-sigma", &o.len_sigma, 0, 3},
        {"--gap", &o.gap_median, 1, 1799}, {"--gap-sigma", &o.gap_sigma, 0, 3}, {"--revisit", &o.revisit, 0, 1},
        {"--return", &o.ret, 0, 1}, {"--neighbour", &o.neighbour, 0, 1}, {"--cart", &o.cart, 0, 1}, {"--fav", &o.fav, 0, 1},
        {"--buy", &o.buy, 0, 1}, {"--consumable", &o.consumable, 0, 1}, {"--intent", &o.intent_pref, 0, 1},
        {"--recency", &o.recency, 0, 3}};
    int hit = 0;
    for (size_t k = 0; k < sizeof dbl / sizeof dbl[0] && !hit; k++)
      if (!strcmp(a, dbl[k].name)) {
        hit = 1;
        if (num(v, dbl[k].lo, dbl[k].hi, dbl[k].p)) {
          snprintf(msg, sizeof msg, "%s must be a number in [%g, %g] (got '%.40s')", a, dbl[k].lo, dbl[k].hi, v);
          return synth_usage(msg);
        }
      }
    if (hit) continue;
    if (!strcmp(a, "--preset")) continue;
    else if (!strcmp(a, "--out")) out_path = v;
    else if (!strcmp(a, "--catalog-out")) cat_path = v;
    else if (!strcmp(a, "--format")) {
      if (!strcmp(v, "csv")) o.format = ER_SYNTH_CSV;
      else if (!strcmp(v, "ndjson")) o.format = ER_SYNTH_NDJSON;
      else { snprintf(msg, sizeof msg, "--format must be csv or ndjson (got '%.40s')", v); return synth_usage(msg); }
    } else {
      static const struct { const char *name; double lo, hi; } ints[] = {
          {"--seed", 0, 9007199254740991.0}, {"--items", 10, 16777216}, {"--categories", 1, 16777216},
          {"--users", 1, 100000000}, {"--events", 1, 1e12}, {"--start", 0, 4000000000.0}};
      int k = -1;
      for (int q = 0; q < 6; q++) if (!strcmp(a, ints[q].name)) k = q;
      if (k < 0) { snprintf(msg, sizeof msg, "unknown option %.60s", a); return synth_usage(msg); }
      if (num(v, ints[k].lo, ints[k].hi, &x) || x != floor(x)) {
        snprintf(msg, sizeof msg, "%s must be an integer in [%.0f, %.0f] (got '%.40s')", a, ints[k].lo, ints[k].hi, v);
        return synth_usage(msg);
      }
      if (k == 0) o.seed = (uint64_t)x;
      else if (k == 1) o.items = (uint32_t)x;
      else if (k == 2) o.categories = (uint32_t)x;
      else if (k == 3) o.users = (uint32_t)x;
      else if (k == 4) o.events = (uint64_t)x;
      else o.start = (int64_t)x;
    }
  }
  if (er_synth_check(&o, msg, sizeof msg)) return synth_usage(msg);
  FILE *out = out_path ? fopen(out_path, "wb") : stdout;
  if (!out) { fprintf(stderr, "edgerec: synth: cannot write %s\n", out_path); return 3; }
  FILE *cat = cat_path ? fopen(cat_path, "wb") : NULL;
  if (cat_path && !cat) { fprintf(stderr, "edgerec: synth: cannot write %s\n", cat_path); if (out != stdout) fclose(out); return 3; }
  er_synth_stats st;
  int rc = er_synth_run(&o, out, cat, 1, &st, msg, sizeof msg);
  if (out != stdout && fclose(out)) rc = rc ? rc : 3;
  if (cat && fclose(cat)) rc = rc ? rc : 3;
  if (rc) { fprintf(stderr, "edgerec: synth: %s\n", msg); return rc; }
  double ev = st.events ? (double)st.events : 1;
  fprintf(stderr,
          "synth: %llu events (view %llu, cart %llu, fav %llu, buy %llu), %llu users, %llu sessions (mean %.2f events), "
          "%llu distinct items (%.3f per event), re-visit share %.3f\n"
          "synth: synthetic (edgerec synth, seed %llu), preset %s\n",
          (unsigned long long)st.events, (unsigned long long)st.by_type[0], (unsigned long long)st.by_type[1],
          (unsigned long long)st.by_type[2], (unsigned long long)st.by_type[3], (unsigned long long)st.users,
          (unsigned long long)st.sessions, st.sessions ? st.events / (double)st.sessions : 0.0,
          (unsigned long long)st.distinct_items, st.distinct_items / ev, st.seen_in_session / ev,
          (unsigned long long)o.seed, preset);
  return 0;
}
