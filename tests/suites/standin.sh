#!/usr/bin/env bash
# standin.sh — node:test over tests/standin/*.test.mjs: the Magento GraphQL stand-in (query
# shapes, sort, currency, tokens, faults, determinism, in Node and in workerd), the synthetic
# session generator and the demo page queries.  Prints "standin: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb build/sample-trees.erb wasm/edgerec.wasm wasm/edgerec.emscripten.mjs wasm/edgerec.emscripten.wasm

log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 170 "$NODE" --test --test-reporter=tap --test-timeout=60000 tests/standin/*.test.mjs 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -aE '^# pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
fail=$(grep -aE '^# fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
skip=$(grep -aE '^# (skipped|todo) [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
pass=${pass:-0}; fail=${fail:-0}
fail=$((fail + skip))                        # no skipped tests allowed
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1 # a crash or timeout is a failure
echo "standin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
