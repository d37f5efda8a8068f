// storefront.test.mjs — GET /edge/recs.js, the storefront script, through the real Worker INSIDE
// workerd: the Worker serves worker-shim/browser/recs.js byte for byte (imported as Text through
// wrangler.toml's [[rules]], here as in `wrangler dev` and a deployment), as JavaScript a page on
// another origin may load as a module, cacheable and revalidated by its ETag; other methods are refused.
import { describe, it, expect } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import source from '../../worker-shim/browser/recs.js'; // Text, by the same rule the Worker's import uses

async function send(request) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, headers: res.headers, text };
}
const URL_ = 'https://shop.example/edge/recs.js';

describe('GET /edge/recs.js', () => {
  it('is the storefront script\'s source, as JavaScript any origin may load', async () => {
    expect(typeof source).toBe('string'); // the Text rule applies in the pool too
    expect(source).toContain("customElements.define('edgerec-recommendations'");
    const r = await send(new Request(URL_, { headers: { origin: 'https://elsewhere.example' } }));
    expect(r.status).toBe(200);
    expect(r.text).toBe(source);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(r.headers.get('set-cookie')).toBeNull(); // public: nothing about the shopper
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it('revalidates with If-None-Match (304, no body) and answers HEAD without a body', async () => {
    const first = await send(new Request(URL_));
    const etag = first.headers.get('etag');
    const again = await send(new Request(URL_, { headers: { 'if-none-match': `W/"x", ${etag}` } }));
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    const other = await send(new Request(URL_, { headers: { 'if-none-match': '"0123"' } }));
    expect(other.status).toBe(200);
    expect(other.text).toBe(source);
    const head = await send(new Request(URL_, { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('etag')).toBe(etag);
  });

  it('refuses other methods with 405 naming the allowed ones', async () => {
    const r = await send(new Request(URL_, { method: 'POST', body: 'x' }));
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(JSON.parse(r.text).error).toMatch(/GET, HEAD/);
  });
});
