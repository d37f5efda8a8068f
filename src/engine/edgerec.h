/* edgerec.h — the engine's public API, used by the CLI, the WASM reactor
 * exports (wasm/exports.c) and the trainer.
 *
 * An engine holds one validated bundle (in place: the bundle bytes must
 * outlive the engine), a per-request arena and an output buffer.  Calls are
 * synchronous and not re-entrant: one request at a time per engine.  No call
 * aborts, asserts or traps on bad input; on error the status is returned and
 * er_engine_error() names what and where.  Contracts: docs/. */
#ifndef EDGEREC_H
#define EDGEREC_H

#include "er_base.h"

#define EDGEREC_VERSION "0.1.0"

typedef struct er_engine er_engine;

/* Validate `bundle` and create an engine over it (NULL on error, with the
 * reason in *err).  Allocates the arena (ER_ARENA_BYTES) once. */
er_engine *er_engine_new(const uint8_t *bundle, uint32_t len, er_error *err);
/* Free an engine (not the bundle bytes). */
void er_engine_free(er_engine *e);

/* Recommend: context JSON (+ optional binary profile, which wins over the
 * context's "profile" field) → {"unit":…,"model":…,"items":[{"sku":…,"score":…}]}.
 * *out points into the engine's output buffer, valid until the next call. */
er_status er_recommend(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                       const char **out, uint32_t *out_len);

/* The features of the candidates er_recommend would score for this
 * context, binary little-endian: u32 n, u32 n_dense, u32 bits (0 for tree
 * bundles), then per candidate u32 m, m × {u32 bucket, i32 value_q8},
 * n_dense × f32.  For the trainer, external trainers and benchmarks. */
er_status er_features_for(er_engine *e, const char *ctx, uint32_t ctx_len, const uint8_t *profile, uint32_t profile_len,
                          const uint8_t **out, uint32_t *out_len);

/* Score features in er_features_for's binary layout with the bundle's model
 * (no context, no candidate generation): the scorer alone, for benchmarks
 * against other scorers fed the same features.  *out is n int32 Q16 margins
 * (output buffer).  ER_E_SHAPE when the layout is inconsistent. */
er_status er_score_features(er_engine *e, const uint8_t *feats, uint32_t len, const int32_t **out, uint32_t *n);

/* Re-rank a GraphQL products response for the shopper in ctx.  On success
 * *out is the same JSON with data.products.items reordered (same length,
 * byte spans copied).  When it cannot re-rank, returns non-OK and
 * er_engine_reason() gives a short token (errors, no-items, shape, json,
 * limit, budget, no-known-items, context); the caller keeps the original. */
er_status er_rerank(er_engine *e, const char *resp, uint32_t resp_len, const char *ctx, uint32_t ctx_len,
                    const uint8_t *profile, uint32_t profile_len, const char **out, uint32_t *out_len);

/* Apply one event (JSON, the event contract) to a binary profile (len 0 =
 * new shopper); catalog categories of the item are added from the bundle.
 * Writes the new profile to the output buffer. */
er_status er_profile_update(er_engine *e, const uint8_t *profile, uint32_t profile_len, const char *event,
                            uint32_t event_len, const uint8_t **out, uint32_t *out_len);

/* A binary profile as readable JSON (output buffer). */
er_status er_profile_show(er_engine *e, const uint8_t *profile, uint32_t profile_len, const char **out,
                          uint32_t *out_len);

/* Bundle summary JSON: versions, schema, sizes, budget, counts. */
er_status er_bundle_info(er_engine *e, const char **out, uint32_t *out_len);

/* The skus of catalog items [offset, offset + count) in catalog order, as a
 * JSON array of strings (output buffer): every item, whatever its stock,
 * visibility or parent.  A page stops early rather than pass
 * ER_SKUS_PAGE_BYTES (it always holds at least one sku when offset is inside
 * the catalog), so callers advance offset by the array's length; an offset at
 * or past the end gives []. */
#define ER_SKUS_PAGE_BYTES (64u * 1024u)
er_status er_bundle_skus(er_engine *e, uint32_t offset, uint32_t count, const char **out, uint32_t *out_len);

/* Live popularity lists (docs/units.md, "Live lists"): JSON
 * {"most-viewed":[["SKU",score],…],"most-purchased":[…],"most-added-to-cart":[…],"trending":[…]}
 * replaces the lists in force; the units of those types, the default
 * candidate fill and back-fill then read them (stock, exclusion and pin
 * rules apply unchanged).  Scores are finite numbers >= 0, at most
 * ER_MAX_LIST_ENTRIES (500) a list, ER_MAX_LISTS_BYTES (1 MiB) in all; skus
 * not in the bundle and repeats are skipped; a kind absent (or null) keeps
 * the bundle's list; len 0, `null` or `{}` clears them all.  On error (the
 * message names the list, entry and byte) the previous lists stay. */
er_status er_engine_set_lists(er_engine *e, const char *js, uint32_t len);
/* The live lists in force as JSON {"most-viewed":entries,…}, or null
 * (output buffer); er_bundle_info carries the same as "live_lists". */
er_status er_engine_lists_info(er_engine *e, const char **out, uint32_t *out_len);

/* The last error, the last bypass reason token, and the work units of the
 * last request. */
const er_error *er_engine_error(const er_engine *e);
const char *er_engine_reason(const er_engine *e);
uint64_t er_engine_units(const er_engine *e);
/* Override the context's unit and k for later er_recommend calls (unit
 * NULL / k 0: no override); used by the CLI's --unit and --k. */
er_status er_engine_override(er_engine *e, const char *unit, uint32_t k);
/* Override the bundle's work budget (0 restores it); for tests and inspect. */
void er_engine_set_budget(er_engine *e, uint32_t units);

#endif
