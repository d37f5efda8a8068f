// retention.test.mjs — the data lifecycle of what R2 holds (worker-shim/cloudflare/retention.js,
// docs/events.md "Retention and erasure"), INSIDE workerd through the real Worker: the scheduled
// handler (worker.scheduled) expires event-log hours past EVENT_LOG_DAYS and feedback text past
// FEEDBACK_TEXT_DAYS, and purges erased shoppers' past events from the log (sweeps bounded by
// RETENTION_OBJECTS_PER_RUN, progress kept in D1, the purge recorded on the tombstone and in the audit log).
// Events reach R2 through the real queue consumer (worker.queue); erasures through DELETE /edge/profile.
// Storage (KV, D1, R2) is this file's own Miniflare; each test uses its own hours, far apart.
import { describe, it, expect } from 'vitest';
import {
  env, createExecutionContext, waitOnExecutionContext, createMessageBatch, getQueueResult, createScheduledController,
} from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import * as events from '../../worker-shim/cloudflare/events.js';
import {
  DEFAULT_EVENT_LOG_DAYS, PURGE_GRACE_S, expireEventLog, purgeErased, purgeState, retentionConfig, runRetention, withoutUsers,
} from '../../worker-shim/cloudflare/retention.js';
import { recordingEnv } from './recording-env.mjs';
import { customerKey } from '../../worker-shim/core/identity.js';
import { magentoJwt } from '../standin/magento.mjs';

const SHOP = 'https://shop.example';
const DAY = 86_400_000;
const HOUR = 3_600_000;
const R2 = env.EDGEREC_EVENTS;
const { hourPrefix, tombstoneKey } = events;
const DLQ = events.DEAD_LETTER_QUEUE ?? 'edgerec-events-dlq'; // events.js consumeDeadLetters

/** Every key under `prefix`, in order. */
async function keys(prefix) {
  const out = [];
  let cursor;
  do {
    const l = await R2.list({ prefix, cursor });
    out.push(...l.objects.map((o) => o.key));
    cursor = l.truncated ? l.cursor : undefined;
  } while (cursor);
  return out;
}

/** Every event line under events/ as parsed objects. */
async function loggedEvents() {
  const out = [];
  for (const k of await keys('events/')) for (const line of (await (await R2.get(k)).text()).split('\n')) if (line) out.push(JSON.parse(line));
  return out;
}

/** The scheduled handler at `at` (what the cron runs every 5 minutes). */
async function cron(e, at) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '*/5 * * * *' }), e, ctx);
  await waitOnExecutionContext(ctx);
}

/** The real queue consumer over `bodies` (one batch). */
async function consume(bodies, e = env, at = Date.now(), queue = 'edgerec-events') {
  const batch = createMessageBatch(queue, bodies.map((body, i) => ({ id: `r-${at}-${i}`, timestamp: new Date(at), attempts: 1, body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, e, ctx);
  expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
}

/** One request to the Worker; cookies: the jar (name → value) it reads and updates. */
async function send(e, path, { method = 'GET', body, jar = new Map(), headers = {} } = {}) {
  const h = new Headers({ 'cf-connecting-ip': '203.0.113.50', ...headers });
  if (jar.size) h.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
  if (body !== undefined) h.set('content-type', 'application/json');
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${SHOP}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }), e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    if (/Max-Age=0/i.test(c)) jar.delete(pair.slice(0, i)); else jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return { status: res.status, text, jar };
}

const ev = (id, user, tsMs, type = 'view') => ({ id, type, item: '24-MB01', ts: tsMs / 1000, session: `s-${id}`, ...(user ? { user } : {}) });

describe('settings', () => {
  it('EVENT_LOG_DAYS defaults to 400 and RETENTION_OBJECTS_PER_RUN to 200; a bad value is named and falls back', () => {
    expect(retentionConfig({})).toEqual({ eventLogDays: DEFAULT_EVENT_LOG_DAYS, objectsPerRun: 200, problems: [] });
    expect(DEFAULT_EVENT_LOG_DAYS).toBe(400);
    expect(retentionConfig({ EVENT_LOG_DAYS: '30', RETENTION_OBJECTS_PER_RUN: '50' })).toMatchObject({ eventLogDays: 30, objectsPerRun: 50 });
    const bad = retentionConfig({ EVENT_LOG_DAYS: 'forever', RETENTION_OBJECTS_PER_RUN: '0' });
    expect(bad).toMatchObject({ eventLogDays: 400, objectsPerRun: 200 });
    expect(bad.problems).toEqual([expect.stringMatching(/^EVENT_LOG_DAYS: "forever" is not/), expect.stringMatching(/^RETENTION_OBJECTS_PER_RUN: "0" is not/)]);
  });

  it('wrangler.toml declares the default', async () => {
    expect(env.EVENT_LOG_DAYS).toBe('400');
    expect(env.RETENTION_OBJECTS_PER_RUN).toBe('200');
  });
});

describe('the event log expires after EVENT_LOG_DAYS', () => {
  it('the cron deletes the hours older than the retention, keeps the rest; "0" keeps everything', async () => {
    const now = Date.UTC(2027, 5, 15, 12, 30);
    const at = (ms) => hourPrefix(ms / 1000);
    const old = [now - 500 * DAY, now - 401 * DAY, now - 400 * DAY - HOUR];
    const young = [now - 400 * DAY + HOUR, now - 10 * DAY, now];
    for (const [i, t] of [...old, ...young].entries()) await consume([ev(`exp-${i}`, 'a'.repeat(64), t)]);
    expect((await keys('events/')).length).toBe(6);
    const day = (ms) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/');
    await R2.put(`dead-letter/${day(now - 402 * DAY)}/old.json`, '{}');
    await R2.put(`dead-letter/${day(now - 398 * DAY)}/young.json`, '{}');
    await cron({ ...env, EVENT_LOG_DAYS: '0' }, now);
    expect((await keys('events/')).length).toBe(6);
    await cron(env, now); // wrangler.toml's 400
    const left = await keys('events/');
    expect(left.map((k) => k.slice(0, 'events/YYYY/MM/DD/HH/'.length))).toEqual(young.map(at));
    expect((await loggedEvents()).map((e) => e.id).sort()).toEqual(['exp-3', 'exp-4', 'exp-5']);
    expect(await keys('dead-letter/')).toEqual([`dead-letter/${day(now - 398 * DAY)}/young.json`]); // dead letters by their day
    for (const k of [...left, ...await keys('dead-letter/')]) await R2.delete(k);
  });

  it('bounded work per run: at most `limit` objects go, oldest first; the next run goes on', async () => {
    const now = Date.UTC(2028, 0, 10);
    for (let i = 0; i < 5; i++) await consume([ev(`bnd-${i}`, null, now - (450 + i) * DAY)]);
    await consume([ev('bnd-young', null, now - DAY)]);
    expect(await expireEventLog(env, now, 2)).toBe(2);
    const after1 = await keys('events/');
    expect(after1.length).toBe(4);
    expect(after1[0] > hourPrefix((now - 453 * DAY) / 1000)).toBe(true); // the two oldest went
    expect(await expireEventLog(env, now, 2)).toBe(2);
    expect(await expireEventLog(env, now, 2)).toBe(1);
    expect(await expireEventLog(env, now, 2)).toBe(0);
    expect((await loggedEvents()).map((e) => e.id)).toEqual(['bnd-young']);
    for (const k of await keys('events/')) await R2.delete(k);
  });
});

describe('feedback text is really deleted after FEEDBACK_TEXT_DAYS', () => {
  it('stored with the days set, kept within them, gone after; with 0 never stored', async () => {
    const { env: e } = recordingEnv({ FEEDBACK_TEXT_DAYS: '2' });
    const r = await send(e, '/edge/feedback', { method: 'POST', body: { item: '24-MB01', rating: 2, text: 'the strap broke' } });
    expect(r.status).toBe(202);
    const stored = await keys('feedback-text/');
    expect(stored.length).toBe(1);
    expect(stored[0]).toMatch(/^feedback-text\/\d{4}\/\d\d\/\d\d\/[0-9a-f-]{36}\.json$/);
    const body = JSON.parse(await (await R2.get(stored[0])).text());
    expect(body).toMatchObject({ item: '24-MB01', rating: 2, text: 'the strap broke' });
    expect(body.user).toMatch(/^[0-9a-f]{64}$/); // the pseudonymous id, nothing else about the shopper

    const t0 = Date.now();
    await cron(e, t0 + 1 * DAY); // within the 2 days
    expect(await keys('feedback-text/')).toEqual(stored);
    await cron(e, t0 + 2 * DAY + HOUR / 2); // past 2 days but its day not yet over: whole days
    await cron(e, t0 + 3 * DAY + HOUR); // a day after its retention at the latest
    expect(await keys('feedback-text/')).toEqual([]);
    expect(await R2.get(stored[0])).toBeNull();

    const { env: off } = recordingEnv({ FEEDBACK_TEXT_DAYS: '0' });
    expect((await send(off, '/edge/feedback', { method: 'POST', body: { item: '24-MB01', rating: 5, text: 'great' } })).status).toBe(202);
    expect(await keys('feedback-text/')).toEqual([]);
  });

  it('lowering FEEDBACK_TEXT_DAYS to 0 deletes what was kept, day by day', async () => {
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    const yesterday = new Date(Date.now() - DAY).toISOString().slice(0, 10).replaceAll('-', '/');
    await R2.put(`feedback-text/${yesterday}/old.json`, '{"text":"x"}');
    await R2.put(`feedback-text/${today}/new.json`, '{"text":"y"}');
    await cron({ ...env, FEEDBACK_TEXT_DAYS: '0' }, Date.now());
    expect(await keys('feedback-text/')).toEqual([`feedback-text/${today}/new.json`]);
    await R2.delete(`feedback-text/${today}/new.json`);
  });
});

describe('erasure purges past events', () => {
  it('withoutUsers drops the lines of the erased ids (and unparsable lines naming one), keeps the rest byte for byte', () => {
    const a = 'a'.repeat(64), b = 'b'.repeat(64);
    const text = `{"id":"1","user":"${a}"}\n{"id":"2","user":"${b}"}\nnot json ${a}\n{"id":"3"}\n`;
    expect(withoutUsers(text, new Set([a]))).toEqual({ text: `{"id":"2","user":"${b}"}\n{"id":"3"}\n`, kept: 2, removed: 2 });
    expect(withoutUsers(`{"user":"${a}"}`, new Set([a]))).toEqual({ text: '', kept: 0, removed: 1 });
    expect(withoutUsers(`{"user":"${b}"}`, new Set([a]))).toEqual({ text: `{"user":"${b}"}`, kept: 1, removed: 0 });
  });

  it('DELETE /edge/profile → after the grace the cron rewrites every object holding the shopper\'s events, in bounded runs, and records it', async () => {
    for (const k of [...await keys('events/'), ...await keys('feedback-text/')]) await R2.delete(k);
    const { env: e, queued } = recordingEnv({ FEEDBACK_TEXT_DAYS: '30', RETENTION_OBJECTS_PER_RUN: '3' });
    // two shoppers through the Worker: their events are queued with their pseudonymous ids
    const gone = new Map(), kept = new Map();
    for (const jar of [gone, kept]) {
      expect((await send(e, '/edge/events', { method: 'POST', body: { type: 'view', item: '24-MB01' }, jar })).status).toBe(202);
    }
    const [goneId, keptId] = queued.splice(0).map((m) => m.user);
    expect(goneId).toMatch(/^[0-9a-f]{64}$/);
    expect(keptId).not.toBe(goneId);
    expect((await send(e, '/edge/feedback', { method: 'POST', body: { item: '24-MB02', rating: 1, text: 'I am the erased one' }, jar: gone })).status).toBe(202);
    queued.length = 0;
    // their history: 8 hours; hours 0..3 both, 4..5 only the erased one, 6..7 only the other one
    const start = Date.now() - 30 * DAY;
    for (let h = 0; h < 8; h++) {
      const t = start + h * HOUR;
      const batch = [];
      if (h < 6) batch.push(ev(`g-${h}-a`, goneId, t), ev(`g-${h}-b`, goneId, t + 1000, 'cart'));
      if (h < 4 || h >= 6) batch.push(ev(`k-${h}`, keptId, t + 2000));
      if (h === 2) batch.push(ev('anon-2', null, t + 3000));
      await consume(batch, e);
    }
    await consume([ev('dead-1', goneId, start), ev('dead-2', keptId, start)], e, start, DLQ); // a poison batch kept in dead-letter/
    expect((await keys('dead-letter/')).length).toBe(2);
    const before = await loggedEvents();
    const want = before.filter((x) => x.user !== goneId).map((x) => JSON.stringify(x)).sort();
    expect(before.filter((x) => x.user === goneId).length).toBe(12);
    expect((await keys('events/')).length).toBe(8);
    expect((await keys('feedback-text/')).length).toBe(1);

    const del = await send(e, '/edge/profile', { method: 'DELETE', jar: gone });
    expect(JSON.parse(del.text)).toMatchObject({ erased: true });
    const tomb = await env.EDGEREC.getWithMetadata(tombstoneKey(goneId));
    expect(tomb.value).toMatch(/^\d+$/);
    expect(tomb.metadata).toBeNull();
    const erasedAt = Number(tomb.value) * 1000;

    // within the grace (a batch in flight may still write): nothing yet
    await cron(e, erasedAt + 10 * 60_000);
    expect(await purgeState(e)).toBeNull();
    expect((await loggedEvents()).filter((x) => x.user === goneId).length).toBe(12);

    // after it: 3 objects a run (RETENTION_OBJECTS_PER_RUN), 8 event objects + 1 feedback text + 2 dead letters
    let t = erasedAt + PURGE_GRACE_S * 1000 + 60_000;
    await cron(e, t);
    const s1 = await purgeState(e);
    expect(s1).toMatchObject({ phase: 0, scanned: 3, users: [[goneId, tomb.value]] });
    expect((await loggedEvents()).filter((x) => x.user === goneId).length).toBe(6); // hours 0..2 done
    const st = await send(e, '/edge/admin/retention', { headers: { authorization: `Bearer ${env.EDGEREC_ADMIN_TOKEN}` } });
    expect(st.status).toBe(200);
    expect(JSON.parse(st.text)).toMatchObject({ event_log_days: 400, feedback_text_days: 30, objects_per_run: 3, problems: [],
      sweep: { erasures: 1, prefix: 'events/', scanned: 3, rewritten: 3, deleted: 0, removed: 6 }, erasures_not_purged: 1 });
    expect(st.text).not.toContain(goneId); // counts and position, never the ids
    expect((await send(e, '/edge/admin/retention')).status).toBe(401);
    const runs = [s1];
    while (await purgeState(e)) {
      t += 5 * 60_000;
      await cron(e, t);
      runs.push(await purgeState(e));
      expect(runs.length).toBeLessThan(10);
    }
    expect(runs.length).toBe(4); // ⌈11 / 3⌉ runs

    const after = await loggedEvents();
    expect(after.filter((x) => x.user === goneId)).toEqual([]);
    expect(after.map((x) => JSON.stringify(x)).sort()).toEqual(want); // everyone else's, byte for byte
    const left = await keys('events/');
    expect(left.length).toBe(6); // hours 4..5 held only the erased shopper: deleted
    for (const k of left) {
      const o = await R2.get(k);
      const n = (await o.text()).split('\n').filter(Boolean).length;
      expect(o.customMetadata.events).toBe(String(n));
      expect(o.httpMetadata.contentType).toBe('application/x-ndjson');
    }
    expect(await keys('feedback-text/')).toEqual([]); // the erased shopper's feedback text too
    const dead = await keys('dead-letter/'); // and their dead letter; the other one stays
    expect(dead.length).toBe(1);
    expect(JSON.parse(await (await R2.get(dead[0])).text()).body).toMatchObject({ id: 'dead-2', user: keptId });
    const done = await env.EDGEREC.getWithMetadata(tombstoneKey(goneId));
    expect(done.value).toBe(tomb.value); // still a tombstone: the consumer keeps dropping late events
    expect(done.metadata).toEqual({ purged: Math.floor(t / 1000) });
    const row = await env.DB.prepare("SELECT * FROM audit WHERE action = 'purge-erased' ORDER BY id DESC LIMIT 1").first();
    expect(row).toMatchObject({ actor: 'retention' });
    expect(JSON.parse(row.figures)).toMatchObject({ users: 1, scanned: 11, removed: 14, deleted: 4, rewritten: 4 });

    // idle afterwards; the export and the trainer's input agree
    expect(await purgeErased(e, t + 60_000)).toEqual({ idle: true });
  });

  it('a later erasure joins the next sweep; an erasure during a sweep waits for the one after', async () => {
    for (const k of await keys('events/')) await R2.delete(k);
    const [u1, u2, u3] = ['1', '2', '3'].map((c) => c.repeat(64));
    const base = Date.now() - 5 * DAY;
    for (let h = 0; h < 4; h++) await consume([ev(`l-${h}-1`, u1, base + h * HOUR), ev(`l-${h}-2`, u2, base + h * HOUR + 1), ev(`l-${h}-3`, u3, base + h * HOUR + 2)]);
    const t0 = Date.now() + 2 * PURGE_GRACE_S * 1000;
    await env.EDGEREC.put(tombstoneKey(u1), String(Math.floor(Date.now() / 1000)));
    expect(await purgeErased(env, t0, 2)).toMatchObject({ progress: { scanned: 2, users: 1 } });
    await env.EDGEREC.put(tombstoneKey(u2), String(Math.floor(Date.now() / 1000))); // during the sweep
    expect(await purgeErased(env, t0 + 1, 2)).toMatchObject({ progress: { scanned: 4 } });
    expect(await purgeErased(env, t0 + 2, 2)).toMatchObject({ done: true, users: 1, removed: 4 }); // the feedback-text/ phase: empty
    let users = new Set((await loggedEvents()).map((x) => x.user));
    expect(users.has(u1)).toBe(false);
    expect(users.has(u2)).toBe(true); // not in that sweep
    const r = await purgeErased(env, t0 + 3, 10);
    expect(r).toMatchObject({ done: true, users: 1, removed: 4 }); // u1 is purged already: only u2
    users = new Set((await loggedEvents()).map((x) => x.user));
    expect([...users]).toEqual([u3]);
    // a tombstone written by hand with no time is purged too (not held back by the grace forever)
    await env.EDGEREC.put(tombstoneKey(u3), 'yes');
    expect(await purgeErased(env, t0 + 4, 10)).toMatchObject({ done: true, users: 1, removed: 4, deleted: 4 });
    expect(await keys('events/')).toEqual([]);
  });

  it('a failing R2 read stops the run, keeps the progress and never throws out of the cron', async () => {
    const u = '4'.repeat(64);
    const base = Date.now() - 2 * DAY;
    for (let h = 0; h < 3; h++) await consume([ev(`f-${h}`, u, base + h * HOUR), ev(`f-${h}-x`, '5'.repeat(64), base + h * HOUR + 1)]);
    await env.EDGEREC.put(tombstoneKey(u), String(Math.floor(Date.now() / 1000)));
    const t0 = Date.now() + 2 * PURGE_GRACE_S * 1000;
    await purgeErased(env, t0, 1);
    const s = await purgeState(env);
    expect(s.scanned).toBe(1);
    let gets = 0;
    const broken = { ...env, RETENTION_OBJECTS_PER_RUN: '2', EDGEREC_EVENTS: new Proxy(R2, { get: (o, k) => (k === 'get' ? async (...a) => { if (++gets > 1) throw new Error('R2 is down'); return o.get(...a); } : typeof o[k] === 'function' ? o[k].bind(o) : o[k]) }) };
    const out = await runRetention(broken, t0 + 1);
    expect(out.purge).toEqual({ error: 'R2 is down' });
    expect((await purgeState(env)).scanned).toBe(1); // the failed run saved nothing: the next one redoes its objects
    expect(await purgeErased(env, t0 + 2, 10)).toMatchObject({ done: true }); // removed: what this run found (the failed run's rewrite stays)
    expect((await loggedEvents()).every((x) => x.user !== u)).toBe(true);
    for (const k of await keys('events/')) await R2.delete(k);
  });
});

describe('an operator erases a shopper for a request made elsewhere (POST /edge/admin/erasures, erasure.js)', () => {
  const op = (e, body, token = env.EDGEREC_ADMIN_TOKEN) => send(e, '/edge/admin/erasures', {
    method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const erasureRows = async () => (await env.DB.prepare("SELECT * FROM audit WHERE action = 'erase' ORDER BY id").all()).results;

  it('by the pseudonymous id the shopper was shown: a tombstone (kept at its first time), the consumer and the purge leave the events out, an audit row without the id', async () => {
    for (const k of await keys('events/')) await R2.delete(k);
    const { env: e, queued } = recordingEnv();
    const jar = new Map(), other = new Map();
    for (const j of [jar, other]) expect((await send(e, '/edge/events', { method: 'POST', body: { type: 'view', item: '24-MB01' }, jar: j })).status).toBe(202);
    const [user, keptUser] = queued.splice(0).map((m) => m.user);
    const shown = JSON.parse((await send(e, '/edge/profile', { jar })).text);
    expect(shown.id).toBe(user); // what the shopper quotes in their request to the store
    const base = Date.now() - 3 * DAY;
    for (let h = 0; h < 3; h++) await consume([ev(`op-${h}-a`, user, base + h * HOUR), ev(`op-${h}-b`, keptUser, base + h * HOUR + 1)], e);
    const rows0 = (await erasureRows()).length;

    const r = await op(e, { id: user, reason: 'ticket 4711' });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ erased: true, tombstones: 1, kind: 'id' });
    const first = await env.EDGEREC.get(tombstoneKey(user));
    expect(Math.abs(Number(first) - Date.now() / 1000)).toBeLessThan(60);
    const tomb = String(Number(first) - 600); // as if the shopper had erased themselves ten minutes before
    await env.EDGEREC.put(tombstoneKey(user), tomb);
    const again = await op(e, { id: user });
    expect(again.status).toBe(200);
    expect(await env.EDGEREC.get(tombstoneKey(user))).toBe(tomb); // the purge's clock is not reset
    const rows = (await erasureRows()).slice(rows0);
    expect(rows.map((x) => [x.actor, x.reason])).toEqual([['admin', 'by id: ticket 4711'], ['admin', 'by id']]);
    expect(JSON.stringify(rows)).not.toContain(user);

    // what arrives later under the id is dropped by the consumer; the purge removes the past
    await consume([ev('op-late', user, Date.now())], e);
    const t0 = Number(tomb) * 1000 + 2 * PURGE_GRACE_S * 1000;
    for (let i = 0; i < 10; i++) { const p = await purgeErased(e, t0 + i, 50); if (p.done || p.idle) break; }
    const left = await loggedEvents();
    expect(left.filter((x) => x.user === user)).toEqual([]);
    expect(left.filter((x) => x.user === keptUser).map((x) => x.id).sort()).toEqual(['op-0-b', 'op-1-b', 'op-2-b']);
  });

  it('by Magento customer id (MAGENTO_JWT_KEY set): the key the customer\'s own token gives, their KV profile gone', async () => {
    const CRYPT = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    const { env: e } = recordingEnv({ MAGENTO_JWT_KEY: CRYPT });
    const now = Math.floor(Date.now() / 1000);
    const token = await magentoJwt(CRYPT, { uid: 4711, utypid: 3, iat: now, exp: now + 3600 }); // as the stand-in's Magento issues it
    const key = await customerKey(new Request(SHOP, { headers: { authorization: `Bearer ${token}` } }), e);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    await env.EDGEREC.put(`profile:${key}`, 'sealed-state');
    const r = await op(e, { customer_id: '4711' });
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ erased: true, tombstones: 1, kind: 'customer_id' });
    expect(await env.EDGEREC.get(tombstoneKey(key))).toMatch(/^\d+$/);
    expect(await env.EDGEREC.get(`profile:${key}`)).toBeNull();
    expect((await op(e, { customer_id: 4712 })).status).toBe(200); // a JSON number is a customer id too
  });

  it('refuses what it cannot act on, naming the field; operators only', async () => {
    const { env: e } = recordingEnv();
    const u = 'a'.repeat(64);
    for (const [body, status, msg] of [
      [[], 400, /must be a JSON object/], [{}, 400, /exactly one of id .* and customer_id/], [{ id: u, customer_id: '5' }, 400, /exactly one/],
      [{ id: 'ABC' }, 400, /^id: must be 64 lowercase hex/], [{ id: u.toUpperCase() }, 400, /^id:/], [{ id: 42 }, 400, /^id:/],
      [{ customer_id: '0' }, 400, /^customer_id: must be a Magento customer id/], [{ customer_id: '12345678901234567' }, 400, /^customer_id:/],
      [{ customer_id: '42' }, 400, /^customer_id: needs MAGENTO_JWT_KEY/], [{ id: u, note: 1 }, 400, /unknown field 'note'/],
      [{ id: u, reason: 'x'.repeat(201) }, 400, /^reason:/],
    ]) {
      const r = await op(e, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(JSON.parse(r.text).error).toMatch(msg);
    }
    const raw = await send(e, '/edge/admin/erasures', { method: 'POST', headers: { authorization: `Bearer ${env.EDGEREC_ADMIN_TOKEN}`, 'content-type': 'application/json' } });
    expect(raw.status).toBe(400);
    expect(await env.EDGEREC.get(tombstoneKey(u))).toBeNull(); // nothing written by a refusal
    expect((await op(e, { id: u }, null)).status).toBe(401);
    const viewer = recordingEnv({ EDGEREC_ADMIN_TOKENS: 'vera:viewer:viewer-token-0123456789' }).env;
    const v = await op(viewer, { id: u }, 'viewer-token-0123456789');
    expect(v.status, v.text).toBe(403);
    expect(await env.EDGEREC.get(tombstoneKey(u))).toBeNull();
  });
});
