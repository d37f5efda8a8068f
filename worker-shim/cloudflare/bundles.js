// bundles.js — the active model bundle, per isolate.
//
// KV `bundle:active` holds the version, `bundle:<version>` the .erb bytes or, for a bundle larger
// than one KV shard, a manifest of content-addressed shards (bundle-shards.js).  The
// bundle is loaded once per isolate and refreshed at most every REFRESH_MS; a
// KV error, a missing or corrupt shard or a bundle the engine refuses keeps the last good engine (and the
// reason is remembered for /edge/health); with none, requests pass through
// (`x-edgerec: bypass; reason=no-bundle`).  Loading never throws.
//
// The first load in a fresh isolate (a 20 MB bundle: KV reads, then the engine's checks) is started
// by prefetch() as a request arrives and kept alive with that request's waitUntil; a request waits
// for it at most BUNDLE_WAIT_MS (default 200) and otherwise passes through, so no request waits on
// a bundle past its fail-open deadline.  The cron waits for it (get(env, now, {waitMs: Infinity})).
//
// The live popularity lists (KV `lists:live`, written by the cron: popularity.js) are read on the
// same schedule and set on the active engine and on every canary engine handed out through
// withLists() (core/live-lists.js): a new document reaches an isolate within REFRESH_MS.
import { Engine } from '../core/engine.js';
import { LiveLists } from '../core/live-lists.js';
import { LIVE_KEY } from './popularity.js';
import { readBundle } from './bundle-shards.js';

export const REFRESH_MS = 60_000;
export const DEFAULT_BUNDLE_WAIT_MS = 200;

/** BUNDLE_WAIT_MS: how long a request waits for a first bundle load under way (0..EDGE budget). */
export function bundleWaitMs(env) {
  const v = env?.BUNDLE_WAIT_MS;
  if (v === undefined || v === null || v === '') return DEFAULT_BUNDLE_WAIT_MS;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_BUNDLE_WAIT_MS;
}

/** p, or undefined once ms have passed (p keeps running). */
function within(p, ms) {
  if (ms === Infinity) return p;
  let timer;
  return Promise.race([p, new Promise((resolve) => { timer = setTimeout(resolve, ms); })]).finally(() => clearTimeout(timer));
}

export class BundleStore {
  /** @param {WebAssembly.Module} module the compiled reactor */
  constructor(module) {
    this.module = module;
    this.engine = null;      // Engine over the last good bundle
    this.version = null;     // its version (KV's name for it)
    this.checkedAt = -Infinity;
    this.lastError = null;   // the last refresh problem, for /edge/health
    this.loading = null;     // one refresh at a time per isolate
    this.shards = 0;         // KV shards the engine's bundle came in (0: one value)
    this.claim = null;       // a refresh prefetch() started, not yet waited for by a get()
    this.lists = new LiveLists(); // the live lists in force (KV lists:live)
  }

  /** A (canary) engine with the live lists in force set on it; never throws. */
  withLists(engine) {
    return this.lists.apply(engine);
  }

  /** Start a refresh when due, without waiting; ctx.waitUntil keeps it running past this request. */
  prefetch(env, ctx, now = Date.now()) {
    if (now - this.checkedAt < REFRESH_MS || this.loading) return;
    this.loading = this.refresh(env, now).finally(() => { this.loading = null; });
    this.claim = this.loading; // the next get() waits for it as if it had started it
    ctx?.waitUntil?.(this.loading);
  }

  /** The current engine (or null), refreshing from KV when due.  With no engine yet, a load under
   * way is waited for at most waitMs (BUNDLE_WAIT_MS): then null, and the request passes through. */
  async get(env, now = Date.now(), { waitMs = bundleWaitMs(env) } = {}) {
    const due = now - this.checkedAt >= REFRESH_MS;
    if (due) this.loading ??= this.refresh(env, now).finally(() => { this.loading = null; });
    if (!this.loading) return this.engine;
    const mine = due || this.claim === this.loading; // this request started the refresh (or its prefetch did)
    if (mine) this.claim = null;
    if (!this.engine) await within(this.loading, waitMs); // the first load: bounded, then fall open
    else if (mine) await this.loading; // a refresh (bundle:active, one KV read; other requests use the engine in force)
    return this.engine;
  }

  async refresh(env, now) {
    this.checkedAt = now;
    try {
      if (!env.EDGEREC) throw new Error('KV binding EDGEREC is missing');
      const version = await env.EDGEREC.get('bundle:active');
      if (!version) { this.lastError = 'no bundle:active in KV'; return; }
      if (version === this.version && this.engine) { this.lastError = null; return; }
      const got = await readBundle(env.EDGEREC, version); // shards assembled; throws naming a missing or bad one
      if (!got) throw new Error(`bundle:${version} is missing in KV`);
      const engine = new Engine(this.module, got.bytes); // header, checksum, sections: throws EngineError on a bad bundle
      this.engine = engine;
      this.version = version;
      this.shards = got.shards;
      this.lastError = null;
    } catch (e) {
      this.lastError = `${e.code ? e.code + ': ' : ''}${e.message}`; // keep the last good engine
    } finally {
      await this.refreshLists(env);
    }
  }

  /** Read `lists:live` and set it on the active engine; a failed read keeps the lists in force. */
  async refreshLists(env) {
    try {
      if (env.EDGEREC) this.lists.update(await env.EDGEREC.get(LIVE_KEY));
    } catch (e) {
      this.lists.readError = `reading ${LIVE_KEY}: ${e.message}`;
    }
    this.lists.apply(this.engine);
  }
}
