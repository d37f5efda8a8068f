// fake-admin.mjs — a small stand-in for the edge Worker's admin API (the
// contract in src/cli/er_admin.h), for tests/suites/admin-cli.sh.  node:http on
// 127.0.0.1, a random free port written to --port-file; every request is
// appended to --log as one JSON line (method, url, authorization, content-type,
// expect, body length, sha256, body text when it is JSON) before it is answered.
//
//   node fake-admin.mjs --token T --log FILE --port-file FILE
//        [--preload BUNDLE.erb] (stored and active) [--events N | --events-file F.ndjson] [--page-size P] [--max-bytes N]
//        [--tls-cert PEM --tls-key PEM] (HTTPS with that certificate)
//
// Units (/edge/admin/units[/:id]: GET, PUT, POST, DELETE) keep an in-memory set through
// worker-shim/core/units.js — the Worker's own validation, limits, defaults and messages — in the
// shape units-store.js answers ({revision, units, pageTypes}, {unit, created, changed, revision},
// {deleted, revision}); bodies over 64 KiB are 413.
//
// Path prefixes select misbehaviour: /moved (308 to elsewhere), /slow (never
// answers), /html (502 HTML page), /loop (events: the same cursor forever),
// /badtype (events as application/json), /evil (bundle downloads corrupted).
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { UnitError, findUnit, planDelete, planPut, unitListing } from '../../worker-shim/core/units.js';
import { parseSegment } from '../../worker-shim/core/segments.js';

const args = Object.create(null);
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const TOKEN = args.token;
const MAX_BYTES = Number(args['max-bytes'] ?? 25 * 1024 * 1024);
const PAGE = Number(args['page-size'] ?? 3);
const N_EVENTS = Number(args.events ?? 7);
if (!TOKEN || !args.log || !args['port-file']) { console.error('need --token, --log, --port-file'); process.exit(2); }

const bundles = new Map(); // version → Buffer
let manifest = { active: null, canary: null, percent: 0, holdout: 5, segment: null, scope: null, paused: false };
const decisions = [];
const units = { revision: 0, stored: [] };
const MAX_UNIT_BODY = 64 * 1024;

function bundleInfo(buf) {
  if (buf.length < 64 || buf.subarray(0, 8).toString('latin1') !== 'EDGERECB') return { error: 'invalid bundle: bad magic (not an edgerec bundle)' };
  if (buf.readUInt32LE(20) !== buf.length) return { error: `invalid bundle: truncated (header says ${buf.readUInt32LE(20)} bytes, got ${buf.length})` };
  const version = buf.subarray(40, 64).toString('latin1').replace(/\0+$/, '');
  let model = 'unknown';
  const nsec = buf.readUInt32LE(36);
  for (let s = 0; s < nsec; s++) {
    const at = 64 + 16 * s;
    if (buf.readUInt32LE(at) === 14) model = buf[buf.readUInt32LE(at + 4)] === 1 ? 'linear' : 'trees';
  }
  return { version, model };
}

// events: e-1 … e-N, one a minute; cursors hold characters that need escaping
// --events-file F serves F's NDJSON events as the log instead (tests/suites/retrain.sh)
const EVENTS = args['events-file']
  ? fs.readFileSync(args['events-file'], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  : Array.from({ length: N_EVENTS }, (_, i) => ({
    type: 'view', item: `ER-SKU-${i + 1}`, ts: 1700000000 + 60 * i, session: `s-${Math.floor(i / 3)}`, id: `e-${i + 1}` }));
const cursorFor = (offset) => `c+${offset}/x&y=z==`;
const offsetOf = (cursor) => { const m = /^c\+(\d+)\/x&y=z==$/.exec(cursor); return m ? Number(m[1]) : -1; };

const manifestJson = () => ({ ...manifest });
function send(res, status, obj, headers = {}) {
  const body = typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

const onRequest = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const ctype = req.headers['content-type'] ?? null;
    fs.appendFileSync(args.log, JSON.stringify({
      method: req.method, url: req.url, authorization: req.headers.authorization ?? null, ctype,
      expect: req.headers.expect ?? null, accept: req.headers.accept ?? null, actor: req.headers['x-edgerec-actor'] ?? null, len: body.length,
      sha256: crypto.createHash('sha256').update(body).digest('hex'),
      json: ctype && ctype.includes('json') ? body.toString('utf8') : null,
    }) + '\n');
    handle(req, res, body);
  });
};
const server = args['tls-cert']
  ? https.createServer({ cert: fs.readFileSync(args['tls-cert']), key: fs.readFileSync(args['tls-key']) }, onRequest)
  : http.createServer(onRequest);

function handle(req, res, body) {
  const u = new URL(req.url, 'http://fake');
  let path = u.pathname, mode = '';
  const m = /^\/(moved|slow|html|loop|badtype|evil)(\/.*)$/.exec(path);
  if (m) { mode = m[1]; path = m[2]; }
  if (mode === 'slow') return; // never answers
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: 'missing or wrong admin token' });
  if (mode === 'moved') return send(res, 308, { error: 'moved' }, { location: `http://elsewhere.invalid${path}` });
  if (mode === 'html') return send(res, 502, '<html><body><h1>502 Bad Gateway</h1>\n<p>upstream went away</p></body></html>', { 'content-type': 'text/html' });

  let r;
  if ((r = /^\/edge\/admin\/bundles\/([^/]+)$/.exec(path))) {
    const version = decodeURIComponent(r[1]);
    if (req.method === 'PUT') {
      if (body.length > MAX_BYTES) return send(res, 413, { error: `bundle too large: ${body.length} bytes (limit ${MAX_BYTES})` });
      const info = bundleInfo(body);
      if (info.error) return send(res, 400, { error: info.error });
      if (info.version !== version) return send(res, 400, { error: `the bundle's version is ${info.version}, not ${version}` });
      const had = bundles.get(version);
      if (had && !had.equals(body)) return send(res, 409, { error: `version ${version} already holds a different bundle` });
      bundles.set(version, Buffer.from(body));
      return send(res, had ? 200 : 201, { version, bytes: body.length, model: info.model, work_units: 1234 });
    }
    if (req.method === 'GET') {
      const b = bundles.get(version);
      if (!b) return send(res, 404, { error: `no bundle ${version}` });
      const out = Buffer.from(b);
      if (mode === 'evil') out[out.length - 1] ^= 0xff;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(out);
    }
    return send(res, 405, { error: 'method not allowed' });
  }
  if ((r = /^\/edge\/admin\/units(?:\/([^/]+))?$/.exec(path))) return unitsRoute(req, res, body, r[1]);
  if (path === '/edge/admin/status' && req.method === 'GET') {
    const versions = {};
    for (const v of bundles.keys()) versions[v] = { requests: 100, reranked: 90, clicks: 7, ctr: 0.07 };
    // unit KPIs per version and type (attribution.js's shape); a type id with a terminal escape, as a storefront could send
    const fig = (views, clicks, purchases, revenue) => ({ renders: views + 5, views, clicks, add_to_cart_clicks: 1, carts: purchases + 1, purchases, revenue,
      ctr: views ? clicks / views : null, add_to_cart_rate: clicks ? (purchases + 1) / clicks : null, conversion: clicks ? purchases / clicks : null });
    const units = {};
    for (const v of bundles.keys()) units[v] = { units: [], types: { 'viewed-viewed': fig(200, 30, 3, 134.5), '\u001b[31mevil': fig(0, 0, 0, 0) } };
    return send(res, 200, { ...manifestJson(), versions, units, decisions });
  }
  if (path === '/edge/admin/rollout' && req.method === 'POST') {
    let j;
    try { j = JSON.parse(body.toString('utf8')); } catch { return send(res, 400, { error: 'body is not JSON' }); }
    if (typeof j.canary !== 'string' || !Number.isInteger(j.percent) || j.percent < 1 || j.percent > 100)
      return send(res, 400, { error: 'need {"canary":"VERSION","percent":1..100}' });
    if (!bundles.has(j.canary)) return send(res, 409, { error: `unknown version ${j.canary}` });
    if (j.canary === manifest.active) return send(res, 409, { error: `${j.canary} is already active` });
    const seg = 'segment' in j ? parseSegment(j.segment) : { segment: manifest.canary === j.canary ? manifest.segment : null };
    if (seg.error) return send(res, 400, { error: seg.error }); // the Worker's own check and message (core/segments.js)
    manifest = { ...manifest, canary: j.canary, percent: j.percent, segment: seg.segment };
    decisions.push({ action: 'rollout', canary: j.canary, percent: j.percent });
    return send(res, 200, manifestJson());
  }
  if ((path === '/edge/admin/promote' || path === '/edge/admin/rollback') && req.method === 'POST') {
    if (!manifest.canary) return send(res, 409, { error: 'no canary' });
    if (path.endsWith('promote')) manifest = { ...manifest, active: manifest.canary, canary: null, percent: 0, segment: null };
    else manifest = { ...manifest, canary: null, percent: 0, segment: null };
    decisions.push({ action: path.split('/').pop() });
    return send(res, 200, manifestJson());
  }
  if (path === '/edge/admin/scope' && req.method === 'PUT') {
    let j;
    try { j = JSON.parse(body.toString('utf8')); } catch { return send(res, 400, { error: 'body is not JSON' }); }
    if (!j || typeof j !== 'object' || !('scope' in j)) return send(res, 400, { error: 'body must be {"scope": {…} | null}' });
    const seg = parseSegment(j.scope);
    if (seg.error) return send(res, 400, { error: seg.error.replace(/^segment/, 'scope') });
    manifest = { ...manifest, scope: seg.segment };
    decisions.push({ action: 'scope' });
    return send(res, 200, manifestJson());
  }
  if ((path === '/edge/admin/pause' || path === '/edge/admin/resume') && req.method === 'POST') {
    let j = {};
    if (body.length) { try { j = JSON.parse(body.toString('utf8')); } catch { return send(res, 400, { error: 'body is not JSON' }); } }
    manifest = { ...manifest, paused: path.endsWith('pause') };
    decisions.push({ action: path.split('/').pop(), reason: j.reason ?? null });
    return send(res, 200, manifestJson());
  }
  if (path === '/edge/admin/events' && req.method === 'GET') {
    const since = u.searchParams.has('since') ? Number(u.searchParams.get('since')) : 0;
    if (Number.isNaN(since)) return send(res, 400, { error: 'bad since' });
    let offset = 0;
    if (u.searchParams.has('cursor')) {
      offset = offsetOf(u.searchParams.get('cursor'));
      if (offset < 0) return send(res, 400, { error: `bad cursor ${JSON.stringify(u.searchParams.get('cursor'))}` });
    }
    const all = EVENTS.filter((e) => e.ts >= since);
    const page = all.slice(offset, offset + PAGE);
    const headers = { 'content-type': mode === 'badtype' ? 'application/json' : 'application/x-ndjson' };
    if (mode === 'loop') headers['x-edgerec-next-cursor'] = cursorFor(0);
    else if (offset + PAGE < all.length) headers['x-edgerec-next-cursor'] = cursorFor(offset + PAGE);
    res.writeHead(200, headers);
    return res.end(page.map((e) => JSON.stringify(e) + '\n').join(''));
  }
  return send(res, 404, { error: `no route ${req.method} ${path}` });
}

// The Worker's units routes (admin.js over units-store.js), in memory.
function unitsRoute(req, res, body, rawId) {
  let id;
  try { id = rawId === undefined ? undefined : decodeURIComponent(rawId); } catch { return send(res, 400, { error: 'unitId: the path is not valid percent-encoding' }); }
  const json = () => {
    if (body.length > MAX_UNIT_BODY) throw new UnitError(413, `body over ${MAX_UNIT_BODY} bytes (the limit)`);
    try { return JSON.parse(body.toString('utf8')); } catch { throw new UnitError(400, 'body must be JSON: a unit {"unitName", "typeId", "pageType", …}'); }
  };
  const apply = (plan) => { units.stored = plan.units; units.revision++; };
  try {
    if (id === undefined && req.method === 'GET') return send(res, 200, { revision: units.revision, updated: 0, ...unitListing(units.stored) });
    if (id === undefined && req.method === 'POST') {
      const plan = planPut(units.stored, json(), { create: true });
      apply(plan);
      return send(res, 201, { unit: plan.unit, created: true, changed: true, revision: units.revision });
    }
    if (id !== undefined && req.method === 'GET') return send(res, 200, findUnit(units.stored, id));
    if (id !== undefined && req.method === 'PUT') {
      const plan = planPut(units.stored, json(), { id });
      if (plan.changed) apply(plan);
      return send(res, plan.created ? 201 : 200, { unit: plan.unit, created: plan.created, changed: plan.changed, revision: units.revision });
    }
    if (id !== undefined && req.method === 'DELETE') {
      const plan = planDelete(units.stored, id);
      apply(plan);
      return send(res, 200, { deleted: plan.unit, revision: units.revision });
    }
  } catch (e) {
    if (e instanceof UnitError) return send(res, e.status, { error: e.message, ...(e.errors ? { errors: e.errors } : {}) });
    throw e;
  }
  return send(res, 404, { error: `no route ${req.method} ${req.url}` });
}

if (args.preload) {
  const b = fs.readFileSync(args.preload);
  const info = bundleInfo(b);
  if (info.error) { console.error(info.error); process.exit(2); }
  bundles.set(info.version, b);
  manifest.active = info.version;
}
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  fs.writeFileSync(args['port-file'] + '.tmp', String(port));
  fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
