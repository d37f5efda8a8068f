/* fuzz_context.c — libFuzzer target: er_context_parse on arbitrary bytes.
 * The context is untrusted (it comes from the shopper's request), so every
 * input must give ER_OK or a clean error: never a crash, a sanitizer report
 * or a hang.  On ER_OK the parsed record must respect the documented limits. */
#include <stdint.h>
#include <string.h>

#include "er_context.h"

/* Enough for the token array (ER_MAX_CONTEXT_TOKENS) and three sku arrays
 * of ER_MAX_EXPLICIT entries plus the candidates' raw spans. */
static uint8_t arena_mem[2u << 20];
static jsmntok_t toks[ER_MAX_CONTEXT_TOKENS];

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0xFFFFFFFFu) return 0;
  /* the validator and jsmn must agree: what validates tokenizes into exactly
   * the token count the validator reported */
  uint32_t ntok = 0;
  er_error jerr;
  if (er_json_validate((const char *)data, (uint32_t)size, ER_MAX_JSON_DEPTH, "input", &jerr, &ntok) == ER_OK &&
      ntok <= ER_MAX_CONTEXT_TOKENS) {
    er_json j;
    CHECK(ntok > 0);
    CHECK(er_json_tokenize(&j, (const char *)data, (uint32_t)size, toks, ntok, &jerr) == ER_OK);
    CHECK(j.ntok == ntok);
    CHECK(er_json_skip(&j, 0) == ntok);
  }
  er_arena a;
  er_arena_init(&a, arena_mem, sizeof arena_mem);
  er_context c;
  er_error err;
  er_error_clear(&err);
  er_status st = er_context_parse(&c, (const char *)data, (uint32_t)size, NULL, 0, &a, &err);
  if (st != ER_OK) {
    CHECK(err.code == st);
    CHECK(err.msg[0] != 0);
    CHECK(memchr(err.msg, 0, sizeof err.msg) != NULL);
    CHECK(err.offset == ER_NO_OFFSET || err.offset <= size || err.offset == ER_MAX_CONTEXT_BYTES);
    return 0;
  }
  CHECK(c.k <= ER_MAX_K);
  CHECK(c.hour >= -1 && c.hour <= 23);
  CHECK(c.weekday >= -1 && c.weekday <= 6);
  CHECK(c.unit_len < sizeof c.unit && c.unit[c.unit_len] == 0);
  CHECK(c.n_candidates <= ER_MAX_EXPLICIT && c.n_exclude <= ER_MAX_EXPLICIT);
  CHECK(c.profile.n_items <= ER_PROFILE_MAX_ITEMS && c.profile.n_cats <= ER_PROFILE_MAX_CATS);
  for (uint32_t k = 0; k < c.n_candidates; k++) { /* raw spans lie inside the input */
    CHECK(c.cand_raw[k] >= (const char *)data);
    CHECK(c.cand_raw[k] + c.cand_raw_len[k] <= (const char *)data + size);
  }
  return 0;
}
