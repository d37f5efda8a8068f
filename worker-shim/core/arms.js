// arms.js — which arm a shopper is in, for the Worker and Lambda@Edge alike.
//
// HMAC-SHA256(salt, shopper id hash) → a uniform number u in [0, 1): u < holdout → 'holdout'
// (origin order, no units: what personalization is worth), else the rest splits by `percent` into
// 'canary' and 'control'.  Sticky per shopper and salt, independent of every other hash (the salt
// is the HMAC key).  The manifest ({active, canary, percent, holdout, salt}) comes from the
// platform: D1 + the KV mirror on Cloudflare (cloudflare/lifecycle.js), S3 on AWS.

export const DEFAULT_HOLDOUT = 5; // percent
const enc = new TextEncoder();

const keyCache = new Map();
async function saltKey(salt) {
  let k = keyCache.get(salt);
  if (!k) {
    k = crypto.subtle.importKey('raw', enc.encode(salt), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    keyCache.set(salt, k);
  }
  return k;
}

/** u in [0, 1) for a shopper under a salt: the first 48 bits of HMAC(salt, id). */
export async function armPoint(salt, shopperId) {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await saltKey(salt), enc.encode(shopperId)));
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + mac[i];
  return v / 2 ** 48;
}

/** The shopper's arm and the model version that serves it (null: none). */
export async function assignArm(manifest, shopperId) {
  if (!manifest || !manifest.salt || !shopperId) return { arm: 'control', version: manifest?.active ?? null };
  const u = await armPoint(manifest.salt, shopperId);
  const h = (manifest.holdout ?? DEFAULT_HOLDOUT) / 100;
  if (u < h) return { arm: 'holdout', version: null };
  const rest = (u - h) / (1 - h);
  if (manifest.canary && rest < (manifest.percent ?? 0) / 100) return { arm: 'canary', version: manifest.canary };
  return { arm: 'control', version: manifest.active ?? null };
}
