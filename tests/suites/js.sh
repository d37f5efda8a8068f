#!/usr/bin/env bash
# js.sh — node:test over tests/js/*.test.mjs: the JS wrapper (worker-shim/engine.js)
# in Node against the native CLI, the reactor's imports/exports/size, the
# Emscripten build in Node.  Prints "js: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb build/sample-trees.erb wasm/edgerec.wasm wasm/edgerec.emscripten.mjs wasm/edgerec.emscripten.wasm

log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 170 "$NODE" --test --test-reporter=tap --test-timeout=60000 tests/js/*.test.mjs 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -aE '^# pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
fail=$(grep -aE '^# fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
skip=$(grep -aE '^# (skipped|todo) [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
pass=${pass:-0}; fail=${fail:-0}
fail=$((fail + skip))                        # no skipped tests allowed
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1 # a crash or timeout is a failure
echo "js: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
