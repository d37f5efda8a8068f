// traffic.js — what the edge knows about a request's traffic, as fields on the events it logs
// (docs/events.md "Edge fields", docs/anti-gaming.md "At the edge").  Platform-neutral: the Worker
// and the Lambda@Edge handler both call it; the rate-limiting binding itself is the Worker's.
//
//   await classifyTraffic(request, id, state, env, nowMs) → { trust, flag, conn, signedIn }
//     trust    'new' | null   'new': the request carries no sealed state, or its state was created
//                             less than ESTABLISHED_AFTER_SECONDS (default 600) ago
//     flag     'bot' | null   a known crawler or tool user agent, or Cloudflare's bot signals
//                             (the caller may set 'rate-limited' after asking its limiter)
//     conn     16 hex | null  the connection key, only for trust 'new' (see connectionKey)
//     signedIn boolean        the request carried a customer key (Authorization: Bearer)
//   rateLimitKey(traffic, id)   → the rate limiter's key: the connection for new shoppers, else the user
//   markEvent(ev, traffic)      → ev with the edge fields set (client-sent ones removed first)
//   stripEdgeFields(ev)         → ev without trust / flag / conn / signed_in (a copy; ev untouched)
//   EDGE_FIELDS, CRAWLER_UA, isCrawler(userAgent), cfBotSignal(cf), truncateAddress(ip),
//   connectionKey(secret, { asn, address, nowMs }), establishedAfter(env)
//
// `request` is anything with `headers` (a Headers) and optionally `cf` (Cloudflare's request.cf):
// the client address is read from CF-Connecting-IP (Cloudflare sets it) and the ASN from cf.asn.
// The address is truncated (/24, /48) before it is hashed and is never returned, logged or stored.
// The Lambda@Edge handler drops `conn` (its event sink stores what it is given).
import { hmacId } from './identity.js';

/** The fields only the edge sets on logged events; a client's values are removed. */
export const EDGE_FIELDS = Object.freeze(['trust', 'flag', 'conn', 'signed_in']);

export const DEFAULT_ESTABLISHED_AFTER = 600; // seconds
const MAX_ESTABLISHED_AFTER = 30 * 86400;
const BOT_SCORE_MAX = 29; // Cloudflare Bot Management: 1..29 "likely automated"

/**
 * Known crawlers and non-browser clients, matched case-insensitively as substrings of the user
 * agent.  Search engines, SEO crawlers, link previewers, AI crawlers and fetchers, uptime monitors,
 * and command-line / library HTTP clients a script uses by default.  Deliberately absent:
 * HeadlessChrome (the project's own browser tests, and real shoppers behind some privacy tools),
 * okhttp / CFNetwork / Dalvik (the stock HTTP stacks of Android and iOS apps, which send
 * x-edgerec-id), and Node's fetch ("node", "undici": server-side rendered storefronts call GraphQL
 * from Node on their shoppers' behalf).
 */
export const CRAWLER_UA = Object.freeze([
  // search engines
  'googlebot', 'google-inspectiontool', 'googleother', 'storebot-google', 'adsbot-google', 'mediapartners-google',
  'apis-google', 'feedfetcher-google', 'bingbot', 'bingpreview', 'msnbot', 'adidxbot', 'applebot', 'yandexbot',
  'yandexmobilebot', 'yandeximages', 'baiduspider', 'duckduckbot', 'duckassistbot', 'slurp', 'exabot', 'seznambot', 'qwantify', 'yeti/', 'coccocbot',
  // SEO and marketing crawlers
  'ahrefsbot', 'ahrefssiteaudit', 'semrushbot', 'mj12bot', 'dotbot', 'blexbot', 'dataforseobot', 'serpstatbot',
  'seekportbot', 'rogerbot', 'screaming frog', 'siteauditbot',
  // link previews
  'facebookexternalhit', 'facebookcatalog', 'meta-externalagent', 'meta-externalfetcher', 'twitterbot', 'linkedinbot',
  'pinterestbot', 'slackbot', 'discordbot', 'telegrambot', 'redditbot', 'embedly', 'skypeuripreview',
  // AI crawlers and fetchers
  'gptbot', 'chatgpt-user', 'oai-searchbot', 'claudebot', 'claude-user', 'claude-searchbot', 'anthropic-ai', 'ccbot',
  'perplexitybot', 'perplexity-user', 'bytespider', 'amazonbot', 'petalbot', 'cohere-ai', 'diffbot', 'youbot',
  'imagesiftbot', 'timpibot', 'ai2bot',
  // uptime monitors
  'uptimerobot', 'pingdom', 'statuscake', 'site24x7',
  // HTTP tools and libraries (their default user agents)
  'curl/', 'wget/', 'python-requests/', 'python-urllib/', 'python-httpx/', 'aiohttp/', 'go-http-client/',
  'libwww-perl/', 'java/', 'apache-httpclient/', 'scrapy', 'httrack', 'phantomjs', 'http_request2', 'powershell/',
]);

// Generic crawler tokens: "crawl", "spider", "scraper", a word "bot" ("…; bot; …", "my_bot"), a
// "<name>bot/<version>" product token, and the "+http(s)://" contact URL crawlers put in their user
// agent.  "CUBOT" (a phone brand: "Android 10; CUBOT X30") matches none of them.
const GENERIC = /crawl|spider|scraper|(?:\b|_)bot\b|bot\/\d|\+https?:\/\//i;

/** True when the user agent is a known crawler or tool (CRAWLER_UA, generic tokens). */
export function isCrawler(userAgent) {
  if (typeof userAgent !== 'string' || userAgent === '') return false;
  const ua = userAgent.toLowerCase();
  return CRAWLER_UA.some((t) => ua.includes(t)) || GENERIC.test(userAgent);
}

/** True when Cloudflare's request.cf says bot: a verified bot, a verified-bot category, or a Bot
 * Management score in 1..29 (0 = not scored; Bot Management is an Enterprise add-on, absent elsewhere). */
export function cfBotSignal(cf) {
  if (!cf || typeof cf !== 'object') return false;
  const bm = cf.botManagement;
  if (bm && typeof bm === 'object') {
    if (bm.verifiedBot === true) return true;
    if (Number.isInteger(bm.score) && bm.score >= 1 && bm.score <= BOT_SCORE_MAX) return true;
  }
  return typeof cf.verifiedBotCategory === 'string' && cf.verifiedBotCategory !== '';
}

/** ESTABLISHED_AFTER_SECONDS as {seconds, problem}: an integer 0..2592000; anything else is the
 * default (600) with a problem naming the variable (shown by /edge/health). */
export function establishedAfter(env) {
  const v = env?.ESTABLISHED_AFTER_SECONDS;
  if (v === undefined || v === null || v === '') return { seconds: DEFAULT_ESTABLISHED_AFTER, problem: null };
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > MAX_ESTABLISHED_AFTER) {
    return { seconds: DEFAULT_ESTABLISHED_AFTER, problem: `ESTABLISHED_AFTER_SECONDS must be an integer number of seconds in 0..${MAX_ESTABLISHED_AFTER} (got ${JSON.stringify(String(v)).slice(0, 40)}); using ${DEFAULT_ESTABLISHED_AFTER}` };
  }
  return { seconds: n, problem: null };
}

// ---- the connection key -----------------------------------------------------------------------

function ipv4Octets(s) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  return o.every((x) => x <= 255) ? o : null;
}

// The eight 16-bit groups of an IPv6 address (zone id dropped, an embedded IPv4 tail allowed), or null.
function ipv6Groups(s) {
  const a = s.replace(/%.*$/, '');
  if (!/^[0-9a-fA-F:.]+$/.test(a) || a.split('::').length > 2) return null;
  const parse = (part) => {
    if (part === '') return [];
    const out = [];
    const bits = part.split(':');
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i];
      if (i === bits.length - 1 && b.includes('.')) {
        const o = ipv4Octets(b);
        if (!o) return null;
        out.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(b)) out.push(parseInt(b, 16));
      else return null;
    }
    return out;
  };
  const [head, tail] = a.split('::');
  const h = parse(head), t = tail === undefined ? [] : parse(tail);
  if (!h || !t) return null;
  if (tail === undefined) return h.length === 8 ? h : null;
  return h.length + t.length <= 7 ? [...h, ...new Array(8 - h.length - t.length).fill(0), ...t] : null;
}

/** The client address truncated to its network: "a.b.c.0/24" for IPv4 (also IPv4-mapped IPv6),
 * "x:y:z::/48" for IPv6, "unknown" for anything else (no address, malformed). */
export function truncateAddress(ip) {
  if (typeof ip !== 'string') return 'unknown';
  const s = ip.trim();
  const v4 = ipv4Octets(s);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0/24`;
  const g = s.includes(':') ? ipv6Groups(s) : null;
  if (!g) return 'unknown';
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.0/24`;
  return `${g[0].toString(16)}:${g[1].toString(16)}:${g[2].toString(16)}::/48`;
}

/** The connection key: the first 16 hex of HMAC-SHA256(secret, "conn:" + UTC day + ":" + ASN + ":" +
 * truncated address).  Changes every UTC day; the same for every shopper on one network that day.
 * asn: a number (else "unknown"); address: the client's, truncated here before hashing. */
export async function connectionKey(secret, { asn, address, nowMs }) {
  const day = new Date(nowMs).toISOString().slice(0, 10);
  const a = Number.isInteger(asn) && asn >= 0 ? String(asn) : 'unknown';
  return (await hmacId(secret, `conn:${day}:${a}:${truncateAddress(address)}`)).slice(0, 16);
}

// ---- classification -----------------------------------------------------------------------------

/** The request's traffic class (see the header).  Never throws for odd input; rejects only with
 * identity.js's ConfigError when EDGEREC_ID_SECRET is missing (identify() has reported it before). */
export async function classifyTraffic(request, id, state, env, nowMs) {
  const headers = request?.headers;
  const cf = request?.cf ?? null;
  const since = state?.since;
  const nowSec = Math.floor(nowMs / 1000);
  const trust = typeof since === 'number' && nowSec - since >= establishedAfter(env).seconds ? null : 'new';
  const flag = isCrawler(headers?.get?.('user-agent') ?? '') || cfBotSignal(cf) ? 'bot' : null;
  const conn = trust === 'new'
    ? await connectionKey(env?.EDGEREC_ID_SECRET, { asn: cf?.asn, address: headers?.get?.('cf-connecting-ip') ?? null, nowMs })
    : null;
  return { trust, flag, conn, signedIn: !!id?.customerKey };
}

/** The rate limiter's key for this traffic: the connection for new shoppers (a script that drops
 * its cookies is one key), the pseudonymous user (or customer) for established ones; null: none. */
export function rateLimitKey(traffic, id) {
  if (traffic?.conn) return `conn:${traffic.conn}`;
  const who = id?.uidHash ?? id?.customerKey;
  return who ? `user:${who}` : null;
}

/** A copy of an event without the edge fields (what a client sent for them is never kept). */
export function stripEdgeFields(ev) {
  if (!ev || typeof ev !== 'object' || Array.isArray(ev)) return ev;
  const out = { ...ev };
  for (const f of EDGE_FIELDS) delete out[f];
  return out;
}

/** Set the edge fields on an event (in place; returns it): client-sent ones are removed first;
 * `traffic` null leaves none (callers that classify nothing). */
export function markEvent(ev, traffic) {
  for (const f of EDGE_FIELDS) delete ev[f];
  if (!traffic) return ev;
  if (traffic.trust) ev.trust = traffic.trust;
  if (traffic.flag) ev.flag = traffic.flag;
  if (traffic.trust && traffic.conn) ev.conn = traffic.conn;
  if (traffic.signedIn) ev.signed_in = true;
  return ev;
}
