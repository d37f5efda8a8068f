// parity.mjs — every runtime gives the same bytes for the same input.
//
// Inputs: tests/data/parity/contexts/*.json (recommend) and
// tests/data/parity/responses/*.json × a few contexts (rerank).
// The native CLI (build/edgerec) is the reference; compared with it, one test
// per (input × runtime):
//   node:wasi   wasm/edgerec-cli.wasm under Node's WASI
//   jco         the same under `jco run` (component via jco's preview1 adapter;
//               jco run's generated runner is reused per input, see
//               tests/wasi/component.mjs; tests/suites/wasi.sh runs `jco run` itself)
//   reactor     wasm/edgerec.wasm through worker-shim/core/engine.js in Node
//   emscripten  wasm/edgerec.emscripten.* through engine-emscripten.js in Node
// and, in tests/js/parity.workerd.mjs (run by parity.sh inside workerd),
//   reactor@workerd, emscripten@workerd
// which read the inputs and native outputs this script writes to
// build/parity/cases.json.
//
// Output bytes: recommend = the JSON (the CLI adds one '\n'); rerank = what is
// served: the re-ranked body, or the original response when the engine
// bypasses (then the bypass reason must match the CLI's too).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../worker-shim/core/engine.js';
import { EmscriptenEngine } from '../../worker-shim/core/engine-emscripten.js';
import { loadModuleNode, readBytesNode } from '../../worker-shim/dev/node.js';
import { prepareJcoRunner } from '../wasi/component.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);
const NODE = process.execPath;
const BUNDLE = 'build/sample.erb';
const CTX_DIR = 'tests/data/parity/contexts/';
const RESP_DIR = 'tests/data/parity/responses/';
const RERANK_CONTEXTS = ['empty', 'anon-category', 'profile', 'recent'];

// ---- inputs ------------------------------------------------------------------
const ctxNames = readdirSync(CTX_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const respNames = readdirSync(RESP_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const cases = [];
for (const c of ctxNames) cases.push({ id: `recommend ${c}`, kind: 'recommend', ctxFile: CTX_DIR + c + '.json' });
for (const r of respNames)
  for (const c of RERANK_CONTEXTS) cases.push({ id: `rerank ${r} × ${c}`, kind: 'rerank', ctxFile: CTX_DIR + c + '.json', respFile: RESP_DIR + r + '.json' });
for (const k of cases) {
  k.ctx = readFileSync(k.ctxFile);
  if (k.respFile) k.resp = readFileSync(k.respFile);
}

// ---- the CLI under three hosts --------------------------------------------------
const cliArgs = (k) => k.kind === 'recommend'
  ? ['recommend', '--bundle', BUNDLE]
  : ['rerank', '--bundle', BUNDLE, '--context', k.ctxFile];
const cliInput = (k) => (k.kind === 'recommend' ? k.ctx : k.resp);
const hosts = {
  'native': (k) => ['build/edgerec', cliArgs(k)],
  'node:wasi': (k) => [NODE, ['--no-warnings', 'tests/wasi/run-node-wasi.mjs', ...cliArgs(k)]],
  'jco': (k) => [NODE, [jcoRunner, ...cliArgs(k)]],
};
function runAsync([cmd, args], input) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT });
    const out = [], err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', (e) => resolve({ status: -1, stdout: Buffer.alloc(0), stderr: String(e) }));
    p.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    p.stdin.on('error', () => {});
    p.stdin.end(input);
  });
}
async function pool(items, n, fn) {
  const res = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const i = next++; res[i] = await fn(items[i], i); }
  }));
  return res;
}
// A CLI result as {bytes, reason}: what a caller serves, and the bypass reason.
function fromCli(k, r) {
  if (r.status !== 0) return { error: `exit ${r.status}: ${r.stderr.trim().slice(0, 300)}` };
  if (k.kind === 'recommend') {
    const s = r.stdout;
    return s.at(-1) === 0x0a ? { bytes: s.subarray(0, -1), reason: '' } : { error: 'no trailing newline' };
  }
  const m = r.stderr.match(/reason=([a-z-]+)/);
  return { bytes: r.stdout, reason: m ? m[1] : '' };
}

// ---- the engine through engine.js ------------------------------------------------
function fromEngine(engine, k) {
  try {
    if (k.kind === 'recommend') return { bytes: Buffer.from(engine.recommend(k.ctx.toString())), reason: '' };
    const r = engine.rerank(k.resp, k.ctx.toString());
    return r.ok ? { bytes: Buffer.from(r.body), reason: '' } : { bytes: k.resp, reason: r.reason };
  } catch (e) {
    return { error: `${e.code ?? e.name}: ${e.message}` };
  }
}

// ---- run -----------------------------------------------------------------------
let passed = 0, failed = 0;
const t0 = Date.now();
const report = (name, want, got) => {
  let why = null;
  if (got.error) why = got.error;
  else if (!want.bytes.equals(got.bytes)) why = `bytes differ (${got.bytes.length} vs ${want.bytes.length})\n  got:    ${got.bytes.toString().slice(0, 200)}\n  native: ${want.bytes.toString().slice(0, 200)}`;
  else if (want.reason !== got.reason) why = `reason '${got.reason}', native '${want.reason}'`;
  if (why) { failed++; console.log(`not ok ${passed + failed} - ${name}\n  # ${why}`); }
  else { passed++; console.log(`ok ${passed + failed} - ${name}`); }
};

const nativeRes = await pool(cases, 2, (k) => runAsync(hosts.native(k), cliInput(k)));
const expected = cases.map((k, i) => fromCli(k, nativeRes[i]));
const broken = expected.map((e, i) => (e.error ? `${cases[i].id}: ${e.error}` : null)).filter(Boolean);
if (broken.length) {
  console.log(`native CLI failed on inputs:\n  ${broken.join('\n  ')}`);
  console.log(`parity-node: 0 passed, ${broken.length} failed`);
  process.exit(1);
}

const jcoRunner = prepareJcoRunner(); // `jco run`'s generated runner, reused per input
for (const host of ['node:wasi', 'jco']) {
  const res = await pool(cases, 2, (k) => runAsync(hosts[host](k), cliInput(k)));
  cases.forEach((k, i) => report(`${k.id} [${host}]`, expected[i], fromCli(k, res[i])));
}
const bundle = readBytesNode(BUNDLE);
const reactor = new Engine(loadModuleNode('wasm/edgerec.wasm'), bundle);
cases.forEach((k, i) => report(`${k.id} [reactor]`, expected[i], fromEngine(reactor, k)));
const { default: factory } = await import(ROOT + 'wasm/edgerec.emscripten.mjs');
const ems = new EmscriptenEngine(factory, loadModuleNode('wasm/edgerec.emscripten.wasm'), bundle);
cases.forEach((k, i) => report(`${k.id} [emscripten]`, expected[i], fromEngine(ems, k)));

// Inputs and native outputs for the workerd half (tests/js/parity.workerd.mjs).
mkdirSync('build/parity', { recursive: true });
writeFileSync('build/parity/cases.json', JSON.stringify(cases.map((k, i) => ({
  id: k.id, kind: k.kind, ctx: k.ctx.toString(), resp: k.resp?.toString(),
  expected_b64: expected[i].bytes.toString('base64'), reason: expected[i].reason,
}))));
console.log(`# ${cases.length} inputs (${ctxNames.length} contexts, ${respNames.length} responses × ${RERANK_CONTEXTS.length} contexts), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`parity-node: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
