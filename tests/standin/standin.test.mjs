// standin.test.mjs — the Magento GraphQL stand-in (magento.mjs, server.mjs)
// and the synthetic session generator (synthetic-sessions.mjs).
//
//   .tools/node_modules/node/bin/node --test tests/standin/
//
// Most tests run on tests/data/sample-catalog.json (committed); the Luma tests
// build catalog.json with build/edgerec from ../shared/data/luma and are
// skipped (with the reason) when either is missing.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createMagento, readDocument, b64 } from './magento.mjs';
import { generate, toNdjson, DEFAULT_END } from './synthetic-sessions.mjs';

const root = new URL('../../', import.meta.url).pathname;
const here = new URL('./', import.meta.url).pathname;
const sample = JSON.parse(readFileSync(join(root, 'tests/data/sample-catalog.json'), 'utf8'));
const edgerec = join(root, 'build/edgerec');
const lumaDir = join(root, '../shared/data/luma');
const lumaMissing = !existsSync(edgerec) ? 'build/edgerec is not built' : !existsSync(lumaDir) ? '../shared/data/luma is missing' : false;
const tmp = mkdtempSync(join(tmpdir(), 'standin-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- Venia's documents (magento/pwa-studio, packages/peregrine/lib/talons/…) --------------------

const GET_CATEGORIES = `
    query GetCategories(
        $uid: String!
        $pageSize: Int!
        $currentPage: Int!
        $filters: ProductAttributeFilterInput!
        $sort: ProductAttributeSortInput
    ) {
        categories(filters: { category_uid: { in: [$uid] } }) {
            items {
                uid
                ...CategoryFragment
            }
        }
        products(
            pageSize: $pageSize
            currentPage: $currentPage
            filter: $filters
            sort: $sort
        ) {
            ...ProductsFragment
        }
    }
    # eslint-disable-next-line @graphql-eslint/require-id-when-available
    fragment CategoryFragment on CategoryTree {
        uid
        meta_title
        meta_keywords
        meta_description
    }
    fragment ProductsFragment on Products {
        items {
            id
            uid
            name
            price_range { maximum_price { final_price { currency value } } }
            sku
            small_image { url }
            stock_status
            rating_summary
            __typename
            url_key
        }
        page_info { total_pages }
        total_count
    }`;
const PRODUCT_SEARCH = `query ProductSearch($currentPage: Int = 1, $inputText: String!, $pageSize: Int = 6, $filters: ProductAttributeFilterInput!, $sort: ProductAttributeSortInput) {
  products(currentPage: $currentPage, pageSize: $pageSize, search: $inputText, filter: $filters, sort: $sort) {
    items { id name price_range { maximum_price { regular_price { currency value } } } sku small_image { url } stock_status type_id url_key url_suffix }
    page_info { total_pages }
    total_count
  }
}`;
const GET_PRODUCT = `query getProductDetailForProductPage($urlKey: String!) {
    products(filter: { url_key: { eq: $urlKey } }) { items { id ...ProductDetailsFragment } }
}
fragment ProductDetailsFragment on ProductInterface {
    __typename
    categories { uid breadcrumbs { category_uid } }
    description { html }
    id uid
    media_gallery_entries { uid label position disabled file }
    meta_description name
    price { regularPrice { amount { currency value } } }
    price_range { maximum_price { final_price { currency value } regular_price { currency value } } }
    sku small_image { url } stock_status url_key
    ... on ConfigurableProduct {
        configurable_options { attribute_code attribute_id id label values { uid default_label label store_label use_default_value value_index swatch_data { ... on ImageSwatchData { thumbnail } value } } }
        variants { attributes { code value_index } product { uid sku stock_status price { regularPrice { amount { currency value } } } } }
    }
}`;
const CREATE_CART = `mutation createCart { cartId: createEmptyCart }`;
const ADD_PRODUCT = `mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
  addProductsToCart(cartId: $cartId, cartItems: [$product]) {
    cart { id total_quantity items { uid quantity product { sku } ... on ConfigurableCartItem { configurable_options { option_label value_label } configured_variant { sku } } prices { price { currency value } } } }
    user_errors { code message }
  }
}`;
const ADD_SIMPLE = `mutation addSimpleProductToCart($cartId: String!, $quantity: Float!, $sku: String!) {
  addSimpleProductsToCart(input: { cart_id: $cartId, cart_items: [{ data: { quantity: $quantity, sku: $sku } }] }) { cart { id total_quantity } }
}`;
const ADD_CONFIGURABLE = `mutation addConfigurableProductToCart($cartId: String!, $quantity: Float!, $sku: String!, $parentSku: String!) {
  addConfigurableProductsToCart(input: { cart_id: $cartId, cart_items: [{ data: { quantity: $quantity, sku: $sku }, parent_sku: $parentSku }] }) { cart { id total_quantity items { product { sku } quantity } } }
}`;
const GET_CART = `query getCart($cartId: String!) { cart(cart_id: $cartId) { id total_quantity items { quantity product { sku } } prices { grand_total { currency value } } } }`;
const PLACE_ORDER = `mutation placeOrder($cartId: String!) { placeOrder(input: { cart_id: $cartId }) { order { order_number } } }`;

// ---- helpers --------------------------------------------------------------------------------------

const ORIGIN = 'http://magento.test';
function get(query, operationName, variables, headers = {}) {
  const qs = new URLSearchParams({ query });
  if (operationName) qs.set('operationName', operationName);
  if (variables) qs.set('variables', JSON.stringify(variables));
  return new Request(`${ORIGIN}/graphql?${qs}`, { headers });
}
function post(query, operationName, variables, headers = {}) {
  return new Request(`${ORIGIN}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, operationName, variables }),
  });
}
async function call(m, req) {
  const res = await m.handle(req);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* garbage */ }
  return { res, text, json, headers: Object.fromEntries(res.headers) };
}
const catUid = (m, path) => b64(m.categories.get(path).id);
const categoryVars = (uid, extra = {}) => ({ currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 24, sort: { position: 'ASC' }, ...extra });
const listable = (cat) => cat.items.filter((it) => !it.parent && it.visible !== false);
const inPath = (it, path) => it.categories.some((c) => c === path || c.startsWith(`${path}/`));

// ---- the reader -------------------------------------------------------------------------------------

describe('GraphQL reader', () => {
  test('reads Venia documents: operations, variables with defaults, fragments, inline fragments', () => {
    const d = readDocument(GET_CATEGORIES);
    assert.equal(d.operations.length, 1);
    assert.equal(d.operations[0].name, 'GetCategories');
    assert.deepEqual(d.operations[0].varDefs.map((v) => `${v.name}:${v.type}`), ['uid:String!', 'pageSize:Int!', 'currentPage:Int!', 'filters:ProductAttributeFilterInput!', 'sort:ProductAttributeSortInput']);
    assert.deepEqual([...d.fragments.keys()], ['CategoryFragment', 'ProductsFragment']);
    const s = readDocument(PRODUCT_SEARCH).operations[0].varDefs;
    assert.deepEqual(s.find((v) => v.name === 'pageSize').defaultValue, { kind: 'lit', value: 6 });
    const p = readDocument(GET_PRODUCT);
    assert.ok(p.fragments.get('ProductDetailsFragment').selectionSet.some((x) => x.kind === 'inline' && x.typeCondition === 'ConfigurableProduct'));
  });
  test('syntax errors are GraphQL errors with a location', async () => {
    const m = createMagento(sample);
    const { json, res } = await call(m, get('query { products(search: "x") { items { sku }'));
    assert.equal(res.status, 200);
    assert.match(json.errors[0].message, /^Syntax Error: Expected/);
    assert.equal(json.errors[0].extensions.category, 'graphql');
    assert.deepEqual(Object.keys(json.errors[0].locations[0]), ['line', 'column']);
    assert.equal(json.data, undefined);
  });
  test('aliases, __typename, @skip / @include, shorthand queries', async () => {
    const m = createMagento(sample);
    const q = `query Q($no: Boolean!) { a: products(filter: {sku: {eq: "ER-BAG-01"}}) { total_count __typename items { s: sku name @skip(if: $no) url_key @include(if: $no) } } __typename }`;
    const { json } = await call(m, get(q, 'Q', { no: true }));
    assert.deepEqual(json, { data: { a: { total_count: 1, __typename: 'Products', items: [{ s: 'ER-BAG-01', url_key: 'trailhead-daypack' }] }, __typename: 'Query' } });
    const short = await call(m, get('{ storeConfig { store_code grid_per_page } }'));
    assert.deepEqual(short.json, { data: { storeConfig: { store_code: 'default', grid_per_page: 12 } } });
  });
});

// ---- category listing ---------------------------------------------------------------------------------

describe('GetCategories (category listing)', () => {
  test('GET: Venia ProductsFragment shape, default order, public cache headers', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Gear/Bags');
    const { json, headers, res } = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid)));
    assert.equal(res.status, 200);
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['cache-control'], 'max-age=3600, public, s-maxage=3600');
    assert.match(headers['x-magento-cache-id'], /^[0-9a-f]{64}$/);
    assert.deepEqual(json.data.categories, { items: [{ uid, meta_title: null, meta_keywords: null, meta_description: null }] });
    const p = json.data.products;
    assert.deepEqual(Object.keys(p), ['items', 'page_info', 'total_count']);
    const want = listable(sample).filter((it) => inPath(it, 'Gear/Bags')).map((it) => it.sku);
    assert.deepEqual(p.items.map((it) => it.sku), want);
    assert.equal(p.total_count, want.length);
    assert.deepEqual(p.page_info, { total_pages: 1 });
    const first = p.items[0];
    assert.deepEqual(Object.keys(first), ['id', 'uid', 'name', 'price_range', 'sku', 'small_image', 'stock_status', 'rating_summary', '__typename', 'url_key']);
    assert.equal(first.id, 1);
    assert.equal(first.uid, 'MQ==');
    assert.deepEqual(first.price_range, { maximum_price: { final_price: { currency: 'USD', value: 42 } } });
    assert.equal(first.__typename, 'SimpleProduct');
    assert.equal(p.items.find((it) => it.sku === 'ER-BAG-05').stock_status, 'OUT_OF_STOCK');
  });
  test('an anchor category holds its descendants; a configurable parent is listed, never its children', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Men');
    const { json } = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid, { pageSize: 100 })));
    const skus = json.data.products.items.map((it) => it.sku);
    assert.deepEqual(skus, listable(sample).filter((it) => inPath(it, 'Men')).map((it) => it.sku));
    assert.ok(skus.includes('ER-MJ-01') && !skus.includes('ER-MJ-01-S'));
    assert.equal(json.data.products.items.find((it) => it.sku === 'ER-MJ-01').__typename, 'ConfigurableProduct');
    // "Men/Tops" exists only as a prefix of the items' paths
    const tops = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(catUid(m, 'Men/Tops'))));
    assert.equal(tops.json.data.products.total_count, 8);
  });
  test('POST gives the same data, never publicly cacheable', async () => {
    const m = createMagento(sample);
    const vars = categoryVars(catUid(m, 'Gear'));
    const g = await call(m, get(GET_CATEGORIES, 'GetCategories', vars));
    const p = await call(m, post(GET_CATEGORIES, 'GetCategories', vars));
    assert.equal(p.text, g.text);
    assert.equal(p.headers['cache-control'], 'no-store, no-cache, must-revalidate');
  });
  test('sort is honoured: price, name, position DESC; relevance DESC and position ASC keep the default order', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Gear');
    const order = async (sort) => (await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid, { sort, pageSize: 50 })))).json.data.products.items;
    const def = (await order({ position: 'ASC' })).map((it) => it.sku);
    assert.deepEqual((await order(undefined)).map((it) => it.sku), def);
    assert.deepEqual((await order({ relevance: 'DESC' })).map((it) => it.sku), def);
    assert.deepEqual((await order({ position: 'DESC' })).map((it) => it.sku), [...def].reverse());
    const byPrice = (await order({ price: 'ASC' })).map((it) => it.price_range.maximum_price.final_price.value);
    assert.deepEqual(byPrice, [...byPrice].sort((a, b) => a - b));
    assert.notDeepEqual((await order({ price: 'ASC' })).map((it) => it.sku), def);
    const desc = (await order({ price: 'DESC' })).map((it) => it.price_range.maximum_price.final_price.value);
    assert.deepEqual(desc, [...byPrice].reverse().sort((a, b) => b - a));
    const names = (await order({ name: 'ASC' })).map((it) => it.name.toLowerCase());
    assert.deepEqual(names, [...names].sort());
    // an inline literal sort works too
    const lit = await call(m, get(`{ products(filter: {category_uid: {eq: "${uid}"}}, sort: {price: DESC}, pageSize: 50) { items { sku } } }`));
    assert.deepEqual(lit.json.data.products.items.map((it) => it.sku), (await order({ price: 'DESC' })).map((it) => it.sku));
    const bad = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid, { sort: { popularity: 'ASC' } })));
    assert.match(bad.json.errors[0].message, /"popularity" is not defined by type "ProductAttributeSortInput"/);
    assert.equal(bad.json.errors[0].extensions.category, 'graphql-input');
  });
  test('pagination: pages continue, page_info and errors beyond the last page', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Gear');
    const page = async (n) => (await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid, { pageSize: 8, currentPage: n })))).json;
    const [p1, p2, p3] = [await page(1), await page(2), await page(3)];
    const all = listable(sample).filter((it) => inPath(it, 'Gear')).map((it) => it.sku);
    assert.deepEqual([...p1.data.products.items, ...p2.data.products.items, ...p3.data.products.items].map((it) => it.sku), all);
    assert.equal(p1.data.products.page_info.total_pages, Math.ceil(all.length / 8));
    const p9 = await page(9);
    assert.equal(p9.data.products, null);
    assert.equal(p9.errors[0].message, `currentPage value 9 specified is greater than the ${Math.ceil(all.length / 8)} page(s) available.`);
    assert.deepEqual(p9.errors[0].path, ['products']);
  });
  test('aggregations, sort_fields, page_info fields, filters by attribute and price', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Gear/Bags');
    const q = `query Filters($f: ProductAttributeFilterInput!) { products(filter: $f, pageSize: 50) {
      total_count page_info { current_page page_size total_pages } sort_fields { default options { label value } }
      aggregations { label count attribute_code position options { label count value } } items { sku } } }`;
    const { json } = await call(m, get(q, 'Filters', { f: { category_uid: { eq: uid } } }));
    const p = json.data.products;
    assert.deepEqual(p.page_info, { current_page: 1, page_size: 50, total_pages: 1 });
    assert.deepEqual(p.sort_fields, { default: 'position', options: [{ label: 'Position', value: 'position' }, { label: 'Product Name', value: 'name' }, { label: 'Price', value: 'price' }] });
    assert.deepEqual(p.aggregations.map((a) => a.attribute_code), ['category_uid', 'price', 'color', 'material']);
    const color = p.aggregations.find((a) => a.attribute_code === 'color');
    assert.deepEqual(color.options[0], { label: 'Black', count: 3, value: 'Black' });
    const black = await call(m, get(q, 'Filters', { f: { category_uid: { eq: uid }, color: { eq: 'Black' } } }));
    assert.deepEqual(black.json.data.products.items.map((it) => it.sku), ['ER-BAG-01', 'ER-BAG-04', 'ER-BAG-08']);
    const cheap = await call(m, get(q, 'Filters', { f: { category_uid: { eq: uid }, price: { from: '0', to: '40' } } }));
    assert.deepEqual(cheap.json.data.products.items.map((it) => it.sku), ['ER-BAG-02', 'ER-BAG-05', 'ER-BAG-06']);
    const unknown = await call(m, get(q, 'Filters', { f: { fashion_color: { eq: '1' } } }));
    assert.match(unknown.json.errors[0].message, /Field "fashion_color" is not defined by type "ProductAttributeFilterInput"/);
    const none = await call(m, get('{ products(pageSize: 5) { total_count } }'));
    assert.equal(none.json.errors[0].message, "'search' or 'filter' input argument is required.");
  });
});

describe('categories', () => {
  test('categoryList: the root with its tree (uid, name, url_path)', async () => {
    const m = createMagento(sample);
    const { json, headers } = await call(m, get('query Nav { categoryList { uid name url_path level children { uid name url_path level product_count children { name url_path children { name url_path } } } } }', 'Nav'));
    assert.equal(headers['cache-control'], 'max-age=3600, public, s-maxage=3600');
    const [rootCat] = json.data.categoryList;
    assert.deepEqual([rootCat.uid, rootCat.name, rootCat.url_path, rootCat.level], ['Mg==', 'Default Category', null, 1]);
    assert.deepEqual(rootCat.children.map((c) => c.name), ['Gear', 'Men', 'Women']);
    const gear = rootCat.children[0];
    assert.equal(gear.product_count, 21);
    assert.deepEqual(gear.children.map((c) => c.url_path), ['gear/bags', 'gear/fitness', 'gear/watches']);
    const men = rootCat.children[1];
    assert.deepEqual(men.children.find((c) => c.name === 'Tops').children.map((c) => c.url_path), ['men/tops/hoodies', 'men/tops/jackets']);
  });
  test('categories(filters): by uid (getCategoryData), by parent, by url_path; unknown filters are errors', async () => {
    const m = createMagento(sample);
    const uid = catUid(m, 'Men/Tops/Jackets');
    const q = `query getCategoryData($id: String!) { categories(filters: { category_uid: { in: [$id] } }) { items { uid name description url_key url_path breadcrumbs { category_uid category_name category_level } } total_count } }`;
    const { json } = await call(m, get(q, 'getCategoryData', { id: uid }));
    assert.deepEqual(json.data.categories.items, [{
      uid, name: 'Jackets', description: null, url_key: 'jackets', url_path: 'men/tops/jackets',
      breadcrumbs: [{ category_uid: catUid(m, 'Men'), category_name: 'Men', category_level: 2 }, { category_uid: catUid(m, 'Men/Tops'), category_name: 'Tops', category_level: 3 }],
    }]);
    const kids = await call(m, get(`{ categories(filters: {parent_category_uid: {eq: "${catUid(m, 'Gear')}"}}) { items { name } total_count } }`));
    assert.deepEqual(kids.json.data.categories, { items: [{ name: 'Bags' }, { name: 'Fitness' }, { name: 'Watches' }], total_count: 3 });
    const byPath = await call(m, get('{ categoryList(filters: {url_path: {eq: "women/bottoms/shorts"}}) { name product_count products(pageSize: 2) { items { sku } total_count } } }'));
    assert.deepEqual(byPath.json.data.categoryList, [{ name: 'Shorts', product_count: 5, products: { items: [{ sku: 'ER-WS-01' }, { sku: 'ER-WS-02' }], total_count: 5 } }]);
    const bad = await call(m, get('{ categories(filters: {colour: {eq: "x"}}) { total_count } }'));
    assert.match(bad.json.errors[0].message, /"colour" is not defined by type "CategoryFilterInput"/);
  });
  test('storeConfig (getPageSize) and the filter-input introspection Venia runs first', async () => {
    const m = createMagento(sample);
    const ps = await call(m, get('query getPageSize { storeConfig { id grid_per_page } }', 'getPageSize'));
    assert.deepEqual(ps.json, { data: { storeConfig: { id: 1, grid_per_page: 12 } } });
    const t = await call(m, get('query GetFilterInputsForCategory { __type(name: "ProductAttributeFilterInput") { inputFields { name type { name } } } }', 'GetFilterInputsForCategory'));
    const fields = t.json.data.__type.inputFields;
    assert.deepEqual(fields.find((f) => f.name === 'category_uid'), { name: 'category_uid', type: { name: 'FilterEqualTypeInput' } });
    assert.deepEqual(fields.find((f) => f.name === 'price'), { name: 'price', type: { name: 'FilterRangeTypeInput' } });
  });
});

// ---- search and product detail ------------------------------------------------------------------------

describe('ProductSearch and product detail', () => {
  test('ProductSearch: name matches, relevance order, the query\'s own pageSize default', async () => {
    const m = createMagento(sample);
    const { json, headers } = await call(m, get(PRODUCT_SEARCH, 'ProductSearch', { inputText: 'jacket', filters: {} }));
    assert.equal(headers['cache-control'], 'max-age=3600, public, s-maxage=3600');
    const p = json.data.products;
    const all = listable(sample).filter((it) => /\bjacket/i.test(it.name));
    assert.equal(p.total_count, all.length);
    assert.equal(p.items.length, Math.min(6, all.length));
    assert.ok(p.items.every((it) => /jacket/i.test(it.name)));
    assert.deepEqual(Object.keys(p.items[0]), ['id', 'name', 'price_range', 'sku', 'small_image', 'stock_status', 'type_id', 'url_key', 'url_suffix']);
    assert.equal(p.items[0].url_suffix, '.html');
    // two words: items matching both come first
    const two = await call(m, get(PRODUCT_SEARCH, 'ProductSearch', { inputText: 'hiking pant', filters: {}, pageSize: 20 }));
    const names = two.json.data.products.items.map((it) => it.name.toLowerCase());
    assert.equal(names[0], 'switchback hiking pant');
    assert.ok(names.length > 3 && names.slice(1).every((n) => /hiking|pant/.test(n)), names.join(', '));
    const none = await call(m, get(PRODUCT_SEARCH, 'ProductSearch', { inputText: 'zzzzqqq', filters: {} }));
    assert.deepEqual(none.json.data.products, { items: [], page_info: { total_pages: 0 }, total_count: 0 });
  });
  test('getProductDetailForProductPage: one item by url_key, categories, configurable options and variants', async () => {
    const m = createMagento(sample);
    const { json, headers } = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: sample.items.find((it) => it.sku === 'ER-MJ-01').url_key }));
    assert.equal(headers['cache-control'], 'max-age=3600, public, s-maxage=3600');
    assert.equal(json.data.products.items.length, 1);
    const p = json.data.products.items[0];
    assert.equal(p.sku, 'ER-MJ-01');
    assert.equal(p.__typename, 'ConfigurableProduct');
    assert.deepEqual(Object.keys(p).slice(0, 4), ['id', '__typename', 'categories', 'description']);
    assert.deepEqual(p.categories.map((c) => c.uid), [catUid(m, 'Men'), catUid(m, 'Men/Tops/Jackets')]);
    assert.deepEqual(p.categories[1].breadcrumbs, [{ category_uid: catUid(m, 'Men') }, { category_uid: catUid(m, 'Men/Tops') }]);
    assert.deepEqual(p.price, { regularPrice: { amount: { currency: 'USD', value: 98 } } });
    const size = p.configurable_options.find((o) => o.attribute_code === 'size');
    assert.deepEqual(size.values.map((v) => v.label), ['S', 'M', 'L']);
    assert.equal(size.attribute_id, '144');
    assert.equal(Buffer.from(size.values[0].uid, 'base64').toString(), `configurable/144/${size.values[0].value_index}`);
    assert.deepEqual(p.variants.map((v) => v.product.sku), ['ER-MJ-01-S', 'ER-MJ-01-M', 'ER-MJ-01-L']);
    assert.deepEqual(p.variants[0].attributes.find((a) => a.code === 'size'), { code: 'size', value_index: size.values[0].value_index });
    // a simple product: the ConfigurableProduct fragment does not apply
    const simple = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: 'trailhead-daypack' }));
    const s = simple.json.data.products.items[0];
    assert.equal(s.__typename, 'SimpleProduct');
    assert.ok(!('variants' in s) && !('configurable_options' in s));
    // children are not visible individually, unknown keys find nothing
    const none = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: 'no-such-thing' }));
    assert.deepEqual(none.json.data.products.items, []);
  });
  test('a required variable missing is an error', async () => {
    const m = createMagento(sample);
    const { json } = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', {}));
    assert.equal(json.errors[0].message, 'Variable "$urlKey" of required type "String!" was not provided.');
  });
});

// ---- stores, currencies, customers ------------------------------------------------------------------------

describe('stores, currency and customer prices', () => {
  const priceOf = (json, sku) => json.data.products.items.find((it) => it.sku === sku).price_range.maximum_price.final_price;
  test('the Store and Content-Currency headers select the currency; cache ids differ', async () => {
    const m = createMagento(sample);
    const vars = categoryVars(catUid(m, 'Gear/Bags'));
    const usd = await call(m, get(GET_CATEGORIES, 'GetCategories', vars));
    const eur = await call(m, get(GET_CATEGORIES, 'GetCategories', vars, { Store: 'de' }));
    const gbp = await call(m, get(GET_CATEGORIES, 'GetCategories', vars, { Store: 'default', 'Content-Currency': 'GBP' }));
    assert.deepEqual(priceOf(usd.json, 'ER-BAG-01'), { currency: 'USD', value: 42 });
    assert.deepEqual(priceOf(eur.json, 'ER-BAG-01'), { currency: 'EUR', value: 37.8 });
    assert.deepEqual(priceOf(gbp.json, 'ER-BAG-01'), { currency: 'GBP', value: 33.6 });
    assert.deepEqual(eur.json.data.products.items.map((it) => it.sku), usd.json.data.products.items.map((it) => it.sku));
    for (const r of [eur, gbp]) assert.equal(r.headers['cache-control'], 'max-age=3600, public, s-maxage=3600');
    assert.equal(new Set([usd, eur, gbp].map((r) => r.headers['x-magento-cache-id'])).size, 3);
    // the client's X-Magento-Cache-Id is echoed
    const echo = await call(m, get(GET_CATEGORIES, 'GetCategories', vars, { 'X-Magento-Cache-Id': 'abc123' }));
    assert.equal(echo.headers['x-magento-cache-id'], 'abc123');
    const store = await call(m, get('{ storeConfig { store_code default_display_currency_code } }', null, null, { Store: 'uk' }));
    assert.deepEqual(store.json.data.storeConfig, { store_code: 'uk', default_display_currency_code: 'GBP' });
  });
  test('unknown store and disallowed currency are errors', async () => {
    const m = createMagento(sample);
    const s = await call(m, get('{ storeConfig { id } }', null, null, { Store: 'nope' }));
    assert.deepEqual(s.json.errors[0], { message: 'Requested store is not found', extensions: { category: 'graphql-no-such-entity' } });
    assert.equal(s.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    const c = await call(m, get('{ storeConfig { id } }', null, null, { 'Content-Currency': 'JPY' }));
    assert.equal(c.json.errors[0].message, 'Currency not allowed for store default');
  });
  test('a customer token gets the group price and is never publicly cacheable', async () => {
    const m = createMagento(sample);
    const vars = categoryVars(catUid(m, 'Gear/Bags'));
    const auth = { Authorization: 'Bearer customer-token-1' };
    const g = await call(m, get(GET_CATEGORIES, 'GetCategories', vars, auth));
    assert.deepEqual(priceOf(g.json, 'ER-BAG-01'), { currency: 'USD', value: 37.8 });
    assert.equal(g.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    assert.equal(g.headers.pragma, 'no-cache');
    assert.ok(!/public/.test(g.headers['cache-control']));
    const d = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: 'trailhead-daypack' }, { ...auth, Store: 'de' }));
    assert.deepEqual(d.json.data.products.items[0].price_range.maximum_price, { final_price: { currency: 'EUR', value: 34.02 }, regular_price: { currency: 'EUR', value: 37.8 } });
    assert.equal(d.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    const anon = await call(m, get(GET_CATEGORIES, 'GetCategories', vars));
    assert.notEqual(anon.headers['x-magento-cache-id'], g.headers['x-magento-cache-id']);
    const tok = await call(m, post('mutation { generateCustomerToken(email: "a@example.com", password: "pw") { token } }'));
    assert.match(tok.json.data.generateCustomerToken.token, /^standin-[0-9a-f]{32}$/);
  });
});

// ---- carts -------------------------------------------------------------------------------------------------

describe('carts and orders', () => {
  test('createCart, AddProductToCart (configurable with selected_options), addSimple, addConfigurable, cart, placeOrder', async () => {
    const m = createMagento(sample);
    const created = await call(m, post(CREATE_CART, 'createCart', {}));
    assert.equal(created.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    const cartId = created.json.data.cartId;
    assert.match(cartId, /^[A-Za-z0-9]{32}$/);

    const detail = (await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: sample.items.find((it) => it.sku === 'ER-MJ-01').url_key }))).json.data.products.items[0];
    const m_ = detail.configurable_options.find((o) => o.attribute_code === 'size').values.find((v) => v.label === 'M');
    const colour = detail.configurable_options.find((o) => o.attribute_code === 'color').values[0];
    const add = await call(m, post(ADD_PRODUCT, 'AddProductToCart', { cartId, product: { sku: 'ER-MJ-01', quantity: 1, selected_options: [colour.uid, m_.uid] } }));
    const cart = add.json.data.addProductsToCart.cart;
    assert.deepEqual(add.json.data.addProductsToCart.user_errors, []);
    assert.equal(cart.id, cartId);
    assert.equal(cart.total_quantity, 1);
    assert.deepEqual(cart.items[0].configured_variant, { sku: 'ER-MJ-01-M' });
    assert.deepEqual(cart.items[0].product, { sku: 'ER-MJ-01' });
    assert.deepEqual(cart.items[0].configurable_options.map((o) => `${o.option_label}=${o.value_label}`), ['Color=Blue', 'Size=M']);

    const simple = await call(m, post(ADD_SIMPLE, 'addSimpleProductToCart', { cartId, quantity: 2, sku: 'ER-BAG-01' }));
    assert.equal(simple.json.data.addSimpleProductsToCart.cart.total_quantity, 3);
    const conf = await call(m, post(ADD_CONFIGURABLE, 'addConfigurableProductToCart', { cartId, quantity: 1, sku: 'ER-MJ-01-M', parentSku: 'ER-MJ-01' }));
    assert.deepEqual(conf.json.data.addConfigurableProductsToCart.cart.items.map((l) => [l.product.sku, l.quantity]), [['ER-MJ-01', 2], ['ER-BAG-01', 2]]);

    const bad = await call(m, post(ADD_PRODUCT, 'AddProductToCart', { cartId, product: { sku: 'NOPE', quantity: 1 } }));
    assert.deepEqual(bad.json.data.addProductsToCart.user_errors, [{ code: 'PRODUCT_NOT_FOUND', message: 'Could not find a product with SKU "NOPE"' }]);
    const noOpts = await call(m, post(ADD_PRODUCT, 'AddProductToCart', { cartId, product: { sku: 'ER-MJ-02', quantity: 1 } }));
    assert.equal(noOpts.json.data.addProductsToCart.user_errors[0].message, 'You need to choose options for your item.');
    const oos = await call(m, post(ADD_PRODUCT, 'AddProductToCart', { cartId, product: { sku: 'ER-BAG-05', quantity: 1 } }));
    assert.equal(oos.json.data.addProductsToCart.user_errors[0].code, 'INSUFFICIENT_STOCK');

    const q = await call(m, get(GET_CART, 'getCart', { cartId }));
    assert.equal(q.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    assert.deepEqual(q.json.data.cart.prices.grand_total, { currency: 'USD', value: 98 * 2 + 42 * 2 });
    const qe = await call(m, get(GET_CART, 'getCart', { cartId }, { Store: 'de' }));
    assert.deepEqual(qe.json.data.cart.prices.grand_total, { currency: 'EUR', value: round2((98 * 2 + 42 * 2) * 0.9) });

    const order = await call(m, post(PLACE_ORDER, 'placeOrder', { cartId }));
    assert.deepEqual(order.json, { data: { placeOrder: { order: { order_number: '000000001' } } } });
    assert.deepEqual(m.state.orders[0].items.map((l) => l.sku), ['ER-MJ-01-M', 'ER-BAG-01']);
    const again = await call(m, post(PLACE_ORDER, 'placeOrder', { cartId }));
    assert.equal(again.json.data.placeOrder, null);
    assert.equal(again.json.errors[0].message, "The cart isn't active.");
  });
  test('errors: unknown cart, another shopper\'s cart, mutations over GET, createGuestCart', async () => {
    const m = createMagento(sample);
    const missing = await call(m, get(GET_CART, 'getCart', { cartId: 'nope' }));
    assert.deepEqual(missing.json.errors[0], { message: 'Could not find a cart with ID "nope"', extensions: { category: 'graphql-no-such-entity' }, locations: [{ line: 1, column: 35 }], path: ['cart'] });
    assert.deepEqual(missing.json.data, { cart: null });
    const auth = { Authorization: 'Bearer tok-a' };
    const mine = (await call(m, post(CREATE_CART, 'createCart', {}, auth))).json.data.cartId;
    assert.equal((await call(m, post(CREATE_CART, 'createCart', {}, auth))).json.data.cartId, mine); // the customer's active cart
    const other = await call(m, get(GET_CART, 'getCart', { cartId: mine }));
    assert.equal(other.json.errors[0].extensions.category, 'graphql-authorization');
    const viaGet = await call(m, get(CREATE_CART, 'createCart', {}));
    assert.equal(viaGet.json.errors[0].message, 'Mutation requests allowed only for HTTP POST requests');
    const guest = await call(m, post('mutation { createGuestCart { cart { id total_quantity } } }'));
    assert.equal(guest.json.data.createGuestCart.cart.total_quantity, 0);
  });
});

const round2 = (x) => Math.round(x * 100) / 100;

// ---- everything else -----------------------------------------------------------------------------------------

describe('errors, faults, recording, determinism', () => {
  test('anything else is a graphql-input error with status 200', async () => {
    const m = createMagento(sample);
    const r = await call(m, get('query X { customerOrders { total_count } }', 'X'));
    assert.equal(r.res.status, 200);
    assert.deepEqual(r.json, { errors: [{ message: 'Cannot query field "customerOrders" on type "Query".', extensions: { category: 'graphql-input' } }] });
    assert.equal(r.headers['cache-control'], 'no-store, no-cache, must-revalidate');
    const mu = await call(m, post('mutation { mergeCarts(source_cart_id: "a", destination_cart_id: "b") { id } }'));
    assert.equal(mu.json.errors[0].message, 'Cannot query field "mergeCarts" on type "Mutation".');
    const noQuery = await call(m, new Request(`${ORIGIN}/graphql`));
    assert.equal(noQuery.json.errors[0].extensions.category, 'graphql');
    const badJson = await call(m, new Request(`${ORIGIN}/graphql`, { method: 'POST', body: '{nope' }));
    assert.equal(badJson.json.errors[0].extensions.category, 'graphql-input');
    const badVars = await call(m, new Request(`${ORIGIN}/graphql?query=%7BstoreConfig%7Bid%7D%7D&variables=%7Bx`));
    assert.equal(badVars.json.errors[0].extensions.category, 'graphql-input');
    const two = await call(m, get('query A { storeConfig { id } } query B { storeConfig { id } }'));
    assert.match(two.json.errors[0].message, /Must provide operation name/);
    const put = await call(m, new Request(`${ORIGIN}/graphql`, { method: 'PUT', body: '{}' }));
    assert.equal(put.res.status, 405);
    const notFound = await m.handle(new Request(`${ORIGIN}/rest/V1/orders`)); // REST: only /V1/products (rest.test.mjs)
    assert.equal(notFound.status, 404);
  });
  test('fault 500: an HTML error page', async () => {
    const m = createMagento(sample);
    const r = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars('Mw=='), { 'x-standin-fault': '500' }));
    assert.equal(r.res.status, 500);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.match(r.text, /^<!doctype html>.*There has been an error processing your request/s);
    assert.equal(r.json, null);
  });
  test('fault garbage: 200, JSON content type, not JSON', async () => {
    const m = createMagento(sample);
    const r = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars('Mw=='), { 'x-standin-fault': 'garbage' }));
    assert.equal(r.res.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.throws(() => JSON.parse(r.text));
  });
  test('fault huge: a valid GraphQL listing over 5 MB', async () => {
    const m = createMagento(sample);
    const r = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars('Mw=='), { 'x-standin-fault': 'huge' }));
    assert.equal(r.res.status, 200);
    assert.ok(r.text.length > 5 * 1024 * 1024, `${r.text.length} bytes`);
    assert.ok(Array.isArray(r.json.data.products.items) && r.json.data.products.items.length > 10000);
    assert.equal(r.json.data.products.total_count, r.json.data.products.items.length);
    assert.equal(new Set(r.json.data.products.items.map((it) => it.sku)).size, r.json.data.products.items.length);
  });
  test('fault timeout: no answer before the delay, then the normal answer; abortable by signal and by close()', async () => {
    const m = createMagento(sample, { timeoutMs: 300 });
    const t0 = Date.now();
    const r = await call(m, get('{ storeConfig { id } }', null, null, { 'x-standin-fault': 'timeout' }));
    assert.ok(Date.now() - t0 >= 290, `${Date.now() - t0} ms`);
    assert.deepEqual(r.json, { data: { storeConfig: { id: 1 } } });

    const slow = createMagento(sample); // default: 120 s
    const ac = new AbortController();
    const p = slow.handle(new Request(`${ORIGIN}/graphql?query=%7BstoreConfig%7Bid%7D%7D`, { headers: { 'x-standin-fault': 'timeout' }, signal: ac.signal }));
    const raced = await Promise.race([p.then(() => 'answered', (e) => e.name), new Promise((r) => setTimeout(() => r('pending'), 200))]);
    assert.equal(raced, 'pending');
    ac.abort();
    await assert.rejects(p, { name: 'AbortError' });
    const q = slow.handle(new Request(`${ORIGIN}/graphql?query=%7BstoreConfig%7Bid%7D%7D`, { headers: { 'x-standin-fault': 'timeout' } }));
    setTimeout(() => slow.close(), 50);
    await assert.rejects(q, { name: 'AbortError' });
  });
  test('every request is recorded: method, url, headers (an object), body', async () => {
    const m = createMagento(sample);
    await m.handle(get('{ storeConfig { id } }', null, null, { Cookie: 'PHPSESSID=1; er_sid=zzz', Store: 'de' }));
    await m.handle(post(CREATE_CART, 'createCart', {}));
    await m.handle(get('{ storeConfig { id } }', null, null, { 'x-standin-fault': '500' }));
    const [a, b, c] = m.state.requests;
    assert.equal(m.state.requests.length, 3);
    assert.equal(a.method, 'GET');
    assert.equal(a.url, `${ORIGIN}/graphql?query=%7B+storeConfig+%7B+id+%7D+%7D`);
    assert.equal(a.headers.cookie, 'PHPSESSID=1; er_sid=zzz');
    assert.equal(a.headers.store, 'de');
    assert.equal(a.body, null);
    assert.equal(b.method, 'POST');
    assert.deepEqual(JSON.parse(b.body), { query: CREATE_CART, operationName: 'createCart', variables: {} });
    assert.equal(b.headers['content-type'], 'application/json');
    assert.equal(c.headers['x-standin-fault'], '500');
  });
  test('deterministic: the same request gives the same bytes; a fresh stand-in replays the same mutations', async () => {
    const run = async () => {
      const m = createMagento(sample);
      const out = [];
      for (const req of [
        () => get(GET_CATEGORIES, 'GetCategories', categoryVars(b64(m.categories.get('Men').id), { sort: { price: 'ASC' } })),
        () => get(GET_CATEGORIES, 'GetCategories', categoryVars(b64(m.categories.get('Men').id), { sort: { price: 'ASC' } })),
        () => get(PRODUCT_SEARCH, 'ProductSearch', { inputText: 'bag', filters: {} }, { Store: 'de' }),
        () => get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: 'trailhead-daypack' }),
        () => post(CREATE_CART, 'createCart', {}),
      ]) {
        const r = await m.handle(req());
        out.push([r.status, [...r.headers].join('\n'), await r.text()]);
      }
      const cartId = JSON.parse(out[4][2]).data.cartId;
      const r = await m.handle(post(ADD_PRODUCT, 'AddProductToCart', { cartId, product: { sku: 'ER-BAG-01', quantity: 1 } }));
      out.push([r.status, [...r.headers].join('\n'), await r.text()]);
      const o = await m.handle(post(PLACE_ORDER, 'placeOrder', { cartId }));
      out.push([o.status, [...o.headers].join('\n'), await o.text()]);
      return out;
    };
    const [x, y] = [await run(), await run()];
    assert.deepEqual(x[0], x[1]);
    assert.deepEqual(x, y);
  });
  test('magento.mjs imports nothing (fetch-API only, runs in workerd)', () => {
    const src = readFileSync(join(here, 'magento.mjs'), 'utf8');
    assert.doesNotMatch(src, /^\s*import\s/m);
    assert.doesNotMatch(src, /\brequire\(|\bprocess\.|\bBuffer\b/);
  });
});

// ---- inside workerd ----------------------------------------------------------------------------------------------

const miniflareMissing = !existsSync(join(root, 'node_modules/miniflare')) && 'node_modules/miniflare is not installed';
describe('inside workerd (miniflare)', { skip: miniflareMissing }, () => {
  test('the same handler answers the same bytes as in Node, faults included', async () => {
    const { Miniflare, convertV4MiniflareOptions } = await import('miniflare');
    const worker = `import { createMagento } from './magento.mjs';
      let m;
      export default { async fetch(request, env) { m ??= createMagento(env.CATALOG, { timeoutMs: 100 }); return m.handle(request); } };`;
    const mf = new Miniflare(convertV4MiniflareOptions({
      compatibilityDate: '2026-10-01', modulesRoot: here,
      modules: [
        { type: 'ESModule', path: join(here, 'standin-worker.mjs'), contents: worker },
        { type: 'ESModule', path: join(here, 'magento.mjs') },
      ],
      bindings: { CATALOG: sample },
    }));
    try {
      const node = createMagento(sample, { timeoutMs: 100 });
      const uid = b64(node.categories.get('Men').id);
      const reqs = [
        () => get(GET_CATEGORIES, 'GetCategories', categoryVars(uid, { sort: { price: 'DESC' } }), { Store: 'de' }),
        () => get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: 'trailhead-daypack' }, { Authorization: 'Bearer t' }),
        () => post(CREATE_CART, 'createCart', {}),
        () => get('{ storeConfig { id } }', null, null, { 'x-standin-fault': 'timeout' }),
        () => get('{ storeConfig { id } }', null, null, { 'x-standin-fault': '500' }),
      ];
      // miniflare's fetch takes (url, init): its undici differs from Node's global Request
      const dispatch = async (r) => mf.dispatchFetch(r.url, { method: r.method, headers: [...r.headers], body: r.method === 'POST' ? await r.text() : undefined });
      for (const make of reqs) {
        const [a, b] = [await dispatch(make()), await node.handle(make())];
        assert.equal(a.status, b.status);
        assert.equal(a.headers.get('cache-control'), b.headers.get('cache-control'));
        assert.equal(await a.text(), await b.text());
      }
      const huge = await dispatch(get('{ storeConfig { id } }', null, null, { 'x-standin-fault': 'huge' }));
      assert.ok((await huge.text()).length > 5 * 1024 * 1024);
    } finally {
      await mf.dispose();
    }
  });
});

// ---- the Luma catalog --------------------------------------------------------------------------------------------

describe('on the Luma catalog', { skip: lumaMissing }, () => {
  let luma, lumaFile;
  before(() => {
    lumaFile = join(tmp, 'luma-catalog.json');
    const r = spawnSync(edgerec, ['import', 'luma-catalog', lumaDir, '--out', lumaFile], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    luma = JSON.parse(readFileSync(lumaFile, 'utf8'));
  });
  test('Men/Tops/Jackets: configurable parents with children prices, ProductSearch, product detail variants', async () => {
    const m = createMagento(luma);
    const uid = catUid(m, 'Men/Tops/Jackets');
    const { json } = await call(m, get(GET_CATEGORIES, 'GetCategories', categoryVars(uid)));
    const items = json.data.products.items;
    assert.equal(json.data.products.total_count, listable(luma).filter((it) => inPath(it, 'Men/Tops/Jackets')).length);
    assert.ok(items.length >= 10 && items.every((it) => it.__typename === 'ConfigurableProduct'));
    const s = await call(m, get(PRODUCT_SEARCH, 'ProductSearch', { inputText: 'hoodie', filters: {}, pageSize: 50 }));
    assert.ok(s.json.data.products.total_count >= 5);
    assert.ok(s.json.data.products.items.every((it) => /hoodie/i.test(it.name)));
    const d = await call(m, get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: items[0].url_key }));
    const p = d.json.data.products.items[0];
    assert.equal(p.sku, items[0].sku);
    assert.ok(p.variants.length >= 5);
    assert.deepEqual(p.configurable_options.map((o) => o.attribute_code).sort(), ['color', 'size']);
    assert.ok(p.variants.every((v) => luma.items.find((it) => it.sku === v.product.sku).parent === p.sku));
  });
  test('synthetic sessions over Luma: valid events the native trainer reads with nothing malformed', () => {
    const out = join(tmp, 'syn.ndjson');
    const r = spawnSync(process.execPath, [join(here, 'synthetic-sessions.mjs'), '--catalog', lumaFile, '--sessions', '800', '--seed', '7', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /SYNTHETIC data, seed 7: 800 sessions/);
    const events = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    checkEvents(events, luma, { sessions: 800 });
    const areas = new Set(events.map((e) => e.category.split('/').slice(0, 2).join('/')));
    assert.ok(['Men/Tops', 'Women/Bottoms', 'Gear/Bags'].every((a) => areas.has(a)), [...areas].join(', '));
    const t = spawnSync(edgerec, ['train', '--events', out, '--catalog', lumaFile, '--test-days', '5', '--out', join(tmp, 'syn.erb')], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /, 0 malformed/);
  });
});

// ---- the generator -----------------------------------------------------------------------------------------------

function checkEvents(events, catalog, { sessions, end = DEFAULT_END, days = 30 }) {
  const bySku = new Map(catalog.items.map((it) => [it.sku, it]));
  const ids = new Set();
  const perSession = new Map();
  for (const e of events) {
    assert.ok(['view', 'cart', 'purchase'].includes(e.type), e.type);
    for (const f of ['item', 'session', 'user', 'id', 'category']) assert.equal(typeof e[f], 'string', `${f} in ${JSON.stringify(e)}`);
    assert.ok(Number.isInteger(e.ts) && e.ts >= end - days * 86400 && e.ts < end, `ts ${e.ts}`);
    assert.ok(typeof e.price === 'number' && e.price >= 0);
    assert.match(e.id, /^synthetic-/);
    assert.match(e.session, /^syn-/);
    assert.match(e.user, /^syn-/);
    assert.ok(!ids.has(e.id), `duplicate id ${e.id}`);
    ids.add(e.id);
    const it = bySku.get(e.item);
    assert.ok(it, `unknown sku ${e.item}`);
    if (e.type === 'view') assert.ok(!it.parent && it.visible !== false, `view of an invisible item ${e.item}`);
    else { assert.ok(Number.isInteger(e.qty) && e.qty >= 1); assert.ok(it.parent ? bySku.get(it.parent).visible : it.visible); }
    assert.ok(JSON.stringify(e).length < 16384);
    if (!perSession.has(e.session)) perSession.set(e.session, []);
    perSession.get(e.session).push(e);
  }
  assert.equal(perSession.size, sessions);
  for (const [s, list] of perSession) {
    const views = list.filter((e) => e.type === 'view').length;
    assert.ok(views >= 3 && views <= 15, `${s}: ${views} views`);
    assert.equal(new Set(list.map((e) => e.user)).size, 1);
    // strictly increasing, except the lines of one order (purchases share the order's time)
    for (let i = 1; i < list.length; i++) assert.ok(list[i].ts > list[i - 1].ts || (list[i].type === 'purchase' && list[i - 1].type === 'purchase' && list[i].ts === list[i - 1].ts), `${s} not increasing`);
    for (let i = 1; i < list.length; i++) if (list[i].type === 'view' && list[i - 1].type === 'view') assert.notEqual(list[i].item, list[i - 1].item, `${s}: the same product twice in a row`);
    const carted = new Set(list.filter((e) => e.type === 'cart').map((e) => e.item));
    for (const p of list.filter((e) => e.type === 'purchase')) assert.ok(carted.has(p.item), `${s}: bought ${p.item} without a cart`);
  }
  for (let i = 1; i < events.length; i++) assert.ok(events[i].ts >= events[i - 1].ts, 'not in time order');
}

describe('synthetic-sessions', () => {
  test('events follow the contract, are labelled synthetic, sessions are plausible', () => {
    const { events, summary } = generate(sample, { sessions: 400, seed: 3 });
    checkEvents(events, sample, { sessions: 400 });
    assert.equal(summary.events, events.length);
    assert.equal(summary.view + summary.cart + summary.purchase, events.length);
    assert.ok(summary.cart > 0 && summary.purchase > 0 && summary.purchase <= summary.cart * 2);
    assert.ok(summary.shoppers < 400, 'some shoppers return');
    assert.ok(events.some((e) => e.type === 'cart' && sample.items.find((it) => it.sku === e.item).parent), 'configurables are carted as children');
    // a shopper's taste shows: most of a session's views are in one area
    const sessions = new Map();
    for (const e of events) if (e.type === 'view') (sessions.get(e.session) ?? sessions.set(e.session, []).get(e.session)).push(e.category.split('/').slice(0, 2).join('/'));
    let focused = 0;
    for (const cats of sessions.values()) {
      const top = Math.max(...[...new Set(cats)].map((c) => cats.filter((x) => x === c).length));
      if (top / cats.length >= 0.5) focused++;
    }
    assert.ok(focused / sessions.size > 0.8, `${focused} of ${sessions.size} sessions focused`);
  });
  test('deterministic for a seed (CLI bytes), different for another seed; --end and --days shape the window', () => {
    const file = join(tmp, 'sample.json');
    writeFileSync(file, JSON.stringify(sample));
    const run = (...args) => spawnSync(process.execPath, [join(here, 'synthetic-sessions.mjs'), '--catalog', file, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const a = run('--sessions', '300', '--seed', '11');
    const b = run('--sessions', '300', '--seed', '11');
    const c = run('--sessions', '300', '--seed', '12');
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.notEqual(a.stdout, c.stdout);
    assert.equal(a.stdout, toNdjson(generate(sample, { sessions: 300, seed: '11' }).events));
    assert.match(a.stderr, /^synthetic-sessions: SYNTHETIC data, seed 11: 300 sessions of \d+ shoppers, \d+ events \(view \d+, cart \d+, purchase \d+\)/);
    const lines = a.stdout.trim().split('\n');
    assert.ok(lines.every((l) => { const e = JSON.parse(l); return typeof e === 'object'; }));
    const w = run('--sessions', '50', '--days', '3', '--end', '1700000000');
    checkEvents(w.stdout.trim().split('\n').map((l) => JSON.parse(l)), sample, { sessions: 50, end: 1700000000, days: 3 });
    for (const bad of [['--sessions', '0'], ['--days', 'x'], ['--nope']]) assert.equal(run(...bad).status, 2);
    assert.equal(spawnSync(process.execPath, [join(here, 'synthetic-sessions.mjs')], { encoding: 'utf8' }).status, 2);
  });
  test('the engine\'s own event validator accepts every line (requireAll)', { skip: !existsSync(join(root, 'wasm/edgerec.wasm')) && 'wasm/edgerec.wasm is not built' }, async () => {
    const { Engine } = await import(join(root, 'worker-shim/core/engine.js'));
    const wasm = await WebAssembly.compile(readFileSync(join(root, 'wasm/edgerec.wasm')));
    const engine = new Engine(wasm, readFileSync(join(root, 'build/sample.erb')));
    const { events } = generate(sample, { sessions: 200, seed: 5 });
    for (const e of events) {
      const r = engine.checkEvent(JSON.stringify(e), { requireAll: true });
      assert.ok(r === true || r?.ok !== false, `${JSON.stringify(e)}: ${JSON.stringify(r)}`);
    }
  });
});

// ---- the server ----------------------------------------------------------------------------------------------------

describe('server.mjs', () => {
  test('serves the demo, 404s the favicon, proxies /graphql, logs, exits on SIGTERM', async () => {
    const file = join(tmp, 'server-catalog.json');
    writeFileSync(file, JSON.stringify(sample));
    const child = spawn(process.execPath, [join(here, 'server.mjs'), '--catalog', file, '--port', '0', '--timeout-ms', '5000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const base = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; const m = /magento stand-in listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out); if (m) resolve(m[1]); });
      child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
    });
    try {
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type'), /^text\/html/);
      const html = await page.text();
      assert.match(html, /query GetCategories\(/);
      assert.match(html, /getProductDetailForProductPage/);
      assert.match(html, /x-edgerec/);
      assert.equal((await fetch(`${base}/favicon.ico`)).status, 404);
      // the same page is the product page of a catalog product (/<url_key>.html) and the cart page
      const key = sample.items.find((it) => it.url_key && !it.parent && it.visible !== false).url_key;
      for (const path of [`/${key}.html`, '/cart']) assert.equal(await (await fetch(`${base}${path}`)).text(), html, path);
      assert.equal((await fetch(`${base}/no-such-product.html`)).status, 404);
      const img = await fetch(`${base}/media/catalog/product/c/h/chaz-kangeroo-hoodie.jpg`);
      assert.equal(img.headers.get('content-type'), 'image/svg+xml');
      assert.match(await img.text(), /^<svg [^>]*>.*>CK<\/text><\/svg>$/);
      const uid = b64(createMagento(sample).categories.get('Gear/Bags').id);
      const qs = new URLSearchParams({ query: GET_CATEGORIES, operationName: 'GetCategories', variables: JSON.stringify(categoryVars(uid)) });
      const r = await fetch(`${base}/graphql?${qs}`, { headers: { Store: 'de' } });
      assert.equal(r.headers.get('cache-control'), 'max-age=3600, public, s-maxage=3600');
      const j = await r.json();
      assert.equal(j.data.products.items[0].price_range.maximum_price.final_price.currency, 'EUR');
      const m = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: CREATE_CART, operationName: 'createCart' }) });
      assert.match((await m.json()).data.cartId, /^[A-Za-z0-9]{32}$/);
      const f = await fetch(`${base}/graphql?query=%7BstoreConfig%7Bid%7D%7D`, { headers: { 'x-standin-fault': '500' } });
      assert.equal(f.status, 500);
      // a client that gives up on a timeout does not keep the server busy
      await assert.rejects(fetch(`${base}/graphql?query=%7BstoreConfig%7Bid%7D%7D`, { headers: { 'x-standin-fault': 'timeout' }, signal: AbortSignal.timeout(150) }));
      assert.match(stderr, /GET \/graphql GetCategories -> 200 \d+ B/);
      assert.match(stderr, /POST \/graphql createCart -> 200/);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, stderr);
  });
  test('the demo page\'s own documents are answered: navigation, listing, product, cart, order', async () => {
    const html = readFileSync(join(here, 'demo.html'), 'utf8');
    const docs = Object.fromEntries([...html.matchAll(/const ([A-Z_]+) = `([^`]*)`;/g)].map((x) => [x[1], x[2]]));
    assert.deepEqual(Object.keys(docs).sort(), ['ADD_TO_CART', 'CREATE_CART', 'GET_BY_SKU', 'GET_CART', 'GET_CATEGORIES', 'GET_NAVIGATION', 'GET_PRODUCT', 'PLACE_ORDER']);
    const m = createMagento(sample);
    const nav = (await call(m, get(docs.GET_NAVIGATION, 'GetNavigationCategories', {}))).json.data.categoryList[0];
    const jackets = nav.children.find((c) => c.name === 'Men').children.find((c) => c.name === 'Tops').children.find((c) => c.name === 'Jackets');
    assert.equal(jackets.product_count, 4);
    for (const sort of [{ position: 'ASC' }, { price: 'ASC' }]) {
      const l = await call(m, get(docs.GET_CATEGORIES, 'GetCategories', { currentPage: 1, uid: jackets.uid, filters: { category_uid: { eq: jackets.uid } }, pageSize: 24, sort }, { Store: 'uk' }));
      assert.equal(l.json.data.products.items.length, 4);
      assert.equal(l.json.data.products.items[0].price_range.maximum_price.final_price.currency, 'GBP');
    }
    const p = (await call(m, get(docs.GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: sample.items.find((it) => it.sku === 'ER-MJ-01').url_key }))).json.data.products.items[0];
    assert.equal(p.sku, 'ER-MJ-01');
    const cartId = (await call(m, post(docs.CREATE_CART, 'createCart', {}))).json.data.cartId;
    const product = { sku: p.sku, quantity: 1, selected_options: p.configurable_options.map((o) => o.values[0].uid) };
    const add = (await call(m, post(docs.ADD_TO_CART, 'AddProductToCart', { cartId, product }))).json.data.addProductsToCart;
    assert.deepEqual(add, { cart: { id: cartId, total_quantity: 1 }, user_errors: [] });
    // the cart page's cart, and the product a unit's add-to-cart button names by sku (its options)
    const cart = (await call(m, get(docs.GET_CART, 'GetCart', { cartId }))).json.data.cart;
    assert.deepEqual(cart.items.map((it) => [it.product.sku, it.quantity]), [['ER-MJ-01', 1]]);
    assert.equal(typeof cart.prices.grand_total.value, 'number');
    const bySku = (await call(m, get(docs.GET_BY_SKU, 'ProductBySku', { sku: 'ER-MJ-01' }))).json.data.products.items[0];
    assert.deepEqual(bySku.configurable_options.map((o) => o.values[0].uid), product.selected_options);
    const order = (await call(m, post(docs.PLACE_ORDER, 'placeOrder', { cartId }))).json;
    assert.deepEqual(order, { data: { placeOrder: { order: { order_number: '000000001' } } } });
  });
  test('--quiet logs nothing; a missing catalog is exit 3, bad arguments exit 2', async () => {
    const bad = spawnSync(process.execPath, [join(here, 'server.mjs'), '--catalog', join(tmp, 'nope.json')], { encoding: 'utf8' });
    assert.equal(bad.status, 3);
    assert.equal(spawnSync(process.execPath, [join(here, 'server.mjs')], { encoding: 'utf8' }).status, 2);
    const file = join(tmp, 'server-catalog.json');
    writeFileSync(file, JSON.stringify(sample));
    const child = spawn(process.execPath, [join(here, 'server.mjs'), '--catalog', file, '--port', '0', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const base = await new Promise((resolve) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]); });
    });
    await (await fetch(`${base}/graphql?query=%7BstoreConfig%7Bid%7D%7D`)).text();
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.equal(stderr, '');
  });
});
