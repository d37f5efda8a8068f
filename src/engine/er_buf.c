/* er_buf.c — the bounded writer and our number formatter. */
#include "er_buf.h"

#include <string.h>

void er_buf_put(er_buf *b, const void *s, uint32_t n) {
  if (b->overflow || n > b->cap - b->len) { b->overflow = 1; return; }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

void er_buf_lit(er_buf *b, const char *s) { er_buf_put(b, s, (uint32_t)strlen(s)); }

void er_buf_jstr(er_buf *b, const char *s, uint32_t n) {
  static const char hex[] = "0123456789abcdef";
  er_buf_put(b, "\"", 1);
  uint32_t run = 0;
  for (uint32_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    er_buf_put(b, s + run, k - run);
    run = k + 1;
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\') { esc[1] = (char)c; er_buf_put(b, esc, 2); }
    else if (c == '\n') er_buf_put(b, "\\n", 2);
    else if (c == '\t') er_buf_put(b, "\\t", 2);
    else if (c == '\r') er_buf_put(b, "\\r", 2);
    else er_buf_put(b, esc, 6);
  }
  er_buf_put(b, s + run, n - run);
  er_buf_put(b, "\"", 1);
}

static void put_u64(er_buf *b, uint64_t v) {
  char t[20];
  int n = 0;
  do { t[19 - n++] = (char)('0' + v % 10); v /= 10; } while (v);
  er_buf_put(b, t + 20 - n, (uint32_t)n);
}

void er_buf_int(er_buf *b, int64_t v) {
  if (v < 0) { er_buf_put(b, "-", 1); put_u64(b, (uint64_t)0 - (uint64_t)v); }
  else put_u64(b, (uint64_t)v);
}

void er_buf_fixed(er_buf *b, int64_t v, int digits) {
  uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, p = 1;
  for (int k = 0; k < digits; k++) p *= 10;
  if (v < 0) er_buf_put(b, "-", 1);
  put_u64(b, m / p);
  if (digits > 0) {
    char t[20];
    uint64_t f = m % p;
    for (int k = digits - 1; k >= 0; k--) { t[k] = (char)('0' + f % 10); f /= 10; }
    er_buf_put(b, ".", 1);
    er_buf_put(b, t, (uint32_t)digits);
  }
}

void er_buf_q16(er_buf *b, int32_t q) {
  int64_t m = q < 0 ? -(int64_t)q : q;
  int64_t d = (m * 10000 + 32768) >> 16; /* round half up on the magnitude */
  er_buf_fixed(b, q < 0 ? -d : d, 4);
}

void er_buf_hex64(er_buf *b, uint64_t v) {
  static const char hex[] = "0123456789abcdef";
  char t[16];
  for (int k = 15; k >= 0; k--) { t[k] = hex[v & 15]; v >>= 4; }
  er_buf_put(b, t, 16);
}
