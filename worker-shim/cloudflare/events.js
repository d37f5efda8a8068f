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

/** Send events (objects with an id) to the queue; resolves when sent. */
export async function enqueue(env, events) {
  if (!events.length) return;
  if (!env.EVENTS) throw new Error('Queue binding EVENTS is missing');
  if (events.length === 1) await env.EVENTS.send(events[0], { contentType: 'json' });
  else await env.EVENTS.sendBatch(events.map((body) => ({ body, contentType: 'json' })));
}

/** KV key of an erased shopper's tombstone. */
export const tombstoneKey = (userHash) => `tombstone:${userHash}`;

/** The queue consumer: write one NDJSON object per hour touched; ack on success, retry on failure. */
export async function consume(batch, env) {
  const seen = new Set();
  const byHour = new Map();
  const tomb = new Map(); // user hash → erased?
  try { // one KV read per distinct shopper in the batch, all at once
    const users = [...new Set(batch.messages.map((m) => m.body?.user).filter((u) => typeof u === 'string' && u))];
    const found = await Promise.all(users.map((u) => env.EDGEREC.get(tombstoneKey(u))));
    users.forEach((u, i) => tomb.set(u, found[i] != null));
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
      await env.EDGEREC_EVENTS.put(`${prefix}${id}.ndjson`, body, {
        httpMetadata: { contentType: 'application/x-ndjson' },
        customMetadata: { events: String(evs.length) },
      });
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
