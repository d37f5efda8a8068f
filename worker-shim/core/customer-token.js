// customer-token.js — Magento ≥ 2.4.4 customer tokens: verify the JWT and give its customer id.
// WebCrypto only (runs in workerd, Lambda@Edge and Node ≥ 22).  Used by identity.js's customerKey.
//
//   await verifyCustomerToken(token, env, nowSec) → { uid: '42' } | { error: 'why' }   (never throws)
//   jwtMode(env) → { key, alg } | null | ConfigProblem string   (what env.MAGENTO_JWT_KEY / _ALG configure)
//
// Magento's format (module Magento_JwtUserToken, 2.4.4+; docs/profile-sync.md cites the sources):
// * a JWS in compact form `base64url(header).base64url(claims).base64url(signature)`, signed with
//   the store's config `webapi/jwtauth/jwt_alg` (default HS256; HS384 / HS512 possible; the RS/ES
//   and JWE choices are not supported here: such tokens give no customer id);
// * the HMAC key is the LAST key of app/etc/env.php `crypt/key` (keys are whitespace-separated after
//   a rotation), padded to 2048 characters with '&' on both sides (PHP str_pad STR_PAD_BOTH: the
//   left gets the floor of the half) — SecretBasedJwksFactory;
// * claims: uid (the customer's entity id, an integer), utypid (3 = customer; 1 integration,
//   2 admin, 4 guest), iat and exp (unix seconds; exp = iat + customer_expiration, 60 min default).
// Rules: the header's alg must be the configured one (no "none", no algorithm switch); the
// signature is checked in constant time (crypto.subtle.verify); utypid must be 3; uid a positive
// integer; exp in the future and iat not more than CLOCK_SKEW ahead.  Anything else is an error
// with a reason (for tests and logs; the token itself is never logged or stored).

export const CUSTOMER_TYPE = 3; // Magento\Authorization\Model\UserContextInterface::USER_TYPE_CUSTOMER
const CLOCK_SKEW = 60; // seconds a token's iat may be ahead of this edge's clock
const KEY_LENGTH = 2048; // SecretBasedJwksFactory pads the key to this many characters
const HASHES = { HS256: 'SHA-256', HS384: 'SHA-384', HS512: 'SHA-512' };
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** The store's key as Magento signs with it: the last of the whitespace-separated keys, padded. */
export function magentoSigningKey(cryptKey) {
  const keys = String(cryptKey).trim().split(/\s+/);
  const k = keys[keys.length - 1];
  if (k.length >= KEY_LENGTH) return k;
  const pad = KEY_LENGTH - k.length, left = Math.floor(pad / 2);
  return '&'.repeat(left) + k + '&'.repeat(pad - left);
}

/** What the deployment configures: null (no MAGENTO_JWT_KEY: opaque tokens, the legacy key),
 * { key, alg }, or a problem string naming the variable (identity.js makes it a ConfigError). */
export function jwtMode(env) {
  const key = env?.MAGENTO_JWT_KEY;
  if (key === undefined || key === null || key === '') return null;
  if (typeof key !== 'string' || !key.trim()) return 'MAGENTO_JWT_KEY must be the store\'s app/etc/env.php crypt/key (a string)';
  const alg = env?.MAGENTO_JWT_ALG || 'HS256';
  if (!HASHES[alg]) return `MAGENTO_JWT_ALG must be HS256, HS384 or HS512 (got ${JSON.stringify(String(alg)).slice(0, 40)})`;
  return { key, alg };
}

const keyCache = new Map(); // alg + '\0' + crypt key → Promise<CryptoKey>
function verifyKey(cryptKey, alg) {
  const k = alg + '\0' + cryptKey;
  let p = keyCache.get(k);
  if (!p) {
    if (keyCache.size >= 8) keyCache.clear();
    p = crypto.subtle.importKey('raw', enc.encode(magentoSigningKey(cryptKey)), { name: 'HMAC', hash: HASHES[alg] }, false, ['verify']);
    keyCache.set(k, p);
    p.catch(() => keyCache.delete(k));
  }
  return p;
}

function b64urlBytes(s) {
  if (!SEGMENT.test(s) || s.length % 4 === 1) return null;
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function jsonSegment(s) {
  try {
    const b = b64urlBytes(s);
    const v = b && JSON.parse(dec.decode(b));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch { return null; }
}

/** Verify a Magento customer JWT with the configured key → { uid } (a decimal string) or
 * { error } (a short reason).  nowSec: unix seconds.  Never throws. */
export async function verifyCustomerToken(token, env, nowSec = Math.floor(Date.now() / 1000)) {
  try {
    const mode = jwtMode(env);
    if (!mode || typeof mode === 'string') return { error: 'no key configured' };
    if (typeof token !== 'string' || token.length > 8192) return { error: 'not a JWT' };
    const parts = token.split('.');
    if (parts.length !== 3) return { error: parts.length === 5 ? 'encrypted (JWE) tokens are not supported' : 'not a JWT' };
    const header = jsonSegment(parts[0]);
    if (!header) return { error: 'bad header' };
    if (header.alg !== mode.alg) return { error: `alg ${JSON.stringify(String(header.alg)).slice(0, 20)} is not the configured ${mode.alg}` };
    if (header.crit !== undefined) return { error: 'crit header not supported' };
    const sig = b64urlBytes(parts[2]);
    if (!sig) return { error: 'bad signature encoding' };
    const key = await verifyKey(mode.key, mode.alg);
    if (!(await crypto.subtle.verify('HMAC', key, sig, enc.encode(parts[0] + '.' + parts[1])))) return { error: 'bad signature' };
    const c = jsonSegment(parts[1]);
    if (!c) return { error: 'bad claims' };
    if (Number(c.utypid) !== CUSTOMER_TYPE) return { error: `utypid ${JSON.stringify(c.utypid)} is not a customer (3)` };
    const uid = typeof c.uid === 'number' ? c.uid : typeof c.uid === 'string' && /^\d{1,15}$/.test(c.uid) ? Number(c.uid) : NaN;
    if (!Number.isSafeInteger(uid) || uid <= 0) return { error: 'no customer id (uid)' };
    if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) return { error: 'no exp' };
    if (c.exp <= nowSec) return { error: 'expired' };
    if (typeof c.iat !== 'number' || !Number.isFinite(c.iat)) return { error: 'no iat' };
    if (c.iat > nowSec + CLOCK_SKEW) return { error: 'issued in the future' };
    return { uid: String(uid) };
  } catch {
    return { error: 'unreadable' };
  }
}
