// admin-auth.test.mjs — who may call /edge/admin/* (worker-shim/cloudflare/admin-auth.js, docs/admin.md),
// INSIDE workerd through the real Worker module: named tokens and their roles, the legacy single token,
// the console's session cookie (flags, CSRF, Origin, rotation, logout), the per-client login backoff
// (D1, simulated clock), Cloudflare Access JWTs (an RSA key generated here, its JWKS served by the
// pool's outbound service at https://<team>.cloudflareaccess.com/cdn-cgi/access/certs, see
// vitest.config.mjs), and the actor each audit row records.
// Each test uses its own client address (CF-Connecting-IP) so the backoff of one never touches another.
import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { env, createExecutionContext, waitOnExecutionContext, createScheduledController } from 'cloudflare:test';
import worker from '../../worker-shim/cloudflare/worker.js';
import {
  ACTOR_HEADER, CSRF_HEADER, FREE_BEARER_FAILURES, FREE_FAILURES, LOCK_BASE_S, SESSION_COOKIE, SESSION_TTL_S, parseTokens,
} from '../../worker-shim/cloudflare/admin-auth.js';
import { toBase64url } from '../../worker-shim/core/identity.js';

const SHOP = 'https://shop.example';
const LEGACY = 'workerd-test-admin-token';
const TOK = { alice: 'alice-operator-token-0123456789', vera: 'vera-viewer-token-0123456789ab', prom: 'prom-metrics-token-0123456789ab' };
const TEAM = 'edgerec-test';
const ISS = `https://${TEAM}.cloudflareaccess.com`;
const AUD = 'aud-0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const AUTH_ENV = {
  EDGEREC_ADMIN_TOKENS: JSON.stringify({
    alice: { role: 'operator', token: TOK.alice }, vera: { role: 'viewer', token: TOK.vera }, prom: { role: 'metrics', token: TOK.prom },
  }),
  CF_ACCESS_TEAM_DOMAIN: TEAM, CF_ACCESS_AUD: AUD,
  CF_ACCESS_ROLES: 'alice@example.com:operator,*@example.com:viewer,ci-bot:metrics',
};
const E = { ...env, ...AUTH_ENV };

// ---- simulated time ------------------------------------------------------------------------------
const realNow = Date.now.bind(Date);
let offset = 0;
const now = () => realNow() + offset;
beforeAll(() => { vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset); });
afterAll(() => vi.restoreAllMocks());

let ipSeq = 10;
const newClient = () => `198.51.${ipSeq++}.7`; // a different /24 each: another connection key

/** One request to the Worker: {status, headers, json, setCookie}. */
async function call(method, path, { token, headers = {}, body, ip = '203.0.113.9', e = E } = {}) {
  const h = { 'cf-connecting-ip': ip, ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let b;
  if (body !== undefined) { b = typeof body === 'string' ? body : JSON.stringify(body); h['content-type'] ??= 'application/json'; }
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${SHOP}/edge/admin/${path}`, { method, headers: h, body: b, redirect: 'manual' }), e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text, setCookie: res.headers.getSetCookie() };
}

const lastAudit = async () => env.DB.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT 1').first();
const UNIT = { unitName: 'Auth test unit', typeId: 'trending', pageType: 'Product' };

describe('tokens and roles', () => {
  it('parses both formats of EDGEREC_ADMIN_TOKENS and names a bad entry', () => {
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: `alice:operator:${TOK.alice},vera:viewer:${TOK.vera}` }).tokens.map((t) => [t.actor, t.role]))
      .toEqual([['token:alice', 'operator'], ['token:vera', 'viewer']]);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: 'alice:root:0123456789abcdefgh' }).error).toMatch(/entry 1 \(alice\): role must be viewer, operator or metrics/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: '{"bob":{"role":"viewer","token":"short"}}' }).error).toMatch(/entry 1 \(bob\).*at least 16/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: '{nope' }).error).toMatch(/not valid JSON/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKEN: LEGACY }).tokens).toEqual([{ name: 'admin', role: 'operator', token: LEGACY, actor: 'admin' }]);
  });

  it('a misconfigured EDGEREC_ADMIN_TOKENS refuses every token with a message naming it', async () => {
    const r = await call('GET', 'status', { token: LEGACY, e: { ...E, EDGEREC_ADMIN_TOKENS: 'x:operator' }, ip: newClient() });
    expect(r.status).toBe(500);
    expect(r.json.error).toMatch(/EDGEREC_ADMIN_TOKENS entry 1/);
  });

  it('a viewer reads but cannot change anything', async () => {
    const ip = newClient();
    expect((await call('GET', 'status', { token: TOK.vera, ip })).status).toBe(200);
    expect((await call('GET', 'units', { token: TOK.vera, ip })).status).toBe(200);
    for (const [m, p, body] of [['POST', 'rollout', { canary: 'x', percent: 5 }], ['POST', 'promote'], ['POST', 'rollback'],
      ['POST', 'units', UNIT], ['PUT', 'units/auth-1', UNIT], ['DELETE', 'units/auth-1'], ['POST', 'pause'], ['POST', 'resume'],
      ['PUT', 'bundles/v9', 'x'], ['GET', 'events'], ['GET', 'bundles/active'], ['GET', 'metrics']]) {
      const r = await call(m, p, { token: TOK.vera, body, ip });
      expect(r.status, `${m} ${p}`).toBe(403);
      expect(r.json.error).toMatch(/token:vera is a viewer; this needs (operator|metrics)/);
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('a metrics token only scrapes GET /edge/admin/metrics', async () => {
    const ip = newClient();
    const m = await call('GET', 'metrics', { token: TOK.prom, ip });
    expect([401, 403]).not.toContain(m.status); // through the check (the metrics module answers)
    for (const [meth, p] of [['GET', 'status'], ['GET', 'units'], ['POST', 'rollback'], ['POST', 'pause'], ['GET', 'console/timeline']]) {
      const r = await call(meth, p, { token: TOK.prom, ip });
      expect(r.status, `${meth} ${p}`).toBe(403);
    }
  });

  it('an operator (named or the legacy token) may change state; unknown tokens get 401', async () => {
    const ip = newClient();
    expect((await call('POST', 'rollback', { token: TOK.alice, ip })).status).toBe(409); // through auth: no canary
    expect((await call('POST', 'rollback', { token: LEGACY, ip })).status).toBe(409);
    expect((await call('GET', 'metrics', { token: TOK.alice, ip })).status).not.toBe(403);
    const bad = await call('GET', 'status', { token: 'nobody-knows-this-token', ip });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toBe('Bearer');
    expect((await call('GET', 'status', { ip })).status).toBe(401);
  });
});

describe('the actor in the audit log', () => {
  it('records the token name, the legacy "admin", and an automation named by an operator token', async () => {
    const ip = newClient();
    expect((await call('POST', 'pause', { token: TOK.alice, ip })).status).toBe(200);
    expect(await lastAudit()).toMatchObject({ action: 'pause', actor: 'token:alice' });
    expect((await call('POST', 'resume', { token: LEGACY, ip })).status).toBe(200);
    expect(await lastAudit()).toMatchObject({ action: 'resume', actor: 'admin' });
    expect((await call('PUT', 'units/auth-actor', { token: TOK.alice, body: UNIT, ip })).status).toBe(201);
    expect(await lastAudit()).toMatchObject({ action: 'units-put', actor: 'token:alice' });
    expect((await call('DELETE', 'units/auth-actor', { token: LEGACY, headers: { [ACTOR_HEADER]: 'retrain' }, ip })).status).toBe(200);
    expect(await lastAudit()).toMatchObject({ action: 'units-delete', actor: 'retrain' });
  });

  it('refuses x-edgerec-actor from a viewer and reserved or malformed names', async () => {
    const ip = newClient();
    const before = (await lastAudit()).id;
    expect((await call('GET', 'status', { token: TOK.vera, headers: { [ACTOR_HEADER]: 'retrain' }, ip })).status).toBe(403);
    expect((await call('POST', 'pause', { token: TOK.alice, headers: { [ACTOR_HEADER]: 'guardrail' }, ip })).status).toBe(400);
    expect((await call('POST', 'pause', { token: TOK.alice, headers: { [ACTOR_HEADER]: 'token:bob' }, ip })).status).toBe(400);
    expect((await lastAudit()).id).toBe(before);
  });
});

// ---- sessions -------------------------------------------------------------------------------------

async function login(token, ip, extra = {}) {
  const r = await call('POST', 'login', { body: { token }, headers: { origin: SHOP, ...extra }, ip });
  const cookie = r.setCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return { ...r, cookie, pair: cookie ? cookie.split(';')[0] : null };
}

describe('the session cookie', () => {
  it('login sets an HttpOnly, Secure, SameSite=Strict cookie on /edge/admin for 8 h; /session says who and the CSRF token', async () => {
    const ip = newClient();
    const r = await login(TOK.alice, ip);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ actor: { name: 'token:alice', role: 'operator', via: 'session' } });
    const attrs = r.cookie.split(';').slice(1).map((s) => s.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/edge/admin', `Max-Age=${SESSION_TTL_S}`]));
    expect(r.cookie).not.toContain(TOK.alice);
    const s = await call('GET', 'session', { headers: { cookie: r.pair }, ip });
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({ actor: { name: 'token:alice', role: 'operator', via: 'session' }, csrf: r.json.csrf });
    expect(s.json.csrf).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await call('GET', 'status', { headers: { cookie: r.pair }, ip })).status).toBe(200);
  });

  it('a form login redirects to the console; a cross-origin login is refused', async () => {
    const ip = newClient();
    const f = await call('POST', 'login', { body: `token=${encodeURIComponent(TOK.vera)}`, headers: { origin: SHOP, 'content-type': 'application/x-www-form-urlencoded' }, ip });
    expect(f.status).toBe(303);
    expect(f.headers.get('location')).toBe('/edge/admin/');
    expect(f.setCookie.some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(true);
    const x = await call('POST', 'login', { body: { token: TOK.vera }, headers: { origin: 'https://evil.example' }, ip });
    expect(x.status).toBe(403);
    expect(x.setCookie).toEqual([]);
  });

  it('state changes with the cookie need the CSRF token and this origin', async () => {
    const ip = newClient();
    const { pair, json: { csrf } } = await login(TOK.alice, ip);
    const cookie = { cookie: pair };
    const none = await call('POST', 'pause', { headers: { ...cookie, origin: SHOP }, ip });
    expect(none.status).toBe(403);
    expect(none.json.error).toMatch(/CSRF/);
    const wrong = await call('POST', 'pause', { headers: { ...cookie, origin: SHOP, [CSRF_HEADER]: csrf.slice(0, -2) + (csrf.endsWith('AA') ? 'BB' : 'AA') }, ip });
    expect(wrong.status).toBe(403);
    const other = await login(TOK.alice, ip); // another session's token is not this one's
    expect((await call('POST', 'pause', { headers: { ...cookie, origin: SHOP, [CSRF_HEADER]: other.json.csrf }, ip })).status).toBe(403);
    const cross = await call('POST', 'pause', { headers: { ...cookie, origin: 'https://evil.example', [CSRF_HEADER]: csrf }, ip });
    expect(cross.status).toBe(403);
    expect(cross.json.error).toMatch(/origin/i);
    expect((await call('POST', 'pause', { headers: { ...cookie, [CSRF_HEADER]: csrf }, ip })).status).toBe(403); // no Origin, no Sec-Fetch-Site
    const ok = await call('POST', 'pause', { headers: { ...cookie, origin: SHOP, [CSRF_HEADER]: csrf }, ip });
    expect(ok.status).toBe(200);
    expect(await lastAudit()).toMatchObject({ action: 'pause', actor: 'token:alice' });
    expect((await call('POST', 'resume', { headers: { ...cookie, 'sec-fetch-site': 'same-origin', [CSRF_HEADER]: csrf }, ip })).status).toBe(200);
  });

  it('a viewer session cannot press operator buttons even with its CSRF token', async () => {
    const ip = newClient();
    const { pair, json: { csrf } } = await login(TOK.vera, ip);
    const r = await call('POST', 'rollback', { headers: { cookie: pair, origin: SHOP, [CSRF_HEADER]: csrf }, ip });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatch(/viewer/);
  });

  it('a tampered, expired or rotated-token session is refused; logout clears the cookie', async () => {
    const ip = newClient();
    const { pair, json: { csrf } } = await login(TOK.alice, ip);
    const [name, value] = pair.split('=');
    const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
    expect((await call('GET', 'status', { headers: { cookie: `${name}=${flipped}` }, ip })).status).toBe(401);
    const rotated = { ...E, EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', token: 'alice-new-token-9876543210' } }) };
    expect((await call('GET', 'status', { headers: { cookie: pair }, ip, e: rotated })).status).toBe(401);
    const demoted = { ...E, EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'viewer', token: TOK.alice } }) };
    expect((await call('GET', 'status', { headers: { cookie: pair }, ip, e: demoted })).status).toBe(401);
    offset += (SESSION_TTL_S + 1) * 1000;
    try { expect((await call('GET', 'status', { headers: { cookie: pair }, ip })).status).toBe(401); } finally { offset -= (SESSION_TTL_S + 1) * 1000; }
    expect((await call('POST', 'logout', { headers: { cookie: pair, origin: SHOP }, ip })).status).toBe(403); // CSRF here too
    const out = await call('POST', 'logout', { headers: { cookie: pair, origin: SHOP, [CSRF_HEADER]: csrf }, ip });
    expect(out.status).toBe(200);
    expect(out.setCookie[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=; Max-Age=0; .*Path=/edge/admin.*HttpOnly`));
  });
});

// ---- backoff --------------------------------------------------------------------------------------

describe('failed logins back off per client', () => {
  it('N failures → 429 with Retry-After; the right token is refused until the lockout ends; then it doubles', async () => {
    const ip = newClient();
    for (let i = 1; i < FREE_FAILURES; i++) expect((await login('wrong-token-guess-000000', ip)).status).toBe(401);
    const locked = await login('wrong-token-guess-000000', ip);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe(String(LOCK_BASE_S));
    const right = await login(TOK.alice, ip);
    expect(right.status).toBe(429);
    expect(right.cookie).toBeUndefined();
    expect((await call('GET', 'status', { token: TOK.alice, ip })).status).toBe(200); // bearer tokens back off apart (below)
    expect((await login(TOK.alice, newClient())).status).toBe(200); // another client is not locked out
    offset += (LOCK_BASE_S - 5) * 1000;
    const still = await login(TOK.alice, ip);
    expect(still.status).toBe(429);
    expect(Number(still.headers.get('retry-after'))).toBeLessThanOrEqual(5);
    offset += 6 * 1000;
    const again = await login('wrong-token-guess-000000', ip); // one more failure: twice as long
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe(String(2 * LOCK_BASE_S));
    offset += (2 * LOCK_BASE_S + 1) * 1000;
    const ok = await login(TOK.alice, ip);
    expect(ok.status).toBe(200);
    expect(ok.cookie).toBeDefined();
    // a success forgets the failures: the next wrong token is a free one again
    expect((await login('wrong-token-guess-000000', ip)).status).toBe(401);
  });

  it('wrong bearer tokens back off too (after more failures: scripts retry), apart from logins', async () => {
    const ip = newClient();
    for (let i = 1; i < FREE_BEARER_FAILURES; i++) expect((await call('GET', 'status', { token: `guess-${i}-abcdefghijklmnop`, ip })).status).toBe(401);
    expect((await call('GET', 'status', { token: 'guess-last-abcdefghijklmnop', ip })).status).toBe(429);
    const r = await call('GET', 'status', { token: TOK.vera, ip });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe(String(LOCK_BASE_S));
    expect((await login(TOK.vera, ip)).status).toBe(200); // the login's own count is untouched
  });
});

// ---- Cloudflare Access ----------------------------------------------------------------------------

const enc = new TextEncoder();
const b64json = (o) => toBase64url(enc.encode(JSON.stringify(o)));
let key, otherKey;
const KID = 'test-kid-1';

async function rsaKey() {
  return crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
}

async function jwt(claims, { kid = KID, signer = key, alg = 'RS256' } = {}) {
  const t = Math.floor(now() / 1000);
  const body = { aud: [AUD], iss: ISS, iat: t, nbf: t, exp: t + 3600, email: 'alice@example.com', type: 'app', sub: 'u-1', ...claims };
  const input = `${b64json({ alg, kid, typ: 'JWT' })}.${b64json(body)}`;
  const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', signer.privateKey, enc.encode(input)));
  return `${input}.${toBase64url(sig)}`;
}

describe('Cloudflare Access', () => {
  beforeAll(async () => {
    key = await rsaKey();
    otherKey = await rsaKey();
    const jwk = await crypto.subtle.exportKey('jwk', key.publicKey);
    const res = await fetch(`${ISS}/__test/certs`, { method: 'PUT', body: JSON.stringify({ keys: [{ kid: KID, kty: 'RSA', alg: 'RS256', use: 'sig', e: jwk.e, n: jwk.n }] }) });
    expect(res.status).toBe(204);
  });
  const access = async (method, path, token, extra = {}) => call(method, path, { headers: { 'cf-access-jwt-assertion': token, ...extra }, ip: newClient() });

  it('a valid JWT acts with its mapped role; the audit row names the identity', async () => {
    const r = await access('POST', 'pause', await jwt({}));
    expect(r.status).toBe(200);
    expect(await lastAudit()).toMatchObject({ action: 'pause', actor: 'access:alice@example.com' });
    expect((await access('POST', 'resume', await jwt({}))).status).toBe(200);
    const s = await access('GET', 'session', await jwt({ email: 'bob@example.com' }));
    expect(s.json).toMatchObject({ actor: { name: 'access:bob@example.com', role: 'viewer', via: 'access' }, csrf: null });
    expect((await access('POST', 'rollback', await jwt({ email: 'bob@example.com' }))).status).toBe(403);
    const svc = await access('GET', 'metrics', await jwt({ email: undefined, common_name: 'ci-bot' }));
    expect([401, 403]).not.toContain(svc.status);
    const nobody = await access('GET', 'status', await jwt({ email: 'eve@elsewhere.example' }));
    expect(nobody.status).toBe(403);
    expect(nobody.json.error).toMatch(/eve@elsewhere.example has no role in CF_ACCESS_ROLES/);
  });

  it('refuses a wrong aud, a wrong issuer, an expired or not-yet-valid token, a bad signature, an unknown kid, another alg', async () => {
    const t = Math.floor(now() / 1000);
    const cases = [
      [await jwt({ aud: ['someone-elses-app'] }), /aud/],
      [await jwt({ iss: 'https://other-team.cloudflareaccess.com' }), /iss/],
      [await jwt({ exp: t - 3600, iat: t - 7200, nbf: t - 7200 }), /expired/],
      [await jwt({ nbf: t + 3600 }), /not valid yet/],
      [await jwt({}, { signer: otherKey }), /signature/],
      [await jwt({}, { kid: 'no-such-kid', signer: otherKey }), /unknown key/],
      [await jwt({}, { alg: 'HS256' }), /RS256/],
      ['not.a.jwt', /not a JWT/],
    ];
    const good = (await jwt({})).split('.');
    cases.push([`${good[0]}.${b64json({ aud: [AUD], iss: ISS, exp: t + 3600, email: 'mallory@example.com' })}.${good[2]}`, /signature/]); // claims swapped
    for (const [token, why] of cases) {
      const r = await access('GET', 'status', token);
      expect(r.status, String(why)).toBe(401);
      expect(r.json.error).toMatch(why);
    }
  });

  it('without CF_ACCESS_TEAM_DOMAIN / CF_ACCESS_AUD an Access header is not trusted', async () => {
    const r = await call('GET', 'status', { headers: { 'cf-access-jwt-assertion': await jwt({}) }, ip: newClient(), e: { ...E, CF_ACCESS_AUD: '' } });
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/not configured/);
  });
});

describe('misconfiguration', () => {
  it('a login without a usable EDGEREC_COOKIE_KEY is a 500 naming it, and sets no cookie', async () => {
    const r = await call('POST', 'login', { body: { token: TOK.alice }, headers: { origin: SHOP }, ip: newClient(), e: { ...E, EDGEREC_COOKIE_KEY: 'short' } });
    expect(r.status).toBe(500);
    expect(r.json.error).toMatch(/EDGEREC_COOKIE_KEY/);
    expect(r.setCookie).toEqual([]);
  });
});

describe('/edge/health: checks.admin_token', () => {
  it('is true for any way into the admin API (the old token, named tokens, Access) and false for none', async () => {
    const health = async (vars) => {
      const ctx = createExecutionContext();
      const r = await worker.fetch(new Request('https://shop.example/edge/health'), { ...env, ...vars }, ctx);
      await waitOnExecutionContext(ctx);
      return (await r.json()).checks.admin_token;
    };
    const none = { EDGEREC_ADMIN_TOKEN: undefined, EDGEREC_ADMIN_TOKENS: undefined, CF_ACCESS_TEAM_DOMAIN: undefined, CF_ACCESS_AUD: undefined };
    expect(await health(none)).toBe(false);
    expect(await health({ ...none, EDGEREC_ADMIN_TOKEN: 'x'.repeat(32) })).toBe(true);
    expect(await health({ ...none, EDGEREC_ADMIN_TOKENS: `alice:viewer:${'y'.repeat(32)}` })).toBe(true);
    expect(await health({ ...none, CF_ACCESS_TEAM_DOMAIN: 'team', CF_ACCESS_AUD: 'aud' })).toBe(true);
    expect(await health({ ...none, CF_ACCESS_TEAM_DOMAIN: 'team' })).toBe(false); // Access without an audience verifies nothing
  });
});

// ---- issue 17: rotation, per-client backoff, path tricks, response splitting, secrets in logs ----------

/** A request to any path (as sent: the URL parser of Request resolves dot segments, as on the edge):
 * {status, headers, text, json}.  The origin is the pool's echo ("origin METHOD /path …"). */
async function raw(method, path, { token, headers = {}, body, ip = newClient(), e = E } = {}) {
  const h = { 'cf-connecting-ip': ip, ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${SHOP}${path}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), redirect: 'manual' }), e, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}
const ECHO = { ...E, ORIGIN_URL: 'http://origin-echo.test' }; // anything passed to the origin comes back as "origin …"

describe('two tokens valid at once for one name (rotation)', () => {
  const NEW = 'alice-new-token-abcdefghijklmnop', OLD = TOK.alice;
  const ringJson = { ...E, EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', tokens: [NEW, OLD] }, vera: { role: 'viewer', token: TOK.vera } }) };
  const ringList = { ...E, EDGEREC_ADMIN_TOKENS: `alice:operator:${NEW},alice:operator:${OLD},vera:viewer:${TOK.vera}` };

  it('parses a ring in both forms; refuses mixed roles, a token twice and "tokens" with "token"', () => {
    for (const e of [ringJson, ringList]) {
      expect(parseTokens(e).tokens.filter((t) => t.name === 'alice').map((t) => [t.actor, t.role, t.token])).toEqual([['token:alice', 'operator', NEW], ['token:alice', 'operator', OLD]]);
    }
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: `alice:operator:${NEW},alice:viewer:${OLD}` }).error).toMatch(/entry 2 \(alice\): every token of one name must have the same role/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: `alice:operator:${NEW},bob:viewer:${NEW}` }).error).toMatch(/entry 2 \(bob\): this token is configured twice/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', token: NEW, tokens: [OLD] } }) }).error).toMatch(/\(alice\): "tokens" must be an array/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', tokens: [] } }) }).error).toMatch(/1\.\.4 tokens/);
    expect(parseTokens({ EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', tokens: ['short'] } }) }).error).toMatch(/at least 16/);
  });

  it('both tokens work as bearer and login, acting as the same actor; sessions end only with their own token', async () => {
    for (const e of [ringJson, ringList]) {
      for (const t of [NEW, OLD]) {
        const ip = newClient();
        expect((await raw('POST', '/edge/admin/pause', { token: t, e, ip })).status).toBe(200);
        expect(await lastAudit()).toMatchObject({ action: 'pause', actor: 'token:alice' });
        expect((await raw('POST', '/edge/admin/resume', { token: t, e, ip })).status).toBe(200);
      }
    }
    // the procedure: add NEW beside OLD, move clients over, remove OLD
    const ip = newClient();
    const viaOld = await call('POST', 'login', { body: { token: OLD }, headers: { origin: SHOP }, ip, e: ringJson });
    const viaNew = await call('POST', 'login', { body: { token: NEW }, headers: { origin: SHOP }, ip, e: ringJson });
    const pair = (r) => r.setCookie.find((c) => c.startsWith(`${SESSION_COOKIE}=`)).split(';')[0];
    for (const r of [viaOld, viaNew]) {
      expect(r.status).toBe(200);
      expect((await call('GET', 'status', { headers: { cookie: pair(r) }, ip, e: ringJson })).status).toBe(200);
    }
    const after = { ...E, EDGEREC_ADMIN_TOKENS: JSON.stringify({ alice: { role: 'operator', token: NEW } }) };
    expect((await call('GET', 'status', { headers: { cookie: pair(viaNew) }, ip, e: after })).status).toBe(200);
    expect((await call('GET', 'status', { headers: { cookie: pair(viaOld) }, ip, e: after })).status).toBe(401);
    expect((await raw('GET', '/edge/admin/status', { token: OLD, e: after })).status).toBe(401);
    expect((await raw('GET', '/edge/admin/status', { token: NEW, e: after })).status).toBe(200);
  });
});

describe('token guessing backs off per client, never globally', () => {
  it('an attacker locked out on login and bearer locks out no other client (other /24s, IPv6, the same ASN)', async () => {
    const attacker = newClient();
    const lockedRows = async () => (await env.DB.prepare('SELECT client FROM admin_auth_failures WHERE failures >= ?').bind(FREE_FAILURES).all()
      .catch(() => ({ results: [] }))).results.map((r) => r.client); // no table yet when this test runs alone
    const earlier = new Set(await lockedRows());
    for (let i = 0; i < FREE_FAILURES + 3; i++) await login(`guess-${i}-0123456789abcdef`, attacker);
    for (let i = 0; i < FREE_BEARER_FAILURES + 2; i++) await raw('GET', '/edge/admin/status', { token: `bearer-guess-${i}-0123456789`, ip: attacker });
    expect((await login(TOK.alice, attacker)).status).toBe(429);
    expect((await raw('GET', '/edge/admin/status', { token: TOK.alice, ip: attacker })).status).toBe(429);
    const [a, b] = attacker.split('.');
    const others = [`${a}.${b}.250.1`, '192.0.2.77', '2001:db8:1::5', '2001:db8:2::5', newClient()];
    for (const ip of others) {
      expect((await login(TOK.alice, ip)).status, `login from ${ip}`).toBe(200);
      expect((await raw('GET', '/edge/admin/status', { token: TOK.vera, ip })).status, `bearer from ${ip}`).toBe(200);
    }
    // nothing is kept but the attacker's two rows (login, bearer): no shared counter anyone could fill
    const rows = (await lockedRows()).filter((c) => !earlier.has(c));
    expect(rows.map((c) => c.split(':')[0]).sort()).toEqual(['bearer', 'login']);
    expect(rows.every((c) => !c.includes(attacker) && !c.includes(`${a}.${b}`))).toBe(true); // no address at rest
  });
});

describe('path tricks on /edge/admin', () => {
  // canonical: routed as /edge/admin/status (the URL parser resolves these before the Worker sees them);
  // auth404: an admin path, checked like every admin path, then 404; refused: 404 before any handler.
  const TABLE = [
    ['/edge/admin/status', 'canonical'],
    ['/edge/admin/./status', 'canonical'],
    ['/edge/admin/x/../status', 'canonical'],
    ['/edge/admin/%2e%2e/admin/status', 'canonical'],
    ['/edge/admin/%2E/status', 'canonical'],
    ['/foo/../edge/admin/status', 'canonical'],
    ['/graphql/../edge/admin/status', 'canonical'],
    ['/edge\\admin\\status', 'canonical'],
    ['/edge/admin/STATUS', 'auth404'],
    ['/edge/admin/status/', 'auth404'],
    ['/edge/admin/status.', 'auth404'],
    ['/edge/admin/status%2e', 'auth404'],
    ['/edge/admin/status;x', 'auth404'],
    ['/edge/admin/status%00', 'auth404'],
    ['/edge/admin/%73tatus', 'auth404'],
    ['/edge/admin/..%2fstatus', 'auth404'],
    ['/edge/admin/%252Fstatus', 'auth404'],
    ['/edge/admin/bundles%2Factive', 'auth404'],
    ['/edge/admin/bundles%2factive', 'auth404'],
    ['/edge/admin%2Fstatus', 'refused'],
    ['/edge/admin%2fstatus', 'refused'],
    ['/edge/Admin/status', 'refused'],
    ['/edge/ADMIN/status', 'refused'],
    ['/edge//admin/status', 'refused'],
    ['/edge/admin./status', 'refused'],
    ['/edge/%61dmin/status', 'refused'],
    ['/edge/admin', 'refused'],
    ['/EDGE/ADMIN/status', 'refused'],
    ['/Edge/Admin/status', 'refused'],
    ['/edge%2Fadmin%2Fstatus', 'refused'],
    ['/edge%252Fadmin%252Fstatus', 'refused'],
    ['/%2565dge/admin/status', 'refused'],
    ['/edge./admin/status', 'refused'],
    ['/edge%2e/admin/status', 'refused'],
    ['/edge;x/admin/status', 'refused'],
    ['//edge/admin/status', 'refused'],
    ['/graphql%2F..%2Fedge%2Fadmin%2Fstatus', 'refused'],
    ['/x/..%2F..%2Fedge/admin/status', 'refused'],
    ['/edge', 'refused'],
  ];

  it('each path is routed exactly like /edge/admin/status with auth, or refused; none reaches a handler unauthenticated or the origin', async () => {
    const canon = await raw('GET', '/edge/admin/status', { token: TOK.vera, e: ECHO });
    expect(canon.status).toBe(200);
    for (const [path, want] of TABLE) {
      const anon = await raw('GET', path, { e: ECHO });
      const viewer = await raw('GET', path, { token: TOK.vera, e: ECHO });
      const op = await raw('GET', path, { token: TOK.alice, e: ECHO });
      for (const r of [anon, viewer, op]) {
        expect(r.text.startsWith('origin '), `${path}: passed to the origin`).toBe(false);
        expect(r.status, `${path}: a server error`).toBeLessThan(500);
        expect(r.headers.get('cache-control'), path).toBe('no-store');
      }
      expect(anon.status, `${path} without auth`).not.toBe(200);
      if (want === 'canonical') {
        expect(anon.status, path).toBe(401);
        expect([viewer.status, Object.keys(viewer.json ?? {}).sort()], path).toEqual([200, Object.keys(canon.json).sort()]);
      } else if (want === 'auth404') {
        expect(anon.status, path).toBe(401);
        expect([viewer.status, op.status], path).toEqual([404, 404]);
      } else {
        expect([anon.status, viewer.status, op.status], path).toEqual([404, 404, 404]);
        expect(anon.json.error, path).toMatch(/no (admin )?route/);
      }
    }
  });

  it('state changes through a disguised path are refused and change nothing', async () => {
    const before = (await lastAudit())?.id ?? 0;
    for (const path of ['/EDGE/ADMIN/pause', '/edge/Admin/pause', '/edge%2Fadmin%2Fpause', '/edge/admin/pause/', '/edge/admin/PAUSE', '/edge/admin%2fpause']) {
      const r = await raw('POST', path, { token: TOK.alice, e: ECHO, body: {} });
      expect(r.status, path).toBe(404);
      expect(r.text.startsWith('origin '), path).toBe(false);
    }
    expect((await lastAudit())?.id ?? 0).toBe(before);
  });

  it('other paths still go to the origin untouched', async () => {
    for (const path of ['/', '/checkout/cart', '/edgewise/admin', '/static/edge/admin.js', '/media/Edge%20Admin.png']) {
      const r = await raw('GET', path, { e: ECHO });
      expect(r.text, path).toMatch(/^origin GET \//);
    }
  });

  it('malformed percent-encoding in an admin path is a 400 naming it, not a 500', async () => {
    for (const path of ['/edge/admin/bundles/%E0%A4%A', '/edge/admin/units/%E0']) {
      const r = await raw('GET', path, { token: TOK.alice });
      expect(r.status, path).toBe(400);
      expect(r.json.error, path).toMatch(/percent-encoding/);
    }
  });
});

describe('response splitting: no CR, LF or NUL reaches a header', () => {
  const EVIL = ['a\r\nx-injected: 1', 'b\nset-cookie: pwn=1', 'c\r\0d', 'e\u2028f'];
  it('values from paths, queries and bodies that could be echoed into headers', async () => {
    const cases = [];
    for (const v of EVIL) {
      const enc = encodeURIComponent(v);
      cases.push(
        ['GET', `/edge/admin/bundles/${enc}`, { token: TOK.alice }],
        ['PUT', `/edge/admin/bundles/${enc}`, { token: TOK.alice, body: 'x' }],
        ['GET', `/edge/admin/events?cursor=${enc}&since=${enc}`, { token: TOK.alice }],
        ['GET', `/edge/admin/units/${enc}`, { token: TOK.alice }],
        ['PUT', `/edge/admin/units/${enc}`, { token: TOK.alice, body: { ...UNIT, unitName: v } }],
        ['POST', '/edge/admin/rollout', { token: TOK.alice, body: { canary: v, percent: 5 } }],
        ['POST', '/edge/admin/pause', { token: TOK.alice, body: { reason: v } }],
        ['POST', '/edge/admin/resume', { token: TOK.alice, body: { reason: v } }],
        ['GET', `/edge/admin/console/timeline?days=${enc}`, { token: TOK.alice }],
        ['POST', '/edge/admin/login', { body: { token: v }, headers: { origin: SHOP } }],
        ['POST', '/edge/admin/login', { body: `token=${enc}`, headers: { origin: SHOP, 'content-type': 'application/x-www-form-urlencoded' } }],
        ['POST', '/edge/feedback', { body: { item: v, rating: 3, text: v } }],
        ['POST', '/edge/events', { body: { type: 'view', item: v } }],
        ['GET', `/edge/recommend?${enc}=${enc}`, {}],
        ['GET', `/edge/${enc}`, {}],
        ['GET', `/${enc}/edge/admin`, {}],
      );
    }
    cases.push(['OPTIONS', '/edge/events', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-evil' } }]);
    cases.push(['POST', '/edge/events', { headers: { origin: 'https://evil.example' }, body: { type: 'view', item: '24-MB01' } }]);
    for (const [method, path, opts] of cases) {
      const r = await raw(method, path, { ...opts, e: ECHO });
      expect(r.status, `${method} ${path}`).toBeLessThan(500);
      for (const [k, v] of r.headers) {
        expect(/[\r\n\0\u2028]/.test(v), `${method} ${path}: header ${k}`).toBe(false);
        expect(k, `${method} ${path}`).not.toMatch(/^(x-injected|pwn)$/);
        if (k === 'access-control-allow-origin') expect(v, `${method} ${path}`).not.toBe('https://evil.example');
        if (k === 'retry-after') expect(v).toMatch(/^\d+$/);
        if (k === 'location') expect(v).toBe('/edge/admin/');
      }
      expect(r.headers.getSetCookie().some((c) => c.startsWith('pwn=')), `${method} ${path}`).toBe(false);
    }
  });

  it('a stored value cannot bring a header in later (versions are checked when stored)', async () => {
    const r = await raw('PUT', `/edge/admin/bundles/${encodeURIComponent('v1\r\nx-injected: 1')}`, { token: TOK.alice, body: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/version must be 1\.\.23 printable ASCII/);
  });
});

describe('secrets are never logged', () => {
  it('admin, login, survey, shopper and failure paths: no token, key, secret or cookie value in any console output', async () => {
    const lines = [];
    const spies = ['log', 'info', 'warn', 'error', 'debug', 'trace'].map((m) => vi.spyOn(console, m).mockImplementation((...a) => { lines.push(a.map((x) => (x instanceof Error ? `${x.message}\n${x.stack}` : typeof x === 'string' ? x : JSON.stringify(x))).join(' ')); }));
    const SURVEY = 'survey-webhook-secret-0123456789';
    const e = { ...E, SURVEY_WEBHOOK_TOKEN: SURVEY };
    const cookies = [];
    const keep = (r) => { for (const c of r.headers.getSetCookie()) cookies.push(c.split(';')[0].split('=').slice(1).join('=')); return r; };
    try {
      const ip = newClient();
      keep(await raw('POST', '/edge/admin/login', { body: { token: TOK.alice }, headers: { origin: SHOP }, ip, e }));
      for (let i = 0; i < FREE_FAILURES + 1; i++) await raw('POST', '/edge/admin/login', { body: { token: `${TOK.alice}x${i}` }, headers: { origin: SHOP }, ip, e });
      await raw('GET', '/edge/admin/status', { token: TOK.vera, e });
      await raw('GET', '/edge/admin/status', { token: `${TOK.vera}-wrong`, e });
      await raw('GET', '/edge/admin/status', { headers: { cookie: `${SESSION_COOKIE}=${cookies[0]}` }, e });
      await raw('POST', '/edge/admin/pause', { headers: { cookie: `${SESSION_COOKIE}=${cookies[0]}`, origin: 'https://evil.example' }, e });
      await raw('GET', '/edge/admin/status', { token: TOK.alice, e: { ...e, EDGEREC_ADMIN_TOKENS: `alice:operator:${TOK.alice},broken` } });
      await raw('POST', '/edge/admin/login', { body: { token: TOK.alice }, headers: { origin: SHOP }, e: { ...e, EDGEREC_COOKIE_KEY: 'short' } });
      await raw('POST', `/edge/feedback/survey?token=${SURVEY}`, { body: { sku: '24-MB01', rating: 4 }, e });
      await raw('POST', '/edge/feedback/survey', { token: `${SURVEY}-wrong`, body: { sku: '24-MB01', rating: 4 }, e });
      const shopper = keep(await raw('POST', '/edge/events', { body: { type: 'view', item: '24-MB01' }, e }));
      const jar = shopper.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      await raw('GET', '/edge/profile', { headers: { cookie: jar }, e });
      await raw('POST', '/edge/feedback', { headers: { cookie: jar }, body: { item: '24-MB01', rating: 1, text: 'private words' }, e: { ...e, FEEDBACK_TEXT_DAYS: '1' } });
      // failures that log: KV and D1 down while erasing and while checking a token, a bad cursor
      const down = { ...e, EDGEREC: { get: async () => { throw new Error('KV down'); }, put: async () => { throw new Error('KV down'); }, list: async () => { throw new Error('KV down'); }, delete: async () => { throw new Error('KV down'); } },
        DB: { prepare: () => { throw new Error('D1 down'); } } };
      await raw('DELETE', '/edge/profile', { headers: { cookie: jar }, e: down });
      await raw('GET', '/edge/admin/status', { token: TOK.alice, e: down }).catch(() => null);
      await raw('POST', '/edge/admin/login', { body: { token: TOK.alice }, headers: { origin: SHOP }, e: down }).catch(() => null);
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' }), down, ctx);
      await waitOnExecutionContext(ctx);
    } finally { for (const s of spies) s.mockRestore(); }
    expect(lines.length, 'the failure paths logged something').toBeGreaterThan(0);
    const secrets = {
      ...TOK, legacy: LEGACY, survey: SURVEY, cookieKey: env.EDGEREC_COOKIE_KEY, idSecret: env.EDGEREC_ID_SECRET,
      ...Object.fromEntries(cookies.filter((c) => c.length >= 16).map((c, i) => [`cookie${i}`, c])),
    };
    expect(cookies.length).toBeGreaterThanOrEqual(2);
    const all = lines.join('\n');
    for (const [name, s] of Object.entries(secrets)) {
      expect(all.includes(s), `${name} appears in the logs`).toBe(false);
      expect(all.includes(s.slice(0, 12)), `a prefix of ${name} appears in the logs`).toBe(false);
    }
    expect(all).not.toMatch(/private words/);
  });
});
