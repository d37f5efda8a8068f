#!/usr/bin/env bash
# XGBoost import parity against Debian's python3-xgboost (needs /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec /usr/bin/python3 tests/xgboost/xgb_parity.py
