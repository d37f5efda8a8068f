/* er_pack.h — the .erb bundle writer and packer (native and WASI CLI only;
 * allocates with malloc).  Three layers:
 *   er_bw_*          low-level writer: sections in, header/table/checksum out;
 *   er_pack_build    in-memory catalog + model description → bundle bytes
 *                    (what the trainer calls);
 *   er_pack_from_json catalog.json + model.json [+ XGBoost JSON] → bundle.
 * Output is deterministic: the same input gives the same bytes.  Buffers
 * returned through `out` are malloc'd; release them with free().
 * Formats: docs/bundle.md. */
#ifndef ER_PACK_H
#define ER_PACK_H

#include "er_base.h"
#include "er_bundle.h"

/* ---- low-level writer ------------------------------------------------------ */

typedef struct er_bw er_bw;

/* A new, empty writer (NULL when out of memory). */
er_bw *er_bw_new(void);
/* Release a writer and the section copies it holds (NULL is fine). */
void er_bw_free(er_bw *w);
/* Add a copy of section `section_id` (1..ER_SEC_META, at most once each):
 * `len` bytes holding `count` records.  ER_E_USAGE on a bad or repeated id,
 * ER_E_LIMIT past ER_BUNDLE_MAX_SECTIONS or 4 GiB, ER_E_NOMEM. */
er_status er_bw_add(er_bw *w, uint32_t section_id, const void *data, uint32_t len, uint32_t count, er_error *err);
/* Lay out the bundle: header (magic, XXH64 checksum of [16, total), version 1,
 * schema hash, budget, model version), section table in ascending id order,
 * sections 8-byte aligned with zero padding.  `model_version` must be 1..23
 * bytes of printable ASCII without '"' or '\\' (ER_E_RANGE otherwise).
 * On success *out (malloc'd, caller frees) holds *out_len bytes. */
er_status er_bw_finish(er_bw *w, const char *model_version, uint32_t budget, uint8_t **out, uint32_t *out_len,
                       er_error *err);

/* ---- in-memory description -------------------------------------------------- */

#define ER_PACK_MAX_LIST 200u      /* popularity list length cap            */
#define ER_PACK_MAX_NEIGHBOURS 50u /* neighbours kept per item and relation, at most */
#define ER_PACK_NBR_BUDGET 24u     /* default neighbour bytes per catalog item (choose_cap) */
#define ER_PACK_NBR_MIN_BYTES (1u << 20) /* ...but never fewer than this in all */
#define ER_PACK_MAX_URL_KEY 255u   /* url_key bytes                           */
#define ER_PACK_CONTENT_TOP 20u    /* computed content neighbours per item   */
#define ER_PACK_CONTENT_MIN 0.1    /* minimum Jaccard similarity kept        */
#define ER_PACK_CONTENT_SCAN 1024u /* items compared per shared key, at most (the nearest in catalog order) */
#define ER_PACK_MAX_COUNT (1ull << 40) /* popularity counts are below this  */
#define ER_PACK_MAX_DEPTH 64u      /* deepest tree accepted                  */
#define ER_PACK_MAX_ITEMS (1u << 24)  /* items per bundle                     */
#define ER_PACK_MAX_ITEM_CATS 64u  /* categories per item                    */
#define ER_PACK_MAX_ITEM_ATTRS 1024u /* attribute values per item            */
#define ER_PACK_MAX_TREES 4096u    /* trees per model (the loader's limit)    */

/* One catalog item.  Strings are NUL-terminated UTF-8. */
typedef struct {
  const char *sku;                  /* required, 1..128 bytes, unique           */
  const char *url_key;              /* NULL or "": not indexed; else unique     */
  const char *parent_sku;           /* NULL or "": none; else a sku of the catalog */
  const char *const *categories;    /* category paths ("Gear/Bags")             */
  uint32_t n_categories;
  const char *const *attributes;    /* "name=value" strings                     */
  uint32_t n_attributes;
  uint32_t price_cents;
  uint8_t in_stock, visible;        /* 0/1                                      */
  uint64_t view, cart, purchase;    /* popularity counts (< ER_PACK_MAX_COUNT)  */
  double trending;                  /* >= 0, stored ×1000 capped at 65535       */
  double repeat;                    /* 0..1: buyers who bought it again another day; stored Q16 */
} er_pack_item;

/* One neighbour link: item `from` → item `to` with weight 0..1. */
typedef struct {
  uint32_t from, to;
  float weight;
} er_pack_edge;

typedef struct {
  const er_pack_edge *edges;
  uint32_t n_edges;
} er_pack_nbrs;

/* A popularity list given explicitly (item indices, best first). */
typedef struct {
  int given;                        /* 0: compute from the popularity fields    */
  const uint32_t *items;
  uint32_t n;
} er_pack_list;

/* A merchandising rule. */
typedef struct {
  uint32_t item;                    /* item index                               */
  uint8_t action;                   /* ER_RULE_PIN .. ER_RULE_EXCLUDE           */
  uint8_t position;                 /* pin: 0-based slot (< ER_MAX_K)           */
  double amount;                    /* boost/bury: margin (>= 0, < 32768)       */
  const char *unit;                 /* NULL or "": every unit                   */
} er_pack_rule;

/* One tree, XGBoost-like arrays of n_nodes; the root is node 0.  A node is a
 * leaf when left[i] == -1 (then right[i] must be -1 too) and its value is
 * leaf[i]; otherwise it splits on dense feature feature[i]: x < threshold[i]
 * (float32) goes to left[i], else right[i]; missing x goes left when
 * default_left[i].  Nodes unreachable from the root are dropped. */
typedef struct {
  uint32_t n_nodes;
  const int32_t *left, *right;
  const uint32_t *feature;
  const float *threshold;
  const uint8_t *default_left;
  const float *leaf;
} er_pack_tree;

typedef struct {
  uint8_t kind;                     /* ER_MODEL_LINEAR or ER_MODEL_TREES        */
  /* linear: margin = bias + Σ w[bucket] × value */
  uint32_t bits;                    /* 10..24                                   */
  const float *weights;             /* [1 << bits]                              */
  double bias;
  /* trees: margin = base_margin + Σ leaf */
  const er_pack_tree *trees;        /* 1..4096 trees                            */
  uint32_t n_trees;
  double base_margin;
} er_pack_model;

typedef struct {
  const char *version;              /* model version, 1..23 printable ASCII     */
  uint32_t budget;                  /* work units per request, 0: default       */
  const char *source;               /* provenance written to META (may be NULL) */
  const er_pack_item *items;        /* index = position                         */
  uint32_t n_items;
  er_pack_nbrs nbr[ER_NBR_KINDS];   /* ER_NBR_VV, _VB, _BB, _CONTENT            */
  int no_auto_content;              /* 0: content given no edges is computed     */
  uint32_t nbr_cap;                 /* neighbours per item and relation, 1..50; 0: the
                                       largest cap that fits nbr_budget */
  uint32_t nbr_budget;              /* neighbour bytes per item; 0: ER_PACK_NBR_BUDGET */
  er_pack_list lists[ER_LIST_KINDS];/* by kind - 1                              */
  const er_pack_rule *rules;
  uint32_t n_rules;
  er_pack_model model;
  struct er_pack_quant *quant_out;  /* optional: receives the quantization    */
} er_pack_input;

/* Quantization report of an er_pack_build (also written to META). */
typedef struct er_pack_quant {
  double scale;                     /* s: real value of one int8 step           */
  double max_abs_error;             /* max |q·s − w| over weights / leaves      */
  uint8_t shift;                    /* model header scale shift                 */
  int32_t mul, base_q16;            /* model header multiplier and base         */
} er_pack_quant;

/* Build a bundle from an in-memory description.  Errors (ER_E_RANGE,
 * ER_E_LIMIT, ER_E_USAGE, ER_E_NOMEM) name the item, field or tree.
 * *out is malloc'd; the caller frees it. */
er_status er_pack_build(const er_pack_input *in, uint8_t **out, uint32_t *out_len, er_error *err);

/* Build a bundle from JSON sources: model.json, catalog.json and optionally
 * an XGBoost (>= 1.6) save_model JSON whose trees replace model.json's
 * (xgb_json NULL or xgb_len 0: none).  `source_name` goes to META.  Errors
 * name the input, the field and the byte offset (err->offset). */
er_status er_pack_from_json(const char *model_json, uint32_t model_len, const char *catalog_json, uint32_t catalog_len,
                            const char *xgb_json, uint32_t xgb_len, const char *source_name, uint8_t **out,
                            uint32_t *out_len, er_error *err);

/* Parse catalog.json alone (items and any neighbour links) for programs
 * that build the rest themselves (the trainer).  *items and nbr[] point into
 * *out until er_pack_catalog_free(*out).  Errors as er_pack_from_json's. */
typedef struct er_pack_catalog er_pack_catalog;
er_status er_pack_catalog_parse(const char *js, uint32_t len, er_pack_catalog **out, const er_pack_item **items,
                                uint32_t *n_items, er_pack_nbrs nbr[ER_NBR_KINDS], er_error *err);
void er_pack_catalog_free(er_pack_catalog *c);

#endif
