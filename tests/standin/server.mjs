#!/usr/bin/env node
// server.mjs — the Magento GraphQL stand-in (magento.mjs) behind node:http,
// plus the demo page.
//
//   node tests/standin/server.mjs --catalog FILE [--port 8788] [--host 127.0.0.1]
//                                 [--timeout-ms 120000] [--vary] [--quiet] [--record] [--static DIR]
//                                 [--media-url URL]
//
//   /graphql       the stand-in (GET queries, POST queries and mutations)
//   /              tests/standin/demo.html (load it through the edge Worker): the home page; the same
//   /<url_key>.html  file is the product page of a catalog product (Luma's URLs) and
//   /cart            the cart page (the page routes on its path; docs/storefront.md)
//   /media/catalog/product/…  a placeholder image (SVG) for any product image path; with
//                  --media-url http://HOST:PORT/media/catalog/product the products' images point here
//   /favicon.ico   404
//   /__standin/requests  only with --record (a test aid, never in the demo): GET → JSON array of
//                  every request the stand-in received ({method, url, headers, body}, magento.mjs's
//                  state.requests, oldest first); DELETE → forget them.  Without --record: 404.
//   /__static/FILE only with --static DIR (a test aid: pages and bundles a test built, e.g. the Venia
//                  extension's test page): GET the file DIR/FILE; no directory listing, nothing outside DIR
//
// Prints "magento stand-in listening on http://HOST:PORT" on stdout when
// ready (with --port 0 the port the system chose); one line per request on
// stderr unless --quiet; exits cleanly on SIGINT / SIGTERM.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';
import { createMagento } from './magento.mjs';

const USAGE = 'usage: server.mjs --catalog FILE [--port 8788] [--host 127.0.0.1] [--timeout-ms MS] [--vary] [--quiet] [--record] [--static DIR] [--media-url URL]';

function parseArgs(argv) {
  const o = { port: 8788, host: '127.0.0.1', quiet: false, vary: false, record: false, catalog: null, timeoutMs: undefined, staticDir: null, mediaUrl: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--catalog') o.catalog = val();
    else if (a === '--port') o.port = Number(val());
    else if (a === '--host') o.host = val();
    else if (a === '--timeout-ms') o.timeoutMs = Number(val());
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--vary') o.vary = true;
    else if (a === '--record') o.record = true;
    else if (a === '--static') o.staticDir = resolve(val());
    else if (a === '--media-url') o.mediaUrl = val().replace(/\/+$/, '');
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else usage(`unknown argument ${a}`);
  }
  if (!o.catalog) usage('--catalog is required');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('--port must be 0..65535');
  if (o.timeoutMs !== undefined && !(o.timeoutMs >= 0)) usage('--timeout-ms must be a number ≥ 0');
  return o;
}
function usage(msg) { console.error(`server.mjs: ${msg}\n${USAGE}`); process.exit(2); }

const opts = parseArgs(process.argv.slice(2));
let catalog;
try { catalog = JSON.parse(readFileSync(opts.catalog, 'utf8')); } catch (e) {
  console.error(`server.mjs: cannot read the catalog ${opts.catalog}: ${e.message}`);
  process.exit(3);
}
const magento = createMagento(catalog, { timeoutMs: opts.timeoutMs, vary: opts.vary, mediaUrl: opts.mediaUrl });
const productPages = new Set(catalog.items.filter((it) => it.url_key && it.visible !== false && !it.parent).map((it) => `/${it.url_key}.html`));
const demo = readFileSync(new URL('demo.html', import.meta.url));
const STATIC_TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

/** A product image stand-in: a square SVG in a colour of the path, with the product's initials. */
function placeholder(path) {
  const key = (path.split('/').pop() ?? '').replace(/\.[a-z]+$/i, '');
  let h = 0;
  for (const c of key) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const initials = key.split('-').filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('').replace(/[^A-Z0-9]/g, '');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240"><rect width="240" height="240" fill="hsl(${h % 360} 45% 78%)"/>`
    + `<text x="120" y="138" font-family="sans-serif" font-size="64" text-anchor="middle" fill="hsl(${h % 360} 40% 30%)">${initials}</text></svg>`;
}

function operationName(url, body) {
  const q = url.searchParams.get('operationName');
  if (q) return q;
  try { return JSON.parse(body)?.operationName ?? null; } catch { return null; }
}

const server = http.createServer(async (req, res) => {
  const t0 = performance.now();
  const url = new URL(req.url, `http://${req.headers.host || `${opts.host}:${opts.port}`}`);
  const log = (status, bytes, extra = '') => {
    if (!opts.quiet) console.error(`${req.method} ${url.pathname}${extra} -> ${status} ${bytes} B ${(performance.now() - t0).toFixed(1)} ms`);
  };
  if (url.pathname === '/' || url.pathname === '/index.html' || url.pathname === '/cart' || productPages.has(url.pathname)) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': demo.length });
    res.end(req.method === 'HEAD' ? undefined : demo);
    return log(200, demo.length);
  }
  if (opts.record && url.pathname === '/__standin/requests') {
    if (req.method === 'DELETE') magento.state.requests.length = 0;
    const out = Buffer.from(req.method === 'DELETE' ? '{"cleared":true}' : JSON.stringify(magento.state.requests));
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': out.length });
    res.end(req.method === 'HEAD' ? undefined : out);
    return log(200, out.length);
  }
  if (opts.staticDir && url.pathname.startsWith('/__static/')) {
    let file = null, out = null;
    try { file = resolve(opts.staticDir, decodeURIComponent(url.pathname.slice('/__static/'.length))); } catch { /* bad escape: 404 */ }
    try { if (file?.startsWith(opts.staticDir + sep)) out = readFileSync(file); } catch { /* missing or a directory: 404 */ }
    const status = out ? 200 : 404;
    if (!out) out = Buffer.from('not found\n');
    res.writeHead(status, { 'content-type': status === 200 ? STATIC_TYPES[extname(file)] ?? 'application/octet-stream' : 'text/plain',
      'cache-control': 'no-store', 'content-length': out.length });
    res.end(req.method === 'HEAD' ? undefined : out);
    return log(status, out.length);
  }
  if (url.pathname.startsWith('/media/catalog/product/')) {
    const out = Buffer.from(placeholder(url.pathname));
    res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=3600', 'content-length': out.length });
    res.end(req.method === 'HEAD' ? undefined : out);
    return log(200, out.length);
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': 10 });
    res.end('not found\n');
    return log(404, 10);
  }

  // IncomingMessage → Request
  const ac = new AbortController();
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const request = new Request(url, { method: req.method, headers, body: hasBody ? body : null, signal: ac.signal, duplex: 'half' });
  const fault = headers.get('x-standin-fault');
  const op = operationName(url, hasBody ? body.toString('utf8') : null);
  const extra = `${op ? ` ${op}` : ''}${fault ? ` [fault=${fault}]` : ''}`;

  // Response → ServerResponse
  let response;
  try {
    response = await magento.handle(request);
  } catch (e) {
    if (e?.name === 'AbortError') { res.destroy(); return log('aborted', 0, extra); }
    console.error(`server.mjs: ${e.stack || e}`);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('stand-in error\n');
    return log(500, 0, extra);
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  const out = {};
  for (const [k, v] of response.headers) if (k !== 'set-cookie') out[k] = v;
  const cookies = response.headers.getSetCookie();
  if (cookies.length) out['set-cookie'] = cookies;
  out['content-length'] = bytes.length;
  res.writeHead(response.status, out);
  res.end(req.method === 'HEAD' ? undefined : bytes);
  log(response.status, bytes.length, extra);
});

server.on('clientError', (err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); });
server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  console.log(`magento stand-in listening on http://${host}:${port}`);
});
server.on('error', (e) => { console.error(`server.mjs: ${e.message}`); process.exit(1); });

let closing = false;
function shutdown(sig) {
  if (closing) return;
  closing = true;
  if (!opts.quiet) console.error(`server.mjs: ${sig}, closing`);
  magento.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
