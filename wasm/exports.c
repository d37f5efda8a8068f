/* exports.c — the WebAssembly reactor ABI (wasm/README.md).  Thin glue over
 * edgerec.h: pointers and lengths in linear memory in, status codes out.
 * Results go to one output area (er_out_ptr / er_out_len); errors to
 * er_error_ptr / er_error_len.  Negative return values are -er_status. */
#include <stdlib.h>
#include <string.h>

#include "edgerec.h"
#include "er_event.h"

#define EXPORT(name) __attribute__((export_name(name)))

static er_error g_err;
static const char *g_out;
static uint32_t g_out_len;
static const char *g_reason = "";

static int32_t fail_from(er_engine *e, er_status st) {
  if (e) { /* the engine's error becomes the module's last error */
    g_err = *er_engine_error(e);
    g_reason = er_engine_reason(e);
  }
  g_out = NULL;
  g_out_len = 0;
  return -(int32_t)st;
}

static int32_t ok_out(const void *p, uint32_t n) {
  g_out = (const char *)p;
  g_out_len = n;
  g_reason = "";
  return (int32_t)n;
}

/* ABI version; bumped on any incompatible change. */
EXPORT("er_abi_version") int32_t er_abi_version(void) { return 1; }
/* Allocate n bytes of linear memory (0 on failure). */
EXPORT("er_alloc") void *er_alloc(uint32_t n) { return malloc(n ? n : 1); }
/* Free memory from er_alloc. */
EXPORT("er_free") void er_free(void *p) { free(p); }

/* Create an engine over a bundle at [p, p+n); the bytes must stay allocated
 * until er_engine_destroy.  Returns a handle, or 0 (see er_error_ptr). */
EXPORT("er_engine_create") er_engine *er_engine_create(const uint8_t *p, uint32_t n) {
  er_error_clear(&g_err);
  er_engine *e = er_engine_new(p, n, &g_err);
  return e;
}
/* Destroy an engine (not its bundle bytes). */
EXPORT("er_engine_destroy") void er_engine_destroy(er_engine *e) { er_engine_free(e); }

/* Recommend; returns output length or -status. */
EXPORT("er_recommend") int32_t wasm_recommend(er_engine *e, const char *ctx, uint32_t cn, const uint8_t *prof, uint32_t pn) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_recommend(e, ctx, cn, prof, pn, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Candidate features (binary, see edgerec.h); returns length or -status. */
EXPORT("er_features") int32_t wasm_features(er_engine *e, const char *ctx, uint32_t cn, const uint8_t *prof, uint32_t pn) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const uint8_t *out;
  uint32_t on;
  er_status st = er_features_for(e, ctx, cn, prof, pn, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Score features (er_features' layout) with the model alone; returns the
 * number of int32 margins at er_out_ptr, or -status. */
EXPORT("er_score_features") int32_t wasm_score_features(er_engine *e, const uint8_t *f, uint32_t len) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const int32_t *out;
  uint32_t n;
  er_status st = er_score_features(e, f, len, &out, &n);
  if (st) return fail_from(e, st);
  ok_out(out, n * 4);
  return (int32_t)n;
}

/* Re-rank; returns output length (== input length) or -status with
 * er_reason_ptr giving the bypass reason. */
EXPORT("er_rerank") int32_t wasm_rerank(er_engine *e, const char *resp, uint32_t rn, const char *ctx, uint32_t cn,
                                        const uint8_t *prof, uint32_t pn) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_rerank(e, resp, rn, ctx, cn, prof, pn, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Apply an event to a binary profile; returns new profile length or -status. */
EXPORT("er_profile_update") int32_t wasm_profile_update(er_engine *e, const uint8_t *prof, uint32_t pn, const char *ev, uint32_t en) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const uint8_t *out;
  uint32_t on;
  er_status st = er_profile_update(e, prof, pn, ev, en, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* A binary profile as JSON; returns length or -status. */
EXPORT("er_profile_json") int32_t wasm_profile_json(er_engine *e, const uint8_t *prof, uint32_t pn) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_profile_show(e, prof, pn, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Validate one event (the event contract); 0 or -status. */
EXPORT("er_event_check") int32_t wasm_event_check(const char *ev, uint32_t en, uint32_t require_all) {
  static jsmntok_t tok[ER_MAX_EVENT_TOKENS];
  static er_event parsed;
  er_error_clear(&g_err);
  if (en > ER_MAX_EVENT_BYTES) {
    er_fail(&g_err, ER_E_LIMIT, ER_MAX_EVENT_BYTES, "event: %u bytes, more than the limit of %u", en, ER_MAX_EVENT_BYTES);
    return -(int32_t)ER_E_LIMIT;
  }
  er_status st = er_event_parse(&parsed, ev, en, tok, ER_MAX_EVENT_TOKENS, require_all ? ER_EVENT_REQUIRE_ALL : 0, &g_err);
  return st ? -(int32_t)st : 0;
}

/* Bundle summary JSON; returns length or -status. */
EXPORT("er_info") int32_t wasm_info(er_engine *e) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_bundle_info(e, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* The skus of catalog items [offset, offset + count) as a JSON array (a page
 * stops early rather than pass 64 KiB: advance by the array's length; [] past
 * the end); returns length or -status. */
EXPORT("er_skus") int32_t wasm_skus(er_engine *e, uint32_t offset, uint32_t count) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_bundle_skus(e, offset, count, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Replace the live popularity lists with the JSON at [p, p+n) (n 0: clear;
 * edgerec.h er_engine_set_lists); returns the length of the summary JSON
 * ({"most-viewed":entries,…} or null), or -status with the previous lists
 * still in force. */
EXPORT("er_engine_set_lists") int32_t wasm_set_lists(er_engine *e, const char *p, uint32_t n) {
  if (!e) return -(int32_t)ER_E_USAGE;
  const char *out;
  uint32_t on;
  er_status st = er_engine_set_lists(e, p, n);
  if (!st) st = er_engine_lists_info(e, &out, &on);
  return st ? fail_from(e, st) : ok_out(out, on);
}

/* Work units of the engine's last request (saturated to 2^31-1). */
EXPORT("er_units") int32_t wasm_units(er_engine *e) {
  uint64_t u = e ? er_engine_units(e) : 0;
  return u > 0x7FFFFFFF ? 0x7FFFFFFF : (int32_t)u;
}
/* Override the work budget (0 restores the bundle's). */
EXPORT("er_set_budget") void wasm_set_budget(er_engine *e, uint32_t units) { if (e) er_engine_set_budget(e, units); }

EXPORT("er_out_ptr") const char *er_out_ptr(void) { return g_out; }
EXPORT("er_out_len") uint32_t er_out_len(void) { return g_out_len; }
EXPORT("er_error_ptr") const char *er_error_ptr(void) { return g_err.msg; }
EXPORT("er_error_len") uint32_t er_error_len(void) { return (uint32_t)strlen(g_err.msg); }
EXPORT("er_error_code") int32_t er_error_code(void) { return (int32_t)g_err.code; }
EXPORT("er_error_offset") uint32_t er_error_offset(void) { return g_err.offset; }
EXPORT("er_reason_ptr") const char *er_reason_ptr(void) { return g_reason; }
EXPORT("er_reason_len") uint32_t er_reason_len(void) { return (uint32_t)strlen(g_reason); }

/* Deliberately trap (unreachable); tests use it to prove trap recovery. */
EXPORT("er_debug_trap") void er_debug_trap(void) { __builtin_trap(); }
