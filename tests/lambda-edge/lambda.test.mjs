// lambda.test.mjs — edgerec on Lambda@Edge (worker-shim/lambda-edge/), as deployed: the package
// is built by build.mjs, unpacked into a temporary folder the way Lambda unpacks it, and its
// `index.handler` is imported from there and called with CloudFront events — directly with
// fixtures in the documented shape, and over real HTTP through a CloudFront emulator
// (cloudfront-emulator.mjs: the behaviours, cache policies and triggers docs/lambda-edge.md
// prescribes, with CloudFront's checks on what a function returns) in front of the Magento
// stand-in (tests/standin/server.mjs) on loopback.  The AWS SDK the runtime would provide is a
// fake under the unpacked folder's node_modules/@aws-sdk/ (fake-aws-sdk/), which also plays
// Parameter Store, Secrets Manager, S3 and Firehose.  Events go to the default sink (one JSON
// line each on stdout, i.e. CloudWatch Logs), captured here.
//
//   node --test tests/lambda-edge/      (tests/suites/lambda.sh)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CloudFrontEmulator } from './cloudfront-emulator.mjs';
import * as F from './fixtures.mjs';
import { Engine } from '../../worker-shim/core/engine.js';
import { hmacId, openProfile } from '../../worker-shim/core/identity.js';
import { assignArm } from '../../worker-shim/core/arms.js';
import { decodeState } from '../../worker-shim/core/state.js';
import { readZip, writeZip } from '../../worker-shim/lambda-edge/zip.mjs';
import { generate, stepAside, toHeaders } from '../../worker-shim/lambda-edge/cloudfront.mjs';

const ID_SECRET = 'lambda-test-id-secret-0123456789abcdefghijklmnop';
const COOKIE_KEY = randomBytes(32).toString('base64');
const SSM = { '/edgerec-test/id-secret': ID_SECRET, '/edgerec-test/cookie-key': COOKIE_KEY };
const BUCKET = 'edgerec-test';
const FORWARD = ['authorization', 'store', 'content-currency', 'x-magento-cache-id', 'x-standin-fault'];
const HEX64 = /^[0-9a-f]{64}$/;
const EXPECTED_FILES = ['index.mjs', 'package.json', 'config.json', 'wasm/edgerec.wasm', 'bundle.erb',
  'worker-shim/core/app-key.js', 'worker-shim/core/arms.js', 'worker-shim/core/body.js', 'worker-shim/core/catalog.js', 'worker-shim/core/customer-token.js', 'worker-shim/core/engine.js', 'worker-shim/core/graphql.js',
  'worker-shim/core/identity.js', 'worker-shim/core/live-lists.js', 'worker-shim/core/local-hour.js', 'worker-shim/core/recommendations.js', 'worker-shim/core/request-site.js', 'worker-shim/core/segments.js', 'worker-shim/core/state.js', 'worker-shim/core/storefront-script.js', 'worker-shim/core/traffic.js', 'worker-shim/core/units.js',
  'worker-shim/lambda-edge/main.mjs', 'worker-shim/lambda-edge/handler.mjs', 'worker-shim/lambda-edge/cloudfront.mjs',
  'worker-shim/lambda-edge/runtime.mjs', 'worker-shim/lambda-edge/aws.mjs', 'worker-shim/browser/recs.js',
  'node_modules/graphql/package.json', 'node_modules/graphql/index.mjs'];

// ---- the default sink: JSON lines on stdout (CloudWatch Logs), captured ------------------------------
const sunk = [], erasures = [], metrics = [];
const realWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (typeof chunk === 'string' && chunk.startsWith('{"') && chunk.endsWith('\n')) {
    try {
      const v = JSON.parse(chunk);
      if (typeof v.type === 'string') { sunk.push(v); return true; }
      if (typeof v.erase === 'string') { erasures.push(v); return true; }
      if (typeof v.metric === 'string') { metrics.push(v); return true; }
    } catch { /* not ours */ }
  }
  return realWrite(chunk, ...rest);
};
const errors = [];
const realError = console.error;
console.error = (...a) => { errors.push(a.join(' ')); }; // the handler's own log lines (CloudWatch too)

const TMP = mkdtempSync(join(tmpdir(), 'edgerec-lambda-test-'));
const dirs = [];
let standin, emu, pkg, handler, engine;

const aws = F.fakeAws();
Object.assign(aws.ssm, SSM);
const etag = (bytes) => `"${createHash('md5').update(bytes).digest('hex')}"`;
function putObject(key, bytes) {
  const body = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : new Uint8Array(bytes);
  aws.s3[`${BUCKET}/${key}`] = { body, etag: etag(body) };
}
const deleteObject = (key) => { delete aws.s3[`${BUCKET}/${key}`]; };

function build(name, args) {
  const out = join(TMP, name);
  const r = F.buildPackage(['--out', out, ...args]);
  return { ...r, out };
}
function unpackAndImport(zip, opts) {
  const dir = F.unpack(zip, opts);
  dirs.push(dir);
  return F.importPackage(dir).then((m) => ({ dir, m }));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  F.ensureFixtures();
  engine = new Engine(new WebAssembly.Module(readFileSync(join(F.ROOT, 'wasm/edgerec.wasm'))), new Uint8Array(readFileSync(F.BUNDLE)));
  standin = await F.startStandin({ record: true, timeoutMs: 1500 });
  emu = new CloudFrontEmulator({ origin: standin.url, forwardHeaders: FORWARD });
  await emu.listen();
  pkg = build('lambda-edge.zip', ['--origin', `${emu.url}/_edgerec/origin`, '--bundle', F.BUNDLE, '--trigger', 'viewer',
    '--ssm-prefix', '/edgerec-test', '--rollout', `s3://${BUCKET}/edgerec/`, '--rollout-ttl', '0.3', '--forward-headers', FORWARD.join(',')]);
  assert.equal(pkg.code, 0, pkg.stderr);
  const { m } = await unpackAndImport(pkg.out);
  handler = m.handler;
  emu.handler = handler;
  assert.equal(await handler.runtime.ready(5000), true);
});

after(async () => {
  await emu?.close();
  await standin?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  rmSync(TMP, { recursive: true, force: true });
  process.stdout.write = realWrite;
  console.error = realError;
});

// ---- HTTP helpers ----------------------------------------------------------------------------------

/** Send a spec to the distribution (the emulator); fetch decodes gzip / br itself. */
async function send(spec, { browser = null, headers = {}, encoding = 'gzip, deflate, br', base = emu.url } = {}) {
  const h = { 'accept-encoding': encoding, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) edgerec-test', ...spec.headers, ...(browser ? browser.requestHeaders() : {}), ...headers };
  const res = await fetch(base + spec.path, { method: spec.method, headers: h, body: spec.body ?? undefined });
  const text = await res.text();
  const setCookies = res.headers.getSetCookie();
  browser?.take(setCookies);
  return { status: res.status, headers: res.headers, text, edgerec: res.headers.get('x-edgerec'), setCookies };
}
/** The origin's own answer to the same request (marked, so the origin log can tell it apart). */
async function direct(spec, headers = {}) {
  const res = await fetch(standin.url + spec.path, { method: spec.method, headers: { ...spec.headers, ...headers, 'x-test-direct': '1' }, body: spec.body ?? undefined });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
const originLog = async () => (await fetch(`${standin.url}/__standin/requests`)).json();
const clearOriginLog = () => fetch(`${standin.url}/__standin/requests`, { method: 'DELETE' });
const viaEdge = (log) => log.filter((q) => !q.headers['x-test-direct']);

const catUids = new Map();
async function categoryUid(urlPath) {
  if (!catUids.has(urlPath)) {
    const r = await direct(F.get(`{ categories(filters: { url_path: { eq: "${urlPath}" } }) { items { uid } } }`));
    catUids.set(urlPath, JSON.parse(r.text).data.categories.items[0].uid);
  }
  return catUids.get(urlPath);
}
const uidHash = (browser) => hmacId(ID_SECRET, `uid:${browser.jar.get('er_uid')}`);
const sunkSince = (n) => sunk.slice(n);

// =====================================================================================================

describe('the package (build.mjs → dist/lambda-edge.zip)', () => {
  it('holds the handler, the shared modules, the wasm, the config and the bundle — no SDK, no secrets — under 1 MB', () => {
    assert.equal(pkg.summary.ok, true);
    assert.equal(pkg.summary.trigger, 'viewer');
    assert.equal(pkg.summary.limit, 1_000_000);
    assert.ok(pkg.summary.bytes < 1_000_000, `${pkg.summary.bytes} bytes`);
    assert.equal(pkg.summary.bundle, 'lambda-1');
    assert.equal(statSync(pkg.out).size, pkg.summary.bytes);
    const entries = readZip(readFileSync(pkg.out));
    assert.deepEqual(entries.map((e) => e.name), EXPECTED_FILES);
    for (const e of entries) assert.equal(e.mode, 0o644, e.name); // readable by the Lambda runtime's user
    const text = entries.filter((e) => /\.(m?js|json)$/.test(e.name)).map((e) => new TextDecoder().decode(e.data)).join('\n');
    assert.doesNotMatch(text, /from\s+['"]@aws-sdk/); // only lazy import('@aws-sdk/…'): the runtime's SDK
    assert.doesNotMatch(text, /process\.env/); // no environment variables on Lambda@Edge
    const all = Buffer.concat(entries.map((e) => Buffer.from(e.data)));
    for (const secret of [ID_SECRET, COOKIE_KEY]) assert.equal(all.includes(secret), false, 'a secret in the package');
    const config = JSON.parse(new TextDecoder().decode(entries.find((e) => e.name === 'config.json').data));
    assert.deepEqual(config.secrets, { source: 'ssm', region: 'us-east-1', idSecret: '/edgerec-test/id-secret', cookieKey: '/edgerec-test/cookie-key',
      cookieKeyPrevious: '/edgerec-test/cookie-key-previous' });
    assert.equal(config.origin, `${emu.url}/_edgerec/origin`);
    assert.equal(config.internalPrefix, '/_edgerec/origin');
    assert.deepEqual(config.rollout, { bucket: BUCKET, prefix: 'edgerec/', region: 'us-east-1', ttlSeconds: 0.3 });
    assert.equal(new TextDecoder().decode(entries.find((e) => e.name === 'index.mjs').data).includes("export { handler } from './worker-shim/lambda-edge/main.mjs'"), true);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(entries.find((e) => e.name === 'package.json').data)).type, 'module');
  });

  it('is a valid zip for other readers (unzip -t, Python zipfile) and reproducible', () => {
    const tools = [['unzip', ['-tq', pkg.out]], ['python3', ['-m', 'zipfile', '-t', pkg.out]]];
    let checked = 0;
    for (const [cmd, args] of tools) {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.error?.code === 'ENOENT') continue;
      assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
      checked++;
    }
    console.log(`# zip checked by ${checked} external reader(s)`);
    const again = build('again.zip', ['--origin', `${emu.url}/_edgerec/origin`, '--bundle', F.BUNDLE, '--trigger', 'viewer',
      '--ssm-prefix', '/edgerec-test', '--rollout', `s3://${BUCKET}/edgerec/`, '--rollout-ttl', '0.3', '--forward-headers', FORWARD.join(',')]);
    assert.equal(again.code, 0);
    assert.deepEqual(readFileSync(again.out), readFileSync(pkg.out));
  });

  it('fails over the size limit (no zip written), knows each trigger\'s limit, and refuses bad input', () => {
    writeFileSync(join(TMP, 'over.zip'), 'a stale package'); // must not survive a failed build
    const over = build('over.zip', ['--origin', 'https://shop.example/_edgerec/origin', '--bundle', F.BUNDLE, '--max-bytes', '100000']);
    assert.equal(over.code, 1);
    assert.match(over.stderr, /over the viewer trigger's limit of 100000 bytes/);
    assert.equal(over.summary.ok, false);
    assert.equal(existsSync(over.out), false);
    const origin = build('origin.zip', ['--origin', 'https://shop.example/_edgerec/origin', '--bundle', F.BUNDLE, '--trigger', 'origin']);
    assert.equal(origin.code, 0);
    assert.equal(origin.summary.limit, 50_000_000);
    const bare = build('bare.zip', ['--origin', 'https://{distribution}/_edgerec/origin']);
    assert.equal(bare.code, 0);
    assert.equal(bare.summary.bundle, null);
    assert.ok(bare.summary.bytes < 230_000, `${bare.summary.bytes}`); // the wasm (SIMD scorers and JSON walk), the JS (units, catalog view, segments, key ring) and graphql-js (≈ 65 KB zipped); the viewer limit is 1 MB
    assert.equal(build('x.zip', []).code, 2); // --origin is required
    assert.equal(build('x.zip', ['--origin', 'https://a.example', '--trigger', 'edge']).code, 2);
    assert.equal(build('x.zip', ['--origin', 'ftp://a.example']).code, 2);
    assert.equal(build('x.zip', ['--origin', 'https://a.example', '--rollout', 'https://bucket']).code, 2);
    const junk = join(TMP, 'junk.erb');
    writeFileSync(junk, randomBytes(4096));
    const bad = build('x.zip', ['--origin', 'https://a.example', '--bundle', junk]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the engine refuses it/);
  });

  it('zip.mjs: round trip, stored and deflated entries, a changed byte is caught', () => {
    const entries = [{ name: 'a.txt', data: new TextEncoder().encode('hello '.repeat(100)) }, { name: 'd/b.bin', data: randomBytes(300), mode: 0o755 }];
    const z = writeZip(entries);
    const back = readZip(z);
    assert.deepEqual(back.map((e) => [e.name, e.method, e.mode]), [['a.txt', 8, 0o644], ['d/b.bin', 0, 0o755]]);
    assert.deepEqual(Buffer.from(back[1].data), Buffer.from(entries[1].data));
    const broken = z.slice();
    broken[40] ^= 0xff; // inside a.txt's deflated data
    assert.throws(() => readZip(broken));
    assert.throws(() => writeZip([{ name: '../x', data: new Uint8Array(1) }]), /bad entry name/);
  });
});

describe('CloudFront events in the documented shape, straight into index.handler', () => {
  it('the Developer Guide\'s viewer-request example (GET /) comes back as it was', async () => {
    const event = {
      Records: [{ cf: {
        config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==' },
        request: { clientIp: '203.0.113.178', headers: { host: [{ key: 'Host', value: 'd111111abcdef8.cloudfront.net' }], 'user-agent': [{ key: 'User-Agent', value: 'curl/7.66.0' }], accept: [{ key: 'accept', value: '*/*' }] }, method: 'GET', querystring: '', uri: '/' },
      } }],
    };
    const copy = structuredClone(event.Records[0].cf.request);
    assert.deepEqual(await handler(event, F.lambdaContext()), copy);
  });

  it('origin-request on the cacheable behaviour: the prefix goes, so do edgerec\'s cookies and headers; the rest stays', async () => {
    const event = F.cfEvent({ eventType: 'origin-request', uri: '/_edgerec/origin/graphql', querystring: 'query=%7Bx%7D&variables=%7B%7D',
      headers: { cookie: ['PHPSESSID=abc; er_uid=AAAAAAAAAAAAAAAAAAAAAA', 'er_p=zzz; theme=dark'], 'x-edgerec-id': 'app-install-123', 'x-edgerec-session': 's-1',
        'x-edgerec-profile': 'sealed', 'x-edgerec-key': 'k1.AAAAAAAAAAAAAAAAAAAAAA.' + '0'.repeat(64), store: 'default' } });
    const origin = structuredClone(event.Records[0].cf.request.origin);
    const r = await handler(event, F.lambdaContext(30000));
    assert.equal(r.uri, '/graphql');
    assert.equal(r.querystring, 'query=%7Bx%7D&variables=%7B%7D');
    assert.deepEqual(r.headers.cookie, [{ key: 'Cookie', value: 'PHPSESSID=abc; theme=dark' }]);
    for (const h of ['x-edgerec-id', 'x-edgerec-session', 'x-edgerec-profile', 'x-edgerec-key']) assert.equal(r.headers[h], undefined, h); // the key was passed before
    assert.deepEqual(r.headers.store, [{ key: 'Store', value: 'default' }]);
    assert.deepEqual(r.origin, origin);
  });

  it('response events, and anything that is not an event, are handed back without a throw', async () => {
    const resp = { status: '200', statusDescription: 'OK', headers: { 'content-type': [{ key: 'Content-Type', value: 'text/html' }] } };
    const ev = F.cfEvent({ eventType: 'origin-response', uri: '/graphql' });
    ev.Records[0].cf.response = resp;
    assert.deepEqual(await handler(ev, F.lambdaContext()), resp);
    for (const junk of [undefined, null, {}, { Records: [] }, { Records: [{ cf: {} }] }, { Records: [{ cf: { request: { uri: 5 } } }] }]) {
      await handler(junk, F.lambdaContext()); // must not throw
    }
  });

  it('a GraphQL GET with an explicit sort, a HEAD, a query with no products: the request, untouched but for edgerec cookies', async () => {
    const uid = await categoryUid('gear');
    for (const [spec, method] of [[F.listing(uid, { sort: { price: 'ASC' }, n: F.nonce() }), 'GET'], [F.listing(uid, { n: F.nonce() }), 'HEAD'], [F.get(F.STORE_CONFIG, 'getStoreConfigData'), 'GET']]) {
      const event = F.specEvent(spec, { method, headers: { cookie: 'er_uid=AAAAAAAAAAAAAAAAAAAAAA; keep=1', 'accept-encoding': 'gzip' } });
      const expected = structuredClone(event.Records[0].cf.request);
      expected.headers.cookie = [{ key: 'Cookie', value: 'keep=1' }];
      const before = emu.originHits.length;
      assert.deepEqual(await handler(event, F.lambdaContext()), expected);
      assert.equal(emu.originHits.length, before); // decided from the request alone: nothing fetched
    }
  });

  it('an origin of https://{distribution}/… is the distribution\'s own domain (cf.config.distributionDomainName)', async () => {
    const b = build('distribution.zip', ['--origin', 'http://{distribution}/_edgerec/origin', '--bundle', F.BUNDLE, '--ssm-prefix', '/edgerec-test', '--forward-headers', FORWARD.join(',')]);
    assert.equal(b.code, 0, b.stderr);
    const { m } = await unpackAndImport(b.out);
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const before = emu.log.length;
    const r = await m.handler(F.specEvent(spec, { distribution: new URL(emu.url).host, headers: { 'accept-encoding': 'gzip' } }), F.lambdaContext());
    assert.equal(r.headers['x-edgerec'][0].value, 'reranked; model=lambda-1');
    assert.deepEqual(emu.log.slice(before).map((l) => l.behaviour), ['internal']); // fetched through the emulated distribution
  });

  it('a body over 40 KB (inputTruncated) steps aside with the body object as it came (CloudFront forwards the whole body)', async () => {
    const uid = await categoryUid('gear');
    const spec = F.post(F.GET_CATEGORIES, 'GetCategories', { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 12, pad: 'x'.repeat(50_000) });
    const event = F.specEvent(spec);
    assert.equal(event.Records[0].cf.request.body.inputTruncated, true);
    const body = structuredClone(event.Records[0].cf.request.body);
    const r = await handler(event, F.lambdaContext());
    assert.equal(r.uri, '/graphql');
    assert.deepEqual(r.body, body);
  });
});

describe('/graphql through CloudFront (the emulator): listings re-ranked, everything else untouched', () => {
  it('a category listing: re-ranked for the shopper, private, compressed, the origin\'s bytes outside the items, an impression logged', async () => {
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const shopper = new F.Browser();
    const n0 = sunk.length;
    const edge = await send(spec, { browser: shopper });
    const origin = await direct(spec);
    assert.equal(edge.status, 200);
    assert.equal(edge.edgerec, 'reranked; model=lambda-1');
    assert.equal(edge.headers.get('cache-control'), 'private');
    assert.equal(edge.headers.get('content-encoding'), 'br');
    assert.match(edge.headers.get('vary'), /Accept-Encoding/);
    assert.match(edge.headers.get('server-timing'), /^edgerec;dur=[0-9.]+;desc="rerank"$/);
    assert.equal(edge.headers.get('content-type'), origin.headers.get('content-type'));
    assert.equal(edge.headers.get('x-magento-cache-id'), origin.headers.get('x-magento-cache-id'));
    for (const h of ['x-cache', 'age', 'via', 'etag']) assert.equal(edge.headers.get(h), null, h);
    assert.equal(F.sameOutsideItems(edge.text, origin.text), null);
    assert.notDeepEqual(F.skusOf(edge.text), F.skusOf(origin.text)); // the model re-orders Luma's "position"
    assert.deepEqual(edge.setCookies.map((c) => c.split('=')[0]).sort(), ['er_p', 'er_sid', 'er_uid']);
    for (const c of edge.setCookies) assert.match(c, /; Secure; HttpOnly; SameSite=Lax$/);
    const [imp] = sunkSince(n0);
    assert.equal(sunkSince(n0).length, 1);
    assert.equal(imp.type, 'impression');
    assert.deepEqual(imp.items, F.skusOf(edge.text));
    assert.equal(imp.user, await uidHash(shopper)); // HMAC with the id secret read from Parameter Store
    assert.equal(imp.model, 'lambda-1');
    assert.match(imp.session, /^[A-Za-z0-9_-]{22}$/);
    assert.ok(imp.units > 0);
    const gen = emu.log.filter((l) => l.outcome === 'generated').pop();
    assert.ok(gen.size <= 40_000, `${gen.size}`);
  });

  it('Magento answers a listing once: every shopper\'s copy comes through CloudFront\'s cache (the internal behaviour)', async () => {
    const spec = F.listing(await categoryUid('women/tops'), { n: F.nonce() });
    await clearOriginLog();
    const orders = [];
    for (let i = 0; i < 4; i++) {
      const r = await send(spec, { browser: new F.Browser() });
      assert.equal(r.edgerec, 'reranked; model=lambda-1');
      orders.push(F.skusOf(r.text).join());
    }
    const hits = viaEdge(await originLog());
    assert.equal(hits.length, 1);
    assert.equal(new URL(hits[0].url).pathname, '/graphql'); // the prefix was removed at origin-request
    assert.equal(hits[0].method, 'GET');
    assert.equal(Object.keys(hits[0].headers).some((h) => h === 'cookie' || h.startsWith('x-edgerec')), false);
  });

  it('without compression a 32-item listing fits 40 KB; a 200-item one does not and steps aside untouched — with gzip it fits', async () => {
    const small = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const plain = await send(small, { browser: new F.Browser(), encoding: 'identity' });
    assert.equal(plain.edgerec, 'reranked; model=lambda-1');
    assert.equal(plain.headers.get('content-encoding'), null);

    const big = F.listing('Mg==', { pageSize: 200, n: F.nonce() }); // Default Category: every product
    const origin = await direct(big);
    assert.ok(origin.text.length > 45_000, `${origin.text.length}`);
    const shopper = new F.Browser();
    const n0 = sunk.length;
    const stepped = await send(big, { browser: shopper, encoding: 'identity' });
    assert.equal(stepped.status, 200);
    assert.equal(stepped.edgerec, null);
    assert.equal(stepped.text, origin.text);
    assert.deepEqual(stepped.setCookies, []);
    assert.equal(sunk.length, n0); // nothing logged for what the shopper did not see
    const gz = await send(big, { browser: shopper, encoding: 'gzip' });
    assert.equal(gz.edgerec, 'reranked; model=lambda-1');
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(F.sameOutsideItems(gz.text, origin.text), null);
  });

  it('a shopper-chosen sort is respected: the origin\'s answer as it is, nothing fetched by the function', async () => {
    const spec = F.listing(await categoryUid('gear'), { sort: { price: 'ASC' }, n: F.nonce() });
    const before = emu.log.length;
    const r = await send(spec, { browser: new F.Browser() });
    assert.equal(r.text, (await direct(spec)).text);
    assert.equal(r.edgerec, null);
    assert.deepEqual(r.setCookies, []);
    assert.deepEqual(emu.log.slice(before).map((l) => `${l.behaviour}:${l.outcome}`), ['graphql:request']);
  });

  it('a sort through a renamed variable, a fragment or a chosen operation is respected too; a commented listing is still re-ranked', async () => {
    const uid = await categoryUid('gear');
    const f = { category_uid: { eq: uid } };
    const sorted = [
      F.get('query Cat($s: ProductAttributeSortInput, $f: ProductAttributeFilterInput) { products(pageSize: 12, filter: $f, sort: $s) { items { sku } } }',
        'Cat', { s: { price: 'ASC' }, f, n: F.nonce() }),
      F.post('query Q($dir: SortEnum, $f: ProductAttributeFilterInput) { ...L } fragment L on Query { products(pageSize: 12, filter: $f, sort: {price: $dir}) { items { sku } } }',
        'Q', { dir: 'ASC', f, n: F.nonce() }),
      F.post(`query Other { storeConfig { store_code } }
        query Sorted($by: ProductAttributeSortInput, $f: ProductAttributeFilterInput) { products(pageSize: 12, filter: $f, sort: $by) { items { sku } } }`,
      'Sorted', { by: { price: 'ASC' }, f, n: F.nonce() }),
    ];
    const shopper = new F.Browser();
    for (const spec of sorted) {
      const before = emu.log.length;
      const r = await send(spec, { browser: shopper });
      assert.equal(r.edgerec, null, spec.path);
      assert.equal(r.text, (await direct(spec)).text);
      assert.deepEqual(emu.log.slice(before).map((l) => `${l.behaviour}:${l.outcome}`), ['graphql:request']);
    }
    const commented = F.get(`# mutation { placeOrder } sort: {price: ASC}
      query Cat($f: ProductAttributeFilterInput, $label: String = "sort: {price: ASC}") { products(pageSize: 24, filter: $f) { items { sku name } } }`,
    'Cat', { f, n: F.nonce() });
    const c = await send(commented, { browser: shopper });
    assert.equal(c.edgerec, 'reranked; model=lambda-1');
  });

  it('product pages: the origin\'s bytes with a view event; the profile cookie learns, opens only with the key, and re-orders the next listing', async () => {
    const gear = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const shopper = new F.Browser();
    const before = F.skusOf((await send(gear, { browser: shopper })).text);
    const bags = new Set(F.skusOf((await direct(F.get(`{ products(filter: { category_uid: { eq: "${await categoryUid('gear/bags')}" } }, pageSize: 100) { items { sku } } }`))).text));
    const items = JSON.parse((await direct(gear)).text).data.products.items.filter((it) => bags.has(it.sku)).slice(-4);
    assert.equal(items.length, 4);
    const n0 = sunk.length;
    for (const it of items) {
      const r = await send(F.productPage(it.url_key), { browser: shopper });
      assert.equal(r.edgerec, 'observed; events=view');
      assert.equal(r.headers.get('cache-control'), 'private');
      assert.equal(r.text, (await direct(F.productPage(it.url_key))).text);
      assert.ok(r.setCookies.some((c) => c.startsWith('er_p=')));
    }
    assert.deepEqual(sunkSince(n0).map((e) => [e.type, e.item]), items.map((it) => ['view', it.sku]));
    // the cookie: AES-GCM under the cookie key from Parameter Store, bound to the shopper
    const sealed = shopper.jar.get('er_p');
    const user = await uidHash(shopper);
    const state = decodeState(await openProfile({ EDGEREC_COOKIE_KEY: COOKIE_KEY }, user, sealed));
    const profile = engine.profileJson(state.profile); // items are kept as hashed keys
    assert.equal(profile.items.filter((i) => i.types.includes('view')).length, 4);
    for (const it of items) {
      assert.equal(Buffer.from(sealed, 'base64url').includes(it.sku), false, 'a sku in clear in the cookie');
      assert.equal(sealed.includes(it.sku), false);
    }
    assert.equal(await openProfile({ EDGEREC_COOKIE_KEY: randomBytes(32).toString('base64') }, user, sealed), null); // another key
    assert.equal(await openProfile({ EDGEREC_COOKIE_KEY: COOKIE_KEY }, '0'.repeat(64), sealed), null); // another shopper
    const flipped = Buffer.from(sealed, 'base64url'); flipped[20] ^= 1;
    assert.equal(await openProfile({ EDGEREC_COOKIE_KEY: COOKIE_KEY }, user, flipped.toString('base64url')), null);
    // and it is what re-orders this shopper's next listing: bags move up
    const after = F.skusOf((await send(gear, { browser: shopper })).text);
    const mean = (order) => order.map((s, i) => (bags.has(s) ? i : null)).filter((i) => i !== null).reduce((a, b, _, all) => a + b / all.length, 0);
    assert.ok(mean(after) < mean(before), `bags mean rank ${mean(before)} → ${mean(after)}`);
    assert.deepEqual(F.skusOf((await send(gear, { browser: new F.Browser() })).text), before); // not for a newcomer
  });

  it('other operations pass through: storeConfig as it is; mutations reach Magento once, untouched, and log cart events', async () => {
    const cfg = F.get(F.STORE_CONFIG, 'getStoreConfigData');
    const r = await send(cfg, { browser: new F.Browser() });
    assert.equal(r.text, (await direct(cfg)).text);
    assert.equal(r.edgerec, null);
    const shopper = new F.Browser();
    await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: shopper }); // a known shopper
    await clearOriginLog();
    const n0 = sunk.length;
    const cart = await send(F.post(F.CREATE_CART, 'createCart', {}), { browser: shopper });
    assert.equal(cart.status, 200);
    assert.equal(cart.edgerec, null);
    const cartId = JSON.parse(cart.text).data.cartId;
    assert.match(cartId, /^[A-Za-z0-9]{32}$/);
    const add = F.post(F.ADD_TO_CART, 'AddProductToCart', { cartId, product: { sku: '24-MB01', quantity: 1 } });
    const added = await send(add, { browser: shopper });
    assert.equal(JSON.parse(added.text).data.addProductsToCart.cart.total_quantity, 1);
    assert.deepEqual(added.setCookies, []);
    const log = viaEdge(await originLog());
    assert.deepEqual(log.map((q) => q.method), ['POST', 'POST']); // once each
    assert.equal(log[1].body, add.body); // the same bytes
    assert.equal(log.some((q) => /\ber_(uid|sid|p)=/.test(q.headers.cookie ?? '')), false);
    const events = sunkSince(n0);
    assert.deepEqual(events.map((e) => [e.type, e.item]), [['cart', '24-MB01']]);
    assert.equal(events[0].user, await uidHash(shopper));
  });

  it('addProductsToWishlist reaches Magento once, untouched; a wishlist event per sku for a signed-in customer, none for a guest', async () => {
    const shopper = new F.Browser();
    await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: shopper }); // a known shopper
    const wish = F.post('mutation AddToWishlist($wid: ID!, $items: [WishlistItemInput!]!) { addProductsToWishlist(wishlistId: $wid, wishlistItems: $items) { wishlist { id items_count } user_errors { code message } } }',
      'AddToWishlist', { wid: '1', items: [{ sku: '24-MB01', quantity: 1 }, { sku: '24-MB04', quantity: 1 }] });
    await clearOriginLog();
    let n0 = sunk.length;
    const guest = await send(wish, { browser: shopper }); // Magento refuses a guest's wishlist: nothing happened
    assert.equal(guest.text, (await direct(wish)).text);
    assert.match(guest.text, /cannot perform operations on wishlist/);
    assert.deepEqual(sunkSince(n0), []);
    n0 = sunk.length;
    const signedIn = await send(wish, { browser: shopper, headers: { authorization: 'Bearer customer-token-wish-1' } });
    assert.equal(JSON.parse(signedIn.text).data.addProductsToWishlist.wishlist.items_count, 2);
    assert.equal(viaEdge(await originLog()).filter((q) => q.body === wish.body).length, 2); // once per send
    const events = sunkSince(n0);
    assert.deepEqual(events.map((e) => [e.type, e.item]), [['wishlist', '24-MB01'], ['wishlist', '24-MB04']]);
    assert.equal(events[0].user, await uidHash(shopper));
    assert.equal(events[0].signed_in, true);
  });

  it('an app\'s POSTed listing is fetched as Magento\'s cacheable GET, re-ranked, and its profile travels in x-edgerec-profile', async () => {
    const uid = await categoryUid('men/tops');
    const spec = F.post(F.GET_CATEGORIES, 'GetCategories', { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 24, n: F.nonce() });
    await clearOriginLog();
    const app = { 'x-edgerec-id': 'app-install-0001', 'x-edgerec-session': 'app-session-0001' };
    const n0 = sunk.length;
    const r = await send(spec, { headers: app });
    assert.equal(r.edgerec, 'reranked; model=lambda-1');
    assert.deepEqual(r.setCookies, []); // apps never get cookies
    const profile = r.headers.get('x-edgerec-profile');
    assert.match(profile, /^[A-Za-z0-9_-]+$/);
    assert.equal(F.sameOutsideItems(r.text, (await direct(spec)).text), null);
    const hits = viaEdge(await originLog());
    assert.deepEqual(hits.map((q) => q.method), ['GET']);
    assert.equal(hits[0].headers['x-edgerec-id'], undefined);
    const [imp] = sunkSince(n0);
    assert.equal(imp.user, await hmacId(ID_SECRET, 'uid:app-install-0001'));
    assert.equal(imp.session, 'app-session-0001');
    const again = await send(spec, { headers: { ...app, 'x-edgerec-profile': profile } });
    assert.equal(again.edgerec, 'reranked; model=lambda-1');
    assert.notEqual(again.headers.get('x-edgerec-profile'), profile);
  });

  it('fail-open: a 500, broken JSON, a 5 MB answer and a slow origin reach the shopper as the origin sent them', async () => {
    const uid = await categoryUid('gear');
    // 500 and 5 MB: the function steps aside (a non-200, over 4 MB); broken JSON: it has the origin's
    // 200 and returns those bytes with the engine's reason, as the Worker does
    for (const [fault, edgerec] of [['500', null], ['garbage', 'bypass; reason=json'], ['huge', null]]) {
      const spec = F.listing(uid, { n: F.nonce() });
      const r = await send(spec, { browser: new F.Browser(), headers: { 'x-standin-fault': fault }, encoding: 'identity' });
      const o = await direct(spec, { 'x-standin-fault': fault });
      assert.equal(r.status, o.status, fault);
      assert.equal(r.text, o.text, fault);
      assert.equal(r.edgerec, edgerec, fault);
      assert.deepEqual(r.setCookies, [], fault);
      if (edgerec) assert.equal(r.headers.get('cache-control'), o.headers.get('cache-control'));
    }
    // slow: the function gives up on its own fetch before its deadline and steps aside
    emu.lambdaTimeoutMs.viewer = 2000;
    try {
      const spec = F.listing(uid, { n: F.nonce() });
      const before = emu.log.length;
      const t0 = performance.now();
      const r = await send(spec, { browser: new F.Browser(), headers: { 'x-standin-fault': 'timeout' } });
      assert.equal(r.status, 200);
      assert.equal(r.edgerec, null);
      assert.equal(r.text, (await direct(spec)).text);
      const inv = emu.log.slice(before).find((l) => l.behaviour === 'graphql');
      assert.equal(inv.outcome, 'request');
      assert.ok(inv.ms < 2000, `${inv.ms} ms`);
      console.log(`# slow origin: the function stepped aside after ${inv.ms.toFixed(0)} ms; the shopper waited ${(performance.now() - t0).toFixed(0)} ms`);
    } finally { emu.lambdaTimeoutMs.viewer = 5000; }
    assert.equal(emu.log.filter((l) => l.outcome === 'error' || l.outcome === 'invalid').length, 0);
  });

  it('the engine\'s own limits: a trap or the work budget give the origin\'s bytes with the reason, and a metric line', async () => {
    const e = handler.runtime.engineFor(null);
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const origin = await direct(spec);
    const m0 = metrics.length;
    e.setBudget(10);
    let r;
    try { r = await send(spec, { browser: new F.Browser() }); } finally { e.setBudget(0); }
    assert.equal(r.edgerec, 'bypass; reason=budget');
    assert.equal(r.text, origin.text);
    const rerank = e.rerank;
    e.rerank = () => e.debugTrap(); // the wasm traps mid-request
    try { r = await send(spec, { browser: new F.Browser() }); } finally { e.rerank = rerank; }
    assert.equal(r.edgerec, 'bypass; reason=trap');
    assert.equal(r.text, origin.text);
    assert.deepEqual(metrics.slice(m0).map((m) => [m.metric, m.arm, m.model]), [['bypass', 'control', 'lambda-1'], ['error', 'control', 'lambda-1']]);
    assert.equal((await send(spec, { browser: new F.Browser() })).edgerec, 'reranked; model=lambda-1'); // the instance was rebuilt
  });

  it('GPC / DNT: the origin\'s answer untouched, nothing stored or logged, no edgerec cookie reaches Magento', async () => {
    const shopper = new F.Browser();
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    await send(spec, { browser: shopper });
    assert.ok(shopper.jar.has('er_p'));
    await clearOriginLog();
    const n0 = sunk.length;
    for (const signal of [{ 'sec-gpc': '1' }, { dnt: '1' }]) {
      const spec2 = F.listing(await categoryUid('gear'), { n: F.nonce() });
      const r = await send(spec2, { browser: shopper, headers: signal });
      assert.equal(r.text, (await direct(spec2)).text);
      assert.equal(r.edgerec, null);
      assert.deepEqual(r.setCookies, []);
      const pg = await send(F.productPage(JSON.parse(r.text).data.products.items[0].url_key), { browser: shopper, headers: signal });
      assert.equal(pg.edgerec, null);
    }
    assert.equal(sunk.length, n0);
    const log = viaEdge(await originLog());
    assert.ok(log.length >= 2, `${log.length} origin requests`);
    assert.equal(log.some((q) => /\ber_(uid|sid|p)=/.test(q.headers.cookie ?? '')), false);
  });

  it('a POST over 40 KB is truncated for the function: it steps aside and Magento gets the whole body', async () => {
    const uid = await categoryUid('gear');
    const spec = F.post(F.GET_CATEGORIES, 'GetCategories', { currentPage: 1, uid, filters: { category_uid: { eq: uid } }, pageSize: 12, pad: 'y'.repeat(60_000) });
    await clearOriginLog();
    const r = await send(spec, { browser: new F.Browser() });
    assert.equal(r.edgerec, null);
    assert.equal(r.text, (await direct(spec)).text);
    const [hit] = viaEdge(await originLog());
    assert.equal(hit.body, spec.body);
  });

  it('the function never took longer than it may, never returned what CloudFront would refuse', () => {
    assert.deepEqual(emu.log.filter((l) => l.outcome === 'invalid' || l.outcome === 'error'), []);
    assert.deepEqual(errors.filter((e) => /TypeError|RangeError|ReferenceError/.test(e)), []);
  });
});

describe('/edge/* (viewer-request, within 40 KB)', () => {
  const edge = (method, path, body, browser, headers = {}) =>
    send({ method, path, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body) }, { browser, headers });

  it('POST /edge/events: validated by the engine, logged with the edge fields, the profile cookie updated', async () => {
    const shopper = new F.Browser();
    const n0 = sunk.length;
    const r = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }, { type: 'cart', item: '24-MB04', qty: 1, user: 'spoofed' }], shopper);
    assert.equal(r.status, 202);
    assert.deepEqual(JSON.parse(r.text), { accepted: 2 });
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(r.setCookies.map((c) => c.split('=')[0]).sort(), ['er_p', 'er_sid', 'er_uid']);
    const events = sunkSince(n0);
    assert.deepEqual(events.map((e) => [e.type, e.item]), [['view', '24-MB01'], ['cart', '24-MB04']]);
    for (const e of events) {
      assert.equal(e.user, await uidHash(shopper));
      assert.match(e.id, /^[0-9a-f-]{36}$/);
      assert.equal(typeof e.ts, 'number');
      assert.equal(e.model, 'lambda-1');
      assert.equal(engine.checkEvent(JSON.stringify(e), { requireAll: true }), null);
    }
    const p = await edge('GET', '/edge/profile', undefined, shopper);
    const prof = JSON.parse(p.text);
    assert.equal(prof.stored, true);
    assert.equal(prof.id, await uidHash(shopper));
    assert.deepEqual(prof.cart, ['24-MB04']);
  });

  it('another site\'s page cannot act for the shopper (core/request-site.js, as the Worker): 403 on the shopper routes, nothing logged', async () => {
    const shopper = new F.Browser();
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' };
    const n0 = sunk.length;
    for (const [method, path, body] of [['POST', '/edge/events', [{ type: 'view', item: '24-MB01' }]], ['POST', '/edge/feedback', { item: '24-MB01', thumbs: 'up' }],
      ['GET', '/edge/recommend', undefined], ['DELETE', '/edge/profile', undefined]]) {
      const r = await edge(method, path, body, shopper, evil);
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, /cross-site request refused.*evil\.example/);
      assert.deepEqual(r.setCookies, []);
    }
    const olderBrowser = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }], shopper, { origin: 'https://evil.example' });
    assert.equal(olderBrowser.status, 403); // no Sec-Fetch-Site, a foreign Origin
    assert.equal(sunkSince(n0).length, 0);
    const same = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }], shopper, { 'sec-fetch-site': 'same-origin' });
    assert.equal(same.status, 202);
    const app = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB04' }], shopper); // neither header: an app, curl
    assert.equal(app.status, 202);
    assert.equal(sunkSince(n0).length, 2);
    const listing = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const n1 = sunk.length;
    const viaEvil = await send(listing, { browser: shopper, headers: evil });
    assert.equal(viaEvil.status, 200);
    assert.equal(viaEvil.edgerec, null); // the origin's answer, not re-ranked
    assert.deepEqual(F.skusOf(viaEvil.text), F.skusOf((await direct(listing)).text));
    assert.equal(sunkSince(n1).length, 0); // no impression recorded for the shopper
  });

  it('GET /edge/recs.js: the storefront script from the package, as the Worker serves it: compressed for the viewer, ETag, 304', async () => {
    const source = readFileSync(new URL('../../worker-shim/browser/recs.js', import.meta.url), 'utf8');
    const r = await edge('GET', '/edge/recs.js', undefined, null);
    assert.equal(r.status, 200);
    assert.equal(r.text, source);
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(r.headers.get('content-encoding'), 'br');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('cache-control'), /^public, max-age=\d+$/);
    assert.deepEqual(r.setCookies, []);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const plain = await send({ method: 'GET', path: '/edge/recs.js', headers: {} }, { encoding: 'identity' });
    assert.equal(plain.status, 200); // under the viewer trigger's 40 KB uncompressed too
    assert.equal(plain.text, source);
    assert.equal(plain.headers.get('etag'), etag); // the Worker's too: the same core/storefront-script.js
    const again = await send({ method: 'GET', path: '/edge/recs.js', headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal((await edge('POST', '/edge/recs.js', '{}', null)).status, 405);
  });

  it('POST /edge/feedback: a feedback event (thumbs or a rating), checked as the Worker checks it', async () => {
    const shopper = new F.Browser();
    const n0 = sunk.length;
    const r = await edge('POST', '/edge/feedback', { item: '24-MB01', thumbs: 'down', unit: 'most-viewed', comment: 'not stored' }, shopper);
    assert.equal(r.status, 202);
    const [ev] = sunkSince(n0);
    assert.deepEqual([ev.type, ev.item, ev.rating, ev.unit, ev.comment], ['feedback', '24-MB01', 1, 'most-viewed', undefined]);
    assert.equal((await edge('POST', '/edge/feedback', { item: '24-MB01', rating: 9 }, shopper)).status, 400);
    assert.equal((await edge('POST', '/edge/feedback', { thumbs: 'up' }, shopper)).status, 400);
  });

  it('POST /edge/events refuses what it should: bad events (400, named), not JSON, over 40 KB (413), wrong method (405)', async () => {
    const bad = await edge('POST', '/edge/events', [{ type: 'view', item: 'A' }, { type: 'teleport', item: 'B' }], new F.Browser());
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.text).error, /^event 1: field 'type' must be one of/);
    assert.equal((await edge('POST', '/edge/events', '{"type":', new F.Browser())).status, 400);
    const big = await edge('POST', '/edge/events', [{ type: 'view', item: 'A', pad: 'z'.repeat(45_000) }], new F.Browser());
    assert.equal(big.status, 413);
    const get = await edge('GET', '/edge/events', undefined, new F.Browser());
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await edge('GET', '/edge/nothing', undefined, new F.Browser())).status, 404);
  });

  // The catalog view in S3, as the Worker keeps it in KV (the same module writes it): synced from the
  // stand-in over the bundle's skus, into the rollout prefix the function reads.
  async function catalogToS3() {
    const { syncCatalog } = await import('../../worker-shim/cloudflare/catalog-sync.js');
    const key = (k) => `${BUCKET}/edgerec/${k}`;
    const s3kv = {
      get: async (k, opt) => {
        const o = aws.s3[key(k)];
        if (!o) return null;
        return (typeof opt === 'string' ? opt : opt?.type) === 'arrayBuffer' ? o.body.slice().buffer : new TextDecoder().decode(o.body);
      },
      put: async (k, v) => putObject(`edgerec/${k}`, typeof v === 'string' ? v : new Uint8Array(v)),
      delete: async (k) => deleteObject(`edgerec/${k}`),
      list: async () => ({ keys: [], list_complete: true }),
    };
    const r = await syncCatalog({ EDGEREC: s3kv, ORIGIN_URL: standin.url, CATALOG_STORES: 'default:USD', CATALOG_SYNC_BATCHES: '50' }, Date.now(), { engine });
    assert.equal(r.ok, true, JSON.stringify(r.errors));
    return JSON.parse(new TextDecoder().decode(aws.s3[key('catalog:default:USD')].body));
  }

  it('GET /edge/recommend: Adobe\'s unit shape from the shared core, products from the catalog view in S3, an impression; opted out → popularity, nothing logged', async () => {
    const m = await catalogToS3();
    assert.ok(m.records > 100);
    const shopper = new F.Browser();
    await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }, { type: 'view', item: '24-MB04' }], shopper);
    const n0 = sunk.length;
    const r = await edge('GET', '/edge/recommend?unit=just-for-you&k=6', undefined, shopper);
    assert.equal(r.status, 200);
    assert.equal(r.edgerec, 'recommended; model=lambda-1');
    assert.equal(r.headers.get('cache-control'), 'private, no-store');
    const out = JSON.parse(r.text);
    assert.equal(out.totalResults, 1);
    const items = out.results[0].productsView;
    assert.equal(items.length, 6);
    for (const p of items) assert.ok(p.name && p.urlKey && p.sku, JSON.stringify(p));
    const [imp] = sunkSince(n0);
    assert.deepEqual([imp.type, imp.unit, imp.items], ['impression', 'just-for-you', items.map((i) => i.sku)]);
    const viewed = JSON.parse((await edge('GET', '/edge/recommend?page=product&sku=24-MB01&unit=viewed-viewed&k=3', undefined, shopper)).text);
    assert.ok(viewed.results[0].productsView.length <= 3);
    assert.ok(!viewed.results[0].productsView.some((p) => p.sku === '24-MB01'));
    const byPage = JSON.parse((await edge('GET', '/edge/recommend?pageType=Product&sku=24-MB01', undefined, shopper)).text);
    assert.ok(byPage.totalResults >= 1, 'the Product page\'s default units');
    assert.equal((await edge('GET', '/edge/recommend?k=0', undefined, shopper)).status, 400);
    const n1 = sunk.length;
    const anon = await edge('GET', '/edge/recommend?unit=most-viewed&k=5', undefined, shopper, { 'sec-gpc': '1' });
    assert.equal(anon.edgerec, 'bypass; reason=opt-out');
    assert.equal(JSON.parse(anon.text).results[0].productsView.length, 5);
    assert.match(anon.headers.get('cache-control'), /^public/);
    assert.equal(sunk.length, n1);
  });

  it('live popularity lists from S3 (live-lists.json, the Worker\'s lists:live): most-viewed follows them within the TTL; a bad document keeps them; removed → the bundle\'s', async () => {
    await catalogToS3();
    const settle = async () => { await sleep(350); await edge('GET', '/edge/health', undefined, null); await handler.runtime.inflight; };
    const unit = async () => JSON.parse((await edge('GET', '/edge/recommend?unit=most-viewed&k=20', undefined, new F.Browser(), { 'sec-gpc': '1' })).text)
      .results[0].productsView.map((p) => p.sku);
    const bundles = await unit();
    assert.ok(bundles.length >= 12, JSON.stringify(bundles));
    const chosen = [bundles[11], bundles[7], bundles[3]]; // the bundle's 12th, 8th and 4th, now first, second and third
    const doc = { generated_at: Math.floor(Date.now() / 1000) - 120, lists: { 'most-viewed': chosen.map((sku, i) => [sku, 90 - i * 10]) }, counts: {} };
    putObject('edgerec/live-lists.json', JSON.stringify(doc));
    await settle();
    assert.deepEqual((await unit()).slice(0, 3), chosen);
    let h = JSON.parse((await edge('GET', '/edge/health', undefined, null)).text);
    assert.equal(h.live_lists.in_force, true);
    assert.equal(h.live_lists.generated_at, doc.generated_at);
    assert.ok(h.live_lists.age_seconds >= 120 && h.live_lists.age_seconds < 200, JSON.stringify(h.live_lists));
    assert.deepEqual(h.live_lists.entries, { 'most-viewed': 3 });
    assert.equal(h.live_lists.error, null);
    // unchanged: a conditional read (304), nothing re-applied
    const calls0 = aws.calls.length;
    await settle();
    const listReads = aws.calls.slice(calls0).filter((c) => c.service === 's3' && c.input.Key === 'edgerec/live-lists.json');
    assert.ok(listReads.length >= 1 && listReads.every((c) => c.input.IfNoneMatch), JSON.stringify(listReads));
    // a document the engine refuses (a negative score), and one that is not JSON: the lists in force stay, health says why
    putObject('edgerec/live-lists.json', JSON.stringify({ generated_at: 1, lists: { 'most-viewed': [[chosen[0], -1]] } }));
    await settle();
    assert.deepEqual((await unit()).slice(0, 3), chosen);
    h = JSON.parse((await edge('GET', '/edge/health', undefined, null)).text);
    assert.match(h.live_lists.error, /most-viewed/);
    putObject('edgerec/live-lists.json', '{"generated_at": 1, "lists": ');
    await settle();
    assert.deepEqual((await unit()).slice(0, 3), chosen);
    h = JSON.parse((await edge('GET', '/edge/health', undefined, null)).text);
    assert.match(h.live_lists.error, /^live lists: not JSON/);
    // S3 failing keeps them too
    aws.fail.s3 = true;
    try { await settle(); } finally { aws.fail.s3 = false; }
    assert.deepEqual((await unit()).slice(0, 3), chosen);
    deleteObject('edgerec/live-lists.json');
    await settle();
    assert.deepEqual(await unit(), bundles);
    h = JSON.parse((await edge('GET', '/edge/health', undefined, null)).text);
    assert.equal(h.live_lists.in_force, false);
  });

  it('Adobe\'s recommendations on /graphql: the same answer as the shared core gives, with no origin request; POST for long histories; mixed documents refused', async () => {
    await catalogToS3();
    const q = `query GetRecommendations($pageType: PageType!, $currentSku: String, $userViewHistory: [ViewHistory]) {
      recommendations(pageType: $pageType, currentSku: $currentSku, userViewHistory: $userViewHistory) {
        results { unitId typeId storefrontLabel totalProducts productsView { __typename sku name urlKey queryType
          ... on SimpleProductView { price { final { amount { currency value } } } } } }
        totalResults } }`;
    const before = emu.log.length;
    const g = await send(F.get(q, 'GetRecommendations', { pageType: 'Product', currentSku: '24-MB01' }), { browser: new F.Browser() });
    assert.equal(g.status, 200);
    const body = JSON.parse(g.text);
    assert.equal(body.errors, undefined, g.text);
    assert.ok(body.data.recommendations.totalResults >= 1);
    for (const u of body.data.recommendations.results) {
      assert.ok(u.productsView.length > 0, `${u.unitId}: no products`);
      assert.ok(!u.productsView.some((p) => p.sku === '24-MB01'));
    }
    assert.deepEqual(emu.log.slice(before).map((l) => `${l.behaviour}:${l.outcome}`).filter((x) => !x.startsWith('graphql:')), []); // never the origin
    const hist = Array.from({ length: 300 }, (_, i) => ({ sku: ['24-MB01', '24-MB04', '24-WB04'][i % 3], date: new Date(1.7e12 + i * 1000).toISOString() }));
    const p = await send(F.post(q, 'GetRecommendations', { pageType: 'CMS', userViewHistory: hist }), { browser: new F.Browser() });
    assert.equal(p.status, 200);
    assert.equal(JSON.parse(p.text).errors, undefined, p.text.slice(0, 300));
    const mixed = await send(F.post('{ storeConfig { store_code } recommendations(pageType: CMS) { totalResults } }', null, {}), { browser: new F.Browser() });
    assert.match(JSON.parse(mixed.text).errors[0].message, /cannot be mixed with Magento fields/);
  });

  it('DELETE /edge/profile expires the cookies and logs an erasure for the pipeline; /edge/health shows state, never a secret', async () => {
    const shopper = new F.Browser();
    await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }], shopper);
    const user = await uidHash(shopper);
    const e0 = erasures.length;
    const d = await edge('DELETE', '/edge/profile', undefined, shopper);
    assert.deepEqual(JSON.parse(d.text), { erased: true, tombstones: 1 });
    assert.equal(d.setCookies.length, 3);
    assert.ok(d.setCookies.every((c) => /Max-Age=0/.test(c)));
    assert.deepEqual(erasures.slice(e0).map((e) => e.erase), [user]);
    const h = await edge('GET', '/edge/health', undefined, null);
    assert.equal(h.status, 200);
    const health = JSON.parse(h.text);
    assert.equal(health.ok, true);
    assert.equal(health.bundle_version, 'lambda-1');
    assert.equal(health.secrets, true);
    assert.ok(!h.text.includes(ID_SECRET) && !h.text.includes(COOKIE_KEY));
  });

  it('an app id is not enough to read or erase what is kept under it: the app\'s sealed profile is the proof (403 naming it otherwise)', async () => {
    const id = { 'x-edgerec-id': 'app-install-proof-01' };
    const ev = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB01' }], null, id);
    assert.equal(ev.status, 202, ev.text);
    const sealed = ev.headers.get('x-edgerec-profile');
    assert.ok(sealed, 'the app was given its sealed profile');
    const user = await hmacId(ID_SECRET, 'uid:app-install-proof-01');
    const e0 = erasures.length;
    for (const [what, extra] of [['nothing', {}], ['a key (not checked on Lambda@Edge)', { 'x-edgerec-key': 'k1.AAAAAAAAAAAAAAAAAAAAAA.' + '0'.repeat(64) }],
      ['a garbled profile', { 'x-edgerec-profile': sealed.slice(0, -4) + 'AAAA' }]]) {
      for (const method of ['GET', 'DELETE']) {
        const r = await edge(method, '/edge/profile', undefined, null, { ...id, ...extra });
        assert.equal(r.status, 403, `${method} with ${what}: ${r.text}`);
        assert.match(JSON.parse(r.text).error, /proof of possession required for an app id: send the app's sealed profile in x-edgerec-profile/);
      }
    }
    // another app's sealed profile does not open under this id
    const other = await edge('POST', '/edge/events', [{ type: 'view', item: '24-MB02' }], null, { 'x-edgerec-id': 'app-install-proof-02' });
    const stolen = await edge('DELETE', '/edge/profile', undefined, null, { ...id, 'x-edgerec-profile': other.headers.get('x-edgerec-profile') });
    assert.equal(stolen.status, 403);
    assert.equal(erasures.length, e0, 'nothing erased without proof');
    const read = await edge('GET', '/edge/profile', undefined, null, { ...id, 'x-edgerec-profile': sealed });
    assert.equal(read.status, 200, read.text);
    assert.equal(JSON.parse(read.text).id, user);
    const d = await edge('DELETE', '/edge/profile', undefined, null, { ...id, 'x-edgerec-profile': sealed });
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(erasures.slice(e0).map((e) => e.erase), [user]);
    const browser = await edge('GET', '/edge/profile', undefined, new F.Browser()); // no app id: the cookie is the shopper's
    assert.equal(browser.status, 200);
  });
});

describe('rollout from S3 without redeploying: manifest, arms, promotion, bad bundles', () => {
  const salt = 'test-salt-0001';
  const settle = async () => { // past the TTL, then one request makes the due refresh happen
    await sleep(350);
    await send({ method: 'GET', path: '/edge/health', headers: {}, body: null });
    await handler.runtime.inflight;
  };

  it('a canary and a holdout: each shopper\'s arm is lifecycle.js\'s assignArm, attributed in headers and events', async () => {
    putObject('edgerec/bundles/lambda-2.erb', readFileSync(F.BUNDLE_V2));
    const manifest = { active: 'lambda-1', canary: 'lambda-2', percent: 50, holdout: 20, salt, run: 'run-1' };
    putObject('edgerec/manifest.json', JSON.stringify(manifest));
    await settle();
    assert.deepEqual(handler.runtime.status().manifest, { active: 'lambda-1', canary: 'lambda-2', percent: 50, holdout: 20, run: 'run-1' });
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const origin = await direct(spec);
    const seen = { control: 0, canary: 0, holdout: 0 };
    for (let i = 0; i < 30; i++) {
      const shopper = new F.Browser();
      const n0 = sunk.length;
      const r = await send(spec, { browser: shopper });
      const who = await assignArm(manifest, await uidHash(shopper));
      seen[who.arm]++;
      const [ev] = sunkSince(n0);
      if (who.arm === 'holdout') {
        assert.equal(r.edgerec, 'observed; events=impression; arm=holdout');
        assert.equal(r.text, origin.text);
        assert.equal(ev.arm, 'holdout');
        assert.equal(ev.model, undefined);
      } else {
        assert.equal(r.edgerec, `reranked; model=${who.version}; arm=${who.arm}`);
        assert.equal(ev.model, who.version);
        assert.equal(ev.arm, who.arm);
      }
      assert.equal(ev.run, 'run-1');
    }
    assert.ok(seen.control && seen.canary && seen.holdout, JSON.stringify(seen));
  });

  it('promotion: a new manifest reaches the function within the TTL; unchanged manifests are conditional reads (304)', async () => {
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'lambda-2', holdout: 0, salt }));
    await settle();
    const r = await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: new F.Browser() });
    assert.equal(r.edgerec, 'reranked; model=lambda-2; arm=control');
    const calls0 = aws.calls.length;
    await settle();
    const reads = aws.calls.slice(calls0).filter((c) => c.service === 's3');
    assert.ok(reads.length >= 1);
    // the manifest is a conditional read; units.json and live-lists.json too once they exist (absent, S3 can only say 404 again)
    const manifestReads = reads.filter((c) => c.input.Key === 'edgerec/manifest.json');
    assert.ok(manifestReads.length > 0 && manifestReads.every((c) => c.input.IfNoneMatch), JSON.stringify(reads));
    assert.ok(reads.every((c) => c.input.Key === 'edgerec/manifest.json' || (['edgerec/units.json', 'edgerec/live-lists.json'].includes(c.input.Key) && (c.input.IfNoneMatch || !aws.s3[`${BUCKET}/${c.input.Key}`]))), JSON.stringify(reads));
    assert.equal(aws.calls.filter((c) => c.service === 's3' && c.input.Key === 'edgerec/bundles/lambda-2.erb').length, 1); // each bundle read once
  });

  it('segments from the S3 manifest (core/segments.js): paused and out-of-scope shoppers get the origin\'s bytes and events without arm or run; a bad scope is refused', async () => {
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const origin = await direct(spec);
    const noArm = (n0) => { for (const ev of sunkSince(n0)) { assert.equal(ev.arm, undefined, JSON.stringify(ev)); assert.equal(ev.run, undefined); } };
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'lambda-2', holdout: 0, salt, paused: true }));
    await settle();
    let n0 = sunk.length;
    let r = await send(spec, { browser: new F.Browser() });
    assert.equal(r.edgerec, 'bypass; reason=paused');
    assert.equal(r.text, origin.text);
    assert.ok(sunkSince(n0).length > 0, 'still logged');
    noArm(n0);
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'lambda-2', holdout: 0, salt, scope: { store: ['de'] } }));
    await settle();
    n0 = sunk.length;
    r = await send(spec, { browser: new F.Browser() }); // no store header: the default store view, outside
    assert.equal(r.edgerec, 'bypass; reason=out-of-scope');
    assert.equal(r.text, origin.text);
    noArm(n0);
    r = await send(spec, { browser: new F.Browser(), headers: { store: 'de' } });
    assert.equal(r.edgerec, 'reranked; model=lambda-2; arm=control');
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'lambda-2', holdout: 0, salt, scope: { planet: ['mars'] } }));
    await settle();
    const h = JSON.parse((await send({ method: 'GET', path: '/edge/health', headers: {}, body: null })).text);
    assert.match(h.rollout_error, /manifest: scope: unknown key "planet"/);
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'lambda-2', holdout: 0, salt }));
    await settle();
  });

  it('a bundle the engine refuses, or S3 down, keeps the last good one; no manifest → the packaged bundle, no arms', async () => {
    putObject('edgerec/bundles/broken-3.erb', randomBytes(2048));
    putObject('edgerec/manifest.json', JSON.stringify({ active: 'broken-3', holdout: 0, salt }));
    await settle();
    let r = await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: new F.Browser() });
    assert.equal(r.edgerec, 'reranked; model=lambda-2; arm=control');
    let h = JSON.parse((await send({ method: 'GET', path: '/edge/health', headers: {}, body: null })).text);
    assert.match(h.bundle_errors['broken-3'], /bundle/);
    aws.fail.s3 = true;
    try {
      await settle();
      r = await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: new F.Browser() });
      assert.equal(r.edgerec, 'reranked; model=lambda-2; arm=control');
      h = JSON.parse((await send({ method: 'GET', path: '/edge/health', headers: {}, body: null })).text);
      assert.match(h.rollout_error, /AccessDenied/);
    } finally { aws.fail.s3 = false; }
    deleteObject('edgerec/manifest.json');
    await settle();
    r = await send(F.listing(await categoryUid('gear'), { n: F.nonce() }), { browser: new F.Browser() });
    assert.equal(r.edgerec, 'reranked; model=lambda-1');
  });
});

describe('cold start, secrets and sinks (fresh instances of the same package)', () => {
  it('the init phase waits for the secrets (bounded); while Parameter Store is still slow requests step aside; then they are personalized', async () => {
    const b = build('cold.zip', ['--origin', standin.url, '--bundle', F.BUNDLE, '--ssm-prefix', '/edgerec-test', '--init-wait-ms', '300']);
    assert.equal(b.code, 0, b.stderr);
    aws.delayMs.ssm = 2200; // longer than init waits and a request waits (half its budget), shorter than the SDK call's 3 s timeout
    let m, first, ms, importMs;
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    try {
      const t = performance.now();
      ({ m } = await unpackAndImport(b.out));
      importMs = performance.now() - t;
      const t0 = performance.now();
      first = await m.handler(F.specEvent(spec, { headers: { 'accept-encoding': 'gzip' } }), F.lambdaContext(2000));
      ms = performance.now() - t0;
    } finally { aws.delayMs.ssm = 0; }
    assert.ok(importMs >= 300 && importMs < 1500, `init took ${importMs} ms`);
    assert.equal(first.uri, '/graphql'); // stepped aside
    assert.ok(ms < 1400, `${ms} ms`);
    await m.handler.runtime.initial;
    const again = await m.handler(F.specEvent(spec, { headers: { 'accept-encoding': 'gzip' } }), F.lambdaContext(5000));
    assert.equal(again.status, '200');
    assert.equal(again.headers['x-edgerec'][0].value, 'reranked; model=lambda-1');
    assert.equal(aws.calls.filter((c) => c.service === 'ssm' && c.input.WithDecryption === true).length >= 2, true);
  });

  it('without its secrets the function steps aside everywhere and /edge/health says which is missing (never a value)', async () => {
    delete aws.ssm['/edgerec-test/cookie-key'];
    let m;
    try {
      ({ m } = await unpackAndImport(pkg.out));
      await m.handler.runtime.initial;
    } finally { aws.ssm['/edgerec-test/cookie-key'] = COOKIE_KEY; }
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const r = await m.handler(F.specEvent(spec), F.lambdaContext());
    assert.equal(r.uri, '/graphql');
    const h = await m.handler(F.cfEvent({ uri: '/edge/health' }), F.lambdaContext());
    assert.equal(h.status, '503');
    assert.match(h.body, /edgerec-test\/cookie-key/);
    assert.ok(!h.body.includes(ID_SECRET));
    const ev = await m.handler(F.cfEvent({ method: 'POST', uri: '/edge/events', body: '{"type":"view","item":"A"}' }), F.lambdaContext());
    assert.equal(ev.status, '503');
  });

  it('a cookie-key rotation without downtime: PREFIX/cookie-key-previous keeps profiles sealed under the old key readable, new answers seal under the new key', async () => {
    const shopper = new F.Browser();
    const ev = await send({ method: 'POST', path: '/edge/events', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ type: 'cart', item: '24-MB04', qty: 1 }]) }, { browser: shopper });
    assert.equal(ev.status, 202, ev.text);
    const cookie = [...shopper.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const user = await uidHash(shopper);
    const NEW = randomBytes(32).toString('base64');
    const fresh = async (ssm) => {
      const saved = { ...aws.ssm };
      Object.assign(aws.ssm, ssm);
      for (const [k, v] of Object.entries(ssm)) if (v === undefined) delete aws.ssm[k];
      try { const { m } = await unpackAndImport(pkg.out); await m.handler.runtime.initial; return m; } finally { for (const k of Object.keys(aws.ssm)) delete aws.ssm[k]; Object.assign(aws.ssm, saved); }
    };
    const profileOf = async (m) => JSON.parse((await m.handler(F.cfEvent({ uri: '/edge/profile', headers: { cookie } }), F.lambdaContext())).body);
    // step 1 of the rotation: the new key is current, the old one previous
    const rotating = await fresh({ '/edgerec-test/cookie-key': NEW, '/edgerec-test/cookie-key-previous': COOKIE_KEY });
    const p = await profileOf(rotating);
    assert.equal(p.stored, true);
    assert.deepEqual(p.cart, ['24-MB04']);
    const r = await rotating.handler(F.cfEvent({ method: 'POST', uri: '/edge/events', headers: { cookie, 'content-type': 'application/json' }, body: '[{"type":"view","item":"24-MB01"}]' }), F.lambdaContext());
    assert.equal(r.status, '202', r.body);
    const resealed = (r.headers['set-cookie'] ?? []).map((h) => h.value).find((v) => v.startsWith('er_p='))?.split(';')[0].slice(5);
    assert.ok(resealed, 'the profile cookie is written again');
    assert.ok(await openProfile({ EDGEREC_COOKIE_KEY: NEW }, user, resealed), 'sealed under the new key');
    assert.equal(await openProfile({ EDGEREC_COOKIE_KEY: COOKIE_KEY }, user, resealed), null, 'not under the old one');
    // without the previous key (the rotation skipped a step) the old cookie is unreadable: a fresh profile, no error
    const abrupt = await fresh({ '/edgerec-test/cookie-key': NEW, '/edgerec-test/cookie-key-previous': undefined });
    assert.equal((await profileOf(abrupt)).stored, false);
    // a malformed previous key is a configuration error /edge/health names (never a value)
    const bad = await fresh({ '/edgerec-test/cookie-key-previous': 'not-a-key' });
    const h = await bad.handler(F.cfEvent({ uri: '/edge/health' }), F.lambdaContext());
    assert.equal(h.status, '503', h.body);
    assert.match(h.body, /EDGEREC_COOKIE_KEY_PREVIOUS/);
    assert.ok(!h.body.includes('not-a-key') && !h.body.includes(COOKIE_KEY));
  });

  it('Secrets Manager as the source, Firehose as the sink', async () => {
    aws.secrets['edgerec/test'] = JSON.stringify({ EDGEREC_ID_SECRET: ID_SECRET, EDGEREC_COOKIE_KEY: COOKIE_KEY });
    const b = build('sm.zip', ['--origin', standin.url, '--secrets-manager', 'edgerec/test', '--firehose', 'edgerec-events', '--region', 'eu-west-1', '--bundle', F.BUNDLE]);
    assert.equal(b.code, 0, b.stderr);
    const { m } = await unpackAndImport(b.out);
    const spec = F.listing(await categoryUid('gear'), { n: F.nonce() });
    const n0 = sunk.length, f0 = aws.firehose.length;
    const r = await m.handler(F.specEvent(spec, { headers: { 'accept-encoding': 'gzip' } }), F.lambdaContext());
    assert.equal(r.headers['x-edgerec'][0].value, 'reranked; model=lambda-1');
    assert.equal(sunk.length, n0); // not on stdout
    const lines = aws.firehose.slice(f0);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].stream, 'edgerec-events');
    assert.match(lines[0].data, /^\{"type":"impression".*\}\n$/);
    assert.ok(aws.calls.some((c) => c.service === 'secretsmanager' && c.region === 'eu-west-1' && c.input.SecretId === 'edgerec/test'));
  });
});

describe('the origin-request variant (--trigger origin: 30 s, 1 MB responses)', () => {
  it('re-ranks a 200-item listing uncompressed (over 40 KB, under 1 MB) with caching disabled on /graphql', async () => {
    const emu2 = new CloudFrontEmulator({ origin: standin.url, forwardHeaders: FORWARD, trigger: 'origin' });
    await emu2.listen();
    try {
      const b = build('origin-trigger.zip', ['--origin', `${emu2.url}/_edgerec/origin`, '--bundle', F.BUNDLE, '--trigger', 'origin',
        '--ssm-prefix', '/edgerec-test', '--forward-headers', FORWARD.join(',')]);
      assert.equal(b.code, 0, b.stderr);
      const { m } = await unpackAndImport(b.out);
      emu2.handler = m.handler;
      const spec = F.listing('Mg==', { pageSize: 200, n: F.nonce() });
      const r = await send(spec, { browser: new F.Browser(), encoding: 'identity', base: emu2.url });
      assert.equal(r.edgerec, 'reranked; model=lambda-1');
      assert.equal(r.headers.get('content-encoding'), null);
      assert.equal(F.sameOutsideItems(r.text, (await direct(spec)).text), null);
      const gen = emu2.log.find((l) => l.outcome === 'generated');
      assert.equal(gen.event, 'origin-request');
      assert.ok(gen.size > 40_000 && gen.size < 1_000_000, `${gen.size}`);
    } finally { await emu2.close(); }
  });
});

describe('cloudfront.mjs helpers', () => {
  it('toHeaders joins repeated Cookie entries; stepAside leaves a request without edgerec cookies as it was', () => {
    const h = toHeaders({ cookie: [{ key: 'Cookie', value: 'a=1' }, { key: 'Cookie', value: 'b=2' }], accept: [{ key: 'Accept', value: '*/*' }] });
    assert.equal(h.get('cookie'), 'a=1; b=2');
    const req = F.cfEvent({ headers: { cookie: ['a=1', 'b=2'] } }).Records[0].cf.request;
    const copy = structuredClone(req);
    assert.deepEqual(stepAside(req), copy);
  });

  it('generate: compresses what the viewer accepts, falls back to text, refuses what does not fit', () => {
    const body = new TextEncoder().encode(JSON.stringify({ data: { products: { items: Array.from({ length: 1000 }, (_, i) => ({ sku: `S-${i}`, name: 'x'.repeat(50) })) } } }));
    const plain = generate({ status: 200, headers: [['content-type', 'application/json'], ['x-cache', 'Hit'], ['via', 'x']], body, limit: 1_000_000 });
    assert.equal(plain.response.bodyEncoding, 'text');
    assert.equal(plain.response.headers['x-cache'], undefined);
    assert.equal(plain.response.headers.via, undefined);
    assert.ok(generate({ status: 200, headers: [], body, limit: 40_000 }).tooLarge);
    const gz = generate({ status: 200, headers: [], body, acceptEncoding: 'gzip;q=1, br;q=0', limit: 40_000 });
    assert.equal(gz.response.headers['content-encoding'][0].value, 'gzip');
    assert.deepEqual(gunzipSync(Buffer.from(gz.response.body, 'base64')), Buffer.from(body));
  });
});
