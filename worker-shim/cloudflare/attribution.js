// attribution.js — recommendation units in the KPIs (D1), written by the queue consumer in the
// same transaction as the other KPIs (kpi.js recordKpis, de-duplicated by event id):
//
// * Per (unit, unit_type, version, arm, hour) in unit_kpi_hourly: renders
//   (recs-unit-impression-render), views (recs-unit-view), clicks (recs-item-click and
//   recs-item-add-to-cart-click; cart_clicks counts the latter alone), and the carts, purchases and
//   revenue (in cents) attributed to the unit.
// * Attribution: a unit click on item X by shopper U attributes U's `cart` and `purchase` events of X
//   to the clicked unit (its unit_type, version, arm) when the click came first (click ts ≤ conversion
//   ts, at most 24 h before) and either both carry the same `session` or the conversion is signed in
//   (edge field `signed_in: true`).  Of the eligible clicks the last wins (latest ts, then the
//   greatest event id).  The conversion's hour is the one counted.
// * Order of arrival does not matter: queues deliver at least once and a retried batch can land after
//   later ones, so a purchase may arrive before the click that led to it.  Clicks (unit_clicks) and
//   conversions (unit_conversions: every cart/purchase with a shopper id, attributed or not) are kept
//   for RETAIN_S (the 24 h window + 1 h of queue delay) and each batch re-resolves the (shopper,
//   item) pairs it touches: a conversion moves to a later eligible click when one arrives (its counts
//   move with it, in the same transaction).  A conversion only ever moves to a later click, so the
//   pruning of old clicks never undoes an attribution.  Events outside [now − RETAIN_S, now + 1 h]
//   (client clocks, replays) are counted but never attributed.
// * Revenue: the event's price × qty (qty ≥ 1, default 1); without a price on the event, the
//   catalog view's final price (catalog-sync.js catalogLookup) in the first store view of
//   CATALOG_STORES (a complex product: its minimum final price); unknown there → revenue 0.
// * Per canary run, run_unit_shoppers: shoppers who viewed a unit and whether they clicked one, the
//   guardrail's shopper-level unit CTR (order-independent: a click before its view still counts).
import { catalogConfig, catalogLookup } from './catalog-sync.js';

export const ATTRIBUTION_WINDOW_S = 24 * 3600;
export const RETAIN_S = ATTRIBUTION_WINDOW_S + 3600;
const FUTURE_SLACK_S = 3600;
const MAX_STATUS_UNITS = 100;
const MAX_STATUS_TYPES = 50;

/** The unit counter each recs-* event type increments. */
const COUNTER = {
  'recs-unit-impression-render': 'renders', 'recs-unit-view': 'views',
  'recs-item-click': 'clicks', 'recs-item-add-to-cart-click': 'clicks',
};
const COUNTERS = ['renders', 'views', 'clicks', 'cart_clicks'];
const isClick = (t) => t === 'recs-item-click' || t === 'recs-item-add-to-cart-click';
const str = (v) => typeof v === 'string' && v.length > 0;

/** A purchase line's revenue at `price` (price × qty, qty ≥ 1, 1 when absent); 0 without a usable price. */
export function purchaseRevenue(ev, price) {
  if (!(Number.isFinite(price) && price > 0)) return 0;
  const q = Number.isFinite(ev.qty) && ev.qty > 0 ? ev.qty : 1;
  return price * q;
}

/** Unit prices of the purchased skus in `events` that carry no price: the catalog view of the first
 * configured store view (Map sku → price; empty when there is no catalog or it fails). */
export async function catalogPrices(env, events) {
  const skus = [...new Set(events.filter((e) => e.type === 'purchase' && str(e.item) && !(Number.isFinite(e.price) && e.price > 0))
    .map((e) => e.item))];
  const out = new Map();
  if (!env?.EDGEREC || !skus.length) return out;
  let first;
  try { first = catalogConfig(env).stores[0]; } catch (e) {
    console.error(`edgerec: unit revenue: ${e.message}`);
    return out;
  }
  for (const [sku, r] of await catalogLookup(env, first.store, first.currency, skus)) {
    const p = r.price?.final ?? r.priceRange?.minimum?.final;
    if (Number.isFinite(p) && p >= 0) out.set(sku, p);
  }
  return out;
}

// Conversions of the (user, item) pairs bound as one JSON array of pairs.
const PAIRS = `(unit_conversions.user, unit_conversions.item) IN
  (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`;
// A unit click c that may take the conversion.
const ELIGIBLE = `c.user = unit_conversions.user AND c.item = unit_conversions.item AND c.ts <= unit_conversions.ts
  AND c.ts >= unit_conversions.ts - ${ATTRIBUTION_WINDOW_S}
  AND ((c.session IS NOT NULL AND c.session = unit_conversions.session) OR unit_conversions.signed_in = 1)`;
// There is an eligible click later than the one the conversion has (last click wins).
const BETTER = `EXISTS (SELECT 1 FROM unit_clicks c WHERE ${ELIGIBLE} AND (unit_conversions.click IS NULL
  OR c.ts > unit_conversions.click_ts OR (c.ts = unit_conversions.click_ts AND c.id > unit_conversions.click)))`;
// Add (+) or remove (-) the attributed counts of the conversions `which` selects.
const shift = (sign, which) => `UPDATE unit_kpi_hourly SET carts = carts ${sign} d.n_carts, purchases = purchases ${sign} d.n_purchases,
  revenue_cents = revenue_cents ${sign} d.n_revenue_cents
  FROM (SELECT unit, unit_type, version, arm, hour, SUM(kind = 'cart') n_carts, SUM(kind = 'purchase') n_purchases,
          SUM(revenue_cents) n_revenue_cents FROM unit_conversions WHERE ${which} GROUP BY unit, unit_type, version, arm, hour) AS d
  WHERE unit_kpi_hourly.unit = d.unit AND unit_kpi_hourly.unit_type = d.unit_type AND unit_kpi_hourly.version = d.version
    AND unit_kpi_hourly.arm = d.arm AND unit_kpi_hourly.hour = d.hour`;

/**
 * The D1 statements that record the unit side of fresh (not yet counted, unflagged, attributed)
 * events: unit counters, clicks and conversions kept for attribution, re-resolved attributions,
 * run_unit_shoppers, and the pruning of what is past RETAIN_S.  `versionOf(e)` / `hourOf(e)` are
 * kpi.js's; `prices`: catalogPrices(); `nowS`: unix seconds.  Run them in recordKpis's batch.
 */
export function unitStatements(db, fresh, { versionOf, hourOf, prices = new Map(), nowS = Date.now() / 1000 }) {
  const stmts = [];
  const counts = new Map();
  const pairs = new Map();
  const inWindow = (ts) => typeof ts === 'number' && ts >= nowS - RETAIN_S && ts <= nowS + FUTURE_SLACK_S;
  for (const e of fresh) {
    const version = versionOf(e);
    if (COUNTER[e.type] && str(e.unit) && str(e.unit_type)) {
      const hour = hourOf(e);
      const key = JSON.stringify([e.unit, e.unit_type, version, e.arm, hour]);
      const acc = counts.get(key) ?? { unit: e.unit, unit_type: e.unit_type, version, arm: e.arm, hour, renders: 0, views: 0, clicks: 0, cart_clicks: 0 };
      acc[COUNTER[e.type]]++;
      if (e.type === 'recs-item-add-to-cart-click') acc.cart_clicks++;
      counts.set(key, acc);
      if (str(e.user) && str(e.run) && (e.type === 'recs-unit-view' || isClick(e.type))) {
        const col = e.type === 'recs-unit-view' ? 'viewed' : 'clicked';
        stmts.push(db.prepare(`INSERT INTO run_unit_shoppers (run, user, arm, version, ${col}) VALUES (?, ?, ?, ?, 1)
          ON CONFLICT (run, user) DO UPDATE SET ${col} = 1`).bind(e.run, e.user, e.arm, version));
      }
      if (isClick(e.type) && str(e.user) && str(e.item) && inWindow(e.ts)) {
        stmts.push(db.prepare(`INSERT OR IGNORE INTO unit_clicks (id, user, item, session, ts, unit, unit_type, version, arm)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(e.id, e.user, e.item, str(e.session) ? e.session : null, e.ts, e.unit, e.unit_type, version, e.arm));
        pairs.set(JSON.stringify([e.user, e.item]), [e.user, e.item]);
      }
    }
    if ((e.type === 'cart' || e.type === 'purchase') && str(e.user) && str(e.item) && inWindow(e.ts)) {
      const revenue = e.type === 'purchase' ? purchaseRevenue(e, Number.isFinite(e.price) && e.price > 0 ? e.price : prices.get(e.item)) : 0;
      stmts.push(db.prepare(`INSERT OR IGNORE INTO unit_conversions (id, kind, user, item, session, signed_in, ts, hour, revenue_cents)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(e.id, e.type, e.user, e.item, str(e.session) ? e.session : null,
        e.signed_in === true ? 1 : 0, e.ts, hourOf(e), Math.round(revenue * 100)));
      pairs.set(JSON.stringify([e.user, e.item]), [e.user, e.item]);
    }
  }
  for (const a of counts.values()) {
    stmts.push(db.prepare(`INSERT INTO unit_kpi_hourly (unit, unit_type, version, arm, hour, ${COUNTERS.join(', ')})
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unit, unit_type, version, arm, hour) DO UPDATE SET
      ${COUNTERS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`)
      .bind(a.unit, a.unit_type, a.version, a.arm, a.hour, ...COUNTERS.map((c) => a[c])));
  }
  if (pairs.size) {
    const p = JSON.stringify([...pairs.values()]);
    stmts.push(
      // the conversions a later eligible click takes: out of their old unit's counts, to the click, into its counts
      db.prepare(shift('-', `click IS NOT NULL AND ${PAIRS} AND ${BETTER}`)).bind(p),
      db.prepare(`UPDATE unit_conversions SET (click, click_ts, unit, unit_type, version, arm, moved) =
        (SELECT c.id, c.ts, c.unit, c.unit_type, c.version, c.arm, 1 FROM unit_clicks c WHERE ${ELIGIBLE}
         ORDER BY c.ts DESC, c.id DESC LIMIT 1) WHERE ${PAIRS} AND ${BETTER}`).bind(p),
      db.prepare(`INSERT OR IGNORE INTO unit_kpi_hourly (unit, unit_type, version, arm, hour)
        SELECT DISTINCT unit, unit_type, version, arm, hour FROM unit_conversions WHERE moved = 1 AND ${PAIRS}`).bind(p),
      db.prepare(shift('+', `moved = 1 AND ${PAIRS}`)).bind(p),
      db.prepare(`UPDATE unit_conversions SET moved = 0 WHERE moved = 1 AND ${PAIRS}`).bind(p),
    );
  }
  if (stmts.length) {
    const cutoff = nowS - RETAIN_S;
    stmts.push(db.prepare('DELETE FROM unit_clicks WHERE ts < ?').bind(cutoff),
      db.prepare('DELETE FROM unit_conversions WHERE ts < ?').bind(cutoff));
  }
  return stmts;
}

const ratio = (a, b) => (b > 0 ? a / b : null);

/** The status figures of a unit_kpi_hourly sum: counts, CTR (clicks / views), add-to-cart rate and
 * conversion (attributed carts / purchases per click), revenue (in the store's currency). */
function unitFigures(r) {
  const n = (k) => r[k] ?? 0;
  return {
    renders: n('renders'), views: n('views'), clicks: n('clicks'), add_to_cart_clicks: n('cart_clicks'),
    carts: n('carts'), purchases: n('purchases'), revenue: n('revenue_cents') / 100,
    ctr: ratio(n('clicks'), n('views')), add_to_cart_rate: ratio(n('carts'), n('clicks')), conversion: ratio(n('purchases'), n('clicks')),
  };
}

const SUMS = `SUM(renders) renders, SUM(views) views, SUM(clicks) clicks, SUM(cart_clicks) cart_clicks, SUM(carts) carts,
  SUM(purchases) purchases, SUM(revenue_cents) revenue_cents`;

/** Unit KPIs per live version (and 'none', the holdout's), all hours: {version: {units: [{unit,
 * unit_type, …figures}], types: {unit_type: figures}}}; the MAX_STATUS_UNITS units with the most views. */
export async function unitKpis(db, versions) {
  const out = {};
  for (const v of [...new Set(versions), 'none']) {
    const units = (await db.prepare(`SELECT unit, unit_type, ${SUMS} FROM unit_kpi_hourly WHERE version = ? GROUP BY unit, unit_type
      ORDER BY SUM(views) DESC, SUM(renders) DESC, unit LIMIT ${MAX_STATUS_UNITS}`).bind(v).all()).results;
    if (!units.length) continue;
    const types = (await db.prepare(`SELECT unit_type, ${SUMS} FROM unit_kpi_hourly WHERE version = ? GROUP BY unit_type
      ORDER BY SUM(views) DESC, unit_type LIMIT ${MAX_STATUS_TYPES}`).bind(v).all()).results;
    out[v] = {
      units: units.map((r) => ({ unit: r.unit, unit_type: r.unit_type, ...unitFigures(r) })),
      types: Object.fromEntries(types.map((r) => [r.unit_type, unitFigures(r)])),
    };
  }
  return out;
}
