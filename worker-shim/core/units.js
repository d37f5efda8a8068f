// units.js — recommendation units as configuration (docs/units.md): the unit model after Adobe
// Commerce Product Recommendations ("Recommended for you" on the home page, "Customers who viewed
// this also viewed" on a product page, …), its validation with messages that name the field, the
// per-page-type limits, the defaults a page type shows while it has no unit of its own, and the
// lookups the request path makes.  Platform-neutral: storage is cloudflare/units-store.js's.
//
//   normalizeUnit(input, {prefix, id}) → unit         (throws UnitError 400 naming every bad field)
//   validateUnits(list)                → [unit]       (fields named units[i].field)
//   effectiveUnits(stored)             → stored + the defaults of page types with no stored unit
//   unitListing(stored)                → {units (sorted, `default` marked), pageTypes}   (the admin API's list)
//   unitsFor(config, pageType)         → active units of that page type, in displayOrder
//   findUnit(config, id)               → the unit, `default` marked          (UnitError 404)
//   unitsById(config, ids)             → {units (active, in the order asked), unknown, inactive}
//   planPut(stored, input, {id, create}) / planDelete(stored, id) → the next stored set and what
//                                        changed (for the audit row); limits checked (UnitError 409)
//
// A `config` is {units: [unit]} (the stored units, as the KV mirror holds them) or a plain array.

export const TYPE_IDS = Object.freeze(['just-for-you', 'most-viewed', 'most-purchased', 'most-added-to-cart', 'trending',
  'viewed-viewed', 'viewed-bought', 'bought-bought', 'more-like-this', 'recently-viewed']);
export const PAGE_TYPES = Object.freeze(['Cart', 'Category', 'Checkout', 'CMS', 'PageBuilder', 'Product']);
export const BACKFILLS = Object.freeze(['none', 'most-viewed', 'most-purchased', 'most-added-to-cart', 'trending']);
export const STATUSES = Object.freeze(['active', 'inactive']);
/** Active units per page type (Adobe's: 5, and 25 for Page Builder). */
export const MAX_ACTIVE = Object.freeze({ Cart: 5, Category: 5, Checkout: 5, CMS: 5, PageBuilder: 25, Product: 5 });
/** Stored units in all (active or not): keeps the KV mirror and the request path's parse small. */
export const MAX_UNITS = 200;
export const MAX_ITEM_COUNT = 25;
export const DEFAULT_ITEM_COUNT = 10;
export const MAX_CATEGORIES = 50;
export const MAX_DISPLAY_ORDER = 9999;
export const UNIT_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_ID_PREFIX = 'edgerec-default-';

const TEXT_MAX = 128, CATEGORY_MAX = 255;
const FIELDS = new Set(['unitId', 'unitName', 'storefrontLabel', 'typeId', 'pageType', 'displayOrder', 'itemCount', 'filters', 'backfill', 'status']);
const READ_ONLY = new Set(['default']); // what GET adds; accepted back and ignored, so GET → edit → PUT works
const FILTER_FIELDS = new Set(['categories', 'excludeCategories', 'priceMin', 'priceMax', 'inStockOnly']);

/** A refusal: status 400 (invalid, with `errors` [{field, message}]), 404 (no such unit) or 409 (a limit, a default). */
export class UnitError extends Error {
  constructor(status, message, extra = {}) {
    super(message);
    this.name = 'UnitError';
    this.status = status;
    Object.assign(this, extra);
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const shown = (v) => { // JSON, clipped; DEL, C1 and U+2028/9 (which JSON.stringify leaves raw) escaped too
  const s = JSON.stringify(v)?.replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
};
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** How an unknown key is named in an error: as is when it is a plain name, else quoted and clipped
 * (`[""]`, `["a\nb"]`), so that the field is never empty and no control character reaches a message or a log. */
const keyName = (k, dot = '') => (/^[A-Za-z_$][\w$-]{0,63}$/.test(k) ? `${dot}${k}` : `[${shown(k)}]`);

/** One unit from JSON input: every field checked, defaults filled in.  `prefix` names where the
 * unit is in a larger document ('units[2].'); `id` is the id the unit is stored under (the
 * path's), which a unitId in the body must equal; with neither, a UUID is generated. */
export function normalizeUnit(input, { prefix = '', id } = {}) {
  const errors = [];
  const bad = (field, message) => errors.push({ field: `${prefix}${field}`, message });
  if (!isObject(input)) throw invalid([{ field: prefix ? prefix.replace(/\.$/, '') : 'unit', message: 'must be a JSON object' }]);
  for (const k of Object.keys(input)) if (!FIELDS.has(k) && !READ_ONLY.has(k)) bad(keyName(k), `unknown field (the fields are ${[...FIELDS].join(', ')})`);

  let unitId = input.unitId;
  if (unitId === undefined || unitId === null) unitId = id ?? crypto.randomUUID();
  else if (typeof unitId !== 'string' || !UNIT_ID_RE.test(unitId)) bad('unitId', `must be 1..64 characters of A-Z a-z 0-9 . _ - (got ${shown(unitId)})`);
  else if (id !== undefined && unitId !== id) bad('unitId', `'${unitId}' is not the id in the path (${UNIT_ID_RE.test(id) ? `'${id}'` : shown(id)})`);
  if (id !== undefined && !UNIT_ID_RE.test(id)) bad('unitId', `must be 1..64 characters of A-Z a-z 0-9 . _ - (got ${shown(id)})`);

  const text = (field, { required, fallback }) => {
    const v = input[field];
    if (v === undefined || v === null) { if (required) bad(field, `is required (1..${TEXT_MAX} characters)`); return fallback; }
    if (typeof v !== 'string' || !v.trim() || v.length > TEXT_MAX || CONTROL.test(v)) {
      bad(field, `must be 1..${TEXT_MAX} characters of text without control characters (got ${shown(v)})`);
      return fallback;
    }
    return v.trim();
  };
  const oneOf = (field, list, fallback) => {
    const v = input[field];
    if (v === undefined || v === null) {
      if (fallback === undefined) bad(field, `is required: one of ${list.join(', ')}`);
      return fallback;
    }
    if (list.includes(v)) return v;
    const near = typeof v === 'string' ? list.find((x) => x.toLowerCase() === v.toLowerCase()) : undefined;
    bad(field, `must be one of ${list.join(', ')} (got ${shown(v)}${near ? `; did you mean '${near}'?` : ''})`);
    return fallback;
  };
  const int = (field, lo, hi, fallback) => {
    const v = input[field];
    if (v === undefined || v === null) return fallback;
    if (!Number.isInteger(v) || v < lo || v > hi) { bad(field, `must be an integer ${lo}..${hi} (got ${shown(v)})`); return fallback; }
    return v;
  };

  const unitName = text('unitName', { required: true });
  const storefrontLabel = text('storefrontLabel', { required: false, fallback: unitName });
  const typeId = oneOf('typeId', TYPE_IDS);
  const pageType = oneOf('pageType', PAGE_TYPES);
  const displayOrder = int('displayOrder', 0, MAX_DISPLAY_ORDER, null); // null: after the page type's last (planPut)
  const itemCount = int('itemCount', 1, MAX_ITEM_COUNT, DEFAULT_ITEM_COUNT);
  const filters = normalizeFilters(input.filters, bad);
  const backfill = oneOf('backfill', BACKFILLS, 'most-viewed');
  const status = oneOf('status', STATUSES, 'active');
  if (errors.length) throw invalid(errors);
  return { unitId, unitName, storefrontLabel, typeId, pageType, displayOrder, itemCount, filters, backfill, status };
}

function normalizeFilters(f, bad) {
  const out = { categories: [], excludeCategories: [], priceMin: null, priceMax: null, inStockOnly: true };
  if (f === undefined || f === null) return out;
  if (!isObject(f)) { bad('filters', 'must be an object {categories, excludeCategories, priceMin, priceMax, inStockOnly}'); return out; }
  for (const k of Object.keys(f)) if (!FILTER_FIELDS.has(k)) bad(`filters${keyName(k, '.')}`, `unknown filter (the filters are ${[...FILTER_FIELDS].join(', ')})`);
  const paths = (field) => {
    const v = f[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.length > MAX_CATEGORIES) { bad(`filters.${field}`, `must be a list of at most ${MAX_CATEGORIES} category paths ("Men/Tops/Jackets")`); return []; }
    const list = [];
    v.forEach((p, i) => {
      if (typeof p !== 'string' || !p.trim() || p.length > CATEGORY_MAX || CONTROL.test(p)) bad(`filters.${field}[${i}]`, `must be a category path of 1..${CATEGORY_MAX} characters ("Men/Tops/Jackets") (got ${shown(p)})`);
      else if (!list.includes(p.trim())) list.push(p.trim());
    });
    return list;
  };
  out.categories = paths('categories');
  out.excludeCategories = paths('excludeCategories');
  const both = out.excludeCategories.filter((p) => out.categories.includes(p));
  if (both.length) bad('filters.excludeCategories', `${shown(both[0])} is also in filters.categories`);
  const price = (field) => {
    const v = f[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) { bad(`filters.${field}`, `must be a number ≥ 0 or null (got ${shown(v)})`); return null; }
    return v;
  };
  out.priceMin = price('priceMin');
  out.priceMax = price('priceMax');
  if (out.priceMin !== null && out.priceMax !== null && out.priceMin > out.priceMax) bad('filters.priceMax', `must be ≥ filters.priceMin (${out.priceMin})`);
  if (f.inStockOnly !== undefined && f.inStockOnly !== null) {
    if (typeof f.inStockOnly !== 'boolean') bad('filters.inStockOnly', `must be true or false (got ${shown(f.inStockOnly)})`);
    else out.inStockOnly = f.inStockOnly;
  }
  return out;
}

function invalid(errors) {
  return new UnitError(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { code: 'invalid', errors });
}

/** A list of units (a whole configuration): each normalized, fields named units[i].…; ids unique. */
export function validateUnits(list, { name = 'units' } = {}) {
  if (!Array.isArray(list)) throw invalid([{ field: name, message: 'must be a list of units' }]);
  if (list.length > MAX_UNITS) throw invalid([{ field: name, message: `at most ${MAX_UNITS} units (got ${list.length})` }]);
  const errors = [], out = [], seen = new Map();
  list.forEach((u, i) => {
    try {
      const n = normalizeUnit(u, { prefix: `${name}[${i}].` });
      if (n.displayOrder === null) n.displayOrder = 0;
      if (seen.has(n.unitId)) errors.push({ field: `${name}[${i}].unitId`, message: `'${n.unitId}' is also ${name}[${seen.get(n.unitId)}]'s id` });
      else seen.set(n.unitId, i);
      out.push(n);
    } catch (e) {
      if (!(e instanceof UnitError)) throw e;
      errors.push(...e.errors);
    }
  });
  if (errors.length) throw invalid(errors);
  const over = overLimit(out);
  if (over) throw over;
  return out;
}

// ---- defaults ------------------------------------------------------------------------------------

const d = (pageType, n, typeId, unitName, backfill, filters = {}) => Object.freeze({
  unitId: `${DEFAULT_ID_PREFIX}${pageType.toLowerCase()}-${n}`, unitName, storefrontLabel: unitName, typeId, pageType,
  displayOrder: n, itemCount: DEFAULT_ITEM_COUNT,
  filters: Object.freeze({ categories: [], excludeCategories: [], priceMin: null, priceMax: null, inStockOnly: true, ...filters }),
  backfill, status: 'active',
});
/** What a page type shows while it has no unit of its own (docs/units.md). */
export const DEFAULT_UNITS = Object.freeze([
  d('CMS', 1, 'just-for-you', 'Recommended for you', 'trending'),
  d('CMS', 2, 'trending', 'Trending now', 'most-viewed'),
  d('Category', 1, 'most-viewed', 'Most viewed in this category', 'trending'),
  d('Category', 2, 'trending', 'Trending in this category', 'most-viewed'),
  d('Product', 1, 'viewed-viewed', 'Customers who viewed this product also viewed', 'most-viewed'),
  d('Product', 2, 'more-like-this', 'More like this', 'most-viewed'),
  d('Cart', 1, 'viewed-bought', 'Customers who viewed these also bought', 'most-purchased'),
  d('Cart', 2, 'bought-bought', 'Customers who bought these also bought', 'most-purchased'),
  d('Checkout', 1, 'bought-bought', 'Frequently bought together', 'most-purchased'),
  d('PageBuilder', 1, 'just-for-you', 'Recommended for you', 'trending'),
]);
const copy = (u) => structuredClone(u);

const storedOf = (config) => (Array.isArray(config) ? config : config?.units ?? []);

/** Stored units plus, for every page type with no stored unit (active or not), its defaults, each
 * marked `default: true`.  Idempotent: defaults already present count as that page type's units. */
export function effectiveUnits(config) {
  const stored = storedOf(config);
  const configured = new Set(stored.map((u) => u.pageType)), ids = new Set(stored.map((u) => u.unitId));
  return [...stored, ...DEFAULT_UNITS.filter((u) => !configured.has(u.pageType) && !ids.has(u.unitId)).map((u) => ({ ...copy(u), default: true }))];
}

const byId = (a, b) => (a.unitId < b.unitId ? -1 : a.unitId > b.unitId ? 1 : 0);
const byOrder = (a, b) => a.displayOrder - b.displayOrder || byId(a, b);
/** Units sorted by page type (PAGE_TYPES' order), displayOrder, unitId (a new array): one order for listings and the mirror. */
export const sortUnits = (units) => [...units].sort((a, b) => PAGE_TYPES.indexOf(a.pageType) - PAGE_TYPES.indexOf(b.pageType) || byOrder(a, b));

/** What the admin API lists: every effective unit, sorted, each marked `default` true or false,
 * and per page type the active count, the limit and whether the defaults show. */
export function unitListing(config) {
  const units = sortUnits(effectiveUnits(config)).map((u) => ({ ...u, default: !!u.default }));
  const pageTypes = {};
  for (const p of PAGE_TYPES) {
    const of = units.filter((u) => u.pageType === p);
    pageTypes[p] = { active: of.filter((u) => u.status === 'active').length, limit: MAX_ACTIVE[p], defaults: of.some((u) => u.default) };
  }
  return { units, pageTypes };
}

/** The active units of a page type in displayOrder (then unitId); [] for anything not a PageType. */
export function unitsFor(config, pageType) {
  if (!PAGE_TYPES.includes(pageType)) return [];
  return effectiveUnits(config).filter((u) => u.pageType === pageType && u.status === 'active').sort(byOrder);
}

/** One unit by id as the admin API shows it (`default` marked); UnitError 404 when none. */
export function findUnit(config, id) {
  const u = effectiveUnits(config).find((x) => x.unitId === id);
  if (!u) throw new UnitError(404, `no unit '${id}'`, { code: 'not-found' });
  return { ...u, default: !!u.default };
}

/** Units by id, any page type: {units: the active ones in the order asked (each once),
 * unknown: ids that name no unit, inactive: ids of inactive units}. */
export function unitsById(config, ids) {
  const all = new Map(effectiveUnits(config).map((u) => [u.unitId, u]));
  const units = [], unknown = [], inactive = [], seen = new Set();
  for (const id of Array.isArray(ids) ? ids : []) {
    if (seen.has(id)) continue;
    seen.add(id);
    const u = all.get(id);
    if (!u) unknown.push(id);
    else if (u.status !== 'active') inactive.push(id);
    else units.push(u);
  }
  return { units, unknown, inactive };
}

// ---- changes -------------------------------------------------------------------------------------

/** The first page type over its limit of active units in `units` (effective), as a UnitError 409. */
function overLimit(units, pageTypes = PAGE_TYPES) {
  for (const p of pageTypes) {
    const n = units.filter((u) => u.pageType === p && u.status === 'active').length;
    if (n > MAX_ACTIVE[p]) {
      return new UnitError(409, `${p} would have ${n} active units; at most ${MAX_ACTIVE[p]} are allowed per page type${p === 'PageBuilder' ? '' : ' (25 for PageBuilder)'}: deactivate or delete one first`,
        { code: 'limit', pageType: p, limit: MAX_ACTIVE[p] });
    }
  }
  return null;
}

const SHOWN_FIELDS = ['unitName', 'storefrontLabel', 'typeId', 'pageType', 'displayOrder', 'itemCount', 'filters', 'backfill', 'status'];
/** What differs between two versions of a unit: {field: [before, after]}. */
function unitChanges(before, after) {
  const out = {};
  for (const f of SHOWN_FIELDS) if (JSON.stringify(before?.[f]) !== JSON.stringify(after[f])) out[f] = [before?.[f] ?? null, after[f]];
  return out;
}

/** The defaults of `pageType` copied as stored units when it has none stored yet (so that a first
 * change on a page type keeps what the page showed), except `except`. */
function materialize(stored, pageType, except) {
  if (stored.some((u) => u.pageType === pageType)) return [];
  return DEFAULT_UNITS.filter((u) => u.pageType === pageType && u.unitId !== except && !stored.some((s) => s.unitId === u.unitId)).map(copy);
}

/**
 * Create or replace one unit.  `stored`: the stored units as read; `id`: the unit's id (a path's;
 * omitted → the body's unitId, else a new UUID); `create`: refuse to replace (409).
 * @returns {{unit, created, changed, before, units, upsert: [unit], remove: [id], copied: [id], changes, reason}}
 *   `units` is the next stored set; `upsert` / `remove` what to write (nothing when !changed).  Throws UnitError.
 */
export function planPut(stored, input, { id, create = false } = {}) {
  const unit = normalizeUnit(input, { id });
  const def = DEFAULT_UNITS.find((u) => u.unitId === unit.unitId);
  if (def && def.pageType !== unit.pageType) {
    throw invalid([{ field: 'pageType', message: `'${unit.unitId}' is ${def.pageType}'s default unit and stays on ${def.pageType} (got ${shown(unit.pageType)}; give the unit another id)` }]);
  }
  const before = stored.find((u) => u.unitId === unit.unitId) ?? null;
  if (before && create) throw new UnitError(409, `unit '${unit.unitId}' exists: PUT /edge/admin/units/${unit.unitId} replaces it`, { code: 'exists' });
  if (!before && stored.length >= MAX_UNITS) throw new UnitError(409, `${MAX_UNITS} units are stored (the limit): delete one first`, { code: 'too-many' });
  const rest = stored.filter((u) => u.unitId !== unit.unitId);
  const copied = materialize(rest, unit.pageType, unit.unitId);
  if (unit.displayOrder === null) {
    const prev = effectiveUnits(rest).filter((u) => u.pageType === unit.pageType);
    const fromDefault = before ? null : DEFAULT_UNITS.find((u) => u.unitId === unit.unitId && u.pageType === unit.pageType);
    unit.displayOrder = before?.pageType === unit.pageType ? before.displayOrder
      : fromDefault ? fromDefault.displayOrder
        : Math.min(MAX_DISPLAY_ORDER, Math.max(0, ...prev.map((u) => u.displayOrder)) + 1);
  }
  const units = [...rest, ...copied, unit];
  if (unit.status === 'active') {
    const over = overLimit(effectiveUnits(units), [unit.pageType]);
    if (over) throw over;
  }
  const changes = unitChanges(before, unit);
  const what = before ? (Object.keys(changes).length ? Object.entries(changes).map(([f, [a, b]]) => `${f} ${shown(a)} → ${shown(b)}`).join(', ') : 'unchanged')
    : `created (${unit.pageType}, ${unit.typeId}, ${unit.status})`;
  const left = before && before.pageType !== unit.pageType && !units.some((u) => u.pageType === before.pageType) ? before.pageType : null;
  const reason = `unit ${unit.unitId}: ${what}${copied.length ? `; ${unit.pageType}'s defaults kept as stored units (${copied.map((u) => u.unitId).join(', ')})` : ''}${
    left ? `; ${left} has no unit of its own now and shows its defaults` : ''}`;
  const changed = !before || copied.length > 0 || Object.keys(changes).length > 0;
  return { unit, created: !before, changed, before, units, upsert: [...copied, unit], remove: [], copied: copied.map((u) => u.unitId), changes, reason };
}

/**
 * Delete one stored unit.  A default that is not stored is refused (409: it shows while its page
 * type has no unit of its own — store it inactive to hide it); an unknown id is 404.
 * @returns {{unit, units, upsert: [], remove: [id], reason}}
 */
export function planDelete(stored, id) {
  const unit = stored.find((u) => u.unitId === id);
  if (!unit) {
    const def = effectiveUnits(stored).find((u) => u.unitId === id && u.default);
    if (def) {
      throw new UnitError(409, `'${id}' is a default unit: it shows while ${def.pageType} has no unit of its own; to hide it, PUT it with "status":"inactive"`, { code: 'default' });
    }
    throw new UnitError(404, `no unit '${id}'`, { code: 'not-found' });
  }
  const units = stored.filter((u) => u.unitId !== id);
  const back = units.some((u) => u.pageType === unit.pageType) ? '' : `; ${unit.pageType} has no unit of its own now and shows its defaults`;
  return { unit, units, upsert: [], remove: [id], reason: `unit ${id} deleted (${unit.pageType}, ${unit.typeId}, ${unit.status})${back}` };
}
