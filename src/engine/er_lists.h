/* er_lists.h — live popularity lists (docs/units.md, "Live lists"): the
 * edge's fresh most-viewed / most-purchased / most-added-to-cart / trending
 * tables, given as JSON
 *   {"most-viewed":[["SKU",score],…],"most-purchased":[…],"most-added-to-cart":[…],"trending":[…]}
 * and resolved against a bundle into (item, u16 score) arrays that
 * er_recommend reads instead of the bundle's lists.  A kind absent (or null)
 * keeps the bundle's list.  Parsing is all or nothing: on any error the
 * caller's previous lists stay in force. */
#ifndef ER_LISTS_H
#define ER_LISTS_H

#include "er_buf.h"
#include "er_bundle.h"
#include "er_json.h"

#define ER_MAX_LISTS_BYTES (1024u * 1024u) /* the lists JSON                      */
#define ER_MAX_LIST_ENTRIES 500u           /* entries of one list                 */
#define ER_MAX_LISTS_TOKENS 16384u         /* JSON tokens (4 full lists are 6,009) */

/* One entry: a catalog item and its score scaled to the list's maximum
 * (65535 = the list's highest score). */
typedef struct {
  uint32_t item;
  uint16_t score;
  uint16_t pad;
} er_live_entry;

/* The lists in force, indexed by ER_LIST_* kind (index 0 unused). */
typedef struct {
  uint8_t given[ER_LIST_KINDS + 1];      /* the kind is live (else: the bundle's) */
  uint32_t n[ER_LIST_KINDS + 1];         /* entries kept                          */
  uint32_t skipped[ER_LIST_KINDS + 1];   /* entries dropped: unknown sku, repeat  */
  er_live_entry e[ER_LIST_KINDS + 1][ER_MAX_LIST_ENTRIES];
} er_live_lists;

/* The unit name of a list kind ("most-viewed", …), NULL outside 1..ER_LIST_KINDS. */
const char *er_list_kind_name(uint32_t kind);

/* Parse js[0..len) into *out against bundle b (tokens: tok[0..cap)).  Each
 * live list is sorted by score, highest first (ties keep their order); skus
 * not in the bundle and repeats of a sku are skipped.  The JSON `null` or an
 * object without list kinds gives no live kind.  Errors name the list, the
 * entry index and the byte offset.  *units grows with the entries read. */
er_status er_lists_parse(er_live_lists *out, const er_bundle *b, const char *js, uint32_t len, jsmntok_t *tok,
                         uint32_t cap, uint64_t *units, er_error *err);

/* True when at least one kind is live. */
int er_lists_any(const er_live_lists *l);

/* The summary {"most-viewed":n,…} of the live kinds (entries kept), or null
 * when l is NULL or has none, appended to o. */
void er_lists_summary(const er_live_lists *l, er_buf *o);

#endif
