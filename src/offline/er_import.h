/* er_import.h — event importers: Online Retail CSV, OTTO session JSONL and any
 * CSV/TSV with a header row, written as the event contract's NDJSON
 * (docs/events.md).  Streaming: fixed buffers, one record at a time; the only
 * state that grows is the per-user table of `csv` without --session (one entry
 * per distinct user, for --session-gap splitting). */
#ifndef ER_IMPORT_H
#define ER_IMPORT_H

#include <stdint.h>
#include <stdio.h>

/* `edgerec import <format> [options] FILE|-`; argv[0] is "import".  NDJSON on
 * stdout, progress and the summary on stderr.  Returns 0 ok, 2 usage, 3 bad
 * input (unreadable file, missing columns, or no row at all was usable). */
int er_import_main(int argc, char **argv);

#define ER_IMPORT_MAX_BAD_LINES 10
typedef struct {
  uint64_t rows;            /* data records read (header excluded)        */
  uint64_t events;          /* events written                             */
  uint64_t dropped_cancel;  /* online-retail: invoices starting with C    */
  uint64_t dropped_nostock; /* online-retail: rows without a StockCode    */
  uint64_t malformed;       /* rows/lines that produced no events         */
  uint64_t bad_lines[ER_IMPORT_MAX_BAD_LINES]; /* first malformed line numbers */
  char bad_why[ER_IMPORT_MAX_BAD_LINES][120];
  uint32_t nbad;
} er_import_stats;

/* ER_TS_YMD: `ts` names three columns "Y,M,D" (comma-separated); the time is
 * midnight UTC of that date (year 1970..2105, month 1..12, a day of that month). */
enum { ER_TS_UNIX = 0, ER_TS_UNIX_MS = 1, ER_TS_ISO8601 = 2, ER_TS_YMD = 3 };

typedef struct {
  const char *session, *item, *ts, *type, *user, *category, *price; /* column names */
  const char *order;      /* column: an integer >= 0 (position in the session) added to ts in seconds, or NULL */
  const char *type_map;   /* "pv=view,fav=wishlist,buy=purchase" or NULL; targets view, click, cart, purchase, wishlist */
  int ts_format;          /* ER_TS_* */
  char sep;               /* ',', '\t' or ';' */
  int64_t session_gap;    /* seconds, used without `session` */
} er_import_csv_opts;

/* The importers.  Return 0, 2 (bad options; message in err) or 3 (bad input;
 * message in err).  Counts go to st. */
int er_import_csv(FILE *in, FILE *out, const er_import_csv_opts *o, er_import_stats *st, char *err, size_t errcap);
int er_import_online_retail(FILE *in, FILE *out, er_import_stats *st, char *err, size_t errcap);
int er_import_otto(FILE *in, FILE *out, er_import_stats *st, char *err, size_t errcap);

/* Timestamps → unix milliseconds; 0 on success, -1 when malformed or outside
 * 0 <= ts < 2^32 s.  ISO 8601: YYYY-MM-DD[T| ]HH:MM[:SS[.fff...]][Z|±HH[:]MM],
 * or a bare date; no zone means UTC. */
int er_import_parse_iso8601(const char *s, size_t n, int64_t *ms);
int er_import_parse_unix(const char *s, size_t n, int64_t *ms);    /* seconds, fraction kept to ms */
int er_import_parse_unix_ms(const char *s, size_t n, int64_t *ms); /* integer ms (a fraction is truncated) */
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t er_import_days_from_civil(int64_t y, unsigned m, unsigned d);
/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int er_import_utf8_ok(const char *s, size_t n);

#endif
