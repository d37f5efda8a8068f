// catalog.test.mjs — worker-shim/core/catalog.js in Node: the shard format (round trips, the binary
// search over tricky skus), placement, the writer (content-addressed shards, only what changed,
// unavailable, re-sharding, the size limit), the reader (manifest TTL, one version per lookup,
// the byte budget) and a generated 100,000-sku catalog (sizes, memory, lookup p50 as diagnostics).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  Catalog, Shard, CACHE_BUDGET_BYTES, MAX_SHARD_BYTES, MANIFEST_TTL_MS, canonical, changedProductsPath, chooseShardCount, compareSkus,
  encodeShard, manifestKey, readManifest, recordFromProduct, sha256Hex, shardCountFor, shardOf, skuHash, sortSkus, writeCatalog,
} from '../../worker-shim/core/catalog.js';
import { generateCatalog, memoryStorage, prng } from './catalog-fixtures.mjs';

const rec = (sku, over = {}) => canonical({
  sku, id: 7, name: `Product ${sku}`, urlKey: `p-${sku.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, url: null,
  images: [{ url: `https://shop.example/media/catalog/product/p/${encodeURIComponent(sku)}.jpg`, label: null, roles: ['image', 'small_image'] }],
  type: 'simple', price: { final: 10, regular: 12, currency: 'USD' }, inStock: true, visibility: 'Catalog', categories: ['Gear', 'Gear/Bags'], ...over,
});
const withUrl = (r) => ({ ...r, url: `/${r.urlKey}.html` });

const TRICKY = ['MH01', 'MH0', 'MH01-XS', 'MH01 ', ' MH01', 'MH01!', 'a"b', 'a\\b', 'a\\"b', 'a\\', 'Ünïcödé-1', 'emoji-🎒', 'emoji-\uFF01', 'tab\tsku',
  '日本語-3', 'Z', 'a', '0', '-', 'mh01', '\u2028line'];
// the order a shard's lines are in: the UTF-8 bytes of each sku's JSON string (computed independently here)
const byteOrder = (skus) => [...skus].sort((a, b) => Buffer.compare(Buffer.from(JSON.stringify(a)), Buffer.from(JSON.stringify(b))));

describe('the shard format', () => {
  test('records round-trip: simple, complex, other currency, odd urls and labels, no images', () => {
    const recs = [
      withUrl(rec('MH01')),
      withUrl(rec('MJ02', { type: 'complex', priceRange: { minimum: { final: 40, regular: 45 }, maximum: { final: 60, regular: 65 }, currency: 'USD' } })),
      withUrl(rec('EUR-1', { price: { final: 9.99, regular: 9.99, currency: 'EUR' } })),
      rec('URL-1', { url: '/catalog/product/view/id/7' }),
      rec('NOKEY', { urlKey: null, url: null, images: [] }),
      withUrl(rec('LABEL', { images: [{ url: 'https://cdn.example/x.jpg', label: 'another label', roles: ['thumbnail', 'swatch_image'] }] })),
      withUrl(rec('OOS', { inStock: false, visibility: 'Catalog, Search', categories: [] })),
      withUrl(rec('ODD', { visibility: 'Somewhere', price: { final: null, regular: 5, currency: 'USD' }, id: null })),
    ];
    const bytes = encodeShard('default', 'USD', recs);
    const shard = new Shard(bytes);
    assert.equal(shard.count, recs.length);
    for (const r of recs) assert.deepEqual(shard.get(r.sku), r, r.sku);
    // the same records in another order: the same bytes (the writer relies on it)
    assert.deepEqual(encodeShard('default', 'USD', [...recs].reverse()), bytes);
    assert.throws(() => encodeShard('default', 'USD', [recs[0], recs[0]]), /twice/);
  });

  test('the binary search finds every tricky sku and nothing else', () => {
    const recs = TRICKY.map((s) => withUrl(rec(s)));
    const shard = new Shard(encodeShard('default', 'USD', recs));
    for (const s of TRICKY) assert.equal(shard.get(s)?.sku, s, JSON.stringify(s));
    for (const s of ['MH', 'MH01-', 'MH01-XS-', 'a"', 'a\\\\b', 'ünïcödé-1', 'emoji-', '', 'zz', 'A', '1', 'MH01  ']) {
      assert.equal(shard.get(s), null, JSON.stringify(s));
    }
    // lines are in the byte order of the skus' JSON strings
    assert.deepEqual([...shard.records()].map((r) => r.sku), byteOrder(TRICKY));
    assert.deepEqual(sortSkus(TRICKY), byteOrder(TRICKY));
    const plain = ['MH01 ', 'MH01', 'MH01-XS', 'MH01!', 'ab"', 'ab'];
    assert.deepEqual(sortSkus(plain), byteOrder(plain), 'without surrogates too (a space sorts after the closing quote)');
    for (const a of TRICKY) for (const b of TRICKY) assert.equal(Math.sign(compareSkus(a, b)), Math.sign(byteOrder([a, b])[0] === a ? (a === b ? 0 : -1) : 1));
  });

  test('a malformed shard is refused, not misread', () => {
    const good = new TextDecoder().decode(encodeShard('default', 'USD', [withUrl(rec('A')), withUrl(rec('B'))]));
    assert.throws(() => new Shard(good.slice(0, -1)), /unterminated|lines/);
    assert.throws(() => new Shard(good.replace('"count":2', '"count":3')), /lines/);
    assert.throws(() => new Shard(good.replace('"format":1', '"format":9')), /format/);
    assert.throws(() => new Shard('no header'), /header/);
  });

  test('shard placement is pinned (changing it would rewrite every shard) and even', () => {
    assert.deepEqual(['MH01', '24-MB01', 'WS12-XS-Blue', ''].map(skuHash), [1319871493, 714385422, 4027731077, 2872998923]);
    assert.deepEqual(['MH01', '24-MB01', 'WS12-XS-Blue', 'emoji-🎒'].map((s) => shardOf(s, 16)), [5, 14, 5, 10]);
    assert.equal(shardOf('anything', 1), 0);
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 100_000; i++) counts[shardOf(`SKU-${i}`, 16)]++;
    for (const c of counts) assert.ok(Math.abs(c - 6250) < 6250 * 0.05, `shard sizes ${counts}`);
  });

  test('shard counts: powers of two averaging at most the target; kept unless outgrown or shrunk to a quarter', () => {
    assert.equal(shardCountFor(0), 1);
    assert.equal(shardCountFor(2 * 1024 * 1024), 1);
    assert.equal(shardCountFor(2 * 1024 * 1024 + 1), 2);
    assert.equal(shardCountFor(20e6), 16);
    assert.equal(chooseShardCount(null, 100_000), 16); // 100,000 × 200 B estimated
    assert.equal(chooseShardCount(null, 2_000), 1);
    const m = (records, bytes, shardCount, unavailableCount = 0) => ({ records, bytes, shardCount, unavailableCount });
    assert.equal(chooseShardCount(m(2500, 500_000, 16), 100_000), 16, 'filling up: projected from bytes per product');
    assert.equal(chooseShardCount(m(2500, 1_250_000, 16), 100_000), 32, 'bigger products than estimated: grow');
    assert.equal(chooseShardCount(m(250, 100_000, 16, 2250), 100_000), 2, 'a tenth available so far: projected at that rate');
    assert.equal(chooseShardCount(m(250, 100_000, 16, 2250), 100_000, undefined, { shrink: false }), 16, 'mid-pass: never shrinks');
    assert.equal(chooseShardCount(m(100_000, 24e6, 16), 100_000), 16, 'within 2× of the target: kept');
    assert.equal(chooseShardCount(m(10_000, 2e6, 16, 90_000), 100_000), 1, 'most skus unavailable: shrink');
  });

  test('recordFromProduct: Magento GraphQL products → records', () => {
    const money = (v, c = 'EUR') => ({ value: v, currency: c });
    const img = (u, l) => ({ url: u, label: l });
    const p = {
      __typename: 'ConfigurableProduct', id: 16, sku: 'mh01', name: 'Chaz Kangeroo Hoodie', url_key: 'chaz-kangeroo-hoodie', url_suffix: '.html', type_id: 'configurable',
      stock_status: 'IN_STOCK', image: img('https://m.example/media/catalog/product/m/h/mh01-gray_main_1.jpg', 'Main'),
      small_image: img('https://m.example/media/catalog/product/m/h/mh01-gray_main_1.jpg', 'Main'), thumbnail: img('https://m.example/media/catalog/product/m/h/mh01-thumb.jpg', null),
      price_range: { minimum_price: { regular_price: money(52), final_price: money(46.8) }, maximum_price: { regular_price: money(60), final_price: money(54) } },
      categories: [
        { name: 'Default Category', level: 1, breadcrumbs: null },
        { name: 'Hoodies & Sweatshirts', level: 4, breadcrumbs: [{ category_name: 'Tops', category_level: 3 }, { category_name: 'Men', category_level: 2 }] },
        { name: 'Men', level: 2, breadcrumbs: null },
      ],
    };
    assert.deepEqual(recordFromProduct(p, 'MH01'), {
      sku: 'MH01', id: 16, name: 'Chaz Kangeroo Hoodie', urlKey: 'chaz-kangeroo-hoodie', url: '/chaz-kangeroo-hoodie.html',
      images: [
        { url: 'https://m.example/media/catalog/product/m/h/mh01-gray_main_1.jpg', label: 'Main', roles: ['image', 'small_image'] },
        { url: 'https://m.example/media/catalog/product/m/h/mh01-thumb.jpg', label: null, roles: ['thumbnail'] },
      ],
      type: 'complex', priceRange: { minimum: { final: 46.8, regular: 52 }, maximum: { final: 54, regular: 60 }, currency: 'EUR' },
      inStock: true, visibility: 'Catalog', categories: ['Men', 'Men/Tops/Hoodies & Sweatshirts'],
    });
    const simple = recordFromProduct({ __typename: 'SimpleProduct', sku: 'B1', name: 'Bag', url_key: 'bag', url_suffix: null, stock_status: 'OUT_OF_STOCK',
      price_range: { minimum_price: { regular_price: money(34, 'USD'), final_price: money(30, 'USD') }, maximum_price: { regular_price: money(34, 'USD'), final_price: money(30, 'USD') } } });
    assert.deepEqual([simple.type, simple.url, simple.price, simple.inStock, simple.images, simple.id], ['simple', '/bag', { final: 30, regular: 34, currency: 'USD' }, false, [], null]);
  });

  test('the REST search for changed products is Magento\'s searchCriteria', () => {
    assert.equal(changedProductsPath('default', { since: '2026-01-02 03:04:05', page: 2, pageSize: 500 }),
      '/rest/default/V1/products?searchCriteria[filter_groups][0][filters][0][field]=updated_at'
      + '&searchCriteria[filter_groups][0][filters][0][value]=2026-01-02%2003%3A04%3A05'
      + '&searchCriteria[filter_groups][0][filters][0][condition_type]=gt'
      + '&searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=ASC'
      + '&searchCriteria[pageSize]=500&searchCriteria[currentPage]=2&fields=items%5Bsku%2Cupdated_at%5D%2Ctotal_count');
    assert.match(changedProductsPath('de', { latest: true }), /^\/rest\/de\/V1\/products\?searchCriteria\[sortOrders\]\[0\]\[field\]=updated_at&searchCriteria\[sortOrders\]\[0\]\[direction\]=DESC&searchCriteria\[pageSize\]=1/);
  });
});

describe('the writer', () => {
  const base = { store: 'default', currency: 'USD', now: Date.UTC(2031, 2, 3) };
  const upserts = (n, over = () => ({})) => new Map(Array.from({ length: n }, (_, i) => `S-${i}`).map((s, i) => [s, withUrl(rec(s, over(i)))]));

  test('content-addressed shards, then the manifest; the same content writes nothing', async () => {
    const st = memoryStorage();
    const r1 = await writeCatalog(st, { ...base, manifest: null, shardCount: 4, upserts: upserts(200), missing: ['GONE-1'] });
    assert.equal(r1.changed, true);
    assert.equal(r1.writes, 5, '4 shards + the manifest');
    assert.deepEqual(st.puts.map((p) => p.key).at(-1), manifestKey('default', 'USD'), 'the manifest is written last');
    const m = await readManifest(st, 'default', 'USD');
    assert.equal(m.version, 1);
    assert.equal(m.records, 200);
    assert.deepEqual(m.unavailable, ['GONE-1']);
    for (const s of m.shards) {
      const bytes = st.map.get(s.key);
      assert.equal(s.key, `catalog-shard:${await sha256Hex(bytes)}`);
      assert.equal(s.bytes, bytes.byteLength);
      assert.equal(new Shard(bytes).count, s.count);
    }
    const again = await writeCatalog(st, { ...base, manifest: m, upserts: upserts(200), missing: ['GONE-1'] });
    assert.equal(again.changed, false);
    assert.equal(again.writes, 0);
    // one price: its shard and the manifest
    const one = new Map([['S-7', withUrl(rec('S-7', { price: { final: 8, regular: 12, currency: 'USD' } }))]]);
    const r3 = await writeCatalog(st, { ...base, manifest: m, upserts: one });
    assert.equal(r3.writes, 2);
    assert.equal(r3.manifest.version, 2);
    assert.deepEqual(r3.retired, [m.shards[shardOf('S-7', 4)].key]);
    assert.equal(r3.manifest.shards.filter((s, i) => s.key !== m.shards[i].key).length, 1);
  });

  test('missing and out-of-stock products are unavailable; dropped skus leave both lists', async () => {
    const st = memoryStorage();
    const { manifest: m1 } = await writeCatalog(st, { ...base, manifest: null, shardCount: 2, upserts: upserts(20), missing: ['X-1', 'X-2'] });
    const oos = new Map([['S-3', withUrl(rec('S-3', { inStock: false }))]]);
    const { manifest: m2 } = await writeCatalog(st, { ...base, manifest: m1, upserts: oos, missing: ['S-4'] });
    assert.deepEqual(m2.unavailable, sortSkus(['S-3', 'S-4', 'X-1', 'X-2']));
    assert.equal(m2.records, 19, 'S-4 removed; S-3 kept, out of stock');
    const view = new Catalog(st);
    const got = await view.lookup('default', 'USD', ['S-3', 'S-4', 'S-5']);
    assert.deepEqual([...got.keys()].sort(), ['S-3', 'S-5']);
    assert.equal(got.get('S-3').inStock, false);
    // drop: no longer in the bundle (asked of touched shards and of the unavailable list)
    const keep = new Set(['S-0', 'S-1', 'S-2', 'X-2']);
    const { manifest: m3 } = await writeCatalog(st, { ...base, manifest: m2, drop: (sku) => !keep.has(sku), touch: [0, 1] });
    assert.equal(m3.records, 3);
    assert.deepEqual(m3.unavailable, ['X-2']);
  });

  test('a shard over the size limit doubles the count (everything re-sharded); a new count keeps every product', async () => {
    const st = memoryStorage();
    const big = upserts(400);
    const r = await writeCatalog(st, { ...base, manifest: null, shardCount: 1, upserts: big, maxShardBytes: 10_000 });
    assert.ok(r.shardCount >= 4, `count ${r.shardCount}`);
    for (const s of r.manifest.shards) assert.ok(s.bytes <= 10_000);
    assert.equal(r.manifest.records, 400);
    const r2 = await writeCatalog(st, { ...base, manifest: r.manifest, shardCount: 2, maxShardBytes: MAX_SHARD_BYTES });
    assert.equal(r2.manifest.shardCount, 2);
    const got = await new Catalog(st).lookup('default', 'USD', [...big.keys()]);
    assert.equal(got.size, 400);
  });

  test('a shard the manifest names but storage lacks stops the write (never loses products)', async () => {
    const st = memoryStorage();
    const { manifest } = await writeCatalog(st, { ...base, manifest: null, shardCount: 2, upserts: upserts(10) });
    st.map.delete(manifest.shards[shardOf('S-1', 2)].key);
    await assert.rejects(writeCatalog(st, { ...base, manifest, upserts: new Map([['S-1', withUrl(rec('S-1', { name: 'x' }))]]) }), /missing/);
  });
});

describe('the reader', () => {
  const base = { store: 'default', currency: 'USD', now: 0 };
  const price = (v) => ({ price: { final: v, regular: v, currency: 'USD' } });
  const all = (v, n = 60) => new Map(Array.from({ length: n }, (_, i) => [`S-${i}`, withUrl(rec(`S-${i}`, price(v)))]));
  const skus = Array.from({ length: 60 }, (_, i) => `S-${i}`);
  const prices = (m) => new Set([...m.values()].map((r) => r.price.final));

  test('the manifest is re-read at most every 60 s; each lookup uses one manifest\'s shards', async () => {
    const st = memoryStorage();
    const { manifest: m1 } = await writeCatalog(st, { ...base, manifest: null, shardCount: 4, upserts: all(1) });
    let now = 1_000_000;
    const view = new Catalog(st, { now: () => now });
    assert.deepEqual(prices(await view.lookup('default', 'USD', skus)), new Set([1]));
    await writeCatalog(st, { ...base, manifest: m1, upserts: all(2) }); // every shard changes
    now += MANIFEST_TTL_MS - 1;
    const before = await view.lookup('default', 'USD', skus);
    assert.equal(before.size, 60);
    assert.deepEqual(prices(before), new Set([1]), 'within the TTL: the old version, whole');
    now += 1;
    assert.deepEqual(prices(await view.lookup('default', 'USD', skus)), new Set([2]));
    assert.equal(MANIFEST_TTL_MS, 60_000);
  });

  test('a shard of the new manifest not readable yet: the previous manifest answers the whole lookup', async () => {
    const st = memoryStorage();
    const { manifest: m1 } = await writeCatalog(st, { ...base, manifest: null, shardCount: 4, upserts: all(1) });
    let now = 0;
    const view = new Catalog(st, { now: () => now });
    await view.lookup('default', 'USD', skus);
    const { manifest: m2 } = await writeCatalog(st, { ...base, manifest: m1, upserts: all(2) });
    const hidden = m2.shards[2].key;
    const saved = st.map.get(hidden);
    st.map.delete(hidden); // KV has not propagated it here yet
    now += MANIFEST_TTL_MS;
    assert.deepEqual(prices(await view.lookup('default', 'USD', skus)), new Set([1]));
    st.map.set(hidden, saved);
    now += 5_000; // a missing shard is asked for again after 5 s
    assert.deepEqual(prices(await view.lookup('default', 'USD', skus)), new Set([2]));
  });

  test('storage failures answer nothing (never throw); concurrent lookups share one read per shard', async () => {
    const st = memoryStorage();
    await writeCatalog(st, { ...base, manifest: null, shardCount: 2, upserts: all(1) });
    const reads = [];
    const slow = { get: async (k) => { reads.push(k); await new Promise((r) => setTimeout(r, 5)); return st.get(k); } };
    const view = new Catalog(slow);
    const rs = await Promise.all(Array.from({ length: 10 }, () => view.lookup('default', 'USD', skus)));
    for (const r of rs) assert.equal(r.size, 60);
    assert.equal(reads.filter((k) => k.startsWith('catalog-shard:')).length, 2);
    const broken = new Catalog({ get: async () => { throw new Error('KV down'); } });
    assert.equal((await broken.lookup('default', 'USD', skus)).size, 0);
    assert.equal((await new Catalog(st).lookup('nope', 'USD', skus)).size, 0);
  });
});

describe('a generated 100,000-sku catalog', () => {
  test('shards ≤ 4 MiB, the cache within its budget, lookup p50', async (t) => {
    const { records } = generateCatalog(100_000);
    const st = memoryStorage();
    const count = chooseShardCount(null, records.length);
    let t0 = performance.now();
    const r = await writeCatalog(st, { store: 'default', currency: 'USD', manifest: null, shardCount: count, upserts: new Map(records.map((x) => [x.sku, x])) });
    const writeMs = performance.now() - t0;
    const m = r.manifest;
    assert.equal(m.records, 100_000);
    const sizes = m.shards.map((s) => s.bytes);
    assert.ok(Math.max(...sizes) <= MAX_SHARD_BYTES, `largest shard ${Math.max(...sizes)}`);
    const manifestBytes = JSON.stringify(m).length;
    t.diagnostic(`100,000 skus: ${m.shardCount} shards, ${(m.bytes / 1048576).toFixed(1)} MiB total (${(m.bytes / 1e5).toFixed(0)} B a product), largest ${(Math.max(...sizes) / 1048576).toFixed(2)} MiB, manifest ${manifestBytes} B, written in ${writeMs.toFixed(0)} ms`);

    for (const [budget, n] of [[8 * 1024 * 1024, 120], [CACHE_BUDGET_BYTES, 3000]]) {
      const view = new Catalog(st, { budgetBytes: budget });
      const rand = prng(7);
      const times = [];
      for (let i = 0; i < n; i++) {
        const unit = Array.from({ length: 20 }, () => records[Math.floor(rand() * records.length)].sku);
        t0 = performance.now();
        const got = await view.lookup('default', 'USD', unit);
        times.push(performance.now() - t0);
        if (got.size !== new Set(unit).size) assert.fail(`lookup ${i}: ${got.size} of ${new Set(unit).size}`);
        assert.ok(view.bytes <= budget);
      }
      const warm = times.slice(n / 6).sort((a, b) => a - b);
      const mem = view.memory();
      t.diagnostic(`budget ${budget / 1048576} MiB: cache ${(mem.bytes / 1048576).toFixed(1)} MiB in ${mem.shards} shards, ${mem.evictions} evictions; 20-sku lookup p50 ${(warm[warm.length >> 1] * 1000).toFixed(0)} µs, p99 ${(warm[Math.floor(warm.length * 0.99)] * 1000).toFixed(0)} µs (after ${n / 6} warm-up)`);
      if (budget < m.bytes) assert.ok(mem.evictions > 0, 'a budget under the catalog evicts');
      else assert.equal(mem.shards, m.shardCount, 'the whole catalog fits the default budget');
    }
  });
});
