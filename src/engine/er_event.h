/* er_event.h — the event contract (one NDJSON object per event), parsed and
 * validated.  Used by the engine (profile updates, the Worker's /edge/events)
 * and by the trainer.  Contract: docs/events.md. */
#ifndef ER_EVENT_H
#define ER_EVENT_H

#include "er_json.h"
#include "er_profile.h"

#define ER_EVENT_MAX_ITEMS 64   /* `items` of an impression */
#define ER_EVENT_MAX_STR 256u   /* id, session, user, category, ... (bytes, escapes resolved) */
#define ER_EVENT_MAX_UNIT 64u   /* `unit` of the recs-* types */
#define ER_EVENT_MAX_UNIT_TYPE 32u /* `unit_type` of the recs-* types */
#define ER_EVENT_MAX_RANK 200   /* `rank` of the recs-* types: 1..200 */
#define ER_EVENT_MAX_EDGE 32u   /* `trust` and `flag`, the edge's own fields: 0..32 bytes */

typedef struct { const char *p; uint32_t n; } er_str; /* raw JSON string bytes (escapes not resolved) */

typedef struct {
  er_event_type type;
  er_str id, session, user, item, category, country, device, unit, model, arm;
  er_str unit_type;        /* recs-* types only (ignored on the others) */
  int rank;                /* recs-* types only: 1..200; 0 otherwise */
  er_str trust, flag;      /* edge fields (any type, optional): trust "new" marks a fresh id,
                              a present flag ("bot", "rate-limited") keeps the event out of
                              aggregates and training (docs/anti-gaming.md); p NULL when absent */
  uint64_t ts_ms;          /* unix milliseconds (ts may be fractional seconds) */
  int has_ts;
  int64_t price_cents;     /* -1 when absent */
  int64_t qty;             /* 0 when absent */
  int rating;              /* 0 when absent, else 1..5 */
  uint32_t n_items;        /* impression / recs-unit-* list */
  er_str items[ER_EVENT_MAX_ITEMS];
} er_event;

/* Flags for er_event_parse. */
#define ER_EVENT_REQUIRE_ALL 1u /* id, ts and session required (logged events) */

/* Parse and validate one event object from js[0..len) using caller tokens.
 * Required: type, and item (or items for an impression, recs-unit-impression-render
 * and recs-unit-view); unit, unit_type and rank for the recs-* types; with
 * ER_EVENT_REQUIRE_ALL also id, ts, session.  The edge fields trust and flag
 * are optional strings of 0..32 bytes.  Unknown fields are ignored.
 * Errors name the field: "event: field 'ts' must be a number (byte 17)". */
er_status er_event_parse(er_event *ev, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap,
                         uint32_t flags, er_error *err);
/* What a parsed event contributes to a profile: type, ts (ts_ms / 1000, 0
 * without ts), sku key (er_key of the unescaped item; 0 for the list types),
 * price in cents (0 when absent, saturating at UINT32_MAX), rating, and the
 * event's own category (er_cat_key of the unescaped name) when non-empty.
 * Catalog categories are the caller's to add.  ER_E_USAGE on a NULL or
 * type-less event, ER_E_RANGE when a string cannot be unescaped. */
er_status er_event_delta(const er_event *ev, er_profile_delta *d);
/* Name of an event type ("view", ...). */
const char *er_event_type_name(er_event_type t);
/* Event type from its name, 0 if unknown. */
er_event_type er_event_type_from(const char *s, uint32_t n);

#endif
