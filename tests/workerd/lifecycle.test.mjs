// lifecycle.test.mjs — the model lifecycle's full loop INSIDE workerd (vitest workers pool):
// the admin API (worker-shim/cloudflare/admin.js), the manifest, audit log and arms (lifecycle.js), the KPIs
// the queue consumer aggregates into D1 (kpi.js), and the scheduled guardrail (cron.js over
// guardrails.js), all driven through the real Worker module in front of the Magento stand-in.
//
// How it is driven (see worker.test.mjs for the stand-in and the bindings):
// * Shoppers are browsers with a cookie jar.  Each has a *taste* — a leaf category under Men or
//   Women (Men/Tops/Jackets, …) — drawn from a seeded PRNG.  A shopper lands on a product page of
//   their taste (a `view`, which also builds the profile), opens the area's listing (Venia's
//   GetCategories, 100 per page), and "clicks" — sends the product-detail query for — the first
//   item of their taste in the order they were served (other than the one they landed on) if it is
//   within the top 5; otherwise they leave.  A shopper converts when they click.  A ranking that
//   ignores the shopper (the shuffled bundle) therefore converts fewer shoppers, and the origin's
//   order (the holdout's) fewer still.
// * The Queue is replaced by a recorder (env.EVENTS): what the Worker sends is kept and handed to
//   the real consumer (worker.queue with createMessageBatch) in batches of 100, so the events land
//   in R2 and the KPIs in D1 exactly when the test says.
// * The guardrail is the scheduled handler: worker.scheduled(createScheduledController(
//   {scheduledTime}), env, ctx), with env overrides of GUARDRAIL_MIN_SHOPPERS / _MIN_HOURS.
// * Simulated time: Date.now() is the real clock plus an offset (from 2031-03-03 on).  A batch of
//   shoppers is 5 simulated minutes (one cron interval); after every manifest change the clock
//   moves past the Worker's 60 s caches (the KV manifest mirror and the bundle store), as a
//   deployed Worker would see the change within a minute.
// * Storage (KV, D1, R2) belongs to this test file's own Miniflare; the tests below run in order
//   and each sets the manifest it needs itself (setLive), so each also runs alone (-t).
//
// Bundles (tests/workerd/make-expected.mjs): test-1 (luma.erb, trees), test-3 (luma-v3.erb, the
// same sessions, trainer seed 3), test-1 again with other bytes (luma-alt.erb), aa-2 (luma-aa.erb:
// test-1's model under another version, for A/A), bad-2 (luma-bad.erb: linear, a random weight
// per item), budget-1 (luma-budget.erb: a work budget of 100 units).
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import {
  env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult, createScheduledController,
} from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import { REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { ConflictError, MIRROR_KEY, changeManifest, readManifest } from '../../worker-shim/cloudflare/lifecycle.js';
import { assignArm } from '../../worker-shim/core/arms.js';
import { armStats } from '../../worker-shim/cloudflare/kpi.js';
import { guardrailConfig, runGuardrail } from '../../worker-shim/cloudflare/cron.js';
import { DEFAULTS, sequentialTest } from '../../worker-shim/core/guardrails.js';
import { tombstoneKey } from '../../worker-shim/cloudflare/events.js';
import { recordingEnv } from './recording-env.mjs'; // env with a recording Queue (recordingEnv(vars) → {env, queued})
import lumaV1 from '../../build/workerd/luma.erb';
import lumaV3 from '../../build/workerd/luma-v3.erb';
import lumaAlt from '../../build/workerd/luma-alt.erb';
import lumaAA from '../../build/workerd/luma-aa.erb';
import lumaBad from '../../build/workerd/luma-bad.erb';
import lumaBudget from '../../build/workerd/luma-budget.erb';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const TOKEN = 'workerd-test-admin-token';
const MIN = 60_000;
const HOUR = 60 * MIN;
const LOOK = 5 * MIN; // the cron interval: one batch of shoppers
const dec = new TextDecoder();
const BUNDLES = { 'test-1': lumaV1, 'test-3': lumaV3, 'aa-2': lumaAA, 'bad-2': lumaBad, 'budget-1': lumaBudget };
const bytesOf = (buf) => new Uint8Array(buf.slice(0));

// ---- simulated time ------------------------------------------------------------------------------

const realNow = Date.now.bind(Date);
let offset = Date.UTC(2031, 2, 3, 0, 0) - realNow();
const now = () => realNow() + offset;
const advance = (ms) => { offset += ms; };
/** Past the Worker's per-isolate caches (manifest mirror, bundle store): the change is live. */
const goLive = () => advance(REFRESH_MS + 1000);

beforeAll(async () => {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  expect(env.EDGEREC_ADMIN_TOKEN).toBe(TOKEN);
  expect(env.ORIGIN_URL).toBe(ORIGIN);
});
afterAll(() => vi.restoreAllMocks());

// ---- the Worker ----------------------------------------------------------------------------------

async function send(request, e = env) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const bytes = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, bytes, text: dec.decode(bytes), edgerec: res.headers.get('x-edgerec'), setCookies: res.headers.getSetCookie() };
}

/** An admin API call; body: an object (JSON) or bytes. */
async function admin(method, path, { body, token = TOKEN, auth, e = env } = {}) {
  const headers = {};
  if (auth !== undefined) headers.authorization = auth;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  let b;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) { b = body; headers['content-type'] = 'application/octet-stream'; }
  else if (body !== undefined) { b = typeof body === 'string' ? body : JSON.stringify(body); headers['content-type'] = 'application/json'; }
  const r = await send(new Request(`${SHOP}/edge/admin/${path}`, { method, headers, body: b }), e);
  let json = null;
  try { json = JSON.parse(r.text); } catch { /* not JSON */ }
  return { ...r, json };
}

/** Run the queue consumer over everything queued so far (batches of 100, as wrangler.toml). */
async function flush(queued, e = env) {
  let n = 0;
  while (queued.length) {
    const bodies = queued.splice(0, 100);
    const batch = createMessageBatch('edgerec-events', bodies.map((body, i) => ({ id: `m-${n}-${i}`, timestamp: new Date(now()), attempts: 1, body })));
    const ctx = createExecutionContext();
    await worker.queue(batch, e, ctx);
    const res = await getQueueResult(batch, ctx);
    expect(res.ackAll, 'the consumer acked the batch').toBe(true);
    n++;
  }
}

/** One guardrail look: the scheduled handler at `at`. */
async function cronLook(e, at = now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }), e, ctx);
  await waitOnExecutionContext(ctx);
}

const manifest = () => readManifest(env.DB);
const auditRows = async () => (await env.DB.prepare('SELECT * FROM audit ORDER BY id').all()).results
  .map((r) => ({ ...r, figures: r.figures ? JSON.parse(r.figures) : null }));
const lastAudit = async () => (await auditRows()).at(-1);

/** Publish a bundle (201 new, 200 already stored). */
async function publish(version) {
  const r = await admin('PUT', `bundles/${version}`, { body: bytesOf(BUNDLES[version]) });
  expect([200, 201], `PUT ${version}: ${r.text}`).toContain(r.status);
  return r;
}

/** Bring the manifest to {active, canary, percent} through the admin API; then let the Worker see it. */
async function setLive({ active, canary = null, percent = 0 }) {
  let m = await manifest();
  if (active && m.active !== active) {
    await publish(active);
    expect((await admin('POST', 'rollout', { body: { canary: active, percent: 100 } })).status).toBe(200);
    expect((await admin('POST', 'promote')).status).toBe(200);
  }
  m = await manifest();
  if (canary && (m.canary !== canary || m.percent !== percent)) {
    await publish(canary);
    const r = await admin('POST', 'rollout', { body: { canary, percent } });
    expect(r.status, r.text).toBe(200);
  } else if (!canary && m.canary) {
    expect((await admin('POST', 'rollback')).status).toBe(200);
  }
  goLive();
  return manifest();
}

// ---- the storefront ------------------------------------------------------------------------------

const GET_CATEGORIES = `query GetCategories($uid: String!, $pageSize: Int!, $currentPage: Int!, $filters: ProductAttributeFilterInput!, $sort: ProductAttributeSortInput) {
  categories(filters: { category_uid: { in: [$uid] } }) { items { uid meta_title } }
  products(pageSize: $pageSize, currentPage: $currentPage, filter: $filters, sort: $sort) {
    items { id uid name sku url_key stock_status __typename } page_info { total_pages } total_count
  }
}`;
const GET_PRODUCT = `query getProductDetailForProductPage($urlKey: String!) {
  products(filter: { url_key: { eq: $urlKey } }) { items { id uid sku name url_key categories { uid } __typename } }
}`;
const gql = (query, operationName, variables) => `/graphql?${new URLSearchParams({ query, operationName, variables: JSON.stringify(variables) })}`;
const listingPath = (uid, extra = {}) => gql(GET_CATEGORIES, 'GetCategories',
  { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 100, sort: { position: 'ASC' }, ...extra });
const productPath = (urlKey) => gql(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey });
const origin = async (path) => dec.decode(new Uint8Array(await (await fetch(ORIGIN + path, { headers: { 'x-test-direct': '1' } })).arrayBuffer()));

class Browser {
  constructor(headers = {}) { this.jar = new Map(); this.headers = headers; }
  cookie() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(setCookies) {
    for (const sc of setCookies) {
      const pair = sc.split(';')[0];
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(sc)) this.jar.delete(name); else this.jar.set(name, value);
    }
  }
  async send(path, e, init = {}) {
    const headers = { ...this.headers, ...(this.jar.size ? { cookie: this.cookie() } : {}), ...(init.headers ?? {}) };
    const r = await send(new Request(SHOP + path, { ...init, headers }), e);
    this.take(r.setCookies);
    return r;
  }
  async post(path, body, e) {
    return this.send(path, e, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  }
}

/** The stand-in's categories (url_path → uid) and the tastes: the leaves under men/ and women/. */
let catalog = null;
async function storefront() {
  if (catalog) return catalog;
  const q = async (query) => JSON.parse(await origin(`/graphql?${new URLSearchParams({ query })}`)).data;
  const tree = await q('{ categoryList { uid url_path children { uid url_path children { uid url_path children { uid url_path } } } } }');
  const uidOf = {};
  const walk = (c) => { if (!c) return; if (c.url_path) uidOf[c.url_path] = c.uid; for (const x of c.children ?? []) walk(x); };
  for (const c of tree.categoryList) walk(c);
  const tastes = [];
  for (const path of Object.keys(uidOf).sort()) {
    if (!/^(men|women)\/(tops|bottoms)\/[^/]+$/.test(path)) continue;
    const items = (await q(`{ products(filter: { category_uid: { eq: "${uidOf[path]}" } }, pageSize: 200) { items { sku url_key } } }`)).products.items;
    tastes.push({ path, area: path.split('/')[0], items, skus: new Set(items.map((i) => i.sku)) });
  }
  expect(tastes.length).toBe(12);
  catalog = { uidOf, tastes };
  return catalog;
}

/** splitmix32-style PRNG → floats in [0, 1) (as tests/standin/synthetic-sessions.mjs). */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
const armOf = (header) => /; arm=(holdout|control|canary)$/.exec(header ?? '')?.[1] ?? null;

/** One simulated shopper (see the header).  Returns the arm they were served and whether they converted. */
async function shopper(rnd, e) {
  const { uidOf, tastes } = await storefront();
  const taste = tastes[Math.floor(rnd() * tastes.length)];
  const land = taste.items[Math.floor(rnd() * taste.items.length)];
  const b = new Browser();
  const p = await b.send(productPath(land.url_key), e);
  expect(p.status).toBe(200);
  const l = await b.send(listingPath(uidOf[taste.area]), e);
  expect(l.status).toBe(200);
  const arm = armOf(l.edgerec);
  expect(arm, `x-edgerec: ${l.edgerec}`).not.toBeNull();
  const items = JSON.parse(l.text).data.products.items;
  const at = items.findIndex((it) => taste.skus.has(it.sku) && it.sku !== land.sku);
  const converted = at >= 0 && at < 5;
  if (converted) {
    const c = await b.send(productPath(items[at].url_key), e);
    expect(c.edgerec).toBe(`observed; events=view; arm=${arm}`);
  }
  return { arm, converted, edgerec: l.edgerec, browser: b };
}

/** A batch of shoppers; tallies per arm: {shoppers, converted}. */
async function shoppers(n, rnd, e, tally = {}) {
  for (let i = 0; i < n; i++) {
    const s = await shopper(rnd, e);
    const t = (tally[s.arm] ??= { shoppers: 0, converted: 0 });
    t.shoppers++;
    if (s.converted) t.converted++;
  }
  return tally;
}

const rate = (a) => (a && a.shoppers ? a.converted / a.shoppers : null);
const fmt = (a) => (a ? `${a.converted}/${a.shoppers} = ${(100 * rate(a)).toFixed(1)} %` : 'none');
const fmtMin = (ms) => (ms >= 2 * HOUR ? `${(ms / HOUR).toFixed(2)} h` : `${Math.round(ms / MIN)} min`);

// =====================================================================================================

describe('admin auth', () => {
  const routes = () => [
    ['PUT', 'bundles/test-1', bytesOf(lumaV1)],
    ['GET', 'bundles/test-1'],
    ['GET', 'bundles/active'],
    ['GET', 'status'],
    ['POST', 'rollout', { canary: 'test-1', percent: 5 }],
    ['POST', 'promote'],
    ['POST', 'rollback'],
    ['GET', 'events?since=0'],
    ['GET', 'no-such-route'],
  ];

  it('every admin route: no token, a wrong token, a token of another length, another scheme → 401 no-store; nothing happens', async () => {
    await readManifest(env.DB); // the tables exist
    const auditBefore = (await auditRows()).length;
    const m0 = await manifest();
    const wrong = 'x'.repeat(TOKEN.length);
    expect(wrong.length).toBe(TOKEN.length);
    const attempts = [
      { token: null },                         // no Authorization
      { token: wrong },                        // same length, wrong
      { token: TOKEN.slice(0, -1) },           // a prefix
      { token: TOKEN + 'x' },                  // longer
      { token: 'short' },
      { auth: `Basic ${btoa(`admin:${TOKEN}`)}` },
      { auth: `Bearer ${TOKEN} extra` },
      { auth: `Bearer` },
      { auth: TOKEN },
    ];
    for (const [method, path, body] of routes()) {
      for (const a of attempts) {
        const r = await admin(method, path, { body, ...a });
        expect(r.status, `${method} ${path} with ${JSON.stringify(a)}`).toBe(401);
        expect(r.headers.get('cache-control')).toBe('no-store');
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        expect(r.json.error).toMatch(/^unauthorized/);
        expect(r.text).not.toContain(TOKEN);
      }
    }
    // nothing was stored or changed
    expect((await auditRows()).length).toBe(auditBefore);
    expect(await env.DB.prepare("SELECT version FROM bundles WHERE version = 'test-1'").first()).toBeNull();
    expect(await env.EDGEREC.get('bundle:test-1')).toBeNull();
    expect((await manifest()).revision).toBe(m0.revision);
    // authentication comes before everything, even a missing D1 binding
    const noDb = { ...env };
    delete noDb.DB;
    expect((await admin('GET', 'status', { token: wrong, e: noDb })).status).toBe(401);
    expect((await admin('GET', 'status', { e: noDb })).status).toBe(503);
    // and without a configured token nobody gets in, not even with an empty one
    expect((await admin('GET', 'status', { token: '', e: { ...env, EDGEREC_ADMIN_TOKEN: '' } })).status).toBe(401);
    expect((await admin('GET', 'status', { e: { ...env, EDGEREC_ADMIN_TOKEN: undefined } })).status).toBe(401);
  });

  it('with the right token every route works (no-store)', async () => {
    const want = {
      'PUT bundles/test-1': [201, 200], 'GET bundles/test-1': [200], 'GET bundles/active': [200, 404], 'GET status': [200],
      'POST rollout': [200], 'POST promote': [200], 'POST rollback': [409], 'GET events?since=0': [200], 'GET no-such-route': [404],
    };
    for (const [method, path, body] of routes()) {
      const r = await admin(method, path, { body });
      expect(want[`${method} ${path}`], `${method} ${path} → ${r.status} ${r.text.slice(0, 200)}`).toContain(r.status);
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    const m = await manifest();
    expect(m).toMatchObject({ active: 'test-1', canary: null }); // rollout 5 %, then promote
    const got = await admin('GET', 'bundles/test-1');
    expect(got.headers.get('x-edgerec-version')).toBe('test-1');
    expect(got.bytes).toEqual(bytesOf(lumaV1));
    const status = await admin('GET', 'status');
    expect(status.json).toMatchObject({ active: 'test-1', canary: null, percent: 0, holdout: 5 });
    expect('salt' in status.json).toBe(false); // the arm salt is not shown
    expect(status.text).not.toContain(m.salt);
  });
});

describe('PUT /edge/admin/bundles/:version', () => {
  it('valid → 201; the same bytes → 200; other bytes → 409; corrupt, over budget, version mismatch → 400; refusals audited', async () => {
    const first = await admin('PUT', 'bundles/test-3', { body: bytesOf(lumaV3) });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toMatchObject({ version: 'test-3', bytes: lumaV3.byteLength, model: 'trees' });
    expect(first.json.work_units).toBeGreaterThan(0);
    expect(first.json.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(await env.EDGEREC.get('bundle:test-3', 'arrayBuffer')).toEqual(lumaV3);

    const again = await admin('PUT', 'bundles/test-3', { body: bytesOf(lumaV3) });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);

    const linear = await admin('PUT', 'bundles/bad-2', { body: bytesOf(lumaBad) });
    expect(linear.status).toBe(201);
    expect(linear.json).toMatchObject({ version: 'bad-2', model: 'linear' });

    const auditBefore = (await auditRows()).length;
    // different bytes under a stored version (a valid test-1 bundle trained with another seed)
    await publish('test-1');
    const other = await admin('PUT', 'bundles/test-1', { body: bytesOf(lumaAlt) });
    expect(other.status).toBe(409);
    expect(other.json.error).toMatch(/different bundle is already stored as test-1/);
    expect(await env.EDGEREC.get('bundle:test-1', 'arrayBuffer')).toEqual(lumaV1); // untouched

    // one flipped byte: the engine's checksum
    const corrupt = bytesOf(lumaV3);
    corrupt[5000] ^= 0xff;
    const c = await admin('PUT', 'bundles/test-3c', { body: corrupt });
    expect(c.status).toBe(400);
    expect(c.json.error).toMatch(/checksum/);
    // truncated
    const t = await admin('PUT', 'bundles/test-3t', { body: bytesOf(lumaV3).subarray(0, 4000) });
    expect(t.status).toBe(400);
    expect(t.json.error).toMatch(/^invalid bundle: .*truncated/);
    // a bundle whose work budget (100 units) a test request does not fit
    const b = await admin('PUT', 'bundles/budget-1', { body: bytesOf(lumaBudget) });
    expect(b.status).toBe(400);
    expect(b.json.error).toMatch(/^over budget/);
    expect(b.json.error).toMatch(/100/);
    // the bundle's own version is not the URL's
    const mm = await admin('PUT', 'bundles/test-9', { body: bytesOf(lumaV1) });
    expect(mm.status).toBe(400);
    expect(mm.json.error).toBe("the bundle's own version is 'test-1', not 'test-9'");
    // not a version
    expect((await admin('PUT', `bundles/${encodeURIComponent('has space')}`, { body: bytesOf(lumaV1) })).status).toBe(400);
    expect((await admin('PUT', `bundles/${'v'.repeat(24)}`, { body: bytesOf(lumaV1) })).status).toBe(400);

    for (const v of ['test-3c', 'test-3t', 'budget-1', 'test-9']) {
      expect(await env.EDGEREC.get(`bundle:${v}`)).toBeNull();
      expect(await env.DB.prepare('SELECT 1 FROM bundles WHERE version = ?').bind(v).first()).toBeNull();
    }
    // every refusal is in the audit log, with its reason, and GET status shows it
    const refusals = (await auditRows()).slice(auditBefore).filter((r) => r.action === 'refuse-bundle');
    const byVersion = Object.fromEntries(refusals.map((r) => [r.canary, r.reason]));
    expect(byVersion['test-1']).toMatch(/different bundle/);
    expect(byVersion['test-3c']).toMatch(/checksum/);
    expect(byVersion['test-3t']).toMatch(/truncated/);
    expect(byVersion['budget-1']).toMatch(/^over budget/);
    expect(byVersion['test-9']).toMatch(/own version is 'test-1'/);
    expect(refusals.every((r) => r.actor === 'admin')).toBe(true);
    const decisions = (await admin('GET', 'status')).json.decisions;
    for (const v of ['test-1', 'test-3c', 'budget-1', 'test-9']) {
      expect(decisions.some((d) => d.action === 'refuse-bundle' && d.canary === v), `status shows the refusal of ${v}`).toBe(true);
    }
    // a stored bundle has exactly one store-bundle row; refused ones none
    const stored = (await auditRows()).filter((r) => r.action === 'store-bundle').map((r) => r.canary);
    expect(stored.filter((v) => v === 'test-3')).toHaveLength(1);
    expect(stored.filter((v) => ['test-3c', 'budget-1', 'test-9'].includes(v))).toEqual([]);
    // a rollout of a refused version is refused too
    expect((await admin('POST', 'rollout', { body: { canary: 'budget-1', percent: 10 } })).status).toBe(409);
  });
});

describe('the loop: v1 active, a bad v2 canary rolled back by the guardrail, a good v3 canary promoted', () => {
  it('drives shoppers through the Worker; the KPIs land in D1; the scheduled guardrail decides; the audit log says why', async () => {
    // Both good bundles convert about 98 % of these shoppers (since the trainer counts a shopper once per
    // item and day, test-1 is as good as test-3, 98.5 % vs 97.9 % over 1,900 shoppers an arm), so the
    // always-valid interval cannot clear a 1 pp (or 2 pp) margin before GUARDRAIL_MIN_HOURS; with a 3 pp
    // margin it does in a few dozen looks.  The margin itself is tested in tests/js/guardrails.test.mjs.
    const { env: e, queued } = recordingEnv({ GUARDRAIL_MIN_SHOPPERS: '200', GUARDRAIL_MIN_HOURS: '4', GUARDRAIL_MARGIN: '0.03' });
    const cfg = guardrailConfig(e);
    expect(cfg).toMatchObject({ minShoppers: 200, minDurationMs: 4 * HOUR, margin: 0.03 });
    const rnd = prng(20310303);

    // ---- v1 active: published, rolled out to 100 %, promoted ----
    if ((await manifest()).canary) expect((await admin('POST', 'rollback')).status).toBe(200);
    await publish('test-1');
    const m0 = await manifest();
    if (m0.active !== 'test-1') {
      const r = await admin('POST', 'rollout', { body: { canary: 'test-1', percent: 100 } });
      expect(r.json).toMatchObject({ canary: 'test-1', percent: 100 });
      const p = await admin('POST', 'promote');
      expect(p.json).toMatchObject({ active: 'test-1', canary: null, percent: 0 });
    }
    expect(JSON.parse(await env.EDGEREC.get(MIRROR_KEY))).toMatchObject({ active: 'test-1', canary: null });
    expect(await env.EDGEREC.get('bundle:active')).toBe('test-1');
    goLive();
    const one = await shopper(rnd, e);
    expect(['reranked; model=test-1; arm=control', 'bypass; reason=holdout; arm=holdout']).toContain(one.edgerec);
    expect(queued.every((ev) => ev.run === undefined)).toBe(true); // no canary: no run
    await flush(queued, e);

    // ---- v2, the shuffled model, as a 20 % canary ----
    const put2 = await admin('PUT', 'bundles/bad-2', { body: bytesOf(lumaBad) });
    expect([200, 201]).toContain(put2.status);
    const ro = await admin('POST', 'rollout', { body: { canary: 'bad-2', percent: 20 } });
    expect(ro.status, ro.text).toBe(200);
    expect(ro.json).toMatchObject({ active: 'test-1', canary: 'bad-2', percent: 20 });
    const run2 = ro.json.run;
    expect(run2).toBe(`bad-2@${ro.json.canary_started}`);
    goLive();
    const tally2 = {};
    let rolledBack = null;
    let looks2 = 0;
    for (let look = 1; look <= 30 && !rolledBack; look++) {
      await shoppers(60, rnd, e, tally2);
      advance(LOOK);
      await flush(queued, e);
      // what D1 holds is exactly what the shoppers did: exposed shoppers per arm, converted = clicked after the listing
      const stats = await armStats(env.DB, run2);
      for (const arm of Object.keys(tally2)) expect({ arm, ...stats[arm] }).toMatchObject({ arm, ...tally2[arm] });
      await cronLook(e);
      looks2 = look;
      const m = await manifest();
      if (!m.canary) rolledBack = { m, at: now() };
      else expect(m).toMatchObject({ canary: 'bad-2', run: run2 });
    }
    expect(rolledBack, `bad-2 rolled back within 30 looks (canary ${fmt(tally2.canary)}, control ${fmt(tally2.control)})`).not.toBeNull();
    expect(rolledBack.m).toMatchObject({ active: 'test-1', canary: null, percent: 0, run: null });
    const rb = await lastAudit();
    expect(rb).toMatchObject({ action: 'rollback', actor: 'guardrail', active: 'test-1', canary: 'bad-2' });
    expect(rb.reason).toMatch(/^canary converts worse than control: canary [\d.]+ % vs control [\d.]+ %/);
    const f2 = rb.figures;
    expect(f2).toMatchObject({ canary_version: 'bad-2', active_version: 'test-1', run: run2 });
    expect(f2.canary).toMatchObject({ shoppers: tally2.canary.shoppers, converted: tally2.canary.converted });
    expect(f2.control).toMatchObject({ shoppers: tally2.control.shoppers, converted: tally2.control.converted });
    expect(f2.canary.conversionRate).toBeCloseTo(rate(tally2.canary), 10);
    expect(f2.control.conversionRate).toBeCloseTo(rate(tally2.control), 10);
    expect(f2.difference).toBeLessThan(0);
    expect(f2.rollback.signal).toBe(true);
    expect(f2.rollback.pValue).toBeLessThanOrEqual(0.05);
    expect(f2.rollback.upperBound).toBeLessThan(0);
    expect(f2.elapsedMs).toBeGreaterThanOrEqual(looks2 * LOOK); // + the minute to go live + real seconds
    expect(f2.elapsedMs).toBeLessThan(looks2 * LOOK + 3 * MIN);
    expect(rate(tally2.canary)).toBeLessThan(rate(tally2.control) - 0.2);
    console.log(`lifecycle: bad-2 (20 % canary) rolled back by the guardrail after ${looks2} looks, ${fmtMin(f2.elapsedMs)} simulated: ` +
      `canary ${fmt(tally2.canary)}, control ${fmt(tally2.control)}, holdout ${fmt(tally2.holdout)}; ` +
      `always-valid p = ${f2.rollback.pValue.toPrecision(3)}`);
    // from now on nobody is served bad-2
    goLive();
    const after = await shoppers(20, rnd, e);
    expect(after.canary).toBeUndefined();
    expect(queued.every((ev) => ev.model !== 'bad-2' && ev.run === undefined)).toBe(true);
    await flush(queued, e);

    // ---- v3, a good model, as a 50 % canary: promoted once the sample and the duration allow ----
    expect((await admin('PUT', 'bundles/test-3', { body: bytesOf(lumaV3) })).status).toBeLessThan(300);
    const ro3 = await admin('POST', 'rollout', { body: { canary: 'test-3', percent: 50 } });
    expect(ro3.status, ro3.text).toBe(200);
    const run3 = ro3.json.run, started3 = ro3.json.canary_started;
    goLive();
    const tally3 = {};
    let shown = null; // when non-inferiority and the sample first held
    let looks3 = 0;
    for (let look = 1; look <= 40 && !shown; look++) {
      await shoppers(100, rnd, e, tally3);
      advance(LOOK);
      await flush(queued, e);
      await cronLook(e);
      looks3 = look;
      const m = await manifest();
      expect(m, `look ${look}: test-3 is still the canary (not rolled back, not promoted before ${cfg.minDurationMs / HOUR} h)`)
        .toMatchObject({ active: 'test-1', canary: 'test-3', run: run3 });
      const stats = await armStats(env.DB, run3);
      for (const arm of Object.keys(tally3)) expect({ arm, ...stats[arm] }).toMatchObject({ arm, ...tally3[arm] });
      const seq = sequentialTest(stats.canary, stats.control, cfg);
      if (seq.promote.nonInferior && stats.canary.shoppers >= cfg.minShoppers && stats.control.shoppers >= cfg.minShoppers
        && stats.canary.requests >= DEFAULTS.minRequests) shown = { at: now(), stats, seq };
    }
    expect(shown, `non-inferiority shown within 40 looks (canary ${fmt(tally3.canary)}, control ${fmt(tally3.control)})`).not.toBeNull();
    expect(now() - started3).toBeLessThan(cfg.minDurationMs); // the duration is what still holds it back

    // the holdout: what personalization is worth, while the canary runs
    const st = (await admin('GET', 'status')).json;
    expect(st).toMatchObject({ active: 'test-1', canary: 'test-3', percent: 50, run: run3 });
    expect(st.arms.holdout).toMatchObject(tally3.holdout);
    const upControl = st.uplift_over_holdout.control, upCanary = st.uplift_over_holdout.canary;
    expect(upControl.arm).toMatchObject({ shoppers: tally3.control.shoppers, converted: tally3.control.converted });
    expect(upControl.holdout).toMatchObject({ shoppers: tally3.holdout.shoppers, converted: tally3.holdout.converted });
    expect(upControl.absolute.estimate).toBeCloseTo(rate(tally3.control) - rate(tally3.holdout), 10);
    expect(upControl.absolute.lower).toBeGreaterThan(0); // the holdout (origin order) converts clearly less
    expect(upCanary.absolute.lower).toBeGreaterThan(0);
    expect(st.versions['test-1'].control.impressions).toBeGreaterThan(0);
    expect(st.versions['test-3'].canary.impressions).toBe(tally3.canary.shoppers);
    expect(st.versions.none.holdout.impressions).toBeGreaterThan(0);

    // the scheduled time moves past the minimum duration: promoted
    advance(started3 + cfg.minDurationMs + MIN - now());
    await cronLook(e);
    const mp = await manifest();
    expect(mp).toMatchObject({ active: 'test-3', canary: null, percent: 0, run: null });
    expect(await env.EDGEREC.get('bundle:active')).toBe('test-3');
    expect(JSON.parse(await env.EDGEREC.get(MIRROR_KEY))).toMatchObject({ active: 'test-3', canary: null, revision: mp.revision });
    const pr = await lastAudit();
    expect(pr).toMatchObject({ action: 'promote', actor: 'guardrail', active: 'test-3', canary: 'test-3' });
    expect(pr.reason).toMatch(/^canary not worse than control by more than 3 pp/);
    const f3 = pr.figures;
    expect(f3).toMatchObject({ canary_version: 'test-3', active_version: 'test-1', run: run3 });
    expect(f3.promote.nonInferior).toBe(true);
    expect(f3.promote.lowerBound).toBeGreaterThan(-cfg.margin);
    expect(f3.elapsedMs).toBeGreaterThanOrEqual(cfg.minDurationMs);
    expect(f3.canary.shoppers).toBeGreaterThanOrEqual(cfg.minShoppers);
    expect(f3.control.shoppers).toBeGreaterThanOrEqual(cfg.minShoppers);
    console.log(`lifecycle: test-3 (50 % canary) non-inferior after ${looks3} looks, ${fmtMin(shown.at - started3)} simulated ` +
      `(canary ${fmt(tally3.canary)}, control ${fmt(tally3.control)}, holdout ${fmt(tally3.holdout)}; lower bound ` +
      `${(100 * shown.seq.promote.lowerBound).toFixed(2)} pp > −${(100 * cfg.margin).toFixed(0)} pp); promoted by the guardrail at ${fmtMin(f3.elapsedMs)} ` +
      `(GUARDRAIL_MIN_HOURS ${cfg.minDurationMs / HOUR})`);
    console.log(`lifecycle: uplift over the holdout (during the test-3 run): control ${(100 * upControl.absolute.estimate).toFixed(1)} pp ` +
      `[${(100 * upControl.absolute.lower).toFixed(1)}, ${(100 * upControl.absolute.upper).toFixed(1)}], canary ` +
      `${(100 * upCanary.absolute.estimate).toFixed(1)} pp [${(100 * upCanary.absolute.lower).toFixed(1)}, ${(100 * upCanary.absolute.upper).toFixed(1)}]`);

    // after the promotion: test-3 serves control; the status still reports the holdout's uplift (all runs)
    goLive();
    const post = await shoppers(10, rnd, e);
    expect(post.canary).toBeUndefined();
    expect(queued.filter((ev) => ev.type === 'impression' && ev.arm === 'control').every((ev) => ev.model === 'test-3')).toBe(true);
    await flush(queued, e);
    const st2 = (await admin('GET', 'status')).json;
    expect(st2).toMatchObject({ active: 'test-3', canary: null, run: null });
    expect(st2.uplift_over_holdout.control.absolute.lower).toBeGreaterThan(0);
    expect(st2.decisions.slice(0, 1)).toMatchObject([{ action: 'promote', actor: 'guardrail' }]);
  }, 120_000);
});

describe('arms', () => {
  it('the split: holdout ≈ 5 %, canary ≈ the percent of the rest (binomial tolerance), each arm its model', async () => {
    const m = await setLive({ active: 'test-1', canary: 'aa-2', percent: 30 });
    const N = 20_000;
    const arms = await Promise.all(Array.from({ length: N }, (_, i) => assignArm(m, `shopper-${i}-${m.salt.slice(0, 4)}`)));
    const count = (a) => arms.filter((x) => x.arm === a).length;
    const [h, c, k] = ['holdout', 'canary', 'control'].map(count);
    expect(h + c + k).toBe(N);
    const within = (x, n, p, what) => {
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(x / n - p), `${what}: ${x}/${n} vs ${p} (4.5 σ = ${(4.5 * sd).toFixed(4)})`).toBeLessThan(4.5 * sd);
    };
    within(h, N, 0.05, 'holdout share');
    within(c, c + k, 0.30, 'canary share of the rest');
    for (const a of arms) expect(a.version).toBe({ holdout: null, canary: 'aa-2', control: 'test-1' }[a.arm]);
    // another salt is another, independent split
    const other = await Promise.all(Array.from({ length: 2000 }, (_, i) => assignArm({ ...m, salt: 'another-salt' }, `shopper-${i}-${m.salt.slice(0, 4)}`)));
    const same = other.filter((x, i) => x.arm === arms[i].arm).length;
    expect(same).toBeLessThan(2000 * 0.75); // P(same) = .05² + .285² + .665² ≈ 0.53
    console.log(`arms: assignArm over ${N} ids: holdout ${(100 * h / N).toFixed(2)} % (5 %), canary ${(100 * c / (c + k)).toFixed(2)} % of the rest (30 %)`);
  });

  it('through the Worker: sticky per shopper, the holdout gets the origin\'s bytes and no units, arm= on every x-edgerec, arm/model/run on every event', async () => {
    const m = await setLive({ active: 'test-1', canary: 'aa-2', percent: 30 });
    const { env: e, queued } = recordingEnv();
    const { uidOf } = await storefront();
    const gear = listingPath(uidOf.gear);
    const originText = await origin(gear);
    const browsers = [];
    for (let i = 0; i < 300; i++) {
      const b = new Browser();
      const r = await b.send(gear, e);
      b.arm = armOf(r.edgerec);
      expect(r.edgerec).toBe({
        holdout: 'bypass; reason=holdout; arm=holdout', canary: 'reranked; model=aa-2; arm=canary', control: 'reranked; model=test-1; arm=control',
      }[b.arm]);
      if (b.arm === 'holdout') {
        expect(r.text).toBe(originText); // the origin's order, its bytes
        expect(r.headers.get('server-timing')).toBeNull();
      } else {
        expect(r.text).not.toBe(originText);
        expect(r.headers.get('cache-control')).toBe('private');
      }
      browsers.push(b);
    }
    const n = (a) => browsers.filter((b) => b.arm === a).length;
    const [h, c, k] = [n('holdout'), n('canary'), n('control')];
    const sd = Math.sqrt((0.3 * 0.7) / (c + k));
    expect(Math.abs(c / (c + k) - 0.3), `canary ${c} of ${c + k}`).toBeLessThan(4.5 * sd);
    expect(h).toBeGreaterThan(0);
    expect(h / 300).toBeLessThan(0.05 + 4.5 * Math.sqrt(0.05 * 0.95 / 300));
    console.log(`arms: 300 browsers through the Worker: holdout ${h}, canary ${c}, control ${k} (canary ${(100 * c / (c + k)).toFixed(1)} % of the rest)`);

    // sticky: more listings, a product page, an explicit sort, an event — the same arm, in every header
    const some = [...browsers.filter((b) => b.arm === 'holdout').slice(0, 3), ...browsers.filter((b) => b.arm === 'canary').slice(0, 3),
      ...browsers.filter((b) => b.arm === 'control').slice(0, 3)];
    for (const b of some) {
      for (let i = 0; i < 3; i++) expect(armOf((await b.send(listingPath(uidOf['gear/bags']), e)).edgerec)).toBe(b.arm);
      expect((await b.send(productPath('joust-duffle-bag'), e)).edgerec).toBe(`observed; events=view; arm=${b.arm}`);
      expect((await b.send(listingPath(uidOf.gear, { sort: { price: 'ASC' } }), e)).edgerec).toBe(`bypass; reason=explicit-sort; arm=${b.arm}`);
      // a client cannot choose its attribution
      const ev = await b.post('/edge/events', { type: 'click', item: '24-MB01', arm: 'canary', model: 'forged', run: 'forged-run' }, e);
      expect(ev.status).toBe(202);
      const prof = JSON.parse((await b.send('/edge/profile', e)).text);
      b.id = prof.id;
      expect((await assignArm(m, b.id)).arm).toBe(b.arm); // the Worker's arm is assignArm of the shopper's hashed id
    }
    // every event: the shopper's arm, the arm's model (none for the holdout), the run
    const byUser = new Map();
    for (const ev of queued) {
      expect(ev.type).not.toBe('_metric'); // no engine failures here
      expect(['holdout', 'canary', 'control']).toContain(ev.arm);
      expect(ev.run).toBe(m.run);
      if (ev.arm === 'holdout') expect(ev.model).toBeUndefined(); else expect(ev.model).toBe(ev.arm === 'canary' ? 'aa-2' : 'test-1');
      if (!byUser.has(ev.user)) byUser.set(ev.user, new Set());
      byUser.get(ev.user).add(ev.arm);
    }
    expect(byUser.size).toBe(300);
    for (const s of byUser.values()) expect(s.size).toBe(1);
    for (const b of some) expect([...byUser.get(b.id)]).toEqual([b.arm]);
    const impressions = queued.filter((ev) => ev.type === 'impression');
    for (const ev of impressions) {
      if (ev.arm === 'holdout') expect(ev.units).toBeUndefined(); // no units: the engine did no work for it
      else expect(ev.units).toBeGreaterThan(0);
    }
    const clicks = queued.filter((ev) => ev.type === 'click');
    expect(clicks).toHaveLength(some.length);
    for (const ev of clicks) expect(ev.model).not.toBe('forged');

    // without a canary there is no run, whatever a client sends
    await setLive({ active: 'test-1' });
    queued.length = 0;
    const b = some[0];
    await b.post('/edge/events', { type: 'click', item: '24-MB01', run: 'forged-run', arm: 'canary' }, e);
    await b.send(listingPath(uidOf.gear), e);
    expect(queued.length).toBe(2);
    for (const ev of queued) {
      expect(ev.arm).toBe(b.arm === 'canary' ? 'control' : b.arm);
      expect('run' in ev).toBe(false);
    }
  });
});

describe('POST /edge/feedback', () => {
  it('thumbs or a rating → 202, a feedback event attributed like any other, counted in the KPIs; bad input → 400', async () => {
    const m = await setLive({ active: 'test-1', canary: 'aa-2', percent: 50 });
    const { env: e, queued } = recordingEnv();
    const feedbackTotal = async () => {
      const v = (await admin('GET', 'status')).json.versions;
      return Object.values(v).flatMap((arms) => Object.values(arms)).reduce((s, a) => s + (a.feedback ?? 0), 0);
    };
    const before = await feedbackTotal();
    const { tastes } = await storefront();
    const [s1, s2, s3] = tastes[0].items;
    const b = new Browser();
    const l = await b.send(listingPath((await storefront()).uidOf.men), e);
    const arm = armOf(l.edgerec);
    queued.length = 0;
    const ok = [
      [{ item: s1.sku, thumbs: 'up' }, 5],
      [{ item: s2.sku, thumbs: 'down', unit: 'recommended-for-you' }, 1],
      [{ item: s3.sku, rating: 4, comment: 'free text is never stored' }, 4],
    ];
    for (const [body] of ok) {
      const r = await b.post('/edge/feedback', body, e);
      expect(r.status, r.text).toBe(202);
      expect(JSON.parse(r.text)).toEqual({ accepted: 1 });
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    expect(queued).toHaveLength(3);
    queued.forEach((ev, i) => {
      expect(ev).toMatchObject({ type: 'feedback', item: ok[i][0].item, rating: ok[i][1], arm, run: m.run });
      if (arm === 'holdout') expect(ev.model).toBeUndefined(); else expect(ev.model).toBe(arm === 'canary' ? 'aa-2' : 'test-1');
      expect(ev.user).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(ev)).not.toContain('free text');
      expect('thumbs' in ev || 'comment' in ev).toBe(false);
    });
    expect(queued[1].unit).toBe('recommended-for-you');

    const bad = [
      [{ thumbs: 'up' }, /item/], [{ item: '', rating: 3 }, /item/], [{ item: s1.sku, thumbs: 'sideways' }, /thumbs/],
      [{ item: s1.sku, thumbs: true }, /thumbs/], [{ item: s1.sku, rating: 0 }, /rating/], [{ item: s1.sku, rating: 6 }, /rating/],
      [{ item: s1.sku, rating: 2.5 }, /rating/], [{ item: s1.sku, rating: '5' }, /rating/], [{ item: s1.sku }, /rating/],
      ['[{"item":"x","rating":3}]', /object/], ['{"item":', /JSON/], ['', /JSON/], ['null', /object/],
    ];
    for (const [body, why] of bad) {
      const r = await b.post('/edge/feedback', body, e);
      expect(r.status, `${JSON.stringify(body)} → ${r.text}`).toBe(400);
      expect(JSON.parse(r.text).error).toMatch(why);
    }
    const g = await b.send('/edge/feedback', e);
    expect(g.status).toBe(405);
    expect(g.headers.get('allow')).toBe('POST');
    expect(queued).toHaveLength(3);

    const sent = structuredClone(queued);
    await flush(queued, e);
    expect(await feedbackTotal()).toBe(before + 3);
    const st = (await admin('GET', 'status')).json;
    const where = arm === 'holdout' ? st.versions.none.holdout : st.versions[arm === 'canary' ? 'aa-2' : 'test-1'][arm];
    expect(where.feedback).toBeGreaterThanOrEqual(3);
    // the Queue delivers the batch again (at least once): counted once
    await flush(sent, e);
    expect(await feedbackTotal()).toBe(before + 3);
  });
});

describe('GET /edge/admin/events', () => {
  it('NDJSON of what the consumer wrote since TS, paged with x-edgerec-next-cursor, without tombstoned shoppers', async () => {
    await setLive({ active: 'test-1' });
    const { env: e, queued } = recordingEnv();
    advance(HOUR - (now() % HOUR) + 20 * MIN); // hh:20 of a fresh hour
    const since = Math.floor(now() / 1000) - 10 * 60; // hh:10
    const rnd = prng(7);
    const keep = await shopper(rnd, e), gone = await shopper(rnd, e);
    const idOf = async (b) => JSON.parse((await b.send('/edge/profile', e)).text).id;
    const keepId = await idOf(keep.browser), goneId = await idOf(gone.browser);
    expect(queued.filter((ev) => ev.user === goneId).length).toBeGreaterThanOrEqual(2);
    await flush(queued, e);
    // 24 more consumer batches over this hour and the next two, a few events before `since`, an erased shopper among them
    const erased = 'e'.repeat(64);
    for (let i = 0; i < 24; i++) {
      const ts = since - 5 * 60 + i * 7 * 60; // from hh:05 on, every 7 minutes
      queued.push(
        { id: `export-${i}-a`, type: 'view', item: '24-MB01', ts, user: (i % 10).toString(16).repeat(64), session: `s-${i}` },
        { id: `export-${i}-b`, type: 'cart', item: '24-MB02', ts: ts + 1, user: i % 6 === 0 ? erased : 'c'.repeat(64), session: `s-${i}` },
      );
      await flush(queued, e); // one batch, one object per hour it touches
    }
    // the erasures come after the events were written
    const del = await gone.browser.send('/edge/profile', e, { method: 'DELETE' });
    expect(JSON.parse(del.text)).toMatchObject({ erased: true });
    await env.EDGEREC.put(tombstoneKey(erased), String(Math.floor(now() / 1000)));

    // what R2 holds
    const r2 = [];
    let cursor;
    do {
      const l = await env.EDGEREC_EVENTS.list({ prefix: 'events/', cursor });
      for (const o of l.objects) for (const line of (await (await env.EDGEREC_EVENTS.get(o.key)).text()).split('\n')) if (line) r2.push(line);
      cursor = l.truncated ? l.cursor : undefined;
    } while (cursor);
    const stored = r2.map((line) => ({ line, ev: JSON.parse(line) }));
    for (const u of [goneId, erased, keepId]) expect(stored.some((s) => s.ev.user === u && s.ev.ts >= since), `R2 holds ${u.slice(0, 8)}…'s events`).toBe(true);
    expect(stored.some((s) => s.ev.ts < since && s.ev.id.startsWith('export-'))).toBe(true);
    const want = stored.filter((s) => s.ev.ts >= since && s.ev.user !== goneId && s.ev.user !== erased).map((s) => s.line).sort();

    // the export, page by page
    const got = [];
    let pages = 0, next = null;
    do {
      const r = await admin('GET', `events?since=${since}${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/x-ndjson');
      expect(r.headers.get('cache-control')).toBe('no-store');
      if (r.text) expect(r.text.endsWith('\n')).toBe(true);
      got.push(...r.text.split('\n').filter(Boolean));
      next = r.headers.get('x-edgerec-next-cursor');
      pages++;
    } while (next && pages < 20);
    expect(next).toBeNull();
    expect(pages).toBeGreaterThanOrEqual(2); // more objects than a page (20)
    expect(new Set(got).size).toBe(got.length); // no line twice
    expect([...got].sort()).toEqual(want);
    const evs = got.map((l) => JSON.parse(l));
    expect(evs.every((ev) => ev.ts >= since)).toBe(true);
    expect(evs.some((ev) => ev.user === goneId || ev.user === erased)).toBe(false);
    expect(evs.filter((ev) => ev.user === keepId).length).toBeGreaterThanOrEqual(2);
    console.log(`events export: ${got.length} events in ${pages} pages (since ${new Date(since * 1000).toISOString()}), ` +
      `${stored.length - want.length} of ${stored.length} stored left out (older, or erased shoppers)`);

    // since: unix seconds, validated; the future is empty
    for (const s of ['abc', '-1', 'Infinity']) expect((await admin('GET', `events?since=${s}`)).status).toBe(400);
    const future = await admin('GET', `events?since=${since + 30 * 86400}`);
    expect(future.status).toBe(200);
    expect(future.text).toBe('');
  });
});

describe('two rollout changes at once', () => {
  const rolloutTo = (m, canary, percent, reason) => {
    const t = now();
    return changeManifest(env, m, { canary, percent, canary_started: t, run: `${canary}@${t}` }, { action: 'rollout', actor: 'admin', reason });
  };
  const mirrorAgrees = async () => {
    const d = await manifest();
    const kv = JSON.parse(await env.EDGEREC.get(MIRROR_KEY));
    expect(kv).toMatchObject({ active: d.active, canary: d.canary, percent: d.percent, run: d.run, revision: d.revision, salt: d.salt });
    return d;
  };

  it('two changeManifest calls from the same read: one wins, the other gets ConflictError; one revision, one audit row', async () => {
    await setLive({ active: 'test-1' });
    await publish('aa-2');
    await publish('test-3');
    for (let round = 0; round < 3; round++) {
      const m = await manifest();
      const tag = `race-${round}-${now()}`;
      const results = await Promise.allSettled([rolloutTo(m, 'aa-2', 10, `${tag} A`), rolloutTo(m, 'test-3', 20, `${tag} B`)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0].reason).toBeInstanceOf(ConflictError);
      expect(lost[0].reason.status).toBe(409);
      const d = await mirrorAgrees();
      expect(d.revision).toBe(m.revision + 1);
      expect(d).toMatchObject({ canary: won[0].value.canary, percent: won[0].value.percent, change_id: won[0].value.change_id });
      const rows = (await auditRows()).filter((r) => r.reason?.startsWith(tag));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'rollout', canary: d.canary, percent: d.percent });
      // a change from the stale read is refused too, and leaves nothing
      await expect(rolloutTo(m, 'aa-2', 30, `${tag} C`)).rejects.toBeInstanceOf(ConflictError);
      expect((await manifest()).revision).toBe(d.revision);
      expect((await auditRows()).filter((r) => r.reason?.startsWith(tag))).toHaveLength(1);
    }
  });

  it('two concurrent POST /edge/admin/rollout: each success is one revision and one audit row, a loser gets 409; the mirror agrees', async () => {
    await setLive({ active: 'test-1' });
    let conflicts = 0;
    for (let round = 0; round < 6; round++) {
      const m = await manifest();
      const auditBefore = (await auditRows()).length;
      const p = [7 + round, 40 + round];
      const rs = await Promise.all([
        admin('POST', 'rollout', { body: { canary: 'aa-2', percent: p[0] } }),
        admin('POST', 'rollout', { body: { canary: 'test-3', percent: p[1] } }),
      ]);
      const ok = rs.filter((r) => r.status === 200), no = rs.filter((r) => r.status !== 200);
      for (const r of no) {
        expect(r.status).toBe(409);
        expect(r.json.error).toMatch(/changed meanwhile/);
      }
      expect(ok.length).toBeGreaterThanOrEqual(1);
      conflicts += no.length;
      const d = await mirrorAgrees();
      expect(d.revision).toBe(m.revision + ok.length);
      const rows = (await auditRows()).slice(auditBefore);
      expect(rows).toHaveLength(ok.length);
      expect(rows.every((r) => r.action === 'rollout')).toBe(true);
      expect(rows.at(-1)).toMatchObject({ canary: d.canary, percent: d.percent }); // the last change is the manifest
      expect(ok.map((r) => r.json.revision).sort((a, b) => a - b)).toEqual(Array.from({ length: ok.length }, (_, i) => m.revision + 1 + i));
    }
    console.log(`concurrency: 6 rounds of two concurrent rollouts through the Worker: ${conflicts} answered 409, ${12 - conflicts} applied`);
  });

  it('the guardrail acts only on the manifest it judged: a rollout meanwhile is not rolled back', async () => {
    await publish('test-3');
    const m = await setLive({ active: 'test-1', canary: 'bad-2', percent: 50 });
    // a run whose figures call for a rollback: canary 10 % vs control 60 %
    const rows = [];
    for (let i = 0; i < 300; i++) {
      rows.push(`('${m.run}', 'g-can-${i}', 'canary', 'bad-2', ${i % 10 === 0 ? 1 : 0})`, `('${m.run}', 'g-con-${i}', 'control', 'test-1', ${i % 10 < 6 ? 1 : 0})`);
    }
    await env.DB.prepare(`INSERT INTO run_shoppers (run, user, arm, version, converted) VALUES ${rows.join(', ')}`).run();
    // while the guardrail reads the figures, an admin rolls out test-3 instead
    let interleaved = false;
    const DB = new Proxy(env.DB, {
      get(target, key) {
        if (key === 'prepare') {
          return (sql) => {
            const st = target.prepare(sql);
            if (interleaved || !/FROM run_shoppers/.test(sql)) return st;
            return { bind: (...args) => ({ all: async () => {
              interleaved = true;
              const r = await admin('POST', 'rollout', { body: { canary: 'test-3', percent: 10 } });
              expect(r.status).toBe(200);
              return st.bind(...args).all();
            } }) };
          };
        }
        const v = target[key];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const d = await runGuardrail({ ...env, DB }, now());
    expect(interleaved).toBe(true);
    expect(d).toMatchObject({ action: 'error' });
    expect(d.reason).toMatch(/changed meanwhile/);
    const after = await manifest();
    expect(after).toMatchObject({ active: 'test-1', canary: 'test-3', percent: 10 });
    expect(await lastAudit()).toMatchObject({ action: 'guardrail-error', actor: 'guardrail', canary: 'bad-2' });
    // the next look judges test-3's own run (no figures yet): nothing happens
    await cronLook(env);
    expect(await manifest()).toMatchObject({ canary: 'test-3', revision: after.revision });
    // and without an interloper the same figures do roll bad-2 back
    const m2 = await setLive({ active: 'test-1', canary: 'bad-2', percent: 50 });
    await env.DB.prepare(`INSERT INTO run_shoppers (run, user, arm, version, converted) VALUES ${rows.join(', ').replaceAll(m.run, m2.run)}`).run();
    const d2 = await runGuardrail(env, now());
    expect(d2.action).toBe('rollback');
    expect(await manifest()).toMatchObject({ canary: null, active: 'test-1' });
    expect(await lastAudit()).toMatchObject({ action: 'rollback', actor: 'guardrail', canary: 'bad-2' });
  });
});

describe('A/A: the same model as active and canary', () => {
  // The guardrail's promise: a canary that is not worse is rolled back with probability ≤ α,
  // however often it looks.  Two bundles with the same model (test-1 and aa-2: one training run,
  // two versions; bundle versions are unique, so "the same bytes" cannot be stored twice) serve
  // control and a 50 % canary; every run is a new rollout (a new run id) with new shoppers, so the
  // runs are independent (the salt stays: a shopper's arm is fixed, the shoppers are not).
  const ALPHA = DEFAULTS.alpha;
  const NEVER = { GUARDRAIL_MIN_HOURS: '1000000' }; // never promote: only rollbacks end a run early

  it('full runs through the Worker (shoppers, queue consumer, KPIs, scheduled guardrail after every batch): none rolls back', async () => {
    const { env: e, queued } = recordingEnv(NEVER);
    expect(guardrailConfig(e).alpha ?? ALPHA).toBe(ALPHA);
    await setLive({ active: 'test-1' });
    await publish('aa-2');
    const rnd = prng(4242);
    const deadline = realNow() + 15_000;
    const runs = [];
    while (runs.length < 3 || (realNow() < deadline && runs.length < 12)) {
      const ro = await admin('POST', 'rollout', { body: { canary: 'aa-2', percent: 50 } });
      expect(ro.status, ro.text).toBe(200);
      goLive();
      const tally = {};
      let rolledBack = false, looks = 0;
      for (let look = 1; look <= 6 && !rolledBack; look++) {
        await shoppers(50, rnd, e, tally);
        advance(LOOK);
        await flush(queued, e);
        await cronLook(e);
        looks = look;
        const m = await manifest();
        rolledBack = !m.canary;
        if (!rolledBack) expect(m).toMatchObject({ canary: 'aa-2', run: ro.json.run });
      }
      const stats = await armStats(env.DB, ro.json.run);
      expect(stats.canary).toMatchObject(tally.canary);
      expect(stats.control).toMatchObject(tally.control);
      if (!rolledBack) expect((await admin('POST', 'rollback')).status).toBe(200);
      runs.push({ rolledBack, looks, tally });
      goLive();
    }
    const rb = runs.filter((r) => r.rolledBack).length;
    const total = (arm) => runs.reduce((a, r) => ({ shoppers: a.shoppers + (r.tally[arm]?.shoppers ?? 0), converted: a.converted + (r.tally[arm]?.converted ?? 0) }), { shoppers: 0, converted: 0 });
    console.log(`A/A through the Worker: ${rb} of ${runs.length} runs rolled back (6 looks × 50 shoppers each; all runs: ` +
      `canary ${fmt(total('canary'))}, control ${fmt(total('control'))})`);
    expect(rb).toBe(0);
  }, 90_000);

  it(`simulation through kpi.js/cron.js (run_shoppers rows, runGuardrail after every batch): false-rollback rate ≤ α = ${ALPHA}`, async () => {
    const e = { ...env, ...NEVER };
    await setLive({ active: 'test-1' });
    await publish('aa-2');
    const rnd = prng(20310304);
    const LOOKS = 20, BATCH = 100;
    /** One run: a rollout, LOOKS batches of BATCH shoppers (arms by assignArm, conversions by p), the guardrail after each. */
    async function simRun(p) {
      const ro = await admin('POST', 'rollout', { body: { canary: 'aa-2', percent: 50 } });
      expect(ro.status, ro.text).toBe(200);
      const m = await manifest();
      for (let look = 1; look <= LOOKS; look++) {
        const ids = Array.from({ length: BATCH }, (_, i) => `sim-${m.run}-${look}-${i}`);
        const arms = await Promise.all(ids.map((id) => assignArm(m, id)));
        const values = ids.map((id, i) => {
          const { arm, version } = arms[i];
          return `('${m.run}', '${id}', '${arm}', '${version ?? 'none'}', ${rnd() < p[arm] ? 1 : 0})`;
        });
        await env.DB.prepare(`INSERT INTO run_shoppers (run, user, arm, version, converted) VALUES ${values.join(', ')}`).run();
        advance(LOOK);
        const d = await runGuardrail(e, now());
        if (d.action === 'rollback') {
          expect(await manifest()).toMatchObject({ canary: null, active: 'test-1' });
          return { rolledBack: true, look, figures: d.figures };
        }
        expect(d.action, d.reason).toBe('continue');
      }
      expect((await admin('POST', 'rollback')).status).toBe(200);
      return { rolledBack: false, look: LOOKS };
    }
    // power first: a canary converting 15 % against 30 % is caught
    const worse = [];
    for (let i = 0; i < 10; i++) worse.push(await simRun({ canary: 0.15, control: 0.30, holdout: 0.2 }));
    const caught = worse.filter((r) => r.rolledBack);
    expect(caught.length).toBeGreaterThanOrEqual(8);
    // A/A: both arms convert 30 %
    const t0 = realNow();
    const aa = [];
    while (aa.length < 100 || (realNow() - t0 < 25_000 && aa.length < 400)) aa.push(await simRun({ canary: 0.3, control: 0.3, holdout: 0.2 }));
    const rb = aa.filter((r) => r.rolledBack).length;
    const rateAA = rb / aa.length;
    console.log(`A/A simulation (kpi.js armStats + cron.js runGuardrail, ${LOOKS} looks × ${BATCH} shoppers, p = 0.30 in both arms): ` +
      `${rb} of N = ${aa.length} runs rolled back, false-rollback rate ${rateAA.toFixed(4)} ≤ α = ${ALPHA}; ` +
      `power check: ${caught.length}/10 runs with the canary at 15 % vs 30 % rolled back (mean look ${(caught.reduce((s, r) => s + r.look, 0) / caught.length).toFixed(1)}) ` +
      `[${((realNow() - t0) / 1000).toFixed(1)} s]`);
    expect(rateAA).toBeLessThanOrEqual(ALPHA);
  }, 90_000);
});
