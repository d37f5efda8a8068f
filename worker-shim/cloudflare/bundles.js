// bundles.js — the active model bundle, per isolate.
//
// KV `bundle:active` holds the version, `bundle:<version>` the .erb bytes.  The
// bundle is loaded once per isolate and refreshed at most every REFRESH_MS; a
// KV error or a bundle the engine refuses keeps the last good engine (and the
// reason is remembered for /edge/health); with none, requests pass through
// (`x-edgerec: bypass; reason=no-bundle`).  Loading never throws.
import { Engine } from '../core/engine.js';

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
    }
  }
}
