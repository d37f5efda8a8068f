// venia-e2e.mjs — the PWA Studio (Venia) extension (worker-shim/browser/venia) against the real Worker
// under `wrangler dev`, in headless Chromium.  A Venia build (webpack 4, PWA Studio's buildpack) cannot
// run here (docs/venia.md), so:
//   1. intercept.js runs against stand-in Targetables with the real API names (fake-pwa-buildpack.cjs):
//      the transform requests it makes are checked (files, JSX elements, imports, the possibleTypes splice,
//      the esModules flag) and then APPLIED to stand-ins of the Venia files it targets (tests/e2e/venia/standins),
//   2. those transformed stand-ins and the extension's components are bundled with esbuild (React 19,
//      @apollo/client, recs.js) into a test page the Magento stand-in serves (/__static/), through the Worker,
//   3. Chromium loads it: units render for the product, cart and home (CMS) page types through Apollo
//      (Adobe's `recommendations` query, GET as Venia sends it); the ProductView fragments resolve only
//      with the spliced possibleTypes (a control without them loses the fields); prices in the unit's
//      currency; no layout shift; an item name with markup renders as text; the component's events
//      (recs-unit-impression-render, recs-unit-view, recs-item-click, recs-item-add-to-cart-click) get
//      202 from POST /edge/events and are in the event log (R2, read through the admin export).
// Ports 18817/18818; state in DIR/state-venia; the page and bundle in DIR/venia-e2e (screenshot product.png).
//   node tests/e2e/venia-e2e.mjs --dir build/e2e     (needs DIR/e2e.erb and DIR/catalog.json)
// Prints "venia-e2e: N passed, N failed".
import { createRequire, registerHooks } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startStack } from '../../worker-shim/dev/stack.mjs';
import { findChromium, launchChromium } from './cdp.mjs';
import { withEdgerecPossibleTypes } from '../../worker-shim/browser/venia/lib/possibleTypes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('./venia/', import.meta.url));
const PKG = `${ROOT}worker-shim/browser/venia/`;
const FAKE = `${HERE}fake-pwa-buildpack.cjs`;
const dir = process.argv[process.argv.indexOf('--dir') + 1];
const PORT = 18817, ORIGIN_PORT = 18818;
const OUT = `${dir}/venia-e2e`;
const MARKUP = ' <img src=x onerror="window.__edgerecXss=1"><b>bold</b>'; // appended to every product name the stand-in serves
// what Venia's build would define as POSSIBLE_TYPES: the Magento schema's interfaces (it has no ProductView)
const MAGENTO_POSSIBLE_TYPES = { ProductInterface: ['SimpleProduct', 'ConfigurableProduct'], CartItemInterface: ['SimpleCartItem', 'ConfigurableCartItem'] };

let pass = 0, fail = 0;
const check = (name, ok, detail = '') => {
  if (ok) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name} ${typeof detail === 'function' ? detail() : detail}`); }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const watchdog = setTimeout(() => { console.log('FAIL - venia-e2e: watchdog (240 s)'); console.log(`venia-e2e: ${pass} passed, ${fail + 1} failed`); process.exit(1); }, 240_000);

// ---- 1. intercept.js through the Targetables API --------------------------------------------------

registerHooks({ // intercept.js's require('@magento/pwa-buildpack') gets the stand-in
  resolve: (specifier, context, next) => (specifier === '@magento/pwa-buildpack' ? { url: pathToFileURL(FAKE).href, format: 'commonjs', shortCircuit: true } : next(specifier, context)),
});
const require = createRequire(import.meta.url);

/** splice-source-loader's instruction semantics (at / before / after, insert, remove); throws naming a missing anchor. */
function splice(source, instr) {
  const where = 'at' in instr ? instr.at : 'before' in instr ? source.indexOf(instr.before) : 'after' in instr ? source.indexOf(instr.after) : -1;
  if (where < 0) throw new Error(`splice: the text ${JSON.stringify(instr.before ?? instr.after)} was not found`);
  const at = 'after' in instr ? where + instr.after.length : where;
  return source.slice(0, at) + (instr.insert ?? '') + source.slice(at + (instr.remove ?? 0));
}
/** BabelModifyJSXPlugin's insertAfter on a stand-in: after the element (name + required attributes) closes. */
function insertAfterJSX(source, element, jsx) {
  const [, name, attrs = ''] = /^<?\s*([\w.]+)\s*([^>]*?)\s*\/?>?$/.exec(element.trim()) ?? [];
  const required = attrs.match(/[\w-]+=(?:\{[^}]*\}|"[^"]*"|'[^']*')/g) ?? [];
  const open = new RegExp(`<${name.replace('.', '\\.')}(?=[\\s>/])`, 'g');
  for (let m; (m = open.exec(source));) {
    if (/^\s*\/\//.test(source.slice(source.lastIndexOf('\n', m.index) + 1, m.index))) continue; // in a // comment
    const tagEnd = source.indexOf('>', m.index);
    const tag = source.slice(m.index, tagEnd + 1);
    if (!required.every((a) => tag.includes(a))) continue;
    if (tag.endsWith('/>')) return source.slice(0, tagEnd + 1) + jsx + source.slice(tagEnd + 1);
    let depth = 1, i = tagEnd + 1;
    const any = new RegExp(`<(/?)${name.replace('.', '\\.')}(?=[\\s>/])`, 'g');
    any.lastIndex = i;
    for (let t; depth && (t = any.exec(source));) {
      const end = source.indexOf('>', t.index);
      if (t[1]) depth--; else if (source[end - 1] !== '/') depth++;
      i = end + 1;
    }
    if (depth) break;
    return source.slice(0, i) + jsx + source.slice(i);
  }
  throw new Error(`insertAfterJSX: no element matching '${element}'`);
}

async function interceptChecks() {
  const pkg = JSON.parse(readFileSync(`${PKG}package.json`, 'utf8'));
  check(`package.json registers the intercept file (pwa-studio.targets.intercept = ${pkg['pwa-studio']?.targets?.intercept})`,
    pkg['pwa-studio']?.targets?.intercept === './intercept.js' && existsSync(`${PKG}intercept.js`));
  const intercept = require(`${PKG}intercept.js`);
  const { fakeTargets, BABEL_JSX, SPLICE } = require(FAKE);
  const targets = fakeTargets(pkg.name);
  intercept(targets);
  const { transforms, features } = await targets.run();
  check(`the esModules special feature is set for ${pkg.name} (Venia's babel-loader then builds lib/)`, features[pkg.name]?.esModules === true, JSON.stringify(features));
  const of = (file) => transforms.filter((t) => t.fileToTransform === file);
  const where = {
    Product: '@magento/venia-ui/lib/components/ProductFullDetail/productFullDetail.js',
    Cart: '@magento/venia-ui/lib/components/CartPage/cartPage.js',
    CMS: '@magento/venia-ui/lib/RootComponents/CMS/cms.js',
  };
  for (const [pageType, file] of Object.entries(where)) {
    const ts = of(file);
    const jsx = ts.filter((t) => t.type === 'babel' && t.transformModule === BABEL_JSX && t.options.operation === 'insertAfter');
    const imports = ts.filter((t) => t.type === 'source' && t.transformModule === SPLICE && t.options.at === 0);
    const binding = /^import (\w+) from '@edgerec\/venia\/lib\/EdgerecUnits\.js';\n$/.exec(imports[0]?.options.insert ?? '')?.[1];
    check(`${file.split('/').pop()}: an import of EdgerecUnits and one insertAfterJSX of <${binding} pageType="${pageType}" …>`,
      jsx.length === 1 && imports.length === 1 && binding && new RegExp(`^<${binding} pageType="${pageType}"[^<]*/>$`).test(jsx[0].options.params.jsx),
      JSON.stringify(ts));
  }
  const adapter = of('@magento/peregrine/lib/talons/Adapter/useAdapter.js');
  check('useAdapter.js: possibleTypes: POSSIBLE_TYPES spliced to withEdgerecPossibleTypes(POSSIBLE_TYPES), with its import',
    adapter.some((t) => t.options.before === 'possibleTypes: POSSIBLE_TYPES' && t.options.remove === t.options.before.length && /withEdgerecPossibleTypes\(POSSIBLE_TYPES\)/.test(t.options.insert))
    && adapter.some((t) => /^import \{ withEdgerecPossibleTypes \} from '@edgerec\/venia\/lib\/possibleTypes\.js';/.test(t.options.insert ?? '')), JSON.stringify(adapter));
  const imported = transforms.map((t) => /from '@edgerec\/venia\/([^']+)'/.exec(t.options.insert ?? '')?.[1]).filter(Boolean);
  check(`every module the transforms import exists in the package (${[...new Set(imported)].join(', ')})`, imported.length === 4 && imported.every((p) => existsSync(`${PKG}${p}`)));
  const merged = withEdgerecPossibleTypes(MAGENTO_POSSIBLE_TYPES);
  check('withEdgerecPossibleTypes keeps the Magento schema\'s types, adds ProductView\'s, does not mutate its input',
    merged.ProductInterface === MAGENTO_POSSIBLE_TYPES.ProductInterface && merged.ProductView.join() === 'SimpleProductView,ComplexProductView' && !('ProductView' in MAGENTO_POSSIBLE_TYPES)
    && withEdgerecPossibleTypes(null).ProductView.length === 2);

  // apply them to the stand-ins (as webpack's loaders would), in the order requested
  mkdirSync(`${OUT}/src`, { recursive: true });
  const files = { ...where, Adapter: '@magento/peregrine/lib/talons/Adapter/useAdapter.js' };
  for (const file of Object.values(files)) {
    const base = file.split('/').pop();
    let source = readFileSync(`${HERE}standins/${base}`, 'utf8');
    try {
      for (const t of of(file)) source = t.type === 'source' ? splice(source, t.options) : insertAfterJSX(source, t.options.element, t.options.params.jsx);
      writeFileSync(`${OUT}/src/${base}`, source);
    } catch (e) {
      check(`the transforms apply to the stand-in of ${base}`, false, e.message);
      throw e;
    }
  }
  copyFileSync(`${HERE}harness.js`, `${OUT}/src/harness.js`);
}

// ---- 2. the test page -------------------------------------------------------------------------------

async function bundle() {
  rmSync(`${OUT}/www`, { recursive: true, force: true });
  mkdirSync(`${OUT}/www`, { recursive: true });
  const r = await build({
    entryPoints: [`${OUT}/src/harness.js`], bundle: true, format: 'esm', outfile: `${OUT}/www/harness.js`, platform: 'browser', target: 'es2022',
    loader: { '.js': 'jsx' }, jsx: 'transform', alias: { '@edgerec/venia': PKG.replace(/\/$/, '') }, logLevel: 'silent', metafile: true,
    define: { 'process.env.NODE_ENV': '"production"', POSSIBLE_TYPES: JSON.stringify(MAGENTO_POSSIBLE_TYPES) },
  });
  const inputs = Object.keys(r.metafile.inputs);
  check(`esbuild bundles the page with the extension, React and @apollo/client (${(r.metafile.outputs[Object.keys(r.metafile.outputs)[0]].bytes / 1024).toFixed(0)} KiB), `
    + 'not the storefront script (loaded from the edge at run time, as in a Venia build)',
    ['worker-shim/browser/venia/lib/EdgerecUnits.js', 'node_modules/react-dom/', 'node_modules/@apollo/client/'].every((p) => inputs.some((i) => i.includes(p)))
    && !inputs.some((i) => i.endsWith('worker-shim/browser/recs.js')));
  writeFileSync(`${OUT}/www/venia.html`, '<!doctype html>\n<html lang="en-US"><head><meta charset="utf-8"><title>edgerec Venia extension: test page</title>'
    + '<meta name="viewport" content="width=device-width"></head>\n<body style="margin:0;font:16px/1.4 sans-serif"><div id="root"></div>'
    + '<script type="module" src="/__static/harness.js"></script></body></html>\n');
}

// ---- 3. in Chromium against the Worker ---------------------------------------------------------------

async function browser(W, token, catalog) {
  const bin = findChromium();
  if (!bin) { check('Chromium is installed (Debian package `chromium`; nothing is skipped)', false); return; }
  const profile = `${OUT}/chromium-profile`;
  rmSync(profile, { recursive: true, force: true });
  mkdirSync(profile, { recursive: true });
  const chromium = await launchChromium({ bin, userDataDir: profile, width: 1280, height: 900 });
  try {
    const page = await chromium.newPage();
    await page.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
    const errors = [], posts = [], gql = [], scripts = [];
    const requests = new Map();
    page.onEvent((m) => {
      if (m.method === 'Runtime.exceptionThrown') errors.push(m.params.exceptionDetails?.exception?.description ?? m.params.exceptionDetails?.text);
      if (m.method === 'Network.requestWillBeSent') requests.set(m.params.requestId, m.params.request);
      if (m.method === 'Network.responseReceived') {
        const req = requests.get(m.params.requestId), url = new URL(m.params.response.url);
        if (url.pathname === '/edge/events') posts.push({ id: m.params.requestId, status: m.params.response.status, body: req?.postData ?? null, method: req?.method });
        if (url.pathname === '/edge/recs.js') scripts.push({ status: m.params.response.status, type: m.params.response.mimeType });
        if (url.pathname === '/graphql') gql.push({ method: req?.method, status: m.params.response.status, url: m.params.response.url, edge: m.params.response.headers['x-edgerec'] ?? m.params.response.headers['X-Edgerec'] });
      }
    });
    const open = async (qs) => {
      await page.send('Page.navigate', { url: `${W}/__static/venia.html?${qs}` });
      await page.waitFor(`window.__harness?.ready === true`, 15_000, `the test page (${qs})`);
    };
    const units = (sel = '#page') => page.eval(`[...document.querySelectorAll(${JSON.stringify(sel)} + ' section.edgerec-unit')].map((s) => ({
      unit: s.dataset.edgerecUnit, type: s.dataset.edgerecUnitType, rank: Number(s.dataset.edgerecPageRank), h2: s.querySelector('h2')?.textContent,
      labelled: document.getElementById(s.getAttribute('aria-labelledby'))?.tagName, height: s.getBoundingClientRect().height,
      items: [...s.querySelectorAll('li[data-edgerec-sku]')].map((li) => ({ sku: li.dataset.edgerecSku, rank: Number(li.dataset.edgerecRank),
        href: li.querySelector('a')?.getAttribute('href'), img: li.querySelector('img')?.getAttribute('src'), name: li.querySelector('.edgerec-name')?.textContent,
        price: li.querySelector('.edgerec-price')?.textContent })) }))`);
    const sold = catalog.items.filter((i) => i.visible !== false && !i.parent && i.url_key);
    const bySku = new Map(catalog.items.map((i) => [i.sku, i]));

    // the product page
    const product = sold.find((i) => i.categories?.includes('Men/Tops/Jackets')) ?? sold[0];
    await open(`page=product&sku=${encodeURIComponent(product.sku)}&name=${encodeURIComponent(product.name)}`);
    await page.waitFor(`document.querySelectorAll('#page section.edgerec-unit').length > 0`, 15_000, 'units on the product page');
    await sleep(300);
    let u = await units();
    check(`product page (${product.sku}): units rendered after the <Form> by the intercepted JSX (${u.map((x) => `${x.type} ×${x.items.length}`).join(', ')})`,
      u.length >= 1 && u.every((x) => x.items.length > 0) && await page.eval(`!!document.querySelector('form[data-cy="ProductFullDetail-root"] + .edgerec-units')`));
    check('… each an accessible section: aria-labelledby its h2 (the storefront label), a list of links with an image, a name and a price',
      u.every((x) => x.labelled === 'H2' && x.h2 && x.items.every((it) => it.href && it.img && it.name && it.price)), JSON.stringify(u).slice(0, 400));
    check('… none recommends the product on the page', u.every((x) => x.items.every((it) => it.sku !== product.sku)));
    check(`… the default product units (${u.map((x) => x.unit).join(', ')})`, u.some((x) => x.unit === 'edgerec-default-product-1' && x.type === 'viewed-viewed'));
    check(`the storefront script was loaded from the Worker (GET /edge/recs.js: ${scripts.map((x) => `${x.status} ${x.type}`).join(', ')})`,
      scripts.length >= 1 && scripts[0].status === 200 && /javascript/.test(scripts[0].type));
    const g = gql.find((q) => q.url.includes('EdgerecRecommendations'));
    check(`the query went to the Worker as Venia sends queries: GET /graphql (useGETForQueries), 200, answered at the edge (x-edgerec: ${g?.edge})`,
      g?.method === 'GET' && g.status === 200 && /^recommended; model=e2e-1/.test(g.edge ?? ''), JSON.stringify(gql.slice(0, 2)));
    // what Apollo stored: the ProductView fragment's fields, SimpleProductView's price among them
    const stored = await page.eval(`window.__harness.cacheObjects().filter((o) => o.__typename === 'SimpleProductView' || o.__typename === 'ComplexProductView')
      .map((o) => ({ t: o.__typename, sku: o.sku, name: o.name, price: o.price?.final?.amount ?? null, range: o.priceRange?.minimum?.final?.amount ?? null }))`);
    const simple = stored.filter((o) => o.t === 'SimpleProductView');
    check(`Apollo's cache holds the ProductView fragment's fields (${stored.length} products: ${simple.length} SimpleProductView with price.final.amount)`,
      simple.length > 0 && stored.every((o) => o.sku && o.name) && simple.every((o) => typeof o.price?.value === 'number' && /^[A-Z]{3}$/.test(o.price.currency)), JSON.stringify(stored.slice(0, 3)));
    const shown = u.flatMap((x) => x.items);
    const currency = simple[0]?.price?.currency;
    const fmt = (v) => new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(v);
    const priced = shown.filter((it) => { const s = stored.find((o) => o.sku === it.sku); return s?.price && it.price === fmt(s.price.value); });
    check(`prices are shown in the unit's currency (${currency}: e.g. ${shown[0]?.price})`, currency && priced.length === shown.filter((it) => stored.find((o) => o.sku === it.sku)?.price).length && priced.length > 0,
      () => JSON.stringify(shown.slice(0, 3)));
    await page.waitFor(`[...document.querySelectorAll('#page .edgerec-unit img')].slice(0, 4).every((i) => i.complete)`, 10_000, 'the first images');
    const images = await page.eval(`[...document.querySelectorAll('#page .edgerec-unit img')].slice(0, 4).map((i) => ({ w: i.naturalWidth, alt: i.getAttribute('alt'), cw: i.width, ch: i.height }))`);
    check(`item images load (the stand-in's placeholders through the Worker), sized before they load (${images[0]?.cw}×${images[0]?.ch}), alt="" beside the visible name`,
      images.length > 0 && images.every((i) => i.w > 0 && i.alt === '' && i.cw === 160 && i.ch === 160), JSON.stringify(images));
    check('item links go to the product pages (/<url_key>.html)', shown.every((it) => { const c = bySku.get(it.sku); return !c?.url_key || it.href.endsWith(`/${c.url_key}.html`) || it.href === c.url; }),
      JSON.stringify(shown.slice(0, 2)));
    // an item name with markup renders as text
    check('a product name with markup renders as text: "<img …><b>bold</b>" shown literally, no element made from it, no script ran',
      shown.every((it) => it.name.endsWith(MARKUP)) && await page.eval(`document.querySelectorAll('.edgerec-unit img[src="x"], .edgerec-unit b').length === 0 && window.__edgerecXss === undefined`),
      JSON.stringify(shown[0]?.name));
    // reserved space
    const shifts = await page.eval('window.__harness.shifts');
    const cls = shifts.reduce((s, x) => s + x.value, 0);
    check(`no layout shift while the units arrived (reserved space; CLS ${cls.toFixed(4)})`, cls < 0.001, JSON.stringify(shifts));
    check('units have the fixed height the space was reserved for', u.every((x) => Math.abs(x.height - u[0].height) < 0.5) && u[0].height > 100);
    const shot = await page.send('Page.captureScreenshot', { format: 'png' });
    writeFileSync(`${OUT}/product.png`, Buffer.from(shot.data, 'base64'));
    console.log(`# screenshot → ${OUT.replace(ROOT, '')}/product.png`);

    // events: render now, view once scrolled into sight, a click on an item
    // a beacon's body (a Blob) is not in requestWillBeSent: ask for it
    const seenTypes = async () => {
      for (const p of posts) if (p.body === null) { try { p.body = (await page.send('Network.getRequestPostData', { requestId: p.id })).postData; } catch { p.body = ''; } }
      return posts.flatMap((p) => { try { const b = JSON.parse(p.body); return (Array.isArray(b) ? b : [b]).map((e) => ({ ...e, status: p.status })); } catch { return []; } });
    };
    await page.eval(`(document.querySelector('#page .edgerec-unit').scrollIntoView({ block: 'center' }), true)`);
    const until = async (pred, ms, what) => { const t = Date.now() + ms; while (Date.now() < t) { if (await pred()) return true; await sleep(100); } console.log(`# waited ${ms} ms for ${what}`); return false; };
    await until(async () => (await seenTypes()).some((e) => e.type === 'recs-unit-view'), 5000, 'recs-unit-view');
    const first = u[0];
    const clickAt = await page.eval(`(() => { const a = document.querySelector('#page .edgerec-unit li[data-edgerec-rank="2"] a') ?? document.querySelector('#page .edgerec-unit li a');
      a.addEventListener('click', (e) => e.preventDefault()); // stay on the page (the beacon does not need it)
      const r = a.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + Math.min(40, r.height / 2), sku: a.closest('li').dataset.edgerecSku, rank: Number(a.closest('li').dataset.edgerecRank) }; })()`);
    await page.click(clickAt.x, clickAt.y);
    await until(async () => (await seenTypes()).some((e) => e.type === 'recs-item-click'), 5000, 'recs-item-click');

    // the cart page
    const cart = sold.filter((i) => i.categories?.includes('Gear/Bags')).slice(0, 2).map((i) => i.sku);
    await open(`page=cart&cart=${cart.map(encodeURIComponent).join(',')}`);
    await page.waitFor(`document.querySelectorAll('#page section.edgerec-unit').length > 0`, 15_000, 'units on the cart page');
    u = await units();
    check(`cart page (${cart.join(', ')}): units after the cart body (${u.map((x) => `${x.type} ×${x.items.length}`).join(', ')}), none of them recommends what is in the cart`,
      u.length >= 1 && await page.eval(`!!document.querySelector('.cartPage-body + .edgerec-units')`) && u.every((x) => x.type && x.items.length && x.items.every((it) => !cart.includes(it.sku))),
      JSON.stringify(u.map((x) => x.items.map((i) => i.sku))).slice(0, 300));
    check('… the cart\'s defaults (viewed-bought / bought-bought)', u.some((x) => ['viewed-bought', 'bought-bought'].includes(x.type)));

    // the home page (Venia's CMS RootComponent)
    await open('page=home');
    await page.waitFor(`document.querySelectorAll('#page section.edgerec-unit').length > 0`, 15_000, 'units on the home page');
    u = await units();
    check(`home page (CMS): units after the page's article (${u.map((x) => `${x.unit} "${x.h2}"`).join(', ')})`,
      u.length >= 1 && await page.eval(`!!document.querySelector('article.cms-root + .edgerec-units')`) && u.some((x) => x.unit === 'edgerec-default-cms-1'));
    check('… page ranks 1, 2, … in display order', u.every((x, i) => x.rank === i + 1));

    // the add-to-cart button (a storefront that passes onAddToCart)
    await open(`page=atc&sku=${encodeURIComponent(product.sku)}`);
    await page.waitFor(`!!document.querySelector('#page .edgerec-unit button[data-edgerec-add-to-cart]')`, 15_000, 'an add-to-cart button');
    const btn = await page.eval(`(() => { const b = document.querySelector('#page .edgerec-unit button[data-edgerec-add-to-cart]:not([disabled])'); b.scrollIntoView({ block: 'center' });
      const r = b.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2, sku: b.closest('li').dataset.edgerecSku, label: b.getAttribute('aria-label') }; })()`);
    await page.click(btn.x, btn.y);
    await until(async () => (await seenTypes()).some((e) => e.type === 'recs-item-add-to-cart-click'), 5000, 'recs-item-add-to-cart-click');
    const added = await page.eval('window.__harness.added');
    check(`the add-to-cart button calls the storefront's handler with the item (${added[0]?.sku}) and is labelled for screen readers`,
      added.length === 1 && added[0].sku === btn.sku && btn.label.startsWith('Add to cart: '));

    // an edge that cannot be reached: the units leave the page as it was
    const warnings = [];
    const stopWarn = page.onEvent((m) => { if (m.method === 'Runtime.consoleAPICalled' && m.params.type === 'warning') warnings.push(m.params.args.map((a) => a.value).join(' ')); });
    await open('page=unreachable');
    await until(() => warnings.some((w) => w.includes('http://127.0.0.1:9/edge/recs.js')), 10_000, 'the warning of the unreachable edge');
    await sleep(200);
    stopWarn();
    check(`an unreachable edge: no units, nothing reserved, the page intact, a warning naming the script (${warnings[0]?.slice(0, 70)}…)`,
      await page.eval(`!!document.getElementById('below') && document.querySelector('.edgerec-units') === null`) && warnings.some((w) => w.includes('http://127.0.0.1:9/edge/recs.js')));

    // the control: the same query through Venia's cache without the spliced possibleTypes
    await open('page=control');
    const control = await page.eval('window.__harness.control ?? window.__harness.error');
    const lost = (control?.without ?? []).filter((p) => p.name === undefined && p.sku === undefined).length;
    check(`control: without ProductView's possibleTypes Apollo drops the fragment's fields (${lost}/${control?.without?.length} products lose sku, name, price); with them none does`,
      control?.without?.length > 0 && lost === control.without.length && control.with.length === control.without.length && control.with.every((p) => p.sku && p.name),
      JSON.stringify(control).slice(0, 300));

    // what reached the Worker
    const evs = await seenTypes();
    const kinds = ['recs-unit-impression-render', 'recs-unit-view', 'recs-item-click', 'recs-item-add-to-cart-click'];
    check(`the component's events were posted to /edge/events and answered 202 (${kinds.map((k) => `${k} ${evs.filter((e) => e.type === k).length}`).join(', ')})`,
      kinds.every((k) => evs.some((e) => e.type === k)) && posts.length > 0 && posts.every((p) => p.status === 202 && p.method === 'POST'), JSON.stringify(posts.map((p) => p.status)));
    const click = evs.find((e) => e.type === 'recs-item-click');
    check(`recs-item-click names the clicked item, its unit, type and rank (${click?.item} #${click?.rank} of ${click?.unit})`,
      click?.item === clickAt.sku && click.rank === clickAt.rank && click.unit === first.unit && click.unit_type === first.type);
    const render = evs.filter((e) => e.type === 'recs-unit-impression-render');
    check('recs-unit-impression-render carries the unit, its type, its page rank and the items shown, in order',
      render.length >= 4 && render.every((e) => e.unit && e.unit_type && e.rank >= 1 && Array.isArray(e.items) && e.items.length > 0)
      && render.some((e) => e.unit === first.unit && e.items.join() === first.items.map((i) => i.sku).join()));
    check('no JavaScript exception on the test pages', errors.length === 0, errors.join('; ').slice(0, 500));

    // the event log (R2, through the admin export): the consumer flushes within its batch timeout
    let logged = [];
    for (let t = 0; t < 30; t++) {
      await sleep(1000);
      const r = await fetch(`${W}/edge/admin/events?since=0`, { headers: { authorization: `Bearer ${token}` } });
      if (r.status === 200) logged = (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (kinds.every((k) => logged.some((e) => e.type === k))) break;
    }
    check(`the four event types are in the event log (R2): ${kinds.map((k) => `${k} ${logged.filter((e) => e.type === k).length}`).join(', ')}`,
      kinds.every((k) => logged.some((e) => e.type === k)));
    const loggedClick = logged.find((e) => e.type === 'recs-item-click' && e.item === clickAt.sku);
    check('the logged click keeps unit, unit_type and rank and gets the edge\'s pseudonymous user and session',
      loggedClick?.unit === first.unit && loggedClick.unit_type === first.type && loggedClick.rank === clickAt.rank && /^[0-9a-f]{64}$/.test(loggedClick.user ?? '') && !!loggedClick.session,
      JSON.stringify(loggedClick));
  } finally {
    await chromium.close();
  }
}

// ---- go ------------------------------------------------------------------------------------------------

let s;
try {
  await interceptChecks();
  await bundle();
  // the stand-in's catalog: the e2e catalog with markup in every product name
  const catalog = JSON.parse(readFileSync(`${dir}/catalog.json`, 'utf8'));
  catalog.items = catalog.items.map((i) => ({ ...i, name: `${i.name}${MARKUP}` }));
  writeFileSync(`${OUT}/catalog-markup.json`, JSON.stringify(catalog));
  const state = `${dir}/state-venia`;
  rmSync(state, { recursive: true, force: true });
  s = await startStack({ bundle: `${dir}/e2e.erb`, catalog: `${OUT}/catalog-markup.json`, port: PORT, originPort: ORIGIN_PORT, stateDir: state, quiet: true,
    standinArgs: ['--static', `${OUT}/www`, '--media-url', `http://127.0.0.1:${PORT}/media/catalog/product`] }); // images: the stand-in's placeholders, through the Worker
  const token = /^EDGEREC_ADMIN_TOKEN=(.*)$/m.exec(readFileSync(`${ROOT}.dev.vars`, 'utf8'))?.[1];
  const page = await fetch(`${s.worker}/__static/venia.html`);
  check('the Worker passes the test page through from the origin (GET /__static/venia.html: 200 text/html)', page.status === 200 && /text\/html/.test(page.headers.get('content-type')));
  await page.arrayBuffer();
  await browser(s.worker, token, catalog);
} catch (e) {
  check('the Venia run completes', false, e.stack);
} finally {
  await s?.stop();
  clearTimeout(watchdog);
}
console.log(`venia-e2e: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
