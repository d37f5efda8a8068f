#!/usr/bin/env bash
# js.sh — node:test over tests/js/*.test.mjs: the JS wrapper (worker-shim/core/engine.js)
# in Node against the native CLI, the reactor's imports/exports/size, the
# Emscripten build in Node.  Prints "js: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb build/sample-trees.erb wasm/edgerec.wasm wasm/edgerec.emscripten.mjs wasm/edgerec.emscripten.wasm

. "$(dirname "$0")/../lib/node-test.sh"
node_test_suite js tests/js/*.test.mjs
