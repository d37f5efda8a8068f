// console-e2e.mjs — the operators' console (GET /edge/admin/, worker-shim/browser/console/, docs/console.md) in
// headless Chromium against the real Worker under `wrangler dev` and the Magento stand-in.  Ports 18827/18828;
// state in DIR/state-console.
//   node tests/e2e/console-e2e.mjs --dir build/e2e     (needs DIR/e2e.erb, DIR/e2e-2.erb, DIR/catalog.json)
// Seeds a history through the Worker and the admin API: shoppers' listings, clicks, carts, purchases and
// feedback (with free text, FEEDBACK_TEXT_DAYS=7) under three canaries — e2e-2 rolled back by hand,
// e2e-2 again promoted by the automation (an operator token acting as "retrain"), e2e-1 left running —
// a pause and a resume, a unit, a SKU, a reason and a feedback text with markup; the cron once
// (/__scheduled).  Then checks: the page is refused without a session (401, a login form, no console);
// a viewer signs in through the form; every panel renders, with no console error, exception or CSP
// report; the figures shown equal /edge/admin/status's (arms, uplift, units) and the console routes'
// (timeline, feedback, manual work); the guardrail's verdict in words; the markup never executes and
// shows as text; a viewer has no operator buttons and the API refuses the viewer's rollback (403);
// an operator signs in, sees the buttons and rolls the canary back with a real click (CSRF header sent).
// Screenshot DIR/console.png.  About 2 minutes.  Prints "console-e2e: N passed, N failed".
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { d1Execute, demoViewerToken, runCron, startStack } from '../../worker-shim/dev/stack.mjs';
import { findChromium, launchChromium } from './cdp.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const DIR = argv.includes('--dir') ? argv[argv.indexOf('--dir') + 1] : `${ROOT}build/e2e`;
const PORT = 18827, ORIGIN_PORT = 18828;
const W = `http://127.0.0.1:${PORT}`;
const MARKUP = '<img src=x onerror="window.__edgerecXss=1"><b>x</b>';

let pass = 0, fail = 0;
const check = (name, ok, detail) => {
  if (ok) { pass++; console.log(`ok - ${name}`); } else { fail++; console.log(`FAIL - ${name}${detail ? `: ${typeof detail === 'function' ? detail() : detail}` : ''}`); }
};
const info = (s) => console.log(`  # ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stack = null, chromium = null;
const watchdog = setTimeout(async () => {
  check('console-e2e finishes within 300 s', false, 'watchdog; stopping what was started');
  await chromium?.close().catch(() => {});
  await stack?.stop().catch(() => {});
  console.log(`console-e2e: ${pass} passed, ${fail} failed`);
  process.exit(1);
}, 300_000);

let operatorToken = null;
const api = async (method, path, body, headers = {}) => {
  const r = await fetch(`${W}${path}`, { method, headers: { authorization: `Bearer ${operatorToken}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
};

/** A shopper with a cookie jar. */
function shopper() {
  const jar = new Map();
  const req = async (path, init = {}) => {
    const headers = { ...(init.headers ?? {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(`${W}${path}`, { ...init, headers });
    for (const c of r.headers.getSetCookie()) { const [kv] = c.split(';'); const i = kv.indexOf('='); jar.set(kv.slice(0, i), kv.slice(i + 1)); }
    return { status: r.status, edge: r.headers.get('x-edgerec') ?? '', text: await r.text() };
  };
  return { req };
}

const LISTING = `/graphql?query=${encodeURIComponent('query ProductSearch($inputText: String!) { products(search: $inputText, pageSize: 12) { items { sku name } total_count } }')}`
  + `&variables=${encodeURIComponent('{"inputText":"jacket"}')}`;

/** n shoppers: a listing each; every other one clicks, carts and buys its first item; some leave feedback. */
async function traffic(n, tag, { feedbackText = null } = {}) {
  const arms = {};
  for (let i = 0; i < n; i++) {
    const s = shopper();
    const l = await s.req(LISTING);
    const arm = /arm=([a-z]+)/.exec(l.edge)?.[1] ?? 'none';
    arms[arm] = (arms[arm] ?? 0) + 1;
    let sku = null;
    try { sku = JSON.parse(l.text).data.products.items[0].sku; } catch { /* no listing */ }
    if (!sku) continue;
    if (i % 2 === 0) {
      await s.req('/edge/events', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify([{ type: 'click', item: sku }, { type: 'cart', item: sku }, { type: 'purchase', item: sku, price: 42.5, qty: 1 }]) });
    }
    if (i % 3 === 0) {
      const body = i % 2 ? { item: sku, thumbs: 'down', unit: 'listing-test' } : { item: sku, rating: 4 };
      if (feedbackText && i === 0) body.text = feedbackText;
      await s.req('/edge/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    }
  }
  info(`${tag}: ${n} shoppers, arms ${JSON.stringify(arms)}`);
  return arms;
}

/** Wait until the queue consumer has counted everything: every feedback post is in the console's counts and
 * status has not changed for 7 s (the queue delivers batches at most 5 s old, wrangler.toml). */
async function settle(feedbackPosts) {
  let last = null, since = Date.now();
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const s = (await api('GET', '/edge/admin/status')).json;
    const fb = (await api('GET', '/edge/admin/console/feedback?days=7')).json;
    const sig = JSON.stringify([s?.versions, s?.arms, s?.units, fb?.groups]);
    if (sig !== last) { last = sig; since = Date.now(); continue; }
    const counted = (fb?.groups ?? []).reduce((a, g) => a + g.count, 0);
    if (counted === feedbackPosts && Date.now() - since >= 7000) return s;
  }
  return null;
}

async function main() {
  for (const p of [PORT, ORIGIN_PORT]) {
    try { await fetch(`http://127.0.0.1:${p}/`, { signal: AbortSignal.timeout(1000) }); check(`port ${p} is free`, false, 'something answers there'); return; } catch { /* free */ }
  }
  const state = `${DIR}/state-console`;
  rmSync(state, { recursive: true, force: true });
  const t0 = Date.now();
  stack = await startStack({ bundle: `${DIR}/e2e.erb`, catalog: `${DIR}/catalog.json`, port: PORT, originPort: ORIGIN_PORT, stateDir: state, quiet: true,
    syncCatalog: false, vars: { FEEDBACK_TEXT_DAYS: '7' } });
  info(`the stack started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const vars = readFileSync(`${ROOT}.dev.vars`, 'utf8');
  operatorToken = /^EDGEREC_ADMIN_TOKEN=(.*)$/m.exec(vars)?.[1];
  const viewerToken = demoViewerToken();
  check('.dev.vars has the operator token and the demo viewer token (EDGEREC_ADMIN_TOKENS demo-viewer:viewer:…)', !!operatorToken && !!viewerToken);

  // ---- the history ------------------------------------------------------------------------------
  for (const v of ['e2e-1', 'e2e-2']) {
    const r = await api('PUT', `/edge/admin/bundles/${v}`, new Uint8Array(readFileSync(`${DIR}/${v === 'e2e-1' ? 'e2e' : 'e2e-2'}.erb`)), { 'content-type': 'application/octet-stream' });
    check(`store bundle ${v}`, r.status === 201 || r.status === 200, () => r.text);
  }
  let r = await api('POST', '/edge/admin/rollout', { canary: 'e2e-2', percent: 50 });
  check('rollout e2e-2 at 50 % (by hand)', r.status === 200, () => r.text);
  await sleep(1200);
  await traffic(14, 'canary e2e-2 (first run)', { feedbackText: `too many ${MARKUP} jackets` });
  r = await api('POST', '/edge/admin/rollback');
  check('roll e2e-2 back (by hand)', r.status === 200, () => r.text);
  r = await api('POST', '/edge/admin/rollout', { canary: 'e2e-2', percent: 50 });
  check('rollout e2e-2 again', r.status === 200, () => r.text);
  await traffic(14, 'canary e2e-2 (second run)');
  r = await api('POST', '/edge/admin/promote', undefined, { 'x-edgerec-actor': 'retrain' });
  check('promote e2e-2 by the automation (an operator token acting as "retrain")', r.status === 200, () => r.text);
  r = await api('POST', '/edge/admin/pause', { reason: `incident ${MARKUP}` });
  check('pause personalization with a reason carrying markup', r.status === 200, () => r.text);
  r = await api('POST', '/edge/admin/resume');
  check('resume personalization', r.status === 200, () => r.text);
  r = await api('POST', '/edge/admin/rollout', { canary: 'e2e-1', percent: 40 });
  check('rollout e2e-1 at 40 % (left running)', r.status === 200, () => r.text);
  await sleep(61_000); // the Worker re-reads the manifest mirror once a minute (bundles.js REFRESH_MS): then e2e-1's run has its arms
  await traffic(12, 'canary e2e-1');
  // a SKU with markup (feedback on it) and a unit whose name is markup
  const xs = shopper();
  await xs.req(LISTING);
  r = await xs.req('/edge/feedback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: MARKUP, thumbs: 'up', text: MARKUP }) });
  check('feedback on a SKU with markup, with free text', r.status === 202, () => `${r.status} ${r.text}`);
  r = await api('PUT', '/edge/admin/units/xss-unit', { unitName: MARKUP, typeId: 'most-viewed', pageType: 'Category', status: 'inactive' });
  check('a unit whose name is markup is stored', r.status === 201 || r.status === 200, () => r.text);
  check('the cron runs (/__scheduled)', (await runCron(W)) === 200);
  const FEEDBACK_POSTS = 1 + [14, 14, 12].reduce((a, n) => a + Math.ceil(n / 3), 0); // traffic(): every third shopper, and the markup one
  const status = await settle(FEEDBACK_POSTS);
  check('the queue consumer has counted the traffic (status settled)', !!status?.arms && Object.keys(status.versions ?? {}).length > 0, () => JSON.stringify(status));

  // a lagging event log and a parity dip: what a local Queue and a one-machine stack cannot produce, written
  // into the local D1 as the consumer (metric_gauges) and profile-sync (profile_parity) would; then the cron
  // alerts on both, and the Health panel must show them
  const nowMs = Date.now(), hourMs = Math.floor(nowMs / 3_600_000) * 3_600_000;
  d1Execute(state, `CREATE TABLE IF NOT EXISTS profile_parity (bucket INTEGER PRIMARY KEY, checked INTEGER NOT NULL, equal INTEGER NOT NULL, first_ms INTEGER NOT NULL);
    INSERT OR REPLACE INTO profile_parity (bucket, checked, equal, first_ms) VALUES (0, 400, 372, ${nowMs - 86_400_000}), (${hourMs}, 200, 172, ${hourMs});
    INSERT OR REPLACE INTO metric_gauges (name, value, at) VALUES ('event_lag_last_batch_max_seconds', 1234, ${nowMs});`);
  check('the cron runs again over the lagging log and the parity dip', (await runCron(W)) === 200);

  // ---- the browser ------------------------------------------------------------------------------
  const bin = findChromium();
  if (!bin) { check('chromium is installed (Debian package chromium)', false); return; }
  const profile = `${DIR}/chromium-console`;
  rmSync(profile, { recursive: true, force: true });
  chromium = await launchChromium({ bin, userDataDir: profile, width: 1400, height: 2400 });
  const page = await chromium.newPage();
  const problems = [];
  let dialogs = 0;
  page.onEvent((m) => {
    if (m.method === 'Runtime.exceptionThrown') problems.push(`exception: ${m.params.exceptionDetails?.exception?.description ?? m.params.exceptionDetails?.text}`);
    if (m.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(m.params.type)) problems.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error' && !/\/favicon\.ico$/.test(m.params.entry.url ?? '')) problems.push(`log: ${m.params.entry.text} ${m.params.entry.url ?? ''}`);
    if (m.method === 'Page.javascriptDialogOpening') { dialogs++; page.send('Page.handleJavaScriptDialog', { accept: true }).catch(() => {}); }
  });
  await page.send('Log.enable');
  const statusOf = new Map();
  page.onEvent((m) => { if (m.method === 'Network.responseReceived') statusOf.set(new URL(m.params.response.url).pathname, m.params.response.status); });
  const go = async (url) => { await page.send('Page.navigate', { url }); await page.waitFor('document.readyState === "complete"', 15_000); };

  // refused without a session
  await go(`${W}/edge/admin/`);
  const refused = await page.eval(`({ form: !!document.querySelector('form[action="/edge/admin/login"] input[name=token]'), panels: !!document.getElementById('uplift'), scripts: document.scripts.length })`);
  check('without a session the console is refused: 401, a login form, no panels and no script', statusOf.get('/edge/admin/') === 401 && refused.form && !refused.panels && refused.scripts === 0,
    () => `${statusOf.get('/edge/admin/')} ${JSON.stringify(refused)}`);
  for (const a of ['console/console.js', 'console/series', 'status']) {
    const x = await fetch(`${W}/edge/admin/${a}`);
    check(`without a session GET /edge/admin/${a} is 401`, x.status === 401, () => `${x.status}`);
  }

  // a viewer signs in through the form
  const signIn = async (token) => {
    await go(`${W}/edge/admin/`);
    await page.eval(`(() => { const f = document.querySelector('form'); f.querySelector('input[name=token]').value = ${JSON.stringify(token)}; f.submit(); })()`);
    try { await page.waitFor('document.body && document.body.dataset.loaded', 30_000, 'the console loaded'); } catch (e) {
      throw new Error(`${e.message}; the page: ${await page.eval('location.href + " " + document.body?.innerText.slice(0, 120)').catch(() => '?')}; problems: ${problems.join(' | ')}`);
    }
  };
  problems.length = 0; // the refusals above are logged by the browser as failed loads: expected
  await signIn(viewerToken);
  const loaded = await page.eval('document.body.dataset.loaded');
  check('a viewer signs in with the form and the console loads', loaded !== 'error' && !!Number(loaded), () => page.eval('document.getElementById("error").textContent'));
  const hdr = await fetch(`${W}/edge/admin/`, { headers: { authorization: `Bearer ${viewerToken}` } });
  const csp = hdr.headers.get('content-security-policy') ?? '';
  check("the page's Content-Security-Policy is strict (script-src 'self', no inline, no third party)",
    /default-src 'none'/.test(csp) && /script-src 'self'(;|$)/.test(csp) && /style-src 'self'(;|$)/.test(csp) && !/unsafe|https?:/.test(csp), csp);
  const html = await hdr.text();
  check('the page has no inline script or style', !/<script(?![^>]*\bsrc=)[^>]*>/.test(html) && !/<style|style=/.test(html));

  const dom = await page.eval(`(() => {
    const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => ({ row: tr.dataset.row,
      cells: Object.fromEntries([...tr.querySelectorAll('td[data-field]')].map((td) => [td.dataset.field, td.textContent])), text: tr.textContent }));
    return {
      verdict: document.getElementById('verdict').textContent, verdictAction: document.getElementById('verdict').dataset.action,
      sequential: document.getElementById('sequential').textContent,
      uplift: rows('uplift-table'), timeline: rows('timeline-table'), units: rows('units-table'), editor: rows('units-editor'),
      feedback: rows('feedback-table'), manual: rows('manual-table'),
      health: [...document.querySelectorAll('#health-list dd')].map((d) => [d.dataset.field, d.textContent]),
      canvases: ['chart-conversion', 'chart-ctr', 'chart-revenue', 'chart-timeline'].map((id) => document.querySelectorAll('#' + id + ' canvas').length),
      texts: [...document.querySelectorAll('#feedback-texts li')].map((li) => li.textContent),
      who: document.getElementById('who').textContent,
      buttons: ['btn-rollback', 'btn-promote', 'btn-pause', 'btn-resume'].map((id) => document.getElementById(id).hidden),
      unitForm: document.getElementById('unit-form').hidden,
      editorButtons: [...document.querySelectorAll('#units-editor button')].map((b) => b.disabled),
      injected: document.querySelectorAll('main img, main b').length, xss: window.__edgerecXss ?? null,
    };
  })()`);
  // status as the page saw it (the same moment, give or take the cron, which is not running)
  const st = (await api('GET', '/edge/admin/status')).json;
  const tl = (await api('GET', '/edge/admin/console/timeline?days=7')).json;
  const fb = (await api('GET', '/edge/admin/console/feedback?days=7')).json;
  const mw = (await api('GET', '/edge/admin/console/manual-work')).json;
  const vd = (await api('GET', '/edge/admin/console/verdict')).json;

  check('Uplift: the guardrail\'s verdict in words, as GET /edge/admin/console/verdict says', dom.verdict === vd.words && vd.action === dom.verdictAction && /canary|guardrail/i.test(dom.verdict), dom.verdict);
  check('Uplift: the sequential interval is the guardrail\'s', (vd.figures?.rollback?.upperBound == null ? /No sequential interval yet/.test(dom.sequential) : dom.sequential.includes((100 * vd.figures.rollback.upperBound).toFixed(3))), dom.sequential);
  const armRows = Object.keys(st.arms ?? {}).filter((a) => ['holdout', 'control', 'canary'].includes(a));
  check('Uplift: one row per arm of status', armRows.length > 0 && armRows.every((a) => dom.uplift.some((x) => x.row === a)), () => JSON.stringify(dom.uplift));
  check('Uplift: shoppers and converted equal status\'s arms', armRows.every((a) => {
    const x = dom.uplift.find((u) => u.row === a);
    return x && x.cells.shoppers === String(st.arms[a].shoppers) && x.cells.converted === String(st.arms[a].converted);
  }), () => JSON.stringify({ dom: dom.uplift, arms: st.arms }));
  check('Uplift: the uplift over the holdout equals status\'s', Object.entries(st.uplift_over_holdout ?? {}).every(([a, u]) => {
    const x = dom.uplift.find((y) => y.row === a);
    const e = u.absolute?.estimate;
    return x && (e == null ? x.cells.uplift === 'n/a' : x.cells.uplift === `${e >= 0 ? '+' : ''}${(100 * e).toFixed(2)} pp`);
  }), () => JSON.stringify({ dom: dom.uplift.map((x) => x.cells), up: st.uplift_over_holdout }));
  check('Uplift and Rollout timeline: the four charts are drawn (uPlot canvases)', dom.canvases.every((n) => n >= 1), JSON.stringify(dom.canvases));
  check('Rollout timeline: every audit row is listed, newest first, with actor and reason', dom.timeline.length === tl.events.length && tl.events.length >= 8
    && dom.timeline[0].row === String(tl.events[tl.events.length - 1].id), () => `${dom.timeline.length} vs ${tl.events.length}`);
  const promoteRow = dom.timeline.find((x) => x.cells.action === 'promote');
  check('Rollout timeline: the promotion is the automation\'s (actor retrain), the rollback by hand', promoteRow?.cells.actor === 'retrain' && promoteRow?.cells.by === 'automation'
    && dom.timeline.some((x) => x.cells.action === 'rollback' && x.cells.by === 'by hand'), () => JSON.stringify(dom.timeline.map((x) => x.cells)));
  check('Rollout timeline: a reason with markup shows as text', dom.timeline.some((x) => x.cells.reason === `incident ${MARKUP}`));
  const facts = Object.fromEntries(dom.health);
  check('Health: the lagging event log shows (1234 s) and is marked bad', facts.lag === '1234.0 s', () => facts.lag);
  check('Health: the parity dip shows (86 % of 200 in 24 h, under the 99.9 % target)', /86(\.0+)?\s*%/.test(facts.parity ?? '') && /200/.test(facts.parity ?? ''), () => facts.parity);
  check('Health: the lag and parity alerts are firing', /event-lag/.test(facts.alerts ?? '') && /parity/.test(facts.alerts ?? ''), () => facts.alerts);
  check('Health: edge state, bundle, event flow, lag, bypasses, cron and parity are shown', ['ok', 'bundle', 'events_per_min', 'events_written', 'lag', 'bypasses', 'cron', 'parity', 'alerts'].every((k) => facts[k] !== undefined && facts[k] !== ''),
    () => JSON.stringify(facts));
  const statusUnits = Object.entries(st.units ?? {}).flatMap(([v, x]) => x.units.map((u) => [`${v}/${u.unit}`, u]));
  check('Units: the unit KPIs equal status\'s (views, clicks)', statusUnits.every(([k, u]) => { const x = dom.units.find((y) => y.row === k); return x && x.cells.views === String(u.views) && x.cells.clicks === String(u.clicks); }),
    () => JSON.stringify({ dom: dom.units, st: statusUnits }));
  const xssUnit = dom.editor.find((x) => x.row === 'xss-unit');
  check('Units editor: the unit whose name is markup shows it as text', xssUnit?.cells.name === MARKUP, () => JSON.stringify(dom.editor.map((x) => x.cells)));
  check('Feedback: one row per version, arm and unit, counts equal the console route\'s', fb.groups.length > 0 && dom.feedback.length === fb.groups.length
    && fb.groups.every((g) => { const x = dom.feedback.find((y) => y.row === `${g.version}/${g.arm}/${g.unit ?? ''}`); return x && x.cells.ratings === g.ratings.join(' / ') && x.cells.up === String(g.up) && x.cells.down === String(g.down); }),
  () => JSON.stringify({ dom: dom.feedback, fb: fb.groups }));
  const ratingsTotal = fb.groups.reduce((a, g) => a + g.count, 0);
  check('Feedback: every feedback post is counted (ratings total = feedback posted)', ratingsTotal === FEEDBACK_POSTS, `${ratingsTotal}`);
  check('Feedback: free text (kept 7 days) shown as text, markup included', dom.texts.some((t) => t.includes(`too many ${MARKUP} jackets`)) && dom.texts.some((t) => t.includes(`${MARKUP} · rating 5: ${MARKUP}`)),
    () => JSON.stringify(dom.texts));
  const hand = mw.weeks.reduce((a, w) => a + w.hand, 0), auto = mw.weeks.reduce((a, w) => a + w.automation, 0);
  check('Manual work: 6 manifest changes by hand (3 rollouts, a rollback, pause, resume), 1 by the automation', hand === 6 && auto === 1
    && mw.weeks.every((w) => { const x = dom.manual.find((y) => y.row === w.week); return x && x.cells.hand === String(w.hand) && x.cells.automation === String(w.automation); }),
  () => JSON.stringify({ mw, dom: dom.manual }));
  check('markup from SKUs, unit names, reasons and feedback text never executes and adds no element', dom.xss === null && dom.injected === 0, JSON.stringify([dom.xss, dom.injected]));
  check('a viewer: role shown, no operator button, no units form, editor buttons disabled', /role: viewer/.test(dom.who) && dom.buttons.every(Boolean) && dom.unitForm && dom.editorButtons.every(Boolean),
    () => JSON.stringify([dom.who, dom.buttons, dom.unitForm, dom.editorButtons]));
  // the login page is a 401 by design (the browser logs it as a failed load); nothing else may fail
  const unexpected = () => problems.filter((p) => !/status of 401 \(Unauthorized\) http:\/\/[^ ]+\/edge\/admin\/\s*$/.test(p));
  check('every panel rendered without a console error, exception or CSP report', unexpected().length === 0, () => unexpected().join(' | '));
  const refusedApi = await page.eval(`(async () => {
    const s = await (await fetch('/edge/admin/session')).json();
    const r = await fetch('/edge/admin/rollback', { method: 'POST', headers: { 'x-edgerec-csrf': s.csrf ?? '' } });
    return { status: r.status, csrf: !!s.csrf, canary: (await (await fetch('/edge/admin/status')).json()).canary };
  })()`);
  check('a viewer\'s rollback (with its CSRF token) is refused by the API (403) and changes nothing', refusedApi.status === 403 && refusedApi.csrf && refusedApi.canary === 'e2e-1', JSON.stringify(refusedApi));
  problems.length = 0; // that 403 was the point

  // an operator signs in and rolls the canary back with a real click
  const out = await page.eval(`(async () => { const s = await (await fetch('/edge/admin/session')).json();
    return (await fetch('/edge/admin/logout', { method: 'POST', headers: { 'x-edgerec-csrf': s.csrf } })).status; })()`);
  check('the viewer signs out', out === 200, `${out}`);
  await signIn(operatorToken);
  const op = await page.eval(`({ who: document.getElementById('who').textContent, rollback: !document.getElementById('btn-rollback').hidden,
    promote: !document.getElementById('btn-promote').hidden, pause: !document.getElementById('btn-pause').hidden, form: !document.getElementById('unit-form').hidden })`);
  check('an operator sees roll back, promote, pause and the units form', /role: operator/.test(op.who) && op.rollback && op.promote && op.pause && op.form, JSON.stringify(op));
  mkdirSync(DIR, { recursive: true });
  const shot = await page.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(`${DIR}/console.png`, Buffer.from(shot.data, 'base64'));
  check(`screenshot ${DIR}/console.png`, shot.data.length > 10_000);
  const box = await page.eval(`(() => { const b = document.getElementById('btn-rollback'); b.scrollIntoView({ block: 'center' }); const r = b.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
  await page.click(box.x, box.y);
  await page.waitFor(`/done: rollback|refused/.test(document.getElementById('action-result').textContent)`, 15_000, 'the rollback answer');
  const after = (await api('GET', '/edge/admin/status')).json;
  const lastAudit = after.decisions?.[0];
  check('the operator\'s click rolled e2e-1 back through the session (CSRF header), confirmed in a dialog, audited as admin', after.canary === null && dialogs >= 1
    && lastAudit?.action === 'rollback' && lastAudit?.actor === 'admin', () => JSON.stringify({ canary: after.canary, dialogs, lastAudit, result: page.eval('document.getElementById("action-result").textContent') }));
  check('no console error after the operator\'s action', unexpected().length === 0, () => unexpected().join(' | '));
}

try {
  await main();
} catch (e) {
  check('console-e2e ran to the end', false, e.stack);
}
clearTimeout(watchdog);
await chromium?.close().catch(() => {});
await stack?.stop().catch(() => {});
console.log(`console-e2e: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
