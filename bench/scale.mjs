// scale.mjs — `./build.sh bench scale` (opt-in, minutes and ~3 GB of disk): the trainer and the
// evaluator near their limits (issue 16).
//   1. a generated log: edgerec synth --events N --items 100,000 --format ndjson (+ its catalog), into
//      build/bench/scale/ (kept and reused while the CLI and N are unchanged)
//   2. train it on one core (taskset -c 0): peak RSS (/usr/bin/time -v, else the trainer's own figure)
//      and events/s, wall and CPU; targets peak RSS ≤ 4 GiB and ≥ 150,000 events/s
//   3. eval of a trees bundle on Online Retail (../shared/data) with --threads 1 and --threads 2:
//      predictions/s; target ≥ 20,000/s; the two runs' figures must be identical
//   4. the bundle trained with the 100,000-item catalog: bytes per catalog item and per section
// Environment: SCALE_EVENTS (default 20000000), EDGEREC_CLI, EDGEREC_DATA.
// Prints a table on stderr, then one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const DATA = process.env.EDGEREC_DATA || `${ROOT}/../shared/data`;
const EVENTS = Number(process.env.SCALE_EVENTS || 20_000_000);
const OUT = `${ROOT}/build/bench/scale`;
const log = (...a) => console.error('scale:', ...a);
const die = (m) => { console.error(`scale: ${m}`); process.exit(1); };
if (!Number.isInteger(EVENTS) || EVENTS < 1000) die(`SCALE_EVENTS must be an integer >= 1000, got '${process.env.SCALE_EVENTS}'`);
if (!existsSync(CLI)) die(`${CLI} is missing: run ./build.sh first`);
mkdirSync(OUT, { recursive: true });
const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : [];
const timeV = spawnSync('/usr/bin/time', ['-v', 'true']).status === 0;

// Run a command (argv); stdout to a file when given. Returns wall seconds, CPU seconds, max RSS (MiB), stdout.
function run(argv, { onCore = false, stdout = null } = {}) {
  const full = [...(onCore ? pin : []), ...(timeV ? ['/usr/bin/time', '-v'] : []), ...argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) { console.error(r.stderr.slice(-4000)); die(`failed: ${argv.join(' ')}`); }
  if (stdout) writeFileSync(stdout, r.stdout);
  const num = (re) => { const m = r.stderr.match(re); return m ? Number(m[1]) : NaN; };
  const cpu = num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/);
  return { wall, cpu, rss: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024, out: r.stdout, err: r.stderr };
}

// 1. the log (reused when the same CLI made it with the same N)
const ev = `${OUT}/events.ndjson`, cat = `${OUT}/catalog.json`, stamp = `${OUT}/events.stamp`;
const want = `${EVENTS} ${statSync(CLI).mtimeMs}`;
if (!existsSync(ev) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== want) {
  log(`generating ${EVENTS.toLocaleString('en')} events over 100,000 items (edgerec synth)`);
  run([CLI, 'synth', '--events', String(EVENTS), '--items', '100000', '--format', 'ndjson', '--out', ev, '--catalog-out', cat]);
  writeFileSync(stamp, want);
}
const bytes = statSync(ev).size;

// 2. train on one core
log(`training on ${(bytes / 1e9).toFixed(2)} GB of events${pin.length ? ' (taskset -c 0)' : ''}`);
const tr = run([CLI, 'train', '--events', ev, '--test-days', '1', '--out', `${OUT}/model.erb`], { onCore: true });
const trJ = JSON.parse(tr.out);
const rssMiB = Number.isFinite(tr.rss) ? tr.rss : trJ.peak_rss_mib;
const evps = trJ.train_sessions ? EVENTS / tr.wall : 0, evpsCpu = Number.isFinite(tr.cpu) ? EVENTS / tr.cpu : NaN;

// 3. eval of a trees bundle on Online Retail, 1 and 2 threads
let evalRows = [], evalSame = null;
const XZ = `${DATA}/online-retail/onlineretail.csv.xz`;
if (existsSync(XZ)) {
  const orEv = `${OUT}/or.ndjson`;
  if (!existsSync(orEv)) {
    const r = spawnSync('bash', ['-c', `xzcat '${XZ}' | '${CLI}' import online-retail - > '${orEv}' 2>/dev/null`]);
    if (r.status !== 0) die('import online-retail failed');
  }
  run([CLI, 'train', '--events', orEv, '--test-days', '30', '--quiet', '--out', `${OUT}/or-trees.erb`]);
  const outs = [];
  for (const th of [1, 2]) {
    const r = run([CLI, 'eval', '--bundle', `${OUT}/or-trees.erb`, '--events', orEv, '--test-days', '30', '--baseline', 'none', '--threads', String(th)]);
    const j = JSON.parse(r.out);
    const s = j.models.edgerec.seconds;
    evalRows.push({ threads: th, predictions: j.split.predictions, seconds: s, per_s: Math.round(j.split.predictions / s), hr20: j.models.edgerec['hr@20'], mrr20: j.models.edgerec['mrr@20'] });
    outs.push(r.out.replace(/"seconds":[\d.]+/g, ''));
  }
  evalSame = outs[0] === outs[1];
  if (!evalSame) die('eval --threads 1 and --threads 2 disagree: a bug');
} else log(`no ${XZ}: the eval rows are skipped`);

// 4. the 100,000-item catalog's bundle: bytes per item and per section
const tc = run([CLI, 'train', '--events', ev, '--catalog', cat, '--test-days', '1', '--quiet', '--out', `${OUT}/catalog-model.erb`]);
void tc;
const ins = JSON.parse(run([CLI, 'inspect', `${OUT}/catalog-model.erb`]).out);
const perItem = ins.bytes / ins.items;

// report
const f0 = (x) => Math.round(x).toLocaleString('en');
console.error(`\nscale: ${EVENTS.toLocaleString('en')} generated events, 100,000 items; load ${loadavg()[0].toFixed(2)}`);
console.error('| measure | figure | target |\n|---|---:|---|');
console.error(`| train peak RSS | ${f0(rssMiB)} MiB | ≤ 4,096 MiB: ${rssMiB <= 4096 ? 'met' : 'NOT met'} |`);
console.error(`| train events/s, wall (one core) | ${f0(evps)} | ≥ 150,000: ${evps >= 150000 ? 'met' : 'NOT met'} |`);
console.error(`| train events/s, CPU time | ${Number.isFinite(evpsCpu) ? f0(evpsCpu) : 'n/a'} | (the wall figure on a shared core) |`);
console.error(`| train phases s (read / tables / pairs / fit / total) | ${['read', 'tables', 'pairs', 'fit', 'total'].map((k) => trJ.seconds[k]).join(' / ')} | |`);
for (const e of evalRows)
  console.error(`| eval, Online Retail trees, --threads ${e.threads} | ${f0(e.per_s)} predictions/s (${e.predictions} in ${e.seconds} s; HR@20 ${e.hr20}, MRR@20 ${e.mrr20}) | ≥ 20,000: ${e.per_s >= 20000 ? 'met' : 'NOT met'} |`);
console.error(`| bundle with the 100,000-item catalog | ${f0(ins.bytes)} bytes, ${f0(perItem)} per item | ≤ 80 per item: ${perItem <= 80 ? 'met' : 'NOT met'} |`);
console.error('bundle sections, bytes per item: ' + Object.entries(ins.sections).sort((a, b) => b[1].bytes - a[1].bytes)
  .map(([k, v]) => `${k} ${(v.bytes / ins.items).toFixed(1)}`).join(', '));
console.log(JSON.stringify({
  scale_events: EVENTS, train_peak_rss_mib: Math.round(rssMiB), train_events_per_s: Math.round(evps),
  train_events_per_cpu_s: Number.isFinite(evpsCpu) ? Math.round(evpsCpu) : null, train_seconds: trJ.seconds,
  eval: evalRows, eval_threads_identical: evalSame, catalog_bundle_bytes: ins.bytes, catalog_items: ins.items,
  bytes_per_item: Math.round(perItem * 10) / 10,
  sections_bytes: Object.fromEntries(Object.entries(ins.sections).map(([k, v]) => [k, v.bytes])),
}));
