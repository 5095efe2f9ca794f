#!/usr/bin/env bash
# The web console in real Chromium: starts the S3 test server, seeds a bucket and an Iceberg
# table, starts `lakeport serve` on a free loopback port, and runs tests/browser (playwright-core
# driving Debian's /usr/bin/chromium). Screenshots: target/screenshots/. Runs $LAKEPORT_BIN, else
# $CARGO_TARGET_DIR/debug/lakeport (default target/), building it when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[ -x /usr/bin/chromium ] || { echo "installing chromium (Debian)"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
# playwright-core drives Chromium; axe-core checks each view's accessibility (tests/browser/package.json).
{ [ -d tests/browser/node_modules/playwright-core ] && [ -d tests/browser/node_modules/axe-core ]; } || (cd tests/browser && npm ci --no-audit --no-fund --silent)
BIN=${LAKEPORT_BIN:-${CARGO_TARGET_DIR:-target}/debug/lakeport}
[ -x "$BIN" ] || cargo build --locked -p lakeport-cli
source "$ROOT/scripts/test-env.sh"
export BROWSER_BUCKET=lakeport-browser BROWSER_NAMESPACE=browser_ns
"$LAKEPORT_TEST_PYTHON" testing/sample_data.py "$LAKEPORT_TEST_S3_ENDPOINT" "$BROWSER_BUCKET" >/dev/null
eval "$("$LAKEPORT_TEST_PYTHON" testing/sample_data.py "$LAKEPORT_TEST_S3_ENDPOINT" "$BROWSER_BUCKET" --counts)"
# A file whose values (and a column name, and a key) are HTML/JS payloads, for the console's XSS test.
"$LAKEPORT_TEST_PYTHON" testing/hostile_data.py "$LAKEPORT_TEST_S3_ENDPOINT" "$BROWSER_BUCKET"
export EXPECTED_DAILY_ROWS EXPECTED_DAILY_CASES EXPECTED_P2P_ROWS
# A large folder (130 small CSV files, beyond one page of the picker) with a file lakeport does
# not read (README.md), for the picker's paging, filter, select-all and "skipped" marks.
"$LAKEPORT_TEST_PYTHON" - "$LAKEPORT_TEST_S3_ENDPOINT" "$BROWSER_BUCKET" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
for i in range(130):
    s3.put_object(Bucket=sys.argv[2], Key=f"big/part-{i:03d}.csv", Body=f"id,value\n{i},v{i}\n".encode())
s3.put_object(Bucket=sys.argv[2], Key="big/README.md", Body=b"# not data\n")
# A folder that takes a few seconds to load, for a reload, Cancel and a restart mid-run.
for i in range(1200):
    s3.put_object(Bucket=sys.argv[2], Key=f"slow/part-{i:04d}.csv", Body=f"id,value\n{i},v{i}\n".encode())
# For the console's file options: a semicolon CSV with NA for missing values, and a file whose
# last value does not fit the type its first rows suggest.
s3.put_object(Bucket=sys.argv[2], Key="opts/semi.csv", Body=b"id;name;amount\n1;a;NA\n2;b;3.5\n3;c;4\n")
s3.put_object(Bucket=sys.argv[2], Key="opts/misfit.csv", Body=b"n\n1\n2\n3\nx\n")
PY
"$LAKEPORT_TEST_PYTHON" testing/iceberg_fixture.py "$LAKEPORT_TEST_S3_ENDPOINT" "$BROWSER_NAMESPACE" --rows 400 >/dev/null
POOL_DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export LAKEPORT_API_TOKEN="browser-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export LAKEPORT_URL="http://127.0.0.1:$PORT"
# A read-only token besides the admin one (--token): the console must show it tables, previews and SQL only.
LAKEPORT_READONLY_TOKEN=$("$BIN" --pool-dir "$POOL_DIR" token create --read-only --name browser-reader --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
export LAKEPORT_READONLY_TOKEN
# A stored admin token for the console's token rotation.
LAKEPORT_ROTATE_TOKEN=$("$BIN" --pool-dir "$POOL_DIR" token create --name browser-rotate --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
export LAKEPORT_ROTATE_TOKEN
# The binary, for the browser test that restarts a server of its own mid-run.
LAKEPORT_SERVE_BIN=$(realpath "$BIN")
export LAKEPORT_SERVE_BIN
"$BIN" --pool-dir "$POOL_DIR" serve --listen "127.0.0.1:$PORT" --token "$LAKEPORT_API_TOKEN" > "$POOL_DIR/serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill $SERVE_PID $S3_PID 2>/dev/null || true; wait $SERVE_PID $S3_PID 2>/dev/null || true; rm -rf "$POOL_DIR" "$S3_WORK"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "$LAKEPORT_URL/api/health" && break; sleep 0.1; done
export SCREENSHOT_DIR="$ROOT/target/screenshots"
rm -rf "$SCREENSHOT_DIR"
cd tests/browser && node --test --test-concurrency=1 console.test.mjs
