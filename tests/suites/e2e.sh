#!/usr/bin/env bash
# e2e.sh — edgerec end to end over real HTTP on 127.0.0.1: builds the demo-like
# bundle into build/e2e/ (the Luma catalog, synthetic shopper sessions, `edgerec
# train`, as `./build.sh demo` does), then tests/e2e/e2e.mjs starts the Magento
# stand-in (18788) and `wrangler dev --local` (18787) with worker-shim/dev/stack.mjs
# and checks re-ranking from product views, byte-identical pass-through of
# everything else, explicit sorts, cache safety, origin faults, privacy and
# erasure, 20 s of load with every event found in R2, the demo page in headless
# Chromium (screenshot build/e2e/demo.png) and that no edgerec cookie reaches
# the origin; then the admin CLI (lifecycle-e2e.mjs) and the PWA Studio (Venia)
# extension rendered in Chromium against the Worker (venia-e2e.mjs, about 30 s)
# and the storefront script /edge/recs.js on the demo's home, product and cart
# pages in Chromium (storefront-e2e.mjs, about 35 s; screenshot build/e2e/storefront.png) and the
# operators' console after a seeded history (console-e2e.mjs, about 85 s; screenshot build/e2e/console.png)
# and other sites' pages driving a shopper's browser against the edge's routes (crosssite-e2e.mjs, about 30 s).
# About 2–3 minutes.  Nothing is skipped: missing data or tools
# (Luma data, Chromium: Debian package `chromium`) are failures.
# Prints "e2e: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
source tests/lib/checks.sh
E=build/edgerec
D=build/e2e
LUMA=../shared/data/luma
finish() { echo "e2e: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
for f in "$E" wasm/edgerec.wasm node_modules/wrangler/wrangler-dist/cli.js "$LUMA"; do
  [ -e "$f" ] || no "missing $f (nothing is skipped)"
done
command -v chromium >/dev/null || [ -n "${CHROMIUM:-}" ] || no "missing chromium (Debian package 'chromium'; nothing is skipped)"
[ "$fail" -eq 0 ] || finish

mkdir -p "$D"
"$E" import luma-catalog "$LUMA" --out "$D/catalog.json" >/dev/null 2>"$TMP/import.err" \
  || { cat "$TMP/import.err"; no "import luma-catalog"; finish; }
"$NODE" tests/standin/synthetic-sessions.mjs --catalog "$D/catalog.json" >"$D/synthetic.ndjson" 2>"$TMP/syn.err" \
  || { cat "$TMP/syn.err"; no "synthetic sessions"; finish; }
"$E" train --events "$D/synthetic.ndjson" --catalog "$D/catalog.json" --version e2e-1 --quiet --out "$D/e2e.erb" >"$D/train.json" 2>"$TMP/train.err" \
  || { cat "$TMP/train.err"; no "train the e2e bundle"; finish; }

"$E" train --events "$D/synthetic.ndjson" --catalog "$D/catalog.json" --version e2e-2 --seed 2 --quiet --out "$D/e2e-2.erb" >/dev/null 2>"$TMP/train2.err" \
  || { cat "$TMP/train2.err"; no "train the second e2e bundle"; finish; }

# each node script counts its own checks; fold them into this suite's line
fold() { # fold NAME SCRIPT: run it, add its "NAME: N passed, N failed"
  "$NODE" "$2" --dir "$ROOT/$D" | tee "$TMP/$1.log"
  local rc=${PIPESTATUS[0]} line
  line=$(grep -aE "^$1: [0-9]+ passed, [0-9]+ failed" "$TMP/$1.log" | tail -n1)
  if [ -n "$line" ]; then
    pass=$((pass + $(sed -E 's/^[a-z0-9-]+: ([0-9]+) passed.*/\1/' <<<"$line")))
    fail=$((fail + $(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")))
  fi
  [ "$rc" -eq 0 ] || [ -z "$line" ] || [ "$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")" -gt 0 ] || no "$2 exited $rc"
  [ -n "$line" ] || no "$2 printed no count (exit $rc)"
}
fold e2e tests/e2e/e2e.mjs
fold lifecycle-e2e tests/e2e/lifecycle-e2e.mjs # the admin CLI against the real Worker
fold venia-e2e tests/e2e/venia-e2e.mjs # the PWA Studio (Venia) extension in Chromium against the real Worker (ports 18817/18818)
fold storefront-e2e tests/e2e/storefront-e2e.mjs # the storefront script /edge/recs.js on the demo pages in Chromium (ports 18807/18808)
fold console-e2e tests/e2e/console-e2e.mjs # the operators' console /edge/admin/ in Chromium: panels = status, roles, XSS (ports 18827/18828)
fold crosssite-e2e tests/e2e/crosssite-e2e.mjs # other sites' pages against the edge's routes in Chromium, before/after table (ports 19120-19122)
finish
