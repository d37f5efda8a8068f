// lifecycle.js — model lifecycle state: the manifest (active, canary,
// percent, holdout, salt), the audit log and the bundle registry in D1
// (Cloudflare's SQLite) and the read-only KV mirror the hot path reads.  The
// shopper's arm is core/arms.js's (shared with Lambda@Edge).
//
// Every change to the manifest is one D1 batch (a transaction): a guarded
// UPDATE (`WHERE revision = <the revision read>`, setting a fresh change id)
// and an audit INSERT that only happens when that change id is the one in
// the manifest — so two concurrent changes leave exactly one consistent
// manifest and one audit row, and the loser gets a conflict.

import { DEFAULT_HOLDOUT } from '../core/arms.js';

export { DEFAULT_HOLDOUT };
export const MIRROR_KEY = 'manifest';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS manifest (id INTEGER PRIMARY KEY CHECK (id = 1), active TEXT, canary TEXT,
     percent INTEGER NOT NULL DEFAULT 0, holdout INTEGER NOT NULL DEFAULT ${DEFAULT_HOLDOUT}, salt TEXT NOT NULL,
     canary_started INTEGER, run TEXT, revision INTEGER NOT NULL DEFAULT 0, change_id TEXT, updated INTEGER NOT NULL,
     segment TEXT, scope TEXT, scope_id TEXT, paused INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS bundles (version TEXT PRIMARY KEY, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
     model TEXT, work_units INTEGER, created INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, action TEXT NOT NULL,
     actor TEXT NOT NULL, active TEXT, canary TEXT, percent INTEGER, reason TEXT, figures TEXT)`,
  `CREATE TABLE IF NOT EXISTS kpi_hourly (version TEXT NOT NULL, arm TEXT NOT NULL, hour INTEGER NOT NULL,
     requests INTEGER NOT NULL DEFAULT 0, impressions INTEGER NOT NULL DEFAULT 0, clicks INTEGER NOT NULL DEFAULT 0,
     carts INTEGER NOT NULL DEFAULT 0, purchases INTEGER NOT NULL DEFAULT 0, revenue REAL NOT NULL DEFAULT 0,
     feedback INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, bypasses INTEGER NOT NULL DEFAULT 0,
     work_units INTEGER NOT NULL DEFAULT 0, shoppers INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (version, arm, hour))`,
  `CREATE TABLE IF NOT EXISTS run_shoppers (run TEXT NOT NULL, user TEXT NOT NULL, arm TEXT NOT NULL, version TEXT,
     converted INTEGER NOT NULL DEFAULT 0, revenue REAL NOT NULL DEFAULT 0, PRIMARY KEY (run, user))`,
  `CREATE TABLE IF NOT EXISTS hour_shoppers (version TEXT NOT NULL, arm TEXT NOT NULL, hour INTEGER NOT NULL,
     user TEXT NOT NULL, PRIMARY KEY (version, arm, hour, user))`,
  `CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, counted INTEGER NOT NULL DEFAULT 0)`,
  // recommendation units (attribution.js): counts per unit, the clicks and conversions of the last
  // 25 h that attribution needs (pseudonymous ids only, pruned), and per run who viewed / clicked a unit
  `CREATE TABLE IF NOT EXISTS unit_kpi_hourly (unit TEXT NOT NULL, unit_type TEXT NOT NULL, version TEXT NOT NULL,
     arm TEXT NOT NULL, hour INTEGER NOT NULL, renders INTEGER NOT NULL DEFAULT 0, views INTEGER NOT NULL DEFAULT 0,
     clicks INTEGER NOT NULL DEFAULT 0, cart_clicks INTEGER NOT NULL DEFAULT 0, carts INTEGER NOT NULL DEFAULT 0,
     purchases INTEGER NOT NULL DEFAULT 0, revenue_cents INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (unit, unit_type, version, arm, hour))`,
  `CREATE TABLE IF NOT EXISTS unit_clicks (id TEXT PRIMARY KEY, user TEXT NOT NULL, item TEXT NOT NULL, session TEXT,
     ts REAL NOT NULL, unit TEXT NOT NULL, unit_type TEXT NOT NULL, version TEXT NOT NULL, arm TEXT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS unit_clicks_user_item ON unit_clicks (user, item, ts)',
  'CREATE INDEX IF NOT EXISTS unit_clicks_ts ON unit_clicks (ts)',
  `CREATE TABLE IF NOT EXISTS unit_conversions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, user TEXT NOT NULL,
     item TEXT NOT NULL, session TEXT, signed_in INTEGER NOT NULL DEFAULT 0, ts REAL NOT NULL, hour INTEGER NOT NULL,
     revenue_cents INTEGER NOT NULL DEFAULT 0, click TEXT, click_ts REAL, unit TEXT, unit_type TEXT, version TEXT, arm TEXT,
     moved INTEGER NOT NULL DEFAULT 0)`,
  'CREATE INDEX IF NOT EXISTS unit_conversions_user_item ON unit_conversions (user, item)',
  'CREATE INDEX IF NOT EXISTS unit_conversions_ts ON unit_conversions (ts)',
  // feedback (POST /edge/feedback) per model version, arm, unit ('' for none), rating 1..5 and day, for the console
  `CREATE TABLE IF NOT EXISTS feedback_daily (version TEXT NOT NULL, arm TEXT NOT NULL, unit TEXT NOT NULL, rating INTEGER NOT NULL,
     day INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (version, arm, unit, rating, day))`,
  `CREATE TABLE IF NOT EXISTS run_unit_shoppers (run TEXT NOT NULL, user TEXT NOT NULL, arm TEXT NOT NULL, version TEXT,
     viewed INTEGER NOT NULL DEFAULT 0, clicked INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run, user))`,
];

// columns added after the manifest table first shipped (a database from before gets them)
const MANIFEST_ADDED = { segment: 'TEXT', scope: 'TEXT', scope_id: 'TEXT', paused: 'INTEGER NOT NULL DEFAULT 0' };

let schemaReady = null; // per isolate: `wrangler dev` does not apply migrations, so the Worker does

/** Create the tables when missing, add missing manifest columns (idempotent; once per isolate). */
export function ensureSchema(db) {
  if (!db) throw new Error('D1 binding DB is missing');
  schemaReady ??= db.batch(SCHEMA.map((s) => db.prepare(s)))
    .then(async () => {
      const have = new Set((await db.prepare('PRAGMA table_info(manifest)').all()).results.map((r) => r.name));
      const add = Object.entries(MANIFEST_ADDED).filter(([c]) => !have.has(c));
      if (add.length) await db.batch(add.map(([c, t]) => db.prepare(`ALTER TABLE manifest ADD COLUMN ${c} ${t}`)));
    })
    .catch((e) => { schemaReady = null; throw e; });
  return schemaReady;
}

/** A stored segment (JSON text) → the object, or null. */
const segmentField = (text) => { try { return text ? JSON.parse(text) : null; } catch { return null; } };

function randomId(bytes = 12) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** The manifest row, created (no active bundle yet) when missing. */
export async function readManifest(db) {
  await ensureSchema(db);
  let m = await db.prepare('SELECT * FROM manifest WHERE id = 1').first();
  if (!m) {
    await db.prepare('INSERT OR IGNORE INTO manifest (id, salt, holdout, updated, revision) VALUES (1, ?, ?, ?, 0)')
      .bind(randomId(16), DEFAULT_HOLDOUT, Date.now()).run();
    m = await db.prepare('SELECT * FROM manifest WHERE id = 1').first();
  }
  return m;
}

/** The part of the manifest the hot path needs (mirrored to KV). */
export const publicManifest = (m) => ({
  active: m.active ?? null, canary: m.canary ?? null, percent: m.percent ?? 0, holdout: m.holdout ?? DEFAULT_HOLDOUT,
  salt: m.salt, run: m.run ?? null, canary_started: m.canary_started ?? null, revision: m.revision ?? 0, updated: m.updated,
  // core/segments.js: the canary's segment, personalization's scope (and its id: memberships are
  // fixed per scope id), the kill switch
  segment: segmentField(m.segment), scope: segmentField(m.scope), scope_id: m.scope_id ?? null, paused: !!m.paused,
});

/** Every audit row names who acted: a token or Access identity (admin-auth.js), "guardrail", "retrain", …; throws without one. */
function checkActor(actor) {
  if (typeof actor !== 'string' || !actor) throw new TypeError('audit: the actor is missing (who made this change?)');
}

export class ConflictError extends Error {
  constructor(message) { super(message); this.name = 'ConflictError'; this.status = 409; }
}

/**
 * Change the manifest from `from` (as read) to `to`, atomically with its audit row.
 * @param {{action: string, actor: string, reason?: string, figures?: object, canary?: string}} why
 *   `canary`: the version the audit row is about when it is not the new manifest's canary
 *   (a promotion or a rollback clears the canary)
 * @returns the new manifest row; throws ConflictError when someone else changed it first.
 */
export async function changeManifest(env, from, to, why) {
  checkActor(why.actor);
  const db = env.DB;
  const change = randomId();
  const now = Date.now();
  const next = { ...from, ...to };
  const [upd] = await db.batch([
    db.prepare(`UPDATE manifest SET active = ?, canary = ?, percent = ?, holdout = ?, canary_started = ?, run = ?,
                segment = ?, scope = ?, scope_id = ?, paused = ?,
                revision = revision + 1, change_id = ?, updated = ? WHERE id = 1 AND revision = ?`)
      .bind(next.active ?? null, next.canary ?? null, next.percent ?? 0, next.holdout ?? DEFAULT_HOLDOUT,
        next.canary_started ?? null, next.run ?? null, next.segment ?? null, next.scope ?? null, next.scope_id ?? null,
        next.paused ? 1 : 0, change, now, from.revision),
    db.prepare(`INSERT INTO audit (ts, action, actor, active, canary, percent, reason, figures)
                SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT change_id FROM manifest WHERE id = 1) = ?`)
      .bind(now, why.action, why.actor, next.active ?? null, why.canary ?? next.canary ?? null, next.percent ?? 0, why.reason ?? null,
        why.figures ? JSON.stringify(why.figures) : null, change),
  ]);
  if (!upd.meta.changes) throw new ConflictError('the manifest changed meanwhile; read it again and retry');
  const m = await db.prepare('SELECT * FROM manifest WHERE id = 1').first();
  await mirror(env, m);
  return m;
}

/** Write the KV mirror the Worker's hot path reads (eventually consistent, ~60 s). */
export async function mirror(env, m) {
  if (!env.EDGEREC) return;
  await env.EDGEREC.put(MIRROR_KEY, JSON.stringify(publicManifest(m)));
  if (m.active && (await env.EDGEREC.get('bundle:active')) !== m.active) await env.EDGEREC.put('bundle:active', m.active);
}

/** Append an audit row that changes no manifest (refusals, notes). */
export async function audit(env, row) {
  checkActor(row.actor);
  await ensureSchema(env.DB);
  await env.DB.prepare('INSERT INTO audit (ts, action, actor, active, canary, percent, reason, figures) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .bind(Date.now(), row.action, row.actor, row.active ?? null, row.canary ?? null, row.percent ?? null, row.reason ?? null,
      row.figures ? JSON.stringify(row.figures) : null).run();
}
