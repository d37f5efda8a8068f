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

er_status er_fail(er_error *e, er_status code, uint32_t offset, const char *fmt, ...) {
  if (!e) return code;
  e->code = code;
  e->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
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
