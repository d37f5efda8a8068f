// wasi.mjs — the WASI CLI (wasm/edgerec-cli.wasm) under two independent
// hosts, Node's node:wasi and `jco run` (preview1 command → component via
// jco's bundled preview1 adapter), compared with the native build/edgerec:
// stdout bytes and exit codes.  One test per (case × host).
//
// jco note: the preview1 adapter maps proc_exit(n) to wasi:cli/exit with
// ok/err only, so under jco every failure exits 1; we check success/failure
// and, for failures, exit 1.  node:wasi keeps the exact code.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JCO, COMPONENT, ensureComponent } from './component.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);
const NODE = process.execPath;
const CLI = 'wasm/edgerec-cli.wasm';
const T = 'build/wasi-test'; // scratch, relative: inside the preopened "."
rmSync(T, { recursive: true, force: true });
mkdirSync(T, { recursive: true });

let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok ${passed + failed} - ${name}`); };
const notOk = (name, why) => { failed++; console.log(`not ok ${passed + failed} - ${name}\n  # ${why.replace(/\n/g, '\n  # ')}`); };

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input: input ?? '', cwd: ROOT, maxBuffer: 64 << 20, timeout: 60000 });
  // EPIPE: the program exited without reading all its input (usage errors): fine.
  if (r.error && (r.error.code !== 'EPIPE' || r.status === null)) return { status: -1, stdout: Buffer.alloc(0), stderr: String(r.error) };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}
// The same, without blocking: the two WASI hosts of a case run side by side.
// env: added to the environment; signal: set when the host died of one.
function runAsync(cmd, args, input, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    const out = [], err = [];
    const timer = setTimeout(() => p.kill('SIGKILL'), 60000);
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', (e) => { clearTimeout(timer); resolve({ status: -1, stdout: Buffer.alloc(0), stderr: String(e) }); });
    p.on('close', (status, signal) => { clearTimeout(timer); resolve({ status: status ?? -1, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }); });
    p.stdin.on('error', () => {}); // EPIPE when it exits without reading
    p.stdin.end(input ?? '');
  });
}
const hosts = {
  native: (args, input) => run('build/edgerec', args, input),
  'node:wasi': (args, input, env) => runAsync(NODE, ['--no-warnings', 'tests/wasi/run-node-wasi.mjs', ...args], input, env),
  jco: (args, input, env) => runAsync(NODE, [JCO, 'run', '--jco-import', 'tests/wasi/jco-preopen.mjs', COMPONENT, ...args], input, env),
};

try { ensureComponent(CLI); } catch (e) { console.log(String(e.message)); }

// Fixtures (relative paths: the guest sees the repo through the "." preopen).
const ctx = `${T}/ctx.json`;
writeFileSync(ctx, '{"page":{"type":"category","category":"Gear/Bags"},"recent":["ER-BAG-01"],"k":6}');
const ev = '{"type":"view","item":"ER-MJ-01","ts":1767225600}';
writeFileSync(`${T}/bad.erb`, readFileSync('build/sample.erb').subarray(0, 100));
const prof = `${T}/profile.bin`;
writeFileSync(prof, hosts.native(['profile', 'update', '--bundle', 'build/sample.erb'], ev).stdout);
const resp = (n) => readFileSync(`tests/data/parity/responses/${n}.json`);
const dense = '0.5,1,,3,0,0,1,2,0.25,,1,0,0,0,1,2\n1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n,,,,,,,,,,,,,,,\n';

// Inspect prints timings: compare everything else byte for byte.
const maskTimes = (b) => b.toString().replace(/"(us_min|us_mean|us_p50|us_p99|load_us)":[0-9.]+/g, '"$1":T');

const cases = [
  ['recommend {}', ['recommend', '--bundle', 'build/sample.erb'], '{}'],
  ['recommend page+recent', ['recommend', '--bundle', 'build/sample.erb'], readFileSync(ctx)],
  ['recommend --unit trending --k 3', ['recommend', '--bundle', 'build/sample.erb', '--unit', 'trending', '--k', '3'], '{}'],
  ['recommend --profile', ['recommend', '--bundle', 'build/sample.erb', '--profile', prof], '{"k":5}'],
  ['recommend trees bundle', ['recommend', '--bundle', 'build/sample-trees.erb'], readFileSync(ctx)],
  ['recommend bad context (exit 3)', ['recommend', '--bundle', 'build/sample.erb'], '{"k":0}'],
  ['recommend bad json (exit 3)', ['recommend', '--bundle', 'build/sample.erb'], '{"k":'],
  ['recommend missing bundle (exit 4)', ['recommend', '--bundle', `${T}/nope.erb`], '{}'],
  ['recommend corrupt bundle (exit 4)', ['recommend', '--bundle', `${T}/bad.erb`], '{}'],
  ['recommend --k 0 (exit 2)', ['recommend', '--bundle', 'build/sample.erb', '--k', '0'], '{}'],
  ['rerank category-48', ['rerank', '--bundle', 'build/sample.erb', '--context', ctx], resp('venia-category-48')],
  ['rerank search inline ctx + profile', ['rerank', '--bundle', 'build/sample.erb', '--context', '{"k":3}', '--profile', prof], resp('venia-search-mixed')],
  ['rerank errors: pass-through', ['rerank', '--bundle', 'build/sample.erb', '--context', ctx], resp('venia-errors')],
  ['rerank errors --strict (exit 3)', ['rerank', '--bundle', 'build/sample.erb', '--context', ctx, '--strict'], resp('venia-errors')],
  ['rerank without --context (exit 2)', ['rerank', '--bundle', 'build/sample.erb'], resp('venia-single')],
  ['inspect', ['inspect', 'build/sample.erb'], '', maskTimes],
  ['inspect trees', ['inspect', 'build/sample-trees.erb'], '', maskTimes],
  ['inspect corrupt (exit 4)', ['inspect', `${T}/bad.erb`], ''],
  ['profile update', ['profile', 'update', '--bundle', 'build/sample.erb', '--profile', prof], '{"type":"cart","item":"ER-BAG-03","ts":1767229200}'],
  ['profile update bad event (exit 3)', ['profile', 'update', '--bundle', 'build/sample.erb'], '{"type":"view"}'],
  ['profile show', ['profile', 'show', prof], ''],
  ['score-dense', ['score-dense', '--bundle', 'build/sample-trees.erb'], dense],
  ['version', ['version'], ''],
  ['help', ['--help'], ''],
  ['unknown command (exit 2)', ['frobnicate'], ''],
  ['no arguments (exit 2)', [], ''],
];
// pack writes a file: compare the written bytes (and stdout, exit).
// Not under jco: jco 1.35.0's generated bindings trap ("assertion failed at
// adapter line 2857") when a guest writes from linear memory that grew since
// the host last read from it; pack grows memory and reads no stdin.  A
// five-line C program reproduces it (see the report in wasm/README.md).
const PACK_HOSTS = ['node:wasi'];
console.log('# note: pack is compared under node:wasi only (jco bug: writes from grown memory trap)');
const packs = [
  ['pack linear', ['--model', 'tests/data/sample-linear.json', '--catalog', 'tests/data/sample-catalog.json']],
  ['pack trees', ['--model', 'tests/data/sample-trees.json', '--catalog', 'tests/data/sample-catalog.json']],
  ['pack missing model (exit 3)', ['--model', `${T}/none.json`, '--catalog', 'tests/data/sample-catalog.json']],
];

function compare(name, host, want, got, view = (b) => b) {
  const label = `${name} [${host}]`;
  const wantOk = want.status === 0;
  const codeOk = host === 'jco' ? (wantOk ? got.status === 0 : got.status === 1) : got.status === want.status;
  if (!codeOk) return notOk(label, `exit ${got.status}, native ${want.status}\nstderr: ${got.stderr.slice(0, 400)}`);
  const a = view(want.stdout), b = view(got.stdout);
  const same = Buffer.isBuffer(a) ? a.equals(b) : a === b;
  if (!same) return notOk(label, `stdout differs (${b.length} vs native ${a.length} bytes)\n${String(b).slice(0, 300)}\nnative: ${String(a).slice(0, 300)}`);
  ok(label);
}

const t0 = Date.now();
for (const [name, args, input, view] of cases) {
  const want = hosts.native(args, input);
  const [w, j] = await Promise.all([hosts['node:wasi'](args, input), hosts.jco(args, input)]);
  compare(name, 'node:wasi', want, w, view);
  compare(name, 'jco', want, j, view);
}
for (const [i, [name, args]] of packs.entries()) {
  const out = (h) => `${T}/pack-${i}-${h.replace(':', '-')}.erb`;
  const want = hosts.native(['pack', ...args, '--out', out('native')], '');
  const wantBytes = existsSync(out('native')) ? readFileSync(out('native')) : null;
  for (const host of PACK_HOSTS) {
    const got = await hosts[host](['pack', ...args, '--out', out(host)], '');
    const gotBytes = existsSync(out(host)) ? readFileSync(out(host)) : null;
    if (want.status === 0 && !(wantBytes && gotBytes && wantBytes.equals(gotBytes))) {
      notOk(`${name} [${host}]`, `bundle bytes differ or missing (${gotBytes?.length} vs ${wantBytes?.length})`);
      continue;
    }
    compare(name, host, want, got);
  }
}
// The packed sample bundle equals what build.sh made with the native packer.
const wasiTrees = `${T}/pack-1-node-wasi.erb`;
if (existsSync(wasiTrees) && readFileSync(wasiTrees).equals(readFileSync('build/sample-trees.erb'))) ok('WASI-packed trees bundle == build/sample-trees.erb');
else notOk('WASI-packed trees bundle == build/sample-trees.erb', 'differs');

// ---- inputs over their size limits (docs/limits.md) -------------------------
// At its limit an input is not refused for its size (the same output as
// native); past it the guest exits 3 naming the limit under node:wasi (1 under
// jco, which maps every failure to 1) and the host does not crash: node:wasi
// died with SIGSEGV on a 9 MB context while the reader took all of it.  The
// guest's memory (EDGEREC_REPORT_MEMORY=1) at 100x the limit and at the 9 MB
// of the defect equals the 2x run's: it follows the limit, never the input.
// jco's stdout is not compared for large outputs: it truncates them (before
// this change too; 4 MiB of re-ranked JSON came out as about 3 MB).
const LIMIT = { context: 65536, response: 4194304, event: 16384, bundle: 268435456 };
/** n bytes of base with spaces before its last byte (valid JSON stays valid). */
function padded(base, n) {
  const b = Buffer.from(base), out = Buffer.alloc(n, 0x20);
  b.copy(out, 0, 0, b.length - 1);
  out[n - 1] = b[b.length - 1];
  return out;
}
const died = (r) => (r.signal ? ` (killed by ${r.signal})` : r.status > 128 ? ' (a signal)' : '');
const memoryOf = (r) => Number(/^memory-bytes (\d+)$/m.exec(r.stderr)?.[1] ?? NaN);
/** Both hosts refuse: exit 3 / 1 with "<limit> bytes" on stderr, no crash; node:wasi's
 * stdout equals `stdout` when given.  Returns the node:wasi run. */
async function refused(name, args, input, limit, stdout = null) {
  const [w, j] = await Promise.all([hosts['node:wasi'](args, input, { EDGEREC_REPORT_MEMORY: '1' }), hosts.jco(args, input)]);
  const says = (r) => r.stderr.includes(`${limit} bytes`);
  if (w.status === 3 && !w.signal && says(w) && (!stdout || w.stdout.equals(stdout))) ok(`${name} [node:wasi]`);
  else notOk(`${name} [node:wasi]`, `exit ${w.status}${died(w)}, want 3 naming ${limit} bytes${stdout && !w.stdout.equals(stdout) ? ', stdout differs' : ''}\nstderr: ${w.stderr.slice(0, 300)}`);
  if (j.status === 1 && !j.signal && says(j)) ok(`${name} [jco]`);
  else notOk(`${name} [jco]`, `exit ${j.status}${died(j)}, want 1 naming ${limit} bytes\nstderr: ${j.stderr.slice(0, 300)}`);
  return w;
}
/** Both hosts give native's exit and stdout at exactly the limit. */
async function atLimit(name, args, input) {
  const want = hosts.native(args, input);
  const [w, j] = await Promise.all([hosts['node:wasi'](args, input), hosts.jco(args, input)]);
  compare(name, 'node:wasi', want, w);
  compare(name, 'jco', want, j, (b) => b.length > 65536 ? '(large: not compared)' : b);
}
function sameMemory(name, base, runs) {
  const figures = runs.map(([label, r]) => `${label} ${memoryOf(r)}`).join(', ');
  console.log(`# ${name}: guest memory bytes at 2x the limit ${memoryOf(base)}, ${figures}`);
  if (Number.isFinite(memoryOf(base)) && runs.every(([, r]) => memoryOf(r) === memoryOf(base))) ok(`${name}: guest memory does not grow with the input`);
  else notOk(`${name}: guest memory does not grow with the input`, figures);
}

const REC = ['recommend', '--bundle', 'build/sample.erb'];
const ctxMin = '{"k":5}';
await atLimit(`context of ${LIMIT.context} bytes (the limit)`, REC, padded(ctxMin, LIMIT.context));
await refused('context of the limit + 1 bytes', REC, padded(ctxMin, LIMIT.context + 1), LIMIT.context);
const ctx2 = await refused('context of 2x the limit', REC, padded(ctxMin, 2 * LIMIT.context), LIMIT.context);
const ctx100 = await refused('context of 100x the limit', REC, padded(ctxMin, 100 * LIMIT.context), LIMIT.context);
const ctx9m = await refused('context of 9000024 bytes (the SIGSEGV of issue 10)', REC, padded(ctxMin, 9000024), LIMIT.context);
sameMemory('context', ctx2, [['100x', ctx100], ['9000024 bytes', ctx9m]]);

const RR = ['rerank', '--bundle', 'build/sample.erb', '--context', '{}'];
const men = resp('venia-category-men');
const resp2 = padded(men, 2 * LIMIT.response);
const r2 = await refused('response of 2x the limit, --strict: passed through unchanged', [...RR, '--strict'], resp2, LIMIT.response, resp2);
const r10 = await refused('response of 10x the limit, --strict', [...RR, '--strict'], padded(men, 10 * LIMIT.response), LIMIT.response);
sameMemory('response', r2, [['10x', r10]]);
{
  const w = await hosts['node:wasi'](RR, resp2);
  if (w.status === 0 && w.stdout.equals(resp2) && w.stderr.includes('reason=limit')) ok('response of 2x the limit: unchanged, exit 0, reason=limit [node:wasi]');
  else notOk('response of 2x the limit: unchanged, exit 0, reason=limit [node:wasi]', `exit ${w.status}${died(w)}, ${w.stdout.length} bytes out\nstderr: ${w.stderr.slice(0, 300)}`);
}

const PU = ['profile', 'update', '--bundle', 'build/sample.erb'];
await atLimit(`event of ${LIMIT.event} bytes (the limit)`, PU, padded(ev, LIMIT.event));
const e2 = await refused('event of 2x the limit', PU, padded(ev, 2 * LIMIT.event), LIMIT.event);
const e100 = await refused('event of 100x the limit', PU, padded(ev, 100 * LIMIT.event), LIMIT.event);
sameMemory('event', e2, [['100x', e100]]);

// bundles: sparse files the guest sizes with fstat and refuses unread
for (const [label, n] of [['the limit + 1', LIMIT.bundle + 1], ['2x the limit', 2 * LIMIT.bundle]]) {
  const f = `${T}/big-${n}.erb`;
  writeFileSync(f, '');
  truncateSync(f, n);
  await refused(`bundle file of ${label} (exit 3, not 4)`, ['recommend', '--bundle', f], '{}', LIMIT.bundle);
  rmSync(f);
}

rmSync(T, { recursive: true, force: true });
console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`wasi: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
