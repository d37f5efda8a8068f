/* er_engine.h — the engine object's internals, shared by er_engine.c,
 * er_recommend.c and er_rerank.c only. */
#ifndef ER_ENGINE_H
#define ER_ENGINE_H

#include "edgerec.h"
#include "er_buf.h"
#include "er_bundle.h"
#include "er_context.h"
#include "er_lists.h"
#include "er_score.h"

#define ER_ARENA_BYTES (1024u * 1024u)
#define ER_SHOPPER_SLOTS 8192u

struct er_engine {
  er_bundle b;
  er_arena arena;
  uint8_t *arena_mem;
  char *out;
  uint32_t out_cap;
  er_error err;
  const char *reason;
  uint64_t units;
  uint32_t budget;
  er_dtrees trees;          /* decoded tree ensemble (tree bundles)       */
  er_shopper_slot *map;     /* co-occurrence map, ER_SHOPPER_SLOTS, reused */
  uint32_t map_gen;
  char unit_override[48];
  uint32_t k_override;
  er_live_lists *lists;     /* live popularity lists (NULL: the bundle's)   */
};

/* Make the output buffer at least n bytes (grows once, keeps it). */
er_status er_engine_reserve(er_engine *e, uint32_t n);
/* The first `max` distinct catalog items of sku keys (unknown skus skipped,
 * a configurable's child standing for its parent); returns how many. */
uint32_t er_engine_items(er_engine *e, const uint64_t *keys, uint32_t n, uint32_t *out, uint32_t max);
/* Build the shopper state from a parsed context (the cart's first
 * ER_CART_ANCHORS items become extra anchors). */
void er_engine_shopper(er_engine *e, const er_context *c, er_shopper *s);
/* Score n candidates in blocks of ER_SCORE_BLOCK, checking the work budget
 * before each block.  ER_E_BUDGET when it runs out (*done = scored so far). */
#define ER_SCORE_BLOCK 32u
er_status er_engine_score(er_engine *e, const er_shopper *s, const er_candidate *c, uint32_t n, int32_t *out, uint32_t *done);
/* Rule adjustments for an item in a unit: adds boost/bury to *score, sets
 * *pin (position or -1) and *excluded. */
void er_rules_for(const er_bundle *b, uint32_t item, uint32_t unit_key, int32_t *score, int *pin, int *excluded);

/* Add the catalog's categories (and price, when the event has none) of the
 * delta's item, as er_profile_update does before applying an event. */
void er_engine_enrich_delta(const er_bundle *b, er_profile_delta *d);
/* The shopper state and the candidates er_recommend would score for this
 * context and profile, unscored (the trainer's view of a request).  *s and
 * *cand live in the engine's arena until its next call. */
er_status er_engine_candidates(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile,
                               uint32_t profile_len, const er_shopper **s, const er_candidate **cand, uint32_t *n);

#endif
