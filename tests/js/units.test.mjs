// units.test.mjs — worker-shim/core/units.js in Node: the unit model's validation (messages that
// name the field), the per-page-type limits, the defaults, ordering and lookups, and the change
// plans the store applies (docs/units.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_UNITS, MAX_ACTIVE, MAX_UNITS, PAGE_TYPES, TYPE_IDS, UnitError, effectiveUnits, normalizeUnit, planDelete, planPut,
  unitsById, unitsFor, validateUnits,
} from '../../worker-shim/core/units.js';

const unit = (over = {}) => ({ unitName: 'Mine', typeId: 'trending', pageType: 'Product', ...over });
/** The UnitError a function throws. */
function refusal(fn) {
  try { fn(); } catch (e) { assert.ok(e instanceof UnitError, `a UnitError, not ${e}`); return e; }
  assert.fail('no refusal');
}

test('a minimal unit gets the documented defaults, and a UUID when it has no id', () => {
  const u = normalizeUnit(unit());
  assert.match(u.unitId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual({ ...u, unitId: 'x' }, {
    unitId: 'x', unitName: 'Mine', storefrontLabel: 'Mine', typeId: 'trending', pageType: 'Product', displayOrder: null, itemCount: 10,
    filters: { categories: [], excludeCategories: [], priceMin: null, priceMax: null, inStockOnly: true }, backfill: 'most-viewed', status: 'active',
  });
  assert.notEqual(normalizeUnit(unit()).unitId, u.unitId);
  assert.equal(normalizeUnit(unit(), { id: 'path-id' }).unitId, 'path-id');
});

test('unit ids: Adobe\'s and any 1..64 of [A-Za-z0-9._-] are kept; others are refused naming unitId', () => {
  for (const id of ['5c8a1b32-8a1c-4f1c-9a3a-1a2b3c4d5e6f', 'home.page_1', 'A', 'x'.repeat(64), 'edgerec-default-product-1']) {
    assert.equal(normalizeUnit(unit({ unitId: id })).unitId, id);
  }
  for (const id of ['', 'a b', 'x'.repeat(65), 'é', 'a/b', 7]) {
    assert.match(refusal(() => normalizeUnit(unit({ unitId: id }))).message, /^unitId: must be 1\.\.64 characters of A-Z a-z 0-9 \. _ -/);
  }
  assert.match(refusal(() => normalizeUnit(unit({ unitId: 'a' }), { id: 'b' })).message, /^unitId: 'a' is not the id in the path \('b'\)$/);
  assert.match(refusal(() => normalizeUnit(unit(), { id: 'no spaces' })).message, /^unitId: must be/);
});

test('every bad field is named, with its path in a list (units[2].itemCount: must be an integer 1..25)', () => {
  const e = refusal(() => validateUnits([unit(), unit({ pageType: 'CMS' }), unit({ itemCount: 26 })]));
  assert.equal(e.status, 400);
  assert.equal(e.code, 'invalid');
  assert.equal(e.message, 'units[2].itemCount: must be an integer 1..25 (got 26)');
  assert.deepEqual(e.errors, [{ field: 'units[2].itemCount', message: 'must be an integer 1..25 (got 26)' }]);
  const cases = [
    [{ itemCount: 0 }, 'itemCount: must be an integer 1..25 (got 0)'],
    [{ itemCount: 2.5 }, 'itemCount: must be an integer 1..25 (got 2.5)'],
    [{ itemCount: '10' }, 'itemCount: must be an integer 1..25 (got "10")'],
    [{ unitName: undefined }, 'unitName: is required (1..128 characters)'],
    [{ unitName: '   ' }, 'unitName: must be 1..128 characters of text without control characters (got "   ")'],
    [{ storefrontLabel: 'a\nb' }, 'storefrontLabel: must be 1..128 characters'],
    [{ storefrontLabel: 'x'.repeat(129) }, 'storefrontLabel: must be 1..128 characters'],
    [{ typeId: 'similar' }, 'typeId: must be one of just-for-you, most-viewed'],
    [{ typeId: undefined }, 'typeId: is required: one of just-for-you'],
    [{ pageType: 'product' }, "pageType: must be one of Cart, Category, Checkout, CMS, PageBuilder, Product (got \"product\"; did you mean 'Product'?)"],
    [{ pageType: 'Home' }, 'pageType: must be one of Cart, Category, Checkout, CMS, PageBuilder, Product (got "Home")'],
    [{ displayOrder: -1 }, 'displayOrder: must be an integer 0..9999 (got -1)'],
    [{ backfill: 'viewed-viewed' }, 'backfill: must be one of none, most-viewed, most-purchased, most-added-to-cart, trending (got "viewed-viewed")'],
    [{ status: 'on' }, 'status: must be one of active, inactive (got "on")'],
    [{ itemcount: 5 }, 'itemcount: unknown field (the fields are unitId, unitName'],
    [{ filters: [] }, 'filters: must be an object'],
    [{ filters: { priceMin: -1 } }, 'filters.priceMin: must be a number ≥ 0 or null (got -1)'],
    [{ filters: { priceMin: 10, priceMax: 5 } }, 'filters.priceMax: must be ≥ filters.priceMin (10)'],
    [{ filters: { categories: 'Men' } }, 'filters.categories: must be a list of at most 50 category paths'],
    [{ filters: { categories: ['Men', ''] } }, 'filters.categories[1]: must be a category path of 1..255 characters'],
    [{ filters: { categories: ['Men'], excludeCategories: ['Men'] } }, 'filters.excludeCategories: "Men" is also in filters.categories'],
    [{ filters: { inStockOnly: 'yes' } }, 'filters.inStockOnly: must be true or false (got "yes")'],
    [{ filters: { price: 5 } }, 'filters.price: unknown filter'],
  ];
  for (const [over, msg] of cases) {
    const m = refusal(() => normalizeUnit(unit(over))).message;
    assert.ok(m.startsWith(msg), `${JSON.stringify(over)}: ${m}`);
  }
  // several at once, each named
  const all = refusal(() => normalizeUnit({ unitName: 'x', typeId: 'nope', pageType: 'nope', itemCount: 99 }));
  assert.deepEqual(all.errors.map((x) => x.field), ['typeId', 'pageType', 'itemCount']);
  assert.equal(refusal(() => normalizeUnit([])).message, 'unit: must be a JSON object');
  assert.equal(refusal(() => validateUnits([unit(), 'x'])).message, 'units[1]: must be a JSON object');
  assert.equal(refusal(() => validateUnits({})).message, 'units: must be a list of units');
  assert.match(refusal(() => validateUnits([unit({ unitId: 'a' }), unit({ unitId: 'a' })])).message, /^units\[1\]\.unitId: 'a' is also units\[0\]'s id$/);
});

test('filters are normalized: paths trimmed and de-duplicated, prices kept, inStockOnly false kept', () => {
  const u = normalizeUnit(unit({ filters: { categories: [' Men/Tops ', 'Men/Tops', 'Gear'], excludeCategories: ['Sale'], priceMin: 0, priceMax: 99.5, inStockOnly: false } }));
  assert.deepEqual(u.filters, { categories: ['Men/Tops', 'Gear'], excludeCategories: ['Sale'], priceMin: 0, priceMax: 99.5, inStockOnly: false });
  assert.equal(normalizeUnit(unit({ storefrontLabel: 'Shown', unitName: ' Internal ' })).unitName, 'Internal');
});

test('what GET returns can be PUT back: the `default` mark is accepted and ignored', () => {
  const got = { ...DEFAULT_UNITS[0], default: true };
  const u = normalizeUnit(got, { id: got.unitId });
  assert.equal(u.default, undefined);
  assert.deepEqual(u, { ...DEFAULT_UNITS[0], filters: { ...DEFAULT_UNITS[0].filters } });
});

test('defaults: every page type has its documented units with stable ids, and they are valid units', () => {
  assert.deepEqual(DEFAULT_UNITS.map((u) => `${u.unitId} ${u.typeId} ${u.storefrontLabel}`), [
    'edgerec-default-cms-1 just-for-you Recommended for you',
    'edgerec-default-cms-2 trending Trending now',
    'edgerec-default-category-1 most-viewed Most viewed in this category',
    'edgerec-default-category-2 trending Trending in this category',
    'edgerec-default-product-1 viewed-viewed Customers who viewed this product also viewed',
    'edgerec-default-product-2 more-like-this More like this',
    'edgerec-default-cart-1 viewed-bought Customers who viewed these also bought',
    'edgerec-default-cart-2 bought-bought Customers who bought these also bought',
    'edgerec-default-checkout-1 bought-bought Frequently bought together',
    'edgerec-default-pagebuilder-1 just-for-you Recommended for you',
  ]);
  assert.deepEqual(validateUnits(DEFAULT_UNITS.map((u) => structuredClone(u))), DEFAULT_UNITS.map((u) => structuredClone(u)));
  for (const p of PAGE_TYPES) assert.ok(unitsFor([], p).length >= 1, `${p} has a default`);
  assert.ok(Object.isFrozen(DEFAULT_UNITS[0]));
  const doc = readFileSync(new URL('../../docs/units.md', import.meta.url), 'utf8');
  for (const u of DEFAULT_UNITS) assert.ok(doc.includes(u.unitId) && doc.includes(u.storefrontLabel), `docs/units.md names ${u.unitId} and "${u.storefrontLabel}"`);
  for (const t of TYPE_IDS) assert.ok(doc.includes(`\`${t}\``), `docs/units.md names the type ${t}`);
});

test('defaults apply to a page type with no stored unit (active or not), marked default; stored units replace them', () => {
  const stored = [normalizeUnit(unit({ unitId: 'p1', displayOrder: 1 })), normalizeUnit(unit({ unitId: 'c1', pageType: 'Cart', status: 'inactive', displayOrder: 1 }))];
  const eff = effectiveUnits({ units: stored });
  assert.deepEqual(unitsFor(stored, 'Product').map((u) => u.unitId), ['p1']);
  assert.deepEqual(unitsFor(stored, 'Cart'), [], 'an inactive stored unit switches the defaults off');
  assert.deepEqual(unitsFor(stored, 'CMS').map((u) => [u.unitId, u.default]), [['edgerec-default-cms-1', true], ['edgerec-default-cms-2', true]]);
  assert.equal(eff.filter((u) => u.default).length, DEFAULT_UNITS.filter((u) => !['Product', 'Cart'].includes(u.pageType)).length);
  assert.deepEqual(effectiveUnits(eff), eff, 'idempotent');
  // a stored unit holding a default's id (a hand-edited mirror) is never listed twice
  const clash = [{ ...normalizeUnit(unit({ unitId: 'edgerec-default-cms-1' })), displayOrder: 1 }];
  assert.deepEqual(effectiveUnits(clash).filter((u) => u.unitId === 'edgerec-default-cms-1').map((u) => u.pageType), ['Product']);
});

test('unitsFor: active units of the page type in displayOrder, then unitId; anything else → []', () => {
  const stored = validateUnits([
    unit({ unitId: 'c', displayOrder: 2 }), unit({ unitId: 'a', displayOrder: 2 }), unit({ unitId: 'z', displayOrder: 0 }),
    unit({ unitId: 'off', displayOrder: 1, status: 'inactive' }), unit({ unitId: 'home', pageType: 'CMS', displayOrder: 1 }),
  ]);
  assert.deepEqual(unitsFor({ units: stored }, 'Product').map((u) => u.unitId), ['z', 'a', 'c']);
  assert.deepEqual(unitsFor(stored, 'CMS').map((u) => u.unitId), ['home']);
  for (const p of [null, undefined, 'product', 'Search', 42]) assert.deepEqual(unitsFor(stored, p), []);
});

test('unitsById: any page type, in the order asked, each once; unknown and inactive ids reported', () => {
  const stored = validateUnits([unit({ unitId: 'p' }), unit({ unitId: 'off', status: 'inactive' }), unit({ unitId: 'k', pageType: 'Cart' })]);
  const r = unitsById({ units: stored }, ['k', 'nope', 'p', 'off', 'k', 'edgerec-default-cms-1', 'edgerec-default-product-1']);
  assert.deepEqual(r.units.map((u) => u.unitId), ['k', 'p', 'edgerec-default-cms-1']);
  assert.deepEqual(r.unknown, ['nope', 'edgerec-default-product-1'], 'a default of a configured page type is not live');
  assert.deepEqual(r.inactive, ['off']);
  assert.deepEqual(unitsById(stored, null), { units: [], unknown: [], inactive: [] });
});

test(`limits: at most ${MAX_ACTIVE.Product} active units per page type (${MAX_ACTIVE.PageBuilder} for PageBuilder), refused naming the page type`, () => {
  assert.deepEqual(MAX_ACTIVE, { Cart: 5, Category: 5, Checkout: 5, CMS: 5, PageBuilder: 25, Product: 5 });
  let stored = [];
  for (let i = 1; i <= 4; i++) stored = planPut(stored, unit({ pageType: 'Checkout' }), { id: `k${i}` }).units;
  assert.equal(unitsFor(stored, 'Checkout').length, 5, 'the default copied plus four');
  const e = refusal(() => planPut(stored, unit({ pageType: 'Checkout' }), { id: 'k6' }));
  assert.equal(e.status, 409);
  assert.equal(e.pageType, 'Checkout');
  assert.match(e.message, /^Checkout would have 6 active units; at most 5 are allowed per page type/);
  stored = planPut(stored, unit({ pageType: 'Checkout', status: 'inactive' }), { id: 'k6' }).units; // inactive: allowed
  assert.match(refusal(() => planPut(stored, unit({ pageType: 'Checkout' }), { id: 'k6' })).message, /^Checkout would have 6/, 'activating is a change that exceeds it');
  stored = planPut(stored, unit({ pageType: 'Checkout', status: 'inactive' }), { id: 'k1' }).units;
  stored = planPut(stored, unit({ pageType: 'Checkout' }), { id: 'k6' }).units; // one off, one on
  assert.equal(unitsFor(stored, 'Checkout').length, 5);
  // moving a unit into a full page type is refused too; replacing one in place is not
  assert.match(refusal(() => planPut(stored, unit({ pageType: 'Checkout' }), { id: 'elsewhere' })).message, /^Checkout would have 6/);
  assert.equal(planPut(stored, unit({ pageType: 'Checkout', itemCount: 3 }), { id: 'k2' }).unit.itemCount, 3);
  let pb = [];
  for (let i = 1; i <= 24; i++) pb = planPut(pb, unit({ pageType: 'PageBuilder' }), { id: `pb${i}` }).units;
  assert.equal(unitsFor(pb, 'PageBuilder').length, 25);
  assert.match(refusal(() => planPut(pb, unit({ pageType: 'PageBuilder' }), { id: 'pb25' })).message, /^PageBuilder would have 26 active units; at most 25/);
  const whole = refusal(() => validateUnits(Array.from({ length: 6 }, (_, i) => unit({ unitId: `u${i}`, pageType: 'CMS' }))));
  assert.equal(whole.status, 409);
  assert.equal(whole.pageType, 'CMS');
});

test(`at most ${MAX_UNITS} stored units (active or not)`, () => {
  const stored = Array.from({ length: MAX_UNITS }, (_, i) => ({ ...normalizeUnit(unit({ unitId: `u${i}`, status: 'inactive' })), displayOrder: i }));
  const e = refusal(() => planPut(stored, unit({ status: 'inactive' }), { id: 'one-more' }));
  assert.equal(e.status, 409);
  assert.match(e.message, new RegExp(`^${MAX_UNITS} units are stored`));
  assert.equal(planPut(stored, unit({ status: 'inactive', itemCount: 5 }), { id: 'u3' }).unit.itemCount, 5, 'replacing one is fine');
});

test('planPut: the first unit of a page type keeps its defaults (copied); displayOrder after the last; a replace keeps its place', () => {
  const p = planPut([], unit(), { id: 'mine' });
  assert.equal(p.created, true);
  assert.deepEqual(p.copied, ['edgerec-default-product-1', 'edgerec-default-product-2']);
  assert.deepEqual(p.upsert.map((u) => u.unitId), ['edgerec-default-product-1', 'edgerec-default-product-2', 'mine']);
  assert.deepEqual(unitsFor(p.units, 'Product').map((u) => `${u.unitId}@${u.displayOrder}`), ['edgerec-default-product-1@1', 'edgerec-default-product-2@2', 'mine@3']);
  assert.ok(unitsFor(p.units, 'Product').every((u) => !u.default), 'stored now');
  assert.match(p.reason, /^unit mine: created \(Product, trending, active\); Product's defaults kept as stored units \(edgerec-default-product-1, edgerec-default-product-2\)$/);
  const r = planPut(p.units, unit({ itemCount: 4, status: 'inactive' }), { id: 'mine' });
  assert.equal(r.created, false);
  assert.deepEqual(r.copied, []);
  assert.equal(r.unit.displayOrder, 3);
  assert.deepEqual(r.changes, { itemCount: [10, 4], status: ['active', 'inactive'] });
  assert.equal(r.reason, 'unit mine: itemCount 10 → 4, status "active" → "inactive"');
  assert.equal(planPut(p.units, unit(), { id: 'mine' }).reason, 'unit mine: unchanged');
  // editing a default in place: it keeps its order, its sibling is copied
  const d = planPut([], { ...DEFAULT_UNITS.find((u) => u.unitId === 'edgerec-default-cart-1'), itemCount: 6 }, { id: 'edgerec-default-cart-1' });
  assert.deepEqual(d.copied, ['edgerec-default-cart-2']);
  assert.deepEqual(unitsFor(d.units, 'Cart').map((u) => `${u.unitId}@${u.displayOrder}/${u.itemCount}`), ['edgerec-default-cart-1@1/6', 'edgerec-default-cart-2@2/10']);
  // a default's id stays on its page type
  assert.match(refusal(() => planPut([], { ...DEFAULT_UNITS[0], pageType: 'Product' }, { id: DEFAULT_UNITS[0].unitId })).message,
    /^pageType: 'edgerec-default-cms-1' is CMS's default unit and stays on CMS \(got "Product"; give the unit another id\)$/);
  // create refuses to replace
  assert.equal(refusal(() => planPut(p.units, unit({ unitId: 'mine' }), { create: true })).status, 409);
  // moving the only unit of a page type away brings that page type's defaults back
  const only = planPut(planPut([], unit({ pageType: 'Checkout' }), { id: 'solo' }).units.filter((u) => u.unitId === 'solo'), unit({ pageType: 'CMS' }), { id: 'solo' });
  assert.match(only.reason, /Checkout has no unit of its own now and shows its defaults$/);
  assert.deepEqual(unitsFor(only.units, 'Checkout').map((u) => u.unitId), ['edgerec-default-checkout-1']);
});

test('planDelete: a stored unit goes (its page type\'s defaults return when it was the last); a default not stored is 409; unknown is 404', () => {
  const stored = planPut([], unit({ pageType: 'Checkout' }), { id: 'solo' }).units; // + edgerec-default-checkout-1 copied
  const d = planDelete(stored, 'solo');
  assert.deepEqual(d.remove, ['solo']);
  assert.equal(d.reason, 'unit solo deleted (Checkout, trending, active)');
  const last = planDelete(d.units, 'edgerec-default-checkout-1');
  assert.match(last.reason, /Checkout has no unit of its own now and shows its defaults$/);
  const e = refusal(() => planDelete([], 'edgerec-default-cms-1'));
  assert.equal(e.status, 409);
  assert.match(e.message, /is a default unit: it shows while CMS has no unit of its own; to hide it, PUT it with "status":"inactive"$/);
  const n = refusal(() => planDelete(stored, 'nope'));
  assert.equal(n.status, 404);
  assert.equal(n.message, "no unit 'nope'");
});
