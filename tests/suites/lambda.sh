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

. "$(dirname "$0")/../lib/node-test.sh"
node_test_suite lambda tests/lambda-edge/*.test.mjs
