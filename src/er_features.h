/* er_features.h — the feature schema: hashed sparse features and the named,
 * ordered dense vector.  One code path for serving (WASM) and training
 * (native), so the two can never disagree.  The schema version and the dense
 * names go into er_features_schema_hash(), which every bundle records.
 * Full list: docs/features.md. */
#ifndef ER_FEATURES_H
#define ER_FEATURES_H

#include "er_bundle.h"
#include "er_profile.h"

#define ER_FEATURES_VERSION 1
#define ER_DENSE_COUNT 16
#define ER_MAX_SPARSE 32     /* sparse features per candidate (upper bound) */
#define ER_RECENT_ANCHORS 5  /* recent items used for co-occurrence        */

/* Dense feature indices (order is part of the schema). */
enum {
  ER_D_POP_VIEW, ER_D_POP_CART, ER_D_POP_PURCHASE, ER_D_TRENDING,
  ER_D_COOC_LAST, ER_D_COOC_RECENT, ER_D_CONTENT_LAST, ER_D_RECENCY,
  ER_D_CARTED, ER_D_CAT_AFFINITY, ER_D_PRICE_RATIO, ER_D_PRICE,
  ER_D_PAGE_CATEGORY, ER_D_HOUR, ER_D_MOBILE, ER_D_VIEWED
};
extern const char *const er_dense_names[ER_DENSE_COUNT];

/* Page types of the context. */
typedef enum { ER_PAGE_NONE = 0, ER_PAGE_HOME, ER_PAGE_CATEGORY, ER_PAGE_SEARCH, ER_PAGE_PRODUCT, ER_PAGE_CART } er_page_type;
/* Devices. */
typedef enum { ER_DEV_UNKNOWN = 0, ER_DEV_DESKTOP, ER_DEV_MOBILE, ER_DEV_TABLET, ER_DEV_APP } er_device;

/* Sparse feature namespaces (ids are part of the schema).  Each hashes two
 * arguments a, b (see er_ns_args for their kinds) with er_feature_hash. */
enum {
  ER_NS_BIAS = 1,      /* -, -                                  */
  ER_NS_ITEM,          /* candidate sku key, -                  */
  ER_NS_CAT,           /* candidate category key, -             */
  ER_NS_AFFX,          /* shopper top category, candidate category */
  ER_NS_AFF_BAND,      /* band of the shopper's affinity to the candidate's category, - */
  ER_NS_PRICEX,        /* shopper price band, candidate price band */
  ER_NS_RECENCY,       /* recency bucket in the profile (0..4, 5 = never) */
  ER_NS_COOC,          /* band of co-occurrence with the last item */
  ER_NS_COOC_RECENT,   /* band of co-occurrence with recent items  */
  ER_NS_CONTENT,       /* band of content similarity to the last item */
  ER_NS_POP_VIEW,      /* popularity band (views)               */
  ER_NS_POP_PURCHASE,  /* popularity band (purchases)           */
  ER_NS_TRENDING,      /* trending band                          */
  ER_NS_DEVICE_CAT,    /* device, candidate category            */
  ER_NS_HOUR_CAT,      /* hour / 3, candidate category          */
  ER_NS_PAGE,          /* page type, candidate in page category (0/1) */
  ER_NS_LAST_X,        /* last item sku key, candidate sku key  */
  ER_NS_CARTED,        /* candidate is in the shopper's cart (1) */
  ER_NS_COUNTRY_CAT,   /* country key, candidate category        */
  ER_NS_COUNT
};
/* Name of each namespace ("bias", "item", ...) and its argument kinds:
 * two characters, each '-' none, 'i' sku, 'c' category, 'n' integer,
 * 'd' device name, 'p' page type name, 'k' country code. */
extern const char *const er_ns_names[ER_NS_COUNT];
extern const char *const er_ns_args[ER_NS_COUNT];
/* The 64-bit hash of feature (ns, a, b); bucket = hash & (2^bits - 1). */
uint64_t er_feature_hash(uint32_t ns, uint64_t a, uint64_t b);
/* Device / page type codes from names ("mobile", "category"); 0 if unknown. */
er_device er_device_from(const char *s, uint32_t n);
er_page_type er_page_from(const char *s, uint32_t n);

/* Everything about the shopper and the request that features need, built
 * once per request (er_shopper_build), then read per candidate. */
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
  uint32_t anchors[ER_RECENT_ANCHORS]; /* recent catalog items, newest first */
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
} er_shopper;

/* Build the per-request shopper state.  `map_mem` holds `map_slots` slots
 * (power of two) that persist across requests: `*gen` is bumped per request
 * so the map never needs clearing (it is cleared when the counter wraps and
 * when *gen is 0).  Work units spent are added to *units. */
void er_shopper_build(er_shopper *s, const er_bundle *b, const er_profile *p, er_shopper_slot *map_mem,
                      uint32_t map_slots, uint32_t *gen, uint64_t *units);

/* A candidate: a catalog item, or an unknown item with what the caller knows. */
typedef struct {
  uint32_t item;            /* catalog index or ER_NONE                      */
  uint64_t sku_key;
  uint32_t price_cents;     /* used when item == ER_NONE                      */
} er_candidate;

/* Sparse features of one candidate: 64-bit hashes (bucket = hash & (2^b-1))
 * and Q8 values (256 == 1.0).  Returns the count (<= ER_MAX_SPARSE). */
uint32_t er_features_sparse(const er_shopper *s, const er_candidate *c, uint64_t *hash, int16_t *val_q8);
/* Dense vector of one candidate; missing values are NaN. */
void er_features_dense(const er_shopper *s, const er_candidate *c, float *out);
/* One candidate's features in er_features_for's binary layout (edgerec.h):
 * u32 m, m × {u32 hash & mask, i32 value_q8}, ER_DENSE_COUNT × f32 bits, all
 * little-endian.  Returns the bytes written (at most ER_FEATURE_RECORD_MAX). */
#define ER_FEATURE_RECORD_MAX (4u + ER_MAX_SPARSE * 8u + ER_DENSE_COUNT * 4u)
uint32_t er_features_record(const er_shopper *s, const er_candidate *c, uint64_t mask, uint8_t *out);
/* XXH64 of the schema descriptor (version, dense names, namespaces). */
uint64_t er_features_schema_hash(void);
/* The schema descriptor string itself (for docs and inspect). */
const char *er_features_schema(void);

/* Integer log2 band of a non-negative value (0 for 0): no transcendental math. */
static inline uint32_t er_band(uint64_t v) { uint32_t b = 0; while (v) { b++; v >>= 1; } return b; }
/* Mix a 64-bit value into a hash (the finalizer of XXH3, avalanche). */
static inline uint64_t er_mix64(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 37;
  h *= 0x165667919E3779F9ull;
  h ^= h >> 32;
  return h;
}

#endif
