// body.js — bounded reads of request and response bodies, for the Worker and Lambda@Edge.
// A body is read up to its limit + 1 byte, never further: a declared Content-Length over the limit
// is refused without reading, a chunked one stops at the first byte past the limit.  What was read
// is not lost: an over-limit result carries a stream that replays the bytes already read and then
// the rest of the original, so the body can still be forwarded (or returned) unchanged.
// A body whose declared Content-Length is within the limit and that carries no Content-Encoding (so
// the declared length is the length of what is read: HTTP stacks end the body there) is read in one
// arrayBuffer() call, a third of the cost of a read loop in workerd; a body that still turns out
// longer than the limit (a message built in code with a wrong header) comes back as `over`, its bytes
// replayed.
//
//   readBounded(message, limit) → {bytes: Uint8Array} | {over: true, body: ReadableStream | null}

/** Read a Request's or Response's body (message.body, message.headers) up to `limit` bytes. */
export async function readBounded(message, limit) {
  const declared = message.headers?.get?.('content-length');
  if (declared !== null && declared !== undefined && declared !== '' && Number(declared) > limit) {
    return { over: true, body: message.body };
  }
  if (declaredExact(message, declared) && typeof message.arrayBuffer === 'function') {
    const bytes = new Uint8Array(await message.arrayBuffer());
    return bytes.length <= limit ? { bytes } : { over: true, body: replay([bytes], null) };
  }
  const stream = message.body;
  if (!stream) return { bytes: new Uint8Array(0) };
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = value instanceof Uint8Array ? value : new Uint8Array(value);
    chunks.push(chunk);
    total += chunk.length;
    if (total > limit) return { over: true, body: replay(chunks, reader) };
  }
  if (chunks.length === 1) return { bytes: chunks[0] };
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return { bytes };
}

/** Whether a declared Content-Length is the length of the body as read: digits, and no
 * Content-Encoding other than identity (a decoded body is longer than its declared length). */
function declaredExact(message, declared) {
  if (typeof declared !== 'string' || !/^\d{1,15}$/.test(declared)) return false;
  const coding = message.headers.get('content-encoding');
  return coding === null || coding.trim() === '' || coding.trim().toLowerCase() === 'identity';
}

/** A stream of the chunks already read, then what the reader has left (reader null: nothing). */
function replay(chunks, reader) {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i < chunks.length) { controller.enqueue(chunks[i++]); return; }
      if (!reader) { controller.close(); return; }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value instanceof Uint8Array ? value : new Uint8Array(value));
    },
    cancel(reason) { return reader?.cancel(reason); },
  });
}
