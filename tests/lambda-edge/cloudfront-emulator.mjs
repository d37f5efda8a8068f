// cloudfront-emulator.mjs — a small stand-in for a CloudFront distribution on loopback, set up as
// docs/lambda-edge.md says, so the package's handler can be tested end to end over real HTTP:
//
//   /_edgerec/origin/*  the cacheable behaviour listings are fetched through: GET/HEAD only;
//                       cache key = path + query + the forwarded headers (Authorization, Store,
//                       Content-Currency, X-Magento-Cache-Id, …); TTL from the origin's
//                       Cache-Control (min 0: no-store / private / no-cache are not cached);
//                       origin-request trigger (the handler removes the prefix) on misses only
//   /graphql*           viewer-request trigger with Include body (trigger 'viewer'), then the
//                       store's own cache policy (as above, keyed on the query and those headers)
//                       for what the handler steps aside on; or, with trigger 'origin', caching
//                       disabled and an origin-request trigger
//   /edge/*             viewer-request trigger with Include body, caching disabled
//   anything else       to the origin
//
// What CloudFront checks is checked here too: a generated response over the event type's size
// limit (40 KB viewer / 1 MB origin, headers and body), with a blacklisted or read-only header,
// a status that is not a 3-digit string, or an invalid body encoding → 502; a function error or
// timeout → 503; a request the function returns keeps its original body unless the function
// replaced it (action 'replace').  Viewer-request bodies are exposed up to 40 KB (1 MB at origin
// triggers) with inputTruncated.
import http from 'node:http';

const KB = 1024;
const LIMITS = {
  viewer: { response: 40 * KB, body: 40 * KB },
  origin: { response: 1024 * KB, body: 1024 * KB },
};
const BLACKLISTED = ['connection', 'expect', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'trailer',
  'upgrade', 'x-accel-buffering', 'x-accel-charset', 'x-accel-limit-rate', 'x-accel-redirect', 'x-cache', 'x-forwarded-proto', 'x-real-ip'];
const BLACK_PREFIX = ['x-amz-cf-', 'x-amzn-', 'x-edge-'];
const READ_ONLY_GENERATED = ['transfer-encoding', 'via', 'content-length'];
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection']);

const canonical = (name) => name.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());

export class CloudFrontEmulator {
  /**
   * @param {{origin: string, forwardHeaders: string[], internalPrefix?: string, trigger?: 'viewer'|'origin',
   *          distribution?: string, lambdaTimeoutMs?: {viewer: number, origin: number}}} o
   */
  constructor({ origin, forwardHeaders, internalPrefix = '/_edgerec/origin', trigger = 'viewer', distribution = 'd111111abcdef8.cloudfront.net', lambdaTimeoutMs }) {
    this.origin = origin.replace(/\/+$/, '');
    this.forwardHeaders = forwardHeaders.map((h) => h.toLowerCase());
    this.internalPrefix = internalPrefix;
    this.trigger = trigger;
    this.distribution = distribution;
    this.lambdaTimeoutMs = lambdaTimeoutMs ?? { viewer: 5000, origin: 30000 };
    this.handler = null; // set once the package is unpacked
    this.caches = { internal: new Map(), graphql: new Map() };
    this.log = []; // {behaviour, event, outcome, status, ms, size}
    this.originHits = []; // {method, url}
  }

  listen() {
    this.server = http.createServer((req, res) => this.serve(req, res).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`emulator: ${e.stack || e}\n`);
    }));
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}`;
      resolve(this.url);
    }));
  }

  close() { return new Promise((r) => { this.server.closeAllConnections?.(); this.server.close(() => r()); }); }

  async serve(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, this.url);
    const headers = []; // [name, value] as received
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const path = url.pathname;
    const viewer = { method: req.method, uri: path, querystring: url.search.slice(1), headers, body, clientIp: '198.51.100.7' };
    let out;
    if (path === this.internalPrefix || path.startsWith(`${this.internalPrefix}/`)) out = await this.internal(viewer);
    else if (path === '/graphql' || path.startsWith('/graphql/')) out = await this.graphql(viewer);
    else if (path.startsWith('/edge/')) out = await this.edge(viewer);
    else out = await this.toOrigin(this.cfRequest(viewer, 'viewer'), body);
    const h = {};
    for (const [n, v] of out.headers) {
      const k = n.toLowerCase();
      if (HOP.has(k)) continue;
      if (k === 'set-cookie') (h[k] ??= []).push(v); else h[k] = h[k] ? `${h[k]}, ${v}` : v;
    }
    h['content-length'] = out.body.length;
    res.writeHead(out.status, h);
    res.end(req.method === 'HEAD' ? undefined : out.body);
  }

  // ---- behaviours -------------------------------------------------------------------------------

  async internal(v) {
    if (v.method !== 'GET' && v.method !== 'HEAD') return this.plain(403, 'emulator: this behaviour allows GET and HEAD only');
    const key = this.cacheKey(v);
    const hit = this.cached('internal', key);
    if (hit) { this.log.push({ behaviour: 'internal', outcome: 'hit', uri: v.uri }); return hit; }
    // origin request policy: the cache key's headers only (no cookies)
    const request = this.cfRequest({ ...v, headers: v.headers.filter(([n]) => this.forwardHeaders.includes(n.toLowerCase())) }, 'origin');
    const r = await this.invoke('origin-request', request, 'internal');
    if (r.response) return r.response;
    const out = await this.toOrigin(r.request, v.body);
    this.store('internal', key, out);
    return out;
  }

  async graphql(v) {
    if (this.trigger === 'viewer') {
      const r = await this.invoke('viewer-request', this.cfRequest(v, 'viewer'), 'graphql');
      if (r.response) return r.response;
      if (v.method === 'GET' || v.method === 'HEAD') { // the store's cache policy for what the handler steps aside on
        const key = this.cacheKey({ ...v, headers: this.fromCf(r.request.headers) });
        const hit = this.cached('graphql', key);
        if (hit) return hit;
        const out = await this.toOrigin(r.request, v.body);
        this.store('graphql', key, out);
        return out;
      }
      return this.toOrigin(r.request, v.body);
    }
    // origin trigger: caching disabled, so every request is an origin request
    const r = await this.invoke('origin-request', this.cfRequest(v, 'origin'), 'graphql');
    if (r.response) return r.response;
    return this.toOrigin(r.request, v.body);
  }

  async edge(v) {
    const r = await this.invoke('viewer-request', this.cfRequest(v, 'viewer'), 'edge');
    if (r.response) return r.response;
    return this.toOrigin(r.request, v.body);
  }

  // ---- the cache --------------------------------------------------------------------------------

  cacheKey(v) {
    const h = new Map(v.headers.map(([n, val]) => [n.toLowerCase(), val]));
    return JSON.stringify([v.method === 'HEAD' ? 'GET' : v.method, v.uri, v.querystring, ...this.forwardHeaders.map((n) => h.get(n) ?? null)]);
  }
  cached(which, key) {
    const e = this.caches[which].get(key);
    if (!e || e.expires <= Date.now()) return null;
    return { ...e.value, headers: [...e.value.headers, ['x-cache', 'Hit from cloudfront'], ['age', String(Math.floor((Date.now() - e.at) / 1000))]] };
  }
  store(which, key, out) {
    if (out.status !== 200) return;
    const cc = (out.headers.find(([n]) => n.toLowerCase() === 'cache-control')?.[1] ?? '').toLowerCase();
    if (/\b(no-store|no-cache|private)\b/.test(cc) || out.headers.some(([n]) => n.toLowerCase() === 'set-cookie')) return;
    const m = /\bs-maxage\s*=\s*(\d+)/.exec(cc) ?? /\bmax-age\s*=\s*(\d+)/.exec(cc);
    const ttl = m ? Number(m[1]) : 0; // default TTL 0
    if (ttl > 0) this.caches[which].set(key, { value: out, at: Date.now(), expires: Date.now() + ttl * 1000 });
  }

  // ---- the origin -------------------------------------------------------------------------------

  async toOrigin(request, originalBody) {
    const url = `${this.origin}${request.uri}${request.querystring ? `?${request.querystring}` : ''}`;
    const h = new Headers();
    for (const [name, list] of Object.entries(request.headers)) {
      if (HOP.has(name)) continue;
      for (const e of list) h.append(name, e.value);
    }
    h.set('x-amz-cf-id', 'emulated');
    let body = null;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      body = request.body?.action === 'replace' ? Buffer.from(request.body.data ?? '', request.body.encoding === 'text' ? 'utf8' : 'base64') : originalBody;
    }
    this.originHits.push({ method: request.method, url });
    const res = await fetch(url, { method: request.method, headers: h, body, redirect: 'manual' });
    const bytes = Buffer.from(await res.arrayBuffer());
    const headers = [];
    for (const [n, v] of res.headers) if (n !== 'set-cookie' && n !== 'content-encoding') headers.push([n, v]);
    for (const c of res.headers.getSetCookie()) headers.push(['set-cookie', c]);
    headers.push(['via', '1.1 emulated.cloudfront.net (CloudFront)'], ['x-cache', 'Miss from cloudfront']);
    return { status: res.status, headers, body: bytes };
  }

  plain(status, text) { return { status, headers: [['content-type', 'text/plain']], body: Buffer.from(`${text}\n`) }; }

  // ---- Lambda@Edge ------------------------------------------------------------------------------

  /** The request object of an event: lowercase header names → [{key, value}], the body base64 and
   * cut at the event type's limit. */
  cfRequest(v, kind) {
    const headers = {};
    for (const [n, val] of v.headers) {
      const k = n.toLowerCase();
      if (k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding' || k === 'content-length' && v.method === 'GET') continue;
      (headers[k] ??= []).push({ key: n, value: val });
    }
    headers.host = [{ key: 'Host', value: kind === 'origin' ? '127.0.0.1' : this.distribution }];
    const r = { clientIp: v.clientIp, headers, method: v.method, querystring: v.querystring, uri: v.uri };
    if (v.method !== 'GET' && v.method !== 'HEAD') {
      const cut = LIMITS[kind].body;
      r.body = { inputTruncated: v.body.length > cut, action: 'read-only', encoding: 'base64', data: v.body.subarray(0, cut).toString('base64') };
    }
    if (kind === 'origin') r.origin = { custom: { customHeaders: {}, domainName: 'magento.example.com', keepaliveTimeout: 5, path: '', port: 443, protocol: 'https', readTimeout: 30, sslProtocols: ['TLSv1.2'] } };
    return r;
  }

  fromCf(cfHeaders) {
    const out = [];
    for (const list of Object.values(cfHeaders)) for (const e of list) out.push([e.key, e.value]);
    return out;
  }

  /** Invoke the function as Lambda does (a JSON event in, a JSON result out, a timeout); check the
   * result as CloudFront does.  → {request} | {response: {status, headers, body}} */
  async invoke(eventType, request, behaviour) {
    const kind = eventType.startsWith('viewer') ? 'viewer' : 'origin';
    const config = { distributionDomainName: this.distribution, distributionId: 'EDFDVBD6EXAMPLE', eventType };
    if (kind === 'viewer') config.requestId = `emulated-${this.log.length}`;
    const event = JSON.parse(JSON.stringify({ Records: [{ cf: { config, request } }] }));
    const timeout = this.lambdaTimeoutMs[kind];
    const end = Date.now() + timeout;
    const context = { functionName: 'us-east-1.edgerec', functionVersion: '1', awsRequestId: `req-${this.log.length}`, getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
    const t0 = performance.now();
    let result, timer;
    try {
      result = await Promise.race([
        Promise.resolve().then(() => this.handler(event, context)),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('Task timed out')), timeout); }),
      ]);
    } catch (e) {
      this.log.push({ behaviour, event: eventType, outcome: 'error', error: e.message, ms: performance.now() - t0 });
      return { response: this.plain(503, `emulator: the Lambda function failed: ${e.message}`) };
    } finally { clearTimeout(timer); }
    const ms = performance.now() - t0;
    const json = JSON.stringify(result ?? null);
    result = JSON.parse(json);
    if (result && typeof result === 'object' && 'status' in result) {
      const problem = this.checkResponse(result, kind, json);
      this.log.push({ behaviour, event: eventType, outcome: problem ? 'invalid' : 'generated', problem, status: result.status, ms, size: Buffer.byteLength(json) });
      if (problem) return { response: { ...this.plain(502, `emulator: invalid generated response: ${problem}`), headers: [['content-type', 'text/plain'], ['x-emulator-error', problem]] } };
      const headers = this.fromCf(result.headers ?? {});
      const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.bodyEncoding === 'base64' ? 'base64' : 'utf8');
      return { response: { status: Number(result.status), headers, body } };
    }
    const problem = this.checkRequest(result, request, kind);
    this.log.push({ behaviour, event: eventType, outcome: problem ? 'invalid' : 'request', problem, ms });
    if (problem) return { response: this.plain(502, `emulator: invalid request from the function: ${problem}`) };
    return { request: result };
  }

  checkHeaders(h, kind, generated) {
    if (!h || typeof h !== 'object' || Array.isArray(h)) return 'headers is not an object';
    for (const [name, list] of Object.entries(h)) {
      if (name !== name.toLowerCase()) return `header name ${name} is not lowercase`;
      if (!Array.isArray(list)) return `header ${name} is not an array`;
      for (const e of list) {
        if (!e || typeof e.value !== 'string') return `header ${name} has no string value`;
        if (e.key !== undefined && e.key.toLowerCase() !== name) return `header ${name} has key ${e.key}`;
      }
      if (BLACKLISTED.includes(name) || BLACK_PREFIX.some((p) => name.startsWith(p))) return `blacklisted header ${name}`;
      if (generated && READ_ONLY_GENERATED.includes(name)) return `read-only header ${name}`;
    }
    return null;
  }

  checkResponse(r, kind, json) {
    if (typeof r.status !== 'string' || !/^[1-5]\d\d$/.test(r.status)) return `status ${JSON.stringify(r.status)} is not a 3-digit string`;
    const hp = this.checkHeaders(r.headers ?? {}, kind, true);
    if (hp) return hp;
    if (r.body !== undefined) {
      if (typeof r.body !== 'string') return 'body is not a string';
      if (r.bodyEncoding !== undefined && r.bodyEncoding !== 'text' && r.bodyEncoding !== 'base64') return `bodyEncoding ${r.bodyEncoding}`;
      if (r.bodyEncoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(r.body)) return 'body is not base64';
    }
    const size = Buffer.byteLength(json);
    if (size > LIMITS[kind].response) return `generated response of ${size} bytes over the ${kind} limit of ${LIMITS[kind].response}`;
    return null;
  }

  checkRequest(r, original, kind) {
    if (!r || typeof r !== 'object') return 'the function returned no request or response';
    if (typeof r.uri !== 'string' || !r.uri.startsWith('/')) return `uri ${JSON.stringify(r.uri)}`;
    if (typeof r.querystring !== 'string' || /[\s#]/.test(r.querystring)) return 'querystring';
    if (r.uri.length + r.querystring.length >= 8192) return 'uri and query string over 8,192 characters';
    if (r.method !== original.method) return 'method changed (read-only)';
    if (r.clientIp !== original.clientIp) return 'clientIp changed (read-only)';
    const hp = this.checkHeaders(r.headers, kind, false);
    if (hp) return hp;
    if (kind === 'viewer' && JSON.stringify(r.headers.host) !== JSON.stringify(original.headers.host)) return 'host changed (read-only at viewer request)';
    if (r.body && r.body.action === 'replace' && r.body.inputTruncated) return 'replaced a truncated body';
    return null;
  }
}
