/* fuzz_bundle.c — libFuzzer target: er_bundle_load on arbitrary bytes.
 * Mode 1: the input as is (mostly exercises magic/version/size/checksum).
 * Mode 2: inputs of >= 64 bytes that start with the magic get their format
 * version (bytes 16..17) set to this engine's, their total size field
 * (bytes 20..23) set to the input length, the engine's schema hash (bytes
 * 24..31) and their checksum (bytes 8..15, XXH64 seed 0 of [16, total))
 * recomputed, so mutations reach the section validators (format 2's compact
 * items, sku and url indexes and neighbour lists included; the accessors of
 * each are read for every item below).  A bundle that loads must then serve every API
 * call (recommend for every unit, with and without the unit rules — cart,
 * purchased, filter, backfill —, features, rerank, profile update/show, info,
 * the sku pages) without crashing: the loader's validation is all the engine relies on. */
#include "fuzz_common.h"
#include "er_bundle.h"
#include "er_features.h"
#include "er_profile.h"

static const char *UNITS[] = {"recommended-for-you", "most-viewed", "most-purchased", "most-added-to-cart", "trending",
                              "viewed-this-viewed-that", "viewed-this-bought-that", "bought-this-bought-that",
                              "more-like-this", "recently-viewed"};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  fuzz_set_self((*argv)[0]);
  return 0;
}

/* A JSON-safe copy of item i's sku ("" when it is not plain printable ASCII). */
static void sku_of(const er_bundle *b, uint32_t i, char *out, size_t cap) {
  out[0] = 0;
  if (i >= b->n_items) return;
  uint32_t n;
  const char *s = er_item_sku(b, i, &n);
  if (n + 1 > cap) return;
  for (uint32_t k = 0; k < n; k++)
    if ((uint8_t)s[k] < 0x20 || (uint8_t)s[k] > 0x7e || s[k] == '"' || s[k] == '\\') return;
  memcpy(out, s, n);
  out[n] = 0;
}

/* The format-2 accessors over the whole bundle: every item's neighbour
 * entries in range, every sku key found at its item, url keys found. */
static void accessors(const er_bundle *b) {
  uint32_t n = b->n_items < 4096 ? b->n_items : 4096;
  for (uint32_t i = 0; i < n; i++) {
    for (int r = 0; r < ER_NBR_KINDS; r++) {
      uint32_t m, w = 0;
      const uint8_t *e = er_bundle_neighbours(b, r, i, &m);
      for (uint32_t k = 0; k < m; k++) {
        CHECK(er_nbr_item(b, e, k) < b->n_items);
        w += er_nbr_weight(b, e, k);
      }
      CHECK(w <= 65535u * m);
    }
    CHECK(er_bundle_find_sku(b, er_item_key(b, i)) == i); /* the loader made sku_index a permutation by key */
    uint32_t ul, got;
    const char *u = er_item_url_key(b, i, &ul);
    if (ul && (got = er_bundle_find_url(b, er_key(u, ul))) != ER_NONE) {
      uint32_t gl;
      const char *g = er_item_url_key(b, got, &gl);
      CHECK(er_key(g, gl) == er_key(u, ul));
    }
  }
}

static void exercise(const uint8_t *buf, uint32_t len, const er_bundle *b) {
  er_error err;
  accessors(b);
  er_engine *e = er_engine_new(buf, len, &err);
  CHECK(e != NULL); /* er_bundle_load accepted it: so must the engine */
  char s0[ER_MAX_SKU_BYTES + 1], s1[ER_MAX_SKU_BYTES + 1];
  sku_of(b, 0, s0, sizeof s0);
  sku_of(b, b->n_items ? b->n_items - 1 : 0, s1, sizeof s1);
  const char *out;
  uint32_t olen;
  const uint8_t *bout;
  char ctx[1024];
  er_recommend(e, "{}", 2, NULL, 0, &out, &olen);
  for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++) {
    int n = snprintf(ctx, sizeof ctx,
                     "{\"unit\":\"%s\",\"k\":200,\"recent\":[\"%s\",\"%s\"],\"page\":{\"type\":\"product\",\"sku\":\"%s\","
                     "\"category\":\"Gear\"},\"device\":\"mobile\",\"hour\":3,\"country\":\"DE\",\"now\":1700000000}",
                     UNITS[u], s0[0] ? s0 : "x", s1[0] ? s1 : "y", s1[0] ? s1 : "z");
    er_recommend(e, ctx, (uint32_t)n, NULL, 0, &out, &olen);
  }
  /* the unit rules: cart and purchases as anchors, filters matched against the bundle's category table, back-fill */
  static const char *LISTS[] = {"most-viewed", "most-purchased", "most-added-to-cart", "trending"};
  for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++) {
    char cat[ER_MAX_SKU_BYTES + 1] = "Gear";
    uint32_t nc, cl;
    const uint8_t *cats = b->n_items ? er_item_cats(b, 0, &nc) : NULL;
    const char *name = cats && nc ? er_bundle_category_name(b, er_rd32(cats), &cl) : NULL;
    if (name && cl && cl < sizeof cat && !memchr(name, '"', cl) && !memchr(name, '\\', cl)) {
      uint32_t k = 0;
      while (k < cl && (uint8_t)name[k] >= 0x20 && (uint8_t)name[k] < 0x7f) k++;
      if (k == cl) { memcpy(cat, name, cl); cat[cl] = 0; }
    }
    int n = snprintf(ctx, sizeof ctx,
                     "{\"unit\":\"%s\",\"k\":200,\"cart\":[\"%s\",\"%s\"],\"purchased\":[\"%s\"],\"backfill\":\"%s\","
                     "\"filter\":{\"categories\":[\"%s\",\"Men\"],\"exclude_categories\":[\"Men/Tops\"],\"price_min\":%s,\"in_stock_only\":%s}}",
                     UNITS[u], s0[0] ? s0 : "x", s1[0] ? s1 : "y", s1[0] ? s1 : "y", LISTS[u % 4], cat, u & 1 ? "0.01" : "0",
                     u & 2 ? "false" : "true");
    er_recommend(e, ctx, (uint32_t)n, NULL, 0, &out, &olen);
  }
  /* every sku, page by page */
  for (uint32_t off = 0, pages = 0; pages <= b->n_items; pages++) {
    if (er_bundle_skus(e, off, 1000, &out, &olen) != ER_OK) break;
    CHECK(olen >= 2 && out[0] == '[' && out[olen - 1] == ']' && olen <= ER_SKUS_PAGE_BYTES + 6 * ER_MAX_SKU_BYTES + 3);
    if (olen == 2) break;
    uint32_t got = off + 1000 < b->n_items ? 1000 : b->n_items - off, x = 0;
    CHECK(got > 0);
    /* a page holds at least one sku and never past the end */
    for (uint32_t i = 1, q = 0; i < olen; i++) { /* count top-level strings */
      if (out[i] == '\\' && q) { i++; continue; }
      if (out[i] == '"') { q = !q; x += q; }
    }
    CHECK(x >= 1 && x <= got);
    off += x;
  }
  int n = snprintf(ctx, sizeof ctx, "{\"candidates\":[\"%s\",\"%s\",\"unknown-sku\"],\"exclude\":[\"%s\"],\"k\":3}", s0[0] ? s0 : "x", s1[0] ? s1 : "y", s1[0] ? s1 : "y");
  er_recommend(e, ctx, (uint32_t)n, NULL, 0, &out, &olen);
  er_features_for(e, ctx, (uint32_t)n, NULL, 0, &bout, &olen);
  er_features_for(e, "{}", 2, NULL, 0, &bout, &olen);
  er_engine_set_budget(e, 1); /* the work-budget fallback paths */
  er_recommend(e, "{}", 2, NULL, 0, &out, &olen);
  er_engine_set_budget(e, 0);
  char resp[1024];
  int rn = snprintf(resp, sizeof resp,
                    "{\"data\":{\"products\":{\"items\":[{\"sku\":\"%s\",\"price_range\":{\"minimum_price\":{\"final_price\":{\"value\":12.5}}}},"
                    "{\"sku\":\"%s\"},{\"uid\":\"q\"}]}}}",
                    s0[0] ? s0 : "x", s1[0] ? s1 : "y");
  if (er_rerank(e, resp, (uint32_t)rn, "{\"recent\":[\"x\"]}", 16, NULL, 0, &out, &olen) == ER_OK) CHECK(olen == (uint32_t)rn);
  else CHECK(fuzz_known_reason(er_engine_reason(e)));
  char ev[512];
  int en = snprintf(ev, sizeof ev, "{\"type\":\"purchase\",\"item\":\"%s\",\"ts\":1700000000,\"price\":10}", s0[0] ? s0 : "x");
  if (er_profile_update(e, NULL, 0, ev, (uint32_t)en, &bout, &olen) == ER_OK) {
    uint8_t prof[ER_PROFILE_MAX_BYTES];
    uint32_t pl = olen < sizeof prof ? olen : (uint32_t)sizeof prof;
    memcpy(prof, bout, pl);
    er_profile_show(e, prof, pl, &out, &olen);
    er_recommend(e, "{}", 2, prof, pl, &out, &olen);
    er_recommend(e, "{\"unit\":\"recently-viewed\"}", 26, prof, pl, &out, &olen);
  }
  er_bundle_info(e, &out, &olen);
  er_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0xFFFFFFFFu) return 0;
  er_bundle b;
  er_error err;
  er_error_clear(&err);
  er_status st = er_bundle_load(&b, data, (uint32_t)size, &err);
  if (st != ER_OK) CHECK(err.code == st && err.msg[0]);
  else exercise(data, (uint32_t)size, &b);
  if (size < ER_BUNDLE_HEADER || memcmp(data, ER_BUNDLE_MAGIC, 8)) return 0;
  uint8_t *buf = malloc(size);
  if (!buf) return 0;
  memcpy(buf, data, size);
  er_wr16(buf + 16, ER_BUNDLE_VERSION); /* seeds of an older format reach the validators too */
  er_wr32(buf + 20, (uint32_t)size);
  er_wr64(buf + 24, er_features_schema_hash()); /* seeds stay useful across schema changes */
  er_wr64(buf + 8, er_xxh64(buf + 16, size - 16, 0));
  er_error_clear(&err);
  st = er_bundle_load(&b, buf, (uint32_t)size, &err);
  if (st != ER_OK) CHECK(err.code == st && err.msg[0]);
  else if (memcmp(buf, data, size)) exercise(buf, (uint32_t)size, &b); /* else done above */
  free(buf);
  return 0;
}
