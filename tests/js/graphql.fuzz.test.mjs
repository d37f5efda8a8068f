// graphql.fuzz.test.mjs — property-based fuzzing (fast-check; tests/js/fuzz.mjs: FUZZ_RUNS, FUZZ_SEED) of
// worker-shim/core/graphql.js, what the Worker and Lambda@Edge read every storefront request with:
// arbitrary bodies, query strings, documents, variables and operation names, and mutations of the
// real documents Venia and Adobe's components send.  Properties: readOperation never throws and gives
// an op or one of the documented reasons; every question (explicitSort, isListing, pageType,
// productViewKey, cartSkus, wishlistSkus, isPlaceOrder) never throws and answers in its documented
// type and bounds; the bounds (size, tokens, depth) hold in bounded time; answers follow the variables
// exactly (an oracle per question); comments and whitespace between tokens change no answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LIMITS, cartSkus, explicitSort, isListing, isPlaceOrder, pageType, productViewKey, readOperation, wishlistSkus,
} from '../../worker-shim/core/graphql.js';
import { ADD_TO_CART, CREATE_CART, GET_CATEGORIES, GET_PRODUCT, PLACE_ORDER, PRODUCT_SEARCH } from '../lib/venia-queries.mjs';
import { BOILERPLATE, DROPIN } from '../lib/adobe-queries.mjs';
import { CALL_MS, anyString, fc, params, timed } from './fuzz.mjs';

const URL0 = 'https://shop.example/graphql';
const REASONS = new Set(['no-operation', 'document-too-large', 'too-many-tokens', 'too-deep', 'syntax', 'unknown-operation',
  'variables-too-large', 'bad-variables', 'bad-operation-name']);
const DOCS = { GET_CATEGORIES, GET_PRODUCT, PRODUCT_SEARCH, CREATE_CART, ADD_TO_CART, PLACE_ORDER, BOILERPLATE, DROPIN };
const DEFAULT_SORTS = new Set(['position', 'relevance']);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

const post = (body) => readOperation('POST', new URL(URL0), body);
function get(params0) {
  const u = new URL(URL0);
  for (const [k, v] of Object.entries(params0)) if (v !== undefined) u.searchParams.set(k, v);
  return readOperation('GET', u, null);
}
const skuList = (v) => v === null || (Array.isArray(v) && v.length >= 1 && v.length <= 64 && new Set(v).size === v.length
  && v.every((s) => typeof s === 'string' && s.length >= 1 && s.length <= 128));

/** The documented shape of readOperation's answer and of every question about it, in bounded time. */
function answers(read) {
  const [r, ms] = timed(read);
  assert.ok(ms < CALL_MS, `readOperation took ${ms.toFixed(0)} ms`);
  assert.ok(r && typeof r === 'object');
  if (r.op === null) assert.ok(REASONS.has(r.reason), `undocumented reason ${r.reason}`);
  else {
    assert.equal(r.reason, null);
    assert.ok(['query', 'mutation', 'subscription'].includes(r.op.kind));
    assert.ok(isObject(r.op.variables));
  }
  const a = {
    sort: explicitSort(r.op), listing: isListing(r.op), page: pageType(r.op), view: productViewKey(r.op),
    cart: cartSkus(r.op), wish: wishlistSkus(r.op), order: isPlaceOrder(r.op),
  };
  assert.ok(a.sort === null || (typeof a.sort === 'string' && !DEFAULT_SORTS.has(a.sort)));
  assert.equal(typeof a.listing, 'boolean');
  assert.ok([null, 'category', 'search'].includes(a.page));
  assert.ok(a.view === null || (typeof a.view === 'string' && a.view.length >= 1 && a.view.length <= 255));
  assert.ok(skuList(a.cart) && skuList(a.wish), `sku lists: ${JSON.stringify([a.cart, a.wish])}`);
  assert.equal(typeof a.order, 'boolean');
  if (r.op === null) assert.deepEqual(a, { sort: null, listing: false, page: null, view: null, cart: null, wish: null, order: false });
  return { ...a, reason: r.reason };
}

// GraphQL-ish token soup: the lexer's and parser's corners (nesting, strings, block strings, comments,
// spreads, directives, variables) in any order.
const TOKENS = ['{', '}', '(', ')', '[', ']', ':', '$', '...', '@', '!', '=', '|', '&', 'query', 'mutation', 'subscription',
  'fragment', 'on', 'products', 'sort', 'filter', 'search', 'url_key', 'eq', 'placeOrder', 'addProductsToCart', 'addProductsToWishlist',
  'sku', 'items', '$v', '$sort', 'true', 'false', 'null', '0', '-1.5e3', '"x"', '"\\u00e9"', '"""block"""', '"unterminated', '# c\n',
  '@skip(if: true)', '@include(if: $v)', '"position"', 'ASC', '\u00a0', '\t', '\n', ','];
const tokenSoup = fc.array(fc.oneof(fc.constantFrom(...TOKENS), fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,8}$/)), { maxLength: 80 })
  .map((ts) => ts.join(' '));
const anyJson = fc.jsonValue({ maxDepth: 4 });
const anyVariables = fc.oneof(fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 6 }), anyJson);

test('POST: any body (text, JSON, JSON objects of any fields) → an op or a documented reason, never a throw', () => {
  fc.assert(fc.property(fc.oneof(
    anyString({ maxLength: 300 }),
    anyJson.map((v) => JSON.stringify(v)),
    fc.record({ query: fc.oneof(tokenSoup, anyJson), variables: anyVariables, operationName: fc.oneof(anyString({ maxLength: 20 }), anyJson) },
      { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  ), (body) => { answers(() => post(body)); }), params());
});

test('GET: any query string (query, variables, operationName) → an op or a documented reason, never a throw', () => {
  fc.assert(fc.property(
    fc.option(fc.oneof(tokenSoup, anyString({ maxLength: 200 }), fc.constantFrom(...Object.values(DOCS))), { nil: undefined }),
    fc.option(fc.oneof(anyString({ maxLength: 100 }), anyVariables.map((v) => JSON.stringify(v))), { nil: undefined }),
    fc.option(anyString({ maxLength: 30 }), { nil: undefined }),
    (query, variables, operationName) => { answers(() => get({ query, variables, operationName })); },
  ), params());
});

test('other methods are not read: no-operation', () => {
  fc.assert(fc.property(fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get', 'post', ''), anyString({ maxLength: 50 }), (m, body) => {
    assert.deepEqual(readOperation(m, new URL(URL0), body), { op: null, reason: 'no-operation' });
  }), params(0.25));
});

// Mutations of the real documents: delete, duplicate, insert a token, swap two slices.
const edit = fc.oneof(
  fc.record({ k: fc.constant('del'), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ k: fc.constant('dup'), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ k: fc.constant('ins'), at: fc.nat(), tok: fc.oneof(fc.constantFrom(...TOKENS), anyString({ maxLength: 4 })) }),
  fc.record({ k: fc.constant('swap'), a: fc.nat(), b: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
);
function mutate(doc, edits) {
  let s = doc;
  for (const e of edits) {
    const n = Math.max(1, s.length);
    if (e.k === 'del') { const i = e.at % n; s = s.slice(0, i) + s.slice(i + e.len); }
    if (e.k === 'dup') { const i = e.at % n; s = s.slice(0, i) + s.slice(i, i + e.len) + s.slice(i); }
    if (e.k === 'ins') { const i = e.at % (s.length + 1); s = `${s.slice(0, i)}${e.tok}${s.slice(i)}`; }
    if (e.k === 'swap') {
      const [i, j] = [e.a % n, e.b % n].sort((x, y) => x - y);
      if (i + e.len <= j) s = s.slice(0, i) + s.slice(j, j + e.len) + s.slice(i + e.len, j) + s.slice(i, i + e.len) + s.slice(j + e.len);
    }
  }
  return s;
}
const venia = fc.constantFrom(...Object.entries(DOCS));
const realVariables = fc.record({
  uid: fc.oneof(fc.constant('MTI='), anyJson), urlKey: fc.oneof(fc.constant('didi-sport-watch'), anyJson), cartId: anyJson,
  pageSize: anyJson, currentPage: anyJson, filters: anyJson, sort: anyJson, inputText: anyJson, product: anyJson, pageType: anyJson,
}, { requiredKeys: [] });

test('mutations of Venia\'s and Adobe\'s documents (POST and GET) → documented answers, never a throw', () => {
  fc.assert(fc.property(venia, fc.array(edit, { minLength: 1, maxLength: 6 }), realVariables, fc.boolean(),
    ([, doc], edits, variables, viaGet) => {
      const query = mutate(doc, edits);
      const operationName = /^(?:query|mutation)\s+(\w+)/.exec(doc)?.[1];
      if (viaGet) answers(() => get({ query, variables: JSON.stringify(variables), operationName }));
      else answers(() => post(JSON.stringify({ query, variables, operationName })));
    }), params());
});

test('answers follow the variables: url_key, sort, search, cart and wishlist skus (oracles)', () => {
  fc.assert(fc.property(realVariables, (v) => {
    const view = answers(() => post(JSON.stringify({ query: GET_PRODUCT, variables: v, operationName: 'getProductDetailForProductPage' })));
    const wantKey = typeof v.urlKey === 'string' && v.urlKey.length >= 1 && v.urlKey.length <= 255 ? v.urlKey : null;
    assert.equal(view.view, wantKey);
    const cat = answers(() => post(JSON.stringify({ query: GET_CATEGORIES, variables: v, operationName: 'GetCategories' })));
    const wantSort = isObject(v.sort) ? Object.entries(v.sort).find(([k, x]) => x !== null && x !== undefined && !DEFAULT_SORTS.has(k))?.[0] ?? null : null;
    assert.equal(cat.sort, wantSort);
    assert.equal(cat.listing, true);
    const cats = ['category_uid', 'category_id', 'category_url_path'];
    assert.equal(cat.page, isObject(v.filters) && cats.some((k) => v.filters[k] != null) ? 'category' : null);
    const search = answers(() => post(JSON.stringify({ query: PRODUCT_SEARCH, variables: v, operationName: 'ProductSearch' })));
    assert.equal(search.page, typeof v.inputText === 'string' && v.inputText.trim() ? 'search'
      : isObject(v.filters) && cats.some((k) => v.filters[k] != null) ? 'category' : null);
  }), params());
  fc.assert(fc.property(fc.array(fc.record({ sku: fc.oneof(fc.string({ maxLength: 130 }), anyJson), quantity: fc.integer() }), { maxLength: 70 }),
    (items) => {
      const q = 'mutation W($items: [WishlistItemInput!]!) { addProductsToWishlist(wishlistId: "0", wishlistItems: $items) { user_errors { code } } }';
      const a = answers(() => post(JSON.stringify({ query: q, variables: { items } })));
      const want = [...new Set(items.slice(0, 64).map((i) => i.sku).filter((s) => typeof s === 'string' && s && s.length <= 128))];
      assert.deepEqual(a.wish, want.length ? want : null);
      const c = answers(() => post(JSON.stringify({ query: ADD_TO_CART, variables: { cartId: 'c', product: items[0] ?? {} } })));
      const s0 = items[0]?.sku;
      assert.deepEqual(c.cart, typeof s0 === 'string' && s0 && s0.length <= 128 ? [s0] : null);
    }), params());
});

test('comments and whitespace between tokens change no answer (Venia\'s documents, any variables)', () => {
  const gaps = (doc) => [...doc.matchAll(/ /g)].map((m) => m.index); // these documents have no string literals
  fc.assert(fc.property(venia, realVariables,
    fc.array(fc.record({ at: fc.nat(), fill: fc.oneof(fc.constantFrom('\n', '\t', ',', '\r\n', ' \ufeff '), fc.string({ maxLength: 20 }).map((c) => `#${c.replace(/[\r\n]/g, '')}\n`)) }), { maxLength: 8 }),
    ([, doc], variables, inserts) => {
      const spots = gaps(doc);
      const at = new Map(inserts.map((x) => [spots[x.at % spots.length], x.fill]));
      let noisy = '';
      for (let i = 0; i < doc.length; i++) noisy += doc[i] + (at.has(i) ? at.get(i) : '');
      const operationName = /^(?:query|mutation)\s+(\w+)/.exec(doc)?.[1];
      const a = answers(() => post(JSON.stringify({ query: doc, variables, operationName })));
      const b = answers(() => post(JSON.stringify({ query: noisy, variables, operationName })));
      assert.deepEqual(b, a);
    }), params());
});

test('bounds: over-deep, over-long and many-token documents are refused by reason, in bounded time', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('{', '(', '['), fc.boolean(), (depth, open, via) => {
    const close = { '{': '}', '(': ')', '[': ']' }[open];
    const q = open === '{' ? `${'{ a '.repeat(depth)}${'}'.repeat(depth)}` : `{ f(x: ${open === '(' ? '{a: '.repeat(depth) : '['.repeat(depth)}1${open === '(' ? '}'.repeat(depth) : close.repeat(depth)}) }`;
    const a = answers(() => (via ? post(JSON.stringify({ query: q })) : get({ query: q })));
    if (q.length > LIMITS.chars) assert.equal(a.reason, 'document-too-large');
    else if (depth + (open === '{' ? 0 : 2) > LIMITS.depth) assert.ok(['too-deep', 'too-many-tokens'].includes(a.reason), a.reason);
  }), params(0.25));
  fc.assert(fc.property(fc.integer({ min: LIMITS.tokens - 50, max: LIMITS.tokens * 3 }), (n) => {
    const q = `{ ${'a '.repeat(n)}}`;
    const a = answers(() => post(JSON.stringify({ query: q })));
    assert.equal(a.reason, n + 2 > LIMITS.tokens ? (q.length > LIMITS.chars ? 'document-too-large' : 'too-many-tokens') : null);
  }), params(0.1));
  fc.assert(fc.property(fc.integer({ min: LIMITS.variablesChars - 10, max: LIMITS.variablesChars + 10 }), (n) => {
    const v = JSON.stringify({ s: 'x'.repeat(Math.max(0, n - 8)) });
    const a = answers(() => get({ query: GET_PRODUCT, variables: v }));
    assert.equal(a.reason === 'variables-too-large', v.length > LIMITS.variablesChars);
  }), params(0.1));
});

test('operationName: a non-string is bad-operation-name, an unknown one unknown-operation, the right one reads', () => {
  const two = `${GET_PRODUCT}\nquery Other { products(search: "x") { items { sku } } }`;
  fc.assert(fc.property(fc.oneof(anyJson, anyString({ maxLength: 40 })), (name) => {
    const a = answers(() => post(JSON.stringify({ query: two, operationName: name, variables: { urlKey: 'k' } })));
    if (name === null || name === undefined || name === '') assert.equal(a.reason, 'unknown-operation'); // two operations, none named
    else if (typeof name !== 'string') assert.equal(a.reason, 'bad-operation-name');
    else if (name === 'getProductDetailForProductPage') assert.equal(a.view, 'k');
    else if (name === 'Other') assert.equal(a.page, 'search');
    else assert.equal(a.reason, 'unknown-operation');
  }), params());
});
