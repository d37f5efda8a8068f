// catalog.js — the catalog view: what a recommendation unit shows about a product (name, URL,
// images, prices, stock, categories) per store view and currency, read at the edge from a
// key-value store with no origin call on the request path.  Platform-neutral: the storage is
// injected, and only Web APIs are used (TextEncoder, crypto.subtle).
//
//   storage = { get(key) → Uint8Array | string | null, put(key, value), delete?(key) }  (sync or async)
//
//   const view = new Catalog(storage, { budgetBytes });        // once per isolate
//   await view.lookup('default', 'USD', ['MH01', 'MJ02'])      // → Map sku → record (absent: unknown)
//   await writeCatalog(storage, { store, currency, manifest, upserts, missing, … })   // the sync
//
// Keys (docs/catalog.md has the format, sizes and the sync):
//   catalog:<store>:<currency>   the manifest, small JSON: {format, store, currency, version,
//                                updated, syncedAt, shardCount, records, bytes,
//                                shards: [{key, count, bytes}] (index = shard), unavailable: [sku],
//                                unavailableCount, unavailableTruncated}
//   catalog-shard:<sha-256 hex>  an immutable shard, named by the hash of its bytes: a header line
//                                (JSON) then one compact JSON array per product, sorted by the
//                                UTF-8 bytes of the sku's JSON string.  A sku belongs to shard
//                                shardOf(sku, shardCount) (a stable hash of its UTF-8 bytes).
// A reader takes one manifest and reads only the shards named in it, so it never mixes two
// versions; the writer writes new shards first and the manifest last, and only what changed.
//
// The record a lookup returns (what Adobe's ProductView needs; core/recommendations.js maps it):
//   {sku, id, name, urlKey, url, images: [{url, label, roles}], type: 'simple' | 'complex',
//    price: {final, regular, currency}                                   (type simple)
//    priceRange: {minimum: {final, regular}, maximum: {final, regular}, currency}  (type complex)
//    inStock, visibility, categories: ['Men/Tops/Jackets', …]}

export const FORMAT = 1;
export const MANIFEST_PREFIX = 'catalog:';
export const SHARD_PREFIX = 'catalog-shard:';
export const TARGET_SHARD_BYTES = 2 * 1024 * 1024; // the average the shard count aims for
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;    // never written larger (KV's limit is 25 MiB)
export const CACHE_BUDGET_BYTES = 32 * 1024 * 1024; // parsed shards kept per isolate
export const MANIFEST_TTL_MS = 60_000;              // a manifest is re-read at most this often
export const MAX_UNAVAILABLE = 10_000;              // skus listed in a manifest's `unavailable`
export const EST_RECORD_BYTES = 200;                // a first shard count before any is measured
const MISSING_RETRY_MS = 5_000;                     // a shard not found is asked for again after this

const COMPLEX_TYPES = new Set(['ConfigurableProduct', 'BundleProduct', 'GroupedProduct', 'configurable', 'bundle', 'grouped']);
const ROLES = ['image', 'small_image', 'thumbnail', 'swatch_image'];
const VISIBILITY = ['Catalog', 'Catalog, Search', 'Search', 'Not Visible Individually'];
const MAX_CATEGORIES = 32;

const enc = new TextEncoder();
const dec = new TextDecoder();

export const manifestKey = (store, currency) => `${MANIFEST_PREFIX}${store}:${currency}`;
export const shardKey = (hex) => `${SHARD_PREFIX}${hex}`;

// ---- order and placement --------------------------------------------------------------------------

/** The bytes a sku is ordered by (and found by) in a shard: its JSON string, UTF-8. */
export const skuToken = (sku) => enc.encode(JSON.stringify(sku));

export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// Without surrogates (characters beyond U+FFFF), JavaScript's string order (UTF-16 code units) is the
// UTF-8 byte order, so JSON strings compare as strings; with one, as bytes.
const SURROGATE = /[\uD800-\uDFFF]/;
const cmpStr = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
const cmpJson = (x, y) => (SURROGATE.test(x) || SURROGATE.test(y) ? compareBytes(enc.encode(x), enc.encode(y)) : cmpStr(x, y));

/** Shard order of two skus (the order of their lines in a shard). */
export const compareSkus = (a, b) => cmpJson(JSON.stringify(a), JSON.stringify(b));

/** [[sku, item]] sorted in shard order of the skus. */
function sortBySku(pairs) {
  const keyed = pairs.map((p) => [JSON.stringify(p[0]), p]);
  keyed.sort(keyed.some((k) => SURROGATE.test(k[0])) ? (a, b) => cmpJson(a[0], b[0]) : (a, b) => cmpStr(a[0], b[0]));
  return keyed.map((k) => k[1]);
}

/** Skus in shard order. */
export const sortSkus = (skus) => sortBySku(skus.map((s) => [s, s])).map((p) => p[0]);

/** The stable 32-bit hash that places a sku: FNV-1a over its UTF-8 bytes, then murmur3's finalizer. */
export function skuHash(sku) {
  const b = enc.encode(sku);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) { h ^= b[i]; h = Math.imul(h, 0x01000193); }
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}
export const shardOf = (sku, count) => (count <= 1 ? 0 : skuHash(sku) % count);

/** Shards for a catalog of `totalBytes`: a power of two, averaging at most `target` bytes. */
export function shardCountFor(totalBytes, target = TARGET_SHARD_BYTES) {
  const need = Math.max(1, Math.ceil(totalBytes / target));
  let n = 1;
  while (n < need) n *= 2;
  return n;
}

/** The shard count to keep using: the current one, unless the catalog outgrew it (average over the
 * target) or — when `shrink` (not in the middle of a pass, whose projection is rough) — shrank to a
 * quarter of it; with no catalog yet, an estimate from the sku count. */
export function chooseShardCount(manifest, skuCount, target = TARGET_SHARD_BYTES, { shrink = true } = {}) {
  if (!manifest || !manifest.records) return shardCountFor(skuCount * EST_RECORD_BYTES, target);
  // the measured bytes per product times the products expected once every sku is synced (skus not
  // seen yet are expected to be available as often as those seen were)
  const seen = manifest.records + (manifest.unavailableCount ?? 0);
  const expected = manifest.records + Math.max(0, skuCount - seen) * (manifest.records / seen);
  const want = shardCountFor((manifest.bytes / manifest.records) * expected, target);
  const current = manifest.shardCount;
  return want > current || (shrink && want * 4 <= current) ? want : current;
}

export async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const x of d) s += x.toString(16).padStart(2, '0');
  return s;
}

// ---- records ------------------------------------------------------------------------------------------

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v) => (typeof v === 'string' ? v : null);

/** A record with its fields in the one canonical order (what decoding yields). */
export function canonical(r) {
  const out = {
    sku: r.sku, id: Number.isInteger(r.id) ? r.id : null, name: str(r.name) ?? '', urlKey: str(r.urlKey), url: str(r.url),
    images: (r.images ?? []).map((i) => ({ url: String(i.url), label: str(i.label), roles: ROLES.filter((x) => (i.roles ?? []).includes(x)) })),
    type: r.type === 'complex' ? 'complex' : 'simple',
  };
  if (out.type === 'complex') {
    const p = r.priceRange ?? {};
    out.priceRange = {
      minimum: { final: num(p.minimum?.final), regular: num(p.minimum?.regular) },
      maximum: { final: num(p.maximum?.final), regular: num(p.maximum?.regular) },
      currency: str(p.currency),
    };
  } else {
    out.price = { final: num(r.price?.final), regular: num(r.price?.regular), currency: str(r.price?.currency) };
  }
  out.inStock = r.inStock !== false;
  out.visibility = str(r.visibility) ?? 'Catalog';
  out.categories = [...new Set((r.categories ?? []).map(String))].sort().slice(0, MAX_CATEGORIES);
  return out;
}

/** Magento's `products` answer for the sync (PRODUCTS_QUERY), one item → a record.  `sku` is the
 * bundle's spelling of it (Magento matches skus case-insensitively).  Prices are what the query was
 * asked with: the store view's (`Store`) default customer group in `Content-Currency`. */
export function recordFromProduct(p, sku = p.sku) {
  const images = [];
  for (const role of ['image', 'small_image', 'thumbnail', 'swatch_image']) {
    const im = p[role];
    if (!im || typeof im.url !== 'string' || !im.url) continue;
    const seen = images.find((x) => x.url === im.url);
    if (seen) seen.roles.push(role);
    else images.push({ url: im.url, label: str(im.label), roles: [role] });
  }
  const categories = [];
  for (const c of p.categories ?? []) {
    if (!c || typeof c.name !== 'string' || (typeof c.level === 'number' && c.level < 2)) continue; // the root
    const crumbs = [...(c.breadcrumbs ?? [])].filter((b) => b && typeof b.category_name === 'string')
      .sort((a, b) => (a.category_level ?? 0) - (b.category_level ?? 0)).map((b) => b.category_name);
    categories.push([...crumbs, c.name].join('/'));
  }
  const range = p.price_range ?? {};
  const m = (x) => ({ final: num(x?.final_price?.value), regular: num(x?.regular_price?.value) });
  const currency = str(range.minimum_price?.final_price?.currency) ?? str(range.minimum_price?.regular_price?.currency);
  const complex = COMPLEX_TYPES.has(p.__typename) || COMPLEX_TYPES.has(p.type_id);
  return canonical({
    sku, id: p.id, name: p.name, urlKey: p.url_key,
    url: typeof p.url_key === 'string' && p.url_key ? `/${p.url_key}${typeof p.url_suffix === 'string' ? p.url_suffix : ''}` : null,
    images, type: complex ? 'complex' : 'simple',
    price: { ...m(range.minimum_price), currency },
    priceRange: { minimum: m(range.minimum_price), maximum: m(range.maximum_price), currency },
    inStock: p.stock_status !== 'OUT_OF_STOCK',
    visibility: 'Catalog', // what Magento's products(filter:…) returns: visible in the catalog
    categories,
  });
}

/** The sync's question to Magento: the products with these skus, as the store view shows them. */
export const PRODUCTS_QUERY = `query EdgerecCatalog($skus: [String!]!, $pageSize: Int!) {
  products(filter: {sku: {in: $skus}}, pageSize: $pageSize) {
    total_count
    items {
      __typename id sku name url_key url_suffix type_id stock_status
      image { url label } small_image { url label } thumbnail { url label }
      price_range {
        minimum_price { regular_price { value currency } final_price { value currency } }
        maximum_price { regular_price { value currency } final_price { value currency } }
      }
      categories { name level breadcrumbs { category_name category_level } }
    }
  }
}`;

/** Magento's REST search for products changed after `since` ('YYYY-MM-DD HH:MM:SS', Magento's
 * updated_at), oldest change first: the path and query for GET <base>/rest/<store>/V1/products.
 * `latest` asks instead for the newest updated_at of all (pageSize 1, newest first). */
export function changedProductsPath(store, { since = null, page = 1, pageSize = 500, latest = false } = {}) {
  const q = [];
  const sc = (k, v) => q.push(`searchCriteria${k}=${encodeURIComponent(v)}`);
  if (latest) {
    sc('[sortOrders][0][field]', 'updated_at'); sc('[sortOrders][0][direction]', 'DESC');
    sc('[pageSize]', 1); sc('[currentPage]', 1);
  } else {
    sc('[filter_groups][0][filters][0][field]', 'updated_at');
    sc('[filter_groups][0][filters][0][value]', since ?? '1970-01-01 00:00:00');
    sc('[filter_groups][0][filters][0][condition_type]', 'gt');
    sc('[sortOrders][0][field]', 'updated_at'); sc('[sortOrders][0][direction]', 'ASC');
    sc('[pageSize]', pageSize); sc('[currentPage]', page);
  }
  q.push(`fields=${encodeURIComponent('items[sku,updated_at],total_count')}`);
  return `/rest/${encodeURIComponent(store)}/V1/products?${q.join('&')}`;
}

// ---- shards ---------------------------------------------------------------------------------------------

function commonPrefix(strings) {
  if (!strings.length) return '';
  let p = strings[0];
  for (const s of strings) {
    if (s.startsWith(p)) continue;
    let i = 0;
    while (i < p.length && i < s.length && p[i] === s[i]) i++;
    p = p.slice(0, i);
    if (!p) break;
  }
  return p.slice(0, p.lastIndexOf('/') + 1);
}

function mostCommonSuffix(records) {
  const counts = new Map();
  for (const r of records) {
    if (!r.urlKey || !r.url || !r.url.startsWith(`/${r.urlKey}`)) continue;
    const s = r.url.slice(r.urlKey.length + 1);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  let best = '', n = -1;
  for (const [s, c] of counts) if (c > n || (c === n && s < best)) { best = s; n = c; }
  return best;
}

/** A shard's bytes: deterministic for the same records (so unchanged content keeps its key). */
export function encodeShard(store, currency, records) {
  const recs = records.map(canonical);
  const keyed = sortBySku(recs.map((r) => [r.sku, r]));
  for (let i = 1; i < keyed.length; i++) if (keyed[i - 1][0] === keyed[i][0]) throw new Error(`catalog shard: sku ${keyed[i][0]} twice`);
  const urls = [];
  for (const r of recs) for (const im of r.images) urls.push(im.url);
  const media = commonPrefix(urls);
  const suffix = mostCommonSuffix(recs);
  const cats = [...new Set(recs.flatMap((r) => r.categories))].sort();
  const catIndex = new Map(cats.map((c, i) => [c, i]));
  const lines = [JSON.stringify({ format: FORMAT, store, currency, count: recs.length, media, suffix, cats })];
  for (const [, r] of keyed) {
    const url = r.url !== null && r.urlKey !== null && r.url === `/${r.urlKey}${suffix}` ? 0 : r.url;
    const images = r.images.map((im) => [im.url.slice(media.length), im.label === r.name ? 0 : im.label, im.roles.reduce((m, x) => m | (1 << ROLES.indexOf(x)), 0)]);
    const pr = r.type === 'complex'
      ? [r.priceRange.minimum.final, r.priceRange.minimum.regular, r.priceRange.maximum.final, r.priceRange.maximum.regular, ...(r.priceRange.currency === currency ? [] : [r.priceRange.currency])]
      : [r.price.final, r.price.regular, ...(r.price.currency === currency ? [] : [r.price.currency])];
    const vis = VISIBILITY.indexOf(r.visibility);
    lines.push(JSON.stringify([r.sku, r.id, r.name, r.urlKey, url, images, r.type === 'complex' ? 1 : 0, pr, r.inStock ? 1 : 0,
      vis >= 0 ? vis : r.visibility, r.categories.map((c) => catIndex.get(c))]));
  }
  return enc.encode(lines.join('\n') + '\n');
}

/** A parsed shard: the bytes as they came plus an index of line offsets (4 bytes a product);
 * a product is decoded only when asked for. */
export class Shard {
  constructor(bytes) {
    if (typeof bytes === 'string') bytes = enc.encode(bytes);
    if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
    const nl = bytes.indexOf(10);
    if (nl < 0) throw new Error('catalog shard: no header line');
    const header = JSON.parse(dec.decode(bytes.subarray(0, nl)));
    if (header?.format !== FORMAT || !Number.isInteger(header.count) || header.count < 0) throw new Error('catalog shard: unknown format');
    const off = new Uint32Array(header.count + 1);
    let at = nl + 1, k = 0;
    while (at < bytes.length && k < header.count) {
      off[k++] = at;
      const e = bytes.indexOf(10, at);
      if (e < 0) throw new Error('catalog shard: last line unterminated');
      at = e + 1;
    }
    if (k !== header.count || at !== bytes.length) throw new Error(`catalog shard: ${k} lines for ${header.count} products`);
    off[k] = at;
    this.bytes = bytes;
    this.offsets = off;
    this.header = header;
    this.count = header.count;
    // what it holds in memory: the bytes, the index and the parsed header (strings ~2 bytes a character)
    this.memoryBytes = bytes.byteLength + off.byteLength + 2 * nl + 64 * (header.cats?.length ?? 0) + 256;
  }

  /** Index of the sku's line, or -1 (binary search over the lines' leading sku tokens). */
  indexOf(sku) {
    const q = skuToken(sku), b = this.bytes, off = this.offsets;
    let lo = 0, hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = off[mid] + 1; // after '['
      let c = 0;
      for (let i = 0; i < q.length; i++) {
        const x = start + i < off[mid + 1] ? b[start + i] : -1;
        if (q[i] !== x) { c = q[i] - x; break; }
      }
      // JSON string tokens are prefix-free (the closing quote is the only unescaped one), so equal
      // bytes over the query's length are the same sku
      if (c === 0) return mid;
      if (c < 0) hi = mid - 1; else lo = mid + 1;
    }
    return -1;
  }

  get(sku) {
    const i = this.indexOf(sku);
    return i < 0 ? null : this.record(i);
  }

  record(i) {
    return this.decode(JSON.parse(dec.decode(this.bytes.subarray(this.offsets[i], this.offsets[i + 1] - 1))));
  }

  decode([sku, id, name, urlKey, url, images, type, pr, inStock, vis, cats]) {
    const h = this.header;
    const r = {
      sku, id, name, urlKey, url: url === 0 ? `/${urlKey}${h.suffix}` : url,
      images: images.map(([u, label, roles]) => ({ url: h.media + u, label: label === 0 ? name : label, roles: ROLES.filter((_, k) => roles & (1 << k)) })),
      type: type ? 'complex' : 'simple',
    };
    if (type) r.priceRange = { minimum: { final: pr[0], regular: pr[1] }, maximum: { final: pr[2], regular: pr[3] }, currency: pr.length > 4 ? pr[4] : h.currency };
    else r.price = { final: pr[0], regular: pr[1], currency: pr.length > 2 ? pr[2] : h.currency };
    r.inStock = inStock === 1;
    r.visibility = typeof vis === 'number' ? VISIBILITY[vis] : vis;
    r.categories = cats.map((c) => h.cats[c]);
    return r;
  }

  /** Every product, in shard order (the writer's: decodes the text once). */
  *records() {
    const lines = dec.decode(this.bytes).split('\n');
    for (let i = 1; i <= this.count; i++) yield this.decode(JSON.parse(lines[i]));
  }
}

// ---- storage helpers ----------------------------------------------------------------------------------

const text = (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : dec.decode(v instanceof Uint8Array ? v : new Uint8Array(v)));

/** The manifest of a store view and currency, or null. */
export async function readManifest(storage, store, currency) {
  const raw = text(await storage.get(manifestKey(store, currency)));
  if (raw === null) return null;
  const m = JSON.parse(raw);
  if (m?.format !== FORMAT || !Array.isArray(m.shards) || m.shards.length !== m.shardCount) throw new Error(`${manifestKey(store, currency)}: unknown format`);
  return m;
}

async function loadShard(storage, key) {
  const v = await storage.get(key);
  return v === null || v === undefined ? null : new Shard(v);
}

// ---- the reader -------------------------------------------------------------------------------------------

/** The catalog view at the edge: manifests (re-read at most every `manifestTtlMs`) and an LRU of
 * parsed shards within `budgetBytes`.  One per isolate. */
export class Catalog {
  constructor(storage, { budgetBytes = CACHE_BUDGET_BYTES, manifestTtlMs = MANIFEST_TTL_MS, now = () => Date.now() } = {}) {
    this.storage = storage;
    this.budgetBytes = budgetBytes;
    this.manifestTtlMs = manifestTtlMs;
    this.now = now;
    this.manifests = new Map(); // 'store:currency' → {value, previous, at, loading}
    this.shards = new Map();    // shard key → Shard, least recently used first
    this.loads = new Map();     // shard key → Promise<Shard|null> (one read per key at a time)
    this.missing = new Map();   // shard key → when it was not found
    this.bytes = 0;
    this.stats = { hits: 0, misses: 0, evictions: 0, uncached: 0, errors: 0 };
  }

  /** The current manifest entry of a store view and currency: {value, previous}. */
  async entry(store, currency) {
    const id = `${store}:${currency}`;
    let e = this.manifests.get(id);
    if (!e) { e = { value: null, previous: null, at: -Infinity, loading: null }; this.manifests.set(id, e); }
    const now = this.now();
    if (now - e.at >= this.manifestTtlMs) {
      e.loading ??= (async () => {
        e.at = now;
        try {
          const m = await readManifest(this.storage, store, currency);
          if (m && (!e.value || m.version !== e.value.version || m.updated !== e.value.updated)) { e.previous = e.value; e.value = m; }
          else if (!m) { e.previous = null; e.value = null; }
        } catch { this.stats.errors++; /* keep the last one */ }
      })().finally(() => { e.loading = null; });
      await e.loading;
    } else if (e.loading && !e.value) await e.loading;
    return e;
  }

  async manifest(store, currency) { return (await this.entry(store, currency)).value; }

  /** A shard by key (cached), or null when the storage does not have it (or failed). */
  async shard(key) {
    const hit = this.shards.get(key);
    if (hit) { this.shards.delete(key); this.shards.set(key, hit); this.stats.hits++; return hit; }
    const gone = this.missing.get(key);
    if (gone !== undefined && this.now() - gone < MISSING_RETRY_MS) return null;
    let p = this.loads.get(key);
    if (!p) {
      this.stats.misses++;
      p = loadShard(this.storage, key).then((s) => {
        if (!s) { this.missing.set(key, this.now()); return null; }
        this.missing.delete(key);
        this.admit(key, s);
        return s;
      }, () => { this.stats.errors++; return null; }).finally(() => this.loads.delete(key));
      this.loads.set(key, p);
    }
    return p;
  }

  admit(key, s) {
    if (s.memoryBytes > this.budgetBytes) { this.stats.uncached++; return; } // used for this lookup only
    while (this.bytes + s.memoryBytes > this.budgetBytes && this.shards.size) {
      const [k, old] = this.shards.entries().next().value;
      this.shards.delete(k);
      this.bytes -= old.memoryBytes;
      this.stats.evictions++;
    }
    this.shards.set(key, s);
    this.bytes += s.memoryBytes;
  }

  /** Records of the skus the catalog knows, from one manifest's shards: the current one's, or — when
   * one of its shards cannot be read yet — the previous one's.  Unknown, disabled and invisible skus
   * are absent (never shown). */
  async lookup(store, currency, skus) {
    const e = await this.entry(store, currency);
    if (!e.value) return new Map();
    const r = await this.lookupIn(e.value, skus);
    if (r.complete || !e.previous) return r.found;
    const older = await this.lookupIn(e.previous, skus);
    return older.complete ? older.found : r.found;
  }

  async lookupIn(m, skus) {
    const groups = new Map();
    for (const sku of skus) {
      if (typeof sku !== 'string') continue;
      const i = shardOf(sku, m.shardCount);
      if (!groups.has(i)) groups.set(i, []);
      groups.get(i).push(sku);
    }
    const found = new Map();
    let complete = true;
    for (const i of [...groups.keys()]) if (!m.shards[i].count) groups.delete(i); // an empty shard: nothing to read
    const shards = await Promise.all([...groups.keys()].map((i) => this.shard(m.shards[i].key)));
    [...groups.values()].forEach((list, k) => {
      const s = shards[k];
      if (!s) { complete = false; return; }
      for (const sku of list) { const rec = s.get(sku); if (rec) found.set(sku, rec); }
    });
    return { found, complete };
  }

  memory() { return { bytes: this.bytes, budgetBytes: this.budgetBytes, shards: this.shards.size, ...this.stats }; }
}

// ---- the writer ---------------------------------------------------------------------------------------------

class Overflow extends Error {}

/**
 * Apply changes to a store view's catalog and write only what changed: shards whose bytes differ
 * (new keys; unchanged content keeps its key) and then, if any shard or the unavailable list
 * changed, a new manifest.
 * @param storage       {get, put}
 * @param o.store, o.currency
 * @param o.manifest    the current manifest (null: none yet)
 * @param o.shardCount  the count to write with (a different one re-shards everything)
 * @param o.upserts     Map sku → record (fetched from the origin)
 * @param o.missing     skus the origin did not return (disabled, invisible, deleted): removed, and
 *                      listed as unavailable
 * @param o.drop        (sku, shardIndex) → true to remove a sku from the catalog altogether (no longer
 *                      in the bundle); asked of every sku of the shards in `touch` and of `unavailable`
 * @param o.touch       shard indexes to read and rewrite even without upserts (so `drop` sees them)
 * @param o.existing    shard keys known to be stored already (not written again)
 * @returns {manifest, changed, writes, written: [key], retired: [key], shardCount}
 */
export async function writeCatalog(storage, o) {
  let count = o.shardCount ?? o.manifest?.shardCount ?? 1;
  for (;;) {
    try {
      return await writeWith(storage, o, count);
    } catch (e) {
      if (!(e instanceof Overflow)) throw e;
      count *= 2; // a shard over the maximum: twice as many, everything re-sharded
    }
  }
}

async function writeWith(storage, o, count) {
  const { store, currency, manifest = null, upserts = new Map(), missing = [], drop = null, touch = [], existing = new Set(),
    now = Date.now(), maxShardBytes = MAX_SHARD_BYTES, maxUnavailable = MAX_UNAVAILABLE } = o;
  const reshard = !!manifest && manifest.shardCount !== count;
  const gone = new Set(missing);
  // which shards change, under the new count
  const dirty = new Set(touch.filter((i) => i >= 0 && i < count));
  for (const sku of upserts.keys()) dirty.add(shardOf(sku, count));
  for (const sku of gone) dirty.add(shardOf(sku, count));
  if (reshard || !manifest) for (let i = 0; i < count; i++) dirty.add(i);
  // the records they hold now
  const current = new Map(); // shard index (new count) → Map sku → record
  for (const i of dirty) current.set(i, new Map());
  const sources = reshard ? manifest.shards.map((s, i) => [i, s]) : manifest ? [...dirty].map((i) => [i, manifest.shards[i]]) : [];
  for (const [, s] of sources) {
    if (!s || !s.count) continue;
    const shard = await loadShard(storage, s.key);
    if (!shard) throw new Error(`${s.key} is missing: the catalog cannot be updated without it`);
    for (const r of shard.records()) current.get(shardOf(r.sku, count))?.set(r.sku, r);
  }
  for (const [i, recs] of current) {
    if (drop) for (const sku of [...recs.keys()]) if (drop(sku, i)) recs.delete(sku);
  }
  for (const sku of gone) current.get(shardOf(sku, count)).delete(sku);
  for (const [sku, r] of upserts) current.get(shardOf(sku, count)).set(sku, canonical({ ...r, sku }));

  const shards = manifest && !reshard ? manifest.shards.map((s) => ({ ...s })) : Array.from({ length: count }, () => null);
  const built = [];
  for (const i of [...dirty].sort((a, b) => a - b)) {
    const bytes = encodeShard(store, currency, [...current.get(i).values()]);
    if (bytes.byteLength > maxShardBytes) throw new Overflow();
    built.push([i, bytes, current.get(i).size]);
  }
  let writes = 0;
  const written = [];
  for (const [i, bytes, n] of built) {
    const key = shardKey(await sha256Hex(bytes));
    const before = shards[i]?.key;
    shards[i] = { key, count: n, bytes: bytes.byteLength };
    if (key === before || existing.has(key) || written.includes(key)) continue;
    await storage.put(key, bytes);
    writes++;
    written.push(key);
  }

  // unavailable: what the origin did not return, and what it returned out of stock
  const un = new Set(manifest?.unavailable ?? []);
  for (const sku of gone) un.add(sku);
  for (const [sku, r] of upserts) { if (r.inStock === false) un.add(sku); else un.delete(sku); }
  if (drop) for (const sku of [...un]) if (drop(sku, shardOf(sku, count))) un.delete(sku);
  const all = sortSkus([...un]);
  const unavailable = all.slice(0, maxUnavailable);

  const keysBefore = manifest?.shards.map((s) => s.key) ?? [];
  const keysAfter = shards.map((s) => s.key);
  const changed = !manifest || reshard || keysAfter.some((k, i) => k !== keysBefore[i])
    || unavailable.length !== manifest.unavailable.length || unavailable.some((s, i) => s !== manifest.unavailable[i]);
  if (!changed) return { manifest, changed: false, writes, written, retired: [], shardCount: count };
  const next = {
    format: FORMAT, store, currency, version: (manifest?.version ?? 0) + 1,
    updated: new Date(now).toISOString(), syncedAt: now, shardCount: count,
    records: shards.reduce((s, x) => s + x.count, 0), bytes: shards.reduce((s, x) => s + x.bytes, 0),
    shards, unavailable, unavailableCount: all.length, unavailableTruncated: all.length > unavailable.length,
  };
  await storage.put(manifestKey(store, currency), JSON.stringify(next));
  writes++;
  const live = new Set(keysAfter);
  return { manifest: next, changed: true, writes, written, retired: [...new Set(keysBefore)].filter((k) => !live.has(k)), shardCount: count };
}
