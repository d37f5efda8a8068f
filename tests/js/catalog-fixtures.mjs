// catalog-fixtures.mjs — shared by tests/js/catalog.test.mjs (Node) and tests/workerd/catalog.test.mjs
// (workerd), so no node: imports: an in-memory storage for core/catalog.js and a generated catalog.

/** core/catalog.js's storage in memory, recording puts and deletes. */
export function memoryStorage() {
  const map = new Map();
  const puts = [], deletes = [];
  return {
    map, puts, deletes,
    // a copy, as KV gives (so memory measured by a test is the reader's own)
    get: async (k) => (!map.has(k) ? null : typeof map.get(k) === 'string' ? map.get(k) : map.get(k).slice()),
    put: async (k, v) => { puts.push({ key: k, bytes: typeof v === 'string' ? v.length : v.byteLength }); map.set(k, v); },
    delete: async (k) => { deletes.push(k); map.delete(k); },
  };
}

const WORDS = ['Aero', 'Breathe-Easy', 'Cassius', 'Daphne', 'Echo', 'Fusion', 'Gwyn', 'Hollister', 'Ida', 'Jade', 'Karmen', 'Layla',
  'Marco', 'Nona', 'Orestes', 'Proteus', 'Quest', 'Riona', 'Selene', 'Tiberius', 'Ultra', 'Vulcan', 'Wayfarer', 'Xenon', 'Yoga', 'Zing',
  'Lightweight', 'Running', 'Hoodie', 'Jacket', 'Tank', 'Tee', 'Short', 'Pant', 'Bra', 'Capri', 'Duffle', 'Backpack', 'Watch', 'Bottle'];
const TOP = ['Women', 'Men', 'Gear', 'Collections', 'Training', 'Sale', 'Kids', 'Home'];
const MID = ['Tops', 'Bottoms', 'Bags', 'Fitness Equipment', 'Watches', 'Eco Friendly', 'Performance Fabrics', 'New Luma Yoga Collection', 'Video Download', 'Outerwear'];
const LEAF = ['Jackets', 'Hoodies & Sweatshirts', 'Tees', 'Bras & Tanks', 'Pants', 'Shorts', 'Yoga', 'Running', 'Hiking', 'Lounge'];
const CATEGORY_PATHS = TOP.flatMap((a) => MID.flatMap((b) => [`${a}/${b}`, ...LEAF.map((c) => `${a}/${b}/${c}`)])); // 880

/** mulberry32: a small deterministic PRNG → () => [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n records shaped like a Magento store's (names of 3–5 words, url keys, 1–3 images under the
 * media path, 30 % configurable with a price range, 1–4 categories of 880, 5 % out of stock);
 * deterministic. */
export function generateCatalog(n, seed = 1) {
  const rand = prng(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const records = [];
  for (let i = 0; i < n; i++) {
    const name = Array.from({ length: 3 + Math.floor(rand() * 3) }, () => pick(WORDS)).join(' ');
    const urlKey = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${i}`;
    const sku = `${pick(['MH', 'MJ', 'WS', 'WB', 'MP', 'WT', '24-MB', '24-WG', '24-UG'])}${String(i).padStart(6, '0')}`;
    const images = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => ({
      url: `https://shop.example.com/media/catalog/product/${urlKey[0]}/${urlKey[1]}/${urlKey}_main_${k + 1}.jpg`,
      label: k === 0 ? name : `${name} ${k + 1}`, roles: k === 0 ? ['image', 'small_image', 'thumbnail'] : [],
    }));
    const base = Math.round((5 + rand() * 195) * 100) / 100;
    const sale = rand() < 0.2 ? Math.round(base * 0.8 * 100) / 100 : base;
    const complex = rand() < 0.3;
    const rec = {
      sku, id: 1000 + i, name, urlKey, url: `/${urlKey}.html`, images, type: complex ? 'complex' : 'simple',
      inStock: rand() >= 0.05, visibility: 'Catalog', categories: Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(CATEGORY_PATHS)),
    };
    if (complex) rec.priceRange = { minimum: { final: sale, regular: base }, maximum: { final: Math.round(sale * 1.3 * 100) / 100, regular: Math.round(base * 1.3 * 100) / 100 }, currency: 'USD' };
    else rec.price = { final: sale, regular: base, currency: 'USD' };
    records.push(rec);
  }
  return { records };
}
