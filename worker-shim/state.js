// state.js — what the Worker keeps for a shopper between requests, as bytes:
// the engine's binary profile (docs/profile.md; only the engine reads or
// changes it) and the SKUs in the shopper's open cart, so that placeOrder —
// whose response names no products — can log a purchase of each.  These
// bytes travel sealed in the `er_p` cookie (identity.js) or, for signed-in
// customers, in KV.
//
//   u8 version (1) | u16 profile length | profile | u8 n | n × (u8 length, UTF-8 sku)

export const MAX_CART = 24;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Encode {profile: Uint8Array|null, cart: string[]} (the newest MAX_CART skus of ≤ 128 bytes). */
export function encodeState({ profile, cart }) {
  const p = profile ?? new Uint8Array(0);
  const skus = (cart ?? []).slice(-MAX_CART).map((s) => enc.encode(s)).filter((b) => b.length && b.length <= 128);
  const out = new Uint8Array(4 + p.length + skus.reduce((n, b) => n + 1 + b.length, 0));
  out[0] = 1;
  out[1] = p.length & 0xff;
  out[2] = p.length >> 8;
  out.set(p, 3);
  let at = 3 + p.length;
  out[at++] = skus.length;
  for (const b of skus) { out[at++] = b.length; out.set(b, at); at += b.length; }
  return out;
}

/** Decode state bytes; null when they are not a valid state (the caller starts afresh). */
export function decodeState(bytes) {
  try {
    if (!bytes || bytes.length < 4 || bytes[0] !== 1) return null;
    const pl = bytes[1] | (bytes[2] << 8);
    if (3 + pl + 1 > bytes.length) return null;
    const profile = pl ? bytes.slice(3, 3 + pl) : null;
    let at = 3 + pl;
    const n = bytes[at++];
    const cart = [];
    for (let k = 0; k < n; k++) {
      const len = bytes[at++];
      if (!len || at + len > bytes.length) return null;
      cart.push(dec.decode(bytes.subarray(at, at + len)));
      at += len;
    }
    return at === bytes.length ? { profile, cart } : null;
  } catch {
    return null;
  }
}
