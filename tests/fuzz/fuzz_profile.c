/* fuzz_profile.c — libFuzzer target: er_profile_decode on arbitrary bytes
 * (profiles arrive from cookies / KV, i.e. from the client).  A profile that
 * decodes must survive encode → decode → encode with identical bytes, and
 * the update rule (decay, apply) must keep it encodable. */
#include <stdint.h>
#include <string.h>

#include "er_profile.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static void roundtrip(const er_profile *p) {
  uint8_t a[ER_PROFILE_MAX_BYTES], b[ER_PROFILE_MAX_BYTES];
  uint32_t na = er_profile_encode(p, a, sizeof a);
  CHECK(na > 0 && na <= ER_PROFILE_MAX_BYTES);
  er_profile q;
  er_error err;
  er_error_clear(&err);
  CHECK(er_profile_decode(&q, a, na, &err) == ER_OK);
  uint32_t nb = er_profile_encode(&q, b, sizeof b);
  CHECK(nb == na);
  CHECK(memcmp(a, b, na) == 0);
  /* too small an output buffer: 0, never an overflow */
  CHECK(er_profile_encode(p, a, na - 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0xFFFFFFFFu) return 0;
  er_profile p;
  er_error err;
  er_error_clear(&err);
  er_status st = er_profile_decode(&p, data, (uint32_t)size, &err);
  if (st != ER_OK) {
    CHECK(err.code == st && err.msg[0] != 0);
    return 0;
  }
  CHECK(p.n_items <= ER_PROFILE_MAX_ITEMS && p.n_cats <= ER_PROFILE_MAX_CATS);
  roundtrip(&p);
  /* the update rules on a decoded profile: decay to a later time, apply an
   * event derived from the input's bytes */
  er_profile d = p;
  uint32_t later = p.updated + (size ? data[0] : 1) * 86400u;
  if (later < p.updated) later = 0xFFFFFFFFu;
  er_profile_decay(&d, later);
  roundtrip(&d);
  er_profile_delta dl;
  memset(&dl, 0, sizeof dl);
  dl.type = (er_event_type)(1 + (size ? data[size - 1] % 6 : 0));
  dl.ts = later;
  dl.sku_key = p.n_items ? p.items[0].sku_key : 0x1234;
  dl.price_cents = size > 1 ? data[1] * 100u : 0;
  dl.rating = dl.type == ER_EV_FEEDBACK ? 1 + (int)(size % 5) : 0;
  dl.n_cats = p.n_cats ? 1 : 0;
  if (p.n_cats) dl.cat_keys[0] = p.cats[0].key;
  er_profile_apply(&d, &dl);
  CHECK(d.n_items <= ER_PROFILE_MAX_ITEMS && d.n_cats <= ER_PROFILE_MAX_CATS);
  roundtrip(&d);
  return 0;
}
