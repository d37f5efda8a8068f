/* er_base.c — status names, error records, arena, hashing. */
#include "er_base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

const char *er_strerror(er_status s) {
  switch (s) {
  case ER_OK: return "ok";
  case ER_E_USAGE: return "usage error";
  case ER_E_JSON: return "malformed JSON";
  case ER_E_TYPE: return "wrong type";
  case ER_E_RANGE: return "value out of range";
  case ER_E_LIMIT: return "limit exceeded";
  case ER_E_NOMEM: return "out of memory";
  case ER_E_BUNDLE_MAGIC: return "bad magic";
  case ER_E_BUNDLE_VERSION: return "unsupported version";
  case ER_E_BUNDLE_CHECKSUM: return "checksum mismatch";
  case ER_E_BUNDLE_TRUNCATED: return "truncated";
  case ER_E_BUNDLE_SCHEMA: return "schema mismatch";
  case ER_E_BUNDLE_CORRUPT: return "corrupt bundle";
  case ER_E_SHAPE: return "unexpected shape";
  case ER_E_BUDGET: return "work budget exhausted";
  case ER_E_PROFILE: return "invalid profile";
  case ER_E_IO: return "I/O error";
  }
  return "unknown error";
}

#ifdef ER_TINY_PRINTF
/* The reactor's formatter: enough of printf for error messages (%s %.*s %c
 * %d %u %x with ll / zero-padded width, %%) without linking libc's stdio,
 * which would pull WASI fd_* imports into the module.  Floating-point
 * conversions (used only by the packer, which the reactor does not contain)
 * print "?". */
static void tiny_vfmt(char *out, size_t cap, const char *f, va_list ap) {
  size_t o = 0;
#define PUT(ch) do { if (o + 1 < cap) out[o++] = (ch); } while (0)
  for (; *f; f++) {
    if (*f != '%') { PUT(*f); continue; }
    f++;
    int zero = 0, width = 0, prec = -1, ll = 0;
    if (*f == '0') { zero = 1; f++; }
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    if (*f == '.' && f[1] == '*') { prec = va_arg(ap, int); f += 2; }
    if (*f == 'z') { ll = sizeof(size_t) == 8; f++; }
    else if (f[0] == 'l' && f[1] == 'l') { ll = 1; f += 2; }
    else if (*f == 'l') { ll = sizeof(long) == 8; f++; }
    if (*f == '.') { while (*f && !(*f >= 'a' && *f <= 'z')) f++; } /* "%.9g" */
    char tmp[24];
    int n = 0, neg = 0;
    unsigned long long v = 0;
    switch (*f) {
    case 's': {
      const char *str = va_arg(ap, const char *);
      if (!str) str = "(null)";
      for (int k = 0; str[k] && (prec < 0 || k < prec); k++) PUT(str[k]);
      continue;
    }
    case 'c': PUT((char)va_arg(ap, int)); continue;
    case '%': PUT('%'); continue;
    case 'd': {
      long long sv = ll ? va_arg(ap, long long) : va_arg(ap, int);
      neg = sv < 0;
      v = neg ? 0ull - (unsigned long long)sv : (unsigned long long)sv;
      break;
    }
    case 'u': case 'x': v = ll ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned); break;
    case 'g': case 'f': case 'e': (void)va_arg(ap, double); PUT('?'); continue;
    default: PUT('%'); if (*f) PUT(*f); else f--; continue;
    }
    unsigned base = *f == 'x' ? 16 : 10;
    do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v && n < 24);
    if (neg) PUT('-');
    for (int k = n; k < width; k++) PUT(zero ? '0' : ' ');
    while (n) PUT(tmp[--n]);
  }
  out[o < cap ? o : cap - 1] = 0;
#undef PUT
}
#endif

er_status er_fail(er_error *e, er_status code, uint32_t offset, const char *fmt, ...) {
  if (!e) return code;
  e->code = code;
  e->offset = offset;
  va_list ap;
  va_start(ap, fmt);
#ifdef ER_TINY_PRINTF
  tiny_vfmt(e->msg, sizeof e->msg, fmt, ap);
#else
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
#endif
  va_end(ap);
  return code;
}

void er_error_clear(er_error *e) {
  if (!e) return;
  e->code = ER_OK;
  e->offset = ER_NO_OFFSET;
  e->msg[0] = 0;
}

void er_arena_init(er_arena *a, void *mem, size_t cap) {
  a->base = (uint8_t *)mem;
  a->cap = cap;
  a->used = 0;
  a->high_water = 0;
}

void *er_arena_alloc(er_arena *a, size_t n) {
  size_t start = (a->used + 7u) & ~(size_t)7u;
  if (start > a->cap || n > a->cap - start) return NULL;
  a->used = start + n;
  if (a->used > a->high_water) a->high_water = a->used;
  return a->base + start;
}

void er_arena_reset(er_arena *a) { a->used = 0; }

uint64_t er_hash64(const void *p, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(p, n, seed); }
uint64_t er_xxh64(const void *p, size_t n, uint64_t seed) { return XXH64(p, n, seed); }
