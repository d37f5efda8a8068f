#!/usr/bin/env bash
# standin.sh — node:test over tests/standin/*.test.mjs: the Magento GraphQL stand-in (query
# shapes, sort, currency, tokens, faults, determinism, in Node and in workerd), the synthetic
# session generator and the demo page queries.  Prints "standin: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb build/sample-trees.erb wasm/edgerec.wasm wasm/edgerec.emscripten.mjs wasm/edgerec.emscripten.wasm

. "$(dirname "$0")/../lib/node-test.sh"
node_test_suite standin tests/standin/*.test.mjs
