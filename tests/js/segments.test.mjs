// segments.test.mjs — worker-shim/core/segments.js in Node: segment definitions (what is refused and
// the message), the request facts, membership fixed at the first look (kept in state version 3,
// which still reads versions 2 and 1), the kill switch and the rollout's segment in placeShopper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceOf, inSegment, parseSegment, parseWebsites, placeShopper, segmentOf } from '../../worker-shim/core/segments.js';
import { assignArm } from '../../worker-shim/core/arms.js';
import { MAX_SEGMENTS, decodeState, encodeState } from '../../worker-shim/core/state.js';

test('parseSegment normalizes good definitions and refuses bad ones naming the key or value', () => {
  assert.deepEqual(parseSegment({ country: ['DE', 'AT', 'DE'], store: ['default'] }), { segment: { country: ['AT', 'DE'], store: ['default'] } });
  assert.deepEqual(parseSegment('{"channel":["app"]}'), { segment: { channel: ['app'] } });
  assert.deepEqual(parseSegment(null), { segment: null });
  assert.deepEqual(parseSegment({}), { segment: null });
  const bad = [
    [{ planet: ['mars'] }, /unknown key "planet" \(known: store, website, channel, country, device, group\)/],
    [{ channel: ['fax'] }, /segment\.channel: unknown value "fax" \(want one of "browser", "app"\)/],
    [{ group: ['vip'] }, /segment\.group: unknown value "vip"/],
    [{ device: ['phone'] }, /segment\.device: unknown value "phone"/],
    [{ country: ['Germany'] }, /segment\.country: unknown value "Germany"/],
    [{ store: [42] }, /segment\.store: unknown value 42/],
    [{ website: [] }, /segment\.website: must be a non-empty array/],
    [{ store: Array.from({ length: 65 }, (_, i) => `s${i}`) }, /at most 64 values/],
    ['{"store":', /segment: not JSON/],
    [[], /must be an object/],
    [7, /must be an object/],
  ];
  for (const [def, want] of bad) {
    const r = parseSegment(def);
    assert.equal(r.segment, undefined, JSON.stringify(def));
    assert.match(r.error, want);
  }
});

test('segmentOf reads the request; inSegment needs every listed key to match', () => {
  const req = (h) => ({ headers: new Headers(h) });
  const websites = parseWebsites('default:base, de:eu').map;
  const f = segmentOf(req({ 'user-agent': 'Mozilla/5.0 (iPhone) Mobile' }), { customerKey: null }, { store: 'de', country: 'de', websites });
  assert.deepEqual(f, { store: 'de', website: 'eu', channel: 'browser', country: 'DE', device: 'mobile', group: 'guest' });
  const app = segmentOf(req({ 'x-edgerec-id': 'abc' }), { customerKey: 'k' }, { store: 'default' });
  assert.deepEqual(app, { store: 'default', website: null, channel: 'app', country: null, device: 'app', group: 'signed-in' });
  assert.equal(inSegment(null, f), true);
  assert.equal(inSegment({ country: ['AT', 'DE'], website: ['eu'] }, f), true);
  assert.equal(inSegment({ country: ['AT', 'DE'], channel: ['app'] }, f), false);
  assert.equal(inSegment({ country: ['DE'] }, app), false, 'an unknown fact is never inside');
  assert.equal(deviceOf(new Headers({ 'user-agent': 'x' }), { tabletHint: true }), 'tablet');
  assert.equal(deviceOf(new Headers()), null);
  assert.match(parseWebsites('de').error, /STORE_WEBSITES: "de" is not store:website/);
});

test('state version 3 keeps memberships; versions 2 and 1 still read; decodeState stays total', () => {
  const profile = Uint8Array.from([1, 2, 3]);
  const segments = [{ key: 'scope:scope@1', in: true }, { key: 'run:v3@5', in: false }];
  const b = encodeState({ profile, cart: ['MH01'], since: 9, segments });
  assert.equal(b[0], 3);
  assert.deepEqual(decodeState(b), { profile, cart: ['MH01'], since: 9, segments });
  assert.equal(encodeState({ profile, cart: [], since: 9 })[0], 2, 'no memberships: version 2 bytes');
  const many = Array.from({ length: MAX_SEGMENTS + 3 }, (_, i) => ({ key: `run:${i}`, in: i % 2 === 0 }));
  assert.deepEqual(decodeState(encodeState({ profile: null, cart: [], since: 1, segments: many })).segments, many.slice(-MAX_SEGMENTS));
  for (let n = 0; n < b.length; n++) assert.equal(decodeState(b.subarray(0, n)), null, `a prefix of ${n} bytes`);
  assert.equal(decodeState(Uint8Array.from([...b, 0])), null, 'a trailing byte');
  const badFlag = Uint8Array.from(b);
  badFlag[badFlag.length - 1] = 2;
  assert.equal(decodeState(badFlag), null, 'a membership flag other than 0 / 1');
});

test('placeShopper: paused and out-of-scope shoppers are outside; membership is fixed at the first look', async () => {
  const base = { active: 'v1', canary: 'v2', percent: 50, holdout: 5, salt: 'salt-1', run: 'v2@1' };
  const guest = { store: 'default', channel: 'browser', country: 'DE', device: 'desktop', group: 'guest', website: null };
  const signedIn = { ...guest, group: 'signed-in' };
  assert.equal((await placeShopper({ ...base, paused: true }, guest, {}, 'u1')).outside, 'paused');
  const scoped = { ...base, scope: { group: ['guest'] }, scope_id: 'scope@7' };
  const state = { profile: null, cart: [] };
  const first = await placeShopper(scoped, guest, state, 'u1');
  assert.equal(first.outside, null);
  assert.deepEqual(state.segments, [{ key: 'scope:scope@7', in: true }]);
  assert.equal((await placeShopper(scoped, signedIn, state, 'u1')).outside, null, 'signed in later: still inside');
  assert.equal((await placeShopper(scoped, signedIn, {}, 'u1')).outside, 'out-of-scope', 'signed in at the first look: outside');
  assert.equal((await placeShopper({ ...scoped, scope_id: 'scope@8' }, signedIn, state, 'u1')).outside, 'out-of-scope', 'a new scope decides afresh');
  // the rollout's segment: inside, assignArm's split with the run; outside, no canary and no run
  const seg = { ...base, segment: { country: ['AT'] } };
  let canaries = 0;
  for (let i = 0; i < 200; i++) {
    const inside = await placeShopper(seg, { ...guest, country: 'AT' }, {}, `user-${i}`);
    const want = await assignArm(seg, `user-${i}`);
    assert.equal(inside.arm, want.arm);
    assert.equal(inside.run, 'v2@1');
    if (inside.arm === 'canary') canaries++;
    const out = await placeShopper(seg, guest, {}, `user-${i}`);
    assert.notEqual(out.arm, 'canary');
    assert.equal(out.run, null);
  }
  assert.ok(canaries > 50 && canaries < 150, `canary ${canaries} of 200 at 50 %`);
  assert.deepEqual(await placeShopper(null, guest, {}, 'u1'), { arm: 'control', version: null, run: null, outside: null });
});
