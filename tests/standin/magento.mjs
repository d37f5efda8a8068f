// magento.mjs — a local stand-in for Magento 2.4's GraphQL endpoint, as PWA
// Studio's Venia storefront talks to it, over the catalog.json that
// `edgerec import luma-catalog` writes.  A pure fetch-API handler: no node:
// imports, so the same file runs in Node (tests/standin/server.mjs) and inside
// workerd.
//
//   import { createMagento } from './magento.mjs';
//   const magento = createMagento(catalog, options);
//   const response = await magento.handle(request);   // Request → Response
//   magento.state.requests                            // every request received
//   magento.close()                                   // abort pending slow answers
//
// What it reads.  A *minimal GraphQL reader*, not a GraphQL implementation: a
// tokenizer and recursive-descent reader of operations, fields, aliases,
// arguments (literals and $variables, with variable defaults), fragments,
// inline fragments and @skip/@include.  There is no schema validation and no
// type coercion: the root fields below are recognised by name, their
// arguments are read as values, and each answer is projected onto the
// selection set the client sent (aliases, fragments and __typename honoured;
// a field the stand-in does not know comes back null rather than as a
// validation error).  Unknown root fields are an error, as in Magento.
//
// Shapes follow Magento 2.4's schema and the queries PWA Studio sends
// (magento/pwa-studio, packages/peregrine/lib/talons/…):
//   RootComponents/Category/category.gql.js          GetCategories: categories(filters:{category_uid:{in:[$uid]}})
//                                                     + products(pageSize, currentPage, filter: $filters, sort: $sort)
//   RootComponents/Category/categoryFragments.gql.js  CategoryFragment, ProductsFragment (items id uid name
//                                                     price_range sku small_image stock_status rating_summary
//                                                     __typename url_key; page_info; total_count)
//   RootComponents/Category/categoryContent.gql.js    aggregations, sort_fields, getCategoryData
//   RootComponents/Category/useCategory.js            variables: filters {category_uid:{eq:id}}, sort {attr: dir}
//   hooks/useSort.js                                  default sort {position: ASC}
//   SearchPage/searchPage.gql.js                      ProductSearch: products(search: $inputText, …), getPageSize
//   RootComponents/Product/product.gql.js             getProductDetailForProductPage: products(filter:{url_key:{eq:$urlKey}})
//   RootComponents/Product/productDetailFragment.gql.js  ProductDetailsFragment (categories, variants, …)
//   ProductFullDetail/productFullDetail.gql.js        AddProductToCart: addProductsToCart(cartId, cartItems: [$product]);
//                                                     addSimpleProductsToCart / addConfigurableProductsToCart (input)
//   CheckoutPage/checkoutPage.gql.js                  createCart { cartId: createEmptyCart }, placeOrder(input:{cart_id})
// and Adobe's GraphQL docs (developer.adobe.com/commerce/webapi/graphql: usage/headers, usage/caching):
// GET queries are cacheable ("Cache-Control: max-age=3600, public, s-maxage=3600"), POST and
// mutations are not, `Store` and `Content-Currency` select the store view and the currency,
// cart/customer queries are never cached.
//
// Root fields: Query.products, categories, categoryList, storeConfig, currency, availableStores,
// route, __type(name:"ProductAttributeFilterInput"), cart, customerCart; Mutation.createEmptyCart,
// createGuestCart, addProductsToCart, addSimpleProductsToCart, addConfigurableProductsToCart, addProductsToWishlist,
// placeOrder, generateCustomerToken, revokeCustomerToken.
//
// Stand-in conventions (documented, deterministic):
// * product id = 1 + the item's index in catalog.json; uid = base64 of the id.
// * categories come from the items' paths; "Default Category" is id 2 (uid "Mg=="), the paths get
//   ids 3, 4, … in sorted order; url_key is the slugged name, url_path the parent's plus the key.
// * a listing holds the visible, parent-less items in catalog order ("position"); a category holds
//   its items and its descendants' (anchor categories).
// * prices are catalog.json's (the base currency, USD) times the currency's rate (options.rates,
//   EUR 0.9, GBP 0.8), rounded to cents; a request with `Authorization: Bearer …` is a logged-in
//   customer whose group gets options.customerDiscount (10 %) off the final price.
// * configurable options: Luma's attribute ids (color 93, size 144, others 200+); value_index per
//   label in sorted order; option value uid = base64("configurable/<attribute_id>/<value_index>").
// * attribute aggregations and filters use the option label as the value.
// * cart ids, order numbers and customer tokens come from counters: the same sequence of requests
//   to a fresh stand-in gives the same bytes.
// * customer tokens are opaque ("standin-<32 hex>", Magento < 2.4.4) unless options.jwtKey is set (the
//   store's env.php crypt/key): then they are Magento >= 2.4.4 JWTs, as Magento_JwtUserToken issues
//   them (Model/Issuer.php, SecretBasedJwksFactory.php): HS256 over the last crypt key padded to 2048
//   characters with '&' on both sides, header {"kid":"1","alg":"HS256"}, claims {uid (the customer id:
//   1, 2, … per email in order of first sign-in), utypid: 3, iat (options.clock), exp: iat +
//   options.jwtTtlMinutes (60) minutes}.
//
// Headers: a GET query without Authorization whose root fields are all cacheable and that has no
// errors gets "Cache-Control: max-age=3600, public, s-maxage=3600", "Pragma: cache" and
// X-Magento-Tags; everything else (POST, mutations, cart, a customer token, errors) gets
// "Cache-Control: no-store, no-cache, must-revalidate" and "Pragma: no-cache".  X-Magento-Cache-Id
// echoes the request's, else is a hash of store, currency and customer group.  No Vary by default
// (Magento's own cache keys on Store / Content-Currency itself, so a CDN in front must too);
// options.vary adds "Vary: Store, Content-Currency, Authorization, X-Magento-Cache-Id".
//
// REST, for the catalog sync's incremental path (docs/catalog.md): GET /rest[/<store>]/V1/products with
// Magento's searchCriteria query (filter_groups[i][filters][j][field|value|condition_type] with eq, neq,
// gt, gteq, lt, lteq, in, nin, like, null, notnull; sortOrders[k][field|direction]; pageSize;
// currentPage — past the last page Magento's collection answers the last page again, and so does
// this) and `fields` (e.g. items[sku,updated_at],total_count).  It needs `Authorization: Bearer
// <integration token>` (options.integrationTokens, default ['standin-integration-token']; anything
// else is Magento's 401).  The answer is Magento's shape: {items: [{id, sku, name, attribute_set_id,
// price, status (1 enabled, 2 disabled), visibility (1 not visible individually, 4 catalog and
// search), type_id, created_at, updated_at, …}], search_criteria, total_count}.  Every product's
// updated_at starts at options.updatedAt ('2024-01-01 00:00:00'); a change moves it.
//
// Test-only routes:
//   POST /__standin/product {sku, price?, name?, in_stock?, status? (1|2), updated_at?}  changes a
//        product as a save in the admin would: its updated_at becomes updated_at or the clock's time
//        (options.clock, default Date.now; 'YYYY-MM-DD HH:MM:SS' UTC); a disabled product (status 2)
//        is gone from every GraphQL answer.  Answers the REST product.
//   ANY  /__standin/scenario/<name>/<path>  the same request to a stand-in of its own over a copy of
//        the catalog (created on first use), so a test can change products without disturbing others;
//        DELETE /__standin/scenario/<name> forgets it.
//
// Fault injection (request header `x-standin-fault`): `500` (HTTP 500, an HTML error page),
// `timeout` (no answer for options.timeoutMs, default 120 s, then the normal answer; aborted by the
// request's signal or close()), `garbage` (200 with truncated JSON), `huge` (200, a valid
// GraphQL listing over 5 MB).  Other values are ignored.  Every request, faults included, is
// recorded in state.requests as {method, url, headers (lower-case names), body (null for GET)}.

const CACHE_PUBLIC = 'max-age=3600, public, s-maxage=3600';
const CACHE_NONE = 'no-store, no-cache, must-revalidate';
const TIMEOUT_MS = 120_000;
const HUGE_BYTES = 5 * 1024 * 1024 + 64 * 1024;

// ---- small helpers ------------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Standard base64 of a string's UTF-8 bytes (btoa is Latin-1 only). */
export function b64(s) {
  const b = new TextEncoder().encode(String(s));
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < b.length ? B64[n & 63] : '=');
  }
  return out;
}

const round2 = (x) => Math.round(x * 100) / 100;
const cmpStr = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const slug = (s) => s.toLowerCase().replace(/&/g, 'and').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const words = (s) => String(s).toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/** FNV-1a 32-bit over a string (deterministic ids and cache ids). */
function fnv32(s, seed = 0x811c9dc5) {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
const hex64 = (s) => [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f, 0x165667b1, 0xd3a2646c]
  .map((seed) => fnv32(s, seed).toString(16).padStart(8, '0')).join('');

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** A customer token as Magento >= 2.4.4 issues it (see the header): HS256 JWS over the last
 * env.php crypt key, padded with '&' to 2048 characters (PHP str_pad STR_PAD_BOTH). */
export async function magentoJwt(cryptKey, claims) {
  const keys = String(cryptKey).trim().split(/\s+/);
  let k = keys[keys.length - 1];
  const half = Math.floor((2048 - k.length) / 2);
  if (k.length < 2048) k = '&'.repeat(half) + k + '&'.repeat(2048 - k.length - half);
  const te = new TextEncoder();
  const input = b64url(te.encode(JSON.stringify({ kid: '1', alg: 'HS256' }))) + '.' + b64url(te.encode(JSON.stringify(claims)));
  const key = await crypto.subtle.importKey('raw', te.encode(k), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return input + '.' + b64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, te.encode(input))));
}

/** A 32-character masked cart id, as Magento hands out (deterministic per counter). */
function maskedId(n) {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = fnv32(`cart-${n}`) || 1, out = '';
  for (let i = 0; i < 32; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out += A[x % 62]; }
  return out;
}

class GqlError extends Error {
  constructor(message, category = 'graphql-input', loc = null) { super(message); this.category = category; this.loc = loc; }
}
const inputError = (m) => new GqlError(m, 'graphql-input');
const noSuchEntity = (m) => new GqlError(m, 'graphql-no-such-entity');
const authError = (m) => new GqlError(m, 'graphql-authorization');

// ---- the GraphQL reader ----------------------------------------------------------------------------

const PUNCT = new Set(['!', '$', '&', '(', ')', ':', '=', '@', '[', ']', '{', '|', '}']);

function lex(src) {
  const toks = [];
  let i = 0, line = 1, lineStart = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\n') { i++; line++; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === ',' || c === '\ufeff') { i++; continue; }
    if (c === '#') { while (i < n && src[i] !== '\n' && src[i] !== '\r') i++; continue; }
    const loc = { line, column: i - lineStart + 1 };
    if (PUNCT.has(c)) { toks.push({ t: c, loc }); i++; continue; }
    if (c === '.') {
      if (src.startsWith('...', i)) { toks.push({ t: '...', loc }); i += 3; continue; }
      throw new GqlError(`Syntax Error: Unexpected character: ".".`, 'graphql', loc);
    }
    if (/[_A-Za-z]/.test(c)) {
      let j = i + 1;
      while (j < n && /[_0-9A-Za-z]/.test(src[j])) j++;
      toks.push({ t: 'name', v: src.slice(i, j), loc }); i = j; continue;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i, i + 64));
      if (!m) throw new GqlError(`Syntax Error: Invalid number.`, 'graphql', loc);
      toks.push({ t: 'value', v: Number(m[0]), loc }); i += m[0].length; continue;
    }
    if (c === '"') {
      if (src.startsWith('"""', i)) {
        let j = i + 3, raw = '';
        for (;;) {
          if (j >= n) throw new GqlError('Syntax Error: Unterminated string.', 'graphql', loc);
          if (src.startsWith('\\"""', j)) { raw += '"""'; j += 4; continue; }
          if (src.startsWith('"""', j)) break;
          if (src[j] === '\n') { line++; lineStart = j + 1; }
          raw += src[j++];
        }
        toks.push({ t: 'value', v: raw.trim(), loc }); i = j + 3; continue;
      }
      let j = i + 1;
      while (j < n && src[j] !== '"') { if (src[j] === '\n') break; j += src[j] === '\\' ? 2 : 1; }
      if (j >= n || src[j] !== '"') throw new GqlError('Syntax Error: Unterminated string.', 'graphql', loc);
      let v;
      try { v = JSON.parse(src.slice(i, j + 1)); } catch { throw new GqlError('Syntax Error: Invalid character escape sequence.', 'graphql', loc); }
      toks.push({ t: 'value', v, loc }); i = j + 1; continue;
    }
    throw new GqlError(`Syntax Error: Unexpected character: ${JSON.stringify(c)}.`, 'graphql', loc);
  }
  toks.push({ t: '<EOF>', loc: { line, column: i - lineStart + 1 } });
  return toks;
}

/** Reads a document into {operations: [{type, name, varDefs, selectionSet}], fragments: Map}. */
export function readDocument(src) {
  const toks = lex(src);
  let p = 0;
  const peek = () => toks[p];
  const desc = (t) => (t.t === 'name' ? `Name "${t.v}"` : t.t === 'value' ? `${JSON.stringify(t.v)}` : t.t === '<EOF>' ? '<EOF>' : `"${t.t}"`);
  const fail = (what) => { throw new GqlError(`Syntax Error: Expected ${what}, found ${desc(peek())}.`, 'graphql', peek().loc); };
  const eat = (t) => { if (peek().t !== t) fail(`"${t}"`); return toks[p++]; };
  const isName = (v) => peek().t === 'name' && (v === undefined || peek().v === v);
  const name = () => (isName() ? toks[p++].v : fail('Name'));

  function value(isConst) {
    const t = peek();
    if (t.t === '$') { if (isConst) fail('constant value'); p++; return { kind: 'var', name: name() }; }
    if (t.t === '[') { p++; const values = []; while (peek().t !== ']') values.push(value(isConst)); p++; return { kind: 'list', values }; }
    if (t.t === '{') {
      p++; const fields = [];
      while (peek().t !== '}') { const k = name(); eat(':'); fields.push([k, value(isConst)]); }
      p++; return { kind: 'obj', fields };
    }
    if (t.t === 'value') { p++; return { kind: 'lit', value: t.v }; }
    if (t.t === 'name') { p++; return { kind: 'lit', value: t.v === 'true' ? true : t.v === 'false' ? false : t.v === 'null' ? null : t.v }; }
    return fail('value');
  }
  function args(isConst = false) {
    const out = [];
    if (peek().t !== '(') return out;
    p++;
    while (peek().t !== ')') { const k = name(); eat(':'); out.push([k, value(isConst)]); }
    p++;
    return out;
  }
  function directives() {
    const out = [];
    while (peek().t === '@') { p++; out.push({ name: name(), args: args() }); }
    return out;
  }
  function type() {
    if (peek().t === '[') { p++; const inner = type(); eat(']'); const nn = peek().t === '!' ? (p++, '!') : ''; return `[${inner}]${nn}`; }
    const n = name();
    return peek().t === '!' ? (p++, `${n}!`) : n;
  }
  function selectionSet() {
    eat('{');
    const sels = [];
    while (peek().t !== '}') {
      if (peek().t === '<EOF>') fail('"}"');
      if (peek().t === '...') {
        const loc = toks[p++].loc;
        if (isName('on')) { p++; const typeCondition = name(); sels.push({ kind: 'inline', typeCondition, directives: directives(), selectionSet: selectionSet(), loc }); }
        else if (isName()) sels.push({ kind: 'spread', name: name(), directives: directives(), loc });
        else sels.push({ kind: 'inline', typeCondition: null, directives: directives(), selectionSet: selectionSet(), loc });
        continue;
      }
      const loc = peek().loc;
      let alias = null, fname = name();
      if (peek().t === ':') { p++; alias = fname; fname = name(); }
      const a = args();
      const d = directives();
      const sub = peek().t === '{' ? selectionSet() : null;
      sels.push({ kind: 'field', alias, name: fname, args: a, directives: d, selectionSet: sub, loc });
    }
    p++;
    return sels;
  }

  const operations = [], fragments = new Map();
  if (peek().t === '<EOF>') fail('Name'); // an empty document
  while (peek().t !== '<EOF>') {
    const loc = peek().loc;
    if (peek().t === '{') { operations.push({ type: 'query', name: null, varDefs: [], selectionSet: selectionSet(), loc }); continue; }
    if (isName('fragment')) {
      p++; const fname = name();
      if (!isName('on')) fail('"on"');
      p++; const typeCondition = name();
      directives();
      fragments.set(fname, { name: fname, typeCondition, selectionSet: selectionSet() });
      continue;
    }
    if (isName('query') || isName('mutation') || isName('subscription')) {
      const opType = toks[p++].v;
      const opName = isName() ? name() : null;
      const varDefs = [];
      if (peek().t === '(') {
        p++;
        while (peek().t !== ')') {
          eat('$'); const vname = name(); eat(':'); const vtype = type();
          let def;
          if (peek().t === '=') { p++; def = value(true); }
          directives();
          varDefs.push({ name: vname, type: vtype, defaultValue: def });
        }
        p++;
      }
      directives();
      operations.push({ type: opType, name: opName, varDefs, selectionSet: selectionSet(), loc });
      continue;
    }
    fail('definition');
  }
  return { operations, fragments };
}

function resolveValue(v, vars) {
  switch (v.kind) {
    case 'var': return vars[v.name];
    case 'lit': return v.value;
    case 'list': return v.values.map((x) => resolveValue(x, vars));
    case 'obj': {
      const o = {};
      for (const [k, x] of v.fields) { const r = resolveValue(x, vars); if (r !== undefined) o[k] = r; }
      return o;
    }
  }
  return undefined;
}
function resolveArgs(list, vars) {
  const o = {};
  for (const [k, v] of list) { const r = resolveValue(v, vars); if (r !== undefined) o[k] = r; }
  return o;
}

// Interfaces each concrete type implements (for fragments "on ProductInterface" etc.).
const IMPLEMENTS = {
  SimpleProduct: ['ProductInterface', 'PhysicalProductInterface', 'CustomizableProductInterface', 'RoutableInterface'],
  ConfigurableProduct: ['ProductInterface', 'PhysicalProductInterface', 'CustomizableProductInterface', 'RoutableInterface'],
  CategoryTree: ['CategoryInterface', 'RoutableInterface'],
  SimpleCartItem: ['CartItemInterface'],
  ConfigurableCartItem: ['CartItemInterface'],
  TextSwatchData: ['SwatchDataInterface'],
};
const applies = (cond, typename) => !cond || !typename || cond === typename || (IMPLEMENTS[typename]?.includes(cond) ?? false);

function skipped(dirs, vars) {
  for (const d of dirs) {
    if (d.name === 'skip' && resolveArgs(d.args, vars).if === true) return true;
    if (d.name === 'include' && resolveArgs(d.args, vars).if === false) return true;
  }
  return false;
}

/** Groups the fields of selection sets by response key (aliases, fragments, inline fragments). */
function collectFields(sets, typename, ex, out = new Map(), depth = 0) {
  if (depth > 32) throw new GqlError('Fragment nesting too deep.', 'graphql');
  for (const set of sets) for (const sel of set) {
    if (skipped(sel.directives, ex.vars)) continue;
    if (sel.kind === 'field') {
      const key = sel.alias ?? sel.name;
      if (!out.has(key)) out.set(key, []);
      out.get(key).push(sel);
    } else if (sel.kind === 'spread') {
      const f = ex.fragments.get(sel.name);
      if (!f) throw new GqlError(`Unknown fragment "${sel.name}".`, 'graphql', sel.loc);
      if (applies(f.typeCondition, typename)) collectFields([f.selectionSet], typename, ex, out, depth + 1);
    } else if (applies(sel.typeCondition, typename)) collectFields([sel.selectionSet], typename, ex, out, depth + 1);
  }
  return out;
}

/** Projects a resolved object onto the selection sets; function-valued fields are called with their arguments. */
function project(obj, sets, ex) {
  const typename = obj.__typename;
  const out = {};
  for (const [key, nodes] of collectFields(sets, typename, ex)) {
    const f = nodes[0];
    if (f.name === '__typename') { out[key] = typename ?? null; continue; }
    let v = Object.hasOwn(obj, f.name) ? obj[f.name] : null;
    if (typeof v === 'function') v = v(resolveArgs(f.args, ex.vars));
    out[key] = complete(v, nodes.map((x) => x.selectionSet).filter(Boolean), ex);
  }
  return out;
}
function complete(v, sets, ex) {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map((x) => complete(x, sets, ex));
  if (typeof v === 'object') return sets.length ? project(v, sets, ex) : null;
  return v;
}

// ---- the stand-in -------------------------------------------------------------------------------------

const DEFAULT_STORES = {
  default: { id: 1, name: 'Default Store View', currency: 'USD', locale: 'en_US' },
  de: { id: 2, name: 'German Store View', currency: 'EUR', locale: 'de_DE' },
  fr: { id: 3, name: 'French Store View', currency: 'EUR', locale: 'fr_FR' },
  uk: { id: 4, name: 'UK Store View', currency: 'GBP', locale: 'en_GB' },
};
const DEFAULT_RATES = { USD: 1, EUR: 0.9, GBP: 0.8 };
const ATTRIBUTE_IDS = { color: 93, size: 144 };
const SORT_KEYS = new Set(['position', 'relevance', 'name', 'price']);
const CACHEABLE_ROOTS = new Set(['products', 'categories', 'categoryList', 'storeConfig', 'currency', 'availableStores', 'route', '__type', '__typename']);

/**
 * @param {{items: object[]}} catalog  catalog.json (docs/bundle.md)
 * @param {{stores?: object, rates?: object, customerDiscount?: number, timeoutMs?: number,
 *          hugeBytes?: number, mediaUrl?: string, gridPerPage?: number, vary?: boolean}} [options]
 */
export function createMagento(catalog, options = {}) {
  if (!catalog || !Array.isArray(catalog.items)) throw new TypeError('createMagento: catalog.items must be an array');
  const stores = options.stores ?? DEFAULT_STORES;
  const rates = options.rates ?? DEFAULT_RATES;
  const customerDiscount = options.customerDiscount ?? 0.1;
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const hugeBytes = options.hugeBytes ?? HUGE_BYTES;
  const mediaUrl = options.mediaUrl ?? 'https://venia.example/media/catalog/product';
  const gridPerPage = options.gridPerPage ?? 12;
  const integrationTokens = new Set(options.integrationTokens ?? ['standin-integration-token']);
  const baseUpdatedAt = options.updatedAt ?? '2024-01-01 00:00:00';
  const clock = options.clock ?? (() => Date.now());
  const jwtTtl = (options.jwtTtlMinutes ?? 60) * 60;

  // ---- catalog indexes
  const items = catalog.items;
  const bySku = new Map();
  const idOf = new Map();
  items.forEach((it, i) => { bySku.set(it.sku, it); idOf.set(it, i + 1); });
  const childrenOf = new Map();
  for (const it of items) if (it.parent && bySku.has(it.parent)) {
    if (!childrenOf.has(it.parent)) childrenOf.set(it.parent, []);
    childrenOf.get(it.parent).push(it);
  }
  const listable = items.filter((it) => !it.parent && it.visible !== false);
  const position = new Map(listable.map((it, i) => [it, i]));
  const byUrlKey = new Map();
  for (const it of listable) if (it.url_key && !byUrlKey.has(it.url_key)) byUrlKey.set(it.url_key, it);
  const basePrices = new Map(); // item → [min, max] in base currency
  for (const it of items) {
    const kids = childrenOf.get(it.sku);
    const ps = kids?.length ? kids.map((k) => k.price ?? 0) : [it.price ?? 0];
    basePrices.set(it, [Math.min(...ps), Math.max(...ps)]);
  }
  const attrCodes = new Set();
  for (const it of items) for (const k of Object.keys(it.attributes ?? {})) attrCodes.add(k);

  // configurable option value indexes: per attribute, labels in sorted order
  const optionLabels = new Map();
  for (const it of items) if (it.parent) for (const [k, v] of Object.entries(it.attributes ?? {})) {
    if (typeof v !== 'string') continue;
    if (!optionLabels.has(k)) optionLabels.set(k, new Set());
    optionLabels.get(k).add(v);
  }
  const attrIds = new Map(), valueIndex = new Map();
  let nextAttr = 200;
  for (const code of [...optionLabels.keys()].sort(cmpStr)) {
    attrIds.set(code, ATTRIBUTE_IDS[code] ?? nextAttr++);
    const base = code === 'color' ? 49 : code === 'size' ? 166 : 1000 + attrIds.get(code) * 100;
    [...optionLabels.get(code)].sort(cmpStr).forEach((label, i) => valueIndex.set(`${code}\0${label}`, base + i));
  }
  const configurableAttrs = new Map(); // parent sku → [codes] that vary among its children
  for (const [parent, kids] of childrenOf) {
    const codes = [...optionLabels.keys()].filter((c) => kids.some((k) => typeof k.attributes?.[c] === 'string'));
    configurableAttrs.set(parent, codes.filter((c) => c === 'color' || c === 'size' || new Set(kids.map((k) => k.attributes?.[c])).size > 1));
  }

  // ---- categories
  const root = { id: 2, path: '', name: 'Default Category', level: 1, url_key: 'default-category', url_path: '', parent: null, children: [], idPath: '1/2', position: 1 };
  const paths = new Set();
  for (const it of items) for (const c of it.categories ?? []) {
    const parts = String(c).split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
  }
  const cats = new Map([['', root]]);
  [...paths].sort(cmpStr).forEach((path, i) => {
    const cut = path.lastIndexOf('/');
    const parent = cats.get(cut < 0 ? '' : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const cat = {
      id: 3 + i, path, name, level: parent.level + 1, url_key: slug(name) || `category-${3 + i}`, parent, children: [],
      position: parent.children.length + 1,
    };
    cat.url_path = parent.url_path ? `${parent.url_path}/${cat.url_key}` : cat.url_key;
    cat.idPath = `${parent.idPath}/${cat.id}`;
    parent.children.push(cat);
    cats.set(path, cat);
  });
  const catById = new Map([...cats.values()].map((c) => [c.id, c]));
  const catByUid = new Map([...cats.values()].map((c) => [b64(c.id), c]));
  const catByUrlPath = new Map([...cats.values()].filter((c) => c.url_path).map((c) => [c.url_path, c]));
  const inCat = (it, cat) => cat === root || (it.categories ?? []).some((p) => p === cat.path || p.startsWith(`${cat.path}/`));
  const memberCache = new Map();
  const members = (cat) => {
    if (!memberCache.has(cat)) memberCache.set(cat, listable.filter((it) => inCat(it, cat)));
    return memberCache.get(cat);
  };

  const state = { requests: [], carts: new Map(), orders: [], tokens: new Map(), wishlists: new Map(), customers: new Map(), counters: { cart: 0, order: 0, token: 0, item: 0 } };
  const updatedAt = new Map(); // sku → Magento's updated_at, once changed (else baseUpdatedAt)
  const disabled = new Set();  // skus with status 2: in no GraphQL answer
  const enabled = (it) => !disabled.has(it.sku);
  const pending = new Set();

  // ---- per-request objects

  function money(ctx, base) { return { __typename: 'Money', currency: ctx.currency, value: round2(base * ctx.rate) }; }
  function productPrice(ctx, base) {
    const regular = round2(base * ctx.rate);
    const final = round2(base * ctx.rate * (1 - ctx.discount));
    return {
      __typename: 'ProductPrice',
      regular_price: { __typename: 'Money', currency: ctx.currency, value: regular },
      final_price: { __typename: 'Money', currency: ctx.currency, value: final },
      discount: { __typename: 'ProductDiscount', amount_off: round2(regular - final), percent_off: regular ? round2(((regular - final) / regular) * 100) : 0 },
      fixed_product_taxes: [],
    };
  }
  const finalPrice = (ctx, it) => round2(basePrices.get(it)[0] * ctx.rate * (1 - ctx.discount));

  function categoryObj(ctx, cat) {
    const ancestors = [];
    for (let c = cat.parent; c && c !== root; c = c.parent) ancestors.unshift(c);
    return {
      __typename: 'CategoryTree',
      id: cat.id, uid: b64(cat.id), name: cat.name, url_key: cat.url_key, url_path: cat.url_path || null,
      url_suffix: '.html', relative_url: cat.url_path ? `${cat.url_path}.html` : null, canonical_url: null,
      level: cat.level, path: cat.idPath, position: cat.position, product_count: members(cat).length,
      children_count: String(cat.children.length), include_in_menu: 1, is_anchor: 1, display_mode: 'PRODUCTS',
      available_sort_by: ['name', 'position', 'price'], default_sort_by: 'position',
      description: null, meta_title: null, meta_keywords: null, meta_description: null, image: null,
      type: 'CATEGORY', redirect_code: 0,
      breadcrumbs: cat.level > 2 ? ancestors.map((c) => ({
        __typename: 'Breadcrumb', category_id: c.id, category_uid: b64(c.id), category_name: c.name,
        category_level: c.level, category_url_key: c.url_key, category_url_path: c.url_path,
      })) : null,
      children: () => cat.children.map((c) => categoryObj(ctx, c)),
      products: (args) => productsField(ctx, { ...args, filter: { category_uid: { eq: b64(cat.id) } } }),
    };
  }

  function imageOf(it, kind) {
    const k = it.url_key || slug(it.sku) || 'x';
    return { __typename: kind, url: `${mediaUrl}/${k[0]}/${k[1] ?? '_'}/${k}.jpg`, label: it.name ?? it.sku, position: 1, disabled: false };
  }
  function mediaEntry(it) {
    const k = it.url_key || slug(it.sku) || 'x';
    const id = idOf.get(it);
    return { __typename: 'MediaGalleryEntry', id, uid: b64(id), label: it.name ?? it.sku, position: 1, disabled: false, file: `/${k[0]}/${k[1] ?? '_'}/${k}.jpg`, media_type: 'image', types: ['image', 'small_image', 'thumbnail'] };
  }

  function productObj(ctx, it) {
    const cached = ctx.products.get(it);
    if (cached) return cached;
    const id = idOf.get(it);
    const kids = childrenOf.get(it.sku);
    const configurable = !!kids?.length;
    const [lo, hi] = basePrices.get(it);
    const itemCats = [...new Set(it.categories ?? [])].map((p) => cats.get(String(p).split('/').filter(Boolean).join('/'))).filter(Boolean);
    const o = {
      __typename: configurable ? 'ConfigurableProduct' : 'SimpleProduct',
      id, uid: b64(id), sku: it.sku, name: it.name ?? it.sku, url_key: it.url_key ?? null, url_suffix: '.html',
      url_path: null, canonical_url: null, relative_url: it.url_key ? `${it.url_key}.html` : null, type: 'PRODUCT', redirect_code: 0,
      type_id: configurable ? 'configurable' : 'simple',
      stock_status: it.in_stock === false ? 'OUT_OF_STOCK' : 'IN_STOCK',
      only_x_left_in_stock: null,
      rating_summary: (id * 37) % 101, review_count: (id * 7) % 13,
      small_image: imageOf(it, 'ProductImage'), image: imageOf(it, 'ProductImage'), thumbnail: imageOf(it, 'ProductImage'),
      media_gallery: [imageOf(it, 'ProductImage')], media_gallery_entries: [mediaEntry(it)],
      description: { __typename: 'ComplexTextValue', html: `<p>${escapeHtml(it.name ?? it.sku)}</p>` },
      short_description: { __typename: 'ComplexTextValue', html: '' },
      meta_title: null, meta_keyword: null, meta_description: null,
      price_range: { __typename: 'PriceRange', minimum_price: productPrice(ctx, lo), maximum_price: productPrice(ctx, hi) },
      price: {
        __typename: 'ProductPrices',
        regularPrice: { __typename: 'Price', amount: money(ctx, lo) },
        minimalPrice: { __typename: 'Price', amount: { __typename: 'Money', currency: ctx.currency, value: round2(lo * ctx.rate * (1 - ctx.discount)) } },
        maximalPrice: { __typename: 'Price', amount: { __typename: 'Money', currency: ctx.currency, value: round2(hi * ctx.rate * (1 - ctx.discount)) } },
      },
      categories: () => itemCats.map((c) => categoryObj(ctx, c)),
      custom_attributes: [],
      stock_status_label: null,
      gift_message_available: false,
    };
    if (configurable) {
      const codes = configurableAttrs.get(it.sku) ?? [];
      o.configurable_options = () => codes.map((code) => {
        const labels = [...new Set(kids.map((k) => k.attributes?.[code]).filter((v) => typeof v === 'string'))];
        const aid = attrIds.get(code);
        return {
          __typename: 'ConfigurableProductOptions', id: aid, uid: b64(`configurable/${aid}`), attribute_id: String(aid), attribute_id_v2: aid,
          attribute_code: code, label: code[0].toUpperCase() + code.slice(1), position: codes.indexOf(code), use_default: true,
          values: labels.map((label) => {
            const vi = valueIndex.get(`${code}\0${label}`);
            return {
              __typename: 'ConfigurableProductOptionsValues', uid: b64(`configurable/${aid}/${vi}`), value_index: vi,
              label, default_label: label, store_label: label, use_default_value: true,
              swatch_data: code === 'color' ? { __typename: 'TextSwatchData', value: label } : null,
            };
          }),
        };
      });
      o.variants = () => kids.map((k) => ({
        __typename: 'ConfigurableVariant',
        attributes: codes.filter((c) => typeof k.attributes?.[c] === 'string').map((c) => {
          const vi = valueIndex.get(`${c}\0${k.attributes[c]}`);
          return { __typename: 'ConfigurableAttributeOption', code: c, label: k.attributes[c], value_index: vi, uid: b64(`configurable/${attrIds.get(c)}/${vi}`) };
        }),
        product: productObj(ctx, k),
      }));
    }
    ctx.products.set(it, o);
    return o;
  }

  // ---- products(…)

  function eqIn(cond, field) {
    if (cond === null || cond === undefined) return null;
    if (typeof cond !== 'object' || Array.isArray(cond)) throw inputError(`Field "${field}" must be an input object (eq, in).`);
    if (cond.eq !== undefined && cond.eq !== null) return [String(cond.eq)];
    if (Array.isArray(cond.in)) return cond.in.filter((x) => x !== null && x !== undefined).map(String);
    return null; // {} : no constraint
  }
  function filterProducts(ctx, list, filter) {
    if (filter === null || filter === undefined) return list;
    if (typeof filter !== 'object' || Array.isArray(filter)) throw inputError('Argument "filter" must be an input object.');
    for (const [field, cond] of Object.entries(filter)) {
      if (cond === null) continue;
      switch (field) {
        case 'category_uid': case 'category_id': case 'category_url_path': {
          const vals = eqIn(cond, field);
          if (!vals) break;
          const want = vals.map((v) => (field === 'category_uid' ? catByUid.get(v) : field === 'category_id' ? catById.get(Number(v)) : catByUrlPath.get(v))).filter(Boolean);
          list = list.filter((it) => want.some((c) => inCat(it, c)));
          break;
        }
        case 'sku': case 'url_key': {
          const vals = eqIn(cond, field);
          if (!vals) break;
          const set = new Set(vals);
          list = list.filter((it) => set.has(String(it[field] ?? '')));
          break;
        }
        case 'name': case 'description': case 'short_description': {
          const m = typeof cond === 'object' && cond ? cond.match ?? cond.eq : undefined;
          if (m === undefined || m === null) break;
          const toks = words(m);
          list = list.filter((it) => { const w = words(field === 'name' ? it.name ?? '' : ''); return toks.every((t) => w.some((x) => x.startsWith(t))); });
          break;
        }
        case 'price': {
          if (typeof cond !== 'object' || Array.isArray(cond)) throw inputError('Field "price" must be an input object (from, to).');
          const from = cond.from !== undefined && cond.from !== null && cond.from !== '' ? Number(cond.from) : -Infinity;
          const to = cond.to !== undefined && cond.to !== null && cond.to !== '' ? Number(cond.to) : Infinity;
          list = list.filter((it) => { const p = finalPrice(ctx, it); return p >= from && p <= to; });
          break;
        }
        default: {
          if (!attrCodes.has(field)) throw inputError(`Field "${field}" is not defined by type "ProductAttributeFilterInput".`);
          const vals = eqIn(cond, field);
          if (!vals) break;
          const set = new Set(vals);
          list = list.filter((it) => {
            const own = it.attributes?.[field];
            const all = [own, ...(childrenOf.get(it.sku) ?? []).map((k) => k.attributes?.[field])].flat().filter((x) => x !== undefined && x !== null);
            return all.some((x) => set.has(String(x)));
          });
        }
      }
    }
    return list;
  }

  function sortKeys(sort, search) {
    const keys = [];
    if (sort !== null && sort !== undefined) {
      if (typeof sort !== 'object' || Array.isArray(sort)) throw inputError('Argument "sort" must be an input object.');
      for (const [k, dir] of Object.entries(sort)) {
        if (!SORT_KEYS.has(k)) throw inputError(`Field "${k}" is not defined by type "ProductAttributeSortInput".`);
        if (dir !== 'ASC' && dir !== 'DESC') throw inputError(`Value "${dir}" does not exist in "SortEnum" enum.`);
        keys.push([k, dir]);
      }
    }
    return keys.length ? keys : [[search ? 'relevance' : 'position', search ? 'DESC' : 'ASC']];
  }

  function productsField(ctx, args) {
    const { search, filter, sort } = args;
    const pageSize = args.pageSize ?? 20, currentPage = args.currentPage ?? 1;
    if (search === undefined && filter === undefined) throw inputError("'search' or 'filter' input argument is required.");
    if (!Number.isInteger(pageSize) || pageSize < 1) throw inputError('pageSize value must be greater than 0.');
    if (!Number.isInteger(currentPage) || currentPage < 1) throw inputError('currentPage value must be greater than 0.');
    let list = disabled.size ? listable.filter(enabled) : listable;
    const score = new Map();
    const searching = typeof search === 'string';
    if (searching) {
      const toks = words(search);
      if (toks.length) {
        for (const it of list) {
          const w = words(it.name ?? '');
          const sku = String(it.sku).toLowerCase();
          let s = 0;
          for (const t of toks) if (w.some((x) => x.startsWith(t)) || sku === t || sku.startsWith(t)) s++;
          if (s) score.set(it, s);
        }
        list = list.filter((it) => score.has(it));
      }
    }
    list = filterProducts(ctx, list, filter);
    const keys = sortKeys(sort, searching);
    const val = {
      position: (it) => position.get(it),
      relevance: (it) => score.get(it) ?? 0,
      name: (it) => String(it.name ?? '').toLowerCase(),
      price: (it) => finalPrice(ctx, it),
    };
    // relevance counts up (more is better: DESC puts the best first); ties fall back to position.
    const sorted = [...list].sort((a, b) => {
      for (const [k, dir] of keys) {
        const x = val[k](a), y = val[k](b);
        const c = typeof x === 'string' ? cmpStr(x, y) : x - y;
        if (c) return dir === 'DESC' ? -c : c;
      }
      return position.get(a) - position.get(b);
    });
    const total = sorted.length;
    const totalPages = Math.ceil(total / pageSize);
    if (total > 0 && currentPage > totalPages) throw inputError(`currentPage value ${currentPage} specified is greater than the ${totalPages} page(s) available.`);
    const page = sorted.slice((currentPage - 1) * pageSize, currentPage * pageSize);
    for (const it of page) ctx.tags.add(`cat_p_${idOf.get(it)}`);
    return {
      __typename: 'Products',
      items: page.map((it) => productObj(ctx, it)),
      page_info: { __typename: 'SearchResultPageInfo', current_page: currentPage, page_size: pageSize, total_pages: totalPages },
      total_count: total,
      aggregations: () => aggregations(ctx, list),
      sort_fields: {
        __typename: 'SortFields', default: searching ? 'relevance' : 'position',
        options: [
          ...(searching ? [{ __typename: 'SortField', label: 'Relevance', value: 'relevance' }] : [{ __typename: 'SortField', label: 'Position', value: 'position' }]),
          { __typename: 'SortField', label: 'Product Name', value: 'name' },
          { __typename: 'SortField', label: 'Price', value: 'price' },
        ],
      },
      suggestions: null,
    };
  }

  function aggregations(ctx, list) {
    const opts = (m) => [...m].sort((a, b) => b[1].count - a[1].count || cmpStr(a[0], b[0]))
      .map(([, o]) => ({ __typename: 'AggregationOption', label: o.label, value: o.value, count: o.count }));
    const out = [];
    const catCounts = new Map();
    for (const it of list) for (const c of it.categories ?? []) {
      const cat = cats.get(String(c).split('/').filter(Boolean).join('/'));
      if (!cat) continue;
      const e = catCounts.get(cat.path) ?? { label: cat.name, value: b64(cat.id), count: 0 };
      e.count++; catCounts.set(cat.path, e);
    }
    out.push({ __typename: 'Aggregation', label: 'Category', attribute_code: 'category_uid', count: catCounts.size, options: opts(catCounts), position: 0 });
    const buckets = new Map();
    for (const it of list) {
      const p = finalPrice(ctx, it), lo = Math.floor(p / 10) * 10;
      const key = String(lo).padStart(8, '0');
      const e = buckets.get(key) ?? { label: `${lo}-${lo + 10}`, value: `${lo}_${lo + 10}`, count: 0 };
      e.count++; buckets.set(key, e);
    }
    const priceOpts = [...buckets].sort((a, b) => cmpStr(a[0], b[0])).map(([, o]) => ({ __typename: 'AggregationOption', ...o }));
    out.push({ __typename: 'Aggregation', label: 'Price', attribute_code: 'price', count: priceOpts.length, options: priceOpts, position: 1 });
    let pos = 2;
    for (const code of ['color', 'size', 'material']) {
      if (!attrCodes.has(code)) continue;
      const m = new Map();
      for (const it of list) {
        const vals = new Set([it.attributes?.[code], ...(childrenOf.get(it.sku) ?? []).map((k) => k.attributes?.[code])].flat().filter((x) => typeof x === 'string'));
        for (const v of vals) { const e = m.get(v) ?? { label: v, value: v, count: 0 }; e.count++; m.set(v, e); }
      }
      if (m.size) out.push({ __typename: 'Aggregation', label: code[0].toUpperCase() + code.slice(1), attribute_code: code, count: m.size, options: opts(m), position: pos++ });
    }
    return out;
  }

  // ---- categories(…), categoryList(…)

  function findCategories(filters) {
    if (filters === null || filters === undefined || (typeof filters === 'object' && !Object.keys(filters).length)) return [root];
    if (typeof filters !== 'object' || Array.isArray(filters)) throw inputError('Argument "filters" must be an input object.');
    let list = [...cats.values()];
    for (const [field, cond] of Object.entries(filters)) {
      if (cond === null) continue;
      switch (field) {
        case 'ids': case 'category_uid': case 'parent_id': case 'parent_category_uid': case 'url_key': case 'url_path': {
          const vals = eqIn(cond, field);
          if (!vals) break;
          const set = new Set(vals);
          list = list.filter((c) => {
            const v = field === 'ids' ? String(c.id) : field === 'category_uid' ? b64(c.id)
              : field === 'parent_id' ? String(c.parent?.id ?? '') : field === 'parent_category_uid' ? (c.parent ? b64(c.parent.id) : '')
                : field === 'url_key' ? c.url_key : c.url_path;
            return set.has(v);
          });
          break;
        }
        case 'name': {
          const m = typeof cond === 'object' && cond ? cond.match ?? cond.eq : undefined;
          if (m === undefined || m === null) break;
          const toks = words(m);
          list = list.filter((c) => toks.every((t) => words(c.name).some((w) => w.startsWith(t))));
          break;
        }
        default: throw inputError(`Field "${field}" is not defined by type "CategoryFilterInput".`);
      }
    }
    return list;
  }

  // ---- carts

  const ownerOf = (ctx) => (ctx.token ? `customer:${ctx.token}` : null);
  function newCart(ctx, id) {
    const cart = { id: id ?? maskedId(++state.counters.cart), owner: ownerOf(ctx), items: [], active: true };
    state.carts.set(cart.id, cart);
    return cart;
  }
  function getCart(ctx, id) {
    if (typeof id !== 'string' || !id) throw inputError('Required parameter "cart_id" is missing');
    const cart = state.carts.get(id);
    if (!cart) throw noSuchEntity(`Could not find a cart with ID "${id}"`);
    if (cart.owner !== ownerOf(ctx)) throw authError(`The current user cannot perform operations on cart "${id}"`);
    if (!cart.active) throw noSuchEntity(`The cart isn't active.`);
    return cart;
  }
  function customerCart(ctx) {
    if (!ctx.token) throw authError("The current customer isn't authorized.");
    for (const c of state.carts.values()) if (c.owner === ownerOf(ctx) && c.active) return c;
    return newCart(ctx);
  }

  function cartItemObj(ctx, line) {
    const it = bySku.get(line.sku);
    const parent = line.parentSku ? bySku.get(line.parentSku) : null;
    const unit = it.price ?? 0;
    const o = {
      __typename: parent ? 'ConfigurableCartItem' : 'SimpleCartItem',
      id: String(line.n), uid: b64(String(line.n)), quantity: line.qty,
      product: productObj(ctx, parent ?? it),
      prices: {
        __typename: 'CartItemPrices',
        price: { __typename: 'Money', currency: ctx.currency, value: round2(unit * ctx.rate * (1 - ctx.discount)) },
        price_including_tax: { __typename: 'Money', currency: ctx.currency, value: round2(unit * ctx.rate * (1 - ctx.discount)) },
        row_total: { __typename: 'Money', currency: ctx.currency, value: round2(unit * ctx.rate * (1 - ctx.discount) * line.qty) },
        row_total_including_tax: { __typename: 'Money', currency: ctx.currency, value: round2(unit * ctx.rate * (1 - ctx.discount) * line.qty) },
        total_item_discount: { __typename: 'Money', currency: ctx.currency, value: 0 },
        discounts: null,
      },
      errors: null,
    };
    if (parent) {
      o.configured_variant = productObj(ctx, it);
      o.configurable_options = (configurableAttrs.get(parent.sku) ?? []).filter((c) => typeof it.attributes?.[c] === 'string').map((c) => {
        const aid = attrIds.get(c), vi = valueIndex.get(`${c}\0${it.attributes[c]}`);
        return {
          __typename: 'SelectedConfigurableOption', id: aid, option_label: c[0].toUpperCase() + c.slice(1), value_id: vi, value_label: it.attributes[c],
          configurable_product_option_uid: b64(`configurable/${aid}`), configurable_product_option_value_uid: b64(`configurable/${aid}/${vi}`),
        };
      });
    }
    return o;
  }
  function cartObj(ctx, cart) {
    const lines = () => cart.items.map((l) => cartItemObj(ctx, l));
    const subtotal = round2(cart.items.reduce((s, l) => s + round2((bySku.get(l.sku).price ?? 0) * ctx.rate * (1 - ctx.discount)) * l.qty, 0));
    const m = (v) => ({ __typename: 'Money', currency: ctx.currency, value: v });
    return {
      __typename: 'Cart', id: cart.id, email: null, is_virtual: false,
      total_quantity: cart.items.reduce((s, l) => s + l.qty, 0),
      total_summary_quantity_including_config: cart.items.reduce((s, l) => s + l.qty, 0),
      items: lines,
      itemsV2: (a) => {
        const all = lines(), ps = a.pageSize ?? 20, cp = a.currentPage ?? 1;
        return { __typename: 'CartItems', items: all.slice((cp - 1) * ps, cp * ps), total_count: all.length, page_info: { __typename: 'SearchResultPageInfo', current_page: cp, page_size: ps, total_pages: Math.ceil(all.length / ps) } };
      },
      prices: {
        __typename: 'CartPrices', grand_total: m(subtotal), subtotal_excluding_tax: m(subtotal), subtotal_including_tax: m(subtotal),
        subtotal_with_discount_excluding_tax: m(subtotal), applied_taxes: [], discounts: null,
      },
      applied_coupons: null, shipping_addresses: [], billing_address: null,
      available_payment_methods: [{ __typename: 'AvailablePaymentMethod', code: 'checkmo', title: 'Check / Money order' }],
      selected_payment_method: { __typename: 'SelectedPaymentMethod', code: '', title: '' },
    };
  }

  /** Adds one line; returns a user error object or null. */
  function addLine(cart, sku, qty, { parentSku = null, selected = [] } = {}) {
    if (typeof sku !== 'string' || !bySku.has(sku)) return { code: 'PRODUCT_NOT_FOUND', message: `Could not find a product with SKU "${sku}"` };
    if (typeof qty !== 'number' || !(qty > 0)) return { code: 'INVALID_PARAMETER_VALUE', message: 'The product quantity should be greater than 0' };
    let it = bySku.get(sku);
    if (childrenOf.has(it.sku)) { // a configurable parent: the selected options pick the child
      const kids = childrenOf.get(it.sku);
      const wanted = new Set(selected.map(String));
      const codes = configurableAttrs.get(it.sku) ?? [];
      const child = wanted.size ? kids.find((k) => codes.every((c) => typeof k.attributes?.[c] !== 'string' || wanted.has(b64(`configurable/${attrIds.get(c)}/${valueIndex.get(`${c}\0${k.attributes[c]}`)}`)))) : null;
      if (!child) return { code: 'UNDEFINED', message: 'You need to choose options for your item.' };
      parentSku = it.sku; it = child;
    } // a child added by its own sku (no parent_sku) is a simple line, as in Magento
    if (parentSku && !bySku.has(parentSku)) return { code: 'PRODUCT_NOT_FOUND', message: `Could not find a product with SKU "${parentSku}"` };
    if (it.in_stock === false) return { code: 'INSUFFICIENT_STOCK', message: 'Product that you are trying to add is not available.' };
    const line = cart.items.find((l) => l.sku === it.sku && l.parentSku === parentSku);
    if (line) line.qty += qty;
    else cart.items.push({ n: ++state.counters.item, sku: it.sku, parentSku, qty });
    return null;
  }

  // ---- root fields

  function queryRoot(ctx) {
    return {
      __typename: 'Query',
      products: (a) => productsField(ctx, a),
      categories: (a) => {
        const list = findCategories(a.filters);
        const ps = a.pageSize ?? 20, cp = a.currentPage ?? 1;
        for (const c of list) ctx.tags.add(`cat_c_${c.id}`);
        return {
          __typename: 'CategoryResult', items: list.slice((cp - 1) * ps, cp * ps).map((c) => categoryObj(ctx, c)), total_count: list.length,
          page_info: { __typename: 'SearchResultPageInfo', current_page: cp, page_size: ps, total_pages: Math.ceil(list.length / ps) },
        };
      },
      categoryList: (a) => findCategories(a.filters).map((c) => { ctx.tags.add(`cat_c_${c.id}`); return categoryObj(ctx, c); }),
      storeConfig: () => ({
        __typename: 'StoreConfig', id: ctx.store.id, code: ctx.storeCode, store_code: ctx.storeCode, store_name: ctx.store.name,
        locale: ctx.store.locale, base_currency_code: 'USD', default_display_currency_code: ctx.store.currency,
        grid_per_page: gridPerPage, list_per_page: 10, root_category_uid: b64(root.id), root_category_id: root.id,
        catalog_default_sort_by: 'position', category_url_suffix: '.html', product_url_suffix: '.html',
        magento_wishlist_general_is_enabled: '1', secure_base_media_url: `${mediaUrl.replace(/catalog\/product\/?$/, '')}`,
      }),
      currency: () => ({
        __typename: 'Currency', base_currency_code: 'USD', base_currency_symbol: '$',
        default_display_currency_code: ctx.store.currency, available_currency_codes: Object.keys(rates),
        exchange_rates: Object.entries(rates).map(([c, r]) => ({ __typename: 'ExchangeRate', currency_to: c, rate: r })),
      }),
      availableStores: () => Object.entries(stores).map(([code, s]) => ({
        __typename: 'StoreConfig', id: s.id, code, store_code: code, store_name: s.name, locale: s.locale,
        default_display_currency_code: s.currency, base_currency_code: 'USD',
      })),
      route: (a) => {
        const u = String(a.url ?? '').replace(/^\/+/, '').replace(/\.html$/, '');
        const it = byUrlKey.get(u);
        if (it && enabled(it)) return productObj(ctx, it);
        const c = catByUrlPath.get(u);
        return c ? categoryObj(ctx, c) : null;
      },
      __type: (a) => (a.name === 'ProductAttributeFilterInput' ? {
        __typename: '__Type', name: 'ProductAttributeFilterInput', kind: 'INPUT_OBJECT',
        inputFields: [
          ['category_id', 'FilterEqualTypeInput'], ['category_uid', 'FilterEqualTypeInput'], ['category_url_path', 'FilterEqualTypeInput'],
          ['description', 'FilterMatchTypeInput'], ['name', 'FilterMatchTypeInput'], ['price', 'FilterRangeTypeInput'],
          ['short_description', 'FilterMatchTypeInput'], ['sku', 'FilterEqualTypeInput'], ['url_key', 'FilterEqualTypeInput'],
          ...[...attrCodes].sort(cmpStr).map((c) => [c, 'FilterEqualTypeInput']),
        ].map(([name, t]) => ({ __typename: '__InputValue', name, type: { __typename: '__Type', name: t, kind: 'INPUT_OBJECT' } })),
      } : null),
      cart: (a) => cartObj(ctx, getCart(ctx, a.cart_id)),
      customerCart: () => cartObj(ctx, customerCart(ctx)),
    };
  }

  function mutationRoot(ctx) {
    return {
      __typename: 'Mutation',
      createEmptyCart: (a) => {
        if (ctx.token) return customerCart(ctx).id;
        const want = a.input?.cart_id;
        if (want !== undefined && state.carts.has(want)) throw inputError(`Cart with ID "${want}" already exists.`);
        return newCart(ctx, want).id;
      },
      createGuestCart: (a) => {
        if (ctx.token) throw inputError('Use `Query.customerCart` for logged in customer.');
        const want = a.input?.cart_uid;
        if (want !== undefined && state.carts.has(want)) throw inputError(`Cart with ID "${want}" already exists.`);
        return { __typename: 'CreateGuestCartOutput', cart: cartObj(ctx, newCart(ctx, want)) };
      },
      addProductsToCart: (a) => {
        const cart = getCart(ctx, a.cartId);
        if (!Array.isArray(a.cartItems)) throw inputError('Required parameter "cartItems" is missing.');
        const user_errors = [];
        for (const ci of a.cartItems) {
          const err = addLine(cart, ci?.sku, ci?.quantity, { parentSku: ci?.parent_sku ?? null, selected: ci?.selected_options ?? [] });
          if (err) user_errors.push({ __typename: 'CartUserInputError', ...err });
        }
        return { __typename: 'AddProductsToCartOutput', cart: cartObj(ctx, cart), user_errors };
      },
      addSimpleProductsToCart: (a) => {
        const cart = getCart(ctx, a.input?.cart_id);
        for (const ci of a.input?.cart_items ?? []) {
          const err = addLine(cart, ci?.data?.sku, ci?.data?.quantity);
          if (err) throw (err.code === 'PRODUCT_NOT_FOUND' ? noSuchEntity : inputError)(err.message);
        }
        return { __typename: 'AddSimpleProductsToCartOutput', cart: cartObj(ctx, cart) };
      },
      addConfigurableProductsToCart: (a) => {
        const cart = getCart(ctx, a.input?.cart_id);
        for (const ci of a.input?.cart_items ?? []) {
          const sku = ci?.variant_sku ?? ci?.data?.sku;
          const parent = ci?.parent_sku;
          if (typeof parent !== 'string' || !bySku.has(parent)) throw noSuchEntity(`Could not find a product with SKU "${parent}"`);
          if (typeof sku !== 'string' || bySku.get(sku)?.parent !== parent) throw inputError(`Could not find specified product.`);
          const err = addLine(cart, sku, ci?.data?.quantity, { parentSku: parent });
          if (err) throw (err.code === 'PRODUCT_NOT_FOUND' ? noSuchEntity : inputError)(err.message);
        }
        return { __typename: 'AddConfigurableProductsToCartOutput', cart: cartObj(ctx, cart) };
      },
      // Magento's wishlist (signed-in customers only): AddProductsToWishlistOutput {wishlist, user_errors}
      addProductsToWishlist: (a) => {
        if (!ctx.token) throw authError('The current user cannot perform operations on wishlist');
        const owner = ownerOf(ctx);
        const list = state.wishlists.get(owner) ?? [];
        const user_errors = [];
        for (const it of Array.isArray(a.wishlistItems) ? a.wishlistItems : []) {
          if (typeof it?.sku !== 'string' || !bySku.has(it.sku)) { user_errors.push({ __typename: 'WishListUserInputError', code: 'PRODUCT_NOT_FOUND', message: `Could not find a product with SKU "${it?.sku}"` }); continue; }
          if (!list.includes(it.sku)) list.push(it.sku);
        }
        state.wishlists.set(owner, list);
        return { __typename: 'AddProductsToWishlistOutput', user_errors,
          wishlist: { __typename: 'Wishlist', id: '1', items_count: list.length, sharing_code: null, updated_at: '2031-03-03 12:00:00' } };
      },
      placeOrder: (a) => {
        const cart = getCart(ctx, a.input?.cart_id);
        if (!cart.items.length) throw inputError('Unable to place order: A server error stopped your order from being placed. Please try to place your order again');
        const number = String(++state.counters.order).padStart(9, '0');
        cart.active = false;
        state.orders.push({ number, cartId: cart.id, owner: cart.owner, items: cart.items.map((l) => ({ sku: l.sku, parentSku: l.parentSku, qty: l.qty })) });
        return { __typename: 'PlaceOrderOutput', order: { __typename: 'Order', order_number: number, order_id: number }, orderV2: { __typename: 'CustomerOrder', number, id: b64(number) }, errors: [] };
      },
      generateCustomerToken: (a) => {
        if (typeof a.email !== 'string' || !a.email.includes('@') || typeof a.password !== 'string' || !a.password) {
          throw authError('The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.');
        }
        if (options.jwtKey) { // signed after execution (WebCrypto is async): a placeholder until then
          if (!state.customers.has(a.email)) state.customers.set(a.email, state.customers.size + 1);
          const iat = Math.floor(clock() / 1000);
          const mark = `\u0000jwt${ctx.jwts.length}\u0000`;
          ctx.jwts.push({ mark, email: a.email, claims: { uid: state.customers.get(a.email), utypid: 3, iat, exp: iat + jwtTtl } });
          return { __typename: 'CustomerToken', token: mark };
        }
        const token = `standin-${hex64(`${a.email}\0${++state.counters.token}`).slice(0, 32)}`;
        state.tokens.set(token, a.email);
        return { __typename: 'CustomerToken', token };
      },
      revokeCustomerToken: () => {
        if (!ctx.token) throw authError("The current customer isn't authorized.");
        state.tokens.delete(ctx.token);
        return { __typename: 'RevokeCustomerTokenOutput', result: true };
      },
    };
  }

  // ---- execution

  function execute(doc, operationName, vars, ctx, method) {
    const ops = doc.operations;
    let op;
    if (operationName) {
      op = ops.find((o) => o.name === operationName);
      if (!op) throw new GqlError(`Unknown operation named "${operationName}".`, 'graphql');
    } else {
      if (ops.length !== 1) throw new GqlError('Must provide operation name if query contains multiple operations.', 'graphql');
      op = ops[0];
    }
    if (op.type === 'subscription') throw new GqlError('Subscriptions are not supported.', 'graphql', op.loc);
    if (op.type === 'mutation' && method !== 'POST') throw new GqlError('Mutation requests allowed only for HTTP POST requests', 'graphql', op.loc);
    const values = {};
    for (const d of op.varDefs) {
      if (vars[d.name] !== undefined) values[d.name] = vars[d.name];
      else if (d.defaultValue) values[d.name] = resolveValue(d.defaultValue, {});
      else if (d.type.endsWith('!')) throw inputError(`Variable "$${d.name}" of required type "${d.type}" was not provided.`);
    }
    const ex = { vars: values, fragments: doc.fragments };
    const rootObj = op.type === 'mutation' ? mutationRoot(ctx) : queryRoot(ctx);
    const fields = collectFields([op.selectionSet], rootObj.__typename, ex);
    for (const [, nodes] of fields) {
      const n = nodes[0].name;
      if (n !== '__typename' && !Object.hasOwn(rootObj, n)) throw inputError(`Cannot query field "${n}" on type "${rootObj.__typename}".`);
      if (!CACHEABLE_ROOTS.has(n)) ctx.cacheable = false;
    }
    if (op.type !== 'query') ctx.cacheable = false;
    const data = {}, errors = [];
    for (const [key, nodes] of fields) {
      const f = nodes[0];
      if (f.name === '__typename') { data[key] = rootObj.__typename; continue; }
      try {
        const v = rootObj[f.name](resolveArgs(f.args, values));
        data[key] = complete(v, nodes.map((x) => x.selectionSet).filter(Boolean), ex);
      } catch (e) {
        if (!(e instanceof GqlError)) throw e;
        data[key] = null;
        errors.push(errorJson(e, f.loc, [key]));
      }
    }
    return errors.length ? { errors, data } : { data };
  }

  function errorJson(e, loc, path) {
    const o = { message: e.message, extensions: { category: e.category } };
    const l = e.loc ?? loc;
    if (l) o.locations = [l];
    if (path) o.path = path;
    return o;
  }

  function requestContext(headers) {
    const storeCode = headers.get('store') || 'default';
    const store = stores[storeCode];
    if (!store) throw noSuchEntity('Requested store is not found');
    const currency = headers.get('content-currency') || store.currency;
    if (!Object.hasOwn(rates, currency)) throw inputError(`Currency not allowed for store ${storeCode}`);
    const auth = headers.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    const token = m ? m[1] : null;
    return {
      storeCode, store, currency, rate: rates[currency], token, discount: token ? customerDiscount : 0,
      group: token ? 1 : 0, products: new Map(), tags: new Set(), cacheable: true, jwts: [],
    };
  }

  // ---- HTTP

  function json(status, body, headers) {
    return new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });
  }

  let hugeBody = null;
  function huge() {
    if (hugeBody) return hugeBody;
    const parts = [];
    let size = 0, n = 0;
    const base = listable.length ? listable : items;
    while (size < hugeBytes) {
      const it = base[n % base.length], copy = Math.floor(n / base.length);
      const id = 100000 + n;
      const p = round2(basePrices.get(it)[0]);
      const s = JSON.stringify({
        id, uid: b64(id), name: `${it.name ?? it.sku} ${copy + 1}`,
        price_range: { maximum_price: { final_price: { currency: 'USD', value: p } } },
        sku: `${it.sku}-H${copy}`, small_image: { url: imageOf(it, 'ProductImage').url }, stock_status: 'IN_STOCK',
        rating_summary: id % 101, __typename: 'SimpleProduct', url_key: `${it.url_key ?? slug(it.sku)}-h${copy}`,
      });
      parts.push(s); size += s.length + 1; n++;
    }
    hugeBody = `{"data":{"products":{"items":[${parts.join(',')}],"page_info":{"total_pages":1},"total_count":${n}}}}`;
    return hugeBody;
  }

  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      const entry = {};
      const done = (err) => {
        clearTimeout(entry.timer); pending.delete(entry); signal?.removeEventListener?.('abort', entry.onAbort);
        if (err) reject(err); else resolve();
      };
      const abortError = () => { const e = new Error('The operation was aborted'); e.name = 'AbortError'; return e; };
      entry.abort = () => done(abortError());
      entry.onAbort = () => done(abortError());
      if (signal?.aborted) return done(abortError());
      entry.timer = setTimeout(() => done(null), ms);
      signal?.addEventListener?.('abort', entry.onAbort);
      pending.add(entry);
    });
  }

  async function handle(request) {
    const url = new URL(request.url);
    const sc = /^\/__standin\/scenario\/([A-Za-z0-9_.-]{1,64})(\/.*)?$/.exec(url.pathname);
    if (sc) return scenario(request, url, sc[1], sc[2]);
    const method = request.method.toUpperCase();
    const hdrs = {};
    for (const [k, v] of request.headers) hdrs[k] = v;
    const bodyText = method === 'GET' || method === 'HEAD' ? null : await request.text();
    state.requests.push({ method, url: request.url, headers: hdrs, body: bodyText });

    const fault = (request.headers.get('x-standin-fault') ?? '').trim().toLowerCase();
    if (fault === '500') {
      return new Response('<!doctype html><html><head><title>Error 500</title></head><body><h1>There has been an error processing your request</h1><p>Exception printing is disabled by default for security reasons.</p><p>Error log record number: 1a2b3c4d5e6f</p></body></html>\n',
        { status: 500, headers: { 'content-type': 'text/html; charset=UTF-8', 'cache-control': CACHE_NONE } });
    }
    if (fault === 'garbage') {
      return json(200, '{"data":{"products":{"items":[{"id":1,"uid":"MQ==","name":"Chaz Kangeroo Hoo', { 'cache-control': CACHE_PUBLIC });
    }
    if (fault === 'huge') return json(200, huge(), { 'cache-control': CACHE_PUBLIC });
    if (fault === 'timeout') await sleep(timeoutMs, request.signal);

    if (url.pathname === '/__standin/product' && method === 'POST') return changeProduct(bodyText);
    const rest = /^\/rest(?:\/([A-Za-z0-9_]+))?\/V1\/products\/?$/.exec(url.pathname);
    if (rest) return restProducts(request, url, rest[1] ?? 'default', method);
    if (url.pathname !== '/graphql' && url.pathname !== '/graphql/') {
      return new Response('<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n', { status: 404, headers: { 'content-type': 'text/html; charset=UTF-8' } });
    }
    const noCache = { 'cache-control': CACHE_NONE, pragma: 'no-cache' };
    const vary = options.vary ? { vary: 'Store, Content-Currency, Authorization, X-Magento-Cache-Id' } : {};
    const fail = (e, status = 200) => json(status, JSON.stringify({ errors: [errorJson(e, null, null)] }), { ...noCache, ...vary });
    if (method !== 'GET' && method !== 'POST') return fail(new GqlError(`Request method ${method} is not allowed`, 'graphql'), 405);

    let query, operationName, variables;
    if (method === 'GET') {
      query = url.searchParams.get('query');
      operationName = url.searchParams.get('operationName') || null;
      const v = url.searchParams.get('variables');
      if (v) {
        try { variables = JSON.parse(v); } catch { return fail(inputError('Unable to unserialize value. Error: Syntax error')); }
      }
    } else {
      let body;
      try { body = JSON.parse(bodyText || 'null'); } catch { return fail(inputError('Unable to unserialize value. Error: Syntax error')); }
      if (!body || typeof body !== 'object' || Array.isArray(body)) return fail(inputError('Unable to parse the request: the body must be a JSON object.'));
      ({ query, operationName = null, variables } = body);
    }
    if (variables === null || variables === undefined) variables = {};
    if (typeof variables !== 'object' || Array.isArray(variables)) return fail(inputError('Variables must be a JSON object.'));
    if (typeof query !== 'string' || !query.trim()) return fail(new GqlError('Syntax Error: Unexpected <EOF>.', 'graphql'));

    let ctx, result;
    try {
      ctx = requestContext(request.headers);
      const doc = readDocument(query);
      result = execute(doc, operationName, variables, ctx, method);
    } catch (e) {
      if (!(e instanceof GqlError)) throw e;
      return fail(e);
    }
    const cacheable = method === 'GET' && !ctx.token && ctx.cacheable && !result.errors;
    const headers = cacheable
      ? { 'cache-control': CACHE_PUBLIC, pragma: 'cache', 'x-magento-tags': ['FPC', ...[...ctx.tags].slice(0, 200)].join(',') }
      : noCache;
    const cacheId = request.headers.get('x-magento-cache-id') || hex64(`${ctx.storeCode}|${ctx.currency}|${ctx.group}`);
    let text = JSON.stringify(result);
    for (const j of ctx.jwts) { // generateCustomerToken's JWTs
      const token = await magentoJwt(options.jwtKey, j.claims);
      state.tokens.set(token, j.email);
      text = text.replace(JSON.stringify(j.mark).slice(1, -1), token);
    }
    return json(200, text, { ...headers, 'x-magento-cache-id': cacheId, ...vary });
  }

  // ---- REST: GET /rest/<store>/V1/products (the integration token path) ----------------------------

  const restJson = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': CACHE_NONE } });

  function restProduct(it) {
    const kids = childrenOf.get(it.sku);
    const catIds = [...new Set(it.categories ?? [])].map((p) => cats.get(String(p).split('/').filter(Boolean).join('/'))?.id).filter(Boolean);
    return {
      id: idOf.get(it), sku: it.sku, name: it.name ?? it.sku, attribute_set_id: 4,
      price: kids?.length ? 0 : it.price ?? 0, // a configurable parent's own price is 0; its children's count
      status: disabled.has(it.sku) ? 2 : 1, visibility: it.parent || it.visible === false ? 1 : 4,
      type_id: kids?.length ? 'configurable' : 'simple', created_at: baseUpdatedAt, updated_at: updatedAt.get(it.sku) ?? baseUpdatedAt,
      weight: kids?.length ? undefined : 1,
      extension_attributes: {
        website_ids: [1], category_links: catIds.map((id, i) => ({ position: i, category_id: String(id) })),
        ...(kids?.length ? { configurable_product_links: kids.map((k) => idOf.get(k)) } : {}),
      },
      product_links: [], options: [], media_gallery_entries: [mediaEntry(it)], tier_prices: [],
      custom_attributes: [
        { attribute_code: 'url_key', value: it.url_key ?? slug(it.sku) },
        { attribute_code: 'category_ids', value: catIds.map(String) },
        { attribute_code: 'tax_class_id', value: '2' },
      ],
    };
  }

  const SC = /^searchCriteria((?:\[[^\]]*\])+)$/;
  /** searchCriteria[...] query parameters → {groups: [[{field, value, condition_type}]], sorts, pageSize, currentPage}. */
  function searchCriteria(params) {
    const groups = [], sorts = [];
    let pageSize = null, currentPage = 1, seen = false;
    for (const [k, v] of params) {
      const m = SC.exec(k);
      if (!m) continue;
      seen = true;
      const path = [...m[1].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]);
      if (path[0] === 'filter_groups' && path[2] === 'filters' && path.length === 5) {
        const g = (groups[Number(path[1])] ??= []);
        (g[Number(path[3])] ??= {})[path[4]] = v;
      } else if (path[0] === 'sortOrders' && path.length === 3) (sorts[Number(path[1])] ??= {})[path[2]] = v;
      else if (path[0] === 'pageSize' && path.length === 1) pageSize = Number(v);
      else if (path[0] === 'currentPage' && path.length === 1) currentPage = Number(v);
    }
    return seen ? { groups: groups.filter(Boolean).map((g) => g.filter(Boolean)), sorts: sorts.filter(Boolean), pageSize, currentPage } : null;
  }

  function matches(p, f) {
    const cond = (f.condition_type ?? 'eq').toLowerCase();
    const field = f.field === 'entity_id' ? 'id' : f.field;
    const x = p[field] ?? (p.custom_attributes.find((a) => a.attribute_code === field)?.value ?? null);
    const num = typeof x === 'number';
    const val = (v) => (num ? Number(v) : String(v));
    const list = () => String(f.value ?? '').split(',').map((v) => val(v.trim()));
    switch (cond) {
      case 'eq': return x !== null && x === val(f.value);
      case 'neq': return x === null || x !== val(f.value);
      case 'gt': return x !== null && x > val(f.value);
      case 'gteq': return x !== null && x >= val(f.value);
      case 'lt': return x !== null && x < val(f.value);
      case 'lteq': return x !== null && x <= val(f.value);
      case 'in': return x !== null && list().includes(x);
      case 'nin': return x === null || !list().includes(x);
      case 'like': {
        const re = new RegExp(`^${String(f.value ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 'i');
        return x !== null && re.test(String(x));
      }
      case 'null': return x === null;
      case 'notnull': return x !== null;
      default: throw new Error(`Invalid condition type: ${cond}`);
    }
  }

  /** Magento's `fields` parameter: "items[sku,updated_at],total_count" → a projection. */
  function fieldsFilter(spec) {
    let i = 0;
    const list = () => {
      const out = {};
      while (i < spec.length) {
        let name = '';
        while (i < spec.length && !',[]'.includes(spec[i])) name += spec[i++];
        name = name.trim();
        let sub = true;
        if (spec[i] === '[') { i++; sub = list(); i++; }
        if (name) out[name] = sub;
        if (spec[i] === ',') { i++; continue; }
        if (spec[i] === ']' || i >= spec.length) break;
      }
      return out;
    };
    return list();
  }
  function project(v, f) {
    if (f === true || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => project(x, f));
    const out = {};
    for (const [k, sub] of Object.entries(f)) if (Object.hasOwn(v, k)) out[k] = project(v[k], sub);
    return out;
  }

  function restProducts(request, url, storeCode, method) {
    if (method !== 'GET') return restJson(405, { message: 'Request does not match any route.' });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    if (!m || !integrationTokens.has(m[1])) {
      return restJson(401, { message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'Magento_Catalog::products' } });
    }
    if (storeCode !== 'all' && !Object.hasOwn(stores, storeCode)) return restJson(400, { message: "The store that was requested wasn't found. Verify the store and try again." });
    const sc = searchCriteria(url.searchParams);
    if (!sc) return restJson(400, { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'searchCriteria' } });
    let list;
    try {
      list = items.map(restProduct).filter((p) => sc.groups.every((g) => g.some((f) => matches(p, f))));
    } catch (e) {
      return restJson(400, { message: e.message });
    }
    const sorts = sc.sorts.map((o) => [o.field === 'entity_id' ? 'id' : o.field, String(o.direction ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1]);
    list.sort((a, b) => {
      for (const [f, d] of sorts) {
        const x = a[f], y = b[f];
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : cmpStr(String(x ?? ''), String(y ?? ''));
        if (c) return c * d;
      }
      return a.id - b.id;
    });
    const total = list.length;
    let page = list, current = sc.currentPage || 1;
    if (sc.pageSize > 0) {
      const last = Math.max(1, Math.ceil(total / sc.pageSize));
      if (current > last) current = last; // Magento's collection: past the end, the last page again
      page = list.slice((current - 1) * sc.pageSize, current * sc.pageSize);
    }
    const criteria = {
      filter_groups: sc.groups.map((g) => ({ filters: g.map((f) => ({ field: f.field, value: f.value, condition_type: f.condition_type ?? 'eq' })) })),
      ...(sorts.length ? { sort_orders: sc.sorts.map((o) => ({ field: o.field, direction: String(o.direction ?? 'ASC').toUpperCase() })) } : {}),
      ...(sc.pageSize > 0 ? { page_size: sc.pageSize } : {}), current_page: current,
    };
    let body = { items: page, search_criteria: criteria, total_count: total };
    const fields = url.searchParams.get('fields');
    if (fields) body = project(body, fieldsFilter(fields));
    return restJson(200, body);
  }

  const magentoTime = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

  /** POST /__standin/product: a product saved in the admin (test-only). */
  function changeProduct(bodyText) {
    let b;
    try { b = JSON.parse(bodyText || 'null'); } catch { b = null; }
    const it = b && typeof b.sku === 'string' ? bySku.get(b.sku) : null;
    if (!it) return restJson(404, { message: "The product that was requested doesn't exist. Verify the product and try again." });
    if (b.price !== undefined) {
      if (typeof b.price !== 'number' || !(b.price >= 0)) return restJson(400, { message: 'price must be a number ≥ 0' });
      it.price = b.price;
      for (const x of [it, it.parent ? bySku.get(it.parent) : null]) {
        if (!x) continue;
        const kids = childrenOf.get(x.sku);
        const ps = kids?.length ? kids.map((k) => k.price ?? 0) : [x.price ?? 0];
        basePrices.set(x, [Math.min(...ps), Math.max(...ps)]);
      }
    }
    if (typeof b.name === 'string' && b.name) it.name = b.name;
    if (typeof b.in_stock === 'boolean') it.in_stock = b.in_stock;
    if (b.status === 2) disabled.add(it.sku);
    else if (b.status === 1) disabled.delete(it.sku);
    updatedAt.set(it.sku, typeof b.updated_at === 'string' ? b.updated_at : magentoTime(clock()));
    hugeBody = null;
    return restJson(200, restProduct(it));
  }

  // ---- scenarios: stand-ins of their own over a copy of the catalog ------------------------------------

  const scenarios = new Map();
  async function scenario(request, url, name, rest) {
    if (!rest || rest === '/') {
      if (request.method.toUpperCase() !== 'DELETE') return restJson(405, { message: 'DELETE /__standin/scenario/<name> forgets it' });
      scenarios.get(name)?.close();
      scenarios.delete(name);
      return new Response(null, { status: 204 });
    }
    let m = scenarios.get(name);
    if (!m) { m = createMagento(structuredClone(catalog), options); scenarios.set(name, m); }
    const inner = new URL(url);
    inner.pathname = rest;
    const method = request.method.toUpperCase();
    const body = method === 'GET' || method === 'HEAD' ? undefined : await request.arrayBuffer();
    return m.handle(new Request(inner.toString(), { method, headers: request.headers, body, signal: request.signal }));
  }

  function close() { for (const e of [...pending]) e.abort(); for (const m of scenarios.values()) m.close(); }

  return { handle, state, close, categories: cats, root };
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
