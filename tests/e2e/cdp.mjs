// cdp.mjs — just enough of the Chrome DevTools Protocol to drive headless
// Chromium from Node ≥ 22 (its built-in WebSocket): no npm packages, offline.
//
//   const b = await launchChromium({ userDataDir, width, height });  // spawns `chromium --headless`
//   const page = await b.newPage();          // a target attached with flatten: true
//   await page.send('Page.navigate', { url });
//   await page.eval('document.title');       // Runtime.evaluate, returnByValue, awaitPromise
//   await page.waitFor('expr', 10_000);      // polls a JS expression until truthy (bounded)
//   await page.click(x, y);                  // real mouse events (Input.dispatchMouseEvent)
//   await b.close();                         // kills the process group it started, by PID
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** The Chromium binary ($CHROMIUM, else Debian's /usr/bin/chromium, …), or null. */
export function findChromium() {
  for (const c of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (!c) continue;
    try { accessSync(c, constants.X_OK); return c; } catch { /* next */ }
  }
  return null;
}

/** Start headless Chromium with remote debugging on a random loopback port. */
export async function launchChromium({ bin, userDataDir, width = 1280, height = 1000, timeoutMs = 20_000 }) {
  const args = [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check',
    '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-domain-reliability', '--no-pings', '--metrics-recording-only', '--mute-audio', '--hide-scrollbars',
    '--disable-dev-shm-usage', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    `--user-data-dir=${userDataDir}`, `--window-size=${width},${height}`, 'about:blank',
  ];
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const tail = [];
  const wsUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start in ${timeoutMs} ms:\n${tail.join('\n')}`)), timeoutMs);
    child.stderr.on('data', (b) => {
      for (const line of b.toString().split('\n')) {
        if (line.trim()) { tail.push(line); if (tail.length > 30) tail.shift(); }
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}):\n${tail.join('\n')}`)); });
  });
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`)); });
  let nextId = 1;
  const pending = new Map();
  const listeners = new Set();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(typeof ev.data === 'string' ? ev.data : Buffer.from(ev.data).toString());
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject, timer } = pending.get(msg.id);
      pending.delete(msg.id);
      clearTimeout(timer);
      if (msg.error) reject(new Error(`${msg.error.message} (${msg.error.code})`)); else resolve(msg.result);
    } else for (const l of listeners) l(msg);
  };
  const send = (method, params = {}, sessionId, ms = 15_000) => new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`CDP ${method}: no answer in ${ms} ms`)); }, ms);
    pending.set(id, { resolve, reject, timer });
    ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
  });

  async function newPage() {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const page = {
      send: (method, params, ms) => send(method, params, sessionId, ms),
      async eval(expression, ms) {
        const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId, ms);
        if (r.exceptionDetails) throw new Error(`page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value;
      },
      async waitFor(expression, ms = 10_000, what = expression) {
        const until = Date.now() + ms;
        let last;
        while (Date.now() < until) {
          try { last = await page.eval(expression); if (last) return last; } catch (e) { last = e.message; }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
      },
      async click(x, y) {
        for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased']) {
          await send('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: type === 'mouseMoved' ? 0 : 1 }, sessionId);
        }
      },
      onEvent(fn) { const l = (m) => { if (m.sessionId === sessionId) fn(m); }; listeners.add(l); return () => listeners.delete(l); },
    };
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Network.enable');
    return page;
  }

  async function close() {
    try { await send('Browser.close', {}, undefined, 3000); } catch { /* kill below */ }
    try { ws.close(); } catch { /* closed */ }
    await new Promise((r) => setTimeout(r, 300));
    if (child.exitCode === null && !child.signalCode) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  return { send, newPage, close, pid: child.pid, child };
}
