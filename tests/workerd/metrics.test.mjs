// metrics.test.mjs — metrics across isolates, the Prometheus endpoint and the alerts INSIDE workerd
// (worker-shim/cloudflare/metrics.js, alerts.js, the consumer's counters in events.js, the Worker's
// request tallies and the cron wiring in worker.js), driven through the real Worker module in front of
// the Magento stand-in, as lifecycle.test.mjs does (a recording Queue handed to the real consumer,
// simulated time).
//
// * GET /edge/admin/metrics is parsed with a Prometheus text-format parser (parse-prometheus-text-format)
//   and its figures compared with /edge/admin/status's KPIs, with the bypass reasons the responses
//   carried, the rejected POST /edge/events this test sent and the events in R2.  The scraped text is
//   written to build/metrics/sample.prom (via the pool's loopback, vitest.config.mjs) for
//   `promtool check metrics` (tests/suites/metrics.sh).
// * Alerts go to a loopback receiver (http://alerts.test, vitest.config.mjs) standing in for a Slack
//   webhook and PagerDuty's Events API v2: exactly one trigger per condition, then one resolve.
// * The dead-man: when cron runs stop, /edge/health says so and the next run alerts.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import {
  env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult, createScheduledController,
} from 'cloudflare:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import worker from '../../worker-shim/cloudflare/worker.js';
import { recordingEnv as sharedRecordingEnv } from './recording-env.mjs';
import { REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { RequestTally } from '../../worker-shim/cloudflare/metrics.js';
import { runAlerts } from '../../worker-shim/cloudflare/alerts.js';
import { parityStats } from '../../worker-shim/cloudflare/profile-sync.js';
import lumaV1 from '../../build/workerd/luma.erb';
import wasm from '../../wasm/edgerec.wasm';
import { Engine } from '../../worker-shim/core/engine.js';
import lumaV3 from '../../build/workerd/luma-v3.erb';

const SHOP = 'https://shop.example';
const ORIGIN = 'http://magento.test';
const ALERTS = 'http://alerts.test';
const TOKEN = 'workerd-test-admin-token';
const MIN = 60_000;
const HOUR = 60 * MIN;
const dec = new TextDecoder();
const BUNDLES = { 'test-1': lumaV1, 'test-3': lumaV3 };

// ---- simulated time ------------------------------------------------------------------------------
const realNow = Date.now.bind(Date);
let offset = Date.UTC(2032, 4, 5, 0, 0) - realNow();
const now = () => realNow() + offset;
const advance = (ms) => { offset += ms; };
const goLive = () => advance(REFRESH_MS + 1000);

beforeAll(() => { vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset); });
afterAll(() => vi.restoreAllMocks());

// ---- the Worker ----------------------------------------------------------------------------------
/** recording-env.mjs's env, with the Worker's request tallies sent on every request. */
const recordingEnv = (vars = {}) => sharedRecordingEnv({ METRICS_FLUSH_SECONDS: '0', ...vars });

async function send(request, e) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, text, edgerec: res.headers.get('x-edgerec'), setCookies: res.headers.getSetCookie() };
}

async function admin(method, path, { body, e = env } = {}) {
  const headers = { authorization: `Bearer ${TOKEN}` };
  let b;
  if (body instanceof ArrayBuffer || body instanceof Uint8Array) { b = body; headers['content-type'] = 'application/octet-stream'; }
  else if (body !== undefined) { b = JSON.stringify(body); headers['content-type'] = 'application/json'; }
  const r = await send(new Request(`${SHOP}/edge/admin/${path}`, { method, headers, body: b }), e);
  let json = null;
  try { json = JSON.parse(r.text); } catch { /* not JSON */ }
  return { ...r, json };
}

let batchNo = 0;
/** The real consumer over the queued messages; `timestamp` (ms): when they were queued. */
async function consume(messages, e, timestamp = now()) {
  while (messages.length) {
    const bodies = messages.splice(0, 100);
    const n = batchNo++;
    const batch = createMessageBatch('edgerec-events', bodies.map((body, i) => ({ id: `mm-${n}-${i}`, timestamp: new Date(timestamp), attempts: 1, body })));
    const ctx = createExecutionContext();
    await worker.queue(batch, e, ctx);
    expect((await getQueueResult(batch, ctx)).ackAll, 'the consumer acked the batch').toBe(true);
  }
}

async function cronLook(e, at = now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }), e, ctx);
  await waitOnExecutionContext(ctx);
}

async function liveActive(version) {
  for (const v of [version]) {
    const r = await admin('PUT', `bundles/${v}`, { body: new Uint8Array(BUNDLES[v].slice(0)) });
    expect([200, 201], r.text).toContain(r.status);
  }
  expect((await admin('POST', 'rollout', { body: { canary: version, percent: 100 } })).status).toBe(200);
  expect((await admin('POST', 'promote')).status).toBe(200);
  goLive();
}

// ---- the storefront ------------------------------------------------------------------------------
// a category listing (re-ranked unless sorted) and a product page (a view), in the shape PWA Studio sends
const LISTING = 'query Listing($uid: String!, $sort: ProductAttributeSortInput) { products(pageSize: 24, currentPage: 1, '
  + 'filter: { category_uid: { eq: $uid } }, sort: $sort) { items { uid sku name url_key __typename } total_count } }';
const PRODUCT = 'query ProductPage($urlKey: String!) { products(filter: { url_key: { eq: $urlKey } }) { items { uid sku name __typename } } }';
const graphqlPath = (query, variables) => `/graphql?${new URLSearchParams({ query, variables: JSON.stringify(variables) })}`;
const listingPath = (uid, sort = { position: 'ASC' }) => graphqlPath(LISTING, { uid, sort });
const productPath = (urlKey) => graphqlPath(PRODUCT, { urlKey });

async function originData(query) {
  const r = await fetch(`${ORIGIN}/graphql?${new URLSearchParams({ query })}`, { headers: { 'x-test-direct': '1' } });
  return JSON.parse(await r.text()).data;
}

class Browser {
  constructor() { this.jar = new Map(); }
  async send(path, e, init = {}) {
    const headers = { ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}), ...(init.headers ?? {}) };
    const r = await send(new Request(SHOP + path, { ...init, headers }), e);
    for (const sc of r.setCookies) {
      const [pair] = sc.split(';');
      const i = pair.indexOf('=');
      this.jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    return r;
  }
}

// ---- the scrape ------------------------------------------------------------------------------------
/** The parsed exposition: name → [{labels, value (number)}] (summaries: {sum, count}). */
async function scrape(e = env) {
  const r = await admin('GET', 'metrics', { e });
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const fams = parsePrometheusTextFormat(r.text);
  const out = {};
  for (const f of fams) {
    out[f.name] = f.metrics.map((m) => (f.type === 'SUMMARY'
      ? { labels: m.labels ?? {}, sum: Number(m.sum), count: Number(m.count) }
      : { labels: m.labels ?? {}, value: Number(m.value) }));
  }
  return { text: r.text, m: out };
}
const valueOf = (m, name, labels = {}) => {
  const hit = (m[name] ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit.length ? hit.reduce((a, s) => a + s.value, 0) : undefined;
};

// ---- the tests ------------------------------------------------------------------------------------
describe('GET /edge/admin/metrics', () => {
  it('is refused without a token, and needs the metrics (or operator) role', async () => {
    const r = await send(new Request(`${SHOP}/edge/admin/metrics`), env);
    expect(r.status).toBe(401);
  });

  it('counts across the Worker and the consumer, equal to /edge/admin/status and to what was sent', async () => {
    await liveActive('test-1');
    const { env: e, queued } = recordingEnv();
    const tree = await originData('{ categoryList { uid url_path children { uid url_path children { uid url_path children { uid url_path } } } } }');
    const leaves = [];
    const walk = (c) => { if (!c) return; if (/^(men|women)\/(tops|bottoms)\/[^/]+$/.test(c.url_path ?? '')) leaves.push(c.uid); for (const x of c.children ?? []) walk(x); };
    for (const c of tree.categoryList) walk(c);
    expect(leaves.length).toBeGreaterThan(3);
    const items = (await originData(`{ products(filter: { category_uid: { eq: "${leaves[0]}" } }, pageSize: 20) { items { sku url_key } } }`)).products.items;

    const reasons = {}; // bypass reason → count, as the responses said
    let graphqlRequests = 0;
    const note = (r) => {
      graphqlRequests++;
      const m = /^bypass; reason=([a-z0-9-]+)/.exec(r.edgerec ?? '');
      if (m) reasons[m[1]] = (reasons[m[1]] ?? 0) + 1;
      return r;
    };
    for (let s = 0; s < 12; s++) {
      const b = new Browser();
      note(await b.send(productPath(items[s % items.length].url_key), e));
      const listed = note(await b.send(listingPath(leaves[s % leaves.length]), e));
      expect(listed.status).toBe(200);
      if (s % 3 === 0) note(await b.send(listingPath(leaves[0], { name: 'ASC' }), e)); // explicit sort: a bypass
      if (s % 4 === 0) note(await b.send(graphqlPath('{ storeConfig { store_code } }', {}), e)); // not a listing
    }
    expect(Object.keys(reasons).length).toBeGreaterThanOrEqual(2);

    // rejected events, by reason
    const post = (body, headers = { 'content-type': 'application/json' }) => send(new Request(`${SHOP}/edge/events`, { method: 'POST', headers, body }), e);
    const sentRejects = { 'not-json': 0, empty: 0, 'too-many': 0, 'not-object': 0, 'too-large': 0, 'cross-site': 0, invalid: 0 };
    for (const [body, reason, status] of [
      ['{nope', 'not-json', 400], ['also not json', 'not-json', 400], ['[]', 'empty', 400],
      [JSON.stringify(Array.from({ length: 501 }, () => ({ type: 'view', item: 'X' }))), 'too-many', 400],
      ['[42]', 'not-object', 400], ['x'.repeat(70 * 1024), 'too-large', 413],
      [JSON.stringify({ type: 'no-such-type', item: 'X' }), 'invalid', 400],
    ]) {
      const r = await post(body);
      expect(r.status, `${reason}: ${r.text}`).toBe(status);
      sentRejects[reason]++;
    }
    // another site driving a shopper's browser (core/request-site.js)
    const evil = await post(JSON.stringify({ type: 'view', item: items[0].sku }),
      { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(evil.status, evil.text).toBe(403);
    sentRejects['cross-site']++;
    const ok = await post(JSON.stringify({ type: 'view', item: items[0].sku }));
    expect(ok.status).toBe(202);

    // one message delivered twice: counted once as written, once as a repeat
    const events = queued.filter((q) => q.type !== '_metric');
    expect(queued.some((q) => q.kind === 'counts')).toBe(true);
    queued.push(structuredClone(events[0]));
    const lagMs = 1500;
    await consume(queued, e, now() - lagMs);

    const status = (await admin('GET', 'status')).json;
    const { text, m } = await scrape();
    // KPIs: every version / arm / figure of the status equals its series
    let compared = 0;
    for (const [version, arms] of Object.entries(status.versions)) {
      for (const [arm, k] of Object.entries(arms)) {
        for (const f of ['requests', 'impressions', 'clicks', 'carts', 'purchases', 'revenue', 'feedback', 'errors', 'bypasses', 'work_units']) {
          expect(valueOf(m, `edgerec_kpi_${f}_total`, { version, arm }), `${f} ${version}/${arm}`).toBe(k[f] ?? 0);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(10);
    expect(valueOf(m, 'edgerec_kpi_impressions_total', { version: 'test-1' })).toBeGreaterThan(0);
    expect(valueOf(m, 'edgerec_kpi_work_units_total', { version: 'test-1' })).toBeGreaterThan(0);
    // the Worker's tallies
    expect(valueOf(m, 'edgerec_requests_total', { path: 'graphql' })).toBe(graphqlRequests);
    for (const [reason, n] of Object.entries(reasons)) expect(valueOf(m, 'edgerec_bypasses_total', { reason }), reason).toBe(n);
    expect(m.edgerec_bypasses_total.length).toBe(Object.keys(reasons).length);
    for (const reason of ['not-json', 'empty', 'too-many', 'not-object', 'too-large', 'cross-site']) {
      expect(valueOf(m, 'edgerec_rejected_events_total', { reason }), reason).toBe(sentRejects[reason]);
    }
    const invalid = m.edgerec_rejected_events_total.filter((s) => s.labels.reason.startsWith('invalid'));
    expect(invalid.reduce((a, s) => a + s.value, 0)).toBe(1);
    // the event log: what R2 holds
    let inR2 = 0;
    for (const o of (await env.EDGEREC_EVENTS.list({ prefix: 'events/' })).objects) {
      inR2 += (await (await env.EDGEREC_EVENTS.get(o.key)).text()).split('\n').filter(Boolean).length;
    }
    expect(inR2).toBe(events.length);
    expect(valueOf(m, 'edgerec_events_written_total')).toBe(inR2);
    expect(valueOf(m, 'edgerec_events_received_total')).toBe(events.length + 1);
    expect(valueOf(m, 'edgerec_events_dropped_total', { reason: 'duplicate' })).toBe(1);
    const lag = m.edgerec_event_log_lag_seconds[0];
    expect(lag.count).toBe(inR2);
    expect(lag.sum / lag.count).toBeGreaterThanOrEqual(lagMs / 1000);
    expect(valueOf(m, 'edgerec_bundle_age_seconds', { slot: 'active', version: 'test-1' })).toBeGreaterThan(0);
    const budget = new Engine(wasm, new Uint8Array(lumaV1.slice(0))).info().budget;
    expect(budget).toBeGreaterThan(0);
    expect(valueOf(m, 'edgerec_bundle_work_budget_units', { slot: 'active', version: 'test-1' })).toBe(budget);
    const parity = await parityStats(env);
    expect(valueOf(m, 'edgerec_profile_parity_checks_total')).toBe(parity.checked);
    expect(valueOf(m, 'edgerec_profile_parity_equal_total')).toBe(parity.equal);
    expect(valueOf(m, 'edgerec_lifecycle_changes_total', { action: 'promote' })).toBe(status.decisions.filter((d) => d.action === 'promote').length);

    // a redelivered tallies message counts once
    const tally = new RequestTally();
    tally.note('requests', { path: 'graphql' });
    const msg = tally.take({ METRICS_FLUSH_SECONDS: '0' });
    await consume([msg], e);
    await consume([structuredClone(msg)], e);
    const after = (await scrape()).m;
    expect(valueOf(after, 'edgerec_requests_total', { path: 'graphql' })).toBe(graphqlRequests + 1);

    const saved = await fetch('http://metrics.test/sample.prom', { method: 'PUT', body: text });
    expect(saved.status).toBe(204);
  });
});

describe('alerts', () => {
  const receivers = {
    ALERT_SLACK_WEBHOOK_URL: `${ALERTS}/slack`, ALERT_PAGERDUTY_ROUTING_KEY: 'test-routing-key', ALERT_PAGERDUTY_URL: `${ALERTS}/pd`,
    ALERT_MIN_REQUESTS: '10', ALERT_ERROR_RATE: '0.05', ALERT_BYPASS_RATE: '0.2', ALERT_EVENT_LAG_SECONDS: '60',
  };
  const received = async () => (await (await fetch(`${ALERTS}/__received`)).json());
  const pd = (list) => list.filter((x) => x.path === '/pd').map((x) => x.body);
  const slack = (list) => list.filter((x) => x.path === '/slack').map((x) => x.body);

  it('one trigger per condition, no repeats, one resolve when it clears; the dead-man when the cron stops', async () => {
    advance(3 * HOUR); // the first test's promotion and tallies are out of every window
    await fetch(`${ALERTS}/__reset`, { method: 'POST' });
    const { env: e, queued } = recordingEnv(receivers);
    await cronLook(e);
    expect(await received(), 'nothing is wrong yet').toEqual([]);
    advance(5 * MIN);
    await cronLook(e);
    expect(await received()).toEqual([]);
    const health0 = JSON.parse((await send(new Request(`${SHOP}/edge/health`), e)).text);
    expect(health0.cron.stale).toBe(false);

    // failures: 20 listings with a malformed cookie key (reason=config), and the tallies of 20 requests
    // with 5 engine errors (sent by another isolate)
    const bad = recordingEnv({ ...receivers, EDGEREC_COOKIE_KEY: 'not-a-key' });
    const tree = await originData('{ categoryList { uid children { uid } } }');
    const uid = tree.categoryList[0].children[0].uid;
    for (let i = 0; i < 20; i++) expect((await new Browser().send(listingPath(uid), bad.env)).edgerec).toMatch(/^bypass; reason=config/);
    const other = new RequestTally();
    for (let i = 0; i < 20; i++) other.note('requests', { path: 'graphql' });
    for (let i = 0; i < 5; i++) other.note('bypass', { reason: 'error' });
    await consume([...bad.queued, other.take({ METRICS_FLUSH_SECONDS: '0' })], e);
    // a late batch: queued 10 minutes before it was written
    const late = recordingEnv();
    await new Browser().send(listingPath(uid), late.env);
    expect(late.queued.filter((q) => q.type !== '_metric').length).toBeGreaterThan(0);
    await consume(late.queued.filter((q) => q.type !== '_metric'), e, now() - 10 * MIN);
    // a rollback
    const r3 = await admin('PUT', 'bundles/test-3', { body: new Uint8Array(BUNDLES['test-3'].slice(0)) });
    expect([200, 201]).toContain(r3.status);
    expect((await admin('POST', 'rollout', { body: { canary: 'test-3', percent: 10 } })).status).toBe(200);
    expect((await admin('POST', 'rollback')).status).toBe(200);
    queued.length = 0;
    // profile sync parity (profile-sync.js's table): 90 of 100 samples equal this hour
    const bucket = Math.floor(now() / HOUR) * HOUR;
    await env.DB.prepare('INSERT INTO profile_parity (bucket, checked, equal, first_ms) VALUES (?1, 100, 90, ?2)').bind(bucket, now()).run();

    // the cron stops for 30 minutes: /edge/health says so, and the next run alerts
    advance(30 * MIN);
    const health = JSON.parse((await send(new Request(`${SHOP}/edge/health`), e)).text);
    expect(health.cron.stale).toBe(true);
    expect(health.cron.age_seconds).toBeGreaterThanOrEqual(30 * 60);
    const old = { ...e, ALERT_BUNDLE_AGE_HOURS: '1' }; // test-1 was stored more than 3 hours ago
    await cronLook(old);
    const first = await received();
    const want = ['bundle-age', 'bypass-rate', 'cron-missed', 'error-rate', 'event-lag', 'lifecycle-change', 'parity'];
    expect(pd(first).map((b) => b.payload?.class).sort()).toEqual(want);
    for (const b of pd(first)) {
      expect(b).toMatchObject({ routing_key: 'test-routing-key', event_action: 'trigger', payload: { source: 'edgerec' } });
      expect(b.dedup_key).toMatch(/^edgerec:/);
      expect(['critical', 'error', 'warning', 'info']).toContain(b.payload.severity);
      expect(b.payload.summary.length).toBeGreaterThan(10);
    }
    expect(slack(first).length).toBe(want.length);
    for (const s of slack(first)) expect(typeof s.text).toBe('string');
    expect(pd(first).find((b) => b.payload.class === 'lifecycle-change').payload.summary).toMatch(/rollback of test-3/);
    const dead = pd(first).find((b) => b.payload.class === 'cron-missed');
    expect(dead.payload.summary).toMatch(/did not run for 3\d min/);

    // every 5 minutes for 3 hours, the thresholds back to normal from the second run on: each incident
    // resolves once, none triggers again
    for (let t = 0; t < 36; t++) {
      advance(5 * MIN);
      if (t === 2) { // a batch written as soon as it was queued: the lag clears
        const fresh = recordingEnv();
        await new Browser().send(listingPath(uid), fresh.env);
        await consume(fresh.queued, e);
        await env.DB.prepare('UPDATE profile_parity SET checked = 10000, equal = 10000 - 9 WHERE bucket = ?1').bind(bucket).run(); // 99.91 %
      }
      if (t < 2) await cronLook(t === 0 ? old : e); // the scheduled handler; then its alerts step alone (faster)
      else expect((await runAlerts(e, now())).error).toBeUndefined();
    }
    // the loop ran the alerts alone, without the scheduled handler's catalog sync: the view went stale
    const mid = pd(await received());
    expect(mid.filter((b) => b.event_action === 'trigger').map((b) => b.payload.class).sort()).toEqual([...want, 'catalog-age'].sort());
    expect(mid.find((b) => b.payload?.class === 'catalog-age').payload.summary).toMatch(/default:USD \d+ min/);
    for (let i = 0; i < 6 && !pd(await received()).some((x) => x.event_action === 'resolve' && /catalog-age/.test(x.dedup_key)); i++) {
      advance(5 * MIN);
      await cronLook(e); // the full scheduled handler syncs the catalog again (a pass may take a few runs): catalog-age resolves
    }
    want.push('catalog-age');
    const all = await received();
    const triggers = pd(all).filter((b) => b.event_action === 'trigger');
    const resolves = pd(all).filter((b) => b.event_action === 'resolve');
    expect(triggers.length).toBe(want.length);
    expect(resolves.map((b) => b.dedup_key).sort()).toEqual(triggers.map((b) => b.dedup_key).sort());
    for (const b of resolves) expect(b.routing_key).toBe('test-routing-key');
    expect(slack(all).filter((s) => /^:white_check_mark: resolved/.test(s.text)).length).toBe(want.length);
    const state = (await env.DB.prepare('SELECT key, firing FROM alert_state').all()).results;
    expect(state.filter((s) => s.firing)).toEqual([]);
    const { m } = await scrape();
    expect(m.edgerec_alert_firing.every((s) => s.value === 0)).toBe(true);
    expect(valueOf(m, 'edgerec_cron_last_run_timestamp_seconds')).toBeCloseTo(now() / 1000, -1);
  });
});

describe('pruning', () => {
  it('keeps every counter monotonic: KPI hours past 90 days fold into the totals; old rows go, recent ones stay', async () => {
    const db = env.DB;
    const hourNow = Math.floor(now() / HOUR);
    const old = hourNow - 24 * 100;
    await db.batch([
      db.prepare("INSERT INTO kpi_hourly (version, arm, hour, requests, impressions, work_units) VALUES ('test-1', 'control', ?, 7, 5, 1234)").bind(old),
      db.prepare("INSERT INTO hour_shoppers (version, arm, hour, user) VALUES ('test-1', 'control', ?, 'u-old'), ('test-1', 'control', ?, 'u-new')").bind(old, hourNow),
    ]);
    const before = (await scrape()).m;
    const kpi = (m, f) => valueOf(m, `edgerec_kpi_${f}_total`, { version: 'test-1', arm: 'control' });
    const count = async (sql, ...b) => (await db.prepare(sql).bind(...b).first()).n;
    advance(2 * HOUR); // past the hourly pruning gate
    expect((await runAlerts(env, now())).error).toBeUndefined(); // the cron's alerts step prunes (at most once an hour)
    const after = (await scrape()).m;
    for (const f of ['requests', 'impressions', 'work_units', 'clicks']) expect(kpi(after, f), f).toBe(kpi(before, f));
    expect(await count('SELECT COUNT(*) n FROM kpi_hourly WHERE hour = ?', old)).toBe(0);
    expect(await count("SELECT COUNT(*) n FROM kpi_totals WHERE version = 'test-1' AND arm = 'control' AND requests = 7 AND work_units = 1234")).toBe(1);
    expect(await count("SELECT COUNT(*) n FROM hour_shoppers WHERE user = 'u-old'")).toBe(0);
    expect(await count("SELECT COUNT(*) n FROM hour_shoppers WHERE user = 'u-new'")).toBe(1);
    // seen_events: the day's highest rowid at its first pruning is marked; 8 days on, rows up to that
    // mark go, later ones stay (until a later day's mark is old enough)
    await db.prepare("INSERT INTO seen_events (id, counted) VALUES ('late-1', 1)").run();
    const mark = (await db.prepare('SELECT seen_rowid FROM prune_marks ORDER BY day DESC LIMIT 1').first()).seen_rowid;
    const upToMark = await count('SELECT COUNT(*) n FROM seen_events WHERE rowid <= ?', mark);
    const pastMark = await count('SELECT COUNT(*) n FROM seen_events WHERE rowid > ?', mark);
    expect(upToMark).toBeGreaterThan(0);
    advance(8 * 24 * HOUR);
    expect((await runAlerts(env, now())).error).toBeUndefined();
    expect(await count('SELECT COUNT(*) n FROM seen_events WHERE rowid <= ?', mark)).toBe(0);
    expect(await count('SELECT COUNT(*) n FROM seen_events')).toBe(pastMark);
    expect(await count("SELECT COUNT(*) n FROM seen_events WHERE id = 'late-1'")).toBe(1);
    const later = (await scrape()).m;
    for (const f of ['requests', 'impressions', 'work_units']) expect(kpi(later, f), f).toBeGreaterThanOrEqual(kpi(before, f));
  });
});
