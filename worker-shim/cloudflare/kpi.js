// kpi.js — KPIs per model version, arm and hour in D1, aggregated by the
// queue consumer from the events it writes (and from request metrics the
// Worker sends alongside: errors, bypasses), de-duplicated by event id (queues
// deliver at least once); and the shopper-level figures of the running canary
// (one row per shopper: its arm and whether it converted) that the guardrail
// compares.
//
// Counted per (version, arm, hour): requests (personalized listings + errors +
// bypasses on a model arm), impressions, clicks (views/clicks), carts,
// purchases, revenue (price × qty), feedback, errors, bypasses, work units,
// distinct shoppers.  The holdout's version is 'none'.  Recommendation units
// (counts per unit, attribution, unit CTR per run) are attribution.js's, in
// the same transaction.  Flagged events (`flag`: bot, rate-limited) count
// nowhere: they are logged (marked) but excluded from every KPI.
import { ensureSchema } from './lifecycle.js';
import { catalogPrices, purchaseRevenue, unitStatements } from './attribution.js';

const SUCCESS = new Set(['view', 'click', 'cart', 'purchase']);
const FIELDS = ['requests', 'impressions', 'clicks', 'carts', 'purchases', 'revenue', 'feedback', 'errors', 'bypasses', 'work_units'];

/** The KPI increments one event (or metric message) contributes. */
export function increments(ev) {
  const inc = {};
  if (ev.type === '_metric') {
    inc.requests = 1;
    if (ev.kind === 'error') inc.errors = 1;
    if (ev.kind === 'bypass') inc.bypasses = 1;
    return inc;
  }
  if (ev.type === 'impression') { inc.impressions = 1; inc.requests = 1; if (ev.units) inc.work_units = Math.max(0, Math.floor(ev.units)); }
  if (ev.type === 'view' || ev.type === 'click') inc.clicks = 1;
  if (ev.type === 'cart') inc.carts = 1;
  if (ev.type === 'purchase') {
    inc.purchases = 1;
    const revenue = purchaseRevenue(ev, ev.price);
    if (revenue > 0) inc.revenue = revenue;
  }
  if (ev.type === 'feedback') inc.feedback = 1;
  return inc;
}

/** The version an event's KPIs count under: its model, 'none' for the holdout (and without one). */
const versionOf = (e) => (e.model && e.arm !== 'holdout' ? e.model : 'none');
/** The hour (since the epoch) an event counts in. */
const hourOf = (e) => Math.floor((typeof e.ts === 'number' ? e.ts : Date.now() / 1000) / 3600);

/** Aggregate a batch of events into D1 (events without an arm are not attributed; flagged events
 * are not counted).  `env` (optional): for unit revenue, the catalog view's prices (attribution.js). */
export async function recordKpis(db, events, env = null) {
  const attributed = events.filter((e) => e && typeof e.id === 'string' && typeof e.arm === 'string' && e.flag == null);
  if (!attributed.length) return;
  await ensureSchema(db);
  // de-duplicate: an id counts once; `counted` flips in the same transaction as its increments
  await db.batch(attributed.map((e) => db.prepare('INSERT OR IGNORE INTO seen_events (id) VALUES (?)').bind(e.id)));
  const done = new Set();
  for (let i = 0; i < attributed.length; i += 50) {
    const chunk = attributed.slice(i, i + 50);
    const r = await db.prepare(`SELECT id FROM seen_events WHERE counted = 1 AND id IN (${chunk.map(() => '?').join(',')})`)
      .bind(...chunk.map((e) => e.id)).all();
    for (const row of r.results) done.add(row.id);
  }
  const fresh = [];
  const inBatch = new Set();
  for (const e of attributed) if (!done.has(e.id) && !inBatch.has(e.id)) { inBatch.add(e.id); fresh.push(e); }
  if (!fresh.length) return;
  const prices = await catalogPrices(env, fresh);
  const stmts = unitStatements(db, fresh, { versionOf, hourOf, prices });
  const byKey = new Map();
  for (const e of fresh) {
    const version = versionOf(e);
    const hour = hourOf(e);
    const key = `${version}\u0000${e.arm}\u0000${hour}`;
    const acc = byKey.get(key) ?? { version, arm: e.arm, hour, inc: {}, users: new Set() };
    for (const [k, v] of Object.entries(increments(e))) acc.inc[k] = (acc.inc[k] ?? 0) + v;
    if (e.user && e.type !== '_metric') acc.users.add(e.user);
    byKey.set(key, acc);
    if (e.type === 'feedback' && Number.isInteger(e.rating) && e.rating >= 1 && e.rating <= 5) { // the console's feedback panel
      stmts.push(db.prepare(`INSERT INTO feedback_daily (version, arm, unit, rating, day, n) VALUES (?, ?, ?, ?, ?, 1)
        ON CONFLICT DO UPDATE SET n = n + 1`).bind(version, e.arm, typeof e.unit === 'string' ? e.unit : '', e.rating, Math.floor(hour / 24)));
    }
    if (e.user && e.run && e.type !== '_metric') {
      // a shopper enters the run when exposed (an impression: a listing ranked by, or for the holdout
      // withheld from, the arm's model); only success events after that convert (the UPDATEs below
      // change no row before it)
      if (e.type === 'impression') {
        stmts.push(db.prepare('INSERT OR IGNORE INTO run_shoppers (run, user, arm, version) VALUES (?, ?, ?, ?)')
          .bind(e.run, e.user, e.arm, version));
      }
      if (SUCCESS.has(e.type) && e.type !== 'view') {
        stmts.push(db.prepare('UPDATE run_shoppers SET converted = 1, revenue = revenue + ? WHERE run = ? AND user = ?')
          .bind(increments(e).revenue ?? 0, e.run, e.user));
      } else if (e.type === 'view') {
        stmts.push(db.prepare('UPDATE run_shoppers SET converted = 1 WHERE run = ? AND user = ?').bind(e.run, e.user));
      }
    }
  }
  for (const a of byKey.values()) {
    stmts.push(db.prepare(`INSERT INTO kpi_hourly (version, arm, hour) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`).bind(a.version, a.arm, a.hour));
    const sets = FIELDS.filter((f) => a.inc[f]).map((f) => `${f} = ${f} + ?`);
    if (sets.length) {
      stmts.push(db.prepare(`UPDATE kpi_hourly SET ${sets.join(', ')} WHERE version = ? AND arm = ? AND hour = ?`)
        .bind(...FIELDS.filter((f) => a.inc[f]).map((f) => a.inc[f]), a.version, a.arm, a.hour));
    }
    for (const u of a.users) {
      stmts.push(db.prepare('INSERT OR IGNORE INTO hour_shoppers (version, arm, hour, user) VALUES (?, ?, ?, ?)').bind(a.version, a.arm, a.hour, u));
    }
    stmts.push(db.prepare(`UPDATE kpi_hourly SET shoppers = (SELECT COUNT(*) FROM hour_shoppers h WHERE h.version = kpi_hourly.version
      AND h.arm = kpi_hourly.arm AND h.hour = kpi_hourly.hour) WHERE version = ? AND arm = ? AND hour = ?`).bind(a.version, a.arm, a.hour));
  }
  for (const e of fresh) stmts.push(db.prepare('UPDATE seen_events SET counted = 1 WHERE id = ?').bind(e.id));
  await db.batch(stmts); // one transaction: counts and the "counted" marks land together
}

/** Totals per live version and arm (all hours). */
export async function kpisByVersion(db, versions) {
  const out = {};
  for (const v of [...versions, 'none']) {
    const r = await db.prepare(`SELECT arm, SUM(requests) requests, SUM(impressions) impressions, SUM(clicks) clicks, SUM(carts) carts,
      SUM(purchases) purchases, SUM(revenue) revenue, SUM(feedback) feedback, SUM(errors) errors, SUM(bypasses) bypasses,
      SUM(work_units) work_units, SUM(shoppers) shopper_hours FROM kpi_hourly WHERE version = ? GROUP BY arm`).bind(v).all();
    if (r.results.length) out[v] = Object.fromEntries(r.results.map((x) => [x.arm, x]));
  }
  return out;
}

/** Shopper-level figures per arm for a canary run (or, without a run, all runs' holdout/control):
 * {shoppers, converted, revenue_sum, revenue_sumsq, requests, errors, bypasses} and the unit CTR's
 * {unit_viewers (shoppers who viewed a unit), unit_clickers (of those, who clicked one)}. */
export async function armStats(db, run) {
  // every answer must be rows: a guardrail decision is never taken on part of the figures
  const rows = (r, what) => { if (!Array.isArray(r?.results)) throw new Error(`D1 answered ${what} without rows`); return r.results; };
  const perArm = async (table, cols) => rows(await (run
    ? db.prepare(`SELECT arm, ${cols} FROM ${table} WHERE run = ? GROUP BY arm`).bind(run)
    : db.prepare(`SELECT arm, ${cols} FROM ${table} WHERE arm IN ('holdout', 'control') GROUP BY arm`)).all(), table);
  const out = {};
  const arm = (name) => (out[name] ??= { shoppers: 0, converted: 0, revenue_sum: 0, revenue_sumsq: 0, requests: 0, errors: 0, bypasses: 0, unit_viewers: 0, unit_clickers: 0 });
  for (const r of await perArm('run_shoppers', 'COUNT(*) shoppers, SUM(converted) converted, SUM(revenue) revenue_sum, SUM(revenue * revenue) revenue_sumsq')) {
    Object.assign(arm(r.arm), { shoppers: r.shoppers, converted: r.converted ?? 0, revenue_sum: r.revenue_sum ?? 0, revenue_sumsq: r.revenue_sumsq ?? 0 });
  }
  for (const r of await perArm('run_unit_shoppers', 'SUM(viewed) unit_viewers, SUM(viewed * clicked) unit_clickers')) {
    Object.assign(arm(r.arm), { unit_viewers: r.unit_viewers ?? 0, unit_clickers: r.unit_clickers ?? 0 });
  }
  if (run) {
    const [version, startMs] = [run.slice(0, run.lastIndexOf('@')), Number(run.slice(run.lastIndexOf('@') + 1))];
    const fromHour = Math.floor(startMs / 3_600_000);
    const m = rows(await db.prepare(`SELECT arm, SUM(requests) requests, SUM(errors) errors, SUM(bypasses) bypasses FROM kpi_hourly
      WHERE hour >= ? AND ((arm = 'canary' AND version = ?) OR arm = 'control') GROUP BY arm`).bind(fromHour, version).all(), 'kpi_hourly');
    for (const r of m) Object.assign(arm(r.arm), { requests: r.requests ?? 0, errors: r.errors ?? 0, bypasses: r.bypasses ?? 0 });
  }
  return out;
}
