// live-lists.test.mjs — worker-shim/core/live-lists.js in Node: the live popularity lists document
// (docs/popularity.md) parsed with errors that name the problem, and LiveLists keeping engines in step
// with it — a real reactor engine over the sample bundle, whose most-viewed unit follows the document,
// keeps the last good lists on a bad one, and returns to the bundle's when the document goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveLists, MAX_LIVE_LISTS_BYTES, parseLiveLists } from '../../worker-shim/core/live-lists.js';
import { reactorEngine } from './helpers.mjs';

const mostViewed = (engine) => JSON.parse(engine.recommend(JSON.stringify({ k: 5, unit: 'most-viewed' }))).items.map((i) => i.sku);
const doc = (generatedAt, lists) => JSON.stringify({ generated_at: generatedAt, lists, counts: {} });

test('parseLiveLists: the engine JSON, the entries per list; errors name what is wrong', () => {
  assert.deepEqual(parseLiveLists('{"generated_at":5,"lists":{"trending":[["A",1]]},"extra":1}'),
    { generatedAt: 5, json: '{"trending":[["A",1]]}', entries: { trending: 1 } });
  assert.deepEqual(parseLiveLists('{"lists":{}}'), { generatedAt: null, json: '{}', entries: {} });
  assert.throws(() => parseLiveLists('{"lists":'), /^Error: live lists: not JSON/);
  assert.throws(() => parseLiveLists('[]'), { message: 'live lists: the document must be a JSON object' });
  assert.throws(() => parseLiveLists('{"generated_at":1}'), { message: "live lists: field 'lists' must be an object of lists" });
  assert.throws(() => parseLiveLists('{"generated_at":1,"lists":[]}'), { message: "live lists: field 'lists' must be an object of lists" });
  assert.throws(() => parseLiveLists('{"generated_at":"x","lists":{}}'), { message: 'live lists: generated_at must be unix seconds' });
  assert.throws(() => parseLiveLists(' '.repeat(2 * MAX_LIVE_LISTS_BYTES + 1)), /over 2097152 bytes/);
  assert.throws(() => parseLiveLists(null), { message: 'live lists: the document must be text' });
});

test('LiveLists over a real engine: set once per engine and document, a bad one keeps the lists in force, none → the bundle\'s', () => {
  const engine = reactorEngine();
  const bundle = mostViewed(engine);
  assert.equal(bundle.length, 5);
  const live = new LiveLists();
  assert.equal(live.apply(engine), engine); // nothing in force: nothing set
  assert.deepEqual(mostViewed(engine), bundle);
  assert.deepEqual(live.status(), { in_force: false, generated_at: null, age_seconds: null, entries: null, error: null });

  const chosen = [bundle[4], 'ER-BAG-03', bundle[0]];
  assert.equal(live.update(doc(1000, { 'most-viewed': chosen.map((s, i) => [s, 30 - i]), trending: [['NOT-IN-BUNDLE', 1]] })), true);
  live.apply(engine);
  assert.deepEqual(mostViewed(engine).slice(0, 3), chosen);
  assert.deepEqual(engine.listsInfo(), { 'most-viewed': 3, trending: 0 });
  assert.deepEqual(live.status(1_060_000), { in_force: true, generated_at: 1000, age_seconds: 60, entries: { 'most-viewed': 3, trending: 1 }, error: null });

  // the same document again: not set again (the engine is not called)
  const calls = [];
  const spy = { setLists: (j) => { calls.push(j); return {}; } };
  live.apply(spy); live.apply(spy);
  assert.equal(calls.length, 1);
  assert.equal(live.update(doc(1000, { 'most-viewed': chosen.map((s, i) => [s, 30 - i]), trending: [['NOT-IN-BUNDLE', 1]] })), false);

  // not JSON: the last good document stays, and is not set again
  assert.equal(live.update('{"lists":'), false);
  live.apply(engine); live.apply(spy);
  assert.equal(calls.length, 1);
  assert.deepEqual(mostViewed(engine).slice(0, 3), chosen);
  assert.match(live.status().error, /^live lists: not JSON/);

  // refused by the engine (a negative score): the engine keeps its lists, the error is shown
  assert.equal(live.update(doc(2000, { 'most-viewed': [[bundle[1], -1]] })), true);
  live.apply(engine);
  assert.deepEqual(mostViewed(engine).slice(0, 3), chosen);
  assert.match(live.status().error, /^range: lists: 'most-viewed'\[0\] score must be a finite number >= 0/);

  // a good one again clears the error
  live.update(doc(3000, { 'most-viewed': [[bundle[3], 1]] }));
  live.apply(engine);
  assert.deepEqual(mostViewed(engine).slice(0, 1), [bundle[3]]);
  assert.equal(live.status().error, null);

  // no document: the bundle's lists again
  assert.equal(live.update(null), true);
  live.apply(engine);
  assert.deepEqual(mostViewed(engine), bundle);
  assert.equal(engine.listsInfo(), null);
  assert.equal(live.status().in_force, false);

  // a read failure is shown until the next successful read
  live.readError = 'reading lists:live: KV down';
  assert.equal(live.status().error, 'reading lists:live: KV down');
  live.update(null);
  assert.equal(live.status().error, null);
});

test('a trap while setting is not thrown (the engine rebuilt itself): shown, and the document is set on the next call', () => {
  const live = new LiveLists();
  live.update(doc(1, { 'most-viewed': [['ER-BAG-01', 1]] }));
  let n = 0;
  const flaky = { setLists: () => { n++; if (n === 1) throw Object.assign(new Error('wasm trapped; instance rebuilt'), { code: 'trap' }); return {}; } };
  assert.equal(live.apply(flaky), flaky);
  assert.equal(live.status().error, 'trap: wasm trapped; instance rebuilt');
  live.apply(flaky);
  live.apply(flaky);
  assert.equal(n, 2);
  assert.equal(live.status().error, null);
});
