// units.fuzz.test.mjs — property-based fuzzing (fast-check; tests/js/fuzz.mjs: FUZZ_RUNS, FUZZ_SEED) of the
// unit arguments: worker-shim/core/units.js (a unit as the admin API receives it: normalizeUnit,
// validateUnits, planPut, planDelete, unitsById) and the request side in worker-shim/core/recommendations.js
// (GET /edge/recommend's query: restArgs, restUnits; the store headers: storeOf).  Properties: the only
// error is the documented UnitError (400 naming every bad field, 404, 409), with messages free of
// control characters; what is accepted satisfies every documented bound; a normalized unit normalizes to
// itself through JSON (the admin API's GET → edit → PUT); no plan exceeds a page type's active limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BACKFILLS, MAX_ACTIVE, MAX_CATEGORIES, MAX_DISPLAY_ORDER, MAX_ITEM_COUNT, MAX_UNITS, PAGE_TYPES, STATUSES, TYPE_IDS, UNIT_ID_RE,
  UnitError, effectiveUnits, normalizeUnit, planDelete, planPut, unitsById, validateUnits,
} from '../../worker-shim/core/units.js';
import { LIMITS, restArgs, restUnits, storeOf } from '../../worker-shim/core/recommendations.js';
import { anyString, fc, params, timed, CALL_MS } from './fuzz.mjs';

// A unit's fields: mostly plausible, often wrong in type, range or spelling.
const field = (good) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: anyString({ maxLength: 140 }) });
const text = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom(' ', 'a'.repeat(129), 'x\u0007y', ''));
const paths = fc.array(fc.oneof(fc.constantFrom('Men/Tops/Jackets', 'Gear/Bags', ' Gear/Bags ', ''), fc.string({ maxLength: 30 })), { maxLength: MAX_CATEGORIES + 2 });
const unitInput = fc.record({
  unitId: field(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.constantFrom('edgerec-default-cms-1', 'edgerec-default-product-1'))),
  unitName: field(text), storefrontLabel: field(text),
  typeId: field(fc.oneof(fc.constantFrom(...TYPE_IDS), fc.constantFrom('Trending', 'MOST-VIEWED'))),
  pageType: field(fc.oneof(fc.constantFrom(...PAGE_TYPES), fc.constantFrom('product', 'cms'))),
  displayOrder: field(fc.integer({ min: -2, max: MAX_DISPLAY_ORDER + 2 })), itemCount: field(fc.integer({ min: -1, max: MAX_ITEM_COUNT + 2 })),
  filters: field(fc.record({ categories: field(paths), excludeCategories: field(paths), priceMin: field(fc.double({ min: -10, max: 1e4 })),
    priceMax: field(fc.double({ min: -10, max: 1e4 })), inStockOnly: field(fc.boolean()), junk: fc.anything() }, { requiredKeys: [] })),
  backfill: field(fc.constantFrom(...BACKFILLS)), status: field(fc.constantFrom(...STATUSES)), default: fc.boolean(), other: fc.anything(),
}, { requiredKeys: [] });
const anyInput = fc.oneof({ weight: 4, arbitrary: unitInput }, { weight: 1, arbitrary: fc.anything() });
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The documented refusal: a UnitError with a status; 400 lists every bad field. */
function refused(e) {
  assert.ok(e instanceof UnitError, `not a UnitError: ${e?.stack ?? e}`);
  assert.ok([400, 404, 409].includes(e.status));
  assert.equal(typeof e.message, 'string');
  if (e.status === 400) {
    assert.ok(Array.isArray(e.errors) && e.errors.length > 0);
    for (const x of e.errors) assert.ok(typeof x.field === 'string' && x.field && typeof x.message === 'string' && e.message.includes(`${x.field}: `));
    for (const x of e.errors) assert.ok(!x.field.endsWith('.') && !CONTROL.test(x.field), `field ${JSON.stringify(x.field)} names no field`);
    assert.ok(!CONTROL.test(e.message), `a control character in ${JSON.stringify(e.message)}`);
  }
}
/** Every documented bound of a normalized unit. */
function wellFormed(u) {
  assert.match(u.unitId, UNIT_ID_RE);
  for (const t of [u.unitName, u.storefrontLabel]) assert.ok(typeof t === 'string' && t.length >= 1 && t.length <= 128 && t === t.trim() && !CONTROL.test(t));
  assert.ok(TYPE_IDS.includes(u.typeId) && PAGE_TYPES.includes(u.pageType) && BACKFILLS.includes(u.backfill) && STATUSES.includes(u.status));
  assert.ok(u.displayOrder === null || (Number.isInteger(u.displayOrder) && u.displayOrder >= 0 && u.displayOrder <= MAX_DISPLAY_ORDER));
  assert.ok(Number.isInteger(u.itemCount) && u.itemCount >= 1 && u.itemCount <= MAX_ITEM_COUNT);
  const f = u.filters;
  for (const list of [f.categories, f.excludeCategories]) {
    assert.ok(Array.isArray(list) && list.length <= MAX_CATEGORIES && new Set(list).size === list.length);
    for (const p of list) assert.ok(p && p === p.trim() && p.length <= 255 && !CONTROL.test(p));
  }
  assert.ok(!f.excludeCategories.some((p) => f.categories.includes(p)));
  for (const x of [f.priceMin, f.priceMax]) assert.ok(x === null || (Number.isFinite(x) && x >= 0));
  if (f.priceMin !== null && f.priceMax !== null) assert.ok(f.priceMin <= f.priceMax);
  assert.equal(typeof f.inStockOnly, 'boolean');
}

test('normalizeUnit: any input → a well-formed unit or a UnitError 400 naming the fields; JSON round trip is the identity', () => {
  fc.assert(fc.property(anyInput, fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), anyString({ maxLength: 70 })), { nil: undefined }), (input, id) => {
    let u;
    const [, ms] = timed(() => { try { u = normalizeUnit(input, { id }); } catch (e) { refused(e); assert.equal(e.status, 400); } });
    assert.ok(ms < CALL_MS);
    if (!u) return;
    wellFormed(u);
    if (id !== undefined) assert.equal(u.unitId, id);
    assert.deepEqual(normalizeUnit(JSON.parse(JSON.stringify(u))), u, 'GET → PUT unchanged');
  }), params(2));
});

test('validateUnits: any list → well-formed units with unique ids within the limits, or a UnitError', () => {
  fc.assert(fc.property(fc.oneof(fc.array(anyInput, { maxLength: 12 }), fc.anything()), (list) => {
    let out;
    try { out = validateUnits(list); } catch (e) { refused(e); return; }
    assert.equal(out.length, list.length);
    out.forEach(wellFormed);
    assert.equal(new Set(out.map((u) => u.unitId)).size, out.length);
    for (const p of PAGE_TYPES) assert.ok(out.filter((u) => u.pageType === p && u.status === 'active').length <= MAX_ACTIVE[p]);
  }), params());
});

test('planPut / planDelete over any stored set: never past a page type\'s active limit or MAX_UNITS; only UnitErrors', () => {
  const stored = fc.array(unitInput, { maxLength: 14 }).map((list) => {
    const out = [];
    for (const x of list) { // what a store could hold: valid units within the limits
      try {
        const u = normalizeUnit(x);
        if (u.displayOrder === null) u.displayOrder = 0;
        if (!out.some((o) => o.unitId === u.unitId)) out.push(u);
        validateUnits(out);
      } catch { out.pop(); }
    }
    return out;
  });
  fc.assert(fc.property(stored, anyInput, fc.option(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), { nil: undefined }), fc.boolean(), (units, input, id, create) => {
    let plan;
    try { plan = planPut(units, input, { id, create }); } catch (e) { refused(e); return; }
    wellFormed(plan.unit);
    assert.ok(plan.units.length <= MAX_UNITS + 2);
    assert.equal(new Set(plan.units.map((u) => u.unitId)).size, plan.units.length);
    if (plan.unit.status === 'active') {
      const eff = effectiveUnits(plan.units);
      assert.ok(eff.filter((u) => u.pageType === plan.unit.pageType && u.status === 'active').length <= MAX_ACTIVE[plan.unit.pageType]);
    }
    try { planDelete(plan.units, plan.unit.unitId); } catch (e) { refused(e); }
  }), params());
  fc.assert(fc.property(stored, fc.oneof(anyString({ maxLength: 70 }), fc.constantFrom('edgerec-default-cms-1')), (units, id) => {
    try { const d = planDelete(units, id); assert.deepEqual(d.remove, [id]); assert.ok(!d.units.some((u) => u.unitId === id)); } catch (e) { refused(e); }
  }), params(0.5));
});

test('unitsById: any ids → each asked id in exactly one of units / unknown / inactive, never a throw', () => {
  fc.assert(fc.property(fc.oneof(fc.array(fc.oneof(fc.constantFrom('edgerec-default-cms-1', 'edgerec-default-product-2'), fc.anything()), { maxLength: 10 }), fc.anything()), (ids) => {
    const r = unitsById([], ids);
    const asked = new Set(Array.isArray(ids) ? ids : []);
    assert.equal(r.units.length + r.unknown.length + r.inactive.length, asked.size);
  }), params());
});

test('GET /edge/recommend\'s query (restArgs, restUnits) and the store headers (storeOf): any input → bounded args or an error string', () => {
  const qs = fc.array(fc.tuple(fc.constantFrom('pageType', 'page', 'sku', 'category', 'cart', 'exclude', 'unit', 'k', 'x'),
    fc.oneof(fc.constantFrom('Product', 'CMS', 'product', 'home', '5', '0', '26', '1e1', ' 3', ''), anyString({ maxLength: 60 }),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 140 }).map((a) => a.join(',')))), { maxLength: 8 });
  fc.assert(fc.property(qs, (pairs) => {
    const p = new URLSearchParams(pairs);
    const q = restArgs(p);
    if (q.error !== undefined) { assert.equal(typeof q.error, 'string'); return; }
    assert.ok(q.args.pageType === undefined || PAGE_TYPES.includes(q.args.pageType) || q.args.pageType === 'Checkout' || q.args.pageType === 'PageBuilder');
    assert.ok(q.k === undefined || (Number.isInteger(q.k) && q.k >= 1 && q.k <= LIMITS.items));
    for (const l of [q.args.cartSkus, q.args.exclude]) assert.ok(l === undefined || (l.length <= LIMITS.cartSkus && l.every((s) => s && s === s.trim())));
    const units = restUnits(q, { units: [] });
    assert.ok(Array.isArray(units));
    for (const u of units) if (q.k) assert.equal(u.itemCount, q.k);
  }), params(2));
  const hv = fc.string({ maxLength: 80, unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)) });
  fc.assert(fc.property(fc.record({ 'magento-store-view-code': hv, store: hv, 'content-currency': hv, 'magento-customer-group': hv }, { requiredKeys: [] }), (h) => {
    const s = storeOf(new Headers(h));
    assert.match(s.store, /^[A-Za-z0-9_.-]{1,64}$/);
    assert.match(s.currency, /^[A-Z]{3}$/);
    assert.match(s.group, /^[A-Za-z0-9_.-]{1,64}$/);
  }), params());
});

test('regression (fuzz counterexamples {"":0} and {"":{}}): an unknown key with no name, or with control characters, is named quoted', () => {
  for (const [input, field] of [[{ '': 0 }, '[""]'], [{ 'a\nb': 1 }, '["a\\nb"]'], [{ filters: { '': 1 } }, 'filters[""]'], [{ filters: { x_y: 1 } }, 'filters.x_y']]) {
    let err;
    try { normalizeUnit({ unitName: 'n', typeId: 'trending', pageType: 'CMS', ...input }); } catch (e) { err = e; }
    refused(err);
    assert.deepEqual(err.errors.map((x) => x.field), [field]);
  }
  let err;
  try { planPut([], { '': {} }); } catch (e) { err = e; }
  refused(err);
  err = undefined; // the path's id is quoted too (counterexample: id "\u0000")
  try { normalizeUnit({ unitId: 'edgerec-default-cms-1' }, { id: '\u0000' }); } catch (e) { err = e; }
  refused(err);
  assert.match(err.message, /is not the id in the path \("\\u0000"\)/);
  err = undefined; // FUZZ_SEED=20261207 FUZZ_RUNS=20000: [{"displayOrder":"\u007f"}] — JSON.stringify leaves DEL (and C1, U+2028/9) raw
  try { validateUnits([{ unitName: 'n', typeId: 'trending', pageType: 'CMS', displayOrder: '\u007f\u0085\u2028' }]); } catch (e) { err = e; }
  refused(err);
  assert.match(err.message, /\(got "\\u007f\\u0085\\u2028"\)/);
});
