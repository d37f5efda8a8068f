// recs.test.mjs — the storefront script's DOM-free parts (worker-shim/browser/recs.js) in Node: URLs
// made safe for href/src, prices in the unit's currency and the page's locale, GET /edge/recommend
// (the query, the headers, the model and arm from x-edgerec, errors that name the request), and
// report() (one POST per task, ≤ 500 events and ≤ 60 KiB a POST, sendBeacon then fetch keepalive).
// The rendering, the events from the DOM and the custom element run in Chromium: tests/e2e/storefront-e2e.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchUnits, priceText, report, safeUrl } from '../../worker-shim/browser/recs.js';

const tick = () => new Promise((r) => setTimeout(r, 0));

test('safeUrl: http(s) and relative URLs pass (resolved), script and data URLs never do', () => {
  assert.equal(safeUrl('https://shop.example/a.html'), 'https://shop.example/a.html');
  assert.equal(safeUrl('http://127.0.0.1:8788/media/x.jpg'), 'http://127.0.0.1:8788/media/x.jpg');
  assert.match(safeUrl('/zoltan-gym-tee.html'), /^https:\/\/[^/]+\/zoltan-gym-tee\.html$/);
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', '\tjava\nscript:alert(1)', 'data:text/html,<b>x</b>',
    'vbscript:msgbox', 'blob:https://x/1', 'file:///etc/passwd', '', null, undefined, 42, {}, 'x'.repeat(5000)]) {
    assert.equal(safeUrl(bad), null, `refused: ${String(bad).slice(0, 40)}`);
  }
});

test('priceText: the unit\'s currency in the page\'s locale; a range for complex products; nothing without a price', () => {
  const simple = (value, currency) => ({ price: { final: { amount: { value, currency } } } });
  assert.equal(priceText(simple(29, 'USD'), 'en-US'), '$29.00');
  assert.equal(priceText(simple(1234.5, 'EUR'), 'de-DE'), '1.234,50\u00a0€');
  assert.equal(priceText(simple(10, 'GBP'), 'en-GB'), '£10.00');
  const complex = (lo, hi) => ({ priceRange: { minimum: { final: { amount: { value: lo, currency: 'USD' } } }, maximum: { final: { amount: { value: hi, currency: 'USD' } } } } });
  assert.equal(priceText(complex(29, 29), 'en-US'), '$29.00');
  assert.match(priceText(complex(29, 45), 'en-US'), /^\$29\.00\s*–\s*\$45\.00$/); // Intl's formatRange (spacing is the ICU's)
  assert.equal(priceText({}, 'en-US'), '');
  assert.equal(priceText(simple(NaN, 'USD'), 'en-US'), '');
  assert.equal(priceText(simple(5, 'not a currency'), 'en-US'), '5.00'); // a number, no symbol
});

test('fetchUnits: one GET /edge/recommend with the page, cart and store; the model and arm from x-edgerec', async () => {
  const seen = [];
  const fetch = async (url, init) => {
    seen.push({ url, init });
    return new Response(JSON.stringify({ results: [{ unitId: 'u1', typeId: 'viewed-viewed', productsView: [] }], totalResults: 1 }),
      { headers: { 'x-edgerec': 'recommended; model=m-7; arm=canary' } });
  };
  const r = await fetchUnits({ endpoint: 'https://edge.example/edge', pageType: 'Cart', cartSkus: 'A, B,,C', k: 4, store: 'de', currency: 'EUR', fetch });
  assert.deepEqual({ model: r.model, arm: r.arm, n: r.results.length }, { model: 'm-7', arm: 'canary', n: 1 });
  const u = new URL(seen[0].url);
  assert.equal(u.origin + u.pathname, 'https://edge.example/edge/recommend');
  assert.deepEqual(Object.fromEntries(u.searchParams), { pageType: 'Cart', cart: 'A,B,C', k: '4' });
  assert.deepEqual(seen[0].init.headers, { Store: 'de', 'Content-Currency': 'EUR' });
  assert.equal(seen[0].init.credentials, 'include');
  const bypass = await fetchUnits({ pageType: 'CMS', fetch: async () => new Response('{"results":[]}', { headers: { 'x-edgerec': 'bypass; reason=holdout; arm=holdout' } }) });
  assert.deepEqual({ model: bypass.model, arm: bypass.arm }, { model: null, arm: 'holdout' });
});

test('fetchUnits: failures name the request and the reason', async () => {
  await assert.rejects(fetchUnits({ pageType: 'Nope', fetch: async () => Response.json({ error: 'pageType must be one of …' }, { status: 400 }) }),
    /GET .*\/edge\/recommend\?pageType=Nope: HTTP 400: pageType must be one of/);
  await assert.rejects(fetchUnits({ fetch: async () => new Response('<html>', { status: 200 }) }), /the answer is not \{results/);
  await assert.rejects(fetchUnits({ fetch: async () => { throw new TypeError('Failed to fetch'); } }), /GET .*\/edge\/recommend\?: Failed to fetch/);
  const keep = setTimeout(() => {}, 5000); // AbortSignal.timeout's timer does not keep Node's event loop alive
  await assert.rejects(fetchUnits({ timeoutMs: 20, fetch: (url, init) => new Promise((_, rej) => init.signal.addEventListener('abort', () => rej(init.signal.reason))) }),
    /no answer in time/);
  clearTimeout(keep);
  await assert.rejects(fetchUnits({ endpoint: 'javascript:alert(1)', fetch: async () => assert.fail('never sent') }), /endpoint .* must be an http\(s\) URL/);
});

test('report: what one task reports goes in one POST; ≤ 500 events and ≤ 60 KiB a POST; sendBeacon, else fetch keepalive', async (t) => {
  const beacons = [], fetches = [];
  let accept = true;
  const nav = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { configurable: true, value: { sendBeacon: (url, blob) => { beacons.push({ url, blob }); return accept; } } });
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => { fetches.push({ url, init }); return new Response(null, { status: 202 }); };
  t.after(() => { globalThis.fetch = realFetch; if (nav) Object.defineProperty(globalThis, 'navigator', nav); });
  const ev = (i) => ({ type: 'recs-item-click', item: `SKU-${i}`, unit: 'u1', unit_type: 'most-viewed', rank: 1 });

  report(ev(1), { endpoint: 'https://edge.example' });
  report([ev(2), ev(3)], { endpoint: 'https://edge.example' });
  assert.equal(beacons.length, 0, 'queued until the task ends');
  await tick();
  assert.equal(beacons.length, 1);
  assert.equal(beacons[0].url, 'https://edge.example/edge/events');
  assert.equal(beacons[0].blob.type, 'application/json');
  assert.deepEqual(JSON.parse(await beacons[0].blob.text()).map((e) => e.item), ['SKU-1', 'SKU-2', 'SKU-3']);

  beacons.length = 0;
  report(Array.from({ length: 1200 }, (_, i) => ev(i)), { endpoint: 'https://edge.example' });
  await tick();
  const sizes = await Promise.all(beacons.map(async (b) => JSON.parse(await b.blob.text()).length));
  assert.deepEqual(sizes, [500, 500, 200]);

  beacons.length = 0;
  const big = Array.from({ length: 300 }, (_, i) => ({ ...ev(i), items: Array.from({ length: 64 }, (_, j) => `S-${i}-${j}`.padEnd(20, 'x')) }));
  report(big, { endpoint: 'https://edge.example' });
  await tick();
  const bodies = await Promise.all(beacons.map((b) => b.blob.text()));
  assert.ok(bodies.length > 1 && bodies.every((b) => new TextEncoder().encode(b).length <= 60 * 1024), `${bodies.map((b) => b.length)}`);
  assert.equal(bodies.reduce((n, b) => n + JSON.parse(b).length, 0), 300, 'every event sent once');

  accept = false; // the browser's beacon queue is full: fetch with keepalive
  beacons.length = 0;
  report(ev(9), { endpoint: 'https://edge.example' });
  await tick();
  assert.equal(fetches.length, 1);
  assert.equal(fetches[0].url, 'https://edge.example/edge/events');
  assert.deepEqual({ method: fetches[0].init.method, keepalive: fetches[0].init.keepalive, credentials: fetches[0].init.credentials, type: fetches[0].init.headers['content-type'] },
    { method: 'POST', keepalive: true, credentials: 'include', type: 'application/json' });

  fetches.length = 0;
  report(ev(10), { endpoint: 'https://edge.example', beacon: false });
  await tick();
  assert.equal(beacons.length, 1, 'the refused beacon only');
  assert.equal(fetches.length, 1);

  const warn = console.warn;
  const warned = [];
  console.warn = (m) => warned.push(m);
  try { report(ev(11), { endpoint: 'ftp://edge.example' }); } finally { console.warn = warn; }
  assert.match(warned[0], /endpoint "ftp:\/\/edge\.example" must be an http\(s\) URL: 1 event\(s\) not sent/);
});
