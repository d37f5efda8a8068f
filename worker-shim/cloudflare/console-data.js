// console-data.js — the operators' console (docs/console.md): its page and the JSON it reads beyond
// GET /edge/admin/status, under /edge/admin/ (viewer; admin.js authorizes before calling here).
//
//   GET /edge/admin/                         the page (worker-shim/browser/console/index.html)
//   GET /edge/admin/console/<asset>          console.js, console.css, uplot.js, uplot.css (Text modules)
//   GET /edge/admin/console/series?days=N    KPIs per version, arm and hour (kpi_hourly), N ≤ 31 days
//   GET /edge/admin/console/verdict          the guardrail's look at the running canary now (decide(), as the cron)
//   GET /edge/admin/console/timeline?days=N  the audit log (every manifest change, refusal, note) in time order
//   GET /edge/admin/console/feedback?days=N  ratings per version, arm and unit; free text when FEEDBACK_TEXT_DAYS > 0
//   GET /edge/admin/console/manual-work      manifest changes per ISO week: by hand vs by the automation
//   GET /edge/admin/console/metrics          metrics.js's metricsSnapshot (for a viewer: the scrape route needs 'metrics')
//
// Every figure is computed here or in core/guardrails.js (the page only draws): the intervals the page
// shows are the guardrail's own (decide()'s figures), so page and guardrail cannot disagree.
import { decide } from '../core/guardrails.js';
import { guardrailConfig } from './cron.js';
import { armStats } from './kpi.js';
import { readManifest } from './lifecycle.js';
import { metricsSnapshot } from './metrics.js';
import indexHtml from '../browser/console/index.html';
import consoleJs from '../browser/console/console.js';
import consoleCss from '../browser/console/console.css';
import uplotJs from '../../node_modules/uplot/dist/uPlot.iife.min.js';
import uplotCss from '../../node_modules/uplot/dist/uPlot.min.css';

const HOUR_MS = 3_600_000;
const MAX_DAYS = 31;
const MAX_AUDIT_ROWS = 500;
const MAX_TEXTS = 50;
/** Actors that are the automation (the rest are people or their tokens). */
const AUTOMATION = /^(guardrail|retrain|cron|automation|system)(:|$)/;
/** Audit actions that change the manifest (what "manual work" counts). */
const MANIFEST_ACTIONS = ['rollout', 'promote', 'rollback', 'pause', 'resume', 'scope'];

/** The page's Content-Security-Policy: its own scripts and styles only, no inline code, no third party. */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
  + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const ASSETS = {
  'console.js': [consoleJs, 'text/javascript; charset=utf-8'],
  'console.css': [consoleCss, 'text/css; charset=utf-8'],
  'uplot.js': [uplotJs, 'text/javascript; charset=utf-8'],
  'uplot.css': [uplotCss, 'text/css; charset=utf-8'],
};

const SECURITY = {
  'cache-control': 'no-store', 'content-security-policy': CONSOLE_CSP, 'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin', 'x-frame-options': 'DENY', 'cross-origin-opener-policy': 'same-origin',
};
const json = (body, status = 200) => Response.json(body, { status, headers: SECURITY });

/** The `days` query parameter (1..MAX_DAYS, default 7) or an error naming it. */
function daysOf(url) {
  const raw = url.searchParams.get('days');
  if (raw === null) return { days: 7 };
  const d = Number(raw);
  if (!Number.isInteger(d) || d < 1 || d > MAX_DAYS) return { error: `days must be an integer in 1..${MAX_DAYS} (got '${raw.slice(0, 20)}')` };
  return { days: d };
}

/**
 * The console's routes (GET only); `path` is what follows /edge/admin/.  Returns a Response, or null when
 * the path is not the console's.  The caller has authorized the request as a viewer.
 */
export async function consoleRoute(request, env, url, path, nowMs = Date.now()) {
  if (path !== '' && path !== 'console' && path !== 'console/' && !path.startsWith('console/')) return null;
  if (request.method !== 'GET' && request.method !== 'HEAD') return null;
  if (path === '' || path === 'console' || path === 'console/') {
    return new Response(indexHtml, { headers: { ...SECURITY, 'content-type': 'text/html; charset=utf-8' } });
  }
  const name = path.slice('console/'.length);
  const asset = ASSETS[name];
  if (asset) return new Response(asset[0], { headers: { ...SECURITY, 'content-type': asset[1] } });
  const needsDays = ['series', 'timeline', 'feedback'].includes(name);
  const d = needsDays ? daysOf(url) : { days: 7 };
  if (d.error) return json({ error: d.error }, 400);
  const since = nowMs - d.days * 86_400_000;
  if (name === 'series') return json(await series(env.DB, since));
  if (name === 'verdict') return json(await verdict(env, nowMs));
  if (name === 'timeline') return json(await timeline(env.DB, since));
  if (name === 'feedback') return json(await feedback(env, since));
  if (name === 'manual-work') return json(await manualWork(env.DB, nowMs));
  if (name === 'metrics') return json(await metricsSnapshot(env, nowMs));
  return json({ error: `no console route GET /edge/admin/${path}` }, 404);
}

/** KPIs per (version, arm) and hour since `sinceMs`: {hours: [epoch hour…], lines: [{version, arm, points: [{hour, …}]}]}. */
export async function series(db, sinceMs) {
  const from = Math.floor(sinceMs / HOUR_MS);
  const rows = (await db.prepare(`SELECT version, arm, hour, requests, impressions, clicks, carts, purchases, revenue, feedback,
    errors, bypasses, work_units, shoppers FROM kpi_hourly WHERE hour >= ? ORDER BY hour`).bind(from).all()).results;
  const lines = new Map();
  const hours = new Set();
  for (const r of rows) {
    const key = `${r.version}\u0000${r.arm}`;
    if (!lines.has(key)) lines.set(key, { version: r.version, arm: r.arm, points: [] });
    hours.add(r.hour);
    lines.get(key).points.push({
      hour: r.hour, shoppers: r.shoppers, impressions: r.impressions, clicks: r.clicks, carts: r.carts, purchases: r.purchases,
      revenue: r.revenue, requests: r.requests, errors: r.errors, bypasses: r.bypasses, work_units: r.work_units,
      // per hour: conversion = purchasing shoppers' share is not in kpi_hourly, so purchases per shopper-hour
      conversion: r.shoppers > 0 ? r.purchases / r.shoppers : null,
      ctr: r.impressions > 0 ? r.clicks / r.impressions : null,
      revenue_per_shopper: r.shoppers > 0 ? r.revenue / r.shoppers : null,
    });
  }
  return { from_hour: from, hours: [...hours].sort((a, b) => a - b), lines: [...lines.values()] };
}

/** The guardrail's verdict on the running canary now: exactly what the cron's next look would decide. */
export async function verdict(env, nowMs) {
  const m = await readManifest(env.DB);
  if (!m.canary || !m.run) return { canary: null, action: 'none', words: 'No canary is running: the active model serves everyone but the holdout.' };
  const arms = await armStats(env.DB, m.run);
  const empty = { shoppers: 0, converted: 0, requests: 0, errors: 0, bypasses: 0 };
  let d;
  try {
    d = decide(arms.canary ?? empty, arms.control ?? empty, guardrailConfig(env), m.canary_started, nowMs);
  } catch (e) {
    return { canary: m.canary, action: 'error', words: `The guardrail's settings are invalid: ${e.message}` };
  }
  const say = { rollback: 'would roll the canary back now', promote: 'would promote the canary now', continue: 'keeps watching' }[d.action];
  return { canary: m.canary, active: m.active, percent: m.percent, started: m.canary_started, action: d.action,
    words: `The guardrail ${say}: ${d.reason}.`, figures: d.figures };
}

/** The audit log since `sinceMs`, oldest first (at most MAX_AUDIT_ROWS, the newest kept), with each actor's kind. */
export async function timeline(db, sinceMs) {
  const rows = (await db.prepare(`SELECT id, ts, action, actor, active, canary, percent, reason, figures FROM audit WHERE ts >= ?
    ORDER BY id DESC LIMIT ${MAX_AUDIT_ROWS}`).bind(sinceMs).all()).results;
  return {
    events: rows.reverse().map((r) => {
      let figures = null;
      try { figures = r.figures ? JSON.parse(r.figures) : null; } catch { figures = null; }
      return { ...r, figures, by: AUTOMATION.test(r.actor) ? 'automation' : 'hand' };
    }),
  };
}

/** Ratings (1..5; thumbs up = 5, down = 1) per version, arm and unit since `sinceMs`; free text when kept. */
export async function feedback(env, sinceMs) {
  const day = Math.floor(sinceMs / 86_400_000);
  const rows = (await env.DB.prepare(`SELECT version, arm, unit, rating, SUM(n) n FROM feedback_daily WHERE day >= ?
    GROUP BY version, arm, unit, rating ORDER BY version, arm, unit, rating`).bind(day).all()).results;
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.version}\u0000${r.arm}\u0000${r.unit}`;
    if (!groups.has(key)) groups.set(key, { version: r.version, arm: r.arm, unit: r.unit || null, ratings: [0, 0, 0, 0, 0], count: 0, mean: null, up: 0, down: 0 });
    const g = groups.get(key);
    g.ratings[r.rating - 1] += r.n;
  }
  for (const g of groups.values()) {
    g.count = g.ratings.reduce((a, b) => a + b, 0);
    g.mean = g.count ? g.ratings.reduce((a, n, i) => a + n * (i + 1), 0) / g.count : null;
    g.up = g.ratings[4]; g.down = g.ratings[0]; // thumbs are stored as 5 / 1
  }
  const keepDays = Number(env.FEEDBACK_TEXT_DAYS ?? 0);
  const out = { groups: [...groups.values()], text_days: keepDays > 0 ? keepDays : 0, texts: null };
  if (keepDays > 0 && env.EDGEREC_EVENTS) {
    const texts = [];
    const l = await env.EDGEREC_EVENTS.list({ prefix: 'feedback-text/', limit: 1000 });
    for (const o of l.objects.slice(-MAX_TEXTS).reverse()) { // keys are by day: the newest last
      const obj = await env.EDGEREC_EVENTS.get(o.key);
      if (!obj) continue;
      try {
        const t = JSON.parse(await obj.text());
        if (t.ts * 1000 >= sinceMs) texts.push({ ts: t.ts, item: String(t.item), rating: t.rating, text: String(t.text) });
      } catch { /* a damaged object is left out */ }
    }
    out.texts = texts;
  }
  return out;
}

/** The ISO week (YYYY-Www) of an epoch ms. */
export function isoWeek(ms) {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3));
  const week = 1 + Math.floor((thursday - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / (7 * 86_400_000)); // week 1 holds the first Thursday
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Manifest changes per ISO week of the last 12, by hand vs by the automation (from the audit actors). */
export async function manualWork(db, nowMs) {
  const since = nowMs - 12 * 7 * 86_400_000;
  const rows = (await db.prepare(`SELECT ts, actor, action FROM audit WHERE ts >= ? AND action IN (${MANIFEST_ACTIONS.map(() => '?').join(',')})`)
    .bind(since, ...MANIFEST_ACTIONS).all()).results;
  const weeks = new Map();
  for (const r of rows) {
    const w = isoWeek(r.ts);
    if (!weeks.has(w)) weeks.set(w, { week: w, hand: 0, automation: 0 });
    weeks.get(w)[AUTOMATION.test(r.actor) ? 'automation' : 'hand']++;
  }
  return { weeks: [...weeks.values()].sort((a, b) => (a.week < b.week ? -1 : 1)) };
}

/** For a browser asking for the console without being authorized: a 401 login form (no script), else null. */
export function loginPage(request, url) {
  const path = url.pathname.slice('/edge/admin/'.length);
  if (request.method !== 'GET' || !(path === '' || path === 'console' || path === 'console/')) return null;
  if (!/text\/html/.test(request.headers.get('accept') ?? '')) return null;
  return new Response(LOGIN_HTML, { status: 401, headers: { ...SECURITY, 'content-type': 'text/html; charset=utf-8' } });
}

const LOGIN_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgerec console: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>edgerec console</h1><p>Sign in with your console token.</p>
<form method="post" action="/edge/admin/login"><label>Token <input name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></main></body></html>
`;
