// attribution.test.mjs — recommendation units in the KPIs INSIDE workerd: the `recs-*` counts per
// unit, carts and purchases attributed to the unit clicked before them (attribution.js), the unit
// KPIs in GET /edge/admin/status, and the guardrail judging a canary on unit CTR (cron.js over
// guardrails.js with GUARDRAIL_METRIC).
//
// Everything goes through the real queue consumer (worker.queue) into D1.  The first tests drive
// the real Worker in front of the Magento stand-in: a browser posts its unit events to
// /edge/events and buys through createEmptyCart → addProductsToCart → placeOrder, so the events
// carry what the edge stamps on them (shopper, session, arm, model).  The Queue is a recorder whose
// messages are handed to the consumer when the test says (as lifecycle.test.mjs).  The rest hand
// the consumer events shaped as the edge writes them, to reach what a browser here cannot (signed-in
// shoppers, 24 h, reordered and redelivered batches, flagged events).  Prices come from the catalog
// view synced from the stand-in and are read back from the stand-in itself.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { env, createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { workerFetch } from '../lib/worker-fetch.mjs';
import worker from '../../worker-shim/cloudflare/worker.js';
import wasm from '../../wasm/edgerec.wasm';
import { Engine } from '../../worker-shim/core/engine.js';
import { REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { syncCatalog } from '../../worker-shim/cloudflare/catalog-sync.js';
import { readManifest } from '../../worker-shim/cloudflare/lifecycle.js';
import { armStats } from '../../worker-shim/cloudflare/kpi.js';
import { runGuardrail } from '../../worker-shim/cloudflare/cron.js';
import { RETAIN_S } from '../../worker-shim/cloudflare/attribution.js';
import luma from '../../build/workerd/luma.erb';
import lumaAA from '../../build/workerd/luma-aa.erb';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const SCENARIO = `${ORIGIN}/__standin/scenario/attr-${Math.random().toString(36).slice(2, 8)}`;
const TOKEN = env.EDGEREC_ADMIN_TOKEN;
const HOUR_S = 3600;

// ---- simulated time (the Worker's 60 s caches; attribution's 24 h) ---------------------------------
const realNow = Date.now.bind(Date);
let offset = Date.UTC(2031, 5, 1, 10, 0) - realNow();
const now = () => realNow() + offset;
const nowS = () => now() / 1000;
const advance = (ms) => { offset += ms; };
beforeAll(() => { vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset); });
afterAll(() => vi.restoreAllMocks());

// ---- the Worker, its recording Queue and the consumer -------------------------------------------
const queued = [];
const E = {
  ...env, ORIGIN_URL: SCENARIO,
  EVENTS: {
    send: async (body) => { queued.push(structuredClone(body)); },
    sendBatch: async (msgs) => { for (const m of msgs) queued.push(structuredClone(m.body)); },
  },
};

const send = (request) => workerFetch(worker, request, E);
const admin = (method, path, body) => send(new Request(`${SHOP}/edge/admin/${path}`, {
  method, headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': body instanceof Uint8Array ? 'application/octet-stream' : 'application/json' } : {}) },
  body: body instanceof Uint8Array ? body : body ? JSON.stringify(body) : undefined,
}));

let batchNo = 0;
/** The real consumer over `events` in batches of `size`; the batch must be acked. */
async function consume(events, size = 100) {
  for (let i = 0; i < events.length; i += size) {
    const bodies = events.slice(i, i + size);
    const batch = createMessageBatch('edgerec-events', bodies.map((body, k) => ({ id: `m-${batchNo}-${k}`, timestamp: new Date(now()), attempts: 1, body })));
    batchNo++;
    const ctx = createExecutionContext();
    await worker.queue(batch, E, ctx);
    const res = await getQueueResult(batch, ctx);
    expect(res.ackAll, 'the consumer acked the batch').toBe(true);
  }
}
/** Everything the Worker queued so far, through the consumer. */
const flush = async () => consume(queued.splice(0, queued.length));

/** A browser: a cookie jar over the Worker. */
class Browser {
  jar = new Map();
  async send(path, init = {}) {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await send(new Request(SHOP + path, { ...init, headers: { ...(init.headers ?? {}), ...(cookie ? { cookie } : {}) } }));
    for (const sc of r.headers.getSetCookie()) {
      const [pair] = sc.split(';');
      const eq = pair.indexOf('=');
      this.jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return r;
  }
  events(list) { return this.send('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(list) }); }
  graphql(query, operationName, variables) {
    return this.send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, operationName, variables }) });
  }
  /** createEmptyCart → addProductsToCart (each sku) → placeOrder, through the Worker. */
  async buy(skus) {
    const c = await this.graphql('mutation createCart { cartId: createEmptyCart }', 'createCart', {});
    const cartId = c.json?.data?.cartId;
    expect(typeof cartId, c.text).toBe('string');
    for (const sku of skus) {
      const a = await this.graphql(`mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
        addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id total_quantity } user_errors { code message } } }`,
      'AddProductToCart', { cartId, product: { sku, quantity: 1 } });
      expect(a.headers.get('x-edgerec'), a.text).toMatch(/^observed; events=cart/);
    }
    const p = await this.graphql('mutation placeOrder($cartId: String!) { placeOrder(input: {cart_id: $cartId}) { order { order_number } } }', 'placeOrder', { cartId });
    expect(p.headers.get('x-edgerec'), p.text).toMatch(/^observed; events=purchase/);
  }
}

/** The stand-in's own final price of a sku (store view default, USD): what revenue must use. */
async function originPrice(sku) {
  const q = `{ products(filter: { sku: { eq: ${JSON.stringify(sku)} } }) { items { sku price_range { minimum_price { final_price { value currency } } } } } }`;
  const j = await (await fetch(`${SCENARIO}/graphql?${new URLSearchParams({ query: q })}`)).json();
  const it = j.data.products.items.find((x) => x.sku === sku);
  expect(it.price_range.minimum_price.final_price.currency).toBe('USD');
  return it.price_range.minimum_price.final_price.value;
}

const uniq = (p) => `${p}-${Math.random().toString(36).slice(2, 10)}`;
/** The unit's line in GET /edge/admin/status (null when absent). */
async function statusUnit(version, unit) {
  const st = await admin('GET', 'status');
  expect(st.status, st.text).toBe(200);
  return st.json.units?.[version]?.units.find((u) => u.unit === unit) ?? null;
}
/** The unit's D1 rows summed per (unit_type, version, arm). */
async function unitRows(unit) {
  return (await env.DB.prepare(`SELECT unit_type, version, arm, SUM(renders) renders, SUM(views) views, SUM(clicks) clicks,
    SUM(cart_clicks) cart_clicks, SUM(carts) carts, SUM(purchases) purchases, SUM(revenue_cents) revenue_cents
    FROM unit_kpi_hourly WHERE unit = ? GROUP BY unit_type, version, arm ORDER BY version, arm`).bind(unit).all()).results;
}
const zero = { renders: 0, views: 0, clicks: 0, cart_clicks: 0, carts: 0, purchases: 0, revenue_cents: 0 };

let skus = []; // skus in the catalog view, in stock, with a price
let manifest;

beforeAll(async () => {
  const put = await admin('PUT', 'bundles/test-1', new Uint8Array(luma.slice(0)));
  expect([200, 201], put.text).toContain(put.status);
  expect((await admin('POST', 'rollout', { canary: 'test-1', percent: 100 })).status).toBe(200);
  expect((await admin('POST', 'promote')).status).toBe(200);
  advance(REFRESH_MS + 1000); // the Worker sees the manifest
  const r = await syncCatalog(E, now(), { engine: new Engine(wasm, new Uint8Array(luma)) });
  expect(r.ok, JSON.stringify(r.errors)).toBe(true);
  const j = await (await fetch(`${SCENARIO}/graphql?${new URLSearchParams({ query: '{ products(search: "", pageSize: 300) { items { sku __typename stock_status } } }' })}`)).json();
  skus = j.data.products.items.filter((i) => i.__typename === 'SimpleProduct' && i.stock_status === 'IN_STOCK').map((i) => i.sku);
  expect(skus.length).toBeGreaterThan(20);
  manifest = await readManifest(env.DB);
  expect(manifest.active).toBe('test-1');
}, 120_000);

describe('through the Worker: a browser clicks a unit and buys', () => {
  it('a click then a purchase of the same item in the same session is attributed to the unit (type, version, arm, catalog price); a purchase without a click is not', async () => {
    const unit = uniq('u'), [x, y, z] = skus.slice(0, 3);
    const b = new Browser();
    const shown = { items: [x, y, z], unit, unit_type: 'viewed-viewed', rank: 1 };
    const ev = await b.events([
      { type: 'recs-unit-impression-render', ...shown }, { type: 'recs-unit-view', ...shown },
      { type: 'recs-item-click', item: x, unit, unit_type: 'viewed-viewed', rank: 1 },
      { type: 'recs-item-add-to-cart-click', item: z, unit, unit_type: 'viewed-viewed', rank: 3 },
    ]);
    expect(ev.status, ev.text).toBe(202);
    advance(60_000);
    await b.buy([x, y]); // x was clicked in the unit, y never was
    const arm = queued[0].arm, version = arm === 'holdout' ? 'none' : 'test-1';
    expect(['holdout', 'control']).toContain(arm);
    const sessions = new Set(queued.map((e) => e.session));
    expect(sessions.size, 'one session').toBe(1);
    expect(queued.map((e) => e.type)).toEqual(['recs-unit-impression-render', 'recs-unit-view', 'recs-item-click', 'recs-item-add-to-cart-click',
      'cart', 'cart', 'purchase', 'purchase']);
    await flush();

    const px = await originPrice(x);
    expect(px).toBeGreaterThan(0);
    const rows = await unitRows(unit);
    expect(rows).toEqual([{ unit_type: 'viewed-viewed', version, arm, renders: 1, views: 1, clicks: 2, cart_clicks: 1, carts: 1, purchases: 1, revenue_cents: Math.round(px * 100) }]);
    const s = await statusUnit(version, unit);
    expect(s).toEqual({
      unit, unit_type: 'viewed-viewed', renders: 1, views: 1, clicks: 2, add_to_cart_clicks: 1, carts: 1, purchases: 1,
      revenue: Math.round(px * 100) / 100, ctr: 2, add_to_cart_rate: 0.5, conversion: 0.5,
    });
    // y: bought in the same session but never clicked in a unit → attributed to nothing
    const user = (await b.send('/edge/profile')).json.id;
    const conv = (await env.DB.prepare('SELECT item, kind, click, unit FROM unit_conversions WHERE user = ? ORDER BY item, kind').bind(user).all()).results;
    expect(conv.filter((c) => c.item === y).map((c) => c.unit)).toEqual([null, null]);
    expect(conv.filter((c) => c.item === x).map((c) => c.unit)).toEqual([unit, unit]);
    // z: clicked (its add-to-cart button) but not bought → no cart, no purchase
    expect(conv.some((c) => c.item === z)).toBe(false);

    // per type: the status sums the type's units
    const st = await admin('GET', 'status');
    const t = st.json.units[version].types['viewed-viewed'];
    const all = st.json.units[version].units.filter((u) => u.unit_type === 'viewed-viewed');
    for (const k of ['renders', 'views', 'clicks', 'carts', 'purchases']) expect(t[k]).toBe(all.reduce((a, u) => a + u[k], 0));
    expect(t.ctr).toBeCloseTo(t.clicks / t.views, 12);
  });

  /** A new browser whose arm (the x-edgerec header of its first answer) is `want`: shoppers are
   * placed by their id's hash, so a few new ones are tried (the holdout is DEFAULT_HOLDOUT %). */
  async function browserIn(want) {
    for (let i = 0; i < 400; i++) {
      const b = new Browser();
      const r = await b.send('/edge/recommend?pageType=CMS');
      expect(r.status, r.text).toBe(200);
      if ((/; arm=(\w+)/.exec(r.edgerec ?? '') ?? [])[1] === want) return b;
    }
    throw new Error(`no shopper in the ${want} arm in 400 tries`);
  }
  const cartItems = (r) => r.json.results.map((u) => u.productsView.map((p) => p.sku));
  /** The browser adds sku to a cart through the Worker; then its cart page's units three ways: named
   * by nothing (the profile), named by ?cart=, and for a new shopper (the same arm) with nothing in a cart. */
  async function cartPages(b, x, arm) {
    const c = await b.graphql('mutation createCart { cartId: createEmptyCart }', 'createCart', {});
    const a = await b.graphql(`mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
      addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id } user_errors { code message } } }`,
    'AddProductToCart', { cartId: c.json.data.cartId, product: { sku: x, quantity: 1 } });
    expect(a.headers.get('x-edgerec'), a.text).toMatch(/^observed; events=cart/);
    const implicit = await b.send('/edge/recommend?pageType=Cart');
    const explicit = await b.send(`/edge/recommend?pageType=Cart&cart=${encodeURIComponent(x)}`);
    const fresh = await (await browserIn(arm)).send('/edge/recommend?pageType=Cart');
    for (const r of [implicit, explicit, fresh]) expect(r.status, r.text).toBe(200);
    expect(implicit.edgerec).toContain(`; arm=${arm}`);
    queued.splice(0, queued.length);
    return { implicit: cartItems(implicit), explicit: cartItems(explicit), fresh: cartItems(fresh) };
  }

  it('the storefront script on a cart page names no cart: GET /edge/recommend answers from what the edge saw added (the profile)', async () => {
    const [x] = skus.slice(5, 6);
    const { implicit, explicit, fresh } = await cartPages(await browserIn('control'), x, 'control');
    expect(implicit.flat().length).toBeGreaterThan(0);
    expect(implicit).toEqual(explicit); // the profile's cart stands in for ?cart=
    expect(implicit.flat()).not.toContain(x); // what is in the cart is not recommended
    expect(implicit).not.toEqual(fresh); // a shopper with an empty cart gets something else
  });

  it("a holdout shopper's cart page is not personalized from the profile (the units of an empty cart); a cart the page names still counts", async () => {
    const [x] = skus.slice(5, 6);
    const { implicit, explicit, fresh } = await cartPages(await browserIn('holdout'), x, 'holdout');
    expect(implicit.flat().length).toBeGreaterThan(0);
    expect(implicit).toEqual(fresh); // the holdout's measure: nothing of the shopper's own is used
    expect(explicit).not.toEqual(implicit); // ?cart= is the page's context, not the profile
    expect(explicit.flat()).not.toContain(x);
  });

  it('a click in another session is not attributed (a shopper not signed in)', async () => {
    const unit = uniq('u'), x = skus[5];
    const b = new Browser();
    expect((await b.events([{ type: 'recs-item-click', item: x, unit, unit_type: 'most-viewed', rank: 2 }])).status).toBe(202);
    b.jar.delete('er_sid'); // the session ends (30 min idle): the next request starts another
    advance(31 * 60_000);
    await b.buy([x]);
    const byType = Object.groupBy(queued, (e) => e.type);
    expect(byType['recs-item-click'][0].session).not.toBe(byType.purchase[0].session);
    expect(byType['recs-item-click'][0].user).toBe(byType.purchase[0].user);
    await flush();
    const [row] = await unitRows(unit);
    expect(row).toMatchObject({ clicks: 1, carts: 0, purchases: 0, revenue_cents: 0 });
  });
});

// ---- the consumer alone: events as the edge writes them ------------------------------------------

let seq = 0;
/** An event as the edge logs it (id, ts, session, user, arm, model); `at`: seconds from now. */
function edgeEvent(type, fields, { user, session, at = 0, arm = 'control', model = 'test-1', run, signedIn = false } = {}) {
  const ev = { type, ...fields, id: `ev-${++seq}-${Math.random().toString(36).slice(2, 8)}`, ts: Math.round((nowS() + at) * 1000) / 1000, session, user, arm };
  if (arm !== 'holdout') ev.model = model;
  if (run) ev.run = run;
  if (signedIn) ev.signed_in = true;
  return ev;
}
const click = (item, unit, o) => edgeEvent('recs-item-click', { item, unit, unit_type: 'trending', rank: 1 }, o);
const purchase = (item, o, extra = {}) => edgeEvent('purchase', { item, ...extra }, o);
const cart = (item, o) => edgeEvent('cart', { item, qty: 1 }, o);
const userId = () => uniq('user').padEnd(64, '0');

describe('attribution in the consumer', () => {
  it('signed in: a click in another session within 24 h is attributed, one 24 h + 1 s before is not', async () => {
    const [x, y] = skus.slice(10, 12);
    const u = userId(), unit = uniq('u');
    const a = { user: u, session: 's-first', signedIn: true };
    const later = (at) => ({ user: u, session: 's-second', signedIn: true, at });
    await consume([click(x, unit, { ...a, at: -23 * HOUR_S }), click(y, unit, { ...a, at: -24 * HOUR_S - 1 })]);
    await consume([cart(x, later(0)), purchase(x, later(0)), purchase(y, later(0))]);
    const px = await originPrice(x);
    expect(await unitRows(unit)).toEqual([{ unit_type: 'trending', version: 'test-1', arm: 'control', ...zero, clicks: 2, carts: 1, purchases: 1, revenue_cents: Math.round(px * 100) }]);
    // the same in another session without signed_in: not attributed
    const v = userId(), unit2 = uniq('u');
    await consume([click(x, unit2, { user: v, session: 's-1', at: -60 })]);
    await consume([purchase(x, { user: v, session: 's-2' })]);
    expect(await unitRows(unit2)).toEqual([{ unit_type: 'trending', version: 'test-1', arm: 'control', ...zero, clicks: 1 }]);
  });

  it('last click wins; a click after the purchase does not take it; the event price × qty beats the catalog price', async () => {
    const x = skus[12];
    const u = userId(), [first, second, after] = [uniq('u'), uniq('u'), uniq('u')];
    const o = (at) => ({ user: u, session: 's', at });
    await consume([click(x, first, o(-300)), click(x, second, o(-120)), purchase(x, o(0), { price: 12.5, qty: 2 }), click(x, after, o(60))]);
    expect((await unitRows(first))[0]).toMatchObject({ clicks: 1, purchases: 0 });
    expect((await unitRows(second))[0]).toMatchObject({ clicks: 1, purchases: 1, revenue_cents: 2500 });
    expect((await unitRows(after))[0]).toMatchObject({ clicks: 1, purchases: 0 });
  });

  it('order of arrival does not matter: a purchase before its click is attributed when the click arrives, and moves to a later click', async () => {
    const x = skus[13];
    const u = userId(), [early, late] = [uniq('u'), uniq('u')];
    const o = (at) => ({ user: u, session: 's', at, arm: 'holdout' });
    const buy = purchase(x, o(0));
    await consume([buy]); // the click's batch failed and is retried after this one
    await consume([click(x, early, o(-600))]);
    const px = await originPrice(x);
    expect(await unitRows(early)).toEqual([{ unit_type: 'trending', version: 'none', arm: 'holdout', ...zero, clicks: 1, purchases: 1, revenue_cents: Math.round(px * 100) }]);
    await consume([click(x, late, o(-60))]); // a later click, delivered last: it takes the purchase
    expect((await unitRows(early))[0]).toMatchObject({ clicks: 1, purchases: 0, revenue_cents: 0 });
    expect((await unitRows(late))[0]).toMatchObject({ clicks: 1, purchases: 1, revenue_cents: Math.round(px * 100) });
    // an earlier click delivered now changes nothing
    await consume([click(x, early, o(-900))]);
    expect((await unitRows(early))[0]).toMatchObject({ clicks: 2, purchases: 0 });
    expect((await unitRows(late))[0]).toMatchObject({ purchases: 1 });
  });

  it('a redelivered batch and the same events in other batches count once', async () => {
    const [x, y] = skus.slice(14, 16);
    const u = userId(), unit = uniq('u');
    const o = (at) => ({ user: u, session: 's', at });
    const shown = { items: [x, y], unit, unit_type: 'viewed-bought', rank: 1 };
    const events = [
      edgeEvent('recs-unit-impression-render', shown, o(-400)), edgeEvent('recs-unit-view', shown, o(-399)),
      click(x, unit, o(-300)), edgeEvent('recs-item-add-to-cart-click', { item: y, unit, unit_type: 'viewed-bought', rank: 2 }, o(-290)),
      cart(x, o(-200)), cart(y, o(-190)), purchase(x, o(0)), purchase(y, o(0)),
    ];
    await consume(events);
    const once = await unitRows(unit);
    const [px, py] = [await originPrice(x), await originPrice(y)];
    // the click on x has unit_type 'trending' (click()), the rest 'viewed-bought': both lines, once each
    const want = [
      { unit_type: 'trending', version: 'test-1', arm: 'control', ...zero, clicks: 1, carts: 1, purchases: 1, revenue_cents: Math.round(px * 100) },
      { unit_type: 'viewed-bought', version: 'test-1', arm: 'control', renders: 1, views: 1, clicks: 1, cart_clicks: 1, carts: 1, purchases: 1, revenue_cents: Math.round(py * 100) },
    ];
    expect(once).toEqual(want);
    await consume(events);                         // redelivered as is
    await consume([...events].reverse(), 3);       // re-batched, in another order
    await consume([events[6], events[6], events[2]]); // duplicates inside one batch
    expect(await unitRows(unit)).toEqual(want);
  });

  it('flagged events (bot, rate-limited) count nowhere: not as unit counts, not as clicks that attribute, not as purchases', async () => {
    const [x, y] = skus.slice(16, 18);
    const u = userId(), unit = uniq('u');
    const o = (at) => ({ user: u, session: 's', at });
    const flagged = (ev, flag) => ({ ...ev, flag });
    const shown = { items: [x, y], unit, unit_type: 'most-viewed', rank: 1 };
    const kpiBefore = await env.DB.prepare("SELECT SUM(purchases) p FROM kpi_hourly WHERE version = 'test-1'").first();
    await consume([
      flagged(edgeEvent('recs-unit-impression-render', shown, o(-100)), 'bot'),
      flagged(edgeEvent('recs-unit-view', shown, o(-99)), 'rate-limited'),
      flagged(click(x, unit, o(-90)), 'bot'),
      purchase(x, o(0)),                        // clean, but its click was flagged: not attributed
      click(y, unit, o(-50)),
      flagged(purchase(y, o(0)), 'rate-limited'), // flagged purchase of a clicked item: not counted
    ]);
    expect(await unitRows(unit)).toEqual([{ unit_type: 'trending', version: 'test-1', arm: 'control', ...zero, clicks: 1 }]);
    const kpiAfter = await env.DB.prepare("SELECT SUM(purchases) p FROM kpi_hourly WHERE version = 'test-1'").first();
    expect(kpiAfter.p - (kpiBefore.p ?? 0)).toBe(1); // the clean purchase of x only
    const stored = (await env.DB.prepare('SELECT COUNT(*) n FROM unit_conversions WHERE user = ?').bind(u).first()).n;
    expect(stored).toBe(1);
  });

  it('full batches: 100 shoppers each click and buy (batches of 100, shuffled): every purchase attributed once; the cost per batch', async () => {
    const unit = uniq('u'), items = skus.slice(20, 30);
    const prices = new Map();
    for (const x of items) prices.set(x, await originPrice(x));
    const events = [];
    let cents = 0;
    for (let i = 0; i < 100; i++) {
      const o = (at) => ({ user: userId(), session: `s-${i}`, at });
      const who = o(0);
      const x = items[i % items.length];
      events.push(click(x, unit, { ...who, at: -120 }), cart(x, { ...who, at: -60 }), purchase(x, who));
      cents += Math.round(prices.get(x) * 100);
    }
    // a fixed shuffle: clicks and their purchases in different batches, either order
    let r = 7;
    for (let i = events.length - 1; i > 0; i--) { r = (r * 48271) % 2147483647; const j = r % (i + 1); [events[i], events[j]] = [events[j], events[i]]; }
    const t0 = realNow();
    await consume(events);
    const ms = (realNow() - t0) / 3;
    expect(await unitRows(unit)).toEqual([{ unit_type: 'trending', version: 'test-1', arm: 'control', ...zero, clicks: 100, carts: 100, purchases: 100, revenue_cents: cents }]);
    const plain = Array.from({ length: 100 }, (_, i) => edgeEvent('impression', { items: skus.slice(0, 5), unit: 'listing' }, { user: userId(), session: `p-${i}` }));
    const t1 = realNow();
    await consume(plain);
    console.log(`attribution: a batch of 100 unit clicks, carts and purchases (shuffled) through the consumer: ${ms.toFixed(1)} ms per batch; ` +
      `100 listing impressions (no unit work): ${(realNow() - t1).toFixed(1)} ms`);
  });

  it('clicks and conversions are kept for the 24 h window (+ 1 h), pseudonymous ids only, then pruned', async () => {
    const x = skus[18];
    const u = userId(), unit = uniq('u');
    await consume([click(x, unit, { user: u, session: 's' }), purchase(x, { user: u, session: 's', at: 1 })]);
    const cols = (await env.DB.prepare('PRAGMA table_info(unit_clicks)').all()).results.map((c) => c.name);
    expect(cols).toEqual(['id', 'user', 'item', 'session', 'ts', 'unit', 'unit_type', 'version', 'arm']);
    expect((await env.DB.prepare('SELECT COUNT(*) n FROM unit_clicks WHERE user = ?').bind(u).first()).n).toBe(1);
    advance((RETAIN_S + 60) * 1000);
    await consume([click(skus[19], uniq('u'), { user: userId(), session: 's' })]); // any later batch prunes
    expect((await env.DB.prepare('SELECT COUNT(*) n FROM unit_clicks WHERE user = ?').bind(u).first()).n).toBe(0);
    expect((await env.DB.prepare('SELECT COUNT(*) n FROM unit_conversions WHERE user = ?').bind(u).first()).n).toBe(0);
    expect((await unitRows(unit))[0]).toMatchObject({ clicks: 1, purchases: 1 }); // the counts stay
    // a conversion older than the window is counted in kpi_hourly but never kept for attribution
    const old = userId();
    await consume([purchase(x, { user: old, session: 's', at: -RETAIN_S - 10 })]);
    expect((await env.DB.prepare('SELECT COUNT(*) n FROM unit_conversions WHERE user = ?').bind(old).first()).n).toBe(0);
  });
});

// ---- the guardrail on unit CTR ------------------------------------------------------------------

describe('the guardrail judges a canary on unit CTR (GUARDRAIL_METRIC)', () => {
  it('a canary whose unit CTR is clearly worse (conversion equal) is rolled back under unit-ctr and both, not under conversion', async () => {
    const put = await admin('PUT', 'bundles/aa-2', new Uint8Array(lumaAA.slice(0)));
    expect([200, 201], put.text).toContain(put.status);
    const ro = await admin('POST', 'rollout', { canary: 'aa-2', percent: 50 });
    expect(ro.status, ro.text).toBe(200);
    const run = ro.json.run;
    // seeded shoppers: every one sees a listing and a unit; both arms view a product 30 % of the time;
    // the unit is clicked by 30 % of control's shoppers and 8 % of the canary's
    let s = 20310601;
    const rnd = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
    const N = 400, events = [];
    const tally = { canary: { v: 0, c: 0 }, control: { v: 0, c: 0 } };
    for (const arm of ['canary', 'control']) {
      for (let i = 0; i < N; i++) {
        const o = { user: `${arm}-${i}-${run}`.padEnd(64, '0'), session: `s-${arm}-${i}`, arm, model: arm === 'canary' ? 'aa-2' : 'test-1', run };
        const unit = `pdp-${arm}`;
        events.push(edgeEvent('impression', { items: skus.slice(0, 5), unit: 'listing' }, { ...o, at: -50 }));
        events.push(edgeEvent('recs-unit-view', { items: skus.slice(0, 5), unit, unit_type: 'viewed-viewed', rank: 1 }, { ...o, at: -40 }));
        tally[arm].v++;
        if (rnd() < 0.3) events.push(edgeEvent('view', { item: skus[1] }, { ...o, at: -30 }));
        if (rnd() < (arm === 'canary' ? 0.08 : 0.3)) {
          events.push(click(skus[2], unit, { ...o, at: -20 }));
          tally[arm].c++;
        }
      }
    }
    // shoppers who clicked a unit they never viewed (the view's beacon lost) are not in the unit CTR
    for (let i = 0; i < 20; i++) {
      events.push(click(skus[3], 'pdp-control', { user: `noview-${i}-${run}`.padEnd(64, '0'), session: `s-nv-${i}`, arm: 'control', run }));
    }
    // the unit clicks are delivered before the views (reordered batches): they still count
    const first = (e) => e.type === 'recs-item-click';
    const t0 = realNow();
    await consume([...events.filter(first), ...events.filter((e) => !first(e))]);
    console.log(`attribution: ${events.length} events (listing impressions, unit views and clicks, views of ${2 * N + 20} shoppers) ` +
      `through the consumer in ${Math.ceil(events.length / 100)} batches of 100: ${((realNow() - t0) / Math.ceil(events.length / 100)).toFixed(1)} ms per batch`);
    const stats = await armStats(env.DB, run);
    expect(stats.canary).toMatchObject({ unit_viewers: tally.canary.v, unit_clickers: tally.canary.c });
    expect(stats.control).toMatchObject({ unit_viewers: tally.control.v, unit_clickers: tally.control.c });
    const m = await readManifest(env.DB);
    expect(m).toMatchObject({ canary: 'aa-2', run });

    const conv = await runGuardrail({ ...E, GUARDRAIL_METRIC: 'conversion' }, now());
    expect(conv.action, conv.reason).toBe('continue');
    expect((await readManifest(env.DB)).canary).toBe('aa-2');
    const bad = await runGuardrail({ ...E, GUARDRAIL_METRIC: 'unit CTR' }, now());
    expect(bad.action).toBe('error');
    expect(bad.reason).toMatch(/metric must be one of conversion, unit-ctr, both/);

    const both = await runGuardrail({ ...E, GUARDRAIL_METRIC: 'both' }, now());
    expect(both.action, both.reason).toBe('rollback');
    expect(both.reason).toMatch(/^unit CTR: canary's unit CTR is worse than control's/);
    expect(both.figures.unitCtr.rollback.alpha).toBe(0.025);
    const after = await readManifest(env.DB);
    expect(after).toMatchObject({ canary: null, active: 'test-1' });
    const audit = await env.DB.prepare("SELECT * FROM audit WHERE action = 'rollback' ORDER BY id DESC LIMIT 1").first();
    expect(audit).toMatchObject({ actor: 'guardrail', canary: 'aa-2' });
    expect(JSON.parse(audit.figures)).toMatchObject({ metric: 'both', run, unitCtr: { canary: { shoppers: tally.canary.v, converted: tally.canary.c } } });

    // the same run under unit-ctr alone (a new rollout, the same shoppers' figures re-entered under it)
    const ro2 = await admin('POST', 'rollout', { canary: 'aa-2', percent: 50 });
    expect(ro2.status, ro2.text).toBe(200);
    await consume(events.map((e) => ({ ...e, id: `${e.id}-2`, run: ro2.json.run })));
    const ctr = await runGuardrail({ ...E, GUARDRAIL_METRIC: 'unit-ctr' }, now());
    expect(ctr.action, ctr.reason).toBe('rollback');
    expect(ctr.reason).toMatch(/^unit CTR: canary's unit CTR is worse than control's: canary \d/);
    expect(ctr.figures).toMatchObject({ metric: 'unit-ctr', canary: { shoppers: tally.canary.v, converted: tally.canary.c } });
    expect((await readManifest(env.DB)).canary).toBeNull();
  }, 60_000);
});
