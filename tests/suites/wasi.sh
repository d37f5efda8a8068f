#!/usr/bin/env bash
# wasi.sh — wasm/edgerec-cli.wasm under node:wasi and `jco run`, compared with
# the native CLI (stdout bytes, exit codes).  Prints "wasi: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb build/sample-trees.erb wasm/edgerec-cli.wasm node_modules/@bytecodealliance/jco/dist/jco.js
timeout 170 "$NODE" tests/wasi/wasi.mjs
rc=$?
[ $rc -eq 124 ] && echo "wasi: timed out" && echo "0 passed, 1 failed"
exit $rc
