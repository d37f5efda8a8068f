/* fuzz_log.c — libFuzzer target: er_log_read / er_log_finish (the trainer's
 * and evaluator's NDJSON reader: logs come from the edge, from exports and
 * from importers, so any bytes).  Invariants: every line is counted as an
 * event, a blank, a bad line or a duplicate; events of a session are in time
 * order, sessions in order of their last event; the edge's marks (flag,
 * trust "new") are counted as kept; every event's context JSON is valid for
 * the engine's own context parser. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "er_context.h"
#include "er_log.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static uint8_t arena_mem[256 * 1024];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size || size > (1u << 20)) return 0;
  FILE *f = fmemopen((void *)data, size, "r");
  if (!f) return 0;
  er_log L;
  er_error err;
  er_log_init(&L);
  er_status st = er_log_read(&L, f, "fuzz", 0, &err);
  fclose(f);
  if (!st) st = er_log_finish(&L, &err);
  if (st) { CHECK(err.msg[0]); er_log_free(&L); return 0; }
  CHECK(L.n_ev + L.blank + L.bad + L.duplicates == L.lines);
  uint32_t seen = 0;
  uint64_t flagged = 0, fresh = 0;
  for (uint32_t x = 0; x < L.n_ev; x++) { flagged += L.ev[x].flagged; fresh += L.ev[x].trust_new; }
  CHECK(flagged == L.flagged && fresh == L.trust_new); /* the edge's marks, counted as kept */
  for (uint32_t s = 0; s < L.n_ses; s++) {
    const er_log_session *S = &L.ses[s];
    CHECK(S->n > 0 && S->first == seen);
    seen += S->n;
    if (s) CHECK(L.ses[s - 1].end_ms <= S->end_ms);
    for (uint32_t x = S->first; x < S->first + S->n; x++) {
      CHECK(L.ev[x].session == s);
      if (x > S->first) CHECK(L.ev[x - 1].ts_ms <= L.ev[x].ts_ms);
      char ctx[1024];
      uint32_t n = er_log_context_json(&L, &L.ev[x], 20, ctx, sizeof ctx);
      if (!n) continue; /* a very long country does not fit: the caller skips the request */
      er_arena a;
      er_arena_init(&a, arena_mem, sizeof arena_mem);
      er_context c;
      er_error ce;
      CHECK(er_context_parse(&c, ctx, n, NULL, 0, &a, &ce) == ER_OK);
    }
  }
  CHECK(seen == L.n_ev);
  er_log_free(&L);
  return 0;
}
