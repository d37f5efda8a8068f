/* er_schema.h — the feature schema's identity: its version, the named and
 * ordered dense vector, the sparse namespaces and their argument kinds, and
 * er_features_schema_hash(), which every bundle records and the loader checks.
 * Depends on nothing but er_base.h, so the bundle loader (er_bundle.c) and the
 * feature extractor (er_features.c) both build on it without including each
 * other.  Full list: docs/features.md. */
#ifndef ER_SCHEMA_H
#define ER_SCHEMA_H

#include "er_base.h"

#define ER_FEATURES_VERSION 2
#define ER_DENSE_COUNT 21

/* Dense feature indices (order is part of the schema). */
enum {
  ER_D_POP_VIEW, ER_D_POP_CART, ER_D_POP_PURCHASE, ER_D_TRENDING,
  ER_D_COOC_LAST, ER_D_COOC_RECENT, ER_D_CONTENT_LAST, ER_D_RECENCY,
  ER_D_CARTED, ER_D_CAT_AFFINITY, ER_D_PRICE_RATIO, ER_D_PRICE,
  ER_D_PAGE_CATEGORY, ER_D_HOUR, ER_D_MOBILE, ER_D_VIEWED,
  ER_D_SEEN_COUNT, ER_D_SEEN_AGE, ER_D_WISHED, ER_D_REPEAT, ER_D_PURCHASED /* re-visits (features v2) */
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
  ER_NS_REVISIT,       /* band of the times seen, band of the minutes since (v2) */
  ER_NS_WISHED,        /* candidate is on the shopper's wishlist (1) (v2) */
  ER_NS_REPEAT,        /* band of the item's repeat-purchase rate, shopper bought it (0/1) (v2) */
  ER_NS_COUNT
};
/* Name of each namespace ("bias", "item", ...) and its argument kinds:
 * two characters, each '-' none, 'i' sku, 'c' category, 'n' integer,
 * 'd' device name, 'p' page type name, 'k' country code. */
extern const char *const er_ns_names[ER_NS_COUNT];
extern const char *const er_ns_args[ER_NS_COUNT];

/* XXH64 of the schema descriptor (version, dense names, namespaces). */
uint64_t er_features_schema_hash(void);
/* The schema descriptor string itself (for docs and inspect). */
const char *er_features_schema(void);

#endif
