#!/usr/bin/env bash
# metrics.sh — the metrics endpoint and the alerts inside workerd (tests/workerd/metrics.test.mjs:
# parsed exposition equal to /edge/admin/status, one trigger / one resolve per alert, the dead-man),
# then Prometheus' own checks: `promtool check metrics` on the text that test scraped
# (build/metrics/sample.prom) and `promtool check rules docs/prometheus-alerts.yml`, and the Grafana
# dashboard's JSON.  promtool comes from Debian's `prometheus` (./build.sh deps); missing, the suite fails.
# Prints "metrics: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need wasm/edgerec.wasm node_modules/vitest/vitest.mjs docs/prometheus-alerts.yml docs/grafana-dashboard.json
# the stand-in's catalog and the test bundles (build/workerd/), as the workerd suite makes them: this suite
# runs before it on a fresh machine
"$NODE" tests/workerd/make-expected.mjs >/dev/null || { echo "metrics: 0 passed, 1 failed (tests/workerd/make-expected.mjs)"; exit 1; }

pass=0 fail=0
check() { # check NAME CMD...: one test
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; echo "$out" | tail -20; fi
}
rm -f build/metrics/sample.prom
check "workerd: tests/workerd/metrics.test.mjs" timeout 200 "$NODE" node_modules/vitest/vitest.mjs run \
  --config tests/workerd/vitest.config.mjs tests/workerd/metrics.test.mjs
if ! command -v promtool >/dev/null; then
  echo "FAIL promtool is missing: apt-get install -y prometheus (./build.sh deps)"
  fail=$((fail + 1))
else
  check "promtool check metrics build/metrics/sample.prom" sh -c 'test -s build/metrics/sample.prom && promtool check metrics < build/metrics/sample.prom'
  check "promtool check rules docs/prometheus-alerts.yml" promtool check rules docs/prometheus-alerts.yml
  check "promtool test rules docs/prometheus-alerts.test.yml" promtool test rules docs/prometheus-alerts.test.yml
fi
check "docs/grafana-dashboard.json: every panel's metric is exported" "$NODE" -e '
  const fs = require("fs");
  const d = JSON.parse(fs.readFileSync("docs/grafana-dashboard.json", "utf8"));
  const text = fs.readFileSync("build/metrics/sample.prom", "utf8");
  const have = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
  const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  if (!exprs.length) throw new Error("no panel queries");
  for (const e of exprs) for (const [n] of e.matchAll(/edgerec_[a-z_]+/g)) {
    const base = n.replace(/_(sum|count|bucket)$/, "");
    if (!have.has(n) && !have.has(base)) throw new Error(`panel query ${e}: ${n} is not exported`);
  }'
echo "metrics: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
