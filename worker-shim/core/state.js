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

/**
 * Apply a request's events to the shopper: fill the edge's fields (id, ts, session, the
 * pseudonymous user), attribute them (arm, model, run of the shopper's assignment `who`, or
 * the active version without a lifecycle), update the profile through the engine (which
 * validates each against the event contract: an invalid one is dropped) and the open cart.
 * The Worker and the Lambda@Edge handler both record through this.
 * @returns the events to log (state.profile / state.cart are updated in place)
 */
export function applyEvents({ engine, state, events, id, who = null, activeVersion = null, nowMs = Date.now() }) {
  const now = nowMs / 1000;
  const full = [];
  for (const e of events) {
    const ev = {
      ...e,
      id: e.id ?? crypto.randomUUID(),
      ts: typeof e.ts === 'number' ? e.ts : Math.round(now * 1000) / 1000,
      session: e.session ?? id.sid ?? undefined,
      user: id.uidHash ?? undefined,
    };
    if (who) { // attribution: the arm and the model that ranks what this shopper sees
      ev.arm = who.arm;
      if (who.arm !== 'holdout' && who.version) ev.model = who.version; else delete ev.model;
      if (who.run) ev.run = who.run; else delete ev.run; // the edge's, never a client's
    } else {
      delete ev.run; // no lifecycle, no run (a client's would count in the canary's figures)
      if (activeVersion && !ev.model) ev.model = activeVersion;
    }
    if (engine) {
      try {
        state.profile = engine.updateProfile(state.profile, JSON.stringify(ev));
      } catch (err) {
        if (err.code === 'trap') throw err;
        continue; // invalid for the contract: not logged
      }
    }
    if (ev.type === 'cart') state.cart = [...state.cart.filter((s) => s !== ev.item), ev.item];
    if (ev.type === 'purchase') state.cart = state.cart.filter((s) => s !== ev.item);
    full.push(ev);
  }
  return full;
}
