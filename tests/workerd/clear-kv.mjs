// clear-kv.mjs — for workerd tests (catalog, bundles*): empty the test KV namespace (every key, page by page).
import { env } from 'cloudflare:test';

/** Delete every key of env.EDGEREC. */
export async function clearKv() {
  let cursor;
  do {
    const l = await env.EDGEREC.list({ cursor });
    for (const k of l.keys) await env.EDGEREC.delete(k.name);
    cursor = l.list_complete ? undefined : l.cursor;
  } while (cursor);
}
