// bundles.test.mjs — bundles split across KV keys (worker-shim/cloudflare/bundle-shards.js) and the
// isolate's bundle (bundles.js) INSIDE workerd, over the real KV namespace from wrangler.toml:
// a bundle over KV's 25 MiB value limit round-trips; a missing or corrupt shard keeps the last good
// engine; two versions' shards never mix; a first load under way holds no request past BUNDLE_WAIT_MS.
// The bundles are the suite's Luma bundles (build/workerd/*.erb, ~0.8 MB), split into small shards
// (writeBundle's shardBytes) so that each is several shards.
import { describe, it, expect, beforeEach } from 'vitest';
import { env } from 'cloudflare:test';
import { clearKv } from './clear-kv.mjs';
import wasm from '../../wasm/edgerec.wasm';
import luma from '../../build/workerd/luma.erb';
import lumaV3 from '../../build/workerd/luma-v3.erb';
import lumaAA from '../../build/workerd/luma-aa.erb';
import { Engine } from '../../worker-shim/core/engine.js';
import { BundleStore, DEFAULT_BUNDLE_WAIT_MS, bundleWaitMs } from '../../worker-shim/cloudflare/bundles.js';
import { MANIFEST_FORMAT, SHARD_BYTES, SHARD_PREFIX, bundleKey, parseManifest, readBundle, writeBundle } from '../../worker-shim/cloudflare/bundle-shards.js';
import { sha256Hex } from '../../worker-shim/core/catalog.js';

const KV_VALUE_LIMIT = 25 * 1024 * 1024;
const SMALL = 64 * 1024; // shard length for the Luma bundles: several shards each
const V1 = new Engine(wasm, new Uint8Array(luma)).info().model_version;
const V3 = new Engine(wasm, new Uint8Array(lumaV3)).info().model_version;
const VAA = new Engine(wasm, new Uint8Array(lumaAA)).info().model_version;

beforeEach(clearKv);

const keysWith = async (prefix) => (await env.EDGEREC.list({ prefix })).keys.map((k) => k.name);
const manifestOf = async (version) => parseManifest(version, new Uint8Array(await env.EDGEREC.get(bundleKey(version), 'arrayBuffer')));

describe('bundle shards in KV (bundle-shards.js)', () => {
  it('a bundle over 25 MiB is split into shards, named by their SHA-256, and reads back byte for byte', async () => {
    const big = new Uint8Array(KV_VALUE_LIMIT + 3 * 1024 * 1024 + 17); // 28 MiB + 17 B, not a repeating pattern
    for (let i = 0, x = 0x9e3779b9; i < big.length; i += 4) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; big[i] = x; big[i + 1] = x >>> 8; big[i + 2] = x >>> 16; big[i + 3] = x >>> 24; }
    big[0] = 0x45; // not '{': whatever the first byte, the manifest is what is read
    await expect(env.EDGEREC.put('too-big', big)).rejects.toThrow(); // KV's own limit is real here
    const w = await writeBundle(env.EDGEREC, 'big-1', big);
    expect(w).toMatchObject({ sharded: true, bytes: big.length });
    expect(w.shards).toHaveLength(Math.ceil(big.length / SHARD_BYTES));
    const m = await manifestOf('big-1');
    expect(m).toMatchObject({ format: MANIFEST_FORMAT, version: 'big-1', bytes: big.length, sha256: await sha256Hex(big) });
    for (const [i, s] of m.shards.entries()) {
      const piece = big.subarray(i * SHARD_BYTES, Math.min((i + 1) * SHARD_BYTES, big.length));
      expect(s).toEqual({ key: SHARD_PREFIX + (await sha256Hex(piece)), bytes: piece.length });
    }
    const back = await readBundle(env.EDGEREC, 'big-1');
    expect(back.shards).toBe(m.shards.length);
    expect(back.bytes.length).toBe(big.length);
    expect(await sha256Hex(back.bytes)).toBe(m.sha256);
  });

  it('a bundle that fits one shard stays one value (what older Workers read); absent → null', async () => {
    const w = await writeBundle(env.EDGEREC, V1, new Uint8Array(luma));
    expect(w).toEqual({ sharded: false, bytes: luma.byteLength, shards: [] });
    expect(new Uint8Array(await env.EDGEREC.get(bundleKey(V1), 'arrayBuffer'))).toEqual(new Uint8Array(luma));
    expect(await keysWith(SHARD_PREFIX)).toEqual([]);
    expect((await readBundle(env.EDGEREC, V1)).shards).toBe(0);
    expect(await readBundle(env.EDGEREC, 'nope')).toBeNull();
  });

  it('bad manifests are refused naming the key and the field', async () => {
    const bad = async (m) => { await env.EDGEREC.put(bundleKey('m1'), typeof m === 'string' ? m : JSON.stringify(m)); return readBundle(env.EDGEREC, 'm1'); };
    const shard = { key: SHARD_PREFIX + '0'.repeat(64), bytes: 10 };
    await expect(bad('{"format":')).rejects.toThrow(/^bundle:m1: the shard manifest is not JSON/);
    await expect(bad({ format: 'x', version: 'm1', bytes: 10, shards: [shard] })).rejects.toThrow('bundle:m1: manifest format is "x"');
    await expect(bad({ format: MANIFEST_FORMAT, version: 'm2', bytes: 10, shards: [shard] })).rejects.toThrow('bundle:m1: the manifest is for version "m2"');
    await expect(bad({ format: MANIFEST_FORMAT, version: 'm1', bytes: 11, shards: [shard] })).rejects.toThrow('the shards add up to 10 bytes, the manifest says 11');
    await expect(bad({ format: MANIFEST_FORMAT, version: 'm1', bytes: 10, shards: [{ key: 'bundle:m0', bytes: 10 }] })).rejects.toThrow('shard 0 has no key bundle-shard:<sha-256 hex>');
    await expect(bad({ format: MANIFEST_FORMAT, version: 'm1', bytes: 10, shards: [] })).rejects.toThrow('manifest shards is not a list');
    await expect(bad({ format: MANIFEST_FORMAT, version: 'm1', bytes: 10, shards: [shard] })).rejects.toThrow(`bundle:m1: shard 0 (${shard.key}) is missing in KV`);
  });
});

describe('the isolate\'s bundle from shards (bundles.js)', () => {
  const setActive = (v) => env.EDGEREC.put('bundle:active', v);

  it('loads a sharded bundle; a missing shard, a corrupt shard, a shard of another version keep the last good engine', async () => {
    await writeBundle(env.EDGEREC, V1, new Uint8Array(luma), { shardBytes: SMALL });
    await writeBundle(env.EDGEREC, V3, new Uint8Array(lumaV3), { shardBytes: SMALL });
    const m1 = await manifestOf(V1), m3 = await manifestOf(V3);
    expect(m1.shards.length).toBe(Math.ceil(luma.byteLength / SMALL));
    await setActive(V1);
    const s = new BundleStore(wasm);
    let t = 10_000_000;
    const e1 = await s.get(env, t);
    expect(e1).toBeInstanceOf(Engine);
    expect(s).toMatchObject({ version: V1, shards: m1.shards.length, lastError: null });
    const answer = e1.recommend('{"k":6}');
    expect(JSON.parse(answer).items).toHaveLength(6);
    expect(answer).toBe(new Engine(wasm, new Uint8Array(luma)).recommend('{"k":6}')); // the same bundle, assembled

    // v3 named, one of its shards gone: v1 serves on, the error names the shard
    await setActive(V3);
    const mid = m3.shards.length >> 1;
    expect(mid).toBeGreaterThan(0);
    const gone = m3.shards[mid].key;
    const kept = await env.EDGEREC.get(gone, 'arrayBuffer');
    await env.EDGEREC.delete(gone);
    expect(await s.get(env, (t += 60_000))).toBe(e1);
    expect(s.version).toBe(V1);
    expect(s.lastError).toBe(`bundle:${V3}: shard ${mid} (${gone}) is missing in KV`);

    // the shard back but one byte changed (same key, same length): the engine's checksum refuses it
    const flipped = new Uint8Array(kept.slice(0));
    flipped[1234] ^= 0x40; // (not shard 0: the checksum covers every byte after the header)
    await env.EDGEREC.put(gone, flipped);
    expect(await s.get(env, (t += 60_000))).toBe(e1);
    expect(s.lastError).toMatch(/^bundle_checksum: bundle: checksum mismatch/);

    // a shard cut short: refused before the engine sees it
    await env.EDGEREC.put(gone, new Uint8Array(kept).subarray(0, 100).slice());
    expect(await s.get(env, (t += 60_000))).toBe(e1);
    expect(s.lastError).toBe(`bundle:${V3}: shard ${mid} (${gone}) has 100 bytes, the manifest says ${m3.shards[mid].bytes}`);

    // restored: v3 loads, and it is v3's bytes throughout
    await env.EDGEREC.put(gone, kept);
    const e3 = await s.get(env, (t += 60_000));
    expect(e3 === e1).toBe(false);
    expect(s).toMatchObject({ version: V3, lastError: null });
    expect(e3.info().model_version).toBe(V3);
  });

  it('two versions\' shards never mix: a reader takes one manifest and its shards by hash; a forged mix is refused', async () => {
    // luma-aa.erb: luma.erb's model under another version (aa-2), so most shards are the same bytes
    await writeBundle(env.EDGEREC, V1, new Uint8Array(luma), { shardBytes: SMALL });
    const m1 = await manifestOf(V1);
    const read1 = readBundle(env.EDGEREC, V1); // under way while aa-2 is written
    await writeBundle(env.EDGEREC, VAA, new Uint8Array(lumaAA), { shardBytes: SMALL });
    const mA = await manifestOf(VAA);
    expect(await sha256Hex((await read1).bytes)).toBe(await sha256Hex(luma));
    expect(await sha256Hex((await readBundle(env.EDGEREC, VAA)).bytes)).toBe(await sha256Hex(lumaAA));
    const k1 = m1.shards.map((x) => x.key), kA = mA.shards.map((x) => x.key);
    expect(k1[0]).not.toBe(kA[0]); // the headers differ (version, checksum)
    expect(k1.slice(1, -1)).toEqual(kA.slice(1, -1)); // identical bytes: one key, stored once
    expect((await keysWith(SHARD_PREFIX)).sort()).toEqual([...new Set([...k1, ...kA])].sort());

    // a manifest made to name the other version's shard (same length, other bytes) fails the checksum: never served
    const at = mA.shards.findIndex((x, i) => i > 0 && m1.shards[i] && m1.shards[i].key !== x.key && m1.shards[i].bytes === x.bytes);
    expect(at).toBeGreaterThan(0); // past the header, so the checksum is what catches it
    await env.EDGEREC.put(bundleKey(VAA), JSON.stringify({ ...mA, shards: mA.shards.map((x, i) => (i === at ? m1.shards[i] : x)) }));
    await env.EDGEREC.put('bundle:active', V1);
    const s = new BundleStore(wasm);
    const e1 = await s.get(env, 20_000_000);
    await env.EDGEREC.put('bundle:active', VAA);
    expect(await s.get(env, 20_060_000)).toBe(e1);
    expect(s.version).toBe(V1);
    expect(s.lastError).toMatch(/^bundle_checksum: /);
  });

  it('a first load under way holds a request at most BUNDLE_WAIT_MS, then it passes through; prefetch keeps the load going', async () => {
    expect(bundleWaitMs({})).toBe(DEFAULT_BUNDLE_WAIT_MS);
    expect(bundleWaitMs({ BUNDLE_WAIT_MS: '0' })).toBe(0);
    expect(bundleWaitMs({ BUNDLE_WAIT_MS: 'soon' })).toBe(DEFAULT_BUNDLE_WAIT_MS);
    await writeBundle(env.EDGEREC, V1, new Uint8Array(luma), { shardBytes: SMALL });
    await setActive(V1);
    let release;
    const gate = new Promise((r) => { release = r; });
    const slowKv = { // shards arrive only when released (a slow KV read at the edge)
      get: async (k, o) => { if (k.startsWith(SHARD_PREFIX)) await gate; return env.EDGEREC.get(k, o); },
    };
    const e = { EDGEREC: slowKv, BUNDLE_WAIT_MS: '50' };
    const s = new BundleStore(wasm);
    const waits = [];
    s.prefetch(e, { waitUntil: (p) => waits.push(p) });
    expect(waits).toHaveLength(1);
    s.prefetch(e, { waitUntil: (p) => waits.push(p) }); // one load at a time
    expect(waits).toHaveLength(1);
    const t0 = Date.now();
    expect(await s.get(e)).toBeNull(); // not ready: pass through
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    expect(await s.get({ ...e, BUNDLE_WAIT_MS: '0' })).toBeNull();
    release();
    await waits[0];
    const e1 = await s.get(e);
    expect(e1).toBeInstanceOf(Engine);
    expect(s.version).toBe(V1);
    // the cron waits for the whole load
    const c = new BundleStore(wasm);
    expect(await c.get(env, Date.now(), { waitMs: Infinity })).toBeInstanceOf(Engine);
  });
});
