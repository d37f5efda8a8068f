#!/usr/bin/env node
// run-node-wasi.mjs — run wasm/edgerec-cli.wasm (a WASI preview1 command)
// under Node's node:wasi, with the current directory preopened as "."
// (like `wasmtime run --dir=.`) and stdio passed through.  Exits with the
// guest's exit code.
//   node tests/wasi/run-node-wasi.mjs recommend --bundle build/sample.erb < ctx.json
// EDGEREC_CLI_WASM overrides the module path.  EDGEREC_REPORT_MEMORY=1 prints
// the guest's linear memory size after the run to stderr, "memory-bytes N"
// (tests/wasi/wasi.mjs: memory must not grow with an oversized input).
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const path = process.env.EDGEREC_CLI_WASM ?? new URL('../../wasm/edgerec-cli.wasm', import.meta.url);
const wasi = new WASI({
  version: 'preview1',
  args: ['edgerec', ...process.argv.slice(2)],
  env: {},
  preopens: { '.': process.cwd() },
  returnOnExit: true,
});
const module = new WebAssembly.Module(readFileSync(path));
const instance = new WebAssembly.Instance(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
if (process.env.EDGEREC_REPORT_MEMORY === '1') process.stderr.write(`memory-bytes ${instance.exports.memory.buffer.byteLength}\n`);
