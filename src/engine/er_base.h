/* er_base.h — what every edgerec module shares: status codes, the error record,
 * hard limits, a bump arena, little-endian readers and the one place that
 * includes xxHash.  Nothing here allocates except er_arena_init's caller. */
#ifndef ER_BASE_H
#define ER_BASE_H

#include <stddef.h>
#include <stdint.h>

/* ---- status codes (stable: exported through the WASM ABI) ---------------- */
typedef enum {
  ER_OK = 0,
  ER_E_USAGE = 1,          /* bad argument to an API call                     */
  ER_E_JSON = 2,           /* malformed JSON (syntax, escapes, UTF-8, numbers) */
  ER_E_TYPE = 3,           /* a field has the wrong JSON type                  */
  ER_E_RANGE = 4,          /* a value is out of its documented range           */
  ER_E_LIMIT = 5,          /* input exceeds a documented hard limit            */
  ER_E_NOMEM = 6,          /* the caller-provided memory is too small          */
  ER_E_BUNDLE_MAGIC = 7,   /* not an edgerec bundle                            */
  ER_E_BUNDLE_VERSION = 8, /* unsupported bundle format version                */
  ER_E_BUNDLE_CHECKSUM = 9,/* XXH64 checksum mismatch                          */
  ER_E_BUNDLE_TRUNCATED = 10, /* a header, table or section lies past the end */
  ER_E_BUNDLE_SCHEMA = 11, /* feature schema differs from this engine's       */
  ER_E_BUNDLE_CORRUPT = 12,/* a section's contents are inconsistent           */
  ER_E_SHAPE = 13,         /* input has a shape the operation does not handle */
  ER_E_BUDGET = 14,        /* the work budget was exhausted                    */
  ER_E_PROFILE = 15,       /* a profile blob is invalid                        */
  ER_E_IO = 16             /* file I/O (CLI and packer only)                   */
} er_status;

/* Human-readable name of a status ("bad magic", "checksum mismatch", ...). */
const char *er_strerror(er_status s);

/* An error: the status, a message naming what and where, and the byte offset
 * in the input it concerns (ER_NO_OFFSET when none). */
#define ER_NO_OFFSET 0xFFFFFFFFu
typedef struct {
  er_status code;
  uint32_t offset;
  char msg[200];
} er_error;

/* Record an error (printf-style message, truncated to fit).  Returns code. */
er_status er_fail(er_error *e, er_status code, uint32_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void er_error_clear(er_error *e);

/* ---- documented hard limits ---------------------------------------------- */
#define ER_MAX_CONTEXT_BYTES   (64u * 1024u)       /* context JSON            */
#define ER_MAX_CONTEXT_TOKENS  8192u
#define ER_MAX_EVENT_BYTES     (16u * 1024u)
#define ER_MAX_EVENT_TOKENS    1024u
#define ER_MAX_RESPONSE_BYTES  (4u * 1024u * 1024u) /* origin GraphQL response */
#define ER_MAX_RESPONSE_TOKENS (256u * 1024u)
#define ER_MAX_JSON_DEPTH      64u
#define ER_MAX_CANDIDATES      4096u  /* candidates scored in one request      */
#define ER_MAX_RERANK_ITEMS    1000u  /* items in data.products.items          */
#define ER_MAX_K               200u
#define ER_MAX_SKU_BYTES       128u
#define ER_MAX_EXPLICIT        ER_MAX_CANDIDATES
#define ER_MAX_BUNDLE_BYTES    (256u * 1024u * 1024u) /* a bundle: the loader, the packer and
                                         every CLI read (the Worker's KV holds 25 MiB) */

/* ---- file inputs of the CLIs (native and WASI; docs/limits.md) ------------
 * Read with er_read_limited / er_read_line: memory is bounded by these, never
 * by what a file or pipe holds.  The engine's own inputs are bounded above
 * (context, event, response, bundle) and in er_profile.h (profile). */
#define ER_MAX_MODEL_JSON_BYTES   (256u * 1024u * 1024u) /* pack --model / --xgboost: XGBoost
                                         JSON of ER_PACK_MAX_TREES trees at ~150 bytes a node */
#define ER_MAX_CATALOG_JSON_BYTES (1024u * 1024u * 1024u) /* pack / train / features --catalog */
#define ER_MAX_DENSE_LINE_BYTES   4096u  /* one score-dense line (16 numbers), without '\n' */

/* ---- arena: bump allocation from caller-owned memory, reset per request -- */
typedef struct {
  uint8_t *base;
  size_t cap;
  size_t used;
  size_t high_water;
} er_arena;

void er_arena_init(er_arena *a, void *mem, size_t cap);
/* Aligned (8) allocation; NULL when the arena is exhausted. */
void *er_arena_alloc(er_arena *a, size_t n);
void er_arena_reset(er_arena *a);

/* ---- little-endian access to unaligned bytes (bundles, profiles) -------- */
static inline uint16_t er_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t er_rd32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t er_rd64(const uint8_t *p) { return (uint64_t)er_rd32(p) | ((uint64_t)er_rd32(p + 4) << 32); }
static inline void er_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void er_wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void er_wr64(uint8_t *p, uint64_t v) { er_wr32(p, (uint32_t)v); er_wr32(p + 4, (uint32_t)(v >> 32)); }

/* ---- hashing (xxHash from Debian's libxxhash-dev, inlined) -------------- */
/* XXH3-64 of bytes with a seed. */
uint64_t er_hash64(const void *p, size_t n, uint64_t seed);
/* XXH64, used for bundle checksums. */
uint64_t er_xxh64(const void *p, size_t n, uint64_t seed);
/* The 64-bit key of a string (sku, category, url_key): XXH3-64, seed 0. */
static inline uint64_t er_key(const char *s, size_t n) { return er_hash64(s, n, 0); }

/* Fixed point: scores are int32 margins in Q16 (1.0 == 65536). */
#define ER_Q16 65536

#endif
