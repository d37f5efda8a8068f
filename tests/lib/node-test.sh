# node-test.sh — sourced by the suites that run node:test files (js, standin, lambda):
#   node_test_suite NAME FILES...  runs them with the TAP reporter and prints "NAME: N passed, N failed";
# skipped or todo tests count as failures (nothing is skipped), and so does a crash or a timeout.
node_test_suite() {
  local name=$1; shift
  local log rc pass fail skip
  log=$(mktemp)
  timeout 170 "$NODE" --test --test-reporter=tap --test-timeout=60000 "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  pass=$(grep -aE '^# pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  fail=$(grep -aE '^# fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
  skip=$(grep -aE '^# (skipped|todo) [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
  rm -f "$log"
  pass=${pass:-0}; fail=${fail:-0}
  fail=$((fail + skip))                        # no skipped tests allowed
  [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1 # a crash or timeout is a failure
  echo "$name: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
