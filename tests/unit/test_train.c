/* test_train.c — the event log reader (src/offline/er_log.c) and the trainer
 * (src/offline/er_train.c): ordering and de-duplication of logged events, bad lines
 * counted with their numbers (an over-long line is one, its rest never
 * buffered), planted co-occurrence and sequence patterns recovered by both
 * model kinds through the engine's own recommend, the leakage rule (sessions
 * at or after --until change nothing), determinism for a seed, and clear
 * errors. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_log.h"
#include "er_train.h"
#include "harness.h"

/* A log from NDJSON text (finished: grouped and ordered). */
static er_status log_from(er_log *L, const char *text) {
  FILE *f = fmemopen((void *)text, strlen(text), "r");
  er_error err;
  er_log_init(L);
  er_status st = er_log_read(L, f, "test", 0, &err);
  fclose(f);
  if (!st) st = er_log_finish(L, &err);
  return st;
}

/* A growing text buffer. */
typedef struct { char *p; size_t n, cap; } sbuf;
static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (b->p && (size_t)n < b->cap - b->n) { b->n += (size_t)n; return; }
    size_t c = b->cap ? b->cap * 2 : 1 << 16;
    while (c < b->n + (size_t)n + 1) c *= 2;
    b->p = realloc(b->p, c);
    b->cap = c;
  }
}

static void test_log_order_and_duplicates(void) {
  const char *text =
      "{\"type\":\"view\",\"item\":\"B\",\"ts\":100,\"session\":\"s1\",\"id\":\"1\"}\n"
      "{\"type\":\"view\",\"item\":\"A\",\"ts\":50,\"session\":\"s2\",\"id\":\"2\"}\n"
      "\n"
      "{\"type\":\"view\",\"item\":\"C\",\"ts\":100,\"session\":\"s1\",\"id\":\"3\"}\n"
      "not json\n"
      "{\"type\":\"view\",\"item\":\"A\",\"ts\":90,\"session\":\"s1\",\"id\":\"4\"}\n"
      "{\"type\":\"view\",\"item\":\"Z\",\"ts\":95,\"session\":\"s1\",\"id\":\"4\"}\n"
      "{\"type\":\"view\",\"item\":\"D\",\"ts\":100,\"session\":\"s1\",\"id\":\"5\"}\n"
      "{\"type\":\"view\",\"item\":\"E\",\"session\":\"s1\",\"id\":\"6\"}\n";
  er_log L;
  CHECK_EQ_INT(log_from(&L, text), ER_OK);
  CHECK_EQ_INT(L.n_ev, 5);
  CHECK_EQ_INT(L.duplicates, 1);     /* id 4 twice: the second (Z) is skipped */
  CHECK_EQ_INT(L.bad, 2);            /* "not json" and the event without ts */
  CHECK_EQ_INT(L.blank, 1);
  CHECK_EQ_INT(L.bad_line[0], 5);
  CHECK_EQ_INT(L.bad_line[1], 9);
  CHECK(strstr(L.bad_why[1], "ts") != NULL);
  CHECK_EQ_INT(L.n_ses, 2);
  /* s2 ends at 50, s1 at 100: s2 first */
  CHECK_EQ_INT(L.ses[0].n, 1);
  CHECK_EQ_INT(L.ses[1].n, 4);
  /* within s1: A (90), then B, C, D at 100 in input order; Z never */
  const char *want[] = {"A", "B", "C", "D"};
  for (int k = 0; k < 4; k++) {
    uint32_t n;
    const char *s = er_log_sku(&L, L.ev[L.ses[1].first + (uint32_t)k].item, &n);
    CHECK(n == 1 && s[0] == want[k][0]);
  }
  /* s1 holds A twice? no: A at 90 in s1 and A in s2 are one item */
  CHECK_EQ_INT(L.items.n, 4);
  er_log_free(&L);
}

/* Lines at the event limit: exactly ER_MAX_EVENT_BYTES is an event (also with
 * a CRLF end), one byte more is a bad line with its number, and so is a line
 * of 100 times the limit, after which reading goes on at the next line. */
static void test_log_line_limit(void) {
  const char *ev = "{\"type\":\"view\",\"item\":\"A\",\"ts\":1,\"session\":\"s\",\"id\":\"%u\"}";
  sbuf b = {0};
  uint32_t sizes[] = {ER_MAX_EVENT_BYTES, ER_MAX_EVENT_BYTES + 1, 100 * ER_MAX_EVENT_BYTES, ER_MAX_EVENT_BYTES, 60};
  for (uint32_t k = 0; k < 5; k++) {
    char head[128];
    int n = snprintf(head, sizeof head, ev, k + 1);
    sb_printf(&b, "%s%*s%s", head, (int)(sizes[k] - (uint32_t)n), "", k == 3 ? "\r\n" : "\n"); /* padded with spaces */
  }
  er_log L;
  CHECK_EQ_INT(log_from(&L, b.p), ER_OK);
  CHECK_EQ_INT(L.lines, 5);
  CHECK_EQ_INT(L.n_ev, 3);
  CHECK_EQ_INT(L.bad, 2);
  CHECK_EQ_INT(L.bad_line[0], 2);
  CHECK_EQ_INT(L.bad_line[1], 3);
  CHECK_EQ_STR(L.bad_why[0], "event larger than 16384 bytes");
  CHECK_EQ_STR(L.bad_why[1], "event larger than 16384 bytes");
  er_log_free(&L);
  free(b.p);
}

static void test_log_context(void) {
  er_log L;
  CHECK_EQ_INT(log_from(&L, "{\"type\":\"view\",\"item\":\"A\",\"ts\":1700000000,\"session\":\"s\",\"id\":\"1\","
                            "\"country\":\"United \\\"K\\\"\",\"device\":\"mobile\"}\n"), ER_OK);
  char ctx[256];
  uint32_t n = er_log_context_json(&L, &L.ev[0], 20, ctx, sizeof ctx);
  CHECK(n > 0);
  /* 1700000000 = 2023-11-14 22:13:20 UTC, a Tuesday */
  CHECK_EQ_STR(ctx, "{\"now\":1700000000,\"hour\":22,\"weekday\":2,\"country\":\"United \\\"K\\\"\",\"device\":\"mobile\",\"k\":20}");
  CHECK_EQ_INT(er_log_context_json(&L, &L.ev[0], 20, ctx, 16), 0); /* does not fit: 0, no overflow */
  er_log_free(&L);
}

/* Planted data: 40 items; A_k = P<k> is followed by B_k = P<k+20> in many
 * sessions, with random filler around it.  The trained model must put B_k
 * first after a shopper viewed A_k. */
static uint64_t mix(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static char *planted(uint32_t sessions, uint32_t extra_after, uint64_t until, uint64_t seed) {
  sbuf b = {0};
  uint64_t r = seed;
  uint32_t id = 0;
  for (uint32_t s = 0; s < sessions + extra_after; s++) {
    uint64_t t0 = (s < sessions ? 1600000000ull + s * 3000ull : until + 100 + s * 10ull);
    uint32_t len = 3 + (uint32_t)(mix(&r) % 8);
    uint32_t k = (uint32_t)(mix(&r) % 20);
    for (uint32_t p = 0; p < len; p++) {
      uint32_t item;
      if (s >= sessions) item = (p % 2) ? 5 : 33; /* after the cut: a different, loud pattern */
      else if (p == 1) item = k;
      else if (p == 2) item = k + 20;
      else item = (uint32_t)(mix(&r) % 40);
      sb_printf(&b, "{\"type\":\"%s\",\"item\":\"P%u\",\"ts\":%llu,\"session\":\"s%u\",\"id\":\"e%u\",\"price\":%u}\n",
                p == len - 1 ? "purchase" : "view", item, (unsigned long long)(t0 + p * 20), s, id++, 10 + item);
    }
  }
  return b.p;
}

/* The engine's top item for a shopper whose profile holds one view of
 * `recent` (applied as the edge does: er_profile_update), in the context the
 * edge sends (now, hour, weekday). */
static int top1_is(er_engine *E, const char *recent, const char *want) {
  char ev[160], ctx[128];
  snprintf(ev, sizeof ev, "{\"type\":\"view\",\"item\":\"%s\",\"ts\":1602000000,\"price\":12}", recent);
  const uint8_t *pb;
  uint32_t pl;
  if (er_profile_update(E, NULL, 0, ev, (uint32_t)strlen(ev), &pb, &pl)) return 0;
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  memcpy(prof, pb, pl);
  snprintf(ctx, sizeof ctx, "{\"now\":1602000020,\"hour\":16,\"weekday\":2,\"k\":3}");
  const char *out;
  uint32_t n;
  if (er_recommend(E, ctx, (uint32_t)strlen(ctx), prof, pl, &out, &n)) return 0;
  char needle[64], copy[4096];
  snprintf(needle, sizeof needle, "\"items\":[{\"sku\":\"%s\"", want);
  if (n >= sizeof copy) return 0;
  memcpy(copy, out, n); /* the engine's output is not NUL-terminated */
  copy[n] = 0;
  return strstr(copy, needle) != NULL;
}

static void train_and_check(er_train_model kind) {
  char *text = planted(2000, 0, 0, 7);
  er_log L;
  CHECK_EQ_INT(log_from(&L, text), ER_OK);
  er_train_opts o;
  er_train_defaults(&o);
  o.model = kind;
  o.bits = 14;
  o.max_groups = 100000;
  o.trees = 40;
  uint8_t *b;
  uint32_t bl;
  er_train_report rep;
  er_error err;
  er_status st = er_train_run(&L, NULL, 0, &o, &b, &bl, &rep, &err);
  if (st) printf("train failed: %s\n", err.msg);
  CHECK_EQ_INT(st, ER_OK);
  if (st) { er_log_free(&L); free(text); return; }
  CHECK(rep.groups > 100);
  CHECK(rep.auc_float > 0.55); /* only the planted step is predictable; the filler is random */
  CHECK(rep.auc_int8 > rep.auc_float - 0.02);
  CHECK(rep.top10_agreement >= 0.9);
  er_engine *E = er_engine_new(b, bl, &err);
  CHECK(E != NULL);
  int hits = 0;
  for (int k = 0; k < 20 && E; k++) {
    char a[8], w[8];
    snprintf(a, sizeof a, "P%d", k);
    snprintf(w, sizeof w, "P%d", k + 20);
    int hit = top1_is(E, a, w);
    if (!hit) printf("planted: after %s the top item is not %s\n", a, w);
    hits += hit;
  }
  printf("planted %s: %d/20 top-1, AUC %.3f/%.3f, agreement %.3f\n", kind == ER_TRAIN_TREES ? "trees" : "linear", hits,
         rep.auc_float, rep.auc_int8, rep.top10_agreement);
  CHECK(hits >= 18);
  er_engine_free(E);
  free(b);
  er_log_free(&L);
  free(text);
}

static void test_planted_linear(void) { train_and_check(ER_TRAIN_LINEAR); }
static void test_planted_trees(void) { train_and_check(ER_TRAIN_TREES); }

/* Same seed → same bytes; sessions ending at or after --until change nothing. */
static void test_determinism_and_leakage(void) {
  uint64_t until = 1600000000ull + 400 * 3000ull;
  char *base = planted(400, 0, until, 11), *more = planted(400, 60, until, 11);
  er_log L1, L2;
  CHECK_EQ_INT(log_from(&L1, base), ER_OK);
  CHECK_EQ_INT(log_from(&L2, more), ER_OK);
  CHECK(L2.n_ses == L1.n_ses + 60);
  for (int kind = 1; kind <= 2; kind++) {
    er_train_opts o;
    er_train_defaults(&o);
    o.model = (er_train_model)kind;
    o.bits = 12;
    o.trees = 20;
    o.max_groups = 100000;
    o.until_ms = until * 1000;
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    uint32_t al = 0, bl = 0, cl = 0;
    er_train_report rep;
    er_error err;
    CHECK_EQ_INT(er_train_run(&L1, NULL, 0, &o, &a, &al, &rep, &err), ER_OK);
    CHECK_EQ_INT(er_train_run(&L1, NULL, 0, &o, &b, &bl, &rep, &err), ER_OK);
    CHECK(a && b && al == bl && !memcmp(a, b, al)); /* deterministic */
    CHECK_EQ_INT(er_train_run(&L2, NULL, 0, &o, &c, &cl, &rep, &err), ER_OK);
    CHECK(a && c && al == cl && !memcmp(a, c, al)); /* the later sessions were never seen */
    free(b);
    o.seed = 99;
    CHECK_EQ_INT(er_train_run(&L1, NULL, 0, &o, &b, &bl, &rep, &err), ER_OK);
    CHECK(b && (bl != al || memcmp(a, b, al))); /* the seed matters (sampling, shuffles) */
    free(a); free(b); free(c);
  }
  er_log_free(&L1);
  er_log_free(&L2);
  free(base);
  free(more);
}

/* Train both model kinds on a log of planted shown lists (six items, one
 * from the good set P0..P9, the good one clicked): every request must be a
 * shown list (between lo and hi of them), no prior ranker, and a good item
 * first in at least 45 of 50 fresh lists. */
static void check_good_first(const er_log *L, const char *what, uint64_t lo, uint64_t hi) {
  for (int kind = 1; kind <= 2; kind++) {
    er_train_opts o;
    er_train_defaults(&o);
    o.model = (er_train_model)kind;
    o.bits = 14;
    o.max_groups = 100000;
    uint8_t *bun;
    uint32_t bl;
    er_train_report rep;
    er_error err;
    er_status st = er_train_run(L, NULL, 0, &o, &bun, &bl, &rep, &err);
    if (st) printf("train failed: %s\n", err.msg);
    CHECK_EQ_INT(st, ER_OK);
    if (st) continue;
    CHECK(rep.impression_groups >= lo && rep.impression_groups <= hi && rep.impression_groups == rep.groups); /* no next-item requests here */
    CHECK(!rep.prior);
    er_engine *E = er_engine_new(bun, bl, &err);
    int first = 0;
    uint64_t rr = 99;
    for (int t = 0; t < 50 && E; t++) {
      char ctx[256];
      uint32_t good = (uint32_t)(mix(&rr) % 10), slot = (uint32_t)(mix(&rr) % 6);
      int n = snprintf(ctx, sizeof ctx, "{\"now\":1604000000,\"hour\":3,\"weekday\":1,\"k\":1,\"candidates\":[");
      for (uint32_t k = 0; k < 6; k++)
        n += snprintf(ctx + n, sizeof ctx - (size_t)n, "%s\"P%u\"", k ? "," : "", k == slot ? good : 10 + (uint32_t)(mix(&rr) % 30));
      n += snprintf(ctx + n, sizeof ctx - (size_t)n, "]}");
      const char *out;
      uint32_t on;
      char want[48], copy[512];
      if (er_recommend(E, ctx, (uint32_t)n, NULL, 0, &out, &on) || on >= sizeof copy) continue;
      memcpy(copy, out, on);
      copy[on] = 0;
      snprintf(want, sizeof want, "\"items\":[{\"sku\":\"P%u\"", good);
      first += strstr(copy, want) != NULL;
    }
    printf("%s %s: a good item first in %d/50 fresh lists\n", what, kind == 1 ? "linear" : "trees", first);
    CHECK(first >= 45);
    er_engine_free(E);
    free(bun);
  }
}

/* Logged impressions: six items shown, one of them from the "good" set P0..P9,
 * and the shopper clicks the good one (the others are ignored).  The model
 * must learn to put a good item first among fresh impressions. */
static void test_impressions(void) {
  sbuf b = {0};
  uint64_t r = 5;
  uint32_t id = 0;
  for (uint32_t s = 0; s < 800; s++) {
    uint64_t t = 1600000000ull + s * 4000ull;
    uint32_t good = (uint32_t)(mix(&r) % 10), slot = (uint32_t)(mix(&r) % 6), shown[6];
    sb_printf(&b, "{\"type\":\"impression\",\"items\":[");
    for (uint32_t k = 0; k < 6; k++) {
      shown[k] = k == slot ? good : 10 + (uint32_t)(mix(&r) % 30);
      sb_printf(&b, "%s\"P%u\"", k ? "," : "", shown[k]);
    }
    sb_printf(&b, "],\"ts\":%llu,\"session\":\"s%u\",\"id\":\"e%u\"}\n", (unsigned long long)t, s, id++);
    sb_printf(&b, "{\"type\":\"click\",\"item\":\"P%u\",\"ts\":%llu,\"session\":\"s%u\",\"id\":\"e%u\"}\n", good,
              (unsigned long long)(t + 5), s, id++);
    if (s % 3 == 0) /* a rating 2 on an ignored item: a negative too */
      sb_printf(&b, "{\"type\":\"feedback\",\"item\":\"P%u\",\"rating\":2,\"ts\":%llu,\"session\":\"s%u\",\"id\":\"e%u\"}\n",
                shown[(slot + 1) % 6], (unsigned long long)(t + 9), s, id++);
  }
  er_log L;
  CHECK_EQ_INT(log_from(&L, b.p), ER_OK);
  check_good_first(&L, "impressions", 150, UINT64_MAX);
  er_log_free(&L);
  free(b.p);
}

/* Recommendation units (Adobe's storefront SDK events): a unit rendered, then
 * seen (recs-unit-view) with six items, one of them from the good set P0..P9,
 * and the shopper clicks the good one (recs-item-click, or every other
 * session the unit's add-to-cart button).  Each seen unit becomes a training
 * request like a listing impression, and the model must put a good item
 * first.  A unit only rendered (never seen) trains nothing. */
static void unit_log(sbuf *b, uint32_t sessions, int with_view, uint64_t seed) {
  uint64_t r = seed;
  uint32_t id = 0;
  for (uint32_t s = 0; s < sessions; s++) {
    uint64_t t = 1600000000ull + s * 4000ull;
    uint32_t good = (uint32_t)(mix(&r) % 10), slot = (uint32_t)(mix(&r) % 6), shown[6];
    char items[256];
    int n = 0;
    for (uint32_t k = 0; k < 6; k++) {
      shown[k] = k == slot ? good : 10 + (uint32_t)(mix(&r) % 30);
      n += snprintf(items + n, sizeof items - (size_t)n, "%s\"P%u\"", k ? "," : "", shown[k]);
    }
    const char *unit = ",\"unit\":\"pdp-1\",\"unit_type\":\"viewed-viewed\",\"rank\":1";
    sb_printf(b, "{\"type\":\"recs-unit-impression-render\",\"items\":[%s]%s,\"ts\":%llu,\"session\":\"u%u\",\"id\":\"r%u\"}\n",
              items, unit, (unsigned long long)t, s, id++);
    if (with_view)
      sb_printf(b, "{\"type\":\"recs-unit-view\",\"items\":[%s]%s,\"ts\":%llu,\"session\":\"u%u\",\"id\":\"r%u\"}\n", items, unit,
                (unsigned long long)(t + 2), s, id++);
    sb_printf(b, "{\"type\":\"%s\",\"item\":\"P%u\",\"unit\":\"pdp-1\",\"unit_type\":\"viewed-viewed\",\"rank\":%u,"
                 "\"ts\":%llu,\"session\":\"u%u\",\"id\":\"r%u\"}\n",
              s % 2 ? "recs-item-add-to-cart-click" : "recs-item-click", good, slot + 1, (unsigned long long)(t + 5), s, id++);
  }
}

static void test_unit_impressions(void) {
  sbuf b = {0};
  unit_log(&b, 800, 1, 5);
  er_log L;
  CHECK_EQ_INT(log_from(&L, b.p), ER_OK);
  CHECK_EQ_INT(L.n_ev, 2400);
  CHECK_EQ_INT(L.by_type[ER_EV_UNIT_RENDER], 800);
  CHECK_EQ_INT(L.by_type[ER_EV_UNIT_VIEW], 800);
  CHECK_EQ_INT(L.by_type[ER_EV_UNIT_CLICK] + L.by_type[ER_EV_UNIT_CART_CLICK], 800);
  CHECK_EQ_INT(L.items.n, 40);
  /* one request per seen unit at most (renders add none) */
  check_good_first(&L, "unit impressions", 150, 800);
  er_log_free(&L);

  /* rendered but never seen: no training request */
  b.n = 0;
  unit_log(&b, 400, 0, 7);
  CHECK_EQ_INT(log_from(&L, b.p), ER_OK);
  CHECK_EQ_INT(L.n_ev, 800);
  {
    er_train_opts o;
    er_train_defaults(&o);
    o.model = ER_TRAIN_LINEAR;
    o.bits = 14;
    uint8_t *bun = NULL;
    uint32_t bl;
    er_train_report rep;
    er_error err;
    memset(&rep, 0, sizeof rep);
    er_status st = er_train_run(&L, NULL, 0, &o, &bun, &bl, &rep, &err);
    printf("render-only log: status %d, %llu impression requests\n", (int)st, (unsigned long long)rep.impression_groups);
    CHECK_EQ_INT(rep.impression_groups, 0);
    free(bun);
  }
  er_log_free(&L);
  free(b.p);
}

static void test_errors(void) {
  er_log L;
  CHECK_EQ_INT(log_from(&L, "{\"type\":\"view\",\"item\":\"A\",\"ts\":1,\"session\":\"s\",\"id\":\"1\"}\n"), ER_OK);
  er_train_opts o;
  er_train_defaults(&o);
  uint8_t *b;
  uint32_t bl;
  er_train_report rep;
  er_error err;
  CHECK_EQ_INT(er_train_run(&L, NULL, 0, &o, &b, &bl, &rep, &err), ER_E_RANGE);
  CHECK(strstr(err.msg, "training sessions") != NULL);
  o.model = ER_TRAIN_LINEAR;
  o.bits = 30;
  CHECK_EQ_INT(er_train_run(&L, NULL, 0, &o, &b, &bl, &rep, &err), ER_E_RANGE);
  CHECK(strstr(err.msg, "--bits") != NULL);
  er_log_free(&L);
  /* a catalog that does not parse is named */
  char *text = planted(50, 0, 0, 3);
  CHECK_EQ_INT(log_from(&L, text), ER_OK);
  er_train_defaults(&o);
  const char *cat = "{\"items\":[{\"sku\":1}]}";
  CHECK(er_train_run(&L, cat, (uint32_t)strlen(cat), &o, &b, &bl, &rep, &err) != ER_OK);
  CHECK(strstr(err.msg, "catalog") != NULL && strstr(err.msg, "sku") != NULL);
  er_log_free(&L);
  free(text);
}

int main(void) {
  RUN(test_log_order_and_duplicates);
  RUN(test_log_line_limit);
  RUN(test_log_context);
  RUN(test_planted_linear);
  RUN(test_planted_trees);
  RUN(test_determinism_and_leakage);
  RUN(test_impressions);
  RUN(test_unit_impressions);
  RUN(test_errors);
  return DONE();
}
