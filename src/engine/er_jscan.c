/* er_jscan.c — a forward cursor over a validated JSON text (er_jscan.h). */
#include "er_jscan.h"

#include <string.h>
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* byte classes: 1 whitespace, 2 a quote or backslash, 4 an opening bracket,
 * 8 a closing bracket, 16 a comma or colon */
static const uint8_t CLS[256] = {
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1, ['"'] = 2, ['\\'] = 2,
    ['{'] = 4, ['['] = 4, ['}'] = 8, [']'] = 8, [','] = 16, [':'] = 16,
};

static inline uint32_t skip_ws(const char *s, uint32_t len, uint32_t i) {
  while (i < len && CLS[(uint8_t)s[i]] == 1) i++;
  return i;
}

/* The first quote or backslash at or after i (len if none): 16 bytes at a
 * time (simd128) or 8 (SWAR on little-endian hosts: the lowest flagged byte
 * is exact), then bytes. */
static inline uint32_t quote_or_backslash(const char *s, uint32_t len, uint32_t i) {
#if defined(__wasm_simd128__)
  const v128_t q = wasm_i8x16_splat('"'), b = wasm_i8x16_splat('\\');
  for (; i + 16 <= len; i += 16) {
    v128_t x = wasm_v128_load(s + i);
    uint32_t m = (uint32_t)wasm_i8x16_bitmask(wasm_v128_or(wasm_i8x16_eq(x, q), wasm_i8x16_eq(x, b)));
    if (m) return i + (uint32_t)__builtin_ctz(m);
  }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  for (; i + 8 <= len; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    uint64_t xq = x ^ (ones * '"'), xb = x ^ (ones * '\\');
    uint64_t m = ((xq - ones) & ~xq & high) | ((xb - ones) & ~xb & high);
    if (m) return i + (uint32_t)__builtin_ctzll(m) / 8;
  }
#endif
  while (i < len && s[i] != '"' && s[i] != '\\') i++;
  return i;
}

/* The closing quote of the string whose first byte (after the quote) is i. */
static uint32_t string_close(const char *s, uint32_t len, uint32_t i) {
  for (;;) {
    i = quote_or_backslash(s, len, i);
    if (i >= len || s[i] == '"') return i < len ? i : len;
    i += 2; /* a backslash and the byte it escapes */
  }
}

/* Bit k of each mask: byte p[k] is a quote, a backslash, an opening or a
 * closing bracket (16 bytes). */
typedef struct { uint32_t q, bs, open, close; } masks16;
static inline masks16 block_masks(const char *p) {
  masks16 m;
#if defined(__wasm_simd128__)
  v128_t x = wasm_v128_load(p);
  m.q = (uint32_t)wasm_i8x16_bitmask(wasm_i8x16_eq(x, wasm_i8x16_splat('"')));
  m.bs = (uint32_t)wasm_i8x16_bitmask(wasm_i8x16_eq(x, wasm_i8x16_splat('\\')));
  m.open = (uint32_t)wasm_i8x16_bitmask(wasm_v128_or(wasm_i8x16_eq(x, wasm_i8x16_splat('{')), wasm_i8x16_eq(x, wasm_i8x16_splat('['))));
  m.close = (uint32_t)wasm_i8x16_bitmask(wasm_v128_or(wasm_i8x16_eq(x, wasm_i8x16_splat('}')), wasm_i8x16_eq(x, wasm_i8x16_splat(']'))));
#else
  m.q = m.bs = m.open = m.close = 0;
  for (uint32_t k = 0; k < 16; k++) {
    uint8_t c = CLS[(uint8_t)p[k]];
    if (c == 2) *(p[k] == '"' ? &m.q : &m.bs) |= 1u << k;
    else if (c == 4) m.open |= 1u << k;
    else if (c == 8) m.close |= 1u << k;
  }
#endif
  return m;
}

/* After the container whose opening bracket is at i: 16 bytes at a time
 * where a block holds no backslash (the bytes inside strings are the
 * prefix XOR of the quotes; brackets outside them count), byte by byte
 * where it does and at the end. */
static uint32_t container_end(const char *s, uint32_t len, uint32_t i) {
  uint32_t depth = 0;
  int in_str = 0;
  while (i < len) {
    if (i + 16 <= len) {
      masks16 m = block_masks(s + i);
      if (!m.bs) {
        uint32_t inside = m.q;
        inside ^= inside << 1;
        inside ^= inside << 2;
        inside ^= inside << 4;
        inside ^= inside << 8;
        inside = (inside ^ (in_str ? 0xFFFFu : 0u)) & 0xFFFFu;
        uint32_t op = m.open & ~inside, cl = m.close & ~inside;
        for (uint32_t bits = op | cl; bits; bits &= bits - 1) {
          uint32_t k = (uint32_t)__builtin_ctz(bits);
          if (op >> k & 1) depth++;
          else if (--depth == 0) return i + k + 1;
        }
        in_str ^= __builtin_popcount(m.q) & 1;
        i += 16;
        continue;
      }
    }
    /* a block with a backslash, or the tail: 16 bytes (or to the end) one at a time */
    for (uint32_t stop = len - i > 16 ? i + 16 : len; i < stop;) {
      char c = s[i];
      if (in_str) {
        i += c == '\\' ? 2 : 1;
        if (c == '"') in_str = 0;
        continue;
      }
      if (c == '"') in_str = 1;
      else if (c == '{' || c == '[') depth++;
      else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      i++;
    }
  }
  return len;
}

int er_jscan_at(const char *s, uint32_t len, uint32_t i, er_jspan *v) {
  i = skip_ws(s, len, i);
  if (i >= len) return 0;
  char c = s[i];
  if (CLS[(uint8_t)c] & (8 | 16)) return 0; /* a closing bracket, ',' or ':': no value here */
  v->type = c == '{' ? JSMN_OBJECT : c == '[' ? JSMN_ARRAY : c == '"' ? JSMN_STRING : JSMN_PRIMITIVE;
  v->start = c == '"' ? i + 1 : i;
  v->end = v->start;
  return 1;
}

uint32_t er_jscan_skip(const char *s, uint32_t len, er_jspan *v) {
  uint32_t i = v->start;
  if (v->type == JSMN_STRING) {
    v->end = string_close(s, len, i);
    return v->end < len ? v->end + 1 : len;
  }
  if (v->type == JSMN_PRIMITIVE) {
    while (i < len && !CLS[(uint8_t)s[i]]) i++;
    if (i == v->start && i < len) i++; /* not JSON (a stray backslash): still move on */
    return v->end = i;
  }
  return v->end = container_end(s, len, i);
}

int er_jscan_member(const char *s, uint32_t len, uint32_t *i, er_jspan *key, er_jspan *v) {
  uint32_t j = skip_ws(s, len, *i);
  if (j < len && s[j] == ',') j = skip_ws(s, len, j + 1);
  if (j >= len || s[j] != '"') { *i = j < len ? j + 1 : len; return 0; } /* '}' */
  key->type = JSMN_STRING;
  key->start = j + 1;
  key->end = string_close(s, len, j + 1);
  j = skip_ws(s, len, key->end + 1);
  if (j >= len || s[j] != ':' || !er_jscan_at(s, len, j + 1, v)) { *i = len; return 0; }
  *i = v->start;
  return 1;
}

int er_jscan_element(const char *s, uint32_t len, uint32_t *i, er_jspan *v) {
  uint32_t j = skip_ws(s, len, *i);
  if (j < len && s[j] == ',') j = skip_ws(s, len, j + 1);
  if (j >= len || s[j] == ']') { *i = j < len ? j + 1 : len; return 0; }
  if (!er_jscan_at(s, len, j, v)) { *i = len; return 0; }
  *i = v->start;
  return 1;
}

void er_jscan_tok(const char *s, uint32_t len, const er_jspan *v, er_json *j, jsmntok_t *tok) {
  *tok = (jsmntok_t){.type = v->type, .start = (int)v->start, .end = (int)v->end, .size = 0, .parent = -1};
  j->js = s;
  j->len = len;
  j->tok = tok;
  j->ntok = 1;
}
