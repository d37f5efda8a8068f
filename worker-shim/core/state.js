// state.js — what the Worker keeps for a shopper between requests, as bytes:
// the engine's binary profile (docs/profile.md; only the engine reads or
// changes it), the SKUs in the shopper's open cart, so that placeOrder —
// whose response names no products — can log a purchase of each, and when the
// state was first created (`since`: new ids count less, core/traffic.js).  These
// bytes travel sealed in the `er_p` cookie (identity.js), an app's
// x-edgerec-profile header or, for signed-in customers, in KV.
//
//   version 3: version 2's bytes with 3 first, then u8 m | m × (u8 length, UTF-8 key, u8 in 0|1): the
//              shopper's segment memberships (core/segments.js), written only when there are some
//   version 2: u8 2 | u32 since (unix seconds, LE) | u16 profile length (LE) | profile | u8 n | n × (u8 length, UTF-8 sku)
//   version 1: u8 1 | u16 profile length | profile | u8 n | n × (u8 length, sku)   (read as since 0: established)
import { stripEdgeFields } from './traffic.js';

export const MAX_CART = 24;
export const MAX_SEGMENTS = 4; // segment memberships kept (core/segments.js)
const MAX_SINCE = 0xffffffff;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Encode {profile: Uint8Array|null, cart: string[], since?: unix seconds, segments?: [{key, in}]} as
 * version 2, or 3 with segment memberships (the newest MAX_CART skus of ≤ 128 bytes, the newest
 * MAX_SEGMENTS memberships with keys of ≤ 128 bytes); a state without `since` is created now. */
export function encodeState({ profile, cart, since, segments }) {
  const p = profile ?? new Uint8Array(0);
  const skus = (cart ?? []).slice(-MAX_CART).map((s) => enc.encode(s)).filter((b) => b.length && b.length <= 128);
  const t = Number.isInteger(since) && since >= 0 && since <= MAX_SINCE ? since : Math.floor(Date.now() / 1000);
  const segs = (Array.isArray(segments) ? segments : []).slice(-MAX_SEGMENTS)
    .map((m) => ({ key: enc.encode(String(m?.key ?? '')), in: m?.in ? 1 : 0 })).filter((m) => m.key.length && m.key.length <= 128);
  const tail = segs.length ? 1 + segs.reduce((n, m) => n + 2 + m.key.length, 0) : 0;
  const out = new Uint8Array(8 + p.length + skus.reduce((n, b) => n + 1 + b.length, 0) + tail);
  out[0] = segs.length ? 3 : 2;
  new DataView(out.buffer).setUint32(1, t, true);
  out[5] = p.length & 0xff;
  out[6] = p.length >> 8;
  out.set(p, 7);
  let at = 7 + p.length;
  out[at++] = skus.length;
  for (const b of skus) { out[at++] = b.length; out.set(b, at); at += b.length; }
  if (segs.length) {
    out[at++] = segs.length;
    for (const m of segs) { out[at++] = m.key.length; out.set(m.key, at); at += m.key.length; out[at++] = m.in; }
  }
  return out;
}

/** Decode state bytes (version 3, 2, or 1 with since 0) → {profile, cart, since} (and `segments`
 * [{key, in}] from version 3); null when they are
 * not a valid state (the caller starts afresh).  Total: never throws, whatever the bytes. */
export function decodeState(bytes) {
  try {
    if (!(bytes instanceof Uint8Array) || bytes.length < 4) return null;
    const v = bytes[0];
    if (v !== 1 && v !== 2 && v !== 3) return null;
    let at = 1, since = 0;
    if (v >= 2) {
      if (bytes.length < 8) return null;
      since = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, true);
      at = 5;
    }
    const pl = bytes[at] | (bytes[at + 1] << 8);
    at += 2;
    if (at + pl + 1 > bytes.length) return null;
    const profile = pl ? bytes.slice(at, at + pl) : null;
    at += pl;
    const n = bytes[at++];
    const cart = [];
    for (let k = 0; k < n; k++) {
      if (at >= bytes.length) return null;
      const len = bytes[at++];
      if (!len || at + len > bytes.length) return null;
      cart.push(dec.decode(bytes.subarray(at, at + len)));
      at += len;
    }
    if (v < 3) return at === bytes.length ? { profile, cart, since } : null;
    if (at >= bytes.length) return null;
    const m = bytes[at++];
    const segments = [];
    for (let k = 0; k < m; k++) {
      if (at >= bytes.length) return null;
      const len = bytes[at++];
      if (!len || at + len + 1 > bytes.length || bytes[at + len] > 1) return null;
      segments.push({ key: dec.decode(bytes.subarray(at, at + len)), in: bytes[at + len] === 1 });
      at += len + 1;
    }
    return at === bytes.length && m ? { profile, cart, since, segments } : null;
  } catch {
    return null;
  }
}

/**
 * Apply a request's events to the shopper: fill the edge's fields (id, ts, session, the
 * pseudonymous user; a client's trust / flag / conn / signed_in are removed: the caller marks
 * the returned events with core/traffic.js's markEvent), attribute them (arm, model, run of the
 * shopper's assignment `who`, or the active version without a lifecycle), update the profile
 * through the engine (which validates each against the event contract: an invalid one is
 * dropped) and the open cart.
 * The Worker and the Lambda@Edge handler both record through this.
 * A state without `since` (the shopper had none) is created now.
 * @returns the events to log (state.profile / state.cart / state.since are updated in place)
 */
/** A client's event time may lie in the past (an app's offline batch) but at most MAX_FUTURE_TS_S
 * ahead of the edge's clock: later (or none) is the edge's time, so no event outlives the event log's
 * retention by being dated years ahead (docs/events.md, *Retention and erasure*). */
export const MAX_FUTURE_TS_S = 3600;
function clientTs(ts, now) {
  return typeof ts === 'number' && ts <= now + MAX_FUTURE_TS_S ? ts : Math.round(now * 1000) / 1000;
}

export function applyEvents({ engine, state, events, id, who = null, activeVersion = null, nowMs = Date.now() }) {
  const now = nowMs / 1000;
  if (!Number.isInteger(state.since)) state.since = Math.floor(now);
  const full = [];
  for (const e of events) {
    const ev = stripEdgeFields({
      ...e,
      id: e.id ?? crypto.randomUUID(),
      ts: clientTs(e.ts, now),
      session: e.session ?? id.sid ?? undefined,
      user: id.uidHash ?? undefined,
    });
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
