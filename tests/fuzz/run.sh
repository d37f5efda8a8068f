#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS — build the libFuzzer targets into build/fuzz/
# (only when a source is newer than the binary) and run each for SECONDS on
# a temporary copy of its seed corpus (tests/fuzz/corpus/<target>/; the
# bundle target is also seeded with build/sample*.erb and two tiny bundles
# packed from tests/fuzz/seeds/), so the repository is never modified.  Prints per target "fuzz_<name>: ok (N runs)" or the crash
# and its reproducer, then "N passed, N failed"; exits non-zero on any crash.
#   FUZZ_TARGETS="context rerank" tests/fuzz/run.sh 30   # a subset
#   FUZZ_CORPUS_OUT=build/fuzz/grown tests/fuzz/run.sh 600  # keep the grown corpora
# Reproduce a crash:  build/fuzz/fuzz_<name> build/fuzz/artifacts/<name>/crash-…
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=$ROOT/build
OUT=$B/fuzz
SECS=${1:-60}
case $SECS in '' | *[!0-9]*) echo "usage: tests/fuzz/run.sh SECONDS" >&2; exit 2 ;; esac
TARGETS=${FUZZ_TARGETS:-context profile rerank bundle event log lists}
CC=${FUZZ_CC:-clang}

# The engine sources: the folder src/engine/ (what the reactor compiles; docs/architecture.md).
ENGINE_SRC=$(echo src/engine/*.c)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -fno-omit-frame-pointer -ffp-contract=off -std=c11 -Wall -Wextra -Werror -Wvla -Isrc/engine -Isrc/offline"

newer() { # newer OUT INPUTS...: true when OUT is missing or older than any input
  local out=$1; shift
  [ -e "$out" ] || return 0
  for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

log() { printf '==> %s\n' "$*" >&2; }

# ---- build: engine objects once (fuzzer-no-link), then one link per target --
build() {
  mkdir -p "$OUT/obj"
  local objs=() s o
  for s in $ENGINE_SRC src/offline/er_log.c src/offline/er_native.c; do # er_log.c: the trainer's log reader (fuzz_log)
    o=$OUT/obj/$(basename "$s" .c).o
    if newer "$o" "$s" src/*/*.h tests/fuzz/run.sh; then
      $CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$s" -o "$o" || return 1
    fi
    objs+=("$o")
  done
  local t
  for t in $TARGETS; do
    local src=tests/fuzz/fuzz_$t.c bin=$OUT/fuzz_$t
    [ -f "$src" ] || { echo "run.sh: no target $src" >&2; return 1; }
    if newer "$bin" "$src" tests/fuzz/fuzz_common.h "${objs[@]}" src/*/*.h; then
      log "building fuzz_$t"
      $CC $CFLAGS $SAN -fsanitize=fuzzer "$src" "${objs[@]}" -lm -o "$bin" || return 1
    fi
  done
}

if ! build; then
  echo "fuzz: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

[ -f "$B/sample.erb" ] || { echo "run.sh: $B/sample.erb is missing (run ./build.sh first)" >&2; echo "0 passed, 1 failed"; exit 1; }
export EDGEREC_FUZZ_BUNDLE=$B/sample.erb
[ -f "$B/sample-trees.erb" ] && export EDGEREC_FUZZ_BUNDLE_TREES=$B/sample-trees.erb

TMP=$(mktemp -d "${TMPDIR:-/tmp}/edgerec-fuzz.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
for t in $TARGETS; do
  name=fuzz_$t
  corpus=$TMP/corpus-$t
  mkdir -p "$corpus"
  [ -d tests/fuzz/corpus/$t ] && cp -p tests/fuzz/corpus/$t/* "$corpus"/ 2>/dev/null
  if [ "$t" = bundle ]; then # build outputs, not committed: the sample bundles and two tiny ones
    for f in "$B"/sample*.erb; do [ -f "$f" ] && cp "$f" "$corpus/seed-$(basename "$f")"; done
    if [ -x "$B/edgerec" ]; then
      for m in linear trees; do
        "$B/edgerec" pack --model tests/fuzz/seeds/mini-$m.json --catalog tests/fuzz/seeds/mini-catalog.json \
          --out "$corpus/seed-mini-$m.erb" >/dev/null 2>&1 || echo "run.sh: note: cannot pack tests/fuzz/seeds/mini-$m.json" >&2
      done
    fi
  fi
  dict=()
  [ -f tests/fuzz/$t.dict ] && dict=(-dict="tests/fuzz/$t.dict")
  art=$OUT/artifacts/$t
  rm -rf "$art"
  mkdir -p "$art"
  logf=$OUT/$name.log
  rc=0
  "$OUT/$name" -max_total_time="$SECS" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$art/" "$corpus" >"$logf" 2>&1 || rc=$?
  if [ -n "${FUZZ_CORPUS_OUT:-}" ]; then # keep the grown corpus (for coverage reports, minimisation)
    mkdir -p "$FUZZ_CORPUS_OUT/$t" && cp -p "$corpus"/* "$FUZZ_CORPUS_OUT/$t"/ 2>/dev/null
  fi
  runs=$(grep -a 'stat::number_of_executed_units:' "$logf" | tail -n1 | awk '{print $2}')
  repro=$(ls -1 "$art" 2>/dev/null | head -n1)
  if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
    echo "$name: ok (${runs:-0} runs)"
    pass=$((pass + 1))
  else
    why=$(grep -aE '^(==[0-9]+==ERROR|SUMMARY:|ALARM:|.*runtime error:|==[0-9]+== ERROR: libFuzzer)' "$logf" | head -n3 | tr '\n' ' ')
    [ -n "$why" ] || why="exit $rc (see $logf)"
    echo "$name: FAILED: $why"
    if [ -n "$repro" ]; then
      echo "  reproducer: $art/$repro   (run: $OUT/$name $art/$repro)"
    fi
    echo "  log: $logf"
    fail=$((fail + 1))
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
