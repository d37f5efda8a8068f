#!/usr/bin/env bash
# lambda.sh — node:test over tests/lambda-edge/*.test.mjs: edgerec on Lambda@Edge.  The package is
# built by worker-shim/lambda-edge/build.mjs, unpacked into a temporary folder as Lambda does, and
# its index.handler called with CloudFront events: documented fixtures, and over real HTTP through a
# CloudFront emulator (behaviours, cache policies, triggers, size limits) in front of the Magento
# stand-in; the AWS SDK is a fake (Parameter Store, Secrets Manager, S3, Firehose).  Builds the Luma
# catalog and two trained bundles into build/lambda/ first.  Prints "lambda: N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec wasm/edgerec.wasm ../shared/data/luma

log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout 170 "$NODE" --test --test-reporter=tap --test-timeout=60000 tests/lambda-edge/*.test.mjs 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -aE '^# pass [0-9]+' "$log" | tail -n1 | awk '{print $3}')
fail=$(grep -aE '^# fail [0-9]+' "$log" | tail -n1 | awk '{print $3}')
skip=$(grep -aE '^# (skipped|todo) [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
pass=${pass:-0}; fail=${fail:-0}
fail=$((fail + skip))                        # no skipped tests allowed
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1 # a crash or timeout is a failure
echo "lambda: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
