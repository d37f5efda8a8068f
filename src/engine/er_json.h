/* er_json.h — strict JSON on top of jsmn (Debian's libjsmn-dev, JSMN_STRICT +
 * JSMN_PARENT_LINKS).  jsmn checks structure only; er_json_parse first runs a
 * full RFC 8259 validator (numbers, escapes, UTF-8, nesting depth, one value)
 * so every later reader can trust the tokens.  Caller-owned token memory, no
 * allocation, no recursion. */
#ifndef ER_JSON_H
#define ER_JSON_H

#ifndef JSMN_H
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>
#endif

#include "er_base.h"

typedef struct {
  const char *js;      /* the text (not NUL-terminated)       */
  uint32_t len;
  jsmntok_t *tok;      /* caller-owned token array             */
  uint32_t ntok;       /* tokens in use after parsing          */
} er_json;

/* Validate and tokenize `js[0..len)` into `tok[0..cap)`.  `what` names the
 * input in error messages ("context", "response", ...).  Errors: ER_E_JSON
 * (with byte offset), ER_E_LIMIT (depth or token count). */
er_status er_json_parse(er_json *j, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap,
                        const char *what, er_error *err);

/* Tokenize text that er_json_validate already accepted, with exactly the
 * token count it reported (or more) in `tok`. */
er_status er_json_tokenize(er_json *j, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap, er_error *err);

/* Validate only (no tokens): RFC 8259 grammar, UTF-8, depth <= max_depth. */
er_status er_json_validate(const char *js, uint32_t len, uint32_t max_depth, const char *what,
                           er_error *err, uint32_t *ntokens_out);

/* Index of the token after the whole subtree rooted at i. */
uint32_t er_json_skip(const er_json *j, uint32_t i);
/* Value token of `key` in object token obj, or -1.  First match wins (the
 * context parser separately rejects duplicate keys). */
int32_t er_json_get(const er_json *j, uint32_t obj, const char *key);
/* True when string token i equals the NUL-terminated literal s (raw bytes). */
int er_json_eq(const er_json *j, uint32_t i, const char *s);
/* Index of the first duplicate key in object obj, or -1. */
int32_t er_json_find_duplicate(const er_json *j, uint32_t obj);

/* Decode string token i (escapes resolved) into out[cap]; returns length or -1
 * when it does not fit.  Validation already guaranteed well-formedness. */
int32_t er_json_str(const er_json *j, uint32_t i, char *out, uint32_t cap);
/* Number token i as an integer; ER_E_TYPE if not a number, ER_E_RANGE if not
 * integral or outside [lo, hi]. */
er_status er_json_int(const er_json *j, uint32_t i, int64_t lo, int64_t hi, int64_t *out);
/* Number token i as fixed point with `frac_digits` decimals (e.g. 2 → cents),
 * truncated toward zero past that precision; ER_E_RANGE outside [lo, hi]. */
er_status er_json_fixed(const er_json *j, uint32_t i, int frac_digits, int64_t lo, int64_t hi,
                        int64_t *out);
/* Number token as float64 via exact decimal → binary conversion of a limited
 * form (up to 17 significant digits); used by the packer only. */
er_status er_json_double(const er_json *j, uint32_t i, double *out);
/* Boolean token. */
er_status er_json_bool(const er_json *j, uint32_t i, int *out);
static inline int er_json_is(const er_json *j, uint32_t i, jsmntype_t t) { return j->tok[i].type == t; }
static inline int er_json_is_null(const er_json *j, uint32_t i) {
  return j->tok[i].type == JSMN_PRIMITIVE && j->js[j->tok[i].start] == 'n';
}
static inline int er_json_is_number(const er_json *j, uint32_t i) {
  char c = j->js[j->tok[i].start];
  return j->tok[i].type == JSMN_PRIMITIVE && (c == '-' || (c >= '0' && c <= '9'));
}
static inline int er_json_is_bool(const er_json *j, uint32_t i) {
  char c = j->js[j->tok[i].start];
  return j->tok[i].type == JSMN_PRIMITIVE && (c == 't' || c == 'f');
}
/* Byte offset of token i in the text (a string's opening quote). */
static inline int er_json_offset(const er_json *j, uint32_t i) {
  return j->tok[i].start - (j->tok[i].type == JSMN_STRING ? 1 : 0);
}
/* Name of a token's JSON type, for error messages. */
const char *er_json_type_name(const er_json *j, uint32_t i);

#endif
