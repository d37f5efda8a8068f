// trained-parity.mjs — a bundle made by `edgerec train` gives the same
// recommendations natively and in WASM.
//
//   node tests/js/trained-parity.mjs BUNDLE EVENTS.ndjson [SESSIONS]
//
// For the first SESSIONS sessions (default 12) of the event log with two or
// more events, the shopper's profile is built event by event with the reactor
// (engine.updateProfile, the engine's own update rule), and after each event
// the context the edge would send ({"now","k","profile"}) is recommended by
// the reactor (wasm/edgerec.wasm through worker-shim/core/engine.js), the native
// CLI (build/edgerec recommend) and the WASI CLI under node:wasi; one test
// per request and runtime pair: byte-identical outputs.  Prints
// "trained-parity: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../worker-shim/core/engine.js';
import { loadModuleNode, readBytesNode } from '../../worker-shim/dev/node.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
process.chdir(ROOT);
const [bundlePath, eventsPath, nArg] = process.argv.slice(2);
if (!bundlePath || !eventsPath) {
  console.error('usage: trained-parity.mjs BUNDLE EVENTS.ndjson [SESSIONS]');
  process.exit(2);
}
const maxSessions = Number(nArg ?? 12);
const engine = new Engine(loadModuleNode('wasm/edgerec.wasm'), readBytesNode(bundlePath));

const sessions = new Map();
for (const line of readFileSync(eventsPath, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const e = JSON.parse(line);
  if (!sessions.has(e.session)) sessions.set(e.session, []);
  sessions.get(e.session).push(line);
}
const b64url = (u8) => Buffer.from(u8).toString('base64url');

let pass = 0, fail = 0;
const check = (name, ok, detail = '') => {
  if (ok) pass++;
  else { fail++; console.log(`FAIL - ${name} ${detail}`); }
};

let used = 0;
for (const [sid, lines] of sessions) {
  if (lines.length < 2) continue;
  if (used++ >= maxSessions) break;
  let profile = null;
  for (const [i, line] of lines.slice(0, 6).entries()) {
    profile = engine.updateProfile(profile, line);
    const ts = Math.floor(JSON.parse(line).ts);
    const ctx = JSON.stringify({ now: ts, k: 10, profile: b64url(profile) });
    const wasm = engine.recommend(ctx);
    const native = spawnSync('build/edgerec', ['recommend', '--bundle', bundlePath], { input: ctx, encoding: 'utf8' });
    const wasi = spawnSync(process.execPath, ['--no-warnings', 'tests/wasi/run-node-wasi.mjs', 'recommend', '--bundle', bundlePath],
      { input: ctx, encoding: 'utf8' });
    const name = `session ${sid} event ${i}`;
    check(`${name}: native exit 0`, native.status === 0, native.stderr);
    check(`${name}: reactor == native`, wasm + '\n' === native.stdout, `\n  reactor ${wasm}\n  native  ${native.stdout}`);
    check(`${name}: node:wasi == native`, wasi.stdout === native.stdout, `\n  wasi   ${wasi.stdout}\n  native ${native.stdout}`);
    if (i === 0) check(`${name}: a non-empty ranking`, JSON.parse(wasm).items.length > 0, wasm);
  }
}
check('some sessions were compared', used > 0);
console.log(`trained-parity: ${pass} passed, ${fail} failed`);
process.exitCode = fail ? 1 : 0;
