// venia-buildpack.mjs — the Venia extension's intercept.js through PWA Studio's REAL build machinery:
// @magento/pwa-buildpack's BuildBus (its TestHelpers mockBuildBus, with the buildpack's own declared
// targets) runs intercept.js, and the transform requests it makes are applied to the REAL sources of
// @magento/venia-ui and @magento/peregrine (PWA Studio 14.5) with the buildpack's own
// BabelModifyJSXPlugin (Babel 7.15) and splice-source-loader — what a Venia build does to those
// files; the buildpack's ModuleTransformConfig admits them only from a trusted vendor.  Then the
// extension's lib/ is built with webpack 4.46 and Venia's Babel preset (babel-preset-peregrine) against
// React 17 and @apollo/client 3.5, Venia's versions: it must build, and leave the storefront script
// (recs.js) to a run-time import.  Short of a whole Venia build (docs/venia.md says why not here).
//
// NOT in a suite: it needs the npm registry at run time and installs PWA Studio's build tools (about
// 700 packages, --legacy-peer-deps as the buildpack's own peers conflict) into DIR/venia-buildpack.
// Run it when intercept.js or the pinned PWA Studio versions change:
//   node tests/e2e/venia-buildpack.mjs --dir build/e2e
// Prints "venia-buildpack: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// webpack 4 hashes with md4, which Node ≥ 17 offers only with OpenSSL's legacy provider
if (!process.execArgv.includes('--openssl-legacy-provider') && !/openssl-legacy-provider/.test(process.env.NODE_OPTIONS ?? '')) {
  const r = spawnSync(process.execPath, ['--openssl-legacy-provider', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = process.argv.includes('--dir') ? process.argv[process.argv.indexOf('--dir') + 1] : `${ROOT}build/e2e`;
const WORK = resolve(dir, 'venia-buildpack');
// PWA Studio 14.5 (venia-concept 14.5.1): venia-ui ~11.7.3, peregrine ~15.7.3, pwa-buildpack 11.5 with its peers,
// babel-preset-peregrine 1.3 with its peers, and Venia's React and Apollo
const SOURCES = { '@magento/venia-ui': '11.7.3', '@magento/peregrine': '15.7.3' };
const TOOLS = {
  '@magento/pwa-buildpack': '11.5.5', '@babel/core': '7.15.8', '@babel/plugin-syntax-jsx': '7.2.0', webpack: '4.46.0', 'babel-loader': '8.0.6',
  compression: '1.7.5', 'css-loader': '5.2.7', postcss: '8.3.11', 'postcss-loader': '4.3.0', 'terser-webpack-plugin': '1.2.4', 'workbox-webpack-plugin': '6.2.4',
  express: '4.16.4', react: '17.0.2', 'react-dom': '17.0.2', '@apollo/client': '~3.5.0', graphql: '~15.5.0',
  '@magento/babel-preset-peregrine': '1.3.3', '@babel/plugin-proposal-class-properties': '~7.14.5', '@babel/plugin-proposal-object-rest-spread': '~7.14.7',
  '@babel/plugin-proposal-optional-chaining': '~7.16.0', '@babel/plugin-syntax-dynamic-import': '~7.8.3', '@babel/plugin-transform-react-jsx': '~7.14.9',
  '@babel/plugin-transform-runtime': '~7.4.4', '@babel/preset-env': '~7.16.0', '@babel/runtime': '~7.15.3', 'babel-plugin-dynamic-import-node': '~2.3.3',
  'babel-plugin-graphql-tag': '~2.0.0', 'babel-plugin-react-remove-properties': '~0.3.0', 'react-refresh': '~0.8.3',
};

let pass = 0, fail = 0;
const check = (name, ok, detail = '') => { if (ok) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name} ${detail}`); } };
const npm = (args, cwd) => {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 570_000, env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')}: exit ${r.status}\n${(r.stderr || r.stdout || r.error?.message || '').slice(-2000)}`);
  return r.stdout;
};

try {
  mkdirSync(WORK, { recursive: true });
  const manifest = `${JSON.stringify({ name: 'venia-buildpack-check', version: '0.0.0', private: true, dependencies: TOOLS }, null, 1)}\n`;
  if (!existsSync(join(WORK, 'node_modules/.installed')) || readFileSync(join(WORK, 'node_modules/.installed'), 'utf8') !== manifest) {
    writeFileSync(join(WORK, 'package.json'), manifest);
    npm(['install', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund'], WORK);
    writeFileSync(join(WORK, 'node_modules/.installed'), manifest);
  }
  const src = {};
  for (const [name, version] of Object.entries(SOURCES)) { // the published sources, unpacked (not installed)
    const to = join(WORK, 'src', `${name.split('/')[1]}-${version}`);
    if (!existsSync(join(to, 'package/package.json'))) {
      mkdirSync(to, { recursive: true });
      const tgz = npm(['pack', `${name}@${version}`, '--silent', '--pack-destination', to], WORK).trim().split('\n').pop();
      const t = spawnSync('tar', ['xzf', join(to, tgz), '-C', to]);
      if (t.status !== 0) throw new Error(`tar ${tgz}: ${t.stderr}`);
    }
    src[name] = join(to, 'package');
  }
  process.chdir(WORK); // Babel resolves the plugins the JSX snippet parser names from the working directory, as in a Venia project
  const req = createRequire(join(WORK, 'package.json'));
  const buildpack = req.resolve('@magento/pwa-buildpack/package.json');
  check(`pwa-buildpack ${JSON.parse(readFileSync(buildpack, 'utf8')).version} and the sources of ${Object.entries(SOURCES).map(([n, v]) => `${n}@${v}`).join(', ')} are here`,
    Object.values(src).every((d) => readdirSync(d).includes('lib')));

  // intercept.js's require('@magento/pwa-buildpack') must find the real one: load it through that folder's resolution
  const pkgDir = `${ROOT}worker-shim/browser/venia/`;
  const interceptSource = readFileSync(`${pkgDir}intercept.js`, 'utf8');
  const Module = req('module');
  const m = new Module(`${pkgDir}intercept.js`);
  m.filename = `${pkgDir}intercept.js`;
  m.paths = [join(WORK, 'node_modules')];
  m._compile(interceptSource, m.filename);
  const intercept = m.exports;

  const { mockBuildBus } = req('@magento/pwa-buildpack/lib/TestHelpers/testTargets/testTargets');
  const bus = mockBuildBus({ context: WORK, dependencies: ['@magento/pwa-buildpack', { name: '@edgerec/venia', intercept }] });
  bus.runPhase('declare');
  bus.runPhase('intercept');
  const builtins = bus.getTargetsOf('@magento/pwa-buildpack');
  const transforms = [];
  await builtins.transformModules.promise((t) => transforms.push(t)); // each with its requestor, set by the buildpack's own interceptor
  const features = {};
  builtins.specialFeatures.call(features);
  check('the real BuildBus runs intercept.js: the esModules special feature is set for @edgerec/venia', features['@edgerec/venia']?.esModules === true, JSON.stringify(features));

  // buildpack's ModuleTransformConfig (what configureWebpack feeds these requests to) refuses an extension's
  // transforms of another package's files unless the storefront trusts its vendor: package.json
  // "pwa-studio": {"trusted-vendors": ["@edgerec"]}, read from the working directory (the storefront's root)
  const ModuleTransformConfig = req('@magento/pwa-buildpack/lib/WebpackTools/ModuleTransformConfig');
  const admit = (trusted) => {
    const at = join(WORK, trusted ? 'storefront-trusting' : 'storefront');
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'package.json'), JSON.stringify({ name: 'my-venia-storefront', version: '1.0.0', private: true,
      ...(trusted ? { 'pwa-studio': { 'trusted-vendors': ['@edgerec'] } } : {}) }));
    process.chdir(at);
    const config = new ModuleTransformConfig(null, 'my-venia-storefront');
    const refused = [];
    for (const t of transforms) { try { config.add(t); } catch (e) { refused.push(`${t.fileToTransform}: ${String(e.message).split('\n')[0]}`); } }
    return refused;
  };
  const untrusted = admit(false);
  check(`without "trusted-vendors": ["@edgerec"] the buildpack refuses the transforms of Venia's files (${untrusted.length} of ${transforms.length}: "${untrusted[0]?.replace(/^.*?: /, '').slice(0, 80)}…")`,
    untrusted.length === transforms.length && untrusted.every((r) => /not allowed to provide fileToTransform paths outside their own codebase/.test(r)), untrusted.join('; '));
  const trusted = admit(true);
  check('with it in the storefront\'s package.json every transform is admitted', transforms.length === 8 && trusted.length === 0, trusted.join('; '));

  const babel = req('@babel/core');
  const expect = {
    '@magento/venia-ui/lib/components/ProductFullDetail/productFullDetail.js': /<\/Form>\s*<EdgerecUnits pageType="Product" currentSku=\{productDetails\.sku\} \/>/,
    '@magento/venia-ui/lib/components/CartPage/cartPage.js': /<\/div>\s*<EdgerecUnits pageType="Cart" cartItems=\{cartItems\} \/>/,
    '@magento/venia-ui/lib/RootComponents/CMS/cms.js': /<\/article>\s*<EdgerecUnits pageType="CMS" \/>/,
    '@magento/peregrine/lib/talons/Adapter/useAdapter.js': /possibleTypes: withEdgerecPossibleTypes\(POSSIBLE_TYPES\),/,
  };
  for (const [file, after] of Object.entries(expect)) {
    const ts = transforms.filter((t) => t.fileToTransform === file);
    const pkg = Object.keys(SOURCES).find((p) => file.startsWith(`${p}/`));
    const real = join(src[pkg], file.slice(pkg.length + 1));
    let source = readFileSync(real, 'utf8');
    const errors = [];
    const splices = ts.filter((t) => t.type === 'source');
    if (splices.length) source = req(splices[0].transformModule).call({ query: splices.map((t) => t.options), emitError: (e) => errors.push(e.message) }, source);
    const jsx = ts.filter((t) => t.type === 'babel');
    let warnings = [];
    try {
      const out = babel.transformSync(source, { filename: real, babelrc: false, configFile: false, parserOpts: { plugins: ['jsx'] },
        plugins: jsx.length ? [[req.resolve(jsx[0].transformModule), { requestsByFile: { [real]: jsx } }]] : [] });
      warnings = out.metadata.warnings ?? [];
      source = out.code;
    } catch (e) { errors.push(e.message); }
    const imports = /from '@edgerec\/venia\/lib\/(EdgerecUnits|possibleTypes)\.js'/.test(source);
    check(`${file}: ${ts.length} transforms applied to the published source, no error, no unmatched element, the import and ${after.source.slice(0, 60)}…`,
      ts.length >= 2 && !errors.length && !warnings.length && imports && after.test(source), [...errors, ...warnings].join('; '));
  }

  // the extension's lib/ through webpack 4 and Venia's Babel preset, with Venia's React and Apollo
  const probe = join(WORK, 'probe');
  mkdirSync(probe, { recursive: true });
  writeFileSync(join(probe, 'index.js'), "import React from 'react';\nimport { EdgerecUnits } from '@edgerec/venia';\nexport default () => <EdgerecUnits pageType=\"CMS\" />;\n");
  const webpack = req('webpack');
  const pkgLib = `${ROOT}worker-shim/browser/venia`;
  const stats = await new Promise((res, rej) => webpack({
    mode: 'production', context: probe, entry: join(probe, 'index.js'), output: { path: join(probe, 'dist'), filename: 'probe.js', libraryTarget: 'commonjs2' },
    resolve: { alias: { '@edgerec/venia': pkgLib }, modules: [join(WORK, 'node_modules'), 'node_modules'] },
    resolveLoader: { modules: [join(WORK, 'node_modules')] },
    module: { rules: [{ test: /\.js$/, include: [pkgLib, probe], use: { loader: 'babel-loader', options: { babelrc: false, configFile: false, envName: 'production', presets: ['@magento/babel-preset-peregrine'] } } }] },
  }, (err, st) => (err ? rej(err) : res(st))));
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  const out = existsSync(join(probe, 'dist/probe.js')) ? readFileSync(join(probe, 'dist/probe.js'), 'utf8') : '';
  check(`lib/ builds with webpack ${req('webpack/package.json').version}, babel-preset-peregrine, React ${req('react/package.json').version} and @apollo/client ${req('@apollo/client/package.json').version} (${info.errors.length} errors, ${info.warnings.length} warnings, ${(out.length / 1024).toFixed(0)} KiB)`,
    info.errors.length === 0 && out.length > 0, String(info.errors[0] ?? '').slice(0, 600));
  check('… with the storefront script left to a run-time import() (recs.js is not in the bundle)', /\bimport\(\w+\)/.test(out) && !out.includes('recs-unit-view'));
} catch (e) {
  check('the buildpack check runs', false, e.stack);
}
console.log(`venia-buildpack: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
