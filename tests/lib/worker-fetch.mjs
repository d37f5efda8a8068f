// worker-fetch.mjs — for tests INSIDE workerd (tests/workerd/*.test.mjs): one request through the
// Worker module's fetch handler with its own execution context, waited on (so what the Worker
// queued with ctx.waitUntil has run), the body read as text and, when it parses, as JSON.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';

const dec = new TextDecoder();

/** worker.fetch(request, env) → { status, headers, text, json (null when not JSON), edgerec (x-edgerec) }. */
export async function workerFetch(worker, request, env) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  const text = dec.decode(new Uint8Array(await res.arrayBuffer()));
  await waitOnExecutionContext(ctx);
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json, edgerec: res.headers.get('x-edgerec') };
}
