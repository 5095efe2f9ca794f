# Sourced by scripts/test.sh and scripts/demo.sh: installs (once) and starts the local S3 test
# server — ministack from PyPI, with IAM enforcement on — on 127.0.0.1, and exports its address.
# Stops it on exit. Needs python3 (3.10+) and network access to PyPI the first time.
# The same venv holds the other Iceberg readers the tests compare with: pyiceberg, and DuckDB with
# its iceberg + avro extensions from their PyPI wheels (loaded from the wheel's file: offline).
VENV=${LAKEPORT_VENV:-"$ROOT/.venv-test"}
if [ ! -x "$VENV/bin/ministack" ] || ! "$VENV/bin/python" -c "import pyiceberg, boto3, duckdb, duckdb_extension_iceberg, duckdb_extension_avro" 2>/dev/null; then
  echo "==> installing the test server (ministack), pyiceberg and DuckDB (iceberg, avro) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check ministack==1.5.33 boto3==1.43.106 "pyiceberg[sql-sqlite,pyarrow]==0.12.0" \
    duckdb==1.5.5 duckdb-extension-iceberg==1.5.5 duckdb-extension-avro==1.5.5
fi
S3_PORT=${LAKEPORT_S3_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
S3_WORK=$(mktemp -d)
AUTH=true GATEWAY_PORT=$S3_PORT BIND_HOST=127.0.0.1 MINISTACK_HOST=127.0.0.1 TMPDIR="$S3_WORK" \
  "$VENV/bin/ministack" > "$S3_WORK/ministack.log" 2>&1 &
S3_PID=$!
S3_STARTED=$(date +%s)
# At exit it says how much CPU the server used: ministack is one Python process that every test's S3
# requests share, so its CPU time against the run's wall time tells whether it bounds the tests.
ministack_cpu() {
  [ -r /proc/$S3_PID/stat ] || return 0
  awk -v hz="$(getconf CLK_TCK)" -v since="$S3_STARTED" -v now="$(date +%s)" \
    '{ sub(/^.*\) /, ""); printf "==> ministack used %.0f s of CPU in %d s\n", ($12 + $13) / hz, now - since }' /proc/$S3_PID/stat >&2
}
trap 'ministack_cpu; kill $S3_PID 2>/dev/null || true; wait $S3_PID 2>/dev/null || true; rm -rf "$S3_WORK"' EXIT
for _ in $(seq 150); do
  curl -sf -o /dev/null "http://127.0.0.1:$S3_PORT/_ministack/ready" && break
  kill -0 $S3_PID 2>/dev/null || { cat "$S3_WORK/ministack.log"; echo "ministack did not start" >&2; exit 1; }
  sleep 0.2
done
export LAKEPORT_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export LAKEPORT_TEST_ADMIN_KEY=test LAKEPORT_TEST_ADMIN_SECRET=test
export LAKEPORT_TEST_PYTHON="$VENV/bin/python"
# A real OAuth 2.0 token server (oidc-provider from npm) for the OAuth2 client-credentials tests.
[ -d "$ROOT/testing/oauth/node_modules/oidc-provider" ] || (cd "$ROOT/testing/oauth" && npm ci --no-audit --no-fund --silent)
export LAKEPORT_TEST_OAUTH_SERVER="$ROOT/testing/oauth/server.mjs"
eval "$("$VENV/bin/python" "$ROOT/testing/seed_iam.py" "$LAKEPORT_TEST_S3_ENDPOINT")"
echo "==> S3 test server (ministack, IAM enforced) on $LAKEPORT_TEST_S3_ENDPOINT"
