/* test_scale.c — the trainer's and evaluator's memory and speed work (issue 16):
 * er_log_finish's grouping against a brute-force reference (session order,
 * time order, input order on ties, long sessions), the id table released after
 * grouping, the interner's tagged slots over many strings, escaped and plain
 * strings interned alike, the bundle loader's refusals (its call-free first
 * passes find what the exact loops name), the trainer's bounded validation set (a trees
 * bundle's bytes do not depend on it), and edgerec's threaded evaluation
 * giving the same ranks, lists and figures for every thread count and batch
 * size. */
#define _POSIX_C_SOURCE 200809L
/* small batches and no lower bound, so a small log crosses batch and thread boundaries */
#define EDGEREC_BATCH 7u
#define EDGEREC_MIN_THREADED 0u
#include "../../src/offline/er_eval.c"

#include "er_pack.h"
#include "er_train.h"
#include "harness.h"

/* ---- a log in memory ---------------------------------------------------------------------- */

typedef struct { char *p; size_t n, cap; } text;

static void line(text *t, const char *fmt, ...) {
  if (t->n + 1024 > t->cap) {
    t->cap = t->cap ? t->cap * 2 : 65536;
    t->p = realloc(t->p, t->cap);
  }
  va_list ap;
  va_start(ap, fmt);
  t->n += (size_t)vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
  va_end(ap);
  t->p[t->n++] = '\n';
}

static void load(er_log *L, const text *t) {
  er_log_init(L);
  er_error err;
  FILE *f = fmemopen(t->p, t->n, "r");
  CHECK(f != NULL);
  if (!f) return;
  CHECK_EQ_INT(er_log_read(L, f, "test", 0, &err), ER_OK);
  fclose(f);
  CHECK_EQ_INT(er_log_finish(L, &err), ER_OK);
}

static uint64_t rng(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* ---- grouping ------------------------------------------------------------------------------ */

/* Sessions of random lengths (some over 32 events, the merge path), events
 * interleaved across sessions, timestamps drawn from few values (many ties)
 * and out of order; each event's `item` is its input position, so the
 * grouped log can be compared with a reference sort of the input. */
static void test_finish_reference(void) {
  enum { NSES = 60, MAXN = 90 };
  uint64_t seed = 7;
  uint32_t len[NSES], left[NSES], total = 0;
  for (uint32_t s = 0; s < NSES; s++) total += left[s] = len[s] = 1 + (uint32_t)(rng(&seed) % (s % 5 == 0 ? MAXN : 12));
  uint32_t *ses = malloc(total * sizeof *ses), *ts = malloc(total * sizeof *ts);
  text t = {0};
  for (uint32_t x = 0; x < total; x++) {
    uint32_t s;
    do s = (uint32_t)(rng(&seed) % NSES); while (!left[s]);
    left[s]--;
    ses[x] = s;
    ts[x] = 1000 + (uint32_t)(rng(&seed) % 40); /* few distinct times: ties */
    line(&t, "{\"type\":\"view\",\"item\":\"%u\",\"ts\":%u,\"session\":\"s%u\",\"id\":\"e%u\"}", x, ts[x], s, x);
  }
  line(&t, "{\"type\":\"view\",\"item\":\"dup\",\"ts\":1,\"session\":\"s0\",\"id\":\"e3\"}"); /* a repeated id */
  er_log L;
  load(&L, &t);
  CHECK_EQ_INT(L.n_ev, total);
  CHECK_EQ_INT(L.duplicates, 1);
  CHECK_EQ_INT(L.n_ses, NSES);
  CHECK_EQ_INT(L.ids.n, 0); /* released by er_log_finish */
  CHECK(L.ids.slot == NULL && L.ids.pool == NULL);
  /* reference: session end (then first appearance) orders sessions; time then input order inside */
  uint32_t end[NSES] = {0}, first[NSES];
  for (uint32_t s = 0; s < NSES; s++) first[s] = UINT32_MAX;
  for (uint32_t x = 0; x < total; x++) {
    if (ts[x] > end[ses[x]]) end[ses[x]] = ts[x];
    if (first[ses[x]] == UINT32_MAX) first[ses[x]] = x;
  }
  uint32_t order[NSES], rank[NSES];
  for (uint32_t s = 0; s < NSES; s++) order[s] = s;
  for (uint32_t a = 1; a < NSES; a++) /* insertion sort by (end, first) */
    for (uint32_t b = a; b > 0 && (end[order[b - 1]] > end[order[b]] || (end[order[b - 1]] == end[order[b]] && first[order[b - 1]] > first[order[b]])); b--) {
      uint32_t x = order[b]; order[b] = order[b - 1]; order[b - 1] = x;
    }
  for (uint32_t r = 0; r < NSES; r++) rank[order[r]] = r;
  uint32_t at = 0, bad = 0, badses = 0;
  for (uint32_t r = 0; r < NSES; r++) {
    uint32_t s = order[r];
    const er_log_session *S = &L.ses[r];
    if (S->first != at || S->n != len[s] || S->end_ms != (uint64_t)end[s] * 1000) badses++;
    for (uint32_t tt = 1000; tt < 1040; tt++)
      for (uint32_t x = 0; x < total; x++) {
        if (ses[x] != s || ts[x] != tt) continue;
        const er_log_event *e = &L.ev[at++];
        uint32_t n;
        const char *sku = er_log_sku(&L, e->item, &n);
        char want[16];
        snprintf(want, sizeof want, "%u", x);
        if (n != strlen(want) || memcmp(sku, want, n) || e->session != rank[s] || e->line != x + 1) bad++;
      }
  }
  CHECK_EQ_INT(at, total);
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(badses, 0);
  er_log_free(&L);
  free(t.p);
  free(ses);
  free(ts);
}

/* An empty log and a one-event log group without trouble. */
static void test_finish_small(void) {
  text t = {0};
  line(&t, "{\"type\":\"view\",\"item\":\"A\",\"ts\":5,\"session\":\"only\",\"id\":\"x\"}");
  er_log L;
  load(&L, &t);
  CHECK_EQ_INT(L.n_ses, 1);
  CHECK_EQ_INT(L.ses[0].n, 1);
  CHECK_EQ_INT(L.ses[0].start_ms, 5000);
  er_log_free(&L);
  er_log_init(&L);
  er_error err;
  CHECK_EQ_INT(er_log_finish(&L, &err), ER_OK);
  CHECK_EQ_INT(L.n_ses, 0);
  er_log_free(&L);
  free(t.p);
}

/* ---- interning ----------------------------------------------------------------------------- */

static void test_intern_many(void) {
  er_log L; /* its item table; er_log_free releases it */
  er_log_init(&L);
  er_intern in = L.items;
  enum { N = 200000 };
  char buf[32];
  uint32_t bad = 0;
  for (uint32_t k = 0; k < N; k++) {
    int n = snprintf(buf, sizeof buf, "sku-%u", k * 7919u);
    if (er_intern_add(&in, buf, (uint32_t)n) != k) bad++;
  }
  CHECK_EQ_INT(in.n, N);
  for (uint32_t k = 0; k < N; k += 3) { /* found again, the same id; a re-add adds nothing */
    int n = snprintf(buf, sizeof buf, "sku-%u", k * 7919u);
    if (er_intern_find(&in, buf, (uint32_t)n) != k || er_intern_add(&in, buf, (uint32_t)n) != k) bad++;
  }
  CHECK_EQ_INT(in.n, N);
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(er_intern_find(&in, "sku-1", 5), 0xFFFFFFFFu); /* 1 is not a multiple of 7919 */
  CHECK_EQ_INT(er_intern_find(&in, "sku-", 4), 0xFFFFFFFFu);
  uint32_t n;
  const char *s = er_intern_str(&in, 2, &n);
  CHECK(n == 9 && !memcmp(s, "sku-15838", 9)); /* id 2: 2 × 7919 */
  L.items = in;
  er_log_free(&L);
}

/* A string with escapes and the same string plain are one item. */
static void test_escapes_alike(void) {
  text t = {0};
  line(&t, "{\"type\":\"view\",\"item\":\"AB\",\"ts\":1,\"session\":\"s\",\"id\":\"1\"}");
  line(&t, "{\"type\":\"view\",\"item\":\"A\\u0042\",\"ts\":2,\"session\":\"s\",\"id\":\"2\"}");
  line(&t, "{\"type\":\"view\",\"item\":\"A\\\"B\",\"ts\":3,\"session\":\"\\u0073\",\"id\":\"\\u0033\"}");
  line(&t, "{\"type\":\"view\",\"item\":\"AB\",\"ts\":4,\"session\":\"s\",\"id\":\"3\"}"); /* id "3" seen (escaped) */
  er_log L;
  load(&L, &t);
  CHECK_EQ_INT(L.n_ev, 3);
  CHECK_EQ_INT(L.duplicates, 1);
  CHECK_EQ_INT(L.items.n, 2);
  CHECK_EQ_INT(L.n_ses, 1);
  CHECK_EQ_INT(er_intern_find(&L.items, "A\"B", 3), 1);
  CHECK_EQ_INT(L.ev[0].item, L.ev[1].item);
  er_log_free(&L);
  free(t.p);
}

/* ---- the trainer's validation bound ------------------------------------------------------------ */

/* A browsing log: 300 users × 4 sessions over 40 items with neighbours (i → i+1, i+3). */
static void browsing_log(text *t) {
  uint64_t seed = 5;
  uint32_t id = 0;
  for (uint32_t u = 0; u < 300; u++)
    for (uint32_t s = 0; s < 4; s++) {
      uint32_t n = 3 + (uint32_t)(rng(&seed) % 6), it = (uint32_t)(rng(&seed) % 40);
      uint64_t t0 = 1700000000ull + (uint64_t)(u * 4 + s) * 3600;
      for (uint32_t x = 0; x < n; x++) {
        it = (it + (rng(&seed) % 2 ? 1 : 3)) % 40;
        line(t, "{\"type\":\"%s\",\"item\":\"S%u\",\"ts\":%llu,\"session\":\"u%u-%u\",\"user\":\"u%u\",\"category\":\"c%u\",\"price\":%u,\"id\":\"v%u\"}",
             rng(&seed) % 7 ? "view" : "cart", it, (unsigned long long)(t0 + 40 * x), u, s, u, it % 4, 10 + it, id++);
      }
    }
}

static void test_validation_bound(void) {
  text t = {0};
  browsing_log(&t);
  er_log L;
  load(&L, &t);
  er_train_opts o;
  er_train_defaults(&o);
  CHECK_EQ_INT(o.max_valid, 50000);
  o.max_groups = 40000; /* the command's default for trees */
  uint8_t *all = NULL, *few = NULL;
  uint32_t na = 0, nf = 0;
  er_train_report ra, rf;
  er_error err;
  o.max_valid = 0; /* keep every validation request */
  CHECK_EQ_INT(er_train_run(&L, NULL, 0, &o, &all, &na, &ra, &err), ER_OK);
  o.max_valid = 20;
  CHECK_EQ_INT(er_train_run(&L, NULL, 0, &o, &few, &nf, &rf, &err), ER_OK);
  CHECK(ra.valid_groups > 60);                          /* the bound bites: a sample of about 20 */
  CHECK(rf.valid_groups >= 5 && rf.valid_groups <= 45);
  CHECK_EQ_INT(rf.groups, ra.groups);                   /* training requests untouched */
  CHECK_EQ_INT(rf.rows, ra.rows);
  CHECK(na == nf && all && few && !memcmp(all, few, na)); /* trees: the same bundle bytes */
  free(all);
  free(few);
  er_log_free(&L);
  free(t.p);
}

static uint8_t *bundle24(uint32_t *len);

/* ---- the loader's call-free first passes ---------------------------------------------------------- */

/* A copy of bundle bytes with one u32 written at section `id`'s byte `at`, checksum fixed. */
static uint8_t *corrupt_u32(const uint8_t *good, uint32_t len, uint32_t id, uint32_t at, uint32_t v) {
  er_bundle b;
  er_error err;
  if (er_bundle_load(&b, good, len, &err)) return NULL;
  uint8_t *c = malloc(len);
  memcpy(c, good, len);
  er_wr32(c + (b.sec[id].p - good) + at, v);
  er_wr64(c + 8, er_xxh64(c + 16, len - 16, 0));
  return c;
}

/* Each check still refuses what it refused, naming the same record. */
static void test_loader_refusals(void) {
  uint32_t len;
  uint8_t *good = bundle24(&len);
  if (!good) return;
  er_bundle b;
  er_error err;
  CHECK_EQ_INT(er_bundle_load(&b, good, len, &err), ER_OK);
  /* compact neighbours of 24 items: 2 block offsets + 1, 24 counts, then 3-byte entries */
  uint32_t n = b.n_items, nbr0 = 4 * 3 + 24;
  CHECK_EQ_INT(n, 24);
  CHECK_EQ_INT(b.nbr_stride, 3);
  CHECK_EQ_INT(b.sec[ER_SEC_NBR_VV].count, 48);
  CHECK_EQ_INT(b.sec[ER_SEC_NBR_VV].len, nbr0 + 3 * 48);
  struct { uint32_t id, at, v; const char *msg; } cases[] = {
      {ER_SEC_NBR_VV, nbr0 + 3 * 37, 24, "bundle section neighbours_vv: entry 37 points past the item table"},
      {ER_SEC_NBR_VV, nbr0 + 3 * 47, 0xFFFFu, "bundle section neighbours_vv: entry 47 points past the item table"},
      {ER_SEC_NBR_VV, 4, 1, "bundle section neighbours_vv: bad offset at item 16"},
      {ER_SEC_NBR_VV, 0, 1, "bundle section neighbours_vv: bad offset at item 0"},
      {ER_SEC_NBR_VV, 8, 47, "bundle section neighbours_vv: offsets end at 47 of 48"},
      {ER_SEC_LIST_ITEMS, 4 * 3, 99, "bundle: list entry 3 points past the item table"},
      {ER_SEC_SKU_INDEX, 4 * 9, 24, "bundle section sku_index: record 9 points past the item table"},
      {ER_SEC_SKU_INDEX, 4 * 4, er_rd32(b.sec[ER_SEC_SKU_INDEX].p + 4 * 3), "bundle section sku_index: keys not strictly ascending at record 4"},
      {ER_SEC_ITEMS, ER_ITEM_BYTES * 7 + 16, 30, "bundle: item 7 has parent 30 past the item table"},
      {ER_SEC_ITEMS, ER_ITEM_BYTES * 2 + 12, 0, "bundle: item 2 has a sku length of 0"},
      {ER_SEC_ITEMS, ER_ITEM_BYTES * 23 + 8, 1u << 30, "bundle: sku of record 23 lies outside the string pool"},
  };
  for (uint32_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    uint8_t *c = corrupt_u32(good, len, cases[k].id, cases[k].at, cases[k].v);
    CHECK(c != NULL);
    if (!c) continue;
    er_bundle x;
    er_error e2;
    er_error_clear(&e2);
    CHECK_EQ_INT(er_bundle_load(&x, c, len, &e2), ER_E_BUNDLE_CORRUPT);
    CHECK_EQ_STR(e2.msg, cases[k].msg);
    free(c);
  }
  free(good);
}

/* ---- threaded evaluation --------------------------------------------------------------------- */

/* 24 items in two categories, viewed→viewed neighbours i → i+1, i+2 and a
 * linear model: enough for ranks that differ by prediction. */
static uint8_t *bundle24(uint32_t *len) {
  static char skus[24][8];
  static const char *ca[] = {"Bags"}, *cb[] = {"Gear"};
  er_pack_item items[24];
  static er_pack_edge vv[48];
  for (uint32_t k = 0; k < 24; k++) {
    snprintf(skus[k], sizeof skus[k], "I%u", k);
    memset(&items[k], 0, sizeof items[k]);
    items[k].sku = skus[k];
    items[k].in_stock = items[k].visible = 1;
    items[k].categories = k % 3 ? ca : cb;
    items[k].n_categories = 1;
    items[k].price_cents = 500 + 37 * k;
    items[k].view = 5 + (k * 13) % 17;
    vv[2 * k] = (er_pack_edge){k, (k + 1) % 24, 0.9f};
    vv[2 * k + 1] = (er_pack_edge){k, (k + 2) % 24, 0.4f};
  }
  static float w[1 << 10];
  for (int k = 0; k < (1 << 10); k++) w[k] = (float)((k * 29) % 13 - 6) / 8.0f;
  er_pack_input in;
  memset(&in, 0, sizeof in);
  in.version = "scale-test";
  in.items = items;
  in.n_items = 24;
  in.nbr[ER_NBR_VV] = (er_pack_nbrs){vv, 48};
  in.no_auto_content = 1;
  in.model.kind = ER_MODEL_LINEAR;
  in.model.bits = 10;
  in.model.weights = w;
  uint8_t *out = NULL;
  er_error err;
  er_status st = er_pack_build(&in, &out, len, &err);
  CHECK_EQ_INT(st, ER_OK);
  return st ? NULL : out;
}

typedef struct { uint32_t n; uint32_t rank[4096]; uint32_t test[4096]; } trace_buf;

static void on_rank(void *user, er_eval_model m, uint32_t test, uint32_t pos, uint32_t item, uint32_t rank) {
  trace_buf *tb = user;
  (void)m; (void)pos; (void)item;
  if (tb->n < 4096) { tb->rank[tb->n] = rank; tb->test[tb->n] = test; tb->n++; }
}

static void test_threads_same_figures(void) {
  uint32_t blen;
  uint8_t *bundle = bundle24(&blen);
  if (!bundle) return;
  er_error err;
  er_engine *e = er_engine_new(bundle, blen, &err);
  CHECK(e != NULL);
  if (!e) { free(bundle); return; }
  /* 40 users, 6 sessions each (history across sessions), sessions of 2..9 views and carts */
  text t = {0};
  uint64_t seed = 11;
  uint32_t id = 0;
  for (uint32_t u = 0; u < 40; u++)
    for (uint32_t s = 0; s < 6; s++) {
      uint32_t n = 2 + (uint32_t)(rng(&seed) % 8), it = (uint32_t)(rng(&seed) % 24);
      uint64_t t0 = 100000 + (uint64_t)s * 20000 + u * 7;
      for (uint32_t x = 0; x < n; x++) {
        it = (it + 1 + (uint32_t)(rng(&seed) % 3)) % 24;
        line(&t, "{\"type\":\"%s\",\"item\":\"I%u\",\"ts\":%llu,\"session\":\"u%u-%u\",\"user\":\"u%u\",\"id\":\"e%u\"}",
             rng(&seed) % 5 ? "view" : "cart", it, (unsigned long long)(t0 + 30 * x), u, s, u, id++);
      }
    }
  er_log L;
  load(&L, &t);
  er_eval_result ref, r;
  static trace_buf tr0, tr;
  const uint32_t threads[] = {1, 2, 3, 16};
  char json0[16384], json[16384];
  uint32_t n0 = 0;
  for (uint32_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
    er_eval_opts o;
    er_eval_opts_default(&o);
    o.has_from = 1;
    o.from_ms = 160000ull * 1000; /* the last three sessions of every user are test sessions */
    o.models = ER_EVAL_BIT(ER_EVAL_EDGEREC) | ER_EVAL_BIT(ER_EVAL_POP);
    o.threads = threads[k];
    o.trace = on_rank;
    trace_buf *tb = k ? &tr : &tr0;
    memset(tb, 0, sizeof *tb);
    o.trace_user = tb;
    er_eval_result *out = k ? &r : &ref;
    CHECK_EQ_INT(er_eval_run(&L, &o, e, out, &err), ER_OK);
    uint32_t n = er_eval_json(out, k ? json : json0, sizeof json);
    CHECK(n > 0);
    if (!k) {
      n0 = n;
      CHECK(ref.model[ER_EVAL_EDGEREC].m.n > 200); /* > 2 batches per thread */
      uint32_t hits = 0;
      for (uint32_t x = 0; x < tr0.n; x++) hits += tr0.rank[x] != 0;
      CHECK(hits > 0 && hits < tr0.n); /* ranks that differ */
      continue;
    }
    const er_eval_model_result *a = &ref.model[ER_EVAL_EDGEREC], *b = &r.model[ER_EVAL_EDGEREC];
    CHECK_EQ_INT(b->m.n, a->m.n);
    CHECK(!memcmp(a->m.at_rank, b->m.at_rank, sizeof a->m.at_rank));
    CHECK(a->coverage == b->coverage && a->pop_bias == b->pop_bias);
    CHECK(a->hr_ci[0] == b->hr_ci[0] && a->mrr_ci[1] == b->mrr_ci[1]);
    CHECK_EQ_INT(b->errors, a->errors);
    CHECK_EQ_INT(b->fallbacks, a->fallbacks);
    CHECK_EQ_INT(tr.n, tr0.n);
    CHECK(!memcmp(tr.rank, tr0.rank, sizeof tr.rank) && !memcmp(tr.test, tr0.test, sizeof tr.test));
    /* the JSON differs only in seconds: compare up to the first "seconds" */
    const char *s0 = strstr(json0, "\"seconds\""), *s1 = strstr(json, "\"seconds\"");
    CHECK(s0 && s1 && s0 - json0 == s1 - json && !memcmp(json0, json, (size_t)(s0 - json0)));
    (void)n0;
  }
  CHECK_EQ_INT(edgerec_threads(0) >= 1, 1);
  CHECK_EQ_INT(edgerec_threads(99), EDGEREC_MAX_THREADS);
  er_log_free(&L);
  er_engine_free(e);
  free(bundle);
  free(t.p);
}

/* `--threads` is checked: a clear usage error, exit 2. */
static void test_threads_option(void) {
  char *a1[] = {"eval", "--events", "x.ndjson", "--threads", "0", NULL};
  char *a2[] = {"eval", "--events", "x.ndjson", "--threads", "two", NULL};
  char *a3[] = {"eval", "--events", "x.ndjson", "--threads", "17", NULL};
  FILE *saved = stderr;
  stderr = fopen("/dev/null", "w");
  int r1 = er_eval_main(5, a1), r2 = er_eval_main(5, a2), r3 = er_eval_main(5, a3);
  fclose(stderr);
  stderr = saved;
  CHECK_EQ_INT(r1, 2);
  CHECK_EQ_INT(r2, 2);
  CHECK_EQ_INT(r3, 2);
}

int main(void) {
  RUN(test_finish_reference);
  RUN(test_finish_small);
  RUN(test_intern_many);
  RUN(test_escapes_alike);
  RUN(test_loader_refusals);
  RUN(test_validation_bound);
  RUN(test_threads_same_figures);
  RUN(test_threads_option);
  return DONE();
}
