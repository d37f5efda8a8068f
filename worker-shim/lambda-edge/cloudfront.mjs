// cloudfront.mjs — the CloudFront side of the Lambda@Edge adapter: the event's shapes
// (Records[0].cf: config, request with uri / querystring / method / clientIp / lowercase
// headers → [{key, value}] / body {inputTruncated, action, encoding, data}), the limits of each
// trigger, stepping aside (the request goes on to CloudFront untouched but for edgerec's
// cookies and headers), and generated responses within the trigger's size limit.
//
// Limits (CloudFront Developer Guide, "Quotas on Lambda@Edge"; kept conservative: 1 KB =
// 1,000 bytes here):
//                               viewer triggers   origin triggers
//   generated response          40 KB             1 MB           (headers and body)
//   request body exposed        40 KB             1 MB           (longer bodies: inputTruncated)
//   function timeout            5 s               30 s
//   package, compressed         1 MB              50 MB
import { brotliCompressSync, constants as zc, gzipSync } from 'node:zlib';
import { EDGEREC_HEADERS, stripEdgerecCookies } from '../core/identity.js';

export const LIMITS = {
  viewer: { responseBytes: 40_000, bodyBytes: 40_000, timeoutMs: 5_000, packageBytes: 1_000_000 },
  origin: { responseBytes: 1_000_000, bodyBytes: 1_000_000, timeoutMs: 30_000, packageBytes: 50_000_000 },
};
export const limitsFor = (eventType) => (String(eventType).startsWith('origin') ? LIMITS.origin : LIMITS.viewer);

/** Headers CloudFront refuses in what a function returns (blacklisted, or read-only in request
 * events), or that describe a transfer this response is not: never copied into a generated one. */
const DROP = new Set([
  'connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'trailer',
  'upgrade', 'x-accel-buffering', 'x-accel-charset', 'x-accel-limit-rate', 'x-accel-redirect', 'x-cache',
  'x-forwarded-proto', 'x-real-ip', 'transfer-encoding', 'via', 'content-length', 'content-encoding', 'age', 'host',
]);
const DROP_PREFIX = ['x-amz-cf-', 'x-amzn-', 'x-edge-'];
export const droppedHeader = (name) => DROP.has(name) || DROP_PREFIX.some((p) => name.startsWith(p));

/** A CloudFront header map → Headers (repeated Cookie entries joined with '; ', as HTTP/2 sends them). */
export function toHeaders(cfHeaders) {
  const h = new Headers();
  const cookies = [];
  for (const [name, list] of Object.entries(cfHeaders ?? {})) {
    if (!Array.isArray(list)) continue;
    for (const e of list) {
      if (!e || typeof e.value !== 'string') continue;
      if (name === 'cookie') cookies.push(e.value);
      else {
        try { h.append(name, e.value); } catch { /* a value fetch's Headers refuses: not ours to read */ }
      }
    }
  }
  if (cookies.length) h.set('cookie', cookies.join('; '));
  return h;
}

const canonical = (name) => name.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());

/** [[name, value], …] → a CloudFront header map (lowercase keys, one {key, value} per value). */
export function toCfHeaders(pairs) {
  const out = {};
  for (const [n, value] of pairs) {
    const name = n.toLowerCase();
    (out[name] ??= []).push({ key: canonical(name), value: String(value) });
  }
  return out;
}

/** The query string of a request event (Lambda@Edge gives it without '?'). */
export const requestUrl = (request) => new URL(`https://edge.invalid${request.uri}${request.querystring ? `?${request.querystring}` : ''}`);

/** The request body as text: {text} | {truncated: true} | {missing: true} (Include body is off). */
export function requestBody(request) {
  const b = request.body;
  if (!b || typeof b !== 'object') return { missing: true };
  if (b.inputTruncated) return { truncated: true };
  const data = typeof b.data === 'string' ? b.data : '';
  if (b.encoding === 'text') return { text: data };
  return { text: Buffer.from(data, 'base64').toString('utf8') };
}

/** Step aside: CloudFront carries on with the request (to its cache and the origin) as it came,
 * minus edgerec's cookies (er_uid, er_sid, er_p) and app headers, which never reach the origin.
 * The body is not touched (read-only access: CloudFront forwards the original, even a truncated one). */
export function stepAside(request) {
  const h = request.headers ?? {};
  for (const n of EDGEREC_HEADERS) delete h[n]; // core/identity.js's list: the Worker strips the same (x-edgerec-key too)
  if (Array.isArray(h.cookie) && h.cookie.length) {
    const joined = h.cookie.map((e) => e.value).join('; ');
    const stripped = stripEdgerecCookies(new Headers({ cookie: joined })).get('cookie');
    if (stripped === null) delete h.cookie;
    else if (stripped !== joined) h.cookie = [{ key: h.cookie[0].key || 'Cookie', value: stripped }];
  }
  return request;
}

/** The size CloudFront counts for a generated response: its headers and body, as returned (the
 * serialized object is a safe upper bound). */
export const responseSize = (response) => Buffer.byteLength(JSON.stringify(response));

const utf8 = new TextDecoder('utf-8', { fatal: true });
const isText = (bytes) => { try { utf8.decode(bytes); return true; } catch { return false; } };

/** The encodings a viewer accepts (q=0 excluded). */
function accepted(acceptEncoding) {
  const out = new Set();
  for (const part of String(acceptEncoding ?? '').toLowerCase().split(',')) {
    const [token, ...params] = part.trim().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    if (token && !(q && Number(q[1]) === 0)) out.add(token.trim());
  }
  return out;
}

/**
 * A generated response (the object a request trigger returns), within `limit` bytes.
 * @param {{status: number, headers: Array<[string, string]>, body: Uint8Array|null,
 *          acceptEncoding?: string, limit: number, reserve?: number}} o
 *   headers: the response's headers (dropped ones removed here); body: identity-encoded bytes,
 *   compressed here with br or gzip when the viewer accepts it and it is over 1 KB (CloudFront does
 *   not compress what a function generates).  reserve: bytes kept free for headers added later.
 * @returns {{response, size}} or {tooLarge: true, size}
 */
export function generate({ status, statusDescription, headers, body, acceptEncoding, limit, reserve = 0 }) {
  const pairs = headers.filter(([n]) => !droppedHeader(n.toLowerCase()));
  let bodyField, bodyEncoding;
  if (body && body.length) {
    const acc = accepted(acceptEncoding);
    let coded = null, coding = null;
    if (body.length > 1024 && acc.has('br')) {
      coded = brotliCompressSync(body, { params: { [zc.BROTLI_PARAM_QUALITY]: 5, [zc.BROTLI_PARAM_SIZE_HINT]: body.length } });
      coding = 'br';
    } else if (body.length > 1024 && (acc.has('gzip') || acc.has('*'))) {
      coded = gzipSync(body, { level: 6 });
      coding = 'gzip';
    }
    if (coded && coded.length < body.length) {
      pairs.push(['content-encoding', coding]);
      const vary = pairs.find(([n]) => n.toLowerCase() === 'vary');
      if (!vary) pairs.push(['vary', 'Accept-Encoding']);
      else if (!/\baccept-encoding\b|\*/i.test(vary[1])) vary[1] = `${vary[1]}, Accept-Encoding`;
      bodyField = Buffer.from(coded).toString('base64');
      bodyEncoding = 'base64';
    } else if (isText(body)) {
      bodyField = utf8.decode(body);
      bodyEncoding = 'text';
    } else {
      bodyField = Buffer.from(body).toString('base64');
      bodyEncoding = 'base64';
    }
  }
  const response = { status: String(status), statusDescription: statusDescription ?? STATUS_TEXT[status] ?? '', headers: toCfHeaders(pairs) };
  if (bodyField !== undefined) { response.body = bodyField; response.bodyEncoding = bodyEncoding; }
  const size = responseSize(response);
  if (size + reserve > limit) return { tooLarge: true, size };
  return { response, size };
}

/** Add headers to a generated response (cookies, the sealed profile) and check the limit again. */
export function addHeaders(response, pairs, limit) {
  for (const [n, v] of pairs) {
    const name = n.toLowerCase();
    (response.headers[name] ??= []).push({ key: canonical(name), value: String(v) });
  }
  const size = responseSize(response);
  return size <= limit ? { response, size } : { tooLarge: true, size };
}

/** A small JSON response (the /edge/* routes). */
export function jsonResponse(status, value, extra = [], limit = LIMITS.viewer.responseBytes) {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const g = generate({ status, headers: [['content-type', 'application/json'], ['cache-control', 'no-store'], ...extra], body, limit });
  if (g.tooLarge) return generate({ status: 500, headers: [['content-type', 'application/json'], ['cache-control', 'no-store']], body: new TextEncoder().encode('{"error":"response too large"}'), limit }).response;
  return g.response;
}

export const STATUS_TEXT = {
  200: 'OK', 202: 'Accepted', 204: 'No Content', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Payload Too Large', 500: 'Internal Server Error', 503: 'Service Unavailable',
};
