/* er_admin.c — `edgerec publish`, `edgerec rollout …`, `edgerec pause|resume` and `edgerec units …`: the
 * edge Worker's admin API over HTTP(S) through libcurl.  Native only (see er_admin.h for the
 * commands, the transport rules and the exit codes). */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgerec.h"
#include "er_admin.h"
#include "er_bundle.h"
#include "er_json.h"
#include "er_native.h"

#define EXIT_USAGE 2
#define EXIT_INPUT 3
#define EXIT_BUNDLE 4

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S 120L
#define MAX_JSON_BYTES ((size_t)16 << 20)    /* a JSON response                 */
#define MAX_PAGE_BYTES ((size_t)256 << 20)   /* one events page                 */
#define MAX_CURSOR 4096
#define MAX_UNIT_FILE_BYTES (64u * 1024u)    /* a unit's JSON: the Worker's admin body limit */
#define MAX_UNIT_ID 64
#define DEFAULT_MAX_PAGES 100000L

static const char *ADMIN_USAGE =
    "usage: edgerec publish BUNDLE.erb --url URL [--token TOKEN] [--canary PERCENT [--segment JSON]]\n"
    "       edgerec rollout start VERSION --canary PERCENT [--segment JSON] --url URL [--token TOKEN]\n"
    "       edgerec rollout scope JSON|none --url URL [--token TOKEN]\n"
    "       edgerec pause [--reason TEXT] | resume --url URL [--token TOKEN]\n"
    "       edgerec rollout status|promote|rollback --url URL [--token TOKEN]\n"
    "       edgerec rollout events --url URL [--token TOKEN] [--since TS] [--out FILE] [--max-pages N]\n"
    "       edgerec rollout bundle --url URL [--token TOKEN] [--version V | active] --out FILE\n"
    "       edgerec units list|get ID|put FILE.json|delete ID --url URL [--token TOKEN]\n"
    "  units: recommendation units (docs/units.md).  put creates or replaces the unit FILE.json holds\n"
    "  (PUT /edge/admin/units/ID with its unitId; without one the Worker gives it a new id).\n"
    "  segments (docs/lifecycle.md): a JSON object of store, website, channel, country, device, group\n"
    "  lists, e.g. '{\"store\":[\"default\"],\"channel\":[\"app\"],\"country\":[\"DE\",\"AT\"]}'.  --segment limits\n"
    "  a canary to it; `rollout scope` limits personalization as a whole (none: everyone).  pause is the\n"
    "  kill switch (the origin's order for everyone), resume ends it.\n"
    "  URL is the edge Worker's address (http:// or https://).  The admin token is read from the\n"
    "  environment variable EDGEREC_ADMIN_TOKEN; prefer it to --token, which other local users can\n"
    "  see in `ps` (and which lands in shell history).  EDGEREC_ADMIN_TIMEOUT=SECONDS overrides the\n"
    "  120 s limit per request.  EDGEREC_ADMIN_ACTOR=NAME (a-z 0-9 -, e.g. retrain) names the automation\n"
    "  acting with an operator token in the audit log (header X-Edgerec-Actor; docs/admin.md).\n"
    "exit codes: 0 ok, 2 usage, 3 bad input (or over its size limit) or HTTP error, 4 bad bundle\n";

/* ---- small buffers and helpers ------------------------------------------- */

typedef struct {
  uint8_t *p;
  size_t n, cap, max;
  int over; /* the response exceeded max */
} buf;

static int buf_add(buf *b, const void *p, size_t n) {
  if (n > b->max - b->n) { b->over = 1; return -1; }
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
  b->p[b->n] = 0;
  return 0;
}

static void buf_free(buf *b) { free(b->p); memset(b, 0, sizeof *b); }

static void copy_trunc(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* Write s as a JSON string (quotes included). */
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* A parsed JSON response (NULL tokens when the text is not JSON). */
typedef struct {
  er_json j;
  jsmntok_t *tok;
} jdoc;

static int jdoc_parse(jdoc *d, const uint8_t *s, size_t n) {
  memset(d, 0, sizeof *d);
  if (!s || n == 0 || n > UINT32_MAX) return 0;
  er_error err;
  er_error_clear(&err);
  uint32_t nt = 0;
  if (er_json_validate((const char *)s, (uint32_t)n, ER_MAX_JSON_DEPTH, "response", &err, &nt) || nt == 0) return 0;
  d->tok = malloc(sizeof(jsmntok_t) * nt);
  if (!d->tok) return 0;
  if (er_json_tokenize(&d->j, (const char *)s, (uint32_t)n, d->tok, nt, &err)) { free(d->tok); d->tok = NULL; return 0; }
  return 1;
}

static void jdoc_free(jdoc *d) { free(d->tok); d->tok = NULL; }

/* The string token v (a value or an object key) into out, printable: control bytes replaced,
 * a string too long keeps its raw prefix. */
static void jdoc_str_tok(const jdoc *d, uint32_t v, char *out, uint32_t cap) {
  int32_t n = er_json_str(&d->j, v, out, cap - 1); /* cap ≥ 1: room for the NUL */
  if (n >= 0) out[n] = '\0';
  else { /* too long: keep the raw prefix */
    const jsmntok_t *t = &d->j.tok[v];
    copy_trunc(out, cap, d->j.js + t->start, (size_t)(t->end - t->start));
    n = (int32_t)strlen(out);
  }
  for (int32_t i = 0; i < n; i++)
    if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f) out[i] = ' ';
}

/* The string value of key in the object at token obj into out (printable, control
 * bytes replaced); 1 when found, 0 when absent / null / not a string. */
static int jdoc_string_at(const jdoc *d, uint32_t obj, const char *key, char *out, uint32_t cap) {
  if (!d->tok || !er_json_is(&d->j, obj, JSMN_OBJECT)) return 0;
  int32_t v = er_json_get(&d->j, obj, key);
  if (v < 0 || !er_json_is(&d->j, (uint32_t)v, JSMN_STRING)) return 0;
  jdoc_str_tok(d, (uint32_t)v, out, cap);
  return 1;
}

/* The raw text of key's value (numbers, null) in the object at token obj into out; 0 when absent. */
static int jdoc_raw_at(const jdoc *d, uint32_t obj, const char *key, char *out, size_t cap) {
  if (!d->tok || !er_json_is(&d->j, obj, JSMN_OBJECT)) return 0;
  int32_t v = er_json_get(&d->j, obj, key);
  if (v < 0) return 0;
  const jsmntok_t *t = &d->j.tok[v];
  copy_trunc(out, cap, d->j.js + t->start, (size_t)(t->end - t->start));
  return 1;
}

/* The same in the top-level object. */
static int jdoc_string(const jdoc *d, const char *key, char *out, uint32_t cap) { return jdoc_string_at(d, 0, key, out, cap); }
static int jdoc_raw(const jdoc *d, const char *key, char *out, size_t cap) { return jdoc_raw_at(d, 0, key, out, cap); }

static void indent(FILE *f, int depth) {
  fputc('\n', f);
  for (int i = 0; i < depth; i++) fputs("  ", f);
}

/* Print validated JSON indented by two spaces (strings copied verbatim). */
static void print_pretty(FILE *f, const char *s, size_t n) {
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < n && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
      fwrite(s + i, 1, (j < n ? j + 1 : n) - i, f);
      i = j;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '{' || c == '[') {
      size_t k = i + 1;
      while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r')) k++;
      if (k < n && (s[k] == '}' || s[k] == ']')) { fputc(c, f); fputc(s[k], f); i = k; continue; }
      fputc(c, f);
      indent(f, ++depth);
    } else if (c == '}' || c == ']') {
      indent(f, --depth);
      fputc(c, f);
    } else if (c == ',') {
      fputc(',', f);
      indent(f, depth);
    } else if (c == ':') {
      fputs(": ", f);
    } else {
      fputc(c, f);
    }
  }
  fputc('\n', f);
}

/* ---- the admin client ----------------------------------------------------- */

typedef struct {
  char cmd[32];          /* "publish", "rollout status", … for messages   */
  char *base;            /* --url without trailing slashes                 */
  char *auth;            /* "Authorization: Bearer …" (never printed)      */
  char actor[64];        /* "X-Edgerec-Actor: NAME" (EDGEREC_ADMIN_ACTOR) or "" */
  long total_timeout;
  CURL *h;
  char errbuf[CURL_ERROR_SIZE];
} admin;

typedef struct {
  long status;
  buf body;
  char ctype[128];
  char location[512];
  char cursor[MAX_CURSOR + 1];
  int has_cursor, cursor_too_long;
  const char *method;
  char *url; /* the request's URL, for messages */
} resp;

static void resp_free(resp *r) {
  buf_free(&r->body);
  free(r->url);
  memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  resp *r = ud;
  return buf_add(&r->body, p, sz * n) ? 0 : sz * n;
}

static int header_is(const char *p, size_t n, const char *name) {
  return strlen(name) == n && !strncasecmp(p, name, n);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  resp *r = ud;
  size_t len = sz * n;
  if (len >= 5 && !memcmp(p, "HTTP/", 5)) { /* a new response (e.g. after 100 Continue) */
    r->ctype[0] = r->location[0] = r->cursor[0] = 0;
    r->has_cursor = r->cursor_too_long = 0;
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon) return len;
  size_t nl = (size_t)(colon - p);
  const char *v = colon + 1, *end = p + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
  size_t vl = (size_t)(end - v);
  if (header_is(p, nl, "content-type")) copy_trunc(r->ctype, sizeof r->ctype, v, vl);
  else if (header_is(p, nl, "location")) copy_trunc(r->location, sizeof r->location, v, vl);
  else if (header_is(p, nl, "x-edgerec-next-cursor") && vl > 0) {
    if (vl > MAX_CURSOR) r->cursor_too_long = 1;
    else { copy_trunc(r->cursor, sizeof r->cursor, v, vl); r->has_cursor = 1; }
  }
  return len;
}

/* What a libcurl failure means, in words. */
static const char *transport_what(admin *a, CURLcode res, char *tmp, size_t cap) {
  long oserr = 0;
  curl_easy_getinfo(a->h, CURLINFO_OS_ERRNO, &oserr);
  switch (res) {
  case CURLE_COULDNT_RESOLVE_HOST: return "cannot resolve the host name (DNS)";
  case CURLE_COULDNT_RESOLVE_PROXY: return "cannot resolve the proxy's host name (DNS)";
  case CURLE_COULDNT_CONNECT:
    return oserr == ECONNREFUSED ? "connection refused (is the Worker running at this address?)" : "cannot connect";
  case CURLE_OPERATION_TIMEDOUT:
    snprintf(tmp, cap, "timed out (limits: connect %ld s, whole request %ld s)", CONNECT_TIMEOUT_S, a->total_timeout);
    return tmp;
  case CURLE_PEER_FAILED_VERIFICATION: return "TLS: the server's certificate could not be verified";
  case CURLE_SSL_CONNECT_ERROR: return "TLS handshake failed";
  case CURLE_GOT_NOTHING: return "the server closed the connection without a response";
  case CURLE_SEND_ERROR: return "sending the request failed";
  case CURLE_RECV_ERROR: return "receiving the response failed";
  default: return curl_easy_strerror(res);
  }
}

/* One request.  path starts with '/'; query (already escaped) may be NULL.
 * Returns 0 when a response arrived (any status; see r->status), else prints
 * what failed and returns EXIT_INPUT. */
static int request(admin *a, const char *method, const char *path, const char *query, const char *ctype,
                   const void *body, size_t blen, const char *accept, size_t max, resp *r) {
  memset(r, 0, sizeof *r);
  r->method = method;
  r->body.max = max;
  size_t ul = strlen(a->base) + strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
  r->url = malloc(ul);
  if (!r->url) { fprintf(stderr, "edgerec %s: out of memory\n", a->cmd); return EXIT_INPUT; }
  snprintf(r->url, ul, "%s%s%s%s", a->base, path, query ? "?" : "", query ? query : "");

  char acc[96], ct[96];
  snprintf(acc, sizeof acc, "Accept: %s", accept);
  snprintf(ct, sizeof ct, "Content-Type:%s%s", ctype ? " " : "", ctype ? ctype : ""); /* "Content-Type:" drops it */
  struct curl_slist *hl = NULL, *t;
  const char *hs[] = {a->auth, acc, ct, "Expect:", a->actor};
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    if (!hs[i][0]) continue; /* no actor */
    if (!(t = curl_slist_append(hl, hs[i]))) { curl_slist_free_all(hl); fprintf(stderr, "edgerec %s: out of memory\n", a->cmd); return EXIT_INPUT; }
    hl = t;
  }

  CURL *h = a->h;
  curl_easy_reset(h); /* keeps the connection cache */
  a->errbuf[0] = 0;
  curl_easy_setopt(h, CURLOPT_URL, r->url);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* never: a 3xx is reported */
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, a->total_timeout);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "edgerec/" EDGEREC_VERSION);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  if (!strcmp(method, "GET")) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    if (strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode res = curl_easy_perform(h);
  curl_slist_free_all(hl);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  if (res == CURLE_OK) return 0;
  char tmp[128];
  if (r->body.over)
    fprintf(stderr, "edgerec %s: %s %s: the response is larger than %zu MiB\n", a->cmd, method, r->url, max >> 20);
  else
    fprintf(stderr, "edgerec %s: %s %s: %s%s%s\n", a->cmd, method, r->url, transport_what(a, res, tmp, sizeof tmp),
            a->errbuf[0] ? " — " : "", a->errbuf);
  return EXIT_INPUT;
}

/* Report a response with an unexpected status; returns EXIT_INPUT. */
static int http_error(admin *a, const resp *r) {
  char msg[512] = "";
  jdoc d;
  if (jdoc_parse(&d, r->body.p, r->body.n)) {
    if (!jdoc_string(&d, "error", msg, sizeof msg) && !jdoc_string(&d, "message", msg, sizeof msg))
      copy_trunc(msg, sizeof msg, (const char *)r->body.p, r->body.n);
    jdoc_free(&d);
  } else if (r->body.n) { /* not JSON (a proxy's HTML page, …): a printable excerpt */
    size_t k = 0;
    int sp = 0;
    for (size_t i = 0; i < r->body.n && k < 200; i++) {
      unsigned char c = r->body.p[i];
      if (c <= ' ' || c == 0x7f) { if (!sp && k) { msg[k++] = ' '; sp = 1; } continue; }
      msg[k++] = c >= 0x80 ? '?' : (char)c;
      sp = 0;
    }
    while (k && msg[k - 1] == ' ') k--;
    msg[k] = 0;
    if (r->body.n > 200) snprintf(msg + k, sizeof msg - k, "…");
  }
  for (char *c = msg; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
  const char *hint = "";
  if (r->status == 401 || r->status == 403) hint = " (the admin token was refused: check EDGEREC_ADMIN_TOKEN or --token)";
  if (r->status >= 300 && r->status < 400) {
    fprintf(stderr, "edgerec %s: %s %s: HTTP %ld redirect%s%s, not followed (give the final address in --url)\n", a->cmd,
            r->method, r->url, r->status, r->location[0] ? " to " : "", r->location);
    return EXIT_INPUT;
  }
  fprintf(stderr, "edgerec %s: %s %s: HTTP %ld%s%s%s\n", a->cmd, r->method, r->url, r->status, msg[0] ? ": " : "", msg, hint);
  return EXIT_INPUT;
}

/* Print a JSON response body (indented when it is JSON). */
static void emit_json(admin *a, const resp *r) {
  jdoc d;
  if (jdoc_parse(&d, r->body.p, r->body.n)) {
    jdoc_free(&d);
    print_pretty(stdout, (const char *)r->body.p, r->body.n);
  } else {
    fprintf(stderr, "edgerec %s: warning: the response to %s %s is not JSON\n", a->cmd, r->method, r->url);
    fwrite(r->body.p ? (const void *)r->body.p : "", 1, r->body.n, stdout);
    if (r->body.n && r->body.p[r->body.n - 1] != '\n') fputc('\n', stdout);
  }
}

/* An escaped path segment / query value (curl_free it). */
static char *esc(admin *a, const char *s) {
  char *e = curl_easy_escape(a->h, s, (int)strlen(s));
  if (!e) fprintf(stderr, "edgerec %s: out of memory\n", a->cmd);
  return e;
}

/* ---- atomic output files ------------------------------------------------- */

typedef struct {
  FILE *f;
  char *tmp;        /* NULL for stdout */
  const char *path; /* shown in messages */
} outf;

static int outf_open(outf *o, const char *path, const char *cmd) {
  memset(o, 0, sizeof *o);
  if (!path || !strcmp(path, "-")) { o->f = stdout; o->path = "standard output"; return 0; }
  o->path = path;
  size_t n = strlen(path) + 16;
  if (!(o->tmp = malloc(n))) { fprintf(stderr, "edgerec %s: out of memory\n", cmd); return EXIT_INPUT; }
  snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    fprintf(stderr, "edgerec %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    free(o->tmp); o->tmp = NULL;
    return EXIT_INPUT;
  }
  mode_t um = umask(0);
  umask(um);
  (void)fchmod(fd, 0666 & ~um); /* what fopen would have given */
  if (!(o->f = fdopen(fd, "wb"))) {
    fprintf(stderr, "edgerec %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    close(fd); unlink(o->tmp); free(o->tmp); o->tmp = NULL;
    return EXIT_INPUT;
  }
  return 0;
}

static void outf_abort(outf *o) {
  if (o->tmp) {
    if (o->f) fclose(o->f);
    unlink(o->tmp);
    free(o->tmp);
  } else if (o->f) {
    fflush(o->f);
  }
  memset(o, 0, sizeof *o);
}

static int outf_commit(outf *o, const char *cmd) {
  int bad = fflush(o->f) != 0 || ferror(o->f);
  int e = errno;
  if (!o->tmp) {
    if (bad) fprintf(stderr, "edgerec %s: write to standard output failed: %s\n", cmd, strerror(e));
    memset(o, 0, sizeof *o);
    return bad ? EXIT_INPUT : 0;
  }
  if (!bad && fsync(fileno(o->f))) { bad = 1; e = errno; }
  if (fclose(o->f) && !bad) { bad = 1; e = errno; }
  o->f = NULL;
  if (!bad && rename(o->tmp, o->path)) { bad = 1; e = errno; }
  if (bad) {
    fprintf(stderr, "edgerec %s: cannot write %s: %s\n", cmd, o->path, strerror(e));
    unlink(o->tmp);
  }
  free(o->tmp);
  memset(o, 0, sizeof *o);
  return bad ? EXIT_INPUT : 0;
}

/* ---- commands ------------------------------------------------------------ */

/* Load and validate a bundle held in bytes; fills b (pointing into bytes). */
static int check_bundle(const char *cmd, const char *what, const uint8_t *bytes, uint32_t n, er_bundle *b) {
  er_error err;
  er_error_clear(&err);
  er_engine *e = er_engine_new(bytes, n, &err);
  if (!e) { fprintf(stderr, "edgerec %s: %s: %s\n", cmd, what, err.msg[0] ? err.msg : er_strerror(err.code)); return EXIT_BUNDLE; }
  er_engine_free(e);
  if (er_bundle_load(b, bytes, n, &err)) { fprintf(stderr, "edgerec %s: %s: %s\n", cmd, what, err.msg); return EXIT_BUNDLE; }
  if (!b->version[0]) { fprintf(stderr, "edgerec %s: %s: the bundle has no model version (header bytes 40..63)\n", cmd, what); return EXIT_BUNDLE; }
  return 0;
}

static char *rollout_body(admin *a, const char *version, long percent, const char *segment);

static int cmd_publish(admin *a, const char *file, long canary, const char *segment) {
  const char *msg = "";
  uint32_t n = 0;
  int over = 0;
  uint8_t *bytes = er_read_input("bundle", file, ER_MAX_BUNDLE_BYTES, &n, &msg, &over);
  if (!bytes) { fprintf(stderr, "edgerec publish: %s\n", msg); return over ? EXIT_INPUT : EXIT_BUNDLE; }
  er_bundle b;
  int rc = check_bundle(a->cmd, file, bytes, n, &b);
  if (rc) { free(bytes); return rc; }
  char *ev = esc(a, b.version);
  if (!ev) { free(bytes); return EXIT_INPUT; }
  size_t pl = strlen(ev) + 32;
  char *path = malloc(pl);
  if (!path) { curl_free(ev); free(bytes); return EXIT_INPUT; }
  snprintf(path, pl, "/edge/admin/bundles/%s", ev);
  curl_free(ev);
  resp put, ro;
  memset(&ro, 0, sizeof ro);
  rc = request(a, "PUT", path, NULL, "application/octet-stream", bytes, n, "application/json", MAX_JSON_BYTES, &put);
  free(path);
  free(bytes);
  if (!rc && put.status != 200 && put.status != 201) rc = http_error(a, &put);
  if (rc) { resp_free(&put); return rc; }
  fprintf(stderr, "edgerec publish: %s (%u bytes) %s\n", b.version, n,
          put.status == 201 ? "stored" : "was already stored with the same bytes");
  if (canary < 0) {
    emit_json(a, &put);
    resp_free(&put);
    return 0;
  }
  char *body = rollout_body(a, b.version, canary, segment);
  rc = body ? request(a, "POST", "/edge/admin/rollout", NULL, "application/json", body, strlen(body), "application/json", MAX_JSON_BYTES, &ro) : EXIT_INPUT;
  free(body);
  if (!rc && ro.status != 200) rc = http_error(a, &ro);
  jdoc d1, d2;
  int j1 = jdoc_parse(&d1, put.body.p, put.body.n), j2 = !rc && jdoc_parse(&d2, ro.body.p, ro.body.n);
  if (j1 && j2) { /* one document: {"published":…,"rollout":…} */
    buf all = {.max = (size_t)-1};
    int bad = buf_add(&all, "{\"published\":", 13) || buf_add(&all, put.body.p, put.body.n) ||
              buf_add(&all, ",\"rollout\":", 11) || buf_add(&all, ro.body.p, ro.body.n) || buf_add(&all, "}", 1);
    if (!bad) print_pretty(stdout, (const char *)all.p, all.n);
    buf_free(&all);
  } else {
    emit_json(a, &put);
    if (!rc) emit_json(a, &ro);
  }
  if (j1) jdoc_free(&d1);
  if (j2) jdoc_free(&d2);
  if (rc) fprintf(stderr, "edgerec publish: %s is stored, but the canary rollout failed (to retry, publish the same file again with --canary)\n", b.version);
  else fprintf(stderr, "edgerec publish: %s is the canary at %ld%%\n", b.version, canary);
  resp_free(&put);
  resp_free(&ro);
  return rc;
}

/* A one-line summary of a manifest (status, promote, rollback) on stderr. */
static void manifest_summary(admin *a, const resp *r) {
  jdoc d;
  if (!jdoc_parse(&d, r->body.p, r->body.n)) return;
  char active[128] = "(none)", canary[128] = "", pct[32] = "0", hold[32] = "";
  jdoc_string(&d, "active", active, sizeof active);
  int has_canary = jdoc_string(&d, "canary", canary, sizeof canary);
  jdoc_raw(&d, "percent", pct, sizeof pct);
  int has_hold = jdoc_raw(&d, "holdout", hold, sizeof hold);
  if (er_json_is(&d.j, 0, JSMN_OBJECT) && er_json_get(&d.j, 0, "active") >= 0) {
    fprintf(stderr, "edgerec %s: active %s", a->cmd, active);
    if (has_canary) fprintf(stderr, ", canary %s at %s%%", canary, pct);
    else fprintf(stderr, ", no canary");
    if (has_hold) fprintf(stderr, ", holdout %s%%", hold);
    char seg[512] = "";
    if (has_canary && jdoc_raw(&d, "segment", seg, sizeof seg) && strcmp(seg, "null")) fprintf(stderr, ", canary segment %s", seg);
    if (jdoc_raw(&d, "scope", seg, sizeof seg) && strcmp(seg, "null")) fprintf(stderr, ", scope %s", seg);
    if (jdoc_raw(&d, "paused", seg, sizeof seg) && !strcmp(seg, "true")) fprintf(stderr, ", PAUSED (origin order for everyone)");
    fputc('\n', stderr);
  }
  jdoc_free(&d);
}

/* A figure of the status's unit KPIs (raw JSON number) into out: "n/a" when absent or null; a rate
 * ("ctr", "conversion") as a percentage. */
static void unit_figure(const jdoc *d, uint32_t obj, const char *key, int rate, char *out, size_t cap) {
  char raw[64] = "";
  char *end = raw;
  double v = 0;
  if (jdoc_raw_at(d, obj, key, raw, sizeof raw)) v = strtod(raw, &end);
  if (end == raw) snprintf(out, cap, "n/a");
  else if (rate) snprintf(out, cap, "%.1f%%", 100 * v);
  else snprintf(out, cap, "%s", raw);
}

/* `rollout status`: the manifest line, then on stderr a line per live version and unit type with
 * the unit KPIs (all hours) the Worker reports under "units" (docs/lifecycle.md). */
static void status_summary(admin *a, const resp *r) {
  manifest_summary(a, r);
  jdoc d;
  if (!jdoc_parse(&d, r->body.p, r->body.n)) return;
  int32_t units = er_json_is(&d.j, 0, JSMN_OBJECT) ? er_json_get(&d.j, 0, "units") : -1;
  if (units >= 0 && er_json_is(&d.j, (uint32_t)units, JSMN_OBJECT)) {
    uint32_t k = (uint32_t)units + 1; /* the first version's key */
    for (int i = 0; i < d.j.tok[units].size; i++, k = er_json_skip(&d.j, k + 1)) {
      char version[64];
      jdoc_str_tok(&d, k, version, sizeof version);
      int32_t types = er_json_is(&d.j, k + 1, JSMN_OBJECT) ? er_json_get(&d.j, k + 1, "types") : -1;
      if (types < 0 || !er_json_is(&d.j, (uint32_t)types, JSMN_OBJECT)) continue;
      uint32_t t = (uint32_t)types + 1;
      for (int n = 0; n < d.j.tok[types].size; n++, t = er_json_skip(&d.j, t + 1)) {
        char type[40], views[32], clicks[32], ctr[16], carts[32], buys[32], conv[16], revenue[48];
        jdoc_str_tok(&d, t, type, sizeof type);
        unit_figure(&d, t + 1, "views", 0, views, sizeof views);
        unit_figure(&d, t + 1, "clicks", 0, clicks, sizeof clicks);
        unit_figure(&d, t + 1, "ctr", 1, ctr, sizeof ctr);
        unit_figure(&d, t + 1, "carts", 0, carts, sizeof carts);
        unit_figure(&d, t + 1, "purchases", 0, buys, sizeof buys);
        unit_figure(&d, t + 1, "conversion", 1, conv, sizeof conv);
        unit_figure(&d, t + 1, "revenue", 0, revenue, sizeof revenue);
        fprintf(stderr, "edgerec %s: units %s %s: views %s, clicks %s (CTR %s), carts %s, purchases %s (conversion %s), revenue %s\n",
                a->cmd, version, type, views, clicks, ctr, carts, buys, conv, revenue);
      }
    }
  }
  jdoc_free(&d);
}

/* A request without a body whose answer is JSON: 200 → the JSON on stdout, then `after` (a summary
 * on stderr, or NULL); anything else is an error. */
/* One request with an optional JSON body (NULL: none); a 200 prints the JSON, then `after`. */
static int cmd_json(admin *a, const char *method, const char *path, const char *body, void (*after)(admin *, const resp *)) {
  resp r;
  int rc = request(a, method, path, NULL, body ? "application/json" : NULL, body, body ? strlen(body) : 0, "application/json", MAX_JSON_BYTES, &r);
  if (!rc && r.status != 200) rc = http_error(a, &r);
  if (!rc) {
    emit_json(a, &r);
    if (after) after(a, &r);
  }
  resp_free(&r);
  return rc;
}

static int cmd_simple(admin *a, const char *method, const char *path, void (*after)(admin *, const resp *)) {
  return cmd_json(a, method, path, NULL, after);
}

/* A segment given on the command line (--segment, `rollout scope`): 0 when it is one JSON object
 * (the Worker checks its keys and values and names what it refuses), else prints why. */
static int check_segment(const char *cmd, const char *what, const char *text) {
  jdoc d;
  int ok = jdoc_parse(&d, (const uint8_t *)text, strlen(text)) && er_json_is(&d.j, 0, JSMN_OBJECT);
  jdoc_free(&d);
  if (!ok) fprintf(stderr, "edgerec %s: %s must be a JSON object such as '{\"store\":[\"default\"],\"country\":[\"DE\"]}' (got '%.80s')\n", cmd, what, text);
  return ok ? 0 : -1;
}

/* Build a JSON body with open_memstream; NULL on failure (printed). */
static char *rollout_body(admin *a, const char *version, long percent, const char *segment) {
  char *out = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&out, &n);
  if (!f) { fprintf(stderr, "edgerec %s: out of memory\n", a->cmd); return NULL; }
  fputs("{\"canary\":", f);
  json_str(f, version);
  fprintf(f, ",\"percent\":%ld", percent);
  if (segment) fprintf(f, ",\"segment\":%s", segment); /* checked by check_segment: one JSON object */
  fputc('}', f);
  if (fclose(f)) { free(out); fprintf(stderr, "edgerec %s: out of memory\n", a->cmd); return NULL; }
  return out;
}

/* `rollout start VERSION --canary N [--segment JSON]`: POST /edge/admin/rollout. */
static int cmd_start(admin *a, const char *version, long percent, const char *segment) {
  char *body = rollout_body(a, version, percent, segment);
  if (!body) return EXIT_INPUT;
  int rc = cmd_json(a, "POST", "/edge/admin/rollout", body, manifest_summary);
  free(body);
  return rc;
}

/* `rollout scope JSON|none`: PUT /edge/admin/scope. */
static int cmd_scope(admin *a, const char *scope) {
  int none = !strcmp(scope, "none");
  size_t bl = (none ? 4 : strlen(scope)) + 16;
  char *body = malloc(bl);
  if (!body) return EXIT_INPUT;
  snprintf(body, bl, "{\"scope\":%s}", none ? "null" : scope);
  int rc = cmd_json(a, "PUT", "/edge/admin/scope", body, manifest_summary);
  free(body);
  return rc;
}

/* `pause [--reason TEXT]` / `resume`: POST /edge/admin/pause | resume. */
static int cmd_pause(admin *a, int pause, const char *reason) {
  char *body = NULL;
  size_t n = 0;
  if (reason) {
    FILE *f = open_memstream(&body, &n);
    if (!f) return EXIT_INPUT;
    fputs("{\"reason\":", f);
    json_str(f, reason);
    fputc('}', f);
    if (fclose(f)) { free(body); return EXIT_INPUT; }
  }
  int rc = cmd_json(a, "POST", pause ? "/edge/admin/pause" : "/edge/admin/resume", body, manifest_summary);
  free(body);
  return rc;
}

/* Seen cursors: open addressing over 64-bit hashes. */
typedef struct {
  uint64_t *slot;
  size_t cap, n;
} hset;

static int hset_add(hset *s, uint64_t h) { /* 1 added, 0 already there, -1 no memory */
  if (!h) h = 1; /* 0 marks an empty slot */
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 256;
    uint64_t *ns = calloc(cap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < s->cap; i++)
      if (s->slot[i]) {
        size_t k = (size_t)(s->slot[i] & (cap - 1));
        while (ns[k]) k = (k + 1) & (cap - 1);
        ns[k] = s->slot[i];
      }
    free(s->slot);
    s->slot = ns;
    s->cap = cap;
  }
  size_t k = (size_t)(h & (s->cap - 1));
  while (s->slot[k]) {
    if (s->slot[k] == h) return 0;
    k = (k + 1) & (s->cap - 1);
  }
  s->slot[k] = h;
  s->n++;
  return 1;
}

static int cmd_events(admin *a, const char *since, const char *out, long max_pages) {
  outf o;
  int rc = outf_open(&o, out, a->cmd);
  if (rc) return rc;
  char *esince = since ? esc(a, since) : NULL;
  if (since && !esince) { outf_abort(&o); return EXIT_INPUT; }
  hset seen = {0};
  char cursor[MAX_CURSOR + 1] = "";
  unsigned long long total = 0;
  long page = 0;
  for (;;) {
    if (page >= max_pages) {
      fprintf(stderr, "edgerec %s: still more pages after %ld (--max-pages); stopping%s\n", a->cmd, page, o.tmp ? ", nothing written" : ", the output is incomplete");
      rc = EXIT_INPUT;
      break;
    }
    char *ecur = cursor[0] ? esc(a, cursor) : NULL;
    if (cursor[0] && !ecur) { rc = EXIT_INPUT; break; }
    size_t ql = (esince ? strlen(esince) : 0) + (ecur ? strlen(ecur) : 0) + 32;
    char *q = malloc(ql);
    if (!q) { curl_free(ecur); rc = EXIT_INPUT; break; }
    snprintf(q, ql, "%s%s%s%s%s", esince ? "since=" : "", esince ? esince : "", esince && ecur ? "&" : "", ecur ? "cursor=" : "",
             ecur ? ecur : "");
    curl_free(ecur);
    resp r;
    rc = request(a, "GET", "/edge/admin/events", q[0] ? q : NULL, NULL, NULL, 0, "application/x-ndjson", MAX_PAGE_BYTES, &r);
    free(q);
    page++;
    if (!rc && r.status != 200) rc = http_error(a, &r);
    if (!rc && !strstr(r.ctype, "ndjson")) {
      fprintf(stderr, "edgerec %s: GET %s: expected application/x-ndjson, got %s%s%s\n", a->cmd, r.url,
              r.ctype[0] ? "'" : "no content-type", r.ctype, r.ctype[0] ? "'" : "");
      rc = EXIT_INPUT;
    }
    if (!rc && r.cursor_too_long) {
      fprintf(stderr, "edgerec %s: GET %s: the x-edgerec-next-cursor header is longer than %d bytes\n", a->cmd, r.url, MAX_CURSOR);
      rc = EXIT_INPUT;
    }
    if (rc) { resp_free(&r); break; }
    unsigned long long lines = 0;
    for (size_t i = 0, start = 0; i <= r.body.n; i++) {
      if (i == r.body.n || r.body.p[i] == '\n') {
        for (size_t k = start; k < i; k++)
          if (r.body.p[k] != ' ' && r.body.p[k] != '\t' && r.body.p[k] != '\r') { lines++; break; }
        start = i + 1;
      }
    }
    int bad = r.body.n && fwrite(r.body.p, 1, r.body.n, o.f) != r.body.n;
    if (!bad && r.body.n && r.body.p[r.body.n - 1] != '\n') bad = fputc('\n', o.f) == EOF;
    if (bad) {
      fprintf(stderr, "edgerec %s: cannot write %s: %s\n", a->cmd, o.path, strerror(errno));
      resp_free(&r);
      rc = EXIT_INPUT;
      break;
    }
    total += lines;
    fprintf(stderr, "edgerec %s: page %ld: %llu event%s (%llu so far)%s\n", a->cmd, page, lines, lines == 1 ? "" : "s", total,
            r.has_cursor ? "" : ", last page");
    if (!r.has_cursor) { resp_free(&r); break; }
    int added = hset_add(&seen, er_key(r.cursor, strlen(r.cursor)));
    if (added <= 0) {
      if (added < 0) fprintf(stderr, "edgerec %s: out of memory\n", a->cmd);
      else fprintf(stderr, "edgerec %s: GET %s: the server returned a cursor it had already given (a cursor loop) after page %ld; stopping%s\n",
                   a->cmd, r.url, page, o.tmp ? ", nothing written" : ", the output is incomplete");
      resp_free(&r);
      rc = EXIT_INPUT;
      break;
    }
    memcpy(cursor, r.cursor, strlen(r.cursor) + 1);
    resp_free(&r);
  }
  curl_free(esince);
  free(seen.slot);
  if (rc) { outf_abort(&o); return rc; }
  if ((rc = outf_commit(&o, a->cmd))) return rc;
  fprintf(stderr, "edgerec %s: %llu event%s in %ld page%s → %s\n", a->cmd, total, total == 1 ? "" : "s", page, page == 1 ? "" : "s",
          out && strcmp(out, "-") ? out : "standard output");
  return 0;
}

static int cmd_bundle(admin *a, const char *version, const char *out) {
  char active[ER_VERSION_BYTES * 4 + 1];
  int rc;
  if (!version || !strcmp(version, "active")) {
    resp s;
    if ((rc = request(a, "GET", "/edge/admin/status", NULL, NULL, NULL, 0, "application/json", MAX_JSON_BYTES, &s))) return rc;
    if (s.status != 200) { rc = http_error(a, &s); resp_free(&s); return rc; }
    jdoc d;
    int ok = jdoc_parse(&d, s.body.p, s.body.n) && jdoc_string(&d, "active", active, sizeof active) && active[0];
    if (d.tok) jdoc_free(&d);
    if (!ok) fprintf(stderr, "edgerec %s: GET %s: no active bundle in the status (\"active\" is missing or null)\n", a->cmd, s.url);
    resp_free(&s);
    if (!ok) return EXIT_INPUT;
    version = active;
    fprintf(stderr, "edgerec %s: the active bundle is %s\n", a->cmd, version);
  }
  char *ev = esc(a, version);
  if (!ev) return EXIT_INPUT;
  size_t pl = strlen(ev) + 32;
  char *path = malloc(pl);
  if (!path) { curl_free(ev); return EXIT_INPUT; }
  snprintf(path, pl, "/edge/admin/bundles/%s", ev);
  curl_free(ev);
  resp r;
  rc = request(a, "GET", path, NULL, NULL, NULL, 0, "application/octet-stream", ER_MAX_BUNDLE_BYTES, &r);
  free(path);
  if (!rc && r.status != 200) rc = http_error(a, &r);
  if (rc) { resp_free(&r); return rc; }
  er_bundle b;
  char what[64];
  snprintf(what, sizeof what, "the downloaded bundle %.24s", version);
  if ((rc = check_bundle(a->cmd, what, r.body.p, (uint32_t)r.body.n, &b))) { resp_free(&r); return rc; }
  if (strcmp(b.version, version)) {
    fprintf(stderr, "edgerec %s: GET %s: the server sent bundle version '%s' for '%s'\n", a->cmd, r.url, b.version, version);
    resp_free(&r);
    return EXIT_BUNDLE;
  }
  outf o;
  if ((rc = outf_open(&o, out, a->cmd))) { resp_free(&r); return rc; }
  if (fwrite(r.body.p, 1, r.body.n, o.f) != r.body.n) {
    fprintf(stderr, "edgerec %s: cannot write %s: %s\n", a->cmd, o.path, strerror(errno));
    outf_abort(&o);
    resp_free(&r);
    return EXIT_INPUT;
  }
  int to_stdout = !o.tmp;
  if ((rc = outf_commit(&o, a->cmd))) { resp_free(&r); return rc; }
  fprintf(stderr, "edgerec %s: %s (%zu bytes) → %s\n", a->cmd, b.version, r.body.n, to_stdout ? "standard output" : out);
  if (!to_stdout) {
    printf("{\"version\":");
    json_str(stdout, b.version);
    printf(",\"bytes\":%zu,\"model\":\"%s\",\"out\":", r.body.n, b.model_kind == ER_MODEL_LINEAR ? "linear" : "trees");
    json_str(stdout, out);
    printf("}\n");
  }
  resp_free(&r);
  return 0;
}

/* ---- units ---------------------------------------------------------------- */

static int unit_id_ok(const char *id) {
  size_t n = strlen(id);
  if (n < 1 || n > MAX_UNIT_ID) return 0;
  for (const char *c = id; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-')) return 0;
  return 1;
}

/* "/edge/admin/units" or "/edge/admin/units/ID" (escaped), malloc'd; NULL after printing why. */
static char *units_path(admin *a, const char *id) {
  char *ev = id ? esc(a, id) : NULL;
  if (id && !ev) return NULL;
  size_t pl = (ev ? strlen(ev) : 0) + 32;
  char *path = malloc(pl);
  if (path) snprintf(path, pl, "/edge/admin/units%s%s", ev ? "/" : "", ev ? ev : "");
  else fprintf(stderr, "edgerec %s: out of memory\n", a->cmd);
  curl_free(ev);
  return path;
}

/* `units list` on stderr: a line a unit (page type, order, id, type, status, stored or default, label). */
static void units_summary(admin *a, const resp *r) {
  jdoc d;
  if (!jdoc_parse(&d, r->body.p, r->body.n)) return;
  int32_t arr = er_json_is(&d.j, 0, JSMN_OBJECT) ? er_json_get(&d.j, 0, "units") : -1;
  if (arr >= 0 && er_json_is(&d.j, (uint32_t)arr, JSMN_ARRAY)) {
    int n = d.j.tok[arr].size, defaults = 0;
    char rev[32] = "?";
    jdoc_raw(&d, "revision", rev, sizeof rev);
    uint32_t el = (uint32_t)arr + 1;
    for (int k = 0; k < n; k++, el = er_json_skip(&d.j, el)) {
      char id[MAX_UNIT_ID + 1] = "", page[32] = "", type[32] = "", status[16] = "", label[80] = "", order[16] = "", def[8] = "";
      jdoc_string_at(&d, el, "unitId", id, sizeof id);
      jdoc_string_at(&d, el, "pageType", page, sizeof page);
      jdoc_string_at(&d, el, "typeId", type, sizeof type);
      jdoc_string_at(&d, el, "status", status, sizeof status);
      jdoc_string_at(&d, el, "storefrontLabel", label, sizeof label);
      jdoc_raw_at(&d, el, "displayOrder", order, sizeof order);
      jdoc_raw_at(&d, el, "default", def, sizeof def);
      int is_default = !strcmp(def, "true");
      defaults += is_default;
      fprintf(stderr, "  %-11s %4s  %-36s %-18s %-8s %-7s %s\n", page, order, id, type, status, is_default ? "default" : "stored", label);
    }
    fprintf(stderr, "edgerec %s: %d unit%s (%d stored, %d default%s), revision %s\n", a->cmd, n, n == 1 ? "" : "s", n - defaults, defaults,
            defaults == 1 ? "" : "s", rev);
  }
  jdoc_free(&d);
}

/* `units put` on stderr: the unit created, replaced or unchanged, and the revision. */
static void unit_put_summary(admin *a, const resp *r) {
  jdoc d;
  if (!jdoc_parse(&d, r->body.p, r->body.n)) return;
  char rev[32] = "?", changed[8] = "", id[MAX_UNIT_ID + 1] = "?";
  jdoc_raw(&d, "revision", rev, sizeof rev);
  jdoc_raw(&d, "changed", changed, sizeof changed);
  int32_t u = er_json_is(&d.j, 0, JSMN_OBJECT) ? er_json_get(&d.j, 0, "unit") : -1;
  if (u >= 0) jdoc_string_at(&d, (uint32_t)u, "unitId", id, sizeof id);
  fprintf(stderr, "edgerec %s: unit %s %s, revision %s\n", a->cmd, id,
          r->status == 201 ? "created" : !strcmp(changed, "false") ? "unchanged" : "replaced", rev);
  jdoc_free(&d);
}

/* Read FILE.json (one unit, at most MAX_UNIT_FILE_BYTES) and PUT it to its unitId, or POST it
 * when it has none (the Worker gives it an id). */
static int cmd_units_put(admin *a, const char *file) {
  const char *msg = "";
  uint32_t n = 0;
  int over = 0;
  uint8_t *bytes = er_read_input("unit", file, MAX_UNIT_FILE_BYTES, &n, &msg, &over);
  if (!bytes) { fprintf(stderr, "edgerec %s: %s\n", a->cmd, msg); return EXIT_INPUT; }
  er_error err;
  er_error_clear(&err);
  uint32_t nt = 0;
  if (n == 0 || er_json_validate((const char *)bytes, n, ER_MAX_JSON_DEPTH, file, &err, &nt)) {
    if (n) fprintf(stderr, "edgerec %s: not JSON: %s\n", a->cmd, err.msg);
    else fprintf(stderr, "edgerec %s: %s: empty (a unit is a JSON object)\n", a->cmd, file);
    free(bytes);
    return EXIT_INPUT;
  }
  jdoc d;
  char id[MAX_UNIT_ID * 3 + 1] = "";
  int has_id = 0;
  if (!jdoc_parse(&d, bytes, n) || !er_json_is(&d.j, 0, JSMN_OBJECT)) {
    fprintf(stderr, "edgerec %s: %s: must be a JSON object (one unit: {\"unitName\", \"typeId\", \"pageType\", ...})\n", a->cmd, file);
    if (d.tok) jdoc_free(&d);
    free(bytes);
    return EXIT_INPUT;
  }
  int32_t v = er_json_get(&d.j, 0, "unitId");
  if (v >= 0 && er_json_is(&d.j, (uint32_t)v, JSMN_STRING)) {
    has_id = 1;
    if (er_json_str(&d.j, (uint32_t)v, id, sizeof id) < 0 || !unit_id_ok(id)) {
      fprintf(stderr, "edgerec %s: %s: unitId must be 1..%d characters of A-Z a-z 0-9 . _ -\n", a->cmd, file, MAX_UNIT_ID);
      jdoc_free(&d);
      free(bytes);
      return EXIT_INPUT;
    }
  }
  jdoc_free(&d);
  char *path = units_path(a, has_id ? id : NULL);
  if (!path) { free(bytes); return EXIT_INPUT; }
  resp r;
  int rc = request(a, has_id ? "PUT" : "POST", path, NULL, "application/json", bytes, n, "application/json", MAX_JSON_BYTES, &r);
  free(path);
  free(bytes);
  if (!rc && r.status != 200 && r.status != 201) rc = http_error(a, &r);
  if (!rc) {
    emit_json(a, &r);
    unit_put_summary(a, &r);
  }
  resp_free(&r);
  return rc;
}

/* `units delete` on stderr: the id of the unit the Worker deleted. */
static void unit_deleted(admin *a, const resp *r) {
  jdoc d;
  if (!jdoc_parse(&d, r->body.p, r->body.n)) return;
  char id[MAX_UNIT_ID + 1] = "";
  int32_t u = er_json_is(&d.j, 0, JSMN_OBJECT) ? er_json_get(&d.j, 0, "deleted") : -1;
  if (u >= 0 && jdoc_string_at(&d, (uint32_t)u, "unitId", id, sizeof id)) fprintf(stderr, "edgerec %s: unit %s deleted\n", a->cmd, id);
  jdoc_free(&d);
}

static int cmd_units(admin *a, const char *sub, const char *arg) {
  if (!strcmp(sub, "put")) return cmd_units_put(a, arg);
  int list = !strcmp(sub, "list"), del = !strcmp(sub, "delete");
  char *path = units_path(a, list ? NULL : arg);
  if (!path) return EXIT_INPUT;
  int rc = cmd_simple(a, del ? "DELETE" : "GET", path, list ? units_summary : del ? unit_deleted : NULL);
  free(path);
  return rc;
}

/* ---- arguments ----------------------------------------------------------- */

typedef struct {
  const char *url, *token, *canary, *since, *out, *version, *max_pages, *segment, *reason;
  const char *pos[4];
  int npos;
} aopts;

static int admin_usage(const char *cmd, const char *msg) {
  if (msg) fprintf(stderr, "edgerec %s: %s\n", cmd, msg);
  fputs(ADMIN_USAGE, stderr);
  return EXIT_USAGE;
}

/* 1 = help asked, 0 ok, -1 error (printed). */
static int parse_aopts(int argc, char **argv, int start, const char *cmd, aopts *o) {
  memset(o, 0, sizeof *o);
  for (int i = start; i < argc; i++) {
    const char *x = argv[i];
    const char **slot = NULL;
    if (!strcmp(x, "-h") || !strcmp(x, "--help")) return 1;
    if (!strcmp(x, "--url")) slot = &o->url;
    else if (!strcmp(x, "--token")) slot = &o->token;
    else if (!strcmp(x, "--canary")) slot = &o->canary;
    else if (!strcmp(x, "--since")) slot = &o->since;
    else if (!strcmp(x, "--out")) slot = &o->out;
    else if (!strcmp(x, "--version")) slot = &o->version;
    else if (!strcmp(x, "--max-pages")) slot = &o->max_pages;
    else if (!strcmp(x, "--segment")) slot = &o->segment;
    else if (!strcmp(x, "--reason")) slot = &o->reason;
    else if (x[0] == '-' && x[1] == '-') { fprintf(stderr, "edgerec %s: unknown option %s\n", cmd, x); return -1; }
    else {
      if (o->npos >= 4) { fprintf(stderr, "edgerec %s: too many arguments\n", cmd); return -1; }
      o->pos[o->npos++] = x;
      continue;
    }
    if (i + 1 >= argc) { fprintf(stderr, "edgerec %s: %s needs a value\n", cmd, x); return -1; }
    *slot = argv[++i];
  }
  return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* A non-negative decimal number: digits with an optional fraction. */
static int is_unix_seconds(const char *s) {
  size_t d = strspn(s, "0123456789");
  if (!d) return 0;
  if (s[d] == '.') { size_t f = strspn(s + d + 1, "0123456789"); if (!f) return 0; d += 1 + f; }
  return s[d] == 0 && d <= 32;
}

static int is_loopback(const char *host, size_t n) {
  return (n == 9 && !strncasecmp(host, "localhost", 9)) || (n >= 4 && !strncmp(host, "127.", 4)) || (n == 5 && !strncmp(host, "[::1]", 5));
}

/* Validate --url; *base gets a malloc'd copy without trailing slashes. */
static int check_url(const char *cmd, const char *url, char **base) {
  size_t skip = 0;
  if (!strncasecmp(url, "https://", 8)) skip = 8;
  else if (!strncasecmp(url, "http://", 7)) skip = 7;
  if (!skip) { fprintf(stderr, "edgerec %s: --url must start with http:// or https:// (got '%s')\n", cmd, url); return -1; }
  for (const char *c = url; *c; c++)
    if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#') {
      fprintf(stderr, "edgerec %s: --url must be a plain address (no spaces, query or fragment): '%s'\n", cmd, url);
      return -1;
    }
  const char *host = url + skip;
  size_t hl = strcspn(host, "/");
  const char *at = memchr(host, '@', hl);
  if (at) { fprintf(stderr, "edgerec %s: --url must not carry credentials (the token goes in EDGEREC_ADMIN_TOKEN)\n", cmd); return -1; }
  if (hl == 0) { fprintf(stderr, "edgerec %s: --url has no host: '%s'\n", cmd, url); return -1; }
  size_t n = strlen(url);
  while (n > skip && url[n - 1] == '/') n--;
  if (!(*base = malloc(n + 1))) return -1;
  memcpy(*base, url, n);
  (*base)[n] = 0;
  if (skip == 7) { /* plain http: fine for a local Worker, a leak anywhere else */
    size_t h = hl;
    if (host[0] != '[') { const char *colon = memchr(host, ':', hl); if (colon) h = (size_t)(colon - host); }
    else { const char *rb = memchr(host, ']', hl); if (rb) h = (size_t)(rb - host) + 1; }
    if (!is_loopback(host, h))
      fprintf(stderr, "edgerec %s: warning: sending the admin token over plain http to %.*s (use https://)\n", cmd, (int)h, host);
  }
  return 0;
}

int er_admin_main(int argc, char **argv) {
  if (argc < 1) return admin_usage("admin", NULL);
  int publish = !strcmp(argv[0], "publish"), units = !strcmp(argv[0], "units");
  int pause = !strcmp(argv[0], "pause"), resume = !strcmp(argv[0], "resume");
  if (!publish && !units && !pause && !resume && strcmp(argv[0], "rollout"))
    return admin_usage(argv[0], "unknown admin command (publish, rollout, pause, resume or units)");
  const char *sub = NULL;
  admin a;
  memset(&a, 0, sizeof a);
  if (publish || pause || resume) snprintf(a.cmd, sizeof a.cmd, "%s", argv[0]);
  else if (units) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
      if (argc >= 2) { fputs(ADMIN_USAGE, stdout); return 0; }
      return admin_usage("units", "units needs list, get, put or delete");
    }
    sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "get") && strcmp(sub, "put") && strcmp(sub, "delete"))
      return admin_usage("units", "units needs list, get, put or delete");
    snprintf(a.cmd, sizeof a.cmd, "units %s", sub);
  } else {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
      if (argc >= 2) { fputs(ADMIN_USAGE, stdout); return 0; }
      return admin_usage("rollout", "rollout needs start, scope, status, promote, rollback, events or bundle");
    }
    sub = argv[1];
    if (strcmp(sub, "status") && strcmp(sub, "promote") && strcmp(sub, "rollback") && strcmp(sub, "events") && strcmp(sub, "bundle") &&
        strcmp(sub, "start") && strcmp(sub, "scope"))
      return admin_usage("rollout", "rollout needs start, scope, status, promote, rollback, events or bundle");
    snprintf(a.cmd, sizeof a.cmd, "rollout %s", sub);
  }
  aopts o;
  int pr = parse_aopts(argc, argv, publish || pause || resume ? 1 : 2, a.cmd, &o);
  if (pr > 0) { fputs(ADMIN_USAGE, stdout); return 0; }
  if (pr < 0) return admin_usage(a.cmd, NULL);

  /* which options apply where */
  const char *stray = NULL;
  long canary = -1, max_pages = DEFAULT_MAX_PAGES;
  if (publish) {
    stray = o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages" : NULL;
    if (!stray && o.npos != 1) return admin_usage(a.cmd, o.npos ? "publish takes one bundle file" : "publish needs a bundle file");
    if (!stray && o.canary && parse_long(o.canary, 1, 100, &canary)) return admin_usage(a.cmd, "--canary must be an integer percent 1..100");
    if (!stray && o.segment && !o.canary) return admin_usage(a.cmd, "--segment limits a canary: give --canary PERCENT too");
    if (!stray && o.segment && check_segment(a.cmd, "--segment", o.segment)) return EXIT_USAGE;
    if (!stray && o.reason) stray = "--reason";
  } else if (pause || resume) {
    stray = o.canary ? "--canary" : o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages"
          : o.segment ? "--segment" : (resume && o.reason) ? "--reason" : o.npos ? o.pos[0] : NULL;
    if (!stray && o.reason && !o.reason[0]) return admin_usage(a.cmd, "--reason needs a text");
  } else if (!strcmp(sub, "start")) {
    stray = o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages" : o.reason ? "--reason"
          : o.npos > 1 ? o.pos[1] : NULL;
    if (!stray && o.npos != 1) return admin_usage(a.cmd, "rollout start needs the VERSION of a published bundle");
    if (!stray && !o.canary) return admin_usage(a.cmd, "rollout start needs --canary PERCENT");
    if (!stray && parse_long(o.canary, 1, 100, &canary)) return admin_usage(a.cmd, "--canary must be an integer percent 1..100");
    if (!stray && o.segment && check_segment(a.cmd, "--segment", o.segment)) return EXIT_USAGE;
  } else if (!strcmp(sub, "scope")) {
    stray = o.canary ? "--canary" : o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages"
          : o.segment ? "--segment" : o.reason ? "--reason" : o.npos > 1 ? o.pos[1] : NULL;
    if (!stray && o.npos != 1) return admin_usage(a.cmd, "rollout scope needs a segment (JSON) or none");
    if (!stray && strcmp(o.pos[0], "none") && check_segment(a.cmd, "the scope", o.pos[0])) return EXIT_USAGE;
  } else if (units) {
    stray = o.canary ? "--canary" : o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages"
          : o.segment ? "--segment" : o.reason ? "--reason" : NULL;
    int want = strcmp(sub, "list") ? 1 : 0;
    if (!stray && o.npos > want) stray = o.pos[want];
    if (!stray && o.npos < want)
      return admin_usage(a.cmd, !strcmp(sub, "put") ? "needs a unit file (FILE.json, or - for standard input)" : "needs a unit id");
    if (!stray && want && strcmp(sub, "put") && !unit_id_ok(o.pos[0])) {
      char m[160];
      snprintf(m, sizeof m, "a unit id is 1..%d characters of A-Z a-z 0-9 . _ - (got '%.70s')", MAX_UNIT_ID, o.pos[0]);
      return admin_usage(a.cmd, m);
    }
  } else if (!strcmp(sub, "events")) {
    stray = o.canary ? "--canary" : o.version ? "--version" : o.segment ? "--segment" : o.reason ? "--reason" : o.npos ? o.pos[0] : NULL;
    if (!stray && o.since && !is_unix_seconds(o.since)) return admin_usage(a.cmd, "--since must be unix seconds (e.g. 1700000000 or 1700000000.5)");
    if (!stray && o.max_pages && parse_long(o.max_pages, 1, 100000000L, &max_pages)) return admin_usage(a.cmd, "--max-pages must be a positive integer");
  } else if (!strcmp(sub, "bundle")) {
    stray = o.canary ? "--canary" : o.since ? "--since" : o.max_pages ? "--max-pages" : o.segment ? "--segment" : o.reason ? "--reason" : NULL;
    if (!stray && o.npos > 1) stray = o.pos[1];
    if (!stray && o.npos == 1 && strcmp(o.pos[0], "active")) stray = o.pos[0];
    if (!stray && o.npos == 1 && o.version) return admin_usage(a.cmd, "give either --version V or active, not both");
    if (!stray && !o.out) return admin_usage(a.cmd, "rollout bundle needs --out FILE");
    if (!stray && o.version && !o.version[0]) return admin_usage(a.cmd, "--version needs a value");
  } else {
    stray = o.canary ? "--canary" : o.since ? "--since" : o.out ? "--out" : o.version ? "--version" : o.max_pages ? "--max-pages"
          : o.segment ? "--segment" : o.reason ? "--reason" : o.npos ? o.pos[0] : NULL;
  }
  if (stray) {
    char m[160];
    snprintf(m, sizeof m, "%.60s does not apply to '%s'", stray, a.cmd);
    return admin_usage(a.cmd, m);
  }
  if (!o.url) return admin_usage(a.cmd, "--url URL is required (the edge Worker's address)");

  const char *token = o.token;
  if (!token) token = getenv("EDGEREC_ADMIN_TOKEN");
  if (!token || !token[0])
    return admin_usage(a.cmd, o.token ? "--token is empty" : "no admin token: set EDGEREC_ADMIN_TOKEN (or pass --token)");
  for (const char *c = token; *c; c++)
    if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
      return admin_usage(a.cmd, "the admin token may hold only visible ASCII characters (no spaces or line breaks)");

  a.total_timeout = TOTAL_TIMEOUT_S;
  const char *tenv = getenv("EDGEREC_ADMIN_TIMEOUT");
  if (tenv && tenv[0] && parse_long(tenv, 1, 86400, &a.total_timeout))
    return admin_usage(a.cmd, "EDGEREC_ADMIN_TIMEOUT must be a whole number of seconds (1..86400)");
  const char *actor = getenv("EDGEREC_ADMIN_ACTOR"); /* the automation acting (the Worker checks the name too) */
  if (actor && actor[0]) {
    size_t n = strlen(actor);
    int ok = n <= 32 && actor[0] >= 'a' && actor[0] <= 'z';
    for (size_t i = 0; ok && i < n; i++) ok = (actor[i] >= 'a' && actor[i] <= 'z') || (actor[i] >= '0' && actor[i] <= '9') || actor[i] == '-';
    if (!ok) return admin_usage(a.cmd, "EDGEREC_ADMIN_ACTOR must be 1..32 of a-z 0-9 - starting with a letter (e.g. retrain)");
    snprintf(a.actor, sizeof a.actor, "X-Edgerec-Actor: %s", actor);
  }

  if (check_url(a.cmd, o.url, &a.base)) return EXIT_USAGE;
  size_t al = strlen(token) + 32;
  if (!(a.auth = malloc(al))) { free(a.base); return EXIT_INPUT; }
  snprintf(a.auth, al, "Authorization: Bearer %s", token);

  int rc;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(a.h = curl_easy_init())) {
    fprintf(stderr, "edgerec %s: cannot initialise libcurl\n", a.cmd);
    rc = EXIT_INPUT;
  } else if (publish) rc = cmd_publish(&a, o.pos[0], canary, o.segment);
  else if (pause || resume) rc = cmd_pause(&a, pause, o.reason);
  else if (units) rc = cmd_units(&a, sub, o.npos ? o.pos[0] : NULL);
  else if (!strcmp(sub, "start")) rc = cmd_start(&a, o.pos[0], canary, o.segment);
  else if (!strcmp(sub, "scope")) rc = cmd_scope(&a, o.pos[0]);
  else if (!strcmp(sub, "status")) rc = cmd_simple(&a, "GET", "/edge/admin/status", status_summary);
  else if (!strcmp(sub, "promote")) rc = cmd_simple(&a, "POST", "/edge/admin/promote", manifest_summary);
  else if (!strcmp(sub, "rollback")) rc = cmd_simple(&a, "POST", "/edge/admin/rollback", manifest_summary);
  else if (!strcmp(sub, "events")) rc = cmd_events(&a, o.since, o.out, max_pages);
  else rc = cmd_bundle(&a, o.version, o.out);
  if (fflush(stdout) && !rc) { fprintf(stderr, "edgerec %s: write to standard output failed\n", a.cmd); rc = EXIT_INPUT; }
  if (a.h) curl_easy_cleanup(a.h);
  curl_global_cleanup();
  volatile char *v = a.auth; /* wipe the token from the heap */
  for (size_t i = 0; i < al; i++) v[i] = 0;
  free(a.auth);
  free(a.base);
  return rc;
}
