/* er_csv.c — streaming RFC 4180 CSV reader; see er_csv.h. */
#include "er_csv.h"

#include <stdlib.h>
#include <string.h>

void er_csv_init(er_csv_reader *r, FILE *f, uint32_t max_row_bytes, uint32_t max_fields) {
  memset(r, 0, sizeof *r);
  r->f = f;
  r->line = 1;
  r->max_row = max_row_bytes ? max_row_bytes : ER_CSV_DEFAULT_MAX_ROW;
  r->max_fields = max_fields ? max_fields : ER_CSV_DEFAULT_MAX_FIELDS;
  er_error_clear(&r->err);
}

void er_csv_free(er_csv_reader *r) {
  free(r->buf);
  free(r->starts);
  free(r->fields);
  r->buf = NULL;
  r->starts = NULL;
  r->fields = NULL;
  r->cap = r->fcap = 0;
}

/* Next byte, or -1 at end of file; -2 on a read error. */
static int rd_byte(er_csv_reader *r) {
  if (r->rpos == r->rlen) {
    if (r->eof) return -1;
    r->rlen = fread(r->rd, 1, sizeof r->rd, r->f);
    r->rpos = 0;
    if (r->rlen == 0) {
      r->eof = 1;
      return ferror(r->f) ? -2 : -1;
    }
  }
  return r->rd[r->rpos++];
}

static int peek_byte(er_csv_reader *r) {
  int c = rd_byte(r);
  if (c >= 0) r->rpos--; /* the byte is still in rd: rd_byte just advanced past it */
  return c;
}

static int fail(er_csv_reader *r, er_status code, const char *what, uint64_t line) {
  r->failed = 1;
  er_fail(&r->err, code, ER_NO_OFFSET, "csv line %llu: %s", (unsigned long long)line, what);
  return -1;
}

static int put(er_csv_reader *r, char c) {
  if (r->len + 1 >= r->cap) { /* keep room for the field's NUL */
    if (r->len + 2 > r->max_row + 1u + r->max_fields) return 0;
    uint32_t nc = r->cap ? r->cap * 2 : 256;
    uint32_t lim = r->max_row + 1u + r->max_fields; /* text + one NUL per field */
    if (nc > lim) nc = lim;
    char *nb = realloc(r->buf, nc);
    if (!nb) return 0;
    r->buf = nb;
    r->cap = nc;
  }
  r->buf[r->len++] = c;
  return 1;
}

static int start_field(er_csv_reader *r) {
  if (r->nf == r->max_fields) return 0;
  if (r->nf == r->fcap) {
    uint32_t nc = r->fcap ? r->fcap * 2 : 32;
    if (nc > r->max_fields) nc = r->max_fields;
    uint32_t *ns = realloc(r->starts, (size_t)nc * sizeof *ns);
    if (!ns) return 0;
    r->starts = ns;
    er_csv_field *nf = realloc(r->fields, (size_t)nc * sizeof *nf);
    if (!nf) return 0;
    r->fields = nf;
    r->fcap = nc;
  }
  r->starts[r->nf++] = r->len;
  return 1;
}

int er_csv_next(er_csv_reader *r, const er_csv_field **fields, uint32_t *n) {
  *fields = NULL;
  *n = 0;
  if (r->failed) return -1;
  if (!r->started) { /* skip a UTF-8 BOM */
    r->started = 1;
    int c = rd_byte(r);
    if (c == 0xEF) {
      if (rd_byte(r) != 0xBB || rd_byte(r) != 0xBF) return fail(r, ER_E_SHAPE, "malformed byte order mark", 1);
    } else if (c >= 0) {
      r->rpos--;
    } else if (c == -2) {
      return fail(r, ER_E_IO, "read error", r->line);
    }
  }
  int c;
  /* skip empty lines */
  for (;;) {
    c = rd_byte(r);
    if (c == '\n') { r->line++; continue; }
    if (c == '\r') { if (peek_byte(r) == '\n') rd_byte(r); r->line++; continue; }
    break;
  }
  if (c == -1) return 0;
  if (c == -2) return fail(r, ER_E_IO, "read error", r->line);
  r->row_line = r->line;
  r->len = 0;
  r->nf = 0;
  uint32_t text = 0; /* bytes of field text in this row */
  for (;;) { /* one field per iteration; c is its first byte */
    if (!start_field(r)) return fail(r, ER_E_LIMIT, "too many fields in the row (or out of memory)", r->row_line);
    if (c == '"') {
      uint64_t open_line = r->line;
      for (;;) {
        c = rd_byte(r);
        if (c == -2) return fail(r, ER_E_IO, "read error", r->line);
        if (c == -1) return fail(r, ER_E_SHAPE, "end of file inside a quoted field", open_line);
        if (c == '"') {
          int d = peek_byte(r);
          if (d == '"') { rd_byte(r); c = '"'; }
          else break;
        } else if (c == '\n') {
          r->line++;
        } else if (c == '\r') {
          if (peek_byte(r) != '\n') r->line++;
        }
        if (++text > r->max_row || !put(r, (char)c)) return fail(r, ER_E_LIMIT, "row longer than the maximum row size", r->row_line);
      }
      c = rd_byte(r); /* after the closing quote */
      if (c == -2) return fail(r, ER_E_IO, "read error", r->line);
      if (c >= 0 && c != ',' && c != '\n' && c != '\r') return fail(r, ER_E_SHAPE, "unexpected character after a closing quote", r->line);
    } else {
      while (c != ',' && c != '\n' && c != '\r' && c >= 0) {
        if (++text > r->max_row || !put(r, (char)c)) return fail(r, ER_E_LIMIT, "row longer than the maximum row size", r->row_line);
        c = rd_byte(r);
      }
      if (c == -2) return fail(r, ER_E_IO, "read error", r->line);
    }
    if (!put(r, '\0')) return fail(r, ER_E_LIMIT, "row longer than the maximum row size", r->row_line);
    if (c == ',') {
      c = rd_byte(r);
      if (c == -2) return fail(r, ER_E_IO, "read error", r->line);
      continue; /* c == -1 / line break: an empty last field */
    }
    if (c == '\r') { if (peek_byte(r) == '\n') rd_byte(r); r->line++; }
    else if (c == '\n') r->line++;
    break; /* end of row (or of file) */
  }
  for (uint32_t i = 0; i < r->nf; i++) { /* a field ends at the NUL before the next start */
    uint32_t end = (i + 1 < r->nf ? r->starts[i + 1] : r->len) - 1;
    r->fields[i].p = r->buf + r->starts[i];
    r->fields[i].len = end - r->starts[i];
  }
  r->rows++;
  *fields = r->fields;
  *n = r->nf;
  return 1;
}

int er_csv_column(const er_csv_field *fields, uint32_t n, const char *name) {
  size_t l = strlen(name);
  for (uint32_t i = 0; i < n; i++)
    if (fields[i].len == l && !memcmp(fields[i].p, name, l)) return (int)i;
  return -1;
}
