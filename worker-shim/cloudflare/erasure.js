// erasure.js — erasing a shopper: what DELETE /edge/profile (the shopper, from their browser or app) and
// POST /edge/admin/erasures (an operator, for a request that reached the store another way: an email,
// a support ticket, a privacy portal) both do.  docs/profile.md *Erasure*; the purge of past events that
// follows is retention.js's.
//
//   await eraseIds(env, {uidHash, customerKey}, nowS, {appKey}) → tombstones written (0..2); KV / D1
//                                                errors propagate (the caller answers 503: try again)
//   await adminErasure(body, env, actor)        → Response   POST /edge/admin/erasures (body: its JSON)
//
// The operator names the shopper by what edgerec can know without keeping anything else:
//   {"id": "<64 hex>"}          the pseudonymous id GET /edge/profile shows the shopper (browser or app)
//   {"customer_id": "<digits>"} a signed-in customer's Magento id, when MAGENTO_JWT_KEY is set (Magento ≥ 2.4.4
//                               JWTs carry it; with opaque tokens the key is per token and cannot be derived)
// A tombstone already there keeps its time (the purge's clock started then).  The audit log gets an `erase`
// row with the actor and which kind of id, never the id (the tombstone is the record of it).
import { customerIdKey, forgetProfiles, isPseudonymousId } from '../core/identity.js';
import { jwtMode } from '../core/customer-token.js';
import { tombstoneKey } from './events.js';
import { forgetCustomer } from './profile-sync.js';
import { dropAppKey } from './app-keys.js';
import { audit } from './lifecycle.js';

const CUSTOMER_RE = /^[1-9][0-9]{0,15}$/;
const NO_STORE = { 'cache-control': 'no-store' };
const json = (status, body) => Response.json(body, { status, headers: NO_STORE });

/** Tombstone the shopper's ids (excluded from every later export and training run, purged from the
 * log by the retention sweep), forget what this isolate memoized of them, drop a signed-in customer's KV
 * profile and sync row and, with appKey, an app id's install key.  keepExisting: a tombstone already
 * there keeps its time.  Returns how many tombstones now stand for the ids. */
export async function eraseIds(env, { uidHash = null, customerKey = null }, nowS, { appKey = false, keepExisting = false } = {}) {
  const keys = [uidHash, customerKey].filter(Boolean);
  for (const k of keys) forgetProfiles(k); // no plaintext of it stays in this isolate's memo
  for (const k of keys) {
    if (keepExisting && (await env.EDGEREC.get(tombstoneKey(k))) !== null) continue;
    await env.EDGEREC.put(tombstoneKey(k), String(nowS));
  }
  if (customerKey) {
    await env.EDGEREC.delete(`profile:${customerKey}`);
    await forgetCustomer(env, customerKey); // pending trailing writes find no row
  }
  if (appKey && uidHash) await dropAppKey(env, uidHash); // an app id's install key registration
  return keys.length;
}

/** POST /edge/admin/erasures: erase a shopper named by their pseudonymous id or Magento customer id
 * (400 naming the field otherwise); 200 {erased, tombstones, kind}.  `body`: the request's JSON, read by
 * admin.js (bounded); operators only (admin-auth.js). */
export async function adminErasure(body, env, actor) {
  if (!env.EDGEREC) return json(503, { error: 'KV binding EDGEREC is missing' });
  if (!body || typeof body !== 'object' || Array.isArray(body)) return json(400, { error: 'body: must be a JSON object' });
  const names = ['id', 'customer_id'].filter((k) => body[k] !== undefined);
  const extra = Object.keys(body).filter((k) => k !== 'id' && k !== 'customer_id' && k !== 'reason');
  if (extra.length) return json(400, { error: `body: unknown field '${String(extra[0]).slice(0, 32)}' (id, customer_id, reason)` });
  if (names.length !== 1) return json(400, { error: 'body: give exactly one of id (the pseudonymous id GET /edge/profile shows) and customer_id' });
  if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 200)) return json(400, { error: 'reason: a string of at most 200 characters' });
  let ids, kind;
  if (names[0] === 'id') {
    if (!isPseudonymousId(body.id)) return json(400, { error: 'id: must be 64 lowercase hex characters (the pseudonymous id GET /edge/profile shows)' });
    ids = { uidHash: body.id };
    kind = 'id';
  } else {
    const c = typeof body.customer_id === 'number' ? String(body.customer_id) : body.customer_id;
    if (typeof c !== 'string' || !CUSTOMER_RE.test(c) || !Number.isSafeInteger(Number(c))) return json(400, { error: 'customer_id: must be a Magento customer id (a positive integer)' });
    const mode = jwtMode(env);
    if (!mode || typeof mode !== 'object') {
      return json(400, { error: 'customer_id: needs MAGENTO_JWT_KEY (with opaque customer tokens the edge keys profiles by token, not by customer: erase by id instead)' });
    }
    ids = { customerKey: await customerIdKey(env, c) }; // what the customer's token is keyed by
    kind = 'customer_id';
  }
  try {
    const tombstones = await eraseIds(env, ids, Math.floor(Date.now() / 1000), { appKey: true, keepExisting: true });
    if (env.DB) await audit(env, { action: 'erase', actor, reason: `by ${kind}${body.reason ? `: ${body.reason}` : ''}` });
    return json(200, { erased: true, tombstones, kind, purge: 'past events are purged by the next retention sweep (GET /edge/admin/retention)' });
  } catch (e) {
    console.error(`edgerec: admin erasure: ${e.message}`);
    return json(503, { erased: false, error: 'the erasure could not be recorded: try again' });
  }
}
