#!/usr/bin/env bash
# score-wasm.sh — tests/unit/test_score.c (the tree scorer against the reference walk, bit for bit)
# built for wasm32-wasi with the reactor's -msimd128 and run under node:wasi, so the simd128 code
# paths are checked as well as the native ones (./build.sh test's unit build).  Prints the
# harness's "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need tests/wasi/run-node-wasi.mjs
OUT=build/score-wasm
mkdir -p "$OUT"
# engine + the bundle writer (as the WASI CLI); compile, then link without -O (build.sh: wasm_clang)
for s in src/engine/*.c src/offline/er_pack.c src/offline/er_native.c tests/unit/test_score.c; do
  clang --target=wasm32-wasi --sysroot=/usr -O2 -msimd128 -std=c11 -Wall -Wextra -Werror -Wvla -ffp-contract=off \
    -Isrc/engine -Isrc/offline -Isrc/cli -c "$s" -o "$OUT/$(basename "$s" .c).o" || { echo "0 passed, 1 failed"; exit 1; }
done
clang --target=wasm32-wasi --sysroot=/usr "$OUT"/*.o -lm -o "$OUT/test_score.wasm" || { echo "0 passed, 1 failed"; exit 1; }
EDGEREC_CLI_WASM="$OUT/test_score.wasm" "$NODE" --no-warnings tests/wasi/run-node-wasi.mjs
