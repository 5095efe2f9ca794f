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
  cargo test --workspace --locked --no-fail-fast -- --test-threads=4 "$@"
) 2>&1 | tee "$LOG" || status=1
if [ "${LAKEPORT_SKIP_BROWSER:-0}" != 1 ]; then
  "$ROOT/scripts/browser-test.sh" 2>&1 | tee -a "$LOG" || status=1
fi
# One closing line with the totals over every test binary and the browser tests.
awk '/^test result:/ { p += $4; f += $6 } /^# pass / { p += $3 } /^# fail / { f += $3 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$LOG"
rm -f "$LOG"
exit "$status"
