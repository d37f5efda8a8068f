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
for (const unit of UNITS) {
  const ctx = { unit, k: 6, page: { type: 'product', sku: pageItem[unit] ?? 'ER-BAG-01' } };
  if (unit === 'recently-viewed' || unit === 'recommended-for-you') ctx.profile = b64url;
  contexts[`unit-${unit}`] = ctx;
}

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
