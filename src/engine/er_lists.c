/* er_lists.c — live popularity lists: JSON → per-kind (item, u16 score)
 * arrays against a bundle (er_lists.h; docs/units.md "Live lists").  No
 * allocation (caller tokens and output), no recursion. */
#include "er_lists.h"

#include <float.h>
#include <string.h>

static const char *const kind_names[ER_LIST_KINDS + 1] = {NULL, "most-viewed", "most-purchased", "most-added-to-cart",
                                                          "trending"};

const char *er_list_kind_name(uint32_t kind) { return kind >= 1 && kind <= ER_LIST_KINDS ? kind_names[kind] : NULL; }

/* The list kind a key token names (escapes resolved), or 0. */
static uint32_t kind_of(const er_json *j, uint32_t i) {
  char buf[24];
  int32_t n = er_json_str(j, i, buf, sizeof buf);
  for (uint32_t k = 1; n > 0 && k <= ER_LIST_KINDS; k++)
    if (strlen(kind_names[k]) == (size_t)n && !memcmp(kind_names[k], buf, (size_t)n)) return k;
  return 0;
}

static uint32_t at(const er_json *j, uint32_t i) { return (uint32_t)er_json_offset(j, i); }

/* A validated number token as a double, from its digits and exponent (to
 * about 1e-15 relative: enough to order and scale scores; no libc strtod in
 * the reactor).  0: ok; 1: negative (not -0); 2: too large to be finite. */
static int score_of(const er_json *j, uint32_t t, double *out) {
  const char *s = j->js + j->tok[t].start, *e = j->js + j->tok[t].end;
  int neg = *s == '-', seen_dot = 0, sig = 0;
  double m = 0;
  int64_t exp10 = 0;
  if (neg) s++;
  for (; s < e && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') { seen_dot = 1; continue; }
    int d = *s - '0';
    if (sig < 19) { /* significant digits kept; later ones only move the point */
      m = m * 10 + d;
      if (m > 0) sig++;
      if (seen_dot) exp10--;
    } else if (!seen_dot) exp10++;
  }
  if (s < e) { /* exponent: the validator guarantees digits follow */
    int eneg = 0;
    int64_t x = 0;
    s++;
    if (*s == '+' || *s == '-') eneg = *s++ == '-';
    for (; s < e; s++) if (x < 100000) x = x * 10 + (*s - '0');
    exp10 += eneg ? -x : x;
  }
  *out = 0;
  if (m == 0) return 0; /* zero, whatever its sign or exponent */
  if (neg) return 1;
  if (exp10 > 400) return 2;
  if (exp10 < -400) return 0;
  double p = 1, base = 10;
  for (uint64_t x = (uint64_t)(exp10 < 0 ? -exp10 : exp10); x; x >>= 1, base *= base)
    if (x & 1) p *= base;
  double v = exp10 < 0 ? m / p : m * p;
  if (!(v <= DBL_MAX)) return 2;
  *out = v;
  return 0;
}

/* Error helpers: every message names the list, and the entry when there is one. */
#define LIST_ERR(code, tk, fmt, ...) \
  er_fail(err, code, at(j, tk), "lists: '%s' " fmt " (byte %u)", kind_names[kind], __VA_ARGS__, at(j, tk))
#define ENTRY_ERR(code, tk, fmt, ...) \
  er_fail(err, code, at(j, tk), "lists: '%s'[%u] " fmt " (byte %u)", kind_names[kind], k, __VA_ARGS__, at(j, tk))

/* One list (array token t) into out->e[kind]; scores scaled to its maximum.
 * score[] is scratch for ER_MAX_LIST_ENTRIES doubles. */
static er_status parse_list(er_live_lists *out, const er_bundle *b, const er_json *j, uint32_t t, uint32_t kind,
                            double *score, uint64_t *units, er_error *err) {
  if (!er_json_is(j, t, JSMN_ARRAY))
    return LIST_ERR(ER_E_TYPE, t, "must be an array of [sku, score] pairs (or null: the bundle's list), got %s",
                    er_json_type_name(j, t));
  uint32_t size = (uint32_t)j->tok[t].size;
  if (size > ER_MAX_LIST_ENTRIES)
    return LIST_ERR(ER_E_LIMIT, t, "has %u entries, more than the limit of %u", size, ER_MAX_LIST_ENTRIES);
  /* items already in the list: open addressing over 1024 slots (> 2 × 500) */
  uint32_t seen[1024];
  memset(seen, 0xFF, sizeof seen);
  er_live_entry *le = out->e[kind];
  uint32_t n = 0, skipped = 0, i = t + 1;
  double max = 0;
  for (uint32_t k = 0; k < size; k++, i = er_json_skip(j, i)) {
    *units += 4;
    if (!er_json_is(j, i, JSMN_ARRAY) || j->tok[i].size != 2)
      return ENTRY_ERR(er_json_is(j, i, JSMN_ARRAY) ? ER_E_SHAPE : ER_E_TYPE, i, "must be a [sku, score] pair, got %s",
                       er_json_is(j, i, JSMN_ARRAY) ? "an array of another length" : er_json_type_name(j, i));
    uint32_t ts = i + 1, tv = er_json_skip(j, ts);
    char sku[ER_MAX_SKU_BYTES];
    int32_t sl = er_json_is(j, ts, JSMN_STRING) ? er_json_str(j, ts, sku, sizeof sku) : -1;
    if (!er_json_is(j, ts, JSMN_STRING))
      return ENTRY_ERR(ER_E_TYPE, ts, "sku must be a string, got %s", er_json_type_name(j, ts));
    if (sl <= 0) return ENTRY_ERR(ER_E_RANGE, ts, "sku must be 1..%u bytes", ER_MAX_SKU_BYTES);
    if (!er_json_is_number(j, tv))
      return ENTRY_ERR(ER_E_TYPE, tv, "score must be a number, got %s", er_json_type_name(j, tv));
    double v;
    int bad = score_of(j, tv, &v);
    if (bad) {
      int tl = j->tok[tv].end - j->tok[tv].start;
      return ENTRY_ERR(ER_E_RANGE, tv, "score must be a finite number >= 0, got %.*s%s", tl > 32 ? 32 : tl,
                       j->js + j->tok[tv].start, tl > 32 ? "..." : "");
    }
    uint32_t it = er_bundle_find_sku(b, er_key(sku, (size_t)sl));
    if (it == ER_NONE) { skipped++; continue; } /* not in this bundle's catalog */
    uint32_t h = (it * 2654435761u) & 1023u;
    while (seen[h] != ER_NONE && seen[h] != it) h = (h + 1) & 1023u;
    if (seen[h] == it) { skipped++; continue; } /* a repeat: the first one counts */
    seen[h] = it;
    /* insertion by score, highest first; equal scores keep their order */
    uint32_t p = n;
    while (p > 0 && score[p - 1] < v) { score[p] = score[p - 1]; le[p] = le[p - 1]; p--; }
    *units += n - p;
    score[p] = v;
    le[p] = (er_live_entry){it, 0, 0};
    if (v > max) max = v;
    n++;
  }
  for (uint32_t k = 0; k < n; k++) le[k].score = max > 0 ? (uint16_t)(score[k] / max * 65535.0 + 0.5) : 0;
  out->given[kind] = 1;
  out->n[kind] = n;
  out->skipped[kind] = skipped;
  return ER_OK;
}

er_status er_lists_parse(er_live_lists *out, const er_bundle *b, const char *js, uint32_t len, jsmntok_t *tok,
                         uint32_t cap, uint64_t *units, er_error *err) {
  if (!out || !b || !tok || !units || (!js && len)) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "lists: NULL argument");
  memset(out->given, 0, sizeof out->given);
  memset(out->n, 0, sizeof out->n);
  memset(out->skipped, 0, sizeof out->skipped);
  if (len > ER_MAX_LISTS_BYTES)
    return er_fail(err, ER_E_LIMIT, ER_MAX_LISTS_BYTES, "lists: %u bytes, more than the limit of %u", len, ER_MAX_LISTS_BYTES);
  *units += len / 16;
  er_json jj;
  const er_json *j = &jj;
  er_status st = er_json_parse(&jj, js ? js : "", len, tok, cap, "lists", err);
  if (st) return st;
  if (er_json_is_null(j, 0)) return ER_OK;
  if (!er_json_is(j, 0, JSMN_OBJECT))
    return er_fail(err, ER_E_TYPE, at(j, 0),
                   "lists: must be a JSON object of lists (most-viewed, most-purchased, most-added-to-cart, trending), "
                   "got %s (byte %u)", er_json_type_name(j, 0), at(j, 0));
  /* keys first: a kind given twice is an error, unknown keys are ignored */
  int32_t val[ER_LIST_KINDS + 1] = {-1, -1, -1, -1, -1};
  uint32_t i = 1;
  for (int k = 0; k < j->tok[0].size; k++, i = er_json_skip(j, i + 1)) {
    uint32_t kind = kind_of(j, i);
    if (!kind) continue;
    if (val[kind] >= 0)
      return er_fail(err, ER_E_JSON, at(j, i), "lists: duplicate key '%s' at byte %u", kind_names[kind], at(j, i));
    val[kind] = (int32_t)(i + 1);
  }
  double score[ER_MAX_LIST_ENTRIES];
  for (uint32_t kind = 1; kind <= ER_LIST_KINDS; kind++) {
    if (val[kind] < 0 || er_json_is_null(j, (uint32_t)val[kind])) continue; /* the bundle's list */
    if ((st = parse_list(out, b, j, (uint32_t)val[kind], kind, score, units, err))) return st;
  }
  return ER_OK;
}

int er_lists_any(const er_live_lists *l) {
  for (uint32_t k = 1; l && k <= ER_LIST_KINDS; k++)
    if (l->given[k]) return 1;
  return 0;
}

void er_lists_summary(const er_live_lists *l, er_buf *o) {
  if (!er_lists_any(l)) { er_buf_lit(o, "null"); return; }
  const char *sep = "{";
  for (uint32_t k = 1; k <= ER_LIST_KINDS; k++) {
    if (!l->given[k]) continue;
    er_buf_lit(o, sep);
    er_buf_jstr(o, kind_names[k], (uint32_t)strlen(kind_names[k]));
    er_buf_put(o, ":", 1);
    er_buf_int(o, l->n[k]);
    sep = ",";
  }
  er_buf_put(o, "}", 1);
}
