// profile-sync.js — the signed-in customer's KV profile copy, kept in sync across devices
// (docs/profile-sync.md).  The copy lives in KV `profile:<customerKey>` (the key: identity.js,
// a verified Magento JWT's customer id with MAGENTO_JWT_KEY), with metadata { v } = the version
// (the ms clock of the request whose state it is).
//
//   await withCustomerCopy(env, id, cookieState) → the state to serve (the cookie's or the KV copy),
//                                                  with a non-enumerable `sync` record for syncProfile
//   await syncProfile(env, key, bytes, sync, nowMs)   after a request changed the state (waitUntil;
//                                                  never throws): D1 bookkeeping, the parity sample,
//                                                  the KV write now or a trailing write later
//   await consumeProfileSync(batch, env[, nowMs])  the consumer of the `edgerec-profile-sync` queue
//   await applyTrailing(env, body, nowMs) → { applied, reason, retryAfterS? }  one trailing write
//   await forgetCustomer(env, key)                 DELETE /edge/profile: drops the D1 row
//   await parityStats(env[, nowMs]) → { checked, equal, ratio, since, sinceMs, last24h, quietSeconds, target }
//
// Writes: at most one KV write per customer per WRITE_INTERVAL_MS across all isolates (a D1
// conditional UPDATE claims the slot), plus a trailing write when the session goes quiet: every
// request that could not write sends a Queue message delayed by TRAILING_DELAY_S carrying the
// state sealed under EDGEREC_COOKIE_KEY; the consumer writes it only if it is still the customer's
// newest version (D1 newest_ms), not yet written, and the minute since the last write has passed.
// A Queue message was chosen over a cron sweep: it fires one quiet minute after the last request
// (the cron runs every 5 minutes) and needs no storage of the state besides the message itself.
//
// Which copy a device serves: the KV copy when it is newer than this device's last activity (its
// er_sid time) or the device has no live session or no state, else its own cookie.  Apps (no er_sid)
// keep the profile they send; without one they get the KV copy.
//
// Parity: a signed-in request with a cookie/app state, arriving after the customer (on any
// device) has been quiet for PARITY_QUIET_MS, is one sample; it is equal when the state served
// equals the KV copy read at this edge AND that copy is the customer's newest version.  Counters in
// D1 (`profile_parity`, bucket 0 = since the start, hourly buckets kept 30 days).
import { forgetProfiles, isPseudonymousId, openProfile, sealProfile } from '../core/identity.js';
import { decodeState, encodeState } from '../core/state.js';
import { tombstoneKey } from './events.js';

export const PROFILE_QUEUE = 'edgerec-profile-sync';
export const WRITE_INTERVAL_MS = 60_000; // one KV write per customer per minute (KV: 1 write/s per key, 1,000 a day free)
export const TRAILING_DELAY_S = 60; // the quiet time before the trailing write (≥ the write interval)
export const PARITY_QUIET_MS = 180_000; // trailing delay 60 s + queue batching ≤ 5 s + KV propagation ~60 s + margin
export const PARITY_TARGET = 0.999;
export const KV_PROFILE_TTL_S = 30 * 86400;
const KEEP_MS = 30 * 86400 * 1000; // hourly parity buckets and idle customers' rows
const HOUR_MS = 3600_000;

/** The KV key of a customer's profile copy. */
export const profileKey = (customerKey) => `profile:${customerKey}`;
// The sealed state in a trailing message: AES-GCM bound to the customer key (not a uid hash).
const sealedFor = (customerKey) => 'customer:' + customerKey;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS profile_sync (customer TEXT PRIMARY KEY, newest_ms INTEGER NOT NULL,
     written_ms INTEGER NOT NULL DEFAULT 0, written_at INTEGER NOT NULL DEFAULT 0)`,
  `CREATE TABLE IF NOT EXISTS profile_parity (bucket INTEGER PRIMARY KEY, checked INTEGER NOT NULL,
     equal INTEGER NOT NULL, first_ms INTEGER NOT NULL)`,
];
let schemaReady = null; // per isolate
function ensureTables(db) {
  schemaReady ??= db.batch(SCHEMA.map((s) => db.prepare(s))).catch((e) => { schemaReady = null; throw e; });
  return schemaReady;
}

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
/** What parity compares: the state's bytes without the device's segment memberships. */
const synced = (s) => encodeState({ ...s, segments: undefined });

/** The state a signed-in request serves: its own (cookie / app header) or the KV copy when that is
 * newer (see the header).  Attaches `sync` (non-enumerable) for syncProfile.  Never throws: KV
 * down means the request's own state. */
export async function withCustomerCopy(env, id, cookieState) {
  let kvState = null, kvV = 0;
  try {
    const kv = await env.EDGEREC.getWithMetadata(profileKey(id.customerKey), 'arrayBuffer');
    if (kv?.value) {
      kvState = decodeState(new Uint8Array(kv.value));
      kvV = Number.isSafeInteger(kv.metadata?.v) ? kv.metadata.v : 0;
    }
  } catch (e) { console.error(`edgerec: KV profile read: ${e.message}`); }
  let state = cookieState;
  if (kvState) {
    const browser = id.source === 'cookie';
    const newer = !cookieState || (browser && (id.lastActive === null || Math.floor(kvV / 1000) > id.lastActive));
    // the profile and cart follow the customer; segment memberships stay this device's (fixed at its
    // first exposure: a guest who signs in stays where they were, core/segments.js)
    if (newer) state = cookieState?.segments ? { ...kvState, segments: cookieState.segments } : kvState;
  }
  const out = state ?? { profile: null, cart: [] };
  const equal = !!(state && kvState) && sameBytes(synced(state), synced(kvState));
  Object.defineProperty(out, 'sync', { value: { hadOwn: !!cookieState, kvV, equal }, enumerable: false, configurable: true });
  return out;
}

/** After a request changed a signed-in customer's state (`bytes`, encoded): record the version,
 * count a parity sample, and write KV now (the minute's slot was free) or send the trailing
 * message.  For ctx.waitUntil; never throws. */
export async function syncProfile(env, key, bytes, sync, nowMs = Date.now()) {
  try {
    if (!env.DB) return await isolateWrite(env, key, bytes, nowMs);
    const db = env.DB;
    await ensureTables(db);
    const v = nowMs;
    const [pre, , claim] = await db.batch([
      db.prepare('SELECT newest_ms, written_ms, written_at FROM profile_sync WHERE customer = ?1').bind(key),
      db.prepare(`INSERT INTO profile_sync (customer, newest_ms) VALUES (?1, ?2)
        ON CONFLICT(customer) DO UPDATE SET newest_ms = max(newest_ms, excluded.newest_ms)`).bind(key, v),
      db.prepare(`UPDATE profile_sync SET written_ms = ?2, written_at = ?2
        WHERE customer = ?1 AND newest_ms = ?2 AND written_at <= ?3 RETURNING customer`).bind(key, v, v - WRITE_INTERVAL_MS),
    ]);
    const row = pre.results[0] ?? null;
    if (row && sync?.hadOwn && v - row.newest_ms >= PARITY_QUIET_MS) {
      await countParity(db, sync.equal && sync.kvV === row.newest_ms, nowMs);
    }
    if (claim.results.length) {
      try {
        await env.EDGEREC.put(profileKey(key), bytes, { expirationTtl: KV_PROFILE_TTL_S, metadata: { v } });
        return { wrote: true };
      } catch (e) { // give the slot back; the trailing write tries again
        console.error(`edgerec: KV profile: ${e.message}`);
        await db.prepare('UPDATE profile_sync SET written_ms = ?2, written_at = ?3 WHERE customer = ?1 AND written_ms = ?4')
          .bind(key, row?.written_ms ?? 0, row?.written_at ?? 0, v).run();
      }
    }
    return { wrote: false, trailing: await sendTrailing(env, key, bytes, v) };
  } catch (e) {
    console.error(`edgerec: profile sync: ${e.stack || e}`);
    return { wrote: false, error: e.message };
  }
}

const isolateWrites = new Map(); // customer key → last KV write (ms): without D1, per isolate only
async function isolateWrite(env, key, bytes, nowMs) {
  if (nowMs - (isolateWrites.get(key) ?? -Infinity) < WRITE_INTERVAL_MS) return { wrote: false };
  if (isolateWrites.size > 10_000) isolateWrites.clear();
  isolateWrites.set(key, nowMs);
  await env.EDGEREC.put(profileKey(key), bytes, { expirationTtl: KV_PROFILE_TTL_S, metadata: { v: nowMs } });
  return { wrote: true };
}

async function sendTrailing(env, key, bytes, v) {
  if (!env.PROFILE_SYNC) return false; // no queue bound: no trailing writes (docs/profile-sync.md)
  const state = await sealProfile(env, sealedFor(key), bytes);
  if (!state) return false; // over 1 KB: as for the cookie, not carried
  await env.PROFILE_SYNC.send({ key, v, state }, { contentType: 'json', delaySeconds: TRAILING_DELAY_S });
  return true;
}

async function countParity(db, equal, nowMs) {
  const hour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const e = equal ? 1 : 0;
  await db.batch([
    db.prepare(`INSERT INTO profile_parity (bucket, checked, equal, first_ms) VALUES (0, 1, ?1, ?2), (?3, 1, ?1, ?2)
      ON CONFLICT(bucket) DO UPDATE SET checked = checked + 1, equal = equal + excluded.equal`).bind(e, nowMs, hour),
    db.prepare('DELETE FROM profile_parity WHERE bucket > 0 AND bucket < ?1').bind(hour - KEEP_MS),
    db.prepare('DELETE FROM profile_sync WHERE newest_ms < ?1').bind(nowMs - KEEP_MS),
  ]);
}

/** One trailing write (a message body {key, v, state}): written only when v is still the newest
 * version, not yet written, not erased since, and the minute since the last write has passed
 * (else retryAfterS).  Throws when KV or D1 fail (the message is retried). */
export async function applyTrailing(env, body, nowMs = Date.now()) {
  const { key, v, state } = body ?? {};
  if (!isPseudonymousId(key) || !Number.isSafeInteger(v) || typeof state !== 'string') return { applied: false, reason: 'malformed' };
  const erased = await env.EDGEREC.get(tombstoneKey(key));
  if (erased !== null && Number(erased) * 1000 >= v) return { applied: false, reason: 'erased' };
  const db = env.DB;
  if (!db) return { applied: false, reason: 'no D1' };
  await ensureTables(db);
  const row = await db.prepare('SELECT newest_ms, written_ms, written_at FROM profile_sync WHERE customer = ?1').bind(key).first();
  if (!row) return { applied: false, reason: 'unknown' };
  if (row.newest_ms !== v) return { applied: false, reason: 'superseded' };
  if (row.written_ms >= v) return { applied: false, reason: 'written' };
  const wait = WRITE_INTERVAL_MS - (nowMs - row.written_at);
  if (wait > 0) return { applied: false, reason: 'too soon', retryAfterS: Math.ceil(wait / 1000) };
  const bytes = await openProfile(env, sealedFor(key), state);
  if (!bytes || !decodeState(bytes)) return { applied: false, reason: 'unreadable' };
  const claim = await db.prepare(`UPDATE profile_sync SET written_ms = ?2, written_at = ?3
    WHERE customer = ?1 AND newest_ms = ?2 AND written_ms < ?2 AND written_at <= ?4 RETURNING customer`)
    .bind(key, v, nowMs, nowMs - WRITE_INTERVAL_MS).all();
  if (!claim.results.length) return { applied: false, reason: 'raced' };
  try {
    await env.EDGEREC.put(profileKey(key), bytes, { expirationTtl: KV_PROFILE_TTL_S, metadata: { v } });
  } catch (e) {
    await db.prepare('UPDATE profile_sync SET written_ms = ?2, written_at = ?3 WHERE customer = ?1 AND written_ms = ?4')
      .bind(key, row.written_ms, row.written_at, v).run();
    throw e;
  }
  return { applied: true, reason: 'written' };
}

/** The `edgerec-profile-sync` queue consumer: each message acked, or retried (later when too soon). */
export async function consumeProfileSync(batch, env, nowMs = Date.now()) {
  for (const msg of batch.messages) {
    try {
      const r = await applyTrailing(env, msg.body, nowMs);
      if (r.retryAfterS) msg.retry({ delaySeconds: r.retryAfterS });
      else msg.ack();
    } catch (e) {
      console.error(`edgerec: trailing profile write: ${e.message}`);
      msg.retry();
    }
  }
}

/** Forget a customer's sync row (DELETE /edge/profile); pending trailing writes then find none.  The
 * isolate's memo of their sealed states goes first (identity.js forgetProfiles). */
export async function forgetCustomer(env, key) {
  if (key) forgetProfiles(sealedFor(key));
  if (!env.DB || !key) return;
  await ensureTables(env.DB);
  await env.DB.prepare('DELETE FROM profile_sync WHERE customer = ?1').bind(key).run();
}

/** Profile parity for metrics and the console: samples since counting began and over the last
 * 24 h.  ratio null without samples.  Never throws (D1 down: zeros with `error`). */
export async function parityStats(env, nowMs = Date.now()) {
  const out = { checked: 0, equal: 0, ratio: null, since: null, sinceMs: null,
    last24h: { checked: 0, equal: 0, ratio: null }, quietSeconds: PARITY_QUIET_MS / 1000, target: PARITY_TARGET };
  if (!env.DB) return out;
  try {
    await ensureTables(env.DB);
    const from = Math.floor(nowMs / HOUR_MS) * HOUR_MS - 23 * HOUR_MS;
    const { results } = await env.DB.prepare('SELECT bucket, checked, equal, first_ms FROM profile_parity WHERE bucket = 0 OR bucket >= ?1').bind(from).all();
    for (const r of results) {
      if (r.bucket === 0) Object.assign(out, { checked: r.checked, equal: r.equal, sinceMs: r.first_ms, since: new Date(r.first_ms).toISOString() });
      else { out.last24h.checked += r.checked; out.last24h.equal += r.equal; }
    }
    if (out.checked) out.ratio = out.equal / out.checked;
    if (out.last24h.checked) out.last24h.ratio = out.last24h.equal / out.last24h.checked;
  } catch (e) {
    out.error = e.message;
  }
  return out;
}
