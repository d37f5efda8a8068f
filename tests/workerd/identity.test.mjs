// identity.test.mjs — worker-shim/core/identity.js INSIDE workerd (vitest workers pool):
// cookies, sessions, consent and opt-out, HMAC ids (RFC 4231 vectors), the AES-GCM
// profile cookie, header stripping and configuration errors.  Secrets are passed
// explicitly; nothing here depends on wrangler.toml.
import { describe, it, expect, vi, afterEach } from 'vitest';
import {
  identify, erasureIds, hmacId, customerKey, sealProfile, openProfile, parseCookies, serializeCookie,
  stripEdgerecCookies, profileCookie, clearCookies, checkConfig, ConfigError, fromBase64url, toBase64url,
  MAX_PROFILE_BYTES, MAX_PROFILE_COOKIE, UID_MAX_AGE, SESSION_IDLE, forgetProfiles, MAX_PREVIOUS_KEYS,
} from '../../worker-shim/core/identity.js';

const keyB64 = (seed) => btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 37 + seed) & 255)));
const ENV = {
  EDGEREC_ID_SECRET: 'test-id-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
  EDGEREC_COOKIE_KEY: keyB64(7),
};
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0); // ms
const T0S = T0 / 1000;
const HEX64 = /^[0-9a-f]{64}$/;

const req = (headers = {}) => new Request('https://shop.example/graphql', { headers });
const byName = (setCookies) => Object.fromEntries(setCookies.map((c) => [c.slice(0, c.indexOf('=')), c]));
const valueOf = (setCookie) => setCookie.slice(setCookie.indexOf('=') + 1).split(';')[0];
const attrs = (setCookie) => setCookie.split('; ').slice(1);
const cookieHeader = (setCookies) => setCookies.map((c) => c.split(';')[0]).join('; ');
const bytes = (n, f = (i) => (i * 31 + 5) & 255) => Uint8Array.from({ length: n }, (_, i) => f(i));

afterEach(() => vi.restoreAllMocks());

it('runs inside workerd', () => {
  expect(navigator.userAgent).toBe('Cloudflare-Workers');
  expect(typeof crypto.subtle.sign).toBe('function');
});

describe('browser identity and sessions', () => {
  it('a new browser gets er_uid and er_sid with the right attributes', async () => {
    const id = await identify(req(), ENV, T0);
    expect(id).toMatchObject({ error: null, optedOut: false, reason: null, consent: true, source: 'cookie',
      isNewUid: true, isNewSession: true, customerKey: null, profileValue: null });
    expect(id.uid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fromBase64url(id.uid)).toHaveLength(16); // 128 random bits
    expect(id.uidHash).toMatch(HEX64);
    expect(id.setCookies).toHaveLength(2);
    const c = byName(id.setCookies);
    expect(valueOf(c.er_uid)).toBe(id.uid);
    expect(attrs(c.er_uid).sort()).toEqual([`Max-Age=${UID_MAX_AGE}`, 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax'].sort());
    expect(UID_MAX_AGE).toBe(31536000);
    expect(valueOf(c.er_sid)).toBe(`${id.sid}.${T0S}`);
    expect(id.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(attrs(c.er_sid).sort()).toEqual([`Max-Age=${SESSION_IDLE}`, 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax'].sort());
    const other = await identify(req(), ENV, T0);
    expect(other.uid).not.toBe(id.uid);
    expect(other.sid).not.toBe(id.sid);
    expect(other.uidHash).not.toBe(id.uidHash);
  });

  it('a returning browser keeps its uid and session; er_sid is re-issued with the new time', async () => {
    const first = await identify(req(), ENV, T0);
    const t1 = T0 + 10 * 60 * 1000;
    const back = await identify(req({ cookie: `foo=bar; ${cookieHeader(first.setCookies)}` }), ENV, t1);
    expect(back).toMatchObject({ uid: first.uid, uidHash: first.uidHash, isNewUid: false, source: 'cookie',
      sid: first.sid, isNewSession: false, lastActive: T0 / 1000 }); // the er_sid time it brought
    expect(first.lastActive).toBeNull(); // a new session: no earlier activity
    expect(back.setCookies).toHaveLength(1); // no er_uid: it is not new and the session goes on
    expect(back.setCookies[0]).toMatch(new RegExp(`^er_sid=${first.sid}\\.${t1 / 1000};`));
    // activity:false reads the session without extending it
    const quiet = await identify(req({ cookie: cookieHeader(first.setCookies) }), ENV, t1, { activity: false });
    expect(quiet).toMatchObject({ sid: first.sid, isNewSession: false, setCookies: [] });
  });

  it('an er_p cookie is handed over as profileValue', async () => {
    const first = await identify(req(), ENV, T0);
    const value = await sealProfile(ENV, first.uidHash, bytes(40));
    const back = await identify(req({ cookie: `${cookieHeader(first.setCookies)}; er_p=${value}` }), ENV, T0 + 1000);
    expect(back.profileValue).toBe(value);
    expect(await openProfile(ENV, back.uidHash, back.profileValue)).toEqual(bytes(40));
  });

  it('session ends after 30 minutes of inactivity (and er_uid is rolled)', async () => {
    const first = await identify(req(), ENV, T0);
    const cookie = cookieHeader(first.setCookies);
    const at = async (ms, c = cookie) => identify(req({ cookie: c }), ENV, T0 + ms);
    const still = await at((SESSION_IDLE - 1) * 1000);
    expect(still).toMatchObject({ sid: first.sid, isNewSession: false, uid: first.uid });
    const over = await at(SESSION_IDLE * 1000);
    expect(over).toMatchObject({ isNewSession: true, uid: first.uid, isNewUid: false });
    expect(over.sid).not.toBe(first.sid);
    const c = byName(over.setCookies);
    expect(valueOf(c.er_sid)).toBe(`${over.sid}.${T0S + SESSION_IDLE}`);
    expect(valueOf(c.er_uid)).toBe(first.uid); // the one-year window restarts once per session
    // activity chains: each request moves the 30 minutes
    let cur = cookie;
    let sid = first.sid;
    for (let i = 1; i <= 4; i++) {
      const r = await at(i * 25 * 60 * 1000, cur);
      expect(r.sid).toBe(sid);
      cur = `er_uid=${first.uid}; ${cookieHeader(r.setCookies)}`;
    }
    // a timestamp from the future, a malformed value, or a new uid: a new session
    for (const bad of [`${sid}.${T0S + 3600}`, `${sid}`, `${sid}.abc`, 'short.1767268800', `${sid}.${T0S}.1`]) {
      const r = await at(1000, `er_uid=${first.uid}; er_sid=${bad}`);
      expect(r.isNewSession, bad).toBe(true);
      expect(r.sid).not.toBe(sid);
    }
    const fresh = await at(1000, `er_sid=${sid}.${T0S}`); // er_sid without er_uid
    expect(fresh).toMatchObject({ isNewUid: true, isNewSession: true });
    expect(fresh.sid).not.toBe(sid);
    // activity:false never starts a session
    const quiet = await identify(req({ cookie: `er_uid=${first.uid}` }), ENV, T0, { activity: false });
    expect(quiet).toMatchObject({ sid: null, isNewSession: false, setCookies: [], uid: first.uid });
  });

  it('a malformed er_uid is replaced', async () => {
    for (const bad of ['abc', 'x'.repeat(23), 'AAAAAAAAAAAAAAAAAAAAA+', '']) {
      const r = await identify(req({ cookie: `er_uid=${bad}` }), ENV, T0);
      expect(r.isNewUid, bad).toBe(true);
      expect(r.uid).not.toBe(bad);
      expect(byName(r.setCookies).er_uid).toContain(`er_uid=${r.uid};`);
    }
  });
});

describe('apps (x-edgerec-id)', () => {
  it('the id and session come from headers; no cookie is ever set', async () => {
    const appId = '5D3F0C1A-7E2B-4C6D-9A8B-1F2E3D4C5B6A';
    const r = await identify(req({ 'x-edgerec-id': appId, 'x-edgerec-session': 'sess-000042' }), ENV, T0);
    expect(r).toMatchObject({ error: null, optedOut: false, uid: appId, source: 'header', isNewUid: false,
      sid: 'sess-000042', isNewSession: false, setCookies: [], profileValue: null });
    expect(r.uidHash).toBe(await hmacId(ENV.EDGEREC_ID_SECRET, 'uid:' + appId));
    // no session header: no session (nothing is derived)
    expect(await identify(req({ 'x-edgerec-id': appId }), ENV, T0)).toMatchObject({ uid: appId, sid: null, setCookies: [] });
    // the header wins over cookies (webviews), which are neither read nor set
    const both = await identify(req({ 'x-edgerec-id': appId, cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA; er_p=abc' }), ENV, T0);
    expect(both).toMatchObject({ uid: appId, source: 'header', setCookies: [], profileValue: null });
  });

  it('a malformed app id is no id (and still no cookie)', async () => {
    for (const bad of ['', 'short', 'has space inside', 'x'.repeat(129), 'bad/slash-id-1234', 'quote"id-12345']) {
      const r = await identify(req({ 'x-edgerec-id': bad, 'x-edgerec-session': 'sess-000042' }), ENV, T0);
      expect(r, JSON.stringify(bad)).toMatchObject({ error: null, uid: null, uidHash: null, source: null, sid: null, setCookies: [] });
    }
  });
});

describe('consent and opt-out', () => {
  const CENV = { ...ENV, CONSENT_COOKIE: 'cmp_consent' };

  it('with CONSENT_COOKIE set, nothing is set or stored until the consent cookie is present', async () => {
    const none = await identify(req(), CENV, T0);
    expect(none).toMatchObject({ optedOut: true, reason: 'no-consent', consent: false, uid: null, uidHash: null,
      sid: null, customerKey: null, setCookies: [], error: null });
    for (const v of ['', '0', 'false', 'deny', 'DENY', ' False ', '""']) {
      const r = await identify(req({ cookie: `cmp_consent=${v}` }), CENV, T0);
      expect(r, v).toMatchObject({ optedOut: true, reason: 'no-consent', consent: false, setCookies: [] });
    }
    for (const v of ['1', 'true', 'yes', 'granted', 'analytics:1,ads:0']) {
      const r = await identify(req({ cookie: `other=1; cmp_consent=${v}` }), CENV, T0);
      expect(r, v).toMatchObject({ optedOut: false, reason: null, consent: true, isNewUid: true });
      expect(r.setCookies).toHaveLength(2);
    }
    // the app path is gated the same way
    const app = await identify(req({ 'x-edgerec-id': 'app-id-12345678', authorization: 'Bearer abcdefgh12345678' }), CENV, T0);
    expect(app).toMatchObject({ optedOut: true, reason: 'no-consent', uid: null, uidHash: null, customerKey: null });
    // without CONSENT_COOKIE consent is implied
    expect((await identify(req(), ENV, T0)).consent).toBe(true);
  });

  it('withdrawn consent expires the edgerec cookies the browser still has', async () => {
    const first = await identify(req({ cookie: 'cmp_consent=yes' }), CENV, T0);
    const value = await sealProfile(CENV, first.uidHash, bytes(36));
    const cookie = `cmp_consent=deny; ${cookieHeader(first.setCookies)}; er_p=${value}`;
    const r = await identify(req({ cookie }), CENV, T0 + 1000);
    expect(r).toMatchObject({ optedOut: true, reason: 'no-consent', uid: null, profileValue: null });
    expect(r.setCookies.map((c) => c.split('=')[0]).sort()).toEqual(['er_p', 'er_sid', 'er_uid']);
    for (const c of r.setCookies) expect(c).toMatch(/^er_[a-z]+=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/;/);
  });

  it('Sec-GPC: 1 and DNT: 1 opt out: no ids, no hashes, no cookies set', async () => {
    for (const [hdr, reason] of [['sec-gpc', 'gpc'], ['dnt', 'dnt']]) {
      for (const env of [ENV, { ...ENV, CONSENT_COOKIE: 'cmp_consent' }]) {
        const r = await identify(req({ [hdr]: '1', cookie: 'cmp_consent=granted', authorization: 'Bearer abcdefgh12345678' }), env, T0);
        expect(r, hdr).toEqual({ error: null, optedOut: true, reason, consent: true, uid: null, uidHash: null,
          isNewUid: false, source: null, sid: null, isNewSession: false, lastActive: null, customerKey: null, profileValue: null, setCookies: [] });
      }
      const app = await identify(req({ [hdr]: '1', 'x-edgerec-id': 'app-id-12345678' }), ENV, T0);
      expect(app).toMatchObject({ optedOut: true, reason, uid: null, uidHash: null, setCookies: [] });
      // a browser that was identified before: its edgerec cookies are expired, nothing else
      const r = await identify(req({ [hdr]: ' 1 ', cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA; keep=1' }), ENV, T0);
      expect(r.setCookies).toEqual([clearCookies()[0]]);
    }
    expect((await identify(req({ 'sec-gpc': '1', dnt: '1' }), ENV, T0)).reason).toBe('gpc');
    // 0 (or anything but 1) is not an opt-out
    for (const h of [{ 'sec-gpc': '0' }, { dnt: '0' }, { dnt: 'null' }]) {
      expect((await identify(req(h), ENV, T0)).optedOut).toBe(false);
    }
  });
});

describe('hashed ids', () => {
  // RFC 4231, HMAC-SHA-256 test cases 1-7 (case 5 truncated to 128 bits).
  const rep = (n, b) => new Uint8Array(n).fill(b);
  const str = (s) => new TextEncoder().encode(s);
  const VECTORS = [
    [rep(20, 0x0b), str('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    ['Jefe', 'what do ya want for nothing?', '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    [rep(20, 0xaa), rep(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    [Uint8Array.from({ length: 25 }, (_, i) => i + 1), rep(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    [rep(20, 0x0c), 'Test With Truncation', 'a3b6167473100ee06e0c796c2955552b'],
    [rep(131, 0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First',
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    [rep(131, 0xaa), 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
  ];

  it('hmacId is HMAC-SHA256: RFC 4231 known answers', async () => {
    for (const [i, [key, data, want]] of VECTORS.entries()) {
      const got = await hmacId(key, data);
      expect(got, `RFC 4231 case ${i + 1}`).toMatch(HEX64);
      expect(got.slice(0, want.length), `RFC 4231 case ${i + 1}`).toBe(want);
    }
  });

  it('uidHash is the keyed hash of the uid and never contains it', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await identify(req(), ENV, T0);
      expect(r.uidHash).toMatch(HEX64);
      expect(r.uidHash).toBe(await hmacId(ENV.EDGEREC_ID_SECRET, 'uid:' + r.uid));
      expect(r.uidHash).not.toContain(r.uid);
      const rawHex = Array.from(fromBase64url(r.uid), (b) => b.toString(16).padStart(2, '0')).join('');
      expect(r.uidHash).not.toContain(rawHex);
      for (const c of r.setCookies) expect(c).not.toContain(r.uidHash);
    }
    const fixed = req({ cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA' });
    const a = await identify(fixed, ENV, T0);
    const b = await identify(fixed, { ...ENV, EDGEREC_ID_SECRET: ENV.EDGEREC_ID_SECRET + '2' }, T0);
    expect(a.uidHash).not.toBe(b.uidHash); // keyed: another secret, another hash
  });

  it('customerKey: the HMAC of the bearer token, never the token; x-magento-cache-id is not a key', async () => {
    const token = 'eyJraWQiOiIxIiwiYWxnIjoiSFMyNTYifQ.eyJ1aWQiOjQyLCJ1dHlwaWQiOjN9.c2lnbmF0dXJl';
    const k = await customerKey(req({ authorization: `Bearer ${token}` }), ENV);
    expect(k).toMatch(HEX64);
    expect(k).toBe(await hmacId(ENV.EDGEREC_ID_SECRET, 'customer:' + token));
    expect(k).not.toContain(token);
    expect(await customerKey(req({ authorization: `bearer  ${token} ` }), ENV)).toBe(k);
    const id = await identify(req({ authorization: `Bearer ${token}` }), ENV, T0);
    expect(id.customerKey).toBe(k);
    expect(id.customerKey).not.toBe(id.uidHash);
    expect(JSON.stringify(id)).not.toContain(token);
    for (const a of [undefined, '', 'Bearer', 'Bearer ', 'Bearer null', 'Bearer undefined', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'Bearer short']) {
      expect(await customerKey(req(a === undefined ? {} : { authorization: a }), ENV), String(a)).toBeNull();
    }
    expect(await customerKey(req({ 'x-magento-cache-id': 'a'.repeat(64) }), ENV)).toBeNull();
    await expect(customerKey(req({ authorization: `Bearer ${token}` }), {})).rejects.toBeInstanceOf(ConfigError);
  });

  it('erasureIds: the hashes a request carries, also when opted out; never a new id', async () => {
    const uid = 'AAAAAAAAAAAAAAAAAAAAAA';
    const token = 'abcdefgh12345678';
    const uh = await hmacId(ENV.EDGEREC_ID_SECRET, 'uid:' + uid);
    const ck = await hmacId(ENV.EDGEREC_ID_SECRET, 'customer:' + token);
    const CENV = { ...ENV, CONSENT_COOKIE: 'cmp_consent' };
    for (const [h, env] of [[{}, ENV], [{ 'sec-gpc': '1' }, ENV], [{ dnt: '1' }, ENV], [{}, CENV], [{ cookie: 'cmp_consent=deny' }, CENV]]) {
      const cookie = [h.cookie, `er_uid=${uid}`].filter(Boolean).join('; ');
      expect(await erasureIds(req({ ...h, cookie, authorization: `Bearer ${token}` }), env)).toEqual({ uidHash: uh, customerKey: ck });
    }
    expect(await erasureIds(req(), ENV)).toEqual({ uidHash: null, customerKey: null });
    expect(await erasureIds(req({ cookie: 'er_uid=bad' }), ENV)).toEqual({ uidHash: null, customerKey: null });
    expect((await erasureIds(req({ 'x-edgerec-id': 'app-id-12345678', cookie: `er_uid=${uid}` }), ENV)).uidHash)
      .toBe(await hmacId(ENV.EDGEREC_ID_SECRET, 'uid:app-id-12345678'));
    expect((await erasureIds(req({ cookie: `er_uid=${uid}` }), ENV)).uidHash).toBe((await identify(req({ cookie: `er_uid=${uid}` }), ENV, T0)).uidHash);
    await expect(erasureIds(req({ cookie: `er_uid=${uid}` }), { EDGEREC_ID_SECRET: 'short' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('keys are imported once per secret, also under concurrent first use', async () => {
    const spy = vi.spyOn(crypto.subtle, 'importKey');
    const secret = 'a-secret-used-only-by-this-test-0123456789';
    const hashes = await Promise.all(Array.from({ length: 8 }, (_, i) => hmacId(secret, 'id' + (i % 2))));
    await hmacId(secret, 'again');
    expect(new Set(hashes).size).toBe(2);
    expect(spy).toHaveBeenCalledTimes(1);
    const env = { ...ENV, EDGEREC_COOKIE_KEY: keyB64(99) };
    const uh = 'f'.repeat(64);
    const sealed = await Promise.all([1, 2, 3].map((n) => sealProfile(env, uh, bytes(n))));
    for (const [i, v] of sealed.entries()) expect(await openProfile(env, uh, v)).toEqual(bytes(i + 1));
    expect(spy).toHaveBeenCalledTimes(2);
  });
});

describe('a returning shopper costs no crypto in the same isolate', () => {
  it('the uid\'s hash is computed once per uid and secret, and is the HMAC', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign');
    const fresh = await identify(req(), ENV, T0);
    const cookie = `er_uid=${fresh.uid}`;
    const first = await identify(req({ cookie }), ENV, T0 + 1000);
    const signs = sign.mock.calls.length;
    const again = await identify(req({ cookie }), ENV, T0 + 2000);
    expect(sign.mock.calls.length).toBe(signs); // remembered: no HMAC this time
    expect(again.uidHash).toBe(first.uidHash);
    expect(first.uidHash).toBe(fresh.uidHash);
    expect(again.uidHash).toBe(await hmacId(ENV.EDGEREC_ID_SECRET, 'uid:' + fresh.uid));
    expect((await erasureIds(req({ cookie }), ENV)).uidHash).toBe(first.uidHash);
    // another secret (a rotation) is another hash, computed afresh
    const other = { ...ENV, EDGEREC_ID_SECRET: 'another-id-secret-0123456789-abcdefghijklmnop' };
    const before = sign.mock.calls.length;
    const rotated = await identify(req({ cookie }), other, T0 + 3000);
    expect(sign.mock.calls.length).toBe(before + 1);
    expect(rotated.uidHash).not.toBe(first.uidHash);
    expect(rotated.uidHash).toBe(await hmacId(other.EDGEREC_ID_SECRET, 'uid:' + fresh.uid));
  });

  it('an er_p sealed or opened here opens again without decrypting; anything else is still checked', async () => {
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    const UH = '9e'.repeat(32);
    const p = bytes(80, (i) => (i * 7 + 1) & 255);
    const v = await sealProfile(ENV, UH, p);
    const opened = await openProfile(ENV, UH, v);
    expect(opened).toEqual(p);
    expect(decrypt).not.toHaveBeenCalled(); // sealed here: known
    opened[0] ^= 0xff; // the caller's copy: the remembered bytes are not touched
    expect(await openProfile(ENV, UH, v)).toEqual(p);
    // another shopper, another key, a changed bit: decrypted and refused as before
    expect(await openProfile(ENV, 'cd'.repeat(32), v)).toBeNull();
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: keyB64(8) }, UH, v)).toBeNull();
    const raw = fromBase64url(v);
    raw[20] ^= 1;
    expect(await openProfile(ENV, UH, toBase64url(raw))).toBeNull();
    expect(decrypt).toHaveBeenCalledTimes(3);
    // sealed elsewhere (another isolate): decrypted the first time, remembered after
    const key = await crypto.subtle.importKey('raw', fromBase64url(ENV.EDGEREC_COOKIE_KEY.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')), 'AES-GCM', false, ['encrypt']);
    const iv = bytes(12, (i) => i + 100);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode('er_p/1:' + UH) }, key, p));
    const elsewhere = toBase64url(new Uint8Array([...iv, ...ct]));
    expect(await openProfile(ENV, UH, elsewhere)).toEqual(p);
    expect(decrypt).toHaveBeenCalledTimes(4);
    expect(await openProfile(ENV, UH, elsewhere)).toEqual(p);
    expect(decrypt).toHaveBeenCalledTimes(4);
  });
});

describe('the er_p profile cookie', () => {
  const UH = 'ab'.repeat(32);

  it('seal/open round trip; every seal uses a fresh IV', async () => {
    for (const n of [0, 1, 36, 84, 548, MAX_PROFILE_BYTES]) {
      const p = bytes(n);
      const v = await sealProfile(ENV, UH, p);
      expect(v).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(fromBase64url(v)).toHaveLength(12 + n + 16);
      expect(await openProfile(ENV, UH, v)).toEqual(p);
    }
    const a = await sealProfile(ENV, UH, bytes(36));
    const b = await sealProfile(ENV, UH, bytes(36));
    expect(a).not.toBe(b);
    expect(a.slice(0, 16)).not.toBe(b.slice(0, 16));
    // base64 and base64url spellings of the same key, padded or not, are the same key
    const url = ENV.EDGEREC_COOKIE_KEY.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: url }, UH, a)).toEqual(bytes(36));
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: ` ${ENV.EDGEREC_COOKIE_KEY}\n` }, UH, a)).toEqual(bytes(36));
  });

  it('open gives null for a wrong key, any flipped bit, any truncation, another uid, garbage', async () => {
    const p = bytes(36);
    const v = await sealProfile(ENV, UH, p);
    const raw = fromBase64url(v);
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: keyB64(8) }, UH, v)).toBeNull();
    for (let i = 0; i < raw.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = raw.slice();
        t[i] ^= 1 << bit;
        expect(await openProfile(ENV, UH, toBase64url(t)), `byte ${i} bit ${bit}`).toBeNull();
      }
    }
    for (let n = 0; n < raw.length; n++) expect(await openProfile(ENV, UH, toBase64url(raw.subarray(0, n))), `length ${n}`).toBeNull();
    for (let n = 1; n < v.length; n++) expect(await openProfile(ENV, UH, v.slice(0, n)), `chars ${n}`).toBeNull();
    const extended = new Uint8Array(raw.length + 1);
    extended.set(raw);
    expect(await openProfile(ENV, UH, toBase64url(extended))).toBeNull();
    // a cookie copied to another shopper does not open
    expect(await openProfile(ENV, 'cd'.repeat(32), v)).toBeNull();
    expect(await openProfile(ENV, UH.slice(0, 63), v)).toBeNull();
    for (const u of [null, undefined, '']) expect(await openProfile(ENV, u, v)).toBeNull();
    // garbage: not base64url, padding, whitespace, standard base64 chars, a non-canonical last char, too long, not a string
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(v.length % 4).not.toBe(0); // 64 bytes → 86 characters: the last one has unused bits
    const nonCanon = v.slice(0, -1) + ALPHABET[ALPHABET.indexOf(v[v.length - 1]) ^ 1];
    const lenient = Uint8Array.from(atob(nonCanon.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
    expect(lenient).toEqual(raw); // a lenient decoder would read the very same bytes
    const garbage = ['', '!!!!', v + '=', ` ${v}`, `${v}\n`, `${v.slice(0, 40)}+${v.slice(41)}`, `${v.slice(0, 40)}/${v.slice(41)}`,
      nonCanon, 'A'.repeat(MAX_PROFILE_COOKIE + 4), 'A'.repeat(60), 'x', null, undefined, 42, {}, raw];
    for (const g of garbage) expect(await openProfile(ENV, UH, g), String(g).slice(0, 30)).toBeNull();
    expect(await openProfile(ENV, UH, v)).toEqual(p); // the original still opens
  });

  it('fits a cookie: a 1 KB profile is at most 1403 characters, its Set-Cookie under 4 KB', async () => {
    const v = await sealProfile(ENV, UH, bytes(MAX_PROFILE_BYTES));
    expect(v.length).toBeLessThanOrEqual(MAX_PROFILE_COOKIE);
    expect(MAX_PROFILE_COOKIE).toBe(1403);
    const sc = profileCookie(v);
    expect(sc.length).toBeLessThan(1500);
    expect(attrs(sc).sort()).toEqual([`Max-Age=${UID_MAX_AGE}`, 'Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax'].sort());
    expect(valueOf(sc)).toBe(v);
    const full = await sealProfile(ENV, UH, bytes(548)); // the largest profile the engine writes
    expect(full.length).toBe(Math.ceil((12 + 548 + 16) * 4 / 3));
    expect(await sealProfile(ENV, UH, bytes(MAX_PROFILE_BYTES + 1))).toBeNull();
    for (const bad of [null, 'abc', [1, 2], new ArrayBuffer(4)]) expect(await sealProfile(ENV, UH, bad)).toBeNull();
    expect(await sealProfile(ENV, '', bytes(4))).toBeNull();
    for (const bad of ['', 'a;b', 'A'.repeat(MAX_PROFILE_COOKIE + 1), null]) expect(() => profileCookie(bad)).toThrow(TypeError);
  });
});

describe('cookie helpers', () => {
  it('parseCookies: spaces, duplicates (first wins), malformed pairs, quotes', () => {
    const c = parseCookies(' a=1;b = 2 ;; c=; =nameless; noeq; a=dup; q="quoted v"; eq=x=y=z;er_uid=U1; er_uid=U2;__proto__=p;  ');
    expect(Object.entries(c)).toEqual([['a', '1'], ['b', '2'], ['c', ''], ['q', 'quoted v'], ['eq', 'x=y=z'], ['er_uid', 'U1'], ['__proto__', 'p']]);
    expect(Object.getPrototypeOf(c)).toBeNull();
    expect({ ...parseCookies('') }).toEqual({});
    expect({ ...parseCookies(null) }).toEqual({});
    expect({ ...parseCookies(undefined) }).toEqual({});
    expect({ ...parseCookies(';;;') }).toEqual({});
    expect(parseCookies('x="').x).toBe('"');
  });

  it('serializeCookie and clearCookies', () => {
    expect(serializeCookie('n', 'v')).toBe('n=v');
    expect(serializeCookie('n', 'v', { maxAge: 60, path: '/', domain: 'shop.example', secure: true, httpOnly: true, sameSite: 'Strict' }))
      .toBe('n=v; Max-Age=60; Domain=shop.example; Path=/; Secure; HttpOnly; SameSite=Strict');
    for (const [n, v, o] of [['a b', 'v'], ['a;b', 'v'], ['', 'v'], ['n', 'a;b'], ['n', 'a b'], ['n', 'a,b'], ['n', '"q"'],
      ['n', 'v', { maxAge: 1.5 }], ['n', 'v', { path: '/;x' }], ['n', 'v', { sameSite: 'lax' }], ['n', 'v', { expires: 'x' }]]) {
      expect(() => serializeCookie(n, v, o), `${n}=${v}`).toThrow(TypeError);
    }
    expect(clearCookies()).toEqual(['er_uid', 'er_sid', 'er_p'].map((n) =>
      `${n}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=Lax`));
  });

  it('stripEdgerecCookies removes exactly edgerec cookies and headers', () => {
    const orig = new Headers({
      cookie: 'PHPSESSID=abc; er_uid=U; form_key=k;er_sid=S.1 ; er_p=P; er_uid=U2; ER_UID=keep; er_uidx=keep; xer_p=keep; cmp_consent=yes; noeq',
      'x-edgerec-id': 'app-id-12345678', 'x-edgerec-session': 'sess-000042',
      authorization: 'Bearer abcdefgh12345678', 'x-magento-cache-id': 'c'.repeat(64), store: 'default', 'content-type': 'application/json',
    });
    const before = [...orig];
    const out = stripEdgerecCookies(orig);
    expect(out.get('cookie')).toBe('PHPSESSID=abc; form_key=k; ER_UID=keep; er_uidx=keep; xer_p=keep; cmp_consent=yes; noeq');
    expect(out.has('x-edgerec-id')).toBe(false);
    expect(out.has('x-edgerec-session')).toBe(false);
    expect([...out].filter(([k]) => k !== 'cookie')).toEqual(before.filter(([k]) => !['cookie', 'x-edgerec-id', 'x-edgerec-session'].includes(k)));
    expect([...orig]).toEqual(before); // a copy: the original is untouched
    // only edgerec cookies: the Cookie header goes away
    expect(stripEdgerecCookies({ cookie: 'er_uid=U; er_sid=S.1;er_p=P' }).has('cookie')).toBe(false);
    // no edgerec cookie: the header is left byte for byte
    expect(stripEdgerecCookies({ cookie: 'a=1;b=2 ;;c=3' }).get('cookie')).toBe('a=1;b=2 ;;c=3');
    // from a request
    const r = new Request('https://shop.example/graphql', { headers: { cookie: 'er_p=P; a=1', 'x-edgerec-id': 'x' } });
    expect([...stripEdgerecCookies(r.headers)]).toEqual([['cookie', 'a=1']]);
  });
});

describe('configuration errors', () => {
  const BAD = [
    [{ EDGEREC_COOKIE_KEY: ENV.EDGEREC_COOKIE_KEY }, 'EDGEREC_ID_SECRET', /not set/],
    [{ ...ENV, EDGEREC_ID_SECRET: '' }, 'EDGEREC_ID_SECRET', /not set/],
    [{ ...ENV, EDGEREC_ID_SECRET: 'short' }, 'EDGEREC_ID_SECRET', /too short \(5 characters/],
    [{ ...ENV, EDGEREC_ID_SECRET: 12345 }, 'EDGEREC_ID_SECRET', /string/],
    [{ EDGEREC_ID_SECRET: ENV.EDGEREC_ID_SECRET }, 'EDGEREC_COOKIE_KEY', /not set/],
    [{ ...ENV, EDGEREC_COOKIE_KEY: 'not base64!' }, 'EDGEREC_COOKIE_KEY', /base64/],
    [{ ...ENV, EDGEREC_COOKIE_KEY: btoa('x'.repeat(31)) }, 'EDGEREC_COOKIE_KEY', /32 bytes \(got 31\)/],
    [{ ...ENV, EDGEREC_COOKIE_KEY: btoa('x'.repeat(33)) }, 'EDGEREC_COOKIE_KEY', /32 bytes \(got 33\)/],
    [{ ...ENV, EDGEREC_COOKIE_KEY: 'A' }, 'EDGEREC_COOKIE_KEY', /base64/],
    [{ ...ENV, CONSENT_COOKIE: 'bad name;' }, 'CONSENT_COOKIE', /cookie name/],
    [{ ...ENV, CONSENT_COOKIE: 7 }, 'CONSENT_COOKIE', /cookie name/],
  ];

  it('identify returns a ConfigError (reason config) and sets nothing; never throws', async () => {
    expect(checkConfig(ENV)).toBeNull();
    for (const [env, variable, msg] of [...BAD, [undefined, 'EDGEREC_ID_SECRET', /not set/], [{}, 'EDGEREC_ID_SECRET', /not set/]]) {
      const what = `${variable} ${msg}`;
      expect(checkConfig(env), what).toBeInstanceOf(ConfigError);
      const id = await identify(req({ cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA; er_p=xyz', authorization: 'Bearer abcdefgh12345678' }), env, T0);
      expect(id.error, what).toBeInstanceOf(ConfigError);
      expect(id.error).toMatchObject({ reason: 'config', variable, name: 'ConfigError' });
      expect(id.error.message, what).toMatch(msg);
      expect(id.error.message.startsWith(variable)).toBe(true);
      const key = String(env?.EDGEREC_COOKIE_KEY ?? '');
      if (key.length >= 20) expect(id.error.message).not.toContain(key.slice(0, 12)); // never the secret
      expect(id, what).toMatchObject({ uid: null, uidHash: null, sid: null, customerKey: null, profileValue: null, setCookies: [] });
    }
  });

  it('privacy signals are honoured even with a broken configuration', async () => {
    const id = await identify(req({ 'sec-gpc': '1' }), {}, T0);
    expect(id).toMatchObject({ error: null, optedOut: true, reason: 'gpc', setCookies: [] });
  });

  it('the crypto helpers reject with ConfigError, openProfile answers null', async () => {
    const v = await sealProfile(ENV, 'ab'.repeat(32), bytes(8));
    for (const [env] of BAD.filter(([, variable]) => variable === 'EDGEREC_COOKIE_KEY')) {
      await expect(sealProfile(env, 'ab'.repeat(32), bytes(8))).rejects.toBeInstanceOf(ConfigError);
      expect(await openProfile(env, 'ab'.repeat(32), v)).toBeNull();
    }
    for (const s of ['', null, undefined, 42]) await expect(hmacId(s, 'x')).rejects.toBeInstanceOf(ConfigError);
    await expect(hmacId(new Uint8Array(0), 'x')).rejects.toBeInstanceOf(ConfigError);
    await expect(customerKey(req({ authorization: 'Bearer abcdefgh12345678' }), { EDGEREC_ID_SECRET: 'short' }))
      .rejects.toMatchObject({ reason: 'config', variable: 'EDGEREC_ID_SECRET' });
  });
});

describe('the cookie key ring (EDGEREC_COOKIE_KEY_PREVIOUS)', () => {
  const H = 'cd'.repeat(32);
  const A = keyB64(21), B = keyB64(22), C = keyB64(23);

  it('seals with the newest key, opens with it or any previous one; a key outside the ring opens nothing', async () => {
    const underA = await sealProfile({ ...ENV, EDGEREC_COOKIE_KEY: A }, H, bytes(40));
    const ring = { ...ENV, EDGEREC_COOKIE_KEY: B, EDGEREC_COOKIE_KEY_PREVIOUS: ` ${C} , ${A} ` };
    expect(await openProfile(ring, H, underA)).toEqual(bytes(40));
    const underB = await sealProfile(ring, H, bytes(41));
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: B }, H, underB)).toEqual(bytes(41)); // the newest sealed it
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: A }, H, underB)).toBeNull();
    expect(await openProfile({ ...ENV, EDGEREC_COOKIE_KEY: B, EDGEREC_COOKIE_KEY_PREVIOUS: C }, H, underA)).toBeNull(); // A left the ring
    expect(await openProfile(ring, 'ef'.repeat(32), underA)).toBeNull(); // still bound to its shopper
    expect(checkConfig(ring)).toBeNull();
  });

  it('a malformed or overlong ring is a ConfigError naming EDGEREC_COOKIE_KEY_PREVIOUS and the entry', () => {
    const err = (v) => checkConfig({ ...ENV, EDGEREC_COOKIE_KEY_PREVIOUS: v });
    expect(err('')).toBeNull();
    expect(err(undefined)).toBeNull();
    expect(err(`${A},short`)).toMatchObject({ variable: 'EDGEREC_COOKIE_KEY_PREVIOUS', message: expect.stringMatching(/key 2 is not base64|key 2 must decode to 32 bytes/) });
    expect(err(Array(MAX_PREVIOUS_KEYS + 1).fill(A).join(','))).toMatchObject({ message: `EDGEREC_COOKIE_KEY_PREVIOUS has ${MAX_PREVIOUS_KEYS + 1} keys: at most ${MAX_PREVIOUS_KEYS} (comma-separated)` });
    expect(err(42)).toMatchObject({ message: 'EDGEREC_COOKIE_KEY_PREVIOUS must be a string (got number)' });
  });

  it('forgetProfiles evicts one id\'s memoized plaintexts, under every ring, and no other id\'s', async () => {
    const other = 'ab'.repeat(32);
    const v1 = await sealProfile(ENV, H, bytes(12)), v2 = await sealProfile(ENV, other, bytes(13));
    const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
    expect(await openProfile(ENV, H, v1)).toEqual(bytes(12));
    expect(decrypt).not.toHaveBeenCalled();
    expect(forgetProfiles(H)).toBeGreaterThanOrEqual(1);
    expect(await openProfile(ENV, H, v1)).toEqual(bytes(12)); // decrypted again
    expect(await openProfile(ENV, other, v2)).toEqual(bytes(13)); // still memoized
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(forgetProfiles('')).toBe(0);
  });
});
