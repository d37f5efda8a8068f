#!/usr/bin/env bash
# Fuzz suite for ./build.sh test: every libFuzzer target for 10 s (bounded).
# Ends with run.sh's "N passed, N failed" line (one test per target).
set -uo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/fuzz/run.sh 10
