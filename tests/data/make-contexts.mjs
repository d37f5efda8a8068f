#!/usr/bin/env node
// make-contexts.mjs — the request contexts of the parity tests
// (tests/data/parity/contexts/*.json, committed).  The shopper profile in
// profile*.json is made by the native CLI (`build/edgerec profile update`,
// one event at a time), so run ./build.sh first.
//
//   node tests/data/make-contexts.mjs          write the files
//   node tests/data/make-contexts.mjs --check  exit 1 when a committed file differs
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const outDir = ROOT + 'tests/data/parity/contexts/';

// A profile from a fixed event sequence (view, cart, purchase, view, dislike).
const T0 = 1767225600; // 2026-01-01T00:00:00Z
const events = [
  { type: 'view', item: 'ER-MJ-01', ts: T0 },
  { type: 'cart', item: 'ER-MJ-02', ts: T0 + 600, price: 96.5 },
  { type: 'purchase', item: 'ER-BAG-01', ts: T0 + 1200, price: 42, qty: 1 },
  { type: 'view', item: 'ER-FIT-01', ts: T0 + 1800, category: 'Gear/Fitness' },
  { type: 'feedback', item: 'ER-WT-02', ts: T0 + 2400, rating: 1 },
];
const tmp = mkdtempSync(tmpdir() + '/edgerec-ctx-');
let prof = null;
events.forEach((ev, i) => {
  const out = `${tmp}/p${i}.bin`;
  execFileSync(ROOT + 'build/edgerec', ['profile', 'update', '--bundle', ROOT + 'build/sample.erb',
    ...(prof ? ['--profile', prof] : []), '--out', out], { input: JSON.stringify(ev) });
  prof = out;
});
const profile = readFileSync(prof);
rmSync(tmp, { recursive: true, force: true });
const b64url = profile.toString('base64url');
const b64std = profile.toString('base64'); // standard alphabet, padded

const UNITS = ['recommended-for-you', 'most-viewed', 'most-purchased', 'most-added-to-cart', 'trending',
  'viewed-this-viewed-that', 'viewed-this-bought-that', 'bought-this-bought-that', 'more-like-this', 'recently-viewed'];
const pageItem = { 'bought-this-bought-that': 'ER-FIT-01' };

const contexts = {
  'empty': {},
  'anon-category': { page: { type: 'category', category: 'Gear/Bags' }, device: 'mobile', hour: 20, weekday: 5, country: 'US' },
  'anon-home-desktop': { page: { type: 'home' }, device: 'desktop', hour: 9, weekday: 1 },
  'anon-search-tablet': { page: { type: 'search' }, device: 'tablet', hour: 23, weekday: 0, country: 'DE' },
  'anon-cart-app': { page: { type: 'cart' }, device: 'app', hour: 0, weekday: 6 },
  'recent': { recent: ['ER-MJ-01', 'ER-BAG-03', 'ER-FIT-01'], page: { type: 'home' }, device: 'mobile', hour: 12 },
  'recent-unknown': { recent: ['ER-NOPE-1', 'ER-WCH-01'], k: 6 },
  'profile': { profile: b64url, now: T0 + 86400 * 3, page: { type: 'category', category: 'Men/Tops/Jackets' }, device: 'desktop', hour: 18 },
  'profile-std-base64': { profile: b64std, page: { type: 'home' } },
  'product-page': { page: { type: 'product', sku: 'ER-BAG-01' }, device: 'mobile' },
  'candidates': { candidates: ['ER-WT-02', 'ER-NOPE-1', 'ER-BAG-03', 'ER-FIT-07', 'ER-NOPE-2', 'ER-MJ-01-M', 'ER-BAG-05'], k: 5 },
  'candidates-unknown-only': { candidates: ['SKU-X1', 'SKU-X2', 'SKU-X3'], k: 3 },
  'exclude': { exclude: ['ER-FIT-01', 'ER-MP-06', 'ER-MP-01'], k: 8 },
  'unknown-fields-unicode': { page: { type: 'search', query: 'jäckë 🧥' }, country: 'SE', future_field: { a: [1, 2, { b: null }] }, k: 4 },
  'k-1': { k: 1 },
  'k-50': { k: 50, device: 'desktop' },
  'k-200': { k: 200, page: { type: 'category', category: 'Women' } },
};
// Adobe Commerce type ids naming the same units (docs/context.md): the same bytes as unit-<canonical>.
const ALIASES = { 'just-for-you': 'recommended-for-you', 'viewed-viewed': 'viewed-this-viewed-that',
  'viewed-bought': 'viewed-this-bought-that', 'bought-bought': 'bought-this-bought-that' };
for (const unit of [...UNITS, ...Object.keys(ALIASES)]) {
  const canonical = ALIASES[unit] ?? unit;
  const ctx = { unit, k: 6, page: { type: 'product', sku: pageItem[canonical] ?? 'ER-BAG-01' } };
  if (canonical === 'recently-viewed' || canonical === 'recommended-for-you') ctx.profile = b64url;
  contexts[`unit-${unit}`] = ctx;
}
// The unit rules of issue 12: cart, purchased, filter, backfill (every field, alone and together).
Object.assign(contexts, {
  'cart-page-bought-together': { unit: 'bought-bought', page: { type: 'cart' }, cart: ['ER-FIT-01', 'ER-WS-01', 'ER-MJ-01-M'], k: 6, backfill: 'most-purchased' },
  'cart-viewed-bought': { unit: 'viewed-bought', page: { type: 'cart' }, cart: ['ER-FIT-01', 'ER-BAG-01', 'ER-NOPE-1'], k: 8 },
  'cart-for-you': { cart: ['ER-FIT-01', 'ER-BAG-01'], recent: ['ER-MJ-01', 'ER-WT-02'], page: { type: 'cart' }, device: 'desktop', k: 8 },
  'purchased-bought-bought': { unit: 'bought-this-bought-that', purchased: ['ER-MP-01', 'ER-FIT-01'], k: 5, backfill: 'trending' },
  'purchased-profile': { profile: b64url, now: T0 + 86400, purchased: ['ER-FIT-07', 'ER-MJ-02-L'], k: 12 },
  'purchased-recently-viewed': { unit: 'recently-viewed', recent: ['ER-BAG-01', 'ER-FIT-01', 'ER-MJ-01'], purchased: ['ER-FIT-01'], cart: ['ER-MJ-01'] },
  'filter-price': { unit: 'most-viewed', filter: { price_min: 30, price_max: 49.99 }, k: 20 },
  'filter-categories': { filter: { categories: ['Men/Tops', 'Gear/Bags'], exclude_categories: ['Men/Tops/Hoodies'] }, recent: ['ER-MJ-01'], k: 20 },
  'filter-stock': { unit: 'bought-bought', page: { type: 'product', sku: 'ER-BAG-08' }, filter: { in_stock_only: false } },
  'filter-candidates': { candidates: ['ER-BAG-05', 'SKU-X1', 'ER-MJ-01', 'ER-WT-02', 'ER-FIT-07'], filter: { exclude_categories: ['Gear/Fitness'], in_stock_only: false }, k: 5 },
  'backfill-viewed-viewed': { unit: 'viewed-viewed', page: { type: 'product', sku: 'ER-BAG-01' }, k: 12, backfill: 'most-viewed' },
  'backfill-filtered': { unit: 'more-like-this', page: { type: 'product', sku: 'ER-WT-04' }, k: 10, backfill: 'most-added-to-cart', filter: { categories: ['Women'], price_max: 40 } },
  'all-fields': { profile: b64url, now: T0 + 7200, page: { type: 'cart', category: 'Gear' }, device: 'mobile', unit: 'just-for-you', k: 15,
    cart: ['ER-BAG-03', 'ER-MJ-01-S'], purchased: ['ER-WS-01'], exclude: ['ER-FIT-05'], backfill: 'most-viewed',
    filter: { categories: ['Gear', 'Women'], exclude_categories: ['Gear/Watches'], price_min: 15, price_max: 100, in_stock_only: true } },
});

mkdirSync(outDir, { recursive: true });
let bad = 0;
for (const [name, ctx] of Object.entries(contexts)) {
  const text = JSON.stringify(ctx) + '\n';
  const file = `${outDir}${name}.json`;
  if (process.argv.includes('--check')) {
    let old = '';
    try { old = readFileSync(file, 'utf8'); } catch {}
    if (old !== text) { console.error(`make-contexts: ${name}.json is stale`); bad++; }
  } else writeFileSync(file, text);
}
if (!process.argv.includes('--check')) console.error(`make-contexts: ${Object.keys(contexts).length} contexts in tests/data/parity/contexts/`);
process.exit(bad ? 1 : 0);
