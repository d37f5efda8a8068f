/* er_context.h — the request context (documented JSON, docs/context.md):
 * who the shopper is and where they are.  Every field is optional; `{}` is a
 * first-time anonymous shopper.  Unknown fields are ignored, duplicate keys
 * and wrong types are errors naming the field and byte offset. */
#ifndef ER_CONTEXT_H
#define ER_CONTEXT_H

#include "er_features.h"
#include "er_json.h"

#define ER_CONTEXT_MAX_NAME 64u /* bytes of a `device`, `country` or page type name */

typedef struct {
  er_profile profile;
  er_page_type page;
  uint64_t page_sku;        /* key, 0 if none */
  uint32_t page_cat;        /* category key, 0 if none */
  er_device device;
  uint32_t country;         /* er_cat_key of the code, 0 if none */
  int hour, weekday;        /* -1 if absent */
  uint32_t now;             /* unix seconds, 0 if absent */
  char unit[48];            /* "" = default */
  uint32_t unit_len;
  uint32_t k;               /* 0 = default */
  uint64_t *candidates;     /* explicit candidate sku keys (arena), or NULL */
  const char **cand_raw;    /* their raw JSON string bytes (escapes kept)  */
  uint32_t *cand_raw_len;
  uint32_t n_candidates;
  uint64_t *exclude;        /* sku keys never to return (arena) */
  uint32_t n_exclude;
} er_context;

/* Parse ctx[0..len).  `profile`/`plen`, when plen > 0, is a binary profile
 * that takes precedence over the context's "profile" (base64url) field.
 * Arrays are allocated from `a`. */
er_status er_context_parse(er_context *c, const char *ctx, uint32_t len, const uint8_t *profile, uint32_t plen,
                           er_arena *a, er_error *err);

/* Decode base64url (or standard base64, padding optional) into out[cap];
 * returns bytes written or -1 on bad input / too small. */
int32_t er_base64_decode(const char *s, uint32_t n, uint8_t *out, uint32_t cap);

#endif
