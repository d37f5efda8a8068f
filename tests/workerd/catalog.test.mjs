// catalog.test.mjs — the catalog view INSIDE workerd (vitest workers pool): the sync
// (worker-shim/cloudflare/catalog-sync.js) against the Magento stand-in through the config's
// outboundService, the KV namespace from wrangler.toml, and the reader (core/catalog.js).
//
// Each test talks to a stand-in of its own: ORIGIN_URL = http://magento.test/__standin/scenario/<name>
// is a separate stand-in over a copy of the Luma catalog (tests/standin/magento.mjs), so products
// can be changed (POST …/__standin/product: price, status, stock) without touching the catalog the
// other test files see.  The skus are the real bundle's (engine.skus() over build/workerd/luma.erb):
// 2,038 Luma items of which 179 are visible; the 1,859 configurable children are not visible
// individually, so Magento's GraphQL does not return them and they are unavailable.
// KV starts empty for every test (beforeEach); a recording wrapper counts what is really written.
// Time is the `nowMs` each sync is given (the cron's scheduledTime), from T0 on.
import { describe, it, expect, beforeEach } from 'vitest';
import { env } from 'cloudflare:test';
import wasm from '../../wasm/edgerec.wasm';
import luma from '../../build/workerd/luma.erb';
import { Engine } from '../../worker-shim/core/engine.js';
import { clearKv } from './clear-kv.mjs';
import { STATE_KEY, catalogHealth, catalogLookup, kvStorage, syncCatalog } from '../../worker-shim/cloudflare/catalog-sync.js';
import {
  CACHE_BUDGET_BYTES, Catalog, MAX_SHARD_BYTES, MANIFEST_TTL_MS, Shard, chooseShardCount, manifestKey, readManifest, sha256Hex, shardOf, writeCatalog,
} from '../../worker-shim/core/catalog.js';
import { generateCatalog, prng } from '../js/catalog-fixtures.mjs';

const ORIGIN = 'http://magento.test';
const TOKEN = 'standin-integration-token';
const T0 = Date.UTC(2031, 2, 3, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

const engine = new Engine(wasm, new Uint8Array(luma));
const SKUS = engine.skus();
const BATCHES = Math.ceil(SKUS.length / 100);
const VISIBLE = 179;

// ---- helpers -------------------------------------------------------------------------------------

beforeEach(clearKv);

let n = 0;
/** A stand-in of the test's own, and an env whose KV records what is written. */
function setup(vars = {}) {
  const base = `${ORIGIN}/__standin/scenario/catalog-${++n}-${Math.random().toString(36).slice(2, 8)}`;
  const ops = { puts: [], deletes: [] };
  const kv = {
    get: (...a) => env.EDGEREC.get(...a),
    put: (k, v, o) => { ops.puts.push(k); return env.EDGEREC.put(k, v, o); },
    delete: (k) => { ops.deletes.push(k); return env.EDGEREC.delete(k); },
    list: (o) => env.EDGEREC.list(o),
  };
  const e = { ...env, EDGEREC: kv, ORIGIN_URL: base, CATALOG_SYNC_BATCHES: '50', ...vars };
  const requests = [];
  /** fetch as the sync uses it, recorded; `fault(request) → header value` injects a stand-in fault */
  let fault = null;
  const fetcher = async (url, init = {}) => {
    const body = init.body ? JSON.parse(init.body) : null;
    requests.push({ url: String(url), method: init.method ?? 'GET', headers: init.headers, body });
    const headers = { ...init.headers };
    const f = fault?.(requests.length, body);
    if (f) headers['x-standin-fault'] = f;
    return fetch(url, { ...init, headers });
  };
  const sync = (t, o = {}) => syncCatalog(e, t, { engine, fetch: fetcher, ...o });
  const take = () => { const r = { puts: [...ops.puts], deletes: [...ops.deletes], requests: [...requests] }; ops.puts.length = 0; ops.deletes.length = 0; requests.length = 0; return r; };
  return { base, env: e, ops, requests, sync, take, fetcher, setFault: (f) => { fault = f; } };
}

async function change(s, body) {
  const r = await fetch(`${s.base}/__standin/product`, { method: 'POST', body: JSON.stringify(body) });
  expect(r.status).toBe(200);
  return r.json();
}

/** A reader of its own (fresh cache) over the real KV. */
const reader = (o = {}) => new Catalog(kvStorage(env.EDGEREC), o);
const priceOf = (r) => (r.type === 'complex' ? r.priceRange.minimum.final : r.price.final);
const graphqlSkus = (reqs) => reqs.filter((r) => r.url.endsWith('/graphql')).map((r) => r.body.variables.skus);
const restCalls = (reqs) => reqs.filter((r) => r.url.includes('/rest/'));

// ---- the sync -------------------------------------------------------------------------------------

describe('catalog sync against the Magento stand-in', () => {
  it('a full sync writes shards and a manifest per store view; lookups answer from KV', async () => {
    expect(SKUS.length).toBe(2038);
    const s = setup({ CATALOG_STORES: 'default:USD,de:EUR' });
    const r = await s.sync(T0);
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.skus).toBe(2038);
    const got = s.take();
    // Magento's own GraphQL: POST /graphql, ≤ 100 skus a request, Store and Content-Currency per store view
    const gql = got.requests.filter((q) => q.url.endsWith('/graphql'));
    expect(gql.length).toBe(2 * BATCHES);
    expect(r.requests).toEqual({ graphql: 2 * BATCHES, rest: 0 });
    for (const q of gql) {
      expect(q.method).toBe('POST');
      expect(q.body.query).toMatch(/products\(filter: \{sku: \{in: \$skus\}\}, pageSize: \$pageSize\)/);
      expect(q.body.variables.skus.length).toBeLessThanOrEqual(100);
      expect(q.body.variables.pageSize).toBe(q.body.variables.skus.length);
      expect([['default', 'USD'], ['de', 'EUR']]).toContainEqual([q.headers.store, q.headers['content-currency']]);
      expect(q.headers.authorization).toBeUndefined(); // anonymous: the default customer group's prices
    }
    expect(new Set(gql.flatMap((q) => q.body.variables.skus)).size).toBe(2038);

    for (const [store, currency] of [['default', 'USD'], ['de', 'EUR']]) {
      const m = await readManifest(kvStorage(env.EDGEREC), store, currency);
      expect(m).toMatchObject({ format: 1, store, currency, version: 1, records: VISIBLE, shardCount: 1, unavailableCount: 2038 - VISIBLE });
      for (const sh of m.shards) {
        const bytes = new Uint8Array(await env.EDGEREC.get(sh.key, 'arrayBuffer'));
        expect(sh.key).toBe(`catalog-shard:${await sha256Hex(bytes)}`); // named by its content
        expect(bytes.byteLength).toBe(sh.bytes);
        expect(new Shard(bytes).count).toBe(sh.count);
      }
      expect(m.unavailable).toContain('MH01-XS-Black'); // a child: not visible individually
    }
    // what was written: per store view one shard and the manifest, then the sync state
    expect(got.puts.filter((k) => k.startsWith('catalog-shard:')).length).toBe(2);
    expect(got.puts.filter((k) => k.startsWith('catalog:')).sort()).toEqual(['catalog:de:EUR', 'catalog:default:USD']);
    expect(got.puts.at(-1)).toBe(STATE_KEY);
    expect(r.writes).toBe(got.puts.length);
    expect(r.writes).toBe(5);

    const view = reader();
    const usd = await view.lookup('default', 'USD', ['MH01', '24-MB01', 'MH01-XS-Black', 'NOPE']);
    expect([...usd.keys()].sort()).toEqual(['24-MB01', 'MH01']);
    expect(usd.get('MH01')).toMatchObject({
      sku: 'MH01', name: 'Chaz Kangeroo Hoodie', urlKey: 'chaz-kangeroo-hoodie', url: '/chaz-kangeroo-hoodie.html', type: 'complex',
      priceRange: { minimum: { final: 52, regular: 52 }, maximum: { final: 52, regular: 52 }, currency: 'USD' }, inStock: true,
      images: [{ url: 'https://venia.example/media/catalog/product/c/h/chaz-kangeroo-hoodie.jpg', label: 'Chaz Kangeroo Hoodie', roles: ['image', 'small_image', 'thumbnail'] }],
    });
    expect(usd.get('MH01').categories).toContain('Men/Tops/Hoodies & Sweatshirts');
    expect(usd.get('24-MB01')).toMatchObject({ type: 'simple', price: { final: 34, regular: 34, currency: 'USD' }, url: '/joust-duffle-bag.html' });
    const eur = await view.lookup('de', 'EUR', ['MH01', '24-MB01']);
    expect(eur.get('MH01').priceRange.minimum.final).toBe(46.8);
    expect(eur.get('24-MB01').price).toEqual({ final: 30.6, regular: 30.6, currency: 'EUR' });
    expect((await view.lookup('uk', 'GBP', ['MH01'])).size).toBe(0); // not configured: nothing

    // the Worker's entry point: the isolate's view over env.EDGEREC
    const w = await catalogLookup(env, 'default', 'USD', ['24-MB01', 'MH01-XS-Black']);
    expect([...w.keys()]).toEqual(['24-MB01']);

    const h = await catalogHealth(s.env, T0 + 2 * MIN);
    expect(h).toMatchObject({ ok: true, mode: 'full', writesToday: 5 });
    expect(h.stores.map((x) => [x.store, x.currency, x.version, x.records, x.unavailable, x.failing, x.lagSeconds, x.pass])).toEqual([
      ['default', 'USD', 1, VISIBLE, 1859, false, 120, null], ['de', 'EUR', 1, VISIBLE, 1859, false, 120, null]]);
    expect(h.stores[0].lastSuccess).toBe(new Date(T0).toISOString());
  });

  it('a second sync with nothing changed writes nothing; a new pass over unchanged products writes only the sync state', async () => {
    const s = setup();
    await s.sync(T0);
    s.take();
    const r = await s.sync(T0 + MIN); // within CATALOG_REFRESH_MINUTES: nothing due
    expect(r).toMatchObject({ ok: true, writes: 0, deletes: 0, requests: { graphql: 0, rest: 0 } });
    expect(s.take().puts).toEqual([]);
    const again = await s.sync(T0 + 15 * MIN); // a full pass: every sku asked again, nothing differs
    const got = s.take();
    expect(again.requests.graphql).toBe(BATCHES);
    expect(again.stores[0]).toMatchObject({ changed: false, version: 1, fetched: VISIBLE, missing: 2038 - VISIBLE });
    expect(got.puts).toEqual([STATE_KEY]); // the pass's completion (when the next one is due), nothing of the catalog
    expect((await s.sync(T0 + 16 * MIN)).writes).toBe(0);
  });

  it('a price change shows after one sync: one shard and the manifest; the replaced shard is deleted an hour later', async () => {
    const s = setup({ CATALOG_STORES: 'default:USD,de:EUR' });
    await s.sync(T0);
    const m1 = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    s.take();
    await change(s, { sku: '24-MB01', price: 29.5 });
    const r = await s.sync(T0 + 15 * MIN);
    expect(r.ok).toBe(true);
    const got = s.take();
    expect(got.puts.filter((k) => k.startsWith('catalog-shard:')).length).toBe(2);
    expect(got.puts.filter((k) => k.startsWith('catalog:')).sort()).toEqual(['catalog:de:EUR', 'catalog:default:USD']);
    expect(r.writes).toBe(5);
    const view = reader();
    expect((await view.lookup('default', 'USD', ['24-MB01'])).get('24-MB01').price).toEqual({ final: 29.5, regular: 29.5, currency: 'USD' });
    expect((await view.lookup('de', 'EUR', ['24-MB01'])).get('24-MB01').price.final).toBe(26.55);
    const m2 = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(m2.version).toBe(2);
    // the old shard stays for readers still on version 1, then goes
    expect(await env.EDGEREC.get(m1.shards[0].key, 'arrayBuffer')).not.toBeNull();
    const later = await s.sync(T0 + 15 * MIN + HOUR);
    expect(later.deletes).toBe(2);
    expect(s.take().deletes).toContain(m1.shards[0].key);
    expect(await env.EDGEREC.get(m1.shards[0].key, 'arrayBuffer')).toBeNull();
    expect((await reader().lookup('default', 'USD', ['24-MB01'])).get('24-MB01').price.final).toBe(29.5);
  });

  it('a disabled product disappears (unavailable, lookups miss it); out of stock is kept, marked and unavailable', async () => {
    const s = setup();
    await s.sync(T0);
    await change(s, { sku: 'MH01', status: 2 });
    await change(s, { sku: '24-MB01', in_stock: false });
    const r = await s.sync(T0 + 15 * MIN);
    expect(r.stores[0]).toMatchObject({ changed: true, version: 2, records: VISIBLE - 1 });
    const m = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(m.unavailable).toContain('MH01');
    expect(m.unavailable).toContain('24-MB01');
    const got = await reader().lookup('default', 'USD', ['MH01', '24-MB01', 'MH02']);
    expect(got.has('MH01')).toBe(false);
    expect(got.get('24-MB01').inStock).toBe(false);
    expect(got.has('MH02')).toBe(true);
    await change(s, { sku: 'MH01', status: 1 });
    await s.sync(T0 + 30 * MIN);
    expect((await reader().lookup('default', 'USD', ['MH01'])).has('MH01')).toBe(true);
    expect((await readManifest(kvStorage(env.EDGEREC), 'default', 'USD')).unavailable).not.toContain('MH01');
  });

  it('with an integration token: REST picks up only the changed skus; a full reconcile once a day', async () => {
    const s = setup({ MAGENTO_INTEGRATION_TOKEN: TOKEN });
    const r0 = await s.sync(T0);
    let got = s.take();
    expect(r0.ok).toBe(true);
    expect(restCalls(got.requests).length).toBe(1); // the newest updated_at: where changes start from
    expect(restCalls(got.requests)[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(restCalls(got.requests)[0].url).toContain('/rest/default/V1/products?searchCriteria');
    expect(r0.requests.graphql).toBe(BATCHES);
    const h0 = await catalogHealth(s.env, T0);
    expect(h0.mode).toBe('incremental');
    expect(h0.stores[0].watermark).toBe('2024-01-01 00:00:00');

    await change(s, { sku: '24-MB01', price: 31, updated_at: '2031-03-03 12:05:00' });
    await change(s, { sku: 'MH01-XS-Black', price: 40, updated_at: '2031-03-03 12:06:00' }); // a child: not visible
    await change(s, { sku: 'MJ01', name: 'Beaumont Summit Kit (new)', updated_at: '2031-03-03 12:07:00' });
    const r1 = await s.sync(T0 + 15 * MIN);
    got = s.take();
    expect(r1.ok).toBe(true);
    const rest = restCalls(got.requests);
    expect(rest.length).toBe(1);
    expect(decodeURIComponent(rest[0].url)).toContain('[filters][0][field]=updated_at&searchCriteria[filter_groups][0][filters][0][value]=2024-01-01 00:00:00&searchCriteria[filter_groups][0][filters][0][condition_type]=gt');
    expect(graphqlSkus(got.requests)).toEqual([['24-MB01', 'MH01-XS-Black', 'MJ01']]); // only what changed, oldest first
    expect(r1.stores[0]).toMatchObject({ incremental: { changed: 3, watermark: '2031-03-03 12:07:00', complete: true }, changed: true, version: 2 });
    expect(got.puts).toEqual([expect.stringMatching(/^catalog-shard:/), 'catalog:default:USD', STATE_KEY]);
    const view = reader();
    const recs = await view.lookup('default', 'USD', ['24-MB01', 'MJ01', 'MH01-XS-Black']);
    expect(recs.get('24-MB01').price.final).toBe(31);
    expect(recs.get('MJ01').name).toBe('Beaumont Summit Kit (new)');
    expect(recs.has('MH01-XS-Black')).toBe(false);

    // nothing changed since: one REST request, nothing else, nothing written
    const r2 = await s.sync(T0 + 30 * MIN);
    got = s.take();
    expect(r2).toMatchObject({ ok: true, writes: 0, requests: { graphql: 0, rest: 1 } });
    expect(got.puts).toEqual([]);
    // the child's new price moved its parent's price range, but Magento did not touch the parent's
    // updated_at: the daily reconcile (a full pass) picks it up, as it does catalog price rules and stock
    expect((await view.lookup('default', 'USD', ['MH01'])).get('MH01').priceRange.minimum.final).toBe(52);
    const r3 = await s.sync(T0 + 24 * HOUR);
    expect(r3.requests.graphql).toBe(BATCHES);
    expect(r3.stores[0]).toMatchObject({ changed: true, version: 3 });
    expect((await reader().lookup('default', 'USD', ['MH01'])).get('MH01').priceRange.minimum).toEqual({ final: 40, regular: 40 });
    expect((await s.sync(T0 + 48 * HOUR)).stores[0].changed).toBe(false);
    // a wrong token: Magento's 401, reported; the full pass still runs
    await clearKv();
    const bad = setup({ MAGENTO_INTEGRATION_TOKEN: 'not-the-token' });
    const rb = await bad.sync(T0);
    expect(rb.ok).toBe(false);
    expect(rb.errors.join()).toMatch(/REST \/V1\/products: HTTP 401 .*consumer isn't authorized/);
    expect(rb.requests.graphql).toBe(BATCHES); // the full pass still ran
    const hb = await catalogHealth(bad.env, T0);
    expect(hb.ok).toBe(false);
    expect(hb.stores[0]).toMatchObject({ failing: true, records: VISIBLE, lastError: { message: expect.stringMatching(/401/) } });
  });

  it('incremental catch-up in bounded runs: the watermark stops below the first change not fetched (ties come back)', async () => {
    const s = setup({ MAGENTO_INTEGRATION_TOKEN: TOKEN });
    await s.sync(T0);
    const children = SKUS.filter((k) => /^M[HJ]\d\d-/.test(k)).slice(0, 150); // not visible individually: the catalog stays
    const at = (i) => `2031-03-03 13:${String(Math.floor(Math.min(i, 99) / 60)).padStart(2, '0')}:${String(Math.min(i, 99) % 60).padStart(2, '0')}`;
    for (const [i, sku] of children.entries()) await change(s, { sku, price: 10, updated_at: i < 100 ? at(i) : `2031-03-03 14:00:${String(i - 100).padStart(2, '0')}` });
    // the 100th and 101st changes (index 99, 100) are saved in the same second
    await change(s, { sku: children[100], price: 10, updated_at: at(99) });
    s.take();
    const one = (t) => syncCatalog({ ...s.env, CATALOG_SYNC_BATCHES: '1' }, t, { engine, fetch: s.fetcher });
    const r1 = await one(T0 + 15 * MIN);
    const ordered = [...children.slice(0, 99), ...[children[99], children[100]], ...children.slice(101)];
    expect(graphqlSkus(s.take().requests)).toEqual([ordered.slice(0, 100)]);
    expect(r1.stores[0].incremental).toMatchObject({ changed: 100, complete: false, watermark: at(98) }); // below the tie
    const r2 = await one(T0 + 30 * MIN);
    expect(graphqlSkus(s.take().requests)).toEqual([ordered.slice(99)]); // the tie again, then the rest
    expect(r2.stores[0].incremental).toMatchObject({ changed: 51, complete: true, watermark: '2031-03-03 14:00:49' });
    const r3 = await one(T0 + 45 * MIN);
    expect(r3.requests).toEqual({ graphql: 0, rest: 1 });
    expect(r3.writes).toBe(0);
  });

  it('bounded work: CATALOG_SYNC_BATCHES per run, the pass resumes where it stopped, shard by shard', async () => {
    const s = setup({ CATALOG_SYNC_BATCHES: '5' });
    const target = 8 * 1024; // small shards, so the pass crosses many
    let runs = 0, r;
    const seen = [];
    do {
      r = await s.sync(T0 + runs * 5 * MIN, { targetShardBytes: target });
      runs++;
      expect(r.ok).toBe(true);
      expect(r.requests.graphql).toBeLessThanOrEqual(5);
      seen.push(...graphqlSkus(s.take().requests).flat());
      if (runs === 1) {
        const h = await catalogHealth(s.env, T0);
        expect(h.stores[0].pass).toMatchObject({ startedAt: new Date(T0).toISOString(), of: chooseShardCount(null, 2038, target) });
        expect(h.stores[0].records).toBeGreaterThan(0); // filled as it goes
      }
    } while (r.stores[0].pass && !r.stores[0].pass.done && runs < 20);
    expect(runs).toBe(Math.ceil(BATCHES / 5));
    expect(seen.length).toBe(2038);
    expect(new Set(seen).size).toBe(2038); // every sku asked once
    const m = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(m.records).toBe(VISIBLE);
    // with what the catalog measured, the next pass re-shards to fit 179 products (shrinks) and keeps every one
    const next = await s.sync(T0 + 2 * HOUR, { targetShardBytes: target });
    expect(next.ok).toBe(true);
    const m2 = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(m2.shardCount).toBe(chooseShardCount(m, 2038, target));
    expect(m2.shardCount).toBeLessThan(m.shardCount);
    expect(m2.records).toBe(VISIBLE);
    expect((await reader().lookup('default', 'USD', ['MH01', 'MJ01', '24-MB01'])).size).toBe(3);
  });

  it('origin failures: nothing wrong is written, health says so; a failed stretch is asked again and the result is the same bytes', async () => {
    const clean = setup();
    await clean.sync(T0);
    const want = (await readManifest(kvStorage(env.EDGEREC), 'default', 'USD')).shards.map((x) => x.key);
    await env.EDGEREC.delete('catalog:default:USD');
    await env.EDGEREC.delete(STATE_KEY);

    const s = setup();
    s.setFault(() => '500');
    const r1 = await s.sync(T0);
    expect(r1.ok).toBe(false);
    expect(r1.errors).toEqual(['default:USD: GraphQL: HTTP 500']);
    expect(s.take().puts).toEqual([STATE_KEY]); // the error, for health; no catalog
    let h = await catalogHealth(s.env, T0);
    expect(h.ok).toBe(false);
    expect(h.stores[0]).toMatchObject({ version: null, failing: true, lastError: { at: new Date(T0).toISOString(), message: 'GraphQL: HTTP 500' } });
    s.setFault(() => 'garbage');
    expect((await s.sync(T0 + MIN)).errors).toEqual(['default:USD: GraphQL: the answer is not JSON']);
    // the third request onwards fails: two batches are kept, the cursor stays after them
    s.setFault((k) => (k >= 3 ? '500' : null));
    s.take();
    const r3 = await s.sync(T0 + 2 * MIN);
    expect(r3.stores[0]).toMatchObject({ batches: 2, error: 'GraphQL: HTTP 500' });
    expect(graphqlSkus(s.take().requests).length).toBe(3);
    expect((await readManifest(kvStorage(env.EDGEREC), 'default', 'USD')).version).toBe(1);
    s.setFault(null);
    const r4 = await s.sync(T0 + 3 * MIN);
    expect(r4.ok).toBe(true);
    expect(r4.requests.graphql).toBe(BATCHES - 2); // resumed, not restarted
    expect((await readManifest(kvStorage(env.EDGEREC), 'default', 'USD')).shards.map((x) => x.key)).toEqual(want);
    h = await catalogHealth(s.env, T0 + 3 * MIN);
    expect(h.ok).toBe(true);
    expect(h.stores[0]).toMatchObject({ failing: false, lastError: { message: 'GraphQL: HTTP 500' } }); // the last error stays visible

    // no bundle, bad settings: nothing done
    expect(await syncCatalog(s.env, T0, { engine: null })).toMatchObject({ ok: false, skipped: 'no bundle', writes: 0 });
    expect((await syncCatalog({ ...s.env, CATALOG_STORES: 'default' }, T0, { engine })).errors[0]).toMatch(/CATALOG_STORES: "default" is not/);
    expect((await syncCatalog({ ...s.env, ORIGIN_URL: '' }, T0, { engine })).errors[0]).toMatch(/CATALOG_GRAPHQL_URL/);
    expect((await catalogHealth({ ...s.env, CATALOG_STORES: 'uk:GBP' }, T0)).ok).toBe(false); // configured, never synced
  });

  it('the daily write budget: at CATALOG_MAX_WRITES_PER_DAY the sync waits (nothing asked, nothing written)', async () => {
    const s = setup({ CATALOG_MAX_WRITES_PER_DAY: '3' });
    const r1 = await s.sync(T0);
    expect(r1.writes).toBe(3); // shard, manifest, state: the budget is reached
    await change(s, { sku: '24-MB01', price: 20 });
    s.take();
    const r2 = await s.sync(T0 + 15 * MIN);
    expect(r2).toMatchObject({ deferred: 'write-budget', writes: 0, requests: { graphql: 0 } });
    expect(s.take().puts).toEqual([]);
    const r3 = await s.sync(T0 + 24 * HOUR); // the next UTC day
    expect(r3.ok).toBe(true);
    expect((await reader().lookup('default', 'USD', ['24-MB01'])).get('24-MB01').price.final).toBe(20);
  });
});

// ---- readers and versions ------------------------------------------------------------------------------

describe('readers never mix versions', () => {
  it('a lookup during a re-sync, after it, and where KV has not propagated a new shard yet', async () => {
    const s = setup();
    const target = 8 * 1024;
    await s.sync(T0, { targetShardBytes: target });
    await s.sync(T0 + 15 * MIN, { targetShardBytes: target }); // settles the shard count for 179 products
    const m1 = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(m1.shardCount).toBeGreaterThanOrEqual(2);
    // products spread over every shard: their prices move together in one re-sync
    const visible = [...(await reader().lookup('default', 'USD', SKUS)).values()];
    expect(visible.length).toBe(VISIBLE);
    const moved = [];
    for (let i = 0; i < m1.shardCount; i++) moved.push(...visible.filter((r) => shardOf(r.sku, m1.shardCount) === i && r.type === 'simple').slice(0, 2));
    expect(new Set(moved.map((r) => shardOf(r.sku, m1.shardCount))).size).toBe(m1.shardCount);
    const old = new Map(moved.map((r) => [r.sku, priceOf(r)]));
    const skus = [...old.keys()];
    const versionOf = (got) => {
      const v = new Set(skus.map((k) => (priceOf(got.get(k)) === old.get(k) ? 'old' : priceOf(got.get(k)) === old.get(k) + 1 ? 'new' : 'other')));
      expect(got.size).toBe(skus.length);
      expect(v.size).toBe(1); // never some old and some new
      return [...v][0];
    };

    // (1) a reader that has the manifest but not yet the shards while the sync writes a new version
    let open, reached;
    const gate = new Promise((r) => { open = r; });
    const waiting = new Promise((r) => { reached = r; });
    const kv = kvStorage(env.EDGEREC);
    const during = new Catalog({ get: async (k) => { if (k.startsWith('catalog-shard:')) { reached(); await gate; } return kv.get(k); } });
    const pending = during.lookup('default', 'USD', skus);
    await waiting; // it has read the manifest and asks for shards
    // (3) a reader on version 1 whose KV location will not have one new shard yet
    let clock = 0, hide = null;
    const lagging = new Catalog({ get: async (k) => (k === hide ? null : kv.get(k)) }, { now: () => clock });
    expect(versionOf(await lagging.lookup('default', 'USD', skus))).toBe('old');

    for (const [sku, p] of old) await change(s, { sku, price: p + 1 });
    const r = await s.sync(T0 + 30 * MIN, { targetShardBytes: target });
    const m2 = await readManifest(kvStorage(env.EDGEREC), 'default', 'USD');
    expect(r.stores[0].changed).toBe(true);
    expect(m2.shards.every((x, i) => x.key !== m1.shards[i].key)).toBe(true); // every shard has a new version
    open();
    expect(versionOf(await pending)).toBe('old'); // the manifest it started with, whole
    // (2) after the sync: all new
    expect(versionOf(await reader().lookup('default', 'USD', skus))).toBe('new');
    // (3) the new manifest, one of its shards not readable here yet: the old version answers, whole
    hide = m2.shards[m2.shardCount - 1].key;
    clock += MANIFEST_TTL_MS;
    expect(versionOf(await lagging.lookup('default', 'USD', skus))).toBe('old');
    hide = null;
    clock += 5_000;
    expect(versionOf(await lagging.lookup('default', 'USD', skus))).toBe('new');
    // a reader keeps its manifest for 60 s: the isolate's view, then the next minute's
    const h = await catalogHealth(s.env, T0 + 30 * MIN);
    expect(h.stores[0].version).toBe(m2.version);
  });
});

// ---- scale ------------------------------------------------------------------------------------------------

describe('a generated 100,000-sku catalog in KV', () => {
  it('shards ≤ 4 MiB, totals, the cache within its budget, lookup p50 reported', async () => {
    const { records } = generateCatalog(100_000);
    const counts = { reads: 0, writes: 0, deletes: 0 };
    const kv = kvStorage(env.EDGEREC, counts);
    const count = chooseShardCount(null, records.length);
    const w = await writeCatalog(kv, { store: 'default', currency: 'USD', manifest: null, shardCount: count, upserts: new Map(records.map((x) => [x.sku, x])), now: T0 });
    const m = await readManifest(kv, 'default', 'USD');
    expect(m.records).toBe(100_000);
    expect(w.writes).toBe(count + 1);
    let largest = 0, total = 0;
    for (const sh of m.shards) {
      const b = await env.EDGEREC.get(sh.key, 'arrayBuffer');
      expect(b.byteLength).toBe(sh.bytes);
      expect(b.byteLength).toBeLessThanOrEqual(MAX_SHARD_BYTES);
      largest = Math.max(largest, b.byteLength);
      total += b.byteLength;
    }
    const manifestBytes = (await env.EDGEREC.get(manifestKey('default', 'USD'))).length;
    console.log(`catalog 100k: ${m.shardCount} shards, ${(total / 1048576).toFixed(1)} MiB in KV (${(total / 1e5).toFixed(0)} B a product), largest shard ${(largest / 1048576).toFixed(2)} MiB, manifest ${manifestBytes} B`);

    // the same writes again: nothing
    const again = await writeCatalog(kv, { store: 'default', currency: 'USD', manifest: m, upserts: new Map(records.slice(0, 5000).map((x) => [x.sku, x])), now: T0 });
    expect(again.writes).toBe(0);

    const rand = prng(11);
    for (const [budget, lookups] of [[CACHE_BUDGET_BYTES, 400], [8 * 1024 * 1024, 60]]) {
      const view = new Catalog(kvStorage(env.EDGEREC), { budgetBytes: budget });
      const times = [];
      for (let i = 0; i < lookups; i++) {
        const unit = Array.from({ length: 20 }, () => records[Math.floor(rand() * records.length)]);
        const t0 = performance.now();
        const got = await view.lookup('default', 'USD', unit.map((x) => x.sku));
        times.push(performance.now() - t0);
        for (const x of unit) expect(got.get(x.sku).name).toBe(x.name);
        expect(view.memory().bytes).toBeLessThanOrEqual(budget);
      }
      const mem = view.memory();
      const warm = times.slice(lookups / 4).sort((a, b) => a - b);
      console.log(`catalog 100k, budget ${budget / 1048576} MiB: cache ${(mem.bytes / 1048576).toFixed(1)} MiB in ${mem.shards} shards, ${mem.misses} shard reads, ${mem.evictions} evictions; `
        + `first (cold) lookup ${times[0].toFixed(0)} ms; 20-sku lookup p50 ${warm[warm.length >> 1].toFixed(3)} ms (workerd's clock moves only on I/O: a lookup from the cache reads 0)`);
      if (budget >= total) expect(mem.evictions).toBe(0);
      else expect(mem.evictions).toBeGreaterThan(0);
    }
  });
});
