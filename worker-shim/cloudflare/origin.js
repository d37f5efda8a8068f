// origin.js — fetching Magento: the origin URL, the request the origin sees
// (edgerec's cookies and headers stripped), and the shared cache.
//
// The Cache API holds ORIGIN responses only, never personalized bytes, and
// only when the origin allows shared caching (its Cache-Control) and the
// response sets no cookie.  The key is the URL plus the headers Magento varies
// by — `store`, `content-currency`, `x-magento-cache-id` — never the shopper.
// A request with `authorization` and no cache id is not shared-cached, and
// only a well-formed GraphQL answer (JSON, no `errors`) is shared.

import { readBounded } from '../core/body.js';
import { DEFAULT_DEADLINE_MS, withDeadline } from './deadline.js';

const MAX_SHARED_BYTES = 4 * 1024 * 1024; // larger answers are passed through, not kept

/** The URL the origin gets: the request's, or its path on ORIGIN_URL (local use). */
export function originUrl(request, env) {
  const url = new URL(request.url);
  if (!env.ORIGIN_URL) return url;
  const o = new URL(env.ORIGIN_URL);
  url.protocol = o.protocol;
  url.host = o.host;
  if (o.pathname && o.pathname !== '/') url.pathname = o.pathname.replace(/\/$/, '') + url.pathname;
  return url;
}

/** May this origin response go to the shared cache? */
export function sharedCacheable(response) {
  if (response.status !== 200 || response.headers.has('set-cookie')) return false;
  const cc = (response.headers.get('cache-control') || '').toLowerCase();
  if (!cc || /\b(private|no-store|no-cache)\b/.test(cc)) return false;
  return /\bpublic\b|\bs-maxage\s*=\s*[1-9]|\bmax-age\s*=\s*[1-9]/.test(cc);
}

/** The shared-cache key of a GET, or null when the request must not be shared-cached. */
export function cacheKey(url, headers) {
  const cacheId = headers.get('x-magento-cache-id');
  if (headers.has('authorization') && !cacheId) return null;
  const k = new URL(url);
  // the key only names a cache entry; it is never fetched
  k.searchParams.set('__er_store', headers.get('store') ?? '');
  k.searchParams.set('__er_currency', headers.get('content-currency') ?? '');
  k.searchParams.set('__er_cache_id', cacheId ?? '');
  return new Request(k.toString(), { method: 'GET' });
}

/**
 * Fetch from the origin: GETs through the shared cache when allowed.  `cacheDeadlineMs` bounds the
 * Cache API lookup (a hung or failing lookup is a miss; anything but a Response is ignored);
 * `originTimeoutMs` (0: none) bounds the wait for the origin's response headers: past it the
 * request is aborted and a DeadlineError with code 'origin-timeout' is thrown.
 * @returns {Promise<{response: Response, cache: 'hit'|'miss'|'bypass'}>}
 */
export async function fetchOrigin(url, init, ctx, { cacheDeadlineMs = DEFAULT_DEADLINE_MS, originTimeoutMs = 0 } = {}) {
  const cache = globalThis.caches?.default;
  const key = init.method === 'GET' && cache ? cacheKey(url, init.headers) : null;
  if (key) {
    const hit = await cacheMatch(cache, key, cacheDeadlineMs);
    if (hit) return { response: hit, cache: 'hit' };
  }
  const response = await fetchBounded(url, init, originTimeoutMs);
  if (key && sharedCacheable(response)) {
    // only a well-formed GraphQL answer is shared: a broken body marked public is not kept for an hour
    // read up to MAX_SHARED_BYTES + 1: a larger answer streams on as it came, unshared
    const read = await readBounded(response, MAX_SHARED_BYTES);
    const init = { status: response.status, statusText: response.statusText, headers: response.headers };
    if (read.over) return { response: new Response(read.body, init), cache: 'bypass' };
    const bytes = read.bytes;
    const fresh = new Response(bytes, init);
    let good = false;
    try {
      const doc = JSON.parse(new TextDecoder().decode(bytes));
      good = !!doc && typeof doc === 'object' && !Array.isArray(doc) && doc.errors === undefined;
    } catch { good = false; }
    if (good) {
      const put = cachePut(cache, key, fresh.clone());
      if (ctx?.waitUntil) ctx.waitUntil(put); else await put;
      return { response: fresh, cache: 'miss' };
    }
    return { response: fresh, cache: 'bypass' };
  }
  return { response, cache: 'bypass' };
}

/** fetch() whose response headers must arrive within `ms` (0: no limit); the request is aborted past it. */
async function fetchBounded(url, init, ms) {
  if (!(ms > 0)) return fetch(url.toString(), init);
  const ctl = new AbortController();
  try {
    return await withDeadline(fetch(url.toString(), { ...init, signal: ctl.signal }), ms, 'the origin');
  } catch (e) {
    if (e?.code === 'deadline') { ctl.abort(); e.code = 'origin-timeout'; }
    throw e;
  }
}

/** A Cache API lookup bounded by `ms`: the entry (as a fresh Response) or undefined when there is
 * none, the lookup fails or hangs, or what it gives is not a 200 JSON object (then it is a miss). */
export async function cacheMatch(cache, key, ms) {
  const hit = await withDeadline(Promise.resolve().then(() => cache.match(key)), ms, 'Cache API match').catch(() => undefined);
  return (hit instanceof Response && await wellFormedHit(hit)) || undefined;
}

/** A Cache API put that never rejects (nor throws): a failed put only means a later miss. */
export const cachePut = (cache, key, response) => Promise.resolve().then(() => cache.put(key, response)).catch(() => {});

/** A cached answer that still looks like the JSON object it was stored as (a cheap check of its
 * first and last bytes, not a parse), as a fresh Response; null (a miss) when it does not. */
async function wellFormedHit(hit) {
  try {
    if (hit.status !== 200) return null;
    const bytes = new Uint8Array(await hit.arrayBuffer());
    let i = 0, j = bytes.length - 1;
    while (i <= j && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
    while (j >= i && (bytes[j] === 0x20 || bytes[j] === 0x0a || bytes[j] === 0x0d || bytes[j] === 0x09)) j--;
    if (bytes[i] !== 0x7b || bytes[j] !== 0x7d) return null; // '{' … '}'
    return new Response(bytes, { status: hit.status, statusText: hit.statusText, headers: hit.headers });
  } catch { return null; }
}
