/* er_csv.h — a streaming RFC 4180 CSV reader over a FILE*.
 *
 *   er_csv_reader r;
 *   er_csv_init(&r, f, 0, 0);                 // default limits
 *   const er_csv_field *fl; uint32_t n; int rc;
 *   while ((rc = er_csv_next(&r, &fl, &n)) > 0) {
 *     // fl[0..n): fields of the row that started on line r.row_line
 *   }
 *   if (rc < 0) fprintf(stderr, "%s\n", r.err.msg);   // names the line
 *   er_csv_free(&r);
 *
 * Accepts: an optional UTF-8 BOM, rows ended by CRLF, LF or a lone CR, fields
 * separated by ',', quoted fields ("...") holding commas, line breaks (kept as
 * they are) and "" for one quote.  A quote inside an unquoted field is taken
 * literally.  Empty lines (outside quotes) are skipped; a final line without a
 * line break is a row.  Rejected, with er_error and the line number:
 * characters other than ',' or a line break after a closing quote, end of
 * file inside a quoted field (naming the line it opened on), a row longer than
 * max_row_bytes or with more than max_fields fields (ER_E_LIMIT), read errors
 * (ER_E_IO).  Memory: one row buffer (grows up to max_row_bytes) plus one
 * 64 KiB read buffer; the file is never read whole.  Bytes are not validated
 * as UTF-8. */
#ifndef ER_CSV_H
#define ER_CSV_H

#include <stdio.h>
#include "er_base.h"

#define ER_CSV_DEFAULT_MAX_ROW (1u << 20)    /* bytes of field data per row */
#define ER_CSV_DEFAULT_MAX_FIELDS 4096u

/* One field: p[0..len) is its unquoted, unescaped text; p[len] is a NUL (the
 * text may itself hold NULs, so use len).  Valid until the next er_csv_next. */
typedef struct {
  const char *p;
  uint32_t len;
} er_csv_field;

typedef struct {
  /* public, read-only */
  uint64_t row_line;   /* 1-based line on which the last returned row started */
  uint64_t rows;       /* rows returned so far (the header counts) */
  er_error err;        /* set when er_csv_next returns -1 */
  /* private */
  FILE *f;
  uint64_t line;       /* current line */
  uint32_t max_row, max_fields;
  char *buf;           /* row text, each field NUL-terminated */
  uint32_t len, cap;
  uint32_t *starts;    /* field start offsets into buf */
  er_csv_field *fields;
  uint32_t nf, fcap;
  unsigned char rd[65536];
  size_t rpos, rlen;
  int started, eof, failed;
} er_csv_reader;

/* Prepare r to read f from its current position.  max_row_bytes /
 * max_fields: 0 for the defaults above.  Allocates nothing yet. */
void er_csv_init(er_csv_reader *r, FILE *f, uint32_t max_row_bytes, uint32_t max_fields);
/* Read the next row: 1 with *fields and *n set; 0 at end of file; -1 on error
 * (r->err; every later call returns -1 again). */
int er_csv_next(er_csv_reader *r, const er_csv_field **fields, uint32_t *n);
/* Release the buffers (does not close the FILE). */
void er_csv_free(er_csv_reader *r);

/* Index of the field equal to name (exact, case-sensitive) in fields[0..n),
 * -1 when absent: for looking up header columns. */
int er_csv_column(const er_csv_field *fields, uint32_t n, const char *name);

#endif
