// admin-auth.js — who may call /edge/admin/* and as whom (docs/admin.md).
//
// Three ways in, each giving an actor {name, role, via}:
// * token:   Authorization: Bearer <token>.  Named tokens in the secret EDGEREC_ADMIN_TOKENS
//            (JSON {"alice":{"role":"operator","token":"…"}} or "alice:operator:…,bob:viewer:…");
//            the old single secret EDGEREC_ADMIN_TOKEN is an operator token whose actor is "admin".
//            Compared in constant time (SHA-256 digests, every configured token checked).  An
//            operator token may name an automation with x-edgerec-actor (e.g. "retrain").
// * access:  Cf-Access-Jwt-Assertion, a Cloudflare Access JWT (RS256) checked against the team's
//            JWKS (CF_ACCESS_TEAM_DOMAIN, cached), aud = CF_ACCESS_AUD, iss, exp / nbf; the role from
//            CF_ACCESS_ROLES ("alice@example.com:operator,*@example.com:viewer").
// * session: the er_admin cookie POST /edge/admin/login sets (AES-GCM under EDGEREC_COOKIE_KEY,
//            8 h, HttpOnly; Secure; SameSite=Strict; Path=/edge/admin).  State-changing requests
//            made with it carry its CSRF token in x-edgerec-csrf and a same-origin Origin.
// Roles: operator ⊇ viewer; metrics only scrapes GET /edge/admin/metrics (an operator may too).
// Failed token presentations back off per client (core/traffic.js connectionKey), kept in D1: after
// FREE_FAILURES failed logins (FREE_BEARER_FAILURES wrong bearer tokens, counted apart so a script's
// retries cannot lock a person out), a lockout doubling from LOCK_BASE_S up to LOCK_MAX_S (429 + Retry-After).
import { connectionKey } from '../core/traffic.js';
import { fromBase64url, openProfile, parseCookies, sealProfile, serializeCookie, toBase64url } from '../core/identity.js';
import { readBounded } from '../core/body.js';

export const SESSION_COOKIE = 'er_admin';
export const CSRF_HEADER = 'x-edgerec-csrf';
export const ACTOR_HEADER = 'x-edgerec-actor';
export const SESSION_TTL_S = 8 * 3600;
export const FREE_FAILURES = 5;     // failed logins before the first lockout
export const FREE_BEARER_FAILURES = 100; // wrong bearer tokens (scripts, scrapers) before theirs
export const LOCK_BASE_S = 30;      // the first lockout; doubles with each further failure
export const LOCK_MAX_S = 3600;
const FAILURE_MEMORY_S = 24 * 3600; // a client's failures are forgotten a day after the last
const JWKS_TTL_MS = 10 * 60_000;    // Access rotates keys every 6 weeks, the old one stays valid 7 days
const JWKS_REFETCH_MS = 30_000;     // an unknown kid refetches at most this often
const CLOCK_SKEW_S = 60;
const MAX_LOGIN_BYTES = 4096;
const SESSION_AD = 'er_admin/1'; // the cookie's additional data: never valid as a profile cookie
const ROLES = ['viewer', 'operator', 'metrics'];
const MAX_RING = 4;                 // tokens one name may hold at once (a rotation needs two)
const AUTOMATION_ACTOR = /^[a-z][a-z0-9-]{0,31}$/;
const RESERVED_ACTORS = new Set(['guardrail', 'admin', 'retention']); // the cron's own rows, the legacy token
const NO_STORE = { 'cache-control': 'no-store' };
const enc = new TextEncoder();

const deny = (status, error, extra = {}) => ({ ok: false, response: Response.json({ error }, { status, headers: { ...NO_STORE, ...extra } }) });

/** Whether an actor of `role` may do what `need` asks ('viewer' | 'operator' | 'metrics'; 'any': every role). */
export function allows(role, need) {
  if (role === 'operator' || need === 'any') return true;
  return role === need;
}

/** The role a route needs: metrics → 'metrics'; the event log and bundle bytes → 'operator';
 * other reads → 'viewer'; anything that changes state → 'operator'. */
export function requiredRole(method, path) {
  if (path === 'metrics') return 'metrics';
  const read = method === 'GET' || method === 'HEAD';
  if (!read) return 'operator';
  if (path === 'events' || path.startsWith('bundles/')) return 'operator';
  return 'viewer';
}

// ---- paths ---------------------------------------------------------------------------------------

/** Whether `pathname` (as the URL parser left it: dot segments resolved, nothing decoded) is an
 * edgerec path in disguise: it does not start with /edge/, but read as another server might read it
 * (percent-decoded up to 3 times, `\` as `/`, any case, `;params`, a segment's trailing dots and
 * spaces dropped, `.` / `..` resolved, empty segments dropped) it is /edge or under /edge/.  The
 * Worker refuses those (404) rather than pass them, with their headers, to the origin. */
export function disguisedEdgePath(pathname) {
  if (pathname.startsWith('/edge/')) return false; // routed by the Worker, exactly (anything else: 404)
  let p = pathname;
  for (let i = 0; i < 3; i++) {
    let d;
    try { d = decodeURIComponent(p); } catch { d = p.replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))); }
    if (d === p) break;
    p = d;
  }
  const out = [];
  for (const raw of p.replace(/\\/g, '/').toLowerCase().split('/')) {
    const seg = raw.replace(/;.*$/s, '');
    if (seg === '..') { out.pop(); continue; }
    const bare = seg.replace(/[.\s\0]+$/, '');
    if (bare) out.push(bare);
  }
  const n = `/${out.join('/')}`;
  return n === '/edge' || n.startsWith('/edge/');
}

// ---- configuration ------------------------------------------------------------------------------

/** The configured tokens [{name, role, token}] (EDGEREC_ADMIN_TOKENS, then EDGEREC_ADMIN_TOKEN as
 * "admin"), or {error} naming the malformed entry.  A name may hold a ring of tokens, all valid at
 * once (rotation without downtime, docs/admin.md): {"alice":{"role":"operator","tokens":["NEW","OLD"]}}
 * or the name repeated in the list form (alice:operator:NEW,alice:operator:OLD); one name, one role. */
export function parseTokens(env) {
  const out = [];
  const raw = env.EDGEREC_ADMIN_TOKENS;
  if (typeof raw === 'string' && raw.trim()) {
    const t = raw.trim();
    let entries;
    if (t.startsWith('{')) {
      let obj;
      try { obj = JSON.parse(t); } catch { return { error: 'EDGEREC_ADMIN_TOKENS is not valid JSON' }; }
      entries = [];
      for (const [name, v] of Object.entries(obj ?? {})) {
        if (v?.tokens === undefined) { entries.push([name, v?.role, v?.token]); continue; }
        if (!Array.isArray(v.tokens) || !v.tokens.length || v.tokens.length > MAX_RING || v.token !== undefined) {
          return { error: `EDGEREC_ADMIN_TOKENS (${name}): "tokens" must be an array of 1..${MAX_RING} tokens, without "token"` };
        }
        for (const token of v.tokens) entries.push([name, v.role, token]);
      }
    } else {
      entries = t.split(',').map((e) => e.trim()).filter(Boolean).map((e) => {
        const a = e.indexOf(':'), b = e.indexOf(':', a + 1);
        return a < 0 || b < 0 ? [e.slice(0, Math.max(a, 0)) || e, undefined, undefined] : [e.slice(0, a), e.slice(a + 1, b), e.slice(b + 1)];
      });
    }
    const roleOf = new Map();
    for (const [i, [name, role, token]] of entries.entries()) {
      const where = `EDGEREC_ADMIN_TOKENS entry ${i + 1}`;
      if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) return { error: `${where}: the name must be 1..64 of A-Z a-z 0-9 . _ -` };
      if (!ROLES.includes(role)) return { error: `${where} (${name}): role must be viewer, operator or metrics` };
      if (typeof token !== 'string' || token.length < 16 || /[^\x21-\x7e]/.test(token)) {
        return { error: `${where} (${name}): the token must be at least 16 visible ASCII characters` };
      }
      if (roleOf.has(name) && roleOf.get(name) !== role) return { error: `${where} (${name}): every token of one name must have the same role` };
      if (out.some((t) => t.token === token)) return { error: `${where} (${name}): this token is configured twice` };
      roleOf.set(name, role);
      out.push({ name, role, token, actor: `token:${name}` });
    }
  }
  if (typeof env.EDGEREC_ADMIN_TOKEN === 'string' && env.EDGEREC_ADMIN_TOKEN) {
    out.push({ name: 'admin', role: 'operator', token: env.EDGEREC_ADMIN_TOKEN, actor: 'admin' });
  }
  return { tokens: out };
}

const digest = async (s) => new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(s)));

// The configured token equal to `presented` (every one compared, digests, fixed-length loops) or null.
export async function matchToken(tokens, presented) {
  const p = await digest(presented);
  let found = null;
  for (const t of tokens) {
    const d = await digest(t.token);
    let diff = 0;
    for (let i = 0; i < d.length; i++) diff |= d[i] ^ p[i];
    if (diff === 0 && !found) found = t;
  }
  return found;
}

// A short fingerprint of a token, kept in the session so that rotating the token ends its sessions.
const fingerprint = async (token) => toBase64url((await digest(`er_admin:${token}`)).subarray(0, 12));

// ---- backoff ------------------------------------------------------------------------------------

let backoffReady = null;
function backoffTable(db) {
  backoffReady ??= db.prepare(`CREATE TABLE IF NOT EXISTS admin_auth_failures (client TEXT PRIMARY KEY,
    failures INTEGER NOT NULL, locked_until INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL)`).run()
    .catch((e) => { backoffReady = null; throw e; });
  return backoffReady;
}

/** The client's key for the backoff: the connection key (ASN + truncated address, per day). */
export async function clientKey(request, env, nowMs = Date.now()) {
  return connectionKey(env.EDGEREC_ID_SECRET || 'edgerec-admin', {
    asn: request.cf?.asn, address: request.headers.get('cf-connecting-ip'), nowMs,
  });
}

/** {wait: seconds this client must still wait (0: it may try), known: it has failures on record}. */
async function lockedFor(env, client, nowMs) {
  if (!env.DB) return { wait: 0, known: false };
  await backoffTable(env.DB);
  const r = await env.DB.prepare('SELECT locked_until FROM admin_auth_failures WHERE client = ?').bind(client).first();
  return { wait: r && r.locked_until > nowMs ? Math.ceil((r.locked_until - nowMs) / 1000) : 0, known: !!r };
}

/** The lockout after `failures` failures, in seconds (0 for the first `free` - 1). */
export function lockSeconds(failures, free = FREE_FAILURES) {
  if (failures < free) return 0;
  return Math.min(LOCK_MAX_S, LOCK_BASE_S * 2 ** Math.min(failures - free, 20));
}

async function recordFailure(env, client, nowMs, free) {
  if (!env.DB) return 0;
  await backoffTable(env.DB);
  const r = await env.DB.prepare(`INSERT INTO admin_auth_failures (client, failures, locked_until, updated) VALUES (?, 1, 0, ?)
    ON CONFLICT (client) DO UPDATE SET failures = CASE WHEN updated < ? THEN 1 ELSE failures + 1 END, updated = excluded.updated
    RETURNING failures`).bind(client, nowMs, nowMs - FAILURE_MEMORY_S * 1000).first();
  const lock = lockSeconds(r.failures, free);
  if (lock) await env.DB.prepare('UPDATE admin_auth_failures SET locked_until = ? WHERE client = ?').bind(nowMs + lock * 1000, client).run();
  // prune: a client is forgotten a day after its last failure
  await env.DB.prepare('DELETE FROM admin_auth_failures WHERE updated < ? AND locked_until < ?').bind(nowMs - FAILURE_MEMORY_S * 1000, nowMs).run();
  return lock;
}

async function clearFailures(env, client) {
  if (env.DB) await env.DB.prepare('DELETE FROM admin_auth_failures WHERE client = ?').bind(client).run();
}

const tooMany = (s) => deny(429, `too many failed attempts from this client: retry in ${s} s`, { 'retry-after': String(s) });

/** A presented token checked with the backoff of its kind ('login' | 'bearer'):
 * {ok, token} or {ok: false, response} (401 / 429 / 500). */
async function checkToken(request, env, presented, nowMs, kind) {
  const conf = parseTokens(env);
  if (conf.error) return deny(500, `admin tokens misconfigured: ${conf.error}`);
  if (!conf.tokens.length) return deny(401, 'no admin token is configured (EDGEREC_ADMIN_TOKENS or EDGEREC_ADMIN_TOKEN)', { 'www-authenticate': 'Bearer' });
  const client = `${kind}:${await clientKey(request, env, nowMs)}`;
  const { wait, known } = await lockedFor(env, client, nowMs);
  if (wait) return tooMany(wait);
  const t = await matchToken(conf.tokens, presented);
  if (!t) {
    const lock = await recordFailure(env, client, nowMs, kind === 'login' ? FREE_FAILURES : FREE_BEARER_FAILURES);
    if (lock) return tooMany(lock);
    return deny(401, 'unauthorized: unknown admin token', { 'www-authenticate': 'Bearer' });
  }
  if (known) await clearFailures(env, client); // a write only after failures (scrapes stay read-only)
  return { ok: true, token: t };
}

// ---- Cloudflare Access --------------------------------------------------------------------------

const jwksCache = new Map(); // certs URL → {keys: Map(kid → Promise<CryptoKey>), fetched}

/** The team's issuer, "https://<team>.cloudflareaccess.com", from CF_ACCESS_TEAM_DOMAIN ("team" or
 * the full domain, with or without https://), or null when unset/invalid. */
export function accessIssuer(env) {
  const raw = typeof env.CF_ACCESS_TEAM_DOMAIN === 'string' ? env.CF_ACCESS_TEAM_DOMAIN.trim().replace(/^https:\/\//, '').replace(/\/+$/, '') : '';
  if (!raw) return null;
  const host = raw.includes('.') ? raw : `${raw}.cloudflareaccess.com`;
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(host) ? `https://${host.toLowerCase()}` : null;
}

async function fetchJwks(url, nowMs) {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`JWKS ${url}: HTTP ${res.status}`);
  const body = await res.json();
  const keys = new Map();
  for (const k of Array.isArray(body?.keys) ? body.keys : []) {
    if (k?.kty !== 'RSA' || typeof k.kid !== 'string') continue;
    keys.set(k.kid, crypto.subtle.importKey('jwk', { kty: 'RSA', n: k.n, e: k.e, alg: 'RS256', ext: true },
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['verify']));
  }
  const entry = { keys, fetched: nowMs };
  jwksCache.set(url, entry);
  return entry;
}

async function accessKey(url, kid, nowMs) {
  let e = jwksCache.get(url);
  if (!e || nowMs - e.fetched > JWKS_TTL_MS) e = await fetchJwks(url, nowMs);
  if (!e.keys.has(kid) && nowMs - e.fetched > JWKS_REFETCH_MS) e = await fetchJwks(url, nowMs);
  return e.keys.get(kid) ?? null;
}

/** The role CF_ACCESS_ROLES gives an identity (an email, or a service token's common_name):
 * "alice@example.com:operator,*@example.com:viewer" — the first matching entry; exact names or
 * "*@domain"; null when none matches. */
export function accessRole(env, who) {
  const spec = typeof env.CF_ACCESS_ROLES === 'string' ? env.CF_ACCESS_ROLES : '';
  const w = String(who).toLowerCase();
  for (const entry of spec.split(',')) {
    const i = entry.lastIndexOf(':');
    if (i <= 0) continue;
    const pat = entry.slice(0, i).trim().toLowerCase(), role = entry.slice(i + 1).trim();
    if (!ROLES.includes(role)) continue;
    if (pat === w || (pat.startsWith('*@') && w.endsWith(pat.slice(1)))) return role;
  }
  return null;
}

const jsonPart = (s) => { const b = fromBase64url(s); if (!b) return null; try { return JSON.parse(new TextDecoder().decode(b)); } catch { return null; } };

/** Verify a Cloudflare Access JWT → {identity, claims} or {error} (what was wrong, for the 401). */
export async function verifyAccessJwt(env, jwt, nowMs = Date.now()) {
  const iss = accessIssuer(env);
  const aud = typeof env.CF_ACCESS_AUD === 'string' ? env.CF_ACCESS_AUD.trim() : '';
  if (!iss || !aud) return { error: 'Cloudflare Access is not configured (CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD)' };
  const parts = typeof jwt === 'string' ? jwt.split('.') : [];
  if (parts.length !== 3) return { error: 'the Access token is not a JWT' };
  const header = jsonPart(parts[0]), claims = jsonPart(parts[1]), sig = fromBase64url(parts[2]);
  if (!header || !claims || !sig) return { error: 'the Access token is not a JWT' };
  if (header.alg !== 'RS256') return { error: `the Access token's alg is ${JSON.stringify(header.alg)}, not RS256` };
  let key;
  try { key = await accessKey(`${iss}/cdn-cgi/access/certs`, String(header.kid), nowMs); } catch (e) { return { error: `the Access keys could not be fetched: ${e.message}` }; }
  if (!key) return { error: 'the Access token is signed with an unknown key (kid)' };
  const ok = await crypto.subtle.verify('RSASSA-PKCS1-v1_5', await key, sig, enc.encode(`${parts[0]}.${parts[1]}`));
  if (!ok) return { error: 'the Access token\'s signature is invalid' };
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!auds.includes(aud)) return { error: 'the Access token is for another application (aud)' };
  if (claims.iss !== iss) return { error: 'the Access token is from another team (iss)' };
  const now = nowMs / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_S < now) return { error: 'the Access token has expired (exp)' };
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_S > now) return { error: 'the Access token is not valid yet (nbf)' };
  const identity = typeof claims.email === 'string' && claims.email ? claims.email : claims.common_name;
  if (typeof identity !== 'string' || !identity) return { error: 'the Access token names no email or service token' };
  return { identity, claims };
}

// ---- sessions -----------------------------------------------------------------------------------

/** A session cookie value for an actor (sealed) and its CSRF token. */
async function sealSession(env, actor, fp, nowMs) {
  const csrf = toBase64url(crypto.getRandomValues(new Uint8Array(18)));
  const s = { n: actor.name, r: actor.role, t: actor.token, f: fp, c: csrf, e: Math.floor(nowMs / 1000) + SESSION_TTL_S };
  return { value: await sealProfile(env, SESSION_AD, enc.encode(JSON.stringify(s))), csrf, expires: s.e };
}

/** The session the er_admin cookie holds, or null (absent, forged, expired, its token rotated). */
async function openSession(request, env, nowMs) {
  const v = parseCookies(request.headers.get('cookie') ?? '')[SESSION_COOKIE];
  if (!v) return null;
  const bytes = await openProfile(env, SESSION_AD, v);
  if (!bytes) return null;
  let s;
  try { s = JSON.parse(new TextDecoder().decode(bytes)); } catch { return null; }
  if (!s || typeof s.e !== 'number' || s.e <= nowMs / 1000) return null;
  const ring = (parseTokens(env).tokens ?? []).filter((x) => x.name === s.t && x.role === s.r);
  for (const t of ring) if ((await fingerprint(t.token)) === s.f) return s; // any token of the name's ring
  return null; // its token removed from the ring, re-roled or rotated out
}

const cookieAttrs = { path: '/edge/admin', secure: true, httpOnly: true, sameSite: 'Strict' };

/** Whether a state-changing browser request comes from this origin (Origin, else Sec-Fetch-Site). */
function sameOrigin(request) {
  const origin = request.headers.get('origin');
  if (origin !== null) return origin === new URL(request.url).origin;
  const site = request.headers.get('sec-fetch-site');
  return site === 'same-origin';
}

// ---- authorize ----------------------------------------------------------------------------------

/**
 * Authenticate an admin request and check its role against `need` ('viewer' | 'operator' | 'metrics').
 * → {ok: true, actor: {name, role, via}} or {ok: false, response} (401 / 403 / 429 JSON, no-store).
 */
export async function authorize(request, env, need, nowMs = Date.now()) {
  const changes = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
  let actor = null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? ''); // scheme case-insensitive (RFC 7235)
  const jwt = request.headers.get('cf-access-jwt-assertion');
  if (bearer) {
    const r = await checkToken(request, env, bearer[1], nowMs, 'bearer');
    if (!r.ok) return r;
    actor = { name: r.token.actor, role: r.token.role, via: 'token' };
    const named = request.headers.get(ACTOR_HEADER);
    if (named !== null) { // an automation acting with an operator token (the retrain job)
      if (r.token.role !== 'operator') return deny(403, `${ACTOR_HEADER} is honoured only for operator tokens`);
      if (!AUTOMATION_ACTOR.test(named) || RESERVED_ACTORS.has(named)) return deny(400, `${ACTOR_HEADER} must be 1..32 of a-z 0-9 - (not guardrail, admin or retention)`);
      actor = { name: named, role: 'operator', via: 'token', token: r.token.actor };
    }
  } else if (jwt) {
    const v = await verifyAccessJwt(env, jwt, nowMs);
    if (v.error) return deny(401, `unauthorized: ${v.error}`);
    const role = accessRole(env, v.identity);
    if (!role) return deny(403, `forbidden: ${v.identity} has no role in CF_ACCESS_ROLES`);
    actor = { name: `access:${v.identity}`, role, via: 'access' };
    if (changes && request.headers.get('origin') !== null && !sameOrigin(request)) return deny(403, 'forbidden: cross-origin request');
  } else {
    const s = await openSession(request, env, nowMs);
    if (!s) return deny(401, 'unauthorized: send Authorization: Bearer <token>, sign in at POST /edge/admin/login, or come through Cloudflare Access', { 'www-authenticate': 'Bearer' });
    actor = { name: s.n, role: s.r, via: 'session' };
    if (changes) {
      if (!sameOrigin(request)) return deny(403, 'forbidden: a state-changing request must come from this origin (Origin)');
      const c = request.headers.get(CSRF_HEADER) ?? '';
      if (!c || c.length !== s.c.length || !(await matchToken([{ token: s.c }], c))) return deny(403, `forbidden: missing or wrong CSRF token (${CSRF_HEADER}; GET /edge/admin/session gives it)`);
    }
  }
  if (!allows(actor.role, need)) return deny(403, `forbidden: ${actor.name} is a ${actor.role}; this needs ${need}`);
  return { ok: true, actor };
}

// ---- login / logout / session routes -------------------------------------------------------------

/** POST /edge/admin/login, POST /edge/admin/logout, GET /edge/admin/session; null for other paths. */
export async function sessionRoute(request, env, path, nowMs = Date.now()) {
  const json = (body, status = 200, extra = {}) => Response.json(body, { status, headers: { ...NO_STORE, ...extra } });
  if (path === 'login') {
    if (request.method !== 'POST') return json({ error: 'method not allowed (use POST)' }, 405, { allow: 'POST' });
    if (!sameOrigin(request)) return json({ error: 'forbidden: sign in from this origin (Origin)' }, 403);
    const read = await readBounded(request, MAX_LOGIN_BYTES);
    if (read.over) return json({ error: `body over ${MAX_LOGIN_BYTES} bytes (the limit)` }, 413);
    const text = new TextDecoder().decode(read.bytes);
    const form = (request.headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded');
    let token;
    if (form) token = new URLSearchParams(text).get('token');
    else { try { token = JSON.parse(text)?.token; } catch { token = undefined; } }
    if (typeof token !== 'string' || !token) return json({ error: 'login: send {"token":"…"} (JSON) or token=… (form)' }, 400);
    const r = await checkToken(request, env, token, nowMs, 'login');
    if (!r.ok) return r.response;
    const actor = { name: r.token.actor, role: r.token.role, via: 'session', token: r.token.name };
    let s;
    try { s = await sealSession(env, actor, await fingerprint(r.token.token), nowMs); } catch (e) { s = { error: e.message }; }
    if (!s.value) return json({ error: `login: the session could not be sealed: ${s.error ?? 'EDGEREC_COOKIE_KEY'}` }, 500);
    const cookie = serializeCookie(SESSION_COOKIE, s.value, { ...cookieAttrs, maxAge: SESSION_TTL_S });
    if (form) return new Response(null, { status: 303, headers: { ...NO_STORE, location: '/edge/admin/', 'set-cookie': cookie } });
    return json({ actor: { name: actor.name, role: actor.role, via: 'session' }, csrf: s.csrf, expires: s.expires }, 200, { 'set-cookie': cookie });
  }
  if (path === 'logout') {
    if (request.method !== 'POST') return json({ error: 'method not allowed (use POST)' }, 405, { allow: 'POST' });
    const a = await authorize(request, env, 'viewer', nowMs);
    if (!a.ok && a.response.status !== 401) return a.response; // CSRF / Origin; a dead session still gets its cookie cleared
    return json({ ok: true }, 200, { 'set-cookie': serializeCookie(SESSION_COOKIE, '', { ...cookieAttrs, maxAge: 0, expires: new Date(0) }) });
  }
  if (path === 'session') {
    if (request.method !== 'GET') return json({ error: 'method not allowed (use GET)' }, 405, { allow: 'GET' });
    const a = await authorize(request, env, 'any', nowMs);
    if (!a.ok) return a.response;
    const s = a.actor.via === 'session' ? await openSession(request, env, nowMs) : null;
    return json({ actor: { name: a.actor.name, role: a.actor.role, via: a.actor.via }, csrf: s ? s.c : null, expires: s ? s.e : null });
  }
  return null;
}
