/* test_synth.c — the synthetic browsing-log generator (src/offline/er_synth.c):
 * determinism (same seed → same bytes, another seed → other bytes), the
 * summary recomputed independently from the CSV it wrote (sessions cut at 30
 * minutes, re-visit share, distinct items, counts by type), the browsing
 * preset's statistics inside the documented ranges, the funnel shares, rows in
 * time order within a user, --events stopping exactly, every NDJSON line a
 * valid event of the contract, the catalogue's skus covering the log, and bad
 * options refused naming the option. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_event.h"
#include "er_synth.h"
#include "harness.h"

/* Run the generator into memory; returns the bytes (caller frees), length in *n. */
static char *gen(const er_synth_opts *o, er_synth_stats *st, size_t *n, char **catalog) {
  FILE *f = tmpfile(), *c = catalog ? tmpfile() : NULL;
  char err[300] = "";
  int rc = er_synth_run(o, f, c, 0, st, err, sizeof err);
  if (rc) printf("er_synth_run: %d %s\n", rc, err);
  CHECK_EQ_INT(rc, 0);
  char *p[2] = {NULL, NULL};
  FILE *fs[2] = {f, c};
  size_t len[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    if (!fs[k]) continue;
    fseek(fs[k], 0, SEEK_END);
    len[k] = (size_t)ftell(fs[k]);
    rewind(fs[k]);
    p[k] = malloc(len[k] + 1);
    CHECK_EQ_INT(fread(p[k], 1, len[k], fs[k]), len[k]);
    p[k][len[k]] = 0;
    fclose(fs[k]);
  }
  *n = len[0];
  if (catalog) *catalog = p[1];
  return p[0];
}

/* Statistics recomputed from a CSV log: sessions cut at > 1800 s per user. */
typedef struct {
  uint64_t rows, by_type[4], sessions, users, distinct, seen, disorder, regroup, bad;
} recount;

static int type_of(const char *s) {
  static const char *const t[4] = {"pv", "cart", "fav", "buy"};
  for (int k = 0; k < 4; k++) if (!strcmp(s, t[k])) return k;
  return -1;
}

static recount count_csv(char *csv, uint32_t items) {
  recount r;
  memset(&r, 0, sizeof r);
  uint8_t *seen_any = calloc(items + 2, 1);
  unsigned long *sess_items = malloc(sizeof *sess_items * 4096);
  unsigned long *users = malloc(sizeof *users * 200000);
  size_t nsess = 0;
  unsigned long last_user = 0, last_ts = 0;
  char *line = strchr(csv, '\n');
  CHECK(line != NULL && !strncmp(csv, "user_id,item_id,category_id,behavior_type,timestamp\n", 52));
  for (line = line ? line + 1 : NULL; line && *line;) {
    char *nl = strchr(line, '\n');
    if (!nl) { r.bad++; break; }
    *nl = 0;
    unsigned long u, it, cat, ts;
    char ty[8];
    int t;
    int got = sscanf(line, "%lu,%lu,%lu,%7[a-z],%lu", &u, &it, &cat, ty, &ts);
    *nl = '\n';
    if (got != 5 || (t = type_of(ty)) < 0 || it < 1 || it > items) {
      r.bad++;
      line = nl + 1;
      continue;
    }
    r.rows++;
    r.by_type[t]++;
    if (r.rows == 1 || u != last_user) { /* a new user: ids must not come back later */
      for (uint64_t k = 0; k < r.users; k++) if (users[k] == u) r.regroup++;
      if (r.users < 200000) users[r.users] = u;
      r.users++;
      r.sessions++; nsess = 0;
    } else {
      if (ts < last_ts) r.disorder++;
      if (ts > last_ts + 1800) { r.sessions++; nsess = 0; }
    }
    int in = 0;
    for (size_t k = 0; k < nsess && !in; k++) in = sess_items[k] == it;
    if (in) r.seen++;
    else if (nsess < 4096) sess_items[nsess++] = it;
    if (!seen_any[it]) { seen_any[it] = 1; r.distinct++; }
    last_user = u; last_ts = ts;
    line = nl + 1;
  }
  free(seen_any); free(sess_items); free(users);
  return r;
}

static er_synth_opts preset(const char *name) {
  er_synth_opts o;
  CHECK_EQ_INT(er_synth_preset(&o, name), 0);
  return o;
}

static void test_determinism(void) {
  er_synth_opts o = preset("shop");
  o.users = 300;
  er_synth_stats a, b, c;
  size_t na, nb, nc;
  char *x = gen(&o, &a, &na, NULL), *y = gen(&o, &b, &nb, NULL);
  CHECK(na > 1000 && na == nb && !memcmp(x, y, na));
  CHECK_EQ_INT(a.events, b.events);
  o.seed = 2;
  char *z = gen(&o, &c, &nc, NULL);
  CHECK(nc != na || memcmp(x, z, na) != 0);
  free(x); free(y); free(z);
  /* NDJSON too */
  o.format = ER_SYNTH_NDJSON;
  x = gen(&o, &a, &na, NULL); y = gen(&o, &b, &nb, NULL);
  CHECK(na == nb && !memcmp(x, y, na));
  free(x); free(y);
}

/* The summary equals an independent recount of the CSV; the browsing preset
 * lands in the ranges docs/training.md documents. */
static void test_browsing_preset(void) {
  er_synth_opts o = preset("browsing");
  er_synth_stats st;
  size_t n;
  char *csv = gen(&o, &st, &n, NULL);
  recount r = count_csv(csv, o.items);
  CHECK_EQ_INT(r.bad, 0);
  CHECK_EQ_INT(r.rows, st.events);
  for (int k = 0; k < 4; k++) CHECK_EQ_INT(r.by_type[k], st.by_type[k]);
  CHECK_EQ_INT(r.users, st.users);
  CHECK_EQ_INT(r.sessions, st.sessions); /* sessions cut at 30 minutes are the generator's sessions */
  CHECK_EQ_INT(r.distinct, st.distinct_items);
  CHECK_EQ_INT(r.seen, st.seen_in_session);
  CHECK_EQ_INT(r.disorder, 0);
  CHECK_EQ_INT(r.regroup, 0);
  double ev = (double)st.events;
  printf("browsing preset: %llu events, %llu distinct items (%.3f), %llu sessions (mean %.2f), re-visit share %.3f, "
         "cart/view %.3f, fav/view %.3f, buy/cart %.3f\n",
         (unsigned long long)st.events, (unsigned long long)st.distinct_items, st.distinct_items / ev,
         (unsigned long long)st.sessions, ev / st.sessions, st.seen_in_session / ev,
         st.by_type[1] / (double)st.by_type[0], st.by_type[2] / (double)st.by_type[0], st.by_type[3] / (double)st.by_type[1]);
  CHECK(st.users == 1000);
  CHECK(st.events >= 70000 && st.events <= 100000);
  CHECK(st.distinct_items / ev >= 0.58 && st.distinct_items / ev <= 0.68);
  CHECK(st.seen_in_session / ev >= 0.22 && st.seen_in_session / ev <= 0.30);
  CHECK(ev / st.sessions >= 7 && ev / st.sessions <= 11);
  CHECK(st.by_type[1] / (double)st.by_type[0] >= 0.045 && st.by_type[1] / (double)st.by_type[0] <= 0.075);
  CHECK(st.by_type[2] / (double)st.by_type[0] >= 0.02 && st.by_type[2] / (double)st.by_type[0] <= 0.04);
  CHECK(st.by_type[3] / (double)st.by_type[1] >= 0.2 && st.by_type[3] / (double)st.by_type[1] <= 0.4);
  free(csv);
  /* no re-visits asked → a much lower re-visit share (funnel events only, and chance) */
  o.revisit = 0; o.ret = 0; o.users = 200;
  csv = gen(&o, &st, &n, NULL);
  CHECK(st.seen_in_session / (double)st.events < 0.15);
  free(csv);
}

/* The shop preset: every item of 2,000, popularity skewed (Zipf). */
static void test_shop_preset(void) {
  er_synth_opts o = preset("shop");
  o.users = 1000;
  er_synth_stats st;
  size_t n;
  char *csv = gen(&o, &st, &n, NULL);
  recount r = count_csv(csv, o.items);
  CHECK_EQ_INT(r.bad, 0);
  CHECK_EQ_INT(r.sessions, st.sessions);
  CHECK(st.distinct_items <= 2000 && st.distinct_items > 1500);
  /* views per item id: skewed, most items far below the top one */
  uint32_t *cnt = calloc(o.items + 1, sizeof *cnt);
  char *p = strchr(csv, '\n') + 1;
  while (*p) {
    unsigned long u, it;
    if (sscanf(p, "%lu,%lu,", &u, &it) == 2 && it <= o.items) cnt[it]++;
    p = strchr(p, '\n') + 1;
  }
  uint32_t mx = 0, above = 0;
  for (uint32_t i = 1; i <= o.items; i++) if (cnt[i] > mx) mx = cnt[i];
  for (uint32_t i = 1; i <= o.items; i++) above += cnt[i] * 20 > mx;
  CHECK(above < o.items / 2); /* most items get under 5 % of the top item's views */
  free(cnt); free(csv);
}

static void test_events_limit_and_contract(void) {
  er_synth_opts o = preset("shop");
  o.events = 5000; o.format = ER_SYNTH_NDJSON;
  er_synth_stats st;
  size_t n;
  char *cat = NULL;
  char *nd = gen(&o, &st, &n, &cat);
  CHECK_EQ_INT(st.events, 5000);
  static jsmntok_t tok[ER_MAX_EVENT_TOKENS];
  int lines = 0, invalid = 0, types[4] = {0, 0, 0, 0}, unknown_sku = 0;
  for (char *p = nd; *p;) {
    char *nl = strchr(p, '\n');
    if (!nl) { invalid++; break; }
    er_event ev;
    er_error e;
    er_error_clear(&e);
    if (er_event_parse(&ev, p, (uint32_t)(nl - p), tok, ER_MAX_EVENT_TOKENS, ER_EVENT_REQUIRE_ALL, &e)) {
      if (invalid++ < 3) printf("invalid: %.*s (%s)\n", (int)(nl - p), p, e.msg);
    }
    static const char *const tn[4] = {"\"type\":\"view\"", "\"type\":\"cart\"", "\"type\":\"wishlist\"", "\"type\":\"purchase\""};
    for (int k = 0; k < 4; k++) if (!strncmp(p + 1, tn[k], strlen(tn[k]))) types[k]++;
    /* the item's sku is in the catalogue */
    char key[64];
    const char *it = strstr(p, "\"item\":\"");
    if (it) {
      it += 8;
      snprintf(key, sizeof key, "{\"sku\":\"%.*s\"", (int)(strchr(it, '"') - it), it);
      if (!strstr(cat, key)) unknown_sku++;
    }
    lines++;
    p = nl + 1;
  }
  CHECK_EQ_INT(lines, 5000);
  CHECK_EQ_INT(invalid, 0);
  CHECK_EQ_INT(unknown_sku, 0);
  for (int k = 0; k < 4; k++) CHECK_EQ_INT(types[k], st.by_type[k]);
  CHECK(types[2] > 0 && types[3] > 0);
  /* the catalogue: one entry per item */
  int skus = 0;
  for (const char *q = cat; (q = strstr(q, "{\"sku\":\"")); q++) skus++;
  CHECK_EQ_INT(skus, 2000);
  CHECK(!strncmp(cat, "{\"items\":[", 10) && strstr(cat, "]}\n") != NULL);
  free(nd); free(cat);
}

static void test_bad_options(void) {
  er_synth_opts o;
  char err[300];
  CHECK_EQ_INT(er_synth_preset(&o, "nope"), -1);
  o = preset("browsing"); o.revisit = 1.5;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--revisit") != NULL);
  o = preset("browsing"); o.revisit = 0.5; o.neighbour = 0.6;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--neighbour") != NULL);
  o = preset("browsing"); o.items = 5;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--items") != NULL);
  o = preset("browsing"); o.categories = o.items + 1;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--categories") != NULL);
  o = preset("browsing"); o.days = 0;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--days") != NULL);
  o = preset("browsing"); o.cart = 0.9; o.fav = 0.2;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--fav") != NULL);
  o = preset("browsing"); o.recency = 4;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--recency") != NULL);
  o = preset("browsing"); o.gap_median = 2000;
  CHECK_EQ_INT(er_synth_check(&o, err, sizeof err), -1); CHECK(strstr(err, "--gap") != NULL);
  er_synth_stats st;
  o = preset("browsing"); o.zipf = -1;
  CHECK_EQ_INT(er_synth_run(&o, stdout, NULL, 0, &st, err, sizeof err), 2);
  CHECK(strstr(err, "--zipf") != NULL);
  CHECK_EQ_INT(st.events, 0);
}

int main(void) {
  RUN(test_determinism);
  RUN(test_browsing_preset);
  RUN(test_shop_preset);
  RUN(test_events_limit_and_contract);
  RUN(test_bad_options);
  return DONE();
}
