/* er_import.c — event importers (see er_import.h).  Fixed buffers, one record
 * at a time; JSON output through er_buf so strings are escaped properly. */
#include "er_import.h"

#include "er_buf.h"
#include "er_json.h"

#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------------- */
typedef struct { const char *p; uint32_t n; } sv;

static int sv_eq(sv a, const char *s) { size_t n = strlen(s); return a.n == n && !memcmp(a.p, s, n); }

int er_import_utf8_ok(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = u[i];
    if (c < 0x80) { i++; continue; }
    size_t len; unsigned min, cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((u[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (u[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += len;
  }
  return 1;
}

/* ---- timestamps ------------------------------------------------------------ */
int64_t er_import_days_from_civil(int64_t y, unsigned m, unsigned d) { /* H. Hinnant's algorithm */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

#define TS_MAX_MS (4294967296LL * 1000) /* ts < 2^32 s */

static int digits(const char *s, size_t n, size_t *i, int count, int64_t *v) {
  int64_t x = 0;
  for (int k = 0; k < count; k++) {
    if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
    x = x * 10 + (s[(*i)++] - '0');
  }
  *v = x;
  return 0;
}

static int frac_ms(const char *s, size_t n, size_t *i, int64_t *ms) { /* after '.', >= 1 digit */
  int64_t v = 0; int k = 0;
  if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
  while (*i < n && s[*i] >= '0' && s[*i] <= '9') { if (k < 3) v = v * 10 + (s[*i] - '0'); k++; (*i)++; }
  while (k < 3) { v *= 10; k++; }
  *ms = v;
  return 0;
}

int er_import_parse_iso8601(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  int64_t y, mo, d, h = 0, mi = 0, se = 0, ms = 0, off = 0;
  if (digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || digits(s, n, &i, 2, &mo) || i >= n || s[i++] != '-' ||
      digits(s, n, &i, 2, &d))
    return -1;
  if (i < n) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return -1;
    i++;
    if (digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || digits(s, n, &i, 2, &mi)) return -1;
    if (i < n && s[i] == ':') {
      i++;
      if (digits(s, n, &i, 2, &se)) return -1;
      if (i < n && (s[i] == '.' || s[i] == ',')) { i++; if (frac_ms(s, n, &i, &ms)) return -1; }
    }
    if (i < n) {
      if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) i++;
      else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i++] == '-' ? -1 : 1;
        int64_t oh, om = 0;
        if (digits(s, n, &i, 2, &oh)) return -1;
        if (i < n && s[i] == ':') i++;
        if (i < n && digits(s, n, &i, 2, &om)) return -1;
        if (oh > 23 || om > 59) return -1;
        off = sign * (oh * 60 + om) * 60;
      } else return -1;
      if (i != n) return -1;
    }
  }
  static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60) return -1;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return -1;
  int64_t secs = er_import_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - off;
  int64_t v = secs * 1000 + ms;
  if (secs < 0 || v >= TS_MAX_MS) return -1;
  *out = v;
  return 0;
}

int er_import_parse_unix(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  int64_t sec = 0, ms = 0;
  if (n == 0) return -1;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    sec = sec * 10 + (s[i] - '0');
    if (sec >= 4294967296LL) return -1;
  }
  if (i == 0) return -1;
  if (i < n && s[i] == '.') { i++; if (frac_ms(s, n, &i, &ms)) return -1; }
  if (i != n) return -1;
  *out = sec * 1000 + ms;
  return 0;
}

int er_import_parse_unix_ms(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  int64_t v = 0, dummy;
  if (n == 0) return -1;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    v = v * 10 + (s[i] - '0');
    if (v >= TS_MAX_MS) return -1;
  }
  if (i == 0) return -1;
  if (i < n && s[i] == '.') { i++; if (frac_ms(s, n, &i, &dummy)) return -1; }
  if (i != n) return -1;
  *out = v;
  return 0;
}

/* A decimal "123", "2.55", ".5" ≥ 0 → millionths; -1 when malformed or > 1e10. */
static int parse_price(sv s, int64_t *out) {
  size_t i = 0;
  int64_t ip = 0, fp = 0;
  int nd = 0, fd = 0;
  if (i < s.n && s.p[i] == '+') i++;
  for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, nd++) {
    ip = ip * 10 + (s.p[i] - '0');
    if (ip > 10000000000LL) return -1;
  }
  if (i < s.n && s.p[i] == '.') {
    i++;
    for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, fd++)
      if (fd < 6) fp = fp * 10 + (s.p[i] - '0');
  }
  if (i != s.n || nd + fd == 0) return -1;
  for (int k = fd; k < 6; k++) fp *= 10;
  int64_t v = ip * 1000000 + fp;
  if (v > 10000000000LL * 1000000) return -1;
  *out = v;
  return 0;
}

static int parse_qty(sv s, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  int64_t v = 0;
  if (i < s.n && (s.p[i] == '-' || s.p[i] == '+')) neg = s.p[i++] == '-';
  size_t d0 = i;
  for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
    v = v * 10 + (s.p[i] - '0');
    if (v > 1000000) return -1;
  }
  if (i == d0) return -1;
  if (i < s.n && s.p[i] == '.') { i++; while (i < s.n && s.p[i] == '0') i++; }
  if (i != s.n) return -1;
  *out = neg ? -v : v;
  return 0;
}

/* ---- output ---------------------------------------------------------------- */
typedef struct {
  const char *type;
  sv item, session, user, category, country, id;
  int64_t ts_ms;
  int has_price, has_qty, has_user;
  int64_t price_micro, qty;
} ev;

static void put_ts(er_buf *b, int64_t ms) {
  er_buf_int(b, ms / 1000);
  int r = (int)(ms % 1000);
  if (r) {
    char t[4] = {'.', (char)('0' + r / 100), (char)('0' + r / 10 % 10), (char)('0' + r % 10)};
    uint32_t n = 4;
    while (t[n - 1] == '0') n--;
    er_buf_put(b, t, n);
  }
}

static void put_price(er_buf *b, int64_t micro) {
  er_buf_int(b, micro / 1000000);
  int64_t r = micro % 1000000;
  if (r) {
    char t[7];
    t[0] = '.';
    for (int k = 6; k >= 1; k--) { t[k] = (char)('0' + r % 10); r /= 10; }
    uint32_t n = 7;
    while (t[n - 1] == '0') n--;
    er_buf_put(b, t, n);
  }
}

static void put_field(er_buf *b, const char *key, sv v) {
  er_buf_lit(b, ",\"");
  er_buf_lit(b, key);
  er_buf_lit(b, "\":");
  er_buf_jstr(b, v.p, v.n);
}

/* 0 written, -1 a string out of the contract's range */
static int emit(FILE *out, const ev *e, er_import_stats *st) {
  static char mem[16384];
  if (e->item.n < 1 || e->item.n > ER_MAX_SKU_BYTES || e->session.n > 256 || e->user.n > 256 ||
      e->category.n > 256 || e->country.n > 256 || e->id.n > 256)
    return -1;
  er_buf b;
  er_buf_init(&b, mem, sizeof mem);
  er_buf_lit(&b, "{\"type\":\"");
  er_buf_lit(&b, e->type);
  er_buf_lit(&b, "\"");
  put_field(&b, "item", e->item);
  er_buf_lit(&b, ",\"ts\":");
  put_ts(&b, e->ts_ms);
  put_field(&b, "session", e->session);
  if (e->has_user) put_field(&b, "user", e->user);
  if (e->category.n) put_field(&b, "category", e->category);
  if (e->has_price) { er_buf_lit(&b, ",\"price\":"); put_price(&b, e->price_micro); }
  if (e->has_qty) { er_buf_lit(&b, ",\"qty\":"); er_buf_int(&b, e->qty); }
  if (e->country.n) put_field(&b, "country", e->country);
  put_field(&b, "id", e->id);
  er_buf_lit(&b, "}\n");
  if (b.overflow) return -1;
  fwrite(b.p, 1, b.len, out);
  st->events++;
  return 0;
}

static void bad(er_import_stats *st, uint64_t line, const char *why) {
  if (st->nbad < ER_IMPORT_MAX_BAD_LINES) {
    st->bad_lines[st->nbad] = line;
    size_t n = strlen(why);
    if (n >= sizeof st->bad_why[0]) n = sizeof st->bad_why[0] - 1;
    memcpy(st->bad_why[st->nbad], why, n);
    st->bad_why[st->nbad][n] = 0;
    st->nbad++;
  }
  st->malformed++;
}

static void progress(const char *fmt, const er_import_stats *st) {
  if (st->rows && st->rows % 1000000 == 0)
    fprintf(stderr, "import %s: %llu rows read...\n", fmt, (unsigned long long)st->rows);
}

/* ---- buffered input -------------------------------------------------------- */
typedef struct {
  FILE *f;
  size_t ip, il;
  int eof, started;
  char in[1 << 16];
} rdr;

static int rd(rdr *r) {
  if (r->ip == r->il) {
    if (r->eof) return -1;
    r->il = fread(r->in, 1, sizeof r->in, r->f);
    r->ip = 0;
    if (!r->started) { /* a UTF-8 byte order mark */
      r->started = 1;
      if (r->il >= 3 && !memcmp(r->in, "\xEF\xBB\xBF", 3)) r->ip = 3;
    }
    if (r->ip == r->il) { r->eof = 1; return -1; }
  }
  return (unsigned char)r->in[r->ip++];
}
static void unrd(rdr *r) { r->ip--; } /* only right after rd returned a byte */

/* ---- CSV records (RFC 4180) ------------------------------------------------ */
#define CSV_REC_MAX (1u << 20)
#define CSV_MAX_FIELDS 1024
typedef struct {
  rdr r;
  char sep;
  uint64_t line, start_line;
  const char *bad;
  uint32_t nf, rlen;
  uint32_t fs[CSV_MAX_FIELDS], fe[CSV_MAX_FIELDS];
  char rec[CSV_REC_MAX];
} csv_rd;

static void csv_put(csv_rd *c, int ch) {
  if (c->rlen >= CSV_REC_MAX) { if (!c->bad) c->bad = "record longer than 1 MB"; return; }
  c->rec[c->rlen++] = (char)ch;
}

/* 1 record read (c->bad set when it is malformed), 0 at the end of input. */
static int csv_next(csv_rd *c) {
  for (;;) {
    c->rlen = 0; c->nf = 0; c->bad = NULL; c->start_line = c->line;
    int ch = rd(&c->r);
    if (ch < 0) return 0;
    int quoted_any = 0;
    for (;;) { /* one field per iteration; ch is its first byte */
      uint32_t start = c->rlen;
      if (ch == '"') {
        quoted_any = 1;
        for (;;) {
          ch = rd(&c->r);
          if (ch < 0) { if (!c->bad) c->bad = "unterminated quoted field"; break; }
          if (ch == '"') {
            ch = rd(&c->r);
            if (ch == '"') { csv_put(c, '"'); continue; }
            break;
          }
          if (ch == '\n') c->line++;
          csv_put(c, ch);
        }
        if (ch == '\r') { int nx = rd(&c->r); if (nx == '\n') ch = '\n'; else if (nx >= 0) unrd(&c->r); }
        if (ch >= 0 && ch != c->sep && ch != '\n') {
          if (!c->bad) c->bad = "text after a closing quote";
          while (ch >= 0 && ch != c->sep && ch != '\n') { csv_put(c, ch); ch = rd(&c->r); }
        }
      } else {
        while (ch >= 0 && ch != c->sep && ch != '\n') {
          if (ch == '\r') {
            int nx = rd(&c->r);
            if (nx == '\n') { ch = '\n'; break; }
            if (nx >= 0) unrd(&c->r);
          }
          if (ch == '"' && !c->bad) c->bad = "a quote inside an unquoted field";
          csv_put(c, ch);
          ch = rd(&c->r);
        }
      }
      if (c->nf < CSV_MAX_FIELDS) { c->fs[c->nf] = start; c->fe[c->nf] = c->rlen; c->nf++; }
      else if (!c->bad) c->bad = "more than 1024 fields";
      if (ch == c->sep) { ch = rd(&c->r); if (ch < 0 || ch == '\n' || ch == '\r') { /* trailing separator: one more empty field */
          if (ch == '\r') { int nx = rd(&c->r); if (nx >= 0 && nx != '\n') unrd(&c->r); }
          if (c->nf < CSV_MAX_FIELDS) { c->fs[c->nf] = c->rlen; c->fe[c->nf] = c->rlen; c->nf++; }
          if (ch >= 0) c->line++;
          break;
        }
        continue; }
      if (ch == '\n') c->line++;
      break;
    }
    if (c->nf == 1 && c->rlen == 0 && !quoted_any && !c->bad) continue; /* a blank line */
    return 1;
  }
}

static sv csv_field(const csv_rd *c, int32_t i) {
  sv v = {"", 0};
  if (i >= 0 && (uint32_t)i < c->nf) { v.p = c->rec + c->fs[i]; v.n = c->fe[i] - c->fs[i]; }
  return v;
}

static int32_t csv_col(const csv_rd *c, const char *name) {
  if (!name) return -1;
  for (uint32_t i = 0; i < c->nf; i++) if (sv_eq(csv_field(c, (int32_t)i), name)) return (int32_t)i;
  return -1;
}

static csv_rd *csv_open(FILE *in, char sep) {
  csv_rd *c = malloc(sizeof *c);
  if (!c) return NULL;
  memset(&c->r, 0, sizeof c->r);
  c->r.f = in; c->sep = sep; c->line = 1;
  return c;
}

/* ---- user table for --session-gap ---------------------------------------- */
typedef struct { char *user; uint32_t n; uint32_t sess; int64_t last_ms; } uent;
typedef struct { uent *e; size_t cap, used; } utab;

static uent *utab_get(utab *t, sv u) {
  if ((t->used + 1) * 2 > t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 1024;
    uent *ne = calloc(nc, sizeof *ne);
    if (!ne) return NULL;
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->e[i].user) continue;
      size_t h = (size_t)er_key(t->e[i].user, t->e[i].n) & (nc - 1);
      while (ne[h].user) h = (h + 1) & (nc - 1);
      ne[h] = t->e[i];
    }
    free(t->e);
    t->e = ne; t->cap = nc;
  }
  size_t h = (size_t)er_key(u.p, u.n) & (t->cap - 1);
  while (t->e[h].user) {
    if (t->e[h].n == u.n && !memcmp(t->e[h].user, u.p, u.n)) return &t->e[h];
    h = (h + 1) & (t->cap - 1);
  }
  char *s = malloc(u.n + 1);
  if (!s) return NULL;
  memcpy(s, u.p, u.n);
  t->e[h].user = s; t->e[h].n = u.n; t->e[h].sess = 0; t->e[h].last_ms = 0;
  t->used++;
  return &t->e[h];
}

static void utab_free(utab *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->e[i].user);
  free(t->e);
}

/* ---- type map -------------------------------------------------------------- */
#define TMAP_MAX 64
typedef struct { sv from[TMAP_MAX]; const char *to[TMAP_MAX]; int n; } tmap;

static const char *contract_type(sv v) {
  static const char *const t[] = {"view", "click", "cart", "purchase", "wishlist"};
  for (int i = 0; i < 5; i++) if (sv_eq(v, t[i])) return t[i];
  return NULL;
}

static int tmap_parse(tmap *m, const char *s, char *err, size_t errcap) {
  m->n = 0;
  while (*s) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    if (!eq || eq == s || m->n >= TMAP_MAX) { snprintf(err, errcap, "--type-map: expected FROM=TYPE,... (at most %d pairs)", TMAP_MAX); return -1; }
    sv to = {eq + 1, (uint32_t)(s + len - eq - 1)};
    const char *ct = contract_type(to);
    if (!ct) { snprintf(err, errcap, "--type-map: '%.*s' is not one of view, click, cart, purchase, wishlist", (int)to.n, to.p); return -1; }
    m->from[m->n].p = s; m->from[m->n].n = (uint32_t)(eq - s); m->to[m->n] = ct; m->n++;
    s += len + (comma ? 1 : 0);
  }
  return 0;
}

static const char *tmap_get(const tmap *m, sv v) {
  for (int i = 0; i < m->n; i++) if (m->from[i].n == v.n && !memcmp(m->from[i].p, v.p, v.n)) return m->to[i];
  return contract_type(v);
}

/* ---- import csv ------------------------------------------------------------ */
static int fields_utf8(const csv_rd *c) {
  for (uint32_t i = 0; i < c->nf; i++) { sv v = csv_field(c, (int32_t)i); if (!er_import_utf8_ok(v.p, v.n)) return 0; }
  return 1;
}

static int parse_ts(int fmt, sv v, int64_t *ms) {
  if (fmt == ER_TS_UNIX_MS) return er_import_parse_unix_ms(v.p, v.n, ms);
  if (fmt == ER_TS_ISO8601) return er_import_parse_iso8601(v.p, v.n, ms);
  return er_import_parse_unix(v.p, v.n, ms);
}

/* A decimal integer 0..max (no sign, no fraction); -1 when malformed or larger. */
static int parse_uint(sv v, int64_t max, int64_t *out) {
  int64_t x = 0;
  if (!v.n) return -1;
  for (uint32_t i = 0; i < v.n; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') return -1;
    x = x * 10 + (v.p[i] - '0');
    if (x > max) return -1;
  }
  *out = x;
  return 0;
}

/* --ts Y,M,D: midnight UTC of the date in columns col[0..2] (names in names[]);
 * 0, or -1 with why naming the column. */
static int ymd_ts(const csv_rd *c, const int32_t col[3], char names[3][128], int64_t *ms, char *why, size_t cap) {
  static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  static const char *const what[3] = {"a year 1970..2105", "a month 1..12", "a day of that month"};
  int64_t v[3];
  for (int k = 0; k < 3; k++) {
    sv f = csv_field(c, col[k]);
    int ok = !parse_uint(f, 9999, &v[k]);
    if (ok && k == 0) ok = v[0] >= 1970 && v[0] <= 2105;
    if (ok && k == 1) ok = v[1] >= 1 && v[1] <= 12;
    if (ok && k == 2) {
      int leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
      ok = v[2] >= 1 && v[2] <= mdays[v[1] - 1] && !(v[1] == 2 && v[2] == 29 && !leap);
    }
    if (!ok) {
      snprintf(why, cap, "column '%.40s': '%.*s' is not %s", names[k], (int)(f.n > 16 ? 16 : f.n), f.p, what[k]);
      return -1;
    }
  }
  *ms = er_import_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 * 1000; /* 2105-12-31 < 2^32 s */
  return 0;
}

static void id_of(char *buf, size_t cap, const char *prefix, uint64_t line, ev *e) {
  int n = snprintf(buf, cap, "%s%llu", prefix, (unsigned long long)line);
  e->id.p = buf; e->id.n = (uint32_t)(n < 0 ? 0 : n);
}

int er_import_csv(FILE *in, FILE *out, const er_import_csv_opts *o, er_import_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  tmap tm;
  if (!o->item || !o->ts) { snprintf(err, errcap, "csv needs --item COL and --ts COL"); return 2; }
  if (!o->session && !o->user) { snprintf(err, errcap, "csv needs --session COL, or --user COL to split sessions at gaps"); return 2; }
  if (o->type_map && tmap_parse(&tm, o->type_map, err, errcap)) return 2;
  if (!o->type_map) tm.n = 0;
  char ymd[3][128];
  if (o->ts_format == ER_TS_YMD) { /* "Y,M,D": three column names */
    const char *p = o->ts;
    for (int k = 0; k < 3; k++) {
      const char *e = k < 2 ? strchr(p, ',') : p + strlen(p);
      if (!e || e == p || (size_t)(e - p) >= sizeof ymd[k] || (k == 2 && strchr(p, ','))) {
        snprintf(err, errcap, "--ts with --ts-format ymd: expected three column names YEAR,MONTH,DAY (got '%.100s')", o->ts);
        return 2;
      }
      memcpy(ymd[k], p, (size_t)(e - p));
      ymd[k][e - p] = 0;
      p = e + 1;
    }
  }
  csv_rd *c = csv_open(in, o->sep);
  if (!c) { snprintf(err, errcap, "out of memory"); return 3; }
  int rc = 0;
  utab ut = {NULL, 0, 0};
  if (!csv_next(c) || c->bad) { snprintf(err, errcap, "no header row%s%s", c->bad ? ": " : "", c->bad ? c->bad : ""); rc = 3; goto done; }
  uint32_t ncol = c->nf;
  const char *names[11] = {o->session, o->item, o->ts, o->type, o->user, o->category, o->price, o->order, NULL, NULL, NULL};
  if (o->ts_format == ER_TS_YMD) { names[2] = NULL; names[8] = ymd[0]; names[9] = ymd[1]; names[10] = ymd[2]; }
  int32_t col[11];
  for (int k = 0; k < 11; k++) {
    col[k] = csv_col(c, names[k]);
    if (names[k] && col[k] < 0) { snprintf(err, errcap, "no column named '%s' in the header", names[k]); rc = 3; goto done; }
  }
  char idbuf[32], sessbuf[300], why[120];
  while (csv_next(c)) {
    st->rows++;
    progress("csv", st);
    uint64_t line = c->start_line;
    if (c->bad) { bad(st, line, c->bad); continue; }
    if (c->nf != ncol) { char w[64]; snprintf(w, sizeof w, "%u fields, expected %u", c->nf, ncol); bad(st, line, w); continue; }
    if (!fields_utf8(c)) { bad(st, line, "invalid UTF-8"); continue; }
    ev e;
    memset(&e, 0, sizeof e);
    e.item = csv_field(c, col[1]);
    if (e.item.n < 1 || e.item.n > ER_MAX_SKU_BYTES) { bad(st, line, "item must be 1..128 bytes"); continue; }
    if (o->ts_format == ER_TS_YMD) {
      if (ymd_ts(c, col + 8, ymd, &e.ts_ms, why, sizeof why)) { bad(st, line, why); continue; }
    } else if (parse_ts(o->ts_format, csv_field(c, col[2]), &e.ts_ms)) {
      snprintf(why, sizeof why, "column '%.40s': bad ts (--ts-format %s)", o->ts,
               o->ts_format == ER_TS_UNIX_MS ? "unix-ms" : o->ts_format == ER_TS_ISO8601 ? "iso8601" : "unix");
      bad(st, line, why);
      continue;
    }
    if (col[7] >= 0) { /* --order: seconds after ts */
      int64_t ord;
      sv f = csv_field(c, col[7]);
      if (parse_uint(f, 4294967295LL, &ord) || e.ts_ms + ord * 1000 >= TS_MAX_MS) {
        snprintf(why, sizeof why, "column '%.40s': '%.*s' is not an integer >= 0 (or ts + order passes 2^32 s)", o->order,
                 (int)(f.n > 16 ? 16 : f.n), f.p);
        bad(st, line, why);
        continue;
      }
      e.ts_ms += ord * 1000;
    }
    e.type = "view";
    if (col[3] >= 0 && !(e.type = tmap_get(&tm, csv_field(c, col[3])))) { bad(st, line, "unmapped type"); continue; }
    if (col[4] >= 0) { e.user = csv_field(c, col[4]); e.has_user = e.user.n > 0; }
    if (col[5] >= 0) e.category = csv_field(c, col[5]);
    if (col[6] >= 0 && csv_field(c, col[6]).n) {
      if (parse_price(csv_field(c, col[6]), &e.price_micro)) { bad(st, line, "bad price"); continue; }
      e.has_price = 1;
    }
    if (col[0] >= 0) {
      e.session = csv_field(c, col[0]);
      if (!e.session.n) { bad(st, line, "empty session"); continue; }
    } else {
      if (!e.has_user) { bad(st, line, "empty user (sessions come from users)"); continue; }
      if (e.user.n > 256) { bad(st, line, "user longer than 256 bytes"); continue; }
      uent *u = utab_get(&ut, e.user);
      if (!u) { snprintf(err, errcap, "out of memory"); rc = 3; goto done; }
      if (u->sess == 0 || e.ts_ms > u->last_ms + o->session_gap * 1000) u->sess++;
      if (u->sess == 1 || e.ts_ms > u->last_ms) u->last_ms = e.ts_ms;
      int n = snprintf(sessbuf, sizeof sessbuf, "%.*s-%u", (int)e.user.n, e.user.p, u->sess);
      e.session.p = sessbuf; e.session.n = (uint32_t)n;
    }
    id_of(idbuf, sizeof idbuf, "csv-", line, &e);
    if (emit(out, &e, st)) bad(st, line, "a string is longer than the contract allows");
  }
  if (st->rows && st->malformed == st->rows) { snprintf(err, errcap, "every row is malformed"); rc = 3; }
done:
  utab_free(&ut);
  free(c);
  return rc;
}

/* ---- import online-retail -------------------------------------------------- */
int er_import_online_retail(FILE *in, FILE *out, er_import_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  csv_rd *c = csv_open(in, ',');
  if (!c) { snprintf(err, errcap, "out of memory"); return 3; }
  int rc = 0;
  if (!csv_next(c) || c->bad) { snprintf(err, errcap, "no header row"); rc = 3; goto done; }
  static const char *const names[7] = {"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"};
  int32_t col[7];
  uint32_t ncol = c->nf;
  for (int k = 0; k < 7; k++) {
    if ((col[k] = csv_col(c, names[k])) < 0) { snprintf(err, errcap, "no column named '%s' in the header (not the Online Retail CSV?)", names[k]); rc = 3; goto done; }
  }
  char idbuf[32];
  while (csv_next(c)) {
    st->rows++;
    progress("online-retail", st);
    uint64_t line = c->start_line;
    if (c->bad) { bad(st, line, c->bad); continue; }
    if (c->nf != ncol) { char w[64]; snprintf(w, sizeof w, "%u fields, expected %u", c->nf, ncol); bad(st, line, w); continue; }
    ev e;
    memset(&e, 0, sizeof e);
    e.session = csv_field(c, col[0]);
    if (e.session.n && (e.session.p[0] == 'C' || e.session.p[0] == 'c')) { st->dropped_cancel++; continue; }
    e.item = csv_field(c, col[1]);
    if (!e.item.n) { st->dropped_nostock++; continue; }
    if (!fields_utf8(c)) { bad(st, line, "invalid UTF-8"); continue; }
    if (!e.session.n) { bad(st, line, "empty InvoiceNo"); continue; }
    if (parse_qty(csv_field(c, col[2]), &e.qty)) { bad(st, line, "bad Quantity"); continue; }
    e.has_qty = 1;
    if (er_import_parse_iso8601(csv_field(c, col[3]).p, csv_field(c, col[3]).n, &e.ts_ms)) { bad(st, line, "bad InvoiceDate"); continue; }
    if (parse_price(csv_field(c, col[4]), &e.price_micro)) { bad(st, line, "bad UnitPrice (must be a decimal >= 0)"); continue; }
    e.has_price = 1;
    e.user = csv_field(c, col[5]);
    e.has_user = e.user.n && !sv_eq(e.user, "NA");
    e.country = csv_field(c, col[6]);
    e.type = "purchase";
    id_of(idbuf, sizeof idbuf, "or-", line, &e);
    if (emit(out, &e, st)) bad(st, line, "a field is longer than the contract allows");
  }
  if (st->rows && st->malformed == st->rows) { snprintf(err, errcap, "every row is malformed"); rc = 3; }
done:
  free(c);
  return rc;
}

/* ---- import otto ----------------------------------------------------------- */
#define OTTO_LINE_MAX (4u << 20)
#define OTTO_TOKENS (1u << 19)

static const char *otto_type(const er_json *j, uint32_t t) {
  if (!er_json_is(j, t, JSMN_STRING)) return NULL;
  if (er_json_eq(j, t, "clicks")) return "view";
  if (er_json_eq(j, t, "carts")) return "cart";
  if (er_json_eq(j, t, "orders")) return "purchase";
  return NULL;
}

/* Validate (emit == 0) or write (emit == 1) one session line; NULL or why. */
static const char *otto_line(const er_json *j, FILE *out, int do_emit, er_import_stats *st) {
  if (!er_json_is(j, 0, JSMN_OBJECT)) return "not a JSON object";
  int32_t ts_ = er_json_get(j, 0, "session"), tev = er_json_get(j, 0, "events");
  int64_t session;
  if (ts_ < 0 || er_json_int(j, (uint32_t)ts_, 0, INT64_C(9007199254740991), &session)) return "bad or missing session";
  if (tev < 0 || !er_json_is(j, (uint32_t)tev, JSMN_ARRAY)) return "bad or missing events";
  char sess[24], aid[24], id[64];
  int sn = snprintf(sess, sizeof sess, "%lld", (long long)session);
  uint32_t i = (uint32_t)tev + 1;
  for (int k = 0; k < j->tok[tev].size; k++, i = er_json_skip(j, i)) {
    if (!er_json_is(j, i, JSMN_OBJECT)) return "an event is not an object";
    int32_t ta = er_json_get(j, i, "aid"), tt = er_json_get(j, i, "ts"), ty = er_json_get(j, i, "type");
    int64_t a, ms;
    const char *type;
    if (ta < 0 || er_json_int(j, (uint32_t)ta, 0, INT64_C(9007199254740991), &a)) return "bad or missing aid";
    if (tt < 0 || er_json_int(j, (uint32_t)tt, 0, TS_MAX_MS - 1, &ms)) return "bad or missing ts";
    if (ty < 0 || !(type = otto_type(j, (uint32_t)ty))) return "bad or missing type";
    if (!do_emit) continue;
    ev e;
    memset(&e, 0, sizeof e);
    e.type = type; e.ts_ms = ms;
    e.item.p = aid; e.item.n = (uint32_t)snprintf(aid, sizeof aid, "%lld", (long long)a);
    e.session.p = sess; e.session.n = (uint32_t)sn;
    e.id.p = id; e.id.n = (uint32_t)snprintf(id, sizeof id, "otto-%lld-%d", (long long)session, k);
    if (emit(out, &e, st)) return "event too long";
  }
  return NULL;
}

int er_import_otto(FILE *in, FILE *out, er_import_stats *st, char *err, size_t errcap) {
  memset(st, 0, sizeof *st);
  rdr *r = calloc(1, sizeof *r);
  char *line = malloc(OTTO_LINE_MAX);
  jsmntok_t *tok = malloc(sizeof *tok * OTTO_TOKENS);
  int rc = 0;
  if (!r || !line || !tok) { snprintf(err, errcap, "out of memory"); rc = 3; goto done; }
  r->f = in;
  uint64_t lineno = 0;
  for (;;) {
    int ch = rd(r);
    if (ch < 0) break;
    lineno++;
    uint32_t n = 0;
    int toolong = 0;
    while (ch >= 0 && ch != '\n') {
      if (n < OTTO_LINE_MAX) line[n++] = (char)ch; else toolong = 1;
      ch = rd(r);
    }
    if (n && line[n - 1] == '\r') n--;
    uint32_t k = 0;
    while (k < n && (line[k] == ' ' || line[k] == '\t')) k++;
    if (k == n && !toolong) continue; /* a blank line */
    st->rows++;
    progress("otto", st);
    if (toolong) { bad(st, lineno, "line longer than 4 MB"); continue; }
    er_json j;
    er_error e;
    if (er_json_parse(&j, line, n, tok, OTTO_TOKENS, "otto", &e)) { bad(st, lineno, e.msg); continue; }
    const char *why = otto_line(&j, out, 0, st);
    if (!why) why = otto_line(&j, out, 1, st);
    if (why) bad(st, lineno, why);
  }
  if (st->rows && st->malformed == st->rows) { snprintf(err, errcap, "every line is malformed"); rc = 3; }
done:
  free(r); free(line); free(tok);
  return rc;
}

/* ---- the CLI entry point --------------------------------------------------- */
static const char USAGE[] =
    "usage: edgerec import online-retail FILE|-\n"
    "       edgerec import otto FILE|-\n"
    "       edgerec import csv --item COL --ts COL (--session COL | --user COL) [--type COL [--type-map a=view,b=purchase,...]]\n"
    "                          [--user COL] [--category COL] [--price COL] [--ts-format unix|unix-ms|iso8601|ymd]\n"
    "                          [--order COL] [--sep ','|tab|';'] [--session-gap SECONDS] FILE|-\n"
    "  --ts-format ymd: --ts names three columns YEAR,MONTH,DAY (midnight UTC of that date)\n"
    "  --order COL: an integer >= 0 (the click's position in the session) added to ts in seconds\n"
    "  --type-map targets: view, click, cart, purchase, wishlist (e.g. pv=view,fav=wishlist,buy=purchase)\n"
    "  column names are matched exactly (spaces and parentheses are fine: --item 'page 2 (clothing model)')\n"
    "writes event-contract NDJSON (docs/events.md) to stdout, counts to stderr.\n"
    "exit codes: 0 ok, 2 usage, 3 bad input\n";

static int import_usage(const char *msg) {
  if (msg) fprintf(stderr, "edgerec: %s\n", msg);
  fputs(USAGE, stderr);
  return 2;
}

int er_import_main(int argc, char **argv) {
  if (argc < 2) return import_usage("import needs a format: online-retail, otto or csv");
  const char *fmt = argv[1];
  if (!strcmp(fmt, "-h") || !strcmp(fmt, "--help")) { fputs(USAGE, stdout); return 0; }
  int kind = !strcmp(fmt, "online-retail") ? 0 : !strcmp(fmt, "otto") ? 1 : !strcmp(fmt, "csv") ? 2 : -1;
  if (kind < 0) { fprintf(stderr, "edgerec: unknown import format '%s'\n", fmt); return import_usage(NULL); }
  er_import_csv_opts o;
  memset(&o, 0, sizeof o);
  o.sep = ','; o.session_gap = 1800; o.ts_format = ER_TS_UNIX;
  const char *path = NULL;
  char msg[300];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1] == '-') {
      if (kind != 2) { snprintf(msg, sizeof msg, "import %s takes no options (got %s)", fmt, a); return import_usage(msg); }
      if (i + 1 >= argc) { snprintf(msg, sizeof msg, "%s needs a value", a); return import_usage(msg); }
      const char *v = argv[++i];
      if (!strcmp(a, "--session")) o.session = v;
      else if (!strcmp(a, "--item")) o.item = v;
      else if (!strcmp(a, "--ts")) o.ts = v;
      else if (!strcmp(a, "--order")) o.order = v;
      else if (!strcmp(a, "--type")) o.type = v;
      else if (!strcmp(a, "--type-map")) o.type_map = v;
      else if (!strcmp(a, "--user")) o.user = v;
      else if (!strcmp(a, "--category")) o.category = v;
      else if (!strcmp(a, "--price")) o.price = v;
      else if (!strcmp(a, "--ts-format")) {
        if (!strcmp(v, "unix")) o.ts_format = ER_TS_UNIX;
        else if (!strcmp(v, "unix-ms")) o.ts_format = ER_TS_UNIX_MS;
        else if (!strcmp(v, "iso8601")) o.ts_format = ER_TS_ISO8601;
        else if (!strcmp(v, "ymd")) o.ts_format = ER_TS_YMD;
        else return import_usage("--ts-format must be unix, unix-ms, iso8601 or ymd");
      } else if (!strcmp(a, "--sep")) {
        if (!strcmp(v, ",")) o.sep = ',';
        else if (!strcmp(v, ";")) o.sep = ';';
        else if (!strcmp(v, "tab") || !strcmp(v, "\t") || !strcmp(v, "\\t")) o.sep = '\t';
        else return import_usage("--sep must be ',', tab or ';'");
      } else if (!strcmp(a, "--session-gap")) {
        char *end;
        long long g = strtoll(v, &end, 10);
        if (!*v || *end || g < 1 || g > 4294967295LL) return import_usage("--session-gap must be an integer number of seconds >= 1");
        o.session_gap = g;
      } else { snprintf(msg, sizeof msg, "unknown option %s", a); return import_usage(msg); }
    } else if (path) return import_usage("import takes exactly one FILE (or - for stdin)");
    else path = a;
  }
  if (!path) return import_usage("import needs a FILE (or - for stdin)");
  if (kind == 2) {
    if (!o.item || !o.ts) return import_usage("import csv needs --item COL and --ts COL");
    if (!o.session && !o.user) return import_usage("import csv needs --session COL, or --user COL to split sessions at --session-gap");
    if (o.type_map && !o.type) return import_usage("--type-map needs --type COL");
  }
  FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!in) { fprintf(stderr, "edgerec: cannot read %s\n", path); return 3; }
  er_import_stats st;
  msg[0] = 0;
  int rc = kind == 0 ? er_import_online_retail(in, stdout, &st, msg, sizeof msg)
         : kind == 1 ? er_import_otto(in, stdout, &st, msg, sizeof msg)
                     : er_import_csv(in, stdout, &o, &st, msg, sizeof msg);
  int rerr = ferror(in);
  if (in != stdin) fclose(in);
  if (fflush(stdout) || ferror(stdout)) { fprintf(stderr, "edgerec: import: writing to stdout failed\n"); return 3; }
  if (rc == 2) return import_usage(msg);
  if (rerr) { fprintf(stderr, "edgerec: import %s: read error on %s\n", fmt, path); rc = 3; }
  for (uint32_t k = 0; k < st.nbad; k++)
    fprintf(stderr, "edgerec: import %s: line %llu: %s\n", fmt, (unsigned long long)st.bad_lines[k], st.bad_why[k]);
  fprintf(stderr, "import %s: %llu rows read, %llu events written", fmt, (unsigned long long)st.rows, (unsigned long long)st.events);
  if (kind == 0)
    fprintf(stderr, ", %llu cancellations dropped, %llu without stock code dropped", (unsigned long long)st.dropped_cancel,
            (unsigned long long)st.dropped_nostock);
  fprintf(stderr, ", %llu malformed", (unsigned long long)st.malformed);
  if (st.nbad) {
    fprintf(stderr, " (lines");
    for (uint32_t k = 0; k < st.nbad; k++) fprintf(stderr, "%s %llu", k ? "," : "", (unsigned long long)st.bad_lines[k]);
    fprintf(stderr, "%s)", st.malformed > st.nbad ? ", ..." : "");
  }
  fprintf(stderr, "\n");
  if (msg[0]) fprintf(stderr, "edgerec: import %s: %s\n", fmt, msg);
  return rc;
}
