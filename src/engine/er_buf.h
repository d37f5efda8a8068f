/* er_buf.h — bounded output writer: bytes, JSON strings, integers and
 * fixed-point decimals printed by our own formatter (identical on every
 * runtime; no printf, no floating point).  Overflow sets a flag instead of
 * writing past the end. */
#ifndef ER_BUF_H
#define ER_BUF_H

#include "er_base.h"

typedef struct {
  char *p;
  uint32_t cap, len;
  int overflow;
} er_buf;

static inline void er_buf_init(er_buf *b, char *mem, uint32_t cap) { b->p = mem; b->cap = cap; b->len = 0; b->overflow = 0; }
/* Append n raw bytes. */
void er_buf_put(er_buf *b, const void *s, uint32_t n);
/* Append a NUL-terminated literal. */
void er_buf_lit(er_buf *b, const char *s);
/* Append s[0..n) as a JSON string with quotes (escapes ", \ and controls;
 * bytes >= 0x80 are copied as they are: callers pass valid UTF-8). */
void er_buf_jstr(er_buf *b, const char *s, uint32_t n);
/* Append a signed decimal integer. */
void er_buf_int(er_buf *b, int64_t v);
/* Append v / 10^digits as a decimal with exactly `digits` decimals. */
void er_buf_fixed(er_buf *b, int64_t v, int digits);
/* Append a Q16 value rounded half away from zero to 4 decimals. */
void er_buf_q16(er_buf *b, int32_t q);
/* Append a 64-bit value as 16 lowercase hex digits. */
void er_buf_hex64(er_buf *b, uint64_t v);

#endif
