// Vitest with the Cloudflare Workers pool: test files run INSIDE workerd.
// Used by tests/suites/workerd.sh (tests/workerd/*.test.mjs) and
// tests/suites/parity.sh (tests/js/parity.workerd.mjs).
import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest({
      wrangler: { configPath: root + 'wrangler.toml' },
      miniflare: {
        // Stands in for the origin: the Worker's pass-through fetch() lands here.
        outboundService: async (req) => {
          const u = new URL(req.url);
          return new Response(`origin ${req.method} ${u.pathname}${u.search} ${req.body ? await req.text() : ''}`);
        },
      },
    }),
  ],
  test: {
    include: ['tests/workerd/**/*.test.mjs', 'tests/js/parity.workerd.mjs'],
    testTimeout: 60000,
    hookTimeout: 60000,
    watch: false,
  },
});
