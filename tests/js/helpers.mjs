// helpers.mjs — shared by the Node test files: paths, the native CLI, engines.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Engine } from '../../worker-shim/core/engine.js';
import { EmscriptenEngine } from '../../worker-shim/core/engine-emscripten.js';
import { loadModuleNode, readBytesNode } from '../../worker-shim/dev/node.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const path = (p) => ROOT + p;
export const NATIVE = path('build/edgerec');
export const BUNDLE = path('build/sample.erb');
export const BUNDLE_TREES = path('build/sample-trees.erb');
export const REACTOR = path('wasm/edgerec.wasm');
export const CLI_WASM = path('wasm/edgerec-cli.wasm');
export const EMS_GLUE = path('wasm/edgerec.emscripten.mjs');
export const EMS_WASM = path('wasm/edgerec.emscripten.wasm');

/** Run the native CLI: {status, stdout (Buffer), stderr (string)}. */
export function native(args, input = '') {
  const r = spawnSync(NATIVE, args, { input, cwd: ROOT, maxBuffer: 64 << 20 });
  if (r.error && (r.error.code !== 'EPIPE' || r.status === null)) throw r.error; // EPIPE: exited before reading input
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

let reactorModule;
export const reactorModuleOnce = () => (reactorModule ??= loadModuleNode(REACTOR));
export const bundleBytes = (p = BUNDLE) => readBytesNode(p);

/** A reactor engine over the sample bundle (or another bundle file). */
export function reactorEngine(bundlePath = BUNDLE) {
  return new Engine(reactorModuleOnce(), bundleBytes(bundlePath));
}

/** An Emscripten engine over the sample bundle. */
export async function emscriptenEngine(bundlePath = BUNDLE) {
  const { default: factory } = await import(EMS_GLUE);
  return new EmscriptenEngine(factory, loadModuleNode(EMS_WASM), bundleBytes(bundlePath));
}

export const readText = (p) => readFileSync(path(p), 'utf8');
export const enc = new TextEncoder();
export const dec = new TextDecoder();
