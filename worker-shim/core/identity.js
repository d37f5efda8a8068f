// identity.js — who the shopper is, whether we may remember them, and the
// encrypted profile cookie.  Used by the Worker; WebCrypto only (no npm, no
// node: imports), so it runs in workerd and imports under Node >= 22.
//
//   const id = await identify(request, env /*, now = Date.now(), { activity = true } */);
//   id → { error: ConfigError|null,                 // set: bypass with reason=config (never thrown)
//          optedOut, reason: 'gpc'|'dnt'|'no-consent'|null, consent,
//          uid /* raw, memory only */, uidHash, isNewUid, source: 'cookie'|'header'|null,
//          sid, isNewSession, lastActive /* unix s of the er_sid the browser sent, while live; else null */,
//          customerKey, profileValue /* the er_p cookie or null */,
//          setCookies: string[] /* append each as its own Set-Cookie on the response */ }
//   await openProfile(env, id.uidHash, id.profileValue)  → Uint8Array | null   (never throws)
//   await sealProfile(env, id.uidHash, bytes)            → er_p value | null   (null: bytes invalid or > 1 KB)
//   forgetProfiles(uidHash)                               evict this id's opened profiles from the memo (erasure)
//   profileCookie(value), clearCookies()                  → Set-Cookie strings (clear: DELETE /edge/profile)
//   stripEdgerecCookies(request.headers)                  → Headers for the origin request
//   await hmacId(secret, id) → 64 lowercase hex;  await customerKey(request, env[, nowSec]) → hex | null
//   await erasureIds(request, env) → { uidHash, customerKey } the request carries, even when opted
//                                    out (DELETE /edge/profile); never mints an id
//   parseCookies(header) → {name: value} (null prototype);  serializeCookie(name, value, opts) → string
//   checkConfig(env) → ConfigError | null (synchronous; what identify() reports as error)
//   fromBase64url(s) → Uint8Array | null (strict);  toBase64url(bytes) → string
//
// Rules this file keeps:
// * Privacy first, and it needs no secret: `Sec-GPC: 1` or `DNT: 1`, or no consent while
//   env.CONSENT_COOKIE names a consent cookie, give optedOut with no uid, no hash, no customer
//   key and no cookie set; only edgerec cookies the browser still holds are expired.
// * Raw ids live only in memory.  What may be stored or logged: uidHash = HMAC-SHA256(
//   EDGEREC_ID_SECRET, "uid:" + uid) and customerKey, lowercase hex (the prefixes keep the
//   namespaces apart): with MAGENTO_JWT_KEY set (Magento ≥ 2.4.4), HMAC(…, "customer-id:" + the
//   `uid` claim of a verified customer JWT, core/customer-token.js) — stable across logins and
//   devices; a forged, expired or non-customer token gives NO key.  Without it (opaque tokens of
//   older stores), HMAC(…, "customer:" + bearer token), which changes at every login
//   (docs/profile-sync.md).
// * Never sent to the origin: er_uid, er_sid, er_p, x-edgerec-id, -session, -profile and -key.
// * Browsers: er_uid (16 random bytes, base64url, one year; re-issued when a session starts,
//   so the year rolls) and er_sid = "<sid>.<unix seconds of last activity>" (30 min; a new sid
//   after 30 min idle), both HttpOnly; Secure; SameSite=Lax; Path=/.  Apps: x-edgerec-id
//   (8..128 of [A-Za-z0-9._:-]; anything else is no id) and optionally x-edgerec-session
//   (same syntax); nothing is derived when the session header is missing (sid null), and no
//   cookie is ever set for an app request: an app keeps its sealed profile in the x-edgerec-profile
//   header instead (sent back to it in the response header of the same name).
// * er_p = base64url(12-byte random IV || AES-256-GCM ciphertext || 16-byte tag) under
//   EDGEREC_COOKIE_KEY, additional data "er_p/1:" + uidHash.  Profiles up to 1024 bytes, so
//   the value is at most 1403 characters and its Set-Cookie well under 4 KB.
// * The key ring: sealed with EDGEREC_COOKIE_KEY (the newest), opened with it or any key of the
//   optional EDGEREC_COOKIE_KEY_PREVIOUS (comma-separated, at most MAX_PREVIOUS_KEYS): rotation
//   without losing anyone's profile; a value opened with an older key is sealed again with the
//   newest on the next write (docs/profile.md, *Rotating the cookie key*).
// * Signed-in customers: only `Authorization: Bearer <token>` makes a customer key.
//   x-magento-cache-id is NOT per customer (Magento hashes store, currency, logged-in flag,
//   customer group and tax rate: every customer of a group shares it), so it is never a key.
// * Keys are imported once per isolate (cached by secret string, concurrent first uses share
//   one import).  A shopper's next request costs no crypto when it reaches the same isolate: the
//   uid's hash and the plaintext of an er_p value this isolate sealed or opened are kept in memory
//   (bounded maps, keyed by the secret too; what they give is what HMAC / AES-GCM would give).
//   A missing or malformed secret is a ConfigError: identify() returns it, checkConfig() returns
//   it, hmacId/customerKey/erasureIds/sealProfile reject with it, openProfile answers null.
//   Messages name the variable and the problem, never the secret.

import { jwtMode, verifyCustomerToken } from './customer-token.js';

export const UID_COOKIE = 'er_uid';
export const SESSION_COOKIE = 'er_sid';
export const PROFILE_COOKIE = 'er_p';
export const ID_HEADER = 'x-edgerec-id';
export const SESSION_HEADER = 'x-edgerec-session';
/** Apps keep their sealed profile in this header (request and response) instead of the er_p cookie. */
export const PROFILE_HEADER = 'x-edgerec-profile';
/** An app's install key (proof of possession of its x-edgerec-id, core/app-key.js): request only. */
export const KEY_HEADER = 'x-edgerec-key';
export const UID_MAX_AGE = 365 * 24 * 3600; // seconds
export const SESSION_IDLE = 30 * 60; // seconds of inactivity that end a session
export const MAX_PROFILE_BYTES = 1024;
export const MAX_PROFILE_COOKIE = Math.ceil(((12 + MAX_PROFILE_BYTES + 16) * 4) / 3); // 1403 chars
export const MIN_ID_SECRET = 32; // characters
export const MAX_PREVIOUS_KEYS = 2; // older cookie keys still opened (EDGEREC_COOKIE_KEY_PREVIOUS)

const EDGEREC_COOKIES = new Set([UID_COOKIE, SESSION_COOKIE, PROFILE_COOKIE]);
/** The request headers only edgerec reads (apps'): never passed to the origin, on either platform. */
export const EDGEREC_HEADERS = [ID_HEADER, SESSION_HEADER, PROFILE_HEADER, KEY_HEADER];
const BASE_ATTRS = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' };
const CLOCK_SKEW = 60; // seconds a session timestamp may be ahead of this edge's clock
const RANDOM_ID = /^[A-Za-z0-9_-]{22}$/; // 16 bytes, base64url, no padding
const APP_ID = /^[A-Za-z0-9._:-]{8,128}$/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]{8,4096}=*$/;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 7230 token
const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/; // RFC 6265 cookie-octet*
const ATTR_VALUE = /^[\x20-\x3A\x3C-\x7E]*$/; // no CTLs, no ';'
const DENY_VALUES = new Set(['', '0', 'false', 'deny']);
const AD_PREFIX = 'er_p/1:';
const enc = new TextEncoder();

/** A deployment problem (missing or malformed secret): the Worker bypasses with reason=config. */
export class ConfigError extends Error {
  constructor(variable, problem) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
    this.reason = 'config';
    this.variable = variable;
  }
}

// ---- base64url --------------------------------------------------------------

export function toBase64url(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict base64url (no padding, no whitespace, canonical last character) → bytes, or null. */
export function fromBase64url(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64url(out) === s ? out : null; // rejects non-zero unused bits
}

function hex(buf) {
  const b = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function randomId() {
  return toBase64url(crypto.getRandomValues(new Uint8Array(16)));
}

// ---- configuration and key cache -------------------------------------------

const keyCache = new Map(); // "h\0secret" | "a\0secret" → Promise<CryptoKey>
const KEY_CACHE_MAX = 16; // a few secrets per isolate (tests use more; rotation uses two)

function cachedKey(tag, secret, make) {
  const k = tag + '\0' + secret;
  let p = keyCache.get(k);
  if (!p) {
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    p = make();
    keyCache.set(k, p);
    p.catch(() => keyCache.delete(k));
  }
  return p;
}

function idSecretProblem(s) {
  if (s === undefined || s === null || s === '') return 'is not set';
  if (typeof s !== 'string') return `must be a string (got ${typeof s})`;
  if (s.length < MIN_ID_SECRET) return `is too short (${s.length} characters; at least ${MIN_ID_SECRET} random characters required)`;
  return null;
}

// The 32 key bytes of EDGEREC_COOKIE_KEY, or a problem string.
function decodeCookieKey(s) {
  if (s === undefined || s === null || s === '') return 'is not set';
  if (typeof s !== 'string') return `must be a string (got ${typeof s})`;
  const t = s.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t) || t.replace(/=+$/, '').length % 4 === 1) {
    return 'is not base64/base64url (expected 32 random bytes, e.g. `openssl rand -base64 32`)';
  }
  const bin = atob(t.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/'));
  if (bin.length !== 32) return `must decode to 32 bytes (got ${bin.length})`;
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// The older cookie keys (EDGEREC_COOKIE_KEY_PREVIOUS, comma-separated; unset or empty: none) as
// setting strings, or a problem string naming the entry.
let lastPrevious = { setting: undefined, value: [] }; // checkConfig runs on every request: parsed once per setting
function previousKeys(env) {
  const s = env?.EDGEREC_COOKIE_KEY_PREVIOUS;
  if (s === undefined || s === null || s === '') return [];
  if (typeof s !== 'string') return `must be a string (got ${typeof s})`;
  if (lastPrevious.setting !== s) lastPrevious = { setting: s, value: parsePrevious(s) };
  return lastPrevious.value;
}

function parsePrevious(s) {
  const list = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (list.length > MAX_PREVIOUS_KEYS) return `has ${list.length} keys: at most ${MAX_PREVIOUS_KEYS} (comma-separated)`;
  for (const [i, x] of list.entries()) {
    const k = decodeCookieKey(x);
    if (typeof k === 'string') return `key ${i + 1} ${k}`;
  }
  return list;
}

function consentName(env) {
  const n = env?.CONSENT_COOKIE;
  if (n === undefined || n === null || n === '') return { name: null, problem: null };
  if (typeof n !== 'string' || !COOKIE_NAME.test(n)) return { name: null, problem: 'is not a cookie name' };
  return { name: n, problem: null };
}

/** ConfigError for the first missing or malformed setting, or null.  Synchronous, never throws. */
export function checkConfig(env) {
  const p = idSecretProblem(env?.EDGEREC_ID_SECRET);
  if (p) return new ConfigError('EDGEREC_ID_SECRET', p);
  const k = decodeCookieKey(env?.EDGEREC_COOKIE_KEY);
  if (typeof k === 'string') return new ConfigError('EDGEREC_COOKIE_KEY', k);
  const prev = previousKeys(env);
  if (typeof prev === 'string') return new ConfigError('EDGEREC_COOKIE_KEY_PREVIOUS', prev);
  const c = consentName(env);
  if (c.problem) return new ConfigError('CONSENT_COOKIE', c.problem);
  return jwtProblem(env);
}

// MAGENTO_JWT_KEY / MAGENTO_JWT_ALG misconfigured → ConfigError, else null.
function jwtProblem(env) {
  const j = jwtMode(env);
  if (typeof j !== 'string') return null;
  const sp = j.indexOf(' ');
  return new ConfigError(j.slice(0, sp), j.slice(sp + 1));
}

function hmacKey(secret) {
  if (secret instanceof Uint8Array) { // not cached (tests, known-answer vectors)
    if (secret.length === 0) return Promise.reject(new ConfigError('HMAC secret', 'is empty'));
    return crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  }
  if (typeof secret !== 'string' || secret === '') {
    return Promise.reject(new ConfigError('HMAC secret', secret ? 'must be a string or bytes' : 'is not set'));
  }
  return cachedKey('h', secret, () =>
    crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
}

function envIdSecret(env) {
  const s = env?.EDGEREC_ID_SECRET;
  const p = idSecretProblem(s);
  if (p) throw new ConfigError('EDGEREC_ID_SECRET', p);
  return s;
}

function aesKey(env) {
  return aesKeyOf(env?.EDGEREC_COOKIE_KEY, 'EDGEREC_COOKIE_KEY');
}

function aesKeyOf(s, variable) {
  const cached = typeof s === 'string' && keyCache.get('a\0' + s);
  if (cached) return cached;
  const k = decodeCookieKey(s);
  if (typeof k === 'string') return Promise.reject(new ConfigError(variable, k));
  return cachedKey('a', s, () => crypto.subtle.importKey('raw', k, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']));
}

// What the memo of opened profiles is keyed by: the whole ring (a changed ring opens afresh).
const ringOf = (env) => `${env?.EDGEREC_COOKIE_KEY}\u0001${env?.EDGEREC_COOKIE_KEY_PREVIOUS ?? ''}`;

// ---- per-isolate memo of crypto results ----------------------------------------

const MEMO_MAX = 1024; // entries per memo: about 0.2 MB of uid hashes, 2.5 MB of sealed profiles

/** A bounded map, oldest entry dropped first (insertion order). */
class Memo {
  constructor(max) { this.max = max; this.map = new Map(); }
  get(k) { return this.map.get(k); }
  set(k, v) {
    if (this.map.size >= this.max && !this.map.has(k)) this.map.delete(this.map.keys().next().value);
    this.map.set(k, v);
  }
}
const uidHashes = new Memo(MEMO_MAX); // secret \0 uid → uidHash
const openedProfiles = new Memo(MEMO_MAX); // key ring \0 uidHash \0 er_p value → profile bytes

/** Forget every opened or sealed profile of this id (uidHash, or "customer:" + customer key) held in
 * this isolate's memo, and the raw uid that hashes to it: after DELETE /edge/profile no plaintext of
 * it stays in memory.  Returns how many entries went. */
export function forgetProfiles(uidHash) {
  if (typeof uidHash !== 'string' || uidHash === '') return 0;
  let n = 0;
  for (const k of [...openedProfiles.map.keys()]) {
    if (k.split('\0')[1] === uidHash) { openedProfiles.map.delete(k); n++; }
  }
  for (const [k, h] of [...uidHashes.map]) if (h === uidHash) { uidHashes.map.delete(k); n++; }
  return n;
}

/** uidHash = HMAC(secret, "uid:" + uid), remembered per isolate. */
async function uidHashOf(secret, uid) {
  const k = secret + '\0' + uid;
  let h = uidHashes.get(k);
  if (h === undefined) {
    h = await hmacId(secret, 'uid:' + uid);
    uidHashes.set(k, h);
  }
  return h;
}

// ---- hashing ----------------------------------------------------------------

/** HMAC-SHA256(secret, id) as 64 lowercase hex.  secret: string (UTF-8; its CryptoKey is cached)
 * or bytes; id: string (UTF-8) or bytes.  Rejects with ConfigError for an empty/invalid secret. */
export async function hmacId(secret, id) {
  const key = await hmacKey(secret);
  const data = id instanceof Uint8Array ? id : enc.encode(String(id));
  return hex(await crypto.subtle.sign('HMAC', key, data));
}

/** The bearer token of `Authorization: Bearer <token>`, or null ("null"/"undefined"/malformed: null). */
function bearerToken(headers) {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') || '');
  if (!m || m[1] === 'null' || m[1] === 'undefined' || !TOKEN68.test(m[1])) return null;
  return m[1];
}

/** The signed-in customer's pseudonymous key (the KV profile key), or null: with MAGENTO_JWT_KEY,
 * HMAC of the verified JWT's customer id (null for a forged, expired or non-customer token);
 * without, HMAC of the opaque token.  The token is never stored.  Rejects with ConfigError. */
export async function customerKey(request, env, nowSec = Math.floor(Date.now() / 1000)) {
  const token = bearerToken(request.headers);
  if (!token) return null;
  const secret = envIdSecret(env);
  const bad = jwtProblem(env);
  if (bad) throw bad;
  if (!jwtMode(env)) return hmacId(secret, 'customer:' + token); // opaque tokens (Magento < 2.4.4)
  const v = await verifyCustomerToken(token, env, nowSec);
  return v.uid ? customerIdKey(env, v.uid) : null;
}

/** Whether s has the shape of a pseudonymous id: a uid hash or a customer key (HMAC-SHA256, 64 lowercase hex). */
export const isPseudonymousId = (s) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/** The key a signed-in customer's profile and events go under, from their Magento customer id (a
 * decimal string; JWT mode): what customerKey gives for their token, and what an operator's erasure
 * by customer id names (erasure.js). */
export function customerIdKey(env, uid) {
  return hmacId(envIdSecret(env), 'customer-id:' + uid);
}

// ---- cookies ----------------------------------------------------------------

/** Cookie header → {name: value} with a null prototype.  Pairs are split on ';' and trimmed;
 * a pair without '=' or with an empty name is ignored; a value in double quotes loses them;
 * for a repeated name the first wins (browsers send the most specific path first). */
export function parseCookies(header) {
  const out = Object.create(null);
  if (typeof header !== 'string' || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
    out[name] = value;
  }
  return out;
}

/** One Set-Cookie value.  opts: maxAge (integer seconds), expires (Date), domain, path, secure,
 * httpOnly, sameSite ('Strict' | 'Lax' | 'None').  Throws TypeError on an invalid name, value
 * or attribute (programming errors: every value edgerec sets is base64url). */
export function serializeCookie(name, value, opts = {}) {
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  if (typeof value !== 'string' || !COOKIE_VALUE.test(value)) throw new TypeError(`invalid value for cookie ${name}`);
  let s = `${name}=${value}`;
  if (opts.maxAge !== undefined) {
    if (!Number.isInteger(opts.maxAge)) throw new TypeError('maxAge must be an integer');
    s += `; Max-Age=${opts.maxAge}`;
  }
  if (opts.expires !== undefined) {
    if (!(opts.expires instanceof Date) || Number.isNaN(opts.expires.getTime())) throw new TypeError('expires must be a valid Date');
    s += `; Expires=${opts.expires.toUTCString()}`;
  }
  for (const [k, attr] of [['domain', 'Domain'], ['path', 'Path']]) {
    if (opts[k] === undefined) continue;
    if (typeof opts[k] !== 'string' || !ATTR_VALUE.test(opts[k])) throw new TypeError(`invalid ${k}`);
    s += `; ${attr}=${opts[k]}`;
  }
  if (opts.secure) s += '; Secure';
  if (opts.httpOnly) s += '; HttpOnly';
  if (opts.sameSite !== undefined) {
    if (!['Strict', 'Lax', 'None'].includes(opts.sameSite)) throw new TypeError('sameSite must be Strict, Lax or None');
    s += `; SameSite=${opts.sameSite}`;
  }
  return s;
}

const uidCookie = (uid) => serializeCookie(UID_COOKIE, uid, { maxAge: UID_MAX_AGE, ...BASE_ATTRS });
const sessionCookie = (sid, nowSec) => serializeCookie(SESSION_COOKIE, `${sid}.${nowSec}`, { maxAge: SESSION_IDLE, ...BASE_ATTRS });
const expireCookie = (name) => serializeCookie(name, '', { maxAge: 0, expires: new Date(0), ...BASE_ATTRS });

/** Set-Cookie for an er_p value from sealProfile (one year, like er_uid).  Throws TypeError for
 * anything that is not such a value. */
export function profileCookie(value) {
  if (typeof value !== 'string' || value.length > MAX_PROFILE_COOKIE || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new TypeError('profileCookie: not an er_p value from sealProfile');
  }
  return serializeCookie(PROFILE_COOKIE, value, { maxAge: UID_MAX_AGE, ...BASE_ATTRS });
}

/** Set-Cookie strings that expire er_uid, er_sid and er_p (DELETE /edge/profile, opt-out). */
export function clearCookies() {
  return [UID_COOKIE, SESSION_COOKIE, PROFILE_COOKIE].map(expireCookie);
}

/** A copy of the request headers for the origin: er_uid, er_sid and er_p removed from Cookie
 * (other pairs kept in order, the header removed when nothing is left, left byte-identical when
 * it holds no edgerec cookie), x-edgerec-id, -session, -profile and -key removed.  Accepts anything
 * `new Headers()` does. */
export function stripEdgerecCookies(headers) {
  const out = new Headers(headers);
  for (const h of EDGEREC_HEADERS) out.delete(h);
  const cookie = out.get('cookie');
  if (cookie !== null) {
    let removed = false;
    const kept = [];
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq >= 0 && EDGEREC_COOKIES.has(part.slice(0, eq).trim())) removed = true;
      else if (part.trim() !== '') kept.push(part.trim());
    }
    if (removed) {
      if (kept.length) out.set('cookie', kept.join('; '));
      else out.delete('cookie');
    }
  }
  return out;
}

// ---- the profile cookie -----------------------------------------------------

const additionalData = (uidHash) => enc.encode(AD_PREFIX + uidHash);

/** Encrypt a profile (≤ 1024 bytes) for the shopper with this uidHash → the er_p value, or null
 * when bytes or uidHash are invalid.  Rejects with ConfigError for a bad EDGEREC_COOKIE_KEY. */
export async function sealProfile(env, uidHash, bytes) {
  const key = await aesKey(env);
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_PROFILE_BYTES) return null;
  if (typeof uidHash !== 'string' || uidHash === '') return null;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(uidHash), tagLength: 128 }, key, bytes));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  const value = toBase64url(out);
  openedProfiles.set(ringOf(env) + '\0' + uidHash + '\0' + value, bytes.slice());
  return value;
}

/** Decrypt an er_p value → the profile bytes, or null for anything wrong: no value, not strict
 * base64url, too short or too long, another shopper's cookie, a key outside the ring, any changed
 * bit, or a bad EDGEREC_COOKIE_KEY (identify() reports that one).  Tries EDGEREC_COOKIE_KEY, then
 * each key of EDGEREC_COOKIE_KEY_PREVIOUS.  Never throws. */
export async function openProfile(env, uidHash, value) {
  try {
    if (typeof uidHash !== 'string' || uidHash === '') return null;
    if (typeof value !== 'string' || value.length > MAX_PROFILE_COOKIE) return null;
    const memoKey = ringOf(env) + '\0' + uidHash + '\0' + value;
    const known = typeof env?.EDGEREC_COOKIE_KEY === 'string' ? openedProfiles.get(memoKey) : undefined;
    if (known) return known.slice(); // sealed or opened here before under this key: what decrypt would give
    const raw = fromBase64url(value);
    if (!raw || raw.length < 12 + 16) return null;
    const params = { name: 'AES-GCM', iv: raw.subarray(0, 12), additionalData: additionalData(uidHash), tagLength: 128 };
    const prev = previousKeys(env);
    for (const [s, variable] of [[env?.EDGEREC_COOKIE_KEY, 'EDGEREC_COOKIE_KEY'], ...(Array.isArray(prev) ? prev : []).map((x) => [x, 'EDGEREC_COOKIE_KEY_PREVIOUS'])]) {
      let pt;
      try { pt = await crypto.subtle.decrypt(params, await aesKeyOf(s, variable), raw.subarray(12)); } catch { continue; } // not this key: the next
      const bytes = new Uint8Array(pt);
      openedProfiles.set(memoKey, bytes.slice());
      return bytes;
    }
    return null;
  } catch {
    return null;
  }
}

// ---- identify ---------------------------------------------------------------

/** The ids this request already carries, whatever its privacy signals: for DELETE /edge/profile
 * (erasure must also work after an opt-out or a withdrawn consent, when identify() gives no
 * hashes).  Never mints a uid and sets no cookie: { uidHash, customerKey }, each hex or null.
 * Rejects with ConfigError. */
export async function erasureIds(request, env) {
  const secret = envIdSecret(env);
  const uid = presentedUid(request.headers, parseCookies(request.headers.get('cookie')));
  return { uidHash: uid ? await uidHashOf(secret, uid) : null, customerKey: await customerKey(request, env) };
}

// The uid a request presents (the app header when there is one, else a well-formed er_uid), or null.
function presentedUid(h, cookies) {
  if (h.has(ID_HEADER)) {
    const v = h.get(ID_HEADER).trim();
    return APP_ID.test(v) ? v : null;
  }
  const c = cookies[UID_COOKIE];
  return c !== undefined && RANDOM_ID.test(c) ? c : null;
}

function isOn(v) {
  return v !== null && v.trim() === '1';
}

/** Who is asking and what may be remembered; see the header comment.  Never throws for
 * configuration problems (they come back as `error`, with no ids and no cookies).
 * now: milliseconds (tests inject it).  activity: false for requests that must not extend or
 * start a session (then er_sid is neither started nor re-issued). */
export async function identify(request, env, now = Date.now(), { activity = true } = {}) {
  const h = request.headers;
  const cookies = parseCookies(h.get('cookie'));
  const id = {
    error: null, optedOut: false, reason: null, consent: true,
    uid: null, uidHash: null, isNewUid: false, source: null,
    sid: null, isNewSession: false, lastActive: null, customerKey: null, profileValue: null, setCookies: [],
  };

  // Privacy signals: no secret needed, honoured even when the configuration is broken.
  const consent = consentName(env);
  if (consent.name) {
    const v = cookies[consent.name];
    id.consent = v !== undefined && !DENY_VALUES.has(v.trim().toLowerCase());
  }
  if (isOn(h.get('sec-gpc'))) id.reason = 'gpc';
  else if (isOn(h.get('dnt'))) id.reason = 'dnt';
  else if (!id.consent && !consent.problem) id.reason = 'no-consent';
  if (id.reason) {
    id.optedOut = true;
    // Forget this browser: expire the edgerec cookies it still sends (a fresh browser gets nothing).
    for (const name of EDGEREC_COOKIES) if (name in cookies) id.setCookies.push(expireCookie(name));
    return id;
  }

  id.error = checkConfig(env);
  if (id.error) return id;

  try {
    const nowSec = Math.floor(now / 1000);
    id.uid = presentedUid(h, cookies);
    if (h.has(ID_HEADER)) { // an app: headers only, never a cookie
      if (id.uid) {
        id.source = 'header';
        const hs = (h.get(SESSION_HEADER) || '').trim();
        if (APP_ID.test(hs)) id.sid = hs;
        const hp = (h.get(PROFILE_HEADER) || '').trim();
        if (hp && hp.length <= MAX_PROFILE_COOKIE) id.profileValue = hp; // the app's copy of its sealed profile
      }
    } else {
      id.source = 'cookie';
      if (!id.uid) {
        id.uid = randomId();
        id.isNewUid = true;
        id.setCookies.push(uidCookie(id.uid));
      }
      // er_sid = "<sid>.<last activity, unix s>"; a new uid always starts a new session.
      const m = /^([A-Za-z0-9_-]{22})\.(\d{1,12})$/.exec(cookies[SESSION_COOKIE] || '');
      const live = !id.isNewUid && m && nowSec - Number(m[2]) < SESSION_IDLE && Number(m[2]) <= nowSec + CLOCK_SKEW;
      if (live) { id.sid = m[1]; id.lastActive = Number(m[2]); }
      else if (activity) {
        id.sid = randomId();
        id.isNewSession = true;
        if (!id.isNewUid) id.setCookies.push(uidCookie(id.uid)); // roll the one-year window once per session
      }
      if (id.sid && activity) id.setCookies.push(sessionCookie(id.sid, nowSec));
      if (cookies[PROFILE_COOKIE]) id.profileValue = cookies[PROFILE_COOKIE];
    }
    const secret = envIdSecret(env);
    if (id.uid) id.uidHash = await uidHashOf(secret, id.uid);
    id.customerKey = await customerKey(request, env, nowSec);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    Object.assign(id, { error: e, uid: null, uidHash: null, isNewUid: false, source: null, sid: null,
      isNewSession: false, lastActive: null, customerKey: null, profileValue: null, setCookies: [] });
  }
  return id;
}
