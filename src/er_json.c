/* er_json.c — RFC 8259 validator + jsmn tokenizer + readers. */
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#define JSMN_STATIC
#include <jsmn.h> /* the implementation, static to this file */

#include "er_json.h"

#include <stdlib.h>
#include <string.h>

/* ---- validator ------------------------------------------------------------ */

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Length of a valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static uint32_t utf8_len(const uint8_t *p, uint32_t n) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  /* overlong */
    if (c == 0xED && p[1] >= 0xA0) return 0; /* surrogates */
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;
    if (c == 0xF4 && p[1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

static int hexv(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Scan a string starting at the opening quote; returns offset after closing
 * quote or 0 with *why set. */
static uint32_t scan_string(const uint8_t *s, uint32_t len, uint32_t i, const char **why, uint32_t *at) {
  i++;
  while (i < len) {
    uint8_t c = s[i];
    if (c == '"') return i + 1;
    if (c < 0x20) { *why = "control character in string"; *at = i; return 0; }
    if (c == '\\') {
      if (i + 1 >= len) break;
      uint8_t e = s[i + 1];
      if (e == 'u') {
        if (i + 5 >= len) break;
        int v = 0;
        for (int k = 2; k < 6; k++) {
          int h = hexv(s[i + k]);
          if (h < 0) { *why = "bad \\u escape"; *at = i; return 0; }
          v = v * 16 + h;
        }
        if (v >= 0xD800 && v <= 0xDBFF) { /* high surrogate: needs a low one */
          if (i + 11 >= len || s[i + 6] != '\\' || s[i + 7] != 'u') { *why = "unpaired surrogate escape"; *at = i; return 0; }
          int w = 0;
          for (int k = 8; k < 12; k++) {
            int h = hexv(s[i + k]);
            if (h < 0) { *why = "bad \\u escape"; *at = i + 6; return 0; }
            w = w * 16 + h;
          }
          if (w < 0xDC00 || w > 0xDFFF) { *why = "unpaired surrogate escape"; *at = i; return 0; }
          i += 12;
        } else if (v >= 0xDC00 && v <= 0xDFFF) {
          *why = "unpaired surrogate escape"; *at = i; return 0;
        } else {
          i += 6;
        }
        continue;
      }
      if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') { i += 2; continue; }
      *why = "bad escape"; *at = i; return 0;
    }
    uint32_t n = utf8_len(s + i, len - i);
    if (!n) { *why = "invalid UTF-8"; *at = i; return 0; }
    i += n;
  }
  *why = "unterminated string"; *at = len;
  return 0;
}

static uint32_t scan_number(const uint8_t *s, uint32_t len, uint32_t i, const char **why, uint32_t *at) {
  uint32_t st = i;
  if (i < len && s[i] == '-') i++;
  if (i >= len) goto bad;
  if (s[i] == '0') i++;
  else if (s[i] >= '1' && s[i] <= '9') while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  else goto bad;
  if (i < len && s[i] == '.') {
    i++;
    if (i >= len || !(s[i] >= '0' && s[i] <= '9')) goto bad;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= len || !(s[i] >= '0' && s[i] <= '9')) goto bad;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
  }
  return i;
bad:
  *why = "malformed number"; *at = st;
  return 0;
}

er_status er_json_validate(const char *js, uint32_t len, uint32_t max_depth, const char *what,
                           er_error *err, uint32_t *ntokens_out) {
  const uint8_t *s = (const uint8_t *)js;
  /* container stack as bits: 1 = object, 0 = array; depth <= 64 */
  uint64_t stack = 0;
  uint32_t depth = 0, ntok = 0, i = 0;
  const char *why = NULL;
  uint32_t at = 0;
  if (max_depth > 64) max_depth = 64;
  /* states: expecting a value (V), after value (A), expecting key or '}' (K0),
   * expecting key (K), expecting ':' (C), expecting value or ']' (V0) */
  enum { V, V0, A, K0, K, C } st = V;
  int done = 0;
  if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
    return er_fail(err, ER_E_JSON, 0, "%s: byte order mark at byte 0 (not allowed in JSON)", what);
  while (i < len) {
    uint8_t c = s[i];
    if (is_ws(c)) { i++; continue; }
    if (done) { why = "trailing data after the JSON value"; at = i; goto fail; }
    switch (st) {
    case V: case V0:
      if (st == V0 && c == ']') goto close;
      if (c == '{' || c == '[') {
        if (depth >= max_depth) return er_fail(err, ER_E_LIMIT, i, "%s: nesting deeper than %u at byte %u", what, max_depth, i);
        stack = (stack << 1) | (c == '{');
        depth++;
        ntok++;
        i++;
        st = c == '{' ? K0 : V0;
        continue;
      }
      if (c == '"') {
        uint32_t e = scan_string(s, len, i, &why, &at);
        if (!e) goto fail;
        i = e;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        uint32_t e = scan_number(s, len, i, &why, &at);
        if (!e) goto fail;
        i = e;
      } else if (c == 't' && len - i >= 4 && !memcmp(s + i, "true", 4)) i += 4;
      else if (c == 'f' && len - i >= 5 && !memcmp(s + i, "false", 5)) i += 5;
      else if (c == 'n' && len - i >= 4 && !memcmp(s + i, "null", 4)) i += 4;
      else { why = "unexpected character"; at = i; goto fail; }
      ntok++;
      st = A;
      if (depth == 0) done = 1;
      continue;
    case A:
      if (depth == 0) { why = "trailing data"; at = i; goto fail; }
      if (c == ',') { st = (stack & 1) ? K : V; i++; continue; }
      if ((c == '}' && (stack & 1)) || (c == ']' && !(stack & 1))) goto close;
      why = (stack & 1) ? "expected ',' or '}'" : "expected ',' or ']'"; at = i; goto fail;
    case K0: case K:
      if (st == K0 && c == '}') goto close;
      if (c != '"') { why = "expected a string key"; at = i; goto fail; }
      {
        uint32_t e = scan_string(s, len, i, &why, &at);
        if (!e) goto fail;
        i = e;
      }
      ntok++;
      st = C;
      continue;
    case C:
      if (c != ':') { why = "expected ':'"; at = i; goto fail; }
      i++;
      st = V;
      continue;
    }
  close:
    stack >>= 1;
    depth--;
    i++;
    st = A;
    if (depth == 0) done = 1;
  }
  if (!done) {
    if (ntok == 0) return er_fail(err, ER_E_JSON, 0, "%s: empty input (expected a JSON value)", what);
    return er_fail(err, ER_E_JSON, len, "%s: unexpected end of input at byte %u (truncated JSON)", what, len);
  }
  if (ntokens_out) *ntokens_out = ntok;
  return ER_OK;
fail:
  return er_fail(err, ER_E_JSON, at, "%s: %s at byte %u", what, why, at);
}

er_status er_json_parse(er_json *j, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap,
                        const char *what, er_error *err) {
  uint32_t need = 0;
  er_status st = er_json_validate(js, len, ER_MAX_JSON_DEPTH, what, err, &need);
  if (st) return st;
  if (need > cap)
    return er_fail(err, ER_E_LIMIT, ER_NO_OFFSET, "%s: %u JSON tokens, more than the limit of %u", what, need, cap);
  return er_json_tokenize(j, js, len, tok, cap, err);
}

er_status er_json_tokenize(er_json *j, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap, er_error *err) {
  jsmn_parser p;
  jsmn_init(&p);
  int r = jsmn_parse(&p, js, len, tok, cap);
  if (r == JSMN_ERROR_PART && cap >= 1) {
    /* JSMN_STRICT wants a delimiter after every primitive, so it reports a
     * validated document that is one primitive ending the input ("3",
     * "true") as partial: that document is exactly one token. */
    uint32_t a = 0, b = len;
    while (a < b && is_ws((uint8_t)js[a])) a++;
    while (b > a && is_ws((uint8_t)js[b - 1])) b--;
    if (a < b && js[a] != '"' && js[a] != '{' && js[a] != '[') {
      tok[0] = (jsmntok_t){.type = JSMN_PRIMITIVE, .start = (int)a, .end = (int)b, .size = 0, .parent = -1};
      r = 1;
    }
  }
  if (r <= 0) /* cannot happen after validation; kept as a guard */
    return er_fail(err, ER_E_JSON, p.pos, "JSON tokenizer rejected input at byte %u", p.pos);
  j->js = js;
  j->len = len;
  j->tok = tok;
  j->ntok = (uint32_t)r;
  return ER_OK;
}

/* ---- readers --------------------------------------------------------------- */

uint32_t er_json_skip(const er_json *j, uint32_t i) {
  int end = j->tok[i].end;
  i++;
  while (i < j->ntok && j->tok[i].start < end) i++;
  return i;
}

int er_json_eq(const er_json *j, uint32_t i, const char *s) {
  const jsmntok_t *t = &j->tok[i];
  size_t n = strlen(s);
  return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && !memcmp(j->js + t->start, s, n);
}

int32_t er_json_get(const er_json *j, uint32_t obj, const char *key) {
  if (j->tok[obj].type != JSMN_OBJECT) return -1;
  uint32_t i = obj + 1;
  for (int k = 0; k < j->tok[obj].size; k++) {
    if (er_json_eq(j, i, key)) return (int32_t)(i + 1);
    i = er_json_skip(j, i + 1);
  }
  return -1;
}

int32_t er_json_find_duplicate(const er_json *j, uint32_t obj) {
  if (j->tok[obj].type != JSMN_OBJECT) return -1;
  int n = j->tok[obj].size;
  uint32_t keys[64];
  if (n > 64) n = 64; /* contexts have few keys; beyond 64 the rest are unknown anyway */
  uint32_t i = obj + 1;
  for (int k = 0; k < n; k++) {
    keys[k] = i;
    for (int m = 0; m < k; m++) {
      const jsmntok_t *a = &j->tok[keys[m]], *b = &j->tok[i];
      if (a->end - a->start == b->end - b->start && !memcmp(j->js + a->start, j->js + b->start, (size_t)(a->end - a->start)))
        return (int32_t)i;
    }
    i = er_json_skip(j, i + 1);
  }
  return -1;
}

static uint32_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int32_t er_json_str(const er_json *j, uint32_t i, char *out, uint32_t cap) {
  const jsmntok_t *t = &j->tok[i];
  if (t->type != JSMN_STRING) return -1;
  const char *s = j->js + t->start;
  uint32_t n = (uint32_t)(t->end - t->start), o = 0;
  for (uint32_t k = 0; k < n;) {
    char c = s[k];
    char tmp[4];
    uint32_t w;
    if (c != '\\') { tmp[0] = c; w = 1; k++; }
    else {
      char e = s[k + 1];
      if (e == 'u') {
        uint32_t cp = 0;
        for (int m = 2; m < 6; m++) cp = cp * 16 + (uint32_t)hexv((uint8_t)s[k + m]);
        k += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          for (int m = 2; m < 6; m++) lo = lo * 16 + (uint32_t)hexv((uint8_t)s[k + m]);
          k += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        w = put_utf8(tmp, cp);
      } else {
        k += 2;
        w = 1;
        tmp[0] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
      }
    }
    if (o + w > cap) return -1;
    memcpy(out + o, tmp, w);
    o += w;
  }
  return (int32_t)o;
}

const char *er_json_type_name(const er_json *j, uint32_t i) {
  switch (j->tok[i].type) {
  case JSMN_OBJECT: return "object";
  case JSMN_ARRAY: return "array";
  case JSMN_STRING: return "string";
  case JSMN_PRIMITIVE:
    if (er_json_is_null(j, i)) return "null";
    if (er_json_is_bool(j, i)) return "boolean";
    return "number";
  default: return "undefined";
  }
}

/* Parse a validated number token into mantissa digits / exponent. */
er_status er_json_fixed(const er_json *j, uint32_t i, int frac_digits, int64_t lo, int64_t hi, int64_t *out) {
  if (!er_json_is_number(j, i)) return ER_E_TYPE;
  const char *s = j->js + j->tok[i].start, *e = j->js + j->tok[i].end;
  int neg = 0;
  if (*s == '-') { neg = 1; s++; }
  /* collect digits and the decimal exponent */
  int64_t mant = 0;
  int exp10 = 0, overflow = 0, seen_dot = 0;
  int64_t limit = (int64_t)1 << 62;
  for (; s < e && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') { seen_dot = 1; continue; }
    int d = *s - '0';
    if (mant > (limit - d) / 10) { /* too many digits: drop the rest */
      if (!seen_dot) exp10++;
      if (d) overflow |= 0; /* truncation toward zero */
      continue;
    }
    mant = mant * 10 + d;
    if (seen_dot) exp10--;
  }
  if (s < e) { /* exponent */
    s++;
    int eneg = 0;
    if (*s == '+' || *s == '-') { eneg = *s == '-'; s++; }
    int64_t ev = 0;
    for (; s < e; s++) { if (ev < 100000) ev = ev * 10 + (*s - '0'); }
    exp10 += (int)(eneg ? -ev : ev);
  }
  exp10 += frac_digits;
  while (exp10 > 0) {
    if (mant > limit / 10) { overflow = 1; break; }
    mant *= 10;
    exp10--;
  }
  while (exp10 < 0 && mant) { mant /= 10; exp10++; }
  if (overflow) return ER_E_RANGE;
  int64_t v = neg ? -mant : mant;
  if (v < lo || v > hi) return ER_E_RANGE;
  *out = v;
  return ER_OK;
}

er_status er_json_int(const er_json *j, uint32_t i, int64_t lo, int64_t hi, int64_t *out) {
  if (!er_json_is_number(j, i)) return ER_E_TYPE;
  int64_t v, v1;
  er_status st = er_json_fixed(j, i, 0, INT64_MIN / 2, INT64_MAX / 2, &v);
  if (st) return st;
  /* integral check: value with one more decimal must be 10×v */
  if (er_json_fixed(j, i, 1, INT64_MIN / 2, INT64_MAX / 2, &v1) == ER_OK && v1 != v * 10) return ER_E_RANGE;
  if (v < lo || v > hi) return ER_E_RANGE;
  *out = v;
  return ER_OK;
}

er_status er_json_double(const er_json *j, uint32_t i, double *out) {
  if (!er_json_is_number(j, i)) return ER_E_TYPE;
  char buf[64];
  uint32_t n = (uint32_t)(j->tok[i].end - j->tok[i].start);
  if (n >= sizeof buf) return ER_E_RANGE;
  memcpy(buf, j->js + j->tok[i].start, n);
  buf[n] = 0;
  *out = strtod(buf, NULL);
  return ER_OK;
}

er_status er_json_bool(const er_json *j, uint32_t i, int *out) {
  if (!er_json_is_bool(j, i)) return ER_E_TYPE;
  *out = j->js[j->tok[i].start] == 't';
  return ER_OK;
}
