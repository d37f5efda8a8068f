// make-expected.mjs — what the workerd tests expect, computed by the native
// CLI beforehand (tests/suites/workerd.sh runs it):
//   build/workerd/expected.json      engine.test.mjs: native outputs on the sample bundle
//   build/workerd/luma-catalog.json  the Luma sample catalog (the stand-in origin's, vitest.config.mjs)
//   build/workerd/synthetic.ndjson   synthetic sessions over it (tests/standin/synthetic-sessions.mjs)
//   build/workerd/luma.erb           a bundle trained on them, version test-1 (worker.test.mjs)
// and for the model lifecycle (lifecycle.test.mjs):
//   build/workerd/luma-v3.erb        a second good bundle: the same sessions, trainer seed 3, version test-3
//   build/workerd/luma-alt.erb       other bytes under luma.erb's version test-1 (seed 2): a PUT conflict
//   build/workerd/luma-aa.erb        luma.erb's model (same sessions, same seed) as version aa-2: A/A runs
//   build/workerd/luma-bad.erb       a "shuffled" model, version bad-2: linear, one random weight per item
//                                    (seeded), so the order is arbitrary and ignores the shopper
//   build/workerd/luma-budget.erb    a linear bundle with a work budget of 100 units, version budget-1:
//                                    the admin API must refuse it as over budget
// The Luma outputs are rebuilt only when older than what they are made from.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);
const cli = (args, input = '') => spawnSync('build/edgerec', args, { input, maxBuffer: 64 << 20 });
const B = 'build/sample.erb';

const CONTEXTS = {
  empty: '{}',
  anon: '{"page":{"type":"category","category":"Gear/Bags"},"device":"mobile","hour":20,"weekday":5}',
  recent: '{"recent":["ER-BAG-01","ER-MJ-01"],"k":5}',
  product: '{"page":{"type":"product","sku":"ER-FIT-01"},"unit":"viewed-this-viewed-that","k":4}',
  candidates: '{"candidates":["ER-WT-02","ER-NOPE-1","ER-BAG-03","ER-FIT-07"],"k":3}',
  trending: '{"unit":"trending","k":20}',
};
const ERRORS = ['{"k":0}', '{"k":"ten"}', '{"recent":5}', '{"k":', '[]'];
const RESPONSES = ['venia-category-48', 'venia-search-mixed', 'venia-errors', 'venia-empty', 'venia-search-unknown'];
const EVENTS = [
  '{"type":"view","item":"ER-BAG-01","ts":1767225600}',
  '{"type":"cart","item":"ER-MJ-01","ts":1767229200,"price":89.5}',
  '{"type":"purchase","item":"ER-FIT-01","ts":1767232800,"qty":2}',
];

const out = { info: null, recommend: {}, errors: [], rerank: [], profiles: [], profileShow: null };
const ins = JSON.parse(cli(['inspect', B]).stdout.toString());
delete ins.valid; delete ins.requests; delete ins.load_us; // timings: the CLI measures them, the engine does not
out.info = ins;
for (const [name, ctx] of Object.entries(CONTEXTS)) {
  const r = cli(['recommend', '--bundle', B], ctx);
  if (r.status !== 0) throw new Error(`native recommend ${name}: ${r.stderr}`);
  out.recommend[name] = { ctx, out: r.stdout.toString().replace(/\n$/, '') };
}
for (const ctx of ERRORS) {
  const r = cli(['recommend', '--bundle', B], ctx);
  out.errors.push({ ctx, exit: r.status, stderr: r.stderr.toString() });
}
for (const name of RESPONSES) {
  const resp = readFileSync(`tests/data/parity/responses/${name}.json`, 'utf8');
  for (const c of ['empty', 'recent']) {
    const r = cli(['rerank', '--bundle', B, '--context', CONTEXTS[c]], resp);
    const m = r.stderr.toString().match(/reason=([a-z-]+)/);
    out.rerank.push({ name, ctx: CONTEXTS[c], resp, out: r.stdout.toString(), reason: m ? m[1] : '' });
  }
}
const tmp = mkdtempSync(tmpdir() + '/edgerec-wd-');
let prev = null;
EVENTS.forEach((ev, i) => {
  const file = `${tmp}/p${i}.bin`;
  execFileSync('build/edgerec', ['profile', 'update', '--bundle', B, ...(prev ? ['--profile', prev] : []), '--out', file], { input: ev });
  out.profiles.push({ event: ev, b64: readFileSync(file).toString('base64') });
  prev = file;
});
out.profileShow = JSON.parse(execFileSync('build/edgerec', ['profile', 'show', prev]).toString());
out.recommendWithProfile = { ctx: CONTEXTS.anon, out: execFileSync('build/edgerec', ['recommend', '--bundle', B, '--profile', prev], { input: CONTEXTS.anon }).toString().replace(/\n$/, '') };
rmSync(tmp, { recursive: true, force: true });
mkdirSync('build/workerd', { recursive: true });
writeFileSync('build/workerd/expected.json', JSON.stringify(out));

// ---- the Worker's origin catalog and its trained bundle ----
const LUMA = '../shared/data/luma';
const CATALOG = 'build/workerd/luma-catalog.json';
const SESSIONS = 'build/workerd/synthetic.ndjson';
const LUMA_BUNDLE = 'build/workerd/luma.erb';
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : -Infinity);
const newest = (files) => Math.max(...files.map(mtime));
/** Run make() unless `target` exists and is newer than every input. */
function step(target, inputs, make) {
  if (existsSync(target) && mtime(target) > newest(inputs)) return false;
  make();
  if (!existsSync(target)) throw new Error(`make-expected: ${target} was not written`);
  return true;
}
if (!existsSync(LUMA)) throw new Error(`make-expected: ${LUMA} is missing (the Luma sample catalog)`);
const lumaFiles = readdirSync(LUMA).map((f) => `${LUMA}/${f}`);
const run = (cmd, args) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
const built = [
  step(CATALOG, ['build/edgerec', ...lumaFiles], () => run('build/edgerec', ['import', 'luma-catalog', LUMA, '--out', CATALOG])) && CATALOG,
  step(SESSIONS, [CATALOG, 'tests/standin/synthetic-sessions.mjs'], () =>
    run(process.execPath, ['tests/standin/synthetic-sessions.mjs', '--catalog', CATALOG, '--sessions', '1500', '--out', SESSIONS])) && SESSIONS,
  step(LUMA_BUNDLE, ['build/edgerec', CATALOG, SESSIONS], () =>
    run('build/edgerec', ['train', '--events', SESSIONS, '--catalog', CATALOG, '--version', 'test-1', '--quiet', '--out', LUMA_BUNDLE])) && LUMA_BUNDLE,
];
// ---- the lifecycle's bundles ----
const SELF = 'tests/workerd/make-expected.mjs'; // the packed models are written here
const train = (out, version, seed) => step(out, ['build/edgerec', CATALOG, SESSIONS, SELF], () =>
  run('build/edgerec', ['train', '--events', SESSIONS, '--catalog', CATALOG, '--version', version, '--seed', String(seed), '--quiet', '--out', out])) && out;
/** splitmix32-style PRNG (as tests/standin/synthetic-sessions.mjs), floats in [0, 1). */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
/** Pack a linear model.json (written next to the bundle) over the Luma catalog. */
const pack = (out, model) => step(out, ['build/edgerec', CATALOG, SELF], () => {
  const json = out.replace(/\.erb$/, '.model.json');
  writeFileSync(json, JSON.stringify(model));
  run('build/edgerec', ['pack', '--model', json, '--catalog', CATALOG, '--out', out]);
}) && out;
const products = () => JSON.parse(readFileSync(CATALOG, 'utf8')).items.filter((it) => !it.parent);
const randomItemWeights = (seed) => { const rnd = prng(seed); return products().map((it) => ({ ns: 'item', a: it.sku, w: Math.round((rnd() * 2 - 1) * 1000) / 1000 })); };
built.push(
  train('build/workerd/luma-v3.erb', 'test-3', 3),
  train('build/workerd/luma-alt.erb', 'test-1', 2),
  train('build/workerd/luma-aa.erb', 'aa-2', 1),
  pack('build/workerd/luma-bad.erb', { version: 'bad-2', kind: 'linear', bits: 16, weights: randomItemWeights(12345) }),
  pack('build/workerd/luma-budget.erb', { version: 'budget-1', kind: 'linear', bits: 12, budget: 100, weights: randomItemWeights(777).slice(0, 10) }),
);
const made = built.filter(Boolean);
console.log(`make-expected: ${made.length ? `built ${made.join(', ')}` : `${CATALOG}, ${SESSIONS}, ${LUMA_BUNDLE} and the lifecycle bundles up to date`}`);
console.log(`make-expected: build/workerd/expected.json (${Object.keys(out.recommend).length} contexts, ${out.rerank.length} reranks, ${out.profiles.length} profile steps)`);
