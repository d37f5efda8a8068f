// format.js — a recommended product's link.  URL safety is the storefront script's (recs.js safeUrl).

/** The product page: the product's `url` when the edge gives one, else Venia's `/<urlKey><suffix>`; only
 * what safeUrl admits (http(s) or relative: e.g. `javascript:` gives null and the item is shown unlinked). */
export function productHref(product, safeUrl, urlSuffix = '.html') {
  if (typeof product?.url === 'string' && product.url) return safeUrl(product.url);
  if (typeof product?.urlKey === 'string' && product.urlKey) return safeUrl(`/${encodeURIComponent(product.urlKey)}${urlSuffix}`);
  return null;
}
