// jco-preopen.mjs — `jco run --jco-import` setup: give the WASI guest the
// current directory as the preopen ".", like `wasmtime run --dir=.`.
// (jco's preview2 shim grants no filesystem by default.)  The shim must be the
// very copy jco's generated code imports, so resolve it from jco's package.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const fromJco = createRequire(new URL('../../node_modules/@bytecodealliance/jco/package.json', import.meta.url));
const { _setPreopens } = await import(pathToFileURL(fromJco.resolve('@bytecodealliance/preview2-shim/filesystem')).href);
_setPreopens({ '.': process.cwd() });
