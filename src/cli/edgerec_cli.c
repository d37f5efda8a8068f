/* edgerec_cli.c — the `edgerec` command line (native and WASI builds).
 * Exit codes: 0 ok, 2 usage, 3 bad input (an input over its size limit too,
 * bundles included), 4 bad bundle.
 * Every input is read within a named limit (er_read_input, er_read_line; the
 * table is docs/limits.md), so memory never grows with what a file or pipe
 * holds.  rerank keeps its pass-through rule for an input over its limit: the
 * response goes out unchanged (streamed, when it is the response that is too
 * large), exit 0, --strict 3. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edgerec.h"
#include "er_bundle.h"
#include "er_catalog_import.h"
#include "er_import.h"
#include "er_synth.h"
#include "er_features.h"
#include "er_native.h"
#include "er_pack.h"
#include "er_score.h"
#ifndef ER_CLI_NO_IMPORT
#include "er_admin.h"
#include "er_eval.h"
#include "er_train.h"
#endif

#define EXIT_USAGE 2
#define EXIT_INPUT 3
#define EXIT_BUNDLE 4

static const char *USAGE =
    "usage: edgerec <command> [options]\n"
    "  recommend --bundle F [--unit NAME] [--k N] [--profile P] < context.json\n"
    "  rerank    --bundle F --context CTX [--profile P] [--strict] < response.json > out.json\n"
    "  pack      --model model.json [--xgboost xgb.json] --catalog catalog.json --out F.erb\n"
    "  inspect   F.erb\n"
    "  profile   update --bundle F [--profile P] [--out P2] < event.json\n"
    "  profile   show P\n"
    "  import    online-retail FILE|- | otto FILE | csv [options] FILE|-   (→ event NDJSON on stdout)\n"
    "  import    luma-catalog DIR [--out catalog.json]   (Magento Luma sample CSVs → catalog.json for pack)\n"
    "  synth     [--preset browsing|shop] [--seed N] [--events N] [--format csv|ndjson] [options]   (a seeded synthetic log)\n"
    "  train     --events FILE|- [--catalog FILE] [--until TS | --test-days N] [--model linear|trees]\n"
    "            [--bits B] [--seed N] [--version V] --out BUNDLE.erb\n"
    "  eval      --events FILE|- [--bundle B] [--from TS | --test-days N] [--k 20]\n"
    "            [--baseline pop,spop,ar,sr,vsknn,stan,vstan|all|none] [--tune-peers grid|none]\n"
    "            [--history shopper|session] [--threads N]\n"
    "  features  --events FILE|- [--catalog FILE] [--until TS | --test-days N] [--format libsvm] [--part train|valid|all]\n"
    "  publish   BUNDLE.erb --url URL [--token TOKEN] [--canary PERCENT [--segment JSON]]   (token: EDGEREC_ADMIN_TOKEN)\n"
    "  rollout   start VERSION --canary PERCENT [--segment JSON] | scope JSON|none --url URL [--token TOKEN]\n"
    "  pause     [--reason TEXT] | resume: the kill switch --url URL [--token TOKEN]\n"
    "  rollout   status|promote|rollback --url URL [--token TOKEN]\n"
    "  rollout   events --url URL [--token TOKEN] [--since TS] [--out FILE] [--max-pages N]\n"
    "  rollout   bundle --url URL [--token TOKEN] [--version V | active] --out FILE\n"
    "  units     list|get ID|put FILE.json|delete ID --url URL [--token TOKEN]   (recommendation units, docs/units.md)\n"
    "  score-dense --bundle F < vectors.csv   (one comma-separated value per dense feature a line, `version` says how many; empty = missing)\n"
    "  version\n"
    "exit codes: 0 ok, 2 usage, 3 bad input (or an input over its size limit), 4 bad bundle\n";

static int usage(const char *msg) {
  if (msg) fprintf(stderr, "edgerec: %s\n", msg);
  fputs(USAGE, stderr);
  return EXIT_USAGE;
}


static int write_all(const char *path, const void *p, uint32_t n) {
  FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
  if (!f) { fprintf(stderr, "edgerec: cannot write %s: %s\n", path, strerror(errno)); return EXIT_INPUT; }
  size_t w = fwrite(p, 1, n, f);
  int bad = w != n || fflush(f) != 0;
  if (f != stdout) bad |= fclose(f) != 0;
  if (bad) { fprintf(stderr, "edgerec: write to %s failed\n", path); return EXIT_INPUT; }
  return 0;
}

typedef struct {
  const char *bundle, *unit, *context, *profile, *model, *catalog, *xgboost, *out;
  int strict;
  long k;
  const char *pos[4];
  int npos;
} opts;

static int parse_opts(int argc, char **argv, int start, opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = start; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (!strcmp(a, "--bundle")) slot = &o->bundle;
    else if (!strcmp(a, "--unit")) slot = &o->unit;
    else if (!strcmp(a, "--context")) slot = &o->context;
    else if (!strcmp(a, "--profile")) slot = &o->profile;
    else if (!strcmp(a, "--model")) slot = &o->model;
    else if (!strcmp(a, "--catalog")) slot = &o->catalog;
    else if (!strcmp(a, "--xgboost")) slot = &o->xgboost;
    else if (!strcmp(a, "--out")) slot = &o->out;
    else if (!strcmp(a, "--strict")) { o->strict = 1; continue; }
    else if (!strcmp(a, "--k")) {
      if (i + 1 >= argc) { fprintf(stderr, "edgerec: --k needs a value\n"); return -1; }
      char *end;
      o->k = strtol(argv[++i], &end, 10);
      if (*end || o->k < 1 || o->k > 200) { fprintf(stderr, "edgerec: --k must be an integer 1..200\n"); return -1; }
      continue;
    } else if (a[0] == '-' && a[1] == '-') { fprintf(stderr, "edgerec: unknown option %s\n", a); return -1; }
    else {
      if (o->npos >= 4) { fprintf(stderr, "edgerec: too many arguments\n"); return -1; }
      o->pos[o->npos++] = a;
      continue;
    }
    if (i + 1 >= argc) { fprintf(stderr, "edgerec: %s needs a value\n", a); return -1; }
    *slot = argv[++i];
  }
  return 0;
}

static void print_error(const char *what, const er_error *e) {
  fprintf(stderr, "edgerec: %s: %s (%s)\n", what, e->msg[0] ? e->msg : er_strerror(e->code), er_strerror(e->code));
}

static int exit_for(er_status s) {
  if (s >= ER_E_BUNDLE_MAGIC && s <= ER_E_BUNDLE_CORRUPT) return EXIT_BUNDLE;
  return EXIT_INPUT;
}

/* Read a named input within its limit; on failure print why and set *rc:
 * EXIT_INPUT when it is over the limit, else fail_rc. */
static uint8_t *load(const char *what, const char *path, uint32_t limit, uint32_t *n, int fail_rc, int *rc) {
  const char *msg = "";
  int over = 0;
  uint8_t *p = er_read_input(what, path, limit, n, &msg, &over);
  if (!p) { fprintf(stderr, "edgerec: %s\n", msg); *rc = over ? EXIT_INPUT : fail_rc; }
  return p;
}

/* Load a bundle file into an engine; *bytes must be freed after the engine. */
static er_engine *open_engine(const char *path, uint8_t **bytes, int *rc) {
  uint32_t n;
  if (!(*bytes = load("bundle", path, ER_MAX_BUNDLE_BYTES, &n, EXIT_BUNDLE, rc))) return NULL;
  er_error err;
  er_error_clear(&err);
  er_engine *e = er_engine_new(*bytes, n, &err);
  if (!e) { fprintf(stderr, "edgerec: %s: %s\n", path, err.msg); free(*bytes); *bytes = NULL; *rc = EXIT_BUNDLE; }
  return e;
}

static uint8_t *read_profile(const char *path, uint32_t *n, int *rc) {
  if (!path) { *n = 0; return NULL; }
  return load("profile", path, ER_PROFILE_MAX_BYTES, n, EXIT_INPUT, rc);
}

static int cmd_recommend(opts *o) {
  if (!o->bundle) return usage("recommend needs --bundle F");
  int rc = 0;
  uint8_t *bb;
  er_engine *e = open_engine(o->bundle, &bb, &rc);
  if (!e) return rc;
  uint32_t cn = 0, pn = 0;
  uint8_t *ctx = load("context", "-", ER_MAX_CONTEXT_BYTES, &cn, EXIT_INPUT, &rc);
  uint8_t *prof = rc ? NULL : read_profile(o->profile, &pn, &rc);
  if (!rc && (o->unit || o->k) && er_engine_override(e, o->unit, (uint32_t)o->k)) { print_error("recommend", er_engine_error(e)); rc = EXIT_USAGE; }
  if (!rc) {
    const char *out;
    uint32_t on;
    er_status st = er_recommend(e, (const char *)ctx, cn, prof, pn, &out, &on);
    if (st) { print_error("recommend", er_engine_error(e)); rc = exit_for(st); }
    else if (!(rc = write_all("-", out, on))) putchar('\n');
  }
  free(ctx);
  free(prof);
  er_engine_free(e);
  free(bb);
  return rc;
}

/* Copy the rest of in to out (an oversized response passed through). */
static int copy_rest(FILE *in, FILE *out) {
  static uint8_t chunk[65536];
  size_t r;
  while ((r = fread(chunk, 1, sizeof chunk, in)) > 0)
    if (fwrite(chunk, 1, r, out) != r) break;
  if (ferror(in)) { fprintf(stderr, "edgerec: rerank: read error in the response (stdin)\n"); return EXIT_INPUT; }
  if (ferror(out) || fflush(out)) { fprintf(stderr, "edgerec: write to - failed\n"); return EXIT_INPUT; }
  return 0;
}

/* rerank's side inputs (context file, profile): not read → exit 3; over the
 * limit → not re-ranked, like the engine's own context limit (reason=context). */
static uint8_t *rerank_input(const char *what, const char *path, uint32_t limit, uint32_t *n, const char **skip, int *rc) {
  const char *msg = "";
  int over = 0;
  uint8_t *p = er_read_input(what, path, limit, n, &msg, &over);
  if (p) return p;
  if (!over) { fprintf(stderr, "edgerec: %s\n", msg); *rc = EXIT_INPUT; }
  else if (!*skip) *skip = msg; /* er_read_input's buffer: the caller copies it before reading on */
  return NULL;
}

static int cmd_rerank(opts *o) {
  if (!o->bundle || !o->context) return usage("rerank needs --bundle F and --context CTX (a file, or inline JSON)");
  int rc = 0;
  uint8_t *bb;
  er_engine *e = open_engine(o->bundle, &bb, &rc);
  if (!e) return rc;
  uint32_t cn = 0, rn = 0, pn = 0;
  const char *skip = NULL; /* an input over its limit: not re-ranked, and why */
  uint8_t *ctx = NULL, *prof = NULL;
  if (o->context[0] == '{') {
    cn = (uint32_t)strlen(o->context);
    ctx = malloc(cn + 1);
    if (ctx) memcpy(ctx, o->context, cn + 1);
  } else {
    ctx = rerank_input("context", o->context, ER_MAX_CONTEXT_BYTES, &cn, &skip, &rc);
  }
  if (o->profile && !skip) prof = rerank_input("profile", o->profile, ER_PROFILE_MAX_BYTES, &pn, &skip, &rc);
  char msg[400] = "";
  const char *reason = skip ? "context" : NULL;
  if (skip) snprintf(msg, sizeof msg, "%s", skip);
  /* the response: at most the limit + 1 bytes in memory; past that it is streamed through */
  const char *why = "";
  int over = 0;
  uint8_t *resp = rc ? NULL : er_read_head(stdin, ER_MAX_RESPONSE_BYTES, &rn, &why, &over);
  if (!rc && !resp) { fprintf(stderr, "edgerec: cannot read response (stdin): %s\n", why); rc = EXIT_INPUT; }
  if (!rc && over && !reason) {
    reason = "limit";
    snprintf(msg, sizeof msg, "response (stdin): %s", why);
  }
  if (!rc) {
    const char *out;
    uint32_t on;
    er_status st = reason ? ER_E_LIMIT : er_rerank(e, (const char *)resp, rn, (const char *)ctx, cn, prof, pn, &out, &on);
    if (st) {
      if (!reason) {
        reason = er_engine_reason(e);
        snprintf(msg, sizeof msg, "%s", er_engine_error(e)->msg);
      }
      fprintf(stderr, "edgerec: rerank: not re-ranked (reason=%s): %s\n", reason, msg);
      rc = write_all("-", resp, rn);
      if (!rc && over) rc = copy_rest(stdin, stdout);
      if (!rc && o->strict) rc = EXIT_INPUT;
    } else {
      rc = write_all("-", out, on);
    }
  }
  free(ctx);
  free(resp);
  free(prof);
  er_engine_free(e);
  free(bb);
  return rc;
}

static int cmd_pack(opts *o) {
  if (!o->model || !o->catalog || !o->out) return usage("pack needs --model, --catalog and --out");
  uint32_t mn = 0, cn = 0, xn = 0;
  int rc = 0;
  uint8_t *m = load("model", o->model, ER_MAX_MODEL_JSON_BYTES, &mn, EXIT_INPUT, &rc);
  uint8_t *c = rc ? NULL : load("catalog", o->catalog, ER_MAX_CATALOG_JSON_BYTES, &cn, EXIT_INPUT, &rc);
  uint8_t *x = rc || !o->xgboost ? NULL : load("XGBoost model", o->xgboost, ER_MAX_MODEL_JSON_BYTES, &xn, EXIT_INPUT, &rc);
  if (rc) { free(m); free(c); return rc; }
  uint8_t *out = NULL;
  uint32_t on = 0;
  er_error err;
  er_error_clear(&err);
  er_status st = er_pack_from_json((const char *)m, mn, (const char *)c, cn, (const char *)x, xn, o->model, &out, &on, &err);
  if (st) { fprintf(stderr, "edgerec: pack: %s\n", err.msg); rc = EXIT_INPUT; }
  else {
    er_bundle b; /* prove it loads */
    if (er_bundle_load(&b, out, on, &err)) { fprintf(stderr, "edgerec: pack produced an invalid bundle: %s\n", err.msg); rc = EXIT_BUNDLE; }
    else if (!(rc = write_all(o->out, out, on)))
      fprintf(stderr, "edgerec: packed %s: %u bytes, %u items, model %s (%s)\n", o->out, on, b.n_items, b.version,
              b.model_kind == ER_MODEL_LINEAR ? "linear" : "trees");
  }
  free(out); free(m); free(c); free(x);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A context with n explicit candidates (0: the engine generates them):
 * catalog items, then synthetic unknown skus when the catalog is smaller.
 * Request `rep` > 0 starts its recent items and candidates elsewhere in the
 * catalog, so timed requests do not repeat one request. */
static char *bench_context(er_engine *e, const er_bundle *b, uint32_t n, uint32_t rep, uint32_t *len) {
  (void)e;
  size_t cap = 256 + (size_t)(n + 3) * (ER_MAX_SKU_BYTES + 8);
  char *s = malloc(cap);
  if (!s) return NULL;
  uint32_t at = b->n_items ? (uint32_t)(((uint64_t)rep * 2654435761u) % b->n_items) : 0;
  size_t o = (size_t)snprintf(s, cap, "{\"page\":{\"type\":\"category\"},\"device\":\"mobile\",\"hour\":20,\"recent\":[");
  for (uint32_t k = 0; k < 3 && k < b->n_items; k++) {
    uint32_t sl;
    const char *sku = er_item_sku(b, (at + k) % b->n_items, &sl);
    o += (size_t)snprintf(s + o, cap - o, "%s\"%.*s\"", k ? "," : "", (int)sl, sku);
  }
  o += (size_t)snprintf(s + o, cap - o, n ? "],\"k\":20,\"candidates\":[" : "],\"k\":20");
  for (uint32_t k = 0; k < n; k++) {
    if (k < b->n_items) {
      uint32_t sl;
      const char *sku = er_item_sku(b, (at + k) % b->n_items, &sl);
      o += (size_t)snprintf(s + o, cap - o, "%s\"%.*s\"", k ? "," : "", (int)sl, sku);
    } else {
      o += (size_t)snprintf(s + o, cap - o, ",\"inspect-%u\"", k);
    }
  }
  o += (size_t)snprintf(s + o, cap - o, n ? "]}" : "}");
  *len = (uint32_t)o;
  return s;
}

static int cmd_inspect(opts *o) {
  const char *path = o->npos ? o->pos[0] : o->bundle;
  if (!path) return usage("inspect needs a bundle file");
  uint32_t n;
  int rc = 0;
  uint8_t *bytes = load("bundle", path, ER_MAX_BUNDLE_BYTES, &n, EXIT_BUNDLE, &rc);
  if (!bytes) return rc;
  er_error err;
  er_error_clear(&err);
  double t_load = now_us();
  er_engine *e = er_engine_new(bytes, n, &err);
  t_load = now_us() - t_load; /* full validation and engine set-up */
  if (!e) {
    printf("{\"file\":\"%s\",\"bytes\":%u,\"valid\":false,\"error\":\"%s\",\"reason\":\"%s\"}\n", path, n, er_strerror(err.code), err.msg);
    free(bytes);
    return EXIT_BUNDLE;
  }
  er_bundle b;
  er_bundle_load(&b, bytes, n, &err);
  const char *info;
  uint32_t in;
  er_bundle_info(e, &info, &in);
  char *infocopy = malloc(in + 1);
  if (!infocopy) { er_engine_free(e); free(bytes); return EXIT_INPUT; }
  memcpy(infocopy, info, in);
  infocopy[in - 1] = 0; /* drop the closing brace: we append */
  printf("%s,\"valid\":true,\"load_us\":%.0f,\"requests\":[", infocopy, t_load);
  /* explicit candidates (the same request), then generated candidates (the
   * engine's own, from neighbours and lists) with recent items that differ per request */
  static const uint32_t sizes[] = {50, 200, 0};
  for (int s = 0; s < 3; s++) {
    enum { REPS = 200 };
    double dts[REPS];
    uint32_t cl;
    char *ctx = bench_context(e, &b, sizes[s], 0, &cl);
    if (!ctx) break;
    const char *out;
    uint32_t on;
    double best = 1e18;
    double total = 0;
    er_status st = ER_OK;
    int r = 0;
    for (; r < REPS; r++) {
      if (!sizes[s] && r) {
        free(ctx);
        if (!(ctx = bench_context(e, &b, 0, (uint32_t)r, &cl))) break;
      }
      double t0 = now_us();
      st = er_recommend(e, ctx, cl, NULL, 0, &out, &on);
      double dt = now_us() - t0;
      dts[r] = dt;
      total += dt;
      if (dt < best) best = dt;
      if (st) { r++; break; }
    }
    qsort(dts, (size_t)r, sizeof dts[0], cmp_double);
    printf("%s{\"candidates\":%s%u,\"work_units\":%llu,\"budget\":%u,\"us_min\":%.1f,\"us_mean\":%.1f,\"us_p50\":%.1f,\"us_p99\":%.1f,\"status\":\"%s\"}",
           s ? "," : "", sizes[s] ? "" : "\"generated\",\"n\":", sizes[s] ? sizes[s] : 20, (unsigned long long)er_engine_units(e), b.budget, best,
           total / (r ? r : 1), r ? dts[r / 2] : 0, r ? dts[(r * 99) / 100 < r ? (r * 99) / 100 : r - 1] : 0, er_strerror(st));
    free(ctx);
  }
  printf("]}\n");
  free(infocopy);
  er_engine_free(e);
  free(bytes);
  return 0;
}

static int cmd_profile(int argc, char **argv) {
  if (argc < 3) return usage("profile needs update or show");
  opts o;
  if (parse_opts(argc, argv, 3, &o)) return EXIT_USAGE;
  if (!strcmp(argv[2], "show")) {
    const char *path = o.npos ? o.pos[0] : o.profile;
    if (!path) return usage("profile show needs a profile file");
    int rc = 0;
    uint32_t pn;
    uint8_t *p = read_profile(path, &pn, &rc);
    if (!p) return rc;
    /* show works without a bundle: decode directly */
    er_profile pr;
    er_error err;
    er_error_clear(&err);
    if (er_profile_decode(&pr, p, pn, &err)) { fprintf(stderr, "edgerec: %s: %s\n", path, err.msg); free(p); return EXIT_INPUT; }
    char buf[8192];
    uint32_t n = er_profile_to_json(&pr, buf, sizeof buf);
    free(p);
    if (!n) return EXIT_INPUT;
    fwrite(buf, 1, n, stdout);
    putchar('\n');
    return 0;
  }
  if (strcmp(argv[2], "update")) return usage("profile needs update or show");
  if (!o.bundle) return usage("profile update needs --bundle F");
  int rc = 0;
  uint8_t *bb;
  er_engine *e = open_engine(o.bundle, &bb, &rc);
  if (!e) return rc;
  uint32_t pn = 0, en = 0;
  uint8_t *p = read_profile(o.profile, &pn, &rc);
  uint8_t *ev = rc ? NULL : load("event", "-", ER_MAX_EVENT_BYTES, &en, EXIT_INPUT, &rc);
  if (!rc) {
    const uint8_t *out;
    uint32_t on;
    er_status st = er_profile_update(e, p, pn, (const char *)ev, en, &out, &on);
    if (st) { print_error("profile update", er_engine_error(e)); rc = exit_for(st); }
    else rc = write_all(o.out ? o.out : "-", out, on);
  }
  free(p); free(ev);
  er_engine_free(e);
  free(bb);
  return rc;
}

static int cmd_score_dense(opts *o) {
  if (!o->bundle) return usage("score-dense needs --bundle F");
  uint32_t n;
  int rc = 0;
  uint8_t *bytes = load("bundle", o->bundle, ER_MAX_BUNDLE_BYTES, &n, EXIT_BUNDLE, &rc);
  if (!bytes) return rc;
  er_bundle b;
  er_error err;
  er_error_clear(&err);
  if (er_bundle_load(&b, bytes, n, &err)) { fprintf(stderr, "edgerec: %s: %s\n", o->bundle, err.msg); free(bytes); return EXIT_BUNDLE; }
  if (b.model_kind != ER_MODEL_TREES) { fprintf(stderr, "edgerec: score-dense needs a tree model\n"); free(bytes); return EXIT_USAGE; }
  char line[ER_MAX_DENSE_LINE_BYTES + 1];
  unsigned long lineno = 0;
  int64_t len;
  while ((len = er_read_line(stdin, line, ER_MAX_DENSE_LINE_BYTES)) >= 0) {
    lineno++;
    if (len > (int64_t)ER_MAX_DENSE_LINE_BYTES) {
      fprintf(stderr, "edgerec: score-dense: line %lu: %lld bytes, more than the limit of %u bytes\n", lineno, (long long)len, ER_MAX_DENSE_LINE_BYTES);
      rc = EXIT_INPUT;
      break;
    }
    float x[ER_DENSE_COUNT];
    char *p = line;
    for (int f = 0; f < ER_DENSE_COUNT; f++) {
      char *end;
      while (*p == ' ') p++;
      if (*p == ',' || *p == 0) x[f] = __builtin_nanf("");
      else {
        x[f] = strtof(p, &end);
        if (end == p) { fprintf(stderr, "edgerec: score-dense: line %lu field %d is not a number\n", lineno, f + 1); rc = EXIT_INPUT; break; }
        p = end;
      }
      if (f + 1 < ER_DENSE_COUNT) {
        if (*p != ',') { fprintf(stderr, "edgerec: score-dense: line %lu has fewer than %d fields\n", lineno, ER_DENSE_COUNT); rc = EXIT_INPUT; break; }
        p++;
      }
    }
    if (rc) break;
    uint64_t units = 0;
    int32_t m = er_score_trees(&b, x, &units);
    printf("%d\n", m);
  }
  if (!rc && ferror(stdin)) { fprintf(stderr, "edgerec: score-dense: read error after line %lu\n", lineno); rc = EXIT_INPUT; }
  free(bytes);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage(NULL);
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) { fputs(USAGE, stdout); return 0; }
  if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
    printf("edgerec %s (bundle format %d, features %d with %d dense, schema %016llx)\n", EDGEREC_VERSION, ER_BUNDLE_VERSION, ER_FEATURES_VERSION, ER_DENSE_COUNT,
           (unsigned long long)er_features_schema_hash());
    return 0;
  }
  if (!strcmp(cmd, "profile")) return cmd_profile(argc, argv);
  if (!strcmp(cmd, "import")) {
#ifdef ER_CLI_NO_IMPORT
    fprintf(stderr, "edgerec: import is not in this build (use the native CLI, build/edgerec)\n");
    return EXIT_USAGE;
#else
    if (argc >= 3 && !strcmp(argv[2], "luma-catalog")) return er_catalog_import_main(argc - 1, argv + 1);
    return er_import_main(argc - 1, argv + 1); /* online-retail, otto, csv; usage on anything else */
#endif
  }
  if (!strcmp(cmd, "synth")) {
#ifdef ER_CLI_NO_IMPORT
    fprintf(stderr, "edgerec: synth is not in this build (use the native CLI, build/edgerec)\n");
    return EXIT_USAGE;
#else
    return er_synth_main(argc - 1, argv + 1);
#endif
  }
  if (!strcmp(cmd, "train") || !strcmp(cmd, "eval") || !strcmp(cmd, "features")) {
#ifdef ER_CLI_NO_IMPORT
    fprintf(stderr, "edgerec: %s is not in this build (use the native CLI, build/edgerec)\n", cmd);
    return EXIT_USAGE;
#else
    if (!strcmp(cmd, "train")) return er_train_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "features")) return er_features_main(argc - 1, argv + 1);
    return er_eval_main(argc - 1, argv + 1);
#endif
  }
  if (!strcmp(cmd, "publish") || !strcmp(cmd, "rollout") || !strcmp(cmd, "units") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume")) {
#ifdef ER_CLI_NO_IMPORT
    fprintf(stderr, "edgerec: %s is not in this build (use the native CLI, build/edgerec)\n", cmd);
    return EXIT_USAGE;
#else
    return er_admin_main(argc - 1, argv + 1);
#endif
  }
  opts o;
  if (parse_opts(argc, argv, 2, &o)) return EXIT_USAGE;
  if (!strcmp(cmd, "recommend")) return cmd_recommend(&o);
  if (!strcmp(cmd, "rerank")) return cmd_rerank(&o);
  if (!strcmp(cmd, "pack")) return cmd_pack(&o);
  if (!strcmp(cmd, "inspect")) return cmd_inspect(&o);
  if (!strcmp(cmd, "score-dense")) return cmd_score_dense(&o);
  fprintf(stderr, "edgerec: unknown command '%s'\n", cmd);
  return usage(NULL);
}
