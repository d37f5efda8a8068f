// alerts.js — edgerec's alerts, run by the cron every 5 minutes (worker.js scheduled):
// evaluate conditions over the metrics snapshot (metrics.js), and for each incident send
// exactly one "trigger" when it starts and one "resolve" when it clears (state in D1 alert_state),
// to Slack (an incoming webhook: {"text": …}) and/or PagerDuty Events API v2 (POST
// https://events.pagerduty.com/v2/enqueue, {routing_key, event_action: trigger|resolve, dedup_key,
// payload: {summary, source, severity, …}}; the dedup_key ties the resolve to its trigger).
//
// Conditions (thresholds in [vars], defaults in THRESHOLDS): a promotion or rollback in the last
// ALERT_CHANGE_MINUTES; error rate / failure-bypass rate over ALERT_ERROR_RATE / ALERT_BYPASS_RATE
// (current + previous hour, at least ALERT_MIN_REQUESTS requests); the last batch's event-log lag over
// ALERT_EVENT_LAG_SECONDS; the active bundle older than ALERT_BUNDLE_AGE_HOURS; a catalog view older
// than ALERT_CATALOG_AGE_MINUTES; profile parity (last 24 h) under ALERT_PARITY_TARGET (profile-sync.js's target); and the dead-man: the
// previous cron run older than 2 intervals + slack (reported by the next run, and by /edge/health).
import { CRON_INTERVAL_MS, CRON_SLACK_MS, metricsSnapshot, pruneMetrics, recordCronRun } from './metrics.js';
import { PARITY_TARGET } from './profile-sync.js';

export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';
const THRESHOLDS = {
  ALERT_CHANGE_MINUTES: 60, ALERT_ERROR_RATE: 0.01, ALERT_BYPASS_RATE: 0.05, ALERT_MIN_REQUESTS: 100,
  ALERT_EVENT_LAG_SECONDS: 900, ALERT_BUNDLE_AGE_HOURS: 24 * 8, ALERT_CATALOG_AGE_MINUTES: 120, ALERT_PARITY_TARGET: PARITY_TARGET,
};

/** The alert thresholds from env ([vars]); a malformed value is an error naming the variable. */
export function alertConfig(env) {
  const c = {};
  for (const [k, d] of Object.entries(THRESHOLDS)) {
    const raw = env[k];
    if (raw === undefined || raw === '') { c[k] = d; continue; }
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${k}: "${raw}" is not a non-negative number`);
    c[k] = v;
  }
  return c;
}

const pct = (x) => `${(100 * x).toFixed(2)} %`;

/** The conditions over a snapshot: [{key, firing, severity, summary, incident}] — `incident`
 * names one occurrence (a new one while firing resolves the old and triggers the new). */
export function evaluate(s, cfg, { previousCronMs = null, now = s.at } = {}) {
  const out = [];
  const add = (key, firing, severity, summary, incident = 'x') => out.push({ key, firing: !!firing, severity, summary, incident: String(incident) });
  const ch = s.lifecycle.last_change;
  const recent = ch && now - ch.ts <= cfg.ALERT_CHANGE_MINUTES * 60_000;
  add('lifecycle-change', recent, ch?.action === 'rollback' ? 'warning' : 'info',
    recent ? `edgerec: ${ch.action} of ${ch.canary ?? '?'} by ${ch.actor}: ${ch.reason ?? ''}` : 'edgerec: no promotion or rollback recently', ch?.id ?? 'none');
  const r = s.rates;
  const enough = r.requests >= cfg.ALERT_MIN_REQUESTS;
  add('error-rate', enough && r.error_rate > cfg.ALERT_ERROR_RATE, 'error',
    `edgerec: error rate ${pct(r.error_rate)} of ${r.requests} requests (threshold ${pct(cfg.ALERT_ERROR_RATE)})`);
  add('bypass-rate', enough && r.bypass_rate > cfg.ALERT_BYPASS_RATE, 'warning',
    `edgerec: failure bypass rate ${pct(r.bypass_rate)} of ${r.requests} requests (threshold ${pct(cfg.ALERT_BYPASS_RATE)})`);
  const lag = s.event_log.last_batch_max_lag_seconds;
  add('event-lag', lag !== null && lag > cfg.ALERT_EVENT_LAG_SECONDS, 'warning',
    `edgerec: event-log lag ${Math.round(lag ?? 0)} s (threshold ${cfg.ALERT_EVENT_LAG_SECONDS} s)`);
  const active = s.lifecycle.bundles.find((b) => b.slot === 'active');
  const bundleOld = active?.age_seconds != null && active.age_seconds > cfg.ALERT_BUNDLE_AGE_HOURS * 3600;
  add('bundle-age', bundleOld, 'warning',
    `edgerec: active bundle ${active?.version ?? '-'} is ${((active?.age_seconds ?? 0) / 3600).toFixed(1)} h old (threshold ${cfg.ALERT_BUNDLE_AGE_HOURS} h)`, active?.version ?? 'none');
  const stale = s.catalog.stores.filter((x) => x.age_seconds != null && x.age_seconds > cfg.ALERT_CATALOG_AGE_MINUTES * 60);
  add('catalog-age', stale.length, 'warning',
    `edgerec: catalog view ${stale.map((x) => `${x.store}:${x.currency} ${Math.round(x.age_seconds / 60)} min`).join(', ') || 'fresh'} (threshold ${cfg.ALERT_CATALOG_AGE_MINUTES} min)`);
  const p = s.parity?.last24h?.ratio; // profile-sync.js parityStats
  add('parity', typeof p === 'number' && p < cfg.ALERT_PARITY_TARGET, 'warning',
    `edgerec: profile parity ${typeof p === 'number' ? pct(p) : '-'} (target ${pct(cfg.ALERT_PARITY_TARGET)})`);
  const gap = previousCronMs === null ? 0 : now - previousCronMs;
  const dead = gap > 2 * CRON_INTERVAL_MS + CRON_SLACK_MS;
  add('cron-missed', dead, 'error',
    `edgerec: the cron did not run for ${Math.round(gap / 60_000)} min (since ${previousCronMs ? new Date(previousCronMs).toISOString() : '-'})`, dead ? previousCronMs : 'none');
  return out;
}

/** Send one alert message to the configured receivers; true when every configured one accepted it. */
export async function notify(env, { action, key, dedup, severity, summary }) {
  let ok = true;
  const post = async (url, body) => {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) { ok = false; console.error(`edgerec: alert ${key} → ${new URL(url).host}: HTTP ${r.status}`); }
      await r.body?.cancel();
    } catch (e) { ok = false; console.error(`edgerec: alert ${key}: ${e.message}`); }
  };
  if (env.ALERT_SLACK_WEBHOOK_URL) {
    await post(env.ALERT_SLACK_WEBHOOK_URL, { text: action === 'trigger' ? `:rotating_light: ${summary}` : `:white_check_mark: resolved: ${summary}` });
  }
  if (env.ALERT_PAGERDUTY_ROUTING_KEY) {
    const body = { routing_key: env.ALERT_PAGERDUTY_ROUTING_KEY, event_action: action, dedup_key: dedup };
    if (action === 'trigger') body.payload = { summary: summary.slice(0, 1024), source: 'edgerec', severity, component: 'edge', class: key };
    await post(env.ALERT_PAGERDUTY_URL || PAGERDUTY_URL, body);
  }
  return ok;
}

/** One cron look: record the run (dead-man), prune D1, evaluate every condition and send the
 * triggers and resolves due; never throws.  Returns {sent: [{action, key, dedup}], conditions}. */
export async function runAlerts(env, now = Date.now()) {
  try {
    if (!env.DB) return { error: 'D1 binding DB is missing' };
    const prev = await recordCronRun(env.DB, now);
    await pruneMetrics(env.DB, now).catch((e) => console.error(`edgerec: pruning: ${e.message}`));
    const cfg = alertConfig(env);
    const conditions = evaluate(await metricsSnapshot(env, now), cfg, { previousCronMs: prev, now });
    const state = new Map((await env.DB.prepare('SELECT * FROM alert_state').all()).results.map((r) => [r.key, r]));
    const sent = [];
    for (const c of conditions) {
      const st = state.get(c.key);
      const dedup = `edgerec:${c.key}:${c.incident}`;
      const save = (firing, since, d) => env.DB.prepare(`INSERT INTO alert_state (key, firing, since, dedup, summary, updated) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET firing = excluded.firing, since = excluded.since, dedup = excluded.dedup, summary = excluded.summary, updated = excluded.updated`)
        .bind(c.key, firing ? 1 : 0, since, d, c.summary, now).run();
      if (st?.firing && (!c.firing || st.dedup !== dedup)) { // cleared, or a new incident replaces it
        if (!(await notify(env, { action: 'resolve', key: c.key, dedup: st.dedup, severity: c.severity, summary: st.summary }))) continue; // retried next run
        sent.push({ action: 'resolve', key: c.key, dedup: st.dedup });
        await save(false, null, null);
      }
      if (c.firing && !(st?.firing && st.dedup === dedup)) {
        if (!(await notify(env, { action: 'trigger', key: c.key, dedup, severity: c.severity, summary: c.summary }))) continue;
        sent.push({ action: 'trigger', key: c.key, dedup });
        await save(true, now, dedup);
      }
    }
    return { sent, conditions };
  } catch (e) {
    console.error(`edgerec: alerts: ${e.stack || e}`);
    return { error: e.message };
  }
}
