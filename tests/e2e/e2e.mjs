// e2e.mjs — edgerec end to end over real HTTP: the Magento stand-in
// (tests/standin/server.mjs --record) and the Worker under `wrangler dev --local`
// (worker-shim/dev/stack.mjs), a trained bundle seeded into local KV, every
// request a real HTTP request on 127.0.0.1.  Run by tests/suites/e2e.sh, which
// builds the bundle first:
//
//   node tests/e2e/e2e.mjs [--dir build/e2e] [--port 18787] [--origin-port 18788]
//   E2E_WORKER=http://127.0.0.1:18787 E2E_ORIGIN=http://127.0.0.1:18788 node tests/e2e/e2e.mjs
//        (development: reuse a running stack whose stand-in has --record; E2E_ONLY=1,7 runs only those
//        scenarios — a development aid, never used by the suite, which runs everything)
//
// What it checks (each `ok`/`FAIL` line is one check; ends with "e2e: N passed, N failed"):
//  1 re-ranking learns from the storefront's own traffic: product-detail GETs by url_key (as Venia
//    sends them), cookies kept in a jar from Set-Cookie, move that category up in the next listing
//    and in a search that mixes categories; no /edge/events call; same items, valid JSON
//  2 non-listing operations are byte-identical to the origin's: storeConfig, navigation, a product
//    page, and createEmptyCart → addProductsToCart → placeOrder against a fresh in-process copy of
//    the stand-in receiving the same sequence (its ids come from counters: same bytes)
//  3 an explicit sort is the origin's order and bytes (`bypass; reason=explicit-sort`)
//  4 cache safety: shoppers with other Store / Content-Currency / x-magento-cache-id / a customer
//    token never see each other's prices (shared cache warm); personalized bytes are private
//  5 faults: origin 500 → the client gets 500 and the origin's body; garbage → the exact bytes;
//    huge → the exact bytes; timeout → no 5xx of the Worker's own before the client gives up
//  6 privacy: Sec-GPC → origin order and bytes, no cookie set (or only expiries); DELETE /edge/profile
//  7 load: 20 s × 32 connections of listings, product views and POST /edge/events (unique ids) → no
//    non-2xx; after the queue consumer flushes, R2 holds every posted id and every event the Worker
//    derived for these shoppers, each once
//  8 the demo page in headless Chromium: clicks re-order the listing; screenshot build/e2e/demo.png
//  9 edgerec cookies and headers never reached the origin (every request the stand-in recorded)
//
// R2 is read while `wrangler dev` runs through wrangler's local explorer API (miniflare's, on by
// default in wrangler 4.156.2, X_LOCAL_EXPLORER=false turns it off):
//   GET /cdn-cgi/local/explorer/api/r2/buckets/<bucket>/objects?prefix=&cursor=&per_page=  (list)
//   GET /cdn-cgi/local/explorer/api/r2/buckets/<bucket>/objects/<url-encoded key>            (body)
// `wrangler r2 object get <bucket>/<key> --local --persist-to <state>` reads one object too, but
// wrangler has no `r2 object list`; nothing is added to the Worker for this.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMagento } from '../standin/magento.mjs';
import { startStack } from '../../worker-shim/dev/stack.mjs';
import { findChromium, launchChromium } from './cdp.mjs';
import { ADD_TO_CART, CREATE_CART, GET_CATEGORIES, GET_PRODUCT, PLACE_ORDER, PRODUCT_SEARCH } from '../lib/venia-queries.mjs';
import { BOILERPLATE } from '../lib/adobe-queries.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : d; };
const DIR = opt('--dir', `${ROOT}build/e2e`);
const PORT = Number(opt('--port', 18787)), ORIGIN_PORT = Number(opt('--origin-port', 18788));
const LOAD_SECONDS = Number(process.env.E2E_LOAD_SECONDS || 20), LOAD_CONNECTIONS = Number(process.env.E2E_LOAD_CONNECTIONS || 32);
const DEADLINE_MS = Number(process.env.E2E_DEADLINE_MS || 170_000);
const CLIENT_TIMEOUT_MS = 3000; // the shopper's own patience in the timeout scenario
const STANDIN_TIMEOUT_MS = 10_000; // the stand-in's `timeout` fault answers after this (bounded)
const BUCKET = 'edgerec-events';
const RUN = `e2e-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

let pass = 0, fail = 0;
const ok = (name) => { pass++; console.log(`ok - ${name}`); };
const no = (name, detail) => { fail++; console.log(`FAIL - ${name}${detail ? `: ${detail}` : ''}`); };
const check = (name, cond, detail) => (cond ? ok(name) : no(name, typeof detail === 'function' ? detail() : detail));
const info = (s) => console.log(`  # ${s}`);

// ---- HTTP, cookies, GraphQL -------------------------------------------------------------------

class Jar {
  constructor() { this.c = new Map(); }
  /** Keep the Set-Cookie values of a response (Max-Age=0 or an empty value deletes). */
  update(res) {
    for (const sc of res.headers.getSetCookie()) {
      const [pair, ...attrs] = sc.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => /^\s*max-age\s*=\s*(-?\d+)/i.exec(a)).find(Boolean);
      if (value === '' || (maxAge && Number(maxAge[1]) <= 0)) this.c.delete(name); else this.c.set(name, value);
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
  has(n) { return this.c.has(n); }
}

/** One request: {status, headers, bytes (Buffer), text}; the jar (if any) sends and keeps cookies. */
async function http(url, { method = 'GET', headers = {}, body, jar, timeoutMs = 20_000 } = {}) {
  const h = new Headers(headers);
  if (jar && jar.c.size) h.set('cookie', [h.get('cookie'), jar.header()].filter(Boolean).join('; '));
  const res = await fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  const bytes = Buffer.from(await res.arrayBuffer());
  jar?.update(res);
  return { status: res.status, headers: res.headers, bytes, text: bytes.toString('utf8') };
}
const parse = (text) => { try { return JSON.parse(text); } catch { return undefined; } };
const gqlUrl = (base, query, operationName, variables) => // operationName only when there is one (not "null")
  `${base}/graphql?${new URLSearchParams({ query, ...(operationName ? { operationName } : {}), variables: JSON.stringify(variables ?? {}) })}`;
const gqlGet = (base, query, op, variables, o = {}) => http(gqlUrl(base, query, op, variables), o);
const gqlPost = (base, query, operationName, variables, o = {}) => http(`${base}/graphql`, {
  ...o, method: 'POST', headers: { 'content-type': 'application/json', ...(o.headers ?? {}) },
  body: JSON.stringify({ query, operationName, variables }),
});
const skus = (r) => parse(r.text)?.data?.products?.items?.map((i) => i.sku) ?? [];
const sameSet = (a, b) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
const edge = (r) => r.headers.get('x-edgerec') ?? '';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Venia's queries (magento/pwa-studio, as tests/standin/demo.html sends them)
const GET_NAVIGATION = `query GetNavigationCategories {
  categoryList { uid name url_path children { uid name url_path product_count children { uid name url_path product_count } } }
}`;
const STORE_CONFIG = `query GetStoreConfigData { storeConfig { store_code store_name locale base_currency_code default_display_currency_code catalog_default_sort_by category_url_suffix product_url_suffix } }`;
const listingVars = (uid, pageSize = 48, sort = { position: 'ASC' }, extra = {}) =>
  ({ currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize, sort, ...extra });

// ---- the run ------------------------------------------------------------------------------------

const catalog = JSON.parse(readFileSync(`${DIR}/catalog.json`, 'utf8'));
const bySku = new Map(catalog.items.map((i) => [i.sku, i]));
const listable = catalog.items.filter((i) => i.visible !== false && !i.parent && i.url_key);
const inCat = (path) => (sku) => (bySku.get(sku)?.categories ?? []).includes(path);
const meanRank = (order, pred) => {
  const r = order.flatMap((s, i) => (pred(s) ? [i] : []));
  return r.length ? r.reduce((a, b) => a + b, 0) / r.length : NaN;
};

let W, O, stack = null, chromium = null;
const watchdog = setTimeout(async () => {
  no(`the whole suite finishes within ${DEADLINE_MS / 1000} s`, 'deadline reached; stopping what was started');
  await chromium?.close().catch(() => {});
  await stack?.stop().catch(() => {});
  console.log(`e2e: ${pass} passed, ${fail} failed`);
  process.exit(1);
}, DEADLINE_MS);

const ONLY = process.env.E2E_ONLY ? new Set(process.env.E2E_ONLY.split(',')) : null; // development: E2E_ONLY=1,7
async function scenario(name, fn) {
  if (ONLY && !ONLY.has(name.split(' ')[0])) return;
  const t0 = Date.now();
  console.log(`# ${name}`);
  try { await fn(); } catch (e) { no(`${name}: no exception`, e.stack || e.message); }
  info(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function portFree(port) {
  try { await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) }); return false; } catch (e) {
    return /ECONNREFUSED/.test(String(e.cause?.code ?? e.cause?.message ?? e.message));
  }
}

async function main() {
  const t0 = Date.now();
  if (process.env.E2E_WORKER && process.env.E2E_ORIGIN) {
    W = process.env.E2E_WORKER; O = process.env.E2E_ORIGIN;
    info(`reusing the stack at ${W} (origin ${O})`);
  } else {
    for (const p of [PORT, ORIGIN_PORT]) if (!(await portFree(p))) { no(`port ${p} on 127.0.0.1 is free`, 'something answers there'); return; }
    rmSync(`${DIR}/state`, { recursive: true, force: true });
    try {
      stack = await startStack({ bundle: `${DIR}/e2e.erb`, catalog: `${DIR}/catalog.json`, port: PORT, originPort: ORIGIN_PORT,
        stateDir: `${DIR}/state`, quiet: true, standinArgs: ['--record', '--timeout-ms', String(STANDIN_TIMEOUT_MS)] });
    } catch (e) { no('the stack starts (stand-in + wrangler dev --local)', e.message); return; }
    ok(`the stack starts (stand-in + wrangler dev --local) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    W = stack.worker; O = stack.origin;
  }
  const health = await http(`${W}/edge/health`);
  check('/edge/health: 200, the e2e bundle active, every binding present', health.status === 200 && parse(health.text)?.bundle_version === 'e2e-1',
    () => health.text.slice(0, 300));
  await http(`${O}/__standin/requests`, { method: 'DELETE' });

  const nav = parse((await gqlGet(O, GET_NAVIGATION, 'GetNavigationCategories', {})).text);
  const uidOf = {}; // "Men/Tops" → uid
  const walk = (c, prefix) => { for (const ch of c.children ?? []) { const p = prefix ? `${prefix}/${ch.name}` : ch.name; uidOf[p] = ch.uid; walk(ch, p); } };
  for (const root of nav?.data?.categoryList ?? []) walk(root, '');
  if (!uidOf['Men/Tops'] || !uidOf.Gear) { no('the stand-in lists the Luma categories (Men/Tops, Gear)', JSON.stringify(Object.keys(uidOf))); return; }

  await scenario('2 non-listing operations are the origin\'s bytes', () => nonListing(uidOf));
  await scenario('1 product views re-rank the next listing', () => learnsFromViews(uidOf));
  await scenario('3 explicit sort', () => explicitSort(uidOf));
  await scenario('4 cache safety', () => cacheSafety(uidOf));
  await scenario('5 fault injection', () => faults(uidOf));
  await scenario('6 privacy', () => privacy(uidOf));
  await scenario('7 load and the event log', () => load(uidOf));
  await scenario('8 the demo page in headless Chromium', () => browser(uidOf));
  await scenario('9 nothing of edgerec reached the origin', () => originSawNoEdgerec());
  await scenario('10 recommendation units in Adobe\'s wire format, with no origin call', () => units());
}

// ---- 1 --------------------------------------------------------------------------------------------

const shown = new Map(); // jar → skus of the last listing, for reports
async function learnsFromViews(uidOf) {
  for (const [cat, leaf] of [['Men/Tops', 'Men/Tops/Jackets'], ['Gear', 'Gear/Watches']]) {
    const jar = new Jar();
    const vars = listingVars(uidOf[cat]);
    const origin = await gqlGet(O, GET_CATEGORIES, 'GetCategories', vars);
    const before = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { jar });
    const o0 = skus(before);
    check(`${cat}: a first-time shopper's listing is re-ranked (x-edgerec: ${edge(before)})`, before.status === 200 && edge(before).startsWith('reranked; model=e2e-1'));
    check(`${cat}: the first listing sets er_uid / er_sid`, jar.has('er_uid') && jar.has('er_sid'), () => jar.header());
    check(`${cat}: same items as the origin's listing (${o0.length})`, o0.length > 8 && sameSet(o0, skus(origin)));
    // open three products of the leaf category: those the listing shows last
    const viewed = o0.filter(inCat(leaf)).slice(-3);
    let views = 0, allObserved = true, bytesSame = true;
    for (const sku of viewed) {
      const vars1 = { urlKey: bySku.get(sku).url_key };
      const r = await gqlGet(W, GET_PRODUCT, 'getProductDetailForProductPage', vars1, { jar });
      const d = await gqlGet(O, GET_PRODUCT, 'getProductDetailForProductPage', vars1);
      views++;
      if (!(r.status === 200 && edge(r) === 'observed; events=view')) allObserved = false;
      if (!r.bytes.equals(d.bytes)) bytesSame = false;
    }
    check(`${cat}: ${views} product views (GET by url_key) each answered 'observed; events=view'`, views === 3 && allObserved);
    check(`${cat}: product pages are the origin's bytes`, bytesSame);
    check(`${cat}: the profile is in the er_p cookie after the views`, jar.has('er_p'));
    const after = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { jar });
    const o1 = skus(after);
    const json = parse(after.text);
    check(`${cat}: the next listing is valid JSON, re-ranked, 200`, json !== undefined && after.status === 200 && edge(after).startsWith('reranked'));
    check(`${cat}: the next listing has exactly the origin's items`, sameSet(o1, o0));
    // every item's bytes are the origin's (only the order moves): compare items by sku
    const oItems = new Map(parse(origin.text).data.products.items.map((i) => [i.sku, JSON.stringify(i)]));
    check(`${cat}: every item's content is unchanged`, json?.data?.products?.items?.every((i) => oItems.get(i.sku) === JSON.stringify(i)));
    const { items: _a, ...restW } = json?.data?.products ?? {}, { items: _b, ...restO } = parse(origin.text).data.products;
    check(`${cat}: everything outside the items (categories, page_info, total_count) is unchanged`,
      JSON.stringify(restW) === JSON.stringify(restO) && JSON.stringify(json?.data?.categories) === JSON.stringify(parse(origin.text).data.categories));
    const m0 = meanRank(o0, inCat(leaf)), m1 = meanRank(o1, inCat(leaf));
    const others = (s) => inCat(leaf)(s) && !viewed.includes(s);
    const n0 = meanRank(o0, others), n1 = meanRank(o1, others);
    check(`${cat}: ${leaf} moves up after 3 views of it (mean rank ${m0.toFixed(1)} → ${m1.toFixed(1)})`, m1 < m0 - 2);
    // re-visits are signal (docs/training.md, *Re-visits*): the products just opened come back near the top of
    // the next listing; the leaf's other items are left to the model (it weighs their affinity against the
    // re-visits and popularity: their mean rank is printed, not asserted)
    const v0 = meanRank(o0, (s) => viewed.includes(s)), v1 = meanRank(o1, (s) => viewed.includes(s));
    check(`${cat}: the 3 products the shopper opened come back near the top (mean rank ${v0.toFixed(1)} → ${v1.toFixed(1)}; the leaf's other items ${n0.toFixed(1)} → ${n1.toFixed(1)})`,
      v1 < v0 && v1 <= 10);
    info(`${cat} before: ${o0.map((s) => (inCat(leaf)(s) ? 'X' : '.')).join('')}`);
    info(`${cat} after:  ${o1.map((s) => (viewed.includes(s) ? 'V' : inCat(leaf)(s) ? 'X' : '.')).join('')}`);
    shown.set(cat, jar);
  }
  // a search that mixes categories, for the Gear/Watches shopper
  const jar = shown.get('Gear');
  const sv = { inputText: 'watch bag', pageSize: 24, currentPage: 1, filters: {} };
  const fresh = await gqlGet(W, PRODUCT_SEARCH, 'ProductSearch', sv, { jar: new Jar() });
  const mine = await gqlGet(W, PRODUCT_SEARCH, 'ProductSearch', sv, { jar });
  const s0 = skus(fresh), s1 = skus(mine);
  const watches = inCat('Gear/Watches');
  check(`search 'watch bag': re-ranked for both shoppers, same items`, edge(fresh).startsWith('reranked') && edge(mine).startsWith('reranked') && s0.length > 4 && sameSet(s0, s1));
  check(`search 'watch bag': watches rank higher for the shopper who opened watches (${meanRank(s0, watches).toFixed(1)} → ${meanRank(s1, watches).toFixed(1)})`,
    s0.some(watches) && s0.some((s) => !watches(s)) && meanRank(s1, watches) < meanRank(s0, watches));
}

// ---- 2 --------------------------------------------------------------------------------------------

// Adobe's recommendations query (the commerce boilerplate block's shape) over real HTTP: the cron ran
// once at start (stack.mjs), so the catalog view is synced from the stand-in; the answer comes from
// the Worker alone.
async function units() {
  let h = null;
  for (let i = 0; i < 60 && !parse(h?.text)?.catalog?.stores?.[0]?.version; i++) {
    if (i) await sleep(500);
    h = await http(`${W}/edge/health`);
  }
  const cat = parse(h.text)?.catalog;
  check('the cron synced the catalog view from the origin (/edge/health: catalog)', !!cat?.stores?.[0]?.version && cat.stores[0].records > 100, () => JSON.stringify(cat).slice(0, 300));
  const list = parse((await gqlGet(O, '{ products(search: "bag", pageSize: 5) { items { sku } } }', null, {})).text)?.data?.products?.items ?? [];
  const sku = list[0]?.sku;
  await http(`${O}/__standin/requests`, { method: 'DELETE' });
  const jar = new Jar();
  const r = await gqlGet(W, BOILERPLATE, 'GetRecommendations', { pageType: 'Product', currentSku: sku }, { jar });
  const body = parse(r.text);
  const results = body?.data?.recommendations?.results ?? [];
  check('Adobe\'s recommendations document: 200, units with products (names, URLs), the page\'s product never recommended',
    r.status === 200 && !body.errors && results.length > 0 && results.every((u) => u.productsView.length > 0 && u.productsView.every((p) => p.name && p.url && p.sku !== sku)),
    () => r.text.slice(0, 400));
  check('x-edgerec says recommended; the answer is private (it used the shopper)', /^recommended; model=e2e-1/.test(edge(r)) && /private/.test(r.headers.get('cache-control') ?? ''), () => `${edge(r)} ${r.headers.get('cache-control')}`);
  const log = parse((await http(`${O}/__standin/requests`)).text) ?? [];
  check('no origin request for a units-only document', log.length === 0, () => JSON.stringify(log.map((q) => q.url)).slice(0, 300));
  const rest = await http(`${W}/edge/recommend?pageType=CMS`, { jar });
  check('GET /edge/recommend: the same units as JSON', rest.status === 200 && (parse(rest.text)?.totalResults ?? 0) > 0, () => rest.text.slice(0, 300));
  const mixed = await gqlGet(W, '{ storeConfig { store_code } recommendations(pageType: CMS) { totalResults } }', null, {});
  check('a document mixing recommendations with Magento fields: a GraphQL error saying why', /cannot be mixed with Magento fields/.test(mixed.text), () => mixed.text.slice(0, 300));
}

async function nonListing() {
  for (const [label, query, op] of [['storeConfig', STORE_CONFIG, 'GetStoreConfigData'], ['navigation (categoryList)', GET_NAVIGATION, 'GetNavigationCategories']]) {
    for (const headers of [{}, { store: 'de' }]) {
      const w = await gqlGet(W, query, op, {}, { headers, jar: new Jar() });
      const o = await gqlGet(O, query, op, {}, { headers });
      check(`${label}${headers.store ? ' (Store: de)' : ''}: the origin's bytes and status (x-edgerec: ${edge(w)})`,
        w.status === o.status && w.bytes.equals(o.bytes) && edge(w).startsWith('bypass'));
    }
  }
  // the cart sequence: the Worker's origin and a fresh copy of the stand-in get the same requests
  const ref = createMagento(catalog);
  const refPost = async (query, operationName, variables) => {
    const res = await ref.handle(new Request('http://127.0.0.1/graphql', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, operationName, variables }),
    }));
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const jar = new Jar();
  const same = (w, r) => w.status === r.status && w.bytes.equals(r.bytes) && w.headers.get('content-type') === r.headers.get('content-type')
    && w.headers.get('cache-control') === r.headers.get('cache-control');
  const c1 = await gqlPost(W, CREATE_CART, 'createCart', {}, { jar });
  const c2 = await refPost(CREATE_CART, 'createCart', {});
  const cartId = parse(c1.text)?.data?.cartId;
  check(`createEmptyCart: the origin's bytes (cart id ${cartId})`, typeof cartId === 'string' && same(c1, c2), () => `${c1.text} vs ${c2.bytes}`);
  const sku = listable.find((i) => (i.categories ?? []).includes('Gear/Watches'))?.sku ?? '24-MG04';
  const a1 = await gqlPost(W, ADD_TO_CART, 'AddProductToCart', { cartId, product: { sku, quantity: 1 } }, { jar });
  const a2 = await refPost(ADD_TO_CART, 'AddProductToCart', { cartId, product: { sku, quantity: 1 } });
  check(`addProductsToCart: the origin's bytes, x-edgerec 'observed; events=cart'`, same(a1, a2) && edge(a1) === 'observed; events=cart' && parse(a1.text)?.data?.addProductsToCart?.cart?.total_quantity === 1,
    () => `${edge(a1)} ${a1.text.slice(0, 200)}`);
  const p1 = await gqlPost(W, PLACE_ORDER, 'placeOrder', { cartId }, { jar });
  const p2 = await refPost(PLACE_ORDER, 'placeOrder', { cartId });
  check(`placeOrder: the origin's bytes (order ${parse(p1.text)?.data?.placeOrder?.order?.order_number}), x-edgerec 'observed; events=purchase'`,
    same(p1, p2) && edge(p1) === 'observed; events=purchase', () => `${edge(p1)} ${p1.text.slice(0, 200)}`);
  const prof = parse((await http(`${W}/edge/profile`, { jar })).text);
  check('the cart bought is out of the stored cart after placeOrder', Array.isArray(prof?.cart) && prof.cart.length === 0 && prof.stored === true, () => JSON.stringify(prof).slice(0, 200));
}

// ---- 3 --------------------------------------------------------------------------------------------

async function explicitSort(uidOf) {
  const jar = shown.get('Men/Tops') ?? new Jar();
  for (const sort of [{ price: 'ASC' }, { name: 'DESC' }]) {
    const vars = listingVars(uidOf['Men/Tops'], 48, sort);
    const w = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { jar });
    const o = await gqlGet(O, GET_CATEGORIES, 'GetCategories', vars);
    check(`sort ${JSON.stringify(sort)}: 'bypass; reason=explicit-sort' and the origin's bytes (its order)`,
      edge(w) === 'bypass; reason=explicit-sort' && w.bytes.equals(o.bytes) && w.status === 200, () => edge(w));
  }
  const inline = `query { products(search: "jacket", pageSize: 12, sort: {price: DESC}) { items { sku name } total_count } }`;
  const w = await gqlGet(W, inline, null, {}, { jar });
  const o = await gqlGet(O, inline, null, {});
  check(`an inline sort argument (sort: {price: DESC}) is respected too`, edge(w) === 'bypass; reason=explicit-sort' && w.bytes.equals(o.bytes), () => edge(w));
}

// ---- 4 --------------------------------------------------------------------------------------------

async function cacheSafety(uidOf) {
  const shoppers = [
    { name: 'default store, USD', headers: {} },
    { name: 'Store: de (EUR)', headers: { store: 'de' } },
    { name: 'Content-Currency: GBP', headers: { 'content-currency': 'GBP' } },
    { name: 'x-magento-cache-id: group-a', headers: { 'x-magento-cache-id': 'e2e-group-a' } },
    { name: 'customer token (10 % off), cache id group-b', headers: { authorization: 'Bearer e2ecustomertoken0001', 'x-magento-cache-id': 'e2e-group-b' } },
  ].map((s) => ({ ...s, jar: new Jar() }));
  const vars = listingVars(uidOf.Gear, 24, { position: 'ASC' });
  const priceMap = (text) => new Map((parse(text)?.data?.products?.items ?? []).map((i) => [i.sku, JSON.stringify(i.price_range)]));
  const expect = [];
  for (const s of shoppers) expect.push(priceMap((await gqlGet(O, GET_CATEGORIES, 'GetCategories', vars, { headers: s.headers })).text));
  const distinct = new Set(expect.map((m) => [...m.values()].join('|')));
  check('the five shoppers get different prices from the origin (the test means something)', distinct.size >= 4, `${distinct.size} distinct`);
  const bad = [];
  let privateOk = true, rounds = 0;
  for (let round = 0; round < 4; round++) {
    rounds++;
    for (const [i, s] of shoppers.entries()) {
      const r = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { headers: s.headers, jar: s.jar });
      const got = priceMap(r.text);
      const wrong = [...expect[i]].filter(([sku, p]) => got.get(sku) !== p).length;
      if (r.status !== 200 || got.size !== expect[i].size || wrong) bad.push(`${s.name} round ${round}: ${wrong} wrong prices`);
      const cc = r.headers.get('cache-control') ?? '';
      if (edge(r).startsWith('reranked') && (!/\b(private|no-store)\b/.test(cc) || /\bpublic\b|s-maxage/.test(cc))) privateOk = false;
    }
  }
  check(`${shoppers.length} shoppers × ${rounds} rounds of the same listing URL: each sees exactly its own prices`, bad.length === 0, bad.join('; '));
  check('re-ranked (personal) responses are Cache-Control: private (or the origin\'s no-store), never public', privateOk);
  // the shared cache did serve some of them (the origin saw the URL fewer times than we asked)
  const log = parse((await http(`${O}/__standin/requests`)).text) ?? [];
  const key = JSON.stringify(vars);
  const seen = log.filter((q) => q.method === 'GET' && new URL(q.url).searchParams.get('variables') === key).length;
  info(`the origin saw this listing ${seen} times for ${shoppers.length * (rounds + 1)} asks (the rest from the shared cache)`);
  check('the shared cache is in use (the origin saw the listing less often than it was asked for through the Worker)', seen < shoppers.length * (rounds + 1) && seen >= shoppers.length);
}

// ---- 5 --------------------------------------------------------------------------------------------

async function faults(uidOf) {
  const uniq = (tag) => listingVars(uidOf['Men/Tops'], 24, { position: 'ASC' }, { e2eNonce: `${RUN}-${tag}` }); // a URL no cache holds
  for (const [fault, status] of [['500', 500], ['garbage', 200], ['huge', 200]]) {
    const headers = { 'x-standin-fault': fault };
    const w = await gqlGet(W, GET_CATEGORIES, 'GetCategories', uniq(fault), { headers, jar: new Jar() });
    const o = await gqlGet(O, GET_CATEGORIES, 'GetCategories', uniq(`${fault}-direct`), { headers });
    check(`fault ${fault} (GET): the client gets ${status} and the origin's exact bytes (${o.bytes.length} B; x-edgerec: ${edge(w)})`,
      w.status === status && o.status === status && w.bytes.equals(o.bytes) && edge(w).startsWith('bypass'), () => `${w.status} ${w.bytes.length} B`);
  }
  {
    const headers = { 'x-standin-fault': '500' };
    const w = await gqlPost(W, PRODUCT_SEARCH, 'ProductSearch', { inputText: 'bag', filters: {} }, { headers, jar: new Jar() });
    const o = await gqlPost(O, PRODUCT_SEARCH, 'ProductSearch', { inputText: 'bag', filters: {} }, { headers });
    check('fault 500 (POST): 500 and the origin\'s body', w.status === 500 && w.bytes.equals(o.bytes) && /<html>/.test(w.text));
  }
  // timeout: the stand-in holds the answer for STANDIN_TIMEOUT_MS; the shopper gives up first
  const t0 = Date.now();
  let outcome;
  try {
    const r = await gqlGet(W, GET_CATEGORIES, 'GetCategories', uniq('timeout'), { headers: { 'x-standin-fault': 'timeout' }, timeoutMs: CLIENT_TIMEOUT_MS, jar: new Jar() });
    outcome = `HTTP ${r.status} (${edge(r)})`;
  } catch (e) { outcome = e.name; }
  const dt = Date.now() - t0;
  check(`fault timeout: no 5xx from the Worker before the client's ${CLIENT_TIMEOUT_MS / 1000} s timeout (the client aborted: ${outcome} after ${dt} ms)`,
    (outcome === 'TimeoutError' || outcome === 'AbortError') && dt >= CLIENT_TIMEOUT_MS - 50);
  const h = await http(`${W}/edge/health`);
  check('the stack still answers after the abandoned request', h.status === 200);
}

// ---- 6 --------------------------------------------------------------------------------------------

async function privacy(uidOf) {
  const vars = listingVars(uidOf['Men/Tops']);
  const o = await gqlGet(O, GET_CATEGORIES, 'GetCategories', vars);
  const fresh = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { headers: { 'sec-gpc': '1' } });
  check(`Sec-GPC: 1, a fresh browser: the origin's bytes and order, '${edge(fresh)}'`, fresh.bytes.equals(o.bytes) && edge(fresh) === 'bypass; reason=opt-out');
  check('Sec-GPC: 1, a fresh browser: no Set-Cookie at all', fresh.headers.getSetCookie().length === 0);
  const jar = shown.get('Men/Tops') ?? new Jar();
  const known = await http(gqlUrl(W, GET_CATEGORIES, 'GetCategories', vars), { headers: { 'sec-gpc': '1', cookie: jar.header() } }); // the jar is kept
  const sc = known.headers.getSetCookie();
  check(`Sec-GPC: 1, a browser with edgerec cookies: the origin's bytes; only expiries (${sc.length}) are set`,
    known.bytes.equals(o.bytes) && sc.length >= 3 && sc.every((c) => /Max-Age=0/.test(c) && /^er_(uid|sid|p)=;/.test(c)), () => sc.join(' | '));
  const pv = await gqlGet(W, GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: listable[0].url_key }, { headers: { 'sec-gpc': '1' } });
  check('Sec-GPC: 1 on a product view: nothing observed, no cookie', edge(pv).startsWith('bypass') && pv.headers.getSetCookie().length === 0, () => edge(pv));
  const ev = await http(`${W}/edge/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'sec-gpc': '1' }, body: JSON.stringify({ type: 'view', item: listable[0].sku, id: `${RUN}-gpc` }) });
  check('Sec-GPC: 1 on POST /edge/events: 202 with nothing stored', ev.status === 202 && parse(ev.text)?.stored === false, () => ev.text);

  // erasure
  const p0 = parse((await http(`${W}/edge/profile`, { jar })).text);
  check('GET /edge/profile: the shopper of scenario 1 has a stored profile', p0?.stored === true && typeof p0.id === 'string', () => JSON.stringify(p0)?.slice(0, 200));
  const del = await http(`${W}/edge/profile`, { method: 'DELETE', jar });
  const d = parse(del.text);
  const cleared = del.headers.getSetCookie();
  check(`DELETE /edge/profile: 200, erased, one tombstone, three cookies expired`, del.status === 200 && d?.erased === true && d.tombstones === 1
    && cleared.filter((c) => /Max-Age=0/.test(c)).length === 3, () => `${del.status} ${del.text}`);
  check('after the erasure the jar holds no edgerec cookie', !jar.has('er_uid') && !jar.has('er_sid') && !jar.has('er_p'), () => jar.header());
  const p1 = parse((await http(`${W}/edge/profile`, { jar: new Jar() })).text);
  const again = parse((await http(`${W}/edge/profile`, { jar })).text);
  check('GET /edge/profile after the erasure: nothing stored, a new id', again?.stored === false && again.id !== p0?.id, () => JSON.stringify(again).slice(0, 200));
  const after = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { jar });
  const anon = await gqlGet(W, GET_CATEGORIES, 'GetCategories', vars, { jar: new Jar() });
  check('the erased shopper\'s next listing is a first-time shopper\'s order', skus(after).join() === skus(anon).join() && p1?.stored === false);
  const tomb = await http(`${W}/edge/profile`, { method: 'DELETE', headers: { 'sec-gpc': '1', cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA' } });
  check('DELETE /edge/profile also works for an opted-out browser (Sec-GPC: 1)', tomb.status === 200 && parse(tomb.text)?.tombstones === 1, () => tomb.text);
}

// ---- 7 --------------------------------------------------------------------------------------------

async function listR2(prefix = 'events/') {
  const out = [];
  let cursor;
  for (let page = 0; page < 200; page++) {
    const qs = new URLSearchParams({ prefix, per_page: '1000', ...(cursor ? { cursor } : {}) });
    const r = await http(`${W}/cdn-cgi/local/explorer/api/r2/buckets/${BUCKET}/objects?${qs}`);
    const j = parse(r.text);
    if (r.status !== 200 || !j?.success) throw new Error(`R2 list via the local explorer: ${r.status} ${r.text.slice(0, 200)}`);
    out.push(...j.result);
    cursor = j.result_info?.cursor;
    if (j.result_info?.is_truncated !== 'true' || !cursor) break;
  }
  return out;
}
const r2Cache = new Map(); // key|etag → events
async function readR2Events() {
  const events = [];
  for (const o of await listR2()) {
    const k = `${o.key}|${o.etag}`;
    if (!r2Cache.has(k)) {
      const r = await http(`${W}/cdn-cgi/local/explorer/api/r2/buckets/${BUCKET}/objects/${encodeURIComponent(o.key)}`);
      if (r.status !== 200) throw new Error(`R2 get ${o.key}: ${r.status}`);
      r2Cache.set(k, r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    }
    events.push(...r2Cache.get(k));
  }
  return events;
}

async function load(uidOf) {
  const cats = ['Men/Tops', 'Men/Bottoms', 'Women/Tops', 'Women/Bottoms', 'Gear', 'Gear/Bags', 'Collections/Erin Recommends'].filter((c) => uidOf[c]);
  const searches = ['jacket', 'bag', 'watch', 'yoga', 'shorts', 'tee'];
  const eventTypes = ['view', 'click', 'cart'];
  const statuses = new Map(), bad = [];
  const posted = new Set();
  let requests = 0, n = 0;
  const until = Date.now() + LOAD_SECONDS * 1000;
  const vus = Array.from({ length: LOAD_CONNECTIONS }, (_, i) => ({ i, jar: new Jar(), derived: 0, posted: 0, rnd: seeded(i + 1) }));
  const lat = [];
  async function vu(u) {
    while (Date.now() < until) {
      const x = u.rnd();
      let r, kind;
      const t = performance.now();
      try {
        if (x < 0.45) {
          kind = 'listing';
          if (u.rnd() < 0.7) r = await gqlGet(W, GET_CATEGORIES, 'GetCategories', listingVars(uidOf[cats[Math.floor(u.rnd() * cats.length)]], u.rnd() < 0.5 ? 24 : 48), { jar: u.jar });
          else r = await gqlGet(W, PRODUCT_SEARCH, 'ProductSearch', { inputText: searches[Math.floor(u.rnd() * searches.length)], pageSize: 12, filters: {} }, { jar: u.jar });
          if (edge(r).startsWith('reranked') && skus(r).length) u.derived++; // one impression event
        } else if (x < 0.8) {
          kind = 'view';
          r = await gqlGet(W, GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: listable[Math.floor(u.rnd() * listable.length)].url_key }, { jar: u.jar });
          if (edge(r) === 'observed; events=view') u.derived++;
        } else {
          kind = 'events';
          const k = 1 + Math.floor(u.rnd() * 3);
          const evs = Array.from({ length: k }, () => ({
            type: eventTypes[Math.floor(u.rnd() * eventTypes.length)], item: listable[Math.floor(u.rnd() * listable.length)].sku, id: `${RUN}-ev-${n++}`,
          }));
          r = await http(`${W}/edge/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(evs.length === 1 ? evs[0] : evs), jar: u.jar });
          if (r.status === 202) { for (const e of evs) posted.add(e.id); u.posted += k; }
        }
        lat.push(performance.now() - t);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status < 200 || r.status > 299) bad.push(`${kind} → ${r.status} ${r.text.slice(0, 120)}`);
      } catch (e) {
        bad.push(`${kind}: ${e.name} ${e.message}`);
      }
      requests++;
    }
  }
  const t0 = Date.now();
  await Promise.all(vus.map(vu));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]?.toFixed(1);
  info(`load: ${requests} requests in ${secs.toFixed(1)} s at ${LOAD_CONNECTIONS} connections (${Math.round(requests / secs)} req/s; latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms); statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  check(`load: ${requests} requests, ${LOAD_SECONDS} s × ${LOAD_CONNECTIONS} connections, every answer 2xx`, bad.length === 0 && requests > LOAD_CONNECTIONS * 10,
    () => `${bad.length} bad: ${bad.slice(0, 5).join(' | ')}`);
  // who each virtual shopper is (the pseudonymous id events carry)
  for (const u of vus) u.user = parse((await http(`${W}/edge/profile`, { jar: u.jar })).text)?.id;
  check('every virtual shopper kept one identity (GET /edge/profile gives its id)', vus.every((u) => typeof u.user === 'string' && u.user.length === 64));
  const expected = vus.reduce((a, u) => a + u.posted + u.derived, 0);
  // wait for the queue consumer (max_batch_timeout 5 s) to write everything to R2
  const waitUntil = Date.now() + 45_000;
  let events = [], ids = new Set(), mine = [];
  const users = new Set(vus.map((u) => u.user));
  do {
    await sleep(2000);
    events = await readR2Events();
    ids = new Set(events.map((e) => e.id));
    mine = events.filter((e) => users.has(e.user));
  } while (Date.now() < waitUntil && (![...posted].every((id) => ids.has(id)) || new Set(mine.map((e) => e.id)).size < expected));
  const missing = [...posted].filter((id) => !ids.has(id));
  info(`R2: ${events.length} events in ${r2Cache.size} object versions; the load's shoppers: ${mine.length} events (${posted.size} posted + ${expected - posted.size} derived expected)`);
  check(`R2 holds every one of the ${posted.size} events posted to /edge/events (by id)`, posted.size > 0 && missing.length === 0, () => `${missing.length} missing, e.g. ${missing.slice(0, 3)}`);
  const mineIds = mine.map((e) => e.id);
  check('no event id is in R2 twice', new Set(events.map((e) => e.id)).size === events.length, () => `${events.length - new Set(events.map((e) => e.id)).size} repeats`);
  check(`the load's shoppers have exactly the events sent plus those the Worker derived (${expected})`, new Set(mineIds).size === expected,
    () => `${new Set(mineIds).size} in R2`);
  const perUser = vus.every((u) => mine.filter((e) => e.user === u.user).length === u.posted + u.derived);
  check('… per shopper, too', perUser);
  const derivedIds = mine.filter((e) => !posted.has(e.id));
  check('derived events carry Worker-made ids (UUIDs), a session and the model', derivedIds.length > 0 && derivedIds.every((e) => /^[0-9a-f-]{36}$/.test(e.id) && e.session && (e.type === 'impression' ? e.model === 'e2e-1' : true)));
  check('posted events keep their own id and get the user, session and ts of the edge', mine.filter((e) => posted.has(e.id)).every((e) => e.session && typeof e.ts === 'number'));
}

function seeded(seed) { // mulberry32
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

// ---- 8 --------------------------------------------------------------------------------------------

async function browser(uidOf) {
  const bin = findChromium();
  if (!bin) { no('Chromium is installed (Debian package `chromium`; nothing is skipped)'); return; }
  const profile = `${DIR}/chromium-profile`;
  rmSync(profile, { recursive: true, force: true });
  mkdirSync(profile, { recursive: true });
  chromium = await launchChromium({ bin, userDataDir: profile, width: 1280, height: 1000 });
  try {
    const page = await chromium.newPage();
    await page.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false });
    const errors = [];
    page.onEvent((m) => { if (m.method === 'Runtime.exceptionThrown') errors.push(m.params.exceptionDetails?.exception?.description ?? 'exception'); });
    await page.send('Page.navigate', { url: `${W}/` });
    await page.waitFor(`document.querySelectorAll('#grid .card').length > 0 && document.getElementById('edgeValue').textContent !== '–'`, 15_000, 'the first listing');
    const first = await page.eval(`document.getElementById('edgeValue').textContent`);
    check(`the demo page loads through the Worker (x-edgerec: ${first})`, first.startsWith('reranked; model=e2e-1'));
    // Gear, 48 per page: Bags, Fitness Equipment and Watches mixed
    await page.eval(`(() => { document.getElementById('pageSize').value = '48'; document.getElementById('category').value = ${JSON.stringify(uidOf.Gear)};
      document.getElementById('reload').click(); return true; })()`);
    await page.waitFor(`document.getElementById('status').textContent.startsWith('${skusInCat(uidOf, 'Gear')}') && document.querySelectorAll('#grid .card').length === ${skusInCat(uidOf, 'Gear')}`, 10_000, 'the Gear listing');
    const order = () => page.eval(`[...document.querySelectorAll('#grid .card .sku')].map((e) => e.textContent)`);
    const o0 = await order();
    const watches = inCat('Gear/Watches');
    const targets = o0.filter(watches).slice(-2); // the two watches shown last
    for (const [n, sku] of targets.entries()) {
      const box = await page.eval(`(() => { const c = [...document.querySelectorAll('#grid .card')].find((c) => c.querySelector('.sku').textContent === ${JSON.stringify(sku)});
        c.scrollIntoView({ block: 'center' }); const r = c.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
      await page.click(box.x, box.y);
      await page.waitFor(`document.querySelectorAll('#grid .card.viewed').length === ${n + 1} && document.querySelector('#product .name')?.textContent.length > 0`, 10_000, `the listing after click ${n + 1}`);
    }
    const o1 = await order();
    const edgeNow = await page.eval(`document.getElementById('edgeValue').textContent`);
    check(`after clicking 2 watches the listing order changed (watches' mean rank ${meanRank(o0, watches).toFixed(1)} → ${meanRank(o1, watches).toFixed(1)})`,
      o1.join() !== o0.join() && sameSet(o0, o1) && meanRank(o1, watches) < meanRank(o0, watches));
    check(`the page shows how items moved (▲ marks) and x-edgerec '${edgeNow}'`, (await page.eval(`document.querySelectorAll('.move.up').length`)) > 0 && edgeNow.startsWith('reranked'));
    const cookies = (await page.send('Network.getCookies', { urls: [W] })).cookies.map((c) => c.name).sort();
    check(`Chromium keeps the edge's cookies on http://127.0.0.1 (${cookies.join(', ')})`, ['er_p', 'er_sid', 'er_uid'].every((c) => cookies.includes(c)));
    await page.eval(`window.scrollTo(0, 0)`);
    await sleep(200);
    const shot = await page.send('Page.captureScreenshot', { format: 'png' });
    writeFileSync(`${DIR}/demo.png`, Buffer.from(shot.data, 'base64'));
    ok(`screenshot → ${DIR.replace(ROOT, '')}/demo.png`);
    // the explicit sort checkbox: the edge leaves the order alone
    await page.eval(`(() => { const b = document.getElementById('sortPrice'); b.checked = true; b.dispatchEvent(new Event('change')); return true; })()`);
    await page.waitFor(`document.getElementById('edgeValue').textContent.includes('explicit-sort')`, 10_000, 'the sorted listing');
    const prices = await page.eval(`[...document.querySelectorAll('#grid .card .price')].map((e) => Number(e.textContent.replace(/[^0-9.]/g, '')))`);
    check('"sort by price" in the page: bypass; reason=explicit-sort, prices ascending', prices.length > 4 && prices.every((p, i) => i === 0 || p >= prices[i - 1]));
    check('no JavaScript exception on the page', errors.length === 0, errors.join('; '));
  } finally {
    await chromium.close();
    chromium = null;
  }
}
function skusInCat(uidOf, path) { return listable.filter((i) => (i.categories ?? []).includes(path)).length; }

// ---- 9 --------------------------------------------------------------------------------------------

async function originSawNoEdgerec() {
  // one request with foreign cookies and the app headers, to see what is stripped and what is kept
  const marker = `${RUN}-cookies`;
  await http(`${W}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', cookie: 'theme=dark; er_uid=AAAAAAAAAAAAAAAAAAAAAA; er_sid=x.1; er_p=abc; PHPSESSID=s1',
      'x-edgerec-id': 'app-user-12345', 'x-edgerec-session': 'app-session-1' },
    body: JSON.stringify({ query: `query { storeConfig { store_code } }`, operationName: null, variables: { marker } }),
  });
  // the paths the Worker forwards without looking: a GraphQL POST over 1 MiB, and any other path
  const edgerecCookies = 'theme=dark; er_uid=AAAAAAAAAAAAAAAAAAAAAA; er_p=abc';
  const big = await http(`${W}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', cookie: edgerecCookies, 'x-edgerec-id': 'app-user-12345' },
    body: JSON.stringify({ query: `query { storeConfig { store_code } }`, variables: { marker: `${marker}-big`, pad: 'x'.repeat(1100 * 1024) } }),
  });
  const other = await http(`${W}/rest/V1/${marker}`, { headers: { cookie: edgerecCookies, 'x-edgerec-id': 'app-user-12345' } });
  check('a GraphQL POST over 1 MiB is forwarded untouched (200) and an unknown path gets the origin\'s 404', big.status === 200 && other.status === 404);
  const log = parse((await http(`${O}/__standin/requests`)).text) ?? [];
  const probe = log.find((q) => q.body?.includes(marker) && !q.body.includes('-big'));
  const bigSeen = log.find((q) => q.body?.includes(`${marker}-big`)), otherSeen = log.find((q) => q.url.includes(`/rest/V1/${marker}`));
  check('… and on those pass-through paths the origin got no edgerec cookie or header either',
    bigSeen?.headers.cookie === 'theme=dark' && otherSeen?.headers.cookie === 'theme=dark' && !('x-edgerec-id' in (bigSeen?.headers ?? {})) && !('x-edgerec-id' in (otherSeen?.headers ?? {})),
    () => `${JSON.stringify(bigSeen?.headers)} ${JSON.stringify(otherSeen?.headers)}`);
  check('the origin got the shopper\'s other cookies, in order, without er_uid / er_sid / er_p', probe?.headers.cookie === 'theme=dark; PHPSESSID=s1', () => JSON.stringify(probe?.headers));
  check('… and without x-edgerec-id / x-edgerec-session', probe && !('x-edgerec-id' in probe.headers) && !('x-edgerec-session' in probe.headers));
  const leaks = log.filter((q) => /(^|;\s*)er_(uid|sid|p)=/.test(q.headers.cookie ?? '') || 'x-edgerec-id' in q.headers || 'x-edgerec-session' in q.headers);
  check(`none of the ${log.length} requests the origin received carried an edgerec cookie or header`, log.length > 100 && leaks.length === 0,
    () => `${leaks.length} leaks, e.g. ${JSON.stringify(leaks[0]?.headers)}`);
}

// ---- go -----------------------------------------------------------------------------------------

try {
  await main();
} catch (e) {
  no('the run completes', e.stack || e.message);
} finally {
  clearTimeout(watchdog);
  await chromium?.close().catch(() => {});
  await stack?.stop().catch(() => {});
}
console.log(`e2e: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
