// events.js — the event log: shopper events go to the Queue `edgerec-events`
// (producer), and the consumer writes them to R2 as NDJSON batches under
// events/YYYY/MM/DD/HH/<batch-id>.ndjson.
//
// Queues deliver at least once: the consumer drops repeated ids within a
// batch, and names each object after the hash of its sorted event ids, so a
// redelivered batch overwrites its own object instead of adding a copy
// (readers — `edgerec train`, the admin export — de-duplicate by id too).
// Events of erased shoppers (a tombstone in KV) are dropped here.  The KPIs
// (kpi.js, D1) and the live popularity sketches (popularity.js, D1) are
// aggregated from the same batch.  The connection key `conn` (docs/anti-gaming.md)
// is used for the popularity sketches and deleted before anything is written: it
// is stored nowhere.

import { recordKpis } from './kpi.js';
import { popularityInput, recordPopularity } from './popularity.js';
import { recordBatchMetrics } from './metrics.js';

const enc = new TextEncoder();

async function sha256Hex(s) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** R2 key prefix of an event time (unix seconds), UTC. */
export function hourPrefix(ts) {
  const d = new Date(Math.floor(ts) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `events/${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}/`;
}

export const SEND_ATTEMPTS = 3; // a failed (or, under deadline.js, hung) Queue send is tried this many times in all
export const SEND_BACKOFF_MS = 100; // then 200 ms: after the response (waitUntil), never in front of it
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sendOnce(env, events) {
  if (!env.EVENTS) throw new Error('Queue binding EVENTS is missing');
  if (events.length === 1) await env.EVENTS.send(events[0], { contentType: 'json' });
  else await env.EVENTS.sendBatch(events.map((body) => ({ body, contentType: 'json' })));
}

/**
 * Send events (objects with an id) to the queue; resolves when sent.  A failed send is retried
 * (SEND_ATTEMPTS in all, backing off); when every attempt failed, a log line says how many events
 * were lost and why, `lost(n, error)` is called (the Worker counts them: edgerec_events_lost_total),
 * and the promise rejects with the last error.
 */
export async function enqueue(env, events, { lost = null, attempts = SEND_ATTEMPTS, backoffMs = SEND_BACKOFF_MS } = {}) {
  if (!events.length) return;
  let error = null;
  for (let i = 0; i < attempts; i++) {
    if (i) await sleep(backoffMs * 2 ** (i - 1));
    try { await sendOnce(env, events); return; } catch (e) { error = e; }
  }
  console.error(`edgerec: queue: ${events.length} message(s) lost after ${attempts} attempts: ${error?.message}`);
  try { lost?.(events.length, error); } catch { /* counting never hides the error */ }
  throw error;
}

/** KV key of an erased shopper's tombstone. */
export const tombstoneKey = (userHash) => `tombstone:${userHash}`;

/** The queue consumer: write one NDJSON object per hour touched; ack on success, retry on failure. */
/** The batch's shoppers → erased? (one KV read per distinct shopper, all at once); throws when KV does. */
async function erasedUsers(batch, env) {
  const tomb = new Map();
  const users = [...new Set(batch.messages.map((m) => m.body?.user).filter((u) => typeof u === 'string' && u))];
  const found = await Promise.all(users.map((u) => env.EDGEREC.get(tombstoneKey(u))));
  users.forEach((u, i) => tomb.set(u, found[i] != null));
  return tomb;
}

export async function consume(batch, env) {
  const seen = new Set();
  const byHour = new Map();
  let tomb; // user hash → erased?
  try {
    tomb = await erasedUsers(batch, env);
  } catch (e) { // without the tombstones an erased shopper's events could be written: try again later
    console.error(`edgerec: reading tombstones failed, retrying the batch: ${e.message}`);
    batch.retryAll();
    return;
  }
  const kpi = []; // what the KPIs count: logged events and request metrics (metrics never go to R2)
  const pop = []; // what the popularity sketches count (taken before `conn` goes)
  const met = { received: 0, written: 0, dropped: { erased: 0, duplicate: 0, malformed: 0 }, lagsMs: [], counts: [] }; // metrics.js
  const queuedAt = [];
  for (const msg of batch.messages) {
    const ev = msg.body;
    const counted = ev && typeof ev === 'object' && ev.type !== '_metric';
    if (counted) met.received++;
    if (!ev || typeof ev !== 'object' || typeof ev.id !== 'string' || seen.has(ev.id)) { if (counted) met.dropped[typeof ev.id === 'string' ? 'duplicate' : 'malformed']++; continue; }
    seen.add(ev.id);
    if (ev.user && tomb.get(ev.user)) { if (counted) met.dropped.erased++; continue; }
    if (ev.type === '_metric' && ev.kind === 'counts') { met.counts.push(ev); continue; } // the Worker's request tallies
    kpi.push(ev);
    if (ev.type === '_metric') continue;
    // the message's time, set at the edge when queued (a client's `ts` cannot pick the day)
    const at = msg.timestamp instanceof Date ? msg.timestamp.getTime() : NaN;
    pop.push(popularityInput(ev, at));
    if (Number.isFinite(at)) queuedAt.push(at);
    const { conn: _conn, ...logged } = ev; // a copy without conn: the message itself stays as delivered
    const prefix = hourPrefix(typeof ev.ts === 'number' ? ev.ts : Date.now() / 1000);
    if (!byHour.has(prefix)) byHour.set(prefix, []);
    byHour.get(prefix).push(logged);
  }
  try {
    for (const [prefix, evs] of byHour) {
      evs.sort((a, b) => (a.ts - b.ts) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const id = (await sha256Hex(evs.map((e) => e.id).sort().join('\n'))).slice(0, 24);
      const body = evs.map((e) => JSON.stringify(e)).join('\n') + '\n';
      const put = await env.EDGEREC_EVENTS.put(`${prefix}${id}.ndjson`, body, {
        httpMetadata: { contentType: 'application/x-ndjson' },
        customMetadata: { events: String(evs.length) },
      });
      if (!put || typeof put.key !== 'string') throw new Error(`R2 put of ${prefix}${id}.ndjson returned no object`); // written, or retried
      met.written += evs.length;
    }
    if (env.DB) await recordKpis(env.DB, kpi, env); // de-duplicated by event id: a retried batch counts once
    if (env.DB) await recordPopularity(env.DB, pop); // register MAX: a retried batch changes nothing
    if (env.DB) { // counters for the metrics endpoint; a failure here loses these figures, never the events
      const now = Date.now();
      met.lagsMs = queuedAt.map((t) => Math.max(0, now - t));
      await recordBatchMetrics(env.DB, { ...met, now }).catch((e) => console.error(`edgerec: batch metrics: ${e.message}`));
    }
    batch.ackAll();
  } catch (e) {
    console.error(`edgerec: writing an event batch (R2, KPIs, popularity) failed, retrying: ${e.message}`);
    batch.retryAll();
  }
}

/** The dead-letter queue of `edgerec-events` (wrangler.toml dead_letter_queue): where a batch goes
 * after the consumer failed it max_retries times (a poison message, or R2 / D1 down that long). */
export const DEAD_LETTER_QUEUE = 'edgerec-events-dlq';

/** R2 key of a dead-lettered message: the day it was queued, then its message id. */
export function deadLetterKey(msg) {
  const t = msg.timestamp instanceof Date && Number.isFinite(msg.timestamp.getTime()) ? msg.timestamp : new Date();
  const safe = String(msg.id ?? crypto.randomUUID()).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
  return `dead-letter/${t.toISOString().slice(0, 10).replaceAll('-', '/')}/${safe}.json`;
}

/** The dead-letter consumer: each message is kept in R2 under dead-letter/ (without `conn`, as
 * everything stored; an erased shopper's not at all) for an operator to look at or replay, counted in
 * edgerec_events_dropped_total{reason="dead-letter"} and logged; the batch is retried when R2 or KV
 * fails (the DLQ's own retries). */
export async function consumeDeadLetters(batch, env) {
  let kept = 0;
  try {
    const tomb = await erasedUsers(batch, env); // an erased shopper's events are not kept here either
    for (const msg of batch.messages) {
      if (tomb.get(msg.body?.user)) continue;
      const body = msg.body && typeof msg.body === 'object' && !Array.isArray(msg.body) ? (({ conn: _c, ...rest }) => rest)(msg.body) : msg.body;
      await env.EDGEREC_EVENTS.put(deadLetterKey(msg), JSON.stringify({ message_id: msg.id, queued: msg.timestamp, attempts: msg.attempts, body }),
        { httpMetadata: { contentType: 'application/json' } });
      if (!(body && typeof body === 'object' && body.type === '_metric')) kept++;
    }
  } catch (e) {
    console.error(`edgerec: keeping dead-lettered events failed, retrying: ${e.message}`);
    batch.retryAll();
    return;
  }
  console.error(`edgerec: ${batch.messages.length} message(s) dead-lettered (${kept} event(s)) under dead-letter/`);
  if (env.DB && kept) await recordBatchMetrics(env.DB, { dropped: { 'dead-letter': kept }, now: Date.now() }).catch((e) => console.error(`edgerec: dead-letter metrics: ${e.message}`));
  batch.ackAll();
}
