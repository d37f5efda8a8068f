// request-path.test.mjs — the helpers that keep the Worker's request path cheap (shared with
// Lambda@Edge): core/body.js readBounded's one-call read of a body whose length is declared, and
// core/local-hour.js's cached time-zone formatters.  Node's fetch Response/Request behave as
// workerd's for what is used here (headers, body stream, arrayBuffer).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readBounded } from '../../worker-shim/core/body.js';
import { localHour } from '../../worker-shim/core/local-hour.js';

const bytes = (n, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const drain = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer());

/** A message whose body arrives in chunks, counting how it is read. */
function chunked(data, headers = {}, chunk = 1000) {
  const reads = { arrayBuffer: 0, pulls: 0 };
  let at = 0;
  const body = new ReadableStream({
    pull(c) {
      reads.pulls++;
      if (at >= data.length) { c.close(); return; }
      c.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
  }, { highWaterMark: 0 }); // nothing pulled before a read
  const msg = new Response(body, { headers });
  const arrayBuffer = msg.arrayBuffer.bind(msg);
  msg.arrayBuffer = () => { reads.arrayBuffer++; return arrayBuffer(); };
  return { msg, reads };
}

describe('readBounded (core/body.js)', () => {
  it('a declared length within the limit and no encoding: one arrayBuffer() call, the same bytes', async () => {
    const data = bytes(17_739);
    const { msg, reads } = chunked(data, { 'content-length': String(data.length) });
    const r = await readBounded(msg, 4 * 1024 * 1024);
    assert.deepEqual(r.bytes, data);
    assert.equal(reads.arrayBuffer, 1);
  });

  it('no declared length, or a Content-Encoding (the declared length is not what is read): the bounded loop', async () => {
    for (const headers of [{}, { 'content-length': '17739', 'content-encoding': 'gzip' }, { 'content-length': ' 17739x' }]) {
      const data = bytes(17_739, 3);
      const { msg, reads } = chunked(data, headers);
      const r = await readBounded(msg, 4 * 1024 * 1024);
      assert.deepEqual(r.bytes, data, JSON.stringify(headers));
      assert.equal(reads.arrayBuffer, 0, JSON.stringify(headers));
    }
    // identity is no encoding
    const data = bytes(500);
    const { msg, reads } = chunked(data, { 'content-length': '500', 'content-encoding': 'identity' });
    assert.deepEqual((await readBounded(msg, 1000)).bytes, data);
    assert.equal(reads.arrayBuffer, 1);
  });

  it('the loop stops one chunk past the limit and replays what it read, then the rest', async () => {
    const data = bytes(10_000, 5);
    const { msg, reads } = chunked(data, { 'content-encoding': 'br' }, 1000);
    const r = await readBounded(msg, 2500);
    assert.equal(r.over, true);
    assert.equal(reads.pulls <= 4, true, `read ${reads.pulls} chunks for a 2500-byte limit`);
    assert.deepEqual(await drain(r.body), data);
  });

  it('a declared length over the limit: nothing read, the body handed back as it is', async () => {
    const data = bytes(3000);
    const { msg, reads } = chunked(data, { 'content-length': '3000' });
    const r = await readBounded(msg, 2999);
    assert.equal(r.over, true);
    assert.equal(reads.pulls, 0);
    assert.deepEqual(await drain(r.body), data);
  });

  it('a message built with a false Content-Length: still over when it is longer than the limit, its bytes replayed', async () => {
    const data = bytes(5000, 9);
    const { msg } = chunked(data, { 'content-length': '100' });
    const r = await readBounded(msg, 1000);
    assert.equal(r.over, true);
    assert.deepEqual(await drain(r.body), data);
  });

  it('an empty body and a request body read the same way', async () => {
    assert.deepEqual((await readBounded(new Response(null, { headers: { 'content-length': '0' } }), 10)).bytes, new Uint8Array(0));
    const body = JSON.stringify({ query: '{ products { items { sku } } }' });
    const req = new Request('https://shop.example/graphql', { method: 'POST', body, headers: { 'content-length': String(body.length) } });
    assert.equal(new TextDecoder().decode((await readBounded(req, 1024)).bytes), body);
  });
});

describe('localHour (core/local-hour.js)', () => {
  it('the hour in the zone, daylight saving time included, as Intl formats it', () => {
    const jan = new Date(Date.UTC(2026, 0, 15, 18, 30)); // 12:30 in Chicago (CST, UTC−6)
    const jul = new Date(Date.UTC(2026, 6, 15, 18, 30)); // 13:30 in Chicago (CDT, UTC−5)
    assert.equal(localHour('America/Chicago', jan), 12);
    assert.equal(localHour('America/Chicago', jul), 13);
    assert.equal(localHour('UTC', jan), 18);
    assert.equal(localHour('Asia/Kolkata', jan), 0); // UTC+5:30: 00:00 the next day
    assert.equal(localHour('Asia/Kathmandu', new Date(Date.UTC(2026, 0, 15, 18, 14))), 23); // UTC+5:45: 23:59
    for (let h = 0; h < 48; h++) { // every hour of two days, against a formatter built each time
      const d = new Date(Date.UTC(2026, 2, 28, h, 7));
      for (const tz of ['Europe/London', 'Australia/Lord_Howe', 'Pacific/Chatham']) {
        const want = Number(new Intl.DateTimeFormat('en-US', { hour: 'numeric', hourCycle: 'h23', timeZone: tz }).format(d));
        assert.equal(localHour(tz, d), want, `${tz} ${d.toISOString()}`);
      }
    }
  });

  it('no hour for an unknown or malformed zone, asked again or not', () => {
    for (const tz of ['Mars/Olympus_Mons', 'not a zone', '', null, undefined, 42, {}, 'x'.repeat(200)]) {
      assert.equal(localHour(tz), null, String(tz));
      assert.equal(localHour(tz), null, String(tz));
    }
  });

  it('more zones than it keeps: every answer still right', () => {
    const zones = Intl.supportedValuesOf('timeZone').slice(0, 150);
    const d = new Date(Date.UTC(2026, 4, 1, 9, 45));
    for (let round = 0; round < 2; round++) {
      for (const tz of zones) {
        const want = Number(new Intl.DateTimeFormat('en-US', { hour: 'numeric', hourCycle: 'h23', timeZone: tz }).format(d));
        assert.equal(localHour(tz, d), want, tz);
      }
    }
  });
});
