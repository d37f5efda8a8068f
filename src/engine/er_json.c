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

/* Bytes that need no attention inside a string: printable ASCII (0x20..0x7F)
 * except '"' and '\\'.  Everything else (the quote, a backslash, a control
 * byte, a UTF-8 lead or continuation byte) stops the fast skip. */
#define ER_ROW0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define ER_ROW1 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t plain_byte[256] = {
    ER_ROW0, ER_ROW0,                                        /* 0x00..0x1F control          */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,          /* 0x20..0x2F: 0x22 '"'        */
    ER_ROW1, ER_ROW1,                                        /* 0x30..0x4F                  */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,          /* 0x50..0x5F: 0x5C backslash  */
    ER_ROW1, ER_ROW1,                                        /* 0x60..0x7F                  */
    ER_ROW0, ER_ROW0, ER_ROW0, ER_ROW0, ER_ROW0, ER_ROW0, ER_ROW0, ER_ROW0 /* 0x80..0xFF */
};
#undef ER_ROW0
#undef ER_ROW1

/* Eight bytes at a time where words are little-endian and ctz is a builtin
 * (gcc, clang, wasm32): the lowest flagged byte of special8() is exactly the
 * first byte that is not plain (borrows only travel upward from a flagged
 * byte), so the skip stops where the byte loop would. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ER_JSON_SWAR 1
#define ER_ONES 0x0101010101010101ull
#define ER_HIGH 0x8080808080808080ull
static inline uint64_t special8(uint64_t x) {
  uint64_t q = x ^ (ER_ONES * '"'), b = x ^ (ER_ONES * '\\');
  /* a zero byte in q or b: '"' or '\\'; (x - 0x20) | x high: < 0x20 or >= 0x80 */
  return (((q - ER_ONES) & ~q) | ((b - ER_ONES) & ~b) | (x - ER_ONES * 0x20) | x) & ER_HIGH;
}
#endif

/* First index >= i whose byte is not plain (or len). */
static inline uint32_t skip_plain(const uint8_t *s, uint32_t len, uint32_t i) {
#ifdef ER_JSON_SWAR
  while (len - i >= 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    uint64_t m = special8(x);
    if (m) return i + ((uint32_t)__builtin_ctzll(m) >> 3);
    i += 8;
  }
#endif
  while (i < len && plain_byte[s[i]]) i++;
  return i;
}

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

/* The rest of a string from byte i inside it (escapes, UTF-8, the end):
 * returns the offset after the closing quote, or 0 with *why and *at set. */
static uint32_t scan_string_rest(const uint8_t *s, uint32_t len, uint32_t i, const char **why, uint32_t *at) {
  while (i < len) {
    i = skip_plain(s, len, i);
    if (i >= len) break;
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

/* Scan a string starting at the opening quote; returns offset after closing
 * quote or 0 with *why set.  Inline: most strings are plain ASCII up to the
 * quote, which skip_plain passes in one or two words. */
static inline uint32_t scan_string(const uint8_t *s, uint32_t len, uint32_t i, const char **why, uint32_t *at) {
  i = skip_plain(s, len, i + 1);
  if (i < len && s[i] == '"') return i + 1;
  return scan_string_rest(s, len, i, why, at);
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
  uint32_t depth = 0, ntok = 0, i = 0, e;
  const char *why = NULL;
  uint32_t at = 0;
  uint8_t c;
  if (max_depth > 64) max_depth = 64;
  if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
    return er_fail(err, ER_E_JSON, 0, "%s: byte order mark at byte 0 (not allowed in JSON)", what);
  /* A state machine written as labels: value (expecting a value), after (a
   * value ended), key0 (a key or '}'), key (a key), then ':' and a value.
   * NEXT() skips whitespace and loads the next byte into c; the input ending
   * there is a truncation (or, before any token, an empty input). */
#define NEXT()                                                           \
  do {                                                                   \
    while (i < len && s[i] <= ' ' && is_ws(s[i])) i++;                  \
    if (i >= len) goto eof;                                              \
    c = s[i];                                                            \
  } while (0)
value:
  NEXT();
value_c:
  if (c == '{' || c == '[') {
    if (depth >= max_depth) return er_fail(err, ER_E_LIMIT, i, "%s: nesting deeper than %u at byte %u", what, max_depth, i);
    stack = (stack << 1) | (c == '{');
    depth++;
    ntok++;
    i++;
    if (c == '{') goto key0;
    NEXT(); /* a value or ']' */
    if (c == ']') goto close;
    goto value_c;
  }
  if (c == '"') {
    if (!(e = scan_string(s, len, i, &why, &at))) goto fail;
    i = e;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    if (!(e = scan_number(s, len, i, &why, &at))) goto fail;
    i = e;
  } else if (c == 't' && len - i >= 4 && !memcmp(s + i, "true", 4)) i += 4;
  else if (c == 'f' && len - i >= 5 && !memcmp(s + i, "false", 5)) i += 5;
  else if (c == 'n' && len - i >= 4 && !memcmp(s + i, "null", 4)) i += 4;
  else { why = "unexpected character"; at = i; goto fail; }
  ntok++;
after:
  if (depth == 0) goto done;
  NEXT();
  if (c == ',') {
    i++;
    if (stack & 1) goto key;
    goto value;
  }
  if ((c == '}' && (stack & 1)) || (c == ']' && !(stack & 1))) goto close;
  why = (stack & 1) ? "expected ',' or '}'" : "expected ',' or ']'";
  at = i;
  goto fail;
key0:
  NEXT();
  if (c == '}') goto close;
  goto key_c;
key:
  NEXT();
key_c:
  if (c != '"') { why = "expected a string key"; at = i; goto fail; }
  if (!(e = scan_string(s, len, i, &why, &at))) goto fail;
  i = e;
  ntok++;
  NEXT();
  if (c != ':') { why = "expected ':'"; at = i; goto fail; }
  i++;
  goto value;
close:
  stack >>= 1;
  depth--;
  i++;
  goto after;
#undef NEXT
done: /* the value is complete: only whitespace may follow */
  while (i < len && is_ws(s[i])) i++;
  if (i < len) { why = "trailing data after the JSON value"; at = i; goto fail; }
  if (ntokens_out) *ntokens_out = ntok;
  return ER_OK;
eof:
  if (ntok == 0) return er_fail(err, ER_E_JSON, 0, "%s: empty input (expected a JSON value)", what);
  return er_fail(err, ER_E_JSON, len, "%s: unexpected end of input at byte %u (truncated JSON)", what, len);
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

/* Tokens are in document order with strictly ascending starts, so the
 * subtree of i is the run of tokens after it that start before its end: the
 * first token past it is found by galloping then bisecting on start. */
uint32_t er_json_skip(const er_json *j, uint32_t i) {
  const jsmntok_t *t = j->tok;
  int end = t[i].end;
  uint32_t n = j->ntok, lo = i + 1; /* tokens in (i, lo) start before end */
  if (lo >= n || t[lo].start >= end) return lo; /* a scalar, a key, an empty container */
  uint32_t step = 1, hi;                         /* t[lo] starts before end */
  for (;;) {
    hi = lo + step;
    if (hi >= n) { hi = n; break; }
    if (t[hi].start >= end) break;
    lo = hi;
    step *= 2;
  }
  /* t[lo] starts before end; hi == n or t[hi] starts at or after end */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (t[mid].start < end) lo = mid;
    else hi = mid;
  }
  return hi;
}

int er_json_eq(const er_json *j, uint32_t i, const char *s) {
  const jsmntok_t *t = &j->tok[i];
  size_t n = strlen(s);
  return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && !memcmp(j->js + t->start, s, n);
}

int32_t er_json_get(const er_json *j, uint32_t obj, const char *key) {
  if (j->tok[obj].type != JSMN_OBJECT) return -1;
  size_t n = strlen(key);
  uint32_t i = obj + 1;
  for (int k = 0; k < j->tok[obj].size; k++) {
    const jsmntok_t *t = &j->tok[i]; /* as er_json_eq(j, i, key) */
    if (t->type == JSMN_STRING && (size_t)(t->end - t->start) == n && !memcmp(j->js + t->start, key, n)) return (int32_t)(i + 1);
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

/* Copy s[0..lim) to out up to the first backslash; returns the bytes copied. */
static inline uint32_t copy_plain(const char *s, char *out, uint32_t lim) {
  uint32_t k = 0;
#ifdef ER_JSON_SWAR
  while (lim - k >= 8) { /* eight bytes at a time while none is a backslash */
    uint64_t x;
    memcpy(&x, s + k, 8);
    uint64_t b = x ^ (ER_ONES * '\\');
    if ((b - ER_ONES) & ~b & ER_HIGH) break;
    memcpy(out + k, &x, 8);
    k += 8;
  }
#endif
  while (k < lim && s[k] != '\\') {
    out[k] = s[k];
    k++;
  }
  return k;
}

/* Runs of bytes between escapes are copied as they are; an escape is decoded
 * whole or not at all.  When the result does not fit, what fits has been
 * written (as a byte-by-byte copy would) and -1 is returned. */
int32_t er_json_str(const er_json *j, uint32_t i, char *out, uint32_t cap) {
  const jsmntok_t *t = &j->tok[i];
  if (t->type != JSMN_STRING) return -1;
  const char *s = j->js + t->start;
  uint32_t n = (uint32_t)(t->end - t->start);
  uint32_t k = copy_plain(s, out, n < cap ? n : cap), o = k;
  if (k == n) return (int32_t)n; /* no escape: the common case */
  if (k == cap) return -1;
  for (;;) { /* s[k] is a backslash */
    char tmp[4];
    uint32_t w;
    char c = s[k + 1];
    if (c == 'u') {
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
      tmp[0] = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
    }
    if (o + w > cap) return -1;
    memcpy(out + o, tmp, w);
    o += w;
    uint32_t room = cap - o, left = n - k;
    uint32_t r = copy_plain(s + k, out + o, left < room ? left : room);
    o += r;
    k += r;
    if (k == n) return (int32_t)o;
    if (r == room) return -1; /* more to write, no room */
  }
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
