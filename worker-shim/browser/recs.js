// recs.js — edgerec's storefront script, served by the edge at GET /edge/recs.js: recommendation
// units on any page (Venia, a Luma theme, a plain page), with Adobe's storefront events.
// A dependency-free ES module; docs/storefront.md is its manual.
//
//   <script type="module" src="/edge/recs.js"></script>
//   <edgerec-recommendations page-type="Product" sku="MH01"></edgerec-recommendations>
//
//   fetchUnits(opts)                  → {results, totalResults, model, arm}: GET /edge/recommend
//   renderUnit(unit, pageRank, opts)  → <section>: one unit's accessible markup (catalog values as text)
//   observeUnit(rootEl, unitMeta, opts) → stop(): recs-unit-impression-render now, recs-unit-view at ≥ 50 %
//                                        visible, recs-item-click / recs-item-add-to-cart-click on the
//                                        descendants marked data-edgerec-sku / data-edgerec-rank
//   report(events, opts)              → queued to POST /edge/events (sendBeacon, else fetch keepalive)
//   newPageView()                     → a single-page app's route change: units may report again
//   safeUrl(u), priceText(p, locale), productHref(p, opts), catalogText(s)   renderUnit's helpers (for other renderers)
// In a browser it defines <edgerec-recommendations>.  Every element on the page that asks the same
// page (type, sku, category, cart) is served by one GET /edge/recommend.
const EDGE_PATH = '/edge/';
const MAX_EVENTS = 500; // per POST /edge/events (the Worker's limit)
const MAX_BODY = 60 * 1024; // bytes per POST (the Worker takes 64 KiB; keepalive allows 64 KiB in flight)
const MAX_ITEMS = 64; // skus in a list event (the event contract's limit)
const UNIT_HEIGHT = 340; // px: one unit's fixed height (CSS --edgerec-unit-height), so nothing moves on render
const hasDom = typeof document !== 'undefined';

/** The edge's base URL: opts.endpoint, else the origin that served this script when it is the edge's
 * /edge/recs.js (a cross-origin storefront), else the page's own origin. */
function edgeBase(endpoint) {
  const page = hasDom ? document.baseURI : undefined;
  if (typeof endpoint === 'string' && endpoint.trim()) {
    const u = new URL(endpoint.trim(), page);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`edgerec: endpoint ${JSON.stringify(endpoint)} must be an http(s) URL`);
    return u.origin + u.pathname.replace(/\/+$/, '').replace(/\/edge$/, '');
  }
  const self = new URL(import.meta.url);
  if ((self.protocol === 'https:' || self.protocol === 'http:') && self.pathname.endsWith('/edge/recs.js')) {
    return self.origin + self.pathname.slice(0, -'/edge/recs.js'.length);
  }
  return page ? new URL(page).origin : '';
}
const edgeUrl = (endpoint, route) => `${edgeBase(endpoint)}${EDGE_PATH}${route}`;

/** A catalog URL made safe for href / src: http(s) or relative (resolved against the page), else null. */
export function safeUrl(u) {
  if (typeof u !== 'string' || !u || u.length > 4096) return null;
  try {
    const x = new URL(u, hasDom ? document.baseURI : 'https://invalid.invalid/');
    return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : null;
  } catch {
    return null;
  }
}

const list = (v) => (Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : [])
  .map((s) => String(s).trim()).filter(Boolean);

/**
 * GET /edge/recommend: the units of a page.  opts: {endpoint, pageType (Adobe's PageType: Product,
 * Category, Cart, Checkout, CMS, PageBuilder), sku, category, cartSkus (array or comma list), unit (a
 * unit id or type id), k, exclude, store, currency, timeoutMs (default 5000), fetch}.
 * Resolves to {results (Adobe's RecommendationUnit objects), totalResults, model, arm}; rejects with an
 * Error naming the request and what went wrong.
 */
export async function fetchUnits(opts = {}) {
  const q = new URLSearchParams();
  const put = (k, v) => { if (v !== undefined && v !== null && String(v) !== '') q.set(k, String(v)); };
  put('pageType', opts.pageType);
  put('sku', opts.sku);
  put('category', opts.category);
  put('cart', list(opts.cartSkus).join(','));
  put('exclude', list(opts.exclude).join(','));
  put('unit', opts.unit);
  put('k', opts.k);
  const url = `${edgeUrl(opts.endpoint, 'recommend')}?${q}`;
  const headers = {};
  if (opts.store) headers.Store = String(opts.store);
  if (opts.currency) headers['Content-Currency'] = String(opts.currency);
  const f = opts.fetch ?? globalThis.fetch;
  let res;
  try {
    res = await f(url, { credentials: 'include', headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
  } catch (e) {
    throw new Error(`edgerec: GET ${url}: ${e?.name === 'TimeoutError' ? 'no answer in time' : e?.message ?? e}`);
  }
  let body = null;
  try { body = await res.json(); } catch { /* named below */ }
  if (!res.ok) throw new Error(`edgerec: GET ${url}: HTTP ${res.status}${body?.error ? `: ${body.error}` : ''}`);
  if (!body || !Array.isArray(body.results)) throw new Error(`edgerec: GET ${url}: the answer is not {results: [...]}`);
  const edge = res.headers.get('x-edgerec') ?? '';
  return { results: body.results, totalResults: body.results.length, model: /model=([^;\s]+)/.exec(edge)?.[1] ?? null, arm: /arm=([^;\s]+)/.exec(edge)?.[1] ?? null };
}

// ---- rendering -----------------------------------------------------------------------------------

let seq = 0;
/** The locale for prices: the element's (or page's) lang, else the browser's. */
function localeOf(el) {
  const lang = (el?.closest?.('[lang]')?.lang || (hasDom && document.documentElement.lang) || '').trim();
  try { return Intl.getCanonicalLocales(lang || (typeof navigator !== 'undefined' ? navigator.language : 'en'))[0]; } catch { return undefined; }
}

/** A product's price as text in its currency: SimpleProductView.price, or ComplexProductView.priceRange
 * (a range when minimum and maximum differ).  '' when the product has none. */
export function priceText(p, locale) {
  const amount = (x) => (x && typeof x.value === 'number' && Number.isFinite(x.value) ? x : null);
  const lo = amount(p?.price?.final?.amount) ?? amount(p?.priceRange?.minimum?.final?.amount);
  if (!lo) return '';
  const hi = p?.price ? null : amount(p?.priceRange?.maximum?.final?.amount);
  let fmt;
  try {
    fmt = /^[A-Z]{3}$/.test(lo.currency ?? '') ? new Intl.NumberFormat(locale, { style: 'currency', currency: lo.currency })
      : new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  } catch {
    fmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  if (hi && hi.value > lo.value && hi.currency === lo.currency) {
    try { return fmt.formatRange(lo.value, hi.value); } catch { return `${fmt.format(lo.value)} – ${fmt.format(hi.value)}`; }
  }
  return fmt.format(lo.value);
}

let parser = null;
/** A catalog name as the text Magento's storefront shows: its character references decoded (Luma's
 * sample data names products "Harmony Lumaflex&trade; …"; Magento escapes names without encoding
 * them twice), and nothing else — `<b>` stays those three characters.  Decoded by an inert DOMParser
 * document (no script runs, nothing loads), after every < and > is escaped; the result is only ever
 * used as textContent or an attribute value. */
export function catalogText(s) {
  const text = String(s ?? '');
  if (!text.includes('&') || typeof DOMParser !== 'function') return text;
  parser ??= new DOMParser();
  return parser.parseFromString(text.replace(/</g, '&lt;').replace(/>/g, '&gt;'), 'text/html').documentElement.textContent;
}

/** A product's link (safe, or null): its `url`, else opts.productUrl ("/{urlKey}.html" by default) with
 * {urlKey} / {sku} filled in. */
export function productHref(p, opts = {}) {
  if (p.url) return safeUrl(p.url);
  if (!p.urlKey && !p.sku) return null;
  const t = opts.productUrl ?? '/{urlKey}.html';
  return safeUrl(t.replace('{urlKey}', encodeURIComponent(p.urlKey ?? '')).replace('{sku}', encodeURIComponent(p.sku ?? '')));
}

/**
 * One unit's markup: <section aria-labelledby> with an <h2> (storefrontLabel, else unitName) and a
 * <ul> of <li data-edgerec-sku data-edgerec-rank> holding a link (image with alt, name), the price
 * in the unit's currency and, with opts.addToCart (true or the button's label), a button marked
 * data-edgerec-add-to-cart.  Built with textContent / setAttribute only: catalog values are text, and
 * URLs are http(s) or relative (others are dropped).  opts: {addToCart, productUrl, locale, document}.
 */
export function renderUnit(unit, pageRank, opts = {}) {
  const doc = opts.document ?? document;
  const el = (tag, cls) => { const e = doc.createElement(tag); if (cls) e.className = cls; return e; };
  const id = `edgerec-unit-${++seq}`;
  const section = el('section', 'edgerec-unit');
  section.setAttribute('aria-labelledby', `${id}-h`);
  if (unit.unitId != null) section.dataset.edgerecUnit = String(unit.unitId);
  if (unit.typeId != null) section.dataset.edgerecUnitType = String(unit.typeId);
  section.dataset.edgerecPageRank = String(pageRank);
  const h2 = el('h2', 'edgerec-heading');
  h2.id = `${id}-h`;
  h2.textContent = String(unit.storefrontLabel || unit.unitName || '');
  const ul = el('ul', 'edgerec-items');
  ul.setAttribute('role', 'list'); // list-style: none drops the list role in some screen readers
  const locale = opts.locale ?? localeOf(opts.host);
  const label = typeof opts.addToCart === 'string' && opts.addToCart.trim() ? opts.addToCart.trim() : 'Add to cart';
  (Array.isArray(unit.productsView) ? unit.productsView : []).forEach((p, i) => {
    if (!p || typeof p.sku !== 'string' || !p.sku) return;
    const li = el('li', 'edgerec-item');
    li.dataset.edgerecSku = p.sku;
    li.dataset.edgerecRank = String(i + 1);
    const name = catalogText(p.name ?? p.sku);
    const href = productHref(p, opts);
    const a = el(href ? 'a' : 'span', 'edgerec-link');
    if (href) a.setAttribute('href', href);
    const images = Array.isArray(p.images) ? p.images : [];
    const image = images.find((im) => Array.isArray(im?.roles) && im.roles.includes('small_image')) ?? images[0];
    const src = safeUrl(image?.url);
    const frame = el('span', 'edgerec-image');
    if (src) {
      const img = el('img');
      img.setAttribute('src', src);
      img.setAttribute('alt', name); // the link's accessible name: the name below is hidden from it
      img.setAttribute('width', '160');
      img.setAttribute('height', '160');
      img.setAttribute('loading', 'lazy');
      img.setAttribute('decoding', 'async');
      frame.append(img);
    }
    const n = el('span', 'edgerec-name');
    n.textContent = name;
    if (src) n.setAttribute('aria-hidden', 'true');
    a.append(frame, n);
    const price = el('span', 'edgerec-price');
    price.textContent = priceText(p, locale);
    li.append(a, price);
    if (opts.addToCart) {
      const b = el('button', 'edgerec-add');
      b.type = 'button';
      b.dataset.edgerecAddToCart = '';
      b.textContent = label;
      b.setAttribute('aria-label', `${label}: ${name}`);
      if (p.addToCartAllowed === false || p.inStock === false) b.disabled = true;
      li.append(b);
    }
    ul.append(li);
  });
  section.append(h2, ul);
  return section;
}

// ---- events ----------------------------------------------------------------------------------------

const seen = new Set(); // "<kind>|<unit>|<rank>|<items>": once per unit per page view
/** A single-page app's route change: the same units may report render and view again. */
export function newPageView() { seen.clear(); }

const byteLength = (s) => new TextEncoder().encode(s).length;
const isSku = (s) => typeof s === 'string' && s.length > 0 && byteLength(s) <= 128; // the event contract's item
const clipItems = (skus) => [...new Set(skus.filter(isSku))].slice(0, MAX_ITEMS);

/** The event fields of a unit, or null when it cannot be reported (the event contract: unit 1..64
 * bytes, unit_type 1..32, rank 1..200). */
function unitFields(meta) {
  const unit = String(meta.unitId ?? meta.unit ?? '');
  const type = String(meta.typeId ?? meta.unitType ?? meta.unit_type ?? '');
  const rank = Math.min(200, Math.max(1, Math.trunc(Number(meta.rank ?? meta.pageRank) || 1)));
  if (!unit || byteLength(unit) > 64 || !type || byteLength(type) > 32) return null;
  const f = { unit, unit_type: type, rank };
  if (typeof meta.model === 'string' && meta.model && meta.model.length <= 256) f.model = meta.model;
  return f;
}

/**
 * Report a unit's events from rootEl (its rendered markup, any framework's): recs-unit-impression-render
 * now, recs-unit-view once it is at least 50 % visible (IntersectionObserver), each once per page view;
 * recs-item-click for a click on a link inside an element marked data-edgerec-sku (its data-edgerec-rank
 * is the item's rank) and recs-item-add-to-cart-click for one on an element marked data-edgerec-add-to-cart.
 * unitMeta: {unitId, typeId, rank (the unit's place on the page), items (skus; default: the marked
 * descendants), model}; opts as report()'s.  Returns stop(), which removes the observers.
 */
export function observeUnit(rootEl, unitMeta, opts = {}) {
  const base = unitFields(unitMeta ?? {});
  if (!rootEl || !base) {
    console.warn(`edgerec: observeUnit: ${!rootEl ? 'no element' : `unit ${JSON.stringify(unitMeta?.unitId)} of type ${JSON.stringify(unitMeta?.typeId)} cannot be reported (unit id 1..64 bytes, type 1..32)`}`);
    return () => {};
  }
  const marked = () => [...rootEl.querySelectorAll('[data-edgerec-sku]')].map((e) => e.dataset.edgerecSku);
  const items = clipItems(Array.isArray(unitMeta.items) ? unitMeta.items
    : Array.isArray(unitMeta.productsView) ? unitMeta.productsView.map((p) => p?.sku) : marked());
  const key = `${base.unit}|${base.rank}|${items.join(',')}`;
  const once = (kind) => { if (seen.has(`${kind}|${key}`)) return false; seen.add(`${kind}|${key}`); return true; };
  if (items.length && once('render')) report({ type: 'recs-unit-impression-render', items, ...base }, opts);
  let io = null;
  if (items.length && typeof IntersectionObserver === 'function' && !seen.has(`view|${key}`)) {
    io = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting && e.intersectionRatio >= 0.5)) return;
      io?.disconnect();
      io = null;
      if (once('view')) report({ type: 'recs-unit-view', items, ...base }, opts);
    }, { threshold: 0.5 });
    io.observe(rootEl);
  }
  const onClick = (ev) => {
    if (ev.type === 'auxclick' && ev.button !== 1) return; // a middle click opens the link too
    const t = ev.target instanceof Element ? ev.target : ev.target?.parentElement;
    const item = t?.closest('[data-edgerec-sku]');
    if (!item || !rootEl.contains(item)) return;
    const rank = Math.min(200, Math.max(1, Math.trunc(Number(item.dataset.edgerecRank)) || 1));
    const fields = { item: item.dataset.edgerecSku, ...base, rank };
    if (!isSku(fields.item)) return;
    const cart = t.closest('[data-edgerec-add-to-cart]');
    if (cart && item.contains(cart)) report({ type: 'recs-item-add-to-cart-click', ...fields }, opts);
    else if (t.closest('a[href]') && item.contains(t.closest('a[href]'))) report({ type: 'recs-item-click', ...fields }, opts);
  };
  rootEl.addEventListener('click', onClick);
  rootEl.addEventListener('auxclick', onClick);
  return () => {
    io?.disconnect();
    io = null;
    rootEl.removeEventListener('click', onClick);
    rootEl.removeEventListener('auxclick', onClick);
  };
}

const queues = new Map(); // events URL → events waiting for this task's end
/**
 * Send events (one object or an array, docs/events.md) to POST /edge/events: queued and sent together
 * at the end of the current task (before a link's navigation), with navigator.sendBeacon (a Blob of
 * application/json) or, when the beacon is refused, fetch with keepalive, so they survive the page
 * being left.  opts: {endpoint, beacon (false: fetch keepalive only)}.
 */
export function report(events, opts = {}) {
  const evs = (Array.isArray(events) ? events : [events]).filter((e) => e && typeof e === 'object');
  if (!evs.length) return;
  let url;
  try { url = edgeUrl(opts.endpoint, 'events'); } catch (e) { console.warn(`${e.message}: ${evs.length} event(s) not sent`); return; }
  const q = queues.get(url);
  if (q) { q.events.push(...evs); return; }
  queues.set(url, { events: evs, beacon: opts.beacon !== false });
  queueMicrotask(() => { const x = queues.get(url); queues.delete(url); if (x) send(url, x.events, x.beacon); });
}

function send(url, events, beacon) {
  for (let i = 0; i < events.length;) {
    let n = Math.min(MAX_EVENTS, events.length - i), body = JSON.stringify(events.slice(i, i + n));
    while (n > 1 && byteLength(body) > MAX_BODY) { n = Math.ceil(n / 2); body = JSON.stringify(events.slice(i, i + n)); }
    i += n;
    let sent = false;
    if (beacon && typeof navigator !== 'undefined' && typeof navigator.sendBeacon === 'function') {
      try { sent = navigator.sendBeacon(url, new Blob([body], { type: 'application/json' })); } catch { sent = false; }
    }
    if (!sent) {
      globalThis.fetch(url, { method: 'POST', body, keepalive: true, credentials: 'include', headers: { 'content-type': 'application/json' } })
        .catch((e) => console.warn(`edgerec: POST ${url}: ${e?.message ?? e}`));
    }
  }
}

// ---- <edgerec-recommendations> ------------------------------------------------------------------

const STYLE = `
:where(edgerec-recommendations){display:block;min-height:calc(var(--edgerec-unit-height,${UNIT_HEIGHT}px)*var(--edgerec-units,2))}
:where(edgerec-recommendations[unit]){--edgerec-units:1}
:where(edgerec-recommendations[hidden]){display:none}
:where(.edgerec-unit){box-sizing:border-box;height:var(--edgerec-unit-height,${UNIT_HEIGHT}px);overflow:hidden;margin:0;padding:8px 0 0}
:where(.edgerec-heading){font-size:1.15rem;line-height:1.75rem;height:1.75rem;margin:0 0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
:where(.edgerec-items){display:flex;gap:12px;list-style:none;margin:0;padding:2px 2px 8px;overflow-x:auto;overscroll-behavior-x:contain;scroll-snap-type:x proximity}
:where(.edgerec-item){flex:0 0 var(--edgerec-card-width,160px);display:flex;flex-direction:column;gap:4px;scroll-snap-align:start;min-width:0}
:where(.edgerec-link){display:flex;flex-direction:column;gap:4px;color:inherit;text-decoration:none}
:where(a.edgerec-link:hover .edgerec-name){text-decoration:underline}
:where(a.edgerec-link:focus-visible){outline:2px solid currentColor;outline-offset:2px}
:where(.edgerec-image){display:block;aspect-ratio:1;background:#eee;overflow:hidden}
:where(.edgerec-image img){display:block;width:100%;height:100%;object-fit:cover}
:where(.edgerec-name){display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;line-height:1.3em;height:2.6em}
:where(.edgerec-price){line-height:1.3em;height:1.3em;font-weight:600}
:where(.edgerec-add){height:2rem;font:inherit}
:where(.edgerec-skeleton){box-sizing:border-box;height:var(--edgerec-unit-height,${UNIT_HEIGHT}px);background:linear-gradient(90deg,#f3f3f3,#e9e9e9,#f3f3f3);border-radius:4px;border:8px solid transparent;background-clip:padding-box}
`;
function injectStyle() {
  if (!hasDom || document.getElementById('edgerec-style')) return;
  const s = document.createElement('style');
  s.id = 'edgerec-style';
  s.textContent = STYLE;
  document.head.prepend(s); // first: the page's own rules win
}

const ATTRS = ['page-type', 'sku', 'category', 'cart-skus', 'exclude', 'unit', 'k', 'endpoint', 'store', 'currency', 'units', 'min-height', 'add-to-cart', 'product-url'];
const pending = new Set();
let flushing = false;

/** What an element asks the edge (all but `unit`): elements with the same key share one request. */
function requestOf(el) {
  const a = (n) => el.getAttribute(n) ?? undefined;
  const r = { endpoint: a('endpoint'), pageType: a('page-type'), sku: a('sku'), category: a('category'), cartSkus: list(a('cart-skus') ?? ''),
    exclude: list(a('exclude') ?? ''), k: a('k'), store: a('store'), currency: a('currency') };
  return { opts: r, key: JSON.stringify(r) };
}
const unitCount = (el) => {
  const n = Number(el.getAttribute('units'));
  return Number.isInteger(n) && n >= 1 && n <= 25 ? n : el.hasAttribute('unit') ? 1 : 2;
};

function schedule(el) {
  pending.add(el);
  if (flushing) return;
  flushing = true;
  queueMicrotask(() => { flushing = false; const els = [...pending]; pending.clear(); renderAll(els); });
}

/** Render elements: one GET /edge/recommend per distinct request (plus one per named unit the page
 * type's answer does not hold). */
async function renderAll(els) {
  const groups = new Map();
  for (const el of els) {
    if (!el.isConnected) continue;
    const { opts, key } = requestOf(el);
    if (!groups.has(key)) groups.set(key, { opts, els: [] });
    groups.get(key).els.push(el);
    el._edgerecGen = (el._edgerecGen ?? 0) + 1;
    el.setAttribute('aria-busy', 'true');
  }
  await Promise.all([...groups.values()].map(async ({ opts, els: members }) => {
    const gens = new Map(members.map((e) => [e, e._edgerecGen]));
    let answer, error = null;
    try { answer = await fetchUnits(opts); } catch (e) { error = e; }
    // units other elements of the page claim by name (also those not re-rendering now)
    const key = JSON.stringify(opts);
    const named = hasDom ? [...document.querySelectorAll('edgerec-recommendations[unit]')].filter((e) => requestOf(e).key === key).map((e) => e.getAttribute('unit')) : [];
    const matches = (u, name) => u.unitId === name || u.typeId === name;
    for (const el of members) {
      if (gens.get(el) !== el._edgerecGen) continue; // a newer render is on its way
      let units = [], model = answer?.model ?? null, err = error;
      if (answer) {
        const name = el.getAttribute('unit');
        if (name) {
          units = answer.results.filter((u) => matches(u, name)).slice(0, 1);
          if (!units.length) { // not one of the page type's units: asked by name
            try { const one = await fetchUnits({ ...opts, unit: name }); units = one.results.slice(0, 1); model = one.model; } catch (e) { err = e; }
          }
        } else units = answer.results.filter((u) => !named.some((n) => matches(u, n)));
      }
      if (gens.get(el) !== el._edgerecGen) continue;
      const ranks = new Map((answer?.results ?? []).map((u, i) => [u, i + 1]));
      try {
        show(el, units.filter((u) => u && typeof u === 'object').map((u) => ({ unit: u, rank: ranks.get(u) ?? 1 })), model, err);
      } catch (e) { // an answer this script cannot render: the page as it is without units
        show(el, [], null, new Error(`edgerec: the units could not be rendered: ${e?.message ?? e}`));
      }
    }
  }));
}

/** Put the units into the element (at most its reserved count), start their events. */
function show(el, units, model, error) {
  el._edgerecStop?.forEach((stop) => stop());
  el._edgerecStop = [];
  el.removeAttribute('aria-busy');
  const shown = units.filter(({ unit }) => Array.isArray(unit.productsView) && unit.productsView.length).slice(0, unitCount(el));
  const where = `<edgerec-recommendations ${[...el.attributes].filter((a) => ATTRS.includes(a.name)).map((a) => `${a.name}="${a.value}"`).join(' ')}>`;
  for (const { unit } of units) if (unit.userError && !shown.some((s) => s.unit === unit)) console.warn(`edgerec: ${where}: unit ${unit.unitId}: ${unit.userError}`);
  if (error || !shown.length) {
    if (error) console.warn(`${error.message} (for ${where})`);
    el.replaceChildren();
    el.dataset.edgerecState = error ? 'error' : 'empty';
    el.hidden = true; // fail open: the page as it is without units
    el.dispatchEvent(new CustomEvent(error ? 'edgerec:error' : 'edgerec:render', { detail: { units: [], error: error?.message ?? null } }));
    return;
  }
  el.hidden = false;
  const opts = { addToCart: el.hasAttribute('add-to-cart') ? el.getAttribute('add-to-cart') || true : false, productUrl: el.getAttribute('product-url') ?? undefined, host: el };
  const sections = shown.map(({ unit, rank }) => ({ unit, rank, section: renderUnit(unit, rank, opts) }));
  el.replaceChildren(...sections.map((s) => s.section));
  el.dataset.edgerecState = 'rendered';
  const endpoint = el.getAttribute('endpoint') ?? undefined;
  for (const { unit, rank, section } of sections) {
    el._edgerecStop.push(observeUnit(section, { unitId: unit.unitId, typeId: unit.typeId, rank, model }, { endpoint }));
  }
  el.dispatchEvent(new CustomEvent('edgerec:render', { detail: { units: shown.map(({ unit }) => unit), model } }));
}

/** The add-to-cart button: the element's `addToCart(sku, detail)` hook when the page set one, else a
 * bubbling `edgerec:add-to-cart` DOM event, detail {sku, rank, unit, unitType, name}, the page handles
 * (observeUnit has already reported recs-item-add-to-cart-click). */
function onAddToCart(ev) {
  const b = ev.target instanceof Element ? ev.target.closest('[data-edgerec-add-to-cart]') : null;
  const item = b?.closest('[data-edgerec-sku]');
  if (!b || !item || !this.contains(item)) return;
  const section = item.closest('.edgerec-unit');
  const detail = { sku: item.dataset.edgerecSku, rank: Number(item.dataset.edgerecRank), unit: section?.dataset.edgerecUnit ?? null,
    unitType: section?.dataset.edgerecUnitType ?? null, name: item.querySelector('.edgerec-name')?.textContent ?? '' };
  if (typeof this.addToCart === 'function') {
    Promise.resolve().then(() => this.addToCart(detail.sku, detail)).catch((e) => console.warn(`edgerec: addToCart hook: ${e?.message ?? e}`));
  } else this.dispatchEvent(new CustomEvent('edgerec:add-to-cart', { bubbles: true, composed: true, detail }));
}

if (hasDom && typeof customElements !== 'undefined' && !customElements.get('edgerec-recommendations')) {
  /** <edgerec-recommendations page-type sku category cart-skus exclude unit k endpoint store currency
   * units min-height add-to-cart product-url>: docs/storefront.md. */
  class EdgerecRecommendations extends HTMLElement {
    static get observedAttributes() { return ATTRS; }
    connectedCallback() {
      injectStyle();
      if (!this._edgerecInit) {
        this._edgerecInit = true;
        this.addEventListener('click', onAddToCart);
      }
      this.reserve();
      schedule(this);
    }
    disconnectedCallback() { this._edgerecStop?.forEach((stop) => stop()); this._edgerecStop = []; }
    /** Ask the edge again (the shopper's profile changed: a product viewed, the cart): same place, new units. */
    refresh() { if (this.isConnected) schedule(this); }
    attributeChangedCallback(name, before, now) {
      if (before === now || !this.isConnected) return;
      if (name === 'units' || name === 'min-height') this.reserve();
      schedule(this);
    }
    /** Reserve the units' height before the answer: min-height (attribute, CSS) or units × the unit height. */
    reserve() {
      const mh = this.getAttribute('min-height');
      if (mh && typeof CSS !== 'undefined' && CSS.supports?.('min-height', mh)) this.style.minHeight = mh;
      if (this.hasAttribute('units')) this.style.setProperty('--edgerec-units', String(unitCount(this)));
      if (!this.childElementCount) { // a skeleton while the answer is on its way
        const sk = Array.from({ length: unitCount(this) }, () => { const d = document.createElement('div'); d.className = 'edgerec-skeleton'; return d; });
        const box = document.createElement('div');
        box.setAttribute('aria-hidden', 'true');
        box.append(...sk);
        this.replaceChildren(box);
      }
    }
  }
  customElements.define('edgerec-recommendations', EdgerecRecommendations);
}
