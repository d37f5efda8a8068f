// catalog-sync.js — keeps the catalog view (core/catalog.js) in KV in step with Magento, from the
// cron, and hands it to the Worker:
//
//   syncCatalog(env, nowMs, {engine})   one bounded run (the scheduled handler): → summary
//   catalogLookup(env, store, currency, skus)  → Map sku → record (the request path: KV only)
//   catalogHealth(env, nowMs)           what /edge/health shows: per store view, version, size,
//                                       last success, last error, lag
//
// What is synced: the active bundle's skus (engine.skus()), per store view and currency of
// [vars] CATALOG_STORES ("default:USD,de:EUR"), asked of Magento's own GraphQL —
// products(filter: {sku: {in: […]}}) in batches of 100 with the `Store` and `Content-Currency`
// headers, anonymously, so prices are the store's default (NOT LOGGED IN) customer group's.  A sku
// Magento does not return is disabled, invisible or gone: it is listed as unavailable and never shown.
//
// Full passes walk the bundle's skus shard by shard (the order core/catalog.js stores them in), a
// bounded number of batches per cron run (CATALOG_SYNC_BATCHES), the cursor kept in the sync state;
// each run writes only the shards whose bytes changed, then the manifest.  Without an integration
// token a pass starts every CATALOG_REFRESH_MINUTES; with MAGENTO_INTEGRATION_TOKEN (a secret),
// Magento's REST search for products updated since the last change seen picks up what changed
// every CATALOG_REFRESH_MINUTES, and a full pass (a reconcile: prices from rules, stock) runs once a day.
// Sync state, key `catalog-sync:state`: cursors, watermarks, the day's KV writes, last success and
// error; written when it changes (and at most hourly otherwise), so a quiet run writes nothing.
// docs/catalog.md has the figures.
import {
  Catalog, PRODUCTS_QUERY, SHARD_PREFIX, TARGET_SHARD_BYTES, changedProductsPath, chooseShardCount, compareSkus,
  readManifest, recordFromProduct, sha256Hex, shardOf, sortSkus, writeCatalog,
} from '../core/catalog.js';

export const STATE_KEY = 'catalog-sync:state';
const BATCH_SKUS = 100;             // skus per GraphQL request (and its pageSize)
const REST_PAGE_SIZE = 500;         // changed products per REST page
const REST_PAGES = 4;               // REST pages per store view and run
const RECONCILE_MS = 24 * 3_600_000; // with a token: a full pass at most once a day
const HEARTBEAT_MS = 3_600_000;     // an unchanged sync state is still rewritten this often (health's lag)
const RETIRE_AFTER_MS = 3_600_000;  // a shard no manifest names is deleted this long after it was replaced
const SHARD_CACHE_TTL_S = 3600;     // shards are immutable: KV may keep them at the edge this long
const MAX_SKU_LENGTH = 128;

const dec = new TextDecoder();

// ---- configuration -------------------------------------------------------------------------------

/** "default:USD, de:EUR" → [{store, currency}]. */
export function parseStores(s) {
  const out = [];
  for (const part of String(s).split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9_]{0,63}):([A-Z]{3})$/.exec(part);
    if (!m) throw new Error(`CATALOG_STORES: "${part}" is not <store view code>:<currency code> (e.g. default:USD)`);
    if (!out.some((p) => p.store === m[1] && p.currency === m[2])) out.push({ store: m[1], currency: m[2] });
  }
  if (!out.length) throw new Error('CATALOG_STORES names no store view');
  return out;
}

/** The sync's settings from env ([vars] and the secret). */
export function catalogConfig(env) {
  const int = (name, dflt, min, max) => {
    const v = env[name];
    if (v === undefined || v === null || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: "${v}" is not an integer in ${min}..${max}`);
    return n;
  };
  const graphqlUrl = env.CATALOG_GRAPHQL_URL || (env.ORIGIN_URL ? `${String(env.ORIGIN_URL).replace(/\/+$/, '')}/graphql` : null);
  return {
    stores: parseStores(env.CATALOG_STORES || 'default:USD'),
    graphqlUrl,
    restBase: graphqlUrl ? graphqlUrl.replace(/\/graphql\/?$/, '') : null,
    token: env.MAGENTO_INTEGRATION_TOKEN || null,
    batches: int('CATALOG_SYNC_BATCHES', 25, 1, 5000),
    refreshMs: int('CATALOG_REFRESH_MINUTES', 15, 1, 10080) * 60_000,
    maxWritesPerDay: int('CATALOG_MAX_WRITES_PER_DAY', 500, 1, 1e9),
  };
}

// ---- KV ---------------------------------------------------------------------------------------------

/** core/catalog.js's storage over a KV namespace; `counts` ({reads, writes, deletes}) counts operations. */
export function kvStorage(kv, counts = null) {
  return {
    async get(key) {
      if (counts) counts.reads++;
      if (key.startsWith(SHARD_PREFIX)) {
        const b = await kv.get(key, { type: 'arrayBuffer', cacheTtl: SHARD_CACHE_TTL_S });
        return b ? new Uint8Array(b) : null;
      }
      return kv.get(key);
    },
    async put(key, value) { if (counts) counts.writes++; await kv.put(key, value); },
    async delete(key) { if (counts) counts.deletes++; await kv.delete(key); },
  };
}

const views = new WeakMap(); // KV binding → Catalog (one per isolate)
/** The isolate's catalog view over env.EDGEREC. */
export function catalogView(env) {
  let v = views.get(env.EDGEREC);
  if (!v) { v = new Catalog(kvStorage(env.EDGEREC)); views.set(env.EDGEREC, v); }
  return v;
}

/** Records of the skus for a store view and currency (KV only; a failure is an empty answer). */
export async function catalogLookup(env, store, currency, skus) {
  if (!env.EDGEREC) return new Map();
  try {
    return await catalogView(env).lookup(store, currency, skus);
  } catch (e) {
    console.error(`edgerec: catalog lookup: ${e.message}`);
    return new Map();
  }
}

async function readState(storage) {
  try {
    const raw = await storage.get(STATE_KEY);
    const s = raw ? JSON.parse(typeof raw === 'string' ? raw : dec.decode(raw)) : null;
    if (s && s.format === 1 && s.pairs && typeof s.pairs === 'object') return s;
  } catch { /* unreadable: start over (a full pass) */ }
  return { format: 1, pairs: {}, writes: { day: null, count: 0 } };
}

/** What makes the state worth a KV write (timestamps of quiet runs are not). */
function significant(state) {
  const pairs = Object.entries(state.pairs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, p]) => [id, {
    bundle: p.bundle, passStartedAt: p.passStartedAt, pass: p.pass, watermark: p.watermark, retired: p.retired,
    failing: !!p.failing, error: p.lastError?.message ?? null,
  }]);
  return JSON.stringify(pairs);
}

const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);

// ---- the origin -------------------------------------------------------------------------------------

/** A JSON answer from the origin; `what` names it in errors (HTTP status, not JSON). */
async function fetchJson(run, what, url, init) {
  const res = await run.fetch(url, init);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status}${what === 'GraphQL' ? '' : ` ${body.slice(0, 160)}`}`);
  try { return JSON.parse(body); } catch { throw new Error(`${what}: the answer is not JSON`); }
}

async function graphqlBatch(run, pair, skus) {
  run.summary.requests.graphql++;
  const doc = await fetchJson(run, 'GraphQL', run.cfg.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', store: pair.store, 'content-currency': pair.currency },
    body: JSON.stringify({ query: PRODUCTS_QUERY, operationName: 'EdgerecCatalog', variables: { skus, pageSize: skus.length } }),
  });
  if (Array.isArray(doc?.errors) && doc.errors.length) throw new Error(`GraphQL: ${String(doc.errors[0]?.message ?? 'error').slice(0, 200)}`);
  const items = doc?.data?.products?.items;
  if (!Array.isArray(items)) throw new Error('GraphQL: no data.products.items in the answer');
  const exact = new Set(skus);
  const folded = new Map();
  for (const s of skus) if (!folded.has(s.toLowerCase())) folded.set(s.toLowerCase(), s);
  const found = new Map();
  for (const p of items) {
    if (typeof p?.sku !== 'string') continue;
    const sku = exact.has(p.sku) ? p.sku : folded.get(p.sku.toLowerCase()); // Magento matches skus case-insensitively
    if (!sku || found.has(sku)) continue;
    const rec = recordFromProduct(p, sku);
    const cur = rec.type === 'complex' ? rec.priceRange.currency : rec.price.currency;
    if (cur && cur !== pair.currency) throw new Error(`GraphQL: prices in ${cur}, not ${pair.currency} (is ${pair.currency} allowed for store view ${pair.store}?)`);
    found.set(sku, rec);
  }
  return { found, missing: skus.filter((s) => !found.has(s)) };
}

async function restSearch(run, store, opts) {
  run.summary.requests.rest++;
  const doc = await fetchJson(run, 'REST /V1/products', run.cfg.restBase + changedProductsPath(store, opts), {
    headers: { authorization: `Bearer ${run.cfg.token}`, accept: 'application/json' },
  });
  if (!Array.isArray(doc?.items) || typeof doc.total_count !== 'number') throw new Error('REST /V1/products: no items / total_count');
  return doc;
}

/** Changed skus since the watermark, bounded: {skus, watermark (how far they cover), complete}. */
async function changedSince(run, store, watermark, cap) {
  const items = [];
  let total = 0;
  for (let page = 1; page <= REST_PAGES; page++) {
    const doc = await restSearch(run, store, { since: watermark, page, pageSize: REST_PAGE_SIZE });
    total = doc.total_count;
    for (const it of doc.items) if (typeof it?.sku === 'string' && typeof it.updated_at === 'string') items.push(it);
    if (page * REST_PAGE_SIZE >= total) break;
  }
  const skus = new Set();
  let cut = items.length; // items[0..cut) are covered
  for (let i = 0; i < items.length; i++) {
    const sku = items[i].sku;
    if (!run.bundle.has(sku) || skus.has(sku)) continue;
    if (skus.size >= cap) { cut = i; break; }
    skus.add(sku);
  }
  const all = cut === items.length && items.length >= total;
  let mark = watermark;
  if (all) { if (items.length) mark = items[items.length - 1].updated_at; }
  else {
    // stop below the first uncovered updated_at (ties at a page boundary come back next time)
    const limit = items[Math.min(cut, items.length - 1)]?.updated_at;
    for (let i = Math.min(cut, items.length) - 1; i >= 0; i--) if (items[i].updated_at < limit) { mark = items[i].updated_at; break; }
    // one second with more changes than a run takes: move past it (the daily reconcile has the rest)
    if (mark === watermark && limit !== undefined) mark = limit;
  }
  return { skus: [...skus], watermark: mark, complete: all, seen: items.length, total };
}

// ---- one store view ------------------------------------------------------------------------------------

/** The bundle's skus of each shard, in shard order (computed once per run and count). */
function shardGroups(run, count) {
  if (run.groups.has(count)) return run.groups.get(count);
  const groups = Array.from({ length: count }, () => []);
  for (const sku of run.skus) groups[shardOf(sku, count)].push(sku);
  const out = groups.map(sortSkus);
  run.groups.set(count, out);
  return out;
}

/** The index of the first sku of a group after `after` (binary search in shard order). */
function firstAfter(group, after) {
  if (after === null || after === undefined) return 0;
  let lo = 0, hi = group.length;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (compareSkus(group[mid], after) <= 0) lo = mid + 1; else hi = mid; }
  return lo;
}

async function syncPair(run, pair, share) {
  const { cfg, now, storage, state } = run;
  const id = `${pair.store}:${pair.currency}`;
  const ps = (state.pairs[id] ??= {});
  const out = { store: pair.store, currency: pair.currency, batches: 0, fetched: 0, missing: 0, changed: false, writes: 0, version: null, records: 0, shards: 0, pass: null, incremental: null, error: null };
  const manifest = await readManifest(storage, pair.store, pair.currency);
  out.version = manifest?.version ?? null;
  const count = chooseShardCount(manifest, run.skus.length, run.targetShardBytes, { shrink: !ps.pass });

  // what to ask: changed products first (with a token), then the next stretch of a full pass
  const errors = [];
  let inc = null;
  if (cfg.token && !(now - (ps.checkedAt ?? -Infinity) < cfg.refreshMs)) {
    try {
      if (ps.watermark === undefined || ps.watermark === null) {
        // the first look: start from the newest change Magento has (the full pass covers what is older)
        const doc = await restSearch(run, pair.store, { latest: true });
        inc = { skus: [], watermark: doc.items[0]?.updated_at ?? '1970-01-01 00:00:00', complete: true, seen: 0, total: 0 };
      } else {
        inc = await changedSince(run, pair.store, ps.watermark, share * BATCH_SKUS);
      }
      out.incremental = { changed: inc.skus.length, seen: inc.seen, watermark: inc.watermark, complete: inc.complete };
    } catch (e) {
      errors.push(e.message); // the full pass still runs
    }
  }
  if (ps.pass && (ps.pass.count !== count || ps.pass.bundle !== run.fingerprint)) ps.pass = null; // re-sharded or a new bundle: start over
  const passDue = ps.bundle !== run.fingerprint || ps.passStartedAt === undefined
    || now - ps.passStartedAt >= (cfg.token ? RECONCILE_MS : cfg.refreshMs);
  if (!ps.pass && passDue) ps.pass = { startedAt: now, count, bundle: run.fingerprint, shard: 0, after: null };

  const incBatches = inc ? Math.ceil(inc.skus.length / BATCH_SKUS) : 0;
  let room = Math.max(0, share - incBatches) * BATCH_SKUS;
  const segments = [];
  if (ps.pass) {
    const groups = shardGroups(run, count);
    for (let s = ps.pass.shard; s < count && room > 0; s++) {
      const g = groups[s];
      const from = s === ps.pass.shard ? firstAfter(g, ps.pass.after) : 0;
      const take = g.slice(from, from + room);
      const complete = from + take.length >= g.length;
      segments.push({ shard: s, after: s === ps.pass.shard ? ps.pass.after : null, skus: take, complete });
      room -= take.length;
      if (!complete) break;
    }
  }

  // ask, batch by batch; the first failure stops the run for this store view (what came is kept)
  const upserts = new Map(), missing = new Set();
  const batches = [];
  for (let i = 0; i < (inc?.skus.length ?? 0); i += BATCH_SKUS) batches.push({ inc: true, skus: inc.skus.slice(i, i + BATCH_SKUS) });
  const passSkus = segments.flatMap((s) => s.skus);
  for (let i = 0; i < passSkus.length; i += BATCH_SKUS) batches.push({ inc: false, skus: passSkus.slice(i, i + BATCH_SKUS) });
  let incDone = true, passDone = 0;
  for (const b of batches) {
    try {
      const r = await graphqlBatch(run, pair, b.skus);
      for (const [sku, rec] of r.found) { upserts.set(sku, rec); missing.delete(sku); }
      for (const sku of r.missing) if (!upserts.has(sku)) missing.add(sku);
      out.batches++;
      out.fetched += r.found.size;
      if (!b.inc) passDone += b.skus.length;
    } catch (e) {
      errors.push(e.message);
      if (b.inc) incDone = false;
      break;
    }
  }
  out.error = errors.join('; ') || null;
  out.missing = missing.size;

  // the stretch of the pass that was fully asked: its skus not in the bundle leave the catalog
  const ranges = new Map();
  let cursor = ps.pass ? { shard: ps.pass.shard, after: ps.pass.after } : null;
  let left = passDone;
  for (const seg of segments) {
    if (left >= seg.skus.length) {
      left -= seg.skus.length;
      ranges.set(seg.shard, { after: seg.after, upto: seg.complete ? null : seg.skus.at(-1) });
      cursor = seg.complete ? { shard: seg.shard + 1, after: null } : { shard: seg.shard, after: seg.skus.at(-1) };
    } else {
      if (left > 0) {
        ranges.set(seg.shard, { after: seg.after, upto: seg.skus[left - 1] });
        cursor = { shard: seg.shard, after: seg.skus[left - 1] };
      }
      break;
    }
  }
  const drop = (sku, shard) => {
    const r = ranges.get(shard);
    if (!r || run.bundle.has(sku)) return false;
    return (r.after === null || compareSkus(sku, r.after) > 0) && (r.upto === null || compareSkus(sku, r.upto) <= 0);
  };

  // write what changed
  const reshard = !!manifest && manifest.shardCount !== count;
  let result = null;
  if (upserts.size || missing.size || ranges.size || reshard) {
    if (run.writesToday + run.counts.writes >= cfg.maxWritesPerDay) {
      out.error = `deferred: ${cfg.maxWritesPerDay} catalog writes today (CATALOG_MAX_WRITES_PER_DAY)`;
      run.deferred = true;
      return finish(run, ps, out, manifest);
    }
    const stored = new Set((ps.retired ?? []).map((r) => r.key)); // replaced but not yet deleted
    const before = run.counts.writes;
    result = await writeCatalog(storage, {
      store: pair.store, currency: pair.currency, manifest, shardCount: count, upserts, missing: [...missing], drop,
      touch: [...ranges.keys()], existing: stored, now,
    });
    out.writes = run.counts.writes - before;
    out.changed = result.changed;
    if (result.changed) {
      const keys = new Set(result.manifest.shards.map((s) => s.key));
      ps.retired = [...(ps.retired ?? []).filter((r) => !keys.has(r.key)), ...result.retired.map((key) => ({ key, at: now }))];
      if (!ps.retired.length) delete ps.retired;
    }
  }
  const m = result?.manifest ?? manifest;

  // move on: the watermark when every changed product came; the pass's cursor by what was asked
  if (inc && incDone) { ps.watermark = inc.watermark; ps.checkedAt = now; }
  if (ps.pass) {
    if (result && result.shardCount !== count) ps.pass = null; // the writer had to re-shard: the next run starts over
    else if (cursor.shard >= count) { ps.passStartedAt = ps.pass.startedAt; ps.bundle = ps.pass.bundle; ps.pass = null; out.pass = { done: true }; }
    else ps.pass = { ...ps.pass, ...cursor };
  }
  if (ps.pass) out.pass = { done: false, shard: ps.pass.shard, of: ps.pass.count };
  return finish(run, ps, out, m);
}

function finish(run, ps, out, m) {
  out.version = m?.version ?? null;
  out.records = m?.records ?? 0;
  out.shards = m?.shardCount ?? 0;
  out.unavailable = m?.unavailableCount ?? 0;
  if (out.error) {
    if (ps.lastError?.message !== out.error) ps.lastError = { at: run.now, message: out.error };
    ps.failing = true;
  } else {
    ps.lastSuccess = run.now;
    ps.failing = false;
  }
  return out;
}

async function collectRetired(run) {
  for (const ps of Object.values(run.state.pairs)) {
    if (!ps.retired?.length) continue;
    const keep = [];
    for (const r of ps.retired) {
      if (run.now - r.at < RETIRE_AFTER_MS) { keep.push(r); continue; }
      try { await run.storage.delete(r.key); } catch { keep.push(r); }
    }
    if (keep.length) ps.retired = keep; else delete ps.retired;
  }
}

// ---- the run -------------------------------------------------------------------------------------------

/**
 * One bounded sync run (the cron's): at most CATALOG_SYNC_BATCHES GraphQL requests (shared by the
 * store views) and 4 REST pages per store view; never throws.
 * @param {object} env          the Worker's env (EDGEREC, ORIGIN_URL / CATALOG_GRAPHQL_URL, CATALOG_*, the token)
 * @param {number} nowMs        the run's time (controller.scheduledTime)
 * @param {{engine, fetch?, targetShardBytes?}} o  engine: the active bundle's Engine (its skus());
 *        fetch and targetShardBytes: for tests
 * @returns {{ok, at, skus, writes, deletes, reads, requests: {graphql, rest}, stores: [...], errors: [...], deferred?, skipped?}}
 */
export async function syncCatalog(env, nowMs = Date.now(), { engine = null, fetch: fetcher = (...a) => globalThis.fetch(...a), targetShardBytes = TARGET_SHARD_BYTES } = {}) {
  const summary = { ok: false, at: iso(nowMs), skus: 0, writes: 0, deletes: 0, reads: 0, requests: { graphql: 0, rest: 0 }, stores: [], errors: [] };
  if (!env.EDGEREC) { summary.errors.push('KV binding EDGEREC is missing'); return summary; }
  let cfg;
  try { cfg = catalogConfig(env); } catch (e) { summary.errors.push(e.message); return summary; }
  if (!cfg.graphqlUrl) { summary.errors.push('no Magento URL: set CATALOG_GRAPHQL_URL (or ORIGIN_URL)'); return summary; }
  if (!engine || typeof engine.skus !== 'function') { summary.skipped = 'no bundle'; return summary; }
  let skus;
  try {
    skus = [...new Set(engine.skus())].filter((s) => typeof s === 'string' && s.length > 0 && s.length <= MAX_SKU_LENGTH);
  } catch (e) { summary.errors.push(`engine.skus(): ${e.message}`); return summary; }
  summary.skus = skus.length;

  const counts = { reads: 0, writes: 0, deletes: 0 };
  const storage = kvStorage(env.EDGEREC, counts);
  const state = await readState(storage);
  const before = significant(state);
  const day = utcDay(nowMs);
  const run = {
    cfg, now: nowMs, storage, state, counts, fetch: fetcher, summary, targetShardBytes, skus, bundle: new Set(skus), groups: new Map(),
    fingerprint: (await sha256Hex(new TextEncoder().encode(skus.join('\n')))).slice(0, 32), // the bundle's skus, in its order
    writesToday: state.writes?.day === day ? state.writes.count : 0, deferred: false,
  };
  if (run.writesToday >= cfg.maxWritesPerDay) {
    summary.deferred = 'write-budget';
    summary.errors.push(`${run.writesToday} catalog writes today: at CATALOG_MAX_WRITES_PER_DAY (${cfg.maxWritesPerDay}), nothing done until tomorrow (UTC)`);
    summary.reads = counts.reads;
    return summary;
  }

  let budget = cfg.batches;
  for (const [k, pair] of cfg.stores.entries()) {
    const share = Math.ceil(budget / (cfg.stores.length - k));
    let r;
    try {
      r = await syncPair(run, pair, share);
    } catch (e) { // a KV or REST failure before anything was asked: nothing written for this store view
      const ps = (state.pairs[`${pair.store}:${pair.currency}`] ??= {});
      r = finish(run, ps, { store: pair.store, currency: pair.currency, batches: 0, fetched: 0, missing: 0, changed: false, writes: 0, error: e.message }, null);
    }
    budget -= r.batches;
    summary.stores.push(r);
    if (r.error) summary.errors.push(`${pair.store}:${pair.currency}: ${r.error}`);
  }
  await collectRetired(run);
  if (run.deferred) summary.deferred = 'write-budget';

  state.lastRun = nowMs;
  if (!summary.errors.length) state.lastSuccess = nowMs;
  if (significant(state) !== before || counts.writes || counts.deletes || !(nowMs - (state.savedAt ?? -Infinity) < HEARTBEAT_MS)) {
    state.savedAt = nowMs;
    state.writes = { day, count: run.writesToday + counts.writes + 1 };
    try { await storage.put(STATE_KEY, JSON.stringify(state)); } catch (e) { summary.errors.push(`sync state: ${e.message}`); }
  }
  summary.ok = !summary.errors.length;
  summary.writes = counts.writes;
  summary.deletes = counts.deletes;
  summary.reads = counts.reads;
  return summary;
}

// ---- health ------------------------------------------------------------------------------------------

/** The catalog's part of /edge/health: {ok, mode, stores: [{store, currency, version, updated, records,
 * shards, bytes, unavailable, lastSuccess, lastError, failing, lagSeconds, pass, watermark, synced}], lastRun,
 * writesToday}.  ok: every configured store view has a catalog, has finished its first full pass (a run
 * asks for at most CATALOG_SYNC_BATCHES × 100 skus, so a big bundle's first pass takes many runs) and
 * its last run did not fail. */
export async function catalogHealth(env, nowMs = Date.now()) {
  try {
    if (!env.EDGEREC) return { ok: false, error: 'KV binding EDGEREC is missing' };
    const cfg = catalogConfig(env);
    const storage = kvStorage(env.EDGEREC);
    const state = await readState(storage);
    const stores = [];
    for (const { store, currency } of cfg.stores) {
      const m = await readManifest(storage, store, currency).catch(() => null);
      const ps = state.pairs[`${store}:${currency}`] ?? {};
      const fresh = Math.max(ps.passStartedAt ?? -Infinity, cfg.token ? ps.checkedAt ?? -Infinity : -Infinity);
      stores.push({
        store, currency, version: m?.version ?? null, updated: m?.updated ?? null, records: m?.records ?? 0,
        shards: m?.shardCount ?? 0, bytes: m?.bytes ?? 0, unavailable: m?.unavailableCount ?? 0,
        lastSuccess: iso(ps.lastSuccess), lastError: ps.lastError ? { at: iso(ps.lastError.at), message: ps.lastError.message } : null,
        failing: !!ps.failing, lagSeconds: Number.isFinite(fresh) ? Math.max(0, Math.round((nowMs - fresh) / 1000)) : null,
        pass: ps.pass ? { startedAt: iso(ps.pass.startedAt), shard: ps.pass.shard, of: ps.pass.count } : null,
        watermark: ps.watermark ?? null,
        synced: ps.passStartedAt !== undefined, // a full pass has finished: until then units lack the skus not reached yet
      });
    }
    return {
      ok: stores.every((s) => s.version !== null && s.synced && !s.failing), mode: cfg.token ? 'incremental' : 'full',
      stores, lastRun: iso(state.lastRun), writesToday: state.writes?.day === utcDay(nowMs) ? state.writes.count : 0,
    };
  } catch (e) {
    return { ok: false, error: e.message };
  }
}
