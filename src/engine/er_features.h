/* er_features.h — the feature schema: hashed sparse features and the named,
 * ordered dense vector.  One code path for serving (WASM) and training
 * (native), so the two can never disagree.  The schema itself (version, dense
 * names, namespaces, its hash) is er_schema.h's.
 * Full list: docs/features.md. */
#ifndef ER_FEATURES_H
#define ER_FEATURES_H

#include "er_bundle.h"
#include "er_profile.h"
#include "er_schema.h"

#define ER_MAX_SPARSE 32     /* sparse features per candidate (upper bound) */
#define ER_RECENT_ANCHORS 10 /* recent items used for co-occurrence        */
#define ER_CART_ANCHORS 5    /* cart items added to them (the context's cart) */
/* The 64-bit hash of feature (ns, a, b); bucket = hash & (2^bits - 1). */
uint64_t er_feature_hash(uint32_t ns, uint64_t a, uint64_t b);
/* Device / page type codes from names ("mobile", "category"); 0 if unknown. */
er_device er_device_from(const char *s, uint32_t n);
er_page_type er_page_from(const char *s, uint32_t n);

/* Everything about the shopper and the request that features need, built
 * once per request (er_shopper_build), then read per candidate. */
/* Per-request hashes of one category's features (see er_shopper.cat_memo). */
#define ER_CAT_MEMO 32
typedef struct {
  uint32_t key;
  uint64_t cat, affx[3], device, hour, country; /* the features' hashes */
  int32_t dot_cats, dot_first; /* a linear bundle's Σ weight × value of the CAT + AFFX features, and of the
                                  DEVICE / HOUR / COUNTRY ones (when this is the first category) */
} er_cat_memo;
typedef struct er_shopper_slot { uint32_t item, gen; uint16_t cooc_last, content_last; uint32_t cooc_recent; } er_shopper_slot;
typedef struct {
  const er_bundle *b;
  const er_profile *p;
  er_page_type page;
  uint32_t page_item;       /* ER_NONE if none                              */
  uint32_t page_cat;        /* category key, 0 if none                      */
  er_device device;
  int hour;                 /* 0..23, -1 unknown                            */
  int weekday;              /* 0..6, -1 unknown                             */
  uint32_t country;         /* key, 0 unknown                               */
  uint32_t now;             /* unix seconds (0 unknown)                     */
  uint32_t anchors[ER_RECENT_ANCHORS + ER_CART_ANCHORS]; /* the page item and recent catalog
                              items, newest first (ER_RECENT_ANCHORS), then the cart's */
  uint32_t n_anchors;
  uint32_t top_cats[3];     /* the profile's strongest categories           */
  uint16_t top_aff[3];
  uint32_t n_top;
  uint32_t price_band;      /* shopper's mean price band, 0 unknown         */
  /* item -> co-occurrence map (open addressing, power-of-two size) */
  er_shopper_slot *map;
  uint32_t map_mask;
  uint32_t gen;             /* slots of other generations are empty         */
  /* per-request feature-hash prefixes: er_feature_hash(ns, a, b) is
   * er_mix64(prefix(ns, a), b), so the shopper side is mixed once */
  uint64_t pre_affx[3], pre_pricex, pre_device, pre_hour, pre_page, pre_last, pre_country;
  /* the finished hashes of the features that depend on the request and one
   * category only (er_features_sparse), filled per request on first use:
   * candidates share few categories, so most are mixed once a request */
  uint8_t cat_valid[ER_CAT_MEMO];
  er_cat_memo cat_memo[ER_CAT_MEMO];
  uint64_t h_page[2];       /* the page feature for page_cat 0 / 1          */
  uint32_t n_first;         /* DEVICE / HOUR / COUNTRY features present (0..3) */
} er_shopper;

/* Build the per-request shopper state.  `extra` (n_extra <= ER_CART_ANCHORS
 * catalog items, the cart's) are anchors after the page and profile ones.
 * `map_mem` holds `map_slots` slots
 * (power of two) that persist across requests: `*gen` is bumped per request
 * so the map never needs clearing (it is cleared when the counter wraps and
 * when *gen is 0).  Work units spent are added to *units. */
void er_shopper_build(er_shopper *s, const er_bundle *b, const er_profile *p, const uint32_t *extra, uint32_t n_extra,
                      er_shopper_slot *map_mem, uint32_t map_slots, uint32_t *gen, uint64_t *units);

/* A candidate: a catalog item, or an unknown item with what the caller knows. */
typedef struct {
  uint32_t item;            /* catalog index or ER_NONE                      */
  uint64_t sku_key;
  uint32_t price_cents;     /* used when item == ER_NONE                      */
} er_candidate;

/* Sparse features of one candidate: 64-bit hashes (bucket = hash & (2^b-1))
 * and Q8 values (256 == 1.0).  Returns the count (<= ER_MAX_SPARSE). */
uint32_t er_features_sparse(const er_shopper *s, const er_candidate *c, uint64_t *hash, int16_t *val_q8);
/* The same features dotted with a linear bundle's int8 weights: Σ w[hash &
 * mask] × value (int32, exactly what er_score_linear sums over
 * er_features_sparse's output), and their count in *n.  Without writing the
 * hashes: the request's per-category sums are taken from the shopper's memo. */
int32_t er_features_linear_dot(const er_shopper *s, const er_candidate *c, uint32_t *n);
/* Dense vector of one candidate; missing values are NaN. */
void er_features_dense(const er_shopper *s, const er_candidate *c, float *out);
/* One candidate's features in er_features_for's binary layout (edgerec.h):
 * u32 m, m × {u32 hash & mask, i32 value_q8}, ER_DENSE_COUNT × f32 bits, all
 * little-endian.  Returns the bytes written (at most ER_FEATURE_RECORD_MAX). */
#define ER_FEATURE_RECORD_MAX (4u + ER_MAX_SPARSE * 8u + ER_DENSE_COUNT * 4u)
uint32_t er_features_record(const er_shopper *s, const er_candidate *c, uint64_t mask, uint8_t *out);

/* Integer log2 band of a non-negative value (0 for 0): no transcendental math. */
static inline uint32_t er_band(uint64_t v) { return v ? 64u - (uint32_t)__builtin_clzll(v) : 0u; }
/* Mix a 64-bit value into a hash (the finalizer of XXH3, avalanche). */
static inline uint64_t er_mix64(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 37;
  h *= 0x165667919E3779F9ull;
  h ^= h >> 32;
  return h;
}

#endif
