#!/usr/bin/env node
// synthetic-sessions.mjs — SYNTHETIC shopper sessions over a catalog.json (the
// Luma sample catalog from `edgerec import luma-catalog`), as event NDJSON
// (docs/events.md), for the demo and for tests.  Not real traffic: every event
// id starts with "synthetic-", every session and user id with "syn-".
//
//   node tests/standin/synthetic-sessions.mjs --catalog FILE [--sessions 3000] [--seed 1]
//        [--days 30] [--end TS] [--out FILE]          (NDJSON on stdout without --out)
//
// The model (all draws from one seeded PRNG, so a seed gives the same bytes):
// * an item's *area* is the first two levels of its main category path (Men/Tops, Gear/Bags, …;
//   merchandising trees like Collections and Promotions are not areas), its *leaf* the deepest
//   such path (Men/Tops/Jackets) — the event's `category`;
// * every item has a latent appeal (log-normal), which gives a long-tailed popularity;
// * a shopper has a taste: an area, a favourite leaf in it and a price band (the lower, middle or
//   upper third of the area's prices); 35 % of sessions come from a returning shopper (same user
//   id, same area and band, sometimes another leaf);
// * a session is 3–15 product views (mostly short): the next product is a catalog neighbour of the
//   current one (25 %), from the favourite leaf (30 %), the area (33 %) or anywhere (12 %), weighted
//   by appeal × price fit; now and then the shopper goes back to a product already seen;
// * never the same product twice in a row;
// * after a view the shopper may add the product to the cart (more often inside the price band; at
//   most 2 per session): a configurable is carted as one of its in-stock children (a size/colour;
//   the engine folds children into parents); half of the sessions with a cart end in a purchase of
//   everything carted;
// * sessions start on a uniformly drawn day of the window at an hour drawn from a diurnal curve;
//   gaps between events are log-uniform (views 15–180 s, cart 5–60 s, checkout 60–600 s).
// Events are written in time order; ids are assigned in that order.
import { readFileSync, writeFileSync } from 'node:fs';

const USAGE = 'usage: synthetic-sessions.mjs --catalog FILE [--sessions N=3000] [--seed S=1] [--days D=30] [--end TS] [--out FILE]';
export const DEFAULT_END = Date.UTC(2026, 10, 1) / 1000; // 2026-11-01T00:00:00Z: fixed, so output is deterministic
const MERCH_ROOTS = new Set(['Collections', 'Promotions', "What's New", 'Sale', 'Training', 'Default Category']);

/** splitmix32-style PRNG → floats in [0, 1). */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
function seedOf(s) {
  if (/^\d+$/.test(String(s))) return Number(s) >>> 0;
  let h = 0x811c9dc5;
  for (const c of String(s)) { h ^= c.codePointAt(0); h = Math.imul(h, 0x01000193) >>> 0; }
  return h;
}

/**
 * Generates the events.  Returns {events: object[], summary: object}.
 * @param {{items: object[], neighbours?: object}} catalog
 */
export function generate(catalog, { sessions = 3000, seed = 1, days = 30, end = DEFAULT_END } = {}) {
  const rnd = prng(seedOf(seed));
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const logUniform = (lo, hi) => Math.round(Math.exp(Math.log(lo) + rnd() * (Math.log(hi) - Math.log(lo))));
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const weighted = (arr, w) => {
    let total = 0;
    for (const x of arr) total += w(x);
    if (!(total > 0)) return pick(arr);
    let r = rnd() * total;
    for (const x of arr) { r -= w(x); if (r < 0) return x; }
    return arr[arr.length - 1];
  };

  const items = catalog.items ?? [];
  const bySku = new Map(items.map((it) => [it.sku, it]));
  const children = new Map();
  for (const it of items) if (it.parent) { if (!children.has(it.parent)) children.set(it.parent, []); children.get(it.parent).push(it); }
  const products = items.filter((it) => !it.parent && it.visible !== false);
  if (!products.length) throw new Error('the catalog has no visible products');

  // areas and leaves
  const leafOf = new Map(), areaOf = new Map();
  for (const it of products) {
    const paths = (it.categories ?? []).map((c) => String(c).split('/').filter(Boolean)).filter((p) => p.length && !MERCH_ROOTS.has(p[0]));
    paths.sort((a, b) => b.length - a.length || (a.join('/') < b.join('/') ? -1 : 1));
    const leaf = paths[0];
    if (!leaf) continue;
    leafOf.set(it, leaf.join('/'));
    areaOf.set(it, leaf.slice(0, 2).join('/'));
  }
  const areas = new Map();
  for (const it of products) {
    const a = areaOf.get(it);
    if (!a) continue;
    if (!areas.has(a)) areas.set(a, []);
    areas.get(a).push(it);
  }
  for (const [a, list] of areas) if (list.length < 3) areas.delete(a);
  const areaNames = [...areas.keys()].sort();
  if (!areaNames.length) throw new Error('the catalog has no category area with 3 or more visible products');
  const bands = new Map(); // area → [t1, t2] price terciles
  for (const a of areaNames) {
    const ps = areas.get(a).map((it) => it.price ?? 0).sort((x, y) => x - y);
    bands.set(a, [ps[Math.floor(ps.length / 3)], ps[Math.floor((2 * ps.length) / 3)]]);
  }
  const bandOf = (area, price) => { const [t1, t2] = bands.get(area); return price < t1 ? 0 : price < t2 ? 1 : 2; };
  const appeal = new Map(products.map((it) => [it, Math.exp(0.9 * normal())]));
  const visibleSet = new Set(products);
  const neighbours = new Map();
  for (const rel of ['viewed_viewed', 'viewed_bought', 'content']) {
    for (const [sku, list] of Object.entries(catalog.neighbours?.[rel] ?? {})) {
      const from = bySku.get(sku);
      if (!visibleSet.has(from)) continue;
      for (const [to, w] of list ?? []) {
        const t = bySku.get(to);
        const target = t?.parent ? bySku.get(t.parent) : t;
        if (!visibleSet.has(target) || target === from) continue;
        if (!neighbours.has(from)) neighbours.set(from, new Map());
        const m = neighbours.get(from);
        m.set(target, Math.max(m.get(target) ?? 0, Number(w) || 0.1));
      }
    }
  }
  const HOURS = [1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.4, 2, 2.4, 2.6, 2.8, 3.2, 3, 2.8, 2.8, 3, 3.4, 4, 4.6, 5, 4.6, 3.4, 2];
  const DEVICES = ['desktop', 'desktop', 'desktop', 'desktop', 'mobile', 'mobile', 'mobile', 'mobile', 'tablet', 'app'];
  const COUNTRIES = ['US', 'US', 'US', 'US', 'US', 'CA', 'GB', 'GB', 'DE', 'FR'];

  const shoppers = [];
  const raw = [];
  const stats = { view: 0, cart: 0, purchase: 0, carting: 0, buying: 0 };
  const t0 = end - days * 86400;
  for (let s = 0; s < sessions; s++) {
    let shopper;
    if (shoppers.length && rnd() < 0.35) {
      shopper = pick(shoppers);
      if (rnd() < 0.2) shopper.leaf = leafOf.get(pick(areas.get(shopper.area)));
    } else {
      const area = weighted(areaNames, (a) => Math.sqrt(areas.get(a).length));
      shopper = {
        user: `syn-${seed}-u${String(shoppers.length + 1).padStart(5, '0')}`, area,
        leaf: leafOf.get(pick(areas.get(area))), band: Math.floor(rnd() * 3),
        device: pick(DEVICES), country: pick(COUNTRIES),
      };
      shoppers.push(shopper);
    }
    const session = `syn-${seed}-s${String(s + 1).padStart(5, '0')}`;
    const fit = (it) => {
      const a = areaOf.get(it);
      if (!a || !bands.has(a)) return 0.3;
      const d = Math.abs(bandOf(a, it.price ?? 0) - shopper.band);
      return d === 0 ? 1 : d === 1 ? 0.35 : 0.12;
    };
    const w = (it) => appeal.get(it) * fit(it);
    const areaItems = areas.get(shopper.area);
    const leafItems = areaItems.filter((it) => leafOf.get(it) === shopper.leaf);

    const day = Math.floor(rnd() * days);
    const hour = weighted([...HOURS.keys()], (h) => HOURS[h]);
    let ts = Math.min(end - 3600, t0 + day * 86400 + hour * 3600 + Math.floor(rnd() * 3600));
    const views = 3 + Math.floor(12 * rnd() ** 1.6);
    const seen = [];
    const cart = [];
    let current = null;
    const push = (type, it, extra = {}) => {
      raw.push({ type, item: it.sku, ts, price: Math.round((it.price ?? 0) * 100) / 100, ...extra, category: leafOf.get(bySku.get(it.parent) ?? it) ?? (it.categories ?? [])[0] ?? '', session, user: shopper.user, device: shopper.device, country: shopper.country });
      stats[type]++;
    };
    const draw = () => {
      const r = rnd();
      if (seen.length > 1 && r < 0.08) return pick(seen);
      if (current && neighbours.has(current) && r < 0.33) {
        const m = neighbours.get(current);
        return weighted([...m.keys()], (it) => m.get(it) * fit(it));
      }
      if (r < 0.63 && leafItems.length) return weighted(leafItems, w);
      if (r < 0.88) return weighted(areaItems, w);
      return weighted(products, w);
    };
    for (let v = 0; v < views; v++) {
      let next = draw();
      for (let tries = 0; next === current && tries < 8; tries++) next = draw(); // not the page just seen
      if (next === current) next = pick(products.filter((it) => it !== current)) ?? next;
      if (v > 0) ts += logUniform(15, 180);
      push('view', next);
      current = next;
      if (!seen.includes(next)) seen.push(next);
      if (cart.length < 2 && next.in_stock !== false && !cart.some((l) => l.product === next) && rnd() < 0.075 * fit(next)) {
        const kids = (children.get(next.sku) ?? []).filter((k) => k.in_stock !== false);
        const line = { product: next, item: kids.length ? pick(kids) : next, qty: rnd() < 0.1 ? 2 : 1 };
        cart.push(line);
        ts += logUniform(5, 60);
        push('cart', line.item, { qty: line.qty });
      }
    }
    if (cart.length) {
      stats.carting++;
      if (rnd() < 0.5) {
        stats.buying++;
        ts += logUniform(60, 600);
        for (const line of cart) push('purchase', line.item, { qty: line.qty });
      }
    }
  }
  raw.sort((a, b) => a.ts - b.ts || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
  // the session order within one timestamp is by id; a session's own events never share a ts
  const width = Math.max(6, String(raw.length).length);
  const events = raw.map((e, i) => ({ ...e, id: `synthetic-${seed}-${String(i + 1).padStart(width, '0')}` }));
  const distinct = new Set(raw.map((e) => bySku.get(e.item)?.parent ?? e.item));
  return {
    events,
    summary: {
      sessions, shoppers: shoppers.length, events: events.length, view: stats.view, cart: stats.cart, purchase: stats.purchase,
      sessions_with_cart: stats.carting, sessions_with_purchase: stats.buying, products: distinct.size, areas: areaNames.length,
      from: events.length ? events[0].ts : null, to: events.length ? events[events.length - 1].ts : null, seed,
    },
  };
}

export function toNdjson(events) {
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
}

function main(argv) {
  const o = { catalog: null, sessions: 3000, seed: '1', days: 30, end: DEFAULT_END, out: null };
  const fail = (m) => { console.error(`synthetic-sessions: ${m}\n${USAGE}`); process.exit(2); };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : fail(`${a} needs a value`));
    if (a === '--catalog') o.catalog = val();
    else if (a === '--sessions') o.sessions = Number(val());
    else if (a === '--seed') o.seed = val();
    else if (a === '--days') o.days = Number(val());
    else if (a === '--end') o.end = Number(val());
    else if (a === '--out') o.out = val();
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else fail(`unknown argument ${a}`);
  }
  if (!o.catalog) fail('--catalog is required');
  if (!Number.isInteger(o.sessions) || o.sessions < 1 || o.sessions > 10_000_000) fail('--sessions must be an integer ≥ 1');
  if (!Number.isInteger(o.days) || o.days < 1 || o.days > 3650) fail('--days must be an integer in 1..3650');
  if (!Number.isInteger(o.end) || o.end < o.days * 86400 || o.end >= 2 ** 32) fail('--end must be unix seconds (an integer), later than --days after 1970');
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(o.seed)) fail('--seed must be 1..32 characters of [A-Za-z0-9_.-]');
  let catalog;
  try { catalog = JSON.parse(readFileSync(o.catalog, 'utf8')); } catch (e) { console.error(`synthetic-sessions: cannot read ${o.catalog}: ${e.message}`); process.exit(3); }
  let r;
  try { r = generate(catalog, o); } catch (e) { console.error(`synthetic-sessions: ${e.message}`); process.exit(3); }
  const text = toNdjson(r.events);
  if (o.out) writeFileSync(o.out, text);
  else {
    process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; }); // | head
    process.stdout.write(text);
  }
  const s = r.summary, day = (t) => new Date(t * 1000).toISOString().slice(0, 10);
  console.error(`synthetic-sessions: SYNTHETIC data, seed ${s.seed}: ${s.sessions} sessions of ${s.shoppers} shoppers, ${s.events} events `
    + `(view ${s.view}, cart ${s.cart}, purchase ${s.purchase}); ${s.sessions_with_cart} sessions with a cart, ${s.sessions_with_purchase} with a purchase; `
    + `${s.products} products in ${s.areas} areas; ${s.events ? `${day(s.from)} .. ${day(s.to)}` : 'no events'}${o.out ? ` → ${o.out}` : ''}`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('synthetic-sessions.mjs')) main(process.argv.slice(2));
