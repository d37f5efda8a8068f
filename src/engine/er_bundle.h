/* er_bundle.h — the .erb bundle: format, in-place loader and accessors.
 *
 * A bundle is one little-endian binary file holding a model and the catalog
 * tables it needs.  The loader validates every offset, length and index and
 * then reads the caller's buffer in place (no copies, no allocation); the
 * buffer must outlive the er_bundle.  Full format: docs/bundle.md.
 *
 *   header (64 bytes)
 *     0  char[8]  magic "EDGERECB"
 *     8  u64      checksum: XXH64 (seed 0) of bytes [16, total_size)
 *    16  u16      format version (ER_BUNDLE_VERSION)
 *    18  u16      header size (64)
 *    20  u32      total size in bytes
 *    24  u64      feature-schema hash (er_features_schema_hash())
 *    32  u32      work budget in units per request (0: ER_DEFAULT_BUDGET)
 *    36  u32      section count (<= 32)
 *    40  char[24] model version, NUL-padded UTF-8
 *   section table (16 bytes each, right after the header)
 *     u32 id, u32 offset, u32 length, u32 record count
 *   sections, each 8-byte aligned, inside [end of table, total size)
 */
#ifndef ER_BUNDLE_H
#define ER_BUNDLE_H

#include "er_base.h"

#define ER_BUNDLE_MAGIC "EDGERECB"
#define ER_BUNDLE_VERSION 2 /* 2: compact items, indexes and neighbour lists (docs/bundle.md) */
#define ER_BUNDLE_HEADER 64
#define ER_BUNDLE_MAX_SECTIONS 32
#define ER_DEFAULT_BUDGET 2000000u
#define ER_VERSION_BYTES 24

/* Section ids.  Required: STRINGS, ITEMS, SKU_INDEX, MODEL. */
enum {
  ER_SEC_STRINGS = 1,    /* UTF-8 string pool                                  */
  ER_SEC_ITEMS = 2,      /* er_item records (ER_ITEM_BYTES each)               */
  ER_SEC_SKU_INDEX = 3,  /* u32 item indices, ascending by the items' sku keys */
  ER_SEC_URL_INDEX = 4,  /* {u32 high half of the url_key key, u32 item}, by key */
  ER_SEC_ITEM_CATS = 5,  /* u32 category keys, referenced by items            */
  ER_SEC_ITEM_ATTRS = 6, /* format 1 only (attribute keys); never in format 2  */
  ER_SEC_LIST_DIR = 7,   /* {u32 kind, u32 first, u32 count, u32 0}            */
  ER_SEC_LIST_ITEMS = 8, /* u32 item indices                                   */
  ER_SEC_NBR_VV = 9,     /* neighbours: viewed this, viewed that (compact CSR)  */
  ER_SEC_NBR_VB = 10,    /* viewed this, bought that                           */
  ER_SEC_NBR_BB = 11,    /* bought this, bought that                           */
  ER_SEC_NBR_CONTENT = 12, /* more like this (catalog attributes)             */
  ER_SEC_RULES = 13,     /* {u32 item, u32 unit key, u8 action, u8 pos, u16 0, i32 amount_q16} */
  ER_SEC_MODEL = 14,     /* model header (ER_MODEL_BYTES)                       */
  ER_SEC_LINEAR = 15,    /* int8 weights [2^bits]                               */
  ER_SEC_TREES = 16,     /* u32 roots[n_trees] then 8-byte nodes               */
  ER_SEC_THRESHOLDS = 17,/* u32 offsets[n_dense+1] then float32 bits, sorted   */
  ER_SEC_CATEGORIES = 18,/* {u32 key, u32 name offset, u32 name length} sorted  */
  ER_SEC_META = 19       /* JSON object: provenance, metrics (free form)        */
};

/* List kinds in LIST_DIR. */
enum { ER_LIST_MOST_VIEWED = 1, ER_LIST_MOST_PURCHASED = 2, ER_LIST_MOST_CARTED = 3, ER_LIST_TRENDING = 4, ER_LIST_KINDS = 4 };
/* Neighbour relations, in section order. */
enum { ER_NBR_VV = 0, ER_NBR_VB = 1, ER_NBR_BB = 2, ER_NBR_CONTENT = 3, ER_NBR_KINDS = 4 };
/* Rule actions. */
enum { ER_RULE_PIN = 1, ER_RULE_BOOST = 2, ER_RULE_BURY = 3, ER_RULE_EXCLUDE = 4 };
/* Model kinds. */
enum { ER_MODEL_LINEAR = 1, ER_MODEL_TREES = 2 };

/* Item record, ER_ITEM_BYTES (format 2):
 *   0 u64 sku key          8 u32 sku offset (the url_key, if any, follows the sku)
 *  12 u8 sku length (1..128)  13 u8 url_key length (0..255)  14 u8 flags
 *  15 u8 category count (0..64)  16 u32 parent item (ER_NONE if none)
 *  20 u32 first category   24 u32 price in cents  28 u16 pop_view  30 u16 pop_cart
 *  32 u16 pop_purchase     34 u16 trending
 *  36 u16 repeat-purchase rate (Q16: share of buyers who bought again another day)
 *  38 u16 0 */
#define ER_ITEM_BYTES 40
#define ER_ITEM_IN_STOCK 1u
#define ER_ITEM_VISIBLE 2u
#define ER_NONE 0xFFFFFFFFu

/* Neighbour section (format 2), per relation, n = item count:
 *   u32 block[ceil(n/16) + 1]   entry index of the first entry of items 16·k..,
 *                               block[last] = entry count
 *   u8  count[n], zero-padded to a multiple of 4
 *   entries of ER_NBR_INDEX_BYTES(n) + 1 bytes: the target item (little
 *   endian, 2 bytes when n <= 65536, else 3), then a u8 weight code that
 *   er_nbr_weight maps to 0..65535 (er_nbr_weights: 0..31 exact, then
 *   logarithmic steps of about 3.5 % up to 65535).
 * An item's entries are contiguous, by weight descending then item index. */
#define ER_NBR_BLOCK 16u
#define ER_NBR_INDEX_BYTES(n) ((n) <= 65536u ? 2u : 3u)
extern const uint16_t er_nbr_weights[256];
/* Model header, ER_MODEL_BYTES:
 *   0 u8 kind  1 u8 bits (linear, 10..24)  2 u8 n_dense  3 u8 scale shift
 *   4 i32 scale multiplier   8 i32 base margin (Q16)  12 u32 n_trees
 *  16 u32 n_nodes  20 u32 0 (objective: 0 logistic, 1 pairwise)  24 u64 0
 * margin_q16 = base + (acc * mul) >> shift, acc = int32 sum of int8 weights ×
 * Q8 feature values (linear) or of int8 leaf values (trees). */
#define ER_MODEL_BYTES 32

/* Tree node, 8 bytes: u8 feature, u8 flags (1 leaf, 2 default left),
 * u16 threshold index (split) | int8 leaf value (leaf), u16 left, u16 right
 * (node indices relative to the tree's first node).  Split: go left when
 * x < thresholds[feature][index] (float32, exact via bin indices), missing x
 * follows default-left. */
#define ER_NODE_LEAF 1u
#define ER_NODE_DEFAULT_LEFT 2u

typedef struct {
  const uint8_t *p;   /* start of section bytes */
  uint32_t len;       /* bytes                   */
  uint32_t count;     /* records                 */
} er_section;

typedef struct {
  const uint8_t *data;
  uint32_t size;
  uint16_t format_version;
  uint64_t schema_hash;
  uint64_t checksum;
  uint32_t budget;
  char version[ER_VERSION_BYTES + 1];
  er_section sec[ER_SEC_META + 1]; /* indexed by section id; len 0 if absent */
  /* decoded for speed */
  uint32_t n_items;
  uint8_t model_kind, bits, n_dense, scale_shift;
  int32_t scale_mul, base_q16;
  uint32_t n_trees, n_nodes;
  uint32_t nbr_stride;  /* bytes per neighbour entry: ER_NBR_INDEX_BYTES(n_items) + 1 */
} er_bundle;

/* Validate and map a bundle held in buf[0..len).  On error the er_error
 * names the specific cause (ER_E_BUNDLE_MAGIC, _VERSION, _CHECKSUM,
 * _TRUNCATED, _SCHEMA, _CORRUPT; ER_E_LIMIT when len is over
 * ER_MAX_BUNDLE_BYTES, which the writer never produces). */
er_status er_bundle_load(er_bundle *b, const uint8_t *buf, uint32_t len, er_error *err);

/* Accessors (indices already validated by the loader). */
static inline const uint8_t *er_item(const er_bundle *b, uint32_t i) { return b->sec[ER_SEC_ITEMS].p + (size_t)i * ER_ITEM_BYTES; }
static inline uint64_t er_item_key(const er_bundle *b, uint32_t i) { return er_rd64(er_item(b, i)); }
static inline uint32_t er_item_price(const er_bundle *b, uint32_t i) { return er_rd32(er_item(b, i) + 24); }
static inline uint16_t er_item_flags(const er_bundle *b, uint32_t i) { return er_item(b, i)[14]; }
static inline uint32_t er_item_parent(const er_bundle *b, uint32_t i) { return er_rd32(er_item(b, i) + 16); }
/* The item a catalog item is shown as: its parent when it is invisible and
 * has one (a configurable's child), else itself. */
static inline uint32_t er_item_shown(const er_bundle *b, uint32_t i) {
  uint32_t parent = er_item_parent(b, i);
  return !(er_item_flags(b, i) & ER_ITEM_VISIBLE) && parent != ER_NONE ? parent : i;
}
/* Popularity fields: 0 view, 1 cart, 2 purchase, 3 trending. */
static inline uint16_t er_item_pop(const er_bundle *b, uint32_t i, int which) { return er_rd16(er_item(b, i) + 28 + 2 * which); }
/* Repeat-purchase rate, Q16 (0: never bought again, or an older bundle). */
static inline uint16_t er_item_repeat(const er_bundle *b, uint32_t i) { return er_rd16(er_item(b, i) + 36); }
const char *er_item_sku(const er_bundle *b, uint32_t i, uint32_t *len);
const char *er_item_url_key(const er_bundle *b, uint32_t i, uint32_t *len);
/* Category keys of item i (pointer into ITEM_CATS) and their count. */
const uint8_t *er_item_cats(const er_bundle *b, uint32_t i, uint32_t *n);
/* Item index for a sku key / url_key key, or ER_NONE. */
uint32_t er_bundle_find_sku(const er_bundle *b, uint64_t key);
uint32_t er_bundle_find_url(const er_bundle *b, uint64_t key);
/* Popularity list of a kind: pointer to u32 item indices and count. */
const uint8_t *er_bundle_list(const er_bundle *b, uint32_t kind, uint32_t *n);
/* Neighbours of item i in relation r: pointer to *n entries of b->nbr_stride
 * bytes; read entry k with er_nbr_item / er_nbr_weight. */
const uint8_t *er_bundle_neighbours(const er_bundle *b, int r, uint32_t item, uint32_t *n);
/* Target item of neighbour entry k of a list from er_bundle_neighbours. */
static inline uint32_t er_nbr_item(const er_bundle *b, const uint8_t *e, uint32_t k) {
  const uint8_t *q = e + (size_t)b->nbr_stride * k;
  return b->nbr_stride == 3 ? (uint32_t)q[0] | (uint32_t)q[1] << 8 : (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16;
}
/* Weight (0..65535) of neighbour entry k. */
static inline uint32_t er_nbr_weight(const er_bundle *b, const uint8_t *e, uint32_t k) {
  return er_nbr_weights[e[(size_t)b->nbr_stride * k + b->nbr_stride - 1]];
}
/* Name of a category key (NULL if unknown). */
const char *er_bundle_category_name(const er_bundle *b, uint32_t key, uint32_t *len);
/* Human name of a section id ("items", "linear", ...). */
const char *er_section_name(uint32_t id);

#endif
