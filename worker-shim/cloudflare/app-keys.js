// app-keys.js — the install keys of app ids in KV: proof of possession for GET and DELETE
// /edge/profile when the request names an app id (x-edgerec-id).  The key's format and check are
// core/app-key.js's; docs/profile.md (*Apps: proof of possession*) is the app developer's guide.
//
//   await registerAppKey(request, env) → Response   POST /edge/profile/key: 201 {key, id} the first
//                                                   time an install id asks, 409 once it has a key
//   await appProofRefusal(request, env) → Response | null   before GET|DELETE /edge/profile: null when
//                                                   the request proves possession of its app id (or names none)
//   await dropAppKey(env, uidHash)                   erasure of an app id (erasure.js): its registration goes too
//
// The proof, for a request with a well-formed x-edgerec-id:
// * the id has a registered key: x-edgerec-key must be that key (nothing else will do);
// * it has none (apps from before keys): its sealed profile, x-edgerec-profile, which opens under
//   the id (only the app holds it).  Weaker — anyone who sent events under the id holds one — so
//   apps register a key at their first launch, before they send anything.
// KV `appkey:<uidHash>` → {"nonce", "at"}: no raw id, no key (the key needs EDGEREC_ID_SECRET to rebuild).
import { appKeyMatches, newAppKey, sealedProfileProves } from '../core/app-key.js';
import { erasureIds, ID_HEADER, KEY_HEADER, PROFILE_HEADER } from '../core/identity.js';

const NO_STORE = { 'cache-control': 'no-store' };
const json = (status, body) => Response.json(body, { status, headers: NO_STORE });
const recordKey = (uidHash) => `appkey:${uidHash}`;

/** The app id's uidHash, or {response} when the request names none / the edge is not configured. */
async function appIdHash(request, env) {
  if (!request.headers.has(ID_HEADER)) return { uidHash: null };
  let ids;
  try { ids = await erasureIds(request, env); } catch { return { response: json(503, { error: 'edge not configured' }) }; }
  return { uidHash: ids.uidHash };
}

async function registered(env, uidHash) {
  const raw = await env.EDGEREC.get(recordKey(uidHash));
  if (raw === null) return null;
  try { const r = JSON.parse(raw); return typeof r?.nonce === 'string' ? r : { nonce: '' }; } catch { return { nonce: '' }; } // unreadable: held, matches nothing
}

/** POST /edge/profile/key: issue the install key of an app id that has none (201 {key, id}); 409 when
 * it has one (a lost key is not re-issued: the app starts a new install id), 400 without an app id. */
export async function registerAppKey(request, env) {
  const a = await appIdHash(request, env);
  if (a.response) return a.response;
  if (!a.uidHash) {
    return json(400, { error: `POST /edge/profile/key is for apps: send the install id in ${ID_HEADER} (8..128 of A-Z a-z 0-9 . _ : -); browsers need no key (their cookie is HttpOnly)` });
  }
  try {
    if (await registered(env, a.uidHash)) {
      return json(409, { error: `this install id already has a key: send it in ${KEY_HEADER}; a lost key is not issued again (start a new install id)` });
    }
    const { key, nonce } = await newAppKey(env.EDGEREC_ID_SECRET, a.uidHash);
    await env.EDGEREC.put(recordKey(a.uidHash), JSON.stringify({ nonce, at: Math.floor(Date.now() / 1000) }));
    return json(201, { key, id: a.uidHash, header: KEY_HEADER });
  } catch (e) {
    console.error(`edgerec: app key: ${e.message}`);
    return json(503, { error: 'the install key could not be registered: try again' });
  }
}

/** null when GET|DELETE /edge/profile may go on (no app id, or proof of it); else the 403 (or 503
 * when KV cannot be read) naming what is missing. */
export async function appProofRefusal(request, env) {
  const a = await appIdHash(request, env);
  if (a.response) return a.response;
  if (!a.uidHash) return null; // no app id (a browser), or a malformed one: nothing of an app id is touched
  let rec;
  try { rec = await registered(env, a.uidHash); } catch (e) {
    console.error(`edgerec: app key: ${e.message}`);
    return json(503, { error: 'the install key could not be checked: try again' });
  }
  const sent = request.headers.get(KEY_HEADER);
  if (sent !== null) {
    if (rec && await appKeyMatches(env.EDGEREC_ID_SECRET, a.uidHash, sent, rec.nonce)) return null;
    return json(403, { error: `${KEY_HEADER} is not the install key of this ${ID_HEADER}` });
  }
  if (rec) return json(403, { error: `this ${ID_HEADER} has an install key: send it in ${KEY_HEADER}` });
  if (await sealedProfileProves(env, a.uidHash, request.headers)) return null;
  return json(403, { error: `proof of possession required for an app id: send ${KEY_HEADER} (POST /edge/profile/key issues it) or the app's sealed profile in ${PROFILE_HEADER}` });
}

/** Drop the key registration of the id with this uidHash (erasure.js: DELETE /edge/profile of an app
 * id, an operator's erasure); KV errors propagate (the erasure reports them). */
export async function dropAppKey(env, uidHash) {
  await env.EDGEREC.delete(recordKey(uidHash));
}
