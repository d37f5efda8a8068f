// traffic.test.mjs — traffic classification at the edge through the real Worker INSIDE workerd
// (docs/anti-gaming.md "At the edge", docs/events.md "Edge fields"): crawlers and Cloudflare's bot
// signals flag events "bot", a burst over the real rate-limiting binding (miniflare's limiter with
// wrangler.toml's limit and period: TRAFFIC_RATE_LIMIT, see vitest.config.mjs) flags "rate-limited",
// new shoppers carry trust "new" and a connection key in the queue message (never in R2), states
// carry `since` through every re-seal (cookie, app header, KV copy), a client cannot set the edge
// fields, and flagged events still shape the shopper's own profile.
//
// Events are read where they go: a recording Queue binding (what the Worker sent), then the real
// consumer (worker.queue) into R2.
import { describe, it, expect, beforeAll, vi } from 'vitest';
import { env, createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import luma from '../../build/workerd/luma.erb';
import { hmacId, openProfile, sealProfile } from '../../worker-shim/core/identity.js';
import { decodeState, encodeState } from '../../worker-shim/core/state.js';
import { connectionKey } from '../../worker-shim/core/traffic.js';
import { syncCatalog } from '../../worker-shim/cloudflare/catalog-sync.js';
import { Engine } from '../../worker-shim/core/engine.js';
import wasm from '../../wasm/edgerec.wasm';
import { workerFetch } from '../lib/worker-fetch.mjs';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const HEX16 = /^[0-9a-f]{16}$/;
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const HEADLESS = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36';
const PRODUCT = 'query getProductDetailForProductPage($urlKey: String!) { products(filter: { url_key: { eq: $urlKey } }) { items { sku name } } }';

let n = 0;
/** A fresh client address on its own /24 (so that its connection key is its own). */
const address = () => `198.${18 + (n % 2)}.${(++n * 7) % 250}.${1 + (n % 200)}`;

/** env whose Queue records what the Worker sends (the messages themselves: conn included). */
function recording(extra = {}) {
  const queued = [];
  const EVENTS = {
    send: async (body) => { queued.push(structuredClone(body)); },
    sendBatch: async (msgs) => { for (const m of msgs) queued.push(structuredClone(m.body)); },
  };
  return { env: { ...env, EVENTS, ...extra }, queued };
}

/** One request through the Worker, its waitUntil work (the marked queue send) done. */
async function send(request, e = env) {
  const r = await workerFetch(worker, request, e);
  return { ...r, setCookies: r.headers.getSetCookie() };
}
const events = (body, headers = {}, cf = undefined) =>
  new Request(`${SHOP}/edge/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), cf });
const productView = (urlKey, headers = {}, cf = undefined) =>
  new Request(`${SHOP}/graphql?${new URLSearchParams({ query: PRODUCT, operationName: 'getProductDetailForProductPage', variables: JSON.stringify({ urlKey }) })}`, { headers, cf });

/** The er_uid / er_p / er_sid pairs of a response, as a Cookie header. */
const cookieOf = (setCookies) => setCookies.map((c) => c.split(';')[0]).filter((p) => !p.endsWith('=')).join('; ');
const cookieValue = (setCookies, name) => setCookies.map((c) => c.split(';')[0]).find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);

/** Run fn with the clock `seconds` ahead (a re-seal that reset `since` would show). */
async function later(seconds, fn) {
  const at = Date.now() + seconds * 1000;
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => at);
  try { return await fn(); } finally { spy.mockRestore(); }
}

/** A browser shopper whose sealed state was created `ageSeconds` ago (cookies er_uid + er_p). */
async function shopperAged(ageSeconds) {
  const uid = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const uidHash = await hmacId(env.EDGEREC_ID_SECRET, `uid:${uid}`);
  const since = Math.floor(Date.now() / 1000) - ageSeconds;
  const sealed = await sealProfile(env, uidHash, encodeState({ profile: null, cart: [], since }));
  return { uid, uidHash, since, cookie: `er_uid=${uid}; er_p=${sealed}` };
}

let products = []; // {sku, url_key} of the stand-in's catalog

beforeAll(async () => {
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
  const h = JSON.parse((await send(new Request(`${SHOP}/edge/health`))).text);
  expect(h.bundle_version).toBe('test-1');
  const r = await fetch(`${ORIGIN}/graphql?${new URLSearchParams({ query: '{ products(search: "", pageSize: 12) { items { sku url_key } } }' })}`);
  products = (await r.json()).data.products.items;
  expect(products.length).toBeGreaterThan(5);
  const sync = await syncCatalog(env, Date.now(), { engine: new Engine(wasm, new Uint8Array(luma)) }); // the units' products
  expect(sync.ok, JSON.stringify(sync.errors)).toBe(true);
}, 60_000);

describe('bots', () => {
  it("a crawler's product view is logged flagged \"bot\"; the same view from a browser or HeadlessChrome is not", async () => {
    const p = products[0];
    for (const [ua, flag] of [[GOOGLEBOT, 'bot'], ['curl/8.5.0', 'bot'], [CHROME, undefined], [HEADLESS, undefined]]) {
      const rec = recording();
      const r = await send(productView(p.url_key, { 'user-agent': ua, 'cf-connecting-ip': address() }), rec.env);
      expect(r.status).toBe(200);
      expect(r.edgerec).toBe('observed; events=view'); // logged either way: the storefront sees no difference
      expect(rec.queued).toHaveLength(1);
      expect(rec.queued[0]).toMatchObject({ type: 'view', item: p.sku });
      expect(rec.queued[0].flag, ua).toBe(flag);
    }
  });

  it('Cloudflare\'s signals flag: a verified bot, a verified-bot category, a bot score in 1..29; a human score does not', async () => {
    const cases = [
      [{ botManagement: { verifiedBot: true, score: 99 } }, 'bot'],
      [{ verifiedBotCategory: 'Search Engine Crawler' }, 'bot'],
      [{ botManagement: { score: 12, verifiedBot: false } }, 'bot'],
      [{ botManagement: { score: 85, verifiedBot: false }, verifiedBotCategory: '' }, undefined],
    ];
    for (const [cf, flag] of cases) {
      const rec = recording();
      const r = await send(events({ type: 'view', item: products[1].sku }, { 'user-agent': CHROME, 'cf-connecting-ip': address() }, cf), rec.env);
      expect(r.status).toBe(202);
      expect(rec.queued.map((e) => e.flag), JSON.stringify(cf)).toEqual([flag]);
    }
    // POST /edge/feedback goes through /edge/events with the request's cf and user agent
    const fb = recording();
    const r = await send(new Request(`${SHOP}/edge/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': CHROME },
      body: JSON.stringify({ item: products[1].sku, thumbs: 'up' }), cf: { botManagement: { verifiedBot: true } } }), fb.env);
    expect(r.status).toBe(202);
    expect(fb.queued).toEqual([expect.objectContaining({ type: 'feedback', flag: 'bot', trust: 'new' })]);
  });
});

describe('unit impressions (GET /edge/recommend) are classified like every other event', () => {
  it("a crawler's units are logged flagged, a browser's clean; both new with a connection key", async () => {
    for (const [ua, flag] of [[GOOGLEBOT, 'bot'], [CHROME, undefined]]) {
      const rec = recording();
      const r = await send(new Request(`${SHOP}/edge/recommend?pageType=Product&sku=${encodeURIComponent(products[0].sku)}`, { headers: { 'user-agent': ua, 'cf-connecting-ip': address() } }), rec.env);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text).totalResults).toBeGreaterThan(0);
      expect(rec.queued.length).toBeGreaterThan(0);
      for (const ev of rec.queued) {
        expect(ev.type).toBe('impression');
        expect(ev.flag).toBe(flag);
        expect(ev.trust).toBe('new');
        expect(ev.conn).toMatch(HEX16);
      }
    }
  });
});

describe('new shoppers and connection keys', () => {
  it('a fresh cookie-less request is trust "new" with the 16-hex connection key of its /24 and ASN in the queue message', async () => {
    const rec = recording();
    const ip = '203.0.113.178';
    const r = await send(productView(products[2].url_key, { 'user-agent': CHROME, 'cf-connecting-ip': ip }, { asn: 64500 }), rec.env);
    expect(r.status).toBe(200);
    const [ev] = rec.queued;
    expect(ev).toMatchObject({ type: 'view', item: products[2].sku, trust: 'new' });
    expect(ev.conn).toMatch(HEX16);
    expect(ev.conn).toBe(await connectionKey(env.EDGEREC_ID_SECRET, { asn: 64500, address: '203.0.113.1', nowMs: Date.now() }));
    expect(ev.flag).toBeUndefined();
    expect(ev.signed_in).toBeUndefined();
    expect(JSON.stringify(rec.queued)).not.toContain('203.0.113'); // the address itself goes nowhere
    // another cookie-less request from the same network: a new id, the same connection key
    const again = recording();
    await send(events({ type: 'view', item: products[3].sku }, { 'cf-connecting-ip': '203.0.113.9' }, { asn: 64500 }), again.env);
    expect(again.queued[0].user).not.toBe(ev.user);
    expect(again.queued[0].conn).toBe(ev.conn);
    const elsewhere = recording();
    await send(events({ type: 'view', item: products[3].sku }, { 'cf-connecting-ip': '203.0.114.9' }, { asn: 64500 }), elsewhere.env);
    expect(elsewhere.queued[0].conn).not.toBe(ev.conn);
  });

  it(`the same shopper ESTABLISHED_AFTER_SECONDS later (a state with an old since) has no trust and no conn`, async () => {
    const old = await shopperAged(601);
    const young = await shopperAged(30);
    for (const [s, trust] of [[old, undefined], [young, 'new']]) {
      const rec = recording();
      const r = await send(events({ type: 'view', item: products[4].sku }, { cookie: s.cookie, 'cf-connecting-ip': address() }), rec.env);
      expect(r.status).toBe(202);
      const [ev] = rec.queued;
      expect(ev.user).toBe(s.uidHash);
      expect(ev.trust).toBe(trust);
      if (trust) expect(ev.conn).toMatch(HEX16); else expect(ev.conn).toBeUndefined();
      // the re-sealed state keeps its since
      const sealed = cookieValue(r.setCookies, 'er_p');
      expect(decodeState(await openProfile(env, s.uidHash, sealed)).since).toBe(s.since);
    }
    // ESTABLISHED_AFTER_SECONDS is a setting: 20 s makes the 30-second-old state established
    const rec = recording({ ESTABLISHED_AFTER_SECONDS: '20' });
    await send(events({ type: 'view', item: products[4].sku }, { cookie: young.cookie }), rec.env);
    expect(rec.queued[0].trust).toBeUndefined();
  });

  it('since is set when a state is first created and kept on every re-seal: cookie, app header and KV copy', async () => {
    const t0 = Math.floor(Date.now() / 1000);
    // a browser: the first view creates the state
    const rec = recording();
    const r1 = await send(productView(products[5].url_key, { 'user-agent': CHROME }), rec.env);
    const uid = cookieValue(r1.setCookies, 'er_uid');
    const uidHash = await hmacId(env.EDGEREC_ID_SECRET, `uid:${uid}`);
    const s1 = decodeState(await openProfile(env, uidHash, cookieValue(r1.setCookies, 'er_p')));
    expect(s1.since).toBeGreaterThanOrEqual(t0);
    expect(s1.since).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    const r2 = await later(120, () => send(productView(products[6].url_key, { 'user-agent': CHROME, cookie: cookieOf(r1.setCookies) }), rec.env));
    const s2 = decodeState(await openProfile(env, uidHash, cookieValue(r2.setCookies, 'er_p')));
    expect(s2.since).toBe(s1.since);
    expect(s2.profile.length).toBeGreaterThan(s1.profile.length); // it did change: two items now
    expect(rec.queued.map((e) => e.trust)).toEqual(['new', 'new']);

    // an app: x-edgerec-profile carries it
    const app = { 'x-edgerec-id': `app-traffic-${crypto.randomUUID()}` };
    const a1 = await send(events({ type: 'view', item: products[1].sku }, app), rec.env);
    const appHash = await hmacId(env.EDGEREC_ID_SECRET, `uid:${app['x-edgerec-id']}`);
    const sa1 = decodeState(await openProfile(env, appHash, a1.headers.get('x-edgerec-profile')));
    const a2 = await later(120, () => send(events({ type: 'cart', item: products[1].sku }, { ...app, 'x-edgerec-profile': a1.headers.get('x-edgerec-profile') }), rec.env));
    const sa2 = decodeState(await openProfile(env, appHash, a2.headers.get('x-edgerec-profile')));
    expect(sa2.since).toBe(sa1.since);
    expect(sa2.cart).toEqual([products[1].sku]);

    // a signed-in customer: the KV copy carries the since of the state it was made from, and is
    // what another device (no er_p cookie) reads: established there too
    const old = await shopperAged(3600);
    const bearer = { authorization: `Bearer traffic-test-token-${crypto.randomUUID()}` };
    const k = recording();
    await send(events({ type: 'view', item: products[2].sku }, { ...bearer, cookie: old.cookie }), k.env);
    expect(k.queued[0]).toMatchObject({ signed_in: true, user: old.uidHash });
    expect(k.queued[0].trust).toBeUndefined();
    const customerKey = await hmacId(env.EDGEREC_ID_SECRET, `customer:${bearer.authorization.slice(7)}`);
    const kv = decodeState(new Uint8Array(await env.EDGEREC.get(`profile:${customerKey}`, 'arrayBuffer')));
    expect(kv.since).toBe(old.since);
    const other = recording();
    await send(events({ type: 'view', item: products[3].sku }, bearer), other.env); // a new device: a new er_uid, the KV state
    expect(other.queued[0].user).not.toBe(old.uidHash);
    expect(other.queued[0]).toMatchObject({ signed_in: true });
    expect(other.queued[0].trust).toBeUndefined();
  });
});

describe('the client cannot set the edge fields', () => {
  it('trust, flag, conn and signed_in sent by a client are removed; the edge sets its own; odd values are not an error', async () => {
    const forged = { trust: 'established', flag: 'clean', conn: '0000000000000000', signed_in: true };
    const rec = recording();
    const r = await send(events([{ type: 'view', item: products[0].sku, ...forged }, { type: 'click', item: products[1].sku, trust: 7, flag: { x: 1 }, signed_in: 'yes' }],
      { 'user-agent': CHROME, 'cf-connecting-ip': address() }), rec.env);
    expect(r.status).toBe(202);
    expect(rec.queued).toHaveLength(2);
    for (const ev of rec.queued) {
      expect(ev.trust).toBe('new');
      expect(ev.conn).toMatch(HEX16);
      expect(ev.conn).not.toBe(forged.conn);
      expect(ev.flag).toBeUndefined();
      expect(ev.signed_in).toBeUndefined();
    }
    // an established shopper claiming to be new, a bot claiming to be clean
    const old = await shopperAged(7200);
    const e2 = recording();
    await send(events({ type: 'view', item: products[0].sku, trust: 'new', conn: 'ffffffffffffffff' }, { cookie: old.cookie }), e2.env);
    expect(e2.queued[0].trust).toBeUndefined();
    expect(e2.queued[0].conn).toBeUndefined();
    const e3 = recording();
    await send(events({ type: 'view', item: products[0].sku, flag: '' }, { 'user-agent': GOOGLEBOT, cookie: old.cookie }), e3.env);
    expect(e3.queued[0].flag).toBe('bot');
  });
});

describe('rate limiting (the real binding, wrangler.toml\'s limit and period)', () => {
  it('a burst over the limit from one connection is flagged "rate-limited" after the first `limit` requests; all are 202; product views count too; an established shopper on that connection has its own key', async () => {
    const limiter = env.TRAFFIC_RATE_LIMIT;
    expect(typeof limiter?.limit).toBe('function');
    const e = { ...env, EVENTS_RATE_LIMIT: limiter };
    const h = JSON.parse((await send(new Request(`${SHOP}/edge/health`), e)).text);
    expect(h.checks.rate_limit).toBe(true);
    const hn = JSON.parse((await send(new Request(`${SHOP}/edge/health`), { ...env, EVENTS_RATE_LIMIT: undefined })).text);
    expect(hn.checks.rate_limit).toBe(false);
    const { limit: LIMIT, period } = JSON.parse(env.TRAFFIC_RATE_LIMIT_SIMPLE); // wrangler.toml's, read by vitest.config.mjs
    const PERIOD_MS = period * 1000;
    // the limiter counts in wall-clock windows: start the burst early enough in one that it fits
    const into = Date.now() % PERIOD_MS;
    if (into > PERIOD_MS - 8_000) await new Promise((ok) => setTimeout(ok, PERIOD_MS - into + 200));
    const t0 = Date.now();

    const ip = address();
    const rec = recording({ EVENTS_RATE_LIMIT: limiter });
    const statuses = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      const r = await send(events({ type: 'view', item: products[i % products.length].sku, id: `burst-${ip}-${i}` }, { 'user-agent': CHROME, 'cf-connecting-ip': ip }), rec.env);
      statuses.push(r.status);
    }
    expect(Math.floor(Date.now() / PERIOD_MS), 'the burst stayed in one window').toBe(Math.floor(t0 / PERIOD_MS));
    expect(new Set(statuses)).toEqual(new Set([202]));
    const flags = rec.queued.map((ev) => ev.flag ?? 'clean');
    expect(flags.slice(0, LIMIT)).toEqual(new Array(LIMIT).fill('clean'));
    expect(flags.slice(LIMIT)).toEqual(new Array(5).fill('rate-limited'));
    expect(rec.queued.every((ev) => ev.trust === 'new')).toBe(true);
    // GraphQL-derived events from that connection are limited too
    const v = recording({ EVENTS_RATE_LIMIT: limiter });
    const pv = await send(productView(products[0].url_key, { 'user-agent': CHROME, 'cf-connecting-ip': ip }), v.env);
    expect(pv.edgerec).toBe('observed; events=view');
    expect(v.queued[0].flag).toBe('rate-limited');
    // …but not another connection, nor an established shopper on it (keyed by the user)
    const other = recording({ EVENTS_RATE_LIMIT: limiter });
    await send(events({ type: 'view', item: products[0].sku }, { 'cf-connecting-ip': address() }), other.env);
    expect(other.queued[0].flag).toBeUndefined();
    const old = await shopperAged(3600);
    const est = recording({ EVENTS_RATE_LIMIT: limiter });
    await send(events({ type: 'view', item: products[0].sku }, { cookie: old.cookie, 'cf-connecting-ip': ip }), est.env);
    expect(est.queued[0].flag).toBeUndefined();
    expect(est.queued[0].trust).toBeUndefined();
  }, 90_000);

  it('a limiter that fails limits nothing and is not an error', async () => {
    const broken = { limit: async () => { throw new Error('limiter down'); } };
    const rec = recording({ EVENTS_RATE_LIMIT: broken });
    const r = await send(events({ type: 'view', item: products[0].sku }, { 'cf-connecting-ip': address() }), rec.env);
    expect(r.status).toBe(202);
    expect(rec.queued).toHaveLength(1);
    expect(rec.queued[0].flag).toBeUndefined();
  });
});

describe('flagged events: logged, marked, and still the shopper\'s own', () => {
  it('a bot-flagged shopper\'s profile still applies every event (product views, posted events)', async () => {
    const rec = recording();
    const headers = { 'user-agent': GOOGLEBOT };
    const r1 = await send(productView(products[7].url_key, headers), rec.env);
    const r2 = await send(events({ type: 'view', item: products[8].sku }, { ...headers, cookie: cookieOf(r1.setCookies) }), rec.env);
    expect(rec.queued.map((e) => e.flag)).toEqual(['bot', 'bot']);
    const jar = new Map();
    for (const c of [...r1.setCookies, ...r2.setCookies]) { const [k, v] = c.split(';')[0].split('='); jar.set(k, v); }
    const p = JSON.parse((await send(new Request(`${SHOP}/edge/profile`, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } }))).text);
    expect(p.stored).toBe(true);
    expect(p.profile.items).toHaveLength(2);
    expect(p.profile.events).toBe(2);
    expect(p.since).toBeGreaterThan(Date.now() / 1000 - 60); // what is stored includes when the state began
  });

  it('the queue consumer writes flagged and new events to R2 marked, and never the connection key', async () => {
    const rec = recording();
    const ip = address();
    await send(productView(products[9].url_key, { 'user-agent': GOOGLEBOT, 'cf-connecting-ip': ip }), rec.env);
    await send(events({ type: 'cart', item: products[9].sku }, { 'user-agent': CHROME, 'cf-connecting-ip': ip }), rec.env);
    expect(rec.queued.every((e) => HEX16.test(e.conn))).toBe(true);
    const ids = new Set(rec.queued.map((e) => e.id));
    const batch = createMessageBatch('edgerec-events', rec.queued.map((body, i) => ({ id: `traffic-${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const written = [];
    let cursor;
    do {
      const l = await env.EDGEREC_EVENTS.list({ prefix: 'events/', cursor });
      for (const o of l.objects) {
        const text = await (await env.EDGEREC_EVENTS.get(o.key)).text();
        const evs = text.split('\n').filter(Boolean).map((x) => JSON.parse(x));
        if (evs.some((ev) => ids.has(ev.id))) { written.push(...evs.filter((ev) => ids.has(ev.id))); expect(text).not.toContain('"conn"'); }
      }
      cursor = l.truncated ? l.cursor : undefined;
    } while (cursor);
    expect(written).toHaveLength(2);
    const byType = Object.fromEntries(written.map((ev) => [ev.type, ev]));
    expect(byType.view).toMatchObject({ flag: 'bot', trust: 'new' });
    expect(byType.cart).toMatchObject({ trust: 'new' });
    expect(byType.cart.flag).toBeUndefined();
    for (const ev of written) expect(ev.conn).toBeUndefined();
  });
});

describe('/edge/health', () => {
  it('shows whether the rate limiter is bound and the ESTABLISHED_AFTER_SECONDS in force, naming a bad value', async () => {
    const h = JSON.parse((await send(new Request(`${SHOP}/edge/health`), { ...env, EVENTS_RATE_LIMIT: env.TRAFFIC_RATE_LIMIT })).text);
    expect(h.checks.rate_limit).toBe(true);
    expect(JSON.parse((await send(new Request(`${SHOP}/edge/health`))).text).checks.rate_limit).toBe(false); // none: setup-env.mjs
    expect(h.traffic).toEqual({ established_after_seconds: 600, problem: null });
    const bad = JSON.parse((await send(new Request(`${SHOP}/edge/health`), { ...env, ESTABLISHED_AFTER_SECONDS: 'ten minutes' })).text);
    expect(bad.traffic.established_after_seconds).toBe(600);
    expect(bad.traffic.problem).toMatch(/^ESTABLISHED_AFTER_SECONDS must be an integer number of seconds/);
    expect(bad.ok).toBe(h.ok); // a tuning value falls back; it does not make the edge unhealthy
  });
});
