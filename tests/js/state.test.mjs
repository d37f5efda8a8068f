// state.test.mjs — worker-shim/core/state.js in Node: state version 2 carries `since` (when the
// shopper's state was first created) through every re-seal, version-1 states read as since 0
// (established), decodeState is total (null, never a throw, for any bytes), and applyEvents
// creates `since` once and removes client-sent edge fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CART, MAX_FUTURE_TS_S, applyEvents, decodeState, encodeState } from '../../worker-shim/core/state.js';

const enc = new TextEncoder();
const profile = Uint8Array.from({ length: 40 }, (_, i) => (i * 7 + 3) & 0xff);

/** A version-1 state as the Worker wrote it before `since` (u8 1 | u16 len | profile | u8 n | skus). */
function v1(p, cart) {
  const skus = cart.map((s) => enc.encode(s));
  const out = [1, p.length & 0xff, p.length >> 8, ...p, skus.length];
  for (const b of skus) out.push(b.length, ...b);
  return Uint8Array.from(out);
}

test('version 2 round-trips profile, cart and since; the layout is u8 2 | u32 since LE | u16 length | …', () => {
  const s = { profile, cart: ['MH01', 'WJ12-S-Blue', 'é'], since: 1_773_000_123 };
  const b = encodeState(s);
  assert.equal(b[0], 2);
  assert.equal(new DataView(b.buffer).getUint32(1, true), 1_773_000_123);
  assert.equal(b[5] | (b[6] << 8), profile.length);
  assert.deepEqual(decodeState(b), s);
  assert.deepEqual(decodeState(encodeState({ profile: null, cart: [], since: 0 })), { profile: null, cart: [], since: 0 });
  assert.deepEqual(decodeState(encodeState({ profile: null, cart: [], since: 0xffffffff })).since, 0xffffffff);
});

test('a state without since (or an invalid one) is created now', () => {
  const before = Math.floor(Date.now() / 1000);
  for (const since of [undefined, null, -1, 1.5, 2 ** 32, '123']) {
    const got = decodeState(encodeState({ profile: null, cart: ['A'], since })).since;
    assert.ok(got >= before && got <= Math.floor(Date.now() / 1000), `${since} → ${got}`);
  }
});

test('the cart keeps the newest MAX_CART skus of 1..128 bytes', () => {
  const cart = Array.from({ length: MAX_CART + 5 }, (_, i) => `SKU-${i}`);
  assert.deepEqual(decodeState(encodeState({ profile: null, cart, since: 5 })).cart, cart.slice(-MAX_CART));
  assert.deepEqual(decodeState(encodeState({ profile: null, cart: ['A', '', 'x'.repeat(129), 'B'], since: 5 })).cart, ['A', 'B']);
});

test('version 1 states decode with since 0 (established); re-encoding makes version 2 with the same contents', () => {
  const old = v1(profile, ['MH01', 'MJ03']);
  const s = decodeState(old);
  assert.deepEqual(s, { profile, cart: ['MH01', 'MJ03'], since: 0 });
  const again = encodeState(s);
  assert.equal(again[0], 2);
  assert.deepEqual(decodeState(again), s);
  assert.deepEqual(decodeState(v1(new Uint8Array(0), [])), { profile: null, cart: [], since: 0 });
});

test('decodeState is total: truncations, extensions, other versions, random bytes and non-bytes give null', () => {
  const good = [encodeState({ profile, cart: ['MH01', 'WJ12'], since: 77 }), v1(profile, ['MH01'])];
  for (const b of good) {
    for (let n = 0; n < b.length; n++) assert.equal(decodeState(b.subarray(0, n)), null, `a prefix of ${n} bytes`);
    assert.equal(decodeState(Uint8Array.from([...b, 0])), null, 'a trailing byte');
  }
  for (const v of [0, 3, 255]) { const b = Uint8Array.from(good[0]); b[0] = v; assert.equal(decodeState(b), null, `version ${v}`); }
  const badUtf8 = encodeState({ profile: null, cart: ['ab'], since: 1 });
  badUtf8[badUtf8.length - 1] = 0xff;
  assert.equal(decodeState(badUtf8), null, 'a sku that is not UTF-8');
  for (const v of [null, undefined, 'state', [2, 0, 0, 0, 0, 0, 0, 0], {}, new ArrayBuffer(8)]) assert.equal(decodeState(v), null);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from({ length: rnd() % 64 }, rnd);
    if (i % 2) b[0] = 1 + (i % 4 === 1 ? 1 : 0); // half of them start like a real version
    const r = decodeState(b); // must not throw
    if (r) assert.deepEqual(decodeState(encodeState(r)), r, 'anything accepted re-encodes to the same state');
  }
});

test('applyEvents: since is set once (when the shopper had none) and kept; client-sent edge fields are removed', () => {
  const id = { uidHash: 'u'.repeat(64), sid: 's1' };
  const fresh = { profile: null, cart: [] };
  const full = applyEvents({ engine: null, state: fresh, events: [{ type: 'cart', item: 'A', trust: 'established', flag: 'ok', conn: 'x', signed_in: true }], id, nowMs: 1_700_000_000_500 });
  assert.equal(fresh.since, 1_700_000_000);
  assert.deepEqual(fresh.cart, ['A']);
  assert.equal(full.length, 1);
  for (const f of ['trust', 'flag', 'conn', 'signed_in']) assert.ok(!(f in full[0]), f);
  assert.equal(full[0].user, id.uidHash);
  const kept = { profile: null, cart: [], since: 1_600_000_000 };
  applyEvents({ engine: null, state: kept, events: [{ type: 'view', item: 'B' }], id, nowMs: 1_700_000_000_000 });
  assert.equal(kept.since, 1_600_000_000);
  assert.equal(decodeState(encodeState(kept)).since, 1_600_000_000, 're-sealing keeps it');
});

test('applyEvents: a client ts in the past is kept; more than MAX_FUTURE_TS_S ahead (or not a number) is the edge\'s time', () => {
  const id = { uidHash: 'u'.repeat(64), sid: 's' };
  const nowMs = 1_700_000_000_250;
  const now = nowMs / 1000;
  const events = [{ type: 'view', item: 'A', ts: now - 86_400 * 30 }, { type: 'view', item: 'B', ts: now + MAX_FUTURE_TS_S },
    { type: 'view', item: 'C', ts: now + MAX_FUTURE_TS_S + 1 }, { type: 'view', item: 'D', ts: 4_294_967_295.999 }, { type: 'view', item: 'E', ts: '1' }, { type: 'view', item: 'F' }];
  const full = applyEvents({ engine: null, state: {}, events, id, nowMs });
  assert.deepEqual(full.map((e) => e.ts), [now - 86_400 * 30, now + MAX_FUTURE_TS_S, now, now, now, now]);
  assert.equal(full.length, events.length); // nothing dropped
});
