// popularity.js — live popularity (docs/popularity.md): rolling per-item aggregates in D1, kept by
// the queue consumer, turned by the cron into the four popularity lists, published to KV under
// `lists:live` (the engine reads them as it reads the bundle's lists; bundles.js applies them).
//
//   popularityInput(ev, atMs)          → what one logged event contributes, or null   (the consumer, before R2)
//   recordPopularity(db, inputs)       → {rows, written}: one D1 batch of register upserts
//   computeLists(db, nowMs)            → {lists, counts, rows_read}                      (reads only)
//   prune(db, nowMs)                   → rows deleted
//   publishLiveLists(env, nowMs)       → summary (the cron, every LIVE_LISTS_MINUTES)   never throws
//   liveListsStatus(env, nowMs)        → {document, age_seconds, …}                       (GET /edge/admin/live-lists)
//
// Distinct shoppers are counted with HyperLogLog sketches whose registers are rows:
// pop_sketch(kind, bucket, item, cls, reg, rho).  A shopper's key hashes to one register `reg` and
// a value `rho`; a register keeps the largest rho it saw.  The update is
// `INSERT … ON CONFLICT DO UPDATE SET rho = excluded.rho WHERE excluded.rho > rho`, i.e. MAX: the
// same event applied twice, or the same events split into other batches in any order, leave the
// same rows (idempotent under queue redelivery and re-batching by construction; concurrent
// consumers cannot lose an update, each upsert is one atomic statement).  No row per shopper.
//
// kind view / cart / purchase: bucket = UTC day (a shopper counts once per item per day; the 7-day
// score sums the 7 daily estimates); kind viewh: bucket = UTC hour, for trending (the last 24 h
// unioned against the 72 h before).  cls 'e' (established shopper, key = the user hash) or 'n'
// (`trust: "new"`, key = the connection key `conn`, else the user hash), weighted NEW_WEIGHT.
// Flagged events (`flag`) never count.  The bucket is the queue message's time (set at the edge),
// never the event's own `ts` (a client could back-date it into other days).
import { ensureSchema } from './lifecycle.js';

export const LIVE_KEY = 'lists:live';
export const HLL_REGISTERS = 256;           // 2^8: ≈ 6.5 % standard error for large counts, near exact for small
const HLL_ALPHA = 0.7213 / (1 + 1.079 / HLL_REGISTERS);
const RHO_BITS = 40;                        // rho ≤ 41: Σ 2^-rho over 256 registers is exact in a double
export const NEW_WEIGHT = 0.25;             // a shopper whose id is minutes old counts a quarter
export const WINDOW_DAYS = 7;               // most viewed / purchased / added to cart
export const KEEP_DAYS = 8;                 // daily buckets kept (the window and the day before it)
export const TREND_RECENT_HOURS = 24;
export const TREND_BASE_HOURS = 72;
export const KEEP_HOURS = TREND_RECENT_HOURS + TREND_BASE_HOURS; // 4 days of hourly buckets
export const TREND_PRIOR = 2;               // shoppers a day added to the baseline: smoothing
export const TREND_MIN_SUPPORT = 3;         // weighted distinct shoppers in 24 h before an item trends
export const TOP = 500;                     // entries per list (the engine's limit)
const DEFAULT_MINUTES = 15;
const DEFAULT_MIN_ITEMS = 10;
const DAY = 86_400, HOUR = 3_600;
const BATCH_ROWS = 16;                      // rows per INSERT: 6 parameters each, D1 allows 100

/** Event types each daily kind counts (as the trainer's popularity: every item interaction implies
 * a view; cart counts adds and purchases). */
const COUNTS = {
  view: new Set(['view', 'click', 'cart', 'purchase', 'wishlist', 'recs-item-click', 'recs-item-add-to-cart-click']),
  cart: new Set(['cart', 'purchase']),
  purchase: new Set(['purchase']),
};
/** The engine's list names (interface: engine.setLists) and the daily kind behind each. */
export const LIST_KINDS = { 'most-viewed': 'view', 'most-purchased': 'purchase', 'most-added-to-cart': 'cart' };

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS pop_sketch (kind TEXT NOT NULL, bucket INTEGER NOT NULL, item TEXT NOT NULL,
     cls TEXT NOT NULL, reg INTEGER NOT NULL, rho INTEGER NOT NULL, PRIMARY KEY (kind, bucket, item, cls, reg)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS pop_state (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL DEFAULT 0,
     hash TEXT, generated_at INTEGER, write_day TEXT, writes INTEGER NOT NULL DEFAULT 0, rows_read INTEGER, summary TEXT)`,
];
let schemaReady = null; // per isolate

/** Create the popularity tables when missing (idempotent; once per isolate). */
export function ensurePopularitySchema(db) {
  if (!db) throw new Error('D1 binding DB is missing');
  schemaReady ??= ensureSchema(db).then(() => db.batch(SCHEMA.map((s) => db.prepare(s))))
    .catch((e) => { schemaReady = null; throw e; });
  return schemaReady;
}

// ---- the update (queue consumer) ------------------------------------------------------------------

/** What one logged event contributes to the aggregates ({item, type, cls, key, at} in seconds), or
 * null (flagged, not an item interaction, no shopper key).  Taken before `conn` is deleted. */
export function popularityInput(ev, atMs) {
  if (!ev || typeof ev !== 'object' || ev.flag) return null;
  if (!COUNTS.view.has(ev.type) || typeof ev.item !== 'string' || !ev.item || ev.item.length > 128) return null;
  const cls = ev.trust === 'new' ? 'n' : 'e';
  const key = cls === 'n' && typeof ev.conn === 'string' && ev.conn ? `c:${ev.conn}` : typeof ev.user === 'string' && ev.user ? `u:${ev.user}` : null;
  if (!key) return null;
  const at = Number.isFinite(atMs) ? atMs / 1000 : typeof ev.ts === 'number' ? ev.ts : Date.now() / 1000;
  return { item: ev.item, type: ev.type, cls, key, at };
}

/** The register and rho of a shopper key: SHA-256, the first byte the register, the next 40 bits
 * give rho (1 + leading zeros, at most 41). */
export async function hllPoint(key) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`edgerec-pop:${key}`)));
  let rho = 1;
  for (let i = 1; i <= RHO_BITS / 8; i++) {
    if (d[i] === 0) { rho += 8; continue; }
    rho += Math.clz32(d[i]) - 24;
    return { reg: d[0], rho };
  }
  return { reg: d[0], rho };
}

/** Apply inputs (popularityInput's) to the sketches: one D1 batch of upserts that only ever raise
 * a register (MAX), de-duplicated within the batch first.  Inputs outside the kept buckets are
 * ignored.  Returns {rows, written}: the register rows offered to D1, and those D1 wrote (a
 * register that did not rise is not written). */
export async function recordPopularity(db, inputs, nowMs = Date.now()) {
  const list = inputs.filter(Boolean);
  if (!list.length) return { rows: 0, written: 0 };
  await ensurePopularitySchema(db);
  const today = Math.floor(nowMs / 1000 / DAY), hourNow = Math.floor(nowMs / 1000 / HOUR);
  const points = new Map();
  const rows = new Map(); // kind|bucket|item|cls|reg → rho
  const offer = (kind, bucket, p, reg, rho) => {
    const k = `${kind}\u0000${bucket}\u0000${p.item}\u0000${p.cls}\u0000${reg}`;
    if (!(rows.get(k)?.[5] >= rho)) rows.set(k, [kind, bucket, p.item, p.cls, reg, rho]);
  };
  for (const p of list) {
    if (!points.has(p.key)) points.set(p.key, await hllPoint(p.key));
    const { reg, rho } = points.get(p.key);
    const day = Math.floor(p.at / DAY), hour = Math.floor(p.at / HOUR);
    if (day > today - KEEP_DAYS && day <= today + 1) {
      for (const kind of ['view', 'cart', 'purchase']) if (COUNTS[kind].has(p.type)) offer(kind, day, p, reg, rho);
    }
    if (hour > hourNow - KEEP_HOURS && hour <= hourNow + 1) offer('viewh', hour, p, reg, rho);
  }
  const all = [...rows.values()];
  if (!all.length) return { rows: 0, written: 0 };
  const stmts = [];
  for (let i = 0; i < all.length; i += BATCH_ROWS) {
    const chunk = all.slice(i, i + BATCH_ROWS);
    stmts.push(db.prepare(`INSERT INTO pop_sketch (kind, bucket, item, cls, reg, rho) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
      ON CONFLICT (kind, bucket, item, cls, reg) DO UPDATE SET rho = excluded.rho WHERE excluded.rho > pop_sketch.rho`).bind(...chunk.flat()));
  }
  const res = await db.batch(stmts); // one transaction
  return { rows: all.length, written: res.reduce((n, r) => n + (r.meta?.rows_written ?? 0), 0) };
}

// ---- the tables (cron) ----------------------------------------------------------------------------

/** HyperLogLog's estimate from the non-zero registers' count and Σ 2^-rho over them (linear
 * counting while it is the better estimate, as in Flajolet et al.). */
export function hllEstimate(nonZero, invSum) {
  const zeros = HLL_REGISTERS - nonZero;
  const raw = HLL_ALPHA * HLL_REGISTERS * HLL_REGISTERS / (zeros + invSum);
  if (raw <= 2.5 * HLL_REGISTERS && zeros > 0) return HLL_REGISTERS * Math.log(HLL_REGISTERS / zeros);
  return raw;
}

const round3 = (x) => Math.round(x * 1000) / 1000;
const weight = (cls) => (cls === 'n' ? NEW_WEIGHT : 1);
/** Top entries of a score map, score descending then sku: [[sku, score], …]. */
function top(scores) {
  return [...scores].map(([sku, s]) => [sku, round3(s)]).filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, TOP);
}

/** The sketches' per-(item, cls) register summary over hourly buckets [from, to], registers
 * unioned (MAX per register) first. */
const unionQuery = (db, from, to) => db.prepare(`SELECT item, cls, COUNT(*) AS nz, SUM(1.0 / (1 << r)) AS s FROM
  (SELECT item, cls, reg, MAX(rho) AS r FROM pop_sketch WHERE kind = 'viewh' AND bucket BETWEEN ? AND ? GROUP BY item, cls, reg)
  GROUP BY item, cls`).bind(from, to);

/** Weighted distinct shoppers per item from summary rows ({item, cls, nz, s}). */
function weighted(rows) {
  const out = new Map();
  for (const r of rows) out.set(r.item, (out.get(r.item) ?? 0) + weight(r.cls) * hllEstimate(r.nz, r.s));
  return out;
}

/**
 * The four lists at nowMs from the sketches (one D1 batch, one snapshot):
 *   most viewed / purchased / added to cart: Σ over the last 7 UTC days (today included) of the
 *     day's distinct shoppers (established + 0.25 × new);
 *   trending: R / (B / 3 + TREND_PRIOR) where R is the distinct weighted viewers of the last 24 h
 *     and B those of the 72 h before (a per-day baseline), when R ≥ TREND_MIN_SUPPORT.
 * @returns {{lists: {[kind]: [[sku, score], …]}, counts: object, rows_read: number}}
 */
export async function computeLists(db, nowMs = Date.now()) {
  await ensurePopularitySchema(db);
  const today = Math.floor(nowMs / 1000 / DAY), h = Math.floor(nowMs / 1000 / HOUR);
  const daily = Object.values(LIST_KINDS).map((kind) => db.prepare(`SELECT item, bucket, cls, COUNT(*) AS nz,
    SUM(1.0 / (1 << rho)) AS s FROM pop_sketch WHERE kind = ? AND bucket > ? AND bucket <= ? GROUP BY bucket, item, cls`)
    .bind(kind, today - WINDOW_DAYS, today));
  const res = await db.batch([...daily,
    unionQuery(db, h - TREND_RECENT_HOURS + 1, h),
    unionQuery(db, h - KEEP_HOURS + 1, h - TREND_RECENT_HOURS)]);
  const lists = {}, counts = {};
  let rowsRead = 0;
  Object.keys(LIST_KINDS).forEach((name, i) => {
    rowsRead += res[i].meta?.rows_read ?? 0;
    const scores = new Map();
    for (const r of res[i].results) scores.set(r.item, (scores.get(r.item) ?? 0) + weight(r.cls) * hllEstimate(r.nz, r.s));
    lists[name] = top(scores);
    counts[name] = { items: [...scores.values()].filter((s) => round3(s) > 0).length };
  });
  const recent = weighted(res[3].results), base = weighted(res[4].results);
  rowsRead += (res[3].meta?.rows_read ?? 0) + (res[4].meta?.rows_read ?? 0);
  const trend = new Map();
  for (const [item, r] of recent) if (r >= TREND_MIN_SUPPORT) trend.set(item, r / ((base.get(item) ?? 0) / (TREND_BASE_HOURS / 24) + TREND_PRIOR));
  lists.trending = top(trend);
  counts.trending = { items: trend.size, viewed_24h: recent.size };
  return { lists, counts, rows_read: rowsRead };
}

/** Delete buckets no window needs any more: daily ones older than KEEP_DAYS, hourly ones older
 * than KEEP_HOURS.  Returns the rows deleted. */
export async function prune(db, nowMs = Date.now()) {
  await ensurePopularitySchema(db);
  const today = Math.floor(nowMs / 1000 / DAY), h = Math.floor(nowMs / 1000 / HOUR);
  const [a, b] = await db.batch([
    db.prepare("DELETE FROM pop_sketch WHERE kind IN ('view', 'cart', 'purchase') AND bucket <= ?").bind(today - KEEP_DAYS),
    db.prepare("DELETE FROM pop_sketch WHERE kind = 'viewh' AND bucket <= ?").bind(h - KEEP_HOURS),
  ]);
  return (a.meta?.changes ?? 0) + (b.meta?.changes ?? 0);
}

// ---- publishing (cron) ----------------------------------------------------------------------------

/** LIVE_LISTS_MINUTES (default 15) and LIVE_LISTS_MIN_ITEMS (default 10) from env; a bad value is
 * an error naming the variable. */
export function liveListsConfig(env) {
  const num = (name, dflt, min) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min} (got '${raw}')`);
    return v;
  };
  return { minutes: num('LIVE_LISTS_MINUTES', DEFAULT_MINUTES, 1), minItems: num('LIVE_LISTS_MIN_ITEMS', DEFAULT_MIN_ITEMS, 0) };
}

async function sha256Hex(s) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const readState = (db) => db.prepare('SELECT * FROM pop_state WHERE id = 1').first();

/**
 * The cron's step: when LIVE_LISTS_MINUTES have passed since the last computation (claimed in D1,
 * so two overlapping runs do not both compute), prune, compute the lists, and write `lists:live`
 * to KV only when they differ from what KV holds.  A list with fewer than LIVE_LISTS_MIN_ITEMS
 * entries is left out of the document: the bundle's list of that kind stays in force.
 * Never throws: {published, reason, …} says what happened.
 */
export async function publishLiveLists(env, nowMs = Date.now()) {
  const out = { published: false, reason: null };
  try {
    if (!env.DB) return { ...out, reason: 'D1 binding DB is missing' };
    if (!env.EDGEREC) return { ...out, reason: 'KV binding EDGEREC is missing' };
    const cfg = liveListsConfig(env);
    await ensurePopularitySchema(env.DB);
    await env.DB.prepare('INSERT OR IGNORE INTO pop_state (id, checked_at) VALUES (1, 0)').run();
    const state = await readState(env.DB);
    if (nowMs - state.checked_at < cfg.minutes * 60_000 - 30_000) return { ...out, reason: 'not due' };
    const claim = await env.DB.prepare('UPDATE pop_state SET checked_at = ? WHERE id = 1 AND checked_at = ?').bind(nowMs, state.checked_at).run();
    if (!claim.meta?.changes) return { ...out, reason: 'another run is computing' };
    out.pruned = await prune(env.DB, nowMs);
    const { lists, counts, rows_read } = await computeLists(env.DB, nowMs);
    out.rows_read = rows_read;
    const kept = Object.fromEntries(Object.entries(lists).filter(([, l]) => l.length && l.length >= cfg.minItems));
    for (const [k, c] of Object.entries(counts)) c.published = k in kept;
    const hash = await sha256Hex(JSON.stringify(kept));
    const current = await env.EDGEREC.get(LIVE_KEY, 'json').catch(() => null);
    const day = new Date(nowMs).toISOString().slice(0, 10);
    const writesToday = state.write_day === day ? state.writes : 0;
    const summary = JSON.stringify({ counts, rows_read, pruned: out.pruned });
    if (hash === state.hash && current && current.generated_at === state.generated_at) {
      await env.DB.prepare('UPDATE pop_state SET rows_read = ?, summary = ? WHERE id = 1').bind(rows_read, summary).run();
      return { ...out, reason: 'unchanged', generated_at: state.generated_at, counts, writes_today: writesToday };
    }
    const generatedAt = Math.floor(nowMs / 1000);
    await env.EDGEREC.put(LIVE_KEY, JSON.stringify({ generated_at: generatedAt, lists: kept, counts }));
    await env.DB.prepare('UPDATE pop_state SET hash = ?, generated_at = ?, write_day = ?, writes = ?, rows_read = ?, summary = ? WHERE id = 1')
      .bind(hash, generatedAt, day, writesToday + 1, rows_read, summary).run();
    return { ...out, published: true, reason: 'changed', generated_at: generatedAt, counts, writes_today: writesToday + 1 };
  } catch (e) {
    console.error(`edgerec: live lists: ${e.stack || e}`);
    return { ...out, reason: 'error', error: e.message };
  }
}

/** GET /edge/admin/live-lists: the published document (null when none), its age, and the last
 * computation (when, sketch rows read, per-list counts, KV writes today). */
export async function liveListsStatus(env, nowMs = Date.now()) {
  await ensurePopularitySchema(env.DB);
  let doc = null, documentError = null;
  try { doc = env.EDGEREC ? await env.EDGEREC.get(LIVE_KEY, 'json') : null; } catch (e) { documentError = `${LIVE_KEY}: ${e.message}`; }
  const s = await readState(env.DB);
  const day = new Date(nowMs).toISOString().slice(0, 10);
  let cfg = null, configError = null;
  try { cfg = liveListsConfig(env); } catch (e) { configError = e.message; }
  return {
    ...(doc ?? { generated_at: null, lists: null, counts: null }),
    age_seconds: doc?.generated_at ? Math.max(0, Math.floor(nowMs / 1000) - doc.generated_at) : null,
    checked_at: s?.checked_at ? Math.floor(s.checked_at / 1000) : null,
    every_minutes: cfg?.minutes ?? null,
    min_items: cfg?.minItems ?? null,
    config_error: configError,
    document_error: documentError,
    last_run: s?.summary ? JSON.parse(s.summary) : null,
    kv_writes_today: s?.write_day === day ? s.writes : 0,
  };
}
