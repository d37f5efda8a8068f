/* er_profile.h — the shopper profile: a compact, versioned binary (<= 1 KB)
 * that travels in an encrypted cookie or KV.  This module owns its encoding,
 * decoding, the update rule (one event at a time) and the decay rules; the JS
 * shims only move the bytes.  Format and rules: docs/profile.md.
 *
 * Binary v1 (little-endian):
 *   0 'E' 'P'  2 u8 version (1)  3 u8 flags (0)  4 u32 updated (unix s)
 *   8 u32 events seen  12 u16 price samples  14 u8 n_items  15 u8 n_cats
 *  16 u32 price mean (cents)  20 u32 price min  24 u32 price max  28 u32 0
 *  32 items  [n_items] × 16: u64 sku key, u32 last ts, u8 type bits, u8 count, u16 0
 *     cats   [n_cats]  ×  8: u32 category key, u16 affinity, u16 0
 *   then u32 check: low 32 bits of XXH64(seed 0) of everything before it. */
#ifndef ER_PROFILE_H
#define ER_PROFILE_H

#include "er_base.h"

#define ER_PROFILE_VERSION 1
#define ER_PROFILE_MAX_ITEMS 24   /* recent items kept, newest first        */
#define ER_PROFILE_MAX_CATS 16    /* category affinities kept, highest first */
#define ER_PROFILE_HEADER 32
#define ER_PROFILE_MAX_BYTES (ER_PROFILE_HEADER + 16 * ER_PROFILE_MAX_ITEMS + 8 * ER_PROFILE_MAX_CATS + 4)
#define ER_AFFINITY_HALF_LIFE (7u * 86400u) /* seconds                       */
#define ER_AFFINITY_MAX 65535u

/* Item type bits. */
#define ER_SEEN_VIEW 1u      /* view or click */
#define ER_SEEN_CART 2u
#define ER_SEEN_PURCHASE 4u
#define ER_SEEN_DISLIKED 8u  /* feedback with rating <= 2: never recommended */
#define ER_SEEN_WISH 16u     /* added to a wishlist (a favourite)              */

/* Event types (the event contract's `type`). */
typedef enum {
  ER_EV_VIEW = 1, ER_EV_CART, ER_EV_PURCHASE, ER_EV_CLICK, ER_EV_IMPRESSION, ER_EV_FEEDBACK,
  ER_EV_WISHLIST,        /* "wishlist": an item added to a wishlist                   */
  ER_EV_UNIT_RENDER,     /* "recs-unit-impression-render": a unit rendered (items)    */
  ER_EV_UNIT_VIEW,       /* "recs-unit-view": a unit >= 50 % visible (items)           */
  ER_EV_UNIT_CLICK,      /* "recs-item-click": an item of a unit clicked (item)        */
  ER_EV_UNIT_CART_CLICK  /* "recs-item-add-to-cart-click": a unit's add-to-cart button */
} er_event_type;
#define ER_EV_COUNT 12 /* one past the last type */
/* Types whose subject is a list of items shown (`items`), not one `item`. */
static inline int er_event_is_list(er_event_type t) {
  return t == ER_EV_IMPRESSION || t == ER_EV_UNIT_RENDER || t == ER_EV_UNIT_VIEW;
}
/* The recommendation-unit types (Adobe's storefront SDK): unit, unit_type, rank required. */
static inline int er_event_is_unit(er_event_type t) { return t >= ER_EV_UNIT_RENDER && t <= ER_EV_UNIT_CART_CLICK; }

typedef struct {
  uint64_t sku_key;
  uint32_t ts;
  uint8_t types;
  uint8_t count;
} er_profile_item;

typedef struct {
  uint32_t key;
  uint16_t affinity;
} er_profile_cat;

typedef struct {
  uint32_t updated;
  uint32_t n_events;
  uint16_t price_n;
  uint32_t price_mean, price_min, price_max;
  uint8_t n_items, n_cats;
  er_profile_item items[ER_PROFILE_MAX_ITEMS];
  er_profile_cat cats[ER_PROFILE_MAX_CATS];
} er_profile;

/* An empty profile (first-time shopper). */
void er_profile_init(er_profile *p);
/* Decode a binary profile; len 0 gives an empty profile.  ER_E_PROFILE with
 * the reason on a bad magic/version/length/check or out-of-order data. */
er_status er_profile_decode(er_profile *p, const uint8_t *buf, uint32_t len, er_error *err);
/* Encode into out[cap]; returns bytes written (<= ER_PROFILE_MAX_BYTES) or 0
 * when cap is too small. */
uint32_t er_profile_encode(const er_profile *p, uint8_t *out, uint32_t cap);

/* What one event contributes to a profile (already validated). */
typedef struct {
  er_event_type type;
  uint32_t ts;              /* unix seconds                               */
  uint64_t sku_key;         /* 0 when the event has no single item        */
  uint32_t price_cents;     /* 0 when unknown                             */
  int rating;               /* feedback only, 1..5; 0 when absent         */
  uint32_t cat_keys[8];     /* event category and catalog categories      */
  uint32_t n_cats;
} er_profile_delta;

/* Decay affinities to `now` (no-op when now <= updated): each halves every
 * ER_AFFINITY_HALF_LIFE seconds, linear between halvings, integer only. */
void er_profile_decay(er_profile *p, uint32_t now);
/* Apply one event: decay to its time, move/insert its item at the front with
 * the type bit, add the type's weight to its categories, update price stats.
 * Impressions move time forward (decay) and count, nothing else. */
void er_profile_apply(er_profile *p, const er_profile_delta *d);
/* Affinity of a category key (0 if absent). */
uint16_t er_profile_affinity(const er_profile *p, uint32_t key);
/* The profile as one compact JSON object for the shopper to read
 * (docs/profile.md): money and affinities as strings with 2 decimals, keys in
 * hex.  Returns the length written to out (no NUL), 0 when cap is too small. */
uint32_t er_profile_to_json(const er_profile *p, char *out, uint32_t cap);
/* Category key of a category name/path: low 32 bits of its XXH3 key. */
static inline uint32_t er_cat_key(const char *s, size_t n) { return (uint32_t)er_key(s, n); }

#endif
