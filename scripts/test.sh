#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests against a real S3 server on loopback.
# Works on a fresh machine with Rust and python3: it installs the test server from PyPI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source "$ROOT/scripts/test-env.sh"
LOG=$(mktemp)
set +e
cargo test --workspace --locked --no-fail-fast -- --test-threads=4 "$@" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f }' "$LOG"
rm -f "$LOG"
exit "$status"
