// pipeline.mjs — import + train + eval of the full Online Retail log
// (../shared/data/online-retail), each step timed on one core (taskset -c 0
// when available), 3 runs, median and max; events/s per step; the
// end-to-end total against the 60 s target.  Part of `./build.sh bench`.
// Prints a table on stderr, then one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const CLI = process.env.EDGEREC_CLI || `${ROOT}/build/edgerec`;
const DATA = process.env.EDGEREC_DATA || `${ROOT}/../shared/data`;
const XZ = `${DATA}/online-retail/onlineretail.csv.xz`;
const OUT = `${ROOT}/build/bench/pipeline`;
const RUNS = Number(process.env.EDGEREC_PIPELINE_RUNS || 3);
const log = (...a) => console.error('pipeline:', ...a);
if (!existsSync(XZ)) { console.error(`pipeline: missing ${XZ}`); process.exit(1); }
mkdirSync(OUT, { recursive: true });

const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : [];
// Run a shell pipeline on one core; returns seconds, stdout and stderr.
function run(cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(pin.length ? pin[0] : 'bash', pin.length ? [...pin.slice(1), 'bash', '-c', cmd] : ['-c', cmd],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) { console.error(r.stderr); console.error(`pipeline: failed: ${cmd}`); process.exit(1); }
  return { s, out: r.stdout, err: r.stderr };
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

log(`decompressing ${XZ}`);
run(`xzcat '${XZ}' > '${OUT}/onlineretail.csv'`);
const steps = {
  import: `'${CLI}' import online-retail '${OUT}/onlineretail.csv' > '${OUT}/events.ndjson' 2>/dev/null`,
  train_trees: `'${CLI}' train --events '${OUT}/events.ndjson' --test-days 30 --quiet --out '${OUT}/trees.erb'`,
  train_linear: `'${CLI}' train --events '${OUT}/events.ndjson' --test-days 30 --model linear --quiet --out '${OUT}/linear.erb'`,
  eval_trees: `'${CLI}' eval --bundle '${OUT}/trees.erb' --events '${OUT}/events.ndjson' --test-days 30`,
  eval_linear: `'${CLI}' eval --bundle '${OUT}/linear.erb' --events '${OUT}/events.ndjson' --test-days 30 --baseline none`,
};
const times = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
const last = {};
for (let r = 0; r < RUNS; r++) {
  for (const [k, cmd] of Object.entries(steps)) {
    const res = run(cmd);
    times[k].push(res.s);
    last[k] = res;
  }
  log(`run ${r + 1}/${RUNS}: ` + Object.entries(times).map(([k, v]) => `${k} ${v.at(-1).toFixed(2)} s`).join(', '));
}
const events = readFileSync(`${OUT}/events.ndjson`, 'utf8').split('\n').filter(Boolean).length;
const rows = readFileSync(`${OUT}/onlineretail.csv`, 'utf8').split('\n').length - 2;
const trees = JSON.parse(last.train_trees.out), linear = JSON.parse(last.train_linear.out);
const evT = JSON.parse(last.eval_trees.out), evL = JSON.parse(last.eval_linear.out);
const e2e = med(times.import) + med(times.train_trees) + med(times.eval_trees);

const rowsOut = [
  ['import online-retail (CSV → events)', times.import, rows, 'rows'],
  ['train --model trees (default)', times.train_trees, events, 'events'],
  ['train --model linear', times.train_linear, events, 'events'],
  ['eval, trees bundle + 7 peers', times.eval_trees, events, 'events'],
  ['eval, linear bundle only', times.eval_linear, events, 'events'],
];
console.error(`\nOnline Retail: ${rows} rows → ${events} events; one core${pin.length ? ' (taskset -c 0)' : ''}, ${RUNS} runs (median / max s)`);
console.error('| step | median s | max s | per second |\n|---|---:|---:|---:|');
for (const [label, t, n, unit] of rowsOut)
  console.error(`| ${label} | ${med(t).toFixed(2)} | ${Math.max(...t).toFixed(2)} | ${Math.round(n / med(t)).toLocaleString('en')} ${unit}/s |`);
console.error(`| **import + train (trees) + eval, end to end** | **${e2e.toFixed(1)}** | | target ≤ 60 s: ${e2e <= 60 ? 'met' : 'NOT met'} |`);
console.error(`peak RSS: train trees ${trees.peak_rss_mib} MiB, linear ${linear.peak_rss_mib} MiB; ` +
  `eval predictions ${evT.split.predictions}; edgerec trees HR@20 ${evT.models.edgerec['hr@20']} MRR@20 ${evT.models.edgerec['mrr@20']}, ` +
  `linear HR@20 ${evL.models.edgerec['hr@20']} MRR@20 ${evL.models.edgerec['mrr@20']}`);
const r2 = (x) => Math.round(x * 100) / 100;
console.log(JSON.stringify({
  pipeline_rows: rows, pipeline_events: events, one_core: pin.length > 0,
  import_s: r2(med(times.import)), train_trees_s: r2(med(times.train_trees)), train_linear_s: r2(med(times.train_linear)),
  eval_trees_s: r2(med(times.eval_trees)), eval_linear_s: r2(med(times.eval_linear)), end_to_end_s: r2(e2e),
  import_rows_per_s: Math.round(rows / med(times.import)), train_events_per_s: Math.round(events / med(times.train_trees)),
  eval_predictions_per_s: Math.round(evT.split.predictions / med(times.eval_trees)),
  train_peak_rss_mib: trees.peak_rss_mib, bundle_bytes: statSync(`${OUT}/trees.erb`).size,
}));
