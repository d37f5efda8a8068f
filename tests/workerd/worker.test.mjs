// worker.test.mjs — the Worker (worker-shim/cloudflare/worker.js) INSIDE workerd (vitest
// workers pool), in front of the Magento GraphQL stand-in.
//
// The real Worker module is called as `worker.fetch(request, env, ctx)` with
// the test Worker's bindings (KV, Queue, R2 from wrangler.toml; the secrets
// and ORIGIN_URL=http://magento.test from vitest.config.mjs), spread and
// overridden per test for configuration variants, recording or failing
// bindings.  Every origin fetch leaves workerd through the config's
// outboundService, which hands it to tests/standin/magento.mjs running over
// build/workerd/luma-catalog.json and records it (GET
// http://magento.test/__standin/requests); `direct()` asks the stand-in the
// same question without the Worker, for byte comparisons.  KV holds the
// bundle make-expected.mjs trained on synthetic sessions (build/workerd/luma.erb,
// version test-1).
//
// The Worker keeps one BundleStore per isolate and refreshes it from KV at
// most every 60 s: refreshBundle() makes the next refresh due by moving the
// clock the store reads (one Date.now() call) past that window.
import { describe, it, expect, beforeAll, afterEach, vi } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import wasm from '../../wasm/edgerec.wasm';
import luma from '../../build/workerd/luma.erb';
import { BundleStore, REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { Engine, EngineError } from '../../worker-shim/core/engine.js';
import { cacheKey, originUrl } from '../../worker-shim/cloudflare/origin.js';
import { hourPrefix } from '../../worker-shim/cloudflare/events.js';
import { GET_CATEGORIES } from '../lib/venia-queries.mjs';
import { itemTexts, spanOf } from '../lib/json-spans.mjs';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const HEX64 = /^[0-9a-f]{64}$/;
const R2_KEY = /^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f]{24}\.ndjson$/;
const dec = new TextDecoder();

// Every raw id a test shopper presented (er_uid values, x-edgerec-id values,
// bearer tokens): none may ever be found in KV or R2.
const RAW_IDS = new Set();

afterEach(() => vi.restoreAllMocks());

// ---- Venia's documents (magento/pwa-studio, as tests/standin/standin.test.mjs) ------------------

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
  __typename categories { uid breadcrumbs { category_uid } } description { html } id uid name
  price_range { maximum_price { final_price { currency value } regular_price { currency value } } }
  sku small_image { url } stock_status url_key
}`;
const STORE_CONFIG = `query getStoreConfigData { storeConfig { store_code store_name locale base_currency_code grid_per_page } }`;
const CREATE_CART = `mutation createCart { cartId: createEmptyCart }`;
const GET_CART = `query getCart($cartId: String!) { cart(cart_id: $cartId) { id total_quantity items { quantity product { sku } } prices { grand_total { currency value } } } }`;

// ---- requests --------------------------------------------------------------------------------------

/** A GraphQL GET (Apollo's way for queries) as a path + headers, to send to the Worker or the origin. */
function get(query, operationName, variables, headers = {}) {
  const qs = new URLSearchParams({ query });
  if (operationName) qs.set('operationName', operationName);
  if (variables) qs.set('variables', JSON.stringify(variables));
  return { method: 'GET', path: `/graphql?${qs}`, headers, body: null };
}
function post(query, operationName, variables, headers = {}) {
  return { method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, operationName, variables }) };
}
const toRequest = (base, spec, extra = {}) =>
  new Request(base + spec.path, { method: spec.method, headers: { ...spec.headers, ...extra }, body: spec.body });

let nonceN = 0;
/** A value that makes a URL unique (an unused GraphQL variable): no shared-cache entry yet. */
const nonce = () => `${Date.now().toString(36)}-${++nonceN}`;
const listing = (uid, extra = {}) => get(GET_CATEGORIES, 'GetCategories',
  { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 48, sort: { position: 'ASC' }, ...extra });
const search = (text, extra = {}) => get(PRODUCT_SEARCH, 'ProductSearch', { currentPage: 1, inputText: text, pageSize: 24, filters: {}, ...extra });
const productPage = (urlKey, extra = {}) => get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey, ...extra });

/** Send a request through the Worker; the ExecutionContext's waitUntil work is finished before returning. */
async function send(request, e = env) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const bytes = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, status: res.status, headers: res.headers, bytes, text: dec.decode(bytes), edgerec: res.headers.get('x-edgerec'), setCookies: res.headers.getSetCookie() };
}
const shop = (spec, extra, e) => send(toRequest(SHOP, spec, extra), e);

/** The origin's own answer to the same request, straight from the stand-in (marked as such in its log). */
async function direct(spec, extra = {}) {
  const res = await fetch(toRequest(ORIGIN, spec, { ...extra, 'x-test-direct': '1' }));
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, status: res.status, bytes, text: dec.decode(bytes) };
}

/** What the stand-in received (every request since the last reset). */
const originLog = async () => (await fetch(`${ORIGIN}/__standin/requests`)).json();
/** …of that, what the Worker sent for a request path. */
const workerSent = async (path) => (await originLog()).filter((q) => !q.headers['x-test-direct'] && q.url === ORIGIN + path);

/** A browser: keeps the cookies the Worker sets (and any others it is given). */
class Browser {
  constructor(cookies = {}, headers = {}) { this.jar = new Map(Object.entries(cookies)); this.headers = headers; }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(setCookies) {
    for (const sc of setCookies) {
      const pair = sc.split(';')[0];
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(sc)) this.jar.delete(name);
      else this.jar.set(name, value);
      if (name === 'er_uid' && value) RAW_IDS.add(value);
    }
  }
  get uid() { return this.jar.get('er_uid'); }
  async send(spec, e = env, extra = {}) {
    const cookie = this.cookieHeader();
    const r = await shop(spec, { ...this.headers, ...(cookie ? { cookie } : {}), ...extra }, e);
    this.take(r.setCookies);
    return r;
  }
  async edge(method, path, body, e = env) {
    const headers = { ...this.headers, ...(this.jar.size ? { cookie: this.cookieHeader() } : {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await send(new Request(SHOP + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) }), e);
    this.take(r.setCookies);
    return r;
  }
}

const skusOf = (text) => JSON.parse(text).data.products.items.map((it) => it.sku);

/** A re-ranked response is the origin's: every byte outside data.products.items, the same items (as bytes). */
function expectSameOutsideItems(edge, origin) {
  expect(edge.bytes.length).toBe(origin.bytes.length);
  const [s0, e0] = spanOf(origin.text, ['data', 'products', 'items']);
  const [s1, e1] = spanOf(edge.text, ['data', 'products', 'items']);
  expect([s1, e1]).toEqual([s0, e0]);
  expect(edge.text.slice(0, s1)).toBe(origin.text.slice(0, s0));
  expect(edge.text.slice(e1)).toBe(origin.text.slice(e0));
  expect([...itemTexts(edge.text)].sort()).toEqual([...itemTexts(origin.text)].sort());
}

// ---- the stand-in's catalog ----------------------------------------------------------------------

const catUids = new Map();
async function categoryUid(urlPath) {
  if (!catUids.has(urlPath)) {
    const r = await direct(get(`{ categories(filters: { url_path: { eq: "${urlPath}" } }) { items { uid } } }`));
    const uid = JSON.parse(r.text).data.categories.items[0]?.uid;
    if (!uid) throw new Error(`no category ${urlPath} in the stand-in`);
    catUids.set(urlPath, uid);
  }
  return catUids.get(urlPath);
}
async function categorySkus(urlPath) {
  const uid = await categoryUid(urlPath);
  const r = await direct(get(`{ products(filter: { category_uid: { eq: "${uid}" } }, pageSize: 200) { items { sku } } }`));
  return new Set(skusOf(r.text));
}

// ---- bindings --------------------------------------------------------------------------------------

let virtualNow = 0;
/** Make the Worker's bundle store refresh from KV (as `e` has it) now; returns /edge/health. */
async function refreshBundle(e = env) {
  virtualNow = Math.max(virtualNow, Date.now()) + REFRESH_MS + 1;
  const spy = vi.spyOn(Date, 'now').mockReturnValueOnce(virtualNow); // the store's clock: its first Date.now()
  const r = await send(new Request(`${SHOP}/edge/health`), e);
  spy.mockRestore();
  return { ...r, json: JSON.parse(r.text) };
}
async function seedBundle() {
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
  const h = await refreshBundle();
  expect(h.json.bundle_version).toBe('test-1');
}
/** For the groups after /edge/health (so that each also runs alone, with -t). */
async function ensureBundle() {
  const h = JSON.parse((await send(new Request(`${SHOP}/edge/health`))).text);
  if (h.bundle_version !== 'test-1' || h.bundle_error) await seedBundle();
}

/** env with a recording Queue (what would have been queued) and KV writes counted. */
function recording(base = env) {
  const queued = [], kvWrites = [];
  const EVENTS = {
    send: async (body) => { queued.push(structuredClone(body)); },
    sendBatch: async (msgs) => { for (const m of msgs) queued.push(structuredClone(m.body)); },
  };
  const kv = base.EDGEREC;
  const EDGEREC = {
    get: (...a) => kv.get(...a),
    getWithMetadata: (...a) => kv.getWithMetadata(...a),
    list: (...a) => kv.list(...a),
    put: (k, ...a) => { kvWrites.push(`put ${k}`); return kv.put(k, ...a); },
    delete: (k) => { kvWrites.push(`delete ${k}`); return kv.delete(k); },
  };
  return { env: { ...base, EVENTS, EDGEREC }, queued, kvWrites };
}

/** A KV binding that is down: every method throws ('throw') or rejects ('reject'). */
function brokenKV(mode) {
  const fail = mode === 'throw' ? () => { throw new Error('KV is down'); } : () => Promise.reject(new Error('KV is down'));
  return { get: fail, getWithMetadata: fail, put: fail, delete: fail, list: fail };
}

async function r2Objects(prefix) {
  const out = [];
  let cursor;
  do {
    const l = await env.EDGEREC_EVENTS.list({ prefix, cursor });
    out.push(...l.objects);
    cursor = l.truncated ? l.cursor : undefined;
  } while (cursor);
  return out;
}
const r2Text = async (key) => (await env.EDGEREC_EVENTS.get(key)).text();
const ndjson = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** Run the queue consumer on messages, as the Queue would deliver them. */
async function consume(bodies, e = env, { attempts = 1 } = {}) {
  const batch = createMessageBatch('edgerec-events', bodies.map((body, i) => ({
    id: `msg-${i}-${nonce()}`, timestamp: new Date(), attempts, body,
  })));
  const ctx = createExecutionContext();
  await worker.queue(batch, e, ctx);
  return getQueueResult(batch, ctx);
}

// =====================================================================================================

beforeAll(async () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers');
  // the config's bindings, not a local .dev.vars
  expect(env.EDGEREC_ADMIN_TOKEN).toBe('workerd-test-admin-token');
  expect(env.ORIGIN_URL).toBe(ORIGIN);
  const r = await fetch(`${ORIGIN}/__standin/reset`, { method: 'POST' });
  expect(r.status).toBe(204);
  expect(await originLog()).toEqual([]);
});

describe('/edge/health', () => {
  it('503 with no bundle in KV; listings pass through with bypass no-bundle', async () => {
    await env.EDGEREC.delete('bundle:active');
    const r = await send(new Request(`${SHOP}/edge/health`));
    expect(r.status).toBe(503);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const h = JSON.parse(r.text);
    expect(h).toMatchObject({ ok: false, bundle_version: null, bundle: null, bundle_error: 'no bundle:active in KV' });
    expect(h.checks).toEqual({ kv: true, queue: true, r2: true, id_secret: true, cookie_key: true, admin_token: true, rate_limit: false }); // setup-env.mjs

    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const [edge, origin] = [await shop(spec), await direct(spec)];
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toBe('bypass; reason=no-bundle');
    expect(edge.text).toBe(origin.text);
  });

  it('200 with the bundle version and info once KV has one; 503 names a missing binding or secret', async () => {
    await seedBundle();
    const r = await send(new Request(`${SHOP}/edge/health`));
    expect(r.status).toBe(200);
    const h = JSON.parse(r.text);
    expect(h).toMatchObject({ ok: true, bundle_version: 'test-1', bundle_error: null, config_error: null });
    expect(h.bundle).toMatchObject({ model_version: 'test-1', checksum_ok: true, items: 2038, model: { kind: 'trees' } });
    expect(Object.values({ ...h.checks, rate_limit: true }).every(Boolean)).toBe(true); // no limiter in this suite: setup-env.mjs

    const noR2 = { ...env };
    delete noR2.EDGEREC_EVENTS;
    const a = JSON.parse((await send(new Request(`${SHOP}/edge/health`), noR2)).text);
    expect(a).toMatchObject({ ok: false, bundle_version: 'test-1', checks: { r2: false, kv: true } });
    const c = await send(new Request(`${SHOP}/edge/health`), { ...env, EDGEREC_COOKIE_KEY: undefined });
    expect(c.status).toBe(503);
    expect(JSON.parse(c.text)).toMatchObject({ ok: false, config_error: 'EDGEREC_COOKIE_KEY', checks: { cookie_key: false } });
    // set but malformed: every request would bypass (reason=config), so the edge is not healthy
    const short = { ...env, EDGEREC_ID_SECRET: 'too-short' };
    const s = await send(new Request(`${SHOP}/edge/health`), short);
    expect(s.status).toBe(503);
    expect(JSON.parse(s.text)).toMatchObject({ ok: false, config_error: 'EDGEREC_ID_SECRET' });
    expect(s.text).not.toContain('too-short');
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const l = await shop(spec, {}, short);
    expect(l.edgerec).toBe('bypass; reason=config');
    expect(l.text).toBe((await direct(spec)).text);
    expect(l.setCookies).toEqual([]);
    expect((await send(new Request(`${SHOP}/edge/health`, { method: 'POST' }))).status).toBe(404);
  });
});

describe('listings are re-ranked', () => {
  beforeAll(ensureBundle);

  it('a category listing (Venia GetCategories, GET): reranked, private, the origin\'s bytes outside the items', async () => {
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const edge = await new Browser().send(spec);
    const origin = await direct(spec);
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toBe('reranked; model=test-1');
    expect(edge.headers.get('cache-control')).toBe('private');
    expect(edge.headers.get('content-type')).toBe('application/json');
    expect(edge.headers.get('server-timing')).toMatch(/^edgerec;dur=[0-9.]+;desc="rerank"$/);
    const json = JSON.parse(edge.text);
    expect(json.data.products.items).toHaveLength(32);
    expectSameOutsideItems(edge, origin);
    expect(skusOf(edge.text)).not.toEqual(skusOf(origin.text)); // the model re-orders Luma's "position"
    expect(edge.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['er_p', 'er_sid', 'er_uid']);
  });

  it('a search (ProductSearch) and a POSTed listing are re-ranked too', async () => {
    const spec = search('jacket', { n: nonce() });
    const edge = await new Browser().send(spec);
    const origin = await direct(spec);
    expect(edge.edgerec).toBe('reranked; model=test-1');
    expect(JSON.parse(origin.text).data.products.items.length).toBeGreaterThan(10);
    expectSameOutsideItems(edge, origin);

    const uid = await categoryUid('women/tops');
    const p = post(GET_CATEGORIES, 'GetCategories', { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 24, sort: { position: 'ASC' } });
    const pe = await new Browser().send(p);
    const po = await direct(p);
    expect(pe.edgerec).toBe('reranked; model=test-1');
    expectSameOutsideItems(pe, po);
  });
});

describe('learning from traffic (no /edge/events call)', () => {
  beforeAll(ensureBundle);

  it('product pages a shopper opens move their category up in the next mixed listing', async () => {
    const gear = listing(await categoryUid('gear'), { n: nonce() });
    const subs = ['gear/bags', 'gear/fitness-equipment', 'gear/watches'];
    const shopper = new Browser();
    const before = skusOf((await shopper.send(gear)).text);
    const meanRank = (order, set) => { const r = order.map((s, i) => (set.has(s) ? i : -1)).filter((i) => i >= 0); return r.reduce((a, b) => a + b, 0) / r.length; };
    // the sub-category this shopper's first listing ranks lowest
    const members = Object.fromEntries(await Promise.all(subs.map(async (p) => [p, await categorySkus(p)])));
    const target = subs.reduce((a, b) => (meanRank(before, members[a]) >= meanRank(before, members[b]) ? a : b));
    const set = members[target];
    const origin = JSON.parse((await direct(gear)).text).data.products.items;
    const urlKeys = origin.filter((it) => set.has(it.sku)).map((it) => it.url_key).slice(0, 4);
    expect(urlKeys).toHaveLength(4);
    for (const k of urlKeys) {
      const r = await shopper.send(productPage(k));
      expect(r.status).toBe(200);
      expect(r.edgerec).toBe('observed; events=view');
      expect(r.headers.get('cache-control')).toBe('private');
      expect(r.text).toBe((await direct(productPage(k))).text);
      expect(r.setCookies.some((c) => c.startsWith('er_p='))).toBe(true);
    }
    const afterRes = await shopper.send(gear);
    expect(afterRes.edgerec).toBe('reranked; model=test-1');
    const after = skusOf(afterRes.text);
    expect([...after].sort()).toEqual([...before].sort());
    // a shopper without those views still gets the first order: the move is the profile's doing
    expect(skusOf((await new Browser().send(gear)).text)).toEqual(before);
    const [b, a] = [meanRank(before, set), meanRank(after, set)];
    console.log(`learning: ${target} mean rank ${b.toFixed(2)} → ${a.toFixed(2)} of ${before.length}`);
    expect(a).toBeLessThan(b - 2);
  });

  it('an app (x-edgerec-id, no cookies) keeps its sealed profile in the x-edgerec-profile header', async () => {
    const app = { 'x-edgerec-id': `app-install-${nonce()}` };
    const gear = listing(await categoryUid('gear'), { n: nonce() });
    const origin = JSON.parse((await direct(gear)).text).data.products.items;
    const r1 = await shop(productPage(origin[origin.length - 1].url_key), app);
    expect(r1.edgerec).toBe('observed; events=view');
    expect(r1.setCookies).toEqual([]); // never a cookie for an app
    const sealed = r1.headers.get('x-edgerec-profile');
    expect(sealed).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const shown = await send(new Request(`${SHOP}/edge/profile`, { headers: { ...app, 'x-edgerec-profile': sealed } }));
    const prof = JSON.parse(shown.text);
    expect(prof.stored).toBe(true);
    expect(prof.profile.items).toHaveLength(1);
    // another app id cannot read it (the seal is bound to the id), and the header never reaches the origin
    const other = await send(new Request(`${SHOP}/edge/profile`, { headers: { 'x-edgerec-id': `app-other-${nonce()}`, 'x-edgerec-profile': sealed } }));
    expect(other.status).toBe(403); // not its seal: no proof of possession of that id (crosssite.test.mjs)
    expect(JSON.parse(other.text).stored).toBeUndefined();
    const r2 = await shop(gear, { ...app, 'x-edgerec-profile': sealed });
    expect(r2.edgerec).toBe('reranked; model=test-1');
    const sent = await workerSent(gear.path);
    expect(sent.length).toBeGreaterThan(0);
    for (const q of sent) expect(Object.keys(q.headers).some((k) => k.toLowerCase().startsWith('x-edgerec'))).toBe(false);
  });
});

describe('what the Worker leaves alone', () => {
  beforeAll(ensureBundle);

  it('an explicit sort is the shopper\'s: bypass explicit-sort, the origin\'s bytes; {position: ASC} still re-ranks', async () => {
    const uid = await categoryUid('men/tops');
    const shopper = new Browser();
    const byPrice = listing(uid, { sort: { price: 'ASC' }, n: nonce() });
    const edge = await shopper.send(byPrice);
    const origin = await direct(byPrice);
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toBe('bypass; reason=explicit-sort');
    expect(edge.text).toBe(origin.text);
    const prices = JSON.parse(edge.text).data.products.items.map((it) => it.price_range.maximum_price.final_price.value);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    // an inline literal sort is explicit too
    const lit = get(`{ products(filter: { category_uid: { eq: "${uid}" } }, sort: { name: DESC }, pageSize: 20) { items { sku name } } }`);
    const le = await shopper.send(lit);
    expect(le.edgerec).toBe('bypass; reason=explicit-sort');
    expect(le.text).toBe((await direct(lit)).text);

    const byPosition = listing(uid, { sort: { position: 'ASC' }, n: nonce() });
    const pe = await shopper.send(byPosition);
    expect(pe.edgerec).toBe('reranked; model=test-1');
    expectSameOutsideItems(pe, await direct(byPosition));
  });

  it('a sort through a variable of any name, a fragment, an alias or a chosen operation is the shopper\'s too (graphql-js reads the document)', async () => {
    const uid = await categoryUid('men/tops');
    const shopper = new Browser();
    const f = { category_uid: { eq: uid } };
    const specs = [
      // the defect: a renamed variable
      post('query Cat($s: ProductAttributeSortInput, $f: ProductAttributeFilterInput) { products(pageSize: 12, filter: $f, sort: $s) { items { sku price_range { maximum_price { final_price { value } } } } } }',
        'Cat', { s: { price: 'ASC' }, f, n: nonce() }),
      get('query Cat($s: ProductAttributeSortInput, $f: ProductAttributeFilterInput) { products(pageSize: 12, filter: $f, sort: $s) { items { sku price_range { maximum_price { final_price { value } } } } } }',
        'Cat', { s: { price: 'ASC' }, f, n: nonce() }),
      // a nested input object, inside a fragment on Query
      post('query Q($dir: SortEnum, $f: ProductAttributeFilterInput) { ...L } fragment L on Query { products(pageSize: 12, filter: $f, sort: {price: $dir}) { items { sku price_range { maximum_price { final_price { value } } } } } }',
        'Q', { dir: 'ASC', f, n: nonce() }),
      // two operations: the one named runs
      post(`query Other { storeConfig { store_code } }
        query Sorted($by: ProductAttributeSortInput, $f: ProductAttributeFilterInput) { products(pageSize: 12, filter: $f, sort: $by) { items { sku price_range { maximum_price { final_price { value } } } } } }`,
      'Sorted', { by: { price: 'ASC' }, f, n: nonce() }),
    ];
    for (const spec of specs) {
      const edge = await shopper.send(spec);
      expect(edge.status).toBe(200);
      expect(edge.edgerec).toBe('bypass; reason=explicit-sort');
      expect(edge.text).toBe((await direct(spec)).text);
      const prices = JSON.parse(edge.text).data.products.items.map((it) => it.price_range.maximum_price.final_price.value);
      expect(prices.length).toBeGreaterThan(3);
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
    }
    // comments and strings that mention mutation or sort change nothing: still a default-order listing, re-ranked
    const commented = post(`# mutation { placeOrder } sort: {price: ASC}
      query Cat($f: ProductAttributeFilterInput, $label: String = "sort: {price: ASC}") { products(pageSize: 24, filter: $f) { items { sku name } } }`,
    'Cat', { f, n: nonce() });
    const ce = await shopper.send(commented);
    expect(ce.edgerec).toBe('reranked; model=test-1');
  });

  it('a document over the bounds (size, tokens, depth) or that is not GraphQL goes to the origin untouched, with the reason', async () => {
    const shopper = new Browser();
    const cases = [
      [post(`{ storeConfig { store_code } } #${'x'.repeat(100_001)}`, null, undefined), 'document-too-large'],
      [post(`{ products(filter: {sku: {in: [${'"a",'.repeat(10_001)}]}}) { items { sku } } }`, null, undefined), 'too-many-tokens'],
      [post(`{ products(search: "bag") { items { ${'related_products { '.repeat(50)} sku ${'} '.repeat(50)} } } }`, null, undefined), 'too-deep'],
      [post('query { products(search: "bag") { items { sku }', null, undefined), 'syntax'],
      [post('query A { storeConfig { store_code } } query B { storeConfig { store_code } }', null, undefined), 'unknown-operation'],
    ];
    for (const [spec, reason] of cases) {
      const edge = await shopper.send(spec);
      expect(edge.edgerec).toBe(`bypass; reason=${reason}`);
      const origin = await direct(spec);
      expect(edge.status).toBe(origin.status);
      expect(edge.text).toBe(origin.text);
    }
  });

  it('a GraphQL POST body over 1 MiB without a Content-Length is forwarded whole, never parsed', async () => {
    await fetch(`${ORIGIN}/__standin/reset`, { method: 'POST' });
    const body = JSON.stringify({ query: `{ storeConfig { store_code } } #${'y'.repeat(1_200_000)}` });
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream({ // chunked: no Content-Length to refuse it by
      start(c) { for (let i = 0; i < bytes.length; i += 65536) c.enqueue(bytes.subarray(i, i + 65536)); c.close(); },
    });
    const edge = await send(new Request(`${SHOP}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' }));
    expect(edge.edgerec).toBeNull(); // passed through as it came
    const sent = await workerSent('/graphql');
    expect(sent.length).toBe(1);
    expect(sent[0].body.length).toBe(body.length);
    expect(sent[0].body === body).toBe(true);
  });

  it('non-listing operations (storeConfig, a cart query, a mutation) come back byte-identical', async () => {
    const shopper = new Browser();
    const sc = get(STORE_CONFIG, 'getStoreConfigData');
    const a = await shopper.send(sc);
    expect(a.status).toBe(200);
    expect(a.edgerec).toMatch(/^bypass; reason=/);
    expect(a.text).toBe((await direct(sc)).text);
    expect(JSON.parse(a.text).data.storeConfig.store_code).toBe('default');

    const created = await shopper.send(post(CREATE_CART, 'createCart', {}));
    expect(created.status).toBe(200);
    expect(created.edgerec).toBe('bypass; reason=mutation');
    const cartId = JSON.parse(created.text).data.cartId;
    expect(cartId).toMatch(/^[A-Za-z0-9]{32}$/);
    const cart = get(GET_CART, 'getCart', { cartId });
    const c = await shopper.send(cart);
    expect(c.status).toBe(200);
    expect(c.edgerec).toMatch(/^bypass; reason=/);
    expect(c.text).toBe((await direct(cart)).text);
    expect(JSON.parse(c.text).data.cart).toMatchObject({ id: cartId, total_quantity: 0 });
    // no operation at all: forwarded, untouched
    const none = await shop({ method: 'GET', path: '/graphql', headers: {}, body: null });
    expect(none.edgerec).toBe('bypass; reason=no-operation');
    expect(none.text).toBe((await direct({ method: 'GET', path: '/graphql', headers: {}, body: null })).text);
  });
});

describe('the request path keeps its work off the response (issue 16)', () => {
  beforeAll(ensureBundle);

  it('the origin request goes out before the shopper\'s stored state is read (read while the origin answers)', async () => {
    const token = `standin-overlap-${nonce().replace(/[^a-z0-9]/g, '')}`;
    const order = [];
    const rec = recording();
    const kv = rec.env.EDGEREC;
    const e = { ...rec.env, EDGEREC: { ...kv, getWithMetadata: (k, ...a) => { order.push(`kv ${k.split(':')[0]}`); return kv.getWithMetadata(k, ...a); } } };
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => { order.push('origin'); return realFetch(input, init); });
    const c = new Browser({}, { authorization: `Bearer ${token}` });
    const r = await c.send(listing(await categoryUid('gear'), { n: nonce() }), e);
    expect(r.edgerec).toBe('reranked; model=test-1');
    expect(order.filter((x) => x === 'origin')).toHaveLength(1);
    expect(order).toContain('kv profile'); // the signed-in customer's KV copy
    expect(order.indexOf('origin')).toBeLessThan(order.indexOf('kv profile'));
  });

  it('a re-ranked listing\'s impression is sent to the Queue after the response, within its waitUntil', async () => {
    const rec = recording();
    const b = new Browser();
    await b.send(productPage('joust-duffle-bag', { n: nonce() }), rec.env); // a shopper with a profile and cookies
    rec.queued.length = 0;
    const ctx = createExecutionContext();
    const res = await worker.fetch(toRequest(SHOP, listing(await categoryUid('gear'), { n: nonce() }), { cookie: b.cookieHeader() }), rec.env, ctx);
    expect(res.headers.get('x-edgerec')).toBe('reranked; model=test-1');
    expect(rec.queued).toHaveLength(0); // nothing was sent while the response was made
    const shown = skusOf(dec.decode(await res.arrayBuffer()));
    await waitOnExecutionContext(ctx);
    const imp = rec.queued.filter((ev) => ev.type === 'impression');
    expect(imp).toHaveLength(1);
    expect(imp[0].items).toEqual(shown);
    expect(imp[0].user).toMatch(HEX64);
  });
});

describe('cache safety', () => {
  beforeAll(ensureBundle);

  it('shoppers of two stores / currencies / cache ids never see each other\'s prices, on misses and on hits', async () => {
    const spec = listing(await categoryUid('women/bottoms'), { n: nonce() });
    const usd = { store: 'default', 'content-currency': 'USD', 'x-magento-cache-id': 'a'.repeat(64) };
    const eur = { store: 'de', 'content-currency': 'EUR', 'x-magento-cache-id': 'b'.repeat(64) };
    const A = new Browser({}, usd), B = new Browser({}, eur);
    const prices = (text) => Object.fromEntries(JSON.parse(text).data.products.items.map((it) => [it.sku, it.price_range.maximum_price.final_price]));
    const originA = prices((await direct(spec, usd)).text), originB = prices((await direct(spec, eur)).text);
    expect(Object.values(originA).every((p) => p.currency === 'USD')).toBe(true);
    expect(Object.values(originB).every((p) => p.currency === 'EUR')).toBe(true);
    expect(Object.keys(originA).some((k) => originA[k].value !== originB[k].value)).toBe(true);
    const responses = [];
    for (const [who, want] of [[A, originA], [B, originB], [A, originA], [B, originB], [B, originB], [A, originA]]) {
      const r = await who.send(spec);
      expect(r.edgerec).toBe('reranked; model=test-1');
      expect(prices(r.text)).toEqual(want);
      responses.push(r);
    }
    // the origin saw each variant once: the other four were shared-cache hits
    const fromWorker = await workerSent(spec.path);
    expect(fromWorker.map((q) => q.headers['content-currency'])).toEqual(['USD', 'EUR']);

    // the shared cache holds the origin's bytes under origin.js's key, never the re-ranked ones
    for (const [h, i] of [[usd, 0], [eur, 1]]) {
      const url = originUrl(toRequest(SHOP, spec), env);
      const hit = await caches.default.match(cacheKey(url, new Headers(h)));
      expect(hit).toBeDefined();
      const cached = await hit.text();
      expect(cached).toBe((await direct(spec, h)).text);
      expect(cached).not.toBe(responses[i].text);
      expect(hit.headers.get('x-edgerec')).toBeNull();
      expect(hit.headers.get('set-cookie')).toBeNull();
    }
  });

  it('a request with authorization and no cache id is not shared-cached; the same request without it is', async () => {
    const spec = listing(await categoryUid('men/bottoms'), { n: nonce() });
    const auth = { authorization: 'Basic c2hvcHBlcjpzZWNyZXQ=' }; // the stand-in still answers "public"
    const fromWorker = () => workerSent(spec.path);
    const shopper = new Browser({}, auth);
    for (let i = 0; i < 2; i++) expect((await shopper.send(spec)).edgerec).toBe('reranked; model=test-1');
    expect(await fromWorker()).toHaveLength(2); // both went to the origin
    const url = originUrl(toRequest(SHOP, spec), env);
    expect(await caches.default.match(cacheKey(url, new Headers()))).toBeUndefined();
    expect(cacheKey(url, new Headers(auth))).toBeNull();
    // with a cache id the response is shared among that id's shoppers
    const withId = { ...auth, 'x-magento-cache-id': 'c'.repeat(64) };
    const grouped = new Browser({}, withId);
    for (let i = 0; i < 2; i++) await grouped.send(spec);
    expect(await fromWorker()).toHaveLength(3);
    // anonymous: cached after the first
    const anon = new Browser();
    for (let i = 0; i < 3; i++) await anon.send(spec);
    expect(await fromWorker()).toHaveLength(4);
    expect(await caches.default.match(cacheKey(url, new Headers()))).toBeDefined();
  });

  it('edgerec cookies and headers never reach the origin; other cookies do', async () => {
    const app = { 'x-edgerec-id': 'app-install-7f3a9c21', 'x-edgerec-session': 'app-session-0001' };
    RAW_IDS.add(app['x-edgerec-id']);
    const uid = await categoryUid('gear/bags');
    const specs = [listing(uid, { n: nonce() }), productPage('joust-duffle-bag', { n: nonce() }), listing(uid, { n: nonce() })];
    const browser = new Browser({ PHPSESSID: 'keep-me', private_content_version: 'abc' });
    for (const spec of specs) await browser.send(spec);
    expect(browser.jar.has('er_uid') && browser.jar.has('er_sid') && browser.jar.has('er_p')).toBe(true);
    const appSpec = listing(await categoryUid('gear/watches'), { n: nonce() });
    const appRes = await shop(appSpec, app);
    expect(appRes.edgerec).toBe('reranked; model=test-1');
    expect(appRes.setCookies.filter((c) => /^er_(uid|sid)=/.test(c))).toEqual([]); // apps get no id cookies
    const sent = [];
    for (const spec of specs) sent.push(...await workerSent(spec.path));
    expect(sent.map((q) => q.headers.cookie)).toEqual(Array(3).fill('PHPSESSID=keep-me; private_content_version=abc'));
    const appSent = await workerSent(appSpec.path);
    expect(appSent).toHaveLength(1);
    expect(appSent[0].headers.cookie).toBeUndefined();
    const log = await originLog();
    for (const q of log) {
      expect(q.headers.cookie ?? '').not.toMatch(/\ber_(uid|sid|p)=/);
      expect(Object.keys(q.headers).filter((k) => k.startsWith('x-edgerec'))).toEqual([]);
      for (const id of RAW_IDS) expect(JSON.stringify(q)).not.toContain(id);
    }
  });
});

describe('faults: whatever goes wrong, the storefront gets the origin\'s response', () => {
  beforeAll(ensureBundle);

  const fault = (f) => ({ 'x-standin-fault': f });

  it('origin 500: the same status and exact body, bypass origin-status', async () => {
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const edge = await new Browser().send(spec, env, fault('500'));
    const origin = await direct(spec, fault('500'));
    expect(origin.status).toBe(500);
    expect(edge.status).toBe(500);
    expect(edge.edgerec).toBe('bypass; reason=origin-status');
    expect(edge.text).toBe(origin.text);
    expect(edge.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect((await workerSent(spec.path))[0].headers['x-standin-fault']).toBe('500'); // it did reach the stand-in
  });

  it('garbage JSON: 200 with the exact bytes and a bypass', async () => {
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const edge = await new Browser().send(spec, env, fault('garbage'));
    const origin = await direct(spec, fault('garbage'));
    expect(() => JSON.parse(origin.text)).toThrow();
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toMatch(/^bypass; reason=[a-z-]+$/);
    expect(edge.bytes).toEqual(origin.bytes);
  });

  it('a huge response (> 4 MB): the exact bytes, bypass oversized', async () => {
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const edge = await new Browser().send(spec, env, fault('huge'));
    const origin = await direct(spec, fault('huge'));
    expect(origin.bytes.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toBe('bypass; reason=oversized');
    expect(edge.bytes.length).toBe(origin.bytes.length);
    expect(edge.bytes.every((b, i) => b === origin.bytes[i])).toBe(true); // (toEqual is slow on 5 MB)
    expect(edge.headers.get('cache-control')).toBe(origin.res.headers.get('cache-control'));
  });

  it('KV down (methods throw or reject): the origin\'s response with status 200, never a 5xx', async () => {
    const uid = await categoryUid('women/tops');
    for (const mode of ['reject', 'throw']) {
      const broken = { ...env, EDGEREC: brokenKV(mode) };
      const h = await refreshBundle(broken); // the refresh fails: the last good engine stays
      expect(h.status).toBe(200);
      expect(h.json).toMatchObject({ bundle_version: 'test-1', bundle_error: 'KV is down' });
      const guest = new Browser();
      const customer = new Browser({}, { authorization: 'Bearer standin-kv-down-customer-0001' });
      RAW_IDS.add('standin-kv-down-customer-0001');
      for (const who of [guest, customer]) {
        for (const spec of [listing(uid, { n: nonce() }), productPage('breathe-easy-tank', { n: nonce() })]) {
          const edge = await who.send(spec, broken);
          expect(edge.status, `${mode} ${edge.edgerec}`).toBe(200);
          const origin = await direct(spec, who.headers);
          if (edge.edgerec.startsWith('reranked')) expectSameOutsideItems(edge, origin);
          else expect(edge.text).toBe(origin.text);
          if (mode === 'reject') expect(edge.edgerec).toMatch(/^(reranked; model=test-1|observed; events=view)$/);
        }
      }
    }
    const back = await refreshBundle();
    expect(back.json).toMatchObject({ ok: true, bundle_version: 'test-1', bundle_error: null });
  });

  it('a corrupt bundle in KV: the last good engine keeps serving', async () => {
    const bad = new Uint8Array(luma.slice(0));
    bad[bad.length >> 1] ^= 0x5a;
    await env.EDGEREC.put('bundle:test-2-corrupt', bad);
    await env.EDGEREC.put('bundle:active', 'test-2-corrupt');
    try {
      const h = await refreshBundle();
      expect(h.status).toBe(200);
      expect(h.json.bundle_version).toBe('test-1');
      expect(h.json.bundle_error).toMatch(/^bundle_[a-z]+: /);
      const spec = listing(await categoryUid('gear'), { n: nonce() });
      const edge = await new Browser().send(spec);
      expect(edge.edgerec).toBe('reranked; model=test-1');
      expectSameOutsideItems(edge, await direct(spec));
    } finally {
      await env.EDGEREC.put('bundle:active', 'test-1');
      await env.EDGEREC.delete('bundle:test-2-corrupt');
    }
    expect((await refreshBundle()).json).toMatchObject({ bundle_version: 'test-1', bundle_error: null });
  });

  it('a wasm trap during rerank: the origin\'s bytes and bypass trap; the next request re-ranks again', async () => {
    // the Worker's own engine traps inside rerank (er_debug_trap on the live instance): the engine
    // drops and rebuilds its instance and throws EngineError 'trap'
    let trapped = null;
    const spy = vi.spyOn(Engine.prototype, 'rerank').mockImplementationOnce(function trap() {
      try { this.debugTrap(); } catch (e) { trapped = e; throw e; }
    });
    const spec = listing(await categoryUid('gear'), { n: nonce() });
    const shopper = new Browser();
    const edge = await shopper.send(spec);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(trapped).toBeInstanceOf(EngineError);
    expect(trapped.code).toBe('trap');
    expect(edge.status).toBe(200);
    expect(edge.edgerec).toBe('bypass; reason=trap');
    expect(edge.text).toBe((await direct(spec)).text);
    const again = await shopper.send(listing(await categoryUid('gear'), { n: nonce() }));
    expect(again.edgerec).toBe('reranked; model=test-1');
  });
});

describe('BundleStore (worker-shim/cloudflare/bundles.js)', () => {
  function kvOf(entries) {
    const m = new Map(Object.entries(entries));
    const calls = [];
    return {
      m, calls, fail: null,
      async get(k, type) {
        calls.push(k);
        if (this.fail) throw this.fail;
        const v = m.get(k);
        if (v === undefined) return null;
        return type === 'arrayBuffer' ? (typeof v === 'string' ? new TextEncoder().encode(v).buffer : v) : v;
      },
    };
  }

  it('no bundle → null; refreshes at most every 60 s; keeps the last good engine on a KV error and on an invalid bundle', async () => {
    expect(REFRESH_MS).toBe(60_000);
    const kv = kvOf({});
    const e = { EDGEREC: kv };
    const s = new BundleStore(wasm);
    expect(await s.get(e, 1_000_000)).toBeNull();
    expect(s.lastError).toBe('no bundle:active in KV');
    expect(kv.calls).toEqual(['bundle:active', 'lists:live']); // the live lists are read on the same schedule

    kv.m.set('bundle:active', 'v1');
    kv.m.set('bundle:v1', luma);
    expect(await s.get(e, 1_059_999)).toBeNull(); // not due yet: KV is not asked
    expect(kv.calls).toHaveLength(2);
    const e1 = await s.get(e, 1_060_000);
    expect(e1).toBeInstanceOf(Engine);
    expect(s.version).toBe('v1');
    expect(s.lastError).toBeNull();
    expect(e1.info().model_version).toBe('test-1');

    expect(await s.get(e, 1_120_000)).toBe(e1); // same version: no reload
    expect(kv.calls.filter((k) => k === 'bundle:v1')).toHaveLength(1);

    kv.fail = new Error('KV timeout');
    expect(await s.get(e, 1_180_000)).toBe(e1);
    expect(s.lastError).toBe('KV timeout');
    kv.fail = null;

    kv.m.set('bundle:active', 'v2');
    kv.m.set('bundle:v2', new Uint8Array([0x45, 0x52, 0x42, 1, 2, 3]).buffer);
    expect(await s.get(e, 1_240_000)).toBe(e1);
    expect(s.version).toBe('v1');
    expect(s.lastError).toMatch(/^bundle_[a-z]+: /);

    kv.m.set('bundle:active', 'v3'); // named but missing
    expect(await s.get(e, 1_300_000)).toBe(e1);
    expect(s.lastError).toBe('bundle:v3 is missing in KV');

    kv.m.set('bundle:v3', luma);
    const e3 = await s.get(e, 1_360_000);
    expect(e3).toBeInstanceOf(Engine);
    expect(e3 === e1).toBe(false); // (toBe's deep-equality hint would walk the detached heap views)
    expect(s.version).toBe('v3');
    expect(s.lastError).toBeNull();

    expect(await new BundleStore(wasm).get({}, 0)).toBeNull();
  });

  it('concurrent requests share one refresh', async () => {
    const kv = kvOf({ 'bundle:active': 'v1', 'bundle:v1': luma });
    const s = new BundleStore(wasm);
    const got = await Promise.all(Array.from({ length: 8 }, () => s.get({ EDGEREC: kv }, 5_000_000)));
    expect(new Set(got).size).toBe(1);
    expect(got[0]).toBeInstanceOf(Engine);
    expect(kv.calls).toEqual(['bundle:active', 'bundle:v1', 'lists:live']);
  });
});

describe('/edge/events and the queue consumer', () => {
  beforeAll(ensureBundle);
  const postEvents = (who, body, e) => who.edge('POST', '/edge/events', body, e);

  it('one event and an array → 202 {accepted:n}; queued with an id, the time, the session and the hashed user', async () => {
    const rec = recording();
    const b = new Browser();
    const one = await postEvents(b, { type: 'view', item: 'MH01' }, rec.env);
    expect(one.status).toBe(202);
    expect(JSON.parse(one.text)).toEqual({ accepted: 1 });
    expect(one.headers.get('cache-control')).toBe('no-store');
    expect(b.uid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const sid = b.jar.get('er_sid').split('.')[0];
    expect(rec.queued).toHaveLength(1);
    const ev = rec.queued[0];
    expect(ev).toMatchObject({ type: 'view', item: 'MH01', session: sid, model: 'test-1' });
    expect(ev.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(ev.ts - Date.now() / 1000)).toBeLessThan(60);
    expect(ev.user).toMatch(HEX64);

    const many = await postEvents(b, [
      { type: 'view', item: 'MH02', id: 'client-id-1', ts: 1767225600 },
      { type: 'cart', item: 'MH02', qty: 2, user: 'spoofed-user' },
      { type: 'impression', items: ['MH01', 'MH02'], unit: 'listing' },
    ], rec.env);
    expect(many.status).toBe(202);
    expect(JSON.parse(many.text)).toEqual({ accepted: 3 });
    expect(rec.queued).toHaveLength(4);
    expect(rec.queued.slice(1).map((e) => e.type)).toEqual(['view', 'cart', 'impression']);
    expect(rec.queued[1]).toMatchObject({ id: 'client-id-1', ts: 1767225600 });
    for (const e of rec.queued) {
      expect(e.user).toBe(ev.user); // one shopper, the server's pseudonym; a client's `user` is ignored
      expect(e.session).toBe(sid);
    }
    expect(new Set(rec.queued.map((e) => e.id)).size).toBe(4);
    // the profile cookie now knows MH01 and MH02
    const p = JSON.parse((await b.edge('GET', '/edge/profile', undefined, rec.env)).text);
    expect(p.profile.items).toHaveLength(2);
    expect(p.cart).toEqual(['MH02']);
  });

  it('a bad event → 400 naming the field; not JSON → 400; > 64 KiB → 413; GET → 405; nothing queued', async () => {
    const rec = recording();
    const b = new Browser();
    const missing = await postEvents(b, { type: 'view' }, rec.env);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text).error).toMatch(/^event 0: .*'item'/);
    const badType = await postEvents(b, [{ type: 'view', item: 'MH01' }, { type: 'teleport', item: 'MH02' }], rec.env);
    expect(badType.status).toBe(400);
    expect(JSON.parse(badType.text).error).toMatch(/^event 1: .*'type'/);
    const badTs = await postEvents(b, { type: 'view', item: 'MH01', ts: 'yesterday' }, rec.env);
    expect(badTs.status).toBe(400);
    expect(JSON.parse(badTs.text).error).toMatch(/'ts'/);
    const notJson = await postEvents(b, '{"type":', rec.env);
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.text).error).toMatch(/^body is not JSON/);
    expect((await postEvents(b, [], rec.env)).status).toBe(400);
    const big = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ type: 'view', item: `SKU-${i}`, pad: 'x'.repeat(160) })));
    expect(big.length).toBeGreaterThan(64 * 1024);
    const tooBig = await postEvents(b, big, rec.env);
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.text).error).toMatch(/65536/);
    expect((await b.edge('GET', '/edge/events', undefined, rec.env)).status).toBe(405);
    expect(rec.queued).toEqual([]);
  });

  it('consumer: NDJSON per hour under events/YYYY/MM/DD/HH/<id>.ndjson, duplicate ids dropped, a redelivery adds no copy', async () => {
    const t0 = Date.UTC(2031, 2, 4, 5, 10) / 1000;
    const prefix = hourPrefix(t0);
    expect(prefix).toBe('events/2031/03/04/05/');
    for (const o of await r2Objects('events/2031/03/04/')) await env.EDGEREC_EVENTS.delete(o.key);
    const u = 'a'.repeat(64);
    const evs = [
      { id: 'c-2', type: 'view', item: 'MH02', ts: t0 + 20, user: u, session: 's1' },
      { id: 'c-1', type: 'view', item: 'MH01', ts: t0 + 10, user: u, session: 's1' },
      { id: 'c-3', type: 'cart', item: 'MH01', ts: t0 + 3600 + 5, user: u, session: 's1' }, // the next hour
    ];
    const bodies = [evs[0], evs[1], { ...evs[1] }, evs[2], { ...evs[0], item: 'changed' }];
    const res = await consume(bodies);
    expect(res.ackAll).toBe(true);
    expect(res.retryBatch.retry).toBe(false);
    let objects = await r2Objects('events/2031/03/04/');
    expect(objects.map((o) => o.key.slice(0, 21)).sort()).toEqual(['events/2031/03/04/05/', 'events/2031/03/04/06/']);
    for (const o of objects) expect(o.key).toMatch(R2_KEY);
    const first = objects.find((o) => o.key.startsWith(prefix));
    const text = await r2Text(first.key);
    expect(ndjson(text)).toEqual([evs[1], evs[0]]); // time order, each id once (the first copy)
    expect(text.endsWith('\n')).toBe(true);
    const obj = await env.EDGEREC_EVENTS.head(first.key);
    expect(obj.httpMetadata.contentType).toBe('application/x-ndjson');
    expect(obj.customMetadata).toEqual({ events: '2' });

    // the Queue delivers the same batch again (at least once): the same objects, no second copy
    const again = await consume(bodies, env, { attempts: 2 });
    expect(again.ackAll).toBe(true);
    const after = await r2Objects('events/2031/03/04/');
    expect(after.map((o) => o.key).sort()).toEqual(objects.map((o) => o.key).sort());
    expect(await r2Text(first.key)).toBe(text);

    // R2 failing: the batch is retried, not acked
    const failing = { ...env, EDGEREC_EVENTS: { put: () => Promise.reject(new Error('R2 is down')) } };
    const retried = await consume([{ id: 'c-9', type: 'view', item: 'MH09', ts: t0 }], failing);
    expect(retried.retryBatch.retry).toBe(true);
    expect(retried.ackAll).toBe(false);
    objects = await r2Objects('events/2031/03/04/');
    expect(objects).toHaveLength(2);
  });

  it('the real Queue: an event from /edge/events reaches R2 through the consumer, with the hashed user', async () => {
    const b = new Browser();
    const id = `e2e-${nonce()}`;
    const r = await postEvents(b, { type: 'view', item: 'MH05', id });
    expect(r.status).toBe(202);
    let found = null;
    for (let i = 0; i < 60 && !found; i++) { // the consumer's batch timeout is 5 s
      for (const o of await r2Objects('events/')) {
        const evs = ndjson(await r2Text(o.key));
        const ev = evs.find((e) => e.id === id);
        if (ev) found = { key: o.key, ev };
      }
      if (!found) await scheduler.wait(250);
    }
    expect(found, 'the event reached R2').not.toBeNull();
    expect(found.key).toMatch(R2_KEY);
    expect(found.key.startsWith(hourPrefix(found.ev.ts))).toBe(true);
    expect(found.ev).toMatchObject({ type: 'view', item: 'MH05', model: 'test-1' });
    expect(found.ev.user).toMatch(HEX64);
    expect(found.ev.user).not.toBe(b.uid);
  });
});

describe('privacy', () => {
  beforeAll(ensureBundle);

  it('feedback free text: not stored by default; with FEEDBACK_TEXT_DAYS kept with the hashed id only, deleted after that many days', async () => {
    const listFb = async () => (await env.EDGEREC_EVENTS.list({ prefix: 'feedback-text/' })).objects.map((o) => o.key);
    for (const k of await listFb()) await env.EDGEREC_EVENTS.delete(k);
    const shopper = new Browser();
    await shopper.send(search('bag', { n: nonce() }));
    const off = await shopper.edge('POST', '/edge/feedback', { item: 'MJ01', thumbs: 'up', text: 'love it' });
    expect(off.status).toBe(202);
    expect(await listFb()).toEqual([]); // FEEDBACK_TEXT_DAYS unset: never stored
    const bad = await shopper.edge('POST', '/edge/feedback', { item: 'MJ01', rating: 4, text: 'x'.repeat(2001) });
    expect(bad.status).toBe(400);
    const kept = await shopper.edge('POST', '/edge/feedback', { item: 'MJ01', rating: 4, text: 'runs small' }, { ...env, FEEDBACK_TEXT_DAYS: '30' });
    expect(kept.status).toBe(202);
    const keys = await listFb();
    expect(keys).toHaveLength(1);
    const stored = JSON.parse(await (await env.EDGEREC_EVENTS.get(keys[0])).text());
    expect(stored).toMatchObject({ item: 'MJ01', rating: 4, text: 'runs small' });
    expect(stored.user).toMatch(HEX64);
    expect(JSON.stringify(stored)).not.toContain(shopper.uid);
    const { expireFeedbackText } = await import('../../worker-shim/cloudflare/retention.js');
    expect(await expireFeedbackText({ ...env, FEEDBACK_TEXT_DAYS: '30' }, Date.now() + 29 * 86_400_000)).toBe(0);
    expect(await expireFeedbackText({ ...env, FEEDBACK_TEXT_DAYS: '30' }, Date.now() + 31 * 86_400_000)).toBe(1);
    expect(await listFb()).toEqual([]);
  });

  it('Sec-GPC: 1 and DNT: 1: the origin\'s order (bypass opt-out), no cookie for a fresh browser, nothing queued or stored', async () => {
    for (const [signal, reason] of [[{ 'sec-gpc': '1' }, 'gpc'], [{ dnt: '1' }, 'dnt']]) {
      const rec = recording();
      const b = new Browser({}, signal);
      const spec = listing(await categoryUid('gear'), { n: nonce() });
      const l = await b.send(spec, rec.env);
      expect(l.status).toBe(200);
      expect(l.edgerec).toBe('bypass; reason=opt-out');
      expect(l.text).toBe((await direct(spec)).text);
      expect(l.setCookies).toEqual([]);
      const p = await b.send(productPage('joust-duffle-bag', { n: nonce() }), rec.env);
      expect(p.edgerec).toBe('bypass; reason=opt-out');
      expect(p.setCookies).toEqual([]);
      const ev = await b.edge('POST', '/edge/events', { type: 'view', item: 'MH01' }, rec.env);
      expect(ev.status).toBe(202);
      expect(JSON.parse(ev.text)).toEqual({ accepted: 0, stored: false, reason });
      const prof = await b.edge('GET', '/edge/profile', undefined, rec.env);
      expect(JSON.parse(prof.text)).toEqual({ stored: false, reason });
      expect(b.jar.size).toBe(0);
      expect(rec.queued).toEqual([]);
      expect(rec.kvWrites).toEqual([]);
    }
    // a browser that already has edgerec's cookies and turns GPC on: they are expired
    const known = new Browser();
    await known.send(productPage('joust-duffle-bag', { n: nonce() }));
    expect([...known.jar.keys()].sort()).toEqual(['er_p', 'er_sid', 'er_uid']);
    known.headers = { 'sec-gpc': '1' };
    const rec = recording();
    const r = await known.send(listing(await categoryUid('gear'), { n: nonce() }), rec.env);
    expect(r.edgerec).toBe('bypass; reason=opt-out');
    expect(r.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['er_p', 'er_sid', 'er_uid']);
    expect(r.setCookies.every((c) => /Max-Age=0/.test(c))).toBe(true);
    expect(r.headers.get('cache-control')).toBe('private');
    expect(known.jar.size).toBe(0);
    expect(rec.queued).toEqual([]);
  });

  it('with CONSENT_COOKIE set: nothing is set or stored until the consent cookie says yes', async () => {
    const rec = recording();
    const e = { ...rec.env, CONSENT_COOKIE: 'cookie_consent' };
    for (const cookies of [{}, { cookie_consent: '0' }, { cookie_consent: 'deny' }]) {
      const b = new Browser(cookies);
      const spec = listing(await categoryUid('gear'), { n: nonce() });
      const l = await b.send(spec, e);
      expect(l.edgerec).toBe('bypass; reason=no-consent');
      expect(l.text).toBe((await direct(spec)).text);
      expect(l.setCookies).toEqual([]);
      const p = await b.send(productPage('joust-duffle-bag', { n: nonce() }), e);
      expect(p.edgerec).toBe('bypass; reason=no-consent');
      expect(p.setCookies).toEqual([]);
      const ev = await b.edge('POST', '/edge/events', { type: 'view', item: 'MH01' }, e);
      expect(JSON.parse(ev.text)).toMatchObject({ accepted: 0, stored: false });
      expect([...b.jar.keys()]).toEqual(Object.keys(cookies));
    }
    expect(rec.queued).toEqual([]);
    expect(rec.kvWrites).toEqual([]);
    // consent given: the usual service
    const yes = new Browser({ cookie_consent: '1' });
    expect((await yes.send(listing(await categoryUid('gear'), { n: nonce() }), e)).edgerec).toBe('reranked; model=test-1');
    expect((await yes.send(productPage('joust-duffle-bag', { n: nonce() }), e)).edgerec).toBe('observed; events=view');
    expect([...yes.jar.keys()].sort()).toEqual(['cookie_consent', 'er_p', 'er_sid', 'er_uid']);
    expect(rec.queued.map((q) => q.type)).toEqual(['impression', 'view']);
  });

  it('GET /edge/profile shows the profile; DELETE clears the cookies and writes the tombstone; that shopper\'s later events are dropped', async () => {
    const rec = recording();
    const b = new Browser();
    await b.send(listing(await categoryUid('gear'), { n: nonce() }), rec.env);
    for (const k of ['joust-duffle-bag', 'wayfarer-messenger-bag', 'push-it-messenger-bag']) {
      expect((await b.send(productPage(k, { n: nonce() }), rec.env)).edgerec).toBe('observed; events=view');
    }
    const g = await b.edge('GET', '/edge/profile', undefined, rec.env);
    expect(g.status).toBe(200);
    expect(g.headers.get('cache-control')).toBe('no-store');
    const prof = JSON.parse(g.text);
    expect(prof).toMatchObject({ stored: true, cart: [], where: ['cookie er_p (encrypted)'] });
    expect(prof.id).toMatch(HEX64);
    expect(prof.id).not.toBe(b.uid);
    expect(prof.profile.items).toHaveLength(3);
    expect(prof.profile.events).toBeGreaterThanOrEqual(3);
    expect(prof.profile.categories.length).toBeGreaterThan(0);
    expect(rec.queued.length).toBeGreaterThanOrEqual(4);
    expect(rec.queued.every((q) => q.user === prof.id)).toBe(true);

    const stale = new Browser(Object.fromEntries(b.jar)); // a second tab that still holds the old cookies
    const d = await b.edge('DELETE', '/edge/profile', undefined, rec.env);
    expect(d.status).toBe(200);
    expect(JSON.parse(d.text)).toEqual({ erased: true, tombstones: 1 });
    expect(d.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['er_p', 'er_sid', 'er_uid']);
    expect(d.setCookies.every((c) => /^er_[a-z]+=;/.test(c) && /Max-Age=0/.test(c))).toBe(true);
    expect(b.jar.size).toBe(0);
    expect(rec.kvWrites).toEqual([`put tombstone:${prof.id}`]);
    expect(await env.EDGEREC.get(`tombstone:${prof.id}`)).toMatch(/^\d{10}$/);

    // the stale tab keeps browsing: its events are still queued under the same pseudonym…
    const before = rec.queued.length;
    await stale.send(productPage('voyage-yoga-bag', { n: nonce() }), rec.env);
    const later = rec.queued.slice(before);
    expect(later.map((q) => [q.type, q.user])).toEqual([['view', prof.id]]);
    // …and the consumer drops every event of that shopper (queued before or after the erasure)
    const t = Date.UTC(2031, 5, 6, 7, 30) / 1000;
    for (const o of await r2Objects('events/2031/06/06/07/')) await env.EDGEREC_EVENTS.delete(o.key);
    const other = { id: `other-${nonce()}`, type: 'view', item: 'MH01', ts: t, user: 'b'.repeat(64) };
    const res = await consume([...rec.queued.map((q) => ({ ...q, ts: t })), other]);
    expect(res.ackAll).toBe(true);
    const objects = await r2Objects('events/2031/06/06/07/');
    expect(objects).toHaveLength(1);
    expect(ndjson(await r2Text(objects[0].key))).toEqual([other]);

    // after the erasure the browser is a stranger
    const fresh = JSON.parse((await b.edge('GET', '/edge/profile', undefined, rec.env)).text);
    expect(fresh.stored).toBe(false);
    expect(fresh.id).not.toBe(prof.id);
  });

  it('addProductsToWishlist: the origin\'s bytes and a wishlist event per sku (from any variable name); a refused one logs nothing', async () => {
    const token = `standin-wish-${nonce().replace(/[^a-z0-9]/g, '')}`;
    RAW_IDS.add(token);
    const rec = recording();
    const c = new Browser({}, { authorization: `Bearer ${token}` });
    const wish = post('mutation AddToWishlist($wid: ID!, $items: [WishlistItemInput!]!) { addProductsToWishlist(wishlistId: $wid, wishlistItems: $items) { wishlist { id items_count } user_errors { code message } } }',
      'AddToWishlist', { wid: '0', items: [{ sku: 'MH01', quantity: 1 }, { sku: 'MH02', quantity: 1 }] });
    const r = await c.send(wish, rec.env);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).data.addProductsToWishlist.wishlist.items_count).toBe(2);
    expect(r.edgerec).toBe('observed; events=wishlist');
    expect(rec.queued.map((e) => [e.type, e.item])).toEqual([['wishlist', 'MH01'], ['wishlist', 'MH02']]);
    const guest = new Browser();
    const rec2 = recording();
    const g = await guest.send(wish, rec2.env);
    expect(JSON.parse(g.text).errors[0].message).toMatch(/cannot perform operations on wishlist/);
    expect(rec2.queued).toEqual([]);
    expect(g.edgerec).toBe('bypass; reason=mutation');
  });

  it('a signed-in customer: a KV copy keyed by the token\'s HMAC; DELETE tombstones both ids and removes it', async () => {
    const token = `standin-customer-${nonce().replace(/[^a-z0-9]/g, '')}`;
    RAW_IDS.add(token);
    const rec = recording();
    const c = new Browser({}, { authorization: `Bearer ${token}` });
    expect((await c.send(productPage('joust-duffle-bag', { n: nonce() }), rec.env)).edgerec).toBe('observed; events=view');
    const put = rec.kvWrites.find((w) => w.startsWith('put profile:'));
    expect(put).toMatch(/^put profile:[0-9a-f]{64}$/);
    const key = put.slice('put profile:'.length);
    expect(await env.EDGEREC.get(`profile:${key}`, 'arrayBuffer')).not.toBeNull();
    // another device of the same customer (no cookie yet) gets the KV copy
    const other = new Browser({}, { authorization: `Bearer ${token}` });
    const p = JSON.parse((await other.edge('GET', '/edge/profile', undefined, rec.env)).text);
    expect(p).toMatchObject({ stored: true, where: ['cookie er_p (encrypted)', 'KV profile copy (signed in)'] });
    expect(p.profile.items).toHaveLength(1);
    const d = await c.edge('DELETE', '/edge/profile', undefined, rec.env);
    expect(JSON.parse(d.text)).toEqual({ erased: true, tombstones: 2 });
    expect(await env.EDGEREC.get(`tombstone:${key}`)).not.toBeNull();
    expect(await env.EDGEREC.get(`profile:${key}`)).toBeNull();
  });

  it('no raw id (er_uid cookie values, x-edgerec-id values, bearer tokens) appears in any KV key or value, or any R2 key or body', async () => {
    // some traffic through the real Queue first, from a browser and an app
    const app = { 'x-edgerec-id': `app-${nonce()}-device`, 'x-edgerec-session': 'app-sess-00000001' };
    RAW_IDS.add(app['x-edgerec-id']);
    const b = new Browser();
    await b.send(productPage('joust-duffle-bag', { n: nonce() }));
    await shop(productPage('wayfarer-messenger-bag', { n: nonce() }), app);
    const mark = `scan-${nonce()}`;
    await b.edge('POST', '/edge/events', { type: 'view', item: 'MH01', id: mark });
    await send(new Request(`${SHOP}/edge/events`, { method: 'POST', headers: { ...app, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'view', item: 'MH02', id: `${mark}-app` }) }));
    const r2All = async () => {
      const out = [];
      for (const o of await r2Objects('')) out.push({ key: o.key, body: await r2Text(o.key) });
      return out;
    };
    let objects = [];
    for (let i = 0; i < 60; i++) {
      objects = await r2All();
      const all = objects.map((o) => o.body).join('');
      if (all.includes(`"${mark}"`) && all.includes(`"${mark}-app"`)) break;
      await scheduler.wait(250);
    }
    const events = objects.flatMap((o) => ndjson(o.body));
    expect(events.find((e) => e.id === mark)?.user).toMatch(HEX64);
    expect(events.find((e) => e.id === `${mark}-app`)?.user).toMatch(HEX64);
    expect(events.filter((e) => HEX64.test(e.user ?? '')).length).toBeGreaterThan(5);

    const kv = [];
    let cursor;
    do {
      const l = await env.EDGEREC.list({ cursor });
      for (const k of l.keys) {
        const v = await env.EDGEREC.get(k.name, 'arrayBuffer');
        kv.push({ key: k.name, body: v ? latin1(new Uint8Array(v)) : '' });
      }
      cursor = l.list_complete ? undefined : l.cursor;
    } while (cursor);
    expect(kv.some((k) => k.key.startsWith('tombstone:'))).toBe(true);
    expect(RAW_IDS.size).toBeGreaterThan(10);
    for (const id of RAW_IDS) {
      for (const o of [...kv, ...objects]) {
        expect(o.key.includes(id), `raw id in the key ${o.key}`).toBe(false);
        expect(o.body.includes(id), `raw id in the value of ${o.key}`).toBe(false);
      }
    }
  });
});

function latin1(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return s;
}
