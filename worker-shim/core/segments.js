// segments.js — who a pilot is for: a segment of shoppers, for a rollout (the canary's run) and for
// personalization as a whole (the manifest's `scope`), and the kill switch (`paused`).  The same
// module on the Worker and Lambda@Edge; the platform supplies the request's facts.
//
// A segment is a JSON object whose keys each list the values allowed (a shopper is in when every
// key listed matches; an empty object is everyone):
//   store    store view codes (the Store / Magento-Store-View-Code header; else the deployment's first)
//   website  website codes (the store view's website, from STORE_WEBSITES "store:website,…")
//   channel  "browser" | "app" (an app sends x-edgerec-id)
//   country  ISO 3166-1 alpha-2 codes ("DE"), from the edge's geolocation
//   device   "desktop" | "mobile" | "tablet" | "app" (the engine context's device)
//   group    "signed-in" | "guest" (a customer token present)
// e.g. {"store":["default"],"channel":["app"],"country":["DE","AT"]}.
//
// Membership is fixed at a shopper's first exposure: it is remembered in the shopper's sealed
// state (core/state.js `segments`) under the run (a rollout) or the scope's id, so a guest who
// signs in stays where they were placed.
import { assignArm } from './arms.js';
import { MAX_SEGMENTS } from './state.js';

const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
const KEYS = {
  store: { test: (v) => CODE.test(v), what: 'a store view code (letters, digits, _ . -)' },
  website: { test: (v) => CODE.test(v), what: 'a website code (letters, digits, _ . -)' },
  channel: { values: ['browser', 'app'] },
  country: { test: (v) => /^[A-Z]{2}$/.test(v), what: 'an ISO 3166-1 alpha-2 code in capitals ("DE")' },
  device: { values: ['desktop', 'mobile', 'tablet', 'app'] },
  group: { values: ['signed-in', 'guest'] },
};
const MAX_VALUES = 64;

/** Validate a segment definition (an object, or its JSON text) → {segment} (normalized: sorted keys,
 * de-duplicated values) or {error} naming the key or value refused; null / {} → {segment: null}. */
export function parseSegment(def) {
  if (typeof def === 'string') {
    try { def = JSON.parse(def); } catch (e) { return { error: `segment: not JSON (${e.message})` }; }
  }
  if (def === null || def === undefined) return { segment: null };
  if (typeof def !== 'object' || Array.isArray(def)) return { error: 'segment: must be an object such as {"store":["default"],"channel":["app"]}' };
  const out = {};
  for (const key of Object.keys(def).sort()) {
    const rule = KEYS[key];
    if (!rule) return { error: `segment: unknown key "${key}" (known: ${Object.keys(KEYS).join(', ')})` };
    const vals = def[key];
    if (!Array.isArray(vals) || !vals.length) return { error: `segment.${key}: must be a non-empty array of values` };
    if (vals.length > MAX_VALUES) return { error: `segment.${key}: at most ${MAX_VALUES} values` };
    for (const v of vals) {
      const ok = typeof v === 'string' && (rule.values ? rule.values.includes(v) : rule.test(v));
      if (!ok) {
        const want = rule.values ? `one of ${rule.values.map((x) => `"${x}"`).join(', ')}` : rule.what;
        return { error: `segment.${key}: unknown value ${JSON.stringify(v)} (want ${want})` };
      }
    }
    out[key] = [...new Set(vals)].sort();
  }
  return { segment: Object.keys(out).length ? out : null };
}

/** The device class of a request's headers (the engine context's `device`; null without a user agent).
 * `mobileHint` / `tabletHint`: a platform's own verdict (CloudFront's viewer headers). */
export function deviceOf(headers, { mobileHint = false, tabletHint = false } = {}) {
  const ua = headers.get('user-agent') ?? '';
  if (headers.get('x-edgerec-id')) return 'app';
  if (mobileHint || /Mobi|Android|iPhone/.test(ua)) return 'mobile';
  if (tabletHint || /iPad|Tablet/.test(ua)) return 'tablet';
  return ua ? 'desktop' : null;
}

/**
 * The facts a segment is matched against, for one request.
 * @param request  {headers} (a Request)
 * @param id       the shopper's identity (identity.js): `customerKey` when signed in
 * @param opts     {store (core/recommendations.js storeOf's), country, device, websites: Map store → website}
 */
export function segmentOf(request, id, opts = {}) {
  const h = request.headers;
  return {
    store: opts.store ?? null,
    website: (opts.store && opts.websites?.get(opts.store)) ?? null,
    channel: h.get('x-edgerec-id') ? 'app' : 'browser',
    country: typeof opts.country === 'string' ? opts.country.toUpperCase() : null,
    device: opts.device ?? deviceOf(h),
    group: id?.customerKey ? 'signed-in' : 'guest',
  };
}

/** Whether request facts (segmentOf's) fall in a segment (parseSegment's; null: everyone). */
export function inSegment(segment, facts) {
  if (!segment) return true;
  return Object.entries(segment).every(([k, vals]) => facts[k] != null && vals.includes(facts[k]));
}

/** Parse STORE_WEBSITES ("store:website,…") → Map; a bad entry → {error}. */
export function parseWebsites(text) {
  const map = new Map();
  for (const part of String(text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [store, website, extra] = part.split(':');
    if (extra !== undefined || !CODE.test(store ?? '') || !CODE.test(website ?? '')) return { error: `STORE_WEBSITES: "${part}" is not store:website` };
    map.set(store, website);
  }
  return { map };
}

/** Membership under `key`, fixed at the first look: read from state.segments, else decided now
 * and remembered there (the newest MAX_SEGMENTS kept). */
function member(state, key, decide) {
  const list = Array.isArray(state?.segments) ? state.segments : [];
  const had = list.find((s) => s.key === key);
  if (had) return had.in;
  const v = decide();
  if (state) state.segments = [...list, { key, in: v }].slice(-MAX_SEGMENTS);
  return v;
}

/**
 * The shopper's place under a manifest: {arm, version, run, outside}.  `outside`: 'paused' (the kill
 * switch) or 'out-of-scope' — served the origin's order and non-personal units, their events carry no
 * arm or run (counted nowhere).  Inside the scope, a shopper outside the rollout's segment is not in
 * the canary's run: holdout or control as without a canary, no run.  `state` (mutated): remembers
 * memberships.  Without a manifest: control, no version (the active bundle serves everyone).
 */
export async function placeShopper(manifest, facts, state, uidHash) {
  if (!manifest) return { arm: 'control', version: null, run: null, outside: null };
  if (manifest.paused) return { arm: 'control', version: null, run: null, outside: 'paused' };
  if (manifest.scope && !member(state, `scope:${manifest.scope_id ?? ''}`, () => inSegment(manifest.scope, facts))) {
    return { arm: 'control', version: null, run: null, outside: 'out-of-scope' };
  }
  let m = manifest;
  if (m.canary && m.segment && !member(state, `run:${m.run ?? ''}`, () => inSegment(m.segment, facts))) {
    m = { ...m, canary: null, percent: 0 };
  }
  const who = uidHash ? await assignArm(m, uidHash) : { arm: 'control', version: null };
  return { ...who, run: m.canary ? m.run ?? null : null, outside: null };
}
