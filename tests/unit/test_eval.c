/* test_eval.c — offline evaluation (er_eval): metric arithmetic by hand, the
 * split and drop rules, every peer on planted logs and against a brute-force
 * reference written from the definitions, no test data in training, edgerec
 * through er_recommend on a bundle packed here, the storefront's unit events,
 * wishlist and flagged events, the JSON and the command. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edgerec.h"
#include "er_bundle.h"
#include "er_eval.h"
#include "er_json.h"
#include "er_log.h"
#include "er_pack.h"
#include "harness.h"

/* ---- helpers ----------------------------------------------------------------- */

/* An NDJSON log built line by line. */
typedef struct { char *p; size_t n, cap; unsigned id; } text;

static void add(text *t, const char *type, const char *item, double ts, const char *session) {
  if (t->n + 512 > t->cap) {
    t->cap = t->cap ? t->cap * 2 : 65536;
    t->p = realloc(t->p, t->cap);
  }
  t->n += (size_t)snprintf(t->p + t->n, t->cap - t->n, "{\"type\":\"%s\",\"item\":\"%s\",\"ts\":%.3f,\"session\":\"%s\",\"id\":\"e%u\"}\n",
                           type, item, ts, session, t->id++);
}

static void add_raw(text *t, const char *line) {
  size_t n = strlen(line);
  if (t->n + n + 2 > t->cap) {
    t->cap = (t->cap ? t->cap * 2 : 65536) + n;
    t->p = realloc(t->p, t->cap);
  }
  memcpy(t->p + t->n, line, n);
  t->n += n;
  t->p[t->n++] = '\n';
}

/* Read and group a log from text. */
static void load(er_log *L, const text *t) {
  er_log_init(L);
  er_error err;
  if (t->n) {
    FILE *f = fmemopen(t->p, t->n, "r");
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ_INT(er_log_read(L, f, "test", 0, &err), ER_OK);
    fclose(f);
  }
  CHECK_EQ_INT(er_log_finish(L, &err), ER_OK);
}

static uint32_t item_id(const er_log *L, const char *sku) { return er_intern_find(&L->items, sku, (uint32_t)strlen(sku)); }

/* Ranks recorded through the trace callback: [model][test session][position]. */
#define MAXT 2048
#define MAXP 64
typedef struct {
  int32_t rank[ER_EVAL_N_MODELS][MAXT][MAXP];
  uint32_t item[MAXT][MAXP];
  uint64_t calls[ER_EVAL_N_MODELS];
  int overflow;
} traces;
static traces TR;

static void on_rank(void *user, er_eval_model m, uint32_t test, uint32_t pos, uint32_t item, uint32_t rank) {
  traces *t = user;
  if (test >= MAXT || pos >= MAXP) { t->overflow = 1; return; }
  t->rank[m][test][pos] = (int32_t)rank;
  t->item[test][pos] = item;
  t->calls[m]++;
}

static void trace_reset(void) {
  memset(&TR, 0, sizeof TR);
  for (int m = 0; m < ER_EVAL_N_MODELS; m++)
    for (int t = 0; t < MAXT; t++)
      for (int p = 0; p < MAXP; p++) TR.rank[m][t][p] = -1;
}

static er_eval_opts opts_from(uint64_t from_ms, uint32_t models) {
  er_eval_opts o;
  er_eval_opts_default(&o);
  o.has_from = 1;
  o.from_ms = from_ms;
  o.models = models;
  o.trace = on_rank;
  o.trace_user = &TR;
  return o;
}

static int near(double a, double b) { return fabs(a - b) < 1e-12; }

/* ---- metrics --------------------------------------------------------------------- */

static void test_metrics(void) {
  er_eval_metrics m;
  er_eval_metrics_init(&m);
  CHECK(er_eval_hr(&m, 20) == 0 && er_eval_mrr(&m, 20) == 0 && er_eval_ndcg(&m, 10) == 0); /* no prediction */
  static const uint32_t ranks[] = {1, 2, 5, 11, 0, 25, 201, 10};
  for (unsigned k = 0; k < sizeof ranks / sizeof ranks[0]; k++) er_eval_metrics_add(&m, ranks[k]);
  CHECK_EQ_INT(m.n, 8);
  CHECK(near(er_eval_hr(&m, 10), 4.0 / 8));  /* 1, 2, 5, 10 */
  CHECK(near(er_eval_hr(&m, 20), 5.0 / 8));  /* + 11 */
  CHECK(near(er_eval_hr(&m, 1), 1.0 / 8));
  CHECK(near(er_eval_hr(&m, 200), 6.0 / 8)); /* + 25; 0 and 201 are misses */
  CHECK(near(er_eval_mrr(&m, 20), (1 + 1.0 / 2 + 1.0 / 5 + 1.0 / 10 + 1.0 / 11) / 8));
  CHECK(near(er_eval_mrr(&m, 10), (1 + 1.0 / 2 + 1.0 / 5 + 1.0 / 10) / 8));
  CHECK(near(er_eval_ndcg(&m, 10), (1 + 1 / log2(3) + 1 / log2(6) + 1 / log2(11)) / 8));
  CHECK(near(er_eval_ndcg(&m, 5), (1 + 1 / log2(3) + 1 / log2(6)) / 8));
  CHECK(near(er_eval_hr(&m, 100000), er_eval_hr(&m, 200))); /* clamped */
  /* a single hit at rank 3 */
  er_eval_metrics_init(&m);
  er_eval_metrics_add(&m, 3);
  CHECK(near(er_eval_hr(&m, 2), 0) && near(er_eval_hr(&m, 3), 1));
  CHECK(near(er_eval_mrr(&m, 20), 1.0 / 3) && near(er_eval_ndcg(&m, 10), 0.5));
}

static void test_parse_models(void) {
  uint32_t m;
  er_error err;
  CHECK_EQ_INT(er_eval_parse_models("pop,sr", &m, &err), ER_OK);
  CHECK_EQ_INT(m, ER_EVAL_BIT(ER_EVAL_POP) | ER_EVAL_BIT(ER_EVAL_SR));
  CHECK_EQ_INT(er_eval_parse_models("all", &m, &err), ER_OK);
  CHECK_EQ_INT(m, ER_EVAL_PEERS);
  CHECK_EQ_INT(er_eval_parse_models("vsknn,spop,ar", &m, &err), ER_OK);
  CHECK_EQ_INT(m, ER_EVAL_BIT(ER_EVAL_VSKNN) | ER_EVAL_BIT(ER_EVAL_SPOP) | ER_EVAL_BIT(ER_EVAL_AR));
  CHECK_EQ_INT(er_eval_parse_models("vstan,stan", &m, &err), ER_OK);
  CHECK_EQ_INT(m, ER_EVAL_BIT(ER_EVAL_STAN) | ER_EVAL_BIT(ER_EVAL_VSTAN));
  CHECK((ER_EVAL_PEERS & ER_EVAL_BIT(ER_EVAL_STAN)) && (ER_EVAL_PEERS & ER_EVAL_BIT(ER_EVAL_VSTAN)));
  CHECK_EQ_STR(er_eval_model_name(ER_EVAL_VSTAN), "vstan");
  CHECK_EQ_INT(er_eval_parse_models("none", &m, &err), ER_OK);
  CHECK_EQ_INT(m, 0);
  CHECK_EQ_INT(er_eval_parse_models("pop,knn", &m, &err), ER_E_USAGE);
  CHECK(strstr(err.msg, "'knn'") && strstr(err.msg, "--baseline"));
  CHECK_EQ_INT(er_eval_parse_models("none,pop", &m, &err), ER_E_USAGE);
  CHECK_EQ_INT(er_eval_parse_models("pop,", &m, &err), ER_E_USAGE);
  CHECK_EQ_INT(er_eval_parse_models("edgerec", &m, &err), ER_E_USAGE);
  CHECK_EQ_STR(er_eval_model_name(ER_EVAL_VSKNN), "vsknn");
  CHECK(er_eval_model_name(ER_EVAL_N_MODELS) == NULL);
}

/* ---- the split --------------------------------------------------------------------- */

static void test_split_rules(void) {
  text t = {0};
  /* training */
  add(&t, "view", "A", 100, "s1");
  add(&t, "cart", "B", 101, "s1");
  add(&t, "purchase", "C", 102, "s1");
  add(&t, "view", "B", 200, "s2");
  add(&t, "click", "C", 999.999, "s2"); /* ends 1 ms before the split: training */
  add_raw(&t, "{\"type\":\"impression\",\"items\":[\"I1\",\"I2\"],\"ts\":150,\"session\":\"s2\",\"id\":\"imp1\"}");
  add_raw(&t, "{\"type\":\"feedback\",\"item\":\"F\",\"rating\":5,\"ts\":160,\"session\":\"s1\",\"id\":\"fb1\"}");
  /* test, split at 1000 s */
  add(&t, "view", "A", 990, "s3");     /* starts before the split */
  add(&t, "view", "X", 995, "s3");     /* unknown: dropped */
  add(&t, "view", "B", 1000, "s3");    /* last event exactly at the split: test */
  add(&t, "view", "A", 2000, "s4");    /* one event: dropped session */
  add(&t, "view", "X", 3000, "s5");    /* both unknown: dropped session */
  add(&t, "view", "Y", 3001, "s5");
  add_raw(&t, "{\"type\":\"impression\",\"items\":[\"A\"],\"ts\":4000,\"session\":\"s6\",\"id\":\"imp2\"}"); /* no item event */
  add(&t, "view", "F", 5000, "s7");    /* F only in a training feedback event: unknown */
  add(&t, "view", "C", 5001, "s7");
  add(&t, "view", "A", 5002, "s7");
  er_log L;
  load(&L, &t);
  er_eval_split s;
  er_error err;
  CHECK_EQ_INT(er_eval_split_build(&L, 1000000, &s, &err), ER_OK);
  CHECK_EQ_INT(s.n_train, 2);
  CHECK_EQ_INT(s.n_test, 2);                  /* s3 (A B), s7 (C A) */
  CHECK_EQ_INT(s.test_sessions_total, 4);     /* s3, s4, s5, s7 (s6 has no item event) */
  CHECK_EQ_INT(s.test_sessions_dropped, 2);   /* s4, s5 */
  CHECK_EQ_INT(s.test_events_dropped, 4);     /* X in s3, X and Y in s5, F in s7 */
  CHECK_EQ_INT(s.predictions, 2);
  CHECK_EQ_INT(s.train_first[2], 5);          /* item events only */
  CHECK_EQ_INT(s.pop[item_id(&L, "A")], 1);
  CHECK_EQ_INT(s.pop[item_id(&L, "B")], 2);
  CHECK_EQ_INT(s.pop[item_id(&L, "C")], 2);
  CHECK_EQ_INT(s.pop[item_id(&L, "F")], 0);   /* feedback does not count */
  CHECK_EQ_INT(s.pop[item_id(&L, "I1")], 0);  /* impressions do not count */
  if (s.n_test == 2) {
    CHECK_EQ_INT(s.test_first[1] - s.test_first[0], 2);
    CHECK_EQ_INT(L.ev[s.test_event[0]].item, item_id(&L, "A"));
    CHECK_EQ_INT(L.ev[s.test_event[1]].item, item_id(&L, "B"));
    CHECK_EQ_INT(L.ev[s.test_event[2]].item, item_id(&L, "C"));
  }
  er_eval_split_free(&s);
  /* one millisecond later the boundary session s3 ... is still test (its last event is at 1000 s)
   * and s2 (ends 999.999) moves to test when the split is 999.999 */
  CHECK_EQ_INT(er_eval_split_build(&L, 999999, &s, &err), ER_OK);
  CHECK_EQ_INT(s.n_train, 1);
  er_eval_split_free(&s);
  CHECK_EQ_INT(er_eval_split_build(&L, 1000001, &s, &err), ER_OK);
  CHECK_EQ_INT(s.n_train, 3); /* s3 ends at 1000.000 < 1000.001 */
  er_eval_split_free(&s);
  /* nothing before the split / nothing usable after it */
  CHECK_EQ_INT(er_eval_split_build(&L, 0, &s, &err), ER_E_SHAPE);
  CHECK(strstr(err.msg, "no training session") != NULL);
  CHECK_EQ_INT(er_eval_split_build(&L, 6000000, &s, &err), ER_E_SHAPE);
  CHECK(strstr(err.msg, "no test session") != NULL);
  er_log_free(&L);
  /* an empty log */
  text e = {0};
  load(&L, &e);
  CHECK_EQ_INT(er_eval_split_build(&L, 0, &s, &err), ER_E_SHAPE);
  CHECK(strstr(err.msg, "no events") != NULL);
  er_eval_opts o;
  er_eval_opts_default(&o);
  er_eval_result r;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_E_SHAPE);
  er_log_free(&L);
  free(t.p);
}

static void test_split_test_days(void) {
  text t = {0};
  for (int d = 0; d < 40; d++) {
    char s[16];
    snprintf(s, sizeof s, "d%d", d);
    add(&t, "view", "A", 86400.0 * d + 10, s);
    add(&t, "view", "B", 86400.0 * d + 20, s);
  }
  er_log L;
  load(&L, &t);
  er_eval_opts o;
  er_eval_opts_default(&o);
  o.test_days = 10; /* last event: day 39 + 20 s; split: day 29 + 20 s → sessions d29..d39 are test */
  er_eval_result r;
  er_error err;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_OK);
  CHECK_EQ_INT(r.from_ms, (86400ull * 29 + 20) * 1000);
  CHECK_EQ_INT(r.train_sessions, 29);
  CHECK_EQ_INT(r.test_sessions, 11);
  CHECK_EQ_INT(r.predictions, 11);
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].ran, 0);
  CHECK_EQ_INT(r.model[ER_EVAL_POP].ran, 1);
  /* POP: A and B both have 29 events; A first by id, so B ranks 2 */
  CHECK(near(er_eval_mrr(&r.model[ER_EVAL_POP].m, 20), 0.5));
  /* bad options */
  o.k = 0;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_E_USAGE);
  CHECK(strstr(err.msg, "k must be") != NULL);
  o.k = 20;
  o.models = ER_EVAL_BIT(ER_EVAL_EDGEREC);
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_E_USAGE);
  CHECK(strstr(err.msg, "engine") != NULL);
  o.models = 0;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_E_USAGE);
  er_log_free(&L);
  free(t.p);
}

/* ---- peers on planted logs ------------------------------------------------------------ */

static er_status run_one(const er_log *L, uint64_t from_ms, er_eval_model m, er_eval_model_result *r) {
  er_eval_split s;
  er_error err;
  er_status st = er_eval_split_build(L, from_ms, &s, &err);
  if (st) return st;
  er_eval_opts o = opts_from(from_ms, ER_EVAL_BIT(m));
  st = er_eval_model_run(L, &s, m, &o, NULL, r, &err);
  er_eval_split_free(&s);
  return st;
}

static void test_pop_spop(void) {
  text t = {0};
  /* POP counts: A 4, B 3, C 3, D 1 (ties by id: B before C) */
  add(&t, "view", "A", 1, "t1"); add(&t, "view", "B", 2, "t1"); add(&t, "view", "C", 3, "t1");
  add(&t, "view", "A", 4, "t2"); add(&t, "view", "B", 5, "t2"); add(&t, "view", "C", 6, "t2");
  add(&t, "view", "A", 7, "t3"); add(&t, "view", "A", 8, "t3"); add(&t, "view", "B", 9, "t3");
  add(&t, "view", "C", 10, "t3"); add(&t, "view", "D", 11, "t3");
  /* test: D C D C D */
  add(&t, "view", "D", 100, "x"); add(&t, "view", "C", 101, "x"); add(&t, "view", "D", 102, "x");
  add(&t, "view", "C", 103, "x"); add(&t, "view", "D", 104, "x");
  er_log L;
  load(&L, &t);
  er_eval_model_result r;
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 50000, ER_EVAL_POP, &r), ER_OK);
  CHECK_EQ_INT(r.m.n, 4);
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][0], 3); /* C after A, B */
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][1], 4); /* D last */
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][2], 3);
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][3], 4);
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 50000, ER_EVAL_SPOP, &r), ER_OK);
  /* [D] → C: D first, then POP A, B, C → 4 */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SPOP][0][0], 4);
  /* [D C] → D: counts 1/1, C more recent → D second */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SPOP][0][1], 2);
  /* [D C D] → C: D twice first, C second */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SPOP][0][2], 2);
  /* [D C D C] → D: 2/2, C more recent → D second */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SPOP][0][3], 2);
  CHECK_EQ_INT(TR.item[0][3], item_id(&L, "D"));
  er_log_free(&L);
  free(t.p);
}

static void test_rules_planted(void) {
  text t = {0};
  char s[16];
  /* Q is followed by P in 6 sessions (Q P), P by R once; Z is the most popular */
  for (int k = 0; k < 6; k++) {
    snprintf(s, sizeof s, "qp%d", k);
    add(&t, "view", "Q", 10 * k, s);
    add(&t, "view", "P", 10 * k + 1, s);
  }
  add(&t, "view", "P", 100, "pr");
  add(&t, "view", "R", 101, "pr");
  for (int k = 0; k < 10; k++) {
    snprintf(s, sizeof s, "z%d", k);
    add(&t, "view", "Z", 200 + k, s);
  }
  /* a long session: P at 0, then W at gaps 1 and 11 (SR steps = 10) */
  add(&t, "view", "P", 300, "long");
  add(&t, "view", "W", 301, "long");
  for (int k = 0; k < 9; k++) add(&t, "view", "Z", 302 + k, "long");
  add(&t, "view", "V", 311, "long"); /* gap 11 from P: no SR rule, an AR pair */
  /* test: P Q, P R, P V */
  add(&t, "view", "P", 1000, "x1"); add(&t, "view", "Q", 1001, "x1");
  add(&t, "view", "P", 1002, "x2"); add(&t, "view", "R", 1003, "x2");
  add(&t, "view", "P", 1004, "x3"); add(&t, "view", "V", 1005, "x3");
  er_log L;
  load(&L, &t);
  er_eval_model_result r;
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 900000, ER_EVAL_AR, &r), ER_OK);
  /* AR from P: Q 6, Z 9 (long: 1 P × 9 Z), R 1, W 1, V 1 */
  CHECK_EQ_INT(TR.rank[ER_EVAL_AR][0][0], 2); /* Z 9, Q 6 */
  CHECK_EQ_INT(TR.rank[ER_EVAL_AR][1][0], 3); /* then R, W, V tie at 1: by id (R first seen before W, V) */
  CHECK_EQ_INT(TR.rank[ER_EVAL_AR][2][0], 5);
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 900000, ER_EVAL_SR, &r), ER_OK);
  /* SR from P: R 1 (pr), W 1 (gap 1), Z 1/2+…+1/10 (gaps 2..10) = 1.929; Q never follows P; V is 11 away */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SR][1][0], 2); /* Z, then R (R before W by id) */
  /* Q: not scored → after the 3 scored items, in POP order among the rest (P 8, Q 6, V 1): P, Q → 5 */
  CHECK_EQ_INT(TR.rank[ER_EVAL_SR][0][0], 5);
  CHECK_EQ_INT(TR.rank[ER_EVAL_SR][2][0], 6); /* V after P and Q */
  er_log_free(&L);
  free(t.p);
}

static void test_vsknn_planted(void) {
  text t = {0};
  char s[16];
  /* sessions with A B → C (the pattern), sessions with A → D only, and B alone */
  for (int k = 0; k < 5; k++) {
    snprintf(s, sizeof s, "abc%d", k);
    add(&t, "view", "A", 10 * k, s); add(&t, "view", "B", 10 * k + 1, s); add(&t, "view", "C", 10 * k + 2, s);
  }
  for (int k = 0; k < 8; k++) {
    snprintf(s, sizeof s, "ad%d", k);
    add(&t, "view", "A", 100 + 10 * k, s); add(&t, "view", "D", 100 + 10 * k + 1, s);
  }
  for (int k = 0; k < 20; k++) {
    snprintf(s, sizeof s, "e%d", k);
    add(&t, "view", "E", 500 + k, s);
  }
  /* test: A B C */
  add(&t, "view", "A", 1000, "x"); add(&t, "view", "B", 1001, "x"); add(&t, "view", "C", 1002, "x");
  er_log L;
  load(&L, &t);
  er_eval_model_result r;
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 900000, ER_EVAL_VSKNN, &r), ER_OK);
  /* 33 training sessions; idf multipliers 1 + ln(33 / pop): A (13) 1.932, B, C (5) 2.887, D (8) 2.417.
   * [A] → B: weight A 1; the 13 A sessions have sim 1, step 1 (they hold e_0 = e_i); raw scores A 13, D 8, B 5,
   * C 5 → A 25.11, D 19.34, B 14.43, C 14.43 → B third (A itself is recommended: remind) */
  CHECK_EQ_INT(TR.rank[ER_EVAL_VSKNN][0][0], 3);
  /* [A B] → C: weights A 1, B 2 (×2): abc sims 3, step 1 (they hold B = e_1); ad sims 1, step 2 (their most
   * recent shared event is A = e_0): raw A 5·3 + 8·1/2 = 19, B 15, C 15, D 4 → B 43.31, C 43.31, A 36.70,
   * D 9.67 → C second.  Without the step decay A would be 23 · 1.932 = 44.4, and without idf A 19 > 15:
   * C third either way. */
  CHECK_EQ_INT(TR.rank[ER_EVAL_VSKNN][0][1], 2);
  er_log_free(&L);
  free(t.p);
  /* negative idf: Z has 24 events in 6 sessions, 1 + ln(6 / 24) < 0 → after every unscored item */
  text u = {0};
  for (int k = 0; k < 4; k++) {
    snprintf(s, sizeof s, "yz%d", k);
    add(&u, "view", "Y", 10 * k, s);
    for (int x = 0; x < 6; x++) add(&u, "view", "Z", 10 * k + 1 + x, s);
  }
  add(&u, "view", "Y", 100, "yw"); add(&u, "view", "W", 101, "yw");
  add(&u, "view", "U", 200, "uv"); add(&u, "view", "V", 201, "uv");
  add(&u, "view", "Y", 1000, "x1"); add(&u, "view", "Z", 1001, "x1");
  add(&u, "view", "Y", 1010, "x2"); add(&u, "view", "U", 1011, "x2");
  add(&u, "view", "Y", 1020, "x3"); add(&u, "view", "V", 1021, "x3");
  load(&L, &u);
  trace_reset();
  CHECK_EQ_INT(run_one(&L, 900000, ER_EVAL_VSKNN, &r), ER_OK);
  /* [Y]: the 5 Y sessions, sim 1, step 1: raw Y 5, Z 4, W 1 → Y 5 · 1.182, W 1 · 2.792, Z 4 · -0.386;
   * then the unscored U, V in POP order (Z 24, Y 5, W, U, V 1: U before V by id), then Z */
  CHECK_EQ_INT(TR.rank[ER_EVAL_VSKNN][1][0], 3); /* U */
  CHECK_EQ_INT(TR.rank[ER_EVAL_VSKNN][2][0], 4); /* V */
  CHECK_EQ_INT(TR.rank[ER_EVAL_VSKNN][0][0], 5); /* Z */
  er_log_free(&L);
  free(u.p);
}

/* The session's item set never comes from test sessions: extra test sessions
 * with a pattern change no prediction of other test sessions, and the
 * pattern itself is not learnt. */
static void test_no_leak(void) {
  text base = {0};
  char s[16];
  uint32_t seed = 11;
  const char *items[] = {"A", "B", "C", "D", "E", "F", "U", "V"};
  for (int k = 0; k < 60; k++) {
    snprintf(s, sizeof s, "t%d", k);
    int n = 2 + (int)((seed = seed * 1664525u + 1013904223u) >> 29);
    for (int x = 0; x < n; x++) {
      seed = seed * 1664525u + 1013904223u;
      const char *it = items[(seed >> 24) % 6]; /* A..F */
      add(&base, "view", it, 10 * k + x, s);
    }
  }
  add(&base, "view", "U", 700, "u1"); add(&base, "view", "A", 701, "u1"); /* U, V known, never together */
  add(&base, "view", "V", 702, "v1"); add(&base, "view", "B", 703, "v1");
  for (int k = 0; k < 10; k++) {
    snprintf(s, sizeof s, "x%d", k);
    add(&base, "view", items[k % 6], 1000 + 10 * k, s);
    add(&base, "view", items[(k + 1) % 6], 1001 + 10 * k, s);
    add(&base, "view", items[(k + 3) % 6], 1002 + 10 * k, s);
  }
  /* more = base + 30 test sessions "U V", placed after the base sessions */
  text more = {0};
  more.p = malloc(base.n + 65536);
  more.cap = base.n + 65536;
  memcpy(more.p, base.p, base.n);
  more.n = base.n;
  more.id = base.id;
  for (int k = 0; k < 30; k++) {
    snprintf(s, sizeof s, "uv%d", k);
    add(&more, "view", "U", 5000 + 10 * k, s);
    add(&more, "view", "V", 5001 + 10 * k, s);
  }
  er_log L1, L2;
  load(&L1, &base);
  load(&L2, &more);
  static int32_t r1[ER_EVAL_N_MODELS][10][2];
  er_eval_result r;
  er_error err;
  trace_reset();
  er_eval_opts o = opts_from(900000, ER_EVAL_PEERS);
  CHECK_EQ_INT(er_eval_run(&L1, &o, NULL, &r, &err), ER_OK);
  CHECK_EQ_INT(r.test_sessions, 10);
  for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++)
    for (int t = 0; t < 10; t++)
      for (int p = 0; p < 2; p++) r1[m][t][p] = TR.rank[m][t][p];
  trace_reset();
  CHECK_EQ_INT(er_eval_run(&L2, &o, NULL, &r, &err), ER_OK);
  CHECK_EQ_INT(r.test_sessions, 40);
  CHECK_EQ_INT(r.train_sessions, 62);
  int same = 1;
  for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++)
    for (int t = 0; t < 10; t++)
      for (int p = 0; p < 2; p++) same &= r1[m][t][p] == TR.rank[m][t][p] && r1[m][t][p] >= 0;
  CHECK(same);
  /* U → V was never seen in training: no peer ranks V first after U */
  for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++)
    for (int t = 10; t < 40; t++) CHECK(TR.rank[m][t][0] != 1);
  /* and the rule peers rank it exactly as without the 30 test sessions: AR/SR/V-SKNN from U score A only */
  CHECK(TR.rank[ER_EVAL_AR][10][0] == TR.rank[ER_EVAL_AR][39][0] && TR.rank[ER_EVAL_AR][10][0] > 1);
  er_log_free(&L1);
  er_log_free(&L2);
  free(base.p);
  free(more.p);
}

/* ---- brute force reference of every peer ----------------------------------------------- */

/* Rank of truth: scored items (score > 0) by score desc then id, then the
 * other catalogue items by POP desc then id. */
static uint32_t ref_rank(const uint64_t *score, const uint32_t *pop, uint32_t n_items, uint32_t truth) {
  uint64_t r = 1;
  for (uint32_t j = 0; j < n_items; j++) {
    if (j == truth || !pop[j]) continue;
    int before;
    if (score[j] || score[truth]) before = score[j] > score[truth] || (score[j] == score[truth] && j < truth);
    else before = pop[j] > pop[truth] || (pop[j] == pop[truth] && j < truth);
    r += before;
  }
  return r > ER_EVAL_MAX_RANK ? 0 : (uint32_t)r;
}

/* The same with real scores: positive scores by score desc then id, then
 * the items with score 0 by POP desc then id, then negative scores by score
 * desc then id. */
static uint32_t ref_rank_real(const double *score, const uint32_t *pop, uint32_t n_items, uint32_t truth) {
  uint64_t r = 1;
  double st = score[truth];
  int gt = st > 0 ? 0 : st == 0 ? 1 : 2;
  for (uint32_t j = 0; j < n_items; j++) {
    if (j == truth || !pop[j]) continue;
    double sj = score[j];
    int gj = sj > 0 ? 0 : sj == 0 ? 1 : 2, before;
    if (gj != gt) before = gj < gt;
    else if (gj == 1) before = pop[j] > pop[truth] || (pop[j] == pop[truth] && j < truth);
    else before = sj > st || (sj == st && j < truth);
    r += before;
  }
  return r > ER_EVAL_MAX_RANK ? 0 : (uint32_t)r;
}

typedef struct { uint64_t sim; uint32_t ses; } ref_nb;
static int ref_nb_cmp(const void *a, const void *b) {
  const ref_nb *x = a, *y = b;
  if (x->sim != y->sim) return x->sim > y->sim ? -1 : 1;
  return x->ses > y->ses ? -1 : x->ses < y->ses;
}

static uint32_t ref_candidates; /* V-SKNN: candidate sessions of the last reference call */

/* V-SKNN from the definition (session-rec's VMContextKNN, er_eval.h), with
 * the similarities scaled to integers: sum of position + 1 of the last
 * occurrence of the shared items. */
static void ref_vsknn(const er_log *L, const er_eval_split *s, uint32_t t, uint32_t i, double *score) {
  uint32_t ni = s->n_items, f = s->test_first[t];
  for (uint32_t j = 0; j < ni; j++) score[j] = 0;
  uint64_t *w = calloc(ni, sizeof *w);
  for (uint32_t x = 0; x <= i; x++) w[L->ev[s->test_event[f + x]].item] = x + 1;
  ref_nb *cand = malloc(s->n_train * sizeof *cand);
  uint32_t nc = 0;
  for (uint32_t z = s->n_train; z-- > 0 && nc < ER_EVAL_KNN_SAMPLE;) { /* most recent first */
    uint64_t sim = 0;
    uint8_t *seen = calloc(ni, 1);
    for (uint32_t k = s->train_first[z]; k < s->train_first[z + 1]; k++) {
      uint32_t it = s->train_item[k];
      if (!seen[it]) sim += w[it];
      seen[it] = 1;
    }
    free(seen);
    if (sim) cand[nc++] = (ref_nb){sim, z};
  }
  qsort(cand, nc, sizeof *cand, ref_nb_cmp);
  ref_candidates = nc;
  for (uint32_t c = 0; c < nc && c < ER_EVAL_KNN_K; c++) {
    uint8_t *in = calloc(ni, 1);
    for (uint32_t k = s->train_first[cand[c].ses]; k < s->train_first[cand[c].ses + 1]; k++) in[s->train_item[k]] = 1;
    /* step: walk e_i, e_{i-1}, … until an item of the neighbour */
    uint32_t step = 1;
    for (uint32_t x = i + 1; x-- > 0; step++)
      if (in[L->ev[s->test_event[f + x]].item]) break;
    double term = (double)cand[c].sim / (double)step;
    for (uint32_t j = 0; j < ni; j++)
      if (in[j]) score[j] += term;
    free(in);
  }
  for (uint32_t j = 0; j < ni; j++)
    if (score[j] != 0) score[j] *= 1.0 + ER_EVAL_KNN_IDF * log((double)s->n_train / (double)s->pop[j]);
  free(cand);
  free(w);
}

static uint32_t ref_stan_sampled; /* STAN / VSTAN: 1 when the last reference call's sample was full */

/* STAN (vstan 0) or VSTAN (vstan 1) from the definition in er_eval.h
 * (session-rec's stan.py / vstan.py), naively: every training session is
 * scanned for the sample, every similarity computed from item sets. */
static void ref_stan(const er_log *L, const er_eval_split *s, uint32_t t, uint32_t i, const er_eval_knn_params *q, int vstan,
                     double *score) {
  uint32_t ni = s->n_items, f = s->test_first[t], n = i + 1;
  for (uint32_t j = 0; j < ni; j++) score[j] = 0;
  uint32_t *lastp = calloc(ni, sizeof *lastp), *order = malloc(n * sizeof *order), nd = 0;
  for (uint32_t x = 0; x <= i; x++) {
    uint32_t it = L->ev[s->test_event[f + x]].item;
    if (!lastp[it]) order[nd++] = it;
    lastp[it] = x + 1;
  }
  double *w = calloc(ni, sizeof *w), cs = 0;
  for (uint32_t c = 0; c < nd; c++) {
    w[order[c]] = exp(((double)lastp[order[c]] - (double)n) / q->spw);
    cs += w[order[c]] * w[order[c]];
  }
  typedef struct { double sim; uint32_t ses, q; } cand_t;
  cand_t *cand = malloc(s->n_train * sizeof *cand);
  uint32_t nc = 0;
  int64_t now = (int64_t)L->ev[s->test_event[f + i]].ts_ms;
  uint8_t *in = calloc(ni, 1);
  for (uint32_t z = s->n_train; z-- > 0 && nc < q->sample;) { /* most recent first */
    uint32_t size = 0, shared = 0, qmax = 0;
    memset(in, 0, ni);
    for (uint32_t k = s->train_first[z]; k < s->train_first[z + 1]; k++) {
      size += !in[s->train_item[k]];
      in[s->train_item[k]] = 1;
    }
    double dot = 0;
    for (uint32_t c = 0; c < nd; c++)
      if (in[order[c]]) {
        shared = 1;
        dot += w[order[c]];
        if (lastp[order[c]] > qmax) qmax = lastp[order[c]];
      }
    if (!shared) continue;
    int64_t end = (int64_t)L->ses[s->train_session[z]].end_ms;
    cand[nc++] = (cand_t){dot / (sqrt(cs) * sqrt((double)size)) * exp(-(double)(now - end) / (q->snh_days * 86400000.0)), z, qmax};
  }
  ref_stan_sampled = nc == q->sample;
  /* the k most similar, ties: the more recent (selection sort: plain) */
  for (uint32_t a = 0; a < nc && a < q->k; a++) {
    uint32_t b = a;
    for (uint32_t c = a + 1; c < nc; c++)
      if (cand[c].sim > cand[b].sim || (cand[c].sim == cand[b].sim && cand[c].ses > cand[b].ses)) b = c;
    cand_t tmp = cand[a]; cand[a] = cand[b]; cand[b] = tmp;
    uint32_t z = cand[a].ses, lo = s->train_first[z], hi = s->train_first[z + 1], pstar = 0;
    for (uint32_t k = lo; k < hi; k++)
      if (lastp[s->train_item[k]]) pstar = k - lo + 1;
    memset(in, 0, ni);
    for (uint32_t k = lo; k < hi; k++) { /* distinct items in first occurrence order, each with its last position */
      uint32_t j = s->train_item[k];
      if (in[j]) continue;
      in[j] = 1;
      uint32_t pj = 0;
      for (uint32_t y = lo; y < hi; y++)
        if (s->train_item[y] == j) pj = y - lo + 1;
      double term = cand[a].sim * exp(-fabs((double)pj - (double)pstar) / q->inh);
      if (vstan) {
        term = term + term * log((double)s->n_train / (double)s->pop[j]) * q->idf;
        term = term * exp(((double)cand[a].q - (double)n) / q->ipw);
      }
      score[j] += term;
    }
  }
  free(in);
  free(cand);
  free(w);
  free(order);
  free(lastp);
}

/* Coverage and popularity of the top 20 from reference ranks: item j is in
 * the list when its own rank is 1..20. */
typedef struct { uint8_t *covered; double pop_sum; } ref_lists;
static void ref_observe(ref_lists *rl, const er_eval_split *s, const uint64_t *score, const double *dscore) {
  uint32_t maxpop = 0, n = 0;
  double sum = 0;
  for (uint32_t j = 0; j < s->n_items; j++) maxpop = s->pop[j] > maxpop ? s->pop[j] : maxpop;
  for (uint32_t j = 0; j < s->n_items; j++) {
    if (!s->pop[j]) continue;
    uint32_t r = dscore ? ref_rank_real(dscore, s->pop, s->n_items, j) : ref_rank(score, s->pop, s->n_items, j);
    if (r < 1 || r > 20) continue;
    rl->covered[j] = 1;
    sum += (double)s->pop[j] / (double)maxpop;
    n++;
  }
  if (n) rl->pop_sum += sum / n;
}

static void reference(const er_log *L, const er_eval_split *s, er_eval_model m, uint32_t t, uint32_t i, uint64_t *score) {
  uint32_t ni = s->n_items, f = s->test_first[t];
  memset(score, 0, ni * sizeof *score);
  uint32_t last = L->ev[s->test_event[f + i]].item;
  if (m == ER_EVAL_SPOP) {
    for (uint32_t x = 0; x <= i; x++) {
      uint32_t it = L->ev[s->test_event[f + x]].item;
      score[it] = ((score[it] >> 32) + 1) << 32 | (x + 1);
    }
  } else if (m == ER_EVAL_AR || m == ER_EVAL_SR) {
    for (uint32_t z = 0; z < s->n_train; z++) {
      const uint32_t *q = s->train_item + s->train_first[z];
      uint32_t n = s->train_first[z + 1] - s->train_first[z];
      for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = 0; b < n; b++) {
          if (a == b || q[a] != last) continue;
          if (m == ER_EVAL_AR) score[q[b]]++;
          else if (b > a && b - a <= 10) score[q[b]] += 2520 / (b - a);
        }
    }
  }
}

static void test_reference(void) {
  text t = {0};
  uint32_t seed = 12345;
#define RND() ((seed = seed * 1664525u + 1013904223u) >> 8)
  char s[16], it[16];
  double ts = 1000, split_ts = 0;
  /* 2800 sessions over 300 items (skewed), some sessions ending at the same time, items N0..N4 only after
   * the split; 2500 training sessions, so that V-SKNN's sample of 1000 often binds */
  for (int k = 0; k < 2800; k++) {
    snprintf(s, sizeof s, "s%d", k);
    if (k == 2500) split_ts = ts;
    int n = 1 + (int)(RND() % 12);
    for (int x = 0; x < n; x++) {
      uint32_t r = RND() % 1000;
      uint32_t item = r < 500 ? r % 8 : r < 800 ? 8 + r % 12 : 20 + RND() % 280; /* repeats, ties, a long tail */
      if (k >= 2500 && RND() % 10 == 0) snprintf(it, sizeof it, "N%u", (unsigned)(RND() % 5));
      else snprintf(it, sizeof it, "I%u", (unsigned)item);
      add(&t, (RND() & 1) ? "view" : "cart", it, ts + x, s);
    }
    if (RND() % 4) ts += 20;
  }
  er_log L;
  load(&L, &t);
  uint64_t from = (uint64_t)split_ts * 1000;
  er_eval_split s_;
  er_error err;
  CHECK_EQ_INT(er_eval_split_build(&L, from, &s_, &err), ER_OK);
  CHECK(s_.n_train > 1000 && s_.n_test > 150 && s_.n_test < MAXT && s_.test_events_dropped > 0);
  printf("reference: %u training sessions, %u test sessions, %llu predictions\n", s_.n_train, s_.n_test,
         (unsigned long long)s_.predictions);
  trace_reset();
  er_eval_opts o = opts_from(from, ER_EVAL_PEERS);
  er_eval_result r;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_OK);
  CHECK(!TR.overflow);
  uint64_t *score = malloc(s_.n_items * sizeof *score);
  double *dscore = malloc(s_.n_items * sizeof *dscore);
  uint64_t wrong[ER_EVAL_N_MODELS] = {0}, n = 0, sampled = 0, misses = 0, stan_sampled = 0;
  ref_lists lists[2] = {{calloc(s_.n_items, 1), 0}, {calloc(s_.n_items, 1), 0}}; /* sr, vstan */
  for (uint32_t tt = 0; tt < s_.n_test; tt++) {
    uint32_t len = s_.test_first[tt + 1] - s_.test_first[tt];
    for (uint32_t i = 0; i + 1 < len && i < MAXP; i++) {
      uint32_t truth = L.ev[s_.test_event[s_.test_first[tt] + i + 1]].item;
      n++;
      for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++) {
        uint32_t want;
        if (m == ER_EVAL_VSKNN) {
          ref_vsknn(&L, &s_, tt, i, dscore);
          want = ref_rank_real(dscore, s_.pop, s_.n_items, truth);
          sampled += ref_candidates == ER_EVAL_KNN_SAMPLE;
        } else if (m == ER_EVAL_STAN || m == ER_EVAL_VSTAN) {
          ref_stan(&L, &s_, tt, i, &r.model[m].params, m == ER_EVAL_VSTAN, dscore);
          want = ref_rank_real(dscore, s_.pop, s_.n_items, truth);
          stan_sampled += ref_stan_sampled;
          if (m == ER_EVAL_VSTAN) ref_observe(&lists[1], &s_, NULL, dscore);
        } else {
          reference(&L, &s_, (er_eval_model)m, tt, i, score);
          want = ref_rank(score, s_.pop, s_.n_items, truth);
          if (m == ER_EVAL_SR) ref_observe(&lists[0], &s_, score, NULL);
        }
        misses += want == 0;
        if ((int32_t)want != TR.rank[m][tt][i]) {
          if (wrong[m]++ < 3)
            printf("reference: %s session %u position %u: rank %d, reference %u\n", er_eval_model_name((er_eval_model)m), tt, i,
                   TR.rank[m][tt][i], want);
        }
      }
    }
  }
  printf("reference: %llu V-SKNN predictions with a full sample of %u, %llu misses (rank > 200)\n", (unsigned long long)sampled,
         ER_EVAL_KNN_SAMPLE, (unsigned long long)misses);
  CHECK(sampled > n / 4 && misses > 0);
  /* STAN and VSTAN were tuned on the validation split (the tuned sample is 1000 of 2500 sessions: it binds) */
  printf("reference: stan k %u spw %.3f snh %.1f inh %.3f (%u configurations), vstan k %u ipw %.3f idf %.1f; %llu full samples\n",
         r.model[ER_EVAL_STAN].params.k, r.model[ER_EVAL_STAN].params.spw, r.model[ER_EVAL_STAN].params.snh_days,
         r.model[ER_EVAL_STAN].params.inh, r.model[ER_EVAL_STAN].configs, r.model[ER_EVAL_VSTAN].params.k,
         r.model[ER_EVAL_VSTAN].params.ipw, r.model[ER_EVAL_VSTAN].params.idf, (unsigned long long)stan_sampled);
  CHECK(r.model[ER_EVAL_STAN].tuned && r.model[ER_EVAL_VSTAN].tuned && r.model[ER_EVAL_STAN].configs >= 10);
  CHECK(r.model[ER_EVAL_STAN].valid_predictions > 0 && r.model[ER_EVAL_STAN].valid_mrr > 0);
  CHECK(stan_sampled > n / 4);
  /* coverage@20 and pop_bias@20 from the reference lists */
  for (int x = 0; x < 2; x++) {
    er_eval_model m = x ? ER_EVAL_VSTAN : ER_EVAL_SR;
    uint32_t cov = 0, cat = 0;
    for (uint32_t j = 0; j < s_.n_items; j++) {
      cov += lists[x].covered[j];
      cat += s_.pop[j] != 0;
    }
    CHECK(fabs(r.model[m].coverage - (double)cov / cat) < 1e-12);
    CHECK(fabs(r.model[m].pop_bias - lists[x].pop_sum / (double)n) < 1e-9);
    CHECK(r.model[m].coverage > 0.05 && r.model[m].coverage < 1);
    /* the interval holds the point estimate and is not degenerate */
    double hr = er_eval_hr(&r.model[m].m, 20), mrr = er_eval_mrr(&r.model[m].m, 20);
    CHECK(r.model[m].hr_ci[0] < hr && hr < r.model[m].hr_ci[1] && r.model[m].mrr_ci[0] < mrr && mrr < r.model[m].mrr_ci[1]);
    free(lists[x].covered);
  }
  CHECK_EQ_INT(n, s_.predictions);
  for (int m = ER_EVAL_POP; m < ER_EVAL_N_MODELS; m++) {
    CHECK_EQ_INT(wrong[m], 0);
    CHECK_EQ_INT(TR.calls[m], s_.predictions);
    CHECK_EQ_INT(r.model[m].m.n, s_.predictions);
  }
  /* the metrics are the histogram of those ranks */
  er_eval_metrics h;
  er_eval_metrics_init(&h);
  for (uint32_t tt = 0; tt < s_.n_test; tt++)
    for (uint32_t i = 0; i + 1 < s_.test_first[tt + 1] - s_.test_first[tt]; i++) er_eval_metrics_add(&h, (uint32_t)TR.rank[ER_EVAL_SR][tt][i]);
  CHECK(near(er_eval_mrr(&h, 20), er_eval_mrr(&r.model[ER_EVAL_SR].m, 20)));
  printf("reference: HR@20 pop %.3f spop %.3f ar %.3f sr %.3f vsknn %.3f stan %.3f vstan %.3f\n", er_eval_hr(&r.model[1].m, 20),
         er_eval_hr(&r.model[2].m, 20), er_eval_hr(&r.model[3].m, 20), er_eval_hr(&r.model[4].m, 20), er_eval_hr(&r.model[5].m, 20),
         er_eval_hr(&r.model[6].m, 20), er_eval_hr(&r.model[7].m, 20));
  free(score);
  free(dscore);
  er_eval_split_free(&s_);
  er_log_free(&L);
  free(t.p);
#undef RND
}

/* ---- STAN / VSTAN: each λ moves the ranking the documented way --------------------------------- */

/* Rank of the prediction at position pos whose true item is sku (the test
 * sessions below make it unique); -1 when absent. */
static int32_t traced_rank(const er_log *L, er_eval_model m, uint32_t pos, const char *sku) {
  uint32_t id = item_id(L, sku);
  for (uint32_t t = 0; t < MAXT; t++)
    if (TR.rank[m][t][pos] >= 0 && TR.item[t][pos] == id) return TR.rank[m][t][pos];
  return -1;
}

static void run_knn(const er_log *L, uint64_t from, er_eval_model m, const er_eval_knn_params *q) {
  trace_reset();
  er_eval_opts o = opts_from(from, ER_EVAL_BIT(m));
  if (m == ER_EVAL_STAN) o.stan = q;
  else o.vstan = q;
  er_eval_result r;
  er_error err;
  CHECK_EQ_INT(er_eval_run(L, &o, NULL, &r, &err), ER_OK);
  CHECK(r.model[m].ran && !r.model[m].tuned && r.model[m].params.k == q->k && r.model[m].params.inh == q->inh);
}

/* Is a ranked before b (both found)? */
static int before(const er_log *L, er_eval_model m, uint32_t pos, const char *a, const char *b) {
  int32_t ra = traced_rank(L, m, pos, a), rb = traced_rank(L, m, pos, b);
  CHECK(ra > 0 && rb > 0);
  return ra > 0 && rb > 0 && ra < rb;
}

/* With *lambda = lo, a ranks before b at position pos; with hi, b before a
 * (then *lambda is restored). */
static void flip(const er_log *L, uint64_t from, er_eval_model m, er_eval_knn_params *q, double *lambda, double lo, double hi,
                 uint32_t pos, const char *a, const char *b) {
  double keep = *lambda;
  *lambda = lo;
  run_knn(L, from, m, q);
  CHECK(before(L, m, pos, a, b));
  *lambda = hi;
  run_knn(L, from, m, q);
  CHECK(before(L, m, pos, b, a));
  *lambda = keep;
}

static void test_knn_lambdas(void) {
  text t = {0};
  const double day = 86400, t0 = 1300000000;
  const double old = t0 - 10 * day;
  /* λ1: after [A, B], two neighbours share only A (older position), one shares only B */
  add(&t, "view", "A", old, "x1"); add(&t, "view", "YA", old, "x1");
  add(&t, "view", "A", old, "x2"); add(&t, "view", "YA", old, "x2");
  add(&t, "view", "B", old, "z1"); add(&t, "view", "YB", old, "z1");
  /* λ2: after [C], two neighbours ended 100 days ago (YX), one a day ago (YZ) */
  add(&t, "view", "C", t0 - 100 * day, "c1"); add(&t, "view", "YX", t0 - 100 * day, "c1");
  add(&t, "view", "C", t0 - 100 * day, "c2"); add(&t, "view", "YX", t0 - 100 * day, "c2");
  add(&t, "view", "C", t0 - day, "c3"); add(&t, "view", "YZ", t0 - day, "c3");
  /* λ3: after [D], FAR is 4 positions from D in two neighbours, NEAR 1 position in one */
  const char *n1[] = {"D", "f1", "f2", "f3", "FAR"}, *n2[] = {"D", "g1", "g2", "g3", "FAR"}, *n3[] = {"D", "NEAR", "h1", "h2", "h3"};
  for (int k = 0; k < 5; k++) add(&t, "view", n1[k], old, "d1");
  for (int k = 0; k < 5; k++) add(&t, "view", n2[k], old, "d2");
  for (int k = 0; k < 5; k++) add(&t, "view", n3[k], old, "d3");
  /* λ_idf: after [E], POPI in two neighbours but in 20 other sessions too, RARE in one */
  add(&t, "view", "E", old, "e1"); add(&t, "view", "POPI", old, "e1");
  add(&t, "view", "E", old, "e2"); add(&t, "view", "POPI", old, "e2");
  add(&t, "view", "E", old, "e3"); add(&t, "view", "RARE", old, "e3");
  for (int k = 0; k < 20; k++) {
    char s[16];
    snprintf(s, sizeof s, "p%d", k);
    add(&t, "view", "POPI", old - 100 - k, s);
    add(&t, "view", "Q", old - 100 - k, s);
  }
  /* λ_ipw: after [G, H], two neighbours share only G (older position), one only H */
  add(&t, "view", "G", old, "g1"); add(&t, "view", "YG", old, "g1");
  add(&t, "view", "G", old, "g2"); add(&t, "view", "YG", old, "g2");
  add(&t, "view", "H", old, "h1"); add(&t, "view", "YH", old, "h1");
  /* the test sessions, each true item unique at its position */
  static const char *tests[][3] = {{"A", "B", "YA"}, {"A", "B", "YB"}, {"C", "YX", NULL}, {"C", "YZ", NULL},
                                   {"D", "NEAR", NULL}, {"D", "FAR", NULL}, {"E", "POPI", NULL}, {"E", "RARE", NULL},
                                   {"G", "H", "YG"}, {"G", "H", "YH"}};
  for (int k = 0; k < 10; k++) {
    char s[16];
    snprintf(s, sizeof s, "t%d", k);
    for (int x = 0; x < 3 && tests[k][x]; x++) add(&t, "view", tests[k][x], t0 + 10 * k + x, s);
  }
  er_log L;
  load(&L, &t);
  uint64_t from = (uint64_t)(t0 - day / 2) * 1000;
  er_eval_knn_params q = {100, 1000, 1, 1e6, 1, 0, 0}, v = {100, 1000, 1, 1e6, 1, 1e6, 0};
  /* λ1 (spw): small -> the neighbours of the latest item win; large -> positions weigh alike, two neighbours win */
  flip(&L, from, ER_EVAL_STAN, &q, &q.spw, 0.1, 100, 1, "YB", "YA");
  /* λ2 (snh, days): small -> the recent neighbour wins; large -> the two old ones */
  flip(&L, from, ER_EVAL_STAN, &q, &q.snh_days, 10, 1e4, 0, "YZ", "YX");
  /* λ3 (inh): small -> the item next to the shared one wins; large -> distance matters little, two neighbours win */
  flip(&L, from, ER_EVAL_STAN, &q, &q.inh, 0.5, 100, 0, "NEAR", "FAR");
  /* VSTAN λ_idf: 0 -> as STAN (POPI, two neighbours); 10 -> the rare item */
  flip(&L, from, ER_EVAL_VSTAN, &v, &v.idf, 0, 10, 0, "POPI", "RARE");
  /* VSTAN λ_ipw (with λ1 large: alike similarities): small -> neighbours matched by the latest item win */
  v.spw = 1000;
  flip(&L, from, ER_EVAL_VSTAN, &v, &v.ipw, 0.1, 1000, 1, "YH", "YG");
  /* the same λ1 case through STAN's published defaults and no tuning: the defaults are reported */
  trace_reset();
  er_eval_opts o = opts_from(from, ER_EVAL_BIT(ER_EVAL_STAN) | ER_EVAL_BIT(ER_EVAL_VSTAN));
  o.tune = 0;
  er_eval_result r;
  er_error err;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_OK);
  er_eval_knn_params d = er_eval_knn_defaults(1);
  CHECK(!r.model[ER_EVAL_VSTAN].tuned && r.model[ER_EVAL_VSTAN].params.sample == ER_EVAL_STAN_SAMPLE &&
        r.model[ER_EVAL_VSTAN].params.idf == d.idf && r.model[ER_EVAL_STAN].params.idf == 0);
  er_log_free(&L);
  free(t.p);
}

/* ---- lists and intervals by hand ---------------------------------------------------------------- */

static void test_lists_bootstrap(void) {
  text t = {0};
  char s[16], it[16];
  /* items I1..I25, item Ik in k one-event training sessions: POP's top 20 is I25..I6 */
  int n = 0;
  for (int k = 1; k <= 25; k++)
    for (int c = 0; c < k; c++) {
      snprintf(s, sizeof s, "tr%d", n);
      snprintf(it, sizeof it, "I%d", k);
      add(&t, "view", it, 1000 + n++, s);
    }
  /* two test sessions: I25 I24 I23 (ranks 2 and 3: hits), I1 I2 I3 (ranks 24 and 23: misses) */
  add(&t, "view", "I25", 5000, "hit"); add(&t, "view", "I24", 5001, "hit"); add(&t, "view", "I23", 5002, "hit");
  add(&t, "view", "I1", 6000, "miss"); add(&t, "view", "I2", 6001, "miss"); add(&t, "view", "I3", 6002, "miss");
  er_log L;
  load(&L, &t);
  er_eval_opts o = opts_from(4000000, ER_EVAL_BIT(ER_EVAL_POP));
  er_eval_result r, r2;
  er_error err;
  trace_reset();
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_OK);
  const er_eval_model_result *p = &r.model[ER_EVAL_POP];
  CHECK(near(er_eval_hr(&p->m, 20), 0.5));
  CHECK(near(p->coverage, 20.0 / 25));                 /* the same 20 items in every list */
  CHECK(near(p->pop_bias, (310.0 / 25) / 20));         /* mean of k/25 over k = 6..25 */
  /* resampling two sessions: both 'hit' (HR 1, MRR (1/2 + 1/3)/2) or both 'miss' (0) each with chance 1/4 */
  CHECK(near(p->hr_ci[0], 0) && near(p->hr_ci[1], 1));
  CHECK(near(p->mrr_ci[0], 0) && near(p->mrr_ci[1], (0.5 + 1.0 / 3) / 2));
  /* deterministic */
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r2, &err), ER_OK);
  CHECK(memcmp(r.model[ER_EVAL_POP].hr_ci, r2.model[ER_EVAL_POP].hr_ci, sizeof r.model[0].hr_ci) == 0);
  /* one test session: the interval is the point */
  o.from_ms = 5500000;
  CHECK_EQ_INT(er_eval_run(&L, &o, NULL, &r, &err), ER_OK);
  CHECK(near(r.model[ER_EVAL_POP].hr_ci[0], 0) && near(r.model[ER_EVAL_POP].hr_ci[1], 0));
  er_log_free(&L);
  free(t.p);
}

/* ---- edgerec through er_recommend -------------------------------------------------------------- */

static uint8_t *make_bundle(uint32_t *len) {
  static const char *skus[] = {"P1", "P2", "P3", "C1", "P4", "P5"};
  static const char *cats1[] = {"Bags"}, *cats2[] = {"Gear"};
  er_pack_item items[6];
  for (int k = 0; k < 6; k++) {
    memset(&items[k], 0, sizeof items[k]);
    items[k].sku = skus[k];
    items[k].in_stock = items[k].visible = 1;
    items[k].categories = k % 2 ? cats1 : cats2;
    items[k].n_categories = 1;
    items[k].price_cents = 1000 + 100 * (uint32_t)k;
    items[k].view = 10 + (uint64_t)k;
  }
  items[3].parent_sku = "P3"; /* C1 is a child of P3, folded into it */
  items[3].visible = 0;
  static er_pack_edge vv[] = {{0, 1, 1.0f}, {1, 2, 0.5f}};
  static float w[1 << 10];
  for (int k = 0; k < (1 << 10); k++) w[k] = (float)((k * 37) % 11 - 5) / 10.0f;
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "eval-test-1";
  in.items = items;
  in.n_items = 6;
  in.nbr[ER_NBR_VV] = (er_pack_nbrs){vv, 2};
  in.no_auto_content = 1;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  in.model.bias = 0.1;
  uint8_t *out = NULL;
  er_error err;
  er_status st = er_pack_build(&in, &out, len, &err);
  CHECK_EQ_INT(st, ER_OK);
  if (st) printf("pack: %s\n", err.msg);
  return st ? NULL : out;
}

/* Position of sku (or alt) in a recommendation, 0 when absent. */
static uint32_t position_of(const char *json, const char *sku, const char *alt) {
  uint32_t pos = 0;
  for (const char *p = strstr(json, "\"sku\":\""); p; p = strstr(p + 1, "\"sku\":\"")) {
    pos++;
    const char *v = p + 7;
    size_t n = strcspn(v, "\"");
    if ((strlen(sku) == n && !memcmp(v, sku, n)) || (alt && strlen(alt) == n && !memcmp(v, alt, n))) return pos;
  }
  return 0;
}

static void test_edgerec(void) {
  uint32_t blen;
  uint8_t *bundle = make_bundle(&blen);
  if (!bundle) return;
  er_error err;
  er_engine *e = er_engine_new(bundle, blen, &err);
  CHECK(e != NULL);
  if (!e) { free(bundle); return; }
  text t = {0};
  add(&t, "view", "P1", 1000, "a"); add(&t, "view", "P2", 1001, "a"); add(&t, "view", "C1", 1002, "a");
  add(&t, "view", "ZZ", 1003, "a"); add(&t, "view", "P3", 1004, "a");
  add(&t, "view", "P2", 2000, "b"); add(&t, "view", "P3", 2001, "b");
  /* test: P1 → P2 → C1 (found through P3) → ZZ (not in the bundle) → P2 (purchased: never recommended) */
  add(&t, "view", "P1", 100000, "x");
  add(&t, "view", "P2", 100060, "x");
  add(&t, "view", "C1", 100120, "x");
  add(&t, "purchase", "ZZ", 100180, "x");
  add(&t, "purchase", "P2", 100240, "x");
  er_log L;
  load(&L, &t);
  trace_reset();
  er_eval_opts o = opts_from(50000000, ER_EVAL_BIT(ER_EVAL_EDGEREC) | ER_EVAL_BIT(ER_EVAL_POP));
  er_eval_result r;
  CHECK_EQ_INT(er_eval_run(&L, &o, e, &r, &err), ER_OK);
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].ran, 1);
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].m.n, 4);
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].errors, 0);
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].fallbacks, 0);
  CHECK_EQ_STR(r.model_version, "eval-test-1");
  /* the same requests through the public API: profile by er_profile_update, context by hand */
  static const char *evs[] = {
      "{\"type\":\"view\",\"item\":\"P1\",\"ts\":100000}", "{\"type\":\"view\",\"item\":\"P2\",\"ts\":100060}",
      "{\"type\":\"view\",\"item\":\"C1\",\"ts\":100120}", "{\"type\":\"purchase\",\"item\":\"ZZ\",\"ts\":100180}"};
  static const char *truth[] = {"P2", "C1", "ZZ", "P2"};
  static const char *parent[] = {NULL, "P3", NULL, NULL};
  uint8_t prof[ER_PROFILE_MAX_BYTES];
  uint32_t plen = 0;
  for (int i = 0; i < 4; i++) {
    const uint8_t *po;
    uint32_t pl;
    CHECK_EQ_INT(er_profile_update(e, prof, plen, evs[i], (uint32_t)strlen(evs[i]), &po, &pl), ER_OK);
    memcpy(prof, po, pl);
    plen = pl;
    unsigned long long now = 100000 + 60ull * (unsigned)i;
    char ctx[128];
    int cl = snprintf(ctx, sizeof ctx, "{\"now\":%llu,\"hour\":%llu,\"weekday\":%llu,\"k\":20}", now, now / 3600 % 24, (now / 86400 + 4) % 7);
    const char *out;
    uint32_t ol;
    CHECK_EQ_INT(er_recommend(e, ctx, (uint32_t)cl, prof, plen, &out, &ol), ER_OK);
    char *o2 = strndup(out, ol);
    uint32_t want = position_of(o2, truth[i], parent[i]);
    CHECK_EQ_INT(TR.rank[ER_EVAL_EDGEREC][0][i], want);
    if (i == 1) CHECK(want > 0 && position_of(o2, "C1", NULL) == 0); /* found through the parent */
    if (i == 2) CHECK_EQ_INT(want, 0);
    if (i == 0) CHECK(want >= 1);
    free(o2);
  }
  /* k below 20 still asks for 20 items; k above asks for k */
  trace_reset();
  o.k = 5;
  CHECK_EQ_INT(er_eval_run(&L, &o, e, &r, &err), ER_OK);
  CHECK_EQ_INT(r.k, 5);
  char json[8192];
  uint32_t n = er_eval_json(&r, json, sizeof json);
  CHECK(n > 0 && strstr(json, "\"hr@5\":") && strstr(json, "\"edgerec\":{\"model\":\"eval-test-1\",\"hr@10\":"));
  CHECK(strstr(json, "\"errors\":0,\"fallbacks\":0") != NULL);
  er_log_free(&L);
  er_engine_free(e);
  free(bundle);
  free(t.p);
}

/* ---- the storefront's unit events, wishlist, flagged events --------------------------------- */

#define UNIT ",\"unit\":\"u1\",\"unit_type\":\"viewed-viewed\",\"rank\":1"

/* recs-item-click and recs-item-add-to-cart-click are clicks and wishlist an
 * item event; a unit rendered or seen (recs-unit-impression-render,
 * recs-unit-view) is no listing impression and no item event; events the
 * edge flagged are ignored everywhere (sequences, POP, the split, edgerec's
 * profile). */
static void test_unit_events_and_flags(void) {
  text t = {0};
  /* a training session of flagged events only: no training session */
  add_raw(&t, "{\"type\":\"view\",\"item\":\"P1\",\"ts\":50,\"session\":\"s0\",\"flag\":\"bot\",\"id\":\"f0\"}");
  add(&t, "view", "P1", 100, "s1");
  add_raw(&t, "{\"type\":\"recs-unit-impression-render\",\"items\":[\"P1\",\"P2\",\"P3\"]" UNIT ",\"ts\":101,\"session\":\"s1\",\"id\":\"u1\"}");
  add_raw(&t, "{\"type\":\"recs-unit-view\",\"items\":[\"P1\",\"P2\",\"P3\"]" UNIT ",\"ts\":102,\"session\":\"s1\",\"id\":\"u2\"}");
  add_raw(&t, "{\"type\":\"recs-item-click\",\"item\":\"P2\"" UNIT ",\"ts\":103,\"session\":\"s1\",\"id\":\"u3\"}");
  add_raw(&t, "{\"type\":\"recs-item-add-to-cart-click\",\"item\":\"P3\"" UNIT ",\"ts\":104,\"session\":\"s1\",\"id\":\"u4\"}");
  add(&t, "cart", "P3", 105, "s1");
  add(&t, "wishlist", "P4", 106, "s1");
  add(&t, "view", "P1", 200, "s2");
  add_raw(&t, "{\"type\":\"view\",\"item\":\"ZZ\",\"ts\":201,\"session\":\"s2\",\"flag\":\"bot\",\"id\":\"f1\"}");
  add(&t, "view", "P2", 202, "s2");
  add_raw(&t, "{\"type\":\"view\",\"item\":\"P2\",\"ts\":203,\"session\":\"s2\",\"flag\":\"rate-limited\",\"trust\":\"new\",\"id\":\"f2\"}");
  /* test (split at 1000 s) */
  add(&t, "view", "P1", 1000, "s3");
  add_raw(&t, "{\"type\":\"recs-unit-view\",\"items\":[\"P2\",\"P3\"]" UNIT ",\"ts\":1001,\"session\":\"s3\",\"id\":\"u5\"}");
  add_raw(&t, "{\"type\":\"recs-item-click\",\"item\":\"P2\"" UNIT ",\"ts\":1002,\"session\":\"s3\",\"id\":\"u6\"}");
  add_raw(&t, "{\"type\":\"view\",\"item\":\"P3\",\"ts\":1003,\"session\":\"s3\",\"flag\":\"bot\",\"id\":\"f3\"}");
  add(&t, "wishlist", "P4", 1004, "s3");
  /* a test session whose second event is flagged: one event left, dropped */
  add(&t, "view", "P1", 2000, "s4");
  add_raw(&t, "{\"type\":\"view\",\"item\":\"P2\",\"ts\":2001,\"session\":\"s4\",\"flag\":\"bot\",\"id\":\"f4\"}");
  er_log L;
  load(&L, &t);
  CHECK_EQ_INT(L.flagged, 5);
  CHECK_EQ_INT(L.trust_new, 1);
  er_eval_split s;
  er_error err;
  CHECK_EQ_INT(er_eval_split_build(&L, 1000000, &s, &err), ER_OK);
  CHECK_EQ_INT(s.n_train, 2);                 /* s1, s2; s0 holds only a flagged event */
  CHECK_EQ_INT(s.train_first[1], 5);          /* s1: P1, P2 (click), P3 (unit cart click), P3 (cart), P4 (wishlist) */
  CHECK_EQ_INT(s.train_first[2], 7);          /* s2: P1, P2 */
  CHECK_EQ_INT(s.pop[item_id(&L, "P1")], 2);  /* the unit's render and view do not count */
  CHECK_EQ_INT(s.pop[item_id(&L, "P2")], 2);  /* the flagged re-view does not */
  CHECK_EQ_INT(s.pop[item_id(&L, "P3")], 2);
  CHECK_EQ_INT(s.pop[item_id(&L, "P4")], 1);
  CHECK_EQ_INT(s.pop[item_id(&L, "ZZ")], 0);  /* only a bot's view */
  CHECK_EQ_INT(s.n_test, 1);                  /* s3; s4 has one event left */
  CHECK_EQ_INT(s.test_sessions_dropped, 1);
  CHECK_EQ_INT(s.test_events_dropped, 0);     /* flagged events are not test events at all */
  CHECK_EQ_INT(s.predictions, 2);
  if (s.n_test == 1 && s.test_first[1] == 3) {
    CHECK_EQ_INT(L.ev[s.test_event[0]].item, item_id(&L, "P1"));
    CHECK_EQ_INT(L.ev[s.test_event[1]].item, item_id(&L, "P2"));
    CHECK_EQ_INT(L.ev[s.test_event[2]].item, item_id(&L, "P4"));
    CHECK_EQ_INT(L.ev[s.test_event[1]].type, ER_EV_UNIT_CLICK);
  } else CHECK(0);
  er_eval_split_free(&s);
  /* every model runs on it, edgerec through the engine without errors */
  uint32_t blen;
  uint8_t *bundle = make_bundle(&blen);
  er_engine *e = bundle ? er_engine_new(bundle, blen, &err) : NULL;
  CHECK(e != NULL);
  trace_reset();
  er_eval_opts o = opts_from(1000000, ER_EVAL_PEERS | (e ? ER_EVAL_BIT(ER_EVAL_EDGEREC) : 0));
  er_eval_result r;
  CHECK_EQ_INT(er_eval_run(&L, &o, e, &r, &err), ER_OK);
  for (int m = 0; m < ER_EVAL_N_MODELS; m++) {
    if (!e && m == ER_EVAL_EDGEREC) continue;
    CHECK_EQ_INT(r.model[m].ran, 1);
    CHECK_EQ_INT(r.model[m].m.n, 2);
  }
  CHECK_EQ_INT(r.model[ER_EVAL_EDGEREC].errors, 0);
  /* POP after P1: P2 (2 events, id before P3) is first; then P4 (1 event) after P1, P2, P3 */
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][0], 2);
  CHECK_EQ_INT(TR.rank[ER_EVAL_POP][0][1], 4);
  er_engine_free(e);
  free(bundle);
  er_log_free(&L);
  free(t.p);
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static void test_json(void) {
  er_eval_result r;
  memset(&r, 0, sizeof r);
  r.from_ms = 1320843000500ull;
  r.train_sessions = 7;
  r.test_sessions = 3;
  r.test_sessions_dropped = 1;
  r.test_events_dropped = 2;
  r.predictions = 4;
  r.k = 20;
  r.model[ER_EVAL_POP].ran = 1;
  er_eval_metrics_add(&r.model[ER_EVAL_POP].m, 1);
  er_eval_metrics_add(&r.model[ER_EVAL_POP].m, 3);
  er_eval_metrics_add(&r.model[ER_EVAL_POP].m, 15);
  er_eval_metrics_add(&r.model[ER_EVAL_POP].m, 0);
  r.model[ER_EVAL_POP].seconds = 0.25;
  r.model[ER_EVAL_POP].coverage = 0.25;
  r.model[ER_EVAL_POP].pop_bias = 0.5;
  r.model[ER_EVAL_POP].hr_ci[0] = 0.5;
  r.model[ER_EVAL_POP].hr_ci[1] = 1;
  r.model[ER_EVAL_POP].mrr_ci[0] = 0.1;
  r.model[ER_EVAL_POP].mrr_ci[1] = 0.6;
  r.model[ER_EVAL_SR].ran = 1;
  er_eval_model_result *st = &r.model[ER_EVAL_STAN], *vs = &r.model[ER_EVAL_VSTAN];
  st->ran = vs->ran = 1;
  st->params = (er_eval_knn_params){250, 1000, 0.5, 20, 3.25, 0, 0};
  st->tuned = 1;
  st->configs = 17;
  st->valid_predictions = 900;
  st->valid_hr = 0.6;
  st->valid_mrr = 0.125;
  st->tune_seconds = 1.5;
  vs->params = er_eval_knn_defaults(1);
  vs->params.ipw = 2;
  char out[16384];
  uint32_t n = er_eval_json(&r, out, sizeof out);
  CHECK(n > 0 && n == strlen(out));
  CHECK(strstr(out, "\"split\":{\"from\":1320843000.500,\"train_sessions\":7,\"test_sessions\":3,\"test_sessions_dropped\":1,"
                    "\"test_events_dropped\":2,\"predictions\":4},\"k\":20,\"models\":{\"pop\":{") != NULL);
  /* hr@10 2/4, hr@20 3/4, mrr@20 (1 + 1/3 + 1/15)/4 = 0.35, ndcg@10 (1 + 0.5)/4 */
  CHECK(strstr(out, "\"pop\":{\"hr@10\":0.5000,\"hr@20\":0.7500,\"mrr@20\":0.3500,\"ndcg@10\":0.3750,\"predictions\":4,"
                    "\"coverage@20\":0.2500,\"pop_bias@20\":0.5000,\"hr@20_ci\":[0.5000,1.0000],\"mrr@20_ci\":[0.1000,0.6000],"
                    "\"seconds\":0.250}") != NULL);
  /* STAN's parameters and its validation figures */
  CHECK(strstr(out, "\"stan\":{\"hr@10\":0.0000") != NULL);
  CHECK(strstr(out, "\"params\":{\"k\":250,\"sample\":1000,\"lambda_spw\":0.5,\"lambda_snh_days\":20,\"lambda_inh\":3.25,"
                    "\"tuned\":true,\"configs\":17,\"validation\":{\"predictions\":900,\"hr@20\":0.6000,\"mrr@20\":0.1250,"
                    "\"seconds\":1.500}}") != NULL);
  CHECK(strstr(out, "\"vstan\":{") != NULL && strstr(out, "\"lambda_ipw\":2,\"lambda_idf\":5,\"tuned\":false,\"configs\":0}") != NULL);
  CHECK(strstr(out, "\"sr\":{\"hr@10\":0.0000") != NULL);
  CHECK(strstr(out, "\"edgerec\":") == NULL && strstr(out, "\"spop\"") == NULL);
  /* valid JSON with the protocol */
  jsmntok_t tok[512];
  er_json j;
  er_error err;
  CHECK_EQ_INT(er_json_parse(&j, out, n, tok, 512, "eval", &err), ER_OK);
  int32_t p = er_json_get(&j, 0, "protocol");
  CHECK(p >= 0 && er_json_eq(&j, (uint32_t)p, ER_EVAL_PROTOCOL));
  CHECK_EQ_INT(er_eval_json(&r, out, 100), 0); /* too small */
}

/* ---- the command ---------------------------------------------------------------------------------- */

static int run_main(const char *a0, const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6) {
  const char *v[] = {"eval", a0, a1, a2, a3, a4, a5, a6, NULL};
  int argc = 1;
  while (argc < 8 && v[argc]) argc++;
  return er_eval_main(argc, (char **)v);
}

static void test_main(void) {
  char path[] = "/tmp/test_eval_XXXXXX", empty[] = "/tmp/test_eval_empty_XXXXXX", bad[] = "/tmp/test_eval_bad_XXXXXX";
  int fd = mkstemp(path), fe = mkstemp(empty), fb = mkstemp(bad);
  CHECK(fd >= 0 && fe >= 0 && fb >= 0);
  if (fd < 0 || fe < 0 || fb < 0) return;
  text t = {0};
  for (int d = 0; d < 40; d++) {
    char s[16];
    snprintf(s, sizeof s, "d%d", d);
    add(&t, "view", "A", 1300000000 + 86400.0 * d, s);
    add(&t, "view", d % 2 ? "B" : "C", 1300000000 + 86400.0 * d + 5, s);
  }
  CHECK(write(fd, t.p, t.n) == (ssize_t)t.n);
  CHECK(write(fb, "not a bundle", 12) == 12);
  close(fd);
  close(fe);
  close(fb);
  /* usage errors: 2 */
  CHECK_EQ_INT(run_main(NULL, NULL, NULL, NULL, NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--k", "0", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--k", "201", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--test-days", "x", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--test-days", "0", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--from", "-5", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--from", "1", "--test-days", "2", NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--baseline", "foo", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--baseline", "none", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--frm", "1", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--tune-peers", "some", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--baseline", "stan,vstn", NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "extra", NULL, NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", path, "--events", path, NULL, NULL, NULL), 2);
  CHECK_EQ_INT(run_main("--events", NULL, NULL, NULL, NULL, NULL, NULL), 2);
  /* bad input: 3 */
  CHECK_EQ_INT(run_main("--events", "/nonexistent/events.ndjson", NULL, NULL, NULL, NULL, NULL), 3);
  CHECK_EQ_INT(run_main("--events", empty, NULL, NULL, NULL, NULL, NULL), 3);
  CHECK_EQ_INT(run_main("--events", path, "--from", "1", NULL, NULL, NULL), 3);           /* no training session */
  CHECK_EQ_INT(run_main("--events", path, "--from", "4000000000", NULL, NULL, NULL), 3);  /* no test session */
  /* bad bundle: 4 */
  CHECK_EQ_INT(run_main("--events", path, "--bundle", bad, NULL, NULL, NULL), 4);
  CHECK_EQ_INT(run_main("--events", path, "--bundle", "/nonexistent.erb", NULL, NULL, NULL), 4);
  /* ok */
  CHECK_EQ_INT(run_main("--events", path, "--test-days", "10", "--baseline", "pop,sr", NULL), 0);
  CHECK_EQ_INT(run_main("--events", path, "--from", "1302000000", "--k", "5", NULL), 0);
  CHECK_EQ_INT(run_main("--events", path, "--baseline", "stan,vstan", "--tune-peers", "none", NULL), 0);
  CHECK_EQ_INT(run_main("--events", path, "--baseline", "all", "--tune-peers", "grid", NULL), 0);
  unlink(path);
  unlink(empty);
  unlink(bad);
  free(t.p);
}

/* ---- er_log (regression: long escaped strings) -------------------------------------------------- */

static void test_log_escapes(void) {
  text t = {0};
  char line[2048];
  int n = snprintf(line, sizeof line, "{\"type\":\"view\",\"item\":\"");
  for (int k = 0; k < 128; k++) n += snprintf(line + n, sizeof line - (size_t)n, "\\u0041"); /* 128-byte sku, 768 bytes raw */
  n += snprintf(line + n, sizeof line - (size_t)n, "\",\"ts\":1,\"session\":\"s\",\"id\":\"e1\",\"user\":\"");
  for (int k = 0; k < 200; k++) n += snprintf(line + n, sizeof line - (size_t)n, "\\u0042");
  snprintf(line + n, sizeof line - (size_t)n, "\"}");
  add_raw(&t, line);
  add_raw(&t, "{\"type\":\"view\",\"item\":\"B\",\"ts\":2,\"session\":\"s\",\"id\":\"\"}");  /* empty id: a bad line */
  add_raw(&t, "{\"type\":\"view\",\"item\":\"B\",\"ts\":2,\"session\":\"\",\"id\":\"e2\"}"); /* empty session: bad, id not used up */
  add_raw(&t, "{\"type\":\"view\",\"item\":\"B\",\"ts\":2,\"session\":\"s\",\"id\":\"e2\"}");
  er_log L;
  load(&L, &t);
  CHECK_EQ_INT(L.n_ev, 2);
  CHECK_EQ_INT(L.bad, 2);
  CHECK_EQ_INT(L.duplicates, 0);
  uint32_t len;
  er_log_sku(&L, 0, &len);
  CHECK_EQ_INT(len, 128);
  CHECK_EQ_INT(L.users.n, 1);
  if (L.users.n) CHECK_EQ_INT(L.users.len[0], 200);
  er_log_free(&L);
  free(t.p);
}

int main(void) {
  RUN(test_metrics);
  RUN(test_parse_models);
  RUN(test_split_rules);
  RUN(test_split_test_days);
  RUN(test_pop_spop);
  RUN(test_rules_planted);
  RUN(test_vsknn_planted);
  RUN(test_no_leak);
  RUN(test_reference);
  RUN(test_knn_lambdas);
  RUN(test_lists_bootstrap);
  RUN(test_edgerec);
  RUN(test_unit_events_and_flags);
  RUN(test_json);
  RUN(test_main);
  RUN(test_log_escapes);
  return DONE();
}
