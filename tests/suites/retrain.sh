#!/usr/bin/env bash
# retrain.sh — `./build.sh retrain` end to end against the admin API's fake
# (tests/admin/fake-admin.mjs serving the first 60,000 Online Retail rows as
# the event log): the gate refuses a new bundle that does not beat the active
# one on the most recent day (nothing is uploaded), publishes one that does as
# a canary, and publishes without comparison when no bundle is active.
# Prints "retrain: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
source tests/lib/checks.sh
E=build/edgerec
OR=../shared/data/online-retail/onlineretail.csv.xz
finish() { echo "retrain: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
for f in "$E" "$OR"; do [ -e "$f" ] || no "missing $f (nothing is skipped)"; done
[ "$fail" -eq 0 ] || finish

xzcat "$OR" | head -n 60001 | "$E" import online-retail - >"$TMP/events.ndjson" 2>/dev/null
TOKEN=retrain-test-token-0123456789
DAYS=20000 # the log is from 2011: --days must reach back that far

# start_fake [--preload B]: the fake admin API; sets URL and FPID
start_fake() {
  rm -f "$TMP/port" "$TMP/log"
  "$NODE" tests/admin/fake-admin.mjs --token "$TOKEN" --log "$TMP/log" --port-file "$TMP/port" \
    --events-file "$TMP/events.ndjson" --page-size 5000 "$@" 2>"$TMP/fake.err" &
  FPID=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
  URL="http://127.0.0.1:$(cat "$TMP/port")"
}
stop_fake() { kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; }
trap 'stop_fake; rm -rf "$TMP"' EXIT
puts() { grep -c '"method":"PUT"' "$TMP/log" 2>/dev/null || true; }

# 1. an active bundle that has seen the evaluation day (trained on every event): the new one cannot beat it
"$E" train --events "$TMP/events.ndjson" --version strong-1 --quiet --out "$TMP/strong.erb" >/dev/null 2>&1
start_fake --preload "$TMP/strong.erb"
EDGEREC_ADMIN_TOKEN=$TOKEN ./build.sh retrain --url "$URL" --days $DAYS >"$TMP/out1" 2>&1; rc=$?
stop_fake
check "a worse new bundle: retrain exits non-zero" test $rc -ne 0
check "… and says why (the gate's figures)" grep -q 'does not beat the active one' "$TMP/out1"
check "… and prints both evaluations" bash -c "grep -q '  new:' '$TMP/out1' && grep -q '  active:' '$TMP/out1'"
check "… and uploads nothing" test "$(puts)" -eq 0
grep -E '^  (new|active):' "$TMP/out1"

# 2. a weak active bundle (trained on the first 3,000 events only): the new one wins and becomes the canary
head -n 3000 "$TMP/events.ndjson" >"$TMP/early.ndjson"
"$E" train --events "$TMP/early.ndjson" --version weak-1 --quiet --out "$TMP/weak.erb" >/dev/null 2>&1
start_fake --preload "$TMP/weak.erb"
EDGEREC_ADMIN_TOKEN=$TOKEN ./build.sh retrain --url "$URL" --days $DAYS --canary 15 >"$TMP/out2" 2>&1; rc=$?
stop_fake
check "a better new bundle: retrain exits 0" test $rc -eq 0
check "… uploads it once" test "$(puts)" -eq 1
check "… as a 15 % canary" grep -qF '\"percent\":15' "$TMP/log"
check "… acting as \"retrain\" (X-Edgerec-Actor on the upload and the rollout: the audit log's actor)" \
  bash -c "test \$(grep -E '\"method\":\"(PUT|POST)\"' '$TMP/log' | grep -c '\"actor\":\"retrain\"') -eq 2"
check "… and says so" grep -q 'is the canary at 15 %' "$TMP/out2"
grep -E '^  (new|active):' "$TMP/out2"
[ $rc -eq 0 ] || tail -n 20 "$TMP/out2"

# 3. no active bundle yet: published without a comparison
start_fake
EDGEREC_ADMIN_TOKEN=$TOKEN ./build.sh retrain --url "$URL" --days $DAYS >"$TMP/out3" 2>&1; rc=$?
stop_fake
check "no active bundle: published without a comparison (exit 0, one upload)" bash -c "test $rc -eq 0 && test $(puts) -eq 1 && grep -q 'without a comparison' '$TMP/out3'"

# 4. usage and errors
./build.sh retrain >"$TMP/out4" 2>&1; rc=$?
check "retrain without --url: non-zero, says --url is required" bash -c "test $rc -ne 0 && grep -q -- '--url is required' '$TMP/out4'"
EDGEREC_ADMIN_TOKEN=$TOKEN ./build.sh retrain --url http://127.0.0.1:9 --days 3 >"$TMP/out5" 2>&1; rc=$?
check "an unreachable edge: non-zero, says the log could not be pulled" bash -c "test $rc -ne 0 && grep -q 'could not pull the event log' '$TMP/out5'"
finish
