/* er_catalog_import.c — Magento Luma sample catalog (CSV) -> catalog.json.
 *
 * Choices (documented for the packer's catalog.json, docs/bundle.md):
 *  - Items, in this order: configurable_products.csv rows in file order (rows
 *    with a non-empty store_view_code are store overrides and skipped), then
 *    the gear_*.csv files in name order, rows in file order.
 *  - categories: configurable_products' "Default Category/Men/Tops/Hoodies &
 *    Sweatshirts,..." loses the "Default Category/" root (the bare root is
 *    dropped); gear's newline-separated "Gear\nBags\nCollections\nErin
 *    Recommends" is read as (top, child) pairs: Gear/Bags,
 *    Collections/Erin Recommends.  Every path is emitted with its ancestors
 *    first ("Men", "Men/Tops", "Men/Tops/Hoodies & Sweatshirts"), like the
 *    sample catalog's ["Gear","Gear/Bags"]; duplicates dropped.
 *  - visible: false for visibility "Not Visible Individually" (or "1"), else
 *    true.  Children named in a parent's configurable_variations get
 *    "parent"; the parent gets every variation attribute value (size, color).
 *  - url_key: the row's url_key, or else the name, slugified (lowercase ASCII
 *    letters and digits, other runs -> '-'); a key already taken by an
 *    earlier item is dropped (warning).
 *  - price: the "price" column (special prices ignored); empty -> absent.
 *  - attributes: additional_attributes "k=v,k=v|v2" (has_options and
 *    required_options skipped) and gear columns (newline multi-values).
 *    Values "No" and "0" are dropped (they would make every item look alike
 *    to the content similarity) and "1" becomes "Yes" (gear flags).
 *  - popularity.view: the number of reviews in products_reviews.csv, a weak
 *    prior for "most viewed" (the packer scales it by the max).
 *  - neighbours: links_*_related -> viewed_viewed, links_*_crosssell ->
 *    viewed_bought, links_*_upsell -> viewed_viewed at half weight (the
 *    heavier of a repeated pair is kept by the packer).  The k-th linked sku
 *    (0-based) of a row weighs max(0.5, 1 - 0.05 k).  A link end that is a
 *    child is moved to its parent; links naming skus not in the catalog
 *    (the sample data has some) are dropped and counted.  "content" is not
 *    written, so the packer computes more-like-this from categories and
 *    attributes.
 *  - Input errors (missing configurable_products.csv, missing sku/name
 *    column, bad CSV, duplicate or over-long sku, bad price) -> 3 with the
 *    file and line. */
#define _POSIX_C_SOURCE 200809L
#include "er_catalog_import.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "er_base.h"
#include "er_csv.h"

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_INPUT 3

typedef struct { char *k, *v; } kv;

typedef struct {
  char *sku, *name, *url_key, *price, *parent, *variations;
  char **cats;
  uint32_t ncats, ccap;
  kv *attrs;
  uint32_t nattrs, acap;
  int visible;
  uint32_t reviews;
  uint32_t parent_idx;
} citem;

typedef struct {
  uint32_t src, dst, seq;
  int rel; /* 0 viewed_viewed, 1 viewed_bought */
  double w;
} clink;

typedef struct {
  const char *dir;
  citem *items;
  uint32_t n, cap;
  uint32_t *tab; /* sku hash: item index + 1, 0 empty */
  uint32_t tcap;
  clink *links;
  uint32_t nlinks, lcap;
  uint32_t n_conf, n_simple, n_gear, n_children, n_reviews, n_review_skus, n_review_dropped, n_link_dropped;
  int oom;
} ctx;

/* ---- small helpers --------------------------------------------------------- */
static void *xrealloc(ctx *c, void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) c->oom = 1;
  return q;
}

static char *xstrndup(ctx *c, const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) { c->oom = 1; return NULL; }
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* Trim s[0..*n) in place: returns the new start. */
static const char *trim(const char *s, size_t *n) {
  while (*n && is_space(*s)) { s++; (*n)--; }
  while (*n && is_space(s[*n - 1])) (*n)--;
  return s;
}

static char *field_dup(ctx *c, const er_csv_field *f, int col, uint32_t nf) {
  if (col < 0 || (uint32_t)col >= nf) return NULL;
  size_t n = f[col].len;
  const char *s = trim(f[col].p, &n);
  return n ? xstrndup(c, s, n) : NULL;
}

static int has_field(const er_csv_field *f, int col, uint32_t nf) { (void)f; return col >= 0 && (uint32_t)col < nf; }

static char *slugify(ctx *c, const char *s) {
  size_t n = strlen(s), o = 0;
  char *p = malloc(n + 1);
  if (!p) { c->oom = 1; return NULL; }
  int dash = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      if (dash && o) p[o++] = '-';
      dash = 0;
      p[o++] = ch;
    } else {
      dash = 1;
    }
  }
  p[o] = 0;
  if (!o) { free(p); return NULL; }
  return p;
}

/* ---- sku table ------------------------------------------------------------- */
static uint32_t find_sku(const ctx *c, const char *s, size_t n) {
  if (!c->tcap) return ER_NO_OFFSET;
  uint32_t m = c->tcap - 1, h = (uint32_t)er_key(s, n) & m;
  for (;;) {
    uint32_t v = c->tab[h];
    if (!v) return ER_NO_OFFSET;
    const char *k = c->items[v - 1].sku;
    if (strlen(k) == n && !memcmp(k, s, n)) return v - 1;
    h = (h + 1) & m;
  }
}

static void tab_put(ctx *c, uint32_t idx) {
  uint32_t m = c->tcap - 1;
  const char *s = c->items[idx].sku;
  uint32_t h = (uint32_t)er_key(s, strlen(s)) & m;
  while (c->tab[h]) h = (h + 1) & m;
  c->tab[h] = idx + 1;
}

/* Append an item with sku s (owned); NULL (and *dup set) when it exists. */
static citem *add_item(ctx *c, char *sku, int *dup) {
  *dup = 0;
  if (find_sku(c, sku, strlen(sku)) != ER_NO_OFFSET) { *dup = 1; free(sku); return NULL; }
  if (c->n == c->cap) {
    uint32_t nc = c->cap ? c->cap * 2 : 1024;
    citem *ni = xrealloc(c, c->items, (size_t)nc * sizeof *ni);
    if (!ni) { free(sku); return NULL; }
    c->items = ni;
    c->cap = nc;
  }
  if ((c->n + 1) * 2 > c->tcap) {
    uint32_t nt = c->tcap ? c->tcap * 2 : 4096;
    uint32_t *t = calloc(nt, sizeof *t);
    if (!t) { c->oom = 1; free(sku); return NULL; }
    free(c->tab);
    c->tab = t;
    c->tcap = nt;
    for (uint32_t i = 0; i < c->n; i++) tab_put(c, i);
  }
  citem *it = &c->items[c->n];
  memset(it, 0, sizeof *it);
  it->sku = sku;
  it->visible = 1;
  it->parent_idx = ER_NO_OFFSET;
  tab_put(c, c->n++);
  return it;
}

static void add_cat(ctx *c, citem *it, const char *s, size_t n) {
  for (uint32_t i = 0; i < it->ncats; i++)
    if (strlen(it->cats[i]) == n && !memcmp(it->cats[i], s, n)) return;
  if (it->ncats == it->ccap) {
    uint32_t nc = it->ccap ? it->ccap * 2 : 4;
    char **nn = xrealloc(c, it->cats, nc * sizeof *nn);
    if (!nn) return;
    it->cats = nn;
    it->ccap = nc;
  }
  char *d = xstrndup(c, s, n);
  if (d) it->cats[it->ncats++] = d;
}

/* Add path s[0..n) ("A/B/C") with its ancestors. */
static void add_path(ctx *c, citem *it, const char *s, size_t n) {
  s = trim(s, &n);
  while (n && s[n - 1] == '/') n--;
  if (!n) return;
  for (size_t i = 1; i < n; i++)
    if (s[i] == '/') add_cat(c, it, s, i);
  add_cat(c, it, s, n);
}

static void add_attr(ctx *c, citem *it, const char *k, size_t kn, const char *v, size_t vn) {
  k = trim(k, &kn);
  v = trim(v, &vn);
  if (!kn || !vn) return;
  if ((vn == 2 && !memcmp(v, "No", 2)) || (vn == 1 && v[0] == '0')) return;
  if (vn == 1 && v[0] == '1') { v = "Yes"; vn = 3; }
  for (uint32_t i = 0; i < it->nattrs; i++)
    if (strlen(it->attrs[i].k) == kn && !memcmp(it->attrs[i].k, k, kn) && strlen(it->attrs[i].v) == vn &&
        !memcmp(it->attrs[i].v, v, vn))
      return;
  if (it->nattrs == it->acap) {
    uint32_t nc = it->acap ? it->acap * 2 : 8;
    kv *na = xrealloc(c, it->attrs, nc * sizeof *na);
    if (!na) return;
    it->attrs = na;
    it->acap = nc;
  }
  char *kk = xstrndup(c, k, kn), *vv = xstrndup(c, v, vn);
  if (!kk || !vv) { free(kk); free(vv); return; }
  it->attrs[it->nattrs].k = kk;
  it->attrs[it->nattrs].v = vv;
  it->nattrs++;
}

/* Values v[0..n) separated by any byte of seps. */
static void add_attr_multi(ctx *c, citem *it, const char *k, size_t kn, const char *v, size_t n, const char *seps) {
  size_t s = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || strchr(seps, v[i])) {
      add_attr(c, it, k, kn, v + s, i - s);
      s = i + 1;
    }
  }
}

static int valid_price(const char *p) {
  size_t i = 0, d = 0;
  while (p[i] >= '0' && p[i] <= '9') { i++; d++; }
  if (!d) return 0;
  if (p[i] == '.') {
    i++;
    size_t f = 0;
    while (p[i] >= '0' && p[i] <= '9') { i++; f++; }
    if (!f) return 0;
  }
  return p[i] == 0 && d <= 12;
}

/* ---- files ----------------------------------------------------------------- */
typedef struct {
  FILE *f;
  er_csv_reader r;
  char path[4096];
  const er_csv_field *hdr;
  char **cols; /* header copies */
  uint32_t ncols;
} csvfile;

static int cf_open(ctx *c, csvfile *cf, const char *name, int required) {
  memset(cf, 0, sizeof *cf);
  snprintf(cf->path, sizeof cf->path, "%s/%s", c->dir, name);
  cf->f = fopen(cf->path, "rb");
  if (!cf->f) {
    if (required) fprintf(stderr, "edgerec: import: cannot open %s: %s\n", cf->path, strerror(errno));
    return required ? -1 : 0;
  }
  er_csv_init(&cf->r, cf->f, 0, 0);
  const er_csv_field *f;
  uint32_t n;
  int rc = er_csv_next(&cf->r, &f, &n);
  if (rc < 0) { fprintf(stderr, "edgerec: import: %s: %s\n", cf->path, cf->r.err.msg); return -1; }
  if (rc == 0) n = 0;
  cf->cols = calloc(n ? n : 1, sizeof *cf->cols);
  if (!cf->cols) { c->oom = 1; return -1; }
  cf->ncols = n;
  for (uint32_t i = 0; i < n; i++) {
    size_t l = f[i].len;
    const char *s = trim(f[i].p, &l);
    cf->cols[i] = xstrndup(c, s, l);
    if (!cf->cols[i]) return -1;
  }
  return 1;
}

static int cf_col(const csvfile *cf, const char *name) {
  for (uint32_t i = 0; i < cf->ncols; i++)
    if (!strcmp(cf->cols[i], name)) return (int)i;
  return -1;
}

static void cf_close(csvfile *cf) {
  for (uint32_t i = 0; i < cf->ncols; i++) free(cf->cols[i]);
  free(cf->cols);
  er_csv_free(&cf->r);
  if (cf->f) fclose(cf->f);
  memset(cf, 0, sizeof *cf);
}

static int bad(const csvfile *cf, const char *what, const char *arg) {
  fprintf(stderr, "edgerec: import: %s line %llu: %s%s%s%s\n", cf->path, (unsigned long long)cf->r.row_line, what,
          arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
  return -1;
}

/* Common item columns: sku (required), name, price, url_key, visibility. */
static citem *read_item(ctx *c, csvfile *cf, const er_csv_field *f, uint32_t n, int csku, int cname, int cprice,
                        int curl, int cvis, int *err) {
  *err = 0;
  char *sku = field_dup(c, f, csku, n);
  if (!sku) { *err = bad(cf, "empty sku", NULL); return NULL; }
  if (strlen(sku) > ER_MAX_SKU_BYTES) { *err = bad(cf, "sku longer than 128 bytes", sku); free(sku); return NULL; }
  int dup;
  citem *it = add_item(c, sku, &dup);
  if (dup) {
    char *s = field_dup(c, f, csku, n);
    *err = bad(cf, "duplicate sku", s);
    free(s);
    return NULL;
  }
  if (!it) { *err = -1; return NULL; }
  it->name = field_dup(c, f, cname, n);
  it->price = field_dup(c, f, cprice, n);
  if (it->price && !valid_price(it->price)) { *err = bad(cf, "bad price", it->price); return NULL; }
  char *u = field_dup(c, f, curl, n);
  it->url_key = slugify(c, u ? u : it->name ? it->name : "");
  free(u);
  char *v = field_dup(c, f, cvis, n);
  if (v && (!strcmp(v, "Not Visible Individually") || !strcmp(v, "1"))) it->visible = 0;
  free(v);
  return it;
}

static int read_configurable(ctx *c) {
  csvfile cf;
  int rc = cf_open(c, &cf, "configurable_products.csv", 1);
  if (rc < 0) { cf_close(&cf); return -1; }
  int csku = cf_col(&cf, "sku"), cname = cf_col(&cf, "name"), cprice = cf_col(&cf, "price"), curl = cf_col(&cf, "url_key"),
      cvis = cf_col(&cf, "visibility"), ctype = cf_col(&cf, "product_type"), ccat = cf_col(&cf, "categories"),
      cadd = cf_col(&cf, "additional_attributes"), cvar = cf_col(&cf, "configurable_variations"),
      cstore = cf_col(&cf, "store_view_code");
  if (csku < 0) { cf.r.row_line = 1; bad(&cf, "no 'sku' column", NULL); cf_close(&cf); return -1; }
  const er_csv_field *f;
  uint32_t n;
  while ((rc = er_csv_next(&cf.r, &f, &n)) > 0) {
    if (has_field(f, cstore, n) && f[cstore].len) continue;
    int err;
    citem *it = read_item(c, &cf, f, n, csku, cname, cprice, curl, cvis, &err);
    if (!it) { cf_close(&cf); return -1; }
    char *type = field_dup(c, f, ctype, n);
    if (type && !strcmp(type, "configurable")) c->n_conf++;
    else c->n_simple++;
    free(type);
    if (has_field(f, ccat, n)) { /* "Default Category/A/B,Default Category/C,Default Category" */
      const char *s = f[ccat].p;
      size_t len = f[ccat].len, st = 0;
      static const char root[] = "Default Category";
      const size_t rl = sizeof root - 1;
      for (size_t i = 0; i <= len; i++) {
        /* a path ends at a ',' that starts the next root path, or at the end */
        if (i < len && !(s[i] == ',' && len - i - 1 >= rl && !memcmp(s + i + 1, root, rl))) continue;
        const char *p = s + st;
        size_t pl = i - st;
        p = trim(p, &pl);
        if (pl >= rl && !memcmp(p, root, rl) && (pl == rl || p[rl] == '/')) { p += rl; pl -= rl; if (pl) { p++; pl--; } }
        add_path(c, it, p, pl);
        st = i + 1;
      }
    }
    if (has_field(f, cadd, n)) { /* k=v,k=v|v2 ; a piece without '=' continues the previous value */
      const char *s = f[cadd].p;
      size_t len = f[cadd].len, st = 0;
      const char *k = NULL;
      size_t kn = 0;
      for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != ',') continue;
        const char *piece = s + st;
        size_t pl = i - st;
        const char *eq = memchr(piece, '=', pl);
        if (eq) {
          k = piece;
          kn = (size_t)(eq - piece);
          piece = eq + 1;
          pl -= kn + 1;
        }
        size_t tk = kn;
        const char *kt = k ? trim(k, &tk) : NULL;
        if (kt && !(tk == 11 && !memcmp(kt, "has_options", 11)) && !(tk == 16 && !memcmp(kt, "required_options", 16)))
          add_attr_multi(c, it, kt, tk, piece, pl, "|");
        st = i + 1;
      }
    }
    it->variations = field_dup(c, f, cvar, n);
    if (c->oom) break;
  }
  if (rc < 0) { fprintf(stderr, "edgerec: import: %s: %s\n", cf.path, cf.r.err.msg); cf_close(&cf); return -1; }
  cf_close(&cf);
  return 0;
}

/* Parents: "sku=X,size=XS,color=Black|sku=..." */
static void resolve_variations(ctx *c) {
  for (uint32_t p = 0; p < c->n && !c->oom; p++) {
    char *v = c->items[p].variations;
    if (!v) continue;
    size_t len = strlen(v), st = 0;
    for (size_t i = 0; i <= len; i++) {
      if (i < len && v[i] != '|') continue;
      const char *var = v + st;
      size_t vl = i - st, ps = 0;
      uint32_t child = ER_NO_OFFSET;
      for (size_t j = 0; j <= vl; j++) { /* pairs k=v */
        if (j < vl && var[j] != ',') continue;
        const char *pair = var + ps;
        size_t pl = j - ps;
        const char *eq = memchr(pair, '=', pl);
        if (eq) {
          size_t kn = (size_t)(eq - pair), vn = pl - kn - 1;
          if (kn == 3 && !memcmp(pair, "sku", 3)) {
            const char *s = eq + 1;
            s = trim(s, &vn);
            child = find_sku(c, s, vn);
            if (child == ER_NO_OFFSET || child == p)
              fprintf(stderr, "edgerec: import: warning: %s lists variation sku '%.*s', which is not in the catalog\n",
                      c->items[p].sku, (int)vn, s);
          } else {
            add_attr(c, &c->items[p], pair, kn, eq + 1, vn);
          }
        }
        ps = j + 1;
      }
      if (child != ER_NO_OFFSET && child != p && c->items[child].parent_idx == ER_NO_OFFSET) {
        c->items[child].parent_idx = p;
        c->items[child].visible = 0;
        c->n_children++;
      }
      st = i + 1;
    }
  }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names in DIR matching prefix*suffix, sorted; *n set.  NULL on error. */
static char **list_dir(ctx *c, const char *prefix, const char *suffix, uint32_t *n) {
  *n = 0;
  DIR *d = opendir(c->dir);
  if (!d) { fprintf(stderr, "edgerec: import: cannot read directory %s: %s\n", c->dir, strerror(errno)); return NULL; }
  char **v = NULL;
  uint32_t cap = 0;
  struct dirent *e;
  size_t pl = strlen(prefix), sl = strlen(suffix);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < pl + sl || memcmp(e->d_name, prefix, pl) || memcmp(e->d_name + l - sl, suffix, sl)) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 8;
      char **nv = xrealloc(c, v, cap * sizeof *nv);
      if (!nv) break;
      v = nv;
    }
    char *s = xstrndup(c, e->d_name, l);
    if (!s) break;
    v[(*n)++] = s;
  }
  closedir(d);
  if (!v) v = calloc(1, sizeof *v);
  if (!v) c->oom = 1;
  else qsort(v, *n, sizeof *v, cmp_str);
  return v;
}

static void free_list(char **v, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static const char *const GEAR_FIXED[] = {"category", "name", "sku", "price", "qty", "description", "special_price",
                                         "attribute_set", "visibility", "url_key"};

static int read_gear_file(ctx *c, const char *name) {
  csvfile cf;
  int rc = cf_open(c, &cf, name, 1);
  if (rc < 0) { cf_close(&cf); return -1; }
  int csku = cf_col(&cf, "sku"), cname = cf_col(&cf, "name"), cprice = cf_col(&cf, "price"), curl = cf_col(&cf, "url_key"),
      cvis = cf_col(&cf, "visibility"), ccat = cf_col(&cf, "category");
  if (csku < 0) { cf.r.row_line = 1; bad(&cf, "no 'sku' column", NULL); cf_close(&cf); return -1; }
  const er_csv_field *f;
  uint32_t n;
  while ((rc = er_csv_next(&cf.r, &f, &n)) > 0) {
    int err;
    citem *it = read_item(c, &cf, f, n, csku, cname, cprice, curl, cvis, &err);
    if (!it) { cf_close(&cf); return -1; }
    c->n_gear++;
    if (has_field(f, ccat, n)) { /* lines: top, child, top, child, ... */
      const char *s = f[ccat].p;
      size_t len = f[ccat].len, st = 0;
      const char *top = NULL;
      size_t tl = 0;
      for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '\n') continue;
        const char *l = s + st;
        size_t ll = i - st;
        l = trim(l, &ll);
        st = i + 1;
        if (!ll) continue;
        if (!top) { top = l; tl = ll; continue; }
        char buf[1024];
        int w = snprintf(buf, sizeof buf, "%.*s/%.*s", (int)tl, top, (int)ll, l);
        if (w > 0 && (size_t)w < sizeof buf) add_path(c, it, buf, (size_t)w);
        top = NULL;
      }
      if (top) add_path(c, it, top, tl);
    }
    for (uint32_t j = 0; j < cf.ncols && j < n; j++) {
      int fixed = 0;
      for (size_t g = 0; g < sizeof GEAR_FIXED / sizeof *GEAR_FIXED; g++) fixed |= !strcmp(cf.cols[j], GEAR_FIXED[g]);
      if (!fixed) add_attr_multi(c, it, cf.cols[j], strlen(cf.cols[j]), f[j].p, f[j].len, "\n");
    }
    if (c->oom) break;
  }
  if (rc < 0) { fprintf(stderr, "edgerec: import: %s: %s\n", cf.path, cf.r.err.msg); cf_close(&cf); return -1; }
  cf_close(&cf);
  return 0;
}

static int read_reviews(ctx *c) {
  csvfile cf;
  int rc = cf_open(c, &cf, "products_reviews.csv", 0);
  if (rc <= 0) { cf_close(&cf); return rc; }
  int csku = cf_col(&cf, "sku");
  if (csku < 0) { cf.r.row_line = 1; bad(&cf, "no 'sku' column", NULL); cf_close(&cf); return -1; }
  const er_csv_field *f;
  uint32_t n;
  while ((rc = er_csv_next(&cf.r, &f, &n)) > 0) {
    if (!has_field(f, csku, n)) continue;
    size_t l = f[csku].len;
    const char *s = trim(f[csku].p, &l);
    uint32_t i = find_sku(c, s, l);
    if (i == ER_NO_OFFSET) { c->n_review_dropped++; continue; }
    if (!c->items[i].reviews) c->n_review_skus++;
    c->items[i].reviews++;
    c->n_reviews++;
  }
  if (rc < 0) { fprintf(stderr, "edgerec: import: %s: %s\n", cf.path, cf.r.err.msg); cf_close(&cf); return -1; }
  cf_close(&cf);
  return 0;
}

static uint32_t fold(const ctx *c, uint32_t i) { return c->items[i].parent_idx != ER_NO_OFFSET ? c->items[i].parent_idx : i; }

static int read_links(ctx *c) {
  static const struct { const char *suffix; int rel; double scale; } R[] = {
      {"_related.csv", 0, 1.0}, {"_crosssell.csv", 1, 1.0}, {"_upsell.csv", 0, 0.5}};
  for (size_t r = 0; r < sizeof R / sizeof *R; r++) {
    uint32_t nfiles;
    char **files = list_dir(c, "links_", R[r].suffix, &nfiles);
    if (!files) return -1;
    for (uint32_t fi = 0; fi < nfiles; fi++) {
      csvfile cf;
      int rc = cf_open(c, &cf, files[fi], 1);
      if (rc < 0) { cf_close(&cf); free_list(files, nfiles); return -1; }
      int csku = cf_col(&cf, "sku"), clink_ = cf_col(&cf, "linked_sku");
      if (csku < 0 || clink_ < 0) {
        cf.r.row_line = 1;
        bad(&cf, "needs columns 'sku' and 'linked_sku'", NULL);
        cf_close(&cf);
        free_list(files, nfiles);
        return -1;
      }
      const er_csv_field *f;
      uint32_t n;
      while ((rc = er_csv_next(&cf.r, &f, &n)) > 0) {
        if (!has_field(f, csku, n) || !has_field(f, clink_, n)) continue;
        size_t l = f[csku].len;
        const char *s = trim(f[csku].p, &l);
        uint32_t src = find_sku(c, s, l);
        const char *t = f[clink_].p;
        size_t tl = f[clink_].len, st = 0;
        uint32_t k = 0;
        for (size_t i = 0; i <= tl; i++) {
          if (i < tl && t[i] != '\n' && t[i] != ',') continue;
          const char *d = t + st;
          size_t dl = i - st;
          d = trim(d, &dl);
          st = i + 1;
          if (!dl) continue;
          uint32_t dst = find_sku(c, d, dl);
          double w = 1.0 - 0.05 * k++;
          if (w < 0.5) w = 0.5;
          if (src == ER_NO_OFFSET || dst == ER_NO_OFFSET) { c->n_link_dropped++; continue; }
          if (c->nlinks == c->lcap) {
            uint32_t nc = c->lcap ? c->lcap * 2 : 1024;
            clink *nl = xrealloc(c, c->links, nc * sizeof *nl);
            if (!nl) break;
            c->links = nl;
            c->lcap = nc;
          }
          clink *L = &c->links[c->nlinks];
          L->src = fold(c, src);
          L->dst = fold(c, dst);
          L->rel = R[r].rel;
          L->w = w * R[r].scale;
          L->seq = c->nlinks++;
        }
      }
      if (rc < 0) {
        fprintf(stderr, "edgerec: import: %s: %s\n", cf.path, cf.r.err.msg);
        cf_close(&cf);
        free_list(files, nfiles);
        return -1;
      }
      cf_close(&cf);
    }
    free_list(files, nfiles);
  }
  return c->oom ? -1 : 0;
}

/* ---- output ---------------------------------------------------------------- */
static void jstr(FILE *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  putc('"', o);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') { putc('\\', o); putc(ch, o); }
    else if (ch == '\n') fputs("\\n", o);
    else if (ch == '\t') fputs("\\t", o);
    else if (ch == '\r') fputs("\\r", o);
    else if (ch < 0x20) { fputs("\\u00", o); putc(hex[ch >> 4], o); putc(hex[ch & 15], o); }
    else putc(ch, o);
  }
  putc('"', o);
}

static int cmp_link(const void *a, const void *b) {
  const clink *x = a, *y = b;
  if (x->rel != y->rel) return x->rel < y->rel ? -1 : 1;
  if (x->src != y->src) return x->src < y->src ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void write_json(ctx *c, FILE *o) {
  fputs("{\"items\":[", o);
  for (uint32_t i = 0; i < c->n; i++) {
    citem *it = &c->items[i];
    fputs(i ? ",\n{\"sku\":" : "\n{\"sku\":", o);
    jstr(o, it->sku);
    if (it->name) { fputs(",\"name\":", o); jstr(o, it->name); }
    if (it->url_key) { fputs(",\"url_key\":", o); jstr(o, it->url_key); }
    if (it->parent_idx != ER_NO_OFFSET) { fputs(",\"parent\":", o); jstr(o, c->items[it->parent_idx].sku); }
    fputs(",\"categories\":[", o);
    for (uint32_t k = 0; k < it->ncats; k++) { if (k) putc(',', o); jstr(o, it->cats[k]); }
    putc(']', o);
    if (it->price) fprintf(o, ",\"price\":%s", it->price);
    fprintf(o, ",\"in_stock\":true,\"visible\":%s,\"attributes\":{", it->visible ? "true" : "false");
    int first = 1;
    for (uint32_t a = 0; a < it->nattrs; a++) {
      int seen = 0;
      for (uint32_t b = 0; b < a && !seen; b++) seen = !strcmp(it->attrs[a].k, it->attrs[b].k);
      if (seen) continue;
      uint32_t cnt = 0;
      for (uint32_t b = a; b < it->nattrs; b++) cnt += !strcmp(it->attrs[a].k, it->attrs[b].k);
      if (!first) putc(',', o);
      first = 0;
      jstr(o, it->attrs[a].k);
      putc(':', o);
      if (cnt > 1) putc('[', o);
      for (uint32_t b = a, m = 0; b < it->nattrs; b++) {
        if (strcmp(it->attrs[a].k, it->attrs[b].k)) continue;
        if (m++) putc(',', o);
        jstr(o, it->attrs[b].v);
      }
      if (cnt > 1) putc(']', o);
    }
    putc('}', o);
    if (it->reviews) fprintf(o, ",\"popularity\":{\"view\":%u}", it->reviews);
    putc('}', o);
  }
  fputs("],\n\"neighbours\":{", o);
  qsort(c->links, c->nlinks, sizeof *c->links, cmp_link);
  static const char *const REL[] = {"viewed_viewed", "viewed_bought"};
  uint32_t i = 0;
  for (int r = 0; r < 2; r++) {
    fprintf(o, "%s\"%s\":{", r ? ",\n" : "", REL[r]);
    int firstsrc = 1;
    while (i < c->nlinks && c->links[i].rel == r) {
      uint32_t src = c->links[i].src;
      fputs(firstsrc ? "\n" : ",\n", o);
      firstsrc = 0;
      jstr(o, c->items[src].sku);
      fputs(":[", o);
      for (int m = 0; i < c->nlinks && c->links[i].rel == r && c->links[i].src == src; i++, m++) {
        if (m) putc(',', o);
        putc('[', o);
        jstr(o, c->items[c->links[i].dst].sku);
        fprintf(o, ",%.3f]", c->links[i].w);
      }
      putc(']', o);
    }
    putc('}', o);
  }
  fputs("}}\n", o);
}

static void ctx_free(ctx *c) {
  for (uint32_t i = 0; i < c->n; i++) {
    citem *it = &c->items[i];
    free(it->sku); free(it->name); free(it->url_key); free(it->price); free(it->parent); free(it->variations);
    for (uint32_t k = 0; k < it->ncats; k++) free(it->cats[k]);
    free(it->cats);
    for (uint32_t k = 0; k < it->nattrs; k++) { free(it->attrs[k].k); free(it->attrs[k].v); }
    free(it->attrs);
  }
  free(c->items);
  free(c->tab);
  free(c->links);
}

static int import_usage(const char *msg) {
  fprintf(stderr, "edgerec: %s\nusage: edgerec import luma-catalog DIR [--out FILE]\n", msg);
  return EXIT_USAGE;
}

int er_catalog_import_main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "luma-catalog")) return import_usage("import needs a source: luma-catalog");
  if (argc < 3 || argv[2][0] == '-') return import_usage("import luma-catalog needs a directory");
  const char *out = NULL;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
    else {
      char m[300];
      snprintf(m, sizeof m, "import luma-catalog: unknown or incomplete option '%s'", argv[i]);
      return import_usage(m);
    }
  }
  ctx c;
  memset(&c, 0, sizeof c);
  c.dir = argv[2];
  int rc = EXIT_INPUT;
  uint32_t ngear = 0;
  char **gear = NULL;
  if (read_configurable(&c)) goto done;
  if (!(gear = list_dir(&c, "gear_", ".csv", &ngear))) goto done;
  for (uint32_t i = 0; i < ngear; i++)
    if (read_gear_file(&c, gear[i])) goto done;
  resolve_variations(&c);
  /* url keys: unique, first comer keeps it */
  {
    uint32_t cap = 1;
    while (cap < c.n * 2 + 2) cap <<= 1;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) { c.oom = 1; goto done; }
    for (uint32_t i = 0; i < c.n; i++) {
      char *u = c.items[i].url_key;
      if (!u) continue;
      uint32_t h = (uint32_t)er_key(u, strlen(u)) & (cap - 1);
      int dup = 0;
      while (t[h]) {
        if (!strcmp(c.items[t[h] - 1].url_key, u)) { dup = 1; break; }
        h = (h + 1) & (cap - 1);
      }
      if (dup) {
        fprintf(stderr, "edgerec: import: warning: url_key '%s' of %s is taken by %s; left out\n", u, c.items[i].sku,
                c.items[t[h] - 1].sku);
        free(u);
        c.items[i].url_key = NULL;
      } else {
        t[h] = i + 1;
      }
    }
    free(t);
  }
  if (read_reviews(&c) < 0) goto done;
  if (read_links(&c) < 0) goto done;
  if (c.oom) goto done;
  {
    FILE *o = out && strcmp(out, "-") ? fopen(out, "wb") : stdout;
    if (!o) { fprintf(stderr, "edgerec: cannot write %s: %s\n", out, strerror(errno)); goto done; }
    write_json(&c, o);
    int badw = ferror(o) || fflush(o) != 0;
    if (o != stdout) badw |= fclose(o) != 0;
    if (badw) { fprintf(stderr, "edgerec: write to %s failed\n", out ? out : "stdout"); goto done; }
  }
  fprintf(stderr,
          "edgerec: import luma-catalog: %u items (%u configurable, %u simple of which %u are variations, %u gear); "
          "%u reviews on %u items (%u for unknown skus); %u links (%u to or from unknown skus dropped)\n",
          c.n, c.n_conf, c.n_simple, c.n_children, c.n_gear, c.n_reviews, c.n_review_skus, c.n_review_dropped, c.nlinks,
          c.n_link_dropped);
  rc = EXIT_OK;
done:
  if (c.oom) fprintf(stderr, "edgerec: import: out of memory\n");
  free_list(gear, ngear);
  ctx_free(&c);
  return rc;
}
