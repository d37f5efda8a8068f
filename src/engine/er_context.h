/* er_context.h — the request context (documented JSON, docs/context.md):
 * who the shopper is and where they are.  Every field is optional; `{}` is a
 * first-time anonymous shopper.  Unknown fields are ignored, duplicate keys
 * and wrong types are errors naming the field and byte offset. */
#ifndef ER_CONTEXT_H
#define ER_CONTEXT_H

#include "er_features.h"
#include "er_json.h"

#define ER_CONTEXT_MAX_NAME 64u /* bytes of a `device`, `country` or page type name */
#define ER_MAX_CART 256u        /* `cart` entries                                   */
#define ER_MAX_PURCHASED 256u   /* `purchased` entries                              */
#define ER_MAX_FILTER_CATS 64u  /* `filter.categories` / `filter.exclude_categories` entries */
#define ER_MAX_CATEGORY_BYTES 256u /* `page.category`                                   */
#define ER_MAX_FILTER_PATH_BYTES 768u /* a filter's category path (255 UTF-16 units as UTF-8) */

/* A category path of a filter: its text (escapes resolved, in the arena,
 * trailing '/' dropped) and er_cat_key of it. */
typedef struct {
  const char *path;
  uint32_t len;
  uint32_t key;
} er_cat_path;

/* The context's `filter`: applies to every unit's candidates and back-fill. */
typedef struct {
  er_cat_path *cats;        /* keep items under one of these (none: no filter) */
  uint32_t n_cats;
  er_cat_path *not_cats;    /* drop items under any of these                   */
  uint32_t n_not_cats;
  int64_t price_min, price_max; /* millionths of the currency unit; -1: none   */
  int in_stock_only;        /* 1 (default): out-of-stock items are dropped     */
} er_filter;

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
  uint64_t *cart;           /* the cart's sku keys: never returned; anchors */
  uint32_t n_cart;
  uint64_t *purchased;      /* client-sent purchases: dropped like profile purchases */
  uint32_t n_purchased;
  er_filter filter;
  uint32_t backfill;        /* ER_LIST_* kind to back-fill from, 0 = none */
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
