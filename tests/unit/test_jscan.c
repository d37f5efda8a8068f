/* test_jscan.c — er_jscan (the re-rank's forward walk over validated JSON)
 * against jsmn's tokens: the same spans for every member and element of
 * documents with escapes, nesting, whitespace and every value type; and the
 * walk never leaves the text on truncated or unvalidated input. */
#include "harness.h"

#include "er_json.h"
#include "er_jscan.h"

static jsmntok_t tok[512];

/* Every member / element of the container span v equals jsmn's token at *t (recursively). */
static void same(const char *s, uint32_t len, er_jspan *v, const er_json *j, uint32_t *t) {
  const jsmntok_t *k = &j->tok[*t];
  uint32_t end = er_jscan_skip(s, len, v);
  CHECK_EQ_INT(v->type, k->type);
  CHECK_EQ_INT(v->start, k->start);
  CHECK_EQ_INT(v->end, k->end);
  CHECK(end >= v->end);
  (*t)++;
  if (v->type != JSMN_OBJECT && v->type != JSMN_ARRAY) return;
  er_jspan key, x;
  uint32_t i = v->start + 1, n = 0;
  if (v->type == JSMN_OBJECT)
    while (er_jscan_member(s, len, &i, &key, &x)) {
      CHECK_EQ_INT(key.start, j->tok[*t].start);
      CHECK_EQ_INT(key.end, j->tok[*t].end);
      (*t)++;
      er_jspan y = x;
      same(s, len, &y, j, t);
      i = y.end + (y.type == JSMN_STRING);
      n++;
    }
  else
    while (er_jscan_element(s, len, &i, &x)) {
      er_jspan y = x;
      same(s, len, &y, j, t);
      i = y.end + (y.type == JSMN_STRING);
      n++;
    }
  CHECK_EQ_INT(n, k->size);
  CHECK_EQ_INT(i, v->end); /* the cursor ends after the closing bracket */
}

static void test_spans(void) {
  static const char *docs[] = {
      "{\"a\":1,\"b\":[true,false,null,-1.5e3,\"x\"],\"c\":{}}",
      " { \"data\" : { \"products\" : { \"items\" : [ {\"sku\":\"a\\\"b\\\\\"} , {\"sku\":\"\\u00e9\"} ] } } } ",
      "[[],[{}],{\"k\":[1,[2,[3]]]},\"}]\\\"{[\",\"0123456789abcdefghijklmnopqrstuvwxyz\\\\\"]",
      "{\"long\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"n\":0}",
      "\t[\n1 ,\r2\n]\n",
  };
  for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
    const char *s = docs[d];
    uint32_t len = (uint32_t)strlen(s), t = 0;
    er_json j;
    er_error err;
    CHECK_EQ_INT(er_json_parse(&j, s, len, tok, 512, "doc", &err), ER_OK);
    er_jspan v;
    CHECK(er_jscan_at(s, len, 0, &v));
    same(s, len, &v, &j, &t);
    CHECK_EQ_INT(t, j.ntok);
  }
}

static void test_is_and_tok(void) {
  const char *s = "{\"sku\":\"MH01\",\"sk\\u0075\":1,\"price\":12.50}";
  uint32_t len = (uint32_t)strlen(s), i = 1, hits = 0;
  er_jspan k, v;
  while (er_jscan_member(s, len, &i, &k, &v)) {
    i = er_jscan_skip(s, len, &v);
    hits += er_jscan_is(s, &k, "sku", 3); /* raw bytes: the escaped key is another name */
    if (er_jscan_is(s, &k, "price", 5)) {
      er_json j;
      jsmntok_t t;
      int64_t cents = 0;
      er_jscan_tok(s, len, &v, &j, &t);
      CHECK_EQ_INT(er_json_fixed(&j, 0, 2, 0, 1000000, &cents), ER_OK);
      CHECK_EQ_INT(cents, 1250);
    }
  }
  CHECK_EQ_INT(hits, 1);
}

/* Truncated and unvalidated texts: the walk ends inside [0, len]. */
static void test_bounds(void) {
  const char *s = "{\"a\":[\"x\\\\\",{\"b\":\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"}],\"c\":\"\\";
  uint32_t full = (uint32_t)strlen(s);
  for (uint32_t len = 0; len <= full; len++) {
    er_jspan v, k, x;
    if (!er_jscan_at(s, len, 0, &v)) { CHECK_EQ_INT(len, 0); continue; }
    CHECK(er_jscan_skip(s, len, &v) <= len);
    uint32_t i = v.start + 1, steps = 0;
    while (steps++ < 100 && er_jscan_member(s, len, &i, &k, &x)) { i = er_jscan_skip(s, len, &x); CHECK(i <= len); }
    CHECK(i <= len + 1);
    CHECK(steps < 100);
  }
  const char *junk[] = {"}}}", "\"", "[,,]", "{:}", "{\"a\"}", "\\\\\\"};
  for (size_t d = 0; d < sizeof junk / sizeof junk[0]; d++) {
    uint32_t len = (uint32_t)strlen(junk[d]), i = 1, steps = 0;
    er_jspan v, k, x;
    if (er_jscan_at(junk[d], len, 0, &v)) CHECK(er_jscan_skip(junk[d], len, &v) <= len);
    while (steps++ < 100 && er_jscan_member(junk[d], len, &i, &k, &x)) i = er_jscan_skip(junk[d], len, &x);
    CHECK(steps < 100);
    i = 1, steps = 0;
    while (steps++ < 100 && er_jscan_element(junk[d], len, &i, &x)) i = er_jscan_skip(junk[d], len, &x);
    CHECK(steps < 100);
  }
}

int main(void) {
  RUN(test_spans);
  RUN(test_is_and_tok);
  RUN(test_bounds);
  return DONE();
}
