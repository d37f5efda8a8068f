#!/usr/bin/env node
// make-venia.mjs — deterministic PWA Studio (Venia) GraphQL responses built
// from tests/data/sample-catalog.json, for the rerank parity tests and the
// benchmark.  Outputs (committed): tests/data/parity/responses/*.json
//
//   node tests/data/make-venia.mjs          write the files
//   node tests/data/make-venia.mjs --check  exit 1 when a committed file differs
//
// Shapes follow Venia's queries:
// * GetCategories (peregrine talons/RootComponents/Category/category.gql.js):
//   categories{items{uid …CategoryFragment}} + products{…ProductsFragment}
//   with ProductsFragment items {id uid name price_range sku small_image
//   stock_status rating_summary __typename url_key} page_info total_count;
//   we add the filter/sort parts Venia fetches for the same page
//   (aggregations, sort_fields: categoryContent.gql.js) so the document has
//   the realistic nesting around `items`.
// * ProductSearch (talons/SearchPage/searchPage.gql.js): items {id name
//   price_range sku small_image stock_status type_id url_key url_suffix}
//   page_info total_count.
// Prices carry maximum_price and minimum_price, each with final_price and
// regular_price.  Items carry __typename (Apollo asks for it; the gallery
// uses it); nested objects don't, which keeps the 48-item page near 20 KB.
// Compact JSON, as Magento sends it.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const here = new URL('.', import.meta.url);
const catalog = JSON.parse(readFileSync(new URL('sample-catalog.json', here), 'utf8'));
const outDir = new URL('parity/responses/', here);

const items = catalog.items;
const childrenOf = new Map();
for (const it of items) if (it.parent) childrenOf.set(it.parent, (childrenOf.get(it.parent) ?? 0) + 1);
// What a listing shows: visible parents / simple products (children fold into parents).
const listable = items.filter((it) => !it.parent && it.visible);
const index = new Map(items.map((it, i) => [it.sku, i]));

const b64 = (s) => Buffer.from(String(s)).toString('base64');
const money = (value) => ({ currency: 'USD', value });
const round2 = (x) => Math.round(x * 100) / 100;

// One Venia product item.  `n` is the item's catalog position (ids), `pad`
// the copy number for synthetic padding items (0: the real sku).
function product(it, { search = false, pad = 0 } = {}) {
  const n = index.get(it.sku) + 1 + pad * 1000;
  const sku = pad ? `${it.sku}-P${pad}` : it.sku;
  const urlKey = pad ? `${it.url_key}-p${pad}` : it.url_key;
  const final = it.price;
  // Every third item is on sale: regular price 25% higher.
  const regular = n % 3 === 0 ? round2(final * 1.25) : final;
  const configurable = childrenOf.has(it.sku);
  const prices = (v) => ({ final_price: money(v), regular_price: money(regular) });
  const common = {
    __typename: configurable ? 'ConfigurableProduct' : 'SimpleProduct',
    id: n,
    uid: b64(n),
    sku,
    name: pad ? `${it.name} ${pad + 1}` : it.name,
    url_key: urlKey,
    small_image: { url: `https://venia.example/media/catalog/product/${urlKey[0]}/${urlKey[1]}/${urlKey}.jpg` },
    price_range: {
      maximum_price: prices(final),
      minimum_price: prices(configurable ? round2(final * 0.9) : final),
    },
    stock_status: it.in_stock ? 'IN_STOCK' : 'OUT_OF_STOCK',
  };
  return search
    ? { ...common, type_id: configurable ? 'configurable' : 'simple', url_suffix: '.html' }
    : { ...common, rating_summary: (n * 37) % 101 };
}

function aggregations(list) {
  const cats = new Map();
  const colors = new Map();
  for (const it of list) {
    for (const c of it.categories) cats.set(c, (cats.get(c) ?? 0) + 1);
    const col = it.attributes?.color;
    if (col) colors.set(col, (colors.get(col) ?? 0) + 1);
  }
  const opts = (m) => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([label, count]) => ({ label, count, value: b64(label) }));
  const prices = list.map((it) => it.price);
  const lo = Math.floor(Math.min(...prices) / 10) * 10, hi = Math.ceil(Math.max(...prices) / 10) * 10;
  return [
    { label: 'Category', count: cats.size, attribute_code: 'category_uid', options: opts(cats), position: 0 },
    { label: 'Price', count: 2, attribute_code: 'price', position: 1,
      options: [
        { label: `${lo}-${(lo + hi) / 2}`, count: list.filter((it) => it.price < (lo + hi) / 2).length, value: `${lo}_${(lo + hi) / 2}` },
        { label: `${(lo + hi) / 2}-${hi}`, count: list.filter((it) => it.price >= (lo + hi) / 2).length, value: `${(lo + hi) / 2}_${hi}` },
      ] },
    { label: 'Color', count: colors.size, attribute_code: 'fashion_color', options: opts(colors), position: 2 },
  ];
}

const sortFields = {
  default: 'position',
  options: [
    { label: 'Position', value: 'position' },
    { label: 'Product Name', value: 'name' },
    { label: 'Price', value: 'price' },
  ],
};

// A GetCategories response: `list` are catalog items, `pads` extra synthetic copies.
function category(uidNum, list, { pageSize = list.length, pads = 0, total = list.length + pads } = {}) {
  const prods = list.map((it) => product(it));
  for (let p = 1; prods.length < list.length + pads; p++)
    for (const it of list) { if (prods.length >= list.length + pads) break; prods.push(product(it, { pad: p })); }
  return {
    data: {
      categories: {
        items: [{ uid: b64(uidNum), meta_title: null, meta_keywords: null, meta_description: null }],
      },
      products: {
        items: prods,
        page_info: { total_pages: Math.max(1, Math.ceil(total / pageSize)), current_page: 1, page_size: pageSize },
        total_count: total,
        aggregations: aggregations(list),
        sort_fields: sortFields,
      },
    },
  };
}

function search(list, pageSize = 12) {
  return {
    data: {
      products: {
        items: list.map((it) => product(it, { search: true })),
        page_info: { total_pages: Math.max(1, Math.ceil(list.length / pageSize)) },
        total_count: list.length,
      },
    },
  };
}

const inCat = (path) => listable.filter((it) => it.categories.includes(path));
const synthetic = (sku, i) => ({
  sku, name: `Synthetic Item ${i}`, url_key: `synthetic-item-${i}`, parent: null, categories: ['Gear'],
  price: 10 + i, in_stock: true, visible: true, attributes: {}, popularity: {},
});
index.set('ER-UNKNOWN-01', 900); index.set('ER-UNKNOWN-02', 901); index.set('ER-UNKNOWN-03', 902);
const unknown = [1, 2, 3].map((i) => synthetic(`ER-UNKNOWN-0${i}`, i));

const responses = {
  // The benchmark's page: 48 items (every listable item, then synthetic copies).
  'venia-category-48': category(2, listable, { pageSize: 48, pads: Math.max(0, 48 - listable.length), total: 48 }),
  'venia-category-bags': category(3, inCat('Gear/Bags'), { pageSize: 12 }),
  'venia-category-men': category(11, listable.filter((it) => it.categories.includes('Men')), { pageSize: 24 }),
  'venia-search-jacket': search(listable.filter((it) => /jacket|shell|parka|hoodie/i.test(it.name))),
  'venia-search-mixed': search([...inCat('Women/Tops/Tees').slice(0, 3), unknown[0], ...inCat('Gear/Fitness').slice(0, 3), unknown[1]]),
  'venia-search-unknown': search(unknown),
  'venia-single': search(inCat('Gear/Watches').slice(0, 1)),
  'venia-empty': search([]),
  // A partial failure: data plus errors (the engine must leave it alone).
  'venia-errors': {
    errors: [{
      message: 'Internal server error', locations: [{ line: 12, column: 9 }], path: ['products', 'items', 2, 'price_range'],
      extensions: { category: 'internal' },
    }],
    ...search(inCat('Gear/Bags').slice(0, 4)),
  },
};

mkdirSync(outDir, { recursive: true });
let bad = 0;
for (const [name, doc] of Object.entries(responses)) {
  const text = JSON.stringify(doc);
  const file = new URL(`${name}.json`, outDir);
  if (process.argv.includes('--check')) {
    let old = '';
    try { old = readFileSync(file, 'utf8'); } catch {}
    if (old !== text) { console.error(`make-venia: ${name}.json is stale`); bad++; }
  } else {
    writeFileSync(file, text);
    console.error(`make-venia: ${name}.json ${text.length} bytes, ${doc.data?.products?.items?.length ?? 0} items`);
  }
}
process.exit(bad ? 1 : 0);
