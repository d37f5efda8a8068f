// Vitest with the Cloudflare Workers pool: test files run INSIDE workerd.
// Used by tests/suites/workerd.sh (tests/workerd/*.test.mjs) and
// tests/suites/parity.sh (tests/js/parity.workerd.mjs).
//
// The origin, for the Worker's tests (worker.test.mjs): every fetch() the
// test Worker makes leaves workerd through `outboundService`, which runs here,
// in Node.  Requests for magento.test go to the Magento GraphQL stand-in
// (tests/standin/magento.mjs over build/workerd/luma-catalog.json, which
// make-expected.mjs builds), plus two routes for the tests themselves:
//   GET  http://magento.test/__standin/requests  → JSON of every request the stand-in received
//   POST http://magento.test/__standin/reset     → forget them (the stand-in's carts etc. stay)
// Hosts *.cloudflareaccess.com serve a test's Access keys (accessTeam below).
// Anything else is echoed ("origin METHOD /path?query BODY").
//
// Rate limiting (wrangler.toml [[ratelimits]] EVENTS_RATE_LIMIT, miniflare's real limiter): the suites
// run without it (setup-env.mjs says why); TRAFFIC_RATE_LIMIT (its own namespace) carries
// wrangler.toml's limit and period for tests/workerd/traffic.test.mjs, which swaps it in.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { createMagento } from '../standin/magento.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CATALOG = root + 'build/workerd/luma-catalog.json';
const ORIGIN_HOST = 'magento.test';
const TOML_LIMIT = /\[\[ratelimits\]\][^[]*?name\s*=\s*"EVENTS_RATE_LIMIT"[^[]*?simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}/
  .exec(readFileSync(root + 'wrangler.toml', 'utf8'));
if (!TOML_LIMIT) throw new Error('wrangler.toml: no [[ratelimits]] EVENTS_RATE_LIMIT with simple = { limit = N, period = P }');
const ratelimits = {
  TRAFFIC_RATE_LIMIT: { namespace_id: '1901', simple: { limit: Number(TOML_LIMIT[1]), period: Number(TOML_LIMIT[2]) } },
};

// Test-only secrets (never used anywhere else).
const bindings = {
  EDGEREC_ID_SECRET: 'workerd-test-id-secret-0123456789abcdefghijklmnop', // ≥ 32 characters
  EDGEREC_COOKIE_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64'), // 32 bytes
  EDGEREC_ADMIN_TOKEN: 'workerd-test-admin-token',
  // the stand-in's env.php crypt/key: its customer tokens are Magento >= 2.4.4 JWTs signed with it;
  // profile-sync.test.mjs binds it as MAGENTO_JWT_KEY (the other suites run without, as older stores)
  STANDIN_MAGENTO_CRYPT_KEY: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
  ORIGIN_URL: `http://${ORIGIN_HOST}`,
  TRAFFIC_RATE_LIMIT_SIMPLE: JSON.stringify(ratelimits.TRAFFIC_RATE_LIMIT.simple), // what traffic.test.mjs expects of it
  // the Worker's request tallies (metrics.js) are never due: the suites' queue recorders see only events;
  // metrics.test.mjs sends them with every request (METRICS_FLUSH_SECONDS = 0 in its env)
  METRICS_FLUSH_SECONDS: '1e12',
};

// The stand-in, created on first use (the parity suite shares this config and
// never needs it; the catalog may not be built then).
let magento = null;
function standin() {
  if (!magento) {
    if (!existsSync(CATALOG)) return null;
    magento = createMagento(JSON.parse(readFileSync(CATALOG, 'utf8')), { jwtKey: bindings.STANDIN_MAGENTO_CRYPT_KEY });
  }
  return magento;
}

// Cloudflare Access's JWKS for admin-auth.test.mjs: the test PUTs the keys it generated to
// https://<team>.cloudflareaccess.com/__test/certs; GET /cdn-cgi/access/certs serves them (404 before).
const accessCerts = new Map(); // host → JWKS text
async function accessTeam(req, u) {
  if (u.pathname === '/__test/certs' && req.method === 'PUT') { accessCerts.set(u.hostname, await req.text()); return new Response(null, { status: 204 }); }
  const certs = accessCerts.get(u.hostname);
  if (u.pathname === '/cdn-cgi/access/certs' && req.method === 'GET' && certs) return new Response(certs, { headers: { 'content-type': 'application/json' } });
  return new Response('not found', { status: 404 });
}

// The alert receiver and the metrics sample, for metrics.test.mjs (loopback, in Node):
//   POST http://alerts.test/<any path>  → recorded (Slack webhook / PagerDuty enqueue stand-in); 202
//   GET  http://alerts.test/__received  → JSON [{path, body}] of every POST;  POST /__reset forgets them
//   PUT  http://metrics.test/<name>     → written to build/metrics/<name> (promtool checks it: tests/suites/metrics.sh)
const alertsReceived = [];
async function loopback(req, u) {
  if (u.hostname === 'metrics.test' && req.method === 'PUT' && /^\/\w[\w.-]*$/.test(u.pathname)) {
    mkdirSync(root + 'build/metrics', { recursive: true });
    writeFileSync(root + 'build/metrics' + u.pathname, await req.text());
    return new Response(null, { status: 204 });
  }
  if (u.pathname === '/__received' && req.method === 'GET') return Response.json(alertsReceived);
  if (u.pathname === '/__reset' && req.method === 'POST') { alertsReceived.length = 0; return new Response(null, { status: 204 }); }
  if (req.method !== 'POST') return new Response('POST only\n', { status: 405 });
  alertsReceived.push({ path: u.pathname, body: JSON.parse(await req.text()) });
  return new Response('{"status":"success"}', { status: 202, headers: { 'content-type': 'application/json' } });
}

async function origin(req) {
  const u = new URL(req.url);
  if (u.hostname === 'alerts.test' || u.hostname === 'metrics.test') return loopback(req, u);
  if (u.hostname.endsWith('.cloudflareaccess.com')) return accessTeam(req, u);
  if (u.hostname !== ORIGIN_HOST) {
    return new Response(`origin ${req.method} ${u.pathname}${u.search} ${req.body ? await req.text() : ''}`);
  }
  const m = standin();
  if (!m) return new Response(`no stand-in: ${CATALOG} is missing (tests/workerd/make-expected.mjs builds it)\n`, { status: 502 });
  if (u.pathname === '/__standin/requests' && req.method === 'GET') {
    return new Response(JSON.stringify(m.state.requests), { headers: { 'content-type': 'application/json' } });
  }
  if (u.pathname === '/__standin/reset' && req.method === 'POST') {
    m.state.requests.length = 0;
    return new Response(null, { status: 204 });
  }
  return m.handle(req);
}

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: root + 'wrangler.toml' },
      miniflare: {
        bindings,
        ratelimits,
        outboundService: origin,
      },
    }),
  ],
  test: {
    include: ['tests/workerd/**/*.test.mjs', 'tests/js/parity.workerd.mjs'],
    testTimeout: 60000,
    hookTimeout: 60000,
    watch: false,
    setupFiles: ['tests/workerd/setup-env.mjs'],
  },
});
