/* er_catalog_import.h — `edgerec import luma-catalog DIR [--out FILE]`:
 * converts the Magento Luma sample-data CSVs in DIR into the catalog JSON
 * that `edgerec pack --catalog` reads (docs/bundle.md "catalog.json").
 *
 * Mapping (see the comment at the top of er_catalog_import.c for details):
 *  - configurable_products.csv: every row (store_view_code empty) is an item.
 *    Configurable parents are visible; their simple children (from
 *    configurable_variations) get "parent": the parent's sku and
 *    "visible": false, and the parent gets the union of the children's
 *    variation attributes (size, color).
 *  - gear_*.csv: one item per row, columns other than category, name, sku,
 *    price, qty, description, special_price, attribute_set, visibility and
 *    url_key become attributes (newline-separated multi-values).
 *  - products_reviews.csv: review count per sku -> popularity.view.
 *  - links_*_related.csv -> neighbours.viewed_viewed,
 *    links_*_crosssell.csv -> neighbours.viewed_bought,
 *    links_*_upsell.csv -> neighbours.viewed_viewed at half weight;
 *    "content" is left out so the packer computes more-like-this.
 *
 * argv[0] "import", argv[1] "luma-catalog", argv[2] DIR, optional
 * "--out FILE" (default stdout).  Returns 0 ok, 2 usage, 3 bad input
 * (messages on stderr name the file and line) or an output error. */
#ifndef ER_CATALOG_IMPORT_H
#define ER_CATALOG_IMPORT_H

int er_catalog_import_main(int argc, char **argv);

#endif
