// request-site.js — may this request act for the shopper whose browser sent it?  The Origin /
// Sec-Fetch-Site rule that keeps other sites from driving a shopper's browser against the edge's
// routes (POST /edge/events, /edge/feedback, GET|DELETE /edge/profile, GET /edge/recommend, the
// recommendation documents and the shopper events of /graphql).  docs/profile.md, *Cross-site requests*.
//
//   siteRefusal(request, allowed, { navigation }) → null (allowed) | { error, site, origin }
//   refuseCrossSite(request, allowed, opts)        → a 403 Response (JSON, error naming why) | null
// `allowed` is the Set of CORS_ORIGINS (core/cors.js allowedOrigins).
//
// The rule, in order:
// 1. Sec-Fetch-Site (every current browser sends it; a page cannot forge it):
//    `same-origin` and `none` (typed, bookmarked) are allowed; `same-site` and `cross-site` only with an
//    Origin listed in CORS_ORIGINS (a storefront on another origin), or — with { navigation: true } — as a
//    top-level GET navigation (a link to GET /edge/profile: the shopper sees their own data, the other
//    site reads nothing).  Any other value is refused.
// 2. No Sec-Fetch-Site but an Origin (older browsers send Origin on cross-origin POSTs): allowed when it
//    is the request's own origin or listed in CORS_ORIGINS; `null` and anything else are refused.
// 3. Neither header: not a page in a browser — an app (identified by x-edgerec-id), curl, a server, a
//    very old browser's GET.  Allowed: cross-site abuse needs a page in a browser, which sends one of them.

const STATE_FREE = new Set(['GET', 'HEAD']);

/** null when the request may act for the shopper, else {error, site, origin}: why not (never throws). */
export function siteRefusal(request, allowed, { navigation = false } = {}) {
  const h = request.headers;
  const fetchSite = (h.get('sec-fetch-site') ?? '').trim().toLowerCase();
  const rawOrigin = h.get('origin');
  const origin = rawOrigin === null ? null : rawOrigin.trim().toLowerCase();
  const listed = origin !== null && allowed?.has?.(origin) === true;
  if (fetchSite) {
    if (fetchSite === 'same-origin' || fetchSite === 'none') return null;
    if (fetchSite === 'same-site' || fetchSite === 'cross-site') {
      if (listed) return null;
      if (navigation && STATE_FREE.has(request.method) && (h.get('sec-fetch-mode') ?? '').toLowerCase() === 'navigate'
        && (h.get('sec-fetch-dest') ?? 'document').toLowerCase() === 'document') return null;
      return refusal(fetchSite, origin, `a ${fetchSite} request (Sec-Fetch-Site: ${fetchSite}) from ${origin === null ? 'a page that sent no Origin' : `Origin ${origin.slice(0, 200)}`}`);
    }
    return refusal(fetchSite, origin, `Sec-Fetch-Site ${JSON.stringify(fetchSite.slice(0, 40))} is not one a browser sends`);
  }
  if (origin === null) return null; // rule 3: no browser page behind it
  if (listed || origin === ownOrigin(request)) return null;
  return refusal('cross-origin', origin, `a request from Origin ${origin.slice(0, 200)}, not this store's`);
}

/** 403 with {error, site} when siteRefusal refuses, else null.  opts.graphql: the body is a GraphQL
 * error ({errors: [{message, extensions: {category: 'edgerec-cross-site'}}]}) for /graphql. */
export function refuseCrossSite(request, allowed, opts = {}) {
  const r = siteRefusal(request, allowed, opts);
  if (!r) return null;
  const body = opts.graphql ? { errors: [{ message: r.error, extensions: { category: 'edgerec-cross-site' } }] } : { error: r.error, site: r.site };
  return Response.json(body, { status: 403, headers: { 'cache-control': 'no-store', vary: 'Origin, Sec-Fetch-Site' } });
}

function refusal(site, origin, what) {
  return { site, origin, error: `cross-site request refused: ${what}; only this store's own pages and the origins in CORS_ORIGINS may send it` };
}

function ownOrigin(request) {
  try { return new URL(request.url).origin.toLowerCase(); } catch { return null; }
}
