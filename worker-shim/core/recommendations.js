// recommendations.js — Adobe Commerce Product Recommendations, answered at the edge: the
// `recommendations` and `recommendationsByUnitIds` queries in Adobe's own wire format, executed
// with graphql-js over a schema written from Adobe's published SDL (AdobeDocs commerce-services),
// and the same units as plain JSON for apps (GET /edge/recommend).  Shared by the Worker and
// Lambda@Edge: everything platform-specific (the shopper's profile, the engine of the shopper's
// arm, configured units, the catalog view) comes in as `deps`.
//
//   recommendationsRequest(op)          → 'only' | 'mixed' | null   (op from graphql.js readOperation)
//   executeRecommendations(op, deps)    → {status, body, personal, units}   (never throws)
//   resolveUnits(args, deps)            → [{unit, products, personal, userError}]   (GraphQL and REST)
//   restArgs(searchParams)              → args for resolveUnits from GET /edge/recommend's query
//   restUnits(q, config)                → the units a GET /edge/recommend asks for
//   restAnswer(resolved)                → the JSON document GET /edge/recommend returns
//   storeOf(headers, fallback)          → {store, currency, group} of a request
//   unitsPolicy(id, arm)                → {personal, reason}: may the shopper's profile and history be used
//
// The rules live in the engine: each unit is one engine request (context built by engineContext:
// the unit's type, item count, filters and back-fill; the page's sku, category and cart; the
// shopper's history), the engine applies candidates, exclusions, filters, back-fill and the bundle's
// pin / boost / bury.  This module only maps arguments in and the engine's answer out, and drops
// what the catalog view does not know (disabled or invisible products are never shown).
import { GraphQLError, Kind, buildSchema, execute, specifiedRules, validate } from 'graphql';
import { unitsById, unitsFor } from './units.js';

/** The schema edgerec answers: Adobe's types for recommendations, written from AdobeDocs'
 * published reference (only what recommendations need; `rank` and `score` are edgerec's). */
export const SDL = `
"Where a recommendation unit is shown."
enum PageType { Cart Category Checkout CMS PageBuilder Product }
scalar DateTime
scalar JSON
"A product the shopper viewed (Adobe's storefront SDK keeps these in localStorage)."
input ViewHistory { date: DateTime sku: String! }
"Products the shopper bought."
input PurchaseHistory { date: DateTime items: [String]! }
"The product on the page (the storefront drop-in's currentProduct)."
input CurrentProductInput { sku: String name: String price: JSON categories: [String] }
type Query {
  recommendations(cartSkus: [String], category: String, currentSku: String, currentProduct: CurrentProductInput,
    pageType: PageType, userPurchaseHistory: [PurchaseHistory], userViewHistory: [ViewHistory]): Recommendations
  recommendationsByUnitIds(unitIds: [String!]!, cartSkus: [String], category: String, currentSku: String,
    currentProduct: CurrentProductInput, userPurchaseHistory: [PurchaseHistory], userViewHistory: [ViewHistory]): Recommendations
}
type Recommendations { results: [RecommendationUnit] totalResults: Int }
type RecommendationUnit {
  displayOrder: Int pageType: String productsView: [ProductView] storefrontLabel: String totalProducts: Int
  typeId: String unitId: String unitName: String userError: String
}
interface ProductView {
  id: ID! sku: String name: String urlKey: String url: String externalId: String images: [ProductViewImage]
  inStock: Boolean addToCartAllowed: Boolean queryType: String visibility: String categories: [CategoryProductView!]
  rank: Int score: Float
}
type SimpleProductView implements ProductView {
  id: ID! sku: String name: String urlKey: String url: String externalId: String images: [ProductViewImage]
  inStock: Boolean addToCartAllowed: Boolean queryType: String visibility: String categories: [CategoryProductView!]
  rank: Int score: Float price: ProductViewPrice
}
type ComplexProductView implements ProductView {
  id: ID! sku: String name: String urlKey: String url: String externalId: String images: [ProductViewImage]
  inStock: Boolean addToCartAllowed: Boolean queryType: String visibility: String categories: [CategoryProductView!]
  rank: Int score: Float priceRange: ProductViewPriceRange
}
type ProductViewImage { url: String! label: String roles: [String] }
type CategoryProductView { name: String slug: String level: Int }
type ProductViewPrice { final: Price regular: Price roles: [String] }
type ProductViewPriceRange { minimum: ProductViewPrice maximum: ProductViewPrice }
type Price { amount: ProductViewMoney adjustments: [PriceAdjustment] }
type PriceAdjustment { code: String amount: Float }
type ProductViewMoney { currency: String value: Float }
`;

const ROOT_FIELDS = new Set(['recommendations', 'recommendationsByUnitIds']);
/** Bounds on one document's work. */
export const LIMITS = Object.freeze({
  rootFields: 4, // recommendations fields (aliases included) per document
  units: 30, // units answered per document, over all its fields
  unitIds: 50, // ids accepted in one recommendationsByUnitIds
  history: 200, // history entries read (newest first); the rest are ignored
  cartSkus: 100,
  items: 25, // products per unit (Adobe's maximum)
});

/** Engine page types for Adobe's PageType. */
const PAGE = { Product: 'product', Category: 'category', Cart: 'cart', Checkout: 'cart', CMS: 'home', PageBuilder: 'home' };
/** Unit types that are the same for every shopper of a store (popularity lists): computed without
 * the shopper's profile unless the request brings a history or a cart, so they can be shared. */
const POPULARITY_TYPES = new Set(['most-viewed', 'most-purchased', 'most-added-to-cart', 'trending']);

let schema = null;
const getSchema = () => (schema ??= buildSchema(SDL));
const validated = new WeakMap(); // document → its validation errors (a document's AST is immutable)

/** Does the operation ask for recommendations?  'only' when every root field is one of
 * recommendations / recommendationsByUnitIds / __typename, 'mixed' when Magento fields come
 * with them, null when none is asked. */
export function recommendationsRequest(op) {
  try {
    if (!op || op.kind !== 'query') return null;
    const names = op.fields.map((f) => f.name);
    if (!names.some((n) => ROOT_FIELDS.has(n))) return null;
    return names.every((n) => ROOT_FIELDS.has(n) || n === '__typename') ? 'only' : 'mixed';
  } catch {
    return null;
  }
}

/** The GraphQL error a mixed document gets (Adobe serves recommendations from its own endpoint too). */
export function mixedError() {
  return { errors: [{ message: 'recommendations and recommendationsByUnitIds are answered by edgerec at the edge and cannot be mixed with Magento fields in one document: send them as a separate request (Adobe serves them from a separate endpoint too)', extensions: { category: 'edgerec-mixed-document' } }] };
}

// A validation rule: at most LIMITS.rootFields recommendation fields (aliases count), so one
// document cannot multiply the engine's work.
function rootFieldLimit(context) {
  return {
    OperationDefinition(node) {
      let n = 0;
      const walk = (set, seen) => {
        for (const s of set.selections) {
          if (s.kind === Kind.FIELD) { if (ROOT_FIELDS.has(s.name.value)) n++; }
          else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, seen);
          else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
            seen.add(s.name.value);
            const f = context.getFragment(s.name.value);
            if (f) walk(f.selectionSet, seen);
          }
        }
      };
      walk(node.selectionSet, new Set());
      if (n > LIMITS.rootFields) context.reportError(new GraphQLError(`at most ${LIMITS.rootFields} recommendations fields per document (${n} asked, aliases included)`, { nodes: [node] }));
    },
  };
}

const RULES = [...specifiedRules, rootFieldLimit];
const clip = (s, n = 256) => (typeof s === 'string' ? s.slice(0, n) : undefined);
const skuList = (v, max) => (Array.isArray(v) ? v : []).filter((s) => typeof s === 'string' && s && s.length <= 128).slice(0, max);
const dateMs = (d) => { const t = typeof d === 'string' || typeof d === 'number' ? Date.parse(d) : NaN; return Number.isFinite(t) ? t : 0; };

/** Client-sent histories → recent views (newest first) and purchases, bounded. */
function histories(args) {
  const views = (Array.isArray(args.userViewHistory) ? args.userViewHistory : [])
    .filter((v) => v && typeof v.sku === 'string' && v.sku && v.sku.length <= 128)
    .map((v, i) => ({ sku: v.sku, t: dateMs(v.date), i }))
    .sort((a, b) => b.t - a.t || b.i - a.i) // newest first; without dates, the later entry is newer
    .slice(0, LIMITS.history).map((v) => v.sku);
  const purchased = [];
  for (const p of (Array.isArray(args.userPurchaseHistory) ? args.userPurchaseHistory : []).slice(-LIMITS.history)) {
    for (const s of skuList(p?.items, LIMITS.history)) if (purchased.length < LIMITS.history) purchased.push(s);
  }
  return { views: [...new Set(views)], purchased: [...new Set(purchased)] };
}

/** The engine context for one unit: what the unit is (type, count, filters, back-fill), the page
 * (sku, category, cart) and — when personal — the shopper's client-sent history. */
export function engineContext(unit, args, { personal = true, base = {} } = {}) {
  const ctx = { ...base, unit: unit.typeId, k: Math.min(LIMITS.items, Math.max(1, unit.itemCount ?? 10)) };
  const page = {};
  const type = PAGE[args.pageType ?? unit.pageType];
  if (type) page.type = type;
  const sku = args.currentSku ?? args.currentProduct?.sku;
  if (typeof sku === 'string' && sku && sku.length <= 128) { page.sku = sku; page.type ??= 'product'; }
  if (typeof args.category === 'string' && args.category && args.category.length <= 512) page.category = args.category;
  if (Object.keys(page).length) ctx.page = page;
  const cart = skuList(args.cartSkus, LIMITS.cartSkus);
  if (cart.length) ctx.cart = cart;
  const exclude = skuList(args.exclude, LIMITS.cartSkus);
  if (exclude.length) ctx.exclude = exclude;
  const f = unit.filters ?? {};
  const filter = {};
  if (Array.isArray(f.categories) && f.categories.length) filter.categories = f.categories;
  if (Array.isArray(f.excludeCategories) && f.excludeCategories.length) filter.exclude_categories = f.excludeCategories;
  if (typeof f.priceMin === 'number') filter.price_min = f.priceMin;
  if (typeof f.priceMax === 'number') filter.price_max = f.priceMax;
  if (f.inStockOnly === false) filter.in_stock_only = false;
  if (Object.keys(filter).length) ctx.filter = filter;
  if (unit.backfill && unit.backfill !== 'none') ctx.backfill = unit.backfill;
  if (personal) {
    const h = histories(args);
    if (h.views.length) ctx.recent = h.views;
    if (h.purchased.length) ctx.purchased = h.purchased;
  } else if (ctx.unit === 'just-for-you' || ctx.unit === 'recently-viewed') {
    // not personalized (holdout, opt-out): popularity instead of the shopper's own picks
    ctx.unit = unit.backfill && unit.backfill !== 'none' ? unit.backfill : 'most-viewed';
  }
  return ctx;
}

/** A catalog-view record as Adobe's ProductView (what graphql-js serializes). */
function productView(rec, item, rank) {
  const money = (v, currency) => (typeof v === 'number' ? { amount: { currency: currency ?? null, value: v }, adjustments: [] } : null);
  const price = (p, currency) => (p ? { final: money(p.final, currency), regular: money(p.regular ?? p.final, currency), roles: ['visible'] } : null);
  const complex = rec.type === 'complex';
  const view = {
    __typename: complex ? 'ComplexProductView' : 'SimpleProductView',
    id: rec.sku, sku: rec.sku, name: rec.name ?? null, urlKey: rec.urlKey ?? null, url: rec.url ?? null, externalId: rec.id != null ? String(rec.id) : null,
    images: (rec.images ?? []).map((i) => ({ url: i.url, label: i.label ?? null, roles: i.roles ?? [] })),
    inStock: rec.inStock !== false, addToCartAllowed: rec.inStock !== false,
    queryType: item.backup ? 'backup' : 'primary', visibility: rec.visibility ?? 'Catalog, Search',
    categories: (rec.categories ?? []).map((c) => (typeof c === 'string' ? { name: c.split('/').pop(), slug: c, level: c.split('/').length } : c)),
    rank, score: typeof item.score === 'number' ? item.score : null,
  };
  if (complex) {
    const r = rec.priceRange ?? {};
    view.priceRange = { minimum: price(r.minimum, r.currency ?? rec.currency), maximum: price(r.maximum, r.currency ?? rec.currency) };
  } else {
    view.price = price(rec.price, rec.price?.currency ?? rec.currency);
  }
  return view;
}

/** Answer units: each unit is one engine request; products the catalog view does not know are
 * dropped (asked for a few more than the unit shows, so one disabled product does not shorten it).
 * deps: {units: [unit] (already chosen), personal: may the shopper's profile and history be used
 *        (false for the holdout and opted-out shoppers), recommend(ctx, withProfile) →
 *        {items:[{sku,score,backup}]} (withProfile: pass the shopper's profile bytes),
 *        products(skus) → Map sku → record}.  A unit is `personal` when it used the profile, a
 *        client-sent history or the cart; popularity units without them are the same for everyone. */
export async function resolveUnits(args, deps) {
  const out = [];
  for (const unit of deps.units) {
    if (unit.userError) { out.push({ unit, products: [], personal: false, userError: unit.userError }); continue; }
    const hasHistory = !!(args.userViewHistory?.length || args.userPurchaseHistory?.length || args.cartSkus?.length);
    const personal = !!deps.personal && (!POPULARITY_TYPES.has(unit.typeId) || hasHistory);
    const want = Math.min(LIMITS.items, Math.max(1, unit.itemCount ?? 10));
    const ctx = engineContext({ ...unit, itemCount: Math.min(LIMITS.items, want + 5) }, args, { personal: !!deps.personal });
    let items = [], userError = null;
    try {
      items = (await deps.recommend(ctx, personal)).items ?? [];
    } catch (e) {
      if (e?.code === 'trap') throw e;
      userError = e?.message ?? 'the unit could not be computed';
    }
    const known = items.length ? await deps.products(items.map((i) => i.sku)) : new Map();
    const products = [];
    for (const it of items) {
      const rec = known.get(it.sku);
      if (!rec) continue; // disabled, invisible or not synced: never shown
      products.push(productView(rec, it, products.length + 1));
      if (products.length >= want) break;
    }
    if (!userError && !products.length && unit.typeId && /^(viewed-|bought-|more-like)/.test(unit.typeId) && !ctx.page?.sku && !ctx.cart) {
      userError = `${unit.typeId} needs currentSku (or cartSkus) to recommend from`;
    }
    out.push({ unit, products, personal, userError });
  }
  return out;
}

/** The RecommendationUnit objects of resolved units. */
function unitObjects(resolved) {
  return resolved.map(({ unit, products, userError }) => ({
    displayOrder: unit.displayOrder ?? null, pageType: unit.pageType ?? null, productsView: products,
    storefrontLabel: unit.storefrontLabel ?? null, totalProducts: products.length, typeId: unit.typeId ?? null,
    unitId: unit.unitId ?? null, unitName: unit.unitName ?? null, userError: userError ?? null,
  }));
}

/** Execute a recommendations-only document.  deps as resolveUnits's, plus the configured units:
 * `config` (units.js's: stored units, defaults where none) or unitsFor(pageType) → [unit] and
 * unitsById(ids) → {units, unknown}. */
export async function executeRecommendations(op, deps) {
  try {
    const s = getSchema();
    // validated once per document (graphql.js keeps parsed documents per isolate: the same AST object)
    let errors = validated.get(op.document);
    if (!errors) { errors = validate(s, op.document, RULES, { maxErrors: 20 }); validated.set(op.document, errors); }
    if (errors.length) return { status: 200, body: { errors: errors.map((e) => e.toJSON()) }, personal: false, units: [] };
    let budget = LIMITS.units, personalAny = false;
    const served = [];
    const answer = async (units, args) => {
      const chosen = units.slice(0, Math.max(0, budget));
      budget -= chosen.length;
      const resolved = await resolveUnits(args, { ...deps, units: chosen });
      for (const r of resolved) { personalAny ||= r.personal; served.push(r); }
      return { results: unitObjects(resolved), totalResults: resolved.length };
    };
    const byPage = deps.unitsFor ?? ((pageType) => unitsFor(deps.config, pageType ?? 'CMS'));
    const byIds = deps.unitsById ?? ((ids) => unitsById(deps.config, ids));
    const rootValue = {
      recommendations: (args) => answer(byPage(args.pageType ?? null), args),
      recommendationsByUnitIds: (args) => {
        const ids = (args.unitIds ?? []).slice(0, LIMITS.unitIds);
        if ((args.unitIds ?? []).length > LIMITS.unitIds) throw new GraphQLError(`at most ${LIMITS.unitIds} unitIds per request (${args.unitIds.length} given)`);
        const { units, unknown } = byIds(ids);
        const all = [...units, ...unknown.map((id) => ({ unitId: id, userError: `unknown unit id '${clip(id, 64)}'` }))];
        return answer(all, args);
      },
    };
    const result = await execute({ schema: s, document: op.document, rootValue, variableValues: op.variables, operationName: op.operationName });
    const body = {};
    if (result.errors?.length) body.errors = result.errors.map((e) => e.toJSON());
    if (result.data !== undefined) body.data = result.data;
    return { status: 200, body, personal: personalAny, units: served };
  } catch (e) {
    if (e?.code === 'trap') throw e;
    return { status: 200, body: { errors: [{ message: `recommendations could not be answered: ${e?.message ?? e}` }] }, personal: false, units: [] };
  }
}

const PAGE_TYPES = new Set(Object.keys(PAGE));
/** GET /edge/recommend's query → resolveUnits args: pageType (Adobe's PageType, or Lambda@Edge's
 * older `page` engine type), sku, category, cart (comma list), unit (a unit id or a type id), k,
 * exclude (comma list).  {args, unit, k, error}. */
export function restArgs(p) {
  const list = (v) => (typeof v === 'string' && v ? v.split(',').map((s) => s.trim()).filter(Boolean).slice(0, LIMITS.cartSkus) : undefined);
  let pageType = p.get('pageType') ?? undefined;
  const legacy = { product: 'Product', category: 'Category', cart: 'Cart', home: 'CMS', search: 'CMS' }[p.get('page') ?? ''];
  pageType ??= legacy;
  if (pageType !== undefined && !PAGE_TYPES.has(pageType)) return { error: `pageType must be one of ${[...PAGE_TYPES].join(', ')}` };
  const k = p.has('k') ? Number(p.get('k')) : undefined;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= LIMITS.items)) return { error: `k must be an integer 1..${LIMITS.items}` };
  const args = { pageType, currentSku: p.get('sku') ?? undefined, category: p.get('category') ?? undefined, cartSkus: list(p.get('cart')), exclude: list(p.get('exclude')) };
  if (args.currentSku && !args.pageType) args.pageType = 'Product';
  return { args, unit: p.get('unit') ?? undefined, k };
}

/** The units a GET /edge/recommend asks for (q from restArgs, config the configured units): a
 * configured unit by id, else a type id asked for directly (apps: ?unit=trending&k=8), else the
 * page type's units (CMS when none is given); k overrides the item count. */
export function restUnits(q, config) {
  let units;
  if (q.unit) {
    const found = unitsById(config, [q.unit]);
    units = found.units.length ? found.units : [{ unitId: q.unit, typeId: q.unit, unitName: q.unit, storefrontLabel: null,
      pageType: q.args.pageType ?? null, displayOrder: 1, itemCount: q.k ?? 10, backfill: 'most-viewed' }];
  } else units = unitsFor(config, q.args.pageType ?? 'CMS');
  return q.k ? units.map((u) => ({ ...u, itemCount: q.k })) : units;
}

/** The JSON GET /edge/recommend returns: Adobe's unit shape, without GraphQL. */
export function restAnswer(resolved) {
  const results = unitObjects(resolved);
  return { results, totalResults: results.length };
}

/** What may be used for a shopper's units, and why not: {personal, reason}.  Opted-out (GPC, DNT),
 * unconsented and holdout shoppers get non-personalized units (reason says which). */
export function unitsPolicy(id, arm) {
  const reason = id.optedOut ? (id.reason === 'no-consent' ? 'no-consent' : 'opt-out')
    : id.consent === false ? 'no-consent' : arm === 'holdout' ? 'holdout' : null;
  return { personal: reason === null, reason };
}

/** Store view, currency and customer group of a request: Adobe's Magento-Store-View-Code /
 * Magento-Customer-Group headers or Venia's Store / Content-Currency; `fallback` ({store,
 * currency}: the deployment's first store view) for what the request does not say. */
export function storeOf(headers, fallback = { store: 'default', currency: 'USD' }) {
  const ok = (s) => typeof s === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(s);
  const store = headers.get('magento-store-view-code') || headers.get('store');
  const currency = headers.get('content-currency');
  const group = headers.get('magento-customer-group');
  return {
    store: ok(store) ? store : fallback.store,
    currency: /^[A-Z]{3}$/.test(currency ?? '') ? currency : fallback.currency,
    group: ok(group) ? group : '0',
  };
}
