// admin.js — the admin API under /edge/admin/ (who may call what: admin-auth.js, docs/admin.md —
// named tokens with roles, Cloudflare Access, the console's session; never cached).
//
//   PUT  /edge/admin/bundles/:version   store a bundle, validated by the engine first
//   GET  /edge/admin/bundles/:version   the bundle's bytes (`active` / `canary` name the live ones)
//   GET  /edge/admin/status             manifest, KPIs per live version, unit KPIs, uplift, recent decisions
//   POST /edge/admin/rollout            {"canary":"VERSION","percent":N,"segment":{…}|null} (segment: core/segments.js)
//   PUT  /edge/admin/scope              {"scope":{…}|null}: personalization as a whole limited to a segment
//   POST /edge/admin/pause | resume     the kill switch: origin order for everyone ({"reason":"…"} optional)
//   POST /edge/admin/promote            canary → active
//   POST /edge/admin/rollback           canary removed
//   GET  /edge/admin/events?since=TS&cursor=C   the event log as NDJSON pages (tombstoned shoppers left out)
//   GET  /edge/admin/units              every unit (stored, and the defaults marked), per page type counts
//   GET  /edge/admin/units/:id          one unit
//   PUT  /edge/admin/units/:id          create or replace (400 naming the field; 409 over a limit or on a concurrent change)
//   POST /edge/admin/units              create; the id is the body's unitId or a new UUID (409 when it exists)
//   DELETE /edge/admin/units/:id        (404 unknown; 409 for a default that is not stored)
//   GET  /edge/admin/retention          event-log / feedback-text retention, the erasure purge's progress (retention.js)
//   POST /edge/admin/erasures           {"id":"<64 hex>"} | {"customer_id":"…"}: erase a shopper for a request made elsewhere (erasure.js)
//   GET  /edge/admin/live-lists         the published live popularity lists, their age, the last run (popularity.js)
//   GET  /edge/admin/metrics            Prometheus text exposition 0.0.4 (metrics.js; role 'metrics' or operator)
//   GET  /edge/admin/ and /edge/admin/console/*   the operators' console and its JSON (console-data.js)
import { readBounded } from '../core/body.js';
import { Engine } from '../core/engine.js';
import { tombstoneKey } from './events.js';
import { readBundle, writeBundle } from './bundle-shards.js';
import { ConflictError, audit, changeManifest, ensureSchema, publicManifest, readManifest } from './lifecycle.js';
import { armStats, kpisByVersion } from './kpi.js';
import { unitKpis } from './attribution.js';
import { uplift } from '../core/guardrails.js';
import { UnitError } from '../core/units.js';
import { createUnit, deleteUnit, getUnit, listUnits, putUnit } from './units-store.js';
import { liveListsStatus } from './popularity.js';
import { metricsResponse } from './metrics.js';
import { retentionStatus } from './retention.js';
import { adminErasure } from './erasure.js';
import { parseSegment } from '../core/segments.js';
import { consoleRoute, loginPage } from './console-data.js';
import { authorize, requiredRole, sessionRoute } from './admin-auth.js';

export const MAX_BUNDLE_BYTES = 48 * 1024 * 1024; // over 8 MiB: stored as KV shards (bundle-shards.js)
const MAX_ADMIN_JSON_BYTES = 64 * 1024; // an admin request's JSON body
const EVENTS_OBJECTS_PER_PAGE = 20;               // bounded work per request
const VERSION_RE = /^[\x21-\x7e]{1,23}$/;
const NO_STORE = { 'cache-control': 'no-store' };

const json = (body, status = 200, extra = {}) => Response.json(body, { status, headers: { ...NO_STORE, ...extra } });
const fail = (status, error) => json({ error }, status);

async function sha256Hex(bytes) {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** The engine's verdict on a bundle: loads (checksum, schema, every section), scores a request, fits its budget. */
export function validateBundle(module, bytes) {
  let engine;
  try {
    engine = new Engine(module, bytes);
  } catch (e) {
    return { ok: false, error: `invalid bundle: ${e.message}` };
  }
  const info = engine.info();
  try {
    const out = JSON.parse(engine.recommend(JSON.stringify({ k: 20 })));
    const units = engine.units();
    const budget = info.budget || 2_000_000;
    if (out.fallback) return { ok: false, error: `over budget: a test request ran out of its work budget of ${budget} units` };
    if (units > budget) return { ok: false, error: `over budget: a test request needs ${units} work units, the budget is ${budget}` };
    return { ok: true, info, units, items: out.items.length };
  } catch (e) {
    return { ok: false, error: `test scoring failed: ${e.message}` };
  }
}

export async function adminRoute(request, env, url, wasm) {
  const path = url.pathname.slice('/edge/admin/'.length);
  const own = await sessionRoute(request, env, path); // login, logout, who am I (admin-auth.js)
  if (own) return own;
  const auth = await authorize(request, env, requiredRole(request.method, path)); // roles, sessions, CSRF (docs/admin.md)
  if (!auth.ok) {
    const login = auth.response.status === 401 && loginPage(request, url); // the console's page, asked for by a browser: a login form (401)
    if (login) return login;
    return auth.response;
  }
  const actor = auth.actor.name; // what the audit log records
  if (!env.DB) return fail(503, 'D1 binding DB is missing');
  await ensureSchema(env.DB);
  const m = /^bundles\/([^/]+)$/.exec(path);
  try {
    const page = await consoleRoute(request, env, url, path); // the console (console-data.js): the page and its JSON
    if (page) return page;
    const version = m ? decodePart(m[1]) : null;
    if (m && version === null && (request.method === 'PUT' || request.method === 'GET')) return fail(400, 'version: the path is not valid percent-encoding');
    if (m && request.method === 'PUT') return await putBundle(request, env, version, wasm, actor);
    if (m && request.method === 'GET') return await getBundle(env, version);
    if (path === 'status' && request.method === 'GET') return await status(env);
    if (path === 'rollout' && request.method === 'POST') return await rollout(request, env, actor);
    if (path === 'promote' && request.method === 'POST') return await promote(env, actor, `promoted by ${actor}`);
    if (path === 'rollback' && request.method === 'POST') return await rollback(env, actor, `rolled back by ${actor}`);
    if (path === 'scope' && request.method === 'PUT') return await putScope(request, env, actor);
    if ((path === 'pause' || path === 'resume') && request.method === 'POST') return await pauseResume(request, env, actor, path === 'pause');
    if (path === 'events' && request.method === 'GET') return await exportEvents(env, url);
    if (path === 'live-lists' && request.method === 'GET') return json(await liveListsStatus(env));
    if (path === 'retention' && request.method === 'GET') return json(await retentionStatus(env)); // retention.js
    if (path === 'erasures' && request.method === 'POST') { // erasure.js
      const { body, response } = await readJson(request, '{"id":"<64 hex>"} or {"customer_id":"N"}');
      return response ?? await adminErasure(body, env, actor);
    }
    if (path === 'metrics' && request.method === 'GET') return await metricsResponse(env); // Prometheus text (metrics.js)
    const u = /^units(?:\/([^/]+))?$/.exec(path);
    if (u) { const r = await units(request, env, u[1], actor); if (r) return r; }
  } catch (e) {
    if (e instanceof ConflictError) return fail(409, e.message);
    if (e instanceof UnitError) return json({ error: e.message, ...(e.errors ? { errors: e.errors } : {}) }, e.status);
    throw e;
  }
  return fail(404, `no admin route ${request.method} /edge/admin/${path}`);
}

/** A path segment percent-decoded, or null when it is not valid percent-encoding. */
function decodePart(s) {
  try { return decodeURIComponent(s); } catch { return null; }
}

async function putBundle(request, env, version, wasm, actor) {
  if (!VERSION_RE.test(version) || /["\\]/.test(version)) return fail(400, 'version must be 1..23 printable ASCII characters without spaces, \'"\' or \'\\\'');
  const read = await readBounded(request, MAX_BUNDLE_BYTES);
  if (read.over) return fail(413, `bundle over ${MAX_BUNDLE_BYTES} bytes (the limit)`);
  const bytes = read.bytes;
  const refuse = async (status, error) => { // every refusal of a valid request is in the audit log
    await audit(env, { action: 'refuse-bundle', actor, canary: version, reason: error });
    return fail(status, error);
  };
  const v = validateBundle(wasm, bytes);
  if (!v.ok) return refuse(400, v.error);
  if (v.info.model_version !== version) return refuse(400, `the bundle's own version is '${v.info.model_version}', not '${version}'`);
  const sha = await sha256Hex(bytes);
  const have = await env.DB.prepare('SELECT sha256 FROM bundles WHERE version = ?').bind(version).first();
  if (have && have.sha256 !== sha) return refuse(409, `a different bundle is already stored as ${version}: publish under a new version`);
  const body = { version, bytes: bytes.length, model: v.info.model.kind, work_units: v.units, sha256: sha };
  if (have) return json(body, 200);
  await writeBundle(env.EDGEREC, version, bytes); // one value, or shards then their manifest
  await env.DB.batch([
    env.DB.prepare('INSERT INTO bundles (version, bytes, sha256, model, work_units, created) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(version, bytes.length, sha, v.info.model.kind, v.units, Date.now()),
    env.DB.prepare('INSERT INTO audit (ts, action, actor, canary, reason, figures) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(Date.now(), 'store-bundle', actor, version, 'validated by the engine', JSON.stringify(body)),
  ]);
  return json(body, 201);
}

async function getBundle(env, version) {
  if (version === 'active' || version === 'canary') {
    const m = await readManifest(env.DB);
    version = m[version];
    if (!version) return fail(404, 'no such live bundle');
  }
  const got = await readBundle(env.EDGEREC, version);
  if (!got) return fail(404, `no bundle ${version}`);
  return new Response(got.bytes, { headers: { ...NO_STORE, 'content-type': 'application/octet-stream', 'x-edgerec-version': version } });
}

async function status(env) {
  const m = await readManifest(env.DB);
  const kpis = await kpisByVersion(env.DB, [m.active, m.canary].filter(Boolean));
  const unitFigures = await unitKpis(env.DB, [m.active, m.canary].filter(Boolean));
  const arms = m.run ? await armStats(env.DB, m.run) : await armStats(env.DB, null);
  const decisions = (await env.DB.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT 20').all()).results
    .map((r) => ({ ...r, figures: r.figures ? JSON.parse(r.figures) : null }));
  const up = {};
  if (arms.holdout) for (const a of ['control', 'canary']) if (arms[a]) up[a] = uplift(arms[a], arms.holdout);
  return json({ ...publicManifest(m), salt: undefined, versions: kpis, units: unitFigures, arms, uplift_over_holdout: up, decisions });
}

/** An admin request's JSON body, read up to MAX_ADMIN_JSON_BYTES: {body} or {response} (413 / 400). */
async function readJson(request, shape) {
  const read = await readBounded(request, MAX_ADMIN_JSON_BYTES);
  if (read.over) return { response: fail(413, `body over ${MAX_ADMIN_JSON_BYTES} bytes (the limit)`) };
  try { return { body: JSON.parse(new TextDecoder().decode(read.bytes)) }; } catch { return { response: fail(400, `body must be JSON: ${shape}`) }; }
}

async function rollout(request, env, actor) {
  const { body, response } = await readJson(request, '{"canary":"VERSION","percent":N,"segment":{…}}');
  if (response) return response;
  const { canary, percent } = body ?? {};
  const seg = body && 'segment' in body ? parseSegment(body.segment) : null; // absent: the same canary keeps its segment
  if (seg?.error) return fail(400, seg.error);
  if (typeof canary !== 'string' || !canary) return fail(400, 'canary must name a stored bundle version');
  if (!Number.isInteger(percent) || percent < 1 || percent > 100) return fail(400, 'percent must be an integer in 1..100');
  const known = await env.DB.prepare('SELECT version FROM bundles WHERE version = ?').bind(canary).first();
  if (!known) return fail(409, `no bundle ${canary}: PUT /edge/admin/bundles/${canary} first`);
  const m = await readManifest(env.DB);
  if (canary === m.active) return fail(409, `${canary} is already active`);
  const now = Date.now();
  const segment = seg ? (seg.segment ? JSON.stringify(seg.segment) : null) : m.canary === canary ? m.segment ?? null : null;
  const same = m.canary === canary && (m.segment ?? null) === segment; // another segment is another run (other shoppers)
  const next = await changeManifest(env, m, { canary, percent, segment, canary_started: same ? m.canary_started : now,
    run: same ? m.run : `${canary}@${now}` },
  { action: 'rollout', actor, reason: `canary ${canary} at ${percent} %${segment ? ` of segment ${segment}` : ''}` });
  return json(publicManifest(next));
}

/** PUT /edge/admin/scope {"scope": {…} | null}: personalization limited to a segment (null: everyone).
 * A new scope id each change: memberships are decided afresh under it. */
async function putScope(request, env, actor) {
  const { body, response } = await readJson(request, '{"scope":{"store":["default"],…} | null}');
  if (response) return response;
  if (!body || typeof body !== 'object' || !('scope' in body)) return fail(400, 'body must be {"scope": {…segment…} | null}');
  const seg = parseSegment(body.scope);
  if (seg.error) return fail(400, seg.error.replace(/^segment/, 'scope'));
  const m = await readManifest(env.DB);
  const scope = seg.segment ? JSON.stringify(seg.segment) : null;
  const next = await changeManifest(env, m, { scope, scope_id: scope ? `scope@${Date.now()}` : null },
    { action: 'scope', actor, reason: scope ? `personalization limited to ${scope}` : 'personalization for everyone' });
  return json(publicManifest(next));
}

/** POST /edge/admin/pause | resume: the kill switch (origin order and non-personal units for everyone). */
async function pauseResume(request, env, actor, paused) {
  let why = null;
  if (request.body && request.headers.get('content-length') !== '0') { // the body is optional
    const { body, response } = await readJson(request, '{"reason":"…"} (or no body)');
    if (response) return response;
    if (body?.reason !== undefined && typeof body.reason !== 'string') return fail(400, 'reason must be a string');
    why = body?.reason ? body.reason.slice(0, 500) : null;
  }
  const m = await readManifest(env.DB);
  if (!!m.paused === paused) return json({ ...publicManifest(m), salt: undefined, unchanged: true });
  const next = await changeManifest(env, m, { paused }, { action: paused ? 'pause' : 'resume', actor,
    reason: why ?? (paused ? 'personalization paused: origin order for everyone' : 'personalization resumed') });
  return json({ ...publicManifest(next), salt: undefined });
}

const UNIT_SHAPE = 'a unit {"unitName", "typeId", "pageType", …}';
// The units API (units-store.js over core/units.js); null when the method has no route here.
async function units(request, env, rawId, actor) {
  if (rawId === undefined) {
    if (request.method === 'GET') return json(await listUnits(env));
    if (request.method !== 'POST') return null;
    const { body, response } = await readJson(request, UNIT_SHAPE);
    if (response) return response;
    const r = await createUnit(env, body, { actor });
    return json(r, 201);
  }
  const id = decodePart(rawId);
  if (id === null) return fail(400, 'unitId: the path is not valid percent-encoding');
  if (request.method === 'GET') return json(await getUnit(env, id));
  if (request.method === 'DELETE') return json(await deleteUnit(env, id, { actor }));
  if (request.method !== 'PUT') return null;
  const { body, response } = await readJson(request, UNIT_SHAPE);
  if (response) return response;
  const r = await putUnit(env, id, body, { actor });
  return json(r, r.created ? 201 : 200);
}

// `from`: the manifest the decision was made on (the guardrail's); the change then only happens
// while that is still the manifest (else ConflictError), never to a canary rolled out meanwhile.
// The audit row names the version promoted / rolled back (its `canary` column).
export async function promote(env, actor, reason, figures, from = null) {
  const m = from ?? await readManifest(env.DB);
  if (!m.canary) throw new ConflictError('no canary to promote');
  const next = await changeManifest(env, m, { active: m.canary, canary: null, percent: 0, canary_started: null, run: null, segment: null },
    { action: 'promote', actor, reason, figures, canary: m.canary });
  return json(publicManifest(next));
}

export async function rollback(env, actor, reason, figures, from = null) {
  const m = from ?? await readManifest(env.DB);
  if (!m.canary) throw new ConflictError('no canary to roll back');
  const next = await changeManifest(env, m, { canary: null, percent: 0, canary_started: null, run: null, segment: null },
    { action: 'rollback', actor, reason, figures, canary: m.canary });
  return json(publicManifest(next));
}

async function exportEvents(env, url) {
  const since = Number(url.searchParams.get('since') ?? 0);
  if (!Number.isFinite(since) || since < 0) return fail(400, 'since must be unix seconds');
  const cursor = url.searchParams.get('cursor') || undefined;
  const tomb = new Set();
  let tc;
  do { // tombstones: KV list (bounded by the number of erasures)
    const l = await env.EDGEREC.list({ prefix: tombstoneKey(''), cursor: tc });
    for (const k of l.keys) tomb.add(k.name.slice(tombstoneKey('').length));
    tc = l.list_complete ? undefined : l.cursor;
  } while (tc);
  const startAfter = since ? hourKey(since) : undefined;
  const page = await env.EDGEREC_EVENTS.list({ prefix: 'events/', cursor, limit: EVENTS_OBJECTS_PER_PAGE, startAfter: cursor ? undefined : startAfter });
  const lines = [];
  for (const o of page.objects) {
    const obj = await env.EDGEREC_EVENTS.get(o.key);
    if (!obj) continue;
    for (const line of (await obj.text()).split('\n')) {
      if (!line) continue;
      let ev;
      try { ev = JSON.parse(line); } catch { continue; }
      if (ev.ts < since || (ev.user && tomb.has(ev.user))) continue;
      lines.push(line);
    }
  }
  const headers = { ...NO_STORE, 'content-type': 'application/x-ndjson' };
  if (page.truncated) headers['x-edgerec-next-cursor'] = page.cursor;
  return new Response(lines.length ? lines.join('\n') + '\n' : '', { headers });
}

// The R2 key just before the first hour that can hold events at or after `ts`.
function hourKey(ts) {
  const d = new Date(Math.floor(ts) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `events/${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}/`.replace(/\/$/, '.');
}
