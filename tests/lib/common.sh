# common.sh — sourced by tests/suites/*.sh (not a suite itself).
# Sets ROOT, NODE (a Node >= 22.12: .tools' if present, else the system's),
# the offline environment for wrangler/workerd, and `need FILE...`.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
NODE_MIN=22.12.0
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
NODE=$ROOT/.tools/node_modules/node/bin/node
if ! { [ -x "$NODE" ] && version_ge "$("$NODE" --version | tr -d v)" "$NODE_MIN"; }; then NODE=$(command -v node || true); fi
if [ -z "$NODE" ] || ! version_ge "$("$NODE" --version | tr -d v)" "$NODE_MIN"; then
  echo "need Node >= $NODE_MIN (./build.sh deps installs it into .tools/)"
  echo "0 passed, 1 failed"
  exit 1
fi
export PATH="$(dirname "$NODE"):$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
export NO_COLOR=1 FORCE_COLOR=0

# need FILE...: fail the suite (as one failed test) when a build output is missing.
need() {
  local f missing=0
  for f in "$@"; do [ -e "$f" ] || { echo "missing $f (run ./build.sh)"; missing=1; }; done
  if [ $missing -ne 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
}
