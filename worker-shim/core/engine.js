// engine.js — the one JS wrapper around the edgerec WebAssembly engine.
//
// Shared by the Worker, the Lambda@Edge handler, the tests and the benchmark.
// It only moves bytes: every decision is made in C (wasm/README.md is the ABI).
//
//   const engine = new Engine(module /* WebAssembly.Module */, bundleBytes /* Uint8Array */);
//   engine.recommend('{"k":4}')                     → '{"unit":…,"items":[…]}'
//   engine.rerank(responseText, ctxJson)            → {ok:true, body} | {ok:false, reason, message}
//   engine.updateProfile(null, '{"type":"view","item":"X"}') → Uint8Array
//   engine.skus()                                   → ['ER-BAG-01', …] (every catalog sku)
//   engine.setLists('{"most-viewed":[["MH01",42]]}') → {'most-viewed': 1} (live lists; null clears)
//
// Rules this file keeps:
// * Synchronous only.  Nothing awaits between writing linear memory and the
//   call that reads it, so many concurrent requests can share one instance.
// * Errors are EngineError {code, status, offset, message}; message is the
//   engine's own (er_error_ptr).
// * A trap (WebAssembly.RuntimeError, a RangeError from memory, or a WASI
//   proc_exit) leaves the instance in an unknown state: it is dropped, a new
//   one is made from the same Module, the bundle is reloaded, and the call
//   throws EngineError code 'trap' so the caller can fall open.  The next call
//   works as if nothing happened.
// * The instance comes from an "instantiator" (module → {exports, memory}), so
//   the clang reactor (wasm/edgerec.wasm, the default below) and the
//   Emscripten build (engine-emscripten.js) share all marshalling code.

// Status names, indexed by er_status (src/engine/er_base.h).  Stable: part of the ABI.
export const STATUS_NAMES = [
  'ok', 'usage', 'json', 'type', 'range', 'limit', 'nomem',
  'bundle_magic', 'bundle_version', 'bundle_checksum', 'bundle_truncated', 'bundle_schema', 'bundle_corrupt',
  'shape', 'budget', 'profile', 'io',
];
const NO_OFFSET = 0xffffffff;

export class EngineError extends Error {
  /** @param {string} code status name ('json', 'trap', …) @param {number} status er_status (-1 for trap) */
  constructor(code, status, message, offset = null) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.status = status;
    this.offset = offset; // byte offset in the input the error concerns, or null
  }
}

// Thrown by the WASI proc_exit stub; treated like a trap.
class WasiExit extends Error {
  constructor(code) { super(`wasm called proc_exit(${code})`); this.name = 'WasiExit'; }
}

// ---- minimal WASI preview1 --------------------------------------------------
// The reactor needs no I/O and today imports nothing (its error formatter
// avoids libc stdio); should a build link WASI functions again, these stubs serve.  Each stub is
// safe: nothing is read or written outside the arguments' buffers, and I/O
// answers EBADF.  Only the functions the module actually imports are passed;
// an import not listed here is a build change the wrapper must learn about.
const ERRNO_BADF = 8, ERRNO_NOSYS = 52;
export function wasiImports(getMemory) {
  const dv = () => new DataView(getMemory().buffer);
  const zero2 = (a, b) => { const d = dv(); d.setUint32(a, 0, true); d.setUint32(b, 0, true); return 0; };
  return {
    fd_write: () => ERRNO_BADF,
    fd_read: () => ERRNO_BADF,
    fd_close: () => ERRNO_BADF,
    fd_seek: () => ERRNO_BADF,
    fd_fdstat_get: () => ERRNO_BADF,
    fd_prestat_get: () => ERRNO_BADF,
    fd_prestat_dir_name: () => ERRNO_BADF,
    environ_sizes_get: zero2,
    args_sizes_get: zero2,
    environ_get: () => 0,
    args_get: () => 0,
    clock_time_get: () => ERRNO_NOSYS,
    random_get: () => ERRNO_NOSYS,
    sched_yield: () => 0,
    proc_exit: (code) => { throw new WasiExit(code); },
  };
}

/** The import object for the reactor: exactly the functions it imports.
 * getMemory() returns the instance's memory once it exists. */
export function reactorImports(module, getMemory) {
  const stubs = wasiImports(getMemory);
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const fn = imp.module === 'wasi_snapshot_preview1' && imp.kind === 'function' ? stubs[imp.name] : undefined;
    if (!fn) throw new Error(`edgerec: unexpected wasm import ${imp.module}.${imp.name} (${imp.kind})`);
    (imports[imp.module] ??= {})[imp.name] = fn;
  }
  return imports;
}

/** The default instantiator: the clang reactor wasm/edgerec.wasm. */
export function reactorInstantiator(module) {
  let memory = null;
  const instance = new WebAssembly.Instance(module, reactorImports(module, () => memory));
  memory = instance.exports.memory;
  instance.exports._initialize?.(); // reactor: run C constructors once per instance
  return { exports: instance.exports, memory };
}

const isTrap = (e) => e instanceof WebAssembly.RuntimeError || e instanceof RangeError || e instanceof WasiExit;

// One grow-only scratch buffer in linear memory per input slot.
const SLOT_CTX = 0, SLOT_PROFILE = 1, SLOT_DOC = 2;

/** The engine's input limits in bytes (src/engine/er_base.h, er_profile.h, er_lists.h; a test keeps them equal).
 * An input over its limit is refused before it is copied into linear memory, so the instance's
 * memory never grows with what a caller hands it. */
export const LIMITS = Object.freeze({
  context: 64 * 1024, // ER_MAX_CONTEXT_BYTES
  response: 4 * 1024 * 1024, // ER_MAX_RESPONSE_BYTES
  event: 16 * 1024, // ER_MAX_EVENT_BYTES
  profile: 548, // ER_PROFILE_MAX_BYTES
  lists: 1024 * 1024, // ER_MAX_LISTS_BYTES (src/engine/er_lists.h)
});
const STATUS_LIMIT = 5; // er_status ER_E_LIMIT

/** An input over its limit: EngineError 'limit' naming the input and the limit. */
function overLimit(what, limit) {
  return new EngineError('limit', STATUS_LIMIT, `${what}: more than the limit of ${limit} bytes`);
}

export class Engine {
  /**
   * @param {WebAssembly.Module} module compiled engine (wasm/edgerec.wasm)
   * @param {Uint8Array} bundleBytes an .erb bundle; copied once into linear memory.  The
   *   wrapper keeps this reference to reload after a trap: do not modify it afterwards.
   * @param {{instantiate?: (module) => {exports, memory}}} [options]
   */
  constructor(module, bundleBytes, options = {}) {
    if (!(bundleBytes instanceof Uint8Array)) throw new TypeError('edgerec: bundleBytes must be a Uint8Array');
    this._module = module;
    this._bundle = bundleBytes;
    this._instantiate = options.instantiate ?? reactorInstantiator;
    this._budget = 0;
    this._lists = null; // the live lists JSON in force (re-applied after a trap), and their summary
    this._listsInfo = null;
    this._enc = new TextEncoder();
    this._dec = new TextDecoder('utf-8', { fatal: false });
    this._load(); // throws EngineError when the bundle is invalid
  }

  // ---- instance life cycle ---------------------------------------------------
  _load() {
    this._x = null;
    const { exports, memory } = this._instantiate(this._module);
    this._ex = exports;
    this._mem = memory;
    this._heap = new Uint8Array(memory.buffer);
    this._slots = [[0, 0], [0, 0], [0, 0]]; // [ptr, capacity]
    const n = this._bundle.length;
    const p = exports.er_alloc(n);
    if (!p) throw new EngineError('nomem', 6, `edgerec: cannot allocate ${n} bytes for the bundle`);
    this._bytes().set(this._bundle, p);
    const h = exports.er_engine_create(p, n);
    if (!h) {
      // The create call has no status return: er_error_code() gives it.
      const status = exports.er_error_code ? exports.er_error_code() : 0;
      const message = this._errorMessage(), offset = this._errorOffset();
      exports.er_free(p);
      throw new EngineError(status ? STATUS_NAMES[status] ?? `status_${status}` : 'bundle', status, message, offset);
    }
    if (this._budget) exports.er_set_budget(h, this._budget);
    this._h = h;
    this._x = exports; // ready
    if (this._lists) { // accepted before, so accepted again; should it fail, the next call rebuilds
      try { this._applyLists(exports, this._lists); } catch (e) { this._x = null; throw e; }
    }
  }

  // Write the lists JSON (a string of at most LIMITS.lists bytes, or null) and call
  // er_engine_set_lists; returns the summary, throws EngineError (the lists in force stay).
  _applyLists(x, json) {
    if (typeof x.er_engine_set_lists !== 'function') throw new EngineError('usage', 1, 'edgerec: this engine build has no er_engine_set_lists (rebuild wasm/)');
    const [p, n] = this._put(SLOT_DOC, json, LIMITS.lists, 'lists');
    const rc = x.er_engine_set_lists(this._h, p, n);
    if (rc < 0) throw this._error(rc);
    return JSON.parse(this._dec.decode(this._out(rc)));
  }

  // Run fn against a live instance; on a trap, rebuild it and throw 'trap'.
  _call(fn) {
    if (!this._x) this._load(); // a previous rebuild failed: try again
    try {
      return fn(this._x);
    } catch (e) {
      if (!isTrap(e)) throw e;
      this._x = null;
      try { this._load(); } catch { /* retried on the next call */ }
      throw new EngineError('trap', -1, `edgerec: wasm trapped (${e.message}); instance rebuilt`);
    }
  }

  // Current view of linear memory (memory.grow detaches old buffers).
  _bytes() {
    if (this._heap.buffer !== this._mem.buffer) this._heap = new Uint8Array(this._mem.buffer);
    return this._heap;
  }

  // Make slot s at least n bytes (grow-only) and return its pointer.
  _reserve(s, n) {
    const slot = this._slots[s];
    if (slot[1] < n) {
      if (slot[0]) this._x.er_free(slot[0]);
      const cap = Math.max(n, slot[1] * 2, 256);
      slot[0] = this._x.er_alloc(cap);
      slot[1] = slot[0] ? cap : 0;
      if (!slot[0]) throw new EngineError('nomem', 6, `edgerec: cannot allocate ${cap} bytes of input`);
    }
    return slot[0];
  }

  // Write a string or bytes of at most `limit` bytes into slot s; returns [ptr, len].  null/empty → [0, 0].
  // Over the limit: EngineError 'limit' before anything is copied (a string is encoded into at most
  // limit + 3 bytes: UTF-8 never has fewer bytes than UTF-16 code units).
  _put(s, v, limit, what) {
    if (v == null) return [0, 0];
    if (typeof v === 'string') {
      if (!v.length) return [0, 0];
      if (v.length > limit) throw overLimit(what, limit);
      const cap = Math.min(v.length * 3, limit + 3); // UTF-8 worst case, or just past the limit
      const p = this._reserve(s, cap);
      const { read, written } = this._enc.encodeInto(v, this._bytes().subarray(p, p + cap));
      if (read < v.length || written > limit) throw overLimit(what, limit);
      return [p, written];
    }
    if (!(v instanceof Uint8Array)) throw new TypeError('edgerec: expected a string or Uint8Array');
    if (!v.length) return [0, 0];
    if (v.length > limit) throw overLimit(what, limit);
    const p = this._reserve(s, v.length);
    this._bytes().set(v, p);
    return [p, v.length];
  }

  _errorMessage() {
    const x = this._ex;
    return this._dec.decode(this._bytes().subarray(x.er_error_ptr(), x.er_error_ptr() + x.er_error_len()));
  }
  _errorOffset() {
    const o = this._ex.er_error_offset() >>> 0;
    return o === NO_OFFSET ? null : o;
  }
  _reason() {
    const x = this._ex;
    return this._dec.decode(this._bytes().subarray(x.er_reason_ptr(), x.er_reason_ptr() + x.er_reason_len()));
  }
  _error(rc) {
    const status = -rc;
    return new EngineError(STATUS_NAMES[status] ?? `status_${status}`, status, this._errorMessage(), this._errorOffset());
  }
  // The output area after a call that returned rc >= 0 (a view: copy or decode it now).
  _out(rc) {
    const p = this._x.er_out_ptr();
    return this._bytes().subarray(p, p + rc);
  }

  // ---- API ---------------------------------------------------------------------
  /** Recommendations for a context (JSON string); profileBytes wins over ctx.profile. */
  recommend(contextJson, profileBytes = null) {
    return this._call((x) => {
      const [cp, cn] = this._put(SLOT_CTX, contextJson, LIMITS.context, 'context');
      const [pp, pn] = this._put(SLOT_PROFILE, profileBytes, LIMITS.profile, 'profile');
      const rc = x.er_recommend(this._h, cp, cn, pp, pn);
      if (rc < 0) throw this._error(rc);
      return this._dec.decode(this._out(rc));
    });
  }

  /** The candidates' features for a context (binary, see er_features_for in
   * src/engine/edgerec.h): for the trainer and benchmarks. */
  features(contextJson, profileBytes = null) {
    return this._call((x) => {
      const [cp, cn] = this._put(SLOT_CTX, contextJson, LIMITS.context, 'context');
      const [pp, pn] = this._put(SLOT_PROFILE, profileBytes, LIMITS.profile, 'profile');
      const rc = x.er_features(this._h, cp, cn, pp, pn);
      if (rc < 0) throw this._error(rc);
      return this._out(rc).slice();
    });
  }

  /** Re-rank a GraphQL products response.  Never throws for bad input: the
   * caller keeps the original on {ok:false}.  Throws EngineError 'trap' only. */
  rerank(response, contextJson, profileBytes = null) {
    return this._call((x) => {
      let rp, rn, cp, cn, pp, pn;
      try {
        [rp, rn] = this._put(SLOT_DOC, response, LIMITS.response, 'response');
        [cp, cn] = this._put(SLOT_CTX, contextJson, LIMITS.context, 'context');
        [pp, pn] = this._put(SLOT_PROFILE, profileBytes, LIMITS.profile, 'profile');
      } catch (e) {
        if (e instanceof EngineError && e.code === 'limit') return { ok: false, reason: 'oversized', message: e.message };
        throw e;
      }
      const rc = x.er_rerank(this._h, rp, rn, cp, cn, pp, pn);
      if (rc < 0) return { ok: false, reason: this._reason() || STATUS_NAMES[-rc] || 'error', message: this._errorMessage() };
      return { ok: true, body: this._out(rc).slice() };
    });
  }

  /** Apply one event (JSON) to a profile (null = new shopper); returns the new profile. */
  updateProfile(profileBytes, eventJson) {
    return this._call((x) => {
      const [pp, pn] = this._put(SLOT_PROFILE, profileBytes, LIMITS.profile, 'profile');
      const [ep, en] = this._put(SLOT_DOC, eventJson, LIMITS.event, 'event');
      const rc = x.er_profile_update(this._h, pp, pn, ep, en);
      if (rc < 0) throw this._error(rc);
      return this._out(rc).slice();
    });
  }

  /** A binary profile as an object. */
  profileJson(profileBytes) {
    return this._call((x) => {
      const [pp, pn] = this._put(SLOT_PROFILE, profileBytes, LIMITS.profile, 'profile');
      const rc = x.er_profile_json(this._h, pp, pn);
      if (rc < 0) throw this._error(rc);
      return JSON.parse(this._dec.decode(this._out(rc)));
    });
  }

  /** Validate an event against the contract: null when valid, else the message. */
  checkEvent(eventJson, { requireAll = false } = {}) {
    return this._call((x) => {
      let ep, en;
      try { [ep, en] = this._put(SLOT_DOC, eventJson, LIMITS.event, 'event'); } catch (e) {
        if (e instanceof EngineError && e.code === 'limit') return e.message;
        throw e;
      }
      const rc = x.er_event_check(ep, en, requireAll ? 1 : 0);
      return rc < 0 ? this._errorMessage() : null;
    });
  }

  /** Bundle summary (versions, schema, sizes, budget, counts). */
  info() {
    return this._call((x) => {
      const rc = x.er_info(this._h);
      if (rc < 0) throw this._error(rc);
      return JSON.parse(this._dec.decode(this._out(rc)));
    });
  }

  /** Every catalog sku, in catalog order (every item: out-of-stock, invisible and child items too).
   * Read in pages of at most 64 KiB (er_skus), so the engine's output never grows past that. */
  skus() {
    return this._call((x) => {
      const all = [];
      for (;;) {
        const rc = x.er_skus(this._h, all.length, 4096);
        if (rc < 0) throw this._error(rc);
        const page = JSON.parse(this._dec.decode(this._out(rc)));
        if (!page.length) return all;
        for (const s of page) all.push(s);
      }
    });
  }

  /** Replace the live popularity lists (docs/units.md, "Live lists"): a JSON string
   * {"most-viewed":[["SKU",score],…],"most-purchased":[…],"most-added-to-cart":[…],"trending":[…]},
   * or null / '{}' to clear.  A kind absent keeps the bundle's list.  Returns the summary
   * ({kind: entries kept} or null); bad input throws EngineError naming the list, entry and byte,
   * and the lists in force stay.  The lists survive trap recovery. */
  setLists(json) {
    if (json != null && typeof json !== 'string') throw new TypeError('edgerec: setLists takes a JSON string or null');
    return this._call((x) => {
      const info = this._applyLists(x, json || null);
      this._lists = info ? json : null;
      this._listsInfo = info;
      return info;
    });
  }

  /** The live lists in force: {kind: entries kept} or null (also info().live_lists). */
  listsInfo() {
    return this._listsInfo;
  }

  /** Work units used by the last request. */
  units() {
    return this._call((x) => x.er_units(this._h));
  }

  /** For tests: trap on purpose (er_debug_trap), exercising trap recovery. */
  debugTrap() {
    this._call((x) => x.er_debug_trap());
  }

  /** Override the bundle's work budget (0 restores it); survives trap recovery. */
  setBudget(units) {
    this._budget = units >>> 0;
    this._call((x) => x.er_set_budget(this._h, this._budget));
  }
}
