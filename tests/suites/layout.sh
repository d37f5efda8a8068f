#!/usr/bin/env bash
# layout.sh — the folders are the architecture (docs/architecture.md): what the reactor compiles
# is src/engine/ and nothing else (clang -M with the reactor's flags), the engine never includes
# offline or CLI code, no include cycles, worker-shim/core/ is platform-neutral, the platforms do
# not reach into each other.  Prints "layout: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
"$NODE" tests/layout/layout.mjs
