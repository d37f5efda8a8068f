/* test_profile.c — the binary profile: codec round trip and size, every
 * decode rejection, the decay arithmetic (checked by hand), the update rule
 * (move-to-front, eviction, affinities, price mean, feedback) and the JSON
 * view. */
#include <stdio.h>
#include <string.h>

#include "er_profile.h"
#include "harness.h"

#define HL ER_AFFINITY_HALF_LIFE
#define T0 1700000000u

static er_profile_delta delta(er_event_type type, uint32_t ts, uint64_t sku, uint32_t price, int rating, uint32_t cat) {
  er_profile_delta d;
  memset(&d, 0, sizeof d);
  d.type = type;
  d.ts = ts;
  d.sku_key = sku;
  d.price_cents = price;
  d.rating = rating;
  if (cat) d.cat_keys[d.n_cats++] = cat;
  return d;
}

static void apply(er_profile *p, er_event_type type, uint32_t ts, uint64_t sku, uint32_t price, int rating, uint32_t cat) {
  er_profile_delta d = delta(type, ts, sku, price, rating, cat);
  er_profile_apply(p, &d);
}

/* Recompute the trailing check of a hand-edited blob. */
static void reseal(uint8_t *b, uint32_t n) { er_wr32(b + n - 4, (uint32_t)er_xxh64(b, n - 4, 0)); }

/* A profile with 3 items, 2 categories and price stats. */
static void sample(er_profile *p) {
  er_profile_init(p);
  apply(p, ER_EV_VIEW, T0, 0x1111, 1000, 0, 0xC0FFEE);
  apply(p, ER_EV_CART, T0, 0x2222, 2000, 0, 0xBEEF);
  apply(p, ER_EV_PURCHASE, T0, 0x3333, 0, 0, 0xBEEF);
}

static uint32_t encode_sample(uint8_t *b) {
  er_profile p;
  sample(&p);
  return er_profile_encode(&p, b, ER_PROFILE_MAX_BYTES);
}

/* Field-by-field equality (struct padding is not compared). */
static int same(const er_profile *a, const er_profile *b) {
  if (a->updated != b->updated || a->n_events != b->n_events || a->price_n != b->price_n ||
      a->price_mean != b->price_mean || a->price_min != b->price_min || a->price_max != b->price_max ||
      a->n_items != b->n_items || a->n_cats != b->n_cats || a->n_items > ER_PROFILE_MAX_ITEMS ||
      a->n_cats > ER_PROFILE_MAX_CATS)
    return 0;
  for (uint32_t k = 0; k < a->n_items; k++) {
    const er_profile_item *x = &a->items[k], *y = &b->items[k];
    if (x->sku_key != y->sku_key || x->ts != y->ts || x->types != y->types || x->count != y->count) return 0;
  }
  for (uint32_t k = 0; k < a->n_cats; k++)
    if (a->cats[k].key != b->cats[k].key || a->cats[k].affinity != b->cats[k].affinity) return 0;
  return 1;
}

static int is_empty(const er_profile *p) {
  er_profile e;
  er_profile_init(&e);
  return same(p, &e);
}

/* ---- codec ----------------------------------------------------------------- */

static void test_empty(void) {
  er_profile p;
  er_error err;
  er_error_clear(&err);
  memset(&p, 0xAB, sizeof p);
  CHECK_EQ_INT(er_profile_decode(&p, NULL, 0, &err), ER_OK);
  CHECK(is_empty(&p));
  uint8_t b[ER_PROFILE_MAX_BYTES];
  uint32_t n = er_profile_encode(&p, b, sizeof b);
  CHECK_EQ_INT(n, ER_PROFILE_HEADER + 4);
  CHECK(b[0] == 'E' && b[1] == 'P' && b[2] == 1 && b[3] == 0);
  er_profile q;
  CHECK_EQ_INT(er_profile_decode(&q, b, n, &err), ER_OK);
  CHECK(is_empty(&q));
  CHECK_EQ_INT(er_profile_affinity(&q, 1234), 0);
}

static void test_roundtrip(void) {
  er_profile p, q;
  er_error err;
  er_error_clear(&err);
  sample(&p);
  uint8_t a[ER_PROFILE_MAX_BYTES], b[ER_PROFILE_MAX_BYTES];
  uint32_t n = er_profile_encode(&p, a, sizeof a);
  CHECK_EQ_INT(n, ER_PROFILE_HEADER + 3 * 16 + 2 * 8 + 4);
  CHECK_EQ_INT(er_profile_decode(&q, a, n, &err), ER_OK);
  CHECK(same(&p, &q));
  CHECK_EQ_INT(q.n_items, 3);
  CHECK_EQ_INT(q.items[0].sku_key, 0x3333);
  CHECK_EQ_INT(q.items[0].types, ER_SEEN_PURCHASE);
  CHECK_EQ_INT(q.n_cats, 2);
  CHECK_EQ_INT(q.cats[0].key, 0xBEEF);
  CHECK_EQ_INT(q.cats[0].affinity, 768 + 1280);
  CHECK_EQ_INT(q.n_events, 3);
  CHECK_EQ_INT(q.updated, T0);
  CHECK_EQ_INT(er_profile_encode(&q, b, sizeof b), n);
  CHECK(!memcmp(a, b, n));
  /* the documented little-endian layout */
  CHECK_EQ_INT(er_rd32(a + 4), T0);
  CHECK_EQ_INT(er_rd32(a + 8), 3);
  CHECK_EQ_INT(er_rd16(a + 12), 2);
  CHECK_EQ_INT(a[14], 3);
  CHECK_EQ_INT(a[15], 2);
  CHECK_EQ_INT(er_rd32(a + 16), 1500);
  CHECK_EQ_INT(er_rd32(a + 20), 1000);
  CHECK_EQ_INT(er_rd32(a + 24), 2000);
  CHECK_EQ_INT(er_rd32(a + 28), 0);
  CHECK_EQ_INT(er_rd64(a + 32), 0x3333);
  CHECK_EQ_INT(er_rd32(a + 40), T0);
  CHECK_EQ_INT(a[44], ER_SEEN_PURCHASE);
  CHECK_EQ_INT(a[45], 1);
  CHECK_EQ_INT(er_rd16(a + 46), 0);
  CHECK_EQ_INT(er_rd32(a + 80), 0xBEEF);
  CHECK_EQ_INT(er_rd16(a + 84), 2048);
  CHECK_EQ_INT(er_rd32(a + n - 4), (uint32_t)er_xxh64(a, n - 4, 0));
  /* too small an output buffer */
  CHECK_EQ_INT(er_profile_encode(&p, a, n - 1), 0);
  CHECK_EQ_INT(er_profile_encode(&p, a, n), n);
}

static void test_capacity_size(void) {
  er_profile p;
  er_profile_init(&p);
  for (uint32_t k = 0; k < 40; k++) apply(&p, ER_EV_VIEW, T0 + k, 1000 + k, 100 + k, 0, 500 + k);
  CHECK_EQ_INT(p.n_items, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.n_cats, ER_PROFILE_MAX_CATS);
  uint8_t b[ER_PROFILE_MAX_BYTES + 16];
  uint32_t n = er_profile_encode(&p, b, sizeof b);
  CHECK_EQ_INT(n, ER_PROFILE_MAX_BYTES);
  CHECK(n <= 1024);
  CHECK_EQ_INT(ER_PROFILE_MAX_BYTES, 32 + 24 * 16 + 16 * 8 + 4);
  er_profile q;
  er_error err;
  er_error_clear(&err);
  CHECK_EQ_INT(er_profile_decode(&q, b, n, &err), ER_OK);
  CHECK(same(&p, &q));
  /* an invalid in-memory profile is not encoded (so every blob decodes) */
  er_profile bad = p;
  bad.items[3].sku_key = 0;
  CHECK_EQ_INT(er_profile_encode(&bad, b, sizeof b), 0);
  bad = p;
  bad.n_items = ER_PROFILE_MAX_ITEMS + 1;
  CHECK_EQ_INT(er_profile_encode(&bad, b, sizeof b), 0);
  bad = p;
  bad.cats[0].affinity = 1; /* out of order */
  CHECK_EQ_INT(er_profile_encode(&bad, b, sizeof b), 0);
}

/* decode must fail with ER_E_PROFILE at `off`, the message naming that byte
 * and containing `what`, and leave the profile empty */
#define EXPECT_REJECT(buf, len, off, what)                                                      \
  do {                                                                                           \
    er_profile q_;                                                                               \
    er_error e_;                                                                                 \
    char byte_[32];                                                                              \
    er_error_clear(&e_);                                                                         \
    memset(&q_, 0x5A, sizeof q_);                                                                \
    CHECK_EQ_INT(er_profile_decode(&q_, (buf), (len), &e_), ER_E_PROFILE);                       \
    CHECK_EQ_INT(e_.code, ER_E_PROFILE);                                                         \
    CHECK_EQ_INT(e_.offset, (off));                                                              \
    snprintf(byte_, sizeof byte_, "byte %u", (unsigned)(off));                                   \
    CHECK(strstr(e_.msg, byte_) != NULL);                                                        \
    CHECK(strstr(e_.msg, (what)) != NULL);                                                       \
    CHECK(is_empty(&q_));                                                                        \
    if (!strstr(e_.msg, (what))) printf("    message: %s\n", e_.msg);                            \
  } while (0)

static void test_decode_rejects(void) {
  uint8_t good[ER_PROFILE_MAX_BYTES + 8], b[ER_PROFILE_MAX_BYTES + 8];
  uint32_t n = encode_sample(good);
  const uint32_t cats = ER_PROFILE_HEADER + 3 * 16;
  CHECK(n > 0);

  memcpy(b, good, n); b[0] = 'X';
  EXPECT_REJECT(b, n, 0, "bad magic");
  memcpy(b, good, n); b[1] = 'Q';
  EXPECT_REJECT(b, n, 0, "bad magic");
  EXPECT_REJECT(good, 1, 0, "bad magic");
  memcpy(b, good, n); b[2] = 2; reseal(b, n);
  EXPECT_REJECT(b, n, 2, "unsupported version 2");
  memcpy(b, good, n); b[2] = 0; reseal(b, n);
  EXPECT_REJECT(b, n, 2, "unsupported version 0");
  EXPECT_REJECT(good, 2, 2, "truncated");
  EXPECT_REJECT(good, 20, 20, "truncated");
  EXPECT_REJECT(good, ER_PROFILE_HEADER - 1, ER_PROFILE_HEADER - 1, "truncated");
  /* length: header says 3 items + 2 cats */
  EXPECT_REJECT(good, n - 1, n - 1, "expected exactly");
  EXPECT_REJECT(good, ER_PROFILE_HEADER, ER_PROFILE_HEADER, "truncated");
  memcpy(b, good, n); b[n] = 0;
  EXPECT_REJECT(b, n + 1, n, "trailing data");
  memcpy(b, good, n); b[14] = 2; reseal(b, n);
  EXPECT_REJECT(b, n, n - 16, "trailing data");
  /* counts beyond the limits */
  memset(b, 0, sizeof b); memcpy(b, good, ER_PROFILE_HEADER);
  b[14] = ER_PROFILE_MAX_ITEMS + 1; b[15] = 0;
  EXPECT_REJECT(b, ER_PROFILE_MAX_BYTES, 14, "25 items");
  b[14] = 0; b[15] = ER_PROFILE_MAX_CATS + 1;
  EXPECT_REJECT(b, ER_PROFILE_MAX_BYTES, 15, "17 categories");
  b[14] = 255; b[15] = 255;
  EXPECT_REJECT(b, ER_PROFILE_MAX_BYTES, 14, "more than the limit");
  /* check */
  memcpy(b, good, n); b[5] ^= 1;
  EXPECT_REJECT(b, n, n - 4, "check mismatch");
  memcpy(b, good, n); b[n - 1] ^= 0x80;
  EXPECT_REJECT(b, n, n - 4, "check mismatch");
  /* zero and repeated sku keys */
  memcpy(b, good, n); er_wr64(b + ER_PROFILE_HEADER + 16, 0); reseal(b, n);
  EXPECT_REJECT(b, n, ER_PROFILE_HEADER + 16, "zero sku key");
  memcpy(b, good, n); er_wr64(b + ER_PROFILE_HEADER + 32, er_rd64(b + ER_PROFILE_HEADER)); reseal(b, n);
  EXPECT_REJECT(b, n, ER_PROFILE_HEADER + 32, "repeats the sku key");
  /* categories: order, zero affinity, repeated key */
  memcpy(b, good, n);
  { /* swap the two categories */
    uint8_t t[8];
    memcpy(t, b + cats, 8); memcpy(b + cats, b + cats + 8, 8); memcpy(b + cats + 8, t, 8);
  }
  reseal(b, n);
  EXPECT_REJECT(b, n, cats + 8, "out of order");
  memcpy(b, good, n); er_wr16(b + cats + 12, er_rd16(b + cats + 4)); er_wr32(b + cats, 0xFFFFFFF0u); reseal(b, n);
  EXPECT_REJECT(b, n, cats + 8, "out of order"); /* equal affinity, keys descending */
  memcpy(b, good, n); er_wr16(b + cats + 12, 0); reseal(b, n);
  EXPECT_REJECT(b, n, cats + 8, "zero affinity");
  memcpy(b, good, n); er_wr32(b + cats + 8, er_rd32(b + cats)); reseal(b, n);
  EXPECT_REJECT(b, n, cats + 8, "repeats the key");
  /* reserved bytes are ignored on read and written back as zero */
  {
    er_profile q;
    er_error err;
    uint8_t c[ER_PROFILE_MAX_BYTES];
    memcpy(b, good, n); b[3] = 7; b[28] = 1; b[ER_PROFILE_HEADER + 14] = 9; b[cats + 6] = 3; reseal(b, n);
    CHECK_EQ_INT(er_profile_decode(&q, b, n, &err), ER_OK);
    CHECK_EQ_INT(er_profile_encode(&q, c, sizeof c), n);
    CHECK(!memcmp(c, good, n));
  }
  /* a NULL buffer with a length is a usage error */
  {
    er_profile q;
    er_error err;
    CHECK_EQ_INT(er_profile_decode(&q, NULL, 10, &err), ER_E_USAGE);
  }
}

/* Every truncation and every single-bit flip of a full profile is rejected,
 * and random bytes never crash. */
static void test_decode_sweep(void) {
  er_profile p, q;
  er_error err;
  er_profile_init(&p);
  for (uint32_t k = 0; k < 40; k++) apply(&p, ER_EV_CART, T0 + k * 3600, 7000 + k, 100 * k, 0, 900 + k % 20);
  uint8_t good[ER_PROFILE_MAX_BYTES], b[ER_PROFILE_MAX_BYTES];
  uint32_t n = er_profile_encode(&p, good, sizeof good);
  CHECK_EQ_INT(n, ER_PROFILE_MAX_BYTES);
  uint32_t accepted = 0, wrong_code = 0;
  for (uint32_t len = 1; len < n; len++) {
    er_status st = er_profile_decode(&q, good, len, &err);
    accepted += st == ER_OK;
    wrong_code += st != ER_OK && (st != ER_E_PROFILE || err.code != st || !err.msg[0]);
  }
  CHECK_EQ_INT(accepted, 0);
  CHECK_EQ_INT(wrong_code, 0);
  accepted = 0;
  for (uint32_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(b, good, n);
      b[i] ^= (uint8_t)(1u << bit);
      er_status st = er_profile_decode(&q, b, n, &err);
      /* the flags byte and reserved bytes are covered by the check too */
      accepted += st == ER_OK;
    }
  CHECK_EQ_INT(accepted, 0);
  uint32_t x = 12345;
  for (int r = 0; r < 2000; r++) {
    uint32_t len = 0;
    for (uint32_t i = 0; i < sizeof b; i++) { x = x * 1103515245u + 12345u; b[i] = (uint8_t)(x >> 16); }
    x = x * 1103515245u + 12345u;
    len = 1 + (x >> 8) % (sizeof b - 1); /* len 0 is the (valid) empty profile */
    if (r & 1) { b[0] = 'E'; b[1] = 'P'; b[2] = 1; }
    if (er_profile_decode(&q, b, len, &err) == ER_OK) accepted++;
  }
  CHECK_EQ_INT(accepted, 0);
}

/* ---- decay ------------------------------------------------------------------- */

static void one_cat(er_profile *p, uint32_t key, uint16_t a, uint32_t updated) {
  er_profile_init(p);
  p->updated = updated;
  p->n_cats = 1;
  p->cats[0].key = key;
  p->cats[0].affinity = a;
}

static void test_decay(void) {
  er_profile p;
  one_cat(&p, 7, 1024, T0);
  er_profile_decay(&p, T0 + HL); /* one half-life: 1024 >> 1 */
  CHECK_EQ_INT(p.cats[0].affinity, 512);
  CHECK_EQ_INT(p.updated, T0 + HL);

  one_cat(&p, 7, 1024, T0);
  er_profile_decay(&p, T0 + HL + HL / 2); /* 512 − 512·(HL/2)/(2·HL) = 512 − 128 */
  CHECK_EQ_INT(p.cats[0].affinity, 384);

  one_cat(&p, 7, 1024, T0);
  er_profile_decay(&p, T0 + HL / 2); /* 1024 − 1024/4 */
  CHECK_EQ_INT(p.cats[0].affinity, 768);

  one_cat(&p, 7, 1000, T0);
  er_profile_decay(&p, T0 + HL / 3); /* 1000·201600/1209600 = 166.67 → 166 */
  CHECK_EQ_INT(p.cats[0].affinity, 834);

  one_cat(&p, 7, 65535, T0);
  er_profile_decay(&p, T0 + 18); /* 65535·18/1209600 = 0.975 → 0 */
  CHECK_EQ_INT(p.cats[0].affinity, 65535);
  one_cat(&p, 7, 65535, T0);
  er_profile_decay(&p, T0 + 19); /* 65535·19/1209600 = 1.03 → 1 */
  CHECK_EQ_INT(p.cats[0].affinity, 65534);

  one_cat(&p, 7, 65535, T0);
  er_profile_decay(&p, T0 + 3 * HL + 1); /* 8191, then 8191·1/1209600 = 0 */
  CHECK_EQ_INT(p.cats[0].affinity, 8191);

  one_cat(&p, 7, 65535, T0);
  er_profile_decay(&p, T0 + 15 * HL); /* 65535 >> 15 = 1 */
  CHECK_EQ_INT(p.n_cats, 1);
  CHECK_EQ_INT(p.cats[0].affinity, 1);

  one_cat(&p, 7, 65535, T0);
  er_profile_decay(&p, T0 + 16 * HL); /* k >= 16: 0, dropped */
  CHECK_EQ_INT(p.n_cats, 0);
  CHECK_EQ_INT(er_profile_affinity(&p, 7), 0);

  one_cat(&p, 7, 65535, 0);
  er_profile_decay(&p, 0xFFFFFFFFu); /* k = 7101: no shift by >= 32 */
  CHECK_EQ_INT(p.n_cats, 0);
  CHECK_EQ_INT(p.updated, 0xFFFFFFFFu);

  /* now <= updated: nothing changes, updated is not moved back */
  one_cat(&p, 7, 1024, T0);
  er_profile_decay(&p, T0);
  CHECK_EQ_INT(p.cats[0].affinity, 1024);
  er_profile_decay(&p, T0 - HL);
  CHECK_EQ_INT(p.cats[0].affinity, 1024);
  CHECK_EQ_INT(p.updated, T0);

  /* ties created by decay re-sort by key; zeros are dropped */
  er_profile_init(&p);
  p.updated = T0;
  p.n_cats = 3;
  p.cats[0].key = 50; p.cats[0].affinity = 3;
  p.cats[1].key = 20; p.cats[1].affinity = 2;
  p.cats[2].key = 10; p.cats[2].affinity = 1;
  er_profile_decay(&p, T0 + HL); /* 1, 1, 0 */
  CHECK_EQ_INT(p.n_cats, 2);
  CHECK_EQ_INT(p.cats[0].key, 20);
  CHECK_EQ_INT(p.cats[1].key, 50);
  CHECK_EQ_INT(p.cats[0].affinity, 1);
}

/* ---- apply --------------------------------------------------------------------- */

static void test_move_to_front(void) {
  er_profile p;
  er_profile_init(&p);
  apply(&p, ER_EV_VIEW, T0, 0xA, 0, 0, 0);
  apply(&p, ER_EV_VIEW, T0 + 1, 0xB, 0, 0, 0);
  apply(&p, ER_EV_CLICK, T0 + 2, 0xC, 0, 0, 0);
  CHECK_EQ_INT(p.n_items, 3);
  CHECK_EQ_INT(p.items[0].sku_key, 0xC);
  CHECK_EQ_INT(p.items[1].sku_key, 0xB);
  CHECK_EQ_INT(p.items[2].sku_key, 0xA);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW); /* click counts as a view */
  apply(&p, ER_EV_CART, T0 + 3, 0xA, 0, 0, 0);
  CHECK_EQ_INT(p.n_items, 3);
  CHECK_EQ_INT(p.items[0].sku_key, 0xA);
  CHECK_EQ_INT(p.items[1].sku_key, 0xC);
  CHECK_EQ_INT(p.items[2].sku_key, 0xB);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_CART);
  CHECK_EQ_INT(p.items[0].count, 2);
  CHECK_EQ_INT(p.items[0].ts, T0 + 3);
  apply(&p, ER_EV_PURCHASE, T0 + 4, 0xB, 0, 0, 0);
  CHECK_EQ_INT(p.items[0].sku_key, 0xB);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_PURCHASE);
  CHECK_EQ_INT(p.n_events, 5);
  CHECK_EQ_INT(p.updated, T0 + 4);
  /* an event without a sku touches no item */
  apply(&p, ER_EV_VIEW, T0 + 5, 0, 0, 0, 0);
  CHECK_EQ_INT(p.n_items, 3);
  CHECK_EQ_INT(p.n_events, 6);
  /* an event older than `updated`: still moves its item, keeps its own ts, time does not go back */
  apply(&p, ER_EV_VIEW, T0 - 100, 0xC, 0, 0, 0);
  CHECK_EQ_INT(p.items[0].sku_key, 0xC);
  CHECK_EQ_INT(p.items[0].ts, T0 - 100);
  CHECK_EQ_INT(p.updated, T0 + 5);
  /* count saturates at 255 */
  for (int k = 0; k < 300; k++) apply(&p, ER_EV_VIEW, T0 + 6, 0xD, 0, 0, 0);
  CHECK_EQ_INT(p.items[0].count, 255);
  CHECK_EQ_INT(p.n_events, 307);
  p.n_events = 0xFFFFFFFFu;
  apply(&p, ER_EV_VIEW, T0 + 6, 0xD, 0, 0, 0);
  CHECK_EQ_INT(p.n_events, 0xFFFFFFFFu);
}

static void test_eviction(void) {
  er_profile p;
  er_profile_init(&p);
  for (uint32_t k = 1; k <= ER_PROFILE_MAX_ITEMS; k++) apply(&p, ER_EV_VIEW, T0 + k, k, 0, 0, 0);
  CHECK_EQ_INT(p.n_items, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.items[0].sku_key, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.items[ER_PROFILE_MAX_ITEMS - 1].sku_key, 1);
  apply(&p, ER_EV_VIEW, T0 + 100, 100, 0, 0, 0); /* full: the oldest (1) goes */
  CHECK_EQ_INT(p.n_items, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.items[0].sku_key, 100);
  CHECK_EQ_INT(p.items[1].sku_key, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.items[ER_PROFILE_MAX_ITEMS - 1].sku_key, 2);
  int has1 = 0;
  for (uint32_t k = 0; k < p.n_items; k++) has1 |= p.items[k].sku_key == 1;
  CHECK(!has1);
  apply(&p, ER_EV_VIEW, T0 + 101, 2, 0, 0, 0); /* the last one, touched: moved, nothing evicted */
  CHECK_EQ_INT(p.n_items, ER_PROFILE_MAX_ITEMS);
  CHECK_EQ_INT(p.items[0].sku_key, 2);
  CHECK_EQ_INT(p.items[0].count, 2);
  CHECK_EQ_INT(p.items[ER_PROFILE_MAX_ITEMS - 1].sku_key, 3);
}

static void test_affinity(void) {
  er_profile p;
  er_profile_init(&p);
  apply(&p, ER_EV_VIEW, T0, 1, 0, 0, 0xA);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 256);
  apply(&p, ER_EV_CLICK, T0, 1, 0, 0, 0xA);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 512);
  apply(&p, ER_EV_CART, T0, 1, 0, 0, 0xA);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 1280);
  apply(&p, ER_EV_PURCHASE, T0, 1, 0, 0, 0xA);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 2560);
  apply(&p, ER_EV_IMPRESSION, T0, 0, 0, 0, 0xA); /* impressions weigh nothing */
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 2560);
  /* several categories in one event, a repeated key counts once */
  er_profile_delta d = delta(ER_EV_CART, T0, 1, 0, 0, 0xB);
  d.cat_keys[d.n_cats++] = 0xC;
  d.cat_keys[d.n_cats++] = 0xB;
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xB), 768);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xC), 768);
  CHECK_EQ_INT(p.n_cats, 3);
  CHECK_EQ_INT(p.cats[0].key, 0xA);
  CHECK_EQ_INT(p.cats[1].key, 0xB); /* tie at 768: key ascending */
  CHECK_EQ_INT(p.cats[2].key, 0xC);
  /* saturation */
  for (int k = 0; k < 60; k++) apply(&p, ER_EV_PURCHASE, T0, 1, 0, 0, 0xC);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xC), ER_AFFINITY_MAX);
  CHECK_EQ_INT(p.cats[0].key, 0xC);

  /* replacement: full, weakest 256 */
  er_profile_init(&p);
  for (uint32_t k = 0; k < ER_PROFILE_MAX_CATS - 1; k++) apply(&p, ER_EV_PURCHASE, T0, 1, 0, 0, 100 + k);
  apply(&p, ER_EV_VIEW, T0, 1, 0, 0, 999);
  CHECK_EQ_INT(p.n_cats, ER_PROFILE_MAX_CATS);
  CHECK_EQ_INT(p.cats[ER_PROFILE_MAX_CATS - 1].key, 999);
  apply(&p, ER_EV_VIEW, T0, 1, 0, 0, 5); /* 256 is not higher than 256: ignored */
  CHECK_EQ_INT(er_profile_affinity(&p, 5), 0);
  CHECK_EQ_INT(er_profile_affinity(&p, 999), 256);
  apply(&p, ER_EV_CART, T0, 1, 0, 0, 5); /* 768 > 256: replaces 999 */
  CHECK_EQ_INT(er_profile_affinity(&p, 5), 768);
  CHECK_EQ_INT(er_profile_affinity(&p, 999), 0);
  CHECK_EQ_INT(p.n_cats, ER_PROFILE_MAX_CATS);
  CHECK_EQ_INT(p.cats[ER_PROFILE_MAX_CATS - 1].key, 5);
  apply(&p, ER_EV_CART, T0, 1, 0, 0, 6); /* 768 vs weakest 768: ignored */
  CHECK_EQ_INT(er_profile_affinity(&p, 6), 0);
  apply(&p, ER_EV_PURCHASE, T0 + HL, 1, 0, 0, 7); /* everything halves first (1280→640, 768→384); 1280 > 384 */
  CHECK_EQ_INT(er_profile_affinity(&p, 7), 1280);
  CHECK_EQ_INT(er_profile_affinity(&p, 5), 0);
  CHECK_EQ_INT(p.cats[0].key, 7);
  CHECK_EQ_INT(er_profile_affinity(&p, 100), 640);

  /* decay happens before the weight is added */
  er_profile_init(&p);
  apply(&p, ER_EV_PURCHASE, T0, 1, 0, 0, 0xA);             /* 1280 */
  apply(&p, ER_EV_VIEW, T0 + HL, 1, 0, 0, 0xA);            /* 640 + 256 */
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 896);
  apply(&p, ER_EV_VIEW, T0 + HL / 2, 1, 0, 0, 0xA);        /* older: no decay, + 256 */
  CHECK_EQ_INT(er_profile_affinity(&p, 0xA), 1152);
  CHECK_EQ_INT(p.updated, T0 + HL);
}

static void test_price(void) {
  er_profile p;
  er_profile_init(&p);
  apply(&p, ER_EV_VIEW, T0, 1, 1000, 0, 0);
  CHECK_EQ_INT(p.price_n, 1);
  CHECK_EQ_INT(p.price_mean, 1000);
  CHECK_EQ_INT(p.price_min, 1000);
  CHECK_EQ_INT(p.price_max, 1000);
  apply(&p, ER_EV_CART, T0, 2, 2000, 0, 0); /* 1000 + 1000/2 */
  CHECK_EQ_INT(p.price_mean, 1500);
  apply(&p, ER_EV_CLICK, T0, 3, 500, 0, 0); /* 1500 + (−1000)/3 = 1500 − 333 (toward zero) */
  CHECK_EQ_INT(p.price_mean, 1167);
  CHECK_EQ_INT(p.price_min, 500);
  CHECK_EQ_INT(p.price_max, 2000);
  CHECK_EQ_INT(p.price_n, 3);
  /* not sampled: price 0, feedback, impression */
  apply(&p, ER_EV_VIEW, T0, 3, 0, 0, 0);
  apply(&p, ER_EV_FEEDBACK, T0, 3, 99999, 5, 0);
  apply(&p, ER_EV_IMPRESSION, T0, 0, 99999, 0, 0);
  CHECK_EQ_INT(p.price_n, 3);
  CHECK_EQ_INT(p.price_mean, 1167);
  apply(&p, ER_EV_PURCHASE, T0, 4, 1167 + 9, 0, 0); /* 1167 + 9/4 = 1169 */
  CHECK_EQ_INT(p.price_mean, 1169);
  for (int k = 0; k < 4; k++) apply(&p, ER_EV_VIEW, T0, 5, 1169, 0, 0);
  CHECK_EQ_INT(p.price_n, 8);
  apply(&p, ER_EV_VIEW, T0, 5, 1169 + 800, 0, 0); /* n = 9: divisor capped at 8 → +100 */
  CHECK_EQ_INT(p.price_mean, 1269);
  apply(&p, ER_EV_VIEW, T0, 5, 1269 - 15, 0, 0); /* −15/8 = −1 (toward zero) */
  CHECK_EQ_INT(p.price_mean, 1268);
  p.price_n = 65535;
  apply(&p, ER_EV_VIEW, T0, 5, 1268 + 80, 0, 0);
  CHECK_EQ_INT(p.price_n, 65535);
  CHECK_EQ_INT(p.price_mean, 1278);
  /* the divisor grows 2, 3, ... 8 and then stays */
  er_profile_init(&p);
  static const uint32_t want[] = {100, 600, 766, 849, 899, 932, 956, 974, 989, 1002};
  for (int k = 0; k < 10; k++) {
    apply(&p, ER_EV_VIEW, T0, 1, k ? 1100 : 100, 0, 0);
    CHECK_EQ_INT(p.price_mean, want[k]);
  }
  /* extremes fit */
  er_profile_init(&p);
  apply(&p, ER_EV_VIEW, T0, 1, 0xFFFFFFFFu, 0, 0);
  apply(&p, ER_EV_VIEW, T0, 1, 1, 0, 0);
  CHECK_EQ_INT(p.price_mean, 0xFFFFFFFFu - 0x7FFFFFFFu);
  CHECK_EQ_INT(p.price_min, 1);
  CHECK_EQ_INT(p.price_max, 0xFFFFFFFFu);
}

static void test_feedback(void) {
  er_profile p;
  er_profile_init(&p);
  apply(&p, ER_EV_PURCHASE, T0, 0xA, 0, 0, 0x10); /* 1280 */
  apply(&p, ER_EV_VIEW, T0, 0xB, 0, 0, 0);
  apply(&p, ER_EV_FEEDBACK, T0, 0xA, 0, 1, 0x10); /* dislike: −512 */
  CHECK_EQ_INT(p.items[0].sku_key, 0xA);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_PURCHASE | ER_SEEN_DISLIKED);
  CHECK_EQ_INT(p.items[0].count, 2);
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 768);
  apply(&p, ER_EV_FEEDBACK, T0, 0xA, 0, 3, 0x10); /* neutral */
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_PURCHASE | ER_SEEN_DISLIKED);
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 768);
  apply(&p, ER_EV_FEEDBACK, T0, 0xA, 0, 4, 0x10); /* like: clears dislike, +256 */
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_PURCHASE);
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 1024);
  apply(&p, ER_EV_FEEDBACK, T0, 0xA, 0, 5, 0x10); /* +512 */
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 1536);
  apply(&p, ER_EV_FEEDBACK, T0, 0xB, 0, 2, 0x10); /* −256 */
  CHECK_EQ_INT(p.items[0].sku_key, 0xB);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_DISLIKED);
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 1280);
  for (int k = 0; k < 3; k++) apply(&p, ER_EV_FEEDBACK, T0, 0xB, 0, 1, 0x10); /* floors at 0: dropped */
  CHECK_EQ_INT(er_profile_affinity(&p, 0x10), 0);
  CHECK_EQ_INT(p.n_cats, 0);
  apply(&p, ER_EV_FEEDBACK, T0, 0xC, 0, 1, 0x20); /* a negative weight never adds a category */
  CHECK_EQ_INT(p.n_cats, 0);
  CHECK_EQ_INT(p.items[0].sku_key, 0xC); /* a disliked new item is remembered */
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_DISLIKED);
  apply(&p, ER_EV_FEEDBACK, T0, 0xD, 0, 3, 0x20); /* neutral on a new item: no bits */
  CHECK_EQ_INT(p.items[0].types, 0);
  apply(&p, ER_EV_FEEDBACK, T0, 0xD, 0, 0, 0x20); /* rating outside 1..5: neutral */
  apply(&p, ER_EV_FEEDBACK, T0, 0xD, 0, 9, 0x20);
  CHECK_EQ_INT(p.items[0].types, 0);
  CHECK_EQ_INT(p.n_cats, 0);
  /* the result still encodes and decodes */
  uint8_t b[ER_PROFILE_MAX_BYTES];
  er_profile q;
  er_error err;
  uint32_t n = er_profile_encode(&p, b, sizeof b);
  CHECK(n > 0);
  CHECK_EQ_INT(er_profile_decode(&q, b, n, &err), ER_OK);
}

static void test_impression(void) {
  er_profile p;
  sample(&p);
  er_profile before = p;
  apply(&p, ER_EV_IMPRESSION, T0, 0x9999, 5000, 0, 0x77);
  CHECK_EQ_INT(p.n_events, before.n_events + 1);
  p.n_events = before.n_events;
  CHECK(same(&p, &before));
  /* impressions do decay (time moves like for any event) */
  apply(&p, ER_EV_IMPRESSION, T0 + HL, 0x9999, 0, 0, 0);
  CHECK_EQ_INT(p.updated, T0 + HL);
  CHECK_EQ_INT(er_profile_affinity(&p, 0xBEEF), (768 + 1280) / 2);
  CHECK_EQ_INT(p.n_items, 3);
  /* an unknown type only counts */
  before = p;
  apply(&p, (er_event_type)42, T0 + HL, 0x9999, 500, 0, 0x77);
  CHECK_EQ_INT(p.n_events, before.n_events + 1);
  CHECK_EQ_INT(p.n_items, before.n_items);
  CHECK_EQ_INT(p.n_cats, before.n_cats);
}

/* ---- JSON ------------------------------------------------------------------------ */

static void test_json(void) {
  er_profile p;
  er_profile_init(&p);
  char out[4096];
  uint32_t n = er_profile_to_json(&p, out, sizeof out);
  out[n] = 0;
  CHECK_EQ_STR(out, "{\"version\":1,\"updated\":0,\"events\":0,\"price\":{\"n\":0,\"mean\":\"0.00\",\"min\":\"0.00\","
                    "\"max\":\"0.00\"},\"items\":[],\"categories\":[]}");
  p.updated = T0;
  p.n_events = 7;
  p.price_n = 2;
  p.price_mean = 1234;
  p.price_min = 5;
  p.price_max = 100000;
  p.n_items = 2;
  p.items[0].sku_key = 0x0123456789abcdefull;
  p.items[0].ts = T0;
  p.items[0].types = ER_SEEN_VIEW | ER_SEEN_CART;
  p.items[0].count = 3;
  p.items[1].sku_key = 0xffull;
  p.items[1].ts = 5;
  p.items[1].types = ER_SEEN_PURCHASE | ER_SEEN_DISLIKED;
  p.items[1].count = 1;
  p.n_cats = 3;
  p.cats[0].key = 0xdeadbeef; p.cats[0].affinity = 320;  /* 1.25 */
  p.cats[1].key = 0x1;        p.cats[1].affinity = 2;    /* 0.0078 → 0.01 */
  p.cats[2].key = 0x2;        p.cats[2].affinity = 1;    /* 0.0039 → 0.00 */
  n = er_profile_to_json(&p, out, sizeof out);
  out[n] = 0;
  const char *want =
      "{\"version\":1,\"updated\":1700000000,\"events\":7,\"price\":{\"n\":2,\"mean\":\"12.34\",\"min\":\"0.05\","
      "\"max\":\"1000.00\"},\"items\":[{\"key\":\"0123456789abcdef\",\"ts\":1700000000,\"types\":[\"view\",\"cart\"],"
      "\"count\":3},{\"key\":\"00000000000000ff\",\"ts\":5,\"types\":[\"purchase\",\"disliked\"],\"count\":1}],"
      "\"categories\":[{\"key\":\"deadbeef\",\"affinity\":\"1.25\"},{\"key\":\"00000001\",\"affinity\":\"0.01\"},"
      "{\"key\":\"00000002\",\"affinity\":\"0.00\"}]}";
  CHECK_EQ_STR(out, want);
  CHECK_EQ_INT(n, strlen(want));
  /* too small: 0 for every shorter capacity, and nothing written past cap */
  uint32_t bad = 0;
  for (uint32_t cap = 0; cap < n; cap++) {
    char small[4096];
    memset(small, 0x7E, sizeof small);
    if (er_profile_to_json(&p, small, cap) != 0) bad++;
    if (small[cap] != 0x7E) bad++;
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(er_profile_to_json(&p, out, n), n);
  /* a full profile fits in 8 KB (the engine's and CLI's buffer) */
  er_profile_init(&p);
  for (uint32_t k = 0; k < 40; k++) apply(&p, ER_EV_PURCHASE, 0xFFFFFFF0u, 0xFFFFFFFFFFFF0000ull + k, 0xFFFFFFFFu, 0, 0xFFFFFF00u + k);
  for (uint32_t k = 0; k < p.n_items; k++) p.items[k].types = ER_SEEN_VIEW | ER_SEEN_CART | ER_SEEN_PURCHASE | ER_SEEN_DISLIKED | ER_SEEN_WISH;
  char big[8192];
  n = er_profile_to_json(&p, big, sizeof big);
  CHECK(n > 0 && n < sizeof big);
  CHECK(n <= 3472); /* docs/profile.md: "a full profile needs at most 3472 bytes" (3208 + 24 × `,"wishlist"`) */
  CHECK(strstr(big, "\"types\":[\"view\",\"cart\",\"purchase\",\"disliked\",\"wishlist\"]") != NULL);
}

int main(void) {
  RUN(test_empty);
  RUN(test_roundtrip);
  RUN(test_capacity_size);
  RUN(test_decode_rejects);
  RUN(test_decode_sweep);
  RUN(test_decay);
  RUN(test_move_to_front);
  RUN(test_eviction);
  RUN(test_affinity);
  RUN(test_price);
  RUN(test_feedback);
  RUN(test_impression);
  RUN(test_json);
  return DONE();
}
