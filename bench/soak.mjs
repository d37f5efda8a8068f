// soak.mjs — `./build.sh soak [MINUTES]` (default 10) and, as `--seconds 60`, the `soak` suite of
// `./build.sh test`: the demo stack (the Magento stand-in + `wrangler dev --local`, as `./build.sh demo`
// starts it, with the demo recipe's bundle; the Worker frozen at start as `wrangler deploy --dry-run` bundles
// it, so that edits of the sources during a run do not reload it) under 32 connections of mixed storefront traffic, then
// four checks.  Prints a table per interval (requests, p50, p99, non-2xx, workerd's RSS), the checks as
// "ok - …" / "FAIL - …", "soak: N passed, N failed" and one JSON line.
//
//   node bench/soak.mjs [MINUTES] [--seconds S] [--connections 32] [--interval S] [--warmup S]
//        [--port 19150] [--origin-port 19151] [--inspector-port 19152]
//        [--p99-ratio 1.5] [--p99-slack-ms 25] [--rss-growth 0.1] [--rss-slack-mb 64] [--rss-ceiling-mb 2048]
//        [--drain-seconds 60]
//
// Traffic: each connection is one shopper (its own cookie jar, a keep-alive socket, a seeded random
// stream) sending, one request after the other, what Venia and Adobe's storefront components send:
// category listings (GetCategories, GET and POST), searches (ProductSearch), product pages
// (getProductDetailForProductPage), recommendation units (Adobe's GetRecommendations document and GET
// /edge/recommend), the cart (createEmptyCart, addProductsToCart), orders (placeOrder), the storefront
// script's events (POST /edge/events with ids of the soak's own) and feedback (POST /edge/feedback).
//
// The checks (each one line, with what was measured):
//  1. no non-2xx caused by edgerec: a non-2xx answer to /graphql is replayed to the stand-in directly
//     (the same method, path and body, edgerec's cookies left out); when the origin gives the same
//     status the answer is the origin's, otherwise edgerec's.  Every non-2xx of an /edge/* route, a
//     timeout (30 s) and a reset connection are edgerec's.
//  2. p99 stable: the last interval's p99 ≤ P99_RATIO × the first's + P99_SLACK_MS (1.5 × and 25 ms; the
//     slack matters only when the first p99 is a few ms: at 32 connections on 2 cores the client sees
//     hundreds of ms, queueing in wrangler dev's two workerds and the stand-in, and 1.5 × is the bound).
//  3. workerd's memory flat: the RSS (/proc/PID/status VmRSS) of the workerd that runs the Worker (not
//     wrangler's proxy workerd in front of it, the one listening on --port: shown in its own column, it is
//     not in production), sampled at the end of each interval.  workerd's heap grows for minutes before
//     it levels off, whatever the Worker (measured: a 10-line pass-through Worker in plain workerd grows
//     from 0.1 to 0.5 GB over its first 30,000 requests; edgerec under wrangler dev from 0.5 to 1.3 GB over
//     its first 5 minutes at ~55 req/s, then stays there), so "flat" is a steady second half: in a run of 5
//     minutes or more, the last interval's RSS ≤ the RSS at the half-way interval + max(RSS_GROWTH × it,
//     RSS_SLACK_MB) (10 %, 64 MB; a leak keeps growing through the second half as through the first).  A
//     shorter run (the 60-second form) cannot see the level and checks a ceiling: every sample ≤
//     RSS_CEILING_MB (2048).  Each interval also shows the Worker isolate's own memory (V8 heap and
//     backing stores after a GC, over the inspector: worker-stack.mjs isolateHeap): 7 MB / 2 MB, flat, in a
//     6-minute run where workerd's RSS went 1.29 → 1.54 GB and the proxy workerd (no edgerec code) 0.50 →
//     0.66 GB — the level is workerd's and miniflare's simulators' (KV, R2, D1, Queues in the same process).
//  4. every event id in R2 once: after the load the queue is drained (the consumer's batch timeout is
//     5 s) and the event log read back through the admin export (GET /edge/admin/events, what `edgerec
//     rollout events` and the trainer read, not de-duplicated): each id the soak posted is there exactly
//     once, no id is there twice, and the events the Worker derives are all there: one `view` per
//     product page answered `observed; events=view`, one `cart` per add to cart answered `…events=cart`,
//     one `feedback` per accepted feedback (purchases and impressions are counted and shown).
// Intervals are 60 s, or 20 s when the run is shorter than 5 minutes (the 60-second form: 3 rows of ~1,000
// requests, enough for a p99 that a busy neighbour's burst does not decide alone);
// the first WARMUP seconds (5) are load too, but in no interval.  Ports 19150-19152 by default.
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startStack } from '../worker-shim/dev/stack.mjs';
import { isolateHeap } from './worker-stack.mjs';
import { ADD_TO_CART, CREATE_CART, GET_CATEGORIES, GET_PRODUCT, PLACE_ORDER, PRODUCT_SEARCH } from '../tests/lib/venia-queries.mjs';
import { BOILERPLATE } from '../tests/lib/adobe-queries.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const LUMA = process.env.EDGEREC_LUMA || `${ROOT}/../shared/data/luma`;
const OUT = `${ROOT}/build/soak`;

// ---- options --------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const die = (m) => { console.error(`soak: ${m}`); process.exit(2); };
const opt = (n, d) => {
  const i = argv.indexOf(n);
  if (i < 0) return d;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) die(`${n} needs a number ≥ 0 (got ${JSON.stringify(argv[i + 1])})`);
  return v;
};
const positional = argv.find((a, i) => !a.startsWith('--') && (i === 0 || !argv[i - 1].startsWith('--')));
if (positional !== undefined && !(Number(positional) > 0)) die(`MINUTES must be a positive number (got ${JSON.stringify(positional)})`);
const SECONDS = opt('--seconds', (positional !== undefined ? Number(positional) : 10) * 60);
if (!(SECONDS >= 10)) die('the run needs at least 10 seconds');
const CONNECTIONS = opt('--connections', 32);
const INTERVAL = opt('--interval', SECONDS < 300 ? 20 : 60);
const WARMUP = opt('--warmup', 5);
const PORT = opt('--port', 19150), ORIGIN_PORT = opt('--origin-port', 19151), INSPECTOR_PORT = opt('--inspector-port', 19152);
const P99_RATIO = opt('--p99-ratio', 1.5), P99_SLACK_MS = opt('--p99-slack-ms', 25);
const RSS_GROWTH = opt('--rss-growth', 0.1), RSS_SLACK_MB = opt('--rss-slack-mb', 64), RSS_CEILING_MB = opt('--rss-ceiling-mb', 2048);
const DRAIN_SECONDS = opt('--drain-seconds', 60);
if (!(CONNECTIONS >= 1 && INTERVAL >= 1 && INTERVAL <= SECONDS)) die('--connections ≥ 1 and 1 ≤ --interval ≤ the run');
const RUN = `soak-${Date.now().toString(36)}`;

let pass = 0, fail = 0;
const check = (name, cond, detail) => {
  if (cond) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name}${detail ? `: ${typeof detail === 'function' ? detail() : detail}` : ''}`); }
};
const info = (s) => console.log(`  # ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the demo bundle (./build.sh demo's recipe: the Luma catalog, synthetic sessions, train) --------
function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}
function demoBundle() {
  for (const f of [CLI, `${ROOT}/wasm/edgerec.wasm`, LUMA]) if (!existsSync(f)) throw new Error(`${f} is missing (run ./build.sh)`);
  mkdirSync(OUT, { recursive: true });
  const erb = `${OUT}/soak.erb`;
  if (!existsSync(erb) || statSync(erb).mtimeMs < statSync(CLI).mtimeMs) {
    sh(CLI, ['import', 'luma-catalog', LUMA, '--out', `${OUT}/catalog.json`]);
    sh(process.execPath, [`${ROOT}/tests/standin/synthetic-sessions.mjs`, '--catalog', `${OUT}/catalog.json`, '--out', `${OUT}/synthetic.ndjson`]);
    sh(CLI, ['train', '--events', `${OUT}/synthetic.ndjson`, '--catalog', `${OUT}/catalog.json`, '--version', 'soak-1', '--quiet', '--out', erb]);
  }
  return erb;
}

/** The Worker frozen as a deploy would ship it: `wrangler deploy --dry-run --outdir` (esbuild, as
 * bench/worker.mjs does) and a copy of wrangler.toml beside it that runs those files unbundled, so that
 * edits of the sources during a soak do not make wrangler dev reload the Worker mid-run. */
function workerSnapshot() {
  const dist = `${OUT}/worker-dist`;
  rmSync(dist, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [`${ROOT}/node_modules/wrangler/wrangler-dist/cli.js`, 'deploy', '--dry-run', '--outdir', dist],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}${r.stderr}`);
  const toml = readFileSync(`${ROOT}/wrangler.toml`, 'utf8')
    .replace(/^\[\[rules\]\]\n(?:(?!\[)[^\n]*\n?)*/gm, '') // the source tree's module rules: replaced below
    .replace(/^main\s*=.*$/m, 'main = "worker-dist/worker.js"\nno_bundle = true\nfind_additional_modules = true\nbase_dir = "worker-dist"');
  writeFileSync(`${OUT}/wrangler.toml`, `${toml.replace(/\n*$/, '\n')}
# bench/soak.mjs: what \`wrangler deploy --dry-run\` wrote (the storefront script, the console, uPlot as Text)
[[rules]]
type = "CompiledWasm"
globs = ["**/*.wasm"]

[[rules]]
type = "Text"
globs = ["**/*-recs.js", "**/*-console.js", "**/*-uPlot.iife.min.js", "**/*.css", "**/*.html"]
`);
  return `${OUT}/wrangler.toml`;
}

// ---- HTTP ---------------------------------------------------------------------------------------------
/** One request → {status, headers, text, ms}; never rejects (a network error is status 0, `error` set). */
function request(base, { method = 'GET', path, headers = {}, body, agent }) {
  return new Promise((resolve) => {
    const u = new URL(path, base);
    const t0 = performance.now();
    const done = (status, h, text, error) => resolve({ status, headers: h, text, error, ms: performance.now() - t0 });
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done(res.statusCode, res.headers, Buffer.concat(chunks).toString('utf8')));
      res.on('error', (e) => done(0, {}, '', e.message));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout after 30 s')));
    req.on('error', (e) => done(0, {}, '', e.message));
    req.end(body);
  });
}
const parse = (t) => { try { return JSON.parse(t); } catch { return undefined; } };

/** The shopper's cookies: kept from each Set-Cookie, sent back on every request. */
class Jar {
  constructor() { this.c = new Map(); }
  keep(res) {
    for (const sc of [].concat(res.headers?.['set-cookie'] ?? [])) {
      const pair = sc.split(';')[0], eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0\b/i.test(sc)) this.c.delete(name); else this.c.set(name, value);
    }
  }
  header() { return [...this.c].map(([k, v]) => `${k}=${v}`).join('; '); }
}

// ---- workerd's memory -------------------------------------------------------------------------------
/** PIDs of the workerd processes under `root` (wrangler's node process), from /proc. */
function workerdPids(root) {
  const parent = new Map(), comm = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      comm.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const under = (pid) => { for (let p = pid, n = 0; p > 1 && n < 64; p = parent.get(p), n++) if (p === root) return true; return false; };
  return [...comm].filter(([pid, c]) => /workerd/.test(c) && under(pid)).map(([pid]) => pid);
}
/** Which of these processes listens on 127.0.0.1:port (wrangler's proxy workerd, in front of the
 * Worker's own workerd): the socket's inode in /proc/net/tcp, found among the processes' fds. */
function listener(pids, port) {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === want && f[3] === '0A') inodes.add(`socket:[${f[9]}]`);
  }
  for (const pid of pids) {
    try { if (readdirSync(`/proc/${pid}/fd`).some((fd) => { try { return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`)); } catch { return false; } })) return pid; } catch { /* gone */ }
  }
  return null;
}
/** p, or a rejection after ms (p is left to settle). */
function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/** VmRSS of a process in MB (0 when it is gone). */
function rssMB(pid) {
  try { return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024; } catch { return 0; }
}

// ---- the traffic ------------------------------------------------------------------------------------
function seeded(seed) { // mulberry32
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 edgerec-soak';
const gqlGetPath = (query, operationName, variables) =>
  `/graphql?${new URLSearchParams({ query, ...(operationName ? { operationName } : {}), variables: JSON.stringify(variables ?? {}) })}`;
const gqlPost = (query, operationName, variables) => ({ method: 'POST', path: '/graphql', body: JSON.stringify({ query, operationName, variables }), json: true });
const PAGE_TYPES = ['CMS', 'Category', 'Product', 'Cart'];
const SEARCHES = ['jacket', 'bag', 'watch', 'yoga', 'shorts', 'tee', 'hoodie', 'pants'];
const UNIT_TYPES = ['viewed-viewed', 'most-viewed', 'trending', 'just-for-you'];

/** The next request of shopper `u`: {kind, method, path, body?, json?} (the mix: listings 30 %, product
 * pages 25 %, units 12 %, cart 8 %, orders 3 %, events 17 %, feedback 5 %). */
function nextRequest(u, ctx) {
  const x = u.rnd(), r = () => u.rnd();
  const any = (a) => a[Math.floor(r() * a.length)];
  const item = () => any(ctx.listable);
  if (x < 0.30) {
    if (r() < 0.75) {
      const uid = any(ctx.categoryUids);
      const vars = { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: r() < 0.5 ? 24 : 48, sort: r() < 0.9 ? { position: 'ASC' } : { price: 'ASC' } };
      return { kind: 'listing', ...(r() < 0.5 ? { method: 'GET', path: gqlGetPath(GET_CATEGORIES, 'GetCategories', vars) } : gqlPost(GET_CATEGORIES, 'GetCategories', vars)) };
    }
    return { kind: 'search', method: 'GET', path: gqlGetPath(PRODUCT_SEARCH, 'ProductSearch', { inputText: any(SEARCHES), pageSize: 12, filters: {} }) };
  }
  if (x < 0.55) return { kind: 'product', method: 'GET', path: gqlGetPath(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey: item().url_key }) };
  if (x < 0.67) {
    const pageType = any(PAGE_TYPES);
    if (r() < 0.6) {
      return { kind: 'units', method: 'GET', path: gqlGetPath(BOILERPLATE, 'GetRecommendations',
        { pageType, ...(pageType === 'Product' ? { currentSku: item().sku } : {}), ...(pageType === 'Cart' ? { cartSkus: [item().sku] } : {}) }) };
    }
    return { kind: 'recommend', method: 'GET', path: `/edge/recommend?pageType=${pageType}${pageType === 'Product' ? `&currentSku=${encodeURIComponent(item().sku)}` : ''}` };
  }
  if (x < 0.75 || (x < 0.78 && !u.cartSkus.size)) {
    if (!u.cartId) return { kind: 'cart-create', ...gqlPost(CREATE_CART, 'createCart', {}) };
    const it = ctx.simple[Math.floor(r() * ctx.simple.length)];
    return { kind: 'cart-add', sku: it.sku, ...gqlPost(ADD_TO_CART, 'AddProductToCart', { cartId: u.cartId, product: { sku: it.sku, quantity: 1 } }) };
  }
  if (x < 0.78) return { kind: 'order', ...gqlPost(PLACE_ORDER, 'placeOrder', { cartId: u.cartId }) };
  if (x < 0.95) {
    const n = 1 + Math.floor(r() * 3), unit = any(UNIT_TYPES);
    const evs = Array.from({ length: n }, () => {
      const t = r(), id = `${RUN}-${u.i}-${u.n++}`;
      if (t < 0.3) return { type: 'recs-unit-view', items: [item().sku, item().sku], unit: `u-${unit}`, unit_type: unit, rank: 1 + Math.floor(r() * 3), id };
      if (t < 0.5) return { type: 'recs-item-click', item: item().sku, unit: `u-${unit}`, unit_type: unit, rank: 1 + Math.floor(r() * 10), id };
      return { type: r() < 0.5 ? 'view' : 'click', item: item().sku, id };
    });
    return { kind: 'events', method: 'POST', path: '/edge/events', json: true, ids: evs.map((e) => e.id), body: JSON.stringify(n === 1 ? evs[0] : evs) };
  }
  return { kind: 'feedback', method: 'POST', path: '/edge/feedback', json: true, body: JSON.stringify(r() < 0.5 ? { item: item().sku, thumbs: r() < 0.7 ? 'up' : 'down' } : { item: item().sku, rating: 1 + Math.floor(r() * 5) }) };
}

/** What an answer means for the shopper and for the events expected in R2. */
function afterAnswer(u, q, res, expect) {
  const edge = res.headers?.['x-edgerec'] ?? '';
  const ok = res.status >= 200 && res.status < 300;
  if (!ok) return;
  if (q.kind === 'product' && edge.startsWith('observed; events=view')) expect.view++;
  if (q.kind === 'cart-create') u.cartId = parse(res.text)?.data?.cartId ?? null;
  if (q.kind === 'cart-add') {
    if (edge.startsWith('observed; events=cart')) { expect.cart++; u.cartSkus.add(q.sku); }
  }
  if (q.kind === 'order') {
    if (parse(res.text)?.data?.placeOrder?.order?.order_number) { expect.purchaseOrders++; u.cartId = null; u.cartSkus.clear(); }
  }
  if (q.kind === 'events' && res.status === 202) for (const id of q.ids) u.posted.add(id);
  if (q.kind === 'feedback' && res.status === 202) expect.feedback++;
}

// ---- run ----------------------------------------------------------------------------------------------
async function portFree(port) {
  return new Promise((resolve) => {
    const s = http.get({ host: '127.0.0.1', port, path: '/', timeout: 1000 }, (res) => { res.resume(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
    s.on('timeout', () => { s.destroy(); resolve(false); });
  });
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);

async function main() {
  for (const p of [PORT, ORIGIN_PORT, INSPECTOR_PORT]) if (!(await portFree(p))) { check(`port ${p} on 127.0.0.1 is free`, false, 'something answers there'); return; }
  const erb = demoBundle();
  const catalog = JSON.parse(readFileSync(`${OUT}/catalog.json`, 'utf8'));
  const listable = catalog.items.filter((i) => i.visible !== false && !i.parent && i.url_key);
  const simple = listable.filter((i) => !catalog.items.some((c) => c.parent === i.sku)).slice(0, 200);
  rmSync(`${OUT}/state`, { recursive: true, force: true });
  console.error(`soak: starting the stand-in (:${ORIGIN_PORT}) and wrangler dev (:${PORT}) with the demo bundle`);
  const config = workerSnapshot();
  const stack = await startStack({ bundle: erb, catalog: `${OUT}/catalog.json`, port: PORT, originPort: ORIGIN_PORT, inspectorPort: INSPECTOR_PORT, config,
    stateDir: `${OUT}/state`, quiet: true, standinArgs: ['--quiet'] });
  const agents = [];
  for (const sig of ['SIGINT', 'SIGTERM']) { // a timeout or Ctrl-C: stop what was started (by process group) first
    process.once(sig, () => { console.log(`soak: ${sig}: stopping the stack`); stack.stop().finally(() => process.exit(1)); });
  }
  try {
    const W = stack.worker, O = stack.origin;
    const wrangler = stack.procs.find((p) => p.name === 'wrangler');
    const pids = workerdPids(wrangler.child.pid);
    const proxy = listener(pids, PORT), workerPids = pids.filter((p) => p !== proxy);
    check(`workerd runs the Worker under wrangler dev (PID ${workerPids.join(', ')}; wrangler's proxy workerd: ${proxy ?? 'none'})`, workerPids.length > 0);
    const token = /^EDGEREC_ADMIN_TOKEN=(.*)$/m.exec(readFileSync(`${ROOT}/.dev.vars`, 'utf8'))?.[1]?.trim();
    if (!token) throw new Error('.dev.vars has no EDGEREC_ADMIN_TOKEN');
    // the categories of the listings (the stand-in's navigation), the catalog view for the units
    const nav = parse((await request(O, { path: gqlGetPath('{ categoryList { children { uid name children { uid name } } } }') })).text);
    const categoryUids = (nav?.data?.categoryList?.[0]?.children ?? []).flatMap((c) => [c.uid, ...(c.children ?? []).map((x) => x.uid)]);
    if (!categoryUids.length) throw new Error('the stand-in lists no categories');
    for (let i = 0; i < 40; i++) {
      if (parse((await request(W, { path: '/edge/health' })).text)?.catalog?.stores?.[0]?.version) break;
      await sleep(250);
    }
    const ctx = { listable, simple, categoryUids };
    const expect = { view: 0, cart: 0, feedback: 0, purchaseOrders: 0 };
    const shoppers = Array.from({ length: CONNECTIONS }, (_, i) => ({
      i, n: 0, rnd: seeded(1000 + i), jar: new Jar(), cartId: null, cartSkus: new Set(), posted: new Set(),
      agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    }));
    agents.push(...shoppers.map((u) => u.agent));
    const originAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    agents.push(originAgent);
    const nIntervals = Math.floor(SECONDS / INTERVAL);
    const rows = Array.from({ length: nIntervals }, () => ({ lat: [], bad: 0, originBad: 0, kinds: {} }));
    const edgerecBad = [], originBad = [];
    const t0 = performance.now() + WARMUP * 1000; // intervals start after the warm-up
    const end = t0 + nIntervals * INTERVAL * 1000;
    const start = Date.now();
    let requests = 0;
    const shopper = async (u) => {
      while (performance.now() < end) {
        const q = nextRequest(u, ctx);
        const headers = { 'user-agent': UA, accept: 'application/json', ...(q.json ? { 'content-type': 'application/json' } : {}) };
        const cookie = u.jar.header();
        const res = await request(W, { method: q.method, path: q.path, body: q.body, agent: u.agent, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
        u.jar.keep(res);
        requests++;
        const at = performance.now() - t0; // the answer's end, from the first interval's start
        const row = at >= 0 ? rows[Math.floor(at / (INTERVAL * 1000))] : null;
        if (row) { row.lat.push(res.ms); row.kinds[q.kind] = (row.kinds[q.kind] ?? 0) + 1; }
        if (!(res.status >= 200 && res.status < 300)) {
          let theirs = false;
          if (res.status > 0 && q.path.startsWith('/graphql')) { // the origin's own answer to the same request
            const o = await request(O, { method: q.method, path: q.path, body: q.body, agent: originAgent, headers });
            theirs = o.status === res.status;
          }
          const what = `${q.kind} ${q.method} ${q.path.slice(0, 60)} → ${res.status || res.error} ${res.text.slice(0, 120)}`;
          (theirs ? originBad : edgerecBad).push(what);
          if (row) { if (theirs) row.originBad++; else row.bad++; }
        }
        afterAnswer(u, q, res, expect);
      }
    };
    const sampler = (async () => { // RSS at the end of each interval, then the Worker isolate's own heap
      const rss = [], proxyRss = [], heap = [];
      for (let k = 0; k < nIntervals; k++) {
        await sleep(Math.max(0, t0 + (k + 1) * INTERVAL * 1000 - performance.now()));
        rss.push(workerPids.reduce((a, p) => a + rssMB(p), 0));
        proxyRss.push(proxy ? rssMB(proxy) : 0);
        heap.push(await withTimeout(isolateHeap(INSPECTOR_PORT), 10_000).catch(() => null)); // null: the inspector did not answer
      }
      return { rss, proxyRss, heap };
    })();
    console.error(`soak: ${CONNECTIONS} connections for ${WARMUP} s of warm-up + ${nIntervals} × ${INTERVAL} s`);
    await Promise.all(shoppers.map(shopper));
    const { rss, proxyRss, heap } = await sampler;
    const mb = (b) => (Number.isFinite(b) ? (b / 1048576).toFixed(0) : '—');
    const heapCell = (h) => (h ? `${mb(h.heapUsed)} / ${mb(h.external)}` : '—');

    // ---- the table ------------------------------------------------------------------------------------
    console.log(`\nsoak: ${CONNECTIONS} connections of mixed storefront traffic through wrangler dev --local (workerd), ${nIntervals} × ${INTERVAL} s after ${WARMUP} s of warm-up (${cpus().length} cores, load ${loadavg()[0].toFixed(2)})`);
    console.log('| interval | requests | req/s | p50 ms | p99 ms | non-2xx (edgerec / origin) | workerd RSS MB | the Worker isolate: V8 heap / backing stores MB | wrangler\'s proxy workerd RSS MB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    const stats = rows.map((r, k) => {
      const s = [...r.lat].sort((a, b) => a - b);
      const st = { n: s.length, rps: s.length / INTERVAL, p50: pct(s, 0.5), p99: pct(s, 0.99), bad: r.bad, originBad: r.originBad, rss: rss[k] };
      console.log(`| ${(k * INTERVAL) / (INTERVAL >= 60 ? 60 : 1)}–${((k + 1) * INTERVAL) / (INTERVAL >= 60 ? 60 : 1)} ${INTERVAL >= 60 ? 'min' : 's'} | ${st.n} | ${Math.round(st.rps)} | ${st.p50.toFixed(1)} | ${st.p99.toFixed(1)} | ${st.bad} / ${st.originBad} | ${st.rss.toFixed(0)} | ${heapCell(heap[k])} | ${proxyRss[k].toFixed(0)} |`);
      return st;
    });
    const mix = {};
    for (const r of rows) for (const [k, n] of Object.entries(r.kinds)) mix[k] = (mix[k] ?? 0) + n;
    info(`${requests} requests in ${((Date.now() - start) / 1000).toFixed(0)} s; the mix: ${Object.entries(mix).map(([k, n]) => `${k} ${n}`).join(', ')}`);

    // ---- 1..3 ----------------------------------------------------------------------------------------
    check(`no non-2xx caused by edgerec (${requests} requests; ${originBad.length} non-2xx were the origin's own)`, edgerecBad.length === 0,
      () => `${edgerecBad.length}: ${edgerecBad.slice(0, 5).join(' | ')}`);
    const first = stats[0], last = stats[stats.length - 1];
    const p99Bound = P99_RATIO * first.p99 + P99_SLACK_MS;
    check(`p99 stable: the last interval's ${last.p99.toFixed(1)} ms ≤ ${P99_RATIO} × the first's ${first.p99.toFixed(1)} ms + ${P99_SLACK_MS} ms = ${p99Bound.toFixed(1)} ms`,
      first.n > 0 && last.n > 0 && last.p99 <= p99Bound);
    const peak = Math.max(...rss);
    if (SECONDS >= 300) {
      const mid = stats[Math.floor((stats.length - 1) / 2)];
      const rssBound = mid.rss + Math.max(RSS_GROWTH * mid.rss, RSS_SLACK_MB);
      check(`workerd's memory flat in the second half: RSS ${mid.rss.toFixed(0)} MB half-way, ${last.rss.toFixed(0)} MB at the end ≤ ${rssBound.toFixed(0)} MB (+max(${RSS_GROWTH * 100} %, ${RSS_SLACK_MB} MB)); first ${first.rss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`,
        mid.rss > 0 && last.rss > 0 && last.rss <= rssBound);
    } else {
      check(`workerd's memory under its ceiling: RSS ${rss.map((x) => x.toFixed(0)).join(' → ')} MB, every sample ≤ ${RSS_CEILING_MB} MB (a ${SECONDS}-second run is too short to see workerd's heap level off: a run of ≥ 5 minutes checks it is flat)`,
        rss.every((x) => x > 0 && x <= RSS_CEILING_MB));
    }

    // ---- 4: the event log ------------------------------------------------------------------------------
    const posted = new Set(shoppers.flatMap((u) => [...u.posted]));
    const since = Math.floor(start / 1000) - 3600;
    const readLog = async () => {
      const events = [];
      let cursor = '';
      for (let page = 0; page < 10_000; page++) {
        const r = await request(W, { path: `/edge/admin/events?since=${since}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers: { authorization: `Bearer ${token}` } });
        if (r.status !== 200) throw new Error(`GET /edge/admin/events: ${r.status || r.error} ${r.text.slice(0, 200)}`);
        for (const line of r.text.split('\n')) if (line) events.push(parse(line));
        cursor = r.headers['x-edgerec-next-cursor'];
        if (!cursor) break;
      }
      return events;
    };
    const drainUntil = Date.now() + DRAIN_SECONDS * 1000;
    let events = [], stableFor = 0, lastCount = -1;
    const ofType = (t) => events.filter((e) => e && e.type === t && !posted.has(e.id)).length;
    do { // the queue's consumer writes a batch every 5 s at most: read until everything is there and nothing more comes
      await sleep(2500);
      events = await readLog();
      stableFor = events.length === lastCount ? stableFor + 1 : 0;
      lastCount = events.length;
      const ids = new Set(events.map((e) => e?.id));
      const complete = [...posted].every((id) => ids.has(id)) && ofType('view') >= expect.view && ofType('cart') >= expect.cart && ofType('feedback') >= expect.feedback;
      if (complete && stableFor >= 2) break;
    } while (Date.now() < drainUntil);
    const count = new Map();
    for (const e of events) count.set(e?.id, (count.get(e?.id) ?? 0) + 1);
    const missing = [...posted].filter((id) => !count.has(id)), twice = [...count].filter(([, n]) => n > 1);
    const drained = ((Date.now() - (drainUntil - DRAIN_SECONDS * 1000)) / 1000).toFixed(0);
    check(`every one of the ${posted.size} event ids posted to /edge/events is in R2 exactly once (read back through GET /edge/admin/events, ${events.length} events, drained in ${drained} s)`,
      posted.size > 0 && missing.length === 0 && [...posted].every((id) => count.get(id) === 1),
      () => `${missing.length} missing (e.g. ${missing.slice(0, 3).join(', ')}), ${[...posted].filter((id) => count.get(id) > 1).length} more than once`);
    check('no event id is in R2 twice', twice.length === 0 && events.every((e) => typeof e?.id === 'string'), () => `${twice.length} repeated, e.g. ${twice.slice(0, 3).map(([id, n]) => `${id} × ${n}`).join(', ')}`);
    check(`the events the Worker derived are in R2: ${expect.view} product views, ${expect.cart} adds to cart, ${expect.feedback} feedbacks`,
      ofType('view') === expect.view && ofType('cart') === expect.cart && ofType('feedback') === expect.feedback,
      () => `R2 has ${ofType('view')} views, ${ofType('cart')} carts, ${ofType('feedback')} feedbacks`);
    info(`also in R2: ${ofType('purchase')} purchases from ${expect.purchaseOrders} orders, ${ofType('impression')} impressions`);

    console.log(`soak: ${pass} passed, ${fail} failed`);
    console.log(JSON.stringify({
      soak_seconds: nIntervals * INTERVAL, soak_interval_s: INTERVAL, soak_connections: CONNECTIONS, soak_requests: requests,
      soak_edgerec_non2xx: edgerecBad.length, soak_origin_non2xx: originBad.length,
      soak_p50_ms: stats.map((s) => +s.p50.toFixed(2)), soak_p99_ms: stats.map((s) => +s.p99.toFixed(2)), soak_rps: stats.map((s) => Math.round(s.rps)),
      soak_workerd_rss_mb: rss.map((x) => Math.round(x)), soak_proxy_rss_mb: proxyRss.map((x) => Math.round(x)), soak_events_posted: posted.size, soak_events_in_r2: events.length,
      cpus: cpus().length, load_1m: Math.round(loadavg()[0] * 100) / 100,
    }));
  } finally {
    for (const a of agents) a.destroy();
    await stack.stop();
  }
}

main().catch((e) => {
  check('the soak ran', false, e.stack || e.message);
  console.log(`soak: ${pass} passed, ${fail} failed`);
}).finally(() => { process.exitCode = fail ? 1 : 0; });
