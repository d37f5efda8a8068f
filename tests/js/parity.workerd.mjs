// parity.workerd.mjs — runs INSIDE workerd (vitest + the Cloudflare
// workers pool; see tests/suites/parity.sh).  The reactor and the Emscripten
// build, through the same engine.js, must give the native CLI's bytes for
// every parity input (build/parity/cases.json, written by tests/js/parity.mjs).
// One test per (input × runtime).
import { describe, it, expect } from 'vitest';
import cases from '../../build/parity/cases.json';
import reactorWasm from '../../wasm/edgerec.wasm';
import emsWasm from '../../wasm/edgerec.emscripten.wasm';
import createEdgerecModule from '../../wasm/edgerec.emscripten.mjs';
import bundle from '../../build/sample.erb';
import { Engine } from '../../worker-shim/core/engine.js';
import { EmscriptenEngine } from '../../worker-shim/core/engine-emscripten.js';

const enc = new TextEncoder();
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

function served(engine, k) {
  if (k.kind === 'recommend') return { bytes: enc.encode(engine.recommend(k.ctx)), reason: '' };
  const r = engine.rerank(k.resp, k.ctx);
  return r.ok ? { bytes: r.body, reason: '' } : { bytes: enc.encode(k.resp), reason: r.reason };
}

const runtimes = {
  'reactor@workerd': () => new Engine(reactorWasm, new Uint8Array(bundle)),
  'emscripten@workerd': () => new EmscriptenEngine(createEdgerecModule, emsWasm, new Uint8Array(bundle)),
};

for (const [name, make] of Object.entries(runtimes)) {
  describe(name, () => {
    let engine;
    it.each(cases)('$id', (k) => {
      expect(navigator.userAgent).toBe('Cloudflare-Workers'); // really inside workerd
      engine ??= make();
      const got = served(engine, k);
      expect(got.reason).toBe(k.reason);
      expect(got.bytes).toEqual(fromB64(k.expected_b64));
    });
  });
}
