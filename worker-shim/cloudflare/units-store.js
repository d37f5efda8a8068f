// units-store.js — recommendation units (core/units.js) in D1, mirrored to KV for the request path
// (docs/units.md).
//
// D1 (the manifest's database): `units` (one row a unit: its JSON and the columns to look at it
// by) and `units_meta` (one row: revision, change id).  Every change is ONE D1 batch, like a
// manifest change (lifecycle.js): an UPDATE of units_meta guarded by the revision read, which sets
// a fresh change id; the unit rows written and the audit row inserted only when that change id is
// the one in units_meta.  Two concurrent changes leave one consistent set and one audit row; the
// loser gets ConflictError (409).  The audit row has lifecycle.js's shape: action `units-put` /
// `units-delete`, actor, reason (the unit id and what changed), figures.
//
// KV `units` holds {revision, updated, units} (the stored units), written after each change; the
// request path reads it through liveUnits (per isolate, at most every UNITS_REFRESH_MS), and the
// cron's repairUnitsMirror rewrites it when it differs from D1 (mirror writes can land out of order).
//
//   ensureUnitsSchema(db)                  the tables (and lifecycle.js's, for the audit log)
//   readUnits(db)                          → {revision, updated, units}   (stored only)
//   listUnits(env)                         → {revision, units (defaults marked), pageTypes}
//   getUnit(env, id)                       → unit (`default` marked)       (UnitError 404)
//   putUnit(env, id, body, opts)           → {unit, created, changed, revision}
//   createUnit(env, body, opts)            → the same, the id from the body or a new UUID
//   deleteUnit(env, id, opts)              → {deleted, revision}           (UnitError 404 / 409)
//   liveUnits(env, now)                    → {revision, units (stored + defaults), source}  never throws
//   repairUnitsMirror(env)                 → {repaired, revision[, error]}                  never throws
import { effectiveUnits, findUnit, planDelete, planPut, sortUnits, unitListing, validateUnits } from '../core/units.js';
import { ConflictError, ensureSchema } from './lifecycle.js';

export const UNITS_KEY = 'units';
export const UNITS_REFRESH_MS = 60_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS units (unit_id TEXT PRIMARY KEY, page_type TEXT NOT NULL, status TEXT NOT NULL,
     display_order INTEGER NOT NULL, body TEXT NOT NULL, updated INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS units_meta (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL DEFAULT 0,
     change_id TEXT, updated INTEGER NOT NULL)`,
  'INSERT OR IGNORE INTO units_meta (id, revision, updated) VALUES (1, 0, 0)',
];
let schemaReady = null; // per isolate

/** Create the units tables when missing (idempotent; once per isolate), after lifecycle.js's. */
export function ensureUnitsSchema(db) {
  if (!db) throw new Error('D1 binding DB is missing');
  schemaReady ??= ensureSchema(db).then(() => db.batch(SCHEMA.map((s) => db.prepare(s))))
    .catch((e) => { schemaReady = null; throw e; });
  return schemaReady;
}

/** The stored units and their revision, read together (one batch: one snapshot). */
export async function readUnits(db) {
  await ensureUnitsSchema(db);
  const [meta, rows] = await db.batch([
    db.prepare('SELECT revision, updated FROM units_meta WHERE id = 1'),
    db.prepare('SELECT unit_id, body FROM units'),
  ]);
  const units = [];
  for (const r of rows.results) {
    try { units.push(JSON.parse(r.body)); } catch { console.error(`edgerec: units: the row of ${r.unit_id} is not JSON; left out`); }
  }
  return { revision: meta.results[0]?.revision ?? 0, updated: meta.results[0]?.updated ?? 0, units: sortUnits(units) };
}

const mirrorValue = (cfg) => JSON.stringify({ revision: cfg.revision, updated: cfg.updated, units: cfg.units });

/** Write the KV mirror from D1 as it is now. */
async function mirrorUnits(env, cfg = null) {
  if (!env.EDGEREC) return null;
  const c = cfg ?? await readUnits(env.DB);
  await env.EDGEREC.put(UNITS_KEY, mirrorValue(c));
  return c;
}

/** Every unit as the request path sees it: stored ones and the defaults of page types without
 * one (`default: true`), with the active count and limit per page type. */
export async function listUnits(env) {
  const cfg = await readUnits(env.DB);
  return { revision: cfg.revision, updated: cfg.updated, ...unitListing(cfg.units) };
}

export const getUnit = async (env, id) => findUnit((await readUnits(env.DB)).units, id);

function randomId(bytes = 12) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Apply a plan (core/units.js planPut / planDelete) read at `from.revision`: one D1 batch. */
async function commit(env, from, plan, action, actor) {
  const db = env.DB;
  const change = randomId();
  const now = Date.now();
  const guard = '(SELECT change_id FROM units_meta WHERE id = 1) = ?';
  const stmts = [
    db.prepare('UPDATE units_meta SET revision = revision + 1, change_id = ?, updated = ? WHERE id = 1 AND revision = ?')
      .bind(change, now, from.revision),
    ...plan.upsert.map((u) => db.prepare(`INSERT OR REPLACE INTO units (unit_id, page_type, status, display_order, body, updated)
                                          SELECT ?, ?, ?, ?, ?, ? WHERE ${guard}`)
      .bind(u.unitId, u.pageType, u.status, u.displayOrder, JSON.stringify(u), now, change)),
    ...plan.remove.map((id) => db.prepare(`DELETE FROM units WHERE unit_id = ? AND ${guard}`).bind(id, change)),
    db.prepare(`INSERT INTO audit (ts, action, actor, active, canary, percent, reason, figures)
                SELECT ?, ?, ?, NULL, NULL, NULL, ?, ? WHERE ${guard}`)
      .bind(now, action, actor, plan.reason, JSON.stringify({ unit_id: plan.unit.unitId, revision: from.revision + 1,
        changes: plan.changes ?? null, copied: plan.copied ?? [] }), change),
  ];
  const [upd] = await db.batch(stmts);
  if (!upd.meta.changes) throw new ConflictError('the units changed meanwhile; read them again and retry');
  try { await mirrorUnits(env); } catch (e) { console.error(`edgerec: units mirror: ${e.message}`); } // the cron repairs it
  return from.revision + 1;
}

/**
 * Create or replace unit `id` with `body` (a unit's JSON; core/units.js normalizes it).
 * opts: {actor = 'admin', create = false (refuse to replace)}.  A PUT that changes nothing writes
 * nothing (changed: false).  Throws UnitError (400 invalid, 409 limit / exists) or ConflictError.
 */
export async function putUnit(env, id, body, { actor = 'admin', create = false } = {}) {
  const from = await readUnits(env.DB);
  const plan = planPut(from.units, body, { id, create });
  if (!plan.changed) return { unit: plan.unit, created: false, changed: false, revision: from.revision };
  const revision = await commit(env, from, plan, 'units-put', actor);
  return { unit: plan.unit, created: plan.created, changed: true, revision };
}

/** Create a unit whose id is the body's unitId or a new UUID (409 when it exists). */
export const createUnit = (env, body, opts = {}) => putUnit(env, undefined, body, { ...opts, create: true });

export async function deleteUnit(env, id, { actor = 'admin' } = {}) {
  const from = await readUnits(env.DB);
  const plan = planDelete(from.units, id);
  const revision = await commit(env, from, plan, 'units-delete', actor);
  return { deleted: plan.unit, revision };
}

// ---- the request path ----------------------------------------------------------------------------

const deepFreeze = (o) => { for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v); return Object.freeze(o); };
const DEFAULTS_CONFIG = deepFreeze({ revision: 0, updated: 0, units: effectiveUnits([]), source: 'defaults' });
const cache = { config: null, at: -Infinity, loading: null };

/** The mirror's JSON as a config whose `units` are the effective units (stored + defaults);
 * throws when it is not a valid configuration. */
function parseMirror(raw) {
  const m = JSON.parse(raw);
  if (!m || typeof m !== 'object' || !Number.isInteger(m.revision)) throw new Error('not {revision, units}');
  return deepFreeze({ revision: m.revision, updated: m.updated ?? 0, units: effectiveUnits(validateUnits(m.units)), source: 'kv' });
}

async function refresh(env, now) {
  cache.at = now;
  try {
    if (!env.EDGEREC) throw new Error('KV binding EDGEREC is missing');
    const raw = await env.EDGEREC.get(UNITS_KEY);
    cache.config = raw === null ? DEFAULTS_CONFIG : parseMirror(raw);
  } catch (e) {
    console.error(`edgerec: units: ${e.message}; keeping ${cache.config ? `revision ${cache.config.revision}` : 'the defaults'}`);
  }
}

/**
 * The units the request path serves, per isolate: KV `units` read at most every UNITS_REFRESH_MS
 * (`now` earlier than the last read also re-reads).  Nothing stored → the defaults
 * (source 'defaults'); a KV error or an invalid mirror keeps the last good config.  Never throws.
 * Hand the result to core/units.js: unitsFor(config, pageType), unitsById(config, ids).
 * @returns {{revision: number, updated: number, units: object[], source: 'kv' | 'defaults'}} (frozen)
 */
export async function liveUnits(env, now = Date.now()) {
  if (now - cache.at >= UNITS_REFRESH_MS || now < cache.at) {
    cache.loading ??= refresh(env, now).finally(() => { cache.loading = null; });
    await cache.loading;
  } else if (cache.loading) {
    await cache.loading;
  }
  return cache.config ?? DEFAULTS_CONFIG;
}

/** For the cron: make KV `units` say what D1 says (one D1 snapshot and one KV read; a write only
 * when they differ).  Never throws: {repaired, revision} or {repaired: false, error}. */
export async function repairUnitsMirror(env) {
  try {
    if (!env.DB || !env.EDGEREC) return { repaired: false, error: 'D1 binding DB or KV binding EDGEREC is missing' };
    const cfg = await readUnits(env.DB);
    const raw = await env.EDGEREC.get(UNITS_KEY);
    if (raw === mirrorValue(cfg) || (raw === null && cfg.revision === 0)) return { repaired: false, revision: cfg.revision };
    await mirrorUnits(env, cfg);
    return { repaired: true, revision: cfg.revision };
  } catch (e) {
    console.error(`edgerec: units mirror repair: ${e.message}`);
    return { repaired: false, error: e.message };
  }
}
