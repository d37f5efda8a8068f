// graphql.js — what edgerec needs to know about a Magento GraphQL request and its response,
// read with the reference implementation (graphql-js): the operation (GET query string or POST
// body, as PWA Studio / Apollo and apps send them), whether the shopper chose a sort, and the
// shopper events a storefront's traffic implies.  Shared by the Worker and Lambda@Edge.
//
//   readOperation(method, url, bodyText) → {op, reason}: op is null when the request is not ours
//                                          (reason says why: no-operation, document-too-large,
//                                          too-many-tokens, too-deep, syntax, unknown-operation, …)
//   explicitSort(op)                      → null (default order) or the field the shopper sorts by
//   isListing(op)                         → true when data.products is Magento's products field
//   pageType(op)                          → 'category' | 'search' | null
//   productViewKey(op)                    → the url_key a product-detail query asks for, or null
//   cartSkus(op)                          → SKUs added by the add-to-cart mutations, or null
//   wishlistSkus(op)                      → SKUs added by addProductsToWishlist, or null
//   isPlaceOrder(op)                      → true for placeOrder
//
// How a document is read: parsed once per distinct text (an isolate-wide LRU of parsed documents,
// so Venia's repeated documents cost a map lookup), bounded before parsing — at most LIMITS.chars
// characters, LIMITS.tokens lexical tokens and LIMITS.depth nested brackets (a pre-scan with
// graphql-js's own lexer: the recursive parser never sees a document that could exhaust the stack)
// — then the operation is chosen as the GraphQL spec says (by operationName; the only one when
// none is named).  Questions are answered from the AST: root fields are collected through fragment
// spreads and inline fragments with @skip / @include applied, and argument values are resolved
// through any variable (whatever its name) and the variables' default values.
// Every function is total: malformed input gives null / false, never a throw.
import { Kind, Lexer, Source, TokenKind, parse, valueFromASTUntyped } from 'graphql';

/** Bounds on a document before edgerec reads it; over any of them the request goes to the
 * origin untouched (Magento applies its own limits). */
export const LIMITS = Object.freeze({
  chars: 100_000, // characters of the query text
  tokens: 10_000, // lexical tokens (graphql-js's maxTokens)
  depth: 48, // nesting of { ( [ — selection sets, arguments, input objects and lists
  variablesChars: 100_000, // characters of a GET request's variables JSON
});

const DEFAULT_SORTS = new Set(['position', 'relevance']);
const CART_MUTATIONS = new Set(['addProductsToCart', 'addSimpleProductsToCart', 'addConfigurableProductsToCart',
  'addVirtualProductsToCart', 'addBundleProductsToCart', 'addDownloadableProductsToCart']);
const CACHE_MAX = 128; // parsed documents kept per isolate
const CACHE_MAX_CHARS = 32_000; // larger documents are parsed each time, not kept
const cache = new Map(); // query text → {document} | {reason}

function parseJson(s) {
  if (typeof s !== 'string' || !s) return undefined;
  try { return JSON.parse(s); } catch { return undefined; }
}

/** Count tokens and bracket depth with graphql-js's lexer (strings, block strings and comments
 * are single tokens, so a brace inside them does not count).  A reason, or null when in bounds. */
function prescan(query) {
  const lexer = new Lexer(new Source(query));
  let tokens = 0, depth = 0;
  for (let t = lexer.advance(); t.kind !== TokenKind.EOF; t = lexer.advance()) {
    if (++tokens > LIMITS.tokens) return 'too-many-tokens';
    const k = t.kind;
    if (k === TokenKind.BRACE_L || k === TokenKind.PAREN_L || k === TokenKind.BRACKET_L) {
      if (++depth > LIMITS.depth) return 'too-deep';
    } else if (k === TokenKind.BRACE_R || k === TokenKind.PAREN_R || k === TokenKind.BRACKET_R) depth--;
  }
  return null;
}

/** The parsed document of a query text, or {reason} — cached per isolate (LRU). */
function documentOf(query) {
  const hit = cache.get(query);
  if (hit) { cache.delete(query); cache.set(query, hit); return hit; }
  let entry;
  if (query.length > LIMITS.chars) entry = { reason: 'document-too-large' };
  else {
    try {
      const over = prescan(query);
      entry = over ? { reason: over } : { document: parse(query, { noLocation: true, maxTokens: LIMITS.tokens }) };
    } catch {
      entry = { reason: 'syntax' };
    }
  }
  if (query.length <= CACHE_MAX_CHARS) {
    cache.set(query, entry);
    if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value);
  }
  return entry;
}

/** The operation the request runs: the one named operationName, or the only one. */
function selectOperation(document, operationName) {
  const ops = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return ops.find((o) => o.name?.value === operationName) ?? null;
  return ops.length === 1 ? ops[0] : null;
}

/** The variables the operation sees: the request's, with each definition's default filling in. */
function effectiveVariables(operation, given) {
  const vars = { ...given };
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (vars[name] === undefined && def.defaultValue) vars[name] = valueFromASTUntyped(def.defaultValue);
  }
  return vars;
}

/** A GraphQL request's operation, or why it is not ours.  GET carries query / operationName /
 * variables in the query string (Apollo's GET for queries), POST a JSON body; a batched POST
 * (an array) is left to the origin. */
export function readOperation(method, url, bodyText) {
  try {
    let query, operationName, variables;
    if (method === 'GET' || method === 'HEAD') {
      const p = url.searchParams;
      query = p.get('query');
      operationName = p.get('operationName');
      const v = p.get('variables');
      if (v !== null && v.length > LIMITS.variablesChars) return { op: null, reason: 'variables-too-large' };
      variables = v !== null ? parseJson(v) : {};
    } else if (method === 'POST') {
      const body = parseJson(bodyText);
      if (!body || typeof body !== 'object' || Array.isArray(body)) return { op: null, reason: 'no-operation' };
      ({ query, operationName, variables } = body);
    } else return { op: null, reason: 'no-operation' };
    if (variables === undefined || variables === null) variables = {};
    if (typeof query !== 'string' || !query) return { op: null, reason: 'no-operation' };
    if (typeof variables !== 'object' || Array.isArray(variables)) return { op: null, reason: 'bad-variables' };
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return { op: null, reason: 'bad-operation-name' };
    const parsed = documentOf(query);
    if (!parsed.document) return { op: null, reason: parsed.reason };
    const operation = selectOperation(parsed.document, operationName || null);
    if (!operation) return { op: null, reason: 'unknown-operation' };
    const op = {
      query,
      operationName: operationName || null,
      variables: effectiveVariables(operation, variables),
      kind: operation.operation, // 'query' | 'mutation' | 'subscription'
      mutation: operation.operation === 'mutation',
      document: parsed.document,
      operation,
    };
    op.fields = rootFields(op);
    return { op, reason: null };
  } catch {
    return { op: null, reason: 'no-operation' };
  }
}

/** @skip(if:) / @include(if:) on a selection, with variables. */
function included(node, vars) {
  for (const d of node.directives ?? []) {
    const name = d.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const arg = d.arguments?.find((a) => a.name.value === 'if');
    const v = arg ? valueFromASTUntyped(arg.value, vars) === true : false;
    if (name === 'skip' && v) return false;
    if (name === 'include' && !v) return false;
  }
  return true;
}

/** The operation's root fields as {name, key (the response key), node}, in document order,
 * through fragment spreads and inline fragments (each fragment once). */
function rootFields(op) {
  const fragments = new Map();
  for (const d of op.document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const out = [], seen = new Set();
  const walk = (set) => {
    for (const s of set.selections) {
      if (!included(s, op.variables)) continue;
      if (s.kind === Kind.FIELD) out.push({ name: s.name.value, key: s.alias?.value ?? s.name.value, node: s });
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet);
      else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(op.operation.selectionSet);
  return out;
}

/** The value of a field's argument with variables resolved (undefined when absent). */
function argument(op, field, name) {
  const a = field.node.arguments?.find((x) => x.name.value === name);
  return a ? valueFromASTUntyped(a.value, op.variables) : undefined;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Magento's products field at the response key `products` (what the engine re-ranks), or null. */
function listingField(op) {
  if (!op || op.mutation) return null;
  const f = op.fields.find((x) => x.key === 'products');
  return f && f.name === 'products' ? f : null;
}

/** True when data.products of the answer will be Magento's product listing. */
export function isListing(op) {
  try { return !!listingField(op); } catch { return false; }
}

/** The sort field the shopper chose, or null when the listing is in the store's default order
 * (no sort, or position / relevance).  Every products field counts, aliased or not: a shopper's
 * sort anywhere in the document is left alone. */
export function explicitSort(op) {
  try {
    if (!op || op.mutation) return null;
    for (const f of op.fields) {
      if (f.name !== 'products') continue;
      const sort = argument(op, f, 'sort');
      if (!isObject(sort)) continue;
      for (const [k, v] of Object.entries(sort)) if (v !== null && v !== undefined && !DEFAULT_SORTS.has(k)) return k;
    }
    return null;
  } catch {
    return null;
  }
}

/** What kind of listing page asked: a search (products(search: …)) or a category. */
export function pageType(op) {
  try {
    const f = listingField(op);
    if (!f) return null;
    const search = argument(op, f, 'search');
    if (typeof search === 'string' && search.trim()) return 'search';
    const filter = argument(op, f, 'filter');
    if (isObject(filter) && ['category_uid', 'category_id', 'category_url_path'].some((k) => filter[k] != null)) return 'category';
    return null;
  } catch {
    return null;
  }
}

/** The url_key of a product-detail query (Venia's getProductDetailForProductPage:
 * products(filter: {url_key: {eq: $urlKey}})), however the variable is named. */
export function productViewKey(op) {
  try {
    if (!op || op.mutation) return null;
    for (const f of op.fields) {
      if (f.name !== 'products') continue;
      const eq = argument(op, f, 'filter')?.url_key?.eq;
      if (typeof eq === 'string' && eq && eq.length <= 255) return eq;
    }
    return null;
  } catch {
    return null;
  }
}

/** SKUs the add-to-cart mutations of the operation add (from their arguments, literal or through
 * variables), de-duplicated, at most 64; null when there are none. */
export function cartSkus(op) {
  try {
    if (!op?.mutation) return null;
    const skus = [];
    const walk = (v, depth) => {
      if (depth > 8 || skus.length >= 64 || v === null || typeof v !== 'object') return;
      if (Array.isArray(v)) { for (const x of v) walk(x, depth + 1); return; }
      // a configurable's child sku is what is bought; the parent_sku folds into it at the engine
      if (typeof v.sku === 'string' && v.sku && v.sku.length <= 128) skus.push(v.sku);
      for (const [k, x] of Object.entries(v)) if (k !== 'sku') walk(x, depth + 1);
    };
    for (const f of op.fields) {
      if (!CART_MUTATIONS.has(f.name)) continue;
      for (const a of f.node.arguments ?? []) walk(valueFromASTUntyped(a.value, op.variables), 0);
    }
    return skus.length ? [...new Set(skus)] : null;
  } catch {
    return null;
  }
}

const WISHLIST_MUTATIONS = new Set(['addProductsToWishlist']);

/** SKUs that Magento's addProductsToWishlist adds (wishlistItems: [{sku, quantity, parent_sku?}]),
 * literal or through variables, de-duplicated, at most 64; null when there are none. */
export function wishlistSkus(op) {
  try {
    if (!op?.mutation) return null;
    const skus = [];
    for (const f of op.fields) {
      if (!WISHLIST_MUTATIONS.has(f.name)) continue;
      const items = argument(op, f, 'wishlistItems');
      for (const it of Array.isArray(items) ? items : isObject(items) ? [items] : []) {
        if (skus.length >= 64) break;
        if (isObject(it) && typeof it.sku === 'string' && it.sku && it.sku.length <= 128) skus.push(it.sku);
      }
    }
    return skus.length ? [...new Set(skus)] : null;
  } catch {
    return null;
  }
}

/** placeOrder (Magento 2.4's checkout mutation) among the operation's root fields. */
export function isPlaceOrder(op) {
  try { return !!op?.mutation && op.fields.some((f) => f.name === 'placeOrder'); } catch { return false; }
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
