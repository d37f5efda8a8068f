// worker-stack.mjs — the Worker in workerd (Miniflare) in front of the Magento stand-in, for the
// Worker benches (bench/worker.mjs, bench/edge-scale.mjs): HTTP helpers, the Worker's modules as
// `wrangler deploy --dry-run` ships them, the stand-in, Miniflare with a fresh-isolate restart, one
// full pass of the catalog sync, and the isolate's heap over workerd's inspector.
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import WebSocket from 'ws'; // miniflare's own dependency (package-lock.json): sends no user-agent, as its inspector proxy wants

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

const agents = new Map();
/** A keep-alive agent per key (max sockets `max`). */
export function agentFor(key, max) {
  if (!agents.has(key)) agents.set(key, new http.Agent({ keepAlive: true, maxSockets: max }));
  return agents.get(key);
}
/** Close every agent (so the process can exit). */
export function closeAgents() { for (const a of agents.values()) a.destroy(); agents.clear(); }

/** One request → {status, headers, body (Buffer), us}. */
export function request(base, { method = 'POST', path = '/graphql', headers = {}, body, agent }) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), us: Number(process.hrtime.bigint() - t0) / 1000 }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.end(body); else req.end();
  });
}
/** Keep a response's Set-Cookie in a jar (Map name → value). */
export function keepCookies(jar, res) {
  for (const sc of [].concat(res.headers['set-cookie'] ?? [])) {
    const pair = sc.split(';')[0], eq = pair.indexOf('=');
    const name = pair.slice(0, eq), value = pair.slice(eq + 1);
    if (value === '' || /max-age=0/i.test(sc)) jar.delete(name); else jar.set(name, value);
  }
}
export const cookieHeader = (jar) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

/** The Worker as wrangler ships it: `wrangler deploy --dry-run --outdir` bundles worker.js and its
 * imports (graphql-js among them) with esbuild, exactly as a deploy would; the .wasm stays a module.
 * Returns Miniflare's modules list (worker.js first; .wasm CompiledWasm; wrangler's Text rules as Text). */
export function workerModules(out) {
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [`${ROOT}/node_modules/wrangler/wrangler-dist/cli.js`, 'deploy', '--dry-run', '--outdir', out],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' } });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}${r.stderr}`);
  return readdirSync(out).filter((f) => !/\.map$|^README\.md$/.test(f)).sort((a, b) => Number(b === 'worker.js') - Number(a === 'worker.js'))
    .map((f) => ({ type: f === 'worker.js' ? 'ESModule' : f.endsWith('.wasm') ? 'CompiledWasm' : 'Text', path: `${out}/${f}` }));
}

/** The Magento stand-in over a catalog file on 127.0.0.1:port; {url, stop} (stops its process group). */
export async function startStandin(catalog, port) {
  const child = spawn(process.execPath, [`${ROOT}/tests/standin/server.mjs`, '--catalog', catalog, '--port', String(port), '--host', '127.0.0.1', '--quiet'],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b) => { err += b; });
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`the stand-in did not start:\n${err}`)), 60_000);
    child.stdout.on('data', (b) => { if (/listening on/.test(b)) { clearTimeout(t); res(); } });
    child.on('exit', (c) => { clearTimeout(t); rej(new Error(`the stand-in exited (${c}):\n${err}`)); });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } } };
}

/**
 * The Worker in workerd through Miniflare, the stand-in as its origin, KV persisted under `out`/kv so
 * that restart() (workerd reconfigured with the same options: a fresh isolate) keeps the bundle and the
 * catalog view.  `bindings` are added to the Worker's; `inspectorPort` opens workerd's inspector (heap()).
 * @returns {{worker, origin, mf, kv, cron, restart, heap, stop}}
 */
export async function startMiniflare({ out, catalog, port, originPort, bindings = {}, inspectorPort = null }) {
  const { Miniflare, convertV4MiniflareOptions } = await import('miniflare');
  const origin = await startStandin(catalog, originPort);
  const toml = readFileSync(`${ROOT}/wrangler.toml`, 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? '2026-10-01';
  const secret = (n) => randomBytes(n).toString('base64url');
  let mf;
  try {
    rmSync(`${out}/kv`, { recursive: true, force: true });
    const opts = convertV4MiniflareOptions({
      host: '127.0.0.1', port, kvPersist: `${out}/kv`, ...(inspectorPort ? { inspectorPort } : {}),
      workers: [{
        name: 'edgerec', compatibilityDate, modulesRoot: `${out}/worker-dist`, modules: workerModules(`${out}/worker-dist`),
        kvNamespaces: { EDGEREC: 'edgerec-kv' }, r2Buckets: { EDGEREC_EVENTS: 'edgerec-events' },
        queueProducers: { EVENTS: 'edgerec-events' }, queueConsumers: { 'edgerec-events': { maxBatchSize: 100, maxBatchTimeout: 5 } },
        bindings: { ORIGIN_URL: origin.url, CONSENT_COOKIE: '', EDGEREC_ID_SECRET: secret(32), EDGEREC_COOKIE_KEY: secret(32), EDGEREC_ADMIN_TOKEN: secret(24), ...bindings },
        ...(inspectorPort ? { unsafeInspectorProxy: true } : {}),
      }],
    });
    mf = new Miniflare(opts);
    const url = await mf.ready;
    const kv = await mf.getKVNamespace('EDGEREC');
    // one cron run of the catalog sync (its own trigger)
    const cron = async () => { const w = await mf.getWorker(); await w.scheduled({ cron: 'edgerec:catalog' }); };
    // a fresh isolate: workerd reconfigured with the same options (module state gone, KV kept)
    const restart = async () => { await mf.setOptions(opts); await mf.ready; };
    const heap = () => (inspectorPort ? isolateHeap(inspectorPort) : null);
    return { worker: url.origin, origin: origin.url, mf, kv, cron, restart, heap, stop: async () => { await mf.dispose().catch(() => {}); origin.stop(); } };
  } catch (e) {
    await mf?.dispose().catch(() => {});
    origin.stop();
    throw e;
  }
}

/** Run the catalog sync until /edge/health says its first full pass has finished (`synced`): a cron run
 * asks Magento for at most CATALOG_SYNC_BATCHES × 100 skus.  Returns the runs it took. */
export async function syncCatalogView(worker, cron, { maxRuns = 1000 } = {}) {
  const agent = agentFor('health', 1);
  const state = async () => JSON.parse((await request(worker, { method: 'GET', path: '/edge/health', agent })).body).catalog ?? {};
  for (let run = 0, last = (await state()).lastRun; ; run++) {
    const c = await state();
    if (c.stores?.[0]?.synced && !c.stores[0].pass) return run;
    if (run >= maxRuns) throw new Error(`the catalog sync did not finish a pass in ${maxRuns} cron runs: ${JSON.stringify(c).slice(0, 300)}`);
    await cron();
    for (let i = 0; i < 6000 && (await state()).lastRun === last; i++) await new Promise((r) => setTimeout(r, 50)); // the run is in the cron's waitUntil
    last = (await state()).lastRun;
  }
}

/** The Worker isolate's memory over workerd's inspector (Chrome DevTools Protocol), after a full GC:
 * {heapUsed, heapTotal, external} bytes (external: ArrayBuffer backing stores, wasm memory among them,
 * when V8 reports it). */
export async function isolateHeap(port) {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const target = list.find((t) => /edgerec/.test(t.webSocketDebuggerUrl)) ?? list[0];
  if (!target) throw new Error('workerd inspector: no target');
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', (e) => rej(new Error(`workerd inspector: ${e.message}`))); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (m) => { const d = JSON.parse(String(m)); if (d.id && pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } });
  const send = (method, params = {}) => new Promise((res, rej) => {
    const n = ++id;
    const t = setTimeout(() => rej(new Error(`workerd inspector: ${method} timed out`)), 30_000);
    pending.set(n, (d) => { clearTimeout(t); if (d.error) rej(new Error(`${method}: ${d.error.message}`)); else res(d.result); });
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  try {
    await send('HeapProfiler.collectGarbage').catch(() => {});
    const u = await send('Runtime.getHeapUsage');
    return { heapUsed: u.usedSize, heapTotal: u.totalSize, external: u.backingStorageSize ?? null };
  } finally { ws.close(); }
}
