// worker.mjs — the time edgerec's Worker adds to a 48-item Venia category page, in workerd, on
// loopback: the Magento stand-in (tests/standin/server.mjs) as the origin, and the Worker
// (worker-shim/cloudflare/worker.js with wasm/edgerec.wasm, bundled by `wrangler deploy --dry-run` as a deploy would) either directly in workerd through Miniflare's API
// (default: one workerd, the Worker behind Miniflare's entry worker, as close to production as
// local gets) or under `wrangler dev --local` (worker-shim/dev/stack.mjs; wrangler adds a proxy
// workerd in front).  Part of `./build.sh bench`.  Prints a table on stderr, then one JSON line.
//
//   node bench/worker.mjs [--via miniflare|wrangler] [--samples 400] [--seconds 5] [--concurrency 8]
//                         [--port 18797] [--origin-port 18798] [--gap-ms 0] [--bundle FILE]
//   --bundle FILE   serve this .erb (any catalog size; its own model version) instead of training the demo's
//
// What is timed (client side, process.hrtime.bigint() from sending the request to the last body
// byte; node:http with keep-alive, one connection for the sequential rows):
//   origin   the stand-in directly: the peer, measured in the same run, interleaved
//   pass     through the Worker, a request it passes untouched: `Sec-GPC: 1` (bypass; reason=opt-out:
//            identify, the origin fetch, the origin's bytes streamed back with one header added)
//   rerank   through the Worker, re-ranked for a shopper with a profile (5 product views first; the
//            er_p cookie kept from each answer): identify, decrypt the profile, the origin fetch, the
//            engine's rerank, the impression event queued, the profile re-sealed into Set-Cookie
// All three send Venia's GetCategories as an Apollo POST, which no cache holds: every Worker request
// reaches the origin, so (Worker − origin) is the Worker's own time plus the local hop into workerd
// (with --via wrangler also wrangler's proxy workerd; in production neither), and (rerank − pass)
// is what personalization costs.  Samples are interleaved origin, pass, rerank, so
// drift hits all three alike.  Extra row: `rerank GET (cache hit)`, Venia's GET, whose origin
// response the Worker takes from its shared cache (no origin round trip at all).
// And `no work`: GET /edge/bench-noop, the Worker's own 404 (no origin, no storage), which bounds the
// local hops (client → [wrangler's proxy workerd →] Miniflare's entry worker → the Worker) from above.  The Worker's own
// Server-Timing (edgerec;dur) is not used: workerd's clock moves in whole milliseconds here and, in
// production, not at all during synchronous work (Spectre mitigation), so it cannot time a rerank.
// --gap-ms N waits N ms after each sequential sample: work a request leaves to waitUntil (the
// impression's Queue send) then finishes before the next request is sent, as it would between one
// shopper's clicks; without it (the default) that work overlaps the next sample, whatever its kind.
// Then requests/s at N concurrent connections for N seconds each (origin, pass, rerank).
// Every kind is checked before it is timed (its x-edgerec, 48 items): the bench aborts otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { GET_CATEGORIES } from '../tests/lib/venia-queries.mjs';
import { explicitSort, isListing, pageType, productViewKey, readOperation } from '../worker-shim/core/graphql.js';
import { writeBundle } from '../worker-shim/cloudflare/bundle-shards.js';
import { ROOT, agentFor, closeAgents, cookieHeader, keepCookies, request, startMiniflare as startWorkerd, syncCatalogView } from './worker-stack.mjs';

const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const LUMA = process.env.EDGEREC_LUMA || `${ROOT}/../shared/data/luma`;
const OUT = `${ROOT}/build/bench/worker`;
const argv = process.argv.slice(2);
const opt = (n, d) => { const i = argv.indexOf(n); return i >= 0 ? Number(argv[i + 1]) : d; };
const VIA = argv.includes('--via') ? argv[argv.indexOf('--via') + 1] : 'miniflare';
if (!['miniflare', 'wrangler'].includes(VIA)) { console.error('worker-bench: --via miniflare|wrangler'); process.exit(2); }
const SAMPLES = opt('--samples', 400), SECONDS = opt('--seconds', 5), CONC = opt('--concurrency', 8);
const PORT = opt('--port', 18797), ORIGIN_PORT = opt('--origin-port', 18798);
const GAP_MS = opt('--gap-ms', 0);
if (!(Number.isFinite(GAP_MS) && GAP_MS >= 0 && GAP_MS <= 1000)) { console.error('worker-bench: --gap-ms takes 0..1000 (milliseconds)'); process.exit(2); }
const WARMUP = 60;
const log = (...a) => console.error('worker-bench:', ...a);
let started = false; // once the stack runs, a failure throws so that `finally` stops it
const die = (m) => { if (started) throw new Error(m); console.error(`worker-bench: ${m}`); process.exit(1); };

// ---- the bundle: the demo recipe (Luma catalog, synthetic sessions, train) ----------------------
for (const f of [CLI, `${ROOT}/wasm/edgerec.wasm`, LUMA]) if (!existsSync(f)) die(`${f} is missing (run ./build.sh)`);
mkdirSync(OUT, { recursive: true });
const sh = (cmd, args, o = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...o });
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
};
sh(CLI, ['import', 'luma-catalog', LUMA, '--out', `${OUT}/catalog.json`]);
if (!argv.includes('--bundle')) sh(process.execPath, [`${ROOT}/tests/standin/synthetic-sessions.mjs`, '--catalog', `${OUT}/catalog.json`, '--out', `${OUT}/synthetic.ndjson`]);
const BUNDLE = argv.includes('--bundle') ? resolve(argv[argv.indexOf('--bundle') + 1]) : `${OUT}/bench.erb`;
if (BUNDLE === `${OUT}/bench.erb`) sh(CLI, ['train', '--events', `${OUT}/synthetic.ndjson`, '--catalog', `${OUT}/catalog.json`, '--version', 'bench-1', '--quiet', '--out', BUNDLE]);
else if (!existsSync(BUNDLE)) die(`--bundle ${BUNDLE}: no such file`);
const MODEL = JSON.parse(sh(CLI, ['inspect', BUNDLE])).model_version;
const catalog = JSON.parse(readFileSync(`${OUT}/catalog.json`, 'utf8'));

const GET_PRODUCT = `query getProductDetailForProductPage($urlKey: String!) { products(filter: {url_key: {eq: $urlKey}}) { items { id sku name url_key } } }`;

// ---- the two ways of running the Worker (worker-stack.mjs) -------------------------------------

const startMiniflare = () => startWorkerd({ out: OUT, catalog: `${OUT}/catalog.json`, port: PORT, originPort: ORIGIN_PORT })
  .then(async (s) => {
    await writeBundle(s.kv, MODEL, new Uint8Array(readFileSync(BUNDLE))); // over 8 MiB: KV shards, as the admin PUT stores it
    await s.kv.put('bundle:active', MODEL);
    return s;
  });

async function startWrangler() {
  const { startStack } = await import('../worker-shim/dev/stack.mjs');
  rmSync(`${OUT}/state`, { recursive: true, force: true });
  const s = await startStack({ bundle: BUNDLE, catalog: `${OUT}/catalog.json`, port: PORT, originPort: ORIGIN_PORT,
    stateDir: `${OUT}/state`, quiet: true, standinArgs: ['--quiet'] });
  return { ...s, cron: async () => { const { runCron } = await import('../worker-shim/dev/stack.mjs'); await runCron(s.worker, 'catalog'); } };
}

// ---- run ----------------------------------------------------------------------------------------
log(VIA === 'miniflare' ? 'starting the stand-in and the Worker in workerd (Miniflare)' : 'starting the stand-in and wrangler dev --local');
const stack = await (VIA === 'miniflare' ? startMiniflare() : startWrangler()).catch((e) => die(e.stack || e.message));
started = true;
const stopAll = async () => { closeAgents(); await stack.stop(); };
process.on('SIGINT', async () => { await stopAll(); process.exit(130); });

try {
  const W = stack.worker, O = stack.origin;
  // Men > Tops: 48 products (Jackets, Hoodies, Tees, Tanks)
  const nav = JSON.parse((await request(O, { method: 'GET', path: `/graphql?query=${encodeURIComponent('{ categoryList { children { uid name children { uid name product_count } } } }')}` })).body);
  const men = nav.data.categoryList[0].children.find((c) => c.name === 'Men');
  const tops = men.children.find((c) => c.name === 'Tops');
  const vars = { currentPage: 1, uid: tops.uid, filters: { category_uid: { eq: tops.uid } }, pageSize: 48, sort: { position: 'ASC' } };
  const body = JSON.stringify({ query: GET_CATEGORIES, operationName: 'GetCategories', variables: vars });
  const getPath = `/graphql?${new URLSearchParams({ query: GET_CATEGORIES, operationName: 'GetCategories', variables: JSON.stringify(vars) })}`;
  const post = { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) edgerec-bench', store: 'default' };

  // the shopper: five product views of Men's jackets build a profile
  const jar = new Map();
  const seq = agentFor('seq', 1);
  const jackets = catalog.items.filter((i) => i.visible !== false && !i.parent && (i.categories ?? []).includes('Men/Tops/Jackets')).slice(0, 5);
  for (const it of jackets) {
    const r = await request(W, { method: 'GET', agent: seq, headers: { ...post, cookie: cookieHeader(jar) },
      path: `/graphql?${new URLSearchParams({ query: GET_PRODUCT, operationName: 'getProductDetailForProductPage', variables: JSON.stringify({ urlKey: it.url_key }) })}` });
    keepCookies(jar, r);
  }
  if (!jar.has('er_p')) die('no profile cookie after the product views');

  // one full pass of the catalog sync (a run asks for at most 2,500 skus): every unit can show its products
  await syncCatalogView(W, stack.cron);
  // Adobe's recommendations document (the commerce boilerplate block's query) on a product page:
  // answered by the Worker alone; the sku varies between samples
  const RECS = 'query GetRecommendations($pageType: PageType!, $currentSku: String) { recommendations(pageType: $pageType, currentSku: $currentSku) { results { unitId typeId storefrontLabel totalProducts productsView { __typename sku name url urlKey images { url } ... on SimpleProductView { price { final { amount { currency value } } } } } } totalResults } }';
  let unitN = 0;
  const unitsPath = () => `/graphql?${new URLSearchParams({ query: RECS, operationName: 'GetRecommendations', variables: JSON.stringify({ pageType: 'Product', currentSku: jackets[unitN++ % jackets.length].sku }) })}`;
  const kinds = {
    origin: () => request(O, { body, agent: agentFor('o', 1), headers: post }),
    units: async () => { const r = await request(W, { method: 'GET', path: unitsPath(), agent: agentFor('u', 1), headers: { ...post, cookie: cookieHeader(jar) } }); keepCookies(jar, r); return r; },
    pass: () => request(W, { body, agent: agentFor('p', 1), headers: { ...post, 'sec-gpc': '1' } }),
    rerank: async () => { const r = await request(W, { body, agent: agentFor('r', 1), headers: { ...post, cookie: cookieHeader(jar) } }); keepCookies(jar, r); return r; },
    noop: () => request(W, { method: 'GET', path: '/edge/bench-noop', agent: agentFor('n', 1), headers: post }),
    rerank_get_cached: async () => { const r = await request(W, { method: 'GET', path: getPath, agent: agentFor('g', 1), headers: { ...post, cookie: cookieHeader(jar) } }); keepCookies(jar, r); return r; },
  };
  const expectEdge = { units: (e) => e === `recommended; model=${MODEL}`, origin: (e) => e === undefined, pass: (e) => e === 'bypass; reason=opt-out', rerank: (e) => e === `reranked; model=${MODEL}`, rerank_get_cached: (e) => /^reranked/.test(e ?? ''), noop: (e) => e === undefined };
  let items = 0, bytes = 0;
  for (const [k, fn] of Object.entries(kinds)) { // check before timing
    const r = await fn();
    if (k === 'noop') { if (r.status !== 404) die(`noop: HTTP ${r.status}`); continue; }
    if (k === 'units') {
      const u = JSON.parse(r.body).data?.recommendations?.results ?? [];
      if (r.status !== 200 || !u.length || !u.every((x) => x.productsView.length) || !expectEdge.units(r.headers['x-edgerec'])) die(`units: HTTP ${r.status}, ${r.body.slice(0, 300)}`);
      continue;
    }
    const n = JSON.parse(r.body).data?.products?.items?.length;
    if (r.status !== 200 || n !== 48 || !expectEdge[k](r.headers['x-edgerec'])) die(`${k}: HTTP ${r.status}, ${n} items, x-edgerec ${r.headers['x-edgerec']}`);
    if (k === 'origin') { items = n; bytes = r.body.length; }
  }
  log(`a ${items}-item category page, ${bytes} bytes; ${WARMUP} warm-up + ${SAMPLES} samples per kind, interleaved`);
  const samples = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    for (const [k, fn] of Object.entries(kinds)) {
      const r = await fn();
      if (r.status !== (k === 'noop' ? 404 : 200) || !expectEdge[k](r.headers['x-edgerec'])) die(`${k} sample ${i}: HTTP ${r.status}, x-edgerec ${r.headers['x-edgerec']}`);
      if (i >= WARMUP) samples[k].push(r.us);
      if (GAP_MS) await new Promise((res) => setTimeout(res, GAP_MS));
    }
  }
  const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const stat = Object.fromEntries(Object.entries(samples).map(([k, a]) => [k, { p50: pct(a, 0.5), p99: pct(a, 0.99) }]));

  // throughput at CONC connections
  async function throughput(name, fn) {
    const until = Date.now() + SECONDS * 1000;
    let n = 0, bad = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONC }, async () => {
      while (Date.now() < until) { const r = await fn(); if (r.status !== 200) bad++; n++; }
    }));
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (bad) die(`${name}: ${bad} non-200 answers under load`);
    return n / s;
  }
  const cAgent = (k) => agentFor(`c-${k}`, CONC);
  const jars = Array.from({ length: CONC }, () => new Map(jar)); // CONC shoppers with the same profile
  let next = 0;
  const rps = {
    origin: await throughput('origin', () => request(O, { body, agent: cAgent('o'), headers: post })),
    pass: await throughput('pass', () => request(W, { body, agent: cAgent('p'), headers: { ...post, 'sec-gpc': '1' } })),
    rerank: await throughput('rerank', async () => {
      const j = jars[next++ % CONC];
      const r = await request(W, { body, agent: cAgent('r'), headers: { ...post, cookie: cookieHeader(j) } });
      keepCookies(j, r);
      return r;
    }),
  };

  // fresh isolates (Miniflare only): the first request after a restart, units vs the no-work path, alternated
  const fresh = { units: [], noop: [] };
  if (stack.restart) {
    for (let i = 0; i < 5; i++) {
      for (const k of ['units', 'noop']) {
        await stack.restart();
        const r = await kinds[k]();
        if (r.status !== (k === 'noop' ? 404 : 200)) die(`fresh ${k}: HTTP ${r.status}`);
        fresh[k].push(r.us);
      }
    }
  }

  // ---- report -----------------------------------------------------------------------------------
  const ms = (us) => (us / 1000).toFixed(2);
  const o = stat.origin;
  console.error(`\nWorker on a ${items}-item Venia category page (${bytes} B), ${VIA === 'miniflare' ? 'workerd via Miniflare' : 'wrangler dev --local'} ${agentsNote()}; ${SAMPLES} sequential samples each, interleaved${GAP_MS ? `, ${GAP_MS} ms apart` : ''}; ms`);
  console.error('| request | p50 ms | p99 ms | added p50 | added p99 | req/s at ' + CONC + ' conn. |\n|---|---:|---:|---:|---:|---:|');
  const signed = (us) => `${us >= 0 ? '+' : '−'}${ms(Math.abs(us))}`;
  const row = (label, s, r, added = true) => console.error(`| ${label} | ${ms(s.p50)} | ${ms(s.p99)} | ${added ? signed(s.p50 - o.p50) : ''} | ${added ? signed(s.p99 - o.p99) : ''} | ${r ? Math.round(r) : ''} |`);
  row('origin directly (the peer)', o, rps.origin, false);
  row('Worker, pass-through (Sec-GPC: 1)', stat.pass, rps.pass);
  row('Worker, re-ranked (shopper with a profile)', stat.rerank, rps.rerank);
  row('Worker, re-ranked, Venia GET (origin from the shared cache)', stat.rerank_get_cached, null);
  row('Worker, no work: GET /edge/bench-noop (404; the local hops alone)', stat.noop, null, false);
  row('Worker, recommendation units (Adobe\'s document, no origin call)', stat.units, null, false);
  console.error(`recommendation units over the no-work path: ${signed(stat.units.p50 - stat.noop.p50)} ms at p50 (target ≤ +1 ms), ${signed(stat.units.p99 - stat.noop.p99)} ms at p99; the origin round trip it replaces: ${ms(o.p50)} ms p50`);
  const med = (a) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1] : NaN);
  if (fresh.units.length) console.error(`in a fresh isolate (bundle, units and catalog view not yet cached; ${fresh.units.length} restarts): units ${ms(med(fresh.units))} ms, no-work ${ms(med(fresh.noop))} ms (medians): ${signed(med(fresh.units) - med(fresh.noop))} ms`);
  console.error(`re-ranked vs pass-through: ${signed(stat.rerank.p50 - stat.pass.p50)} ms at p50 (target ≤ +0.7 ms), ${signed(stat.rerank.p99 - stat.pass.p99)} ms at p99${GAP_MS ? '' : ' (no --gap-ms: work a request leaves to waitUntil lands on the next sample)'}`);
  console.error(`"added" = the Worker row minus the origin row; it includes the local hop into workerd${VIA === 'wrangler' ? ' and wrangler\'s proxy workerd' : ''} (not in production),`);
  console.error('which the no-work row bounds from above.');
  const gq = graphqlCost();
  console.error(`\nReading the operation (worker-shim/core/graphql.js, graphql-js ${gq.version}; V8 in Node, as in workerd), Venia's GetCategories POST body, ${gq.n} samples; µs`);
  console.error('| step | p50 µs | p99 µs | × JSON.parse of the body |\n|---|---:|---:|---:|');
  for (const [label, k] of [['JSON.parse of the body (the peer: any Worker does this)', 'json'], ['readOperation, document first seen (lex bound check + parse)', 'cold'],
    ['readOperation, document seen before (the isolate\'s cache)', 'warm'], ['… + every question (sort, listing, page type, product view)', 'answers']]) {
    console.error(`| ${label} | ${gq[k].p50.toFixed(1)} | ${gq[k].p99.toFixed(1)} | ${(gq[k].p50 / gq.json.p50).toFixed(1)} |`);
  }
  const r0 = (x) => Math.round(x);
  console.log(JSON.stringify({
    graphql_parse_cold_p50_us: gq.cold.p50, graphql_parse_cold_p99_us: gq.cold.p99, graphql_parse_warm_p50_us: gq.warm.p50,
    graphql_parse_warm_p99_us: gq.warm.p99, graphql_answers_p50_us: gq.answers.p50, graphql_json_parse_p50_us: gq.json.p50,
    worker_via: VIA, worker_gap_ms: GAP_MS, worker_page_items: items, worker_page_bytes: bytes, worker_samples: SAMPLES, worker_concurrency: CONC,
    worker_origin_p50_us: r0(o.p50), worker_origin_p99_us: r0(o.p99),
    worker_pass_p50_us: r0(stat.pass.p50), worker_pass_p99_us: r0(stat.pass.p99),
    worker_rerank_p50_us: r0(stat.rerank.p50), worker_rerank_p99_us: r0(stat.rerank.p99),
    worker_rerank_get_cached_p50_us: r0(stat.rerank_get_cached.p50), worker_rerank_get_cached_p99_us: r0(stat.rerank_get_cached.p99),
    worker_added_pass_p50_us: r0(stat.pass.p50 - o.p50), worker_added_pass_p99_us: r0(stat.pass.p99 - o.p99),
    worker_added_rerank_p50_us: r0(stat.rerank.p50 - o.p50), worker_added_rerank_p99_us: r0(stat.rerank.p99 - o.p99),
    worker_rerank_over_pass_p50_us: r0(stat.rerank.p50 - stat.pass.p50), worker_rerank_over_pass_p99_us: r0(stat.rerank.p99 - stat.pass.p99),
    worker_noop_p50_us: r0(stat.noop.p50), worker_noop_p99_us: r0(stat.noop.p99),
    worker_units_p50_us: r0(stat.units.p50), worker_units_p99_us: r0(stat.units.p99),
    worker_units_fresh_median_us: r0(med(fresh.units)), worker_noop_fresh_median_us: r0(med(fresh.noop)),
    worker_units_over_noop_p50_us: r0(stat.units.p50 - stat.noop.p50), worker_units_over_noop_p99_us: r0(stat.units.p99 - stat.noop.p99),
    worker_rps_origin: r0(rps.origin), worker_rps_pass: r0(rps.pass), worker_rps_rerank: r0(rps.rerank),
    cpus: cpus().length, load_1m: Math.round(loadavg()[0] * 100) / 100,
  }));
} catch (e) {
  console.error(`worker-bench: ${e.message}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
/** The cost of reading a GraphQL operation: Venia's GetCategories as a POST body.  `cold` gives every
 * sample a document the cache has never seen (a unique trailing comment), `warm` repeats one. */
function graphqlCost(n = 2000) {
  const url = new URL('https://shop.example/graphql');
  const variables = { currentPage: 1, uid: 'MTI=', filters: { category_uid: { eq: 'MTI=' } }, pageSize: 48, sort: { position: 'ASC' } };
  const body = (q) => JSON.stringify({ query: q, operationName: 'GetCategories', variables });
  const warmBody = body(GET_CATEGORIES);
  const coldBodies = Array.from({ length: n + 200 }, (_, i) => body(`${GET_CATEGORIES}\n# ${i}-${process.pid}`));
  const time = (f) => { const t = process.hrtime.bigint(); f(); return Number(process.hrtime.bigint() - t) / 1000; };
  const out = { json: [], cold: [], warm: [], answers: [] };
  for (let i = 0; i < n + 200; i++) { // the first 200 warm the JIT
    const rec = (k, us) => { if (i >= 200) out[k].push(us); };
    rec('json', time(() => JSON.parse(coldBodies[i])));
    rec('cold', time(() => readOperation('POST', url, coldBodies[i])));
    rec('warm', time(() => readOperation('POST', url, warmBody)));
    rec('answers', time(() => { const { op } = readOperation('POST', url, warmBody); productViewKey(op); explicitSort(op); isListing(op); pageType(op); }));
  }
  if (!readOperation('POST', url, warmBody).op || explicitSort(readOperation('POST', url, warmBody).op) !== null) throw new Error('graphql.js misread GetCategories');
  const pct = (a, p) => { const x = [...a].sort((u, v) => u - v); return Math.round(x[Math.min(x.length - 1, Math.floor(p * x.length))] * 10) / 10; };
  const st = Object.fromEntries(Object.entries(out).map(([k, a]) => [k, { p50: pct(a, 0.5), p99: pct(a, 0.99) }]));
  return { ...st, n, version: JSON.parse(readFileSync(`${ROOT}/node_modules/graphql/package.json`, 'utf8')).version };
}

function agentsNote() { return `(${cpus().length} cores, load ${loadavg()[0].toFixed(2)})`; }
