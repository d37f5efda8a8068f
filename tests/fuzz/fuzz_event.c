/* fuzz_event.c — libFuzzer target: er_event_parse (events come from
 * browsers through the Worker's /edge/events, so they are untrusted).
 * Both flag sets; on success every string span lies inside the input, the
 * delta derives cleanly and applying it keeps the profile encodable. */
#include <stdint.h>
#include <string.h>

#include "er_event.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static jsmntok_t toks[ER_MAX_EVENT_TOKENS];

static void in_input(er_str s, const uint8_t *data, size_t size) {
  if (!s.n) return;
  CHECK(s.p >= (const char *)data && s.p + s.n <= (const char *)data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0xFFFFFFFFu) return 0;
  for (uint32_t flags = 0; flags <= ER_EVENT_REQUIRE_ALL; flags++) {
    er_event ev;
    er_error err;
    er_error_clear(&err);
    er_status st = er_event_parse(&ev, (const char *)data, (uint32_t)size, toks, ER_MAX_EVENT_TOKENS, flags, &err);
    if (st != ER_OK) {
      CHECK(err.code == st && err.msg[0]);
      continue;
    }
    CHECK(ev.type >= ER_EV_VIEW && ev.type < ER_EV_COUNT);
    CHECK(er_event_is_list(ev.type) ? ev.n_items >= 1 : ev.item.n >= 1);
    /* the recs-* types carry unit (1..64 bytes), unit_type (1..32) and rank 1..200; the others no unit_type or rank */
    if (er_event_is_unit(ev.type)) CHECK(ev.unit.n >= 1 && ev.unit_type.n >= 1 && ev.rank >= 1 && ev.rank <= ER_EVENT_MAX_RANK);
    else CHECK(ev.unit_type.p == NULL && ev.rank == 0);
    CHECK(ev.n_items <= ER_EVENT_MAX_ITEMS);
    CHECK(ev.rating >= 0 && ev.rating <= 5);
    CHECK(ev.trust.n <= 6 * ER_EVENT_MAX_EDGE && ev.flag.n <= 6 * ER_EVENT_MAX_EDGE); /* raw: escapes at most 6 bytes each */
    const er_str *all[] = {&ev.id, &ev.session, &ev.user, &ev.item, &ev.category, &ev.country, &ev.device, &ev.unit, &ev.model, &ev.arm, &ev.unit_type, &ev.trust, &ev.flag};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) in_input(*all[k], data, size);
    for (uint32_t k = 0; k < ev.n_items; k++) in_input(ev.items[k], data, size);
    if (flags & ER_EVENT_REQUIRE_ALL) CHECK(ev.has_ts && ev.id.p && ev.session.p);
    er_profile_delta d;
    st = er_event_delta(&ev, &d);
    CHECK(st == ER_OK); /* a validated event always derives a delta */
    er_profile p;
    er_profile_init(&p);
    er_profile_apply(&p, &d);
    er_profile_apply(&p, &d);
    uint8_t buf[ER_PROFILE_MAX_BYTES];
    uint32_t n = er_profile_encode(&p, buf, sizeof buf);
    CHECK(n > 0);
    er_profile q;
    CHECK(er_profile_decode(&q, buf, n, &err) == ER_OK);
  }
  return 0;
}
