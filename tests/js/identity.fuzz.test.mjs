// identity.fuzz.test.mjs — property-based fuzzing (fast-check; tests/js/fuzz.mjs: FUZZ_RUNS, FUZZ_SEED) of
// worker-shim/core/identity.js: the Cookie header (parseCookies, stripEdgerecCookies), the Set-Cookie
// writer (serializeCookie), the sealed profile (sealProfile / openProfile, er_p and x-edgerec-profile),
// base64url, the app headers (x-edgerec-id, x-edgerec-session, x-edgerec-profile) and the bearer token,
// through identify(), erasureIds() and customerKey() with arbitrary headers.  Properties: nothing throws
// but the documented TypeError of serializeCookie; ids, sessions and cookies come out in their
// documented syntax whatever came in; what can be written can be read back (cookies, base64url, profiles)
// and any change to a sealed profile is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ID_HEADER, MAX_PROFILE_BYTES, MAX_PROFILE_COOKIE, PROFILE_HEADER, SESSION_HEADER, customerKey, erasureIds, fromBase64url,
  identify, openProfile, parseCookies, sealProfile, serializeCookie, stripEdgerecCookies, toBase64url,
} from '../../worker-shim/core/identity.js';
import { CALL_MS, anyString, fc, params } from './fuzz.mjs';

const ENV = { EDGEREC_ID_SECRET: 'fuzz-id-secret-0123456789abcdefghijklmnop', EDGEREC_COOKIE_KEY: Buffer.alloc(32, 7).toString('base64'), CONSENT_COOKIE: '' };
const APP_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const RANDOM_ID = /^[A-Za-z0-9_-]{22}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const EDGEREC = new Set(['er_uid', 'er_sid', 'er_p']);

// Header values a Headers object accepts (no NUL, CR, LF; Latin-1), with the characters cookie and
// id parsers trip on.
const headerValue = (maxLength = 200) => fc.string({ maxLength, unit: fc.oneof(
  fc.constantFrom(';', '=', '"', ' ', '\t', ',', '.', ':', '-', '_', '%', '\\', '\u00e9', '\u00ff'),
  fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
) });
const cookieName = fc.oneof(fc.constantFrom('er_uid', 'er_sid', 'er_p', 'consent', 'PHPSESSID', 'er_uid ', ' er_p'), headerValue(10));
const cookieValue = fc.oneof(
  fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA.1700000000', '""', '"q"'),
  fc.stringMatching(/^[A-Za-z0-9_-]{22}(\.\d{1,12})?$/), headerValue(40),
);
const cookieHeader = fc.oneof(
  headerValue(300),
  fc.array(fc.tuple(cookieName, cookieValue, fc.constantFrom('; ', ';', ' ; ', ';;', '; =; ')), { maxLength: 8 })
    .map((ps) => ps.map(([n, v, sep]) => `${n}=${v}${sep}`).join('')),
);
const timedAsync = async (fn) => { const t = performance.now(); const r = await fn(); return [r, performance.now() - t]; };

test('parseCookies: any header (and non-strings) → a null-prototype map of trimmed names, first pair wins; never throws', () => {
  fc.assert(fc.property(fc.oneof(cookieHeader, anyString({ maxLength: 200 }), fc.anything()), (h) => {
    const out = parseCookies(h);
    assert.equal(Object.getPrototypeOf(out), null);
    if (typeof h !== 'string') { assert.deepEqual(Object.keys(out), []); return; }
    const pairs = h.split(';');
    for (const [k, v] of Object.entries(out)) {
      assert.ok(k && k === k.trim() && !k.includes(';') && !k.includes('='), `name ${JSON.stringify(k)}`);
      assert.ok(!v.includes(';'));
      const first = pairs.find((p) => p.includes('=') && p.slice(0, p.indexOf('=')).trim() === k);
      const raw = first.slice(first.indexOf('=') + 1).trim();
      assert.equal(v, raw.length >= 2 && raw[0] === '"' && raw.at(-1) === '"' ? raw.slice(1, -1) : raw);
    }
  }), params(2));
});

test('serializeCookie → parseCookies round-trips every valid name and value; anything invalid is a TypeError, never a split header', () => {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/);
  const octets = fc.string({ maxLength: 60, unit: fc.integer({ min: 0x21, max: 0x7e }).filter((c) => ![0x22, 0x2c, 0x3b, 0x5c].includes(c)).map((c) => String.fromCharCode(c)) });
  fc.assert(fc.property(fc.uniqueArray(fc.tuple(token, octets), { selector: ([n]) => n, maxLength: 6 }), (pairs) => {
    const header = pairs.map(([n, v]) => serializeCookie(n, v, { path: '/', maxAge: 60, secure: true, httpOnly: true, sameSite: 'Lax' }).split(';')[0]).join('; ');
    const out = parseCookies(header);
    for (const [n, v] of pairs) assert.equal(out[n], v, `cookie ${n}`);
    assert.equal(Object.keys(out).length, pairs.length);
  }), params());
  fc.assert(fc.property(fc.oneof(anyString({ maxLength: 30 }), fc.anything()), fc.oneof(anyString({ maxLength: 30 }), fc.anything()),
    fc.record({ maxAge: fc.anything(), expires: fc.oneof(fc.date(), fc.anything()), domain: fc.anything(), path: fc.oneof(anyString({ maxLength: 20 }), fc.anything()), sameSite: fc.anything() }, { requiredKeys: [] }),
    (name, value, opts) => {
      let s;
      try { s = serializeCookie(name, value, opts); } catch (e) { assert.ok(e instanceof TypeError, `${e}`); return; }
      assert.equal(typeof s, 'string');
      assert.ok(!/[\r\n\0]/.test(s), 'no header splitting');
      assert.equal(s.split(';')[0], `${name}=${value}`);
    }), params(2));
});

test('base64url: bytes round-trip; any string decodes to null or to bytes that encode back to it', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
    const s = toBase64url(b);
    assert.match(s, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(fromBase64url(s), b);
  }), params());
  fc.assert(fc.property(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_=+/-]{0,40}$/), anyString({ maxLength: 40 }), fc.anything()), (s) => {
    const b = fromBase64url(s);
    if (b !== null) assert.equal(toBase64url(b), s);
  }), params(2));
});

test('sealed profiles: any bytes ≤ 1 KB round-trip; another shopper, any changed character, any other string → null', async () => {
  const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: MAX_PROFILE_BYTES + 40 }), hash, hash, fc.nat(), fc.integer({ min: 1, max: 63 }),
    async (bytes, uid, other, at, delta) => {
      const [value, ms] = await timedAsync(() => sealProfile(ENV, uid, bytes));
      assert.ok(ms < CALL_MS);
      if (bytes.length > MAX_PROFILE_BYTES) { assert.equal(value, null); return; }
      assert.ok(typeof value === 'string' && value.length <= MAX_PROFILE_COOKIE);
      assert.deepEqual(await openProfile(ENV, uid, value), bytes);
      if (other !== uid) assert.equal(await openProfile(ENV, other, value), null);
      const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const i = at % value.length;
      const changed = value.slice(0, i) + ALPHA[(ALPHA.indexOf(value[i]) + delta) % 64] + value.slice(i + 1);
      assert.equal(await openProfile(ENV, uid, changed), null, 'a changed character is refused');
    }), params(0.5));
  await fc.assert(fc.asyncProperty(fc.oneof(headerValue(1500), fc.stringMatching(/^[A-Za-z0-9_-]{0,200}$/), fc.anything()), fc.oneof(hash, fc.anything()),
    async (value, uid) => { assert.equal(await openProfile(ENV, uid, value), null); }), params());
});

test('identify with any Cookie header: a well-formed id and session out, only edgerec\'s cookies set, never a throw', async () => {
  await fc.assert(fc.asyncProperty(cookieHeader, fc.option(headerValue(20), { nil: undefined }), async (cookie, authorization) => {
    const headers = new Headers({ cookie, ...(authorization !== undefined ? { authorization } : {}) });
    const [id, ms] = await timedAsync(() => identify(new Request('https://shop.example/graphql', { headers }), ENV, 1_700_000_000_000));
    assert.ok(ms < CALL_MS);
    assert.equal(id.error, null);
    assert.equal(id.source, 'cookie');
    assert.match(id.uid, RANDOM_ID);
    assert.match(id.uidHash, HEX64);
    assert.match(id.sid, RANDOM_ID);
    assert.ok(id.customerKey === null || HEX64.test(id.customerKey));
    const sent = parseCookies(cookie).er_uid;
    if (sent !== undefined && RANDOM_ID.test(sent)) assert.equal(id.uid, sent); else assert.equal(id.isNewUid, true);
    for (const sc of id.setCookies) {
      assert.match(sc, /^er_(uid|sid)=[A-Za-z0-9_.-]+; Max-Age=\d+; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    }
  }), params());
});

test('app headers: x-edgerec-id is the id iff it is 8..128 of [A-Za-z0-9._:-]; session and profile likewise; no cookie ever', async () => {
  const appValue = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{6,130}$/), headerValue(140), fc.constantFrom('', ' ', 'abcdefgh', ' abcdefgh ', 'a'.repeat(129)));
  await fc.assert(fc.asyncProperty(appValue, fc.option(appValue, { nil: undefined }), fc.option(fc.oneof(headerValue(1500), fc.stringMatching(/^[A-Za-z0-9_-]{1,1500}$/)), { nil: undefined }), cookieHeader,
    async (app, session, profile, cookie) => {
      const headers = new Headers({ [ID_HEADER]: app, cookie });
      if (session !== undefined) headers.set(SESSION_HEADER, session);
      if (profile !== undefined) headers.set(PROFILE_HEADER, profile);
      const req = new Request('https://shop.example/edge/recommend', { headers });
      const id = await identify(req, ENV, 1_700_000_000_000);
      const v = headers.get(ID_HEADER).trim();
      assert.deepEqual(id.setCookies, [], 'an app request sets no cookie');
      assert.equal(id.isNewUid, false);
      if (APP_ID.test(v)) {
        assert.equal(id.uid, v);
        assert.equal(id.source, 'header');
        const s = (headers.get(SESSION_HEADER) ?? '').trim();
        assert.equal(id.sid, APP_ID.test(s) ? s : null);
        const p = (headers.get(PROFILE_HEADER) ?? '').trim();
        assert.equal(id.profileValue, p && p.length <= MAX_PROFILE_COOKIE ? p : null);
      } else {
        assert.deepEqual([id.uid, id.uidHash, id.sid, id.profileValue], [null, null, null, null]);
      }
      const er = await erasureIds(req, ENV);
      assert.equal(er.uidHash, id.uidHash);
    }), params());
});

test('the bearer token and the privacy headers: any value → a key or null, opted out only on exactly "1"', async () => {
  await fc.assert(fc.asyncProperty(headerValue(120), fc.constantFrom(undefined, '1', ' 1 ', '0', '1, 1', 'true'), async (authorization, gpc) => {
    const headers = new Headers({ authorization, ...(gpc !== undefined ? { 'sec-gpc': gpc } : {}) });
    const req = new Request('https://shop.example/graphql', { headers });
    const key = await customerKey(req, ENV);
    assert.ok(key === null || HEX64.test(key));
    const id = await identify(req, ENV);
    assert.equal(id.optedOut, gpc !== undefined && gpc.trim() === '1');
    if (id.optedOut) assert.deepEqual([id.uid, id.uidHash, id.customerKey, id.setCookies], [null, null, null, []]);
  }), params());
});

test('stripEdgerecCookies: no edgerec cookie or header reaches the origin; every other pair kept, in order', () => {
  fc.assert(fc.property(cookieHeader, fc.boolean(), (cookie, withApp) => {
    const h = new Headers({ cookie, 'x-other': 'kept', ...(withApp ? { [ID_HEADER]: 'app-install-1', [SESSION_HEADER]: 's-1', [PROFILE_HEADER]: 'p' } : {}) });
    const out = stripEdgerecCookies(h);
    for (const n of [ID_HEADER, SESSION_HEADER, PROFILE_HEADER]) assert.equal(out.has(n), false);
    assert.equal(out.get('x-other'), 'kept');
    const sent = h.get('cookie');
    const left = out.get('cookie');
    const pairs = (s) => (s ?? '').split(';').filter((p) => p.trim() !== '');
    const isEdgerec = (p) => p.includes('=') && EDGEREC.has(p.slice(0, p.indexOf('=')).trim());
    assert.ok(pairs(left).every((p) => !isEdgerec(p)), `left: ${left}`);
    if (pairs(sent).some(isEdgerec)) assert.deepEqual(pairs(left).map((p) => p.trim()), pairs(sent).filter((p) => !isEdgerec(p)).map((p) => p.trim()));
    else assert.equal(left, sent, 'byte-identical when it holds no edgerec cookie');
  }), params());
});
