#!/usr/bin/env bash
# edge-scale.sh — the short form of `./build.sh bench edge-scale` (bench/edge-scale.mjs --short): the
# Worker in workerd with a 500- and a 5,000-item generated catalog (bundle in KV, catalog view synced by
# the cron) answers recommendation units with products, within 128 MB of isolate memory, and a fresh
# isolate gives a personalized answer with no request waiting past the fail-open deadline.
# Ports 19102-19104.  Prints "edge-scale: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec wasm/edgerec.wasm node_modules/miniflare/package.json

out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 900 "$NODE" bench/edge-scale.mjs --short > "$out"
rc=$?
read -r p f < <("$NODE" -e '
  try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop());
    for (const x of r.failures) console.error("not ok - " + x);
    console.log(r.checks - r.failures.length, r.failures.length); }
  catch (e) { console.error("edge-scale: no result line: " + e.message); console.log("0 1"); }' "$out")
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1   # a crash or timeout is a failure
echo "edge-scale: $p passed, $f failed"
[ "$f" -eq 0 ]
