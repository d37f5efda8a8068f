/* er_engine.c — the engine object: bundle, arena, output buffer; profile
 * updates and bundle info.  Recommend and re-rank live in their own files. */
#include <stdlib.h>
#include <string.h>

#include "er_engine.h"
#include "er_event.h"

er_engine *er_engine_new(const uint8_t *bundle, uint32_t len, er_error *err) {
  er_bundle b;
  if (er_bundle_load(&b, bundle, len, err)) return NULL;
  er_engine *e = calloc(1, sizeof *e);
  uint8_t *mem = malloc(ER_ARENA_BYTES);
  er_shopper_slot *map = malloc(sizeof(er_shopper_slot) * ER_SHOPPER_SLOTS);
  if (!e || !mem || !map) {
    free(e);
    free(mem);
    free(map);
    er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "engine: cannot allocate %u bytes of arena", ER_ARENA_BYTES);
    return NULL;
  }
  e->b = b;
  if (er_dtrees_init(&e->trees, &e->b)) {
    free(e); free(mem); free(map);
    er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "engine: cannot allocate the decoded trees");
    return NULL;
  }
  e->arena_mem = mem;
  e->map = map;
  er_arena_init(&e->arena, mem, ER_ARENA_BYTES);
  e->budget = b.budget;
  e->reason = "";
  er_error_clear(&e->err);
  return e;
}

void er_engine_free(er_engine *e) {
  if (!e) return;
  free(e->arena_mem);
  free(e->map);
  free(e->lists);
  er_dtrees_free(&e->trees);
  free(e->out);
  free(e);
}

er_status er_engine_reserve(er_engine *e, uint32_t n) {
  if (n <= e->out_cap) return ER_OK;
  uint32_t cap = e->out_cap ? e->out_cap : 4096;
  while (cap < n) cap = cap > 0x7FFFFFFFu / 2 ? n : cap * 2;
  char *p = realloc(e->out, cap);
  if (!p) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "engine: cannot grow the output buffer to %u bytes", cap);
  e->out = p;
  e->out_cap = cap;
  return ER_OK;
}

const er_error *er_engine_error(const er_engine *e) { return &e->err; }
const char *er_engine_reason(const er_engine *e) { return e->reason; }
uint64_t er_engine_units(const er_engine *e) { return e->units; }
er_status er_engine_override(er_engine *e, const char *unit, uint32_t k) {
  if (unit && strlen(unit) >= sizeof e->unit_override) return er_fail(&e->err, ER_E_RANGE, ER_NO_OFFSET, "unit name too long");
  if (k > ER_MAX_K) return er_fail(&e->err, ER_E_RANGE, ER_NO_OFFSET, "k must be 1..%u", ER_MAX_K);
  strcpy(e->unit_override, unit ? unit : "");
  e->k_override = k;
  return ER_OK;
}

void er_engine_set_budget(er_engine *e, uint32_t units) { e->budget = units ? units : e->b.budget; }

uint32_t er_engine_items(er_engine *e, const uint64_t *keys, uint32_t n, uint32_t *out, uint32_t max) {
  uint32_t m = 0;
  for (uint32_t k = 0; k < n && m < max; k++) {
    uint32_t it = er_bundle_find_sku(&e->b, keys[k]);
    e->units += 2;
    if (it == ER_NONE) continue;
    it = er_item_shown(&e->b, it);
    uint32_t x = 0;
    while (x < m && out[x] != it) x++;
    if (x == m) out[m++] = it;
  }
  return m;
}

void er_engine_shopper(er_engine *e, const er_context *c, er_shopper *s) {
  memset(s, 0, sizeof *s);
  s->page = c->page;
  s->page_item = c->page_sku ? er_bundle_find_sku(&e->b, c->page_sku) : ER_NONE;
  s->page_cat = c->page_cat;
  s->device = c->device;
  s->hour = c->hour;
  s->weekday = c->weekday;
  s->country = c->country;
  s->now = c->now;
  uint32_t cart[ER_CART_ANCHORS];
  uint32_t n_cart = er_engine_items(e, c->cart, c->n_cart, cart, ER_CART_ANCHORS);
  er_shopper_build(s, &e->b, &c->profile, cart, n_cart, e->map, ER_SHOPPER_SLOTS, &e->map_gen, &e->units);
}

er_status er_score_features(er_engine *e, const uint8_t *f, uint32_t len, const int32_t **out, uint32_t *n_out) {
  er_arena_reset(&e->arena);
  er_error_clear(&e->err);
  e->units = 0;
  if (!f || len < 12) return er_fail(&e->err, ER_E_SHAPE, 0, "features: %u bytes, shorter than the 12-byte header", len);
  uint32_t n = er_rd32(f), nd = er_rd32(f + 4);
  if (nd != ER_DENSE_COUNT) return er_fail(&e->err, ER_E_SHAPE, 4, "features: %u dense values per candidate, expected %u", nd, ER_DENSE_COUNT);
  if (n > ER_MAX_CANDIDATES) return er_fail(&e->err, ER_E_LIMIT, 0, "features: %u candidates, more than %u", n, ER_MAX_CANDIDATES);
  er_status st = er_engine_reserve(e, 4 * n + 4);
  if (st) return st;
  int32_t *o = (int32_t *)(void *)e->out; /* the output buffer is malloc'd: aligned */
  int linear = e->b.model_kind == ER_MODEL_LINEAR;
  float *x = linear ? NULL : er_arena_alloc(&e->arena, sizeof(float) * ER_DENSE_COUNT * (n + 1));
  if (!linear && !x) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "features: out of arena memory");
  uint32_t at = 12; /* linear: er_score_linear_records scores the records; the loop only reports a bad one */
  for (uint32_t c = linear ? er_score_linear_records(&e->b, f, len, &at, n, o, &e->units) : 0; c < n; c++) {
    if (len - at < 4) return er_fail(&e->err, ER_E_SHAPE, at, "features: truncated at candidate %u", c);
    uint32_t m = er_rd32(f + at);
    at += 4;
    if (m > ER_MAX_SPARSE || (uint64_t)m * 8 + 4 * ER_DENSE_COUNT > len - at)
      return er_fail(&e->err, ER_E_SHAPE, at - 4, "features: candidate %u has a bad sparse count %u", c, m);
    if (linear) o[c] = er_score_linear_wire(&e->b, f + at, m, &e->units);
    at += 8 * m;
    if (!linear) memcpy(x + (size_t)c * ER_DENSE_COUNT, f + at, 4 * ER_DENSE_COUNT);
    at += 4 * ER_DENSE_COUNT;
  }
  if (e->b.model_kind == ER_MODEL_TREES) er_score_trees_batch(&e->b, &e->trees, x, n, o, &e->units);
  *out = o;
  *n_out = n;
  return ER_OK;
}

er_status er_engine_score(er_engine *e, const er_shopper *s, const er_candidate *c, uint32_t n, int32_t *out, uint32_t *done) {
  uint64_t per = er_score_units_per_candidate(&e->b, &e->trees);
  if (per) { /* a fixed cost per candidate: the blocks that pass the budget are known up front */
    uint32_t k = 0;
    while (k < n && e->units + (uint64_t)k * per <= e->budget) k += ER_SCORE_BLOCK;
    if (k > n) k = n;
    er_score_many(s, &e->trees, c, k, out, &e->units);
    *done = k;
    return k < n ? ER_E_BUDGET : ER_OK;
  }
  for (uint32_t k = 0; k < n; k += ER_SCORE_BLOCK) {
    if (e->units > e->budget) { *done = k; return ER_E_BUDGET; }
    uint32_t m = n - k < ER_SCORE_BLOCK ? n - k : ER_SCORE_BLOCK;
    er_score_many(s, &e->trees, c + k, m, out + k, &e->units);
  }
  *done = n;
  return ER_OK;
}

void er_rules_for(const er_bundle *b, uint32_t item, uint32_t unit_key, int32_t *score, int *pin, int *excluded) {
  const er_section *r = &b->sec[ER_SEC_RULES];
  for (uint32_t k = 0; k < r->count; k++) {
    const uint8_t *p = r->p + 16 * (size_t)k;
    if (er_rd32(p) != item) continue;
    uint32_t uk = er_rd32(p + 4);
    if (uk && uk != unit_key) continue;
    int32_t amount = (int32_t)er_rd32(p + 12);
    switch (p[8]) {
    case ER_RULE_PIN: *pin = p[9]; break;
    case ER_RULE_BOOST:
    case ER_RULE_BURY: {
      int64_t v = (int64_t)*score + (p[8] == ER_RULE_BOOST ? (int64_t)amount : -(int64_t)amount);
      *score = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
      break;
    }
    case ER_RULE_EXCLUDE: *excluded = 1; break;
    }
  }
}

void er_engine_enrich_delta(const er_bundle *b, er_profile_delta *d) {
  if (!d->sku_key) return;
  uint32_t it = er_bundle_find_sku(b, d->sku_key);
  if (it == ER_NONE) return;
  uint32_t nc;
  const uint8_t *cats = er_item_cats(b, it, &nc);
  for (uint32_t k = 0; k < nc && d->n_cats < sizeof d->cat_keys / sizeof d->cat_keys[0]; k++) d->cat_keys[d->n_cats++] = er_rd32(cats + 4 * k);
  if (!d->price_cents) d->price_cents = er_item_price(b, it);
}

er_status er_profile_update(er_engine *e, const uint8_t *profile, uint32_t profile_len, const char *event,
                            uint32_t event_len, const uint8_t **out, uint32_t *out_len) {
  er_arena_reset(&e->arena);
  er_error_clear(&e->err);
  e->units = event_len / 16;
  er_profile *p = er_arena_alloc(&e->arena, sizeof *p);
  er_event *ev = er_arena_alloc(&e->arena, sizeof *ev);
  jsmntok_t *tok = er_arena_alloc(&e->arena, sizeof(jsmntok_t) * ER_MAX_EVENT_TOKENS);
  if (!p || !ev || !tok) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "profile: out of arena memory");
  er_status st;
  if ((st = er_profile_decode(p, profile, profile_len, &e->err))) return st;
  if (event_len > ER_MAX_EVENT_BYTES)
    return er_fail(&e->err, ER_E_LIMIT, ER_MAX_EVENT_BYTES, "event: %u bytes, more than the limit of %u", event_len, ER_MAX_EVENT_BYTES);
  if ((st = er_event_parse(ev, event, event_len, tok, ER_MAX_EVENT_TOKENS, 0, &e->err))) return st;
  er_profile_delta d;
  if ((st = er_event_delta(ev, &d))) return er_fail(&e->err, st, ER_NO_OFFSET, "event: cannot be applied to a profile");
  if (!ev->has_ts) d.ts = p->updated; /* no time: no decay */
  er_engine_enrich_delta(&e->b, &d);
  er_profile_apply(p, &d);
  if ((st = er_engine_reserve(e, ER_PROFILE_MAX_BYTES))) return st;
  uint32_t n = er_profile_encode(p, (uint8_t *)e->out, e->out_cap);
  if (!n) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "profile: encode failed");
  *out = (const uint8_t *)e->out;
  *out_len = n;
  return ER_OK;
}

er_status er_profile_show(er_engine *e, const uint8_t *profile, uint32_t profile_len, const char **out, uint32_t *out_len) {
  er_error_clear(&e->err);
  er_profile p;
  er_status st;
  if ((st = er_profile_decode(&p, profile, profile_len, &e->err))) return st;
  if ((st = er_engine_reserve(e, 8192))) return st;
  uint32_t n = er_profile_to_json(&p, e->out, e->out_cap);
  if (!n) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "profile: JSON does not fit");
  *out = e->out;
  *out_len = n;
  return ER_OK;
}

er_status er_engine_set_lists(er_engine *e, const char *js, uint32_t len) {
  er_arena_reset(&e->arena);
  er_error_clear(&e->err);
  e->units = 0;
  e->reason = "";
  if (!len) { /* clear */
    free(e->lists);
    e->lists = NULL;
    return ER_OK;
  }
  jsmntok_t *tok = er_arena_alloc(&e->arena, sizeof(jsmntok_t) * ER_MAX_LISTS_TOKENS);
  er_live_lists *l = malloc(sizeof *l);
  if (!tok || !l) {
    free(l);
    return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "lists: cannot allocate %u bytes", (uint32_t)sizeof *l);
  }
  er_status st = er_lists_parse(l, &e->b, js, len, tok, ER_MAX_LISTS_TOKENS, &e->units, &e->err);
  if (st) { free(l); return st; } /* the lists in force stay */
  free(e->lists);
  e->lists = er_lists_any(l) ? l : NULL;
  if (!e->lists) free(l);
  return ER_OK;
}

er_status er_engine_lists_info(er_engine *e, const char **out, uint32_t *out_len) {
  er_status st = er_engine_reserve(e, 256);
  if (st) return st;
  er_buf o;
  er_buf_init(&o, e->out, e->out_cap);
  er_lists_summary(e->lists, &o);
  if (o.overflow) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "lists: output buffer too small");
  *out = e->out;
  *out_len = o.len;
  return ER_OK;
}

er_status er_bundle_skus(er_engine *e, uint32_t offset, uint32_t count, const char **out, uint32_t *out_len) {
  const er_bundle *b = &e->b;
  er_error_clear(&e->err);
  e->units = 0;
  /* the worst sku: 128 bytes, each escaped as \u00XX, plus quotes and a comma */
  const uint32_t worst = ER_MAX_SKU_BYTES * 6 + 3;
  er_status st = er_engine_reserve(e, ER_SKUS_PAGE_BYTES + worst + 1);
  if (st) return st;
  er_buf o;
  er_buf_init(&o, e->out, e->out_cap);
  er_buf_put(&o, "[", 1);
  uint32_t end = offset < b->n_items ? (count < b->n_items - offset ? offset + count : b->n_items) : offset;
  for (uint32_t it = offset; it < end; it++) {
    uint32_t n;
    const char *sku = er_item_sku(b, it, &n);
    if (it > offset && o.len + n * 6 + 3 + 1 > ER_SKUS_PAGE_BYTES) break; /* the next page starts here */
    if (it > offset) er_buf_put(&o, ",", 1);
    er_buf_jstr(&o, sku, n);
    e->units++;
  }
  er_buf_put(&o, "]", 1);
  if (o.overflow) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "skus: output buffer too small");
  *out = e->out;
  *out_len = o.len;
  return ER_OK;
}

er_status er_bundle_info(er_engine *e, const char **out, uint32_t *out_len) {
  const er_bundle *b = &e->b;
  er_status st;
  if ((st = er_engine_reserve(e, 4096 + b->sec[ER_SEC_META].len))) return st;
  er_buf o;
  er_buf_init(&o, e->out, e->out_cap);
  er_buf_lit(&o, "{\"model_version\":");
  er_buf_jstr(&o, b->version, (uint32_t)strlen(b->version));
  er_buf_lit(&o, ",\"format_version\":");
  er_buf_int(&o, b->format_version);
  er_buf_lit(&o, ",\"engine_version\":\"" EDGEREC_VERSION "\",\"schema_hash\":\"");
  er_buf_hex64(&o, b->schema_hash);
  er_buf_lit(&o, "\",\"checksum\":\"");
  er_buf_hex64(&o, b->checksum);
  er_buf_lit(&o, "\",\"checksum_ok\":true,\"bytes\":");
  er_buf_int(&o, b->size);
  er_buf_lit(&o, ",\"budget\":");
  er_buf_int(&o, b->budget);
  er_buf_lit(&o, ",\"model\":{\"kind\":");
  er_buf_lit(&o, b->model_kind == ER_MODEL_LINEAR ? "\"linear\",\"bits\":" : "\"trees\",\"trees\":");
  er_buf_int(&o, b->model_kind == ER_MODEL_LINEAR ? b->bits : b->n_trees);
  if (b->model_kind == ER_MODEL_TREES) { er_buf_lit(&o, ",\"nodes\":"); er_buf_int(&o, b->n_nodes); }
  er_buf_lit(&o, "},\"items\":");
  er_buf_int(&o, b->n_items);
  er_buf_lit(&o, ",\"sections\":{");
  int first = 1;
  for (uint32_t id = 1; id <= ER_SEC_META; id++) {
    if (!b->sec[id].p) continue;
    if (!first) er_buf_put(&o, ",", 1);
    first = 0;
    er_buf_put(&o, "\"", 1);
    er_buf_lit(&o, er_section_name(id));
    er_buf_lit(&o, "\":{\"bytes\":");
    er_buf_int(&o, b->sec[id].len);
    er_buf_lit(&o, ",\"records\":");
    er_buf_int(&o, b->sec[id].count);
    er_buf_put(&o, "}", 1);
  }
  er_buf_put(&o, "}", 1);
  er_buf_lit(&o, ",\"live_lists\":");
  er_lists_summary(e->lists, &o);
  if (b->sec[ER_SEC_META].len) {
    er_buf_lit(&o, ",\"meta\":");
    er_buf_put(&o, b->sec[ER_SEC_META].p, b->sec[ER_SEC_META].len);
  }
  er_buf_put(&o, "}", 1);
  if (o.overflow) return er_fail(&e->err, ER_E_NOMEM, ER_NO_OFFSET, "info: output too large");
  *out = e->out;
  *out_len = o.len;
  return ER_OK;
}
