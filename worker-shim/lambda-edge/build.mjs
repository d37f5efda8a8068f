#!/usr/bin/env node
// build.mjs — the Lambda@Edge package: dist/lambda-edge.zip.
//
//   node worker-shim/lambda-edge/build.mjs --origin URL [--bundle FILE] [--trigger viewer|origin]
//        [--out FILE] [--region R] [--ssm-prefix /edgerec | --secrets-manager SECRET_ID]
//        [--rollout s3://BUCKET/PREFIX/] [--rollout-ttl SECONDS] [--consent-cookie NAME]
//        [--firehose STREAM] [--forward-headers h1,h2,…] [--internal-prefix PATH] [--budget-ms MS]
//        [--max-bytes N] [--init-wait-ms MS] [--catalog-stores default:USD,…]
//
// --origin    where the handler fetches listings: the URL prefix of a CACHEABLE CloudFront
//             behaviour in front of Magento, e.g. https://shop.example.com/_edgerec/origin (the
//             request path /graphql?… is appended).  Its path is the internal prefix the same
//             function removes at that behaviour's origin-request trigger.  `{distribution}` as the
//             host stands for the distribution's own domain (cf.config.distributionDomainName).
// --bundle    a bundle (.erb) shipped in the package: served until S3 has a manifest, and kept
//             when S3 cannot be read.
// --trigger   the association the package is for: viewer (1 MB package limit; the default) or
//             origin (50 MB).  The build fails when the zip is over the limit (--max-bytes sets a
//             lower one: tests, or a margin of your own).
// --init-wait-ms  how long the init phase waits for the secrets and the S3 reads (default 2500;
//             requests step aside while they are still under way).
// Secrets never go into the package: the configuration names where they are read at cold start
// (Parameter Store SecureStrings PREFIX/id-secret and PREFIX/cookie-key by default, and the optional
// PREFIX/cookie-key-previous during a cookie-key rotation; or one Secrets
// Manager secret).  Everything else here is non-secret and baked into config.json.
//
// The package: index.mjs (handler `index.handler`), package.json ({"type": "module"}), config.json,
// wasm/edgerec.wasm, bundle.erb (optional), worker-shim/lambda-edge/{main,handler,cloudfront,runtime,aws}.mjs,
// worker-shim/browser/recs.js (the storefront script the handler serves at GET /edge/recs.js),
// the platform-neutral modules of worker-shim/core/ they import (found by following their imports:
// engine, body, graphql, identity, state, arms), and graphql-js bundled by esbuild into
// node_modules/graphql/index.mjs.  The AWS SDK is not in it
// (the Node.js runtime provides it).  The zip is written by zip.mjs (Node's zlib): no zip tool needed.
// Prints one JSON line: {"zip", "bytes", "limit", "trigger", "files", "bundle"}.  Exit 0 ok, 1 failed
// (too large, missing input, invalid bundle), 2 usage.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../core/engine.js';
import { LIMITS } from './cloudfront.mjs';
import { writeZip } from './zip.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWN = ['main.mjs', 'handler.mjs', 'cloudfront.mjs', 'runtime.mjs', 'aws.mjs'];
const USAGE = `usage: build.mjs --origin URL [--bundle FILE] [--trigger viewer|origin] [--out FILE] [--region R]
  [--ssm-prefix /edgerec | --secrets-manager SECRET_ID] [--rollout s3://BUCKET/PREFIX/] [--rollout-ttl SECONDS]
  [--consent-cookie NAME] [--firehose STREAM] [--forward-headers h1,h2] [--internal-prefix PATH] [--budget-ms MS]
  [--max-bytes N] [--init-wait-ms MS] [--catalog-stores STORE:CUR,…]`;

function usage(msg) { console.error(`build.mjs: ${msg}\n${USAGE}`); process.exit(2); }
function fail(msg) { console.error(`build.mjs: ${msg}`); process.exit(1); }

function parseArgs(argv) {
  const o = { trigger: 'viewer', out: join(ROOT, 'dist/lambda-edge.zip'), region: 'us-east-1', ssmPrefix: '/edgerec', rolloutTtl: 60 };
  const names = {
    '--origin': 'origin', '--bundle': 'bundle', '--trigger': 'trigger', '--out': 'out', '--region': 'region',
    '--ssm-prefix': 'ssmPrefix', '--secrets-manager': 'secretsManager', '--rollout': 'rollout', '--rollout-ttl': 'rolloutTtl',
    '--consent-cookie': 'consentCookie', '--firehose': 'firehose', '--forward-headers': 'forwardHeaders',
    '--internal-prefix': 'internalPrefix', '--budget-ms': 'budgetMs', '--max-bytes': 'maxBytes', '--init-wait-ms': 'initWaitMs',
    '--catalog-stores': 'catalogStores',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    const key = names[a];
    if (!key) usage(`unknown argument ${a}`);
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    o[key] = argv[++i];
  }
  if (!o.origin) usage('--origin is required (the cacheable behaviour listings are fetched through)');
  if (o.trigger !== 'viewer' && o.trigger !== 'origin') usage('--trigger must be viewer or origin');
  if (o.maxBytes !== undefined && !(Number(o.maxBytes) > 0)) usage('--max-bytes must be a number of bytes > 0');
  return o;
}

export function makeConfig(o) {
  let url;
  try { url = new URL(o.origin.replace('{distribution}', 'distribution.invalid')); } catch { usage(`--origin ${o.origin} is not a URL`); }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') usage('--origin must be http(s)');
  if (url.search || url.hash) usage('--origin takes no query or fragment');
  const path = url.pathname.replace(/\/+$/, '');
  const internalPrefix = o.internalPrefix ?? (path || null);
  if (internalPrefix !== null && !/^\/[A-Za-z0-9._~/-]+$/.test(internalPrefix)) usage('--internal-prefix must be a path like /_edgerec/origin');
  if (internalPrefix === '/graphql' || internalPrefix === '/edge') usage('--internal-prefix must not be /graphql or /edge');
  const config = {
    version: 1,
    trigger: o.trigger,
    origin: o.origin.replace(/\/+$/, ''),
    internalPrefix,
    secrets: o.secretsManager
      ? { source: 'secretsmanager', region: o.region, secretId: o.secretsManager }
      : { source: 'ssm', region: o.region, idSecret: `${o.ssmPrefix.replace(/\/+$/, '')}/id-secret`, cookieKey: `${o.ssmPrefix.replace(/\/+$/, '')}/cookie-key`,
        cookieKeyPrevious: `${o.ssmPrefix.replace(/\/+$/, '')}/cookie-key-previous` },
    rollout: null,
    bundle: o.bundle ? 'bundle.erb' : null,
    consentCookie: o.consentCookie ?? null,
    events: o.firehose ? { sink: 'firehose', stream: o.firehose, region: o.region } : { sink: 'cloudwatch' },
  };
  if (o.rollout) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?(.*)$/.exec(o.rollout);
    if (!m) usage('--rollout must be s3://BUCKET/PREFIX/');
    const prefix = m[2] && !m[2].endsWith('/') ? `${m[2]}/` : m[2];
    const ttl = Number(o.rolloutTtl);
    if (!(ttl > 0)) usage('--rollout-ttl must be a number of seconds > 0');
    config.rollout = { bucket: m[1], prefix, region: o.region, ttlSeconds: ttl };
  }
  if (o.catalogStores) { // "default:USD,de:EUR": the store views whose catalog view is in S3; the first is the default
    const pairs = o.catalogStores.split(',').map((x) => x.trim()).filter(Boolean).map((x) => /^([A-Za-z][A-Za-z0-9_]{0,63}):([A-Z]{3})$/.exec(x));
    if (!pairs.length || pairs.some((m) => !m)) usage('--catalog-stores must be STORE:CUR[,STORE:CUR…] (e.g. default:USD)');
    config.catalogStores = pairs.map((m) => ({ store: m[1], currency: m[2] }));
  }
  if (o.forwardHeaders) config.forwardHeaders = o.forwardHeaders.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (o.initWaitMs !== undefined) {
    const w = Number(o.initWaitMs);
    if (!(w >= 0 && w <= 9000)) usage('--init-wait-ms must be 0..9000 (the init phase has 10 s)');
    config.initWaitMs = w;
  }
  if (o.budgetMs) {
    const b = Number(o.budgetMs);
    if (!(b > 0)) usage('--budget-ms must be > 0');
    config.budgetMs = b;
  }
  return config;
}

/** The worker-shim/core/ modules the handlers import, directly or through each other (sorted). */
export function coreModules() {
  const core = join(ROOT, 'worker-shim/core');
  const seen = new Set(), todo = OWN.map((f) => join(ROOT, 'worker-shim/lambda-edge', f));
  while (todo.length) {
    const f = todo.pop();
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/(?:from\s*|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const dep = resolve(dirname(f), m[1]);
      if (dirname(dep) !== core || seen.has(dep)) continue; // lambda-edge's own files are OWN
      seen.add(dep);
      todo.push(dep);
    }
  }
  return [...seen].map((f) => f.slice(core.length + 1)).sort();
}

/** graphql-js for the package: the npm package bundled by esbuild into one ES module (minified,
 * production mode) at node_modules/graphql/, where `import … from 'graphql'` finds it. */
async function graphqlPackage() {
  const { build } = await import('esbuild');
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules/graphql/package.json'), 'utf8')).version;
  const out = await build({
    stdin: { contents: "export * from 'graphql';", resolveDir: ROOT, loader: 'js' },
    bundle: true, format: 'esm', platform: 'node', target: 'node22', minify: true, write: false,
    define: { 'process.env.NODE_ENV': '"production"' }, legalComments: 'eof', logLevel: 'silent',
  });
  const enc = new TextEncoder();
  return [
    { name: 'node_modules/graphql/package.json', data: enc.encode(`${JSON.stringify({ name: 'graphql', version, type: 'module', main: 'index.mjs', license: 'MIT' }, null, 2)}\n`) },
    { name: 'node_modules/graphql/index.mjs', data: out.outputFiles[0].contents },
  ];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const config = makeConfig(o);
  const read = (p) => { if (!existsSync(p)) fail(`${p} is missing (run ./build.sh first)`); return new Uint8Array(readFileSync(p)); };
  const wasm = read(join(ROOT, 'wasm/edgerec.wasm'));
  const module = new WebAssembly.Module(wasm);
  let bundleInfo = null, bundle = null;
  if (o.bundle) {
    bundle = read(resolve(o.bundle));
    try { bundleInfo = new Engine(module, bundle).info(); } catch (e) { fail(`--bundle ${o.bundle}: the engine refuses it: ${e.code ?? ''} ${e.message}`); }
  }
  const enc = new TextEncoder();
  const files = [
    { name: 'index.mjs', data: enc.encode("// edgerec on Lambda@Edge: the function's handler is index.handler\nexport { handler } from './worker-shim/lambda-edge/main.mjs';\n") },
    { name: 'package.json', data: enc.encode(`${JSON.stringify({ name: 'edgerec-lambda-edge', private: true, type: 'module' }, null, 2)}\n`) },
    { name: 'config.json', data: enc.encode(`${JSON.stringify(config, null, 2)}\n`) },
    { name: 'wasm/edgerec.wasm', data: wasm },
    ...(bundle ? [{ name: 'bundle.erb', data: bundle }] : []),
    ...coreModules().map((f) => ({ name: `worker-shim/core/${f}`, data: read(join(ROOT, 'worker-shim/core', f)) })),
    ...OWN.map((f) => ({ name: `worker-shim/lambda-edge/${f}`, data: read(join(ROOT, 'worker-shim/lambda-edge', f)) })),
    { name: 'worker-shim/browser/recs.js', data: read(join(ROOT, 'worker-shim/browser/recs.js')) }, // GET /edge/recs.js
  ];
  files.push(...(await graphqlPackage()));
  const zip = writeZip(files);
  const limit = Math.min(LIMITS[o.trigger].packageBytes, o.maxBytes !== undefined ? Number(o.maxBytes) : Infinity);
  const summary = { zip: o.out, bytes: zip.length, limit, trigger: o.trigger, files: files.length, bundle: bundleInfo?.model_version ?? null };
  if (zip.length > limit) {
    rmSync(resolve(o.out), { force: true }); // no stale package left where this one was to go
    console.log(JSON.stringify({ ...summary, ok: false }));
    fail(`the package is ${zip.length} bytes, over the ${o.trigger} trigger's limit of ${limit} bytes` +
      (bundle ? ' (ship the bundle through S3 --rollout instead of --bundle, or use --trigger origin)' : ''));
  }
  mkdirSync(dirname(resolve(o.out)), { recursive: true });
  writeFileSync(resolve(o.out), zip);
  console.log(JSON.stringify({ ...summary, ok: true }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
