// recommendations.test.mjs — recommendation units through the real Worker INSIDE workerd: Adobe's
// `recommendations` / `recommendationsByUnitIds` documents (the commerce boilerplate block's and
// the recommendations drop-in's shapes) on /graphql, answered at the edge with no origin request,
// products from the catalog view synced from the Magento stand-in, units from the admin API, the
// holdout's popularity units, opt-out, CORS, caching headers, bad input, and GET /edge/recommend.
import { describe, it, expect, beforeAll, vi } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import wasm from '../../wasm/edgerec.wasm';
import luma from '../../build/workerd/luma.erb';
import { Engine } from '../../worker-shim/core/engine.js';
import { syncCatalog } from '../../worker-shim/cloudflare/catalog-sync.js';
import { MIRROR_KEY } from '../../worker-shim/cloudflare/lifecycle.js';
import { BOILERPLATE, DROPIN } from '../lib/adobe-queries.mjs';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const ADMIN = { authorization: `Bearer ${env.EDGEREC_ADMIN_TOKEN}` };
const SCENARIO = `${ORIGIN}/__standin/scenario/recs-${Math.random().toString(36).slice(2, 8)}`;
const E = { ...env, ORIGIN_URL: SCENARIO, CORS_ORIGINS: 'https://venia.example, https://shop.example' };
const dec = new TextDecoder();

async function send(request, e = E) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const text = dec.decode(new Uint8Array(await res.arrayBuffer()));
  await waitOnExecutionContext(ctx);
  return { res, status: res.status, headers: res.headers, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })(), edgerec: res.headers.get('x-edgerec') };
}
const gqlGet = (query, variables, operationName, headers = {}) => {
  const qs = new URLSearchParams({ query, variables: JSON.stringify(variables ?? {}) });
  if (operationName) qs.set('operationName', operationName);
  return send(new Request(`${SHOP}/graphql?${qs}`, { headers }));
};
const gqlPost = (query, variables, operationName, headers = {}) =>
  send(new Request(`${SHOP}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables, operationName }) }));
const originLog = async () => (await (await fetch(`${ORIGIN}/__standin/requests`)).json()).filter((q) => !q.url.includes('/__standin/'));

const engine = new Engine(wasm, new Uint8Array(luma));
let clock = 0;
/** Run fn with the isolate's clock moved past every per-isolate cache window (manifest, units,
 * catalog manifest: 60 s), so what KV holds now is what the Worker reads. */
async function later(fn) {
  clock = Math.max(clock, Date.now()) + 121_000;
  const base = clock;
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => base);
  try { return await fn(); } finally { spy.mockRestore(); }
}
let visible = []; // skus the catalog view has (synced from the stand-in)

beforeAll(async () => {
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
  await env.EDGEREC.delete(MIRROR_KEY);
  const h = await send(new Request(`${SHOP}/edge/health`));
  expect(h.json.bundle_version).toBe('test-1');
  const r = await syncCatalog(E, Date.now(), { engine });
  expect(r.ok, JSON.stringify(r.errors)).toBe(true);
  const m = JSON.parse(await env.EDGEREC.get('catalog:default:USD'));
  expect(m.records).toBeGreaterThan(100);
  visible = (await fetch(`${SCENARIO}/graphql?${new URLSearchParams({ query: '{ products(search: "", pageSize: 300) { items { sku } } }' })}`).then((x) => x.json())).data.products.items.map((i) => i.sku);
}, 120_000);

describe('Adobe\'s documents on /graphql, answered at the edge', () => {
  it('the boilerplate block (GET, CMS page): the default units, products with names and URLs, no origin request, personal → private', async () => {
    await fetch(`${ORIGIN}/__standin/reset`, { method: 'POST' });
    const r = await gqlGet(BOILERPLATE, { pageType: 'CMS' }, 'GetRecommendations');
    expect(r.status).toBe(200);
    expect(r.json.errors).toBeUndefined();
    const { results, totalResults } = r.json.data.recommendations;
    expect(totalResults).toBeGreaterThan(0);
    expect(results.map((u) => u.displayOrder)).toEqual([...results.map((u) => u.displayOrder)].sort((a, b) => a - b));
    for (const u of results) {
      expect(u.pageType).toBe('CMS');
      expect(u.productsView.length).toBeGreaterThan(0);
      expect(u.totalProducts).toBe(u.productsView.length);
      for (const p of u.productsView) {
        expect(visible).toContain(p.sku);
        expect(p.name).toBeTruthy();
        expect(p.url).toMatch(/\.html$/);
        expect(['SimpleProductView', 'ComplexProductView']).toContain(p.__typename);
      }
    }
    expect(await originLog()).toEqual([]); // no origin request for a units-only document
    expect(r.edgerec).toBe('recommended; model=test-1');
    expect(r.headers.get('cache-control')).toBe('private, no-store'); // just-for-you uses the shopper
  });

  it('the drop-in by unit ids (POST) on a product page: configured units keep their ids, prices, the product itself never shown', async () => {
    const unit = { unitName: 'PDP also viewed', storefrontLabel: 'Customers who viewed this product also viewed', typeId: 'viewed-viewed', pageType: 'Product', displayOrder: 1, itemCount: 6, backfill: 'most-viewed', status: 'active' };
    const put = await send(new Request(`${SHOP}/edge/admin/units/11ee89d1-bfae-4582-a921-2ced44ff6bf7`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' }, body: JSON.stringify(unit) }));
    expect(put.status, put.text).toBeLessThan(300);
    const sku = visible[0];
    // units reach the request path through the KV mirror, re-read at most once a minute per isolate
    const r = await later(() => gqlPost(DROPIN, { unitIds: ['11ee89d1-bfae-4582-a921-2ced44ff6bf7', 'nope'], currentSku: sku }, 'GetRecommendationsByUnitIds'));
    expect(r.json.errors).toBeUndefined();
    const [u, unknown] = r.json.data.recommendationsByUnitIds.results;
    expect(u.unitId).toBe('11ee89d1-bfae-4582-a921-2ced44ff6bf7');
    expect(u.storefrontLabel).toBe(unit.storefrontLabel);
    expect(u.productsView.length).toBeGreaterThan(0);
    expect(u.productsView.length).toBeLessThanOrEqual(6);
    expect(u.productsView.map((p) => p.sku)).not.toContain(sku);
    for (const p of u.productsView) {
      expect(['primary', 'backup']).toContain(p.queryType);
      const amount = p.price?.final?.amount ?? p.priceRange?.minimum?.final?.amount;
      expect(amount.currency).toBe('USD');
      expect(amount.value).toBeGreaterThan(0);
    }
    expect(unknown.userError).toMatch(/unknown unit id 'nope'/);
  });

  it('every type id through the Worker gives products or says what it needs', async () => {
    const types = ['just-for-you', 'most-viewed', 'most-purchased', 'most-added-to-cart', 'trending', 'viewed-viewed', 'viewed-bought', 'bought-bought', 'more-like-this', 'recently-viewed'];
    for (const [i, typeId] of types.entries()) {
      const id = `type-${typeId}`;
      const put = await send(new Request(`${SHOP}/edge/admin/units/${id}`, { method: 'PUT', headers: { ...ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ unitName: typeId, storefrontLabel: typeId, typeId, pageType: 'PageBuilder', displayOrder: i + 1, itemCount: 4, backfill: 'most-viewed', status: 'active' }) }));
      expect(put.status, put.text).toBeLessThan(300);
    }
    const r = await later(() => gqlPost(DROPIN, { unitIds: types.map((t) => `type-${t}`), currentSku: visible[1], userViewHistory: [{ sku: visible[2] }] }, 'GetRecommendationsByUnitIds'));
    expect(r.json.errors).toBeUndefined();
    for (const u of r.json.data.recommendationsByUnitIds.results) expect(u.productsView.length, `${u.typeId}: ${u.userError}`).toBeGreaterThan(0);
  });
});

describe('privacy, arms, caching, CORS', () => {
  it('opted out (Sec-GPC): popularity units, histories ignored, nothing stored; a popularity-only document may be shared', async () => {
    const hist = { pageType: 'CMS', userViewHistory: visible.slice(3, 8).map((sku) => ({ sku })) };
    const a = await gqlGet(BOILERPLATE, hist, 'GetRecommendations', { 'sec-gpc': '1' });
    const b = await gqlGet(BOILERPLATE, { pageType: 'CMS' }, 'GetRecommendations', { 'sec-gpc': '1' });
    expect(a.edgerec).toBe('bypass; reason=opt-out');
    expect(a.res.headers.getSetCookie()).toEqual([]);
    const skus = (x) => x.json.data.recommendations.results.map((u) => u.productsView.map((p) => p.sku));
    expect(skus(a)).toEqual(skus(b)); // the history changed nothing
    expect(a.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  });

  it('the holdout gets non-personalized units (not none), said in x-edgerec', async () => {
    await env.EDGEREC.put(MIRROR_KEY, JSON.stringify({ active: 'test-1', canary: null, percent: 0, holdout: 100, salt: 'holdout-test-salt', run: null }));
    const hist = { pageType: 'CMS', userViewHistory: visible.slice(5, 9).map((sku) => ({ sku })) };
    const [held, heldNoHistory] = await later(async () => [
      await gqlGet(BOILERPLATE, hist, 'GetRecommendations', { 'x-edgerec-id': 'holdout-shopper-1' }),
      await gqlGet(BOILERPLATE, { pageType: 'CMS' }, 'GetRecommendations', { 'x-edgerec-id': 'holdout-shopper-2' }),
    ]);
    await env.EDGEREC.delete(MIRROR_KEY);
    expect(held.edgerec).toBe('bypass; reason=holdout; arm=holdout');
    const units = held.json.data.recommendations.results;
    expect(units.length).toBeGreaterThan(0);
    expect(units.every((u) => u.productsView.length > 0)).toBe(true);
    const skus = (x) => x.json.data.recommendations.results.map((u) => u.productsView.map((p) => p.sku));
    expect(skus(held)).toEqual(skus(heldNoHistory)); // no history, no profile: the same for every holdout shopper
    const back = await later(() => gqlGet(BOILERPLATE, hist, 'GetRecommendations', { 'x-edgerec-id': 'holdout-shopper-1' }));
    expect(back.edgerec).toBe('recommended; model=test-1'); // no manifest: everyone is in control again
  });

  it('CORS: a preflight from a listed storefront origin is answered; another origin is not', async () => {
    const pre = await send(new Request(`${SHOP}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://venia.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'magento-store-view-code, magento-customer-group' } }));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://venia.example');
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/magento-customer-group/);
    const evil = await send(new Request(`${SHOP}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } }));
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const r = await gqlGet(BOILERPLATE, { pageType: 'CMS' }, 'GetRecommendations', { origin: 'https://venia.example', 'magento-store-view-code': 'default' });
    expect(r.headers.get('access-control-allow-origin')).toBe('https://venia.example');
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
  });
});

describe('bad input: GraphQL errors, bounded work, never a 5xx', () => {
  it('mixed with Magento fields, validation errors, 10,000 unit ids, aliases, a 10,000-entry history, wrong types', async () => {
    const cases = [
      [() => gqlPost('{ storeConfig { store_code } recommendations(pageType: CMS) { totalResults } }'), /cannot be mixed with Magento fields/],
      [() => gqlPost('{ recommendations(pageType: Home) { totalResults } }'), /Home/],
      [() => gqlPost('query($u: [String!]!) { recommendationsByUnitIds(unitIds: $u) { totalResults } }', { u: Array.from({ length: 10000 }, (_, i) => `u${i}`) }), /at most 50 unitIds/],
      [() => gqlPost(`{ ${Array.from({ length: 9 }, (_, i) => `a${i}: recommendations(pageType: CMS) { totalResults }`).join(' ')} }`), /at most 4 recommendations fields/],
      [() => gqlPost('query($c: [String]) { recommendations(pageType: Cart, cartSkus: $c) { totalResults } }', { c: 'not-a-list-of-strings'.split('') .map(() => 5) }), /String/],
    ];
    for (const [fn, re] of cases) {
      const r = await fn();
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.json.errors)).toMatch(re);
    }
    const long = await gqlPost(BOILERPLATE, { pageType: 'CMS', userViewHistory: Array.from({ length: 10000 }, (_, i) => ({ sku: visible[i % visible.length], date: new Date(1.7e12 + i).toISOString() })) }, 'GetRecommendations');
    expect(long.status).toBe(200);
    expect(long.json.errors).toBeUndefined();
    const unknownSku = await gqlPost(BOILERPLATE, { pageType: 'Product', currentSku: 'NO-SUCH-SKU', category: 'No/Such/Category' }, 'GetRecommendations');
    expect(unknownSku.status).toBe(200);
    expect(unknownSku.json.errors).toBeUndefined();
  });
});

describe('GET /edge/recommend (apps and simple pages)', () => {
  it('the same units as JSON: by page type, by unit id, by type id with k; bad arguments are 400s naming them', async () => {
    const byPage = await send(new Request(`${SHOP}/edge/recommend?pageType=Product&sku=${encodeURIComponent(visible[0])}`, { headers: { 'x-edgerec-id': 'app-install-1' } }));
    expect(byPage.status).toBe(200);
    expect(byPage.json.totalResults).toBeGreaterThan(0);
    expect(byPage.json.results[0].productsView[0].sku).toBeTruthy();
    const byType = await send(new Request(`${SHOP}/edge/recommend?unit=trending&k=3`));
    expect(byType.json.results).toHaveLength(1);
    expect(byType.json.results[0].productsView.length).toBeLessThanOrEqual(3);
    const bad = await send(new Request(`${SHOP}/edge/recommend?pageType=Home`));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/pageType must be one of/);
  });
});

describe('the catalog view decides what may be shown', () => {
  it('a product disabled in Magento disappears after one sync', async () => {
    const r1 = await send(new Request(`${SHOP}/edge/recommend?unit=most-viewed&k=10`));
    const top = r1.json.results[0].productsView.map((p) => p.sku);
    expect(top.length).toBeGreaterThan(1);
    const gone = top[0];
    const ch = await fetch(`${SCENARIO}/__standin/product`, { method: 'POST', body: JSON.stringify({ sku: gone, status: 2 }) });
    expect(ch.status).toBe(200);
    const s = await syncCatalog(E, Date.now() + 86_400_000, { engine });
    expect(s.ok, JSON.stringify(s.errors)).toBe(true);
    // through the Worker, once its isolate re-reads the catalog manifest (at most every 60 s)
    const r2 = await later(() => send(new Request(`${SHOP}/edge/recommend?unit=most-viewed&k=10`)));
    const after = r2.json.results[0].productsView.map((p) => p.sku);
    expect(after).not.toContain(gone);
    expect(after).toContain(top[1]);
  });
});
