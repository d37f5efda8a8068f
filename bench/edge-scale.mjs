// edge-scale.mjs — `./build.sh bench edge-scale` (opt-in, minutes): issue 16's Scale and First-request
// targets in the Worker, in workerd (Miniflare) in front of the Magento stand-in (bench/worker-stack.mjs).
//
//   1. Scale: two generated catalogs, the base (2,000 items) and the large one (100,000): for each,
//      edgerec synth (a log + its catalog), edgerec train (the bundle, in whatever format build/edgerec
//      writes), the bundle stored in KV as the admin PUT stores it (bundle-shards.js: over 8 MiB in
//      shards), the stand-in serving the catalog, the catalog view synced in full by the cron
//      (CATALOG_SYNC_BATCHES 1000), then recommendation units (Adobe's document for a product page,
//      answered by the Worker: the engine plus the catalog view) timed: p50 / p99 over --samples
//      requests, the current sku varied.  The isolate's heap after them, over workerd's inspector
//      (V8's used heap plus ArrayBuffer backing stores, the engine's wasm memory among them).
//      Targets: the large catalog loads and serves within 128 MB; its p50 ≤ 1.5 × the base's.
//   2. First request: a bundle of at least --first-mb MB (20; items chosen from step 1's bytes per
//      item), its catalog view synced; then a fresh isolate (workerd restarted, KV kept) and a units
//      request every --every-ms (10) ms, none waiting for another, until --first-ok personalized
//      answers: the time to the first personalized answer, the answers that fell open meanwhile
//      (`bypass; reason=no-bundle`), and the slowest request, less the isolate's own start (a fresh
//      isolate's first no-work request, timed after a restart of its own), against the fail-open
//      deadline (EDGE_DEADLINE_MS, 1500 ms).  Repeated --restarts times.
//
//   node bench/edge-scale.mjs [--short] [--samples 300] [--first-mb 20] [--restarts 3] [--every-ms 10]
//                             [--first-items N] [--port 19102] [--origin-port 19103] [--inspector-port 19104]
//   --short: 500 vs 5,000 items, a first-request bundle of that 5,000-item catalog, 60 samples, 2 restarts:
//   the test form (tests/suites/edge-scale.sh), which fails (exit 1) when a unit is empty, the heap is
//   over 128 MB, no personalized answer comes, or a request waits past the deadline.
// Generated inputs are kept in build/bench/edge-scale/ and reused while build/edgerec and the
// parameters are unchanged.  Prints a table on stderr, then one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { writeBundle } from '../worker-shim/cloudflare/bundle-shards.js';
import { DEFAULT_DEADLINE_MS } from '../worker-shim/cloudflare/deadline.js';
import { ROOT, agentFor, closeAgents, request, startMiniflare, syncCatalogView } from './worker-stack.mjs';

const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(n); return i >= 0 ? Number(argv[i + 1]) : d; };
const SHORT = argv.includes('--short');
const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const OUT = `${ROOT}/build/bench/edge-scale`;
const SAMPLES = opt('--samples', SHORT ? 60 : 300);
const FIRST_MB = opt('--first-mb', 20);
const RESTARTS = opt('--restarts', SHORT ? 2 : 3);
const EVERY_MS = opt('--every-ms', 10);
const FIRST_OK = 3;
const PORT = opt('--port', 19102), ORIGIN_PORT = opt('--origin-port', 19103), INSPECTOR_PORT = opt('--inspector-port', 19104);
const ISOLATE_MB = 128;
const DEADLINE_MS = DEFAULT_DEADLINE_MS; // the Worker's EDGE_DEADLINE_MS (not set here: its default)
const log = (...a) => console.error('edge-scale:', ...a);
const die = (m) => { console.error(`edge-scale: ${m}`); process.exit(1); };
for (const f of [CLI, `${ROOT}/wasm/edgerec.wasm`]) if (!existsSync(f)) die(`${f} is missing: run ./build.sh first`);
mkdirSync(OUT, { recursive: true });
const failures = [];
let checks = 0; // checks made (each may add a failure): the suite's count

// ---- inputs: a generated log, its catalog, the bundle (kept while the CLI and the sizes are unchanged) ----
function sh(args) {
  const r = spawnSync(CLI, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) die(`edgerec ${args.join(' ')} failed:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}
/** {bundle, catalog, events, version, bytes, items} for a generated catalog of `items` items. */
function generated(items) {
  const events = Math.min(2_000_000, Math.max(200_000, 20 * items)); // training time grows with both
  const base = `${OUT}/items-${items}`, version = `scale-${items}`;
  const stamp = `${base}.stamp`, want = `${items} ${events} ${statSync(CLI).mtimeMs}`;
  if (!existsSync(`${base}.erb`) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
    log(`generating ${items.toLocaleString('en')} items, ${events.toLocaleString('en')} events; training (minutes for large catalogs)`);
    const categories = Math.min(1000, Math.max(10, Math.round(items / 100))); // synth's default (1,000) from 100,000 items on
    sh(['synth', '--items', String(items), '--categories', String(categories), '--events', String(events), '--format', 'ndjson', '--out', `${base}.ndjson`, '--catalog-out', `${base}.catalog.json`]);
    sh(['train', '--events', `${base}.ndjson`, '--catalog', `${base}.catalog.json`, '--version', version, '--quiet', '--out', `${base}.erb`]);
    writeFileSync(stamp, want);
  }
  const info = JSON.parse(sh(['inspect', `${base}.erb`]));
  if (!info.valid) die(`${base}.erb: ${info.error}`);
  return { bundle: `${base}.erb`, catalog: `${base}.catalog.json`, events: `${base}.ndjson`, version: info.model_version, bytes: info.bytes, items: info.items };
}
/** Skus shoppers looked at (the log's first distinct viewed items): the current skus the requests vary over. */
function viewedSkus(events, n = 500) {
  const seen = new Set();
  const text = readFileSync(events, 'utf8');
  for (let at = 0; seen.size < n && at < text.length;) {
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end < 0 ? text.length : end);
    at = end < 0 ? text.length : end + 1;
    const m = /"type":"view","item":"([^"]+)"/.exec(line);
    if (m) seen.add(m[1]);
  }
  return [...seen];
}

const RECS = 'query GetRecommendations($pageType: PageType!, $currentSku: String) { recommendations(pageType: $pageType, currentSku: $currentSku) { results { unitId typeId totalProducts productsView { __typename sku name url } } totalResults } }';
const unitsPath = (sku) => `/graphql?${new URLSearchParams({ query: RECS, operationName: 'GetRecommendations', variables: JSON.stringify({ pageType: 'Product', currentSku: sku }) })}`;
const HEADERS = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) edgerec-bench', store: 'default' };
const productsIn = (r) => { try { return (JSON.parse(r.body).data?.recommendations?.results ?? []).reduce((n, u) => n + u.productsView.length, 0); } catch { return 0; } };

/** The Worker over one generated catalog: bundle in KV, catalog view synced. */
async function stackFor(g, inspect) {
  const s = await startMiniflare({ out: `${OUT}/run`, catalog: g.catalog, port: PORT, originPort: ORIGIN_PORT,
    bindings: { CATALOG_SYNC_BATCHES: '1000' }, inspectorPort: inspect ? INSPECTOR_PORT : null });
  try {
    const w = await writeBundle(s.kv, g.version, new Uint8Array(readFileSync(g.bundle)));
    await s.kv.put('bundle:active', g.version);
    const t0 = Date.now();
    const runs = await syncCatalogView(s.worker, s.cron);
    const health = JSON.parse((await request(s.worker, { method: 'GET', path: '/edge/health', agent: agentFor('h', 1) })).body);
    return { ...s, shards: w.shards.length, syncRuns: runs, syncSeconds: (Date.now() - t0) / 1000, view: health.catalog?.stores?.[0] ?? {} };
  } catch (e) { await s.stop(); throw e; }
}

const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const med = (a) => pct(a, 0.5);

// ---- 1. scale ------------------------------------------------------------------------------------
const sizes = SHORT ? [500, 5_000] : [2_000, 100_000];
const scale = [];
for (const items of sizes) {
  const g = generated(items);
  const skus = viewedSkus(g.events);
  log(`${items.toLocaleString('en')} items: bundle ${(g.bytes / 1e6).toFixed(1)} MB; starting the Worker and syncing the catalog view`);
  const s = await stackFor(g, true);
  try {
    const agent = agentFor(`u-${items}`, 1);
    const lat = [];
    let empty = 0, edge = null;
    for (let i = 0; i < 30 + SAMPLES; i++) {
      const r = await request(s.worker, { method: 'GET', path: unitsPath(skus[i % skus.length]), agent, headers: HEADERS });
      edge = r.headers['x-edgerec'];
      if (r.status !== 200 || edge !== `recommended; model=${g.version}`) throw new Error(`units over ${items} items: HTTP ${r.status}, x-edgerec ${edge}: ${r.body.slice(0, 200)}`);
      if (!productsIn(r)) empty++;
      if (i >= 30) lat.push(r.us);
    }
    const heap = await s.heap().catch((e) => ({ error: e.message }));
    const row = { items, bundle_bytes: g.bytes, bytes_per_item: g.bytes / g.items, shards: s.shards, view_bytes: s.view.bytes ?? null, view_records: s.view.records ?? null,
      sync_runs: s.syncRuns, sync_seconds: s.syncSeconds, p50_us: med(lat), p99_us: pct(lat, 0.99), empty, samples: lat.length, heap };
    scale.push(row);
    checks++; if (empty > lat.length / 2) failures.push(`${items} items: ${empty} of ${lat.length} unit answers had no product`);
    const mem = heap.heapUsed !== undefined ? heap.heapUsed + (heap.external ?? 0) : NaN;
    checks++; if (!(mem <= ISOLATE_MB * 1024 * 1024)) failures.push(`${items} items: isolate memory ${heap.error ?? `${(mem / 2 ** 20).toFixed(1)} MiB`} (limit ${ISOLATE_MB} MB)`);
  } finally { closeAgents(); await s.stop(); }
}

// ---- 2. the first personalized answer in a fresh isolate ------------------------------------------------
const big = scale.at(-1);
const firstItems = SHORT ? sizes.at(-1) : opt('--first-items', Math.max(sizes.at(-1), Math.ceil((FIRST_MB * 1e6 / big.bytes_per_item) * 1.1 / 10_000) * 10_000));
const fg = generated(firstItems);
if (!SHORT && fg.bytes < FIRST_MB * 1e6) log(`note: the first-request bundle is ${(fg.bytes / 1e6).toFixed(1)} MB, under --first-mb ${FIRST_MB}`);
log(`first request: ${firstItems.toLocaleString('en')} items, bundle ${(fg.bytes / 1e6).toFixed(1)} MB; ${RESTARTS} fresh isolates`);
const fskus = viewedSkus(fg.events);
const fs = await stackFor(fg, false);
const first = [];
try {
  for (let k = 0; k < RESTARTS; k++) {
    // the isolate's own start, no bundle involved: a fresh isolate's first GET /edge/bench-noop (the Worker's 404)
    await fs.restart();
    const start = (await request(fs.worker, { method: 'GET', path: '/edge/bench-noop', headers: HEADERS })).us / 1000;
    await fs.restart();
    const t0 = process.hrtime.bigint();
    const sent = [];
    let ok = 0, n = 0;
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    while (ok < FIRST_OK && ms() < 30_000) {
      const at = ms();
      const p = request(fs.worker, { method: 'GET', path: unitsPath(fskus[n++ % fskus.length]), headers: HEADERS }) // no agent: a connection each
        .then((r) => {
          const personalized = r.status === 200 && r.headers['x-edgerec'] === `recommended; model=${fg.version}` && productsIn(r) > 0;
          if (personalized) ok++;
          return { at, done: at + r.us / 1000, ms: r.us / 1000, status: r.status, edge: r.headers['x-edgerec'], personalized };
        }, (e) => ({ at, done: ms(), ms: ms() - at, status: 0, edge: e.message, personalized: false }));
      sent.push(p);
      await new Promise((r) => setTimeout(r, EVERY_MS));
    }
    const rs = await Promise.all(sent);
    const firstOk = rs.filter((r) => r.personalized).sort((a, b) => a.done - b.done)[0];
    const before = firstOk ? rs.filter((r) => r.at < firstOk.at) : rs;
    const row = {
      first_personalized_ms: firstOk ? firstOk.done : null, requests: rs.length, fell_open: before.filter((r) => /^bypass/.test(r.edge ?? '')).length,
      other: before.filter((r) => !/^bypass/.test(r.edge ?? '') && !r.personalized).length, max_ms: Math.max(...rs.map((r) => r.ms)), isolate_start_ms: start,
      reasons: [...new Set(rs.filter((r) => !r.personalized).map((r) => r.edge))],
    };
    first.push(row);
    checks++; if (!firstOk) failures.push(`fresh isolate ${k + 1}: no personalized answer in 30 s (${row.reasons.join(', ')})`);
    // a request waits for the isolate to start (not edgerec's to bound) and then at most BUNDLE_WAIT_MS for the bundle
    checks++; if (row.max_ms - start > DEADLINE_MS) failures.push(`fresh isolate ${k + 1}: a request took ${row.max_ms.toFixed(0)} ms, ${start.toFixed(0)} ms of it the isolate's start: past the ${DEADLINE_MS} ms deadline`);
  }
} finally { closeAgents(); await fs.stop(); }

// ---- report -------------------------------------------------------------------------------------------
const mb = (b) => (b / 1e6).toFixed(1), mib = (b) => (b / 2 ** 20).toFixed(1), msu = (us) => (us / 1000).toFixed(2);
console.error(`\nThe Worker in workerd (Miniflare) with generated catalogs (${cpus().length} cores, load ${loadavg()[0].toFixed(2)}); recommendation units for a product page, ${SAMPLES} sequential samples`);
console.error('| catalog | bundle | B/item | KV shards | catalog view | sync (cron runs, s) | units p50 ms | p99 ms | empty | isolate heap + buffers |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of scale) {
  const h = r.heap.heapUsed !== undefined ? `${mib(r.heap.heapUsed)} + ${r.heap.external === null ? '?' : mib(r.heap.external)} MiB` : r.heap.error;
  console.error(`| ${r.items.toLocaleString('en')} items | ${mb(r.bundle_bytes)} MB | ${r.bytes_per_item.toFixed(0)} | ${r.shards || 1} | ${r.view_records?.toLocaleString('en')} records, ${mb(r.view_bytes ?? 0)} MB | ${r.sync_runs}, ${r.sync_seconds.toFixed(0)} | ${msu(r.p50_us)} | ${msu(r.p99_us)} | ${r.empty} | ${h} |`);
}
const ratio = scale[1].p50_us / scale[0].p50_us;
console.error(`units p50, ${scale[1].items.toLocaleString('en')} vs ${scale[0].items.toLocaleString('en')} items: ${ratio.toFixed(2)}× (target ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'NOT met'})`);
console.error(`\nFirst personalized answer in a fresh isolate, ${mb(fg.bytes)} MB bundle (${firstItems.toLocaleString('en')} items), a units request every ${EVERY_MS} ms from the restart`);
console.error('| isolate | isolate start ms (first no-work request) | first personalized ms | requests before it that fell open | slowest request ms | slowest − isolate start (deadline ' + DEADLINE_MS + ') |\n|---:|---:|---:|---:|---:|---:|');
first.forEach((r, i) => console.error(`| ${i + 1} | ${r.isolate_start_ms.toFixed(0)} | ${r.first_personalized_ms?.toFixed(0) ?? 'none'} | ${r.fell_open}${r.other ? ` (+${r.other} other)` : ''} | ${r.max_ms.toFixed(0)} | ${(r.max_ms - r.isolate_start_ms).toFixed(0)} |`));
const firstMed = med(first.map((r) => r.first_personalized_ms ?? Infinity));
console.log(JSON.stringify({
  edge_scale_short: SHORT, scale, units_p50_ratio: ratio,
  first_bundle_bytes: fg.bytes, first_items: firstItems, first_personalized_median_ms: Number.isFinite(firstMed) ? firstMed : null,
  first_max_request_ms: Math.max(...first.map((r) => r.max_ms)), first, deadline_ms: DEADLINE_MS, checks, failures,
  cpus: cpus().length, load_1m: Math.round(loadavg()[0] * 100) / 100,
}));
if (failures.length) { console.error(`edge-scale: FAILED:\n  ${failures.join('\n  ')}`); process.exitCode = 1; }
