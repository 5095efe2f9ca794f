#!/usr/bin/env bash
# The main job on the embedded default, on a fresh machine with no AWS account:
# starts a local S3-compatible server seeded with a sample event log (CSV, NDJSON, Parquet and a
# folder of daily CSVs), creates a pool and a connection, runs a full and then a delta
# extraction, and queries the result. Pool state goes to ./lakeport-data (the default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
echo "==> building lakeport"
cargo build --locked -p lakeport-cli
LAKEPORT="$ROOT/target/debug/lakeport"
source "$ROOT/scripts/test-env.sh"
export LAKEPORT_DIR="$ROOT/lakeport-data"
BUCKET=lakeport-demo

echo "==> seeding s3://$BUCKET with a sample purchase-to-pay event log"
"$LAKEPORT_TEST_PYTHON" "$ROOT/testing/sample_data.py" "$LAKEPORT_TEST_S3_ENDPOINT" "$BUCKET"

run() { echo; echo "\$ lakeport $*"; "$LAKEPORT" "$@"; }
"$LAKEPORT" pool drop demo --yes >/dev/null 2>&1 || true
run pool create demo
export LAKEPORT_POOL=demo
# The IAM user 'reader' holds exactly s3:GetBucketAcl, s3:GetObject and s3:ListBucket.
export DEMO_SECRET="$LAKEPORT_TEST_READER_SECRET"
run connection add s3-demo --region us-east-1 --bucket "$BUCKET" --access-key-id "$LAKEPORT_TEST_READER_KEY" \
    --secret-env DEMO_SECRET --endpoint "$LAKEPORT_TEST_S3_ENDPOINT" --path-style --allow-http
run connection show s3-demo
run extract --connection s3-demo --full \
    --file events/p2p_events.csv --file events/p2p_events_json.ndjson --file events/p2p_events_parquet.parquet --folder events/daily/
run tables

echo; echo "==> a new daily file arrives"
"$LAKEPORT_TEST_PYTHON" "$ROOT/testing/sample_data.py" "$LAKEPORT_TEST_S3_ENDPOINT" "$BUCKET" --day 6
run extract --connection s3-demo --delta --folder events/daily/
run extract --connection s3-demo --delta --folder events/daily/
run query "SELECT activity, count(*) AS events, count(DISTINCT case_id) AS cases, round(avg(cost), 2) AS avg_cost
           FROM daily GROUP BY activity ORDER BY events DESC"
run query "SELECT e.vendor, count(*) AS events FROM p2p_events e JOIN p2p_events_parquet p USING (case_id, activity, step)
           GROUP BY e.vendor ORDER BY events DESC LIMIT 3"
run jobs
