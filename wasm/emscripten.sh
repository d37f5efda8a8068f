#!/usr/bin/env bash
# emscripten.sh — build the engine with Debian's Emscripten into an ES module:
#   wasm/edgerec.emscripten.mjs   the glue (MODULARIZE + EXPORT_ES6: a factory)
#   wasm/edgerec.emscripten.wasm  the engine
# Same sources and float flags as the clang reactor (src/engine/*.c, as build.sh
# + wasm/exports.c, -O2 -msimd128 -ffp-contract=off), so both builds print identical
# bytes.  Used through worker-shim/core/engine-emscripten.js, which passes a
# precompiled WebAssembly.Module via instantiateWasm (and a locateFile that
# is never used to fetch), so it runs in Node and inside workerd alike.
# Called by build.sh; does nothing when the outputs are up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=wasm/edgerec.emscripten.mjs
WASM=wasm/edgerec.emscripten.wasm

# The engine sources are the folder src/engine/ (what the reactor compiles; docs/architecture.md).
ENGINE_SRC=$(echo src/engine/*.c)
SRCS="$ENGINE_SRC wasm/exports.c"

up_to_date() {
  [ -f "$OUT" ] && [ -f "$WASM" ] || return 1
  local f
  for f in $SRCS src/engine/*.h build.sh wasm/emscripten.sh; do [ "$f" -nt "$OUT" ] && return 1; done
  return 0
}
up_to_date && exit 0

command -v emcc >/dev/null || { echo "emscripten.sh: emcc not found (./build.sh deps installs Debian's emscripten)" >&2; exit 1; }
echo "==> Emscripten → $OUT" >&2

# emcc's sysroot has no xxhash/jsmn: expose just those two system headers.
INC=build/emscripten-include
mkdir -p "$INC"
for h in xxhash.h xxh3.h jsmn.h; do [ -e /usr/include/$h ] && ln -sf /usr/include/$h "$INC/$h"; done

# The ABI functions are exported by wasm/exports.c's export_name attributes
# (listing them again in -sEXPORTED_FUNCTIONS makes duplicate exports).

# Debian's emcc runs its JS tools with the system Node and needs NODE_PATH.
# -sENVIRONMENT=web: no Node/fs code in the glue (workerd has neither);
# -sDYNAMIC_EXECUTION=0: no eval/new Function (workerd forbids them);
# -sFILESYSTEM=0: the engine does no file I/O.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
NODE_PATH=/usr/share/nodejs emcc -O2 -msimd128 -std=c11 -Wall -Wextra -Werror -Wvla -ffp-contract=off -DER_TINY_PRINTF -Isrc/engine -isystem "$INC" \
  $SRCS \
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createEdgerecModule \
  -sENVIRONMENT=web -sDYNAMIC_EXECUTION=0 -sFILESYSTEM=0 \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16777216 \
  -o "$tmp/edgerec.emscripten.mjs"
mv "$tmp/edgerec.emscripten.wasm" "$WASM"
mv "$tmp/edgerec.emscripten.mjs" "$OUT"
