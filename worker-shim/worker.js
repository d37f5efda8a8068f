// worker.js — a thin Cloudflare Worker over engine.js (the real Worker comes
// later).  GET /edge/health answers with the engine's bundle info; every other
// request goes to the origin untouched.
import wasm from '../wasm/edgerec.wasm'; // CompiledWasm rule: a WebAssembly.Module
import bundle from '../build/sample.erb'; // Data rule: an ArrayBuffer (KV later)
import { Engine } from './engine.js';

let engine = null; // one per isolate, made on first use, shared by all requests

function getEngine() {
  engine ??= new Engine(wasm, new Uint8Array(bundle));
  return engine;
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/edge/health' && request.method === 'GET') {
      try {
        const e = getEngine();
        return Response.json({ ok: true, abi: 1, bundle: e.info() }, { headers: { 'cache-control': 'no-store' } });
      } catch (err) {
        return Response.json({ ok: false, code: err.code ?? 'error', error: err.message }, { status: 503 });
      }
    }
    return fetch(request);
  },
};
