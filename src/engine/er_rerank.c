/* er_rerank.c — re-rank a Magento GraphQL products response in place by
 * copying the byte spans of its items: every byte outside the items array
 * and every item's bytes are unchanged; only their order moves. */
#include <string.h>

#include "er_engine.h"
#include "er_jscan.h"
#include "er_topk.h"

static er_status bypass(er_engine *e, const char *reason, er_status code, uint32_t at, const char *msg) {
  e->reason = reason;
  if (at == ER_NO_OFFSET) return er_fail(&e->err, code, at, "rerank: %s", msg);
  return er_fail(&e->err, code, at, "rerank: %s (byte %u)", msg, at);
}

#define IS(k, lit) er_jscan_is(w->s, &(k), lit, sizeof lit - 1)

/* What the walk over the response finds (the first member of each name, as
 * er_json_get): the errors member, the items array, the items' spans. */
typedef struct {
  const char *s;
  uint32_t len;
  int has_errs, errs_empty, has_items;
  er_jspan errs, items;
  er_jspan *it;   /* the first ER_MAX_RERANK_ITEMS items (ends completed) */
  er_jspan *sku, *uid, *price; /* each item's members (type 0: absent) */
  uint32_t n;     /* items, all of them */
} walk;

/* Member `key` of completed object span obj (its type checked by the caller), completed; 0 if absent. */
static int member(const walk *w, const er_jspan *obj, const char *key, er_jspan *v) {
  er_jspan k;
  uint32_t i = obj->start + 1;
  while (er_jscan_member(w->s, w->len, &i, &k, v)) {
    i = er_jscan_skip(w->s, w->len, v);
    if (er_jscan_is(w->s, &k, key, (uint32_t)strlen(key))) return 1;
  }
  return 0;
}

/* The items: each one's span, and an object's sku, uid and price_range in one pass over it. */
static uint32_t walk_items(walk *w, er_jspan *arr) {
  uint32_t i = arr->start + 1;
  er_jspan v, k, m;
  while (er_jscan_element(w->s, w->len, &i, &v)) {
    uint32_t x = w->n++;
    if (x >= ER_MAX_RERANK_ITEMS || v.type != JSMN_OBJECT) { i = er_jscan_skip(w->s, w->len, &v); if (x < ER_MAX_RERANK_ITEMS) w->it[x] = v; continue; }
    w->sku[x].type = w->uid[x].type = w->price[x].type = JSMN_UNDEFINED;
    uint32_t j = v.start + 1;
    while (er_jscan_member(w->s, w->len, &j, &k, &m)) {
      j = er_jscan_skip(w->s, w->len, &m);
      er_jspan *slot = IS(k, "sku") ? &w->sku[x] : IS(k, "uid") ? &w->uid[x] : IS(k, "price_range") ? &w->price[x] : NULL;
      if (slot && slot->type == JSMN_UNDEFINED) *slot = m;
    }
    v.end = j; /* after the closing brace */
    w->it[x] = v;
    i = j;
  }
  return arr->end = i;
}

/* Descend data.products.items (each the first of its name), skipping the rest. */
static uint32_t walk_down(walk *w, er_jspan *obj, int level) {
  static const char *const names[] = {"data", "products", "items"};
  uint32_t i = obj->start + 1;
  int seen = 0;
  er_jspan k, v;
  while (er_jscan_member(w->s, w->len, &i, &k, &v)) {
    if (level == 0 && !w->has_errs && IS(k, "errors")) {
      w->has_errs = 1;
      i = er_jscan_skip(w->s, w->len, &v);
      w->errs = v;
      uint32_t q = v.start + 1;
      er_jspan first;
      w->errs_empty = v.type == JSMN_ARRAY && !er_jscan_element(w->s, w->len, &q, &first);
      continue;
    }
    if (!seen && er_jscan_is(w->s, &k, names[level], (uint32_t)strlen(names[level]))) {
      seen = 1;
      if (level < 2 && v.type == JSMN_OBJECT) { i = walk_down(w, &v, level + 1); continue; }
      if (level == 2 && v.type == JSMN_ARRAY) { w->has_items = 1; i = walk_items(w, &v); w->items = v; continue; }
    }
    i = er_jscan_skip(w->s, w->len, &v);
  }
  return obj->end = i;
}

/* A one-token view of a completed span. */
static er_json *one(const walk *w, const er_jspan *v, er_json *j, jsmntok_t *t) {
  er_jscan_tok(w->s, w->len, v, j, t);
  return j;
}

er_status er_rerank(er_engine *e, const char *resp, uint32_t resp_len, const char *ctx, uint32_t ctx_len,
                    const uint8_t *profile, uint32_t profile_len, const char **out, uint32_t *out_len) {
  er_arena_reset(&e->arena);
  er_error_clear(&e->err);
  e->units = 0;
  e->reason = "";
  if (!resp || !resp_len) return bypass(e, "shape", ER_E_SHAPE, 0, "empty response");
  if (!ctx && ctx_len) return bypass(e, "context", ER_E_USAGE, ER_NO_OFFSET, "context pointer is NULL");
  if (resp_len > ER_MAX_RESPONSE_BYTES) {
    e->reason = "limit";
    return er_fail(&e->err, ER_E_LIMIT, ER_MAX_RESPONSE_BYTES, "rerank: response of %u bytes exceeds the limit of %u", resp_len, ER_MAX_RESPONSE_BYTES);
  }
  er_context *c = er_arena_alloc(&e->arena, sizeof *c);
  if (!c) return bypass(e, "limit", ER_E_NOMEM, ER_NO_OFFSET, "out of arena memory");
  er_status st = er_context_parse(c, ctx_len ? ctx : "{}", ctx_len ? ctx_len : 2, profile, profile_len, &e->arena, &e->err);
  if (st) { e->reason = "context"; return st; }
  /* validate the whole response (then walk it once: er_jscan.h) */
  uint32_t ntok = 0;
  st = er_json_validate(resp, resp_len, ER_MAX_JSON_DEPTH, "response", &e->err, &ntok);
  e->units += resp_len / 16 + ctx_len / 16;
  if (st) { e->reason = st == ER_E_LIMIT ? "limit" : "json"; return st; }
  if (ntok > ER_MAX_RESPONSE_TOKENS) {
    e->reason = "limit";
    return er_fail(&e->err, ER_E_LIMIT, ER_NO_OFFSET, "rerank: response has %u JSON tokens, more than the limit of %u", ntok, ER_MAX_RESPONSE_TOKENS);
  }
  /* the document is valid: one walk reads the spans needed, no tokens */
  walk w = {.s = resp, .len = resp_len};
  er_jspan doc;
  if (!er_jscan_at(resp, resp_len, 0, &doc) || doc.type != JSMN_OBJECT) return bypass(e, "shape", ER_E_SHAPE, 0, "response is not a JSON object");
  w.it = er_arena_alloc(&e->arena, sizeof(er_jspan) * ER_MAX_RERANK_ITEMS);
  w.sku = er_arena_alloc(&e->arena, sizeof(er_jspan) * ER_MAX_RERANK_ITEMS);
  w.uid = er_arena_alloc(&e->arena, sizeof(er_jspan) * ER_MAX_RERANK_ITEMS);
  w.price = er_arena_alloc(&e->arena, sizeof(er_jspan) * ER_MAX_RERANK_ITEMS);
  if (!w.it || !w.sku || !w.uid || !w.price) return bypass(e, "limit", ER_E_NOMEM, ER_NO_OFFSET, "out of arena memory");
  walk_down(&w, &doc, 0);
  if (w.has_errs && !(w.errs.type == JSMN_PRIMITIVE && resp[w.errs.start] == 'n') && !w.errs_empty)
    return bypass(e, "errors", ER_E_SHAPE, w.errs.start, "response carries GraphQL errors");
  if (!w.has_items) return bypass(e, "no-items", ER_E_SHAPE, ER_NO_OFFSET, "response has no data.products.items array");
  uint32_t n = w.n;
  if (n < 2) return bypass(e, "no-items", ER_E_SHAPE, w.items.start, "fewer than 2 items, nothing to re-rank");
  if (n > ER_MAX_RERANK_ITEMS) {
    e->reason = "limit";
    return er_fail(&e->err, ER_E_LIMIT, w.items.start, "rerank: %u items, more than the limit of %u (byte %u)", n, ER_MAX_RERANK_ITEMS, w.items.start);
  }
  er_candidate *cand = er_arena_alloc(&e->arena, sizeof(er_candidate) * n);
  er_scored *sc = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  er_scored *heap = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  er_scored *order = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  uint8_t *known = er_arena_alloc(&e->arena, n);
  if (!cand || !sc || !heap || !order || !known) return bypass(e, "limit", ER_E_NOMEM, ER_NO_OFFSET, "out of arena memory");
  uint32_t nknown = 0;
  const er_jspan *it = w.it;
  for (uint32_t k = 0; k < n; k++) {
    if (it[k].type != JSMN_OBJECT) return bypass(e, "shape", ER_E_SHAPE, it[k].start, "an item is not an object");
    char buf[ER_MAX_SKU_BYTES];
    er_json j;
    jsmntok_t tk;
    int32_t sn = -1;
    if (w.sku[k].type) sn = er_json_str(one(&w, &w.sku[k], &j, &tk), 0, buf, sizeof buf);
    if (sn <= 0 && w.uid[k].type) sn = er_json_str(one(&w, &w.uid[k], &j, &tk), 0, buf, sizeof buf);
    cand[k] = (er_candidate){ER_NONE, 0, 0};
    known[k] = 0;
    if (sn > 0) {
      cand[k].sku_key = er_key(buf, (size_t)sn);
      cand[k].item = er_bundle_find_sku(&e->b, cand[k].sku_key);
      known[k] = cand[k].item != ER_NONE;
      nknown += known[k];
    }
    er_jspan mp, fp, v;
    if (w.price[k].type == JSMN_OBJECT && member(&w, &w.price[k], "minimum_price", &mp) && mp.type == JSMN_OBJECT &&
        member(&w, &mp, "final_price", &fp) && fp.type == JSMN_OBJECT && member(&w, &fp, "value", &v)) {
      int64_t cents;
      if (er_json_fixed(one(&w, &v, &j, &tk), 0, 2, 0, 0xFFFFFFFFll, &cents) == ER_OK) cand[k].price_cents = (uint32_t)cents;
    }
  }
  if (!nknown) return bypass(e, "no-known-items", ER_E_SHAPE, ER_NO_OFFSET, "no item of the response is in the bundle's catalog");
  er_shopper s;
  er_engine_shopper(e, c, &s);
  /* score the known items together (compacted), then spread back */
  er_candidate *kc = er_arena_alloc(&e->arena, sizeof(er_candidate) * nknown);
  int32_t *ks = er_arena_alloc(&e->arena, sizeof(int32_t) * nknown);
  if (!kc || !ks) return bypass(e, "limit", ER_E_NOMEM, ER_NO_OFFSET, "out of arena memory");
  for (uint32_t k = 0, m = 0; k < n; k++)
    if (known[k]) kc[m++] = cand[k];
  uint32_t done;
  if (er_engine_score(e, &s, kc, nknown, ks, &done) == ER_E_BUDGET) {
    e->reason = "budget";
    return er_fail(&e->err, ER_E_BUDGET, ER_NO_OFFSET, "rerank: work budget of %u units exhausted after %u of %u items", e->budget, done, n);
  }
  int64_t sum = 0;
  for (uint32_t k = 0, m = 0; k < n; k++) {
    if (!known[k]) continue;
    sc[k].score = ks[m++];
    sum += sc[k].score;
  }
  int32_t neutral = (int32_t)(sum / (int64_t)nknown);
  for (uint32_t k = 0; k < n; k++) {
    if (!known[k]) sc[k].score = neutral;
    sc[k].pos = k;
  }
  er_topk(sc, n, n, heap, order);
  e->units += n;
  /* splice: prefix, items in new order with the original separators, suffix */
  if ((st = er_engine_reserve(e, resp_len))) return st;
  char *o = e->out;
  uint32_t first = it[0].start, olen = first;
  memcpy(o, resp, first);
  for (uint32_t r = 0; r < n; r++) {
    const er_jspan *x = &it[order[r].pos];
    memcpy(o + olen, resp + x->start, x->end - x->start);
    olen += x->end - x->start;
    if (r + 1 < n) { /* separator between original slots r and r+1 */
      uint32_t a = it[r].end, b = it[r + 1].start;
      memcpy(o + olen, resp + a, b - a);
      olen += b - a;
    }
  }
  uint32_t last = it[n - 1].end;
  memcpy(o + olen, resp + last, resp_len - last);
  olen += resp_len - last;
  *out = e->out;
  *out_len = olen;
  return ER_OK;
}
