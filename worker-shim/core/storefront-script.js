// storefront-script.js — the HTTP answer for GET /edge/recs.js, the storefront script
// (worker-shim/browser/recs.js), on both platforms: the Worker imports the file as text (wrangler.toml
// [[rules]] Text), the Lambda@Edge handler reads it from its package.  One source file, no copy.
//
//   scriptAnswer(source, {method, ifNoneMatch}) → {status, headers, body}   (body null for HEAD and 304)
//
// Public and the same for everyone: cacheable for 5 minutes (a new deployment reaches pages within
// that), then revalidated by its ETag (a hash of the text).  `access-control-allow-origin: *` lets a
// storefront on another origin load it as a module script (module scripts are fetched with CORS; no
// credentials are involved, the script is public).
const MAX_AGE = 300;
const tags = new Map(); // source text → its ETag (per isolate; one entry in practice)

async function etagOf(source) {
  let tag = tags.get(source);
  if (!tag) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(source)));
    tag = `"${[...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
    if (tags.size > 4) tags.clear();
    tags.set(source, tag);
  }
  return tag;
}

/** The answer to GET / HEAD /edge/recs.js for the script's text: 200 with the script, or 304 when
 * If-None-Match names its ETag. */
export async function scriptAnswer(source, { method = 'GET', ifNoneMatch = null } = {}) {
  const etag = await etagOf(source);
  const headers = {
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': `public, max-age=${MAX_AGE}`,
    etag,
    'access-control-allow-origin': '*',
    'x-content-type-options': 'nosniff',
  };
  const match = typeof ifNoneMatch === 'string' && ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
  if (match) return { status: 304, headers, body: null };
  return { status: 200, headers, body: method === 'HEAD' ? null : source };
}
