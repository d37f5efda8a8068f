// body.fuzz.test.mjs — property-based fuzzing (fast-check; tests/js/fuzz.mjs: FUZZ_RUNS, FUZZ_SEED) of
// worker-shim/core/body.js readBounded, the bounded read of every request and response body the Worker
// and Lambda@Edge read: any chunking, any limit, any Content-Length (right, wrong, over, garbage) and
// Content-Encoding.  Properties: a body within the limit comes back whole; one over it comes back as
// `over` with a stream that replays exactly the original bytes; a body without an exact declared length
// is never read past the first chunk that crosses the limit, one declared over the limit not at all;
// real Request / Response objects behave the same; nothing throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBounded } from '../../worker-shim/core/body.js';
import { fc, params } from './fuzz.mjs';

const concat = (chunks) => {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
};
async function drain(stream) {
  if (!stream) return new Uint8Array(0);
  const chunks = [];
  for (const r = stream.getReader(); ;) { const { done, value } = await r.read(); if (done) break; chunks.push(value); }
  return concat(chunks);
}

/** A message as readBounded sees one (headers, body, arrayBuffer), whose source counts what is pulled. */
function message(chunks, headers, { arrayBufferAll = true } = {}) {
  const seen = { pulled: 0, bytes: 0 };
  let i = 0;
  const body = chunks === null ? null : new ReadableStream({
    pull(c) {
      if (i >= chunks.length) { c.close(); return; }
      seen.pulled++; seen.bytes += chunks[i].length;
      c.enqueue(chunks[i++]);
    },
  }, { highWaterMark: 0 });
  return { seen, msg: { headers: new Headers(headers), body, arrayBuffer: arrayBufferAll ? async () => (await drain(body)).buffer : undefined } };
}

const chunks = fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 12 });
const declared = (total) => fc.oneof(
  fc.constant(undefined), fc.constant(String(total)), fc.nat({ max: 2000 }).map(String),
  fc.constantFrom('', ' 5', '5 ', '-1', '1e3', '0x10', 'abc', '99999999999999999999', String(total + 1), String(Math.max(0, total - 1))),
);

test('any chunking, limit and Content-Length: whole within the limit, else `over` replaying exactly the original bytes', async () => {
  await fc.assert(fc.asyncProperty(chunks.chain((cs) => fc.tuple(fc.constant(cs), declared(concat(cs).length), fc.constantFrom(undefined, 'gzip', 'identity', ' ', 'br')),
  ), fc.nat({ max: 600 }), async ([cs, length, coding], limit) => {
    const whole = concat(cs);
    const h = {};
    if (length !== undefined) h['content-length'] = length;
    if (coding !== undefined) h['content-encoding'] = coding;
    const { msg, seen } = message(cs, h);
    const t = performance.now();
    const r = await readBounded(msg, limit);
    assert.ok(performance.now() - t < 250);
    const len = msg.headers.get('content-length'), enc = msg.headers.get('content-encoding'); // as Headers normalize them
    const declaredOver = len !== null && len !== '' && Number(len) > limit;
    const exact = len !== null && /^\d{1,15}$/.test(len) && (enc === null || ['', 'identity'].includes(enc.trim().toLowerCase()));
    if (r.over) {
      assert.equal(r.bytes, undefined);
      assert.ok(declaredOver || whole.length > limit, 'over only when it is');
      if (declaredOver) assert.equal(seen.pulled, 0, 'a declared length over the limit is not read');
      else if (!exact) assert.ok(seen.bytes - cs[seen.pulled - 1].length <= limit, `read ${seen.bytes} bytes for a limit of ${limit}`);
      assert.deepEqual(await drain(r.body), whole, 'the replay is the original body');
    } else {
      assert.ok(!declaredOver && whole.length <= limit);
      assert.deepEqual(r.bytes, whole);
    }
  }), params());
});

test('no body: empty bytes, whatever the headers say within the limit', async () => {
  await fc.assert(fc.asyncProperty(fc.option(fc.constantFrom('0', '', 'abc', '-5'), { nil: undefined }), fc.nat({ max: 100 }), async (length, limit) => {
    const { msg } = message(null, length === undefined ? {} : { 'content-length': length }, { arrayBufferAll: false });
    const r = await readBounded(msg, limit);
    assert.deepEqual(r, { bytes: new Uint8Array(0) });
  }), params(0.25));
});

test('real Requests and Responses (the platform sets Content-Length): the same answers', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.nat({ max: 3000 }), fc.boolean(), async (bytes, limit, asStream) => {
    const body = asStream ? new ReadableStream({ start(c) { for (let i = 0; i < bytes.length; i += 700) c.enqueue(bytes.slice(i, i + 700)); c.close(); } }) : bytes;
    for (const m of [new Request('https://shop.example/edge/events', { method: 'POST', body, duplex: 'half' }), new Response(asStream ? null : bytes)]) {
      if (m instanceof Response && asStream) continue;
      const r = await readBounded(m, limit);
      if (bytes.length <= limit) assert.deepEqual(r.bytes, bytes);
      else { assert.equal(r.over, true); assert.deepEqual(await drain(r.body), bytes); }
    }
  }), params(0.5));
});
