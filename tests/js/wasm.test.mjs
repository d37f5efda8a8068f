// wasm.test.mjs — properties of the built modules: the reactor's imports and
// exports, its size limit, the WASI stubs, and the Emscripten build in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { reactorImports, reactorInstantiator, wasiImports } from '../../worker-shim/core/engine.js';
import { spawnSync } from 'node:child_process';
import { REACTOR, reactorModuleOnce, reactorEngine, emscriptenEngine, readText, path } from './helpers.mjs';

const ABI_EXPORTS = ['er_abi_version', 'er_alloc', 'er_free', 'er_engine_create', 'er_engine_destroy', 'er_recommend',
  'er_rerank', 'er_profile_update', 'er_profile_json', 'er_event_check', 'er_info', 'er_units', 'er_set_budget',
  'er_out_ptr', 'er_out_len', 'er_error_ptr', 'er_error_len', 'er_error_offset', 'er_reason_ptr', 'er_reason_len',
  'er_debug_trap'];
// WASI functions an I/O-free engine may link through libc.  Anything else
// (clocks, randomness, files, environment) would make results depend on the
// host: adding it is a deliberate change to this list and to wasm/README.md.
const WASI_ALLOWED = new Set(['fd_write', 'fd_close', 'fd_seek', 'fd_fdstat_get', 'proc_exit']);

test('reactor size: gzip ≤ 64 KB (product limit)', () => {
  const raw = readFileSync(REACTOR);
  const gz = gzipSync(raw, { level: 9 }).length;
  console.log(`# wasm/edgerec.wasm: ${raw.length} bytes, ${gz} gzipped`);
  assert.ok(gz <= 64 * 1024, `${gz} bytes gzipped`);
});

test('reactor imports only the WASI functions it uses, and we provide exactly those', () => {
  const mod = reactorModuleOnce();
  const imports = WebAssembly.Module.imports(mod);
  for (const i of imports) {
    assert.equal(i.module, 'wasi_snapshot_preview1', `${i.module}.${i.name}`);
    assert.equal(i.kind, 'function');
    assert.ok(WASI_ALLOWED.has(i.name), `unexpected WASI import ${i.name}`);
  }
  const obj = reactorImports(mod, () => null);
  const provided = Object.entries(obj).flatMap(([m, fns]) => Object.keys(fns).map((n) => `${m}.${n}`)).sort();
  assert.deepEqual(provided, imports.map((i) => `${i.module}.${i.name}`).sort());
  // The README documents the same list.
  const readme = readText('wasm/README.md');
  for (const i of imports) assert.ok(readme.includes(i.name), `wasm/README.md does not mention ${i.name}`);
});

test('WASI stubs are safe: I/O answers EBADF, proc_exit throws', () => {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const obj = wasiImports(() => mem);
  assert.ok(Object.keys(obj).length > 5);
  for (const [name, fn] of Object.entries(obj)) {
    if (name === 'proc_exit') assert.throws(() => fn(3), /proc_exit\(3\)/);
    else if (name.startsWith('fd_')) assert.equal(fn(1, 0, 0, 0), 8, name);
  }
  // An import the wrapper does not know is refused at instantiation.
  const bogus = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 19, 1, 4, 104, 111, 115, 116, 10,
    99, 108, 111, 99, 107, 95, 116, 105, 109, 101, 0, 0]));
  assert.throws(() => reactorInstantiator(bogus), /unexpected wasm import host\.clock_time/);
});

test('reactor exports the whole ABI, version 1', () => {
  const mod = reactorModuleOnce();
  const names = WebAssembly.Module.exports(mod).map((e) => e.name);
  for (const n of [...ABI_EXPORTS, 'memory', '_initialize']) assert.ok(names.includes(n), `missing export ${n}`);
  const { exports } = reactorInstantiator(mod);
  assert.equal(exports.er_abi_version(), 1);
  assert.equal(exports.er_recommend(0, 0, 0, 0, 0), -1, 'handle 0 is a usage error');
});

test('Emscripten build in Node: same ABI, same outputs as the reactor, trap recovery', async () => {
  const ems = await emscriptenEngine();
  const rea = reactorEngine();
  assert.deepEqual(ems.info(), rea.info());
  for (const ctx of ['{}', '{"recent":["ER-MJ-01"],"k":7}', '{"unit":"trending","k":3}']) assert.equal(ems.recommend(ctx), rea.recommend(ctx));
  const resp = readText('tests/data/parity/responses/venia-category-48.json');
  assert.deepEqual(ems.rerank(resp, '{"recent":["ER-BAG-01"]}'), rea.rerank(resp, '{"recent":["ER-BAG-01"]}'));
  const p = ems.updateProfile(null, '{"type":"view","item":"ER-BAG-01","ts":1767225600}');
  assert.deepEqual(p, rea.updateProfile(null, '{"type":"view","item":"ER-BAG-01","ts":1767225600}'));
  assert.deepEqual(ems.profileJson(p), rea.profileJson(p));
  assert.throws(() => ems.recommend('{"k":0}'), (x) => x.code === 'range');
  const before = ems.recommend('{"k":5}');
  assert.throws(() => ems.debugTrap(), (x) => x.code === 'trap');
  assert.equal(ems.recommend('{"k":5}'), before);
});

test('features(): header and per-candidate layout; reactor and Emscripten agree', async () => {
  const rea = reactorEngine();
  const ems = await emscriptenEngine();
  for (const ctx of ['{}', '{"candidates":["ER-BAG-01","ER-NOPE","ER-MJ-01"],"device":"mobile","hour":20}']) {
    const f = rea.features(ctx);
    assert.deepEqual(ems.features(ctx), f);
    const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
    const n = dv.getUint32(0, true), nDense = dv.getUint32(4, true);
    assert.ok(n > 0 && nDense > 0, `n ${n}, dense ${nDense}`);
    assert.equal(dv.getUint32(8, true), rea.info().model.bits, 'bits of the linear model');
    // Walk the records: they must end exactly at the end of the buffer.
    let o = 12;
    for (let c = 0; c < n; c++) { const m = dv.getUint32(o, true); o += 4 + 8 * m + 4 * nDense; }
    assert.equal(o, f.length);
  }
  assert.equal(new DataView(rea.features('{"candidates":["A","B","C"]}').buffer).getUint32(0, true), 3);
  assert.throws(() => rea.features('{"k":0}'), (x) => x.code === 'range');
});

test('committed parity data is fresh (tests/data/make-venia.mjs, make-contexts.mjs --check)', () => {
  for (const gen of ['tests/data/make-venia.mjs', 'tests/data/make-contexts.mjs']) {
    const r = spawnSync(process.execPath, [path(gen), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${gen} --check: ${r.stderr} (regenerate with: node ${gen})`);
  }
});
