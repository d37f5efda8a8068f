// crosssite-e2e.mjs — what another site can make a shopper's browser do to the edge's routes, in headless
// Chromium against the real Worker under `wrangler dev` and the Magento stand-in (ports 19120/19121; the
// attacker's pages on 19122).  Ports 19120-19122; state in DIR/state-crosssite.
//   node tests/e2e/crosssite-e2e.mjs --dir build/e2e [--survey]   (needs DIR/e2e.erb, DIR/catalog.json)
// The shopper first browses the store (http://127.0.0.1:19120: er_uid, er_sid and er_p cookies), then opens
// pages on three other origins, each trying every vector below against the store's edge:
//   cross-site   http://evil.localhost:19122      (another site: SameSite=Lax cookies are not sent on POSTs)
//   same-site    http://127.0.0.1:19122           (another origin of the same site, e.g. a user-content host:
//                                                  the shopper's cookies ARE sent)
//   allowed      http://allowed.localhost:19122   (listed in CORS_ORIGINS: a storefront on another origin)
// Vectors: fetch text/plain POST /edge/events (no-cors), sendBeacon text/plain, a form POST (enctype
// text/plain, JSON smuggled in a field) to /edge/events and /edge/feedback, fetch DELETE /edge/profile,
// a credentialed fetch of GET /edge/profile (readable?), <img> GET /edge/recommend, <script> GET
// /edge/profile, <img> GET /graphql (a product query: a view event), and top-level navigations to
// /edge/profile and to a /graphql product query.  What the browser saw (status from the
// DevTools protocol, whether the shopper's cookies went along, whether the page could read the answer)
// is printed as a table; checks: cross-site and same-site state changes are refused (403, a JSON error
// naming why; /graphql: the origin's answer, nothing recorded), the shopper's profile is unchanged by
// them (it was: 2 → 10 events before), a navigation to /edge/profile still shows it, the allowed origin and the store's own page
// (fetch, and the storefront script's navigator.sendBeacon via report()) keep working.
// --survey prints the table and checks only the same-origin paths (how the "before" column was made).
// Prints "crosssite-e2e: N passed, N failed".
import http from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startStack } from '../../worker-shim/dev/stack.mjs';
import { findChromium, launchChromium } from './cdp.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const DIR = argv.includes('--dir') ? argv[argv.indexOf('--dir') + 1] : `${ROOT}build/e2e`;
const SURVEY = argv.includes('--survey');
const PORT = 19120, ORIGIN_PORT = 19121, EVIL_PORT = 19122;
const W = `http://127.0.0.1:${PORT}`;
const SITES = {
  'cross-site': `http://evil.localhost:${EVIL_PORT}`,
  'same-site': `http://127.0.0.1:${EVIL_PORT}`,
  allowed: `http://allowed.localhost:${EVIL_PORT}`,
};

let pass = 0, fail = 0;
const check = (name, ok, detail) => {
  if (ok) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name}${detail ? `: ${typeof detail === 'function' ? detail() : detail}` : ''}`); }
};
const info = (s) => console.log(`  # ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stack = null, chromium = null, evil = null;
const watchdog = setTimeout(async () => {
  check('crosssite-e2e finishes within 240 s', false, 'watchdog; stopping what was started');
  await chromium?.close().catch(() => {});
  await stack?.stop().catch(() => {});
  evil?.close();
  console.log(`crosssite-e2e: ${pass} passed, ${fail} failed`);
  process.exit(1);
}, 240_000);

// Every vector: [name, what it is, JS run in the attacker's page (T = the tagged target base, W's origin)].
// Each request carries ?v=<vector>.<site> so the DevTools events can be matched to it.
const EV = JSON.stringify({ type: 'view', item: 'MH03' });
const VECTORS = [
  ['fetch-events', 'fetch POST /edge/events, text/plain, no-cors, credentials',
    (u) => `fetch(${JSON.stringify(u('/edge/events'))}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: ${JSON.stringify(EV)} }).then(() => 'sent', (e) => 'error ' + e.message)`],
  ['beacon-events', 'navigator.sendBeacon POST /edge/events, text/plain',
    (u) => `navigator.sendBeacon(${JSON.stringify(u('/edge/events'))}, ${JSON.stringify(EV)}) ? 'queued' : 'refused'`],
  ['form-events', 'form POST /edge/events (enctype text/plain, JSON in a field name)',
    (u) => formPost(u('/edge/events'), '{"type":"view","item":"MH03","x":"', '"}')],
  ['form-feedback', 'form POST /edge/feedback (thumbs down)',
    (u) => formPost(u('/edge/feedback'), '{"item":"MH03","thumbs":"down","x":"', '"}')],
  ['fetch-delete-profile', 'fetch DELETE /edge/profile, credentials',
    (u) => `fetch(${JSON.stringify(u('/edge/profile'))}, { method: 'DELETE', credentials: 'include' }).then((r) => 'read ' + r.status, (e) => 'error ' + e.message)`],
  ['fetch-read-profile', 'fetch GET /edge/profile, credentials (can the page read it?)',
    (u) => `fetch(${JSON.stringify(u('/edge/profile'))}, { credentials: 'include' }).then((r) => r.text()).then((t) => 'read ' + t.slice(0, 40), (e) => 'error ' + e.message)`],
  ['img-recommend', '<img> GET /edge/recommend (logs impressions)',
    (u) => `new Promise((res) => { const i = new Image(); i.onload = () => res('load'); i.onerror = () => res('error'); i.src = ${JSON.stringify(u('/edge/recommend') + '&pageType=Product&sku=MH01')}; })`],
  ['script-profile', '<script> GET /edge/profile',
    (u) => `new Promise((res) => { const s = document.createElement('script'); s.onload = () => res('load'); s.onerror = () => res('error'); s.src = ${JSON.stringify(u('/edge/profile'))}; document.head.append(s); })`],
];
const PRODUCT_QUERY = '&query=' + encodeURIComponent('{ products(filter: { url_key: { eq: "joust-duffle-bag" } }) { items { sku name } } }');
VECTORS.push(['img-graphql', '<img> GET /graphql, a product page query (a view event)',
  (u) => `new Promise((res) => { const i = new Image(); i.onload = () => res('load'); i.onerror = () => res('error'); i.src = ${JSON.stringify(u('/graphql') + PRODUCT_QUERY)}; })`]);
// top-level navigations of the attacker's tab (Lax cookies go along on those, from any site)
const NAVIGATIONS = [
  ['nav-profile', 'top-level navigation GET /edge/profile', (u) => u('/edge/profile')],
  ['nav-graphql', 'top-level navigation GET /graphql, a product page query (a view event)', (u) => u('/graphql') + PRODUCT_QUERY],
];
function formPost(url, name, value) {
  return `new Promise((res) => { const f = document.createElement('form'); f.method = 'POST'; f.enctype = 'text/plain'; f.action = ${JSON.stringify(url)};
    const sink = document.createElement('iframe'); sink.name = 'sink' + Math.random().toString(36).slice(2); document.body.append(sink);
    f.target = sink.name; const i = document.createElement('input'); i.type = 'hidden'; i.name = ${JSON.stringify(name)}; i.value = ${JSON.stringify(value)};
    f.append(i); document.body.append(f); sink.onload = () => res('posted'); f.submit(); setTimeout(() => res('posted?'), 3000); })`;
}

/** The attacker's pages: any path on any Host answers a page with a frame to post forms into. */
function startEvil() {
  const page = '<!doctype html><meta charset="utf-8"><title>another site</title>';
  const s = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }); res.end(page); });
  return new Promise((resolve, reject) => { s.on('error', reject); s.listen(EVIL_PORT, '127.0.0.1', () => resolve(s)); });
}

/** Requests to the Worker seen by the browser: requestId → {method, url, type, status, cookie, blocked, error}. */
function watchNetwork(page) {
  const seen = new Map();
  const get = (id) => { if (!seen.has(id)) seen.set(id, {}); return seen.get(id); };
  page.onEvent((m) => {
    const p = m.params ?? {};
    if (process.env.CROSSSITE_DEBUG && m.method.startsWith('Network.') && (seen.has(p.requestId) || JSON.stringify(p).includes('v=img'))) console.error(m.method, JSON.stringify(p).slice(0, 300));
    if (m.method === 'Network.requestWillBeSent' && p.request.url.startsWith(W)) Object.assign(get(p.requestId), { method: p.request.method, url: p.request.url, type: p.type });
    else if (m.method === 'Network.requestWillBeSentExtraInfo') {
      const h = Object.fromEntries(Object.entries(p.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      Object.assign(get(p.requestId), { cookie: /(?:^|;\s*)er_uid=/.test(h.cookie ?? ''), site: h['sec-fetch-site'] ?? null, origin: h.origin ?? null });
    } else if (m.method === 'Network.responseReceivedExtraInfo') { // also when ORB blocks the body
      const r = get(p.requestId);
      r.status ??= p.statusCode;
      r.edgerec = Object.entries(p.headers ?? {}).find(([k]) => k.toLowerCase() === 'x-edgerec')?.[1] ?? null;
    }
    else if (m.method === 'Network.responseReceived') get(p.requestId).status = p.response.status;
    else if (m.method === 'Network.loadingFailed') Object.assign(get(p.requestId), { error: p.errorText, blocked: p.corsErrorStatus?.corsError ?? p.blockedReason ?? null });
  });
  return seen;
}

/** The requests of one vector (matched by its ?v= tag), the preflight first if there was one. */
const ofTag = (seen, tag) => [...seen.values()].filter((r) => r.url?.includes(`v=${tag}`));

async function shopperProfile(page) {
  return page.eval(`fetch('/edge/profile').then((r) => r.json())`);
}

async function main() {
  for (const p of [PORT, ORIGIN_PORT, EVIL_PORT]) {
    try { await fetch(`http://127.0.0.1:${p}/`, { signal: AbortSignal.timeout(1000) }); check(`port ${p} is free`, false, 'something answers there'); return; } catch { /* free */ }
  }
  const state = `${DIR}/state-crosssite`;
  rmSync(state, { recursive: true, force: true });
  const t0 = Date.now();
  stack = await startStack({ bundle: `${DIR}/e2e.erb`, catalog: `${DIR}/catalog.json`, port: PORT, originPort: ORIGIN_PORT, stateDir: state, quiet: true,
    syncCatalog: false, vars: { CORS_ORIGINS: SITES.allowed } });
  evil = await startEvil();
  info(`the stack started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const bin = findChromium();
  if (!bin) { check('Chromium is installed (Debian package `chromium`; nothing is skipped)', false); return; }
  const profileDir = `${DIR}/chromium-crosssite`;
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
  chromium = await launchChromium({ bin, userDataDir: profileDir });

  // the shopper on the store: cookies from the store's own origin, a profile with one view
  const shop = await chromium.newPage();
  const shopSeen = watchNetwork(shop);
  await shop.send('Page.navigate', { url: `${W}/edge/health` });
  await shop.waitFor(`document.readyState === 'complete' && location.origin === ${JSON.stringify(W)}`, 15_000);
  const first = await shop.eval(`fetch('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'view', item: 'MH01' }) }).then((r) => r.status)`);
  check('the store\'s own page: fetch POST /edge/events (application/json, same-origin) → 202', first === 202, `got ${first}`);
  // the storefront script's report(): navigator.sendBeacon from the store's origin
  const beacon = await shop.eval(`import('/edge/recs.js').then((m) => { m.report({ type: 'view', item: 'MH02' }); return 'reported'; })`);
  let pinged = null;
  for (let i = 0; i < 50 && !pinged?.status; i++) { await sleep(100); pinged = [...shopSeen.values()].find((r) => r.method === 'POST' && r.url === `${W}/edge/events` && r.type === 'Ping'); }
  check('the storefront script\'s report() → navigator.sendBeacon (a Ping request, same-origin, cookies sent) → 202', beacon === 'reported' && pinged?.status === 202 && pinged.cookie === true,
    () => JSON.stringify(pinged ?? [...shopSeen.values()]));
  const before = await shopperProfile(shop);
  check('the shopper has a stored profile with both views', before?.stored === true && before.profile?.events === 2, () => JSON.stringify(before));

  // the attacks, from each other origin
  const rows = [];
  for (const [site, origin] of Object.entries(SITES)) {
    const page = await chromium.newPage();
    const seen = watchNetwork(page);
    await page.send('Page.navigate', { url: `${origin}/attack` });
    await page.waitFor(`document.readyState === 'complete' && location.origin === ${JSON.stringify(origin)}`, 15_000);
    for (const [name, what, js] of VECTORS) {
      const tag = `${name}.${site}`;
      const u = (path) => `${W}${path}?v=${tag}`;
      let outcome;
      try { outcome = await page.eval(js(u), 10_000); } catch (e) { outcome = `threw ${e.message}`; }
      for (let i = 0; i < 30 && !ofTag(seen, tag).some((r) => r.method !== 'OPTIONS' && (r.status || r.error)); i++) await sleep(100);
      await sleep(100);
      const reqs = ofTag(seen, tag);
      const main = reqs.find((r) => r.method !== 'OPTIONS') ?? null;
      const pre = reqs.find((r) => r.method === 'OPTIONS') ?? null;
      rows.push({ site, name, what, outcome: String(outcome), status: main?.status ?? null, cookie: !!main?.cookie, preflight: pre ? pre.status ?? pre.error : null,
        sent: !!main && (main.site !== undefined || !!main.status), blocked: main?.blocked ?? null, secFetchSite: main?.site ?? null, error: main?.error ?? null,
        edgerec: main?.edgerec ?? null });
    }
    { // the storefront script itself, imported from the edge by this page: report() → sendBeacon (a Blob of
      // application/json) or, when the browser refuses that cross-origin, fetch keepalive with its preflight
      const what = 'the storefront script from the edge, report() (sendBeacon / fetch keepalive, application/json)';
      let outcome;
      try { outcome = await page.eval(`import(${JSON.stringify(`${W}/edge/recs.js`)}).then((m) => { m.report({ type: 'view', item: 'MH05' }); return 'reported'; })`, 10_000); } catch (e) { outcome = `threw ${e.message}`; }
      const mine = () => [...seen.values()].filter((r) => r.url === `${W}/edge/events`);
      for (let i = 0; i < 30 && !mine().some((r) => r.method === 'POST' && (r.status || r.error)); i++) await sleep(100);
      const main = mine().find((r) => r.method === 'POST') ?? null, pre = mine().find((r) => r.method === 'OPTIONS') ?? null;
      rows.push({ site, name: 'script-report', what, outcome: String(outcome), status: main?.status ?? null, cookie: !!main?.cookie,
        preflight: pre ? pre.status ?? pre.error : null, sent: !!main && (main.site !== undefined || !!main.status), blocked: main?.blocked ?? null,
        secFetchSite: main?.site ?? null, error: main?.error ?? null, type: main?.type ?? null });
    }
    for (const [name, what, url] of NAVIGATIONS) {
      const tag = `${name}.${site}`;
      await page.send('Page.navigate', { url: `${origin}/attack` });
      await page.waitFor(`document.readyState === 'complete' && location.origin === ${JSON.stringify(origin)}`, 15_000);
      await page.eval(`location.href = ${JSON.stringify(url((path) => `${W}${path}?v=${tag}`))}; 'navigating'`);
      for (let i = 0; i < 50 && !ofTag(seen, tag).some((r) => r.status || r.error); i++) await sleep(100);
      const n = ofTag(seen, tag)[0];
      rows.push({ site, name, what, outcome: 'navigated', status: n?.status ?? null, cookie: !!n?.cookie,
        preflight: null, sent: !!n, secFetchSite: n?.site ?? null, error: n?.error ?? null, edgerec: n?.edgerec ?? null });
    }
    await page.send('Page.close').catch(() => {});
  }

  console.log('\n| from | vector | request sent | shopper cookies sent | HTTP status | page could read | Sec-Fetch-Site | x-edgerec |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const read = r.outcome.startsWith('read ') ? `yes (${r.outcome.slice(5, 40).replace(/\|/g, '/')})` : r.outcome;
    const status = r.sent ? `${r.status ?? '?'}${r.error ? ` (browser: ${r.error})` : ''}`
      : `not sent${r.blocked ? ` (${r.blocked})` : ''}${r.preflight !== null ? ` (preflight ${r.preflight})` : ''}`;
    console.log(`| ${r.site} | ${r.what} | ${r.sent ? 'yes' : 'no'} | ${r.cookie ? 'yes' : 'no'} | ${status} | ${read} | ${r.secFetchSite ?? '-'} | ${r.edgerec ?? '-'} |`);
  }
  console.log('');

  const after = await shopperProfile(shop);
  const row = (site, name) => rows.find((r) => r.site === site && r.name === name);
  if (!SURVEY) {
    for (const site of ['cross-site', 'same-site']) {
      for (const name of ['fetch-events', 'beacon-events', 'form-events', 'form-feedback', 'img-recommend', 'script-profile']) {
        const r = row(site, name);
        check(`${site}: ${r.what} → refused 403 (or never sent)`, !r.sent || r.status === 403, () => JSON.stringify(r));
      }
      const d = row(site, 'fetch-delete-profile');
      check(`${site}: fetch DELETE /edge/profile never reaches the edge (the preflight is refused)`, !d.sent || d.status === 403, () => JSON.stringify(d));
      const rd = row(site, 'fetch-read-profile');
      check(`${site}: the page cannot read GET /edge/profile`, !rd.outcome.startsWith('read '), () => JSON.stringify(rd));
      const nv = row(site, 'nav-profile');
      check(`${site}: a top-level navigation to /edge/profile still shows the shopper their data (200)`, nv.status === 200, () => JSON.stringify(nv));
      for (const name of ['img-graphql', 'nav-graphql']) {
        const g = row(site, name);
        check(`${site}: ${g.what} → the origin's answer (200), x-edgerec: bypass; reason=cross-site (nothing recorded: the profile check below)`,
          g.status === 200 && g.edgerec === 'bypass; reason=cross-site', () => JSON.stringify(g));
      }
    }
    // the refusal names why
    const why = await fetch(`${W}/edge/events`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site', origin: SITES['cross-site'] }, body: EV });
    const body = await why.json().catch(() => null);
    check('a refused request: 403 JSON whose error names the Origin and Sec-Fetch-Site', why.status === 403 && /cross-site/.test(body?.error) && body.error.includes(SITES['cross-site']),
      () => `${why.status} ${JSON.stringify(body)}`);
    const allowed = row('allowed', 'fetch-events');
    check('allowed origin (CORS_ORIGINS): fetch POST /edge/events is accepted (202)', allowed.status === 202, () => JSON.stringify(allowed));
    const script = row('allowed', 'script-report');
    check('allowed origin: the storefront script imported from the edge, its report() reaches POST /edge/events (202)', script.status === 202, () => JSON.stringify(script));
    const evilScript = row('cross-site', 'script-report');
    check('cross-site: the same script on a page not in CORS_ORIGINS is refused (403 or never sent)', !evilScript.sent || evilScript.status === 403, () => JSON.stringify(evilScript));
    const allowedBeacon = row('allowed', 'beacon-events');
    check('allowed origin: navigator.sendBeacon POST /edge/events is accepted (202)', allowedBeacon.status === 202, () => JSON.stringify(allowedBeacon));
    check('the shopper\'s profile is unchanged by the cross-site and same-site pages (same event count)', after?.stored === true && after.profile?.events === before.profile.events,
      () => `before ${before?.profile?.events}, after ${after?.profile?.events}`);
  } else {
    info(`shopper profile events: before the attacks ${before?.profile?.events}, after ${after?.profile?.events} (stored: ${after?.stored})`);
  }
  // the store's own page still works after all this
  const again = await shop.eval(`fetch('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'view', item: 'MH04' }) }).then((r) => r.status)`);
  check('the store\'s own page afterwards: POST /edge/events → 202', again === 202, `got ${again}`);
}

try {
  await main();
} catch (e) {
  check('crosssite-e2e ran without an exception', false, e.stack);
} finally {
  clearTimeout(watchdog);
  await chromium?.close().catch(() => {});
  await stack?.stop().catch(() => {});
  evil?.close();
}
console.log(`crosssite-e2e: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
