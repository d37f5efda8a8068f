// fixtures.mjs — what the Lambda@Edge tests and the benchmark share: the Luma catalog and the
// bundles trained on synthetic sessions (build/lambda/), the Magento stand-in on a free loopback
// port, the package built by worker-shim/lambda-edge/build.mjs and unpacked the way Lambda does
// (with the fake AWS SDK under node_modules/@aws-sdk/), CloudFront event fixtures in the
// documented shape, and a browser-like cookie jar.
//
//   build/lambda/luma-catalog.json   edgerec import luma-catalog ../shared/data/luma
//   build/lambda/synthetic.ndjson    tests/standin/synthetic-sessions.mjs (1500 sessions, seed 1)
//   build/lambda/luma.erb            edgerec train … --version lambda-1            (the packaged bundle)
//   build/lambda/luma-v2.erb         edgerec train … --version lambda-2 --seed 3   (a canary from S3)
// They are rebuilt only when older than what they are made from.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readZip } from '../../worker-shim/lambda-edge/zip.mjs';
import { itemTexts, spanOf } from '../lib/json-spans.mjs';
import { GET_CATEGORIES } from '../lib/venia-queries.mjs';
export { GET_CATEGORIES, itemTexts, spanOf };

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
export const B = join(ROOT, 'build/lambda');
export const CATALOG = join(B, 'luma-catalog.json');
export const SESSIONS = join(B, 'synthetic.ndjson');
export const BUNDLE = join(B, 'luma.erb');
export const BUNDLE_V2 = join(B, 'luma-v2.erb');
const LUMA = join(ROOT, '../shared/data/luma');
const CLI = join(ROOT, 'build/edgerec');

const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : -Infinity);
function step(target, inputs, make) {
  if (existsSync(target) && inputs.every((i) => mtime(i) < mtime(target))) return;
  make();
  if (!existsSync(target)) throw new Error(`fixtures: ${target} was not written`);
}
const run = (cmd, args) => execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });

/** The catalog and the two trained bundles (build/lambda/). */
export function ensureFixtures() {
  for (const f of [CLI, join(ROOT, 'wasm/edgerec.wasm')]) if (!existsSync(f)) throw new Error(`${f} is missing: run ./build.sh`);
  if (!existsSync(LUMA)) throw new Error(`${LUMA} is missing (the Luma sample catalog)`);
  mkdirSync(B, { recursive: true });
  const luma = readdirSync(LUMA).map((f) => join(LUMA, f));
  step(CATALOG, [CLI, ...luma], () => run(CLI, ['import', 'luma-catalog', LUMA, '--out', CATALOG]));
  const gen = join(ROOT, 'tests/standin/synthetic-sessions.mjs');
  step(SESSIONS, [CATALOG, gen], () => run(process.execPath, [gen, '--catalog', CATALOG, '--sessions', '1500', '--out', SESSIONS]));
  step(BUNDLE, [CLI, CATALOG, SESSIONS], () =>
    run(CLI, ['train', '--events', SESSIONS, '--catalog', CATALOG, '--version', 'lambda-1', '--quiet', '--out', BUNDLE]));
  step(BUNDLE_V2, [CLI, CATALOG, SESSIONS], () =>
    run(CLI, ['train', '--events', SESSIONS, '--catalog', CATALOG, '--version', 'lambda-2', '--seed', '3', '--quiet', '--out', BUNDLE_V2]));
}

/** The Magento stand-in (tests/standin/server.mjs) on a free loopback port. */
export function startStandin({ record = true, timeoutMs = 1500 } = {}) {
  const args = [join(ROOT, 'tests/standin/server.mjs'), '--catalog', CATALOG, '--port', '0', '--quiet', '--timeout-ms', String(timeoutMs)];
  if (record) args.push('--record');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const orphan = () => child.kill('SIGTERM'); // a crashed test or benchmark leaves no stand-in behind
  process.once('exit', orphan);
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => { child.kill(); reject(new Error(`stand-in did not start: ${err}`)); }, 15_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1], child, close: () => new Promise((r) => { process.off('exit', orphan); child.once('exit', r); child.kill('SIGTERM'); }) });
      }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`stand-in exited (${code}): ${err}`)); });
  });
}

/** Run build.mjs; {summary, code, stderr}. */
export function buildPackage(args) {
  try {
    const out = execFileSync(process.execPath, [join(ROOT, 'worker-shim/lambda-edge/build.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, summary: JSON.parse(out.toString().trim().split('\n').pop()), stderr: '' };
  } catch (e) {
    const line = e.stdout?.toString().trim().split('\n').pop();
    let summary = null;
    try { summary = line ? JSON.parse(line) : null; } catch { summary = null; }
    return { code: e.status, summary, stderr: e.stderr?.toString() ?? '' };
  }
}

const FAKE_CLIENTS = ['client-ssm', 'client-secrets-manager', 'client-s3', 'client-firehose'];

/** Unpack a zip into a fresh temporary folder (as Lambda does into /var/task) and give it the
 * fake AWS SDK under node_modules/@aws-sdk/ (the runtime's own SDK in the real thing). */
export function unpack(zipPath, { fakeSdk = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edgerec-lambda-'));
  for (const e of readZip(readFileSync(zipPath))) {
    const p = join(dir, e.name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, e.data, { mode: e.mode || 0o644 });
  }
  if (fakeSdk) {
    for (const c of FAKE_CLIENTS) {
      const d = join(dir, 'node_modules/@aws-sdk', c);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'package.json'), JSON.stringify({ name: `@aws-sdk/${c}`, type: 'module', exports: './index.mjs' }));
      writeFileSync(join(d, 'index.mjs'), `export * from ${JSON.stringify(pathToFileURL(join(HERE, 'fake-aws-sdk', `${c}.mjs`)).href)};\n`);
    }
  }
  return dir;
}

/** Import the unpacked package's handler module the way the Lambda runtime does (index.handler). */
export const importPackage = (dir, file = 'index.mjs') => import(pathToFileURL(join(dir, file)).href);

/** The fake AWS state (see fake-aws-sdk/fake.mjs). */
export function fakeAws() {
  globalThis.__edgerecFakeAws ??= { ssm: {}, secrets: {}, s3: {}, firehose: [], calls: [], delayMs: {}, fail: {} };
  return globalThis.__edgerecFakeAws;
}

// ---- CloudFront event fixtures -------------------------------------------------------------------

const canonical = (name) => name.replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());

/** A CloudFront header map from {name: value | [values]} (lowercase keys, [{key, value}]). */
export function cfHeaders(h) {
  const out = {};
  for (const [n, v] of Object.entries(h)) {
    if (v === undefined || v === null) continue;
    out[n.toLowerCase()] = (Array.isArray(v) ? v : [v]).map((value) => ({ key: canonical(n), value: String(value) }));
  }
  return out;
}

/**
 * A request event as CloudFront sends it to Lambda@Edge (CloudFront Developer Guide, "Lambda@Edge
 * event structure"): Records[0].cf.config {distributionDomainName, distributionId, eventType,
 * requestId} and cf.request {clientIp, headers, method, querystring, uri[, body][, origin]}.
 * body: a string or bytes; it is base64-encoded and cut at `truncateAt` with inputTruncated.
 */
export function cfEvent({ eventType = 'viewer-request', method = 'GET', uri = '/', querystring = '', headers = {},
  body, truncateAt = 40 * 1024, clientIp = '203.0.113.178', distribution = 'd111111abcdef8.cloudfront.net', origin } = {}) {
  const request = {
    clientIp,
    headers: cfHeaders({ host: distribution, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) edgerec-test', ...headers }),
    method, querystring, uri,
  };
  if (body !== undefined) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    request.body = { inputTruncated: bytes.length > truncateAt, action: 'read-only', encoding: 'base64', data: bytes.subarray(0, truncateAt).toString('base64') };
  }
  if (eventType === 'origin-request') {
    request.origin = origin ?? { custom: { customHeaders: {}, domainName: 'magento.example.com', keepaliveTimeout: 5, path: '', port: 443, protocol: 'https', readTimeout: 30, sslProtocols: ['TLSv1.2'] } };
  }
  const config = { distributionDomainName: distribution, distributionId: 'EDFDVBD6EXAMPLE', eventType };
  if (eventType.startsWith('viewer')) config.requestId = `test-${Math.random().toString(36).slice(2)}==`;
  return { Records: [{ cf: { config, request } }] };
}

/** A Lambda context with a deadline (getRemainingTimeInMillis). */
export function lambdaContext(timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  return { functionName: 'us-east-1.edgerec', functionVersion: '1', awsRequestId: 'test', getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

// ---- Venia's documents (as tests/workerd/worker.test.mjs) ------------------------------------------

export const GET_PRODUCT = `query getProductDetailForProductPage($urlKey: String!) {
  products(filter: { url_key: { eq: $urlKey } }) { items { id ...ProductDetailsFragment } }
}
fragment ProductDetailsFragment on ProductInterface {
  __typename categories { uid breadcrumbs { category_uid } } description { html } id uid name
  price_range { maximum_price { final_price { currency value } regular_price { currency value } } }
  sku small_image { url } stock_status url_key
}`;
export const STORE_CONFIG = 'query getStoreConfigData { storeConfig { store_code store_name locale base_currency_code grid_per_page } }';
export const CREATE_CART = 'mutation createCart { cartId: createEmptyCart }';
export const ADD_TO_CART = `mutation AddProductToCart($cartId: String!, $product: CartItemInput!) {
  addProductsToCart(cartId: $cartId, cartItems: [$product]) { cart { id total_quantity } user_errors { code message } }
}`;

let nonceN = 0;
/** A value that makes a URL unique (an unused GraphQL variable): a fresh cache entry. */
export const nonce = () => `${Date.now().toString(36)}-${process.pid}-${++nonceN}`;

/** A GraphQL GET as {method, path, headers, body}. */
export function get(query, operationName, variables, headers = {}) {
  const qs = new URLSearchParams({ query });
  if (operationName) qs.set('operationName', operationName);
  if (variables) qs.set('variables', JSON.stringify(variables));
  return { method: 'GET', path: `/graphql?${qs}`, headers, body: null };
}
export function post(query, operationName, variables, headers = {}) {
  return { method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, operationName, variables }) };
}
export const listing = (uid, extra = {}) => get(GET_CATEGORIES, 'GetCategories',
  { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 48, sort: { position: 'ASC' }, ...extra });
export const productPage = (urlKey, extra = {}) => get(GET_PRODUCT, 'getProductDetailForProductPage', { urlKey, ...extra });

/** The spec as a viewer-request event (path split into uri and querystring). */
export function specEvent(spec, extra = {}) {
  const q = spec.path.indexOf('?');
  return cfEvent({
    method: spec.method, uri: q < 0 ? spec.path : spec.path.slice(0, q), querystring: q < 0 ? '' : spec.path.slice(q + 1),
    headers: spec.headers, body: spec.body ?? undefined, ...extra,
  });
}

/** SKUs of data.products.items in order. */
export const skusOf = (text) => (JSON.parse(text).data?.products?.items ?? []).map((it) => it.sku);

/** A re-ranked response is the origin's: every byte outside data.products.items, the same items (as bytes). */
export function sameOutsideItems(edgeText, originText) {
  if (edgeText.length !== originText.length) return `length ${edgeText.length} != ${originText.length}`;
  const [s0, e0] = spanOf(originText, ['data', 'products', 'items']);
  const [s1, e1] = spanOf(edgeText, ['data', 'products', 'items']);
  if (s0 !== s1 || e0 !== e1) return 'items span moved';
  if (edgeText.slice(0, s1) !== originText.slice(0, s0) || edgeText.slice(e1) !== originText.slice(e0)) return 'bytes outside the items differ';
  const a = [...itemTexts(edgeText)].sort(), b = [...itemTexts(originText)].sort();
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) return 'the items differ';
  return null;
}

/** A browser: keeps the cookies it is given. */
export class Browser {
  constructor(cookies = {}, headers = {}) { this.jar = new Map(Object.entries(cookies)); this.headers = headers; }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  take(setCookies) {
    for (const sc of setCookies) {
      const pair = sc.split(';')[0];
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim(), value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0\b/i.test(sc)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
  requestHeaders(extra = {}) {
    const cookie = this.cookieHeader();
    return { ...this.headers, ...(cookie ? { cookie } : {}), ...extra };
  }
}
