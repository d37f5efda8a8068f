/* er_rerank.c — re-rank a Magento GraphQL products response in place by
 * copying the byte spans of its items: every byte outside the items array
 * and every item's bytes are unchanged; only their order moves. */
#include <string.h>

#include "er_engine.h"
#include "er_topk.h"

static er_status bypass(er_engine *e, const char *reason, er_status code, uint32_t at, const char *msg) {
  e->reason = reason;
  if (at == ER_NO_OFFSET) return er_fail(&e->err, code, at, "rerank: %s", msg);
  return er_fail(&e->err, code, at, "rerank: %s (byte %u)", msg, at);
}

/* Child object/array token at key path, or -1. */
static int32_t path(const er_json *j, int32_t obj, const char *key, jsmntype_t want) {
  if (obj < 0) return -1;
  int32_t t = er_json_get(j, (uint32_t)obj, key);
  if (t < 0 || j->tok[t].type != want) return -1;
  return t;
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
  /* validate the whole response, then tokenize */
  uint32_t ntok = 0;
  st = er_json_validate(resp, resp_len, ER_MAX_JSON_DEPTH, "response", &e->err, &ntok);
  e->units += resp_len / 16 + ctx_len / 16;
  if (st) { e->reason = st == ER_E_LIMIT ? "limit" : "json"; return st; }
  if (ntok > ER_MAX_RESPONSE_TOKENS) {
    e->reason = "limit";
    return er_fail(&e->err, ER_E_LIMIT, ER_NO_OFFSET, "rerank: response has %u JSON tokens, more than the limit of %u", ntok, ER_MAX_RESPONSE_TOKENS);
  }
  if (er_engine_reserve_tokens(e, ntok)) { e->reason = "limit"; return ER_E_NOMEM; }
  er_json jj, *j = &jj;
  if ((st = er_json_tokenize(j, resp, resp_len, e->tok, ntok, &e->err))) { e->reason = "json"; return st; }
  if (j->tok[0].type != JSMN_OBJECT) return bypass(e, "shape", ER_E_SHAPE, 0, "response is not a JSON object");
  int32_t errs = er_json_get(j, 0, "errors");
  if (errs >= 0 && !er_json_is_null(j, (uint32_t)errs) && !(j->tok[errs].type == JSMN_ARRAY && j->tok[errs].size == 0))
    return bypass(e, "errors", ER_E_SHAPE, (uint32_t)j->tok[errs].start, "response carries GraphQL errors");
  int32_t items = path(j, path(j, path(j, 0, "data", JSMN_OBJECT), "products", JSMN_OBJECT), "items", JSMN_ARRAY);
  if (items < 0) return bypass(e, "no-items", ER_E_SHAPE, ER_NO_OFFSET, "response has no data.products.items array");
  uint32_t n = (uint32_t)j->tok[items].size;
  if (n < 2) return bypass(e, "no-items", ER_E_SHAPE, (uint32_t)j->tok[items].start, "fewer than 2 items, nothing to re-rank");
  if (n > ER_MAX_RERANK_ITEMS) {
    e->reason = "limit";
    return er_fail(&e->err, ER_E_LIMIT, (uint32_t)j->tok[items].start, "rerank: %u items, more than the limit of %u (byte %d)", n, ER_MAX_RERANK_ITEMS, j->tok[items].start);
  }
  uint32_t *tix = er_arena_alloc(&e->arena, sizeof(uint32_t) * n);
  er_candidate *cand = er_arena_alloc(&e->arena, sizeof(er_candidate) * n);
  er_scored *sc = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  er_scored *heap = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  er_scored *order = er_arena_alloc(&e->arena, sizeof(er_scored) * n);
  uint8_t *known = er_arena_alloc(&e->arena, n);
  if (!tix || !cand || !sc || !heap || !order || !known) return bypass(e, "limit", ER_E_NOMEM, ER_NO_OFFSET, "out of arena memory");
  uint32_t nknown = 0;
  uint32_t i = (uint32_t)items + 1;
  for (uint32_t k = 0; k < n; k++) {
    tix[k] = i;
    if (j->tok[i].type != JSMN_OBJECT) return bypass(e, "shape", ER_E_SHAPE, (uint32_t)j->tok[i].start, "an item is not an object");
    char buf[ER_MAX_SKU_BYTES];
    int32_t t = er_json_get(j, i, "sku"), sn = -1;
    if (t >= 0) sn = er_json_str(j, (uint32_t)t, buf, sizeof buf);
    if (sn <= 0 && (t = er_json_get(j, i, "uid")) >= 0) sn = er_json_str(j, (uint32_t)t, buf, sizeof buf);
    cand[k] = (er_candidate){ER_NONE, 0, 0};
    known[k] = 0;
    if (sn > 0) {
      cand[k].sku_key = er_key(buf, (size_t)sn);
      cand[k].item = er_bundle_find_sku(&e->b, cand[k].sku_key);
      known[k] = cand[k].item != ER_NONE;
      nknown += known[k];
    }
    int32_t pv = path(j, path(j, path(j, (int32_t)i, "price_range", JSMN_OBJECT), "minimum_price", JSMN_OBJECT), "final_price", JSMN_OBJECT);
    if (pv >= 0 && (pv = er_json_get(j, (uint32_t)pv, "value")) >= 0) {
      int64_t cents;
      if (er_json_fixed(j, (uint32_t)pv, 2, 0, 0xFFFFFFFFll, &cents) == ER_OK) cand[k].price_cents = (uint32_t)cents;
    }
    i = er_json_skip(j, i);
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
  uint32_t first = (uint32_t)j->tok[tix[0]].start, olen = first;
  memcpy(o, resp, first);
  for (uint32_t r = 0; r < n; r++) {
    const jsmntok_t *it = &j->tok[tix[order[r].pos]];
    uint32_t w = (uint32_t)(it->end - it->start);
    memcpy(o + olen, resp + it->start, w);
    olen += w;
    if (r + 1 < n) { /* separator between original slots r and r+1 */
      uint32_t a = (uint32_t)j->tok[tix[r]].end, b = (uint32_t)j->tok[tix[r + 1]].start;
      memcpy(o + olen, resp + a, b - a);
      olen += b - a;
    }
  }
  uint32_t last = (uint32_t)j->tok[tix[n - 1]].end;
  memcpy(o + olen, resp + last, resp_len - last);
  olen += resp_len - last;
  *out = e->out;
  *out_len = olen;
  return ER_OK;
}
