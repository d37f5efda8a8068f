// runtime.mjs — what one Lambda@Edge instance keeps between invocations: the secrets (from
// Parameter Store or Secrets Manager, read at cold start and re-read every secretsTtlSeconds),
// the rollout manifest and its bundles (from S3, read at cold start and refreshed every
// rollout.ttlSeconds), a fallback bundle shipped in the package, and the event sink.
//
// Every source is injected (tests pass fakes; main.mjs passes the AWS SDK v3 ones from aws.mjs):
//   secrets()                      → {idSecret, cookieKey, cookieKeyPrevious?} (the last: the key ring's
//                                    older keys, comma-separated, during a rotation)
//   fetchObject(key, {etag, signal}) → {status: 200, body: Uint8Array, etag} | {status: 304} | {status: 404}
//   sink(events[])                 → resolves when the events are handed over
//   ops(record)                    → operational records, one JSON object each, never events:
//                                    {erase: userHash, ts} (DELETE /edge/profile: the pipeline drops
//                                    the shopper's events) and {metric: 'error'|'bypass', arm, model, run, ts}
//                                    (engine failures on a model arm, for KPIs)
// Loading never throws: a failed read keeps the last good value (and is retried sooner), a
// bundle the engine refuses keeps the last good engine.  Lambda runs one invocation at a time
// per instance, so there is no locking beyond "one refresh in flight".
//
// The manifest (S3 <prefix>manifest.json) is the Worker's lifecycle manifest:
//   {"active": "v1", "canary": "v2", "percent": 10, "holdout": 5, "salt": "…", "run": "…"}
// bundles are <prefix>bundles/<version>.erb.  A version equal to the packaged bundle's own
// model_version needs no S3 object.  Without a manifest (no rollout configured, or none in S3)
// the packaged bundle serves everyone (no arms), as the Worker without a lifecycle.
// Recommendation units: <prefix>units.json is the Worker's KV mirror of the configured units
// ({units: [...]}, docs/units.md; absent → each page type's defaults), read with the manifest;
// the catalog view is read from S3 objects named as the Worker's KV keys, under the prefix
// (<prefix>catalog:<store>:<currency> and <prefix>catalog-shard:<sha256>, docs/catalog.md),
// through core/catalog.js's reader — a job (or `aws s3 sync` of an export) keeps them there.
// Live popularity lists: <prefix>live-lists.json is the Worker's KV `lists:live` document
// (docs/popularity.md), read with the manifest (a conditional read) and set on every engine handed
// out (core/live-lists.js); absent → the bundles' own lists.  A failed read keeps the lists in force.
import { Catalog } from '../core/catalog.js';
import { checkConfig } from '../core/identity.js';
import { Engine } from '../core/engine.js';
import { LiveLists } from '../core/live-lists.js';
import { parseSegment } from '../core/segments.js';

const RETRY_MS = 5_000; // after a failed read

export function normalizeConfig(c = {}) {
  const rollout = c.rollout ? { prefix: '', ttlSeconds: 60, ...c.rollout } : null;
  return {
    trigger: c.trigger === 'origin' ? 'origin' : 'viewer',
    origin: c.origin ?? null, // where listings are fetched: the cacheable behaviour's URL prefix
    internalPrefix: c.internalPrefix ?? null, // that behaviour's path prefix, removed before the origin
    forwardHeaders: (c.forwardHeaders ?? ['authorization', 'store', 'content-currency', 'x-magento-cache-id']).map((h) => h.toLowerCase()),
    consentCookie: c.consentCookie ?? null,
    secrets: c.secrets ?? null,
    secretsTtlSeconds: c.secretsTtlSeconds ?? 900,
    rollout,
    bundle: c.bundle ?? null,
    events: c.events ?? { sink: 'cloudwatch' },
    budgetMs: c.budgetMs ?? null, // the handler's own deadline; default: the trigger's timeout − 1 s
    initWaitMs: c.initWaitMs ?? 2500, // how long the init phase (main.mjs) waits for the secrets and S3 reads
    coldStartWaitMs: c.coldStartWaitMs ?? null, // how long a request waits for them after that; default: half its budget
    refreshWaitMs: c.refreshWaitMs ?? 250, // how long a request waits for a due refresh (it goes on in the background)
    maxResponseBytes: c.maxResponseBytes ?? 4 * 1024 * 1024, // the engine's ER_MAX_RESPONSE_BYTES
    catalogStores: c.catalogStores ?? [{ store: 'default', currency: 'USD' }], // the first is the default store view
  };
}

const within = (promise, ms) => new Promise((resolve) => {
  if (!(ms > 0)) { resolve(false); return; }
  const t = setTimeout(() => resolve(false), ms);
  promise.then(() => { clearTimeout(t); resolve(true); }, () => { clearTimeout(t); resolve(true); });
});

export class Runtime {
  /**
   * @param {{config: object, module: WebAssembly.Module, fallbackBundle?: Uint8Array|null,
   *          secrets?: () => Promise<{idSecret: string, cookieKey: string}>,
   *          fetchObject?: Function|null, sink?: (events: object[]) => Promise<void>|void,
   *          ops?: (record: object) => Promise<void>|void,
   *          now?: () => number, log?: {error: Function}}} o
   */
  constructor({ config, module, fallbackBundle = null, secrets = null, fetchObject = null, sink = null, ops = null, now = () => Date.now(), log = console }) {
    this.config = normalizeConfig(config);
    this.module = module;
    this.secretsSource = secrets;
    this.fetchObject = fetchObject;
    this.sinkFn = sink;
    this.opsFn = ops;
    this.now = now;
    this.log = log;
    const t0 = performance.now();
    this.timings = { fallbackMs: null, secretsMs: null, rolloutMs: null };

    this.env = null; // {EDGEREC_ID_SECRET, EDGEREC_COOKIE_KEY, CONSENT_COOKIE} once read
    this.secretsError = null;
    this.secretsDue = 0;

    this.manifest = null;
    this.manifestEtag = null;
    this.units = null; // the configured units (units.json), null: the defaults
    this.unitsEtag = null;
    this.lists = new LiveLists(); // the live popularity lists (live-lists.json) in force
    this.listsEtag = null;
    // the catalog view over S3 (read on demand, cached per instance with core/catalog.js's budget)
    this.catalog = this.config.rollout && this.fetchObject ? new Catalog({
      get: async (key) => {
        const r = await this.fetchObject(`${this.config.rollout.prefix}${key}`, {});
        if (r.status === 404) return null;
        if (r.status !== 200) throw new Error(`${key}: status ${r.status}`);
        return r.body;
      },
    }) : null;
    this.rolloutError = null;
    this.rolloutDue = 0;
    this.engines = new Map(); // version → Engine (only versions the manifest names, plus the fallback's)
    this.bundleErrors = new Map(); // version → message (the manifest names it but it did not load)

    this.fallback = null; // {version, engine}
    this.fallbackError = null;
    if (fallbackBundle) {
      try {
        const engine = new Engine(module, fallbackBundle);
        this.fallback = { version: engine.info().model_version, engine };
      } catch (e) {
        this.fallbackError = `${e.code ? `${e.code}: ` : ''}${e.message}`;
        this.log.error(`edgerec: the packaged bundle is unusable: ${this.fallbackError}`);
      }
    }
    this.timings.fallbackMs = performance.now() - t0;
    this.active = this.fallback; // {version, engine}: the last good active bundle

    this.inflight = null;
    this.isReady = false; // the cold start's reads are done (whatever their outcome)
    this.initial = this.refresh(true).then(() => { this.isReady = true; }); // both reads at once
  }

  // ---- the cold start and refreshes -------------------------------------------------------------

  /** Run the due reads (all of them when `force`); one refresh at a time. */
  refresh(force = false) {
    if (this.inflight) return this.inflight;
    const now = this.now();
    const jobs = [];
    if (force || now >= this.secretsDue) jobs.push(this.loadSecrets());
    if (force || now >= this.rolloutDue) jobs.push(this.loadRollout());
    if (!jobs.length) return Promise.resolve();
    this.inflight = Promise.allSettled(jobs).then(() => { this.inflight = null; });
    return this.inflight;
  }

  /** Wait (at most ms) for the cold start; true when it is done. */
  ready(ms) { return within(this.initial, ms); }

  /** Start the refreshes that are due and wait for them at most ms (they go on meanwhile). */
  async refreshIfDue(ms) {
    const now = this.now();
    if (!this.inflight && now < this.secretsDue && now < this.rolloutDue) return;
    await within(this.refresh(), ms);
  }

  async loadSecrets() {
    const t0 = performance.now();
    try {
      if (!this.secretsSource) throw new Error('no secrets source configured');
      const s = await this.secretsSource();
      if (!s || typeof s.idSecret !== 'string' || typeof s.cookieKey !== 'string') throw new Error('the secrets source gave no idSecret / cookieKey');
      const env = { EDGEREC_ID_SECRET: s.idSecret, EDGEREC_COOKIE_KEY: s.cookieKey, CONSENT_COOKIE: this.config.consentCookie ?? undefined,
        // older cookie keys still opened while a rotation is under way (core/identity.js's key ring)
        ...(typeof s.cookieKeyPrevious === 'string' ? { EDGEREC_COOKIE_KEY_PREVIOUS: s.cookieKeyPrevious } : {}) };
      const bad = checkConfig(env); // names the setting and the problem, never the value
      if (bad) throw new Error(`bad setting: ${bad.message}`);
      this.env = env;
      this.secretsError = null;
      this.secretsDue = this.now() + this.config.secretsTtlSeconds * 1000;
    } catch (e) {
      this.secretsError = e.message; // never the values
      this.secretsDue = this.now() + RETRY_MS; // the last good secrets stay
      this.log.error(`edgerec: reading the secrets failed: ${e.message}`);
    }
    if (this.timings.secretsMs === null) this.timings.secretsMs = performance.now() - t0;
  }

  async loadRollout() {
    const t0 = performance.now();
    const cfg = this.config.rollout;
    if (!cfg || !this.fetchObject) { this.rolloutDue = Infinity; this.timings.rolloutMs = 0; return; }
    try {
      const r = await this.fetchObject(`${cfg.prefix}manifest.json`, { etag: this.manifestEtag });
      if (r.status === 200) {
        const m = parseManifest(new TextDecoder().decode(r.body));
        this.manifest = m;
        this.manifestEtag = r.etag ?? null;
      } else if (r.status === 404) {
        this.manifest = null;
        this.manifestEtag = null;
      } else if (r.status !== 304) throw new Error(`manifest: status ${r.status}`);
      await this.loadBundles();
      await this.loadUnits();
      await this.loadLiveLists();
      this.rolloutError = null;
      this.rolloutDue = this.now() + cfg.ttlSeconds * 1000;
    } catch (e) {
      this.rolloutError = `${e.code ? `${e.code}: ` : ''}${e.message}`;
      this.rolloutDue = this.now() + Math.min(RETRY_MS, cfg.ttlSeconds * 1000);
      this.log.error(`edgerec: rollout refresh failed (keeping the last good manifest and bundles): ${this.rolloutError}`);
    }
    if (this.timings.rolloutMs === null) this.timings.rolloutMs = performance.now() - t0;
  }

  /** The configured units (<prefix>units.json, the Worker's mirror format); absent → defaults. */
  async loadUnits() {
    const r = await this.fetchObject(`${this.config.rollout.prefix}units.json`, { etag: this.unitsEtag });
    if (r.status === 200) {
      const u = JSON.parse(new TextDecoder().decode(r.body));
      if (!u || typeof u !== 'object' || !Array.isArray(u.units ?? u)) throw new Error('units.json: not {units: [...]}');
      this.units = u;
      this.unitsEtag = r.etag ?? null;
    } else if (r.status === 404) { this.units = null; this.unitsEtag = null; }
    else if (r.status !== 304) throw new Error(`units.json: status ${r.status}`);
  }

  /** The live popularity lists (<prefix>live-lists.json); never throws: a failed read or a bad
   * document keeps the lists in force and is shown in status(). */
  async loadLiveLists() {
    try {
      const r = await this.fetchObject(`${this.config.rollout.prefix}live-lists.json`, { etag: this.listsEtag });
      if (r.status === 200) {
        this.lists.update(new TextDecoder().decode(r.body));
        this.listsEtag = this.lists.error ? null : r.etag ?? null;
      } else if (r.status === 404) { this.lists.update(null); this.listsEtag = null; }
      else if (r.status !== 304) throw new Error(`status ${r.status}`);
    } catch (e) {
      this.lists.readError = `live-lists.json: ${e.message}`;
      this.log.error(`edgerec: live lists (keeping the lists in force): ${this.lists.readError}`);
    }
  }

  /** Catalog records of skus for a store view and currency (a failure is an empty answer: nothing
   * unknown is ever shown). */
  async catalogLookup(store, currency, skus) {
    if (!this.catalog) return new Map();
    try { return await this.catalog.lookup(store, currency, skus); } catch (e) {
      this.log.error(`edgerec: catalog: ${e.message}`);
      return new Map();
    }
  }

  /** Load the bundles the manifest names (active, canary) that are not loaded yet. */
  async loadBundles() {
    const m = this.manifest;
    const wanted = [m?.active, m?.canary].filter((v) => typeof v === 'string' && v);
    await Promise.all(wanted.map(async (v) => {
      if (this.engines.has(v)) return;
      if (this.fallback && this.fallback.version === v) { this.engines.set(v, this.fallback.engine); return; }
      try {
        const r = await this.fetchObject(`${this.config.rollout.prefix}bundles/${v}.erb`, {});
        if (r.status !== 200) throw new Error(`bundles/${v}.erb: ${r.status === 404 ? 'not in S3' : `status ${r.status}`}`);
        this.engines.set(v, new Engine(this.module, r.body)); // throws EngineError on a bad bundle
        this.bundleErrors.delete(v);
      } catch (e) {
        const msg = `${e.code ? `${e.code}: ` : ''}${e.message}`;
        this.bundleErrors.set(v, msg);
        this.log.error(`edgerec: bundle ${v}: ${msg}`);
      }
    }));
    if (m?.active && this.engines.has(m.active)) this.active = { version: m.active, engine: this.engines.get(m.active) };
    else if (!m) this.active = this.fallback ?? this.active;
    // keep only what can still be asked for: the live versions and the active one
    for (const v of [...this.engines.keys()]) if (v !== this.active?.version && !wanted.includes(v)) this.engines.delete(v);
  }

  // ---- what the handler reads ----------------------------------------------------------------

  /** The engine serving `version` (null: the active one), or null when it is not loaded. */
  engineFor(version) {
    const engine = !version || version === this.active?.version ? this.active?.engine : this.engines.get(version);
    return engine ? this.lists.apply(engine) : null; // with the live lists in force
  }

  get activeVersion() { return this.active?.version ?? null; }

  /** Hand events to the sink; never throws. */
  async sink(events) {
    if (!events.length || !this.sinkFn) return;
    try { await this.sinkFn(events); } catch (e) { this.log.error(`edgerec: event sink: ${e.message}`); }
  }

  /** Exercise what the first request needs (the engines' code paths, the WebCrypto keys, which
   * identity.js caches per secret) so that it is compiled and imported in the init phase; never throws. */
  async warm() {
    try {
      for (const e of new Set([this.active?.engine, ...this.engines.values()])) {
        if (!e) continue;
        e.recommend('{"k":4}');
        e.rerank('{"data":{"products":{"items":[{"sku":"a"},{"sku":"b"}]}}}', '{}');
        e.updateProfile(null, '{"type":"view","item":"a"}');
      }
      if (this.env) {
        const id = await import('../core/identity.js');
        const hash = await id.hmacId(this.env.EDGEREC_ID_SECRET, 'uid:warm');
        const sealed = await id.sealProfile(this.env, hash, new Uint8Array([1, 0, 0, 0]));
        if (sealed) await id.openProfile(this.env, hash, sealed);
      }
    } catch (e) { this.log.error(`edgerec: warm-up: ${e.message}`); }
  }

  /** Write an operational record (an erasure, a metric); never throws. */
  async ops(record) {
    try {
      if (this.opsFn) await this.opsFn({ ...record, ts: Math.floor(this.now() / 1000) });
      else this.log.error(`edgerec: no ops log configured: ${JSON.stringify(record)}`);
    } catch (e) { this.log.error(`edgerec: ops log: ${e.message}`); }
  }

  status() {
    return {
      bundle_version: this.activeVersion,
      packaged_bundle: this.fallback?.version ?? null,
      packaged_bundle_error: this.fallbackError,
      manifest: this.manifest ? { active: this.manifest.active, canary: this.manifest.canary, percent: this.manifest.percent, holdout: this.manifest.holdout, run: this.manifest.run } : null,
      rollout_error: this.rolloutError,
      bundle_errors: Object.fromEntries(this.bundleErrors),
      secrets: !!this.env,
      secrets_error: this.secretsError,
      live_lists: this.lists.status(this.now()),
      cold_start_ms: this.timings,
    };
  }
}

/** A segment field of the manifest (core/segments.js parseSegment), or throw naming it. */
function segmentField(v, f) {
  const r = parseSegment(v ?? null);
  if (r.error) throw new Error(`manifest: ${r.error.replace(/^segment/, f)}`);
  return r.segment;
}

/** The manifest JSON, checked: what placeShopper (core/segments.js) and assignArm read.  Optional:
 * `segment` (the canary's), `scope` (personalization's; `scope_id` defaults to a hash of it: the
 * key memberships are fixed under), `paused` (the kill switch). */
export function parseManifest(text) {
  const m = JSON.parse(text);
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error('manifest: not a JSON object');
  const str = (v, f) => { if (v !== undefined && v !== null && (typeof v !== 'string' || !v)) throw new Error(`manifest: ${f} must be a non-empty string`); return v ?? null; };
  const pct = (v, f, d) => { if (v === undefined || v === null) return d; if (typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new Error(`manifest: ${f} must be a number in 0..100`); return v; };
  const out = {
    active: str(m.active, 'active'), canary: str(m.canary, 'canary'),
    percent: pct(m.percent, 'percent', 0), holdout: pct(m.holdout, 'holdout', 5),
    salt: str(m.salt, 'salt'), run: str(m.run, 'run'),
    segment: segmentField(m.segment, 'segment'), scope: segmentField(m.scope, 'scope'),
  };
  if (m.paused !== undefined && typeof m.paused !== 'boolean') throw new Error('manifest: paused must be true or false');
  out.paused = m.paused === true;
  out.scope_id = out.scope ? str(m.scope_id, 'scope_id') ?? `scope#${fnv1a(JSON.stringify(out.scope))}` : null;
  if (!out.active) throw new Error('manifest: active is required');
  return out;
}

/** FNV-1a (32 bits) of a string, as 8 hex digits: a short, stable name for a scope. */
function fnv1a(text) {
  let h = 0x811c9dc5;
  for (const c of new TextEncoder().encode(text)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
