/* test_event.c — the event contract: every validation error path (code,
 * byte offset, field named in the message), the accepted forms, the edge's
 * own fields (trust, flag), and the profile delta (escaped sku and category keys hash like their plain form). */
#include <stdio.h>
#include <string.h>

#include "er_event.h"
#include "harness.h"

static jsmntok_t TOK[ER_MAX_EVENT_TOKENS];
static er_event EV;

static er_status parse(const char *js, uint32_t flags, er_error *err) {
  er_error_clear(err);
  return er_event_parse(&EV, js, (uint32_t)strlen(js), TOK, ER_MAX_EVENT_TOKENS, flags, err);
}

static int str_is(er_str s, const char *want) { return s.n == strlen(want) && !memcmp(s.p, want, s.n); }

typedef struct {
  er_status st;
  er_error err;
  uint32_t want_off;
  int field_ok, byte_ok;
} outcome;

/* Parse js expecting an error: the offset is that of the first occurrence of
 * `at` in js (0 when NULL); `field`, when given, must appear quoted in the
 * message; the message must name the byte offset. */
static outcome run_err(const char *js, uint32_t flags, const char *at, const char *field) {
  outcome o;
  char want[64];
  o.st = parse(js, flags, &o.err);
  o.want_off = 0;
  if (at) {
    const char *p = strstr(js, at);
    o.want_off = p ? (uint32_t)(p - js) : 0xFFFFFFFEu;
  }
  o.field_ok = 1;
  if (field) {
    snprintf(want, sizeof want, "'%s'", field);
    o.field_ok = strstr(o.err.msg, want) != NULL;
  }
  snprintf(want, sizeof want, "byte %u", (unsigned)o.err.offset);
  o.byte_ok = strstr(o.err.msg, want) != NULL && !strncmp(o.err.msg, "event:", 6);
  return o;
}

#define EXPECT_ERR(js, flags, want_code, at, field)                                                       \
  do {                                                                                                \
    outcome o_ = run_err((js), (flags), (at), (field));                                               \
    CHECK_EQ_INT(o_.st, (want_code));                                                                      \
    CHECK_EQ_INT(o_.err.code, (want_code));                                                                \
    CHECK_EQ_INT(o_.err.offset, o_.want_off);                                                         \
    CHECK(o_.field_ok);                                                                               \
    CHECK(o_.byte_ok);                                                                                \
    if (o_.st != (want_code) || o_.err.offset != o_.want_off || !o_.field_ok || !o_.byte_ok)               \
      printf("    input: %s\n    message: %s\n", (js), o_.err.msg);                                  \
  } while (0)

#define EXPECT_OK(js, flags)                                                  \
  do {                                                                        \
    er_error e_;                                                              \
    er_status s_ = parse((js), (flags), &e_);                                 \
    CHECK_EQ_INT(s_, ER_OK);                                                  \
    if (s_) printf("    input: %s\n    message: %s\n", (js), e_.msg);         \
  } while (0)

/* ---- accepted events ------------------------------------------------------- */

static void test_valid(void) {
  EXPECT_OK("{\"type\":\"view\",\"item\":\"SKU-1\",\"ts\":1700000000,\"price\":12.5,\"category\":\"Men/Tops\","
            "\"id\":\"e1\",\"session\":\"s1\",\"user\":\"u1\",\"country\":\"DE\",\"device\":\"mobile\",\"unit\":\"most-viewed\","
            "\"model\":\"m1\",\"arm\":\"b\",\"qty\":2}",
            ER_EVENT_REQUIRE_ALL);
  CHECK_EQ_INT(EV.type, ER_EV_VIEW);
  CHECK(str_is(EV.item, "SKU-1"));
  CHECK(EV.has_ts);
  CHECK_EQ_INT(EV.ts_ms, 1700000000000ull);
  CHECK_EQ_INT(EV.price_cents, 1250);
  CHECK_EQ_INT(EV.qty, 2);
  CHECK_EQ_INT(EV.rating, 0);
  CHECK(str_is(EV.category, "Men/Tops"));
  CHECK(str_is(EV.id, "e1"));
  CHECK(str_is(EV.session, "s1"));
  CHECK(str_is(EV.user, "u1"));
  CHECK(str_is(EV.country, "DE"));
  CHECK(str_is(EV.device, "mobile"));
  CHECK(str_is(EV.unit, "most-viewed"));
  CHECK(str_is(EV.model, "m1"));
  CHECK(str_is(EV.arm, "b"));
  CHECK_EQ_INT(EV.n_items, 0);

  /* minimal; absent fields have their documented defaults */
  EXPECT_OK(" {\"item\":\"x\",\"type\":\"cart\"} ", 0);
  CHECK_EQ_INT(EV.type, ER_EV_CART);
  CHECK(!EV.has_ts);
  CHECK_EQ_INT(EV.price_cents, -1);
  CHECK_EQ_INT(EV.qty, 0);
  CHECK_EQ_INT(EV.id.n, 0);

  /* fractional ts: milliseconds, truncated beyond */
  EXPECT_OK("{\"type\":\"click\",\"item\":\"x\",\"ts\":1700000000.1239}", 0);
  CHECK_EQ_INT(EV.ts_ms, 1700000000123ull);
  EXPECT_OK("{\"type\":\"click\",\"item\":\"x\",\"ts\":1.7e9}", 0);
  CHECK_EQ_INT(EV.ts_ms, 1700000000000ull);
  EXPECT_OK("{\"type\":\"click\",\"item\":\"x\",\"ts\":4294967295.999}", 0);
  CHECK_EQ_INT(EV.ts_ms, 4294967295999ull);
  EXPECT_OK("{\"type\":\"click\",\"item\":\"x\",\"ts\":0}", 0);
  CHECK(EV.has_ts);
  CHECK_EQ_INT(EV.ts_ms, 0);
  EXPECT_OK("{\"type\":\"click\",\"item\":\"x\",\"ts\":-0.0}", 0);
  CHECK_EQ_INT(EV.ts_ms, 0);

  /* price: cents, truncated; the upper bound */
  EXPECT_OK("{\"type\":\"purchase\",\"item\":\"x\",\"price\":12.345}", 0);
  CHECK_EQ_INT(EV.price_cents, 1234);
  EXPECT_OK("{\"type\":\"purchase\",\"item\":\"x\",\"price\":1e10}", 0);
  CHECK_EQ_INT(EV.price_cents, 1000000000000ll);
  EXPECT_OK("{\"type\":\"purchase\",\"item\":\"x\",\"price\":0}", 0);
  CHECK_EQ_INT(EV.price_cents, 0);
  EXPECT_OK("{\"type\":\"purchase\",\"item\":\"x\",\"qty\":-1000000}", 0);
  CHECK_EQ_INT(EV.qty, -1000000);
  EXPECT_OK("{\"type\":\"purchase\",\"item\":\"x\",\"qty\":3.0}", 0);
  CHECK_EQ_INT(EV.qty, 3);

  /* feedback */
  EXPECT_OK("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":1}", 0);
  CHECK_EQ_INT(EV.type, ER_EV_FEEDBACK);
  CHECK_EQ_INT(EV.rating, 1);
  EXPECT_OK("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":5}", 0);
  CHECK_EQ_INT(EV.rating, 5);

  /* null means absent for optional fields; unknown fields (any shape) are ignored */
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"user\":null,\"ts\":null,\"price\":null,\"rating\":null,"
            "\"extra\":{\"a\":[1,{\"item\":5}],\"type\":7},\"z\":[[]]}",
            0);
  CHECK(str_is(EV.item, "x"));
  CHECK(!EV.has_ts);
  CHECK_EQ_INT(EV.price_cents, -1);
  CHECK_EQ_INT(EV.user.n, 0);

  /* string length limits: unescaped bytes */
  char js[1200];
  char s128[129], s256[257];
  memset(s128, 'a', 128); s128[128] = 0;
  memset(s256, 'b', 256); s256[256] = 0;
  snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"%s\",\"session\":\"%s\"}", s128, s256);
  EXPECT_OK(js, 0);
  CHECK_EQ_INT(EV.item.n, 128);
  CHECK_EQ_INT(EV.session.n, 256);
  /* 128 bytes once unescaped ("\u00e9" is 2 bytes), raw longer */
  char esc[1000] = "";
  for (int k = 0; k < 64; k++) strcat(esc, "\\u00e9");
  snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"%s\"}", esc);
  EXPECT_OK(js, 0);
  CHECK_EQ_INT(EV.item.n, 64 * 6);
  /* empty optional strings are fine */
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"category\":\"\",\"id\":\"\"}", 0);

  /* the type may be escaped */
  EXPECT_OK("{\"type\":\"vi\\u0065w\",\"item\":\"x\"}", 0);
  CHECK_EQ_INT(EV.type, ER_EV_VIEW);
}

static void test_impression(void) {
  EXPECT_OK("{\"type\":\"impression\",\"items\":[\"a\",\"b\\\"c\",\"d\"],\"unit\":\"trending\",\"model\":\"m\"}", 0);
  CHECK_EQ_INT(EV.type, ER_EV_IMPRESSION);
  CHECK_EQ_INT(EV.n_items, 3);
  CHECK(str_is(EV.items[0], "a"));
  CHECK(str_is(EV.items[1], "b\\\"c"));
  CHECK(str_is(EV.items[2], "d"));
  CHECK_EQ_INT(EV.item.n, 0);
  /* 64 entries is the limit */
  char js[1024];
  strcpy(js, "{\"type\":\"impression\",\"items\":[");
  for (int k = 0; k < ER_EVENT_MAX_ITEMS; k++) strcat(js, k ? ",\"s\"" : "\"s\"");
  strcat(js, "]}");
  EXPECT_OK(js, 0);
  CHECK_EQ_INT(EV.n_items, ER_EVENT_MAX_ITEMS);
  strcpy(js + strlen(js) - 2, ",\"s\"]}");
  EXPECT_ERR(js, 0, ER_E_LIMIT, "[", "items");

  EXPECT_ERR("{\"type\":\"impression\",\"item\":\"x\"}", 0, ER_E_SHAPE, NULL, "items");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":null}", 0, ER_E_TYPE, "null", "items");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":\"a\"}", 0, ER_E_TYPE, "a\"}", "items");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":{}}", 0, ER_E_TYPE, "{}", "items");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[]}", 0, ER_E_RANGE, "[]", "items");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[1]}", 0, ER_E_TYPE, "1]", "items[0]");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[\"a\",[\"b\"]]}", 0, ER_E_TYPE, "[\"b", "items[1]");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[\"a\",\"b\",\"\"]}", 0, ER_E_RANGE, "\"]", "items[2]");
  /* items is checked for other types too when present, but not required */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"items\":[]}", 0, ER_E_RANGE, "[]", "items");
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"items\":[\"y\"]}", 0);
  /* an impression may carry a valid item too */
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[\"a\"],\"item\":\"\"}", 0, ER_E_RANGE, "\"}", "item");
}


/* ---- wishlist and the recommendation-unit types (Adobe's storefront SDK) ---- */

#define UNIT_FIELDS "\"unit\":\"u-1\",\"unit_type\":\"viewed-viewed\",\"rank\":2"

static void test_wishlist(void) {
  EXPECT_OK("{\"type\":\"wishlist\",\"item\":\"SKU-1\",\"ts\":5,\"price\":3}", 0);
  CHECK_EQ_INT(EV.type, ER_EV_WISHLIST);
  CHECK(str_is(EV.item, "SKU-1"));
  EXPECT_ERR("{\"type\":\"wishlist\"}", 0, ER_E_SHAPE, NULL, "item");
  EXPECT_ERR("{\"type\":\"wishlist\",\"items\":[\"a\"]}", 0, ER_E_SHAPE, NULL, "item");
  EXPECT_ERR("{\"type\":\"wishlist\",\"item\":\"\"}", 0, ER_E_RANGE, "\"}", "item");
  /* unit_type and rank belong to the recs-* types: ignored elsewhere, as before */
  EXPECT_OK("{\"type\":\"wishlist\",\"item\":\"x\",\"rank\":0,\"unit_type\":[1]}", 0);
  CHECK_EQ_INT(EV.rank, 0);
  CHECK_EQ_INT(EV.unit_type.n, 0);
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"rank\":\"first\",\"unit_type\":7}", 0);
  /* a listing impression's unit keeps its 256-byte limit */
  char js[700], s200[201];
  memset(s200, 'u', 200); s200[200] = 0;
  snprintf(js, sizeof js, "{\"type\":\"impression\",\"items\":[\"a\"],\"unit\":\"%s\"}", s200);
  EXPECT_OK(js, 0);
}

static void test_unit_events(void) {
  static const char *const list_types[] = {"recs-unit-impression-render", "recs-unit-view"};
  static const char *const item_types[] = {"recs-item-click", "recs-item-add-to-cart-click"};
  static const er_event_type list_enum[] = {ER_EV_UNIT_RENDER, ER_EV_UNIT_VIEW};
  static const er_event_type item_enum[] = {ER_EV_UNIT_CLICK, ER_EV_UNIT_CART_CLICK};
  char js[1200];
  for (int k = 0; k < 2; k++) {
    snprintf(js, sizeof js, "{\"type\":\"%s\",\"items\":[\"a\",\"b\"]," UNIT_FIELDS ",\"ts\":7,\"id\":\"e\",\"session\":\"s\"}",
             list_types[k]);
    EXPECT_OK(js, ER_EVENT_REQUIRE_ALL);
    CHECK_EQ_INT(EV.type, list_enum[k]);
    CHECK_EQ_INT(EV.n_items, 2);
    CHECK(str_is(EV.items[1], "b"));
    CHECK(str_is(EV.unit, "u-1"));
    CHECK(str_is(EV.unit_type, "viewed-viewed"));
    CHECK_EQ_INT(EV.rank, 2);
    /* items required, item is not */
    snprintf(js, sizeof js, "{\"type\":\"%s\",\"item\":\"a\"," UNIT_FIELDS "}", list_types[k]);
    EXPECT_ERR(js, 0, ER_E_SHAPE, NULL, "items");
    CHECK(strstr(run_err(js, 0, NULL, NULL).err.msg, list_types[k]) != NULL);
    snprintf(js, sizeof js, "{\"type\":\"%s\",\"items\":[]," UNIT_FIELDS "}", list_types[k]);
    EXPECT_ERR(js, 0, ER_E_RANGE, "[]", "items");

    snprintf(js, sizeof js, "{\"type\":\"%s\",\"item\":\"SKU-9\"," UNIT_FIELDS "}", item_types[k]);
    EXPECT_OK(js, 0);
    CHECK_EQ_INT(EV.type, item_enum[k]);
    CHECK(str_is(EV.item, "SKU-9"));
    CHECK_EQ_INT(EV.rank, 2);
    snprintf(js, sizeof js, "{\"type\":\"%s\",\"items\":[\"a\"]," UNIT_FIELDS "}", item_types[k]);
    EXPECT_ERR(js, 0, ER_E_SHAPE, NULL, "item");
  }
  static const char *const all[] = {"recs-unit-impression-render", "recs-unit-view", "recs-item-click",
                                    "recs-item-add-to-cart-click"};
  char s64[65], s65[66], s32[33], s33[34];
  memset(s64, 'u', 64); s64[64] = 0;
  memset(s65, 'u', 65); s65[65] = 0;
  memset(s32, 't', 32); s32[32] = 0;
  memset(s33, 't', 33); s33[33] = 0;
  for (int k = 0; k < 4; k++) {
    const char *subj = k < 2 ? "\"items\":[\"a\"]" : "\"item\":\"a\"";
    /* each required field missing: an error naming it and the type */
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit_type\":\"x\",\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_SHAPE, NULL, "unit");
    CHECK(strstr(run_err(js, 0, NULL, NULL).err.msg, "is required for type") != NULL);
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_SHAPE, NULL, "unit_type");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\"}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_SHAPE, NULL, "rank");
    /* required means null is a type error */
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":null,\"unit_type\":\"x\",\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_TYPE, "null", "unit");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\",\"rank\":null}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_TYPE, "null", "rank");
    /* sizes: unit 1..64, unit_type 1..32 */
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"%s\",\"unit_type\":\"%s\",\"rank\":1}", all[k], subj, s64, s32);
    EXPECT_OK(js, 0);
    CHECK_EQ_INT(EV.unit.n, 64);
    CHECK_EQ_INT(EV.unit_type.n, 32);
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"%s\",\"unit_type\":\"x\",\"rank\":1}", all[k], subj, s65);
    EXPECT_ERR(js, 0, ER_E_RANGE, "uuu", "unit");
    CHECK(strstr(run_err(js, 0, NULL, NULL).err.msg, "1..64 bytes") != NULL);
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"\",\"unit_type\":\"x\",\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_RANGE, "\",\"unit_type", "unit");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"%s\",\"rank\":1}", all[k], subj, s33);
    EXPECT_ERR(js, 0, ER_E_RANGE, "ttt", "unit_type");
    CHECK(strstr(run_err(js, 0, NULL, NULL).err.msg, "1..32 bytes") != NULL);
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"\",\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_RANGE, "\",\"rank", "unit_type");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":5,\"rank\":1}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_TYPE, "5,", "unit_type");
    /* 64 bytes once unescaped */
    char esc[400] = "";
    for (int m = 0; m < 32; m++) strcat(esc, "\\u00e9");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"%s\",\"unit_type\":\"x\",\"rank\":1}", all[k], subj, esc);
    EXPECT_OK(js, 0);
    /* rank: an integer 1..200 */
    static const char *const bad_ranks[] = {"0", "201", "-1", "1.5", "1e3"};
    for (int m = 0; m < 5; m++) {
      snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\",\"rank\":%s}", all[k], subj, bad_ranks[m]);
      EXPECT_ERR(js, 0, ER_E_RANGE, bad_ranks[m], "rank");
    }
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\",\"rank\":\"1\"}", all[k], subj);
    EXPECT_ERR(js, 0, ER_E_TYPE, "1\"}", "rank");
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\",\"rank\":200}", all[k], subj);
    EXPECT_OK(js, 0);
    CHECK_EQ_INT(EV.rank, 200);
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s,\"unit\":\"u\",\"unit_type\":\"x\",\"rank\":1.0}", all[k], subj);
    EXPECT_OK(js, 0);
    CHECK_EQ_INT(EV.rank, 1);
    /* the logged fields are required as for every type */
    snprintf(js, sizeof js, "{\"type\":\"%s\",%s," UNIT_FIELDS ",\"ts\":1,\"id\":\"e\"}", all[k], subj);
    EXPECT_ERR(js, ER_EVENT_REQUIRE_ALL, ER_E_SHAPE, NULL, "session");
  }
  /* fields are checked in order: item before unit before rank */
  EXPECT_ERR("{\"type\":\"recs-item-click\",\"rank\":0}", 0, ER_E_SHAPE, NULL, "item");
  EXPECT_ERR("{\"type\":\"recs-item-click\",\"item\":\"a\",\"rank\":0}", 0, ER_E_SHAPE, NULL, "unit");
  EXPECT_ERR("{\"type\":\"recs-item-click\",\"item\":\"a\",\"unit\":\"u\",\"rank\":0}", 0, ER_E_SHAPE, NULL, "unit_type");
  /* names are exact */
  EXPECT_ERR("{\"type\":\"recs-item-Click\",\"item\":\"a\"}", 0, ER_E_RANGE, "recs", "type");
  EXPECT_ERR("{\"type\":\"recs-unit-impression-render-x\",\"items\":[\"a\"]}", 0, ER_E_RANGE, "recs", "type");
  /* the escaped type */
  EXPECT_OK("{\"type\":\"recs-item-cl\\u0069ck\",\"item\":\"a\"," UNIT_FIELDS "}", 0);
  CHECK_EQ_INT(EV.type, ER_EV_UNIT_CLICK);
}

/* The edge's own fields (docs/events.md "Edge fields"): `trust` and `flag`,
 * optional strings of 0..32 bytes on every type, null meaning absent; checked
 * after `rank`, `trust` before `flag`; they change nothing in the delta. */
static void test_edge_fields(void) {
  static const char *const subj[] = {"\"type\":\"view\",\"item\":\"x\"", "\"type\":\"impression\",\"items\":[\"x\"]",
                                     "\"type\":\"recs-item-click\",\"item\":\"x\"," UNIT_FIELDS,
                                     "\"type\":\"recs-unit-view\",\"items\":[\"x\"]," UNIT_FIELDS, "\"type\":\"wishlist\",\"item\":\"x\""};
  char js[600], s32[33], s33[34], esc[200] = "", esc_over[200] = "";
  memset(s32, 'f', 32); s32[32] = 0;
  memset(s33, 'f', 33); s33[33] = 0;
  for (int m = 0; m < 16; m++) strcat(esc, "\\u00e9");      /* 32 bytes once unescaped */
  for (int m = 0; m < 11; m++) strcat(esc_over, "\\u20ac");  /* 33 bytes (3 each) */
  for (unsigned k = 0; k < sizeof subj / sizeof subj[0]; k++) {
    snprintf(js, sizeof js, "{%s,\"trust\":\"new\",\"flag\":\"rate-limited\",\"ts\":1,\"id\":\"e\",\"session\":\"s\"}", subj[k]);
    EXPECT_OK(js, ER_EVENT_REQUIRE_ALL);
    CHECK(str_is(EV.trust, "new"));
    CHECK(str_is(EV.flag, "rate-limited"));
    /* absent and null: p NULL */
    snprintf(js, sizeof js, "{%s}", subj[k]);
    EXPECT_OK(js, 0);
    CHECK(EV.trust.p == NULL && EV.flag.p == NULL);
    snprintf(js, sizeof js, "{%s,\"trust\":null,\"flag\":null}", subj[k]);
    EXPECT_OK(js, 0);
    CHECK(EV.trust.p == NULL && EV.flag.p == NULL);
    /* empty is present (0 bytes); 32 bytes, also once unescaped */
    snprintf(js, sizeof js, "{%s,\"trust\":\"\",\"flag\":\"\"}", subj[k]);
    EXPECT_OK(js, 0);
    CHECK(EV.trust.p != NULL && EV.trust.n == 0 && EV.flag.p != NULL && EV.flag.n == 0);
    snprintf(js, sizeof js, "{%s,\"trust\":\"%s\",\"flag\":\"%s\"}", subj[k], s32, esc);
    EXPECT_OK(js, 0);
    CHECK_EQ_INT(EV.trust.n, 32);
    CHECK_EQ_INT(EV.flag.n, 96); /* raw bytes, escapes kept */
    /* 33 bytes: out of range, naming the field and its limit */
    snprintf(js, sizeof js, "{%s,\"trust\":\"%s\"}", subj[k], s33);
    EXPECT_ERR(js, 0, ER_E_RANGE, "fff", "trust");
    CHECK(strstr(run_err(js, 0, NULL, NULL).err.msg, "0..32 bytes") != NULL);
    snprintf(js, sizeof js, "{%s,\"flag\":\"%s\"}", subj[k], esc_over);
    EXPECT_ERR(js, 0, ER_E_RANGE, "\\u20ac", "flag");
    /* types: strings only */
    static const char *const bad[] = {"12345", "true", "false", "{\"a\":1}", "[\"bot\"]"};
    for (int m = 0; m < 5; m++) {
      snprintf(js, sizeof js, "{%s,\"flag\":%s}", subj[k], bad[m]);
      EXPECT_ERR(js, 0, ER_E_TYPE, bad[m], "flag");
      snprintf(js, sizeof js, "{%s,\"trust\":%s}", subj[k], bad[m]);
      EXPECT_ERR(js, 0, ER_E_TYPE, bad[m], "trust");
    }
  }
  CHECK(strstr(run_err("{\"type\":\"view\",\"item\":\"x\",\"flag\":7}", 0, NULL, NULL).err.msg, "must be a string, got") != NULL);
  /* order: every other field first, then trust, then flag */
  EXPECT_ERR("{\"flag\":1,\"trust\":2,\"type\":\"view\",\"item\":\"x\",\"rating\":9}", 0, ER_E_RANGE, "9", "rating");
  EXPECT_ERR("{\"flag\":1,\"trust\":2,\"type\":\"view\",\"item\":\"x\"}", 0, ER_E_TYPE, "2,", "trust");
  EXPECT_ERR("{\"type\":\"recs-item-click\",\"item\":\"a\",\"unit\":\"u\",\"unit_type\":\"t\",\"rank\":0,\"trust\":2}", 0,
             ER_E_RANGE, "0,", "rank");
  /* a duplicate is malformed; escaped names are the same field */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"flag\":\"bot\",\"flag\":\"bot\"}", 0, ER_E_JSON, "flag\":\"bot\"}", "flag");
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"fl\\u0061g\":\"bot\",\"tr\\u0075st\":\"new\"}", 0);
  CHECK(str_is(EV.flag, "bot") && str_is(EV.trust, "new"));
  /* not required for logged events either */
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"ts\":1,\"id\":\"e\",\"session\":\"s\"}", ER_EVENT_REQUIRE_ALL);
  /* the profile delta does not depend on them */
  er_profile_delta d1, d2;
  EXPECT_OK("{\"type\":\"cart\",\"item\":\"x\",\"ts\":5,\"price\":3,\"category\":\"C\"}", 0);
  CHECK_EQ_INT(er_event_delta(&EV, &d1), ER_OK);
  EXPECT_OK("{\"type\":\"cart\",\"item\":\"x\",\"ts\":5,\"price\":3,\"category\":\"C\",\"trust\":\"new\",\"flag\":\"bot\"}", 0);
  CHECK_EQ_INT(er_event_delta(&EV, &d2), ER_OK);
  CHECK(!memcmp(&d1, &d2, sizeof d1));
}

/* what each new type does to a profile, from parsed events */
static void test_unit_profile(void);

/* ---- every error path ----------------------------------------------------------- */

static void test_top_level(void) {
  EXPECT_ERR("[1,2]", 0, ER_E_TYPE, NULL, NULL);
  EXPECT_ERR("\"view\"", 0, ER_E_TYPE, "view", NULL);
  EXPECT_ERR("42", 0, ER_E_TYPE, NULL, NULL);
  EXPECT_ERR("  null", 0, ER_E_TYPE, "null", NULL);
  EXPECT_ERR("{\"type\":\"view\",}", 0, ER_E_JSON, "}", NULL);
  {
    er_error e;
    CHECK_EQ_INT(parse("", 0, &e), ER_E_JSON);
    CHECK(strstr(e.msg, "event: empty input") != NULL);
    CHECK_EQ_INT(parse("{\"type\":\"view\"", 0, &e), ER_E_JSON);
    CHECK_EQ_INT(e.offset, 14);
    CHECK(strstr(e.msg, "byte 14") != NULL);
  }
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\"} {}", 0, ER_E_JSON, "{}", NULL);
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"\\x\"}", 0, ER_E_JSON, "\\x", NULL);
  /* duplicate keys: the second occurrence */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"a\",\"type\":\"cart\"}", 0, ER_E_JSON, "type\":\"cart", "type");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"a\",\"x\":1,\"x\":2}", 0, ER_E_JSON, "x\":2", "x");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"a\",\"t\\u0073\":1,\"ts\":2}", 0, ER_E_JSON, "ts\":2", "ts");
  {
    char js[2048] = "{";
    for (int k = 0; k < 70; k++) {
      char kv[32];
      snprintf(kv, sizeof kv, "\"k%d\":%d,", k % 100, k % 100);
      strcat(js, kv);
    }
    strcat(js, "\"type\":\"view\",\"item\":\"a\",\"item\":\"b\"}");
    EXPECT_ERR(js, 0, ER_E_JSON, "item\":\"b", "item");
  }
  /* token capacity and size limits */
  {
    er_error e;
    jsmntok_t few[5];
    const char *js = "{\"type\":\"view\",\"item\":\"a\"}";
    CHECK_EQ_INT(er_event_parse(&EV, js, (uint32_t)strlen(js), few, 4, 0, &e), ER_E_LIMIT);
    CHECK_EQ_INT(er_event_parse(&EV, js, (uint32_t)strlen(js), few, 5, 0, &e), ER_OK);
    static char big[ER_MAX_EVENT_BYTES + 2];
    memset(big, ' ', sizeof big);
    memcpy(big, js, strlen(js));
    CHECK_EQ_INT(er_event_parse(&EV, big, ER_MAX_EVENT_BYTES, TOK, ER_MAX_EVENT_TOKENS, 0, &e), ER_OK);
    CHECK_EQ_INT(er_event_parse(&EV, big, ER_MAX_EVENT_BYTES + 1, TOK, ER_MAX_EVENT_TOKENS, 0, &e), ER_E_LIMIT);
    CHECK_EQ_INT(er_event_parse(NULL, js, 3, TOK, 10, 0, &e), ER_E_USAGE);
    CHECK_EQ_INT(er_event_parse(&EV, NULL, 3, TOK, 10, 0, &e), ER_E_USAGE);
  }
}

static void test_type_errors(void) {
  EXPECT_ERR("{\"item\":\"x\"}", 0, ER_E_SHAPE, NULL, "type");
  EXPECT_ERR("{}", 0, ER_E_SHAPE, NULL, "type");
  EXPECT_ERR("{\"type\":\"teleport\",\"item\":\"X\"}", 0, ER_E_RANGE, "teleport", "type");
  EXPECT_ERR("{\"type\":\"View\",\"item\":\"X\"}", 0, ER_E_RANGE, "View", "type");
  EXPECT_ERR("{\"type\":\"\",\"item\":\"X\"}", 0, ER_E_RANGE, "\",\"item", "type");
  EXPECT_ERR("{\"type\":\"impressionXXXXXXXXXXXXXXXX\",\"item\":\"X\"}", 0, ER_E_RANGE, "impressionX", "type");
  EXPECT_ERR("{\"type\":1,\"item\":\"X\"}", 0, ER_E_TYPE, "1,", "type");
  EXPECT_ERR("{\"type\":null,\"item\":\"X\"}", 0, ER_E_TYPE, "null", "type");
  EXPECT_ERR("{\"type\":[\"view\"],\"item\":\"X\"}", 0, ER_E_TYPE, "[", "type");
  CHECK(strstr((run_err("{\"type\":true}", 0, NULL, NULL)).err.msg, "got boolean") != NULL);
}

static void test_item_errors(void) {
  EXPECT_ERR("{\"type\":\"view\"}", 0, ER_E_SHAPE, NULL, "item");
  EXPECT_ERR("{\"type\":\"feedback\",\"rating\":2}", 0, ER_E_SHAPE, NULL, "item");
  EXPECT_ERR("{\"type\":\"view\",\"item\":null}", 0, ER_E_TYPE, "null", "item");
  EXPECT_ERR("{\"type\":\"view\",\"item\":17}", 0, ER_E_TYPE, "17", "item");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"\"}", 0, ER_E_RANGE, "\"}", "item");
  char js[1000], s129[130];
  memset(s129, 'a', 129); s129[129] = 0;
  snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"%s\"}", s129);
  EXPECT_ERR(js, 0, ER_E_RANGE, "aaa", "item");
  /* 129 bytes once unescaped */
  char esc[400] = "a";
  for (int k = 0; k < 64; k++) strcat(esc, "\\u00e9");
  snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"%s\"}", esc);
  EXPECT_ERR(js, 0, ER_E_RANGE, "a\\u", "item");
}

static void test_number_errors(void) {
  /* ts */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":-1}", 0, ER_E_RANGE, "-1", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":-0.0001}", 0, ER_E_RANGE, "-0", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":4294967296}", 0, ER_E_RANGE, "4294967296", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":1700000000000}", 0, ER_E_RANGE, "17", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":1e400}", 0, ER_E_RANGE, "1e400", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":\"1700000000\"}", 0, ER_E_TYPE, "1700", "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":true}", 0, ER_E_TYPE, "true", "ts");
  CHECK(strstr(run_err("{\"type\":\"view\",\"item\":\"x\",\"ts\":{}}", 0, NULL, NULL).err.msg, "must be a number") != NULL);
  /* price */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"price\":-5}", 0, ER_E_RANGE, "-5", "price");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"price\":-0.001}", 0, ER_E_RANGE, "-0", "price");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"price\":10000000000.01}", 0, ER_E_RANGE, "1000", "price");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"price\":\"12.50\"}", 0, ER_E_TYPE, "12.50", "price");
  /* qty */
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"qty\":1.5}", 0, ER_E_RANGE, "1.5", "qty");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"qty\":1000001}", 0, ER_E_RANGE, "1000001", "qty");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"qty\":-1000001}", 0, ER_E_RANGE, "-1000001", "qty");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"qty\":\"3\"}", 0, ER_E_TYPE, "3\"", "qty");
  /* rating */
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\"}", 0, ER_E_SHAPE, NULL, "rating");
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":null}", 0, ER_E_TYPE, "null", "rating");
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":0}", 0, ER_E_RANGE, "0}", "rating");
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":6}", 0, ER_E_RANGE, "6", "rating");
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":4.5}", 0, ER_E_RANGE, "4.5", "rating");
  EXPECT_ERR("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":\"5\"}", 0, ER_E_TYPE, "5\"", "rating");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"rating\":9}", 0, ER_E_RANGE, "9", "rating");
}

static void test_string_errors(void) {
  static const char *const fields[] = {"id", "session", "user", "category", "country", "device", "unit", "model", "arm"};
  char js[700], s257[258];
  memset(s257, 'z', 257); s257[257] = 0;
  for (unsigned k = 0; k < sizeof fields / sizeof fields[0]; k++) {
    snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"x\",\"%s\":12}", fields[k]);
    EXPECT_ERR(js, 0, ER_E_TYPE, "12", fields[k]);
    snprintf(js, sizeof js, "{\"type\":\"view\",\"item\":\"x\",\"%s\":\"%s\"}", fields[k], s257);
    EXPECT_ERR(js, 0, ER_E_RANGE, "zzz", fields[k]);
  }
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"user\":{\"id\":1}}", 0, ER_E_TYPE, "{\"id", "user");
}

static void test_require_all(void) {
  const uint32_t F = ER_EVENT_REQUIRE_ALL;
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\",\"id\":\"1\",\"ts\":1,\"session\":\"s\"}", F);
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"ts\":1,\"session\":\"s\"}", F, ER_E_SHAPE, NULL, "id");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"id\":\"1\",\"session\":\"s\"}", F, ER_E_SHAPE, NULL, "ts");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"id\":\"1\",\"ts\":1}", F, ER_E_SHAPE, NULL, "session");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"id\":null,\"ts\":1,\"session\":\"s\"}", F, ER_E_TYPE, "null", "id");
  EXPECT_ERR("{\"type\":\"view\",\"item\":\"x\",\"id\":\"1\",\"ts\":null,\"session\":\"s\"}", F, ER_E_TYPE, "null", "ts");
  EXPECT_ERR("{\"type\":\"impression\",\"items\":[\"a\"],\"id\":\"1\",\"ts\":1}", F, ER_E_SHAPE, NULL, "session");
  /* without the flag, none of them is required */
  EXPECT_OK("{\"type\":\"view\",\"item\":\"x\"}", 0);
}

static void test_type_names(void) {
  for (int t = ER_EV_VIEW; t < ER_EV_COUNT; t++) {
    const char *n = er_event_type_name((er_event_type)t);
    CHECK_EQ_INT(er_event_type_from(n, (uint32_t)strlen(n)), t);
  }
  CHECK_EQ_STR(er_event_type_name(ER_EV_IMPRESSION), "impression");
  CHECK_EQ_STR(er_event_type_name((er_event_type)0), "unknown");
  CHECK_EQ_STR(er_event_type_name(ER_EV_WISHLIST), "wishlist");
  CHECK_EQ_STR(er_event_type_name(ER_EV_UNIT_RENDER), "recs-unit-impression-render");
  CHECK_EQ_STR(er_event_type_name(ER_EV_UNIT_VIEW), "recs-unit-view");
  CHECK_EQ_STR(er_event_type_name(ER_EV_UNIT_CLICK), "recs-item-click");
  CHECK_EQ_STR(er_event_type_name(ER_EV_UNIT_CART_CLICK), "recs-item-add-to-cart-click");
  CHECK_EQ_STR(er_event_type_name((er_event_type)ER_EV_COUNT), "unknown");
  CHECK_EQ_INT(er_event_type_from("recs-item", 9), 0);
  CHECK_EQ_INT(er_event_type_from("vie", 3), 0);
  CHECK_EQ_INT(er_event_type_from("views", 5), 0);
  CHECK_EQ_INT(er_event_type_from(NULL, 0), 0);
}

/* ---- the profile delta ------------------------------------------------------------ */

static uint64_t key_of(const char *s) { return er_key(s, strlen(s)); }

static er_profile_delta delta_of(const char *js) {
  er_error e;
  er_profile_delta d;
  memset(&d, 0xEE, sizeof d);
  er_status st = parse(js, 0, &e);
  CHECK_EQ_INT(st, ER_OK);
  if (st) printf("    input: %s\n    message: %s\n", js, e.msg);
  CHECK_EQ_INT(er_event_delta(&EV, &d), ER_OK);
  return d;
}

static void test_delta(void) {
  er_profile_delta d = delta_of("{\"type\":\"cart\",\"item\":\"SKU-1\",\"ts\":1700000000.999,\"price\":19.99,"
                                "\"category\":\"Men/Tops\"}");
  CHECK_EQ_INT(d.type, ER_EV_CART);
  CHECK_EQ_INT(d.ts, 1700000000u);
  CHECK(d.sku_key == key_of("SKU-1"));
  CHECK_EQ_INT(d.price_cents, 1999);
  CHECK_EQ_INT(d.rating, 0);
  CHECK_EQ_INT(d.n_cats, 1);
  CHECK_EQ_INT(d.cat_keys[0], er_cat_key("Men/Tops", 8));

  /* escaped forms hash like the plain ones */
  d = delta_of("{\"type\":\"view\",\"item\":\"SK\\u0055-1\",\"category\":\"Men\\/Tops\"}");
  CHECK(d.sku_key == key_of("SKU-1"));
  CHECK_EQ_INT(d.cat_keys[0], er_cat_key("Men/Tops", 8));
  d = delta_of("{\"type\":\"view\",\"item\":\"caf\\u00E9\"}");
  CHECK(d.sku_key == key_of("caf\xc3\xa9"));
  d = delta_of("{\"type\":\"view\",\"item\":\"caf\xc3\xa9\"}");
  CHECK(d.sku_key == key_of("caf\xc3\xa9"));
  d = delta_of("{\"type\":\"view\",\"item\":\"\\ud83d\\ude00 \\u20ac\"}");
  CHECK(d.sku_key == key_of("\xf0\x9f\x98\x80 \xe2\x82\xac"));
  d = delta_of("{\"type\":\"view\",\"item\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}");
  CHECK(d.sku_key == key_of("a\"b\\c/d\b\f\n\r\t"));
  d = delta_of("{\"type\":\"view\",\"item\":\"\\u0000x\"}");
  CHECK(d.sku_key == er_key("\0x", 2));
  /* agrees with the JSON reader's own unescaping for a 128-byte escaped sku */
  {
    char js[1000] = "{\"type\":\"view\",\"item\":\"", plain[200] = "";
    for (int k = 0; k < 64; k++) { strcat(js, "\\u00e9"); strcat(plain, "\xc3\xa9"); }
    strcat(js, "\"}");
    d = delta_of(js);
    CHECK(d.sku_key == key_of(plain));
  }

  /* no ts: 0 (the engine keeps the profile's time); no price: 0 */
  d = delta_of("{\"type\":\"view\",\"item\":\"x\"}");
  CHECK_EQ_INT(d.ts, 0);
  CHECK_EQ_INT(d.price_cents, 0);
  CHECK_EQ_INT(d.n_cats, 0);
  /* empty category: no key */
  d = delta_of("{\"type\":\"view\",\"item\":\"x\",\"category\":\"\"}");
  CHECK_EQ_INT(d.n_cats, 0);
  /* price beyond 32 bits saturates */
  d = delta_of("{\"type\":\"purchase\",\"item\":\"x\",\"price\":50000000}");
  CHECK_EQ_INT(d.price_cents, 0xFFFFFFFFu);
  /* feedback carries its rating */
  d = delta_of("{\"type\":\"feedback\",\"item\":\"x\",\"rating\":2}");
  CHECK_EQ_INT(d.rating, 2);
  CHECK_EQ_INT(d.type, ER_EV_FEEDBACK);
  /* impressions have no single item */
  d = delta_of("{\"type\":\"impression\",\"items\":[\"a\",\"b\"],\"item\":\"a\"}");
  CHECK_EQ_INT(d.sku_key, 0);
  CHECK_EQ_INT(d.type, ER_EV_IMPRESSION);

  /* usage errors and hand-made events */
  er_event ev;
  memset(&ev, 0, sizeof ev);
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_USAGE); /* no type */
  CHECK_EQ_INT(er_event_delta(NULL, &d), ER_E_USAGE);
  CHECK_EQ_INT(er_event_delta(&ev, NULL), ER_E_USAGE);
  ev.type = ER_EV_VIEW;
  ev.item.p = "ab\\u12";
  ev.item.n = 6;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE); /* truncated escape */
  ev.item.p = "\\udc00";
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE); /* lone low surrogate */
  ev.item.p = "a\\";
  ev.item.n = 2;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE);
  ev.item.p = "a\\q";
  ev.item.n = 3;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE);
  ev.item.p = "\\ud800\\u0041";
  ev.item.n = 12;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE); /* high surrogate without a low one */
  ev.item.p = "plain";
  ev.item.n = 5;
  ev.has_ts = 1;
  ev.ts_ms = 4294967296000ull;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_E_RANGE);
  ev.ts_ms = 5999;
  CHECK_EQ_INT(er_event_delta(&ev, &d), ER_OK);
  CHECK_EQ_INT(d.ts, 5);
  CHECK(d.sku_key == key_of("plain"));
}

/* parse → delta → apply, end to end */
static void test_delta_apply(void) {
  er_profile p;
  er_profile_init(&p);
  er_profile_delta d = delta_of("{\"type\":\"view\",\"item\":\"SK\\u0055-1\",\"ts\":1000,\"price\":10,\"category\":\"Bags\"}");
  er_profile_apply(&p, &d);
  d = delta_of("{\"type\":\"feedback\",\"item\":\"SKU-1\",\"ts\":1001,\"rating\":1}");
  er_profile_apply(&p, &d);
  d = delta_of("{\"type\":\"impression\",\"items\":[\"SKU-2\"],\"ts\":1002}");
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.n_items, 1);
  CHECK(p.items[0].sku_key == key_of("SKU-1"));
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_DISLIKED);
  CHECK_EQ_INT(p.items[0].count, 2);
  CHECK_EQ_INT(p.n_events, 3);
  CHECK_EQ_INT(p.updated, 1002);
  CHECK_EQ_INT(p.price_mean, 1000);
  CHECK_EQ_INT(er_profile_affinity(&p, er_cat_key("Bags", 4)), 256);
}

static void test_unit_profile(void) {
  er_profile p;
  er_profile_init(&p);
  /* unit impressions and views: the list has no single item; only decay and count */
  er_profile_delta d = delta_of("{\"type\":\"recs-unit-impression-render\",\"items\":[\"A\",\"B\"],\"item\":\"A\",\"ts\":1000,"
                                "\"category\":\"Bags\"," UNIT_FIELDS "}");
  CHECK_EQ_INT(d.sku_key, 0);
  CHECK_EQ_INT(d.type, ER_EV_UNIT_RENDER);
  er_profile_apply(&p, &d);
  d = delta_of("{\"type\":\"recs-unit-view\",\"items\":[\"A\",\"B\"],\"ts\":1001,\"price\":5,\"category\":\"Bags\"," UNIT_FIELDS "}");
  CHECK_EQ_INT(d.sku_key, 0);
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.n_items, 0);
  CHECK_EQ_INT(p.n_cats, 0);
  CHECK_EQ_INT(p.price_n, 0);
  CHECK_EQ_INT(p.n_events, 2);
  CHECK_EQ_INT(p.updated, 1001);

  /* recs-item-click: like a click (viewed, category weight 1, price sampled) */
  d = delta_of("{\"type\":\"recs-item-click\",\"item\":\"A\",\"ts\":1002,\"price\":10,\"category\":\"Bags\"," UNIT_FIELDS "}");
  CHECK(d.sku_key == key_of("A"));
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.n_items, 1);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW);
  CHECK_EQ_INT(er_profile_affinity(&p, er_cat_key("Bags", 4)), 256);
  CHECK_EQ_INT(p.price_n, 1);

  /* recs-item-add-to-cart-click: also a click, never a cart (the cart event follows) */
  d = delta_of("{\"type\":\"recs-item-add-to-cart-click\",\"item\":\"B\",\"ts\":1003,\"category\":\"Bags\"," UNIT_FIELDS "}");
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.n_items, 2);
  CHECK(p.items[0].sku_key == key_of("B"));
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW);
  CHECK_EQ_INT(er_profile_affinity(&p, er_cat_key("Bags", 4)), 512);
  /* ... so the cart that follows counts once: weight 3, the cart bit */
  d = delta_of("{\"type\":\"cart\",\"item\":\"B\",\"ts\":1003,\"category\":\"Bags\"}");
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_CART);
  CHECK_EQ_INT(p.items[0].count, 2);
  CHECK_EQ_INT(er_profile_affinity(&p, er_cat_key("Bags", 4)), 512 + 768);

  /* wishlist: between a view (1) and a cart (3): weight 2, marks the item viewed and wished */
  er_profile_init(&p);
  d = delta_of("{\"type\":\"wishlist\",\"item\":\"W\",\"ts\":2000,\"price\":20,\"category\":\"Shoes\"}");
  CHECK(d.sku_key == key_of("W"));
  er_profile_apply(&p, &d);
  CHECK_EQ_INT(p.n_items, 1);
  CHECK_EQ_INT(p.items[0].types, ER_SEEN_VIEW | ER_SEEN_WISH);
  CHECK_EQ_INT(er_profile_affinity(&p, er_cat_key("Shoes", 5)), 512);
  CHECK_EQ_INT(p.price_mean, 2000);
  CHECK_EQ_INT(p.n_events, 1);
}

int main(void) {
  RUN(test_valid);
  RUN(test_impression);
  RUN(test_top_level);
  RUN(test_type_errors);
  RUN(test_item_errors);
  RUN(test_number_errors);
  RUN(test_string_errors);
  RUN(test_require_all);
  RUN(test_type_names);
  RUN(test_wishlist);
  RUN(test_unit_events);
  RUN(test_unit_profile);
  RUN(test_edge_fields);
  RUN(test_delta);
  RUN(test_delta_apply);
  return DONE();
}
