/* er_event.c — the event contract (docs/events.md): one JSON object parsed
 * and validated into an er_event, and its contribution to a profile.  No
 * allocation (caller tokens), no recursion, no floating point. */
#include "er_event.h"

#include <string.h>

static const char *const type_names[] = {"",         "view",
                                         "cart",     "purchase",
                                         "click",    "impression",
                                         "feedback", "wishlist",
                                         "recs-unit-impression-render", "recs-unit-view",
                                         "recs-item-click", "recs-item-add-to-cart-click"};
_Static_assert(sizeof type_names / sizeof type_names[0] == ER_EV_COUNT, "type_names and er_event_type disagree");
#define N_TYPES (sizeof type_names / sizeof type_names[0])

/* Name of an event type ("view", ...); "unknown" outside the enum. */
const char *er_event_type_name(er_event_type t) {
  return (unsigned)t >= 1 && (unsigned)t < N_TYPES ? type_names[t] : "unknown";
}

/* Event type from its exact (unescaped) name, 0 if unknown. */
er_event_type er_event_type_from(const char *s, uint32_t n) {
  if (!s) return (er_event_type)0;
  for (unsigned t = 1; t < N_TYPES; t++)
    if (strlen(type_names[t]) == n && !memcmp(type_names[t], s, n)) return (er_event_type)t;
  return (er_event_type)0;
}

/* ---- parsing ---------------------------------------------------------------- */

/* The known fields, in the order they are validated. */
enum { F_TYPE, F_ITEM, F_ITEMS, F_TS, F_ID, F_SESSION, F_USER, F_CATEGORY, F_COUNTRY, F_DEVICE, F_UNIT, F_MODEL, F_ARM,
       F_PRICE, F_QTY, F_RATING, F_UNIT_TYPE, F_RANK, F_TRUST, F_FLAG, F_COUNT };
static const char *const field_names[F_COUNT] = {"type",     "item",    "items",  "ts",   "id",  "session",
                                                 "user",     "category", "country", "device", "unit", "model",
                                                 "arm",      "price",   "qty",    "rating", "unit_type", "rank",
                                                 "trust",    "flag"};

#define TS_MS_MAX 4294967295999ll          /* ts < 2^32 s, in ms            */
#define PRICE_CENTS_MAX 1000000000000ll    /* 1e12 cents                    */
#define QTY_MAX 1000000ll

static uint32_t tok_at(const er_json *j, uint32_t i) { return (uint32_t)j->tok[i].start; }

/* Known field of key token i (escapes resolved), or -1. */
static int field_of(const er_json *j, uint32_t i) {
  char buf[16];
  int32_t n = er_json_str(j, i, buf, sizeof buf);
  if (n < 0) return -1;
  for (int f = 0; f < F_COUNT; f++)
    if (strlen(field_names[f]) == (size_t)n && !memcmp(field_names[f], buf, (size_t)n)) return f;
  return -1;
}

/* True for a number token with a minus sign and a non-zero digit before any
 * exponent (so "-0" and "-0.0" are not negative, "-0.001" is). */
static int is_negative(const er_json *j, uint32_t i) {
  const char *s = j->js + j->tok[i].start, *e = j->js + j->tok[i].end;
  if (s >= e || *s != '-') return 0;
  for (s++; s < e && *s != 'e' && *s != 'E'; s++)
    if (*s >= '1' && *s <= '9') return 1;
  return 0;
}

/* A string field: type string, 1 (or 0) .. max bytes once unescaped.  The
 * raw bytes (escapes kept) go to *out. */
static er_status get_str(const er_json *j, uint32_t t, const char *label, uint32_t max, int nonempty, er_str *out,
                         er_error *err) {
  char buf[ER_EVENT_MAX_STR];
  if (!er_json_is(j, t, JSMN_STRING))
    return er_fail(err, ER_E_TYPE, tok_at(j, t), "event: field '%s' must be a string, got %s (byte %u)", label,
                   er_json_type_name(j, t), tok_at(j, t));
  int32_t n = er_json_str(j, t, buf, max < sizeof buf ? max : (uint32_t)sizeof buf);
  if (n < 0 || (nonempty && n == 0))
    return er_fail(err, ER_E_RANGE, tok_at(j, t), "event: field '%s' must be %u..%u bytes (byte %u)", label,
                   nonempty ? 1u : 0u, max, tok_at(j, t));
  out->p = j->js + j->tok[t].start;
  out->n = (uint32_t)(j->tok[t].end - j->tok[t].start);
  return ER_OK;
}

/* "items[k]" into buf (k < 100000). */
static const char *item_label(char *buf, uint32_t k) {
  char d[8];
  int n = 0;
  do { d[n++] = (char)('0' + k % 10); k /= 10; } while (k && n < 7);
  memcpy(buf, "items[", 6);
  int o = 6;
  while (n) buf[o++] = d[--n];
  buf[o++] = ']';
  buf[o] = 0;
  return buf;
}

/* The impression list: an array of 1..ER_EVENT_MAX_ITEMS sku strings. */
static er_status get_items(const er_json *j, uint32_t t, er_event *ev, er_error *err) {
  if (!er_json_is(j, t, JSMN_ARRAY))
    return er_fail(err, ER_E_TYPE, tok_at(j, t), "event: field 'items' must be an array of sku strings, got %s (byte %u)",
                   er_json_type_name(j, t), tok_at(j, t));
  uint32_t size = (uint32_t)j->tok[t].size;
  if (size == 0)
    return er_fail(err, ER_E_RANGE, tok_at(j, t), "event: field 'items' must have 1..%u entries, got 0 (byte %u)",
                   ER_EVENT_MAX_ITEMS, tok_at(j, t));
  if (size > ER_EVENT_MAX_ITEMS)
    return er_fail(err, ER_E_LIMIT, tok_at(j, t), "event: field 'items' has %u entries, more than the limit of %u (byte %u)",
                   size, ER_EVENT_MAX_ITEMS, tok_at(j, t));
  /* every entry before a failing one is a string, i.e. exactly one token */
  for (uint32_t k = 0; k < size; k++) {
    char label[16];
    er_status st = get_str(j, t + 1 + k, item_label(label, k), ER_MAX_SKU_BYTES, 1, &ev->items[k], err);
    if (st) return st;
  }
  ev->n_items = size;
  return ER_OK;
}

/* A number field as fixed point with `digits` decimals in 0..hi. */
static er_status get_fixed(const er_json *j, uint32_t t, const char *field, int digits, int64_t hi, const char *range,
                           int64_t *out, er_error *err) {
  if (!er_json_is_number(j, t))
    return er_fail(err, ER_E_TYPE, tok_at(j, t), "event: field '%s' must be a number, got %s (byte %u)", field,
                   er_json_type_name(j, t), tok_at(j, t));
  if (is_negative(j, t) || er_json_fixed(j, t, digits, 0, hi, out) != ER_OK)
    return er_fail(err, ER_E_RANGE, tok_at(j, t), "event: field '%s' must be a number in %s (byte %u)", field, range,
                   tok_at(j, t));
  return ER_OK;
}

/* An integer field in lo..hi. */
static er_status get_int(const er_json *j, uint32_t t, const char *field, int64_t lo, int64_t hi, int64_t *out,
                         er_error *err) {
  er_status st = er_json_int(j, t, lo, hi, out);
  if (st == ER_E_TYPE)
    return er_fail(err, ER_E_TYPE, tok_at(j, t), "event: field '%s' must be an integer, got %s (byte %u)", field,
                   er_json_type_name(j, t), tok_at(j, t));
  if (st)
    return er_fail(err, ER_E_RANGE, tok_at(j, t), "event: field '%s' must be an integer in %lld..%lld (byte %u)", field,
                   (long long)lo, (long long)hi, tok_at(j, t));
  return ER_OK;
}

/* Parse and validate one event (rules in docs/events.md).  On error *ev is
 * partially filled and err names the field and byte offset. */
er_status er_event_parse(er_event *ev, const char *js, uint32_t len, jsmntok_t *tok, uint32_t cap, uint32_t flags,
                         er_error *err) {
  if (!ev || !tok || (!js && len)) return er_fail(err, ER_E_USAGE, ER_NO_OFFSET, "event: NULL argument");
  memset(ev, 0, sizeof *ev);
  ev->price_cents = -1;
  if (len > ER_MAX_EVENT_BYTES)
    return er_fail(err, ER_E_LIMIT, ER_MAX_EVENT_BYTES, "event: %u bytes, more than the limit of %u", len, ER_MAX_EVENT_BYTES);
  er_json jj;
  const er_json *j = &jj;
  er_status st = er_json_parse(&jj, js ? js : "", len, tok, cap, "event", err);
  if (st) return st;
  if (!er_json_is(j, 0, JSMN_OBJECT))
    return er_fail(err, ER_E_TYPE, tok_at(j, 0), "event: must be a JSON object, got %s (byte %u)", er_json_type_name(j, 0),
                   tok_at(j, 0));
  int32_t dup = er_json_find_duplicate(j, 0);
  if (dup >= 0) {
    int kn = j->tok[dup].end - j->tok[dup].start;
    return er_fail(err, ER_E_JSON, tok_at(j, (uint32_t)dup), "event: duplicate key '%.*s%s' at byte %u", kn > 40 ? 40 : kn,
                   j->js + j->tok[dup].start, kn > 40 ? "..." : "", tok_at(j, (uint32_t)dup));
  }

  /* one pass over the keys: value token of each known field (also catches
   * duplicates beyond the first 64 keys and escaped spellings) */
  int32_t at[F_COUNT];
  for (int f = 0; f < F_COUNT; f++) at[f] = -1;
  uint32_t i = 1;
  for (int k = 0; k < j->tok[0].size; k++) {
    int f = field_of(j, i);
    if (f >= 0) {
      if (at[f] >= 0)
        return er_fail(err, ER_E_JSON, tok_at(j, i), "event: duplicate key '%s' at byte %u", field_names[f], tok_at(j, i));
      at[f] = (int32_t)(i + 1);
    }
    i = er_json_skip(j, i + 1);
  }
  uint32_t obj = tok_at(j, 0);

  /* type first: it decides what else is required */
  if (at[F_TYPE] < 0) return er_fail(err, ER_E_SHAPE, obj, "event: field 'type' is required (byte %u)", obj);
  {
    uint32_t t = (uint32_t)at[F_TYPE];
    char buf[32];
    int32_t n;
    if (!er_json_is(j, t, JSMN_STRING))
      return er_fail(err, ER_E_TYPE, tok_at(j, t), "event: field 'type' must be a string, got %s (byte %u)",
                     er_json_type_name(j, t), tok_at(j, t));
    n = er_json_str(j, t, buf, sizeof buf);
    ev->type = n > 0 ? er_event_type_from(buf, (uint32_t)n) : (er_event_type)0;
    if (!ev->type)
      return er_fail(err, ER_E_RANGE, tok_at(j, t),
                     "event: field 'type' must be one of view, cart, purchase, click, impression, feedback, wishlist, "
                     "recs-unit-impression-render, recs-unit-view, recs-item-click, recs-item-add-to-cart-click (byte %u)",
                     tok_at(j, t));
  }
  int required[F_COUNT] = {0};
  int is_unit = er_event_is_unit(ev->type); /* unit, unit_type and rank required */
  required[er_event_is_list(ev->type) ? F_ITEMS : F_ITEM] = 1;
  required[F_RATING] = ev->type == ER_EV_FEEDBACK;
  required[F_UNIT] = required[F_UNIT_TYPE] = required[F_RANK] = is_unit;
  if (flags & ER_EVENT_REQUIRE_ALL) required[F_ID] = required[F_TS] = required[F_SESSION] = 1;

  er_str *strs[F_COUNT] = {0};
  strs[F_ID] = &ev->id;
  strs[F_SESSION] = &ev->session;
  strs[F_USER] = &ev->user;
  strs[F_CATEGORY] = &ev->category;
  strs[F_COUNTRY] = &ev->country;
  strs[F_DEVICE] = &ev->device;
  strs[F_UNIT] = &ev->unit;
  strs[F_MODEL] = &ev->model;
  strs[F_ARM] = &ev->arm;
  strs[F_TRUST] = &ev->trust;
  strs[F_FLAG] = &ev->flag;

  for (int f = F_ITEM; f < F_COUNT; f++) {
    int32_t t0 = at[f];
    /* unit_type and rank belong to the recs-* types: ignored (as unknown) on the others */
    if ((f == F_UNIT_TYPE || f == F_RANK) && !is_unit) continue;
    /* null means absent for an optional field; a required null is a type error */
    if (t0 < 0 || (er_json_is_null(j, (uint32_t)t0) && !required[f])) {
      if (!required[f]) continue;
      if (f != F_ID && f != F_TS && f != F_SESSION)
        return er_fail(err, ER_E_SHAPE, obj, "event: field '%s' is required for type '%s' (byte %u)", field_names[f],
                       er_event_type_name(ev->type), obj);
      return er_fail(err, ER_E_SHAPE, obj, "event: field '%s' is required (byte %u)", field_names[f], obj);
    }
    uint32_t t = (uint32_t)t0;
    int64_t v = 0;
    switch (f) {
    case F_ITEM: st = get_str(j, t, "item", ER_MAX_SKU_BYTES, 1, &ev->item, err); break;
    case F_ITEMS: st = get_items(j, t, ev, err); break;
    case F_TS:
      st = get_fixed(j, t, "ts", 3, TS_MS_MAX, "0..4294967295.999 (unix seconds)", &v, err);
      ev->ts_ms = (uint64_t)v;
      ev->has_ts = st == ER_OK;
      break;
    case F_PRICE:
      st = get_fixed(j, t, "price", 2, PRICE_CENTS_MAX, "0..10000000000", &v, err);
      if (!st) ev->price_cents = v;
      break;
    case F_QTY:
      st = get_int(j, t, "qty", -QTY_MAX, QTY_MAX, &v, err);
      ev->qty = v;
      break;
    case F_RATING:
      st = get_int(j, t, "rating", 1, 5, &v, err);
      ev->rating = (int)v;
      break;
    case F_RANK:
      st = get_int(j, t, "rank", 1, ER_EVENT_MAX_RANK, &v, err);
      ev->rank = (int)v;
      break;
    case F_UNIT_TYPE: st = get_str(j, t, "unit_type", ER_EVENT_MAX_UNIT_TYPE, 1, &ev->unit_type, err); break;
    case F_TRUST:
    case F_FLAG: st = get_str(j, t, field_names[f], ER_EVENT_MAX_EDGE, 0, strs[f], err); break;
    case F_UNIT:
      st = is_unit ? get_str(j, t, "unit", ER_EVENT_MAX_UNIT, 1, &ev->unit, err)
                   : get_str(j, t, "unit", ER_EVENT_MAX_STR, 0, &ev->unit, err);
      break;
    default: st = get_str(j, t, field_names[f], ER_EVENT_MAX_STR, 0, strs[f], err); break;
    }
    if (st) return st;
  }
  return ER_OK;
}

/* ---- the profile delta -------------------------------------------------------- */

static int32_t hex4(const char *s, uint32_t n, uint32_t at) {
  if (at > n || n - at < 4) return -1;
  int32_t v = 0;
  for (uint32_t k = at; k < at + 4; k++) {
    char c = s[k];
    int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Resolve the JSON escapes of raw string bytes s[0..n) into out[cap] (UTF-8);
 * returns the length, or -1 on a malformed escape or when it does not fit. */
static int32_t unescape(const char *s, uint32_t n, char *out, uint32_t cap) {
  uint32_t o = 0;
  for (uint32_t k = 0; k < n;) {
    char tmp[4];
    uint32_t w = 1;
    if (s[k] != '\\') tmp[0] = s[k++];
    else {
      if (n - k < 2) return -1;
      char e = s[k + 1];
      if (e == 'u') {
        int32_t cp = hex4(s, n, k + 2);
        if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return -1;
        k += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (n - k < 6 || s[k] != '\\' || s[k + 1] != 'u') return -1;
          int32_t lo = hex4(s, n, k + 2);
          if (lo < 0xDC00 || lo > 0xDFFF) return -1;
          k += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) tmp[0] = (char)cp;
        else if (cp < 0x800) {
          tmp[0] = (char)(0xC0 | (cp >> 6)); tmp[1] = (char)(0x80 | (cp & 0x3F)); w = 2;
        } else if (cp < 0x10000) {
          tmp[0] = (char)(0xE0 | (cp >> 12)); tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
          tmp[2] = (char)(0x80 | (cp & 0x3F)); w = 3;
        } else {
          tmp[0] = (char)(0xF0 | (cp >> 18)); tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
          tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); tmp[3] = (char)(0x80 | (cp & 0x3F)); w = 4;
        }
      } else {
        switch (e) {
        case '"': case '\\': case '/': tmp[0] = e; break;
        case 'b': tmp[0] = '\b'; break;
        case 'f': tmp[0] = '\f'; break;
        case 'n': tmp[0] = '\n'; break;
        case 'r': tmp[0] = '\r'; break;
        case 't': tmp[0] = '\t'; break;
        default: return -1;
        }
        k += 2;
      }
    }
    if (w > cap - o) return -1;
    memcpy(out + o, tmp, w);
    o += w;
  }
  return (int32_t)o;
}

/* er_key of the unescaped string (unescaped on the stack only when it holds
 * a backslash). */
static er_status str_key(er_str s, uint64_t *key) {
  if (!s.p) return ER_E_USAGE;
  if (!memchr(s.p, '\\', s.n)) { *key = er_key(s.p, s.n); return ER_OK; }
  char buf[ER_EVENT_MAX_STR];
  int32_t n = unescape(s.p, s.n, buf, sizeof buf);
  if (n < 0) return ER_E_RANGE;
  *key = er_key(buf, (size_t)n);
  return ER_OK;
}

/* Fill d from a parsed event (see er_event.h). */
er_status er_event_delta(const er_event *ev, er_profile_delta *d) {
  if (!d) return ER_E_USAGE;
  memset(d, 0, sizeof *d);
  if (!ev || (unsigned)ev->type < 1 || (unsigned)ev->type >= N_TYPES) return ER_E_USAGE;
  d->type = ev->type;
  if (ev->has_ts) {
    uint64_t s = ev->ts_ms / 1000;
    if (s > UINT32_MAX) return ER_E_RANGE;
    d->ts = (uint32_t)s;
  }
  er_status st;
  if (!er_event_is_list(ev->type) && ev->item.n && (st = str_key(ev->item, &d->sku_key))) return st;
  if (ev->price_cents > 0) d->price_cents = ev->price_cents > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ev->price_cents;
  d->rating = ev->rating;
  if (ev->category.n) {
    uint64_t k;
    if ((st = str_key(ev->category, &k))) return st;
    d->cat_keys[d->n_cats++] = (uint32_t)k; /* == er_cat_key of the unescaped name */
  }
  return ER_OK;
}
