// cors.js — cross-origin access for the storefront's own origins (Adobe's storefront components
// call their recommendations gateway cross-origin; apps send no Origin and need none of this).
//
//   allowedOrigins(setting)            → Set of origins from a comma-separated setting ("https://a, https://b")
//   corsHeaders(request, allowed)      → the Access-Control-* headers for an allowed Origin, else {}
//   preflight(request, allowed)        → a 204 answer to an allowed OPTIONS preflight, else null
// Credentials are allowed (the er_uid / er_p cookies identify the shopper), so the origin is echoed,
// never '*', and only for origins the merchant listed.

/** Request headers a storefront may send with a recommendations or events request. */
export const ALLOWED_HEADERS = ['content-type', 'store', 'content-currency', 'magento-store-view-code', 'magento-store-code',
  'magento-website-code', 'magento-customer-group', 'magento-environment-id', 'x-api-key', 'x-edgerec-id', 'x-edgerec-session',
  'x-edgerec-profile', 'x-edgerec-key', 'authorization'];
const EXPOSED = 'x-edgerec, x-edgerec-profile';

/** The set of allowed origins from a comma-separated setting (scheme://host[:port], no path). */
export function allowedOrigins(setting) {
  const out = new Set();
  for (const raw of String(setting ?? '').split(',')) {
    const o = raw.trim().replace(/\/+$/, '');
    if (/^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(o)) out.add(o.toLowerCase());
  }
  return out;
}

const originOf = (request) => (request.headers.get('origin') ?? '').toLowerCase();

/** CORS response headers for an allowed Origin (credentials on), else {} (the browser refuses). */
export function corsHeaders(request, allowed) {
  const o = originOf(request);
  if (!o || !allowed.has(o)) return {};
  return { 'access-control-allow-origin': o, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': EXPOSED, vary: 'Origin' };
}

/** A preflight from an allowed origin for GET / POST: 204 with what may be sent; null otherwise
 * (not a preflight, or an origin the merchant did not list: the request goes on as before). */
export function preflight(request, allowed) {
  if (request.method !== 'OPTIONS' || !request.headers.get('access-control-request-method')) return null;
  const h = corsHeaders(request, allowed);
  if (!h['access-control-allow-origin']) return null;
  const method = request.headers.get('access-control-request-method').toUpperCase();
  if (method !== 'GET' && method !== 'POST') return null;
  return new Response(null, { status: 204, headers: { ...h, 'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': ALLOWED_HEADERS.join(', '), 'access-control-max-age': '600' } });
}
