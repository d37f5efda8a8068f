// engine-emscripten.js — the same Engine (engine.js) on top of the Emscripten
// build (wasm/edgerec.emscripten.mjs + .wasm, made by wasm/emscripten.sh).
//
//   import createEdgerecModule from '../../wasm/edgerec.emscripten.mjs';
//   import wasm from '../../wasm/edgerec.emscripten.wasm';        // workerd: a compiled Module
//   const engine = new EmscriptenEngine(createEdgerecModule, wasm, bundleBytes);
//
// Only instantiation differs: the Emscripten glue supplies the imports (its
// libc syscalls, heap growth) and runs the C constructors; engine.js does all
// calls and marshalling on the raw wasm exports, exactly as for the reactor.
import { Engine } from './engine.js';

/** An instantiator (see engine.js) that runs the Emscripten glue synchronously. */
export function emscriptenInstantiator(factory) {
  return (module) => {
    let instance = null;
    const mod = {
      // Hand the glue our precompiled module: no fetch, no compile from bytes
      // (workerd refuses that), and synchronous, so trap recovery can rebuild
      // the instance inside a failing call.
      instantiateWasm(imports, receiveInstance) {
        instance = new WebAssembly.Instance(module, imports);
        receiveInstance(instance, module);
        return instance.exports;
      },
      locateFile: (path) => path, // never fetched; avoids new URL(…, import.meta.url)
      print: () => {},
      printErr: () => {},
    };
    // The factory returns a promise, but with a synchronous instantiateWasm the
    // runtime is initialized before it returns (mod.calledRun).  Swallow the
    // promise's rejection here: failures are reported by the checks below.
    factory(mod).then(null, () => {});
    if (!instance || !mod.calledRun) throw new Error('edgerec: the Emscripten runtime did not start synchronously');
    return { exports: instance.exports, memory: instance.exports.memory };
  };
}

export class EmscriptenEngine extends Engine {
  /**
   * @param {Function} factory the default export of wasm/edgerec.emscripten.mjs
   * @param {WebAssembly.Module} module compiled wasm/edgerec.emscripten.wasm
   * @param {Uint8Array} bundleBytes an .erb bundle
   */
  constructor(factory, module, bundleBytes) {
    super(module, bundleBytes, { instantiate: emscriptenInstantiator(factory) });
  }
}
