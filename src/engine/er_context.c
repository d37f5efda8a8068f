/* er_context.c — context JSON → er_context. */
#include "er_context.h"

#include <string.h>

static int b64v(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

int32_t er_base64_decode(const char *s, uint32_t n, uint8_t *out, uint32_t cap) {
  while (n && s[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  uint32_t o = 0, acc = 0, bits = 0;
  for (uint32_t k = 0; k < n; k++) {
    int v = b64v(s[k]);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= cap) return -1;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  return (int32_t)o;
}

#define FIELD_ERR(code, ti, ...) er_fail(err, code, (uint32_t)er_json_offset(j, (uint32_t)ti), __VA_ARGS__)

/* "context: field 'F' must be WHAT, got TYPE (byte N)" */
static er_status type_error(const er_json *j, int32_t t, const char *field, const char *what, er_error *err) {
  return FIELD_ERR(ER_E_TYPE, t, "context: field '%s' must be %s, got %s (byte %d)", field, what, er_json_type_name(j, (uint32_t)t), er_json_offset(j, (uint32_t)t));
}

static er_status str_key(const er_json *j, int32_t t, const char *field, uint64_t *key, er_error *err) {
  char buf[ER_MAX_SKU_BYTES];
  if (!er_json_is(j, (uint32_t)t, JSMN_STRING))
    return type_error(j, t, field, "a string", err);
  int32_t n = er_json_str(j, (uint32_t)t, buf, sizeof buf);
  if (n <= 0) return FIELD_ERR(ER_E_RANGE, t, "context: field '%s' must be 1..%u bytes (byte %d)", field, ER_MAX_SKU_BYTES, er_json_offset(j, (uint32_t)t));
  *key = er_key(buf, (size_t)n);
  return ER_OK;
}

/* An array token of at most `max` entries (what: "an array of sku strings", …). */
static er_status array_of(const er_json *j, int32_t t, const char *field, const char *what, uint32_t max, er_error *err) {
  if (!er_json_is(j, (uint32_t)t, JSMN_ARRAY)) return type_error(j, t, field, what, err);
  uint32_t size = (uint32_t)j->tok[t].size;
  if (size > max)
    return FIELD_ERR(ER_E_LIMIT, t, "context: field '%s' has %u entries, more than the limit of %u (byte %d)", field, size, max, er_json_offset(j, (uint32_t)t));
  return ER_OK;
}

static er_status sku_array(const er_json *j, int32_t t, const char *field, uint32_t max, er_arena *a, uint64_t **out,
                           uint32_t *n, er_error *err) {
  er_status st = array_of(j, t, field, "an array of sku strings", max, err);
  if (st) return st;
  uint32_t size = (uint32_t)j->tok[t].size;
  *out = er_arena_alloc(a, (size_t)(size ? size : 1) * 8);
  if (!*out) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "context: out of arena memory");
  *n = size;
  for (uint32_t k = 0, i = (uint32_t)t + 1; k < size; k++, i++)
    if ((st = str_key(j, (int32_t)i, field, &(*out)[k], err))) return st;
  return ER_OK;
}

static er_status small_int(const er_json *j, int32_t t, const char *field, int64_t lo, int64_t hi, int64_t *v, er_error *err) {
  er_status st = er_json_int(j, (uint32_t)t, lo, hi, v);
  if (st == ER_E_TYPE) return type_error(j, t, field, "an integer", err);
  if (st) return FIELD_ERR(ER_E_RANGE, t, "context: field '%s' must be an integer in %lld..%lld (byte %d)", field, (long long)lo, (long long)hi, er_json_offset(j, (uint32_t)t));
  return ER_OK;
}

static er_status name_field(const er_json *j, int32_t t, const char *field, char *buf, uint32_t cap, int32_t *n, er_error *err) {
  if (!er_json_is(j, (uint32_t)t, JSMN_STRING))
    return type_error(j, t, field, "a string", err);
  *n = er_json_str(j, (uint32_t)t, buf, cap);
  if (*n < 0) return FIELD_ERR(ER_E_RANGE, t, "context: field '%s' is longer than %u bytes (byte %d)", field, cap, er_json_offset(j, (uint32_t)t));
  return ER_OK;
}

/* Key token of the second occurrence of a known field in object obj, or -1.
 * Keys are compared unescaped, and past the 64 keys er_json_find_duplicate
 * looks at, so no spelling of a field can appear twice. */
static int32_t known_duplicate(const er_json *j, uint32_t obj, const char *const *names, uint32_t n) {
  uint32_t seen = 0, i = obj + 1;
  for (int k = 0; k < j->tok[obj].size; k++) {
    char buf[24];
    int32_t kl = er_json_str(j, i, buf, sizeof buf);
    for (uint32_t f = 0; kl > 0 && f < n; f++) {
      if (strlen(names[f]) != (size_t)kl || memcmp(names[f], buf, (size_t)kl)) continue;
      if (seen & (1u << f)) return (int32_t)i;
      seen |= 1u << f;
    }
    i = er_json_skip(j, i + 1);
  }
  return -1;
}

static const char *const CONTEXT_FIELDS[] = {"profile", "recent",  "now",        "page",    "device", "country",
                                             "hour",    "weekday", "unit",       "k",       "candidates", "exclude",
                                             "cart",    "purchased", "filter",   "backfill"};
static const char *const PAGE_FIELDS[] = {"type", "sku", "category"};
static const char *const FILTER_FIELDS[] = {"categories", "exclude_categories", "price_min", "price_max", "in_stock_only"};
#define N_OF(a) (sizeof a / sizeof a[0])

/* A duplicate key in object obj (raw or unescaped spelling of a known field): its token, or -1. */
static int32_t object_duplicate(const er_json *j, uint32_t obj, const char *const *names, uint32_t n) {
  int32_t dup = er_json_find_duplicate(j, obj);
  return dup >= 0 ? dup : known_duplicate(j, obj, names, n);
}

/* filter.categories / filter.exclude_categories: paths into the arena. */
static er_status cat_paths(const er_json *j, int32_t t, const char *field, er_arena *a, er_cat_path **out, uint32_t *n,
                           er_error *err) {
  er_status st = array_of(j, t, field, "an array of category path strings", ER_MAX_FILTER_CATS, err);
  if (st) return st;
  uint32_t size = (uint32_t)j->tok[t].size;
  *out = er_arena_alloc(a, sizeof(er_cat_path) * (size ? size : 1));
  if (!*out) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "context: out of arena memory");
  *n = size;
  for (uint32_t k = 0, i = (uint32_t)t + 1; k < size; k++, i++) {
    char buf[ER_MAX_FILTER_PATH_BYTES];
    if (!er_json_is(j, i, JSMN_STRING))
      return type_error(j, (int32_t)i, field, "an array of category path strings", err);
    int32_t len = er_json_str(j, i, buf, sizeof buf);
    while (len > 0 && buf[len - 1] == '/') len--; /* "Gear/" is "Gear" */
    if (len <= 0) return FIELD_ERR(ER_E_RANGE, i, "context: field '%s' entries must be category paths of 1..%u bytes (byte %d)", field, ER_MAX_FILTER_PATH_BYTES, er_json_offset(j, i));
    char *path = er_arena_alloc(a, (size_t)len);
    if (!path) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "context: out of arena memory");
    memcpy(path, buf, (size_t)len);
    (*out)[k] = (er_cat_path){path, (uint32_t)len, er_cat_key(path, (size_t)len)};
  }
  return ER_OK;
}

/* filter.price_min / price_max: a number >= 0 in currency units, kept in
 * millionths (digits past the sixth decimal are dropped); huge values mean
 * no bound. */
#define PRICE_UNLIMITED ((int64_t)1 << 61)
static er_status price(const er_json *j, int32_t t, const char *field, int64_t *out, er_error *err) {
  if (!er_json_is_number(j, (uint32_t)t))
    return type_error(j, t, field, "a number", err);
  int64_t v;
  er_status st = er_json_fixed(j, (uint32_t)t, 6, INT64_MIN / 2, PRICE_UNLIMITED, &v);
  int negative = st ? j->js[j->tok[t].start] == '-' : v < 0;
  if (negative) return FIELD_ERR(ER_E_RANGE, t, "context: field '%s' must be a number >= 0 (byte %d)", field, er_json_offset(j, (uint32_t)t));
  *out = st ? PRICE_UNLIMITED : v; /* past the range: no bound */
  return ER_OK;
}

static er_status filter_field(const er_json *j, int32_t t, er_context *c, er_arena *a, er_error *err) {
  er_filter *f = &c->filter;
  if (!er_json_is(j, (uint32_t)t, JSMN_OBJECT)) return type_error(j, t, "filter", "an object", err);
  int32_t dup = object_duplicate(j, (uint32_t)t, FILTER_FIELDS, N_OF(FILTER_FIELDS));
  if (dup >= 0) return er_fail(err, ER_E_JSON, (uint32_t)er_json_offset(j, (uint32_t)dup), "context: duplicate key in 'filter' at byte %d", er_json_offset(j, (uint32_t)dup));
  er_status st;
  int32_t u;
  if ((u = er_json_get(j, (uint32_t)t, "categories")) >= 0 && !er_json_is_null(j, (uint32_t)u))
    if ((st = cat_paths(j, u, "filter.categories", a, &f->cats, &f->n_cats, err))) return st;
  if ((u = er_json_get(j, (uint32_t)t, "exclude_categories")) >= 0 && !er_json_is_null(j, (uint32_t)u))
    if ((st = cat_paths(j, u, "filter.exclude_categories", a, &f->not_cats, &f->n_not_cats, err))) return st;
  if ((u = er_json_get(j, (uint32_t)t, "price_min")) >= 0 && !er_json_is_null(j, (uint32_t)u))
    if ((st = price(j, u, "filter.price_min", &f->price_min, err))) return st;
  if ((u = er_json_get(j, (uint32_t)t, "price_max")) >= 0 && !er_json_is_null(j, (uint32_t)u))
    if ((st = price(j, u, "filter.price_max", &f->price_max, err))) return st;
  if ((u = er_json_get(j, (uint32_t)t, "in_stock_only")) >= 0 && !er_json_is_null(j, (uint32_t)u))
    if (er_json_bool(j, (uint32_t)u, &f->in_stock_only))
      return type_error(j, u, "filter.in_stock_only", "a boolean", err);
  return ER_OK;
}

/* backfill: "none" or a list unit. */
static const struct { const char *name; uint32_t list; } BACKFILLS[] = {
    {"none", 0}, {"most-viewed", ER_LIST_MOST_VIEWED}, {"most-purchased", ER_LIST_MOST_PURCHASED},
    {"most-added-to-cart", ER_LIST_MOST_CARTED}, {"trending", ER_LIST_TRENDING}};

er_status er_context_parse(er_context *c, const char *ctx, uint32_t len, const uint8_t *profile, uint32_t plen,
                           er_arena *a, er_error *err) {
  memset(c, 0, sizeof *c);
  c->hour = c->weekday = -1;
  er_profile_init(&c->profile);
  if (len > ER_MAX_CONTEXT_BYTES)
    return er_fail(err, ER_E_LIMIT, ER_MAX_CONTEXT_BYTES, "context: %u bytes, more than the limit of %u", len, ER_MAX_CONTEXT_BYTES);
  uint32_t ntok = 0;
  er_status st = er_json_validate(ctx, len, ER_MAX_JSON_DEPTH, "context", err, &ntok);
  if (st) return st;
  if (ntok > ER_MAX_CONTEXT_TOKENS)
    return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "context: %u JSON tokens, more than the limit of %u", ntok, ER_MAX_CONTEXT_TOKENS);
  jsmntok_t *tok = er_arena_alloc(a, sizeof(jsmntok_t) * ntok);
  if (!tok) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "context: out of arena memory");
  er_json jj, *j = &jj;
  if ((st = er_json_tokenize(j, ctx, len, tok, ntok, err))) return st;
  if (!er_json_is(j, 0, JSMN_OBJECT)) return er_fail(err, ER_E_TYPE, 0, "context: must be a JSON object, got %s", er_json_type_name(j, 0));
  c->filter.price_min = c->filter.price_max = -1;
  c->filter.in_stock_only = 1;
  int32_t dup = object_duplicate(j, 0, CONTEXT_FIELDS, N_OF(CONTEXT_FIELDS));
  if (dup >= 0) return er_fail(err, ER_E_JSON, (uint32_t)er_json_offset(j, (uint32_t)dup), "context: duplicate key \"%.*s\" at byte %d", j->tok[dup].end - j->tok[dup].start, ctx + j->tok[dup].start, er_json_offset(j, (uint32_t)dup));
  int32_t t;
  char buf[ER_CONTEXT_MAX_NAME];
  int32_t n;
  int64_t v;
  /* profile: binary argument wins over the base64url field */
  if (plen) {
    if ((st = er_profile_decode(&c->profile, profile, plen, err))) return st;
  } else if ((t = er_json_get(j, 0, "profile")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if (!er_json_is(j, (uint32_t)t, JSMN_STRING)) return type_error(j, t, "profile", "a base64url string", err);
    uint8_t raw[ER_PROFILE_MAX_BYTES];
    int32_t rn = er_base64_decode(ctx + j->tok[t].start, (uint32_t)(j->tok[t].end - j->tok[t].start), raw, sizeof raw);
    if (rn < 0) return FIELD_ERR(ER_E_PROFILE, t, "context: field 'profile' is not base64url of at most %u bytes (byte %d)", (unsigned)ER_PROFILE_MAX_BYTES, er_json_offset(j, (uint32_t)t));
    if ((st = er_profile_decode(&c->profile, raw, (uint32_t)rn, err))) return st;
  }
  if ((t = er_json_get(j, 0, "now")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = small_int(j, t, "now", 0, 0xFFFFFFFFll, &v, err))) return st;
    c->now = (uint32_t)v;
  }
  if ((t = er_json_get(j, 0, "recent")) >= 0 && !er_json_is_null(j, (uint32_t)t)) { /* newest first; only when no profile items */
    uint64_t *keys;
    uint32_t nk;
    if ((st = sku_array(j, t, "recent", ER_MAX_EXPLICIT, a, &keys, &nk, err))) return st;
    if (c->profile.n_items == 0) {
      uint32_t ts = c->now ? c->now : 1;
      for (uint32_t k = nk; k-- > 0;) {
        er_profile_delta d;
        memset(&d, 0, sizeof d);
        d.type = ER_EV_VIEW;
        d.ts = ts;
        d.sku_key = keys[k];
        er_profile_apply(&c->profile, &d);
      }
    }
  }
  if ((t = er_json_get(j, 0, "page")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if (!er_json_is(j, (uint32_t)t, JSMN_OBJECT)) return type_error(j, t, "page", "an object", err);
    int32_t u;
    if ((dup = object_duplicate(j, (uint32_t)t, PAGE_FIELDS, N_OF(PAGE_FIELDS))) >= 0) return er_fail(err, ER_E_JSON, (uint32_t)er_json_offset(j, (uint32_t)dup), "context: duplicate key in 'page' at byte %d", er_json_offset(j, (uint32_t)dup));
    if ((u = er_json_get(j, (uint32_t)t, "type")) >= 0) {
      if ((st = name_field(j, u, "page.type", buf, sizeof buf, &n, err))) return st;
      c->page = er_page_from(buf, (uint32_t)n);
      if (!c->page) return FIELD_ERR(ER_E_RANGE, u, "context: field 'page.type' must be home, category, search, product or cart (byte %d)", er_json_offset(j, (uint32_t)u));
    }
    if ((u = er_json_get(j, (uint32_t)t, "sku")) >= 0 && !er_json_is_null(j, (uint32_t)u))
      if ((st = str_key(j, u, "page.sku", &c->page_sku, err))) return st;
    if ((u = er_json_get(j, (uint32_t)t, "category")) >= 0 && !er_json_is_null(j, (uint32_t)u)) {
      char cb[ER_MAX_CATEGORY_BYTES];
      if ((st = name_field(j, u, "page.category", cb, sizeof cb, &n, err))) return st;
      if (n) c->page_cat = er_cat_key(cb, (size_t)n);
    }
  }
  if ((t = er_json_get(j, 0, "device")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = name_field(j, t, "device", buf, sizeof buf, &n, err))) return st;
    c->device = er_device_from(buf, (uint32_t)n); /* unknown devices are just unknown */
  }
  if ((t = er_json_get(j, 0, "country")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = name_field(j, t, "country", buf, sizeof buf, &n, err))) return st;
    if (n) c->country = er_cat_key(buf, (size_t)n);
  }
  if ((t = er_json_get(j, 0, "hour")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = small_int(j, t, "hour", 0, 23, &v, err))) return st;
    c->hour = (int)v;
  }
  if ((t = er_json_get(j, 0, "weekday")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = small_int(j, t, "weekday", 0, 6, &v, err))) return st;
    c->weekday = (int)v;
  }
  if ((t = er_json_get(j, 0, "unit")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = name_field(j, t, "unit", c->unit, sizeof c->unit - 1, &n, err))) return st;
    c->unit_len = (uint32_t)n;
    c->unit[n] = 0;
  }
  if ((t = er_json_get(j, 0, "k")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = small_int(j, t, "k", 1, ER_MAX_K, &v, err))) return st;
    c->k = (uint32_t)v;
  }
  if ((t = er_json_get(j, 0, "candidates")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = sku_array(j, t, "candidates", ER_MAX_EXPLICIT, a, &c->candidates, &c->n_candidates, err))) return st;
    c->cand_raw = er_arena_alloc(a, sizeof(char *) * (c->n_candidates + 1u));
    c->cand_raw_len = er_arena_alloc(a, sizeof(uint32_t) * (c->n_candidates + 1u));
    if (!c->cand_raw || !c->cand_raw_len) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "context: out of arena memory");
    for (uint32_t k = 0; k < c->n_candidates; k++) {
      const jsmntok_t *ct = &j->tok[(uint32_t)t + 1 + k];
      c->cand_raw[k] = ctx + ct->start;
      c->cand_raw_len[k] = (uint32_t)(ct->end - ct->start);
    }
  }
  if ((t = er_json_get(j, 0, "exclude")) >= 0 && !er_json_is_null(j, (uint32_t)t))
    if ((st = sku_array(j, t, "exclude", ER_MAX_EXPLICIT, a, &c->exclude, &c->n_exclude, err))) return st;
  if ((t = er_json_get(j, 0, "cart")) >= 0 && !er_json_is_null(j, (uint32_t)t))
    if ((st = sku_array(j, t, "cart", ER_MAX_CART, a, &c->cart, &c->n_cart, err))) return st;
  if ((t = er_json_get(j, 0, "purchased")) >= 0 && !er_json_is_null(j, (uint32_t)t))
    if ((st = sku_array(j, t, "purchased", ER_MAX_PURCHASED, a, &c->purchased, &c->n_purchased, err))) return st;
  if ((t = er_json_get(j, 0, "filter")) >= 0 && !er_json_is_null(j, (uint32_t)t))
    if ((st = filter_field(j, t, c, a, err))) return st;
  if ((t = er_json_get(j, 0, "backfill")) >= 0 && !er_json_is_null(j, (uint32_t)t)) {
    if ((st = name_field(j, t, "backfill", buf, sizeof buf, &n, err))) return st;
    uint32_t b = 0;
    while (b < N_OF(BACKFILLS) && (strlen(BACKFILLS[b].name) != (size_t)n || memcmp(BACKFILLS[b].name, buf, (size_t)n))) b++;
    if (b == N_OF(BACKFILLS))
      return FIELD_ERR(ER_E_RANGE, t, "context: field 'backfill' must be none, most-viewed, most-purchased, most-added-to-cart or trending (byte %d)", er_json_offset(j, (uint32_t)t));
    c->backfill = BACKFILLS[b].list;
  }
  if (c->now) er_profile_decay(&c->profile, c->now);
  return ER_OK;
}
