// lifecycle-e2e.mjs — the native admin CLI (build/edgerec publish / rollout,
// libcurl) against the real Worker under `wrangler dev` (not the fake): publish,
// a canary rollout the Worker's listings then show (`arm=`), status, rollback,
// the event log export, a wrong token.  Ports 18797/18798; state in DIR/state-lifecycle.
//   node tests/e2e/lifecycle-e2e.mjs --dir build/e2e     (needs DIR/e2e.erb, DIR/e2e-2.erb, DIR/catalog.json)
// Prints "lifecycle-e2e: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startStack } from '../../worker-shim/dev/stack.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = process.argv[process.argv.indexOf('--dir') + 1];
const E = `${ROOT}build/edgerec`;
let pass = 0, fail = 0;
const check = (name, ok, detail = '') => { if (ok) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name} ${detail}`); } };
const token = /^EDGEREC_ADMIN_TOKEN=(.*)$/m.exec(readFileSync(`${ROOT}.dev.vars`, 'utf8'))?.[1];
const cli = (args, tok = token) => spawnSync(E, args, { encoding: 'utf8', env: { ...process.env, EDGEREC_ADMIN_TOKEN: tok ?? '' }, timeout: 60_000 });

const watchdog = setTimeout(() => { console.log('FAIL - lifecycle-e2e: watchdog (120 s)'); console.log(`lifecycle-e2e: ${pass} passed, ${fail + 1} failed`); process.exit(1); }, 120_000);
const state = `${dir}/state-lifecycle`;
rmSync(state, { recursive: true, force: true });
let s;
try {
  s = await startStack({ bundle: `${dir}/e2e.erb`, catalog: `${dir}/catalog.json`, port: 18797, originPort: 18798, stateDir: state, quiet: true });
  const W = s.worker;
  check('the admin token is in .dev.vars', !!token);
  let r = cli(['publish', `${dir}/e2e.erb`, '--url', W]);
  check('publish e2e-1: exit 0, stored by the Worker after the engine validated it', r.status === 0 && /"version":\s*"e2e-1"/.test(r.stdout), r.stderr);
  r = cli(['publish', `${dir}/e2e-2.erb`, '--url', W, '--canary', '100']);
  check('publish e2e-2 as a 100 % canary: exit 0', r.status === 0, r.stderr);
  r = cli(['rollout', 'status', '--url', W]);
  const st = r.status === 0 ? JSON.parse(r.stdout) : {};
  check('status: canary e2e-2 at 100 %', st.canary === 'e2e-2' && st.percent === 100, r.stdout + r.stderr);
  // the Worker's hot path reads the manifest mirror: a fresh browser lands in an arm (holdout 5 %, else canary)
  const q = encodeURIComponent('query ProductSearch($inputText: String!) { products(search: $inputText, pageSize: 12) { items { sku name url_key } total_count } }');
  const arms = new Map(), wrongCanary = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch(`${W}/graphql?query=${q}&variables=${encodeURIComponent('{"inputText":"jacket"}')}`);
    await res.arrayBuffer();
    const h = res.headers.get('x-edgerec') ?? '';
    const arm = /arm=(\w+)/.exec(h)?.[1] ?? 'none';
    arms.set(arm, (arms.get(arm) ?? 0) + 1);
    if (arm === 'canary' && !/reranked; model=e2e-2; arm=canary/.test(h)) wrongCanary.push(h);
  }
  // one check whatever the share of canary listings (shoppers are placed at random), so the count is stable
  check(`every canary listing is ranked by e2e-2 (${arms.get('canary') ?? 0} of 12)`, (arms.get('canary') ?? 0) > 0 && wrongCanary.length === 0, wrongCanary.join(' | '));
  check(`listings carry their arm (${[...arms].map(([a, n]) => `${a} ${n}`).join(', ')})`, (arms.get('canary') ?? 0) > 0 && !arms.has('none'));
  r = cli(['rollout', 'rollback', '--url', W]);
  check('rollback: exit 0, no canary', r.status === 0 && /"canary":\s*null/.test(r.stdout), r.stdout + r.stderr);
  r = cli(['rollout', 'promote', '--url', W]);
  check('promote with no canary: exit 3 naming the 409', r.status === 3 && /409/.test(r.stderr) && /no canary/.test(r.stderr), r.stderr);
  r = cli(['rollout', 'status', '--url', W], 'wrong-token-0123456789');
  check('a wrong token: exit 3, 401 said, the token never printed', r.status === 3 && /401/.test(r.stderr) && !r.stderr.includes('wrong-token'), r.stderr);
  // the event log: the consumer flushes within its 5 s batch timeout
  let lines = 0;
  for (let t = 0; t < 30 && !lines; t++) {
    await new Promise((res) => setTimeout(res, 1000));
    r = cli(['rollout', 'events', '--url', W, '--since', '0', '--out', `${dir}/lifecycle-events.ndjson`]);
    if (r.status === 0) lines = readFileSync(`${dir}/lifecycle-events.ndjson`, 'utf8').split('\n').filter(Boolean).length;
  }
  check(`events export: the impressions of those listings, as NDJSON (${lines} lines)`, lines >= 10);
  const evs = readFileSync(`${dir}/lifecycle-events.ndjson`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  check('every exported event carries its arm and the hashed user', evs.every((e) => e.arm && /^[0-9a-f]{64}$/.test(e.user ?? '')));
} catch (e) {
  check('the lifecycle stack ran', false, e.stack);
} finally {
  await s?.stop();
  clearTimeout(watchdog);
}
console.log(`lifecycle-e2e: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
