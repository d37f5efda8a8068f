/* er_jscan.h — walk a JSON text that er_json_validate accepted, without
 * tokenizing it: the re-rank needs a few members of a large response
 * (data.products.items, each item's span, sku and price), not its thousands
 * of tokens.  A cursor moves forward only: each member or element is either
 * descended into (a cursor of its own, which ends after the container) or
 * skipped, so the document is read once.  Spans are what jsmn would give (a
 * string's excludes its quotes; a container's includes its brackets), so the
 * readers of er_json.h apply to one span (er_jscan_tok).  Nothing reads
 * outside [0, len) whatever the input; on input that was not validated the
 * spans are meaningless but nothing traps or loops. */
#ifndef ER_JSCAN_H
#define ER_JSCAN_H

#include <string.h>

#include "er_json.h"

typedef struct {
  jsmntype_t type; /* JSMN_OBJECT, JSMN_ARRAY, JSMN_STRING, JSMN_PRIMITIVE */
  uint32_t start;  /* the opening bracket / quote + 1 (strings) / first byte */
  uint32_t end;    /* as jsmn: past the closing bracket, at the closing quote */
} er_jspan;

/* The type and start of the value at or after byte i; its end is not
 * known yet (er_jscan_skip).  0 past the end of the text, or at a closing
 * bracket, ',' or ':' (not a value). */
int er_jscan_at(const char *s, uint32_t len, uint32_t i, er_jspan *v);
/* Complete v's end; returns the byte after the value (after a string's quote). */
uint32_t er_jscan_skip(const char *s, uint32_t len, er_jspan *v);
/* The next member of the object whose cursor is *i (the byte after '{' at
 * first, then after the previous value): its key (a string span) and value
 * (start only).  0 at the closing brace, with *i after it.  The caller sets *i
 * to the byte after the value before the next call. */
int er_jscan_member(const char *s, uint32_t len, uint32_t *i, er_jspan *key, er_jspan *v);
/* The same for an array's elements. */
int er_jscan_element(const char *s, uint32_t len, uint32_t *i, er_jspan *v);
/* Does string span k hold exactly the n bytes of `key` (raw, as er_json_get)? */
static inline int er_jscan_is(const char *s, const er_jspan *k, const char *key, uint32_t n) {
  return k->end - k->start == n && !memcmp(s + k->start, key, n);
}
/* A one-token er_json over a completed span (for er_json_str, er_json_fixed, …). */
void er_jscan_tok(const char *s, uint32_t len, const er_jspan *v, er_json *j, jsmntok_t *tok);

#endif
