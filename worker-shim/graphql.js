// graphql.js — what the Worker needs to know about a Magento GraphQL request
// and its response, without a GraphQL parser: the operation (GET query string
// or POST body, as PWA Studio / Apollo send them), whether the shopper chose a
// sort, and the shopper events a stock storefront's traffic implies.
//
//   parseOperation(method, url, bodyText) → {query, operationName, variables, mutation} | null
//   explicitSort(op)                      → null (default order) or the field the shopper sorts by
//   pageType(op)                          → 'category' | 'search' | null
//   productViewKey(op)                    → the url_key a product-detail query asks for, or null
//   cartSkus(op)                          → SKUs added by addProductsToCart / addSimpleProductsToCart /
//                                           addConfigurableProductsToCart, or null
//   isPlaceOrder(op)                      → true for placeOrder
// Every function is total: malformed input gives null/false, never a throw.

const DEFAULT_SORTS = new Set(['position', 'relevance']);

function parseJson(s) {
  if (typeof s !== 'string' || !s) return undefined;
  try { return JSON.parse(s); } catch { return undefined; }
}

/** The GraphQL operation of a request: GET carries query/operationName/variables
 * in the query string (Apollo's GET for queries), POST a JSON body. */
export function parseOperation(method, url, bodyText) {
  let query, operationName, variables;
  if (method === 'GET' || method === 'HEAD') {
    const p = url.searchParams;
    query = p.get('query');
    operationName = p.get('operationName');
    variables = p.has('variables') ? parseJson(p.get('variables')) : {};
  } else if (method === 'POST') {
    const body = parseJson(bodyText);
    if (!body || typeof body !== 'object' || Array.isArray(body)) return null; // batched or not JSON: leave it alone
    ({ query, operationName, variables } = body);
    if (variables === undefined || variables === null) variables = {};
  } else return null;
  if (typeof query !== 'string' || !query) return null;
  if (variables === undefined || typeof variables !== 'object' || Array.isArray(variables)) return null;
  const mutation = /^\s*(?:#[^\n]*\n\s*)*mutation\b/.test(query);
  return { query, operationName: typeof operationName === 'string' ? operationName : null, variables, mutation };
}

/** The sort field the shopper chose, or null when the listing is in the
 * store's default order (no sort, or position / relevance). */
export function explicitSort(op) {
  const fields = [];
  const s = op.variables?.sort;
  if (s && typeof s === 'object' && !Array.isArray(s)) fields.push(...Object.keys(s));
  // an inline sort argument: products(sort: {price: ASC}) — only literal fields, not $variables
  const m = /\bsort\s*:\s*\{([^}]*)\}/.exec(op.query);
  if (m) for (const f of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?:ASC|DESC)\b/g)) fields.push(f[1]);
  const chosen = fields.find((f) => !DEFAULT_SORTS.has(f));
  return chosen ?? null;
}

/** What kind of listing page asked: a search (products(search: …)) or a category. */
export function pageType(op) {
  if (/\bproducts\s*\(\s*[^)]*\bsearch\s*:/.test(op.query) || typeof op.variables?.inputText === 'string') return 'search';
  if (/category_uid|category_id|\bcategoryId\b/.test(op.query) || op.variables?.id !== undefined) return 'category';
  return null;
}

/** The url_key of a product-detail query (Venia's getProductDetailForProductPage:
 * products(filter: {url_key: {eq: $urlKey}})). */
export function productViewKey(op) {
  if (op.mutation || !/url_key\s*:\s*\{\s*eq\s*:/.test(op.query)) return null;
  const v = op.variables ?? {};
  for (const k of ['urlKey', 'url_key', 'urlkey']) if (typeof v[k] === 'string' && v[k]) return v[k];
  const lit = /url_key\s*:\s*\{\s*eq\s*:\s*"([^"\\]{1,255})"/.exec(op.query);
  return lit ? lit[1] : null;
}

const CART_MUTATION = /\b(addProductsToCart|addSimpleProductsToCart|addConfigurableProductsToCart|addVirtualProductsToCart|addBundleProductsToCart)\b/;

/** SKUs an add-to-cart mutation adds (from its variables, or literal skus in the document). */
export function cartSkus(op) {
  if (!op.mutation || !CART_MUTATION.test(op.query)) return null;
  const skus = [];
  const walk = (v, depth) => {
    if (depth > 8 || skus.length >= 64 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) { for (const x of v) walk(x, depth + 1); return; }
    // a configurable's child sku is what is bought; the parent_sku folds into it at the engine
    if (typeof v.sku === 'string' && v.sku) skus.push(v.sku);
    for (const [k, x] of Object.entries(v)) if (k !== 'sku') walk(x, depth + 1);
  };
  walk(op.variables, 0);
  if (!skus.length) for (const m of op.query.matchAll(/\bsku\s*:\s*"([^"\\]{1,128})"/g)) skus.push(m[1]);
  return skus.length ? [...new Set(skus)] : null;
}

/** placeOrder (Magento 2.4's checkout mutation). */
export function isPlaceOrder(op) {
  return op.mutation && /\bplaceOrder\b/.test(op.query);
}

/** The first product of a product-detail response: {sku, url_key} or null. */
export function firstProduct(json) {
  const it = json?.data?.products?.items?.[0];
  return it && typeof it.sku === 'string' ? { sku: it.sku, url_key: it.url_key ?? null } : null;
}

/** SKUs of data.products.items in response order (for impressions), at most n. */
export function listedSkus(json, n = 64) {
  const items = json?.data?.products?.items;
  if (!Array.isArray(items)) return [];
  const out = [];
  for (const it of items) {
    if (out.length >= n) break;
    if (it && typeof it.sku === 'string' && it.sku && it.sku.length <= 128) out.push(it.sku);
  }
  return out;
}
