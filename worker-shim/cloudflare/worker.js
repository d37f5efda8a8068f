// worker.js — edgerec's Cloudflare Worker: personalizes Magento / PWA Studio
// GraphQL at the edge and learns from the traffic it sees.
//
//   /graphql*        proxied to Magento; product listings re-ranked per shopper
//                    (byte-span rewrite in the engine); shopper events derived
//                    from the operations a stock storefront already sends
//   POST /edge/events    events from apps and pages (one or an array, ≤ 64 KiB)
//   POST /edge/feedback/survey  survey tools' webhooks → feedback events (survey.js)
//   GET|DELETE /edge/profile  what is stored about the shopper / erase it (an app id: with its
//                        install key, POST /edge/profile/key — app-keys.js)
//   other sites' pages may not use the shopper routes (core/request-site.js)
//   GET /edge/health     bundle version and binding checks
//   GET /edge/recs.js    the storefront script (worker-shim/browser/recs.js, docs/storefront.md)
//   queue            the consumer of `edgerec-events`: NDJSON batches to R2
//
// The Worker stays thin: ranking, profiles and event validation are the
// engine's (engine.js → wasm/edgerec.wasm); identity and cookies are
// identity.js's; caching is origin.js's; the event log is events.js's.
// Fail-open everywhere: whatever goes wrong, the storefront gets the origin's
// response as it came, plus `x-edgerec: bypass; reason=…`.
import wasm from '../../wasm/edgerec.wasm';
import { adminRoute } from './admin.js';
import { disguisedEdgePath } from './admin-auth.js';
import { BundleStore, REFRESH_MS } from './bundles.js';
import { readBundle } from './bundle-shards.js';
import { runGuardrail } from './cron.js';
import { runRetention } from './retention.js';
import { consume, consumeDeadLetters, DEAD_LETTER_QUEUE, enqueue } from './events.js';
import { edgeDeadlineMs, guardEnv, withDeadline } from './deadline.js';
import { assignArm } from '../core/arms.js';
import { surveyWebhook } from './survey.js';
import { consumeProfileSync, PROFILE_QUEUE, syncProfile, withCustomerCopy } from './profile-sync.js';
import { RequestTally, bypassReason, cronStatus, rejectReason } from './metrics.js';
import { runAlerts } from './alerts.js';
import { readBounded } from '../core/body.js';
import { cartSkus, explicitSort, firstProduct, isListing, isPlaceOrder, listedSkus, pageType, productViewKey, readOperation, wishlistSkus } from '../core/graphql.js';
import { checkConfig, clearCookies, erasureIds, ID_HEADER, identify, openProfile, profileCookie, sealProfile, stripEdgerecCookies } from '../core/identity.js';
import { appProofRefusal, registerAppKey } from './app-keys.js';
import { eraseIds } from './erasure.js';
import { fetchOrigin, originUrl } from './origin.js';
import { answerRecommendations, originsOf, recommendRest, storeFor, websitesOf } from './recommend.js';
import { repairUnitsMirror } from './units-store.js';
import { catalogHealth, syncCatalog } from './catalog-sync.js';
import { publishLiveLists } from './popularity.js';
import { preflight } from '../core/cors.js';
import { refuseCrossSite, siteRefusal } from '../core/request-site.js';
import { scriptAnswer } from '../core/storefront-script.js';
import recsScript from '../browser/recs.js'; // the storefront script's text (wrangler.toml [[rules]] Text)
import { recommendationsRequest } from '../core/recommendations.js';
import { deviceOf, placeShopper, segmentOf } from '../core/segments.js';
import { localHour } from '../core/local-hour.js';
import { MIRROR_KEY } from './lifecycle.js';
import { Engine } from '../core/engine.js';
import { applyEvents, decodeState, encodeState } from '../core/state.js';
import { classifyTraffic, establishedAfter, markEvent, rateLimitKey, stripEdgeFields } from '../core/traffic.js';

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024; // the engine's ER_MAX_RESPONSE_BYTES
const MAX_EVENTS_BODY = 64 * 1024;
const MAX_REQUEST_BODY = 1024 * 1024; // larger GraphQL POSTs are forwarded untouched, unread
const NO_STORE = { 'cache-control': 'no-store' };

const store = new BundleStore(wasm); // one per isolate
const tally = new RequestTally(); // request counts, sent to the metrics at most once a minute (metrics.js)

const dec = new TextDecoder();

export default {
  async fetch(request, rawEnv, ctx) {
    const url = new URL(request.url);
    // every binding call is bounded (deadline.js): EDGE_DEADLINE_MS on the shopper's paths, 10× for the admin API
    const env = guardEnv(rawEnv, (url.pathname.startsWith('/edge/admin/') ? 10 : 1) * edgeDeadlineMs(rawEnv));
    store.prefetch(env, ctx); // a due bundle load starts now, kept alive by this request (bundles.js)
    const pre = request.method === 'OPTIONS' ? preflight(request, originsOf(env)) : null;
    if (pre) return pre; // the storefront's own origins (CORS_ORIGINS); any other preflight goes on as before
    try {
      if (url.pathname.startsWith('/edge/')) return await edgeRoute(request, env, ctx, url);
    } catch (e) {
      console.error(`edgerec: ${url.pathname}: ${e.stack || e}`);
      if (e?.code === 'deadline') return Response.json({ error: e.message }, { status: 503, headers: NO_STORE }); // names the binding call, nothing else
      return Response.json({ error: 'internal error' }, { status: 500, headers: NO_STORE });
    }
    if (url.pathname === '/graphql' || url.pathname.startsWith('/graphql/')) return countRequest(env, ctx, await graphql(request, env, ctx, url));
    if (disguisedEdgePath(url.pathname)) { // e.g. /EDGE/ADMIN/…, /edge%2Fadmin/…: never to the origin (admin-auth.js)
      return Response.json({ error: `no route ${request.method} ${url.pathname}: edgerec's paths are /edge/… exactly` }, { status: 404, headers: NO_STORE });
    }
    return passThrough(request, env); // production routes send only /graphql* and /edge/* here
  },
  // edgerec-events → R2 (events.js); edgerec-profile-sync → trailing KV profile writes (profile-sync.js)
  // edgerec-events-dlq → dead-letter/ in R2, counted (events.js); the consumers' binding calls are bounded
  // by 10 × EDGE_DEADLINE_MS (a hung R2 / D1 / KV call fails the batch, which the Queue retries)
  queue: (batch, env) => {
    if (batch.queue === PROFILE_QUEUE) return consumeProfileSync(batch, env);
    const genv = guardEnv(env, 10 * edgeDeadlineMs(env));
    return batch.queue === DEAD_LETTER_QUEUE ? consumeDeadLetters(batch, genv) : consume(batch, genv);
  },
  // every 5 minutes (wrangler.toml [triggers]): the guardrail, retention (feedback text, event log, erasure purge), the units mirror and
  // the catalog sync; `edgerec:catalog` (a local trigger: wrangler dev's /__scheduled?cron=edgerec:catalog,
  // used by the dev stack at start) runs the catalog sync alone
  scheduled: (controller, env, ctx) => {
    const now = controller.scheduledTime ?? Date.now();
    if (controller.cron === 'edgerec:catalog') return ctx.waitUntil(syncCatalogStep(env, now));
    return ctx.waitUntil(Promise.all([
      runGuardrail(guardEnv(env, 10 * edgeDeadlineMs(env)), now) // a hung D1 read fails the look: no decision on partial data
        .catch((e) => console.error(`edgerec: guardrail: ${e.message}`)).finally(() => runAlerts(env, now)), // alerts after the guardrail's decision; never throws
      runRetention(env, now), // feedback text, the event log's age, the erasure purge (retention.js); never throws
      repairUnitsMirror(env), // never throws
      publishLiveLists(env, now), // never throws; computes every LIVE_LISTS_MINUTES, writes KV only on a change
      syncCatalogStep(env, now),
    ]));
  },
};

/** The catalog view's sync (catalog-sync.js) over the active bundle's skus; never throws. */
async function syncCatalogStep(env, now) {
  try {
    const engine = await store.get(env, Date.now(), { waitMs: Infinity }); // the cron waits for a first load
    if (!engine) return { skipped: 'no bundle' };
    return await syncCatalog(env, now, { engine });
  } catch (e) {
    console.error(`edgerec: catalog sync: ${e.stack || e}`);
    return { error: e.message };
  }
}

// ---- the live manifest and the canary's engine (per isolate) ---------------------

let manifestCache = { value: null, at: -Infinity };
/** The manifest mirror in KV (null without a lifecycle: the active bundle serves everyone). */
async function liveManifest(env) {
  const now = Date.now();
  if (now - manifestCache.at >= REFRESH_MS) {
    manifestCache.at = now;
    try {
      const raw = await env.EDGEREC.get(MIRROR_KEY);
      manifestCache.value = raw ? JSON.parse(raw) : null;
    } catch { /* keep the last one */ }
  }
  return manifestCache.value;
}

const versionEngines = new Map(); // version → {engine, at}: canary bundles, loaded on first use
async function engineFor(env, version) {
  const active = await store.get(env);
  if (!version || version === store.version) return active;
  let e = versionEngines.get(version);
  if (!e || (!e.engine && Date.now() - e.at >= REFRESH_MS)) {
    e = { engine: null, at: Date.now() };
    try {
      const got = await readBundle(env.EDGEREC, version); // one value or its shards (bundle-shards.js)
      if (got) e.engine = new Engine(wasm, got.bytes);
    } catch (err) { console.error(`edgerec: bundle ${version}: ${err.message}`); }
    if (versionEngines.size > 4) versionEngines.delete(versionEngines.keys().next().value);
    versionEngines.set(version, e);
  }
  return store.withLists(e.engine); // the live lists in force, as on the active engine
}

/** Count a GraphQL request (and its bypass reason) in the isolate's tallies; the response as it is. */
function countRequest(env, ctx, response) {
  tally.note('requests', { path: 'graphql' });
  const reason = bypassReason(response);
  if (reason) tally.note('bypass', { reason });
  flushTally(env, ctx);
  return response;
}

/** Count a refused POST /edge/events by reason (metrics.js rejectReason); the response as it is. */
async function countRejected(env, ctx, response) {
  if (response.status >= 400) {
    let error = null;
    try { error = (await response.clone().json()).error; } catch { /* not JSON: reason from the status */ }
    tally.note('rejected', { reason: rejectReason(response.status, error) });
    flushTally(env, ctx);
  }
  return response;
}

/** Send the isolate's tallies when due (one `_metric` message of kind 'counts'), with the active
 * bundle's work budget (what edgerec_kpi_work_units_total is measured against). */
function flushTally(env, ctx) {
  const m = tally.take(env);
  if (!m) return;
  const sent = store.get(env)
    .then((engine) => { const b = engine?.info().budget; if (b > 0) m.budget = { version: store.version, units: b }; })
    .catch(() => { /* no budget this time */ })
    .then(() => enqueue(env, [m]))
    .catch(() => tally.restore(m)); // not sent (enqueue logged it): the counts go with the next flush
  ctx.waitUntil?.(sent);
}

/** A request metric for the KPIs (engine failures on a model arm), sent with the events. */
function metric(env, ctx, kind, who) {
  if (!who.version) return;
  const m = { type: '_metric', kind, arm: who.arm, model: who.version, run: who.run ?? undefined, id: crypto.randomUUID(), ts: Date.now() / 1000 };
  ctx.waitUntil?.(enqueue(env, [m], { lost: lostCounter('metric') }).catch(() => { /* logged and counted */ }));
}

/** What enqueue calls when messages are lost after its retries: they are counted in the isolate's
 * tallies (edgerec_events_lost_total{kind}), sent with the next flush. */
function lostCounter(kind) {
  return (n) => tally.note('events_lost', { kind }, n);
}

// ---- the origin ---------------------------------------------------------------

async function passThrough(request, env, body = request.body) {
  // edgerec's cookies and app headers never reach the origin, on this path either
  return fetch(originUrl(request, env).toString(), {
    method: request.method, headers: stripEdgerecCookies(request.headers), body, redirect: 'manual',
  });
}

/** Cache-Control for a response that is personal (re-ranked bytes or a Set-Cookie): the origin's
 * when it already forbids storing (no-store), else `private`. */
function privateCacheControl(origin) {
  const cc = origin.headers.get('cache-control') ?? '';
  return /\bno-store\b/i.test(cc) ? cc : 'private';
}

/** The origin's response again, untouched, plus our header (and, for an
 * opted-out shopper, the expiry of edgerec cookies the browser still has). */
function bypass(origin, bytes, reason, expire = []) {
  const headers = new Headers(origin.headers);
  headers.set('x-edgerec', `bypass; reason=${reason}`);
  for (const c of expire) headers.append('set-cookie', c);
  if (expire.length) headers.set('cache-control', privateCacheControl(origin));
  return new Response(bytes ?? origin.body, { status: origin.status, statusText: origin.statusText, headers });
}

// ---- /graphql -------------------------------------------------------------------

async function graphql(request, env, ctx, url) {
  // The body is read once (POST), up to MAX_REQUEST_BODY + 1 bytes, and forwarded as the same bytes;
  // a larger one goes to the origin as it came (what was read, then the rest), never parsed.
  let bodyText = null, bodyBytes = null;
  if (request.method === 'POST') {
    const read = await readBounded(request, MAX_REQUEST_BODY);
    if (read.over) return passThrough(request, env, read.body);
    bodyBytes = read.bytes;
    bodyText = dec.decode(bodyBytes);
  }
  let op = null, id = null, reason = null;
  try {
    const r = readOperation(request.method, url, bodyText);
    op = r.op;
    if (!op) reason = r.reason;
    else if (recommendationsRequest(op)) return refuseCrossSite(request, originsOf(env), { graphql: true }) ?? await recommendations(request, env, ctx, op);
    else if (siteRefusal(request, originsOf(env))) reason = 'cross-site'; // another site's page (core/request-site.js): the origin's answer, nothing recorded
  } catch (e) {
    console.error(`edgerec: operation: ${e.stack || e}`);
    reason = 'error';
  }
  const headers = stripEdgerecCookies(request.headers);
  const init = { method: request.method, headers, redirect: 'manual' };
  if (bodyBytes !== null) init.body = bodyBytes;
  // The origin request goes out first; who the shopper is and their stored state are read while it
  // is in flight (nothing of that reaches the origin request, and all of it is only read).
  const started = performance.now(); // (tests move Date.now(); the deadline is real time)
  const deadlineMs = edgeDeadlineMs(env);
  const originTimeoutMs = op && !op.mutation ? Number(env.ORIGIN_TIMEOUT_MS) || 0 : 0; // queries only: a mutation is never cut short
  const pending = fetchOrigin(originUrl(request, env), init, ctx, { cacheDeadlineMs: deadlineMs, originTimeoutMs });
  pending.catch(() => { /* awaited below: not an unhandled rejection meanwhile */ });
  let ready = null;
  if (!reason) {
    try {
      id = await identify(request, env);
      if (id.error) { reason = 'config'; id = null; }
    } catch (e) {
      console.error(`edgerec: identify: ${e.stack || e}`);
      reason = 'error';
      id = null;
    }
    if (id && !id.optedOut) ready = settled(shopperState(request, env, id, op));
  }
  let origin;
  try {
    ({ response: origin } = await pending);
  } catch (e) { // no answer from the origin: what Cloudflare would say without edgerec (502 / 504), and why
    const timeout = e?.code === 'origin-timeout';
    console.error(`edgerec: origin: ${e.message}`);
    return new Response(timeout ? 'the origin did not answer in time\n' : 'the origin could not be reached\n', {
      status: timeout ? 504 : 502, headers: { 'content-type': 'text/plain', ...NO_STORE, 'x-edgerec': `bypass; reason=${timeout ? 'origin-timeout' : 'origin-unreachable'}` } });
  }
  if (reason) return bypass(origin, null, reason);
  if (id.optedOut) return bypass(origin, null, id.reason === 'no-consent' ? 'no-consent' : 'opt-out', id.setCookies ?? []);
  if (origin.status !== 200) return bypass(origin, null, 'origin-status');
  let read;
  try {
    read = await readBounded(origin, MAX_RESPONSE_BYTES);
  } catch {
    return bypass(origin, null, 'origin-body'); // the body stream failed: nothing to add
  }
  if (read.over) return bypass(origin, read.body, 'oversized'); // the same bytes, streamed through
  const bytes = read.bytes;
  try {
    // the shopper's state was read while the origin answered; it may hold the answer EDGE_DEADLINE_MS
    // from the request's start at most (a hung KV or D1 read: the origin's response, bypass deadline)
    const left = Math.max(0, deadlineMs - (performance.now() - started));
    const shopper = await withDeadline(ready, left, 'the shopper\'s state').catch((e) => ({ error: e }));
    if (shopper.error?.code === 'deadline') return bypass(origin, bytes, 'deadline');
    if (shopper.error) throw shopper.error;
    return await personalize({ request, env, ctx, op, id, origin, bytes, ...shopper.value });
  } catch (e) {
    console.error(`edgerec: personalize: ${e.stack || e}`);
    return bypass(origin, bytes, e.code === 'trap' ? 'trap' : 'error');
  }
}

/** A promise's outcome as {value} or {error}, never rejecting (read later, after other awaits). */
const settled = (p) => p.then((value) => ({ value }), (error) => ({ error }));

/** What personalize needs of the shopper: the live manifest, their stored state, their place
 * (arm, version), the engine that serves them and, for a listing, the engine's context (request.cf
 * is parsed on first use: done here, while the origin answers). */
async function shopperState(request, env, id, op) {
  const contextJson = !op.mutation && isListing(op) ? JSON.stringify(contextFor(request, pageType(op))) : null;
  const manifest = await liveManifest(env);
  const state = await loadState(request, env, id);
  const who = await placeFor(request, env, id, manifest, state);
  const engine = who.arm === 'holdout' || who.outside ? await store.get(env) : await engineFor(env, who.version);
  if (who.arm !== 'holdout' && !who.version) who.version = store.version;
  return { manifest, state, who, engine, contextJson };
}

/** A recommendations document: answered at the edge with no origin call; whatever fails, the
 * storefront gets a GraphQL error (200), never a 5xx and never Magento's "unknown field". */
async function recommendations(request, env, ctx, op) {
  try {
    // bounded like a listing: a hung binding never holds a unit past EDGE_DEADLINE_MS
    return await withDeadline(answerRecommendations(request, env, ctx, op, IO), edgeDeadlineMs(env), 'recommendations');
  } catch (e) {
    console.error(`edgerec: recommendations: ${e.stack || e}`);
    const reason = e.code === 'trap' || e.code === 'deadline' ? e.code : 'error';
    return Response.json({ errors: [{ message: 'recommendations are temporarily unavailable', extensions: { category: 'edgerec-unavailable' } }] },
      { status: 200, headers: { 'cache-control': 'no-store', 'x-edgerec': `bypass; reason=${reason}` } });
  }
}

/** The shopper's stored state: the sealed cookie, or for a signed-in customer the newer of it
 * and the KV copy (profile-sync.js). */
async function loadState(request, env, id) {
  let state = null;
  if (id.profileValue && id.uidHash) state = decodeState(await openProfile(env, id.uidHash, id.profileValue));
  if (id.customerKey && env.EDGEREC) return withCustomerCopy(env, id, state);
  return state ?? { profile: null, cart: [] };
}

function contextFor(request, page, k) {
  const ctx = { now: Math.floor(Date.now() / 1000) };
  if (page) ctx.page = { type: page };
  const device = deviceOf(request.headers);
  if (device) ctx.device = device;
  const cf = request.cf ?? {};
  if (typeof cf.country === 'string' && cf.country.length <= 8) ctx.country = cf.country;
  const hour = localHour(cf.timezone); // null: no zone, or an unknown one
  if (hour !== null) ctx.hour = hour;
  if (k) ctx.k = k;
  return ctx;
}

/** The shopper's place under the live manifest (core/segments.js placeShopper): {arm, version, run,
 * outside}; memberships of the scope / the rollout's segment are remembered in `state`. */
async function placeFor(request, env, id, manifest, state) {
  const facts = manifest && (manifest.scope || manifest.segment)
    ? segmentOf(request, id, { store: storeFor(request, env).store, country: request.cf?.country, websites: websitesOf(env) })
    : null;
  return placeShopper(manifest, facts, state, id.uidHash);
}

async function personalize({ request, env, ctx, op, id, origin, bytes, manifest, state, who, engine, contextJson }) {
  const events = [];
  let body = bytes, reason = null, personalized = false, timing = null;
  const resolveSku = (s) => s; // skus from responses/variables are used as sent

  if (!op.mutation) {
    const viewKey = productViewKey(op);
    if (viewKey) {
      const p = firstProduct(JSON.parse(dec.decode(bytes)));
      if (p) events.push({ type: 'view', item: resolveSku(p.sku) });
      reason = 'product';
    } else if (explicitSort(op)) {
      reason = 'explicit-sort';
    } else if (!isListing(op)) {
      reason = 'no-listing'; // data.products is not Magento's product listing: nothing to re-rank
    } else if (who.outside) {
      reason = who.outside; // paused / out-of-scope: the origin's order; logged without arm or run (counted nowhere)
      const shown = listedSkus(JSON.parse(dec.decode(bytes)));
      if (shown.length > 1) events.push({ type: 'impression', items: shown, unit: 'listing' });
    } else if (who.arm === 'holdout') {
      reason = 'holdout'; // the origin's order: what personalization is worth
      const shown = listedSkus(JSON.parse(dec.decode(bytes)));
      if (shown.length > 1) events.push({ type: 'impression', items: shown, unit: 'listing' });
    } else if (!engine) {
      reason = 'no-bundle';
      if (who.arm === 'canary') metric(env, ctx, 'bypass', who); // a canary that cannot load counts against it
    } else {
      const t0 = performance.now();
      let r;
      try {
        r = engine.rerank(bytes, contextJson ?? JSON.stringify(contextFor(request, pageType(op))), state.profile);
      } catch (e) {
        metric(env, ctx, 'error', who);
        throw e;
      }
      const dt = performance.now() - t0;
      if (r.ok) {
        body = r.body;
        personalized = true;
        if (dt > 0) timing = dt;
        const shown = listedSkus(JSON.parse(dec.decode(body)));
        if (shown.length) events.push({ type: 'impression', items: shown, unit: 'listing', units: engine.units() });
      } else {
        reason = r.reason;
        if (r.reason === 'budget') metric(env, ctx, 'bypass', who); // the engine's own limit, not the origin's data
      }
    }
  } else {
    const added = cartSkus(op);
    if (added) for (const sku of added) events.push({ type: 'cart', item: sku });
    const failed = /"errors"\s*:/.test(dec.decode(bytes.subarray(0, 4096)));
    if (isPlaceOrder(op) && !failed) {
      for (const sku of state.cart) events.push({ type: 'purchase', item: sku });
    }
    const wished = failed ? null : wishlistSkus(op); // Magento refused it (a guest, say): nothing happened
    if (wished) for (const sku of wished) events.push({ type: 'wishlist', item: sku });
    reason = added ? 'cart' : isPlaceOrder(op) ? 'order' : wished ? 'wishlist' : 'mutation';
  }

  const headers = new Headers(origin.headers);
  // the holdout's listing is logged (its impression) but says why it was not re-ranked: bypass; reason=holdout
  const observed = !personalized && events.length && id.consent !== false && reason !== 'holdout';
  const armTag = manifest && !who.outside ? `; arm=${who.arm}` : '';
  headers.set('x-edgerec', who.outside ? `bypass; reason=${who.outside}` : personalized ? `reranked; model=${who.version}${armTag}`
    : observed ? `observed; events=${[...new Set(events.map((e) => e.type))].join(',')}${armTag}` : `bypass; reason=${reason}${armTag}`);
  if (timing !== null) headers.append('server-timing', `edgerec;dur=${timing.toFixed(3)};desc="rerank"`);
  const consentGiven = id.consent !== false;
  if (events.length && consentGiven) {
    const logged = await record({ request, env, ctx, id, engine: engine ?? (await store.get(env)), state, events, who: manifest && !who.outside ? who : null });
    if (logged) {
      for (const c of id.setCookies ?? []) headers.append('set-cookie', c);
      attachProfile(headers, id, logged);
    }
  } else if (personalized && consentGiven) {
    for (const c of id.setCookies ?? []) headers.append('set-cookie', c);
  }
  if (personalized || headers.has('set-cookie')) {
    headers.set('cache-control', privateCacheControl(origin));
    headers.delete('etag');
  }
  headers.delete('content-length');
  return new Response(body, { status: origin.status, statusText: origin.statusText, headers });
}

/** The sealed profile goes back to the shopper: the er_p cookie for browsers, the
 * x-edgerec-profile response header for apps (which send it back in the request header). */
function attachProfile(headers, id, sealed) {
  if (id.source === 'header') headers.set('x-edgerec-profile', sealed);
  else headers.append('set-cookie', profileCookie(sealed));
}

/** The request's traffic class (core/traffic.js) and Cloudflare's rate limiting: over the
 * EVENTS_RATE_LIMIT binding's limit for its key (the connection for new shoppers, the user for
 * established ones) the events are flagged "rate-limited" — still logged, never an error.  No
 * binding (or a limiter that fails) limits nothing; bots are flagged already and not counted. */
async function classify(request, env, id, state) {
  const t = await classifyTraffic(request, id, state, env, Date.now());
  const key = t.flag ? null : rateLimitKey(t, id);
  if (key && env.EVENTS_RATE_LIMIT) {
    try {
      const { success } = await env.EVENTS_RATE_LIMIT.limit({ key });
      if (!success) t.flag = 'rate-limited';
    } catch (e) { console.error(`edgerec: rate limit: ${e.message}`); }
  }
  return t;
}

/** Queue events after the response, marked with the request's traffic class (`before`: the
 * shopper's state as the request brought it).  The classification (a connection key's HMAC, the
 * rate limiter) and the Queue send start on a later task (setTimeout 0), so none of their work
 * runs between the handler's return and the response going out; waitUntil keeps them alive. */
function queueMarked({ request, env, ctx, id, before, full }) {
  ctx.waitUntil?.(nextTask().then(() => sendMarked(request, env, id, before, full)));
}

/** Classify the request's traffic, mark the events with it and send them to the Queue; never rejects. */
function sendMarked(request, env, id, before, full) {
  return classify(request, env, id, before)
    .catch((e) => { console.error(`edgerec: traffic: ${e.message}`); return null; })
    .then((t) => { const marked = full.map((ev) => markEvent(ev, t)); return enqueue(env, marked, { lost: lostCounter('event') }).catch(() => { /* logged and counted */ }); })
    .catch((e) => console.error(`edgerec: queue: ${e.message}`));
}

/** A promise resolved on a later task than the current one (after the response has gone out). */
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Fill an event's edge fields, apply it to the profile (engine), queue it (marked with the
 * traffic class after the response). Returns the new sealed profile (or null when nothing is stored). */
async function record({ request, env, ctx, id, engine, state, events, who = null }) {
  const before = { since: state.since };
  const full = applyEvents({ engine, state, events, id, who, activeVersion: store.version });
  if (!full.length) return null;
  queueMarked({ request, env, ctx, id, before, full });
  const bytes = encodeState(state);
  if (id.customerKey && env.EDGEREC) { // signed in: the KV copy, once a minute plus a trailing write (profile-sync.js)
    ctx.waitUntil?.(syncProfile(env, id.customerKey, bytes, state.sync, Date.now()));
  }
  if (!id.uidHash) return null;
  return sealProfile(env, id.uidHash, bytes); // null: over the cookie's size (not stored)
}

/** Log events without rewriting the profile cookie (recommendation unit impressions): validated
 * and attributed as record() does, with the request's time and version, all of it after the response
 * (nothing of it goes into the response; a trap while validating is logged, the answer stands). */
function logEvents({ request, env, ctx, id, engine, state, events, who = null }) {
  const nowMs = Date.now(), activeVersion = store.version, before = { since: state.since };
  const copy = { profile: state.profile, cart: state.cart };
  ctx.waitUntil?.(nextTask().then(() => {
    const full = applyEvents({ engine, state: copy, events, id, who, activeVersion, nowMs });
    return full.length ? sendMarked(request, env, id, before, full) : null;
  }).catch((e) => console.error(`edgerec: unit impressions: ${e.stack || e}`)));
}

// ---- /edge/* ----------------------------------------------------------------------

async function edgeRoute(request, env, ctx, url) {
  const path = url.pathname;
  if (path === '/edge/health' && request.method === 'GET') return health(env);
  if (path.startsWith('/edge/admin/')) return adminRoute(request, env, url, wasm);
  if (path === '/edge/feedback/survey') return surveyWebhook(request, env, ctx, SURVEY_IO);
  if (SHOPPER_ROUTES.has(path)) { // another site's page may not act for the shopper (core/request-site.js)
    const refused = refuseCrossSite(request, originsOf(env), { navigation: path === '/edge/profile' });
    if (refused) return path === '/edge/events' ? countRejected(env, ctx, refused) : refused;
  }
  if (path === '/edge/feedback') {
    if (request.method !== 'POST') return methodNotAllowed('POST');
    return postFeedback(request, env, ctx);
  }
  if (path === '/edge/events') {
    if (request.method !== 'POST') return methodNotAllowed('POST');
    return countRejected(env, ctx, await postEvents(request, env, ctx));
  }
  if (path === '/edge/recommend') {
    if (request.method !== 'GET') return methodNotAllowed('GET');
    return recommendRest(request, env, ctx, url, IO);
  }
  if (path === '/edge/recs.js') { // the storefront script (docs/storefront.md)
    if (request.method !== 'GET' && request.method !== 'HEAD') return methodNotAllowed('GET, HEAD');
    const a = await scriptAnswer(recsScript, { method: request.method, ifNoneMatch: request.headers.get('if-none-match') });
    return new Response(a.body, { status: a.status, headers: a.headers });
  }
  if (path === '/edge/profile') {
    if (request.method !== 'GET' && request.method !== 'DELETE') return methodNotAllowed('GET, DELETE');
    const unproven = await appProofRefusal(request, env); // an app id needs its install key (app-keys.js)
    if (unproven) return unproven;
    return request.method === 'GET' ? getProfile(request, env) : deleteProfile(request, env);
  }
  if (path === '/edge/profile/key') { // an app's install key, issued once (app-keys.js, docs/profile.md)
    if (request.method !== 'POST') return methodNotAllowed('POST');
    return registerAppKey(request, env);
  }
  return Response.json({ error: `no route ${request.method} ${path}` }, { status: 404, headers: NO_STORE });
}

/** The routes that act for the shopper whose browser sends them: refused from other sites' pages. */
const SHOPPER_ROUTES = new Set(['/edge/events', '/edge/feedback', '/edge/profile', '/edge/profile/key', '/edge/recommend']);

const methodNotAllowed = (allow) =>
  Response.json({ error: `method not allowed (use ${allow})` }, { status: 405, headers: { ...NO_STORE, allow } });
const badRequest = (error) => Response.json({ error }, { status: 400, headers: NO_STORE });
const tooLarge = (limit) => Response.json({ error: `body over ${limit} bytes (the limit)` }, { status: 413, headers: NO_STORE });

async function health(env) {
  const engine = await store.get(env);
  const checks = {
    kv: !!env.EDGEREC, queue: !!env.EVENTS, r2: !!env.EDGEREC_EVENTS,
    id_secret: !!env.EDGEREC_ID_SECRET, cookie_key: !!env.EDGEREC_COOKIE_KEY, admin_token: !!(env.EDGEREC_ADMIN_TOKEN || env.EDGEREC_ADMIN_TOKENS || (env.CF_ACCESS_TEAM_DOMAIN && env.CF_ACCESS_AUD)), // any way into the admin API
    rate_limit: !!env.EVENTS_RATE_LIMIT, // optional: without it events are never flagged "rate-limited"
  };
  let bundle = null;
  try { bundle = engine ? engine.info() : null; } catch { bundle = null; }
  const config = checkConfig(env); // set but malformed: every request would bypass (reason=config)
  const ok = !!engine && checks.kv && checks.queue && checks.r2 && checks.id_secret && checks.cookie_key && !config;
  const catalog = await catalogHealth(env); // its lag and last success; a stale catalog does not make the edge unhealthy
  const cron = await cronStatus(env); // the dead-man: stale when the last cron run is older than 2 intervals + slack
  const after = establishedAfter(env); // core/traffic.js: a bad value falls back to the default, said here
  const traffic = { established_after_seconds: after.seconds, problem: after.problem };
  let kept = null;
  try { kept = engine ? engine.listsInfo() : null; } catch { kept = null; }
  const liveLists = { ...store.lists.status(), kept }; // KV lists:live in force (popularity.js); stale lists do not make it unhealthy
  return Response.json({ ok, bundle_version: store.version, bundle, bundle_error: store.lastError, checks, config_error: config?.variable ?? null, catalog, cron, live_lists: liveLists, traffic },
    { status: ok ? 200 : 503, headers: NO_STORE });
}

async function postEvents(request, env, ctx) {
  const read = await readBounded(request, MAX_EVENTS_BODY);
  if (read.over) return tooLarge(MAX_EVENTS_BODY);
  const raw = read.bytes;
  let parsed;
  try { parsed = JSON.parse(dec.decode(raw)); } catch (e) { return badRequest(`body is not JSON: ${e.message}`); }
  const list = (Array.isArray(parsed) ? parsed : [parsed]).map(stripEdgeFields); // trust, flag, conn, signed_in are the edge's
  if (!list.length) return badRequest('no events: send one event object or a non-empty array');
  if (list.length > 500) return badRequest(`${list.length} events: at most 500 per request`);
  const id = await identify(request, env);
  if (id.error) return Response.json({ error: 'edge not configured' }, { status: 503, headers: NO_STORE });
  const engine = await store.get(env);
  // validate every event first (the engine's contract); any bad one → 400 naming it
  for (const [i, ev] of list.entries()) {
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) return badRequest(`event ${i}: must be a JSON object`);
    if (engine) {
      const problem = engine.checkEvent(JSON.stringify(ev));
      if (problem) return badRequest(`event ${i}: ${problem.replace(/^event: /, '')}`);
    } else if (typeof ev.type !== 'string' || (typeof ev.item !== 'string' && !Array.isArray(ev.items))) {
      return badRequest(`event ${i}: needs at least type and item`);
    }
  }
  if (id.optedOut) {
    const headers = new Headers(NO_STORE);
    for (const c of id.setCookies ?? []) headers.append('set-cookie', c);
    return Response.json({ accepted: 0, stored: false, reason: id.reason }, { status: 202, headers });
  }
  const state = await loadState(request, env, id);
  const cookie = await record({ request, env, ctx, id, engine, state, events: list.map((e) => ({ ...e, user: undefined })), who: await attribution(request, env, id, state) });
  const headers = new Headers(NO_STORE);
  for (const c of id.setCookies ?? []) headers.append('set-cookie', c);
  if (cookie) attachProfile(headers, id, cookie);
  return Response.json({ accepted: list.length }, { status: 202, headers });
}

/** The shopper's arm and model for attributing events sent outside a listing (null without a
 * lifecycle, and for shoppers outside the scope or while paused: counted nowhere). */
async function attribution(request, env, id, state) {
  const manifest = await liveManifest(env);
  if (!manifest || !id.uidHash) return null;
  const who = await placeFor(request, env, id, manifest, state);
  if (who.outside) return null;
  if (who.arm !== 'holdout' && !who.version) who.version = store.version;
  return who;
}

/** What the survey webhook needs: the engine (validation) and a shopper's arm from the id alone.  With a
 * segment or a scope in force membership lives in the shopper's own state, which a webhook does not
 * carry: such responses are logged unattributed rather than counted in an arm they may not be in. */
const SURVEY_IO = {
  engine: (env) => store.get(env),
  activeVersion: () => store.version,
  who: async (env, uidHash) => {
    const manifest = await liveManifest(env);
    if (!manifest || manifest.paused || manifest.scope || manifest.segment) return null;
    const who = await assignArm(manifest, uidHash);
    if (who.arm !== 'holdout' && !who.version) who.version = store.version;
    who.run = manifest.canary ? manifest.run : null;
    return who;
  },
};

/** POST /edge/feedback: thumbs up/down or a 1–5 rating on an item (a unit's or a listing's).
 * It is a `feedback` event: in the KPIs and a training label (ratings 1–2 also keep the item
 * out of the shopper's recommendations).  Free text (`text`, ≤ 2,000 characters) is stored only
 * when [vars] FEEDBACK_TEXT_DAYS is a positive number of days: in R2 under
 * feedback-text/YYYY/MM/DD/<id>.json with the pseudonymous id, deleted by the cron after that many days. */
async function postFeedback(request, env, ctx) {
  const read = await readBounded(request, MAX_EVENTS_BODY);
  if (read.over) return tooLarge(MAX_EVENTS_BODY);
  let body;
  try { body = JSON.parse(dec.decode(read.bytes)); }
  catch { return badRequest('body must be JSON: {"item":"SKU","rating":1..5} or {"item":"SKU","thumbs":"up"|"down"}'); }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return badRequest('body must be a JSON object');
  let rating = body.rating;
  if (body.thumbs !== undefined) {
    if (body.thumbs !== 'up' && body.thumbs !== 'down') return badRequest('thumbs must be "up" or "down"');
    rating = body.thumbs === 'up' ? 5 : 1;
  }
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) return badRequest('rating must be an integer in 1..5 (or send thumbs)');
  if (typeof body.item !== 'string' || !body.item) return badRequest('item (the sku the feedback is about) is required');
  const ev = { type: 'feedback', item: body.item, rating };
  if (typeof body.unit === 'string' && body.unit.length <= 64) ev.unit = body.unit;
  const headers = new Headers(request.headers);
  headers.delete('content-length'); // a new body
  const fwd = new Request(request.url, { method: 'POST', headers, body: JSON.stringify(ev), cf: request.cf }); // cf: the traffic class
  const keepDays = Number(env.FEEDBACK_TEXT_DAYS ?? 0);
  if (body.text !== undefined && (typeof body.text !== 'string' || body.text.length > 2000)) return badRequest('text must be a string of at most 2000 characters');
  const res = await postEvents(fwd, env, ctx);
  if (res.status === 202 && keepDays > 0 && typeof body.text === 'string' && body.text.trim()) {
    const id = await identify(request, env, Date.now(), { activity: false });
    if (!id.optedOut && !id.error && env.EDGEREC_EVENTS) {
      const now = new Date();
      const key = `feedback-text/${now.toISOString().slice(0, 10).replaceAll('-', '/')}/${crypto.randomUUID()}.json`;
      ctx.waitUntil?.(env.EDGEREC_EVENTS.put(key, JSON.stringify({ ts: Math.floor(now / 1000), item: body.item, rating, text: body.text, user: id.uidHash }),
        { customMetadata: { delete_after: String(Math.floor(now / 1000) + Math.round(keepDays * 86400)) } }).catch(() => {}));
    }
  }
  return res;
}

async function getProfile(request, env) {
  const id = await identify(request, env);
  if (id.error) return Response.json({ error: 'edge not configured' }, { status: 503, headers: NO_STORE });
  if (id.optedOut) {
    const headers = new Headers(NO_STORE);
    for (const c of id.setCookies ?? []) headers.append('set-cookie', c);
    return Response.json({ stored: false, reason: id.reason }, { headers });
  }
  const engine = await store.get(env);
  const state = await loadState(request, env, id);
  let profile = null;
  if (state.profile && engine) { try { profile = engine.profileJson(state.profile); } catch { profile = null; } }
  return Response.json({
    stored: !!state.profile,
    id: id.uidHash, // the pseudonymous id events carry (HMAC); the raw cookie value is never stored
    where: id.customerKey ? ['cookie er_p (encrypted)', 'KV profile copy (signed in)'] : ['cookie er_p (encrypted)'],
    profile,
    cart: state.cart,
    since: state.since ?? null, // when this state was first created (unix s): young ones count less (docs/anti-gaming.md)
  }, { headers: NO_STORE });
}

async function deleteProfile(request, env) {
  let id; // also for opted-out shoppers; never mints an id
  try { id = await erasureIds(request, env); } catch { return Response.json({ error: 'edge not configured' }, { status: 503, headers: NO_STORE }); }
  const headers = new Headers(NO_STORE);
  for (const c of clearCookies()) headers.append('set-cookie', c); // the cookie profile goes at once, whatever KV does
  let tombstones;
  try { // tombstones (excluded from every later export and training run), the KV copy, an app id's key (erasure.js)
    tombstones = await eraseIds(env, id, Math.floor(Date.now() / 1000), { appKey: request.headers.has(ID_HEADER) });
  } catch (e) {
    console.error(`edgerec: erase: ${e.message}`);
    return Response.json({ erased: false, cookies_cleared: true, error: 'the erasure could not be recorded: try again' }, { status: 503, headers });
  }
  return Response.json({ erased: true, tombstones }, { headers });
}

/** The Worker's plumbing, for the units routes (recommend.js). */
const IO = {
  identify, liveManifest, placeFor, engineFor, loadState, logEvents, contextFor,
  activeEngine: (env) => store.get(env),
  activeVersion: () => store.version,
};
