// bundle-shards.js — a bundle in KV, split into immutable, content-addressed shards when it is larger
// than one shard (KV values are at most 25 MiB; issue 16, "Scale").
//
//   bundle:<version>             a bundle of at most SHARD_BYTES: the .erb bytes themselves (as always);
//                                a larger one: its manifest, JSON (below)
//   bundle-shard:<sha-256 hex>   SHARD_BYTES-long pieces of the .erb (the last one shorter), named by content
//
//   manifest {"format":"edgerec-bundle-shards/1","version":"v7","bytes":N,"sha256":"<whole .erb>",
//             "shards":[{"key":"bundle-shard:<hex>","bytes":n},…]}
//
// Never mixed: a reader takes one manifest and reads only the shards it names, by hash; a shard's key
// is its content, so it is never rewritten with other bytes, and a version is never stored twice with
// different bytes (the admin PUT refuses that, 409).  The writer puts the shards first and the
// manifest last, so a manifest never names a shard that is not written.  The catalog view uses the
// same scheme (core/catalog.js: `catalog:<store>:<currency>` → `catalog-shard:<sha-256>`) and its hash.
//
// What each isolate re-checks when it assembles a bundle (full validation, with a test request, stays
// where bundles enter: the admin PUT, `edgerec pack`): the manifest's shape and version, every shard
// present and of the length the manifest gives, the total length; then the engine's loader checks the
// header, the XXH64 checksum over the whole bundle and every section's bounds (er_bundle.c).  A shard's
// SHA-256 is not recomputed per isolate: a wrong byte fails the checksum, a wrong length the manifest.
import { sha256Hex } from '../core/catalog.js';

export const SHARD_BYTES = 8 * 1024 * 1024;  // a shard's length (KV's limit is 25 MiB; smaller shards load in parallel)
export const SHARD_PREFIX = 'bundle-shard:';
export const MANIFEST_FORMAT = 'edgerec-bundle-shards/1';
const SHARD_CACHE_TTL_S = 3600;              // shards are immutable: KV may keep them at the edge this long
const MAX_MANIFEST_SHARDS = 64;              // 512 MiB at SHARD_BYTES: far past what an isolate holds
const SHARD_KEY_RE = /^bundle-shard:[0-9a-f]{64}$/;

const dec = new TextDecoder();

/** The bundle's KV key (its bytes, or its manifest). */
export const bundleKey = (version) => `bundle:${version}`;

/** Whether a `bundle:<version>` value is a manifest (a JSON object); anything else is the bundle's own
 * bytes, which the engine checks (and names what is wrong: magic, version, checksum…). */
const isManifest = (b) => b.length > 0 && b[0] === 0x7b; // '{'  (an .erb starts with "EDGERECB")

/**
 * Store a bundle's bytes under `version`: one value when it fits in a shard, else its shards, then the
 * manifest.  Returns {sharded, bytes, shards: [keys]}.  Validation is the caller's (admin.js).
 * @param {KVNamespace} kv @param {string} version @param {Uint8Array} bytes
 * @param {{shardBytes?: number}} [o] shardBytes: for tests
 */
export async function writeBundle(kv, version, bytes, { shardBytes = SHARD_BYTES } = {}) {
  if (bytes.length <= shardBytes) {
    await kv.put(bundleKey(version), bytes);
    return { sharded: false, bytes: bytes.length, shards: [] };
  }
  const shards = [];
  for (let at = 0; at < bytes.length; at += shardBytes) {
    const piece = bytes.subarray(at, Math.min(at + shardBytes, bytes.length));
    const key = SHARD_PREFIX + (await sha256Hex(piece));
    await kv.put(key, piece.slice()); // a copy: the value is exactly the piece
    shards.push({ key, bytes: piece.length });
  }
  const manifest = { format: MANIFEST_FORMAT, version, bytes: bytes.length, sha256: await sha256Hex(bytes), shards };
  await kv.put(bundleKey(version), JSON.stringify(manifest)); // last: every shard it names is stored
  return { sharded: true, bytes: bytes.length, shards: shards.map((s) => s.key) };
}

/** A manifest read from `bundle:<version>`, checked; throws an Error naming the key and the field. */
export function parseManifest(version, raw) {
  const where = bundleKey(version);
  let m;
  try { m = JSON.parse(dec.decode(raw)); } catch (e) { throw new Error(`${where}: the shard manifest is not JSON (${e.message})`); }
  if (!m || m.format !== MANIFEST_FORMAT) throw new Error(`${where}: manifest format is ${JSON.stringify(m?.format)}, not ${MANIFEST_FORMAT}`);
  if (m.version !== version) throw new Error(`${where}: the manifest is for version ${JSON.stringify(m.version)}`);
  if (!Number.isSafeInteger(m.bytes) || m.bytes <= 0) throw new Error(`${where}: manifest bytes is not a positive integer`);
  if (!Array.isArray(m.shards) || !m.shards.length || m.shards.length > MAX_MANIFEST_SHARDS) throw new Error(`${where}: manifest shards is not a list of 1..${MAX_MANIFEST_SHARDS}`);
  let sum = 0;
  m.shards.forEach((s, i) => {
    if (typeof s?.key !== 'string' || !SHARD_KEY_RE.test(s.key)) throw new Error(`${where}: shard ${i} has no key ${SHARD_PREFIX}<sha-256 hex>`);
    if (!Number.isSafeInteger(s.bytes) || s.bytes <= 0) throw new Error(`${where}: shard ${i} bytes is not a positive integer`);
    sum += s.bytes;
  });
  if (sum !== m.bytes) throw new Error(`${where}: the shards add up to ${sum} bytes, the manifest says ${m.bytes}`);
  return m;
}

/**
 * A bundle's bytes, assembled (shards read in parallel), or null when `bundle:<version>` is absent.
 * Throws an Error naming the key for a bad manifest, a missing shard or a shard of the wrong length.
 * @returns {Promise<{bytes: Uint8Array, shards: number}|null>}
 */
export async function readBundle(kv, version) {
  const raw = await kv.get(bundleKey(version), 'arrayBuffer');
  if (!raw) return null;
  const head = new Uint8Array(raw);
  if (!isManifest(head)) return { bytes: head, shards: 0 };
  const m = parseManifest(version, head);
  const out = new Uint8Array(m.bytes);
  const parts = await Promise.all(m.shards.map((s) => kv.get(s.key, { type: 'arrayBuffer', cacheTtl: SHARD_CACHE_TTL_S })));
  let at = 0;
  m.shards.forEach((s, i) => {
    const p = parts[i];
    if (!p) throw new Error(`${bundleKey(version)}: shard ${i} (${s.key}) is missing in KV`);
    if (p.byteLength !== s.bytes) throw new Error(`${bundleKey(version)}: shard ${i} (${s.key}) has ${p.byteLength} bytes, the manifest says ${s.bytes}`);
    out.set(new Uint8Array(p), at);
    at += s.bytes;
  });
  return { bytes: out, shards: m.shards.length };
}
