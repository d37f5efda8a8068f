#!/usr/bin/env bash
# workerd.sh — tests that run INSIDE workerd (vitest + @cloudflare/vitest-plugin):
# engine.js over the reactor and the Emscripten build, trap recovery, identity,
# the Worker in front of the Magento stand-in (worker.test.mjs), and the model
# lifecycle's loop — admin API, canary, holdout, KPIs, guardrail (lifecycle.test.mjs), recommendation
# units through the Worker (recommendations.test.mjs), the units admin API (units.test.mjs) and the
# catalog view's sync (catalog.test.mjs), live popularity — the consumer's sketches, the cron's lists,
# gaming bounds (popularity.test.mjs), the operators' console's routes (console.test.mjs), the
# metrics endpoint, alerts and pruning (metrics.test.mjs; also run by metrics.sh with promtool).
# Expectations, the Luma catalog and the test bundles come from make-expected.mjs first.
# Prints "workerd: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec build/sample.erb wasm/edgerec.wasm wasm/edgerec.emscripten.mjs wasm/edgerec.emscripten.wasm node_modules/vitest/vitest.mjs

json=$(mktemp)
trap 'rm -f "$json"' EXIT
"$NODE" tests/workerd/make-expected.mjs || { echo "workerd: 0 passed, 1 failed"; exit 1; }
timeout 300 "$NODE" node_modules/vitest/vitest.mjs run --config tests/workerd/vitest.config.mjs \
  --reporter=verbose --reporter=json --outputFile.json="$json" tests/workerd/
rc=$?
read -r p f s < <("$NODE" -e '
  try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(r.numPassedTests, r.numFailedTests, r.numPendingTests + r.numTodoTests); }
  catch { console.log("0 0 0"); }' "$json")
f=$((f + s))                              # no skipped tests allowed
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1  # a crash or timeout is a failure
echo "workerd: $p passed, $f failed"
[ "$f" -eq 0 ]
