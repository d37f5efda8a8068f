# checks.sh — the shell suites' tiny harness (sourced, not a suite): a temp
# dir removed on exit, and ok / no / check counting one test each.  A suite
# ends with its own "N passed, N failed" line from $pass and $fail.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
no() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else no "$name"; fi; }
