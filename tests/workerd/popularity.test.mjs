// popularity.test.mjs — live popularity INSIDE workerd (docs/popularity.md): the queue consumer
// (worker.queue → events.js → popularity.js) keeps HyperLogLog sketches in D1, the scheduled handler
// (worker.scheduled → publishLiveLists) computes the four lists and writes KV `lists:live`, and the
// Worker's bundle store (bundles.js → core/live-lists.js → engine.setLists) serves them: the units
// answer of GET /edge/recommend changes.  Everything is the real Worker module over this file's own
// Miniflare storage (KV, D1, R2); events go straight to the consumer as queue messages carrying the
// edge fields (`trust`, `flag`, `conn`) as the Worker sets them (docs/events.md "Edge fields").
//
// Simulated time: Date.now() is the real clock plus an offset (from 2031-05-10 10:30 UTC on); queue
// messages carry that time (the consumer buckets by it), the cron runs at it.  The tests run in order
// and each moves the clock forward past what the previous one left in the windows it looks at.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import {
  env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult, createScheduledController,
} from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import { workerFetch } from '../lib/worker-fetch.mjs';
import wasm from '../../wasm/edgerec.wasm';
import luma from '../../build/workerd/luma.erb';
import lumaV3 from '../../build/workerd/luma-v3.erb';
import { Engine } from '../../worker-shim/core/engine.js';
import { REFRESH_MS } from '../../worker-shim/cloudflare/bundles.js';
import { MIRROR_KEY } from '../../worker-shim/cloudflare/lifecycle.js';
import { syncCatalog } from '../../worker-shim/cloudflare/catalog-sync.js';
import {
  LIVE_KEY, NEW_WEIGHT, TREND_MIN_SUPPORT, computeLists, hllEstimate, hllPoint, liveListsConfig, popularityInput, publishLiveLists,
  recordPopularity,
} from '../../worker-shim/cloudflare/popularity.js';

const SHOP = 'https://shop.example';
const MIN = 60_000, HOUR = 60 * MIN, DAY = 24 * HOUR;
const E = { ...env, CATALOG_REFRESH_MINUTES: '10080' }; // the catalog is synced once, below
const dec = new TextDecoder();

// ---- simulated time --------------------------------------------------------------------------------
const realNow = Date.now.bind(Date);
let offset = Date.UTC(2031, 4, 10, 10, 30) - realNow();
const now = () => realNow() + offset;
const advance = (ms) => { offset += ms; };

// ---- the Worker --------------------------------------------------------------------------------------
const send = (request, e = E) => workerFetch(worker, request, e);

let mseq = 0;
/** Hand events to the real consumer as queue messages sent at `at`, `size` per batch. */
async function consumeAll(events, { at = now(), size = 100 } = {}) {
  for (let i = 0; i < events.length; i += size) {
    const chunk = events.slice(i, i + size);
    const batch = createMessageBatch('edgerec-events', chunk.map((body) => ({ id: `m-${mseq++}`, timestamp: new Date(at), attempts: 1, body: structuredClone(body) })));
    const ctx = createExecutionContext();
    await worker.queue(batch, E, ctx);
    const r = await getQueueResult(batch, ctx);
    expect(r.ackAll, 'the consumer acked the batch').toBe(true);
  }
}

/** A logged event as the Worker queues it (edge fields in `extra`). */
const ev = (type, item, user, extra = {}) => ({ id: crypto.randomUUID(), type, item, user, session: `s-${user}`, ts: Math.floor(now() / 1000), ...extra });

/** The scheduled handler (every 5 minutes) at `at`. */
async function cron(at = now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }), E, ctx);
  await waitOnExecutionContext(ctx);
}
/** One publishing interval later: the cron, then the document in KV. */
let cronAt = 0; // the last publish()'s scheduled time
async function publish() {
  advance(15 * MIN);
  cronAt = now();
  await cron(cronAt);
  return JSON.parse(await env.EDGEREC.get(LIVE_KEY));
}
/** A unit's skus from GET /edge/recommend (opted out: the popularity answer everyone gets), after
 * the isolate's 60 s caches (bundle store, manifest mirror) have expired. */
async function unit(type, { k = 20, headers = { 'sec-gpc': '1' } } = {}) {
  advance(REFRESH_MS + 1000);
  const r = await send(new Request(`${SHOP}/edge/recommend?unit=${type}&k=${k}`, { headers }));
  expect(r.status, r.text).toBe(200);
  return { skus: r.json.results[0]?.productsView.map((p) => p.sku) ?? [], edgerec: r.edgerec };
}
const score = (doc, list, sku) => doc.lists[list]?.find(([s]) => s === sku)?.[1] ?? 0;
const sketchRows = async (where = '1 = 1', ...binds) =>
  (await env.DB.prepare(`SELECT kind, bucket, item, cls, reg, rho FROM pop_sketch WHERE ${where} ORDER BY kind, bucket, item, cls, reg`).bind(...binds).all()).results;

let ITEMS = []; // the bundle's popularity lists: skus in the bundle and in the catalog view (visible, in stock)
const figures = {};

beforeAll(async () => {
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  await env.EDGEREC.put('bundle:test-1', luma.slice(0));
  await env.EDGEREC.put('bundle:test-3', lumaV3.slice(0));
  await env.EDGEREC.put('bundle:active', 'test-1');
  await env.EDGEREC.delete(MIRROR_KEY);
  const h = await send(new Request(`${SHOP}/edge/health`));
  expect(h.json.bundle_version).toBe('test-1');
  expect(h.json.live_lists).toMatchObject({ in_force: false, generated_at: null, error: null });
  const r = await syncCatalog(E, now(), { engine: new Engine(wasm, new Uint8Array(luma)) });
  expect(r.ok, JSON.stringify(r.errors)).toBe(true);
  for (const type of ['most-viewed', 'trending', 'most-purchased', 'most-added-to-cart']) ITEMS.push(...(await unit(type, { k: 25 })).skus);
  ITEMS = [...new Set(ITEMS)];
  expect(ITEMS.length).toBeGreaterThanOrEqual(32);
}, 120_000);
afterAll(() => vi.restoreAllMocks());

describe('the sketch', () => {
  it('HyperLogLog: a key always lands on the same register; estimates are near exact for small counts and within a few % for large', async () => {
    expect(await hllPoint('u:a')).toEqual(await hllPoint('u:a'));
    const regs = new Map();
    for (let n = 1; n <= 5000; n++) {
      const { reg, rho } = await hllPoint(`u:shopper-${n}`);
      expect(reg >= 0 && reg < 256 && rho >= 1 && rho <= 41).toBe(true);
      regs.set(reg, Math.max(regs.get(reg) ?? 0, rho));
      if (n === 1 || n === 10 || n === 100 || n === 1000 || n === 5000) {
        const s = [...regs.values()].reduce((a, r) => a + 2 ** -r, 0);
        const est = hllEstimate(regs.size, s);
        figures[`hll_${n}`] = Math.round(est * 10) / 10;
        expect(Math.abs(est - n) / n, `${n} distinct keys estimated ${est}`).toBeLessThan(n <= 100 ? 0.05 : 0.15);
      }
    }
    expect(hllEstimate(0, 0)).toBe(0);
  });

  it('LIVE_LISTS_MINUTES / LIVE_LISTS_MIN_ITEMS: defaults, and a bad value named', async () => {
    expect(liveListsConfig({})).toEqual({ minutes: 15, minItems: 10 });
    expect(liveListsConfig(env)).toEqual({ minutes: 15, minItems: 10 }); // wrangler.toml's
    expect(() => liveListsConfig({ LIVE_LISTS_MINUTES: '0' })).toThrow("LIVE_LISTS_MINUTES must be an integer ≥ 1 (got '0')");
    expect(() => liveListsConfig({ LIVE_LISTS_MIN_ITEMS: 'x' })).toThrow(/LIVE_LISTS_MIN_ITEMS/);
    const r = await publishLiveLists({ ...E, LIVE_LISTS_MINUTES: 'soon' }, now());
    expect(r).toMatchObject({ published: false, reason: 'error', error: "LIVE_LISTS_MINUTES must be an integer ≥ 1 (got 'soon')" });
    expect((await publishLiveLists({ ...E, DB: undefined }, now())).reason).toBe('D1 binding DB is missing');
  });
});

describe('fresh within one cron run', () => {
  it('views logged now move "most viewed" (the KV document and the units answer) within one cron run; unchanged lists are not rewritten', async () => {
    // item i of the first 20 is viewed by 2 × (20 − i) genuine shoppers: 40, 38, …, 2
    const events = [];
    for (let j = 0; j < 40; j++) for (let i = 0; 2 * (20 - i) > j && i < 20; i++) events.push(ev('view', ITEMS[i], `fresh-u${j}`));
    await consumeAll(events);
    let doc = await publish();
    expect(doc.generated_at).toBe(Math.floor(cronAt / 1000));
    const mv = doc.lists['most-viewed'];
    expect(mv.length).toBe(20);
    expect(mv[0][0]).toBe(ITEMS[0]);
    expect(mv[0][1]).toBeGreaterThan(36);
    expect(mv[0][1]).toBeLessThan(44);
    expect(mv.map(([, s]) => s)).toEqual([...mv.map(([, s]) => s)].sort((a, b) => b - a));
    expect(new Set(mv.slice(0, 3).map(([s]) => s)).size).toBe(3);
    for (const [s] of mv.slice(0, 3)) expect(ITEMS.slice(0, 5)).toContain(s);
    expect(doc.lists['most-purchased']).toBeUndefined(); // fewer than LIVE_LISTS_MIN_ITEMS: the bundle's stays
    expect(doc.counts['most-purchased']).toEqual({ items: 0, published: false });
    expect(doc.lists.trending.length).toBe(19); // viewed in the last 24 h by ≥ 3 (not the 20th: 2), no baseline
    // the Worker's answer follows the document
    const X = ITEMS[25];
    let u = await unit('most-viewed');
    expect(u.skus.slice(0, 3)).toEqual(mv.slice(0, 3).map(([s]) => s));
    expect(u.skus).not.toContain(X);
    const h = await send(new Request(`${SHOP}/edge/health`));
    expect(h.json.live_lists).toMatchObject({ in_force: true, generated_at: doc.generated_at, error: null });
    expect(h.json.live_lists.entries).toEqual({ 'most-viewed': 20, trending: 19 });
    expect(h.json.live_lists.kept).toMatchObject({ 'most-viewed': 20, trending: 19 });
    // 60 shoppers view X now: after the next cron run X leads "most viewed"
    await consumeAll(Array.from({ length: 60 }, (_, j) => ev('view', X, `fresh-x${j}`)));
    doc = await publish();
    expect(doc.lists['most-viewed'][0][0]).toBe(X);
    u = await unit('most-viewed');
    expect(u.skus[0]).toBe(X);
    expect((await unit('trending')).skus[0]).toBe(X);
    // nothing new: the next run computes the same lists and writes nothing
    const at = doc.generated_at;
    advance(5 * MIN);
    await cron(); // not due (5 minutes)
    const s1 = await env.DB.prepare('SELECT checked_at, writes FROM pop_state WHERE id = 1').first();
    const r = await publishLiveLists(E, now() + 10 * MIN);
    expect(r).toMatchObject({ published: false, reason: 'unchanged', generated_at: at });
    expect(JSON.parse(await env.EDGEREC.get(LIVE_KEY)).generated_at).toBe(at);
    expect((await env.DB.prepare('SELECT writes FROM pop_state WHERE id = 1').first()).writes).toBe(s1.writes);
    expect((await publishLiveLists(E, now() + 11 * MIN)).reason).toBe('not due');
  });

  it('a canary engine gets the live lists too; GET /edge/admin/live-lists shows the document and its age', async () => {
    const doc = JSON.parse(await env.EDGEREC.get(LIVE_KEY));
    await env.EDGEREC.put(MIRROR_KEY, JSON.stringify({ active: 'test-1', canary: 'test-3', percent: 100, holdout: 0, salt: 'pop-salt', run: 'test-3@1', revision: 1 }));
    try {
      const u = await unit('most-viewed', { headers: {} }); // a shopper with an id: assigned to the canary
      expect(u.edgerec).toBe('recommended; model=test-3; arm=canary');
      expect(u.skus[0]).toBe(doc.lists['most-viewed'][0][0]);
    } finally { await env.EDGEREC.delete(MIRROR_KEY); }
    expect((await send(new Request(`${SHOP}/edge/admin/live-lists`))).status).toBe(401);
    advance(90_000);
    const a = await send(new Request(`${SHOP}/edge/admin/live-lists`, { headers: { authorization: `Bearer ${env.EDGEREC_ADMIN_TOKEN}` } }));
    expect(a.status).toBe(200);
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.json.lists).toEqual(doc.lists);
    expect(a.json.generated_at).toBe(doc.generated_at);
    expect(a.json.age_seconds).toBe(Math.floor(now() / 1000) - doc.generated_at);
    expect(a.json.age_seconds).toBeGreaterThan(60);
    expect(a.json).toMatchObject({ every_minutes: 15, min_items: 10, config_error: null });
    expect(a.json.kv_writes_today).toBeGreaterThanOrEqual(2);
    expect(a.json.last_run.rows_read).toBeGreaterThan(0);
  });

  it('a bad document in KV keeps the lists in force (health says why); no document → the bundle\'s lists', async () => {
    const good = await env.EDGEREC.get(LIVE_KEY);
    const top = JSON.parse(good).lists['most-viewed'][0][0];
    const health = async () => (await send(new Request(`${SHOP}/edge/health`))).json.live_lists;
    try {
      await env.EDGEREC.put(LIVE_KEY, '{"generated_at": 1, "lists": ');
      expect((await unit('most-viewed')).skus[0]).toBe(top);
      expect(await health()).toMatchObject({ in_force: true, generated_at: JSON.parse(good).generated_at, error: expect.stringMatching(/^live lists: not JSON/) });
      const a = await send(new Request(`${SHOP}/edge/admin/live-lists`, { headers: { authorization: `Bearer ${env.EDGEREC_ADMIN_TOKEN}` } }));
      expect(a.status).toBe(200);
      expect(a.json).toMatchObject({ lists: null, age_seconds: null, document_error: expect.stringMatching(/^lists:live: /) });
      await env.EDGEREC.put(LIVE_KEY, JSON.stringify({ generated_at: 2, lists: { 'most-viewed': [[ITEMS[3], -1]] } }));
      expect((await unit('most-viewed')).skus[0]).toBe(top);
      expect((await health()).error).toMatch(/^range: lists: 'most-viewed'\[0\] score must be a finite number >= 0/);
      await env.EDGEREC.delete(LIVE_KEY);
      expect((await unit('most-viewed')).skus.slice(0, 5)).toEqual(ITEMS.slice(0, 5)); // the bundle's most-viewed
      expect(await health()).toMatchObject({ in_force: false, error: null, kept: null });
    } finally { await env.EDGEREC.put(LIVE_KEY, good); }
    expect((await unit('most-viewed')).skus[0]).toBe(top);
  });
});

describe('trending', () => {
  it('follows a burst: 12 new viewers in the last hour beat items with a steady 6 a day', async () => {
    advance(5 * DAY); // the previous test's hours are out of both trending windows
    const steady = ITEMS.slice(0, 12), Y = ITEMS[30];
    let n = 0;
    for (const hoursAgo of [78, 54, 30, 2]) { // three days of baseline, then the last 24 h
      await consumeAll(steady.flatMap((sku) => Array.from({ length: 6 }, () => ev('view', sku, `steady-${n++}`))), { at: now() - hoursAgo * HOUR });
    }
    let doc = await publish();
    expect(doc.lists.trending.length).toBe(12);
    for (const [, s] of doc.lists.trending) expect(s).toBeCloseTo(6 / (18 / 3 + 2), 0); // R / (B / 3 + 2), ≈ 0.75
    expect(score(doc, 'trending', Y)).toBe(0);
    expect((await unit('trending')).skus).not.toContain(Y);
    await consumeAll(Array.from({ length: 12 }, (_, j) => ev('view', Y, `burst-${j}`)), { at: now() - 20 * MIN });
    doc = await publish();
    expect(doc.lists.trending[0][0]).toBe(Y);
    expect(doc.lists.trending[0][1]).toBeGreaterThan(5); // ≈ 12 / (0 + 2)
    expect((await unit('trending')).skus[0]).toBe(Y);
    // 2 viewers are not enough support to trend, however fresh the item
    const Z = ITEMS[31];
    await consumeAll([ev('view', Z, 'lone-1'), ev('view', Z, 'lone-2')]);
    doc = await publish();
    expect(score(doc, 'trending', Z)).toBe(0);
    expect(TREND_MIN_SUPPORT).toBe(3);
  });
});

describe('idempotent under redelivery and re-batching', () => {
  it('the same batch twice, and the same events split differently (shuffled, duplicated), give identical tables and lists', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const types = ['view', 'view', 'view', 'click', 'cart', 'purchase', 'wishlist', 'impression'];
    const events = Array.from({ length: 400 }, () => {
      const t = types[Math.floor(rnd() * types.length)];
      const extra = {};
      if (rnd() < 0.3) { extra.trust = 'new'; if (rnd() < 0.8) extra.conn = `c0ffee${String(Math.floor(rnd() * 5)).padStart(10, '0')}`; }
      if (rnd() < 0.1) extra.flag = rnd() < 0.5 ? 'bot' : 'rate-limited';
      const e = ev(t, `IDEM-${Math.floor(rnd() * 10)}`, `idem-u${Math.floor(rnd() * 60)}`, extra);
      if (t === 'impression') { delete e.item; e.items = ['IDEM-1', 'IDEM-2']; }
      return e;
    });
    const at = now();
    const mine = () => sketchRows("item LIKE 'IDEM-%'");
    await consumeAll(events, { at });
    const once = await mine();
    expect(once.length).toBeGreaterThan(100);
    expect(new Set(once.map((r) => r.kind))).toEqual(new Set(['view', 'viewh', 'cart', 'purchase']));
    expect(new Set(once.map((r) => r.cls))).toEqual(new Set(['e', 'n']));
    const lists1 = await computeLists(env.DB, now());
    await consumeAll(events, { at }); // redelivered
    expect(await mine()).toEqual(once);
    // the same inputs straight into the sketches: every register already holds its maximum, D1 writes nothing
    const inputs = events.map((e) => popularityInput(e, at));
    const again = await recordPopularity(env.DB, inputs, now());
    expect(again.rows).toBe(once.length);
    expect(again.written).toBe(0);
    await env.DB.prepare("DELETE FROM pop_sketch WHERE item LIKE 'IDEM-%'").run();
    const first = await recordPopularity(env.DB, inputs, now());
    expect(first.written).toBe(once.length);
    expect(await mine()).toEqual(once);
    figures.idem = { events: events.length, register_rows: once.length, rows_written_first: first.written, rows_written_again: again.written };
    await env.DB.prepare("DELETE FROM pop_sketch WHERE item LIKE 'IDEM-%'").run();
    const shuffled = [...events, ...events.slice(0, 50)].map((e) => [rnd(), e]).sort((a, b) => a[0] - b[0]).map(([, e]) => e);
    await consumeAll(shuffled, { at, size: 7 });
    expect(await mine()).toEqual(once);
    const lists2 = await computeLists(env.DB, now());
    expect(lists2.lists).toEqual(lists1.lists);
  });
});

describe('pruning', () => {
  it('hourly buckets go after 4 days, daily ones after 8; what the windows need stays', async () => {
    const at = now();
    await consumeAll([ev('view', 'PRUNE-1', 'prune-u1')], { at });
    const count = async (kind) => (await sketchRows("item = 'PRUNE-1' AND kind = ?", kind)).length;
    expect([await count('view'), await count('viewh')]).toEqual([1, 1]);
    advance(95 * HOUR - 15 * MIN);
    await publish(); // 95 h later: the hour is still in the trending baseline
    expect([await count('view'), await count('viewh')]).toEqual([1, 1]);
    advance(2 * HOUR - 15 * MIN);
    const before = (await sketchRows("kind = 'viewh'")).length;
    await publish();
    expect([await count('view'), await count('viewh')]).toEqual([1, 0]);
    const hNow = Math.floor(now() / HOUR);
    expect((await sketchRows("kind = 'viewh' AND bucket <= ?", hNow - 96)).length).toBe(0);
    expect((await sketchRows("kind = 'viewh'")).length).toBeLessThan(before);
    const state = await env.DB.prepare('SELECT summary FROM pop_state WHERE id = 1').first();
    expect(JSON.parse(state.summary).pruned).toBeGreaterThan(0);
    advance(4 * DAY + 2 * HOUR);
    await publish();
    expect(await count('view')).toBe(0);
    const today = Math.floor(now() / DAY);
    expect((await sketchRows("kind IN ('view', 'cart', 'purchase') AND bucket <= ?", today - 8)).length).toBe(0);
    // events older than every window are not recorded at all
    await consumeAll([ev('view', 'PRUNE-2', 'prune-u2')], { at: now() - 9 * DAY });
    expect((await sketchRows("item = 'PRUNE-2'")).length).toBe(0);
  });
});

describe('one shopper cannot move what everyone sees', () => {
  it('10,000 views from one shopper, from 50, and from 10,000 fresh ids on one connection move most viewed and trending like 1, 50 and 0.25 real shoppers; flagged events are logged, marked, and not counted', async () => {
    advance(10 * DAY); // every earlier bucket is out of the windows
    const [A1, A50, ANEW, K1, K50SAME, K50, F] = ITEMS.slice(12, 19);
    const CONN = '0123456789abcdef';
    const events = [];
    for (const [i, sku] of ITEMS.slice(0, 12).entries()) for (let j = 0; j < 5; j++) events.push(ev('view', sku, `bg-${i}-${j}`)); // background: 5 shoppers each
    for (let i = 0; i < 10_000; i++) events.push(ev('view', A1, 'attacker-1'));
    for (let i = 0; i < 10_000; i++) events.push(ev('view', A50, `attacker50-${i % 50}`));
    for (let i = 0; i < 10_000; i++) events.push(ev('view', ANEW, `cookieless-${i}`, { trust: 'new', conn: CONN }));
    events.push(ev('view', K1, 'genuine-1'));
    for (let j = 0; j < 50; j++) events.push(ev('view', K50SAME, `attacker50-${j}`)); // the same 50 shoppers, once each
    for (let j = 0; j < 50; j++) events.push(ev('view', K50, `genuine50-${j}`)); // 50 other shoppers, once each
    for (let j = 0; j < 300; j++) events.push(ev('view', F, `flagged-${j}`, { flag: j % 2 ? 'bot' : 'rate-limited' }));
    let seed = 11; // interleaved, as traffic arrives
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const mixed = events.map((e) => [rnd(), e]).sort((a, b) => a[0] - b[0]).map(([, e]) => e);
    const t0 = performance.now();
    await consumeAll(mixed);
    figures.consume_ms_per_100 = Math.round((performance.now() - t0) / (mixed.length / 100) * 10) / 10;
    figures.events = mixed.length;
    const doc = await publish();
    const mv = (s) => score(doc, 'most-viewed', s), tr = (s) => score(doc, 'trending', s);
    Object.assign(figures, {
      most_viewed: { one_shopper_10k: mv(A1), genuine_1: mv(K1), fifty_shoppers_10k: mv(A50), same_50_once: mv(K50SAME), genuine_50: mv(K50), fresh_ids_one_conn_10k: mv(ANEW), flagged_300: mv(F) },
      trending: { one_shopper_10k: tr(A1), genuine_1: tr(K1), fifty_shoppers_10k: tr(A50), same_50_once: tr(K50SAME), genuine_50: tr(K50), fresh_ids_one_conn_10k: tr(ANEW), flagged_300: tr(F) },
      sketch_rows: (await env.DB.prepare('SELECT COUNT(*) n FROM pop_sketch').first()).n,
      rows_read_per_run: (await env.DB.prepare('SELECT rows_read FROM pop_state WHERE id = 1').first()).rows_read,
    });
    console.log(`popularity figures: ${JSON.stringify(figures)}`);
    // one shopper: exactly one shopper's worth (1 distinct), in both lists
    expect(mv(A1)).toBe(mv(K1));
    expect(mv(A1)).toBeCloseTo(1, 1);
    expect(tr(A1)).toBeLessThanOrEqual(tr(K1)); // below the trending support, as one real viewer is
    // 50 shoppers: exactly what the same 50 viewing once give, and within the sketch's error of 50 others
    expect(mv(A50)).toBe(mv(K50SAME));
    expect(tr(A50)).toBe(tr(K50SAME));
    expect(mv(A50)).toBeLessThanOrEqual(mv(K50) * 1.1);
    expect(Math.abs(mv(A50) - 50)).toBeLessThan(5);
    // 10,000 cookie-less ids on one connection: one connection key a day, at a quarter
    expect(mv(ANEW)).toBeLessThanOrEqual(NEW_WEIGHT * mv(K1) + 0.001);
    expect(mv(ANEW)).toBeGreaterThan(0);
    expect(tr(ANEW)).toBe(0);
    // flagged: not counted anywhere
    expect(mv(F)).toBe(0);
    expect(tr(F)).toBe(0);
    // what everyone sees: the 5-shopper background items all rank above the one-shopper and the cookie-less attacks
    const { skus } = await unit('most-viewed', { k: 20 });
    expect(new Set(skus.slice(0, 3))).toEqual(new Set([A50, K50SAME, K50])); // 50 shoppers are 50 shoppers
    for (const bg of ITEMS.slice(0, 12)) {
      expect(skus.indexOf(bg)).toBeGreaterThanOrEqual(0);
      if (skus.includes(A1)) expect(skus.indexOf(bg)).toBeLessThan(skus.indexOf(A1));
      if (skus.includes(ANEW)) expect(skus.indexOf(bg)).toBeLessThan(skus.indexOf(ANEW));
    }
    expect(skus).not.toContain(F);
    // still logged, marked; the connection key stored nowhere
    const flagged = [], fresh = [];
    let cursor, objects = 0;
    do {
      const l = await env.EDGEREC_EVENTS.list({ prefix: 'events/', cursor });
      for (const o of l.objects) {
        const text = await (await env.EDGEREC_EVENTS.get(o.key)).text();
        objects++;
        expect(text.includes('"conn"'), o.key).toBe(false);
        for (const line of text.split('\n')) {
          if (!line) continue;
          const e = JSON.parse(line);
          if (e.user?.startsWith('flagged-')) flagged.push(e);
          if (e.user?.startsWith('cookieless-')) fresh.push(e);
        }
      }
      cursor = l.truncated ? l.cursor : undefined;
    } while (cursor);
    expect(objects).toBeGreaterThan(0);
    expect(flagged.length).toBe(300);
    expect(new Set(flagged.map((e) => e.flag))).toEqual(new Set(['bot', 'rate-limited']));
    expect(fresh.length).toBe(10_000);
    expect(fresh.every((e) => e.trust === 'new' && e.conn === undefined)).toBe(true);
  }, 120_000);
});

describe('through the Worker: product views on /graphql and POST /edge/events, marked at the edge', () => {
  it('an established shopper\'s 40 product views count 1, 200 cookie-less posts from one network 0.25, a crawler\'s views 0; 3 real shoppers 3', async () => {
    advance(10 * DAY);
    const queued = [];
    const EQ = { ...E, EVENTS: {
      send: async (body) => { queued.push(structuredClone(body)); },
      sendBatch: async (msgs) => { for (const m of msgs) queued.push(structuredClone(m.body)); },
    } };
    const [Q, P, BOT, K] = ITEMS.slice(20, 24);
    const keys = JSON.parse(dec.decode(new Uint8Array(await (await fetch(`http://magento.test/graphql?${new URLSearchParams({
      query: `{ products(filter: { sku: { in: ${JSON.stringify([Q, BOT, K])} } }, pageSize: 10) { items { sku url_key } } }` })}`, { headers: { 'x-test-direct': '1' } })).arrayBuffer()))).data.products.items;
    const urlKey = Object.fromEntries(keys.map((i) => [i.sku, i.url_key]));
    const productPath = (sku) => `/graphql?${new URLSearchParams({ operationName: 'getProductDetailForProductPage', variables: JSON.stringify({ urlKey: urlKey[sku] }),
      query: 'query getProductDetailForProductPage($urlKey: String!) { products(filter: { url_key: { eq: $urlKey } }) { items { id uid sku name url_key __typename } } }' })}`;
    const browser = (ua = 'Mozilla/5.0 (X11; Linux x86_64) edgerec-test') => {
      const jar = new Map();
      const go = async (path, init = {}) => {
        const headers = { 'user-agent': ua, ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}), ...(init.headers ?? {}) };
        const r = await send(new Request(SHOP + path, { ...init, headers }), EQ);
        for (const c of r.headers.getSetCookie()) { const [k, v] = c.split(';')[0].split('='); jar.set(k, v); }
        return r;
      };
      return { go, post: (path, body) => go(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) };
    };
    // shoppers with a state: their first request (an impression, which counts for nothing here), then 11 minutes
    const regular = browser(), real = [browser(), browser(), browser()];
    for (const b of [regular, ...real]) expect((await b.post('/edge/events', { type: 'impression', items: [K], unit: 'listing' })).status).toBe(202);
    advance(11 * MIN); // past ESTABLISHED_AFTER_SECONDS (600)
    for (let i = 0; i < 40; i++) expect((await regular.go(productPath(Q))).edgerec).toMatch(/^observed; events=view/);
    for (const b of real) await b.go(productPath(K));
    for (let i = 0; i < 200; i++) expect((await browser().post('/edge/events', { type: 'view', item: P, trust: 'established-honest' })).status).toBe(202);
    const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    for (let i = 0; i < 20; i++) await browser(googlebot).go(productPath(BOT));
    // background so that "most viewed" has its 10 items: 5 established shoppers each on 12 others
    for (const [i, sku] of ITEMS.slice(0, 12).entries()) for (let j = 0; j < 5; j++) queued.push(ev('view', sku, `w-bg-${i}-${j}`));
    // what the edge marked
    const views = (sku) => queued.filter((e) => e.type === 'view' && e.item === sku);
    expect(views(Q).length).toBe(40);
    expect(views(Q).every((e) => e.trust === undefined && e.flag === undefined && e.conn === undefined)).toBe(true);
    expect(new Set(views(Q).map((e) => e.user)).size).toBe(1);
    expect(views(P).length).toBe(200);
    expect(new Set(views(P).map((e) => e.user)).size).toBe(200);
    expect(views(P).every((e) => e.trust === 'new' && /^[0-9a-f]{16}$/.test(e.conn))).toBe(true);
    expect(new Set(views(P).map((e) => e.conn)).size).toBe(1);
    expect(views(BOT).length).toBe(20);
    expect(views(BOT).every((e) => e.flag === 'bot')).toBe(true);
    await consumeAll(queued.splice(0));
    const doc = await publish();
    const mv = (sku) => score(doc, 'most-viewed', sku);
    figures.through_worker = { established_40_views: mv(Q), cookieless_200_posts: mv(P), googlebot_20_views: mv(BOT), real_3: mv(K) };
    console.log(`popularity through the Worker: ${JSON.stringify(figures.through_worker)}`);
    expect(mv(Q)).toBeCloseTo(1, 1);
    expect(mv(P)).toBeCloseTo(NEW_WEIGHT, 2);
    expect(mv(BOT)).toBe(0);
    expect(mv(K)).toBeGreaterThan(2.9);
    expect(mv(K)).toBeLessThan(3.1);
  }, 120_000);
});
