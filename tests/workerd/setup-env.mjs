// setup-env.mjs — runs inside workerd before every test file (vitest.config.mjs setupFiles).
//
// wrangler.toml binds Cloudflare's rate limiter EVENTS_RATE_LIMIT; miniflare's local limiter is a
// Durable Object on disk that costs ~6 ms a call, and the suites replay thousands of shoppers, all
// from one absent address (one connection key).  So the suites run as a deployment without the
// binding (nothing is flagged "rate-limited"; /edge/health says checks.rate_limit false), and
// traffic.test.mjs brings the real limiter back with wrangler.toml's limit and period
// (TRAFFIC_RATE_LIMIT, declared in vitest.config.mjs).
import { env } from 'cloudflare:test';

delete env.EVENTS_RATE_LIMIT;
