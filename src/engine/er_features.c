/* er_features.c — shopper state, sparse and dense features. */
#include "er_features.h"

#include <string.h>

#define SCHEMA_SEED 0x6564676572656331ull /* "edgerec1" */

static inline uint64_t prefix(uint32_t ns, uint64_t a) { return er_mix64(SCHEMA_SEED ^ ((uint64_t)ns << 56), a); }

uint64_t er_feature_hash(uint32_t ns, uint64_t a, uint64_t b) { return er_mix64(prefix(ns, a), b); }

/* Hashes of (ns, small integer, 0), computed once per process: the band
 * namespaces take values 0..64. */
#define BAND_VALUES 66
static uint64_t band_hash[ER_NS_COUNT][BAND_VALUES];
static int band_ready;
static void band_init(void) {
  for (uint32_t ns = 0; ns < ER_NS_COUNT; ns++)
    for (uint32_t v = 0; v < BAND_VALUES; v++) band_hash[ns][v] = er_feature_hash(ns, v, 0);
  band_ready = 1;
}
static inline uint64_t band_h(uint32_t ns, uint32_t v) {
  return v < BAND_VALUES ? band_hash[ns][v] : er_feature_hash(ns, v, 0);
}

er_device er_device_from(const char *s, uint32_t n) {
  static const char *names[] = {"", "desktop", "mobile", "tablet", "app"};
  for (uint32_t k = 1; k < 5; k++)
    if (strlen(names[k]) == n && !memcmp(s, names[k], n)) return (er_device)k;
  return ER_DEV_UNKNOWN;
}

er_page_type er_page_from(const char *s, uint32_t n) {
  static const char *names[] = {"", "home", "category", "search", "product", "cart"};
  for (uint32_t k = 1; k < 6; k++)
    if (strlen(names[k]) == n && !memcmp(s, names[k], n)) return (er_page_type)k;
  return ER_PAGE_NONE;
}

/* ---- shopper state --------------------------------------------------------- */

static er_shopper_slot *slot_for(er_shopper *s, uint32_t item, int create) {
  uint32_t h = (uint32_t)(item * 2654435761u) & s->map_mask;
  for (uint32_t probe = 0; probe <= s->map_mask; probe++) {
    er_shopper_slot *sl = &s->map[(h + probe) & s->map_mask];
    if (sl->gen != s->gen) {
      if (!create) return NULL;
      *sl = (er_shopper_slot){item, s->gen, 0, 0, 0};
      return sl;
    }
    if (sl->item == item) return sl;
  }
  return NULL; /* full: the caller treats it as absent */
}

static uint16_t sat16(uint32_t v) { return v > 65535u ? 65535u : (uint16_t)v; }

void er_shopper_build(er_shopper *s, const er_bundle *b, const er_profile *p, const uint32_t *extra, uint32_t n_extra,
                      er_shopper_slot *map_mem, uint32_t map_slots, uint32_t *gen, uint64_t *units) {
  s->b = b;
  s->p = p;
  s->map = map_slots ? map_mem : NULL;
  s->map_mask = map_slots ? map_slots - 1 : 0;
  if (++*gen == 0 || *gen == 1) { /* first use or wrap-around: clear */
    for (uint32_t k = 0; k < map_slots; k++) map_mem[k] = (er_shopper_slot){ER_NONE, 0, 0, 0, 0};
    *gen = 1;
  }
  s->gen = *gen;
  /* anchors: the page item first, then recent profile items in the catalog */
  s->n_anchors = 0;
  if (s->page_item != ER_NONE) s->anchors[s->n_anchors++] = s->page_item;
  for (uint32_t k = 0; k < p->n_items && s->n_anchors < ER_RECENT_ANCHORS; k++) {
    if (p->items[k].types & ER_SEEN_DISLIKED) continue;
    uint32_t it = er_bundle_find_sku(b, p->items[k].sku_key);
    if (it == ER_NONE || it == s->page_item) continue;
    s->anchors[s->n_anchors++] = it;
  }
  /* then the cart's items not already anchors */
  for (uint32_t k = 0, recent = s->n_anchors; k < n_extra && k < ER_CART_ANCHORS; k++) {
    uint32_t a = 0;
    while (a < s->n_anchors && s->anchors[a] != extra[k]) a++;
    if (a == s->n_anchors && s->n_anchors < recent + ER_CART_ANCHORS) s->anchors[s->n_anchors++] = extra[k];
  }
  /* co-occurrence map from the anchors' neighbour lists */
  for (uint32_t a = 0; a < s->n_anchors; a++) {
    for (int r = 0; r < ER_NBR_KINDS; r++) {
      uint32_t n;
      const uint8_t *e = er_bundle_neighbours(b, r, s->anchors[a], &n);
      *units += n;
      for (uint32_t k = 0; k < n && s->map; k++) {
        er_shopper_slot *sl = slot_for(s, er_nbr_item(b, e, k), 1);
        if (!sl) continue;
        uint32_t w = er_nbr_weight(b, e, k);
        if (r == ER_NBR_CONTENT) {
          if (a == 0) sl->content_last = sat16(w);
        } else {
          if (a == 0) sl->cooc_last = sat16(sl->cooc_last + w);
          sl->cooc_recent += w / (a + 1);
        }
      }
    }
  }
  /* strongest categories */
  s->n_top = 0;
  for (uint32_t k = 0; k < p->n_cats && k < 3; k++) {
    s->top_cats[s->n_top] = p->cats[k].key;
    s->top_aff[s->n_top++] = p->cats[k].affinity;
  }
  s->price_band = p->price_n ? er_band(p->price_mean) : 0;
  /* hash prefixes of the shopper side */
  if (!band_ready) band_init();
  for (uint32_t t = 0; t < s->n_top; t++) s->pre_affx[t] = prefix(ER_NS_AFFX, s->top_cats[t]);
  s->pre_pricex = prefix(ER_NS_PRICEX, s->price_band);
  s->pre_device = prefix(ER_NS_DEVICE_CAT, (uint64_t)s->device);
  s->pre_hour = prefix(ER_NS_HOUR_CAT, s->hour >= 0 ? (uint64_t)(s->hour / 3) : 0);
  s->pre_page = prefix(ER_NS_PAGE, (uint64_t)s->page);
  s->pre_last = s->n_anchors ? prefix(ER_NS_LAST_X, er_item_key(b, s->anchors[0])) : 0;
  s->pre_country = prefix(ER_NS_COUNTRY_CAT, s->country);
  s->h_page[0] = er_mix64(s->pre_page, 0);
  s->h_page[1] = er_mix64(s->pre_page, 1);
  s->n_first = (s->device ? 1u : 0u) + (s->hour >= 0 ? 1u : 0u) + (s->country ? 1u : 0u);
  memset(s->cat_valid, 0, sizeof s->cat_valid);
}

/* The request's hashes for category `key` (the memo's entry, filled on first
 * use): exactly what er_feature_hash / er_mix64 give for each feature. */
static const er_cat_memo *cat_hashes(const er_shopper *cs, uint32_t key) {
  er_shopper *s = (er_shopper *)(uintptr_t)cs; /* the memo is scratch: the shopper is otherwise read-only here */
  uint32_t slot = (key * 2654435761u) >> 27;  /* 32 slots */
  er_cat_memo *m = &s->cat_memo[slot];
  if (s->cat_valid[slot] && m->key == key) return m;
  m->key = key;
  m->cat = er_feature_hash(ER_NS_CAT, key, 0);
  for (uint32_t t = 0; t < s->n_top; t++) m->affx[t] = er_mix64(s->pre_affx[t], key);
  m->device = er_mix64(s->pre_device, key);
  m->hour = er_mix64(s->pre_hour, key);
  m->country = er_mix64(s->pre_country, key);
  m->dot_cats = m->dot_first = 0;
  if (s->b->model_kind == ER_MODEL_LINEAR) { /* the same terms er_features_sparse adds, summed once */
    const int8_t *w = (const int8_t *)s->b->sec[ER_SEC_LINEAR].p;
    uint64_t mask = ((uint64_t)1 << s->b->bits) - 1;
    m->dot_cats = 256 * w[m->cat & mask];
    for (uint32_t t = 0; t < s->n_top; t++) m->dot_cats += (int32_t)(s->top_aff[t] > 512 ? 512 : s->top_aff[t]) * w[m->affx[t] & mask];
    if (s->device) m->dot_first += 256 * w[m->device & mask];
    if (s->hour >= 0) m->dot_first += 256 * w[m->hour & mask];
    if (s->country) m->dot_first += 256 * w[m->country & mask];
  }
  s->cat_valid[slot] = 1;
  return m;
}

/* Profile entry of a candidate: position (0 newest) or -1. */
static int profile_pos(const er_profile *p, uint64_t key) {
  for (uint32_t k = 0; k < p->n_items; k++)
    if (p->items[k].sku_key == key) return (int)k;
  return -1;
}

typedef struct {
  uint32_t cats[2];
  uint32_t ncat;
  uint32_t price;
  uint16_t pop[4];
  uint16_t cooc_last, content_last;
  uint32_t cooc_recent;
  int pos;
  uint8_t types, count;
  int64_t age;  /* seconds since the profile last saw it; -1 unknown */
  uint16_t repeat;
  uint16_t affinity;
  int page_cat; /* -1 unknown, 0/1 */
} cand_info;

static void gather(const er_shopper *s, const er_candidate *c, cand_info *ci) {
  memset(ci, 0, sizeof *ci);
  ci->price = c->price_cents;
  ci->page_cat = s->page_cat ? 0 : -1;
  if (c->item != ER_NONE) {
    const er_bundle *b = s->b;
    uint32_t n;
    const uint8_t *cats = er_item_cats(b, c->item, &n);
    for (uint32_t k = 0; k < n; k++) {
      uint32_t key = er_rd32(cats + 4 * k);
      if (ci->ncat < 2) ci->cats[ci->ncat++] = key;
      uint16_t a = er_profile_affinity(s->p, key);
      if (a > ci->affinity) ci->affinity = a;
      if (s->page_cat && key == s->page_cat) ci->page_cat = 1;
    }
    ci->price = er_item_price(b, c->item);
    for (int k = 0; k < 4; k++) ci->pop[k] = er_item_pop(b, c->item, k);
    ci->repeat = er_item_repeat(b, c->item);
    if (s->map) {
      er_shopper_slot *sl = slot_for((er_shopper *)s, c->item, 0);
      if (sl) {
        ci->cooc_last = sl->cooc_last;
        ci->content_last = sl->content_last;
        ci->cooc_recent = sl->cooc_recent;
      }
    }
  }
  ci->pos = profile_pos(s->p, c->sku_key);
  ci->age = -1;
  if (ci->pos >= 0) {
    const er_profile_item *pi = &s->p->items[ci->pos];
    ci->types = pi->types;
    ci->count = pi->count;
    if (s->now) ci->age = s->now > pi->ts ? (int64_t)s->now - pi->ts : 0;
  }
}

static uint32_t recency_bucket(int pos) { return pos < 0 ? 5u : pos < 1 ? 0u : pos < 2 ? 1u : pos < 5 ? 2u : pos < 10 ? 3u : 4u; }

/* The sparse features of one candidate, one list for both uses: with w NULL
 * written to h / v; else dotted with the weights w (mask: the bucket mask)
 * into *acc, the per-category terms from the memo.  Returns the count. */
static inline __attribute__((always_inline)) uint32_t sparse(const er_shopper *s, const er_candidate *c, uint64_t *h, int16_t *v,
                                                             const int8_t *w, uint64_t mask, int32_t *acc) {
  cand_info ci;
  gather(s, c, &ci);
  uint32_t n = 0;
  int32_t sum = 0;
  /* every ADD equals er_feature_hash(ns, a, b); prefixes and band tables only
   * avoid recomputing the parts that do not depend on the candidate */
#define ADDH(hash, val)                                                            \
  do {                                                                             \
    if (w) sum += (int32_t)w[(hash) & mask] * (int32_t)(int16_t)(val);             \
    else { h[n] = (hash); v[n] = (int16_t)(val); }                                 \
    n++;                                                                           \
  } while (0)
  ADDH(band_h(ER_NS_BIAS, 0), 256);
  ADDH(er_feature_hash(ER_NS_ITEM, c->sku_key, 0), 256);
  for (uint32_t k = 0; k < ci.ncat; k++) {
    const er_cat_memo *m = cat_hashes(s, ci.cats[k]);
    if (w) { sum += m->dot_cats; n += 1 + s->n_top; continue; }
    ADDH(m->cat, 256);
    for (uint32_t t = 0; t < s->n_top; t++) {
      uint32_t a = s->top_aff[t] > 512 ? 512 : s->top_aff[t]; /* value: affinity capped at 2.0 */
      ADDH(m->affx[t], a);
    }
  }
  ADDH(band_h(ER_NS_AFF_BAND, er_band(ci.affinity >> 6)), 256);
  if (s->price_band && ci.price) ADDH(er_mix64(s->pre_pricex, er_band(ci.price)), 256);
  ADDH(band_h(ER_NS_RECENCY, recency_bucket(ci.pos)), 256);
  ADDH(band_h(ER_NS_COOC, er_band(ci.cooc_last >> 8)), 256);
  ADDH(band_h(ER_NS_COOC_RECENT, er_band(ci.cooc_recent >> 8)), 256);
  ADDH(band_h(ER_NS_CONTENT, er_band(ci.content_last >> 8)), 256);
  ADDH(band_h(ER_NS_POP_VIEW, er_band(ci.pop[0] >> 4)), 256);
  ADDH(band_h(ER_NS_POP_PURCHASE, er_band(ci.pop[2] >> 4)), 256);
  ADDH(band_h(ER_NS_TRENDING, er_band(ci.pop[3] >> 4)), 256);
  const er_cat_memo *m0 = cat_hashes(s, ci.ncat ? ci.cats[0] : 0);
  if (w) { sum += m0->dot_first; n += s->n_first; } /* DEVICE, HOUR, COUNTRY below */
  if (s->device && !w) ADDH(m0->device, 256);
  if (s->hour >= 0 && !w) ADDH(m0->hour, 256);
  if (s->page) ADDH(s->h_page[ci.page_cat > 0], 256);
  if (s->n_anchors) ADDH(er_mix64(s->pre_last, c->sku_key), 256);
  if (ci.types & ER_SEEN_CART) ADDH(band_h(ER_NS_CARTED, 1), 256);
  if (s->country && !w) ADDH(m0->country, 256);
  if (ci.pos >= 0) ADDH(er_feature_hash(ER_NS_REVISIT, er_band(ci.count), ci.age < 0 ? 63u : er_band((uint64_t)ci.age / 60)), 256);
  if (ci.types & ER_SEEN_WISH) ADDH(band_h(ER_NS_WISHED, 1), 256);
  if (ci.repeat) ADDH(er_feature_hash(ER_NS_REPEAT, er_band(ci.repeat >> 10), (ci.types & ER_SEEN_PURCHASE) != 0), 256);
#undef ADDH
  if (acc) *acc = sum;
  return n;
}

uint32_t er_features_sparse(const er_shopper *s, const er_candidate *c, uint64_t *h, int16_t *v) {
  return sparse(s, c, h, v, NULL, 0, NULL);
}

int32_t er_features_linear_dot(const er_shopper *s, const er_candidate *c, uint32_t *n) {
  int32_t acc;
  *n = sparse(s, c, NULL, NULL, (const int8_t *)s->b->sec[ER_SEC_LINEAR].p, ((uint64_t)1 << s->b->bits) - 1, &acc);
  return acc;
}

static const float NaNf = __builtin_nanf("");

void er_features_dense(const er_shopper *s, const er_candidate *c, float *o) {
  cand_info ci;
  gather(s, c, &ci);
  o[ER_D_POP_VIEW] = (float)ci.pop[0];
  o[ER_D_POP_CART] = (float)ci.pop[1];
  o[ER_D_POP_PURCHASE] = (float)ci.pop[2];
  o[ER_D_TRENDING] = (float)ci.pop[3];
  o[ER_D_COOC_LAST] = (float)ci.cooc_last;
  o[ER_D_COOC_RECENT] = (float)ci.cooc_recent;
  o[ER_D_CONTENT_LAST] = (float)ci.content_last;
  o[ER_D_RECENCY] = ci.pos < 0 ? NaNf : (float)ci.pos;
  o[ER_D_CARTED] = (ci.types & ER_SEEN_CART) ? 1.0f : 0.0f;
  o[ER_D_CAT_AFFINITY] = (float)ci.affinity;
  o[ER_D_PRICE_RATIO] = (s->p->price_n && s->p->price_mean && ci.price) ? (float)((uint64_t)ci.price * 100u / s->p->price_mean) : NaNf;
  o[ER_D_PRICE] = ci.price ? (float)ci.price / 100.0f : NaNf;
  o[ER_D_PAGE_CATEGORY] = ci.page_cat < 0 ? NaNf : (float)ci.page_cat;
  o[ER_D_HOUR] = s->hour < 0 ? NaNf : (float)s->hour;
  o[ER_D_MOBILE] = s->device == ER_DEV_UNKNOWN ? NaNf : (s->device == ER_DEV_MOBILE || s->device == ER_DEV_APP) ? 1.0f : 0.0f;
  o[ER_D_VIEWED] = (ci.types & ER_SEEN_VIEW) ? 1.0f : 0.0f;
  o[ER_D_SEEN_COUNT] = (float)ci.count;
  o[ER_D_SEEN_AGE] = ci.age < 0 ? NaNf : (float)(ci.age > 16777215 ? 16777215 : ci.age); /* exact in float32 */
  o[ER_D_WISHED] = (ci.types & ER_SEEN_WISH) ? 1.0f : 0.0f;
  o[ER_D_REPEAT] = (float)ci.repeat;
  o[ER_D_PURCHASED] = (ci.types & ER_SEEN_PURCHASE) ? 1.0f : 0.0f;
}

uint32_t er_features_record(const er_shopper *s, const er_candidate *c, uint64_t mask, uint8_t *out) {
  uint64_t h[ER_MAX_SPARSE];
  int16_t v[ER_MAX_SPARSE];
  float d[ER_DENSE_COUNT];
  uint32_t n = er_features_sparse(s, c, h, v), at = 4;
  er_features_dense(s, c, d);
  er_wr32(out, n);
  for (uint32_t k = 0; k < n; k++, at += 8) {
    er_wr32(out + at, (uint32_t)(h[k] & mask));
    er_wr32(out + at + 4, (uint32_t)(int32_t)v[k]);
  }
  for (uint32_t k = 0; k < ER_DENSE_COUNT; k++, at += 4) {
    uint32_t bits;
    memcpy(&bits, &d[k], 4);
    er_wr32(out + at, bits);
  }
  return at;
}
