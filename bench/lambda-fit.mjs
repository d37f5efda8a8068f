// lambda-fit.mjs — what fits Lambda@Edge's viewer trigger (1 MB package, 128 MB memory), part of
// `./build.sh bench edge-scale` (issue 16, "Scale"; docs/lambda-edge.md, "What fits").
//
//   node bench/lambda-fit.mjs BUNDLE.erb…     (edge-scale.mjs passes its generated bundles)
//
// For each bundle: its items, its bytes, its bytes deflated as the package's zip stores them (level 9,
// worker-shim/lambda-edge/zip.mjs), the real package built with it inlined (build.mjs --trigger
// origin, whose 50 MB limit lets an oversized package be measured rather than refused: the same
// files as the viewer package, only config.json's trigger differs), and the resident memory of a
// Node process holding the engine over it after a request (the handler's state with the bundle
// fetched from S3 or packaged: the bytes plus the engine's copy in wasm memory), beside the same
// process with no bundle.  From these, at each bundle's own rates: the items a bundle inlined in
// the 1 MB package can hold, and the items 128 MB holds with the bundle fetched.
// Prints a table on stderr, then one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { ROOT } from './worker-stack.mjs';
import { LIMITS } from '../worker-shim/lambda-edge/cloudfront.mjs';

const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const OUT = `${ROOT}/build/bench/edge-scale/lambda`;
const PACKAGE_LIMIT = LIMITS.viewer.packageBytes, MEMORY_LIMIT = 128 * 1024 * 1024;
const bundles = process.argv.slice(2);
if (!bundles.length) { console.error('usage: lambda-fit.mjs BUNDLE.erb…'); process.exit(2); }
mkdirSync(OUT, { recursive: true });

/** The package built with `bundle` inlined (or none): its zip bytes. */
function packageBytes(bundle) {
  const args = [`${ROOT}/worker-shim/lambda-edge/build.mjs`, '--origin', 'https://shop.example.com/_edgerec/origin', '--trigger', 'origin',
    '--out', `${OUT}/fit.zip`, ...(bundle ? ['--bundle', bundle] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`build.mjs failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)).bytes;
}

/** Resident memory of a Node process with the engine over `bundle` (or none) after one request. */
function rssWith(bundle) {
  const load = bundle ? `e = new Engine(module, new Uint8Array(readFileSync(${JSON.stringify(bundle)}))); JSON.parse(e.recommend('{"k":12}'));` : '';
  const code = [
    "import { readFileSync } from 'node:fs';",
    `import { Engine } from ${JSON.stringify(`${ROOT}/worker-shim/core/engine.js`)};`,
    `const module = new WebAssembly.Module(readFileSync(${JSON.stringify(`${ROOT}/wasm/edgerec.wasm`)}));`,
    'let e = null;', load, 'globalThis.gc?.();',
    'console.log(JSON.stringify({ rss: process.memoryUsage().rss, wasm: e ? e._mem.buffer.byteLength : 0 }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`engine load failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const base = { package: packageBytes(null), ...rssWith(null) };
const rows = bundles.map((b) => {
  const info = JSON.parse(spawnSync(CLI, ['inspect', b], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout);
  const deflated = deflateRawSync(readFileSync(b), { level: 9 }).length;
  const pkg = packageBytes(b);
  const mem = rssWith(b);
  return {
    bundle: b, items: info.items, bytes: statSync(b).size, deflated, package: pkg, fitsViewer: pkg <= PACKAGE_LIMIT, rss: mem.rss, wasm: mem.wasm,
    // items that fit at this bundle's own rates (bytes per item vary with how many neighbours the log gives each item)
    maxItemsInline: Math.floor(((PACKAGE_LIMIT - base.package) / deflated) * info.items),
    maxItemsFetched: Math.floor(((MEMORY_LIMIT - base.rss) / Math.max(1, mem.rss - base.rss)) * info.items),
  };
});

const kb = (b) => (b / 1024).toFixed(0), mib = (b) => (b / 2 ** 20).toFixed(1);
console.error(`\nLambda@Edge viewer trigger: 1 MB package, 128 MB memory (RSS of Node ${process.version} here; the Lambda runtime adds its own)`);
console.error('| bundle | items | bytes | deflated (zip) | package with it inlined | fits 1 MB | items 1 MB holds at this rate | RSS with the engine loaded | wasm memory | items 128 MB holds (fetched) |\n|---|---:|---:|---:|---:|---|---:|---:|---:|---:|');
console.error(`| none | | | | ${kb(base.package)} KB | yes | | ${mib(base.rss)} MiB | | |`);
for (const r of rows) {
  console.error(`| ${r.bundle.split('/').pop()} | ${r.items.toLocaleString('en')} | ${mib(r.bytes)} MiB | ${kb(r.deflated)} KB | ${kb(r.package)} KB | ${r.fitsViewer ? 'yes' : 'no'} | ${r.maxItemsInline.toLocaleString('en')} | ${mib(r.rss)} MiB | ${mib(r.wasm)} MiB | ${r.maxItemsFetched.toLocaleString('en')} |`);
}
console.error(`the package limit is ${PACKAGE_LIMIT.toLocaleString('en')} bytes (build.mjs's check); "holds at this rate": the room over the bare package (over the baseline RSS) at that bundle's deflated bytes (RSS) per item`);
console.log(JSON.stringify({ base, rows, package_limit: PACKAGE_LIMIT, memory_limit: MEMORY_LIMIT }));
