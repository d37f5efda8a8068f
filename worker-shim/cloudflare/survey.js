// survey.js — POST /edge/feedback/survey: responses from survey tools (Zigpoll, Qualtrics, Typeform,
// anything that can POST JSON to a webhook) become `feedback` events, like POST /edge/feedback's
// (docs/lifecycle.md, *Survey webhooks*).
//
// The tool authenticates with the secret SURVEY_WEBHOOK_TOKEN (Authorization: Bearer, or ?token= for
// tools that only take a URL); without the secret the route does not exist (404).  A body is one
// response or an array of ≤ 100, ≤ 64 KiB.  In each response, at the top level or in one of the
// objects tools put hidden fields in (`metadata`, `hidden`, `hidden_fields`, `embeddedData`, `fields`):
//   item   `item`, `sku` or `product_sku`: the product the answer is about            (required)
//   rating `rating` 1..5, or `score` 0..10 (NPS, mapped to 1..5), or `thumbs` up|down  (required)
//   user   `edgerec_id`: the pseudonymous id GET /edge/profile shows (64 hex) — with it the event is
//          the shopper's and attributed to their arm and model; without it, anonymous (no KPI arm)
//   id     `response_id` / `responseId` / `id`: the tool's id; a re-sent response is one event
// Free text is never stored from a webhook.  The answer: 202 {accepted, rejected: [{index, error}]}.
import { readBounded } from '../core/body.js';
import { isPseudonymousId } from '../core/identity.js';
import { matchToken } from './admin-auth.js';
import { enqueue } from './events.js';

const MAX_BODY = 64 * 1024;
const MAX_RESPONSES = 100;
const NESTS = ['metadata', 'hidden', 'hidden_fields', 'embeddedData', 'fields'];
const NO_STORE = { 'cache-control': 'no-store' };
const dec = new TextDecoder();

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The first value of `names` in the response or its hidden-field objects (top level first). */
function field(r, names) {
  for (const o of [r, ...NESTS.map((n) => r[n]).filter(isObj)]) {
    for (const n of names) if (o[n] !== undefined && o[n] !== null && o[n] !== '') return o[n];
  }
  return undefined;
}

/** One survey response → {event} or {error} (the error names the field). */
export function surveyEvent(r) {
  if (!isObj(r)) return { error: 'must be a JSON object' };
  const item = field(r, ['item', 'sku', 'product_sku']);
  if (typeof item !== 'string' || !item || item.length > 128) return { error: 'item (or sku, product_sku): a product sku of 1..128 characters is required' };
  let rating;
  const thumbs = field(r, ['thumbs']);
  const score = field(r, ['score']);
  const given = field(r, ['rating']);
  const num = (v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
  if (given !== undefined) {
    rating = num(given);
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) return { error: 'rating must be an integer in 1..5' };
  } else if (score !== undefined) {
    const s = num(score);
    if (!Number.isInteger(s) || s < 0 || s > 10) return { error: 'score must be an integer in 0..10' };
    rating = 1 + Math.round((s * 4) / 10); // 0 → 1, 5 → 3, 10 → 5
  } else if (thumbs !== undefined) {
    if (thumbs !== 'up' && thumbs !== 'down') return { error: 'thumbs must be "up" or "down"' };
    rating = thumbs === 'up' ? 5 : 1;
  } else return { error: 'rating (1..5), score (0..10) or thumbs (up|down) is required' };
  const event = { type: 'feedback', item, rating, source: 'survey' };
  const user = field(r, ['edgerec_id']);
  if (user !== undefined) {
    if (!isPseudonymousId(user)) return { error: 'edgerec_id must be the 64-hex id GET /edge/profile shows' };
    event.user = user;
  }
  const rid = field(r, ['response_id', 'responseId', 'id']);
  if (rid !== undefined && (typeof rid === 'string' || typeof rid === 'number') && String(rid).length <= 128) event.response = String(rid);
  return { event };
}

async function eventId(response) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`survey:${response}`)));
  return 'survey-' + [...d.subarray(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The webhook.  io: { engine() → Engine|null (validates each event), who(uidHash) → {arm, version, run}|null
 * (the shopper's attribution), activeVersion() }.
 */
export async function surveyWebhook(request, env, ctx, io) {
  if (!env.SURVEY_WEBHOOK_TOKEN) return Response.json({ error: 'no route: set the secret SURVEY_WEBHOOK_TOKEN to receive survey webhooks' }, { status: 404, headers: NO_STORE });
  if (request.method !== 'POST') return Response.json({ error: 'method not allowed (use POST)' }, { status: 405, headers: { ...NO_STORE, allow: 'POST' } });
  const auth = request.headers.get('authorization') ?? '';
  const presented = auth.startsWith('Bearer ') ? auth.slice(7) : new URL(request.url).searchParams.get('token') ?? '';
  if (!presented || !(await matchToken([{ token: env.SURVEY_WEBHOOK_TOKEN }], presented))) {
    return Response.json({ error: 'unauthorized: send SURVEY_WEBHOOK_TOKEN as a bearer token or ?token=' }, { status: 401, headers: NO_STORE });
  }
  const read = await readBounded(request, MAX_BODY);
  if (read.over) return Response.json({ error: `body over ${MAX_BODY} bytes (the limit)` }, { status: 413, headers: NO_STORE });
  let body;
  try { body = JSON.parse(dec.decode(read.bytes)); } catch (e) { return Response.json({ error: `body is not JSON: ${e.message}` }, { status: 400, headers: NO_STORE }); }
  const list = Array.isArray(body) ? body : [body];
  if (!list.length || list.length > MAX_RESPONSES) return Response.json({ error: `send 1..${MAX_RESPONSES} responses` }, { status: 400, headers: NO_STORE });
  const engine = await io.engine(env);
  const out = [], rejected = [];
  const nowS = Math.round(Date.now()) / 1000;
  for (const [index, r] of list.entries()) {
    const { event, error } = surveyEvent(r);
    if (error) { rejected.push({ index, error }); continue; }
    event.id = event.response ? await eventId(event.response) : crypto.randomUUID();
    delete event.response;
    event.ts = nowS;
    const who = event.user ? await io.who(env, event.user) : null;
    if (who) {
      event.arm = who.arm;
      if (who.arm !== 'holdout' && who.version) event.model = who.version;
      if (who.run) event.run = who.run;
    } else if (io.activeVersion()) event.model = io.activeVersion();
    const problem = engine ? engine.checkEvent(JSON.stringify(event)) : null;
    if (problem) { rejected.push({ index, error: problem.replace(/^event: /, '') }); continue; }
    out.push(event);
  }
  if (out.length) await enqueue(env, out); // before answering: a tool that got 202 may forget the response
  return Response.json({ accepted: out.length, rejected }, { status: out.length || !rejected.length ? 202 : 400, headers: NO_STORE });
}
