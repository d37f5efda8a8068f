// node.js — Node-only helpers for engine.js (kept apart so a Worker bundle
// never imports node builtins).
import { readFileSync } from 'node:fs';

/** Compile a .wasm file into a WebAssembly.Module (synchronously). */
export function loadModuleNode(path) {
  return new WebAssembly.Module(readFileSync(path));
}

/** Read a file as a Uint8Array (bundles, profiles). */
export function readBytesNode(path) {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
