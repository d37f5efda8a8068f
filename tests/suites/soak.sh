#!/usr/bin/env bash
# soak.sh — the 60-second form of `./build.sh soak` (bench/soak.mjs --seconds 60): the demo stack (the
# Magento stand-in + wrangler dev --local on ports 19150-19152) under 32 connections of mixed storefront
# traffic, three 20-second intervals; checks no non-2xx caused by edgerec, p99 stable, workerd's memory
# under a ceiling (that it is flat needs the 10-minute form) and every event id in R2 once.  Prints the per-interval table and "soak: N passed, N failed" (~2 min).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
need build/edgerec wasm/edgerec.wasm
timeout 170 "$NODE" bench/soak.mjs --seconds 60 --drain-seconds 30
