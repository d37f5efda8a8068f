// retention.js — the data lifecycle of what R2 holds (docs/events.md "Retention and erasure"), run by
// the cron every 5 minutes, each part with bounded work per run:
//
// * the event log (events/YYYY/MM/DD/HH/…, and dead letters dead-letter/YYYY/MM/DD/…): objects of hours
//   (days) older than EVENT_LOG_DAYS (default 400; "0" keeps them forever) are deleted, oldest first, at
//   most EXPIRE_PER_RUN a run and prefix.  The listing is
//   in time order, so the deleted objects are the progress: the next run starts where this one stopped.
// * feedback text (feedback-text/YYYY/MM/DD/…, POST /edge/feedback with FEEDBACK_TEXT_DAYS > 0): whole
//   days older than FEEDBACK_TEXT_DAYS, at most EXPIRE_PER_RUN a run (0 or unset: none is kept).
// * erasure purge: a tombstone (DELETE /edge/profile) stops new events at the queue consumer and filters
//   the admin export; the purge also removes the shopper's past events.  A sweep takes every tombstone
//   older than PURGE_GRACE_S that is not yet purged, reads events/, feedback-text/ and dead-letter/ in key order,
//   RETENTION_OBJECTS_PER_RUN objects a run, and rewrites each object holding their lines without them
//   (or deletes it when nothing is left).  Its progress (the last key read) is kept in D1
//   (`retention_state`), so a run resumes where the last stopped.  When the sweep ends, each tombstone
//   records the purge in its KV metadata ({purged: unix s}) and the audit log gets one row
//   (actor `retention`); later erasures join the next sweep.
import { audit } from './lifecycle.js';
import { hourPrefix, tombstoneKey } from './events.js'; // hourPrefix: keys sort in time order

export const DEFAULT_EVENT_LOG_DAYS = 400;
export const DEFAULT_OBJECTS_PER_RUN = 200; // objects the purge reads (and may rewrite) per cron run
export const EXPIRE_PER_RUN = 1000;         // objects expiry deletes per run and prefix (one R2 delete call)
export const PURGE_GRACE_S = 3600;          // a batch read its tombstones before the erasure: long written by then
export const PURGE_PREFIXES = ['events/', 'feedback-text/', 'dead-letter/'];
const MAX_TOMBSTONE_PAGES = 20;             // KV list pages (1,000 keys each) one run looks through
const MAX_USERS_PER_SWEEP = 1000;
const STATE = 'purge';

/** The retention settings from env: {eventLogDays, objectsPerRun, problems: ["NAME: why"]} (a bad value
 * falls back to its default and is named in problems). */
export function retentionConfig(env) {
  const problems = [];
  const read = (name, def, ok, why) => {
    const raw = env[name];
    if (raw === undefined || raw === null || String(raw).trim() === '') return def;
    const n = Number(raw);
    if (ok(n)) return n;
    problems.push(`${name}: ${JSON.stringify(String(raw))} is not ${why}; using ${def}`);
    return def;
  };
  return {
    eventLogDays: read('EVENT_LOG_DAYS', DEFAULT_EVENT_LOG_DAYS, (n) => Number.isFinite(n) && n >= 0, 'a number of days ≥ 0'),
    objectsPerRun: read('RETENTION_OBJECTS_PER_RUN', DEFAULT_OBJECTS_PER_RUN, (n) => Number.isInteger(n) && n >= 1 && n <= 10_000, 'an integer in 1..10000'),
    problems,
  };
}

/** Delete, oldest first, up to `limit` objects under `prefix` whose key sorts before `cutoff`; the count. */
async function deleteBefore(bucket, prefix, cutoff, limit) {
  const l = await bucket.list({ prefix, limit });
  const old = l.objects.map((o) => o.key).filter((k) => k < cutoff);
  if (old.length) await bucket.delete(old);
  return old.length;
}

/** Delete event-log objects of hours older than EVENT_LOG_DAYS, and dead letters (events.js
 * consumeDeadLetters, dead-letter/YYYY/MM/DD/…) of days older (none when it is 0); the count. */
export async function expireEventLog(env, now = Date.now(), limit = EXPIRE_PER_RUN) {
  const { eventLogDays } = retentionConfig(env);
  if (!env.EDGEREC_EVENTS || !(eventLogDays > 0)) return 0;
  const before = now / 1000 - eventLogDays * 86_400;
  const day = new Date(before * 1000).toISOString().slice(0, 10).replaceAll('-', '/');
  return await deleteBefore(env.EDGEREC_EVENTS, 'events/', hourPrefix(before), limit)
    + await deleteBefore(env.EDGEREC_EVENTS, 'dead-letter/', `dead-letter/${day}/`, limit);
}

/** Delete stored feedback text past FEEDBACK_TEXT_DAYS (whole days: a text goes within a day after;
 * 0, unset or invalid keeps none past its day); the count. */
export async function expireFeedbackText(env, now = Date.now(), limit = EXPIRE_PER_RUN) {
  const days = Number(env.FEEDBACK_TEXT_DAYS ?? 0);
  if (!env.EDGEREC_EVENTS) return 0;
  const day = new Date(now - (days > 0 ? days : 0) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '/');
  return deleteBefore(env.EDGEREC_EVENTS, 'feedback-text/', `feedback-text/${day}/`, limit);
}

// ---- erasure purge --------------------------------------------------------------------------------

let stateReady = null;
function stateTable(db) {
  stateReady ??= db.prepare(`CREATE TABLE IF NOT EXISTS retention_state (name TEXT PRIMARY KEY, value TEXT NOT NULL,
    updated INTEGER NOT NULL)`).run().catch((e) => { stateReady = null; throw e; });
  return stateReady;
}

/** The purge sweep in progress (null when none): {users: [[hash, erasedAt]], phase, after, started, …counts}. */
export async function purgeState(env) {
  if (!env.DB) return null;
  await stateTable(env.DB);
  const r = await env.DB.prepare('SELECT value FROM retention_state WHERE name = ?').bind(STATE).first();
  return r ? JSON.parse(r.value) : null;
}

async function saveState(env, state, now) {
  if (state) {
    await env.DB.prepare(`INSERT INTO retention_state (name, value, updated) VALUES (?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated`).bind(STATE, JSON.stringify(state), now).run();
  } else await env.DB.prepare('DELETE FROM retention_state WHERE name = ?').bind(STATE).run();
}

/** Tombstones not yet purged and older than the grace: [[hash, erasedAt]] (at most MAX_USERS_PER_SWEEP). */
export async function pendingErasures(env, now = Date.now()) {
  const prefix = tombstoneKey('');
  const out = [];
  let cursor;
  for (let page = 0; page < MAX_TOMBSTONE_PAGES && out.length < MAX_USERS_PER_SWEEP; page++) {
    const l = await env.EDGEREC.list({ prefix, cursor });
    const fresh = l.keys.filter((k) => !k.metadata?.purged);
    const values = await Promise.all(fresh.map((k) => env.EDGEREC.get(k.name)));
    fresh.forEach((k, i) => {
      const at = Number(values[i]);
      if (values[i] !== null && (!Number.isFinite(at) || at <= now / 1000 - PURGE_GRACE_S) && out.length < MAX_USERS_PER_SWEEP) {
        out.push([k.name.slice(prefix.length), values[i]]);
      }
    });
    if (l.list_complete) break;
    cursor = l.cursor;
  }
  return out;
}

/** An object's text without the lines of `users` (a line that is not JSON goes when it names one):
 * {text, kept, removed}. */
export function withoutUsers(text, users) {
  const lines = text.split('\n');
  const trailing = lines.length > 1 && lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  const kept = [];
  let removed = 0;
  for (const line of lines) {
    let who;
    try { const o = JSON.parse(line); who = o?.user ?? o?.body?.user; } catch { who = undefined; } // an event, or a dead letter {body}
    const theirs = typeof who === 'string' ? users.has(who) : [...users].some((u) => line.includes(u));
    if (theirs) removed++; else kept.push(line);
  }
  return { text: kept.join('\n') + (trailing && kept.length ? '\n' : ''), kept: kept.length, removed };
}

async function purgeObject(bucket, key, users, state) {
  const obj = await bucket.get(key);
  if (!obj) return;
  const text = await obj.text();
  if (![...users].some((u) => text.includes(u))) return; // the cheap look first: most objects name none
  const r = withoutUsers(text, users);
  if (!r.removed) return;
  if (!r.kept) { await bucket.delete(key); state.deleted++; }
  else {
    const customMetadata = { ...(obj.customMetadata ?? {}) };
    if (customMetadata.events !== undefined) customMetadata.events = String(r.kept);
    await bucket.put(key, r.text, { httpMetadata: obj.httpMetadata, customMetadata });
    state.rewritten++;
  }
  state.removed += r.removed;
}

/** One run of the erasure purge: continue the sweep in progress, or start one over the pending
 * erasures; reads at most `budget` objects.  → {idle} | {done, users, …counts} | {progress: {phase, after, …}}. */
export async function purgeErased(env, now = Date.now(), budget = retentionConfig(env).objectsPerRun) {
  if (!env.DB || !env.EDGEREC || !env.EDGEREC_EVENTS) return { idle: true, reason: 'bindings DB, EDGEREC and EDGEREC_EVENTS are needed' };
  let state = await purgeState(env);
  if (!state) {
    const users = await pendingErasures(env, now);
    if (!users.length) return { idle: true };
    state = { users, phase: 0, after: null, started: now, scanned: 0, rewritten: 0, deleted: 0, removed: 0 };
  }
  const users = new Set(state.users.map(([u]) => u));
  let left = budget;
  while (left > 0 && state.phase < PURGE_PREFIXES.length) {
    const l = await env.EDGEREC_EVENTS.list({ prefix: PURGE_PREFIXES[state.phase], startAfter: state.after ?? undefined, limit: Math.min(left, 1000) });
    for (const o of l.objects) {
      await purgeObject(env.EDGEREC_EVENTS, o.key, users, state);
      state.after = o.key;
      state.scanned++;
      left--;
    }
    if (!l.truncated) { state.phase++; state.after = null; }
  }
  if (state.phase < PURGE_PREFIXES.length) {
    await saveState(env, state, now);
    return { progress: { ...state, users: state.users.length } };
  }
  const at = Math.floor(now / 1000);
  for (const [u, erasedAt] of state.users) await env.EDGEREC.put(tombstoneKey(u), erasedAt, { metadata: { purged: at } });
  await audit(env, { action: 'purge-erased', actor: 'retention',
    reason: `the past events of ${state.users.length} erased shopper id(s) purged: ${state.removed} line(s) from ${state.rewritten} rewritten and ${state.deleted} deleted object(s) of ${state.scanned}`,
    figures: { users: state.users.length, scanned: state.scanned, rewritten: state.rewritten, deleted: state.deleted, removed: state.removed, started: state.started } });
  await saveState(env, null, now);
  return { done: true, ...state, users: state.users.length };
}

/** The cron's retention step: feedback text, the event log, the erasure purge; never throws (each
 * part's failure is logged and leaves the others running).  → {feedback, expired, purge, problems}. */
export async function runRetention(env, now = Date.now()) {
  const out = { problems: retentionConfig(env).problems };
  for (const p of out.problems) console.error(`edgerec: retention: ${p}`);
  const step = async (name, f) => {
    try { out[name] = await f(); } catch (e) { out[name] = { error: e.message }; console.error(`edgerec: retention ${name}: ${e.message}`); }
  };
  await step('feedback', () => expireFeedbackText(env, now));
  await step('expired', () => expireEventLog(env, now));
  await step('purge', () => purgeErased(env, now));
  return out;
}

/** GET /edge/admin/retention: the settings, the sweep in progress (counts and position, never the ids)
 * and how many erasures are not purged yet. */
export async function retentionStatus(env, now = Date.now()) {
  const c = retentionConfig(env);
  const s = await purgeState(env);
  const waiting = env.EDGEREC ? (await pendingErasures(env, now + PURGE_GRACE_S * 1000)).length : null;
  return {
    event_log_days: c.eventLogDays, feedback_text_days: Math.max(0, Number(env.FEEDBACK_TEXT_DAYS ?? 0) || 0),
    objects_per_run: c.objectsPerRun, problems: c.problems,
    sweep: s ? { erasures: s.users.length, prefix: PURGE_PREFIXES[s.phase] ?? null, after: s.after, started: s.started,
      scanned: s.scanned, rewritten: s.rewritten, deleted: s.deleted, removed: s.removed } : null,
    erasures_not_purged: waiting,
  };
}
