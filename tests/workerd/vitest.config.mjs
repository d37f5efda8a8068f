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
// Anything else is echoed ("origin METHOD /path?query BODY").
//
// Rate limiting (wrangler.toml [[ratelimits]] EVENTS_RATE_LIMIT, miniflare's real limiter): the suites
// run without it (setup-env.mjs says why); TRAFFIC_RATE_LIMIT (its own namespace) carries
// wrangler.toml's limit and period for tests/workerd/traffic.test.mjs, which swaps it in.
import { existsSync, readFileSync } from 'node:fs';
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
  ORIGIN_URL: `http://${ORIGIN_HOST}`,
  TRAFFIC_RATE_LIMIT_SIMPLE: JSON.stringify(ratelimits.TRAFFIC_RATE_LIMIT.simple), // what traffic.test.mjs expects of it
};

// The stand-in, created on first use (the parity suite shares this config and
// never needs it; the catalog may not be built then).
let magento = null;
function standin() {
  if (!magento) {
    if (!existsSync(CATALOG)) return null;
    magento = createMagento(JSON.parse(readFileSync(CATALOG, 'utf8')));
  }
  return magento;
}

async function origin(req) {
  const u = new URL(req.url);
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
