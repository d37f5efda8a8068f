// deadline.js — bounded waits on bindings: a KV read, a D1 query, an R2 call, a Queue send or a
// Cache API lookup that hangs must not hold a shopper's listing or unit.
//
//   withDeadline(promise, ms, what) → the promise's outcome, or a DeadlineError after `ms`
//   guardEnv(env, ms)               → env whose KV / D1 / R2 / Queue calls each reject after `ms`
//   edgeDeadlineMs(env)             → EDGE_DEADLINE_MS (default 1500): the request path's budget
//
// Timers are the right tool here, not work budgets: a hung binding call is I/O, and a deployed
// Worker's clock and timers advance while it waits on I/O (Date.now() only stands still during
// CPU work, which the engine bounds with its own work budget).  The abandoned call is left to
// settle on its own; nothing waits on it again.  A binding method that throws synchronously rejects
// instead, so that a caller's .catch() sees it.  Bulk reads (KV `arrayBuffer` / `stream`: a
// bundle, a catalog shard) get BULK_FACTOR times the deadline.

export const DEFAULT_DEADLINE_MS = 1500;
export const BULK_FACTOR = 4;

/** A binding call that did not settle within its deadline. */
export class DeadlineError extends Error {
  constructor(what, ms) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
    this.code = 'deadline';
  }
}

/** EDGE_DEADLINE_MS as a number of milliseconds (a bad or missing value: the default). */
export function edgeDeadlineMs(env) {
  const v = Number(env?.EDGE_DEADLINE_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_DEADLINE_MS;
}

/** `p` (a promise or a value) settled within `ms`, else a rejection with DeadlineError naming `what`. */
export function withDeadline(p, ms, what) {
  if (!(p instanceof Promise) && typeof p?.then !== 'function') return Promise.resolve(p);
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// The methods each binding kind has that go to the network (the rest are passed through).
const KV_METHODS = new Set(['get', 'getWithMetadata', 'list', 'put', 'delete']);
const R2_METHODS = new Set(['get', 'head', 'list', 'put', 'delete']);
const QUEUE_METHODS = new Set(['send', 'sendBatch']);
const STMT_METHODS = new Set(['first', 'all', 'run', 'raw']);

const wrappers = new WeakMap(); // binding → (ms → its guarded proxy): stable, so per-binding caches still hit
const unwrapped = new WeakMap(); // a guarded D1 statement → the real one (D1's batch wants real statements)

/** A binding method's result; a synchronous throw becomes a rejection (callers' .catch handles it). */
function call(fn, self, args) {
  try { return fn.apply(self, args); } catch (e) { return Promise.reject(e); }
}

function guarded(target, ms, make) {
  if (!target || typeof target !== 'object') return target;
  let byMs = wrappers.get(target);
  if (!byMs) wrappers.set(target, (byMs = new Map()));
  if (!byMs.has(ms)) byMs.set(ms, make(target, ms));
  return byMs.get(ms);
}

function proxy(target, methods, name, ms) {
  return new Proxy(target, {
    get(t, p) {
      const v = t[p];
      if (typeof v !== 'function') return v;
      if (!methods.has(p)) return v.bind(t);
      return (...args) => {
        const bulk = p === 'get' && name === 'KV' && (args[1] === 'arrayBuffer' || args[1] === 'stream' || args[1]?.type === 'arrayBuffer' || args[1]?.type === 'stream');
        const limit = bulk ? ms * BULK_FACTOR : ms;
        return withDeadline(call(v, t, args), limit, `${name} ${p}`);
      };
    },
  });
}

function d1Statement(stmt, ms) {
  const g = new Proxy(stmt, {
    get(t, p) {
      const v = t[p];
      if (typeof v !== 'function') return v;
      if (p === 'bind') return (...a) => d1Statement(v.apply(t, a), ms);
      if (STMT_METHODS.has(p)) return (...a) => withDeadline(call(v, t, a), ms, `D1 ${p}`);
      return v.bind(t);
    },
  });
  unwrapped.set(g, stmt);
  return g;
}

function d1(db, ms) {
  return new Proxy(db, {
    get(t, p) {
      const v = t[p];
      if (typeof v !== 'function') return v;
      if (p === 'prepare') return (...a) => d1Statement(v.apply(t, a), ms);
      if (p === 'batch') return (stmts, ...a) => withDeadline(call(v, t, [stmts.map((s) => unwrapped.get(s) ?? s), ...a]), ms, 'D1 batch');
      if (p === 'exec') return (...a) => withDeadline(call(v, t, a), ms, 'D1 exec');
      return v.bind(t);
    },
  });
}

/** env with every call to KV (EDGEREC), D1 (DB), R2 (EDGEREC_EVENTS) and the Queues (EVENTS,
 * PROFILE_SYNC) bounded by `ms`; everything else as it is.  The same binding gets the same proxy. */
export function guardEnv(env, ms = edgeDeadlineMs(env)) {
  if (!env) return env;
  const out = { ...env };
  const kinds = { EDGEREC: (t) => proxy(t, KV_METHODS, 'KV', ms), DB: (t) => d1(t, ms),
    EDGEREC_EVENTS: (t) => proxy(t, R2_METHODS, 'R2', ms), EVENTS: (t) => proxy(t, QUEUE_METHODS, 'Queue', ms),
    PROFILE_SYNC: (t) => proxy(t, QUEUE_METHODS, 'Queue', ms) };
  for (const [name, make] of Object.entries(kinds)) if (env[name]) out[name] = guarded(env[name], ms, make);
  return out;
}
