/* er_log.c — NDJSON event logs in memory (see er_log.h). */
#define _POSIX_C_SOURCE 200809L
#include "er_log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "er_context.h"
#include "er_engine.h"
#include "er_event.h"
#include "er_features.h"
#include "er_native.h"

#define NONE 0xFFFFFFFFu
_Static_assert(ER_DEV_APP < 8, "er_log_event.device is 3 bits");

/* ---- interning ------------------------------------------------------------ */

/* A slot holds id + 1 in its low half and the key's low 32 bits (a tag) in
 * its high half, so a probe touches the id's own records only when the tag
 * matches: one cache miss for a new string in a large table, not one per probe. */
#define SLOT(id, key) ((uint64_t)(uint32_t)(key) << 32 | ((uint64_t)(id) + 1))

static int intern_grow_slots(er_intern *t) {
  uint32_t slots = t->mask ? (t->mask + 1) * 2 : 1024;
  uint64_t *s = calloc(slots, sizeof *s);
  if (!s) return 0;
  for (uint32_t id = 0; id < t->n; id++) {
    uint32_t h = (uint32_t)(t->key[id] >> 32) & (slots - 1);
    while (s[h]) h = (h + 1) & (slots - 1);
    s[h] = SLOT(id, t->key[id]);
  }
  free(t->slot);
  t->slot = s;
  t->mask = slots - 1;
  return 1;
}

uint32_t er_intern_find(const er_intern *t, const char *s, uint32_t n) {
  if (!t->mask) return NONE;
  uint64_t k = er_key(s, n);
  uint32_t tag = (uint32_t)k;
  for (uint32_t h = (uint32_t)(k >> 32) & t->mask; t->slot[h]; h = (h + 1) & t->mask) {
    if ((uint32_t)(t->slot[h] >> 32) != tag) continue;
    uint32_t id = (uint32_t)t->slot[h] - 1;
    if (t->key[id] == k && t->len[id] == n && !memcmp(t->pool + t->off[id], s, n)) return id;
  }
  return NONE;
}

uint32_t er_intern_add(er_intern *t, const char *s, uint32_t n) {
  uint32_t id = er_intern_find(t, s, n);
  if (id != NONE) return id;
  if ((uint64_t)(t->n + 1) * 2 > (uint64_t)(t->mask ? t->mask + 1 : 0) && !intern_grow_slots(t)) return NONE;
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 256;
    uint64_t *off = realloc(t->off, cap * sizeof *off);
    if (off) t->off = off;
    uint32_t *len = realloc(t->len, cap * sizeof *len);
    if (len) t->len = len;
    uint64_t *key = realloc(t->key, cap * sizeof *key);
    if (key) t->key = key;
    if (!off || !len || !key) return NONE;
    t->cap = cap;
  }
  if (t->pool_len + n > t->pool_cap) {
    uint64_t cap = t->pool_cap ? t->pool_cap : 4096;
    while (cap < t->pool_len + n) cap *= 2;
    char *p = realloc(t->pool, cap);
    if (!p) return NONE;
    t->pool = p;
    t->pool_cap = cap;
  }
  memcpy(t->pool + t->pool_len, s, n);
  id = t->n++;
  t->off[id] = t->pool_len;
  t->len[id] = n;
  t->key[id] = er_key(s, n);
  t->pool_len += n;
  uint32_t h = (uint32_t)(t->key[id] >> 32) & t->mask;
  while (t->slot[h]) h = (h + 1) & t->mask;
  t->slot[h] = SLOT(id, t->key[id]);
  return id;
}

static void intern_free(er_intern *t) {
  free(t->pool);
  free(t->off);
  free(t->len);
  free(t->key);
  free(t->slot);
  memset(t, 0, sizeof *t);
}

/* ---- reading -------------------------------------------------------------- */

void er_log_init(er_log *L) {
  memset(L, 0, sizeof *L);
  L->min_ms = UINT64_MAX;
}

void er_log_free(er_log *L) {
  free(L->ev);
  free(L->ses);
  free(L->imp);
  intern_free(&L->items);
  intern_free(&L->sessions);
  intern_free(&L->users);
  intern_free(&L->cats);
  intern_free(&L->countries);
  intern_free(&L->ids);
  er_log_init(L);
}

static void bad_line(er_log *L, uint32_t line, const char *why) {
  L->bad++;
  if (L->n_bad_kept < ER_LOG_MAX_BAD) {
    L->bad_line[L->n_bad_kept] = line;
    snprintf(L->bad_why[L->n_bad_kept], sizeof L->bad_why[0], "%s", why);
    L->n_bad_kept++;
  }
}

/* Resolve a raw JSON string (escapes kept) into buf; returns the length or -1. */
static int32_t unescape(const er_str *s, char *buf, uint32_t cap) {
  /* Reuse the JSON reader: wrap the raw bytes in quotes and decode one token.
   * A valid string of ER_EVENT_MAX_STR resolved bytes is at most 6 times as
   * long raw (every byte written as \u00XX). */
  char tmp[6 * ER_EVENT_MAX_STR + 4];
  if (s->n + 2 > sizeof tmp) return -1;
  /* without a backslash the raw bytes are the string (the line already passed the JSON parser) */
  if (s->n <= cap && !memchr(s->p, '\\', s->n)) {
    memcpy(buf, s->p, s->n);
    return (int32_t)s->n;
  }
  tmp[0] = '"';
  memcpy(tmp + 1, s->p, s->n);
  tmp[s->n + 1] = '"';
  jsmntok_t tok[2];
  er_json j;
  er_error e;
  if (er_json_parse(&j, tmp, s->n + 2, tok, 2, "string", &e)) return -1;
  return er_json_str(&j, 0, buf, cap);
}

/* Intern an optional string field: id + 1, 0 when absent or empty.
 * Returns 1, 0 when out of memory, -1 when the string cannot be decoded. */
static int intern_opt(er_intern *t, const er_str *s, uint32_t *out) {
  *out = 0;
  if (!s->p || !s->n) return 1;
  char buf[4 * ER_EVENT_MAX_STR];
  int32_t n = unescape(s, buf, sizeof buf);
  if (n < 0) return -1;
  if (n == 0) return 1;
  uint32_t id = er_intern_add(t, buf, (uint32_t)n);
  if (id == NONE) return 0;
  *out = id + 1;
  return 1;
}

/* Bytes of a line kept: an event and one '\r' of a CRLF line end.  The rest
 * of a longer line is read and dropped, never buffered. */
#define LINE_KEEP (ER_MAX_EVENT_BYTES + 1u)

er_status er_log_read(er_log *L, FILE *f, const char *name, int progress, er_error *err) {
  char *line = malloc(LINE_KEEP + 1);
  int64_t full;
  jsmntok_t tok[ER_MAX_EVENT_TOKENS];
  er_status st = ER_OK;
  double t0 = er_now_seconds();
  uint64_t next_report = 1000000;
  char too_long[48];
  snprintf(too_long, sizeof too_long, "event larger than %u bytes", ER_MAX_EVENT_BYTES);
  if (!line) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory", name);
  while ((full = er_read_line(f, line, LINE_KEEP)) >= 0) {
    uint32_t lineno = (uint32_t)++L->lines;
    if (full > (int64_t)LINE_KEEP) { bad_line(L, lineno, too_long); continue; }
    uint32_t n = (uint32_t)full;
    while (n > 0 && line[n - 1] == '\r') n--;
    uint32_t k = 0;
    while (k < n && (line[k] == ' ' || line[k] == '\t')) k++;
    if (k == n) { L->blank++; continue; }
    if (n > ER_MAX_EVENT_BYTES) { bad_line(L, lineno, too_long); continue; }
    er_event ev;
    er_error pe;
    if (er_event_parse(&ev, line, n, tok, ER_MAX_EVENT_TOKENS, 1u /* ER_EVENT_REQUIRE_ALL */, &pe)) {
      bad_line(L, lineno, pe.msg);
      continue;
    }
    /* duplicates by id (checked after the line is known to be usable, so a
     * rejected line does not use up its id) */
    char buf[4 * ER_EVENT_MAX_STR];
    if (!ev.session.n) { bad_line(L, lineno, "event: field 'session' is empty"); continue; }
    int32_t idn = unescape(&ev.id, buf, sizeof buf);
    if (idn < 0) { bad_line(L, lineno, "event: field 'id' cannot be decoded"); continue; }
    if (!idn) { bad_line(L, lineno, "event: field 'id' is empty"); continue; }
    uint32_t before = L->ids.n;
    if (er_intern_add(&L->ids, buf, (uint32_t)idn) == NONE) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory at line %u", name, lineno); break; }
    if (L->ids.n == before) { L->duplicates++; continue; }
    if (L->n_ev >= ER_LOG_MAX_EVENTS) { st = er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "%s: more than %u events", name, ER_LOG_MAX_EVENTS); break; }
    if (L->n_ev == L->cap_ev) {
      uint32_t c = L->cap_ev ? L->cap_ev * 2 : 65536;
      er_log_event *ne = realloc(L->ev, (size_t)c * sizeof *ne);
      if (!ne) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory at line %u", name, lineno); break; }
      L->ev = ne;
      L->cap_ev = c;
    }
    er_log_event *e = &L->ev[L->n_ev];
    memset(e, 0, sizeof *e);
    e->ts_ms = ev.ts_ms;
    e->type = (uint8_t)ev.type;
    e->rating = (uint8_t)ev.rating;
    e->line = lineno;
    e->price_cents = ev.price_cents < 0 ? 0 : ev.price_cents > 0xFFFFFFFFll ? 0xFFFFFFFFu : (uint32_t)ev.price_cents;
    e->device = ev.device.p ? (uint8_t)er_device_from(ev.device.p, ev.device.n) : 0;
    uint32_t sid;
    int ok = 1;
    if (ok == 1) ok = intern_opt(&L->sessions, &ev.session, &sid);
    if (ok == 1) ok = intern_opt(&L->users, &ev.user, &e->user);
    if (ok == 1) ok = intern_opt(&L->cats, &ev.category, &e->cat);
    if (ok == 1) ok = intern_opt(&L->countries, &ev.country, &e->country);
    if (ok < 0) { bad_line(L, lineno, "event: a string field cannot be decoded"); continue; }
    if (!ok) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory at line %u", name, lineno); break; }
    if (!sid) { bad_line(L, lineno, "event: field 'session' is empty"); continue; }
    e->session = sid - 1;
    if (er_event_is_list(ev.type)) {
      if (L->n_imp + ev.n_items > L->cap_imp) {
        uint32_t c = L->cap_imp ? L->cap_imp * 2 : 65536;
        uint32_t *ni = realloc(L->imp, (size_t)c * sizeof *ni);
        if (!ni) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory at line %u", name, lineno); break; }
        L->imp = ni;
        L->cap_imp = c;
      }
      e->item = L->n_imp;
      e->n_imp = (uint8_t)ev.n_items;
      for (uint32_t x = 0; x < ev.n_items; x++) {
        int32_t m = unescape(&ev.items[x], buf, sizeof buf);
        uint32_t id = m < 0 ? NONE : er_intern_add(&L->items, buf, (uint32_t)m);
        if (id == NONE) { ok = 0; break; }
        L->imp[L->n_imp++] = id;
      }
    } else {
      int32_t m = unescape(&ev.item, buf, sizeof buf);
      uint32_t id = m < 0 ? NONE : er_intern_add(&L->items, buf, (uint32_t)m);
      if (id == NONE) ok = 0;
      e->item = id;
    }
    if (!ok) { st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "%s: out of memory at line %u", name, lineno); break; }
    e->flagged = ev.flag.p != NULL; /* any value, "" included: only the edge sets it */
    if (ev.trust.p) {
      int32_t m = unescape(&ev.trust, buf, sizeof buf);
      e->trust_new = m == 3 && !memcmp(buf, "new", 3);
    }
    L->flagged += e->flagged;
    L->trust_new += e->trust_new;
    if (e->ts_ms < L->min_ms) L->min_ms = e->ts_ms;
    if (e->ts_ms > L->max_ms) L->max_ms = e->ts_ms;
    L->by_type[e->type < ER_EV_COUNT ? e->type : 0]++;
    L->n_ev++;
    if (progress && L->n_ev >= next_report) {
      fprintf(stderr, "%s: %u events read (%.1f s)\n", name, L->n_ev, er_now_seconds() - t0);
      next_report += 1000000;
    }
  }
  if (!st && ferror(f)) st = er_fail(err, ER_E_IO, ER_NO_OFFSET, "%s: read error after line %llu", name, (unsigned long long)L->lines);
  free(line);
  return st;
}

/* ---- grouping ------------------------------------------------------------- */

/* Stable merge sort of session keys by (ts, first appearance); ses is 0. */
typedef struct { uint32_t ses; uint64_t ts; uint32_t idx; } sort_key;

static int key_less(const sort_key *a, const sort_key *b) {
  if (a->ses != b->ses) return a->ses < b->ses;
  if (a->ts != b->ts) return a->ts < b->ts;
  return a->idx < b->idx;
}

static void merge_sort(sort_key *a, sort_key *tmp, uint32_t n) {
  for (uint32_t w = 1; w < n; w *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * w) {
      uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = key_less(&a[j], &a[i]) ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, (size_t)n * sizeof *a);
  }
}

/* Stable sort of event indices a[n] (in input order) by their events' time:
 * insertion sort for a short session, a bottom-up merge sort (scratch tmp[n])
 * for a long one. */
static void sort_by_time(const er_log_event *ev, uint32_t *a, uint32_t *tmp, uint32_t n) {
  if (n <= 32) {
    for (uint32_t i = 1; i < n; i++) {
      uint32_t v = a[i], j = i;
      for (; j > 0 && ev[a[j - 1]].ts_ms > ev[v].ts_ms; j--) a[j] = a[j - 1];
      a[j] = v;
    }
    return;
  }
  for (uint32_t w = 1; w < n; w *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * w) {
      uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = ev[a[j]].ts_ms < ev[a[i]].ts_ms ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, (size_t)n * sizeof *a);
  }
}

/* Grouping costs 4 bytes an event beside the events themselves: event
 * indices are bucketed by session rank (a counting sort keeps input order),
 * each session's indices are sorted by time, and the events are moved into
 * place by following the permutation's cycles. */
er_status er_log_finish(er_log *L, er_error *err) {
  intern_free(&L->ids); /* duplicates are known: the ids are not needed again */
  uint32_t ns = L->sessions.n;
  /* sessions: last event time and first appearance */
  uint64_t *end = calloc(ns ? ns : 1, sizeof *end);
  uint32_t *firstseen = malloc((ns ? ns : 1) * sizeof *firstseen);
  uint32_t *rank = malloc((ns ? ns : 1) * sizeof *rank);
  uint32_t *fill = calloc((size_t)ns + 1, sizeof *fill);
  uint32_t *perm = malloc(((size_t)L->n_ev + 1) * sizeof *perm), *tmp = NULL;
  er_log_session *ses = calloc(ns ? ns : 1, sizeof *ses);
  sort_key *sk = malloc((ns ? ns : 1) * sizeof *sk), *stmp = malloc((ns ? ns : 1) * sizeof *stmp);
  er_status st = ER_OK;
  if (!end || !firstseen || !rank || !fill || !perm || !ses || !sk || !stmp) {
    st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "out of memory grouping %u events", L->n_ev);
    goto out;
  }
  for (uint32_t s = 0; s < ns; s++) firstseen[s] = NONE;
  for (uint32_t x = 0; x < L->n_ev; x++) {
    uint32_t s = L->ev[x].session;
    if (L->ev[x].ts_ms > end[s]) end[s] = L->ev[x].ts_ms;
    if (firstseen[s] == NONE) firstseen[s] = x;
  }
  /* order sessions by (end, first appearance) */
  uint32_t nz = 0; /* sessions with events (all of them unless reading stopped early) */
  for (uint32_t s = 0; s < ns; s++)
    if (firstseen[s] != NONE) sk[nz++] = (sort_key){0, end[s], firstseen[s]};
  merge_sort(sk, stmp, nz);
  for (uint32_t r = 0; r < nz; r++) rank[L->ev[sk[r].idx].session] = r; /* firstseen is unique per session */
  /* bucket event indices by session rank, in input order; then by time within a session */
  for (uint32_t x = 0; x < L->n_ev; x++) {
    uint32_t r = rank[L->ev[x].session];
    L->ev[x].session = r;
    fill[r + 1]++;
  }
  uint32_t longest = 0;
  for (uint32_t r = 0; r < nz; r++) {
    if (fill[r + 1] > longest) longest = fill[r + 1];
    fill[r + 1] += fill[r];
  }
  for (uint32_t r = 0; r < nz; r++) {
    ses[r].first = fill[r];
    ses[r].n = fill[r + 1] - fill[r];
  }
  for (uint32_t x = 0; x < L->n_ev; x++) perm[fill[L->ev[x].session]++] = x;
  if (longest > 32 && !(tmp = malloc((size_t)longest * sizeof *tmp))) {
    st = er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "out of memory grouping %u events", L->n_ev);
    goto out;
  }
  for (uint32_t r = 0; r < nz; r++) sort_by_time(L->ev, perm + ses[r].first, tmp, ses[r].n);
  /* move: position i receives event perm[i]; a visited position gets perm[i] = i */
  for (uint32_t i = 0; i < L->n_ev; i++) {
    if (perm[i] == i) continue;
    er_log_event hold = L->ev[i];
    uint32_t j = i;
    for (;;) {
      uint32_t k = perm[j];
      perm[j] = j;
      if (k == i) { L->ev[j] = hold; break; }
      L->ev[j] = L->ev[k];
      j = k;
    }
  }
  for (uint32_t r = 0; r < nz; r++) {
    er_log_session *S = &ses[r];
    const er_log_event *e = &L->ev[S->first];
    S->start_ms = e[0].ts_ms;
    S->end_ms = e[S->n - 1].ts_ms;
    for (uint32_t x = 0; x < S->n && !S->user; x++) S->user = e[x].user;
  }
  if (L->n_ev && L->n_ev < L->cap_ev) { /* give back the unused tail of the last doubling */
    er_log_event *shrunk = realloc(L->ev, (size_t)L->n_ev * sizeof *shrunk);
    if (shrunk) { L->ev = shrunk; L->cap_ev = L->n_ev; }
  }
  free(L->ses);
  L->ses = ses;
  L->n_ses = nz;
  ses = NULL;
out:
  free(end);
  free(firstseen);
  free(rank);
  free(fill);
  free(perm);
  free(tmp);
  free(ses);
  free(sk);
  free(stmp);
  return st;
}

/* ---- helpers ---------------------------------------------------------------- */

void er_log_report(const er_log *L, FILE *f, const char *who) {
  fprintf(f, "%s: %llu lines, %u events (view %llu, click %llu, cart %llu, purchase %llu, impression %llu, feedback %llu), "
             "%u sessions, %u items",
          who, (unsigned long long)L->lines, L->n_ev, (unsigned long long)L->by_type[ER_EV_VIEW],
          (unsigned long long)L->by_type[ER_EV_CLICK], (unsigned long long)L->by_type[ER_EV_CART],
          (unsigned long long)L->by_type[ER_EV_PURCHASE], (unsigned long long)L->by_type[ER_EV_IMPRESSION],
          (unsigned long long)L->by_type[ER_EV_FEEDBACK], L->n_ses ? L->n_ses : L->sessions.n, L->items.n);
  /* the newer types are named only when the log has them (older logs report as before) */
  for (int t = ER_EV_WISHLIST; t < ER_EV_COUNT; t++)
    if (L->by_type[t]) fprintf(f, ", %s %llu", er_event_type_name((er_event_type)t), (unsigned long long)L->by_type[t]);
  if (L->duplicates) fprintf(f, ", %llu duplicate ids skipped", (unsigned long long)L->duplicates);
  if (L->flagged) fprintf(f, ", %llu flagged by the edge (not learned from)", (unsigned long long)L->flagged);
  if (L->trust_new) fprintf(f, ", %llu from new ids", (unsigned long long)L->trust_new);
  fprintf(f, ", %llu malformed\n", (unsigned long long)L->bad);
  for (uint32_t x = 0; x < L->n_bad_kept; x++) fprintf(f, "%s: line %u: %s\n", who, L->bad_line[x], L->bad_why[x]);
  if (L->bad > L->n_bad_kept) fprintf(f, "%s: … and %llu more malformed lines\n", who, (unsigned long long)(L->bad - L->n_bad_kept));
}

void er_log_delta(const er_log *L, const er_log_event *e, er_profile_delta *d) {
  memset(d, 0, sizeof *d);
  d->type = (er_event_type)e->type;
  d->ts = (uint32_t)(e->ts_ms / 1000);
  d->price_cents = e->price_cents;
  d->rating = e->rating;
  if (!er_event_is_list((er_event_type)e->type)) d->sku_key = L->items.key[e->item];
  if (e->cat) {
    uint32_t n;
    const char *c = er_intern_str(&L->cats, e->cat - 1, &n);
    d->cat_keys[d->n_cats++] = er_cat_key(c, n);
  }
}

uint32_t er_log_context_json(const er_log *L, const er_log_event *e, uint32_t k, char *out, uint32_t cap) {
  static const char *const dev[] = {"", "desktop", "mobile", "tablet", "app"};
  uint64_t s = e->ts_ms / 1000;
  int n = snprintf(out, cap, "{\"now\":%llu,\"hour\":%u,\"weekday\":%u", (unsigned long long)s,
                   (unsigned)(s / 3600 % 24), (unsigned)((s / 86400 + 4) % 7));
  if (n < 0 || (uint32_t)n >= cap) return 0;
  uint32_t at = (uint32_t)n;
  uint32_t cl = 0;
  const char *c = e->country ? er_intern_str(&L->countries, e->country - 1, &cl) : NULL;
  if (c && cl <= ER_CONTEXT_MAX_NAME) { /* a longer one is no country code: the context would refuse it */
    if (at + cl * 6 + 16 >= cap) return 0;
    at += (uint32_t)snprintf(out + at, cap - at, ",\"country\":\"");
    for (uint32_t x = 0; x < cl; x++) { /* JSON-escape */
      unsigned char ch = (unsigned char)c[x];
      if (ch == '"' || ch == '\\') { out[at++] = '\\'; out[at++] = (char)ch; }
      else if (ch < 0x20) at += (uint32_t)snprintf(out + at, cap - at, "\\u%04x", ch);
      else out[at++] = (char)ch;
    }
    out[at++] = '"';
  }
  if (e->device && e->device < 5) {
    n = snprintf(out + at, cap - at, ",\"device\":\"%s\"", dev[e->device]);
    if (n < 0 || at + (uint32_t)n >= cap) return 0;
    at += (uint32_t)n;
  }
  if (k) {
    n = snprintf(out + at, cap - at, ",\"k\":%u", k);
    if (n < 0 || at + (uint32_t)n >= cap) return 0;
    at += (uint32_t)n;
  }
  if (at + 2 > cap) return 0;
  out[at++] = '}';
  out[at] = 0;
  return at;
}


/* ---- shopper history across sessions ---------------------------------------- */
static const er_log *hist_log; /* qsort has no context argument; set only inside er_log_user_prev */
static int cmp_user_start(const void *a, const void *b) {
  const er_log_session *x = &hist_log->ses[*(const uint32_t *)a], *y = &hist_log->ses[*(const uint32_t *)b];
  if (x->user != y->user) return x->user < y->user ? -1 : 1;
  if (x->start_ms != y->start_ms) return x->start_ms < y->start_ms ? -1 : 1;
  return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

er_status er_log_user_prev(const er_log *L, uint32_t *prev, er_error *err) {
  uint32_t n = L->n_ses;
  uint32_t *ord = malloc(((size_t)n + 1) * sizeof *ord);
  if (!ord) return er_fail(err, ER_E_NOMEM, ER_NO_OFFSET, "out of memory ordering sessions by user");
  uint32_t m = 0;
  for (uint32_t s = 0; s < n; s++) {
    prev[s] = 0xFFFFFFFFu;
    if (L->ses[s].user) ord[m++] = s;
  }
  hist_log = L;
  qsort(ord, m, sizeof *ord, cmp_user_start);
  hist_log = NULL;
  /* within a user, by start: the latest earlier session that has ended before s starts (sessions
     cut at gaps never overlap; explicit session ids may, and then the overlapping one is skipped) */
  for (uint32_t k = 1; k < m; k++) {
    uint32_t s = ord[k];
    for (uint32_t j = k; j-- > 0;) {
      uint32_t t = ord[j];
      if (L->ses[t].user != L->ses[s].user) break;
      if (L->ses[t].end_ms < L->ses[s].start_ms) { prev[s] = t; break; }
      if (k - j > 8) break; /* a pathological pile of overlapping sessions: no history */
    }
  }
  free(ord);
  return ER_OK;
}

uint32_t er_log_history(const er_log *L, const uint32_t *prev, uint32_t s, uint32_t *out) {
  uint32_t n = 0, events = 0;
  uint64_t start = L->ses[s].start_ms, horizon = (uint64_t)ER_LOG_HISTORY_DAYS * 86400000u;
  for (uint32_t t = prev[s]; t != 0xFFFFFFFFu && n < ER_LOG_HISTORY_SESSIONS && events < ER_LOG_HISTORY_EVENTS; t = prev[t]) {
    if (start - L->ses[t].end_ms > horizon) break;
    out[n++] = t;
    events += L->ses[t].n;
  }
  for (uint32_t a = 0, b = n ? n - 1 : 0; a < b; a++, b--) { uint32_t x = out[a]; out[a] = out[b]; out[b] = x; }
  return n;
}

void er_log_apply_history(const er_log *L, const uint32_t *prev, uint32_t s, const er_bundle *b, er_profile *p) {
  uint32_t hs[ER_LOG_HISTORY_SESSIONS];
  uint32_t n = er_log_history(L, prev, s, hs);
  for (uint32_t k = 0; k < n; k++) {
    const er_log_session *S = &L->ses[hs[k]];
    for (uint32_t x = S->first; x < S->first + S->n; x++) {
      er_profile_delta d;
      er_log_delta(L, &L->ev[x], &d);
      er_engine_enrich_delta(b, &d);
      er_profile_apply(p, &d);
    }
  }
}
