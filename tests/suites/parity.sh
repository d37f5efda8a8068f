#!/usr/bin/env bash
# parity.sh — byte parity of every runtime with the native CLI, per input:
# node:wasi, jco, reactor and Emscripten in Node (tests/js/parity.mjs), then
# reactor and Emscripten inside workerd (tests/js/parity.workerd.mjs).
# Prints "parity: N passed, N failed" (one test per input × runtime).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb wasm/edgerec.wasm wasm/edgerec-cli.wasm wasm/edgerec.emscripten.mjs \
  wasm/edgerec.emscripten.wasm node_modules/.bin/vitest node_modules/@bytecodealliance/jco/dist/jco.js

log=$(mktemp)
json=$(mktemp)
trap 'rm -f "$log" "$json"' EXIT
timeout 150 "$NODE" tests/js/parity.mjs | tee "$log"
rc1=${PIPESTATUS[0]}
line=$(grep -aE '^parity-node: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
p1=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"${line:-x 0 passed}")
f1=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"${line:-0 passed, 0 failed}")
[ "$rc1" -ne 0 ] && [ "$f1" -eq 0 ] && f1=1

p2=0; f2=0
if [ -f build/parity/cases.json ] && [ "$rc1" -ne 124 ]; then
  timeout 120 "$NODE" node_modules/vitest/vitest.mjs run --config tests/workerd/vitest.config.mjs \
    --reporter=dot --reporter=json --outputFile.json="$json" tests/js/parity.workerd.mjs
  rc2=$?
  read -r p2 f2 s2 < <("$NODE" -e '
    try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests + r.numTodoTests); }
    catch { console.log("0 0 0"); }' "$json")
  f2=$((f2 + s2))
  [ "$rc2" -ne 0 ] && [ "$f2" -eq 0 ] && f2=1
  echo "parity-workerd: $p2 passed, $f2 failed"
else
  f2=1
fi
echo "parity: $((p1 + p2)) passed, $((f1 + f2)) failed"
[ $((f1 + f2)) -eq 0 ]
