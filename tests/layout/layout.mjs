// layout.mjs — the folders are the architecture (docs/architecture.md); these checks keep them so.
//
//   src/engine/        exactly what the WASM reactor compiles: its sources and every header they
//                      reach (asked of the compiler, clang -M, with the reactor's own flags) are in
//                      it, and nothing in it names offline or CLI code
//   src/offline/       importers, event log, trainer, GBDT, evaluator, bundle writer, native helpers
//   src/cli/           the edgerec command and the admin client
//   worker-shim/core/  platform-neutral modules: no bindings, no Cloudflare / AWS / Node APIs
//   worker-shim/cloudflare/, lambda-edge/, dev/: platform glue that never reaches into each other
// Also: no include cycle between C modules (er_bundle ↔ er_features was one).
// Prints "layout: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);
let passed = 0, failed = 0;
function check(name, problems) {
  const list = Array.isArray(problems) ? problems : problems ? [String(problems)] : [];
  if (list.length) { failed++; console.log(`not ok - ${name}\n  # ${list.slice(0, 20).join('\n  # ')}`); }
  else { passed++; console.log(`ok - ${name}`); }
}
const ls = (dir, re) => readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
const read = (f) => readFileSync(f, 'utf8');
const quotedIncludes = (f) => [...read(f).matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => m[1]);

// ---- C -------------------------------------------------------------------------------------------
const engine = ls('src/engine', /\.[ch]$/), offline = ls('src/offline', /\.[ch]$/), cli = ls('src/cli', /\.[ch]$/);
check('every C file of src/ is in engine/, offline/ or cli/', readdirSync('src').filter((f) => !['engine', 'offline', 'cli'].includes(f)).map((f) => `src/${f}`));
check('edgerec.h, the public API for hosts, is the engine\'s', engine.includes('src/engine/edgerec.h') ? [] : ['src/engine/edgerec.h is missing']);

// What the reactor really compiles: build.sh's reactor command, its source list and -I flags.
const build = read('build.sh');
const engineSrc = /^ENGINE_SRC=\$\(echo (\S+)\)$/m.exec(build)?.[1];
check('build.sh compiles the reactor from the folder src/engine/ (ENGINE_SRC=$(echo src/engine/*.c))', engineSrc === 'src/engine/*.c' ? [] : [`ENGINE_SRC is ${engineSrc}`]);
const reactorLine = build.split('\n').find((l) => /-mexec-model=reactor/.test(l)) ?? '';
check('the reactor is compiled with -Isrc/engine alone (nothing else is reachable by an include)',
  /\$ENGINE_INC\b/.test(reactorLine) && /^ENGINE_INC="-Isrc\/engine"$/m.test(build) && !/-Isrc\/(offline|cli)|\$ALL_INC/.test(reactorLine) ? [] : [reactorLine.trim()]);
const deps = spawnSync('clang', ['--target=wasm32-wasi', '--sysroot=/usr', '-Isrc/engine', '-DER_TINY_PRINTF', '-M', ...ls('src/engine', /\.c$/), 'wasm/exports.c'], { encoding: 'utf8' });
if (deps.status !== 0) check('clang -M over the reactor\'s sources', [deps.stderr.trim()]);
else {
  const files = deps.stdout.replace(/\\\n/g, ' ').split(/\s+/).filter((w) => w && !w.endsWith(':'));
  const outside = [...new Set(files.filter((f) => !f.startsWith('/') && !f.startsWith('src/engine/') && f !== 'wasm/exports.c'))];
  check(`the reactor's sources reach only src/engine/ and system headers (clang -M: ${new Set(files).size} files)`, outside);
  const system = [...new Set(files.filter((f) => f.startsWith('/')).map((f) => basename(f)))];
  const thirdParty = system.filter((h) => /jsmn|xxh/i.test(h));
  check('the reactor\'s third-party headers are Debian\'s jsmn and xxHash, from /usr/include', thirdParty.length >= 2 && files.filter((f) => /jsmn|xxh/.test(f)).every((f) => f.startsWith('/usr/include/')) ? [] : [`third-party headers: ${thirdParty.join(', ')}`]);
}
const offlineNames = new Set([...offline, ...cli].map((f) => basename(f)));
check('no engine file includes offline or CLI code', engine.flatMap((f) => quotedIncludes(f).filter((h) => offlineNames.has(h) || h.includes('/')).map((h) => `${f} includes ${h}`)));
check('offline code includes no CLI code', offline.flatMap((f) => quotedIncludes(f).filter((h) => cli.some((c) => basename(c) === h)).map((h) => `${f} includes ${h}`)));

// The module graph: module = file name without .c/.h; y → x when y.c or y.h includes x.h.
const modules = new Map();
for (const f of [...engine, ...offline, ...cli]) {
  const m = basename(f).replace(/\.[ch]$/, '');
  if (!modules.has(m)) modules.set(m, new Set());
  for (const h of quotedIncludes(f)) { const t = h.replace(/\.h$/, ''); if (t !== m) modules.get(m).add(t); }
}
const cycles = [];
const state = new Map(); // 1 on the stack, 2 done
const visit = (m, path) => {
  state.set(m, 1);
  for (const t of modules.get(m) ?? []) {
    if (state.get(t) === 1) cycles.push([...path.slice(path.indexOf(t)), t].join(' → '));
    else if (!state.has(t) && modules.has(t)) visit(t, [...path, t]);
  }
  state.set(m, 2);
};
for (const m of modules.keys()) if (!state.has(m)) visit(m, [m]);
check(`no include cycle between the ${modules.size} C modules`, cycles);

// ---- JS ------------------------------------------------------------------------------------------
const ws = readdirSync('worker-shim');
check('every worker-shim file is in core/, cloudflare/, lambda-edge/, dev/ or browser/', ws.filter((f) => !['core', 'cloudflare', 'lambda-edge', 'dev', 'browser'].includes(f) || !statSync(join('worker-shim', f)).isDirectory()).map((f) => `worker-shim/${f}`));
const code = (f) => read(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1'); // comments out
const imports = (f) => [...code(f).matchAll(/(?:^|[^.\w])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)]
  .map((m) => m[1] ?? m[2] ?? m[3]);
const core = ls('worker-shim/core', /\.m?js$/);
const ALLOWED_PACKAGES = new Set(['graphql']); // npm packages core may use (bundled for both platforms)
check(`worker-shim/core/ (${core.length} modules) imports only itself and ${[...ALLOWED_PACKAGES].join(', ')}`, core.flatMap((f) => imports(f).filter((s) => {
  if (s.startsWith('./')) return !core.includes(join('worker-shim/core', s));
  return !ALLOWED_PACKAGES.has(s);
}).map((s) => `${f} imports ${s}`)));
// bindings and platform APIs: wrangler.toml's binding names, the Cache API, Workers / AWS / Node globals
const toml = read('wrangler.toml');
const bindings = [...toml.matchAll(/^\s*binding\s*=\s*"([A-Z_]+)"/gm)].map((m) => m[1]);
check('wrangler.toml declares the bindings the check looks for', bindings.length >= 4 ? [] : [`only ${bindings.join(', ')}`]);
const PLATFORM = [...bindings.map((b) => new RegExp(`\\benv\\.${b}\\b`)), /\bcaches\.default\b/, /\bwaitUntil\b/, /\bHTMLRewriter\b/, /\bprocess\.env\b/, /\brequire\(/, /\bBuffer\./, /@aws-sdk/, /cloudflare:/];
check('worker-shim/core/ uses no binding (env.EDGEREC, env.DB, …) and no Cloudflare, AWS or Node API', core.flatMap((f) => {
  const text = code(f);
  return PLATFORM.filter((re) => re.test(text)).map((re) => `${f}: ${re}`);
}));
const reaches = (dir, other) => ls(dir, /\.m?js$/).flatMap((f) => imports(f).filter((s) => s.startsWith('.') && resolve(dirname(f), s).startsWith(resolve(other) + '/')).map((s) => `${f} imports ${s}`));
check('cloudflare/ never imports lambda-edge/ or dev/', [...reaches('worker-shim/cloudflare', 'worker-shim/lambda-edge'), ...reaches('worker-shim/cloudflare', 'worker-shim/dev')]);
check('lambda-edge/ never imports cloudflare/ or dev/', [...reaches('worker-shim/lambda-edge', 'worker-shim/cloudflare'), ...reaches('worker-shim/lambda-edge', 'worker-shim/dev')]);
check('the storefront script worker-shim/browser/recs.js is dependency-free (imports nothing)', existsOr('worker-shim/browser/recs.js') === null ? ['it is missing'] : imports('worker-shim/browser/recs.js').map((s) => `it imports ${s}`));
check('wrangler.toml\'s entry is worker-shim/cloudflare/worker.js', /^main\s*=\s*"worker-shim\/cloudflare\/worker\.js"/m.test(toml) ? [] : ['main is elsewhere']);
// the Lambda package carries exactly the core modules its handlers import
const { coreModules } = await import('../../worker-shim/lambda-edge/build.mjs');
const lambdaCore = coreModules();
check(`the Lambda@Edge package's shared modules come from core/ (${lambdaCore.join(', ')})`,
  lambdaCore.length >= 4 && lambdaCore.every((f) => core.includes(join('worker-shim/core', f))) && !lambdaCore.includes('lifecycle.js') ? [] : [lambdaCore.join(', ')]);
// the layout the README and docs/architecture.md describe exists
const arch = existsOr('docs/architecture.md');
check('docs/architecture.md names every folder', arch === null ? ['docs/architecture.md is missing']
  : ['src/engine/', 'src/offline/', 'src/cli/', 'wasm/', 'worker-shim/core/', 'worker-shim/cloudflare/', 'worker-shim/lambda-edge/', 'worker-shim/dev/'].filter((d) => !arch.includes(d)).map((d) => `${d} is not described`));
const readme = read('README.md');
check('the README\'s Layout table names the new folders', ['src/engine/', 'src/offline/', 'src/cli/', 'worker-shim/core/', 'worker-shim/cloudflare/'].filter((d) => !readme.includes(`\`${d}\``)).map((d) => `${d} missing`));

function existsOr(f) { try { return read(f); } catch { return null; } }
console.log(`layout: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
