#!/usr/bin/env bash
# build.sh — build, test, benchmark and fuzz edgerec.  Idempotent.
#   ./build.sh            build everything (native CLI, WASM reactor + CLI, Emscripten, sample bundles)
#   ./build.sh deps       install what is missing (Debian packages, Node >= 22.12, npm from the lockfile)
#   ./build.sh test       build, then run every suite; ends with one line "N passed, N failed"
#   ./build.sh bench      benchmarks: engine (Node/V8) and the import/train/eval pipeline; tables, JSON lines
#   ./build.sh bench scale  opt-in: train 20 M generated events on one core, eval speed, 100k-item bundle
#   ./build.sh fuzz S     run each libFuzzer target for S seconds, then the JS parsers' fast-check properties (FUZZ_RUNS, default 20000)
#   ./build.sh demo [--origin URL]  the edge locally: demo bundle, Magento stand-in, wrangler dev
#   ./build.sh soak [MINUTES]  the demo stack under 32 connections of mixed traffic (default 10 min): non-2xx, p99, memory, R2
#   ./build.sh retrain --url URL [--token T] [--days N]  pull events, train, evaluate, publish a canary if it wins
#   ./build.sh lambda --origin URL [--bundle FILE] [--trigger viewer|origin]  the Lambda@Edge package
#   ./build.sh clean      remove build outputs
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
B=$ROOT/build
TOOLS=$ROOT/.tools

APT_PKGS="clang lld wasi-libc libclang-rt-14-dev libclang-rt-14-dev-wasm32 libjsmn-dev libxxhash-dev emscripten
  python3-xgboost python3-onnx python3-numpy xz-utils binaryen chromium libcurl4-openssl-dev prometheus"
NODE_MIN=22.12.0
NODE_PKG=node@22.23.3

# The folders are the architecture (docs/architecture.md): src/engine/ is exactly what the WASM
# reactor compiles and ships to the edge (built with -Isrc/engine alone, so it cannot include
# anything else); src/offline/ (importers, event log, trainer, GBDT, evaluator, bundle writer, native
# helpers) and src/cli/ (the edgerec command, the admin client) never leave a laptop or CI.
ENGINE_SRC=$(echo src/engine/*.c)
OFFLINE_SRC=$(echo src/offline/*.c)
CLI_SRC="$ENGINE_SRC $OFFLINE_SRC src/cli/er_admin.c src/cli/edgerec_cli.c"
# the WASI command: the engine, the bundle writer and the native helpers (no importers, trainer or libcurl)
WASI_CLI_SRC="$ENGINE_SRC src/offline/er_pack.c src/offline/er_native.c src/cli/edgerec_cli.c"
ENGINE_INC="-Isrc/engine"
ALL_INC="-Isrc/engine -Isrc/offline -Isrc/cli"
HEADERS=$(echo src/*/*.h)
WARN="-std=c11 -Wall -Wextra -Werror -Wvla"
CFLAGS_COMMON="$WARN -ffp-contract=off"
# -msimd128: the tree scorer's 16-lane byte vectors (src/engine/er_score.c) become wasm simd128
# (V8 in Workers and Node, wasmtime, jco); integer lanes only, so outputs are the same bits as native.
WASM_FLAGS="--target=wasm32-wasi --sysroot=/usr -O2 -msimd128 $CFLAGS_COMMON"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ---- dependencies -----------------------------------------------------------
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

node_bin() { # a Node >= NODE_MIN: the system's, or the one in .tools
  if command -v node >/dev/null && version_ge "$(node --version | tr -d v)" "$NODE_MIN"; then command -v node; return; fi
  local n=$TOOLS/node_modules/node/bin/node
  [ -x "$n" ] && version_ge "$("$n" --version | tr -d v)" "$NODE_MIN" && { echo "$n"; return; }
  return 1
}

deps() {
  local missing=()
  for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v npm >/dev/null; then # Node/npm: the machine's own if it has them, else Debian's
    log "installing Debian packages: nodejs npm"
    local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if ! node_bin >/dev/null; then
    log "system Node is older than $NODE_MIN: installing $NODE_PKG (npm package) into .tools/"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && npm install --no-audit --no-fund --silent --prefix "$TOOLS" "$NODE_PKG" >/dev/null)
    node_bin >/dev/null || die "could not provide Node >= $NODE_MIN"
  fi
  if [ -f package-lock.json ]; then
    local stamp=node_modules/.lock-stamp
    if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
      log "installing npm packages from package-lock.json"
      PATH="$(dirname "$(node_bin)"):$PATH" npm ci --no-audit --no-fund --silent
      cp package-lock.json "$stamp"
    fi
  fi
}

# ---- build ------------------------------------------------------------------
newer() { # newer OUT INPUTS...: true when OUT is missing or older than any input
  local out=$1; shift
  [ -e "$out" ] || return 0
  for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

build_native() {
  mkdir -p "$B"
  if newer "$B/edgerec" $CLI_SRC $HEADERS build.sh; then
    log "native CLI → build/edgerec"
    cc -O2 $CFLAGS_COMMON $ALL_INC $CLI_SRC -lm -lcurl -o "$B/edgerec"
  fi
}

# clang for wasm in two steps, compile (-O2) then link without -O: given -O at link time clang runs
# the wasm-opt it finds on PATH itself, without --enable-simd, which rejects simd128 code.
wasm_clang() { # wasm_clang OUT "CFLAGS" "LDFLAGS" SRC...
  local out=$1 cflags=$2 ldflags=$3 dir s o objs=()
  shift 3
  dir="$B/wasm-obj/$(basename "$out" .wasm)"
  rm -rf "$dir" && mkdir -p "$dir"
  for s in "$@"; do
    o="$dir/$(basename "$s" .c).o"
    clang $WASM_FLAGS $cflags -c "$s" -o "$o"
    objs+=("$o")
  done
  clang --target=wasm32-wasi --sysroot=/usr -Wl,--strip-all $ldflags "${objs[@]}" -o "$out"
}

build_wasm() {
  if newer wasm/edgerec.wasm $ENGINE_SRC wasm/exports.c src/engine/*.h build.sh; then
    log "WASM reactor → wasm/edgerec.wasm"
    wasm_clang "$B/edgerec.raw.wasm" "$ENGINE_INC -DER_TINY_PRINTF" "-mexec-model=reactor" $ENGINE_SRC wasm/exports.c
    if command -v wasm-opt >/dev/null; then wasm-opt -Oz --enable-simd --strip-debug "$B/edgerec.raw.wasm" -o wasm/edgerec.wasm
    else cp "$B/edgerec.raw.wasm" wasm/edgerec.wasm; fi
  fi
  if newer wasm/edgerec-cli.wasm $WASI_CLI_SRC $HEADERS build.sh; then
    log "WASI CLI → wasm/edgerec-cli.wasm"
    # import / train / eval / features stay native: linked into the WASI command the importers trip
    # jco 1.35's memory-growth bug on every command (see wasm/README.md); the WASI CLI covers the
    # engine commands, and bundles from `train` are checked natively and in WASM by the tests.
    wasm_clang "$B/edgerec-cli.raw.wasm" "$ALL_INC -DER_CLI_NO_IMPORT" "-lm" $WASI_CLI_SRC
    if command -v wasm-opt >/dev/null; then wasm-opt -O2 --enable-simd --strip-debug "$B/edgerec-cli.raw.wasm" -o wasm/edgerec-cli.wasm
    else cp "$B/edgerec-cli.raw.wasm" wasm/edgerec-cli.wasm; fi
  fi
}

build_emscripten() {
  [ -f wasm/emscripten.sh ] || return 0
  bash wasm/emscripten.sh
}

build_samples() {
  for m in linear trees; do
    if newer "$B/sample-$m.erb" "$B/edgerec" tests/data/sample-catalog.json tests/data/sample-$m.json; then
      "$B/edgerec" pack --model tests/data/sample-$m.json --catalog tests/data/sample-catalog.json --out "$B/sample-$m.erb"
    fi
  done
  cp -p "$B/sample-linear.erb" "$B/sample.erb"
}

build_all() {
  build_native
  build_wasm
  build_emscripten
  build_samples
}

# ---- tests ------------------------------------------------------------------
# Each suite prints its own "N passed, N failed" line; we add them up.
TOTAL_PASS=0
TOTAL_FAIL=0
SUITES_FAILED=()
run_suite() { # run_suite NAME COMMAND...
  local name=$1; shift
  local logf="$B/test-logs/$name.log"
  mkdir -p "$B/test-logs"
  log "suite: $name"
  local rc=0
  "$@" >"$logf" 2>&1 || rc=$?
  local line p=0 f=0
  line=$(grep -aE '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$logf" | tail -n1 || true)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # a crash or setup failure counts as a failure
  tail -n 25 "$logf" | sed "s/^/  [$name] /" >&2
  printf '  [%s] %s passed, %s failed (exit %s)\n' "$name" "$p" "$f" "$rc" >&2
  TOTAL_PASS=$((TOTAL_PASS + p))
  TOTAL_FAIL=$((TOTAL_FAIL + f))
  [ "$f" -eq 0 ] || SUITES_FAILED+=("$name")
}

SAN="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
unit_tests() {
  mkdir -p "$B/unit/obj"
  local t src o objs=()
  # each source once with the sanitizers (objects reused by every test binary)
  for src in $ENGINE_SRC $OFFLINE_SRC; do
    o="$B/unit/obj/$(basename "$src" .c).o"
    local inc=$ALL_INC; case $src in src/engine/*) inc=$ENGINE_INC ;; esac
    if newer "$o" "$src" $HEADERS build.sh && ! clang $SAN $CFLAGS_COMMON $inc -c "$src" -o "$o"; then
      TOTAL_FAIL=$((TOTAL_FAIL + 1)); SUITES_FAILED+=("unit-build: $src"); return 0
    fi
  done
  for t in tests/unit/test_*.c; do
    local name; name=$(basename "$t" .c)
    if newer "$B/unit/$name" $ENGINE_SRC $OFFLINE_SRC $HEADERS "$t" tests/unit/harness.h; then
      # sources a test #includes itself (to reach static internals) are not linked twice
      local inc link=()
      inc=$(sed -n 's#^\#include "\.\./\.\./\(src/[a-z]*/[a-z_]*\.c\)"#\1#p' "$t")
      for src in $ENGINE_SRC $OFFLINE_SRC; do
        grep -qx "$src" <<<"$inc" || link+=("$B/unit/obj/$(basename "$src" .c).o")
      done
      clang $SAN $CFLAGS_COMMON $ALL_INC "${link[@]}" "$t" -lm -o "$B/unit/$name"
    fi
    run_suite "unit-$name" "$B/unit/$name"
  done
}

test_all() {
  deps
  build_all
  unit_tests
  for s in tests/suites/*.sh; do
    [ -f "$s" ] || continue
    run_suite "$(basename "$s" .sh)" bash "$s"
  done
  echo
  if [ ${#SUITES_FAILED[@]} -gt 0 ]; then echo "failed suites: ${SUITES_FAILED[*]}"; fi
  echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
  [ "$TOTAL_FAIL" -eq 0 ]
}

# ---- fuzz -------------------------------------------------------------------
fuzz() {
  local secs=${1:-60}
  deps
  build_all
  bash tests/fuzz/run.sh "$secs"
  # the JS-side parsers (tests/js/*.fuzz.test.mjs, fast-check): many more runs than ./build.sh test's 200
  FUZZ_RUNS=${FUZZ_RUNS:-20000} "$(node_bin)" --test tests/js/*.fuzz.test.mjs
}

soak() { # bench/soak.mjs: the demo stack (stand-in + wrangler dev) under load for MINUTES; tables and checks
  deps
  build_all
  "$(node_bin)" bench/soak.mjs "$@"
}

bench() {
  deps
  build_all
  if [ "${1:-}" = scale ]; then "$(node_bin)" bench/scale.mjs; return; fi # opt-in: 20 M events, minutes, ~3 GB
  if [ "${1:-}" = edge-scale ]; then # opt-in: 2,000 / 100,000-item catalogs and a 20 MB bundle in the Worker; Lambda@Edge fit
    "$(node_bin)" bench/edge-scale.mjs && "$(node_bin)" bench/lambda-fit.mjs build/bench/edge-scale/items-*.erb; return
  fi
  "$(node_bin)" bench/bench.mjs
  "$(node_bin)" bench/pipeline.mjs   # import + train + eval of Online Retail, events/s per step
  "$(node_bin)" bench/worker.mjs     # the Worker in workerd: added latency, re-rank vs pass-through, req/s
  "$(node_bin)" bench/lambda-edge.mjs # the Lambda@Edge handler in Node: cold start, per request
}

demo() { # the whole edge locally: a trained demo bundle, the Magento stand-in, wrangler dev
  local origin=""
  while [ $# -gt 0 ]; do
    case $1 in
      --origin) origin=${2:?--origin needs a URL}; shift 2 ;;
      *) die "demo: unknown option '$1' (use: --origin URL)" ;;
    esac
  done
  deps
  build_all
  local D=$B/demo N
  N=$(node_bin)
  mkdir -p "$D"
  log "the Luma catalog → $D/catalog.json"
  "$B/edgerec" import luma-catalog ../shared/data/luma --out "$D/catalog.json"
  if newer "$D/synthetic.ndjson" "$D/catalog.json" tests/standin/synthetic-sessions.mjs; then
    log "synthetic shopper sessions over it (labelled synthetic) → $D/synthetic.ndjson"
    "$N" tests/standin/synthetic-sessions.mjs --catalog "$D/catalog.json" >"$D/synthetic.ndjson"
  fi
  if newer "$D/demo.erb" "$D/synthetic.ndjson" "$B/edgerec"; then
    log "training the demo bundle → $D/demo.erb"
    "$B/edgerec" train --events "$D/synthetic.ndjson" --catalog "$D/catalog.json" --version demo-1 --out "$D/demo.erb" >"$D/train.json"
  fi
  log "starting the Magento stand-in and wrangler dev (Ctrl-C stops both)"
  exec "$N" worker-shim/dev/stack.mjs --demo --bundle "$D/demo.erb" --catalog "$D/catalog.json" --state "$D/state" \
    ${origin:+--origin "$origin"}
}

lambda() { # the Lambda@Edge package dist/lambda-edge.zip (worker-shim/lambda-edge/build.mjs; docs/lambda-edge.md)
  local origin="" args=()
  while [ $# -gt 0 ]; do
    case $1 in
      --origin) origin=${2:?--origin needs a URL}; args+=(--origin "$2"); shift 2 ;;
      --bundle) args+=(--bundle "${2:?--bundle needs a .erb file}"); shift 2 ;;
      --trigger) args+=(--trigger "${2:?--trigger needs viewer or origin}"); shift 2 ;;
      --*) args+=("$1" "${2:?$1 needs a value}"); shift 2 ;; # build.mjs's other options: --rollout, --ssm-prefix, …
      *) die "lambda: unknown argument '$1' (use: --origin URL [--bundle FILE] [--trigger viewer|origin])" ;;
    esac
  done
  [ -n "$origin" ] || die "lambda: --origin is required: the cacheable CloudFront path listings are fetched through (https://shop.example.com/_edgerec/origin)"
  deps
  build_wasm
  log "Lambda@Edge package → dist/lambda-edge.zip"
  "$(node_bin)" worker-shim/lambda-edge/build.mjs "${args[@]}"
}

retrain() { # pull the event log, train, evaluate against the active bundle, publish as a canary only if it wins
  local url="" days=30 catalog="" canary=10 token_opt=()
  while [ $# -gt 0 ]; do
    case $1 in
      --url) url=${2:?--url needs a URL}; shift 2 ;;
      --token) token_opt=(--token "${2:?--token needs a value}"); shift 2 ;;
      --days) days=${2:?--days needs a number}; shift 2 ;;
      --catalog) catalog=${2:?--catalog needs a file}; shift 2 ;;
      --canary) canary=${2:?--canary needs a percent}; shift 2 ;;
      *) die "retrain: unknown option '$1' (use: --url URL [--token TOKEN] [--days N] [--catalog FILE] [--canary PERCENT])" ;;
    esac
  done
  [ -n "$url" ] || die "retrain: --url is required (the edge Worker, e.g. https://shop.example.com)"
  case $days in '' | *[!0-9]*) die "retrain: --days must be a whole number of days" ;; esac
  deps
  build_native
  local D="$B/retrain/$(date -u +%Y%m%dT%H%M%SZ)" E="$B/edgerec" N
  N=$(node_bin)
  mkdir -p "$D"
  local since=$(( $(date -u +%s) - days * 86400 ))
  log "pulling the event log of the last $days days → $D/events.ndjson"
  "$E" rollout events --url "$url" "${token_opt[@]}" --since "$since" --out "$D/events.ndjson" || die "retrain: could not pull the event log"
  [ -s "$D/events.ndjson" ] || die "retrain: the event log is empty: nothing to train on"
  local have_active=1
  "$E" rollout bundle --url "$url" "${token_opt[@]}" --version active --out "$D/active.erb" 2>"$D/active.err" || have_active=0
  local version="retrain-$(date -u +%Y%m%d%H%M)"
  log "training $version on every day but the most recent"
  "$E" train --events "$D/events.ndjson" ${catalog:+--catalog "$catalog"} --test-days 1 --version "$version" --quiet \
    --out "$D/new.erb" >"$D/train.json" || die "retrain: training failed"
  "$E" eval --bundle "$D/new.erb" --events "$D/events.ndjson" --test-days 1 --baseline none >"$D/new.eval.json" 2>/dev/null \
    || die "retrain: evaluating the new bundle failed"
  if [ $have_active -eq 1 ]; then
    "$E" eval --bundle "$D/active.erb" --events "$D/events.ndjson" --test-days 1 --baseline none >"$D/active.eval.json" 2>/dev/null \
      || die "retrain: evaluating the active bundle failed"
    # the gate: the new bundle must be at least as good on HR@20 and MRR@20 and better on one
    if ! "$N" -e '
      const [n, a] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")).models.edgerec);
      const f = (m) => `HR@20 ${m["hr@20"].toFixed(4)}, MRR@20 ${m["mrr@20"].toFixed(4)} (${m.predictions} predictions)`;
      console.log(`  new:    ${f(n)}\n  active: ${f(a)}`);
      const wins = n["hr@20"] >= a["hr@20"] && n["mrr@20"] >= a["mrr@20"] && (n["hr@20"] > a["hr@20"] || n["mrr@20"] > a["mrr@20"]);
      if (!wins) console.log("retrain: the new bundle does not beat the active one on the most recent day (HR@20 and MRR@20): not published");
      process.exit(wins ? 0 : 1);' "$D/new.eval.json" "$D/active.eval.json"; then
      return 1
    fi
  else
    log "no active bundle on the edge ($(cat "$D/active.err" | head -c 200)): the new one is published without a comparison"
  fi
  log "publishing $version as a $canary % canary"
  # the audit log names the retrain job as the actor (an operator token's X-Edgerec-Actor, docs/admin.md)
  EDGEREC_ADMIN_ACTOR=retrain "$E" publish "$D/new.erb" --url "$url" "${token_opt[@]}" --canary "$canary" || die "retrain: publishing failed"
  echo "retrain: $version is the canary at $canary %; the guardrail promotes or rolls it back (GET $url/edge/admin/status)"
}

export -f node_bin version_ge 2>/dev/null || true
export ROOT B TOOLS NODE_MIN

case "${1:-}" in
  "") deps; build_all ;;
  deps) deps ;;
  test) test_all ;;
  bench) bench "${2:-}" ;;
  fuzz) fuzz "${2:-60}" ;;
  demo) shift; demo "$@" ;;
  soak) shift; soak "$@" ;;
  retrain) shift; retrain "$@" ;;
  lambda) shift; lambda "$@" ;;
  clean) rm -rf "$B" dist wasm/*.wasm wasm/edgerec.emscripten.mjs ;;
  *) die "unknown command '$1' (use: deps, test, bench, fuzz SECONDS, demo, soak [MINUTES], retrain, lambda, clean)" ;;
esac
