// metrics.js — edgerec's operational metrics across isolates (docs/metrics.md).
//
// Each isolate only sees its own requests, so what the Prometheus endpoint shows comes from D1,
// where the queue consumer (events.js) adds to monotonic counters once per batch:
//   * request tallies the Worker keeps per isolate (RequestTally: GraphQL requests, bypasses by
//     reason, rejected POST /edge/events by reason) and sends at most once a minute as one
//     `_metric` message of kind 'counts' (de-duplicated by its id, so a redelivery counts once);
//   * events received (queue deliveries) vs written to R2, dropped (erased, repeated), and the
//     event-log lag (written time − the message's queue timestamp).
// The KPIs come from kpi.js's kpi_hourly plus kpi_totals: pruning folds old hours into the totals
// first, so every counter stays monotonic.  Tables kept (pruneMetrics): kpi_hourly 90 days,
// hour_shoppers 7 days, seen_events 7 days, metric_hourly 35 days, metric_seen 7 days; counters,
// totals, gauges and alert state are a few rows each and kept for ever.
//
//   metricsSnapshot(env, nowMs)      → a plain object (also read by the console)
//   prometheusText(snapshot)         → Prometheus text exposition 0.0.4
//   metricsResponse(env, nowMs)      → the GET /edge/admin/metrics answer
import { ensureSchema } from './lifecycle.js';
import { catalogHealth } from './catalog-sync.js';
import { parityStats } from './profile-sync.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const CRON_INTERVAL_MS = 5 * 60_000; // wrangler.toml [triggers] crons = "*/5 * * * *"
export const CRON_SLACK_MS = 2 * 60_000;
/** Bypass reasons that are failures (the rest — holdout, product, no-listing, explicit-sort,
 * mutation, cart, order, … — are the Worker doing what it should). */
export const FAILURE_REASONS = new Set(['error', 'trap', 'config', 'no-bundle', 'budget', 'origin-body', 'oversized', 'deadline', 'origin-timeout', 'origin-unreachable']);
export const ERROR_REASONS = new Set(['error', 'trap']);
const KPI_FIELDS = ['requests', 'impressions', 'clicks', 'carts', 'purchases', 'revenue', 'feedback', 'errors', 'bypasses', 'work_units'];
const RETENTION = { kpiHourlyDays: 90, hourShoppersDays: 7, seenEventsDays: 7, metricHourlyDays: 35, metricSeenDays: 7 };

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS metric_counters (name TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}',
     value REAL NOT NULL DEFAULT 0, PRIMARY KEY (name, labels))`,
  `CREATE TABLE IF NOT EXISTS metric_hourly (name TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', hour INTEGER NOT NULL,
     value REAL NOT NULL DEFAULT 0, PRIMARY KEY (name, labels, hour))`,
  'CREATE INDEX IF NOT EXISTS metric_hourly_hour ON metric_hourly (hour)',
  'CREATE TABLE IF NOT EXISTS metric_gauges (name TEXT PRIMARY KEY, value REAL NOT NULL, at INTEGER NOT NULL)',
  'CREATE TABLE IF NOT EXISTS metric_seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL)',
  `CREATE TABLE IF NOT EXISTS kpi_totals (version TEXT NOT NULL, arm TEXT NOT NULL, ${KPI_FIELDS.map((f) => `${f} REAL NOT NULL DEFAULT 0`).join(', ')},
     PRIMARY KEY (version, arm))`,
  `CREATE TABLE IF NOT EXISTS alert_state (key TEXT PRIMARY KEY, firing INTEGER NOT NULL DEFAULT 0, since INTEGER,
     dedup TEXT, summary TEXT, updated INTEGER NOT NULL)`,
  'CREATE TABLE IF NOT EXISTS prune_marks (day INTEGER PRIMARY KEY, seen_rowid INTEGER NOT NULL)',
];

let schemaReady = null; // per isolate
/** Create the metrics tables (and the lifecycle's) when missing; once per isolate. */
export function ensureMetricsSchema(db) {
  schemaReady ??= ensureSchema(db).then(() => db.batch(SCHEMA.map((s) => db.prepare(s)))).catch((e) => { schemaReady = null; throw e; });
  return schemaReady;
}

const labelKey = (labels) => JSON.stringify(Object.fromEntries(Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))));

/** Per-isolate request tallies, sent as one `_metric` message (kind 'counts') at most every
 * `flushMs` (METRICS_FLUSH_SECONDS, default 60): one queue message a minute per busy isolate
 * instead of one per request.  Counts not yet sent when an isolate is evicted are lost. */
export class RequestTally {
  constructor() { this.counts = new Map(); this.since = Date.now(); }

  /** Count `n` (default one) occurrences of `name` (requests | bypass | rejected | events_lost) with `labels`. */
  note(name, labels = {}, n = 1) {
    const k = `${name}\u0000${labelKey(labels)}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + n);
  }

  /** Put back the counts of a message take() gave that could not be sent (they go with the next). */
  restore(m) {
    for (const [name, labels, n] of m?.counts ?? []) {
      const k = `${name}\u0000${labels}`;
      this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    }
  }

  /** The message to send now (and the tallies reset), or null when not yet due / nothing counted. */
  take(env, now = Date.now()) {
    const s = Number(env?.METRICS_FLUSH_SECONDS ?? 60);
    const flushMs = Number.isFinite(s) && s >= 0 ? s * 1000 : 60_000;
    if (!this.counts.size || now - this.since < flushMs) return null;
    const counts = [...this.counts].map(([k, n]) => { const [name, labels] = k.split('\u0000'); return [name, labels, n]; });
    this.counts = new Map();
    this.since = now;
    return { type: '_metric', kind: 'counts', id: crypto.randomUUID(), ts: now / 1000, counts };
  }
}

/** The bypass reason of a Worker response's x-edgerec header (null when it was not a bypass). */
export function bypassReason(response) {
  const m = /^bypass;\s*reason=([a-z0-9-]{1,32})/.exec(response?.headers?.get('x-edgerec') ?? '');
  return m ? m[1] : null;
}

/** A bounded label for a rejected POST /edge/events (status and the error text the Worker sent). */
export function rejectReason(status, error) {
  if (status === 413) return 'too-large';
  if (status === 503) return 'not-configured';
  if (status === 403) return 'cross-site'; // core/request-site.js refused it
  const e = String(error ?? '');
  if (/^body is not JSON|^body must be JSON/.test(e)) return 'not-json';
  if (/^no events/.test(e)) return 'empty';
  if (/at most 500/.test(e)) return 'too-many';
  if (/must be a JSON object/.test(e)) return 'not-object';
  const f = /^event \d+: (?:event\.)?([a-z_]{1,24})\b/.exec(e);
  return f ? `invalid-${f[1]}` : 'invalid';
}

function upsertCounter(db, name, labels, value, seenId = null) {
  const guard = seenId ? ' AND NOT EXISTS (SELECT 1 FROM metric_seen WHERE id = ?)' : '';
  const args = seenId ? [name, labels, value, seenId] : [name, labels, value];
  return db.prepare(`INSERT INTO metric_counters (name, labels, value) SELECT ?, ?, ? WHERE 1${guard}
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value`).bind(...args);
}
function upsertHourly(db, name, labels, hour, value, seenId = null) {
  const guard = seenId ? ' AND NOT EXISTS (SELECT 1 FROM metric_seen WHERE id = ?)' : '';
  const args = seenId ? [name, labels, hour, value, seenId] : [name, labels, hour, value];
  return db.prepare(`INSERT INTO metric_hourly (name, labels, hour, value) SELECT ?, ?, ?, ? WHERE 1${guard}
    ON CONFLICT (name, labels, hour) DO UPDATE SET value = value + excluded.value`).bind(...args);
}
const setGauge = (db, name, value, at) =>
  db.prepare('INSERT INTO metric_gauges (name, value, at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at')
    .bind(name, value, at);

/** Add one queue batch's figures to D1 (one transaction): `received` deliveries of events,
 * `written` to R2, `dropped` {erased, duplicate}, `lagsMs` (written − queued, per written event),
 * `counts` (the Worker's 'counts' messages). */
export async function recordBatchMetrics(db, { received = 0, written = 0, dropped = {}, lagsMs = [], counts = [], now = Date.now() }) {
  await ensureMetricsSchema(db);
  const s = [];
  const none = '{}';
  s.push(upsertCounter(db, 'event_batches', none, 1));
  if (received) s.push(upsertCounter(db, 'events_received', none, received));
  if (written) s.push(upsertCounter(db, 'events_written', none, written));
  for (const [reason, n] of Object.entries(dropped)) if (n) s.push(upsertCounter(db, 'events_dropped', labelKey({ reason }), n));
  if (lagsMs.length) {
    const sum = lagsMs.reduce((a, b) => a + b, 0) / 1000;
    s.push(upsertCounter(db, 'event_lag_seconds_sum', none, sum), upsertCounter(db, 'event_lag_seconds_count', none, lagsMs.length));
    s.push(setGauge(db, 'event_lag_last_batch_max_seconds', Math.max(...lagsMs) / 1000, now));
  }
  if (written) s.push(setGauge(db, 'event_log_last_write', now / 1000, now));
  for (const m of counts) {
    if (!m || typeof m.id !== 'string' || !Array.isArray(m.counts)) continue;
    const hour = Math.floor((typeof m.ts === 'number' ? m.ts * 1000 : now) / HOUR_MS);
    for (const c of m.counts) {
      if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[1] !== 'string' || !(c[2] > 0)) continue;
      s.push(upsertCounter(db, c[0], c[1], c[2], m.id), upsertHourly(db, c[0], c[1], hour, c[2], m.id));
    }
    s.push(db.prepare('INSERT OR IGNORE INTO metric_seen (id, at) VALUES (?, ?)').bind(m.id, now));
    const b = m.budget;
    if (b && typeof b.version === 'string' && b.version.length <= 64 && b.units > 0) s.push(setGauge(db, `work_budget:${b.version}`, b.units, now));
  }
  await db.batch(s);
}

/** Record a cron run; returns the previous run's time (ms) or null (the dead-man's input). */
export async function recordCronRun(db, now) {
  await ensureMetricsSchema(db);
  const prev = await db.prepare("SELECT value FROM metric_gauges WHERE name = 'cron_last_run'").first();
  await db.batch([setGauge(db, 'cron_last_run', now / 1000, now), setGauge(db, 'cron_previous_run', prev ? prev.value : now / 1000, now)]);
  return prev ? prev.value * 1000 : null;
}

/** The cron's liveness for /edge/health and the metrics: {last_run, age_seconds, stale}; stale when
 * the last run is older than 2 intervals + slack (null when it never ran). */
export async function cronStatus(env, now = Date.now()) {
  try {
    if (!env.DB) return { last_run: null, age_seconds: null, stale: null };
    await ensureMetricsSchema(env.DB);
    const r = await env.DB.prepare("SELECT value FROM metric_gauges WHERE name = 'cron_last_run'").first();
    if (!r) return { last_run: null, age_seconds: null, stale: null };
    const age = Math.max(0, now / 1000 - r.value);
    return { last_run: new Date(r.value * 1000).toISOString(), age_seconds: Math.round(age), stale: age * 1000 > 2 * CRON_INTERVAL_MS + CRON_SLACK_MS };
  } catch (e) {
    return { last_run: null, age_seconds: null, stale: null, error: e.message };
  }
}

/** Prune D1 (at most once an hour; bounded deletes): kpi_hourly rows older than 90 days are folded
 * into kpi_totals in the same transaction (totals never go down), then the rest per RETENTION. */
export async function pruneMetrics(db, now = Date.now()) {
  await ensureMetricsSchema(db);
  const last = await db.prepare("SELECT value FROM metric_gauges WHERE name = 'prune_last'").first();
  if (last && now - last.value * 1000 < HOUR_MS) return { skipped: true };
  const hourNow = Math.floor(now / HOUR_MS);
  const kpiCut = hourNow - RETENTION.kpiHourlyDays * 24;
  const day = Math.floor(now / DAY_MS);
  const sums = KPI_FIELDS.map((f) => `SUM(${f})`).join(', ');
  const cols = KPI_FIELDS.join(', ');
  const seenMark = await db.prepare('SELECT seen_rowid FROM prune_marks WHERE day <= ? ORDER BY day DESC LIMIT 1').bind(day - RETENTION.seenEventsDays).first();
  const s = [
    db.prepare(`INSERT INTO kpi_totals (version, arm, ${cols}) SELECT version, arm, ${sums} FROM kpi_hourly WHERE hour < ? GROUP BY version, arm
      ON CONFLICT (version, arm) DO UPDATE SET ${KPI_FIELDS.map((f) => `${f} = ${f} + excluded.${f}`).join(', ')}`).bind(kpiCut),
    db.prepare('DELETE FROM kpi_hourly WHERE hour < ?').bind(kpiCut),
    db.prepare('DELETE FROM hour_shoppers WHERE hour < ?').bind(hourNow - RETENTION.hourShoppersDays * 24),
    db.prepare('DELETE FROM metric_hourly WHERE hour < ?').bind(hourNow - RETENTION.metricHourlyDays * 24),
    db.prepare('DELETE FROM metric_seen WHERE at < ?').bind(now - RETENTION.metricSeenDays * DAY_MS),
    // seen_events has no time column: its rowids grow, so the highest rowid is marked each day and
    // rows at or below the mark of 7 days ago go (queues redeliver within minutes, not days)
    db.prepare('INSERT OR IGNORE INTO prune_marks (day, seen_rowid) SELECT ?, COALESCE(MAX(rowid), 0) FROM seen_events').bind(day),
    db.prepare('DELETE FROM prune_marks WHERE day < ?').bind(day - 2 * RETENTION.seenEventsDays),
    setGauge(db, 'prune_last', now / 1000, now),
  ];
  if (seenMark) s.push(db.prepare('DELETE FROM seen_events WHERE rowid <= ?').bind(seenMark.seen_rowid));
  await db.batch(s);
  return { pruned: true };
}

const msOf = (v) => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);

/** Everything the metrics endpoint, the alerts and the console show, as a plain object. */
export async function metricsSnapshot(env, nowMs = Date.now()) {
  const db = env.DB;
  await ensureMetricsSchema(db);
  const counters = {};
  for (const r of (await db.prepare('SELECT name, labels, value FROM metric_counters').all()).results) {
    (counters[r.name] ??= []).push({ labels: JSON.parse(r.labels || '{}'), value: r.value });
  }
  const gauges = Object.fromEntries((await db.prepare('SELECT name, value FROM metric_gauges').all()).results.map((r) => [r.name, r.value]));
  const kpis = (await db.prepare(`SELECT version, arm, ${KPI_FIELDS.map((f) => `SUM(${f}) ${f}`).join(', ')} FROM
      (SELECT version, arm, ${KPI_FIELDS.join(', ')} FROM kpi_hourly UNION ALL SELECT version, arm, ${KPI_FIELDS.join(', ')} FROM kpi_totals)
      GROUP BY version, arm ORDER BY version, arm`).all()).results;
  const m = await db.prepare('SELECT active, canary, percent, updated FROM manifest WHERE id = 1').first();
  const bundles = [];
  for (const [slot, version] of [['active', m?.active], ['canary', m?.canary]]) {
    if (!version) continue;
    const b = await db.prepare('SELECT created, work_units FROM bundles WHERE version = ?').bind(version).first();
    bundles.push({ slot, version, age_seconds: b ? Math.max(0, (nowMs - b.created) / 1000) : null, test_work_units: b?.work_units ?? null,
      budget_units: gauges[`work_budget:${version}`] ?? null }); // as the Worker's isolates report it
  }
  const changes = Object.fromEntries((await db.prepare("SELECT action, COUNT(*) n FROM audit WHERE action IN ('rollback', 'promote') GROUP BY action").all())
    .results.map((r) => [r.action, r.n]));
  const lastChange = await db.prepare("SELECT id, ts, action, actor, canary, reason FROM audit WHERE action IN ('rollback', 'promote') ORDER BY id DESC LIMIT 1").first();
  // the rate window: the current hour and the one before it
  const fromHour = Math.floor(nowMs / HOUR_MS) - 1;
  const win = { requests: 0, errors: 0, failures: 0 };
  for (const r of (await db.prepare("SELECT name, labels, SUM(value) v FROM metric_hourly WHERE hour >= ? AND name IN ('requests', 'bypass') GROUP BY name, labels").bind(fromHour).all()).results) {
    if (r.name === 'requests') { win.requests += r.v; continue; }
    const reason = JSON.parse(r.labels).reason;
    if (ERROR_REASONS.has(reason)) win.errors += r.v;
    if (FAILURE_REASONS.has(reason)) win.failures += r.v;
  }
  const catalog = await catalogHealth(env, nowMs);
  const stores = (catalog.stores ?? []).map((s) => {
    const at = msOf(s.lastSuccess);
    return { store: s.store, currency: s.currency, version: s.version, age_seconds: Number.isFinite(at) ? Math.max(0, (nowMs - at) / 1000) : null,
      lag_seconds: s.lagSeconds, failing: s.failing };
  });
  const cron = await cronStatus(env, nowMs);
  const alerts = (await db.prepare('SELECT key, firing, since, summary FROM alert_state ORDER BY key').all()).results
    .map((a) => ({ key: a.key, firing: !!a.firing, since: a.since, summary: a.summary }));
  return {
    at: nowMs,
    counters,
    kpis,
    lifecycle: { active: m?.active ?? null, canary: m?.canary ?? null, percent: m?.percent ?? 0, bundles, changes, last_change: lastChange ?? null },
    rates: { window_from_hour: fromHour, ...win, error_rate: win.requests ? win.errors / win.requests : 0, bypass_rate: win.requests ? win.failures / win.requests : 0 },
    event_log: {
      last_batch_max_lag_seconds: gauges.event_lag_last_batch_max_seconds ?? null,
      last_write: gauges.event_log_last_write ?? null,
    },
    catalog: { ok: catalog.ok ?? false, stores, error: catalog.error ?? null },
    cron,
    parity: await parityStats(env, nowMs), // profile-sync.js: {checked, equal, ratio, last24h: {…}, target}
    alerts,
  };
}

// ---- Prometheus text format 0.0.4 ----------------------------------------------------------

const esc = (v) => String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const num = (v) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(Number(v)) ? 'NaN' : String(Number(v)));
function family(out, name, type, help, samples) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const { labels = {}, value, suffix = '' } of samples) {
    if (value === null || value === undefined) continue;
    const ls = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
    out.push(`${name}${suffix}${ls ? `{${ls}}` : ''} ${num(value)}`);
  }
}

/** Render a snapshot as Prometheus text exposition (version 0.0.4). */
export function prometheusText(s) {
  const out = [];
  const c = (name) => s.counters[name] ?? [];
  const one = (name) => c(name).reduce((a, x) => a + x.value, 0);
  family(out, 'edgerec_requests_total', 'counter', 'GraphQL requests the Worker answered (all isolates).', c('requests'));
  family(out, 'edgerec_bypasses_total', 'counter', 'Responses passed through unchanged, by x-edgerec bypass reason.', c('bypass'));
  family(out, 'edgerec_rejected_events_total', 'counter', 'POST /edge/events answered 4xx/5xx, by reason.', c('rejected'));
  family(out, 'edgerec_events_received_total', 'counter', 'Events delivered to the queue consumer (deliveries, not distinct ids).', [{ value: one('events_received') }]);
  family(out, 'edgerec_events_written_total', 'counter', 'Events written to the R2 event log.', [{ value: one('events_written') }]);
  family(out, 'edgerec_events_dropped_total', 'counter', 'Delivered events not written, by reason (erased shopper, repeated id, dead-letter).', c('events_dropped'));
  family(out, 'edgerec_events_lost_total', 'counter', 'Messages the Worker could not queue after its retries, by kind (event, metric).', c('events_lost'));
  family(out, 'edgerec_event_batches_total', 'counter', 'Queue batches consumed.', [{ value: one('event_batches') }]);
  family(out, 'edgerec_event_log_lag_seconds', 'summary', 'Time from queueing an event to writing it to R2.', [
    { suffix: '_sum', value: one('event_lag_seconds_sum') }, { suffix: '_count', value: one('event_lag_seconds_count') }]);
  family(out, 'edgerec_event_log_last_batch_max_lag_seconds', 'gauge', 'The largest lag in the last batch written.', [{ value: s.event_log.last_batch_max_lag_seconds }]);
  family(out, 'edgerec_event_log_last_write_timestamp_seconds', 'gauge', 'When the consumer last wrote events to R2.', [{ value: s.event_log.last_write }]);
  const help = { requests: 'Requests on a model arm', impressions: 'Listing/unit impressions', clicks: 'Views and clicks', carts: 'Add-to-carts',
    purchases: 'Purchases', revenue: 'Revenue (price x qty)', feedback: 'Feedback events', errors: 'Engine errors', bypasses: 'Engine bypasses',
    work_units: 'Engine work units spent on personalized listings' };
  for (const f of KPI_FIELDS) {
    family(out, `edgerec_kpi_${f}_total`, 'counter', `${help[f]} per model version and arm (KPIs, as /edge/admin/status).`,
      s.kpis.map((k) => ({ labels: { version: k.version, arm: k.arm }, value: k[f] ?? 0 })));
  }
  family(out, 'edgerec_bundle_age_seconds', 'gauge', 'Age of the live bundles since they were stored.', s.lifecycle.bundles.map((b) => ({ labels: { slot: b.slot, version: b.version }, value: b.age_seconds })));
  family(out, 'edgerec_bundle_test_work_units', 'gauge', 'Work units of the bundle\'s validation request (vs its budget).', s.lifecycle.bundles.map((b) => ({ labels: { slot: b.slot, version: b.version }, value: b.test_work_units })));
  family(out, 'edgerec_bundle_work_budget_units', 'gauge', 'The live bundles\' work budget per request (the engine\'s limit).', s.lifecycle.bundles.map((b) => ({ labels: { slot: b.slot, version: b.version }, value: b.budget_units })));
  family(out, 'edgerec_canary_percent', 'gauge', 'Percent of shoppers on the canary.', [{ value: s.lifecycle.percent }]);
  family(out, 'edgerec_lifecycle_changes_total', 'counter', 'Promotions and rollbacks (audit log).', ['promote', 'rollback'].map((a) => ({ labels: { action: a }, value: s.lifecycle.changes[a] ?? 0 })));
  family(out, 'edgerec_catalog_view_age_seconds', 'gauge', 'Time since the catalog view\'s last successful sync.', s.catalog.stores.map((x) => ({ labels: { store: x.store, currency: x.currency }, value: x.age_seconds })));
  family(out, 'edgerec_catalog_sync_failing', 'gauge', '1 when the catalog sync of a store view is failing.', s.catalog.stores.map((x) => ({ labels: { store: x.store, currency: x.currency }, value: x.failing ? 1 : 0 })));
  family(out, 'edgerec_cron_last_run_timestamp_seconds', 'gauge', 'When the scheduled handler last ran.', [{ value: s.cron.last_run ? Date.parse(s.cron.last_run) / 1000 : null }]);
  const p = s.parity ?? {};
  family(out, 'edgerec_profile_parity_checks_total', 'counter', 'Profile sync parity samples (profile-sync.js).', [{ value: p.checked ?? 0 }]);
  family(out, 'edgerec_profile_parity_equal_total', 'counter', 'Profile sync parity samples that matched.', [{ value: p.equal ?? 0 }]);
  family(out, 'edgerec_profile_parity_ratio', 'gauge', 'Profile sync parity over the last 24 h (absent without samples).', [{ value: p.last24h?.ratio ?? null }]);
  family(out, 'edgerec_alert_firing', 'gauge', '1 while an edgerec alert is firing (alerts.js).', s.alerts.map((a) => ({ labels: { alert: a.key }, value: a.firing ? 1 : 0 })));
  return out.join('\n') + '\n';
}

/** GET /edge/admin/metrics: the snapshot as Prometheus text (never cached). */
export async function metricsResponse(env, nowMs = Date.now()) {
  const s = await metricsSnapshot(env, nowMs);
  return new Response(prometheusText(s), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' } });
}
