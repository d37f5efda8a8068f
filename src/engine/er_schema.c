/* er_schema.c — the feature schema's names and its hash (er_schema.h). */
#include "er_schema.h"

#include <string.h>

const char *const er_dense_names[ER_DENSE_COUNT] = {
    "pop_view", "pop_cart", "pop_purchase", "trending", "cooc_last", "cooc_recent", "content_last", "recency",
    "carted", "cat_affinity", "price_ratio", "price", "page_category", "hour", "mobile", "viewed",
    "seen_count", "seen_age", "wished", "repeat", "purchased"};

const char *const er_ns_names[ER_NS_COUNT] = {
    "?", "bias", "item", "cat", "affx", "aff_band", "pricex", "recency", "cooc", "cooc_recent", "content",
    "pop_view", "pop_purchase", "trending", "device_cat", "hour_cat", "page", "last_x", "carted", "country_cat", "revisit", "wished", "repeat"};
const char *const er_ns_args[ER_NS_COUNT] = {
    "--", "--", "i-", "c-", "cc", "n-", "nn", "n-", "n-", "n-", "n-",
    "n-", "n-", "n-", "dc", "nc", "pn", "ii", "n-", "kc", "nn", "n-", "nn"};

const char *er_features_schema(void) {
  return "edgerec-features/2;dense=pop_view,pop_cart,pop_purchase,trending,cooc_last,cooc_recent,"
         "content_last,recency,carted,cat_affinity,price_ratio,price,page_category,hour,mobile,viewed,seen_count,seen_age,wished,repeat,purchased;"
         "ns=bias,item,cat,affx,aff_band,pricex,recency,cooc,cooc_recent,content,pop_view,pop_purchase,"
         "trending,device_cat,hour_cat,page,last_x,carted,country_cat,revisit,wished,repeat;hash=xxh3+mix64;values=q8;missing=nan";
}

uint64_t er_features_schema_hash(void) {
  static uint64_t h;
  if (!h) {
    const char *s = er_features_schema();
    h = er_xxh64(s, strlen(s), 0);
  }
  return h;
}
