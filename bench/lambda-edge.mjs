#!/usr/bin/env node
// lambda-edge.mjs — how long the Lambda@Edge handler takes in Node: the package as built by
// worker-shim/lambda-edge/build.mjs (the trained Luma bundle inside), unpacked, imported and called
// with CloudFront viewer-request events, its listing fetched through the CloudFront emulator's
// cacheable behaviour (tests/lambda-edge/cloudfront-emulator.mjs, a process of its own; a cache hit
// after the first request) in front of the Magento stand-in, all on 127.0.0.1.  The AWS SDK is the tests' fake (no network): what AWS adds is not in these figures.
//
//   node bench/lambda-edge.mjs [--n 1000] [--cold 15]
//
// cold start  a fresh Node process per sample: `init` is importing index.mjs (config, wasm compile,
//             the packaged bundle validated and loaded, the secrets and S3 reads started), `first` the
//             first invocation (a re-ranked listing for a new shopper, waiting for those reads)
// per request `total` is the handler's wall time; `own` is total minus its fetch of the listing
//             (the fetch wrapped to read the whole body): the handler's own work — identity, cookie
//             crypto, the engine, compression, the event line
// Prints a table, then one JSON line.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const opt = (name, d) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : d; };


function fakeState(idSecret, cookieKey) {
  globalThis.__edgerecFakeAws = { ssm: { '/edgerec-bench/id-secret': idSecret, '/edgerec-bench/cookie-key': cookieKey }, secrets: {}, s3: {}, firehose: [], calls: [], delayMs: {}, fail: {} };
}
function quietStdout() { // the event lines (CloudWatch) are counted, not printed
  const real = process.stdout.write.bind(process.stdout);
  let lines = 0;
  process.stdout.write = (c, ...r) => (typeof c === 'string' && c.startsWith('{"') ? (lines++, true) : real(c, ...r));
  return () => lines;
}

/** One cold start: import the package and serve one listing (a fresh process each time). */
async function child(dir, specJson) {
  const { idSecret, cookieKey, event } = JSON.parse(specJson);
  fakeState(idSecret, cookieKey);
  quietStdout();
  const t0 = performance.now();
  const m = await import(pathToFileURL(join(dir, 'index.mjs')).href);
  const t1 = performance.now();
  await m.handler.runtime.initial; // the secrets and S3 reads the import started
  const t2 = performance.now();
  const r = await m.handler(event, { getRemainingTimeInMillis: () => 5000 });
  const t3 = performance.now();
  const again = await m.handler(JSON.parse(JSON.stringify(event)), { getRemainingTimeInMillis: () => 5000 });
  const t4 = performance.now();
  process.stderr.write(`${JSON.stringify({ initMs: t1 - t0, readsMs: t2 - t1, firstMs: t3 - t2, secondMs: t4 - t3, timings: m.handler.runtime.timings,
    edgerec: r.headers?.['x-edgerec']?.[0]?.value ?? null, again: again.headers?.['x-edgerec']?.[0]?.value ?? null, rss: process.memoryUsage().rss })}\n`);
  process.exit(0);
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

async function main() {
  const N = Number(opt('--n', 1000)), COLD = Number(opt('--cold', 15));
  const F = await import('../tests/lambda-edge/fixtures.mjs');
  const { randomBytes } = await import('node:crypto');
  F.ensureFixtures();
  const idSecret = randomBytes(24).toString('base64'), cookieKey = randomBytes(32).toString('base64');
  fakeState(idSecret, cookieKey);
  const events = quietStdout();
  const standin = await F.startStandin({ record: false });
  // the emulator in a process of its own, so that its work is not on the measured thread
  const emuProc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--emulator', standin.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => emuProc.kill('SIGTERM'));
  const emu = { url: await new Promise((resolve, reject) => {
    let buf = '';
    emuProc.stdout.on('data', (d) => { buf += d; const m = /^(http:\S+)\n/.exec(buf); if (m) resolve(m[1]); });
    emuProc.on('exit', (c) => reject(new Error(`emulator exited (${c})`)));
  }) };
  const out = join(F.B, 'bench/lambda-edge.zip');
  const built = F.buildPackage(['--origin', `${emu.url}/_edgerec/origin`, '--bundle', F.BUNDLE, '--out', out, '--ssm-prefix', '/edgerec-bench']);
  if (built.code !== 0) throw new Error(`build: ${built.stderr}`);
  const dir = F.unpack(out);
  const m = await F.importPackage(dir);
  await m.handler.runtime.ready(5000);

  const gearUid = JSON.parse(await (await fetch(`${standin.url}/graphql?query=${encodeURIComponent('{ categories(filters: { url_path: { eq: "gear" } }) { items { uid } } }')}`)).text()).data.categories.items[0].uid;
  const topsUid = JSON.parse(await (await fetch(`${standin.url}/graphql?query=${encodeURIComponent('{ categories(filters: { url_path: { eq: "women/tops" } }) { items { uid } } }')}`)).text()).data.categories.items[0].uid;
  const listing = F.listing(topsUid); // 48 items, as the Worker's benchmark
  const listingText = await (await fetch(standin.url + listing.path)).text();
  const urlKey = JSON.parse(listingText).data.products.items[3].url_key;
  const enc = { 'accept-encoding': 'gzip, deflate, br' };

  // ---- cold starts (fresh processes) ----
  const cold = [];
  const coldEvent = F.specEvent(F.listing(gearUid), { headers: enc });
  for (let i = 0; i < COLD; i++) {
    const r = await new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', dir, JSON.stringify({ idSecret, cookieKey, event: coldEvent })], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d) => { err += d; });
      c.on('exit', () => { try { resolve(JSON.parse(err.trim().split('\n').pop())); } catch { reject(new Error(err)); } });
    });
    if (!/^reranked/.test(r.edgerec ?? '')) throw new Error(`cold start ${i}: ${JSON.stringify(r)}`);
    cold.push(r);
  }
  if (argv.includes('--verbose')) for (const c of cold) console.error(JSON.stringify(c));

  // ---- warm requests ----
  const realFetch = globalThis.fetch;
  let fetchMs = 0;
  globalThis.fetch = async (...a) => {
    const t = performance.now();
    const res = await realFetch(...a);
    const buf = await res.arrayBuffer();
    fetchMs += performance.now() - t;
    return new Response(buf, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const returning = new F.Browser();
  const take = (r) => { for (const c of r.headers?.['set-cookie'] ?? []) returning.take([c.value]); };
  take(await m.handler(F.specEvent(listing, { headers: { ...enc } }), F.lambdaContext()));
  const cases = {
    'listing, new shopper (48 items, br)': () => F.specEvent(listing, { headers: enc }),
    'listing, returning shopper (profile cookie)': () => F.specEvent(listing, { headers: { ...enc, cookie: returning.cookieHeader() } }),
    'listing, returning shopper, no compression': () => F.specEvent(listing, { headers: { cookie: returning.cookieHeader() } }),
    'product page (view event)': () => F.specEvent(F.productPage(urlKey), { headers: { ...enc, cookie: returning.cookieHeader() } }),
    'explicit sort (steps aside, no fetch)': () => F.specEvent(F.listing(topsUid, { sort: { price: 'ASC' } }), { headers: { ...enc, cookie: returning.cookieHeader() } }),
    'POST /edge/events (2 events)': () => F.cfEvent({ method: 'POST', uri: '/edge/events', headers: { 'content-type': 'application/json', cookie: returning.cookieHeader() }, body: '[{"type":"view","item":"WS12"},{"type":"click","item":"WT09"}]' }),
    'GET /edge/recommend (k=8)': () => F.cfEvent({ uri: '/edge/recommend', querystring: 'unit=recommended-for-you&k=8', headers: { ...enc, cookie: returning.cookieHeader() } }),
  };
  const results = {};
  const { PerformanceObserver } = await import('node:perf_hooks');
  const gc = [];
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gc.push(e.duration); });
  obs.observe({ entryTypes: ['gc'] });
  for (const [name, make] of Object.entries(cases)) {
    for (let i = 0; i < 50; i++) await m.handler(make(), F.lambdaContext()); // warm-up
    const total = [], own = [];
    let last = null;
    for (let i = 0; i < N; i++) {
      const ev = make();
      fetchMs = 0;
      const t0 = performance.now();
      last = await m.handler(ev, F.lambdaContext());
      const dt = performance.now() - t0;
      total.push(dt);
      own.push(dt - fetchMs);
      if (argv.includes('--verbose') && dt - fetchMs > 4) console.error(`slow ${name} #${i}: ${dt.toFixed(2)} total, ${fetchMs.toFixed(2)} fetch`);
    }
    results[name] = { total, own, outcome: last.status ? `${last.status} ${last.headers?.['x-edgerec']?.[0]?.value ?? ''}`.trim() : 'request (stepped aside)', size: JSON.stringify(last).length };
  }
  globalThis.fetch = realFetch;
  obs.disconnect();
  const rss = process.memoryUsage().rss;

  // ---- report ----
  const rows = [];
  rows.push(['cold start: init (import index.mjs: config, wasm compile, packaged bundle)', cold.map((c) => c.initMs), null, '']);
  rows.push(['cold start: the secrets / S3 reads it started (fake SDK: no network)', cold.map((c) => c.readsMs), null, '']);
  rows.push(['cold start: first request (new shopper, 32-item listing)', cold.map((c) => c.firstMs), null, cold[0].edgerec]);
  rows.push(['cold start: second request, same process', cold.map((c) => c.secondMs), null, cold[0].again]);
  rows.push(['cold start: init + reads + first request', cold.map((c) => c.initMs + c.readsMs + c.firstMs), null, '']);
  console.log(`Lambda@Edge handler in Node ${process.version} (${N} requests per row after 50 warm-up, ${COLD} cold starts); ms`);
  console.log(`package ${built.summary.bytes} bytes (limit ${built.summary.limit}); RSS after the run ${(rss / 1048576).toFixed(0)} MiB, after a cold start ${(pct(cold.map((c) => c.rss), 50) / 1048576).toFixed(0)} MiB`);
  console.log(`garbage collections during the warm rows: ${gc.length}, p50 ${fmt(pct(gc, 50))} ms, p99 ${fmt(pct(gc, 99))} ms, max ${fmt(Math.max(...gc))} ms`);
  console.log('| request | p50 | p99 | own p50 | own p99 | outcome | response bytes |');
  console.log('|---|---:|---:|---:|---:|---|---:|');
  for (const [name, xs, , note] of rows) console.log(`| ${name} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 99))} | | | ${note} | |`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`| ${name} | ${fmt(pct(r.total, 50))} | ${fmt(pct(r.total, 99))} | ${fmt(pct(r.own, 50))} | ${fmt(pct(r.own, 99))} | ${r.outcome} | ${r.size} |`);
  }
  const json = {
    zip_bytes: built.summary.bytes,
    cold_init_ms_p50: +pct(cold.map((c) => c.initMs), 50).toFixed(2), cold_init_ms_p99: +pct(cold.map((c) => c.initMs), 99).toFixed(2),
    cold_reads_ms_p50: +pct(cold.map((c) => c.readsMs), 50).toFixed(2),
    cold_first_ms_p50: +pct(cold.map((c) => c.firstMs), 50).toFixed(2), cold_first_ms_p99: +pct(cold.map((c) => c.firstMs), 99).toFixed(2),
    cold_total_ms_p50: +pct(cold.map((c) => c.initMs + c.readsMs + c.firstMs), 50).toFixed(2),
    cold_total_ms_p99: +pct(cold.map((c) => c.initMs + c.readsMs + c.firstMs), 99).toFixed(2),
    rss_mib: +(rss / 1048576).toFixed(1), events_logged: events(), gc_count: gc.length, gc_ms_p99: +pct(gc, 99).toFixed(2),
  };
  for (const [name, r] of Object.entries(results)) {
    const k = name.split(' (')[0].replace(/[^a-z0-9]+/gi, '_').replace(/_+$/, '').toLowerCase();
    json[`${k}_ms_p50`] = +pct(r.total, 50).toFixed(3);
    json[`${k}_ms_p99`] = +pct(r.total, 99).toFixed(3);
    json[`${k}_own_ms_p50`] = +pct(r.own, 50).toFixed(3);
    json[`${k}_own_ms_p99`] = +pct(r.own, 99).toFixed(3);
  }
  console.log(JSON.stringify(json));
  emuProc.kill('SIGTERM');
  await standin.close();
  rmSync(dir, { recursive: true, force: true });
}

/** The CloudFront emulator alone (the internal behaviour's origin-request: the prefix removed). */
async function emulator(origin) {
  const { CloudFrontEmulator } = await import('../tests/lambda-edge/cloudfront-emulator.mjs');
  const emu = new CloudFrontEmulator({ origin, forwardHeaders: ['authorization', 'store', 'content-currency', 'x-magento-cache-id'] });
  emu.handler = (event) => { const r = event.Records[0].cf.request; r.uri = r.uri.slice('/_edgerec/origin'.length) || '/'; return r; };
  process.stdout.write(`${await emu.listen()}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

if (argv[0] === '--child') await child(argv[1], argv[2]);
else if (argv[0] === '--emulator') await emulator(argv[1]);
else await main();
