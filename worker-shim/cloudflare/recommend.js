// recommend.js — recommendation units on Cloudflare: Adobe's `recommendations` /
// `recommendationsByUnitIds` on /graphql (answered here, never sent to Magento) and
// GET /edge/recommend for apps.  The wire format and the mapping are core/recommendations.js's;
// this module supplies the platform: the shopper (identity, arm, profile), the engine of the arm,
// the configured units (units-store.js), the catalog view in KV (core/catalog.js), the shared
// cache for documents that are the same for everyone, CORS, and the impression events.
//
//   answerRecommendations(request, env, ctx, op, io) → Response   (op: graphql.js readOperation's)
//   recommendRest(request, env, ctx, url, io)        → Response
// `io` is the Worker's own plumbing (worker.js): identify, liveManifest, placeFor, engineFor,
// activeEngine, activeVersion, loadState, logEvents, contextFor.
import { allowedOrigins, corsHeaders } from '../core/cors.js';
import { executeRecommendations, mixedError, recommendationsRequest, resolveUnits, restAnswer, restArgs, restUnits, storeOf, unitsPolicy } from '../core/recommendations.js';
import { catalogLookup, parseStores } from './catalog-sync.js';
import { liveUnits } from './units-store.js';
import { parseWebsites } from '../core/segments.js';
import { edgeDeadlineMs, withDeadline } from './deadline.js';
import { cacheMatch, cachePut } from './origin.js';

const SHARED_MAX_AGE = 300; // seconds a document that is the same for everyone may be kept
const sharedSeen = new Set(); // cache keys answered the same for everyone (per isolate, bounded)

const settings = new Map(); // a setting's text → what it parses to (per isolate; settings rarely change)
function parsed(key, text, parse) {
  const k = `${key}\u0000${text ?? ''}`;
  if (!settings.has(k)) { if (settings.size > 16) settings.clear(); settings.set(k, parse(text)); }
  return settings.get(k);
}
/** The allowed CORS origins (CORS_ORIGINS), parsed once per isolate. */
export const originsOf = (env) => parsed('cors', env.CORS_ORIGINS, allowedOrigins);

/** STORE_WEBSITES ("store:website,…", segments' `website`) as a Map, parsed once per isolate (a bad
 * setting: no store has a website, so a website segment matches nobody). */
export const websitesOf = (env) => parsed('websites', env.STORE_WEBSITES, (t) => parseWebsites(t).map ?? new Map());

/** The request's store view, currency and group; the default is CATALOG_STORES' first store view. */
export function storeFor(request, env) {
  const first = parsed('stores', env.CATALOG_STORES, (t) => {
    try { return parseStores(t ?? 'default:USD')[0]; } catch { return { store: 'default', currency: 'USD' }; } // a bad setting: /edge/health says so
  });
  return storeOf(request.headers, first);
}

/** The shopper and what may be used for them: {id, who, engine, state, personal, reason}. */
async function shopper(request, env, io) {
  const id = await io.identify(request, env);
  if (id.error) return { error: 'edge not configured' };
  const manifest = await io.liveManifest(env);
  // a scope or a rollout segment: the membership fixed at the first exposure is in the stored state
  const stored = manifest && (manifest.scope || manifest.segment) ? await io.loadState(request, env, id) : null;
  const who = await io.placeFor(request, env, id, manifest, stored ?? { profile: null, cart: [] });
  const engine = who.arm === 'holdout' || who.outside ? await io.activeEngine(env) : await io.engineFor(env, who.version);
  if (who.arm !== 'holdout' && !who.version) who.version = io.activeVersion();
  // the holdout gets non-personalized (popularity) units, so personalization's uplift can be measured; so do
  // shoppers outside the scope and everyone while paused (and nothing of theirs is logged)
  const { personal, reason } = who.outside ? { personal: false, reason: who.outside } : unitsPolicy(id, who.arm);
  const state = personal ? stored ?? await io.loadState(request, env, id) : { profile: null, cart: [] };
  return { id, who, manifest, engine, state, personal, reason };
}

/** What resolveUnits / executeRecommendations need, over this request's shopper and store. */
function depsFor(request, env, s, where, units, io) {
  const base = io.contextFor(request, null);
  return {
    personal: s.personal,
    config: units,
    recommend: (ctx, withProfile) => JSON.parse(s.engine.recommend(JSON.stringify({ ...base, ...ctx }), withProfile ? s.state.profile : null)),
    products: (skus) => catalogLookup(env, where.store, where.currency, skus),
  };
}

const json = (status, body, headers) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** Impressions of what was shown (personalized units only; client-sent histories are never logged),
 * queued after the response with the request's traffic class; the profile cookie is not rewritten for them. */
function logImpressions(request, env, ctx, s, served, headers, io) {
  for (const c of s.id.setCookies ?? []) headers.append('set-cookie', c); // a new shopper's er_uid / er_sid
  if (!s.personal) return;
  const events = served.filter((r) => r.products.length).map((r) => ({ type: 'impression', items: r.products.map((p) => p.sku), unit: String(r.unit.unitId ?? r.unit.typeId).slice(0, 64) }));
  if (events.length) io.logEvents({ request, env, ctx, id: s.id, engine: s.engine, state: s.state, events, who: s.manifest ? s.who : null });
}

function edgerecHeader(s) {
  const armTag = s.manifest && !s.who.outside ? `; arm=${s.who.arm}` : '';
  return s.reason ? `bypass; reason=${s.reason}${armTag}` : `recommended; model=${s.who.version}${armTag}`;
}

/** A recommendations document on /graphql: answered here with no origin request. */
export async function answerRecommendations(request, env, ctx, op, io) {
  const cors = corsHeaders(request, originsOf(env));
  if (recommendationsRequest(op) === 'mixed') return json(200, mixedError(), { ...cors, 'cache-control': 'no-store', 'x-edgerec': 'bypass; reason=mixed-document' });
  const where = storeFor(request, env);
  const s = await shopper(request, env, io);
  if (s.error) return json(503, { errors: [{ message: s.error }] }, { ...cors, 'cache-control': 'no-store' });
  if (!s.engine) return json(200, { errors: [{ message: 'no bundle loaded yet: recommendations are not available' }] }, { ...cors, 'cache-control': 'no-store', 'x-edgerec': 'bypass; reason=no-bundle' });
  // the shared cache: documents whose units are the same for everyone (popularity, no history)
  const cache = request.method === 'GET' ? globalThis.caches?.default : null;
  const key = cache ? sharedKey(request, where, s.personal) : null; // a URL string: a Request is made only to use it
  // looked up only when it can hit: for a shopper who may be personalized, only documents this
  // isolate has seen answered the same for everyone (a Cache API round trip costs as much as the answer)
  if (key && (!s.personal || sharedSeen.has(key))) {
    const hit = await cacheMatch(cache, new Request(key, { method: 'GET' }), edgeDeadlineMs(env)); // a hung or failing lookup is a miss
    if (hit) {
      const headers = new Headers(hit.headers);
      for (const [k, v] of Object.entries(cors)) headers.set(k, v);
      headers.set('x-edgerec', `${edgerecHeader(s)}; cache=hit`);
      return new Response(hit.body, { status: hit.status, headers });
    }
  }
  const units = await liveUnits(env);
  const result = await executeRecommendations(op, depsFor(request, env, s, where, units, io));
  const headers = new Headers({ 'content-type': 'application/json', ...cors, 'x-edgerec': edgerecHeader(s) });
  const shared = !result.personal && !result.body.errors;
  headers.set('cache-control', shared ? `public, max-age=${SHARED_MAX_AGE}` : 'private, no-store');
  const body = JSON.stringify(result.body);
  if (shared && key) {
    sharedSeen.add(key);
    if (sharedSeen.size > 1000) sharedSeen.delete(sharedSeen.values().next().value);
    const put = cachePut(cache, new Request(key, { method: 'GET' }), new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': `public, max-age=${SHARED_MAX_AGE}` } }));
    ctx.waitUntil?.(put);
  }
  logImpressions(request, env, ctx, s, result.units, headers, io);
  return new Response(body, { status: result.status, headers });
}

/** The shared-cache key (its URL): store view, currency, customer group, whether personalization was
 * allowed, and the request's query (the document and its variables: page type, sku, …). */
function sharedKey(request, where, personal) {
  const u = new URL(request.url);
  const k = new URL('https://edgerec.cache/recommendations');
  k.searchParams.set('store', where.store);
  k.searchParams.set('currency', where.currency);
  k.searchParams.set('group', where.group);
  k.searchParams.set('p', personal ? '1' : '0');
  k.searchParams.set('q', u.search);
  return k.toString();
}

/** GET /edge/recommend?pageType=&sku=&category=&cart=&unit=&k=&exclude= : the same units as JSON.
 * Bounded by EDGE_DEADLINE_MS; past it, or when something fails, an empty answer (200, no units,
 * `x-edgerec: bypass; reason=deadline|trap|error`): the page shows no unit, never an error. */
export async function recommendRest(request, env, ctx, url, io) {
  try {
    return await withDeadline(restAnswerFor(request, env, ctx, url, io), edgeDeadlineMs(env), 'recommendations');
  } catch (e) {
    console.error(`edgerec: /edge/recommend: ${e.stack || e}`);
    const reason = e?.code === 'trap' || e?.code === 'deadline' ? e.code : 'error';
    return json(200, { results: [], totalResults: 0 }, { ...corsHeaders(request, originsOf(env)), 'cache-control': 'no-store', 'x-edgerec': `bypass; reason=${reason}` });
  }
}

async function restAnswerFor(request, env, ctx, url, io) {
  const cors = corsHeaders(request, originsOf(env));
  const q = restArgs(url.searchParams);
  if (q.error) return json(400, { error: q.error }, { ...cors, 'cache-control': 'no-store' });
  const where = storeFor(request, env);
  const s = await shopper(request, env, io);
  if (s.error) return json(503, { error: s.error }, { ...cors, 'cache-control': 'no-store' });
  if (!s.engine) return json(200, { results: [], totalResults: 0 }, { ...cors, 'cache-control': 'no-store', 'x-edgerec': 'bypass; reason=no-bundle' });
  const config = await liveUnits(env);
  const units = restUnits(q, config);
  let resolved;
  try {
    resolved = await resolveUnits(q.args, { ...depsFor(request, env, s, where, config, io), units });
  } catch (e) {
    if (e?.code === 'trap') throw e;
    return json(400, { error: e.message }, { ...cors, 'cache-control': 'no-store' });
  }
  const headers = new Headers({ 'content-type': 'application/json', ...cors, 'x-edgerec': edgerecHeader(s) });
  headers.set('cache-control', resolved.some((r) => r.personal) ? 'private, no-store' : `public, max-age=${SHARED_MAX_AGE}`);
  logImpressions(request, env, ctx, s, resolved, headers, io);
  return new Response(JSON.stringify(restAnswer(resolved)), { status: 200, headers });
}
