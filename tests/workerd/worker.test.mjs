// worker.test.mjs — worker-shim/worker.js inside workerd: /edge/health answers
// with the bundle info; other requests pass through to the origin (the test
// config's outboundService stands in for the origin).
import { it, expect } from 'vitest';
import { exports } from 'cloudflare:workers';
import expected from '../../build/workerd/expected.json';

it('GET /edge/health answers with the bundle info', async () => {
  const res = await exports.default.fetch(new Request('https://shop.example/edge/health'));
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body.ok).toBe(true);
  expect(body.bundle).toEqual(expected.info);
  expect(res.headers.get('cache-control')).toBe('no-store');
});

it('other requests go to the origin untouched', async () => {
  const res = await exports.default.fetch(new Request('https://shop.example/graphql?query=x', { method: 'POST', body: 'q' }));
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('origin POST /graphql?query=x q');
  const h = await exports.default.fetch(new Request('https://shop.example/edge/health', { method: 'POST' }));
  expect(await h.text()).toBe('origin POST /edge/health ');
});
