/* er_log.h — an event log (NDJSON, the event contract of docs/events.md) in
 * memory, for the trainer (`edgerec train`, `edgerec features`) and the
 * evaluator (`edgerec eval`).  Native only (malloc).
 *
 * Every line is parsed and validated by the engine's own event parser
 * (er_event_parse with ER_EVENT_REQUIRE_ALL: id, ts and session required), so
 * training reads exactly what the edge logs.  Skus, sessions, users,
 * categories and countries are interned to dense ids (0-based; `user`, `cat`
 * and `country` are id + 1 with 0 meaning absent).  After reading, events are
 * grouped by session and ordered by time within a session — events with the
 * same timestamp keep their input order — and sessions are ordered by the
 * time of their last event (ties: first appearance in the input).
 *
 * Malformed lines are never dropped silently: they are counted, the first
 * ER_LOG_MAX_BAD line numbers and reasons are kept, and the caller reports
 * them.  Events with the same `id` after the first are counted as duplicates
 * and skipped (the edge's queue delivers at least once).  The edge's own
 * fields are kept as two bits per event: `flagged` (a `flag` is present) and
 * `trust_new` (`trust` is "new"); counted in `flagged` and `trust_new`. */
#ifndef ER_LOG_H
#define ER_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "er_base.h"
#include "er_bundle.h"
#include "er_profile.h"

#define ER_LOG_MAX_BAD 10
#define ER_LOG_MAX_EVENTS (1u << 30)

typedef struct {
  uint64_t ts_ms;      /* unix milliseconds                                   */
  uint32_t item;       /* item id; impressions, unit renders/views: first entry in imp[] */
  uint32_t session;    /* session id (index of its er_log_session after grouping) */
  uint32_t user;       /* user id + 1, 0 when absent                          */
  uint32_t cat;        /* category id + 1 (the event's own), 0 when absent    */
  uint32_t country;    /* country id + 1, 0 when absent                       */
  uint32_t price_cents;/* 0 when absent                                      */
  uint32_t line;       /* input line number (1-based)                         */
  uint8_t type;        /* er_event_type                                       */
  uint8_t rating;      /* feedback 1..5, else 0                               */
  uint8_t n_imp;       /* impressions: entries in imp[]                       */
  uint8_t device : 3;  /* er_device                                           */
  uint8_t flagged : 1; /* the edge flagged it (`flag` present: a bot, rate-limited): in the
                          shopper's own profile, never in what training learns   */
  uint8_t trust_new : 1; /* `trust: "new"`: a fresh id (docs/anti-gaming.md)     */
} er_log_event;

typedef struct {
  uint32_t first, n;   /* events[first .. first+n)                            */
  uint64_t start_ms, end_ms;
  uint32_t user;       /* user id + 1 of its first event that has one, else 0 */
} er_log_session;

/* An interned string table: id -> bytes, key -> id. */
typedef struct {
  char *pool;
  uint64_t pool_len, pool_cap;
  uint64_t *off;       /* [n] offsets into pool                                */
  uint32_t *len;       /* [n]                                                   */
  uint64_t *key;       /* [n] er_key of the bytes                               */
  uint32_t n, cap;
  uint64_t *slot;      /* open addressing: key's low 32 bits << 32 | id + 1, 0 empty */
  uint32_t mask;
} er_intern;

typedef struct {
  er_log_event *ev;
  uint32_t n_ev, cap_ev;
  er_log_session *ses;
  uint32_t n_ses;
  uint32_t *imp;       /* impression item ids                                   */
  uint32_t n_imp, cap_imp;
  er_intern items, sessions, users, cats, countries, ids;
  /* reading statistics */
  uint64_t lines, blank, bad, duplicates;
  uint64_t flagged, trust_new;   /* events with `flag`, with `trust: "new"`      */
  uint64_t by_type[ER_EV_COUNT]; /* indexed by er_event_type                   */
  uint32_t bad_line[ER_LOG_MAX_BAD];
  char bad_why[ER_LOG_MAX_BAD][208];
  uint32_t n_bad_kept;
  uint64_t min_ms, max_ms;
} er_log;

/* An empty log. */
void er_log_init(er_log *L);
/* Release everything a log holds. */
void er_log_free(er_log *L);
/* Read NDJSON events from f (the whole stream) and append them; `name`
 * labels progress lines (on stderr when `progress` is non-zero: a line per
 * million events).  Bad lines are counted, not fatal; a line longer than
 * ER_MAX_EVENT_BYTES (after a CRLF's '\r') is one ("event larger than 16384
 * bytes"), and no more of it than that is ever held in memory.  ER_E_NOMEM,
 * ER_E_IO or ER_E_LIMIT (more than ER_LOG_MAX_EVENTS) stop reading. */
er_status er_log_read(er_log *L, FILE *f, const char *name, int progress, er_error *err);
/* Group events into sessions and order them (call once, after reading).
 * Costs 4 bytes an event beyond the events (an in-place permutation), and
 * releases the id table that found duplicates (`ids` is empty afterwards). */
er_status er_log_finish(er_log *L, er_error *err);
/* Bytes of an interned string (not NUL-terminated). */
static inline const char *er_intern_str(const er_intern *t, uint32_t id, uint32_t *len) {
  *len = t->len[id];
  return t->pool + t->off[id];
}
/* Id of bytes in a table, or ER_NONE-like 0xFFFFFFFF when absent. */
uint32_t er_intern_find(const er_intern *t, const char *s, uint32_t n);
/* Intern bytes (returns the id, 0xFFFFFFFF when out of memory). */
uint32_t er_intern_add(er_intern *t, const char *s, uint32_t n);
/* The sku of an item id. */
static inline const char *er_log_sku(const er_log *L, uint32_t item, uint32_t *len) {
  return er_intern_str(&L->items, item, len);
}
/* Print the reading summary (counts per type, bad lines with numbers and
 * reasons, duplicates) to f, prefixed with `who` ("train", "eval"). */
void er_log_report(const er_log *L, FILE *f, const char *who);
/* The profile delta of event x (type, ts, sku key, price, rating, event
 * category); catalog categories are the caller's to add. */
void er_log_delta(const er_log *L, const er_log_event *e, er_profile_delta *d);
/* The shopper's history before each session, as the edge's profile would
 * hold it: prev[s] = the latest session of the same user that ended before
 * session s started, or 0xFFFFFFFF (no user, or none).  prev has n_ses
 * entries; ER_E_NOMEM when the sort's scratch cannot be had. */
er_status er_log_user_prev(const er_log *L, uint32_t *prev, er_error *err);
/* Sessions of s's history, oldest first, into out[max] (at most
 * ER_LOG_HISTORY_SESSIONS): the prev chain, stopped after
 * ER_LOG_HISTORY_EVENTS events or ER_LOG_HISTORY_DAYS before s's start.
 * Returns the count. */
#define ER_LOG_HISTORY_SESSIONS 16u
#define ER_LOG_HISTORY_EVENTS 256u
#define ER_LOG_HISTORY_DAYS 30u
uint32_t er_log_history(const er_log *L, const uint32_t *prev, uint32_t s, uint32_t *out);
/* Apply session s's history (er_log_history: every event, flagged ones too, as
 * the edge's profile saw them; catalog categories from bundle b) to p. */
void er_log_apply_history(const er_log *L, const uint32_t *prev, uint32_t s, const er_bundle *b, er_profile *p);

/* The request context (docs/context.md) the edge would send just after
 * event e: now = its time, hour and weekday in UTC, its country and device,
 * and `k` when non-zero.  Written to out[cap] as JSON; returns the length, 0
 * when it does not fit.  Training and evaluation both use it. */
uint32_t er_log_context_json(const er_log *L, const er_log_event *e, uint32_t k, char *out, uint32_t cap);

#endif
