// crosssite.test.mjs — issue 17's cross-site rule, app proof of possession and cookie key ring, INSIDE
// workerd: core/request-site.js on its own, then the real Worker (worker-shim/cloudflare/worker.js)
// with wrangler.toml's bindings — the shopper routes refused to other sites' pages (403 naming why) and
// kept for the store's pages, CORS_ORIGINS, apps and servers; /graphql from another site answered by
// the origin with nothing recorded; GET|DELETE /edge/profile for an app id only with proof (the install
// key of POST /edge/profile/key, or the sealed profile before one is registered); a rotated cookie key
// (EDGEREC_COOKIE_KEY_PREVIOUS) keeps every profile; erasure evicts the isolate's memo of plaintexts.
// The browser side of the same (headless Chromium, other origins' pages) is tests/e2e/crosssite-e2e.mjs.
import { describe, it, expect, beforeAll, afterEach, vi } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import { siteRefusal, refuseCrossSite } from '../../worker-shim/core/request-site.js';
import { appKeyMatches, newAppKey, parseAppKey } from '../../worker-shim/core/app-key.js';
import { erasureIds, openProfile, sealProfile, stripEdgerecCookies } from '../../worker-shim/core/identity.js';
import { ALLOWED_HEADERS } from '../../worker-shim/core/cors.js';
import { BOILERPLATE } from '../lib/adobe-queries.mjs';
import luma from '../../build/workerd/luma.erb';

const SHOP = 'https://shop.example';
const EVIL = 'https://evil.example';
const SISTER = 'https://user-content.shop.example';
const LISTED = 'https://www.shop-storefront.example';
const E = { ...env, CORS_ORIGINS: LISTED };
const HEX64 = /^[0-9a-f]{64}$/;
const EV = JSON.stringify({ type: 'view', item: 'MH01' });
let n = 0;
const nonce = () => `${Date.now().toString(36)}-${(n++).toString(36)}`;

afterEach(() => vi.restoreAllMocks());
// the engine (profiles are the engine's): the test bundle, in KV before this isolate's first request
beforeAll(async () => {
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
});

async function send(request, e = E) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json, headers: res.headers, setCookies: res.headers.getSetCookie?.() ?? [] };
}
const req = (path, { method = 'GET', headers = {}, body } = {}) => new Request(SHOP + path, { method, headers, body });
const browser = (site, origin) => ({ 'sec-fetch-site': site, ...(origin ? { origin } : {}) });

describe('core/request-site.js: the rule', () => {
  const allowed = new Set([LISTED]);
  const refused = (headers, { method = 'POST', url = `${SHOP}/edge/events`, navigation } = {}) =>
    siteRefusal(new Request(url, { method, headers, body: method === 'POST' ? '{}' : undefined }), allowed, { navigation });

  it('Sec-Fetch-Site same-origin and none are allowed; same-site and cross-site only from CORS_ORIGINS', () => {
    expect(refused(browser('same-origin', SHOP))).toBeNull();
    expect(refused(browser('none'))).toBeNull();
    expect(refused(browser('cross-site', LISTED))).toBeNull();
    expect(refused(browser('same-site', LISTED.toUpperCase()))).toBeNull(); // origins compare case-insensitively
    const x = refused(browser('cross-site', EVIL));
    expect(x).toMatchObject({ site: 'cross-site', origin: EVIL });
    expect(x.error).toMatch(/^cross-site request refused: a cross-site request \(Sec-Fetch-Site: cross-site\) from Origin https:\/\/evil\.example;/);
    expect(refused(browser('same-site', SISTER))).toMatchObject({ site: 'same-site', origin: SISTER });
    // a no-cors GET (an <img>) sends no Origin: refused all the same
    expect(refused(browser('same-site'), { method: 'GET' }).error).toMatch(/from a page that sent no Origin/);
    expect(refused({ 'sec-fetch-site': 'sideways' }).error).toMatch(/Sec-Fetch-Site "sideways" is not one a browser sends/);
  });

  it('top-level GET navigations pass only where asked (GET /edge/profile), never for other methods or subresources', () => {
    const nav = { ...browser('cross-site'), 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    expect(refused(nav, { method: 'GET', navigation: true })).toBeNull();
    expect(refused(nav, { method: 'GET' })).not.toBeNull();
    expect(refused(nav, { method: 'POST', navigation: true })).not.toBeNull(); // a form POST navigates too
    expect(refused({ ...nav, 'sec-fetch-dest': 'iframe' }, { method: 'GET', navigation: true })).not.toBeNull();
    expect(refused({ ...browser('cross-site'), 'sec-fetch-mode': 'no-cors' }, { method: 'GET', navigation: true })).not.toBeNull();
  });

  it('without Sec-Fetch-Site: an Origin must be the store\'s own or listed; no Origin at all (apps, curl, servers) passes', () => {
    expect(refused({ origin: SHOP })).toBeNull();
    expect(refused({ origin: LISTED })).toBeNull();
    expect(refused({ origin: EVIL })).toMatchObject({ site: 'cross-origin', origin: EVIL });
    expect(refused({ origin: 'null' })).toMatchObject({ site: 'cross-origin', origin: 'null' }); // sandboxed frames, data: URLs
    expect(refused({})).toBeNull();
    expect(refused({ 'x-edgerec-id': 'app-install-0001' })).toBeNull();
  });

  it('refuseCrossSite: 403 JSON {error, site}, not stored; the GraphQL form for /graphql; null when allowed', async () => {
    const r = refuseCrossSite(new Request(`${SHOP}/edge/events`, { method: 'POST', headers: browser('cross-site', EVIL), body: EV }), new Set());
    expect(r.status).toBe(403);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await r.json()).toMatchObject({ site: 'cross-site', error: expect.stringContaining(EVIL) });
    const g = refuseCrossSite(new Request(`${SHOP}/graphql`, { headers: browser('same-site', SISTER) }), new Set(), { graphql: true });
    expect((await g.json()).errors[0]).toMatchObject({ message: expect.stringContaining(SISTER), extensions: { category: 'edgerec-cross-site' } });
    expect(refuseCrossSite(new Request(`${SHOP}/edge/events`, { method: 'POST', headers: browser('same-origin'), body: EV }), new Set())).toBeNull();
  });
});

describe('the Worker: shopper routes and other sites\' pages', () => {
  it('POST /edge/events and /edge/feedback: refused from other sites (403, nothing queued or set), accepted from the store, CORS_ORIGINS and apps', async () => {
    const queued = [];
    const rec = { ...E, EVENTS: { send: async (m) => { queued.push(m); }, sendBatch: async (ms) => { queued.push(...ms); } } };
    for (const h of [browser('cross-site', EVIL), browser('same-site', SISTER), browser('same-site'), { origin: EVIL }, { origin: 'null' }]) {
      for (const [path, body] of [['/edge/events', EV], ['/edge/feedback', JSON.stringify({ item: 'MH01', thumbs: 'down' })]]) {
        const r = await send(req(path, { method: 'POST', headers: { 'content-type': 'text/plain', ...h }, body }), rec);
        expect(r.status, `${path} ${JSON.stringify(h)}`).toBe(403);
        expect(r.json.error).toMatch(/^cross-site request refused: /);
        expect(r.setCookies).toEqual([]); // not even a new shopper id
      }
    }
    expect(queued).toEqual([]);
    for (const h of [browser('same-origin', SHOP), browser('cross-site', LISTED), { origin: SHOP }, {}, { 'x-edgerec-id': `app-${nonce()}` }]) {
      const r = await send(req('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: EV }), rec);
      expect(r.status, JSON.stringify(h)).toBe(202);
      expect(r.json).toEqual({ accepted: 1 });
    }
  });

  it('GET /edge/recommend and GET /edge/profile from another site\'s subresource: 403; a navigation to /edge/profile: the shopper\'s own page', async () => {
    const img = { ...browser('same-site'), 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' };
    expect((await send(req('/edge/recommend?pageType=Product&sku=MH01', { headers: img }))).status).toBe(403);
    expect((await send(req('/edge/profile', { headers: { ...img, 'sec-fetch-dest': 'script' } }))).status).toBe(403);
    expect((await send(req('/edge/profile', { method: 'DELETE', headers: browser('cross-site', EVIL) }))).status).toBe(403);
    const nav = await send(req('/edge/profile', { headers: { ...browser('cross-site'), 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } }));
    expect(nav.status).toBe(200);
    expect(nav.json).toMatchObject({ stored: false, id: expect.stringMatching(HEX64) });
    // the survey tools' webhook is a server (its token authenticates it): not a shopper route
    expect((await send(req('/edge/feedback/survey', { method: 'POST', headers: browser('cross-site', EVIL), body: '[]' }))).status).not.toBe(403);
  });

  it('/graphql from another site: the origin\'s bytes, x-edgerec bypass; reason=cross-site, nothing recorded; a recommendations document: 403 (GraphQL error)', async () => {
    const queued = [];
    const rec = { ...E, EVENTS: { send: async (m) => { queued.push(m); }, sendBatch: async (ms) => { queued.push(...ms); } } };
    const q = `/graphql?query=${encodeURIComponent(`{ products(filter: { url_key: { eq: "joust-duffle-bag" } }) { items { sku name } } } # ${nonce()}`)}`;
    const direct = await (await fetch(`http://magento.test${q}`)).text();
    const nav = { ...browser('cross-site'), 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    const x = await send(req(q, { headers: nav }), rec);
    expect(x.status).toBe(200);
    expect(x.text).toBe(direct);
    expect(x.headers.get('x-edgerec')).toBe('bypass; reason=cross-site');
    expect(x.setCookies).toEqual([]);
    expect(queued).toEqual([]); // nothing recorded for the shopper
    const own = await send(req(q, { headers: browser('same-origin') }), rec);
    expect(own.headers.get('x-edgerec')).toBe('observed; events=view');
    expect(queued.length).toBeGreaterThan(0); // the store's own page is recorded
    const recs = new URLSearchParams({ query: BOILERPLATE, variables: JSON.stringify({ pageType: 'CMS' }), operationName: 'GetRecommendations' });
    const d = await send(req(`/graphql?${recs}`, { headers: browser('same-site', SISTER) }));
    expect(d.status).toBe(403);
    expect(d.json.errors[0].extensions.category).toBe('edgerec-cross-site');
    const ok = await send(req(`/graphql?${recs}`, { headers: browser('cross-site', LISTED) }));
    expect(ok.status).toBe(200);
    expect(ok.json.data ?? ok.json.errors).toBeTruthy();
  });
});

describe('apps: proof of possession for GET and DELETE /edge/profile', () => {
  const app = () => `app-${nonce()}-install`;
  const profile = (id, extra = {}, e = E) => send(req('/edge/profile', { headers: { 'x-edgerec-id': id, ...extra } }), e);
  const erase = (id, extra = {}, e = E) => send(req('/edge/profile', { method: 'DELETE', headers: { 'x-edgerec-id': id, ...extra } }), e);
  const register = (id, e = E) => send(req('/edge/profile/key', { method: 'POST', headers: { 'x-edgerec-id': id } }), e);

  it('core/app-key.js: bound to the id and the nonce, the format strict', async () => {
    const s = env.EDGEREC_ID_SECRET;
    const { key, nonce: nc } = await newAppKey(s, 'a'.repeat(64));
    expect(key).toMatch(/^k1\.[A-Za-z0-9_-]{22}\.[0-9a-f]{64}$/);
    expect(parseAppKey(` ${key} `)).toEqual({ nonce: nc, mac: key.slice(-64) });
    expect(await appKeyMatches(s, 'a'.repeat(64), key, nc)).toBe(true);
    expect(await appKeyMatches(s, 'b'.repeat(64), key, nc)).toBe(false); // another id
    expect(await appKeyMatches(s, 'a'.repeat(64), key, 'x'.repeat(22))).toBe(false); // another registration
    expect(await appKeyMatches(s, 'a'.repeat(64), key.slice(0, -1) + (key.endsWith('0') ? '1' : '0'), nc)).toBe(false);
    expect(await appKeyMatches(`${s}-other`, 'a'.repeat(64), key, nc)).toBe(false);
    for (const bad of ['', 'k1..', `k2.${key.slice(3)}`, key.toUpperCase(), null, 42]) expect(parseAppKey(bad)).toBeNull();
  });

  it('an app id alone reads and erases nothing (403 naming the proof); the install key does; the erasure drops the key', async () => {
    const id = app();
    await send(req('/edge/events', { method: 'POST', headers: { 'x-edgerec-id': id, 'content-type': 'application/json' }, body: EV }));
    const { uidHash } = await erasureIds(req('/', { headers: { 'x-edgerec-id': id } }), E);
    for (const r of [await profile(id), await erase(id)]) {
      expect(r.status).toBe(403);
      expect(r.json.error).toMatch(/proof of possession required for an app id: send x-edgerec-key \(POST \/edge\/profile\/key issues it\) or the app's sealed profile in x-edgerec-profile/);
    }
    expect(await env.EDGEREC.get(`tombstone:${uidHash}`)).toBeNull();

    const k = await register(id);
    expect(k.status).toBe(201);
    expect(k.json).toMatchObject({ key: expect.stringMatching(/^k1\./), id: uidHash, header: 'x-edgerec-key' });
    expect(k.headers.get('cache-control')).toBe('no-store');
    const again = await register(id);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already has a key/);
    const stored = await env.EDGEREC.get(`appkey:${uidHash}`);
    expect(stored).not.toContain(k.json.key.slice(-64)); // the record holds the nonce, never the key
    expect(stored).not.toContain(id);

    // once a key is registered, nothing else will do
    expect((await profile(id)).json.error).toMatch(/has an install key: send it in x-edgerec-key/);
    const other = (await register(app())).json.key; // another install's key
    expect((await erase(id, { 'x-edgerec-key': other })).status).toBe(403);
    const g = await profile(id, { 'x-edgerec-key': k.json.key });
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({ id: uidHash });
    const d = await erase(id, { 'x-edgerec-key': k.json.key });
    expect(d.status).toBe(200);
    expect(d.json).toEqual({ erased: true, tombstones: 1 });
    expect(await env.EDGEREC.get(`tombstone:${uidHash}`)).toMatch(/^\d+$/);
    expect(await env.EDGEREC.get(`appkey:${uidHash}`)).toBeNull();
  });

  it('before a key is registered, the app\'s sealed profile proves it (and only its own id\'s)', async () => {
    const id = app(), stranger = app();
    const r = await send(req('/edge/events', { method: 'POST', headers: { 'x-edgerec-id': id, 'content-type': 'application/json' }, body: EV }));
    const sealed = r.headers.get('x-edgerec-profile');
    expect(sealed).toBeTruthy();
    const g = await profile(id, { 'x-edgerec-profile': sealed });
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({ stored: true });
    expect((await profile(stranger, { 'x-edgerec-profile': sealed })).status).toBe(403); // bound to its id
    expect((await erase(id, { 'x-edgerec-profile': sealed.slice(0, -2) + 'AA' })).status).toBe(403);
    expect((await erase(id, { 'x-edgerec-profile': sealed })).json).toEqual({ erased: true, tombstones: 1 });
  });

  it('GPC keeps its meaning: an opted-out app with its key erases, reads "not stored"; browsers need no key', async () => {
    const id = app();
    const key = (await register(id)).json.key;
    const g = await profile(id, { 'x-edgerec-key': key, 'sec-gpc': '1' });
    expect(g.json).toEqual({ stored: false, reason: 'gpc' });
    expect((await erase(id, { 'x-edgerec-key': key, 'sec-gpc': '1' })).json).toEqual({ erased: true, tombstones: 1 });
    const b = await send(req('/edge/profile', { method: 'DELETE', headers: { cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA' } }));
    expect(b.json).toEqual({ erased: true, tombstones: 1 });
    expect((await send(req('/edge/profile/key', { method: 'POST' }))).status).toBe(400); // no app id
    expect((await send(req('/edge/profile/key'))).status).toBe(405);
  });

  it('KV down: 503 (try again), never an erasure without proof', async () => {
    const id = app();
    const broken = { ...E, EDGEREC: { ...env.EDGEREC, get: async () => { throw new Error('KV down'); }, put: env.EDGEREC.put.bind(env.EDGEREC), delete: env.EDGEREC.delete.bind(env.EDGEREC) } };
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect((await erase(id, {}, broken)).status).toBe(503);
    expect((await register(id, broken)).status).toBe(503);
  });

  it('the key never reaches the origin, and a storefront on a listed origin may send it (CORS)', () => {
    const h = stripEdgerecCookies({ 'x-edgerec-key': 'k1.x.y', 'x-edgerec-id': 'app-install-0001', accept: '*/*' });
    expect([...h.keys()]).toEqual(['accept']);
    expect(ALLOWED_HEADERS).toContain('x-edgerec-key');
  });
});

describe('the cookie key ring through the Worker, and erasure evicts the memo', () => {
  const keyB64 = (seed) => btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 53 + seed) & 255)));
  const OLD = { ...E, EDGEREC_COOKIE_KEY: keyB64(101) };
  const NEW = { ...E, EDGEREC_COOKIE_KEY: keyB64(202), EDGEREC_COOKIE_KEY_PREVIOUS: keyB64(101) };
  const ONLY_NEW = { ...E, EDGEREC_COOKIE_KEY: keyB64(202) };
  const cookieOf = (setCookies, name) => setCookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0].slice(name.length + 1);

  it('rotation: a profile sealed under the old key is still the shopper\'s; the next write seals it under the new one', async () => {
    const first = await send(req('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: EV }), OLD);
    const uid = cookieOf(first.setCookies, 'er_uid'), p0 = cookieOf(first.setCookies, 'er_p');
    expect(p0).toBeTruthy();
    const jar = (p) => `er_uid=${uid}; er_p=${p}`;
    expect((await send(req('/edge/profile', { headers: { cookie: jar(p0) } }), ONLY_NEW)).json.stored).toBe(false); // without the ring: lost
    const g = await send(req('/edge/profile', { headers: { cookie: jar(p0) } }), NEW);
    expect(g.json).toMatchObject({ stored: true, profile: { events: 1 } });
    const next = await send(req('/edge/events', { method: 'POST', headers: { cookie: jar(p0), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'view', item: 'MH02' }) }), NEW);
    const p1 = cookieOf(next.setCookies, 'er_p');
    const after = await send(req('/edge/profile', { headers: { cookie: jar(p1) } }), ONLY_NEW); // the old key may now go
    expect(after.json).toMatchObject({ stored: true, profile: { events: 2 } });
  });

  it('a malformed EDGEREC_COOKIE_KEY_PREVIOUS: the edge bypasses with reason=config and /edge/health names the variable', async () => {
    const bad = { ...E, EDGEREC_COOKIE_KEY_PREVIOUS: 'not-a-key' };
    const h = await send(req('/edge/health'), bad);
    expect(h.json.config_error).toBe('EDGEREC_COOKIE_KEY_PREVIOUS');
    const r = await send(req('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: EV }), bad);
    expect(r.status).toBe(503);
  });

  it('DELETE /edge/profile evicts what this isolate memoized: the old er_p is decrypted and the uid hashed afresh', async () => {
    const first = await send(req('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: EV }));
    const uid = cookieOf(first.setCookies, 'er_uid'), p = cookieOf(first.setCookies, 'er_p');
    const { uidHash } = await erasureIds(req('/', { headers: { cookie: `er_uid=${uid}` } }), E);
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    expect(await openProfile(E, uidHash, p)).not.toBeNull();
    expect(decrypt).not.toHaveBeenCalled(); // sealed here: served from the memo
    const d = await send(req('/edge/profile', { method: 'DELETE', headers: { cookie: `er_uid=${uid}; er_p=${p}` } }));
    expect(d.json).toEqual({ erased: true, tombstones: 1 });
    expect(await openProfile(E, uidHash, p)).not.toBeNull();
    expect(decrypt).toHaveBeenCalledTimes(1); // no plaintext was left in memory
    const sign = vi.spyOn(crypto.subtle, 'sign');
    expect((await erasureIds(req('/', { headers: { cookie: `er_uid=${uid}` } }), E)).uidHash).toBe(uidHash);
    expect(sign).toHaveBeenCalledTimes(1); // nor the raw uid: its hash is computed afresh
  });

  it('a signed-in customer\'s erasure evicts the trailing messages\' sealed states too', async () => {
    const token = `standin-crosssite-${nonce().replace(/[^a-z0-9]/g, '')}`;
    const ids = await erasureIds(req('/', { headers: { authorization: `Bearer ${token}` } }), E);
    const sealed = await sealProfile(E, `customer:${ids.customerKey}`, new Uint8Array([1, 2, 3]));
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    await openProfile(E, `customer:${ids.customerKey}`, sealed);
    expect(decrypt).not.toHaveBeenCalled();
    expect((await send(req('/edge/profile', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } }))).json).toMatchObject({ erased: true });
    await openProfile(E, `customer:${ids.customerKey}`, sealed);
    expect(decrypt).toHaveBeenCalledTimes(1);
  });
});
