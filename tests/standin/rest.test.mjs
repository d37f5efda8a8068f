// rest.test.mjs — the stand-in's REST product search (GET /rest/<store>/V1/products, the catalog
// sync's incremental path), the test-only product changes (POST /__standin/product) and scenarios
// (/__standin/scenario/<name>/…: a stand-in of its own over a copy of the catalog).
// Over tests/data/sample-catalog.json (54 items, 9 of them configurable children).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMagento } from './magento.mjs';

const root = new URL('../../', import.meta.url).pathname;
const sample = JSON.parse(readFileSync(join(root, 'tests/data/sample-catalog.json'), 'utf8'));
const TOKEN = 'standin-integration-token';
const H = 'http://magento.test';
const fresh = (o) => createMagento(structuredClone(sample), o);

async function rest(m, query, { token = TOKEN, store = 'default', prefix = '' } = {}) {
  const res = await m.handle(new Request(`${H}${prefix}/rest/${store}/V1/products?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }));
  return { status: res.status, json: await res.json() };
}
const sc = (...pairs) => pairs.map(([k, v]) => `searchCriteria${k}=${encodeURIComponent(v)}`).join('&');
const updatedAfter = (t, extra = []) => sc(['[filter_groups][0][filters][0][field]', 'updated_at'], ['[filter_groups][0][filters][0][value]', t],
  ['[filter_groups][0][filters][0][condition_type]', 'gt'], ['[sortOrders][0][field]', 'updated_at'], ['[sortOrders][0][direction]', 'ASC'], ...extra);

async function gql(m, query, variables, { prefix = '', headers = {} } = {}) {
  const res = await m.handle(new Request(`${H}${prefix}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }));
  return res.json();
}
const BY_SKU = 'query($s: [String!]!) { products(filter: {sku: {in: $s}}, pageSize: 100) { items { sku name stock_status price_range { minimum_price { final_price { value currency } } } } } }';
async function change(m, body, prefix = '') {
  const res = await m.handle(new Request(`${H}${prefix}/__standin/product`, { method: 'POST', body: JSON.stringify(body) }));
  return { status: res.status, json: await res.json() };
}

describe('REST /V1/products', () => {
  test('an integration token is required: none, a wrong one or a customer token is Magento\'s 401', async () => {
    const m = fresh();
    for (const token of [null, 'nope']) {
      const r = await rest(m, sc(['[pageSize]', 1]), { token });
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { message: "The consumer isn't authorized to access %resources.", parameters: { resources: 'Magento_Catalog::products' } });
    }
    const tok = await gql(m, 'mutation { generateCustomerToken(email: "a@example.com", password: "pw") { token } }');
    assert.equal((await rest(m, sc(['[pageSize]', 1]), { token: tok.data.generateCustomerToken.token })).status, 401);
    assert.equal((await rest(fresh({ integrationTokens: ['other'] }), sc(['[pageSize]', 1]), { token: 'other' })).status, 200);
  });

  test('Magento\'s shape: items with sku, status, visibility, type_id, updated_at; search_criteria echoed; total_count', async () => {
    const m = fresh();
    const r = await rest(m, sc(['[pageSize]', 100]));
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['items', 'search_criteria', 'total_count']);
    assert.equal(r.json.total_count, 54);
    assert.equal(r.json.items.length, 54);
    const bag = r.json.items.find((p) => p.sku === 'ER-BAG-01');
    assert.deepEqual({ id: bag.id, status: bag.status, visibility: bag.visibility, type_id: bag.type_id, price: bag.price, updated_at: bag.updated_at, created_at: bag.created_at },
      { id: 1, status: 1, visibility: 4, type_id: 'simple', price: 42, updated_at: '2024-01-01 00:00:00', created_at: '2024-01-01 00:00:00' });
    assert.deepEqual(bag.custom_attributes.find((a) => a.attribute_code === 'url_key'), { attribute_code: 'url_key', value: 'trailhead-daypack' });
    const parent = r.json.items.find((p) => p.sku === 'ER-MJ-01');
    const child = r.json.items.find((p) => p.sku === 'ER-MJ-01-S');
    assert.deepEqual([parent.type_id, parent.price, parent.visibility, child.visibility, child.type_id], ['configurable', 0, 4, 1, 'simple']);
    assert.deepEqual(r.json.search_criteria, { filter_groups: [], page_size: 100, current_page: 1 });
    // no searchCriteria at all: Magento's 400; an unknown store: 400
    assert.deepEqual((await rest(m, '')).json, { message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: 'searchCriteria' } });
    assert.equal((await rest(m, sc(['[pageSize]', 1]), { store: 'nope' })).status, 400);
    assert.equal((await rest(m, sc(['[pageSize]', 1]), { store: 'all' })).status, 200);
  });

  test('filters (groups AND, filters OR), condition types, sort orders, pages (past the end: the last page again), fields', async () => {
    const m = fresh();
    const skus = (r) => r.json.items.map((p) => p.sku);
    const inBags = await rest(m, sc(['[filter_groups][0][filters][0][field]', 'sku'], ['[filter_groups][0][filters][0][value]', 'ER-BAG-01,ER-BAG-03'],
      ['[filter_groups][0][filters][0][condition_type]', 'in']));
    assert.deepEqual(skus(inBags), ['ER-BAG-01', 'ER-BAG-03']);
    const orOr = await rest(m, sc(['[filter_groups][0][filters][0][field]', 'sku'], ['[filter_groups][0][filters][0][value]', 'ER-BAG-01'],
      ['[filter_groups][0][filters][1][field]', 'sku'], ['[filter_groups][0][filters][1][value]', 'ER-MJ-01%'], ['[filter_groups][0][filters][1][condition_type]', 'like'],
      ['[filter_groups][1][filters][0][field]', 'visibility'], ['[filter_groups][1][filters][0][value]', '4']));
    assert.deepEqual(skus(orOr), ['ER-BAG-01', 'ER-MJ-01']);
    const desc = await rest(m, sc(['[filter_groups][0][filters][0][field]', 'sku'], ['[filter_groups][0][filters][0][value]', 'ER-BAG-0%'],
      ['[filter_groups][0][filters][0][condition_type]', 'like'], ['[sortOrders][0][field]', 'sku'], ['[sortOrders][0][direction]', 'DESC'], ['[pageSize]', 2], ['[currentPage]', 2]));
    assert.deepEqual([skus(desc), desc.json.total_count, desc.json.search_criteria.current_page], [['ER-BAG-07', 'ER-BAG-06'], 9, 2]);
    const past = await rest(m, sc(['[pageSize]', 20], ['[currentPage]', 9]));
    assert.deepEqual([past.json.items.length, past.json.search_criteria.current_page], [14, 3]);
    const slim = await rest(m, `${sc(['[pageSize]', 2])}&fields=${encodeURIComponent('items[sku,updated_at],total_count')}`);
    assert.deepEqual(slim.json, { items: [{ sku: 'ER-BAG-01', updated_at: '2024-01-01 00:00:00' }, { sku: 'ER-BAG-02', updated_at: '2024-01-01 00:00:00' }], total_count: 54 });
    assert.equal((await rest(m, sc(['[filter_groups][0][filters][0][field]', 'sku'], ['[filter_groups][0][filters][0][condition_type]', 'frob']))).status, 400);
  });
});

describe('POST /__standin/product', () => {
  test('a price, name, stock or status change is seen by GraphQL and REST, with a new updated_at', async () => {
    let now = Date.UTC(2031, 2, 3, 12, 0, 0);
    const m = fresh({ clock: () => now });
    const c1 = await change(m, { sku: 'ER-BAG-01', price: 40.5, name: 'Trailhead Daypack II' });
    assert.equal(c1.status, 200);
    assert.deepEqual([c1.json.price, c1.json.name, c1.json.updated_at], [40.5, 'Trailhead Daypack II', '2031-03-03 12:00:00']);
    now += 61_000;
    await change(m, { sku: 'ER-MJ-01-S', price: 80 }); // a child: the parent's range moves, its updated_at does not
    await change(m, { sku: 'ER-BAG-02', status: 2, updated_at: '2031-03-03 12:05:00' });
    await change(m, { sku: 'ER-BAG-03', in_stock: false, updated_at: '2031-03-03 12:06:00' });
    const g = await gql(m, BY_SKU, { s: ['ER-BAG-01', 'ER-BAG-02', 'ER-BAG-03', 'ER-MJ-01'] }, { headers: { store: 'de', 'content-currency': 'EUR' } });
    assert.deepEqual(g.data.products.items.map((p) => [p.sku, p.name, p.stock_status, p.price_range.minimum_price.final_price.value]), [
      ['ER-BAG-01', 'Trailhead Daypack II', 'IN_STOCK', 36.45], ['ER-BAG-03', 'Summit Rolltop 30L', 'OUT_OF_STOCK', 57.6], ['ER-MJ-01', 'Ridge Shell Jacket', 'IN_STOCK', 72]]);
    const changed = await rest(m, `${updatedAfter('2024-01-01 00:00:00')}&fields=${encodeURIComponent('items[sku,updated_at,status],total_count')}`);
    assert.deepEqual(changed.json, { items: [
      { sku: 'ER-BAG-01', updated_at: '2031-03-03 12:00:00', status: 1 }, { sku: 'ER-MJ-01-S', updated_at: '2031-03-03 12:01:01', status: 1 },
      { sku: 'ER-BAG-02', updated_at: '2031-03-03 12:05:00', status: 2 }, { sku: 'ER-BAG-03', updated_at: '2031-03-03 12:06:00', status: 1 }], total_count: 4 });
    assert.deepEqual((await rest(m, updatedAfter('2031-03-03 12:05:00'))).json.items.map((p) => p.sku), ['ER-BAG-03']);
    // a disabled product is gone from listings and product pages too; enabling it brings it back
    const route = 'query($u: String!) { route(url: $u) { __typename } }';
    assert.equal((await gql(m, route, { u: 'metro-commuter-tote.html' })).data.route, null);
    await change(m, { sku: 'ER-BAG-02', status: 1 });
    assert.equal((await gql(m, route, { u: 'metro-commuter-tote.html' })).data.route.__typename, 'SimpleProduct');
    assert.equal((await change(m, { sku: 'NOPE', price: 1 })).status, 404);
    assert.equal((await change(m, { sku: 'ER-BAG-01', price: -1 })).status, 400);
  });
});

describe('scenarios', () => {
  test('a scenario is a stand-in of its own over a copy: changes stay in it; DELETE forgets it', async () => {
    const m = fresh();
    const a = '/__standin/scenario/a', b = '/__standin/scenario/b';
    assert.equal((await change(m, { sku: 'ER-BAG-01', price: 1 }, a)).status, 200);
    const price = async (prefix) => (await gql(m, BY_SKU, { s: ['ER-BAG-01'] }, { prefix })).data.products.items[0].price_range.minimum_price.final_price.value;
    assert.deepEqual([await price(a), await price(b), await price('')], [1, 42, 42]);
    assert.equal((await rest(m, updatedAfter('2024-01-01 00:00:00'), { prefix: a })).json.total_count, 1);
    assert.equal((await rest(m, updatedAfter('2024-01-01 00:00:00'), { prefix: b })).json.total_count, 0);
    assert.equal(m.state.requests.length, 1, 'scenario requests are the scenario\'s (1: the top-level price)');
    const del = await m.handle(new Request(`${H}${a}`, { method: 'DELETE' }));
    assert.equal(del.status, 204);
    assert.equal(await price(a), 42, 'a fresh copy');
    assert.equal(sample.items[0].price, 42, 'the catalog object given is never changed by a scenario');
  });
});
