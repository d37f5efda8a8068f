/* fuzz_rerank.c — libFuzzer target: er_rerank over the sample bundle.
 * Input: response bytes, a NUL, context bytes (no NUL: the whole input is
 * the response and the context is empty).  On ER_OK the output must be the
 * response with data.products.items permuted: same length, same byte
 * histogram, identical prefix/suffix/separators, and every item span copied
 * whole exactly once.  On failure the reason must be a documented token.
 * A second identical call must give identical bytes (no state leaks), and
 * under a tight work budget the call either succeeds the same way or is
 * declined with the reason "budget". */
#include "fuzz_common.h"
#include "er_json.h"

static er_engine *E[2];
static jsmntok_t toks[ER_MAX_RESPONSE_TOKENS];
static uint8_t used[ER_MAX_RERANK_ITEMS];
static uint32_t st_[ER_MAX_RERANK_ITEMS], en_[ER_MAX_RERANK_ITEMS];
static char copy[ER_MAX_RESPONSE_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  fuzz_set_self((*argv)[0]);
  E[0] = fuzz_engine("EDGEREC_FUZZ_BUNDLE", "sample.erb", 1);
  E[1] = fuzz_engine("EDGEREC_FUZZ_BUNDLE_TREES", "sample-trees.erb", 0);
  return 0;
}

static int32_t child(const er_json *j, int32_t obj, const char *key, jsmntype_t want) {
  if (obj < 0) return -1;
  int32_t t = er_json_get(j, (uint32_t)obj, key);
  return t >= 0 && j->tok[t].type == want ? t : -1;
}

/* The output is a permutation of the response's item spans. */
static void check_permutation(const char *resp, uint32_t len, const char *out, uint32_t olen) {
  CHECK(olen == len);
  uint32_t h1[256] = {0}, h2[256] = {0};
  for (uint32_t k = 0; k < len; k++) { h1[(uint8_t)resp[k]]++; h2[(uint8_t)out[k]]++; }
  CHECK(!memcmp(h1, h2, sizeof h1));
  er_json j;
  er_error err;
  CHECK(er_json_parse(&j, resp, len, toks, ER_MAX_RESPONSE_TOKENS, "response", &err) == ER_OK);
  int32_t items = child(&j, child(&j, child(&j, 0, "data", JSMN_OBJECT), "products", JSMN_OBJECT), "items", JSMN_ARRAY);
  CHECK(items >= 0);
  uint32_t n = (uint32_t)j.tok[items].size;
  CHECK(n >= 2 && n <= ER_MAX_RERANK_ITEMS);
  uint32_t i = (uint32_t)items + 1;
  for (uint32_t k = 0; k < n; k++) {
    st_[k] = (uint32_t)j.tok[i].start;
    en_[k] = (uint32_t)j.tok[i].end;
    i = er_json_skip(&j, i);
  }
  CHECK(!memcmp(out, resp, st_[0]));
  memset(used, 0, n);
  uint32_t pos = st_[0];
  for (uint32_t r = 0; r < n; r++) {
    uint32_t k;
    for (k = 0; k < n; k++) {
      uint32_t w = en_[k] - st_[k];
      if (!used[k] && pos + w <= olen && !memcmp(out + pos, resp + st_[k], w)) break;
    }
    CHECK(k < n); /* every output slot holds a whole, unused input item */
    used[k] = 1;
    pos += en_[k] - st_[k];
    if (r + 1 < n) { /* the original separator of slot r */
      uint32_t w = st_[r + 1] - en_[r];
      CHECK(pos + w <= olen && !memcmp(out + pos, resp + en_[r], w));
      pos += w;
    }
  }
  CHECK(olen - pos == len - en_[n - 1]);
  CHECK(!memcmp(out + pos, resp + en_[n - 1], len - en_[n - 1]));
}

static void run(er_engine *e, const char *resp, uint32_t rlen, const char *ctx, uint32_t clen) {
  const char *out = NULL;
  uint32_t olen = 0;
  er_status st = er_rerank(e, resp, rlen, ctx, clen, NULL, 0, &out, &olen);
  if (st != ER_OK) {
    CHECK(fuzz_known_reason(er_engine_reason(e)));
    CHECK(er_engine_error(e)->code == st && er_engine_error(e)->msg[0]);
    return;
  }
  check_permutation(resp, rlen, out, olen);
  memcpy(copy, out, olen);
  const char *out2 = NULL;
  uint32_t olen2 = 0;
  CHECK(er_rerank(e, resp, rlen, ctx, clen, NULL, 0, &out2, &olen2) == ER_OK);
  CHECK(olen2 == olen && !memcmp(out2, copy, olen));
  /* a tight work budget: still a permutation, or declined as "budget" */
  er_engine_set_budget(e, 1 + (rlen * 31u + clen) % 400u);
  st = er_rerank(e, resp, rlen, ctx, clen, NULL, 0, &out2, &olen2);
  er_engine_set_budget(e, 0);
  if (st == ER_OK) check_permutation(resp, rlen, out2, olen2);
  else CHECK(st == ER_E_BUDGET && !strcmp(er_engine_reason(e), "budget"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > ER_MAX_RESPONSE_BYTES) return 0;
  const uint8_t *nul = memchr(data, 0, size);
  uint32_t rlen = nul ? (uint32_t)(nul - data) : (uint32_t)size;
  const char *ctx = nul ? (const char *)nul + 1 : NULL;
  uint32_t clen = nul ? (uint32_t)(size - rlen - 1) : 0;
  /* exact-size heap copies so ASan sees any read past either part */
  char *resp = malloc(rlen ? rlen : 1);
  char *c = malloc(clen ? clen : 1);
  if (!resp || !c) { free(resp); free(c); return 0; }
  memcpy(resp, data, rlen);
  if (clen) memcpy(c, ctx, clen);
  for (int k = 0; k < 2; k++)
    if (E[k]) run(E[k], resp, rlen, clen ? c : NULL, clen);
  free(resp);
  free(c);
  return 0;
}
