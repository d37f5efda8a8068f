// console.test.mjs — the operators' console's routes INSIDE workerd (worker-shim/cloudflare/console-data.js
// through admin.js's adminRoute, docs/console.md): the page and its assets only after authorization and with
// a strict CSP, the login form for a browser without a session, the JSON (KPI series per version/arm/hour,
// the guardrail's verdict — identical to decide() on the same arms —, the audit timeline, feedback per
// version/arm/unit from the queue consumer's counts, manual work per ISO week), bad parameters refused.
// Storage (D1) is this file's own; the tests run in order.
import { describe, it, expect } from 'vitest';
import { env } from 'cloudflare:test';
import { adminRoute } from '../../worker-shim/cloudflare/admin.js';
import { isoWeek } from '../../worker-shim/cloudflare/console-data.js';
import { recordKpis, armStats } from '../../worker-shim/cloudflare/kpi.js';
import { decide } from '../../worker-shim/core/guardrails.js';
import { guardrailConfig } from '../../worker-shim/cloudflare/cron.js';

const SHOP = 'https://shop.example';
const TOKEN = 'workerd-test-admin-token';

async function admin(method, path, { body, token = TOKEN, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== null) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const request = new Request(`${SHOP}/edge/admin/${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const res = await adminRoute(request, env, new URL(request.url), null);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json, headers: res.headers };
}

describe('console: the page and its assets', () => {
  it('serves the page, its script, styles and uPlot only when authorized, with a strict CSP', async () => {
    for (const p of ['', 'console/console.js', 'console/console.css', 'console/uplot.js', 'console/uplot.css']) {
      const r = await admin('GET', p);
      expect(r.status, p).toBe(200);
      const csp = r.headers.get('content-security-policy');
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe|https?:/);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const page = await admin('GET', '');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<script src="\/edge\/admin\/console\/console\.js"/);
    expect(page.text).not.toMatch(/<script>|<style|style=/); // nothing inline
    expect((await admin('GET', 'console/uplot.js')).text).toMatch(/uPlot/);
    for (const p of ['', 'console/console.js', 'console/series']) {
      expect((await admin('GET', p, { token: null })).status, p).toBe(401);
      expect((await admin('GET', p, { token: 'wrong-token-wrong-token' })).status, p).toBe(401);
    }
  });

  it('answers a browser without a session with a login form (401, no script)', async () => {
    const r = await admin('GET', '', { token: null, headers: { accept: 'text/html' } });
    expect(r.status).toBe(401);
    expect(r.text).toMatch(/<form method="post" action="\/edge\/admin\/login">/);
    expect(r.text).not.toMatch(/<script/);
    const api = await admin('GET', 'console/series', { token: null, headers: { accept: 'text/html' } });
    expect(api.status).toBe(401);
    expect(api.json?.error).toMatch(/unauthorized/);
  });
});

describe('console: the JSON', () => {
  const hour = Math.floor(Date.now() / 3_600_000);
  const ts = hour * 3600 + 60;
  const ev = (id, type, extra) => ({ id, type, user: `u-${id.split('-')[1]}`, ts, arm: 'control', model: 'c-1', item: 'SKU1', ...extra });

  it('refuses bad parameters, naming them, and unknown routes', async () => {
    const bad = await admin('GET', 'console/series?days=0');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/days must be an integer in 1\.\.31/);
    expect((await admin('GET', 'console/series?days=abc')).status).toBe(400);
    expect((await admin('GET', 'console/nope')).status).toBe(404);
  });

  it('KPI series per version, arm and hour, and feedback per version, arm and unit, from the consumer', async () => {
    await recordKpis(env.DB, [
      ev('c-1', 'impression', { units: 1000 }), ev('c-2', 'impression'), ev('c-3', 'click'), ev('c-4', 'purchase', { price: 10, qty: 2 }),
      ev('c-5', 'feedback', { rating: 5, unit: 'u1' }), ev('c-6', 'feedback', { rating: 1, unit: 'u1' }), ev('c-7', 'feedback', { rating: 4 }),
      ev('c-8', 'impression', { arm: 'holdout', model: undefined }),
      ev('c-9', 'feedback', { rating: 2, flag: 'bot' }), // flagged: counts nowhere
    ]);
    await recordKpis(env.DB, [ev('c-5', 'feedback', { rating: 5, unit: 'u1' })]); // a redelivery counts once
    const s = (await admin('GET', 'console/series?days=1')).json;
    const control = s.lines.find((l) => l.version === 'c-1' && l.arm === 'control');
    const holdout = s.lines.find((l) => l.version === 'none' && l.arm === 'holdout');
    expect(s.hours).toContain(hour);
    const p = control.points.find((x) => x.hour === hour);
    expect(p).toMatchObject({ impressions: 2, clicks: 1, purchases: 1, revenue: 20, shoppers: 7, work_units: 1000 });
    expect(p.ctr).toBe(0.5);
    expect(holdout.points[0].impressions).toBe(1);
    const fb = (await admin('GET', 'console/feedback?days=1')).json;
    expect(fb.text_days).toBe(0);
    expect(fb.texts).toBeNull();
    const u1 = fb.groups.find((g) => g.version === 'c-1' && g.unit === 'u1');
    expect(u1).toMatchObject({ ratings: [1, 0, 0, 0, 1], count: 2, mean: 3, up: 1, down: 1 });
    expect(fb.groups.find((g) => g.version === 'c-1' && g.unit === null)).toMatchObject({ ratings: [0, 0, 0, 1, 0], count: 1 });
  });

  it('the verdict is the guardrail\'s decide() on the running canary, in words; timeline and manual work from the audit', async () => {
    expect((await admin('GET', 'console/verdict')).json).toMatchObject({ canary: null, action: 'none' });
    // a stored bundle row is all rollout checks; the bytes are not needed here
    await env.DB.prepare('INSERT OR IGNORE INTO bundles (version, bytes, sha256, model, work_units, created) VALUES (?, 1, ?, ?, 1, ?)')
      .bind('console-2', 'x', 'test', Date.now()).run();
    expect((await admin('POST', 'rollout', { body: { canary: 'console-2', percent: 20 } })).status).toBe(200);
    const v = (await admin('GET', 'console/verdict')).json;
    const m = await env.DB.prepare('SELECT * FROM manifest WHERE id = 1').first();
    const arms = await armStats(env.DB, m.run);
    const empty = { shoppers: 0, converted: 0, requests: 0, errors: 0, bypasses: 0 };
    const d = decide(arms.canary ?? empty, arms.control ?? empty, guardrailConfig(env), m.canary_started, Date.now());
    expect(v.canary).toBe('console-2');
    expect(v.action).toBe(d.action);
    expect(v.words).toBe(`The guardrail keeps watching: ${d.reason}.`);
    expect((await admin('POST', 'rollback')).status).toBe(200);
    expect((await admin('POST', 'rollout', { body: { canary: 'console-2', percent: 20 } })).status).toBe(200);
    expect((await admin('POST', 'promote', { headers: { 'x-edgerec-actor': 'retrain' } })).status).toBe(200);
    const tl = (await admin('GET', 'console/timeline?days=1')).json.events;
    const changes = tl.filter((e) => ['rollout', 'rollback', 'promote'].includes(e.action));
    expect(changes.map((e) => [e.action, e.by])).toEqual([['rollout', 'hand'], ['rollback', 'hand'], ['rollout', 'hand'], ['promote', 'automation']]);
    expect(tl.map((e) => e.id)).toEqual([...tl.map((e) => e.id)].sort((a, b) => a - b)); // oldest first
    const mw = (await admin('GET', 'console/manual-work')).json.weeks;
    expect(mw).toEqual([{ week: isoWeek(Date.now()), hand: 3, automation: 1 }]);
  });

  it('ISO weeks at the year boundaries', () => {
    expect(isoWeek(Date.UTC(2021, 0, 3))).toBe('2020-W53'); // a Sunday in the last week of 2020
    expect(isoWeek(Date.UTC(2021, 0, 4))).toBe('2021-W01');
    expect(isoWeek(Date.UTC(2024, 11, 30))).toBe('2025-W01');
    expect(isoWeek(Date.UTC(2026, 11, 7))).toBe('2026-W50');
    expect(isoWeek(Date.UTC(2020, 11, 31))).toBe('2020-W53');
    expect(isoWeek(Date.UTC(2027, 0, 1))).toBe('2026-W53');
  });
});
