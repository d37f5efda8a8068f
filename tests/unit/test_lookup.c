/* test_lookup.c — the bundle's sorted-table lookups (er_bundle_find_sku,
 * er_bundle_find_url, er_bundle_category_name) and the JSON fast paths
 * (er_json_str, er_json_skip, er_json_get, the validator's string skip).
 *
 * The lookups estimate a key's position from the key itself (the keys are
 * uniform hashes), check a window around it and fall back to a search of the
 * whole table.  These tests build bundles whose sku keys are chosen freely
 * (er_bw_*) — uniform, sequential from 0, clustered at either end, sharing
 * their top 32 bits, 0 and UINT64_MAX themselves — at sizes around every
 * window boundary, and compare every answer with the C library's bsearch:
 * present keys, their neighbours, the extremes and random misses.  The url
 * index (high key halves, checked against the url_key's own hash) is tested
 * with real url keys and with a record whose high half matches but whose
 * item is another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_bundle.h"
#include "er_features.h"
#include "er_json.h"
#include "er_pack.h"
#include "harness.h"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t rnd64(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Sort and drop duplicates; returns the new count. */
static uint32_t sort_unique(uint64_t *k, uint32_t n) {
  qsort(k, n, sizeof *k, cmp_u64);
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (!m || k[i] != k[m - 1]) k[m++] = k[i];
  return m;
}

/* A loadable linear bundle of n items whose sku index holds the sorted
 * keys k[0..n) (record r -> item perm(r), whose record holds k[r]), whose
 * items have url_keys "u0000007" (their index, 8 bytes after a 1-byte sku)
 * indexed by their real keys, and whose categories table holds the sorted
 * u32 keys c[0..nc) (record r -> name at string offset r).  *out is
 * malloc'd. */
static uint32_t perm(uint32_t r, uint32_t n) { /* a permutation of 0..n-1: the multiplier is coprime with n */
  return (uint32_t)(((uint64_t)r * (n % 7 ? 7 : 11) + 3) % n);
}
static uint64_t url_of(uint32_t item, char *s) { snprintf(s, 9, "u%07u", item); return er_key(s, 8); }
static int cmp_url(const void *a, const void *b) {
  uint64_t x = er_rd64((const uint8_t *)a), y = er_rd64((const uint8_t *)b);
  return x < y ? -1 : x > y;
}
static int build(const uint64_t *k, uint32_t n, const uint32_t *c, uint32_t nc, uint8_t **out, uint32_t *len) {
  er_error err;
  uint32_t nstr = 9 * n > nc ? 9 * n : nc;
  uint8_t *strings = calloc(nstr, 1), *items = calloc(n, ER_ITEM_BYTES), *index = calloc(n, 4), *cats = calloc(nc ? nc : 1, 12);
  uint8_t *uk = calloc(n, 12), *urls = calloc(n, 8);
  uint8_t model[ER_MODEL_BYTES] = {0}, *weights = calloc(1024, 1);
  memset(strings, 'x', nstr);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t *r = items + (size_t)perm(i, n) * ER_ITEM_BYTES;
    er_wr64(r, k[i]);
    er_wr32(r + 8, 9 * perm(i, n)); /* sku: one byte, then the url_key */
    r[12] = 1;
    r[13] = 8;
    er_wr32(r + 16, ER_NONE); /* no parent */
    er_wr32(index + 4 * (size_t)i, perm(i, n));
    char s[9];
    er_wr64(uk + 12 * (size_t)i, url_of(i, s));
    er_wr32(uk + 12 * (size_t)i + 8, i);
    memcpy(strings + 9 * (size_t)i + 1, s, 8);
  }
  qsort(uk, n, 12, cmp_url);
  for (uint32_t i = 0; i < n; i++) {
    er_wr32(urls + 8 * (size_t)i, (uint32_t)(er_rd64(uk + 12 * (size_t)i) >> 32));
    er_wr32(urls + 8 * (size_t)i + 4, er_rd32(uk + 12 * (size_t)i + 8));
  }
  for (uint32_t i = 0; i < nc; i++) {
    er_wr32(cats + 12 * (size_t)i, c[i]);
    er_wr32(cats + 12 * (size_t)i + 4, i);
    er_wr32(cats + 12 * (size_t)i + 8, 1);
  }
  model[0] = ER_MODEL_LINEAR;
  model[1] = 10;
  er_bw *w = er_bw_new();
  int ok = w && !er_bw_add(w, ER_SEC_STRINGS, strings, nstr, nstr, &err) &&
           !er_bw_add(w, ER_SEC_ITEMS, items, n * ER_ITEM_BYTES, n, &err) &&
           !er_bw_add(w, ER_SEC_SKU_INDEX, index, n * 4, n, &err) &&
           !er_bw_add(w, ER_SEC_URL_INDEX, urls, n * 8, n, &err) &&
           (!nc || !er_bw_add(w, ER_SEC_CATEGORIES, cats, nc * 12, nc, &err)) &&
           !er_bw_add(w, ER_SEC_MODEL, model, sizeof model, 1, &err) &&
           !er_bw_add(w, ER_SEC_LINEAR, weights, 1024, 1024, &err) &&
           !er_bw_finish(w, "lookup-test", 0, out, len, &err);
  er_bw_free(w);
  free(strings); free(items); free(index); free(cats); free(weights); free(uk); free(urls);
  return ok;
}

/* Reference answers: the C library's bsearch over the sorted key arrays. */
static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}
static uint32_t ref_find(const uint64_t *k, uint32_t n, uint64_t key) {
  const uint64_t *p = bsearch(&key, k, n, sizeof *k, cmp_u64);
  return p ? perm((uint32_t)(p - k), n) : ER_NONE;
}
static int32_t ref_cat(const uint32_t *c, uint32_t nc, uint32_t key) {
  const uint32_t *p = nc ? bsearch(&key, c, nc, sizeof *c, cmp_u32) : NULL;
  return p ? (int32_t)(p - c) : -1;
}

static unsigned lookups_ok, lookups_bad;
static void probe(const er_bundle *b, const uint64_t *k, uint32_t n, uint64_t key) {
  uint32_t want = ref_find(k, n, key);
  if (er_bundle_find_sku(b, key) == want) lookups_ok++;
  else if (lookups_bad++ < 10)
    printf("lookup of %016llx among %u keys: got %u, want %u\n", (unsigned long long)key, n, er_bundle_find_sku(b, key), want);
}
static void probe_cat(const er_bundle *b, const uint32_t *c, uint32_t nc, uint32_t key) {
  uint32_t len = 77;
  const char *name = er_bundle_category_name(b, key, &len);
  int32_t want = ref_cat(c, nc, key);
  const char *pool = (const char *)b->sec[ER_SEC_STRINGS].p;
  int good = want < 0 ? (name == NULL && len == 0) : (name == pool + want && len == 1);
  if (good) lookups_ok++;
  else if (lookups_bad++ < 10) printf("category %08x among %u: got %p/%u, want record %d\n", key, nc, (const void *)name, len, want);
}

/* One table: every key, its neighbours, the extremes, random misses. */
static void check_table(uint64_t *k, uint32_t n, const char *what) {
  n = sort_unique(k, n);
  uint32_t *c = malloc(sizeof(uint32_t) * (n ? n : 1)), nc = 0;
  for (uint32_t i = 0; i < n; i++) { /* u32 keys of the same shape: the low or the high half */
    uint64_t v = k[i] >> 32 ? k[i] >> 32 : k[i];
    if (!nc || (uint32_t)v > c[nc - 1]) c[nc++] = (uint32_t)v;
  }
  uint8_t *buf = NULL;
  uint32_t len = 0;
  er_bundle b;
  er_error err;
  int built = n && build(k, n, c, nc, &buf, &len);
  CHECK(built);
  if (!built) { printf("  (%s, %u keys)\n", what, n); free(c); return; }
  er_status st = er_bundle_load(&b, buf, len, &err);
  CHECK_EQ_INT(st, ER_OK);
  if (st) { printf("  (%s: %s)\n", what, err.msg); free(buf); free(c); return; }
  unsigned bad0 = lookups_bad;
  for (uint32_t i = 0; i < n; i++) {
    probe(&b, k, n, k[i]);
    probe(&b, k, n, k[i] - 1);
    probe(&b, k, n, k[i] + 1);
  }
  uint64_t ext[] = {0, 1, 2, UINT64_MAX, UINT64_MAX - 1, 1ull << 63, (1ull << 63) - 1, 0xFFFFFFFFull, 1ull << 32};
  for (unsigned e = 0; e < sizeof ext / sizeof ext[0]; e++) probe(&b, k, n, ext[e]);
  for (int r = 0; r < 200; r++) probe(&b, k, n, rnd64());
  for (uint32_t i = 0; i < n; i++) { /* every url_key, and its key with the low half changed */
    char s[9];
    uint64_t key = url_of(i, s);
    if (er_bundle_find_url(&b, key) == i && er_bundle_find_url(&b, key ^ 1) == ER_NONE) lookups_ok++;
    else if (lookups_bad++ < 10) printf("url lookup of item %u among %u failed\n", i, n);
  }
  for (uint32_t i = 0; i < nc; i++) {
    probe_cat(&b, c, nc, c[i]);
    probe_cat(&b, c, nc, c[i] - 1);
    probe_cat(&b, c, nc, c[i] + 1);
  }
  uint32_t cext[] = {0, 1, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u};
  for (unsigned e = 0; e < sizeof cext / sizeof cext[0]; e++) probe_cat(&b, c, nc, cext[e]);
  for (int r = 0; r < 100; r++) probe_cat(&b, c, nc, (uint32_t)rnd64());
  if (lookups_bad != bad0) printf("  (in table '%s' of %u keys)\n", what, n);
  CHECK(lookups_bad == bad0);
  free(buf);
  free(c);
}

/* ---- lookups --------------------------------------------------------------- */

/* Sizes around the window boundaries (the window is 2 * 2^(bits/2) records
 * and is used only when smaller than the table). */
static const uint32_t SIZES[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
                                 255, 256, 257, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 20000};

static void test_lookup_uniform(void) {
  for (unsigned s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
    uint32_t n = SIZES[s];
    uint64_t *k = malloc(8 * (size_t)n);
    for (uint32_t i = 0; i < n; i++) k[i] = rnd64();
    check_table(k, n, "uniform");
    free(k);
  }
}

static void test_lookup_skewed(void) {
  for (unsigned s = 0; s < sizeof SIZES / sizeof SIZES[0]; s++) {
    uint32_t n = SIZES[s];
    uint64_t *k = malloc(8 * (size_t)n);
    for (int shape = 0; shape < 8; shape++) {
      for (uint32_t i = 0; i < n; i++) {
        switch (shape) {
        case 0: k[i] = i; break;                                         /* 0, 1, 2, ...: all in the first window */
        case 1: k[i] = UINT64_MAX - i; break;                            /* packed at the top                      */
        case 2: k[i] = 0x123456789ull << 20 | (rnd64() & 0xFFFFF); break; /* one shared top half                   */
        case 3: k[i] = (i & 1 ? UINT64_MAX - (rnd64() >> 40) : rnd64() >> 40); break; /* two clusters at the ends */
        case 4: k[i] = (uint64_t)i << 40; break;                         /* evenly spaced, low end                 */
        case 5: k[i] = i < n / 2 ? rnd64() >> 8 : rnd64(); break;         /* dense low, sparse high                 */
        case 6: k[i] = rnd64() | (i == 0 ? 0 : 1); break;                 /* uniform, then 0 and max added below    */
        default: k[i] = (uint64_t)i * i * i * i * 2654435761u; break;    /* polynomial growth                      */
        }
      }
      if (shape == 6 && n >= 2) { k[0] = 0; k[1] = UINT64_MAX; }
      check_table(k, n, "skewed");
    }
    free(k);
  }
}

static void test_lookup_totals(void) {
  CHECK(lookups_ok > 100000);
  CHECK_EQ_INT(lookups_bad, 0);
}

/* An absent optional index (no url_index, no categories) finds nothing. */
static void test_lookup_absent_sections(void) {
  uint64_t k[3] = {5, 9, 77};
  uint8_t *buf = NULL;
  uint32_t len = 0, nl = 9;
  er_bundle b;
  er_error err;
  CHECK(build(k, 3, NULL, 0, &buf, &len));
  CHECK_EQ_INT(er_bundle_load(&b, buf, len, &err), ER_OK);
  CHECK_EQ_INT(er_bundle_find_sku(&b, 9), perm(1, 3));
  CHECK(er_bundle_category_name(&b, 0, &nl) == NULL && nl == 0);
  char s[9];
  uint64_t u2 = url_of(2, s);
  CHECK_EQ_INT(er_bundle_find_url(&b, u2), 2);
  b.sec[ER_SEC_URL_INDEX].count = 0; /* as when the section is missing */
  CHECK_EQ_INT(er_bundle_find_url(&b, u2), ER_NONE);
  free(buf);
}

/* A url_index record whose high half matches but whose item's url_key is
 * another: the lookup checks the full key and goes on to the next record. */
static void test_url_high_half_shared(void) {
  uint64_t k[3] = {5, 9, 77};
  uint8_t *buf = NULL;
  uint32_t len = 0;
  er_bundle b;
  er_error err;
  CHECK(build(k, 3, NULL, 0, &buf, &len));
  CHECK_EQ_INT(er_bundle_load(&b, buf, len, &err), ER_OK);
  /* the last record's item; the record before it takes its high half and names another item */
  uint8_t *r = buf + (b.sec[ER_SEC_URL_INDEX].p - buf) + 8;
  uint32_t item = er_rd32(r + 8 + 4), wrong = er_rd32(r + 4);
  char s[9];
  uint64_t key = url_of(item, s), wkey = url_of(wrong, s);
  CHECK_EQ_INT(er_bundle_find_url(&b, wkey), wrong);
  er_wr32(r, (uint32_t)(key >> 32));
  er_wr64(buf + 8, er_xxh64(buf + 16, len - 16, 0));
  CHECK_EQ_INT(er_bundle_load(&b, buf, len, &err), ER_OK);
  CHECK_EQ_INT(er_bundle_find_url(&b, key), item);
  CHECK_EQ_INT(er_bundle_find_url(&b, key ^ 2), ER_NONE);
  CHECK_EQ_INT(er_bundle_find_url(&b, wkey), ER_NONE); /* its record's high half is no longer its own */
  /* a record naming an item without a url_key is refused */
  er_wr32(r + 4, 0);
  uint8_t *items = buf + (b.sec[ER_SEC_ITEMS].p - buf);
  items[13] = 0;
  er_wr64(buf + 8, er_xxh64(buf + 16, len - 16, 0));
  CHECK_EQ_INT(er_bundle_load(&b, buf, len, &err), ER_E_BUNDLE_CORRUPT);
  free(buf);
}

/* ---- JSON fast paths ---------------------------------------------------------- */

static jsmntok_t toks[256];
static int parse(er_json *j, const char *s) {
  er_error err;
  return er_json_parse(j, s, (uint32_t)strlen(s), toks, 256, "t", &err) == ER_OK;
}

/* er_json_str: plain strings are copied whole; when the result does not fit,
 * exactly the bytes that fit are written (an escape all or nothing). */
static void test_json_str(void) {
  er_json j;
  char out[64];
  CHECK(parse(&j, "[\"\", \"abcdefghijklmnopqrstuvwxyz0123\", \"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\", \"\\u00e9\"]"));
  CHECK_EQ_INT(er_json_str(&j, 1, out, 0), 0);
  CHECK_EQ_INT(er_json_str(&j, 1, NULL, 0), 0);
  CHECK_EQ_INT(er_json_str(&j, 2, out, 64), 30);
  CHECK(!memcmp(out, "abcdefghijklmnopqrstuvwxyz0123", 30));
  CHECK_EQ_INT(er_json_str(&j, 2, out, 30), 30);
  memset(out, '.', sizeof out);
  CHECK_EQ_INT(er_json_str(&j, 2, out, 29), -1);
  CHECK(!memcmp(out, "abcdefghijklmnopqrstuvwxyz012.", 30)); /* 29 bytes written, not 30 */
  memset(out, '.', sizeof out);
  CHECK_EQ_INT(er_json_str(&j, 2, out, 9), -1);
  CHECK(!memcmp(out, "abcdefghi.", 10));
  CHECK_EQ_INT(er_json_str(&j, 2, NULL, 0), -1);
  /* escapes: a"b\c é 😀 \n = 1+1+1+1+1+2+4+1 = 12 bytes */
  CHECK_EQ_INT(er_json_str(&j, 3, out, 64), 12);
  CHECK(!memcmp(out, "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80\n", 12));
  memset(out, '.', sizeof out);
  CHECK_EQ_INT(er_json_str(&j, 3, out, 6), -1); /* é does not fit: not started */
  CHECK(!memcmp(out, "a\"b\\c.", 6));
  memset(out, '.', sizeof out);
  CHECK_EQ_INT(er_json_str(&j, 3, out, 10), -1); /* the emoji does not fit */
  CHECK(!memcmp(out, "a\"b\\c\xc3\xa9...", 10));
  CHECK_EQ_INT(er_json_str(&j, 3, out, 11), -1);
  CHECK_EQ_INT(er_json_str(&j, 4, out, 1), -1);
  CHECK_EQ_INT(er_json_str(&j, 4, out, 2), 2);
  CHECK_EQ_INT(er_json_str(&j, 0, out, 64), -1); /* not a string */
}

/* er_json_skip / er_json_get against a plain token walk. */
static uint32_t walk_skip(const er_json *j, uint32_t i) {
  int end = j->tok[i].end;
  for (i++; i < j->ntok && j->tok[i].start < end; i++) continue;
  return i;
}
static void test_json_skip_get(void) {
  er_json j;
  const char *doc = "{\"a\":1,\"b\":{\"c\":[1,2,[3,[4,{}]],\"x\"],\"d\":{}},\"e\":[],\"ab\":\"v\",\"a\\u0062\":2,"
                    "\"long\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33],\"z\":null}";
  CHECK(parse(&j, doc));
  for (uint32_t i = 0; i < j.ntok; i++) CHECK_EQ_INT(er_json_skip(&j, i), walk_skip(&j, i));
  CHECK_EQ_INT(er_json_skip(&j, 0), j.ntok);
  CHECK_EQ_INT(er_json_get(&j, 0, "a"), 2);
  CHECK(er_json_get(&j, 0, "ab") > 0 && er_json_eq(&j, (uint32_t)er_json_get(&j, 0, "ab"), "v"));
  CHECK(er_json_get(&j, 0, "z") > 0 && er_json_is_null(&j, (uint32_t)er_json_get(&j, 0, "z")));
  CHECK_EQ_INT(er_json_get(&j, 0, "c"), -1); /* nested keys are not the object's */
  CHECK_EQ_INT(er_json_get(&j, 0, ""), -1);
  CHECK_EQ_INT(er_json_get(&j, 1, "a"), -1); /* not an object */
  /* keys compare raw: "a\u0062" is not "ab" (first match wins) */
  CHECK(er_json_get(&j, 0, "a\\u0062") > er_json_get(&j, 0, "ab"));
  CHECK(parse(&j, "7"));
  CHECK_EQ_INT(er_json_skip(&j, 0), 1);
}

/* The validator's string skip: every byte class at every position in and
 * around 8-byte words, including the input ending inside a word. */
static int valid(const char *s, uint32_t n, er_error *e) { return er_json_validate(s, n, 64, "t", e, NULL) == ER_OK; }
static void test_json_string_scan(void) {
  static const struct { const char *bytes; int ok; const char *why; } CASES[] = {
      {"\"", 1, NULL},         {"\\\\", 1, NULL},       {"\\u00e9", 1, NULL}, {"\xc3\xa9", 1, NULL},
      {"\x7f", 1, NULL},       {"\xf0\x9f\x98\x80", 1, NULL},
      {"\x01", 0, "control character in string"},    {"\x1f", 0, "control character in string"},
      {"\x80", 0, "invalid UTF-8"},                  {"\xff", 0, "invalid UTF-8"},
      {"\xc3", 0, "invalid UTF-8"},                  {"\\x", 0, "bad escape"},
      {"\\ud800", 0, "unpaired surrogate escape"},   {"\xed\xa0\x80", 0, "invalid UTF-8"},
  };
  char doc[64], want[160];
  er_error e;
  for (unsigned c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
    size_t bl = strlen(CASES[c].bytes);
    for (uint32_t pos = 0; pos < 20; pos++) {
      /* "<pos plain bytes><case bytes><plain>"; for the quote case the string ends there */
      uint32_t n = 0;
      doc[n++] = '"';
      for (uint32_t k = 0; k < pos; k++) doc[n++] = (char)('a' + k % 26);
      memcpy(doc + n, CASES[c].bytes, bl);
      n += (uint32_t)bl;
      if (CASES[c].bytes[0] != '"') { memcpy(doc + n, "tail\"", 5); n += 5; }
      int got = valid(doc, n, &e);
      CHECK_EQ_INT(got, CASES[c].ok);
      if (!CASES[c].ok) {
        snprintf(want, sizeof want, "t: %s at byte %u", CASES[c].why, 1 + pos);
        CHECK_EQ_STR(e.msg, want);
        CHECK_EQ_INT(e.offset, 1 + pos);
      }
      /* the same text cut short anywhere inside the string: truncated, or the bad byte first */
      for (uint32_t cut = 1; cut < n; cut++) {
        CHECK(!valid(doc, cut, &e));
        CHECK(e.code == ER_E_JSON && e.offset <= cut);
      }
    }
  }
  /* long plain runs of every length end exactly at the quote */
  char big[300];
  for (uint32_t l = 0; l < 290; l++) {
    big[0] = '"';
    for (uint32_t k = 0; k < l; k++) {
      char ch = (char)(0x20 + (k * 7) % 95); /* printable ASCII, all of it */
      big[1 + k] = ch == '"' || ch == '\\' ? 'x' : ch;
    }
    big[1 + l] = '"';
    uint32_t nt = 0;
    CHECK(er_json_validate(big, l + 2, 64, "t", &e, &nt) == ER_OK && nt == 1);
    CHECK(!valid(big, l + 1, &e) && e.offset == l + 1);
  }
}

int main(void) {
  RUN(test_lookup_uniform);
  RUN(test_lookup_skewed);
  RUN(test_lookup_absent_sections);
  RUN(test_url_high_half_shared);
  RUN(test_lookup_totals);
  RUN(test_json_str);
  RUN(test_json_skip_get);
  RUN(test_json_string_scan);
  return DONE();
}
