/* er_profile.c — the shopper profile: binary v1 codec, decay and the update
 * rule (docs/profile.md).  Integer arithmetic only, no allocation, no
 * recursion; decode never traps on any input. */
#include "er_profile.h"

#include <string.h>

#include "er_buf.h"

/* Layout offsets (see er_profile.h). */
#define OFF_VERSION 2
#define OFF_FLAGS 3
#define OFF_UPDATED 4
#define OFF_EVENTS 8
#define OFF_PRICE_N 12
#define OFF_N_ITEMS 14
#define OFF_N_CATS 15
#define OFF_MEAN 16
#define OFF_MIN 20
#define OFF_MAX 24
#define ITEM_BYTES 16u
#define CAT_BYTES 8u

/* Category weights of one event in Q8 (256 == 1.0). */
#define W_VIEW 256
#define W_CLICK 256
#define W_WISHLIST 512
#define W_CART 768
#define W_PURCHASE 1280
#define W_FEEDBACK_STEP 256 /* × (rating − 3) */

#define PRICE_MEAN_WINDOW 8u /* the running mean weighs a new sample 1/min(n, 8) */

static uint32_t encoded_size(uint32_t n_items, uint32_t n_cats) {
  return ER_PROFILE_HEADER + ITEM_BYTES * n_items + CAT_BYTES * n_cats + 4u;
}

/* True when category a sorts before b: affinity descending, key ascending. */
static int cat_before(const er_profile_cat *a, const er_profile_cat *b) {
  return a->affinity > b->affinity || (a->affinity == b->affinity && a->key < b->key);
}

/* Drop zero affinities, then insertion-sort (at most 16 entries). */
static void normalize_cats(er_profile *p) {
  uint32_t n = 0;
  for (uint32_t k = 0; k < p->n_cats; k++)
    if (p->cats[k].affinity) p->cats[n++] = p->cats[k];
  p->n_cats = (uint8_t)n;
  for (uint32_t k = 1; k < n; k++) {
    er_profile_cat c = p->cats[k];
    uint32_t m = k;
    while (m > 0 && cat_before(&c, &p->cats[m - 1])) {
      p->cats[m] = p->cats[m - 1];
      m--;
    }
    p->cats[m] = c;
  }
}

/* The invariants a profile must satisfy to be encoded or accepted by decode.
 * Returns 0 when valid, else a reason with *idx the offending item/category
 * and *is_cat telling which list. */
static const char *content_problem(const er_profile *p, uint32_t *idx, int *is_cat) {
  *is_cat = 0;
  for (uint32_t k = 0; k < p->n_items; k++) {
    *idx = k;
    if (!p->items[k].sku_key) return "has a zero sku key";
    for (uint32_t m = 0; m < k; m++)
      if (p->items[m].sku_key == p->items[k].sku_key) return "repeats the sku key of an earlier item";
  }
  *is_cat = 1;
  for (uint32_t k = 0; k < p->n_cats; k++) {
    *idx = k;
    if (!p->cats[k].affinity) return "has zero affinity";
    if (k > 0 && !cat_before(&p->cats[k - 1], &p->cats[k]))
      return "is out of order (affinity descending, then key ascending)";
    for (uint32_t m = 0; m < k; m++)
      if (p->cats[m].key == p->cats[k].key) return "repeats the key of an earlier category";
  }
  return NULL;
}

/* An empty profile (first-time shopper): everything zero. */
void er_profile_init(er_profile *p) {
  if (p) memset(p, 0, sizeof *p);
}

/* Decode a binary v1 profile; on any error *p is left empty and err names the
 * reason and byte offset (ER_E_PROFILE). */
er_status er_profile_decode(er_profile *p, const uint8_t *buf, uint32_t len, er_error *err) {
  if (!p) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "profile: no output profile");
  er_profile_init(p);
  if (len == 0) return ER_OK;
  if (!buf) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "profile: %u bytes at a NULL address", len);
  if (len < 2 || buf[0] != 'E' || buf[1] != 'P')
    return er_fail(err, ER_E_PROFILE, 0, "profile: bad magic at byte 0 (expected \"EP\")");
  if (len < 3) return er_fail(err, ER_E_PROFILE, len, "profile: truncated at byte %u (a %u-byte header is required)", len, ER_PROFILE_HEADER);
  if (buf[OFF_VERSION] != ER_PROFILE_VERSION)
    return er_fail(err, ER_E_PROFILE, OFF_VERSION, "profile: unsupported version %u at byte %u (this engine reads version %u)",
                   buf[OFF_VERSION], OFF_VERSION, ER_PROFILE_VERSION);
  if (len < ER_PROFILE_HEADER)
    return er_fail(err, ER_E_PROFILE, len, "profile: truncated at byte %u (a %u-byte header is required)", len, ER_PROFILE_HEADER);
  uint32_t ni = buf[OFF_N_ITEMS], nc = buf[OFF_N_CATS];
  if (ni > ER_PROFILE_MAX_ITEMS)
    return er_fail(err, ER_E_PROFILE, OFF_N_ITEMS, "profile: %u items at byte %u, more than the limit of %u", ni, OFF_N_ITEMS, ER_PROFILE_MAX_ITEMS);
  if (nc > ER_PROFILE_MAX_CATS)
    return er_fail(err, ER_E_PROFILE, OFF_N_CATS, "profile: %u categories at byte %u, more than the limit of %u", nc, OFF_N_CATS, ER_PROFILE_MAX_CATS);
  uint32_t want = encoded_size(ni, nc);
  if (len != want)
    return er_fail(err, ER_E_PROFILE, len < want ? len : want,
                   "profile: %u bytes, expected exactly %u for %u items and %u categories (%s at byte %u)", len, want, ni, nc,
                   len < want ? "truncated" : "trailing data", len < want ? len : want);
  uint32_t stored = er_rd32(buf + len - 4), computed = (uint32_t)er_xxh64(buf, len - 4, 0);
  if (stored != computed)
    return er_fail(err, ER_E_PROFILE, len - 4, "profile: check mismatch at byte %u (stored %08x, computed %08x)", len - 4,
                   (unsigned)stored, (unsigned)computed);
  p->updated = er_rd32(buf + OFF_UPDATED);
  p->n_events = er_rd32(buf + OFF_EVENTS);
  p->price_n = er_rd16(buf + OFF_PRICE_N);
  p->price_mean = er_rd32(buf + OFF_MEAN);
  p->price_min = er_rd32(buf + OFF_MIN);
  p->price_max = er_rd32(buf + OFF_MAX);
  p->n_items = (uint8_t)ni;
  p->n_cats = (uint8_t)nc;
  const uint8_t *q = buf + ER_PROFILE_HEADER;
  for (uint32_t k = 0; k < ni; k++, q += ITEM_BYTES) {
    p->items[k].sku_key = er_rd64(q);
    p->items[k].ts = er_rd32(q + 8);
    p->items[k].types = q[12];
    p->items[k].count = q[13];
  }
  for (uint32_t k = 0; k < nc; k++, q += CAT_BYTES) {
    p->cats[k].key = er_rd32(q);
    p->cats[k].affinity = er_rd16(q + 4);
  }
  uint32_t idx = 0;
  int is_cat = 0;
  const char *why = content_problem(p, &idx, &is_cat);
  if (why) {
    uint32_t at = ER_PROFILE_HEADER + (is_cat ? ITEM_BYTES * ni + CAT_BYTES * idx : ITEM_BYTES * idx);
    er_profile_init(p);
    return er_fail(err, ER_E_PROFILE, at, "profile: %s %u at byte %u %s", is_cat ? "category" : "item", idx, at, why);
  }
  return ER_OK;
}

/* Encode into out[cap]: header, items, categories, check.  Returns the size
 * (<= ER_PROFILE_MAX_BYTES), or 0 when cap is too small or *p breaks an
 * invariant decode enforces (so every encoded profile decodes). */
uint32_t er_profile_encode(const er_profile *p, uint8_t *out, uint32_t cap) {
  if (!p || !out || p->n_items > ER_PROFILE_MAX_ITEMS || p->n_cats > ER_PROFILE_MAX_CATS) return 0;
  uint32_t idx;
  int is_cat;
  if (content_problem(p, &idx, &is_cat)) return 0;
  uint32_t n = encoded_size(p->n_items, p->n_cats);
  if (cap < n) return 0;
  memset(out, 0, n);
  out[0] = 'E';
  out[1] = 'P';
  out[OFF_VERSION] = ER_PROFILE_VERSION;
  out[OFF_FLAGS] = 0;
  er_wr32(out + OFF_UPDATED, p->updated);
  er_wr32(out + OFF_EVENTS, p->n_events);
  er_wr16(out + OFF_PRICE_N, p->price_n);
  out[OFF_N_ITEMS] = p->n_items;
  out[OFF_N_CATS] = p->n_cats;
  er_wr32(out + OFF_MEAN, p->price_mean);
  er_wr32(out + OFF_MIN, p->price_min);
  er_wr32(out + OFF_MAX, p->price_max);
  uint8_t *q = out + ER_PROFILE_HEADER;
  for (uint32_t k = 0; k < p->n_items; k++, q += ITEM_BYTES) {
    er_wr64(q, p->items[k].sku_key);
    er_wr32(q + 8, p->items[k].ts);
    q[12] = p->items[k].types;
    q[13] = p->items[k].count;
  }
  for (uint32_t k = 0; k < p->n_cats; k++, q += CAT_BYTES) {
    er_wr32(q, p->cats[k].key);
    er_wr16(q + 4, p->cats[k].affinity);
  }
  er_wr32(q, (uint32_t)er_xxh64(out, n - 4, 0));
  return n;
}

/* Decay every affinity from `updated` to `now` (no-op when now <= updated):
 * k = dt / HL whole half-lives shift it right k times (0 from 16 on), then
 * the remainder r = dt % HL removes a·r / (2·HL) (linear to the next
 * halving, truncated).  Zero affinities are dropped; updated becomes now. */
void er_profile_decay(er_profile *p, uint32_t now) {
  if (!p || now <= p->updated) return;
  uint32_t dt = now - p->updated, k = dt / ER_AFFINITY_HALF_LIFE, r = dt % ER_AFFINITY_HALF_LIFE;
  for (uint32_t i = 0; i < p->n_cats && i < ER_PROFILE_MAX_CATS; i++) {
    uint32_t a = k >= 16 ? 0 : (uint32_t)p->cats[i].affinity >> k;
    a -= (uint32_t)((uint64_t)a * r / (2u * (uint64_t)ER_AFFINITY_HALF_LIFE));
    p->cats[i].affinity = (uint16_t)a;
  }
  if (p->n_cats > ER_PROFILE_MAX_CATS) p->n_cats = ER_PROFILE_MAX_CATS;
  p->updated = now;
  normalize_cats(p);
}

/* Move (or insert) an item at the front with the event's time, bits and count. */
static void touch_item(er_profile *p, uint64_t key, uint32_t ts, uint8_t set, uint8_t clear) {
  uint32_t n = p->n_items > ER_PROFILE_MAX_ITEMS ? ER_PROFILE_MAX_ITEMS : p->n_items, pos = n;
  for (uint32_t k = 0; k < n; k++)
    if (p->items[k].sku_key == key) { pos = k; break; }
  er_profile_item it;
  if (pos < n) it = p->items[pos];
  else {
    memset(&it, 0, sizeof it);
    it.sku_key = key;
    if (n < ER_PROFILE_MAX_ITEMS) n++;   /* grow */
    pos = n - 1;                          /* or overwrite the oldest (last) */
  }
  memmove(&p->items[1], &p->items[0], pos * sizeof p->items[0]);
  it.ts = ts;
  it.types = (uint8_t)((it.types | set) & ~clear);
  if (it.count < 255) it.count++;
  p->items[0] = it;
  p->n_items = (uint8_t)n;
}

/* Add w (may be negative) to a category's affinity, saturating in 0..MAX; a
 * new category enters only with a positive affinity, replacing the weakest
 * when full and only if strictly stronger. */
static void add_affinity(er_profile *p, uint32_t key, int32_t w) {
  uint32_t n = p->n_cats > ER_PROFILE_MAX_CATS ? ER_PROFILE_MAX_CATS : p->n_cats;
  p->n_cats = (uint8_t)n;
  for (uint32_t k = 0; k < n; k++) {
    if (p->cats[k].key != key) continue;
    int32_t a = (int32_t)p->cats[k].affinity + w;
    if (a < 0) a = 0;
    if (a > (int32_t)ER_AFFINITY_MAX) a = (int32_t)ER_AFFINITY_MAX;
    p->cats[k].affinity = (uint16_t)a;
    normalize_cats(p);
    return;
  }
  if (w <= 0) return;
  uint16_t a = (uint16_t)(w > (int32_t)ER_AFFINITY_MAX ? ER_AFFINITY_MAX : (uint32_t)w);
  if (n < ER_PROFILE_MAX_CATS) p->n_cats = (uint8_t)(n + 1);
  else if (a <= p->cats[n - 1].affinity) return;
  p->cats[p->n_cats - 1].key = key;
  p->cats[p->n_cats - 1].affinity = a;
  normalize_cats(p);
}

/* Apply one event (rules in docs/profile.md): decay to d->ts, count it, then
 * for view/click/cart/purchase/feedback/wishlist and the recs-item clicks
 * update the item, the categories and (not feedback) the price statistics.
 * Impressions, unit impressions and views, and types outside the enum, only
 * decay and count. */
void er_profile_apply(er_profile *p, const er_profile_delta *d) {
  if (!p || !d) return;
  er_profile_decay(p, d->ts);
  if (p->n_events != UINT32_MAX) p->n_events++;
  int32_t w = 0;
  uint8_t set = 0, clear = 0;
  int priced = 1;
  switch (d->type) {
  case ER_EV_VIEW: w = W_VIEW; set = ER_SEEN_VIEW; break;
  case ER_EV_CLICK:
  case ER_EV_UNIT_CLICK:      /* a click on a recommended item */
  case ER_EV_UNIT_CART_CLICK: /* the unit's add-to-cart button: the cart itself arrives as `cart` */
    w = W_CLICK; set = ER_SEEN_VIEW; break;
  case ER_EV_WISHLIST: w = W_WISHLIST; set = ER_SEEN_VIEW | ER_SEEN_WISH; break;
  case ER_EV_CART: w = W_CART; set = ER_SEEN_CART; break;
  case ER_EV_PURCHASE: w = W_PURCHASE; set = ER_SEEN_PURCHASE; break;
  case ER_EV_FEEDBACK:
    priced = 0;
    if (d->rating >= 1 && d->rating <= 5) { /* other ratings count as neutral (3) */
      w = (d->rating - 3) * W_FEEDBACK_STEP;
      if (d->rating <= 2) set = ER_SEEN_DISLIKED;
      if (d->rating >= 4) clear = ER_SEEN_DISLIKED;
    }
    break;
  case ER_EV_IMPRESSION:
  default: return;
  }
  if (d->sku_key) touch_item(p, d->sku_key, d->ts, set, clear);
  uint32_t nc = d->n_cats < 8 ? d->n_cats : 8;
  for (uint32_t k = 0; k < nc && w != 0; k++) {
    int dup = 0;
    for (uint32_t m = 0; m < k; m++) dup |= d->cat_keys[m] == d->cat_keys[k];
    if (!dup) add_affinity(p, d->cat_keys[k], w);
  }
  if (priced && d->price_cents > 0) {
    int first = p->price_n == 0;
    if (p->price_n < UINT16_MAX) p->price_n++;
    if (first) {
      p->price_mean = p->price_min = p->price_max = d->price_cents;
    } else {
      int64_t div = p->price_n < PRICE_MEAN_WINDOW ? p->price_n : PRICE_MEAN_WINDOW;
      int64_t mean = (int64_t)p->price_mean;
      mean += ((int64_t)d->price_cents - mean) / div;
      p->price_mean = (uint32_t)mean;
      if (d->price_cents < p->price_min) p->price_min = d->price_cents;
      if (d->price_cents > p->price_max) p->price_max = d->price_cents;
    }
  }
}

/* Affinity (Q8) of a category key, 0 if absent. */
uint16_t er_profile_affinity(const er_profile *p, uint32_t key) {
  for (uint32_t k = 0; k < p->n_cats && k < ER_PROFILE_MAX_CATS; k++)
    if (p->cats[k].key == key) return p->cats[k].affinity;
  return 0;
}

static void put_money(er_buf *b, uint32_t cents) {
  er_buf_put(b, "\"", 1);
  er_buf_fixed(b, (int64_t)cents, 2);
  er_buf_put(b, "\"", 1);
}

/* The profile as compact JSON for the shopper (docs/profile.md). Returns the
 * length written to out (not NUL-terminated), or 0 when cap is too small. */
uint32_t er_profile_to_json(const er_profile *p, char *out, uint32_t cap) {
  static const char hex[] = "0123456789abcdef";
  static const struct { uint8_t bit; const char *name; } type_names[] = {
      {ER_SEEN_VIEW, "\"view\""}, {ER_SEEN_CART, "\"cart\""}, {ER_SEEN_PURCHASE, "\"purchase\""}, {ER_SEEN_DISLIKED, "\"disliked\""}, {ER_SEEN_WISH, "\"wishlist\""}};
  if (!p || !out) return 0;
  er_buf b;
  er_buf_init(&b, out, cap);
  er_buf_lit(&b, "{\"version\":1,\"updated\":");
  er_buf_int(&b, p->updated);
  er_buf_lit(&b, ",\"events\":");
  er_buf_int(&b, p->n_events);
  er_buf_lit(&b, ",\"price\":{\"n\":");
  er_buf_int(&b, p->price_n);
  er_buf_lit(&b, ",\"mean\":");
  put_money(&b, p->price_mean);
  er_buf_lit(&b, ",\"min\":");
  put_money(&b, p->price_min);
  er_buf_lit(&b, ",\"max\":");
  put_money(&b, p->price_max);
  er_buf_lit(&b, "},\"items\":[");
  for (uint32_t k = 0; k < p->n_items && k < ER_PROFILE_MAX_ITEMS; k++) {
    const er_profile_item *it = &p->items[k];
    er_buf_lit(&b, k ? ",{\"key\":\"" : "{\"key\":\"");
    er_buf_hex64(&b, it->sku_key);
    er_buf_lit(&b, "\",\"ts\":");
    er_buf_int(&b, it->ts);
    er_buf_lit(&b, ",\"types\":[");
    int first = 1;
    for (uint32_t t = 0; t < sizeof type_names / sizeof type_names[0]; t++) {
      if (!(it->types & type_names[t].bit)) continue;
      if (!first) er_buf_put(&b, ",", 1);
      er_buf_lit(&b, type_names[t].name);
      first = 0;
    }
    er_buf_lit(&b, "],\"count\":");
    er_buf_int(&b, it->count);
    er_buf_put(&b, "}", 1);
  }
  er_buf_lit(&b, "],\"categories\":[");
  for (uint32_t k = 0; k < p->n_cats && k < ER_PROFILE_MAX_CATS; k++) {
    char h[8];
    for (int i = 0; i < 8; i++) h[i] = hex[(p->cats[k].key >> (28 - 4 * i)) & 15];
    er_buf_lit(&b, k ? ",{\"key\":\"" : "{\"key\":\"");
    er_buf_put(&b, h, 8);
    er_buf_lit(&b, "\",\"affinity\":\"");
    /* Q8 → hundredths, rounded half up */
    er_buf_fixed(&b, ((int64_t)p->cats[k].affinity * 100 + 128) >> 8, 2);
    er_buf_lit(&b, "\"}");
  }
  er_buf_lit(&b, "]}");
  return b.overflow ? 0 : b.len;
}
