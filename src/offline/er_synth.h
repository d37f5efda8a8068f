/* er_synth.h — `edgerec synth`: a seeded, labelled-synthetic browsing-log
 * generator (a development aid, never evidence: the figures that count are on
 * real logs; docs/training.md "A synthetic browsing log").
 *
 * Model: a catalogue of `items` items in `categories` categories (category
 * sizes Zipf `cat_zipf`; item popularity Zipf `zipf` over the global rank, so
 * also within each category; a lognormal price per category and item).  Each
 * item has up to 8 "similar" items in its category and 2 complements in other
 * categories, drawn by popularity.  `users` users, each with 1–3 preferred
 * categories, have a geometric number of sessions (mean `sessions`) spread over
 * `days` days; session lengths are lognormal (median `len_median` item steps),
 * gaps inside a session lognormal (median `gap_median` s, clamped below the
 * 30-minute cut), gaps between sessions more than 30 minutes.  Each step after
 * the first is a re-visit of an item seen earlier in the session (`revisit`,
 * biased to recent and often-viewed ones), a return to an item of the user's
 * earlier sessions (`ret`), a neighbour of the current item (`neighbour`), or
 * a new item by popularity in the session's intent category (the rest; both
 * of the last two prefer items not seen yet in the session).  A
 * view is followed by a cart (`cart`) or a favourite (`fav`); a carted item is
 * bought (`buy`) later in the session or in a later session; a bought item is
 * rarely viewed again unless its category is consumable (`consumable` share
 * of categories), where it can be bought again on a later day.
 *
 * Output is streamed (rows grouped by user, in time order within a user, as
 * Taobao's UserBehavior.csv); memory is O(items), not O(events).  The same
 * options and seed give byte-identical output. */
#ifndef ER_SYNTH_H
#define ER_SYNTH_H

#include <stdint.h>
#include <stdio.h>

enum { ER_SYNTH_CSV = 0, ER_SYNTH_NDJSON = 1 };

typedef struct {
  uint64_t seed;
  uint32_t items, categories, users;
  double days;            /* the time window sessions start in               */
  uint64_t events;        /* > 0: stop after this many events (users then unbounded) */
  double zipf, cat_zipf;  /* item popularity and category size exponents       */
  double sessions;        /* mean sessions per user (geometric, >= 1)          */
  double len_median, len_sigma; /* item steps per session: lognormal           */
  double gap_median, gap_sigma; /* seconds between steps: lognormal, < 1800    */
  double revisit, ret, neighbour; /* step choice probabilities (sum <= 1)      */
  double recency;         /* a re-visit's weight: views / (1 + steps since)^recency */
  double cart, fav, buy;  /* funnel: per view, per view, per cart              */
  double consumable;      /* share of categories bought repeatedly             */
  double intent_pref;     /* probability a session's intent is a preferred category */
  int64_t start;          /* unix seconds of the first day                     */
  int format;             /* ER_SYNTH_CSV or ER_SYNTH_NDJSON                   */
} er_synth_opts;

typedef struct {
  uint64_t events, by_type[4]; /* view, cart, fav (wishlist), buy (purchase)  */
  uint64_t sessions, users, distinct_items;
  uint64_t seen_in_session;    /* events whose item was seen earlier in the session */
} er_synth_stats;

/* Fill o with a preset's values: "browsing" (the default: ~85 k events over
 * ~55 k items by 1,000 users in 9 days) or "shop" (2,000 items, more, shorter
 * sessions).  0, or -1 for an unknown name. */
int er_synth_preset(er_synth_opts *o, const char *name);

/* Check o; 0, or -1 with a message naming the option in err. */
int er_synth_check(const er_synth_opts *o, char *err, size_t errcap);

/* Generate the log to out (and, when catalog is not NULL, the catalogue as
 * `pack --catalog` JSON); progress every million events on stderr when
 * progress is set.  0 ok, 2 bad options, 3 out of memory or a write error;
 * message in err. */
int er_synth_run(const er_synth_opts *o, FILE *out, FILE *catalog, int progress, er_synth_stats *st, char *err,
                 size_t errcap);

/* `edgerec synth [options]`; argv[0] is "synth".  The log on stdout (or
 * --out FILE), the summary on stderr.  Returns 0, 2 usage, 3 failure. */
int er_synth_main(int argc, char **argv);

#endif
