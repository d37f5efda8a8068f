// traffic.test.mjs — worker-shim/core/traffic.js in Node: crawler user agents and Cloudflare's bot
// signals, the truncated address and the connection key (checked against node:crypto's HMAC), the
// trust class from the state's age, the rate limiter's key, and the edge fields on events
// (docs/events.md "Edge fields", docs/anti-gaming.md "At the edge").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  CRAWLER_UA, DEFAULT_ESTABLISHED_AFTER, EDGE_FIELDS, cfBotSignal, classifyTraffic, connectionKey, establishedAfter,
  isCrawler, markEvent, rateLimitKey, stripEdgeFields, truncateAddress,
} from '../../worker-shim/core/traffic.js';

const SECRET = 'node-test-id-secret-0123456789abcdefghijklmnop';
const env = (extra = {}) => ({ EDGEREC_ID_SECRET: SECRET, ...extra });
const NOW = Date.UTC(2026, 2, 14, 23, 59, 30); // 2026-03-14, late in the UTC day
const req = (headers = {}, cf = undefined) => ({ headers: new Headers(headers), cf });
const id = (over = {}) => ({ uidHash: 'a'.repeat(64), customerKey: null, ...over });
const HEX16 = /^[0-9a-f]{16}$/;

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 9; CUBOT_X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/460.0]',
  'Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 YaBrowser/24.1',
  // the project's own browser tests (a choice: docs/anti-gaming.md)
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36',
  // apps' HTTP stacks and server-side rendering from Node
  'okhttp/4.12.0', 'MyShop/3.1 CFNetwork/1490.0.4 Darwin/23.2.0', 'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)', 'node', 'undici',
  '',
];
const CRAWLERS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)',
  'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
  'Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)',
  'DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
  'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
  'CCBot/2.0 (https://commoncrawl.org/faq/)',
  'Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)',
  'Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)',
  'Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)',
  'curl/8.5.0', 'Wget/1.21.4', 'python-requests/2.31.0', 'Python-urllib/3.12', 'Go-http-client/2.0', 'Java/17.0.2',
  'Apache-HttpClient/4.5.14 (Java/17)', 'Scrapy/2.11 (+https://scrapy.org)', 'libwww-perl/6.72',
  // generic tokens
  'SomeNewCrawler/0.1', 'acme-spider', 'Mozilla/5.0 (compatible; shopbot/1.0)', 'price_bot', 'Mozilla/5.0 (compatible; Foo/1.0; +https://foo.example/info)',
];

test('crawler and tool user agents are known; browsers, HeadlessChrome, app stacks and Node are not', () => {
  for (const ua of CRAWLERS) assert.equal(isCrawler(ua), true, ua);
  for (const ua of BROWSERS) assert.equal(isCrawler(ua), false, ua);
  assert.equal(isCrawler(undefined), false);
  assert.equal(isCrawler(42), false);
  assert.ok(CRAWLER_UA.every((t) => t === t.toLowerCase()), 'the list is matched lower-cased');
  assert.ok(Object.isFrozen(CRAWLER_UA) && Object.isFrozen(EDGE_FIELDS));
});

test("Cloudflare's bot signals: verified bot, verified-bot category, bot score 1..29", () => {
  assert.equal(cfBotSignal({ botManagement: { verifiedBot: true, score: 99 } }), true);
  assert.equal(cfBotSignal({ verifiedBotCategory: 'Search Engine Crawler' }), true);
  assert.equal(cfBotSignal({ botManagement: { score: 1 } }), true);
  assert.equal(cfBotSignal({ botManagement: { score: 29 } }), true);
  assert.equal(cfBotSignal({ botManagement: { score: 30 } }), false);
  assert.equal(cfBotSignal({ botManagement: { score: 0 } }), false, '0: not scored');
  assert.equal(cfBotSignal({ botManagement: { score: 99, verifiedBot: false }, verifiedBotCategory: '' }), false);
  assert.equal(cfBotSignal({ botManagement: { score: '5' } }), false, 'not a number: no signal');
  assert.equal(cfBotSignal({ botManagement: { verifiedBot: 'true' } }), false);
  for (const cf of [undefined, null, {}, 'x', { asn: 13335 }]) assert.equal(cfBotSignal(cf), false);
});

test('addresses are truncated to /24 (IPv4, IPv4-mapped) and /48 (IPv6); anything else is "unknown"', () => {
  const cases = {
    '203.0.113.178': '203.0.113.0/24', '203.0.113.1': '203.0.113.0/24', ' 198.51.100.7 ': '198.51.100.0/24',
    '::ffff:198.51.100.7': '198.51.100.0/24', '2001:db8:1234:5678::1': '2001:db8:1234::/48', '2001:0DB8:0001::': '2001:db8:1::/48',
    '2001:db8:1234:ffff:ffff:ffff:ffff:ffff': '2001:db8:1234::/48', 'fe80::1%eth0': 'fe80:0:0::/48', '2001:db8::1.2.3.4': '2001:db8:0::/48',
    '1.2.3': 'unknown', '256.1.1.1': 'unknown', '1::2::3': 'unknown', '1:2:3:4:5:6:7:8:9': 'unknown', 'localhost': 'unknown', '': 'unknown',
  };
  for (const [ip, want] of Object.entries(cases)) assert.equal(truncateAddress(ip), want, ip);
  assert.equal(truncateAddress(null), 'unknown');
  assert.equal(truncateAddress(undefined), 'unknown');
});

test('the connection key is the first 16 hex of HMAC-SHA256(secret, "conn:" day ":" ASN ":" /24), per UTC day', async () => {
  const expect = (material) => createHmac('sha256', SECRET).update(material).digest('hex').slice(0, 16);
  const k = await connectionKey(SECRET, { asn: 13335, address: '203.0.113.178', nowMs: NOW });
  assert.match(k, HEX16);
  assert.equal(k, expect('conn:2026-03-14:13335:203.0.113.0/24'));
  assert.equal(await connectionKey(SECRET, { asn: 13335, address: '203.0.113.9', nowMs: NOW }), k, 'the same /24: the same key');
  assert.notEqual(await connectionKey(SECRET, { asn: 13335, address: '203.0.114.9', nowMs: NOW }), k, 'another /24');
  assert.notEqual(await connectionKey(SECRET, { asn: 64500, address: '203.0.113.9', nowMs: NOW }), k, 'another ASN');
  assert.notEqual(await connectionKey(SECRET, { asn: 13335, address: '203.0.113.9', nowMs: NOW + 60_000 }), k, 'the next UTC day');
  assert.equal(await connectionKey(SECRET, { asn: undefined, address: null, nowMs: NOW }), expect('conn:2026-03-14:unknown:unknown'));
  assert.equal(await connectionKey(SECRET, { asn: '13335', address: '2001:db8:1234:5678::1', nowMs: NOW }), expect('conn:2026-03-14:unknown:2001:db8:1234::/48'));
  await assert.rejects(connectionKey('', { asn: 1, address: '1.2.3.4', nowMs: NOW }), /not set/);
});

test('ESTABLISHED_AFTER_SECONDS: an integer 0..30 days; anything else is the default with a problem naming it', () => {
  assert.deepEqual(establishedAfter({}), { seconds: DEFAULT_ESTABLISHED_AFTER, problem: null });
  assert.deepEqual(establishedAfter({ ESTABLISHED_AFTER_SECONDS: '' }), { seconds: 600, problem: null });
  assert.deepEqual(establishedAfter({ ESTABLISHED_AFTER_SECONDS: '0' }), { seconds: 0, problem: null });
  assert.deepEqual(establishedAfter({ ESTABLISHED_AFTER_SECONDS: ' 3600 ' }), { seconds: 3600, problem: null });
  assert.deepEqual(establishedAfter({ ESTABLISHED_AFTER_SECONDS: 90 }), { seconds: 90, problem: null });
  for (const bad of ['ten', '-5', '1.5', '2592001', '1e3']) {
    const r = establishedAfter({ ESTABLISHED_AFTER_SECONDS: bad });
    assert.equal(r.seconds, 600, bad);
    assert.match(r.problem, /^ESTABLISHED_AFTER_SECONDS must be an integer number of seconds in 0\.\.2592000 \(got .*\); using 600$/, bad);
  }
});

test('classifyTraffic: no state, or a young one, is new with a connection key; an old one is established', async () => {
  const nowSec = Math.floor(NOW / 1000);
  const r = req({ 'cf-connecting-ip': '203.0.113.178', 'user-agent': BROWSERS[0] }, { asn: 13335 });
  const fresh = await classifyTraffic(r, id(), { profile: null, cart: [] }, env(), NOW);
  assert.deepEqual(fresh, { trust: 'new', flag: null, conn: await connectionKey(SECRET, { asn: 13335, address: '203.0.113.178', nowMs: NOW }), signedIn: false });
  assert.ok(!JSON.stringify(fresh).includes('203.0.113'), 'the address is not in the answer');
  assert.equal((await classifyTraffic(r, id(), null, env(), NOW)).trust, 'new');
  assert.equal((await classifyTraffic(r, id(), { since: nowSec - 599 }, env(), NOW)).trust, 'new');
  assert.equal((await classifyTraffic(r, id(), { since: nowSec + 30 }, env(), NOW)).trust, 'new', 'a state from the future is new');
  const old = await classifyTraffic(r, id(), { since: nowSec - 600 }, env(), NOW);
  assert.deepEqual(old, { trust: null, flag: null, conn: null, signedIn: false });
  assert.equal((await classifyTraffic(r, id(), { since: 0 }, env(), NOW)).trust, null, 'a version-1 state (since 0) is established');
  assert.equal((await classifyTraffic(r, id(), { since: nowSec - 100 }, env({ ESTABLISHED_AFTER_SECONDS: '60' }), NOW)).trust, null);
  assert.equal((await classifyTraffic(r, id(), { since: nowSec - 100 }, env({ ESTABLISHED_AFTER_SECONDS: '3600' }), NOW)).trust, 'new');
  assert.equal((await classifyTraffic(r, id(), { since: nowSec - 700 }, env({ ESTABLISHED_AFTER_SECONDS: 'soon' }), NOW)).trust, null, 'a bad value: the default');
});

test('classifyTraffic: crawlers and bot signals are flagged; a customer key is signedIn; odd requests do not throw', async () => {
  const since = Math.floor(NOW / 1000) - 86400;
  assert.equal((await classifyTraffic(req({ 'user-agent': CRAWLERS[0] }), id(), { since }, env(), NOW)).flag, 'bot');
  assert.equal((await classifyTraffic(req({}, { botManagement: { score: 3 } }), id(), { since }, env(), NOW)).flag, 'bot');
  assert.equal((await classifyTraffic(req({}, { verifiedBotCategory: 'Monitoring & Analytics' }), id(), { since }, env(), NOW)).flag, 'bot');
  assert.equal((await classifyTraffic(req({ 'user-agent': BROWSERS[9] }), id(), { since }, env(), NOW)).flag, null, 'HeadlessChrome is not flagged');
  assert.equal((await classifyTraffic(req(), id({ customerKey: 'c'.repeat(64) }), { since }, env(), NOW)).signedIn, true);
  const bare = await classifyTraffic({}, null, undefined, env(), NOW);
  assert.equal(bare.trust, 'new');
  assert.match(bare.conn, HEX16);
});

test('rateLimitKey: the connection for new traffic, the user (or customer) for established', () => {
  assert.equal(rateLimitKey({ trust: 'new', conn: '0123456789abcdef' }, id()), 'conn:0123456789abcdef');
  assert.equal(rateLimitKey({ trust: null, conn: null }, id()), `user:${'a'.repeat(64)}`);
  assert.equal(rateLimitKey({ trust: null, conn: null }, id({ uidHash: null, customerKey: 'c'.repeat(64) })), `user:${'c'.repeat(64)}`);
  assert.equal(rateLimitKey({ trust: null, conn: null }, id({ uidHash: null })), null);
});

test("edge fields: a client's are removed; the edge's are set (conn only with trust new, signed_in only when true)", () => {
  assert.deepEqual([...EDGE_FIELDS], ['trust', 'flag', 'conn', 'signed_in']);
  const sent = { type: 'view', item: 'A', trust: 'established', flag: 'ok', conn: 'ffffffffffffffff', signed_in: true, unit: 'u' };
  assert.deepEqual(stripEdgeFields(sent), { type: 'view', item: 'A', unit: 'u' });
  assert.equal(sent.flag, 'ok', 'the original is untouched');
  for (const v of [null, 'x', [1], 3]) assert.equal(stripEdgeFields(v), v);
  assert.deepEqual(markEvent({ ...sent }, null), { type: 'view', item: 'A', unit: 'u' });
  assert.deepEqual(markEvent({ ...sent }, { trust: 'new', flag: 'rate-limited', conn: '0123456789abcdef', signedIn: false }),
    { type: 'view', item: 'A', unit: 'u', trust: 'new', flag: 'rate-limited', conn: '0123456789abcdef' });
  assert.deepEqual(markEvent({ ...sent }, { trust: null, flag: null, conn: '0123456789abcdef', signedIn: true }),
    { type: 'view', item: 'A', unit: 'u', signed_in: true }, 'no conn on an established event');
});
