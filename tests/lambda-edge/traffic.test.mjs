// traffic.test.mjs — the traffic classes on Lambda@Edge (worker-shim/lambda-edge/handler.mjs over
// core/traffic.js, docs/anti-gaming.md "At the edge"): the handler from source with an injected
// Runtime (the packaged bundle, secrets, a capturing sink) and CloudFront events in the documented
// shape.  Crawlers are flagged "bot", new shoppers are trust "new" without a connection key (the
// sink stores what it gets), a state's `since` survives re-sealing, client-sent edge fields are
// removed, a signed-in request is marked, and nothing is ever flagged "rate-limited" (no limiter).
//
//   node --test tests/lambda-edge/traffic.test.mjs      (tests/suites/lambda.sh)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as F from './fixtures.mjs';
import { createHandler } from '../../worker-shim/lambda-edge/handler.mjs';
import { hmacId, openProfile, sealProfile } from '../../worker-shim/core/identity.js';
import { decodeState, encodeState } from '../../worker-shim/core/state.js';

const ID_SECRET = 'lambda-traffic-id-secret-0123456789abcdefghijk';
const COOKIE_KEY = randomBytes(32).toString('base64');
const ENV = { EDGEREC_ID_SECRET: ID_SECRET, EDGEREC_COOKIE_KEY: COOKIE_KEY };
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const ADD_TO_CART = 'mutation AddProductToCart($cartId: String!, $product: CartItemInput!) { addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id } } }';

let handler, sku;
const sunk = [];

before(() => {
  F.ensureFixtures();
  handler = createHandler({
    config: { trigger: 'viewer' },
    module: new WebAssembly.Module(readFileSync(join(F.ROOT, 'wasm/edgerec.wasm'))),
    fallbackBundle: new Uint8Array(readFileSync(F.BUNDLE)),
    secrets: async () => ({ idSecret: ID_SECRET, cookieKey: COOKIE_KEY }),
    sink: (events) => { sunk.push(...structuredClone(events)); },
    ops: () => {},
    log: { error: () => {} },
  });
  sku = JSON.parse(readFileSync(F.CATALOG, 'utf8')).items?.[0]?.sku ?? 'MH01';
});

/** POST /edge/events as a viewer-request event; {status, headers: {name: value[]}, json, events}. */
async function postEvents(body, headers = {}, clientIp = '203.0.113.178') {
  const n = sunk.length;
  const r = await handler(F.cfEvent({ method: 'POST', uri: '/edge/events', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), clientIp }), F.lambdaContext());
  const h = {};
  for (const [k, vs] of Object.entries(r.headers ?? {})) h[k] = vs.map((v) => v.value);
  return { status: Number(r.status), headers: h, json: JSON.parse(r.body ?? 'null'), events: sunk.slice(n) };
}
const cookieValue = (setCookies = [], name) => setCookies.map((c) => c.split(';')[0]).find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);

async function shopperAged(ageSeconds) {
  const uid = randomBytes(16).toString('base64url');
  const uidHash = await hmacId(ID_SECRET, `uid:${uid}`);
  const since = Math.floor(Date.now() / 1000) - ageSeconds;
  return { uid, uidHash, since, cookie: `er_uid=${uid}; er_p=${await sealProfile(ENV, uidHash, encodeState({ profile: null, cart: [], since }))}` };
}

describe('traffic classes on Lambda@Edge', () => {
  it('a crawler is flagged "bot"; a browser is not; a new shopper is trust "new" with no connection key; never "rate-limited"', async () => {
    const bot = await postEvents({ type: 'view', item: sku }, { 'user-agent': GOOGLEBOT });
    assert.equal(bot.status, 202);
    assert.equal(bot.events.length, 1);
    assert.equal(bot.events[0].flag, 'bot');
    for (let i = 0; i < 30; i++) { // a burst: nothing to limit it with here (docs/anti-gaming.md)
      const r = await postEvents({ type: 'view', item: sku }, { 'user-agent': CHROME });
      assert.equal(r.status, 202);
      assert.equal(r.events[0].trust, 'new');
      assert.equal(r.events[0].flag, undefined);
      assert.equal('conn' in r.events[0], false, 'the sink stores what it gets: no connection key');
      assert.equal(r.events[0].signed_in, undefined);
    }
    assert.ok(!JSON.stringify(sunk).includes('203.0.113'), 'the client address is in no event');
  });

  it('since is created with the state and kept on re-seal; an old state is established; client-sent edge fields are removed', async () => {
    const r1 = await postEvents({ type: 'view', item: sku }, { 'user-agent': CHROME });
    const set1 = r1.headers['set-cookie'];
    const uid = cookieValue(set1, 'er_uid');
    const uidHash = await hmacId(ID_SECRET, `uid:${uid}`);
    const s1 = decodeState(await openProfile(ENV, uidHash, cookieValue(set1, 'er_p')));
    assert.ok(Math.abs(s1.since - Date.now() / 1000) < 5, `since ${s1.since}`);
    const r2 = await postEvents({ type: 'cart', item: sku, trust: 'established', flag: 'clean', conn: 'ffffffffffffffff', signed_in: true },
      { 'user-agent': CHROME, cookie: `er_uid=${uid}; er_p=${cookieValue(set1, 'er_p')}` });
    const s2 = decodeState(await openProfile(ENV, uidHash, cookieValue(r2.headers['set-cookie'], 'er_p')));
    assert.equal(s2.since, s1.since);
    assert.deepEqual(s2.cart, [sku]);
    const shown = await handler(F.cfEvent({ uri: '/edge/profile', headers: { cookie: `er_uid=${uid}; er_p=${cookieValue(r2.headers['set-cookie'], 'er_p')}` } }), F.lambdaContext());
    assert.equal(JSON.parse(shown.body).since, s1.since, 'GET /edge/profile shows it');
    const [ev] = r2.events;
    assert.equal(ev.trust, 'new');
    assert.equal(ev.flag, undefined);
    assert.equal(ev.conn, undefined);
    assert.equal(ev.signed_in, undefined);

    const old = await shopperAged(3600);
    const r3 = await postEvents({ type: 'view', item: sku, trust: 'new' }, { 'user-agent': CHROME, cookie: old.cookie, authorization: `Bearer lambda-traffic-token-${Date.now()}` });
    assert.equal(r3.events[0].user, old.uidHash);
    assert.equal(r3.events[0].trust, undefined);
    assert.equal(r3.events[0].signed_in, true);
  });

  it("an add-to-cart mutation (stepped aside to Magento) is logged with the shopper's own trust class", async () => {
    const old = await shopperAged(7200);
    const young = await shopperAged(60);
    for (const [s, trust] of [[old, undefined], [young, 'new']]) {
      const n = sunk.length;
      const body = JSON.stringify({ query: ADD_TO_CART, operationName: 'AddProductToCart', variables: { cartId: 'c1', product: { sku, quantity: 1 } } });
      const out = await handler(F.cfEvent({ method: 'POST', uri: '/graphql', headers: { 'content-type': 'application/json', 'user-agent': CHROME, cookie: s.cookie }, body }), F.lambdaContext());
      assert.equal(out.uri, '/graphql', 'the mutation goes on to Magento');
      const evs = sunk.slice(n);
      assert.deepEqual(evs.map((e) => [e.type, e.item, e.user]), [['cart', sku, s.uidHash]]);
      assert.equal(evs[0].trust, trust);
    }
  });
});
