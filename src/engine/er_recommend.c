/* er_recommend.c — candidates and units from the bundle's catalog, ranked by
 * the model (or by their table), with exclusions, de-duplication, rules and
 * the work budget. */
#include <string.h>

#include "er_engine.h"
#include "er_topk.h"

#define DEFAULT_K 10u
#define NEIGHBOURS_PER_ANCHOR 50u
#define POPULAR_FILL 100u
#define TRENDING_FILL 50u

typedef enum { U_FOR_YOU, U_LIST, U_NEIGHBOURS, U_RECENT, U_EXPLICIT } unit_kind;

typedef struct {
  const char *name;
  unit_kind kind;
  uint32_t arg; /* list kind or neighbour relation */
} unit_def;

static const unit_def UNITS[] = {
    {"recommended-for-you", U_FOR_YOU, 0},
    {"most-viewed", U_LIST, ER_LIST_MOST_VIEWED},
    {"most-purchased", U_LIST, ER_LIST_MOST_PURCHASED},
    {"most-added-to-cart", U_LIST, ER_LIST_MOST_CARTED},
    {"trending", U_LIST, ER_LIST_TRENDING},
    {"viewed-this-viewed-that", U_NEIGHBOURS, ER_NBR_VV},
    {"viewed-this-bought-that", U_NEIGHBOURS, ER_NBR_VB},
    {"bought-this-bought-that", U_NEIGHBOURS, ER_NBR_BB},
    {"more-like-this", U_NEIGHBOURS, ER_NBR_CONTENT},
    {"recently-viewed", U_RECENT, 0},
};
#define N_UNITS (sizeof UNITS / sizeof UNITS[0])

/* Adobe Commerce recommendation type ids that name the same units. */
static const struct { const char *alias; uint32_t unit; } ALIASES[] = {
    {"just-for-you", 0}, {"viewed-viewed", 5}, {"viewed-bought", 6}, {"bought-bought", 7}};
#define N_ALIASES (sizeof ALIASES / sizeof ALIASES[0])

#define PURCHASED_ANCHORS 5u /* purchased items anchoring bought-this-bought-that */

/* The context's `exclude` list (and the cart, and purchases) as an
 * open-addressing set (0 marks empty). */
typedef struct { uint64_t *slot; uint32_t mask; } key_set;

static int key_set_init(key_set *ks, uint32_t n, er_arena *a) {
  uint32_t slots = 16;
  while (slots < 2 * n) slots *= 2;
  ks->slot = er_arena_alloc(a, sizeof(uint64_t) * slots);
  if (!ks->slot) return 0;
  memset(ks->slot, 0, sizeof(uint64_t) * slots);
  ks->mask = slots - 1;
  return 1;
}

/* Add a key; 0 when it was there already.  The set must have room (init n). */
static int key_set_add(key_set *ks, uint64_t key) {
  if (!key) key = 1;
  uint32_t h = (uint32_t)(key >> 32) & ks->mask;
  while (ks->slot[h] && ks->slot[h] != key) h = (h + 1) & ks->mask;
  if (ks->slot[h]) return 0;
  ks->slot[h] = key;
  return 1;
}

static int key_set_has(const key_set *ks, uint64_t key) {
  if (!key) key = 1;
  for (uint32_t h = (uint32_t)(key >> 32) & ks->mask; ks->slot[h]; h = (h + 1) & ks->mask)
    if (ks->slot[h] == key) return 1;
  return 0;
}

/* Add skus to the set, and for a configurable's child the parent it is shown as. */
static void key_set_add_items(key_set *ks, er_engine *e, const uint64_t *keys, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) {
    key_set_add(ks, keys[k]);
    uint32_t it = er_bundle_find_sku(&e->b, keys[k]);
    e->units += 2;
    if (it != ER_NONE && er_item_shown(&e->b, it) != it) key_set_add(ks, er_item_key(&e->b, er_item_shown(&e->b, it)));
  }
}

typedef struct {
  er_engine *e;
  const er_context *c;
  er_shopper s;
  uint8_t *seen;        /* bitset over catalog items */
  er_candidate *cand;
  int32_t *table_score; /* table order weight (Q16) */
  uint32_t *raw;        /* explicit candidates: index into the context's list */
  key_set exclude;
  uint32_t n, cap;
  uint32_t unit_key;
  int skip_purchased;
  int filtered;         /* the context's filter has categories or prices */
} gen;

/* Category path `name` is path p or under it ("Gear/Bags" is under "Gear", "Gearbox" is not). */
static int under(const char *name, uint32_t n, const er_cat_path *p) {
  return n >= p->len && !memcmp(name, p->path, p->len) && (n == p->len || name[p->len] == '/');
}

/* Is one of item it's categories one of paths[0..np) or under it?  The
 * bundle's CATEGORIES table gives each category key its path; a key it does
 * not name matches only a path with the same key. */
static int in_categories(const er_bundle *b, uint32_t it, const er_cat_path *paths, uint32_t np, uint64_t *units) {
  uint32_t nc;
  const uint8_t *cats = er_item_cats(b, it, &nc);
  *units += (uint64_t)nc * (1 + np);
  for (uint32_t k = 0; k < nc; k++) {
    uint32_t key = er_rd32(cats + 4 * k), len;
    const char *name = er_bundle_category_name(b, key, &len);
    for (uint32_t f = 0; f < np; f++)
      if (name ? under(name, len, &paths[f]) : paths[f].key == key) return 1;
  }
  return 0;
}

/* The filter's categories and prices (stock is add_item's). */
static int passes_filter(gen *g, uint32_t it) {
  const er_filter *f = &g->c->filter;
  const er_bundle *b = &g->e->b;
  if (f->price_min >= 0 || f->price_max >= 0) {
    int64_t p = (int64_t)er_item_price(b, it) * 10000; /* cents → millionths */
    if (!p || (f->price_min >= 0 && p < f->price_min) || (f->price_max >= 0 && p > f->price_max)) return 0;
  }
  if (f->n_cats && !in_categories(b, it, f->cats, f->n_cats, &g->e->units)) return 0;
  if (f->n_not_cats && in_categories(b, it, f->not_cats, f->n_not_cats, &g->e->units)) return 0;
  return 1;
}

/* A purchase in the profile keeps its item out of a unit unless the item is
 * bought again by at least REPEAT_MIN of its buyers (Q16; consumables: the
 * trainer measures it per item) and the purchase is older than
 * JUST_PURCHASED seconds: an item just bought is never pushed again. */
#define REPEAT_MIN 6554u           /* 10 % */
#define JUST_PURCHASED 86400u
static int purchase_blocks(const gen *g, uint32_t it, const er_profile_item *pi) {
  if (!(pi->types & ER_SEEN_PURCHASE)) return 0;
  if (er_item_repeat(&g->e->b, it) < REPEAT_MIN) return 1;
  return !g->s.now || g->s.now < pi->ts || g->s.now - pi->ts < JUST_PURCHASED;
}

/* Add catalog item `it` (children fold into a visible parent) unless a rule
 * drops it; returns its candidate position, or -1 (dropped, or seen before). */
static int32_t add_item(gen *g, uint32_t it, int32_t table_score) {
  const er_bundle *b = &g->e->b;
  if (it == ER_NONE || g->n >= g->cap) return -1;
  it = er_item_shown(b, it);
  if (g->seen[it >> 3] & (1u << (it & 7))) return -1;
  g->seen[it >> 3] |= (uint8_t)(1u << (it & 7));
  uint16_t flags = er_item_flags(b, it);
  if (!(flags & ER_ITEM_VISIBLE) || (!(flags & ER_ITEM_IN_STOCK) && g->c->filter.in_stock_only)) return -1;
  if (it == g->s.page_item) return -1;
  uint64_t key = er_item_key(b, it);
  for (uint32_t k = 0; k < g->c->profile.n_items; k++) {
    const er_profile_item *pi = &g->c->profile.items[k];
    if (pi->sku_key != key) continue;
    if ((pi->types & ER_SEEN_DISLIKED) || (g->skip_purchased && purchase_blocks(g, it, pi))) return -1;
  }
  if (key_set_has(&g->exclude, key)) return -1;
  if (g->filtered && !passes_filter(g, it)) return -1;
  int32_t sc = 0;
  int pin = -1, ex = 0;
  er_rules_for(b, it, g->unit_key, &sc, &pin, &ex);
  if (ex) return -1;
  g->cand[g->n] = (er_candidate){it, key, er_item_price(b, it)};
  g->table_score[g->n] = table_score;
  return (int32_t)g->n++;
}

/* The first `limit` items of a popularity list, each with its table score:
 * the live list of the kind when one is in force (er_engine_set_lists),
 * else the bundle's list with the item's popularity field. */
static void add_list(gen *g, uint32_t kind, uint32_t limit, int field) {
  const er_live_lists *live = g->e->lists;
  if (live && live->given[kind]) {
    uint32_t n = live->n[kind] < limit ? live->n[kind] : limit;
    g->e->units += n;
    for (uint32_t k = 0; k < n; k++) add_item(g, live->e[kind][k].item, (int32_t)live->e[kind][k].score);
    return;
  }
  uint32_t n;
  const uint8_t *l = er_bundle_list(&g->e->b, kind, &n);
  if (n > limit) n = limit;
  g->e->units += n;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t it = er_rd32(l + 4 * k);
    add_item(g, it, (int32_t)er_item_pop(&g->e->b, it, field));
  }
}

static void add_neighbours(gen *g, int rel, uint32_t anchor, uint32_t limit) {
  uint32_t n;
  const uint8_t *e = er_bundle_neighbours(&g->e->b, rel, anchor, &n);
  if (n > limit) n = limit;
  g->e->units += n;
  for (uint32_t k = 0; k < n; k++) add_item(g, er_nbr_item(&g->e->b, e, k), (int32_t)er_nbr_weight(&g->e->b, e, k));
}

/* Neighbours (relation rel) of several anchors: a candidate's weight is the
 * sum of its weights from each anchor (one anchor: exactly add_neighbours). */
static er_status add_neighbours_merged(gen *g, int rel, const uint32_t *anchors, uint32_t na) {
  if (na == 1) { add_neighbours(g, rel, anchors[0], ER_MAX_CANDIDATES); return ER_OK; }
  const er_bundle *b = &g->e->b;
  const uint32_t slots = 2 * ER_MAX_CANDIDATES; /* at least twice the candidates: probes end */
  uint32_t *item = er_arena_alloc(&g->e->arena, sizeof(uint32_t) * slots);
  uint32_t *pos = er_arena_alloc(&g->e->arena, sizeof(uint32_t) * slots);
  uint32_t *last = er_arena_alloc(&g->e->arena, sizeof(uint32_t) * g->cap);
  if (!item || !pos || !last) return er_fail(&g->e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  memset(item, 0xFF, sizeof(uint32_t) * slots);
  for (uint32_t a = 0; a < na; a++) {
    uint32_t n;
    const uint8_t *e = er_bundle_neighbours(b, rel, anchors[a], &n);
    if (n > ER_MAX_CANDIDATES) n = ER_MAX_CANDIDATES;
    g->e->units += 2 * n;
    for (uint32_t k = 0; k < n; k++) {
      uint32_t it = er_nbr_item(b, e, k), w = er_nbr_weight(b, e, k), shown = er_item_shown(b, it);
      uint32_t h = (shown * 2654435761u) & (slots - 1);
      while (item[h] != ER_NONE && item[h] != shown) h = (h + 1) & (slots - 1);
      if (item[h] == shown) { /* a candidate already: add this anchor's weight once */
        if (last[pos[h]] != a) { g->table_score[pos[h]] += (int32_t)w; last[pos[h]] = a; }
        continue;
      }
      int32_t p = add_item(g, it, (int32_t)w);
      if (p < 0) continue;
      item[h] = shown;
      pos[h] = (uint32_t)p;
      last[p] = a;
    }
  }
  return ER_OK;
}

/* Append to anchors[0..*n) the catalog items of keys not already there (at most max). */
static void add_anchors(er_engine *e, const uint64_t *keys, uint32_t nk, uint32_t *anchors, uint32_t *n, uint32_t max) {
  uint32_t got[ER_CART_ANCHORS > PURCHASED_ANCHORS ? ER_CART_ANCHORS : PURCHASED_ANCHORS];
  uint32_t m = er_engine_items(e, keys, nk, got, max);
  for (uint32_t k = 0; k < m; k++) {
    uint32_t x = 0;
    while (x < *n && anchors[x] != got[k]) x++;
    if (x == *n) anchors[(*n)++] = got[k];
  }
}

static const int LIST_FIELD[] = {0, 0, 2, 1, 3};

/* Items top[0..k); candidates from n_primary on are back-fill ("backup":true). */
static void write_items(er_engine *e, er_buf *o, const gen *g, const er_scored *top, uint32_t k, uint32_t n_primary) {
  const er_bundle *b = &e->b;
  er_buf_lit(o, "\"items\":[");
  for (uint32_t r = 0; r < k; r++) {
    uint32_t pos = top[r].pos;
    if (r) er_buf_put(o, ",", 1);
    er_buf_lit(o, "{\"sku\":");
    const er_candidate *c = &g->cand[pos];
    if (c->item != ER_NONE) {
      uint32_t n;
      const char *sku = er_item_sku(b, c->item, &n);
      er_buf_jstr(o, sku, n);
    } else { /* explicit unknown candidate: its original (validated) JSON string */
      uint32_t x = g->raw[pos];
      er_buf_put(o, "\"", 1);
      er_buf_put(o, g->c->cand_raw[x], g->c->cand_raw_len[x]);
      er_buf_put(o, "\"", 1);
    }
    er_buf_lit(o, ",\"score\":");
    er_buf_q16(o, top[r].score);
    if (pos >= n_primary) er_buf_lit(o, ",\"backup\":true");
    er_buf_put(o, "}", 1);
  }
  er_buf_put(o, "]", 1);
}

/* Features of every candidate, binary (see er_features_for in edgerec.h). */
static er_status dump_features(er_engine *e, gen *g, const char **out, uint32_t *out_len) {
  er_status st = er_engine_reserve(e, 12 + g->n * ER_FEATURE_RECORD_MAX);
  if (st) return st;
  uint8_t *o = (uint8_t *)e->out;
  uint32_t at = 12;
  uint64_t mask = ((uint64_t)1 << (e->b.model_kind == ER_MODEL_LINEAR ? e->b.bits : 24)) - 1;
  er_wr32(o, g->n);
  er_wr32(o + 4, ER_DENSE_COUNT);
  er_wr32(o + 8, e->b.model_kind == ER_MODEL_LINEAR ? e->b.bits : 0);
  for (uint32_t x = 0; x < g->n; x++) at += er_features_record(&g->s, &g->cand[x], mask, o + at);
  *out = e->out;
  *out_len = at;
  return ER_OK;
}

static er_status recommend_impl(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                                const char **out, uint32_t *out_len, int dump);

/* dump modes of recommend_impl */
enum { RECOMMEND = 0, DUMP_FEATURES = 1, DUMP_CANDIDATES = 2 };

er_status er_recommend(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                       const char **out, uint32_t *out_len) {
  return recommend_impl(e, ctx, ctx_len, profile, profile_len, out, out_len, 0);
}

er_status er_features_for(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                          const uint8_t **out, uint32_t *out_len) {
  return recommend_impl(e, ctx, ctx_len, profile, profile_len, (const char **)out, out_len, DUMP_FEATURES);
}

er_status er_engine_candidates(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile,
                               uint32_t profile_len, const er_shopper **s, const er_candidate **cand, uint32_t *n) {
  const char *o;
  uint32_t ol;
  er_status st = recommend_impl(e, ctx, ctx_len, profile, profile_len, &o, &ol, DUMP_CANDIDATES);
  if (st) return st;
  const gen *g = (const gen *)(const void *)o;
  *s = &g->s;
  *cand = g->cand;
  *n = g->n;
  return ER_OK;
}

static er_status recommend_impl(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                                const char **out, uint32_t *out_len, int dump) {
  er_arena_reset(&e->arena);
  er_error_clear(&e->err);
  e->units = 0;
  e->reason = "";
  if (!ctx && ctx_len) return er_fail(&e->err, ER_E_USAGE, ER_NO_OFFSET, "recommend: context pointer is NULL");
  gen *gp = er_arena_alloc(&e->arena, sizeof *gp); /* in the arena: DUMP_CANDIDATES hands it out */
  if (!gp) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  gen g;
  memset(&g, 0, sizeof g);
  g.e = e;
  er_context *c = er_arena_alloc(&e->arena, sizeof *c);
  if (!c) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  er_status st = er_context_parse(c, ctx_len ? ctx : "{}", ctx_len ? ctx_len : 2, profile, profile_len, &e->arena, &e->err);
  e->units += ctx_len / 16;
  if (st) { e->reason = "context"; return st; }
  g.c = c;
  if (e->unit_override[0]) {
    c->unit_len = (uint32_t)strlen(e->unit_override);
    memcpy(c->unit, e->unit_override, c->unit_len + 1);
  }
  if (e->k_override) c->k = e->k_override;
  const unit_def *u = &UNITS[0];
  if (c->unit_len) {
    u = NULL;
    for (uint32_t k = 0; k < N_UNITS; k++)
      if (strlen(UNITS[k].name) == c->unit_len && !memcmp(UNITS[k].name, c->unit, c->unit_len)) u = &UNITS[k];
    for (uint32_t k = 0; k < N_ALIASES; k++)
      if (strlen(ALIASES[k].alias) == c->unit_len && !memcmp(ALIASES[k].alias, c->unit, c->unit_len)) u = &UNITS[ALIASES[k].unit];
    if (!u)
      return er_fail(&e->err, ER_E_RANGE, ER_NO_OFFSET,
                     "context: unknown unit '%s' (known: recommended-for-you, most-viewed, … and Adobe's type ids such as just-for-you: docs/context.md)",
                     c->unit);
  }
  unit_kind kind = c->n_candidates ? U_EXPLICIT : u->kind;
  g.unit_key = (uint32_t)er_key(u->name, strlen(u->name));
  g.skip_purchased = u->kind != U_RECENT;
  uint32_t k = c->k ? c->k : DEFAULT_K;
  /* shopper */
  er_engine_shopper(e, c, &g.s);
  /* candidates */
  g.cap = ER_MAX_CANDIDATES;
  g.cand = er_arena_alloc(&e->arena, sizeof(er_candidate) * g.cap);
  g.table_score = er_arena_alloc(&e->arena, sizeof(int32_t) * g.cap);
  g.seen = er_arena_alloc(&e->arena, e->b.n_items / 8 + 1);
  if (!g.cand || !g.table_score || !g.seen) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  memset(g.seen, 0, e->b.n_items / 8 + 1);
  /* never returned: exclude, the cart, and purchases (but in recently-viewed) */
  uint32_t n_purchased = g.skip_purchased ? c->n_purchased : 0;
  if (!key_set_init(&g.exclude, c->n_exclude + 2 * (c->n_cart + n_purchased), &e->arena))
    return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  for (uint32_t x = 0; x < c->n_exclude; x++) key_set_add(&g.exclude, c->exclude[x]);
  key_set_add_items(&g.exclude, e, c->cart, c->n_cart);
  key_set_add_items(&g.exclude, e, c->purchased, n_purchased);
  g.filtered = c->filter.n_cats || c->filter.n_not_cats || c->filter.price_min >= 0 || c->filter.price_max >= 0;
  e->units += c->n_exclude;
  e->units += e->b.n_items / 64;
  switch (kind) {
  case U_EXPLICIT: {
    /* unknown skus are de-duplicated through a key set */
    key_set unknown;
    g.raw = er_arena_alloc(&e->arena, sizeof(uint32_t) * (c->n_candidates + 1));
    if (!key_set_init(&unknown, c->n_candidates, &e->arena) || !g.raw) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
    for (uint32_t x = 0; x < c->n_candidates; x++) {
      uint64_t key = c->candidates[x];
      uint32_t it = er_bundle_find_sku(&e->b, key);
      e->units += 2;
      if (it != ER_NONE) { add_item(&g, it, 0); continue; }
      /* unknown: no categories and no price, so a category or price filter drops it */
      if (g.n >= g.cap || key_set_has(&g.exclude, key) || c->filter.n_cats || c->filter.price_min >= 0 || c->filter.price_max >= 0) continue;
      if (!key_set_add(&unknown, key)) continue; /* duplicate */
      g.raw[g.n] = x;
      g.cand[g.n] = (er_candidate){ER_NONE, key, 0};
      g.table_score[g.n++] = 0;
    }
    break;
  }
  case U_FOR_YOU:
    for (uint32_t a = 0; a < g.s.n_anchors; a++)
      for (int r = 0; r < ER_NBR_KINDS; r++) add_neighbours(&g, r, g.s.anchors[a], NEIGHBOURS_PER_ANCHOR);
    /* the shopper's own recent items (views and carts, not purchases): coming back to an item is common,
       and the model decides with the recency / viewed / carted features */
    for (uint32_t x = 0; x < c->profile.n_items; x++) {
      e->units += 2;
      add_item(&g, er_bundle_find_sku(&e->b, c->profile.items[x].sku_key), 0);
    }
    add_list(&g, ER_LIST_MOST_VIEWED, POPULAR_FILL, 0);
    add_list(&g, ER_LIST_TRENDING, TRENDING_FILL, 3);
    add_list(&g, ER_LIST_MOST_PURCHASED, TRENDING_FILL, 2);
    if (g.n < k) /* tiny or list-less catalogs, narrow filters: everything, within the work budget */
      for (uint32_t it = 0; it < e->b.n_items && g.n < g.cap && e->units <= e->budget; it++, e->units++) add_item(&g, it, 0);
    break;
  case U_LIST:
    add_list(&g, u->arg, ER_MAX_CANDIDATES, LIST_FIELD[u->arg]);
    break;
  case U_NEIGHBOURS: {
    /* anchors: the page item; else the cart's items (and for bought-this-bought-that
       the purchases); else the most recent item */
    uint32_t anchors[ER_CART_ANCHORS + PURCHASED_ANCHORS], na = 0;
    if (g.s.page_item == ER_NONE) {
      add_anchors(e, c->cart, c->n_cart, anchors, &na, ER_CART_ANCHORS);
      if (u->arg == ER_NBR_BB) add_anchors(e, c->purchased, c->n_purchased, anchors, &na, PURCHASED_ANCHORS);
    }
    if (!na && g.s.n_anchors) anchors[na++] = g.s.anchors[0];
    if (na && (st = add_neighbours_merged(&g, (int)u->arg, anchors, na))) return st;
    break;
  }
  case U_RECENT:
    for (uint32_t x = 0; x < c->profile.n_items; x++) {
      if (!(c->profile.items[x].types & ER_SEEN_VIEW)) continue;
      uint32_t it = er_bundle_find_sku(&e->b, c->profile.items[x].sku_key);
      add_item(&g, it, (int32_t)(ER_PROFILE_MAX_ITEMS - x) * 2048);
    }
    break;
  }
  if (dump == DUMP_FEATURES) return dump_features(e, &g, out, out_len);
  if (dump == DUMP_CANDIDATES) {
    *gp = g;
    *out = (const char *)(const void *)gp;
    *out_len = sizeof *gp;
    return ER_OK;
  }
  /* score */
  int model_ranked = kind == U_FOR_YOU || kind == U_EXPLICIT;
  er_scored *sc = er_arena_alloc(&e->arena, sizeof(er_scored) * (g.n + 1));
  er_scored *heap = er_arena_alloc(&e->arena, sizeof(er_scored) * (k + 1));
  er_scored *top = er_arena_alloc(&e->arena, sizeof(er_scored) * (k + 1));
  if (!sc || !heap || !top) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
  int fallback = 0;
  if (model_ranked) {
    uint32_t done;
    int32_t *ms = er_arena_alloc(&e->arena, sizeof(int32_t) * (g.n + 1));
    if (!ms) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
    fallback = er_engine_score(e, &g.s, g.cand, g.n, ms, &done) == ER_E_BUDGET;
    if (!fallback) memcpy(g.table_score, ms, sizeof(int32_t) * g.n);
  }
  for (uint32_t x = 0; x < g.n && !fallback; x++) {
    int32_t s = g.table_score[x];
    int pin = -1, ex = 0;
    if (g.cand[x].item != ER_NONE) er_rules_for(&e->b, g.cand[x].item, g.unit_key, &s, &pin, &ex);
    sc[x] = (er_scored){s, x};
  }
  if (fallback) { /* generation order, unscored */
    for (uint32_t x = 0; x < g.n; x++) sc[x] = (er_scored){0, x};
    e->reason = "budget";
  }
  uint32_t nk = er_topk(sc, g.n, k, heap, top);
  /* pins: move pinned items (if selected or among candidates) to their slot */
  if (!fallback && e->b.sec[ER_SEC_RULES].count) {
    for (uint32_t x = 0; x < g.n; x++) {
      if (g.cand[x].item == ER_NONE) continue;
      int32_t s0 = 0;
      int pin = -1, ex = 0;
      er_rules_for(&e->b, g.cand[x].item, g.unit_key, &s0, &pin, &ex);
      if (pin < 0) continue;
      uint32_t at = nk;
      for (uint32_t r = 0; r < nk; r++)
        if (top[r].pos == x) at = r;
      if (at == nk) { /* not selected: it takes the last slot's place */
        if (nk < k) nk++;
        at = nk - 1;
        top[at] = sc[x];
      }
      uint32_t want = (uint32_t)pin < nk ? (uint32_t)pin : nk - 1;
      er_scored moved = top[at];
      if (want < at) memmove(top + want + 1, top + want, (at - want) * sizeof *top);
      else if (want > at) memmove(top + at, top + at + 1, (want - at) * sizeof *top);
      top[want] = moved;
    }
  }
  /* back-fill: the rest of k from a list, under the same rules, never an item again */
  uint32_t n_primary = g.n, backfilled = 0;
  if (c->backfill && nk < k) {
    add_list(&g, c->backfill, ER_MAX_CANDIDATES, LIST_FIELD[c->backfill]);
    er_scored *bf = er_arena_alloc(&e->arena, sizeof(er_scored) * (g.n - n_primary + 1));
    if (!bf) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: out of arena memory");
    for (uint32_t x = n_primary; x < g.n; x++) {
      int32_t s = g.table_score[x];
      int pin = -1, ex = 0;
      er_rules_for(&e->b, g.cand[x].item, g.unit_key, &s, &pin, &ex);
      bf[x - n_primary] = (er_scored){s, x};
    }
    backfilled = er_topk(bf, g.n - n_primary, k - nk, heap, top + nk);
    nk += backfilled;
  }
  /* output */
  if ((st = er_engine_reserve(e, 160 + nk * (ER_MAX_SKU_BYTES * 6 + 64)))) return st;
  er_buf o;
  er_buf_init(&o, e->out, e->out_cap);
  er_buf_lit(&o, "{\"unit\":");
  er_buf_jstr(&o, u->name, (uint32_t)strlen(u->name));
  er_buf_lit(&o, ",\"model\":");
  er_buf_jstr(&o, e->b.version, (uint32_t)strlen(e->b.version));
  er_buf_put(&o, ",", 1);
  write_items(e, &o, &g, top, nk, n_primary);
  if (backfilled) {
    er_buf_lit(&o, ",\"backfilled\":");
    er_buf_int(&o, backfilled);
  }
  if (fallback) er_buf_lit(&o, ",\"fallback\":\"work-budget\"");
  er_buf_put(&o, "}", 1);
  if (o.overflow) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "recommend: output buffer too small");
  *out = e->out;
  *out_len = o.len;
  return ER_OK;
}
