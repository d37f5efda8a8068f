// graphql.test.mjs — worker-shim/core/graphql.js (shared by the Worker and Lambda@Edge): how edgerec
// reads a GraphQL request with graphql-js.  Every question is asked of documents shaped to fool
// the regular expressions the module used before: renamed variables, nested input objects,
// fragments, aliases, comments and string literals containing `mutation` or `sort`, several
// operations chosen by operationName, variable defaults, @skip / @include — and the bounds (size,
// tokens, depth) and totality on malformed input.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  LIMITS, cartSkus, explicitSort, isListing, isPlaceOrder, pageType, productViewKey, readOperation, wishlistSkus,
} from '../../worker-shim/core/graphql.js';
import { GET_CATEGORIES } from '../lib/venia-queries.mjs';

const URL0 = new URL('https://shop.example/graphql');
const post = (query, variables, operationName) => readOperation('POST', URL0, JSON.stringify({ query, variables, operationName }));
const get = (query, variables, operationName) => {
  const u = new URL(URL0);
  u.searchParams.set('query', query);
  if (variables !== undefined) u.searchParams.set('variables', JSON.stringify(variables));
  if (operationName) u.searchParams.set('operationName', operationName);
  return readOperation('GET', u, null);
};
const op = (...a) => { const r = post(...a); assert.ok(r.op, `not read: ${r.reason}`); return r.op; };

describe('the shopper\'s sort, however it is written', () => {
  it('through a variable with another name (the defect: Cat($s) with {"s":{"price":"ASC"}})', () => {
    const q = 'query Cat($s: ProductAttributeSortInput) { products(pageSize: 12, sort: $s) { items { sku } } }';
    assert.equal(explicitSort(op(q, { s: { price: 'ASC' } })), 'price');
    assert.equal(explicitSort(op(q, { s: { position: 'ASC' } })), null);
    assert.equal(explicitSort(op(q, {})), null);
    assert.equal(explicitSort(op(q, { sort: { price: 'ASC' } })), null, 'an unused variable named sort is not the sort');
  });
  it('Venia\'s GetCategories: $sort position → default, price → explicit; GET and POST alike', () => {
    const v = (sort) => ({ uid: 'MTI=', pageSize: 12, currentPage: 1, filters: { category_uid: { eq: 'MTI=' } }, sort });
    assert.equal(explicitSort(op(GET_CATEGORIES, v({ position: 'ASC' }), 'GetCategories')), null);
    assert.equal(explicitSort(op(GET_CATEGORIES, v({ relevance: 'DESC' }), 'GetCategories')), null);
    assert.equal(explicitSort(op(GET_CATEGORIES, v({ name: 'DESC' }), 'GetCategories')), 'name');
    assert.equal(explicitSort(get(GET_CATEGORIES, v({ price: 'DESC' }), 'GetCategories').op), 'price');
    assert.equal(pageType(op(GET_CATEGORIES, v(null), 'GetCategories')), 'category');
    assert.equal(isListing(op(GET_CATEGORIES, v(null), 'GetCategories')), true);
  });
  it('in a nested input object: sort: {price: $dir}', () => {
    const q = 'query($dir: SortEnum) { products(sort: {price: $dir}, pageSize: 3) { items { sku } } }';
    assert.equal(explicitSort(op(q, { dir: 'DESC' })), 'price');
    assert.equal(explicitSort(op(q, {})), null, 'a sort field whose value is not given sorts nothing');
  });
  it('as a literal, and through a variable default', () => {
    assert.equal(explicitSort(op('{ products(sort: {name: ASC}) { items { sku } } }')), 'name');
    assert.equal(explicitSort(op('query Q($s: ProductAttributeSortInput = {price: DESC}) { products(sort: $s) { items { sku } } }')), 'price');
    assert.equal(explicitSort(op('query Q($s: ProductAttributeSortInput = {price: DESC}) { products(sort: $s) { items { sku } } }', { s: { position: 'ASC' } })), null);
  });
  it('in a fragment, an inline fragment, under an alias', () => {
    assert.equal(explicitSort(op('query Q($x: ProductAttributeSortInput) { ...Root } fragment Root on Query { products(sort: $x) { items { sku } } }', { x: { price: 'ASC' } })), 'price');
    assert.equal(explicitSort(op('query { ... on Query { products(sort: {price: ASC}) { items { sku } } } }')), 'price');
    assert.equal(explicitSort(op('query { cheap: products(sort: {price: ASC}) { items { sku } } }')), 'price');
  });
  it('comments and strings that say sort or mutation do not count', () => {
    const q = `# mutation { placeOrder } sort: {price: ASC}
      query Listing($f: ProductAttributeFilterInput) {
        products(filter: $f, search: "sort: {price: ASC} mutation") { items { sku name } } # sort: {name: DESC}
      }`;
    const o = op(q, { f: { category_uid: { eq: 'MTI=' } } });
    assert.equal(o.mutation, false);
    assert.equal(explicitSort(o), null);
    assert.equal(pageType(o), 'search');
    const block = op('query { products(search: """ sort: { price: ASC } """) { items { sku } } }');
    assert.equal(explicitSort(block), null);
  });
  it('@skip / @include decide whether a sorted field is asked at all', () => {
    const q = 'query($sorted: Boolean!) { products(sort: {price: ASC}) @include(if: $sorted) { items { sku } } products2: products { items { sku } } }';
    assert.equal(explicitSort(op(q, { sorted: true })), 'price');
    assert.equal(explicitSort(op(q, { sorted: false })), null);
  });
});

describe('which operation, and what it is', () => {
  const two = `query Listing($s: ProductAttributeSortInput) { products(sort: $s) { items { sku } } }
    mutation AddIt($cartId: String!, $items: [CartItemInput!]!) { addProductsToCart(cartId: $cartId, cartItems: $items) { cart { id } } }`;
  it('several operations: operationName chooses; none named → not ours', () => {
    const v = { s: { price: 'ASC' }, cartId: 'c', items: [{ sku: 'MH01', quantity: 1 }] };
    const q = op(two, v, 'Listing');
    assert.equal(q.mutation, false);
    assert.equal(explicitSort(q), 'price');
    const m = op(two, v, 'AddIt');
    assert.equal(m.mutation, true);
    assert.deepEqual(cartSkus(m), ['MH01']);
    assert.equal(explicitSort(m), null);
    assert.deepEqual(post(two, v), { op: null, reason: 'unknown-operation' });
    assert.deepEqual(post(two, v, 'Nope'), { op: null, reason: 'unknown-operation' });
  });
  it('a mutation is a mutation however it is commented or named; a query mentioning placeOrder is not an order', () => {
    assert.equal(op('# query\n  mutation { placeOrder(input: {cart_id: "x"}) { orderV2 { number } } }').mutation, true);
    assert.equal(isPlaceOrder(op('mutation Pay { done: placeOrder(input: {cart_id: "x"}) { orderV2 { number } } }')), true);
    assert.equal(isPlaceOrder(op('query { products(search: "placeOrder") { items { sku } } }')), false);
    assert.equal(isPlaceOrder(op('mutation { setPaymentMethodOnCart(input: {cart_id: "placeOrder"}) { cart { id } } }')), false);
  });
  it('add-to-cart SKUs: Venia\'s variables, literal cart items, a configurable\'s child, never from other fields', () => {
    const venia = `mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
      addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id } } }`;
    assert.deepEqual(cartSkus(op(venia, { cartId: 'c', product: { sku: 'MJ01-XS-Red', parent_sku: 'MJ01', quantity: 1 } })), ['MJ01-XS-Red']);
    assert.deepEqual(cartSkus(op('mutation { addSimpleProductsToCart(input: {cart_id: "c", cart_items: [{data: {sku: "24-MB01", quantity: 1}}]}) { cart { id } } }')), ['24-MB01']);
    assert.equal(cartSkus(op('mutation($sku: String) { addProductsToWishlist(wishlistId: "1", wishlistItems: [{sku: $sku, quantity: 1}]) { wishlist { id } } }', { sku: 'X' })), null);
    assert.equal(cartSkus(op('query { products(filter: {sku: {eq: "24-MB01"}}) { items { sku } } }')), null);
    // a variable named like Venia's, but the mutation takes another one
    assert.deepEqual(cartSkus(op('mutation A($p: CartItemInput!, $product: CartItemInput!) { addProductsToCart(cartId: "c", cartItems: [$p]) { cart { id } } }',
      { p: { sku: 'REAL' }, product: { sku: 'DECOY' } })), ['REAL']);
  });
  it('wishlist SKUs: Magento\'s addProductsToWishlist through variables or literals, never from other mutations', () => {
    const venia = 'mutation AddToWishlist($wishlistId: ID!, $items: [WishlistItemInput!]!) { addProductsToWishlist(wishlistId: $wishlistId, wishlistItems: $items) { wishlist { id } } }';
    assert.deepEqual(wishlistSkus(op(venia, { wishlistId: '0', items: [{ sku: 'MJ01', quantity: 1 }, { sku: 'MJ01', quantity: 2 }, { sku: 'WS03', quantity: 1 }] })), ['MJ01', 'WS03']);
    assert.deepEqual(wishlistSkus(op('mutation { addProductsToWishlist(wishlistId: "0", wishlistItems: [{sku: "24-MB01", quantity: 1}]) { wishlist { id } } }')), ['24-MB01']);
    assert.equal(wishlistSkus(op('mutation($p: CartItemInput!) { addProductsToCart(cartId: "c", cartItems: [$p]) { cart { id } } }', { p: { sku: 'X' } })), null);
    assert.equal(wishlistSkus(op('query { products(search: "addProductsToWishlist") { items { sku } } }')), null);
  });
  it('product views: url_key through any variable name, a literal, a filter variable; not a listing filter', () => {
    const pdp = 'query getProductDetailForProductPage($k: String!) { products(filter: {url_key: {eq: $k}}) { items { sku } } }';
    assert.equal(productViewKey(op(pdp, { k: 'joust-duffle-bag' })), 'joust-duffle-bag');
    assert.equal(productViewKey(op('{ products(filter: {url_key: {eq: "didi-sport-watch"}}) { items { sku } } }')), 'didi-sport-watch');
    assert.equal(productViewKey(op('query($f: ProductAttributeFilterInput) { products(filter: $f) { items { sku } } }', { f: { url_key: { eq: 'x-y' } } })), 'x-y');
    assert.equal(productViewKey(op('query($f: ProductAttributeFilterInput) { products(filter: $f) { items { sku } } }', { f: { category_uid: { eq: 'MTI=' } } })), null);
    assert.equal(productViewKey(op('{ products(search: "url_key: {eq: \\"x\\"}") { items { sku } } }')), null);
  });
  it('a listing is Magento\'s products field at data.products; an alias that moves it or another field named products is not', () => {
    assert.equal(isListing(op('{ products(search: "bag") { items { sku } } }')), true);
    assert.equal(isListing(op('{ storeConfig { store_code } }')), false);
    assert.equal(isListing(op('{ products: categoryList { uid } }')), false);
    assert.equal(isListing(op('{ bags: products(search: "bag") { items { sku } } }')), false);
  });
});

describe('bounds and totality', () => {
  it('over the document size, token count or depth: not ours, with the reason', () => {
    assert.equal(post(`{ products { items { sku } } } #${'x'.repeat(LIMITS.chars)}`).reason, 'document-too-large');
    assert.equal(post(`{ products(filter: {sku: {in: [${'"a",'.repeat(LIMITS.tokens)}]}}) { items { sku } } }`).reason, 'too-many-tokens');
    assert.equal(post(`{ ${'a { '.repeat(LIMITS.depth)} b ${'} '.repeat(LIMITS.depth)} }`).reason, 'too-deep');
    // depth far beyond what the recursive parser survives is refused before it runs
    assert.equal(post(`{ ${'a{'.repeat(30000)}`).reason, 'too-deep');
    assert.equal(post(`{ products(filter: ${'['.repeat(LIMITS.depth + 1)}) { items { sku } } }`).reason, 'too-deep');
    // braces inside strings are not depth
    assert.ok(post(`{ products(search: "${'{'.repeat(LIMITS.depth * 2)}") { items { sku } } }`).op);
  });
  it('just inside the bounds is read', () => {
    const nested = `{ ${'a { '.repeat(LIMITS.depth - 1)} b ${'} '.repeat(LIMITS.depth - 1)} }`;
    assert.ok(post(nested).op);
  });
  it('malformed requests are not ours, never a throw', () => {
    const cases = [
      ['POST', null], ['POST', ''], ['POST', 'not json'], ['POST', '[{"query":"{ a }"}]'], ['POST', '{"query": 5}'],
      ['POST', '{"query": "{ a }", "variables": [1]}'], ['POST', '{"query": "{ a }", "operationName": 7}'],
      ['POST', '{"query": "query {"}'], ['POST', '{"query": "fragment F on Q { a }"}'], ['POST', '{"query": "{ ...F }"}'],
      ['POST', '{"query": "query Q { ...F } fragment F on Query { ...F }"}'], ['PUT', '{"query": "{ a }"}'],
      ['POST', '{"query": "{ products(sort: $undefined) { items { sku } } }"}'],
    ];
    for (const [m, body] of cases) {
      const r = readOperation(m, URL0, body);
      if (r.op) { // read: every question still answers without throwing
        for (const f of [explicitSort, pageType, productViewKey, cartSkus, wishlistSkus, isPlaceOrder, isListing]) f(r.op);
      } else assert.equal(typeof r.reason, 'string', `${m} ${body}`);
    }
    for (const f of [explicitSort, pageType, productViewKey, cartSkus, isPlaceOrder, isListing]) {
      assert.doesNotThrow(() => f(null));
      assert.doesNotThrow(() => f({}));
    }
  });
  it('random bytes and mutated documents never throw (seeded)', () => {
    let s = 12345;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const base = [GET_CATEGORIES, 'query Cat($s: ProductAttributeSortInput) { products(sort: $s) { items { sku } } }',
      'mutation A($p: CartItemInput!) { addProductsToCart(cartId: "c", cartItems: [$p]) { cart { id } } }'];
    const alphabet = '{}()[]$:@!"#\\\n ."=,.&|abcsortmutation';
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      let q = base[i % base.length];
      for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) {
        const at = Math.floor(rnd() * q.length);
        q = q.slice(0, at) + alphabet[Math.floor(rnd() * alphabet.length)] + q.slice(at + Math.floor(rnd() * 3));
      }
      const r = post(q, { s: { price: 'ASC' }, p: { sku: 'X' }, sort: rnd() < 0.5 ? null : { name: 'ASC' } });
      if (r.op) {
        read++;
        for (const f of [explicitSort, pageType, productViewKey, cartSkus, wishlistSkus, isPlaceOrder, isListing]) f(r.op);
      }
    }
    assert.ok(read > 100, `only ${read} mutated documents were still valid GraphQL`);
  });
  it('a repeated document is parsed once (the isolate\'s cache): the same AST object comes back', () => {
    const a = op('{ products(search: "cache-me") { items { sku } } }');
    const b = op('{ products(search: "cache-me") { items { sku } } }');
    assert.equal(a.document, b.document);
  });
});
