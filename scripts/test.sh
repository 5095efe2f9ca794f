#!/usr/bin/env bash
# Runs every test: unit tests, integration tests against a real S3 server on loopback, and the web
# console in real Chromium. Works on a fresh machine with Rust, python3 and node: it installs the
# test server from PyPI, playwright-core from npm and Chromium from Debian (root needed for that).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LOG=$(mktemp)
status=0
(
  source "$ROOT/scripts/test-env.sh"
  # cargo-nextest (on this project's machines) runs the tests of every test binary side by side,
  # four at a time; cargo test runs the binaries one after another, and one long test (the crash
  # and fault tests take minutes) left a core idle meanwhile. Without nextest, cargo test.
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast --test-threads 4 "$@"
  else
    cargo test --workspace --locked --no-fail-fast -- --test-threads=4 "$@"
  fi
) 2>&1 | tee "$LOG" || status=1
if [ "${LAKEPORT_SKIP_BROWSER:-0}" != 1 ]; then
  "$ROOT/scripts/browser-test.sh" 2>&1 | tee -a "$LOG" || status=1
fi
# One closing line with the totals over every test binary and the browser tests.
awk '/^test result:/ { p += $4; f += $6 } /^# pass / { p += $3 } /^# fail / { f += $3 }
     / tests run: / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^(failed|timed)/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$LOG"
rm -f "$LOG"
exit "$status"
