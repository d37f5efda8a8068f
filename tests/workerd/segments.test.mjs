// segments.test.mjs — pilots scoped to a segment and the kill switch, INSIDE workerd, through the real
// Worker in front of the Magento stand-in (see lifecycle.test.mjs for how the loop is driven):
// * bad segment definitions are refused by the admin API with a message naming the key / value;
// * a rollout limited to a segment: inside, the arms split as assignArm says for the manifest; outside,
//   never the canary and no run on any event, so the run's shoppers — what the guardrail judges —
//   are the segment's alone;
// * a scope (personalization as a whole): outside shoppers get the origin's bytes (x-edgerec: bypass;
//   reason=out-of-scope) and non-personal units, and their events carry no arm / run (counted nowhere);
// * membership is fixed at the first exposure: a guest who signs in stays where they were;
// * pause / resume: origin order and non-personal units for everyone, within one manifest refresh.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import { REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { readManifest } from '../../worker-shim/cloudflare/lifecycle.js';
import { assignArm } from '../../worker-shim/core/arms.js';
import { armStats } from '../../worker-shim/cloudflare/kpi.js';
import { runGuardrail } from '../../worker-shim/cloudflare/cron.js';
import { recordingEnv } from './recording-env.mjs';
import lumaV1 from '../../build/workerd/luma.erb';
import lumaV3 from '../../build/workerd/luma-v3.erb';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const TOKEN = 'workerd-test-admin-token';
const dec = new TextDecoder();

const realNow = Date.now.bind(Date);
let offset = Date.UTC(2031, 5, 1, 0, 0) - realNow();
const goLive = () => { offset += REFRESH_MS + 1000; }; // past the Worker's manifest cache
beforeAll(() => { vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset); });
afterAll(() => vi.restoreAllMocks());

async function send(request, e) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const bytes = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: dec.decode(bytes), edgerec: res.headers.get('x-edgerec'), setCookies: res.headers.getSetCookie() };
}

async function admin(method, path, body, e = env, token = TOKEN) {
  const headers = { authorization: `Bearer ${token}` };
  let b;
  if (body instanceof ArrayBuffer) { b = body.slice(0); headers['content-type'] = 'application/octet-stream'; }
  else if (body !== undefined) { b = JSON.stringify(body); headers['content-type'] = 'application/json'; }
  const r = await send(new Request(`${SHOP}/edge/admin/${path}`, { method, headers, body: b }), e);
  let json = null;
  try { json = JSON.parse(r.text); } catch { /* not JSON */ }
  return { ...r, json };
}

async function flush(queued, e) {
  let n = 0;
  while (queued.length) {
    const bodies = queued.splice(0, 100);
    const batch = createMessageBatch('edgerec-events', bodies.map((body, i) => ({ id: `s-${n}-${i}`, timestamp: new Date(Date.now()), attempts: 1, body })));
    const ctx = createExecutionContext();
    await worker.queue(batch, e, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    n++;
  }
}

const GET_CATEGORIES = `query GetCategories($uid: String!, $pageSize: Int!, $currentPage: Int!, $filters: ProductAttributeFilterInput!, $sort: ProductAttributeSortInput) {
  categories(filters: { category_uid: { in: [$uid] } }) { items { uid meta_title } }
  products(pageSize: $pageSize, currentPage: $currentPage, filter: $filters, sort: $sort) {
    items { id uid name sku url_key stock_status __typename } page_info { total_pages } total_count
  }
}`;
let listing = null; // a listing's path on the storefront (the first top-level category)
async function listingPath() {
  if (listing) return listing;
  const r = await fetch(`${ORIGIN}/graphql?${new URLSearchParams({ query: '{ categoryList { uid url_path children { uid url_path } } }' })}`, { headers: { 'x-test-direct': '1' } });
  const tree = JSON.parse(await r.text()).data.categoryList;
  const men = tree.flatMap((c) => [c, ...(c.children ?? [])]).find((c) => c.url_path === 'men');
  expect(men, 'the stand-in has a "men" category').toBeTruthy();
  const uid = men.uid;
  listing = `/graphql?${new URLSearchParams({ query: GET_CATEGORIES, operationName: 'GetCategories',
    variables: JSON.stringify({ currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 40, sort: { position: 'ASC' } }) })}`;
  return listing;
}
const originText = async (path) => (await fetch(ORIGIN + path, { headers: { 'x-test-direct': '1' } })).text();

class Browser {
  constructor(headers = {}, cf = undefined) { this.jar = new Map(); this.headers = headers; this.cf = cf; }
  async send(path, e, init = {}) {
    const headers = { ...this.headers, ...(init.headers ?? {}) };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await send(new Request(SHOP + path, { ...init, headers, cf: this.cf }), e);
    for (const sc of r.setCookies) {
      const pair = sc.split(';')[0], eq = pair.indexOf('=');
      if (/;\s*max-age=0\b/i.test(sc)) this.jar.delete(pair.slice(0, eq)); else this.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return r;
  }
}
const armOf = (h) => /; arm=(holdout|control|canary)$/.exec(h ?? '')?.[1] ?? null;
/** The pseudonymous user of the events a request queued (they all carry the same one). */
const userOf = (queuedSlice) => queuedSlice.find((m) => m.user)?.user ?? null;
const events = (queued) => queued.flatMap((m) => (Array.isArray(m) ? m : [m]));

/** test-1 active, no canary, no scope, not paused (each test starts from here). */
async function reset() {
  let m = await readManifest(env.DB);
  for (const [v, bytes] of [['test-1', lumaV1], ['test-3', lumaV3]]) {
    const r = await admin('PUT', `bundles/${v}`, bytes);
    expect([200, 201], r.text).toContain(r.status);
  }
  if (m.active !== 'test-1') {
    expect((await admin('POST', 'rollout', { canary: 'test-1', percent: 100 })).status).toBe(200);
    expect((await admin('POST', 'promote')).status).toBe(200);
  }
  m = await readManifest(env.DB);
  if (m.canary) expect((await admin('POST', 'rollback')).status).toBe(200);
  if (m.scope) expect((await admin('PUT', 'scope', { scope: null })).status).toBe(200);
  if (m.paused) expect((await admin('POST', 'resume')).status).toBe(200);
  goLive();
}

describe('segments', () => {
  beforeAll(async () => {
    await reset();
    await listingPath();
  });

  it('bad segment definitions are refused with a message naming the key or value', async () => {
    const cases = [
      [{ planet: ['mars'] }, /unknown key "planet"/],
      [{ channel: ['fax'] }, /segment\.channel: unknown value "fax"/],
      [{ country: ['de'] }, /segment\.country: unknown value "de".*alpha-2/],
      [{ group: 'guest' }, /segment\.group: must be a non-empty array/],
      [{ store: [] }, /segment\.store: must be a non-empty array/],
      [{ store: ['de fr'] }, /segment\.store: unknown value "de fr"/],
      [['store'], /segment: must be an object/],
    ];
    const before = (await readManifest(env.DB)).revision;
    for (const [segment, want] of cases) {
      const r = await admin('POST', 'rollout', { canary: 'test-3', percent: 50, segment });
      expect(r.status, JSON.stringify(segment)).toBe(400);
      expect(r.json.error).toMatch(want);
    }
    const s = await admin('PUT', 'scope', { scope: { device: ['phone'] } });
    expect(s.status).toBe(400);
    expect(s.json.error).toMatch(/^scope\.device: unknown value "phone"/);
    expect((await admin('PUT', 'scope', { nope: 1 })).status).toBe(400);
    expect((await readManifest(env.DB)).revision, 'nothing refused changed the manifest').toBe(before);
  });

  it('a rollout limited to a segment: inside, arms split as configured; outside, never the canary and in no run', async () => {
    await reset();
    const r = await admin('POST', 'rollout', { canary: 'test-3', percent: 50, segment: { store: ['de'] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.segment).toEqual({ store: ['de'] });
    const status = await admin('GET', 'status');
    expect(status.json.segment, 'status shows the segment').toEqual({ store: ['de'] });
    goLive();
    const manifest = r.json;
    const { env: e, queued } = recordingEnv();
    const path = await listingPath();
    const inside = { canary: 0, control: 0, holdout: 0 }, insideUsers = new Set(), outsideUsers = new Set();
    for (let i = 0; i < 48; i++) {
      const isIn = i % 3 !== 0;
      const b = new Browser({ store: isIn ? 'de' : 'default' });
      const at = queued.length;
      const l = await b.send(path, e);
      expect(l.status).toBe(200);
      const arm = armOf(l.edgerec);
      expect(arm, l.edgerec).not.toBeNull();
      const mine = events(queued.slice(at));
      const user = userOf(mine);
      expect(user).toMatch(/^[0-9a-f]{64}$/);
      if (isIn) {
        // the arm is exactly the manifest's split for this shopper
        expect(arm).toBe((await assignArm(manifest, user)).arm);
        inside[arm]++;
        insideUsers.add(user);
        for (const ev of mine) expect(ev.run).toBe(manifest.run);
      } else {
        expect(arm).not.toBe('canary');
        expect(arm).toBe((await assignArm({ ...manifest, canary: null }, user)).arm);
        outsideUsers.add(user);
        for (const ev of mine) expect(ev.run, 'outside the segment: no run').toBeUndefined();
      }
    }
    expect(inside.canary, 'some inside shoppers are in the canary').toBeGreaterThan(3);
    expect(inside.control, 'some inside shoppers are in control').toBeGreaterThan(3);
    await flush(queued, e);
    // what the guardrail judges: the run's shoppers are the segment's alone
    const stats = await armStats(env.DB, manifest.run);
    for (const a of ['canary', 'control', 'holdout']) expect(stats[a]?.shoppers ?? 0, a).toBe(inside[a]);
    const inRun = (await env.DB.prepare('SELECT user FROM run_shoppers WHERE run = ?').bind(manifest.run).all()).results.map((x) => x.user);
    expect(new Set(inRun)).toEqual(insideUsers);
    for (const u of outsideUsers) expect(inRun).not.toContain(u);
    const look = await runGuardrail({ ...e, GUARDRAIL_MIN_SHOPPERS: '1000', GUARDRAIL_MIN_HOURS: '24' }, Date.now());
    expect(look.action).toBe('continue');
    expect(JSON.stringify(look.figures)).toContain(`"run":"${manifest.run}"`);
    // another segment for the same canary is another run (other shoppers)
    const again = await admin('POST', 'rollout', { canary: 'test-3', percent: 50, segment: { store: ['fr'] } });
    expect(again.json.run).not.toBe(manifest.run);
    const same = await admin('POST', 'rollout', { canary: 'test-3', percent: 40 });
    expect(same.json.run, 'no segment given: the canary keeps its segment and run').toBe(again.json.run);
    expect(same.json.segment).toEqual({ store: ['fr'] });
    expect((await admin('POST', 'rollback')).json.segment, 'a rollback clears the segment').toBeNull();
  });

  it('a scope: outside shoppers get the origin\'s bytes and non-personal units, and count nowhere', async () => {
    await reset();
    const r = await admin('PUT', 'scope', { scope: { country: ['DE', 'AT'] } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.scope).toEqual({ country: ['AT', 'DE'] });
    expect(r.json.scope_id).toMatch(/^scope@\d+$/);
    goLive();
    const { env: e, queued } = recordingEnv();
    const path = await listingPath();
    const originBody = await originText(path);
    const outsideUsers = new Set(), insideUsers = new Set();
    let personalized = 0;
    for (let i = 0; i < 12; i++) {
      const country = ['DE', 'AT', 'US', 'FR'][i % 4];
      const b = new Browser({ 'user-agent': 'Mozilla/5.0' }, { country });
      const at = queued.length;
      const l = await b.send(path, e);
      const mine = events(queued.slice(at));
      if (country === 'US' || country === 'FR') {
        expect(l.edgerec).toBe('bypass; reason=out-of-scope');
        expect(l.text, 'the origin\'s bytes').toBe(originBody);
        for (const ev of mine) { expect(ev.arm).toBeUndefined(); expect(ev.run).toBeUndefined(); }
        outsideUsers.add(userOf(mine));
        const u = await b.send('/edge/recommend?pageType=Product&sku=MH01', e);
        expect(u.status).toBe(200);
        expect(u.edgerec).toBe('bypass; reason=out-of-scope');
        const ev = await b.send('/edge/events', e, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'click', item: 'MH01' }) });
        expect(ev.status).toBe(202);
      } else {
        expect(armOf(l.edgerec), l.edgerec).not.toBeNull();
        if (l.edgerec.startsWith('reranked')) personalized++;
        insideUsers.add(userOf(mine));
      }
    }
    expect(personalized, 'inside shoppers are personalized').toBeGreaterThan(0);
    const all = events(queued);
    for (const ev of all) if (outsideUsers.has(ev.user)) { expect(ev.arm).toBeUndefined(); expect(ev.run).toBeUndefined(); }
    expect(all.filter((ev) => outsideUsers.has(ev.user)).length, 'outside shoppers\' events are still logged').toBeGreaterThan(0);
    await flush(queued, e);
    const counted = new Set((await env.DB.prepare('SELECT DISTINCT user FROM hour_shoppers').all()).results.map((x) => x.user));
    for (const u of outsideUsers) expect(counted.has(u), 'an outside shopper counts nowhere').toBe(false);
    for (const u of insideUsers) expect(counted.has(u), 'an inside shopper counts').toBe(true);
  });

  it('membership is fixed at the first exposure: a guest who signs in stays where they were', async () => {
    await reset();
    expect((await admin('PUT', 'scope', { scope: { group: ['guest'] } })).status).toBe(200);
    goLive();
    const { env: e } = recordingEnv();
    const path = await listingPath();
    const signIn = { authorization: 'Bearer customertoken0123456789abcdef' };
    const guest = new Browser();
    const g1 = await guest.send(path, e);
    expect(armOf(g1.edgerec), g1.edgerec).not.toBeNull();
    const g2 = await guest.send(path, e, { headers: signIn });
    expect(armOf(g2.edgerec), `signed in, still inside: ${g2.edgerec}`).not.toBeNull();
    // the same customer on another device: the signed-in KV copy of the state carries the membership
    const laptop = new Browser(signIn);
    expect(armOf((await laptop.send(path, e)).edgerec), 'the same customer elsewhere: inside').not.toBeNull();
    const fresh = new Browser({ authorization: 'Bearer othercustomer0123456789abcdef' }); // signed in at the first exposure: outside
    expect((await fresh.send(path, e)).edgerec).toBe('bypass; reason=out-of-scope');
    expect((await fresh.send(path, e)).edgerec).toBe('bypass; reason=out-of-scope');

    // the other way round: a guest outside a signed-in scope stays outside after signing in; a new scope decides afresh
    expect((await admin('PUT', 'scope', { scope: { group: ['signed-in'] } })).status).toBe(200);
    goLive();
    const g = new Browser();
    expect((await g.send(path, e)).edgerec).toBe('bypass; reason=out-of-scope');
    expect((await g.send(path, e, { headers: signIn })).edgerec).toBe('bypass; reason=out-of-scope');
    expect(armOf((await fresh.send(path, e)).edgerec), 'under the new scope the signed-in shopper is inside').not.toBeNull();
  });

  it('pause and resume: origin order and non-personal units for everyone, then personalization again', async () => {
    await reset();
    const { env: e, queued } = recordingEnv();
    const path = await listingPath();
    const originBody = await originText(path);
    const b = new Browser({ 'user-agent': 'Mozilla/5.0' });
    let before;
    for (let i = 0; i < 8 && !before?.edgerec.startsWith('reranked'); i++) { b.jar.clear(); before = await b.send(path, e); }
    expect(before.edgerec, 'a personalized shopper before the pause').toMatch(/^reranked/);
    // operators only (admin-auth.js): a viewer token is refused and changes nothing
    const VIEWER = 'segments-test-viewer-token-0123456789';
    const roles = { ...env, EDGEREC_ADMIN_TOKENS: `olga:operator:segments-test-operator-token-0123,vera:viewer:${VIEWER}` };
    for (const [m, path, body] of [['POST', 'pause', {}], ['PUT', 'scope', { scope: null }], ['POST', 'rollout', { canary: 'test-3', percent: 5, segment: { store: ['de'] } }]]) {
      expect((await admin(m, path, body, roles, VIEWER)).status, `${m} ${path} as a viewer`).toBe(403);
    }
    expect((await readManifest(env.DB)).paused).toBe(0);
    const p = await admin('POST', 'pause', { reason: 'incident 42' });
    expect(p.status, p.text).toBe(200);
    expect(p.json.paused).toBe(true);
    expect((await admin('POST', 'pause')).json.unchanged).toBe(true);
    expect((await admin('GET', 'status')).json.paused).toBe(true);
    const row = await env.DB.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT 1').first();
    expect(row).toMatchObject({ action: 'pause', reason: 'incident 42' });
    goLive(); // within one manifest refresh (the KV mirror)
    queued.length = 0;
    const l = await b.send(path, e);
    expect(l.edgerec).toBe('bypass; reason=paused');
    expect(l.text).toBe(originBody);
    const u = await b.send('/edge/recommend?pageType=Product&sku=MH01', e);
    expect(u.edgerec).toBe('bypass; reason=paused');
    for (const ev of events(queued)) { expect(ev.arm).toBeUndefined(); expect(ev.run).toBeUndefined(); }
    expect((await admin('POST', 'resume', {})).json.paused).toBe(false);
    goLive();
    expect((await b.send(path, e)).edgerec).toMatch(/^reranked/);
    const bad = await admin('POST', 'pause', { reason: 7 });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/reason/);
  });
});
