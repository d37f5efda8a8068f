// bundles.js — the active model bundle, per isolate.
//
// KV `bundle:active` holds the version, `bundle:<version>` the .erb bytes.  The
// bundle is loaded once per isolate and refreshed at most every REFRESH_MS; a
// KV error or a bundle the engine refuses keeps the last good engine (and the
// reason is remembered for /edge/health); with none, requests pass through
// (`x-edgerec: bypass; reason=no-bundle`).  Loading never throws.
//
// The live popularity lists (KV `lists:live`, written by the cron: popularity.js) are read on the
// same schedule and set on the active engine and on every canary engine handed out through
// withLists() (core/live-lists.js): a new document reaches an isolate within REFRESH_MS.
import { Engine } from '../core/engine.js';
import { LiveLists } from '../core/live-lists.js';
import { LIVE_KEY } from './popularity.js';

export const REFRESH_MS = 60_000;

export class BundleStore {
  /** @param {WebAssembly.Module} module the compiled reactor */
  constructor(module) {
    this.module = module;
    this.engine = null;      // Engine over the last good bundle
    this.version = null;     // its version (KV's name for it)
    this.checkedAt = -Infinity;
    this.lastError = null;   // the last refresh problem, for /edge/health
    this.loading = null;     // one refresh at a time per isolate
    this.lists = new LiveLists(); // the live lists in force (KV lists:live)
  }

  /** A (canary) engine with the live lists in force set on it; never throws. */
  withLists(engine) {
    return this.lists.apply(engine);
  }

  /** The current engine (or null), refreshing from KV when due. */
  async get(env, now = Date.now()) {
    if (now - this.checkedAt >= REFRESH_MS) {
      this.loading ??= this.refresh(env, now).finally(() => { this.loading = null; });
      await this.loading;
    } else if (this.loading && !this.engine) {
      await this.loading; // the first load is under way: wait for it rather than pass through
    }
    return this.engine;
  }

  async refresh(env, now) {
    this.checkedAt = now;
    try {
      if (!env.EDGEREC) throw new Error('KV binding EDGEREC is missing');
      const version = await env.EDGEREC.get('bundle:active');
      if (!version) { this.lastError = 'no bundle:active in KV'; return; }
      if (version === this.version && this.engine) { this.lastError = null; return; }
      const bytes = await env.EDGEREC.get(`bundle:${version}`, 'arrayBuffer');
      if (!bytes) throw new Error(`bundle:${version} is missing in KV`);
      const engine = new Engine(this.module, new Uint8Array(bytes)); // throws EngineError on a bad bundle
      this.engine = engine;
      this.version = version;
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
