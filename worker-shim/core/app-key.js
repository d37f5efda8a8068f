// app-key.js — proof of possession for app install ids (x-edgerec-id).  An install id is an
// identifier, not a secret (analytics, support screens and other SDKs may see it); reading or erasing
// what edgerec keeps under it needs the install key the edge issued for it, which only the app keeps.
// The format and its check only (no bindings); the registration lives in cloudflare/app-keys.js.
//
//   await newAppKey(secret, uidHash)          → { key, nonce }   key = "k1.<nonce>.<mac>"
//   parseAppKey(value)                        → { nonce, mac } | null (not the format)
//   await appKeyMatches(secret, uidHash, value, nonce) → boolean (the key is the one issued with nonce)
//   await sealedProfileProves(env, uidHash, headers)    → boolean (the app's sealed profile opens under the id)
// nonce: 16 random bytes, base64url (22 characters); mac: HMAC-SHA256(EDGEREC_ID_SECRET, "app-key:" +
// uidHash + ":" + nonce), 64 hex.  Bound to the id (another id's key never matches) and to the nonce the
// edge registered for it (a re-issued key replaces the old one).  Compared in constant time.
import { hmacId, openProfile, PROFILE_HEADER, toBase64url } from './identity.js';

const FORMAT = /^k1\.([A-Za-z0-9_-]{22})\.([0-9a-f]{64})$/;

const macOf = (secret, uidHash, nonce) => hmacId(secret, `app-key:${uidHash}:${nonce}`);

/** A fresh install key for the id with this uidHash (the nonce is what the edge registers). */
export async function newAppKey(secret, uidHash) {
  const nonce = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
  return { key: `k1.${nonce}.${await macOf(secret, uidHash, nonce)}`, nonce };
}

/** {nonce, mac} of an install key, or null when the value is not one (whitespace trimmed). */
export function parseAppKey(value) {
  const m = typeof value === 'string' ? FORMAT.exec(value.trim()) : null;
  return m ? { nonce: m[1], mac: m[2] } : null;
}

/** True when value is the install key issued for uidHash with this registered nonce. */
export async function appKeyMatches(secret, uidHash, value, nonce) {
  const k = parseAppKey(value);
  if (!k || typeof nonce !== 'string' || k.nonce !== nonce) return false;
  const want = await macOf(secret, uidHash, nonce);
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff |= want.charCodeAt(i) ^ k.mac.charCodeAt(i);
  return diff === 0;
}

/** True when the request's sealed profile (x-edgerec-profile) opens under uidHash: the weaker proof
 * of possession (anyone who sent events under the id was given one), for ids without an install key
 * on the Worker and for every app id on Lambda@Edge (which keeps no key registry). */
export async function sealedProfileProves(env, uidHash, headers) {
  const sealed = (headers.get(PROFILE_HEADER) ?? '').trim();
  return !!sealed && !!(await openProfile(env, uidHash, sealed));
}
