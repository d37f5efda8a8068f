// recommendations.test.mjs — worker-shim/core/recommendations.js over the real engine (the reactor
// with the sample bundle): Adobe's recommendations documents (the shapes the commerce boilerplate's
// product-recommendations block and the recommendations drop-in send) executed with graphql-js,
// every type id, back-fill marked `backup`, userError, the catalog view hiding what it does not
// know, bounds, and the REST arguments.  The catalog view here is built from the sample catalog.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LIMITS, unitsPolicy, engineContext, executeRecommendations, mixedError, recommendationsRequest, resolveUnits, restAnswer, restArgs } from '../../worker-shim/core/recommendations.js';
import { readOperation } from '../../worker-shim/core/graphql.js';
import { reactorEngine, path } from './helpers.mjs';
import { BOILERPLATE, DROPIN } from '../lib/adobe-queries.mjs';

const engine = reactorEngine();
const catalog = JSON.parse(readFileSync(path('tests/data/sample-catalog.json'), 'utf8')).items;
const records = new Map(catalog.filter((p) => p.visible !== false).map((p) => [p.sku, {
  sku: p.sku, name: p.name, urlKey: p.url_key, url: `/${p.url_key}.html`, type: 'simple', inStock: p.in_stock !== false,
  images: [{ url: `https://shop.example/media/${p.url_key}.jpg`, label: p.name, roles: ['small_image'] }],
  price: { final: p.price, regular: p.price, currency: 'USD' }, categories: p.categories ?? [], visibility: 'Catalog, Search',
}]));
const DISABLED = 'ER-BAG-02';
records.delete(DISABLED); // as if Magento no longer returned it

const UNITS = [
  { unitId: 'u-home-1', unitName: 'Home: for you', storefrontLabel: 'Recommended for you', typeId: 'just-for-you', pageType: 'CMS', displayOrder: 1, itemCount: 5, backfill: 'most-viewed', status: 'active' },
  { unitId: 'u-home-2', unitName: 'Home: trending', storefrontLabel: 'Trending now', typeId: 'trending', pageType: 'CMS', displayOrder: 2, itemCount: 4, backfill: 'none', status: 'active' },
  { unitId: 'u-pdp-1', unitName: 'PDP: viewed', storefrontLabel: 'Customers who viewed this also viewed', typeId: 'viewed-viewed', pageType: 'Product', displayOrder: 1, itemCount: 6, backfill: 'most-viewed', status: 'active' },
  { unitId: 'u-cart-1', unitName: 'Cart: bought', storefrontLabel: 'Bought together', typeId: 'viewed-bought', pageType: 'Cart', displayOrder: 1, itemCount: 4, backfill: 'most-purchased', status: 'active' },
];
const deps = (over = {}) => ({
  personal: true,
  unitsFor: (pt) => UNITS.filter((u) => u.pageType === pt).sort((a, b) => a.displayOrder - b.displayOrder),
  unitsById: (ids) => ({ units: ids.map((i) => UNITS.find((u) => u.unitId === i)).filter(Boolean), unknown: ids.filter((i) => !UNITS.some((u) => u.unitId === i)) }),
  recommend: (ctx) => JSON.parse(engine.recommend(JSON.stringify(ctx))), // the sample shoppers have no stored profile
  products: (skus) => new Map(skus.filter((s) => records.has(s)).map((s) => [s, records.get(s)])),
  ...over,
});

const read = (query, variables, operationName) => {
  const r = readOperation('POST', new URL('https://shop.example/graphql'), JSON.stringify({ query, variables, operationName }));
  assert.ok(r.op, r.reason);
  return r.op;
};

describe('Adobe\'s documents, answered from the engine', () => {
  it('the boilerplate block on the home page (CMS): the configured units in display order, products from the catalog view', async () => {
    const op = read(BOILERPLATE, { pageType: 'CMS' }, 'GetRecommendations');
    assert.equal(recommendationsRequest(op), 'only');
    const r = await executeRecommendations(op, deps());
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const { results, totalResults } = r.body.data.recommendations;
    assert.equal(totalResults, 2);
    assert.deepEqual(results.map((u) => [u.unitId, u.typeId, u.displayOrder]), [['u-home-1', 'just-for-you', 1], ['u-home-2', 'trending', 2]]);
    for (const u of results) {
      assert.ok(u.productsView.length > 0 && u.productsView.length <= (u.unitId === 'u-home-1' ? 5 : 4), `${u.unitId}: ${u.productsView.length}`);
      assert.equal(u.totalProducts, u.productsView.length);
      for (const p of u.productsView) {
        assert.equal(p.__typename, 'SimpleProductView');
        assert.equal(p.url, `/${records.get(p.sku).urlKey}.html`);
        assert.notEqual(p.sku, DISABLED, 'a product the catalog view does not know was shown');
        assert.equal(Object.keys(p).sort().join(), ['__typename', 'externalId', 'images', 'name', 'sku', 'url'].sort().join(), 'only the selected fields');
      }
    }
    // trending is the engine's trending list, in order
    const trending = JSON.parse(engine.recommend(JSON.stringify({ unit: 'trending', k: 20 }))).items.map((i) => i.sku).filter((s) => records.has(s)).slice(0, 4);
    assert.deepEqual(results[1].productsView.map((p) => p.sku), trending);
  });
  it('the drop-in by unit ids on a product page: prices through the interface, the page product never recommended, unknown ids get userError', async () => {
    const op = read(DROPIN, { unitIds: ['u-pdp-1', 'nope-42'], currentSku: 'ER-BAG-01' }, 'GetRecommendationsByUnitIds');
    const r = await executeRecommendations(op, deps());
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    const [pdp, unknown] = r.body.data.recommendationsByUnitIds.results;
    assert.equal(pdp.unitId, 'u-pdp-1');
    assert.equal(pdp.userError, null);
    assert.ok(pdp.productsView.length >= 1);
    assert.ok(!pdp.productsView.some((p) => p.sku === 'ER-BAG-01'));
    for (const p of pdp.productsView) {
      assert.deepEqual({ ...p.price.final.amount }, { currency: 'USD', value: records.get(p.sku).price.final });
      assert.ok(p.queryType === 'primary' || p.queryType === 'backup');
    }
    assert.equal(unknown.unitId, 'nope-42');
    assert.match(unknown.userError, /unknown unit id 'nope-42'/);
    assert.deepEqual(unknown.productsView, []);
  });
  it('every type id gives products with back-fill (or a userError that says what is missing)', async () => {
    const types = ['just-for-you', 'most-viewed', 'most-purchased', 'most-added-to-cart', 'trending', 'viewed-viewed', 'viewed-bought', 'bought-bought', 'more-like-this', 'recently-viewed'];
    for (const typeId of types) {
      const unit = { unitId: `t-${typeId}`, typeId, pageType: 'Product', itemCount: 5, backfill: 'most-viewed' };
      const [withSku] = await resolveUnits({ pageType: 'Product', currentSku: 'ER-BAG-01', userViewHistory: [{ sku: 'ER-BAG-03' }, { sku: 'ER-MJ-01' }] }, deps({ units: [unit] }));
      assert.equal(withSku.userError, null, `${typeId}: ${withSku.userError}`);
      assert.ok(withSku.products.length > 0, `${typeId} gave no products`);
      const [bare] = await resolveUnits({ pageType: 'Product' }, deps({ units: [{ ...unit, backfill: 'none' }] }));
      if (/^(viewed-|bought-|more-like)/.test(typeId)) assert.match(bare.userError ?? '', /needs currentSku/, `${typeId} without a sku`);
    }
  });
  it('back-fill: when a unit has too few primary items the rest are marked backup', async () => {
    const unit = { unitId: 'b', typeId: 'viewed-viewed', pageType: 'Product', itemCount: 25, backfill: 'most-viewed' };
    const [r] = await resolveUnits({ pageType: 'Product', currentSku: 'ER-BAG-01' }, deps({ units: [unit] }));
    const kinds = r.products.map((p) => p.queryType);
    assert.ok(kinds.includes('backup'), `no back-fill in ${kinds}`);
    assert.equal(kinds.indexOf('backup'), kinds.filter((k) => k === 'primary').length, 'backups come after the primary items');
    assert.equal(new Set(r.products.map((p) => p.sku)).size, r.products.length);
  });
  it('the holdout and opted-out shoppers: no profile, no history; just-for-you becomes popularity', async () => {
    const ctx = engineContext(UNITS[0], { userViewHistory: [{ sku: 'ER-BAG-03' }] }, { personal: false });
    assert.equal(ctx.recent, undefined);
    assert.equal(ctx.unit, 'most-viewed');
    const personal = engineContext(UNITS[0], { userViewHistory: [{ sku: 'ER-BAG-03', date: '2026-01-01T00:00:00Z' }, { sku: 'ER-MJ-01', date: '2026-02-01T00:00:00Z' }] }, { personal: true });
    assert.deepEqual(personal.recent, ['ER-MJ-01', 'ER-BAG-03'], 'newest first');
    const r = await executeRecommendations(read(BOILERPLATE, { pageType: 'CMS' }), deps({ personal: false }));
    assert.equal(r.personal, false);
    const popular = await executeRecommendations(read(BOILERPLATE, { pageType: 'CMS', userViewHistory: [{ sku: 'ER-BAG-03' }] }), deps({ personal: true }));
    assert.equal(popular.personal, true);
  });
});

describe('bad input: GraphQL errors, never a throw', () => {
  it('validation errors name what is wrong', async () => {
    const cases = [
      ['{ recommendations(pageType: Nope) { totalResults } }', /Nope/],
      ['{ recommendations(pageType: CMS) { results { nope } } }', /nope/],
      ['{ recommendationsByUnitIds(unitIds: 5) { totalResults } }', /String/],
      ['query($h: [ViewHistory]) { recommendations(pageType: CMS, userViewHistory: $h) { totalResults } }', null],
    ];
    for (const [q, re] of cases) {
      const r = await executeRecommendations(read(q, { h: [{ sku: 5 }] }), deps());
      assert.equal(r.status, 200);
      if (re) assert.match(JSON.stringify(r.body.errors), re, q);
      else assert.ok(r.body.errors?.length, `${q}: a wrong variable type is an error`);
    }
  });
  it('aliases cannot multiply the work; 10,000 unit ids and 10,000-entry histories are bounded', async () => {
    const many = `{ ${Array.from({ length: LIMITS.rootFields + 1 }, (_, i) => `a${i}: recommendations(pageType: CMS) { totalResults }`).join(' ')} }`;
    const r = await executeRecommendations(read(many), deps());
    assert.match(r.body.errors[0].message, /at most 4 recommendations fields/);
    const ids = Array.from({ length: 10000 }, (_, i) => `id-${i}`);
    const r2 = await executeRecommendations(read('query($u: [String!]!) { recommendationsByUnitIds(unitIds: $u) { totalResults } }', { u: ids }), deps());
    assert.match(JSON.stringify(r2.body.errors), /at most 50 unitIds/);
    let calls = 0;
    const counting = deps({ recommend: (ctx, p) => { calls++; assert.ok((ctx.recent?.length ?? 0) <= LIMITS.history); return deps().recommend(ctx, p); } });
    const hist = Array.from({ length: 10000 }, (_, i) => ({ sku: `ER-BAG-0${1 + (i % 9)}`, date: new Date(1.7e12 + i * 1000).toISOString() }));
    const r3 = await executeRecommendations(read('query($h: [ViewHistory]) { recommendations(pageType: CMS, userViewHistory: $h) { totalResults } }', { h: hist }), counting);
    assert.equal(r3.body.errors, undefined);
    assert.equal(calls, 2);
  });
  it('a document mixing recommendations with Magento fields is refused with the reason', () => {
    const op = read('{ storeConfig { store_code } recommendations(pageType: CMS) { totalResults } }');
    assert.equal(recommendationsRequest(op), 'mixed');
    assert.match(mixedError().errors[0].message, /cannot be mixed with Magento fields/);
    assert.equal(recommendationsRequest(read('{ storeConfig { store_code } }')), null);
  });
  it('an engine error becomes the unit\'s userError; a trap propagates (the host falls open)', async () => {
    const bad = deps({ recommend: () => { const e = new Error('context: boom'); e.code = 'json'; throw e; } });
    const [r] = await resolveUnits({ pageType: 'CMS' }, { ...bad, units: [UNITS[1]] });
    assert.equal(r.userError, 'context: boom');
    const trap = deps({ recommend: () => { const e = new Error('trap'); e.code = 'trap'; throw e; } });
    await assert.rejects(resolveUnits({ pageType: 'CMS' }, { ...trap, units: [UNITS[1]] }), /trap/);
  });
});

describe('who gets personalized units (both platforms)', () => {
  it('opt-out, no consent and the holdout get non-personalized units, each with its reason', () => {
    assert.deepEqual(unitsPolicy({}, 'control'), { personal: true, reason: null });
    assert.deepEqual(unitsPolicy({}, 'canary'), { personal: true, reason: null });
    assert.deepEqual(unitsPolicy({ optedOut: true, reason: 'gpc' }, 'control'), { personal: false, reason: 'opt-out' });
    assert.deepEqual(unitsPolicy({ optedOut: true, reason: 'no-consent' }, 'control'), { personal: false, reason: 'no-consent' });
    assert.deepEqual(unitsPolicy({ consent: false }, 'canary'), { personal: false, reason: 'no-consent' });
    assert.deepEqual(unitsPolicy({}, 'holdout'), { personal: false, reason: 'holdout' });
  });
});

describe('REST arguments (GET /edge/recommend)', () => {
  it('pageType, sku, category, cart, unit, k; Lambda@Edge\'s page and exclude kept', () => {
    const q = restArgs(new URLSearchParams('pageType=Cart&cart=A,B,,C&unit=u-cart-1&k=4&exclude=X'));
    assert.deepEqual(q.args.cartSkus, ['A', 'B', 'C']);
    assert.deepEqual(q.args.exclude, ['X']);
    assert.equal(q.unit, 'u-cart-1');
    assert.equal(q.k, 4);
    assert.equal(restArgs(new URLSearchParams('page=product&sku=S')).args.pageType, 'Product');
    assert.equal(restArgs(new URLSearchParams('sku=S')).args.pageType, 'Product');
    assert.match(restArgs(new URLSearchParams('pageType=Home')).error, /pageType must be one of/);
    assert.match(restArgs(new URLSearchParams('k=0')).error, /k must be an integer 1..25/);
    assert.deepEqual(restAnswer([]), { results: [], totalResults: 0 });
  });
});
