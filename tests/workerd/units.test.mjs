// units.test.mjs — recommendation units INSIDE workerd: the admin routes (worker-shim/cloudflare/admin.js's
// adminRoute, which the Worker hands every /edge/admin/ request), the store in D1 with its audit rows and revision guard
// (units-store.js), the KV mirror the request path reads (liveUnits) and its repair (the cron's
// repairUnitsMirror), over core/units.js (docs/units.md).
//
// Concurrency is made deterministic with a gated D1: `gatedEnv()` holds every write batch (a batch
// of 3 or more statements — reads are 2) until two have arrived, so two PUTs both read the same
// revision before either writes, as two admins racing would.  Storage (KV, D1) is this file's own;
// the tests run in order and each states what it expects relative to what it found.
import { beforeAll, describe, it, expect } from 'vitest';
import { env } from 'cloudflare:test';
import { adminRoute } from '../../worker-shim/cloudflare/admin.js';
import { ConflictError } from '../../worker-shim/cloudflare/lifecycle.js';
import {
  UNITS_KEY, UNITS_REFRESH_MS, ensureUnitsSchema, liveUnits, putUnit, readUnits, repairUnitsMirror,
} from '../../worker-shim/cloudflare/units-store.js';
import { DEFAULT_UNITS, unitsById, unitsFor } from '../../worker-shim/core/units.js';

const SHOP = 'https://shop.example';
const TOKEN = 'workerd-test-admin-token';
const dec = new TextDecoder();

/** An admin API call through the admin router; body: an object (JSON) or a string. */
async function admin(method, path, { body, token = TOKEN, e = env } = {}) {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let b;
  if (body !== undefined) { b = typeof body === 'string' ? body : JSON.stringify(body); headers['content-type'] = 'application/json'; }
  const request = new Request(`${SHOP}/edge/admin/${path}`, { method, headers, body: b });
  const res = await adminRoute(request, e, new URL(request.url), null); // the reactor is only needed for bundles
  const text = dec.decode(new Uint8Array(await res.arrayBuffer()));
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json, headers: res.headers };
}

const unit = (over = {}) => ({ unitName: 'Mine', typeId: 'trending', pageType: 'Product', ...over });
const unitAudit = async () => (await env.DB.prepare("SELECT * FROM audit WHERE action LIKE 'units-%' ORDER BY id").all()).results
  .map((r) => ({ ...r, figures: r.figures ? JSON.parse(r.figures) : null }));
const mirror = async () => JSON.parse(await env.EDGEREC.get(UNITS_KEY));
/** The KV mirror says exactly what D1 says. */
async function mirrorAgrees() {
  const d = await readUnits(env.DB);
  expect(await mirror()).toEqual({ revision: d.revision, updated: d.updated, units: d.units });
  return d;
}
/** A time past every isolate cache so far (liveUnits re-reads). */
let later = Date.now();
const past = () => (later += UNITS_REFRESH_MS + 1000);

/** env whose D1 holds write batches until `n` have arrived. */
function gatedEnv(n = 2) {
  const waiting = [];
  const DB = {
    prepare: (q) => env.DB.prepare(q),
    batch: async (stmts) => {
      if (stmts.length >= 3 && waiting.length < n) {
        await new Promise((resolve) => { waiting.push(resolve); if (waiting.length === n) waiting.forEach((r) => r()); });
      }
      return env.DB.batch(stmts);
    },
  };
  return { ...env, DB };
}

beforeAll(() => ensureUnitsSchema(env.DB)); // the tables (and the audit log) before the first look

describe('the units admin API', () => {
  it('needs the admin token: 401 for every units route, nothing written', async () => {
    const before = (await unitAudit()).length;
    for (const [method, path, body] of [['GET', 'units'], ['GET', 'units/x'], ['PUT', 'units/x', unit()], ['POST', 'units', unit()], ['DELETE', 'units/x']]) {
      for (const token of [null, 'wrong-token']) {
        const r = await admin(method, path, { body, token });
        expect(r.status, `${method} ${path} with ${token}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
        expect(r.headers.get('cache-control')).toBe('no-store');
      }
    }
    expect((await unitAudit()).length).toBe(before);
    expect((await readUnits(env.DB)).units).toEqual([]);
  });

  it('with nothing stored: the defaults, marked, for every page type — in GET and on the request path', async () => {
    const r = await admin('GET', 'units');
    expect(r.status).toBe(200);
    expect(r.json.revision).toBe(0);
    expect(r.json.units.every((u) => u.default === true)).toBe(true);
    expect(r.json.units.map((u) => u.unitId).sort()).toEqual(DEFAULT_UNITS.map((u) => u.unitId).sort());
    expect(r.json.pageTypes.Product).toEqual({ active: 2, limit: 5, defaults: true });
    expect(r.json.pageTypes.PageBuilder).toEqual({ active: 1, limit: 25, defaults: true });
    const one = await admin('GET', 'units/edgerec-default-product-1');
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ unitId: 'edgerec-default-product-1', typeId: 'viewed-viewed', pageType: 'Product', default: true,
      storefrontLabel: 'Customers who viewed this product also viewed' });
    expect(await env.EDGEREC.get(UNITS_KEY)).toBeNull();
    const live = await liveUnits(env, past());
    expect(live.source).toBe('defaults');
    expect(unitsFor(live, 'CMS').map((u) => u.storefrontLabel)).toEqual(['Recommended for you', 'Trending now']);
    expect(unitsFor(live, 'Cart').map((u) => u.typeId)).toEqual(['viewed-bought', 'bought-bought']);
    expect(unitsById(live, ['edgerec-default-checkout-1', 'nope'])).toMatchObject({ unknown: ['nope'], units: [{ typeId: 'bought-bought' }] });
    expect((await admin('GET', 'units/nope')).status).toBe(404);
  });

  it('400 naming the field (and every field), 413 over 64 KiB, bad JSON and bad ids refused; nothing written', async () => {
    const before = await readUnits(env.DB), auditBefore = (await unitAudit()).length;
    let r = await admin('PUT', 'units/v1', { body: unit({ itemCount: 26 }) });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('itemCount: must be an integer 1..25 (got 26)');
    expect(r.json.errors).toEqual([{ field: 'itemCount', message: 'must be an integer 1..25 (got 26)' }]);
    r = await admin('PUT', 'units/v1', { body: { unitName: 'x', typeId: 'similar', pageType: 'product', filters: { priceMin: 9, priceMax: 1 } } });
    expect(r.status).toBe(400);
    expect(r.json.errors.map((e) => e.field)).toEqual(['typeId', 'pageType', 'filters.priceMax']);
    expect(r.json.error).toMatch(/did you mean 'Product'\?/);
    r = await admin('PUT', 'units/v1', { body: unit({ unitId: 'v2' }) });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("unitId: 'v2' is not the id in the path ('v1')");
    r = await admin('PUT', 'units/a%20b', { body: unit() });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^unitId: must be 1\.\.64 characters/);
    r = await admin('PUT', 'units/%E0%A4%A', { body: unit() });
    expect(r.status).toBe(400);
    r = await admin('PUT', 'units/v1', { body: '{"unitName": ' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^body must be JSON/);
    r = await admin('PUT', 'units/v1', { body: '[1]' });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('unit: must be a JSON object');
    r = await admin('PUT', 'units/v1', { body: JSON.stringify(unit({ unitName: 'x', pad: 'y'.repeat(70_000) })) });
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/65536 bytes/);
    r = await admin('POST', 'units', { body: unit({ status: 'paused' }) });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^status: must be one of active, inactive/);
    expect((await admin('PATCH', 'units/v1', { body: unit() })).status).toBe(404);
    expect(await readUnits(env.DB)).toEqual(before);
    expect((await unitAudit()).length).toBe(auditBefore);
  });

  it('PUT / GET / DELETE round trip: one revision and one audit row per change, the mirror equal to D1', async () => {
    const auditBefore = (await unitAudit()).length;
    const rev0 = (await readUnits(env.DB)).revision;
    // create: the page type's defaults are kept (copied), in the same change
    let r = await admin('PUT', 'units/home-hero', { body: unit({ pageType: 'CMS', typeId: 'just-for-you', unitName: 'Hero', storefrontLabel: 'Picked for you', itemCount: 8 }) });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ created: true, changed: true, revision: rev0 + 1, unit: { unitId: 'home-hero', displayOrder: 3, itemCount: 8, backfill: 'most-viewed' } });
    let d = await mirrorAgrees();
    expect(d.units.filter((u) => u.pageType === 'CMS').map((u) => u.unitId)).toEqual(['edgerec-default-cms-1', 'edgerec-default-cms-2', 'home-hero']);
    let rows = (await unitAudit()).slice(auditBefore);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'units-put', actor: 'admin', active: null, canary: null, percent: null });
    expect(rows[0].reason).toBe("unit home-hero: created (CMS, just-for-you, active); CMS's defaults kept as stored units (edgerec-default-cms-1, edgerec-default-cms-2)");
    expect(rows[0].figures).toMatchObject({ unit_id: 'home-hero', revision: rev0 + 1, copied: ['edgerec-default-cms-1', 'edgerec-default-cms-2'] });
    // GET it back, and PUT what GET returned: nothing changes, nothing is written
    const got = await admin('GET', 'units/home-hero');
    expect(got.json).toEqual({ ...r.json.unit, default: false });
    r = await admin('PUT', 'units/home-hero', { body: got.json });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ created: false, changed: false, revision: rev0 + 1 });
    expect((await unitAudit()).length).toBe(auditBefore + 1);
    // replace: what changed is in the audit row
    r = await admin('PUT', 'units/home-hero', { body: { ...got.json, itemCount: 4, status: 'inactive' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ created: false, changed: true, revision: rev0 + 2, unit: { itemCount: 4, status: 'inactive', displayOrder: 3 } });
    rows = (await unitAudit()).slice(auditBefore);
    expect(rows).toHaveLength(2);
    expect(rows[1].reason).toBe('unit home-hero: itemCount 8 → 4, status "active" → "inactive"');
    expect(rows[1].figures.changes).toEqual({ itemCount: [8, 4], status: ['active', 'inactive'] });
    await mirrorAgrees();
    // the list marks stored and default units
    const list = await admin('GET', 'units');
    expect(list.json.revision).toBe(rev0 + 2);
    expect(list.json.units.filter((u) => u.pageType === 'CMS').map((u) => `${u.unitId}:${u.default}`))
      .toEqual(['edgerec-default-cms-1:false', 'edgerec-default-cms-2:false', 'home-hero:false']);
    expect(list.json.units.find((u) => u.pageType === 'Cart').default).toBe(true);
    expect(list.json.pageTypes.CMS).toEqual({ active: 2, limit: 5, defaults: false });
    // POST: a new UUID, or the body's unitId; never a replace
    r = await admin('POST', 'units', { body: unit({ pageType: 'PageBuilder', unitName: 'Banner row' }) });
    expect(r.status, r.text).toBe(201);
    expect(r.json.unit.unitId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const uuid = r.json.unit.unitId;
    r = await admin('POST', 'units', { body: unit({ unitId: 'home-hero', pageType: 'CMS' }) });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/^unit 'home-hero' exists: PUT/);
    // DELETE: 200 with the unit, then 404; a default that is not stored is 409
    r = await admin('DELETE', `units/${uuid}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ deleted: { unitId: uuid }, revision: rev0 + 4 });
    expect((await admin('GET', `units/${uuid}`)).status).toBe(404);
    r = await admin('DELETE', `units/${uuid}`);
    expect(r.status).toBe(404);
    expect(r.json.error).toBe(`no unit '${uuid}'`);
    r = await admin('DELETE', 'units/edgerec-default-checkout-1');
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/is a default unit.*"status":"inactive"/);
    rows = (await unitAudit()).slice(auditBefore);
    expect(rows.map((x) => x.action)).toEqual(['units-put', 'units-put', 'units-put', 'units-delete']);
    expect(rows[3].reason).toMatch(new RegExp(`^unit ${uuid} deleted \\(PageBuilder, trending, active\\)`));
    d = await mirrorAgrees();
    expect(d.revision).toBe(rev0 + 4);
    // the request path sees it after its cache: the CMS units in order, the inactive one left out
    const live = await liveUnits(env, past());
    expect(live).toMatchObject({ source: 'kv', revision: rev0 + 4 });
    expect(unitsFor(live, 'CMS').map((u) => u.unitId)).toEqual(['edgerec-default-cms-1', 'edgerec-default-cms-2']);
    expect(unitsById(live, ['home-hero'])).toEqual({ units: [], unknown: [], inactive: ['home-hero'] });
    expect(unitsFor(live, 'PageBuilder').map((u) => u.unitId)).toEqual(['edgerec-default-pagebuilder-1']);
  });

  it('at most 5 active units per page type: the sixth is 409 naming the page type; nothing written', async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await admin('PUT', `units/cat-${i}`, { body: unit({ pageType: 'Category', displayOrder: 10 + i }) });
      expect(r.status, r.text).toBe(201);
    }
    expect((await admin('GET', 'units')).json.pageTypes.Category).toEqual({ active: 5, limit: 5, defaults: false });
    const before = await readUnits(env.DB), auditBefore = (await unitAudit()).length;
    let r = await admin('PUT', 'units/cat-6', { body: unit({ pageType: 'Category' }) });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/^Category would have 6 active units; at most 5 are allowed per page type/);
    r = await admin('PUT', 'units/home-hero', { body: unit({ pageType: 'Category', unitName: 'moved' }) });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/^Category would have 6/);
    expect(await readUnits(env.DB)).toEqual(before);
    expect((await unitAudit()).length).toBe(auditBefore);
    r = await admin('PUT', 'units/cat-6', { body: unit({ pageType: 'Category', status: 'inactive' }) });
    expect(r.status).toBe(201);
    await mirrorAgrees();
  });

  it('two concurrent PUTs from the same revision: one wins, the other gets 409; one revision, one audit row, the mirror agrees', async () => {
    for (let round = 0; round < 3; round++) {
      const before = await readUnits(env.DB), auditBefore = (await unitAudit()).length;
      const e = gatedEnv();
      const rs = await Promise.all([
        admin('PUT', `units/race-${round}-a`, { body: unit({ pageType: 'Checkout', status: 'inactive' }), e }),
        admin('PUT', `units/race-${round}-b`, { body: unit({ pageType: 'Checkout', status: 'inactive' }), e }),
      ]);
      const won = rs.filter((r) => r.status === 201), lost = rs.filter((r) => r.status !== 201);
      expect(won, rs.map((r) => r.text).join(' | ')).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0].status).toBe(409);
      expect(lost[0].json.error).toMatch(/changed meanwhile/);
      const d = await mirrorAgrees();
      expect(d.revision).toBe(before.revision + 1);
      expect(d.units.map((u) => u.unitId)).toContain(won[0].json.unit.unitId);
      expect(d.units.map((u) => u.unitId)).not.toContain(`race-${round}-${rs[0] === won[0] ? 'b' : 'a'}`);
      const rows = (await unitAudit()).slice(auditBefore);
      expect(rows).toHaveLength(1);
      expect(rows[0].reason).toMatch(new RegExp(`^unit ${won[0].json.unit.unitId}: created`));
    }
    // and in the store directly: the loser is a ConflictError
    const e = gatedEnv();
    const results = await Promise.allSettled([putUnit(e, 'direct-a', unit({ status: 'inactive' })), putUnit(e, 'direct-b', unit({ status: 'inactive' }))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(lost.reason).toBeInstanceOf(ConflictError);
    expect(lost.reason.status).toBe(409);
    await mirrorAgrees();
  });

  it('concurrent PUTs without a gate (as they come): every success one revision and one audit row, losers 409', async () => {
    const before = await readUnits(env.DB), auditBefore = (await unitAudit()).length;
    const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => admin('PUT', `units/free-${i}`, { body: unit({ pageType: 'PageBuilder' }) })));
    const ok = rs.filter((r) => r.status === 201);
    for (const r of rs.filter((x) => x.status !== 201)) expect([r.status, r.json.error]).toEqual([409, expect.stringMatching(/changed meanwhile/)]);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const d = await mirrorAgrees();
    expect(d.revision).toBe(before.revision + ok.length);
    expect((await unitAudit()).slice(auditBefore)).toHaveLength(ok.length);
    expect(ok.map((r) => r.json.revision).sort((a, b) => a - b)).toEqual(ok.map((_, i) => before.revision + 1 + i));
  });
});

describe('the KV mirror', () => {
  it('liveUnits: cached per isolate for 60 s, then re-read; an invalid mirror keeps the last good units', async () => {
    const t = past();
    const first = await liveUnits(env, t);
    const d = await readUnits(env.DB);
    expect(first).toMatchObject({ source: 'kv', revision: d.revision });
    expect(Object.isFrozen(first.units[0])).toBe(true);
    const r = await admin('PUT', 'units/live-1', { body: unit({ pageType: 'Cart', unitName: 'Cart pick', displayOrder: 0 }) });
    expect(r.status).toBe(201);
    expect((await liveUnits(env, t + UNITS_REFRESH_MS - 1)).revision).toBe(d.revision); // still cached
    const next = await liveUnits(env, t + UNITS_REFRESH_MS);
    expect(next.revision).toBe(d.revision + 1);
    expect(unitsFor(next, 'Cart').map((u) => u.unitId)).toEqual(['live-1', 'edgerec-default-cart-1', 'edgerec-default-cart-2']);
    // a hand-edited mirror that is not a valid configuration: the last good one stays
    const good = await env.EDGEREC.get(UNITS_KEY);
    await env.EDGEREC.put(UNITS_KEY, JSON.stringify({ revision: 99, units: [unit({ itemCount: 99 })] }));
    const kept = await liveUnits(env, past());
    expect(kept.revision).toBe(d.revision + 1);
    await env.EDGEREC.put(UNITS_KEY, 'not json');
    expect((await liveUnits(env, past())).revision).toBe(d.revision + 1);
    await env.EDGEREC.put(UNITS_KEY, good);
  });

  it('repairUnitsMirror: a stale, missing or edited mirror is rewritten from D1; an agreeing one is left alone', async () => {
    const d = await mirrorAgrees();
    expect(await repairUnitsMirror(env)).toEqual({ repaired: false, revision: d.revision });
    // stale: an older revision's mirror landed last
    await env.EDGEREC.put(UNITS_KEY, JSON.stringify({ revision: d.revision - 1, updated: 0, units: d.units.slice(1) }));
    expect(await repairUnitsMirror(env)).toEqual({ repaired: true, revision: d.revision });
    await mirrorAgrees();
    // edited with the same revision
    const m = await mirror();
    m.units[0].itemCount = 1;
    await env.EDGEREC.put(UNITS_KEY, JSON.stringify(m));
    expect((await repairUnitsMirror(env)).repaired).toBe(true);
    await mirrorAgrees();
    // missing
    await env.EDGEREC.delete(UNITS_KEY);
    expect((await repairUnitsMirror(env)).repaired).toBe(true);
    await mirrorAgrees();
    expect((await repairUnitsMirror(env)).repaired).toBe(false);
    // the request path follows
    expect((await liveUnits(env, past())).revision).toBe(d.revision);
    // never throws
    expect(await repairUnitsMirror({ ...env, DB: undefined })).toMatchObject({ repaired: false, error: expect.stringMatching(/DB/) });
  });

  it('deleting every stored unit of a page type brings its defaults back (GET and the request path)', async () => {
    const cart = (await readUnits(env.DB)).units.filter((u) => u.pageType === 'Cart');
    for (const u of cart) expect((await admin('DELETE', `units/${u.unitId}`)).status).toBe(200);
    const list = await admin('GET', 'units');
    expect(list.json.units.filter((u) => u.pageType === 'Cart').map((u) => `${u.unitId}:${u.default}`))
      .toEqual(['edgerec-default-cart-1:true', 'edgerec-default-cart-2:true']);
    expect((await unitAudit()).at(-1).reason).toMatch(/Cart has no unit of its own now and shows its defaults$/);
    await mirrorAgrees();
    expect(unitsFor(await liveUnits(env, past()), 'Cart').map((u) => u.default)).toEqual([true, true]);
  });
});
