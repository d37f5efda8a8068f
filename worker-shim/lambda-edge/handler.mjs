// handler.mjs — edgerec on Lambda@Edge: the same engine and rules as the Cloudflare Worker
// (worker.js), as a thin adapter over the shared modules (engine.js, graphql.js, identity.js,
// state.js, lifecycle.js's assignArm) and the CloudFront event shapes (cloudfront.mjs).
//
//   const handler = createHandler({config, module, fallbackBundle, secrets, fetchObject, sink});
//   export { handler };   // (event, context) → the request (step aside) or a generated response
//
// One function serves every association (it reads cf.config.eventType and the URI):
//   /graphql*                 viewer-request (or origin-request, see docs/lambda-edge.md): a product
//                             listing in the store's default order is fetched through CloudFront's
//                             cache (config.origin: a cacheable behaviour, never around the cache),
//                             re-ranked for the shopper and returned as a generated response
//                             (`x-edgerec: reranked; model=V`, `Cache-Control: private`); a product
//                             page is returned as fetched with a `view` event; the holdout gets the
//                             origin's order with an `impression`.
//   <internalPrefix>/*        origin-request on the cacheable behaviour: the prefix is removed so
//                             Magento sees /graphql (runs on cache misses only)
//   /edge/events  POST        events from apps and pages (≤ 40 KB at a viewer trigger)
//   /edge/feedback POST       thumbs up / down or a 1–5 rating on an item (a `feedback` event)
//   /edge/recommend GET       recommendation units (core/recommendations.js, as the Worker); and
//   /graphql recommendations  Adobe's recommendations / recommendationsByUnitIds, answered here
//   /edge/profile GET|DELETE  what is stored about the shopper / erase it
//   /edge/health  GET         bundle, manifest and secrets status (never the secrets)
//   /edge/recs.js GET|HEAD    the storefront script (worker-shim/browser/recs.js in the package)
//
// Fail-open.  Whatever the handler cannot or should not personalize — a mutation, an explicit
// sort, a truncated body, an opted-out shopper, a cold start or secret still loading, a fetch
// that fails or answers non-200 or over 4 MB, a response over the trigger's generated-response
// limit — it steps aside: the request goes on through CloudFront to the origin untouched (but
// for edgerec's cookies and headers, which never reach the origin).  When it has the origin's
// 200 answer but does not re-rank it (engine reason, trap, budget), it returns those bytes with
// `x-edgerec: bypass; reason=…`, as the Worker does.  An exception never leaves the handler.
import { readBounded } from '../core/body.js';
import { siteRefusal } from '../core/request-site.js';
import { executeRecommendations, mixedError, recommendationsRequest, resolveUnits, restAnswer, restArgs, restUnits, storeOf, unitsPolicy } from '../core/recommendations.js';
import { cartSkus, explicitSort, firstProduct, isListing, listedSkus, pageType, productViewKey, readOperation, wishlistSkus } from '../core/graphql.js';
import { clearCookies, erasureIds, ID_HEADER, identify, KEY_HEADER, openProfile, PROFILE_HEADER, profileCookie, sealProfile } from '../core/identity.js';
import { sealedProfileProves } from '../core/app-key.js';
import { deviceOf, placeShopper, segmentOf } from '../core/segments.js';
import { applyEvents, decodeState, encodeState } from '../core/state.js';
import { classifyTraffic, markEvent, stripEdgeFields } from '../core/traffic.js';
import { scriptAnswer } from '../core/storefront-script.js';
import { addHeaders, generate, jsonResponse, limitsFor, requestBody, requestUrl, stepAside, toHeaders } from './cloudfront.mjs';
import { readFile } from 'node:fs/promises';
import { Runtime } from './runtime.mjs';
import { localHour } from '../core/local-hour.js';

const MAX_EVENTS_BODY = 64 * 1024;
const COOKIE_RESERVE = 3_200; // Set-Cookie er_p (≤ 1,403-character value) + er_uid + er_sid, or x-edgerec-profile
const SAFETY_MS = 600; // kept between the handler's own deadline and the Lambda timeout
const URL_MAX = 8_000; // CloudFront: URI + query string < 8,192 characters
const dec = new TextDecoder();

/** The Lambda handler over a Runtime (options as Runtime's, or {runtime}). */
export function createHandler(options) {
  const rt = options.runtime ?? new Runtime(options);
  const handler = (event, context) => handle(rt, event, context);
  handler.runtime = rt;
  return handler;
}

async function handle(rt, event, context) {
  const started = performance.now();
  const cf = event?.Records?.[0]?.cf;
  const request = cf?.request;
  if (!request || typeof request.uri !== 'string') return cf?.response ?? request; // not a request event
  const eventType = cf.config?.eventType ?? 'viewer-request';
  if (eventType !== 'viewer-request' && eventType !== 'origin-request') return cf.response ?? request;
  const limits = limitsFor(eventType);
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : limits.timeoutMs;
  const budget = Math.min(rt.config.budgetMs ?? limits.timeoutMs - 1000, remaining - SAFETY_MS);
  const x = { rt, cf, request, eventType, limits, started, deadline: started + budget, budget };
  const uri = request.uri;
  try {
    const p = rt.config.internalPrefix;
    if (p && (uri === p || uri.startsWith(`${p}/`))) {
      request.uri = uri.slice(p.length) || '/';
      return stepAside(request);
    }
    if (uri.startsWith('/edge/')) return await edgeRoute(x);
    if (uri === '/graphql' || uri.startsWith('/graphql/')) return await graphql(x);
    return stepAside(request);
  } catch (e) {
    rt.log.error(`edgerec: ${uri}: ${e.stack || e}`);
    if (uri.startsWith('/edge/')) return jsonResponse(500, { error: 'internal error' }, [], limits.responseBytes);
    return stepAside(request);
  }
}

const left = (x) => x.deadline - performance.now();
const coldWait = (x) => Math.min(x.rt.config.coldStartWaitMs ?? x.budget / 2, left(x) - 200);

/** Wait for the cold start (bounded) and the due refreshes (briefly); true when the secrets are there. */
async function ready(x) {
  if (!(await x.rt.ready(coldWait(x)))) return false;
  await x.rt.refreshIfDue(Math.min(x.rt.config.refreshWaitMs, left(x) / 4));
  return !!x.rt.env;
}

// ---- /graphql ------------------------------------------------------------------------------------

async function graphql(x) {
  const { rt, request } = x;
  const method = request.method;
  if (method !== 'GET' && method !== 'POST') return stepAside(request);
  let bodyText = null;
  if (method === 'POST') {
    const b = requestBody(request);
    if (typeof b.text !== 'string') return stepAside(request); // Include body off, or truncated: the origin gets the whole body
    bodyText = b.text;
  }
  const { op } = readOperation(method, requestUrl(request), bodyText);
  if (!op) return stepAside(request); // not ours (malformed, over the document limits, unknown operation)
  const headers = toHeaders(request.headers);
  const refused = crossSite(x, {}, headers); // another site's page (core/request-site.js): nothing recorded, nothing answered for the shopper
  if (recommendationsRequest(op)) {
    if (refused) return jsonResponse(403, { errors: [{ message: refused.error, extensions: { category: 'edgerec-cross-site' } }] }, [], x.limits.responseBytes);
    return recommendationsGraphql(x, op); // answered here: Magento never sees it
  }
  if (refused) return stepAside(request); // the origin's answer, as if edgerec were not there
  if (op.mutation) {
    await logCart(x, op); // the mutation itself goes to Magento exactly once, untouched
    return stepAside(request);
  }
  if (explicitSort(op)) return stepAside(request); // the shopper's sort is respected
  const viewKey = productViewKey(op);
  if (!viewKey && !isListing(op)) return stepAside(request); // no product listing asked
  if (!rt.config.origin) return stepAside(request);
  if (!(await ready(x))) return stepAside(request); // cold start still loading, or no secrets
  const id = await identify({ headers }, rt.env, rt.now());
  if (id.error || id.optedOut) return stepAside(request);
  const manifest = rt.manifest;
  const state = await loadState(rt, id);
  const who = await arm(rt, manifest, id, headers, state);
  const engine = who.arm === 'canary' ? rt.engineFor(who.version) : rt.engineFor(null);
  if (!engine && !viewKey && who.arm !== 'holdout' && !who.outside) return stepAside(request); // no bundle for this shopper
  if (!rt.engineFor(null) && !engine) return stepAside(request);
  const origin = await fetchThroughCache(x, op, headers);
  if (!origin.ok) return stepAside(request);
  return respond(x, { op, id, who, manifest, engine, viewKey, headers, origin, state });
}

/** The origin's answer through CloudFront's cacheable behaviour (config.origin), with only the
 * headers Magento's answer depends on (config.forwardHeaders: never cookies, never edgerec's). */
async function fetchThroughCache(x, op, headers) {
  const { rt, request, cf } = x;
  let qs = request.querystring ?? '';
  if (request.method === 'POST') { // a POSTed query is asked as Magento's cacheable GET form
    const p = new URLSearchParams({ query: op.query });
    if (op.operationName) p.set('operationName', op.operationName);
    p.set('variables', JSON.stringify(op.variables));
    qs = p.toString();
  }
  if ((rt.config.internalPrefix?.length ?? 0) + request.uri.length + qs.length + 1 > URL_MAX) return { ok: false, reason: 'url-length' };
  const base = rt.config.origin.replace('{distribution}', cf.config?.distributionDomainName ?? '').replace(/\/+$/, '');
  const url = `${base}${request.uri}${qs ? `?${qs}` : ''}`;
  const h = new Headers({ accept: 'application/json' });
  for (const n of rt.config.forwardHeaders) { const v = headers.get(n); if (v !== null) h.set(n, v); }
  const ms = Math.floor(left(x) - 150); // leaves time to re-rank and answer
  if (ms < 100) return { ok: false, reason: 'deadline' };
  const signal = AbortSignal.timeout(ms);
  let res;
  try {
    res = await fetch(url, { headers: h, redirect: 'manual', signal });
  } catch {
    return { ok: false, reason: 'origin-fetch' };
  }
  const max = rt.config.maxResponseBytes;
  if (res.status !== 200) { res.body?.cancel().catch(() => {}); return { ok: false, reason: 'origin-status' }; }
  const read = await readBounded(res, max).catch(() => null); // up to max + 1 bytes, never further
  if (!read || read.over) { read?.body?.cancel().catch(() => {}); return { ok: false, reason: 'oversized' }; } // over, or the body failed
  return { ok: true, headers: res.headers, bytes: read.bytes };
}

/** Cache-Control for a personal response: the origin's when it forbids storing, else private. */
function privateCacheControl(originCc) {
  return /\bno-store\b/i.test(originCc ?? '') ? originCc : 'private';
}

function originPairs(h) {
  const pairs = [];
  for (const [k, v] of h) if (k !== 'set-cookie') pairs.push([k, v]);
  for (const c of h.getSetCookie?.() ?? []) pairs.push(['set-cookie', c]);
  return pairs;
}

/** The viewer's device (core/segments.js deviceOf, with CloudFront's own verdict as hints). */
const viewerDevice = (headers) => deviceOf(headers, {
  mobileHint: headers.get('cloudfront-is-mobile-viewer') === 'true', tabletHint: headers.get('cloudfront-is-tablet-viewer') === 'true',
});

function contextFor(headers, page, now, k) {
  const ctx = { now: Math.floor(now / 1000) };
  if (page) ctx.page = { type: page };
  const device = viewerDevice(headers);
  if (device) ctx.device = device;
  // CloudFront adds these after the viewer-request event: an origin-request trigger sees them
  // when the origin request policy includes them
  const country = headers.get('cloudfront-viewer-country');
  if (country && country.length <= 8) ctx.country = country;
  const tz = headers.get('cloudfront-viewer-time-zone');
  const hour = localHour(tz, new Date(now)); // null: no zone, or an unknown one
  if (hour !== null) ctx.hour = hour;
  if (k) ctx.k = k;
  return ctx;
}

function safeListed(bytes) {
  try { return listedSkus(JSON.parse(dec.decode(bytes))); } catch { return []; }
}

async function respond(x, { op, id, who, manifest, engine, viewKey, headers, origin, state }) {
  const { rt, request, limits } = x;
  const bytes = origin.bytes;
  const profileEngine = engine ?? rt.engineFor(null);
  const events = [];
  let body = bytes, reason = null, personalized = false, timing = null, units = null;

  if (viewKey) {
    let p = null;
    try { p = firstProduct(JSON.parse(dec.decode(bytes))); } catch { p = null; }
    if (p) events.push({ type: 'view', item: p.sku });
    reason = 'product';
  } else if (who.outside) {
    reason = who.outside; // paused / out-of-scope: the origin's order; logged without arm or run (counted nowhere)
    const shown = safeListed(bytes);
    if (shown.length > 1) events.push({ type: 'impression', items: shown, unit: 'listing' });
  } else if (who.arm === 'holdout') {
    reason = 'holdout'; // the origin's order: what personalization is worth
    const shown = safeListed(bytes);
    if (shown.length > 1) events.push({ type: 'impression', items: shown, unit: 'listing' });
  } else {
    const t0 = performance.now();
    let r;
    try {
      r = engine.rerank(bytes, JSON.stringify(contextFor(headers, pageType(op), rt.now())), state.profile);
    } catch (e) {
      rt.log.error(`edgerec: rerank: ${e.message}`);
      r = { ok: false, reason: e.code === 'trap' ? 'trap' : 'error' };
      await metric(rt, 'error', who);
    }
    const dt = performance.now() - t0;
    if (r.ok) {
      body = r.body;
      personalized = true;
      if (dt > 0) timing = dt;
      units = engine.units();
      const shown = safeListed(body);
      if (shown.length) events.push({ type: 'impression', items: shown, unit: 'listing', units });
    } else {
      reason = r.reason;
      if (r.reason === 'budget') await metric(rt, 'bypass', who); // the engine's own limit, not the origin's data
    }
  }

  const consentGiven = id.consent !== false;
  const remember = consentGiven && (events.length > 0 || personalized);
  const pairs = originPairs(origin.headers);
  const armTag = manifest && !who.outside ? `; arm=${who.arm}` : '';
  const observed = !personalized && events.length && consentGiven;
  pairs.push(['x-edgerec', who.outside ? `bypass; reason=${who.outside}` : personalized ? `reranked; model=${who.version}${armTag}`
    : observed ? `observed; events=${[...new Set(events.map((e) => e.type))].join(',')}${armTag}` : `bypass; reason=${reason}${armTag}`]);
  if (timing !== null) pairs.push(['server-timing', `edgerec;dur=${timing.toFixed(3)};desc="rerank"`]);
  if (personalized || remember) {
    const cc = origin.headers.get('cache-control');
    for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i][0] === 'cache-control' || pairs[i][0] === 'etag') pairs.splice(i, 1);
    pairs.push(['cache-control', privateCacheControl(cc)]);
  }
  const g = generate({
    status: 200, headers: pairs, body, acceptEncoding: headers.get('accept-encoding'),
    limit: limits.responseBytes, reserve: remember ? COOKIE_RESERVE : 0,
  });
  if (g.tooLarge) return stepAside(request); // over the trigger's limit even compressed: CloudFront serves it
  if (!remember) return g.response;
  let extra = [];
  if (events.length) { // as the Worker: cookies go out with a profile that was stored
    const sealed = await record(rt, { request, id, engine: profileEngine, state, events, who: manifest && !who.outside ? who : null });
    if (sealed) extra = identityHeaders(id, sealed);
  } else if (personalized) extra = identityHeaders(id, null);
  const done = addHeaders(g.response, extra, limits.responseBytes);
  return done.tooLarge ? stepAside(request) : done.response;
}

/** A request metric for the KPIs (engine failures on a model arm): an ops record, not an event. */
async function metric(rt, kind, who) {
  if (who.version) await rt.ops({ metric: kind, arm: who.arm, model: who.version, run: who.run ?? undefined });
}

/** The shopper's state from the sealed profile (cookie er_p, or an app's x-edgerec-profile). */
async function loadState(rt, id) {
  let state = null;
  if (id.profileValue && id.uidHash) state = decodeState(await openProfile(rt.env, id.uidHash, id.profileValue));
  return state ?? { profile: null, cart: [] };
}

/** Fill the edge fields of each event, apply it to the profile (the engine validates it), mark
 * the valid ones with the traffic class (core/traffic.js) and hand them to the sink; the new
 * sealed profile (or null when there is nothing to keep).  Lambda@Edge has no rate limiter (no
 * event is flagged "rate-limited") and CloudFront no bot score (crawlers are known by their user
 * agent); the connection key is left out, because the sink stores what it is given. */
async function record(rt, { request, id, engine, state, events, who = null, seal = true }) {
  const before = { since: state.since };
  const full = applyEvents({ engine, state, events, id, who, activeVersion: rt.activeVersion, nowMs: rt.now() });
  if (!full.length) return null;
  const traffic = await classifyTraffic({ headers: toHeaders(request.headers) }, id, before, rt.env, rt.now());
  traffic.conn = null; // CloudWatch Logs / Firehose keep it: stored nowhere means not sent
  await rt.sink(full.map((ev) => markEvent(ev, traffic)));
  if (!seal || !id.uidHash) return null;
  return sealProfile(rt.env, id.uidHash, encodeState(state)); // null: over the cookie's size
}

/** Add-to-cart and add-to-wishlist mutations are not proxied (the mutation must reach Magento
 * exactly once): their SKUs (from the variables) are logged as `cart` / `wishlist` events for a known
 * shopper, as the Worker logs them; the cookie is not rewritten (the response is Magento's, untouched).
 * Magento's answer is never seen here, so a wishlist is logged only for a signed-in customer (a
 * bearer token): Magento refuses guests' wishlists, which the Worker sees in the answer's errors. */
async function logCart(x, op) {
  const { rt, request } = x;
  const skus = cartSkus(op), wished = wishlistSkus(op);
  if ((!skus && !wished) || !rt.isReady || !rt.env) return; // never holds a mutation up for a cold start
  const id = await identify({ headers: toHeaders(request.headers) }, rt.env, rt.now(), { activity: false });
  if (id.error || id.optedOut || id.consent === false || !id.uidHash || id.isNewUid) return;
  const events = [...(skus ?? []).map((item) => ({ type: 'cart', item })), ...(id.customerKey ? wished ?? [] : []).map((item) => ({ type: 'wishlist', item }))];
  if (!events.length) return;
  const engine = rt.engineFor(null);
  const state = await loadState(rt, id);
  await record(rt, { request, id, engine, state, events, who: await attribution(rt, id, toHeaders(request.headers), state), seal: false });
}

/** The shopper's place (core/segments.js placeShopper over the manifest from S3: the kill switch,
 * the scope, the rollout's segment, then core/arms.js's arm) and the version that serves it: the
 * canary's, or for the control arm the active bundle actually loaded (the last good one when the
 * manifest names a bundle that did not load); null for the holdout.  `state` keeps memberships. */
async function arm(rt, manifest, id, headers, state) {
  const facts = manifest && (manifest.scope || manifest.segment)
    ? segmentOf({ headers }, id, { store: storeOf(headers, rt.config.catalogStores[0]).store, country: headers.get('cloudfront-viewer-country'), device: viewerDevice(headers) })
    : null;
  const who = await placeShopper(manifest, facts, state, id.uidHash);
  if (who.arm === 'control') who.version = rt.activeVersion;
  return who;
}

/** The shopper's arm and model for events outside a listing (null without a manifest, and for
 * shoppers outside the scope or while paused: counted nowhere). */
async function attribution(rt, id, headers, state) {
  const manifest = rt.manifest;
  if (!manifest || !id.uidHash) return null;
  const who = await arm(rt, manifest, id, headers, state);
  return who.outside ? null : who;
}

// ---- /edge/* ---------------------------------------------------------------------------------------

async function edgeRoute(x) {
  const { request, limits } = x;
  const path = request.uri, method = request.method;
  const json = (status, value, extra = []) => jsonResponse(status, value, extra, limits.responseBytes);
  const allow = (a) => json(405, { error: `method not allowed (use ${a})` }, [['allow', a]]);
  if (path === '/edge/health') return method === 'GET' ? health(x) : allow('GET');
  if (SHOPPER_ROUTES.has(path)) { // another site's page may not act for the shopper (core/request-site.js)
    const refused = crossSite(x, { navigation: path === '/edge/profile' });
    if (refused) return json(403, { error: refused.error, site: refused.site }, [['vary', 'Origin, Sec-Fetch-Site']]);
  }
  if (path === '/edge/events') return method === 'POST' ? postEvents(x) : allow('POST');
  if (path === '/edge/feedback') return method === 'POST' ? postFeedback(x) : allow('POST');
  if (path === '/edge/recommend') return method === 'GET' ? recommend(x) : allow('GET');
  if (path === '/edge/recs.js') return method === 'GET' || method === 'HEAD' ? storefrontScript(x) : allow('GET, HEAD');
  if (path === '/edge/profile') {
    if (method !== 'GET' && method !== 'DELETE') return allow('GET, DELETE');
    if (!(await ready(x))) return notConfigured(x);
    const unproven = await appProofRefusal(x); // an app id needs its sealed profile
    if (unproven) return unproven;
    return method === 'GET' ? getProfile(x) : deleteProfile(x);
  }
  return json(404, { error: `no route ${method} ${path}` });
}

/** The routes that act for the shopper whose browser sends them: refused from other sites' pages. */
const SHOPPER_ROUTES = new Set(['/edge/events', '/edge/feedback', '/edge/profile', '/edge/recommend']);
const NO_OTHER_ORIGINS = new Set(); // the Lambda@Edge package serves no other storefront origin (no CORS)

/** The Worker's Origin / Sec-Fetch-Site rule on a CloudFront request: null, or why it is refused. */
function crossSite(x, opts = {}, headers = toHeaders(x.request.headers)) {
  const host = headers.get('host');
  const url = host ? `https://${host}${x.request.uri}` : requestUrl(x.request).href;
  return siteRefusal({ method: x.request.method, url, headers }, NO_OTHER_ORIGINS, opts);
}

let recsText = null; // the storefront script's text, read from the package on first use
/** GET /edge/recs.js: the storefront script, as the Worker serves it (core/storefront-script.js);
 * compressed when the viewer accepts it (it must fit the trigger's generated-response limit). */
async function storefrontScript(x) {
  recsText ??= await readFile(new URL('../browser/recs.js', import.meta.url), 'utf8');
  const h = toHeaders(x.request.headers);
  const a = await scriptAnswer(recsText, { method: x.request.method, ifNoneMatch: h.get('if-none-match') });
  const g = generate({ status: a.status, headers: Object.entries(a.headers), body: a.body === null ? null : new TextEncoder().encode(a.body),
    acceptEncoding: h.get('accept-encoding'), limit: x.limits.responseBytes });
  if (g.tooLarge) return jsonResponse(500, { error: `the storefront script is over this trigger's ${x.limits.responseBytes}-byte response limit: ask with Accept-Encoding: gzip or br` }, [], x.limits.responseBytes);
  return g.response;
}

async function health(x) {
  await ready(x);
  const s = x.rt.status();
  const ok = !!x.rt.engineFor(null) && s.secrets;
  return jsonResponse(ok ? 200 : 503, { ok, ...s }, [], x.limits.responseBytes);
}

/** The request's JSON body, or a response saying what is wrong with it. */
function jsonBody(x, max) {
  const b = requestBody(x.request);
  if (b.missing) return { error: jsonResponse(400, { error: 'no request body (send JSON; the trigger needs Include body)' }, [], x.limits.responseBytes) };
  if (b.truncated) return { error: jsonResponse(413, { error: `body over ${Math.min(max, x.limits.bodyBytes)} bytes` }, [], x.limits.responseBytes) };
  if (Buffer.byteLength(b.text) > max) return { error: jsonResponse(413, { error: `body over ${max} bytes` }, [], x.limits.responseBytes) };
  try { return { value: JSON.parse(b.text) }; } catch (e) {
    return { error: jsonResponse(400, { error: `body is not JSON: ${e.message}` }, [], x.limits.responseBytes) };
  }
}

const notConfigured = (x) => jsonResponse(503, { error: 'edge not configured' }, [], x.limits.responseBytes);

/** Set-Cookie and the sealed profile for an /edge/* answer. */
function identityHeaders(id, sealed) {
  const out = (id.setCookies ?? []).map((c) => ['set-cookie', c]);
  if (sealed) out.push(id.source === 'header' ? ['x-edgerec-profile', sealed] : ['set-cookie', profileCookie(sealed)]);
  return out;
}

async function postEvents(x, given = null) {
  const { rt, limits } = x;
  const b = given ?? jsonBody(x, MAX_EVENTS_BODY);
  if (b.error) return b.error;
  const list = (Array.isArray(b.value) ? b.value : [b.value]).map(stripEdgeFields); // trust, flag, conn, signed_in are the edge's
  const bad = (error) => jsonResponse(400, { error }, [], limits.responseBytes);
  if (!list.length) return bad('no events: send one event object or a non-empty array');
  if (list.length > 500) return bad(`${list.length} events: at most 500 per request`);
  if (!(await ready(x))) return notConfigured(x);
  const id = await identify({ headers: toHeaders(x.request.headers) }, rt.env, rt.now());
  if (id.error) return notConfigured(x);
  const engine = rt.engineFor(null);
  for (const [i, ev] of list.entries()) {
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) return bad(`event ${i}: must be a JSON object`);
    if (engine) {
      const problem = engine.checkEvent(JSON.stringify(ev));
      if (problem) return bad(`event ${i}: ${problem.replace(/^event: /, '')}`);
    } else if (typeof ev.type !== 'string' || (typeof ev.item !== 'string' && !Array.isArray(ev.items))) {
      return bad(`event ${i}: needs at least type and item`);
    }
  }
  if (id.optedOut) return jsonResponse(202, { accepted: 0, stored: false, reason: id.reason }, identityHeaders(id, null), limits.responseBytes);
  const state = await loadState(rt, id);
  const who = await attribution(rt, id, toHeaders(x.request.headers), state);
  const sealed = await record(rt, { request: x.request, id, engine, state, events: list.map((e) => ({ ...e, user: undefined })), who });
  return jsonResponse(202, { accepted: list.length }, identityHeaders(id, sealed), limits.responseBytes);
}

/** POST /edge/feedback {"item": "SKU", "thumbs": "up"|"down"} or {"item": "SKU", "rating": 1..5}
 * [, "unit": U]: a `feedback` event, as the Worker's (free text is never stored). */
function postFeedback(x) {
  const b = jsonBody(x, MAX_EVENTS_BODY);
  if (b.error) return b.error;
  const bad = (error) => jsonResponse(400, { error }, [], x.limits.responseBytes);
  const body = b.value;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return bad('body must be a JSON object');
  let rating = body.rating;
  if (body.thumbs !== undefined) {
    if (body.thumbs !== 'up' && body.thumbs !== 'down') return bad('thumbs must be "up" or "down"');
    rating = body.thumbs === 'up' ? 5 : 1;
  }
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) return bad('rating must be an integer in 1..5 (or send thumbs)');
  if (typeof body.item !== 'string' || !body.item) return bad('item (the sku the feedback is about) is required');
  const ev = { type: 'feedback', item: body.item, rating };
  if (typeof body.unit === 'string' && body.unit.length <= 64) ev.unit = body.unit;
  return postEvents(x, { value: ev });
}


/** The shopper for units: identity, arm, engine, profile, and whether personalization may be used
 * (not for the holdout, opted-out or unconsented shoppers: they get non-personalized units). */
async function unitsShopper(x, headers) {
  const { rt } = x;
  const id = await identify({ headers }, rt.env, rt.now());
  if (id.error) return { error: true };
  const manifest = rt.manifest;
  // a scope or a rollout segment: the membership fixed at the first exposure is in the stored state
  const stored = manifest && (manifest.scope || manifest.segment) ? await loadState(rt, id) : null;
  const who = await arm(rt, manifest, id, headers, stored ?? { profile: null, cart: [] });
  const engine = who.arm === 'canary' ? rt.engineFor(who.version) : rt.engineFor(null);
  const { personal, reason } = who.outside ? { personal: false, reason: who.outside } : unitsPolicy(id, who.arm);
  const state = personal ? stored ?? await loadState(rt, id) : { profile: null, cart: [] };
  const armTag = manifest && !who.outside ? `; arm=${who.arm}` : '';
  const version = who.version ?? rt.activeVersion;
  return { id, who, manifest, engine, personal, state, edgerec: reason ? `bypass; reason=${reason}${armTag}` : `recommended; model=${version}${armTag}` };
}

/** What core/recommendations.js needs over this request's shopper and store view. */
function unitsDeps(x, headers, s) {
  const { rt } = x;
  const where = storeOf(headers, rt.config.catalogStores[0]);
  const base = contextFor(headers, null, rt.now());
  return {
    personal: s.personal, config: rt.units,
    recommend: (ctx, withProfile) => JSON.parse(s.engine.recommend(JSON.stringify({ ...base, ...ctx }), withProfile ? s.state.profile : null)),
    products: (skus) => rt.catalogLookup(where.store, where.currency, skus),
  };
}

/** Impressions of the personalized units shown (client-sent histories are never logged). */
async function unitImpressions(x, s, served) {
  if (!s.personal || s.id.consent === false) return null;
  const events = served.filter((r) => r.products.length).map((r) => ({ type: 'impression', items: r.products.map((p) => p.sku), unit: String(r.unit.unitId ?? r.unit.typeId).slice(0, 64) }));
  return events.length ? record(x.rt, { request: x.request, id: s.id, engine: s.engine, state: s.state, events, who: s.manifest ? s.who : null }) : null;
}

/** A JSON answer within the viewer trigger's generated-response limit (compressed when accepted). */
function unitsAnswer(x, headers, status, body, pairs, shared) {
  const g = generate({ status, headers: [['content-type', 'application/json'], ['cache-control', shared ? 'public, max-age=300' : 'private, no-store'], ...pairs],
    body: new TextEncoder().encode(JSON.stringify(body)), acceptEncoding: headers.get('accept-encoding'), limit: x.limits.responseBytes });
  if (!g.tooLarge) return g.response;
  return jsonResponse(200, { errors: [{ message: `the answer is over the ${x.limits.responseBytes}-byte limit of a generated response: ask for fewer units or items` }] }, [], x.limits.responseBytes);
}

/** Adobe's recommendations / recommendationsByUnitIds, answered by the function (the Worker's
 * answer, shared code): GET for short documents (8 KB URLs), POST (Include body) for long histories. */
async function recommendationsGraphql(x, op) {
  const headers = toHeaders(x.request.headers);
  const fail = (message, reason) => unitsAnswer(x, headers, 200, { errors: [{ message }] }, [['x-edgerec', `bypass; reason=${reason}`]], false);
  if (recommendationsRequest(op) === 'mixed') return fail(mixedError().errors[0].message, 'mixed-document');
  if (!(await ready(x))) return fail('recommendations are not available yet (cold start)', 'cold-start');
  const s = await unitsShopper(x, headers);
  if (s.error) return fail('edge not configured', 'config');
  if (!s.engine) return fail('no bundle loaded: recommendations are not available', 'no-bundle');
  const result = await executeRecommendations(op, unitsDeps(x, headers, s));
  const sealed = await unitImpressions(x, s, result.units);
  return unitsAnswer(x, headers, result.status, result.body, [['x-edgerec', s.edgerec], ...identityHeaders(s.id, sealed)], !result.personal && !result.body.errors);
}

/** GET /edge/recommend?pageType=&sku=&category=&cart=&unit=&k=&exclude=  (and the older page=):
 * the same units as JSON, Adobe's shape without GraphQL (core/recommendations.js, as the Worker). */
async function recommend(x) {
  const { rt, request, limits } = x;
  const headers = toHeaders(request.headers);
  const q = restArgs(requestUrl(request).searchParams);
  if (q.error) return jsonResponse(400, { error: q.error }, [], limits.responseBytes);
  if (!(await ready(x))) return notConfigured(x);
  const s = await unitsShopper(x, headers);
  if (s.error) return notConfigured(x);
  if (!s.engine) return unitsAnswer(x, headers, 200, { results: [], totalResults: 0 }, [['x-edgerec', 'bypass; reason=no-bundle']], false);
  let resolved;
  try {
    resolved = await resolveUnits(q.args, { ...unitsDeps(x, headers, s), units: restUnits(q, rt.units) });
  } catch (e) {
    if (e.code === 'trap') throw e;
    return jsonResponse(400, { error: e.message }, [], limits.responseBytes);
  }
  const sealed = await unitImpressions(x, s, resolved);
  return unitsAnswer(x, headers, 200, restAnswer(resolved), [['x-edgerec', s.edgerec], ...identityHeaders(s.id, sealed)], !resolved.some((r) => r.personal));
}

/** GET|DELETE /edge/profile naming an app id (x-edgerec-id): null when the request proves it is that
 * app — its sealed profile opens under the id (core/app-key.js) — else the 403 naming what to send.
 * Lambda@Edge has no writable store at the edge, so it keeps no install keys (the Worker's
 * POST /edge/profile/key): the sealed profile is the proof here (docs/lambda-edge.md). */
async function appProofRefusal(x) {
  const { rt, limits } = x;
  const headers = toHeaders(x.request.headers);
  if (!headers.has(ID_HEADER)) return null; // a browser: its HttpOnly cookie, and the cross-site rule
  let ids;
  try { ids = await erasureIds({ headers }, rt.env); } catch { return notConfigured(x); }
  if (!ids.uidHash) return null; // a malformed id: nothing of an app id is touched
  if (await sealedProfileProves(rt.env, ids.uidHash, headers)) return null;
  return jsonResponse(403, { error: `proof of possession required for an app id: send the app's sealed profile in ${PROFILE_HEADER} (Lambda@Edge keeps no install keys: ${KEY_HEADER} is not checked here)` },
    [], limits.responseBytes);
}

async function getProfile(x) {
  const { rt, limits } = x;
  if (!(await ready(x))) return notConfigured(x);
  const id = await identify({ headers: toHeaders(x.request.headers) }, rt.env, rt.now(), { activity: false });
  if (id.error) return notConfigured(x);
  if (id.optedOut) return jsonResponse(200, { stored: false, reason: id.reason }, identityHeaders(id, null), limits.responseBytes);
  const state = await loadState(rt, id);
  const engine = rt.engineFor(null);
  let profile = null;
  if (state.profile && engine) { try { profile = engine.profileJson(state.profile); } catch { profile = null; } }
  return jsonResponse(200, {
    stored: !!state.profile,
    id: id.isNewUid ? null : id.uidHash, // the pseudonymous id events carry (HMAC); the raw cookie value is never stored
    where: [id.source === 'header' ? 'x-edgerec-profile (encrypted, kept by the app)' : 'cookie er_p (encrypted)'],
    profile,
    cart: state.cart,
    since: state.since ?? null, // when this state was first created (unix s): young ones count less
  }, [], limits.responseBytes);
}

/** DELETE /edge/profile: the cookies go at once; an erasure record (the pseudonymous id) goes
 * to the erasure log so that the event pipeline drops the shopper's events (docs/lambda-edge.md). */
async function deleteProfile(x) {
  const { rt, limits } = x;
  if (!(await ready(x))) return notConfigured(x);
  let ids;
  try { ids = await erasureIds({ headers: toHeaders(x.request.headers) }, rt.env); } catch { return notConfigured(x); }
  const cookies = clearCookies().map((c) => ['set-cookie', c]);
  if (ids.uidHash) await rt.ops({ erase: ids.uidHash });
  return jsonResponse(200, { erased: true, tombstones: ids.uidHash ? 1 : 0 }, cookies, limits.responseBytes);
}
