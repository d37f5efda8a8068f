// engine.test.mjs — worker-shim/core/engine.js in Node, checked against the native CLI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Engine, EngineError, STATUS_NAMES } from '../../worker-shim/core/engine.js';
import { native, reactorEngine, reactorModuleOnce, bundleBytes, readText, path, BUNDLE, BUNDLE_TREES, enc, dec } from './helpers.mjs';

const tmp = mkdtempSync(tmpdir() + '/edgerec-js-');
after(() => rmSync(tmp, { recursive: true, force: true }));
const tmpFile = (name, data) => { const p = `${tmp}/${name}`; writeFileSync(p, data); return p; };

const CTX = {
  empty: '{}',
  anon: '{"page":{"type":"category","category":"Gear/Bags"},"device":"mobile","hour":20,"weekday":5}',
  recent: '{"recent":["ER-BAG-01","ER-MJ-01"],"k":5}',
  product: '{"page":{"type":"product","sku":"ER-FIT-01"},"unit":"viewed-this-viewed-that","k":4}',
  candidates: '{"candidates":["ER-WT-02","ER-NOPE-1","ER-BAG-03","ER-FIT-07"],"k":3}',
};
const EVENT_VIEW = '{"type":"view","item":"ER-BAG-01","ts":1767225600}';
const EVENT_CART = '{"type":"cart","item":"ER-MJ-01","ts":1767229200,"price":89.5}';
const nativeRecommend = (ctx, extra = []) => native(['recommend', '--bundle', BUNDLE, ...extra], ctx);

test('recommend matches the native CLI byte for byte', () => {
  const e = reactorEngine();
  for (const [name, ctx] of Object.entries(CTX)) {
    const n = nativeRecommend(ctx);
    assert.equal(n.status, 0, `native failed on ${name}: ${n.stderr}`);
    const out = e.recommend(ctx);
    assert.equal(out + '\n', n.stdout.toString(), `context ${name}`);
    const parsed = JSON.parse(out);
    assert.ok(Array.isArray(parsed.items) && parsed.items.length > 0, `${name}: no items`);
  }
});

test('recommend: work units are reported and a budget override changes the result', () => {
  const e = reactorEngine();
  e.recommend(CTX.anon);
  const units = e.units();
  assert.ok(units > 0, 'units after a request');
  e.setBudget(1);
  let limited;
  try { limited = JSON.parse(e.recommend(CTX.anon)); } catch (err) { limited = err; }
  if (limited instanceof EngineError) assert.equal(limited.code, 'budget');
  else assert.equal(limited.fallback, 'work-budget');
  e.setBudget(0);
  assert.deepEqual(JSON.parse(e.recommend(CTX.anon)).fallback, undefined);
});

test('recommend with profile bytes equals the native --profile, and wins over ctx.profile', () => {
  const e = reactorEngine();
  const p1 = e.updateProfile(null, EVENT_VIEW);
  const p2 = e.updateProfile(p1, EVENT_CART);
  const pf = tmpFile('p2.bin', p2);
  const n = nativeRecommend(CTX.anon, ['--profile', pf]);
  assert.equal(n.status, 0, n.stderr);
  assert.equal(e.recommend(CTX.anon, p2) + '\n', n.stdout.toString());
  // The same profile through the context field (base64url) gives the same answer…
  const b64 = Buffer.from(p2).toString('base64url');
  const viaCtx = e.recommend(JSON.stringify({ ...JSON.parse(CTX.anon), profile: b64 }));
  assert.equal(viaCtx, e.recommend(CTX.anon, p2));
  // …and explicit bytes win over a different ctx.profile.
  const withOther = JSON.stringify({ ...JSON.parse(CTX.anon), profile: Buffer.from(p1).toString('base64url') });
  assert.equal(e.recommend(withOther, p2), e.recommend(CTX.anon, p2));
});

test('errors become EngineError with status name, offset and the engine message', () => {
  const e = reactorEngine();
  const cases = [
    ['{"k":0}', 'range'],
    ['{"k":"ten"}', 'type'],
    ['{"recent":5}', 'type'],
    ['{"k":', 'json'],
    ['{"device":"mobile","device":"app"}', null], // duplicate key: an error, status per engine
    // the unit rules' fields (docs/context.md)
    ['{"cart":"ER-BAG-01"}', 'type'],
    ['{"purchased":[1]}', 'type'],
    ['{"filter":{"categories":"Gear"}}', 'type'],
    ['{"filter":{"price_min":-1}}', 'range'],
    ['{"filter":{"in_stock_only":"yes"}}', 'type'],
    ['{"filter":{"price_max":5,"price_max":6}}', 'json'],
    ['{"backfill":"best-sellers"}', 'range'],
    [JSON.stringify({ cart: Array.from({ length: 257 }, (_, i) => `S${i}`) }), 'limit'],
    ['{"unit":"bought-viewed"}', 'range'],
  ];
  for (const [ctx, code] of cases) {
    let err;
    try { e.recommend(ctx); } catch (x) { err = x; }
    assert.ok(err instanceof EngineError, `${ctx}: expected EngineError, got ${err}`);
    if (code) assert.equal(err.code, code, `${ctx}: ${err.message}`);
    assert.equal(STATUS_NAMES[err.status], err.code);
    assert.ok(err.message.length > 5, 'message from er_error_ptr');
    // The native CLI prints the same message (exit 3: bad input).
    const n = nativeRecommend(ctx);
    assert.equal(n.status, 3, `${ctx}: native exit`);
    assert.ok(n.stderr.includes(err.message), `${ctx}: native says ${n.stderr}, wrapper ${err.message}`);
    if (err.offset !== null) {
      assert.ok(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= ctx.length, `${ctx}: offset ${err.offset}`);
      const m = err.message.match(/\(byte (\d+)\)/);
      if (m) assert.equal(err.offset, Number(m[1]), 'offset matches the message');
    }
  }
  // A field error names the field and its byte.
  try { e.recommend('{"k":0}'); assert.fail('no error'); } catch (x) {
    assert.match(x.message, /'k'/);
    assert.equal(typeof x.offset, 'number');
  }
  // The engine keeps working after errors.
  assert.equal(e.recommend(CTX.empty) + '\n', nativeRecommend(CTX.empty).stdout.toString());
});

test('rerank: re-ranked bodies equal the native CLI, same length, original items', () => {
  const e = reactorEngine();
  for (const name of ['venia-category-48', 'venia-category-bags', 'venia-search-mixed']) {
    const resp = readText(`tests/data/parity/responses/${name}.json`);
    for (const ctx of [CTX.empty, CTX.recent]) {
      const r = e.rerank(resp, ctx);
      assert.equal(r.ok, true, `${name}: ${r.reason} ${r.message}`);
      assert.ok(r.body instanceof Uint8Array);
      assert.equal(r.body.length, enc.encode(resp).length, 'same length');
      const n = native(['rerank', '--bundle', BUNDLE, '--context', ctx], resp);
      assert.equal(n.status, 0, n.stderr);
      assert.ok(Buffer.from(r.body).equals(n.stdout), `${name} × ${ctx}`);
      const skus = (t) => JSON.parse(t).data.products.items.map((i) => i.sku).sort();
      assert.deepEqual(skus(dec.decode(r.body)), skus(resp), 'a permutation of the same items');
    }
    // Bytes in, bytes out: a Uint8Array response gives the same body.
    assert.deepEqual(e.rerank(enc.encode(resp), CTX.recent).body, e.rerank(resp, CTX.recent).body);
  }
});

test('rerank: bypass reasons instead of exceptions', () => {
  const e = reactorEngine();
  const cases = [
    ['venia-errors', 'errors'],
    ['venia-empty', 'no-items'],
    ['venia-search-unknown', 'no-known-items'],
  ];
  for (const [name, reason] of cases) {
    const resp = readText(`tests/data/parity/responses/${name}.json`);
    const r = e.rerank(resp, CTX.empty);
    assert.equal(r.ok, false, name);
    assert.equal(r.reason, reason, `${name}: ${r.message}`);
    assert.equal(typeof r.message, 'string');
    assert.equal(r.body, undefined);
    // The native CLI passes the original through and names the reason.
    const n = native(['rerank', '--bundle', BUNDLE, '--context', CTX.empty], resp);
    assert.equal(n.stdout.toString(), resp);
    assert.match(n.stderr, new RegExp(`reason=${reason}`));
  }
  assert.equal(e.rerank('{"data":', CTX.empty).reason, 'json');
  assert.equal(e.rerank('{"data":{"products":{"items":[{"sku":"ER-BAG-01"}]}}}', '{"k":0}').reason, 'context');
  assert.equal(e.rerank('[1,2]', CTX.empty).ok, false);
});

test('rerank output is a copy: later calls do not change it', () => {
  const e = reactorEngine();
  const a = readText('tests/data/parity/responses/venia-category-bags.json');
  const b = readText('tests/data/parity/responses/venia-category-men.json');
  const r1 = e.rerank(a, CTX.recent);
  const copy = Buffer.from(r1.body);
  e.rerank(b, CTX.anon);
  e.recommend(CTX.anon);
  assert.ok(copy.equals(Buffer.from(r1.body)));
});

test('profiles: update, show and event checks match the native CLI', () => {
  const e = reactorEngine();
  const p1 = e.updateProfile(null, EVENT_VIEW);
  const n1 = native(['profile', 'update', '--bundle', BUNDLE], EVENT_VIEW);
  assert.equal(n1.status, 0, n1.stderr);
  assert.ok(Buffer.from(p1).equals(n1.stdout), 'first update');
  const f1 = tmpFile('p1.bin', p1);
  const p2 = e.updateProfile(p1, EVENT_CART);
  const n2 = native(['profile', 'update', '--bundle', BUNDLE, '--profile', f1], EVENT_CART);
  assert.ok(Buffer.from(p2).equals(n2.stdout), 'second update');
  assert.equal(p2[0], 0x45); // 'E'
  assert.equal(p2[1], 0x50); // 'P'
  const shown = e.profileJson(p2);
  const ns = native(['profile', 'show', tmpFile('p2.bin', p2)]);
  assert.equal(ns.status, 0, ns.stderr);
  assert.deepEqual(shown, JSON.parse(ns.stdout.toString()));
  // An empty profile is a new shopper; an empty Uint8Array too.
  assert.deepEqual(e.updateProfile(new Uint8Array(0), EVENT_VIEW), p1);
  // A corrupt profile is a 'profile' error.
  const bad = p2.slice();
  bad[bad.length - 1] ^= 0xff;
  assert.throws(() => e.profileJson(bad), (x) => x instanceof EngineError && x.code === 'profile');
  assert.throws(() => e.updateProfile(bad, EVENT_VIEW), (x) => x instanceof EngineError && x.code === 'profile');
  // Bad events.
  assert.throws(() => e.updateProfile(null, '{"type":"teleport","item":"X"}'), EngineError);
  assert.throws(() => e.updateProfile(null, '{"type":"view"'), (x) => x.code === 'json');
});

test('checkEvent: null when valid, the message otherwise; requireAll', () => {
  const e = reactorEngine();
  assert.equal(e.checkEvent(EVENT_VIEW), null);
  const full = '{"id":"e1","ts":1767225600,"session":"s1","type":"view","item":"ER-BAG-01"}';
  assert.equal(e.checkEvent(full, { requireAll: true }), null);
  const m = e.checkEvent(EVENT_VIEW, { requireAll: true });
  assert.equal(typeof m, 'string');
  assert.match(m, /id|session/);
  assert.match(e.checkEvent('{"type":"view","item":"X","ts":"soon"}') ?? '', /ts/);
  assert.notEqual(e.checkEvent('{"item":"X"}'), null);
  assert.notEqual(e.checkEvent('nope'), null);
  assert.notEqual(e.checkEvent('x'.repeat(20000)), null, 'over the event size limit');
});

test('info() equals the bundle part of native inspect', () => {
  const e = reactorEngine();
  const info = e.info();
  const n = native(['inspect', BUNDLE]);
  assert.equal(n.status, 0, n.stderr);
  const ins = JSON.parse(n.stdout.toString());
  for (const [k, v] of Object.entries(info)) assert.deepEqual(ins[k], v, `info.${k}`);
  assert.ok(Object.keys(info).length >= 3);
  // The trees bundle loads too and reports a different model.
  const t = reactorEngine(BUNDLE_TREES).info();
  assert.notDeepEqual(t, info);
});

test('an invalid bundle throws EngineError with the engine message', () => {
  const mod = reactorModuleOnce();
  const bytes = bundleBytes();
  for (const [bad, what] of [[new Uint8Array(100), 'zeros'], [bytes.slice(0, 64), 'truncated'], [(() => { const b = bytes.slice(); b[b.length - 9] ^= 1; return b; })(), 'flipped']]) {
    let err;
    try { new Engine(mod, bad); } catch (x) { err = x; }
    assert.ok(err instanceof EngineError, what);
    assert.ok(err.message.length > 0, `${what}: message`);
    const n = native(['inspect', tmpFile(`bad-${what}.erb`, bad)]);
    assert.equal(n.status, 4, `${what}: native exit`);
    assert.ok(n.stdout.toString().includes(JSON.stringify(err.message).slice(1, -1)) || n.stderr.includes(err.message),
      `${what}: native ${n.stdout} / wrapper ${err.message}`);
  }
  assert.throws(() => new Engine(mod, 'not bytes'), TypeError);
});

test('forced trap → EngineError "trap", instance rebuilt, next call identical', () => {
  const e = reactorEngine();
  const before = e.recommend(CTX.recent);
  const resp = readText('tests/data/parity/responses/venia-category-48.json');
  const rBefore = e.rerank(resp, CTX.anon).body;
  e.setBudget(7);
  const budgeted = (() => { try { return e.recommend(CTX.anon); } catch (x) { return x.code; } })();
  const oldMemory = e._mem;
  assert.throws(() => e.debugTrap(), (x) => x instanceof EngineError && x.code === 'trap' && x.status === -1);
  assert.notEqual(e._mem, oldMemory, 'a new instance');
  // The budget override survived the rebuild.
  assert.deepEqual((() => { try { return e.recommend(CTX.anon); } catch (x) { return x.code; } })(), budgeted);
  e.setBudget(0);
  assert.equal(e.recommend(CTX.recent), before);
  assert.deepEqual(e.rerank(resp, CTX.anon).body, rBefore);
  // Several traps in a row are fine too.
  for (let i = 0; i < 3; i++) assert.throws(() => e.debugTrap(), (x) => x.code === 'trap');
  assert.equal(e.recommend(CTX.recent), before);
});

test('a trap in the middle of a call (memory detached) also recovers', () => {
  const e = reactorEngine();
  const before = e.recommend(CTX.anon);
  // Simulate a host-side RangeError from memory: make the next alloc fail hard.
  const realAlloc = e._x.er_alloc;
  e._x = { ...e._x, er_alloc: () => { throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'); } };
  e._slots[0] = [0, 0];
  assert.throws(() => e.recommend(CTX.anon), (x) => x.code === 'trap');
  assert.notEqual(e._x.er_alloc, realAlloc);
  assert.equal(e.recommend(CTX.anon), before);
});

test('concurrent use: many interleaved requests share one instance safely', async () => {
  const shared = reactorEngine();
  const ref = reactorEngine();
  const resp = readText('tests/data/parity/responses/venia-category-bags.json');
  const ctxs = Object.values(CTX);
  const ops = [];
  for (let i = 0; i < 300; i++) {
    const ctx = ctxs[(i * 7) % ctxs.length];
    if (i % 3 === 0) ops.push(['recommend', ctx]);
    else if (i % 3 === 1) ops.push(['rerank', ctx]);
    else ops.push(['profile', i % 2 ? EVENT_VIEW : EVENT_CART]);
  }
  const run = (eng, [kind, arg]) => kind === 'recommend' ? eng.recommend(arg)
    : kind === 'rerank' ? dec.decode(eng.rerank(resp, arg).body ?? new Uint8Array())
    : Buffer.from(eng.updateProfile(null, arg)).toString('hex');
  const expected = ops.map((op) => run(ref, op));
  // 300 async "requests", each awaiting between (never during) engine calls.
  const got = await Promise.all(ops.map(async (op, i) => {
    await new Promise((r) => setTimeout(r, i % 5));
    const a = run(shared, op);
    await null;
    const b = run(shared, ops[(i + 1) % ops.length]);
    return [a, b];
  }));
  got.forEach(([a, b], i) => {
    assert.equal(a, expected[i], `request ${i}`);
    assert.equal(b, expected[(i + 1) % ops.length], `request ${i} second call`);
  });
});

test('input buffers grow for large inputs and keep working for small ones', () => {
  const e = reactorEngine();
  const small = e.recommend(CTX.candidates);
  const many = Array.from({ length: 4000 }, (_, i) => `ER-SYN-${i}`);
  const big = JSON.stringify({ candidates: ['ER-BAG-01', ...many], k: 5 });
  const nb = nativeRecommend(big);
  assert.equal(e.recommend(big) + '\n', nb.stdout.toString());
  // A 2 MB response grows linear memory; outputs stay right.
  const items = [];
  for (let i = 0; i < 900; i++) items.push({ sku: i % 3 ? `ER-SYN-${i}` : 'ER-BAG-0' + (1 + (i % 9)), name: 'x'.repeat(2000) });
  const huge = JSON.stringify({ data: { products: { items } } });
  const r = e.rerank(huge, CTX.recent);
  const n = native(['rerank', '--bundle', BUNDLE, '--context', CTX.recent], huge);
  assert.ok(Buffer.from(r.ok ? r.body : enc.encode(huge)).equals(n.stdout), `huge: ${r.reason}`);
  assert.equal(e.recommend(CTX.candidates), small);
  // Non-ASCII strings are UTF-8 encoded exactly.
  const uni = '{"page":{"type":"search"},"country":"ÅÄÖ","recent":["ER-BAG-01"],"candidates":["ER-BAG-01","sku-ünï-😀"],"k":2}';
  assert.equal(e.recommend(uni) + '\n', nativeRecommend(uni).stdout.toString());
});

test('inputs over their limit are refused before they reach linear memory; memory does not grow with them', async () => {
  const { LIMITS } = await import('../../worker-shim/core/engine.js');
  // the JS limits are the engine's own (src/engine/er_base.h, src/engine/er_profile.h)
  const { readFileSync } = await import('node:fs');
  const h = readFileSync(new URL('../../src/engine/er_base.h', import.meta.url), 'utf8');
  const macro = (name) => { const m = new RegExp(`#define ${name}\\s+\\(?(\\d+)u(?:\\s*\\*\\s*(\\d+)u)?(?:\\s*\\*\\s*(\\d+)u)?`).exec(h); return m.slice(1).filter(Boolean).reduce((a, b) => a * Number(b), 1); };
  assert.equal(LIMITS.context, macro('ER_MAX_CONTEXT_BYTES'));
  assert.equal(LIMITS.response, macro('ER_MAX_RESPONSE_BYTES'));
  assert.equal(LIMITS.event, macro('ER_MAX_EVENT_BYTES'));
  const p = readFileSync(new URL('../../src/engine/er_profile.h', import.meta.url), 'utf8');
  const pv = (n) => Number(new RegExp(`#define ${n} (\\d+)`).exec(p)[1]);
  assert.equal(LIMITS.profile, pv('ER_PROFILE_HEADER') + 16 * pv('ER_PROFILE_MAX_ITEMS') + 8 * pv('ER_PROFILE_MAX_CATS') + 4);

  const e = reactorEngine();
  const pad = (json, n) => json.slice(0, -1) + ' '.repeat(n - json.length) + '}'; // valid JSON of exactly n bytes
  assert.equal(e.recommend(pad(CTX.recent, LIMITS.context)), e.recommend(CTX.recent), 'exactly the limit is read');
  const memory = () => e._mem.buffer.byteLength;
  e.recommend(pad(CTX.recent, LIMITS.context)); e.rerank(pad('{"data":{"products":{"items":[]}}}', LIMITS.response), CTX.recent);
  const before = memory();
  for (const times of [1, 2, 100]) {
    const over = times === 1 ? LIMITS.context + 1 : LIMITS.context * times;
    assert.throws(() => e.recommend(pad(CTX.recent, over)), (err) => err instanceof EngineError && err.code === 'limit' && err.message === `context: more than the limit of ${LIMITS.context} bytes`);
    // a string whose UTF-8 is over the limit though its UTF-16 length is not
    const wide = `{"country":"${'é'.repeat(LIMITS.context / 2)}"}`; // fewer UTF-16 units than the limit, more UTF-8 bytes
    assert.ok(wide.length <= LIMITS.context);
    assert.throws(() => e.recommend(wide), (err) => err.code === 'limit');
    const r = e.rerank(pad('{"data":{"products":{"items":[]}}}', times === 1 ? LIMITS.response + 1 : LIMITS.response * Math.min(times, 8)), CTX.recent);
    assert.deepEqual([r.ok, r.reason], [false, 'oversized']);
    assert.match(e.checkEvent(pad(EVENT_VIEW, LIMITS.event * times + 1)), /^event: more than the limit of 16384 bytes$/);
    assert.throws(() => e.updateProfile(new Uint8Array(LIMITS.profile * times + 1), EVENT_VIEW), /profile: more than the limit of 548 bytes/);
  }
  assert.equal(memory(), before, 'linear memory grew with oversized inputs');
  assert.equal(e.recommend(CTX.recent), e.recommend(CTX.recent)); // still serving
});

test('skus(): every catalog sku in catalog order, as the native CLI packed and inspects it; pages of at most 64 KiB', () => {
  const e = reactorEngine();
  const skus = e.skus();
  const catalog = JSON.parse(readText('tests/data/sample-catalog.json'));
  assert.deepEqual(skus, catalog.items.map((i) => i.sku), 'catalog order, children and out-of-stock items included');
  const ins = native(['inspect', BUNDLE]);
  assert.equal(ins.status, 0, ins.stderr);
  assert.equal(skus.length, JSON.parse(ins.stdout.toString()).items, 'as many as native inspect counts');
  // The raw export: [offset, offset+count), [] past the end, handle 0 is a usage error.
  const x = e._x;
  const page = (off, n) => { const rc = x.er_skus(e._h, off, n); assert.ok(rc > 0); return JSON.parse(dec.decode(e._out(rc))); };
  assert.deepEqual(page(3, 2), skus.slice(3, 5));
  assert.deepEqual(page(skus.length - 1, 10), skus.slice(-1));
  assert.deepEqual(page(skus.length, 10), []);
  assert.deepEqual(page(0xffffffff, 0xffffffff), []);
  assert.deepEqual(page(0, 0), []);
  assert.equal(x.er_skus(0, 0, 10), -1);

  // A catalog of long skus (quotes, backslashes, controls, non-ASCII) packed by the native CLI: many pages.
  const long = Array.from({ length: 2500 }, (_, i) => `SKU-${String(i).padStart(5, '0')}-"q"\\b\\\u0001-äö😀-${'x'.repeat(80)}`);
  const cat = { items: long.map((sku, i) => ({ sku, price: i, categories: ['A'] })) };
  const erb = `${tmp}/long.erb`;
  const model = tmpFile('long-model.json', '{"version":"long-1","kind":"linear","bits":10,"weights":[]}');
  const p = native(['pack', '--model', model, '--catalog', tmpFile('long.json', JSON.stringify(cat)), '--out', erb]);
  assert.equal(p.status, 0, p.stderr);
  const big = reactorEngine(erb);
  assert.deepEqual(big.skus(), long);
  let off = 0, pages = 0;
  for (;;) {
    const rc = big._x.er_skus(big._h, off, 100000);
    assert.ok(rc > 0 && rc <= 64 * 1024, `page of ${rc} bytes`);
    const got = JSON.parse(dec.decode(big._out(rc)));
    if (!got.length) break;
    off += got.length;
    pages++;
  }
  assert.equal(off, long.length);
  assert.ok(pages >= 4, `${pages} pages`);
  assert.equal(JSON.parse(native(['inspect', erb]).stdout.toString()).items, long.length);
});

test('skus() through the Emscripten build is the same list', async () => {
  const { emscriptenEngine } = await import('./helpers.mjs');
  assert.deepEqual((await emscriptenEngine()).skus(), reactorEngine().skus());
});

// ---- live popularity lists (setLists; docs/units.md "Live lists") ---------------------------
const MOST_VIEWED = '{"unit":"most-viewed","k":6}';
const skusOf = (out) => JSON.parse(out).items.map((i) => i.sku);
const LIVE = JSON.stringify({
  'most-viewed': [['ER-WT-01', 62], ['ER-BAG-05', 719], ['ER-BAG-08', 857], ['NOPE-1', 999], ['ER-MJ-01-S', 300], ['ER-WT-01', 1000], ['ER-BAG-01', 600]],
});

test('setLists: most-viewed follows the live list, rules still apply, and null returns the bundle\'s answer byte for byte', () => {
  const e = reactorEngine();
  const bundle = e.recommend(MOST_VIEWED);
  assert.equal(e.info().live_lists, null);
  assert.equal(e.listsInfo(), null);
  assert.deepEqual(e.setLists(LIVE), { 'most-viewed': 5 }); // NOPE-1 (not in the bundle) and the second ER-WT-01 skipped
  assert.deepEqual(e.listsInfo(), { 'most-viewed': 5 });
  assert.deepEqual(e.info().live_lists, { 'most-viewed': 5 });
  const live = JSON.parse(e.recommend(MOST_VIEWED));
  // ER-BAG-05 is out of stock; ER-BAG-08 has the top score (857 → 1.0) but the bundle's bury rule takes 0.5;
  // the child ER-MJ-01-S is shown as its parent
  assert.deepEqual(live.items, [
    { sku: 'ER-BAG-01', score: 0.7001 }, { sku: 'ER-BAG-08', score: 0.5 }, { sku: 'ER-MJ-01', score: 0.3501 }, { sku: 'ER-WT-01', score: 0.0723 }]);
  assert.notDeepEqual(skusOf(bundle), live.items.map((i) => i.sku));
  // out-of-stock items when the filter allows them; exclusion, cart and page item as for the bundle's list
  assert.deepEqual(skusOf(e.recommend('{"unit":"most-viewed","k":6,"filter":{"in_stock_only":false}}')), ['ER-BAG-05', 'ER-BAG-01', 'ER-BAG-08', 'ER-MJ-01', 'ER-WT-01']);
  assert.deepEqual(skusOf(e.recommend('{"unit":"most-viewed","k":6,"exclude":["ER-BAG-01"],"cart":["ER-MJ-01-L"],"page":{"type":"product","sku":"ER-WT-01"}}')), ['ER-BAG-08']);
  // back-fill reads the live list too; a kind not given (trending) keeps the bundle's
  const bf = JSON.parse(e.recommend('{"unit":"viewed-viewed","page":{"type":"product","sku":"ER-NOPE"},"k":3,"backfill":"most-viewed"}'));
  assert.deepEqual(bf.items.map((i) => [i.sku, i.backup]), [['ER-BAG-01', true], ['ER-BAG-08', true], ['ER-MJ-01', true]]);
  const fresh = reactorEngine();
  assert.equal(e.recommend('{"unit":"trending","k":8}'), fresh.recommend('{"unit":"trending","k":8}'));
  // work units count the entries read: 4 live entries against the bundle's list
  e.recommend('{"unit":"most-viewed","k":200}');
  const liveUnits = e.units();
  fresh.recommend('{"unit":"most-viewed","k":200}');
  assert.ok(liveUnits < fresh.units(), `${liveUnits} < ${fresh.units()}`);
  // clearing: null, '' and '{}' all give the bundle's bytes back
  for (const clear of [null, '', '{}']) {
    e.setLists(LIVE);
    assert.equal(e.setLists(clear), null);
    assert.equal(e.recommend(MOST_VIEWED), bundle);
    assert.equal(e.info().live_lists, null);
  }
  assert.throws(() => e.setLists({ 'most-viewed': [] }), TypeError);
});

test('setLists: bad input throws EngineError naming the list, entry and byte; the lists in force stay', () => {
  const e = reactorEngine();
  e.setLists(LIVE);
  const before = e.recommend(MOST_VIEWED);
  const cases = [
    ['{"trending":[["ER-BAG-01",-3]]}', 'range', /^lists: 'trending'\[0\] score must be a finite number >= 0, got -3 \(byte 26\)$/, 26],
    ['{"trending":[["ER-BAG-01",1],["ER-BAG-02",2e400]]}', 'range', /'trending'\[1\] score must be a finite number >= 0, got 2e400/, 42],
    ['{"trending":[["ER-BAG-01",null]]}', 'type', /score must be a number, got null/, 26],
    ['{"most-purchased":[["ER-BAG-01"]]}', 'shape', /'most-purchased'\[0\] must be a \[sku, score\] pair/, 19],
    ['{"most-added-to-cart":[[7,1]]}', 'type', /'most-added-to-cart'\[0\] sku must be a string, got number/, 24],
    ['{"most-viewed":{"ER-BAG-01":1}}', 'type', /'most-viewed' must be an array of \[sku, score\] pairs/, 15],
    ['[]', 'type', /^lists: must be a JSON object/, 0],
    ['{"trending":[],"trending":[]}', 'json', /duplicate key 'trending'/, 15],
    ['{"trending":[', 'json', /^lists: unexpected end of input/, 13],
    [JSON.stringify({ trending: Array.from({ length: 501 }, (_, i) => ['ER-BAG-01', i]) }), 'limit', /^lists: 'trending' has 501 entries, more than the limit of 500/, 12],
  ];
  for (const [json, code, message, offset] of cases) {
    assert.throws(() => e.setLists(json), (err) => err instanceof EngineError && err.code === code && message.test(err.message) && err.offset === offset,
      json.slice(0, 60));
    assert.deepEqual(e.listsInfo(), { 'most-viewed': 5 });
    assert.deepEqual(e.info().live_lists, { 'most-viewed': 5 });
    assert.equal(e.recommend(MOST_VIEWED), before);
  }
});

test('setLists: the 1 MiB limit is read exactly and refused above before reaching linear memory', async () => {
  const { LIMITS } = await import('../../worker-shim/core/engine.js');
  const { readFileSync } = await import('node:fs');
  const h = readFileSync(new URL('../../src/engine/er_lists.h', import.meta.url), 'utf8');
  const m = /#define ER_MAX_LISTS_BYTES \((\d+)u \* (\d+)u\)/.exec(h);
  assert.equal(LIMITS.lists, Number(m[1]) * Number(m[2]));
  const e = reactorEngine();
  const doc = '{"trending":[["ER-BAG-01",1]]}';
  const pad = (n) => doc.slice(0, -1) + ' '.repeat(n - doc.length) + '}';
  assert.deepEqual(e.setLists(pad(LIMITS.lists)), { trending: 1 });
  const memory = e._mem.buffer.byteLength;
  for (const n of [LIMITS.lists + 1, 2 * LIMITS.lists, 100 * LIMITS.lists]) {
    assert.throws(() => e.setLists(pad(n)), (err) => err.code === 'limit' && err.message === `lists: more than the limit of ${LIMITS.lists} bytes`);
  }
  assert.equal(e._mem.buffer.byteLength, memory, 'linear memory grew with oversized lists');
  assert.deepEqual(e.listsInfo(), { trending: 1 });
});

test('setLists: the lists survive trap recovery, and the Emscripten build answers the same', async () => {
  const e = reactorEngine();
  e.setLists(LIVE);
  const live = e.recommend(MOST_VIEWED);
  const fill = e.recommend('{"k":10}');
  assert.throws(() => e.debugTrap(), (x) => x.code === 'trap');
  assert.equal(e.recommend(MOST_VIEWED), live);
  assert.deepEqual(e.info().live_lists, { 'most-viewed': 5 });
  const { emscriptenEngine } = await import('./helpers.mjs');
  const ems = await emscriptenEngine();
  assert.deepEqual(ems.setLists(LIVE), { 'most-viewed': 5 });
  assert.equal(ems.recommend(MOST_VIEWED), live);
  assert.equal(ems.recommend('{"k":10}'), fill);
  assert.throws(() => ems.setLists('{"trending":[["ER-BAG-01",-1]]}'), (x) => x.code === 'range');
  assert.equal(ems.recommend(MOST_VIEWED), live);
});
